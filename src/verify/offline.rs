//! The checks that need no Wine: the zip's names and sizes, then (only when those pass)
//! its entries streamed to a scratch folder with their checksums, service.json against
//! the files, and the DLL closure of every PE file in it.
//!
//! Nothing from the zip is trusted: every name is validated before anything is
//! written, each file is written below the scratch folder through components that
//! passed [`package::check_name`] (no `..`, no absolute, drive, UNC or backslash form),
//! with `create_new` (never over something), and every entry is read through a limit:
//! its declared size, a cap per entry and in all, and a cap on the compression ratio.
//! Memory stays bounded: entries are streamed, and only SHA256SUMS and service.json
//! (each at most [`SMALL_FILE`] bytes) are kept.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{CheckResult, Failed, VerifyError};
use crate::check::{self, CheckOptions, Policy, Report, Severity};
use crate::package::{self, SCRIPTS, manifest};

/// The most bytes SHA256SUMS or service.json may have.
pub const SMALL_FILE: u64 = 16 << 20;

/// How much a zip may make `verify` read and write.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest expanded size of one entry.
    pub max_entry: u64,
    /// The largest expanded size of all entries together.
    pub max_total: u64,
    /// The largest expanded/compressed ratio of an entry over 1 MiB.
    pub max_ratio: u64,
    /// The most entries.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry: 4 << 30,
            max_total: 8 << 30,
            max_ratio: 200,
            max_entries: 65_536,
        }
    }
}

/// One entry of the zip's central directory, as declared.
pub(super) struct Listed {
    pub name: String,
    pub dir: bool,
    pub size: u64,
    pub compressed: u64,
}

/// The zip's central directory.
pub(super) struct Listing {
    /// Every entry, by distinct name.
    pub entries: Vec<Listed>,
    /// How many records the end-of-directory record declares.
    pub declared: Option<u64>,
}

/// The zip's central directory: every entry's name and declared sizes. Reading it
/// decompresses nothing.
pub(super) fn list(zip: &Path) -> Result<Listing, VerifyError> {
    let file = File::open(zip).map_err(|source| VerifyError::Open {
        zip: zip.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(|source| VerifyError::NotZip {
        zip: zip.to_path_buf(),
        source,
    })?;
    let mut out = Vec::with_capacity(archive.len().min(65_536));
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|source| VerifyError::Entry {
                zip: zip.to_path_buf(),
                index: i,
                source,
            })?;
        let name = entry
            .name()
            .map_err(|source| VerifyError::EntryName {
                zip: zip.to_path_buf(),
                index: i,
                source,
            })?
            .to_string();
        out.push(Listed {
            dir: entry.is_dir(),
            name,
            size: entry.size(),
            compressed: entry.compressed_size(),
        });
    }
    if out.iter().all(|e| e.dir) {
        return Err(VerifyError::Empty(zip.to_path_buf()));
    }
    Ok(Listing {
        entries: out,
        // The zip reader keeps one entry per name: the directory's own count shows
        // the duplicates it folded away.
        declared: declared_entries(zip),
    })
}

/// The number of entries the zip's end-of-central-directory record declares (the ZIP64
/// one when present).
fn declared_entries(zip: &Path) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(zip).ok()?;
    let len = f.metadata().ok()?.len();
    let tail_len = len.min(65_557);
    f.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = vec![0u8; usize::try_from(tail_len).ok()?];
    f.read_exact(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let eocd = tail.get(at..at + 22)?;
    let total = u16::from_le_bytes([eocd[10], eocd[11]]);
    if total != u16::MAX {
        return Some(u64::from(total));
    }
    let at64 = tail.windows(4).rposition(|w| w == b"PK\x06\x06")?;
    let rec = tail.get(at64..at64 + 40)?;
    Some(u64::from_le_bytes(rec[32..40].try_into().ok()?))
}

