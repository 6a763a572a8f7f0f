//! Helpers shared by the integration tests (each test file includes this module).
#![allow(dead_code)]

pub mod synth;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    let p = root().join("fixtures").join(rel);
    assert!(
        p.exists(),
        "fixture {} is missing: run fixtures/make.sh",
        p.display()
    );
    p
}

pub fn winpkg() -> Command {
    let mut c = Command::cargo_bin("cargo-winpkg").expect("binary built");
    c.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = winpkg().args(args).output().expect("run cargo-winpkg");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "cargo-winpkg panicked:\n{}",
        run.stderr
    );
    run
}

/// `check --format json` on the given paths plus extra args.
pub fn check_json(paths: &[&Path], extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<std::ffi::OsString> = vec!["check".into(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(Into::into));
    args.extend(paths.iter().map(|p| p.as_os_str().to_owned()));
    let r = run(args);
    let v = r.json();
    (r.code, v)
}

/// The codes of the loader's verdicts (imports, machine, subsystem, unreadable files),
/// in report order: what most tests are about. Trust and hygiene codes (signature,
/// version info, mitigations, debug info) are asserted by their own tests, through
/// [`all_codes`].
pub fn codes(v: &Value) -> Vec<String> {
    all_codes(v)
        .into_iter()
        .filter(|c| {
            !c.parse::<cargo_winpkg::check::Code>()
                .expect("a known code")
                .is_hygiene()
        })
        .collect()
}

/// Every code in the report, in order.
pub fn all_codes(v: &Value) -> Vec<String> {
    v["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| d["code"].as_str().expect("code").to_string())
        .collect()
}

pub fn diag<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["diagnostics"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["code"] == code))
        .unwrap_or_else(|| panic!("no {code} diagnostic in {v:#}"))
}

/// The imports of the file whose path ends with `name`.
pub fn imports<'a>(v: &'a Value, name: &str) -> &'a Vec<Value> {
    file(v, name)["imports"].as_array().expect("imports array")
}

pub fn file<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["files"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
        })
        .unwrap_or_else(|| panic!("no file {name} in report"))
}

pub fn import<'a>(v: &'a Value, file_name: &str, dll: &str) -> &'a Value {
    imports(v, file_name)
        .iter()
        .find(|i| i["dll"] == dll)
        .unwrap_or_else(|| panic!("{file_name} has no import {dll}"))
}

/// Where the mingw toolchain keeps a runtime DLL (asks the compiler driver).
pub fn mingw_dll_dir(driver: &str, dll: &str) -> PathBuf {
    let out = Command::new(driver)
        .arg(format!("-print-file-name={dll}"))
        .output()
        .unwrap_or_else(|e| panic!("{driver} must be installed (.ci/run installs mingw-w64): {e}"));
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        p.is_absolute() && p.exists(),
        "{driver} does not know {dll}: {}",
        p.display()
    );
    p.parent().expect("parent").to_path_buf()
}

/// The target directory the build, package and Wine tests share, so each fixture crate
/// compiles once per test run.
pub fn shared_target() -> PathBuf {
    root().join("target").join("winpkg-test-crates")
}

