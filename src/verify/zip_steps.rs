//! `verify --wine` on a zip: install the package's service in a throwaway Wine prefix
//! with its install.cmd, watch it run, compare what the service control manager stored
//! with service.json, uninstall it and check that it is gone (the steps of `steps`).
//! A package that runs another way (PATH, Run entry, task) is installed and removed
//! by its scripts the same way, and what they registered is judged (`ways`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::crash::crash_test;
use super::host::Host;
use super::offline::inside;
use super::steps::{
    Ctx, Request, check_alive, check_folders_and_source, check_full_config, check_probes,
    check_removed, check_running, compare_config, run_program, tail,
};
use super::ways::{Installer, check_registered};
use super::{CheckResult, Failed, Run, Verification, VerifyError};
use crate::autostart::Autostart;
use crate::config::words::Mode;
use crate::package::{INSTALL_CMD, UNINSTALL_CMD};

/// Install, run, compare, uninstall: the zip's steps on the host's service manager.
pub(super) fn steps(
    run: &mut Run,
    req: &Request,
    host: &dyn Host,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    let mut ctx = Ctx {
        host,
        service: req.service.clone(),
        exe: req
            .manifest
            .as_ref()
            .map(|m| m.exe.clone())
            .unwrap_or_default(),
        manifest: req.manifest.as_ref(),
        win_dir: String::new(),
        timeout: Duration::from_secs(req.timeout_secs),
    };
    ctx.win_dir = extract(run, host, req)?;
    v.install_dir = Some(ctx.win_dir.clone());
    if let Some(a) = req.manifest.as_ref().and_then(|m| m.autostart.as_ref()) {
        return other_way(run, &ctx, req, a);
    }
    if let Some(args) = &req.run {
        return run_program(run, &ctx, args, req.expect_exit);
    }

    let t = Instant::now();
    let result = install(&ctx)?;
    let installed = run.check(INSTALL_CMD, t, result);
    let mut running = false;
    if installed {
        running = check_running(run, &ctx)?;
        let t = Instant::now();
        let reg = host.service_config(&ctx.service)?;
        let cfg = compare_config(&reg, ctx.manifest, host, &ctx.win_dir);
        run.check("configuration (sc qc)", t, cfg);
        check_full_config(run, &ctx, &reg);
        check_folders_and_source(run, &ctx)?;
        v.registry = reg;
    }
    if running {
        check_alive(run, &ctx)?;
        check_probes(run, req, ctx.timeout, "probe");
        if req.crash_test {
            crash_test(run, &ctx, req)?;
        }
    }
    if installed {
        let t = Instant::now();
        let result = run_script(&ctx, UNINSTALL_CMD)?;
        if run.check(UNINSTALL_CMD, t, result) {
            check_removed(run, &ctx)?;
        }
    }
    Ok(())
}

/// A package that runs another way than as a service (its folder on PATH, a Run
/// entry, a scheduled task): install.cmd, what it registered, `--run`'s program,
/// uninstall.cmd, and what it registered gone.
fn other_way(
    run: &mut Run,
    ctx: &Ctx,
    req: &Request,
    autostart: &Autostart,
) -> Result<(), VerifyError> {
    let t = Instant::now();
    let result = run_script(ctx, INSTALL_CMD)?;
    if !run.check(INSTALL_CMD, t, result) {
        return Ok(());
    }
    let (host, dir) = (ctx.host, ctx.win_dir.as_str());
    check_registered(run, host, Some(autostart), dir, Installer::Scripts, true)?;
    if let Some(args) = &req.run {
        run_program(run, ctx, args, req.expect_exit)?;
    }
    let t = Instant::now();
    let result = run_script(ctx, UNINSTALL_CMD)?;
    if run.check(UNINSTALL_CMD, t, result) {
        check_registered(run, host, Some(autostart), dir, Installer::Scripts, false)?;
    }
    Ok(())
}

