//! GitHub Actions workflow commands: one annotation per diagnostic, then the human
//! report (without colour) so the log stays readable.

use std::io::{self, Write};

use crate::check::Report;
use crate::check::Severity;

/// Escape a message for a workflow command (`%`, CR and LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (`file=`, `title=`): also `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for d in &report.diagnostics {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut props = Vec::new();
        if let Some(file) = &d.file {
            props.push(format!("file={}", escape_property(&file.to_string_lossy())));
        }
        props.push(format!("title={}", escape_property(d.code.as_str())));
        let mut text = d.message.clone();
        if let Some(help) = &d.help {
            text.push_str("\nhelp: ");
            text.push_str(help);
        }
        writeln!(out, "::{kind} {}::{}", props.join(","), escape_data(&text))?;
    }
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
