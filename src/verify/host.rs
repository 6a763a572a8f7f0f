//! The machine a package is installed on by `verify`: what the steps need of it, and
//! nothing about how. A Wine prefix (`wine::Prefix`) is one; a Windows machine is the
//! next. The steps (`steps`, `zip_steps`, `msi_steps`) are written over this trait
//! only, so a new host is a new file that implements it.
//!
//! Paths are Windows paths as the host sees them (`C:\winpkg verify\app`); `local` turns
//! one into a path this process can read and write (the prefix's `drive_c` folder under
//! Wine, the same path on Windows).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::VerifyError;

/// A machine to install on, run, query and clean.
pub trait Host: Sync {
    /// Run one batch line made of `template` with `{0}`, `{1}`... replaced by `values`
    /// (quoted for cmd.exe); its whole exit code and its output.
    fn run_with(
        &self,
        template: &str,
        values: &[&str],
        timeout: Duration,
    ) -> Result<(i32, String), VerifyError>;

    /// Run batch-file text with more environment variables; exit code and output.
    fn run_batch_env(
        &self,
        body: &str,
        timeout: Duration,
        env: &[(&str, &str)],
    ) -> Result<(i32, String), VerifyError>;

    /// The service's state word (RUNNING, STOPPED, ...), or None when it does not exist.
    fn service_state(&self, name: &str) -> Result<Option<String>, VerifyError>;

    /// The service's stored configuration as registry value name -> text (strings as
    /// they are, dwords as numbers, multi strings joined with `\n`).
    fn service_config(&self, name: &str) -> Result<BTreeMap<String, String>, VerifyError>;

    /// Whether [`Host::service_config`] reports the service manager's whole
    /// configuration (delayed start, recovery, SID type, privileges, pre-shutdown
    /// timeout, dependencies), so the steps judge it. Wine's registry holds only what
    /// its sc.exe stores.
    fn reads_full_config(&self) -> bool {
        false
    }

    /// Whether this is Wine: the steps then allow for what Wine is known to do
    /// differently (an unquoted ImagePath, delayed-auto stored as demand start, an
    /// msiexec that does not wait for a service to stop) and say so. Never on Windows.
    fn is_wine(&self) -> bool {
        false
    }

    /// Where verify puts what it copies onto the host (a Windows path).
    fn work_dir(&self) -> String {
        WORK_DIR.to_string()
    }

    /// The names of the subkeys of a registry key (`HKEY_LOCAL_MACHINE\...`); empty
    /// when the key does not exist.
    fn registry_subkeys(&self, key: &str) -> Result<Vec<String>, VerifyError>;

    /// A string value of a registry key (`HKEY_LOCAL_MACHINE\...`), as stored
    /// (unexpanded); None when the key or the value does not exist.
    fn registry_value(&self, key: &str, name: &str) -> Result<Option<String>, VerifyError>;

    /// The processes whose program is the file `image` (not wrappers naming it).
    fn processes_running(&self, image: &str) -> Vec<u32>;

    /// The processes whose command line mentions `needle` (case-insensitive).
    fn processes_matching(&self, needle: &str) -> Vec<u32>;

    /// End a process at once, as a crash would (TerminateProcess; SIGKILL under Wine).
    fn kill(&self, pid: u32) -> Result<(), VerifyError>;

    /// Whether the service manager applies a service's recovery actions (restart after
    /// a crash). Wine's does not.
    fn applies_recovery(&self) -> bool;

    /// A Windows path of this host as a path this process can use, or None when it is
    /// not reachable (another drive than C: under Wine).
    fn local(&self, win: &str) -> Option<PathBuf>;

    /// The access rights the allow entries of a folder's DACL give `principal` (as
    /// icacls names it: `*S-1-5-19`, or an account name); None when this host cannot
    /// read a file's ACL (a Wine prefix, from Linux).
    fn folder_rights(&self, win: &str, principal: &str) -> Result<Option<u32>, VerifyError> {
        let _ = (win, principal);
        Ok(None)
    }

    /// The Windows folder (`%SystemRoot%`), in lower case where the host allows.
    fn system_root(&self) -> String {
        "C:\\windows".into()
    }

    /// The ProgramData folder (`{programdata}` in service.json).
    fn program_data(&self) -> String {
        "C:\\ProgramData".into()
    }

    /// Poll until the service reaches `state` or `timeout` passes.
    fn wait_state(&self, name: &str, state: &str, timeout: Duration) -> Result<bool, VerifyError> {
        let start = Instant::now();
        loop {
            if self.service_state(name)?.as_deref() == Some(state) {
                return Ok(true);
            }
            if start.elapsed() > timeout {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// Where verify puts what it copies into a Wine prefix: a folder with a space in its
/// name, as "Program Files" has.
pub const WORK_DIR: &str = "C:\\winpkg verify";

/// What a configuration value is when the host cannot report it: the steps name it
/// instead of passing it.
pub const NOT_AVAILABLE: &str = "(not available on this Windows)";

/// The word for a SERVICE_STATUS state (`sc query` prints the same words).
pub fn state_word(state: u32) -> &'static str {
    match state {
        1 => "STOPPED",
        2 => "START_PENDING",
        3 => "STOP_PENDING",
        4 => "RUNNING",
        5 => "CONTINUE_PENDING",
        6 => "PAUSE_PENDING",
        7 => "PAUSED",
        _ => "UNKNOWN",
    }
}
