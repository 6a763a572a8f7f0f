//! Renderers: the only place that knows about terminals and output formats.

mod github;
mod human;
mod sarif;
pub mod size;

use std::io::{self, Write};

use crate::check::Report;

pub use human::{render as human, render_problems};

/// The output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A readable report per file, problems first, each with its fix.
    Human,
    /// One JSON document on stdout (the contract in the book's check chapter).
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
        Format::Json => to_pretty(report, out),
        Format::Github => github::render(report, out),
        Format::Sarif => to_pretty(&sarif::render(report), out),
    }
}

/// `value` as pretty JSON (two-space indents, byte for byte what
/// `serde_json::to_writer_pretty` writes) and a newline. Through a buffer of our own:
/// through `dyn Write` every token would be a virtual call, and a report in one
/// `Vec` would cost a page fault per 4 KiB of it.
fn to_pretty<T: serde::Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(64 << 10, out);
    let mut ser = serde_json::Serializer::with_formatter(
        &mut w,
        Pretty {
            depth: 0,
            has_value: false,
        },
    );
    value.serialize(&mut ser).map_err(json_error)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// serde_json's `PrettyFormatter`, but a new line and its indent are one write (serde
/// writes the indent a level at a time: five writes a line, deep in a report).
struct Pretty {
    depth: usize,
    has_value: bool,
}

/// A newline and up to 64 levels of indent.
const NEWLINE_INDENT: &[u8; 129] = &{
    let mut b = [b' '; 129];
    b[0] = b'\n';
    b
};

impl Pretty {
    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        let n = 1 + 2 * self.depth;
        if n <= NEWLINE_INDENT.len() {
            return w.write_all(&NEWLINE_INDENT[..n]);
        }
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl Pretty {
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Keep the I/O error kind (a closed pipe stays a closed pipe) when serde_json wraps it.
fn json_error(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::from(kind),
        None => io::Error::other(e),
    }
}
