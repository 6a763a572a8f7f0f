//! `[package.metadata.winpkg]` (and `[workspace.metadata.winpkg]` defaults): the schema,
//! strict validation, and errors that name the file, the key path and the line.
//!
//! Validation is done in two passes. First the raw table is walked against the list
//! of known keys, so a typo gets "did you mean" with the closest valid key. Then serde
//! deserializes it into typed values (with `deny_unknown_fields` as a safety net), and
//! an error is reported with the full key path by `serde_path_to_error`.
//!
//! Every key remembers which table it came from ([`Origin`]), so a mistake in the
//! workspace's defaults is reported at the workspace's Cargo.toml, under
//! `workspace.metadata.winpkg`, even when a member's build found it.

mod error;
pub mod keys;
pub mod words;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::check::{AllowRule, Code, Level, Policy};
use crate::dlls::{Host, Release};
use crate::words::{closest, words};
pub use words::{Action, ErrorControl, Mode, RunAs, Scope, SidType, StartType, Trigger};

pub use error::{ConfigError, find_line};
pub use keys::{
    ACTION_KEYS, ALLOW_KEYS, INCLUDE_KEYS, RECOVERY_KEYS, SERVICE_KEYS, SIGN_KEYS, TOP_KEYS,
    VERSION_INFO_KEYS,
};
use keys::{ChildKind, expected_for, schema_at};

/// The default target when neither `--target` nor `target` says otherwise.
pub const DEFAULT_TARGET: &str = "x86_64-pc-windows-msvc";

/// The whole table. Every key is optional so that package values can override
/// workspace defaults key by key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    pub target: Option<String>,
    pub bin: Option<String>,
    pub crt_static: Option<bool>,
    /// Build flags that make the exe byte-identical across folders and runs.
    pub reproducible: Option<bool>,
    pub min_windows: Option<Release>,
    pub allow: Option<Vec<AllowEntry>>,
    pub deny: Option<Vec<Code>>,
    pub warn: Option<Vec<Code>>,
    pub allow_codes: Option<Vec<Code>>,
    pub dll_dirs: Option<Vec<PathBuf>>,
    pub builder: Option<Builder>,
    /// The exe's file name in the package (and so the command, the service's program).
    pub exe_name: Option<String>,
    pub archive_name: Option<String>,
    pub root_dir: Option<bool>,
    pub include: Option<Vec<Include>>,
    pub bundle_dlls: Option<Vec<String>>,
    pub bundle_mingw_runtime: Option<bool>,
    pub strip_bundled_dlls: Option<bool>,
    /// The program that loads what is built (for plugins): its DLLs are never missing.
    pub host: Option<Host>,
    pub service: Option<ServiceConfig>,
    /// `[package.metadata.winpkg.version-info]`: the VERSIONINFO stamped into the exe.
    pub version_info: Option<VersionInfoConfig>,
    /// Embed an application manifest (asInvoker, supportedOS, long paths, UTF-8).
    pub app_manifest: Option<bool>,
    /// `[package.metadata.winpkg.sign]`: Authenticode signing.
    pub sign: Option<SignConfig>,
    /// `[package.metadata.winpkg.run-key]`: start at logon.
    pub run_key: Option<RunKeyConfig>,
    /// `[package.metadata.winpkg.cli]`: a command-line tool.
    pub cli: Option<CliConfig>,
    /// `[package.metadata.winpkg.task]`: a scheduled task.
    pub task: Option<TaskConfig>,
    /// `[package.metadata.winpkg.msi]`: the MSI.
    pub msi: Option<MsiConfig>,
    /// `[package.metadata.winpkg.publish]`: winget and scoop manifests.
    pub publish: Option<PublishConfig>,
    /// Where each top-level key that is set came from.
    #[serde(skip)]
    pub origins: BTreeMap<String, Origin>,
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

words! {
    /// How the crate is built.
    pub enum Builder("builder") {
        /// `cargo build`
        Cargo = "cargo",
        /// `cargo xwin build` (cargo-xwin: MSVC targets from Linux and macOS)
        CargoXwin = "cargo-xwin",
        /// `cargo zigbuild` (cargo-zigbuild: zig as the linker)
        CargoZigbuild = "cargo-zigbuild",
    }
}

