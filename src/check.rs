//! `check`: paths in, a [`Report`] out.
//!
//! 1. Inputs are expanded (directories walked, PE files picked by content) and parsed in
//!    parallel.
//! 2. Every DLL that Windows does not provide is looked up the way the loader would find
//!    it for a bundle: beside the importing file and the application, among the files
//!    named on the command line, then in `--dll-dir` folders. What is found is checked
//!    too, recursively, so a bundle passes only when its whole closure does.
//! 3. The policy turns each import into diagnostics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::classify::{self, Arch, Class, Release};
use crate::pe::{self, Facts, PeError};
use crate::policy::{Code, Diagnostic, Policy, Severity};

/// What to check and how to judge it.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub policy: Policy,
    /// Extra folders to resolve DLLs from, searched after the application folder.
    pub dll_dirs: Vec<PathBuf>,
}

/// An input that could not be checked at all (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct InputError {
    pub path: PathBuf,
    #[source]
    pub source: PeError,
    /// The file that imports this one, when it was reached through the closure.
    pub needed_by: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub machine: &'static str,
    pub format: &'static str,
    pub dll: bool,
    pub subsystem: &'static str,
    pub signed: bool,
    pub service_dispatcher: bool,
    pub characteristics: pe::Characteristics,
    pub os_version: String,
    pub subsystem_version: String,
    pub pdb_path: Option<String>,
    /// The file whose import led here; None for files the user named.
    pub needed_by: Option<PathBuf>,
    pub imports: Vec<ImportReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub dll: String,
    pub delay: bool,
    pub functions: Vec<String>,
    pub by_ordinal: usize,
    pub class: Class,
    /// Where the DLL was found, for DLLs that do not come with Windows.
    pub resolved: Option<PathBuf>,
    /// For system DLLs: the first Windows release (for this machine) that has it.
    pub since: Option<&'static str>,
    /// An allow rule covers it.
    pub allowed: bool,
}

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

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn lower_file_name(p: &Path) -> Option<String> {
    p.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
}

/// Can a process of `importer` load a DLL of `dll`?
fn machines_compatible(importer: &str, dll: &str) -> bool {
    importer == dll
        || matches!(
            (importer, dll),
            ("arm64ec" | "arm64x", "x86_64" | "arm64ec" | "arm64x") | ("aarch64", "arm64x")
        )
}

/// Parsed files by canonical path, so each file is read once however often it is imported.
struct Cache {
    facts: HashMap<PathBuf, Result<Facts, String>>,
}

