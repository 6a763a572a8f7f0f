//! This Windows machine as a [`Host`], for `verify --here`: services through the
//! service control manager's API (OpenService, QueryServiceStatus, QueryServiceConfig,
//! QueryServiceConfig2), the registry through RegEnumKeyEx, processes through a
//! Toolhelp snapshot, a crash through TerminateProcess. Nothing is read by parsing a
//! tool's output. A configuration level this Windows cannot report is written as
//! [`NOT_AVAILABLE`], which the steps show instead of passing it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use windows_sys::Win32::Foundation::{
    CloseHandle, GetLastError, HANDLE, INVALID_HANDLE_VALUE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSidToSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACL, DACL_SECURITY_INFORMATION, EqualSid, GetAce, GetTokenInformation,
    LookupAccountNameW, PSECURITY_DESCRIPTOR, PSID, TOKEN_ELEVATION, TOKEN_QUERY, TokenElevation,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, KEY_READ, RRF_NOEXPAND, RRF_RT_REG_EXPAND_SZ,
    RRF_RT_REG_SZ, RegCloseKey, RegEnumKeyExW, RegGetValueW, RegOpenKeyExW,
};
use windows_sys::Win32::System::Services as svc;
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, OpenProcess, OpenProcessToken, PROCESS_TERMINATE, TerminateProcess,
};

use super::VerifyError;
use super::host::{Host, NOT_AVAILABLE};

/// This machine; verify's copies go under `work`.
pub struct Machine {
    /// A Windows path.
    pub work: String,
    /// This "Windows" is Wine (ntdll exports `wine_get_version`): the steps allow for
    /// Wine's known differences and say so, as under `--wine`.
    pub wine: bool,
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// A NUL-terminated UTF-16 string (empty for a null pointer).
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string.
unsafe fn from_wide(p: *const u16) -> String {
    if p.is_null() {
        return String::new();
    }
    let mut n = 0;
    // SAFETY: the caller's promise: the string ends with a NUL.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: `n` units were just read.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, n) })
}

/// A double-NUL-terminated list of UTF-16 strings.
///
/// # Safety
/// `p` is null or points to such a list.
unsafe fn multi(p: *const u16) -> Vec<String> {
    let mut out = Vec::new();
    if p.is_null() {
        return out;
    }
    let mut at = p;
    loop {
        // SAFETY: inside the list, which ends with an empty string.
        let s = unsafe { from_wide(at) };
        if s.is_empty() {
            return out;
        }
        // SAFETY: past this string's NUL, still inside the list.
        at = unsafe { at.add(s.encode_utf16().count() + 1) };
        out.push(s);
    }
}

fn failed(what: &str) -> VerifyError {
    // SAFETY: reads the calling thread's last error.
    let code = unsafe { GetLastError() };
    VerifyError::Host(format!(
        "{what} failed: {}",
        std::io::Error::from_raw_os_error(code as i32)
    ))
}

/// A service control manager handle, closed when dropped.
struct Sc(svc::SC_HANDLE);

impl Drop for Sc {
    fn drop(&mut self) {
        // SAFETY: a handle this process opened, closed once.
        unsafe { svc::CloseServiceHandle(self.0) };
    }
}

/// The service `name`, opened for `access`; None when it does not exist.
fn open_service(name: &str, access: u32) -> Result<Option<Sc>, VerifyError> {
    // SAFETY: null machine and database: this machine's active database.
    let scm =
        unsafe { svc::OpenSCManagerW(std::ptr::null(), std::ptr::null(), svc::SC_MANAGER_CONNECT) };
    if scm.is_null() {
        return Err(failed("OpenSCManager"));
    }
    let scm = Sc(scm);
    let wname = wide(name);
    // SAFETY: an open manager handle and a NUL-terminated name.
    let h = unsafe { svc::OpenServiceW(scm.0, wname.as_ptr(), access) };
    if h.is_null() {
        // SAFETY: reads the calling thread's last error.
        if unsafe { GetLastError() } == 1060 {
            return Ok(None); // ERROR_SERVICE_DOES_NOT_EXIST
        }
        return Err(failed("OpenService"));
    }
    Ok(Some(Sc(h)))
}

/// One QueryServiceConfig2 level into an 8-byte-aligned buffer; None when this
/// Windows does not report that level.
fn config2(h: &Sc, level: u32) -> Option<Vec<u64>> {
    let mut needed = 0u32;
    // SAFETY: a size query with no buffer.
    unsafe { svc::QueryServiceConfig2W(h.0, level, std::ptr::null_mut(), 0, &mut needed) };
    let mut buf = vec![0u64; (needed as usize).div_ceil(8).max(1)];
    let size = u32::try_from(buf.len() * 8).ok()?;
    // SAFETY: a buffer of `size` bytes.
    let ok = unsafe {
        svc::QueryServiceConfig2W(h.0, level, buf.as_mut_ptr().cast(), size, &mut needed)
    };
    (ok != 0).then_some(buf)
}

impl Machine {
    /// This machine, with its copies under `work`.
    pub fn new(work: String) -> Machine {
        let ntdll = wide("ntdll.dll");
        // SAFETY: ntdll is loaded in every process; the name is NUL-terminated.
        let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
        // SAFETY: a loaded module and a NUL-terminated ASCII name.
        let wine = !module.is_null()
            && unsafe { GetProcAddress(module, c"wine_get_version".as_ptr().cast()) }.is_some();
        Machine { work, wine }
    }

