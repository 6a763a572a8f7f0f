//! Ways to run that are not a service: a logon Run key (tray apps, per-user agents) and
//! a CLI tool on PATH. Each gets install/uninstall scripts for cmd.exe and PowerShell,
//! with the same injection-safety as the service scripts: user strings reach commands
//! only through FOR variables (cmd) or single-quoted literals (PowerShell).

use serde::{Deserialize, Serialize};

pub use crate::config::Scope;
use crate::config::{CliConfig, ConfigError, Origin, RunKeyConfig, TaskConfig};
use crate::service::DIR_PLACEHOLDER;
use crate::service::cmd::{
    ADMIN_CHECK, BASE_HEADER, FOOTER, XMLDIR_PLACEHOLDER, arg, ascii_comment, crlf, fail_if, line,
    or_fail,
};
use crate::service::quote::{Unrepresentable, argv, argv_quoted, ps_literal};
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
const USER_ENV: &str = "HKCU\\Environment";
const MACHINE_ENV: &str = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment";

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
            if a.contains(DIR_PLACEHOLDER) {
                line.push_str(&argv_quoted(a));
            } else {
                line.push_str(&argv(a));
            }
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

/// Validate `[package.metadata.winpkg.run-key]`, `[...task]` and `[...cli]`: at most one
/// of run-key, task and cli.path (the service table is checked against them by the
/// caller). `description`: the package's, the task's default.
pub fn from_config(
    run_key: Option<&RunKeyConfig>,
    task: Option<&TaskConfig>,
    cli: Option<&CliConfig>,
    package: &str,
    description: Option<&str>,
    exe: &str,
    origin: &Origin,
) -> Result<Option<Autostart>, ConfigError> {
    if let Some(t) = task {
        if run_key.is_some() || cli.is_some_and(|c| c.path.is_some()) {
            return Err(origin.error(
                "task",
                "a package starts its program one way: this one has a run-key or cli.path table too".into(),
                Some("keep one of [package.metadata.winpkg.task], [...run-key] and [...cli] (see the README's table of ways to run)".into()),
            ));
        }
        return crate::task::from_config(t, package, description, exe, origin)
            .map(|t| Some(Autostart::Task(t)));
    }
    if let Some(r) = run_key {
        if cli.is_some_and(|c| c.path.is_some()) {
            return Err(origin.error(
                "cli.path",
                "a package with a run-key starts its program at logon; `cli.path` is for command-line tools: declare one way to run".into(),
                Some("remove [package.metadata.winpkg.cli] or [package.metadata.winpkg.run-key]".into()),
            ));
        }
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
            if a.chars().any(|c| c.is_control() && c != '\t') {
                return Err(origin.error(
                    &format!("run-key.args[{i}]"),
                    "contains a line break or control character, which a Run value cannot carry"
                        .into(),
                    None,
                ));
            }
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
        (Autostart::Path { scope }, true) => path_install(&mut s, *scope),
        (Autostart::Path { scope }, false) => path_uninstall(&mut s, *scope),
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
    s.push_str("for /f \"delims=\" %%Z in (\"%~dp0.\") do set \"WPK_XDIR=%%~fZ\"\nset \"WPK_XDIR=%WPK_XDIR:&=&amp;%\"\nset \"WPK_XML=%TEMP%\\winpkg-task-%RANDOM%%RANDOM%\"\ntype nul >\"%WPK_XML%.txt\"\n");
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

/// The registry key of the PATH value for `scope`.
fn env_key(scope: Scope) -> &'static str {
    match scope {
        Scope::User => USER_ENV,
        Scope::Machine => MACHINE_ENV,
    }
}

/// Add the install folder to PATH in the registry, once: read the value with reg query
/// (never through setx, which truncates at 1024 characters), and write it back with its
/// type kept. The value only ever appears inside double quotes, where `&`, `|`, `<`,
/// `>` and `^` are plain text; a PATH with a double quote in it is refused (use
/// install.ps1), and so is an install folder with `!` or `^`. (Wine's cmd knows no
/// `!var:x=y!`: only `%var:x=y%` forms are used.)
fn path_install(s: &mut String, scope: Scope) {
    let key = env_key(scope);
    s.push_str(&path_read(key));
    s.push_str(
        r#"if "%WPK_NEW%"=="%WPK_T%" goto path_add
echo %WPK_DIR% is on PATH already
goto end
:path_add
if defined WPK_OLD (set "WPK_NEW=%WPK_OLD%;%WPK_DIR%") else (set "WPK_NEW=%WPK_DIR%")
"#,
    );
    s.push_str(&path_write(
        key,
        "add the folder to",
        "Added %WPK_DIR% to PATH: new command prompts find its programs",
    ));
}

/// Remove exactly the install folder's entry from PATH.
fn path_uninstall(s: &mut String, scope: Scope) {
    let key = env_key(scope);
    s.push_str(&path_read(key));
    s.push_str(
        r#"if not "%WPK_NEW%"=="%WPK_T%" goto path_remove
echo %WPK_DIR% is not on PATH: nothing to do
goto end
:path_remove
set "WPK_NEW=%WPK_NEW:~1,-1%"
"#,
    );
    s.push_str(&path_write(
        key,
        "remove the folder from",
        "Removed %WPK_DIR% from PATH",
    ));
}

/// Write WPK_NEW back as PATH, with the type it had.
fn path_write(key: &str, what: &str, done: &str) -> String {
    format!(
        r#"rem A trailing backslash would escape the closing quote for reg.exe: double it.
if "%WPK_NEW:~-1%"=="\" set "WPK_NEW=%WPK_NEW%\"
reg add "{key}" /v Path /t %WPK_TYPE% /d "%WPK_NEW%" /f >"%WPK_TMP%" 2>&1
if errorlevel 1 (
  type "%WPK_TMP%"
  echo error: could not {what} PATH
  set "WPK_RC=1"
  goto end
)
echo {done}
"#
    )
}

/// Read PATH and its type from `key` into WPK_OLD and WPK_TYPE (FOR variables are not
/// parsed again when they are set), check what the edit needs, and leave in WPK_T the
/// PATH between semicolons and in WPK_NEW the same without the install folder's entry.
fn path_read(key: &str) -> String {
    format!(
        r#"set "WPK_OLD="
set "WPK_TYPE=REG_EXPAND_SZ"
for /f "skip=2 tokens=2,*" %%A in ('reg query "{key}" /v Path 2^>nul') do set "WPK_TYPE=%%A"
for /f "skip=2 tokens=2,*" %%A in ('reg query "{key}" /v Path 2^>nul') do set "WPK_OLD=%%B"
set "WPK_DIR=%~dp0"
set "WPK_DIR=%WPK_DIR:~0,-1%"
set "WPK_CHECK=%WPK_DIR:!=%"
set "WPK_CHECK=%WPK_CHECK:^=%"
if not "%WPK_CHECK%"=="%WPK_DIR%" goto path_bad_dir
rem A double quote in PATH would end the quotes the value is used in: look for one
rem through a file, written from the FOR variable (never parsed).
echo X>"%WPK_TMP%"
for /f "skip=2 tokens=2,*" %%A in ('reg query "{key}" /v Path 2^>nul') do >"%WPK_TMP%" echo X%%B
find """" "%WPK_TMP%" >nul 2>&1
if not errorlevel 1 (
  echo error: PATH holds a double quote, which this script cannot edit safely: use install.ps1, or edit PATH by hand
  set "WPK_RC=1"
  goto end
)
set "WPK_T=;%WPK_OLD%;"
call set "WPK_NEW=%%WPK_T:;%WPK_DIR%;=;%%"
goto path_checked
:path_bad_dir
echo error: the install folder's path has a ! or ^^ which this script cannot put on PATH safely: move the folder, or use install.ps1
set "WPK_RC=1"
goto end
:path_checked
"#
    )
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
        Autostart::Path { scope } => ps1_path(&mut s, *scope, hive, install),
        Autostart::Task(t) => ps1_task(&mut s, t, install),
    }
    s.push_str("exit 0\n");
    let lf = s.replace("\r\n", "\n");
    format!("\u{feff}{}", lf.replace('\n', "\r\n"))
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
                    let q = if x.contains(DIR_PLACEHOLDER) {
                        argv_quoted(x)
                    } else {
                        argv(x)
                    };
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

fn ps1_path(s: &mut String, scope: Scope, hive: &str, install: bool) {
    let target = match scope {
        Scope::User => "User",
        Scope::Machine => "Machine",
    };
    // The raw value (unexpanded %VARS%) is read and written: Environment's
    // GetEnvironmentVariable would expand them for good.
    let key = match scope {
        Scope::User => "Environment",
        Scope::Machine => "SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment",
    };
    s.push_str(&format!(
        "$key = [Microsoft.Win32.Registry]::{hive}.OpenSubKey({}, $true)\n$old = [string]$key.GetValue('Path', '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)\n$entries = @($old -split ';' | Where-Object {{ $_ -ne '' }})\n",
        ps_literal(key)
    ));
    if install {
        s.push_str("if ($entries -contains $dir) { Write-Host \"$dir is on PATH already\" } else {\n    $key.SetValue('Path', (($entries + $dir) -join ';'), [Microsoft.Win32.RegistryValueKind]::ExpandString)\n    Write-Host \"Added $dir to PATH: new shells find its programs\"\n}\n");
    } else {
        s.push_str("$kept = @($entries | Where-Object { $_ -ne $dir })\nif ($kept.Count -eq $entries.Count) { Write-Host \"$dir is not on PATH: nothing to do\" } else {\n    $key.SetValue('Path', ($kept -join ';'), [Microsoft.Win32.RegistryValueKind]::ExpandString)\n    Write-Host \"Removed $dir from PATH\"\n}\n");
    }
    s.push_str(&format!(
        "$key.Close()\n# Tell running programs (Explorer) that the environment changed.\n[Environment]::SetEnvironmentVariable('WINPKG_REFRESH', $null, '{target}')\n"
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
