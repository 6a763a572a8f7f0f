//! install.cmd and uninstall.cmd: sc.exe driven by cmd.exe, on every Windows and Wine.
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

use crate::service::quote::{self, Unrepresentable};
use crate::service::{
    DIR_PLACEHOLDER, Mode, PROGRAMDATA_PLACEHOLDER, Service, StartType, image_path_template,
};

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

/// In a value, the install folder XML-escaped: the script must have set WPK_XDIR.
pub(crate) const XMLDIR_PLACEHOLDER: &str = "{xmldir}";

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
pub(crate) fn line(
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
pub(crate) fn arg(v: &str) -> String {
    quote::argv_quoted(v)
}

/// The sc.exe arguments shared by `create` and `config`.
fn sc_settings(
    svc: &Service,
    update: bool,
    v: &mut dyn FnMut(&str) -> Result<String, Unrepresentable>,
) -> Result<String, Unrepresentable> {
    let mut s = format!(
        "binPath= {} start= {} error= {} DisplayName= {} obj= {}",
        v(&arg(&image_path_template(svc)))?,
        svc.start.sc(),
        svc.error_control.as_str(),
        v(&arg(&svc.display_name))?,
        v(&arg(&svc.account.object_name(&svc.name)))?,
    );
    if svc.account.needs_password() {
        s.push_str(" password= %%Q%%W%%Q");
    }
    if !svc.depends_on.is_empty() {
        s.push_str(&format!(" depend= {}", v(&arg(&svc.depends_on.join("/")))?));
    } else if update {
        // `depend= /` clears dependencies an earlier version had.
        s.push_str(" depend= /");
    }
    Ok(s)
}

/// The start of every script: no delayed expansion, UTF-8, a temporary file.
pub(crate) const BASE_HEADER: &str = r#"@echo off
setlocal EnableExtensions DisableDelayedExpansion
set "WPK_RC=0"
set "WPK_OLDCP="
for /f "tokens=2 delims=:." %%c in ('chcp') do set "WPK_OLDCP=%%c"
chcp 65001 >nul 2>&1
set "WPK_TMP=%TEMP%\winpkg-%RANDOM%%RANDOM%.txt"
"#;

/// Leave with exit code 5 unless running elevated.
pub(crate) const ADMIN_CHECK: &str = r#"reg add "HKLM\SOFTWARE\cargo-winpkg-admin-check" /f >nul 2>&1
if errorlevel 1 (
  echo error: this script needs administrator rights: run it from an elevated command prompt ^(Run as administrator^)
  set "WPK_RC=5"
  goto end
)
reg delete "HKLM\SOFTWARE\cargo-winpkg-admin-check" /f >nul 2>&1
"#;

pub(crate) const FOOTER: &str = r#":end
del "%WPK_TMP%" >nul 2>&1
if defined WPK_OLDCP chcp %WPK_OLDCP% >nul 2>&1
exit /b %WPK_RC%
"#;

/// The subroutine that polls `sc query` until the state shows or time runs out:
/// `call :wait_state STATE SECONDS` (arguments are fixed words, never user text).
fn wait_state(query: &str) -> String {
    format!(
        r#":wait_state
set /a WPK_N=0
:wait_state_loop
{query} >"%WPK_TMP%" 2>&1
find "%~1" "%WPK_TMP%" >nul 2>&1
if not errorlevel 1 exit /b 0
rem No STATE line: this sc.exe cannot print the service's name (Wine's stops at the
rem first non-ASCII character), so the state cannot be read: 3.
find "STATE" "%WPK_TMP%" >nul 2>&1
if errorlevel 1 exit /b 3
if "%~1"=="RUNNING" (
  find "STOPPED" "%WPK_TMP%" >nul 2>&1
  if not errorlevel 1 exit /b 2
)
set /a WPK_N+=1
if %WPK_N% geq %~2 exit /b 1
ping -n 2 127.0.0.1 >nul 2>&1
goto wait_state_loop
"#
    )
}

