//! The MSI on Wine's Windows Installer: install (the service registered and running),
//! a major upgrade (one product, the new version running), a refused downgrade, and
//! uninstall (service and files gone); the service's registry values and folders; the
//! Run-key example per user; and `verify --wine` on MSIs.

use super::*;

const UPGRADE_CODE: &str = "{6F1C2A3B-1111-4222-8333-944455556666}";

/// The example service at `version`, packaged with `--msi`: the MSI's path.
fn example_msi(dir: &Path, version: &str) -> PathBuf {
    edited_msi(
        dir,
        "version = \"0.1.0\"",
        &format!("version = \"{version}\""),
    )
}

/// The example service with `keys` added to its service table, packaged with `--msi`.
fn service_msi(dir: &Path, keys: &str) -> PathBuf {
    let account = "account = \"LocalService\"";
    edited_msi(dir, account, &format!("{account}\n{keys}"))
}

/// The example service with `from` replaced by `to` in its Cargo.toml and an upgrade
/// code, packaged with `--msi`.
fn edited_msi(dir: &Path, from: &str, to: &str) -> PathBuf {
    let manifest = copy_example_with(dir, |t| {
        t.replacen(from, to, 1)
            + &format!("\n[package.metadata.winpkg.msi]\nupgrade-code = \"{UPGRADE_CODE}\"\n")
    });
    msi_of(&manifest, &dir.join("out"))
}

/// `--release --msi` on the crate at `manifest`: the MSI's path.
fn msi_of(manifest: &Path, out: &Path) -> PathBuf {
    let r = package(manifest, out, &["--release", "--msi"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msi = PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    assert!(msi.is_file(), "{}", msi.display());
    msi
}

/// `msiexec ARGS` on `msi` (copied to C:\): its exit code and verbose log.
pub(super) fn msiexec(prefix: &Prefix, msi: &Path, verb: &str) -> (i32, String) {
    msiexec_with(prefix, msi, verb, &[])
}

/// As [`msiexec`], with property assignments (`INSTALLDIR=...`).
pub(super) fn msiexec_with(
    prefix: &Prefix,
    msi: &Path,
    verb: &str,
    props: &[&str],
) -> (i32, String) {
    let name = msi.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(msi, prefix.drive_c().join(&name)).unwrap();
    let log = format!("msi-{}-{name}.log", verb.trim_start_matches('/'));
    let (code, _) = prefix
        .wine(
            // Properties right after the package, as README.md writes them (Wine's
            // msiexec takes none after /qn).
            &[
                &["msiexec", verb, &format!("C:\\{name}")][..],
                props,
                &["/qn", "/l*v", &format!("C:\\{log}")],
            ]
            .concat(),
            Duration::from_secs(180),
        )
        .unwrap();
    let bytes = std::fs::read(prefix.drive_c().join(&log)).unwrap_or_default();
    // Wine writes the log in the ANSI code page; Windows in UTF-16 with a BOM.
    let text = match bytes.strip_prefix(&[0xff, 0xfe]) {
        Some(utf16) => String::from_utf16_lossy(
            &utf16
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        ),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    };
    (code, text)
}

/// The installed products (their codes: the Uninstall key's subkeys that are GUIDs,
/// in the 64-bit view and the 32-bit one, where x86 packages register).
fn products(prefix: &Prefix) -> Vec<String> {
    [
        "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
        "HKEY_LOCAL_MACHINE\\Software\\Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
    ]
    .iter()
    .flat_map(|key| prefix.registry_subkeys(key).unwrap_or_default())
    .filter(|k| k.starts_with('{'))
    .collect()
}

#[test]
fn the_msi_installs_upgrades_refuses_a_downgrade_and_uninstalls() {
    let v1_dir = tempfile::tempdir().unwrap();
    let v2_dir = tempfile::tempdir().unwrap();
    let v1 = example_msi(v1_dir.path(), "0.1.0");
    let v2 = example_msi(v2_dir.path(), "0.2.0");
    let prefix = Prefix::create().expect("a Wine prefix");
    let installed = prefix
        .drive_c()
        .join("Program Files/hello-service/hello-service.exe");

    let (code, log) = msiexec(&prefix, &v1, "/i");
    assert_eq!(code, 0, "{log}");
    assert!(installed.is_file(), "{log}");
    assert!(
        prefix
            .wait_state("hello-service", "RUNNING", Duration::from_secs(30))
            .unwrap(),
        "{log}"
    );
    let first = products(&prefix);
    assert_eq!(first.len(), 1, "{first:?}");

    // v2 over v1: one product, v2's, and the service running again.
    let (code, log) = msiexec(&prefix, &v2, "/i");
    assert_eq!(code, 0, "{log}");
    let second = products(&prefix);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first, "the product code changes with the version");
    assert!(
        prefix
            .wait_state("hello-service", "RUNNING", Duration::from_secs(30))
            .unwrap(),
        "{log}"
    );
    let exe = std::fs::read(&installed).unwrap();
    let v2_exe = zip_entries(&v2.with_extension("zip"))
        .into_iter()
        .find(|(n, _)| n == "hello-service.exe")
        .unwrap()
        .1;
    assert!(exe == v2_exe, "the installed exe is v2's");

    // v1 over v2: the newer version is found and the launch condition stops the
    // install (Wine's log does not print the condition's message: the effect is what
    // is checked); nothing changed.
    let (_, log) = msiexec(&prefix, &v1, "/i");
    assert!(log.contains("Property(S): WPK_NEWER = {"), "{log}");
    assert!(!log.contains("InstallFiles"), "no file was touched: {log}");
    assert_eq!(products(&prefix), second);
    assert!(std::fs::read(&installed).unwrap() == v2_exe);

    // Uninstall: the service and the program are gone.
    let (code, log) = msiexec(&prefix, &v2, "/x");
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        prefix.service_state("hello-service").unwrap(),
        None,
        "{log}"
    );
    assert!(!installed.exists(), "{log}");
    assert!(products(&prefix).is_empty());
}

