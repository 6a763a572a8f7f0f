//! What a verify run reports: its steps (checks, which can fail, and info steps, which
//! record what was done) and the whole verification. Every layer of `verify` writes
//! into a [`Run`]; this module imports none of them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::ice;

/// Why a check failed (shown as its detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed(pub String);

/// A check's outcome: what it saw when it passed, or why it failed.
pub type CheckResult = Result<String, Failed>;

impl From<String> for Failed {
    fn from(s: String) -> Self {
        Failed(s)
    }
}

impl From<&str> for Failed {
    fn from(s: &str) -> Self {
        Failed(s.to_string())
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Step {
    pub name: String,
    /// A check, which can fail; false for an info step, which records what was done.
    pub check: bool,
    pub ok: bool,
    pub seconds: f64,
    pub detail: String,
}

#[derive(Debug, Default, Serialize)]
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
    /// For an MSI: what Windows Installer's rules found (errors fail the check).
    pub findings: Vec<ice::Finding>,
    pub ok: bool,
}

impl Verification {
    /// (checks passed, checks failed).
    pub fn tally(&self) -> (usize, usize) {
        let checks = self.steps.iter().filter(|s| s.check);
        let failed = checks.clone().filter(|s| !s.ok).count();
        (checks.count() - failed, failed)
    }
}

pub(super) struct Run<'a> {
    pub steps: Vec<Step>,
    pub progress: &'a dyn Fn(&Step),
}

impl Run<'_> {
    pub fn push(&mut self, s: Step) {
        (self.progress)(&s);
        self.steps.push(s);
    }

    /// Record a check; returns whether it passed.
    pub fn check(&mut self, name: &str, start: Instant, result: CheckResult) -> bool {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(Failed(d)) => (false, d),
        };
        self.push(Step {
            name: name.into(),
            check: true,
            ok,
            seconds: start.elapsed().as_secs_f64(),
            detail,
        });
        ok
    }

    /// Record an info step: something done, not something judged.
    pub fn info(&mut self, name: &str, start: Instant, detail: String) {
        self.push(Step {
            name: name.into(),
            check: false,
            ok: true,
            seconds: start.elapsed().as_secs_f64(),
            detail,
        });
    }
}

impl Verification {
    pub(super) fn finish(mut self, run: Run) -> Verification {
        self.ok = run.steps.iter().all(|s| s.ok);
        self.steps = run.steps;
        self
    }
}
