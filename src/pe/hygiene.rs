//! What Windows admins and antivirus heuristics look at besides imports: version
//! information, an application manifest, packers, debug info and symbols left in.
//! All of it is read from the map without copying more than the strings reported.

use object::LittleEndian as LE;
use object::ReadRef;
use object::pe;
use object::read::pe::{ImageNtHeaders, SectionTable};

use super::Headers;
use serde::Serialize;

/// The VERSIONINFO resource, as Explorer's Details tab shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct VersionInfo {
    /// The fixed (binary) file version, `a.b.c.d`.
    pub file_version: String,
    pub product_version: String,
    /// The string table's values, by key (FileDescription, CompanyName...).
    pub strings: Vec<(String, String)>,
    /// The language of that string table (a decimal language id, `1033`), from its
    /// key (`040904b0`: language 0x0409, code page 0x04b0).
    pub language: Option<String>,
}

impl VersionInfo {
    pub fn string(&self, key: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Debug information and symbols a file carries, in bytes of the file.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct DebugBytes {
    /// `.debug_*` sections (DWARF, as GNU toolchains write it).
    pub dwarf: u64,
    /// The COFF symbol table and its string table.
    pub symbols: u64,
}

impl DebugBytes {
    pub fn total(&self) -> u64 {
        self.dwarf + self.symbols
    }
}

const RT_VERSION: u16 = 16;
const RT_MANIFEST: u16 = 24;

/// The data of the first resource of `kind` (first name, first language). The
/// directory (at file offset `dir`, `dir_size` bytes) is walked entry by entry, reading
/// only the tables on the way and the data at the end, not the whole resource section.
fn first_resource<'d, R: ReadRef<'d>>(
    data: R,
    sections: &SectionTable<'d>,
    dir: u64,
    dir_size: u64,
    kind: u16,
) -> Option<&'d [u8]> {
    let read = |off: u64, size: u64| {
        (off.checked_add(size)? <= dir_size)
            .then(|| data.read_bytes_at(dir + off, size).ok())
            .flatten()
    };
    let u32_of = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    // A table: a 16-byte header (named entries at 12, id entries at 14), then 8-byte
    // entries (name or id, offset; the offset's high bit marks a subtable).
    let entries = |table: u64| -> Option<&'d [u8]> {
        let h = read(table, 16)?;
        let n = u64::from(u16::from_le_bytes([h[12], h[13]]))
            + u64::from(u16::from_le_bytes([h[14], h[15]]));
        read(table + 16, n * 8)
    };
    let root = entries(0)?;
    let mut next = root
        .chunks_exact(8)
        .find(|e| u32_of(e, 0) == u32::from(kind))
        .map(|e| u32_of(e, 4))?;
    // Type -> name -> language -> data: at most two more tables, so no loop can cycle.
    for _ in 0..2 {
        if next & 0x8000_0000 == 0 {
            break;
        }
        let first = entries(u64::from(next & 0x7fff_ffff))?;
        next = u32_of(first.get(..8)?, 4);
    }
    if next & 0x8000_0000 != 0 {
        return None;
    }
    // IMAGE_RESOURCE_DATA_ENTRY: the data's RVA and size.
    let d = read(u64::from(next), 8)?;
    bytes_at(data, sections, u32_of(d, 0), u32_of(d, 4))
}

/// `size` bytes at `rva`, within its section's data (and only those are read).
pub(super) fn bytes_at<'d, R: ReadRef<'d>>(
    data: R,
    sections: &SectionTable<'d>,
    rva: u32,
    size: u32,
) -> Option<&'d [u8]> {
    let (off, left) = sections.pe_file_range_at(rva)?;
    if size > left {
        return None;
    }
    data.read_bytes_at(u64::from(off), u64::from(size)).ok()
}

/// The bytes of data directory `index`, when it has any within a section.
pub(super) fn directory_bytes<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
    index: usize,
) -> Option<&'d [u8]> {
    let d = file.data_directory(index)?;
    let (rva, size) = (d.virtual_address.get(LE), d.size.get(LE));
    if rva == 0 || size == 0 {
        return None;
    }
    bytes_at(data, &file.section_table(), rva, size)
}

