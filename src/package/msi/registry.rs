//! What the MSI writes besides files and the service: registry values (the Run entry,
//! the Event Log source, a native service's environment), the service's data and log
//! folders (created, granted to the service's account, kept at uninstall), and the
//! custom actions these need (a folder outside the install and ProgramData folders, the
//! Run entry's program started at install).

use std::io::{Read, Seek, Write};

use msi::{Category, Column, Insert, Package, Value};
use sha1::Digest as _;

use super::{MsiError, guid, key, short_long};
use crate::autostart::service::{Account, Mode, Service};
use crate::autostart::{Autostart, Scope};
use crate::script::{DIR_PLACEHOLDER, PROGRAMDATA_PLACEHOLDER, msi_formatted};

/// One row of the Registry table.
pub(super) struct RegRow {
    pub id: String,
    /// 1 HKCU, 2 HKLM.
    pub root: i32,
    /// The key, as formatted text.
    pub key: String,
    /// The value's name (formatted; `-` alone with no value: remove the whole key at
    /// uninstall).
    pub name: String,
    /// The value as formatted text with Windows Installer's type prefixes (`#%`
    /// expandable string, `#` number, `[~]...[~]` multi-string); `None` for the key row.
    pub value: Option<String>,
    /// The component it belongs to, when not the program's.
    pub component: Option<String>,
}

/// The Registry rows for the service (Event Log source, environment) and the Run entry.
pub(super) fn registry_rows(
    service: Option<&Service>,
    autostart: Option<&Autostart>,
) -> Vec<RegRow> {
    let mut rows = Vec::new();
    if let Some(svc) = service {
        if let Some(source) = &svc.event_source {
            let k = format!(
                "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\{}",
                msi_formatted(source)
            );
            let exe = msi_formatted(&format!("{DIR_PLACEHOLDER}\\{}", svc.exe));
            rows.push(RegRow {
                id: "event_key".into(),
                root: 2,
                key: k.clone(),
                name: "-".into(),
                value: None,
                component: None,
            });
            rows.push(RegRow {
                id: "event_file".into(),
                root: 2,
                key: k.clone(),
                name: "EventMessageFile".into(),
                value: Some(format!("#%{exe}")),
                component: None,
            });
            rows.push(RegRow {
                id: "event_types".into(),
                root: 2,
                key: k,
                name: "TypesSupported".into(),
                value: Some("#7".into()),
                component: None,
            });
        }
        if svc.mode == Mode::Native && !svc.env.is_empty() {
            let entries: Vec<String> = svc
                .env
                .iter()
                .map(|(k, v)| msi_formatted(&format!("{k}={v}")))
                .collect();
            rows.push(RegRow {
                id: "service_env".into(),
                root: 2,
                key: format!(
                    "SYSTEM\\CurrentControlSet\\Services\\{}",
                    msi_formatted(&svc.name)
                ),
                name: "Environment".into(),
                // `[~]` first and last: a multi-string that replaces any older value.
                value: Some(format!("[~]{}[~]", entries.join("[~]"))),
                component: None,
            });
        }
    }
    if let Some(a @ Autostart::RunKey { name, scope, .. }) = autostart {
        let line = a.command_line().unwrap_or_default();
        let mut value = msi_formatted(&line);
        // A value that starts with `#` is a typed one: `##` is a literal `#`.
        if value.starts_with('#') {
            value.insert(0, '#');
        }
        rows.push(RegRow {
            id: "run_entry".into(),
            root: match scope {
                Scope::User => 1,
                Scope::Machine => 2,
            },
            key: "Software\\Microsoft\\Windows\\CurrentVersion\\Run".into(),
            name: msi_formatted(name),
            value: Some(value),
            component: None,
        });
    }
    rows
}

/// The Registry table, its rows on `component` (written with it, removed with it).
pub(super) fn registry_table<F: Read + Write + Seek>(
    p: &mut Package<F>,
    rows: &[RegRow],
    component: &str,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "Registry",
        vec![
            Column::build("Registry").primary_key().id_string(72),
            Column::build("Root").int16(),
            Column::build("Key")
                .localizable()
                .category(Category::RegPath)
                .string(255),
            Column::build("Name")
                .nullable()
                .localizable()
                .formatted_string(255),
            Column::build("Value")
                .nullable()
                .localizable()
                .formatted_string(0),
            Column::build("Component_").id_string(72),
        ],
    )
    .map_err(io)?;
    p.insert_rows(
        Insert::into("Registry").rows(
            rows.iter()
                .map(|r| {
                    vec![
                        Value::from(r.id.as_str()),
                        Value::Int(r.root),
                        Value::from(r.key.as_str()),
                        Value::from(r.name.as_str()),
                        r.value.as_deref().map(Value::from).unwrap_or(Value::Null),
                        Value::from(r.component.as_deref().unwrap_or(component)),
                    ]
                })
                .collect(),
        ),
    )
    .map_err(io)
}

