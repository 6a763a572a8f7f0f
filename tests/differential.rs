//! Second opinions on every fixture: goblin for the normal import table, and LLVM's
//! `llvm-readobj --coff-imports` for both tables (goblin does not read delay-load imports).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use cargo_winpkg::pe::{ImportedFunction, PeFormat};

fn all_fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if std::fs::read(&p).unwrap().starts_with(b"MZ") {
                out.push(p);
            }
        }
    }
    walk(&fixture("pe"), &mut out);
    walk(&fixture("msvc"), &mut out);
    assert!(
        out.len() >= 20,
        "expected the whole fixture set, got {}",
        out.len()
    );
    out
}

/// One of our tables, flattened; ordinals as goblin and LLVM name them.
fn ours(path: &Path, delay: bool) -> Table {
    let facts = cargo_winpkg::pe::read_file(path).unwrap();
    facts
        .imports
        .iter()
        .filter(|i| i.delay == delay)
        .flat_map(|i| {
            i.functions.iter().map(move |f| {
                let f = match f {
                    ImportedFunction::Ordinal(n) => format!("ORDINAL {n}"),
                    ImportedFunction::Name(name) => name.to_string(),
                };
                (i.dll.clone(), f)
            })
        })
        .collect()
}

#[test]
fn goblin_agrees_on_every_normal_import_table() {
    for path in all_fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        let pe =
            goblin::pe::PE::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let theirs: Vec<(String, String)> = pe
            .imports
            .iter()
            .map(|i| (i.dll.to_string(), i.name.to_string()))
            .collect();
        assert_eq!(ours(&path, false), theirs, "{}", path.display());
        let facts = cargo_winpkg::pe::read_file(&path).unwrap();
        assert_eq!(facts.dll, pe.is_lib, "{}", path.display());
        assert_eq!(
            facts.format == PeFormat::Pe32Plus,
            pe.is_64,
            "{}",
            path.display()
        );
    }
}

/// (dll, function) pairs of one import table, flattened in file order.
type Table = Vec<(String, String)>;

/// Parse `llvm-readobj --coff-imports`: (dll, symbol-or-ORDINAL n) per table.
fn llvm(path: &Path) -> (Table, Table) {
    let out = Command::new("llvm-readobj")
        .arg("--coff-imports")
        .arg(path)
        .output()
        .expect("llvm-readobj must be installed (.ci/run installs llvm)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut normal, mut delay) = (Vec::new(), Vec::new());
    let mut current: Option<(bool, String)> = None;
    for line in text.lines() {
        let t = line.trim();
        // Top-level blocks start in column 0; a DelayImport nests its own "Import {".
        if line == "Import {" {
            current = Some((false, String::new()));
        } else if line == "DelayImport {" {
            current = Some((true, String::new()));
        } else if let Some(name) = line.strip_prefix("  Name: ") {
            if let Some((_, dll)) = current.as_mut() {
                *dll = name.to_string();
            }
        } else if let Some(sym) = t.strip_prefix("Symbol: ") {
            // "Name (hint)" or " (ordinal)" for imports by ordinal.
            let (name, num) = sym.rsplit_once(" (").unwrap();
            let num = num.trim_end_matches(')');
            let f = if name.is_empty() {
                format!("ORDINAL {num}")
            } else {
                name.to_string()
            };
            if let Some((is_delay, dll)) = &current {
                if *is_delay { &mut delay } else { &mut normal }.push((dll.clone(), f));
            }
        }
    }
    (normal, delay)
}

#[test]
fn llvm_readobj_agrees_on_both_tables() {
    let mut delay_seen = 0;
    for path in all_fixtures() {
        let (normal, delay) = llvm(&path);
        assert_eq!(ours(&path, false), normal, "{}", path.display());
        assert_eq!(ours(&path, true), delay, "{}", path.display());
        delay_seen += delay.len();
    }
    assert!(delay_seen >= 6, "the fixtures exercise delay-load tables");
}
