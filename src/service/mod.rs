//! The Windows service a package installs: the validated model, and the files made
//! from it (service.json, install/uninstall scripts for cmd.exe and PowerShell).

pub mod cmd;
pub mod manifest;
pub mod ps1;
pub mod quote;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::config::{ActionConfig, ConfigError, ServiceConfig};

/// Replaced at install time by the folder the package was extracted to (no trailing
/// backslash).
pub const DIR_PLACEHOLDER: &str = "{dir}";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartType {
    Auto,
    DelayedAuto,
    Manual,
    Disabled,
}

impl StartType {
    /// The word `sc create start=` takes.
    pub fn sc(self) -> &'static str {
        match self {
            StartType::Auto => "auto",
            StartType::DelayedAuto => "delayed-auto",
            StartType::Manual => "demand",
            StartType::Disabled => "disabled",
        }
    }

    /// The `Start` value the registry ends up with (delayed-auto is auto + a flag).
    pub fn registry(self) -> u32 {
        match self {
            StartType::Auto | StartType::DelayedAuto => 2,
            StartType::Manual => 3,
            StartType::Disabled => 4,
        }
    }
}

/// The account the service runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorControl {
    Ignore,
    Normal,
    Severe,
    Critical,
}

impl ErrorControl {
    pub fn sc(self) -> &'static str {
        match self {
            ErrorControl::Ignore => "ignore",
            ErrorControl::Normal => "normal",
            ErrorControl::Severe => "severe",
            ErrorControl::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SidType {
    None,
    Unrestricted,
    Restricted,
}

impl SidType {
    pub fn sc(self) -> &'static str {
        match self {
            SidType::None => "none",
            SidType::Unrestricted => "unrestricted",
            SidType::Restricted => "restricted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Restart,
    Reboot,
    None,
}

impl Action {
    pub fn sc(self) -> &'static str {
        match self {
            Action::Restart => "restart",
            Action::Reboot => "reboot",
            Action::None => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveryAction {
    pub action: Action,
    pub delay_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Native: the exe runs the service dispatcher itself. Shawl: a console program run
/// by shawl.exe, which speaks to the service control manager for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Native,
    Shawl,
}

/// A validated service definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// A warning about a valid but risky choice, printed at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub key: String,
    pub message: String,
}

/// The error a native-mode service gets when its exe does not run the dispatcher.
pub const NOT_A_SERVICE: &str = "not-a-service";

/// Parse a duration: `500ms`, `10s`, `5m`, `2h`, `1d`, or a bare number of seconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!(
            "`{text}` is not a duration: write e.g. \"500ms\", \"10s\", \"5m\", \"2h\" or \"1d\""
        )
    })?;
    let mult = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use ms, s, m, h or d"
            ));
        }
    };
    n.checked_mul(mult)
        .filter(|ms| *ms <= u64::from(u32::MAX))
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

