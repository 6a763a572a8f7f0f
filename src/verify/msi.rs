//! `verify` on an MSI: its tables read (each table stream bounded before the reader
//! sees it), the install folder's files listed from File, Component and Directory, then
//! (when the names and sizes pass the same checks as a zip's) streamed out of the
//! embedded cabinet into the scratch folder, each checked against its File row and
//! MsiFileHash. The extracted files then get the zip's checks (SHA256SUMS, service.json,
//! DLL closure, signatures), and the ServiceInstall row is compared with service.json.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use md5::Digest as _;

use super::cab::Cabinet;
use super::ice::{Database, FileFacts, long_name};
use super::offline::{self, Limits, Listed, Listing};
use super::{CheckResult, Failed, VerifyError};
use crate::package::manifest::Manifest;

/// The most bytes a table stream (or the string pool) may have: real MSIs' tables are
/// kilobytes; the reader keeps a table in memory.
pub const MAX_TABLE_STREAM: u64 = 16 << 20;

/// The most strings the string pool may declare: real MSIs have thousands.
pub const MAX_STRINGS: usize = 1 << 18;

/// Whether `path` starts as a compound file (an MSI) does.
pub fn is_msi(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]
}

/// One file the MSI installs.
#[derive(Debug, Clone)]
pub(super) struct MsiFile {
    /// Its key in File, and its name in the cabinet.
    key: String,
    /// Its path below the install folder, `/`-separated.
    pub path: String,
    pub size: u64,
    md5: Option<[u8; 16]>,
}

/// A ServiceInstall row, as text.
#[derive(Debug, Clone, Default)]
pub(super) struct ServiceRow {
    pub name: String,
    pub display_name: String,
    pub start_type: i32,
    pub start_name: String,
}

/// A ServiceControl row: which service, on which events, waiting or not.
#[derive(Debug, Clone, Default)]
pub(super) struct ControlRow {
    pub name: String,
    pub event: i32,
    /// Null (-1 here) or 1: Windows Installer waits up to 30 s; 0: it does not.
    pub wait: i32,
}

/// What verify read from the MSI's tables.
pub(super) struct MsiRead {
    pub listing: Listing,
    files: Vec<MsiFile>,
    /// The embedded cabinet's stream.
    cabinet: String,
    pub properties: BTreeMap<String, String>,
    pub services: Vec<ServiceRow>,
    pub controls: Vec<ControlRow>,
    /// The tables (of those Wine's msiexec ignores) that have rows.
    pub wine_ignored: Vec<String>,
}

fn input(path: &Path, why: String) -> VerifyError {
    VerifyError::NotMsi {
        msi: path.to_path_buf(),
        why,
    }
}

/// Open the MSI at `path` for reading its tables: its streams bounded and the lengths
/// the reader allocates checked first.
fn open_bounded(path: &Path, limits: &Limits) -> Result<(), VerifyError> {
    let file = File::open(path).map_err(|source| VerifyError::Open {
        zip: path.to_path_buf(),
        source,
    })?;
    bound_streams(path, file, limits)?;
    precheck(path).map_err(|why| input(path, why.to_string()))
}

/// Every table of the MSI at `path` for the rule checks (bounded as [`read`] is).
pub(super) fn tables_only(path: &Path, limits: &Limits) -> Result<Database, VerifyError> {
    open_bounded(path, limits)?;
    let read = || -> std::io::Result<Database> {
        let mut p = msi::Package::open(File::open(path)?)?;
        super::ice::db::read(&mut p)
    };
    match quietly(read) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(input(path, format!("its tables cannot be read: {e}"))),
        Err(what) => Err(input(path, what.to_string())),
    }
}

