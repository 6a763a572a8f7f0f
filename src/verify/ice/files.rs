//! Components and files: ICE08, ICE09, ICE18, ICE21, ICE30, the version of versioned
//! files, Media and the cabinet, and the service's component.

use std::collections::{BTreeMap, BTreeSet};

use super::Findings;
use super::db::{Database, Row};
use super::tables::has_key;

/// ICE08: no two components share a ComponentId.
pub fn ice08(db: &Database, out: &mut Findings) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for c in db.rows("Component") {
        let Some(id) = c.str("ComponentId") else {
            continue;
        };
        let key = c.text("Component");
        if let Some(first) = seen.insert(id.to_ascii_uppercase(), key.to_string()) {
            out.error(
                "ICE08",
                format!("Component.{key}"),
                format!("ComponentId {id} is also component `{first}`'s"),
            );
        }
    }
}

/// The Directory keys from `key` up to the root (`key` first); bounded, so a cycle
/// ends it.
pub(super) fn ancestors(db: &Database, key: &str) -> Vec<String> {
    let folders = &db.index().folders;
    let mut out = vec![key.to_string()];
    let mut at = key;
    while let Some((p, _)) = folders.get(at) {
        if p.is_empty() || p == at || out.len() > 64 || out.iter().any(|k| k == p) {
            break;
        }
        out.push(p.clone());
        at = p;
    }
    out
}

/// ICE09: a component installed into a system folder is permanent (attribute 16):
/// uninstalling it would remove a file other programs may share.
pub fn ice09(db: &Database, out: &mut Findings) {
    for c in db.rows("Component") {
        let dirs = ancestors(db, c.text("Directory_"));
        let system = dirs
            .iter()
            .any(|d| d == "SystemFolder" || d == "System64Folder");
        if system && c.int("Attributes").unwrap_or(0) & 16 == 0 {
            out.error(
                "ICE09",
                format!("Component.{}", c.key()),
                "installs into a system folder but is not permanent (attribute 16)",
            );
        }
    }
}

/// msidbComponentAttributes bits.
pub(super) const REGISTRY_KEY_PATH: i32 = 4;
const ODBC_KEY_PATH: i32 = 32;

/// What a component's key path is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum KeyPath<'a> {
    Folder,
    File(&'a str),
    Registry(&'a str),
    Odbc,
}

pub(super) fn key_path<'a>(c: &Row<'a>) -> KeyPath<'a> {
    let attrs = c.int("Attributes").unwrap_or(0);
    match c.str("KeyPath") {
        None => KeyPath::Folder,
        Some(k) if attrs & REGISTRY_KEY_PATH != 0 => KeyPath::Registry(k),
        Some(_) if attrs & ODBC_KEY_PATH != 0 => KeyPath::Odbc,
        Some(k) => KeyPath::File(k),
    }
}

/// ICE18: a component whose KeyPath is Null has its folder as key path, so the folder
/// must be in CreateFolder for that component; a KeyPath that names a row names one
/// of the table its attributes say (File, or Registry with bit 4), of this component.
pub fn ice18(db: &Database, out: &mut Findings) {
    let created: BTreeSet<(&str, &str)> = db
        .rows("CreateFolder")
        .into_iter()
        .map(|r| (r.text("Directory_"), r.text("Component_")))
        .collect();
    for c in db.rows("Component") {
        let (key, dir) = (c.text("Component"), c.text("Directory_"));
        let at = format!("Component.{key}");
        match key_path(&c) {
            KeyPath::Folder => {
                if !created.contains(&(dir, key)) {
                    out.error(
                        "ICE18",
                        at,
                        format!("its key path is its folder `{dir}`, which is not in CreateFolder for it"),
                    );
                }
            }
            KeyPath::File(f) => match db.index().file_components.get(f) {
                None => out.error("ICE18", at, format!("KeyPath `{f}` is not a File row")),
                Some(o) if o.as_str() != key => out.error(
                    "ICE18",
                    at,
                    format!("KeyPath `{f}` is a file of component `{o}`"),
                ),
                _ => {}
            },
            KeyPath::Registry(r) => {
                if !db.index().registry_roots.contains_key(r) {
                    out.error("ICE18", at, format!("KeyPath `{r}` is not a Registry row"));
                }
            }
            KeyPath::Odbc => {}
        }
    }
}

