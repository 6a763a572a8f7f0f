//! The MSI on Wine's Windows Installer: install (the service registered and running),
//! a major upgrade (one product, the new version running), a refused downgrade, and
//! uninstall (service and files gone).

use super::*;

const UPGRADE_CODE: &str = "{6F1C2A3B-1111-4222-8333-944455556666}";

/// The example service at `version`, packaged with `--msi`: the MSI's path.
fn example_msi(dir: &Path, version: &str) -> PathBuf {
    let manifest = copy_example_with(dir, |t| {
        t.replacen(
            "version = \"0.1.0\"",
            &format!("version = \"{version}\""),
            1,
        ) + &format!("\n[package.metadata.winpkg.msi]\nupgrade-code = \"{UPGRADE_CODE}\"\n")
    });
    let r = package(&manifest, &dir.join("out"), &["--release", "--msi"], &[]);
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

/// The installed products (their codes: the Uninstall key's subkeys that are GUIDs).
fn products(prefix: &Prefix) -> Vec<String> {
    prefix
        .registry_subkeys(
            "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
        )
        .unwrap()
        .into_iter()
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
#[test]
fn the_msi_installs_where_the_admin_says() {
    let dir = tempfile::tempdir().unwrap();
    let msi = example_msi(dir.path(), "0.1.0");
    let prefix = Prefix::create().expect("a Wine prefix");
    let (code, log) = msiexec_with(&prefix, &msi, "/i", &["INSTALLDIR=C:\\Apps\\hello-svc"]);
    assert_eq!(code, 0, "{log}");
    let folder = prefix.drive_c().join("Apps/hello-svc");
    assert!(folder.join("hello-service.exe").is_file(), "{log}");
    assert!(
        !prefix
            .drive_c()
            .join("Program Files/hello-service")
            .exists(),
        "{log}"
    );
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
    // Wine's msiexec resolves INSTALLDIR anew at uninstall (it would look in Program
    // Files), so the folder is given again; Windows finds it from the product's
    // registration. (Remembering it in the MSI itself is left for later.)
    let (code, log) = msiexec_with(&prefix, &msi, "/x", &["INSTALLDIR=C:\\Apps\\hello-svc"]);
    assert_eq!(code, 0, "{log}");
    assert!(!folder.join("hello-service.exe").exists(), "{log}");
}