    /// Whether this process runs elevated (an administrator's full token).
    pub fn elevated() -> bool {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: this process's own token, for querying.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return false;
        }
        let mut e = TOKEN_ELEVATION { TokenIsElevated: 0 };
        let mut len = 0u32;
        // SAFETY: a TOKEN_ELEVATION-sized buffer for the TokenElevation class.
        let ok = unsafe {
            GetTokenInformation(
                token,
                TokenElevation,
                (&mut e as *mut TOKEN_ELEVATION).cast(),
                std::mem::size_of::<TOKEN_ELEVATION>() as u32,
                &mut len,
            )
        };
        // SAFETY: the token handle opened above.
        unsafe { CloseHandle(token) };
        ok != 0 && e.TokenIsElevated != 0
    }

    /// QueryServiceConfig's values, named as the registry names them.
    fn base_config(h: &Sc, out: &mut BTreeMap<String, String>) -> Result<(), VerifyError> {
        let mut needed = 0u32;
        // SAFETY: a size query with no buffer.
        unsafe { svc::QueryServiceConfigW(h.0, std::ptr::null_mut(), 0, &mut needed) };
        let mut buf = vec![0u64; (needed as usize).div_ceil(8).max(8)];
        let size = u32::try_from(buf.len() * 8).unwrap_or(u32::MAX);
        let cfg: *mut svc::QUERY_SERVICE_CONFIGW = buf.as_mut_ptr().cast();
        // SAFETY: a buffer of `size` bytes, aligned for the structure.
        if unsafe { svc::QueryServiceConfigW(h.0, cfg, size, &mut needed) } == 0 {
            return Err(failed("QueryServiceConfig"));
        }
        // SAFETY: filled in by the call above; its strings point into `buf`.
        let c = unsafe { &*cfg };
        // SAFETY: strings and lists the call wrote into `buf`.
        unsafe {
            out.insert("ImagePath".into(), from_wide(c.lpBinaryPathName));
            out.insert("DisplayName".into(), from_wide(c.lpDisplayName));
            out.insert("ObjectName".into(), from_wide(c.lpServiceStartName));
            out.insert("DependOnService".into(), multi(c.lpDependencies).join("\n"));
        }
        out.insert("Start".into(), c.dwStartType.to_string());
        out.insert("ErrorControl".into(), c.dwErrorControl.to_string());
        Ok(())
    }