/// ICE21: every component belongs to a feature.
pub fn ice21(db: &Database, out: &mut Findings) {
    let featured = db.values("FeatureComponents", "Component_");
    for c in db.rows("Component") {
        let key = c.text("Component");
        if !featured.contains(key) {
            out.error(
                "ICE21",
                format!("Component.{key}"),
                "belongs to no feature (FeatureComponents): it is never installed",
            );
        }
    }
}

/// The long name of a Filename or DefaultDir value (`short|long`, a folder's
/// `target:source`).
pub(crate) fn long_name(v: &str, folder: bool) -> &str {
    let target = if folder {
        v.split(':').next().unwrap_or(v)
    } else {
        v
    };
    target.rsplit('|').next().unwrap_or(target)
}

/// A folder's path from the root, by long names, lower case (`.` parts skipped).
pub(super) fn folder_path(db: &Database, key: &str) -> String {
    let folders = &db.index().folders;
    let chain = ancestors(db, key);
    let mut parts: Vec<String> = chain
        .iter()
        .map(|k| {
            let n = long_name(
                folders.get(k.as_str()).map_or("", |(_, d)| d.as_str()),
                true,
            );
            // A system folder property is its own root.
            if n == "." || n.is_empty() {
                String::new()
            } else {
                n.to_lowercase()
            }
        })
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(root) = chain.last() {
        parts.push(root.to_lowercase());
    }
    parts.reverse();
    parts.join("\\")
}

/// ICE30: no two components install a file of the same name into the same folder
/// (uninstalling one would remove the other's file).
pub fn ice30(db: &Database, out: &mut Findings) {
    let dir_of = &db.index().component_dirs;
    let mut paths: BTreeMap<&str, String> = BTreeMap::new();
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for f in db.rows("File") {
        let comp = f.text("Component_");
        let dir = dir_of.get(comp).map_or("", String::as_str);
        let folder = paths.entry(dir).or_insert_with(|| folder_path(db, dir));
        let target = format!(
            "{folder}\\{}",
            long_name(f.text("FileName"), false).to_lowercase()
        );
        match seen.get(&target) {
            Some((file, c)) if c != comp => out.error(
                "ICE30",
                format!("File.{}", f.key()),
                format!("installs `{target}`, which component `{c}` installs too (file `{file}`)"),
            ),
            _ => {
                seen.insert(target, (f.text("File").to_string(), comp.to_string()));
            }
        }
    }
}

/// FileVersion (the File table page, "Version"): a file with a version resource is a
/// versioned file, and Windows Installer knows it only from File.Version: left empty,
/// the file is treated as unversioned (a repair does not replace a damaged copy, a
/// newer file is judged by date and hash). File.Language should carry the resource's
/// language; MsiFileHash is for unversioned files only.
pub fn file_versions(db: &Database, out: &mut Findings) {
    let hashed = db.values("MsiFileHash", "File_");
    for f in db.rows("File") {
        let key = f.text("File");
        let at = format!("File.{key}");
        let Some(facts) = db.files.get(key) else {
            continue;
        };
        let authored = f.str("Version").unwrap_or("");
        match &facts.version {
            Some(v) if authored.is_empty() => out.error(
                "FileVersion",
                at.clone(),
                format!("the file has version {v} in its version resource, but File.Version is empty: Windows Installer treats it as unversioned"),
            ),
            Some(v) if authored != v => out.error(
                "FileVersion",
                at.clone(),
                format!("File.Version is {authored}, the file's version resource says {v}"),
            ),
            None if !authored.is_empty() && !has_key(db, "File", authored) => out.warning(
                "FileVersion",
                at.clone(),
                format!("File.Version is {authored}, but the file has no version resource"),
            ),
            _ => {}
        }
        if facts.version.is_some() {
            if let Some(lang) = &facts.language
                && f.str("Language").is_none_or(str::is_empty)
            {
                out.warning(
                    "FileVersion",
                    at.clone(),
                    format!("File.Language is empty; the version resource's language is {lang}"),
                );
            }
            if hashed.contains(key) {
                out.warning(
                    "FileVersion",
                    at,
                    "a versioned file in MsiFileHash (which is for unversioned files)",
                );
            }
        }
    }
}

