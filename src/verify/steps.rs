//! The steps of `verify --wine` that every kind of package shares, over a host (any
//! [`Host`]): what the steps work on (the request, as data, and the context), running
//! the program, and judging the service: running, alive, configured as service.json
//! says, removed. The zip's flow (`zip_steps`) and the
//! MSI's (`msi_steps`) are written over these; neither imports the other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::host::Host;
use super::offline::{Package, inside};
use super::probe::Probe;
use super::{CheckResult, Failed, Options, Run, VerifyError};
use crate::autostart::Autostart;
use crate::autostart::service::StartType;
use crate::package::INSTALL_CMD;
use crate::package::manifest::{Manifest, ServiceInfo};
use crate::script::{DIR_PLACEHOLDER, PROGRAMDATA_PLACEHOLDER};

/// What the Wine steps need to know about the MSI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MsiRequest {
    /// The MSI on the host (readable inside the sandbox).
    pub path: PathBuf,
    pub product_code: String,
    /// Tables with rows that Wine's msiexec does not apply (said, not judged).
    pub wine_ignores: Vec<String>,
    /// `--against OLD.msi`: installed first, then upgraded by this one.
    #[serde(default)]
    pub older: Option<OlderMsi>,
}

/// The MSI an upgrade starts from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OlderMsi {
    pub path: PathBuf,
    pub product_code: String,
}

/// Everything the Wine steps need, as data: the parent hands it to the sandboxed
/// child as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// The extracted package (validated names below it).
    pub package_dir: PathBuf,
    /// The package's files, by their names in the zip.
    pub files: Vec<String>,
    /// The single top folder, with its `/`, or "".
    pub root: String,
    /// The zip's file name without `.zip`: the install folder's name.
    pub stem: String,
    pub manifest: Option<Manifest>,
    /// The service to install (empty with `run`).
    pub service: String,
    pub timeout_secs: u64,
    pub keep: bool,
    /// `--run -- ARGS`: run the program with these arguments instead of installing a
    /// service (for packages without one: CLI tools).
    pub run: Option<Vec<String>>,
    /// The exit code `--run` expects.
    pub expect_exit: i32,
    /// The program's file name: service.json's `exe`, else the package's only .exe.
    pub exe: String,
    /// The program is 32-bit (x86): the prefix must be able to run it.
    pub x86: bool,
    /// The package is an MSI: installed with msiexec instead of install.cmd.
    #[serde(default)]
    pub msi: Option<MsiRequest>,
    /// What the running service must answer (`--probe`).
    #[serde(default)]
    pub probes: Vec<Probe>,
    /// The HTTP status the HTTP probes require.
    #[serde(default)]
    pub probe_status: Option<u16>,
    /// `--crash-test`: end the program and check what restarts it.
    #[serde(default)]
    pub crash_test: bool,
}

impl Request {
    pub(super) fn new(
        pkg: &Package,
        manifest: Option<&Manifest>,
        zip: &Path,
        opts: &Options,
        msi: Option<MsiRequest>,
    ) -> Result<Request, VerifyError> {
        let service = match (&opts.service, manifest.and_then(|m| m.service.as_ref())) {
            _ if opts.run.is_some() => String::new(),
            (Some(s), _) => s.clone(),
            (None, Some(s)) => s.service.name.clone(),
            // A PATH, Run entry or task: its scripts install and remove it.
            (None, None) if manifest.is_some_and(|m| m.autostart.is_some()) => String::new(),
            (None, None) if manifest.is_some() => {
                return Err(VerifyError::PlainProgram(zip.to_path_buf()));
            }
            (None, None) => {
                return Err(VerifyError::NoServiceNamed(zip.to_path_buf()));
            }
        };
        let way = manifest.and_then(|m| m.autostart.as_ref());
        if let (true, Some(a)) = (service.is_empty(), way) {
            let flag = match (opts.crash_test, opts.probes.is_empty()) {
                (true, _) => Some("--crash-test"),
                (false, false) => Some("--probe"),
                (false, true) => None,
            };
            if let Some(flag) = flag {
                return Err(VerifyError::NotAService {
                    zip: zip.to_path_buf(),
                    flag,
                    way: way_words(a),
                });
            }
        }
        if opts.run.is_none() && msi.is_none() && pkg.get(INSTALL_CMD).is_none() {
            return Err(VerifyError::NoInstallScripts(zip.to_path_buf()));
        }
        Ok(Request {
            package_dir: pkg.dir.clone(),
            files: pkg.files.keys().cloned().collect(),
            root: pkg.root.clone(),
            stem: zip
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "package".into()),
            manifest: manifest.cloned(),
            service,
            timeout_secs: opts.timeout.as_secs(),
            keep: opts.keep,
            run: opts.run.clone(),
            expect_exit: opts.expect_exit,
            exe: program(pkg, manifest, zip, opts.run.is_some())?,
            x86: false,
            msi,
            probes: opts.probes.clone(),
            probe_status: opts.probe_status,
            crash_test: opts.crash_test,
        }
        .with_machine(pkg))
    }
}

