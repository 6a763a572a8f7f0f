//! Packages on a real service control manager: Wine's, headless, on Linux.
//!
//! Each test gets its own throwaway Wine prefix (they run in parallel); `.ci/run`
//! installs Wine from Debian's packages. Notes on Wine's behaviour are in
//! src/wine.rs and README.md.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cargo_winpkg::verify::wine::Prefix;
use common::*;
use serde_json::Value;

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

#[test]
fn the_example_service_installs_runs_logs_and_uninstalls() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let (code, v, kept) = verify_wine(&zip);
    assert_eq!(code, 0, "{:?}", failed_steps(&v));
    let names: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for step in [
        "install.cmd",
        "service RUNNING",
        "configuration (sc qc)",
        "process alive",
        "uninstall.cmd",
        "service removed",
    ] {
        assert!(names.contains(&step), "{names:?}");
    }
    // What the SCM stored is exactly what the table configured.
    let dir = v["install_dir"].as_str().unwrap();
    let reg = &v["registry"];
    assert_eq!(reg["Start"], "2", "auto start");
    assert_eq!(reg["DisplayName"], "Hello Service (cargo-winpkg example)");
    assert_eq!(
        reg["Description"],
        "Writes a greeting to hello-service.log every second."
    );
    assert_eq!(reg["ObjectName"], "NT AUTHORITY\\LocalService");
    assert_eq!(
        reg["ImagePath"],
        format!(
            "\"{dir}\\hello-service.exe\" --greeting \"hello from {dir}\" --log \"{dir}\\hello-service.log\""
        )
    );
    // The service ran: its log grew a line per second, with the configured greeting.
    let log = std::fs::read_to_string(installed_file(&v, &kept, "hello-service.log"))
        .expect("the service's log");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 3, "{log}");
    assert_eq!(lines[0], format!("hello from {dir} #0"));
    assert_eq!(lines[1], format!("hello from {dir} #1"));
    assert!(
        lines.last().unwrap().starts_with("stopping after"),
        "stopped cleanly: {log}"
    );
}

#[test]
fn special_characters_reach_the_scm_literally_and_run_nothing() {
    // The example's program, packaged with hostile strings everywhere.
    let d = tempfile::tempdir().unwrap();
    let src = root().join("examples/hello-service");
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::copy(src.join("src/main.rs"), d.path().join("src/main.rs")).unwrap();
    std::fs::copy(src.join("Cargo.lock"), d.path().join("Cargo.lock")).unwrap();
    let name = "wpk &|<>^()%!x!$`'é中 \"q\"";
    let display = "Display & \"Friends\" | 100% ^ !bang! <tag> $HOME `tick` é中 😀";
    let description = "Desc %PATH% & echo INJECTED > C:\\injected-desc.txt | more ^ ! é";
    let greeting = "& echo INJECTED > C:\\injected-arg.txt & \"quoted\" 100% %PATH% !x! ^ | < > é中 `$y` 'single'";
    let toml_str = cargo_winpkg::init::toml_str;
    let manifest = format!(
        r#"[package]
name = "hello-service"
version = "0.1.0"
edition = "2021"

[workspace]

[dependencies]
windows-service = "0.8"

[package.metadata.winpkg]
target = "x86_64-pc-windows-gnu"

[package.metadata.winpkg.service]
name = {}
display-name = {}
description = {}
args = ["--greeting", {}, "--log", "{{dir}}\\special.log"]
"#,
        toml_str(name),
        toml_str(display),
        toml_str(description),
        toml_str(greeting)
    );
    std::fs::write(d.path().join("Cargo.toml"), manifest).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &d.path().join("Cargo.toml"),
        out.path(),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let (code, v, kept) = verify_wine(&zip);
    assert_eq!(code, 0, "{:?}", failed_steps(&v));
    let reg = &v["registry"];
    assert_eq!(reg["DisplayName"], display);
    assert_eq!(reg["Description"], description);
    let dir = v["install_dir"].as_str().unwrap();
    let image = reg["ImagePath"].as_str().unwrap();
    assert_eq!(
        cargo_winpkg::script::quote::split(image),
        [
            format!("{dir}\\hello-service.exe"),
            "--greeting".into(),
            greeting.into(),
            "--log".into(),
            format!("{dir}\\special.log")
        ]
    );
    // The program received the greeting byte for byte.
    let log = std::fs::read_to_string(installed_file(&v, &kept, "special.log"))
        .expect("the service's log");
    assert_eq!(log.lines().next().unwrap(), format!("{greeting} #0"));
    // Nothing that an injected command would have created exists.
    let mut injected = Vec::new();
    find_files(&kept.drive_c(), "injected", &mut injected);
    assert!(injected.is_empty(), "{injected:?}");
}

