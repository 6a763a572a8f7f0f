//! The programs that ship beside the exe: shawl.exe for a wrapped service (configured,
//! cached, or built once), and the PATH helper of a command-line tool.

use std::path::PathBuf;

use super::error::BuildError;
use super::plan::Plan;
use crate::autostart::service::{self, Mode};
use crate::events::Listener;
use crate::package::bundle::{self, Shawl};

/// The PATH helper for the target, written once into the winpkg folder (atomically, and
/// again only when its bytes changed), so it is staged, signed and checked like every
/// other PE file that ships.
pub(super) fn path_helper(plan: &Plan) -> Result<PathBuf, BuildError> {
    let bytes = crate::autostart::path_helper(plan.target.arch());
    let path = plan
        .winpkg_dir
        .join(format!("winpkg-path-{}.exe", plan.target.arch()));
    if std::fs::read(&path).is_ok_and(|b| b == bytes) {
        return Ok(path);
    }
    let io = BuildError::io;
    std::fs::create_dir_all(&plan.winpkg_dir).map_err(io("create", &plan.winpkg_dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&plan.winpkg_dir)
        .map_err(io("create a temporary file in", &plan.winpkg_dir))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io("write", tmp.path()))?;
    tmp.persist(&path)
        .map_err(|e| io("write", &path)(e.error))?;
    Ok(path)
}

/// Files to ship that are not PE files: (name in the package, file).
pub(super) type Extra = Vec<(String, PathBuf)>;

/// shawl.exe and its licence for a wrapped service, saying why it is wrapped; for a
/// crate without a service table, a note that it ships as a plain program.
pub(super) fn wrapper(
    plan: &Plan,
    service: Option<&service::Service>,
    dispatcher: bool,
    ui: &dyn Listener,
) -> Result<(Option<PathBuf>, Extra), BuildError> {
    let Some(svc) = service else {
        if let Some(crate::autostart::Autostart::RunKey { args, .. }) = &plan.autostart {
            for (i, a) in args
                .iter()
                .enumerate()
                .filter(|(_, a)| service::looks_relative(a))
            {
                ui.warning(&format!(
                    "[package.metadata.winpkg.run-key] args[{i}]: `{a}` looks like a relative path, but a program started from the Run key does not start in its own folder: write {{dir}}\\... instead"
                ));
            }
        }
        let how = match &plan.autostart {
            Some(crate::autostart::Autostart::RunKey { scope, .. }) => format!(
                "starts at every logon of {} through the Run key (install.cmd adds it)",
                if *scope == crate::autostart::Scope::User {
                    "the installing user"
                } else {
                    "any user"
                }
            ),
            Some(crate::autostart::Autostart::Path { .. }) => {
                "is a command-line tool: install.cmd puts its folder on PATH".to_string()
            }
            Some(crate::autostart::Autostart::Task(t)) => format!(
                "runs as the scheduled task `{}` (install.cmd registers it)",
                t.name
            ),
            None => "is packaged as a plain program (no install scripts)".to_string(),
        };
        ui.stage(
            "Note",
            &format!(
                "{} {how}; smoke-test the zip with `cargo winpkg verify --wine --run ZIP -- ARGS`",
                plan.exe_name
            ),
        );
        return Ok((None, Vec::new()));
    };
    if svc.mode != Mode::Shawl {
        return Ok((None, Vec::new()));
    }
    let why = if dispatcher {
        "as `mode = \"shawl\"` asks"
    } else {
        "it does not run the service dispatcher (a console program), so shawl talks to the service manager for it"
    };
    ui.stage("Wrapping", &format!("{} with shawl: {why}", plan.exe_name));
    let exe = shawl(plan, ui)?;
    // shawl is MIT-licensed: its licence text ships with it.
    let mut extra = Vec::new();
    match bundle::shawl_licence(&exe) {
        Some(l) => extra.push(("shawl-LICENSE.txt".to_string(), l)),
        None => ui.warning(&format!(
            "no licence text beside {} (shawl is MIT-licensed: ship its LICENSE with it)",
            exe.display()
        )),
    }
    Ok((Some(exe), extra))
}

/// shawl.exe for a wrapped service: configured, cached, or built once now.
fn shawl(plan: &Plan, ui: &dyn Listener) -> Result<PathBuf, BuildError> {
    let configured = plan
        .cfg
        .service
        .as_ref()
        .and_then(|s| s.shawl.as_ref())
        .map(|p| plan.manifest_dir.join(p));
    let cache = bundle::user_cache(&plan.winpkg_dir);
    match bundle::find_shawl(&plan.target, configured.as_deref(), &cache)? {
        Shawl::Ready(exe) => Ok(exe),
        Shawl::Build { root, exe } => {
            ui.stage(
                "Building",
                &format!(
                    "shawl.exe {} for {} (once; cached in {})",
                    bundle::SHAWL_VERSION,
                    plan.target,
                    root.display()
                ),
            );
            bundle::build_shawl(&plan.target, &root, &exe)?;
            Ok(exe)
        }
    }
}
