//! The MSI's tables: the product (Property, summary information), where the files go
//! (Directory, Component, File, Feature, Media), the upgrade rules, PATH, and the
//! install sequence.

use std::io::{Read, Seek, Write};

use msi::{Category, Column, Insert, LanguageId, Package, Value};
use sha2::{Digest as _, Sha256};

use super::registry::{self, Folder};
use super::{Entry, MsiError, MsiInput, Product, Written, guid, key, short_long};
use crate::autostart::{Autostart, Scope};
use crate::script::msi_formatted;

/// The tables, and the summary information; returns the product code chosen.
pub(super) fn database<F: Read + Write + Seek>(
    p: &mut Package<F>,
    input: &MsiInput,
    entries: &[Entry],
) -> Result<Written, MsiError> {
    let io = |source| MsiError::Write {
        path: input.dest.to_path_buf(),
        source,
    };
    let prod = input.product;
    let per_user = per_user(input.autostart);
    let content = content_digest(input, entries);
    let product_code = prod.product_code(&content);
    let package_code = uuid::Uuid::new_v5(&product_code, &content);
    summary(p, input, per_user, package_code);
    properties(p, prod, product_code, per_user, &io)?;
    let layout = directories(p, input, entries, per_user, &io)?;
    let program = main_entry(input, entries);
    let component = program.map(|e| key("c", &e.path)).unwrap_or_default();
    let reg = components_and_files(p, input, entries, per_user, &io)?;
    let folder_components = match input.service {
        Some(svc) => registry::folder_tables(
            p,
            svc,
            &layout.folders,
            &prod.upgrade_code,
            prod.arch.template(),
            prod.arch.component_attributes(),
            &io,
        )?,
        None => Vec::new(),
    };
    features(p, prod, entries, folder_components, &io)?;
    file_hashes(p, entries, &io)?;
    media(p, entries, &io)?;
    upgrade_tables(p, prod, &io)?;
    if let Some(svc) = input.service {
        let comp = |e: &Entry| key("c", &e.path);
        super::service::service_tables(p, svc, entries, &comp, &io)?;
    }
    let path = match input.autostart {
        Some(Autostart::Path { scope }) => Some(*scope),
        _ => None,
    };
    if let Some(scope) = path {
        environment(p, scope, &component, &io)?;
    }
    registry_values(p, input, reg, &component, per_user, &io)?;
    if per_user {
        remove_user_folders(p, &layout.user_folders, &component, &io)?;
    }
    let mut actions = registry::custom_actions(
        &layout.folders,
        run_now(input, program)
            .as_ref()
            .map(|(f, a)| (f.as_str(), a.as_str())),
    );
    actions.extend(input.service.and_then(super::service::recovery_action));
    registry::custom_action_table(p, &actions, &io)?;
    sequence(
        p,
        &Steps {
            service: input.service.is_some(),
            environment: path.is_some(),
            registry: true,
            folders: !layout.folders.is_empty(),
            actions: &actions,
        },
        &io,
    )?;
    Ok(Written { product_code })
}

/// What names this build: the version, every file (path, size, MD5) and every
/// setting. The ProductCode and the PackageCode follow it.
fn content_digest(input: &MsiInput, entries: &[Entry]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(input.product.version.as_bytes());
    for e in entries {
        h.update(e.path.as_bytes());
        h.update(e.size.to_le_bytes());
        h.update(e.crc.to_le_bytes());
        h.update(e.md5.unwrap_or_default());
    }
    h.update(
        format!(
            "{:?} {:?} {:?}",
            input.service, input.autostart, input.product
        )
        .as_bytes(),
    );
    h.finalize().to_vec()
}

/// The Registry table (`reg`: the per-user key paths; then the service's and the Run
/// entry's values, and the install folder remembered for the next version, a repair
/// and uninstall, read back by AppSearch).
fn registry_values<F: Read + Write + Seek>(
    p: &mut Package<F>,
    input: &MsiInput,
    mut reg: Vec<registry::RegRow>,
    component: &str,
    per_user: bool,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    let prod = input.product;
    reg.extend(registry::registry_rows(input.service, input.autostart));
    let (root, saved) = (
        if per_user { 1 } else { 2 },
        format!("Software\\cargo-winpkg\\{}", guid(prod.upgrade_code)),
    );
    reg.push(registry::RegRow {
        id: "install_dir".into(),
        root,
        key: saved.clone(),
        name: "InstallDir".into(),
        value: Some("[INSTALLDIR]".into()),
        component: None,
    });
    registry::registry_table(p, &reg, component, io)?;
    registry::remembered_dir(p, root, &saved, prod.arch != super::MsiArch::X86, io)
}