impl Request {
    /// Note whether the program is 32-bit, from its PE header.
    fn with_machine(mut self, pkg: &Package) -> Request {
        let path = inside(&pkg.dir, &format!("{}{}", pkg.root, self.exe));
        self.x86 = crate::pe::read_file(&path).is_ok_and(|f| f.machine == crate::pe::Machine::X86);
        self
    }
}

/// How a package that is not a service runs, in words.
fn way_words(a: &Autostart) -> &'static str {
    match a {
        Autostart::Path { .. } => "a command-line tool on PATH",
        Autostart::RunKey { .. } => "started at logon from a Run entry",
        Autostart::Task(_) => "a scheduled task",
    }
}

/// The program of the package: service.json's `exe`, else (for `--run`) its only .exe.
fn program(
    pkg: &Package,
    manifest: Option<&Manifest>,
    zip: &Path,
    needed: bool,
) -> Result<String, VerifyError> {
    if let Some(m) = manifest {
        return Ok(m.exe.clone());
    }
    let exes: Vec<&String> = pkg
        .files
        .keys()
        .filter(|n| !n[pkg.root.len()..].contains('/') && n.to_ascii_lowercase().ends_with(".exe"))
        .collect();
    match exes.as_slice() {
        [one] => Ok(one[pkg.root.len()..].to_string()),
        _ if !needed => Ok(String::new()),
        _ => Err(VerifyError::NoProgram(zip.to_path_buf())),
    }
}

/// What the steps work on: the host and what is installed on it.
pub(super) struct Ctx<'a> {
    pub host: &'a dyn Host,
    pub service: String,
    /// The exe's file name ("" when unknown).
    pub exe: String,
    pub manifest: Option<&'a Manifest>,
    /// The install folder, as a Windows path.
    pub win_dir: String,
    pub timeout: Duration,
}

/// `--run`: the packaged program, from its install folder, with `args`: every DLL must
/// load (Wine's loader errors are read) and it must exit with `expect`.
pub(super) fn run_program(
    run: &mut Run,
    ctx: &Ctx,
    args: &[String],
    expect: i32,
) -> Result<(), VerifyError> {
    let t = Instant::now();
    let exe = format!("{}\\{}", ctx.win_dir, ctx.exe);
    let mut values: Vec<&str> = vec![&exe];
    values.extend(args.iter().map(String::as_str));
    let template: Vec<String> = (0..values.len()).map(|i| format!("{{{i}}}")).collect();
    let line = crate::script::cmd::safe_line(&template.join(" "), &values)
        .map_err(VerifyError::RunArgs)?;
    let body = format!("{line}\necho winpkg-exit-code=%errorlevel%");
    let (_, out) =
        ctx.host
            .run_batch_env(&body, ctx.timeout, &[("WINEDEBUG", "-all,err+module")])?;
    let code = out
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("winpkg-exit-code="))
        .and_then(|c| c.trim().parse::<i64>().ok());
    // Wine's loader says when a DLL cannot be loaded, and, when the program calls a
    // function its DLL lacks, that the call went to an unimplemented function.
    let missing: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("err:module:import_dll") || l.contains("unimplemented function"))
        .map(str::trim)
        .collect();
    let shown = tail(
        &out.lines()
            .filter(|l| !l.contains("winpkg-exit-code=") && !l.starts_with("err:"))
            .collect::<Vec<_>>()
            .join("\n"),
        4,
    );
    let result = if !missing.is_empty() {
        Err(Failed(format!(
            "a DLL did not load, or lacks a function the program calls: {}",
            missing.join(" / ")
        )))
    } else {
        match code {
            Some(c) if c == i64::from(expect) => {
                Ok(format!("{} exited with {c}: {shown}", ctx.exe))
            }
            Some(c) => Err(Failed(format!(
                "{} exited with {c}, not {expect}: {shown}",
                ctx.exe
            ))),
            None => Err(Failed(format!("{} did not finish: {shown}", ctx.exe))),
        }
    };
    run.check("run program", t, result);
    Ok(())
}

