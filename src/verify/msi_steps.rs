//! `verify --wine x.msi`: the MSI installed by Wine's own Windows Installer
//! (`msiexec /i /qn`), its product registered and its files in INSTALLDIR as verified
//! offline, the service running as service.json says (or `--run`'s program run), the
//! same MSI installed again (a repair: still one product), then `msiexec /x`: product,
//! files and service gone, data folders kept.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::crash::crash_test;
use super::host::Host;
use super::offline::inside;
use super::steps::{
    Ctx, MsiRequest, OlderMsi, Request, check_alive, check_folders_and_source, check_full_config,
    check_probes, check_removed, check_running, compare_config, host_dir, run_program,
};
use super::ways::{Installer, check_registered, close_before_removal};
use super::{CheckResult, Failed, Run, Verification, VerifyError};
use crate::script::{DIR_PLACEHOLDER, PROGRAMDATA_PLACEHOLDER};

const UNINSTALL: [&str; 2] = [
    "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
    "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
];

/// How many times the product is registered (per machine and per user).
pub(super) fn registrations(host: &dyn Host, code: &str) -> Result<usize, VerifyError> {
    let mut n = 0;
    for key in UNINSTALL {
        let keys = host.registry_subkeys(key)?;
        n += keys.iter().filter(|k| k.eq_ignore_ascii_case(code)).count();
    }
    Ok(n)
}

/// The new MSI's file name in verify's work folder; the older one's (`--against`).
const PACKAGE: &str = "package.msi";
const OLDER: &str = "older.msi";

/// What one msiexec run left: its whole exit code, its log's text, and when it failed
/// on a host whose work folder goes away (`--here`), where its log was kept.
struct Ran {
    code: i32,
    log: String,
    kept: Option<PathBuf>,
}

impl Ran {
    /// What a failed step shows: the log's lines that say what went wrong, and where
    /// the whole log is.
    fn why(&self) -> String {
        let mut why = log_tail(&self.log);
        if let Some(p) = &self.kept {
            why.push_str(&format!(" (msiexec's log: {})", p.display()));
        }
        why
    }
}

/// `msiexec VERB WORK\FILE /qn /l*v LOG`.
fn msiexec(host: &dyn Host, verb: &str, file: &str, timeout: Duration) -> Result<Ran, VerifyError> {
    let name = verb.trim_start_matches('/');
    let work = host.work_dir();
    let win_log = format!("{work}\\msiexec-{name}-{file}.log");
    let log = host
        .local(&win_log)
        .ok_or_else(|| VerifyError::Unreachable(win_log.clone()))?;
    let _ = std::fs::remove_file(&log);
    let (code, out) = host.run_with(
        &format!("msiexec {verb} {{0}} /qn /l*v {{1}}"),
        &[&format!("{work}\\{file}"), &win_log],
        timeout,
    )?;
    // Wine writes the log in the ANSI code page, Windows in UTF-16.
    let bytes = std::fs::read(&log).unwrap_or_default();
    let text = match bytes.strip_prefix(&[0xff, 0xfe]) {
        Some(u) => String::from_utf16_lossy(
            &u.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        ),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    };
    // On Windows the work folder is removed afterwards: a failure's log is kept in the
    // temporary folder. (Under Wine, --keep keeps the prefix and the log with it.)
    let kept = (code != 0 && !host.is_wine())
        .then(|| {
            let to = std::env::temp_dir().join(super::batch::unique_name(
                &format!("winpkg-verify-msiexec-{name}"),
                "log",
            ));
            std::fs::copy(&log, &to).ok().map(|_| to)
        })
        .flatten();
    Ok(Ran {
        code,
        log: if text.is_empty() { out } else { text },
        kept,
    })
}

/// The last lines of an msiexec log that say what went wrong.
fn log_tail(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("return value 3") || l.contains("failed")
        })
        .collect();
    let shown = if lines.is_empty() {
        log.lines().rev().take(4).collect::<Vec<_>>().join(" / ")
    } else {
        lines[lines.len().saturating_sub(4)..].join(" / ")
    };
    shown.chars().take(600).collect()
}