/// Validate `[package.metadata.winpkg.service]` for an exe that does (`Some(true)`) or
/// does not (`Some(false)`) run the service dispatcher; `None` before the exe is built
/// (every key is checked, the choice of mode is left open).
pub fn from_config(
    cfg: &ServiceConfig,
    exe: &str,
    dispatcher: Option<bool>,
    manifest: &Path,
) -> Result<(Service, Vec<Advice>), ConfigError> {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    let err = |key: &str, message: String, help: Option<String>| {
        let full = format!("package.metadata.winpkg.service.{key}");
        ConfigError::at(manifest, &text, full, message, help)
    };
    let mut advice = Vec::new();

    let name = cfg.name.clone().ok_or_else(|| {
        err(
            "name",
            "the service table needs a `name`: the service's key name, as `sc start NAME` takes it"
                .into(),
            Some("add name = \"my-service\" to [package.metadata.winpkg.service]".into()),
        )
    })?;
    check_service_name(&name).map_err(|m| err("name", m, None))?;
    let display_name = cfg.display_name.clone().unwrap_or_else(|| name.clone());
    check_text(&display_name, 256).map_err(|m| err("display-name", m, None))?;
    if let Some(d) = &cfg.description {
        check_text(d, 2048).map_err(|m| err("description", m, None))?;
    }
    let start = match cfg.start.as_deref().unwrap_or("auto") {
        "auto" => StartType::Auto,
        "delayed-auto" => StartType::DelayedAuto,
        "manual" => StartType::Manual,
        "disabled" => StartType::Disabled,
        other => {
            return Err(err(
                "start",
                format!("unknown start type `{other}`"),
                Some("use \"auto\", \"delayed-auto\", \"manual\" or \"disabled\"".into()),
            ));
        }
    };
    let args = cfg.args.clone().unwrap_or_default();
    for (i, a) in args.iter().enumerate() {
        check_arg(a).map_err(|m| err(&format!("args[{i}]"), m, None))?;
    }
    let env = cfg.env.clone().unwrap_or_default();
    for (k, v) in &env {
        if k.is_empty() || k.contains('=') || k.chars().any(char::is_control) {
            return Err(err(
                &format!("env.{k}"),
                format!(
                    "`{k}` is not a valid environment variable name: it must be non-empty, without `=` or control characters"
                ),
                None,
            ));
        }
        check_arg(v).map_err(|m| err(&format!("env.{k}"), m, None))?;
    }
    let account = parse_account(cfg.account.as_deref().unwrap_or("LocalService"))
        .map_err(|m| err("account", m, Some("use \"LocalService\" (the default), \"NetworkService\", \"virtual\", \"LocalSystem\", a gMSA \"DOMAIN\\\\name$\" or a user \"DOMAIN\\\\user\"".into())))?;
    if account == Account::LocalSystem {
        advice.push(Advice {
            key: "account".into(),
            message: "the service runs as LocalSystem, with full control of the machine; prefer \"LocalService\", \"NetworkService\" or \"virtual\" unless it needs that".into(),
        });
    }
    let depends_on = cfg.depends_on.clone().unwrap_or_default();
    for (i, d) in depends_on.iter().enumerate() {
        check_service_name(d).map_err(|m| err(&format!("depends-on[{i}]"), m, None))?;
    }
    let error_control = match cfg.error_control.as_deref().unwrap_or("normal") {
        "ignore" => ErrorControl::Ignore,
        "normal" => ErrorControl::Normal,
        "severe" => ErrorControl::Severe,
        "critical" => ErrorControl::Critical,
        other => {
            return Err(err(
                "error-control",
                format!("unknown error control `{other}`"),
                Some("use \"ignore\", \"normal\", \"severe\" or \"critical\"".into()),
            ));
        }
    };
    let sid_type = match cfg.sid_type.as_deref() {
        None => None,
        Some("none") => Some(SidType::None),
        Some("unrestricted") => Some(SidType::Unrestricted),
        Some("restricted") => Some(SidType::Restricted),
        Some(other) => {
            return Err(err(
                "sid-type",
                format!("unknown SID type `{other}`"),
                Some("use \"none\", \"unrestricted\" or \"restricted\"".into()),
            ));
        }
    };
    if account == Account::Virtual && sid_type == Some(SidType::None) {
        return Err(err(
            "sid-type",
            "a virtual account needs a service SID: sid-type cannot be \"none\"".into(),
            None,
        ));
    }
    let required_privileges = cfg.required_privileges.clone().unwrap_or_default();
    for (i, p) in required_privileges.iter().enumerate() {
        let ok = p.starts_with("Se")
            && p.ends_with("Privilege")
            && p.len() > 11
            && p.chars().all(|c| c.is_ascii_alphabetic());
        if !ok {
            return Err(err(
                &format!("required-privileges[{i}]"),
                format!("`{p}` is not a privilege name"),
                Some("privileges look like \"SeChangeNotifyPrivilege\"".into()),
            ));
        }
    }
    let dur = |key: &str, v: &Option<String>| -> Result<Option<u64>, ConfigError> {
        v.as_deref()
            .map(parse_duration_ms)
            .transpose()
            .map_err(|m| err(key, m, None))
    };
    let preshutdown_timeout_ms = dur("preshutdown-timeout", &cfg.preshutdown_timeout)?;
    let stop_timeout_ms = dur("stop-timeout", &cfg.stop_timeout)?;
    let recovery = match &cfg.recovery {
        None => Recovery::default_restart(),
        Some(r) => {
            let mut actions = Vec::new();
            for (i, a) in r.actions.iter().flatten().enumerate() {
                let (name, delay) = match a {
                    ActionConfig::Name(n) => (n.as_str(), None),
                    ActionConfig::Full { action, delay } => (action.as_str(), delay.as_deref()),
                };
                let action = match name {
                    "restart" => Action::Restart,
                    "reboot" => Action::Reboot,
                    "none" => Action::None,
                    other => {
                        return Err(err(
                            &format!("recovery.actions[{i}]"),
                            format!("unknown recovery action `{other}`"),
                            Some("use \"restart\", \"reboot\" or \"none\"".into()),
                        ));
                    }
                };
                let delay_ms = match delay {
                    Some(d) => parse_duration_ms(d)
                        .map_err(|m| err(&format!("recovery.actions[{i}].delay"), m, None))?,
                    None if action == Action::None => 0,
                    None => 5_000,
                };
                actions.push(RecoveryAction { action, delay_ms });
            }
            if actions.len() > 3 {
                advice.push(Advice {
                    key: "recovery.actions".into(),
                    message: "Windows shows only the first three recovery actions in the Services console; the rest still apply".into(),
                });
            }
            let reset_after_secs = match &r.reset_after {
                Some(d) => {
                    parse_duration_ms(d).map_err(|m| err("recovery.reset-after", m, None))? / 1000
                }
                None => 86_400,
            };
            Recovery {
                actions,
                reset_after_secs,
                on_non_crash_failure: r.on_non_crash_failure.unwrap_or(false),
            }
        }
    };
    let shawl_keys = cfg.working_dir.is_some() || stop_timeout_ms.is_some();
    let mode = match cfg.mode.as_deref() {
        None => match dispatcher {
            Some(true) => Mode::Native,
            Some(false) => Mode::Shawl,
            // Not built yet: do not reject shawl-only keys for a mode not chosen.
            None if shawl_keys => Mode::Shawl,
            None => Mode::Native,
        },
        Some("native") if dispatcher == Some(false) => {
            return Err(err(
                "mode",
                format!("{NOT_A_SERVICE}: `{exe}` does not run the service dispatcher (it imports no StartServiceCtrlDispatcherW/A), so Windows would stop it with error 1053 (\"the service did not respond to the start or control request in a timely fashion\") 30 seconds after every start"),
                Some("use mode = \"shawl\" to run this console program under the shawl service wrapper, or make it a native service with the windows-service crate".into()),
            ));
        }
        Some("native") => Mode::Native,
        Some("shawl") => Mode::Shawl,
        Some(other) => {
            return Err(err(
                "mode",
                format!("unknown mode `{other}`"),
                Some("use \"native\" (the exe is a service) or \"shawl\" (a console program wrapped by shawl)".into()),
            ));
        }
    };
    if let Some(wd) = &cfg.working_dir {
        check_arg(wd).map_err(|m| err("working-dir", m, None))?;
        if mode == Mode::Native {
            return Err(err(
                "working-dir",
                "the service control manager has no working directory setting: a native service starts in System32".into(),
                Some("remove working-dir and have the program change directory itself (`{dir}` in args can tell it the install folder), or use mode = \"shawl\", which sets it".into()),
            ));
        }
    }
    if stop_timeout_ms.is_some() && mode == Mode::Native {
        return Err(err(
            "stop-timeout",
            "stop-timeout is how long shawl waits for the program to exit; a native service decides that itself".into(),
            Some("remove it, or use mode = \"shawl\"".into()),
        ));
    }
    if mode == Mode::Shawl && dispatcher == Some(true) {
        advice.push(Advice {
            key: "mode".into(),
            message: format!(
                "`{exe}` runs the service dispatcher itself; mode = \"shawl\" wraps it anyway"
            ),
        });
    }
    Ok((
        Service {
            name,
            display_name,
            description: cfg.description.clone(),
            start,
            args,
            env,
            working_dir: cfg.working_dir.clone(),
            account,
            depends_on,
            error_control,
            sid_type,
            required_privileges,
            preshutdown_timeout_ms,
            stop_timeout_ms,
            recovery,
            mode,
            exe: exe.to_string(),
        },
        advice,
    ))
}

