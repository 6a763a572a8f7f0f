//! `cargo winpkg verify ZIP|MSI [--wine]`: re-check a package offline (names, checksums,
//! manifest, DLL closure), and with `--wine` install and run it on Wine's real service
//! control manager, then uninstall it.
//!
//! Each step is a check (it can fail) or an info step (it records what was done, such
//! as creating the prefix; when it cannot be done the whole run stops with an error).
//! Only checks count as "passed".
//!
//! The layout, one way (each module imports only from the layers before it; held by
//! tests/hygiene.rs):
//! 1. Windows Installer's rules over a table database (`ice`, self-contained), and
//!    what a run reports: `report` (its steps, the verification), `cleanup`;
//! 2. reading a package: `offline` (the zip), `cab`, `msi` (the MSI and its cabinet),
//!    and `contents`, the one type the rest sees for either kind;
//! 3. checking it offline: `offline`'s checks, `msi`'s tables and the database it
//!    gives `ice`;
//! 4. the host it is installed on: `batch` (batch files as every host runs them),
//!    `host` (the trait), `wine` (a Wine prefix), `windows` (this Windows machine);
//! 5. the steps over a host: `probe` (asking the service over the network), `steps`
//!    (shared), `ways` (PATH, Run entry, task: the ways to run besides a service),
//!    `crash` (the crash test), `zip_steps` and `msi_steps` (each kind's flow;
//!    neither imports the other);
//! 6. the stage that makes a host and runs the flow: `wine_stage`, `here_stage` (this
//!    Windows machine, `--here`), `sandbox` (the Wine stage in a bubblewrap child).

mod batch;
mod cab;
pub mod cleanup;
mod contents;
mod crash;
mod here_stage;
pub mod host;
pub mod ice;
mod msi;
mod msi_steps;
mod offline;
pub mod probe;
mod report;
pub mod sandbox;
mod steps;
mod ways;
#[cfg(windows)]
mod windows;
pub mod wine;
mod wine_stage;
mod zip_steps;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::check::Policy;
use crate::package::manifest::Manifest;
use contents::Contents;
pub use offline::Limits;
use report::Run;
pub use report::{CheckResult, Failed, Step, Verification};
use wine::WineError;

#[derive(Debug, Clone)]
pub struct Options {
    pub wine: bool,
    /// How long to wait for the service to start or stop.
    pub timeout: Duration,
    /// Keep the Wine prefix folder afterwards (its processes are still stopped).
    pub keep: bool,
    /// The service name, for packages without service.json.
    pub service: Option<String>,
    pub policy: Policy,
    /// How much the zip may make verify read and write.
    pub limits: Limits,
    /// Run Wine inside a sandbox (bubblewrap): the host read-only, no network.
    pub sandbox: bool,
    /// `--run -- ARGS`: run the packaged program instead of installing a service.
    pub run: Option<Vec<String>>,
    /// The exit code `--run` expects.
    pub expect_exit: i32,
    /// `--against OLD.msi`: the MSI this one upgrades (the Component Rules).
    pub against: Option<PathBuf>,
    /// `--probe`: what the running service must answer.
    pub probes: Vec<probe::Probe>,
    /// `--probe-status`: the HTTP status the HTTP probes require.
    pub probe_status: Option<u16>,
    /// `--here`: install on this Windows machine instead of under Wine.
    pub here: bool,
    /// `--crash-test`: end the running program as a crash would and check what
    /// restarts it.
    pub crash_test: bool,
}

