//! Windows Installer's rules, checked on an MSI's tables: the ICE rules (Internal
//! Consistency Evaluators, the validation Microsoft's Orca and WiX run) that apply to
//! what installs files, services and registry values, the Summary Information rules,
//! and the Component Rules between two versions of a package.
//!
//! Tables in, findings out: [`Database`] is what an MSI holds (read by [`db::read`], or
//! built by a test), [`check`] judges one package and [`compare`] an upgrade. Nothing
//! here knows how cargo-winpkg writes its MSIs, so the writer cannot agree with itself:
//! every rule is written from Microsoft's ICE reference and table pages, and each
//! finding names its rule (`ICE38`), or for the rules no ICE number covers, the page
//! it comes from (`FileVersion`, `Services`, `Media`, `ComponentRules`).

pub mod db;
mod files;
mod product;
mod schema;
mod sequence;
mod tables;
mod types;
mod upgrade;
mod user;

use std::fmt;

use serde::Serialize;

pub use db::{Database, FileFacts, Table, Val};
pub(crate) use files::long_name;

/// How much a finding matters: an error is what Windows Installer rejects or does
/// wrong; a warning is what works but is likely not what the author meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One rule broken at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule: `ICE38`, or `FileVersion`, `Services`, `Media`, `ComponentRules`.
    pub rule: &'static str,
    pub severity: Severity,
    /// Where: `Table.key` (the row's primary key, `.`-joined), or `Summary.Field`.
    pub at: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{} {sev} {}: {}", self.rule, self.at, self.message)
    }
}

/// Findings as rules add them.
#[derive(Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub fn error(&mut self, rule: &'static str, at: impl Into<String>, message: impl Into<String>) {
        self.push(rule, Severity::Error, at, message);
    }

    pub fn warning(
        &mut self,
        rule: &'static str,
        at: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(rule, Severity::Warning, at, message);
    }

    fn push(
        &mut self,
        rule: &'static str,
        severity: Severity,
        at: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.0.push(Finding {
            rule,
            severity,
            at: at.into(),
            message: message.into(),
        });
    }
}

/// Every rule on one package, errors first.
pub fn check(db: &Database) -> Vec<Finding> {
    let mut out = Findings::default();
    tables::ice03(db, &mut out);
    tables::ice06(db, &mut out);
    product::ice24(db, &mut out);
    product::ice39(db, &mut out);
    product::ice66(db, &mut out);
    product::ice80(db, &mut out);
    product::ice61(db, &mut out);
    product::ice99(db, &mut out);
    files::ice08(db, &mut out);
    files::ice09(db, &mut out);
    files::ice18(db, &mut out);
    files::ice21(db, &mut out);
    files::ice30(db, &mut out);
    files::file_versions(db, &mut out);
    files::media(db, &mut out);
    files::services(db, &mut out);
    sequence::ice27(db, &mut out);
    sequence::ice82(db, &mut out);
    user::ice38(db, &mut out);
    user::ice43(db, &mut out);
    user::ice57(db, &mut out);
    user::ice64(db, &mut out);
    user::ice91(db, &mut out);
    user::ice105(db, &mut out);
    let mut v = out.0;
    v.sort_by(|a, b| (a.severity, a.rule, &a.at).cmp(&(b.severity, b.rule, &b.at)));
    v
}

/// The Component Rules and the upgrade between an installed package (`old`) and the
/// one that replaces it (`new`).
pub fn compare(old: &Database, new: &Database) -> Vec<Finding> {
    let mut out = Findings::default();
    upgrade::component_rules(old, new, &mut out);
    upgrade::product_identity(old, new, &mut out);
    out.0
}

/// A verify check's outcome from findings: failed when any is an error.
pub(crate) fn outcome(findings: &[Finding], what: &str) -> super::CheckResult {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let counted = format!("{errors} error(s), {warnings} warning(s) (listed below)");
    if errors > 0 {
        Err(super::Failed(counted))
    } else if warnings > 0 {
        Ok(counted)
    } else {
        Ok(format!("no findings: {} {what} checked", RULES.len()))
    }
}

