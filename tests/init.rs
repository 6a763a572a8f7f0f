//! `cargo winpkg init` on a fresh crate, then the build it sets up.

use crate::common::*;

fn fresh_crate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_twobins(dir.path());
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "# my crate\n[package]\nname = \"twobins\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndefault-run = \"second\"\n\n[workspace]\n",
    )
    .unwrap();
    dir
}

#[test]
fn init_adds_a_table_that_builds_and_refuses_to_run_twice() {
    let d = fresh_crate();
    let manifest = d.path().join("Cargo.toml");
    let before = std::fs::read_to_string(&manifest).unwrap();
    let r = run([
        "init".as_ref(),
        "--manifest-path".as_ref(),
        manifest.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        after.starts_with(&before),
        "the rest of the file is untouched"
    );
    assert!(after.contains("[package.metadata.winpkg]"));
    assert!(after.contains("target = \"x86_64-pc-windows-gnu\""));
    assert!(
        after.contains("bin = \"second\"   # one of: first, second"),
        "{after}"
    );
    assert!(
        !after.contains("[package.metadata.winpkg.service]"),
        "no windows-service dependency"
    );

    // An upgrade code for --msi, a fresh GUID.
    let code = after
        .lines()
        .find_map(|l| l.strip_prefix("upgrade-code = \""))
        .unwrap_or_else(|| panic!("an upgrade code in {after}"));
    assert!(
        code.len() == 39 && code.starts_with('{') && code.ends_with("}\""),
        "{code}"
    );

    // The table works as written: build, check and package, with the MSI too.
    let out = tempfile::tempdir().unwrap();
    let r = package(&manifest, out.path(), &["--msi"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.json()["packages"][0]["msi"]["path"].is_string(),
        "{}",
        r.stdout
    );
    // Not a release build: the profile is in the name, so it cannot replace the release zip.
    assert!(zip_path(&r.json()).ends_with("twobins-0.1.0-x86_64-pc-windows-gnu-dev.zip"));

    let r = run([
        "init".as_ref(),
        "--manifest-path".as_ref(),
        manifest.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("already has a [package.metadata.winpkg] table"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&manifest).unwrap(),
        after,
        "unchanged"
    );
}

#[test]
fn init_with_service_writes_a_valid_service_table() {
    let d = fresh_crate();
    let manifest = d.path().join("Cargo.toml");
    let r = run([
        "init".as_ref(),
        "--service".as_ref(),
        "--manifest-path".as_ref(),
        manifest.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("[package.metadata.winpkg.service]\n"));
    assert!(text.contains("name = \"twobins\""));
    assert!(
        text.contains("mode = \\\"shawl\\\"") || text.contains("run under shawl"),
        "{text}"
    );
    // The build reads it without complaint (validation happens before compiling).
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .unwrap();
    let cfg = cargo_winpkg::pipeline::plan::package_config(&meta, &meta.packages[0]).unwrap();
    let svc = cfg.service.expect("a service table");
    let origin = cargo_winpkg::config::Origin {
        kind: cargo_winpkg::config::OriginKind::Package,
        manifest: manifest.clone(),
    };
    let (svc, advice) =
        cargo_winpkg::autostart::service::from_config(&svc, "second.exe", Some(false), &origin)
            .unwrap();
    // shawl logs where LocalService may write: no advice to set log-dir.
    assert_eq!(
        svc.log_dir.as_deref(),
        Some("{programdata}\\twobins\\logs"),
        "{text}"
    );
    assert!(advice.iter().all(|a| a.key != "service.log-dir"), "{text}");
}