/// `INSTALLDIR=...` on msiexec's command line installs elsewhere, and the service runs
/// from there (its arguments' `[INSTALLDIR]` follow: its log file is written there).
/// The folder is remembered: the next version installs over it and uninstall finds it
/// without being told again.
#[test]
fn the_msi_installs_where_the_admin_says() {
    let dir = tempfile::tempdir().unwrap();
    let v2_dir = tempfile::tempdir().unwrap();
    let msi = example_msi(dir.path(), "0.1.0");
    let v2 = example_msi(v2_dir.path(), "0.2.0");
    let prefix = Prefix::create().expect("a Wine prefix");
    let (code, log) = msiexec_with(&prefix, &msi, "/i", &["INSTALLDIR=C:\\Apps\\hello-svc"]);
    assert_eq!(code, 0, "{log}");
    let folder = prefix.drive_c().join("Apps/hello-svc");
    assert!(folder.join("hello-service.exe").is_file(), "{log}");
    let default = prefix.drive_c().join("Program Files/hello-service");
    assert!(!default.exists(), "{log}");
    assert!(
        prefix
            .wait_state("hello-service", "RUNNING", Duration::from_secs(30))
            .unwrap(),
        "{log}"
    );
    let logged = folder.join("hello-service.log");
    let mut seen = false;
    for _ in 0..20 {
        if logged.is_file() {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(seen, "the service logs into INSTALLDIR: {log}");
    // The next version, with no INSTALLDIR: into the same folder.
    let (code, log) = msiexec(&prefix, &v2, "/i");
    assert_eq!(code, 0, "{log}");
    assert!(!default.exists(), "{log}");
    let v2_exe = zip_entries(&v2.with_extension("zip"))
        .into_iter()
        .find(|(n, _)| n == "hello-service.exe")
        .unwrap()
        .1;
    assert!(
        std::fs::read(folder.join("hello-service.exe")).unwrap() == v2_exe,
        "{log}"
    );
    // Uninstall, not told where: the remembered folder is emptied.
    let (code, log) = msiexec(&prefix, &v2, "/x");
    assert_eq!(code, 0, "{log}");
    assert!(!folder.join("hello-service.exe").exists(), "{log}");
    assert!(products(&prefix).is_empty());
}

/// The service's other settings from the MSI's tables: its environment and Event Log
/// source (Registry), its data and log folders (CreateFolder), created at install from
/// names with `[`, `&` and spaces; at uninstall the registry entries go and the folders
/// stay with what the service wrote. (Wine's msiexec does not apply
/// MsiLockPermissionsEx; the SDDL is read back in tests/package.rs.)
#[test]
fn the_msi_sets_the_environment_event_source_and_folders_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let msi = service_msi(
        dir.path(),
        "data-dirs = [\"{programdata}\\\\hello [x] & co\\\\data\"]\nlog-dir = \"{dir}\\\\logs\"\nenv = { GREETING = \"[hi] & 100% {x}\", RUST_LOG = \"info\" }",
    );
    let prefix = Prefix::create().expect("a Wine prefix");
    let (code, log) = msiexec(&prefix, &msi, "/i");
    assert_eq!(code, 0, "{log}");
    assert!(
        prefix
            .wait_state("hello-service", "RUNNING", Duration::from_secs(30))
            .unwrap(),
        "{log}"
    );
    let services = "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services";
    let values = prefix
        .registry_values_typed(services, "hello-service")
        .unwrap();
    assert_eq!(
        values.get("Environment"),
        Some(&(
            "REG_MULTI_SZ",
            "GREETING=[hi] & 100% {x}\nRUST_LOG=info".to_string()
        )),
        "{values:?}"
    );
    let event_log = format!("{services}\\EventLog\\Application");
    let source = prefix
        .registry_values_typed(&event_log, "hello-service")
        .unwrap();
    assert_eq!(
        source.get("EventMessageFile"),
        Some(&(
            "REG_EXPAND_SZ",
            "C:\\Program Files\\hello-service\\hello-service.exe".to_string()
        )),
        "{source:?}"
    );
    assert_eq!(source.get("TypesSupported").map(|v| v.0), Some("REG_DWORD"));
    let data = prefix.drive_c().join("ProgramData/hello [x] & co/data");
    let logs = prefix.drive_c().join("Program Files/hello-service/logs");
    assert!(data.is_dir(), "{log}");
    assert!(logs.is_dir(), "{log}");
    std::fs::write(data.join("state.db"), b"kept").unwrap();

    let (code, log) = msiexec(&prefix, &msi, "/x");
    assert_eq!(code, 0, "{log}");
    assert_eq!(prefix.service_state("hello-service").unwrap(), None);
    // Gone: the key, or its parent too (Wine's prefix has no other source there).
    let source_gone = match prefix.registry_values(&event_log, "hello-service") {
        Ok(values) => values.is_empty(),
        Err(e) => e.to_string().contains("Unable to open the registry key"),
    };
    assert!(source_gone, "the Event Log source is removed");
    assert_eq!(
        std::fs::read(data.join("state.db")).unwrap(),
        b"kept",
        "data is kept"
    );
    assert!(logs.is_dir(), "the log folder is kept: {log}");
    assert!(
        !prefix
            .drive_c()
            .join("Program Files/hello-service/hello-service.exe")
            .exists()
    );
}

/// The logon agent's MSI: per-user (no elevation; into the user's own Programs
/// folder), the Run entry in HKCU, the agent started at install; uninstall removes the
/// entry.
#[test]
fn the_logon_agent_msi_installs_for_the_user_with_its_run_entry() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_crate(&root().join("examples/logon-agent"), dir.path(), |t| {
        t + &format!("\n[package.metadata.winpkg.msi]\nupgrade-code = \"{UPGRADE_CODE}\"\n")
    });
    let msi = msi_of(&manifest, &dir.path().join("out"));
    let prefix = Prefix::create().expect("a Wine prefix");
    let (code, log) = msiexec(&prefix, &msi, "/i");
    assert_eq!(code, 0, "{log}");
    let run = || {
        prefix
            .registry_values(
                "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion",
                "Run",
            )
            .unwrap()
    };
    let entry = run().get("logon-agent").cloned().unwrap_or_default();
    let mut exe = Vec::new();
    find_files(&prefix.drive_c().join("users"), "logon-agent.exe", &mut exe);
    assert_eq!(exe.len(), 1, "installed under the user's folder: {log}");
    let folder = format!(
        "C:\\{}",
        exe[0]
            .parent()
            .unwrap()
            .strip_prefix(prefix.drive_c())
            .unwrap()
            .to_string_lossy()
            .replace('/', "\\")
    );
    assert!(folder.contains("\\Programs\\logon-agent"), "{folder}");
    // A bare `{dir}` arrives as `<folder>\.` (Windows Installer's folders end in a
    // backslash, which would escape the closing quote).
    assert_eq!(
        entry,
        format!("\"{folder}\\logon-agent.exe\" --greeting \"hello from {folder}\\.\"")
    );
    let mut started = Vec::new();
    for _ in 0..40 {
        started.clear();
        find_files(&prefix.drive_c().join("users"), "agent.log", &mut started);
        if !started.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(started.len(), 1, "started at install: {log}");
    let (code, log) = msiexec(&prefix, &msi, "/x");
    assert_eq!(code, 0, "{log}");
    assert!(!run().contains_key("logon-agent"), "{log}");
    assert!(!exe[0].exists(), "{log}");

    // verify --wine judges the same: the Run entry's whole command line (`{dir}` as
    // `<folder>\.`), the running agent closed before /x (the MSI does not stop it),
    // the entry gone after.
    let (code, v) = verify_run(&msi, &[]);
    assert_eq!(code, 0, "{v:#}");
    let dir = v["install_dir"].as_str().unwrap();
    assert!(dir.contains("\\Programs\\logon-agent"), "{v:#}");
    let entry = detail(&v, "Run entry");
    assert!(
        entry.contains(&format!(
            "\"{dir}\\logon-agent.exe\" --greeting \"hello from {dir}\\.\""
        )),
        "{entry}"
    );
    assert_eq!(step(&v, "msiexec /x")["ok"], true, "{v:#}");
    assert_eq!(step(&v, "Run entry after /x")["ok"], true, "{v:#}");
}

/// A program that stays up, started from a Run entry (the ticker with a `run-key`
/// table instead of its service): verify finds it still running after install, judges
/// that uninstall.cmd ended it, and before the MSI's /x (which does not stop it) ends
/// it as a user closing it would, and says so.
#[test]
fn verify_closes_a_run_entrys_program_before_removing_it() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_crate(&fixture("crates/ticker"), dir.path(), |t| {
        let t = t.split("[package.metadata.winpkg.service]").next().unwrap();
        format!(
            "{t}[package.metadata.winpkg.run-key]\nname = \"ticker & co\"\n\n[package.metadata.winpkg.msi]\nupgrade-code = \"{UPGRADE_CODE}\"\n"
        )
    });
    let r = package(&manifest, &dir.path().join("out"), &["--msi"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v) = verify_run(&zip_path(&r.json()), &[]);
    assert_eq!(code, 0, "{v:#}");
    let entry = detail(&v, "Run entry");
    assert!(entry.contains("`ticker & co` runs \""), "{entry}");
    assert!(entry.contains("ticker.exe is running (pid"), "{entry}");
    let gone = step(&v, "Run entry after uninstall.cmd");
    assert_eq!(gone["ok"], true, "{v:#}");
    let msi = PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    let (code, v) = verify_run(&msi, &[]);
    assert_eq!(code, 0, "{v:#}");
    let closed = detail(&v, "closed before /x");
    assert!(closed.contains("ended ticker.exe"), "{closed}");
    assert_eq!(step(&v, "msiexec /x")["ok"], true, "{v:#}");
    assert_eq!(step(&v, "Run entry after /x")["ok"], true, "{v:#}");
}

/// `verify --wine` on an MSI (in the sandbox): installed by Wine's msiexec, the files
/// as verified offline, the service running as service.json says, installed again (a
/// repair, one product), uninstalled (service and files gone, data kept); what Wine
/// does not apply is said as an info step. A CLI tool's MSI is smoke-tested with
/// `--run` from its install folder.
#[test]
fn verify_wine_installs_repairs_and_uninstalls_an_msi() {
    let dir = tempfile::tempdir().unwrap();
    let msi = service_msi(
        dir.path(),
        "data-dirs = [\"{programdata}\\\\hello-service\\\\data\"]",
    );
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        msi.as_os_str(),
    ]);
    let v = r.json();
    assert_eq!(r.code, 0, "{v:#}");
    let step = |name: &str| {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no step {name}: {v:#}"))
    };
    for s in [
        "msi tables",
        "msiexec /i",
        "installed files",
        "service RUNNING",
        "configuration (sc qc)",
        "process alive",
        "msiexec /i again",
        "msiexec /x",
        "service removed",
        "data kept",
    ] {
        assert_eq!(step(s)["ok"], true, "{s}: {v:#}");
        assert_eq!(step(s)["check"], true, "{s}");
    }
    assert!(
        step("installed files")["detail"]
            .as_str()
            .unwrap()
            .contains("7 files in C:\\Program Files\\hello-service"),
        "{v:#}"
    );
    assert!(
        step("msiexec /i again")["detail"]
            .as_str()
            .unwrap()
            .contains("registered once; `hello-service` is RUNNING"),
        "{v:#}"
    );
    let ignored = step("not applied by Wine")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ignored.contains("sc.exe failure") && ignored.contains("MsiLockPermissionsEx"),
        "{ignored}"
    );
    assert_eq!(step("not applied by Wine")["check"], false);

    a_refused_install_reports_msiexecs_code(dir.path(), &msi);
}

