//! `cargo winpkg [--release]`: plan -> preflight -> build -> check -> stage -> package,
//! for each selected package. Each stage is a function returning data; progress goes to
//! the caller's [`Listener`].

pub mod cargo;
mod files;
pub mod plan;
pub mod preflight;
pub mod size;
pub mod stage;
mod summary;
pub mod trust;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::autostart::service::{self, Mode};
use crate::check::{self, CheckOptions, InputError, Report, Severity};
use crate::config::{Builder, ConfigError};
use crate::events::Listener;
use crate::package::bundle::{self, BundleError, Shawl};
use crate::package::{self, PackageError, PackageOutcome};
use plan::Plan;

/// `--color`, as cargo takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// The flags forwarded to cargo.
#[derive(Debug, Clone, Default)]
pub struct CargoFlags {
    pub release: bool,
    pub profile: Option<String>,
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    pub manifest_path: Option<PathBuf>,
    pub target_dir: Option<PathBuf>,
    pub locked: bool,
    pub frozen: bool,
    pub offline: bool,
    /// `--config KEY=VALUE` (or a file).
    pub config: Vec<String>,
    pub verbose: u8,
    pub quiet: bool,
    pub color: ColorChoice,
}

impl CargoFlags {
    /// The profile, as cargo calls it: `release`, `dev`, or a custom one.
    pub fn profile_name(&self) -> String {
        match (&self.profile, self.release) {
            (Some(p), _) => p.clone(),
            (None, true) => "release".into(),
            (None, false) => "dev".into(),
        }
    }

    /// The profile's output folder name, as cargo names it.
    pub fn profile_dir(&self) -> String {
        match self.profile.as_deref() {
            Some("dev") | Some("test") => "debug".into(),
            Some("bench") => "release".into(),
            Some(p) => p.into(),
            None if self.release => "release".into(),
            None => "debug".into(),
        }
    }
}

/// What `cargo winpkg` was asked to do, validated (the CLI builds it from argv).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub cargo: CargoFlags,
    /// Overrides `target` from the config.
    pub target: Option<String>,
    /// `-p`: the packages to build.
    pub packages: Vec<String>,
    /// Overrides `bin` from the config.
    pub bin: Option<String>,
    /// Use the exe already built.
    pub no_build: bool,
    /// The folder for the zip (default `<target-dir>/winpkg`).
    pub output: Option<PathBuf>,
    /// Package even when the check finds errors.
    pub no_fail: bool,
    /// `--sign` (Some(true)) / `--no-sign` (Some(false)); None: sign when the config
    /// has a sign table.
    pub sign: Option<bool>,
    pub builder: Option<Builder>,
}

/// Why a build run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cargo metadata failed: {0}")]
    Metadata(String),
    #[error("package `{spec}` is not a member of the workspace; the members are: {members}")]
    NoSuchPackage { spec: String, members: String },
    #[error(
        "this is a virtual workspace and no member has a [package.metadata.winpkg] table; pick one with -p ({members})"
    )]
    NoTableInWorkspace { members: String },
    #[error("{from} names `{bin}`, which is not a binary of package `{package}`; {choices}")]
    NoSuchBin {
        from: &'static str,
        bin: String,
        package: String,
        choices: String,
    },
    #[error("package `{0}` has no binary target to package")]
    NoBin(String),
    #[error(
        "package `{package}` has several binaries; choose one with --bin or `bin = \"...\"` in [package.metadata.winpkg] ({choices})"
    )]
    SeveralBins { package: String, choices: String },
    #[error("archive-name `{0}` must be a file name, not a path (use --output for the folder)")]
    ArchivePath(String),
    #[error("archive-name: {0}")]
    ArchiveName(PackageError),
    #[error("cannot build {package} for {target}: {missing}")]
    Preflight {
        package: String,
        target: String,
        missing: preflight::Missing,
    },
    #[error(
        "--no-build: there is no built {bin} (expected {}); run without --no-build first",
        path.display()
    )]
    NotBuilt { bin: String, path: PathBuf },
    #[error("cannot run {0}: {1}")]
    Spawn(String, std::io::Error),
    /// Cargo (or the compiler) failed and said why: exit with its code.
    #[error("cargo build failed (exit code {0})")]
    Cargo(i32),
    #[error("cargo finished but reported no executable for bin `{0}`")]
    NoArtifact(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// PE files the check could not read.
    #[error("{}", check::describe_input_errors(.0))]
    Input(Vec<InputError>),
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    Package(#[from] PackageError),
    #[error("{0}")]
    Stamp(#[from] crate::package::stamp::StampError),
    #[error("{0}")]
    Sign(#[from] crate::package::sign::SignError),
    #[error(
        "--sign: package `{0}` has no [package.metadata.winpkg.sign] table saying where the key is (see the README, Signing)"
    )]
    NoSignTable(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl BuildError {
    /// For `map_err`: an I/O error while doing `action` to `path`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
        let path = path.to_path_buf();
        move |source| BuildError::Io {
            action,
            path,
            source,
        }
    }
}

/// One package's result, also the JSON summary's entries.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub package: String,
    pub version: String,
    pub target: String,
    pub bin: String,
    pub exe: PathBuf,
    /// The DLL check of the exe (and the DLLs it resolved to).
    pub check: Report,
    /// The zip, when one was written.
    pub archive: Option<PackageOutcome>,
    /// The check of everything the zip ships, staged as it will be extracted.
    pub bundle_check: Option<Report>,
}

impl Outcome {
    pub fn has_errors(&self) -> bool {
        self.check.has_errors() || self.bundle_check.as_ref().is_some_and(Report::has_errors)
    }
}

/// What the whole run did.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub packages: Vec<Outcome>,
    /// No error-level diagnostic anywhere.
    pub ok: bool,
}

