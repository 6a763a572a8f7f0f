//! What `cargo winpkg` was asked to do: the options the CLI builds from argv.

use std::path::PathBuf;

use crate::config::Builder;

/// `--color`, as cargo takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// The flags forwarded to cargo.
#[derive(Debug, Clone, Default)]
pub struct CargoFlags {
    pub release: bool,
    pub profile: Option<String>,
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    pub manifest_path: Option<PathBuf>,
    pub target_dir: Option<PathBuf>,
    pub locked: bool,
    pub frozen: bool,
    pub offline: bool,
    /// `--config KEY=VALUE` (or a file).
    pub config: Vec<String>,
    pub verbose: u8,
    pub quiet: bool,
    pub color: ColorChoice,
}

impl CargoFlags {
    /// The profile, as cargo calls it: `release`, `dev`, or a custom one.
    pub fn profile_name(&self) -> String {
        match (&self.profile, self.release) {
            (Some(p), _) => p.clone(),
            (None, true) => "release".into(),
            (None, false) => "dev".into(),
        }
    }

    /// The profile's output folder name, as cargo names it.
    pub fn profile_dir(&self) -> String {
        match self.profile.as_deref() {
            Some("dev") | Some("test") => "debug".into(),
            Some("bench") => "release".into(),
            Some(p) => p.into(),
            None if self.release => "release".into(),
            None => "debug".into(),
        }
    }
}

/// What `cargo winpkg` was asked to do, validated (the CLI builds it from argv).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub cargo: CargoFlags,
    /// Override `target` from the config; with several, each package is built and
    /// packaged once per target.
    pub targets: Vec<String>,
    /// `-p`: the packages to build.
    pub packages: Vec<String>,
    /// Overrides `bin` from the config.
    pub bin: Option<String>,
    /// Use the exe already built.
    pub no_build: bool,
    /// `--exe`: package this prebuilt exe (configured by winpkg.toml, not Cargo.toml).
    pub exe: Option<PathBuf>,
    /// `--name`, `--version` with `--exe`.
    pub name: Option<String>,
    pub version: Option<String>,
    /// The folder for the zip (default `<target-dir>/winpkg`).
    pub output: Option<PathBuf>,
    /// Package even when the check finds errors.
    pub no_fail: bool,
    /// `--sign` (Some(true)) / `--no-sign` (Some(false)); None: sign when the config
    /// has a sign table.
    pub sign: Option<bool>,
    pub builder: Option<Builder>,
    /// `--msi`: also write an MSI.
    pub msi: bool,
}
