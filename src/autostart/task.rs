//! A scheduled task: `[package.metadata.winpkg.task]` validated against the rules of the
//! Task Scheduler schema this tool can check, and written as Task Scheduler XML
//! (schema version 1.2, Windows 7 and later) for `schtasks /create /xml`.
//!
//! The XML holds `{dir}` where the install folder goes; the install scripts put the
//! folder in, XML-escaped. Every user string is XML-escaped here.

use serde::{Deserialize, Serialize};

use crate::script::XMLDIR_PLACEHOLDER;
use crate::script::cmd::{arg, fail_if, line, or_fail};
use crate::script::quote::{Unrepresentable, ps_literal};

use crate::autostart::service::parse_duration_ms;
use crate::config::{ConfigError, Origin, RunAs, TaskConfig, Trigger};
use crate::script::DIR_PLACEHOLDER;
use crate::script::quote::argv_folder_aware;

/// A validated scheduled task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub description: Option<String>,
    pub trigger: Trigger,
    /// Hour and minute, for the daily and hourly triggers.
    pub at: (u8, u8),
    /// For the logon trigger: only this user's logon.
    pub user: Option<String>,
    pub run_as: RunAs,
    pub highest: bool,
    pub restart_count: u32,
    pub restart_interval_ms: u64,
    /// None: no limit (`PT0S`).
    pub time_limit_ms: Option<u64>,
    /// The program's file name in the package.
    pub exe: String,
    pub args: Vec<String>,
}

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;

/// Validate the task table (`origin`: where it is written).
pub fn from_config(
    cfg: &TaskConfig,
    package: &str,
    description: Option<&str>,
    exe: &str,
    origin: &Origin,
) -> Result<Task, ConfigError> {
    let err = |key: &str, message: String| origin.error(&format!("task.{key}"), message, None);
    let name = cfg.name.clone().unwrap_or_else(|| package.to_string());
    if name.is_empty()
        || name.chars().count() > 238
        || name.trim() != name
        || name.contains(['\\', '/', ':', '*', '?', '"', '<', '>', '|'])
        || name.chars().any(char::is_control)
    {
        return Err(err(
            "name",
            format!(
                "`{name}` cannot name a task: 1-238 characters, none of \\ / : * ? \" < > |, no control characters, no spaces at the ends"
            ),
        ));
    }
    let description = cfg
        .description
        .clone()
        .or_else(|| description.map(String::from));
    if let Some(d) = description.as_deref() {
        crate::script::check_text(d).map_err(|e| err("description", e.describe().into()))?;
    }
    let (trigger, at, run_as) = schedule(cfg, &err)?;
    let restart_count = cfg.restart_count.unwrap_or(3);
    if restart_count > 999 {
        return Err(err(
            "restart-count",
            "Task Scheduler restarts a task at most 999 times".into(),
        ));
    }
    let restart_interval_ms = match &cfg.restart_interval {
        None => MINUTE_MS,
        Some(d) => parse_duration_ms(d).map_err(|e| err("restart-interval", e.0))?,
    };
    if !(MINUTE_MS..=31 * DAY_MS).contains(&restart_interval_ms) {
        return Err(err(
            "restart-interval",
            "Task Scheduler takes a restart interval from 1 minute to 31 days".into(),
        ));
    }
    let time_limit_ms = match cfg.time_limit.as_deref() {
        None | Some("none") => None,
        Some(d) => Some(parse_duration_ms(d).map_err(|e| err("time-limit", e.0))?),
    };
    let args = cfg.args.clone().unwrap_or_default();
    for (i, a) in args.iter().enumerate() {
        crate::script::check_text(a)
            .map_err(|e| err(&format!("args[{i}]"), e.describe().into()))?;
    }
    Ok(Task {
        name,
        description,
        trigger,
        at,
        user: cfg.user.clone(),
        run_as,
        highest: cfg.highest.unwrap_or(false),
        restart_count,
        restart_interval_ms,
        time_limit_ms,
        exe: exe.to_string(),
        args,
    })
}

