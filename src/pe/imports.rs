//! The normal and delay-load import tables of one image.
//!
//! Every RVA is resolved through the section table on its own: a DLL name, a thunk list
//! or a hint/name entry may each lie in another section than the import directory (a
//! DLL renamed after linking often does, and real ARM64 wheels do). Every error names
//! where in the file it is (a byte offset, or an RVA that no section maps), and a table
//! that never ends is cut off instead of read without bound.

use object::LittleEndian as LE;
use object::ReadRef;
use object::pe;
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader};

use std::collections::HashMap;
use std::sync::Arc;

use super::{Headers, Import, ImportedFunction, PeError};

/// The function names of one file: each hint/name entry read once and shared by every
/// thunk that points at it, and a cap on the bytes the names add up to, so a small
/// crafted file (thousands of thunks naming one long entry) cannot make the tool hold
/// or print gigabytes.
pub(super) struct Names {
    by_rva: HashMap<u32, Arc<str>>,
    /// Name bytes handed out so far (a shared name counts each time).
    bytes: u64,
    limit: u64,
}

impl Names {
    /// For a file of `len` bytes: names may add up to 16 times its size (at least
    /// 16 MiB); real tables stay far below, since each name is stored once.
    pub fn for_file(len: u64) -> Names {
        Names {
            by_rva: HashMap::new(),
            bytes: 0,
            limit: len.saturating_mul(16).max(16 << 20),
        }
    }
}

/// File offset of an RVA, for error messages; None when no section maps it. (Header
/// values are untrusted: the sum is done in 64 bits.)
fn rva_to_offset<Pe: ImageNtHeaders>(file: &Headers<'_, Pe>, rva: u32) -> Option<u64> {
    file.section_table().iter().find_map(|s| {
        let va = s.virtual_address.get(LE);
        let size = s.virtual_size.get(LE).max(s.size_of_raw_data.get(LE));
        (rva >= va && rva - va < size)
            .then(|| u64::from(s.pointer_to_raw_data.get(LE)) + u64::from(rva - va))
    })
}

/// Describe where `rva` lands, e.g. "offset 0x1234" or "RVA 0x5000, outside every section".
fn locate<Pe: ImageNtHeaders>(file: &Headers<'_, Pe>, data_len: u64, rva: u32) -> String {
    match rva_to_offset(file, rva) {
        Some(off) if off < data_len => format!("offset {off:#x}"),
        Some(off) => {
            format!("offset {off:#x} (RVA {rva:#x}), past the end of the file ({data_len} bytes)")
        }
        None => format!("RVA {rva:#x}, which is outside every section of the file"),
    }
}

/// Reads any RVA of the image through its section table, only the bytes asked for
/// (the file may be read a block at a time).
struct Image<'a, 'data, Pe: ImageNtHeaders, R: ReadRef<'data>> {
    file: &'a Headers<'data, Pe>,
    data: R,
    len: u64,
}

impl<'data, Pe: ImageNtHeaders, R: ReadRef<'data>> Image<'_, 'data, Pe, R> {
    /// Where `rva` is in the file, and how many bytes of its section's data follow.
    fn range(&self, rva: u32) -> Option<(u64, u64)> {
        let (off, size) = self.file.section_table().pe_file_range_at(rva)?;
        Some((u64::from(off), u64::from(size)))
    }

    /// `size` bytes at `rva`, within its section's data.
    fn bytes_at(&self, rva: u32, size: u64) -> Option<&'data [u8]> {
        let (off, left) = self.range(rva)?;
        if size > left {
            return None;
        }
        self.data.read_bytes_at(off, size).ok()
    }

    /// A NUL-terminated string at `rva` (without the NUL), within its section's data.
    fn string_at(&self, rva: u32) -> Option<&'data [u8]> {
        let (off, left) = self.range(rva)?;
        self.data
            .read_bytes_at_until(off..off.checked_add(left)?, 0)
            .ok()
    }

    /// The name of a hint/name entry: a 2-byte hint, then the string.
    fn hint_name_at(&self, rva: u32) -> Option<&'data [u8]> {
        self.string_at(rva.checked_add(2)?)
    }
}

/// Context for reading one of the two import tables: where it is, and how to word errors.
struct TableReader<'a, 'data, Pe: ImageNtHeaders, R: ReadRef<'data>> {
    image: Image<'a, 'data, Pe, R>,
    /// "import table" or "delay-load import table".
    table: &'static str,
    dir_rva: u32,
}

