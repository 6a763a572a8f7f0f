//! One PE file in, its [`Facts`] out.
//!
//! Reading goes through the `object` crate (zero-copy, and unlike goblin it reads the
//! delay-load import table), over the 4 KiB blocks of the file the reader touches
//! ([`lazy`]). Before `object` sees the bytes we check
//! the DOS and NT signatures ourselves, so that the common mistakes (a text file, an
//! ELF binary, a truncated download) get a message that says exactly what is wrong and
//! where, instead of a generic parse error. Every error names a byte offset when one
//! is known. Nothing here panics on any input.

pub mod authenticode;
pub mod hygiene;
mod imports;
mod lazy;
mod types;

use std::fs::File;
use std::path::{Path, PathBuf};

use object::LittleEndian as LE;
use object::ReadRef;
use object::pe;
use object::read::pe::{DataDirectories, ImageNtHeaders, ImageOptionalHeader, SectionTable};
use serde::Serialize;

pub use authenticode::Signature;
pub use hygiene::{DebugBytes, SectionBytes, VersionInfo};
pub use types::{ImportedFunction, Machine, PeFormat, Subsystem};

/// Why a file could not be read as a PE image. The message never includes the path:
/// callers add it, so it is said once.
#[derive(Debug, thiserror::Error)]
pub enum PeError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a PE file: {0}")]
    NotPe(String),
    /// Not even the MZ signature (or empty): a file that is not an executable at all.
    #[error("not a PE file: {0}")]
    NotMz(String),
    #[error("{0}")]
    Malformed(String),
}

/// What a PE file says about itself: everything later stages need, nothing they don't.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub path: PathBuf,
    /// The file's (device, inode), when it was read from disk: the same file under
    /// two names is checked once.
    #[serde(skip)]
    pub file_id: Option<(u64, u64)>,
    pub machine: Machine,
    pub format: PeFormat,
    /// An image with IMAGE_FILE_DLL set (DLLs, .pyd, .node plugins, most .sys files).
    pub dll: bool,
    pub subsystem: Subsystem,
    pub characteristics: Characteristics,
    /// `MajorOperatingSystemVersion.Minor` from the optional header.
    pub os_version: String,
    /// `MajorSubsystemVersion.Minor`: the version the loader actually enforces.
    pub subsystem_version: String,
    /// Authenticode certificate table present (data directory 4).
    pub signed: bool,
    /// What the certificate table says, when there is one.
    pub signature: Option<Signature>,
    /// The VERSIONINFO resource.
    pub version: Option<VersionInfo>,
    /// An application manifest resource is embedded.
    pub manifest: bool,
    /// Why the file looks packed (UPX or another packer), if it does.
    pub packer: Option<String>,
    /// DWARF sections and COFF symbols it carries.
    pub debug: DebugBytes,
    /// The headers' bytes (SizeOfHeaders), then each section's, in table order.
    pub header_bytes: u64,
    pub sections: Vec<SectionBytes>,
    /// The file's size in bytes.
    pub size: u64,
    pub pdb_path: Option<String>,
    /// Imports the service control dispatcher: a native Windows service.
    pub service_dispatcher: bool,
    /// The COFF header's TimeDateStamp (the link time, unless the linker was told not
    /// to write one).
    pub link_time: u32,
    /// Normal imports in file order, then delay-load imports in file order; one entry
    /// per import descriptor exactly as written in the file.
    pub imports: Vec<Import>,
}

impl Facts {
    /// An empty value, left behind where facts were moved out.
    pub fn placeholder() -> Facts {
        Facts {
            path: PathBuf::new(),
            file_id: None,
            machine: Machine::Unknown,
            format: PeFormat::Pe32,
            dll: false,
            subsystem: Subsystem::Unknown,
            characteristics: Characteristics {
                aslr: false,
                high_entropy_va: false,
                dep: false,
                cfg: false,
                force_integrity: false,
            },
            os_version: String::new(),
            subsystem_version: String::new(),
            signed: false,
            signature: None,
            version: None,
            manifest: false,
            packer: None,
            debug: DebugBytes::default(),
            header_bytes: 0,
            sections: Vec::new(),
            size: 0,
            pdb_path: None,
            service_dispatcher: false,
            link_time: 0,
            imports: Vec::new(),
        }
    }
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
    /// Imported functions, by name or by ordinal, in table order.
    pub functions: Vec<ImportedFunction>,
    /// How many of `functions` are imported by ordinal.
    pub by_ordinal: usize,
}

/// Read the PE file at `path`, a block at a time, only where the reader looks
/// ([`lazy`]); a signed file's hash reads the rest as a stream. Facts own their data:
/// nothing of the file is kept.
pub fn read_file(path: &Path) -> Result<Facts, PeError> {
    let (file, meta) = open_regular(path)?;
    let len = meta.len();
    if len == 0 {
        return Err(PeError::NotMz("the file is empty".into()));
    }
    let lazy = lazy::Lazy::new(file, len);
    let mut facts = parse_from(path, &lazy, &lazy)?;
    facts.file_id = file_id(&meta);
    Ok(facts)
}

