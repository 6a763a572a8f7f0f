//! The keys of `[package.metadata.winpkg]`: which exist where (for "did you mean"), and
//! what each takes (for type errors).

use super::words::{Action, ErrorControl, Mode, SidType, StartType};

fn words_help(key: &str, words: &[&str]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    format!("`{key}` takes one of {}", q.join(", "))
}

/// Keys of `[package.metadata.winpkg]`, in documentation order.
pub const TOP_KEYS: &[&str] = &[
    "target",
    "bin",
    "crt-static",
    "reproducible",
    "min-windows",
    "allow",
    "deny",
    "warn",
    "allow-codes",
    "dll-dirs",
    "builder",
    "exe-name",
    "archive-name",
    "root-dir",
    "include",
    "bundle-dlls",
    "bundle-mingw-runtime",
    "strip-bundled-dlls",
    "host",
    "version-info",
    "app-manifest",
    "sign",
    "run-key",
    "cli",
    "task",
    "service",
    "msi",
    "publish",
];

/// Top-level keys that mean something only for a crate cargo builds (not in
/// winpkg.toml, where the exe is given), with why.
pub const CARGO_ONLY_KEYS: &[(&str, &str)] = &[
    (
        "bin",
        "--exe ships the exe it is given; to ship it under another name, write `exe-name = \"NAME.exe\"`",
    ),
    (
        "crt-static",
        "it is a flag of the Rust build, and --exe does not build",
    ),
    (
        "reproducible",
        "it is a flag of the Rust build, and --exe does not build",
    ),
    (
        "builder",
        "it chooses how cargo builds, and --exe does not build",
    ),
];

/// The package facts winpkg.toml holds beside the winpkg keys (a crate's come from
/// its `[package]`).
pub const STANDALONE_PACKAGE_KEYS: [&str; 7] = [
    "name",
    "version",
    "description",
    "license",
    "authors",
    "homepage",
    "repository",
];

/// The top-level keys of winpkg.toml: the package facts, then the winpkg keys that
/// mean something for a prebuilt exe.
pub fn standalone_top_keys() -> Vec<&'static str> {
    STANDALONE_PACKAGE_KEYS
        .iter()
        .copied()
        .chain(
            TOP_KEYS
                .iter()
                .copied()
                .filter(|k| !CARGO_ONLY_KEYS.iter().any(|(c, _)| c == k)),
        )
        .collect()
}

/// Keys of `[package.metadata.winpkg.publish]`.
pub const PUBLISH_KEYS: &[&str] = &["url", "publisher", "identifier", "license", "homepage"];

/// Keys of `[package.metadata.winpkg.msi]`.
pub const MSI_KEYS: &[&str] = &["upgrade-code", "manufacturer"];

/// Keys of `[package.metadata.winpkg.task]`.
pub const TASK_KEYS: &[&str] = &[
    "name",
    "description",
    "trigger",
    "at",
    "user",
    "run-as",
    "highest",
    "restart-count",
    "restart-interval",
    "time-limit",
    "args",
];

/// Keys of `[package.metadata.winpkg.run-key]`.
pub const RUN_KEY_KEYS: &[&str] = &["name", "scope", "args", "start-now"];

/// Keys of `[package.metadata.winpkg.cli]`.
pub const CLI_KEYS: &[&str] = &["path"];

/// Keys of `[package.metadata.winpkg.version-info]`.
pub const VERSION_INFO_KEYS: &[&str] = &[
    "stamp",
    "file-version",
    "product-version",
    "file-description",
    "product-name",
    "company-name",
    "legal-copyright",
    "original-filename",
    "internal-name",
    "comments",
];

/// Keys of `[package.metadata.winpkg.sign]`.
pub const SIGN_KEYS: &[&str] = &[
    "pkcs12",
    "pkcs12-env",
    "password-env",
    "cert",
    "key",
    "command",
    "timestamp-urls",
    "timestamp",
    "timestamp-retries",
    "description",
    "url",
];

/// Keys of `[package.metadata.winpkg.service]`.
pub const SERVICE_KEYS: &[&str] = &[
    "name",
    "display-name",
    "description",
    "start",
    "args",
    "env",
    "working-dir",
    "account",
    "depends-on",
    "error-control",
    "sid-type",
    "required-privileges",
    "preshutdown-timeout",
    "stop-timeout",
    "recovery",
    "mode",
    "shawl",
    "data-dirs",
    "log-dir",
    "log-rotate",
    "log-retain",
    "log-output",
    "event-log",
];

pub const RECOVERY_KEYS: &[&str] = &["actions", "reset-after", "on-non-crash-failure"];
pub const ACTION_KEYS: &[&str] = &["action", "delay"];
pub const ALLOW_KEYS: &[&str] = &["name", "reason"];
pub const INCLUDE_KEYS: &[&str] = &["src", "dest"];