impl<'data, Pe: ImageNtHeaders, R: ReadRef<'data>> TableReader<'_, 'data, Pe, R> {
    fn bad(&self, what: &str, rva: u32, why: &str) -> PeError {
        PeError::Malformed(format!(
            "truncated or invalid {}: {what} at {} ({why})",
            self.table,
            locate(self.image.file, self.image.len, rva)
        ))
    }

    fn outside(&self) -> PeError {
        PeError::Malformed(format!(
            "{} points outside the file: {}",
            self.table,
            locate(self.image.file, self.image.len, self.dir_rva)
        ))
    }

    /// The `size`-byte descriptor `index`, or None past the end of the section.
    fn descriptor(&self, index: u32, size: u32) -> Result<(u32, &'data [u8]), PeError> {
        let rva = self.dir_rva.wrapping_add(index.wrapping_mul(size));
        let bytes = self.image.bytes_at(rva, u64::from(size)).ok_or_else(|| {
            if index == 0 && rva_to_offset(self.image.file, rva).is_none() {
                self.outside()
            } else if index == 0 {
                self.bad("directory", rva, "the file is truncated before it")
            } else {
                self.bad(
                    "descriptor",
                    rva,
                    "the table runs past the end of its section",
                )
            }
        })?;
        Ok((rva, bytes))
    }

    /// Walk a thunk list: names (through `rva_of` for old delay-load tables that hold
    /// addresses), and ordinals.
    fn functions(
        &self,
        list_rva: u32,
        names: &mut Names,
        rva_of: impl Fn(u64) -> u32,
    ) -> Result<(Vec<ImportedFunction>, usize), PeError> {
        let ordinal_flag: u64 = if self.image.file.is_64() {
            1 << 63
        } else {
            1 << 31
        };
        let step: u64 = if self.image.file.is_64() { 8 } else { 4 };
        // The list is located once in the section table, then read thunk by thunk.
        let (list, left) = self.image.range(list_rva).ok_or_else(|| {
            self.bad(
                "import name table",
                list_rva,
                "the list is outside every section",
            )
        })?;
        let mut functions = Vec::new();
        let mut by_ordinal = 0;
        for i in 0u64.. {
            let at = i * step;
            let read = (at + step <= left)
                .then(|| self.image.data.read_bytes_at(list + at, step).ok())
                .flatten();
            let Some(bytes) = read else {
                let at = list_rva.wrapping_add(at as u32);
                return Err(self.bad(
                    "import name table",
                    at,
                    "the list runs past the end of its section",
                ));
            };
            let thunk = if step == 8 {
                u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
            } else {
                u64::from(u32::from_le_bytes(bytes.try_into().unwrap_or([0; 4])))
            };
            if thunk == 0 {
                break;
            }
            if thunk & ordinal_flag != 0 {
                by_ordinal += 1;
                functions.push(ImportedFunction::Ordinal(thunk as u16));
            } else {
                let rva = rva_of(thunk & 0x7fff_ffff);
                functions.push(ImportedFunction::Name(self.name(rva, names)?));
            }
            self.check_runaway(functions.len(), list_rva)?;
        }
        Ok((functions, by_ordinal))
    }

    /// The function name of the hint/name entry at `rva`, read once per file.
    fn name(&self, rva: u32, names: &mut Names) -> Result<Arc<str>, PeError> {
        let name = match names.by_rva.get(&rva) {
            Some(n) => n.clone(),
            None => {
                let raw = self.image.hint_name_at(rva).ok_or_else(|| {
                    self.bad("hint/name entry", rva, "invalid PE import thunk address")
                })?;
                let n: Arc<str> = String::from_utf8_lossy(raw).into();
                names.by_rva.insert(rva, n.clone());
                n
            }
        };
        names.bytes = names.bytes.saturating_add(name.len() as u64);
        if names.bytes > names.limit {
            let len = self.image.len.max(1);
            return Err(PeError::Malformed(format!(
                "the function names of the {} at {} add up to more than {} bytes, {} times the file's size: its thunks repeat names, as only a crafted file does",
                self.table,
                locate(self.image.file, self.image.len, self.dir_rva),
                names.limit,
                names.limit / len
            )));
        }
        Ok(name)
    }

