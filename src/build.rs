//! `cargo winpkg [--release]`: plan from cargo metadata and the config, preflight,
//! build, check, (package). Each stage prints one line with its elapsed time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cargo_metadata::{Metadata, Package};
use serde::Serialize;

use crate::cargo::{self, BuildPlan, CargoError};
use crate::check::{self, CheckOptions, Report};
use crate::cli::{BuildArgs, BuildFormat};
use crate::config::{self, Builder, Config, ConfigError, Origin};
use crate::preflight;
use crate::{bundle, service};

/// How a build run ends; main maps it to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Usage or input error: exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Cargo failed and printed why: exit with its code.
    #[error("cargo build failed")]
    Cargo(i32),
    /// An input PE file could not be read: exit code 2.
    #[error("{0}")]
    Input(String),
    /// The package could not be written.
    #[error("{0}")]
    Package(#[from] crate::package::PackageError),
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Cargo(code) => *code,
            _ => 2,
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

#[derive(Debug, Serialize)]
pub struct PackageOutcome {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// Every entry of the zip, sorted.
    pub files: Vec<String>,
    /// The service mode, when the package installs a service.
    pub service_mode: Option<crate::service::Mode>,
}

/// What the whole run did.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub packages: Vec<Outcome>,
    /// No error-level diagnostic anywhere.
    pub ok: bool,
}

/// Stage lines on stderr, in cargo's style: right-aligned verb, then the subject.
struct Stages {
    quiet: bool,
    color: bool,
}

impl Stages {
    fn line(&self, verb: &str, text: &str) {
        if self.quiet {
            return;
        }
        if self.color {
            let style = anstyle::Style::new()
                .fg_color(Some(anstyle::AnsiColor::Green.into()))
                .effects(anstyle::Effects::BOLD);
            eprintln!(
                "{}{verb:>12}{} {text}",
                style.render(),
                style.render_reset()
            );
        } else {
            eprintln!("{verb:>12} {text}");
        }
    }

    /// A spinner for a stage that may take a while, on a terminal only (CI logs get the
    /// plain stage lines).
    fn spinner(&self, text: &str) -> Option<indicatif::ProgressBar> {
        use std::io::IsTerminal;
        if self.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(text.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    }
}

fn elapsed(start: Instant) -> String {
    format!("{:.1}s", start.elapsed().as_secs_f64())
}

/// The packages to build: `-p` picks; else the root package; else (a virtual
/// manifest) every member with a `[package.metadata.winpkg]` table.
pub fn select_packages<'m>(
    meta: &'m Metadata,
    specs: &[String],
) -> Result<Vec<&'m Package>, Failure> {
    let members = meta.workspace_packages();
    if !specs.is_empty() {
        let mut out = Vec::new();
        for spec in specs {
            let name = spec.split('@').next().unwrap_or(spec);
            match members.iter().find(|p| p.name.as_str() == name) {
                Some(p) => out.push(*p),
                None => {
                    let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
                    return Err(Failure::Usage(format!(
                        "package `{spec}` is not a member of the workspace; the members are: {}",
                        names.join(", ")
                    )));
                }
            }
        }
        return Ok(out);
    }
    if let Some(root) = meta.root_package() {
        return Ok(vec![root]);
    }
    let with_table: Vec<&Package> = members
        .iter()
        .copied()
        .filter(|p| p.metadata.get("winpkg").is_some())
        .collect();
    if with_table.is_empty() {
        let names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
        return Err(Failure::Usage(format!(
            "this is a virtual workspace and no member has a [package.metadata.winpkg] table; pick one with -p ({})",
            names.join(", ")
        )));
    }
    Ok(with_table)
}

/// The package's configuration over the workspace defaults.
pub fn package_config(meta: &Metadata, pkg: &Package) -> Result<Config, ConfigError> {
    let manifest = pkg.manifest_path.as_std_path();
    let own = match pkg.metadata.get("winpkg") {
        Some(v) => config::parse(v, manifest, Origin::Package)?,
        None => Config::default(),
    };
    let ws = match meta.workspace_metadata.get("winpkg") {
        Some(v) => {
            let root_manifest = meta.workspace_root.as_std_path().join("Cargo.toml");
            config::parse(v, &root_manifest, Origin::Workspace)?
        }
        None => Config::default(),
    };
    Ok(own.merged_over(&ws))
}

