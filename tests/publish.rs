//! `[package.metadata.winpkg.publish]`: the winget and scoop manifests of a run, with
//! the SHA256 of the files just written, validated against schemas written from the
//! published winget 1.10.0 and scoop rules (tests/schemas).

use std::path::{Path, PathBuf};

use crate::common::*;

const PUBLISH: &str = "\n[package.metadata.winpkg.publish]\nurl = \"https://github.com/acme/hello/releases/download/v{version}/\"\npublisher = \"ACME Labs\"\n";

/// check-jsonschema (scripts/setup.sh installs it) on `file` against tests/schemas/`schema`.
fn validates(schema: &str, file: &Path) {
    let tool = root().join("target/winpkg-test-tools/bin/check-jsonschema");
    let tool = if tool.is_file() {
        tool
    } else {
        which::which("check-jsonschema").expect("check-jsonschema: run scripts/setup.sh")
    };
    let out = std::process::Command::new(tool)
        .arg("--schemafile")
        .arg(root().join("tests/schemas").join(schema))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} against {schema}: {}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sha256_of(p: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// A YAML line's value (`Key: 'value'`), unquoted.
fn values<'a>(yaml: &'a str, key: &str) -> Vec<&'a str> {
    yaml.lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix(&format!("{key}: "))
        })
        .map(|v| v.trim_matches('\''))
        .collect()
}

/// The scoop manifest: each target's zip with its hash, autoupdate's URL templates, the
/// program as `bin`, checkver from the GitHub repository.
fn scoop_has_each_zip(scoop: &Path, v: &serde_json::Value) {
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(scoop).unwrap()).unwrap();
    for (word, p) in ["64bit", "32bit"]
        .iter()
        .zip(v["packages"].as_array().unwrap())
    {
        let zip = PathBuf::from(p["archive"]["path"].as_str().unwrap());
        assert_eq!(s["architecture"][word]["hash"], sha256_of(&zip), "{word}");
        assert!(
            s["autoupdate"]["architecture"][word]["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!(
                    "v$version/hello-service-$version-{}.zip",
                    p["target"].as_str().unwrap()
                )),
            "{s:#}"
        );
    }
    assert_eq!(s["bin"], "hello-service.exe");
    assert_eq!(s["checkver"]["github"], "https://github.com/acme/hello");
}

/// The example service for two targets with `--msi`: one winget manifest set (an msi
/// installer per architecture, each with its MSI's ProductCode) and one scoop manifest
/// (a zip per architecture), every hash the file's, every URL the release folder's.
#[test]
fn a_service_publishes_its_msis_to_winget_and_its_zips_to_scoop() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_example_with(&dir.path().join("crate"), |t| {
        t + "\n[package.metadata.winpkg.msi]\nupgrade-code = \"{6F1C2A3B-1111-4222-8333-944455556666}\"\n"
            + PUBLISH
    });
    let out = dir.path().join("out");
    let r = package(
        &manifest,
        &out,
        &[
            "--release",
            "--msi",
            "--target",
            "x86_64-pc-windows-gnu",
            "--target",
            "i686-pc-windows-gnu",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let written: Vec<PathBuf> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    let winget = out.join("winget");
    let scoop = out.join("scoop/hello-service.json");
    let expected = vec![
        winget.join("ACMELabs.hello-service.installer.yaml"),
        winget.join("ACMELabs.hello-service.locale.en-US.yaml"),
        winget.join("ACMELabs.hello-service.yaml"),
        scoop.clone(),
    ];
    assert_eq!(written, expected);
    validates("winget-installer-1.10.0.json", &expected[0]);
    validates("winget-defaultLocale-1.10.0.json", &expected[1]);
    validates("winget-version-1.10.0.json", &expected[2]);
    validates("scoop-manifest.json", &scoop);
    validates("scoop-published.schema.json", &scoop);

    let installer = std::fs::read_to_string(&expected[0]).unwrap();
    assert_eq!(values(&installer, "InstallerType"), ["msi", "msi"]);
    assert_eq!(values(&installer, "Architecture"), ["x64", "x86"]);
    let urls = values(&installer, "InstallerUrl");
    let hashes = values(&installer, "InstallerSha256");
    let codes = values(&installer, "ProductCode");
    for (i, p) in v["packages"].as_array().unwrap().iter().enumerate() {
        let msi = PathBuf::from(p["msi"]["path"].as_str().unwrap());
        let name = msi.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            urls[i],
            format!("https://github.com/acme/hello/releases/download/v0.1.0/{name}")
        );
        assert_eq!(hashes[i], sha256_of(&msi).to_uppercase());
        assert_eq!(codes[i], p["msi"]["product_code"].as_str().unwrap());
        // The MSI's own ProductCode (msiinfo, independent of us).
        let props = std::process::Command::new("msiinfo")
            .arg("export")
            .arg(&msi)
            .arg("Property")
            .output()
            .unwrap();
        let props = String::from_utf8(props.stdout).unwrap();
        assert!(
            props.contains(&format!("ProductCode\t{}", codes[i])),
            "{props}"
        );
    }
    assert_ne!(codes[0], codes[1], "the x64 and x86 MSIs are two products");
    assert_eq!(
        values(&installer, "UpgradeCode"),
        ["{6F1C2A3B-1111-4222-8333-944455556666}"; 2]
    );

    scoop_has_each_zip(&scoop, &v);
}

