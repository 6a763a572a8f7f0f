//! `verify --wine` on a zip: install the package's service in a throwaway Wine prefix
//! with its install.cmd, watch it run, compare what the service control manager stored
//! with service.json, uninstall it and check that it is gone (the steps of `steps`).

use std::time::{Duration, Instant};

use super::offline::inside;
use super::steps::{
    Ctx, Request, check_alive, check_removed, check_running, compare_config, create_prefix,
    run_program, tail, tear_down,
};
use super::wine::Prefix;
use super::{CheckResult, Failed, Run, Verification, VerifyError};
use crate::package::{INSTALL_CMD, UNINSTALL_CMD};

/// Install, run, compare, uninstall: the zip's steps on Wine's service manager.
pub(super) fn steps(run: &mut Run, req: &Request, v: &mut Verification) -> Result<(), VerifyError> {
    let prefix = create_prefix(run, req.keep, v)?;
    if req.x86 && !prefix.runs_32bit()? {
        return Err(VerifyError::Needs32BitWine(req.exe.clone()));
    }
    let mut ctx = Ctx {
        prefix,
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
    ctx.win_dir = extract(run, &ctx.prefix, req)?;
    v.install_dir = Some(ctx.win_dir.clone());
    if let Some(args) = &req.run {
        run_program(run, &ctx, args, req.expect_exit)?;
        return tear_down(run, ctx.prefix, v);
    }

    let t = Instant::now();
    let result = run_script(&ctx, INSTALL_CMD)?;
    let installed = run.check(INSTALL_CMD, t, result);
    let mut running = false;
    if installed {
        running = check_running(run, &ctx)?;
        let t = Instant::now();
        let reg = ctx.prefix.service_registry(&ctx.service)?;
        let cfg = compare_config(&reg, ctx.manifest, &ctx.win_dir);
        v.registry = reg;
        run.check("configuration (sc qc)", t, cfg);
    }
    if running {
        check_alive(run, &ctx)?;
    }
    if installed {
        let t = Instant::now();
        let result = run_script(&ctx, UNINSTALL_CMD)?;
        if run.check(UNINSTALL_CMD, t, result) {
            check_removed(run, &ctx)?;
        }
    }
    tear_down(run, ctx.prefix, v)
}

/// Copy the extracted package into a folder with a space in its name, as "Program
/// Files" has; return the install folder as a Windows path.
fn extract(run: &mut Run, prefix: &Prefix, req: &Request) -> Result<String, VerifyError> {
    let t = Instant::now();
    let host_dir = prefix.drive_c().join("winpkg verify").join(&req.stem);
    let mut win_dir = format!("C:\\winpkg verify\\{}", req.stem);
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
            action: "copy into the prefix",
            path: from.clone(),
            source: e,
        })?;
    }
    if !req.root.is_empty() {
        win_dir = format!("{win_dir}\\{}", req.root.trim_end_matches('/'));
    }
    run.info("copy into prefix", t, win_dir.clone());
    Ok(win_dir)
}

/// Run a script of the package through Wine's cmd: Ok(its last lines) on exit code 0.
fn run_script(ctx: &Ctx, script: &str) -> Result<CheckResult, VerifyError> {
    // The script waits up to 60 s for the service itself.
    let (code, out) = ctx.prefix.run_with(
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
