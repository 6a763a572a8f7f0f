//! `cargo winpkg verify ZIP [--wine]`: re-check a package offline (names, checksums,
//! manifest, DLL closure), and with `--wine` install and run it on Wine's real service
//! control manager, then uninstall it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::check::{self, CheckOptions};
use crate::package;
use crate::policy::Policy;
use crate::wine::{Prefix, WineError};

#[derive(Debug, Clone)]
pub struct Options {
    pub wine: bool,
    /// How long to wait for the service to start or stop.
    pub timeout: Duration,
    /// Keep the Wine prefix folder afterwards (its processes are still stopped).
    pub keep: bool,
    /// The service name, for packages without service.json.
    pub service: Option<String>,
    pub policy: Policy,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The zip cannot be read at all, or Wine is missing: exit code 2.
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Wine(#[from] WineError),
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Verification {
    pub zip: PathBuf,
    pub steps: Vec<Step>,
    /// The service's registry values as installed under Wine (what `sc qc` shows).
    pub registry: BTreeMap<String, String>,
    /// The install folder inside the Wine prefix (a Windows path).
    pub install_dir: Option<String>,
    /// The kept prefix (with --keep).
    pub prefix: Option<PathBuf>,
    /// The ProcessPrng stand-in was added to the prefix (Wine < 9).
    pub processprng_standin: bool,
    pub ok: bool,
}

struct Run<'a> {
    steps: Vec<Step>,
    progress: &'a dyn Fn(&Step),
}

impl Run<'_> {
    /// Record a step; returns whether it passed.
    fn step(&mut self, name: &str, start: Instant, result: Result<String, String>) -> bool {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        let s = Step {
            name: name.into(),
            ok,
            seconds: start.elapsed().as_secs_f64(),
            detail,
        };
        (self.progress)(&s);
        self.steps.push(s);
        ok
    }
}

/// The package as read from the zip.
struct Package {
    /// File entries (not folders): path -> bytes.
    files: BTreeMap<String, Vec<u8>>,
    /// The single top folder when everything is under one, with its `/`.
    root: String,
}

fn read_zip(zip: &Path) -> Result<Package, VerifyError> {
    let bad = |m: String| VerifyError::Input(format!("{}: {m}", zip.display()));
    let file = std::fs::File::open(zip).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad(format!("not a readable zip: {e}")))?;
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| bad(format!("entry {i} has an unreadable name: {e}")))?
            .to_string();
        if entry.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("cannot read `{name}`: {e}")))?;
        files.insert(name, data);
    }
    if files.is_empty() {
        return Err(bad("the zip has no files".into()));
    }
    let first_dirs: Vec<Option<&str>> = files
        .keys()
        .map(|k| k.split_once('/').map(|(d, _)| d))
        .collect();
    let root = match first_dirs.first() {
        Some(Some(d)) if first_dirs.iter().all(|x| *x == Some(*d)) => format!("{d}/"),
        _ => String::new(),
    };
    Ok(Package { files, root })
}

fn check_checksums(pkg: &Package) -> Result<String, String> {
    let sums_name = format!("{}SHA256SUMS", pkg.root);
    let Some(sums) = pkg.files.get(&sums_name) else {
        return Err("no SHA256SUMS in the package".into());
    };
    let text = String::from_utf8_lossy(sums);
    let mut listed = 0;
    let mut problems = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let Some((hash, name)) = line.split_once("  ").or_else(|| line.split_once(" *")) else {
            problems.push(format!("line {}: not `HASH  NAME`", n + 1));
            continue;
        };
        let full = format!("{}{name}", pkg.root);
        match pkg.files.get(&full) {
            None => problems.push(format!("`{name}` is listed but not in the zip")),
            Some(data) if package::sha256_hex(data) != hash.to_ascii_lowercase() => {
                problems.push(format!("`{name}` does not match its checksum"))
            }
            Some(_) => {}
        }
        covered.insert(full);
        listed += 1;
    }
    for name in pkg.files.keys() {
        if name != &sums_name && !covered.contains(name) {
            problems.push(format!("`{name}` is not covered by SHA256SUMS"));
        }
    }
    if problems.is_empty() {
        Ok(format!("{listed} files match SHA256SUMS"))
    } else {
        Err(problems.join("; "))
    }
}

