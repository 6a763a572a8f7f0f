//! service.json: a versioned, machine-readable description of the package and its
//! service, for deployment tools and for `cargo winpkg verify`.
//!
//! Format version 1. Fields are only ever added within a version.

use serde::Serialize;

use crate::service::{Service, image_path_template};

pub const FORMAT: &str = "cargo-winpkg-service";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Manifest<'a> {
    pub format: &'static str,
    pub format_version: u32,
    pub generator: String,
    pub package: PackageInfo,
    /// The program's file name (in the package root, or under `root_dir`).
    pub exe: String,
    /// The folder everything is under inside the zip, or null for a flat zip.
    pub root_dir: Option<String>,
    /// Null when the package has no service table.
    pub service: Option<ServiceInfo<'a>>,
    /// The DLL check of everything shipped.
    pub dll_report: DllReport,
    /// Every file of the package but service.json and SHA256SUMS, sorted.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageInfo {
    pub name: String,
    pub version: String,
    pub target: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceInfo<'a> {
    #[serde(flatten)]
    pub service: &'a Service,
    /// The account as sc.exe takes it (`NT AUTHORITY\LocalService`, ...).
    pub object_name: String,
    /// The service's command line, with `{dir}` for the install folder.
    pub image_path: String,
}

impl<'a> ServiceInfo<'a> {
    pub fn new(service: &'a Service) -> Self {
        ServiceInfo {
            service,
            object_name: service.account.object_name(&service.name),
            image_path: image_path_template(service),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DllReport {
    pub errors: usize,
    pub warnings: usize,
    /// DLLs that ship in the package (relative paths), and what needs them.
    pub bundled: Vec<String>,
    /// Non-system imports of shipped files: file, DLL, class, and where it resolves.
    pub imports: Vec<ImportEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportEntry {
    pub file: String,
    pub dll: String,
    pub class: String,
    pub delay: bool,
    pub resolved: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

pub fn to_json(m: &Manifest) -> String {
    // Serializing plain data to a string cannot fail; keep a readable fallback anyway.
    serde_json::to_string_pretty(m).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")) + "\n"
}
