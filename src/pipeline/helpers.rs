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
        plain_program_note(plan, ui);
        return Ok((None, Vec::new()));
    };
    if svc.mode != Mode::Shawl {
        let why = if dispatcher {
            "it runs the service dispatcher (imports StartServiceCtrlDispatcherW)"
        } else {
            "as `mode = \"native\"` asks"
        };
        ui.stage(
            "Service",
            &format!(
                "{} is a native service `{}`: {why}",
                plan.exe_name, svc.name
            ),
        );
        return Ok((None, Vec::new()));
    }
    let why = if dispatcher {
        "as `mode = \"shawl\"` asks"
    } else {
        "it does not run the service dispatcher (a console program), so shawl talks to the service manager for it"
    };
    ui.stage(
        "Service",
        &format!(
            "{} is wrapped by shawl as service `{}`: {why}",
            plan.exe_name, svc.name
        ),
    );
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

/// For a crate without a service table: how its program runs (warning about relative
/// Run-key arguments), and how to smoke-test it.
fn plain_program_note(plan: &Plan, ui: &dyn Listener) {
    if let Some(crate::autostart::Autostart::RunKey { args, .. }) = &plan.autostart {
        for (i, a) in args
            .iter()
            .enumerate()
            .filter(|(_, a)| service::looks_relative(a))
        {
            ui.warning(&format!(
                "{} args[{i}]: `{a}` looks like a relative path, but a program started from the Run key does not start in its own folder: write {{dir}}\\... instead",
                plan.cfg.origin_of("run-key", &plan.origin).kind.table("run-key")
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

/// Write the MSI beside the zip (same name, `.msi`) from the zip's files, saying what
/// it does not do that the zip's scripts do.
pub(super) fn write_msi(
    plan: &Plan,
    product: &crate::package::msi::Product,
    archive: &crate::package::PackageOutcome,
    staged: &super::staging::Staged,
    service: Option<&service::Service>,
    ui: &dyn Listener,
) -> Result<super::MsiOutcome, BuildError> {
    use crate::package::msi;
    for gap in msi_gaps(plan, service) {
        ui.warning(&format!("the MSI {gap}"));
    }
    let zip = archive.path.as_path();
    let dest = zip.with_extension("msi");
    let mtime = plan.time.0;
    let versions = file_versions(staged);
    ui.busy(&format!("writing {}", dest.display()));
    let result = msi::write(&msi::MsiInput {
        zip,
        root_dir: plan
            .cfg
            .root_dir
            .unwrap_or(false)
            .then(|| plan.archive.trim_end_matches(".zip")),
        dest: &dest,
        product,
        service,
        autostart: plan.autostart.as_ref(),
        mtime,
        versions: &versions,
        pieces: Some(&archive.pieces),
    });
    ui.done();
    let written = result?;
    if let Some(signer) = &plan.signer {
        signer.sign(&dest)?;
        ui.stage("Signed", &format!("{}", dest.display()));
    }
    let digest = crate::package::digest(&crate::package::Source::File(dest.clone()))?;
    ui.stage(
        "Packaged",
        &format!("{} ({} KiB)", dest.display(), digest.size.div_ceil(1024)),
    );
    Ok(super::MsiOutcome {
        path: dest,
        sha256: digest.sha256,
        size: digest.size,
        product_code: msi::guid(written.product_code),
        upgrade_code: msi::guid(product.upgrade_code),
    })
}

/// The version resource of each staged PE file that has one, by its path in the
/// package (lower case): the MSI's File.Version.
fn file_versions(
    staged: &super::staging::Staged,
) -> std::collections::BTreeMap<String, crate::package::msi::FileVersion> {
    staged
        .pe_files
        .iter()
        .filter_map(|(name, path)| {
            let v = crate::pe::read_file(path).ok()?.version?;
            Some((
                name.replace('\\', "/").to_lowercase(),
                crate::package::msi::FileVersion {
                    version: v.file_version,
                    language: v.language,
                },
            ))
        })
        .collect()
}

/// What the zip's scripts do and this MSI does not (yet): said at every build, never
/// dropped silently.
fn msi_gaps(plan: &Plan, service: Option<&service::Service>) -> Vec<String> {
    let mut gaps = Vec::new();
    match &plan.autostart {
        Some(crate::autostart::Autostart::Task(_)) => gaps.push(
            "installs the files but does not register the scheduled task (Windows Installer has no table for tasks): run install.cmd from the install folder".to_string(),
        ),
        Some(crate::autostart::Autostart::RunKey { .. }) => gaps.push(
            "does not stop a running copy of the program at uninstall (install.cmd's uninstall does): Windows Installer asks to close it, or replaces the file at the next restart".to_string(),
        ),
        Some(crate::autostart::Autostart::Path { .. }) | None => {}
    }
    if let Some(svc) = service {
        let granted = crate::package::msi::grants_folders(svc);
        let folders = svc.writable_dirs();
        if !folders.is_empty() && !granted {
            gaps.push(format!(
                "creates the data and log folders but cannot grant them to {} (its SID is known only on the domain): grant them with icacls, or use install.cmd",
                svc.account.object_name(&svc.name)
            ));
        }
    }
    gaps
}

/// This target's files, for the winget and scoop manifests.
pub(super) fn release(
    plan: &Plan,
    archive: &crate::package::PackageOutcome,
    msi: Option<&super::MsiOutcome>,
) -> crate::package::publish::Release {
    let exe_in_zip = match plan.cfg.root_dir.unwrap_or(false) {
        true => format!(
            "{}/{}",
            plan.archive.trim_end_matches(".zip"),
            plan.exe_name
        ),
        false => plan.exe_name.clone(),
    };
    crate::package::publish::Release {
        arch: match plan.target.arch() {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            _ => "x86",
        },
        zip: archive.path.clone(),
        zip_sha256: archive.sha256.clone(),
        command: plan.exe_name.trim_end_matches(".exe").to_string(),
        exe_in_zip,
        msi: msi.map(|m| {
            (
                m.path.clone(),
                m.sha256.clone(),
                m.product_code.clone(),
                m.upgrade_code.clone(),
            )
        }),
        service: plan.service.is_some(),
        per_user: crate::package::msi::per_user(plan.autostart.as_ref()),
    }
}

/// Write each package's winget and scoop manifests (those with `[publish]`), from all
/// its targets' files, beside its first zip: `winget/` and `scoop/`.
pub(super) fn publish(
    outcomes: &[super::Outcome],
    ui: &dyn Listener,
) -> Result<Vec<std::path::PathBuf>, BuildError> {
    use crate::package::publish;
    let mut written = Vec::new();
    let mut names: Vec<&str> = outcomes.iter().map(|o| o.package.as_str()).collect();
    names.dedup();
    for name in names {
        let group: Vec<&(publish::Publish, publish::Release)> = outcomes
            .iter()
            .filter(|o| o.package == name)
            .filter_map(|o| o.release.as_ref())
            .collect();
        let Some((p, first)) = group.first() else {
            continue;
        };
        let releases: Vec<publish::Release> = group.iter().map(|(_, r)| r.clone()).collect();
        let dir = first
            .zip
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf();
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |source| BuildError::Package(crate::package::PackageError::Write { path, source })
        };
        match publish::winget(p, &releases) {
            Ok(files) => {
                for (file, text) in files {
                    let path = dir.join("winget").join(file);
                    publish::write_atomic(&path, &text).map_err(io(&path))?;
                    written.push(path);
                }
            }
            Err(why) => ui.warning(&format!("no winget manifest for {name}: {why}")),
        }
        let path = dir.join("scoop").join(format!("{name}.json"));
        let json =
            serde_json::to_string_pretty(&publish::scoop(p, &releases)).unwrap_or_default() + "\n";
        publish::write_atomic(&path, &json).map_err(io(&path))?;
        written.push(path);
        ui.stage(
            "Published",
            &format!("winget and scoop manifests for {name} in {}", dir.display()),
        );
    }
    Ok(written)
}