/// A command-line tool publishes its zip to winget as a portable program (per user,
/// with its command alias), and its `publish` mistakes are named before the build.
#[test]
fn a_cli_tool_publishes_a_portable_zip_and_mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_crate(&fixture("crates/twobins"), &dir.path().join("crate"), |t| {
        t.replacen(
            "[package]",
            "[package]\ndescription = \"Two programs, one shipped\"\nlicense = \"MIT\"",
            1,
        ) + "\n[package.metadata.winpkg.cli]\npath = \"user\"\n"
            + &PUBLISH
                .replace("ACME Labs", "O'Brien & Sons")
                .replace("github.com/acme/hello", "example.com/dl")
            + "identifier = \"OBrien.Twobins\"\nhomepage = \"https://example.com/twobins\"\n"
    });
    let out = dir.path().join("out");
    let r = package(&manifest, &out, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let installer = out.join("winget/OBrien.Twobins.installer.yaml");
    validates("winget-installer-1.10.0.json", &installer);
    validates(
        "winget-defaultLocale-1.10.0.json",
        &out.join("winget/OBrien.Twobins.locale.en-US.yaml"),
    );
    validates("scoop-manifest.json", &out.join("scoop/twobins.json"));
    validates(
        "scoop-published.schema.json",
        &out.join("scoop/twobins.json"),
    );
    let text = std::fs::read_to_string(&installer).unwrap();
    assert_eq!(values(&text, "InstallerType"), ["zip"]);
    assert_eq!(values(&text, "NestedInstallerType"), ["portable"]);
    assert_eq!(values(&text, "Scope"), ["user"]);
    let exe = r.json()["packages"][0]["exe"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(values(&text, "RelativeFilePath"), [exe.as_str()]);
    let locale =
        std::fs::read_to_string(out.join("winget/OBrien.Twobins.locale.en-US.yaml")).unwrap();
    assert!(locale.contains("Publisher: 'O''Brien & Sons'"), "{locale}");
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("scoop/twobins.json")).unwrap()).unwrap();
    assert_eq!(s["checkver"]["url"], "https://example.com/twobins");

    publish_mistakes_are_named(dir.path());
}

