//! Signing and stamping what ships: real osslsigncode signatures with a test
//! certificate, verified by osslsigncode and read back by `check` and service.json;
//! VERSIONINFO stamped from Cargo.toml.

use std::path::{Path, PathBuf};

use crate::common::*;
use base64::Engine;
use serde_json::Value;

/// A copy of the example in `dir` with `table` appended to its Cargo.toml.
fn example_with(dir: &Path, table: &str) -> PathBuf {
    copy_example_with(dir, |t| t + table)
}

/// Build and package `manifest` (release) into `out` with its own target folder, and
/// with the signing secrets empty unless `envs` gives them.
fn build(manifest: &Path, out: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut args = vec!["--release"];
    args.extend(extra);
    // An empty variable is how GitHub Actions passes a secret that is not there.
    let mut all = vec![("WINPKG_PFX", ""), ("WINPKG_PFX_PASSWORD", "")];
    all.retain(|(k, _)| !envs.iter().any(|(e, _)| e == k));
    all.extend(envs);
    package_in(manifest, None, out, &args, &all)
}

fn entry(zip: &Path, name: &str) -> Vec<u8> {
    zip_entries(zip)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} in {}", zip.display()))
        .1
}

const SIGN_PFX: &str = r#"
[package.metadata.winpkg.version-info]
company-name = "Example & Söhne \"Ltd\" 100%"

[package.metadata.winpkg.sign]
pkcs12-env = "WINPKG_PFX"
password-env = "WINPKG_PFX_PASSWORD"
timestamp = false
description = "Hello Service"
"#;