/// Install, check, repair, uninstall: the MSI's steps on the host.
pub(super) fn steps(
    run: &mut Run,
    req: &Request,
    m: &MsiRequest,
    host: &dyn Host,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    let timeout = Duration::from_secs(req.timeout_secs);
    let folder = host
        .local(&host.work_dir())
        .ok_or_else(|| VerifyError::Unreachable(host.work_dir()))?;
    let copies =
        std::iter::once((&m.path, PACKAGE)).chain(m.older.as_ref().map(|o| (&o.path, OLDER)));
    for (from, name) in copies {
        std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::copy(from, folder.join(name)))
            .map_err(|e| VerifyError::Io {
                action: "copy onto the host",
                path: from.clone(),
                source: e,
            })?;
    }
    let msi_timeout = timeout + Duration::from_secs(120);
    let marked = match &m.older {
        Some(old) => match install_older(run, host, req, old, msi_timeout)? {
            Some(marked) => Some(marked),
            None => return Ok(()),
        },
        None => None,
    };
    let Some(log) = install(run, host, m, marked.as_deref(), msi_timeout)? else {
        return Ok(());
    };
    let win_dir = log
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("Property(S): INSTALLDIR = "))
        .map(|d| d.trim().trim_end_matches('\\').to_string())
        .unwrap_or_default();
    v.install_dir = Some(win_dir.clone());
    let t = Instant::now();
    let files = check_files(host, req, &win_dir, true);
    run.check("installed files", t, files);
    let autostart = req.manifest.as_ref().and_then(|m| m.autostart.as_ref());
    check_registered(run, host, autostart, &win_dir, Installer::Msi, true)?;
    let mut ctx = Ctx {
        host,
        service: req.service.clone(),
        exe: req.exe.clone(),
        manifest: req.manifest.as_ref(),
        win_dir,
        timeout,
    };
    service_checks(run, req, &mut ctx, v)?;

    repair(run, &ctx, m, msi_timeout)?;
    uninstall(run, &ctx, req, m, msi_timeout)?;
    if host.is_wine() && !m.wine_ignores.is_empty() {
        run.info(
            "not applied by Wine",
            Instant::now(),
            format!(
                "Wine's msiexec ignores {}: Windows Installer 5 applies them; these rows were read back offline, not run",
                m.wine_ignores.join(", ")
            ),
        );
    }
    Ok(())
}

/// `msiexec /i` of this MSI: the product registered once (and, after `--against`'s
/// older MSI, that one gone, its data kept). The log, or None when it failed.
fn install(
    run: &mut Run,
    host: &dyn Host,
    m: &MsiRequest,
    marked: Option<&[String]>,
    msi_timeout: Duration,
) -> Result<Option<String>, VerifyError> {
    let t = Instant::now();
    let ran = msiexec(host, "/i", PACKAGE, msi_timeout)?;
    let code = ran.code;
    let registered = registrations(host, &m.product_code)?;
    let (step, older) = match &m.older {
        Some(o) if !o.product_code.eq_ignore_ascii_case(&m.product_code) => (
            "msiexec /i (upgrade)",
            registrations(host, &o.product_code)?,
        ),
        _ => ("msiexec /i", 0),
    };
    let installed = run.check(
        step,
        t,
        if code == 0 && registered == 1 && older == 0 {
            Ok(match &m.older {
                Some(o) => format!(
                    "installed; product {} registered, the older {} removed",
                    m.product_code, o.product_code
                ),
                None => format!("installed; product {} registered", m.product_code),
            })
        } else {
            Err(Failed(format!(
                "exit code {code}, product registered {registered} time(s), the older one {older} time(s): {}",
                ran.why()
            )))
        },
    );
    if let (true, Some(marked)) = (installed, marked) {
        let t = Instant::now();
        run.check("data kept over upgrade", t, marks_kept(host, marked));
    }
    Ok(installed.then_some(ran.log))
}