/// An install that Windows Installer refuses (its launch condition false): the step
/// fails with msiexec's own exit code, 1603, not the low 8 bits (67) Linux sees.
fn a_refused_install_reports_msiexecs_code(dir: &Path, msi: &Path) {
    // An install that Windows Installer refuses (its launch condition false): the step
    // fails with msiexec's own exit code, 1603, not the low 8 bits (67) Linux sees.
    let refused = dir.join("refused.msi");
    std::fs::copy(msi, &refused).unwrap();
    let mut p = ::msi::open_rw(&refused).unwrap();
    p.update_rows(
        ::msi::Update::table("LaunchCondition")
            .set("Condition", ::msi::Value::from("WPK_NEVER_SET"))
            .with(::msi::Expr::col("Condition").eq(::msi::Expr::string("NOT WPK_NEWER"))),
    )
    .unwrap();
    p.flush().unwrap();
    drop(p);
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        refused.as_os_str(),
    ]);
    let v = r.json();
    assert_eq!(r.code, 1, "{v:#}");
    let install = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "msiexec /i")
        .unwrap();
    assert_eq!(install["ok"], false, "{v:#}");
    assert!(
        install["detail"]
            .as_str()
            .unwrap()
            .starts_with("exit code 1603,"),
        "{install}"
    );
}

