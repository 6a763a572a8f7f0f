//! Services on Wine's service control manager: install, run, update, uninstall, with
//! hostile strings, shawl, folders, logs and the event log.

use super::*;

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
            .contains("ticker.exe is wrapped by shawl as service `ticker`: it does not run the service dispatcher"),
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
    // The exe from this test's own zip: the one in the shared target folder is relinked
    // in place while other tests build their copies of the ticker crate.
    let (_, exe) = zip_entries(&zip_path(&r.json()))
        .into_iter()
        .find(|(n, _)| n.ends_with("/ticker.exe") || n == "ticker.exe")
        .expect("ticker.exe in the zip");
    let prefix = Prefix::create().expect("a Wine prefix");
    let dir = prefix.drive_c().join("console");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ticker.exe"), exe).unwrap();
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
    let waited = started.elapsed();
    let (_, query) = prefix
        .wine(&["sc", "query", "console"], Duration::from_secs(30))
        .unwrap();
    assert!(
        waited >= Duration::from_secs(8),
        "the SCM waited for the dispatcher: {waited:?}, sc start: {out}, sc query: {query}, log: {}",
        prefix.log_text()
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
    // Seen RUNNING then STOPPED, or STOPPED at the first look (it lasts half a second):
    // either way install.cmd fails, says the service stopped, and shows its exit code.
    assert!(
        out.contains("error: the service stopped right after it started")
            || out.contains("error: the service stopped while it was starting"),
        "{out}"
    );
    // A service-specific code: WIN32_EXIT_CODE 1066, the code itself beside it.
    assert!(
        out.lines()
            .any(|l| l.contains("WIN32_EXIT_CODE") && l.contains(": 1066")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("SERVICE_EXIT_CODE") && l.contains(": 3 ")),
        "{out}"
    );
    assert!(out.contains("SERVICE_EXIT_CODE when"), "{out}");
    assert_eq!(
        prefix.service_state("stops").unwrap().as_deref(),
        Some("STOPPED")
    );
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
/// under ProgramData (created at install; `{programdata}` in the stored command line
/// as the machine's folder), rotated by size, only `log-retain` old files kept.
#[test]
fn shawl_logs_rotate_in_the_configured_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ticker");
    copy_crate(&fixture("crates/ticker"), &dir, |t| {
        t + "log-dir = \"{programdata}\\\\ticker & co\\\\logs\"\nlog-rotate = \"300B\"\nlog-retain = 2\n"
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
    assert!(
        image.contains("--log-dir \"C:\\ProgramData\\ticker & co\\logs\""),
        "{image}"
    );
    let logs_dir = kept.drive_c().join("ProgramData/ticker & co/logs");
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
