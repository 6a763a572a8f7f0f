//! The sequence tables: ICE27 (standard actions in their order and section) and ICE82
//! (no shared sequence numbers).

use std::collections::BTreeMap;

use super::Findings;
use super::db::Database;

const SEQUENCES: &[&str] = &[
    "InstallExecuteSequence",
    "InstallUISequence",
    "AdminExecuteSequence",
    "AdminUISequence",
    "AdvtExecuteSequence",
];

/// Pairs (a, b): where both are sequenced, a comes first (the standard actions'
/// "Sequence Restrictions" in Microsoft's action reference).
const BEFORE: &[(&str, &str)] = &[
    ("AppSearch", "CostInitialize"),
    ("FindRelatedProducts", "MigrateFeatureStates"),
    ("LaunchConditions", "CostInitialize"),
    ("CostInitialize", "FileCost"),
    ("FileCost", "CostFinalize"),
    ("CostFinalize", "MigrateFeatureStates"),
    ("CostFinalize", "InstallValidate"),
    ("InstallValidate", "InstallInitialize"),
    ("InstallInitialize", "InstallFinalize"),
    ("ProcessComponents", "UnpublishFeatures"),
    ("StopServices", "DeleteServices"),
    ("DeleteServices", "InstallFiles"),
    ("DeleteServices", "RemoveFiles"),
    ("RemoveRegistryValues", "WriteRegistryValues"),
    ("RemoveEnvironmentStrings", "WriteEnvironmentStrings"),
    ("RemoveFiles", "InstallFiles"),
    ("RemoveFolders", "CreateFolders"),
    ("InstallFiles", "InstallServices"),
    ("InstallServices", "MsiConfigureServices"),
    ("MsiConfigureServices", "StartServices"),
    ("InstallServices", "StartServices"),
    ("RegisterProduct", "PublishFeatures"),
    ("PublishFeatures", "PublishProduct"),
];

/// Actions that change the machine: only between InstallInitialize and
/// InstallFinalize, where they go into the install script.
const EXECUTION: &[&str] = &[
    "ProcessComponents",
    "UnpublishFeatures",
    "StopServices",
    "DeleteServices",
    "RemoveRegistryValues",
    "RemoveEnvironmentStrings",
    "RemoveFiles",
    "RemoveFolders",
    "CreateFolders",
    "InstallFiles",
    "WriteRegistryValues",
    "WriteEnvironmentStrings",
    "InstallServices",
    "MsiConfigureServices",
    "StartServices",
    "CreateShortcuts",
    "RemoveShortcuts",
    "RegisterUser",
    "RegisterProduct",
    "PublishFeatures",
    "PublishProduct",
];

/// ICE27: in each sequence table, the standard actions come in their required order,
/// the machine-changing ones (and deferred custom actions) between InstallInitialize
/// and InstallFinalize, and RemoveExistingProducts in one of its allowed places.
pub fn ice27(db: &Database, out: &mut Findings) {
    let deferred: std::collections::BTreeSet<&str> = db
        .rows("CustomAction")
        .into_iter()
        .filter(|a| a.int("Type").unwrap_or(0) & 0x400 != 0)
        .map(|a| a.text("Action"))
        .collect();
    for table in SEQUENCES {
        let seq: BTreeMap<&str, i32> = db
            .rows(table)
            .into_iter()
            .filter_map(|r| Some((r.text("Action"), r.int("Sequence").filter(|n| *n > 0)?)))
            .collect();
        let at = |a: &str| format!("{table}.{a}");
        for (a, b) in BEFORE {
            if let (Some(x), Some(y)) = (seq.get(a), seq.get(b))
                && x >= y
            {
                out.error(
                    "ICE27",
                    at(b),
                    format!("{b} ({y}) must come after {a} ({x})"),
                );
            }
        }
        let script = (seq.get("InstallInitialize"), seq.get("InstallFinalize"));
        for (a, n) in &seq {
            let in_script = EXECUTION.contains(a) || deferred.contains(a);
            if !in_script {
                continue;
            }
            match script {
                (Some(i), Some(f)) if n > i && n < f => {}
                (Some(i), Some(f)) => out.error(
                    "ICE27",
                    at(a),
                    format!("{a} ({n}) changes the machine and must come between InstallInitialize ({i}) and InstallFinalize ({f})"),
                ),
                _ if table.ends_with("ExecuteSequence") => out.error(
                    "ICE27",
                    at(a),
                    format!("{a} is sequenced without InstallInitialize and InstallFinalize around it"),
                ),
                _ => {}
            }
        }
        remove_existing_products(&seq, table, out);
    }
}

/// RemoveExistingProducts: between InstallValidate and InstallInitialize, right after
/// InstallInitialize (before any action that changes the machine), or after
/// InstallExecute, InstallExecuteAgain or InstallFinalize.
fn remove_existing_products(seq: &BTreeMap<&str, i32>, table: &str, out: &mut Findings) {
    let Some(&rep) = seq.get("RemoveExistingProducts") else {
        return;
    };
    let get = |a: &str| seq.get(a).copied();
    let early = matches!((get("InstallValidate"), get("InstallInitialize")), (Some(v), Some(i)) if v < rep && rep < i);
    let right_after = get("InstallInitialize").is_some_and(|i| {
        i < rep
            && !seq
                .iter()
                .any(|(a, n)| EXECUTION.contains(a) && *n > i && *n < rep)
    });
    let late = ["InstallExecute", "InstallExecuteAgain", "InstallFinalize"]
        .iter()
        .any(|a| get(a).is_some_and(|n| n < rep));
    if !(early || right_after || late) {
        out.error(
            "ICE27",
            format!("{table}.RemoveExistingProducts"),
            format!("RemoveExistingProducts ({rep}) is in none of its allowed places: between InstallValidate and InstallInitialize, right after InstallInitialize, or after InstallExecute or InstallFinalize"),
        );
    }
}

/// ICE82: no two actions of one sequence table share a (positive) sequence number.
pub fn ice82(db: &Database, out: &mut Findings) {
    for table in SEQUENCES {
        let mut seen: BTreeMap<i32, String> = BTreeMap::new();
        for r in db.rows(table) {
            let Some(n) = r.int("Sequence").filter(|n| *n > 0) else {
                continue;
            };
            let a = r.text("Action");
            if let Some(other) = seen.insert(n, a.to_string()) {
                out.warning(
                    "ICE82",
                    format!("{table}.{a}"),
                    format!("sequence number {n} is also {other}'s: their order is undefined"),
                );
            }
        }
    }
}
