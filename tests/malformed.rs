//! Bad input: every non-PE or broken PE file gets exit code 2 and a message that names
//! the file and says what is wrong and where; nothing panics, whatever the bytes.

use std::path::Path;

use crate::common::*;
use proptest::prelude::*;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// File offset of data directory `index` in a PE32+ image.
fn data_dir_offset(b: &[u8], index: usize) -> usize {
    let nt = u32_at(b, 0x3c) as usize;
    assert_eq!(&b[nt..nt + 4], b"PE\0\0");
    assert_eq!(
        u16::from_le_bytes([b[nt + 24], b[nt + 25]]),
        0x20b,
        "PE32+ expected"
    );
    nt + 24 + 112 + index * 8
}

/// Map an RVA to a file offset through the section table.
fn rva_to_offset(b: &[u8], rva: u32) -> usize {
    let nt = u32_at(b, 0x3c) as usize;
    let nsec = u16::from_le_bytes([b[nt + 6], b[nt + 7]]) as usize;
    let opt_size = u16::from_le_bytes([b[nt + 20], b[nt + 21]]) as usize;
    let sec = nt + 24 + opt_size;
    for i in 0..nsec {
        let s = sec + i * 40;
        let va = u32_at(b, s + 12);
        let vsize = u32_at(b, s + 8).max(u32_at(b, s + 16));
        if rva >= va && rva < va + vsize {
            return (u32_at(b, s + 20) + (rva - va)) as usize;
        }
    }
    panic!("rva {rva:#x} not mapped");
}

