//! A command-line tool on PATH: the package ships a helper that adds its folder to PATH
//! or takes it off (assets/pathedit.c), and the scripts run it.

use super::Scope;
use crate::script::DIR_PLACEHOLDER;
use crate::script::cmd::{arg, fail_if, line};
use crate::script::quote::{Unrepresentable, ps_literal};

/// Where the PATH helper lies in the package: a folder of its own, so that it does not
/// land on PATH itself when the install folder does.
pub const PATH_HELPER: &str = "winpkg/winpkg-path.exe";

/// The PATH helper (source: assets/pathedit.c): x64, and x86 for the other targets (x86
/// runs on every Windows for arm64 too).
const PATH_HELPER_X64: &[u8] = include_bytes!("../../assets/winpkg-path-x64.exe");
const PATH_HELPER_X86: &[u8] = include_bytes!("../../assets/winpkg-path-x86.exe");

/// The PATH helper's bytes for a target architecture (`x86_64`, `i686`, `aarch64`).
pub fn path_helper(arch: &str) -> &'static [u8] {
    if arch == "x86_64" {
        PATH_HELPER_X64
    } else {
        PATH_HELPER_X86
    }
}

/// The word the PATH helper takes for `scope`.
pub fn scope_word(scope: Scope) -> &'static str {
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
pub(super) fn edit(s: &mut String, scope: Scope, install: bool) -> Result<(), Unrepresentable> {
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

/// The same PATH helper as install.cmd runs: one implementation of the edit.
pub(super) fn ps1(s: &mut String, scope: Scope, install: bool) {
    s.push_str(&format!(
        "& (Join-Path $dir {}) {} {}\nexit $LASTEXITCODE\n",
        ps_literal(&PATH_HELPER.replace('/', "\\")),
        if install { "add" } else { "remove" },
        scope_word(scope)
    ));
}
