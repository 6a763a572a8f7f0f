//! `cargo winpkg init`: add a starting `[package.metadata.winpkg]` table to Cargo.toml.
//!
//! The table is appended as text, so the rest of the file (comments, order, formatting)
//! stays exactly as it was, and the file is replaced atomically (temp file + rename).
//! The result is validated the same way a build would read it.

use std::path::{Path, PathBuf};

use crate::cargo;
use crate::cli::BuildArgs;

#[derive(Debug, Clone, Default)]
pub struct InitOptions {
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

pub fn init(args: &BuildArgs, opts: &InitOptions) -> Result<Initialized, String> {
    let meta = cargo::metadata(args).map_err(|e| e.to_string())?;
    let pkg = match (args.packages.as_slice(), meta.root_package()) {
        ([spec], _) => meta
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == spec.as_str())
            .ok_or_else(|| format!("package `{spec}` is not a member of the workspace"))?,
        ([], Some(root)) => root,
        ([], None) => {
            return Err(
                "this is a virtual workspace: choose the member to set up with -p NAME".into(),
            );
        }
        _ => return Err("init sets up one package at a time: give one -p".into()),
    };
    let manifest = pkg.manifest_path.as_std_path().to_path_buf();
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    if pkg.metadata.get("winpkg").is_some()
        || text
            .lines()
            .any(|l| l.trim().starts_with("[package.metadata.winpkg"))
    {
        return Err(format!(
            "{} already has a [package.metadata.winpkg] table: edit it (README.md documents every key)",
            manifest.display()
        ));
    }
    let bins = crate::build::bin_names(pkg);
    if bins.is_empty() {
        return Err(format!("package `{}` has no binary to package", pkg.name));
    }
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
    }
    let mut new_text = text.clone();
    if !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    new_text.push_str(&t);
    write_atomic(&manifest, &new_text)?;
    // Read it back as a build would; undo on any error.
    let check = cargo::metadata(args)
        .map_err(|e| e.to_string())
        .and_then(|meta2| {
            let p = meta2
                .packages
                .iter()
                .find(|p| p.id == pkg.id)
                .ok_or_else(|| "the package disappeared".to_string())?;
            crate::build::package_config(&meta2, p).map_err(|e| e.to_string())?;
            Ok(())
        });
    if let Err(e) = check {
        write_atomic(&manifest, &text)?;
        return Err(format!(
            "the new table did not validate, so Cargo.toml is unchanged: {e}"
        ));
    }
    Ok(Initialized { manifest, table: t })
}

/// Replace `path` with `text` through a temporary file in the same folder.
fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    Ok(())
}
