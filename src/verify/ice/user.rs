//! Per-user and per-machine data: ICE38, ICE43, ICE57, ICE64, ICE91, ICE105.

use super::Findings;
use super::db::{Database, Row};
use super::files::{KeyPath, ancestors, key_path};

/// Folders in the user's profile whatever ALLUSERS says.
const PROFILE: &[&str] = &[
    "AppDataFolder",
    "LocalAppDataFolder",
    "PersonalFolder",
    "FavoritesFolder",
    "NetHoodFolder",
    "PrintHoodFolder",
    "RecentFolder",
    "SendToFolder",
    "TemplateFolder",
    "MyPicturesFolder",
];
/// Folders in the user's profile when the package installs per user.
const PROFILE_PER_USER: &[&str] = &[
    "DesktopFolder",
    "StartMenuFolder",
    "ProgramMenuFolder",
    "StartupFolder",
    "AdminToolsFolder",
];

/// Whether folder `dir` is in the user's profile, and the profile folder it is under.
pub(super) fn profile_root(db: &Database, dir: &str) -> Option<String> {
    let per_user = !db.per_machine();
    ancestors(db, dir).into_iter().find(|d| {
        PROFILE.contains(&d.as_str()) || (per_user && PROFILE_PER_USER.contains(&d.as_str()))
    })
}

/// A registry row's hive: 1 HKCU, 2 HKLM; -1 is HKCU per user and HKLM per machine.
fn hive(db: &Database, root: i32) -> i32 {
    match root {
        -1 if db.per_machine() => 2,
        -1 => 1,
        r => r,
    }
}

fn registry_root(db: &Database, key: &str) -> Option<i32> {
    db.index().registry_roots.get(key).map(|r| hive(db, *r))
}

/// Whether the component's key path is a registry value under HKCU.
fn hkcu_key_path(db: &Database, c: &Row) -> Result<(), &'static str> {
    match key_path(c) {
        KeyPath::Registry(r) if registry_root(db, r) == Some(1) => Ok(()),
        KeyPath::Registry(_) => Err("Its KeyPath registry key must fall under HKCU."),
        KeyPath::Folder if c.int("Attributes").unwrap_or(0) & 4 != 0 => Err(
            "It must use a registry key under HKCU as its KeyPath. The KeyPath is currently NULL.",
        ),
        _ => Err("It must use a registry key under HKCU as its KeyPath, not a file."),
    }
}

/// ICE38: a component installed into the user's profile has an HKCU registry value as
/// key path (a file there is one user's: the component would look installed for every
/// other user).
pub fn ice38(db: &Database, out: &mut Findings) {
    for c in db.rows("Component") {
        if profile_root(db, c.text("Directory_")).is_none() {
            continue;
        }
        if let Err(why) = hkcu_key_path(db, &c) {
            out.error(
                "ICE38",
                format!("Component.{}", c.key()),
                format!("installs to the user's profile. {why}"),
            );
        }
    }
}

/// ICE43: a component with non-advertised shortcuts (Target is not a Feature) has an
/// HKCU registry key path.
pub fn ice43(db: &Database, out: &mut Findings) {
    let features = db.values("Feature", "Feature");
    let components: std::collections::BTreeMap<&str, Row> = db
        .rows("Component")
        .into_iter()
        .map(|c| (c.text("Component"), c))
        .collect();
    for s in db.rows("Shortcut") {
        if features.contains(&s.text("Target")) {
            continue;
        }
        let comp = s.text("Component_");
        if let Some(c) = components.get(comp)
            && let Err(why) = hkcu_key_path(db, c)
        {
            out.error(
                "ICE43",
                format!("Component.{comp}"),
                format!("has non-advertised shortcuts. {why}"),
            );
        }
    }
}