/// Mistakes in the publish table stop the run before the build, naming the key.
fn publish_mistakes_are_named(dir: &Path) {
    // Mistakes: stopped before the build, the key named.
    for (table, key) in [
        (
            "[package.metadata.winpkg.publish]\npublisher = \"x\"\n",
            "publish.url",
        ),
        (
            "[package.metadata.winpkg.publish]\nurl = \"https://e.com/\"\npublisher = \"xy\"\nidentifier = \"one part\"\n",
            "publish.identifier",
        ),
        (
            "[package.metadata.winpkg.publish]\nurl = \"ftp://e.com/\"\npublisher = \"x\"\n",
            "publish.url",
        ),
        (
            "[package.metadata.winpkg.publish]\nurl = \"https://e.com/{version}/\"\npublisher = \"xy\"\n",
            "publish.homepage",
        ),
        // The winget schema's limits: a publisher of one character, a description of
        // two (winget 1.10.0: Publisher 2+, ShortDescription 3+).
        (
            "[package.metadata.winpkg.publish]\nurl = \"https://e.com/\"\npublisher = \"x\"\nhomepage = \"https://e.com\"\n",
            "publish.publisher",
        ),
        (
            "[package.metadata.winpkg.publish]\nurl = \"https://e.com/\"\npublisher = \"xy\"\nhomepage = \"https://e.com\"\nlicense = \"MI\"\n",
            "publish.license",
        ),
    ] {
        let bad = copy_crate(&fixture("crates/twobins"), &dir.join("bad"), |t| {
            t.replacen(
                "[package]",
                "[package]\ndescription = \"ddd\"\nlicense = \"MIT\"",
                1,
            ) + "\n"
                + table
        });
        let r = package(&bad, &dir.join("bad-out"), &[], &[]);
        assert_eq!(r.code, 2, "{table}: {}", r.stderr);
        assert!(r.stderr.contains(key), "{key}: {}", r.stderr);
        assert!(
            !r.stderr.contains("Compiling"),
            "before the build: {}",
            r.stderr
        );
    }
}

/// Scoop's autoupdate rewrites only the fields it lists: with `root-dir = true` the
/// zip's folder (extract_dir) names the version, so it is in autoupdate with
/// `$version`, and filling in this version gives back this manifest's own fields. A
/// description winget's schema refuses (under three characters) stops the run before
/// the build, naming it.
#[test]
fn scoop_autoupdate_covers_every_versioned_field_and_short_strings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_crate(&fixture("crates/twobins"), &dir.path().join("crate"), |t| {
        t.replacen(
            "[package]",
            "[package]\ndescription = \"Two programs, one shipped\"\nlicense = \"MIT\"",
            1,
        )
        .replacen(
            "[package.metadata.winpkg]",
            "[package.metadata.winpkg]\nroot-dir = true",
            1,
        ) + "\n[package.metadata.winpkg.cli]\npath = \"user\"\n"
            + PUBLISH
    });
    let out = dir.path().join("out");
    let r = package(&manifest, &out, &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("scoop/twobins.json")).unwrap()).unwrap();
    let now = &s["architecture"]["64bit"];
    let next = &s["autoupdate"]["architecture"]["64bit"];
    assert!(
        now["extract_dir"].as_str().unwrap().contains("0.1.0"),
        "{s:#}"
    );
    for field in ["url", "extract_dir"] {
        let template = next[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {s:#}"));
        assert!(template.contains("$version"), "{field}: {template}");
        assert_eq!(
            template.replace("$version", "0.1.0"),
            now[field].as_str().unwrap()
        );
    }
    validates(
        "scoop-published.schema.json",
        &out.join("scoop/twobins.json"),
    );

    let bad = copy_crate(&fixture("crates/twobins"), &dir.path().join("bad"), |t| {
        t.replacen(
            "[package]",
            "[package]\ndescription = \"ab\"\nlicense = \"MIT\"",
            1,
        ) + PUBLISH
    });
    let r = package(&bad, &dir.path().join("bad-out"), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("the description `ab` is 2 characters")
            && r.stderr.contains("`description` in [package]"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Compiling"), "{}", r.stderr);
}
