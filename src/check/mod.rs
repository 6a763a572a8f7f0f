//! `check`: paths in, a [`Report`] out.
//!
//! 1. Inputs are expanded (directories walked, PE files picked by content) and parsed in
//!    parallel.
//! 2. Every DLL that Windows does not provide is looked up the way the loader would find
//!    it for a bundle: beside the importing file and the application, among the files
//!    named on the command line, then in `--dll-dir` folders. What is found is checked
//!    too, recursively, so a bundle passes only when its whole closure does.
//! 3. The policy turns each import into diagnostics.

pub mod codes;
mod hygiene;
mod judge;
pub mod policy;
mod resolve;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::dlls::{self, Arch, Class, Host, Release};
use crate::pe::{self, Facts, ImportedFunction, Machine, PeError, PeFormat, Subsystem};
pub use codes::{Code, Diagnostic, Severity};
pub use hygiene::kib;
pub use policy::{AllowRule, Level, Policy};
use resolve::{Cache, FileKey, Found, Search, display_name, lower_file_name, parent};
pub use resolve::{Input, expand_inputs};

/// What to check and how to judge it.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub policy: Policy,
    /// Extra folders to resolve DLLs from, searched after the application folder.
    pub dll_dirs: Vec<PathBuf>,
    /// The program that loads the files; None: from each file's extension (`.pyd`
    /// Python, `.node` Node.js), else no host.
    pub host: Option<Host>,
}

/// An input that could not be checked at all (exit code 2).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct InputError {
    pub path: PathBuf,
    /// Why it cannot be read, with the byte offset when one is known.
    pub message: String,
    /// The file that imports this one, when it was reached through the closure.
    pub needed_by: Option<PathBuf>,
}

impl InputError {
    pub fn new(path: &Path, error: &PeError, needed_by: Option<&Path>) -> InputError {
        InputError {
            path: path.to_path_buf(),
            message: error.to_string(),
            needed_by: needed_by.map(Path::to_path_buf),
        }
    }

