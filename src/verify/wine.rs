//! A throwaway Wine prefix with a real service control manager, for `verify --wine`
//! and the tests.
//!
//! What it takes to make Wine's SCM dependable headless (measured on Wine 8, see
//! the book's verify chapter): services are Wine "system processes" that the server stops once the
//! last ordinary process exits, so the prefix gets its own persistent wineserver
//! (`wineserver -f -p`), which we own and stop with `wineserver -k` (this prefix's
//! processes only); a fresh prefix must finish initialising (`wineboot -i`, wait for its
//! server) before services work; output of Wine commands goes to files, never pipes,
//! since service processes inherit and hold them open. Wine reads batch files in the
//! prefix's OEM code page, so the prefix runs in a locale whose code page is UTF-8
//! (Windows has no ANSI code page for Hindi; Wine then uses UTF-8), as a Windows
//! console does after `chcp 65001`. Wine before 9.0 lacks `ProcessPrng`, which every
//! Rust program since 1.78 imports: such a prefix gets a stand-in
//! `bcryptprimitives.dll` in its system32 (never in a package).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The stand-in for Wine < 9 (source: assets/processprng-standin.c).
const PROCESSPRNG_STANDIN: &[u8] = include_bytes!("../../assets/bcryptprimitives-standin.dll");

/// A 32-bit program that exits with 42 (source: assets/probe32.c).
const PROBE32: &[u8] = include_bytes!("../../assets/winpkg-probe32.exe");

/// Prints a service's state in ASCII (source: assets/svcstate.c).
const SVCSTATE: &[u8] = include_bytes!("../../assets/winpkg-svcstate.exe");

/// The locale the prefix runs in: one with no ANSI code page, so Wine uses UTF-8.
const UTF8_LOCALE: &str = "hi_IN.UTF-8";

#[derive(Debug, thiserror::Error)]
pub enum WineError {
    #[error(
        "Wine is not installed (no `{0}` on PATH): install it with `sudo apt-get install wine wine64` (Debian/Ubuntu), `sudo dnf install wine` (Fedora) or `brew install --cask wine-stable` (macOS)"
    )]
    NotInstalled(&'static str),
    #[error("{0}")]
    Failed(String),
}

/// Wine's programs are on PATH, or the error says how to install them.
pub fn require_installed() -> Result<(), WineError> {
    for tool in ["wine", "wineserver", "wineboot"] {
        if which::which(tool).is_err() {
            return Err(WineError::NotInstalled(tool));
        }
    }
    Ok(())
}