/// The Summary Information: the platform, the PackageCode, Windows Installer 5 (the
/// MsiServiceConfig and MsiLockPermissionsEx tables need it; every Windows since 7
/// has it), compressed files with long names, and for a per-user package "no
/// elevation".
fn summary<F: Read + Write + Seek>(
    p: &mut Package<F>,
    input: &MsiInput,
    per_user: bool,
    package_code: uuid::Uuid,
) {
    let prod = input.product;
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(input.mtime.max(315_532_800));
    let s = p.summary_info_mut();
    s.set_arch(prod.arch.template());
    s.set_languages(&[LanguageId::from(1033u16)]);
    s.set_page_count(500);
    s.set_word_count(if per_user { 2 | 8 } else { 2 });
    s.set_uuid(package_code);
    s.set_title("Installation Database");
    s.set_subject(prod.name.clone());
    s.set_author(prod.manufacturer.clone());
    s.set_comments(format!("{} {}", prod.name, prod.version));
    s.set_creating_application(format!("cargo-winpkg {}", env!("CARGO_PKG_VERSION")));
    s.set_creation_time(when);
    s.set_last_save_time(when);
}

/// The Property table.
fn properties<F: Read + Write + Seek>(
    p: &mut Package<F>,
    prod: &Product,
    product_code: uuid::Uuid,
    per_user: bool,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "Property",
        vec![
            Column::build("Property").primary_key().id_string(72),
            Column::build("Value").localizable().text_string(0),
        ],
    )
    .map_err(io)?;
    // Per-user: no ALLUSERS (the installing user's own product, no elevation), into
    // %LOCALAPPDATA%\Programs (the Directory rows). Not MSIINSTALLPERUSER's
    // redirection of Program Files: Wine's msiexec does not do it.
    let scope_props: &[(&str, &str)] = if per_user { &[] } else { &[("ALLUSERS", "1")] };
    let mut props = vec![
        ("ProductCode", guid(product_code)),
        ("ProductName", prod.name.clone()),
        ("ProductVersion", prod.version.clone()),
        ("Manufacturer", prod.manufacturer.clone()),
        ("UpgradeCode", guid(prod.upgrade_code)),
        ("ProductLanguage", "1033".into()),
        ("ARPNOMODIFY", "1".into()),
        (
            "SecureCustomProperties",
            "WPK_OLDER;WPK_NEWER;WPK_SAVEDDIR;WPK_GIVENDIR".into(),
        ),
    ];
    props.extend(scope_props.iter().map(|(k, v)| (*k, v.to_string())));
    p.insert_rows(
        Insert::into("Property").rows(
            props
                .iter()
                .map(|(k, v)| vec![Value::from(*k), Value::from(v.as_str())])
                .collect(),
        ),
    )
    .map_err(io)
}

/// Where things go: the Directory table's keys for the service's folders, and the
/// folders a per-user install creates in the profile (removed at uninstall).
struct Layout {
    folders: Vec<Folder>,
    user_folders: Vec<String>,
}

