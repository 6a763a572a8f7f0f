//! `cargo winpkg [--release]`: plan -> preflight -> build -> check -> stage -> package,
//! for each selected package. Each stage is a function returning data; progress goes to
//! the caller's [`Listener`].

pub mod cargo;
mod error;
mod files;
mod helpers;
mod notices;
mod options;
mod outcome;
pub mod plan;
mod prebuilt;
pub mod preflight;
pub mod sizing;
pub mod staging;
pub mod trust;

pub use error::BuildError;
pub use options::{BuildOptions, CargoFlags, ColorChoice};
pub use outcome::{Failure, MsiOutcome, Outcome, Summary};

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::autostart::service;
use crate::check::{self, CheckOptions, InputError, Report, Severity};
use crate::config::Builder;
use crate::events::Listener;
use crate::package::bundle;
use crate::package::{self, PackageError, PackageOutcome};
use plan::Plan;

fn elapsed(start: Instant) -> String {
    format!("{:.1}s", start.elapsed().as_secs_f64())
}

/// Run the whole pipeline for every selected package.
pub fn run(opts: &BuildOptions, ui: &dyn Listener) -> Result<Summary, BuildError> {
    if let Some(exe) = &opts.exe {
        return run_prebuilt(opts, exe, ui);
    }
    let meta = cargo::metadata(&opts.cargo)?;
    for w in plan::misspelled_tables(&meta.workspace_metadata, "workspace.metadata") {
        ui.warning(&w);
    }
    let packages = plan::select_packages(&meta, &opts.packages)?;
    for w in plan::skipped_members(&meta, &opts.packages) {
        ui.warning(&w);
    }
    for pkg in &packages {
        for w in plan::misspelled_tables(&pkg.metadata, "package.metadata") {
            ui.warning(&w);
        }
    }
    // Each target once, in the order given; none: the config's.
    let mut targets: Vec<Option<String>> = Vec::new();
    for t in &opts.targets {
        if !targets.iter().flatten().any(|x| x == t) {
            targets.push(Some(t.clone()));
        }
    }
    if targets.is_empty() {
        targets.push(None);
    }
    let several = targets.len() > 1;
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for pkg in packages {
        for target in &targets {
            let opts = BuildOptions {
                targets: target.iter().cloned().collect(),
                ..opts.clone()
            };
            let result =
                plan::plan(&opts, &meta, pkg).and_then(|plan| run_package(&opts, &plan, ui));
            match result {
                Ok(o) => outcomes.push(o),
                // With several targets, one that fails does not hide the others.
                Err(e) if several => {
                    let target = target.clone().unwrap_or_default();
                    ui.warning(&format!(
                        "{} for {target} stopped, the other targets go on: {e}",
                        pkg.name
                    ));
                    failed.push(Failure {
                        package: pkg.name.to_string(),
                        target,
                        error: e.to_string(),
                        exit_code: crate::Error::Build(Box::new(e)).exit_code(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }
    let manifests = helpers::publish(&outcomes, ui)?;
    let ok = failed.is_empty() && outcomes.iter().all(|o| !o.has_errors());
    Ok(Summary {
        packages: outcomes,
        failed,
        manifests,
        ok,
    })
}

/// `--exe PATH`: the prebuilt exe through the same plan, check and packaging.
fn run_prebuilt(opts: &BuildOptions, exe: &Path, ui: &dyn Listener) -> Result<Summary, BuildError> {
    let dir = std::env::current_dir().map_err(|e| BuildError::Prebuilt {
        path: PathBuf::from("."),
        why: format!("cannot read the current folder: {e}"),
    })?;
    let pre = prebuilt::describe(opts, exe, &dir)?;
    let Some(pkg) = pre.meta.packages.first() else {
        return Err(BuildError::NoBin(exe.display().to_string()));
    };
    let plan = plan::plan(opts, &pre.meta, pkg)?;
    let outcome = run_package(opts, &plan, ui)?;
    let outcomes = vec![outcome];
    let manifests = helpers::publish(&outcomes, ui)?;
    let ok = outcomes.iter().all(|o| !o.has_errors());
    Ok(Summary {
        packages: outcomes,
        failed: Vec::new(),
        manifests,
        ok,
    })
}

/// `cargo winpkg size [--try]`: build each selected package, then report where its
/// exe's bytes go, and with `try_levers` what each profile lever saves.
pub fn size(
    opts: &BuildOptions,
    try_levers: bool,
    ui: &dyn Listener,
) -> Result<Vec<sizing::SizeReport>, BuildError> {
    // Measuring signs nothing, so it needs no signing secrets.
    let opts = &BuildOptions {
        sign: Some(false),
        ..opts.clone()
    };
    let meta = cargo::metadata(&opts.cargo)?;
    let mut reports = Vec::new();
    for pkg in plan::select_packages(&meta, &opts.packages)? {
        let plan = plan::plan(opts, &meta, pkg)?;
        let exe = build(opts, &plan, ui)?;
        let breakdown = sizing::breakdown(&exe)
            .map_err(|e| BuildError::Input(vec![InputError::new(&exe, &e, None)]))?;
        let profile = opts.cargo.profile_name();
        let trials = if try_levers {
            sizing::trials(opts, &plan, &breakdown, ui)?
        } else {
            Vec::new()
        };
        reports.push(sizing::SizeReport {
            package: pkg.name.to_string(),
            unset_levers: sizing::unset_levers(&plan.workspace_manifest, &profile),
            profile,
            breakdown,
            trials,
        });
    }
    Ok(reports)
}

/// Build (or find) the exe, check it, and package it unless the check failed.
fn run_package(opts: &BuildOptions, plan: &Plan, ui: &dyn Listener) -> Result<Outcome, BuildError> {
    let pkg = plan.package;
    let exe = build(opts, plan, ui)?;
    if opts.exe.is_none() {
        // Cargo profile levers: for what cargo built.
        notices::size(opts, plan, &exe, ui);
    }
    let report = check_exe(plan, &exe, ui)?;
    let mut outcome = Outcome {
        package: pkg.name.to_string(),
        version: pkg.version.to_string(),
        target: plan.target.to_string(),
        bin: plan.bin.clone(),
        exe: exe.clone(),
        check: report,
        archive: None,
        msi: None,
        bundle_check: None,
        release: None,
    };
    if outcome.check.has_errors() && !opts.no_fail {
        return Ok(outcome); // stop before packaging; the caller exits with code 1
    }
    let start = Instant::now();
    clean_leftovers(opts, plan, ui);
    let service = service_model(plan, &outcome.check, ui)?;
    let (staged, extra) = stage_files(plan, &outcome.check, &exe, service.as_ref(), ui)?;
    notices::stamp(plan, &staged, ui);
    notices::signing(plan, &staged, ui);
    let bundle_failed = staged.report.has_errors();
    if bundle_failed {
        ui.error("the files to ship do not resolve as a bundle:");
        ui.report(&staged.report);
    }
    outcome.bundle_check = Some(staged.report.clone());
    if bundle_failed && !opts.no_fail {
        return Ok(outcome);
    }
    if !bundle_failed {
        notices::trust(&staged.report, ui);
    }
    let archive = write_package(opts, plan, &staged, service.as_ref(), &extra, ui)?;
    ui.stage(
        "Packaged",
        &format!(
            "{} ({} files, {} KiB) in {}",
            archive.path.display(),
            archive.files.len(),
            archive.size.div_ceil(1024),
            elapsed(start)
        ),
    );
    if let Some(product) = &plan.msi {
        outcome.msi = Some(helpers::write_msi(
            plan,
            product,
            &archive,
            &staged,
            service.as_ref(),
            ui,
        )?);
    }
    if let Some(p) = &plan.publish {
        outcome.release = Some((
            p.clone(),
            helpers::release(plan, &archive, outcome.msi.as_ref()),
        ));
    }
    outcome.archive = Some(archive);
    Ok(outcome)
}

/// Stage what ships beside the exe: its DLLs, shawl.exe for a wrapped service (and the
/// extra files it brings), the PATH helper for a command-line tool.
fn stage_files(
    plan: &Plan,
    check: &Report,
    exe: &Path,
    service: Option<&service::Service>,
    ui: &dyn Listener,
) -> Result<(staging::Staged, helpers::Extra), BuildError> {
    let mut dlls = bundle::resolved_dlls(check, exe);
    dlls.extend(plan.bundle_dlls.iter().cloned());
    let dispatcher = check.files.first().is_some_and(|f| f.service_dispatcher);
    let (shawl, extra) = helpers::wrapper(plan, service, dispatcher, ui)?;
    let mut beside: Vec<(String, PathBuf)> =
        shawl.map(|s| ("shawl.exe".into(), s)).into_iter().collect();
    if let Some(crate::autostart::Autostart::Path { .. }) = &plan.autostart {
        beside.push((
            crate::autostart::PATH_HELPER.into(),
            helpers::path_helper(plan)?,
        ));
    }
    let files = staging::pe_files(plan, exe, &dlls, beside);
    Ok((staging::stage(plan, &files)?, extra))
}

/// Runs killed before they finished left temporary zips and staging folders.
fn clean_leftovers(opts: &BuildOptions, plan: &Plan, ui: &dyn Listener) {
    for dir in [Some(&plan.winpkg_dir), opts.output.as_ref()]
        .into_iter()
        .flatten()
    {
        let n = package::leftovers::clean(dir);
        if n > 0 {
            ui.stage(
                "Removed",
                &format!("{n} leftover(s) of interrupted runs in {}", dir.display()),
            );
        }
    }
}

/// The exe: built by cargo, or (`--no-build`) the one already in the target folder.
fn build(opts: &BuildOptions, plan: &Plan, ui: &dyn Listener) -> Result<PathBuf, BuildError> {
    let start = Instant::now();
    let using = |exe: &Path| {
        let shipped = match exe.file_name() {
            Some(n) if n.to_string_lossy() != plan.exe_name => {
                format!(" (shipped as {})", plan.exe_name)
            }
            _ => String::new(),
        };
        ui.stage("Using", &format!("{}{shipped}", exe.display()));
    };
    if let Some(exe) = &opts.exe {
        using(exe);
        return Ok(exe.clone());
    }
    if opts.no_build {
        // Cargo's file, whatever `exe-name` ships it as.
        let exe = plan.out_dir.join(format!("{}.exe", plan.bin));
        if !exe.is_file() {
            return Err(BuildError::NotBuilt {
                bin: plan.bin.clone(),
                path: exe,
            });
        }
        using(&exe);
        return Ok(exe);
    }
    let pkg = plan.package;
    preflight::check(&plan.target, plan.builder, &plan.manifest_dir).map_err(|missing| {
        BuildError::Preflight {
            package: pkg.name.to_string(),
            target: plan.target.to_string(),
            missing,
        }
    })?;
    // MinGW's dlltool, which rustc runs for raw-dylib imports (windows-sys, windows),
    // splits its paths at spaces: such builds fail in a folder with one.
    if plan.target.env() == crate::target::Env::Gnu && plan.out_dir.to_string_lossy().contains(' ')
    {
        ui.warning(&format!(
            "the target folder {} has a space in its path: MinGW's dlltool (which rustc runs for crates using raw-dylib, such as windows-sys) fails there; if the build fails, pass a --target-dir without spaces",
            plan.out_dir.display()
        ));
    }
    ui.stage(
        "Building",
        &format!(
            "{} v{} (bin `{}`) for {}, {} profile{}",
            pkg.name,
            pkg.version,
            plan.bin,
            plan.target,
            opts.cargo.profile_name(),
            if plan.builder == Builder::Cargo {
                String::new()
            } else {
                format!(" via {}", plan.builder)
            }
        ),
    );
    let exe = cargo::build(&plan.build_plan(&opts.cargo), ui)?;
    ui.stage("Built", &format!("{} in {}", exe.display(), elapsed(start)));
    Ok(exe)
}

/// The DLL check of the exe, resolving from `dll-dirs` and the MinGW runtime.
fn check_exe(plan: &Plan, exe: &Path, ui: &dyn Listener) -> Result<Report, BuildError> {
    let start = Instant::now();
    let mut dll_dirs: Vec<PathBuf> = plan
        .cfg
        .dll_dirs
        .iter()
        .flatten()
        .map(|d| package::clean_path(&plan.manifest_dir.join(d)))
        .collect();
    if plan.cfg.bundle_mingw_runtime.unwrap_or(true) {
        dll_dirs.extend(bundle::mingw_runtime_dirs(&plan.target));
    }
    let options = CheckOptions {
        policy: plan.policy.clone(),
        dll_dirs,
        host: plan.cfg.host,
    };
    let mut report = check::check(std::slice::from_ref(&exe.to_path_buf()), &options)
        .require_readable()
        .map_err(BuildError::Input)?;
    // Signature, version info and the like are judged on the files as they ship
    // (stamped, signed), after staging: see `report_trust`.
    report.diagnostics.retain(|d| !d.code.is_hygiene());
    let count = crate::words::count;
    ui.stage(
        "Checked",
        &format!(
            "{}: {}, {} in {}",
            count(report.files.len(), "file"),
            count(report.count(Severity::Error), "error"),
            count(report.count(Severity::Warning), "warning"),
            elapsed(start)
        ),
    );
    ui.report(&report);
    Ok(report)
}

/// The service model, now that the exe's dispatcher import is known.
fn service_model(
    plan: &Plan,
    report: &Report,
    ui: &dyn Listener,
) -> Result<Option<service::Service>, BuildError> {
    let (Some(sc), Some(planned)) = (&plan.cfg.service, &plan.service) else {
        return Ok(None);
    };
    let dispatcher = report.files.first().is_some_and(|f| f.service_dispatcher);
    let origin = plan.cfg.origin_of("service", &plan.origin);
    let mut svc = planned.base.clone();
    let settled = service::settle(&mut svc, sc, Some(dispatcher), origin)?;
    for a in planned.advice.iter().chain(&settled) {
        ui.warning(&format!(
            "{} {}: {}",
            origin.kind.table("service"),
            a.key,
            a.message
        ));
    }
    Ok(Some(svc))
}

/// Write the zip from the staged files.
fn write_package(
    opts: &BuildOptions,
    plan: &Plan,
    staged: &staging::Staged,
    service: Option<&service::Service>,
    extra: &[(String, PathBuf)],
    ui: &dyn Listener,
) -> Result<PackageOutcome, BuildError> {
    let mut includes = plan.includes.clone();
    includes.extend(extra.iter().cloned());
    let out_dir = opts.output.clone().unwrap_or(plan.winpkg_dir.clone());
    let dest = out_dir.join(&plan.archive);
    // Scripts are signed as files in the staging folder, then shipped from memory.
    let sign_script = |name: &str, bytes: Vec<u8>| -> Result<Vec<u8>, PackageError> {
        let Some(signer) = &plan.signer else {
            return Ok(bytes);
        };
        let path = staged.dir.path().join(name);
        let io = |source| PackageError::ScriptFile {
            path: path.clone(),
            source,
        };
        std::fs::write(&path, &bytes).map_err(io)?;
        signer
            .sign(&path)
            .map_err(|e| PackageError::Sign(Box::new(e)))?;
        std::fs::read(&path).map_err(io)
    };
    if plan.time.1 == package::TimeSource::Default {
        ui.stage(
            "Note",
            "the files are dated 1980-01-01: set SOURCE_DATE_EPOCH, or build from a git repository (its last commit's time is used)",
        );
    }
    ui.busy(&format!("packaging {}", plan.archive));
    let result = package::write(&package::Input {
        name: plan.package.name.as_str(),
        version: &plan.package.version.to_string(),
        target: plan.target.triple(),
        manifest_dir: &plan.manifest_dir,
        includes: &includes,
        pe_files: &staged.pe_files,
        service,
        autostart: plan.autostart.as_ref(),
        check: &staged.report,
        root_dir: plan
            .cfg
            .root_dir
            .unwrap_or(false)
            .then(|| plan.archive.trim_end_matches(".zip").to_string()),
        dest: &dest,
        mtime: plan.time.0,
        sign_script: plan
            .signer
            .is_some()
            .then_some(&sign_script as &package::ScriptSigner),
    });
    ui.done();
    Ok(result?)
}