/// `--against`: the older MSI installed first, and a mark left in each data folder it
/// made; the folders marked, or None when it failed.
fn install_older(
    run: &mut Run,
    host: &dyn Host,
    req: &Request,
    old: &OlderMsi,
    msi_timeout: Duration,
) -> Result<Option<Vec<String>>, VerifyError> {
    let t = Instant::now();
    let ran = msiexec(host, "/i", OLDER, msi_timeout)?;
    let code = ran.code;
    let registered = registrations(host, &old.product_code)?;
    let marked = mark_data(host, req);
    let ok = run.check(
        "msiexec /i older",
        t,
        if code == 0 && registered == 1 {
            Ok(format!(
                "installed {}; a file left in {} of its data folder(s)",
                old.product_code,
                marked.len()
            ))
        } else {
            Err(Failed(format!(
                "exit code {code}, product registered {registered} time(s): {}",
                ran.why()
            )))
        },
    );
    if ok {
        // Windows Installer stops the running service before it replaces its files and
        // waits; Wine's does not (see `stop_first`).
        stop_first(run, host, &req.service, "stopped before upgrade")?;
    }
    Ok(ok.then_some(marked))
}

/// The file verify leaves in a data folder to see it survive an upgrade.
const MARK: &str = "winpkg-verify-upgrade.txt";

/// The service's data folders under ProgramData (the ones an upgrade must keep).
fn data_folders(host: &dyn Host, req: &Request) -> Vec<String> {
    req.manifest
        .as_ref()
        .and_then(|m| m.service.as_ref())
        .map(|s| {
            s.service
                .data_dirs
                .iter()
                .filter(|d| d.contains(PROGRAMDATA_PLACEHOLDER))
                .map(|d| host_dir(host, d, ""))
                .collect()
        })
        .unwrap_or_default()
}

/// Leave the mark in each data folder the older MSI made: the folders marked.
fn mark_data(host: &dyn Host, req: &Request) -> Vec<String> {
    data_folders(host, req)
        .into_iter()
        .filter(|d| {
            host.local(d).is_some_and(|p| {
                std::fs::write(
                    p.join(MARK),
                    b"left by cargo winpkg verify before the upgrade\r\n",
                )
                .is_ok()
            })
        })
        .collect()
}