    /// The diagnostic that reports it.
    fn diagnostic(&self) -> Diagnostic {
        let by = match &self.needed_by {
            Some(b) => format!(" (needed by {})", b.display()),
            None => String::new(),
        };
        Diagnostic::new(
            Code::UnreadablePe,
            Some(self.path.clone()),
            None,
            format!("{} cannot be checked: {}{by}", self.path.display(), self.message),
            Some("make sure the file is a whole, readable PE image (an exe or DLL); the loader would fail on it the same way".into()),
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub diagnostics: Vec<Diagnostic>,
    /// Inputs that could not be read (also `unreadable-pe` diagnostics): exit code 2.
    #[serde(skip)]
    pub unreadable: Vec<InputError>,
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
    pub machine: Machine,
    pub format: PeFormat,
    pub dll: bool,
    pub subsystem: Subsystem,
    pub signed: bool,
    /// The Authenticode signature: signer, digest, timestamp, whether the file matches.
    pub signature: Option<pe::Signature>,
    /// The VERSIONINFO resource.
    pub version: Option<pe::VersionInfo>,
    /// An application manifest is embedded.
    pub manifest: bool,
    /// Why the file looks packed, if it does.
    pub packer: Option<String>,
    /// Bytes of DWARF sections and COFF symbols.
    pub debug: pe::DebugBytes,
    /// The file's size in bytes.
    pub size: u64,
    pub service_dispatcher: bool,
    pub characteristics: pe::Characteristics,
    pub os_version: String,
    pub subsystem_version: String,
    pub pdb_path: Option<String>,
    /// The file whose import led here; None for files the user named.
    pub needed_by: Option<PathBuf>,
    /// The process that loads it, whose DLLs are classed `host` (from `--host`, or its
    /// extension: `.pyd` python, `.node` node).
    pub host: Option<Host>,
    pub imports: Vec<ImportReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub dll: String,
    pub delay: bool,
    pub functions: Vec<ImportedFunction>,
    pub by_ordinal: usize,
    pub class: Class,
    /// Where the DLL was found, for DLLs that do not come with Windows.
    pub resolved: Option<PathBuf>,
    /// For system DLLs: the first Windows release (for this machine) that has it.
    pub since: Option<Release>,
    /// An allow rule covers it.
    pub allowed: bool,
}

/// The imports of one file grouped by DLL name (case-insensitive: `KERNEL32.dll` and
/// `kernel32.dll`, or a normal and a delay-load descriptor, are one DLL), in the order
/// each name first appears. Linear in the number of imports.
pub fn group_by_dll(imports: &[ImportReport]) -> Vec<Vec<&ImportReport>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<&ImportReport>> = Vec::new();
    for imp in imports {
        let next = groups.len();
        let i = *index.entry(imp.dll.to_ascii_lowercase()).or_insert(next);
        if i == next {
            groups.push(Vec::new());
        }
        groups[i].push(imp);
    }
    groups
}

/// Check `paths` (files or folders) and everything they need.
pub fn check(paths: &[PathBuf], options: &CheckOptions) -> Report {
    check_with_progress(paths, options, &|_| {})
}

/// As [`check`], calling `progress(n)` as root files finish parsing (for a progress bar).
pub fn check_with_progress(
    paths: &[PathBuf],
    options: &CheckOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Report {
    let (roots, mut errors) = expand_inputs(paths);
    let parsed: Vec<Option<Result<Facts, InputError>>> = roots
        .par_iter()
        .map(|input| {
            let r = match pe::read_file(&input.path) {
                Ok(f) => Some(Ok(f)),
                // A file of a folder that is no executable at all is not a finding.
                Err(PeError::NotMz(_)) if input.walked => None,
                Err(e) => Some(Err(InputError::new(&input.path, &e, None))),
            };
            progress(1);
            r
        })
        .collect();
    let mut files = Vec::new();
    for r in parsed.into_iter().flatten() {
        match r {
            Ok(f) => files.push(f),
            Err(e) => errors.push(e),
        }
    }
    let mut closure = Closure::new(files, options);
    closure.errors = errors;
    let mut i = 0;
    // Breadth-first: `closure.files` grows as DLLs are resolved.
    while i < closure.files.len() {
        closure.visit(i);
        i += 1;
    }
    closure.finish()
}

/// A file to report, with what led to it.
struct Node {
    facts: Facts,
    /// The file whose import led here; None for the roots.
    needed_by: Option<PathBuf>,
    /// The application folder: the folder of the root that led here.
    app_dir: PathBuf,
    /// The process that loads the root that led here, if it provides DLLs.
    host: Option<Host>,
}

/// The walk over the closure of the roots, and what it has found so far.
struct Closure<'a> {
    options: &'a CheckOptions,
    files: Vec<Node>,
    /// Files named on the command line, by lower-case file name, for resolution.
    given: HashMap<String, Vec<PathBuf>>,
    cache: Cache,
    seen: HashSet<FileKey>,
    /// Files whose imports are resolved, waiting to be judged (in visit order).
    visited: Vec<Visited>,
    errors: Vec<InputError>,
    allow_used: Vec<bool>,
}

/// A file whose imports are classified and resolved: everything judging needs, and the
/// diagnostics resolution found.
struct Visited {
    facts: Facts,
    arch: Option<Arch>,
    imports: Vec<ImportReport>,
    needed_by: Option<PathBuf>,
    host: Option<Host>,
    diagnostics: Vec<Diagnostic>,
}

impl Visited {
    /// Judge the file: its report and every diagnostic of it, in the order resolution,
    /// the DLL verdicts and the hygiene checks found them.
    fn judge(mut self, policy: &Policy) -> (FileReport, Vec<Diagnostic>) {
        let facts = self.facts;
        judge::judge(
            &facts,
            self.arch,
            &self.imports,
            policy,
            &mut self.diagnostics,
        );
        hygiene::judge(&facts, &mut self.diagnostics);
        let report = FileReport {
            path: facts.path,
            machine: facts.machine,
            format: facts.format,
            dll: facts.dll,
            subsystem: facts.subsystem,
            signed: facts.signed,
            signature: facts.signature,
            version: facts.version,
            manifest: facts.manifest,
            packer: facts.packer,
            debug: facts.debug,
            size: facts.size,
            service_dispatcher: facts.service_dispatcher,
            characteristics: facts.characteristics,
            os_version: facts.os_version,
            subsystem_version: facts.subsystem_version,
            pdb_path: facts.pdb_path,
            needed_by: self.needed_by,
            host: self.host,
            imports: self.imports,
        };
        (report, self.diagnostics)
    }
}

impl<'a> Closure<'a> {
    fn new(roots: Vec<Facts>, options: &'a CheckOptions) -> Self {
        let mut given: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for f in &roots {
            if let Some(name) = lower_file_name(&f.path) {
                given.entry(name).or_default().push(f.path.clone());
            }
        }
        Closure {
            options,
            seen: roots.iter().map(FileKey::of).collect(),
            files: roots
                .into_iter()
                .map(|facts| Node {
                    app_dir: parent(&facts.path),
                    host: options
                        .host
                        .or_else(|| Host::from_extension(&facts.path))
                        .filter(|h| *h != Host::None),
                    facts,
                    needed_by: None,
                })
                .collect(),
            given,
            cache: Cache::default(),
            visited: Vec::new(),
            errors: Vec::new(),
            allow_used: vec![false; options.policy.allow.len()],
        }
    }