fn check_bytes(name: &str, bytes: &[u8]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let r = run(["check".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 2, "{name}: stdout={} stderr={}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(name),
        "the message names the file: {}",
        r.stderr
    );
    // The report has no file, and says why in an unreadable-pe diagnostic (issue:
    // one unreadable file must not hide the report of the others).
    assert!(
        r.stdout.contains("error[unreadable-pe]") && r.stdout.contains(name),
        "the report carries the unreadable file: {}",
        r.stdout
    );
    assert!(r.stdout.contains("checked 0 files"), "{}", r.stdout);
    r
}

#[test]
fn empty_text_and_foreign_binaries() {
    let r = check_bytes("empty.exe", b"");
    assert!(
        r.stderr.contains("not a PE file: the file is empty"),
        "{}",
        r.stderr
    );
    let r = check_bytes("readme.exe", b"hello, I am text\n");
    assert!(
        r.stderr.contains("no MZ signature at offset 0x0"),
        "{}",
        r.stderr
    );
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(256, 0);
    let r = check_bytes("linux-binary", &elf);
    assert!(r.stderr.contains("ELF file"), "{}", r.stderr);
    let mut dos = read("pe/c-hello-x64.exe");
    let nt = u32_at(&dos, 0x3c) as usize;
    dos[nt..nt + 4].copy_from_slice(b"NE\0\0");
    let r = check_bytes("dos.exe", &dos);
    assert!(
        r.stderr
            .contains(&format!("no PE signature at offset {nt:#x}")),
        "{}",
        r.stderr
    );
}

#[test]
fn truncated_files() {
    let exe = read("pe/c-hello-x64.exe");
    let nt = u32_at(&exe, 0x3c) as usize;
    let r = check_bytes("short.exe", &exe[..40]);
    assert!(r.stderr.contains("truncated DOS header"), "{}", r.stderr);
    let r = check_bytes("headless.exe", &exe[..nt]);
    assert!(
        r.stderr.contains(&format!("PE header offset {nt:#x}")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("beyond the end of the file"),
        "{}",
        r.stderr
    );
    let r = check_bytes("half.exe", &exe[..exe.len() / 2]);
    assert!(
        r.stderr.contains("invalid") || r.stderr.contains("truncated"),
        "{}",
        r.stderr
    );
}

#[test]
fn import_table_pointing_outside_the_file() {
    let mut exe = read("pe/c-hello-x64.exe");
    let dd = data_dir_offset(&exe, 1);
    exe[dd..dd + 4].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let r = check_bytes("outside.exe", &exe);
    assert!(r.stderr.contains("import"), "{}", r.stderr);
    assert!(r.stderr.contains("RVA 0x7fff0000"), "{}", r.stderr);
    assert!(r.stderr.contains("outside every section"), "{}", r.stderr);
}

#[test]
fn import_descriptor_with_a_bad_name_rva_names_the_offset() {
    let mut exe = read("pe/c-hello-x64.exe");
    let dd = data_dir_offset(&exe, 1);
    let import_rva = u32_at(&exe, dd);
    let desc = rva_to_offset(&exe, import_rva);
    // Descriptor field 3 (offset 12) is the DLL name RVA.
    exe[desc + 12..desc + 16].copy_from_slice(&0x0fff_fff0u32.to_le_bytes());
    let r = check_bytes("badname.exe", &exe);
    assert!(
        r.stderr.contains("DLL name at RVA 0xffffff0"),
        "{}",
        r.stderr
    );
}

#[test]
fn delay_load_table_pointing_outside_the_file() {
    let mut exe = read("pe/bundle-x64/app.exe");
    let dd = data_dir_offset(&exe, 13);
    assert_ne!(u32_at(&exe, dd), 0, "the fixture has a delay-load table");
    exe[dd..dd + 4].copy_from_slice(&0x00ff_0000u32.to_le_bytes());
    let r = check_bytes("delay.exe", &exe);
    assert!(r.stderr.contains("delay-load import table"), "{}", r.stderr);
}

#[test]
fn a_broken_dll_in_the_closure_is_named_with_its_importer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("pe/bundle-x64/app.exe"), dir.path().join("app.exe")).unwrap();
    std::fs::copy(
        fixture("pe/bundle-x64/vcruntime140.dll"),
        dir.path().join("vcruntime140.dll"),
    )
    .unwrap();
    std::fs::write(dir.path().join("thirdparty.dll"), b"MZ broken").unwrap();
    let r = run(["check".as_ref(), dir.path().join("app.exe").as_os_str()]);
    // The loader would pick this file and fail: an unreadable input, named with the
    // file that needs it.
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("thirdparty.dll: "), "{}", r.stderr);
    assert!(r.stderr.contains("truncated DOS header"), "{}", r.stderr);
    assert!(r.stderr.contains("(needed by "), "{}", r.stderr);
    assert!(r.stderr.contains("app.exe)"), "{}", r.stderr);
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let r = run(["check", "/no/such/file.exe"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/no/such/file.exe"), "{}", r.stderr);
}

fn all_fixture_bytes() -> Vec<Vec<u8>> {
    [
        "pe/c-hello-x64.exe",
        "pe/msvcstyle-x86.exe",
        "pe/bundle-x64/app.exe",
        "msvc/_speedups.cp312-win_arm64.pyd",
        "pe/c-hello-x64-signed.exe",
    ]
    .iter()
    .map(|f| read(f))
    .collect()
}

#[test]
fn every_truncation_of_real_files_is_handled() {
    for bytes in all_fixture_bytes() {
        for len in (0..bytes.len()).step_by(61) {
            let _ = cargo_winpkg::pe::parse(Path::new("t"), &bytes[..len]);
        }
    }
}

/// Fixture `which` with the bytes at `edits` replaced.
fn mutated(which: usize, edits: Vec<(prop::sample::Index, u8)>) -> Vec<u8> {
    let mut bytes = all_fixture_bytes().swap_remove(which);
    for (at, value) in edits {
        let i = at.index(bytes.len());
        bytes[i] = value;
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random byte edits of real files: Ok or Err, never a panic or a hang.
    #[test]
    fn mutated_files_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
    ) {
        let bytes = mutated(which, edits);
        let _ = cargo_winpkg::pe::parse(Path::new("fuzz"), &bytes);
    }

    /// A file is read a block at a time, only where the reader looks; the verdict must
    /// be the one reading all of it in memory gives, for any bytes.
    #[test]
    fn reading_by_blocks_agrees_with_reading_whole(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..24),
    ) {
        let bytes = mutated(which, edits);
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut tmp, &bytes).unwrap();
        let show = |r: Result<cargo_winpkg::pe::Facts, cargo_winpkg::pe::PeError>| match r {
            Ok(mut f) => {
                f.file_id = None;
                format!("{f:?}")
            }
            Err(e) => format!("error: {e}"),
        };
        let by_blocks = show(cargo_winpkg::pe::read_file(tmp.path()));
        let whole = show(cargo_winpkg::pe::parse(tmp.path(), &bytes));
        prop_assert_eq!(by_blocks, whole);
    }
}

#[test]
fn inputs_the_fuzzer_found_are_handled() {
    // fixtures/fuzz: inputs that once crashed the reader (cargo fuzz, fuzz/).
    let dir = fixture("fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let _ = cargo_winpkg::pe::parse(&path, &bytes);
        let r = run(["check".as_ref(), path.as_os_str()]);
        assert!(
            [0, 1, 2].contains(&r.code),
            "{}: {}",
            path.display(),
            r.stderr
        );
        n += 1;
    }
    assert!(n > 0);
}