/// The package's `[[bin]]` targets, in manifest order.
pub fn bin_names(pkg: &Package) -> Vec<&str> {
    pkg.targets
        .iter()
        .filter(|t| t.is_bin())
        .map(|t| t.name.as_str())
        .collect()
}

/// Which `[[bin]]` to package: --bin, then `bin`, then the only one, then default-run.
pub fn select_bin(pkg: &Package, cli: Option<&str>, cfg: Option<&str>) -> Result<String, Failure> {
    let bins = bin_names(pkg);
    let choices = || {
        if bins.is_empty() {
            "it has none".to_string()
        } else {
            format!("its binaries are: {}", bins.join(", "))
        }
    };
    let wanted = cli
        .map(|b| (b, "--bin"))
        .or(cfg.map(|b| (b, "`bin` in [package.metadata.winpkg]")));
    if let Some((b, from)) = wanted {
        if bins.contains(&b) {
            return Ok(b.to_string());
        }
        return Err(Failure::Usage(format!(
            "{from} names `{b}`, which is not a binary of package `{}`; {}",
            pkg.name,
            choices()
        )));
    }
    match bins.as_slice() {
        [only] => Ok(only.to_string()),
        [] => Err(Failure::Usage(format!(
            "package `{}` has no binary target to package",
            pkg.name
        ))),
        _ => match &pkg.default_run {
            Some(d) => Ok(d.clone()),
            None => Err(Failure::Usage(format!(
                "package `{}` has several binaries; choose one with --bin or `bin = \"...\"` in [package.metadata.winpkg] ({})",
                pkg.name,
                choices()
            ))),
        },
    }
}

/// The profile's output folder name, as cargo names it.
fn profile_dir(args: &BuildArgs) -> String {
    match args.profile.as_deref() {
        Some("dev") | Some("test") => "debug".into(),
        Some("bench") => "release".into(),
        Some(p) => p.into(),
        None if args.release => "release".into(),
        None => "debug".into(),
    }
}

/// Run the whole pipeline for every selected package.
pub fn run(args: &BuildArgs, color: bool) -> Result<Summary, Failure> {
    let stages = Stages {
        quiet: args.quiet,
        color,
    };
    let meta = cargo::metadata(args).map_err(|e| Failure::Usage(e.to_string()))?;
    let packages = select_packages(&meta, &args.packages)?;
    let mut outcomes = Vec::new();
    for pkg in packages {
        outcomes.push(run_package(args, &meta, pkg, &stages, color)?);
    }
    let ok = outcomes
        .iter()
        .all(|o| !o.check.has_errors() && !o.bundle_check.as_ref().is_some_and(Report::has_errors));
    Ok(Summary {
        packages: outcomes,
        ok,
    })
}

