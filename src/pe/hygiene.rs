//! What Windows admins and antivirus heuristics look at besides imports: version
//! information, an application manifest, packers, debug info and symbols left in.
//! All of it is read from the map without copying more than the strings reported.

use object::LittleEndian as LE;
use object::pe;
use object::read::pe::{
    ImageNtHeaders, ResourceDirectory, ResourceDirectoryEntryData, ResourceDirectoryTable,
    SectionTable,
};
use serde::Serialize;

/// The VERSIONINFO resource, as Explorer's Details tab shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct VersionInfo {
    /// The fixed (binary) file version, `a.b.c.d`.
    pub file_version: String,
    pub product_version: String,
    /// The string table's values, by key (FileDescription, CompanyName...).
    pub strings: Vec<(String, String)>,
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

/// The data of the first resource of `kind` (first name, first language).
fn first_resource<'d>(
    dir: ResourceDirectory<'d>,
    root: &ResourceDirectoryTable<'d>,
    kind: u16,
    data: &'d [u8],
    sections: &SectionTable<'d>,
) -> Option<&'d [u8]> {
    let entry = root
        .entries
        .iter()
        .find(|e| e.name_or_id().id() == Some(kind))?;
    let mut next = entry.data(dir).ok()?;
    // Type -> name -> language -> data: at most two more tables, so no loop can cycle.
    for _ in 0..2 {
        let ResourceDirectoryEntryData::Table(t) = next else {
            break;
        };
        next = t.entries.first()?.data(dir).ok()?;
    }
    let ResourceDirectoryEntryData::Data(d) = next else {
        return None;
    };
    let bytes = sections.pe_data_at(data, d.offset_to_data.get(LE))?;
    bytes.get(..d.size.get(LE) as usize)
}

/// The version information and whether a manifest is embedded.
pub fn resources<Pe: ImageNtHeaders>(
    file: &object::read::pe::PeFile<'_, Pe>,
    data: &[u8],
) -> (Option<VersionInfo>, bool) {
    let sections = file.section_table();
    let Ok(Some(dir)) = file.data_directories().resource_directory(data, &sections) else {
        return (None, false);
    };
    let Ok(root) = dir.root() else {
        return (None, false);
    };
    let version = first_resource(dir, &root, RT_VERSION, data, &sections).and_then(parse_version);
    let manifest = first_resource(dir, &root, RT_MANIFEST, data, &sections).is_some();
    (version, manifest)
}

fn parse_version(bytes: &[u8]) -> Option<VersionInfo> {
    let v = editpe::VersionInfo::parse(bytes).ok()?;
    let four =
        |hi: u32, lo: u32| format!("{}.{}.{}.{}", hi >> 16, hi & 0xffff, lo >> 16, lo & 0xffff);
    let info = v.info;
    let (fv, pv) = (info.file_version, info.product_version);
    Some(VersionInfo {
        file_version: four(fv.major, fv.minor),
        product_version: four(pv.major, pv.minor),
        // US English when there is such a table (Explorer's usual pick), else the first.
        strings: v
            .strings
            .iter()
            .find(|t| t.key.to_ascii_lowercase().starts_with("0409"))
            .or(v.strings.first())
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
pub fn packer<Pe: ImageNtHeaders>(
    file: &object::read::pe::PeFile<'_, Pe>,
    data: &[u8],
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
    let (off, size) = s.pe_file_range();
    let bytes = data.get(off as usize..(off as usize).saturating_add(size as usize))?;
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
pub fn sections<Pe: ImageNtHeaders>(
    file: &object::read::pe::PeFile<'_, Pe>,
    data: &[u8],
) -> Vec<SectionBytes> {
    let strings = file
        .nt_headers()
        .symbols(data)
        .ok()
        .map(|s| s.strings())
        .unwrap_or_default();
    file.section_table()
        .iter()
        .map(|s| SectionBytes {
            name: String::from_utf8_lossy(s.name(strings).unwrap_or(s.raw_name())).into_owned(),
            size: file_bytes(s, data.len()),
        })
        .collect()
}

/// DWARF sections and the COFF symbol table, in bytes of the file.
pub fn debug_bytes<Pe: ImageNtHeaders>(
    file: &object::read::pe::PeFile<'_, Pe>,
    data: &[u8],
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
pub fn file_bytes(s: &pe::ImageSectionHeader, file_len: usize) -> u64 {
    let off = u64::from(s.pointer_to_raw_data.get(LE));
    let size = u64::from(s.size_of_raw_data.get(LE));
    let len = file_len as u64;
    if off >= len {
        return 0;
    }
    size.min(len - off)
}

/// The size of the COFF symbol table plus its string table, clamped to the file.
fn symbol_table_bytes(data: &[u8], fh: &pe::ImageFileHeader) -> u64 {
    let ptr = u64::from(fh.pointer_to_symbol_table.get(LE));
    let n = u64::from(fh.number_of_symbols.get(LE));
    let len = data.len() as u64;
    if ptr == 0 || n == 0 || ptr >= len {
        return 0;
    }
    let strings_at = ptr + n * pe::IMAGE_SIZEOF_SYMBOL as u64;
    let strings_len = usize::try_from(strings_at)
        .ok()
        .and_then(|i| data.get(i..i + 4))
        .map_or(0, |b| {
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
