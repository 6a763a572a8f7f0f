//! The normal and delay-load import tables of one image.
//!
//! Every error names where in the file it is (a byte offset, or an RVA that no section
//! maps), and a table that never ends is cut off instead of read without bound.

use object::LittleEndian as LE;
use object::pe;
use object::read::pe::{
    ImageNtHeaders, ImageOptionalHeader, ImageThunkData, ImportThunkList, PeFile,
};

use std::collections::HashMap;
use std::sync::Arc;

use super::{Import, ImportedFunction, PeError};

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
    pub fn for_file(len: usize) -> Names {
        Names {
            by_rva: HashMap::new(),
            bytes: 0,
            limit: (len as u64).saturating_mul(16).max(16 << 20),
        }
    }
}

/// File offset of an RVA, for error messages; None when no section maps it. (Header
/// values are untrusted: the sum is done in 64 bits.)
fn rva_to_offset<Pe: ImageNtHeaders>(file: &PeFile<Pe>, rva: u32) -> Option<u64> {
    file.section_table().iter().find_map(|s| {
        let va = s.virtual_address.get(LE);
        let size = s.virtual_size.get(LE).max(s.size_of_raw_data.get(LE));
        (rva >= va && rva - va < size)
            .then(|| u64::from(s.pointer_to_raw_data.get(LE)) + u64::from(rva - va))
    })
}

/// Describe where `rva` lands, e.g. "offset 0x1234" or "RVA 0x5000, outside every section".
fn locate<Pe: ImageNtHeaders>(file: &PeFile<Pe>, data_len: usize, rva: u32) -> String {
    match rva_to_offset(file, rva) {
        Some(off) if off < data_len as u64 => format!("offset {off:#x}"),
        Some(off) => {
            format!("offset {off:#x} (RVA {rva:#x}), past the end of the file ({data_len} bytes)")
        }
        None => format!("RVA {rva:#x}, which is outside every section of the file"),
    }
}

/// Context for reading one of the two import tables: where it is, and how to word errors.
struct TableReader<'a, 'data, Pe: ImageNtHeaders> {
    file: &'a PeFile<'data, Pe>,
    len: usize,
    /// "import table" or "delay-load import table".
    table: &'static str,
    dir_rva: u32,
}

impl<'data, Pe: ImageNtHeaders> TableReader<'_, 'data, Pe> {
    fn bad(&self, what: &str, rva: u32, e: object::Error) -> PeError {
        PeError::Malformed(format!(
            "truncated or invalid {}: {what} at {} ({e})",
            self.table,
            locate(self.file, self.len, rva)
        ))
    }

    fn outside(&self) -> PeError {
        PeError::Malformed(format!(
            "{} points outside the file: {}",
            self.table,
            locate(self.file, self.len, self.dir_rva)
        ))
    }

    /// The RVA of descriptor `index`, for error messages.
    fn descriptor_rva<D>(&self, index: u32) -> u32 {
        self.dir_rva
            .wrapping_add(index.wrapping_mul(std::mem::size_of::<D>() as u32))
    }

    /// Walk a thunk list: function names, and `#N` for imports by ordinal N.
    fn functions(
        &self,
        mut thunks: ImportThunkList<'data>,
        list_rva: u32,
        names: &mut Names,
        hint_name: impl Fn(u32) -> object::Result<(u16, &'data [u8])>,
    ) -> Result<(Vec<ImportedFunction>, usize), PeError> {
        let mut functions = Vec::new();
        let mut by_ordinal = 0;
        while let Some(thunk) = thunks
            .next::<Pe>()
            .map_err(|e| self.bad("import name table", list_rva, e))?
        {
            if thunk.is_ordinal() {
                by_ordinal += 1;
                functions.push(ImportedFunction::Ordinal(thunk.ordinal()));
            } else {
                let rva = thunk.address();
                let name = match names.by_rva.get(&rva) {
                    Some(n) => n.clone(),
                    None => {
                        let (_, raw) =
                            hint_name(rva).map_err(|e| self.bad("hint/name entry", rva, e))?;
                        let n: Arc<str> = String::from_utf8_lossy(raw).into();
                        names.by_rva.insert(rva, n.clone());
                        n
                    }
                };
                names.bytes = names.bytes.saturating_add(name.len() as u64);
                if names.bytes > names.limit {
                    return Err(PeError::Malformed(format!(
                        "the function names of the {} at {} add up to more than {} bytes, {} times the file's size: its thunks repeat names, as only a crafted file does",
                        self.table,
                        locate(self.file, self.len, list_rva),
                        names.limit,
                        names.limit / (self.len.max(1) as u64)
                    )));
                }
                functions.push(ImportedFunction::Name(name));
            }
            self.check_runaway(functions.len(), list_rva)?;
        }
        Ok((functions, by_ordinal))
    }

    /// A table with more entries than the file has bytes is a loop in a crafted file,
    /// not a real table: stop instead of allocating without bound.
    fn check_runaway(&self, count: usize, rva: u32) -> Result<(), PeError> {
        if count > self.len / 2 + 16 {
            return Err(PeError::Malformed(format!(
                "{} at {} never ends (more entries than the file has bytes)",
                self.table,
                locate(self.file, self.len, rva)
            )));
        }
        Ok(())
    }
}