/// The MSI's tables for the rule checks, with what extraction saw: the names the
/// cabinet holds and the version resource of each extracted file.
pub(super) fn rules_database(
    path: &Path,
    read: &MsiRead,
    pkg: Option<&offline::Package>,
    limits: &Limits,
) -> Result<Database, VerifyError> {
    let mut db = tables_only(path, limits)?;
    let Some(pkg) = pkg else {
        return Ok(db);
    };
    db.cabinet = cabinet_names(path, read).ok();
    for f in &read.files {
        let Some(e) = pkg.files.get(&f.path) else {
            continue;
        };
        let mut facts = FileFacts::default();
        if e.pe
            && let Ok(pe) = crate::pe::read_file(&offline::inside(&pkg.dir, &f.path))
            && let Some(v) = pe.version
        {
            facts.version = Some(v.file_version.clone());
            facts.language = v.language.clone();
        }
        db.files.insert(f.key.clone(), facts);
    }
    Ok(db)
}

/// The names of the files in the MSI's cabinet.
fn cabinet_names(path: &Path, read: &MsiRead) -> std::io::Result<Vec<String>> {
    let mut p = msi::Package::open(File::open(path)?)?;
    let mut stream = p.read_stream(&read.cabinet)?;
    let len = stream.seek(SeekFrom::End(0))?;
    let cab = Cabinet::read(&mut stream, len).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(cab.files.into_iter().map(|c| c.name).collect())
}

/// Read the tables of the MSI at `path`.
pub(super) fn read(path: &Path, limits: &Limits) -> Result<MsiRead, VerifyError> {
    let file = File::open(path).map_err(|source| VerifyError::Open {
        zip: path.to_path_buf(),
        source,
    })?;
    bound_streams(path, file, limits)?;
    precheck(path).map_err(|why| input(path, why.to_string()))?;
    // The msi crate indexes rows and columns it trusts; a malformed database must come
    // back as an error, never stop verify.
    let result = quietly(|| read_tables(path));
    match result {
        Ok(r) => r,
        Err(what) => Err(input(path, what.to_string())),
    }
}

/// Check every stream's size before the msi reader opens it: table streams at most
/// [`MAX_TABLE_STREAM`], and no more streams than `limits.max_entries`.
fn bound_streams(path: &Path, file: File, limits: &Limits) -> Result<(), VerifyError> {
    let cfb = cfb::CompoundFile::open(file)
        .map_err(|e| input(path, format!("not a compound file: {e}")))?;
    let mut n = 0usize;
    for e in cfb.walk() {
        n += 1;
        if n > limits.max_entries {
            return Err(input(
                path,
                format!("more than {} streams (--max-entries)", limits.max_entries),
            ));
        }
        // Table streams' names start with U+4840 (Windows Installer's name encoding).
        let name = e.name();
        if e.is_stream() && name.starts_with('\u{4840}') && e.len() > MAX_TABLE_STREAM {
            return Err(input(
                path,
                format!(
                    "a table stream of {} bytes, more than the {MAX_TABLE_STREAM} verify reads",
                    e.len()
                ),
            ));
        }
    }
    Ok(())
}

/// Windows Installer's stream-name encoding of a table (what the msi crate looks up):
/// letters, digits, `.` and `_` packed two to a character, after U+4840.
fn table_stream(name: &str) -> String {
    let b64 = |c: char| -> Option<u32> {
        match c {
            '0'..='9' => Some(c as u32 - '0' as u32),
            'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
            'a'..='z' => Some(c as u32 - 'a' as u32 + 36),
            '.' => Some(62),
            '_' => Some(63),
            _ => None,
        }
    };
    let mut out = String::from('\u{4840}');
    let chars: Vec<char> = name.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match (b64(chars[i]), chars.get(i + 1).and_then(|c| b64(*c))) {
            (Some(a), Some(b)) => {
                out.extend(char::from_u32(0x3800 + (b << 6) + a));
                i += 2;
            }
            (Some(a), None) => {
                out.extend(char::from_u32(0x4800 + a));
                i += 1;
            }
            (None, _) => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out
}

/// Why an MSI's streams cannot be handed to the msi crate's reader.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unreadable {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("its {stream} stream has {len} bytes, more than {cap}")]
    StreamTooLarge { stream: String, len: u64, cap: u64 },
    #[error("its summary information is malformed")]
    SummaryMalformed,
    #[error("its summary information has a string of {len} bytes in a stream of {stream}")]
    SummaryString { len: usize, stream: usize },
    #[error("its string pool declares {0} strings, more than the {MAX_STRINGS} verify reads")]
    TooManyStrings(usize),
    #[error("its string pool declares more string bytes than its {0}-byte string data holds")]
    PoolPastData(usize),
    /// The reader stopped on the database (a panic inside it, with its message).
    #[error("its tables cannot be read ({0})")]
    Panicked(String),
}

