//! `[package.metadata.winpkg]` (and `[workspace.metadata.winpkg]` defaults): the schema,
//! strict validation, and errors that name the key path, the file and the line.
//!
//! Validation is done in two passes. First the raw table is walked against the list
//! of known keys, so a typo gets "did you mean" with the closest valid key. Then serde
//! deserializes it (with `deny_unknown_fields` as a safety net), and a type error is
//! reported with the full key path by `serde_path_to_error`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::classify::Release;
use crate::policy::{AllowRule, Code, Level, Policy};

/// The default target when neither `--target` nor `target` says otherwise.
pub const DEFAULT_TARGET: &str = "x86_64-pc-windows-msvc";

/// Keys of `[package.metadata.winpkg]`, in documentation order.
pub const TOP_KEYS: &[&str] = &[
    "target",
    "bin",
    "crt-static",
    "min-windows",
    "allow",
    "deny",
    "warn",
    "allow-codes",
    "dll-dirs",
    "builder",
    "archive-name",
    "root-dir",
    "include",
    "bundle-dlls",
    "bundle-mingw-runtime",
    "strip-bundled-dlls",
    "service",
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
];

pub const RECOVERY_KEYS: &[&str] = &["actions", "reset-after", "on-non-crash-failure"];
pub const ACTION_KEYS: &[&str] = &["action", "delay"];
pub const ALLOW_KEYS: &[&str] = &["name", "reason"];
pub const INCLUDE_KEYS: &[&str] = &["src", "dest"];

/// The whole table. Every key is optional so that package values can override
/// workspace defaults key by key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    pub target: Option<String>,
    pub bin: Option<String>,
    pub crt_static: Option<bool>,
    pub min_windows: Option<String>,
    pub allow: Option<Vec<AllowEntry>>,
    pub deny: Option<Vec<String>>,
    pub warn: Option<Vec<String>>,
    pub allow_codes: Option<Vec<String>>,
    pub dll_dirs: Option<Vec<PathBuf>>,
    pub builder: Option<Builder>,
    pub archive_name: Option<String>,
    pub root_dir: Option<bool>,
    pub include: Option<Vec<Include>>,
    pub bundle_dlls: Option<Vec<String>>,
    pub bundle_mingw_runtime: Option<bool>,
    pub strip_bundled_dlls: Option<bool>,
    pub service: Option<ServiceConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AllowEntry {
    pub name: String,
    pub reason: String,
}

/// `include = ["README.md", { src = "conf/*.toml", dest = "conf/" }]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Include {
    Path(String),
    Map { src: String, dest: Option<String> },
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Builder {
    /// `cargo build`
    #[default]
    Cargo,
    /// `cargo xwin build` (cargo-xwin: MSVC targets from Linux and macOS)
    CargoXwin,
    /// `cargo zigbuild` (cargo-zigbuild: zig as the linker)
    CargoZigbuild,
}

impl Builder {
    pub fn as_str(self) -> &'static str {
        match self {
            Builder::Cargo => "cargo",
            Builder::CargoXwin => "cargo-xwin",
            Builder::CargoZigbuild => "cargo-zigbuild",
        }
    }
}

/// `[package.metadata.winpkg.service]`, as written; `service::Service` validates it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub start: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub working_dir: Option<String>,
    pub account: Option<String>,
    pub depends_on: Option<Vec<String>>,
    pub error_control: Option<String>,
    pub sid_type: Option<String>,
    pub required_privileges: Option<Vec<String>>,
    pub preshutdown_timeout: Option<String>,
    pub stop_timeout: Option<String>,
    pub recovery: Option<RecoveryConfig>,
    pub mode: Option<String>,
    /// Path to a shawl.exe to ship for `mode = "shawl"` (else it is built).
    pub shawl: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RecoveryConfig {
    pub actions: Option<Vec<ActionConfig>>,
    pub reset_after: Option<String>,
    pub on_non_crash_failure: Option<bool>,
}

/// `"restart"` or `{ action = "restart", delay = "10s" }`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ActionConfig {
    Name(String),
    Full {
        action: String,
        delay: Option<String>,
    },
}

