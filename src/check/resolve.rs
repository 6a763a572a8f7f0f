//! Where the loader would find a DLL: the inputs expanded from the command line, and
//! the search beside the importer, the application, the named files and `--dll-dir`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::InputError;
use crate::pe::{self, Facts, Machine, PeError};

/// A file to check.
pub struct Input {
    pub path: PathBuf,
    /// Found by walking a folder: when it turns out not to be an executable at all
    /// (no MZ signature), it is skipped instead of reported.
    pub walked: bool,
}

/// Expand the command-line paths: files as given, directories walked recursively for
/// regular files (which the parse then keeps if they are PE images, by content, not by
/// extension). Sorted within each directory, so output is stable; each file once, by
/// its device and inode. What cannot be read (a path that does not exist, a folder
/// that cannot be listed) is returned beside the rest, so one bad input hides nothing.
pub fn expand_inputs(paths: &[PathBuf]) -> (Vec<Input>, Vec<InputError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut out, &mut errors),
            Ok(meta) => out.push((
                pe::file_id(&meta),
                Input {
                    path: path.clone(),
                    walked: false,
                },
            )),
            Err(e) => errors.push(InputError::new(path, &PeError::Io(e), None)),
        }
    }
    let mut seen = HashSet::new();
    let mut unique = Vec::with_capacity(out.len());
    for (id, input) in out {
        let fresh = match id {
            Some(id) => seen.insert(FileKey::Id(id)),
            None => seen.insert(FileKey::Path(canonical(&input.path))),
        };
        if fresh {
            unique.push(input);
        }
    }
    (unique, errors)
}

/// One file however it is named: its device and inode where known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum FileKey {
    Id((u64, u64)),
    Path(PathBuf),
}

impl FileKey {
    pub fn of(facts: &Facts) -> FileKey {
        match facts.file_id {
            Some(id) => FileKey::Id(id),
            None => FileKey::Path(canonical(&facts.path)),
        }
    }
}

/// A file a walk found, with its (device, inode) when known.
type Walked = (Option<(u64, u64)>, Input);

#[cfg(unix)]
fn entry_id(dev: Option<u64>, entry: &std::fs::DirEntry) -> Option<(u64, u64)> {
    use std::os::unix::fs::DirEntryExt;
    dev.map(|d| (d, entry.ino()))
}

#[cfg(not(unix))]
fn entry_id(_: Option<u64>, _: &std::fs::DirEntry) -> Option<(u64, u64)> {
    None
}

fn walk(dir: &Path, out: &mut Vec<Walked>, errors: &mut Vec<InputError>) {
    let unreadable = |path: &Path, e: std::io::Error| InputError::new(path, &PeError::Io(e), None);
    // The folder's device, with each entry's inode from the listing itself: no stat
    // per file.
    let dev = std::fs::metadata(dir)
        .ok()
        .and_then(|m| pe::file_id(&m))
        .map(|(d, _)| d);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(unreadable(dir, e)),
    };
    let mut list = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => list.push(e),
            Err(e) => errors.push(unreadable(dir, e)),
        }
    }
    list.sort_by_key(|e| e.file_name());
    for entry in list {
        let path = entry.path();
        // file_type() does not follow symlinks: a linked folder cannot make us loop.
        let ft = match entry.file_type() {
            Ok(ft) => ft,
            Err(e) => {
                errors.push(unreadable(&path, e));
                continue;
            }
        };
        if ft.is_dir() {
            walk(&path, out, errors);
            continue;
        }
        // Only regular files: FIFOs and devices in a folder are not programs.
        if ft.is_file() {
            out.push((entry_id(dev, &entry), Input { path, walked: true }));
        } else if ft.is_symlink()
            && let Ok(meta) = std::fs::metadata(&path)
            && meta.is_file()
        {
            out.push((pe::file_id(&meta), Input { path, walked: true }));
        }
    }
}

pub(super) fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

pub(super) fn lower_file_name(p: &Path) -> Option<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
}

/// Parsed files by canonical path, so each file is read once however often it is
/// imported; and folder listings, so each folder is read once however many DLLs are
/// looked up in it.
#[derive(Default)]
pub(super) struct Cache {
    facts: HashMap<PathBuf, Result<Facts, PeError>>,
    /// Folder -> lower-case file name -> the files of that name (sorted).
    dirs: HashMap<PathBuf, HashMap<String, Vec<PathBuf>>>,
}

impl Cache {
    /// The files in `dir` whose name equals `lower` case-insensitively (Windows
    /// semantics on a case-sensitive Linux file system).
    fn find_in_dir(&mut self, dir: &Path, lower: &str) -> Vec<PathBuf> {
        let listing = self.dirs.entry(dir.to_path_buf()).or_insert_with(|| {
            let mut by_name: HashMap<String, Vec<PathBuf>> = HashMap::new();
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let path = e.path();
                    let regular = match e.file_type() {
                        Ok(t) if t.is_symlink() => path.is_file(),
                        Ok(t) => t.is_file(),
                        Err(_) => false,
                    };
                    if regular {
                        let name = e.file_name().to_string_lossy().to_ascii_lowercase();
                        by_name.entry(name).or_default().push(path);
                    }
                }
            }
            for paths in by_name.values_mut() {
                paths.sort();
            }
            by_name
        });
        let mut found = listing.get(lower).cloned().unwrap_or_default();
        // The name exactly as imported wins, as it did when looked up directly.
        if let Some(i) = found
            .iter()
            .position(|p| p.file_name() == Some(lower.as_ref()))
        {
            let exact = found.remove(i);
            found.insert(0, exact);
        }
        found
    }

    pub fn get(&mut self, path: &Path) -> Result<&Facts, &PeError> {
        self.facts
            .entry(path.to_path_buf())
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
            candidates.extend(cache.find_in_dir(dir, &lower));
        }
        if let Some(given) = self.given.get(&lower) {
            candidates.extend(given.iter().cloned());
        }
        for dir in self.dll_dirs {
            candidates.extend(cache.find_in_dir(dir, &lower));
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
