//! The files the config adds to the package (`include`, `bundle-dlls`), expanded and
//! checked before anything is built, with errors at the key that names them.

use std::path::{Path, PathBuf};

use super::error::BuildError;
use crate::config::{Config, ConfigError, Include, Origin};
use crate::package::{self, PackageError, SCRIPTS, SERVICE_JSON, SHA256SUMS};

/// An error at `key` (e.g. `include[2]`), where the value was written.
fn at(cfg: &Config, origin: &Origin, key: &str, message: String, help: &str) -> ConfigError {
    let help = (!help.is_empty()).then(|| help.to_string());
    cfg.error(origin, key, message, help)
}

/// `include`, expanded: each file with its name in the package. A plain path must stay
/// inside the workspace (an absolute path, or one through `..`, packs a file of this
/// machine by accident); `{ src, dest }` says it on purpose. Destinations must be
/// names Windows can extract, distinct, and not the names cargo-winpkg writes.
pub fn includes(
    cfg: &Config,
    origin: &Origin,
    base: &Path,
    workspace: &Path,
    exe_name: &str,
) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    let reserved: Vec<&str> = [
        SHA256SUMS,
        SERVICE_JSON,
        exe_name,
        "shawl.exe",
        crate::autostart::PATH_HELPER,
    ]
    .into_iter()
    .chain(SCRIPTS)
    .collect();
    let workspace = workspace.canonicalize().unwrap_or(workspace.to_path_buf());
    for (i, inc) in cfg.include.iter().flatten().enumerate() {
        let key = format!("include[{i}]");
        let (src, dest) = match inc {
            Include::Path(p) => (p.as_str(), None),
            Include::Map { src, dest } => (src.as_str(), dest.as_deref()),
        };
        let found = package::expand(base, src, "include").map_err(|e| match e {
            PackageError::NoMatch { .. } | PackageError::BadPattern { .. } => {
                BuildError::from(at(cfg, origin, &key, e.to_string(), ""))
            }
            other => other.into(),
        })?;
        for file in found {
            let inside = file.canonicalize().is_ok_and(|f| f.starts_with(&workspace));
            if dest.is_none() && !inside {
                return Err(at(
                    cfg,
                    origin,
                    &key,
                    format!(
                        "`{src}` is {}, outside the workspace: a plain path there would pack a file of this machine",
                        file.display()
                    ),
                    "if that is meant, say where it goes: { src = \"...\", dest = \"name-in-the-package\" }",
                )
                .into());
            }
            let name = package::include_name(base, &file, dest);
            package::check_name(&name).map_err(|e| at(cfg, origin, &key, e.to_string(), ""))?;
            let clash = reserved
                .iter()
                .copied()
                .chain(out.iter().map(|(n, _)| n.as_str()))
                .find(|r| r.eq_ignore_ascii_case(&name));
            if let Some(other) = clash {
                return Err(at(
                    cfg,
                    origin,
                    &key,
                    format!("`{name}` would be a second `{other}` in the package"),
                    "give it another dest",
                )
                .into());
            }
            out.push((name, file));
        }
    }
    Ok(out)
}

/// `bundle-dlls`, expanded, each a readable PE file.
pub fn bundle_dlls(cfg: &Config, origin: &Origin, base: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let mut out = Vec::new();
    for (i, pattern) in cfg.bundle_dlls.iter().flatten().enumerate() {
        let key = format!("bundle-dlls[{i}]");
        let found = package::expand(base, pattern, "bundle-dlls")
            .map_err(|e| at(cfg, origin, &key, e.to_string(), ""))?;
        for file in found {
            if let Err(e) = crate::pe::read_file(&file) {
                return Err(at(
                    cfg,
                    origin,
                    &key,
                    format!("{} is not a DLL that can ship: {e}", file.display()),
                    "bundle-dlls takes the PE files (DLLs) to ship beside the exe; other files go in `include`",
                )
                .into());
            }
            out.push(file);
        }
    }
    Ok(out)
}
