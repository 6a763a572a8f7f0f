//! `cargo winpkg --exe`: a program cargo did not build (a real Go exe), configured by
//! winpkg.toml, packaged as a command-line tool, with its mistakes named.

use std::path::Path;

use crate::common::*;

/// Run `cargo winpkg --exe EXE ARGS` in `dir`.
fn package_exe(dir: &Path, exe: &Path, args: &[&str]) -> Run {
    let mut a: Vec<std::ffi::OsString> = vec!["winpkg".into(), "--exe".into(), exe.into()];
    a.extend(["--format".into(), "json".into()]);
    a.extend(args.iter().map(Into::into));
    let out = winpkg().current_dir(dir).args(a).output().unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// A Go exe as a command-line tool: the zip has the program with version information
/// stamped from winpkg.toml, the PATH helper and scripts, reproducibly; `--name` and
/// `--version` override the file.
#[test]
fn a_go_exe_is_packaged_from_winpkg_toml() {
    let exe = go_exe();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("winpkg.toml"),
        "name = \"hello-go\"\nversion = \"1.2.3\"\ndescription = \"A Go tool\"\n\n[cli]\npath = \"user\"\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &["--output", "dist"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let p = &v["packages"][0];
    assert_eq!(p["package"], "hello-go");
    assert_eq!(p["version"], "1.2.3");
    assert_eq!(
        p["target"], "x86_64-pc-windows-gnu",
        "from the PE's machine"
    );
    let zip = dir
        .path()
        .join("dist/hello-go-1.2.3-x86_64-pc-windows-gnu.zip");
    assert_eq!(dir.path().join(p["archive"]["path"].as_str().unwrap()), zip);
    let names: Vec<String> = zip_entries(&zip).into_iter().map(|(n, _)| n).collect();
    for want in [
        "hello-go.exe",
        "install.cmd",
        "uninstall.cmd",
        "service.json",
        "SHA256SUMS",
        "winpkg/winpkg-path.exe",
    ] {
        assert!(names.iter().any(|n| n == want), "{want}: {names:?}");
    }
    // The packaged exe carries the version information; the original is untouched.
    let packed = dir.path().join("packed.exe");
    std::fs::write(
        &packed,
        zip_entries(&zip)
            .into_iter()
            .find(|(n, _)| n == "hello-go.exe")
            .unwrap()
            .1,
    )
    .unwrap();
    let (_, c) = check_json(&[&packed], &[]);
    let version = &c["files"][0]["version"];
    assert_eq!(version["file_version"], "1.2.3.0", "{version}");
    let strings = version["strings"].to_string();
    assert!(
        strings.contains(r#"["ProductName","hello-go"]"#)
            && strings.contains(r#"["FileDescription","A Go tool"]"#),
        "{version}"
    );
    let (_, original) = check_json(&[&exe], &[]);
    assert!(original["files"][0]["version"].is_null());
    // The same zip again, byte for byte.
    let again = package_exe(dir.path(), &exe, &["--output", "dist2"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        std::fs::read(&zip).unwrap()
            == std::fs::read(
                dir.path()
                    .join("dist2/hello-go-1.2.3-x86_64-pc-windows-gnu.zip")
            )
            .unwrap()
    );
    // The command line overrides the file.
    let r = package_exe(
        dir.path(),
        &exe,
        &["--output", "dist3", "--name", "hg", "--version", "2.0.0"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        dir.path()
            .join("dist3/hg-2.0.0-x86_64-pc-windows-gnu.zip")
            .is_file()
    );
}

/// Mistakes stop before anything is written, naming the file and the way forward.
#[test]
fn prebuilt_mistakes_are_named() {
    let exe = go_exe();
    let dir = tempfile::tempdir().unwrap();
    // No version anywhere.
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--version 1.2.3"), "{}", r.stderr);
    // Not a version.
    let r = package_exe(dir.path(), &exe, &["--version", "1.2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("`1.2` is not a version"), "{}", r.stderr);
    // A DLL, and a file that is no PE.
    let r = package_exe(
        dir.path(),
        &fixture("pe/bundle-x64/thirdparty.dll"),
        &["--version", "1.0.0"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is a DLL"), "{}", r.stderr);
    let text = dir.path().join("notes.exe");
    std::fs::write(&text, "not a program").unwrap();
    let r = package_exe(dir.path(), &text, &["--version", "1.0.0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("notes.exe"), "{}", r.stderr);
    // An unknown key in winpkg.toml: named with its line.
    std::fs::write(
        dir.path().join("winpkg.toml"),
        "version = \"1.0.0\"\n\n[service]\nname = \"x\"\nstart-tpye = \"auto\"\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("winpkg.toml:5") && r.stderr.contains("service.start-tpye"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("target").exists(), "nothing written");
    // Help speaks winpkg.toml's language: its file name and top-level tables, never
    // Cargo.toml's [package.metadata.winpkg...].
    std::fs::write(dir.path().join("winpkg.toml"), "version = \"1.0.0\"\n").unwrap();
    let r = package_exe(dir.path(), &exe, &["--msi"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("add to winpkg.toml") && r.stderr.contains("\n[msi]\nupgrade-code = \"{"),
        "{}",
        r.stderr
    );
    let r = package_exe(dir.path(), &exe, &["--sign"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no [sign] table"), "{}", r.stderr);
    std::fs::write(
        dir.path().join("winpkg.toml"),
        "version = \"1.0.0\"\nrun-key = 1\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("takes a table: [run-key]"),
        "{}",
        r.stderr
    );
    std::fs::write(
        dir.path().join("winpkg.toml"),
        "version = \"1.0.0\"\n[service]\nname = \"x\"\nrecovery = 1\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("takes a table: [service.recovery]"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("package.metadata"), "{}", r.stderr);
    assert!(!dir.path().join("target").exists(), "nothing written");
    target_mistakes_are_named(dir.path(), &exe);
}

/// Targets of another architecture than the exe's, several targets, and `--version`
/// without `--exe`, are refused.
fn target_mistakes_are_named(dir: &Path, exe: &Path) {
    // The Go exe is x64: a target of another architecture would mislabel the package
    // (an x86 MSI folder, an i686 zip name), from the command line or winpkg.toml.
    std::fs::write(dir.join("winpkg.toml"), "version = \"1.0.0\"\n").unwrap();
    let r = package_exe(dir, exe, &["--target", "i686-pc-windows-gnu"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("x64 program") && r.stderr.contains("i686-pc-windows-gnu"),
        "{}",
        r.stderr
    );
    std::fs::write(
        dir.join("winpkg.toml"),
        "version = \"1.0.0\"\ntarget = \"aarch64-pc-windows-msvc\"\n",
    )
    .unwrap();
    let r = package_exe(dir, exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("aarch64-pc-windows-msvc"), "{}", r.stderr);
    // One exe is one program for one machine: several targets are a mistake.
    std::fs::write(dir.join("winpkg.toml"), "version = \"1.0.0\"\n").unwrap();
    let r = package_exe(
        dir,
        exe,
        &[
            "--target",
            "x86_64-pc-windows-gnu",
            "--target",
            "x86_64-pc-windows-msvc",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("one --target"), "{}", r.stderr);
    assert!(!dir.join("target").exists(), "nothing written");
    // --version alone prints the tool's version; with a value but no --exe it is a mistake.
    let r = run(["winpkg", "--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("cargo-winpkg "), "{}", r.stdout);
    let r = run(["winpkg", "--version", "1.0.0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A prebuilt exe that cannot be stamped (already signed: a new resource would break
/// its signature) ships as built, and the run says why.
#[test]
fn an_exe_that_cannot_be_stamped_ships_as_built_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let signed = fixture("pe/c-hello-x64-signed.exe");
    let r = package_exe(
        dir.path(),
        &signed,
        &["--version", "1.0.0", "--output", "d"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("ships without version information: it cannot be stamped")
            && r.stderr.contains("already signed"),
        "{}",
        r.stderr
    );
    let zip = dir
        .path()
        .join(r.json()["packages"][0]["archive"]["path"].as_str().unwrap());
    let packed = zip_entries(&zip)
        .into_iter()
        .find(|(n, _)| n == "c-hello-x64-signed.exe")
        .unwrap()
        .1;
    assert!(
        packed == std::fs::read(&signed).unwrap(),
        "the signed exe, unchanged"
    );
}

/// `exe-name` ships the exe under another name (esbuild's npm package has
/// `esbuild-x64.exe`; the command must be `esbuild`): the zip, service.json, the
/// service's scripts, the MSI and the winget/scoop manifests all name the new file.
#[test]
fn exe_name_renames_the_shipped_program_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("esbuild-x64.exe");
    std::fs::copy(go_exe(), &exe).unwrap();
    std::fs::write(
        dir.path().join("winpkg.toml"),
        "name = \"esbuild\"\nversion = \"0.28.2\"\ndescription = \"A bundler\"\nlicense = \"MIT\"\nhomepage = \"https://example.com\"\nexe-name = \"esbuild.exe\"\n\n[service]\nname = \"esbuild\"\nargs = [\"--serve\"]\n\n[msi]\nupgrade-code = \"{6F1C2A3B-1111-4222-8333-944455556666}\"\n\n[publish]\nurl = \"https://example.com/dl\"\npublisher = \"Example\"\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &["--output", "dist", "--msi"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let zip = dir
        .path()
        .join(v["packages"][0]["archive"]["path"].as_str().unwrap());
    let entries = zip_entries(&zip);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"esbuild.exe") && !names.contains(&"esbuild-x64.exe"),
        "{names:?}"
    );
    let text = |name: &str| {
        String::from_utf8(entries.iter().find(|(n, _)| n == name).unwrap().1.clone()).unwrap()
    };
    assert!(
        text("service.json").contains("\"exe\": \"esbuild.exe\""),
        "{}",
        text("service.json")
    );
    assert!(text("install.cmd").contains("esbuild.exe"));
    assert!(!text("install.cmd").contains("esbuild-x64"));
    let msi = dir
        .path()
        .join(v["packages"][0]["msi"]["path"].as_str().unwrap());
    let mut p = msi::open(&msi).unwrap();
    let files: Vec<String> = p
        .select_rows(msi::Select::table("File"))
        .unwrap()
        .map(|r| r["FileName"].as_str().unwrap().to_string())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("|esbuild.exe")),
        "{files:?}"
    );
    drop(p);
    assert_msi_rules_pass(&msi);
    let manifests: Vec<String> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| std::fs::read_to_string(dir.path().join(m.as_str().unwrap())).unwrap())
        .collect();
    assert!(
        manifests.iter().any(|m| m.contains("esbuild.exe")),
        "{manifests:?}"
    );
    assert!(
        !manifests.iter().any(|m| m.contains("esbuild-x64")),
        "{manifests:?}"
    );
}

/// winpkg.toml's mistakes speak winpkg.toml's language: `bin` (a Cargo.toml key) is
/// refused with why and what to write instead, at its line; the unknown-key help lists
/// winpkg.toml's keys (name, version, description...) and none that mean nothing there.
#[test]
fn winpkg_toml_errors_name_its_own_keys() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("esbuild-x64.exe");
    std::fs::copy(go_exe(), &exe).unwrap();
    let toml = dir.path().join("winpkg.toml");
    std::fs::write(
        &toml,
        "name = \"esbuild\"\nversion = \"0.28.2\"\nbin = \"esbuild\"\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("`bin` means nothing in winpkg.toml")
            && r.stderr.contains("exe-name = \"NAME.exe\"")
            && r.stderr.contains("winpkg.toml:3"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("package.metadata"), "{}", r.stderr);
    std::fs::write(
        &toml,
        "name = \"esbuild\"\nversion = \"0.28.2\"\ndescripton = \"x\"\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("did you mean `description`?"),
        "{}",
        r.stderr
    );
    for absent in ["crt-static", "reproducible", "builder", " bin,"] {
        assert!(!r.stderr.contains(absent), "{absent}: {}", r.stderr);
    }
    std::fs::write(
        &toml,
        "name = \"esbuild\"\nversion = \"0.28.2\"\nexe-name = \"tools/esbuild.exe\"\n",
    )
    .unwrap();
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("without folders"), "{}", r.stderr);
    std::fs::write(&toml, "name = \"esbuild\"\nversion = \"0.28.2\"\n\n[publish]\nurl = \"https://example.com/dl\"\npublisher = \"Example\"\n").unwrap();
    let r = package_exe(dir.path(), &exe, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("set `license` in winpkg.toml"),
        "{}",
        r.stderr
    );
}
