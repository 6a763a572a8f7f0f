//! Does the service work, not only run: `verify --probe` asks a real HTTP server (the
//! webhello fixture) over the sandbox's loopback, `--crash-test` ends its program and
//! watches what restarts it, and a service that never calls its dispatcher is named
//! as such.

use super::*;

/// The pid a crash test step names after `word` ("pid 208" -> 208).
fn pid_after(detail: &str, word: &str) -> u32 {
    let at = detail.find(word).unwrap_or_else(|| panic!("{detail}")) + word.len();
    detail[at..]
        .trim_start()
        .trim_start_matches("pid ")
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{detail}"))
}

/// webhello (under shawl, restart after 2 s): HTTP and TCP probes that pass, two that
/// fail with what they got, then the crash test: shawl starts the program again and
/// the probe answers again.
#[test]
fn probes_ask_a_real_http_server_and_shawl_restarts_it_after_a_crash() {
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &fixture("crates/webhello/Cargo.toml"),
        out.path(),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let (code, v) = verify_run(
        &zip,
        &[
            "--probe",
            "http://127.0.0.1:8787/",
            "--probe-status",
            "200",
            "--probe",
            "tcp:127.0.0.1:8787",
            "--probe",
            "http://127.0.0.1:8787/missing",
            "--probe",
            "tcp:127.0.0.1:9",
            "--crash-test",
            "--timeout",
            "10",
        ],
    );
    assert_eq!(code, 1, "{v:#}");
    let ok = step(&v, "probe http://127.0.0.1:8787/");
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(
        ok["detail"]
            .as_str()
            .unwrap()
            .contains("answered `HTTP/1.1 200 OK`"),
        "{ok}"
    );
    assert_eq!(step(&v, "probe tcp:127.0.0.1:8787")["ok"], true, "{v:#}");
    let missing = step(&v, "probe http://127.0.0.1:8787/missing");
    assert_eq!(missing["ok"], false);
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("answered `HTTP/1.1 404 Not Found`, expected status 200"),
        "{missing}"
    );
    let closed = step(&v, "probe tcp:127.0.0.1:9");
    assert_eq!(closed["ok"], false);
    assert!(
        closed["detail"]
            .as_str()
            .unwrap()
            .contains("cannot connect to 127.0.0.1:9"),
        "{closed}"
    );
    let crash = step(&v, "crash test");
    assert_eq!(crash["ok"], true, "{crash}");
    let detail = crash["detail"].as_str().unwrap();
    assert!(detail.contains("shawl started it again"), "{detail}");
    assert_ne!(
        pid_after(detail, "ended webhello.exe ("),
        pid_after(detail, "later (")
    );
    let again = step(&v, "probe again http://127.0.0.1:8787/");
    assert_eq!(again["ok"], true, "{again}");
    // Then uninstalled as usual.
    assert_eq!(step(&v, "service removed")["ok"], true, "{v:#}");
}

/// webhello with no restart (`recovery` of `none`: shawl runs with --no-restart): the
/// crash test fails and says nothing restarts the program.
#[test]
fn the_crash_test_fails_when_nothing_restarts_the_program() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("webhello");
    copy_crate(&fixture("crates/webhello"), &dir, |t| {
        t.replace(
            r#"recovery = { actions = [{ action = "restart", delay = "2s" }], reset-after = "1h" }"#,
            r#"recovery = { actions = ["none"] }"#,
        )
    });
    // Its own target folder: the shared one's webhello.exe is another test's.
    let r = package_in(
        &dir.join("Cargo.toml"),
        Some(&tmp.path().join("target")),
        &tmp.path().join("out"),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v) = verify_run(&zip_path(&r.json()), &["--crash-test"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        v["registry"]["ImagePath"]
            .as_str()
            .unwrap()
            .contains("--no-restart"),
        "{v:#}"
    );
    let crash = step(&v, "crash test");
    assert_eq!(crash["ok"], false, "{crash}");
    let detail = crash["detail"].as_str().unwrap();
    assert!(detail.contains("nothing restarts it"), "{detail}");
    assert!(detail.contains("the service is STOPPED"), "{detail}");
}

/// A native service with recovery (the example, restart after 5 s): Wine's service
/// manager applies no recovery actions, so the crash test says so instead of passing.
#[test]
fn a_native_services_recovery_is_not_judged_under_wine() {
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &root().join("examples/hello-service/Cargo.toml"),
        out.path(),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v) = verify_run(&zip_path(&r.json()), &["--crash-test"]);
    assert_eq!(code, 0, "{v:#}");
    let crash = step(&v, "crash test");
    assert_eq!(crash["check"], false, "an info step, not a pass: {crash}");
    let detail = crash["detail"].as_str().unwrap();
    assert!(
        detail.contains("Wine's service manager applies no recovery actions and does not see a service's process end: not judged here"),
        "{detail}"
    );
    assert!(detail.contains("5 s after a crash on Windows"), "{detail}");
    // The process was left alone: the service runs on and is uninstalled as usual.
    assert_eq!(step(&v, "service removed")["ok"], true, "{v:#}");
}

/// flagsvc imports the service dispatcher but calls it only with `--service`, which
/// its package does not pass (static-web-server without --windows-service=true):
/// install.cmd says what Wine's 1077 means, and verify saw the program run until the
/// service manager gave up on it.
#[test]
fn a_service_that_never_calls_its_dispatcher_is_named_as_such() {
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &fixture("crates/flagsvc/Cargo.toml"),
        out.path(),
        &["--release"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("is a native service `flagsvc`"),
        "{}",
        r.stderr
    );
    let (code, v) = verify_run(&zip_path(&r.json()), &[]);
    assert_eq!(code, 1, "{v:#}");
    let install = step(&v, "install.cmd");
    let detail = install["detail"].as_str().unwrap();
    assert!(detail.contains("WIN32_EXIT_CODE    : 1077"), "{detail}");
    assert!(
        detail.contains("the program ran but never told the service manager it started"),
        "{detail}"
    );
    assert!(
        detail.contains("verify saw flagsvc.exe run for")
            && detail.contains("until the service manager gave up on it"),
        "{detail}"
    );
}
