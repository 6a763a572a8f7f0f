//! service.json: a versioned, machine-readable description of the package and its
//! service, for deployment tools and for `cargo winpkg verify`. One typed schema, used
//! by the writer (packaging) and the reader (verify).
//!
//! Format version 1. Fields are only ever added within a version.

use serde::{Deserialize, Serialize};

use crate::autostart::service::{Service, image_path_template};
use crate::dlls::Class;

pub const FORMAT: &str = "cargo-winpkg-service";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    pub format_version: u32,
    pub generator: String,
    pub package: PackageInfo,
    /// The program's file name (in the package root, or under `root_dir`).
    pub exe: String,
    /// The folder everything is under inside the zip, or null for a flat zip.
    pub root_dir: Option<String>,
    /// Null when the package has no service table.
    pub service: Option<ServiceInfo>,
    /// How a program that is not a service starts: a Run key, or its folder on PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart: Option<crate::autostart::Autostart>,
    /// The DLL check of everything shipped.
    pub dll_report: DllReport,
    /// Every file of the package but service.json and SHA256SUMS, sorted.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageInfo {
    pub name: String,
    pub version: String,
    pub target: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceInfo {
    #[serde(flatten)]
    pub service: Service,
    /// The account as sc.exe takes it (`NT AUTHORITY\LocalService`, ...).
    pub object_name: String,
    /// The service's command line, with `{dir}` for the install folder.
    pub image_path: String,
}

impl ServiceInfo {
    pub fn new(service: &Service) -> Self {
        ServiceInfo {
            service: service.clone(),
            object_name: service.account.object_name(&service.name),
            image_path: image_path_template(service),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DllReport {
    pub errors: usize,
    pub warnings: usize,
    /// DLLs that ship in the package (relative paths), and what needs them.
    pub bundled: Vec<String>,
    /// Non-system imports of shipped files: file, DLL, class, and where it resolves.
    pub imports: Vec<ImportEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportEntry {
    pub file: String,
    pub dll: String,
    pub class: Class,
    pub delay: bool,
    pub resolved: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// The Authenticode signature of an exe, DLL or .ps1 script; absent: unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<FileSignature>,
}

/// Who signed a file, as service.json records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileSignature {
    /// The signer certificate's subject.
    pub subject: Option<String>,
    /// SHA-1 of the signer certificate (what Windows shows as its thumbprint).
    pub thumbprint: Option<String>,
    pub digest_algorithm: Option<String>,
    pub timestamped: bool,
}

impl FileSignature {
    pub fn of(s: &crate::pe::Signature) -> FileSignature {
        FileSignature {
            subject: s.subject.clone(),
            thumbprint: s.thumbprint.clone(),
            digest_algorithm: s.digest_algorithm.clone(),
            timestamped: s.timestamped,
        }
    }
}

/// Why service.json cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("service.json is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("service.json has format {0}, expected \"{FORMAT}\"")]
    Format(serde_json::Value),
    #[error(
        "service.json format version {0} is not supported (this cargo-winpkg reads {FORMAT_VERSION})"
    )]
    Version(serde_json::Value),
    #[error("service.json does not follow format version {FORMAT_VERSION}: {0}")]
    Schema(serde_json::Error),
}

/// Read service.json: the format and version first (so a newer file gets a clear
/// message), then the typed schema.
pub fn from_json(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(ManifestError::NotJson)?;
    if v["format"] != FORMAT {
        return Err(ManifestError::Format(v["format"].clone()));
    }
    if v["format_version"].as_u64() != Some(u64::from(FORMAT_VERSION)) {
        return Err(ManifestError::Version(v["format_version"].clone()));
    }
    serde_json::from_value(v).map_err(ManifestError::Schema)
}

pub fn to_json(m: &Manifest) -> String {
    // Serializing plain data to a string cannot fail; keep a readable fallback anyway.
    serde_json::to_string_pretty(m).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")) + "\n"
}
