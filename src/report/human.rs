//! The human report: per file a header, its problems with their fixes, then its DLLs
//! grouped by class. Colour only when asked (the CLI asks on a terminal).

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use crate::check::{Diagnostic, FileReport, ImportReport, Report, Severity, group_by_dll};
use crate::dlls::Class;

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

fn severity_style(s: Severity) -> Style {
    let color = match s {
        Severity::Error => AnsiColor::Red,
        Severity::Warning => AnsiColor::Yellow,
        Severity::Note => AnsiColor::Cyan,
    };
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

/// Classes in the order the table lists them: what needs attention first.
const CLASS_ORDER: [Class; 7] = [
    Class::DebugCrt,
    Class::VcRedist,
    Class::MingwRuntime,
    Class::ThirdParty,
    Class::Host,
    Class::ApiSet,
    Class::System,
];

pub fn render(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    // Through a buffer of a concrete type: a report is many small writes.
    let mut w = io::BufWriter::with_capacity(64 << 10, out);
    render_to(report, color, &mut w)?;
    w.flush()
}

pub(super) fn render_to<W: Write>(report: &Report, color: bool, out: &mut W) -> io::Result<()> {
    let p = Paint { on: color };
    // Each file's diagnostics, found in one pass (in report order).
    let mut by_file: std::collections::HashMap<&std::path::Path, Vec<&Diagnostic>> =
        std::collections::HashMap::new();
    for d in &report.diagnostics {
        if let Some(f) = &d.file {
            by_file.entry(f.as_path()).or_default().push(d);
        }
    }
    for file in &report.files {
        let diags = by_file
            .get(file.path.as_path())
            .map_or(&[][..], Vec::as_slice);
        render_file(&p, file, diags, out)?;
    }
    // Diagnostics of no file, or of a file with no report (it could not be read).
    let reported: std::collections::HashSet<&std::path::Path> =
        report.files.iter().map(|f| f.path.as_path()).collect();
    let general: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.file.as_deref().is_none_or(|p| !reported.contains(p)))
        .collect();
    for d in &general {
        render_diag(&p, d, "", out)?;
    }
    if !general.is_empty() {
        writeln!(out)?;
    }
    render_summary(&p, report, out)
}

/// The problems only, each naming its file: what a build shows unless asked for more
/// (`-v`); the build's own `Checked` and `Trust` lines carry the counts, once. With
/// `errors_only`, error-level problems only (`-q`).
pub fn render_problems(
    report: &Report,
    color: bool,
    errors_only: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let p = Paint { on: color };
    for d in &report.diagnostics {
        if errors_only && d.severity != Severity::Error {
            continue;
        }
        render_diag(&p, d, "", out)?;
    }
    Ok(())
}

fn render_summary<W: Write + ?Sized>(p: &Paint, report: &Report, out: &mut W) -> io::Result<()> {
    let (e, w, n) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Note),
    );
    let plural = crate::words::count;
    let summary = format!(
        "checked {}: {}, {}, {}",
        plural(report.files.len(), "file"),
        plural(e, "error"),
        plural(w, "warning"),
        plural(n, "note")
    );
    let style = if e > 0 {
        severity_style(Severity::Error)
    } else {
        Style::new()
            .fg_color(Some(AnsiColor::Green.into()))
            .effects(Effects::BOLD)
    };
    writeln!(out, "{}", p.paint(style, &summary))
}

fn render_diag<W: Write + ?Sized>(
    p: &Paint,
    d: &Diagnostic,
    indent: &str,
    out: &mut W,
) -> io::Result<()> {
    let head = format!("{}[{}]", d.severity.as_str(), d.code);
    writeln!(
        out,
        "{indent}{}: {}",
        p.paint(severity_style(d.severity), &head),
        d.message
    )?;
    if let Some(help) = &d.help {
        let bold = Style::new().effects(Effects::BOLD);
        writeln!(out, "{indent}  {} {help}", p.paint(bold, "= help:"))?;
    }
    Ok(())
}

