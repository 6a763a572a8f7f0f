//! Stamping version information and a manifest into real PE files: the exe is streamed
//! into a copy with one more section, and everything it had stays where a reader finds
//! it (sections, resources, overlay, COFF string table, checksum).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use cargo_winpkg::package::stamp::{APP_MANIFEST, Stamp, Versions, stamp};

fn wine_exe(name: &str) -> PathBuf {
    [
        "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows",
        "/usr/lib/wine/x86_64-windows",
    ]
    .into_iter()
    .map(|d| Path::new(d).join(name))
    .find(|p| p.is_file())
    .unwrap_or_else(|| panic!("Wine's {name} is installed (scripts/setup.sh)"))
}

fn versions() -> Versions {
    Versions {
        file_version: [1, 2, 3, 0],
        product_version: [1, 2, 3, 0],
        prerelease: false,
        strings: vec![
            (
                "FileDescription".into(),
                "Stamped & streamed \"100%\"".into(),
            ),
            ("FileVersion".into(), "1.2.3".into()),
        ],
    }
}

fn readobj(args: &[&str], file: &Path) -> String {
    let o = Command::new("llvm-readobj")
        .args(args)
        .arg(file)
        .output()
        .expect("llvm-readobj is installed (scripts/setup.sh)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// (name, raw pointer, raw size) of each section, as llvm-readobj reads them (long
/// names come from the COFF string table).
fn sections(file: &Path) -> Vec<(String, u64, u64)> {
    let text = readobj(&["--sections"], file);
    let mut out = Vec::new();
    let (mut name, mut size) = (String::new(), 0u64);
    for line in text.lines().map(str::trim) {
        let num = |l: &str| {
            let v = l.split(": ").nth(1).unwrap();
            v.strip_prefix("0x").map_or_else(
                || v.parse().unwrap(),
                |h| u64::from_str_radix(h, 16).unwrap(),
            )
        };
        if let Some(n) = line.strip_prefix("Name: ") {
            name = n.split(' ').next().unwrap().to_string();
        } else if line.starts_with("RawDataSize:") {
            size = num(line);
        } else if line.starts_with("PointerToRawData:") {
            out.push((name.clone(), num(line), size));
        }
    }
    out
}

fn resource_types(file: &Path) -> Vec<String> {
    readobj(&["--coff-resources"], file)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Type: "))
        .map(|t| t.trim_end_matches(" [").to_string())
        .collect()
}

/// The PE checksum, computed the plain way over a whole file (the field at `at` counts
/// as zero): the reference the streamed one is compared with.
fn reference_checksum(bytes: &[u8], at: usize) -> u32 {
    let mut b = bytes.to_vec();
    b[at..at + 4].fill(0);
    if b.len() % 2 == 1 {
        b.push(0);
    }
    let mut sum: u32 = 0;
    for w in b.chunks(2) {
        sum += u32::from(u16::from_le_bytes([w[0], w[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum + bytes.len() as u32
}

fn checksum_offset(bytes: &[u8]) -> usize {
    let pe = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    pe + 24 + 64
}

#[test]
fn stamping_adds_a_section_and_keeps_resources_overlay_and_long_section_names() {
    let tmp = tempfile::tempdir().unwrap();
    // Wine's clock.exe: a resource section (menus, strings, a manifest) but no version
    // info, and DWARF sections whose long names live in a COFF string table after the
    // sections. An overlay of odd length goes on its end.
    let src = tmp.path().join("clock.exe");
    let mut original = std::fs::read(wine_exe("clock.exe")).unwrap();
    // Wine sets a checksum (stale: its files are edited after the link).
    let at = checksum_offset(&original);
    let linked = u32::from_le_bytes(original[at..at + 4].try_into().unwrap());
    let overlay: Vec<u8> = b"OVERLAY-".iter().cycle().take(100_001).copied().collect();
    original.extend_from_slice(&overlay);
    std::fs::write(&src, &original).unwrap();
    let before_sections = sections(&src);
    assert!(before_sections.iter().any(|s| s.0 == ".debug_info"));
    let before_types = resource_types(&src);
    assert!(!before_types.iter().any(|t| t.contains("VERSION")));

    let dst = tmp.path().join("stamped.exe");
    let s = Stamp {
        version: Some(versions()),
        manifest: Some(APP_MANIFEST.to_string()),
    };
    let done = stamp(&src, &dst, &s).unwrap();
    assert!(
        done.version_info && !done.manifest && done.kept_manifest,
        "{done:?}"
    );
    let stamped = std::fs::read(&dst).unwrap();
    assert_eq!(
        std::fs::read(&src).unwrap(),
        original,
        "the source is not touched"
    );

    // Every section is where it was, byte for byte, with its long name resolved; one
    // more section follows them.
    let after = sections(&dst);
    assert_eq!(after[..before_sections.len()], before_sections[..]);
    assert_eq!(after.len(), before_sections.len() + 1);
    for (name, ptr, size) in &before_sections {
        let (p, n) = (*ptr as usize, *size as usize);
        assert!(stamped[p..p + n] == original[p..p + n], "{name} changed");
    }
    // The old resources are all still there, beside the new version info; the exe's
    // own manifest is kept, not replaced.
    let types = resource_types(&dst);
    for t in &before_types {
        assert!(types.contains(t), "{t} lost: {types:?}");
    }
    assert!(types.iter().any(|t| t.contains("VERSION")), "{types:?}");
    let (code, v) = check_json(&[&dst], &[]);
    assert!(code == 0 || code == 1, "{v:#}");
    let f = &v["files"][0];
    assert_eq!(f["version"]["file_version"], "1.2.3.0", "{f:#}");
    assert_eq!(f["manifest"], true);
    let (_, orig) = check_json(&[&src], &[]);
    assert_eq!(f["imports"], orig["files"][0]["imports"]);
    // The overlay is on the end, whole.
    assert!(stamped.ends_with(&overlay));
    // Wine's linker set a checksum: it is computed again over the new bytes.
    let new = u32::from_le_bytes(stamped[at..at + 4].try_into().unwrap());
    assert_ne!(new, linked);
    assert_eq!(new, reference_checksum(&stamped, at));
}

#[test]
fn a_set_checksum_is_set_again_and_stamping_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    // MinGW's linker writes the checksum: the reference agrees with it.
    let mut bytes = std::fs::read(fixture("pe/c-hello-x64.exe")).unwrap();
    let at = checksum_offset(&bytes);
    let sum = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(sum, reference_checksum(&bytes, at));
    bytes.extend_from_slice(b"odd overlay");
    let src = tmp.path().join("hello.exe");
    std::fs::write(&src, &bytes).unwrap();
    let s = Stamp {
        version: Some(versions()),
        manifest: None,
    };
    let (a, b) = (tmp.path().join("a.exe"), tmp.path().join("b.exe"));
    stamp(&src, &a, &s).unwrap();
    stamp(&src, &b, &s).unwrap();
    let out = std::fs::read(&a).unwrap();
    assert_eq!(out, std::fs::read(&b).unwrap(), "two stamps differ");
    let written = u32::from_le_bytes(out[at..at + 4].try_into().unwrap());
    assert_ne!(written, sum);
    assert_eq!(written, reference_checksum(&out, at));
    // PE32 as well as PE32+: the version is read back from the 32-bit exe.
    let x86 = tmp.path().join("x86.exe");
    stamp(&fixture("pe/c-hello-x86.exe"), &x86, &s).unwrap();
    let (_, v) = check_json(&[&x86], &[]);
    assert_eq!(v["files"][0]["version"]["file_version"], "1.2.3.0", "{v:#}");
    assert_eq!(v["files"][0]["machine"], "x86", "{v:#}");
}

#[test]
fn nothing_to_add_writes_nothing_and_a_signed_exe_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // kernel32.dll has its own version info: kept, no copy written.
    let dst = tmp.path().join("k.dll");
    let s = Stamp {
        version: Some(versions()),
        manifest: None,
    };
    let done = stamp(&wine_exe("kernel32.dll"), &dst, &s).unwrap();
    assert!(done.kept_version_info && !done.wrote(), "{done:?}");
    assert!(!dst.exists());
    // A signed exe would lose its signature.
    let dst = tmp.path().join("signed.exe");
    let e = stamp(&fixture("pe/c-hello-x64-signed.exe"), &dst, &s).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("c-hello-x64-signed.exe"), "{msg}");
    assert!(
        msg.contains("already signed") && msg.contains("stamp = false"),
        "{msg}"
    );
    assert!(!dst.exists());
    // Not a PE file: named, nothing written.
    let text = tmp.path().join("notes.exe");
    std::fs::write(&text, "plain text").unwrap();
    let e = stamp(&text, &dst, &s).unwrap_err().to_string();
    assert!(e.contains("notes.exe") && e.contains("MZ"), "{e}");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temp left"
    );
}
