//! cmd.exe lines for every generated .cmd script (service, task, Run key, PATH): the line
//! writer, the shared header and footer, and the checked-step helpers.
//!
//! # How user strings stay literal
//!
//! cmd.exe re-reads expanded `%VAR%` text as code, and delayed expansion (`!VAR!`) is
//! expanded again by Wine's cmd when the value itself holds `!`. Neither is used for user
//! data here. Instead every user string reaches its command as `FOR /F` token variables
//! (`%%a`), which cmd.exe substitutes after it has parsed the line and never parses again:
//!
//! ```text
//! for /f "delims=" %%Q in ('echo ^"') do for %%Z in ("%~dp0.") do
//!   for /f "tokens=2-3 delims=~" %%a in ("X~~my service~") do sc.exe query %%Q%%a%%Q
//! ```
//!
//! - `%%Q` holds one double quote, made by a child `echo`, so the literal never contains
//!   one: the value (already quoted for the program's argument parser, see
//!   [`quote::argv`]) is split at its quotes, and the command puts `%%Q` back between
//!   the pieces.
//! - The literal sits inside `"..."`, where `& | < > ^ ( )` are plain text; `%` is
//!   written `%%`; delayed expansion is off, so `!` is plain text.
//! - The delimiter (`~` here) is chosen per value from characters the value does not
//!   contain; a leading `X` token keeps FOR from skipping a line that starts with `;`.
//! - `%%~fZ` is the install folder (the script's folder, without a trailing backslash):
//!   `{dir}` in a value becomes `%%~fZ` the same way quotes become `%%Q`. Folders come in
//!   through plain `FOR` over one quoted item, not `FOR /F`: Wine's cmd ends a `FOR /F`
//!   set at a `)` even inside quotes (a folder such as `C:\Tools (x86)`), its plain `FOR`
//!   does not; Windows's cmd reads both right.
//!
//! Non-ASCII text: the script is UTF-8 and switches the console to code page 65001 before
//! any line with user text; messages print through the same token variables.

use super::quote::{self, Unrepresentable};
use super::{DIR_PLACEHOLDER, PROGRAMDATA_PLACEHOLDER, XMLDIR_PLACEHOLDER};

/// Characters that may serve as the FOR /F delimiter, in order of preference.
const DELIMS: &[char] = &['~', '|', '`', '#', '@', '{', '}', '[', ']', '+', '='];

/// Letters for token variables (Q, Z, P, X, and V/W for the password, are taken).
const LETTERS: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's',
    't', 'u', 'v', 'w', 'x', 'y', 'z',
];
const LETTERS_UPPER: &[char] = &[
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'R', 'S', 'T', 'U',
    'Y',
];

/// cmd.exe's limit for one line, with room to spare for the expanded folder.
const MAX_LINE: usize = 7000;

/// One command line whose arguments come from literal values through FOR variables.
struct Line {
    /// The nested `for ... do` headers of the values.
    fors: String,
    /// A value uses `{programdata}`: the line reads `%ProgramData%` into `%%P`.
    programdata: bool,
    /// A value uses the XML-escaped folder: the line reads WPK_XDIR into `%%X`.
    xmldir: bool,
    /// Free letters: a run of lower-case, then upper-case.
    runs: Vec<&'static [char]>,
}

/// A piece of a value: text, a double quote, the install folder (`{dir}`) or the
/// ProgramData folder (`{programdata}`).
enum Seg {
    Text(String),
    Quote,
    Dir,
    ProgramData,
    /// The install folder XML-escaped (`&` as `&amp;`), from WPK_XDIR.
    XmlDir,
}