/// Every mark still there after the upgrade.
fn marks_kept(host: &dyn Host, marked: &[String]) -> CheckResult {
    let lost: Vec<&String> = marked
        .iter()
        .filter(|d| !host.local(d).is_some_and(|p| p.join(MARK).is_file()))
        .collect();
    if lost.is_empty() {
        Ok(format!(
            "a file left in {} data folder(s) before the upgrade is still there",
            marked.len()
        ))
    } else {
        Err(Failed(format!(
            "the upgrade lost what was in {}",
            lost.iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// The same MSI again: a repair, never a second product.
fn repair(
    run: &mut Run,
    ctx: &Ctx,
    m: &MsiRequest,
    msi_timeout: Duration,
) -> Result<(), VerifyError> {
    stop_first(run, ctx.host, &ctx.service, "stopped before repair")?;
    let t = Instant::now();
    let ran = msiexec(ctx.host, "/i", PACKAGE, msi_timeout)?;
    let code = ran.code;
    let registered = registrations(ctx.host, &m.product_code)?;
    let state = if ctx.service.is_empty() {
        None
    } else {
        ctx.host.service_state(&ctx.service)?
    };
    run.check(
        "msiexec /i again",
        t,
        if code == 0 && registered == 1 {
            Ok(format!(
                "a repair: the product is registered once{}",
                state
                    .map(|s| format!("; `{}` is {s}", ctx.service))
                    .unwrap_or_default()
            ))
        } else {
            Err(Failed(format!(
                "exit code {code}, product registered {registered} time(s): {}",
                ran.why()
            )))
        },
    );

    Ok(())
}

/// `msiexec /x`: the product unregistered and its files gone; for a service, the
/// service removed and its data kept.
fn uninstall(
    run: &mut Run,
    ctx: &Ctx,
    req: &Request,
    m: &MsiRequest,
    msi_timeout: Duration,
) -> Result<(), VerifyError> {
    stop_first(run, ctx.host, &ctx.service, "stopped before /x")?;
    let autostart = req.manifest.as_ref().and_then(|m| m.autostart.as_ref());
    close_before_removal(run, ctx.host, autostart)?;
    let t = Instant::now();
    let ran = msiexec(ctx.host, "/x", PACKAGE, msi_timeout)?;
    let code = ran.code;
    let registered = registrations(ctx.host, &m.product_code)?;
    let left = check_files(ctx.host, req, &ctx.win_dir, false);
    run.check(
        "msiexec /x",
        t,
        match (code, registered, left) {
            (0, 0, Ok(d)) => Ok(format!("uninstalled; {d}")),
            (code, n, left) => Err(Failed(format!(
                "exit code {code}, product registered {n} time(s){}: {}",
                left.err().map(|e| format!(", {}", e.0)).unwrap_or_default(),
                ran.why()
            ))),
        },
    );
    check_registered(
        run,
        ctx.host,
        autostart,
        &ctx.win_dir,
        Installer::Msi,
        false,
    )?;
    if !ctx.service.is_empty() && req.run.is_none() {
        check_removed(run, ctx)?;
        let t = Instant::now();
        if let Some(kept) = check_data_kept(ctx) {
            run.check("data kept", t, kept);
        }
    }
    Ok(())
}

/// How long Windows Installer waits for a service to stop (ServiceControl's Wait).
const INSTALLER_STOP_WAIT: Duration = Duration::from_secs(30);

/// Stop the running service and wait until it has stopped, before an msiexec run that
/// stops it. Windows Installer sends the stop and waits up to 30 s for it (our
/// ServiceControl rows ask it to); Wine's msiexec sends it and goes straight on, so a
/// service that takes a moment to stop (shawl gives its program seconds) was still
/// stopping when the repair started it again or the uninstall removed its files. What
/// Windows does is the bar: a service that does not stop within those 30 s fails here.
fn stop_first(
    run: &mut Run,
    host: &dyn Host,
    service: &str,
    step: &str,
) -> Result<(), VerifyError> {
    if service.is_empty() {
        return Ok(());
    }
    match host.service_state(service)?.as_deref() {
        None | Some("STOPPED") => return Ok(()),
        Some(_) => {}
    }
    let t = Instant::now();
    host.run_with("sc stop {0}", &[service], Duration::from_secs(60))?;
    let stopped = host.wait_state(service, "STOPPED", INSTALLER_STOP_WAIT)?;
    let took = t.elapsed().as_secs_f64();
    let state = host.service_state(service)?;
    run.check(
        step,
        t,
        if stopped {
            Ok(if host.is_wine() {
                format!(
                    "`{}` stopped in {took:.1} s: Wine's msiexec sends the stop without waiting, Windows Installer waits up to {} s, so verify waited as Windows Installer does",
                    service,
                    INSTALLER_STOP_WAIT.as_secs()
                )
            } else {
                format!(
                    "`{}` stopped in {took:.1} s, within the {} s Windows Installer waits",
                    service,
                    INSTALLER_STOP_WAIT.as_secs()
                )
            })
        } else {
            Err(Failed(format!(
                "`{}` is {} {} s after the stop control: Windows Installer would go on with its files in use",
                service,
                state.as_deref().unwrap_or("gone"),
                INSTALLER_STOP_WAIT.as_secs()
            )))
        },
    );
    Ok(())
}

/// The service's checks after install (or `--run`'s program).
fn service_checks(
    run: &mut Run,
    req: &Request,
    ctx: &mut Ctx,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    if let Some(args) = &req.run {
        return run_program(run, ctx, args, req.expect_exit);
    }
    if ctx.service.is_empty() {
        return Ok(());
    }
    let running = check_running(run, ctx)?;
    let t = Instant::now();
    let reg = ctx.host.service_config(&ctx.service)?;
    // What the MSI asks for: a bare `{dir}` is `[INSTALLDIR].` (the folder and `\.`).
    let as_msi = |unquoted: bool| {
        let mut m = ctx.manifest.cloned();
        if let Some(s) = m.as_mut().and_then(|m| m.service.as_mut()) {
            let sep = format!("{DIR_PLACEHOLDER}\\");
            let line = s
                .image_path
                .replace(&sep, "\u{0}")
                .replace(DIR_PLACEHOLDER, &format!("{DIR_PLACEHOLDER}\\."))
                .replace('\u{0}', &sep);
            s.image_path = if unquoted { unquote_first(&line) } else { line };
        }
        m
    };
    let wine = ctx.host.is_wine();
    let cfg = match compare_config(&reg, as_msi(false).as_ref(), ctx.host, &ctx.win_dir) {
        // Wine's msiexec writes the program's path into ImagePath unquoted (Windows
        // Installer quotes it): the rest must match, and the step says so.
        Err(why) if wine => {
            match compare_config(&reg, as_msi(true).as_ref(), ctx.host, &ctx.win_dir) {
                Ok(d) => Ok(format!(
                    "{d} (Wine's msiexec writes the program's path unquoted; Windows Installer quotes it)"
                )),
                Err(_) => Err(why),
            }
        }
        ok => ok,
    };
    run.check("configuration (sc qc)", t, cfg);
    check_full_config(run, ctx, &reg);
    check_folders_and_source(run, ctx)?;
    v.registry = reg;
    if running {
        check_alive(run, ctx)?;
        check_probes(run, req, ctx.timeout, "probe");
        if req.crash_test {
            crash_test(run, ctx, req)?;
        }
    }
    Ok(())
}

/// `"C:\a b\x.exe" args` as `C:\a b\x.exe args`.
fn unquote_first(line: &str) -> String {
    match line.strip_prefix('"').and_then(|r| r.split_once('"')) {
        Some((path, rest)) => format!("{path}{rest}"),
        None => line.to_string(),
    }
}

/// Every file of the package in `win_dir` with its verified bytes (`present`), or none
/// of them left (`!present`).
fn check_files(host: &dyn Host, req: &Request, win_dir: &str, present: bool) -> CheckResult {
    let Some(dir) = host.local(win_dir) else {
        return Err(Failed(format!("INSTALLDIR `{win_dir}` is not on drive C:")));
    };
    let mut wrong = Vec::new();
    for name in &req.files {
        let rel = &name[req.root.len().min(name.len())..];
        let installed = inside(&dir, rel);
        if !present {
            if installed.exists() {
                wrong.push(rel.to_string());
            }
            continue;
        }
        let same = std::fs::read(&installed)
            .ok()
            .zip(std::fs::read(inside(&req.package_dir, name)).ok())
            .is_some_and(|(a, b)| a == b);
        if !same {
            wrong.push(rel.to_string());
        }
    }
    match (present, wrong.is_empty()) {
        (true, true) => Ok(format!(
            "{} files in {win_dir}, the bytes verified offline",
            req.files.len()
        )),
        (true, false) => Err(Failed(format!(
            "missing or different in {win_dir}: {}",
            wrong.join(", ")
        ))),
        (false, true) => Ok(format!("no file of the package is left in {win_dir}")),
        (false, false) => Err(Failed(format!("left in {win_dir}: {}", wrong.join(", ")))),
    }
}

/// The service's data and log folders still there after uninstall.
fn check_data_kept(ctx: &Ctx) -> Option<CheckResult> {
    let svc = &ctx.manifest?.service.as_ref()?.service;
    let dirs = svc.writable_dirs();
    if dirs.is_empty() {
        return None;
    }
    let wins: Vec<String> = dirs
        .iter()
        .map(|d| host_dir(ctx.host, d, &ctx.win_dir))
        .collect();
    let gone: Vec<&str> = wins
        .iter()
        .map(String::as_str)
        .filter(|w| !ctx.host.local(w).is_some_and(|p| p.is_dir()))
        .collect();
    Some(if gone.is_empty() {
        Ok(format!(
            "{} folder(s) kept: {}",
            wins.len(),
            wins.join(", ")
        ))
    } else {
        Err(Failed(format!(
            "uninstall removed data folder(s): {}",
            gone.join(", ")
        )))
    })
}

/// The path verify's sandbox must let the stage read.
pub fn readable(req: &Request) -> Vec<&Path> {
    let Some(m) = &req.msi else {
        return Vec::new();
    };
    std::iter::once(m.path.as_path())
        .chain(m.older.as_ref().map(|o| o.path.as_path()))
        .collect()
}