fn elapsed(start: Instant) -> String {
    format!("{:.1}s", start.elapsed().as_secs_f64())
}

/// Run the whole pipeline for every selected package.
pub fn run(opts: &BuildOptions, ui: &dyn Listener) -> Result<Summary, BuildError> {
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
    let mut outcomes = Vec::new();
    for pkg in packages {
        let plan = plan::plan(opts, &meta, pkg)?;
        outcomes.push(run_package(opts, &plan, ui)?);
    }
    let ok = outcomes.iter().all(|o| !o.has_errors());
    Ok(Summary {
        packages: outcomes,
        ok,
    })
}

/// `cargo winpkg size [--try]`: build each selected package, then report where its
/// exe's bytes go, and with `try_levers` what each profile lever saves.
pub fn size(
    opts: &BuildOptions,
    try_levers: bool,
    ui: &dyn Listener,
) -> Result<Vec<size::SizeReport>, BuildError> {
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
        let breakdown = size::breakdown(&exe)
            .map_err(|e| BuildError::Input(vec![InputError::new(&exe, &e, None)]))?;
        let profile = opts.cargo.profile_name();
        let trials = if try_levers {
            size::trials(opts, &plan, &breakdown, ui)?
        } else {
            Vec::new()
        };
        reports.push(size::SizeReport {
            package: pkg.name.to_string(),
            unset_levers: size::unset_levers(&plan.workspace_manifest, &profile),
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
    summary::size(opts, plan, &exe, ui);
    let report = check_exe(plan, &exe, ui)?;
    let mut outcome = Outcome {
        package: pkg.name.to_string(),
        version: pkg.version.to_string(),
        target: plan.target.to_string(),
        bin: plan.bin.clone(),
        exe: exe.clone(),
        check: report,
        archive: None,
        bundle_check: None,
    };
    if outcome.check.has_errors() && !opts.no_fail {
        return Ok(outcome); // stop before packaging; the caller exits with code 1
    }
    let start = Instant::now();
    clean_leftovers(opts, plan, ui);
    let service = service_model(plan, &outcome.check, ui)?;
    let mut dlls = bundle::resolved_dlls(&outcome.check, &exe);
    dlls.extend(plan.bundle_dlls.iter().cloned());
    let dispatcher = outcome
        .check
        .files
        .first()
        .is_some_and(|f| f.service_dispatcher);
    let (shawl, extra) = wrapper(plan, service.as_ref(), dispatcher, ui)?;
    let mut helpers: Vec<(String, PathBuf)> =
        shawl.map(|s| ("shawl.exe".into(), s)).into_iter().collect();
    if let Some(crate::autostart::Autostart::Path { .. }) = &plan.autostart {
        helpers.push((crate::autostart::PATH_HELPER.into(), path_helper(plan)?));
    }
    let files = stage::pe_files(plan, &exe, &dlls, helpers);
    let staged = stage::stage(plan, &files)?;
    summary::stamp(plan, &staged, ui);
    summary::signing(plan, &staged, ui);
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
        summary::trust(&staged.report, ui);
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
    outcome.archive = Some(archive);
    Ok(outcome)
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

/// The PATH helper for the target, written once into the winpkg folder (atomically, and
/// again only when its bytes changed), so it is staged, signed and checked like every
/// other PE file that ships.
fn path_helper(plan: &Plan) -> Result<PathBuf, BuildError> {
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
type Extra = Vec<(String, PathBuf)>;

/// shawl.exe and its licence for a wrapped service, saying why it is wrapped; for a
/// crate without a service table, a note that it ships as a plain program.
fn wrapper(
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

/// The exe: built by cargo, or (`--no-build`) the one already in the target folder.
fn build(opts: &BuildOptions, plan: &Plan, ui: &dyn Listener) -> Result<PathBuf, BuildError> {
    let start = Instant::now();
    if opts.no_build {
        let exe = plan.out_dir.join(&plan.exe_name);
        if !exe.is_file() {
            return Err(BuildError::NotBuilt {
                bin: plan.bin.clone(),
                path: exe,
            });
        }
        ui.stage("Using", &exe.display().to_string());
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
    ui.stage(
        "Checked",
        &format!(
            "{} file(s): {} error(s), {} warning(s) in {}",
            report.files.len(),
            report.count(Severity::Error),
            report.count(Severity::Warning),
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
    let Some(sc) = &plan.cfg.service else {
        return Ok(None);
    };
    let dispatcher = report.files.first().is_some_and(|f| f.service_dispatcher);
    let origin = plan.cfg.origin_of("service", &plan.origin);
    let (svc, advice) = service::from_config(sc, &plan.exe_name, Some(dispatcher), origin)?;
    for a in &advice {
        ui.warning(&format!(
            "[package.metadata.winpkg.service] {}: {}",
            a.key, a.message
        ));
    }
    Ok(Some(svc))
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

/// Write the zip from the staged files.
fn write_package(
    opts: &BuildOptions,
    plan: &Plan,
    staged: &stage::Staged,
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
        let io = |e: std::io::Error| PackageError::Sign(format!("{}: {e}", path.display()));
        std::fs::write(&path, &bytes).map_err(io)?;
        signer
            .sign(&path)
            .map_err(|e| PackageError::Sign(e.to_string()))?;
        std::fs::read(&path).map_err(io)
    };
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
        sign_script: plan
            .signer
            .is_some()
            .then_some(&sign_script as &package::ScriptSigner),
    });
    ui.done();
    Ok(result?)
}
