//! `cargo winpkg verify ZIP|MSI` offline, on real packages and on broken ones.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::common::*;
use serde_json::Value;

fn verify_json(zip: &Path) -> (i32, Value) {
    let r = run([
        "verify".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        zip.as_os_str(),
    ]);
    (r.code, r.json())
}

/// Copy a zip, changing entries with `edit` (None drops one).
fn rewrite(src: &Path, dest: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let entries: BTreeMap<String, Vec<u8>> = zip_entries(src)
        .into_iter()
        .filter_map(|(name, data)| edit(&name, data).map(|d| (name, d)))
        .collect();
    let entries: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.clone()))
        .collect();
    raw_zip(dest, &entries);
}

#[test]
fn a_fresh_package_verifies() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let (code, v) = verify_json(&zip);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ok"], true);
    for s in [
        "read zip",
        "file names",
        "checksums",
        "manifest",
        "dll closure",
        "signatures",
    ] {
        assert_eq!(step(&v, s)["ok"], true, "{s}");
    }
    assert!(
        step(&v, "checksums")["detail"]
            .as_str()
            .unwrap()
            .contains("6 files match")
    );
    let r = run(["verify".as_ref(), zip.as_os_str()]);
    assert_eq!(r.code, 0);
    // "read zip" is an info step: it cannot fail, so it is not counted as a check.
    assert!(r.stdout.contains("6 checks passed"), "{}", r.stdout);
    assert!(r.stdout.contains("no file is signed"), "{}", r.stdout);
    assert!(r.stdout.contains("--   read zip"), "{}", r.stdout);
    assert_eq!(step(&v, "read zip")["check"], false);
    assert_eq!(step(&v, "checksums")["check"], true);
}

#[test]
fn tampered_missing_and_unlisted_files_are_caught() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let bad = out.path().join("tampered.zip");
    rewrite(&zip, &bad, |name, data| {
        if name == "install.cmd" {
            let mut d = data;
            d.extend_from_slice(b"echo extra\r\n");
            Some(d)
        } else {
            Some(data)
        }
    });
    let (code, v) = verify_json(&bad);
    assert_eq!(code, 1);
    assert!(
        step(&v, "checksums")["detail"]
            .as_str()
            .unwrap()
            .contains("`install.cmd` does not match")
    );
    assert!(
        step(&v, "manifest")["detail"]
            .as_str()
            .unwrap()
            .contains("`install.cmd` differs")
    );

    let missing = out.path().join("missing.zip");
    rewrite(&zip, &missing, |name, data| {
        (name != "uninstall.cmd").then_some(data)
    });
    let (code, v) = verify_json(&missing);
    assert_eq!(code, 1);
    assert!(
        step(&v, "checksums")["detail"]
            .as_str()
            .unwrap()
            .contains("`uninstall.cmd` is listed but not in the zip")
    );

    let extra = out.path().join("extra.zip");
    rewrite(&zip, &extra, |_, data| Some(data));
    let mut a = zip::ZipWriter::new_append(
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&extra)
            .unwrap(),
    )
    .unwrap();
    a.start_file("sneaky.dll", zip::write::SimpleFileOptions::default())
        .unwrap();
    a.write_all(b"not really").unwrap();
    a.finish().unwrap();
    let (code, v) = verify_json(&extra);
    assert_eq!(code, 1);
    assert!(
        step(&v, "checksums")["detail"]
            .as_str()
            .unwrap()
            .contains("`sneaky.dll` is not covered")
    );
}

