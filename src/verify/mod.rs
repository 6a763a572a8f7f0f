//! `cargo winpkg verify ZIP|MSI [--wine]`: re-check a package offline (names, checksums,
//! manifest, DLL closure), and with `--wine` install and run it on Wine's real service
//! control manager, then uninstall it.
//!
//! Each step is a check (it can fail) or an info step (it records what was done, such
//! as creating the prefix; when it cannot be done the whole run stops with an error).
//! Only checks count as "passed".
//!
//! The layout, one way: reading a package (`offline`: the zip; `msi` and `cab`: the
//! MSI and its cabinet) -> checking it offline (`offline`'s checks, `msi`'s tables,
//! `ice`: Windows Installer's rules) -> the Wine steps (`steps`: shared by both kinds;
//! `zip_steps` and `msi_steps`: each kind's flow over them) -> the host (`wine`: a
//! prefix; `sandbox`, `cleanup`). No module imports from a flow, and the flows do not
//! import each other.

mod cab;
pub mod cleanup;
pub mod ice;
mod msi;
mod msi_steps;
mod offline;
pub mod sandbox;
mod steps;
pub mod wine;
mod zip_steps;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::Policy;
use crate::package::manifest::Manifest;
pub use offline::Limits;
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
    /// The stage inside the sandbox stopped with this error (its own words, sent back).
    #[error("{0}")]
    InSandbox(String),
    /// Wine is missing or misbehaves: exit code 2.
    #[error("{0}")]
    Wine(#[from] WineError),
}

/// Why a check failed (shown as its detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed(pub String);

/// A check's outcome: what it saw when it passed, or why it failed.
pub type CheckResult = Result<String, Failed>;

impl From<String> for Failed {
    fn from(s: String) -> Self {
        Failed(s)
    }
}

impl From<&str> for Failed {
    fn from(s: &str) -> Self {
        Failed(s.to_string())
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Step {
    pub name: String,
    /// A check, which can fail; false for an info step, which records what was done.
    pub check: bool,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Verification {
    pub zip: PathBuf,
    pub steps: Vec<Step>,
    /// The service's registry values as installed under Wine (what `sc qc` shows).
    pub registry: BTreeMap<String, String>,
    /// The install folder inside the Wine prefix (a Windows path).
    pub install_dir: Option<String>,
    /// The kept prefix (with --keep).
    pub prefix: Option<PathBuf>,
    /// The ProcessPrng stand-in was added to the prefix (Wine < 9).
    pub processprng_standin: bool,
    /// For an MSI: what Windows Installer's rules found (errors fail the check).
    pub findings: Vec<ice::Finding>,
    pub ok: bool,
}

impl Verification {
    /// (checks passed, checks failed).
    pub fn tally(&self) -> (usize, usize) {
        let checks = self.steps.iter().filter(|s| s.check);
        let failed = checks.clone().filter(|s| !s.ok).count();
        (checks.count() - failed, failed)
    }
}

struct Run<'a> {
    steps: Vec<Step>,
    progress: &'a dyn Fn(&Step),
}

impl Run<'_> {
    fn push(&mut self, s: Step) {
        (self.progress)(&s);
        self.steps.push(s);
    }

    /// Record a check; returns whether it passed.
    fn check(&mut self, name: &str, start: Instant, result: CheckResult) -> bool {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(Failed(d)) => (false, d),
        };
        self.push(Step {
            name: name.into(),
            check: true,
            ok,
            seconds: start.elapsed().as_secs_f64(),
            detail,
        });
        ok
    }

    /// Record an info step: something done, not something judged.
    fn info(&mut self, name: &str, start: Instant, detail: String) {
        self.push(Step {
            name: name.into(),
            check: false,
            ok: true,
            seconds: start.elapsed().as_secs_f64(),
            detail,
        });
    }
}

