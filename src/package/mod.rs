//! Put a package together: the PE files, service scripts and manifest, included files,
//! README/LICENSE, and SHA256SUMS; then write the zip.

pub mod bundle;
mod deflate;
pub mod leftovers;
pub mod manifest;
pub mod msi;
pub mod publish;
pub mod sign;
pub mod stamp;
mod zip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::autostart::service::{self, Service};
use crate::check::{Report, Severity};
use crate::dlls::Class;
use manifest::{
    DllReport, FileEntry, FileSignature, ImportEntry, Manifest, PackageInfo, ServiceInfo,
};
pub use zip::{
    Contents, Digest, PackageError, Source, TimeSource, check_name, check_names, digest,
    sha256_hex, sha256sums, source_time, stream, timestamp, timestamp_secs, write_zip,
};

/// The zip that was written.
#[derive(Debug, Serialize)]
pub struct PackageOutcome {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// Every entry of the zip, sorted.
    pub files: Vec<String>,
    /// The service mode, when the package installs a service.
    pub service_mode: Option<service::Mode>,
    /// Each file entry's compressed piece lengths: the MSI's cabinet blocks.
    #[serde(skip)]
    pub pieces: deflate::Pieces,
}

/// Signs a generated script: (name, bytes) -> signed bytes.
pub type ScriptSigner<'a> = dyn Fn(&str, Vec<u8>) -> Result<Vec<u8>, PackageError> + 'a;

pub struct Input<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub target: &'a str,
    /// The crate's folder: README/LICENSE are found here.
    pub manifest_dir: &'a Path,
    /// `include`, expanded: (name in the package, file).
    pub includes: &'a [(String, PathBuf)],
    /// (file name in the package, source path): the exe first, then DLLs, shawl.exe.
    pub pe_files: &'a [(String, PathBuf)],
    pub service: Option<&'a Service>,
    /// A Run key or PATH entry, for a package that is not a service.
    pub autostart: Option<&'a crate::autostart::Autostart>,
    /// The check of the staged bundle.
    pub check: &'a Report,
    /// Everything under this folder inside the zip, when set.
    pub root_dir: Option<String>,
    /// Signs a generated .ps1 script: its name and bytes in, the signed bytes out.
    pub sign_script: Option<&'a ScriptSigner<'a>>,
    pub dest: &'a Path,
    /// Seconds since 1970 for every entry ([`source_time`]).
    pub mtime: u64,
}

/// `path` with `.` and `..` folded away lexically (`crate/./x/../dlls` is `crate/dlls`),
/// so paths from the config print as a user would write them.
pub fn clean_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped =
                    matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The files matching `pattern` (relative to `base`); none is an error, since a file
/// the user asked for would otherwise silently not ship.
pub fn expand(base: &Path, pattern: &str, key: &'static str) -> Result<Vec<PathBuf>, PackageError> {
    let full = clean_path(&base.join(pattern));
    let matches: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
        .map_err(|e| PackageError::BadPattern {
            key,
            pattern: pattern.to_string(),
            why: e.to_string(),
        })?
        .flatten()
        .filter(|p| p.is_file())
        .collect();
    if matches.is_empty() {
        return Err(PackageError::NoMatch {
            key,
            pattern: pattern.to_string(),
            base: base.to_path_buf(),
        });
    }
    Ok(matches)
}

/// The name in the package of `file`, found by an `include` entry of folder `base`:
/// `dest` ending in `/` (or empty) is a folder, another `dest` the file's new name;
/// without `dest` the file keeps its path relative to `base`.
pub fn include_name(base: &Path, file: &Path, dest: Option<&str>) -> String {
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match dest {
        None => match file.strip_prefix(base) {
            Ok(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
            Err(_) => file_name,
        },
        Some(d) if d.ends_with('/') || d.is_empty() => format!("{d}{file_name}"),
        Some(d) => d.to_string(),
    }
}

/// README, LICENSE, COPYING, NOTICE and CHANGELOG files beside Cargo.toml.
fn docs(base: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let upper = name.to_ascii_uppercase();
            [
                "README",
                "LICENSE",
                "LICENCE",
                "COPYING",
                "NOTICE",
                "CHANGELOG",
            ]
            .iter()
            .any(|p| upper.starts_with(p))
            .then(|| (name, e.path()))
        })
        .collect();
    out.sort();
    out
}

pub const SHA256SUMS: &str = "SHA256SUMS";
pub const SERVICE_JSON: &str = "service.json";
pub const INSTALL_CMD: &str = "install.cmd";
pub const UNINSTALL_CMD: &str = "uninstall.cmd";
pub const INSTALL_PS1: &str = "install.ps1";
pub const UNINSTALL_PS1: &str = "uninstall.ps1";

/// The names of the install scripts, in the order they are written.
pub const SCRIPTS: [&str; 4] = [INSTALL_CMD, UNINSTALL_CMD, INSTALL_PS1, UNINSTALL_PS1];

/// The generated scripts of a service, by name.
fn scripts(svc: &Service, name: &str, version: &str) -> Result<[Vec<u8>; 4], PackageError> {
    let unrep = |file: &'static str| {
        move |e: crate::script::quote::Unrepresentable| PackageError::Unrepresentable {
            file,
            reason: e.reason.to_string(),
        }
    };
    Ok([
        service::cmd::install(svc, name, version)
            .map_err(unrep(SCRIPTS[0]))?
            .into_bytes(),
        service::cmd::uninstall(svc, name, version)
            .map_err(unrep(SCRIPTS[1]))?
            .into_bytes(),
        service::ps1::install(svc, name, version).into_bytes(),
        service::ps1::uninstall(svc, name, version).into_bytes(),
    ])
}

