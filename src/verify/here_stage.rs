//! `verify --here`: the package installed on this Windows machine (run as an
//! administrator), through the same flows as under Wine (`zip_steps`, `msi_steps`)
//! over [`Machine`], judged through the service manager's API. It refuses to run
//! unelevated, and when the service (or the MSI's product, the Run entry, the task)
//! already exists here: it never touches what it did not install. Whatever is left
//! when a step fails or the run is interrupted (the service, the product, the Run
//! entry, the task, a zip's PATH entry, its folder) is removed.

#[cfg(windows)]
use std::time::Instant;

use super::steps::Request;
use super::{Run, Verification, VerifyError};

/// Install, check and uninstall on this machine.
#[cfg(not(windows))]
pub(super) fn steps(_: &mut Run, _: &Request, _: &mut Verification) -> Result<(), VerifyError> {
    Err(VerifyError::NotWindows)
}

/// Install, check and uninstall on this machine.
#[cfg(windows)]
pub(super) fn steps(run: &mut Run, req: &Request, v: &mut Verification) -> Result<(), VerifyError> {
    use super::cleanup::Guard;
    use super::host::Host;
    use super::windows::Machine;
    use super::{msi_steps, zip_steps};

    if !Machine::elevated() {
        return Err(VerifyError::NotElevated);
    }
    let t = Instant::now();
    let drive = std::env::var("SystemDrive").unwrap_or_else(|_| "C:".into());
    // A name no earlier run left behind (process ids are reused).
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let host = Machine::new(format!(
        "{drive}\\winpkg verify {}-{stamp}",
        std::process::id()
    ));
    if !req.service.is_empty() && host.service_state(&req.service)?.is_some() {
        return Err(VerifyError::ServiceExists(req.service.clone()));
    }
    for code in products(req) {
        if msi_steps::registrations(&host, code)? > 0 {
            return Err(VerifyError::ProductInstalled(code.to_string()));
        }
    }
    if let Some(what) = super::ways::taken(&host, autostart(req))? {
        return Err(VerifyError::Taken(what));
    }
    let work = std::path::PathBuf::from(&host.work);
    std::fs::create_dir(&work).map_err(|source| VerifyError::Io {
        action: "create",
        path: work.clone(),
        source,
    })?;
    // Interrupted: the service and the product go, then the folder.
    let _dir = Guard::dir(&work);
    let _undo: Vec<Guard> = undo_commands(req, &host)
        .into_iter()
        .map(|(program, args)| Guard::command(program, args))
        .collect();
    let what = if host.wine {
        "Wine, seen from its Windows side: Wine's known differences are allowed for and named"
    } else {
        "Windows"
    };
    run.info(
        "this Windows",
        t,
        format!("{what}; an administrator; working in {}", host.work),
    );
    let result = match &req.msi {
        Some(m) => msi_steps::steps(run, req, m, &host, v),
        None => zip_steps::steps(run, req, &host, v),
    };
    clean_up(run, &host, req, v.install_dir.as_deref());
    remove_work(run, &work);
    result
}

/// Remove verify's folder; a process that has just ended (msiexec's server) may still
/// hold it for a moment, so try for a few seconds, and say so if it stays.
#[cfg(windows)]
fn remove_work(run: &mut Run, work: &std::path::Path) {
    let t = Instant::now();
    for _ in 0..20 {
        if std::fs::remove_dir_all(work).is_ok() || !work.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    run.info(
        "clean up",
        t,
        format!("{} could not be removed: remove it by hand", work.display()),
    );
}

/// The MSI products verify may install: the MSI's, and with `--against` the older's.
#[cfg(windows)]
fn products(req: &Request) -> Vec<&str> {
    req.msi
        .iter()
        .flat_map(|m| {
            std::iter::once(m.product_code.as_str())
                .chain(m.older.as_ref().map(|o| o.product_code.as_str()))
        })
        .collect()
}

/// The package's way to run besides a service (PATH, Run entry, task), if any.
#[cfg(windows)]
fn autostart(req: &Request) -> Option<&crate::autostart::Autostart> {
    req.manifest.as_ref().and_then(|m| m.autostart.as_ref())
}

/// What removes the package if the run stops half-way: the MSI's products, else the
/// service (stopped, then deleted); the Run entry, the task, a zip's PATH entry. Each
/// a program and its arguments, no shell.
#[cfg(windows)]
fn undo_commands(req: &Request, host: &dyn super::host::Host) -> Vec<(String, Vec<String>)> {
    // A zip's folder is known before it is copied; an MSI's PATH entry goes with /x.
    let zip_dir = req
        .msi
        .is_none()
        .then(|| super::zip_steps::install_dir(host, req));
    let mut out = super::ways::undo_commands(autostart(req), zip_dir.as_deref());
    for code in products(req) {
        out.push((
            "msiexec.exe".into(),
            vec!["/x".into(), code.to_string(), "/qn".into()],
        ));
    }
    if !req.service.is_empty() {
        out.push(("sc.exe".into(), vec!["stop".into(), req.service.clone()]));
        out.push(("sc.exe".into(), vec!["delete".into(), req.service.clone()]));
    }
    out
}

/// After the flow: remove what a failed step left installed, and say so.
#[cfg(windows)]
fn clean_up(run: &mut Run, host: &dyn super::host::Host, req: &Request, dir: Option<&str>) {
    let t = Instant::now();
    let mut left = super::ways::left_registered(host, autostart(req), dir.unwrap_or_default());
    for code in products(req) {
        if super::msi_steps::registrations(host, code).unwrap_or(0) > 0 {
            left.push(format!("product {code}"));
        }
    }
    if !req.service.is_empty() && host.service_state(&req.service).ok().flatten().is_some() {
        left.push(format!("service `{}`", req.service));
    }
    if left.is_empty() {
        return;
    }
    for (program, args) in undo_commands(req, host) {
        super::cleanup::run_quietly(&program, &args);
    }
    run.info(
        "clean up",
        t,
        format!("removed what the failed steps left: {}", left.join(", ")),
    );
}