/// Where a service folder starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Base {
    /// `{dir}`: the install folder.
    Install,
    /// `{programdata}`: the machine's ProgramData folder.
    ProgramData,
    /// An absolute folder (`D:\svc`): its drive and first part, set by a custom action.
    Absolute(String),
}

/// A data or log folder of the service, split for the Directory table.
#[derive(Debug, Clone)]
pub(super) struct Folder {
    pub base: Base,
    /// The folders below the base.
    pub parts: Vec<String>,
    /// As configured.
    pub text: String,
}

impl Folder {
    pub fn parse(text: &str) -> Folder {
        let (base, rest) = if let Some(r) = text.strip_prefix(DIR_PLACEHOLDER) {
            (Base::Install, r)
        } else if let Some(r) = text.strip_prefix(PROGRAMDATA_PLACEHOLDER) {
            (Base::ProgramData, r)
        } else {
            (Base::Absolute(text.to_string()), "")
        };
        Folder {
            base,
            parts: rest
                .split(['\\', '/'])
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            text: text.to_string(),
        }
    }

    /// The Directory key of the folder itself.
    pub fn dir_key(&self) -> String {
        match &self.base {
            Base::Install if self.parts.is_empty() => "INSTALLDIR".into(),
            Base::Install => key("d", &self.parts.join("/")),
            Base::ProgramData if self.parts.is_empty() => "CommonAppDataFolder".into(),
            Base::ProgramData => key("p", &self.parts.join("/")),
            Base::Absolute(t) => key("a", t),
        }
    }

    /// A folder Windows or the product owns as a whole, whose permissions are not
    /// replaced: ProgramData itself.
    pub fn is_shared(&self) -> bool {
        self.base == Base::ProgramData && self.parts.is_empty()
    }
}

/// The Directory rows the folders need beyond `known` (keys already in the table).
pub(super) fn folder_directories(
    folders: &[Folder],
    known: &mut Vec<String>,
) -> Vec<[Option<String>; 3]> {
    let mut rows = Vec::new();
    fn add(
        known: &mut Vec<String>,
        k: String,
        parent: &str,
        default: String,
        rows: &mut Vec<[Option<String>; 3]>,
    ) {
        if !known.contains(&k) {
            known.push(k.clone());
            rows.push([Some(k), Some(parent.to_string()), Some(default)]);
        }
    }
    for f in folders {
        match &f.base {
            Base::Absolute(t) => add(known, key("a", t), "TARGETDIR", ".".into(), &mut rows),
            base => {
                let (prefix, root) = match base {
                    Base::Install => ("d", "INSTALLDIR"),
                    _ => ("p", "CommonAppDataFolder"),
                };
                if *base == Base::ProgramData {
                    add(known, root.into(), "TARGETDIR", ".".into(), &mut rows);
                }
                let mut acc = String::new();
                let mut parent = root.to_string();
                for part in &f.parts {
                    if !acc.is_empty() {
                        acc.push('/');
                    }
                    acc.push_str(part);
                    let k = key(prefix, &acc);
                    let n = known.len();
                    add(known, k.clone(), &parent, short_long(part, n), &mut rows);
                    parent = k;
                }
            }
        }
    }
    rows
}

/// The SID of a service's account as SDDL takes it, when one is known at build time
/// (a managed service account's is not; LocalSystem needs no grant).
pub(super) fn account_sid(svc: &Service) -> Option<String> {
    match &svc.account {
        Account::LocalSystem => None,
        Account::LocalService => Some("LS".into()),
        Account::NetworkService => Some("NS".into()),
        Account::Virtual => Some(virtual_account_sid(&svc.name)),
        Account::Gmsa(_) | Account::User(_) => None,
    }
}

