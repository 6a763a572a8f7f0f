//! `[package.metadata.winpkg.service]` as written -> a validated [`Service`], with an
//! error that names the key and the line for every mistake.

use std::fmt;

use super::model::{
    Account, Action, Advice, ErrorControl, Mode, Recovery, RecoveryAction, Service, ShawlLog,
    SidType, StartType,
};
use crate::config::{ConfigError, EventLogConfig, Origin, RecoveryConfig, ServiceConfig};
use crate::script::{DIR_PLACEHOLDER, PROGRAMDATA_PLACEHOLDER};

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
/// mode is left open). The same as [`validate`] then [`settle`].
pub fn from_config(
    cfg: &ServiceConfig,
    exe: &str,
    dispatcher: Option<bool>,
    origin: &Origin,
) -> Result<(Service, Vec<Advice>), ConfigError> {
    let (mut svc, mut advice) = validate(cfg, exe, origin)?;
    advice.extend(settle(&mut svc, cfg, dispatcher, origin)?);
    Ok((svc, advice))
}

/// Settle what depends on the built exe: the mode (native when it runs the service
/// dispatcher, shawl when not, unless the table says), and the keys that belong to one
/// mode (working-dir, stop-timeout, shawl's log settings). The other rules ran once, in
/// [`validate`]. `dispatcher` is `None` before the build: the choice stays open.
pub fn settle(
    svc: &mut Service,
    cfg: &ServiceConfig,
    dispatcher: Option<bool>,
    origin: &Origin,
) -> Result<Vec<Advice>, ConfigError> {
    let keys = Keys { origin };
    let mut advice = Vec::new();
    svc.mode = mode(
        &keys,
        cfg,
        &svc.exe,
        dispatcher,
        svc.stop_timeout_ms,
        &mut advice,
    )?;
    let folders = folders(&keys, cfg, svc.mode, &mut advice)?;
    if let Some(a) = shawl_log_advice(svc, folders.log_dir.as_deref()) {
        advice.push(a);
    }
    svc.data_dirs = folders.data_dirs;
    svc.log_dir = folders.log_dir;
    svc.log = folders.log;
    svc.event_source = folders.event_source;
    Ok(advice)
}

/// Every rule of the service table that does not depend on the built exe, once; the
/// mode and the folders are settled by [`settle`].
pub fn validate(
    cfg: &ServiceConfig,
    exe: &str,
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
    relative_paths(&args, &env, &mut advice);
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
            // Settled by `settle`.
            mode: Mode::Native,
            exe: exe.to_string(),
            data_dirs: Vec::new(),
            log_dir: None,
            log: ShawlLog::default(),
            event_source: None,
        },
        advice,
    ))
}

/// `data-dirs`, `log-dir`, shawl's log settings and the event source, validated.
struct Folders {
    data_dirs: Vec<String>,
    log_dir: Option<String>,
    log: ShawlLog,
    event_source: Option<String>,
}

fn folders(
    keys: &Keys,
    cfg: &ServiceConfig,
    mode: Mode,
    advice: &mut Vec<Advice>,
) -> Result<Folders, ConfigError> {
    let data_dirs = cfg.data_dirs.clone().unwrap_or_default();
    for (i, d) in data_dirs.iter().enumerate() {
        check_folder(d)
            .map_err(|e| keys.err(&format!("data-dirs[{i}]"), e.0, Some(FOLDER_HELP.into())))?;
    }
    if let Some(d) = &cfg.log_dir {
        check_folder(d).map_err(|e| keys.err("log-dir", e.0, Some(FOLDER_HELP.into())))?;
    }
    let rotate = cfg
        .log_rotate
        .as_deref()
        .map(parse_rotate)
        .transpose()
        .map_err(keys.at("log-rotate"))?;
    let log = ShawlLog {
        rotate,
        retain: cfg.log_retain,
        no_output: cfg.log_output == Some(false),
    };
    if mode == Mode::Native && !log.is_default() {
        advice.push(Advice {
            key: "service.log-rotate".into(),
            message: "log-rotate, log-retain and log-output set how shawl logs a wrapped program; this exe is a native service and keeps its own logs, so they do nothing".into(),
        });
    }
    let event_source = match &cfg.event_log {
        None | Some(EventLogConfig::On(false)) => None,
        Some(EventLogConfig::On(true)) => cfg.name.clone(),
        Some(EventLogConfig::Source(s)) => {
            check_service_name(s).map_err(keys.at("event-log"))?;
            Some(s.clone())
        }
    };
    Ok(Folders {
        data_dirs,
        log_dir: cfg.log_dir.clone(),
        log,
        event_source,
    })
}

