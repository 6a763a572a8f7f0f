//! `check` on trust and hygiene: Authenticode signatures (matched against osslsigncode
//! and openssl), version information, packers, exploit mitigations, PDB paths and
//! debug info, on real PE files and real files given a packer's layout.

use std::path::Path;
use std::process::Command;

use crate::common::*;
use goblin::pe::PE;

fn file0(v: &serde_json::Value) -> &serde_json::Value {
    &v["files"][0]
}

#[test]
fn a_signed_file_reports_its_signer_and_a_changed_byte_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(dir.path());
    let signed = dir.path().join("signed.exe");
    pki.sign(&fixture("pe/c-hello-x64.exe"), &signed, false);
    let stamped = dir.path().join("stamped.exe");
    pki.sign(&fixture("pe/c-hello-x64.exe"), &stamped, true);

    // Signed, untimestamped: a warning, and the signer as openssl sees the certificate.
    let (code, v) = check_json(&[&signed], &[]);
    assert_eq!(code, 0, "{v:#}");
    let sig = &file0(&v)["signature"];
    assert_eq!(sig["subject"], TestPki::SUBJECT);
    assert_eq!(sig["thumbprint"], pki.thumbprint());
    assert_eq!(sig["digest_algorithm"], "sha256");
    assert_eq!(sig["digest_matches"], true);
    assert_eq!(sig["timestamped"], false);
    assert!(all_codes(&v).contains(&"not-timestamped".to_string()));
    assert!(!all_codes(&v).contains(&"unsigned".to_string()));
    let human = run(["check".as_ref(), signed.as_os_str()]).stdout;
    assert!(
        human.contains(&format!("signed by {}", TestPki::SUBJECT)),
        "{human}"
    );

    // A 32-bit (PE32) file: its data directories sit 16 bytes earlier.
    let x86 = dir.path().join("x86.exe");
    pki.sign(&fixture("pe/c-hello-x86.exe"), &x86, false);
    let (_, v) = check_json(&[&x86], &[]);
    assert_eq!(file0(&v)["signature"]["digest_matches"], true, "{v:#}");

    // Timestamped by the test TSA: no warning, and osslsigncode agrees it verifies.
    let (_, v) = check_json(&[&stamped], &[]);
    assert_eq!(file0(&v)["signature"]["timestamped"], true);
    assert!(!all_codes(&v).contains(&"not-timestamped".to_string()));
    pki.verify(&stamped)
        .expect("osslsigncode verifies the signed file");

    // One changed byte in the code: osslsigncode says MISMATCH, we say
    // signature-mismatch, an error (exit 1).
    let mut bytes = std::fs::read(&stamped).unwrap();
    let text = PE::parse(&bytes).unwrap().sections[0].pointer_to_raw_data as usize;
    bytes[text + 16] ^= 0x01;
    let tampered = dir.path().join("tampered.exe");
    std::fs::write(&tampered, &bytes).unwrap();
    let theirs = pki.verify(&tampered).expect_err("osslsigncode rejects it");
    assert!(theirs.contains("MISMATCH"), "{theirs}");
    let (code, v) = check_json(&[&tampered], &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = diag(&v, "signature-mismatch");
    assert_eq!(d["severity"], "error");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("changed after it was signed")
    );
    assert_eq!(file0(&v)["signature"]["digest_matches"], false);
    // A byte of the CheckSum field is not covered by the hash: still fine.
    let mut bytes = std::fs::read(&stamped).unwrap();
    let pe_off = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    bytes[pe_off + 24 + 64] ^= 0xff;
    std::fs::write(&tampered, &bytes).unwrap();
    let (code, v) = check_json(&[&tampered], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(file0(&v)["signature"]["digest_matches"], true);
}

#[test]
fn a_garbled_signature_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("pe/c-hello-x64-signed.exe")).unwrap();
    let pe = PE::parse(&bytes).unwrap();
    let optional = pe.header.optional_header.unwrap();
    let cert = optional
        .data_directories
        .get_certificate_table()
        .copied()
        .unwrap();
    let start = cert.virtual_address as usize;
    // Cut the PKCS#7 blob at every 97th byte, and flip bytes through it.
    for (i, at) in (start + 8..start + cert.size as usize)
        .step_by(97)
        .enumerate()
    {
        let mut b = bytes.clone();
        if i % 2 == 0 {
            b[at] ^= 0x5a;
        } else {
            b[at..start + cert.size as usize].fill(0);
        }
        let f = dir.path().join(format!("g{i}.exe"));
        std::fs::write(&f, &b).unwrap();
        let (code, v) = check_json(&[&f], &[]);
        assert!(code == 0 || code == 1, "exit {code}: {v:#}");
    }
    // A certificate table that runs past the end of the file.
    let mut b = bytes.clone();
    let dir_off = {
        let pe_off = u32::from_le_bytes(b[0x3c..0x40].try_into().unwrap()) as usize;
        pe_off + 24 + 112 + 8 * 4
    };
    b[dir_off + 4..dir_off + 8].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let f = dir.path().join("long.exe");
    std::fs::write(&f, &b).unwrap();
    let (code, v) = check_json(&[&f], &[]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        diag(&v, "signature-mismatch")["message"]
            .as_str()
            .unwrap()
            .contains("runs past the end of the file")
    );
}

