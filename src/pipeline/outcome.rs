//! What a build run did: per package, and for the whole run (also the JSON summary).

use std::path::PathBuf;

use serde::Serialize;

use crate::check::Report;
use crate::package::PackageOutcome;

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
    /// The MSI, when `--msi` asked for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msi: Option<MsiOutcome>,
    /// The check of everything the zip ships, staged as it will be extracted.
    pub bundle_check: Option<Report>,
    /// What the winget and scoop manifests say of this target's files (`[publish]`).
    #[serde(skip)]
    pub release: Option<(
        crate::package::publish::Publish,
        crate::package::publish::Release,
    )>,
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
    /// With several targets: the (package, target) runs that stopped with an error;
    /// the others still ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Failure>,
    /// The winget and scoop manifests written (`[publish]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<PathBuf>,
    /// No error-level diagnostic anywhere, and nothing failed.
    pub ok: bool,
}

/// One package and target whose run stopped with an error.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub package: String,
    pub target: String,
    pub error: String,
    /// The exit code the error alone would have given.
    pub exit_code: u8,
}

/// The MSI that was written.
#[derive(Debug, Serialize)]
pub struct MsiOutcome {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub product_code: String,
    pub upgrade_code: String,
}
