//! GitHub Actions workflow commands: one annotation per diagnostic, then the human
//! report (without colour) so the log stays readable.

use std::io::{self, Write};

use crate::check::Report;
use crate::check::Severity;

/// Escape a message for a workflow command (`%`, CR and LF).
fn escape_data(s: &str) -> String {
    escape(s, false)
}

/// Escape a property value (`file=`, `title=`): also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape(s, true)
}

/// One pass over `s`; `property` escapes `:` and `,` as well.
fn escape(s: &str, property: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // The annotations are built in memory and written at once.
    let mut text = String::new();
    for d in &report.diagnostics {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        text.push_str("::");
        text.push_str(kind);
        text.push(' ');
        if let Some(file) = &d.file {
            text.push_str("file=");
            text.push_str(&escape_property(&file.to_string_lossy()));
            text.push(',');
        }
        text.push_str("title=");
        text.push_str(&escape_property(d.code.as_str()));
        text.push_str("::");
        text.push_str(&escape_data(&d.message));
        if let Some(help) = &d.help {
            text.push_str(&escape_data("\nhelp: "));
            text.push_str(&escape_data(help));
        }
        text.push('\n');
    }
    out.write_all(text.as_bytes())?;
    super::human::render(report, false, out)
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