/// Every file of the package but service.json and SHA256SUMS, by its name in the zip.
fn contents(input: &Input) -> Result<Contents, PackageError> {
    let mut contents: Contents = BTreeMap::new();
    let mut add = |name: String, src: Source| -> Result<(), PackageError> {
        if contents.keys().any(|k| k.eq_ignore_ascii_case(&name)) {
            return Err(PackageError::Duplicate(name));
        }
        contents.insert(name, src);
        Ok(())
    };
    for (name, src) in input.pe_files {
        add(name.clone(), Source::File(src.clone()))?;
    }
    let generated = match (input.service, input.autostart) {
        (Some(svc), _) => Some(scripts(svc, input.name, input.version)?),
        (None, Some(a)) => Some(
            crate::autostart::scripts(a, input.name, input.version)
                .map_err(|e| PackageError::Unrepresentable {
                    file: INSTALL_CMD,
                    reason: e.reason.to_string(),
                })?
                .map(String::into_bytes),
        ),
        (None, None) => None,
    };
    if let Some(generated) = generated {
        for (name, bytes) in SCRIPTS.iter().zip(generated) {
            let bytes = match input.sign_script {
                Some(sign) if name.ends_with(".ps1") => sign(name, bytes)?,
                _ => bytes,
            };
            add((*name).into(), Source::Bytes(bytes))?;
        }
    }
    let explicit = input.includes;
    for (name, src) in explicit {
        add(name.clone(), Source::File(src.clone()))?;
    }
    for (name, src) in docs(input.manifest_dir) {
        if explicit.iter().any(|(_, s)| s == &src) {
            continue;
        }
        add(name, Source::File(src))?;
    }
    Ok(contents)
}

/// The DLL part of service.json: what ships, and every non-system import.
fn dll_report(input: &Input) -> DllReport {
    let staged_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    DllReport {
        errors: input.check.count(Severity::Error),
        warnings: input.check.count(Severity::Warning),
        bundled: input
            .pe_files
            .iter()
            .skip(1)
            .map(|(n, _)| n.clone())
            .collect(),
        imports: input
            .check
            .files
            .iter()
            .flat_map(|f| {
                f.imports
                    .iter()
                    .filter(|i| i.class != Class::System && i.class != Class::ApiSet)
                    .map(move |i| ImportEntry {
                        file: staged_name(&f.path),
                        dll: i.dll.clone(),
                        class: i.class,
                        delay: i.delay,
                        resolved: i.resolved.as_deref().map(staged_name),
                    })
            })
            .collect(),
    }
}

/// The signature of a shipped file: from the staged check for PE files, from the
/// signature block for scripts.
fn signature_of(input: &Input, name: &str, src: Option<&Source>) -> Option<FileSignature> {
    let staged = input
        .pe_files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p);
    if let Some(p) = staged {
        let f = input.check.files.iter().find(|f| &f.path == p)?;
        return f.signature.as_ref().map(FileSignature::of);
    }
    match src {
        Some(Source::Bytes(b)) if name.ends_with(".ps1") => {
            crate::pe::authenticode::script_signature(b).map(|s| FileSignature::of(&s))
        }
        _ => None,
    }
}

/// Write the package to `input.dest`.
pub fn write(input: &Input) -> Result<PackageOutcome, PackageError> {
    let mut files = contents(input)?;
    check_names(files.keys())?;
    // Hashed as streams; the zip is written from the same files in a second pass.
    let mut digests: BTreeMap<String, Digest> = BTreeMap::new();
    for (name, src) in &files {
        digests.insert(name.clone(), digest(src)?);
    }
    let m = Manifest {
        format: manifest::FORMAT.into(),
        format_version: manifest::FORMAT_VERSION,
        generator: format!("cargo-winpkg {}", env!("CARGO_PKG_VERSION")),
        package: PackageInfo {
            name: input.name.into(),
            version: input.version.into(),
            target: input.target.into(),
        },
        exe: input
            .pe_files
            .first()
            .map(|(n, _)| n.clone())
            .unwrap_or_default(),
        root_dir: input.root_dir.clone(),
        service: input.service.map(ServiceInfo::new),
        autostart: input.autostart.cloned(),
        dll_report: dll_report(input),
        files: digests
            .iter()
            .map(|(path, d)| FileEntry {
                path: path.clone(),
                size: d.size,
                sha256: d.sha256.clone(),
                signature: signature_of(input, path, files.get(path)),
            })
            .collect(),
    };
    let json = Source::Bytes(manifest::to_json(&m).into_bytes());
    digests.insert(SERVICE_JSON.into(), digest(&json)?);
    files.insert(SERVICE_JSON.into(), json);
    files.insert(
        SHA256SUMS.into(),
        Source::Bytes(sha256sums(&digests).into_bytes()),
    );
    let files: Contents = match &input.root_dir {
        Some(root) => files
            .into_iter()
            .map(|(k, v)| (format!("{root}/{k}"), v))
            .collect(),
        None => files,
    };
    let mtime = timestamp(Some(&input.mtime.to_string()));
    let executable = |name: &str| {
        let l = name.to_ascii_lowercase();
        [".exe", ".dll", ".cmd", ".ps1"]
            .iter()
            .any(|e| l.ends_with(e))
    };
    let pieces = write_zip(input.dest, &files, mtime, &executable)?;
    let zip = digest(&Source::File(input.dest.to_path_buf()))?;
    Ok(PackageOutcome {
        path: input.dest.to_path_buf(),
        sha256: zip.sha256,
        size: zip.size,
        files: files.keys().cloned().collect(),
        service_mode: input.service.map(|s| s.mode),
        pieces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(clean_path(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(clean_path(Path::new("a/../../c")), PathBuf::from("../c"));
        assert_eq!(clean_path(Path::new("/..")), PathBuf::from("/.."));
    }
}