/// The SCM's rules for service key names (and what our scripts can write).
fn check_service_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a service name cannot be empty".into());
    }
    if name.chars().count() > 256 {
        return Err(format!(
            "`{name}` is longer than the 256 characters Windows allows for a service name"
        ));
    }
    if name.contains(['/', '\\']) {
        return Err(format!(
            "`{name}`: service names cannot contain `/` or `\\`"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a service name cannot contain line breaks or control characters".into());
    }
    if name.trim() != name {
        return Err(format!(
            "`{name}` starts or ends with white space, which sc.exe would drop"
        ));
    }
    Ok(())
}

fn check_text(text: &str, max: usize) -> Result<(), String> {
    if text.chars().count() > max {
        return Err(format!("longer than {max} characters"));
    }
    if text.contains(['\r', '\n']) {
        return Err("contains a line break, which sc.exe and install.cmd cannot pass on: write it on one line".into());
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err("contains control characters".into());
    }
    Ok(())
}

fn check_arg(arg: &str) -> Result<(), String> {
    if arg.contains(['\r', '\n']) {
        return Err("contains a line break: a Windows service's command line cannot carry one through install.cmd".into());
    }
    if arg.chars().any(|c| c.is_control() && c != '\t') {
        return Err("contains control characters".into());
    }
    Ok(())
}

fn parse_account(a: &str) -> Result<Account, String> {
    let lower = a.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "localsystem" | "nt authority\\system" | "system" => Account::LocalSystem,
        "localservice" | "nt authority\\localservice" => Account::LocalService,
        "networkservice" | "nt authority\\networkservice" => Account::NetworkService,
        "virtual" => Account::Virtual,
        _ => {
            check_text(a, 256)?;
            let user = a.rsplit(['\\', '@']).next().unwrap_or(a);
            if a.is_empty()
                || user.is_empty()
                || a.contains([
                    '"', '/', '[', ']', ':', ';', '|', '=', ',', '+', '*', '?', '<', '>',
                ])
            {
                return Err(format!("`{a}` is not an account name"));
            }
            if a.ends_with('$') {
                Account::Gmsa(a.to_string())
            } else {
                Account::User(a.to_string())
            }
        }
    })
}

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
            argv.push("--".into());
            argv.push(exe);
        }
    }
    argv.extend(svc.args.iter().cloned());
    // The program path is always quoted, even without spaces: an unquoted path with
    // spaces is the classic service hijack. So is every argument with the install
    // folder in it, which may hold spaces once expanded.
    let mut line = quote::argv_quoted(&argv[0]);
    for a in &argv[1..] {
        line.push(' ');
        if a.contains(DIR_PLACEHOLDER) {
            line.push_str(&quote::argv_quoted(a));
        } else {
            line.push_str(&quote::argv(a));
        }
    }
    line
}

/// The command line with `{dir}` replaced: what `sc qc` shows after installing into `dir`.
pub fn image_path(svc: &Service, dir: &str) -> String {
    image_path_template(svc).replace(DIR_PLACEHOLDER, dir)
}
