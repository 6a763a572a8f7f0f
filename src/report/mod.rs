//! Renderers: the only place that knows about terminals and output formats.

mod github;
mod human;
mod sarif;

use std::io::{self, Write};

use crate::check::Report;

pub use human::{render as human, render_problems};

/// The output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A readable report per file, problems first, each with its fix.
    Human,
    /// One JSON document on stdout (the contract in README.md).
    Json,
    /// GitHub Actions workflow commands (`::error file=...::`).
    Github,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// Write `report` in `format` to `out`. `color` applies to the human format only.
pub fn write(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::render(report, color, out),
        // Serialized into memory first: through `dyn Write`, every token would be a
        // virtual call into the buffered writer (a fifth of the time on big reports).
        Format::Json => {
            let mut text = serde_json::to_vec_pretty(report).map_err(json_error)?;
            text.push(b'\n');
            out.write_all(&text)
        }
        Format::Github => github::render(report, out),
        Format::Sarif => {
            let mut text = serde_json::to_vec_pretty(&sarif::render(report)).map_err(json_error)?;
            text.push(b'\n');
            out.write_all(&text)
        }
    }
}

/// Keep the I/O error kind (a closed pipe stays a closed pipe) when serde_json wraps it.
fn json_error(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::from(kind),
        None => io::Error::other(e),
    }
}