/// Directory: TARGETDIR > Program Files (or the user's Programs) > INSTALLDIR >
/// subfolders, the service's folders, and System32 for the recovery action.
fn directories<F: Read + Write + Seek>(
    p: &mut Package<F>,
    input: &MsiInput,
    entries: &[Entry],
    per_user: bool,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<Layout, MsiError> {
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
    let prod = input.product;
    let text = |v: &str| Value::from(v);
    let mut dirs = vec![vec![text("TARGETDIR"), Value::Null, text("SourceDir")]];
    let pf = if per_user {
        dirs.push(vec![
            text("LocalAppDataFolder"),
            text("TARGETDIR"),
            text("."),
        ]);
        dirs.push(vec![
            text("UserPrograms"),
            text("LocalAppDataFolder"),
            text("Programs"),
        ]);
        "UserPrograms"
    } else {
        let pf = prod.arch.program_files();
        dirs.push(vec![text(pf), text("TARGETDIR"), text(".")]);
        pf
    };
    if input
        .service
        .is_some_and(|s| !s.recovery.actions.is_empty())
    {
        dirs.push(vec![text("SystemFolder"), text("TARGETDIR"), text(".")]);
    }
    dirs.push(vec![
        text("INSTALLDIR"),
        text(pf),
        text(&short_long(&prod.name, 1)),
    ]);
    let file_folders = file_folders(entries, &mut dirs);
    let folders: Vec<Folder> = input
        .service
        .map(|svc| svc.writable_dirs().into_iter().map(Folder::parse).collect())
        .unwrap_or_default();
    let mut known: Vec<String> = ["TARGETDIR", "LocalAppDataFolder", pf, "INSTALLDIR"]
        .iter()
        .map(|k| k.to_string())
        .chain(file_folders.iter().map(|f| key("d", f)))
        .collect();
    for [k, parent, default] in registry::folder_directories(&folders, &mut known) {
        let v = |x: Option<String>| x.map(|x| Value::from(x.as_str())).unwrap_or(Value::Null);
        dirs.push(vec![v(k), v(parent), v(default)]);
    }
    p.insert_rows(Insert::into("Directory").rows(dirs))
        .map_err(io)?;
    let user_folders = std::iter::once("UserPrograms".to_string())
        .chain(std::iter::once("INSTALLDIR".to_string()))
        .chain(file_folders.iter().map(|f| key("d", f)))
        .collect();
    Ok(Layout {
        folders,
        user_folders,
    })
}

/// The folders the files are in below INSTALLDIR (`a/b`), each added to `dirs`.
fn file_folders(entries: &[Entry], dirs: &mut Vec<Vec<Value>>) -> Vec<String> {
    let mut folders: Vec<String> = Vec::new();
    for e in entries {
        let parts: Vec<&str> = e.path.split('/').collect();
        let mut acc = String::new();
        for part in &parts[..parts.len().saturating_sub(1)] {
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
                    Value::from(key("d", &acc).as_str()),
                    Value::from(parent.as_str()),
                    Value::from(short_long(part, folders.len()).as_str()),
                ]);
            }
        }
    }
    folders
}

/// The file the registry values and the PATH entry go with: the service's or Run
/// entry's program, else the first file.
fn main_entry<'e>(input: &MsiInput, entries: &'e [Entry]) -> Option<&'e Entry> {
    let program = input
        .service
        .map(|s| s.exe.as_str())
        .or(match input.autostart {
            Some(Autostart::RunKey { exe, .. }) => Some(exe.as_str()),
            _ => None,
        });
    program
        .and_then(|x| entries.iter().find(|e| e.path.eq_ignore_ascii_case(x)))
        .or(entries.first())
}

/// The Run entry's program and arguments, when it starts at install.
fn run_now(input: &MsiInput, main: Option<&Entry>) -> Option<(String, String)> {
    match (input.autostart, main) {
        (
            Some(Autostart::RunKey {
                args,
                start_now: true,
                ..
            }),
            Some(e),
        ) => Some((
            e.id.clone(),
            msi_formatted(
                &args
                    .iter()
                    .map(|a| crate::script::quote::argv_folder_aware(a))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        )),
        _ => None,
    }
}

/// Component and File: one component per file. Per machine the file is its key path;
/// per user (ICE38) an HKCU value naming the file is, returned as Registry rows.
fn components_and_files<F: Read + Write + Seek>(
    p: &mut Package<F>,
    input: &MsiInput,
    entries: &[Entry],
    per_user: bool,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<Vec<registry::RegRow>, MsiError> {
    component_table(p, io)?;
    file_table(p, io)?;
    let prod = input.product;
    let text = |v: &str| Value::from(v);
    let dir_of = |path: &str| match path.rsplit_once('/') {
        Some((d, _)) => key("d", d),
        None => "INSTALLDIR".to_string(),
    };
    let (mut components, mut files, mut reg) = (Vec::new(), Vec::new(), Vec::new());
    for (n, e) in entries.iter().enumerate() {
        let comp = key("c", &e.path);
        // The platform is part of the code: the x64 and x86 packages' components are
        // different components (the Component Rules).
        let component_id = uuid::Uuid::new_v5(
            &prod.upgrade_code,
            format!(
                "component:{}:{}",
                prod.arch.template(),
                e.path.to_ascii_lowercase()
            )
            .as_bytes(),
        );
        let (key_path, attrs) = if per_user {
            let id = key("k", &e.path);
            reg.push(registry::RegRow {
                id: id.clone(),
                root: 1,
                key: format!("Software\\cargo-winpkg\\{}\\Files", guid(prod.upgrade_code)),
                name: msi_formatted(&e.path),
                value: Some(format!("[#{}]", e.id)),
                component: Some(comp.clone()),
            });
            (id, prod.arch.component_attributes() | 4)
        } else {
            (e.id.clone(), prod.arch.component_attributes())
        };
        components.push(vec![
            text(&comp),
            text(&guid(component_id)),
            text(&dir_of(&e.path)),
            Value::Int(attrs),
            Value::Null,
            text(&key_path),
        ]);
        let leaf = e.path.rsplit('/').next().unwrap_or(&e.path);
        let (version, language) = match &e.version {
            Some(v) => (
                text(&v.version),
                v.language.as_deref().map(text).unwrap_or(Value::Null),
            ),
            None => (Value::Null, Value::Null),
        };
        files.push(vec![
            text(&e.id),
            text(&comp),
            text(&short_long(leaf, n + 1)),
            Value::Int(i32::try_from(e.size).unwrap_or(i32::MAX)),
            version,
            language,
            Value::Int(512), // msidbFileAttributesVital
            Value::Int(n as i32 + 1),
        ]);
    }
    p.insert_rows(Insert::into("Component").rows(components))
        .map_err(io)?;
    p.insert_rows(Insert::into("File").rows(files))
        .map_err(io)?;
    Ok(reg)
}

fn component_table<F: Read + Write + Seek>(
    p: &mut Package<F>,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
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
    .map_err(io)
}

fn file_table<F: Read + Write + Seek>(
    p: &mut Package<F>,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
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
            Column::build("Version")
                .nullable()
                .category(Category::Version)
                .string(72),
            Column::build("Language")
                .nullable()
                .category(Category::Language)
                .string(20),
            Column::build("Attributes").nullable().int16(),
            Column::build("Sequence").int32(),
        ],
    )
    .map_err(io)
}

