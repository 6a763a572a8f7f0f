//! Stamp a VERSIONINFO resource and an application manifest into a finished exe, after
//! the link and before signing. The resource tree is built by `editpe`; the exe is
//! streamed into a new staged copy with one more section, so a 2 GiB exe costs no more
//! memory than a small one, and the same input gives the same bytes (reproducible).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use editpe::types::VersionU16;
use editpe::{ResourceDirectory, VersionInfo, VersionStringTable};

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The VERSIONINFO resource, unless `version-info.stamp = false`.
    pub version: Option<Versions>,
    /// The manifest XML to embed, when asked for.
    pub manifest: Option<String>,
}

/// A VERSIONINFO: the fixed versions (a.b.c.d) and the string table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    pub file_version: [u16; 4],
    pub product_version: [u16; 4],
    /// A pre-release version (`1.0.0-beta.1`): the VS_FF_PRERELEASE flag.
    pub prerelease: bool,
    /// (key, value) in writing order: CompanyName, FileDescription...
    pub strings: Vec<(String, String)>,
}

/// What stamping did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stamped {
    pub version_info: bool,
    pub manifest: bool,
    /// The exe already had version info / a manifest of its own: kept.
    pub kept_version_info: bool,
    pub kept_manifest: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot stamp version information into {}: {why}", path.display())]
pub struct StampError {
    pub path: std::path::PathBuf,
    pub why: StampProblem,
}

/// What keeps an exe from being stamped.
#[derive(Debug, thiserror::Error)]
pub enum StampProblem {
    #[error("{0}")]
    Read(std::io::Error),
    #[error("cannot write {}: {source}", dst.display())]
    Write {
        dst: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("it does not start with `MZ`")]
    NotMz,
    #[error("no PE signature at offset {0:#x}")]
    NoPeSignature(usize),
    #[error("the headers end before byte {0:#x}")]
    HeadersEnd(usize),
    #[error("unknown optional header magic {0:#x}")]
    UnknownMagic(u16),
    #[error("the optional header has no resource directory entry")]
    NoResourceEntry,
    #[error("its section or file alignment is not a power of two")]
    BadAlignment,
    #[error("no section holds its resource directory (RVA {0:#x})")]
    NoResourceSection(u32),
    #[error("its resource section is {0} bytes, more than this tool reads")]
    ResourcesTooLarge(u32),
    /// The resource tree could not be read or edited (the editpe crate's words).
    #[error("its resource directory cannot be read: {0}")]
    Resources(String),
    #[error(
        "it is already signed, and a new resource would break the signature; set `stamp = false` under [package.metadata.winpkg.version-info]"
    )]
    AlreadySigned,
    #[error("there is no room for another section header after its section table")]
    NoRoomForSection,
    #[error("its sections end at byte {end:#x}, past the end of the file ({len:#x})")]
    SectionsPastEnd { end: u64, len: u64 },
    #[error("the stamped image would pass 4 GiB")]
    TooBig,
}

/// Why a version string cannot be Windows's four 16-bit version fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("`{0}` is not 1 to 4 numbers separated by dots")]
    Shape(String),
    #[error(
        "`{part}` in `{version}` is not a number from 0 to 65535 (Windows version fields are 16-bit)"
    )]
    Field { part: String, version: String },
}

/// `1.2.3-beta.1` -> [1, 2, 3, 0] (the pre-release part only in the strings). Err says
/// which part does not fit Windows's 16-bit fields.
pub fn parse_version(v: &str) -> Result<[u16; 4], VersionError> {
    let core = v.split(['-', '+']).next().unwrap_or(v);
    let mut out = [0u16; 4];
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return Err(VersionError::Shape(v.to_string()));
    }
    for (i, p) in parts.iter().enumerate() {
        out[i] = p.parse::<u16>().map_err(|_| VersionError::Field {
            part: p.to_string(),
            version: v.to_string(),
        })?;
    }
    Ok(out)
}

/// The manifest `app-manifest = true` embeds: run as the invoking user (no UAC prompt),
/// declare Windows 7 to 11 (so Windows does not apply compatibility shims), long paths,
/// and UTF-8 as the ANSI code page.
pub const APP_MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security>
      <requestedPrivileges>
        <requestedExecutionLevel level="asInvoker" uiAccess="false"/>
      </requestedPrivileges>
    </security>
  </trustInfo>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application>
      <supportedOS Id="{35138b9a-5d96-4fbd-8e2d-a2440225f93a}"/>
      <supportedOS Id="{4a2f28e3-53b9-4441-ba9c-d69d4a4a6e38}"/>
      <supportedOS Id="{1f676c76-80e1-4239-95bb-83d0f6d0da78}"/>
      <supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
    </application>
  </compatibility>
  <application xmlns="urn:schemas-microsoft-com:asm.v3">
    <windowsSettings>
      <longPathAware xmlns="http://schemas.microsoft.com/SMI/2016/WindowsSettings">true</longPathAware>
      <activeCodePage xmlns="http://schemas.microsoft.com/SMI/2019/WindowsSettings">UTF-8</activeCodePage>
    </windowsSettings>
  </application>
