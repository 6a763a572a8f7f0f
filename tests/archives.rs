//! `check` on archives: wheels, zips, NuGet and VS Code packages, MSIs, each checked as
//! the folder it unpacks to and reported as `archive!path/inside`; hostile archives are
//! errors, never extracted.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

const NUMPY_WHEEL: &str = "numpy-2.5.5-cp312-cp312-win_arm64.whl";
const NUMPY_SHA256: &str = "f6622e32cb46c60bee3b2c7dd7f5c22bdc86fcb8630336b4822ec81c3986111a";

/// NumPy 2.5.5's win_arm64 wheel (10 MB), fetched once with pip into target/ and
/// checked against its pinned SHA256.
fn numpy_wheel() -> PathBuf {
    let cache = root().join("target/winpkg-test-cache");
    let whl = cache.join(NUMPY_WHEEL);
    if !whl.is_file() {
        std::fs::create_dir_all(&cache).unwrap();
        let out = std::process::Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args(["--platform", "win_arm64", "--python-version", "3.12"])
            .arg("numpy==2.5.5")
            .arg("-d")
            .arg(&cache)
            .output()
            .expect("python3 -m pip (scripts/setup.sh installs it)");
        assert!(out.status.success(), "pip download: {out:?}");
    }
    let digest = std::process::Command::new("sha256sum")
        .arg(&whl)
        .output()
        .unwrap();
    let text = String::from_utf8(digest.stdout).unwrap();
    assert!(
        text.starts_with(NUMPY_SHA256),
        "{} is not the pinned wheel: {text}",
        whl.display()
    );
    whl
}

/// Every file's verdicts, keyed by its path below `prefix`: its loader diagnostics'
/// codes and DLLs, and each import's class and where it resolved (below `prefix`).
fn verdicts(v: &Value, prefix: &str) -> Vec<(String, Vec<String>)> {
    let strip = |s: &str| s.strip_prefix(prefix).unwrap_or(s).to_string();
    let mut out: Vec<(String, Vec<String>)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let mut facts: Vec<String> = f["imports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    format!(
                        "{} {} {}",
                        i["dll"].as_str().unwrap(),
                        i["class"],
                        i["resolved"].as_str().map(strip).unwrap_or_default()
                    )
                })
                .collect();
            facts.extend(
                v["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["file"].as_str() == Some(path))
                    .map(|d| format!("{} {} {}", d["code"], d["severity"], d["dll"])),
            );
            facts.sort();
            (strip(path), facts)
        })
        .collect();
    out.sort();
    out
}

/// Extract a zip-format file with the zip crate (not cargo-winpkg's reader).
fn extract(archive: &Path, dest: &Path) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(archive).unwrap()).unwrap();
    z.extract(dest).unwrap();
}

/// `check` on numpy's arm64 wheel gives the verdicts `check` gives on the wheel's
/// extracted folder: every file, import, resolution and diagnostic, the extension
/// modules finding their DLLs in `numpy.libs/` as delvewheel arranges.
#[test]
fn a_wheel_is_checked_as_its_extracted_folder() {
    let whl = numpy_wheel();
    let (code, archived) = check_json(&[&whl], &[]);
    let dir = tempfile::tempdir().unwrap();
    extract(&whl, dir.path());
    let (folder_code, folder) = check_json(&[dir.path()], &[]);
    assert_eq!(code, folder_code);
    let label = format!("{}!", whl.display());
    let ours = verdicts(&archived, &label);
    let theirs = verdicts(&folder, &format!("{}/", dir.path().display()));
    assert_eq!(ours.len(), 21, "{ours:#?}");
    assert_eq!(ours, theirs);
    // Named inside the archive, resolved inside it.
    let umath = archived["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .ends_with("!numpy/_core/_multiarray_umath.cp312-win_arm64.pyd")
        })
        .unwrap_or_else(|| panic!("{archived:#}"));
    let blas = umath["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["dll"].as_str().unwrap().starts_with("scipy_openblas"))
        .unwrap();
    assert!(
        blas["resolved"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{label}numpy.libs/scipy_openblas-")),
        "{blas}"
    );
    // The human report names files the same way.
    let r = run(["check".as_ref(), whl.as_os_str()]);
    assert!(
        r.stdout.contains(&format!("{label}numpy.libs/msvcp140-")),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("winpkg-check-"),
        "no temporary path: {}",
        r.stdout
    );
}

/// A NuGet package, a VS Code extension and a plain zip are read the same way (by
/// extension); an MSI by its tables and cabinet.
#[test]
fn nupkg_vsix_zip_and_msi_are_unpacked() {
    let dir = tempfile::tempdir().unwrap();
    let app = std::fs::read(fixture("pe/bundle-x64/app.exe")).unwrap();
    let third = std::fs::read(fixture("pe/bundle-x64/thirdparty.dll")).unwrap();
    let vc = std::fs::read(fixture("pe/bundle-x64/vcruntime140.dll")).unwrap();
    for ext in ["nupkg", "vsix", "ZIP"] {
        let p = dir.path().join(format!("pkg.{ext}"));
        raw_zip(
            &p,
            &[
                ("runtimes/win-x64/native/app.exe", app.clone()),
                ("runtimes/win-x64/native/thirdparty.dll", third.clone()),
                ("runtimes/win-x64/native/vcruntime140.dll", vc.clone()),
                ("README.md", b"not a PE".to_vec()),
            ],
        );
        let (code, v) = check_json(&[&p], &[]);
        assert_eq!(code, 0, "{ext}: {v:#}");
        let paths: Vec<&str> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert!(
            paths.contains(&format!("{}!runtimes/win-x64/native/app.exe", p.display()).as_str()),
            "{paths:?}"
        );
    }
    // The example service's MSI.
    let crate_dir = dir.path().join("crate");
    let manifest = copy_example_with(&crate_dir, |t| {
        t + "\n[package.metadata.winpkg.msi]\nupgrade-code = \"{6F1C2A3B-1111-4222-8333-944455556666}\"\n"
    });
    let r = package(
        &manifest,
        &dir.path().join("out"),
        &["--release", "--msi"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msi = PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    let (code, v) = check_json(&[&msi], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        v["files"][0]["path"].as_str().unwrap(),
        format!("{}!hello-service.exe", msi.display())
    );
}

/// An archive that would write outside its folder, or expand past the bounds, is an
/// error (exit 2) naming it, and nothing of it is written.
#[test]
fn hostile_archives_are_errors_and_never_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let app = std::fs::read(fixture("pe/bundle-x64/app.exe")).unwrap();
    let escape = dir.path().join("escape.whl");
    raw_zip(&escape, &[("../../evil.dll", app.clone()), ("ok.dll", app)]);
    let r = run(["check".as_ref(), escape.as_os_str()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("escape.whl: "), "{}", r.stderr);
    assert!(r.stderr.contains(".."), "{}", r.stderr);
    assert!(!dir.path().join("evil.dll").exists());
    let bomb = dir.path().join("bomb.nupkg");
    raw_zip(&bomb, &[("zeros.dll", vec![0u8; 64 << 20])]);
    let r = run(["check".as_ref(), bomb.as_os_str()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("bomb.nupkg: ") && r.stderr.contains("zip bomb?"),
        "{}",
        r.stderr
    );
    let broken = dir.path().join("broken.vsix");
    std::fs::write(&broken, b"PK\x03\x04 not really").unwrap();
    let r = run(["check".as_ref(), broken.as_os_str()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("broken.vsix: "), "{}", r.stderr);
}