pub(super) fn check_running(run: &mut Run, ctx: &Ctx) -> Result<bool, VerifyError> {
    let t = Instant::now();
    let running = ctx.host.wait_state(&ctx.service, "RUNNING", ctx.timeout)?;
    let state = ctx.host.service_state(&ctx.service)?;
    run.check(
        "service RUNNING",
        t,
        if running {
            Ok(format!("`{}` is RUNNING", ctx.service))
        } else {
            Err(Failed(format!(
                "`{}` is {} after {} s",
                ctx.service,
                state.as_deref().unwrap_or("not installed"),
                ctx.timeout.as_secs()
            )))
        },
    );
    Ok(running)
}

/// The program itself (not a wrapper that names it) runs, and keeps running: the same
/// process in three samples over three seconds. For a shawl service, shawl's log says
/// how the program ended when it does not.
pub(super) fn check_alive(run: &mut Run, ctx: &Ctx) -> Result<(), VerifyError> {
    let t = Instant::now();
    let exe = &ctx.exe;
    let mut common: Option<Vec<u32>> = None;
    let mut state = None;
    for i in 0..3 {
        if i > 0 {
            std::thread::sleep(Duration::from_secs(1));
        }
        state = ctx.host.service_state(&ctx.service)?;
        if exe.is_empty() {
            continue;
        }
        let now = ctx.host.processes_running(exe);
        common = Some(match common {
            None => now,
            Some(before) => before.into_iter().filter(|p| now.contains(p)).collect(),
        });
    }
    let running = state.as_deref() == Some("RUNNING");
    let pids = common.unwrap_or_default();
    let result = if exe.is_empty() {
        if running {
            Ok("still RUNNING after 3 s".into())
        } else {
            Err(Failed(format!(
                "after 3 s the service is {}",
                state.as_deref().unwrap_or("gone")
            )))
        }
    } else if running && !pids.is_empty() {
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        Ok(format!(
            "{exe} runs, the same process over 3 s (pid {})",
            pids.join(", ")
        ))
    } else {
        let mut why = format!(
            "{exe} does not keep running: over 3 s no process of it lasted (the service is {})",
            state.as_deref().unwrap_or("gone")
        );
        if let Some(last) = shawl_exit(ctx) {
            why.push_str(&format!("; shawl's log: {last}"));
        }
        Err(Failed(why))
    };
    run.check("process alive", t, result);
    Ok(())
}

/// The last line of shawl's log that says how the wrapped program ended. The log is
/// in `log-dir` when the package sets one, else beside shawl.exe.
fn shawl_exit(ctx: &Ctx) -> Option<String> {
    let log_dir = ctx
        .manifest
        .and_then(|m| m.service.as_ref())
        .and_then(|s| s.service.log_dir.as_deref())
        .map_or_else(
            || ctx.win_dir.clone(),
            |d| host_dir(ctx.host, d, &ctx.win_dir),
        );
    let log = ctx
        .host
        .local(&log_dir)?
        .join(format!("shawl_for_{}_rCURRENT.log", ctx.service));
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("exit") || l.contains("fail")
        })
        .map(|l| l.trim().to_string())
}

/// Each `--probe` against the running service, retried until the timeout; `step`
/// names the steps ("probe", or "probe again" after the crash test's restart).
pub(super) fn check_probes(run: &mut Run, req: &Request, timeout: Duration, step: &str) {
    for p in &req.probes {
        let t = Instant::now();
        run.check(
            &format!("{step} {}", p.shown()),
            t,
            p.check(req.probe_status, timeout),
        );
    }
}