/// Give a real exe UPX's layout: its code section renamed `UPX1`, filled with
/// compressed-looking bytes and made writable (the entry point stays in it), its data
/// section renamed `UPX0`. UPX itself cannot be installed here (fixtures/README.md).
fn upx_layout(src: &Path, dest: &Path, names: bool) {
    let mut bytes = std::fs::read(src).unwrap();
    let pe = PE::parse(&bytes).unwrap();
    let entry = pe.entry as u32;
    let pe_off = pe.header.dos_header.pe_pointer as usize;
    let table = pe_off + 24 + pe.header.coff_header.size_of_optional_header as usize;
    let mut patched = 0;
    for (i, s) in pe.sections.iter().enumerate() {
        let header = table + i * 40;
        let has_entry =
            entry >= s.virtual_address && entry < s.virtual_address + s.virtual_size.max(1);
        let name: &[u8; 8] = if has_entry {
            b"UPX1\0\0\0\0"
        } else if s.name().unwrap_or("") == ".data" {
            b"UPX0\0\0\0\0"
        } else {
            continue;
        };
        if names {
            bytes[header..header + 8].copy_from_slice(name);
        }
        if has_entry {
            // Writable + executable, and its raw bytes near-random (xorshift).
            let flags = header + 36;
            let c = u32::from_le_bytes(bytes[flags..flags + 4].try_into().unwrap());
            bytes[flags..flags + 4].copy_from_slice(&(c | 0x8000_0000 | 0x2000_0000).to_le_bytes());
            let (off, len) = (s.pointer_to_raw_data as usize, s.size_of_raw_data as usize);
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for b in &mut bytes[off..off + len] {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            patched += 1;
        }
    }
    assert_eq!(patched, 1, "the entry point's section");
    std::fs::write(dest, bytes).unwrap();
}

#[test]
fn packed_executables_are_flagged_by_layout_and_by_entropy() {
    let dir = tempfile::tempdir().unwrap();
    let upx = dir.path().join("upx.exe");
    upx_layout(&fixture("pe/rust-hello-x64.exe"), &upx, true);
    let (code, v) = check_json(&[&upx], &[]);
    assert_eq!(code, 0, "a warning: {v:#}");
    let d = diag(&v, "packed-executable");
    assert_eq!(d["severity"], "warning");
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains("UPX (sections UPX0, UPX1)"), "{msg}");
    assert!(d["help"].as_str().unwrap().contains("strip = true"));

    // No telltale names: the entry point in a writable, executable, random section.
    let anon = dir.path().join("anon.exe");
    upx_layout(&fixture("pe/rust-hello-x64.exe"), &anon, false);
    let (_, v) = check_json(&[&anon], &[]);
    let msg = diag(&v, "packed-executable")["message"].as_str().unwrap();
    assert!(msg.contains("an unknown packer"), "{msg}");
    assert!(msg.contains("`.text`"), "{msg}");

    // The unpacked original is not flagged; -D makes the warning fail a CI job.
    let (_, v) = check_json(&[&fixture("pe/rust-hello-x64.exe")], &[]);
    assert!(!all_codes(&v).contains(&"packed-executable".to_string()));
    let (code, _) = check_json(&[&upx], &["-D", "packed-executable"]);
    assert_eq!(code, 1);
}

#[test]
fn a_pdb_under_a_home_folder_is_a_leak_and_a_ci_path_is_not() {
    let (_, v) = check_json(&[&fixture("pe/pdb-home-x64.exe")], &[]);
    let d = diag(&v, "pdb-path-leak");
    assert_eq!(d["severity"], "warning");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains(r"under the home folder C:\Users\alice"),
        "{d:#}"
    );
    let (_, v) = check_json(&[&fixture("pe/pdb-x64.exe")], &[]);
    assert_eq!(
        file0(&v)["pdb_path"],
        r"C:\build\newer.pdb",
        "the path is read"
    );
    assert!(!all_codes(&v).contains(&"pdb-path-leak".to_string()));
}

