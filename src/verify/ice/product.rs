//! The product's identity and the package's declarations: ICE24 (product properties),
//! ICE39 (Summary Information), ICE66 (schema version), ICE80 (platform), ICE61
//! (Upgrade table), ICE99 (Directory names).

use super::db::Database;
use super::{Findings, types};

/// ICE24: ProductCode a GUID, ProductVersion `major.minor.build` within Windows
/// Installer's ranges, ProductLanguage a number; and the properties every package
/// must have (ProductName, Manufacturer; UpgradeCode, when there is one, a GUID).
pub fn ice24(db: &Database, out: &mut Findings) {
    let at = |p: &str| format!("Property.{p}");
    for p in [
        "ProductCode",
        "ProductLanguage",
        "ProductName",
        "ProductVersion",
        "Manufacturer",
    ] {
        if db.property(p).is_none_or(str::is_empty) {
            out.error(
                "ICE24",
                at(p),
                format!("the required property {p} is missing"),
            );
        }
    }
    for p in ["ProductCode", "UpgradeCode"] {
        if let Some(v) = db.property(p)
            && let Some(why) = types::guid(v)
        {
            out.error("ICE24", at(p), format!("`{v}` {why}"));
        }
    }
    if let Some(v) = db.property("ProductVersion")
        && let Some(why) = product_version(v)
    {
        out.error("ICE24", at("ProductVersion"), format!("`{v}` {why}"));
    }
    if let Some(v) = db.property("ProductLanguage")
        && v.parse::<u16>().is_err()
    {
        out.error(
            "ICE24",
            at("ProductLanguage"),
            format!("`{v}` is not a language id"),
        );
    }
}

/// `a.b.c[.d]` with a and b up to 255 and c up to 65535 (the fourth is ignored).
fn product_version(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split('.').collect();
    let max = [255u32, 255, 65535, 65535];
    let ok = (2..=4).contains(&parts.len())
        && parts.iter().zip(max).all(|(p, m)| {
            p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= m)
        });
    (!ok).then(|| {
        "is not major.minor.build with major and minor up to 255 and build up to 65535".into()
    })
}

/// The platforms Template may name.
const PLATFORMS: &[&str] = &["Intel", "x64", "Intel64", "Arm64", "Arm"];

/// ICE39: Template names a platform and a language, Revision Number is a GUID (the
/// PackageCode), Page Count and Word Count are set and valid, and Word Count's
/// "no elevation" bit agrees with ALLUSERS (a per-machine package that says it needs
/// no elevation fails to write Program Files and HKLM without a prompt; a per-user one
/// that does not say so is elevated for nothing).
pub fn ice39(db: &Database, out: &mut Findings) {
    let s = &db.summary;
    match s.platform.as_deref() {
        Some(p) if PLATFORMS.contains(&p) => {}
        Some(p) => out.error(
            "ICE39",
            "Summary.Template",
            format!("platform `{p}` is none of {}", PLATFORMS.join(", ")),
        ),
        None => out.error("ICE39", "Summary.Template", "Template is missing"),
    }
    if s.languages.is_empty() {
        out.error("ICE39", "Summary.Template", "Template names no language");
    }
    if s.package_code.is_none() {
        out.error(
            "ICE39",
            "Summary.RevisionNumber",
            "Revision Number (the PackageCode) is not a GUID",
        );
    }
    if s.page_count.is_none_or(|p| p < 100) {
        out.error(
            "ICE39",
            "Summary.PageCount",
            "Page Count (the Windows Installer version the package needs) is missing or below 100",
        );
    }
    let Some(words) = s.word_count else {
        out.error("ICE39", "Summary.WordCount", "Word Count is missing");
        return;
    };
    if !(0..=15).contains(&words) {
        out.error(
            "ICE39",
            "Summary.WordCount",
            format!("Word Count {words} has bits other than 1, 2, 4 and 8"),
        );
    }
    let no_elevation = words & 8 != 0;
    if db.per_machine() && no_elevation {
        out.error(
            "ICE39",
            "Summary.WordCount",
            "Word Count says the package needs no elevation (8), but ALLUSERS installs it per machine: under UAC it would write Program Files and HKLM without rights",
        );
    }
    if db.property("ALLUSERS").is_none() && !no_elevation {
        out.warning(
            "ICE39",
            "Summary.WordCount",
            "the package installs per user (no ALLUSERS) but Word Count does not say it needs no elevation (8): UAC asks for an administrator",
        );
    }
}

