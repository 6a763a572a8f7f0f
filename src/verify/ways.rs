//! The ways to run a program other than a service, judged by what they leave on the
//! host: a command-line tool's folder on the PATH of its scope, a logon Run entry, a
//! scheduled task. Installed (`present`), each must be there as service.json says;
//! after uninstall.cmd or `msiexec /x`, gone. Shared by the zip's flow and the MSI's.

use std::time::Instant;

use super::host::Host;
use super::{CheckResult, Failed, Run, VerifyError};
use crate::autostart::Autostart;
use crate::autostart::task::{Task, xml_escape};
use crate::config::words::Scope;
use crate::script::DIR_PLACEHOLDER;

/// How the package was installed: the steps' names and what `{dir}` becomes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Installer {
    /// install.cmd and uninstall.cmd: `{dir}` is the folder.
    Scripts,
    /// msiexec: a `{dir}` not followed by `\` is `[INSTALLDIR].` (the folder and `\.`).
    Msi,
}

impl Installer {
    fn removal(self) -> &'static str {
        match self {
            Installer::Scripts => "uninstall.cmd",
            Installer::Msi => "/x",
        }
    }
}

/// Check the package's way to run (if it has one besides a service) after install
/// (`present`) or after uninstall.
pub(super) fn check_registered(
    run: &mut Run,
    host: &dyn Host,
    autostart: Option<&Autostart>,
    win_dir: &str,
    installer: Installer,
    present: bool,
) -> Result<(), VerifyError> {
    let Some(a) = autostart else {
        return Ok(());
    };
    let t = Instant::now();
    let after = |step: &str| match present {
        true => step.to_string(),
        false => format!("{step} after {}", installer.removal()),
    };
    match a {
        Autostart::Path { scope } => {
            let key = environment_key(*scope);
            let path = host.registry_value(key, "Path")?.unwrap_or_default();
            run.check(&after("PATH"), t, judge_path(&path, win_dir, *scope, present));
        }
        Autostart::RunKey {
            name,
            scope,
            exe,
            start_now,
            ..
        } => {
            let key = run_key(*scope);
            let stored = host.registry_value(&key, name)?;
            let wanted = expand_dir(&a.command_line().unwrap_or_default(), win_dir, installer);
            let mut result = judge_run_entry(stored.as_deref(), &wanted, name, present);
            if let (true, true, Ok(d)) = (present, *start_now, &mut result) {
                d.push_str(&started(host, exe));
            }
            // uninstall.cmd also ends the running copy (the MSI leaves it to the user).
            if result.is_ok() && !present && installer == Installer::Scripts {
                let left = wait_for(host, exe, false);
                if !left.is_empty() {
                    result = Err(Failed(format!(
                        "{exe} is still running (pid {left:?}) after uninstall.cmd"
                    )));
                }
            }
            run.check(&after("Run entry"), t, result);
        }
        Autostart::Task(task) if installer == Installer::Scripts => {
            let result = judge_task(host, task, win_dir, present)?;
            run.check(&after("task"), t, result);
        }
        Autostart::Task(task) if present => run.info(
            "task",
            t,
            format!(
                "the MSI does not register the task `{}` (Windows Installer has no table for tasks): install.cmd in the install folder does",
                task.name
            ),
        ),
        Autostart::Task(_) => {}
    }
    Ok(())
}