    /// Classify and resolve the imports of file `i`, queueing what they resolve to.
    fn visit(&mut self, i: usize) {
        // Taken, not cloned: a node is visited once, and its facts move into the report.
        let mut facts = std::mem::replace(&mut self.files[i].facts, Facts::placeholder());
        let app_dir = self.files[i].app_dir.clone();
        let host = self.files[i].host;
        let arch = Arch::from_machine(facts.machine);
        let mut diagnostics = Vec::new();
        let mut verdicts = Vec::with_capacity(facts.imports.len());
        for imp in &facts.imports {
            let mut verdict = dlls::classify(&imp.dll, arch);
            if verdict.class != Class::System && host.is_some_and(|h| h.provides(&imp.dll)) {
                verdict.class = Class::Host;
            }
            let allow = self.options.policy.allowed(&imp.dll);
            if let Some(a) = allow {
                self.allow_used[a] = true;
            }
            let resolved = if verdict.class.must_ship() {
                self.resolve(&facts, &app_dir, host, &imp.dll, &mut diagnostics)
            } else {
                None
            };
            verdicts.push((verdict, resolved, allow.is_some()));
        }
        let imports: Vec<ImportReport> = std::mem::take(&mut facts.imports)
            .into_iter()
            .zip(verdicts)
            .map(|(imp, (verdict, resolved, allowed))| ImportReport {
                dll: imp.dll,
                delay: imp.delay,
                functions: imp.functions,
                by_ordinal: imp.by_ordinal,
                class: verdict.class,
                resolved,
                since: verdict.since,
                allowed,
            })
            .collect();
        self.visited.push(Visited {
            facts,
            arch,
            imports,
            needed_by: self.files[i].needed_by.clone(),
            host,
            diagnostics,
        });
    }