/// The lengths the msi crate allocates before reading, checked against the bytes that
/// are there: a string in the summary information, and each string of the string
/// pool. (A crafted 4 GiB length would otherwise make the reader ask for 4 GiB.)
fn precheck(path: &Path) -> Result<(), Unreadable> {
    let mut cfb = cfb::CompoundFile::open(File::open(path)?)?;
    let mut read = |name: &str, cap: u64| -> Result<Option<Vec<u8>>, Unreadable> {
        if !cfb.is_stream(name) {
            return Ok(None);
        }
        let mut s = cfb.open_stream(name)?;
        if s.len() > cap {
            return Err(Unreadable::StreamTooLarge {
                stream: name.trim_start_matches('\u{5}').to_string(),
                len: s.len(),
                cap,
            });
        }
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    };
    if let Some(summary) = read("\u{5}SummaryInformation", 1 << 20)? {
        summary_strings(&summary)?;
    }
    let data_len = read(&table_stream("_StringData"), MAX_TABLE_STREAM)?
        .map(|d| d.len())
        .unwrap_or(0);
    if let Some(pool) = read(&table_stream("_StringPool"), MAX_TABLE_STREAM)? {
        string_pool(&pool, data_len)?;
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_le_bytes([x[0], x[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

/// Each string property of the summary information fits the stream.
fn summary_strings(summary: &[u8]) -> Result<(), Unreadable> {
    // Header (28 bytes), then the section's id and offset; the section: its size,
    // its property count, then (id, offset) pairs.
    let section = u32_at(summary, 44).ok_or(Unreadable::SummaryMalformed)? as usize;
    let count = u32_at(summary, section + 4).ok_or(Unreadable::SummaryMalformed)? as usize;
    for i in 0..count.min(summary.len() / 8) {
        let Some(offset) = u32_at(summary, section + 8 + i * 8 + 4) else {
            break;
        };
        let at = section.saturating_add(offset as usize);
        // VT_LPSTR: a length, then that many bytes.
        if u32_at(summary, at) == Some(30) {
            let len = u32_at(summary, at + 4).unwrap_or(0) as usize;
            if len > summary.len().saturating_sub(at + 8) {
                return Err(Unreadable::SummaryString {
                    len,
                    stream: summary.len(),
                });
            }
        }
    }
    Ok(())
}

/// The string pool declares at most [`MAX_STRINGS`] strings, whose lengths fit the
/// string data.
fn string_pool(pool: &[u8], data_len: usize) -> Result<(), Unreadable> {
    // Each entry becomes a string the reader keeps: bound their number before it
    // builds them (4 million empty entries took 295 MiB).
    let entries = pool.len().saturating_sub(4) / 4;
    if entries > MAX_STRINGS {
        return Err(Unreadable::TooManyStrings(entries));
    }
    let mut at = 4;
    let mut total = 0usize;
    while let (Some(len), Some(refs)) = (u16_at(pool, at), u16_at(pool, at + 2)) {
        at += 4;
        let mut len = len as usize;
        if len == 0 && refs > 0 {
            len = u32_at(pool, at).unwrap_or(0) as usize;
            at += 4;
        }
        total = total.saturating_add(len);
        if total > data_len {
            return Err(Unreadable::PoolPastData(data_len));
        }
    }
    Ok(())
}

/// Run `f`, turning a panic inside it into `Err` with its message (and printing
/// nothing).
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, Unreadable> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.map_err(|p| {
        Unreadable::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "malformed".into()),
        )
    })
}

type Rows = Vec<BTreeMap<String, msi::Value>>;

/// All rows of `table` by column name; empty when the table does not exist.
fn rows(p: &mut msi::Package<File>, table: &str) -> std::io::Result<Rows> {
    let Some(columns) = p.get_table(table).map(|t| {
        t.columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect::<Vec<_>>()
    }) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in p.select_rows(msi::Select::table(table))? {
        let mut m = BTreeMap::new();
        for (i, c) in columns.iter().enumerate() {
            if i < row.len() {
                m.insert(c.clone(), row[i].clone());
            }
        }
        out.push(m);
    }
    Ok(out)
}

fn text(row: &BTreeMap<String, msi::Value>, col: &str) -> String {
    match row.get(col) {
        Some(msi::Value::Str(s)) => s.clone(),
        Some(msi::Value::Int(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn int(row: &BTreeMap<String, msi::Value>, col: &str) -> Option<i32> {
    match row.get(col) {
        Some(msi::Value::Int(n)) => Some(*n),
        _ => None,
    }
}

/// The tables of an open MSI, read by name, their errors naming the MSI.
struct Tables<'a> {
    p: msi::Package<File>,
    path: &'a Path,
}

impl Tables<'_> {
    fn bad(&self, why: String) -> VerifyError {
        input(self.path, why)
    }

    fn get(&mut self, name: &str) -> Result<Rows, VerifyError> {
        rows(&mut self.p, name).map_err(|e| input(self.path, format!("the {name} table: {e}")))
    }
}

fn read_tables(path: &Path) -> Result<MsiRead, VerifyError> {
    let file = File::open(path).map_err(|source| VerifyError::Open {
        zip: path.to_path_buf(),
        source,
    })?;
    let p = msi::Package::open(file).map_err(|e| input(path, format!("not an MSI: {e}")))?;
    let mut t = Tables { p, path };
    let properties: BTreeMap<String, String> = t
        .get("Property")?
        .iter()
        .map(|r| (text(r, "Property"), text(r, "Value")))
        .collect();
    let files = msi_files(&mut t)?;
    if files.is_empty() {
        return Err(VerifyError::Empty(path.to_path_buf()));
    }
    let cabinet = cabinet_stream(&mut t)?;
    let (services, controls) = service_rows(&mut t)?;
    let wine_ignored = wine_ignored(&mut t)?;
    let listing = Listing {
        entries: files
            .iter()
            .map(|f| Listed {
                name: f.path.clone(),
                dir: false,
                size: f.size,
                // Compression is judged for the cabinet as a whole.
                compressed: f.size,
            })
            .collect(),
        declared: Some(files.len() as u64),
    };
    Ok(MsiRead {
        listing,
        files,
        cabinet,
        properties,
        services,
        controls,
        wine_ignored,
    })
}

/// Each Directory row's path below INSTALLDIR, when it is below it.
fn install_folders(t: &mut Tables) -> Result<impl Fn(&str) -> Option<String> + use<>, VerifyError> {
    let dirs: BTreeMap<String, (String, String)> = t
        .get("Directory")?
        .iter()
        .map(|r| {
            (
                text(r, "Directory"),
                (text(r, "Directory_Parent"), text(r, "DefaultDir")),
            )
        })
        .collect();
    Ok(move |start: &str| -> Option<String> {
        let mut key = start.to_string();
        let mut parts = Vec::new();
        for _ in 0..64 {
            if key == "INSTALLDIR" {
                parts.reverse();
                return Some(parts.join("/"));
            }
            let (parent, default) = dirs.get(&key)?;
            let name = long_name(default, true);
            if name != "." {
                parts.push(name.to_string());
            }
            key = parent.clone();
        }
        None
    })
}

/// The files the MSI installs: each File row's path below INSTALLDIR, size and MD5.
fn msi_files(t: &mut Tables) -> Result<Vec<MsiFile>, VerifyError> {
    let below_install = install_folders(t)?;
    let components: BTreeMap<String, String> = t
        .get("Component")?
        .iter()
        .map(|r| (text(r, "Component"), text(r, "Directory_")))
        .collect();
    let hashes: BTreeMap<String, [u8; 16]> = t
        .get("MsiFileHash")?
        .iter()
        .filter_map(|r| {
            let mut md5 = [0u8; 16];
            for (i, col) in ["HashPart1", "HashPart2", "HashPart3", "HashPart4"]
                .iter()
                .enumerate()
            {
                md5[i * 4..i * 4 + 4].copy_from_slice(&int(r, col)?.to_le_bytes());
            }
            Some((text(r, "File_"), md5))
        })
        .collect();
    let mut files = Vec::new();
    for r in t.get("File")? {
        let key = text(&r, "File");
        let comp = text(&r, "Component_");
        let dir = components.get(&comp).ok_or_else(|| {
            t.bad(format!(
                "file `{key}` names component `{comp}`, which is not in the Component table"
            ))
        })?;
        let folder = below_install(dir).ok_or_else(|| {
            t.bad(format!(
                "file `{key}` goes to folder `{dir}`, which is not inside INSTALLDIR: verify reads packages that install into one folder"
            ))
        })?;
        // A file name has no `:` part: one with a `:` is refused by the listing's name
        // checks (an NTFS alternate stream).
        let name = long_name(&text(&r, "FileName"), false).to_string();
        let path = if folder.is_empty() {
            name
        } else {
            format!("{folder}/{name}")
        };
        let size = int(&r, "FileSize")
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| t.bad(format!("file `{key}` has no valid FileSize")))?;
        files.push(MsiFile {
            md5: hashes.get(&key).copied(),
            key,
            path,
            size,
        });
    }
    Ok(files)
}

/// The embedded cabinet's stream name (the one Media row's `#name`).
fn cabinet_stream(t: &mut Tables) -> Result<String, VerifyError> {
    let cabinets: Vec<String> = t
        .get("Media")?
        .iter()
        .map(|r| text(r, "Cabinet"))
        .filter(|c| !c.is_empty())
        .collect();
    match cabinets.as_slice() {
        [one] => one.strip_prefix('#').map(str::to_string).ok_or_else(|| {
            t.bad(format!("its cabinet `{one}` is a file beside the MSI, not inside it: verify reads MSIs that carry their files"))
        }),
        [] => Err(t.bad("it has no cabinet (Media table): its files are not inside it".into())),
        _ => Err(t.bad(format!("it has {} cabinets: verify reads MSIs with one", cabinets.len()))),
    }
}

/// The ServiceInstall and ServiceControl rows.
fn service_rows(t: &mut Tables) -> Result<(Vec<ServiceRow>, Vec<ControlRow>), VerifyError> {
    let services = t
        .get("ServiceInstall")?
        .iter()
        .map(|r| ServiceRow {
            name: text(r, "Name"),
            display_name: text(r, "DisplayName"),
            start_type: int(r, "StartType").unwrap_or(-1),
            start_name: text(r, "StartName"),
        })
        .collect();
    let controls = t
        .get("ServiceControl")?
        .iter()
        .map(|r| ControlRow {
            name: text(r, "Name"),
            event: int(r, "Event").unwrap_or(0),
            wait: int(r, "Wait").unwrap_or(-1),
        })
        .collect();
    Ok((services, controls))
}

/// What the MSI asks that Wine's msiexec does not do: the tables of those with rows,
/// and the recovery custom action.
fn wine_ignored(t: &mut Tables) -> Result<Vec<String>, VerifyError> {
    let mut with_rows = Vec::new();
    for name in [
        "MsiServiceConfig",
        "MsiServiceConfigFailureActions",
        "MsiLockPermissionsEx",
    ] {
        if !t.get(name)?.is_empty() {
            with_rows.push(name.to_string());
        }
    }
    if t.get("CustomAction")?
        .iter()
        .any(|r| text(r, "Target").contains("sc.exe\" failure "))
    {
        with_rows.push(SC_FAILURE.to_string());
    }
    Ok(wine_ignores(&with_rows))
}

/// The cabinet holds exactly the File rows, each once and of its File row's size:
/// the rows by key.
fn cabinet_matches_files<'r>(
    cab: &Cabinet,
    read: &'r MsiRead,
) -> Result<BTreeMap<&'r str, &'r MsiFile>, Failed> {
    let by_key: BTreeMap<&str, &MsiFile> = read.files.iter().map(|f| (f.key.as_str(), f)).collect();
    let mut seen = std::collections::BTreeSet::new();
    for c in &cab.files {
        let Some(f) = by_key.get(c.name.as_str()) else {
            return Err(Failed(format!(
                "the cabinet holds `{}`, which no File row installs",
                c.name
            )));
        };
        if c.size != f.size {
            return Err(Failed(format!(
                "`{}` has {} bytes in the cabinet, but its File row says {}",
                f.path, c.size, f.size
            )));
        }
        if !seen.insert(c.name.as_str()) {
            return Err(Failed(format!("the cabinet holds `{}` twice", c.name)));
        }
    }
    if let Some(missing) = read.files.iter().find(|f| !seen.contains(f.key.as_str())) {
        return Err(Failed(format!(
            "`{}` (File `{}`) is not in the cabinet",
            missing.path, missing.key
        )));
    }
    Ok(by_key)
}

/// Stream every file out of the MSI's cabinet into `dir` (the listing passed
/// [`offline::check_listing`]), each checked against its File row and MsiFileHash.
pub(super) fn extract(
    path: &Path,
    read: &MsiRead,
    dir: &Path,
    limits: &Limits,
) -> Result<offline::Package, Failed> {
    let file = File::open(path).map_err(|e| Failed(format!("cannot open: {e}")))?;
    let mut p = msi::Package::open(file).map_err(|e| Failed(format!("not an MSI: {e}")))?;
    let mut stream = p
        .read_stream(&read.cabinet)
        .map_err(|e| Failed(format!("the cabinet stream `{}`: {e}", read.cabinet)))?;
    let len = stream
        .seek(SeekFrom::End(0))
        .map_err(|e| Failed(format!("the cabinet: {e}")))?;
    let cab = Cabinet::read(&mut stream, len).map_err(|e| Failed(e.to_string()))?;
    let total: u64 = read.files.iter().map(|f| f.size).sum();
    if total > 1 << 20 && total / len.max(1) > limits.max_ratio {
        return Err(Failed(format!(
            "the cabinet expands {len} bytes to {total} ({}:1), past the {}:1 allowed (--max-ratio)",
            total / len.max(1),
            limits.max_ratio
        )));
    }
    let by_key = cabinet_matches_files(&cab, read)?;
    let mut files = BTreeMap::new();
    let mut small = BTreeMap::new();
    for folder in 0..cab.folders.len() {
        let mut in_folder: Vec<_> = cab.files.iter().filter(|c| c.folder == folder).collect();
        in_folder.sort_by_key(|c| c.offset);
        let mut data = cab
            .folder(&mut stream, folder)
            .map_err(|e| Failed(e.to_string()))?;
        let mut at = 0u64;
        for c in in_folder {
            let f = by_key[c.name.as_str()];
            if c.offset < at {
                return Err(Failed(format!(
                    "`{}` overlaps the file before it in the cabinet",
                    f.path
                )));
            }
            let gap = c.offset - at;
            if std::io::copy(&mut (&mut data).take(gap), &mut std::io::sink())
                .map_err(|e| Failed(format!("the cabinet: {e}")))?
                != gap
            {
                return Err(Failed(format!("the cabinet ends before `{}`", f.path)));
            }
            let (extracted, kept) = extract_file(&mut data, f, dir)?;
            if let Some(b) = kept {
                small.insert(f.path.clone(), b);
            }
            files.insert(f.path.clone(), extracted);
            at = c.offset + c.size;
        }
    }
    Ok(offline::Package::assemble(files, dir, small))
}

/// One file out of its cabinet folder's data into `dir`, held to its size and checked
/// against its MsiFileHash: what was written, and its bytes when verify keeps them.
fn extract_file(
    data: &mut impl Read,
    f: &MsiFile,
    dir: &Path,
) -> Result<(offline::Extracted, Option<Vec<u8>>), Failed> {
    let dest = offline::inside(dir, &f.path);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Failed(format!("cannot create {}: {e}", parent.display())))?;
    }
    let listed = Listed {
        name: f.path.clone(),
        dir: false,
        size: f.size,
        compressed: f.size,
    };
    let mut hashing = Md5Reader {
        inner: data.take(f.size),
        md5: md5::Md5::new(),
    };
    let keep = [crate::package::SHA256SUMS, crate::package::SERVICE_JSON]
        .iter()
        .any(|n| f.path == *n);
    let (extracted, kept) = offline::copy_entry(&mut hashing, &listed, &dest, keep)?;
    let md5: [u8; 16] = hashing.md5.finalize().into();
    if let Some(want) = f.md5
        && want != md5
    {
        return Err(Failed(format!(
            "`{}` does not match its MsiFileHash: the cabinet's bytes are not the ones the MSI was made with",
            f.path
        )));
    }
    Ok((extracted, kept))
}