impl Cache {
    fn get(&mut self, path: &Path) -> Result<&Facts, String> {
        let key = canonical(path);
        self.facts
            .entry(key)
            .or_insert_with(|| pe::read_file(path).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Check `paths` (files or folders) and everything they need.
pub fn check(paths: &[PathBuf], options: &CheckOptions) -> Result<Report, Vec<InputError>> {
    check_with_progress(paths, options, &|_| {})
}

/// As [`check`], calling `progress(n)` as root files finish parsing (for a progress bar).
pub fn check_with_progress(
    paths: &[PathBuf],
    options: &CheckOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Report, Vec<InputError>> {
    let roots = expand_inputs(paths).map_err(|e| vec![e])?;
    let parsed: Vec<Result<Facts, InputError>> = roots
        .par_iter()
        .map(|p| {
            let r = pe::read_file(p).map_err(|source| InputError {
                path: p.clone(),
                source,
                needed_by: None,
            });
            progress(1);
            r
        })
        .collect();
    let mut errors = Vec::new();
    let mut files: Vec<(Facts, Option<PathBuf>)> = Vec::new();
    for r in parsed {
        match r {
            Ok(f) => files.push((f, None)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Files named on the command line, by lower-case file name, for resolution.
    let mut given: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for (f, _) in &files {
        if let Some(name) = lower_file_name(&f.path) {
            given.entry(name).or_default().push(f.path.clone());
        }
    }
    let mut cache = Cache {
        facts: HashMap::new(),
    };
    let mut seen: HashSet<PathBuf> = files.iter().map(|(f, _)| canonical(&f.path)).collect();
    let mut reports = Vec::new();
    let mut diagnostics = Vec::new();
    let mut allow_used = vec![false; options.policy.allow.len()];

    // Breadth-first over the closure; `files` grows as DLLs are resolved.
    let mut i = 0;
    // The application folder for each file: the folder of the root that led to it.
    let mut app_dirs: Vec<PathBuf> = files
        .iter()
        .map(|(f, _)| parent(&f.path))
        .collect::<Vec<_>>();
    while i < files.len() {
        let (facts, needed_by) = files[i].clone();
        let app_dir = app_dirs[i].clone();
        let arch = Arch::from_machine(facts.machine);
        let mut imports = Vec::new();
        for imp in &facts.imports {
            let verdict = classify::classify(&imp.dll, arch);
            let allow = options.policy.allowed(&imp.dll);
            if let Some(a) = allow {
                allow_used[a] = true;
            }
            let mut resolved = None;
            if verdict.class.must_ship() {
                let search = Search {
                    importer: &facts,
                    app_dir: &app_dir,
                    given: &given,
                    dll_dirs: &options.dll_dirs,
                };
                match search.find(&imp.dll, &mut cache) {
                    Found::Nothing => {}
                    Found::Unreadable(p, msg) => errors.push(InputError {
                        path: p,
                        source: PeError::Malformed(msg),
                        needed_by: Some(facts.path.clone()),
                    }),
                    Found::Match(p) => resolved = Some(p),
                    Found::WrongMachine(p, machine) => {
                        diagnostics.push(Diagnostic {
                            code: Code::MachineMismatch,
                            severity: Code::MachineMismatch.default_severity(),
                            file: Some(facts.path.clone()),
                            dll: Some(imp.dll.clone()),
                            message: format!(
                                "{} ({}) imports {}, but the one found at {} is {} code: the loader will refuse it",
                                display_name(&facts.path),
                                facts.machine,
                                imp.dll,
                                p.display(),
                                machine
                            ),
                            help: Some(format!(
                                "ship the {} build of {} instead",
                                facts.machine, imp.dll
                            )),
                        });
                        resolved = Some(p);
                    }
                }
                if let Some(p) = &resolved
                    && seen.insert(canonical(p))
                {
                    match cache.get(p) {
                        Ok(f) => {
                            files.push((f.clone(), Some(facts.path.clone())));
                            app_dirs.push(app_dir.clone());
                        }
                        Err(msg) => errors.push(InputError {
                            path: p.clone(),
                            source: PeError::Malformed(msg),
                            needed_by: Some(facts.path.clone()),
                        }),
                    }
                }
            }
            imports.push(ImportReport {
                dll: imp.dll.clone(),
                delay: imp.delay,
                functions: imp.functions.clone(),
                by_ordinal: imp.by_ordinal,
                class: verdict.class,
                resolved,
                since: verdict.since.map(Release::as_str),
                allowed: allow.is_some(),
            });
        }
        judge(&facts, arch, &imports, &options.policy, &mut diagnostics);
        reports.push(FileReport {
            path: facts.path.clone(),
            machine: facts.machine,
            format: facts.format,
            dll: facts.dll,
            subsystem: facts.subsystem,
            signed: facts.signed,
            service_dispatcher: facts.service_dispatcher,
            characteristics: facts.characteristics,
            os_version: facts.os_version.clone(),
            subsystem_version: facts.subsystem_version.clone(),
            pdb_path: facts.pdb_path.clone(),
            needed_by,
            imports,
        });
        i += 1;
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (rule, used) in options.policy.allow.iter().zip(&allow_used) {
        if !used {
            diagnostics.push(Diagnostic {
                code: Code::UnmatchedAllow,
                severity: Code::UnmatchedAllow.default_severity(),
                file: None,
                dll: Some(rule.name.clone()),
                message: format!(
                    "the allow entry `{}` matched no imported DLL in any checked file",
                    rule.name
                ),
                help: Some("remove it, or fix its spelling; names compare case-insensitively and `*` matches any run of characters".into()),
            });
        }
    }
    // Re-level, drop allowed codes, and put errors first (stable within a severity).
    let mut diagnostics: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter_map(|mut d| {
            d.severity = options.policy.severity(d.code)?;
            Some(d)
        })
        .collect();
    diagnostics.sort_by_key(|d| std::cmp::Reverse(d.severity));
    Ok(Report {
        files: reports,
        diagnostics,
    })
}

fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

enum Found {
    Nothing,
    Unreadable(PathBuf, String),
    Match(PathBuf),
    WrongMachine(PathBuf, &'static str),
}

struct Search<'a> {
    importer: &'a Facts,
    app_dir: &'a Path,
    given: &'a HashMap<String, Vec<PathBuf>>,
    dll_dirs: &'a [PathBuf],
}

impl Search<'_> {
    /// Candidates in loader order; the first of the right machine wins, else the
    /// first of any machine is reported as a mismatch.
    fn find(&self, dll: &str, cache: &mut Cache) -> Found {
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
                Ok(f) if machines_compatible(self.importer.machine, f.machine) => {
                    return Found::Match(c);
                }
                Ok(f) => {
                    if first_wrong.is_none() {
                        first_wrong = Some((c, f.machine));
                    }
                }
                // The loader would pick this file and fail on it: so do we.
                Err(msg) => return Found::Unreadable(c, msg),
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

/// The diagnostics for one file's imports.
fn judge(
    facts: &Facts,
    arch: Option<Arch>,
    imports: &[ImportReport],
    policy: &Policy,
    out: &mut Vec<Diagnostic>,
) {
    let file = display_name(&facts.path);
    subsystem_version(facts, &file, policy, out);
    // One diagnostic per (dll, code) even when a DLL has two descriptors
    // (KERNEL32.dll and kernel32.dll, or a normal and a delay-load one).
    let mut by_dll: BTreeMap<String, Vec<&ImportReport>> = BTreeMap::new();
    for imp in imports {
        by_dll
            .entry(imp.dll.to_ascii_lowercase())
            .or_default()
            .push(imp);
    }
    let mut ucrt_users = Vec::new();
    // File order, for readable output.
    let mut order: Vec<String> = Vec::new();
    for imp in imports {
        let l = imp.dll.to_ascii_lowercase();
        if !order.contains(&l) {
            order.push(l);
        }
    }
    for lower in order {
        let group = &by_dll[&lower];
        let imp = group[0];
        if imp.allowed {
            continue;
        }
        let only_delay = group.iter().all(|i| i.delay);
        let resolved = group.iter().find_map(|i| i.resolved.clone());
        let name = &imp.dll;
        let mut diag = |code: Code, message: String, help: Option<String>| {
            let (code, message) = if only_delay && code != Code::DebugCrt {
                (
                    Code::DelayLoadMissing,
                    format!(
                        "{message}; it is delay-loaded, so {file} starts, and fails only when it first calls into {name}"
                    ),
                )
            } else {
                (code, message)
            };
            out.push(Diagnostic {
                code,
                severity: code.default_severity(),
                file: Some(facts.path.clone()),
                dll: Some(name.clone()),
                message,
                help,
            });
        };
        match imp.class {
            Class::DebugCrt => diag(
                Code::DebugCrt,
                format!("{file} imports {name}, a debug build of the Visual C++ runtime"),
                Some(
                    "build in release mode (Rust: `cargo build --release`; MSVC: /MD or /MT instead of /MDd or /MTd): debug runtimes are not redistributable and are missing on every machine without Visual Studio"
                        .into(),
                ),
            ),
            Class::VcRedist if resolved.is_none() => diag(
                Code::MissingVcRedist,
                format!(
                    "{file} imports {name} from the Visual C++ Redistributable, which a clean Windows does not have"
                ),
                Some(format!(
                    "link the C runtime statically (Rust: `-C target-feature=+crt-static`, or `crt-static = true` in [package.metadata.winpkg]; C/C++: /MT), or have the Visual C++ Redistributable ({}) installed on the target, or ship {name} beside the program",
                    vc_redist_installer(facts.machine)
                )),
            ),
            Class::MingwRuntime if resolved.is_none() => diag(
                Code::MissingMingwRuntime,
                format!(
                    "{file} imports {name} from the MinGW-w64 GCC runtime, and it is not beside the program"
                ),
                Some(format!(
                    "ship {name} beside the program (your toolchain has it: `{}-g++ -print-file-name={name}`), pass its folder with --dll-dir, or link the runtime statically (`-static-libgcc -static-libstdc++`, Rust: `-C link-args=-static`)",
                    mingw_triple(facts.machine)
                )),
            ),
            Class::ThirdParty if resolved.is_none() => diag(
                Code::MissingDll,
                format!("{file} imports {name}, which is not part of Windows and was not found"),
                Some(format!(
                    "ship {name} beside the program, or pass the folder that has it with --dll-dir; if the host process provides it (python3xx.dll for a .pyd, node.exe for a .node addon), allow it with --allow {name}"
                )),
            ),
            Class::System => {
                let Some(arch) = arch else { continue };
                let verdict = classify::classify(name, Some(arch));
                let lacking: Vec<Release> = verdict
                    .absent_in
                    .iter()
                    .copied()
                    .filter(|r| *r >= policy.min_windows)
                    .collect();
                if lacking.is_empty() {
                    continue;
                }
                if classify::is_ucrt(name) && lacking.iter().all(|r| *r < Release::Win10) {
                    ucrt_users.push(name.clone());
                    continue;
                }
                let list: Vec<String> = lacking.iter().map(|r| r.to_string()).collect();
                let since = verdict
                    .since
                    .map(|r| format!("it first ships with {r}"))
                    .unwrap_or_default();
                diag(
                    Code::DllNotInWindowsVersion,
                    format!(
                        "{file} imports {name}, which vanilla {} lacks ({since})",
                        list.join(" and ")
                    ),
                    Some(format!(
                        "raise the minimum Windows (--min-windows / `min-windows`) to {}, or delay-load {name} and check for it before calling it",
                        verdict.since.map(Release::as_str).unwrap_or("a release that has it")
                    )),
                );
            }
            Class::ApiSet if classify::is_ucrt(name) && policy.min_windows < Release::Win10 => {
                ucrt_users.push(name.clone());
            }
            _ => {}
        }
    }
    if !ucrt_users.is_empty() {
        out.push(Diagnostic {
            code: Code::UcrtNeedsUpdate,
            severity: Code::UcrtNeedsUpdate.default_severity(),
            file: Some(facts.path.clone()),
            dll: Some(ucrt_users[0].clone()),
            message: format!(
                "{file} uses the Universal CRT ({}{}), built into Windows 10 and later; {} has it only with the Universal C Runtime update (KB2999226) or the Visual C++ Redistributable installed",
                ucrt_users[0],
                if ucrt_users.len() > 1 { format!(" and {} more", ucrt_users.len() - 1) } else { String::new() },
                policy.min_windows
            ),
            help: Some("make sure targets before Windows 10 are updated, or ship the Visual C++ Redistributable, which installs the Universal CRT".into()),
        });
    }
}

/// The Windows loader refuses an image whose subsystem version is newer than the running
/// Windows ("is not a valid Win32 application"). Only for Windows subsystems: drivers
/// and EFI images use the field differently.
fn subsystem_version(facts: &Facts, file: &str, policy: &Policy, out: &mut Vec<Diagnostic>) {
    if !matches!(facts.subsystem, "console" | "windows") {
        return;
    }
    let parse = |v: &str| -> Option<(u32, u32)> {
        let (a, b) = v.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    let Some(have) = parse(&facts.subsystem_version) else {
        return;
    };
    let (min, flag) = match policy.min_windows {
        Release::Win7 => ((6, 1), "6.01"),
        Release::Win8 => ((6, 2), "6.02"),
        Release::Win81 => ((6, 3), "6.03"),
        Release::Win10 | Release::Win11 => ((10, 0), "10.00"),
    };
    if have <= min {
        return;
    }
    let sub = facts.subsystem;
    out.push(Diagnostic {
        code: Code::SubsystemVersionTooNew,
        severity: Code::SubsystemVersionTooNew.default_severity(),
        file: Some(facts.path.clone()),
        dll: None,
        message: format!(
            "{file} has subsystem version {}, so {} refuses to load it (\"not a valid Win32 application\")",
            facts.subsystem_version, policy.min_windows
        ),
        help: Some(format!(
            "link with an older subsystem version (MSVC/lld-link: /SUBSYSTEM:{},{flag}; GNU ld: -Wl,--subsystem,{sub}:{}.{}), or raise --min-windows / `min-windows`",
            sub.to_ascii_uppercase(),
            min.0,
            min.1,
        )),
    });
}

fn vc_redist_installer(machine: &str) -> &'static str {
    match machine {
        "x86" => "vc_redist.x86.exe",
        "aarch64" | "arm64ec" | "arm64x" => "vc_redist.arm64.exe",
        _ => "vc_redist.x64.exe",
    }
}

fn mingw_triple(machine: &str) -> &'static str {
    match machine {
        "x86" => "i686-w64-mingw32",
        "aarch64" => "aarch64-w64-mingw32",
        _ => "x86_64-w64-mingw32",
    }
}