    /// Find `dll` for `importer` as the loader would; queue what is found.
    fn resolve(
        &mut self,
        importer: &Facts,
        app_dir: &Path,
        host: Option<Host>,
        dll: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<PathBuf> {
        let search = Search {
            importer,
            app_dir,
            given: &self.given,
            dll_dirs: &self.options.dll_dirs,
        };
        let resolved = match search.find(dll, &mut self.cache) {
            Found::Nothing => None,
            Found::Unreadable(p, message) => {
                self.errors.push(InputError {
                    path: p,
                    message,
                    needed_by: Some(importer.path.clone()),
                });
                None
            }
            Found::Match(p) => Some(p),
            Found::WrongMachine(p, machine) => {
                diagnostics.push(mismatch(importer, dll, &p, machine));
                Some(p)
            }
        };
        if let Some(p) = &resolved {
            match self.cache.get(p) {
                Ok(f) => {
                    if self.seen.insert(FileKey::of(f)) {
                        self.files.push(Node {
                            facts: f.clone(),
                            needed_by: Some(importer.path.clone()),
                            app_dir: app_dir.to_path_buf(),
                            host,
                        });
                    }
                }
                // Reported once, however many files import it.
                Err(e) => {
                    if self.seen.insert(FileKey::Path(p.clone())) {
                        self.errors
                            .push(InputError::new(p, e, Some(&importer.path)));
                    }
                }
            }
        }
        resolved
    }

    /// Unreadable inputs, unmatched allow rules, the user's levels, errors first.
    /// Every file is judged on its own, so on every core; the reports and diagnostics
    /// keep visit order.
    fn finish(self) -> Report {
        let policy = &self.options.policy;
        let judged: Vec<(FileReport, Vec<Diagnostic>)> = self
            .visited
            .into_par_iter()
            .map(|v| v.judge(policy))
            .collect();
        let mut reports = Vec::with_capacity(judged.len());
        let mut diagnostics = Vec::new();
        for (report, diags) in judged {
            reports.push(report);
            diagnostics.extend(diags);
        }
        diagnostics.extend(self.errors.iter().map(InputError::diagnostic));
        for (rule, used) in policy.allow.iter().zip(&self.allow_used) {
            if !used {
                diagnostics.push(Diagnostic::new(
                    Code::UnmatchedAllow,
                    None,
                    Some(rule.name.clone()),
                    format!(
                        "the allow entry `{}` matched no imported DLL in any checked file",
                        rule.name
                    ),
                    Some("remove it, or fix its spelling; names compare case-insensitively and `*` matches any run of characters".into()),
                ));
            }
        }
        // Re-level, drop allowed codes, and put errors first (stable within a severity).
        let mut diagnostics: Vec<Diagnostic> = diagnostics
            .into_iter()
            .filter_map(|mut d| {
                d.severity = policy.severity(d.code)?;
                Some(d)
            })
            .collect();
        diagnostics.sort_by_key(|d| std::cmp::Reverse(d.severity));
        Report {
            files: reports,
            diagnostics,
            unreadable: self.errors,
        }
    }
}

fn mismatch(importer: &Facts, dll: &str, found: &Path, machine: Machine) -> Diagnostic {
    Diagnostic::new(
        Code::MachineMismatch,
        Some(importer.path.clone()),
        Some(dll.to_string()),
        format!(
            "{} ({}) imports {dll}, but the one found at {} is {machine} code: the loader will refuse it",
            display_name(&importer.path),
            importer.machine,
            found.display(),
        ),
        Some(format!(
            "ship the {} build of {dll} instead",
            importer.machine
        )),
    )
}

/// Input errors as lines: `path: why (needed by importer)`.
pub fn describe_input_errors(errors: &[InputError]) -> String {
    errors
        .iter()
        .map(|e| match &e.needed_by {
            Some(by) => format!("{e} (needed by {})", by.display()),
            None => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Report {
    /// Err with the unreadable inputs when there are any: for callers to whom one
    /// unreadable file means the whole run cannot go on (packaging).
    pub fn require_readable(self) -> Result<Report, Vec<InputError>> {
        if self.unreadable.is_empty() {
            Ok(self)
        } else {
            Err(self.unreadable)
        }
    }
}