/// Why verify could not judge the package at all (exit code 2), by cause.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file cannot be opened.
    #[error("{}: cannot open: {source}", zip.display())]
    Open {
        zip: PathBuf,
        source: std::io::Error,
    },
    /// It is not a zip, or its central directory cannot be read.
    #[error("{}: not a readable zip: {source}", zip.display())]
    NotZip {
        zip: PathBuf,
        source: zip::result::ZipError,
    },
    /// One entry's record cannot be read.
    #[error("{}: entry {index}: {source}", zip.display())]
    Entry {
        zip: PathBuf,
        index: usize,
        source: zip::result::ZipError,
    },
    /// One entry's name cannot be read.
    #[error("{}: entry {index} has an unreadable name: {source}", zip.display())]
    EntryName {
        zip: PathBuf,
        index: usize,
        source: zip::result::ZipError,
    },
    #[error("{}: the package has no files", .0.display())]
    Empty(PathBuf),
    /// An MSI whose compound file or tables cannot be read, or that is not one
    /// verify can judge.
    #[error("{}: {why}", msi.display())]
    NotMsi { msi: PathBuf, why: String },
    /// `--wine` without `--run` on a package whose service.json names no service.
    #[error("{}: the package has no service (a plain program): smoke-test it with --run, e.g. `cargo winpkg verify --wine --run {} -- --version`", .0.display(), .0.display())]
    PlainProgram(PathBuf),
    /// `--probe` or `--crash-test` on a package that runs another way than a service.
    #[error("{}: {flag} asks a running service, and this package has none: it is {way}; verify installs it with its scripts or msiexec, checks what they registered, and removes it", zip.display())]
    NotAService {
        zip: PathBuf,
        flag: &'static str,
        way: &'static str,
    },
    /// `--wine` on a zip without service.json, and no `--service`.
    #[error("{}: --wine installs the package's service, but it has no service.json naming one: pass --service NAME, or --run to run its program", .0.display())]
    NoServiceNamed(PathBuf),
    #[error("{}: --wine needs install.cmd and uninstall.cmd in the package", .0.display())]
    NoInstallScripts(PathBuf),
    #[error("{}: --run needs the package's program: service.json names it, and without one the package must have exactly one .exe", .0.display())]
    NoProgram(PathBuf),
    /// A 32-bit package and a Wine that runs only 64-bit programs.
    #[error(
        "{0} is a 32-bit (x86) program and this Wine runs only 64-bit programs: install 32-bit Wine (Debian/Ubuntu: `sudo dpkg --add-architecture i386 && sudo apt-get update && sudo apt-get install wine32:i386`; Fedora: `sudo dnf install wine.i686`)"
    )]
    Needs32BitWine(String),
    /// `--run`'s arguments cannot be written into a batch line.
    #[error("--run: {}", .0.reason)]
    RunArgs(crate::script::quote::Unrepresentable),
    /// A file or folder of verify's own could not be made or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The bubblewrap sandbox cannot be used (`--no-sandbox` runs without it).
    #[error(
        "{0}; verify --wine runs the package's scripts inside a bubblewrap sandbox: install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`), or pass --no-sandbox to run them with your user's rights"
    )]
    SandboxUnavailable(String),
    /// A Windows path of the host that verify cannot read or write from here.
    #[error("{0}: verify cannot reach this folder of the host (only drive C: is used)")]
    Unreachable(String),
    /// `--here` on a machine that is not Windows.
    #[error(
        "--here installs the package on this machine, which must be Windows (run it on a Windows CI runner); on Linux, --wine installs it under Wine"
    )]
    NotWindows,
    /// `--here` without an administrator's elevated rights.
    #[error(
        "--here installs a service: run it as an administrator (an elevated prompt; GitHub's Windows runners are elevated)"
    )]
    NotElevated,
    /// `--here` and the package's service already exists on this machine.
    #[error(
        "a service named `{0}` already exists on this machine: verify --here installs and removes the package's service, and never touches one it did not install; remove it first, or verify on a clean machine"
    )]
    ServiceExists(String),
    /// `--here` and the MSI's product is already installed on this machine.
    #[error(
        "the MSI product {0} is already installed on this machine: verify --here installs and removes the products it verifies (and the older one of --against), and never touches one it did not install; uninstall it first, or verify on a clean machine"
    )]
    ProductInstalled(String),
    /// `--here` and the package's Run entry or task already exists on this machine.
    #[error(
        "{0} already exists on this machine: verify --here installs and removes the package's, and never touches one it did not install; remove it first, or verify on a clean machine"
    )]
    Taken(String),
    /// This Windows machine refused or failed a call verify --here needs.
    #[error("{0}")]
    Host(String),
    /// The stage inside the sandbox stopped with this error (its own words, sent back).
    #[error("{0}")]
    InSandbox(String),
    /// Wine is missing or misbehaves: exit code 2.
    #[error("{0}")]
    Wine(#[from] WineError),
}