fn run_package(
    args: &BuildArgs,
    meta: &Metadata,
    pkg: &Package,
    stages: &Stages,
    color: bool,
) -> Result<Outcome, Failure> {
    let manifest = pkg.manifest_path.as_std_path();
    let manifest_dir = manifest.parent().unwrap_or(Path::new("."));
    let cfg = package_config(meta, pkg)?;
    let policy = cfg.policy(manifest)?;
    let target = args
        .target
        .clone()
        .or(cfg.target.clone())
        .unwrap_or_else(|| config::DEFAULT_TARGET.to_string());
    let bin = select_bin(pkg, args.bin.as_deref(), cfg.bin.as_deref())?;
    let builder = args.builder.or(cfg.builder).unwrap_or(Builder::Cargo);
    let crt_static = cfg.crt_static.unwrap_or(true) && target.ends_with("-windows-msvc");
    let exe_name = format!("{bin}.exe");
    // Validate the service table before a long build; the mode is settled after it.
    if let Some(sc) = &cfg.service {
        service::from_config(sc, &exe_name, None, manifest)?;
    }
    let archive = archive_file_name(&cfg, pkg, &target, &bin, manifest)?;

    let start = Instant::now();
    let exe = if args.no_build {
        let target_dir = args
            .target_dir
            .clone()
            .unwrap_or_else(|| meta.target_directory.clone().into_std_path_buf());
        let exe = target_dir
            .join(&target)
            .join(profile_dir(args))
            .join(format!("{bin}.exe"));
        if !exe.is_file() {
            return Err(Failure::Usage(format!(
                "--no-build: there is no built {} (expected {}); run without --no-build first",
                bin,
                exe.display()
            )));
        }
        stages.line("Using", &exe.display().to_string());
        exe
    } else {
        preflight::check(&target, builder, manifest_dir)
            .map_err(|m| Failure::Usage(format!("cannot build {} for {target}: {m}", pkg.name)))?;
        stages.line(
            "Building",
            &format!(
                "{} v{} (bin `{bin}`) for {target}, {} profile{}",
                pkg.name,
                pkg.version,
                profile_dir(args),
                if builder == Builder::Cargo {
                    String::new()
                } else {
                    format!(" via {}", builder.as_str())
                }
            ),
        );
        let plan = BuildPlan {
            args,
            package: &pkg.name,
            bin: &bin,
            target: &target,
            builder,
            crt_static,
            manifest,
        };
        let exe = cargo::build(&plan).map_err(|e| match e {
            CargoError::BuildFailed(code) => Failure::Cargo(code),
            CargoError::Other(m) => Failure::Usage(m),
        })?;
        stages.line("Built", &format!("{} in {}", exe.display(), elapsed(start)));
        exe
    };

    let start = Instant::now();
    let mut dll_dirs: Vec<PathBuf> = cfg
        .dll_dirs
        .iter()
        .flatten()
        .map(|d| manifest_dir.join(d))
        .collect();
    if cfg.bundle_mingw_runtime.unwrap_or(true) {
        dll_dirs.extend(bundle::mingw_runtime_dirs(&target));
    }
    let options = CheckOptions {
        policy: policy.clone(),
        dll_dirs,
    };
    let report = check::check(std::slice::from_ref(&exe), &options).map_err(input_failure)?;
    stages.line(
        "Checked",
        &format!(
            "{} file(s): {} error(s), {} warning(s) in {}",
            report.files.len(),
            report.count(crate::policy::Severity::Error),
            report.count(crate::policy::Severity::Warning),
            elapsed(start)
        ),
    );
    if args.format == BuildFormat::Human {
        print_report(&report, color);
    }
    let mut outcome = Outcome {
        package: pkg.name.to_string(),
        version: pkg.version.to_string(),
        target: target.clone(),
        bin,
        exe: exe.clone(),
        check: report,
        archive: None,
        bundle_check: None,
    };
    if outcome.check.has_errors() && !args.no_fail {
        return Ok(outcome); // stop before packaging; main reports exit code 1
    }

    // Package.
    let start = Instant::now();
    let dispatcher = outcome
        .check
        .files
        .first()
        .is_some_and(|f| f.service_dispatcher);
    let (service, advice) = match &cfg.service {
        Some(sc) => {
            let (svc, advice) = service::from_config(sc, &exe_name, Some(dispatcher), manifest)?;
            (Some(svc), advice)
        }
        None => (None, Vec::new()),
    };
    for a in &advice {
        eprintln!(
            "warning: [package.metadata.winpkg.service] {}: {}",
            a.key, a.message
        );
    }
    let mut dlls = bundle::resolved_dlls(&outcome.check, &exe);
    let globs = cfg.bundle_dlls.clone().unwrap_or_default();
    dlls.extend(
        bundle::expand_globs(manifest_dir, &globs)
            .map_err(|m| Failure::Usage(format!("bundle-dlls: {m}")))?,
    );
    let target_dir = args
        .target_dir
        .clone()
        .unwrap_or_else(|| meta.target_directory.clone().into_std_path_buf());
    let winpkg_dir = target_dir.join("winpkg");
    let shawl = match &service {
        Some(svc) if svc.mode == service::Mode::Shawl => {
            let configured = cfg
                .service
                .as_ref()
                .and_then(|s| s.shawl.as_ref())
                .map(|p| manifest_dir.join(p));
            Some(
                bundle::shawl_exe(&target, configured.as_deref(), &winpkg_dir)
                    .map_err(Failure::Usage)?,
            )
        }
        _ => None,
    };

    // Stage the PE files as they will be extracted, and check the bundle as a whole:
    // only DLLs inside it count.
    std::fs::create_dir_all(&winpkg_dir)
        .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", winpkg_dir.display())))?;
    let stage = tempfile::Builder::new()
        .prefix(".stage-")
        .tempdir_in(&winpkg_dir)
        .map_err(|e| {
            Failure::Usage(format!(
                "cannot create a staging folder in {}: {e}",
                winpkg_dir.display()
            ))
        })?;
    let mut pe_files: Vec<(String, PathBuf)> = vec![(exe_name.clone(), exe.clone())];
    for d in &dlls {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if pe_files.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            continue;
        }
        pe_files.push((name, d.clone()));
    }
    if let Some(s) = &shawl {
        pe_files.push(("shawl.exe".into(), s.clone()));
    }
    let mut staged = Vec::new();
    for (name, src) in &pe_files {
        let dst = stage.path().join(name);
        std::fs::copy(src, &dst).map_err(|e| {
            Failure::Usage(format!(
                "cannot copy {} to {}: {e}",
                src.display(),
                dst.display()
            ))
        })?;
        staged.push(dst);
    }
    if cfg.strip_bundled_dlls.unwrap_or(false) {
        for dst in staged.iter().skip(1) {
            bundle::strip_debug(dst, &target).map_err(Failure::Usage)?;
        }
    }
    // From here on the staged copies are what is checked and what ships.
    let pe_files: Vec<(String, PathBuf)> = pe_files
        .iter()
        .zip(&staged)
        .map(|((name, _), dst)| (name.clone(), dst.clone()))
        .collect();
    let bundle_report = check::check(
        &staged,
        &CheckOptions {
            policy,
            dll_dirs: Vec::new(),
        },
    )
    .map_err(input_failure)?;
    let bundle_failed = bundle_report.has_errors();
    if bundle_failed && args.format == BuildFormat::Human {
        eprintln!("error: the files to ship do not resolve as a bundle:");
        print_report(&bundle_report, color);
    }
    outcome.bundle_check = Some(bundle_report);
    if bundle_failed && !args.no_fail {
        return Ok(outcome);
    }

    let out_dir = args.output.clone().unwrap_or(winpkg_dir);
    let dest = out_dir.join(&archive);
    let spinner = stages.spinner(&format!("packaging {archive}"));
    let pkg_outcome = crate::assemble::write(&crate::assemble::Input {
        name: pkg.name.as_str(),
        version: &pkg.version.to_string(),
        target: &target,
        manifest_dir,
        cfg: &cfg,
        pe_files: &pe_files,
        service: service.as_ref(),
        check: outcome.bundle_check.as_ref().unwrap_or(&outcome.check),
        root_dir: cfg
            .root_dir
            .unwrap_or(false)
            .then(|| archive.trim_end_matches(".zip").to_string()),
        dest: &dest,
    });
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    let pkg_outcome = pkg_outcome?;
    stages.line(
        "Packaged",
        &format!(
            "{} ({} files, {} KiB) in {}",
            pkg_outcome.path.display(),
            pkg_outcome.files.len(),
            pkg_outcome.size.div_ceil(1024),
            elapsed(start)
        ),
    );
    outcome.archive = Some(pkg_outcome);
    Ok(outcome)
}