#[derive(Debug, Clone, Copy)]
pub(super) enum ChildKind {
    Table,
    ListOfTables,
}

pub(super) type Schema = (
    &'static [&'static str],
    &'static [(&'static str, ChildKind)],
);

/// The known keys at a (dotted, indexed) path, and which of them nest.
pub(super) fn schema_at(path: &str) -> Option<Schema> {
    // Strip list indexes: "service.recovery.actions[0]" -> "service.recovery.actions".
    let mut p = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => p.push(c),
            _ => {}
        }
    }
    match p.as_str() {
        "" => Some((
            TOP_KEYS,
            &[
                ("service", ChildKind::Table),
                ("version-info", ChildKind::Table),
                ("sign", ChildKind::Table),
                ("run-key", ChildKind::Table),
                ("cli", ChildKind::Table),
                ("task", ChildKind::Table),
                ("msi", ChildKind::Table),
                ("publish", ChildKind::Table),
                ("allow", ChildKind::ListOfTables),
                ("include", ChildKind::ListOfTables),
            ],
        )),
        "service" => Some((SERVICE_KEYS, &[("recovery", ChildKind::Table)])),
        "service.recovery" => Some((RECOVERY_KEYS, &[("actions", ChildKind::ListOfTables)])),
        "service.recovery.actions" => Some((ACTION_KEYS, &[])),
        "allow" => Some((ALLOW_KEYS, &[])),
        "version-info" => Some((VERSION_INFO_KEYS, &[])),
        "sign" => Some((SIGN_KEYS, &[])),
        "run-key" => Some((RUN_KEY_KEYS, &[])),
        "cli" => Some((CLI_KEYS, &[])),
        "task" => Some((TASK_KEYS, &[])),
        "msi" => Some((MSI_KEYS, &[])),
        "publish" => Some((PUBLISH_KEYS, &[])),
        "include" => Some((INCLUDE_KEYS, &[])),
        _ => None,
    }
}