    /// QueryServiceConfig2's levels: description, delayed start, recovery and its
    /// flag, SID type, privileges, pre-shutdown timeout.
    fn more_config(h: &Sc, out: &mut BTreeMap<String, String>) {
        let mut put = |key: &str, value: Option<String>| {
            out.insert(key.into(), value.unwrap_or_else(|| NOT_AVAILABLE.into()));
        };
        // SAFETY (each block): the buffer holds the structure of the level asked, its
        // pointers into the same buffer.
        put(
            "Description",
            config2(h, svc::SERVICE_CONFIG_DESCRIPTION).map(|b| unsafe {
                from_wide((*b.as_ptr().cast::<svc::SERVICE_DESCRIPTIONW>()).lpDescription)
            }),
        );
        put(
            "DelayedAutostart",
            config2(h, svc::SERVICE_CONFIG_DELAYED_AUTO_START_INFO).map(|b| unsafe {
                (*b.as_ptr().cast::<svc::SERVICE_DELAYED_AUTO_START_INFO>())
                    .fDelayedAutostart
                    .to_string()
            }),
        );
        put(
            "FailureActions",
            config2(h, svc::SERVICE_CONFIG_FAILURE_ACTIONS).map(|b| unsafe {
                failure_actions(&*b.as_ptr().cast::<svc::SERVICE_FAILURE_ACTIONSW>())
            }),
        );
        put(
            "FailureActionsOnNonCrashFailures",
            config2(h, svc::SERVICE_CONFIG_FAILURE_ACTIONS_FLAG).map(|b| unsafe {
                (*b.as_ptr().cast::<svc::SERVICE_FAILURE_ACTIONS_FLAG>())
                    .fFailureActionsOnNonCrashFailures
                    .to_string()
            }),
        );
        put(
            "ServiceSidType",
            config2(h, svc::SERVICE_CONFIG_SERVICE_SID_INFO).map(|b| unsafe {
                (*b.as_ptr().cast::<svc::SERVICE_SID_INFO>())
                    .dwServiceSidType
                    .to_string()
            }),
        );
        put(
            "RequiredPrivileges",
            config2(h, svc::SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO).map(|b| unsafe {
                multi(
                    (*b.as_ptr().cast::<svc::SERVICE_REQUIRED_PRIVILEGES_INFOW>())
                        .pmszRequiredPrivileges,
                )
                .join("\n")
            }),
        );
        put(
            "PreshutdownTimeout",
            config2(h, svc::SERVICE_CONFIG_PRESHUTDOWN_INFO).map(|b| unsafe {
                (*b.as_ptr().cast::<svc::SERVICE_PRESHUTDOWN_INFO>())
                    .dwPreshutdownTimeout
                    .to_string()
            }),
        );
    }
}

/// Recovery as `sc failure` writes it: `restart/5000/none/0 reset=86400`.
///
/// # Safety
/// `fa.lpsaActions` points to `fa.cActions` actions (or is null).
unsafe fn failure_actions(fa: &svc::SERVICE_FAILURE_ACTIONSW) -> String {
    let actions: &[svc::SC_ACTION] = if fa.lpsaActions.is_null() {
        &[]
    } else {
        // SAFETY: the caller's promise.
        unsafe { std::slice::from_raw_parts(fa.lpsaActions, fa.cActions as usize) }
    };
    let words: Vec<String> = actions
        .iter()
        .map(|a| {
            let word = match a.Type {
                svc::SC_ACTION_RESTART => "restart",
                svc::SC_ACTION_REBOOT => "reboot",
                svc::SC_ACTION_RUN_COMMAND => "run",
                _ => "none",
            };
            format!("{word}/{}", a.Delay)
        })
        .collect();
    format!("{} reset={}", words.join("/"), fa.dwResetPeriod)
}

/// A SID: one ConvertStringSidToSid allocated (freed with LocalFree), or one
/// LookupAccountName wrote into a buffer.
enum Sid {
    Local(PSID),
    Owned(Vec<u64>),
}

impl Sid {
    fn ptr(&self) -> PSID {
        match self {
            Sid::Local(p) => *p,
            Sid::Owned(b) => b.as_ptr().cast_mut().cast(),
        }
    }

    /// icacls' form of a principal: `*S-1-5-19`, or an account name.
    fn of(principal: &str) -> Result<Sid, VerifyError> {
        if let Some(text) = principal.strip_prefix('*') {
            let w = wide(text);
            let mut sid: PSID = std::ptr::null_mut();
            // SAFETY: a NUL-terminated SID string; the SID is freed in Drop.
            if unsafe { ConvertStringSidToSidW(w.as_ptr(), &mut sid) } == 0 {
                return Err(failed("ConvertStringSidToSid"));
            }
            return Ok(Sid::Local(sid));
        }
        let w = wide(principal);
        let mut buf = vec![0u64; 16];
        let mut size = 128u32;
        let mut domain = [0u16; 256];
        let mut dsize = domain.len() as u32;
        let mut usage = 0;
        // SAFETY: buffers of the sizes given (a SID is at most 68 bytes).
        let ok = unsafe {
            LookupAccountNameW(
                std::ptr::null(),
                w.as_ptr(),
                buf.as_mut_ptr().cast(),
                &mut size,
                domain.as_mut_ptr(),
                &mut dsize,
                &mut usage,
            )
        };
        if ok == 0 {
            return Err(failed(&format!("LookupAccountName({principal})")));
        }
        Ok(Sid::Owned(buf))
    }
}

impl Drop for Sid {
    fn drop(&mut self) {
        if let Sid::Local(p) = self {
            // SAFETY: allocated by ConvertStringSidToSidW, freed once.
            unsafe { LocalFree(*p) };
        }
    }
}