/// `verify --wine --run` on a command-line tool's MSI: run from where msiexec put it.
#[test]
fn verify_wine_runs_a_cli_tools_msi() {
    let cli = tempfile::tempdir().unwrap();
    let manifest = copy_crate(&fixture("crates/twobins"), cli.path(), |t| {
        t + "\n[package.metadata.winpkg.cli]\npath = \"machine\"\n\n[package.metadata.winpkg.msi]\nupgrade-code = \"{0A1B2C3D-4E5F-4061-8273-948596A7B8C9}\"\n"
    });
    let msi = msi_of(&manifest, &cli.path().join("out"));
    let (code, v) = verify_run(&msi, &["--run", "--", "a r g"]);
    assert_eq!(code, 0, "{v:#}");
    let ran = run_step(&v);
    assert!(
        ran["detail"].as_str().unwrap().contains("exited with 0"),
        "{ran}"
    );
    assert!(
        v["install_dir"]
            .as_str()
            .unwrap()
            .ends_with("Program Files\\twobins"),
        "{v:#}"
    );
    // The install folder on the machine's PATH, and off it after msiexec /x.
    on_machine_path_then_off(&v);
}

/// The logon agent as a plain program (no Run entry) for `target`, at version 0.1.0
/// with `description`, packaged with `--msi`.
fn plain_msi(dir: &Path, target: &str, description: &str) -> PathBuf {
    let manifest = copy_crate(&root().join("examples/logon-agent"), dir, |t| {
        let t = t
            .split("[package.metadata.winpkg.run-key]")
            .next()
            .unwrap()
            .replacen(
                "target = \"x86_64-pc-windows-gnu\"",
                &format!("target = \"{target}\""),
                1,
            )
            .replacen(
                "description = \"",
                &format!("description = \"{description} "),
                1,
            );
        t + &format!("\n[package.metadata.winpkg.msi]\nupgrade-code = \"{UPGRADE_CODE}\"\n")
    });
    msi_of(&manifest, &dir.join("out"))
}

