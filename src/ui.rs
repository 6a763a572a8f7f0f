//! The one place that writes progress to the terminal: stage lines, warnings, spinners,
//! the human report of a build, verify's step lines; colour decided once, `--quiet`
//! honoured. The library reaches it through [`Listener`].

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anstyle::{AnsiColor, Effects, Style};
use cargo_winpkg::check::Report;
use cargo_winpkg::events::Listener;
use cargo_winpkg::report::{self, Format};
use cargo_winpkg::verify::Step;

use crate::cli::ColorChoice;

/// Colour on one stream, `terminal` saying whether that stream (not another) is a
/// terminal: `--color always|never` first, then `CARGO_TERM_COLOR` (as cargo reads it),
/// then `NO_COLOR`, then whether the stream is a terminal.
pub fn color_on(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => match std::env::var("CARGO_TERM_COLOR").as_deref() {
            Ok("always") => true,
            Ok("never") => false,
            _ => terminal && std::env::var_os("NO_COLOR").is_none(),
        },
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

fn bold(color: AnsiColor) -> Style {
    Style::new()
        .fg_color(Some(color.into()))
        .effects(Effects::BOLD)
}

/// A spinner on a terminal; nothing in CI logs.
pub fn spinner(template: &str, message: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// The terminal side of a build run.
pub struct Ui {
    pub quiet: bool,
    /// `-v`: the whole report of every file, import tables included.
    pub verbose: bool,
    /// Colour on stderr (stage lines).
    pub color: bool,
    /// Colour on stdout (the report).
    pub report_color: bool,
    /// Human output (the report on stdout); false for `--format json`.
    pub human: bool,
    busy: RefCell<Option<indicatif::ProgressBar>>,
}

impl Ui {
    pub fn new(quiet: bool, verbose: bool, choice: ColorChoice, human: bool) -> Ui {
        Ui {
            quiet,
            verbose,
            color: color_on(choice, std::io::stderr().is_terminal()),
            report_color: color_on(choice, std::io::stdout().is_terminal()),
            human,
            busy: RefCell::new(None),
        }
    }

    /// `error: ...` on stderr.
    pub fn error_line(&self, message: &str) {
        eprintln!("error: {message}");
    }
}

impl Listener for Ui {
    fn stage(&self, verb: &str, text: &str) {
        if self.quiet {
            return;
        }
        eprintln!(
            "{} {text}",
            paint(self.color, bold(AnsiColor::Green), &format!("{verb:>12}"))
        );
    }

    fn warning(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    fn error(&self, message: &str) {
        if self.human {
            self.error_line(message);
        }
    }

    fn report(&self, report: &Report) {
        if !self.human {
            return;
        }
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        // Like cargo: problems and a summary; the whole table with -v; errors with -q.
        let _ = if self.verbose {
            report::write(report, Format::Human, self.report_color, &mut out)
        } else {
            report::render_problems(report, self.report_color, self.quiet, &mut out)
        };
    }

    fn command(&self, line: &str) {
        eprintln!("     Running `{line}`");
    }

    fn passthrough(&self, line: &str) {
        eprintln!("{line}");
    }

    fn busy(&self, text: &str) {
        if !self.quiet {
            *self.busy.borrow_mut() = spinner("{spinner} {msg} {elapsed}", text);
        }
    }

    fn done(&self) {
        if let Some(bar) = self.busy.borrow_mut().take() {
            bar.finish_and_clear();
        }
    }
}

/// One verify step as a line: `ok`, `FAIL`, or `--` for an info step.
pub fn verify_step(s: &Step, color: bool) {
    let (mark, style) = match (s.check, s.ok) {
        (false, _) => ("--  ", Style::new().effects(Effects::DIMMED)),
        (true, true) => ("ok  ", bold(AnsiColor::Green)),
        (true, false) => ("FAIL", bold(AnsiColor::Red)),
    };
    println!(
        "{} {:<30} {:>6.1}s  {}",
        paint(color, style, mark),
        s.name,
        s.seconds,
        s.detail
    );
    let _ = std::io::stdout().flush();
}

/// After a run of several packages or targets: one line each, with its result and
/// what it wrote.
pub fn build_summary(s: &cargo_winpkg::pipeline::Summary) {
    if s.packages.len() + s.failed.len() < 2 {
        return;
    }
    let mut rows: Vec<[String; 4]> = vec![[
        "PACKAGE".into(),
        "TARGET".into(),
        "RESULT".into(),
        "WROTE".into(),
    ]];
    for o in &s.packages {
        let errors = o.check.count(cargo_winpkg::check::Severity::Error)
            + o.bundle_check
                .as_ref()
                .map_or(0, |b| b.count(cargo_winpkg::check::Severity::Error));
        let mut wrote: Vec<String> = o
            .archive
            .iter()
            .map(|a| a.path.display().to_string())
            .collect();
        wrote.extend(o.msi.iter().map(|m| m.path.display().to_string()));
        rows.push([
            o.package.clone(),
            o.target.clone(),
            if errors == 0 {
                "ok".into()
            } else {
                format!("{errors} DLL error(s)")
            },
            wrote.join(", "),
        ]);
    }
    for f in &s.failed {
        rows.push([
            f.package.clone(),
            f.target.clone(),
            "failed".into(),
            f.error.lines().next().unwrap_or_default().to_string(),
        ]);
    }
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    println!();
    for r in &rows {
        println!("{:w0$}  {:w1$}  {:w2$}  {}", r[0], r[1], r[2], r[3]);
    }
}

/// After verify's step lines: the registry values read back, the kept prefix, and the
/// verdict.
pub fn verify_summary(v: &cargo_winpkg::verify::Verification) {
    for f in &v.findings {
        println!("     {f}");
    }
    for (k, val) in &v.registry {
        println!("     {k} = {}", val.replace('\n', " | "));
    }
    if let Some(p) = &v.prefix {
        println!("kept the Wine prefix in {}", p.display());
    }
    let (passed, failed) = v.tally();
    if failed == 0 {
        println!("verified {}: {passed} checks passed", v.zip.display());
    } else {
        println!(
            "{failed} of {} checks failed for {}",
            passed + failed,
            v.zip.display()
        );
    }
}
