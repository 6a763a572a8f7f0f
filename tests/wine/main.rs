//! Packages on a real service control manager: Wine's, headless, on Linux.
//!
//! Each test gets its own throwaway Wine prefix (they run in parallel); `.ci/run`
//! installs Wine from Debian's packages. Notes on Wine's behaviour are in
//! src/wine.rs and README.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

#[path = "../common/mod.rs"]
mod common;

use cargo_winpkg::verify::host::Host;
use cargo_winpkg::verify::wine::Prefix;
use common::*;
use serde_json::Value;

mod answers;
mod here;
mod msi;
mod path;
mod prebuilt;
mod run_key;
mod service;
mod task;
mod verify;

/// `verify --wine --format json ZIP EXTRA...` (EXTRA may hold `--run -- ARGS`).
fn verify_run(zip: &Path, extra: &[&str]) -> (i32, Value) {
    // The zip before `--`: what follows it goes to the program.
    let mut args: Vec<std::ffi::OsString> = vec!["verify".into(), "--wine".into()];
    args.extend(["--format".into(), "json".into()]);
    args.push(zip.as_os_str().to_os_string());
    args.extend(extra.iter().map(|a| a.into()));
    let r = run(args);
    (r.code, r.json())
}

/// A CLI tool's MSI verification: its folder was on the machine's PATH after install,
/// and off it after msiexec /x.
fn on_machine_path_then_off(v: &Value) {
    let path = step(v, "PATH");
    assert!(
        path["detail"]
            .as_str()
            .unwrap()
            .contains("is on the machine PATH"),
        "{path}"
    );
    assert_eq!(step(v, "PATH after /x")["ok"], true, "{v:#}");
}

/// The `run program` step of a verification.
fn run_step(v: &Value) -> Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "run program")
        .cloned()
        .unwrap_or_else(|| panic!("{v:#}"))
}

/// `cargo winpkg verify --wine --keep --format json ZIP`: the verification, and the kept
/// prefix folder (removed when the guard drops).
fn verify_wine(zip: &Path) -> (i32, Value, KeptPrefix) {
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--keep".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        zip.as_os_str(),
    ]);
    let v = r.json();
    let kept = KeptPrefix(v["prefix"].as_str().map(PathBuf::from));
    (r.code, v, kept)
}

/// The service.json inside a package zip.
fn service_json(zip: &Path) -> Value {
    serde_json::from_slice(
        &zip_entries(zip)
            .into_iter()
            .find(|(n, _)| n == "service.json")
            .unwrap()
            .1,
    )
    .unwrap()
}

/// Deletes a kept prefix folder (hundreds of MB) when the test ends.
struct KeptPrefix(Option<PathBuf>);

impl KeptPrefix {
    fn drive_c(&self) -> PathBuf {
        self.0
            .as_ref()
            .expect("a kept prefix")
            .join("prefix")
            .join("drive_c")
    }
}

impl Drop for KeptPrefix {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

fn failed_steps(v: &Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ok"] == false)
        .map(|s| format!("{}: {}", s["name"], s["detail"]))
        .collect()
}

/// The host path of a file in the install folder, from the Windows path verify reports.
fn installed_file(v: &Value, kept: &KeptPrefix, name: &str) -> PathBuf {
    let dir = v["install_dir"].as_str().unwrap();
    let rel = dir.strip_prefix("C:\\").unwrap().replace('\\', "/");
    kept.drive_c().join(rel).join(name)
}

/// Search a folder tree for files whose name contains `needle`.
fn find_files(dir: &Path, needle: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            find_files(&p, needle, out);
        } else if e.file_name().to_string_lossy().contains(needle) {
            out.push(p);
        }
    }
}

/// Extract `zip` into `C:\Program Files\hello` of `prefix`; that folder on the host.
fn extract_to_program_files(prefix: &Prefix, zip: &Path) -> PathBuf {
    extract_to(prefix, zip, "C:\\Program Files\\hello")
}

/// Run `C:\Program Files\hello\NAME ARGS` under Wine's cmd, with more environment.
fn run_installed(prefix: &Prefix, name: &str, args: &str, env: &[(&str, &str)]) -> (i32, String) {
    let line = cargo_winpkg::script::cmd::safe_line(
        &format!("cmd /c {{0}}{args}"),
        &[&format!("C:\\Program Files\\hello\\{name}")],
    )
    .unwrap();
    prefix
        .run_batch_env(&line, Duration::from_secs(120), env)
        .unwrap()
}

/// The twobins fixture in a temporary folder with `table` appended to its Cargo.toml,
/// packaged; the folder (keep it alive) and the run.
fn package_twobins_with(table: &str) -> (tempfile::TempDir, Run) {
    let tmp = tempfile::tempdir().unwrap();
    copy_crate(&fixture("crates/twobins"), tmp.path(), |t| t + table);
    let r = package(
        &tmp.path().join("Cargo.toml"),
        &tmp.path().join("out"),
        &[],
        &[],
    );
    (tmp, r)
}

/// Extract `zip` into the Windows folder `win_dir` (under C:) of `prefix`.
fn extract_to(prefix: &Prefix, zip: &Path, win_dir: &str) -> PathBuf {
    let rel = win_dir
        .strip_prefix("C:\\")
        .unwrap_or_else(|| panic!("{win_dir} is not on C:"));
    let dir = prefix.drive_c().join(rel.replace('\\', "/"));
    std::fs::create_dir_all(&dir).unwrap();
    zip::ZipArchive::new(std::fs::File::open(zip).unwrap())
        .unwrap()
        .extract(&dir)
        .unwrap();
    dir
}

/// Run NAME in the Windows folder `win_dir` as a user at a prompt does: `cd` into the
/// folder, then `NAME` (the folder reaches cmd as data, through a FOR variable).
fn run_in(prefix: &Prefix, win_dir: &str, name: &str) -> (i32, String) {
    let cd = cargo_winpkg::script::cmd::safe_line("cd /d {0}", &[win_dir]).unwrap();
    prefix
        .run_batch(&format!("{cd}\ncmd /c {name}"), Duration::from_secs(120))
        .unwrap()
}