/// `[package.metadata.winpkg.version-info]`: every string defaults from Cargo.toml.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VersionInfoConfig {
    /// `false`: stamp nothing.
    pub stamp: Option<bool>,
    pub file_version: Option<String>,
    pub product_version: Option<String>,
    pub file_description: Option<String>,
    pub product_name: Option<String>,
    pub company_name: Option<String>,
    pub legal_copyright: Option<String>,
    pub original_filename: Option<String>,
    pub internal_name: Option<String>,
    pub comments: Option<String>,
}

/// `[package.metadata.winpkg.sign]`: where the key is (never the key itself) and how to
/// timestamp.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SignConfig {
    /// A PKCS#12 (.pfx/.p12) file.
    pub pkcs12: Option<PathBuf>,
    /// An environment variable holding the PKCS#12 file, base64-encoded (CI secrets).
    pub pkcs12_env: Option<String>,
    /// The environment variable holding the PKCS#12 password.
    pub password_env: Option<String>,
    /// A PEM certificate (chain) and its PEM private key.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// An external signing command, `{file}` standing for the file to sign in place
    /// (HSMs, cloud signing services).
    pub command: Option<Vec<String>>,
    /// RFC 3161 timestamp servers, tried in order.
    pub timestamp_urls: Option<Vec<String>>,
    /// `false`: sign without a timestamp (the signature dies with the certificate).
    pub timestamp: Option<bool>,
    /// Tries per timestamp server.
    pub timestamp_retries: Option<u32>,
    /// The description and URL shown in the UAC and SmartScreen dialogs.
    pub description: Option<String>,
    pub url: Option<String>,
}

/// `[package.metadata.winpkg.run-key]`: start the program at every logon.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunKeyConfig {
    /// The Run value's name (default: the package name).
    pub name: Option<String>,
    pub scope: Option<Scope>,
    pub args: Option<Vec<String>>,
    /// Also start the program when installing (default true).
    pub start_now: Option<bool>,
}

/// `[package.metadata.winpkg.task]`: start the program from the Task Scheduler.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TaskConfig {
    pub name: Option<String>,
    pub description: Option<String>,
    pub trigger: Option<Trigger>,
    /// `HH:MM`, for the daily and hourly triggers.
    pub at: Option<String>,
    /// For the logon trigger: only this user's logon (default: any user's).
    pub user: Option<String>,
    pub run_as: Option<RunAs>,
    /// Run with the highest privileges the account has.
    pub highest: Option<bool>,
    pub restart_count: Option<u32>,
    pub restart_interval: Option<String>,
    /// A duration, or "none" (the default): Task Scheduler stops longer runs.
    pub time_limit: Option<String>,
    pub args: Option<Vec<String>>,
}

/// `[package.metadata.winpkg.msi]`: the MSI (`--msi`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MsiConfig {
    /// The product's identity for life: a GUID, the same for every version.
    pub upgrade_code: Option<String>,
    /// Manufacturer (default: `authors`, without e-mail addresses).
    pub manufacturer: Option<String>,
}

/// `[package.metadata.winpkg.publish]`: where the release assets are published, for
/// the winget and scoop manifests each run writes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PublishConfig {
    /// The folder URL of the release's files, `{version}` standing for the version,
    /// e.g. "https://github.com/me/app/releases/download/v{version}/".
    pub url: Option<String>,
    /// The publisher's name (winget's Publisher).
    pub publisher: Option<String>,
    /// winget's PackageIdentifier, `Publisher.Name` (default: from the two names).
    pub identifier: Option<String>,
    /// An SPDX licence (default: the crate's `license`).
    pub license: Option<String>,
    /// The product's web page (default: the crate's `homepage`, else `repository`).
    pub homepage: Option<String>,
}

/// `[package.metadata.winpkg.cli]`: a command-line tool.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CliConfig {
    /// Put the install folder on the user's or the machine's PATH.
    pub path: Option<Scope>,
}

