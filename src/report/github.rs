//! GitHub Actions workflow commands: one annotation per diagnostic, then the human
//! report (without colour) so the log stays readable.

use std::io::{self, Write};

use crate::check::Report;
use crate::check::Severity;

/// Escape a message for a workflow command (`%`, CR and LF).
#[cfg(test)]
fn escape_data(s: &str) -> String {
    let mut out = Vec::new();
    escape(&mut out, s, false).unwrap_or_default();
    String::from_utf8(out).unwrap_or_default()
}

/// Escape a property value (`file=`, `title=`): also `:` and `,`.
#[cfg(test)]
fn escape_property(s: &str) -> String {
    let mut out = Vec::new();
    escape(&mut out, s, true).unwrap_or_default();
    String::from_utf8(out).unwrap_or_default()
}

/// Write `s` escaped, in runs between the characters that need it; `property` escapes
/// `:` and `,` as well.
fn escape<W: Write>(w: &mut W, s: &str, property: bool) -> io::Result<()> {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let code: &[u8] = match b {
            b'%' => b"%25",
            b'\r' => b"%0D",
            b'\n' => b"%0A",
            b':' if property => b"%3A",
            b',' if property => b"%2C",
            _ => continue,
        };
        w.write_all(&s.as_bytes()[start..i])?;
        w.write_all(code)?;
        start = i + 1;
    }
    w.write_all(&s.as_bytes()[start..])
}

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // Through a buffer of a concrete type: many small writes per annotation.
    let mut w = io::BufWriter::with_capacity(64 << 10, out);
    for d in &report.diagnostics {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        write!(w, "::{kind} ")?;
        if let Some(file) = &d.file {
            w.write_all(b"file=")?;
            escape(&mut w, &file.to_string_lossy(), true)?;
            w.write_all(b",")?;
        }
        w.write_all(b"title=")?;
        escape(&mut w, d.code.as_str(), true)?;
        w.write_all(b"::")?;
        escape(&mut w, &d.message, false)?;
        if let Some(help) = &d.help {
            w.write_all(b"%0Ahelp: ")?;
            escape(&mut w, help, false)?;
        }
        w.write_all(b"\n")?;
    }
    super::human::render_to(report, false, &mut w)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("C:\\a,b"), "C%3A\\a%2Cb");
    }
}
