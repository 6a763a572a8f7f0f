//! What the user asks of the check: the minimum Windows, the DLLs the host provides,
//! and the level of each code.

use std::collections::BTreeMap;

use super::codes::{Code, Severity};
use crate::dlls::Release;

/// What the user asked a code to become: `-D` (error), `-W` (warning), `-A` (dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Deny,
    Warn,
    Allow,
}

/// A DLL the user accepts as provided by the host (`--allow NAME`, config `allow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// As written: a DLL name, case-insensitive; `*` matches any run of characters,
    /// `?` one character.
    pub name: String,
    pub reason: Option<String>,
    pattern: glob::Pattern,
}

/// An allow entry that is not a valid pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a valid DLL name pattern: {why}")]
pub struct BadPattern {
    pub name: String,
    pub why: String,
}

impl AllowRule {
    pub fn new(name: &str, reason: Option<String>) -> Result<AllowRule, BadPattern> {
        let pattern = glob::Pattern::new(name).map_err(|e| BadPattern {
            name: name.to_string(),
            why: e.msg.to_string(),
        })?;
        Ok(AllowRule {
            name: name.to_string(),
            reason,
            pattern,
        })
    }

    pub fn matches(&self, dll: &str) -> bool {
        const OPTIONS: glob::MatchOptions = glob::MatchOptions {
            case_sensitive: false,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        self.pattern.matches_with(dll, OPTIONS)
    }
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
        if code == Code::UnreadablePe {
            return Some(Severity::Error); // an input error, whatever the levels say
        }
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
    fn allow_patterns() {
        let rule = |n: &str| AllowRule::new(n, None).unwrap();
        assert!(rule("python3*.dll").matches("python311.dll"));
        assert!(rule("*").matches(""));
        assert!(rule("a?c").matches("abc"));
        assert!(!rule("python3*.dll").matches("python.dll"));
        assert!(rule("SQLITE3.dll").matches("sqlite3.DLL"));
        assert!(AllowRule::new("[", None).is_err());
    }
}
