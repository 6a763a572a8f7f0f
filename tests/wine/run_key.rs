//! The logon Run key: started at "logon" (wineboot), removed by uninstall.

use super::*;

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

    // verify --wine judges the same entry: the quoted program and its arguments with
    // its own install folder put in, and gone after uninstall.cmd.
    let (code, v) = verify_run(&zip, &[]);
    assert_eq!(code, 0, "{v:#}");
    let dir = v["install_dir"].as_str().unwrap();
    let entry = detail(&v, "Run entry");
    assert!(
        entry.contains(&format!(
            "`logon-agent` runs \"{dir}\\logon-agent.exe\" --greeting \"hello from {dir}\""
        )),
        "{entry}"
    );
    assert_eq!(
        step(&v, "Run entry after uninstall.cmd")["ok"],
        true,
        "{v:#}"
    );
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
