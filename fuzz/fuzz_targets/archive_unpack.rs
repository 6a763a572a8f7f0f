//! Any bytes as a package archive (a zip, or an MSI when they start like a compound
//! file) into verify's bounded unpacking, as `check` and `verify` use it: Ok or Err,
//! never a panic, a hang or unbounded memory, and nothing written outside its folder.
//! Run: `cargo +nightly fuzz run archive_unpack` (from fuzz/..).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let input = dir.path().join("input.bin");
    if std::fs::write(&input, data).is_err() {
        return;
    }
    let out = dir.path().join("out");
    if std::fs::create_dir(&out).is_err() {
        return;
    }
    let limits = cargo_winpkg::verify::Limits {
        max_entry: 1 << 20,
        max_total: 4 << 20,
        max_ratio: 200,
        max_entries: 256,
    };
    let _ = cargo_winpkg::verify::unpack(&input, &out, &limits);
    // Nothing escapes the folder: the only things beside `out` are the input.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(names.len() <= 2, "{names:?}");
});