/// Feature and FeatureComponents: one feature, everything in it.
fn features<F: Read + Write + Seek>(
    p: &mut Package<F>,
    prod: &Product,
    entries: &[Entry],
    folder_components: Vec<String>,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
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
        Value::from("Complete"),
        Value::Null,
        Value::from(prod.name.as_str()),
        Value::Null,
        Value::Int(1),
        Value::Int(1),
        Value::from("INSTALLDIR"),
        Value::Int(0),
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
                .map(|e| key("c", &e.path))
                .chain(folder_components)
                .map(|c| vec![Value::from("Complete"), Value::from(c.as_str())])
                .collect(),
        ),
    )
    .map_err(io)
}

/// Media: the one embedded cabinet.
fn media<F: Read + Write + Seek>(
    p: &mut Package<F>,
    entries: &[Entry],
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
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
        Value::Int(1),
        Value::Int(entries.len() as i32),
        Value::Null,
        Value::from("#product.cab"),
        Value::Null,
        Value::Null,
    ]))
    .map_err(io)
}

/// RemoveFile: a per-user install's folders (in the profile) removed at uninstall
/// when they are empty (ICE64: Windows Installer does not remove them otherwise).
fn remove_user_folders<F: Read + Write + Seek>(
    p: &mut Package<F>,
    folders: &[String],
    component: &str,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "RemoveFile",
        vec![
            Column::build("FileKey").primary_key().id_string(72),
            Column::build("Component_").id_string(72),
            Column::build("FileName")
                .nullable()
                .localizable()
                .category(Category::WildCardFilename)
                .string(255),
            Column::build("DirProperty").id_string(72),
            Column::build("InstallMode").int16(),
        ],
    )
    .map_err(io)?;
    // 2: msidbRemoveFileInstallModeOnRemove.
    p.insert_rows(
        Insert::into("RemoveFile").rows(
            folders
                .iter()
                .map(|d| {
                    vec![
                        Value::from(key("r", d).as_str()),
                        Value::from(component),
                        Value::Null,
                        Value::from(d.as_str()),
                        Value::Int(2),
                    ]
                })
                .collect(),
        ),
    )
    .map_err(io)
}

/// Whether the MSI installs for the user who runs it (a user's PATH or Run entry) rather
/// than for the machine.
pub fn per_user(autostart: Option<&Autostart>) -> bool {
    matches!(
        autostart,
        Some(
            Autostart::Path { scope: Scope::User }
                | Autostart::RunKey {
                    scope: Scope::User,
                    ..
                }
        )
    )
}

