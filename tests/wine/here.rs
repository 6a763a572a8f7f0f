//! `verify --here`, the Windows host's code path: this tool cross-built for Windows and
//! run under Wine as if Wine were the Windows machine. It installs, checks, crashes,
//! repairs and uninstalls the webhello service from its zip and its MSI through the
//! service manager's API, names what this "Windows" cannot report, and refuses a
//! service name that already exists.

use std::sync::OnceLock;

use super::*;

/// cargo-winpkg.exe, built once for x86_64-pc-windows-gnu.
fn windows_build() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let target = root().join("target/self-windows");
        let o = std::process::Command::new(env!("CARGO"))
            .current_dir(root())
            .args([
                "build",
                "--locked",
                "--target",
                "x86_64-pc-windows-gnu",
                "--target-dir",
            ])
            .arg(&target)
            .output()
            .expect("run cargo build");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        target.join("x86_64-pc-windows-gnu/debug/cargo-winpkg.exe")
    })
    .clone()
}

/// `cargo-winpkg.exe winpkg verify --here --format json ARGS` in the prefix: the exit
/// code and the verification (stdout, through a file).
fn here(prefix: &Prefix, args: &[&str]) -> (i32, Value, String) {
    let mut template = String::from("C:\\t\\cargo-winpkg.exe winpkg verify --here --format json");
    for i in 0..args.len() {
        template.push_str(&format!(" {{{i}}}"));
    }
    template.push_str(" >C:\\t\\out.json");
    let (code, err) = prefix
        .run_with(&template, args, Duration::from_secs(400))
        .unwrap();
    let out = std::fs::read_to_string(prefix.drive_c().join("t/out.json")).unwrap_or_default();
    let v = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, v, err)
}

