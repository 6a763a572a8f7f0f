//! Why a build run stopped.

use std::path::{Path, PathBuf};

use super::preflight;
use crate::check::{self, InputError};
use crate::config::ConfigError;
use crate::package::PackageError;
use crate::package::bundle::BundleError;

/// Why a build run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `cargo metadata` failed and said why (its own words).
    #[error("cargo metadata failed: {stderr}")]
    Metadata { stderr: String },
    /// `cargo metadata` could not be run or its output not read.
    #[error("cargo metadata failed: {0}")]
    MetadataRun(#[source] Box<cargo_metadata::Error>),
    #[error("package `{spec}` is not a member of the workspace; the members are: {members}")]
    NoSuchPackage { spec: String, members: String },
    #[error(
        "this is a virtual workspace and no member has a [package.metadata.winpkg] table; pick one with -p ({members})"
    )]
    NoTableInWorkspace { members: String },
    #[error("{from} names `{bin}`, which is not a binary of package `{package}`; {choices}")]
    NoSuchBin {
        from: &'static str,
        bin: String,
        package: String,
        choices: String,
    },
    #[error("package `{0}` has no binary target to package")]
    NoBin(String),
    #[error(
        "package `{package}` has several binaries; choose one with --bin or `bin = \"...\"` in [package.metadata.winpkg] ({choices})"
    )]
    SeveralBins { package: String, choices: String },
    #[error("archive-name `{0}` must be a file name, not a path (use --output for the folder)")]
    ArchivePath(String),
    #[error("archive-name: {0}")]
    ArchiveName(PackageError),
    #[error("cannot build {package} for {target}: {missing}")]
    Preflight {
        package: String,
        target: String,
        missing: preflight::Missing,
    },
    #[error(
        "--no-build: there is no built {bin} (expected {}); run without --no-build first",
        path.display()
    )]
    NotBuilt { bin: String, path: PathBuf },
    #[error("cannot run {0}: {1}")]
    Spawn(String, std::io::Error),
    /// `--exe`: the exe or winpkg.toml cannot be used.
    #[error("{}: {why}", path.display())]
    Prebuilt { path: PathBuf, why: String },
    /// Cargo (or the compiler) failed and said why: exit with its code.
    #[error("cargo build failed (exit code {0})")]
    Cargo(i32),
    #[error("cargo finished but reported no executable for bin `{0}`")]
    NoArtifact(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// PE files the check could not read.
    #[error("{}", check::describe_input_errors(.0))]
    Input(Vec<InputError>),
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    Package(#[from] PackageError),
    #[error("{0}")]
    Stamp(#[from] crate::package::stamp::StampError),
    #[error("{0}")]
    Msi(#[from] crate::package::msi::MsiError),
    #[error("{0}")]
    Sign(#[from] crate::package::sign::SignError),
    #[error(
        "--sign: package `{package}` has no {table} table saying where the key is (see the book's signing chapter, docs/src/trust.md)"
    )]
    NoSignTable { package: String, table: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl BuildError {
    /// For `map_err`: an I/O error while doing `action` to `path`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
        let path = path.to_path_buf();
        move |source| BuildError::Io {
            action,
            path,
            source,
        }
    }
}