/// `[package.metadata.winpkg.service]`, as written; `service::from_config` validates it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub start: Option<StartType>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub working_dir: Option<String>,
    pub account: Option<String>,
    pub depends_on: Option<Vec<String>>,
    pub error_control: Option<ErrorControl>,
    pub sid_type: Option<SidType>,
    pub required_privileges: Option<Vec<String>>,
    pub preshutdown_timeout: Option<String>,
    pub stop_timeout: Option<String>,
    pub recovery: Option<RecoveryConfig>,
    pub mode: Option<Mode>,
    /// Path to a shawl.exe to ship for `mode = "shawl"` (else it is built).
    pub shawl: Option<PathBuf>,
    /// Folders the service writes: created at install, granted to its account.
    pub data_dirs: Option<Vec<String>>,
    /// The folder for logs: created and granted like `data-dirs`; shawl writes there.
    pub log_dir: Option<String>,
    /// shawl's log rotation: "daily", "hourly", or a size ("10MiB", "500KiB", bytes).
    pub log_rotate: Option<String>,
    /// How many rotated shawl logs to keep.
    pub log_retain: Option<u32>,
    /// Whether shawl logs the program's own output (default true).
    pub log_output: Option<bool>,
    /// Register an Event Log source: true (named as the service) or a source name.
    pub event_log: Option<EventLogConfig>,
}

/// `event-log = true` or `event-log = "Source Name"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum EventLogConfig {
    On(bool),
    Source(String),
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RecoveryConfig {
    pub actions: Option<Vec<ActionConfig>>,
    pub reset_after: Option<String>,
    pub on_non_crash_failure: Option<bool>,
}

/// `"restart"` or `{ action = "restart", delay = "10s" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionConfig {
    pub action: Action,
    pub delay: Option<String>,
}

impl<'de> Deserialize<'de> for ActionConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read the shape first, then the word: an unknown word gets its own message
        // (with a did-you-mean), not serde's "did not match any variant".
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Full {
                action: String,
                delay: Option<String>,
            },
        }
        let (action, delay) = match Raw::deserialize(d)? {
            Raw::Name(a) => (a, None),
            Raw::Full { action, delay } => (action, delay),
        };
        Ok(ActionConfig {
            action: action.parse().map_err(serde::de::Error::custom)?,
            delay,
        })
    }
}

/// Which table a value was written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub kind: OriginKind,
    /// The Cargo.toml that holds the table.
    pub manifest: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginKind {
    Package,
    Workspace,
    /// winpkg.toml (`--exe`): the keys at the top level.
    Standalone,
}

impl OriginKind {
    pub fn prefix(self) -> &'static str {
        match self {
            OriginKind::Package => "package.metadata.winpkg",
            OriginKind::Workspace => "workspace.metadata.winpkg",
            OriginKind::Standalone => "",
        }
    }

    /// The header of the table `key` (`msi`, `service.recovery`) as the user writes it:
    /// `[package.metadata.winpkg.msi]` in Cargo.toml, `[msi]` in winpkg.toml.
    pub fn table(self, key: &str) -> String {
        match (self.prefix(), key) {
            ("", "") => "the top level of winpkg.toml".to_string(),
            ("", key) => format!("[{key}]"),
            (prefix, "") => format!("[{prefix}]"),
            (prefix, key) => format!("[{prefix}.{key}]"),
        }
    }

    /// The file the table is written in.
    pub fn file(self) -> &'static str {
        match self {
            OriginKind::Standalone => "winpkg.toml",
            _ => "Cargo.toml",
        }
    }

    /// The kind of a package's own table: winpkg.toml's keys are at its top level.
    pub fn of_manifest(manifest: &std::path::Path) -> OriginKind {
        if manifest.file_name().is_some_and(|n| n == "winpkg.toml") {
            OriginKind::Standalone
        } else {
            OriginKind::Package
        }
    }
}

