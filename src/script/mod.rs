//! The one toolkit every generated script is written with: install/uninstall .cmd and
//! .ps1 for a service, a scheduled task, a Run key and a PATH entry (and, later, the
//! MSI's formatted text).
//!
//! - [`quote`]: a program argument (the C runtime's rules), a PowerShell literal.
//! - [`cmd`]: cmd.exe lines that carry user text only through FOR variables.
//! - here: the placeholders a value may hold, the rule for text a user writes, and the
//!   encodings Windows wants (CRLF; UTF-8 with a BOM for .ps1; UTF-16 LE with a BOM).

pub mod cmd;
pub mod quote;

/// Replaced at install time by the folder the package was extracted to (no trailing
/// backslash).
pub const DIR_PLACEHOLDER: &str = "{dir}";

/// Replaced at install time by the machine's ProgramData folder (`%ProgramData%`,
/// usually `C:\ProgramData`): where services keep data that outlives an update.
pub const PROGRAMDATA_PLACEHOLDER: &str = "{programdata}";

/// In a cmd value, the install folder XML-escaped: the script must have set WPK_XDIR.
pub const XMLDIR_PLACEHOLDER: &str = "{xmldir}";

/// Why a string a user wrote cannot go into a generated script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadText {
    /// CR or LF: a .cmd line, a service's command line and a Run value hold one line.
    LineBreak,
    /// Another control character (a tab is allowed).
    Control,
}

impl BadText {
    /// What is wrong, as the end of a sentence about the value.
    pub fn describe(self) -> &'static str {
        match self {
            BadText::LineBreak => {
                "contains a line break, which a generated script cannot carry: write it on one line"
            }
            BadText::Control => {
                "contains a control character, which a generated script cannot carry"
            }
        }
    }
}

/// The one rule for text a user writes that goes into a script (names, descriptions,
/// arguments, values): any character but a line break or another control character; a
/// tab is allowed. Quotes, `%`, `^`, `&`, `!`, `$`, backticks and non-ASCII are all fine:
/// the writers carry them as data.
pub fn check_text(text: &str) -> Result<(), BadText> {
    if text.contains(['\r', '\n']) {
        return Err(BadText::LineBreak);
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(BadText::Control);
    }
    Ok(())
}

/// `value` as Windows Installer formatted text (the MSI's ServiceInstall, Registry and
/// Environment columns): `[`, `]`, `{` and `}` escaped as `[\[]`, `[\]]`, `[\{]`, `[\}]`
/// so that they arrive literally, and the folder placeholders as the installer's
/// folder properties: `{dir}\x` is `[INSTALLDIR]x` (the property ends in a backslash),
/// a bare `{dir}` is `[INSTALLDIR].`; `{programdata}` is `[CommonAppDataFolder]` the same
/// way.
pub fn msi_formatted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut rest = value;
    while !rest.is_empty() {
        let placeholder = [
            (DIR_PLACEHOLDER, "[INSTALLDIR]"),
            (PROGRAMDATA_PLACEHOLDER, "[CommonAppDataFolder]"),
        ]
        .into_iter()
        .find(|(p, _)| rest.starts_with(p));
        if let Some((p, property)) = placeholder {
            out.push_str(property);
            rest = &rest[p.len()..];
            match rest.strip_prefix('\\') {
                Some(r) => rest = r,
                None => out.push('.'),
            }
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        match c {
            '[' => out.push_str("[\\[]"),
            ']' => out.push_str("[\\]]"),
            '{' => out.push_str("[\\{]"),
            '}' => out.push_str("[\\}]"),
            c => out.push(c),
        }
        rest = chars.as_str();
    }
    out
}

/// `text` with CRLF line ends (cmd.exe mis-reads labels in LF-only batch files).
pub fn crlf(text: &str) -> String {
    let lf = text.replace("\r\n", "\n");
    lf.replace('\n', "\r\n")
}

/// A .ps1 file: CRLF, and a UTF-8 byte-order mark so that Windows PowerShell 5.1 reads
/// non-ASCII text as UTF-8.
pub fn ps1_text(text: &str) -> String {
    format!("\u{feff}{}", crlf(text))
}

/// UTF-16 LE with a byte-order mark: what schtasks reads, and the MSI's text streams.
pub fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xff, 0xfe];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rule_and_encodings() {
        assert_eq!(check_text("a \"b\" %c% ^&! `$x` é\t"), Ok(()));
        assert_eq!(check_text("a\nb"), Err(BadText::LineBreak));
        assert_eq!(check_text("a\u{7}"), Err(BadText::Control));
        assert_eq!(crlf("a\nb\r\nc"), "a\r\nb\r\nc");
        assert_eq!(ps1_text("x\n").as_bytes()[..3], [0xef, 0xbb, 0xbf]);
        assert_eq!(utf16le_bom("é"), [0xff, 0xfe, 0xe9, 0x00]);
        assert_eq!(
            msi_formatted("{dir}\\a [b] {c} {dir} {programdata}\\d"),
            "[INSTALLDIR]a [\\[]b[\\]] [\\{]c[\\}] [INSTALLDIR]. [CommonAppDataFolder]d"
        );
    }
}