</assembly>
"#;

/// Stamp the exe at `src` into a new file at `dst`, or write nothing when there is
/// nothing to add (then `Stamped::wrote()` is false and the caller stages `src` as it
/// is). Resources the exe already has are kept: a crate that embeds its own version
/// info (winresource, embed-resource) knows better.
///
/// The new resource tree goes into a section of its own, appended after the last one;
/// whatever followed the sections (an overlay, a COFF symbol table) moves behind it.
/// The exe is streamed, never read whole: memory stays bounded however large it is.
pub fn stamp(src: &Path, dst: &Path, stamp: &Stamp) -> Result<Stamped, StampError> {
    let err = |why: StampProblem| StampError {
        path: src.to_path_buf(),
        why,
    };
    let file = File::open(src).map_err(|e| err(StampProblem::Read(e)))?;
    let layout = Layout::read(&file).map_err(err)?;
    let mut resources = layout.resources(&file).map_err(err)?.unwrap_or_default();
    let mut done = Stamped::default();
    if let Some(versions) = &stamp.version {
        let has_version = resources
            .get_version_info()
            .map_err(|e| err(StampProblem::Resources(e.to_string())))?
            .is_some();
        if has_version {
            done.kept_version_info = true;
        } else {
            resources
                .set_version_info(&version_info(versions))
                .map_err(|e| err(StampProblem::Resources(e.to_string())))?;
            done.version_info = true;
        }
    }
    if let Some(xml) = &stamp.manifest {
        let has_manifest = resources
            .get_manifest()
            .map_err(|e| err(StampProblem::Resources(e.to_string())))?
            .is_some();
        if has_manifest {
            done.kept_manifest = true;
        } else {
            resources
                .set_manifest(xml)
                .map_err(|e| err(StampProblem::Resources(e.to_string())))?;
            done.manifest = true;
        }
    }
    if !done.wrote() {
        return Ok(done);
    }
    if layout.signed {
        return Err(err(StampProblem::AlreadySigned));
    }
    let dir = dst.parent().unwrap_or(Path::new("."));
    let werr = |e: std::io::Error| {
        err(StampProblem::Write {
            dst: dst.to_path_buf(),
            source: e,
        })
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(werr)?;
    layout
        .write_with_section(&file, tmp.as_file_mut(), &resources)
        .map_err(|e| match e {
            Written::Read(e) => err(StampProblem::Read(e)),
            Written::Write(e) => werr(e),
            Written::Layout(why) => err(why),
        })?;
    tmp.persist(dst).map_err(|e| werr(e.error))?;
    Ok(done)
}

impl Stamped {
    /// Was anything added (so a stamped copy was written)?
    pub fn wrote(&self) -> bool {
        self.version_info || self.manifest
    }
}

/// What went wrong while writing the stamped copy.
enum Written {
    Read(std::io::Error),
    Write(std::io::Error),
    Layout(StampProblem),
}

/// One section header: where it sits in memory and in the file.
#[derive(Debug, Clone, Copy)]
struct Section {
    va: u32,
    vsize: u32,
    raw_ptr: u32,
    raw_size: u32,
}

/// The headers of a PE image, read with bounded reads, and what stamping changes in
/// them.
struct Layout {
    /// The file's first bytes, through the free slot after the section table.
    head: Vec<u8>,
    /// Offsets in `head`: the COFF header, the optional header, the data directories,
    /// the end of the section table.
    coff: usize,
    opt: usize,
    dirs: usize,
    table_end: usize,
    sections: Vec<Section>,
    section_alignment: u32,
    file_alignment: u32,
    len: u64,
    /// The file has a certificate table (it is signed).
    signed: bool,
}

const HEADER_READ: usize = 64 * 1024;
const SECTION_HEADER: usize = 40;
const RESOURCE_DIR: usize = 2;
const SECURITY_DIR: usize = 4;
/// A resource section bigger than this is not read (a real one holds icons and
/// strings, a few MiB at most).
const MAX_RESOURCES: u32 = 256 * 1024 * 1024;

fn u16_at(b: &[u8], off: usize) -> Result<u16, StampProblem> {
    b.get(off..off + 2)
        .map(|x| u16::from_le_bytes([x[0], x[1]]))
        .ok_or(StampProblem::HeadersEnd(off))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, StampProblem> {
    b.get(off..off + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or(StampProblem::HeadersEnd(off))
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    if let Some(x) = b.get_mut(off..off + 4) {
        x.copy_from_slice(&v.to_le_bytes());
    }
}

fn align_up(v: u64, a: u32) -> u64 {
    let a = u64::from(a);
    v.div_ceil(a) * a
}

fn read_at(file: &File, off: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut f = file;
    f.seek(SeekFrom::Start(off))?;
    let mut got = 0;
    while got < len {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

impl Layout {
    fn read(file: &File) -> Result<Layout, StampProblem> {
        let len = file.metadata().map_err(StampProblem::Read)?.len();
        let head = read_at(file, 0, HEADER_READ).map_err(StampProblem::Read)?;
        if head.get(..2) != Some(b"MZ") {
            return Err(StampProblem::NotMz);
        }
        let pe = u32_at(&head, 0x3c)? as usize;
        if head.get(pe..pe + 4) != Some(b"PE\0\0") {
            return Err(StampProblem::NoPeSignature(pe));
        }
        let coff = pe + 4;
        let nsections = usize::from(u16_at(&head, coff + 2)?);
        let opt = coff + 20;
        let opt_size = usize::from(u16_at(&head, coff + 16)?);
        let (dirs, count_at) = match u16_at(&head, opt)? {
            0x10b => (opt + 96, opt + 92),
            0x20b => (opt + 112, opt + 108),
            m => return Err(StampProblem::UnknownMagic(m)),
        };
        let ndirs = u32_at(&head, count_at)? as usize;
        if ndirs <= SECURITY_DIR || dirs + 8 * (SECURITY_DIR + 1) > opt + opt_size {
            return Err(StampProblem::NoResourceEntry);
        }
        let section_alignment = u32_at(&head, opt + 32)?;
        let file_alignment = u32_at(&head, opt + 36)?;
        if !section_alignment.is_power_of_two() || !file_alignment.is_power_of_two() {
            return Err(StampProblem::BadAlignment);
        }
        let table = opt + opt_size;
        let table_end = table + nsections * SECTION_HEADER;
        let mut sections = Vec::with_capacity(nsections);
        for i in 0..nsections {
            let s = table + i * SECTION_HEADER;
            sections.push(Section {
                vsize: u32_at(&head, s + 8)?,
                va: u32_at(&head, s + 12)?,
                raw_size: u32_at(&head, s + 16)?,
                raw_ptr: u32_at(&head, s + 20)?,
            });
        }
        let signed = u32_at(&head, dirs + 8 * SECURITY_DIR + 4)? != 0;
        Ok(Layout {
            head,
            coff,
            opt,
            dirs,
            table_end,
            sections,
            section_alignment,
            file_alignment,
            len,
            signed,
        })
    }

    /// The resource tree the exe has, if any.
    fn resources(&self, file: &File) -> Result<Option<ResourceDirectory>, StampProblem> {
        let rva = u32_at(&self.head, self.dirs + 8 * RESOURCE_DIR)?;
        let size = u32_at(&self.head, self.dirs + 8 * RESOURCE_DIR + 4)?;
        if rva == 0 || size == 0 {
            return Ok(None);
        }
        let s = self
            .sections
            .iter()
            .find(|s| {
                rva >= s.va && u64::from(rva) < u64::from(s.va) + u64::from(s.vsize.max(s.raw_size))
            })
            .ok_or(StampProblem::NoResourceSection(rva))?;
        if s.raw_size > MAX_RESOURCES {
            return Err(StampProblem::ResourcesTooLarge(s.raw_size));
        }
        let bytes =
            read_at(file, u64::from(s.raw_ptr), s.raw_size as usize).map_err(StampProblem::Read)?;
        ResourceDirectory::parse(&bytes, rva - s.va, rva)
            .map(Some)
            .map_err(|e| StampProblem::Resources(e.to_string()))
    }

    /// Where the sections' raw data ends in the file: what follows is overlay.
    fn sections_end(&self) -> u64 {
        self.sections
            .iter()
            .filter(|s| s.raw_size > 0)
            .map(|s| u64::from(s.raw_ptr) + u64::from(s.raw_size))
            .max()
            .unwrap_or(self.table_end as u64)
    }

    /// Copy the file to `out` with one more section holding `resources`, which the
    /// resource directory entry then points at.
    fn write_with_section(
        &self,
        file: &File,
        out: &mut File,
        resources: &ResourceDirectory,
    ) -> Result<(), Written> {
        let slot_end = self.table_end + SECTION_HEADER;
        let first_raw = self
            .sections
            .iter()
            .filter(|s| s.raw_size > 0)
            .map(|s| s.raw_ptr as usize)
            .min()
            .unwrap_or(usize::MAX);
        let size_of_headers = u32_at(&self.head, self.opt + 60).map_err(Written::Layout)?;
        let free = self
            .head
            .get(self.table_end..slot_end)
            .is_some_and(|b| b.iter().all(|&x| x == 0));
        if slot_end > first_raw || slot_end > size_of_headers as usize || !free {
            return Err(Written::Layout(StampProblem::NoRoomForSection));
        }
        let end = self.sections_end();
        if end > self.len {
            return Err(Written::Layout(StampProblem::SectionsPastEnd {
                end,
                len: self.len,
            }));
        }
        let va = self
            .sections
            .iter()
            .map(|s| u64::from(s.va) + u64::from(s.vsize.max(s.raw_size)))
            .max()
            .unwrap_or(0);
        let va = align_up(va.max(u64::from(size_of_headers)), self.section_alignment);
        let va = u32::try_from(va).map_err(|_| too_big())?;
        let raw_ptr = align_up(end, self.file_alignment);
        let mut data = resources.build(va);
        let vsize = data.len() as u64;
        let raw_size = align_up(vsize, self.file_alignment);
        data.resize(usize::try_from(raw_size).map_err(|_| too_big())?, 0);
        let new = NewSection {
            va,
            vsize: u32::try_from(vsize).map_err(|_| too_big())?,
            raw_ptr: u32::try_from(raw_ptr).map_err(|_| too_big())?,
            raw_size: u32::try_from(raw_size).map_err(|_| too_big())?,
            image_size: u32::try_from(align_up(u64::from(va) + vsize, self.section_alignment))
                .map_err(|_| too_big())?,
            moved_by: raw_ptr + raw_size - end,
        };
        let (head, checksum) = self.patched_head(&new, end)?;

        let mut sink = Sink {
            out,
            sum: PeSum::default(),
        };
        sink.put(&head)?;
        sink.copy(file, slot_end as u64, end)?;
        sink.put(&vec![0u8; (raw_ptr - end) as usize])?;
        sink.put(&data)?;
        sink.copy(file, end, self.len)?;
        // The checksum is only checked for drivers and boot DLLs; one that was set is
        // set again, over the new bytes.
        let sum = sink.sum.finish();
        if checksum != 0 {
            out.seek(SeekFrom::Start((self.opt + 64) as u64))
                .and_then(|_| out.write_all(&sum.to_le_bytes()))
                .map_err(Written::Write)?;
        }
        out.sync_all().map_err(Written::Write)
    }

    /// The headers with the new section added: its header in the free slot, the section
    /// count, image size, resource directory entry and symbol table pointer updated, the
    /// checksum zeroed. Also the checksum the file had.
    fn patched_head(&self, new: &NewSection, end: u64) -> Result<(Vec<u8>, u32), Written> {
        let mut head = self.head[..self.table_end + SECTION_HEADER].to_vec();
        let field = |head: &[u8], off| u32_at(head, off).map_err(Written::Layout);
        let nsections = u16_at(&head, self.coff + 2).map_err(Written::Layout)?;
        head[self.coff + 2..self.coff + 4].copy_from_slice(&(nsections + 1).to_le_bytes());
        // A COFF symbol table (and the string table of long section names behind it)
        // that followed the sections moves with the overlay.
        let symbols = field(&head, self.coff + 8)?;
        if u64::from(symbols) >= end {
            let moved = u32::try_from(u64::from(symbols) + new.moved_by).map_err(|_| too_big())?;
            put_u32(&mut head, self.coff + 8, moved);
        }
        let initialized = field(&head, self.opt + 8)?;
        put_u32(
            &mut head,
            self.opt + 8,
            initialized.saturating_add(new.raw_size),
        );
        put_u32(&mut head, self.opt + 56, new.image_size);
        let checksum = field(&head, self.opt + 64)?;
        put_u32(&mut head, self.opt + 64, 0);
        put_u32(&mut head, self.dirs + 8 * RESOURCE_DIR, new.va);
        put_u32(&mut head, self.dirs + 8 * RESOURCE_DIR + 4, new.vsize);
        let s = self.table_end;
        head[s..s + 8].copy_from_slice(b".rsrc\0\0\0");
        put_u32(&mut head, s + 8, new.vsize);
        put_u32(&mut head, s + 12, new.va);
        put_u32(&mut head, s + 16, new.raw_size);
        put_u32(&mut head, s + 20, new.raw_ptr);
        // Initialized data, readable.
        put_u32(&mut head, s + 36, 0x4000_0040);
        Ok((head, checksum))
    }
}

/// Where the stamped resource section goes, and how far the overlay moves.
struct NewSection {
    va: u32,
    vsize: u32,
    raw_ptr: u32,
    raw_size: u32,
    image_size: u32,
    moved_by: u64,
}

fn too_big() -> Written {
    Written::Layout(StampProblem::TooBig)
}

/// The stamped copy being written, and its checksum so far.
struct Sink<'a> {
    out: &'a mut File,
    sum: PeSum,
}

impl Sink<'_> {
    fn put(&mut self, b: &[u8]) -> Result<(), Written> {
        self.sum.update(b);
        self.out.write_all(b).map_err(Written::Write)
    }

    /// Copy bytes `from..to` of `file`, 1 MiB at a time.
    fn copy(&mut self, file: &File, from: u64, to: u64) -> Result<(), Written> {
        let mut f = file;
        f.seek(SeekFrom::Start(from)).map_err(Written::Read)?;
        let mut left = to.saturating_sub(from);
        let mut buf = vec![0u8; 1 << 20];
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = match f.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(Written::Read(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file shrank while it was read",
                    )));
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Written::Read(e)),
            };
            self.put(&buf[..n])?;
            left -= n as u64;
        }
        Ok(())
    }
}

