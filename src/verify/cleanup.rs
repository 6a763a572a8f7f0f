//! What `verify` must undo when it is interrupted (SIGINT, SIGTERM, SIGHUP): the
//! temporary folders it made and the Wine processes of its prefix. Each is registered
//! while it exists ([`Guard`]); on a signal the handler undoes what is registered and
//! exits with 130. (A sandboxed Wine stage needs no entry for its processes: the
//! sandbox's process namespace dies with its parent.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// Remove this folder.
    Dir(PathBuf),
    /// Kill this process (the sandbox: its whole process namespace goes with it).
    Process(u32),
    /// Stop every process of this Wine prefix (`wineserver -k`), whose server runs
    /// with this TMPDIR.
    Prefix(PathBuf, PathBuf),
    /// Run this program with these arguments (no shell): `verify --here` removing the
    /// service or product it installed.
    Command(String, Vec<String>),
}

static ITEMS: Mutex<Vec<Item>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// When a signal arrived, the handler is undoing what is registered and will end the
/// process with 130: the work it pulled away (killed processes, removed folders) must
/// not end it first with an error of its own. Call before returning from a step that
/// such clean-up can break.
pub fn wait_if_interrupted() {
    while INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Registered while alive; unregistered when dropped (the owner cleans up itself then).
pub struct Guard(Item);

impl Guard {
    /// Remove `dir` if the process is interrupted.
    pub fn dir(dir: &Path) -> Guard {
        Guard::register(Item::Dir(dir.to_path_buf()))
    }

    /// Kill the child process `pid` if the process is interrupted.
    pub fn process(pid: u32) -> Guard {
        Guard::register(Item::Process(pid))
    }

    /// Stop the processes of the Wine prefix `prefix` if the process is interrupted.
    pub fn prefix(prefix: &Path, tmpdir: &Path) -> Guard {
        Guard::register(Item::Prefix(prefix.to_path_buf(), tmpdir.to_path_buf()))
    }

    /// Run `program ARGS` if the process is interrupted (no shell, output dropped).
    pub fn command(program: String, args: Vec<String>) -> Guard {
        Guard::register(Item::Command(program, args))
    }

    /// Whether this guard removes a folder.
    pub fn is_dir(&self) -> bool {
        matches!(self.0, Item::Dir(_))
    }

    fn register(item: Item) -> Guard {
        install_handler();
        if let Ok(mut items) = ITEMS.lock() {
            items.push(item.clone());
        }
        Guard(item)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut items) = ITEMS.lock()
            && let Some(i) = items.iter().rposition(|x| *x == self.0)
        {
            items.remove(i);
        }
    }
}

fn install_handler() {
    HANDLER.call_once(|| {
        // If another handler is installed already, that one decides.
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            undo_all();
            std::process::exit(130);
        });
    });
}

/// Undo everything registered, newest first: processes before the folders they use.
fn undo_all() {
    let items = match ITEMS.lock() {
        Ok(mut items) => std::mem::take(&mut *items),
        Err(_) => return,
    };
    for item in items.iter().rev() {
        match item {
            Item::Process(pid) => kill(*pid),
            Item::Prefix(p, tmp) => stop_prefix(p, tmp),
            Item::Command(program, args) => run_quietly(program, args),
            Item::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
}

/// Stop every process of a Wine prefix. `wineserver -k` alone is not enough: a `wine`
/// started just before the signal may not have reached the server yet, and then starts
/// a new server (and services) of its own. So also kill whatever still runs with this
/// WINEPREFIX, until nothing does. (No new `wine` starts meanwhile: commands wait in
/// [`wait_if_interrupted`] once the flag is set.)
fn stop_prefix(prefix: &Path, tmp: &Path) {
    for _ in 0..10 {
        let _ = std::process::Command::new("wineserver")
            .arg("-k")
            .env("WINEPREFIX", prefix)
            .env("TMPDIR", tmp)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let left = processes_with_env("WINEPREFIX", prefix);
        if left.is_empty() {
            return;
        }
        for pid in left {
            kill(pid);
        }
    }
}

/// The processes whose environment sets `key` to `value` (Linux: read from /proc).
#[cfg(unix)]
fn processes_with_env(key: &str, value: &Path) -> Vec<u32> {
    use std::os::unix::ffi::OsStrExt;
    let mut wanted = format!("{key}=").into_bytes();
    wanted.extend_from_slice(value.as_os_str().as_bytes());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == wanted.as_slice()))
        })
        .collect()
}

#[cfg(not(unix))]
fn processes_with_env(_key: &str, _value: &Path) -> Vec<u32> {
    Vec::new()
}

#[cfg(unix)]
pub(super) fn kill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: sending a signal to our own child; no memory is involved.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        // Let the kernel end the namespace before its folders are removed.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[cfg(not(unix))]
pub(super) fn kill(_pid: u32) {}

/// Run `program ARGS` (no shell), its output dropped, and wait for it; whether it ran
/// is not judged (the clean-up of what may already be gone).
pub(super) fn run_quietly(program: &str, args: &[String]) {
    let _ = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