/// The processes of `exe`, polled for up to 5 s until there are some (`running`) or
/// none: a program started by `start` takes a moment to appear, an ended one can
/// linger a moment in the host's list. What is there when the wait ends.
fn wait_for(host: &dyn Host, exe: &str, running: bool) -> Vec<u32> {
    let t = Instant::now();
    loop {
        let pids = host.processes_running(exe);
        if pids.is_empty() != running || t.elapsed() > std::time::Duration::from_secs(5) {
            return pids;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// Whether the program a Run entry starts at install is running: said, not judged,
/// since a program that does its work and ends cannot be told from one that did not
/// start.
fn started(host: &dyn Host, exe: &str) -> String {
    match wait_for(host, exe, true).as_slice() {
        [] => format!("; started at install: {exe} is not running now (it may have ended)"),
        pids => format!("; started at install: {exe} is running (pid {pids:?})"),
    }
}

/// Before `msiexec /x` of an MSI with a Run entry: end the running copies of its
/// program, as a user does when Windows Installer asks to close it (the MSI does not
/// stop it; with `/qn` nobody is asked, and a file in use is left for the next reboot),
/// and say so.
pub(super) fn close_before_removal(
    run: &mut Run,
    host: &dyn Host,
    autostart: Option<&Autostart>,
) -> Result<(), VerifyError> {
    let Some(Autostart::RunKey { exe, .. }) = autostart else {
        return Ok(());
    };
    let t = Instant::now();
    let pids = host.processes_running(exe);
    if pids.is_empty() {
        return Ok(());
    }
    for pid in &pids {
        host.kill(*pid)?;
    }
    run.info(
        "closed before /x",
        t,
        format!(
            "ended {exe} (pid {pids:?}), as a user does when Windows Installer asks: the MSI does not stop the running copy"
        ),
    );
    Ok(())
}

/// `--here`: what of the package's registration already exists on this machine before
/// anything is installed (a Run entry or a task of its name), which verify must not
/// touch. A PATH entry is verify's own new folder: never there before.
#[cfg(windows)]
pub(super) fn taken(
    host: &dyn Host,
    autostart: Option<&Autostart>,
) -> Result<Option<String>, VerifyError> {
    Ok(match autostart {
        Some(Autostart::RunKey { name, scope, .. }) => {
            let key = run_key(*scope);
            host.registry_value(&key, name)?
                .map(|_| format!("a Run entry named `{name}` ({key})"))
        }
        Some(Autostart::Task(task)) => {
            task_stored(host, task)?.then(|| format!("a scheduled task named `{}`", task.name))
        }
        _ => None,
    })
}

/// `--here`: what is left registered after the flow (a failed step stopped it before
/// uninstall), in words; empty when nothing is.
#[cfg(windows)]
pub(super) fn left_registered(
    host: &dyn Host,
    autostart: Option<&Autostart>,
    win_dir: &str,
) -> Vec<String> {
    let mut left = Vec::new();
    match autostart {
        Some(Autostart::Path { scope }) if !win_dir.is_empty() => {
            let path = host.registry_value(environment_key(*scope), "Path");
            if judge_path(
                &path.ok().flatten().unwrap_or_default(),
                win_dir,
                *scope,
                true,
            )
            .is_ok()
            {
                left.push(format!("{win_dir} on the {scope} PATH"));
            }
        }
        Some(a @ Autostart::RunKey { .. }) | Some(a @ Autostart::Task(_)) => {
            if let Ok(Some(what)) = taken(host, Some(a)) {
                left.push(what);
            }
        }
        _ => {}
    }
    left
}

/// `--here`: the commands that remove the package's registration when the run stops
/// half-way (each a program and its arguments, no shell): the Run value, the task, and
/// for a zip installed in `win_dir`, its PATH entry through the package's own helper.
#[cfg(windows)]
pub(super) fn undo_commands(
    autostart: Option<&Autostart>,
    win_dir: Option<&str>,
) -> Vec<(String, Vec<String>)> {
    match (autostart, win_dir) {
        (Some(Autostart::RunKey { name, scope, .. }), _) => vec![(
            "reg.exe".into(),
            vec![
                "delete".into(),
                run_key(*scope),
                "/v".into(),
                name.clone(),
                "/f".into(),
            ],
        )],
        (Some(Autostart::Task(task)), _) => vec![(
            "schtasks.exe".into(),
            vec![
                "/delete".into(),
                "/tn".into(),
                task.name.clone(),
                "/f".into(),
            ],
        )],
        (Some(Autostart::Path { scope }), Some(dir)) => vec![(
            format!(
                "{dir}\\{}",
                crate::autostart::path::PATH_HELPER.replace('/', "\\")
            ),
            vec![
                "remove".into(),
                crate::autostart::path::scope_word(*scope).into(),
            ],
        )],
        _ => Vec::new(),
    }
}

/// The registry key that holds the PATH of `scope`.
fn environment_key(scope: Scope) -> &'static str {
    match scope {
        Scope::User => "HKEY_CURRENT_USER\\Environment",
        Scope::Machine => {
            "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control\\Session Manager\\Environment"
        }
    }
}

/// The Run key of `scope`.
fn run_key(scope: Scope) -> String {
    let hive = match scope {
        Scope::User => "HKEY_CURRENT_USER",
        Scope::Machine => "HKEY_LOCAL_MACHINE",
    };
    format!("{hive}\\Software\\Microsoft\\Windows\\CurrentVersion\\Run")
}

/// `line` with `{dir}` replaced by the install folder as `installer` writes it.
fn expand_dir(line: &str, win_dir: &str, installer: Installer) -> String {
    match installer {
        Installer::Scripts => line.replace(DIR_PLACEHOLDER, win_dir),
        Installer::Msi => {
            let sep = format!("{DIR_PLACEHOLDER}\\");
            line.replace(&sep, "\u{0}")
                .replace(DIR_PLACEHOLDER, &format!("{win_dir}\\."))
                .replace('\u{0}', &format!("{win_dir}\\"))
        }
    }
}

/// Whether `path` (a PATH value) holds `win_dir` as one of its entries (case and a
/// trailing backslash aside, as Windows compares them), as `present` wants.
fn judge_path(path: &str, win_dir: &str, scope: Scope, present: bool) -> CheckResult {
    let norm = |e: &str| e.trim().trim_end_matches('\\').to_lowercase();
    let on = path.split(';').any(|e| norm(e) == norm(win_dir));
    match (present, on) {
        (true, true) => Ok(format!("{win_dir} is on the {scope} PATH")),
        (true, false) => Err(Failed(format!(
            "{win_dir} is not on the {scope} PATH: `{path}`"
        ))),
        (false, false) => Ok(format!("{win_dir} is off the {scope} PATH")),
        (false, true) => Err(Failed(format!("{win_dir} is still on the {scope} PATH"))),
    }
}

/// The Run value `name` as stored, against the command line service.json promises.
fn judge_run_entry(stored: Option<&str>, wanted: &str, name: &str, present: bool) -> CheckResult {
    match (present, stored) {
        (true, Some(s)) if s == wanted => Ok(format!("`{name}` runs {s}")),
        (true, Some(s)) => Err(Failed(format!(
            "`{name}` holds {s}, not {wanted} as service.json says"
        ))),
        (true, None) => Err(Failed(format!("there is no Run entry `{name}`"))),
        (false, None) => Ok(format!("the Run entry `{name}` is gone")),
        (false, Some(s)) => Err(Failed(format!(
            "the Run entry `{name}` is still there: {s}"
        ))),
    }
}

/// The task as Task Scheduler holds it ([`task_stored`]), and on Windows its stored
/// action running the installed program.
fn judge_task(
    host: &dyn Host,
    task: &Task,
    win_dir: &str,
    present: bool,
) -> Result<CheckResult, VerifyError> {
    let name = &task.name;
    Ok(match (present, task_stored(host, task)?) {
        (true, false) => Err(Failed(format!("the task `{name}` is not registered"))),
        (false, false) => Ok(format!("the task `{name}` is gone")),
        (false, true) => Err(Failed(format!("the task `{name}` is still registered"))),
        (true, true) if host.is_wine() => Ok(format!(
            "`{name}` is registered ({}); Wine stores a task without its trigger and action, and runs none: what it would run is not judged here",
            task_file(host, task)
        )),
        (true, true) => task_action(host, task, win_dir),
    })
}

/// Task Scheduler's cache of registered tasks, one subkey a task (Windows).
const TASK_TREE: &str = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree";

/// Whether Task Scheduler holds the task: its file under System32\Tasks (all Wine
/// keeps), or on Windows its key in the task cache, which an administrator can read
/// where the file's ACL may not let one.
fn task_stored(host: &dyn Host, task: &Task) -> Result<bool, VerifyError> {
    let file = host
        .local(&task_file(host, task))
        .is_some_and(|p| p.exists());
    if file || host.is_wine() {
        return Ok(file);
    }
    Ok(host
        .registry_subkeys(TASK_TREE)?
        .iter()
        .any(|k| k.eq_ignore_ascii_case(&task.name)))
}

/// The stored task's action must run the installed program; when its XML cannot be
/// read, that is said rather than passed as judged.
fn task_action(host: &dyn Host, task: &Task, win_dir: &str) -> CheckResult {
    let (name, win) = (&task.name, task_file(host, task));
    let program = format!("{win_dir}\\{}", task.exe);
    let Some(bytes) = host.local(&win).and_then(|p| std::fs::read(p).ok()) else {
        return Ok(format!(
            "`{name}` is registered; its stored XML ({win}) cannot be read here, so what it runs is not judged"
        ));
    };
    let text = xml_text(&bytes);
    if text.contains(&program) || text.contains(&xml_escape(&program)) {
        Ok(format!("`{name}` is registered and runs {program}"))
    } else {
        Err(Failed(format!(
            "`{name}` is registered ({win}) but its action does not run {program}"
        )))
    }
}

/// Where Task Scheduler stores the task (a Windows path of the host).
fn task_file(host: &dyn Host, task: &Task) -> String {
    // Lower case, as Wine's folders are named (Windows compares without case).
    format!("{}\\system32\\tasks\\{}", host.system_root(), task.name)
}

/// A stored task's XML as text: UTF-16 LE (with or without its byte order mark) or
/// UTF-8.
fn xml_text(bytes: &[u8]) -> String {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || (bytes.len() > 1 && bytes[1] == 0);
    if utf16 {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_on_path_whatever_its_case_or_trailing_backslash() {
        let dir = "C:\\Tools (x86)\\cli";
        for path in [
            "C:\\a;C:\\Tools (x86)\\cli",
            "C:\\a;c:\\tools (X86)\\CLI\\;C:\\b",
            "C:\\TOOLS (X86)\\CLI;",
        ] {
            assert!(judge_path(path, dir, Scope::User, true).is_ok(), "{path}");
            assert!(judge_path(path, dir, Scope::User, false).is_err(), "{path}");
        }
        for path in [
            "",
            "C:\\a;C:\\Tools (x86)",
            "C:\\Tools (x86)\\cli\\sub;C:\\b",
        ] {
            assert!(judge_path(path, dir, Scope::User, true).is_err(), "{path}");
            assert!(judge_path(path, dir, Scope::User, false).is_ok(), "{path}");
        }
    }

    #[test]
    fn a_run_entry_must_hold_the_promised_command_line_exactly() {
        let a = Autostart::RunKey {
            name: "agent".into(),
            scope: Scope::User,
            exe: "agent.exe".into(),
            args: vec!["--data".into(), "{dir}".into(), "{dir}\\logs".into()],
            start_now: true,
        };
        let line = a.command_line().unwrap();
        let zip = expand_dir(&line, "C:\\A B", Installer::Scripts);
        assert_eq!(
            zip,
            "\"C:\\A B\\agent.exe\" --data \"C:\\A B\" \"C:\\A B\\logs\""
        );
        let msi = expand_dir(&line, "C:\\A B", Installer::Msi);
        assert_eq!(
            msi,
            "\"C:\\A B\\agent.exe\" --data \"C:\\A B\\.\" \"C:\\A B\\logs\""
        );
        assert!(judge_run_entry(Some(&zip), &zip, "agent", true).is_ok());
        let other = zip.replace("--data", "--date");
        let e = judge_run_entry(Some(&other), &zip, "agent", true).unwrap_err();
        assert!(e.0.contains("not \"C:\\A B\\agent.exe\""), "{}", e.0);
        assert!(judge_run_entry(None, &zip, "agent", true).is_err());
        assert!(judge_run_entry(None, &zip, "agent", false).is_ok());
        assert!(judge_run_entry(Some(&zip), &zip, "agent", false).is_err());
    }

    #[test]
    fn a_stored_task_reads_as_utf16_or_utf8() {
        let text = "<Command>C:\\A &amp; B\\x.exe</Command>";
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(xml_text(&utf16).trim_start_matches('\u{feff}'), text);
        let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(xml_text(&bare), text);
        assert_eq!(xml_text(text.as_bytes()), text);
    }
}
