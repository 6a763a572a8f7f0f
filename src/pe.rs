//! One PE file in, its [`Facts`] out.
//!
//! Reading goes through the `object` crate (zero-copy, and unlike goblin it reads the
//! delay-load import table) over a memory map. Before `object` sees the bytes we check
//! the DOS and NT signatures ourselves, so that the common mistakes (a text file, an
//! ELF binary, a truncated download) get a message that says exactly what is wrong and
//! where, instead of a generic parse error. Every error names a byte offset when one
//! is known. Nothing here panics on any input.

use std::fs::File;
use std::path::{Path, PathBuf};

use object::LittleEndian as LE;
use object::Object;
use object::pe;
use object::read::pe::{
    ImageNtHeaders, ImageOptionalHeader, ImageThunkData, ImportThunkList, PeFile,
};
use serde::Serialize;

/// Why a file could not be read as a PE image. The message never includes the path:
/// callers add it, so it is said once.
#[derive(Debug, thiserror::Error)]
pub enum PeError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a PE file: {0}")]
    NotPe(String),
    #[error("{0}")]
    Malformed(String),
}

/// What a PE file says about itself: everything later stages need, nothing they don't.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub path: PathBuf,
    pub machine: &'static str,
    /// `PE32` or `PE32+`.
    pub format: &'static str,
    /// An image with IMAGE_FILE_DLL set (DLLs, .pyd, .node plugins, most .sys files).
    pub dll: bool,
    pub subsystem: &'static str,
    pub characteristics: Characteristics,
    /// `MajorOperatingSystemVersion.Minor` from the optional header.
    pub os_version: String,
    /// `MajorSubsystemVersion.Minor`: the version the loader actually enforces.
    pub subsystem_version: String,
    /// Authenticode certificate table present (data directory 4).
    pub signed: bool,
    pub pdb_path: Option<String>,
    /// Imports the service control dispatcher: a native Windows service.
    pub service_dispatcher: bool,
    /// Normal imports in file order, then delay-load imports in file order; one entry
    /// per import descriptor exactly as written in the file.
    pub imports: Vec<Import>,
}

/// Security-relevant DLL characteristics.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Characteristics {
    pub aslr: bool,
    pub high_entropy_va: bool,
    pub dep: bool,
    pub cfg: bool,
    pub force_integrity: bool,
}

/// One import descriptor.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Import {
    /// The DLL name as spelled in the file.
    pub dll: String,
    /// From the delay-load import table.
    pub delay: bool,
    /// Imported functions: names, and `#N` for imports by ordinal N.
    pub functions: Vec<String>,
    /// How many of `functions` are imported by ordinal.
    pub by_ordinal: usize,
}

/// Map `path` and read it. The map is dropped before returning: Facts owns its data.
pub fn read_file(path: &Path) -> Result<Facts, PeError> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Err(PeError::NotPe("the file is empty".into()));
    }
    // SAFETY: the map is read-only and lives only for this call. Another process
    // truncating the file while we read it could fault; that is the accepted cost of
    // mmap in every binary tool (ripgrep, object's own examples) and is far rarer than
    // the files this tool reads being large.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    parse(path, &map)
}

/// Is this the start of a PE image? Cheap: used to pick PE files out of directories
/// by content rather than by extension.
pub fn looks_like_pe(head: &[u8]) -> bool {
    head.len() >= 2 && &head[..2] == b"MZ"
}

/// Read a PE image from memory. `path` is only recorded in the result.
pub fn parse(path: &Path, data: &[u8]) -> Result<Facts, PeError> {
    let nt_offset = check_signatures(data)?;
    let magic = data
        .get(nt_offset + 24..nt_offset + 26)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| {
            PeError::Malformed(format!(
                "truncated optional header at offset {:#x}",
                nt_offset + 24
            ))
        })?;
    match magic {
        pe::IMAGE_NT_OPTIONAL_HDR32_MAGIC => read_image::<pe::ImageNtHeaders32>(path, data),
        pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC => read_image::<pe::ImageNtHeaders64>(path, data),
        other => Err(PeError::Malformed(format!(
            "unknown optional header magic {other:#06x} at offset {:#x} (expected 0x10b for PE32 or 0x20b for PE32+)",
            nt_offset + 24
        ))),
    }
}