/// Every name extracts on Windows, inside the destination, exactly once; and the sizes
/// are within the limits.
pub(super) fn check_listing(listing: &Listing, limits: &Limits) -> CheckResult {
    if let Some(d) = listing.declared
        && d != listing.entries.len() as u64
    {
        return Err(Failed(format!(
            "the zip's directory has {d} entries but only {} distinct names: two entries share a name, and which one an extractor keeps is up to it",
            listing.entries.len()
        )));
    }
    let listing = &listing.entries;
    if listing.len() > limits.max_entries {
        return Err(Failed(format!(
            "{} entries, more than the {} allowed (--max-entries)",
            listing.len(),
            limits.max_entries
        )));
    }
    let files: Vec<String> = listing
        .iter()
        .filter(|e| !e.dir)
        .map(|e| e.name.clone())
        .collect();
    package::check_names(files.iter()).map_err(|e| Failed(e.to_string()))?;
    for d in listing.iter().filter(|e| e.dir) {
        let name = d.name.trim_end_matches('/');
        package::check_name(name).map_err(|e| Failed(e.to_string()))?;
        if files.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            return Err(Failed(format!(
                "`{name}` is both a file and a folder: no file system can extract both"
            )));
        }
    }
    let mut total: u64 = 0;
    for e in listing.iter().filter(|e| !e.dir) {
        check_size(e, limits)?;
        total = total.saturating_add(e.size);
    }
    if total > limits.max_total {
        return Err(Failed(format!(
            "the entries expand to {total} bytes, more than the {} allowed (--max-total)",
            limits.max_total
        )));
    }
    Ok(format!(
        "{} files; every name extracts on Windows, once; {total} bytes expanded",
        files.len()
    ))
}

fn check_size(e: &Listed, limits: &Limits) -> Result<(), Failed> {
    if e.size > limits.max_entry {
        return Err(Failed(format!(
            "`{}` expands to {} bytes, more than the {} allowed for one entry (--max-entry)",
            e.name, e.size, limits.max_entry
        )));
    }
    if e.size > 1 << 20 && e.size / e.compressed.max(1) > limits.max_ratio {
        return Err(Failed(format!(
            "`{}` expands {} bytes to {} ({}:1), past the {}:1 allowed (--max-ratio): a zip bomb?",
            e.name,
            e.compressed,
            e.size,
            e.size / e.compressed.max(1),
            limits.max_ratio
        )));
    }
    Ok(())
}

/// A file of the package, as extracted.
pub(super) struct Extracted {
    pub size: u64,
    pub sha256: String,
    /// Starts with `MZ`.
    pub pe: bool,
}

/// The package as extracted into the scratch folder.
pub(super) struct Package {
    /// Every file by its name in the zip.
    pub files: BTreeMap<String, Extracted>,
    /// The single top folder when everything is under one, with its `/`.
    pub root: String,
    /// Where the files are (below it, by their names).
    pub dir: PathBuf,
    /// SHA256SUMS and service.json, when the package has them.
    small: BTreeMap<String, Vec<u8>>,
}

impl Package {
    /// The package from files extracted into `dir` (the small ones' bytes kept).
    pub fn assemble(
        files: BTreeMap<String, Extracted>,
        dir: &Path,
        small: BTreeMap<String, Vec<u8>>,
    ) -> Package {
        Package {
            root: root_of(files.keys()),
            files,
            dir: dir.to_path_buf(),
            small,
        }
    }

    /// A file of the package by its path below the root folder.
    pub fn get(&self, name: &str) -> Option<&Extracted> {
        self.files.get(&format!("{}{name}", self.root))
    }

    /// The bytes of SHA256SUMS or service.json (below the root folder).
    pub fn small(&self, name: &str) -> Option<&[u8]> {
        self.small
            .get(&format!("{}{name}", self.root))
            .map(Vec::as_slice)
    }

    /// Where a file (by its name in the zip) was extracted.
    pub fn path(&self, name: &str) -> PathBuf {
        inside(&self.dir, name)
    }
}

/// `dir` joined with a name that passed [`package::check_name`]: only normal
/// components, so the result is inside `dir`.
pub(super) fn inside(dir: &Path, name: &str) -> PathBuf {
    let mut p = dir.to_path_buf();
    for part in name.split('/') {
        p.push(part);
    }
    p
}