struct Md5Reader<R> {
    inner: R,
    md5: md5::Md5,
}

impl<R: Read> Read for Md5Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
}

/// What the ServiceControl rows of service `name` leave undone: the service must be
/// stopped at install (an upgrade or repair replaces its exe) and at uninstall, deleted
/// at uninstall, started at install unless disabled, and Windows Installer must wait for
/// the stop (or the files are still in use when it replaces or removes them).
fn control_problems(
    controls: &[ControlRow],
    name: &str,
    svc: &crate::autostart::service::Service,
) -> Vec<String> {
    // msidbServiceControlEvent: Start 1, Stop 2, UninstallStop 32, UninstallDelete 128.
    let event = controls
        .iter()
        .filter(|c| c.name == name)
        .fold(0, |e, c| e | c.event);
    let n = &svc.name;
    let mut missing = Vec::new();
    if svc.start != crate::autostart::service::StartType::Disabled && event & 1 == 0 {
        missing.push(format!("start `{n}` at install"));
    }
    if event & 2 == 0 {
        missing.push(format!(
            "stop `{n}` at install (an upgrade would meet its exe in use)"
        ));
    }
    if event & 32 == 0 {
        missing.push(format!("stop `{n}` at uninstall"));
    }
    if event & 128 == 0 {
        missing.push(format!("delete `{n}` at uninstall"));
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("ServiceControl does not {}", missing.join(", ")));
    }
    if controls.iter().any(|c| c.name == name && c.wait == 0) {
        problems.push(format!(
            "ServiceControl does not wait for `{}` to stop (Wait = 0): Windows Installer would replace or remove files still in use",
            svc.name
        ));
    }
    problems
}

