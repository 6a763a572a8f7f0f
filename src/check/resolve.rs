//! Where the loader would find a DLL: the inputs expanded from the command line, and
//! the search beside the importer, the application, the named files and `--dll-dir`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::InputError;
use crate::pe::{self, Facts, Machine, PeError};

/// Expand the command-line paths: files as given, directories walked recursively for
/// files that start like a PE image. Sorted within each directory, so output is stable.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| InputError {
            path: path.clone(),
            source: PeError::Io(e),
            needed_by: None,
        })?;
        if meta.is_dir() {
            walk(path, &mut out).map_err(|e| InputError {
                path: path.clone(),
                source: PeError::Io(e),
                needed_by: None,
            })?;
        } else {
            out.push(path.clone());
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(canonical(p)));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        // file_type() does not follow symlinks: a linked folder cannot make us loop.
        let ft = entry.file_type()?;
        let path = entry.path();
        if ft.is_dir() {
            walk(&path, out)?;
        } else if (ft.is_file() || (ft.is_symlink() && path.is_file())) && pe::sniff_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

pub(super) fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

pub(super) fn lower_file_name(p: &Path) -> Option<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
}

/// Parsed files by canonical path, so each file is read once however often it is imported.
#[derive(Default)]
pub(super) struct Cache {
    facts: HashMap<PathBuf, Result<Facts, PeError>>,
}

impl Cache {
    pub fn get(&mut self, path: &Path) -> Result<&Facts, &PeError> {
        let key = canonical(path);
        self.facts
            .entry(key)
            .or_insert_with(|| pe::read_file(path))
            .as_ref()
    }
}

pub(super) fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub(super) fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

pub(super) enum Found {
    Nothing,
    Unreadable(PathBuf, String),
    Match(PathBuf),
    WrongMachine(PathBuf, Machine),
}

pub(super) struct Search<'a> {
    pub importer: &'a Facts,
    pub app_dir: &'a Path,
    pub given: &'a HashMap<String, Vec<PathBuf>>,
    pub dll_dirs: &'a [PathBuf],
}

impl Search<'_> {
    /// Candidates in loader order; the first of the right machine wins, else the
    /// first of any machine is reported as a mismatch.
    pub fn find(&self, dll: &str, cache: &mut Cache) -> Found {
        // A name with a path in it would be looked up on this machine, not in the
        // package: it is never found.
        if dll.contains(['/', '\\', ':']) || dll == "." || dll == ".." || dll.is_empty() {
            return Found::Nothing;
        }
        let lower = dll.to_ascii_lowercase();
        let mut candidates: Vec<PathBuf> = Vec::new();
        let mut dirs = vec![parent(&self.importer.path), self.app_dir.to_path_buf()];
        dirs.dedup();
        for dir in &dirs {
            candidates.extend(find_in_dir(dir, &lower));
        }
        if let Some(given) = self.given.get(&lower) {
            candidates.extend(given.iter().cloned());
        }
        for dir in self.dll_dirs {
            candidates.extend(find_in_dir(dir, &lower));
        }
        let mut first_wrong = None;
        for c in candidates {
            match cache.get(&c) {
                Ok(f) if self.importer.machine.can_load(f.machine) => {
                    return Found::Match(c);
                }
                Ok(f) => {
                    if first_wrong.is_none() {
                        first_wrong = Some((c, f.machine));
                    }
                }
                // The loader would pick this file and fail on it: so do we.
                Err(e) => return Found::Unreadable(c, e.to_string()),
            }
        }
        match first_wrong {
            Some((p, m)) => Found::WrongMachine(p, m),
            None => Found::Nothing,
        }
    }
}

/// The file in `dir` whose name equals `lower` case-insensitively (Windows semantics
/// on a case-sensitive Linux file system).
fn find_in_dir(dir: &Path, lower: &str) -> Vec<PathBuf> {
    let exact = dir.join(lower);
    if exact.is_file() {
        return vec![exact];
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().to_ascii_lowercase() == lower)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}