/// ICE57: no component mixes per-user data (HKCU values, files in the profile) with a
/// per-machine key path, or per-machine data (HKLM values) with a per-user key path.
pub fn ice57(db: &Database, out: &mut Findings) {
    for c in db.rows("Component") {
        let key = c.text("Component");
        let roots: Vec<i32> = db
            .index()
            .component_roots
            .get(key)
            .map(|r| r.iter().map(|r| hive(db, *r)).collect())
            .unwrap_or_default();
        let in_profile = profile_root(db, c.text("Directory_")).is_some();
        let per_user_path = match key_path(&c) {
            KeyPath::Registry(r) => registry_root(db, r) == Some(1),
            KeyPath::File(_) | KeyPath::Folder => in_profile,
            KeyPath::Odbc => false,
        };
        let at = format!("Component.{key}");
        if !per_user_path && (roots.contains(&1) || in_profile) {
            out.error("ICE57", at, "has per-user data (HKCU values or files in the profile) and a per-machine key path");
        } else if per_user_path && roots.contains(&2) {
            out.error(
                "ICE57",
                at,
                "has per-machine data (HKLM values) and a per-user key path",
            );
        }
    }
}

/// ICE64: every folder the package adds in the user's profile is removed at
/// uninstall (a RemoveFile row with no file name for it): Windows Installer does not
/// remove per-user folders it created otherwise.
pub fn ice64(db: &Database, out: &mut Findings) {
    let removed: std::collections::BTreeSet<&str> = db
        .rows("RemoveFile")
        .into_iter()
        .filter(|r| r.str("FileName").is_none())
        .map(|r| r.text("DirProperty"))
        .collect();
    for d in db.rows("Directory") {
        let k = d.text("Directory");
        if PROFILE.contains(&k) || PROFILE_PER_USER.contains(&k) {
            continue;
        }
        if profile_root(db, k).is_some() && !removed.contains(&k) {
            out.error("ICE64", format!("Directory.{k}"), "is in the user's profile but is not removed at uninstall (no RemoveFile row for it)");
        }
    }
}

/// ICE91: a package that may install per machine puts files into a per-user folder:
/// they are installed for the installing user only.
pub fn ice91(db: &Database, out: &mut Findings) {
    if db.property("ALLUSERS").is_none() {
        return;
    }
    let dirs: Vec<(String, String)> = db
        .rows("Component")
        .into_iter()
        .map(|c| {
            (
                c.text("Component").to_string(),
                c.text("Directory_").to_string(),
            )
        })
        .collect();
    for f in db.rows("File") {
        let comp = f.text("Component_");
        let Some((_, dir)) = dirs.iter().find(|(c, _)| c == comp) else {
            continue;
        };
        if let Some(root) = ancestors(db, dir)
            .into_iter()
            .find(|d| PROFILE.contains(&d.as_str()))
        {
            out.warning("ICE91", format!("File.{}", f.key()), format!("installs into the per-user folder {root} of a package that may install per machine: other users do not get it"));
        }
    }
}

/// Folders a per-user install cannot write.
const MACHINE_FOLDERS: &[&str] = &[
    "ProgramFilesFolder",
    "ProgramFiles64Folder",
    "CommonFilesFolder",
    "CommonFiles64Folder",
    "SystemFolder",
    "System64Folder",
    "System16Folder",
    "WindowsFolder",
    "WindowsVolume",
    "CommonAppDataFolder",
    "FontsFolder",
];

/// ICE105: a per-user package (no ALLUSERS, or ALLUSERS=2 with MSIINSTALLPERUSER=1)
/// needs nothing of the machine: no elevated custom actions, no machine folders, no
/// services, no HKLM values.
pub fn ice105(db: &Database, out: &mut Findings) {
    if db.per_machine() {
        return;
    }
    for a in db.rows("CustomAction") {
        if a.int("Type").unwrap_or(0) & 0x800 != 0 {
            out.error(
                "ICE105",
                format!("CustomAction.{}", a.key()),
                "runs elevated (no impersonation) in a per-user package",
            );
        }
    }
    for d in db.rows("Directory") {
        let k = d.text("Directory");
        if MACHINE_FOLDERS.contains(&k) {
            out.error(
                "ICE105",
                format!("Directory.{k}"),
                "a per-machine folder in a per-user package",
            );
        }
    }
    for s in db.rows("ServiceInstall") {
        out.error(
            "ICE105",
            format!("ServiceInstall.{}", s.key()),
            "a service in a per-user package",
        );
    }
    for r in db.rows("Registry") {
        if r.int("Root") == Some(2) {
            out.error(
                "ICE105",
                format!("Registry.{}", r.key()),
                "an HKLM value in a per-user package",
            );
        }
    }
}