#[test]
fn the_windows_build_verifies_a_zip_and_an_msi_here_and_refuses_a_taken_name() {
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &fixture("crates/webhello/Cargo.toml"),
        out.path(),
        &["--release", "--msi"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pv = r.json();
    let zip = zip_path(&pv);
    let msi = PathBuf::from(pv["packages"][0]["msi"]["path"].as_str().unwrap());
    let prefix = Prefix::create().expect("a Wine prefix");
    let t = prefix.drive_c().join("t");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::copy(windows_build(), t.join("cargo-winpkg.exe")).unwrap();
    std::fs::copy(&zip, t.join("w.zip")).unwrap();
    std::fs::copy(&msi, t.join("w.msi")).unwrap();
    the_zip_here(&prefix);
    the_msi_here(&prefix);
    an_upgrade_here(&prefix, out.path());
    a_cli_tools_msi_here(&prefix, out.path());
    a_run_entry_and_a_task_here(&prefix, out.path());
    a_taken_name_is_refused(&prefix);
}

/// The crate at `manifest` packaged with `args` into its own target folder under
/// `tmp` (the shared one's exes are other tests' copies), its zip copied to
/// `C:\t\{name}.zip` and its MSI, if it made one, to `C:\t\{name}.msi`.
fn package_onto_prefix(prefix: &Prefix, tmp: &Path, manifest: &Path, args: &[&str], name: &str) {
    let r = package_in(
        manifest,
        Some(&tmp.join(format!("{name}-target"))),
        &tmp.join(format!("{name}-out")),
        args,
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t = prefix.drive_c().join("t");
    std::fs::copy(zip_path(&r.json()), t.join(format!("{name}.zip"))).unwrap();
    if let Some(msi) = r.json()["packages"][0]["msi"]["path"].as_str() {
        std::fs::copy(msi, t.join(format!("{name}.msi"))).unwrap();
    }
}

/// `crate` (a fixture) with `table` in place of its service table, packaged onto the
/// prefix as `C:\t\{name}.zip`.
fn fixture_zip_with(prefix: &Prefix, tmp: &Path, krate: &str, table: &str, name: &str) {
    let manifest = copy_crate(&fixture(&format!("crates/{krate}")), &tmp.join(name), |t| {
        let t = t.split("[package.metadata.winpkg.service]").next().unwrap();
        format!("{t}\n{table}")
    });
    package_onto_prefix(prefix, tmp, &manifest, &[], name);
}

/// A Run entry's zip (the ticker, which stays up) and a task's: installed with
/// install.cmd, what they registered read back through the registry API and the task's
/// file, gone after uninstall.cmd. A Run entry or a task of the same name that verify
/// did not make: refused, left as it was.
fn a_run_entry_and_a_task_here(prefix: &Prefix, tmp: &Path) {
    let run_key = "[package.metadata.winpkg.run-key]\nname = \"ticker & co\"\n";
    fixture_zip_with(prefix, tmp, "ticker", run_key, "agent");
    let (code, v, err) = here(prefix, &["C:\\t\\agent.zip"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    let entry = detail(&v, "Run entry");
    assert!(entry.contains("ticker.exe is running (pid"), "{entry}");
    assert_eq!(
        step(&v, "Run entry after uninstall.cmd")["ok"],
        true,
        "{v:#}"
    );

    let task = "[package.metadata.winpkg.task]\nname = \"Nightly & Co\"\ntrigger = \"daily\"\nat = \"02:30\"\n";
    fixture_zip_with(prefix, tmp, "twobins", task, "task");
    let (code, v, err) = here(prefix, &["C:\\t\\task.zip"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    assert!(
        detail(&v, "task").contains("`Nightly & Co` is registered"),
        "{v:#}"
    );
    assert_eq!(step(&v, "task after uninstall.cmd")["ok"], true, "{v:#}");

    // Theirs, not verify's: refused and untouched.
    let (code, text) = prefix
        .run_batch(
            "reg add \"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\" /v \"ticker & co\" /d mine /f",
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(code, 0, "{text}");
    let (code, v, err) = here(prefix, &["C:\\t\\agent.zip"]);
    assert_eq!(code, 2, "{err}\n{v:#}");
    assert!(err.contains("a Run entry named `ticker & co`"), "{err}");
    let run = prefix
        .registry_values(
            "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion",
            "Run",
        )
        .unwrap();
    assert_eq!(run.get("ticker & co").map(String::as_str), Some("mine"));
    let theirs = prefix.drive_c().join("windows/system32/tasks/Nightly & Co");
    std::fs::write(&theirs, "theirs").unwrap();
    let (code, v, err) = here(prefix, &["C:\\t\\task.zip"]);
    assert_eq!(code, 2, "{err}\n{v:#}");
    assert!(
        err.contains("a scheduled task named `Nightly & Co`"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "theirs");
}

/// The zip: installed with install.cmd, judged through the service manager's API.
fn the_zip_here(prefix: &Prefix) {
    let probe = ["--probe", "http://127.0.0.1:8787/", "--crash-test"];
    let (code, v, err) = here(prefix, &[&["C:\\t\\w.zip"][..], &probe[..]].concat());
    assert_eq!(code, 0, "{err}\n{v:#}");
    let this = step(&v, "this Windows")["detail"].as_str().unwrap();
    assert!(this.contains("Wine, seen from its Windows side"), "{this}");
    assert_eq!(step(&v, "service RUNNING")["ok"], true);
    // QueryServiceConfig2 levels Wine lacks are named, not passed.
    let full = step(&v, "service manager configuration");
    assert_eq!(full["ok"], true, "{full}");
    let na = step(&v, "not available on this Windows");
    assert_eq!(na["check"], false);
    assert!(
        na["detail"].as_str().unwrap().contains("FailureActions"),
        "{na}"
    );
    assert_eq!(v["registry"]["ObjectName"], "NT AUTHORITY\\LocalService");
    // The data folder and the event source; Wine's icacls grants nothing, so the ACL is
    // named as not available rather than passed.
    let data = step(&v, "data folders");
    assert_eq!(data["ok"], true, "{data}");
    assert!(
        data["detail"]
            .as_str()
            .unwrap()
            .contains("C:\\ProgramData\\webhello\\data"),
        "{data}"
    );
    assert_eq!(step(&v, "not available on this host")["check"], false);
    assert_eq!(step(&v, "event log source")["ok"], true, "{v:#}");
    assert!(
        step(&v, "probe http://127.0.0.1:8787/")["detail"]
            .as_str()
            .unwrap()
            .contains("HTTP/1.1 200 OK")
    );
    assert_eq!(step(&v, "crash test")["ok"], true, "{v:#}");
    assert_eq!(step(&v, "service removed")["ok"], true, "{v:#}");
    let left: Vec<_> = std::fs::read_dir(prefix.drive_c())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("winpkg verify"))
        .collect();
    assert!(left.is_empty(), "verify's work folder is removed: {left:?}");
}

/// The MSI: msiexec /i, a repair, msiexec /x.
fn the_msi_here(prefix: &Prefix) {
    let (code, v, err) = here(prefix, &["C:\\t\\w.msi"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    for s in [
        "msiexec /i",
        "installed files",
        "msiexec /i again",
        "msiexec /x",
        "service removed",
    ] {
        assert_eq!(step(&v, s)["ok"], true, "{s}: {v:#}");
    }
    // Wine's unquoted ImagePath is allowed for only because this is Wine, and said.
    assert!(
        step(&v, "configuration (sc qc)")["detail"]
            .as_str()
            .unwrap()
            .contains("Wine's msiexec writes the program's path unquoted")
    );
}

/// webhello 0.2.0's MSI `--against` 0.1.0's: the older installed first, upgraded, its
/// data kept, then the newer repaired and removed.
fn an_upgrade_here(prefix: &Prefix, tmp: &Path) {
    let dir = tmp.join("webhello-0.2.0");
    copy_crate(&fixture("crates/webhello"), &dir, |t| {
        t.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1)
    });
    package_onto_prefix(
        prefix,
        tmp,
        &dir.join("Cargo.toml"),
        &["--release", "--msi"],
        "w2",
    );
    let (code, v, err) = here(prefix, &["C:\\t\\w2.msi", "--against", "C:\\t\\w.msi"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    for s in [
        "component rules",
        "msiexec /i older",
        "msiexec /i (upgrade)",
        "data kept over upgrade",
        "msiexec /i again",
        "msiexec /x",
    ] {
        assert_eq!(step(&v, s)["ok"], true, "{s}: {v:#}");
    }
}

/// A command-line tool's MSI (`[cli] path = "machine"`) with `--run`: installed, its
/// program run from the install folder, its folder on the machine's PATH (read with
/// RegGetValue) and off it after msiexec /x.
fn a_cli_tools_msi_here(prefix: &Prefix, tmp: &Path) {
    let manifest = copy_crate(&fixture("crates/twobins"), &tmp.join("twobins"), |t| {
        t + "\n[package.metadata.winpkg.cli]\npath = \"machine\"\n\n[package.metadata.winpkg.msi]\nupgrade-code = \"{5C1A7E0B-3D2F-4A61-9B84-17C6E5D4A3B2}\"\n"
    });
    package_onto_prefix(prefix, tmp, &manifest, &["--release", "--msi"], "cli");
    let (code, v, err) = here(prefix, &["C:\\t\\cli.msi", "--run"]);
    assert_eq!(code, 0, "{err}\n{v:#}");
    let ran = step(&v, "run program")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ran.contains("exited with 0: second"), "{ran}");
    on_machine_path_then_off(&v);
}

/// A service of that name that verify did not install: refused, left as it was.
fn a_taken_name_is_refused(prefix: &Prefix) {
    let (code, _) = prefix
        .wine(
            &["sc", "create", "webhello", "binPath=", "C:\\t\\mine.exe"],
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(code, 0);
    let (code, v, err) = here(prefix, &["C:\\t\\w.zip"]);
    assert_eq!(code, 2, "{err}\n{v:#}");
    assert!(
        err.contains("a service named `webhello` already exists on this machine"),
        "{err}"
    );
    let reg = prefix.service_registry("webhello").unwrap();
    assert_eq!(reg["ImagePath"], "C:\\t\\mine.exe", "untouched: {reg:?}");
}