fn describe(f: &FileReport) -> String {
    let mut parts = vec![format!(
        "{} {} {}",
        f.machine,
        f.format,
        if f.dll { "dll" } else { "exe" }
    )];
    parts.push(f.subsystem.to_string());
    parts.push(format!("subsystem {}", f.subsystem_version));
    let c = &f.characteristics;
    let mut flags = Vec::new();
    for (on, name) in [
        (c.aslr, "ASLR"),
        (c.high_entropy_va, "HEVA"),
        (c.dep, "DEP"),
        (c.cfg, "CFG"),
    ] {
        if on {
            flags.push(name);
        }
    }
    if !flags.is_empty() {
        parts.push(flags.join("+"));
    }
    parts.push(match &f.signature {
        None => "unsigned".into(),
        Some(s) if s.digest_matches != Some(true) => "signature broken".into(),
        Some(s) => format!(
            "signed{}{}",
            s.subject
                .as_deref()
                .map(|x| format!(" by {x}"))
                .unwrap_or_default(),
            if s.timestamped { ", timestamped" } else { "" }
        ),
    });
    if let Some(v) = &f.version {
        let name = v
            .string("FileDescription")
            .or(v.string("ProductName"))
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default();
        parts.push(format!(
            "version {}{name}",
            v.string("FileVersion").unwrap_or(&v.file_version)
        ));
    }
    if f.service_dispatcher {
        parts.push("native service".into());
    }
    if let Some(h) = f.host {
        parts.push(format!("loaded by {h}: its DLLs are host"));
    }
    parts.join(", ")
}

fn render_file<W: Write>(
    p: &Paint,
    f: &FileReport,
    diags: &[&Diagnostic],
    out: &mut W,
) -> io::Result<()> {
    let bold = Style::new().effects(Effects::BOLD);
    writeln!(
        out,
        "{}  ({})",
        p.paint(bold, &f.path.display().to_string()),
        describe(f)
    )?;
    if let Some(by) = &f.needed_by {
        writeln!(out, "  needed by {}", by.display())?;
    }
    for d in diags {
        render_diag(p, d, "  ", out)?;
    }
    if f.imports.is_empty() {
        writeln!(out, "  no imports")?;
        return writeln!(out);
    }
    render_imports(p, f, out)
}

/// The DLL's names as written (two descriptors may spell it differently), and whether
/// it is delay-loaded.
fn dll_label(g: &[&ImportReport]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for i in g {
        if !names.contains(&i.dll.as_str()) {
            names.push(&i.dll);
        }
    }
    let mut s = names.join(", ");
    if g.iter().all(|i| i.delay) {
        s.push_str(" (delay)");
    } else if g.iter().any(|i| i.delay) {
        s.push_str(" (+delay)");
    }
    s
}

/// The table of a file's DLLs, by class.
fn render_imports<W: Write>(p: &Paint, f: &FileReport, out: &mut W) -> io::Result<()> {
    // Merge descriptors that name the same DLL in another case or table.
    let mut rows: Vec<(Class, Vec<&ImportReport>)> = group_by_dll(&f.imports)
        .into_iter()
        .map(|g| (g[0].class, g))
        .collect();
    rows.sort_by_key(|(class, _)| CLASS_ORDER.iter().position(|c| c == class));
    let name_of = |g: &[&ImportReport]| dll_label(g);
    let width = rows
        .iter()
        .map(|(_, g)| name_of(g).len())
        .max()
        .unwrap_or(0)
        .max(3);
    let dim = Style::new().effects(Effects::DIMMED);
    writeln!(
        out,
        "  {}",
        p.paint(
            dim,
            &format!("{:<13}  {:<width$}  {:>5}  WHERE", "CLASS", "DLL", "FUNCS")
        )
    )?;
    for (class, g) in rows {
        let funcs: usize = g.iter().map(|i| i.functions.len()).sum();
        let resolved = g.iter().find_map(|i| i.resolved.as_ref());
        let (where_, style) = if g[0].allowed {
            ("allowed".to_string(), Style::new())
        } else if let Some(r) = resolved {
            (
                r.display().to_string(),
                Style::new().fg_color(Some(AnsiColor::Green.into())),
            )
        } else if class == Class::Host {
            ("the host process".to_string(), Style::new())
        } else if class.must_ship() {
            ("MISSING".to_string(), severity_style(Severity::Error))
        } else if let Some(since) = g[0].since {
            (format!("Windows {}+", since.as_str()), Style::new())
        } else {
            ("Windows".to_string(), Style::new())
        };
        writeln!(
            out,
            "  {:<13}  {:<width$}  {:>5}  {}",
            class.as_str(),
            name_of(&g),
            funcs,
            p.paint(style, &where_)
        )?;
    }
    writeln!(out)
}
