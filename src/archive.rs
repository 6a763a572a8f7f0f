//! `check` on archives: a `.zip`, a Python wheel (`.whl`), a NuGet package (`.nupkg`), a
//! VS Code extension (`.vsix`) or an MSI is unpacked with `verify`'s bounds (every name
//! validated, sizes held to what the archive declares, bombs refused: nothing is
//! written from an archive that fails) into a private temporary folder, checked as a
//! folder (so a DLL shipped elsewhere in the archive, as in a wheel's `<name>.libs`,
//! resolves as it does once installed), and reported under `archive!path/inside`.

use std::path::{Path, PathBuf};

use crate::check::Report;
use crate::verify::Limits;

/// The extensions read as archives (lower case).
pub const EXTENSIONS: [&str; 5] = ["zip", "whl", "nupkg", "vsix", "msi"];

/// Whether `path` is a file `check` unpacks.
pub fn is_archive(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// An archive that cannot be unpacked safely: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct ArchiveError {
    pub path: PathBuf,
    pub why: String,
}

/// One unpacked archive.
struct Unpacked {
    dir: tempfile::TempDir,
    /// The archive as the user named it.
    archive: PathBuf,
}

/// The inputs to check: the user's paths with each archive replaced by its unpacked
/// folder (kept until this is dropped).
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    unpacked: Vec<Unpacked>,
}

impl Inputs {
    /// Unpack every archive among `paths`.
    pub fn prepare(paths: &[PathBuf], limits: &Limits) -> Result<Inputs, ArchiveError> {
        let mut out = Inputs {
            paths: Vec::with_capacity(paths.len()),
            unpacked: Vec::new(),
        };
        for p in paths {
            if !is_archive(p) {
                out.paths.push(p.clone());
                continue;
            }
            let dir = tempfile::Builder::new()
                .prefix("winpkg-check-")
                .tempdir()
                .map_err(|e| ArchiveError {
                    path: p.clone(),
                    why: format!("cannot create a temporary folder: {e}"),
                })?;
            crate::verify::unpack(p, dir.path(), limits).map_err(|e| ArchiveError {
                path: p.clone(),
                why: e.to_string(),
            })?;
            out.paths.push(dir.path().to_path_buf());
            out.unpacked.push(Unpacked {
                dir,
                archive: p.clone(),
            });
        }
        Ok(out)
    }

    /// Name every file of an unpacked archive in `report` as `archive!path/inside`.
    pub fn relabel(&self, report: &mut Report) {
        if self.unpacked.is_empty() {
            return;
        }
        let pairs: Vec<(String, String)> = self
            .unpacked
            .iter()
            .flat_map(|u| {
                let label = format!("{}!", u.archive.display());
                let dir = u.dir.path();
                // The folder as given to check, and as the checker may have made it
                // canonical.
                let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
                [dir.to_path_buf(), canonical]
                    .into_iter()
                    .map(move |d| (format!("{}/", d.display()), label.clone()))
            })
            .collect();
        let text = |s: &str| -> String {
            let mut s = s.to_string();
            for (from, to) in &pairs {
                if s.contains(from.as_str()) {
                    s = s.replace(from.as_str(), to);
                }
            }
            s
        };
        let path = |p: &Path| PathBuf::from(text(&p.to_string_lossy()));
        for f in &mut report.files {
            f.path = path(&f.path);
            if let Some(n) = &mut f.needed_by {
                *n = path(n);
            }
            for i in &mut f.imports {
                if let Some(r) = &mut i.resolved {
                    *r = path(r);
                }
            }
        }
        for d in &mut report.diagnostics {
            if let Some(f) = &mut d.file {
                *f = path(f);
            }
            d.message = text(&d.message);
            if let Some(h) = &mut d.help {
                *h = text(h);
            }
        }
        for e in &mut report.unreadable {
            e.path = path(&e.path);
            e.message = text(&e.message);
            if let Some(n) = &mut e.needed_by {
                *n = path(n);
            }
        }
    }
}