/// The single top folder of `names`, with its `/`, or "".
fn root_of<'a>(mut names: impl Iterator<Item = &'a String>) -> String {
    let top = |k: &'a String| k.split_once('/').map(|(d, _)| d);
    let Some(first) = names.next().and_then(top) else {
        return String::new();
    };
    if names.all(|k| top(k) == Some(first)) {
        format!("{first}/")
    } else {
        String::new()
    }
}

/// Stream every file entry of `zip` (whose listing passed [`check_listing`]) into
/// `dir`, hashing it on the way and enforcing its declared size.
pub(super) fn extract(zip: &Path, listing: &Listing, dir: &Path) -> Result<Package, Failed> {
    let file = File::open(zip).map_err(|e| Failed(format!("cannot open: {e}")))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| Failed(format!("not a readable zip: {e}")))?;
    let mut files = BTreeMap::new();
    let mut small = BTreeMap::new();
    for (i, listed) in listing.entries.iter().enumerate() {
        if listed.dir {
            continue;
        }
        let entry = archive
            .by_index(i)
            .map_err(|e| Failed(format!("`{}`: {e}", listed.name)))?;
        let dest = inside(dir, &listed.name);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failed(format!("cannot create {}: {e}", parent.display())))?;
        }
        let keep = [package::SHA256SUMS, package::SERVICE_JSON]
            .iter()
            .any(|n| listed.name.rsplit('/').next() == Some(n));
        let (extracted, bytes) = copy_entry(entry, listed, &dest, keep)?;
        if let Some(b) = bytes {
            small.insert(listed.name.clone(), b);
        }
        files.insert(listed.name.clone(), extracted);
    }
    Ok(Package::assemble(files, dir, small))
}

/// Copy one entry to `dest` (a new file), reading at most its declared size plus one
/// byte; keep its bytes when `keep` (and it is small).
pub(super) fn copy_entry(
    entry: impl Read,
    listed: &Listed,
    dest: &Path,
    keep: bool,
) -> Result<(Extracted, Option<Vec<u8>>), Failed> {
    let name = &listed.name;
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| Failed(format!("cannot create {}: {e}", dest.display())))?;
    let mut sink = Keep {
        file: &mut file,
        kept: (keep && listed.size <= SMALL_FILE).then(Vec::new),
    };
    let digest = package::stream(
        &mut entry.take(listed.size.saturating_add(1)),
        Some(&mut sink),
    )
    .map_err(|e| Failed(format!("cannot read `{name}`: {e}")))?;
    if digest.size > listed.size {
        return Err(Failed(format!(
            "`{name}` expands past the {} bytes it declares: a crafted zip",
            listed.size
        )));
    }
    if digest.size != listed.size {
        return Err(Failed(format!(
            "`{name}` has {} bytes, not the {} it declares",
            digest.size, listed.size
        )));
    }
    let kept = sink.kept;
    Ok((
        Extracted {
            size: digest.size,
            sha256: digest.sha256,
            pe: crate::pe::sniff_file(dest).unwrap_or(false),
        },
        kept,
    ))
}

/// Writes to the extracted file, keeping a copy of the bytes when asked.
struct Keep<'a> {
    file: &'a mut File,
    kept: Option<Vec<u8>>,
}

