//! Command-line definitions. Only this file and main.rs know about argv.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "cargo winpkg",
    bin_name = "cargo winpkg",
    version,
    about = "Turn a Rust crate into a Windows deliverable you can trust",
    long_about = "Turn a Rust crate into a Windows deliverable you can trust.\n\n\
`cargo winpkg check` reads the import tables (normal and delay-load) of any PE file \
and judges every DLL against what a vanilla Windows has."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check PE files (exe, dll, pyd, node, sys, efi) for DLLs a clean Windows lacks.
    Check(CheckArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
#[command(after_help = crate::cli::CODES_HELP)]
pub struct CheckArgs {
    /// Files or folders to check; folders are searched recursively for PE files
    /// (by content, not by extension).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// The oldest Windows release the program must run on.
    #[arg(long, value_name = "RELEASE", default_value = "10",
          value_parser = ["7", "8", "8.1", "10", "11"])]
    pub min_windows: String,

    /// Accept a DLL the target provides (e.g. the host's python3.dll); `*` is a wildcard.
    /// Repeatable.
    #[arg(long = "allow", value_name = "DLL")]
    pub allow: Vec<String>,

    /// Also resolve DLLs from this folder (after the application folder). Repeatable.
    #[arg(long = "dll-dir", value_name = "DIR")]
    pub dll_dirs: Vec<PathBuf>,

    /// Make a diagnostic code an error. Repeatable.
    #[arg(short = 'D', long = "deny", value_name = "CODE")]
    pub deny: Vec<String>,

    /// Make a diagnostic code a warning. Repeatable.
    #[arg(short = 'W', long = "warn", value_name = "CODE")]
    pub warn: Vec<String>,

    /// Silence a diagnostic code. Repeatable.
    #[arg(short = 'A', long = "allow-code", value_name = "CODE")]
    pub allow_code: Vec<String>,

    /// When to colour the human report.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

pub const CODES_HELP: &str = "\
Diagnostic codes (default level):
  missing-vc-redist           error    imports the Visual C++ runtime (vcruntime140.dll, msvcp140.dll...)
  debug-crt                   error    imports a debug C runtime (ucrtbased.dll, vcruntime140d.dll...)
  missing-mingw-runtime       error    imports the MinGW runtime (libstdc++-6.dll...) and it is not shipped
  missing-dll                 error    imports a third-party DLL that was not found
  delay-load-missing          warning  a delay-loaded DLL may be missing (fails only when called)
  ucrt-needs-update           note     Universal CRT on a minimum Windows below 10
  dll-not-in-windows-version  error    a system DLL the minimum Windows release lacks
  machine-mismatch            error    a resolved DLL is built for another machine
  unmatched-allow             warning  an --allow entry matched nothing

Exit status: 0 no error-level diagnostic, 1 at least one, 2 usage error or unreadable input.";
