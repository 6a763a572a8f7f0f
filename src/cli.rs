//! Command-line definitions, and their conversion into the library's options. Only
//! this file and main.rs know about argv (and clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use cargo_winpkg::check::{AllowRule, CheckOptions, Code, Level, Policy};
use cargo_winpkg::config::Builder;
use cargo_winpkg::dlls::{Host, Release};
use cargo_winpkg::error::UsageError;
use cargo_winpkg::pipeline::{self, BuildOptions, CargoFlags};
use cargo_winpkg::report::Format;
use cargo_winpkg::verify;
use cargo_winpkg::verify::probe::Probe;

#[derive(Debug, Parser)]
#[command(
    name = "cargo winpkg",
    bin_name = "cargo winpkg",
    version,
    disable_version_flag = true,
    about = "Turn a Rust crate into a Windows deliverable you can trust",
    long_about = "Turn a Rust crate into a Windows deliverable you can trust.\n\n\
Without a subcommand, `cargo winpkg [--release]` reads [package.metadata.winpkg], \
cross-builds the crate for Windows, checks every DLL the exe needs against what a vanilla \
Windows has, and writes a reproducible zip with the exe, its DLLs, a service manifest and \
install/uninstall scripts.\n\n\
`cargo winpkg check` does the DLL check on any PE file; `cargo winpkg verify --wine` \
installs a package on Wine's service control manager; `cargo winpkg init` adds a starting \
table to Cargo.toml."
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Build, check and package (the default when no subcommand is given).
    #[command(flatten)]
    pub build: BuildArgs,
}

/// `cargo winpkg [OPTIONS]`: cargo's own flags are forwarded to `cargo build`.
#[derive(Debug, Clone, Default, Args)]
pub struct BuildArgs {
    /// Build with the release profile.
    #[arg(short = 'r', long, help_heading = "Cargo build options")]
    pub release: bool,
    /// Build with the given profile.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "release",
        help_heading = "Cargo build options"
    )]
    pub profile: Option<String>,
    /// The Windows target triple (default: `target` from the config, else
    /// x86_64-pc-windows-msvc). Repeatable: one package per target, one summary.
    #[arg(long, value_name = "TRIPLE", help_heading = "Cargo build options")]
    pub target: Vec<String>,
    /// Package(s) to build and package. Repeatable.
    #[arg(
        short = 'p',
        long = "package",
        value_name = "SPEC",
        help_heading = "Cargo build options"
    )]
    pub packages: Vec<String>,
    /// The binary to package (default: `bin` from the config, else the only one, else default-run).
    #[arg(long, value_name = "NAME", help_heading = "Cargo build options")]
    pub bin: Option<String>,
    /// Features to activate (space or comma separated). Repeatable.
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Cargo build options"
    )]
    pub features: Vec<String>,
    /// Activate all features.
    #[arg(long, help_heading = "Cargo build options")]
    pub all_features: bool,
    /// Do not activate the default features.
    #[arg(long, help_heading = "Cargo build options")]
    pub no_default_features: bool,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH", help_heading = "Cargo build options")]
    pub manifest_path: Option<PathBuf>,
    /// Directory for all generated artifacts.
    #[arg(long, value_name = "DIR", help_heading = "Cargo build options")]
    pub target_dir: Option<PathBuf>,
    /// Assert that Cargo.lock will remain unchanged.
    #[arg(long, help_heading = "Cargo build options")]
    pub locked: bool,
    /// Equivalent to --locked and --offline.
    #[arg(long, help_heading = "Cargo build options")]
    pub frozen: bool,
    /// Run without accessing the network.
    #[arg(long, help_heading = "Cargo build options")]
    pub offline: bool,
    /// Override a cargo configuration value (KEY=VALUE or a file). Repeatable.
    #[arg(
        long = "config",
        value_name = "KEY=VALUE",
        help_heading = "Cargo build options"
    )]
    pub config: Vec<String>,
    /// Use verbose output (-vv very verbose). Forwarded to cargo.
    #[arg(short = 'v', long, action = clap::ArgAction::Count, help_heading = "Cargo build options")]
    pub verbose: u8,
    /// Do not print cargo log messages.
    #[arg(short = 'q', long, help_heading = "Cargo build options")]
    pub quiet: bool,
    /// Coloring: auto, always, never. Forwarded to cargo, and used for the report.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        help_heading = "Cargo build options"
    )]
    pub color: ColorChoice,

    /// Do not build: use the executable that is already in the target directory.
    #[arg(long)]
    pub no_build: bool,
    /// Package an exe that cargo did not build (Go, C, C++...): no Cargo.toml needed;
    /// the configuration comes from winpkg.toml in the current folder, if any.
    #[arg(long, value_name = "PATH", conflicts_with = "no_build")]
    pub exe: Option<PathBuf>,
    /// With --exe: the package name (default: `name` in winpkg.toml, else the exe's).
    #[arg(long, value_name = "NAME", requires = "exe")]
    pub name: Option<String>,
    /// With --exe: the package's version (default: `version` in winpkg.toml).
    /// Without a value: print cargo-winpkg's version.
    #[arg(
        long = "version",
        short = 'V',
        value_name = "VERSION",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub pkg_version: Option<String>,
    /// Write the zip into this folder (default: <target-dir>/winpkg).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Go on to packaging even when the DLL check finds errors.
    #[arg(long)]
    pub no_fail: bool,
    /// Sign the exe, its DLLs, shawl.exe and the .ps1 scripts (the default when
    /// [package.metadata.winpkg.sign] exists; an error without one).
    #[arg(long, overrides_with = "no_sign")]
    pub sign: bool,
    /// Do not sign, even with a [package.metadata.winpkg.sign] table (a pull request
    /// build without the signing secrets).
    #[arg(long, overrides_with = "sign")]
    pub no_sign: bool,
    /// Also write an MSI (needs `upgrade-code` in [package.metadata.winpkg.msi]; `cargo
    /// winpkg init` writes one).
    #[arg(long)]
    pub msi: bool,
    /// How to run the build (default: `builder` from the config, else cargo).
    #[arg(long, value_enum, value_name = "BUILDER")]
    pub builder: Option<BuilderArg>,
    /// Output format: human (stage lines and the report) or json (one summary document).
    #[arg(long, value_enum, default_value = "human")]
    pub format: BuildFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BuildFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuilderArg {
    /// `cargo build`
    Cargo,
    /// `cargo xwin build` (cargo-xwin: MSVC targets from Linux and macOS)
    CargoXwin,
    /// `cargo zigbuild` (cargo-zigbuild: zig as the linker)
    CargoZigbuild,
}