impl Write for Keep<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(k) = self.kept.as_mut() {
            k.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

pub(super) fn check_checksums(pkg: &Package) -> CheckResult {
    let sums_name = format!("{}{}", pkg.root, package::SHA256SUMS);
    let Some(sums) = pkg.small(package::SHA256SUMS) else {
        return Err(Failed(if pkg.files.contains_key(&sums_name) {
            format!("SHA256SUMS is larger than {SMALL_FILE} bytes")
        } else {
            "no SHA256SUMS in the package".into()
        }));
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
            Some(f) if f.sha256 != hash.to_ascii_lowercase() => {
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
    let Some(bytes) = pkg.small(package::SERVICE_JSON) else {
        if pkg.get(package::SERVICE_JSON).is_some() {
            return Err(Failed(format!(
                "service.json is larger than {SMALL_FILE} bytes"
            )));
        }
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
            Some(x) if f.sha256 != x.sha256 || f.size != x.size => {
                problems.push(format!("`{}` differs from service.json", f.path));
            }
            Some(_) => {}
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

/// Check the extracted PE files as one bundle: only DLLs inside the package count. The
/// report comes back for the signature step; its trust findings are judged there.
pub(super) fn check_closure(pkg: &Package, policy: &Policy) -> (CheckResult, Option<Report>) {
    match closure_report(pkg, policy) {
        Err(e) => (Err(e), None),
        Ok((pes, report)) => {
            let errors: Vec<String> = report
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error && !d.code.is_hygiene())
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            let warnings = report
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Warning && !d.code.is_hygiene())
                .count();
            let result = if errors.is_empty() {
                Ok(format!(
                    "{pes} PE files; every closure resolves inside the package ({warnings} warnings)"
                ))
            } else {
                Err(Failed(errors.join("; ")))
            };
            (result, Some(report))
        }
    }
}

fn closure_report(pkg: &Package, policy: &Policy) -> Result<(usize, Report), Failed> {
    let pes: Vec<PathBuf> = pkg
        .files
        .iter()
        .filter(|(_, f)| f.pe)
        .map(|(name, _)| pkg.path(name))
        .collect();
    if pes.is_empty() {
        return Err(Failed("the package has no PE file".into()));
    }
    let report = check::check(
        &pes,
        &CheckOptions {
            policy: policy.clone(),
            dll_dirs: Vec::new(),
            host: None,
        },
    )
    .require_readable()
    .map_err(|errs| Failed(check::describe_input_errors(&errs).replace('\n', "; ")))?;
    Ok((pes.len(), report))
}

/// Every signature intact, and as service.json records it: who signed which file.
pub(super) fn check_signatures(
    pkg: &Package,
    report: &Report,
    manifest: Option<&manifest::Manifest>,
) -> CheckResult {
    let name_of = |path: &Path| {
        pkg.files
            .keys()
            .find(|n| pkg.path(n) == path)
            .cloned()
            .unwrap_or_else(|| path.display().to_string())
    };
    let mut problems: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == check::Code::SignatureMismatch)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    // What each file carries: PE files from the check, scripts from their block.
    let mut actual: BTreeMap<String, Option<manifest::FileSignature>> = BTreeMap::new();
    for f in &report.files {
        let sig = f.signature.as_ref().map(manifest::FileSignature::of);
        actual.insert(name_of(&f.path), sig);
    }
    for name in pkg
        .files
        .keys()
        .filter(|n| n.to_ascii_lowercase().ends_with(".ps1"))
    {
        let sig = std::fs::read(pkg.path(name))
            .ok()
            .and_then(|b| crate::pe::authenticode::script_signature(&b));
        actual.insert(name.clone(), sig.as_ref().map(manifest::FileSignature::of));
    }
    let root = &pkg.root;
    for f in manifest.map(|m| m.files.as_slice()).unwrap_or_default() {
        let Some(have) = actual.get(&format!("{root}{}", f.path)) else {
            continue;
        };
        let thumb =
            |s: &Option<manifest::FileSignature>| s.as_ref().and_then(|s| s.thumbprint.clone());
        if f.signature.is_some() != have.is_some() || thumb(&f.signature) != thumb(have) {
            let say = |s: &Option<manifest::FileSignature>| match s {
                None => "unsigned".to_string(),
                Some(s) => format!("signed by {}", s.subject.as_deref().unwrap_or("?")),
            };
            problems.push(format!(
                "service.json says {} is {}, but it is {}",
                f.path,
                say(&f.signature),
                say(have)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Failed(problems.join("; ")));
    }
    let signed: Vec<&manifest::FileSignature> = actual.values().flatten().collect();
    if signed.is_empty() {
        return Ok("no file is signed".into());
    }
    let mut signers: Vec<&str> = signed
        .iter()
        .map(|s| s.subject.as_deref().unwrap_or("an unknown signer"))
        .collect();
    signers.sort_unstable();
    signers.dedup();
    let stamped = signed.iter().filter(|s| s.timestamped).count();
    Ok(format!(
        "{} of {} files signed, intact, by {}; {stamped} timestamped",
        signed.len(),
        actual.len(),
        signers.join(" and ")
    ))
}