/// The ServiceInstall row against service.json's service: name, display name, start
/// type and account (as the formatted text Windows Installer would write).
fn service_row_problems(row: &ServiceRow, svc: &crate::autostart::service::Service) -> Vec<String> {
    let mut problems = Vec::new();
    // The table holds formatted text: compare what Windows Installer would
    // write.
    let f = crate::script::msi_formatted;
    if row.name != f(&svc.name) {
        problems.push(format!(
            "the service is `{}` in the MSI, `{}` in service.json",
            row.name, svc.name
        ));
    }
    if row.display_name != f(&svc.display_name) {
        problems.push(format!(
            "the display name is `{}` in the MSI, `{}` in service.json",
            row.display_name, svc.display_name
        ));
    }
    let start = match svc.start {
        crate::autostart::service::StartType::Auto
        | crate::autostart::service::StartType::DelayedAuto => 2,
        crate::autostart::service::StartType::Manual => 3,
        crate::autostart::service::StartType::Disabled => 4,
    };
    if row.start_type != start {
        problems.push(format!(
            "the start type is {} in the MSI, {start} in service.json",
            row.start_type
        ));
    }
    let account = match svc.account {
        crate::autostart::service::Account::LocalSystem => String::new(),
        _ => f(&svc.account.object_name(&svc.name)),
    };
    if row.start_name != account {
        problems.push(format!(
            "the account is `{}` in the MSI, `{account}` in service.json",
            row.start_name
        ));
    }
    problems
}