/// The PE image checksum, fed in pieces: 16-bit little-endian words added with the
/// carry folded back in, plus the file's length. The checksum field itself counts as 0.
#[derive(Default)]
pub struct PeSum {
    sum: u64,
    odd: Option<u8>,
    len: u64,
}

impl PeSum {
    pub fn update(&mut self, mut b: &[u8]) {
        self.len += b.len() as u64;
        if let Some(lo) = self.odd.take() {
            match b.split_first() {
                Some((&hi, rest)) => {
                    self.sum += u64::from(u16::from_le_bytes([lo, hi]));
                    b = rest;
                }
                None => {
                    self.odd = Some(lo);
                    return;
                }
            }
        }
        let mut words = b.chunks_exact(2);
        for w in &mut words {
            self.sum += u64::from(u16::from_le_bytes([w[0], w[1]]));
        }
        self.odd = words.remainder().first().copied();
    }

    pub fn finish(&self) -> u32 {
        let mut s = self.sum + self.odd.map_or(0, u64::from);
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        (s as u32).wrapping_add(self.len as u32)
    }
}

/// US English, Unicode: the string table key and its translation entry.
const LANG: u16 = 0x0409;
const CODEPAGE: u16 = 0x04b0;
const VS_FF_PRERELEASE: u32 = 0x2;