/// Tables that need Windows Installer 5 (Page Count 500).
const WI5_TABLES: &[&str] = &[
    "MsiLockPermissionsEx",
    "MsiServiceConfig",
    "MsiServiceConfigFailureActions",
    "MsiShortcutProperty",
    "MsiPrint",
];

/// ICE66: the Page Count covers what the package uses: Windows Installer 5 tables and
/// Arm64 need 500, x64 needs 200.
pub fn ice66(db: &Database, out: &mut Findings) {
    let page = db.summary.page_count.unwrap_or(0);
    let used: Vec<&str> = WI5_TABLES
        .iter()
        .copied()
        .filter(|t| db.table(t).is_some())
        .collect();
    if !used.is_empty() && page < 500 {
        out.error(
            "ICE66",
            "Summary.PageCount",
            format!(
                "Page Count is {page}, but {} need Windows Installer 5 (500)",
                used.join(", ")
            ),
        );
    }
    let need = match db.summary.platform.as_deref() {
        Some("Arm64") => 500,
        Some("x64" | "Intel64") => 200,
        _ => 0,
    };
    if page < need {
        out.error(
            "ICE66",
            "Summary.PageCount",
            format!(
                "Page Count is {page}, but a {} package needs {need}",
                db.summary.platform.as_deref().unwrap_or("")
            ),
        );
    }
}

/// Folders only a 64-bit package may use.
const FOLDERS_64: &[&str] = &[
    "ProgramFiles64Folder",
    "CommonFiles64Folder",
    "System64Folder",
];

/// ICE80: 64-bit components (attribute 256) and 64-bit folders only in a package whose
/// Template names a 64-bit platform.
pub fn ice80(db: &Database, out: &mut Findings) {
    let is64 = matches!(
        db.summary.platform.as_deref(),
        Some("x64" | "Intel64" | "Arm64")
    );
    if is64 {
        return;
    }
    for c in db.rows("Component") {
        if c.int("Attributes").unwrap_or(0) & 256 != 0 {
            out.error(
                "ICE80",
                format!("Component.{}", c.key()),
                "a 64-bit component in a 32-bit package (Template is not x64 or Arm64)",
            );
        }
    }
    for d in db.rows("Directory") {
        if FOLDERS_64.contains(&d.text("Directory")) {
            out.error(
                "ICE80",
                format!("Directory.{}", d.key()),
                "a 64-bit folder in a 32-bit package",
            );
        }
    }
}

/// msidbUpgradeAttributes bits.
const ONLY_DETECT: i32 = 2;
const MIN_INCLUSIVE: i32 = 256;
const MAX_INCLUSIVE: i32 = 512;