/// The rights the allow entries of `path`'s DACL give `sid` (deny entries ignored: our
/// install grants and never denies).
fn allowed_rights(path: &str, sid: &Sid) -> Result<u32, VerifyError> {
    let w = wide(path);
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path; the descriptor is freed below.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            w.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        return Err(VerifyError::Host(format!(
            "GetNamedSecurityInfo({path}) failed: {}",
            std::io::Error::from_raw_os_error(rc as i32)
        )));
    }
    let mut mask = 0;
    // SAFETY: the DACL belongs to `sd`, alive until LocalFree below.
    let count = if dacl.is_null() {
        0
    } else {
        unsafe { (*dacl).AceCount }
    };
    for i in 0..u32::from(count) {
        let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
        // SAFETY: an index below AceCount of this DACL.
        if unsafe { GetAce(dacl, i, &mut ace) } == 0 {
            continue;
        }
        let ace: *const ACCESS_ALLOWED_ACE = ace.cast();
        // SAFETY: every ACE starts with its header; an allow ACE (type 0) has a mask
        // and its SID where SidStart is.
        unsafe {
            if (*ace).Header.AceType == 0
                && EqualSid(
                    std::ptr::addr_of!((*ace).SidStart).cast_mut().cast(),
                    sid.ptr(),
                ) != 0
            {
                mask |= (*ace).Mask;
            }
        }
    }
    // SAFETY: allocated by GetNamedSecurityInfoW, freed once.
    unsafe { LocalFree(sd) };
    Ok(mask)
}

/// `HKEY_LOCAL_MACHINE\rest` as its root key and the rest.
fn split_root(key: &str) -> Result<(HKEY, &str), VerifyError> {
    if let Some(p) = key.strip_prefix("HKEY_LOCAL_MACHINE\\") {
        Ok((HKEY_LOCAL_MACHINE, p))
    } else if let Some(p) = key.strip_prefix("HKEY_CURRENT_USER\\") {
        Ok((HKEY_CURRENT_USER, p))
    } else {
        Err(VerifyError::Host(format!("{key}: not under HKLM or HKCU")))
    }
}

/// The processes of this machine: (pid, exe file name).
fn processes() -> Vec<(u32, String)> {
    // SAFETY: a snapshot of all processes; closed below.
    let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) };
    if snap == INVALID_HANDLE_VALUE {
        return Vec::new();
    }
    let mut out = Vec::new();
    // SAFETY: PROCESSENTRY32W is plain data; dwSize set as the API asks.
    let mut e: PROCESSENTRY32W = unsafe { std::mem::zeroed() };
    e.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
    // SAFETY: the snapshot handle and a sized entry.
    let mut more = unsafe { Process32FirstW(snap, &mut e) } != 0;
    while more {
        let len = e
            .szExeFile
            .iter()
            .position(|c| *c == 0)
            .unwrap_or(e.szExeFile.len());
        out.push((
            e.th32ProcessID,
            String::from_utf16_lossy(&e.szExeFile[..len]),
        ));
        // SAFETY: as above.
        more = unsafe { Process32NextW(snap, &mut e) } != 0;
    }
    // SAFETY: the snapshot handle opened above.
    unsafe { CloseHandle(snap) };
    out
}

impl Host for Machine {
    fn run_with(
        &self,
        template: &str,
        values: &[&str],
        timeout: Duration,
    ) -> Result<(i32, String), VerifyError> {
        let line = crate::script::cmd::safe_line(template, values).map_err(VerifyError::RunArgs)?;
        self.run_batch_env(&line, timeout, &[])
    }

    fn run_batch_env(
        &self,
        body: &str,
        timeout: Duration,
        env: &[(&str, &str)],
    ) -> Result<(i32, String), VerifyError> {
        super::batch::run(&self.work, body, timeout, env)
    }

    fn service_state(&self, name: &str) -> Result<Option<String>, VerifyError> {
        let Some(h) = open_service(name, svc::SERVICE_QUERY_STATUS)? else {
            return Ok(None);
        };
        // SAFETY: SERVICE_STATUS is plain data.
        let mut st: svc::SERVICE_STATUS = unsafe { std::mem::zeroed() };
        // SAFETY: an open service handle with query-status access.
        if unsafe { svc::QueryServiceStatus(h.0, &mut st) } == 0 {
            return Err(failed("QueryServiceStatus"));
        }
        Ok(Some(super::host::state_word(st.dwCurrentState).to_string()))
    }

    fn service_config(&self, name: &str) -> Result<BTreeMap<String, String>, VerifyError> {
        let mut out = BTreeMap::new();
        let Some(h) = open_service(name, svc::SERVICE_QUERY_CONFIG)? else {
            return Ok(out);
        };
        Machine::base_config(&h, &mut out)?;
        Machine::more_config(&h, &mut out);
        Ok(out)
    }