/// The version Wine reports, e.g. (8, 0).
pub fn version() -> Result<(u32, u32), WineError> {
    // verify makes its own prefix: a WINEPREFIX of the caller's (empty or relative ones
    // make Wine refuse to start) is not inherited.
    let out = Command::new("wine")
        .arg("--version")
        .env_remove("WINEPREFIX")
        .output()
        .map_err(|_| WineError::NotInstalled("wine"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_version(&text).ok_or_else(|| {
        // Wine's own words, when it said why.
        let said = String::from_utf8_lossy(&out.stderr);
        WineError::Failed(format!(
            "`wine --version` printed `{}`, not a version{}",
            text.trim(),
            match said.trim() {
                "" => String::new(),
                s => format!("; Wine said: {s}"),
            }
        ))
    })
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.trim().strip_prefix("wine-")?;
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// One throwaway prefix and its persistent server. Dropping it stops every process of
/// the prefix and deletes it (unless kept).
pub struct Prefix {
    /// The temporary folder; None once kept.
    tmp: Option<tempfile::TempDir>,
    /// Its path.
    root: PathBuf,
    server: Option<Child>,
    log: PathBuf,
    /// Whether the ProcessPrng stand-in was installed.
    pub standin: bool,
    pub version: (u32, u32),
    keep: bool,
    /// WINEDEBUG for every Wine process of the prefix (services inherit it).
    winedebug: String,
    /// Undo on SIGINT/SIGTERM: the folder, then the processes (dropped in reverse).
    guards: Vec<super::cleanup::Guard>,
}

/// Start `c` with the kernel's address-space randomisation off; Wine's processes
/// (the server, every program, the services) inherit it. With it on, about one process
/// start in a few thousand fails at random: Linux has put something where Wine must map
/// a fixed address ("failed to map the shared user data: c0000018"), and cmd reports a
/// program that exists as one it "Can't recognize" (seen here: 1 in 3,000 starts).
#[cfg(target_os = "linux")]
fn fixed_address_layout(c: &mut Command) {
    use std::os::unix::process::CommandExt;
    const ADDR_NO_RANDOMIZE: libc::c_ulong = 0x0040000;
    // SAFETY: between fork and exec, only the personality system call runs: no
    // allocation, no lock, nothing but the async-signal-safe call.
    unsafe {
        c.pre_exec(|| {
            // 0xffffffff asks for the current persona without changing it.
            let current = libc::personality(0xffff_ffff);
            if current != -1 {
                // A kernel that refuses leaves randomisation on: Wine still runs.
                libc::personality(current as libc::c_ulong | ADDR_NO_RANDOMIZE);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn fixed_address_layout(_c: &mut Command) {}

impl Prefix {
    /// Create and initialise a prefix (takes some seconds).
    pub fn create() -> Result<Prefix, WineError> {
        Prefix::create_with_debug("-all")
    }

    /// As [`Prefix::create`], with Wine's debug channels set to `winedebug` for every
    /// process, services included: their output goes to the prefix's log
    /// ([`Prefix::log_text`]). `-all,+eventlog` shows what services report to the
    /// Event Log, which Wine does not store.
    pub fn create_with_debug(winedebug: &str) -> Result<Prefix, WineError> {
        require_installed()?;
        let version = version()?;
        let dir = tempfile::Builder::new()
            .prefix("winpkg-wine-")
            .tempdir()
            .map_err(|e| WineError::Failed(format!("cannot create a temporary folder: {e}")))?;
        let guards = vec![
            super::cleanup::Guard::dir(dir.path()),
            super::cleanup::Guard::prefix(&dir.path().join("prefix"), &dir.path().join("tmp")),
        ];
        let mut prefix = Prefix {
            log: dir.path().join("wine.log"),
            root: dir.path().to_path_buf(),
            tmp: Some(dir),
            server: None,
            standin: false,
            version,
            keep: false,
            winedebug: winedebug.to_string(),
            guards,
        };
        prefix.init()?;
        Ok(prefix)
    }

    /// What Wine and the prefix's services wrote to the prefix's log so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// The folder holding the prefix and the logs.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The prefix folder (WINEPREFIX).
    pub fn path(&self) -> PathBuf {
        self.root.as_path().join("prefix")
    }

    /// `C:\` of the prefix.
    pub fn drive_c(&self) -> PathBuf {
        self.path().join("drive_c")
    }

    /// Keep the prefix folder after the processes are stopped (for inspection).
    pub fn keep(&mut self) {
        self.keep = true;
        // An interrupted run stops the processes but keeps the folder too.
        self.guards.retain(|g| !g.is_dir());
    }

    fn command(&self, program: &str) -> Command {
        // Once interrupted, start nothing the clean-up could miss.
        super::cleanup::wait_if_interrupted();
        let mut c = Command::new(program);
        // Wine leaves `wine-XXXXXX` folders in TMPDIR: keep them inside the prefix.
        let tmp = self.root.join("tmp");
        let _ = std::fs::create_dir_all(&tmp);
        c.env("WINEPREFIX", self.path())
            .env("TMPDIR", &tmp)
            .env("WINEDEBUG", &self.winedebug)
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("LANG", UTF8_LOCALE)
            .env("LC_ALL", UTF8_LOCALE)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            // C:\ once it exists: with no drive for the host, a working folder outside
            // the prefix would make Wine print a warning into every command's output.
            .current_dir(if self.drive_c().is_dir() {
                self.drive_c()
            } else {
                self.root.clone()
            })
            .stdin(Stdio::null());
        fixed_address_layout(&mut c);
        c
    }

    /// Run a command with output to the log file (never a pipe); wait for it.
    fn run_logged(&self, program: &str, args: &[&str]) -> Result<i32, WineError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| WineError::Failed(format!("cannot write {}: {e}", self.log.display())))?;
        let log2 = log
            .try_clone()
            .map_err(|e| WineError::Failed(e.to_string()))?;
        let status = self
            .command(program)
            .args(args)
            .stdout(log)
            .stderr(log2)
            .status()
            .map_err(|e| WineError::Failed(format!("cannot run {program}: {e}")))?;
        Ok(status.code().unwrap_or(-1))
    }

    fn init(&mut self) -> Result<(), WineError> {
        std::fs::create_dir_all(self.path())
            .map_err(|e| WineError::Failed(format!("cannot create the prefix: {e}")))?;
        self.run_logged("wineboot", &["-i"])?;
        // Wait for the initialising server to exit: only then do services work.
        self.run_logged("wineserver", &["-w"])?;
        self.unmap_host_drives()?;
        let helper = self.drive_c().join("windows/winpkg-svcstate.exe");
        std::fs::write(&helper, SVCSTATE)
            .map_err(|e| WineError::Failed(format!("cannot write {}: {e}", helper.display())))?;
        if self.version.0 < 9 {
            let dll = self.drive_c().join("windows/system32/bcryptprimitives.dll");
            std::fs::write(&dll, PROCESSPRNG_STANDIN)
                .map_err(|e| WineError::Failed(format!("cannot write {}: {e}", dll.display())))?;
            self.standin = true;
        }
        let server = self
            .command("wineserver")
            .args(["-f", "-p"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| WineError::Failed(format!("cannot start wineserver: {e}")))?;
        self.server = Some(server);
        std::thread::sleep(Duration::from_millis(300));
        self.run_logged("wine", &["wineboot"])?;
        // wineboot may have mapped drives again (the mount manager adds them).
        self.unmap_host_drives()
    }

    /// Remove every drive letter but C: (Wine maps Z: to the host's `/`), so a Windows
    /// path cannot reach the host's files. Checked: after this only `c:` is left.
    fn unmap_host_drives(&self) -> Result<(), WineError> {
        let devices = self.path().join("dosdevices");
        let entries = std::fs::read_dir(&devices)
            .map_err(|e| WineError::Failed(format!("cannot read {}: {e}", devices.display())))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_ascii_lowercase();
            if name != "c:" {
                std::fs::remove_file(e.path()).map_err(|err| {
                    WineError::Failed(format!(
                        "cannot unmap the host drive {}: {err}",
                        e.path().display()
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// Run `wine PROGRAM ARGS...`; return its exit code and output (via a file).
    pub fn wine(&self, args: &[&str], timeout: Duration) -> Result<(i32, String), WineError> {
        self.wine_env(args, timeout, &[])
    }

    /// As [`Prefix::wine`], with more environment variables (such as `WINEDEBUG`).
    pub fn wine_env(
        &self,
        args: &[&str],
        timeout: Duration,
        env: &[(&str, &str)],
    ) -> Result<(i32, String), WineError> {
        let out_path = self
            .root
            .as_path()
            .join(format!("out-{}.txt", rand_suffix()));
        let out = std::fs::File::create(&out_path)
            .map_err(|e| WineError::Failed(format!("cannot write {}: {e}", out_path.display())))?;
        let err = out
            .try_clone()
            .map_err(|e| WineError::Failed(e.to_string()))?;
        let mut child = self
            .command("wine")
            .envs(env.iter().copied())
            .args(args)
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| WineError::Failed(format!("cannot run wine: {e}")))?;
        let waited = super::batch::wait(&mut child, timeout);
        let text = super::batch::read_output(&out_path);
        match waited {
            Ok(Some(code)) => Ok((code, text)),
            Ok(None) => Err(WineError::Failed(format!(
                "`wine {}` did not finish within {} s",
                args.join(" "),
                timeout.as_secs()
            ))),
            Err(e) => Err(WineError::Failed(e.to_string())),
        }
    }

    /// Run batch-file text under Wine's cmd.exe (written as UTF-8, read as UTF-8 in this
    /// prefix). Text that is not ASCII cannot go through Wine's own command line
    /// reliably (it is converted with the host's locale), so anything with user text
    /// runs this way, quoted by [`crate::script::cmd::safe_line`].
    pub fn run_batch(&self, body: &str, timeout: Duration) -> Result<(i32, String), WineError> {
        self.run_batch_env(body, timeout, &[])
    }

    /// As [`Prefix::run_batch`], with more environment variables.
    pub fn run_batch_env(
        &self,
        body: &str,
        timeout: Duration,
        env: &[(&str, &str)],
    ) -> Result<(i32, String), WineError> {
        let name = super::batch::unique_name("winpkg-batch", "cmd");
        let host = self.drive_c().join(&name);
        std::fs::write(&host, super::batch::wrap(body))
            .map_err(|e| WineError::Failed(format!("cannot write {}: {e}", host.display())))?;
        let result = self.wine_env(&["cmd", "/c", &format!("C:\\{name}")], timeout, env);
        let _ = std::fs::remove_file(&host);
        let (low, out) = result?;
        Ok(super::batch::unwrap_output(&out, low))
    }

    /// Run a command with arbitrary-text arguments: `template` with `{0}`, `{1}`...
    pub fn run_with(
        &self,
        template: &str,
        values: &[&str],
        timeout: Duration,
    ) -> Result<(i32, String), WineError> {
        let line = crate::script::cmd::safe_line(template, values)
            .map_err(|e| WineError::Failed(e.reason.to_string()))?;
        self.run_batch(&line, timeout)
    }

    /// The service's state word (RUNNING, STOPPED, ...), or None when the service does
    /// not exist. Asked through assets/svcstate.c: Wine's `sc query` output cannot be
    /// read for non-ASCII names.
    pub fn service_state(&self, name: &str) -> Result<Option<String>, WineError> {
        // A loaded machine can make one query fail or print nothing: ask up to three
        // times before calling the state unreadable.
        let mut last = String::new();
        let mut state = None;
        for attempt in 0..3 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
            let (code, out) = match self.run_with(
                "C:\\windows\\winpkg-svcstate.exe {0}",
                &[name],
                Duration::from_secs(60),
            ) {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            if code == 1060 || out.trim() == "missing" {
                return Ok(None);
            }
            state = out
                .split_whitespace()
                .find_map(|w| w.strip_prefix("state="))
                .and_then(|n| n.parse::<u32>().ok());
            if state.is_some() {
                break;
            }
            last = format!("exit code {code}: {}", out.trim());
        }
        let state = state.ok_or_else(|| {
            WineError::Failed(format!("cannot read the state of `{name}`: {last}"))
        })?;
        Ok(Some(super::host::state_word(state).to_string()))
    }

    /// The service's registry key as name -> value text (what `sc qc` would show;
    /// Wine's sc.exe has no `qc`). Values: strings unescaped, dwords as numbers, multi
    /// strings joined with `\n`.
    pub fn service_registry(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, WineError> {
        self.registry_values(
            "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services",
            name,
        )
    }

    /// The values of key `parent\name`, read as [`Prefix::service_registry`] reads a
    /// service's: `parent` (an ASCII path) is exported and `name`'s section picked,
    /// since `name` may not survive Wine's command line. Empty when the key is absent.
    pub fn registry_values(
        &self,
        parent: &str,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, WineError> {
        let text = self.export(parent, name)?;
        Ok(parse_reg(&text, &format!("{parent}\\{name}")))
    }

    /// As [`Prefix::registry_values`], with each value's type (`REG_SZ`,
    /// `REG_EXPAND_SZ`, `REG_DWORD`, `REG_MULTI_SZ`, `REG_BINARY`), read from the same
    /// export: one regedit run, whose file is read back (console output under a loaded
    /// Wine can come back empty).
    pub fn registry_values_typed(
        &self,
        parent: &str,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, (&'static str, String)>, WineError> {
        let text = self.export(parent, name)?;
        Ok(parse_reg_typed(&text, &format!("{parent}\\{name}")))
    }

    /// The names of the subkeys of `key` (an ASCII path), from one regedit export.
    pub fn registry_subkeys(&self, key: &str) -> Result<Vec<String>, WineError> {
        let text = self.export(key, key)?;
        let head = format!("[{}\\", key.to_lowercase());
        let mut out: Vec<String> = text
            .lines()
            .filter_map(|l| {
                let lower = l.trim_end_matches('\r').to_lowercase();
                let rest = lower.strip_prefix(&head)?;
                let name = rest.trim_end_matches(']').split('\\').next()?;
                // The name as written (the export keeps its case).
                let start = head.len();
                l.get(start..start + name.len()).map(String::from)
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// `parent` exported by regedit, as text.
    fn export(&self, parent: &str, name: &str) -> Result<String, WineError> {
        let mut last = String::new();
        // Up to two tries: a loaded machine can make one export time out.
        for _ in 0..2 {
            let file = format!("winpkg-{}.reg", rand_suffix());
            let win_path = format!("C:\\{file}");
            let host = self.drive_c().join(&file);
            match self.wine(
                &["regedit", "/E", &win_path, parent],
                Duration::from_secs(60),
            ) {
                Ok((code, out)) => match std::fs::read(&host) {
                    Ok(bytes) => {
                        let _ = std::fs::remove_file(&host);
                        return Ok(decode_utf16(&bytes));
                    }
                    Err(_) => last = format!("regedit exit code {code}: {}", out.trim()),
                },
                Err(e) => last = e.to_string(),
            }
        }
        Err(WineError::Failed(format!(
            "cannot export the registry key of `{name}` ({last})"
        )))
    }

    /// The processes of this prefix (their environment names its WINEPREFIX), with
    /// their command lines: found through /proc, since Wine processes are Linux ones.
    fn processes(&self) -> Vec<(u32, Vec<u8>)> {
        let prefix = format!("WINEPREFIX={}", self.path().display());
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
            .filter(|pid| {
                let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                env.split(|b| *b == 0).any(|v| v == prefix.as_bytes())
            })
            .map(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                (pid, cmdline)
            })
            .collect()
    }

    /// Processes of this prefix whose command line mentions `needle` (case-insensitive).
    pub fn processes_matching(&self, needle: &str) -> Vec<u32> {
        let needle = needle.to_lowercase();
        self.processes()
            .into_iter()
            .filter(|(_, cmd)| {
                String::from_utf8_lossy(cmd)
                    .to_lowercase()
                    .contains(&needle)
            })
            .map(|(pid, _)| pid)
            .collect()
    }

    /// Processes of this prefix whose program is `image` (a file name, compared
    /// case-insensitively with the file name of their first argument, which Wine sets
    /// to the Windows path of the image). A wrapper whose arguments merely mention
    /// `image` (shawl's `-- C:\app\prog.exe`) is not one of them.
    pub fn processes_running(&self, image: &str) -> Vec<u32> {
        self.processes()
            .into_iter()
            .filter(|(_, cmd)| {
                let argv0 = cmd.split(|b| *b == 0).next().unwrap_or_default();
                let argv0 = String::from_utf8_lossy(argv0);
                let name = argv0.rsplit(['\\', '/']).next().unwrap_or_default();
                name.eq_ignore_ascii_case(image)
            })
            .map(|(pid, _)| pid)
            .collect()
    }

    /// Can this Wine run 32-bit (x86) programs? (64-bit-only builds cannot.)
    pub fn runs_32bit(&self) -> Result<bool, WineError> {
        let probe = self.drive_c().join("windows/winpkg-probe32.exe");
        std::fs::write(&probe, PROBE32)
            .map_err(|e| WineError::Failed(format!("cannot write {}: {e}", probe.display())))?;
        let (code, _) = self.wine(
            &["C:\\windows\\winpkg-probe32.exe"],
            Duration::from_secs(60),
        )?;
        Ok(code == 42)
    }

    /// Stop every process of the prefix (its own server only).
    pub fn shutdown(&mut self) {
        let _ = self.run_logged("wineserver", &["-k"]);
        if let Some(mut s) = self.server.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match s.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(100))
                    }
                    _ => {
                        let _ = s.kill();
                        let _ = s.wait();
                        break;
                    }
                }
            }
        }
    }
}

impl super::host::Host for Prefix {
    fn run_with(
        &self,
        template: &str,
        values: &[&str],
        timeout: Duration,
    ) -> Result<(i32, String), super::VerifyError> {
        Ok(Prefix::run_with(self, template, values, timeout)?)
    }

    fn run_batch_env(
        &self,
        body: &str,
        timeout: Duration,
        env: &[(&str, &str)],
    ) -> Result<(i32, String), super::VerifyError> {
        Ok(Prefix::run_batch_env(self, body, timeout, env)?)
    }

    fn service_state(&self, name: &str) -> Result<Option<String>, super::VerifyError> {
        Ok(Prefix::service_state(self, name)?)
    }

    fn service_config(
        &self,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, super::VerifyError> {
        Ok(self.service_registry(name)?)
    }

    fn registry_subkeys(&self, key: &str) -> Result<Vec<String>, super::VerifyError> {
        match Prefix::registry_subkeys(self, key) {
            Ok(keys) => Ok(keys),
            // regedit's words for a key that does not exist.
            Err(e) if e.to_string().contains("Unable to open the registry key") => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    fn registry_value(&self, key: &str, name: &str) -> Result<Option<String>, super::VerifyError> {
        let Some((parent, leaf)) = key.rsplit_once('\\') else {
            return Ok(None);
        };
        let values = self.registry_values(parent, leaf)?;
        Ok(values
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v))
    }

    fn processes_running(&self, image: &str) -> Vec<u32> {
        Prefix::processes_running(self, image)
    }

    fn processes_matching(&self, needle: &str) -> Vec<u32> {
        Prefix::processes_matching(self, needle)
    }

    fn kill(&self, pid: u32) -> Result<(), super::VerifyError> {
        // Only a process of this prefix: never another of the user's.
        if !self.processes().iter().any(|(p, _)| *p == pid) {
            return Err(
                WineError::Failed(format!("process {pid} is not one of this prefix")).into(),
            );
        }
        super::cleanup::kill(pid);
        Ok(())
    }

    fn is_wine(&self) -> bool {
        true
    }

    fn applies_recovery(&self) -> bool {
        // Wine's sc.exe stores no recovery actions (`sc failure` exits 0 and stores
        // nothing; its msiexec skips them too), so its service manager restarts nothing.
        false
    }

    fn local(&self, win: &str) -> Option<PathBuf> {
        win.get(..3).filter(|d| d.eq_ignore_ascii_case("C:\\"))?;
        let mut p = self.drive_c();
        for part in win[3..].split('\\').filter(|p| !p.is_empty()) {
            p.push(part);
        }
        Some(p)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        self.shutdown();
        if self.keep
            && let Some(dir) = self.tmp.take()
        {
            let _ = dir.keep();
        }
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn decode_utf16(bytes: &[u8]) -> String {
    let body = bytes.strip_prefix(&[0xff, 0xfe]).unwrap_or(bytes);
    let units: Vec<u16> = body
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Read the values of the `[...\Services\NAME]` section of a .reg export.
/// The values of the section of key `path` (compared case-insensitively).
fn parse_reg(text: &str, path: &str) -> std::collections::BTreeMap<String, String> {
    parse_reg_typed(text, path)
        .into_iter()
        .map(|(k, (_, v))| (k, v))
        .collect()
}

/// As [`parse_reg`], with each value's type (`REG_SZ`, `REG_EXPAND_SZ`, ...).
fn parse_reg_typed(
    text: &str,
    path: &str,
) -> std::collections::BTreeMap<String, (&'static str, String)> {
    let mut out = std::collections::BTreeMap::new();
    let header = format!("[{}]", path.to_lowercase());
    let mut in_section = false;
    // Join continuation lines (ending in a backslash) first.
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for raw in text.lines() {
        let l = raw.trim_end_matches('\r');
        if let Some(stripped) = l.strip_suffix('\\')
            && (l.contains("=hex") || cur.contains("=hex"))
        {
            cur.push_str(stripped.trim_start());
            continue;
        }
        cur.push_str(l.trim_start());
        lines.push(std::mem::take(&mut cur));
    }
    for l in lines {
        if l.starts_with('[') {
            in_section = l.to_lowercase() == header;
            continue;
        }
        if !in_section || !l.starts_with('"') {
            continue;
        }
        let Some((key, kind, value)) = split_reg_line(&l) else {
            continue;
        };
        out.insert(key, (kind, value));
    }
    out
}

/// `"Key"=value` -> (Key, its type, value text).
fn split_reg_line(l: &str) -> Option<(String, &'static str, String)> {
    let (key, rest) = read_reg_string(l)?;
    let rest = rest.strip_prefix('=')?;
    let kind = match rest {
        r if r.starts_with('"') => "REG_SZ",
        r if r.starts_with("dword:") => "REG_DWORD",
        r if r.starts_with("hex(2):") => "REG_EXPAND_SZ",
        r if r.starts_with("hex(7):") => "REG_MULTI_SZ",
        _ => "REG_BINARY",
    };
    let value = if rest.starts_with('"') {
        read_reg_string(rest)?.0
    } else if let Some(hex) = rest.strip_prefix("dword:") {
        u32::from_str_radix(hex.trim(), 16).ok()?.to_string()
    } else if let Some(hex) = rest.strip_prefix("hex(2):") {
        // REG_EXPAND_SZ: UTF-16LE bytes, NUL-terminated.
        let bytes: Vec<u8> = hex
            .split(',')
            .filter_map(|b| u8::from_str_radix(b.trim(), 16).ok())
            .collect();
        decode_utf16(&bytes).trim_end_matches('\0').to_string()
    } else if let Some(hex) = rest.strip_prefix("hex(7):") {
        // REG_MULTI_SZ: UTF-16LE bytes, strings separated by NUL.
        let bytes: Vec<u8> = hex
            .split(',')
            .filter_map(|b| u8::from_str_radix(b.trim(), 16).ok())
            .collect();
        decode_utf16(&bytes)
            .split('\0')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        rest.to_string()
    };
    Some((key, kind, value))
}

/// A quoted .reg string at the start of `s` (with `\\` and `\"` escapes) and the rest.
fn read_reg_string(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, n) = chars.next()?;
                out.push(n);
            }
            '"' => return Some((out, &s[i + 2..])),
            _ => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("wine-8.0 (Debian 8.0~repack-4)\n"),
            Some((8, 0))
        );
        assert_eq!(parse_version("wine-9.21"), Some((9, 21)));
        assert_eq!(parse_version("nope"), None);
    }

    #[test]
    fn reg_files() {
        let text = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\a b]\r\n\"DisplayName\"=\"x \\\"q\\\" \\\\ y\"\r\n\"Start\"=dword:00000002\r\n\"DependOnService\"=hex(7):41,00,00,00,42,00,00,00,00,00\r\n\"File\"=hex(2):43,00,3a,00,5c,00,00,00\r\n\r\n[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\a b\\Security]\r\n\"Security\"=\"no\"\r\n";
        let m = parse_reg(
            text,
            "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\a b",
        );
        assert_eq!(m["DisplayName"], "x \"q\" \\ y");
        assert_eq!(m["Start"], "2");
        assert_eq!(m["DependOnService"], "A\nB");
        assert_eq!(m["File"], "C:\\");
        assert!(!m.contains_key("Security"));
    }
}