/// The x64 and x86 MSIs of one version are two products of one product family (the
/// upgrade code), each with components of its own: installing one replaces the other
/// (one service name, one command on PATH: never two copies), and uninstalling it
/// leaves nothing of either. A rebuilt 0.1.0 whose content changed replaces the
/// installed 0.1.0 the same way (one product, the new files) instead of failing with
/// 1638 or being registered twice.
#[test]
fn an_x86_msi_replaces_the_x64_one_and_a_rebuilt_version_replaces_the_old() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let x64 = plain_msi(a.path(), "x86_64-pc-windows-gnu", "");
    let x86 = plain_msi(b.path(), "i686-pc-windows-gnu", "");
    let rebuilt = plain_msi(c.path(), "x86_64-pc-windows-gnu", "Rebuilt:");
    let prefix = Prefix::create().expect("a Wine prefix");
    let exe64 = prefix
        .drive_c()
        .join("Program Files/logon-agent/logon-agent.exe");
    let exe32 = prefix
        .drive_c()
        .join("Program Files (x86)/logon-agent/logon-agent.exe");
    let (code, log) = msiexec(&prefix, &x64, "/i");
    assert_eq!(code, 0, "{log}");
    assert!(exe64.is_file(), "{log}");
    let first = products(&prefix);
    let (code, log) = msiexec(&prefix, &x86, "/i");
    assert_eq!(code, 0, "{log}");
    assert!(
        exe32.is_file() && !exe64.exists(),
        "the x86 product replaced the x64 one: {log}"
    );
    let second = products(&prefix);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first);
    let (code, log) = msiexec(&prefix, &x86, "/x");
    assert_eq!(code, 0, "{log}");
    assert!(
        !exe32.exists() && !exe64.exists() && products(&prefix).is_empty(),
        "{log}"
    );

    // Another build of 0.1.0 over the installed one: replaced, one product.
    let (code, log) = msiexec(&prefix, &x64, "/i");
    assert_eq!(code, 0, "{log}");
    let before = products(&prefix);
    let (code, log) = msiexec(&prefix, &rebuilt, "/i");
    assert_eq!(code, 0, "{log}");
    let after = products(&prefix);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after, before, "the rebuilt package is a new product");
    let rebuilt_exe = zip_entries(&rebuilt.with_extension("zip"))
        .into_iter()
        .find(|(n, _)| n == "logon-agent.exe")
        .unwrap()
        .1;
    assert!(
        std::fs::read(&exe64).unwrap() == rebuilt_exe,
        "the rebuilt exe (its version resource has the new description) is installed"
    );
    let (code, log) = msiexec(&prefix, &rebuilt, "/x");
    assert_eq!(code, 0, "{log}");
    assert!(!exe64.exists() && products(&prefix).is_empty(), "{log}");
}