/// Check the MZ and PE signatures; return the offset of the NT headers.
fn check_signatures(data: &[u8]) -> Result<usize, PeError> {
    if data.len() < 2 || &data[..2] != b"MZ" {
        let what = sniff(data);
        return Err(PeError::NotPe(format!(
            "no MZ signature at offset 0x0{what}"
        )));
    }
    let lfanew = data
        .get(0x3c..0x40)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| {
            PeError::Malformed(format!(
                "truncated DOS header: the file is {} bytes, the header needs 64",
                data.len()
            ))
        })?;
    match data.get(lfanew..lfanew.saturating_add(4)) {
        None => Err(PeError::Malformed(format!(
            "truncated: the PE header offset {lfanew:#x} (e_lfanew at 0x3c) is beyond the end of the file ({} bytes)",
            data.len()
        ))),
        Some(sig) if sig != b"PE\0\0" => Err(PeError::NotPe(format!(
            "no PE signature at offset {lfanew:#x} (an MS-DOS or 16-bit executable?)"
        ))),
        Some(_) => Ok(lfanew),
    }
}

/// A hint for the common non-PE inputs, so the message says what the file is instead.
fn sniff(data: &[u8]) -> &'static str {
    if data.starts_with(b"\x7fELF") {
        " (this is an ELF file: a Linux binary, not a Windows one)"
    } else if data.starts_with(&[0xcf, 0xfa, 0xed, 0xfe])
        || data.starts_with(&[0xca, 0xfe, 0xba, 0xbe])
    {
        " (this is a Mach-O file: a macOS binary)"
    } else if data.starts_with(b"PK\x03\x04") {
        " (this is a zip archive)"
    } else if data.starts_with(b"#!") {
        " (this is a script)"
    } else {
        ""
    }
}

fn malformed(e: object::Error) -> PeError {
    PeError::Malformed(format!("invalid PE headers: {e}"))
}

fn read_image<Pe: ImageNtHeaders>(path: &Path, data: &[u8]) -> Result<Facts, PeError> {
    let file = PeFile::<Pe>::parse(data).map_err(malformed)?;
    let nt = file.nt_headers();
    let fh = nt.file_header();
    let oh = nt.optional_header();
    let dll_chars = oh.dll_characteristics().0;
    let characteristics = Characteristics {
        aslr: dll_chars & pe::IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE.0 != 0,
        high_entropy_va: dll_chars & pe::IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA.0 != 0,
        dep: dll_chars & pe::IMAGE_DLLCHARACTERISTICS_NX_COMPAT.0 != 0,
        cfg: dll_chars & pe::IMAGE_DLLCHARACTERISTICS_GUARD_CF.0 != 0,
        force_integrity: dll_chars & pe::IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY.0 != 0,
    };
    let signed = file
        .data_directory(pe::IMAGE_DIRECTORY_ENTRY_SECURITY)
        .is_some_and(|d| d.size.get(LE) != 0 && d.virtual_address.get(LE) != 0);
    // A broken debug directory is not worth refusing the file over: no PDB path.
    let pdb_path = file
        .pdb_info()
        .ok()
        .flatten()
        .map(|cv| String::from_utf8_lossy(cv.path()).into_owned());

    let mut imports = read_imports::<Pe>(&file, data)?;
    imports.extend(read_delay_imports::<Pe>(&file, data)?);
    let service_dispatcher = imports.iter().any(|imp| {
        is_service_api_dll(&imp.dll)
            && imp
                .functions
                .iter()
                .any(|f| f == "StartServiceCtrlDispatcherW" || f == "StartServiceCtrlDispatcherA")
    });

    Ok(Facts {
        path: path.to_path_buf(),
        machine: machine_name(fh.machine.get(LE)),
        format: if oh.magic() == pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC {
            "PE32+"
        } else {
            "PE32"
        },
        dll: fh.characteristics.get(LE).0 & pe::IMAGE_FILE_DLL.0 != 0,
        subsystem: subsystem_name(oh.subsystem()),
        characteristics,
        os_version: format!(
            "{}.{}",
            oh.major_operating_system_version(),
            oh.minor_operating_system_version()
        ),
        subsystem_version: format!(
            "{}.{}",
            oh.major_subsystem_version(),
            oh.minor_subsystem_version()
        ),
        signed,
        pdb_path,
        service_dispatcher,
        imports,
    })
}