impl Origin {
    /// An error about `key` (relative to the table, e.g. `service.start`).
    pub fn error(&self, key: &str, message: String, help: Option<String>) -> ConfigError {
        let full = match (key.is_empty(), self.kind.prefix()) {
            (true, prefix) => prefix.to_string(),
            (false, "") => key.to_string(),
            (false, prefix) => format!("{prefix}.{key}"),
        };
        ConfigError::at(&self.manifest, full, message, help)
    }
}

/// Parse one `winpkg` table (`value` is what `cargo metadata` reports for it).
pub fn parse(value: &Value, origin: &Origin) -> Result<Config, ConfigError> {
    if !value.is_object() {
        return Err(origin.error(
            "",
            format!("[{}] must be a table", origin.kind.prefix()).replace("[]", "the file"),
            None,
        ));
    }
    check_keys(value, "", origin)?;
    let mut cfg = serde_path_to_error::deserialize::<_, Config>(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner().to_string();
        origin.error(
            &path,
            format!("invalid value for `{path}`: {inner}"),
            expected_for(&path, origin.kind),
        )
    })?;
    if let Some(map) = value.as_object() {
        for key in map.keys() {
            cfg.origins.insert(key.clone(), origin.clone());
        }
    }
    Ok(cfg)
}

/// A top-level key of winpkg.toml: one that means nothing for a prebuilt exe is an
/// error that says why; an unknown one suggests the closest of winpkg.toml's own keys.
fn standalone_key(key: &str, origin: &Origin) -> Result<(), ConfigError> {
    if let Some((_, why)) = keys::CARGO_ONLY_KEYS.iter().find(|(k, _)| *k == key) {
        return Err(origin.error(
            key,
            format!("`{key}` means nothing in winpkg.toml: {why}"),
            None,
        ));
    }
    let known = keys::standalone_top_keys();
    if known.contains(&key) {
        return Ok(());
    }
    let help = match closest(key, &known) {
        Some(k) => format!(
            "did you mean `{k}`? The valid keys here are: {}",
            known.join(", ")
        ),
        None => format!("the valid keys here are: {}", known.join(", ")),
    };
    Err(origin.error(key, format!("unknown key `{key}`"), Some(help)))
}