    fn reads_full_config(&self) -> bool {
        true
    }

    fn registry_subkeys(&self, key: &str) -> Result<Vec<String>, VerifyError> {
        let (root, path) = split_root(key)?;
        let wpath = wide(path);
        let mut h: HKEY = std::ptr::null_mut();
        // SAFETY: a predefined root key and a NUL-terminated path.
        if unsafe { RegOpenKeyExW(root, wpath.as_ptr(), 0, KEY_READ, &mut h) } != 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for i in 0.. {
            let mut name = [0u16; 256];
            let mut len = name.len() as u32;
            // SAFETY: an open key and a buffer of `len` units.
            let rc = unsafe {
                RegEnumKeyExW(
                    h,
                    i,
                    name.as_mut_ptr(),
                    &mut len,
                    std::ptr::null(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
            if rc != 0 {
                break;
            }
            out.push(String::from_utf16_lossy(&name[..len as usize]));
        }
        // SAFETY: the key opened above.
        unsafe { RegCloseKey(h) };
        Ok(out)
    }

    fn registry_value(&self, key: &str, name: &str) -> Result<Option<String>, VerifyError> {
        let (root, path) = split_root(key)?;
        let (wpath, wname) = (wide(path), wide(name));
        let flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
        // One call with `buf` (None: a size query); its result code and the size.
        let get = |buf: Option<&mut [u16]>| {
            let (data, mut size) = match buf {
                Some(b) => (
                    b.as_mut_ptr().cast(),
                    u32::try_from(b.len() * 2).unwrap_or(u32::MAX),
                ),
                None => (std::ptr::null_mut(), 0),
            };
            // SAFETY: a NUL-terminated path and name, and a buffer of `size` bytes (or
            // none, for the size).
            let rc = unsafe {
                RegGetValueW(
                    root,
                    wpath.as_ptr(),
                    wname.as_ptr(),
                    flags,
                    std::ptr::null_mut(),
                    data,
                    &mut size,
                )
            };
            (rc, size)
        };
        let (rc, bytes) = get(None);
        if rc != 0 {
            return Ok(None);
        }
        let mut buf = vec![0u16; (bytes as usize).div_ceil(2) + 1];
        if get(Some(&mut buf)).0 != 0 {
            return Ok(None);
        }
        let len = buf.iter().position(|c| *c == 0).unwrap_or(buf.len());
        Ok(Some(String::from_utf16_lossy(&buf[..len])))
    }

    fn processes_running(&self, image: &str) -> Vec<u32> {
        processes()
            .into_iter()
            .filter(|(_, exe)| exe.eq_ignore_ascii_case(image))
            .map(|(pid, _)| pid)
            .collect()
    }

    fn processes_matching(&self, needle: &str) -> Vec<u32> {
        // Toolhelp gives file names, not command lines: the program's own processes.
        self.processes_running(needle)
    }

    fn kill(&self, pid: u32) -> Result<(), VerifyError> {
        // SAFETY: a handle for terminating one process; closed below.
        let h = unsafe { OpenProcess(PROCESS_TERMINATE, 0, pid) };
        if h.is_null() {
            return Err(failed("OpenProcess"));
        }
        // SAFETY: the handle just opened, with terminate access.
        let ok = unsafe { TerminateProcess(h, 1) };
        // SAFETY: as above.
        unsafe { CloseHandle(h) };
        if ok == 0 {
            return Err(failed("TerminateProcess"));
        }
        Ok(())
    }

    fn applies_recovery(&self) -> bool {
        // Wine's service manager stores no recovery actions.
        !self.wine
    }

    fn is_wine(&self) -> bool {
        self.wine
    }

    fn local(&self, win: &str) -> Option<PathBuf> {
        Some(PathBuf::from(win))
    }

    fn folder_rights(&self, win: &str, principal: &str) -> Result<Option<u32>, VerifyError> {
        if self.wine {
            // Wine's icacls is a stub: the grant install.cmd asks for is never made,
            // so there is nothing to read back.
            return Ok(None);
        }
        let sid = Sid::of(principal)?;
        allowed_rights(win, &sid).map(Some)
    }

    fn program_data(&self) -> String {
        std::env::var("ProgramData").unwrap_or_else(|_| "C:\\ProgramData".into())
    }

    fn system_root(&self) -> String {
        std::env::var("SystemRoot").unwrap_or_else(|_| "C:\\Windows".into())
    }

    fn work_dir(&self) -> String {
        self.work.clone()
    }
}