/// Unpack a zip-format archive (a zip, wheel, NuGet package, VS Code extension) or an
/// MSI into `dir` with verify's bounds: every name must extract on Windows inside
/// `dir`, sizes are held to what the archive declares and to `limits`, and nothing is
/// written from an archive whose names or sizes fail. `Err` says why; `Ok` counts the
/// files written.
pub fn unpack(path: &Path, dir: &Path, limits: &Limits) -> Result<usize, UnpackError> {
    let unreadable = |source| UnpackError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let pkg = if msi::is_msi(path) {
        let m = msi::read(path, limits).map_err(unreadable)?;
        offline::check_listing(&m.listing, limits).map_err(UnpackError::Refused)?;
        msi::extract(path, &m, dir, limits).map_err(UnpackError::Refused)?
    } else {
        let listing = offline::list(path).map_err(unreadable)?;
        offline::check_listing(&listing, limits).map_err(UnpackError::Refused)?;
        offline::extract(path, &listing, dir).map_err(UnpackError::Refused)?
    };
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
    let msi = if msi::is_msi(zip) {
        Some(msi::read(zip, &opts.limits)?)
    } else {
        None
    };
    let zip_listing;
    let listing = match &msi {
        Some(m) => {
            run.info(
                "read msi",
                t,
                format!("{} files in its File table", m.listing.entries.len()),
            );
            &m.listing
        }
        None => {
            zip_listing = offline::list(zip)?;
            run.info(
                "read zip",
                t,
                format!("{} entries", zip_listing.entries.len()),
            );
            &zip_listing
        }
    };
    let t = Instant::now();
    let names_ok = run.check(
        "file names",
        t,
        offline::check_listing(listing, &opts.limits),
    );
    let scratch = scratch_dir()?;
    let _guard = cleanup::Guard::dir(scratch.path());
    let pkg = if names_ok {
        extract(&mut run, zip, msi.as_ref(), listing, scratch.path(), opts)
    } else {
        None
    };
    let Some(pkg) = pkg else {
        if let Some(m) = &msi {
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
    if let Some(m) = &msi {
        let t = Instant::now();
        run.check("msi tables", t, msi::check_tables(m, manifest.as_ref()));
        msi_rules(&mut run, zip, m, Some(&pkg), opts, &mut v)?;
    }
    if opts.wine {
        let msi = msi.as_ref().map(|m| msi_request(zip, m)).transpose()?;
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
    zip: &Path,
    msi: Option<&msi::MsiRead>,
    listing: &offline::Listing,
    dir: &Path,
    opts: &Options,
) -> Option<offline::Package> {
    let t = Instant::now();
    let extracted = match msi {
        Some(m) => msi::extract(zip, m, dir, &opts.limits),
        None => offline::extract(zip, listing, dir),
    };
    match extracted {
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
fn msi_request(zip: &Path, m: &msi::MsiRead) -> Result<steps::MsiRequest, VerifyError> {
    Ok(steps::MsiRequest {
        path: std::path::absolute(zip).map_err(|e| VerifyError::Io {
            action: "find the absolute path of",
            path: zip.to_path_buf(),
            source: e,
        })?,
        product_code: m.properties.get("ProductCode").cloned().unwrap_or_default(),
        wine_ignores: m.wine_ignored.clone(),
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

/// The Wine steps, in a sandbox unless `--no-sandbox`, when every offline check passed.
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
            "Wine skipped",
            Instant::now(),
            "an offline check failed: the package's scripts are not run".into(),
        );
        return Ok(());
    }
    let request = steps::Request::new(pkg, manifest, zip, opts, msi)?;
    if opts.sandbox {
        sandbox::run_stage(&request, &pkg.dir, opts.keep, run, v)
    } else {
        wine_steps(run, &request, v)
    }
}

/// The Wine steps for the package's kind: the MSI's with msiexec, else the zip's with
/// its scripts.
fn wine_steps(
    run: &mut Run,
    req: &steps::Request,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    match &req.msi {
        Some(m) => msi_steps::steps(run, req, m, v),
        None => zip_steps::steps(run, req, v),
    }
}

impl Verification {
    fn finish(mut self, run: Run) -> Verification {
        self.ok = run.steps.iter().all(|s| s.ok);
        self.steps = run.steps;
        self
    }
}
