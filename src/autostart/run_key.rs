//! A logon Run key: `HKCU`/`HKLM ...\\CurrentVersion\\Run` starts the program at every
//! logon; install adds the value (and starts the program), uninstall removes it and stops
//! the running copy.

use super::{Autostart, Scope};
use crate::config::{ConfigError, Origin, RunKeyConfig};
use crate::script::DIR_PLACEHOLDER;
use crate::script::cmd::{arg, fail_if, line, or_fail};
use crate::script::quote::{Unrepresentable, argv_folder_aware, argv_quoted, ps_literal};

impl Scope {
    fn hive(self) -> &'static str {
        match self {
            Scope::User => "HKCU",
            Scope::Machine => "HKLM",
        }
    }
}

const RUN_KEY: &str = "Software\\Microsoft\\Windows\\CurrentVersion\\Run";

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
}

/// Validate `[package.metadata.winpkg.run-key]`.
pub(super) fn from_config(
    r: &RunKeyConfig,
    package: &str,
    exe: &str,
    origin: &Origin,
) -> Result<Autostart, ConfigError> {
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
        crate::script::check_text(a)
            .map_err(|e| origin.error(&format!("run-key.args[{i}]"), e.describe().into(), None))?;
    }
    Ok(Autostart::RunKey {
        name,
        scope: r.scope.unwrap_or(Scope::User),
        exe: exe.to_string(),
        args,
        start_now: r.start_now.unwrap_or(true),
    })
}

pub(super) fn install(s: &mut String, a: &Autostart) -> Result<(), Unrepresentable> {
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

pub(super) fn uninstall(s: &mut String, a: &Autostart) -> Result<(), Unrepresentable> {
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

pub(super) fn ps1(s: &mut String, a: &Autostart, hive: &str, install: bool) {
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