/// `IF <condition> (...)`: say what failed (after the saved sc.exe output when
/// `show_output`), set the exit code and leave through `:end`.
pub(crate) fn fail_if(condition: &str, show_output: bool, message: &str, rc: u8) -> String {
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
pub(crate) fn or_fail(s: &mut String, command: &str, message: &str) {
    s.push_str(command);
    s.push('\n');
    s.push_str(&fail_if("if errorlevel 1", true, message, 1));
}

/// Stop the service and wait for STOPPED (both scripts do this before changing it).
fn stop_and_wait(stop_line: String) -> String {
    format!(
        "{stop_line}\ncall :wait_state STOPPED 60\nif errorlevel 3 goto stop_unread\n{}goto stop_done\n:stop_unread\necho warning: this sc.exe cannot show the service's state: waiting 5 seconds for it to stop\nping -n 6 127.0.0.1 >nul 2>&1\n:stop_done\n",
        fail_if(
            "if errorlevel 1",
            false,
            "the service did not stop within 60 seconds",
            1
        )
    )
}

pub(crate) fn crlf(text: &str) -> String {
    let lf = text.replace("\r\n", "\n");
    lf.replace('\n', "\r\n")
}

/// A line with the service name (quoted for the argument parser) put in for `{name}`.
fn named(svc: &Service, verb: &str) -> Result<String, Unrepresentable> {
    line(|v| Ok(verb.replace("{name}", &v(&arg(&svc.name))?)))
}

/// install.cmd for `svc`.
pub fn install(svc: &Service, package: &str, version: &str) -> Result<String, Unrepresentable> {
    let name = |verb: &str| named(svc, verb);
    let mut s = String::new();
    install_begin(&mut s, svc, package, version)?;
    install_create(&mut s, svc)?;
    install_settings(&mut s, svc)?;
    install_registry(&mut s, svc)?;
    install_folders(&mut s, svc)?;
    install_event_log(&mut s, svc)?;
    install_start(&mut s, svc)?;
    s.push_str(FOOTER);
    s.push('\n');
    s.push_str(&wait_state(&name("sc.exe query {name}")?));
    Ok(crlf(&s))
}

/// The header, the checks before anything changes, and stopping an existing service.
fn install_begin(
    s: &mut String,
    svc: &Service,
    package: &str,
    version: &str,
) -> Result<(), Unrepresentable> {
    let name = |verb: &str| named(svc, verb);
    s.push_str(&format!(
        "@rem install.cmd: install (or update) the Windows service of {} {}.\r\n",
        ascii_comment(package),
        ascii_comment(version)
    ));
    s.push_str("@rem Generated by cargo-winpkg. Run it from an elevated prompt in the folder the package was extracted to.\r\n");
    s.push_str(BASE_HEADER);
    s.push_str(ADMIN_CHECK);
    s.push_str(&fail_if(
        "if \"%~dp0\"==\"%~d0\\\"",
        false,
        "extract the package into a folder, not the root of a drive",
        1,
    ));
    if svc.account.needs_password() {
        s.push_str(&fail_if(
            "if not defined WINPKG_SERVICE_PASSWORD",
            false,
            "the service runs as a user account: set WINPKG_SERVICE_PASSWORD to its password first",
            2,
        ));
    }
    s.push_str(&name("echo Installing service {name} from %%~fZ")?);
    s.push('\n');
    s.push_str(&name("sc.exe query {name} >nul 2>&1")?);
    s.push_str(
        "\nif errorlevel 1 goto create\necho The service exists: stopping it to update it\n",
    );
    s.push_str(&stop_and_wait(name("sc.exe stop {name} >nul 2>&1")?));
    Ok(())
}

/// Reconfigure the existing service, or create it.
fn install_create(s: &mut String, svc: &Service) -> Result<(), Unrepresentable> {
    let name = |verb: &str| named(svc, verb);
    // The password comes through FOR variables (%%V name, %%W value) too, never as code.
    let pw = |cmd: String| {
        if svc.account.needs_password() {
            format!(
                "for /f \"tokens=1* delims==\" %%V in ('set WINPKG_SERVICE_PASSWORD') do if /i \"%%V\"==\"WINPKG_SERVICE_PASSWORD\" {cmd}"
            )
        } else {
            cmd
        }
    };
    let config = line(|v| {
        Ok(format!(
            "sc.exe config {} {} >\"%WPK_TMP%\" 2>&1",
            v(&arg(&svc.name))?,
            sc_settings(svc, true, v)?
        ))
    })?;
    s.push_str(&pw(config));
    s.push_str("\nif not errorlevel 1 goto configured\nrem This sc.exe cannot reconfigure a service (Wine's cannot): create it anew.\n");
    s.push_str(&name("sc.exe delete {name} >nul 2>&1")?);
    s.push_str("\n:create\n");
    let create = line(|v| {
        Ok(format!(
            "sc.exe create {} {} >\"%WPK_TMP%\" 2>&1",
            v(&arg(&svc.name))?,
            sc_settings(svc, false, v)?
        ))
    })?;
    or_fail(s, &pw(create), "sc.exe could not create the service");
    s.push_str(":configured\n");
    Ok(())
}

/// Description, recovery, SID type and privileges.
fn install_settings(s: &mut String, svc: &Service) -> Result<(), Unrepresentable> {
    let name = |verb: &str| named(svc, verb);
    if let Some(d) = &svc.description {
        s.push_str(&line(|v| {
            Ok(format!(
                "sc.exe description {} {} >nul",
                v(&arg(&svc.name))?,
                v(&arg(d))?
            ))
        })?);
        s.push('\n');
    }
    let r = &svc.recovery;
    let actions = if r.actions.is_empty() {
        "\"\"".to_string()
    } else {
        r.sc_actions()
    };
    s.push_str(&line(|v| {
        Ok(format!(
            "sc.exe failure {} reset= {} actions= {} >nul",
            v(&arg(&svc.name))?,
            r.reset_after_secs,
            actions
        ))
    })?);
    s.push('\n');
    if r.on_non_crash_failure {
        s.push_str(&name("sc.exe failureflag {name} 1 >nul")?);
        s.push('\n');
    }
    if let Some(t) = svc.sid_type {
        s.push_str(&line(|v| {
            Ok(format!(
                "sc.exe sidtype {} {} >nul",
                v(&arg(&svc.name))?,
                t.as_str()
            ))
        })?);
        s.push('\n');
    }
    if !svc.required_privileges.is_empty() {
        let privs = svc.required_privileges.join("/");
        s.push_str(&line(|v| {
            Ok(format!("sc.exe privs {} {privs} >nul", v(&arg(&svc.name))?))
        })?);
        s.push('\n');
    }
    Ok(())
}

/// The service's environment and pre-shutdown timeout, in its registry key.
fn install_registry(s: &mut String, svc: &Service) -> Result<(), Unrepresentable> {
    let key = format!("HKLM\\SYSTEM\\CurrentControlSet\\Services\\{}", svc.name);
    if svc.mode == Mode::Native && !svc.env.is_empty() {
        let entries: Vec<String> = svc.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let joined = entries.join("\u{1}");
        // reg.exe's /s takes the separator between REG_MULTI_SZ strings. It is written
        // into the command text, so only characters cmd.exe gives no meaning to.
        let sep = ['#', '~', '`', '@', '+', '*', '$', '?']
            .into_iter()
            .find(|c| !joined.contains(*c))
            .ok_or(Unrepresentable {
                reason: "the environment uses every separator reg.exe could take (# ~ ` @ + * $ ?)",
            })?;
        let data = entries.join(&sep.to_string());
        s.push_str(&line(|v| {
            Ok(format!(
                "reg add {} /v Environment /t REG_MULTI_SZ /s {sep} /d {} /f >nul",
                v(&arg(&key))?,
                v(&arg(&data))?
            ))
        })?);
        s.push('\n');
    } else {
        s.push_str(&line(|v| {
            Ok(format!(
                "reg delete {} /v Environment /f >nul 2>&1",
                v(&arg(&key))?
            ))
        })?);
        s.push('\n');
    }
    if let Some(ms) = svc.preshutdown_timeout_ms {
        s.push_str(&line(|v| {
            Ok(format!(
                "reg add {} /v PreshutdownTimeout /t REG_DWORD /d {ms} /f >nul",
                v(&arg(&key))?
            ))
        })?);
        s.push('\n');
    }
    Ok(())
}

/// The registry key of an Event Log source in the Application log.
fn event_log_key(source: &str) -> String {
    format!("HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\{source}")
}

/// Create the data and log folders and let the service's account modify them. After
/// the service exists: a virtual account (`NT SERVICE\name`) exists only then.
fn install_folders(s: &mut String, svc: &Service) -> Result<(), Unrepresentable> {
    let principal = format!("{}:(OI)(CI)M", svc.account.icacls_principal(&svc.name));
    for d in svc.writable_dirs() {
        // mkdir fails on a folder that exists: judge by the effect, not the exit code.
        // (A multi-line block after a FOR line is not understood by Wine's cmd: the
        // FOR line only sets a flag.)
        s.push_str(&line(|v| {
            Ok(format!("mkdir {} >\"%WPK_TMP%\" 2>&1", v(&arg(d))?))
        })?);
        s.push_str("\nset \"WPK_FOUND=\"\n");
        s.push_str(&line(|v| {
            Ok(format!("if exist {} set \"WPK_FOUND=1\"", v(&arg(d))?))
        })?);
        s.push('\n');
        s.push_str(&fail_if(
            "if not defined WPK_FOUND",
            true,
            "could not create a data folder",
            1,
        ));
        or_fail(
            s,
            &line(|v| {
                Ok(format!(
                    "icacls {} /grant {} >\"%WPK_TMP%\" 2>&1",
                    v(&arg(d))?,
                    v(&arg(&principal))?
                ))
            })?,
            "icacls could not let the service's account modify a data folder",
        );
        s.push_str(&line(|v| {
            Ok(format!(
                "echo Folder {} may be modified by {}",
                v(d)?,
                v(&svc.account.object_name(&svc.name))?
            ))
        })?);
        s.push('\n');
    }
    Ok(())
}

/// Register the Event Log source: messages are formatted from the exe's resources.
fn install_event_log(s: &mut String, svc: &Service) -> Result<(), Unrepresentable> {
    let Some(source) = &svc.event_source else {
        return Ok(());
    };
    let key = event_log_key(source);
    let exe = format!("{DIR_PLACEHOLDER}\\{}", svc.exe);
    or_fail(
        s,
        &line(|v| {
            Ok(format!(
                "reg add {} /v EventMessageFile /t REG_EXPAND_SZ /d {} /f >\"%WPK_TMP%\" 2>&1",
                v(&arg(&key))?,
                v(&arg(&exe))?
            ))
        })?,
        "could not register the Event Log source",
    );
    s.push_str(&line(|v| {
        Ok(format!(
            "reg add {} /v TypesSupported /t REG_DWORD /d 7 /f >nul",
            v(&arg(&key))?
        ))
    })?);
    s.push('\n');
    Ok(())
}

/// What uninstall does whether or not the service is still there: remove the Event
/// Log source, and with `--purge` the data and log folders.
fn uninstall_leftovers(s: &mut String, svc: &Service) -> Result<(), Unrepresentable> {
    if let Some(source) = &svc.event_source {
        s.push_str(&line(|v| {
            Ok(format!(
                "reg delete {} /f >nul 2>&1",
                v(&arg(&event_log_key(source)))?
            ))
        })?);
        s.push('\n');
    }
    let dirs = svc.writable_dirs();
    if dirs.is_empty() {
        return Ok(());
    }
    s.push_str("if /i not \"%~1\"==\"--purge\" goto keep_data\n");
    for d in &dirs {
        s.push_str(&line(|v| {
            let q = v(&arg(d))?;
            Ok(format!("if exist {q} rmdir /s /q {q}"))
        })?);
        s.push('\n');
        s.push_str(&line(|v| Ok(format!("echo Removed {}", v(d)?)))?);
        s.push('\n');
    }
    s.push_str("goto end\n:keep_data\n");
    for d in &dirs {
        s.push_str(&line(|v| {
            Ok(format!(
                "echo Kept {}: uninstall.cmd --purge removes it",
                v(d)?
            ))
        })?);
        s.push('\n');
    }
    Ok(())
}

const STOPPED_AFTER_START: &str = "the service stopped right after it started: its exit code is in the sc.exe query output above; run the program by hand to see why";

/// Start the service and wait for RUNNING (unless it is disabled).
fn install_start(s: &mut String, svc: &Service) -> Result<(), Unrepresentable> {
    let name = |verb: &str| named(svc, verb);
    if svc.start == StartType::Disabled {
        s.push_str("echo The service is installed with start type disabled: not starting it\n");
    } else {
        s.push_str(&name("sc.exe start {name} >\"%WPK_TMP%\" 2>&1")?);
        s.push_str("\ncall :wait_state RUNNING 60\nif errorlevel 3 goto start_unread\n");
        s.push_str(&fail_if("if errorlevel 2", true, STOPPED_AFTER_START, 1));
        s.push_str(&fail_if(
            "if errorlevel 1",
            true,
            "the service did not reach RUNNING within 60 seconds",
            1,
        ));
        // Still running a few seconds later: a service that fails at once is caught
        // here, not reported as running.
        s.push_str("ping -n 4 127.0.0.1 >nul 2>&1\ncall :wait_state RUNNING 1\nif errorlevel 3 goto start_unread\n");
        s.push_str(&fail_if("if errorlevel 1", true, STOPPED_AFTER_START, 1));
        s.push_str(&name("echo Service {name} is running")?);
        s.push_str("\ngoto end\n:start_unread\n");
        // The state cannot be read (Wine's sc.exe and a non-ASCII name): say so.
        s.push_str(&name(
            "echo Service {name} was started; this sc.exe cannot show its state, so it is not checked",
        )?);
        s.push('\n');
    }
    Ok(())
}

/// uninstall.cmd for `svc`.
pub fn uninstall(svc: &Service, package: &str, version: &str) -> Result<String, Unrepresentable> {
    let name = |verb: &str| named(svc, verb);
    let mut s = String::new();
    s.push_str(&format!(
        "@rem uninstall.cmd: stop and remove the Windows service of {} {}.\r\n",
        ascii_comment(package),
        ascii_comment(version)
    ));
    s.push_str("@rem Generated by cargo-winpkg. Succeeds when the service is already gone.\r\n");
    s.push_str(BASE_HEADER);
    s.push_str(ADMIN_CHECK);
    s.push_str(&name("sc.exe query {name} >nul 2>&1")?);
    s.push_str("\nif errorlevel 1 (\n");
    s.push_str(&format!(
        "  {}\n",
        name("echo Service {name} is not installed")?
    ));
    s.push_str("  goto leftovers\n)\n");
    s.push_str(&stop_and_wait(name("sc.exe stop {name} >nul 2>&1")?));
    or_fail(
        &mut s,
        &name("sc.exe delete {name} >\"%WPK_TMP%\" 2>&1")?,
        "sc.exe could not delete the service",
    );
    s.push_str(&name("echo Service {name} is removed")?);
    s.push_str("\n:leftovers\n");
    uninstall_leftovers(&mut s, svc)?;
    s.push_str(FOOTER);
    s.push('\n');
    s.push_str(&wait_state(&name("sc.exe query {name}")?));
    Ok(crlf(&s))
}

/// Package names and versions in comments: cargo restricts them to ASCII, but keep
/// anything else out of comment lines anyway.
pub(crate) fn ascii_comment(s: &str) -> String {
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
