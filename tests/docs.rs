//! Documentation and generated data that must not drift from the code.

use std::process::Command;

use crate::common::*;

/// README.md's table of diagnostic codes is exactly the one the code has
/// (`check::codes::CODES`: name, default level, summary, fix).
#[test]
fn readme_lists_every_diagnostic_code_as_the_code_does() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("### Diagnostic codes"))
        .skip_while(|l| !l.starts_with("|---"))
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        rows,
        cargo_winpkg::check::codes::readme_rows(),
        "README.md's code table differs from src/check/codes.rs; paste the rows printed by the assertion"
    );
    // And `check --help` prints every code with its level.
    let help = run(["check", "--help"]).stdout;
    for info in cargo_winpkg::check::codes::CODES {
        assert!(
            help.lines()
                .any(|l| l.contains(info.name) && l.contains(info.severity.as_str())),
            "{} missing from --help:\n{help}",
            info.name
        );
    }
}

/// src/dlls/system-dlls.txt is what scripts/gen-system-dlls.py makes from the vendored
/// vanilla-Windows lists (data/windows-system-dlls): regenerate it when they change.
#[test]
fn the_system_dll_table_is_fresh() {
    // The generator's default folder, inside the repository.
    let out = Command::new("python3")
        .arg(root().join("scripts/gen-system-dlls.py"))
        .arg("--stdout")
        .current_dir(root())
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(root().join("src/dlls/system-dlls.txt")).unwrap();
    assert!(
        out.stdout == committed,
        "src/dlls/system-dlls.txt is stale: run python3 scripts/gen-system-dlls.py"
    );
}