fn version_info(s: &Versions) -> VersionInfo {
    let pack = |v: [u16; 4]| editpe::types::VersionU32 {
        major: (u32::from(v[0]) << 16) | u32::from(v[1]),
        minor: (u32::from(v[2]) << 16) | u32::from(v[3]),
    };
    let mut info = VersionInfo::default();
    info.info.file_version = pack(s.file_version);
    info.info.product_version = pack(s.product_version);
    if s.prerelease {
        info.info.file_flags |= VS_FF_PRERELEASE;
    }
    let mut table = VersionStringTable {
        key: format!("{LANG:04x}{CODEPAGE:04x}"),
        ..Default::default()
    };
    for (k, v) in &s.strings {
        table.strings.insert(k.clone(), v.clone());
    }
    info.strings = vec![table];
    info.vars = vec![VersionU16 {
        major: LANG,
        minor: CODEPAGE,
    }];
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.2.3"), Ok([1, 2, 3, 0]));
        assert_eq!(parse_version("1.2.3-beta.1+build.5"), Ok([1, 2, 3, 0]));
        assert_eq!(parse_version("10.0.19041.1"), Ok([10, 0, 19041, 1]));
        assert!(
            parse_version("1.70000.0")
                .unwrap_err()
                .to_string()
                .contains("16-bit")
        );
        assert!(parse_version("1.2.3.4.5").is_err());
        assert!(parse_version("x").is_err());
    }
}
