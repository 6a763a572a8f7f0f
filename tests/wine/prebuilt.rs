//! A real Go program, packaged with `--exe`: as a service (shawl wraps it: Go programs
//! load the service API at run time, so the import table does not show the dispatcher)
//! and as a command-line tool, each run by `verify --wine`.

use super::*;

/// `cargo winpkg --exe` in `dir` (which holds winpkg.toml): the zip.
fn package_go(dir: &Path, toml: &str) -> PathBuf {
    package_go_with(dir, toml, &[])["archive"]["path"]
        .as_str()
        .map(|p| dir.join(p))
        .unwrap()
}

/// `cargo winpkg --exe ... EXTRA` in `dir`: the package's JSON entry.
fn package_go_with(dir: &Path, toml: &str, extra: &[&str]) -> Value {
    std::fs::write(dir.join("winpkg.toml"), toml).unwrap();
    let out = winpkg()
        .current_dir(dir)
        .arg("winpkg")
        .arg("--exe")
        .arg(go_exe())
        .args(["--output", "dist", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["packages"][0].clone()
}

/// The Go service's MSI: shawl takes seconds to stop the program under Wine, and Wine's
/// msiexec sends the stop without waiting for it (Windows Installer waits up to 30 s), so
/// a repair that starts the service again, or an uninstall that deletes its files, met a
/// service still stopping. verify waits for the stop as Windows Installer does, says so,
/// and the install, repair and uninstall all pass, every time.
#[test]
fn a_go_services_msi_installs_repairs_and_uninstalls() {
    let dir = tempfile::tempdir().unwrap();
    let entry = package_go_with(
        dir.path(),
        "name = \"hello-go\"\nversion = \"1.2.3\"\n\n[service]\nname = \"hello-go\"\nargs = [\"--serve\"]\n\n[msi]\nupgrade-code = \"{76FF16CC-0714-4F9A-92EF-5C61D2AB08BC}\"\n",
        &["--msi"],
    );
    let msi = dir.path().join(entry["msi"]["path"].as_str().unwrap());
    for round in 0..2 {
        let (code, v) = verify_run(&msi, &[]);
        assert_eq!(code, 0, "round {round}: {v:#}");
        let steps = v["steps"].as_array().unwrap();
        let step = |name: &str| {
            steps
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("no step {name}: {v:#}"))
        };
        for name in ["msiexec /i again", "msiexec /x", "service removed"] {
            assert_eq!(step(name)["ok"], true, "{name}: {v:#}");
        }
        for name in ["stopped before repair", "stopped before /x"] {
            let stopped = step(name);
            assert_eq!(stopped["ok"], true, "{v:#}");
            assert!(
                stopped["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Wine's msiexec"),
                "{stopped}"
            );
        }
    }
}

#[test]
fn a_go_service_runs_under_shawl_and_a_go_tool_runs_with_run() {
    let dir = tempfile::tempdir().unwrap();
    let zip = package_go(
        dir.path(),
        "name = \"hello-go\"\nversion = \"1.2.3\"\ndescription = \"A Go daemon\"\n\n[service]\nname = \"hello-go\"\ndisplay-name = \"Hello Go\"\nargs = [\"--serve\"]\n",
    );
    let m = service_json(&zip);
    assert_eq!(m["service"]["mode"], "shawl", "{m:#}");
    let (code, v, _kept) = verify_wine(&zip);
    assert_eq!(code, 0, "{v:#}");
    let alive = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "process alive")
        .unwrap();
    assert!(
        alive["detail"]
            .as_str()
            .unwrap()
            .contains("hello-go.exe runs"),
        "{alive}"
    );

    let cli = tempfile::tempdir().unwrap();
    let zip = package_go(
        cli.path(),
        "name = \"hello-go\"\nversion = \"1.2.3\"\n\n[cli]\npath = \"machine\"\n",
    );
    let (code, v) = verify_run(&zip, &["--run", "--", "a r g"]);
    assert_eq!(code, 0, "{v:#}");
    let ran = run_step(&v);
    assert!(
        ran["detail"].as_str().unwrap().contains("hello-go: a r g"),
        "{ran}"
    );
}