#[test]
fn a_bundle_missing_its_dlls_fails_the_closure() {
    let out = tempfile::tempdir().unwrap();
    let r = package(&fixture("crates/cppdep/Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let bad = out.path().join("nodll.zip");
    rewrite(&zip, &bad, |name, data| {
        (name != "libgcc_s_seh-1.dll").then_some(data)
    });
    let (code, v) = verify_json(&bad);
    assert_eq!(code, 1);
    let d = step(&v, "dll closure");
    assert_eq!(d["ok"], false);
    assert!(
        d["detail"]
            .as_str()
            .unwrap()
            .contains("missing-mingw-runtime"),
        "{d}"
    );
}

#[test]
fn unreadable_input_and_missing_wine_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_zip = dir.path().join("x.zip");
    std::fs::write(&not_zip, "hello").unwrap();
    let r = run(["verify".as_ref(), not_zip.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("x.zip: not a readable zip"),
        "{}",
        r.stderr
    );
    let r = run(["verify", "/no/such.zip"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("/no/such.zip: cannot open"),
        "{}",
        r.stderr
    );

    // No wine on PATH: the error names the package to install.
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let o = winpkg()
        .args(["verify", "--wine"])
        .arg(&zip)
        .env("PATH", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("apt-get install wine"), "{stderr}");
}

#[test]
fn a_package_with_a_root_folder_verifies() {
    let d = tempfile::tempdir().unwrap();
    copy_twobins(d.path());
    let toml = std::fs::read_to_string(fixture("crates/twobins/Cargo.toml")).unwrap()
        + "root-dir = true\n";
    std::fs::write(d.path().join("Cargo.toml"), toml).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v) = verify_json(&zip_path(&r.json()));
    assert_eq!(code, 0, "{v:#}");
    assert!(
        step(&v, "manifest")["detail"]
            .as_str()
            .unwrap()
            .contains("twobins 0.1.0")
    );
}

/// The example service's MSI (`--msi`, with an upgrade code).
fn example_msi(out: &Path) -> std::path::PathBuf {
    let crate_dir = out.join("crate");
    let manifest = copy_example_with(&crate_dir, |t| {
        t + "\n[package.metadata.winpkg.msi]\nupgrade-code = \"{6F1C2A3B-1111-4222-8333-944455556666}\"\n"
    });
    let r = package(&manifest, &out.join("out"), &["--release", "--msi"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::path::PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap())
}

/// Change one column of the rows of `table` whose `key_col` is `key` (msi crate).
fn set_msi_value(msi: &Path, table: &str, key_col: &str, key: &str, col: &str, v: msi::Value) {
    let mut p = msi::open_rw(msi).unwrap();
    p.update_rows(
        msi::Update::table(table)
            .set(col, v)
            .with(msi::Expr::col(key_col).eq(msi::Expr::string(key))),
    )
    .unwrap();
    p.flush().unwrap();
}

/// `verify` reads an MSI as it reads a zip: its files out of the embedded cabinet
/// (each against its File row and MsiFileHash), then the zip's checks, then the
/// ServiceInstall row against service.json. Tampering with the bytes' hash, or with the
/// service row, fails the step that owns it.
#[test]
fn an_msi_verifies_like_its_zip_and_tampering_is_caught() {
    let out = tempfile::tempdir().unwrap();
    let msi = example_msi(out.path());
    let (code, v) = verify_json(&msi);
    assert_eq!(code, 0, "{v:#}");
    for s in [
        "file names",
        "extract",
        "checksums",
        "manifest",
        "dll closure",
        "signatures",
        "msi tables",
        "windows installer rules",
    ] {
        assert_eq!(step(&v, s)["ok"], true, "{s}: {v:#}");
    }
    assert_eq!(step(&v, "read msi")["check"], false);
    let tables = step(&v, "msi tables")["detail"].as_str().unwrap();
    assert!(
        tables.contains("6 of 7 files in MsiFileHash")
            && tables.contains("service `hello-service` as in service.json"),
        "{tables}"
    );
    assert!(
        step(&v, "checksums")["detail"]
            .as_str()
            .unwrap()
            .contains("6 files match")
    );
    let r = run(["verify".as_ref(), msi.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("8 checks passed"), "{}", r.stdout);
    files_tampered_with_are_caught(out.path(), &msi);
    service_rows_that_disagree_are_caught(out.path(), &msi);
}

/// A copy whose MsiFileHash or FileSize is not the cabinet's is caught at extraction.
fn files_tampered_with_are_caught(out: &Path, msi: &Path) {
    // A hash that is not the cabinet's bytes'.
    let files = {
        let mut p = msi::open(msi).unwrap();
        p.select_rows(msi::Select::table("File"))
            .unwrap()
            .map(|r| {
                (
                    r["File"].as_str().unwrap().to_string(),
                    r["FileName"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let exe_key = &files
        .iter()
        .find(|(_, n)| n.ends_with("|hello-service.exe"))
        .unwrap()
        .0;
    // (The exe is versioned: Windows Installer compares it by File.Version, and only
    // unversioned files are in MsiFileHash.)
    let script_key = &files
        .iter()
        .find(|(_, n)| n.ends_with("|install.cmd"))
        .unwrap()
        .0;
    let bad_hash = out.join("bad-hash.msi");
    std::fs::copy(msi, &bad_hash).unwrap();
    set_msi_value(
        &bad_hash,
        "MsiFileHash",
        "File_",
        script_key,
        "HashPart2",
        msi::Value::Int(7),
    );
    let (code, v) = verify_json(&bad_hash);
    assert_eq!(code, 1, "{v:#}");
    let d = step(&v, "extract")["detail"].as_str().unwrap();
    assert!(
        d.contains("install.cmd` does not match its MsiFileHash"),
        "{d}"
    );

    // A size that is not the cabinet's.
    let bad_size = out.join("bad-size.msi");
    std::fs::copy(msi, &bad_size).unwrap();
    set_msi_value(
        &bad_size,
        "File",
        "File",
        exe_key,
        "FileSize",
        msi::Value::Int(100),
    );
    let (code, v) = verify_json(&bad_size);
    assert_eq!(code, 1, "{v:#}");
    let d = step(&v, "extract")["detail"].as_str().unwrap();
    assert!(d.contains("but its File row says 100"), "{d}");
}

/// Copies whose service rows disagree with service.json, or whose ServiceControl
/// leaves the service running or does not wait, are caught.
fn service_rows_that_disagree_are_caught(out: &Path, msi: &Path) {
    // A service row that says something else than service.json.
    let bad_service = out.join("bad-service.msi");
    std::fs::copy(msi, &bad_service).unwrap();
    set_msi_value(
        &bad_service,
        "ServiceInstall",
        "ServiceInstall",
        "ServiceInstall",
        "StartName",
        msi::Value::from("LocalSystem"),
    );
    let (code, v) = verify_json(&bad_service);
    assert_eq!(code, 1, "{v:#}");
    let d = step(&v, "msi tables")["detail"].as_str().unwrap();
    assert!(
        d.contains(
            "the account is `LocalSystem` in the MSI, `NT AUTHORITY\\LocalService` in service.json"
        ),
        "{d}"
    );

    // A ServiceControl row that starts the service but never stops or deletes it: an
    // upgrade would meet its exe in use, an uninstall would leave it registered. And
    // one that does not wait for the stop.
    let no_stop = out.join("no-stop.msi");
    std::fs::copy(msi, &no_stop).unwrap();
    set_msi_value(
        &no_stop,
        "ServiceControl",
        "ServiceControl",
        "ServiceControl",
        "Event",
        msi::Value::Int(1),
    );
    let (code, v) = verify_json(&no_stop);
    assert_eq!(code, 1, "{v:#}");
    let d = step(&v, "msi tables")["detail"].as_str().unwrap();
    assert!(
        d.contains("ServiceControl does not stop `hello-service` at install")
            && d.contains("at uninstall")
            && d.contains("delete"),
        "{d}"
    );
    let no_wait = out.join("no-wait.msi");
    std::fs::copy(msi, &no_wait).unwrap();
    set_msi_value(
        &no_wait,
        "ServiceControl",
        "ServiceControl",
        "ServiceControl",
        "Wait",
        msi::Value::Int(0),
    );
    let (code, v) = verify_json(&no_wait);
    assert_eq!(code, 1, "{v:#}");
    let d = step(&v, "msi tables")["detail"].as_str().unwrap();
    assert!(d.contains("does not wait"), "{d}");
}

/// The install options are checked before anything runs: `--here` needs Windows (this
/// is Linux), `--probe` takes a URL or address it can ask, `--crash-test` and
/// `--probe` need a place to install (`--wine` or `--here`): exit 2, naming the fix.
#[test]
fn install_options_are_refused_with_the_fix() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let r = run(["verify".as_ref(), "--here".as_ref(), zip.as_os_str()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--here installs the package on this machine, which must be Windows")
            && r.stderr.contains("--wine"),
        "{}",
        r.stderr
    );
    for (probe, says) in [
        ("https://127.0.0.1:8443/", "verify probes plain HTTP only"),
        (
            "tcp:127.0.0.1",
            "write http://HOST:PORT/PATH, tcp:HOST:PORT or HOST:PORT",
        ),
        (
            "http://127.0.0.1:70000/",
            "the port must be a number from 1 to 65535",
        ),
    ] {
        let r = run([
            "verify".as_ref(),
            "--wine".as_ref(),
            "--probe".as_ref(),
            probe.as_ref(),
            zip.as_os_str(),
        ]);
        assert_eq!(r.code, 2, "{probe}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{probe}: {}", r.stderr);
    }
    for flag in ["--crash-test", "--probe=tcp:127.0.0.1:1"] {
        let r = run(["verify".as_ref(), flag.as_ref(), zip.as_os_str()]);
        assert_eq!(r.code, 2, "{flag}: {}", r.stderr);
        assert!(r.stderr.contains("--wine"), "{flag}: {}", r.stderr);
    }
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--here".as_ref(),
        zip.as_os_str(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
}
