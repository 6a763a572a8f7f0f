//! Ways to run that are not a service: a logon Run key (tray apps, per-user agents) and
//! a CLI tool on PATH. Each gets install/uninstall scripts for cmd.exe and PowerShell,
//! with the same injection-safety as the service scripts: user strings reach commands
//! only through FOR variables (cmd) or single-quoted literals (PowerShell).

use serde::{Deserialize, Serialize};

pub use crate::config::Scope;
use crate::config::{CliConfig, ConfigError, Origin, RunKeyConfig, TaskConfig};
use crate::script::cmd::{
    ADMIN_CHECK, BASE_HEADER, FOOTER, arg, ascii_comment, fail_if, line, or_fail,
};
use crate::script::quote::{Unrepresentable, argv_folder_aware, argv_quoted, ps_literal};
use crate::script::{DIR_PLACEHOLDER, XMLDIR_PLACEHOLDER, crlf};
use crate::task::Task;

impl Scope {
    fn hive(self) -> &'static str {
        match self {
            Scope::User => "HKCU",
            Scope::Machine => "HKLM",
        }
    }
}

const RUN_KEY: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Run";

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
    /// The Run value's data: the quoted program and its arguments, `{dir}` unexpanded.
    pub fn command_line(&self) -> Option<String> {
        let Autostart::RunKey { exe, args, .. } = self else {
            return None;
        };
        let mut line = argv_quoted(&format!("{DIR_PLACEHOLDER}\\{exe}"));
        for a in args {
            line.push(' ');
            line.push_str(&argv_folder_aware(a));
        }
        Some(line)
    }

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
        "keep one of {} and {} (see the README's table of ways to run)",
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
        return crate::task::from_config(t, package, description, exe, origin)
            .map(|t| Some(Autostart::Task(t)));
    }
    if let Some(r) = run_key {
        let name = r.name.clone().unwrap_or_else(|| package.to_string());
        if name.is_empty()
            || name.chars().count() > 255
            || name.contains('\\')
            || name.chars().any(char::is_control)
        {
            return Err(origin.error(
                "run-key.name",
                format!("`{name}` cannot name a registry value: 1-255 characters, no backslash or control characters"),
                None,
            ));
        }
        let args = r.args.clone().unwrap_or_default();
        for (i, a) in args.iter().enumerate() {
            crate::script::check_text(a).map_err(|e| {
                origin.error(&format!("run-key.args[{i}]"), e.describe().into(), None)
            })?;
        }
        return Ok(Some(Autostart::RunKey {
            name,
            scope: r.scope.unwrap_or(Scope::User),
            exe: exe.to_string(),
            args,
            start_now: r.start_now.unwrap_or(true),
        }));
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
        (Autostart::RunKey { .. }, true) => run_key_install(&mut s, a)?,
        (Autostart::RunKey { .. }, false) => run_key_uninstall(&mut s, a)?,
        (Autostart::Path { scope }, _) => path_edit(&mut s, *scope, install)?,
        (Autostart::Task(t), true) => task_install(&mut s, t)?,
        (Autostart::Task(t), false) => task_uninstall(&mut s, t)?,
    }
    s.push_str(FOOTER);
    Ok(crlf(&s))
}

fn run_key_install(s: &mut String, a: &Autostart) -> Result<(), Unrepresentable> {
    let Autostart::RunKey {
        name,
        scope,
        exe,
        args,
        start_now,
    } = a
    else {
        return Ok(());
    };
    s.push_str(&fail_if(
        "if \"%~dp0\"==\"%~d0\\\"",
        false,
        "extract the package into a folder, not the root of a drive",
        1,
    ));
    let key = format!("{}\\{RUN_KEY}", scope.hive());
    let data = a.command_line().unwrap_or_default();
    or_fail(
        s,
        &line(|v| {
            Ok(format!(
                "reg add {} /v {} /t REG_SZ /d {} /f >\"%WPK_TMP%\" 2>&1",
                v(&arg(&key))?,
                v(&arg(name))?,
                v(&arg(&data))?
            ))
        })?,
        "could not add the Run entry",
    );
    s.push_str(&line(|v| {
        Ok(format!("echo {} starts at every logon", v(exe)?))
    })?);
    s.push('\n');
    if *start_now {
        // `start` returns at once; the program runs on after the script.
        s.push_str(&line(|v| {
            let mut cmd = format!(
                "start \"\" {}",
                v(&arg(&format!("{DIR_PLACEHOLDER}\\{exe}")))?
            );
            for x in args {
                cmd.push(' ');
                cmd.push_str(&v(&arg(x))?);
            }
            Ok(cmd)
        })?);
        s.push('\n');
    }
    Ok(())
}

fn run_key_uninstall(s: &mut String, a: &Autostart) -> Result<(), Unrepresentable> {
    let Autostart::RunKey {
        name, scope, exe, ..
    } = a
    else {
        return Ok(());
    };
    let key = format!("{}\\{RUN_KEY}", scope.hive());
    s.push_str(&line(|v| {
        Ok(format!(
            "reg delete {} /v {} /f >nul 2>&1",
            v(&arg(&key))?,
            v(&arg(name))?
        ))
    })?);
    s.push('\n');
    // Stop the running copy, so the folder can be deleted.
    s.push_str(&line(|v| {
        Ok(format!("taskkill /f /im {} >nul 2>&1", v(&arg(exe))?))
    })?);
    s.push_str("\necho The Run entry is removed\n");
    Ok(())
}