/// A configuration mistake: where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub manifest: PathBuf,
    /// Dotted path, e.g. `package.metadata.winpkg.service.start`.
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        match self.line {
            Some(line) => write!(f, "\n  --> {}:{line}", self.manifest.display())?,
            None => write!(f, "\n  --> {}", self.manifest.display())?,
        }
        write!(f, "\n   = key: {}", self.key)?;
        if let Some(help) = &self.help {
            write!(f, "\n   = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error about `key` (a full dotted path) in the manifest whose text is `text`;
    /// the line is looked up from the key.
    pub fn at(
        manifest: &Path,
        text: &str,
        key: String,
        message: String,
        help: Option<String>,
    ) -> Self {
        ConfigError {
            manifest: manifest.to_path_buf(),
            line: find_line(text, &key),
            key,
            message,
            help,
        }
    }
}

/// Where a table came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    Package,
    Workspace,
}

impl Origin {
    fn prefix(self) -> &'static str {
        match self {
            Origin::Package => "package.metadata.winpkg",
            Origin::Workspace => "workspace.metadata.winpkg",
        }
    }
}

/// Parse one `winpkg` table (`value` is what `cargo metadata` reports for it).
pub fn parse(value: &Value, manifest: &Path, origin: Origin) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    let err = |key: &str, message: String, help: Option<String>| {
        let full = if key.is_empty() {
            origin.prefix().to_string()
        } else {
            format!("{}.{key}", origin.prefix())
        };
        ConfigError::at(manifest, &text, full, message, help)
    };
    if !value.is_object() {
        return Err(err(
            "",
            format!("[{}] must be a table", origin.prefix()),
            None,
        ));
    }
    check_keys(value, "", &err)?;
    serde_path_to_error::deserialize::<_, Config>(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner().to_string();
        err(
            &path,
            format!("invalid value for `{path}`: {inner}"),
            expected_for(&path),
        )
    })
}

/// Walk the table against the known keys; the first unknown key is an error with the
/// closest valid key suggested.
fn check_keys(
    value: &Value,
    path: &str,
    err: &dyn Fn(&str, String, Option<String>) -> ConfigError,
) -> Result<(), ConfigError> {
    let (known, children): (&[&str], &[(&str, ChildKind)]) = match schema_at(path) {
        Some(s) => s,
        None => return Ok(()),
    };
    let Some(map) = value.as_object() else {
        return Ok(()); // a type error, reported by serde with its path
    };
    for (key, child) in map {
        let here = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        if !known.contains(&key.as_str()) {
            let help = match closest(key, known) {
                Some(k) => format!(
                    "did you mean `{k}`? The valid keys here are: {}",
                    known.join(", ")
                ),
                None => format!("the valid keys here are: {}", known.join(", ")),
            };
            return Err(err(&here, format!("unknown key `{key}`"), Some(help)));
        }
        if let Some((_, kind)) = children.iter().find(|(k, _)| k == key) {
            match (kind, child) {
                (ChildKind::Table, Value::Object(_)) => check_keys(child, &here, err)?,
                (ChildKind::ListOfTables, Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        if item.is_object() {
                            check_keys(item, &format!("{here}[{i}]"), err)?;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum ChildKind {
    Table,
    ListOfTables,
}

type Schema = (
    &'static [&'static str],
    &'static [(&'static str, ChildKind)],
);

/// The known keys at a (dotted, indexed) path, and which of them nest.
fn schema_at(path: &str) -> Option<Schema> {
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
                ("allow", ChildKind::ListOfTables),
                ("include", ChildKind::ListOfTables),
            ],
        )),
        "service" => Some((SERVICE_KEYS, &[("recovery", ChildKind::Table)])),
        "service.recovery" => Some((RECOVERY_KEYS, &[("actions", ChildKind::ListOfTables)])),
        "service.recovery.actions" => Some((ACTION_KEYS, &[])),
        "allow" => Some((ALLOW_KEYS, &[])),
        "include" => Some((INCLUDE_KEYS, &[])),
        _ => None,
    }
}