/// Package the ticker fixture (a console program) into `out`.
fn package_ticker(out: &Path) -> Run {
    let r = package(
        &fixture("crates/ticker/Cargo.toml"),
        out,
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

#[test]
fn a_console_program_runs_as_a_service_under_shawl() {
    let out = tempfile::tempdir().unwrap();
    let r = package_ticker(out.path());
    let pv = r.json();
    assert_eq!(pv["packages"][0]["archive"]["service_mode"], "shawl");
    // The build says what it wraps and why; shawl's licence ships beside it.
    assert!(
        r.stderr
            .contains("Wrapping ticker.exe with shawl: it does not run the service dispatcher"),
        "{}",
        r.stderr
    );
    let zip = zip_path(&pv);
    let licence = zip_entries(&zip)
        .into_iter()
        .find(|(n, _)| n == "shawl-LICENSE.txt")
        .expect("shawl's licence in the package")
        .1;
    assert!(String::from_utf8_lossy(&licence).contains("MIT License"));
    let (code, v, kept) = verify_wine(&zip);
    assert_eq!(code, 0, "{:?}", failed_steps(&v));
    let dir = v["install_dir"].as_str().unwrap();
    assert_eq!(
        v["registry"]["ImagePath"],
        format!(
            "\"{dir}\\shawl.exe\" run --name ticker --cwd \"{dir}\" --env TICKER_PREFIX=tick --restart --restart-delay 5000 --stop-timeout 3000 -- \"{dir}\\ticker.exe\" --every 1"
        )
    );
    // shawl logged the program's output, with the environment it set.
    let mut logs = Vec::new();
    find_files(
        &installed_file(&v, &kept, ""),
        "shawl_for_ticker",
        &mut logs,
    );
    let text: String = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(
        text.contains("tick 0") && text.contains("tick 1"),
        "{logs:?}: {text}"
    );
}

#[test]
fn a_console_program_registered_as_a_native_service_fails_with_1053() {
    // What `mode = "native"` on a console program would do, which cargo winpkg refuses
    // (tests/package.rs): registered by hand, the SCM waits for a dispatcher that never
    // comes. Windows gives up after 30 s with error 1053 ("did not respond in a timely
    // fashion"). Wine gives up after about 10 s: its sc.exe prints nothing and exits 1,
    // and the service is left STOPPED with exit code 1077 (never started).
    let out = tempfile::tempdir().unwrap();
    let r = package_ticker(out.path());
    let exe = PathBuf::from(r.json()["packages"][0]["exe"].as_str().unwrap());
    let prefix = Prefix::create().expect("a Wine prefix");
    let dir = prefix.drive_c().join("console");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&exe, dir.join("ticker.exe")).unwrap();
    let (code, out) = prefix
        .wine(
            &[
                "sc",
                "create",
                "console",
                "binPath=",
                "C:\\console\\ticker.exe",
            ],
            Duration::from_secs(30),
        )
        .unwrap();
    assert_eq!(code, 0, "{out}");
    let started = std::time::Instant::now();
    let (code, out) = prefix
        .wine(&["sc", "start", "console"], Duration::from_secs(60))
        .unwrap();
    assert_ne!(code, 0, "{out}");
    assert!(
        started.elapsed() >= Duration::from_secs(8),
        "the SCM waited for the dispatcher"
    );
    assert_eq!(
        prefix.service_state("console").unwrap().as_deref(),
        Some("STOPPED")
    );
    let (_, query) = prefix
        .wine(&["sc", "query", "console"], Duration::from_secs(30))
        .unwrap();
    assert!(query.contains("1077"), "{query}");
}

#[test]
fn a_cpp_program_runs_with_its_bundled_runtime_and_not_without() {
    let out = tempfile::tempdir().unwrap();
    let r = package(&fixture("crates/cppdep/Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let prefix = Prefix::create().expect("a Wine prefix");
    let dir = prefix.drive_c().join("cpp");
    std::fs::create_dir_all(&dir).unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    archive.extract(&dir).unwrap();
    let (code, text) = prefix
        .wine(&["C:\\cpp\\cppdep.exe"], Duration::from_secs(60))
        .unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("hello, world, from C++"), "{text}");
    // Without the bundled DLLs the same exe does not start.
    std::fs::remove_file(dir.join("libstdc++-6.dll")).unwrap();
    std::fs::remove_file(dir.join("libgcc_s_seh-1.dll")).unwrap();
    let (code, text) = prefix
        .wine(&["C:\\cpp\\cppdep.exe"], Duration::from_secs(60))
        .unwrap();
    assert_ne!(code, 0, "{text}");
    assert!(!text.contains("hello, world"), "{text}");
}

#[test]
fn install_twice_updates_in_place_and_uninstall_twice_succeeds() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let prefix = Prefix::create().expect("a Wine prefix");
    extract_to_program_files(&prefix, &zip);
    let script = |name: &str| run_installed(&prefix, name, "", &[]);
    let (code, text) = script("install.cmd");
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        prefix.service_state("hello-service").unwrap().as_deref(),
        Some("RUNNING")
    );
    // Again: the service exists, so it is stopped, reconfigured (re-created on Wine,
    // whose sc.exe has no `config`) and started, not refused.
    let (code, text) = script("install.cmd");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("The service exists: stopping it to update it"),
        "{text}"
    );
    assert!(text.contains("is running"), "{text}");
    assert_eq!(
        prefix.service_state("hello-service").unwrap().as_deref(),
        Some("RUNNING")
    );
    let reg = prefix.service_registry("hello-service").unwrap();
    assert_eq!(
        reg["ImagePath"],
        "\"C:\\Program Files\\hello\\hello-service.exe\" --greeting \"hello from C:\\Program Files\\hello\" --log \"C:\\Program Files\\hello\\hello-service.log\""
    );
    let (code, text) = script("uninstall.cmd");
    assert_eq!(code, 0, "{text}");
    assert_eq!(prefix.service_state("hello-service").unwrap(), None);
    let (code, text) = script("uninstall.cmd");
    assert_eq!(code, 0, "already gone is success: {text}");
    assert!(text.contains("is not installed"), "{text}");
}