/// shawl logs beside shawl.exe unless given a folder: an account other than
/// LocalSystem cannot write in an install folder under Program Files (the MSI's, and
/// where admins extract a zip), and shawl then drops the log, the program's output
/// with it, without a word.
fn shawl_log_advice(svc: &Service, log_dir: Option<&str>) -> Option<Advice> {
    if svc.mode != Mode::Shawl || log_dir.is_some() || svc.account == Account::LocalSystem {
        return None;
    }
    Some(Advice {
        key: "service.log-dir".into(),
        message: format!(
            "shawl writes its log (the program's output with it) beside shawl.exe, where {} cannot write when the package is installed under Program Files (the MSI's folder): the log is lost there. Set log-dir = \"{{programdata}}\\\\{}\\\\logs\" (created and granted to the account at install)",
            svc.account.object_name(&svc.name),
            svc.name
        ),
    })
}

const FOLDER_HELP: &str = "write an absolute Windows path, usually under {programdata} (the machine's ProgramData folder) or {dir} (the install folder), e.g. \"{programdata}\\\\my-service\\\\data\"";

/// A folder the install creates: absolute (a drive, `{dir}` or `{programdata}`), no
/// `..`, no characters Windows forbids in paths, no trailing backslash.
fn check_folder(d: &str) -> Result<(), Invalid> {
    check_text(d, 240)?;
    let rest = if let Some(r) = d
        .strip_prefix(DIR_PLACEHOLDER)
        .or_else(|| d.strip_prefix(PROGRAMDATA_PLACEHOLDER))
    {
        r
    } else {
        let b = d.as_bytes();
        if !(b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\') {
            return invalid(format!(
                "`{d}` is not an absolute folder: a service starts in C:\\Windows\\System32, so a relative folder lands there"
            ));
        }
        &d[2..]
    };
    if !(rest.is_empty() || rest.starts_with('\\')) {
        return invalid(format!("`{d}`: put a backslash after the placeholder"));
    }
    if rest.ends_with('\\') || rest.ends_with('/') {
        return invalid(format!("`{d}` ends with a backslash: leave it out"));
    }
    if rest.split(['\\', '/']).any(|c| c == ".." || c == ".") {
        return invalid(format!("`{d}` contains `.` or `..` folders"));
    }
    if rest.contains(['"', '<', '>', '|', '?', '*', ':', '%', '{', '}']) {
        return invalid(format!(
            "`{d}` contains a character Windows does not allow in a folder name (\" < > | ? * :), or a %, {{ or }} outside the placeholders"
        ));
    }
    Ok(())
}

/// `daily`, `hourly`, or a size (`10MiB`, `500KiB`, `1MB`, bytes) -> shawl's words.
fn parse_rotate(r: &str) -> Result<String, Invalid> {
    let t = r.trim().to_ascii_lowercase();
    if t == "daily" || t == "hourly" {
        return Ok(t);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "kb" | "kib" | "k" => 1024,
        "mb" | "mib" | "m" => 1024 * 1024,
        "gb" | "gib" | "g" => 1024 * 1024 * 1024,
        _ => {
            return invalid(format!(
                "`{r}` is not \"daily\", \"hourly\" or a size such as \"10MiB\""
            ));
        }
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(n) if n > 0 => Ok(format!("bytes={n}")),
        _ => invalid(format!("`{r}` is not a size shawl can rotate at")),
    }
}

/// Arguments and environment values that look like relative paths: a native service
/// starts in C:\Windows\System32, so `config.toml` is looked for there.
fn relative_paths(
    args: &[String],
    env: &std::collections::BTreeMap<String, String>,
    advice: &mut Vec<Advice>,
) {
    let values = args
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("service.args[{i}]"), a))
        .chain(env.iter().map(|(k, v)| (format!("service.env.{k}"), v)));
    for (key, value) in values {
        // `--config=conf.toml`: the part after `=`.
        let v = value.rsplit_once('=').map_or(value.as_str(), |(_, r)| r);
        if looks_relative(v) {
            advice.push(relative_advice(key, value, v));
        }
    }
}

/// The advice for a relative path `v` in `value`: where a service starts, and the
/// path to write instead (`./public` and `.\\public` become `{dir}\\public`).
fn relative_advice(key: String, value: &str, v: &str) -> Advice {
    let inside = v
        .strip_prefix("./")
        .or_else(|| v.strip_prefix(".\\"))
        .unwrap_or(v)
        .replace('/', "\\");
    Advice {
        key,
        message: format!(
            "`{value}` looks like a relative path, but a service starts in C:\\Windows\\System32, not in its folder: write {{dir}}\\{inside} (the install folder) or {{programdata}}\\... instead"
        ),
    }
}