/// The CI way: the .pfx base64-encoded in one secret, its password in another.
/// Exe and .ps1 scripts verify with osslsigncode; service.json and `check` name the
/// signer; with SOURCE_DATE_EPOCH two builds give the same zip, signatures included.
#[test]
#[allow(clippy::too_many_lines)] // one build read back file by file
fn a_pfx_from_the_environment_signs_the_exe_and_scripts_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::new(tmp.path());
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&pki.p12).unwrap());
    let manifest = example_with(&tmp.path().join("hello"), SIGN_PFX);
    let env = [
        ("WINPKG_PFX", b64.as_str()),
        ("WINPKG_PFX_PASSWORD", TestPki::PASSWORD),
        ("SOURCE_DATE_EPOCH", "1700000000"),
    ];
    let r = build(&manifest, &tmp.path().join("out1"), &[], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Signed hello-service.exe"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("Stamped hello-service.exe with version information 0.1.0.0"),
        "{}",
        r.stderr
    );
    let zip = zip_path(&r.json());

    // osslsigncode verifies every signed file against the test CA.
    let x = tmp.path().join("x");
    std::fs::create_dir_all(&x).unwrap();
    for name in ["hello-service.exe", "install.ps1", "uninstall.ps1"] {
        let f = x.join(name);
        std::fs::write(&f, entry(&zip, name)).unwrap();
        pki.verify(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // service.json says who signed what; .cmd files cannot carry a signature.
    let m: Value = serde_json::from_slice(&entry(&zip, "service.json")).unwrap();
    let sig_of = |name: &str| {
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == name)
            .unwrap()["signature"]
            .clone()
    };
    for name in ["hello-service.exe", "install.ps1", "uninstall.ps1"] {
        let s = sig_of(name);
        assert_eq!(s["subject"], TestPki::SUBJECT, "{name}");
        assert_eq!(s["thumbprint"], pki.thumbprint(), "{name}");
        assert_eq!(s["digest_algorithm"], "sha256", "{name}");
        assert_eq!(s["timestamped"], false, "{name}");
    }
    assert!(sig_of("install.cmd").is_null());

    // `check` on the shipped exe: signed, intact, stamped from Cargo.toml.
    let exe = x.join("hello-service.exe");
    let (code, v) = check_json(&[&exe], &[]);
    assert_eq!(code, 0, "{v:#}");
    let f = &v["files"][0];
    assert_eq!(f["signature"]["digest_matches"], true);
    assert_eq!(f["manifest"], false, "no app-manifest unless asked");
    let strings: Vec<(String, String)> =
        serde_json::from_value(f["version"]["strings"].clone()).unwrap();
    let get = |k: &str| {
        strings
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, b)| b.as_str())
    };
    assert_eq!(f["version"]["file_version"], "0.1.0.0");
    assert_eq!(get("FileVersion"), Some("0.1.0"));
    assert_eq!(get("ProductName"), Some("hello-service"));
    assert_eq!(get("CompanyName"), Some("Example & Söhne \"Ltd\" 100%"));
    assert_eq!(get("OriginalFilename"), Some("hello-service.exe"));
    assert_eq!(
        get("LegalCopyright"),
        Some("Licensed under MIT OR Apache-2.0")
    );
    assert_eq!(
        get("FileDescription"),
        Some("A small native Windows service: the example cargo-winpkg packages")
    );
    let codes = all_codes(&v);
    assert!(codes.contains(&"not-timestamped".to_string()), "{codes:?}");
    assert!(!codes.contains(&"no-version-info".to_string()), "{codes:?}");
    assert!(!codes.contains(&"unsigned".to_string()), "{codes:?}");

    // The same build again: the same bytes (the signing time is pinned).
    let r2 = build(&manifest, &tmp.path().join("out2"), &[], &env);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    assert!(
        std::fs::read(&zip).unwrap() == std::fs::read(zip_path(&r2.json())).unwrap(),
        "two signed builds differ"
    );

    // `verify` passes the package; a byte changed after signing (with SHA256SUMS and
    // service.json rewritten to match, as an attacker would) is caught.
    let ok = run(["verify".as_ref(), zip.as_os_str()]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    let mut bytes = entry(&zip, "hello-service.exe");
    let n = patch_bytes(
        &mut bytes,
        b"hello-service.log",
        b"hello-servicX.log",
        false,
    );
    assert_eq!(n, 1);
    let bad = tmp.path().join("tampered.zip");
    craft_package(&zip, &bad, &[("hello-service.exe", bytes)]);
    let r = run(["verify".as_ref(), bad.as_os_str()]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAIL signatures"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("signature-mismatch: hello-service.exe changed after it was signed"),
        "{}",
        r.stdout
    );
    // The forger's service.json (no signature records) is caught as well.
    assert!(
        r.stdout
            .contains("service.json says install.ps1 is unsigned, but it is signed by"),
        "{}",
        r.stdout
    );
    let ok_steps = run(["verify".as_ref(), zip.as_os_str()]).stdout;
    assert!(
        ok_steps.contains("3 of 3 files signed, intact, by CN=Winpkg Test Signer"),
        "{ok_steps}"
    );

    // --no-sign: the same crate, no secrets needed, nothing signed.
    let r = build(&manifest, &tmp.path().join("out3"), &["--no-sign"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m: Value = serde_json::from_slice(&entry(&zip_path(&r.json()), "service.json")).unwrap();
    assert!(
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["signature"].is_null())
    );
}

/// Mistakes are found before the build and named: the missing secret, a timestamp
/// server that does not answer, --sign without a table, two key sources.
#[test]
fn signing_mistakes_are_named_before_or_while_signing() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::new(tmp.path());
    let manifest = example_with(&tmp.path().join("hello"), SIGN_PFX);
    let r = build(&manifest, &tmp.path().join("o1"), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("`WINPKG_PFX`, which is not set"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--no-sign"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("Building"),
        "before the build: {}",
        r.stderr
    );

    let unsigned = example_with(&tmp.path().join("plain"), "");
    let r = build(&unsigned, &tmp.path().join("o2"), &["--sign"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no [package.metadata.winpkg.sign] table"),
        "{}",
        r.stderr
    );

    let both = format!(
        "\n[package.metadata.winpkg.sign]\npkcs12 = {:?}\ncert = {:?}\nkey = {:?}\n",
        pki.p12, pki.cert, pki.key
    );
    let m = example_with(&tmp.path().join("both"), &both);
    let r = build(&m, &tmp.path().join("o3"), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("exactly one source of the key"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("pkcs12, cert/key are set"),
        "{}",
        r.stderr
    );

    // Timestamps are on by default: without a server to ask, that is said first.
    let no_urls = format!(
        "\n[package.metadata.winpkg.sign]\ncert = {:?}\nkey = {:?}\n",
        pki.cert, pki.key
    );
    let m = example_with(&tmp.path().join("nourls"), &no_urls);
    let r = build(&m, &tmp.path().join("o5"), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("has no `timestamp-urls`"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("Building"),
        "before the build: {}",
        r.stderr
    );

    // Timestamp servers that cannot be reached: each is named with its reason.
    let offline = format!(
        "\n[package.metadata.winpkg.sign]\ncert = {:?}\nkey = {:?}\ntimestamp-urls = [\"http://ts-one.invalid\", \"http://ts-two.invalid/x\"]\ntimestamp-retries = 1\n",
        pki.cert, pki.key
    );
    let m = example_with(&tmp.path().join("offline"), &offline);
    let r = build(&m, &tmp.path().join("o4"), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let e = &r.stderr;
    assert!(
        e.contains("no timestamp server answered while signing hello-service.exe"),
        "{e}"
    );
    assert!(
        e.contains("http://ts-one.invalid (") && e.contains("http://ts-two.invalid/x ("),
        "{e}"
    );
    assert!(e.contains("timestamp = false"), "{e}");
    assert!(
        !tmp.path().join("o4").exists()
            || std::fs::read_dir(tmp.path().join("o4"))
                .unwrap()
                .next()
                .is_none(),
        "no zip"
    );
}

/// An external signer (`command`, as for an HSM or a cloud service), here osslsigncode
/// with its offline test timestamp authority: every file it signs is timestamped.
#[test]
fn an_external_signing_command_signs_and_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::new(tmp.path());
    let table = format!(
        "\n[package.metadata.winpkg.sign]\ncommand = [\"osslsigncode\", \"sign\", \"-h\", \"sha256\", \"-certs\", {:?}, \"-key\", {:?}, \"-TSA-certs\", {:?}, \"-TSA-key\", {:?}, \"-in\", \"{{file}}\", \"-out\", \"{{out}}\"]\n",
        pki.cert, pki.key, pki.tsa_cert, pki.tsa_key
    );
    let manifest = example_with(&tmp.path().join("hello"), &table);
    let r = build(&manifest, &tmp.path().join("out"), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let m: Value = serde_json::from_slice(&entry(&zip, "service.json")).unwrap();
    let signed: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["signature"]["timestamped"] == true)
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        signed,
        ["hello-service.exe", "install.ps1", "uninstall.ps1"]
    );
    let exe = tmp.path().join("h.exe");
    std::fs::write(&exe, entry(&zip, "hello-service.exe")).unwrap();
    pki.verify(&exe).expect("verifies with the TSA");
    let (_, v) = check_json(&[&exe], &[]);
    assert!(!all_codes(&v).contains(&"not-timestamped".to_string()));
}

/// A wrapped console program: shawl.exe (built here, unsigned) is signed too, and the
/// bundled MinGW DLLs of a C++ crate would be; files that come signed keep their
/// signature.
#[test]
fn shawl_is_signed_and_a_vendor_signature_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::new(tmp.path());
    let dir = tmp.path().join("ticker");
    copy_crate(&fixture("crates/ticker"), &dir, |text| {
        text.replace(
            "target = \"x86_64-pc-windows-gnu\"",
            "target = \"x86_64-pc-windows-gnu\"\nbundle-dlls = [\"thirdparty.dll\"]",
        ) + &format!(
            "\n[package.metadata.winpkg.sign]\ncert = {:?}\nkey = {:?}\ntimestamp = false\n",
            pki.cert, pki.key
        )
    });
    // A DLL signed by someone else, bundled with `bundle-dlls`.
    let vendor = tmp.path().join("vendor");
    std::fs::create_dir_all(&vendor).unwrap();
    let other = TestPki::new(&vendor);
    other.sign(
        &fixture("pe/bundle-x64/thirdparty.dll"),
        &dir.join("thirdparty.dll"),
        false,
    );
    let r = build(&dir.join("Cargo.toml"), &tmp.path().join("out"), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("kept the signatures thirdparty.dll came with"),
        "{}",
        r.stderr
    );
    let zip = zip_path(&r.json());
    let m: Value = serde_json::from_slice(&entry(&zip, "service.json")).unwrap();
    let thumb = |name: &str| {
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == name)
            .unwrap()["signature"]["thumbprint"]
            .as_str()
            .map(String::from)
    };
    assert_eq!(thumb("shawl.exe"), Some(pki.thumbprint()));
    assert_eq!(thumb("ticker.exe"), Some(pki.thumbprint()));
    assert_eq!(thumb("thirdparty.dll"), Some(other.thumbprint()));
    let shawl = tmp.path().join("shawl.exe");
    std::fs::write(&shawl, entry(&zip, "shawl.exe")).unwrap();
    pki.verify(&shawl).expect("shawl.exe verifies");
}

/// `size` builds and measures; it signs nothing, so it needs no signing secrets.
#[test]
fn size_needs_no_signing_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = example_with(&tmp.path().join("hello"), SIGN_PFX);
    let o = winpkg()
        .args(["winpkg", "size", "--release", "--manifest-path"])
        .arg(&manifest)
        .env("WINPKG_PFX", "")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(".text"));
}