/// What a key takes, for type errors.
fn expected_for(path: &str) -> Option<String> {
    let key = path.rsplit('.').next().unwrap_or(path);
    let key = key.split('[').next().unwrap_or(key);
    let s = match key {
        "target" => "a target triple string, e.g. \"x86_64-pc-windows-gnu\"",
        "bin" => "the name of a [[bin]] target, as a string",
        "crt-static"
        | "root-dir"
        | "bundle-mingw-runtime"
        | "strip-bundled-dlls"
        | "on-non-crash-failure" => "true or false",
        "min-windows" => "one of \"7\", \"8\", \"8.1\", \"10\", \"11\" (a string)",
        "allow" => {
            "a list of tables: allow = [{ name = \"python3.dll\", reason = \"provided by the host\" }]"
        }
        "deny" | "warn" | "allow-codes" => {
            "a list of diagnostic codes, e.g. [\"delay-load-missing\"]"
        }
        "dll-dirs" | "bundle-dlls" | "args" | "depends-on" | "required-privileges" => {
            "a list of strings"
        }
        "builder" => "one of \"cargo\", \"cargo-xwin\", \"cargo-zigbuild\"",
        "include" => "a list of paths or { src = \"glob\", dest = \"folder/\" } tables",
        "env" => "a table of strings: env = { RUST_LOG = \"info\" }",
        "actions" => {
            "a list of \"restart\" | \"reboot\" | \"none\", or { action = \"restart\", delay = \"10s\" }"
        }
        "service" => "a table: [package.metadata.winpkg.service]",
        "recovery" => "a table: [package.metadata.winpkg.service.recovery]",
        _ => "a string",
    };
    Some(format!("`{key}` takes {s}"))
}

/// The line of `key_path` (dotted, from `package.metadata.winpkg...`) in a Cargo.toml:
/// the key's line inside the table's header section, or the header line itself.
pub fn find_line(text: &str, key_path: &str) -> Option<usize> {
    let clean: String = {
        let mut s = String::new();
        let mut depth = 0;
        for c in key_path.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ if depth == 0 => s.push(c),
                _ => {}
            }
        }
        s
    };
    let parts: Vec<&str> = clean.split('.').collect();
    // Try the deepest table header that exists, then look for the rest as a key.
    for split in (3..=parts.len()).rev() {
        let table = parts[..split].join(".");
        let rest = &parts[split..];
        let mut in_table = false;
        let mut header_line = None;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('[') {
                let name = t.trim_matches(|c| c == '[' || c == ']').trim();
                in_table = name == table;
                if in_table {
                    header_line = Some(i + 1);
                }
                continue;
            }
            if in_table && let Some(first) = rest.first() {
                let key = t.split('=').next().unwrap_or("").trim().trim_matches('"');
                if key == *first {
                    return Some(i + 1);
                }
            }
        }
        if let Some(h) = header_line {
            if rest.is_empty() {
                return Some(h);
            }
            // The key was not on its own line (inline table): point at the header.
            return Some(h);
        }
    }
    None
}