/// Arguments and environment values that name, as a bare word, a file or folder the
/// package ships (`public` for an included `public/` folder): relative to System32 when
/// the service runs, so not found. `shipped` holds the package's top-level names.
pub fn names_shipped(svc: &Service, shipped: &[String]) -> Vec<Advice> {
    let values = svc
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("service.args[{i}]"), a))
        .chain(svc.env.iter().map(|(k, v)| (format!("service.env.{k}"), v)));
    values
        .filter_map(|(key, value)| {
            let v = value.rsplit_once('=').map_or(value.as_str(), |(_, r)| r);
            let names_one = shipped.iter().any(|s| s.eq_ignore_ascii_case(v));
            (names_one && !looks_relative(v) && !v.starts_with('-'))
                .then(|| relative_advice(key, value, v))
        })
        .collect()
}

/// Does `v` (or the part after `=` in `--flag=v`) look like a relative path?
pub fn looks_relative(v: &str) -> bool {
    let v = v.rsplit_once('=').map_or(v, |(_, r)| r);
    if v.is_empty()
        || v.starts_with('-')
        || v.contains(DIR_PLACEHOLDER)
        || v.contains(PROGRAMDATA_PLACEHOLDER)
    {
        return false;
    }
    let b = v.as_bytes();
    let absolute = (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
        || v.starts_with('\\')
        || v.starts_with('/')
        || v.starts_with('%')
        || v.contains("://");
    if absolute || v.contains(char::is_whitespace) {
        return false;
    }
    let dotted = v.starts_with(".\\") || v.starts_with("./") || v.starts_with("..");
    let ext = v
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| {
            [
                "toml", "json", "yaml", "yml", "ini", "conf", "cfg", "log", "db", "sqlite", "txt",
                "xml", "pem", "key", "crt",
            ]
            .contains(&e.as_str())
        });
    dotted || ext.is_some() || (v.contains(['\\', '/']) && !v.contains(' '))
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
    check_arg(text)
}