/// Unpack a zip-format archive (a zip, wheel, NuGet package, VS Code extension) or an
/// MSI into `dir` with verify's bounds: every name must extract on Windows inside
/// `dir`, sizes are held to what the archive declares and to `limits`, and nothing is
/// written from an archive whose names or sizes fail. `Err` says why; `Ok` counts the
/// files written.
pub fn unpack(path: &Path, dir: &Path, limits: &Limits) -> Result<usize, UnpackError> {
    let contents = Contents::read(path, limits).map_err(|source| UnpackError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    contents.check_names(limits).map_err(UnpackError::Refused)?;
    let pkg = contents
        .extract(dir, limits)
        .map_err(UnpackError::Refused)?;
    Ok(pkg.files.len())
}

/// Why [`unpack`] wrote nothing, or stopped.
#[derive(Debug)]
pub enum UnpackError {
    /// The archive cannot be read as a zip or an MSI.
    Unreadable { path: PathBuf, source: VerifyError },
    /// A name, size or byte of it breaks verify's bounds.
    Refused(Failed),
}

impl std::fmt::Display for UnpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The archive's own errors start with its path, which the caller names.
            UnpackError::Unreadable { path, source } => {
                let s = source.to_string();
                let prefix = format!("{}: ", path.display());
                f.write_str(s.strip_prefix(&prefix).unwrap_or(&s))
            }
            UnpackError::Refused(Failed(why)) => f.write_str(why),
        }
    }
}

impl std::error::Error for UnpackError {}

/// Verify `zip`; `progress` sees each step as it ends. Each stage runs only when every
/// check before it passed: nothing is extracted from a zip whose names or sizes failed,
/// and nothing of the package runs under Wine unless every offline check passed.
pub fn verify(
    zip: &Path,
    opts: &Options,
    progress: &dyn Fn(&Step),
) -> Result<Verification, VerifyError> {
    if opts.here && !cfg!(windows) {
        return Err(VerifyError::NotWindows);
    }
    let result = verify_zip(zip, opts, progress);
    cleanup::wait_if_interrupted();
    result
}

fn verify_zip(
    zip: &Path,
    opts: &Options,
    progress: &dyn Fn(&Step),
) -> Result<Verification, VerifyError> {
    let mut run = Run {
        steps: Vec::new(),
        progress,
    };
    let mut v = Verification {
        zip: zip.to_path_buf(),
        ..Verification::default()
    };
    let t = Instant::now();
    let contents = Contents::read(zip, &opts.limits)?;
    let (step, detail) = contents.describe();
    run.info(step, t, detail);
    let t = Instant::now();
    let names_ok = run.check("file names", t, contents.check_names(&opts.limits));
    let scratch = scratch_dir()?;
    let _guard = cleanup::Guard::dir(scratch.path());
    let pkg = if names_ok {
        extract(&mut run, &contents, scratch.path(), opts)
    } else {
        None
    };
    let Some(pkg) = pkg else {
        if let Some(m) = contents.msi() {
            // The tables are judged even when the files cannot be read.
            msi_rules(&mut run, zip, m, None, opts, &mut v)?;
        }
        run.info(
            "stopped",
            Instant::now(),
            "the package failed the checks above: nothing else was read, written or run".into(),
        );
        return Ok(v.finish(run));
    };
    let manifest = offline_checks(&mut run, &pkg, opts);
    if let Some(m) = contents.msi() {
        let t = Instant::now();
        run.check("msi tables", t, msi::check_tables(m, manifest.as_ref()));
        msi_rules(&mut run, zip, m, Some(&pkg), opts, &mut v)?;
    }
    if opts.wine || opts.here {
        let msi = contents
            .msi()
            .map(|m| msi_request(zip, m, opts))
            .transpose()?;
        wine_stage(&mut run, &pkg, manifest.as_ref(), zip, opts, msi, &mut v)?;
    }
    Ok(v.finish(run))
}

/// The scratch folder the package is extracted into (removed with it).
fn scratch_dir() -> Result<tempfile::TempDir, VerifyError> {
    tempfile::Builder::new()
        .prefix("winpkg-verify-")
        .tempdir()
        .map_err(|e| VerifyError::Io {
            action: "create a temporary folder in",
            path: std::env::temp_dir(),
            source: e,
        })
}

