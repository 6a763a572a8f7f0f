//! The MSI: a Windows Installer database written from Rust (the `msi` crate), holding
//! every file of the package in one embedded cabinet (the `cab` crate), and the service
//! in Windows Installer's own tables (ServiceInstall, ServiceControl), installed
//! per-machine into `ProgramFiles64Folder\<name>` under the `INSTALLDIR` property an
//! admin can set (`msiexec /i x.msi INSTALLDIR="D:\Apps\x" /qn`).
//!
//! - Its files are the zip's entries, read back from the zip just written: the MSI ships
//!   exactly what the zip ships (SHA256SUMS and service.json included).
//! - Upgrades: the ProductCode is derived from the upgrade code and the version
//!   (UUIDv5), so each version is a new product and the same version is the same one
//!   (installing it again repairs it, never duplicates it). A major upgrade removes the
//!   older version first (its service stopped and deleted by its own ServiceControl
//!   rows); a newer installed version stops the install with a message.
//! - Reproducible: component and file keys come from the paths, the PackageCode from
//!   the content, every time from `SOURCE_DATE_EPOCH` (else 1980-01-01).
//! - The service's other settings go into MsiServiceConfig (delayed start, SID type,
//!   privileges, pre-shutdown timeout, the failure-actions flag) and
//!   MsiServiceConfigFailureActions (recovery), which Windows Installer 5 (Windows 7 and
//!   later) applies; Wine's msiexec ignores both.
//! - Strings a user writes reach formatted columns escaped by the script toolkit
//!   ([`crate::script::msi_formatted`]).

use std::io::Seek;
use std::path::{Path, PathBuf};

mod cabinet;
mod registry;
mod service;
mod tables;

pub(crate) use cabinet::block_checksum;
pub use registry::virtual_account_sid;
pub use tables::per_user;

/// Whether the MSI can let the service's account modify its data and log folders (its
/// SID is known at build time, or it needs no grant).
pub fn grants_folders(svc: &Service) -> bool {
    use crate::autostart::service::Account;
    matches!(svc.account, Account::LocalSystem) || registry::account_sid(svc).is_some()
}

use msi::{Package, PackageType};
use sha2::{Digest as _, Sha256};

use crate::autostart::service::Service;

/// What the MSI says about the product.
#[derive(Debug, Clone)]
pub struct Product {
    /// The package name: ProductName, and the install folder's name.
    pub name: String,
    /// `a.b.c` (see [`msi_version`]).
    pub version: String,
    pub manufacturer: String,
    /// The product's identity across versions.
    pub upgrade_code: uuid::Uuid,
    pub arch: MsiArch,
}

impl Product {
    /// This build's product code: derived from the upgrade code, the version, the
    /// platform and `content` (a digest of every file and setting), so each version and
    /// each build of a version that differs is its own product (installing it replaces
    /// the one installed), the same bytes the same product, and the x64 and x86 MSIs of
    /// one version two products (Windows Installer and winget tell them apart by it).
    pub fn product_code(&self, content: &[u8]) -> uuid::Uuid {
        let hex: String = content.iter().map(|b| format!("{b:02x}")).collect();
        let what = format!("{}/{}/{hex}", self.version, self.arch.template());
        uuid::Uuid::new_v5(&self.upgrade_code, what.as_bytes())
    }
}

/// What [`write`] made: the product code it chose.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub product_code: uuid::Uuid,
}

/// A versioned file's version resource, as File.Version and File.Language take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    /// `a.b.c.d`.
    pub version: String,
    /// A decimal language id, when the resource names one.
    pub language: Option<String>,
}

/// A GUID as Windows Installer writes it: `{...}`, upper case.
pub fn guid(u: uuid::Uuid) -> String {
    format!("{{{}}}", u.to_string().to_uppercase())
}

/// The platform an MSI is for (its Template summary property and folders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsiArch {
    X64,
    X86,
    Arm64,
}

impl MsiArch {
    /// From a target triple's architecture.
    pub fn from_target_arch(arch: &str) -> MsiArch {
        match arch {
            "x86_64" => MsiArch::X64,
            "aarch64" => MsiArch::Arm64,
            _ => MsiArch::X86,
        }
    }