fn u16_at<'d, R: ReadRef<'d>>(data: R, at: u64) -> Option<u16> {
    let b = data.read_bytes_at(at, 2).ok()?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at<'d, R: ReadRef<'d>>(data: R, at: u64) -> Option<u32> {
    let b = data.read_bytes_at(at, 4).ok()?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(unix)]
pub(crate) fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
pub(crate) fn file_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Is this the start of a PE image? Cheap: used to pick PE files out of directories
/// by content rather than by extension.
pub fn looks_like_pe(head: &[u8]) -> bool {
    head.len() >= 2 && &head[..2] == b"MZ"
}

/// Read a PE image from memory. `path` is only recorded in the result.
pub fn parse(path: &Path, data: &[u8]) -> Result<Facts, PeError> {
    parse_from(path, data, &data)
}

/// Read a PE image from `data`; `bytes` is the same file as the signature check reads
/// it (to hash it).
fn parse_from<'d, R: ReadRef<'d>>(
    path: &Path,
    data: R,
    bytes: &dyn authenticode::Bytes,
) -> Result<Facts, PeError> {
    let nt_offset = check_signatures(data)?;
    let magic = u16_at(data, nt_offset as u64 + 24).ok_or_else(|| {
        PeError::Malformed(format!(
            "truncated optional header at offset {:#x}",
            nt_offset + 24
        ))
    })?;
    match magic {
        pe::IMAGE_NT_OPTIONAL_HDR32_MAGIC => {
            read_image::<pe::ImageNtHeaders32, R>(path, data, bytes, nt_offset + 24)
        }
        pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC => {
            read_image::<pe::ImageNtHeaders64, R>(path, data, bytes, nt_offset + 24)
        }
        other => Err(PeError::Malformed(format!(
            "unknown optional header magic {other:#06x} at offset {:#x} (expected 0x10b for PE32 or 0x20b for PE32+)",
            nt_offset + 24
        ))),
    }
}

/// Check the MZ and PE signatures; return the offset of the NT headers.
fn check_signatures<'d, R: ReadRef<'d>>(data: R) -> Result<usize, PeError> {
    let len = data.len().unwrap_or(0);
    if data.read_bytes_at(0, 2) != Ok(b"MZ".as_slice()) {
        let head = data.read_bytes_at(0, len.min(4)).unwrap_or_default();
        let what = sniff(head);
        return Err(PeError::NotMz(format!(
            "no MZ signature at offset 0x0{what}"
        )));
    }
    let lfanew = u32_at(data, 0x3c).ok_or_else(|| {
        PeError::Malformed(format!(
            "truncated DOS header: the file is {len} bytes, the header needs 64"
        ))
    })?;
    match data.read_bytes_at(u64::from(lfanew), 4) {
        Err(()) => Err(PeError::Malformed(format!(
            "truncated: the PE header offset {lfanew:#x} (e_lfanew at 0x3c) is beyond the end of the file ({len} bytes)"
        ))),
        Ok(sig) if sig != b"PE\0\0" => Err(PeError::NotPe(format!(
            "no PE signature at offset {lfanew:#x} (an MS-DOS or 16-bit executable?)"
        ))),
        Ok(_) => {
            usize::try_from(lfanew).map_err(|_| PeError::Malformed("e_lfanew too large".into()))
        }
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

/// The headers of a PE image, which every reader here starts from. (object's `PeFile`
/// would also read the whole COFF symbol table, which nothing here needs.)
pub(crate) struct Headers<'d, Pe: ImageNtHeaders> {
    nt: &'d Pe,
    dirs: DataDirectories<'d>,
    sections: SectionTable<'d>,
}

impl<'d, Pe: ImageNtHeaders> Headers<'d, Pe> {
    fn parse<R: ReadRef<'d>>(data: R) -> object::Result<Self> {
        let dos = pe::ImageDosHeader::parse(data)?;
        let mut offset = dos.nt_headers_offset().into();
        let (nt, dirs) = Pe::parse(data, &mut offset)?;
        let sections = nt.sections(data, offset)?;
        Ok(Headers { nt, dirs, sections })
    }

    pub fn section_table(&self) -> SectionTable<'d> {
        self.sections
    }

    pub fn data_directory(&self, index: usize) -> Option<&'d pe::ImageDataDirectory> {
        self.dirs.get(index)
    }

    pub fn nt_headers(&self) -> &'d Pe {
        self.nt
    }

    pub fn is_64(&self) -> bool {
        self.nt.is_type_64()
    }
}

fn malformed(e: object::Error) -> PeError {
    PeError::Malformed(format!("invalid PE headers: {e}"))
}