/// MsiFileHash: each unversioned file's MD5, which a repair uses to leave an unchanged
/// file alone and `verify` to check the cabinet (versioned files are compared by their
/// File.Version instead: the table is for unversioned files).
fn file_hashes<F: Read + Write + Seek>(
    p: &mut Package<F>,
    entries: &[Entry],
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "MsiFileHash",
        vec![
            Column::build("File_").primary_key().id_string(72),
            Column::build("Options").int16(),
            Column::build("HashPart1").int32(),
            Column::build("HashPart2").int32(),
            Column::build("HashPart3").int32(),
            Column::build("HashPart4").int32(),
        ],
    )
    .map_err(io)?;
    p.insert_rows(
        Insert::into("MsiFileHash").rows(
            entries
                .iter()
                .filter(|e| e.version.is_none())
                .filter_map(|e| Some((e, e.md5?)))
                .map(|(e, md5)| {
                    let mut row = vec![Value::from(e.id.as_str()), Value::Int(0)];
                    row.extend(
                        md5.chunks_exact(4)
                            .map(|c| Value::Int(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
                    );
                    row
                })
                .collect(),
        ),
    )
    .map_err(io)
}

/// Which optional steps the install sequence has.
pub(super) struct Steps<'a> {
    pub service: bool,
    pub environment: bool,
    pub registry: bool,
    pub folders: bool,
    pub actions: &'a [registry::Action],
}

/// Upgrade (older versions removed, a newer one detected), and the launch condition
/// that refuses a downgrade.
pub(super) fn upgrade_tables<F: Read + Write + Seek>(
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
            // Older versions and other builds of this version: removed (features
            // migrated); VersionMax inclusive (512), as each build has its own
            // ProductCode (the same build is not "related" to itself).
            .row(vec![
                Value::from(code.as_str()),
                Value::Null,
                Value::from(prod.version.as_str()),
                Value::Null,
                Value::Int(1 | 512),
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
    launch_condition(p, prod, io)
}

/// The launch condition that refuses a downgrade.
fn launch_condition<F: Read + Write + Seek>(
    p: &mut Package<F>,
    prod: &Product,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
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

/// The Environment table's PATH row: the install folder appended to the user's or the
/// machine's PATH (`[~];` keeps every other entry as it is), removed at uninstall.
pub(super) fn environment<F: Read + Write + Seek>(
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
pub(super) fn sequence<F: Read + Write + Seek>(
    p: &mut Package<F>,
    steps: &Steps,
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
    let rows = sequence_rows(steps);
    p.insert_rows(
        Insert::into("InstallExecuteSequence").rows(
            rows.into_iter()
                .map(|(a, c, n)| {
                    vec![
                        Value::from(a.as_str()),
                        c.map(Value::from).unwrap_or(Value::Null),
                        Value::Int(n),
                    ]
                })
                .collect(),
        ),
    )
    .map_err(io)
}

/// InstallExecuteSequence's rows: the standard actions (those of the service, PATH,
/// registry and folders when the package has them) and the custom actions.
fn sequence_rows(steps: &Steps) -> Vec<(String, Option<&'static str>, i32)> {
    let mut rows: Vec<(String, Option<&'static str>, i32)> = [
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
    ]
    .into_iter()
    .map(|(a, c, n)| (a.to_string(), c, n))
    .collect();
    let mut add = |list: &[(&str, Option<&'static str>, i32)]| {
        rows.extend(list.iter().map(|(a, c, n)| (a.to_string(), *c, *n)));
    };
    if steps.service {
        add(&[
            ("StopServices", Some("VersionNT"), 1900),
            ("DeleteServices", Some("VersionNT"), 2000),
            ("InstallServices", Some("VersionNT"), 5800),
            ("MsiConfigureServices", Some("VersionNT >= 600"), 5850),
            ("StartServices", Some("VersionNT"), 5900),
        ]);
    }
    if steps.environment {
        add(&[
            ("RemoveEnvironmentStrings", None, 3300),
            ("WriteEnvironmentStrings", None, 5200),
        ]);
    }
    if steps.registry {
        add(&[
            ("RemoveRegistryValues", None, 2600),
            ("WriteRegistryValues", None, 5000),
        ]);
    }
    if steps.folders {
        add(&[("RemoveFolders", None, 3600), ("CreateFolders", None, 3700)]);
    }
    rows.push(("AppSearch".into(), None, 50));
    for a in steps.actions {
        rows.push((a.name.clone(), a.condition, a.sequence));
    }
    rows
}
