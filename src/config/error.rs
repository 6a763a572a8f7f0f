//! A configuration mistake: the file, the key path, the line, and what to do.

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration mistake: where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub manifest: PathBuf,
    /// Dotted path, e.g. `package.metadata.winpkg.service.start`.
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        match self.line {
            Some(line) => write!(f, "\n  --> {}:{line}", self.manifest.display())?,
            None => write!(f, "\n  --> {}", self.manifest.display())?,
        }
        write!(f, "\n   = key: {}", self.key)?;
        if let Some(help) = &self.help {
            write!(f, "\n   = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error about `key` (a full dotted path) in `manifest`; the line is looked up
    /// from the key in the file as it is now.
    pub fn at(manifest: &Path, key: String, message: String, help: Option<String>) -> Self {
        let text = std::fs::read_to_string(manifest).unwrap_or_default();
        ConfigError {
            manifest: manifest.to_path_buf(),
            line: find_line(&text, &key),
            key,
            message,
            help,
        }
    }
}

/// `a.b[2].c` -> `["a", "b", "2", "c"]` (an index is a segment of its own).
fn segments(key_path: &str) -> Vec<&str> {
    key_path
        .split(['.', '['])
        .map(|s| s.trim_end_matches(']'))
        .filter(|s| !s.is_empty())
        .collect()
}

/// A place in a parsed TOML document.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a toml_edit::Item),
    Table(&'a toml_edit::Table),
    Value(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    /// The child at `seg` (a key, or an index into an array), with the span to point
    /// at: the key's when it is written out, else the value's.
    fn child(self, seg: &str) -> Option<(Node<'a>, Option<std::ops::Range<usize>>)> {
        let table: Option<&dyn toml_edit::TableLike> = match self {
            Node::Item(i) => i.as_table_like(),
            Node::Table(t) => Some(t),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike),
        };
        if let Some(t) = table {
            let (key, value) = t.get_key_value(seg)?;
            return Some((Node::Item(value), key.span().or_else(|| value.span())));
        }
        let index: usize = seg.parse().ok()?;
        match self {
            Node::Item(toml_edit::Item::ArrayOfTables(a)) => {
                let t = a.get(index)?;
                Some((Node::Table(t), t.span()))
            }
            Node::Item(toml_edit::Item::Value(toml_edit::Value::Array(a)))
            | Node::Value(toml_edit::Value::Array(a)) => {
                let v = a.get(index)?;
                Some((Node::Value(v), v.span()))
            }
            _ => None,
        }
    }
}

/// The 1-based line of `key_path` (dotted, with `[i]` indexes) in a TOML text: the
/// key's own line when it is written out, else that of the nearest enclosing key or
/// value that is (a key inside an inline table points at the table's line).
pub fn find_line(text: &str, key_path: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut node = Node::Item(doc.as_item());
    let mut best = None;
    for seg in segments(key_path) {
        let Some((child, span)) = node.child(seg) else {
            break;
        };
        best = span.or(best);
        node = child;
    }
    let offset = best?.start;
    Some(text[..offset.min(text.len())].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found() {
        let text = "[package]\nname = \"x\"\n\n[package.metadata.winpkg]\ntarget = \"a\"\ncrt-static = 1\n\n[package.metadata.winpkg.service]\nname = \"s\"\nstrat = \"auto\"\nrecovery = { actions = [\"a\",\n  \"b\"] }\n";
        assert_eq!(
            find_line(text, "package.metadata.winpkg.crt-static"),
            Some(6)
        );
        assert_eq!(
            find_line(text, "package.metadata.winpkg.service.strat"),
            Some(10)
        );
        assert_eq!(find_line(text, "package.metadata.winpkg.service"), Some(8));
        assert_eq!(find_line(text, "package.metadata.winpkg.nothing"), Some(4));
        assert_eq!(
            find_line(text, "package.metadata.winpkg.service.recovery.actions[1]"),
            Some(12)
        );
        assert_eq!(find_line("not toml [", "a.b"), None);
    }
}