/// Media: every File.Sequence unique and within a Media row's LastSequence, the
/// cabinet (when it was read) holding exactly the File rows, MsiFileHash naming files
/// that exist.
pub fn media(db: &Database, out: &mut Findings) {
    let last = db
        .rows("Media")
        .iter()
        .filter_map(|m| m.int("LastSequence"))
        .max()
        .unwrap_or(0);
    let mut seqs: BTreeMap<i32, String> = BTreeMap::new();
    for f in db.rows("File") {
        let key = f.text("File").to_string();
        let at = format!("File.{key}");
        let Some(seq) = f.int("Sequence") else {
            continue;
        };
        if seq > last {
            out.error("Media", at.clone(), format!("Sequence {seq} is past every Media row's LastSequence ({last}): no media holds it"));
        }
        if let Some(other) = seqs.insert(seq, key.clone()) {
            out.error(
                "Media",
                at,
                format!("Sequence {seq} is also file `{other}`'s"),
            );
        }
    }
    if let Some(cab) = &db.cabinet {
        let in_cab: BTreeSet<&str> = cab.iter().map(String::as_str).collect();
        let rows = db.values("File", "File");
        for missing in rows.difference(&in_cab) {
            out.error("Media", format!("File.{missing}"), "is not in the cabinet");
        }
        for extra in in_cab.difference(&rows) {
            out.error(
                "Media",
                format!("Cabinet.{extra}"),
                "the cabinet holds a file no File row installs",
            );
        }
    }
}

/// Services (the ServiceInstall and ServiceControl table pages): the service's
/// component has a file as key path (the service's executable), the name has no `/`
/// or `\`, ServiceType is an own or shared Win32 process, StartType is auto, demand or
/// disabled, ErrorControl one of the four levels, Dependencies a `[~]`-separated list
/// ending in `[~][~]`, and ServiceControl events are known bits.
pub fn services(db: &Database, out: &mut Findings) {
    let components: BTreeMap<&str, Row> = db
        .rows("Component")
        .into_iter()
        .map(|c| (c.text("Component"), c))
        .collect();
    for s in db.rows("ServiceInstall") {
        let at = format!("ServiceInstall.{}", s.key());
        let mut say = |m: String| out.error("Services", at.clone(), m);
        let name = s.text("Name");
        if name.contains(['/', '\\']) {
            say(format!("the service name `{name}` has `/` or `\\`"));
        }
        match components.get(s.text("Component_")).map(key_path) {
            Some(KeyPath::File(_)) | None => {}
            Some(_) => say("its component's key path is not a file: the service's executable must be the component's key path".into()),
        }
        let ty = s.int("ServiceType").unwrap_or(0);
        if !matches!(ty & !0x100, 0x10 | 0x20) {
            say(format!(
                "ServiceType {ty:#x} is not SERVICE_WIN32_OWN_PROCESS (0x10) or SHARE_PROCESS (0x20), with at most INTERACTIVE (0x100)"
            ));
        }
        let start = s.int("StartType").unwrap_or(-1);
        if !(2..=4).contains(&start) {
            say(format!(
                "StartType {start} is not auto (2), demand (3) or disabled (4): boot and system starts are for drivers"
            ));
        }
        let ec = s.int("ErrorControl").unwrap_or(-1);
        if !(0..=3).contains(&(ec & !0x8000)) {
            say(format!(
                "ErrorControl {ec} is none of 0-3 (with the vital bit 0x8000)"
            ));
        }
        if let Some(d) = s.str("Dependencies")
            && d != "[~]"
            && !d.ends_with("[~][~]")
        {
            say(format!(
                "Dependencies `{d}` does not end with `[~][~]`: the list is `[~]`-separated and ends with an empty entry"
            ));
        }
    }
    for c in db.rows("ServiceControl") {
        let ev = c.int("Event").unwrap_or(0);
        if ev & !(1 | 2 | 8 | 16 | 32 | 128) != 0 {
            out.error(
                "Services",
                format!("ServiceControl.{}", c.key()),
                format!("Event {ev} has bits no event has"),
            );
        }
    }
}