/// `check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A readable report per file, problems first, each with its fix.
    Human,
    /// One JSON document on stdout (the contract in the book's check chapter).
    Json,
    /// GitHub Actions workflow commands (`::error file=...::`).
    Github,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Github => Format::Github,
            FormatArg::Sarif => Format::Sarif,
        }
    }
}

impl From<BuilderArg> for Builder {
    fn from(b: BuilderArg) -> Builder {
        match b {
            BuilderArg::Cargo => Builder::Cargo,
            BuilderArg::CargoXwin => Builder::CargoXwin,
            BuilderArg::CargoZigbuild => Builder::CargoZigbuild,
        }
    }
}

impl From<ColorChoice> for pipeline::ColorChoice {
    fn from(c: ColorChoice) -> pipeline::ColorChoice {
        match c {
            ColorChoice::Auto => pipeline::ColorChoice::Auto,
            ColorChoice::Always => pipeline::ColorChoice::Always,
            ColorChoice::Never => pipeline::ColorChoice::Never,
        }
    }
}

impl BuildArgs {
    /// The flags cargo gets.
    pub fn cargo_flags(&self) -> CargoFlags {
        CargoFlags {
            release: self.release,
            profile: self.profile.clone(),
            features: self.features.clone(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
            manifest_path: self.manifest_path.clone(),
            target_dir: self.target_dir.clone(),
            locked: self.locked,
            frozen: self.frozen,
            offline: self.offline,
            config: self.config.clone(),
            verbose: self.verbose,
            quiet: self.quiet,
            color: self.color.into(),
        }
    }

    pub fn options(&self) -> BuildOptions {
        BuildOptions {
            cargo: self.cargo_flags(),
            targets: self.target.clone(),
            packages: self.packages.clone(),
            bin: self.bin.clone(),
            no_build: self.no_build,
            exe: self.exe.clone(),
            name: self.name.clone(),
            version: self.pkg_version.clone().filter(|v| !v.is_empty()),
            output: self.output.clone(),
            no_fail: self.no_fail,
            sign: match (self.sign, self.no_sign) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            builder: self.builder.map(Builder::from),
            msi: self.msi,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check PE files (exe, dll, pyd, node, sys, efi) for DLLs a clean Windows lacks.
    Check(CheckArgs),
    /// Re-check a package zip offline; with --wine, install and run it under Wine.
    Verify(VerifyArgs),
    /// Add a starting [package.metadata.winpkg] table to Cargo.toml.
    Init(InitArgs),
    /// Build, then show where the exe's bytes go; with --try, build once per Cargo
    /// profile lever (strip, opt-level, lto, codegen-units, panic) and measure each.
    Size(SizeArgs),
    /// Internal: the Wine steps of `verify --wine`, run inside the sandbox.
    #[command(name = "__wine-stage", hide = true)]
    WineStage,
}

#[derive(Debug, Args)]
pub struct SizeArgs {
    /// Build once per lever, each in its own target folder (under
    /// <target-dir>/winpkg/size), and print the measured exe and zip sizes.
    #[arg(long = "try")]
    pub try_levers: bool,
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// The workspace member to set up.
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    pub package: Option<String>,
    /// The target triple to write (default: x86_64-pc-windows-gnu off Windows).
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// Add a service table even when the crate does not use the windows-service crate.
    #[arg(long)]
    pub service: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("install").args(["wine", "here"])))]
pub struct VerifyArgs {
    /// The package: its zip, or its MSI (`--msi`).
    #[arg(value_name = "ZIP|MSI")]
    pub zip: PathBuf,
    /// Also install the service under Wine, wait for RUNNING, check its configuration
    /// and process, uninstall it, and check it is gone (an MSI: with Wine's msiexec,
    /// installed, installed again, uninstalled). This runs the package's own
    /// install.cmd, uninstall.cmd and programs: only after every offline check passed,
    /// in a throwaway prefix with no drive letter for the host, inside a bubblewrap
    /// sandbox (host read-only, no network).
    #[arg(long)]
    pub wine: bool,
    /// Install on this machine instead, which must be Windows, run as an administrator
    /// (a Windows CI runner): the same steps as --wine, judged through the service
    /// manager's API (the whole service configuration, recovery on a crash). Refuses
    /// to touch a service or MSI product that already exists; removes what it installed.
    #[arg(long)]
    pub here: bool,
    /// Run the package's scripts under Wine without the sandbox, with your user's
    /// rights (for machines without bubblewrap; trust the package first).
    #[arg(long, requires = "wine")]
    pub no_sandbox: bool,
    /// With --wine or --here: instead of installing a service, run the packaged program from its
    /// folder with the arguments after `--`, and check that every DLL loads and that
    /// it exits with --expect-exit (for CLI tools; a package on PATH, with a Run entry
    /// or a task is installed first and removed after).
    #[arg(long, requires = "install")]
    pub run: bool,
    /// The exit code --run expects.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub expect_exit: i32,
    /// The program's arguments, for --run.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
    /// The most bytes one entry may expand to.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_entry: u64,
    /// The most bytes all entries together may expand to.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 30)]
    pub max_total: u64,
    /// The highest expanded/compressed ratio of an entry over 1 MiB (zip bombs).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_ratio: u64,
    /// The most entries the zip may have.
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub max_entries: usize,
    /// Seconds to wait for the service to start or stop.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Keep the throwaway Wine prefix (its processes are stopped) and print its path.
    #[arg(long)]
    pub keep: bool,
    /// The service name, for a package without service.json.
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// For an MSI: the older MSI it upgrades. Checks the Component Rules between the
    /// two (a key path keeps its ComponentId, another platform gets new ones), a new
    /// ProductCode and PackageCode, and that the upgrade removes the old version.
    #[arg(long, value_name = "OLD.msi")]
    pub against: Option<PathBuf>,
    /// With --wine or --here: once the service runs, ask it over the network, retried until
    /// --timeout: `http://127.0.0.1:8787/` expects an HTTP response, `tcp:HOST:PORT`
    /// a connection. Repeatable.
    #[arg(long = "probe", value_name = "URL|tcp:HOST:PORT", requires = "install",
          conflicts_with = "run", value_parser = clap::value_parser!(Probe))]
    pub probes: Vec<Probe>,
    /// The HTTP status the HTTP probes require (default: any response).
    #[arg(long, value_name = "CODE", requires = "probes",
          value_parser = clap::value_parser!(u16).range(100..=599))]
    pub probe_status: Option<u16>,
    /// With --wine or --here: once the service runs, end its program's process as a crash would
    /// and check that what the package promises restarts it (shawl's restart, the
    /// service's recovery), and that the probes answer again.
    #[arg(long, requires = "install", conflicts_with = "run")]
    pub crash_test: bool,
    /// The oldest Windows the package must run on (for the DLL check).
    #[arg(long, value_name = "RELEASE", default_value = "10",
          value_parser = clap::builder::PossibleValuesParser::new(Release::NAMES))]
    pub min_windows: String,
    /// Output format: human (a line per step) or json.
    #[arg(long, value_enum, default_value = "human")]
    pub format: BuildFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
