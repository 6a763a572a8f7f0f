//! `verify --wine` runs the package's own scripts and programs. They run inside a
//! bubblewrap sandbox: the whole host file system read-only, a private `/tmp`, no
//! network, its own process namespace (so every process of it, Wine's server and the
//! service included, ends with it), and a new session (no access to the terminal). Only
//! one work folder is writable; the Wine prefix lives there, and has no drive letter
//! for the host's file system (see [`super::wine`]).
//!
//! The sandbox runs this same program (`cargo-winpkg __wine-stage`): the parent writes
//! a [`Request`] as JSON to its stdin, and reads [`Event`]s back, one JSON line each.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::steps::Request;
use super::{Run, Step, Verification, VerifyError, cleanup};

/// What the sandboxed stage reports, a JSON line each.
#[derive(Debug, Serialize, Deserialize)]
pub enum Event {
    Step(Step),
    Done {
        registry: std::collections::BTreeMap<String, String>,
        install_dir: Option<String>,
        prefix: Option<PathBuf>,
        processprng_standin: bool,
    },
    Error(String),
}

/// Why the sandbox could not be used.
fn unavailable(why: String) -> VerifyError {
    VerifyError::SandboxUnavailable(why)
}

/// The bubblewrap command line that runs `program args` with `work` writable and
/// `readable` visible (both may be under the host's /tmp, which the sandbox hides).
pub fn bwrap_command(work: &Path, readable: &[&Path], program: &Path) -> Command {
    let mut c = Command::new("bwrap");
    c.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
        .args(["--tmpfs", "/tmp"]);
    for r in readable {
        c.arg("--ro-bind").arg(r).arg(r);
    }
    c.arg("--bind").arg(work).arg(work);
    c.args([
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
        "--new-session",
        "--",
    ])
    .arg(program)
    .env("HOME", work)
    .env("TMPDIR", work)
    .env_remove("XDG_RUNTIME_DIR");
    c
}

/// Read the stage's events from its stdout: each step into `run`, the findings into
/// `v`; (whether it finished, the error it stopped with).
fn read_events(
    child: &mut std::process::Child,
    run: &mut Run,
    v: &mut Verification,
) -> (bool, Option<String>) {
    let mut done = false;
    let mut error = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Event>(&line) {
                Ok(Event::Step(s)) => run.push(s),
                Ok(Event::Done {
                    registry,
                    install_dir,
                    prefix,
                    processprng_standin,
                }) => {
                    v.registry = registry;
                    v.install_dir = install_dir;
                    v.prefix = prefix;
                    v.processprng_standin = processprng_standin;
                    done = true;
                }
                Ok(Event::Error(e)) => error = Some(e),
                Err(_) => {}
            }
        }
    }
    (done, error)
}

/// Run the Wine steps in the sandbox; record its steps in `run` and its findings in `v`.
pub(super) fn run_stage(
    req: &Request,
    package_dir: &Path,
    keep: bool,
    run: &mut Run,
    v: &mut Verification,
) -> Result<(), VerifyError> {
    super::wine::require_installed()?;
    if which::which("bwrap").is_err() {
        return Err(unavailable("bubblewrap (`bwrap`) is not installed".into()));
    }
    let exe = std::env::current_exe().map_err(|e| VerifyError::Io {
        action: "find the path of",
        path: PathBuf::from("this program"),
        source: e,
    })?;
    let work = tempfile::Builder::new()
        .prefix("winpkg-wine-")
        .tempdir()
        .map_err(|e| VerifyError::Io {
            action: "create a temporary folder in",
            path: std::env::temp_dir(),
            source: e,
        })?;
    let guard = cleanup::Guard::dir(work.path());
    // A file, not a pipe: nothing the stage's children print can block it.
    let stderr_path = work.path().join("stage-stderr.txt");
    let stderr_file = std::fs::File::create(&stderr_path).map_err(|e| VerifyError::Io {
        action: "write",
        path: stderr_path.clone(),
        source: e,
    })?;
    let mut readable = vec![package_dir, exe.as_path()];
    readable.extend(super::msi_steps::readable(req));
    let mut child = bwrap_command(work.path(), &readable, &exe)
        .arg("__wine-stage")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr_file)
        .spawn()
        .map_err(|e| unavailable(format!("cannot run bwrap: {e}")))?;
    let child_guard = cleanup::Guard::process(child.id());
    if let Some(mut stdin) = child.stdin.take() {
        // A request of plain strings and numbers: serialising it cannot fail.
        if let Ok(json) = serde_json::to_vec(req) {
            let _ = stdin.write_all(&json);
        }
    }
    let (done, error) = read_events(&mut child, run, v);
    let _ = child.wait();
    drop(child_guard);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if let Some(e) = error {
        return Err(VerifyError::InSandbox(e));
    }
    if !done {
        return Err(unavailable(format!(
            "the sandbox ended without finishing: {}",
            stderr.trim()
        )));
    }
    drop(guard);
    if keep {
        let _ = work.keep();
    }
    Ok(())
}

/// `cargo-winpkg __wine-stage`, inside the sandbox: read a [`Request`] on stdin, run the
/// Wine steps, write [`Event`]s on stdout. Returns the exit code.
pub fn stage_main() -> u8 {
    let mut out = std::io::stdout();
    let mut emit = |e: &Event| {
        if let Ok(line) = serde_json::to_string(e) {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    let req: Request = match serde_json::from_reader(std::io::stdin()) {
        Ok(r) => r,
        Err(e) => {
            emit(&Event::Error(format!("bad request: {e}")));
            return 2;
        }
    };
    let progress = |s: &Step| {
        if let Ok(line) = serde_json::to_string(&Event::Step(s.clone())) {
            let mut o = std::io::stdout();
            let _ = writeln!(o, "{line}");
            let _ = o.flush();
        }
    };
    let mut run = Run {
        steps: Vec::new(),
        progress: &progress,
    };
    let mut v = Verification::default();
    match super::wine_stage::steps(&mut run, &req, &mut v) {
        Ok(()) => {
            emit(&Event::Done {
                registry: v.registry,
                install_dir: v.install_dir,
                prefix: v.prefix,
                processprng_standin: v.processprng_standin,
            });
            0
        }
        Err(e) => {
            emit(&Event::Error(e.to_string()));
            2
        }
    }
}