/// `NT SERVICE\<name>`'s SID: S-1-5-80 and the SHA-1 of the upper-case name in UTF-16
/// LE, as five little-endian numbers (how Windows derives a service SID).
pub fn virtual_account_sid(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            let mut u = c.to_uppercase();
            match (u.next(), u.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect();
    let bytes: Vec<u8> = upper.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let h = sha1::Sha1::digest(&bytes);
    let mut sid = String::from("S-1-5-80");
    for c in h.chunks_exact(4) {
        sid.push_str(&format!(
            "-{}",
            u32::from_le_bytes([c[0], c[1], c[2], c[3]])
        ));
    }
    sid
}

/// The folders' tables: a permanent component per folder (kept at uninstall, with
/// what the service wrote), CreateFolder, and MsiLockPermissionsEx letting the service's
/// account modify it (SYSTEM and Administrators keep full control; inherited entries
/// still apply). Returns the components, for the feature, and the custom actions that
/// set absolute folders.
pub(super) fn folder_tables<F: Read + Write + Seek>(
    p: &mut Package<F>,
    svc: &Service,
    folders: &[Folder],
    upgrade_code: &uuid::Uuid,
    platform: &str,
    component_attributes: i32,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<Vec<String>, MsiError> {
    let mut components = Vec::new();
    let mut component_rows = Vec::new();
    let mut create = Vec::new();
    let mut locks = Vec::new();
    let sid = account_sid(svc);
    for f in folders {
        let dir = f.dir_key();
        let comp = key("c", &format!("folder:{}", f.text));
        if components.contains(&comp) {
            continue;
        }
        components.push(comp.clone());
        let id = uuid::Uuid::new_v5(
            upgrade_code,
            format!("folder:{platform}:{}", f.text).as_bytes(),
        );
        // msidbComponentAttributesPermanent: never removed.
        component_rows.push(vec![
            Value::from(comp.as_str()),
            Value::from(guid(id).as_str()),
            Value::from(dir.as_str()),
            Value::Int(component_attributes | 16),
            Value::Null,
            Value::Null,
        ]);
        create.push(vec![Value::from(dir.as_str()), Value::from(comp.as_str())]);
        if let (Some(sid), false) = (&sid, f.is_shared()) {
            locks.push(vec![
                Value::from(key("l", &f.text).as_str()),
                Value::from(dir.as_str()),
                Value::from("CreateFolder"),
                Value::from(
                    format!("D:AI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;{sid})")
                        .as_str(),
                ),
                Value::Null,
            ]);
        }
    }
    p.insert_rows(Insert::into("Component").rows(component_rows))
        .map_err(io)?;
    p.create_table(
        "CreateFolder",
        vec![
            Column::build("Directory_").primary_key().id_string(72),
            Column::build("Component_").primary_key().id_string(72),
        ],
    )
    .map_err(io)?;
    p.insert_rows(Insert::into("CreateFolder").rows(create))
        .map_err(io)?;
    lock_table(p, locks, io)?;
    Ok(components)
}

/// MsiLockPermissionsEx (its documented columns) with `locks`, its rows.
fn lock_table<F: Read + Write + Seek>(
    p: &mut Package<F>,
    locks: Vec<Vec<Value>>,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "MsiLockPermissionsEx",
        vec![
            Column::build("MsiLockPermissionsEx")
                .primary_key()
                .id_string(72),
            Column::build("LockObject").id_string(72),
            Column::build("Table").id_string(32),
            Column::build("SDDLText")
                .category(msi::Category::FormattedSddlText)
                .string(0),
            Column::build("Condition")
                .nullable()
                .category(Category::Condition)
                .string(255),
        ],
    )
    .map_err(io)?;
    if !locks.is_empty() {
        p.insert_rows(Insert::into("MsiLockPermissionsEx").rows(locks))
            .map_err(io)?;
    }
    Ok(())
}

/// A custom action, and where it runs in the install sequence.
pub(super) struct Action {
    pub name: String,
    pub kind: i32,
    pub source: String,
    pub target: String,
    pub sequence: i32,
    pub condition: Option<&'static str>,
}

/// The property the install folder is remembered in between versions (read back from
/// the registry by AppSearch).
pub(super) const SAVED_DIR: &str = "WPK_SAVEDDIR";
/// INSTALLDIR as given on msiexec's command line (before costing sets it).
pub(super) const GIVEN_DIR: &str = "WPK_GIVENDIR";

/// The custom actions: the install folder remembered (an admin's `INSTALLDIR=` holds for
/// upgrades, repairs and uninstall unless given again), absolute folders set before
/// costing (type 51 on the directory's property), and the Run entry's program started
/// after the install (type 18: a file of the product, asynchronous, its exit code
/// ignored).
pub(super) fn custom_actions(folders: &[Folder], run_now: Option<(&str, &str)>) -> Vec<Action> {
    let set = |name: &str, property: &str, value: &str, sequence: i32, condition| Action {
        name: name.into(),
        kind: 51,
        source: property.into(),
        target: value.into(),
        sequence,
        condition,
    };
    let mut actions = vec![
        set("given_dir", GIVEN_DIR, "[INSTALLDIR]", 10, None),
        set(
            "saved_dir",
            "INSTALLDIR",
            "[WPK_SAVEDDIR]",
            60,
            Some("WPK_SAVEDDIR AND NOT WPK_GIVENDIR"),
        ),
    ];
    for (n, f) in folders.iter().enumerate() {
        if let Base::Absolute(t) = &f.base {
            let k = f.dir_key();
            let name = format!("set_{k}");
            if !actions.iter().any(|a| a.name == name) {
                let target = format!("{}\\", msi_formatted(t));
                actions.push(set(&name, &k, &target, 950 + n as i32, None));
            }
        }
    }
    if let Some((file, args)) = run_now {
        // 18: an exe installed with the product; +64 ignore its exit code; +128 do not
        // wait for it.
        actions.push(Action {
            name: "start_program".into(),
            kind: 18 + 64 + 128,
            source: file.into(),
            target: args.into(),
            sequence: 6650,
            condition: Some("NOT REMOVE~=\"ALL\""),
        });
    }
    actions
}

/// The registry value the install folder is remembered in, and the AppSearch that
/// reads it back (RegLocator, 64-bit view for a 64-bit package).
pub(super) fn remembered_dir<F: Read + Write + Seek>(
    p: &mut Package<F>,
    root: i32,
    key: &str,
    sixty_four: bool,
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "RegLocator",
        vec![
            Column::build("Signature_").primary_key().id_string(72),
            Column::build("Root").int16(),
            Column::build("Key").category(Category::RegPath).string(255),
            Column::build("Name").nullable().formatted_string(255),
            Column::build("Type").nullable().int16(),
        ],
    )
    .map_err(io)?;
    // 2: the raw value; +16: the 64-bit registry.
    p.insert_rows(Insert::into("RegLocator").row(vec![
        Value::from("saved_dir"),
        Value::Int(root),
        Value::from(key),
        Value::from("InstallDir"),
        Value::Int(if sixty_four { 2 | 16 } else { 2 }),
    ]))
    .map_err(io)?;
    p.create_table(
        "AppSearch",
        vec![
            Column::build("Property").primary_key().id_string(72),
            Column::build("Signature_").primary_key().id_string(72),
        ],
    )
    .map_err(io)?;
    p.insert_rows(
        Insert::into("AppSearch").row(vec![Value::from(SAVED_DIR), Value::from("saved_dir")]),
    )
    .map_err(io)
}

