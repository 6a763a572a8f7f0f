//! `cargo winpkg init`: add a starting `[package.metadata.winpkg]` table to Cargo.toml.
//!
//! The table is appended as text, so the rest of the file (comments, order, formatting)
//! stays exactly as it was, and the file is replaced atomically (temp file + rename).
//! The result is validated the same way a build would read it.

use std::path::{Path, PathBuf};

use crate::config::ConfigError;
use crate::pipeline::{BuildError, CargoFlags, cargo, plan};

/// Why `init` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0}")]
    Cargo(Box<BuildError>),
    #[error("this is a virtual workspace: choose the member to set up with -p NAME")]
    Virtual,
    #[error("{} already has a [package.metadata.winpkg] table: edit it (the configuration chapter of the book, docs/src/configuration.md, documents every key)", .0.display())]
    HasTable(PathBuf),
    #[error("package `{0}` has no binary to package")]
    NoBinary(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the new table did not validate, so Cargo.toml is unchanged: {0}")]
    Invalid(Box<InitError>),
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("the package disappeared from cargo metadata after the edit")]
    Disappeared,
}

impl From<BuildError> for InitError {
    fn from(e: BuildError) -> Self {
        InitError::Cargo(Box::new(e))
    }
}

#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The workspace member to set up (`-p`); default the root package.
    pub package: Option<String>,
    /// Add a service table even when the crate does not use `windows-service`.
    pub service: bool,
    pub target: Option<String>,
}

/// What `init` wrote.
#[derive(Debug)]
pub struct Initialized {
    pub manifest: PathBuf,
    pub table: String,
}

/// A TOML basic string holding any text.
pub fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The table to append for `pkg`.
fn table(pkg: &cargo_metadata::Package, bins: &[&str], opts: &InitOptions) -> String {
    let native = pkg
        .dependencies
        .iter()
        .any(|d| d.name == "windows-service" || d.name == "windows-service-rs");
    let target = opts.target.clone().unwrap_or_else(|| {
        if cfg!(windows) {
            "x86_64-pc-windows-msvc".into()
        } else {
            // Links from Linux and macOS with mingw-w64 alone; MSVC needs cargo-xwin.
            "x86_64-pc-windows-gnu".into()
        }
    });
    let mut t = String::new();
    t.push_str("\n[package.metadata.winpkg]\n");
    t.push_str("# `cargo winpkg --release` builds, checks and packages this crate for Windows.\n");
    t.push_str(&format!("target = {}\n", toml_str(&target)));
    if bins.len() > 1 {
        let bin = pkg.default_run.as_deref().unwrap_or(bins[0]);
        t.push_str(&format!(
            "bin = {}   # one of: {}\n",
            toml_str(bin),
            bins.join(", ")
        ));
    }
    t.push_str("min-windows = \"10\"\n");
    if native || opts.service {
        let name = pkg.name.as_str();
        let description = pkg
            .description
            .clone()
            .unwrap_or_else(|| format!("The {name} service"));
        t.push_str("\n[package.metadata.winpkg.service]\n");
        if !native {
            t.push_str("# No windows-service dependency: the exe will run under shawl (mode = \"shawl\").\n");
        }
        t.push_str(&format!("name = {}\n", toml_str(name)));
        t.push_str(&format!("display-name = {}\n", toml_str(name)));
        t.push_str(&format!(
            "description = {}\n",
            toml_str(description.lines().next().unwrap_or(""))
        ));
        t.push_str("start = \"auto\"\n");
        t.push_str("account = \"LocalService\"\n");
        t.push_str("args = []   # \"{dir}\" is the install folder\n");
        if !native {
            // LocalService cannot write in Program Files, where shawl logs by default.
            t.push_str(&format!(
                "log-dir = {}   # shawl's log, with the program's output\n",
                toml_str(&format!("{{programdata}}\\{name}\\logs"))
            ));
        }
    }
    // The product's identity for `--msi`, made once here and kept for good.
    t.push_str("\n[package.metadata.winpkg.msi]\n");
    t.push_str("# The MSI's upgrade code (`cargo winpkg --release --msi`): never change it.\n");
    t.push_str(&format!(
        "upgrade-code = \"{}\"\n",
        crate::package::msi::guid(uuid::Uuid::new_v4())
    ));
    t
}

pub fn init(args: &CargoFlags, opts: &InitOptions) -> Result<Initialized, InitError> {
    let meta = cargo::metadata(args)?;
    // With -p, the same selection as the build; without, the root package only (a
    // virtual workspace's members with a table already have one).
    let pkg = match (&opts.package, meta.root_package()) {
        (Some(spec), _) => plan::select_packages(&meta, std::slice::from_ref(spec))?
            .into_iter()
            .next()
            .ok_or(InitError::Disappeared)?,
        (None, Some(root)) => root,
        (None, None) => return Err(InitError::Virtual),
    };
    let manifest = pkg.manifest_path.as_std_path().to_path_buf();
    let text = std::fs::read_to_string(&manifest).map_err(|source| InitError::Io {
        action: "read",
        path: manifest.clone(),
        source,
    })?;
    if pkg.metadata.get("winpkg").is_some() {
        return Err(InitError::HasTable(manifest));
    }
    let bins = plan::bin_names(pkg);
    if bins.is_empty() {
        return Err(InitError::NoBinary(pkg.name.to_string()));
    }
    let t = table(pkg, &bins, opts);
    let mut new_text = text.clone();
    if !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    new_text.push_str(&t);
    write_atomic(&manifest, &new_text)?;
    // Read it back as a build would; undo on any error.
    let check = || -> Result<(), InitError> {
        let meta2 = cargo::metadata(args)?;
        let p = meta2
            .packages
            .iter()
            .find(|p| p.id == pkg.id)
            .ok_or(InitError::Disappeared)?;
        plan::package_config(&meta2, p)?;
        Ok(())
    };
    if let Err(e) = check() {
        write_atomic(&manifest, &text)?;
        return Err(InitError::Invalid(Box::new(e)));
    }
    Ok(Initialized { manifest, table: t })
}

/// Replace `path` with `text` through a temporary file in the same folder.
fn write_atomic(path: &Path, text: &str) -> Result<(), InitError> {
    let io = |action: &'static str, p: &Path| {
        let path = p.to_path_buf();
        move |source| InitError::Io {
            action,
            path,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io("write in", dir))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(io("write", path))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| InitError::Io {
        action: "replace",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}