/// `--msi` with a signing table: the MSI is signed too (with the MsiDigitalSignatureEx
/// stream), and osslsigncode verifies it against the test CA.
#[test]
fn the_msi_is_signed_with_the_package() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::new(tmp.path());
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&pki.p12).unwrap());
    let table = format!(
        "{SIGN_PFX}\n[package.metadata.winpkg.msi]\nupgrade-code = \"{{6F1C2A3B-1111-4222-8333-944455556666}}\"\n"
    );
    let manifest = example_with(&tmp.path().join("hello"), &table);
    let env = [
        ("WINPKG_PFX", b64.as_str()),
        ("WINPKG_PFX_PASSWORD", TestPki::PASSWORD),
        ("SOURCE_DATE_EPOCH", "1700000000"),
    ];
    let r = build(&manifest, &tmp.path().join("out"), &["--msi"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msi = PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    assert!(
        r.stderr.contains(&format!("Signed {}", msi.display())),
        "{}",
        r.stderr
    );
    let said = pki.verify(&msi).unwrap_or_else(|e| panic!("{e}"));
    assert!(said.contains("MsiDigitalSignatureEx"), "{said}");
    // Still a database msiexec reads: the tables are there.
    let p = msi::open(&msi).unwrap();
    assert!(p.has_table("ServiceInstall"));
    assert!(p.has_digital_signature());
    // And it passes Windows Installer's rules, signed as it is.
    assert_msi_rules_pass(&msi);
}
