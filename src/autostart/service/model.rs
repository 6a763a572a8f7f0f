//! The validated service model: what install scripts create and service.json records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::script::quote;
use crate::script::{DIR_PLACEHOLDER, PROGRAMDATA_PLACEHOLDER};
// The words of the config that the model keeps as they are.
pub use crate::config::words::{Action, ErrorControl, Mode, SidType, StartType};

/// The account the service runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Account {
    LocalSystem,
    LocalService,
    NetworkService,
    /// `NT SERVICE\<service name>`: a per-service virtual account (Windows 7+).
    Virtual,
    /// A group managed service account (`DOMAIN\name$`): no password.
    Gmsa(String),
    /// A user account; its password is asked for at install time.
    User(String),
}

impl Account {
    /// How icacls names the account: well-known accounts by SID (`*S-1-5-19`), so the
    /// grant works in every Windows language.
    pub fn icacls_principal(&self, service: &str) -> String {
        match self {
            Account::LocalSystem => "*S-1-5-18".into(),
            Account::LocalService => "*S-1-5-19".into(),
            Account::NetworkService => "*S-1-5-20".into(),
            other => other.object_name(service),
        }
    }

    /// The name `sc obj=` / `New-Service -Credential` take.
    pub fn object_name(&self, service: &str) -> String {
        match self {
            Account::LocalSystem => "LocalSystem".into(),
            Account::LocalService => "NT AUTHORITY\\LocalService".into(),
            Account::NetworkService => "NT AUTHORITY\\NetworkService".into(),
            Account::Virtual => format!("NT SERVICE\\{service}"),
            Account::Gmsa(n) | Account::User(n) => n.clone(),
        }
    }

