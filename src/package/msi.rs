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

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use msi::{Category, Column, Insert, LanguageId, Package, PackageType, Value};
use sha2::{Digest as _, Sha256};

use crate::autostart::service::{Account, Mode, Service, StartType};
use crate::config::ErrorControl;
use crate::script::msi_formatted;

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

    /// The Windows Installer version the package needs (Arm64: 5.0).
    fn page_count(self) -> i32 {
        match self {
            MsiArch::X64 => 200,
            MsiArch::X86 => 200,
            MsiArch::Arm64 => 500,
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

/// MSI versions are `a.b.c` with a < 256, b < 256, c < 65536; a pre-release has no
/// place in them. `Err` says why, for the user to map the version.
pub fn msi_version(version: &str) -> Result<String, String> {
    if version.contains(['-', '+']) {
        return Err(format!(
            "`{version}` has a pre-release or build part, which Windows Installer cannot compare: an MSI version is three numbers (release `1.2.3`, or set the version to the next release's numbers)"
        ));
    }
    let parts: Vec<&str> = version.split('.').collect();
    let limits = [255u32, 255, 65535];
    if parts.len() != 3 {
        return Err(format!("`{version}` is not three numbers a.b.c"));
    }
    for (p, max) in parts.iter().zip(limits) {
        match p.parse::<u32>() {
            Ok(n) if n <= max => {}
            _ => {
                return Err(format!(
                    "`{p}` in `{version}` is out of range: an MSI version is a.b.c with a and b up to 255 and c up to 65535"
                ));
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
    /// A command-line tool's PATH entry (`cli.path`): the install folder, appended.
    pub path: Option<crate::autostart::Scope>,
    /// Seconds since 1970 for every time in the MSI.
    pub mtime: u64,
}

/// One file of the MSI.
struct Entry {
    /// Its path in the install folder, `/`-separated.
    path: String,
    /// Its key in the File table and its name in the cabinet.
    id: String,
    size: u64,
}

/// A stable identifier for `what` (`f_…`, `c_…`, `d_…`): a table key.
fn key(prefix: &str, what: &str) -> String {
    let h = Sha256::digest(what.as_bytes());
    let hex: String = h.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

fn guid(u: uuid::Uuid) -> String {
    format!("{{{}}}", u.to_string().to_uppercase())
}

/// `short|long` for a file or folder name: an 8.3 short name made from the long one
/// (the installer needs one when the long one is not 8.3 itself), unique by `n`.
fn short_long(name: &str, n: usize) -> String {
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
pub fn write(input: &MsiInput) -> Result<(), MsiError> {
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
    // The cabinet first, in a temporary file: each entry streamed through MSZIP.
    let mut cab_file = tempfile::tempfile_in(dir).map_err(werr(dir))?;
    let mut entries = Vec::new();
    {
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
            names.push((i, path, e.size()));
        }
        let mut builder = cab::CabinetBuilder::new();
        let when = cab_time(input.mtime);
        let folder = builder.add_folder(cab::CompressionType::MsZip);
        for (_, path, size) in &names {
            let id = key("f", path);
            folder.add_file(id.clone()).set_datetime(when);
            entries.push(Entry {
                path: path.clone(),
                id,
                size: *size,
            });
        }
        let mut cab = builder.build(&mut cab_file).map_err(werr(dir))?;
        let mut k = 0;
        while let Some(mut w) = cab.next_file().map_err(werr(dir))? {
            let (i, _, _) = &names[k];
            let mut entry = archive.by_index(*i).map_err(zip_err)?;
            std::io::copy(&mut entry, &mut w).map_err(werr(dir))?;
            k += 1;
        }
        cab.finish().map_err(werr(dir))?;
    }
    let mut v4 = tempfile::tempfile_in(dir).map_err(werr(dir))?;
    {
        let mut p = Package::create(PackageType::Installer, &mut v4).map_err(werr(dir))?;
        database(&mut p, input, &entries)?;
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
    Ok(())
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

fn cab_time(secs: u64) -> time::PrimitiveDateTime {
    let t = time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let t = time::PrimitiveDateTime::new(t.date(), t.time());
    // A cabinet's dates start in 1980.
    let min = time::PrimitiveDateTime::new(
        time::Date::from_calendar_date(1980, time::Month::January, 1).unwrap_or(time::Date::MIN),
        time::Time::MIDNIGHT,
    );
    t.max(min)
}

/// The tables, and the summary information.
fn database<F: Read + Write + Seek>(
    p: &mut Package<F>,
    input: &MsiInput,
    entries: &[Entry],
) -> Result<(), MsiError> {
    let io = |source| MsiError::Write {
        path: input.dest.to_path_buf(),
        source,
    };
    let prod = input.product;
    let product_code = uuid::Uuid::new_v5(&prod.upgrade_code, prod.version.as_bytes());
    // The PackageCode identifies these exact bytes: from the files and the product.
    let mut h = Sha256::new();
    h.update(prod.version.as_bytes());
    for e in entries {
        h.update(e.path.as_bytes());
        h.update(e.size.to_le_bytes());
    }
    if let Some(s) = input.service {
        h.update(format!("{s:?}").as_bytes());
    }
    let package_code = uuid::Uuid::new_v5(&product_code, &h.finalize());
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(input.mtime.max(315_532_800));
    {
        let s = p.summary_info_mut();
        s.set_arch(prod.arch.template());
        s.set_languages(&[LanguageId::from(1033u16)]);
        s.set_page_count(prod.arch.page_count());
        s.set_word_count(2); // compressed files, long names
        s.set_uuid(package_code);
        s.set_title("Installation Database");
        s.set_subject(prod.name.clone());
        s.set_author(prod.manufacturer.clone());
        s.set_comments(format!("{} {}", prod.name, prod.version));
        s.set_creating_application(format!("cargo-winpkg {}", env!("CARGO_PKG_VERSION")));
        s.set_creation_time(when);
        s.set_last_save_time(when);
    }
    let text = |v: &str| Value::from(v);
    let int = |v: i32| Value::Int(v);
    // Property
    p.create_table(
        "Property",
        vec![
            Column::build("Property").primary_key().id_string(72),
            Column::build("Value").localizable().text_string(0),
        ],
    )
    .map_err(io)?;
    let props = [
        ("ProductCode", guid(product_code)),
        ("ProductName", prod.name.clone()),
        ("ProductVersion", prod.version.clone()),
        ("Manufacturer", prod.manufacturer.clone()),
        ("UpgradeCode", guid(prod.upgrade_code)),
        ("ProductLanguage", "1033".into()),
        ("ALLUSERS", "1".into()),
        ("ARPNOMODIFY", "1".into()),
        ("SecureCustomProperties", "WPK_OLDER;WPK_NEWER".into()),
    ];
    p.insert_rows(
        Insert::into("Property").rows(props.iter().map(|(k, v)| vec![text(k), text(v)]).collect()),
    )
    .map_err(io)?;
    // Directory: TARGETDIR > Program Files > INSTALLDIR > subfolders.
    p.create_table(
        "Directory",
        vec![
            Column::build("Directory").primary_key().id_string(72),
            Column::build("Directory_Parent").nullable().id_string(72),
            Column::build("DefaultDir")
                .localizable()
                .category(Category::DefaultDir)
                .string(255),
        ],
    )
    .map_err(io)?;
    let pf = prod.arch.program_files();
    let mut dirs = vec![
        vec![text("TARGETDIR"), Value::Null, text("SourceDir")],
        vec![text(pf), text("TARGETDIR"), text(".")],
        vec![
            text("INSTALLDIR"),
            text(pf),
            text(&short_long(&prod.name, 1)),
        ],
    ];
    let mut folders: Vec<String> = Vec::new();
    for e in entries {
        let mut acc = String::new();
        for part in e
            .path
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let parent = if acc.is_empty() {
                "INSTALLDIR".to_string()
            } else {
                key("d", &acc)
            };
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            if !folders.contains(&acc) {
                folders.push(acc.clone());
                dirs.push(vec![
                    text(&key("d", &acc)),
                    text(&parent),
                    text(&short_long(part, folders.len())),
                ]);
            }
        }
    }
    p.insert_rows(Insert::into("Directory").rows(dirs))
        .map_err(io)?;
    let dir_of = |path: &str| match path.rsplit_once('/') {
        Some((d, _)) => key("d", d),
        None => "INSTALLDIR".to_string(),
    };
    // Component and File: one component per file, keyed by its path.
    p.create_table(
        "Component",
        vec![
            Column::build("Component").primary_key().id_string(72),
            Column::build("ComponentId")
                .nullable()
                .category(Category::Guid)
                .string(38),
            Column::build("Directory_").id_string(72),
            Column::build("Attributes").int16(),
            Column::build("Condition")
                .nullable()
                .category(Category::Condition)
                .string(255),
            Column::build("KeyPath").nullable().id_string(72),
        ],
    )
    .map_err(io)?;
    p.create_table(
        "File",
        vec![
            Column::build("File").primary_key().id_string(72),
            Column::build("Component_").id_string(72),
            Column::build("FileName")
                .localizable()
                .category(Category::Filename)
                .string(255),
            Column::build("FileSize").int32(),
            Column::build("Version").nullable().id_string(72),
            Column::build("Language")
                .nullable()
                .category(Category::Language)
                .string(20),
            Column::build("Attributes").nullable().int16(),
            Column::build("Sequence").int32(),
        ],
    )
    .map_err(io)?;
    let comp = |e: &Entry| key("c", &e.path);
    let mut components = Vec::new();
    let mut files = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let component_id = uuid::Uuid::new_v5(
            &prod.upgrade_code,
            format!("component:{}", e.path.to_ascii_lowercase()).as_bytes(),
        );
        components.push(vec![
            text(&comp(e)),
            text(&guid(component_id)),
            text(&dir_of(&e.path)),
            int(prod.arch.component_attributes()),
            Value::Null,
            text(&e.id),
        ]);
        let leaf = e.path.rsplit('/').next().unwrap_or(&e.path);
        files.push(vec![
            text(&e.id),
            text(&comp(e)),
            text(&short_long(leaf, n + 1)),
            int(i32::try_from(e.size).unwrap_or(i32::MAX)),
            Value::Null,
            Value::Null,
            int(512), // msidbFileAttributesVital
            int(n as i32 + 1),
        ]);
    }
    p.insert_rows(Insert::into("Component").rows(components))
        .map_err(io)?;
    p.insert_rows(Insert::into("File").rows(files))
        .map_err(io)?;
    // Feature and FeatureComponents: one feature, everything in it.
    p.create_table(
        "Feature",
        vec![
            Column::build("Feature").primary_key().id_string(38),
            Column::build("Feature_Parent").nullable().id_string(38),
            Column::build("Title")
                .nullable()
                .localizable()
                .text_string(64),
            Column::build("Description")
                .nullable()
                .localizable()
                .text_string(255),
            Column::build("Display").nullable().int16(),
            Column::build("Level").int16(),
            Column::build("Directory_").nullable().id_string(72),
            Column::build("Attributes").int16(),
        ],
    )
    .map_err(io)?;
    p.insert_rows(Insert::into("Feature").row(vec![
        text("Complete"),
        Value::Null,
        text(&prod.name),
        Value::Null,
        int(1),
        int(1),
        text("INSTALLDIR"),
        int(0),
    ]))
    .map_err(io)?;
    p.create_table(
        "FeatureComponents",
        vec![
            Column::build("Feature_").primary_key().id_string(38),
            Column::build("Component_").primary_key().id_string(72),
        ],
    )
    .map_err(io)?;
    p.insert_rows(
        Insert::into("FeatureComponents").rows(
            entries
                .iter()
                .map(|e| vec![text("Complete"), text(&comp(e))])
                .collect(),
        ),
    )
    .map_err(io)?;
    // Media: the one embedded cabinet.
    p.create_table(
        "Media",
        vec![
            Column::build("DiskId").primary_key().int16(),
            Column::build("LastSequence").int32(),
            Column::build("DiskPrompt")
                .nullable()
                .localizable()
                .text_string(64),
            Column::build("Cabinet")
                .nullable()
                .category(Category::Cabinet)
                .string(255),
            Column::build("VolumeLabel").nullable().text_string(32),
            Column::build("Source")
                .nullable()
                .category(Category::Property)
                .string(72),
        ],
    )
    .map_err(io)?;
    p.insert_rows(Insert::into("Media").row(vec![
        int(1),
        int(entries.len() as i32),
        Value::Null,
        text("#product.cab"),
        Value::Null,
        Value::Null,
    ]))
    .map_err(io)?;
    upgrade_tables(p, prod, &io)?;
    let service = match input.service {
        Some(svc) => Some(service_tables(p, svc, entries, &comp, &io)?),
        None => None,
    };
    if let Some(scope) = input.path {
        // On the component of the first file: the entry lives as long as the product.
        let component = entries.first().map(comp).unwrap_or_default();
        environment(p, scope, &component, &io)?;
    }
    sequence(p, service.is_some(), input.path.is_some(), &io)
}

/// Upgrade (older versions removed, a newer one detected), and the launch condition
/// that refuses a downgrade.
fn upgrade_tables<F: Read + Write + Seek>(
    p: &mut Package<F>,
    prod: &Product,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "Upgrade",
        vec![
            Column::build("UpgradeCode")
                .primary_key()
                .category(Category::Guid)
                .string(38),
            Column::build("VersionMin")
                .primary_key()
                .nullable()
                .category(Category::Version)
                .string(20),
            Column::build("VersionMax")
                .primary_key()
                .nullable()
                .category(Category::Version)
                .string(20),
            Column::build("Language")
                .primary_key()
                .nullable()
                .category(Category::Language)
                .string(255),
            Column::build("Attributes").primary_key().int32(),
            Column::build("Remove")
                .nullable()
                .category(Category::Formatted)
                .string(255),
            Column::build("ActionProperty")
                .category(Category::UpperCase)
                .string(72),
        ],
    )
    .map_err(io)?;
    let code = guid(prod.upgrade_code);
    p.insert_rows(
        Insert::into("Upgrade")
            // Older versions: removed (features migrated); VersionMax exclusive.
            .row(vec![
                Value::from(code.as_str()),
                Value::Null,
                Value::from(prod.version.as_str()),
                Value::Null,
                Value::Int(1),
                Value::Null,
                Value::from("WPK_OLDER"),
            ])
            // Newer versions: only detected; VersionMin exclusive.
            .row(vec![
                Value::from(code.as_str()),
                Value::from(prod.version.as_str()),
                Value::Null,
                Value::Null,
                Value::Int(2),
                Value::Null,
                Value::from("WPK_NEWER"),
            ]),
    )
    .map_err(io)?;
    p.create_table(
        "LaunchCondition",
        vec![
            Column::build("Condition")
                .primary_key()
                .category(Category::Condition)
                .string(255),
            Column::build("Description")
                .localizable()
                .category(Category::Formatted)
                .string(255),
        ],
    )
    .map_err(io)?;
    p.insert_rows(Insert::into("LaunchCondition").row(vec![
        Value::from("NOT WPK_NEWER"),
        Value::from(
            format!(
                "A newer version of {} is installed: uninstall it first to go back to {}.",
                msi_formatted(&prod.name),
                prod.version
            )
            .as_str(),
        ),
    ]))
    .map_err(io)?;
    Ok(())
}

/// ServiceInstall and ServiceControl: the service registered with its settings,
/// started at install, stopped before an upgrade or uninstall, deleted at uninstall.
fn service_tables<F: Read + Write + Seek>(
    p: &mut Package<F>,
    svc: &Service,
    entries: &[Entry],
    comp: &dyn Fn(&Entry) -> String,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    if svc.account.needs_password() {
        return Err(MsiError::PasswordAccount);
    }
    let binary = match svc.mode {
        Mode::Native => svc.exe.as_str(),
        Mode::Shawl => "shawl.exe",
    };
    let component = entries
        .iter()
        .find(|e| e.path.eq_ignore_ascii_case(binary))
        .map(comp)
        .unwrap_or_default();
    // The image path without its program: the component's key file is the program.
    let template = crate::autostart::service::image_path_template(svc);
    let args = crate::script::quote::split(&template)
        .into_iter()
        .skip(1)
        .map(|a| crate::script::quote::argv_folder_aware(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let formatted = |v: &str| Value::from(msi_formatted(v).as_str());
    let start = match svc.start {
        StartType::Auto | StartType::DelayedAuto => 2,
        StartType::Manual => 3,
        StartType::Disabled => 4,
    };
    let error_control = match svc.error_control {
        ErrorControl::Ignore => 0,
        ErrorControl::Normal => 1,
        ErrorControl::Severe => 2,
        ErrorControl::Critical => 3,
    };
    let start_name = match svc.account {
        Account::LocalSystem => Value::Null,
        _ => formatted(&svc.account.object_name(&svc.name)),
    };
    let deps = if svc.depends_on.is_empty() {
        Value::Null
    } else {
        let list: Vec<String> = svc.depends_on.iter().map(|d| msi_formatted(d)).collect();
        Value::from(list.join("[~]").as_str())
    };
    p.create_table(
        "ServiceInstall",
        vec![
            Column::build("ServiceInstall").primary_key().id_string(72),
            Column::build("Name").formatted_string(255),
            Column::build("DisplayName")
                .nullable()
                .localizable()
                .formatted_string(255),
            Column::build("ServiceType").int32(),
            Column::build("StartType").int32(),
            Column::build("ErrorControl").int32(),
            Column::build("LoadOrderGroup")
                .nullable()
                .formatted_string(255),
            Column::build("Dependencies")
                .nullable()
                .formatted_string(255),
            Column::build("StartName").nullable().formatted_string(255),
            Column::build("Password").nullable().formatted_string(255),
            Column::build("Arguments").nullable().formatted_string(255),
            Column::build("Component_").id_string(72),
            Column::build("Description")
                .nullable()
                .localizable()
                .formatted_string(255),
        ],
    )
    .map_err(io)?;
    p.insert_rows(Insert::into("ServiceInstall").row(vec![
        Value::from("ServiceInstall"),
        formatted(&svc.name),
        formatted(&svc.display_name),
        Value::Int(0x10), // SERVICE_WIN32_OWN_PROCESS
        Value::Int(start),
        Value::Int(error_control),
        Value::Null,
        deps,
        start_name,
        Value::Null,
        if args.is_empty() {
            Value::Null
        } else {
            Value::from(msi_formatted(&args).as_str())
        },
        Value::from(component.as_str()),
        svc.description
            .as_deref()
            .map(formatted)
            .unwrap_or(Value::Null),
    ]))
    .map_err(io)?;
    p.create_table(
        "ServiceControl",
        vec![
            Column::build("ServiceControl").primary_key().id_string(72),
            Column::build("Name").formatted_string(255),
            Column::build("Event").int16(),
            Column::build("Arguments").nullable().formatted_string(255),
            Column::build("Wait").nullable().int16(),
            Column::build("Component_").id_string(72),
        ],
    )
    .map_err(io)?;
    service_config(p, svc, &component, io)?;
    // Start at install (unless disabled); stop at install (an upgrade replaces files)
    // and at uninstall; delete at uninstall.
    let start_bit = if svc.start == StartType::Disabled {
        0
    } else {
        1
    };
    p.insert_rows(Insert::into("ServiceControl").row(vec![
        Value::from("ServiceControl"),
        formatted(&svc.name),
        Value::Int(start_bit | 2 | 32 | 128),
        Value::Null,
        Value::Int(1),
        Value::from(component.as_str()),
    ]))
    .map_err(io)?;
    Ok(())
}

/// MsiServiceConfig (Windows Installer 5: delayed start, SID type, privileges,
/// pre-shutdown timeout) and MsiServiceConfigFailureActions (the recovery actions),
/// applied by MsiConfigureServices at install and reinstall.
fn service_config<F: Read + Write + Seek>(
    p: &mut Package<F>,
    svc: &Service,
    component: &str,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    // msidbServiceConfigEventInstall | msidbServiceConfigEventReinstall
    const EVENTS: i32 = 1 | 4;
    let mut rows: Vec<(i32, String)> = Vec::new();
    if svc.start == StartType::DelayedAuto {
        rows.push((3, "1".into())); // SERVICE_CONFIG_DELAYED_AUTO_START_INFO
    }
    if let Some(t) = svc.sid_type {
        let v = match t {
            crate::config::SidType::None => "0",
            crate::config::SidType::Unrestricted => "1",
            crate::config::SidType::Restricted => "3",
        };
        rows.push((5, v.into())); // SERVICE_CONFIG_SERVICE_SID_INFO
    }
    if !svc.required_privileges.is_empty() {
        // SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO: the names, [~]-separated.
        let list: Vec<String> = svc
            .required_privileges
            .iter()
            .map(|x| msi_formatted(x))
            .collect();
        rows.push((6, list.join("[~]")));
    }
    if let Some(ms) = svc.preshutdown_timeout_ms {
        rows.push((7, ms.to_string())); // SERVICE_CONFIG_PRESHUTDOWN_INFO
    }
    if svc.recovery.on_non_crash_failure {
        rows.push((4, "1".into())); // SERVICE_CONFIG_FAILURE_ACTIONS_FLAG
    }
    p.create_table(
        "MsiServiceConfig",
        vec![
            Column::build("MsiServiceConfig")
                .primary_key()
                .id_string(72),
            Column::build("Name").formatted_string(255),
            Column::build("Event").int16(),
            Column::build("ConfigType").int32(),
            Column::build("Argument").nullable().formatted_string(0),
            Column::build("Component_").id_string(72),
        ],
    )
    .map_err(io)?;
    if !rows.is_empty() {
        p.insert_rows(
            Insert::into("MsiServiceConfig").rows(
                rows.iter()
                    .map(|(kind, arg)| {
                        vec![
                            Value::from(format!("config{kind}").as_str()),
                            Value::from(msi_formatted(&svc.name).as_str()),
                            Value::Int(EVENTS),
                            Value::Int(*kind),
                            Value::from(arg.as_str()),
                            Value::from(component),
                        ]
                    })
                    .collect(),
            ),
        )
        .map_err(io)?;
    }
    p.create_table(
        "MsiServiceConfigFailureActions",
        vec![
            Column::build("MsiServiceConfigFailureActions")
                .primary_key()
                .id_string(72),
            Column::build("Name").formatted_string(255),
            Column::build("Event").int16(),
            Column::build("ResetPeriod").nullable().int32(),
            Column::build("RebootMessage")
                .nullable()
                .localizable()
                .formatted_string(255),
            Column::build("Command")
                .nullable()
                .localizable()
                .formatted_string(255),
            Column::build("Actions").nullable().formatted_string(255),
            Column::build("DelayActions")
                .nullable()
                .formatted_string(255),
            Column::build("Component_").id_string(72),
        ],
    )
    .map_err(io)?;
    let r = &svc.recovery;
    if !r.actions.is_empty() {
        // SC_ACTION_TYPE: 0 none, 1 restart, 2 reboot.
        let kinds: Vec<String> = r
            .actions
            .iter()
            .map(|a| {
                match a.action {
                    crate::config::Action::None => "0",
                    crate::config::Action::Restart => "1",
                    crate::config::Action::Reboot => "2",
                }
                .to_string()
            })
            .collect();
        let delays: Vec<String> = r.actions.iter().map(|a| a.delay_ms.to_string()).collect();
        p.insert_rows(Insert::into("MsiServiceConfigFailureActions").row(vec![
            Value::from("recovery"),
            Value::from(msi_formatted(&svc.name).as_str()),
            Value::Int(EVENTS),
            Value::Int(i32::try_from(r.reset_after_secs).unwrap_or(i32::MAX)),
            Value::Null,
            Value::Null,
            Value::from(kinds.join("[~]").as_str()),
            Value::from(delays.join("[~]").as_str()),
            Value::from(component),
        ]))
        .map_err(io)?;
    }
    Ok(())
}

/// The Environment table's PATH row: the install folder appended to the user's or the
/// machine's PATH (`[~];` keeps every other entry as it is), removed at uninstall.
fn environment<F: Read + Write + Seek>(
    p: &mut Package<F>,
    scope: crate::autostart::Scope,
    component: &str,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "Environment",
        vec![
            Column::build("Environment").primary_key().id_string(72),
            Column::build("Name").localizable().text_string(255),
            Column::build("Value")
                .nullable()
                .localizable()
                .formatted_string(255),
            Column::build("Component_").id_string(72),
        ],
    )
    .map_err(io)?;
    // `=`: set at install, `-`: removed at uninstall, `*`: the machine's variable.
    let name = match scope {
        crate::autostart::Scope::User => "=-PATH",
        crate::autostart::Scope::Machine => "=-*PATH",
    };
    p.insert_rows(Insert::into("Environment").row(vec![
        Value::from("PATH"),
        Value::from(name),
        Value::from("[~];[INSTALLDIR]"),
        Value::from(component),
    ]))
    .map_err(io)
}

/// InstallExecuteSequence: the standard actions, the upgrade's and the service's.
fn sequence<F: Read + Write + Seek>(
    p: &mut Package<F>,
    service: bool,
    environment: bool,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "InstallExecuteSequence",
        vec![
            Column::build("Action").primary_key().id_string(72),
            Column::build("Condition")
                .nullable()
                .category(Category::Condition)
                .string(255),
            Column::build("Sequence").nullable().int16(),
        ],
    )
    .map_err(io)?;
    let mut rows: Vec<(&str, Option<&str>, i32)> = vec![
        ("FindRelatedProducts", None, 25),
        ("LaunchConditions", None, 100),
        ("CostInitialize", None, 800),
        ("FileCost", None, 900),
        ("CostFinalize", None, 1000),
        ("MigrateFeatureStates", None, 1200),
        ("InstallValidate", None, 1400),
        ("RemoveExistingProducts", None, 1450),
        ("InstallInitialize", None, 1500),
        ("ProcessComponents", None, 1600),
        ("UnpublishFeatures", None, 1800),
        ("RemoveFiles", None, 3500),
        ("InstallFiles", None, 4000),
        ("RegisterUser", None, 6000),
        ("RegisterProduct", None, 6100),
        ("PublishFeatures", None, 6300),
        ("PublishProduct", None, 6400),
        ("InstallFinalize", None, 6600),
    ];
    if service {
        rows.extend([
            ("StopServices", Some("VersionNT"), 1900),
            ("DeleteServices", Some("VersionNT"), 2000),
            ("InstallServices", Some("VersionNT"), 5800),
            ("MsiConfigureServices", Some("VersionNT >= 600"), 5850),
            ("StartServices", Some("VersionNT"), 5900),
        ]);
    }
    if environment {
        rows.extend([
            ("RemoveEnvironmentStrings", None, 3300),
            ("WriteEnvironmentStrings", None, 5200),
        ]);
    }
    p.insert_rows(
        Insert::into("InstallExecuteSequence").rows(
            rows.into_iter()
                .map(|(a, c, n)| {
                    vec![
                        Value::from(a),
                        c.map(Value::from).unwrap_or(Value::Null),
                        Value::Int(n),
                    ]
                })
                .collect(),
        ),
    )
    .map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_short_names() {
        assert_eq!(msi_version("1.2.3").as_deref(), Ok("1.2.3"));
        assert!(
            msi_version("1.2.3-beta.1")
                .unwrap_err()
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