/// The trigger, its time of day and the account, checked together.
fn schedule(
    cfg: &TaskConfig,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(Trigger, (u8, u8), RunAs), ConfigError> {
    let trigger = cfg.trigger.unwrap_or(Trigger::Boot);
    let at = match &cfg.at {
        None => (3, 0),
        Some(t) => parse_time(t).ok_or_else(|| {
            err(
                "at",
                format!("`{t}` is not a time of day: write \"HH:MM\", e.g. \"03:00\""),
            )
        })?,
    };
    if cfg.at.is_some() && !matches!(trigger, Trigger::Daily | Trigger::Hourly) {
        return Err(err(
            "at",
            "`at` is for the daily and hourly triggers".into(),
        ));
    }
    if cfg.user.is_some() && trigger != Trigger::Logon {
        return Err(err(
            "user",
            "`user` names whose logon starts the task: it needs trigger = \"logon\"".into(),
        ));
    }
    if let Some(u) = &cfg.user
        && (u.is_empty() || u.chars().any(char::is_control) || u.contains(['"', '<', '>']))
    {
        return Err(err("user", format!("`{u}` is not an account name")));
    }
    let run_as = cfg.run_as.unwrap_or(RunAs::System);
    if run_as == RunAs::User && trigger != Trigger::Logon {
        return Err(err(
            "run-as",
            "run-as = \"user\" runs in the session of the user who logs on: it needs trigger = \"logon\" (at boot and on a schedule there may be no one logged on)".into(),
        ));
    }
    Ok((trigger, at, run_as))
}

fn parse_time(t: &str) -> Option<(u8, u8)> {
    let (h, m) = t.split_once(':')?;
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && t.len() == 5).then_some((h, m))
}

/// An ISO 8601 duration as Task Scheduler writes them: `PT1M`, `PT1H30M`, `P2DT3H`.
pub fn iso_duration(ms: u64) -> String {
    let secs = ms / 1000;
    if secs == 0 {
        return "PT0S".into();
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::from("P");
    if d > 0 {
        out.push_str(&format!("{d}D"));
    }
    if h + m + s > 0 {
        out.push('T');
        for (n, u) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if n > 0 {
                out.push_str(&format!("{n}{u}"));
            }
        }
    }
    out
}

/// Text for XML element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