/// Run `cargo-winpkg winpkg` on a manifest with the shared target dir, zip into `out`.
pub fn package(manifest: &Path, out: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Run {
    package_in(manifest, Some(&shared_target()), out, extra, envs)
}

/// As [`package`], building in `target_dir` (None: the crate's own target folder).
pub fn package_in(
    manifest: &Path,
    target_dir: Option<&Path>,
    out: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Run {
    let mut cmd = winpkg();
    cmd.arg("winpkg").arg("--manifest-path").arg(manifest);
    if let Some(t) = target_dir {
        cmd.arg("--target-dir").arg(t);
    }
    cmd.arg("--output")
        .arg(out)
        .args(["--format", "json"])
        .args(extra)
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run cargo-winpkg");
    let r = Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// The zip a `package` run wrote.
pub fn zip_path(v: &Value) -> PathBuf {
    PathBuf::from(
        v["packages"][0]["archive"]["path"]
            .as_str()
            .expect("archive path"),
    )
}

/// Package examples/hello-service (release) into `out`; the zip's path.
pub fn example_zip(out: &Path) -> PathBuf {
    let r = package(
        &root().join("examples/hello-service/Cargo.toml"),
        out,
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    zip_path(&r.json())
}

/// Copy the twobins fixture's sources (not its Cargo.toml) into `dir`.
pub fn copy_twobins(dir: &Path) {
    let src = fixture("crates/twobins");
    std::fs::create_dir_all(dir.join("src/bin")).unwrap();
    for f in ["src/bin/first.rs", "src/bin/second.rs", "Cargo.lock"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
}

/// Write a zip with exactly these entries (names as given, even hostile ones), deflated.
pub fn raw_zip(dest: &Path, entries: &[(&str, Vec<u8>)]) {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    for (name, data) in entries {
        w.start_file(
            *name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

/// The file entries of a zip, in order, with their bytes.
pub fn zip_entries(zip: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..a.len() {
        let mut e = a.by_index(i).unwrap();
        if e.is_dir() {
            continue;
        }
        let name = e.name().unwrap().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

fn sha256_hex(data: &[u8]) -> String {
    cargo_winpkg::package::sha256_hex(data)
}

/// A package as an attacker would craft it: `zip`'s files with `replace` applied, and
/// service.json and SHA256SUMS rewritten to match, so every offline check passes.
pub fn craft_package(zip: &Path, dest: &Path, replace: &[(&str, Vec<u8>)]) {
    let mut files: Vec<(String, Vec<u8>)> = zip_entries(zip)
        .into_iter()
        .filter(|(n, _)| n != "SHA256SUMS" && n != "service.json")
        .map(|(n, d)| {
            let d = replace
                .iter()
                .find(|(r, _)| *r == n)
                .map(|(_, x)| x.clone())
                .unwrap_or(d);
            (n, d)
        })
        .collect();
    let manifest = zip_entries(zip)
        .into_iter()
        .find(|(n, _)| n == "service.json")
        .expect("service.json")
        .1;
    let mut m: Value = serde_json::from_slice(&manifest).unwrap();
    m["files"] = Value::Array(
        files
            .iter()
            .map(|(n, d)| serde_json::json!({"path": n, "size": d.len(), "sha256": sha256_hex(d)}))
            .collect(),
    );
    files.push((
        "service.json".into(),
        serde_json::to_vec_pretty(&m).unwrap(),
    ));
    let sums: String = files
        .iter()
        .map(|(n, d)| format!("{}  {n}\n", sha256_hex(d)))
        .collect();
    files.push(("SHA256SUMS".into(), sums.into_bytes()));
    let entries: Vec<(&str, Vec<u8>)> =
        files.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    raw_zip(dest, &entries);
}

/// Overwrite `from` with `to` (the same length) in `bytes`: the first occurrence, or
/// every one with `all`. Returns how many were replaced.
pub fn patch_bytes(bytes: &mut [u8], from: &[u8], to: &[u8], all: bool) -> usize {
    assert_eq!(from.len(), to.len(), "a patch keeps the length");
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            if !all {
                break;
            }
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

/// The names of a zip's file entries, in order.
pub fn zip_names(zip: &Path) -> Vec<String> {
    zip_entries(zip).into_iter().map(|(n, _)| n).collect()
}

/// A self-signed code-signing certificate and a test timestamp authority, made with
/// openssl in `dir`, as osslsigncode's tests use them (TOOLCHAIN.md, Signing).
pub struct TestPki {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// `cert` and `key` as PKCS#12, password [`TestPki::PASSWORD`].
    pub p12: PathBuf,
    pub tsa_cert: PathBuf,
    pub tsa_key: PathBuf,
}

impl TestPki {
    pub const PASSWORD: &'static str = "p@ss 'word\" %x%";
    pub const SUBJECT: &'static str = "CN=Winpkg Test Signer, O=Example Ltd";

    pub fn new(dir: &Path) -> TestPki {
        let p = |n: &str| dir.join(n);
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl runs");
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        let req = |subj: &str, usage: &str, key: &Path, cert: &Path| {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-sha256",
                "-nodes",
                "-days",
                "3650",
                "-subj",
                subj,
                "-addext",
                "keyUsage=critical,digitalSignature",
                "-addext",
                usage,
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                cert.to_str().unwrap(),
            ])
        };
        let pki = TestPki {
            cert: p("cert.pem"),
            key: p("key.pem"),
            p12: p("signer.p12"),
            tsa_cert: p("tsa-cert.pem"),
            tsa_key: p("tsa-key.pem"),
        };
        req(
            "/CN=Winpkg Test Signer/O=Example Ltd",
            "extendedKeyUsage=codeSigning",
            &pki.key,
            &pki.cert,
        );
        req(
            "/CN=Winpkg Test TSA",
            "extendedKeyUsage=critical,timeStamping",
            &pki.tsa_key,
            &pki.tsa_cert,
        );
        openssl(&[
            "pkcs12",
            "-export",
            "-in",
            pki.cert.to_str().unwrap(),
            "-inkey",
            pki.key.to_str().unwrap(),
            "-passout",
            &format!("pass:{}", Self::PASSWORD),
            "-out",
            pki.p12.to_str().unwrap(),
        ]);
        pki
    }

    /// Sign `input` into `output` with osslsigncode; timestamped by the test TSA when
    /// `timestamp` is set.
    pub fn sign(&self, input: &Path, output: &Path, timestamp: bool) {
        let mut cmd = Command::new("osslsigncode");
        cmd.args(["sign", "-h", "sha256", "-certs"])
            .arg(&self.cert)
            .arg("-key")
            .arg(&self.key);
        if timestamp {
            cmd.arg("-TSA-certs")
                .arg(&self.tsa_cert)
                .arg("-TSA-key")
                .arg(&self.tsa_key);
        }
        let out = cmd.arg("-in").arg(input).arg("-out").arg(output).output();
        let out = out.expect("osslsigncode runs");
        assert!(out.status.success(), "osslsigncode sign: {out:?}");
    }

    /// `osslsigncode verify` with this CA: Ok(stdout) when it verifies, Err(output) else.
    pub fn verify(&self, file: &Path) -> Result<String, String> {
        let out = Command::new("osslsigncode")
            .args(["verify", "-CAfile"])
            .arg(&self.cert)
            .arg("-TSA-CAfile")
            .arg(&self.tsa_cert)
            .arg("-in")
            .arg(file)
            .output()
            .expect("osslsigncode runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// The certificate's SHA-1 fingerprint as openssl prints it, without colons.
    pub fn thumbprint(&self) -> String {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(&self.cert)
            .output()
            .expect("openssl runs");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split('=').nth(1).unwrap().trim().replace(':', "")
    }
}

/// Copy the crate in `src` (Cargo.toml, Cargo.lock and `src/`, not its target folder)
/// to `dest`, with its Cargo.toml changed by `edit`; the copy's Cargo.toml.
pub fn copy_crate(src: &Path, dest: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy_dir(&src.join("src"), &dest.join("src"));
    std::fs::copy(src.join("Cargo.lock"), dest.join("Cargo.lock")).unwrap();
    let manifest = dest.join("Cargo.toml");
    let text = std::fs::read_to_string(src.join("Cargo.toml")).unwrap();
    std::fs::write(&manifest, edit(text)).unwrap();
    manifest
}

/// Copy examples/hello-service (sources and lock file, not its target folder) to `dir`.
pub fn copy_example(dir: &Path) {
    copy_example_with(dir, |t| t);
}

/// As [`copy_example`], with its Cargo.toml changed by `edit`; the copy's Cargo.toml.
pub fn copy_example_with(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    copy_crate(&root().join("examples/hello-service"), dir, edit)
}

/// fixtures/go/hello-go built for Windows x64 by Go (scripts/setup.sh installs it), once
/// per test run into target/: a real Go program, a console program that cargo did not
/// build.
pub fn go_exe() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = root().join("target/winpkg-test-cache/go");
            std::fs::create_dir_all(&out).unwrap();
            let exe = out.join("hello-go.exe");
            let r = std::process::Command::new("go")
                .current_dir(fixture("go/hello-go"))
                .env("GOOS", "windows")
                .env("GOARCH", "amd64")
                .env("CGO_ENABLED", "0")
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "-mod=mod")
                .args(["build", "-trimpath", "-ldflags", "-s -w -buildid=", "-o"])
                .arg(&exe)
                .arg(".")
                .output()
                .expect("go (scripts/setup.sh installs golang-go)");
            assert!(r.status.success(), "go build: {r:?}");
            exe
        })
        .clone()
}

/// `verify`'s Windows Installer rule findings on `msi` (`rule severity at: message`),
/// asserting that none is an error: every MSI the tests build must pass them.
pub fn assert_msi_rules_pass(msi: &Path) -> Vec<String> {
    let r = run([
        "verify".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        msi.as_os_str(),
    ]);
    let v = r.json();
    let findings: Vec<String> = v["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {v:#}"))
        .iter()
        .map(|f| {
            format!(
                "{} {} {}: {}",
                f["rule"].as_str().unwrap_or(""),
                f["severity"].as_str().unwrap_or(""),
                f["at"].as_str().unwrap_or(""),
                f["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    let rules = v["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "windows installer rules"))
        .unwrap_or_else(|| panic!("no rules step: {v:#}"));
    assert_eq!(
        rules["ok"],
        true,
        "{}: Windows Installer's rules: {findings:#?}",
        msi.display()
    );
    assert!(
        !findings.iter().any(|f| f.contains(" error ")),
        "{}: {findings:#?}",
        msi.display()
    );
    findings
}

/// An MSI of `entries` for `arch`, written by cargo-winpkg's own MSI writer (the
/// library, not a build) from a zip of them: `files.msi` in `dir`.
pub fn library_msi(
    dir: &Path,
    entries: &[(&str, Vec<u8>)],
    arch: cargo_winpkg::package::msi::MsiArch,
) -> PathBuf {
    use cargo_winpkg::package::msi;
    let zip = dir.join("files.zip");
    raw_zip(&zip, entries);
    let dest = dir.join("files.msi");
    let product = msi::Product {
        name: "files".into(),
        version: "1.0.0".into(),
        manufacturer: "test".into(),
        upgrade_code: uuid::Uuid::from_u128(7),
        arch,
    };
    msi::write(&msi::MsiInput {
        zip: &zip,
        root_dir: None,
        dest: &dest,
        product: &product,
        service: None,
        autostart: None,
        mtime: 0,
        versions: &Default::default(),
        pieces: None,
    })
    .unwrap();
    dest
}

/// The named step of a verification's JSON (the first of that name).
pub fn step<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {v:#}"))
}

/// The detail of the step named `name` of a verification.
pub fn detail(v: &serde_json::Value, name: &str) -> String {
    step(v, name)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