pub(super) fn custom_action_table<F: Read + Write + Seek>(
    p: &mut Package<F>,
    actions: &[Action],
    io: &dyn Fn(std::io::Error) -> MsiError,
) -> Result<(), MsiError> {
    p.create_table(
        "CustomAction",
        vec![
            Column::build("Action").primary_key().id_string(72),
            Column::build("Type").int16(),
            Column::build("Source")
                .nullable()
                .category(Category::CustomSource)
                .string(72),
            Column::build("Target").nullable().formatted_string(255),
            Column::build("ExtendedType").nullable().int32(),
        ],
    )
    .map_err(io)?;
    if actions.is_empty() {
        return Ok(());
    }
    p.insert_rows(
        Insert::into("CustomAction").rows(
            actions
                .iter()
                .map(|a| {
                    vec![
                        Value::from(a.name.as_str()),
                        Value::Int(a.kind),
                        Value::from(a.source.as_str()),
                        if a.target.is_empty() {
                            Value::Null
                        } else {
                            Value::from(a.target.as_str())
                        },
                        Value::Null,
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
    fn a_service_sid_is_derived_from_its_name() {
        // Windows' own: `sc showsid TrustedInstaller`.
        assert_eq!(
            virtual_account_sid("TrustedInstaller"),
            "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
        );
        assert_eq!(
            virtual_account_sid("trustedinstaller"),
            virtual_account_sid("TRUSTEDINSTALLER")
        );
    }

    #[test]
    fn folders_split_by_base() {
        let f = Folder::parse("{programdata}\\svc\\data");
        assert_eq!(f.base, Base::ProgramData);
        assert_eq!(f.parts, ["svc", "data"]);
        assert!(!f.is_shared());
        assert!(Folder::parse("{programdata}").is_shared());
        assert_eq!(Folder::parse("{dir}").dir_key(), "INSTALLDIR");
        assert_eq!(
            Folder::parse("D:\\svc").base,
            Base::Absolute("D:\\svc".into())
        );
        let mut known = vec!["INSTALLDIR".to_string()];
        let rows = folder_directories(
            &[
                Folder::parse("{programdata}\\svc\\data"),
                Folder::parse("{programdata}\\svc\\logs"),
            ],
            &mut known,
        );
        // ProgramData, svc, data, logs: svc once.
        assert_eq!(rows.len(), 4, "{rows:?}");
    }
}