impl Task {
    /// The program's arguments as one command line (`{dir}` unexpanded), quoted for
    /// the program's argument parser.
    pub fn arguments(&self) -> String {
        self.args
            .iter()
            .map(|a| argv_folder_aware(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The Task Scheduler XML, one element per line, no indentation (so that each line
    /// can be written by a batch `echo`), `{dir}` standing for the XML-escaped install
    /// folder.
    pub fn xml(&self) -> Vec<String> {
        let e = xml_escape;
        let mut x = vec![
            // schtasks reads UTF-16 LE (or plain ANSI), not UTF-8: the scripts write it so.
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>".to_string(),
            "<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">".into(),
            "<RegistrationInfo>".into(),
        ];
        if let Some(d) = &self.description {
            x.push(format!("<Description>{}</Description>", e(d)));
        }
        // No <URI>: schtasks names the task from /tn and writes the URI itself, and a
        // name with `%` or `^` is no valid xs:anyURI, which the schema asks for.
        x.push("</RegistrationInfo>".into());
        x.push("<Triggers>".into());
        let start = format!("2000-01-01T{:02}:{:02}:00", self.at.0, self.at.1);
        match self.trigger {
            Trigger::Boot => x.push("<BootTrigger><Enabled>true</Enabled></BootTrigger>".into()),
            Trigger::Logon => x.push(format!(
                "<LogonTrigger><Enabled>true</Enabled>{}</LogonTrigger>",
                self.user
                    .as_deref()
                    .map(|u| format!("<UserId>{}</UserId>", e(u)))
                    .unwrap_or_default()
            )),
            Trigger::Daily => x.push(format!(
                "<CalendarTrigger><StartBoundary>{start}</StartBoundary><Enabled>true</Enabled><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>"
            )),
            Trigger::Hourly => x.push(format!(
                "<TimeTrigger><Repetition><Interval>PT1H</Interval><StopAtDurationEnd>false</StopAtDurationEnd></Repetition><StartBoundary>{start}</StartBoundary><Enabled>true</Enabled></TimeTrigger>"
            )),
        }
        x.push("</Triggers>".into());
        x.push("<Principals>".into());
        let level = if self.highest {
            "HighestAvailable"
        } else {
            "LeastPrivilege"
        };
        x.push(match self.run_as {
            RunAs::System => format!("<Principal id=\"Author\"><UserId>S-1-5-18</UserId><RunLevel>{level}</RunLevel></Principal>"),
            // Built-in service accounts by SID, with no LogonType: the schema's logonType
            // has no word for them (`ServiceAccount` is refused), and this is how
            // Windows exports its own tasks that run as these accounts.
            RunAs::LocalService => format!("<Principal id=\"Author\"><UserId>S-1-5-19</UserId><RunLevel>{level}</RunLevel></Principal>"),
            RunAs::NetworkService => format!("<Principal id=\"Author\"><UserId>S-1-5-20</UserId><RunLevel>{level}</RunLevel></Principal>"),
            // Builtin\Users: whoever logs on, in their own session.
            RunAs::User => format!("<Principal id=\"Author\"><GroupId>S-1-5-32-545</GroupId><RunLevel>{level}</RunLevel></Principal>"),
        });
        x.push("</Principals>".into());
        x.push("<Settings>".into());
        x.push("<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>".into());
        x.push("<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>".into());
        x.push("<StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>".into());
        x.push("<StartWhenAvailable>true</StartWhenAvailable>".into());
        x.push("<AllowStartOnDemand>true</AllowStartOnDemand>".into());
        x.push("<Enabled>true</Enabled>".into());
        x.push(format!(
            "<ExecutionTimeLimit>{}</ExecutionTimeLimit>",
            iso_duration(self.time_limit_ms.unwrap_or(0))
        ));
        if self.restart_count > 0 {
            x.push(format!(
                "<RestartOnFailure><Interval>{}</Interval><Count>{}</Count></RestartOnFailure>",
                iso_duration(self.restart_interval_ms),
                self.restart_count
            ));
        }
        x.push("</Settings>".into());
        x.push("<Actions Context=\"Author\">".into());
        x.push("<Exec>".into());
        x.push(format!(
            "<Command>{DIR_PLACEHOLDER}\\{}</Command>",
            e(&self.exe)
        ));
        if !self.args.is_empty() {
            x.push(format!("<Arguments>{}</Arguments>", e(&self.arguments())));
        }
        x.push(format!(
            "<WorkingDirectory>{DIR_PLACEHOLDER}</WorkingDirectory>"
        ));
        x.push("</Exec>".into());
        x.push("</Actions>".into());
        x.push("</Task>".into());
        x
    }
}

/// Write the task's XML (the install folder XML-escaped) to a temporary file, line by
/// line through FOR variables, and register it with schtasks.
pub(super) fn install(s: &mut String, t: &Task) -> Result<(), Unrepresentable> {
    s.push_str(&fail_if(
        "if \"%~dp0\"==\"%~d0\\\"",
        false,
        "extract the package into a folder, not the root of a drive",
        1,
    ));
    s.push_str("for %%Z in (\"%~dp0.\") do set \"WPK_XDIR=%%~fZ\"\nset \"WPK_XDIR=%WPK_XDIR:&=&amp;%\"\nset \"WPK_XML=%TEMP%\\winpkg-task-%RANDOM%%RANDOM%\"\ntype nul >\"%WPK_XML%.txt\"\n");
    for x in t.xml() {
        let x = x.replace(DIR_PLACEHOLDER, XMLDIR_PLACEHOLDER);
        s.push_str(&line(|v| {
            Ok(format!(">>\"%WPK_XML%.txt\" echo {}", v(&x)?))
        })?);
        s.push('\n');
    }
    // schtasks reads UTF-16 LE, not UTF-8: `cmd /u` writes UTF-16 LE, its `set /p`
    // the byte-order mark (U+FEFF, in this UTF-8 script), its `type` the body.
    s.push_str("cmd /u /c \"<nul set /p \"=\u{feff}\"\" >\"%WPK_XML%.bom\"\ncmd /u /c type \"%WPK_XML%.txt\" >\"%WPK_XML%.utf16\"\ncopy /b \"%WPK_XML%.bom\" + \"%WPK_XML%.utf16\" \"%WPK_XML%.xml\" >nul\n");
    or_fail(
        s,
        &line(|v| {
            Ok(format!(
                "schtasks /create /xml \"%WPK_XML%.xml\" /tn {} /f >\"%WPK_TMP%\" 2>&1",
                v(&arg(&t.name))?
            ))
        })?,
        "schtasks could not register the task",
    );
    s.push_str(
        "del \"%WPK_XML%.txt\" \"%WPK_XML%.bom\" \"%WPK_XML%.utf16\" \"%WPK_XML%.xml\" >nul 2>&1\n",
    );
    s.push_str(&line(|v| {
        Ok(format!("echo Task {} is registered", v(&t.name)?))
    })?);
    s.push('\n');
    Ok(())
}

pub(super) fn uninstall(s: &mut String, t: &Task) -> Result<(), Unrepresentable> {
    s.push_str(&line(|v| {
        Ok(format!(
            "schtasks /delete /tn {} /f >nul 2>&1",
            v(&arg(&t.name))?
        ))
    })?);
    s.push('\n');
    s.push_str(&line(|v| {
        Ok(format!("echo Task {} is removed", v(&t.name)?))
    })?);
    s.push('\n');
    Ok(())
}

/// The task's XML with the folder put in, written as UTF-16 (what schtasks expects),
/// registered and the file removed; or the task deleted.
pub(super) fn ps1(s: &mut String, t: &Task, install: bool) {
    s.push_str(&format!("$name = {}\n", ps_literal(&t.name)));
    let schtasks = "$schtasks = Join-Path $env:SystemRoot 'System32\\schtasks.exe'\n";
    s.push_str(schtasks);
    if install {
        let lines: Vec<String> = t.xml().iter().map(|l| ps_literal(l)).collect();
        s.push_str(&format!(
            "$xml = (@({}) -join \"`r`n\").Replace('{{dir}}', [Security.SecurityElement]::Escape($dir))\n",
            lines.join(", ")
        ));
        s.push_str("$file = Join-Path $env:TEMP ('winpkg-task-' + [guid]::NewGuid().ToString() + '.xml')\n[IO.File]::WriteAllText($file, $xml, [Text.Encoding]::Unicode)\n$p = Start-Process -FilePath $schtasks -ArgumentList ('/create /xml \"' + $file + '\" /tn \"' + $name + '\" /f') -NoNewWindow -Wait -PassThru\nRemove-Item -LiteralPath $file\nif ($p.ExitCode -ne 0) { throw \"schtasks could not register the task (exit code $($p.ExitCode))\" }\nWrite-Host \"Task $name is registered\"\n");
    } else {
        s.push_str("Start-Process -FilePath $schtasks -ArgumentList ('/delete /tn \"' + $name + '\" /f') -NoNewWindow -Wait | Out-Null\nWrite-Host \"Task $name is removed\"\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(iso_duration(0), "PT0S");
        assert_eq!(iso_duration(60_000), "PT1M");
        assert_eq!(iso_duration(5_400_000), "PT1H30M");
        assert_eq!(iso_duration(2 * DAY_MS + 3_600_000), "P2DT1H");
        assert_eq!(iso_duration(DAY_MS), "P1D");
        assert_eq!(parse_time("03:05"), Some((3, 5)));
        assert_eq!(parse_time("24:00"), None);
        assert_eq!(parse_time("3:00"), None);
        assert_eq!(xml_escape("a&<>\"'"), "a&amp;&lt;&gt;&quot;&apos;");
    }
}