/// PE files the check could not read, as one failure naming each.
fn input_failure(errors: Vec<check::InputError>) -> Failure {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| match &e.needed_by {
            Some(by) => format!("{e} (needed by {})", by.display()),
            None => e.to_string(),
        })
        .collect();
    Failure::Input(lines.join("\n"))
}

fn print_report(report: &Report, color: bool) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = crate::report::write(report, crate::report::Format::Human, color, &mut out);
}

/// `archive-name` with its placeholders filled in, plus `.zip`.
fn archive_file_name(
    cfg: &Config,
    pkg: &Package,
    target: &str,
    bin: &str,
    manifest: &Path,
) -> Result<String, Failure> {
    let template = cfg
        .archive_name
        .as_deref()
        .unwrap_or("{name}-{version}-{target}");
    let mut name = template
        .replace("{name}", &pkg.name)
        .replace("{version}", &pkg.version.to_string())
        .replace("{target}", target)
        .replace("{bin}", bin);
    if let Some(bad) = ["{", "}"].iter().find(|b| name.contains(**b)) {
        return Err(Failure::Config(ConfigError::at(
            manifest,
            &std::fs::read_to_string(manifest).unwrap_or_default(),
            "package.metadata.winpkg.archive-name".into(),
            format!("`{template}` has an unknown placeholder (`{bad}` left over)"),
            Some("the placeholders are {name}, {version}, {target} and {bin}".into()),
        )));
    }
    if !name.to_ascii_lowercase().ends_with(".zip") {
        name.push_str(".zip");
    }
    if name.contains('/') {
        return Err(Failure::Usage(format!(
            "archive-name `{name}` must be a file name, not a path (use --output for the folder)"
        )));
    }
    crate::package::check_name(&name).map_err(|e| Failure::Usage(format!("archive-name: {e}")))?;
    Ok(name)
}