/// The sizes of the `.debug_*` sections as GNU objdump lists them.
fn objdump_debug_bytes(exe: &Path) -> u64 {
    let out = Command::new("x86_64-w64-mingw32-objdump")
        .arg("-h")
        .arg(exe)
        .output()
        .expect("objdump runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && f[1].starts_with(".debug_"))
                .then(|| u64::from_str_radix(f[2], 16).unwrap())
        })
        .sum()
}

#[test]
fn debug_info_and_symbols_are_measured() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("dbg.exe");
    let st = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-g", "-O0", "-o"])
        .arg(&exe)
        .arg(fixture("src/hello.c"))
        .status()
        .unwrap();
    assert!(st.success());
    let (_, v) = check_json(&[&exe], &[]);
    let debug = &file0(&v)["debug"];
    let dwarf = debug["dwarf"].as_u64().unwrap();
    // objdump lists virtual sizes; the file holds them rounded up to FileAlignment.
    let theirs = objdump_debug_bytes(&exe);
    assert!(
        theirs > 0 && dwarf >= theirs && dwarf < theirs + 0x200 * 16,
        "{dwarf} vs {theirs}"
    );
    assert!(debug["symbols"].as_u64().unwrap() > 0);
    let msg = diag(&v, "debug-info-shipped")["message"].as_str().unwrap();
    assert!(msg.contains("of DWARF debug sections and"), "{msg}");
    // The stripped fixture (`-s`) carries none.
    let (_, v) = check_json(&[&fixture("pe/c-hello-x64.exe")], &[]);
    assert_eq!(file0(&v)["debug"]["dwarf"], 0);
    assert_eq!(file0(&v)["debug"]["symbols"], 0);
    assert!(!all_codes(&v).contains(&"debug-info-shipped".to_string()));
}

#[test]
fn missing_mitigations_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("pe/c-hello-x64.exe")).unwrap();
    let pe_off = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    // DllCharacteristics: 70 bytes into the optional header. Clear DYNAMIC_BASE (0x40)
    // and NX_COMPAT (0x100).
    let at = pe_off + 24 + 70;
    let c = u16::from_le_bytes([bytes[at], bytes[at + 1]]) & !0x0140;
    bytes[at..at + 2].copy_from_slice(&c.to_le_bytes());
    let f = dir.path().join("old.exe");
    std::fs::write(&f, &bytes).unwrap();
    let (code, v) = check_json(&[&f], &[]);
    assert_eq!(code, 0);
    assert_eq!(diag(&v, "no-aslr")["severity"], "warning");
    assert_eq!(diag(&v, "no-dep")["severity"], "warning");
    assert_eq!(diag(&v, "no-cfg")["severity"], "note");
    // The original has both (and high-entropy ASLR): only the CFG note.
    let (_, v) = check_json(&[&fixture("pe/c-hello-x64.exe")], &[]);
    let c = all_codes(&v);
    assert!(
        !c.iter()
            .any(|c| c == "no-aslr" || c == "no-dep" || c == "no-high-entropy-va")
    );
    // EFI images are not judged on Windows mitigations or version resources.
    let (_, v) = check_json(&[&fixture("pe/app-x64.efi")], &[]);
    assert_eq!(all_codes(&v), ["unsigned"], "{v:#}");
}

#[test]
fn version_information_is_read_from_real_files() {
    // Wine's own kernel32.dll carries a VERSIONINFO resource (Wine is installed for
    // the service tests); a mingw hello has none.
    let kernel32 = [
        "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/kernel32.dll",
        "/usr/lib/wine/x86_64-windows/kernel32.dll",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.is_file())
    .expect("Wine's kernel32.dll is installed (scripts/setup.sh)");
    let (_, v) = check_json(&[kernel32], &[]);
    let ver = &file0(&v)["version"];
    assert_eq!(ver["file_version"].as_str().unwrap().split('.').count(), 4);
    let strings = ver["strings"].as_array().unwrap();
    let get = |k: &str| {
        strings
            .iter()
            .find(|p| p[0] == k)
            .map(|p| p[1].as_str().unwrap().to_string())
    };
    assert_eq!(get("OriginalFilename").as_deref(), Some("kernel32.dll"));
    assert_eq!(get("FileDescription").as_deref(), Some("Wine kernel DLL"));
    assert!(!all_codes(&v).contains(&"no-version-info".to_string()));
    let (_, v) = check_json(&[&fixture("pe/c-hello-x64.exe")], &[]);
    assert!(file0(&v)["version"].is_null());
    assert_eq!(diag(&v, "no-version-info")["severity"], "note");
}