pub(super) fn check_removed(run: &mut Run, ctx: &Ctx) -> Result<(), VerifyError> {
    let t = Instant::now();
    let state = ctx.host.service_state(&ctx.service)?;
    let exe = &ctx.exe;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut procs = ctx.host.processes_matching(exe);
    while !exe.is_empty() && !procs.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        procs = ctx.host.processes_matching(exe);
    }
    let service = &ctx.service;
    run.check(
        "service removed",
        t,
        match state {
            None if exe.is_empty() || procs.is_empty() => Ok(format!(
                "`{service}` no longer exists and nothing of it runs"
            )),
            None => Err(Failed(format!(
                "`{service}` is deleted but {exe} still runs"
            ))),
            Some(s) => Err(Failed(format!("`{service}` still exists ({s})"))),
        },
    );
    Ok(())
}

/// On a host whose service manager reports its whole configuration: delayed start,
/// recovery and its flag, SID type, privileges, pre-shutdown timeout and dependencies
/// against service.json; what this Windows cannot report is named, not passed.
pub(super) fn check_full_config(run: &mut Run, ctx: &Ctx, reg: &BTreeMap<String, String>) {
    let Some(svc) = ctx
        .manifest
        .and_then(|m| m.service.as_ref())
        .map(|s| &s.service)
    else {
        return;
    };
    if !ctx.host.reads_full_config() {
        return;
    }
    let t = Instant::now();
    let word = |a: &crate::config::words::Action| match a.sc() {
        "" => "none",
        w => w,
    };
    let actions: Vec<String> = svc
        .recovery
        .actions
        .iter()
        .map(|a| format!("{}/{}", word(&a.action), a.delay_ms))
        .collect();
    let flag = |b: bool| u8::from(b).to_string();
    let want = [
        (
            "DelayedAutostart",
            flag(svc.start == StartType::DelayedAuto),
        ),
        (
            "FailureActions",
            format!(
                "{} reset={}",
                actions.join("/"),
                svc.recovery.reset_after_secs
            ),
        ),
        (
            "FailureActionsOnNonCrashFailures",
            flag(svc.recovery.on_non_crash_failure),
        ),
        ("ServiceSidType", sid_type_number(svc.sid_type).to_string()),
        ("RequiredPrivileges", svc.required_privileges.join("\n")),
        ("DependOnService", svc.depends_on.join("\n")),
    ];
    let mut wrong = Vec::new();
    let mut unavailable = Vec::new();
    let mut seen = Vec::new();
    let timeout = svc
        .preshutdown_timeout_ms
        .map(|ms| ("PreshutdownTimeout", ms.to_string()));
    for (key, want) in want.into_iter().chain(timeout) {
        match reg.get(key).map(String::as_str) {
            Some(super::host::NOT_AVAILABLE) => unavailable.push(key),
            Some(got) if got == want => seen.push(format!("{key}={}", want.replace('\n', ","))),
            got => wrong.push(format!(
                "{key} is `{}`, expected `{want}`",
                got.unwrap_or("(none)")
            )),
        }
    }
    run.check(
        "service manager configuration",
        t,
        if wrong.is_empty() {
            Ok(seen.join(" | "))
        } else {
            Err(Failed(wrong.join("; ")))
        },
    );
    if !unavailable.is_empty() {
        // Not passed: named, so a reader sees what this Windows did not let verify judge.
        run.info(
            "not available on this Windows",
            t,
            format!(
                "the service manager did not report {}: not judged",
                unavailable.join(", ")
            ),
        );
    }
}

/// A folder as service.json writes it (`{dir}\\data`, `{programdata}\\app`) as a
/// Windows path of the host, `win_dir` being the install folder.
pub(super) fn host_dir(host: &dyn Host, dir: &str, win_dir: &str) -> String {
    dir.replace(DIR_PLACEHOLDER, win_dir)
        .replace(PROGRAMDATA_PLACEHOLDER, &host.program_data())
}

/// The rights icacls' `M` (modify) grants: read, write, execute and delete.
const MODIFY: u32 = 0x0013_01BF;