/// ICE61: every Upgrade row's ActionProperty is in SecureCustomProperties (else a
/// managed install drops it between the client and the server), has a version
/// range, and does not remove the product's own version unless only detecting.
pub fn ice61(db: &Database, out: &mut Findings) {
    let secure: std::collections::BTreeSet<&str> = db
        .property("SecureCustomProperties")
        .map(|s| s.split(';').collect())
        .unwrap_or_default();
    let own = db.property("ProductVersion").and_then(parse_version);
    for r in db.rows("Upgrade") {
        let at = format!("Upgrade.{}", r.key());
        let prop = r.text("ActionProperty");
        if !secure.contains(&prop) {
            out.error(
                "ICE61",
                at.clone(),
                format!("ActionProperty `{prop}` is not in SecureCustomProperties"),
            );
        }
        let attrs = r.int("Attributes").unwrap_or(0);
        let (min, max) = (r.str("VersionMin"), r.str("VersionMax"));
        if min.is_none() && max.is_none() {
            out.error(
                "ICE61",
                at.clone(),
                "neither VersionMin nor VersionMax is set",
            );
            continue;
        }
        for v in [min, max].into_iter().flatten() {
            if parse_version(v).is_none() {
                out.error("ICE61", at.clone(), format!("`{v}` is not a version"));
            }
        }
        let (Some(own), false) = (own, attrs & ONLY_DETECT != 0) else {
            continue;
        };
        let above_min = min
            .and_then(parse_version)
            .is_none_or(|m| own > m || (own == m && attrs & MIN_INCLUSIVE != 0));
        let below_max = max
            .and_then(parse_version)
            .is_none_or(|m| own < m || (own == m && attrs & MAX_INCLUSIVE != 0));
        if above_min
            && below_max
            && r.text("UpgradeCode") == db.property("UpgradeCode").unwrap_or_default()
        {
            out.warning(
                "ICE61",
                at,
                "the range that is removed includes this product's own version: another build of the same version is replaced (intended only when each build has its own ProductCode)",
            );
        }
    }
}

fn parse_version(v: &str) -> Option<[u32; 4]> {
    let mut out = [0u32; 4];
    let mut n = 0;
    for (i, p) in v.split('.').enumerate() {
        *out.get_mut(i)? = p.parse().ok()?;
        n += 1;
    }
    (n >= 1).then_some(out)
}

/// Windows Installer's public properties that a Directory key must not be (ICE99:
/// the folder's path would overwrite the property, or the reverse).
const PUBLIC: &[&str] = &[
    "ACTION",
    "ADDDEFAULT",
    "ADDLOCAL",
    "ADDSOURCE",
    "ADVERTISE",
    "ALLUSERS",
    "ARPAUTHORIZEDCDFPREFIX",
    "ARPCOMMENTS",
    "ARPCONTACT",
    "ARPHELPLINK",
    "ARPHELPTELEPHONE",
    "ARPINSTALLLOCATION",
    "ARPNOMODIFY",
    "ARPNOREMOVE",
    "ARPNOREPAIR",
    "ARPPRODUCTICON",
    "ARPREADME",
    "ARPSIZE",
    "ARPSYSTEMCOMPONENT",
    "ARPURLINFOABOUT",
    "ARPURLUPDATEINFO",
    "COMPADDLOCAL",
    "COMPADDSOURCE",
    "COMPANYNAME",
    "DISABLEADVTSHORTCUTS",
    "DISABLEMEDIA",
    "DISABLEROLLBACK",
    "EXECUTEACTION",
    "EXECUTEMODE",
    "FILEADDDEFAULT",
    "FILEADDLOCAL",
    "FILEADDSOURCE",
    "INSTALLLEVEL",
    "LIMITUI",
    "LOGACTION",
    "MEDIAPACKAGEPATH",
    "MSIFASTINSTALL",
    "MSIINSTALLPERUSER",
    "PATCH",
    "PIDKEY",
    "PROMPTROLLBACKCOST",
    "REBOOT",
    "REBOOTPROMPT",
    "REINSTALL",
    "REINSTALLMODE",
    "REMOVE",
    "SEQUENCE",
    "SHORTFILENAMES",
    "TRANSFORMS",
    "USERNAME",
];

/// ICE99: no Directory key is one of Windows Installer's public properties.
pub fn ice99(db: &Database, out: &mut Findings) {
    for d in db.rows("Directory") {
        let k = d.text("Directory");
        if PUBLIC.contains(&k) {
            out.error(
                "ICE99",
                format!("Directory.{k}"),
                format!("the folder's key `{k}` is a Windows Installer public property"),
            );
        }
    }
}
