//! `cargo winpkg size` for a person: the exe's sections, and what each lever measured.

use std::io::Write;

use crate::pipeline::sizing::SizeReport;

/// The human report: the section table, then the trials.
pub fn render(r: &SizeReport, out: &mut dyn Write) -> std::io::Result<()> {
    let b = &r.breakdown;
    let kib = crate::check::kib;
    let pct = |n: u64| n * 100 / b.size.max(1);
    writeln!(
        out,
        "{} ({} profile): {}, {} zipped",
        b.path.display(),
        r.profile,
        kib(b.size),
        kib(b.zipped)
    )?;
    writeln!(out, "  {:<16} {:>10} {:>4}", "SECTION", "BYTES", "%")?;
    writeln!(
        out,
        "  {:<16} {:>10} {:>3}%",
        "(headers)",
        b.headers,
        pct(b.headers)
    )?;
    for s in &b.sections {
        writeln!(out, "  {:<16} {:>10} {:>3}%", s.name, s.size, pct(s.size))?;
    }
    if b.symbols > 0 {
        writeln!(
            out,
            "  {:<16} {:>10} {:>3}%",
            "(COFF symbols)",
            b.symbols,
            pct(b.symbols)
        )?;
    }
    if b.trailing > 0 {
        writeln!(
            out,
            "  {:<16} {:>10} {:>3}%",
            "(after sections)",
            b.trailing,
            pct(b.trailing)
        )?;
    }
    writeln!(
        out,
        "  debug info and symbols: {} ({}%)",
        kib(b.dwarf + b.symbols),
        pct(b.dwarf + b.symbols)
    )?;
    if r.trials.is_empty() {
        if !r.unset_levers.is_empty() {
            writeln!(
                out,
                "  not set in [profile.{}]: {}; `cargo winpkg size --try` measures each",
                r.profile,
                r.unset_levers.join(", ")
            )?;
        }
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "  {:<22} {:>10} {:>10} {:>8}",
        "LEVER", "EXE", "ZIPPED", "CHANGE"
    )?;
    let base = r.trials[0].size.max(1) as f64;
    for t in &r.trials {
        let change = (t.size as f64 - base) * 100.0 / base;
        writeln!(
            out,
            "  {:<22} {:>10} {:>10} {:>7.1}%",
            t.lever,
            kib(t.size),
            kib(t.zipped),
            change
        )?;
    }
    Ok(())
}