    pub fn needs_password(&self) -> bool {
        matches!(self, Account::User(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryAction {
    pub action: Action,
    pub delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// First, second and subsequent failures (the last repeats).
    pub actions: Vec<RecoveryAction>,
    pub reset_after_secs: u64,
    /// Also act when the service stops with an error instead of crashing.
    pub on_non_crash_failure: bool,
}

impl Recovery {
    /// Restart after 5 s, 5 s, then 30 s; forget failures after a day.
    pub fn default_restart() -> Recovery {
        Recovery {
            actions: vec![
                RecoveryAction {
                    action: Action::Restart,
                    delay_ms: 5_000,
                },
                RecoveryAction {
                    action: Action::Restart,
                    delay_ms: 5_000,
                },
                RecoveryAction {
                    action: Action::Restart,
                    delay_ms: 30_000,
                },
            ],
            reset_after_secs: 86_400,
            on_non_crash_failure: false,
        }
    }

    /// `sc failure ... actions=` text: `restart/5000/restart/5000/...`.
    pub fn sc_actions(&self) -> String {
        self.actions
            .iter()
            .map(|a| format!("{}/{}", a.action.sc(), a.delay_ms))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// A validated service definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub start: StartType,
    /// Arguments for the program; `{dir}` expands to the install folder.
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Working directory (shawl mode); `{dir}` expands; None = the install folder.
    pub working_dir: Option<String>,
    pub account: Account,
    pub depends_on: Vec<String>,
    pub error_control: ErrorControl,
    pub sid_type: Option<SidType>,
    pub required_privileges: Vec<String>,
    pub preshutdown_timeout_ms: Option<u64>,
    pub stop_timeout_ms: Option<u64>,
    pub recovery: Recovery,
    pub mode: Mode,
    /// The program's file name inside the package.
    pub exe: String,
    /// Folders the service writes (with `{dir}` / `{programdata}`): created at
    /// install and granted to its account (modify rights); kept at uninstall unless
    /// purged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_dirs: Vec<String>,
    /// The log folder: created and granted like `data_dirs`; shawl logs there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<String>,
    /// How shawl rotates and keeps its logs (shawl mode).
    #[serde(default, skip_serializing_if = "ShawlLog::is_default")]
    pub log: ShawlLog,
    /// The Event Log source registered at install (in the Application log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_source: Option<String>,
}

/// shawl's logging of a wrapped program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShawlLog {
    /// `daily`, `hourly` or `bytes=N`, as shawl's `--log-rotate` takes it.
    pub rotate: Option<String>,
    /// Rotated files to keep (`--log-retain`).
    pub retain: Option<u32>,
    /// false: shawl does not log the program's own output (`--no-log-cmd`).
    pub no_output: bool,
}

impl ShawlLog {
    pub fn is_default(&self) -> bool {
        *self == ShawlLog::default()
    }
}

impl Service {
    /// Every folder install creates and grants: the data folders, then the log folder.
    pub fn writable_dirs(&self) -> Vec<&str> {
        self.data_dirs
            .iter()
            .map(String::as_str)
            .chain(self.log_dir.as_deref())
            .collect()
    }
}

/// A warning about a valid but risky choice, printed at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub key: String,
    pub message: String,
}

/// The error a native-mode service gets when its exe does not run the dispatcher.
pub const NOT_A_SERVICE: &str = "not-a-service";

/// The command line the service runs, with `{dir}` standing for the install folder:
/// the program (or shawl and its options, then the program) and the arguments, each
/// quoted for the C runtime.
pub fn image_path_template(svc: &Service) -> String {
    let exe = format!("{DIR_PLACEHOLDER}\\{}", svc.exe);
    let mut argv: Vec<String> = Vec::new();
    match svc.mode {
        Mode::Native => argv.push(exe),
        Mode::Shawl => {
            argv.push(format!("{DIR_PLACEHOLDER}\\shawl.exe"));
            argv.push("run".into());
            argv.push("--name".into());
            argv.push(svc.name.clone());
            argv.push("--cwd".into());
            argv.push(
                svc.working_dir
                    .clone()
                    .unwrap_or_else(|| DIR_PLACEHOLDER.to_string()),
            );
            for (k, v) in &svc.env {
                argv.push("--env".into());
                argv.push(format!("{k}={v}"));
            }
            // Restarts are the SCM's job (recovery actions) unless there are none.
            if svc
                .recovery
                .actions
                .iter()
                .any(|a| a.action == Action::Restart)
            {
                argv.push("--restart".into());
                if let Some(first) = svc.recovery.actions.first() {
                    argv.push("--restart-delay".into());
                    argv.push(first.delay_ms.to_string());
                }
            } else {
                argv.push("--no-restart".into());
            }
            if let Some(t) = svc.stop_timeout_ms {
                argv.push("--stop-timeout".into());
                argv.push(t.to_string());
            }
            if let Some(d) = &svc.log_dir {
                argv.push("--log-dir".into());
                argv.push(d.clone());
            }
            if let Some(r) = &svc.log.rotate {
                argv.push("--log-rotate".into());
                argv.push(r.clone());
            }
            if let Some(n) = svc.log.retain {
                argv.push("--log-retain".into());
                argv.push(n.to_string());
            }
            if svc.log.no_output {
                argv.push("--no-log-cmd".into());
            }
            argv.push("--".into());
            argv.push(exe);
        }
    }
    argv.extend(svc.args.iter().cloned());
    // The program path is always quoted, even without spaces: an unquoted path with
    // spaces is the classic service hijack. So is every argument with the install
    // folder (or ProgramData) in it, which may hold spaces once expanded.
    let mut line = quote::argv_quoted(&argv[0]);
    for a in &argv[1..] {
        line.push(' ');
        line.push_str(&quote::argv_folder_aware(a));
    }
    line
}

/// The command line with `{dir}` replaced (and `{programdata}` with `C:\ProgramData`):
/// what `sc qc` shows after installing into `dir`.
pub fn image_path(svc: &Service, dir: &str) -> String {
    image_path_template(svc)
        .replace(DIR_PLACEHOLDER, dir)
        .replace(PROGRAMDATA_PLACEHOLDER, "C:\\ProgramData")
}