/// What a key takes, for type errors.
pub(super) fn expected_for(path: &str, kind: super::OriginKind) -> Option<String> {
    let key = path.rsplit('.').next().unwrap_or(path);
    let key = key.split('[').next().unwrap_or(key);
    // A key the schema nests as a table: its header, as the user's file writes it.
    let parent = path.rsplit_once('.').map_or("", |(p, _)| p);
    let nests = schema_at(parent).is_some_and(|(_, kids)| {
        kids.iter()
            .any(|(k, c)| *k == key && matches!(c, ChildKind::Table))
    });
    if nests {
        return Some(format!("`{key}` takes a table: {}", kind.table(path)));
    }
    let s = match key {
        "target" => "a target triple string, e.g. \"x86_64-pc-windows-gnu\"",
        "bin" => "the name of a [[bin]] target, as a string",
        "crt-static"
        | "reproducible"
        | "app-manifest"
        | "log-output"
        | "start-now"
        | "highest"
        | "stamp"
        | "timestamp"
        | "root-dir"
        | "bundle-mingw-runtime"
        | "strip-bundled-dlls"
        | "on-non-crash-failure" => "true or false",
        "min-windows" => {
            return Some(format!(
                "{} (a string)",
                words_help(key, &crate::dlls::Release::NAMES)
            ));
        }
        "allow" => {
            "a list of tables: allow = [{ name = \"python3.dll\", reason = \"provided by the host\" }]"
        }
        "deny" | "warn" | "allow-codes" => {
            "a list of diagnostic codes, e.g. [\"delay-load-missing\"]"
        }
        "event-log" => "true, false, or an event source name: event-log = true",
        "log-rotate" => "\"daily\", \"hourly\" or a size such as \"10MiB\"",
        "log-retain" => "a whole number of rotated logs to keep, e.g. 5",
        "dll-dirs"
        | "bundle-dlls"
        | "args"
        | "depends-on"
        | "required-privileges"
        | "data-dirs" => "a list of strings",
        "command" => {
            "a list of strings, `{file}` standing for the file: [\"my-signer\", \"{file}\"]"
        }
        "timestamp-urls" => "a list of URLs: [\"http://timestamp.digicert.com\"]",
        "timestamp-retries" => "a whole number of tries, e.g. 3",
        "upgrade-code" => "a GUID string, e.g. \"{12345678-1234-1234-1234-123456789ABC}\"",
        "trigger" => return Some(words_help(key, super::words::Trigger::WORDS)),
        "run-as" => return Some(words_help(key, super::words::RunAs::WORDS)),
        "restart-count" => "a whole number of restarts, e.g. 3",
        "scope" | "path" => return Some(words_help(key, super::words::Scope::WORDS)),
        "builder" => "one of \"cargo\", \"cargo-xwin\", \"cargo-zigbuild\"",
        "include" => "a list of paths or { src = \"glob\", dest = \"folder/\" } tables",
        "env" => "a table of strings: env = { RUST_LOG = \"info\" }",
        "actions" => {
            "a list of \"restart\" | \"reboot\" | \"none\", or { action = \"restart\", delay = \"10s\" }"
        }
        "start" => return Some(words_help(key, StartType::WORDS)),
        "error-control" => return Some(words_help(key, ErrorControl::WORDS)),
        "sid-type" => return Some(words_help(key, SidType::WORDS)),
        "mode" => return Some(words_help(key, Mode::WORDS)),
        "host" => return Some(words_help(key, crate::dlls::Host::WORDS)),
        "action" => return Some(words_help(key, Action::WORDS)),
        _ => "a string",
    };
    Some(format!("`{key}` takes {s}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::de::DeserializeOwned;

    use super::*;
    use crate::config::{
        AllowEntry, CliConfig, Config, MsiConfig, PublishConfig, RecoveryConfig, RunKeyConfig,
        ServiceConfig, SignConfig, TaskConfig, VersionInfoConfig,
    };

    /// The fields serde reads for `T`, from its own "unknown field" message (which lists
    /// them all: `deny_unknown_fields`).
    fn serde_fields<T: DeserializeOwned + std::fmt::Debug>() -> BTreeSet<String> {
        let e = serde_json::from_value::<T>(serde_json::json!({ "zz-not-a-key": 0 }))
            .unwrap_err()
            .to_string();
        let expected = e.split("expected").nth(1).unwrap_or_else(|| panic!("{e}"));
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    }

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    /// Each table's keys are declared once in this file: the structs serde reads take
    /// exactly them, the "did you mean" schema covers every table, and the book's
    /// tables document every one. A key added to a struct and forgotten here (or the
    /// other way round), or left out of the book, fails this test.
    #[test]
    fn keys_structs_and_readme_agree() {
        let tables: [(&str, &[&str], BTreeSet<String>); 11] = [
            ("msi", MSI_KEYS, serde_fields::<MsiConfig>()),
            ("publish", PUBLISH_KEYS, serde_fields::<PublishConfig>()),
            ("", TOP_KEYS, serde_fields::<Config>()),
            ("service", SERVICE_KEYS, serde_fields::<ServiceConfig>()),
            (
                "service.recovery",
                RECOVERY_KEYS,
                serde_fields::<RecoveryConfig>(),
            ),
            ("task", TASK_KEYS, serde_fields::<TaskConfig>()),
            ("run-key", RUN_KEY_KEYS, serde_fields::<RunKeyConfig>()),
            ("cli", CLI_KEYS, serde_fields::<CliConfig>()),
            (
                "version-info",
                VERSION_INFO_KEYS,
                serde_fields::<VersionInfoConfig>(),
            ),
            ("sign", SIGN_KEYS, serde_fields::<SignConfig>()),
            ("allow", ALLOW_KEYS, serde_fields::<AllowEntry>()),
        ];
        // The book's chapters, every one (docs/src).
        let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src");
        let mut readme = String::new();
        for e in std::fs::read_dir(&book).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                readme.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
        // A table row whose key cell names the key: `key`, `table.key`, `table.…`,
        // `key = "example"`, or one of several (`a`, `b`). The key cell is the first
        // one, or the second in a table of tables (`| table | key | ...`).
        let documented = |key: &str| {
            readme.lines().filter(|l| l.starts_with("| ")).any(|l| {
                l.split('|').skip(1).take(2).any(|cell| {
                    cell.contains(&format!("`{key}`"))
                        || cell.contains(&format!(".{key}`"))
                        || cell.contains(&format!("`{key}."))
                        || cell.contains(&format!("`{key} ="))
                })
            })
        };
        let mut undocumented = Vec::new();
        for (path, keys, fields) in &tables {
            assert_eq!(&set(keys), fields, "keys.rs and the struct of [{path}]");
            let (schema, _) = schema_at(path).unwrap_or_else(|| panic!("no schema for [{path}]"));
            assert_eq!(schema, *keys, "schema_at({path:?})");
            undocumented.extend(
                keys.iter()
                    .filter(|k| !documented(k))
                    .map(|k| format!("[{path}] {k}")),
            );
        }
        assert!(
            undocumented.is_empty(),
            "not in the book's tables (docs/src): {undocumented:?}"
        );
        // Every table the schema knows is in the list above (and the action/include
        // tables, which are not plain structs).
        for (_, children) in [schema_at("").unwrap(), schema_at("service").unwrap()] {
            for (child, _) in children {
                let known = tables.iter().any(|(p, ..)| p.ends_with(child))
                    || ["include", "recovery"].contains(child);
                assert!(known, "[{child}] has no row in this test");
            }
        }
    }
}
