//! `cargo winpkg` / `cargo-winpkg`: argv in, exit code out. Exit codes are mapped in one
//! place, [`cargo_winpkg::Error::exit_code`] (plus 1 for findings).

mod cli;
mod ui;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use cargo_winpkg::check;
use cargo_winpkg::error::{EXIT_FINDINGS, EXIT_USAGE, UsageError};
use cargo_winpkg::report::{self, Format};
use cargo_winpkg::{Error, init, pipeline, verify};
use cli::{
    BuildArgs, BuildFormat, CheckArgs, Cli, ColorChoice, Command, InitArgs, SizeArgs, VerifyArgs,
};
use ui::Ui;

/// How a command ends when it did not fail outright.
enum Done {
    Ok,
    /// Error-level findings: exit code 1.
    Findings,
    /// Some runs of several failed (each said why): the code the worst one gives.
    Failed(u8),
}

fn main() -> ExitCode {
    tune_allocator();
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
    if cli.command.is_none() {
        match (&cli.build.pkg_version, &cli.build.exe) {
            (Some(v), _) if v.is_empty() => {
                println!("cargo-winpkg {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            (Some(_), None) => {
                eprintln!("error: --version VERSION sets the version of an --exe package");
                return ExitCode::from(EXIT_USAGE);
            }
            _ => {}
        }
    }
    let result = match cli.command {
        Some(Command::Check(args)) => run_check(args),
        Some(Command::Verify(args)) => run_verify(args),
        Some(Command::Init(args)) => run_init(args),
        Some(Command::Size(args)) => run_size(args),
        Some(Command::WineStage) => return ExitCode::from(verify::sandbox::stage_main()),
        None => run_build(cli.build),
    };
    match result {
        Ok(Done::Ok) => ExitCode::SUCCESS,
        Ok(Done::Findings) => ExitCode::from(EXIT_FINDINGS),
        Ok(Done::Failed(code)) => ExitCode::from(code),
        Err(e) => {
            if !e.already_reported() {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// One JSON document on stdout, buffered.
fn print_json(value: &impl serde::Serialize) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
    let _ = out.flush();
}

fn run_size(args: SizeArgs) -> Result<Done, Error> {
    let b = &args.build;
    let human = b.format == BuildFormat::Human;
    let ui = Ui::new(b.quiet, b.verbose > 0, b.color, human);
    let reports = pipeline::size(&b.options(), args.try_levers, &ui)?;
    if human {
        let mut out = std::io::stdout().lock();
        for r in &reports {
            let _ = report::size::render(r, &mut out);
        }
    } else {
        print_json(&reports);
    }
    Ok(Done::Ok)
}

fn run_build(args: BuildArgs) -> Result<Done, Error> {
    let human = args.format == BuildFormat::Human;
    let ui = Ui::new(args.quiet, args.verbose > 0, args.color, human);
    let summary = pipeline::run(&args.options(), &ui)?;
    if human {
        ui::build_summary(&summary);
    } else {
        print_json(&summary);
    }
    if let Some(code) = summary.failed.iter().map(|f| f.exit_code).max() {
        let names: Vec<String> = summary
            .failed
            .iter()
            .map(|f| format!("{} for {}", f.package, f.target))
            .collect();
        ui.error_line(&format!(
            "{} of {} runs stopped with an error (said above): {}",
            names.len(),
            names.len() + summary.packages.len(),
            names.join(", ")
        ));
        return Ok(Done::Failed(code));
    }
    if summary.ok || args.no_fail {
        return Ok(Done::Ok);
    }
    if !args.quiet {
        ui.error_line(
            "the DLL check found errors (see above); fix them, or pass --no-fail to go on anyway",
        );
    }
    Ok(Done::Findings)
}

fn run_verify(args: VerifyArgs) -> Result<Done, Error> {
    let opts = args.options()?;
    let human = args.format == BuildFormat::Human;
    // The step lines go to stdout.
    let color = ui::color_on(ColorChoice::Auto, std::io::stdout().is_terminal());
    let progress = |s: &verify::Step| {
        if human {
            ui::verify_step(s, color);
        }
    };
    let v = verify::verify(&args.zip, &opts, &progress)?;
    if human {
        ui::verify_summary(&v);
    } else {
        print_json(&v);
    }
    Ok(if v.ok { Done::Ok } else { Done::Findings })
}

fn run_init(args: InitArgs) -> Result<Done, Error> {
    let flags = pipeline::CargoFlags {
        manifest_path: args.manifest_path,
        ..pipeline::CargoFlags::default()
    };
    let opts = init::InitOptions {
        package: args.package,
        service: args.service,
        target: args.target,
    };
    let done = init::init(&flags, &opts)?;
    println!("added to {}:\n{}", done.manifest.display(), done.table);
    println!("next: cargo winpkg --release");
    Ok(Done::Ok)
}

/// glibc grows and trims each thread's heap a page range at a time (an `mprotect`
/// under the address-space lock per step: about 900 of them checking a folder of 700
/// DLLs). Growing and trimming in bigger steps costs no memory that is not used.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc allocator parameters; called before any thread
    // is started, with values glibc accepts.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 8 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}

fn run_check(args: CheckArgs) -> Result<Done, Error> {
    let options = args.options()?;
    let format = Format::from(args.format);
    // Archives (zip, wheel, nupkg, vsix, MSI) are checked as the folders they unpack to.
    let inputs = cargo_winpkg::archive::Inputs::prepare(
        &args.paths,
        &cargo_winpkg::verify::Limits::default(),
    )
    .map_err(UsageError::from)?;
    let many = inputs.paths.len() > 1 || inputs.paths.iter().any(|p| p.is_dir());
    let bar = (many && matches!(format, Format::Human | Format::Json))
        .then(|| ui::spinner("{spinner} checked {pos} files {elapsed}", ""))
        .flatten();
    let result = check::check_with_progress(&inputs.paths, &options, &|n| {
        if let Some(bar) = &bar {
            bar.inc(n as u64);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut report = result;
    inputs.relabel(&mut report);
    let color = ui::color_on(args.color, std::io::stdout().is_terminal());
    // Buffered: stdout is line-buffered, and a JSON report has a line per field.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if let Err(e) = report::write(&report, format, color, &mut out).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is not worth a message.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Err(Error::OutputClosed);
        }
        return Err(UsageError::WriteReport(e).into());
    }
    drop(out);
    let done = if report.has_errors() {
        Done::Findings
    } else {
        Done::Ok
    };
    let unreadable = std::mem::take(&mut report.unreadable);
    // The process exits next: freeing a big report's every name and string one by one
    // would take longer than checking a small file.
    std::mem::forget(report);
    if !unreadable.is_empty() {
        // Every readable file is reported above; the unreadable ones end it with 2.
        return Err(Error::Check(unreadable));
    }
    Ok(done)
}