/// The rules this module checks, each with what it holds (README and `--help` list
/// them from here).
pub const RULES: &[(&str, &str)] = &[
    (
        "ICE03",
        "every value fits its column: type, length, range, category (identifiers, GUIDs, file names, formatted text, conditions, versions), and foreign keys",
    ),
    (
        "ICE06",
        "every standard table has the standard schema's columns, with their types",
    ),
    ("ICE08", "no two components share a ComponentId"),
    (
        "ICE09",
        "components installed into a system folder are permanent",
    ),
    (
        "ICE18",
        "a component whose key path is its folder has that folder in CreateFolder",
    ),
    ("ICE21", "every component belongs to a feature"),
    (
        "ICE24",
        "ProductCode, ProductVersion, ProductLanguage, UpgradeCode are well formed",
    ),
    (
        "ICE27",
        "standard actions in each sequence table come in their required order",
    ),
    (
        "ICE30",
        "no two components install a file of the same name to the same folder",
    ),
    (
        "ICE38",
        "components installed into the user's profile use an HKCU registry key path",
    ),
    (
        "ICE39",
        "Summary Information: Template, Revision Number (PackageCode), Page Count, Word Count",
    ),
    (
        "ICE43",
        "non-advertised shortcuts are in components with an HKCU key path",
    ),
    ("ICE57", "no component mixes per-user and per-machine data"),
    (
        "ICE61",
        "Upgrade rows: properties secured, ranges valid, the product's own version",
    ),
    (
        "ICE64",
        "folders in the user's profile are removed at uninstall (RemoveFile)",
    ),
    (
        "ICE66",
        "the Page Count covers the tables the package uses (Windows Installer 5 tables need 500)",
    ),
    (
        "ICE80",
        "64-bit components and folders only in a 64-bit package, and a 64-bit package's Template",
    ),
    (
        "ICE82",
        "no two actions of a sequence table share a sequence number",
    ),
    (
        "ICE91",
        "files in per-user folders of a package that may install per machine",
    ),
    (
        "ICE99",
        "no Directory key is a Windows Installer property name",
    ),
    (
        "ICE105",
        "a per-user package writes nothing per machine (HKLM, services, system folders, elevated actions)",
    ),
    (
        "FileVersion",
        "a file with a version resource has File.Version (and File.Language) from it",
    ),
    (
        "Media",
        "File sequences unique and covered by Media.LastSequence; the cabinet holds exactly the File rows, as MsiFileHash says",
    ),
    (
        "Services",
        "a service's component has the service's exe as key path; ServiceInstall and ServiceControl values as documented",
    ),
    (
        "ComponentRules",
        "between two versions: same key path keeps its ComponentId, another platform gets new ones, ProductCode and PackageCode new, the upgrade removes the old version",
    ),
];

#[cfg(test)]
mod tests {
    use super::db::{Column, Database, Kind, Table, Val};
    use proptest::prelude::*;

    /// Any value a cell can hold, biased toward the shapes the rules parse.
    fn val() -> impl Strategy<Value = Val> {
        prop_oneof![
            Just(Val::Null),
            any::<i32>().prop_map(Val::Int),
            "[\\[\\]{}|:.~#!$%a-zA-Z0-9_ \\\\é]{0,12}".prop_map(Val::Str),
            Just(Val::Str("INSTALLDIR".into())),
            Just(Val::Str("TARGETDIR".into())),
        ]
    }

    /// A database of standard tables with the standard columns (every one a string or
    /// an integer column, by chance) and random rows whose keys reuse a few names, so
    /// foreign keys, cycles and duplicates happen.
    fn database() -> impl Strategy<Value = Database> {
        let names: Vec<&'static str> = super::schema::tables().keys().copied().collect();
        let tables = proptest::collection::vec(
            (
                proptest::sample::select(names),
                proptest::collection::vec(proptest::collection::vec(val(), 0..20), 0..8),
            ),
            0..12,
        );
        (
            tables,
            proptest::option::of(any::<i32>()),
            proptest::option::of(any::<i32>()),
        )
            .prop_map(|(tables, page, words)| {
                let mut db = Database::default();
                for (name, rows) in tables {
                    let std = &super::schema::tables()[name];
                    let columns = std
                        .iter()
                        .map(|c| Column {
                            name: c.name.to_string(),
                            kind: Kind::Str(0),
                            nullable: true,
                            key: c.key,
                        })
                        .collect();
                    let rows = rows
                        .into_iter()
                        .map(|mut r| {
                            r.resize(std.len(), Val::Str("a".into()));
                            r
                        })
                        .collect();
                    db.tables.insert(name.to_string(), Table { columns, rows });
                }
                db.summary.page_count = page;
                db.summary.word_count = words;
                db.summary.platform = Some("Intel".into());
                db
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// No table content makes a rule panic, and comparing two packages neither.
        #[test]
        fn the_rules_take_any_tables(a in database(), b in database()) {
            let _ = super::check(&a);
            let _ = super::compare(&a, &b);
        }
    }
}
