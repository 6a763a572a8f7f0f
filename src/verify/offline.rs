//! The checks that need no Wine: the zip's names, its checksums, service.json against
//! the files, and the DLL closure of every PE file in it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use super::{CheckResult, Failed, VerifyError};
use crate::check::{self, CheckOptions, Policy, Severity};
use crate::package::{self, SCRIPTS, manifest};

/// The package as read from the zip.
pub(super) struct Package {
    /// File entries (not folders): path -> bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The single top folder when everything is under one, with its `/`.
    pub root: String,
}

impl Package {
    /// A file of the package by its path below the root folder.
    pub fn get(&self, name: &str) -> Option<&Vec<u8>> {
        self.files.get(&format!("{}{name}", self.root))
    }
}

pub(super) fn read_zip(zip: &Path) -> Result<Package, VerifyError> {
    let bad = |m: String| VerifyError::Input(format!("{}: {m}", zip.display()));
    let file = std::fs::File::open(zip).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable zip: {e}")))?;
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| bad(format!("entry {i} has an unreadable name: {e}")))?
            .to_string();
        if entry.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("cannot read `{name}`: {e}")))?;
        files.insert(name, data);
    }
    if files.is_empty() {
        return Err(bad("the zip has no files".into()));
    }
    let first_dirs: Vec<Option<&str>> = files
        .keys()
        .map(|k| k.split_once('/').map(|(d, _)| d))
        .collect();
    let root = match first_dirs.first() {
        Some(Some(d)) if first_dirs.iter().all(|x| *x == Some(*d)) => format!("{d}/"),
        _ => String::new(),
    };
    Ok(Package { files, root })
}

pub(super) fn check_checksums(pkg: &Package) -> CheckResult {
    let sums_name = format!("{}SHA256SUMS", pkg.root);
    let Some(sums) = pkg.files.get(&sums_name) else {
        return Err(Failed("no SHA256SUMS in the package".into()));
    };
    let text = String::from_utf8_lossy(sums);
    let mut listed = 0;
    let mut problems = Vec::new();
    let mut covered = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let Some((hash, name)) = line.split_once("  ").or_else(|| line.split_once(" *")) else {
            problems.push(format!("line {}: not `HASH  NAME`", n + 1));
            continue;
        };
        let full = format!("{}{name}", pkg.root);
        match pkg.files.get(&full) {
            None => problems.push(format!("`{name}` is listed but not in the zip")),
            Some(data) if package::sha256_hex(data) != hash.to_ascii_lowercase() => {
                problems.push(format!("`{name}` does not match its checksum"))
            }
            Some(_) => {}
        }
        covered.insert(full);
        listed += 1;
    }
    for name in pkg.files.keys() {
        if name != &sums_name && !covered.contains(name) {
            problems.push(format!("`{name}` is not covered by SHA256SUMS"));
        }
    }
    if problems.is_empty() {
        Ok(format!("{listed} files match SHA256SUMS"))
    } else {
        Err(Failed(problems.join("; ")))
    }
}

/// service.json against the files: Ok(detail, the manifest), or Ok(detail, None) for a
/// zip that is not a cargo-winpkg package.
pub(super) fn check_manifest(
    pkg: &Package,
) -> Result<(String, Option<manifest::Manifest>), Failed> {
    let Some(bytes) = pkg.get("service.json") else {
        return Ok((
            "no service.json (not a cargo-winpkg package): skipped".into(),
            None,
        ));
    };
    let m = manifest::from_json(bytes).map_err(|e| Failed(e.to_string()))?;
    let mut problems = Vec::new();
    for f in &m.files {
        match pkg.get(&f.path) {
            None => problems.push(format!("service.json lists `{}`, which is missing", f.path)),
            Some(data) => {
                if f.sha256 != package::sha256_hex(data) || f.size != data.len() as u64 {
                    problems.push(format!("`{}` differs from service.json", f.path));
                }
            }
        }
    }
    if pkg.get(&m.exe).is_none() {
        problems.push(format!("the exe `{}` is missing", m.exe));
    }
    if m.service.is_some() {
        for f in SCRIPTS {
            if pkg.get(f).is_none() {
                problems.push(format!("the service package lacks {f}"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(Failed(problems.join("; ")));
    }
    Ok((
        format!(
            "{} {} for {}: {} files as listed",
            m.package.name,
            m.package.version,
            m.package.target,
            m.files.len()
        ),
        Some(m),
    ))
}

/// Extract the PE files into `dir` (layout kept) and check them as one bundle.
pub(super) fn check_closure(pkg: &Package, dir: &Path, policy: &Policy) -> CheckResult {
    let mut pes = Vec::new();
    for (name, data) in &pkg.files {
        if !crate::pe::looks_like_pe(data) {
            continue;
        }
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Failed(e.to_string()))?;
        }
        std::fs::write(&path, data).map_err(|e| Failed(e.to_string()))?;
        pes.push(path);
    }
    if pes.is_empty() {
        return Err(Failed("the package has no PE file".into()));
    }
    let report = check::check(
        &pes,
        &CheckOptions {
            policy: policy.clone(),
            dll_dirs: Vec::new(),
        },
    )
    .map_err(|errs| Failed(check::describe_input_errors(&errs).replace('\n', "; ")))?;
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    if errors.is_empty() {
        Ok(format!(
            "{} PE files; every closure resolves inside the package ({} warnings)",
            pes.len(),
            report.count(Severity::Warning)
        ))
    } else {
        Err(Failed(errors.join("; ")))
    }
}