/// A package whose install.cmd attacks the machine that verifies it: through Wine's
/// Z: drive, through `\\?\unix\` paths, and by starting host programs. Offline it is
/// flawless (its checksums and service.json match), so only the sandbox stands between
/// it and the host. Without the sandbox (--no-sandbox) the host-program attack works,
/// which shows the sandboxed run is what stops it.
#[test]
fn a_hostile_install_script_cannot_touch_the_host() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    // Outside /tmp (the sandbox has a private one): a folder of the project's.
    let host = tempfile::Builder::new()
        .prefix("hostile-")
        .tempdir_in(root().join("target"))
        .unwrap();
    let unix = host.path().display().to_string();
    let win = unix.replace('/', "\\");
    let script = format!(
        "@echo off\r\n\
         echo pwned> \"Z:{win}\\via-z.txt\"\r\n\
         echo pwned> \"\\\\?\\unix{win}\\via-unix.txt\"\r\n\
         start /wait /unix /bin/sh -c \"touch {unix}/via-sh\"\r\n\
         start /wait /unix /usr/bin/touch {unix}/via-touch\r\n\
         echo done\r\n\
         exit /b 0\r\n"
    );
    let crafted = out.path().join("hostile.zip");
    craft_package(&zip, &crafted, &[("install.cmd", script.into_bytes())]);

    // Offline, it passes: the attack is in what it runs.
    let r = run(["verify".as_ref(), crafted.as_os_str()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // The script installs no service: a short wait for one that never comes.
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--timeout".as_ref(),
        "5".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        crafted.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "the service was never installed: {}", r.stdout);
    let written: Vec<_> = std::fs::read_dir(host.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(written.is_empty(), "the sandboxed run wrote {written:?}");

    // The control: the same package without the sandbox reaches the host.
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--no-sandbox".as_ref(),
        "--timeout".as_ref(),
        "5".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        crafted.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        host.path().join("via-touch").exists() || host.path().join("via-sh").exists(),
        "without the sandbox the attack should work, or this test proves nothing"
    );
    // Even without the sandbox there is no Z: drive.
    assert!(!host.path().join("via-z.txt").exists());
}

/// Every process whose environment mentions `needle` (Wine's processes carry their
/// WINEPREFIX, which is under the test's own TMPDIR).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| String::from_utf8_lossy(&env).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// SIGTERM or SIGINT while the service runs: verify stops every process it started and
/// removes every folder it made, with the sandbox and without.
#[test]
fn an_interrupted_verify_leaves_nothing_running_or_behind() {
    use std::io::BufRead;
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    for (extra, signal) in [(None, libc::SIGTERM), (Some("--no-sandbox"), libc::SIGINT)] {
        let tmp = tempfile::Builder::new()
            .prefix("interrupted-")
            .tempdir_in(root().join("target"))
            .unwrap();
        let mut child = winpkg()
            .args(["verify", "--wine"])
            .args(extra)
            .arg(&zip)
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let running = line.contains("service RUNNING");
            seen.push(line);
            if running {
                break;
            }
        }
        let needle = tmp.path().display().to_string();
        assert!(
            !processes_mentioning(&needle).is_empty(),
            "{extra:?}: Wine runs before the signal: {seen:?}"
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{extra:?}: {seen:?}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !processes_mentioning(&needle).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(
            processes_mentioning(&needle),
            Vec::<u32>::new(),
            "{extra:?}"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{extra:?} left {left:?}");
    }
}

/// A native service that stops right after it starts: install.cmd must not call it
/// running (Wine's cmd takes `&&` after a failing `find`), but exit 1 with the reason.
#[test]
fn install_cmd_fails_for_a_service_that_stops_right_after_starting() {
    use cargo_winpkg::config::{Origin, OriginKind, ServiceConfig};
    let cfg = ServiceConfig {
        name: Some("stops".into()),
        ..ServiceConfig::default()
    };
    let origin = Origin {
        kind: OriginKind::Package,
        manifest: "/nonexistent/Cargo.toml".into(),
    };
    let (svc, _) = cargo_winpkg::autostart::service::from_config(
        &cfg,
        "service-stops.exe",
        Some(true),
        &origin,
    )
    .unwrap();
    let script = cargo_winpkg::autostart::service::cmd::install(&svc, "stops", "1.0.0").unwrap();
    let prefix = Prefix::create().expect("a Wine prefix");
    let dir = prefix.drive_c().join("stops");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        fixture("pe/service-stops-x64.exe"),
        dir.join("service-stops.exe"),
    )
    .unwrap();
    std::fs::write(dir.join("install.cmd"), script).unwrap();
    let (code, out) = prefix
        .run_with(
            "cmd /c {0}",
            &["C:\\stops\\install.cmd"],
            Duration::from_secs(120),
        )
        .unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("is running"), "{out}");
    assert!(out.contains("stopped right after it started"), "{out}");
    assert_eq!(
        prefix.service_state("stops").unwrap().as_deref(),
        Some("STOPPED")
    );
}

/// A console program that exits at once with code 3, wrapped by shawl: shawl itself
/// stays RUNNING (and its command line names the program), but the program never runs.
/// verify must fail and say how the program ended.
#[test]
fn a_wrapped_program_that_exits_at_once_fails_verify() {
    let d = tempfile::tempdir().unwrap();
    let src = fixture("crates/ticker");
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::copy(src.join("src/main.rs"), d.path().join("src/main.rs")).unwrap();
    let toml = std::fs::read_to_string(src.join("Cargo.toml"))
        .unwrap()
        .replace(
            "args = [\"--every\", \"1\"]",
            "args = [\"--exit-with\", \"3\"]",
        );
    assert!(toml.contains("--exit-with"));
    std::fs::write(d.path().join("Cargo.toml"), toml).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &d.path().join("Cargo.toml"),
        out.path(),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v, _kept) = verify_wine(&zip_path(&r.json()));
    assert_eq!(code, 1, "{v:#}");
    let alive = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "process alive")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(alive["ok"], false, "{v:#}");
    let detail = alive["detail"].as_str().unwrap();
    assert!(
        detail.contains("ticker.exe does not keep running"),
        "{detail}"
    );
    let log = detail
        .split("shawl's log: ")
        .nth(1)
        .unwrap_or_else(|| panic!("shawl's log is quoted: {detail}"));
    assert!(
        log.contains('3'),
        "shawl's log names the exit code: {detail}"
    );
}