/// The service's data and log folders exist, and (where the host reads ACLs) the
/// service's account may modify them; its Event Log source is registered.
pub(super) fn check_folders_and_source(run: &mut Run, ctx: &Ctx) -> Result<(), VerifyError> {
    let Some(svc) = ctx
        .manifest
        .and_then(|m| m.service.as_ref())
        .map(|s| &s.service)
    else {
        return Ok(());
    };
    let dirs: Vec<String> = svc
        .writable_dirs()
        .iter()
        .map(|d| host_dir(ctx.host, d, &ctx.win_dir))
        .collect();
    if !dirs.is_empty() {
        let t = Instant::now();
        let principal = svc.account.icacls_principal(&svc.name);
        let who = svc.account.object_name(&svc.name);
        let mut wrong = Vec::new();
        let mut unread = false;
        for d in &dirs {
            if !ctx.host.local(d).is_some_and(|p| p.is_dir()) {
                wrong.push(format!("{d} does not exist"));
                continue;
            }
            match ctx.host.folder_rights(d, &principal)? {
                Some(m) if m & MODIFY == MODIFY => {}
                Some(m) => wrong.push(format!("{who} may not modify {d} (rights {m:#x})")),
                None => unread = true,
            }
        }
        let result = match (wrong.is_empty(), unread) {
            (true, false) => Ok(format!(
                "{} folder(s), each there and modifiable by {who}: {}",
                dirs.len(),
                dirs.join(", ")
            )),
            (true, true) => Ok(format!(
                "{} folder(s) there: {}",
                dirs.len(),
                dirs.join(", ")
            )),
            (false, _) => Err(Failed(wrong.join("; "))),
        };
        run.check("data folders", t, result);
        if unread {
            run.info(
                "not available on this host",
                t,
                format!("the folders' ACL (may {who} modify them?) cannot be read here: judged by --here on Windows"),
            );
        }
    }
    if let Some(source) = &svc.event_source {
        let t = Instant::now();
        let sources = ctx.host.registry_subkeys(
            "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application",
        )?;
        let there = sources.iter().any(|s| s.eq_ignore_ascii_case(source));
        run.check(
            "event log source",
            t,
            if there {
                Ok(format!("`{source}` is registered in the Application log"))
            } else {
                Err(Failed(format!(
                    "`{source}` is not registered in the Application log"
                )))
            },
        );
    }
    Ok(())
}

/// SERVICE_SID_TYPE_NONE, _UNRESTRICTED, _RESTRICTED.
fn sid_type_number(t: Option<crate::config::words::SidType>) -> u32 {
    use crate::config::words::SidType;
    match t {
        None | Some(SidType::None) => 0,
        Some(SidType::Unrestricted) => 1,
        Some(SidType::Restricted) => 3,
    }
}

/// What the host's registry says against what service.json asked for.
pub(super) fn compare_config(
    reg: &BTreeMap<String, String>,
    manifest: Option<&Manifest>,
    host: &dyn Host,
    win_dir: &str,
) -> CheckResult {
    let wine = host.is_wine();
    let shown = |k: &str| reg.get(k).cloned().unwrap_or_else(|| "(none)".into());
    let summary = format!(
        "ImagePath={} | DisplayName={} | Start={} | ObjectName={}",
        shown("ImagePath"),
        shown("DisplayName"),
        shown("Start"),
        shown("ObjectName")
    );
    let Some(ServiceInfo {
        service: svc,
        object_name,
        image_path,
    }) = manifest.and_then(|m| m.service.as_ref())
    else {
        return Ok(summary);
    };
    let mut problems = Vec::new();
    let mut expect = |key: &str, want: &str| {
        let got = reg.get(key).map(String::as_str).unwrap_or_default();
        if got != want {
            problems.push(format!("{key} is `{got}`, expected `{want}`"));
        }
    };
    // `{programdata}` (a log-dir shawl is given) is the machine's folder, as installed.
    expect("ImagePath", &host_dir(host, image_path, win_dir));
    expect("DisplayName", &svc.display_name);
    if let Some(d) = &svc.description {
        expect("Description", d);
    }
    expect("ObjectName", object_name);
    let start = reg.get("Start").cloned().unwrap_or_default();
    let want_start = svc.start.registry().to_string();
    // Wine's sc.exe stores delayed-auto as a demand start.
    let wine_delayed = wine && svc.start == StartType::DelayedAuto && start == "3";
    if start != want_start && !wine_delayed {
        problems.push(format!("Start is `{start}`, expected `{want_start}`"));
    }
    if !problems.is_empty() {
        return Err(Failed(problems.join("; ")));
    }
    Ok(if wine_delayed {
        format!("{summary} (Wine stores delayed-auto as demand start)")
    } else {
        summary
    })
}

/// The last `n` non-blank lines of `text`, joined.
pub(super) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}
