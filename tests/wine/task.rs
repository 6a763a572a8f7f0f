//! Scheduled tasks: registered from the generated XML, and removed.

use super::*;

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
