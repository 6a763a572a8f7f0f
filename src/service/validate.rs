//! `[package.metadata.winpkg.service]` as written -> a validated [`Service`], with an
//! error that names the key and the line for every mistake.

use std::fmt;

use super::model::{
    Account, Action, Advice, ErrorControl, Mode, Recovery, RecoveryAction, Service, SidType,
    StartType,
};
use crate::config::{ConfigError, Origin, RecoveryConfig, ServiceConfig};

/// The error a native-mode service gets when its exe does not run the dispatcher.
pub const NOT_A_SERVICE: &str = "not-a-service";

/// Why a value is not acceptable (the key is added by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

fn invalid<T>(message: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(message.into()))
}

/// Parse a duration: `500ms`, `10s`, `5m`, `2h`, `1d`, or a bare number of seconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, Invalid> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let Ok(n) = num.parse::<u64>() else {
        return invalid(format!(
            "`{text}` is not a duration: write e.g. \"500ms\", \"10s\", \"5m\", \"2h\" or \"1d\""
        ));
    };
    let mult = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return invalid(format!(
                "unknown unit `{other}` in `{text}`: use ms, s, m, h or d"
            ));
        }
    };
    match n.checked_mul(mult).filter(|ms| *ms <= u64::from(u32::MAX)) {
        Some(ms) => Ok(ms),
        None => invalid(format!("`{text}` is too long a duration")),
    }
}

/// Errors at `[...service]` keys, at the table the service table was written in.
struct Keys<'a> {
    origin: &'a Origin,
}

impl Keys<'_> {
    fn err(&self, key: &str, message: String, help: Option<String>) -> ConfigError {
        self.origin.error(&format!("service.{key}"), message, help)
    }

    /// Map an [`Invalid`] to an error at `key`.
    fn at<'k>(&'k self, key: &'k str) -> impl Fn(Invalid) -> ConfigError + 'k {
        move |e| self.err(key, e.0, None)
    }
}