/// Write the task's XML (the install folder XML-escaped) to a temporary file, line by
/// line through FOR variables, and register it with schtasks.
fn task_install(s: &mut String, t: &Task) -> Result<(), Unrepresentable> {
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

fn task_uninstall(s: &mut String, t: &Task) -> Result<(), Unrepresentable> {
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

/// Where the PATH helper lies in the package: a folder of its own, so that it does not
/// land on PATH itself when the install folder does.
pub const PATH_HELPER: &str = "winpkg/winpkg-path.exe";

/// The PATH helper (source: assets/pathedit.c): x64, and x86 for the other targets (x86
/// runs on every Windows for arm64 too).
const PATH_HELPER_X64: &[u8] = include_bytes!("../assets/winpkg-path-x64.exe");
const PATH_HELPER_X86: &[u8] = include_bytes!("../assets/winpkg-path-x86.exe");

/// The PATH helper's bytes for a target architecture (`x86_64`, `i686`, `aarch64`).
pub fn path_helper(arch: &str) -> &'static [u8] {
    if arch == "x86_64" {
        PATH_HELPER_X64
    } else {
        PATH_HELPER_X86
    }
}

/// The word the PATH helper takes for `scope`.
fn scope_word(scope: Scope) -> &'static str {
    match scope {
        Scope::User => "user",
        Scope::Machine => "machine",
    }
}

/// Add the install folder to PATH, or remove it, through the PATH helper. The helper
/// finds the folder from its own file name and edits the value through the registry
/// API, so neither the folder's name nor PATH's text is ever parsed by cmd.exe (which
/// would run `&` in a folder name, and loses entries when it slices PATH as `%VAR%`
/// text). Its exit code is the script's (5: not elevated, for the machine's PATH).
fn path_edit(s: &mut String, scope: Scope, install: bool) -> Result<(), Unrepresentable> {
    let verb = if install { "add" } else { "remove" };
    let helper = format!("{DIR_PLACEHOLDER}\\{}", PATH_HELPER.replace('/', "\\"));
    // Checked first, on a line of its own: a package missing its helper is named, and
    // a script whose own folder cmd cannot read back (Wine's cmd drops a `%` from
    // `%~dp0`) stops here instead of on a line it cannot parse.
    s.push_str(&fail_if(
        &format!("if not exist \"%~dp0{}\"", PATH_HELPER.replace('/', "\\")),
        false,
        &format!(
            "{} is missing beside this script: extract the whole package again",
            PATH_HELPER.replace('/', "\\")
        ),
        1,
    ));
    s.push_str(&line(|v| {
        Ok(format!(
            "{} {verb} {}",
            v(&arg(&helper))?,
            scope_word(scope)
        ))
    })?);
    s.push_str("\nset \"WPK_RC=%ERRORLEVEL%\"\n");
    Ok(())
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
        Autostart::RunKey { .. } => ps1_run_key(&mut s, a, hive, install),
        Autostart::Path { scope } => ps1_path(&mut s, *scope, install),
        Autostart::Task(t) => ps1_task(&mut s, t, install),
    }
    s.push_str("exit 0\n");
    crate::script::ps1_text(&s)
}

fn ps1_run_key(s: &mut String, a: &Autostart, hive: &str, install: bool) {
    let Autostart::RunKey {
        name,
        exe,
        args,
        start_now,
        ..
    } = a
    else {
        return;
    };
    s.push_str(&format!(
        "$key = [Microsoft.Win32.Registry]::{hive}.CreateSubKey({})\n$name = {}\n",
        ps_literal(RUN_KEY),
        ps_literal(name)
    ));
    if install {
        s.push_str(&format!(
            "$key.SetValue($name, {}.Replace('{{dir}}', $dir))\n$key.Close()\nWrite-Host \"$name starts at every logon\"\n",
            ps_literal(&a.command_line().unwrap_or_default())
        ));
        if *start_now {
            let list: Vec<String> = args
                .iter()
                .map(|x| {
                    // Quoted for the program's argument parser, as in the Run value.
                    let q = argv_folder_aware(x);
                    format!("{}.Replace('{{dir}}', $dir)", ps_literal(&q))
                })
                .collect();
            s.push_str(&format!(
                "Start-Process -FilePath (Join-Path $dir {}){}\n",
                ps_literal(exe),
                if list.is_empty() {
                    String::new()
                } else {
                    format!(" -ArgumentList @({})", list.join(", "))
                }
            ));
        }
    } else {
        s.push_str(&format!(
            "$key.DeleteValue($name, $false)\n$key.Close()\nGet-Process | Where-Object {{ $_.Path -eq (Join-Path $dir {}) }} | Stop-Process -Force\nWrite-Host 'The Run entry is removed'\n",
            ps_literal(exe)
        ));
    }
}

/// The same PATH helper as install.cmd runs: one implementation of the edit.
fn ps1_path(s: &mut String, scope: Scope, install: bool) {
    s.push_str(&format!(
        "& (Join-Path $dir {}) {} {}\nexit $LASTEXITCODE\n",
        ps_literal(&PATH_HELPER.replace('/', "\\")),
        if install { "add" } else { "remove" },
        scope_word(scope)
    ));
}

/// The task's XML with the folder put in, written as UTF-16 (what schtasks expects),
/// registered and the file removed; or the task deleted.
fn ps1_task(s: &mut String, t: &Task, install: bool) {
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