    /// The DLL name at `rva`.
    fn dll_name(&self, rva: u32) -> Result<String, PeError> {
        self.image
            .string_at(rva)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .ok_or_else(|| self.bad("DLL name", rva, "invalid PE import descriptor name"))
    }

    /// A table with more entries than the file has bytes is a loop in a crafted file,
    /// not a real table: stop instead of allocating without bound.
    fn check_runaway(&self, count: usize, rva: u32) -> Result<(), PeError> {
        if count as u64 > self.image.len / 2 + 16 {
            return Err(PeError::Malformed(format!(
                "{} at {} never ends (more entries than the file has bytes)",
                self.table,
                locate(self.image.file, self.image.len, rva)
            )));
        }
        Ok(())
    }
}

/// The data directory's RVA, or None when the file has no such table.
fn directory_rva<Pe: ImageNtHeaders>(file: &Headers<'_, Pe>, index: usize) -> Option<u32> {
    file.data_directory(index)
        .map(|d| d.virtual_address.get(LE))
        .filter(|rva| *rva != 0)
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .unwrap_or(0)
}

pub(super) fn read_imports<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
    names: &mut Names,
) -> Result<Vec<Import>, PeError> {
    let Some(dir_rva) = directory_rva(file, pe::IMAGE_DIRECTORY_ENTRY_IMPORT) else {
        return Ok(Vec::new());
    };
    let r = TableReader {
        image: Image {
            file,
            data,
            len: data.len().unwrap_or(0),
        },
        table: "import table",
        dir_rva,
    };
    let mut out = Vec::new();
    for index in 0u32.. {
        // IMAGE_IMPORT_DESCRIPTOR: OriginalFirstThunk, TimeDateStamp, ForwarderChain,
        // Name, FirstThunk; all zero ends the table.
        let (_, d) = r.descriptor(index, 20)?;
        if d.iter().all(|b| *b == 0) {
            break;
        }
        let dll = r.dll_name(le32(d, 12))?;
        // The import name table (original first thunk) survives binding; old linkers
        // leave it zero, and then the IAT still holds the names.
        let mut list_rva = le32(d, 0);
        if list_rva == 0 {
            list_rva = le32(d, 16);
        }
        let (functions, by_ordinal) = if list_rva == 0 {
            (Vec::new(), 0)
        } else {
            r.functions(list_rva, names, |a| a as u32)?
        };
        out.push(Import {
            dll,
            delay: false,
            functions,
            by_ordinal,
        });
        r.check_runaway(out.len(), dir_rva)?;
    }
    Ok(out)
}

pub(super) fn read_delay_imports<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
    names: &mut Names,
) -> Result<Vec<Import>, PeError> {
    let Some(dir_rva) = directory_rva(file, pe::IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT) else {
        return Ok(Vec::new());
    };
    let r = TableReader {
        image: Image {
            file,
            data,
            len: data.len().unwrap_or(0),
        },
        table: "delay-load import table",
        dir_rva,
    };
    let image_base = file.nt_headers().optional_header().image_base();
    let mut out = Vec::new();
    for index in 0u32.. {
        // IMAGE_DELAYLOAD_DESCRIPTOR: Attributes, DllNameRVA, ModuleHandleRVA,
        // ImportAddressTableRVA, ImportNameTableRVA, BoundImportAddressTableRVA,
        // UnloadInformationTableRVA, TimeDateStamp; all zero ends the table.
        let (_, d) = r.descriptor(index, 32)?;
        if d.iter().all(|b| *b == 0) {
            break;
        }
        // Version 1 descriptors (every linker since VC 7) hold RVAs; the ancient
        // version 0 form holds virtual addresses, which we convert.
        let rva_based = le32(d, 0) & 1 != 0;
        let rva_of = |value: u64| -> u32 {
            if rva_based || value == 0 {
                value as u32
            } else {
                value.wrapping_sub(image_base) as u32
            }
        };
        let dll = r.dll_name(rva_of(u64::from(le32(d, 4))))?;
        let list_rva = rva_of(u64::from(le32(d, 16)));
        let (functions, by_ordinal) = if list_rva == 0 {
            (Vec::new(), 0)
        } else {
            r.functions(list_rva, names, rva_of)?
        };
        out.push(Import {
            dll,
            delay: true,
            functions,
            by_ordinal,
        });
        r.check_runaway(out.len(), dir_rva)?;
    }
    Ok(out)
}