/// The version information and whether a manifest is embedded.
pub(super) fn resources<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
) -> (Option<VersionInfo>, bool) {
    let sections = file.section_table();
    let Some((dir, size)) = file
        .data_directory(pe::IMAGE_DIRECTORY_ENTRY_RESOURCE)
        .map(|d| (d.virtual_address.get(LE), d.size.get(LE)))
        .filter(|&(rva, size)| rva != 0 && size != 0)
        .and_then(|(rva, size)| {
            let (off, left) = sections.pe_file_range_at(rva)?;
            Some((u64::from(off), u64::from(size.min(left))))
        })
    else {
        return (None, false);
    };
    let version = first_resource(data, &sections, dir, size, RT_VERSION).and_then(parse_version);
    let manifest = first_resource(data, &sections, dir, size, RT_MANIFEST).is_some();
    (version, manifest)
}

fn parse_version(bytes: &[u8]) -> Option<VersionInfo> {
    let v = editpe::VersionInfo::parse(bytes).ok()?;
    let four =
        |hi: u32, lo: u32| format!("{}.{}.{}.{}", hi >> 16, hi & 0xffff, lo >> 16, lo & 0xffff);
    let info = v.info;
    let (fv, pv) = (info.file_version, info.product_version);
    // US English when there is such a table (Explorer's usual pick), else the first.
    let table = v
        .strings
        .iter()
        .find(|t| t.key.to_ascii_lowercase().starts_with("0409"))
        .or(v.strings.first());
    let language = table
        .and_then(|t| t.key.get(..4))
        .and_then(|h| u16::from_str_radix(h, 16).ok())
        .map(|n| n.to_string());
    Some(VersionInfo {
        language,
        file_version: four(fv.major, fv.minor),
        product_version: four(pv.major, pv.minor),
        strings: table
            .map(|t| {
                t.strings
                    .iter()
                    .map(|(k, v)| (k.clone(), v.trim_end_matches('\0').to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Section names packers leave, and the packer they belong to.
const PACKER_SECTIONS: [(&str, &str); 16] = [
    ("UPX0", "UPX"),
    ("UPX1", "UPX"),
    ("UPX2", "UPX"),
    (".aspack", "ASPack"),
    (".adata", "ASPack"),
    (".MPRESS1", "MPRESS"),
    (".MPRESS2", "MPRESS"),
    (".petite", "Petite"),
    ("PEC2", "PECompact"),
    ("pec1", "PECompact"),
    (".nsp0", "NsPack"),
    (".nsp1", "NsPack"),
    ("FSG!", "FSG"),
    (".themida", "Themida"),
    (".vmp0", "VMProtect"),
    (".vmp1", "VMProtect"),
];

/// Above this many bits per byte, a section is compressed or encrypted data.
const PACKED_ENTROPY: f64 = 7.2;

/// Why the file looks packed, if it does: a packer's section names, or an entry point
/// in a writable, executable section of near-random bytes (what a packer's stub runs
/// from, since it unpacks over itself).
pub(super) fn packer<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
    entry: u32,
) -> Option<String> {
    let sections = file.section_table();
    let names: Vec<String> = sections
        .iter()
        .map(|s| String::from_utf8_lossy(s.raw_name()).into_owned())
        .collect();
    let known: Vec<&(&str, &str)> = PACKER_SECTIONS
        .iter()
        .filter(|(n, _)| names.iter().any(|s| s == n))
        .collect();
    if let Some((_, packer)) = known.first() {
        let which: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
        return Some(format!("{packer} (sections {})", which.join(", ")));
    }
    let s = sections.section_containing(entry)?;
    let flags = s.characteristics.get(LE).0;
    let rwx = flags & pe::IMAGE_SCN_MEM_WRITE.0 != 0 && flags & pe::IMAGE_SCN_MEM_EXECUTE.0 != 0;
    if !rwx {
        return None;
    }
    let len = data.len().ok()?;
    let (off, size) = s.pe_file_range();
    let size = u64::from(size).min(len.saturating_sub(u64::from(off)));
    let bytes = data.read_bytes_at(u64::from(off), size).ok()?;
    let e = entropy(bytes);
    (bytes.len() >= 4096 && e > PACKED_ENTROPY).then(|| {
        format!(
            "an unknown packer (the entry point is in the writable, executable section `{}` of {} bytes at {e:.2} bits of entropy per byte)",
            String::from_utf8_lossy(s.raw_name()),
            bytes.len()
        )
    })
}

/// Shannon entropy in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// One section as it sits in the file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SectionBytes {
    /// The full name (long names such as `.debug_info` come from the COFF string table).
    pub name: String,
    /// Bytes in the file.
    pub size: u64,
}

/// The file's sections, in table order, with the bytes each takes in the file.
pub(super) fn sections<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
) -> Vec<SectionBytes> {
    let len = data.len().unwrap_or(0);
    let fh = file.nt_headers().file_header();
    file.section_table()
        .iter()
        .map(|s| SectionBytes {
            name: String::from_utf8_lossy(long_name(data, fh, s).unwrap_or(s.raw_name()))
                .into_owned(),
            size: file_bytes(s, len),
        })
        .collect()
}

/// A long section name (`/4` in the header) from the COFF string table that follows
/// the symbol table; only the name itself is read.
fn long_name<'d, R: ReadRef<'d>>(
    data: R,
    fh: &pe::ImageFileHeader,
    s: &pe::ImageSectionHeader,
) -> Option<&'d [u8]> {
    let raw = s.raw_name();
    let digits = std::str::from_utf8(raw.strip_prefix(b"/")?).ok()?;
    let offset: u64 = digits.parse().ok()?;
    let ptr = u64::from(fh.pointer_to_symbol_table.get(LE));
    if ptr == 0 {
        return None;
    }
    let strings = ptr + u64::from(fh.number_of_symbols.get(LE)) * pe::IMAGE_SIZEOF_SYMBOL as u64;
    let table = u64::from(u32::from_le_bytes(
        data.read_bytes_at(strings, 4).ok()?.try_into().ok()?,
    ));
    if offset < 4 || offset >= table {
        return None;
    }
    data.read_bytes_at_until(strings + offset..strings + table, 0)
        .ok()
}

/// DWARF sections and the COFF symbol table, in bytes of the file.
pub(super) fn debug_bytes<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
    sections: &[SectionBytes],
) -> DebugBytes {
    let dwarf = sections
        .iter()
        .filter(|s| s.name.starts_with(".debug_") || s.name.starts_with(".zdebug_"))
        .map(|s| s.size)
        .sum();
    let symbols = symbol_table_bytes(data, file.nt_headers().file_header());
    DebugBytes { dwarf, symbols }
}

/// The bytes a section takes in the file: its raw data (which is padded to the file
/// alignment, unlike its virtual size), within the file.
pub fn file_bytes(s: &pe::ImageSectionHeader, len: u64) -> u64 {
    let off = u64::from(s.pointer_to_raw_data.get(LE));
    let size = u64::from(s.size_of_raw_data.get(LE));
    if off >= len {
        return 0;
    }
    size.min(len - off)
}

/// The size of the COFF symbol table plus its string table, clamped to the file.
fn symbol_table_bytes<'d, R: ReadRef<'d>>(data: R, fh: &pe::ImageFileHeader) -> u64 {
    let ptr = u64::from(fh.pointer_to_symbol_table.get(LE));
    let n = u64::from(fh.number_of_symbols.get(LE));
    let len = data.len().unwrap_or(0);
    if ptr == 0 || n == 0 || ptr >= len {
        return 0;
    }
    let strings_at = ptr + n * pe::IMAGE_SIZEOF_SYMBOL as u64;
    let strings_len = data.read_bytes_at(strings_at, 4).map_or(0, |b| {
        u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    });
    (strings_at + strings_len).min(len) - ptr
}

/// Does a PDB path name a user's home folder? (`C:\Users\alice\...`, `/home/bob/...`)
pub fn home_folder_in(path: &str) -> Option<&str> {
    let lower = path.to_ascii_lowercase().replace('\\', "/");
    let at = ["/users/", "/home/", "/documents and settings/"]
        .iter()
        .filter_map(|m| lower.find(m).map(|i| i + m.len()))
        .chain(lower.starts_with("/root/").then_some(5))
        .min()?;
    // The user's folder name ends at the next separator.
    let rest = path.get(at..)?;
    let end = rest.find(['/', '\\']).unwrap_or(rest.len());
    path.get(..at + end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_folders() {
        assert_eq!(
            home_folder_in(r"C:\Users\alice\src\t\x.pdb"),
            Some(r"C:\Users\alice")
        );
        assert_eq!(home_folder_in("/home/bob/x/y.pdb"), Some("/home/bob"));
        assert_eq!(home_folder_in("/root/x.pdb"), Some("/root"));
        assert_eq!(home_folder_in(r"D:\a\_work\1\s\x.pdb"), None);
        assert_eq!(home_folder_in("x.pdb"), None);
    }

    #[test]
    fn entropy_bounds() {
        assert_eq!(entropy(&[0; 100]), 0.0);
        let all: Vec<u8> = (0..=255).collect();
        assert!((entropy(&all) - 8.0).abs() < 1e-9);
    }
}
