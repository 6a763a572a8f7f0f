//! Between two versions of a package (Microsoft's "Organizing Applications into
//! Components" and "Changing the Product Code"): the Component Rules, and the product
//! identity a major upgrade needs.

use std::collections::BTreeMap;

use super::Findings;
use super::db::Database;
use super::files::{KeyPath, folder_path, key_path, long_name};

/// Each component's key path resource (`folder\file` for a file, `root\key\name` for
/// a registry value), with its ComponentId.
fn key_paths(db: &Database) -> BTreeMap<String, (String, String)> {
    let files: BTreeMap<&str, (&str, &str)> = db
        .rows("File")
        .into_iter()
        .map(|f| (f.text("File"), (f.text("Component_"), f.text("FileName"))))
        .collect();
    let registry: BTreeMap<&str, String> = db
        .rows("Registry")
        .into_iter()
        .map(|r| {
            let what = format!(
                "{}\\{}\\{}",
                r.int("Root").unwrap_or(0),
                r.text("Key").to_lowercase(),
                r.text("Name").to_lowercase()
            );
            (r.text("Registry"), what)
        })
        .collect();
    let mut out = BTreeMap::new();
    for c in db.rows("Component") {
        let dir = folder_path(db, c.text("Directory_"));
        let resource = match key_path(&c) {
            KeyPath::File(f) => files
                .get(f)
                .map(|(_, name)| format!("file {dir}\\{}", long_name(name, false).to_lowercase())),
            KeyPath::Registry(r) => registry.get(r).map(|v| format!("registry {v}")),
            KeyPath::Folder => Some(format!("folder {dir}")),
            KeyPath::Odbc => None,
        };
        if let (Some(res), Some(id)) = (resource, c.str("ComponentId")) {
            out.insert(
                res,
                (id.to_ascii_uppercase(), c.text("Component").to_string()),
            );
        }
    }
    out
}

/// The Component Rules: within one platform, a key path keeps its ComponentId and a
/// ComponentId keeps its key path; a package for another platform shares no
/// ComponentId with it (a 64-bit component is a new component).
pub fn component_rules(old: &Database, new: &Database, out: &mut Findings) {
    let (before, after) = (key_paths(old), key_paths(new));
    let same_platform = old.summary.platform == new.summary.platform;
    if !same_platform {
        let ids: BTreeMap<&str, &str> = before
            .values()
            .map(|(id, c)| (id.as_str(), c.as_str()))
            .collect();
        for (id, comp) in after.values() {
            if let Some(old_comp) = ids.get(id.as_str()) {
                out.error(
                    "ComponentRules",
                    format!("Component.{comp}"),
                    format!("ComponentId {id} is also component `{old_comp}`'s in the {} package: a component for another platform needs its own code (uninstalling one would leave or remove the other's files)", old.summary.platform.as_deref().unwrap_or("other")),
                );
            }
        }
        return;
    }
    let by_id: BTreeMap<&str, &str> = before
        .iter()
        .map(|(res, (id, _))| (id.as_str(), res.as_str()))
        .collect();
    for (res, (id, comp)) in &after {
        if let Some((old_id, _)) = before.get(res)
            && old_id != id
        {
            out.error(
                "ComponentRules",
                format!("Component.{comp}"),
                format!("its key path ({res}) had ComponentId {old_id}, now {id}: the upgrade would remove the file the new component installs"),
            );
        }
        if let Some(old_res) = by_id.get(id.as_str())
            && old_res != res
        {
            out.error(
                "ComponentRules",
                format!("Component.{comp}"),
                format!("ComponentId {id} had key path {old_res}, now {res}: a component's code names one resource"),
            );
        }
    }
}

/// The product identity of an upgrade: the same UpgradeCode, a new ProductCode and
/// PackageCode for a package that changed, a version not lower, and an Upgrade row and
/// RemoveExistingProducts that remove the old version.
pub fn product_identity(old: &Database, new: &Database, out: &mut Findings) {
    let p = |db: &Database, k: &str| db.property(k).unwrap_or_default().to_string();
    if p(old, "UpgradeCode") != p(new, "UpgradeCode") {
        out.error(
            "ComponentRules",
            "Property.UpgradeCode",
            format!(
                "UpgradeCode {} is not the old package's {}: the new one does not upgrade it",
                p(new, "UpgradeCode"),
                p(old, "UpgradeCode")
            ),
        );
        return;
    }
    let same_package = old.summary.package_code == new.summary.package_code;
    let same_product = p(old, "ProductCode") == p(new, "ProductCode");
    if same_package {
        out.warning("ComponentRules", "Summary.RevisionNumber", "both packages have the same PackageCode: they are the same package (nothing to upgrade)");
        return;
    }
    if same_product {
        out.error(
            "ComponentRules",
            "Property.ProductCode",
            format!("both packages have ProductCode {}: installing the new one over the old fails (1638) unless REINSTALL is given; a changed package needs a new ProductCode", p(new, "ProductCode")),
        );
        return;
    }
    if old.summary.platform != new.summary.platform {
        return;
    }
    let version = |db: &Database| -> Vec<u32> {
        p(db, "ProductVersion")
            .split('.')
            .take(3)
            .map(|x| x.parse().unwrap_or(0))
            .collect()
    };
    let (ov, nv) = (version(old), version(new));
    if nv < ov {
        out.error(
            "ComponentRules",
            "Property.ProductVersion",
            format!(
                "{} is lower than the old package's {}",
                p(new, "ProductVersion"),
                p(old, "ProductVersion")
            ),
        );
    }
    let removes = upgrade_removes(new, &p(old, "UpgradeCode"), &ov);
    let sequenced = new
        .rows("InstallExecuteSequence")
        .into_iter()
        .any(|r| r.text("Action") == "RemoveExistingProducts");
    if !(removes && sequenced) {
        out.error(
            "ComponentRules",
            "Upgrade",
            format!("no Upgrade row (with RemoveExistingProducts sequenced) removes the old version {}: both would stay installed", p(old, "ProductVersion")),
        );
    }
}

/// Whether one of `new`'s Upgrade rows removes (not only detects) the product of
/// `upgrade_code` at version `ov` (its first three numbers).
fn upgrade_removes(new: &Database, upgrade_code: &str, ov: &[u32]) -> bool {
    new.rows("Upgrade").into_iter().any(|r| {
        let attrs = r.int("Attributes").unwrap_or(0);
        let min_ok = r.str("VersionMin").is_none_or(|m| {
            let m: Vec<u32> = m
                .split('.')
                .take(3)
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            ov > m.as_slice() || (ov == m.as_slice() && attrs & 256 != 0)
        });
        let max_ok = r.str("VersionMax").is_none_or(|m| {
            let m: Vec<u32> = m
                .split('.')
                .take(3)
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            ov < m.as_slice() || (ov == m.as_slice() && attrs & 512 != 0)
        });
        r.text("UpgradeCode") == upgrade_code && attrs & 2 == 0 && min_ok && max_ok
    })
}