#[command(after_help = cargo_winpkg::check::codes::codes_help())]
pub struct CheckArgs {
    /// Files, folders or archives to check; folders are searched recursively for PE
    /// files (by content, not by extension); a .zip, .whl, .nupkg, .vsix or .msi is
    /// unpacked (with verify's bounds) and checked as its folder, each file reported as
    /// `archive!path/inside`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: FormatArg,

    /// The oldest Windows release the program must run on.
    #[arg(long, value_name = "RELEASE", default_value = "10",
          value_parser = clap::builder::PossibleValuesParser::new(Release::NAMES))]
    pub min_windows: String,

    /// Accept a DLL the target provides (e.g. the host's python3.dll); `*` is a wildcard.
    /// Repeatable.
    #[arg(long = "allow", value_name = "DLL")]
    pub allow: Vec<String>,

    /// Also resolve DLLs from this folder (after the application folder). Repeatable.
    #[arg(long = "dll-dir", value_name = "DIR")]
    pub dll_dirs: Vec<PathBuf>,

    /// The program that loads these files, whose DLLs are then classed `host`:
    /// python (python3xx.dll, vcruntime140*.dll), node (node.exe), or none. Default:
    /// from each file's extension (.pyd python, .node node).
    #[arg(long, value_name = "HOST", value_parser = clap::builder::PossibleValuesParser::new(Host::WORDS))]
    pub host: Option<String>,

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

