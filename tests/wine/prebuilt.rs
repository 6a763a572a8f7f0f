//! A real Go program, packaged with `--exe`: as a service (shawl wraps it: Go programs
//! load the service API at run time, so the import table does not show the dispatcher)
//! and as a command-line tool, each run by `verify --wine`.

use super::*;

/// `cargo winpkg --exe` in `dir` (which holds winpkg.toml): the zip.
fn package_go(dir: &Path, toml: &str) -> PathBuf {
    std::fs::write(dir.join("winpkg.toml"), toml).unwrap();
    let out = winpkg()
        .current_dir(dir)
        .arg("winpkg")
        .arg("--exe")
        .arg(go_exe())
        .args(["--output", "dist", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    dir.join(v["packages"][0]["archive"]["path"].as_str().unwrap())
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