/// Extract the package (zip or MSI) into `dir`: the `extract` check.
fn extract(
    run: &mut Run,
    contents: &Contents,
    dir: &Path,
    opts: &Options,
) -> Option<offline::Package> {
    let t = Instant::now();
    match contents.extract(dir, &opts.limits) {
        Ok(pkg) => {
            let n = pkg.files.len();
            run.check("extract", t, Ok(format!("{n} files, sizes as declared")));
            Some(pkg)
        }
        Err(e) => {
            run.check("extract", t, Err(e));
            None
        }
    }
}

/// What the Wine stage needs of an MSI: its absolute path, product code, and what
/// Wine's msiexec does not apply.
fn msi_request(
    zip: &Path,
    m: &msi::MsiRead,
    opts: &Options,
) -> Result<steps::MsiRequest, VerifyError> {
    let absolute = |p: &Path| {
        std::path::absolute(p).map_err(|e| VerifyError::Io {
            action: "find the absolute path of",
            path: p.to_path_buf(),
            source: e,
        })
    };
    let older = match &opts.against {
        Some(old) => Some(steps::OlderMsi {
            path: absolute(old)?,
            product_code: msi::read(old, &opts.limits)?
                .properties
                .get("ProductCode")
                .cloned()
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(steps::MsiRequest {
        path: absolute(zip)?,
        product_code: m.properties.get("ProductCode").cloned().unwrap_or_default(),
        wine_ignores: m.wine_ignored.clone(),
        older,
    })
}

/// Windows Installer's rules on the MSI (with its extracted files' versions, when they
/// were extracted), and with `--against` the Component Rules from the older MSI.
fn msi_rules(
    run: &mut Run,
    path: &Path,
    m: &msi::MsiRead,
    pkg: Option<&offline::Package>,
    opts: &Options,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    let t = Instant::now();
    let db = msi::rules_database(path, m, pkg, &opts.limits)?;
    let findings = ice::check(&db);
    run.check(
        "windows installer rules",
        t,
        ice::outcome(&findings, "rules"),
    );
    v.findings.extend(findings);
    if let Some(old) = &opts.against {
        let t = Instant::now();
        let old_db = msi::tables_only(old, &opts.limits)?;
        let findings = ice::compare(&old_db, &db);
        run.check(
            "component rules",
            t,
            ice::outcome(&findings, "rules against the older MSI"),
        );
        v.findings.extend(findings);
    }
    Ok(())
}

/// Checksums, manifest and DLL closure of the extracted package.
fn offline_checks(run: &mut Run, pkg: &offline::Package, opts: &Options) -> Option<Manifest> {
    let t = Instant::now();
    run.check("checksums", t, offline::check_checksums(pkg));
    let t = Instant::now();
    let manifest = match offline::check_manifest(pkg) {
        Ok((detail, m)) => {
            run.check("manifest", t, Ok(detail));
            m
        }
        Err(e) => {
            run.check("manifest", t, Err(e));
            None
        }
    };
    let t = Instant::now();
    let (closure, report) = offline::check_closure(pkg, &opts.policy);
    run.check("dll closure", t, closure);
    if let Some(report) = report {
        let t = Instant::now();
        let sigs = offline::check_signatures(pkg, &report, manifest.as_ref());
        run.check("signatures", t, sigs);
    }
    manifest
}

/// The install steps when every offline check passed: on this Windows machine with
/// `--here`, else under Wine, in a sandbox unless `--no-sandbox`.
fn wine_stage(
    run: &mut Run,
    pkg: &offline::Package,
    manifest: Option<&Manifest>,
    zip: &Path,
    opts: &Options,
    msi: Option<steps::MsiRequest>,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    if !run.steps.iter().all(|s| s.ok) {
        run.info(
            if opts.here {
                "install skipped"
            } else {
                "Wine skipped"
            },
            Instant::now(),
            "an offline check failed: the package's scripts are not run".into(),
        );
        return Ok(());
    }
    let request = steps::Request::new(pkg, manifest, zip, opts, msi)?;
    if opts.here {
        here_stage::steps(run, &request, v)
    } else if opts.sandbox {
        sandbox::run_stage(&request, &pkg.dir, opts.keep, run, v)
    } else {
        wine_stage::steps(run, &request, v)
    }
}