/// The script toolkit's one rule for text ([`crate::script::check_text`]).
fn check_arg(arg: &str) -> Result<(), Invalid> {
    crate::script::check_text(arg).or_else(|e| invalid(e.describe()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OriginKind;

    fn origin() -> Origin {
        Origin {
            kind: OriginKind::Package,
            manifest: "/nonexistent/Cargo.toml".into(),
        }
    }

    fn with(f: impl FnOnce(&mut ServiceConfig)) -> Result<(Service, Vec<Advice>), ConfigError> {
        let mut cfg = ServiceConfig {
            name: Some("svc".into()),
            ..ServiceConfig::default()
        };
        f(&mut cfg);
        from_config(&cfg, "svc.exe", Some(false), &origin())
    }

    #[test]
    fn folders_must_be_absolute_and_clean() {
        for bad in [
            "data",
            ".\\data",
            "{programdata}data",
            "{programdata}\\a\\..\\b",
            "C:\\a\\",
            "{dir}\\a<b",
            "{dir}\\%TEMP%",
        ] {
            let e = with(|c| c.data_dirs = Some(vec![bad.into()])).unwrap_err();
            assert_eq!(
                e.key, "package.metadata.winpkg.service.data-dirs[0]",
                "{bad}"
            );
        }
        let e = with(|c| c.log_dir = Some("logs".into())).unwrap_err();
        assert!(e.message.contains("System32"), "{}", e.message);
        let (s, _) = with(|c| {
            c.data_dirs = Some(vec!["{programdata}\\x y & z\\d".into(), "D:\\svc".into()]);
            c.log_dir = Some("{dir}\\logs".into());
        })
        .unwrap();
        assert_eq!(
            s.writable_dirs(),
            ["{programdata}\\x y & z\\d", "D:\\svc", "{dir}\\logs"]
        );
    }

    #[test]
    fn a_wrapped_program_under_a_limited_account_is_told_where_shawl_can_log() {
        let log_advice = |f: fn(&mut ServiceConfig), dispatcher: bool| {
            let mut cfg = ServiceConfig {
                name: Some("svc".into()),
                ..ServiceConfig::default()
            };
            f(&mut cfg);
            let (_, advice) = from_config(&cfg, "svc.exe", Some(dispatcher), &origin()).unwrap();
            advice
                .into_iter()
                .find(|a| a.key == "service.log-dir")
                .map(|a| a.message)
        };
        for account in ["LocalService", "NetworkService", "virtual"] {
            let mut cfg = ServiceConfig {
                name: Some("svc".into()),
                account: Some(account.into()),
                ..ServiceConfig::default()
            };
            let (_, advice) = from_config(&cfg, "svc.exe", Some(false), &origin()).unwrap();
            let said = advice.iter().find(|a| a.key == "service.log-dir");
            let said = said.map(|a| a.message.as_str()).unwrap_or_default();
            assert!(
                said.contains("log-dir = \"{programdata}\\\\svc\\\\logs\""),
                "{account}: {said}"
            );
            cfg.log_dir = Some("{programdata}\\svc\\logs".into());
            let (_, advice) = from_config(&cfg, "svc.exe", Some(false), &origin()).unwrap();
            assert!(
                advice.iter().all(|a| a.key != "service.log-dir"),
                "{account}"
            );
        }
        // LocalSystem writes anywhere; a native service keeps its own logs.
        assert!(
            log_advice(|_| {}, false).is_some(),
            "LocalService is the default"
        );
        assert_eq!(
            log_advice(|c| c.account = Some("LocalSystem".into()), false),
            None
        );
        assert_eq!(
            log_advice(|c| c.account = Some("LocalService".into()), true),
            None
        );
    }

    #[test]
    fn shawl_log_settings_map_to_its_flags() {
        let (s, _) = with(|c| {
            c.log_dir = Some("{programdata}\\svc\\logs".into());
            c.log_rotate = Some("10MiB".into());
            c.log_retain = Some(3);
            c.log_output = Some(false);
        })
        .unwrap();
        assert_eq!(s.mode, Mode::Shawl);
        let line = super::super::image_path_template(&s);
        assert!(
            line.contains("--log-dir \"{programdata}\\svc\\logs\" --log-rotate bytes=10485760 --log-retain 3 --no-log-cmd"),
            "{line}"
        );
        assert_eq!(parse_rotate("Daily"), Ok("daily".into()));
        assert!(parse_rotate("weekly").is_err());
        assert!(parse_rotate("0").is_err());
        // A native service keeps its own logs: the settings get a warning.
        let mut cfg = ServiceConfig {
            name: Some("svc".into()),
            log_rotate: Some("daily".into()),
            ..ServiceConfig::default()
        };
        let (_, advice) = from_config(&cfg, "svc.exe", Some(true), &origin()).unwrap();
        assert!(advice.iter().any(|a| a.message.contains("native service")));
        cfg.event_log = Some(EventLogConfig::Source("a\\b".into()));
        let e = from_config(&cfg, "svc.exe", Some(true), &origin()).unwrap_err();
        assert_eq!(e.key, "package.metadata.winpkg.service.event-log");
    }

    #[test]
    fn relative_paths_in_arguments_are_pointed_out() {
        let (_, advice) = with(|c| {
            c.args = Some(vec![
                "--config".into(),
                "config.toml".into(),
                "--data=.\\data".into(),
                "--verbose".into(),
                "{dir}\\ok.toml".into(),
                "C:\\abs\\x.toml".into(),
                "https://example.com/a.json".into(),
                "hello world.txt".into(),
            ]);
            c.env = Some([("DB".to_string(), "state/app.db".to_string())].into());
        })
        .unwrap();
        let keys: Vec<&str> = advice
            .iter()
            .filter(|a| a.message.contains("relative path"))
            .map(|a| a.key.as_str())
            .collect();
        assert_eq!(
            keys,
            ["service.args[1]", "service.args[2]", "service.env.DB"]
        );
        // The way to write it: inside the install folder, without `.\`.
        assert!(
            advice[1]
                .message
                .contains("write {dir}\\data (the install folder)"),
            "{}",
            advice[1].message
        );
    }

    #[test]
    fn a_bare_word_naming_a_shipped_folder_is_pointed_out() {
        let (svc, _) = with(|c| {
            c.args = Some(vec!["--root".into(), "public".into(), "--port=8787".into()]);
        })
        .unwrap();
        let advice = names_shipped(&svc, &["public".to_string(), "app.exe".to_string()]);
        assert_eq!(advice.len(), 1, "{advice:?}");
        assert_eq!(advice[0].key, "service.args[1]");
        assert!(
            advice[0].message.contains("write {dir}\\public"),
            "{}",
            advice[0].message
        );
        assert!(names_shipped(&svc, &["other".to_string()]).is_empty());
    }
}