    fn template(self) -> &'static str {
        match self {
            MsiArch::X64 => "x64",
            MsiArch::X86 => "Intel",
            MsiArch::Arm64 => "Arm64",
        }
    }

    fn program_files(self) -> &'static str {
        match self {
            MsiArch::X86 => "ProgramFilesFolder",
            _ => "ProgramFiles64Folder",
        }
    }

    fn component_attributes(self) -> i32 {
        // msidbComponentAttributes64bit
        if self == MsiArch::X86 { 0 } else { 256 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MsiError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the zip {}: {source}", path.display())]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the service runs as a user account with a password, which an MSI cannot hold safely: install it with install.cmd, or use a managed service account (DOMAIN\\name$)"
    )]
    PasswordAccount,
    #[error("`{0}` is {1} bytes: an MSI's cabinet takes files under 2 GiB")]
    TooLarge(String, u64),
}

/// Why a package version is no MSI version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsiVersionError {
    #[error(
        "`{0}` has a pre-release or build part, which Windows Installer cannot compare: an MSI version is three numbers (release `1.2.3`, or set the version to the next release's numbers)"
    )]
    PreRelease(String),
    #[error("`{0}` is not three numbers a.b.c")]
    NotThreeNumbers(String),
    #[error(
        "`{part}` in `{version}` is out of range: an MSI version is a.b.c with a and b up to 255 and c up to 65535"
    )]
    OutOfRange { part: String, version: String },
}

/// MSI versions are `a.b.c` with a < 256, b < 256, c < 65536; a pre-release has no
/// place in them. The error says why, for the user to map the version.
pub fn msi_version(version: &str) -> Result<String, MsiVersionError> {
    if version.contains(['-', '+']) {
        return Err(MsiVersionError::PreRelease(version.to_string()));
    }
    let parts: Vec<&str> = version.split('.').collect();
    let limits = [255u32, 255, 65535];
    if parts.len() != 3 {
        return Err(MsiVersionError::NotThreeNumbers(version.to_string()));
    }
    for (p, max) in parts.iter().zip(limits) {
        match p.parse::<u32>() {
            Ok(n) if n <= max => {}
            _ => {
                return Err(MsiVersionError::OutOfRange {
                    part: p.to_string(),
                    version: version.to_string(),
                });
            }
        }
    }
    Ok(version.to_string())
}

/// Everything [`write`] needs.
pub struct MsiInput<'a> {
    /// The package's zip: every file entry goes into the MSI.
    pub zip: &'a Path,
    /// The folder every entry of the zip is under, when there is one.
    pub root_dir: Option<&'a str>,
    pub dest: &'a Path,
    pub product: &'a Product,
    pub service: Option<&'a Service>,
    /// How the program starts when not as a service: a Run entry, or the install
    /// folder on PATH (a scheduled task is not in the MSI).
    pub autostart: Option<&'a crate::autostart::Autostart>,
    /// Seconds since 1970 for every time in the MSI.
    pub mtime: u64,
    /// The versioned files' versions, by their path in the install folder (`/`-separated,
    /// lower case): Windows Installer's file versioning rules need them in File.Version.
    pub versions: &'a std::collections::BTreeMap<String, FileVersion>,
    /// The zip's compressed pieces of each entry, as its writer made them: the cabinet
    /// is then made of them. Without them (or when they do not fit the zip) the files
    /// are compressed again.
    pub pieces: Option<&'a super::deflate::Pieces>,
}

/// One file of the MSI.
pub(super) struct Entry {
    /// Its path in the install folder, `/`-separated.
    path: String,
    /// Its key in the File table and its name in the cabinet.
    id: String,
    size: u64,
    /// Its zip entry's CRC-32, for the PackageCode.
    crc: u32,
    /// For MsiFileHash (an unversioned file's; also the PackageCode's).
    md5: Option<[u8; 16]>,
    /// Its version resource, for a versioned file.
    version: Option<FileVersion>,
}

/// A stable identifier for `what` (`f_…`, `c_…`, `d_…`): a table key.
pub(super) fn key(prefix: &str, what: &str) -> String {
    let h = Sha256::digest(what.as_bytes());
    let hex: String = h.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

/// `short|long` for a file or folder name: an 8.3 short name made from the long one
/// (the installer needs one when the long one is not 8.3 itself), unique by `n`.
pub(super) fn short_long(name: &str, n: usize) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, e),
        _ => (name, ""),
    };
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(max)
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let tag = format!("~{n}");
    let mut short = clean(stem, 8 - tag.len().min(7));
    if short.is_empty() {
        short.push('F');
    }
    short.push_str(&tag);
    let e = clean(ext, 3);
    if !e.is_empty() {
        short.push('.');
        short.push_str(&e);
    }
    format!("{short}|{name}")
}