/// The data directory's RVA, or None when the file has no such table.
fn directory_rva<Pe: ImageNtHeaders>(file: &PeFile<Pe>, index: usize) -> Option<u32> {
    file.data_directory(index)
        .map(|d| d.virtual_address.get(LE))
        .filter(|rva| *rva != 0)
}

pub(super) fn read_imports<Pe: ImageNtHeaders>(
    file: &PeFile<Pe>,
    data: &[u8],
    names: &mut Names,
) -> Result<Vec<Import>, PeError> {
    let Some(dir_rva) = directory_rva(file, pe::IMAGE_DIRECTORY_ENTRY_IMPORT) else {
        return Ok(Vec::new());
    };
    let r = TableReader {
        file,
        len: data.len(),
        table: "import table",
        dir_rva,
    };
    let table = file
        .import_table()
        .map_err(|e| r.bad("import directory", dir_rva, e))?
        .ok_or_else(|| r.outside())?;
    let mut descriptors = table
        .descriptors()
        .map_err(|e| r.bad("import directory", dir_rva, e))?;
    let mut out = Vec::new();
    for index in 0u32.. {
        let desc_rva = r.descriptor_rva::<pe::ImageImportDescriptor>(index);
        let Some(desc) = descriptors
            .next()
            .map_err(|e| r.bad("import descriptor", desc_rva, e))?
        else {
            break;
        };
        let name_rva = desc.name.get(LE);
        let name = table
            .name(name_rva)
            .map_err(|e| r.bad("DLL name", name_rva, e))?;
        // The import name table (original first thunk) survives binding; old linkers
        // leave it zero, and then the IAT still holds the names.
        let mut list_rva = desc.original_first_thunk.get(LE);
        if list_rva == 0 {
            list_rva = desc.first_thunk.get(LE);
        }
        let (functions, by_ordinal) = if list_rva == 0 {
            (Vec::new(), 0)
        } else {
            let thunks = table
                .thunks(list_rva)
                .map_err(|e| r.bad("import name table", list_rva, e))?;
            r.functions(thunks, list_rva, names, |a| table.hint_name(a))?
        };
        out.push(Import {
            dll: String::from_utf8_lossy(name).into_owned(),
            delay: false,
            functions,
            by_ordinal,
        });
        r.check_runaway(out.len(), dir_rva)?;
    }
    Ok(out)
}

pub(super) fn read_delay_imports<Pe: ImageNtHeaders>(
    file: &PeFile<Pe>,
    data: &[u8],
    names: &mut Names,
) -> Result<Vec<Import>, PeError> {
    let Some(dir_rva) = directory_rva(file, pe::IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT) else {
        return Ok(Vec::new());
    };
    let r = TableReader {
        file,
        len: data.len(),
        table: "delay-load import table",
        dir_rva,
    };
    let table = file
        .delay_load_import_table()
        .map_err(|e| r.bad("delay-load directory", dir_rva, e))?
        .ok_or_else(|| r.outside())?;
    let mut descriptors = table
        .descriptors()
        .map_err(|e| r.bad("delay-load directory", dir_rva, e))?;
    let image_base = file.nt_headers().optional_header().image_base();
    let mut out = Vec::new();
    for index in 0u32.. {
        let desc_rva = r.descriptor_rva::<pe::ImageDelayloadDescriptor>(index);
        let Some(desc) = descriptors
            .next()
            .map_err(|e| r.bad("delay-load descriptor", desc_rva, e))?
        else {
            break;
        };
        // Version 1 descriptors (every linker since VC 7) hold RVAs; the ancient
        // version 0 form holds virtual addresses, which we convert.
        let rva_based = desc.attributes.get(LE) & 1 != 0;
        let rva_of = |value: u32| -> u32 {
            if rva_based || value == 0 {
                value
            } else {
                u64::from(value).wrapping_sub(image_base) as u32
            }
        };
        let name_rva = rva_of(desc.dll_name_rva.get(LE));
        let name = table
            .name(name_rva)
            .map_err(|e| r.bad("DLL name", name_rva, e))?;
        let list_rva = rva_of(desc.import_name_table_rva.get(LE));
        let (functions, by_ordinal) = if list_rva == 0 {
            (Vec::new(), 0)
        } else {
            let thunks = table
                .thunks(list_rva)
                .map_err(|e| r.bad("delay-load name table", list_rva, e))?;
            r.functions(thunks, list_rva, names, |a| table.hint_name(rva_of(a)))?
        };
        out.push(Import {
            dll: String::from_utf8_lossy(name).into_owned(),
            delay: true,
            functions,
            by_ordinal,
        });
        r.check_runaway(out.len(), dir_rva)?;
    }
    Ok(out)
}
