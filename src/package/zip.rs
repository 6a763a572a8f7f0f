//! The zip: reproducible, atomically written, with names Windows can extract.
//!
//! Entries are sorted, use `/`, carry a fixed timestamp (`SOURCE_DATE_EPOCH` when set,
//! else 1980-01-01) and fixed permissions, and are deflated with a fixed level, so the
//! same inputs give the same bytes. The zip is written to a temporary file beside its
//! final name and renamed into place: an interrupted run leaves the previous package
//! untouched and never a partial one under the final name.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Where a file of the package comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// Files by their path inside the package (relative, `/`-separated).
pub type Contents = BTreeMap<String, Source>;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Signing a generated script failed.
    #[error("{0}")]
    Sign(Box<super::sign::SignError>),
    /// A generated script could not be written for signing, or read back.
    #[error("{}: {source}", path.display())]
    ScriptFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{name}` cannot be extracted on Windows: {why}")]
    BadName { name: String, why: String },
    #[error("`{a}` and `{b}` differ only in case: Windows would extract one over the other")]
    CaseClash { a: String, b: String },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{key}: `{pattern}` is not a valid pattern: {why}")]
    BadPattern {
        key: &'static str,
        pattern: String,
        why: String,
    },
    #[error("{key}: `{pattern}` matches no file (looked in {})", base.display())]
    NoMatch {
        key: &'static str,
        pattern: String,
        base: PathBuf,
    },
    #[error("two files would be `{0}` in the package: rename one (include's dest) or drop it")]
    Duplicate(String),
    #[error(
        "`{name}` is both a file (`{file}`) and a folder (of `{folder}`): no file system can extract both"
    )]
    FileAndFolder {
        name: String,
        file: String,
        folder: String,
    },
    #[error("the service's settings cannot be written into {file} safely: {reason}")]
    Unrepresentable { file: &'static str, reason: String },
}

const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "CONIN$",
    "CONOUT$",
];

/// Can Windows extract an entry of this name? Checks every path component.
pub fn check_name(name: &str) -> Result<(), PackageError> {
    let bad = |why: &str| {
        Err(PackageError::BadName {
            name: name.to_string(),
            why: why.to_string(),
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.starts_with('/') || name.contains('\\') || name.chars().nth(1) == Some(':') {
        return bad("paths inside a package must be relative and use `/`");
    }
    for part in name.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return bad("empty, `.` and `..` path components are not allowed");
        }
        if part.ends_with('.') || part.ends_with(' ') {
            return bad("a name cannot end with a dot or a space on Windows");
        }
        if let Some(c) = part
            .chars()
            .find(|c| "<>:\"|?*".contains(*c) || (*c as u32) < 32)
        {
            return bad(&format!(
                "`{}` is not allowed in Windows file names",
                c.escape_default()
            ));
        }
        let stem = part.split('.').next().unwrap_or(part).trim_end();
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
            return bad(&format!("`{stem}` is a reserved device name on Windows"));
        }
    }
    Ok(())
}

/// Reject names Windows cannot hold, and names (or folders) that collide
/// case-insensitively.
pub fn check_names<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), PackageError> {
    // Every path prefix (folders, and the full name as a file), by its lower-case form:
    // (as spelled, the entry it came from, whether it is a file).
    let mut seen: BTreeMap<String, (String, &String, bool)> = BTreeMap::new();
    for n in names {
        check_name(n)?;
        let mut prefix = String::new();
        for part in n.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            let is_file = prefix.len() == n.len();
            match seen.get(&prefix.to_lowercase()) {
                Some((spelled, other, _)) if *spelled != prefix => {
                    return Err(PackageError::CaseClash {
                        a: (*other).clone(),
                        b: n.clone(),
                    });
                }
                Some((_, _, true)) if is_file => return Err(PackageError::Duplicate(n.clone())),
                Some((_, other, was_file)) if *was_file != is_file => {
                    let (file, folder) = if is_file { (n, *other) } else { (*other, n) };
                    return Err(PackageError::FileAndFolder {
                        name: prefix.clone(),
                        file: file.clone(),
                        folder: folder.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    seen.insert(prefix.to_lowercase(), (prefix.clone(), n, is_file));
                }
            }
        }
    }
    Ok(())
}

/// The zip timestamp: `SOURCE_DATE_EPOCH` (seconds since 1970, UTC) when given and
/// valid, else 1980-01-01 00:00:00, the earliest a zip can hold.
/// `SOURCE_DATE_EPOCH` as seconds, else 1980-01-01 (the zip's own fallback), for the
/// MSI's times.
/// The temporary file a package (zip or MSI) is written to in `dir` before it is renamed
/// to `dest`: named so that the next run removes it if this one is killed, and readable
/// by others (less the umask), not a private temp file.
pub(super) fn temp_beside(dest: &Path, dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package".into());
    let prefix = super::leftovers::zip_prefix(&file_name);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder.tempfile_in(dir)
}

/// Where a package's timestamps come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The `SOURCE_DATE_EPOCH` environment variable.
    SourceDateEpoch,
    /// The time of the last commit of the git repository the package's source is in.
    GitCommit,
    /// Neither: 1980-01-01, the earliest time a zip holds.
    Default,
}

/// The time every entry of the zip and the MSI carries, in seconds since 1970:
/// `SOURCE_DATE_EPOCH` when set, else the time of the last commit of the git
/// repository `dir` is in (one commit, one time: still reproducible, and a file served
/// from the package has a real Last-Modified date), else 1980-01-01.
pub fn source_time(dir: &Path) -> (u64, TimeSource) {
    if let Some(secs) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        return (secs, TimeSource::SourceDateEpoch);
    }
    let commit = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "-1", "--format=%ct"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    match commit {
        Some(secs) => (secs.max(315_532_800), TimeSource::GitCommit),
        None => (315_532_800, TimeSource::Default),
    }
}

pub fn timestamp_secs(source_date_epoch: Option<&str>) -> u64 {
    source_date_epoch
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(315_532_800)
}

pub fn timestamp(source_date_epoch: Option<&str>) -> zip::DateTime {
    let fallback = zip::DateTime::default();
    let Some(secs) = source_date_epoch.and_then(|s| s.trim().parse::<i64>().ok()) else {
        return fallback;
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (Ok(y), Ok(m), Ok(d)) = (u16::try_from(y), u8::try_from(m), u8::try_from(d)) else {
        return fallback;
    };
    zip::DateTime::from_date_and_time(
        y.clamp(1980, 2107),
        m,
        d,
        (rem / 3600) as u8,
        ((rem % 3600) / 60) as u8,
        (rem % 60) as u8,
    )
    .unwrap_or(fallback)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A file of the package: its size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub sha256: String,
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Copy `from` to `to` (if any) in 1 MiB pieces, hashing on the way: memory stays
/// bounded however large the file.
pub fn stream(from: &mut dyn Read, mut to: Option<&mut dyn Write>) -> std::io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        if let Some(w) = to.as_mut() {
            w.write_all(&buf[..n])?;
        }
        size += n as u64;
    }
    Ok(Digest {
        size,
        sha256: hex(&hasher.finalize()),
    })
}

/// The size and SHA-256 of a source, read as a stream.
pub fn digest(src: &Source) -> Result<Digest, PackageError> {
    match src {
        Source::Bytes(b) => Ok(Digest {
            size: b.len() as u64,
            sha256: sha256_hex(b),
        }),
        Source::File(p) => {
            let read = |source| PackageError::Read {
                path: p.clone(),
                source,
            };
            let mut f = File::open(p).map_err(read)?;
            stream(&mut f, None).map_err(read)
        }
    }
}

/// `SHA256SUMS` in the format `sha256sum -c` reads, for every entry given.
pub fn sha256sums(digests: &BTreeMap<String, Digest>) -> String {
    digests
        .iter()
        .map(|(name, d)| format!("{}  {name}\n", d.sha256))
        .collect()
}

/// Write `files` as a zip at `dest`, atomically: into a temporary file beside it, then
/// renamed over it. `executable` entries get mode 0755. Returns each file entry's
/// compressed piece lengths (for the MSI's cabinet).
pub fn write_zip(
    dest: &Path,
    files: &Contents,
    mtime: zip::DateTime,
    executable: &dyn Fn(&str) -> bool,
) -> Result<Pieces, PackageError> {
    check_names(files.keys())?;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PackageError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(werr(&dir))?;
    let tmp = temp_beside(dest, &dir).map_err(werr(&dir))?;
    let pieces = write_zip_to(tmp.as_file(), tmp.path(), files, mtime, executable)?;
    tmp.persist(dest).map_err(|e| PackageError::Write {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    Ok(pieces)
}

use super::deflate::{Failed, Pieces};

fn write_zip_to(
    file: &File,
    tmp: &Path,
    files: &Contents,
    mtime: zip::DateTime,
    executable: &dyn Fn(&str) -> bool,
) -> Result<Pieces, PackageError> {
    let werr = |source: std::io::Error| PackageError::Write {
        path: tmp.to_path_buf(),
        source,
    };
    let mut zip = super::deflate::ZipOut::new(std::io::BufWriter::new(file), mtime);
    // Directory entries first (sorted), so every extractor creates folders.
    let mut dirs = std::collections::BTreeSet::new();
    for name in files.keys() {
        let mut at = 0;
        while let Some(i) = name[at..].find('/') {
            dirs.insert(&name[..at + i + 1]);
            at += i + 1;
        }
    }
    for d in dirs {
        zip.add_dir(d, 0o755).map_err(werr)?;
    }
    for (name, src) in files {
        let mode = if executable(name) { 0o755 } else { 0o644 };
        let added = match src {
            Source::Bytes(b) => zip.add_file(name, mode, &mut b.as_slice()),
            Source::File(p) => File::open(p)
                .map_err(Failed::Read)
                .and_then(|mut f| zip.add_file(name, mode, &mut f)),
        };
        added.map_err(|e| match (e, src) {
            (Failed::Read(source), Source::File(p)) => PackageError::Read {
                path: p.clone(),
                source,
            },
            (Failed::Read(source) | Failed::Write(source), _) => werr(source),
        })?;
    }
    let (out, pieces) = zip.finish().map_err(werr)?;
    let file = out.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(werr)?;
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names() {
        for ok in [
            "a.exe",
            "conf/app.toml",
            "CONFIG.txt",
            "con-fig.txt",
            "é中.txt",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "CON",
            "con.txt",
            "dir/NUL.dll",
            "COM1.log",
            "a.",
            "a ",
            "a:b",
            "a<b",
            "a|b",
            "a?b",
            "a*b",
            "a\"b",
            "/abs",
            "../up",
            "a/../b",
            "C:x",
            "a\\b",
            "",
            "a//b",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let names = ["README.md".to_string(), "readme.md".to_string()];
        assert!(matches!(
            check_names(names.iter()),
            Err(PackageError::CaseClash { .. })
        ));
        let names = ["Conf/a".to_string(), "conf/b".to_string()];
        assert!(matches!(
            check_names(names.iter()),
            Err(PackageError::CaseClash { .. })
        ));
        let names = ["conf/a".to_string(), "conf/b".to_string()];
        assert!(check_names(names.iter()).is_ok());
        let names = ["a.exe".to_string(), "a.exe".to_string()];
        assert!(matches!(
            check_names(names.iter()),
            Err(PackageError::Duplicate(_))
        ));
        for names in [["docs", "docs/x"], ["docs/x", "docs"]] {
            let names = names.map(String::from);
            assert!(
                matches!(
                    check_names(names.iter()),
                    Err(PackageError::FileAndFolder { .. })
                ),
                "{names:?}"
            );
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(None), zip::DateTime::default());
        let t = timestamp(Some("1700000000")); // 2023-11-14 22:13:20 UTC
        assert_eq!((t.year(), t.month(), t.day()), (2023, 11, 14));
        assert_eq!((t.hour(), t.minute(), t.second()), (22, 13, 20));
        assert_eq!(timestamp(Some("garbage")), zip::DateTime::default());
        assert_eq!(timestamp(Some("0")).year(), 1980);
    }
}