/// Validate `[package.metadata.winpkg.service]` (written in the table `origin`) for an
/// exe that does (`Some(true)`) or does not (`Some(false)`) run the service
/// dispatcher; `None` before the exe is built (every key is checked, the choice of
/// mode is left open).
pub fn from_config(
    cfg: &ServiceConfig,
    exe: &str,
    dispatcher: Option<bool>,
    origin: &Origin,
) -> Result<(Service, Vec<Advice>), ConfigError> {
    let keys = Keys { origin };
    let mut advice = Vec::new();
    let name = cfg.name.clone().ok_or_else(|| {
        keys.err(
            "name",
            "the service table needs a `name`: the service's key name, as `sc start NAME` takes it"
                .into(),
            Some("add name = \"my-service\" to [package.metadata.winpkg.service]".into()),
        )
    })?;
    check_service_name(&name).map_err(keys.at("name"))?;
    let display_name = cfg.display_name.clone().unwrap_or_else(|| name.clone());
    check_text(&display_name, 256).map_err(keys.at("display-name"))?;
    if let Some(d) = &cfg.description {
        check_text(d, 2048).map_err(keys.at("description"))?;
    }
    let args = cfg.args.clone().unwrap_or_default();
    for (i, a) in args.iter().enumerate() {
        check_arg(a).map_err(|e| keys.err(&format!("args[{i}]"), e.0, None))?;
    }
    let env = cfg.env.clone().unwrap_or_default();
    for (k, v) in &env {
        check_env(k, v).map_err(|e| keys.err(&format!("env.{k}"), e.0, None))?;
    }
    let account = account(&keys, cfg, &mut advice)?;
    let depends_on = cfg.depends_on.clone().unwrap_or_default();
    for (i, d) in depends_on.iter().enumerate() {
        check_service_name(d).map_err(|e| keys.err(&format!("depends-on[{i}]"), e.0, None))?;
    }
    if account == Account::Virtual && cfg.sid_type == Some(SidType::None) {
        return Err(keys.err(
            "sid-type",
            "a virtual account needs a service SID: sid-type cannot be \"none\"".into(),
            None,
        ));
    }
    let required_privileges = privileges(&keys, cfg)?;
    let dur = |key: &str, v: &Option<String>| -> Result<Option<u64>, ConfigError> {
        v.as_deref()
            .map(parse_duration_ms)
            .transpose()
            .map_err(|e| keys.err(key, e.0, None))
    };
    let preshutdown_timeout_ms = dur("preshutdown-timeout", &cfg.preshutdown_timeout)?;
    let stop_timeout_ms = dur("stop-timeout", &cfg.stop_timeout)?;
    let recovery = match &cfg.recovery {
        None => Recovery::default_restart(),
        Some(r) => recovery(&keys, r, &mut advice)?,
    };
    let mode = mode(&keys, cfg, exe, dispatcher, stop_timeout_ms, &mut advice)?;
    Ok((
        Service {
            name,
            display_name,
            description: cfg.description.clone(),
            start: cfg.start.unwrap_or(StartType::Auto),
            args,
            env,
            working_dir: cfg.working_dir.clone(),
            account,
            depends_on,
            error_control: cfg.error_control.unwrap_or(ErrorControl::Normal),
            sid_type: cfg.sid_type,
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

fn check_env(k: &str, v: &str) -> Result<(), Invalid> {
    if k.is_empty() || k.contains('=') || k.chars().any(char::is_control) {
        return invalid(format!(
            "`{k}` is not a valid environment variable name: it must be non-empty, without `=` or control characters"
        ));
    }
    check_arg(v)
}

fn account(
    keys: &Keys,
    cfg: &ServiceConfig,
    advice: &mut Vec<Advice>,
) -> Result<Account, ConfigError> {
    let account = parse_account(cfg.account.as_deref().unwrap_or("LocalService")).map_err(|e| {
        keys.err("account", e.0, Some("use \"LocalService\" (the default), \"NetworkService\", \"virtual\", \"LocalSystem\", a gMSA \"DOMAIN\\\\name$\" or a user \"DOMAIN\\\\user\"".into()))
    })?;
    if account == Account::LocalSystem {
        advice.push(Advice {
            key: "account".into(),
            message: "the service runs as LocalSystem, with full control of the machine; prefer \"LocalService\", \"NetworkService\" or \"virtual\" unless it needs that".into(),
        });
    }
    Ok(account)
}

fn privileges(keys: &Keys, cfg: &ServiceConfig) -> Result<Vec<String>, ConfigError> {
    let list = cfg.required_privileges.clone().unwrap_or_default();
    for (i, p) in list.iter().enumerate() {
        let ok = p.starts_with("Se")
            && p.ends_with("Privilege")
            && p.len() > 11
            && p.chars().all(|c| c.is_ascii_alphabetic());
        if !ok {
            return Err(keys.err(
                &format!("required-privileges[{i}]"),
                format!("`{p}` is not a privilege name"),
                Some("privileges look like \"SeChangeNotifyPrivilege\"".into()),
            ));
        }
    }
    Ok(list)
}

fn recovery(
    keys: &Keys,
    r: &RecoveryConfig,
    advice: &mut Vec<Advice>,
) -> Result<Recovery, ConfigError> {
    let mut actions = Vec::new();
    for (i, a) in r.actions.iter().flatten().enumerate() {
        let delay_ms = match &a.delay {
            Some(d) => parse_duration_ms(d)
                .map_err(|e| keys.err(&format!("recovery.actions[{i}].delay"), e.0, None))?,
            None if a.action == Action::None => 0,
            None => 5_000,
        };
        actions.push(RecoveryAction {
            action: a.action,
            delay_ms,
        });
    }
    if actions.len() > 3 {
        advice.push(Advice {
            key: "recovery.actions".into(),
            message: "Windows shows only the first three recovery actions in the Services console; the rest still apply".into(),
        });
    }
    let reset_after_secs = match &r.reset_after {
        Some(d) => parse_duration_ms(d).map_err(keys.at("recovery.reset-after"))? / 1000,
        None => 86_400,
    };
    Ok(Recovery {
        actions,
        reset_after_secs,
        on_non_crash_failure: r.on_non_crash_failure.unwrap_or(false),
    })
}

/// Native or shawl: as configured, else from whether the exe runs the dispatcher; and
/// the keys that only make sense in one mode.
fn mode(
    keys: &Keys,
    cfg: &ServiceConfig,
    exe: &str,
    dispatcher: Option<bool>,
    stop_timeout_ms: Option<u64>,
    advice: &mut Vec<Advice>,
) -> Result<Mode, ConfigError> {
    let shawl_keys = cfg.working_dir.is_some() || stop_timeout_ms.is_some();
    let mode = match cfg.mode {
        None => match dispatcher {
            Some(true) => Mode::Native,
            Some(false) => Mode::Shawl,
            // Not built yet: do not reject shawl-only keys for a mode not chosen.
            None if shawl_keys => Mode::Shawl,
            None => Mode::Native,
        },
        Some(Mode::Native) if dispatcher == Some(false) => {
            return Err(keys.err(
                "mode",
                format!("{NOT_A_SERVICE}: `{exe}` does not run the service dispatcher (it imports no StartServiceCtrlDispatcherW/A), so Windows would stop it with error 1053 (\"the service did not respond to the start or control request in a timely fashion\") 30 seconds after every start"),
                Some("remove mode = \"native\" (cargo winpkg then wraps the console program with shawl), or set mode = \"shawl\", or make it a native service with the windows-service crate".into()),
            ));
        }
        Some(m) => m,
    };
    if let Some(wd) = &cfg.working_dir {
        check_arg(wd).map_err(keys.at("working-dir"))?;
        if mode == Mode::Native {
            return Err(keys.err(
                "working-dir",
                "the service control manager has no working directory setting: a native service starts in System32".into(),
                Some("remove working-dir and have the program change directory itself (`{dir}` in args can tell it the install folder), or use mode = \"shawl\", which sets it".into()),
            ));
        }
    }
    if stop_timeout_ms.is_some() && mode == Mode::Native {
        return Err(keys.err(
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
    Ok(mode)
}

/// The SCM's rules for service key names (and what our scripts can write).
fn check_service_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty() {
        return invalid("a service name cannot be empty");
    }
    if name.chars().count() > 256 {
        return invalid(format!(
            "`{name}` is longer than the 256 characters Windows allows for a service name"
        ));
    }
    if name.contains(['/', '\\']) {
        return invalid(format!(
            "`{name}`: service names cannot contain `/` or `\\`"
        ));
    }
    if name.chars().any(char::is_control) {
        return invalid("a service name cannot contain line breaks or control characters");
    }
    if name.trim() != name {
        return invalid(format!(
            "`{name}` starts or ends with white space, which sc.exe would drop"
        ));
    }
    Ok(())
}

fn check_text(text: &str, max: usize) -> Result<(), Invalid> {
    if text.chars().count() > max {
        return invalid(format!("longer than {max} characters"));
    }
    if text.contains(['\r', '\n']) {
        return invalid(
            "contains a line break, which sc.exe and install.cmd cannot pass on: write it on one line",
        );
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return invalid("contains control characters");
    }
    Ok(())
}

fn check_arg(arg: &str) -> Result<(), Invalid> {
    if arg.contains(['\r', '\n']) {
        return invalid(
            "contains a line break: a Windows service's command line cannot carry one through install.cmd",
        );
    }
    if arg.chars().any(|c| c.is_control() && c != '\t') {
        return invalid("contains control characters");
    }
    Ok(())
}

fn parse_account(a: &str) -> Result<Account, Invalid> {
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
                return invalid(format!("`{a}` is not an account name"));
            }
            // A bare word is a misspelled built-in account far more often than a user:
            // users are written with their domain.
            if !a.contains(['\\', '@']) {
                const BUILT_IN: &[&str] =
                    &["LocalService", "NetworkService", "LocalSystem", "virtual"];
                let lower_choices: Vec<String> =
                    BUILT_IN.iter().map(|c| c.to_ascii_lowercase()).collect();
                let refs: Vec<&str> = lower_choices.iter().map(String::as_str).collect();
                let hint = crate::words::closest(&lower, &refs)
                    .and_then(|c| BUILT_IN.iter().find(|b| b.eq_ignore_ascii_case(c)))
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                return invalid(format!(
                    "`{a}` is not a built-in account; {hint}a user account is written with its domain: \"DOMAIN\\\\user\", \".\\\\user\" (this machine) or \"user@domain\""
                ));
            }
            if a.ends_with('$') {
                Account::Gmsa(a.to_string())
            } else {
                Account::User(a.to_string())
            }
        }
    })
}