impl VerifyArgs {
    /// The library's verify options.
    pub fn options(&self) -> Result<verify::Options, UsageError> {
        Ok(verify::Options {
            wine: self.wine,
            timeout: std::time::Duration::from_secs(self.timeout),
            keep: self.keep,
            service: self.service.clone(),
            policy: Policy {
                min_windows: self.min_windows.parse::<Release>()?,
                ..Policy::default()
            },
            limits: verify::Limits {
                max_entry: self.max_entry,
                max_total: self.max_total,
                max_ratio: self.max_ratio,
                max_entries: self.max_entries,
            },
            sandbox: !self.no_sandbox,
            run: self.run.then(|| self.args.clone()),
            expect_exit: self.expect_exit,
            against: self.against.clone(),
            probes: self.probes.clone(),
            probe_status: self.probe_status,
            here: self.here,
            crash_test: self.crash_test,
        })
    }
}

impl CheckArgs {
    /// The library's check options: the policy (`--min-windows`, `--allow`, `-D/-W/-A`),
    /// `--dll-dir` (each a folder) and `--host`.
    pub fn options(&self) -> Result<CheckOptions, UsageError> {
        let mut policy = Policy {
            min_windows: self.min_windows.parse::<Release>()?,
            ..Policy::default()
        };
        for name in &self.allow {
            policy.allow.push(AllowRule::new(name, None)?);
        }
        for (codes, level) in [
            (&self.deny, Level::Deny),
            (&self.warn, Level::Warn),
            (&self.allow_code, Level::Allow),
        ] {
            for code in codes {
                policy.levels.insert(code.parse::<Code>()?, level);
            }
        }
        if let Some(dir) = self.dll_dirs.iter().find(|d| !d.is_dir()) {
            return Err(UsageError::DllDirNotAFolder(dir.clone()));
        }
        let host = match &self.host {
            Some(h) => Some(h.parse::<Host>().map_err(UsageError::Host)?),
            None => None,
        };
        Ok(CheckOptions {
            policy,
            dll_dirs: self.dll_dirs.clone(),
            host,
        })
    }
}
