//! Every way a package's program runs on Windows, one module each: a service
//! ([`service`]), a scheduled task ([`task`]), a logon Run key ([`run_key`]) and a
//! command-line tool on PATH ([`path`]). A package runs one way: the rule lives here
//! ([`one_way`]). Each way gets install/uninstall scripts for cmd.exe and PowerShell,
//! written with the script toolkit ([`crate::script`]): user strings reach commands only
//! through FOR variables (cmd) or single-quoted literals (PowerShell).

pub mod path;
pub mod run_key;
pub mod service;
pub mod task;

use serde::{Deserialize, Serialize};

pub use crate::config::Scope;
use crate::config::{CliConfig, ConfigError, Origin, RunKeyConfig, TaskConfig};
use crate::script::cmd::{ADMIN_CHECK, BASE_HEADER, FOOTER, ascii_comment};
use crate::script::crlf;
use crate::script::quote::Unrepresentable;
pub use path::{PATH_HELPER, path_helper};
use task::Task;

/// How the package's program starts, when it is not a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Autostart {
    /// At every logon, from `HKCU`/`HKLM ...\CurrentVersion\Run`.
    RunKey {
        /// The Run value's name.
        name: String,
        scope: Scope,
        /// The program's file name in the package.
        exe: String,
        /// Arguments; `{dir}` becomes the install folder.
        args: Vec<String>,
        /// Also start it when installing.
        start_now: bool,
    },
    /// A command-line tool: the install folder goes on PATH.
    Path { scope: Scope },
    /// A scheduled task, registered from Task Scheduler XML.
    Task(Task),
}

impl Autostart {
    /// Where it is registered: a task for another account is the machine's.
    fn scope(&self) -> Scope {
        match self {
            Autostart::RunKey { scope, .. } | Autostart::Path { scope } => *scope,
            // Registering a task for another account needs administrator rights.
            Autostart::Task(_) => Scope::Machine,
        }
    }
}

/// A package starts its program one way. `declared`: for each way-to-run table the
/// config has (`service`, `task`, `run-key`, `cli.path`), an error pointing at it. With
/// two or more, the error is at the one written last (a member's table after one it
/// inherits from the workspace, else the later line) and names both.
pub fn one_way(mut declared: Vec<ConfigError>) -> Result<(), ConfigError> {
    if declared.len() < 2 {
        return Ok(());
    }
    declared.sort_by_key(|e| (e.key.starts_with("package."), e.line));
    let table = |e: &ConfigError| match e.key.strip_suffix(".path") {
        Some(cli) => format!("[{cli}] path"),
        None => format!("[{}]", e.key),
    };
    let place = |e: &ConfigError| match e.line {
        Some(l) => format!("{} (line {l})", table(e)),
        None => table(e),
    };
    let mut second = declared.swap_remove(1);
    let first = &declared[0];
    second.message = format!(
        "a package starts its program one way, but {} and {} (here) both say how",
        place(first),
        table(&second)
    );
    second.help = Some(format!(
        "keep one of {} and {} (see the table of ways to run in the book, docs/src/ways-to-run.md)",
        table(first),
        table(&second)
    ));
    Err(second)
}

/// Validate `[package.metadata.winpkg.run-key]`, `[...task]` and `[...cli]` (at most one
/// of them: [`one_way`]; the service table is the caller's to add to that rule).
/// `description`: the package's, the task's default.
pub fn from_config(
    run_key: Option<&RunKeyConfig>,
    task: Option<&TaskConfig>,
    cli: Option<&CliConfig>,
    package: &str,
    description: Option<&str>,
    exe: &str,
    origin: &Origin,
) -> Result<Option<Autostart>, ConfigError> {
    let at = |key: &str| origin.error(key, String::new(), None);
    one_way(
        [
            (task.is_some(), "task"),
            (run_key.is_some(), "run-key"),
            (cli.is_some_and(|c| c.path.is_some()), "cli.path"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, key)| at(key))
        .collect(),
    )?;
    if let Some(t) = task {
        return task::from_config(t, package, description, exe, origin)
            .map(|t| Some(Autostart::Task(t)));
    }
    if let Some(r) = run_key {
        return run_key::from_config(r, package, exe, origin).map(Some);
    }
    Ok(cli
        .and_then(|c| c.path)
        .map(|scope| Autostart::Path { scope }))
}

/// The four scripts, by name: install.cmd, uninstall.cmd, install.ps1, uninstall.ps1.
pub fn scripts(
    a: &Autostart,
    package: &str,
    version: &str,
) -> Result<[String; 4], Unrepresentable> {
    Ok([
        cmd_script(a, package, version, true)?,
        cmd_script(a, package, version, false)?,
        ps1_script(a, package, version, true),
        ps1_script(a, package, version, false),
    ])
}

fn cmd_script(
    a: &Autostart,
    package: &str,
    version: &str,
    install: bool,
) -> Result<String, Unrepresentable> {
    let what = match a {
        Autostart::RunKey { .. } => "the logon Run entry",
        Autostart::Path { .. } => "the PATH entry",
        Autostart::Task(_) => "the scheduled task",
    };
    let mut s = format!(
        "@rem {}.cmd: {} {what} of {} {}.\r\n@rem Generated by cargo-winpkg. Run it from the folder the package was extracted to.\r\n",
        if install { "install" } else { "uninstall" },
        if install { "add" } else { "remove" },
        ascii_comment(package),
        ascii_comment(version)
    );
    s.push_str(BASE_HEADER);
    if a.scope() == Scope::Machine {
        s.push_str(ADMIN_CHECK);
    }
    match (a, install) {
        (Autostart::RunKey { .. }, true) => run_key::install(&mut s, a)?,
        (Autostart::RunKey { .. }, false) => run_key::uninstall(&mut s, a)?,
        (Autostart::Path { scope }, _) => path::edit(&mut s, *scope, install)?,
        (Autostart::Task(t), true) => task::install(&mut s, t)?,
        (Autostart::Task(t), false) => task::uninstall(&mut s, t)?,
    }
    s.push_str(FOOTER);
    Ok(crlf(&s))
}

fn ps1_script(a: &Autostart, package: &str, version: &str, install: bool) -> String {
    let mut s = format!(
        "# {}.ps1: {} of {package} {version}.\n# Generated by cargo-winpkg.\n$ErrorActionPreference = 'Stop'\nSet-StrictMode -Version 3.0\n$dir = $PSScriptRoot.TrimEnd('\\')\n",
        if install { "install" } else { "uninstall" },
        match (a, install) {
            (Autostart::RunKey { .. }, true) => "add the logon Run entry",
            (Autostart::RunKey { .. }, false) => "remove the logon Run entry",
            (Autostart::Path { .. }, true) => "add the install folder to PATH",
            (Autostart::Path { .. }, false) => "remove the install folder from PATH",
            (Autostart::Task(_), true) => "register the scheduled task",
            (Autostart::Task(_), false) => "remove the scheduled task",
        }
    );
    let hive = match a.scope() {
        Scope::User => "CurrentUser",
        Scope::Machine => "LocalMachine",
    };
    match a {
        Autostart::RunKey { .. } => run_key::ps1(&mut s, a, hive, install),
        Autostart::Path { scope } => path::ps1(&mut s, *scope, install),
        Autostart::Task(t) => task::ps1(&mut s, t, install),
    }
    s.push_str("exit 0\n");
    crate::script::ps1_text(&s)
}