/// `verify --wine NEW.msi --against OLD.msi`: webhello 0.1.0's MSI installed first, a
/// file left in its data folder, then 0.2.0's MSI over it: one product, the older one
/// gone, the file still there; then the usual repair and uninstall.
#[test]
fn verify_wine_upgrades_from_the_older_msi_and_keeps_its_data() {
    let tmp = tempfile::tempdir().unwrap();
    let old = package(
        &fixture("crates/webhello/Cargo.toml"),
        &tmp.path().join("old"),
        &["--release", "--msi"],
        &[],
    );
    assert_eq!(old.code, 0, "{}", old.stderr);
    let old_msi = PathBuf::from(old.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    let dir = tmp.path().join("webhello");
    copy_crate(&fixture("crates/webhello"), &dir, |t| {
        t.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1)
    });
    // Its own target folder: the shared one's webhello.exe is other tests'.
    let new = package_in(
        &dir.join("Cargo.toml"),
        Some(&tmp.path().join("target")),
        &tmp.path().join("new"),
        &["--release", "--msi"],
        &[],
    );
    assert_eq!(new.code, 0, "{}", new.stderr);
    let new_msi = PathBuf::from(new.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        new_msi.as_os_str(),
        "--against".as_ref(),
        old_msi.as_os_str(),
    ]);
    let v = r.json();
    assert_eq!(r.code, 0, "{v:#}");
    let older = step(&v, "msiexec /i older");
    assert!(
        older["detail"]
            .as_str()
            .unwrap()
            .contains("a file left in 1 of its data folder(s)"),
        "{older}"
    );
    let upgrade = step(&v, "msiexec /i (upgrade)");
    assert!(
        upgrade["detail"].as_str().unwrap().contains("removed"),
        "{upgrade}"
    );
    let kept = step(&v, "data kept over upgrade");
    assert_eq!(kept["ok"], true, "{kept}");
    for s in [
        "component rules",
        "service RUNNING",
        "msiexec /i again",
        "msiexec /x",
    ] {
        assert_eq!(step(&v, s)["ok"], true, "{s}: {v:#}");
    }
}