/// Copy the extracted package into a folder with a space in its name, as "Program
/// Files" has; return the install folder as a Windows path.
fn extract(run: &mut Run, host: &dyn Host, req: &Request) -> Result<String, VerifyError> {
    let t = Instant::now();
    let copy = copy_dir(host, req);
    let host_dir = host
        .local(&copy)
        .ok_or_else(|| VerifyError::Unreachable(copy.clone()))?;
    for name in &req.files {
        let from = inside(&req.package_dir, name);
        let to = inside(&host_dir, name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| VerifyError::Io {
                action: "create",
                path: parent.to_path_buf(),
                source: e,
            })?;
        }
        std::fs::copy(&from, &to).map_err(|e| VerifyError::Io {
            action: "copy onto the host",
            path: from.clone(),
            source: e,
        })?;
    }
    let win_dir = install_dir(host, req);
    run.info("copy onto the host", t, win_dir.clone());
    Ok(win_dir)
}

/// The folder the zip's files are copied into on the host (named after the zip).
fn copy_dir(host: &dyn Host, req: &Request) -> String {
    format!("{}\\{}", host.work_dir(), req.stem)
}

/// The folder the package's scripts run from on the host: the copy's folder, and in it
/// the zip's single top folder if it has one.
pub(super) fn install_dir(host: &dyn Host, req: &Request) -> String {
    let copy = copy_dir(host, req);
    match req.root.trim_end_matches('/') {
        "" => copy,
        root => format!("{copy}\\{root}"),
    }
}

/// install.cmd, watching the program meanwhile: when a native service fails to start
/// and its program ran for seconds until the service manager ended it, the program
/// never called the service dispatcher, and the step says so.
fn install(ctx: &Ctx) -> Result<CheckResult, VerifyError> {
    let native = ctx
        .manifest
        .and_then(|m| m.service.as_ref())
        .is_some_and(|s| s.service.mode == Mode::Native);
    if !native || ctx.exe.is_empty() {
        return run_script(ctx, INSTALL_CMD);
    }
    let done = AtomicBool::new(false);
    let (result, lived) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| longest_life(ctx, &done));
        let result = run_script(ctx, INSTALL_CMD);
        done.store(true, Ordering::Relaxed);
        (result, watcher.join().unwrap_or_default())
    });
    Ok(match result? {
        Err(Failed(why)) if lived >= Duration::from_secs(5) => {
            let state = ctx.host.service_state(&ctx.service)?;
            let ended = if state.as_deref() == Some("RUNNING") {
                String::new()
            } else {
                " until the service manager gave up on it".into()
            };
            Err(Failed(format!(
                "{why}. verify saw {} run for {} s{ended}: it never called the service dispatcher (a flag may turn its service mode on)",
                ctx.exe,
                lived.as_secs()
            )))
        }
        other => other,
    })
}

/// The longest any one process of the program lived while `done` was unset.
fn longest_life(ctx: &Ctx, done: &AtomicBool) -> Duration {
    let mut first_seen: BTreeMap<u32, Instant> = BTreeMap::new();
    let mut longest = Duration::ZERO;
    while !done.load(Ordering::Relaxed) {
        let now = Instant::now();
        for pid in ctx.host.processes_running(&ctx.exe) {
            let since = *first_seen.entry(pid).or_insert(now);
            longest = longest.max(now - since);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    longest
}

/// Run a script of the package through the host's cmd: Ok(its last lines) on exit
/// code 0.
fn run_script(ctx: &Ctx, script: &str) -> Result<CheckResult, VerifyError> {
    // The script waits up to 60 s for the service itself.
    let (code, out) = ctx.host.run_with(
        "cmd /c {0}",
        &[&format!("{}\\{script}", ctx.win_dir)],
        ctx.timeout + Duration::from_secs(90),
    )?;
    let last = tail(&out, 6);
    Ok(if code == 0 {
        Ok(last)
    } else {
        Err(Failed(format!("exit code {code}: {last}")))
    })
}