/// The closest of `choices` to `word` (Levenshtein), if it is close enough to be a typo.
fn closest<'a>(word: &str, choices: &[&'a str]) -> Option<&'a str> {
    choices
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Config {
    /// Package values over workspace defaults, key by key.
    pub fn merged_over(self, defaults: &Config) -> Config {
        let d = defaults.clone();
        Config {
            target: self.target.or(d.target),
            bin: self.bin.or(d.bin),
            crt_static: self.crt_static.or(d.crt_static),
            min_windows: self.min_windows.or(d.min_windows),
            allow: self.allow.or(d.allow),
            deny: self.deny.or(d.deny),
            warn: self.warn.or(d.warn),
            allow_codes: self.allow_codes.or(d.allow_codes),
            dll_dirs: self.dll_dirs.or(d.dll_dirs),
            builder: self.builder.or(d.builder),
            archive_name: self.archive_name.or(d.archive_name),
            root_dir: self.root_dir.or(d.root_dir),
            include: self.include.or(d.include),
            bundle_dlls: self.bundle_dlls.or(d.bundle_dlls),
            bundle_mingw_runtime: self.bundle_mingw_runtime.or(d.bundle_mingw_runtime),
            strip_bundled_dlls: self.strip_bundled_dlls.or(d.strip_bundled_dlls),
            service: self.service.or(d.service),
        }
    }

    /// The check policy this configuration asks for. Values are validated here, with
    /// errors that name the key.
    pub fn policy(&self, manifest: &Path) -> Result<Policy, ConfigError> {
        let text = std::fs::read_to_string(manifest).unwrap_or_default();
        let err = |key: &str, message: String| {
            let full = format!("package.metadata.winpkg.{key}");
            ConfigError::at(manifest, &text, full, message, None)
        };
        let mut policy = Policy::default();
        if let Some(v) = &self.min_windows {
            policy.min_windows = v.parse::<Release>().map_err(|m| err("min-windows", m))?;
        }
        for (i, a) in self.allow.iter().flatten().enumerate() {
            if a.reason.trim().is_empty() {
                return Err(err(
                    &format!("allow[{i}].reason"),
                    format!(
                        "the allow entry for `{}` needs a reason: say why the target has this DLL",
                        a.name
                    ),
                ));
            }
            policy.allow.push(AllowRule {
                name: a.name.clone(),
                reason: Some(a.reason.clone()),
            });
        }
        for (key, list, level) in [
            ("deny", &self.deny, Level::Deny),
            ("warn", &self.warn, Level::Warn),
            ("allow-codes", &self.allow_codes, Level::Allow),
        ] {
            for code in list.iter().flatten() {
                let c = code.parse::<Code>().map_err(|m| err(key, m))?;
                policy.levels.insert(c, level);
            }
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_str(v: Value) -> Result<Config, ConfigError> {
        parse(&v, Path::new("/nonexistent/Cargo.toml"), Origin::Package)
    }

    #[test]
    fn typo_suggests_the_closest_key() {
        let e = parse_str(json!({"tagret": "x"})).unwrap_err();
        assert_eq!(e.key, "package.metadata.winpkg.tagret");
        assert!(
            e.help
                .as_deref()
                .unwrap()
                .contains("did you mean `target`?")
        );
        let e = parse_str(json!({"service": {"name": "a", "strat": "auto"}})).unwrap_err();
        assert_eq!(e.key, "package.metadata.winpkg.service.strat");
        assert!(e.help.as_deref().unwrap().contains("`start`"));
        let e = parse_str(json!({"service": {"recovery": {"actions": [{"acton": "restart"}]}}}))
            .unwrap_err();
        assert_eq!(
            e.key,
            "package.metadata.winpkg.service.recovery.actions[0].acton"
        );
    }

    #[test]
    fn wrong_types_name_the_path() {
        let e = parse_str(json!({"crt-static": "yes"})).unwrap_err();
        assert_eq!(e.key, "package.metadata.winpkg.crt-static");
        assert!(e.help.as_deref().unwrap().contains("true or false"));
        let e = parse_str(json!({"service": {"args": "a b"}})).unwrap_err();
        assert_eq!(e.key, "package.metadata.winpkg.service.args");
    }

    #[test]
    fn lines_are_found() {
        let text = "[package]\nname = \"x\"\n\n[package.metadata.winpkg]\ntarget = \"a\"\ncrt-static = 1\n\n[package.metadata.winpkg.service]\nname = \"s\"\nstrat = \"auto\"\n";
        assert_eq!(
            find_line(text, "package.metadata.winpkg.crt-static"),
            Some(6)
        );
        assert_eq!(
            find_line(text, "package.metadata.winpkg.service.strat"),
            Some(10)
        );
        assert_eq!(find_line(text, "package.metadata.winpkg.service"), Some(8));
        assert_eq!(find_line(text, "package.metadata.winpkg.nothing"), Some(4));
    }

    #[test]
    fn merge_is_per_key() {
        let ws = Config {
            target: Some("ws".into()),
            min_windows: Some("8".into()),
            ..Config::default()
        };
        let pkg = Config {
            target: Some("pkg".into()),
            ..Config::default()
        };
        let m = pkg.merged_over(&ws);
        assert_eq!(m.target.as_deref(), Some("pkg"));
        assert_eq!(m.min_windows.as_deref(), Some("8"));
    }
}
