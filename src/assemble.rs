//! Put a package together: the PE files, service scripts and manifest, included files,
//! README/LICENSE, and SHA256SUMS; then hand it to the zip writer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::{Failure, PackageOutcome};
use crate::check::Report;
use crate::classify::Class;
use crate::config::{Config, Include};
use crate::package::{self, Contents, Source};
use crate::service::manifest::{
    self, DllReport, FileEntry, ImportEntry, Manifest, PackageInfo, ServiceInfo,
};
use crate::service::{self, Service};

pub struct Input<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub target: &'a str,
    pub manifest_dir: &'a Path,
    pub cfg: &'a Config,
    /// (file name in the package, source path): the exe first, then DLLs, shawl.exe.
    pub pe_files: &'a [(String, PathBuf)],
    pub service: Option<&'a Service>,
    /// The check of the staged bundle.
    pub check: &'a Report,
    /// Everything under this folder inside the zip, when set.
    pub root_dir: Option<String>,
    pub dest: &'a Path,
}

fn usage(msg: String) -> Failure {
    Failure::Usage(msg)
}

/// Files named by `include`, with their destinations.
fn includes(base: &Path, list: &[Include]) -> Result<Vec<(String, PathBuf)>, Failure> {
    let mut out = Vec::new();
    for inc in list {
        let (src, dest) = match inc {
            Include::Path(p) => (p.as_str(), None),
            Include::Map { src, dest } => (src.as_str(), dest.as_deref()),
        };
        let pattern = base.join(src);
        let matches: Vec<PathBuf> = glob::glob(&pattern.to_string_lossy())
            .map_err(|e| usage(format!("include: `{src}` is not a valid pattern: {e}")))?
            .flatten()
            .filter(|p| p.is_file())
            .collect();
        if matches.is_empty() {
            return Err(usage(format!(
                "include: `{src}` matches no file (looked in {})",
                base.display()
            )));
        }
        for m in matches {
            let file_name = m
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = match dest {
                // A plain path keeps its relative location.
                None => match m.strip_prefix(base) {
                    Ok(rel) => rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                    Err(_) => file_name,
                },
                Some(d) if d.ends_with('/') || d.is_empty() => format!("{d}{file_name}"),
                Some(d) => d.to_string(),
            };
            out.push((name, m));
        }
    }
    Ok(out)
}

/// README, LICENSE, COPYING and NOTICE files beside Cargo.toml.
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
            ["README", "LICENSE", "LICENCE", "COPYING", "NOTICE"]
                .iter()
                .any(|p| upper.starts_with(p))
                .then(|| (name, e.path()))
        })
        .collect();
    out.sort();
    out
}

pub fn write(input: &Input) -> Result<PackageOutcome, Failure> {
    let mut contents: Contents = BTreeMap::new();
    let mut add = |name: String, src: Source| -> Result<(), Failure> {
        if contents.keys().any(|k| k.eq_ignore_ascii_case(&name)) {
            return Err(usage(format!(
                "two files would be `{name}` in the package: rename one (include's dest) or drop it"
            )));
        }
        contents.insert(name, src);
        Ok(())
    };
    for (name, src) in input.pe_files {
        add(name.clone(), Source::File(src.clone()))?;
    }
    if let Some(svc) = input.service {
        let unrep = |what: &str, e: service::quote::Unrepresentable| {
            usage(format!(
                "[package.metadata.winpkg.service] cannot be written into {what} safely: {}",
                e.reason
            ))
        };
        let inst = service::cmd::install(svc, input.name, input.version)
            .map_err(|e| unrep("install.cmd", e))?;
        let uninst = service::cmd::uninstall(svc, input.name, input.version)
            .map_err(|e| unrep("uninstall.cmd", e))?;
        add("install.cmd".into(), Source::Bytes(inst.into_bytes()))?;
        add("uninstall.cmd".into(), Source::Bytes(uninst.into_bytes()))?;
        add(
            "install.ps1".into(),
            Source::Bytes(service::ps1::install(svc, input.name, input.version).into_bytes()),
        )?;
        add(
            "uninstall.ps1".into(),
            Source::Bytes(service::ps1::uninstall(svc, input.name, input.version).into_bytes()),
        )?;
    }
    let explicit = includes(
        input.manifest_dir,
        input.cfg.include.as_deref().unwrap_or(&[]),
    )?;
    for (name, src) in &explicit {
        add(name.clone(), Source::File(src.clone()))?;
    }
    for (name, src) in docs(input.manifest_dir) {
        if explicit.iter().any(|(_, s)| s == &src) {
            continue;
        }
        add(name, Source::File(src))?;
    }

    // Read everything once; the manifest lists what was read.
    let mut files = package::load(&contents)?;
    let exe = input
        .pe_files
        .first()
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let file_entries: Vec<FileEntry> = files
        .iter()
        .map(|(path, data)| FileEntry {
            path: path.clone(),
            size: data.len() as u64,
            sha256: package::sha256_hex(data),
        })
        .collect();
    let staged_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let dll_report = DllReport {
        errors: input.check.count(crate::policy::Severity::Error),
        warnings: input.check.count(crate::policy::Severity::Warning),
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
                        class: i.class.as_str().into(),
                        delay: i.delay,
                        resolved: i.resolved.as_deref().map(staged_name),
                    })
            })
            .collect(),
    };
    let m = Manifest {
        format: manifest::FORMAT,
        format_version: manifest::FORMAT_VERSION,
        generator: format!("cargo-winpkg {}", env!("CARGO_PKG_VERSION")),
        package: PackageInfo {
            name: input.name.into(),
            version: input.version.into(),
            target: input.target.into(),
        },
        exe,
        root_dir: input.root_dir.clone(),
        service: input.service.map(ServiceInfo::new),
        dll_report,
        files: file_entries,
    };
    files.insert("service.json".into(), manifest::to_json(&m).into_bytes());
    let sums = package::sha256sums(&files);
    files.insert("SHA256SUMS".into(), sums.into_bytes());

    let files: BTreeMap<String, Vec<u8>> = match &input.root_dir {
        Some(root) => files
            .into_iter()
            .map(|(k, v)| (format!("{root}/{k}"), v))
            .collect(),
        None => files,
    };
    let mtime = package::timestamp(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref());
    let executable = |name: &str| {
        let l = name.to_ascii_lowercase();
        [".exe", ".dll", ".cmd", ".ps1"]
            .iter()
            .any(|e| l.ends_with(e))
    };
    package::write_zip(input.dest, &files, mtime, &executable)?;
    let bytes = std::fs::read(input.dest)
        .map_err(|e| usage(format!("cannot read back {}: {e}", input.dest.display())))?;
    Ok(PackageOutcome {
        path: input.dest.to_path_buf(),
        sha256: package::sha256_hex(&bytes),
        size: bytes.len() as u64,
        files: files.keys().cloned().collect(),
        service_mode: input.service.map(|s| s.mode),
    })
}