/// `optional`: the file offset of the optional header.
fn read_image<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    path: &Path,
    data: R,
    bytes: &dyn authenticode::Bytes,
    optional: usize,
) -> Result<Facts, PeError> {
    let file = Headers::<Pe>::parse(data).map_err(malformed)?;
    let len = data.len().unwrap_or(0);
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
    let signature = signature(&file, bytes, optional);
    let (version, manifest) = hygiene::resources(&file, data);
    let sections = hygiene::sections(&file, data);
    // A broken debug directory is not worth refusing the file over: no PDB path.
    let pdb_path = pdb_path(&file, data);

    let mut names = imports::Names::for_file(len);
    let mut imports = imports::read_imports::<Pe, R>(&file, data, &mut names)?;
    imports.extend(imports::read_delay_imports::<Pe, R>(
        &file, data, &mut names,
    )?);
    let service_dispatcher = imports.iter().any(|imp| {
        is_service_api_dll(&imp.dll)
            && imp
                .functions
                .iter()
                .filter_map(ImportedFunction::name)
                .any(|f| f == "StartServiceCtrlDispatcherW" || f == "StartServiceCtrlDispatcherA")
    });

    Ok(Facts {
        path: path.to_path_buf(),
        file_id: None,
        machine: Machine::from_coff(fh.machine.get(LE)),
        format: if oh.magic() == pe::IMAGE_NT_OPTIONAL_HDR64_MAGIC {
            PeFormat::Pe32Plus
        } else {
            PeFormat::Pe32
        },
        dll: fh.characteristics.get(LE).0 & pe::IMAGE_FILE_DLL.0 != 0,
        subsystem: Subsystem::from_header(oh.subsystem()),
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
        signed: signature.is_some(),
        signature,
        version,
        manifest,
        packer: hygiene::packer(&file, data, oh.address_of_entry_point()),
        debug: hygiene::debug_bytes(&file, data, &sections),
        header_bytes: u64::from(oh.size_of_headers()),
        sections,
        size: len,
        pdb_path,
        service_dispatcher,
        link_time: fh.time_date_stamp.get(LE),
        imports,
    })
}

/// The PDB path of the first CodeView (RSDS) record in the debug directory. Only the
/// directory and the record are read.
fn pdb_path<'d, Pe: ImageNtHeaders, R: ReadRef<'d>>(
    file: &Headers<'d, Pe>,
    data: R,
) -> Option<String> {
    let dir = hygiene::directory_bytes(file, data, pe::IMAGE_DIRECTORY_ENTRY_DEBUG)?;
    // IMAGE_DEBUG_DIRECTORY: 28 bytes; Type at 12, SizeOfData at 16, PointerToRawData
    // at 24.
    dir.chunks_exact(28).find_map(|e| {
        let field = |at: usize| u32::from_le_bytes([e[at], e[at + 1], e[at + 2], e[at + 3]]);
        if field(12) != pe::IMAGE_DEBUG_TYPE_CODEVIEW.0 {
            return None;
        }
        let record = data
            .read_bytes_at(u64::from(field(24)), u64::from(field(16)))
            .ok()?;
        // "RSDS", a 16-byte GUID, a 4-byte age, then the NUL-terminated path.
        let path = record.strip_prefix(b"RSDS")?.get(20..)?;
        let end = path.iter().position(|&c| c == 0)?;
        Some(String::from_utf8_lossy(&path[..end]).into_owned())
    })
}

/// The Authenticode signature in the certificate table, if there is one. `optional`:
/// the file offset of the optional header.
fn signature<'d, Pe: ImageNtHeaders>(
    file: &Headers<'d, Pe>,
    data: &dyn authenticode::Bytes,
    optional: usize,
) -> Option<Signature> {
    let table = file
        .data_directory(pe::IMAGE_DIRECTORY_ENTRY_SECURITY)
        .map(|d| (d.virtual_address.get(LE) as usize, d.size.get(LE) as usize))
        .filter(|&(off, size)| off != 0 && size != 0)?;
    Some(authenticode::read(
        data,
        &authenticode::Layout {
            // CheckSum is 64 bytes in; the data directories 96 (PE32) or 112 (PE32+).
            checksum: optional + 64,
            security_entry: optional
                + if Pe::is_type_64(file.nt_headers()) {
                    112
                } else {
                    96
                }
                + 8 * pe::IMAGE_DIRECTORY_ENTRY_SECURITY,
            table,
        },
    ))
}

/// DLLs that export `StartServiceCtrlDispatcher`: advapi32 forwards to sechost, and
/// api-set names point at either.
fn is_service_api_dll(dll: &str) -> bool {
    let d = dll.to_ascii_lowercase();
    d == "advapi32.dll" || d == "sechost.dll" || d.starts_with("api-ms-win-service-")
}

/// Open `path` for reading only if it is a regular file (after following links). The
/// open does not block, so a FIFO or a device given by mistake is refused, not waited on.
pub fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), PeError> {
    let mut options = File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(PeError::NotPe(format!("it is {what}")));
    }
    Ok((file, meta))
}

/// Read just enough of a file to tell whether it is a PE image: Ok(false) for a file
/// too short or not starting with `MZ`, Err when it cannot be read at all.
pub fn sniff_file(path: &Path) -> Result<bool, PeError> {
    use std::io::Read;
    let (mut file, _) = open_regular(path)?;
    let mut head = [0u8; 2];
    match file.read_exact(&mut head) {
        Ok(()) => Ok(looks_like_pe(&head)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(PeError::Io(e)),
    }
}