fn check_manifest(pkg: &Package) -> Result<(String, Option<Value>), String> {
    let Some(bytes) = pkg.files.get(&format!("{}service.json", pkg.root)) else {
        return Ok((
            "no service.json (not a cargo-winpkg package): skipped".into(),
            None,
        ));
    };
    let m: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("service.json is not JSON: {e}"))?;
    if m["format"] != crate::service::manifest::FORMAT {
        return Err(format!(
            "service.json has format {}, expected {}",
            m["format"],
            crate::service::manifest::FORMAT
        ));
    }
    if m["format_version"].as_u64() != Some(u64::from(crate::service::manifest::FORMAT_VERSION)) {
        return Err(format!(
            "service.json format version {} is not supported",
            m["format_version"]
        ));
    }
    let mut problems = Vec::new();
    let listed = m["files"].as_array().cloned().unwrap_or_default();
    for f in &listed {
        let path = f["path"].as_str().unwrap_or_default();
        match pkg.files.get(&format!("{}{path}", pkg.root)) {
            None => problems.push(format!("service.json lists `{path}`, which is missing")),
            Some(data) => {
                if f["sha256"].as_str() != Some(package::sha256_hex(data).as_str())
                    || f["size"].as_u64() != Some(data.len() as u64)
                {
                    problems.push(format!("`{path}` differs from service.json"));
                }
            }
        }
    }
    let exe = m["exe"].as_str().unwrap_or_default();
    if !pkg.files.contains_key(&format!("{}{exe}", pkg.root)) {
        problems.push(format!("the exe `{exe}` is missing"));
    }
    if m["service"].is_object() {
        for f in [
            "install.cmd",
            "uninstall.cmd",
            "install.ps1",
            "uninstall.ps1",
        ] {
            if !pkg.files.contains_key(&format!("{}{f}", pkg.root)) {
                problems.push(format!("the service package lacks {f}"));
            }
        }
    }
    if problems.is_empty() {
        Ok((
            format!(
                "{} {} for {}: {} files as listed",
                m["package"]["name"].as_str().unwrap_or("?"),
                m["package"]["version"].as_str().unwrap_or("?"),
                m["package"]["target"].as_str().unwrap_or("?"),
                listed.len()
            ),
            Some(m),
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// Extract the PE files into `dir` (layout kept) and check them as one bundle.
fn check_closure(pkg: &Package, dir: &Path, policy: &Policy) -> Result<String, String> {
    let mut pes = Vec::new();
    for (name, data) in &pkg.files {
        if !crate::pe::looks_like_pe(data) {
            continue;
        }
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, data).map_err(|e| e.to_string())?;
        pes.push(path);
    }
    if pes.is_empty() {
        return Err("the package has no PE file".into());
    }
    let report = check::check(
        &pes,
        &CheckOptions {
            policy: policy.clone(),
            dll_dirs: Vec::new(),
        },
    )
    .map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::policy::Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    if errors.is_empty() {
        Ok(format!(
            "{} PE files; every closure resolves inside the package ({} warnings)",
            pes.len(),
            report.count(crate::policy::Severity::Warning)
        ))
    } else {
        Err(errors.join("; "))
    }
}

/// Verify `zip`; `progress` sees each step as it ends.
pub fn verify(
    zip: &Path,
    opts: &Options,
    progress: &dyn Fn(&Step),
) -> Result<Verification, VerifyError> {
    let mut run = Run {
        steps: Vec::new(),
        progress,
    };
    let t = Instant::now();
    let pkg = read_zip(zip)?;
    run.step("read zip", t, Ok(format!("{} files", pkg.files.len())));

    let t = Instant::now();
    let names = package::check_names(pkg.files.keys())
        .map(|()| "every name extracts on Windows".to_string());
    run.step("file names", t, names.map_err(|e| e.to_string()));

    let t = Instant::now();
    run.step("checksums", t, check_checksums(&pkg));

    let t = Instant::now();
    let manifest = match check_manifest(&pkg) {
        Ok((detail, m)) => {
            run.step("manifest", t, Ok(detail));
            m
        }
        Err(e) => {
            run.step("manifest", t, Err(e));
            None
        }
    };

    let t = Instant::now();
    let scratch = tempfile::tempdir()
        .map_err(|e| VerifyError::Input(format!("cannot create a temporary folder: {e}")))?;
    run.step(
        "dll closure",
        t,
        check_closure(&pkg, scratch.path(), &opts.policy),
    );

    let mut v = Verification {
        zip: zip.to_path_buf(),
        steps: Vec::new(),
        registry: BTreeMap::new(),
        install_dir: None,
        prefix: None,
        processprng_standin: false,
        ok: false,
    };
    if opts.wine {
        wine_steps(&mut run, &pkg, manifest.as_ref(), zip, opts, &mut v)?;
    }
    v.ok = run.steps.iter().all(|s| s.ok);
    v.steps = run.steps;
    Ok(v)
}

fn wine_steps(
    run: &mut Run,
    pkg: &Package,
    manifest: Option<&Value>,
    zip: &Path,
    opts: &Options,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    let service = match (
        &opts.service,
        manifest.and_then(|m| m["service"]["name"].as_str()),
    ) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => s.to_string(),
        (None, None) => {
            return Err(VerifyError::Input(format!(
                "{}: --wine installs the package's service, but it has no service.json naming one: pass --service NAME",
                zip.display()
            )));
        }
    };
    let install_cmd = format!("{}install.cmd", pkg.root);
    if !pkg.files.contains_key(&install_cmd) {
        return Err(VerifyError::Input(format!(
            "{}: --wine needs install.cmd and uninstall.cmd in the package",
            zip.display()
        )));
    }

    let t = Instant::now();
    let mut prefix = Prefix::create()?;
    if opts.keep {
        prefix.keep();
        v.prefix = Some(prefix.root().to_path_buf());
    }
    v.processprng_standin = prefix.standin;
    let (maj, min) = prefix.version;
    let note = if prefix.standin {
        format!(
            "Wine {maj}.{min}; added a ProcessPrng stand-in bcryptprimitives.dll to this throwaway prefix only (Wine before 9 lacks it; the package is unchanged)"
        )
    } else {
        format!("Wine {maj}.{min}")
    };
    run.step("create Wine prefix", t, Ok(note));

    // Extract into a folder with a space in its name, as "Program Files" has.
    let t = Instant::now();
    let stem = zip
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package".into());
    let host_dir = prefix.drive_c().join("winpkg verify").join(&stem);
    let mut win_dir = format!("C:\\winpkg verify\\{stem}");
    for (name, data) in &pkg.files {
        let p = host_dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| VerifyError::Input(e.to_string()))?;
        }
        std::fs::write(&p, data).map_err(|e| VerifyError::Input(e.to_string()))?;
    }
    if !pkg.root.is_empty() {
        win_dir = format!("{win_dir}\\{}", pkg.root.trim_end_matches('/'));
    }
    v.install_dir = Some(win_dir.clone());
    run.step("extract", t, Ok(win_dir.clone()));

    let t = Instant::now();
    let result = run_script(&prefix, &win_dir, "install.cmd", opts.timeout)?;
    let installed = run.step("install.cmd", t, result);

    let mut running = false;
    if installed {
        let t = Instant::now();
        running = prefix.wait_state(&service, "RUNNING", opts.timeout)?;
        let state = prefix.service_state(&service)?;
        run.step(
            "service RUNNING",
            t,
            if running {
                Ok(format!("`{service}` is RUNNING"))
            } else {
                Err(format!(
                    "`{service}` is {} after {} s",
                    state.as_deref().unwrap_or("not installed"),
                    opts.timeout.as_secs()
                ))
            },
        );

        let t = Instant::now();
        let reg = prefix.service_registry(&service)?;
        let cfg = compare_config(&reg, manifest, &win_dir);
        v.registry = reg;
        run.step("configuration (sc qc)", t, cfg);
    }

    if running {
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let exe = manifest
            .and_then(|m| m["exe"].as_str())
            .map(String::from)
            .unwrap_or_default();
        let still = prefix.service_state(&service)?;
        let procs = if exe.is_empty() {
            Vec::new()
        } else {
            prefix.processes_matching(&exe)
        };
        let alive = still.as_deref() == Some("RUNNING") && (exe.is_empty() || !procs.is_empty());
        run.step(
            "process alive",
            t,
            if alive {
                Ok(if exe.is_empty() {
                    "still RUNNING after 2 s".into()
                } else {
                    format!(
                        "{exe} runs (pid {})",
                        procs
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            } else {
                Err(format!(
                    "after 2 s the service is {} and {} processes of {exe} run",
                    still.as_deref().unwrap_or("gone"),
                    procs.len()
                ))
            },
        );
    }

    if installed {
        let t = Instant::now();
        let result = run_script(&prefix, &win_dir, "uninstall.cmd", opts.timeout)?;
        let ok = run.step("uninstall.cmd", t, result);
        if ok {
            let t = Instant::now();
            let state = prefix.service_state(&service)?;
            let exe = manifest.and_then(|m| m["exe"].as_str()).unwrap_or_default();
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut procs = prefix.processes_matching(exe);
            while !exe.is_empty() && !procs.is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
                procs = prefix.processes_matching(exe);
            }
            run.step(
                "service removed",
                t,
                match state {
                    None if exe.is_empty() || procs.is_empty() => Ok(format!(
                        "`{service}` no longer exists and nothing of it runs"
                    )),
                    None => Err(format!("`{service}` is deleted but {exe} still runs")),
                    Some(s) => Err(format!("`{service}` still exists ({s})")),
                },
            );
        }
    }

    let t = Instant::now();
    prefix.shutdown();
    drop(prefix);
    run.step(
        "tear down",
        t,
        Ok(match &v.prefix {
            Some(p) => format!("stopped the prefix's processes; kept {}", p.display()),
            None => "stopped the prefix's processes and removed it".into(),
        }),
    );
    Ok(())
}

/// What Wine's registry says against what service.json asked for.
fn compare_config(
    reg: &BTreeMap<String, String>,
    manifest: Option<&Value>,
    win_dir: &str,
) -> Result<String, String> {
    let shown = |k: &str| reg.get(k).cloned().unwrap_or_else(|| "(none)".into());
    let summary = format!(
        "ImagePath={} | DisplayName={} | Start={} | ObjectName={}",
        shown("ImagePath"),
        shown("DisplayName"),
        shown("Start"),
        shown("ObjectName")
    );
    let Some(svc) = manifest.map(|m| &m["service"]).filter(|s| s.is_object()) else {
        return Ok(summary);
    };
    let mut problems = Vec::new();
    let expect = |key: &str, want: String, problems: &mut Vec<String>| {
        let got = reg.get(key).cloned().unwrap_or_default();
        if got != want {
            problems.push(format!("{key} is `{got}`, expected `{want}`"));
        }
    };
    if let Some(t) = svc["image_path"].as_str() {
        expect(
            "ImagePath",
            t.replace(crate::service::DIR_PLACEHOLDER, win_dir),
            &mut problems,
        );
    }
    if let Some(d) = svc["display_name"].as_str() {
        expect("DisplayName", d.to_string(), &mut problems);
    }
    if let Some(d) = svc["description"].as_str() {
        expect("Description", d.to_string(), &mut problems);
    }
    if let Some(o) = svc["object_name"].as_str() {
        expect("ObjectName", o.to_string(), &mut problems);
    }
    let start = reg.get("Start").cloned().unwrap_or_default();
    let want_start = match svc["start"].as_str() {
        Some("manual") => "3",
        Some("disabled") => "4",
        _ => "2",
    };
    // Wine's sc.exe stores delayed-auto as a demand start.
    let wine_delayed = svc["start"] == "delayed-auto" && start == "3";
    if start != want_start && !wine_delayed {
        problems.push(format!("Start is `{start}`, expected `{want_start}`"));
    }
    if problems.is_empty() {
        Ok(if wine_delayed {
            format!("{summary} (Wine stores delayed-auto as demand start)")
        } else {
            summary
        })
    } else {
        Err(problems.join("; "))
    }
}

/// Run a script of the package through Wine's cmd: Ok(its last lines) on exit code 0.
fn run_script(
    prefix: &Prefix,
    win_dir: &str,
    script: &str,
    timeout: Duration,
) -> Result<Result<String, String>, VerifyError> {
    // The script waits up to 60 s for the service itself.
    let (code, out) = prefix.run_with(
        "cmd /c {0}",
        &[&format!("{win_dir}\\{script}")],
        timeout + Duration::from_secs(90),
    )?;
    let last = tail(&out, 6);
    Ok(if code == 0 {
        Ok(last)
    } else {
        Err(format!("exit code {code}: {last}"))
    })
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}
