//! Facts + policy -> diagnostics with stable kebab-case codes (in the style of cargo-deny).
//!
//! Codes never change meaning once released: CI configurations re-level them by name.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::classify::Release;

/// A diagnostic code. `ALL` lists them in documentation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    MissingVcRedist,
    DebugCrt,
    MissingMingwRuntime,
    MissingDll,
    DelayLoadMissing,
    UcrtNeedsUpdate,
    DllNotInWindowsVersion,
    MachineMismatch,
    UnmatchedAllow,
    SubsystemVersionTooNew,
}

impl Code {
    pub const ALL: [Code; 10] = [
        Code::MissingVcRedist,
        Code::DebugCrt,
        Code::MissingMingwRuntime,
        Code::MissingDll,
        Code::DelayLoadMissing,
        Code::UcrtNeedsUpdate,
        Code::DllNotInWindowsVersion,
        Code::MachineMismatch,
        Code::UnmatchedAllow,
        Code::SubsystemVersionTooNew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::MissingVcRedist => "missing-vc-redist",
            Code::DebugCrt => "debug-crt",
            Code::MissingMingwRuntime => "missing-mingw-runtime",
            Code::MissingDll => "missing-dll",
            Code::DelayLoadMissing => "delay-load-missing",
            Code::UcrtNeedsUpdate => "ucrt-needs-update",
            Code::DllNotInWindowsVersion => "dll-not-in-windows-version",
            Code::MachineMismatch => "machine-mismatch",
            Code::UnmatchedAllow => "unmatched-allow",
            Code::SubsystemVersionTooNew => "subsystem-version-too-new",
        }
    }

    pub fn default_severity(self) -> Severity {
        match self {
            Code::DelayLoadMissing | Code::UnmatchedAllow => Severity::Warning,
            Code::UcrtNeedsUpdate => Severity::Note,
            _ => Severity::Error,
        }
    }

    /// One line for `--help`, SARIF rule descriptions and the README table.
    pub fn summary(self) -> &'static str {
        match self {
            Code::MissingVcRedist => {
                "imports the Visual C++ runtime, which a clean Windows does not have"
            }
            Code::DebugCrt => "imports a debug C runtime, which may not be redistributed",
            Code::MissingMingwRuntime => {
                "imports the MinGW/GCC runtime and it is not shipped beside the program"
            }
            Code::MissingDll => "imports a third-party DLL that was not found",
            Code::DelayLoadMissing => {
                "delay-loads a DLL that may be missing: fails only when first called"
            }
            Code::UcrtNeedsUpdate => {
                "uses the Universal CRT, which Windows before 10 gets only through an update"
            }
            Code::DllNotInWindowsVersion => {
                "imports a system DLL that the minimum Windows release lacks"
            }
            Code::MachineMismatch => "a resolved DLL is built for another machine type",
            Code::UnmatchedAllow => "an allow entry matched no imported DLL",
            Code::SubsystemVersionTooNew => {
                "the image asks for a newer Windows (subsystem version) than the minimum release"
            }
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Code {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
                format!(
                    "unknown diagnostic code `{s}`; the codes are: {}",
                    all.join(", ")
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// What the user asked a code to become: `-D` (error), `-W` (warning), `-A` (dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Deny,
    Warn,
    Allow,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// The PE file the diagnostic is about; None for policy-level ones.
    pub file: Option<PathBuf>,
    /// The DLL name as spelled in the import table.
    pub dll: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

/// A DLL the user accepts as provided by the host (`--allow NAME`, config `allow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// A DLL name, case-insensitive; `*` matches any run of characters.
    pub name: String,
    pub reason: Option<String>,
}

impl AllowRule {
    pub fn matches(&self, dll: &str) -> bool {
        glob_match(
            self.name.to_ascii_lowercase().as_bytes(),
            dll.to_ascii_lowercase().as_bytes(),
        )
    }
}

/// `*` matches any run, `?` one character; everything else literally.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            p += 1;
            mark = t;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Everything that turns facts into verdicts; shared by `check` and the build.
#[derive(Debug, Clone)]
pub struct Policy {
    pub min_windows: Release,
    pub allow: Vec<AllowRule>,
    pub levels: BTreeMap<Code, Level>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_windows: Release::Win10,
            allow: Vec::new(),
            levels: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// The severity a code ends up with, or None when the user allowed it.
    pub fn severity(&self, code: Code) -> Option<Severity> {
        match self.levels.get(&code) {
            Some(Level::Allow) => None,
            Some(Level::Deny) => Some(Severity::Error),
            Some(Level::Warn) => Some(Severity::Warning),
            None => Some(code.default_severity()),
        }
    }

    /// The index of the first allow rule that matches `dll`.
    pub fn allowed(&self, dll: &str) -> Option<usize> {
        self.allow.iter().position(|r| r.matches(dll))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"python3*.dll", b"python311.dll"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"python3*.dll", b"python.dll"));
        assert!(
            AllowRule {
                name: "SQLITE3.dll".into(),
                reason: None
            }
            .matches("sqlite3.DLL")
        );
    }

    #[test]
    fn codes_round_trip() {
        for c in Code::ALL {
            assert_eq!(c.as_str().parse::<Code>(), Ok(c));
        }
        assert!("nope".parse::<Code>().unwrap_err().contains("missing-dll"));
    }
}
