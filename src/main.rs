//! `cargo winpkg` / `cargo-winpkg`: argv in, exit code out.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cargo_winpkg::build;
use cargo_winpkg::check::{self, CheckOptions};
use cargo_winpkg::classify::Release;
use cargo_winpkg::cli::{
    BuildArgs, BuildFormat, CheckArgs, Cli, ColorChoice, Command, InitArgs, VerifyArgs,
};
use cargo_winpkg::policy::{AllowRule, Code, Level, Policy};
use cargo_winpkg::report::{self, Format};
use cargo_winpkg::verify;

/// Exit codes: the contract CI relies on.
const EXIT_FINDINGS: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    // As a cargo subcommand we are run as `cargo-winpkg winpkg ...`; drop that word.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "winpkg") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors with exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match cli.command {
        Some(Command::Check(args)) => run_check(args),
        Some(Command::Verify(args)) => run_verify(args),
        Some(Command::Init(args)) => run_init(args),
        None => run_build(cli.build),
    }
}

fn color_on(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn run_build(args: BuildArgs) -> ExitCode {
    let color = color_on(args.color, std::io::stderr().is_terminal());
    match build::run(&args, color) {
        Ok(summary) => {
            if args.format == BuildFormat::Json {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                let _ = serde_json::to_writer_pretty(&mut out, &summary);
                let _ = writeln!(out);
            }
            if summary.ok || args.no_fail {
                ExitCode::SUCCESS
            } else {
                if !args.quiet {
                    eprintln!(
                        "error: the DLL check found errors (see above); fix them, or pass --no-fail to go on anyway"
                    );
                }
                ExitCode::from(EXIT_FINDINGS)
            }
        }
        Err(build::Failure::Cargo(code)) => ExitCode::from(u8::try_from(code).unwrap_or(101)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE))
        }
    }
}

fn run_verify(args: VerifyArgs) -> ExitCode {
    let policy = match args.min_windows.parse::<Release>() {
        Ok(min_windows) => Policy {
            min_windows,
            ..Policy::default()
        },
        Err(m) => return usage_error(m),
    };
    let opts = verify::Options {
        wine: args.wine,
        timeout: std::time::Duration::from_secs(args.timeout),
        keep: args.keep,
        service: args.service.clone(),
        policy,
    };
    let human = args.format == BuildFormat::Human;
    let color = color_on(ColorChoice::Auto, std::io::stderr().is_terminal());
    let progress = |s: &verify::Step| {
        if !human {
            return;
        }
        let (mark, style) = if s.ok {
            ("ok  ", anstyle::AnsiColor::Green)
        } else {
            ("FAIL", anstyle::AnsiColor::Red)
        };
        let style = anstyle::Style::new()
            .fg_color(Some(style.into()))
            .effects(anstyle::Effects::BOLD);
        let mark = if color {
            format!("{}{mark}{}", style.render(), style.render_reset())
        } else {
            mark.to_string()
        };
        println!("{mark} {:<24} {:>6.1}s  {}", s.name, s.seconds, s.detail);
    };
    match verify::verify(&args.zip, &opts, &progress) {
        Ok(v) => {
            if human {
                for (k, val) in &v.registry {
                    println!("     {k} = {}", val.replace('\n', " | "));
                }
                if let Some(p) = &v.prefix {
                    println!("kept the Wine prefix in {}", p.display());
                }
                let failed = v.steps.iter().filter(|s| !s.ok).count();
                if failed == 0 {
                    println!(
                        "verified {}: {} steps passed",
                        v.zip.display(),
                        v.steps.len()
                    );
                } else {
                    println!(
                        "{} of {} steps failed for {}",
                        failed,
                        v.steps.len(),
                        v.zip.display()
                    );
                }
            } else {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                let _ = serde_json::to_writer_pretty(&mut out, &v);
                let _ = writeln!(out);
            }
            if v.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FINDINGS)
            }
        }
        Err(e) => usage_error(e),
    }
}

fn run_init(args: InitArgs) -> ExitCode {
    let build = BuildArgs {
        manifest_path: args.manifest_path,
        packages: args.package.into_iter().collect(),
        ..BuildArgs::default()
    };
    let opts = cargo_winpkg::init::InitOptions {
        service: args.service,
        target: args.target,
    };
    match cargo_winpkg::init::init(&build, &opts) {
        Ok(done) => {
            println!("added to {}:\n{}", done.manifest.display(), done.table);
            println!("next: cargo winpkg --release");
            ExitCode::SUCCESS
        }
        Err(m) => usage_error(m),
    }
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(EXIT_USAGE)
}

fn policy_from(args: &CheckArgs) -> Result<Policy, String> {
    let mut policy = Policy {
        min_windows: args.min_windows.parse::<Release>()?,
        allow: args
            .allow
            .iter()
            .map(|name| AllowRule {
                name: name.clone(),
                reason: None,
            })
            .collect(),
        ..Policy::default()
    };
    for (codes, level) in [
        (&args.deny, Level::Deny),
        (&args.warn, Level::Warn),
        (&args.allow_code, Level::Allow),
    ] {
        for code in codes {
            policy.levels.insert(code.parse::<Code>()?, level);
        }
    }
    Ok(policy)
}

fn run_check(args: CheckArgs) -> ExitCode {
    let policy = match policy_from(&args) {
        Ok(p) => p,
        Err(msg) => return usage_error(msg),
    };
    for dir in &args.dll_dirs {
        if !dir.is_dir() {
            return usage_error(format!("--dll-dir {}: not a folder", dir.display()));
        }
    }
    let options = CheckOptions {
        policy,
        dll_dirs: args.dll_dirs.clone(),
    };
    let bar = progress_bar(&args);
    let result = check::check_with_progress(&args.paths, &options, &|n| {
        if let Some(bar) = &bar {
            bar.inc(n as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(r) => r,
        Err(errors) => {
            for e in &errors {
                match &e.needed_by {
                    Some(by) => eprintln!("error: {e} (needed by {})", by.display()),
                    None => eprintln!("error: {e}"),
                }
            }
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let color = color_on(args.color, std::io::stdout().is_terminal());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(e) = report::write(&report, args.format, color, &mut out)
        .and_then(|()| out.flush())
        .context("cannot write the report")
    {
        // A closed pipe (`| head`) is not worth a message.
        if !is_broken_pipe(&e) {
            eprintln!("error: {e:#}");
        }
        return ExitCode::from(EXIT_USAGE);
    }
    if report.has_errors() {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A bar on a terminal when there is enough to wait for; nothing in CI logs.
fn progress_bar(args: &CheckArgs) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal()
        || args.format != Format::Human && args.format != Format::Json
    {
        return None;
    }
    let many = args.paths.len() > 1 || args.paths.iter().any(|p| p.is_dir());
    if !many {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} checked {pos} files {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