fn verify_run(zip: &Path, extra: &[&str]) -> (i32, Value) {
    // The zip before `--`: what follows it goes to the program.
    let mut args: Vec<std::ffi::OsString> = vec!["verify".into(), "--wine".into()];
    args.extend(["--format".into(), "json".into()]);
    args.push(zip.as_os_str().to_os_string());
    args.extend(extra.iter().map(|a| a.into()));
    let r = run(args);
    (r.code, r.json())
}

fn run_step(v: &Value) -> Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "run program")
        .cloned()
        .unwrap_or_else(|| panic!("{v:#}"))
}

/// A package without a service (a CLI tool): --run smoke-tests its program under Wine,
/// its exit code, and that every DLL it needs loads.
#[test]
fn a_cli_package_is_smoke_tested_with_run() {
    let out = tempfile::tempdir().unwrap();
    let r = package(&fixture("crates/twobins/Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());

    // Without --run, the way forward is named.
    let o = run(["verify".as_ref(), "--wine".as_ref(), zip.as_os_str()]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--run"), "{}", o.stderr);

    let (code, v) = verify_run(&zip, &["--run", "--", "--any", "a r g"]);
    assert_eq!(code, 0, "{v:#}");
    let step = run_step(&v);
    assert!(
        step["detail"].as_str().unwrap().contains("exited with 0"),
        "{step}"
    );
    assert!(
        step["detail"].as_str().unwrap().contains("second"),
        "its output: {step}"
    );

    let (code, v) = verify_run(&zip, &["--run", "--expect-exit", "3"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        run_step(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("exited with 0, not 3"),
        "{v:#}"
    );

    // A bundled DLL of the right name but without the functions the program imports:
    // the offline closure cannot see it, the loader can.
    let r = package(&fixture("crates/cppdep/Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let crafted = out.path().join("wrong-runtime.zip");
    craft_package(
        &zip_path(&r.json()),
        &crafted,
        &[(
            "libstdc++-6.dll",
            std::fs::read(fixture("pe/bundle-x64/thirdparty.dll")).unwrap(),
        )],
    );
    let (code, v) = verify_run(&crafted, &["--run"]);
    assert_eq!(code, 1, "{v:#}");
    let d = run_step(&v)["detail"].as_str().unwrap().to_string();
    assert!(d.contains("did not load"), "{d}");
}

/// A 32-bit package under 64-bit-only Wine (Debian's wine64 without wine32:i386) used
/// to wait 30 s and report STOPPED; now verify finds out first and names the package
/// to install (exit 2). With 32-bit Wine present, the i686 build runs end to end.
#[test]
fn a_32_bit_package_needs_32_bit_wine() {
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &fixture("crates/twobins/Cargo.toml"),
        out.path(),
        &["--target", "i686-pc-windows-gnu"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    assert_eq!(
        r.json()["packages"][0]["check"]["files"][0]["machine"],
        "x86"
    );
    let o = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--run".as_ref(),
        zip.as_os_str(),
    ]);
    // Debian's 32-bit Wine loader; without it only 64-bit programs run.
    if Path::new("/usr/lib/wine/wine").exists() {
        assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    } else {
        assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains("runs only 64-bit programs"),
            "{}",
            o.stderr
        );
        assert!(o.stderr.contains("wine32:i386"), "{}", o.stderr);
    }
}

/// A signed, version-stamped hello-service: osslsigncode verifies it, `check` names
/// its signer and version, and Wine installs and runs the signed service; Windows's
/// own GetFileVersionInfoW/VerQueryValueW (Wine's) read back what Cargo.toml says.
#[test]
fn a_signed_stamped_service_verifies_installs_and_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = TestPki::new(tmp.path());
    let dir = tmp.path().join("hello");
    let manifest = copy_example_with(&dir, |text| {
        // With the application manifest too (UTF-8 code page, long paths): it still runs.
        text.replace(
            "min-windows = \"10\"",
            "min-windows = \"10\"\napp-manifest = true",
        ) + &format!(
            "\n[package.metadata.winpkg.version-info]\ncompany-name = \"Example & Söhne\"\n\n[package.metadata.winpkg.sign]\ncert = {:?}\nkey = {:?}\ntimestamp = false\n",
            pki.cert, pki.key
        )
    });
    let r = package(&manifest, &tmp.path().join("out"), &["--release"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let (code, v, kept) = verify_wine(&zip);
    assert_eq!(code, 0, "{:?}", failed_steps(&v));
    let exe = installed_file(&v, &kept, "hello-service.exe");
    pki.verify(&exe).expect("the installed exe verifies");
    let (_, report) = check_json(&[&exe], &[]);
    let f = &report["files"][0];
    assert_eq!(f["signature"]["subject"], TestPki::SUBJECT);
    assert_eq!(f["version"]["file_version"], "0.1.0.0");
    assert_eq!(f["manifest"], true);
    // The service ran signed: its log has lines.
    let log = std::fs::read_to_string(installed_file(&v, &kept, "hello-service.log")).unwrap();
    assert!(log.lines().count() >= 2, "{log}");

    // Windows's version API, in the same prefix.
    let tool = kept.drive_c().join("verquery.exe");
    let st = std::process::Command::new("x86_64-w64-mingw32-gcc")
        .args(["-municode", "-O2", "-o"])
        .arg(&tool)
        .arg(fixture("src/verquery.c"))
        .arg("-lversion")
        .status()
        .unwrap();
    assert!(st.success());
    let wineprefix = kept.0.as_ref().unwrap().join("prefix");
    let win_exe = format!("{}\\hello-service.exe", v["install_dir"].as_str().unwrap());
    let o = std::process::Command::new("timeout")
        .args(["120", "wine", "C:\\verquery.exe", &win_exe])
        .env("WINEPREFIX", &wineprefix)
        .env("WINEDEBUG", "-all")
        .output()
        .unwrap();
    let _ = std::process::Command::new("wineserver")
        .arg("-k")
        .env("WINEPREFIX", &wineprefix)
        .status();
    let (code, out) = (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    );
    assert_eq!(code, 0, "{out}");
    for line in [
        "fixed=0.1.0.0",
        "CompanyName=Example & Söhne",
        "FileVersion=0.1.0",
        "ProductName=hello-service",
        "OriginalFilename=hello-service.exe",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in {out}");
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

/// The values of an Event Log source's key (empty when it is absent).
fn event_source(prefix: &Prefix, name: &str) -> std::collections::BTreeMap<String, String> {
    prefix
        .registry_values(
            "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\EventLog\\Application",
            name,
        )
        .unwrap()
}

/// A service that owns folders and an Event Log source: install creates the data and
/// log folders (with a space, `&`, `^`, `!` and parentheses in their names; non-ASCII
/// names cannot be made by this Wine setup, whose Unix locale is a stand-in, so they
/// are covered by the cmd model in service_scripts.rs) under ProgramData and
/// the install folder, hands them to the service's account through icacls (Wine's is
/// a stub that logs the arguments it got: they are checked), and registers the source
/// with the exe as its message file. Uninstall keeps the data unless `--purge`, and
/// removes the source either way.
#[test]
fn a_service_gets_its_folders_and_event_source_and_purge_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hello");
    let manifest = copy_example_with(&dir, |text| {
        text.replace(
        "account = \"LocalService\"",
        "account = \"virtual\"\ndata-dirs = [\"{programdata}\\\\Hello & Co ^! (x)\\\\data\", \"{dir}\\\\cache\"]\nlog-dir = \"{programdata}\\\\Hello & Co ^! (x)\\\\logs\"",
    )
        .replace("event-log = true", "event-log = \"Hello Events\"")
    });
    let r = package(&manifest, &tmp.path().join("out"), &["--release"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let prefix = Prefix::create().expect("a Wine prefix");
    let install_dir = extract_to_program_files(&prefix, &zip);
    let (code, out) = run_installed(
        &prefix,
        "install.cmd",
        "",
        &[("WINEDEBUG", "-all,fixme+icacls")],
    );
    assert_eq!(code, 0, "{out}");
    let programdata = prefix
        .drive_c()
        .join("ProgramData")
        .join("Hello & Co ^! (x)");
    assert!(programdata.join("data").is_dir(), "{out}");
    assert!(programdata.join("logs").is_dir(), "{out}");
    assert!(install_dir.join("cache").is_dir(), "{out}");
    // What icacls was asked, as Wine's stub logs it (backslashes doubled, non-ASCII
    // escaped): each folder, for the service's virtual account, modify rights
    // inherited by files and subfolders.
    let grant = "\"/grant\" \"NT SERVICE\\\\hello-service:(OI)(CI)M\"";
    assert_eq!(out.matches(grant).count(), 3, "{out}");
    assert!(
        out.contains(&format!(
            "\"C:\\\\Program Files\\\\hello\\\\cache\" {grant}"
        )),
        "{out}"
    );
    assert_eq!(
        out.matches("\"C:\\\\ProgramData\\\\Hello & Co ").count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("may be modified by NT SERVICE\\hello-service"),
        "{out}"
    );
    let source = event_source(&prefix, "Hello Events");
    assert_eq!(
        source.get("EventMessageFile").map(String::as_str),
        Some("C:\\Program Files\\hello\\hello-service.exe"),
        "{source:?}"
    );
    assert_eq!(source.get("TypesSupported").map(String::as_str), Some("7"));
    // The service runs as its virtual account: it is RUNNING.
    assert_eq!(
        prefix.service_state("hello-service").unwrap().as_deref(),
        Some("RUNNING")
    );
    std::fs::write(programdata.join("data").join("state.db"), b"kept").unwrap();

    // Uninstall keeps the data, says so, and removes the event source.
    let (code, out) = run_installed(&prefix, "uninstall.cmd", "", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("uninstall.cmd --purge removes it"), "{out}");
    assert!(programdata.join("data").join("state.db").is_file());
    let source = event_source(&prefix, "Hello Events");
    assert!(source.is_empty(), "{source:?}");
    // --purge, with the service already gone: the folders go.
    let (code, out) = run_installed(&prefix, "uninstall.cmd", " --purge", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!programdata.join("data").exists(), "{out}");
    assert!(!programdata.join("logs").exists(), "{out}");
    assert!(!install_dir.join("cache").exists(), "{out}");
    assert!(
        install_dir.join("hello-service.exe").is_file(),
        "the install folder stays"
    );
}

/// shawl's logging, configured from the service table: logs in the `log-dir` folder
/// (created at install), rotated by size, only `log-retain` old files kept.
#[test]
fn shawl_logs_rotate_in_the_configured_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ticker");
    copy_crate(&fixture("crates/ticker"), &dir, |t| {
        t + "log-dir = \"{dir}\\\\logs\"\nlog-rotate = \"300B\"\nlog-retain = 2\n"
    });
    let r = package(
        &dir.join("Cargo.toml"),
        &tmp.path().join("out"),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v, kept) = verify_wine(&zip_path(&r.json()));
    assert_eq!(code, 0, "{:?}", failed_steps(&v));
    let image = v["registry"]["ImagePath"].as_str().unwrap();
    assert!(
        image.contains("--log-rotate bytes=300 --log-retain 2"),
        "{image}"
    );
    let logs_dir = installed_file(&v, &kept, "logs");
    let mut logs: Vec<String> = std::fs::read_dir(&logs_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", logs_dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("shawl_for_ticker"))
        .collect();
    logs.sort();
    // The current file and rotated ones, each cut near 300 bytes. (How many old files
    // shawl keeps at a time is its own business: it prunes as it goes.)
    assert!(logs.iter().any(|n| n.ends_with("rCURRENT.log")), "{logs:?}");
    let rotated: Vec<&String> = logs
        .iter()
        .filter(|n| !n.ends_with("rCURRENT.log"))
        .collect();
    assert!(rotated.len() >= 2, "{logs:?}");
    for n in &rotated {
        let len = std::fs::metadata(logs_dir.join(n)).unwrap().len();
        assert!((300..1024).contains(&len), "{n}: {len} bytes");
    }
    let all: String = logs
        .iter()
        .map(|n| std::fs::read_to_string(logs_dir.join(n)).unwrap_or_default())
        .collect();
    assert!(all.contains("tick "), "{all}");
    // Nothing was logged beside the program: the install folder has no shawl log.
    let mut stray = Vec::new();
    find_files(
        &installed_file(&v, &kept, ""),
        "shawl_for_ticker",
        &mut stray,
    );
    assert!(stray.iter().all(|p| p.starts_with(&logs_dir)), "{stray:?}");
}

/// The lines of the logon agent's log in `prefix`, once there are at least `n` (or
/// what there is after 20 s).
fn agent_log_lines(prefix: &Prefix, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..40 {
        let mut logs = Vec::new();
        find_files(&prefix.drive_c().join("users"), "agent.log", &mut logs);
        lines = logs
            .iter()
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .lines()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        if lines.len() >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    lines
}

/// The Run-key example (a logon agent): install.cmd adds the user's Run entry and
/// starts the agent; Wine's wineboot runs Run entries as a logon does, and the agent
/// runs again; uninstall.cmd removes the entry, and the next "logon" starts nothing.
#[test]
fn a_logon_agent_starts_from_the_run_key_and_uninstall_removes_it() {
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &root().join("examples/logon-agent/Cargo.toml"),
        out.path(),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let m: Value = serde_json::from_slice(
        &zip_entries(&zip)
            .into_iter()
            .find(|(n, _)| n == "service.json")
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(m["autostart"]["kind"], "run-key");
    assert!(m["service"].is_null());
    let prefix = Prefix::create().expect("a Wine prefix");
    extract_to_program_files(&prefix, &zip);
    let (code, text) = run_installed(&prefix, "install.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    let expected = "logon-agent started: --greeting hello from C:\\Program Files\\hello";
    assert_eq!(
        agent_log_lines(&prefix, 1),
        [expected],
        "started at install"
    );
    let run = prefix
        .registry_values(
            "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion",
            "Run",
        )
        .unwrap();
    assert_eq!(
        run.get("logon-agent").map(String::as_str),
        Some(
            "\"C:\\Program Files\\hello\\logon-agent.exe\" --greeting \"hello from C:\\Program Files\\hello\""
        )
    );
    // A "logon": wineboot runs the Run entries.
    let (code, text) = prefix.wine(&["wineboot"], Duration::from_secs(60)).unwrap();
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        agent_log_lines(&prefix, 2),
        [expected, expected],
        "started at logon"
    );
    let (code, text) = run_installed(&prefix, "uninstall.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    let run = prefix
        .registry_values(
            "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion",
            "Run",
        )
        .unwrap();
    assert!(!run.contains_key("logon-agent"), "{run:?}");
    let _ = prefix.wine(&["wineboot"], Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        agent_log_lines(&prefix, 3).len(),
        2,
        "nothing starts after uninstall"
    );
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

/// PATH in `key` as stored: its type word and its text, or None when there is no value.
fn stored_path(prefix: &Prefix, parent: &str, key: &str) -> Option<(String, String)> {
    let text = prefix
        .registry_values(parent, key)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("path"))?
        .1;
    let (_, out) = prefix
        .wine(
            &["reg", "query", &format!("{parent}\\{key}"), "/v", "Path"],
            Duration::from_secs(60),
        )
        .unwrap();
    let kind = if out.contains("REG_EXPAND_SZ") {
        "REG_EXPAND_SZ"
    } else if out.contains("REG_SZ") {
        "REG_SZ"
    } else {
        panic!("the type of PATH in {out}")
    };
    Some((kind.to_string(), text))
}

/// Set (or, with None, delete) the user's PATH, byte for byte.
fn set_user_path(prefix: &Prefix, value: Option<(&str, &str)>) {
    let (code, text) = match value {
        Some((kind, v)) => prefix
            .run_with(
                &format!("reg add HKCU\\Environment /v Path /t {kind} /d {{0}} /f"),
                &[v],
                Duration::from_secs(60),
            )
            .unwrap(),
        None => prefix
            .run_batch(
                "reg delete HKCU\\Environment /v Path /f",
                Duration::from_secs(60),
            )
            .unwrap(),
    };
    assert!(code == 0 || value.is_none(), "{text}");
    assert_eq!(
        stored_path(prefix, "HKEY_CURRENT_USER", "Environment"),
        value.map(|(k, v)| (k.to_string(), v.to_string())),
        "the PATH the test set"
    );
}

/// Files or folders named `needle` under `dir` (what an injected `mkdir` would make).
fn made_by_injection(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().eq_ignore_ascii_case(needle) {
            found.push(p.clone());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(made_by_injection(&p, needle));
        }
    }
    found
}

/// A command-line tool (`[package.metadata.winpkg.cli] path = "user"`) installed from a
/// folder whose name is cmd.exe syntax (`&mkdir pwned&`, parentheses, `%PATH%`, `^`,
/// `!`): install.cmd runs nothing from the name, adds the folder to the user's PATH
/// once, and uninstall.cmd removes exactly that entry. For every kind of PATH a user
/// has (empty entries, a trailing `;`, quotes, `%VAR%` in REG_EXPAND_SZ, `&`, `(x86)`,
/// spaces, non-ASCII, over 2047 characters, REG_SZ, no PATH at all), the value read
/// back from the registry after install is the old one plus the folder, and after
/// uninstall the old one, byte for byte, with its type.
#[test]
fn a_cli_tool_goes_on_path_once_and_comes_off_exactly() {
    let (_tmp, r) = package_twobins_with("\n[package.metadata.winpkg.cli]\npath = \"user\"\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is a command-line tool"), "{}", r.stderr);
    let prefix = Prefix::create().expect("a Wine prefix");
    // (`%NAME%` is left out: Wine's cmd expands `%` again in the expanded `%~dp0`,
    // which Windows's does not, so the scripts could not find their own folder there.)
    let folder = "C:\\Tools (x86) &mkdir pwned& ^!x!\\cli";
    extract_to(&prefix, &zip_path(&r.json()), folder);
    let long: String = (0..200).map(|i| format!("C:\\tools\\t{i:03};")).collect();
    let long = format!("{long}C:\\end");
    assert!(long.len() > 2047);
    let cases: Vec<Option<(&str, String)>> = vec![
        Some(("REG_EXPAND_SZ", "C:\\a;;C:\\b".into())),
        Some(("REG_EXPAND_SZ", "C:\\a;C:\\b;".into())),
        Some(("REG_EXPAND_SZ", "\"C:\\quoted & dir\";C:\\b".into())),
        Some((
            "REG_EXPAND_SZ",
            "%USERPROFILE%\\AppData\\Local\\Microsoft\\WindowsApps;%SystemRoot%\\x;C:\\u%".into(),
        )),
        Some((
            "REG_EXPAND_SZ",
            "C:\\R&D;C:\\Program Files (x86)\\x y;C:\\Ünï 中文;C:\\x^y!z!;C:\\a|b<c>".into(),
        )),
        Some(("REG_EXPAND_SZ", long.clone())),
        Some(("REG_SZ", "C:\\plain;D:\\x".into())),
        Some(("REG_EXPAND_SZ", ";".into())),
        None,
    ];
    for case in &cases {
        let old = case.as_ref().map(|(k, v)| (*k, v.as_str()));
        set_user_path(&prefix, old);
        let ours = match old {
            None => ("REG_EXPAND_SZ".to_string(), folder.to_string()),
            Some((k, v)) if v.ends_with(';') => (k.to_string(), format!("{v}{folder};")),
            Some((k, v)) => (k.to_string(), format!("{v};{folder}")),
        };
        for round in 0..2 {
            let (code, text) = run_in(&prefix, folder, "install.cmd");
            assert_eq!(code, 0, "{old:?}: {text}");
            let said = if round == 0 {
                format!("Added {folder} to PATH")
            } else {
                format!("{folder} is on PATH already")
            };
            assert!(text.contains(&said), "{old:?}, round {round}: {text}");
            assert_eq!(
                stored_path(&prefix, "HKEY_CURRENT_USER", "Environment"),
                Some(ours.clone()),
                "{old:?}, install round {round}: {text}"
            );
        }
        let (code, text) = run_in(&prefix, folder, "uninstall.cmd");
        assert_eq!(code, 0, "{old:?}: {text}");
        assert!(
            text.contains(&format!("Removed {folder} from PATH")),
            "{text}"
        );
        let after = stored_path(&prefix, "HKEY_CURRENT_USER", "Environment");
        let before = old.map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(after, before, "{old:?}: {text}");
        // Entry by entry, too (the same when the whole value is).
        let entries = |v: &Option<(String, String)>| {
            v.as_ref()
                .map(|(_, t)| t.split(';').map(String::from).collect::<Vec<_>>())
        };
        assert_eq!(entries(&after), entries(&before));
        let (code, text) = run_in(&prefix, folder, "uninstall.cmd");
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("is not on PATH: nothing to do"), "{text}");
        assert_eq!(
            stored_path(&prefix, "HKEY_CURRENT_USER", "Environment"),
            before
        );
    }
    // The folder already on PATH, written by hand with a trailing backslash and in
    // other case: install adds nothing; uninstall removes that one entry.
    let by_hand = format!("C:\\a;{}\\;C:\\b", folder.to_uppercase());
    set_user_path(&prefix, Some(("REG_EXPAND_SZ", &by_hand)));
    let (code, text) = run_in(&prefix, folder, "install.cmd");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("is on PATH already"), "{text}");
    let (code, text) = run_in(&prefix, folder, "uninstall.cmd");
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        stored_path(&prefix, "HKEY_CURRENT_USER", "Environment"),
        Some(("REG_EXPAND_SZ".into(), "C:\\a;C:\\b".into()))
    );
    // A `%` in the folder: Wine's cmd drops it from `%~dp0` (Windows's keeps it), so
    // there the scripts cannot find the helper: they fail loudly and write nothing.
    let percent = "C:\\Tools 100%\\cli";
    extract_to(&prefix, &zip_path(&r.json()), percent);
    set_user_path(&prefix, Some(("REG_EXPAND_SZ", "C:\\a;;C:\\b")));
    let (code, text) = run_in(&prefix, percent, "install.cmd");
    assert_ne!(code, 0, "{text}");
    assert_eq!(
        stored_path(&prefix, "HKEY_CURRENT_USER", "Environment"),
        Some(("REG_EXPAND_SZ".into(), "C:\\a;;C:\\b".into()))
    );
    // Nothing ran from the folder's name, anywhere.
    let cwd = std::env::current_dir().unwrap();
    for root in [prefix.drive_c(), cwd] {
        assert_eq!(made_by_injection(&root, "pwned"), Vec::<PathBuf>::new());
    }
}

/// The example service with its event log: install registers the source "hello-service"
/// and the running service reports its start and stop through ReportEventW. Wine
/// stores no events, but its `eventlog` debug channel shows what was reported.
#[test]
fn the_example_service_reports_to_its_event_log() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let prefix = Prefix::create_with_debug("-all,+eventlog").expect("a Wine prefix");
    extract_to_program_files(&prefix, &zip);
    let (code, text) = run_installed(&prefix, "install.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    let source = event_source(&prefix, "hello-service");
    assert_eq!(
        source.get("EventMessageFile").map(String::as_str),
        Some("C:\\Program Files\\hello\\hello-service.exe")
    );
    let started = "hello-service started: hello from C:\\\\Program Files\\\\hello";
    let mut log = String::new();
    for _ in 0..20 {
        log = prefix.log_text();
        if log.contains(started) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        log.contains(started),
        "{started} in the eventlog channel: {log}"
    );
    let (code, text) = run_installed(&prefix, "uninstall.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        prefix.log_text().contains("hello-service stopping after "),
        "{}",
        prefix.log_text()
    );
    assert!(event_source(&prefix, "hello-service").is_empty());
}

/// A scheduled task: install.cmd writes the Task Scheduler XML line by line and
/// registers it with `schtasks /create /xml`; uninstall.cmd deletes it. Wine cannot run
/// tasks and drops their triggers and actions when it stores them (TOOLCHAIN.md), so
/// what is checked here is the mechanics: the XML reaches schtasks as UTF-16 (which
/// Windows's schtasks requires) and is accepted, its description (with `&`, quotes,
/// `%` and non-ASCII) is read back from Wine's task file, and it is gone after.
#[test]
fn a_scheduled_task_is_registered_and_removed() {
    let (_tmp, r) = package_twobins_with(
        "\n[package.metadata.winpkg.task]\nname = \"Nightly & Co\"\ndescription = \"Cleans & tidies \\\"temp\\\" 100% Ünï\"\ntrigger = \"daily\"\nat = \"02:30\"\nrun-as = \"local-service\"\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("runs as the scheduled task `Nightly & Co`"),
        "{}",
        r.stderr
    );
    let prefix = Prefix::create().expect("a Wine prefix");
    extract_to_program_files(&prefix, &zip_path(&r.json()));
    let (code, text) = run_installed(&prefix, "install.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Task Nightly & Co is registered"), "{text}");
    let stored = prefix
        .drive_c()
        .join("windows/system32/tasks")
        .join("Nightly & Co");
    let xml = String::from_utf8_lossy(
        &std::fs::read(&stored).unwrap_or_else(|e| panic!("{}: {e}: {text}", stored.display())),
    )
    .replace('\0', "");
    assert!(
        xml.contains("Cleans & tidies \"temp\" 100% Ünï")
            || xml.contains("Cleans &amp; tidies &quot;temp&quot; 100% Ünï"),
        "{xml}"
    );
    let (code, text) = run_installed(&prefix, "uninstall.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(!stored.exists(), "{text}");
}

/// The machine-wide Run entry, under HKLM (every user's logon starts it; administrator
/// rights, which Wine's user has).
#[test]
fn machine_scope_run_key() {
    let (_tmp, r) = package_twobins_with(
        "\n[package.metadata.winpkg.run-key]\nname = \"Every user\"\nscope = \"machine\"\nstart-now = false\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prefix = Prefix::create().expect("a Wine prefix");
    extract_to_program_files(&prefix, &zip_path(&r.json()));
    let run_key = || {
        prefix
            .registry_values(
                "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion",
                "Run",
            )
            .unwrap()
    };
    let (code, text) = run_installed(&prefix, "install.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        run_key().get("Every user").map(String::as_str),
        Some("\"C:\\Program Files\\hello\\second.exe\"")
    );
    let (code, text) = run_installed(&prefix, "uninstall.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(!run_key().contains_key("Every user"));
}

/// The install folder on the machine's PATH (administrator rights, which Wine's user
/// has), in a prefix of its own.
#[test]
fn machine_scope_path() {
    let (_tmp, r) = package_twobins_with("\n[package.metadata.winpkg.cli]\npath = \"machine\"\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prefix = Prefix::create().expect("a Wine prefix");
    extract_to_program_files(&prefix, &zip_path(&r.json()));
    let machine_path = || {
        prefix
            .registry_values(
                "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control\\Session Manager",
                "Environment",
            )
            .unwrap()
            .get("PATH")
            .or(None)
            .cloned()
    };
    // Wine's machine PATH holds `%SystemRoot%` entries: they stay as they are.
    let before = machine_path().unwrap_or_else(|| panic!("Wine's machine PATH"));
    assert!(before.contains("%SystemRoot%"), "{before}");
    let (code, text) = run_installed(&prefix, "install.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        machine_path().as_deref(),
        Some(format!("{before};C:\\Program Files\\hello").as_str())
    );
    let (code, text) = run_installed(&prefix, "uninstall.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(machine_path().as_deref(), Some(before.as_str()));
}