/// The MSI's own rows against service.json: the product's name and version, and the
/// service (name, display name, start type, account).
pub(super) fn check_tables(read: &MsiRead, manifest: Option<&Manifest>) -> CheckResult {
    let prop = |k: &str| read.properties.get(k).cloned().unwrap_or_default();
    let hashed = read.files.iter().filter(|f| f.md5.is_some()).count();
    let mut said = format!(
        "{} {}, ProductCode {}; {} of {} files in MsiFileHash",
        prop("ProductName"),
        prop("ProductVersion"),
        prop("ProductCode"),
        hashed,
        read.files.len()
    );
    let Some(m) = manifest else {
        return Ok(said);
    };
    let mut problems = Vec::new();
    if prop("ProductName") != m.package.name {
        problems.push(format!(
            "ProductName is `{}`, service.json names `{}`",
            prop("ProductName"),
            m.package.name
        ));
    }
    if prop("ProductVersion") != m.package.version {
        problems.push(format!(
            "ProductVersion is `{}`, service.json says `{}`",
            prop("ProductVersion"),
            m.package.version
        ));
    }
    match (&m.service, read.services.as_slice()) {
        (None, []) => {}
        (None, rows) => problems.push(format!(
            "it installs {} service(s), but service.json has none",
            rows.len()
        )),
        (Some(_), []) => {
            problems.push("service.json has a service, but ServiceInstall is empty".into())
        }
        (Some(s), [row]) => {
            problems.extend(service_row_problems(row, &s.service));
            problems.extend(control_problems(&read.controls, &row.name, &s.service));
            said.push_str(&format!(
                "; service `{}` as in service.json, stopped (waiting) at install and uninstall, deleted at uninstall",
                s.service.name
            ));
        }
        (Some(_), rows) => problems.push(format!(
            "{} ServiceInstall rows, service.json has one service",
            rows.len()
        )),
    }
    if problems.is_empty() {
        Ok(said)
    } else {
        Err(Failed(problems.join("; ")))
    }
}

/// The tables of the MSI that Wine's msiexec does not apply, from their names.
pub fn wine_ignores(tables_with_rows: &[String]) -> Vec<String> {
    [
        "MsiServiceConfig",
        "MsiServiceConfigFailureActions",
        "MsiLockPermissionsEx",
        SC_FAILURE,
    ]
    .into_iter()
    .filter(|t| tables_with_rows.iter().any(|x| x == t))
    .map(str::to_string)
    .collect()
}

/// The recovery custom action: it runs, but Wine's sc.exe stores no failure actions.
pub const SC_FAILURE: &str = "the recovery actions (`sc.exe failure` in a custom action: Wine's sc.exe accepts it and stores nothing)";