/// DLLs that export `StartServiceCtrlDispatcher`: advapi32 forwards to sechost, and
/// api-set names point at either.
fn is_service_api_dll(dll: &str) -> bool {
    let d = dll.to_ascii_lowercase();
    d == "advapi32.dll" || d == "sechost.dll" || d.starts_with("api-ms-win-service-")
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
        hint_name: impl Fn(u32) -> object::Result<(u16, &'data [u8])>,
    ) -> Result<(Vec<String>, usize), PeError> {
        let mut functions = Vec::new();
        let mut by_ordinal = 0;
        while let Some(thunk) = thunks
            .next::<Pe>()
            .map_err(|e| self.bad("import name table", list_rva, e))?
        {
            if thunk.is_ordinal() {
                by_ordinal += 1;
                functions.push(format!("#{}", thunk.ordinal()));
            } else {
                let (_, name) = hint_name(thunk.address())
                    .map_err(|e| self.bad("hint/name entry", thunk.address(), e))?;
                functions.push(String::from_utf8_lossy(name).into_owned());
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

fn read_imports<Pe: ImageNtHeaders>(
    file: &PeFile<Pe>,
    data: &[u8],
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
            r.functions(thunks, list_rva, |a| table.hint_name(a))?
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

fn read_delay_imports<Pe: ImageNtHeaders>(
    file: &PeFile<Pe>,
    data: &[u8],
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
            r.functions(thunks, list_rva, |a| table.hint_name(rva_of(a)))?
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

/// The machine names of the JSON contract.
pub fn machine_name(machine: pe::Machine) -> &'static str {
    match machine {
        pe::IMAGE_FILE_MACHINE_I386 => "x86",
        pe::IMAGE_FILE_MACHINE_AMD64 => "x86_64",
        pe::IMAGE_FILE_MACHINE_ARM64 => "aarch64",
        pe::IMAGE_FILE_MACHINE_ARM64EC => "arm64ec",
        pe::IMAGE_FILE_MACHINE_ARM64X => "arm64x",
        pe::IMAGE_FILE_MACHINE_ARM
        | pe::IMAGE_FILE_MACHINE_ARMNT
        | pe::IMAGE_FILE_MACHINE_THUMB => "arm",
        pe::IMAGE_FILE_MACHINE_IA64 => "ia64",
        pe::IMAGE_FILE_MACHINE_EBC => "ebc",
        pe::IMAGE_FILE_MACHINE_RISCV64 => "riscv64",
        pe::IMAGE_FILE_MACHINE_UNKNOWN => "unknown",
        _ => "other",
    }
}

/// The subsystem names of the JSON contract: lower-case, hyphenated.
pub fn subsystem_name(subsystem: pe::Subsystem) -> &'static str {
    match subsystem {
        pe::IMAGE_SUBSYSTEM_NATIVE => "native",
        pe::IMAGE_SUBSYSTEM_WINDOWS_GUI => "windows",
        pe::IMAGE_SUBSYSTEM_WINDOWS_CUI => "console",
        pe::IMAGE_SUBSYSTEM_OS2_CUI => "os2-console",
        pe::IMAGE_SUBSYSTEM_POSIX_CUI => "posix-console",
        pe::IMAGE_SUBSYSTEM_NATIVE_WINDOWS => "native-windows",
        pe::IMAGE_SUBSYSTEM_WINDOWS_CE_GUI => "windows-ce",
        pe::IMAGE_SUBSYSTEM_EFI_APPLICATION => "efi-application",
        pe::IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER => "efi-boot-service-driver",
        pe::IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER => "efi-runtime-driver",
        pe::IMAGE_SUBSYSTEM_EFI_ROM => "efi-rom",
        pe::IMAGE_SUBSYSTEM_XBOX => "xbox",
        pe::IMAGE_SUBSYSTEM_WINDOWS_BOOT_APPLICATION => "windows-boot-application",
        _ => "unknown",
    }
}

/// Read just enough of a file to tell whether it is a PE image.
pub fn sniff_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && looks_like_pe(&head)
}