/// Walk the table against the known keys; the first unknown key is an error with the
/// closest valid key suggested.
fn check_keys(value: &Value, path: &str, origin: &Origin) -> Result<(), ConfigError> {
    let Some((known, children)) = schema_at(path) else {
        return Ok(());
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
        if path.is_empty() && origin.kind == OriginKind::Standalone {
            standalone_key(key, origin)?;
        } else if !known.contains(&key.as_str()) {
            let help = match closest(key, known) {
                Some(k) => format!(
                    "did you mean `{k}`? The valid keys here are: {}",
                    known.join(", ")
                ),
                None => format!("the valid keys here are: {}", known.join(", ")),
            };
            return Err(origin.error(&here, format!("unknown key `{key}`"), Some(help)));
        }
        match (children.iter().find(|(k, _)| k == key), child) {
            (Some((_, ChildKind::Table)), Value::Object(_)) => check_keys(child, &here, origin)?,
            (Some((_, ChildKind::ListOfTables)), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if item.is_object() {
                        check_keys(item, &format!("{here}[{i}]"), origin)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `merge!(self, defaults; field, ...)`: each field from the package, else from the
/// defaults, and the key's origin with it. The key is the field's name in kebab case
/// (as serde reads it), so it is spelled nowhere else; the struct literal makes the
/// compiler refuse a field left out.
macro_rules! merge {
    ($own:ident, $d:ident; $($field:ident),+ $(,)?) => {{
        let mut origins = BTreeMap::new();
        $(
            let key = stringify!($field).replace('_', "-");
            let from = if $own.$field.is_some() { &$own.origins } else { &$d.origins };
            if let Some(o) = from.get(&key) {
                origins.insert(key, o.clone());
            }
        )+
        Config {
            $( $field: $own.$field.or_else(|| $d.$field.clone()), )+
            origins,
        }
    }};
}

impl Config {
    /// Package values over workspace defaults, key by key.
    pub fn merged_over(self, defaults: &Config) -> Config {
        merge!(self, defaults;
            target,
            bin,
            crt_static,
            reproducible,
            min_windows,
            allow,
            deny,
            warn,
            allow_codes,
            dll_dirs,
            builder,
            exe_name,
            archive_name,
            root_dir,
            include,
            bundle_dlls,
            bundle_mingw_runtime,
            strip_bundled_dlls,
            host,
            service,
            version_info,
            app_manifest,
            sign,
            run_key,
            cli,
            task,
            msi,
            publish,
        )
    }

    /// Where `key` (relative, e.g. `service.start`) was set; for a key that is not set,
    /// `fallback` (the package's own table).
    pub fn origin_of<'a>(&'a self, key: &str, fallback: &'a Origin) -> &'a Origin {
        let top = key.split(['.', '[']).next().unwrap_or(key);
        self.origins.get(top).unwrap_or(fallback)
    }

    /// An error about `key`, at the table it was written in.
    pub fn error(
        &self,
        fallback: &Origin,
        key: &str,
        message: String,
        help: Option<String>,
    ) -> ConfigError {
        self.origin_of(key, fallback).error(key, message, help)
    }

    /// The check policy this configuration asks for. Values are validated here, with
    /// errors that name the key.
    pub fn policy(&self, fallback: &Origin) -> Result<Policy, ConfigError> {
        let mut policy = Policy::default();
        if let Some(v) = self.min_windows {
            policy.min_windows = v;
        }
        for (i, a) in self.allow.iter().flatten().enumerate() {
            if a.reason.trim().is_empty() {
                return Err(self.error(
                    fallback,
                    &format!("allow[{i}].reason"),
                    format!(
                        "the allow entry for `{}` needs a reason: say why the target has this DLL",
                        a.name
                    ),
                    None,
                ));
            }
            let rule = AllowRule::new(&a.name, Some(a.reason.clone())).map_err(|e| {
                self.error(fallback, &format!("allow[{i}].name"), e.to_string(), None)
            })?;
            policy.allow.push(rule);
        }
        for (list, level) in [
            (&self.deny, Level::Deny),
            (&self.warn, Level::Warn),
            (&self.allow_codes, Level::Allow),
        ] {
            for code in list.iter().flatten() {
                policy.levels.insert(*code, level);
            }
        }
        Ok(policy)
    }
}

impl<'de> Deserialize<'de> for Release {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origin(kind: OriginKind) -> Origin {
        Origin {
            kind,
            manifest: PathBuf::from("/nonexistent/Cargo.toml"),
        }
    }

    fn parse_str(v: Value) -> Result<Config, ConfigError> {
        parse(&v, &origin(OriginKind::Package))
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
    fn words_suggest_the_closest_word() {
        let e = parse_str(json!({"service": {"start": "atuo"}})).unwrap_err();
        assert_eq!(e.key, "package.metadata.winpkg.service.start");
        assert!(e.message.contains("did you mean `auto`?"), "{}", e.message);
        let e = parse_str(json!({"service": {"recovery": {"actions": ["restrat"]}}})).unwrap_err();
        assert_eq!(e.key, "package.metadata.winpkg.service.recovery.actions[0]");
        assert!(
            e.message.contains("did you mean `restart`?"),
            "{}",
            e.message
        );
        let e = parse_str(json!({"builder": "cargo-zig"})).unwrap_err();
        assert!(e.message.contains("cargo-zigbuild"), "{}", e.message);
    }

    #[test]
    fn merge_is_per_key_and_keeps_origins() {
        let ws = parse(
            &json!({"target": "ws", "min-windows": "8"}),
            &origin(OriginKind::Workspace),
        )
        .unwrap();
        let pkg = parse_str(json!({"target": "pkg"})).unwrap();
        let m = pkg.merged_over(&ws);
        assert_eq!(m.target.as_deref(), Some("pkg"));
        assert_eq!(m.min_windows, Some(Release::Win8));
        let fallback = origin(OriginKind::Package);
        assert_eq!(m.origin_of("target", &fallback).kind, OriginKind::Package);
        assert_eq!(
            m.origin_of("min-windows", &fallback).kind,
            OriginKind::Workspace
        );
    }
}