/// Split a value into text pieces, quotes and folder references.
fn segments(value: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(DIR_PLACEHOLDER) {
            segs.push(Seg::Dir);
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix(PROGRAMDATA_PLACEHOLDER) {
            segs.push(Seg::ProgramData);
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix(XMLDIR_PLACEHOLDER) {
            segs.push(Seg::XmlDir);
            rest = r;
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        if c == '"' {
            segs.push(Seg::Quote);
        } else {
            match segs.last_mut() {
                Some(Seg::Text(t)) => t.push(c),
                _ => segs.push(Seg::Text(c.to_string())),
            }
        }
        rest = chars.as_str();
    }
    segs
}

impl Line {
    fn new() -> Line {
        Line {
            fors: String::new(),
            programdata: false,
            xmldir: false,
            runs: vec![LETTERS, LETTERS_UPPER],
        }
    }

    /// Bring `value` in; return what the command writes where the value goes.
    /// `{dir}` in the value stands for the install folder.
    fn value(&mut self, value: &str) -> Result<String, Unrepresentable> {
        let segs = segments(value);
        self.programdata |= segs.iter().any(|s| matches!(s, Seg::ProgramData));
        self.xmldir |= segs.iter().any(|s| matches!(s, Seg::XmlDir));
        let texts: Vec<&str> = segs
            .iter()
            .filter_map(|s| match s {
                Seg::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let mut out = String::new();
        if texts.is_empty() {
            for s in &segs {
                out.push_str(match s {
                    Seg::Quote => "%%Q",
                    Seg::ProgramData => "%%~P",
                    Seg::XmlDir => "%%~X",
                    _ => "%%~fZ",
                });
            }
            return Ok(out);
        }
        if texts.len() > 30 {
            return Err(Unrepresentable {
                reason: "a value has too many double quotes for install.cmd (at most 29)",
            });
        }
        let delim = DELIMS
            .iter()
            .copied()
            .find(|d| !value.contains(*d))
            .ok_or(Unrepresentable {
                reason: "a value uses every character install.cmd could split it with (~ | ` # @ { } [ ] + =)",
            })?;
        // Take a run of consecutive letters for the tokens.
        let n = texts.len();
        let run = self
            .runs
            .iter_mut()
            .find(|r| r.len() >= n)
            .ok_or(Unrepresentable {
                reason: "the values of one install.cmd command have too many double quotes in all",
            })?;
        let letters: Vec<char> = run[..n].to_vec();
        *run = &run[n..];
        let mut literal = String::from("X");
        let mut ti = 0;
        for s in &segs {
            match s {
                Seg::Text(t) => {
                    literal.push(delim);
                    literal.push_str(&escape_literal(t)?);
                    out.push_str(&format!("%%{}", letters[ti]));
                    ti += 1;
                }
                Seg::Quote => {
                    literal.push(delim);
                    out.push_str("%%Q");
                }
                Seg::Dir => {
                    literal.push(delim);
                    out.push_str("%%~fZ");
                }
                Seg::ProgramData => {
                    literal.push(delim);
                    out.push_str("%%~P");
                }
                Seg::XmlDir => {
                    literal.push(delim);
                    out.push_str("%%~X");
                }
            }
        }
        self.fors.push_str(&format!(
            "for /f \"tokens=2-{} delims={delim}\" %%{} in (\"{literal}\") do ",
            n + 1,
            letters[0]
        ));
        Ok(out)
    }

    fn finish(self, command: &str) -> Result<String, Unrepresentable> {
        let programdata = if self.programdata {
            "for %%P in (\"%ProgramData%\") do "
        } else {
            ""
        };
        let xmldir = if self.xmldir {
            "for %%X in (\"%WPK_XDIR%\") do "
        } else {
            ""
        };
        let line = format!(
            "for /f \"delims=\" %%Q in ('echo ^\"') do for %%Z in (\"%~dp0.\") do {programdata}{xmldir}{}{command}",
            self.fors
        );
        if line.chars().count() > MAX_LINE {
            return Err(Unrepresentable {
                reason: "a command of install.cmd would be longer than cmd.exe accepts: shorten the service's strings or arguments",
            });
        }
        Ok(line)
    }
}

/// Text inside a quoted FOR literal: only `%` needs doubling; line breaks and control
/// characters are refused.
fn escape_literal(text: &str) -> Result<String, Unrepresentable> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => {
                return Err(Unrepresentable {
                    reason: "a line break cannot be written in a .cmd script",
                });
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {
                return Err(Unrepresentable {
                    reason: "control characters cannot be written in a .cmd script",
                });
            }
            '%' => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// Build one command: `f` receives a closure that brings values in.
pub fn line(
    f: impl FnOnce(
        &mut dyn FnMut(&str) -> Result<String, Unrepresentable>,
    ) -> Result<String, Unrepresentable>,
) -> Result<String, Unrepresentable> {
    let mut l = Line::new();
    let cmd = f(&mut |v: &str| l.value(v))?;
    l.finish(&cmd)
}

/// One batch line running `template` with `{0}`, `{1}`... replaced by the values, each
/// passed as one quoted program argument through FOR variables (see the module docs).
/// For running commands with arbitrary text under Wine or Windows.
pub fn safe_line(template: &str, values: &[&str]) -> Result<String, Unrepresentable> {
    line(|v| {
        let mut cmd = template.to_string();
        for (i, value) in values.iter().enumerate() {
            cmd = cmd.replace(&format!("{{{i}}}"), &v(&arg(value))?);
        }
        Ok(cmd)
    })
}

/// Always-quoted program argument (so that a value is never empty).
pub fn arg(v: &str) -> String {
    quote::argv_quoted(v)
}

/// The start of every script: no delayed expansion, UTF-8, a temporary file.
pub const BASE_HEADER: &str = r#"@echo off
setlocal EnableExtensions DisableDelayedExpansion
set "WPK_RC=0"
set "WPK_OLDCP="
for /f "tokens=2 delims=:." %%c in ('chcp') do set "WPK_OLDCP=%%c"
chcp 65001 >nul 2>&1
set "WPK_TMP=%TEMP%\winpkg-%RANDOM%%RANDOM%.txt"
"#;

/// Leave with exit code 5 unless running elevated.
pub const ADMIN_CHECK: &str = r#"reg add "HKLM\SOFTWARE\cargo-winpkg-admin-check" /f >nul 2>&1
if errorlevel 1 (
  echo error: this script needs administrator rights: run it from an elevated command prompt ^(Run as administrator^)
  set "WPK_RC=5"
  goto end
)
reg delete "HKLM\SOFTWARE\cargo-winpkg-admin-check" /f >nul 2>&1
"#;

pub const FOOTER: &str = r#":end
del "%WPK_TMP%" >nul 2>&1
if defined WPK_OLDCP chcp %WPK_OLDCP% >nul 2>&1
exit /b %WPK_RC%
"#;

/// `IF <condition> (...)`: say what failed (after the saved sc.exe output when
/// `show_output`), set the exit code and leave through `:end`.
pub fn fail_if(condition: &str, show_output: bool, message: &str, rc: u8) -> String {
    let output = if show_output {
        "  type \"%WPK_TMP%\"\n"
    } else {
        ""
    };
    format!(
        "{condition} (\n{output}  echo error: {message}\n  set \"WPK_RC={rc}\"\n  goto end\n)\n"
    )
}

/// Append `command` as a line, then stop the script with `message` (and the command's
/// output) when it fails.
pub fn or_fail(s: &mut String, command: &str, message: &str) {
    s.push_str(command);
    s.push('\n');
    s.push_str(&fail_if("if errorlevel 1", true, message, 1));
}

/// Package names and versions in comments: cargo restricts them to ASCII, but keep
/// anything else out of comment lines anyway.
pub fn ascii_comment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