/// Write the MSI to `input.dest` (through a temporary file, renamed into place).
pub fn write(input: &MsiInput) -> Result<Written, MsiError> {
    let zip_err = |source| MsiError::Zip {
        path: input.zip.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(input.zip).map_err(|source| MsiError::Read {
        path: input.zip.to_path_buf(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(zip_err)?;
    let dir = input.dest.parent().unwrap_or(Path::new("."));
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MsiError::Write { path, source }
    };
    // The cabinet first, in a temporary file.
    let mut cab_file = tempfile::tempfile_in(dir).map_err(werr(dir))?;
    let entries = cabinet_of(input, &mut archive, &mut cab_file)?;
    let mut v4 = tempfile::tempfile_in(dir).map_err(werr(dir))?;
    let written;
    {
        let mut p = Package::create(PackageType::Installer, &mut v4).map_err(werr(dir))?;
        written = tables::database(&mut p, input, &entries)?;
        {
            let mut w = p.write_stream("product.cab").map_err(werr(dir))?;
            cab_file
                .seek(std::io::SeekFrom::Start(0))
                .map_err(werr(dir))?;
            std::io::copy(&mut cab_file, &mut w).map_err(werr(dir))?;
        }
        p.flush().map_err(werr(dir))?;
    }
    let mut tmp = super::zip::temp_beside(input.dest, dir).map_err(werr(dir))?;
    to_version3(&mut v4, tmp.as_file_mut()).map_err(werr(input.dest))?;
    tmp.as_file().sync_all().map_err(werr(dir))?;
    tmp.persist(input.dest)
        .map_err(|e| werr(input.dest)(e.error))?;
    Ok(written)
}

/// Write the cabinet of the zip's files to `cab`: from the zip's own compressed pieces
/// when the zip's writer gave them (and they agree with the zip), else compressed
/// here; the files as the tables list them.
fn cabinet_of(
    input: &MsiInput,
    archive: &mut zip::ZipArchive<std::fs::File>,
    cab: &mut std::fs::File,
) -> Result<Vec<Entry>, MsiError> {
    let werr = |source| MsiError::Write {
        path: input.dest.to_path_buf(),
        source,
    };
    let names = zip_files(input, archive)?;
    let mut entries: Vec<Entry> = names
        .iter()
        .map(|(_, _, path, size, _, crc)| Entry {
            path: path.clone(),
            id: key("f", path),
            size: *size,
            crc: *crc,
            md5: None,
            version: input.versions.get(&path.to_lowercase()).cloned(),
        })
        .collect();
    let (date, time) = dos_time(input.mtime);
    let inputs: Vec<cabinet::CabInput> = names
        .iter()
        .zip(&entries)
        .map(|((i, _, _, size, _, _), e)| cabinet::CabInput {
            name: &e.id,
            index: *i,
            size: *size,
            date,
            time,
        })
        .collect();
    let shared = shared_pieces(input, &names);
    let md5s: Vec<Option<[u8; 16]>> = match shared {
        Some(pieces) if names.iter().any(|n| n.3 > 0) => {
            let md5_of: Vec<bool> = entries.iter().map(|e| e.version.is_none()).collect();
            cabinet::write_shared(cab, &inputs, &pieces, archive, &md5_of).map_err(werr)?
        }
        _ => cabinet::write(cab, &inputs, archive)
            .map_err(werr)?
            .into_iter()
            .map(Some)
            .collect(),
    };
    drop(inputs);
    for (e, md5) in entries.iter_mut().zip(md5s) {
        e.md5 = md5;
    }
    Ok(entries)
}

/// The zip's file entries: (index, name in the zip, path below the install folder,
/// size, compressed size when deflated, CRC-32).
type ZipFile = (usize, String, String, u64, Option<u64>, u32);

fn zip_files(
    input: &MsiInput,
    archive: &mut zip::ZipArchive<std::fs::File>,
) -> Result<Vec<ZipFile>, MsiError> {
    let zip_err = |source| MsiError::Zip {
        path: input.zip.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for i in 0..archive.len() {
        let e = archive.by_index_raw(i).map_err(zip_err)?;
        if e.is_dir() {
            continue;
        }
        let name = e.name().map_err(zip_err)?.to_string();
        let path = match input.root_dir {
            Some(root) => name
                .strip_prefix(&format!("{root}/"))
                .unwrap_or(&name)
                .to_string(),
            None => name.clone(),
        };
        if e.size() >= 1 << 31 {
            return Err(MsiError::TooLarge(path, e.size()));
        }
        let raw =
            (e.compression() == zip::CompressionMethod::Deflated).then(|| e.compressed_size());
        names.push((i, name, path, e.size(), raw, e.crc32()));
    }
    Ok(names)
}

/// The zip's pieces of every file, when every file's agree with its entry (their count
/// with its size, their lengths with its compressed size).
fn shared_pieces(input: &MsiInput, names: &[ZipFile]) -> Option<Vec<Vec<u32>>> {
    let pieces = input.pieces?;
    names
        .iter()
        .map(|(_, name, _, size, raw, _)| {
            let p = pieces.get(name)?;
            let count = size.div_ceil(super::deflate::PIECE as u64).max(1);
            let sum: u64 = p.iter().map(|&l| u64::from(l)).sum();
            (p.len() as u64 == count && Some(sum) == *raw).then(|| p.clone())
        })
        .collect()
}

/// Copy a compound file into `out` as version 3 (512-byte sectors): every storage and
/// stream with its class id, state bits and times, in the same order, so the copy is as
/// reproducible as the original. The msi crate writes version 4, which Windows reads
/// but osslsigncode (signing) and some MSI tools do not.
fn to_version3(v4: &mut std::fs::File, out: &mut std::fs::File) -> std::io::Result<()> {
    v4.seek(std::io::SeekFrom::Start(0))?;
    let mut src = cfb::CompoundFile::open(&mut *v4)?;
    let mut dst = cfb::CompoundFile::create_with_version(cfb::Version::V3, &mut *out)?;
    let entries: Vec<(
        PathBuf,
        bool,
        uuid::Uuid,
        u32,
        std::time::SystemTime,
        std::time::SystemTime,
    )> = src
        .walk()
        .map(|e| {
            (
                e.path().to_path_buf(),
                e.is_stream(),
                *e.clsid(),
                e.state_bits(),
                e.created(),
                e.modified(),
            )
        })
        .collect();
    for (path, stream, clsid, bits, created, modified) in entries {
        if path.as_os_str() != "/" {
            if stream {
                let mut from = src.open_stream(&path)?;
                let mut to = dst.create_stream(&path)?;
                std::io::copy(&mut from, &mut to)?;
            } else {
                dst.create_storage(&path)?;
            }
        }
        if !stream {
            dst.set_storage_clsid(&path, clsid)?;
        }
        dst.set_state_bits(&path, bits)?;
        dst.set_created_time(&path, created)?;
        dst.set_modified_time(&path, modified)?;
    }
    dst.flush()?;
    Ok(())
}

/// `secs` as a cabinet's DOS date and time (from 1980; two-second steps).
fn dos_time(secs: u64) -> (u16, u16) {
    let t = time::OffsetDateTime::from_unix_timestamp(secs.max(315_532_800) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let year = u16::try_from(t.year() - 1980).unwrap_or(0).min(127);
    let date = (year << 9) | (u16::from(u8::from(t.month())) << 5) | u16::from(t.day());
    let time =
        (u16::from(t.hour()) << 11) | (u16::from(t.minute()) << 5) | u16::from(t.second() / 2);
    (date, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_short_names() {
        assert_eq!(msi_version("1.2.3"), Ok("1.2.3".to_string()));
        assert!(
            msi_version("1.2.3-beta.1")
                .unwrap_err()
                .to_string()
                .contains("pre-release")
        );
        assert!(msi_version("256.0.0").is_err());
        assert!(msi_version("1.2.65536").is_err());
        assert!(msi_version("1.2").is_err());
        assert_eq!(
            short_long("hello-service.exe", 3),
            "HELLOS~3.EXE|hello-service.exe"
        );
        assert_eq!(short_long(".hidden", 1), "HIDDEN~1|.hidden");
    }
}
