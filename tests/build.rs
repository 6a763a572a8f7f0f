//! `cargo winpkg [--release]`: real cross-builds of the fixture crates in
//! fixtures/crates for x86_64-pc-windows-gnu (mingw-w64 links them), sharing one target
//! directory so that each crate compiles once per test run.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

fn manifest(krate: &str) -> PathBuf {
    fixture(&format!("crates/{krate}/Cargo.toml"))
}

/// `cargo-winpkg winpkg --manifest-path M --target-dir T --format json ARGS...`
fn build(manifest: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "winpkg".into(),
        "--manifest-path".into(),
        manifest.into(),
        "--target-dir".into(),
        shared_target().into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(Into::into));
    run(args)
}

fn package_names(v: &Value) -> Vec<String> {
    v["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["package"].as_str().unwrap().to_string())
        .collect()
}

fn exe_of(v: &Value, pkg: &str) -> PathBuf {
    let p = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == pkg)
        .unwrap_or_else(|| panic!("no package {pkg} in {v:#}"));
    PathBuf::from(p["exe"].as_str().unwrap())
}

fn imported_dlls(v: &Value, pkg: &str) -> Vec<String> {
    let p = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == pkg)
        .unwrap();
    p["check"]["files"][0]["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dll"].as_str().unwrap().to_ascii_lowercase())
        .collect()
}

#[test]
fn virtual_workspace_builds_members_with_a_table_and_p_selects() {
    let r = build(&manifest("ws"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(package_names(&v), ["alpha", "beta"], "gamma has no table");
    // ... and the run says so instead of leaving it out silently.
    assert!(
        r.stderr.contains(
            "skipping workspace member `gamma`: it has no [package.metadata.winpkg] table"
        ),
        "{}",
        r.stderr
    );
    for pkg in ["alpha", "beta"] {
        let exe = exe_of(&v, pkg);
        assert!(
            exe.ends_with(format!("x86_64-pc-windows-gnu/debug/{pkg}.exe")),
            "{}",
            exe.display()
        );
        let head = std::fs::read(&exe).unwrap();
        assert!(head.starts_with(b"MZ"), "a real PE file");
    }
    assert_eq!(v["ok"], true);
    // The target came from [workspace.metadata.winpkg].
    assert_eq!(v["packages"][0]["target"], "x86_64-pc-windows-gnu");
    // Stage lines go to stderr with their timing.
    assert!(r.stderr.contains("Building alpha v0.1.0"), "{}", r.stderr);
    assert!(r.stderr.contains("Checked"), "{}", r.stderr);

    let r = build(&manifest("ws"), &["-p", "beta"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(package_names(&r.json()), ["beta"]);

    let r = build(&manifest("ws"), &["-p", "nope"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("the members are: alpha, beta, gamma"),
        "{}",
        r.stderr
    );
}

#[test]
fn workspace_defaults_are_overridden_key_by_key() {
    // ws sets min-windows = "8" for all; alpha overrides it with "10", beta does not.
    let v = cargo_winpkg_config("ws/alpha");
    assert_eq!(v.min_windows.map(|r| r.as_str()), Some("10"));
    assert_eq!(v.target.as_deref(), Some("x86_64-pc-windows-gnu"));
    let v = cargo_winpkg_config("ws/beta");
    assert_eq!(v.min_windows.map(|r| r.as_str()), Some("8"));
}

fn cargo_winpkg_config(member: &str) -> cargo_winpkg::config::Config {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest("ws"))
        .no_deps()
        .exec()
        .unwrap();
    let name = member.rsplit('/').next().unwrap();
    let pkg = meta
        .packages
        .iter()
        .find(|p| p.name.as_str() == name)
        .unwrap();
    cargo_winpkg::pipeline::plan::package_config(&meta, pkg).unwrap()
}

#[test]
fn features_reach_the_build() {
    let m = manifest("ws");
    let r = build(&m, &["-p", "alpha"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!imported_dlls(&r.json(), "alpha").contains(&"user32.dll".to_string()));
    let r = build(&m, &["-p", "alpha", "--features", "beep", "--release"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert!(
        imported_dlls(&v, "alpha").contains(&"user32.dll".to_string()),
        "{v:#}"
    );
    assert!(exe_of(&v, "alpha").ends_with("x86_64-pc-windows-gnu/release/alpha.exe"));
}

#[test]
fn the_configured_bin_is_packaged_and_bin_overrides_it() {
    let m = manifest("twobins");
    let r = build(&m, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(exe_of(&r.json(), "twobins").ends_with("second.exe"));
    let r = build(&m, &["--bin", "first"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(exe_of(&r.json(), "twobins").ends_with("first.exe"));
    let r = build(&m, &["--bin", "third"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("its binaries are: first, second"),
        "{}",
        r.stderr
    );
}

/// A throwaway crate with the given winpkg table and two binaries.
fn temp_crate(table: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"tmpcrate\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n{table}"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("src/bin")).unwrap();
    std::fs::write(dir.path().join("src/bin/one.rs"), "fn main() {}\n").unwrap();
    std::fs::write(dir.path().join("src/bin/two.rs"), "fn main() {}\n").unwrap();
    dir
}

#[test]
fn two_bins_and_no_choice_lists_the_choices() {
    let d = temp_crate("[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\n");
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("several binaries"), "{}", r.stderr);
    assert!(r.stderr.contains("one, two"), "{}", r.stderr);
}

#[test]
fn unknown_keys_name_the_file_line_and_closest_key() {
    let d = temp_crate(
        "[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\ntagret = \"x\"\n",
    );
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("unknown key `tagret`"), "{}", r.stderr);
    assert!(r.stderr.contains("Cargo.toml:10"), "{}", r.stderr);
    assert!(
        r.stderr.contains("package.metadata.winpkg.tagret"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("did you mean `target`?"), "{}", r.stderr);

    let d = temp_crate(
        "[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\n\n[package.metadata.winpkg.service]\nname = \"x\"\nstrat = \"auto\"\n",
    );
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("package.metadata.winpkg.service.strat"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Cargo.toml:13"), "{}", r.stderr);
    assert!(r.stderr.contains("did you mean `start`?"), "{}", r.stderr);
}

#[test]
fn mistyped_values_say_what_the_key_takes() {
    let d = temp_crate("[package.metadata.winpkg]\ncrt-static = \"yes\"\n");
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("package.metadata.winpkg.crt-static"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("true or false"), "{}", r.stderr);
    assert!(r.stderr.contains("Cargo.toml:9"), "{}", r.stderr);

    let d = temp_crate("[package.metadata.winpkg]\nmin-windows = \"9\"\n");
    let r = build(&d.path().join("Cargo.toml"), &["--bin", "one"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown Windows release `9`"),
        "{}",
        r.stderr
    );

    let d = temp_crate("[package.metadata.winpkg]\ndeny = [\"missing-dlls\"]\n");
    let r = build(&d.path().join("Cargo.toml"), &["--bin", "one"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown diagnostic code `missing-dlls`"),
        "{}",
        r.stderr
    );

    let d = temp_crate("[package.metadata.winpkg]\nallow = [{ name = \"x.dll\" }]\n");
    let r = build(&d.path().join("Cargo.toml"), &["--bin", "one"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("allow[0]"), "{}", r.stderr);
    assert!(r.stderr.contains("reason"), "{}", r.stderr);
}

#[test]
fn a_missing_linker_is_named_before_the_build() {
    // PATH with only the folder of rustc/cargo (rustup's proxies): no mingw-w64.
    let rustc = cargo_winpkg::pipeline::preflight::find_program("rustc").expect("rustc on PATH");
    let bin_dir = rustc.parent().unwrap();
    assert!(!bin_dir.join("x86_64-w64-mingw32-gcc").exists());
    let out = winpkg()
        .args(["winpkg", "--target-dir"])
        .arg(shared_target())
        .arg("--manifest-path")
        .arg(manifest("twobins"))
        .env("PATH", bin_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`x86_64-w64-mingw32-gcc`"), "{stderr}");
    assert!(
        stderr.contains("apt-get install gcc-mingw-w64-x86-64"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Compiling"),
        "stopped before the build: {stderr}"
    );
}

#[test]
fn a_target_that_is_not_installed_gets_the_rustup_command() {
    let r = build(
        &manifest("twobins"),
        &["--target", "aarch64-pc-windows-gnullvm"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("rustup target add aarch64-pc-windows-gnullvm"),
        "{}",
        r.stderr
    );
    let r = build(
        &manifest("twobins"),
        &["--target", "x86_64-unknown-linux-gnu"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a Windows target"), "{}", r.stderr);
}

#[test]
fn msvc_on_linux_points_to_cargo_xwin() {
    // The msvc std is installed by scripts/setup.sh; linking it needs MSVC's libraries.
    let r = build(
        &manifest("twobins"),
        &["--target", "x86_64-pc-windows-msvc"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cargo-xwin"), "{}", r.stderr);
    let r = build(
        &manifest("twobins"),
        &[
            "--target",
            "x86_64-pc-windows-msvc",
            "--builder",
            "cargo-xwin",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cargo install cargo-xwin"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_compile_error_passes_through_with_cargos_exit_code() {
    let r = build(&manifest("broken"), &[]);
    assert_eq!(r.code, 101, "{}", r.stderr);
    assert!(
        r.stderr.contains("error[E0308]: mismatched types"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty() || !r.stdout.contains("\"packages\""));
}

#[test]
fn check_errors_stop_the_run_unless_no_fail_and_dll_dirs_resolve() {
    let m = manifest("needsdll");
    let r = build(&m, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["ok"], false);
    let diags = &v["packages"][0]["check"]["diagnostics"];
    assert_eq!(diags[0]["code"], "missing-dll");
    assert_eq!(diags[0]["dll"], "thirdparty.dll");
    assert!(r.stderr.contains("--no-fail"), "{}", r.stderr);

    let r = build(&m, &["--no-fail", "--no-build"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Using"),
        "--no-build used the existing exe: {}",
        r.stderr
    );

    // dll-dirs in the config resolves it (a copy of the crate, with the table extended).
    let d = needsdll_crate("dlls");
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let imp = v["packages"][0]["check"]["files"][0]["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["dll"] == "thirdparty.dll")
        .cloned()
        .unwrap();
    assert!(
        imp["resolved"]
            .as_str()
            .unwrap()
            .ends_with("dlls/thirdparty.dll")
    );
}

#[test]
fn no_build_without_an_exe_says_what_to_do() {
    let d = temp_crate(
        "[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\nbin = \"one\"\n",
    );
    let r = build(&d.path().join("Cargo.toml"), &["--no-build"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("run without --no-build first"),
        "{}",
        r.stderr
    );
}

/// A workspace whose `[workspace.metadata.winpkg]` has `extra` appended, with one
/// member `m` (a binary, and a table of its own with `own`).
fn temp_workspace(extra: &str, own: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("Cargo.toml"),
        format!(
            "[workspace]\nmembers = [\"m\"]\nresolver = \"2\"\n\n[workspace.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\n{extra}\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(d.path().join("m/src")).unwrap();
    std::fs::write(
        d.path().join("m/Cargo.toml"),
        format!(
            "[package]\nname = \"m\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.winpkg]\n{own}\n"
        ),
    )
    .unwrap();
    std::fs::write(d.path().join("m/src/main.rs"), "fn main() {}\n").unwrap();
    d
}

#[test]
fn a_bad_workspace_value_is_reported_where_it_is_written() {
    for (extra, key, line, what) in [
        (
            "allow = [{ name = \"x.dll\", reason = \" \" }]",
            "workspace.metadata.winpkg.allow[0].reason",
            7,
            "needs a reason",
        ),
        (
            "\n[workspace.metadata.winpkg.service]\nname = \"svc\"\naccount = \"bad|name\"",
            "workspace.metadata.winpkg.service.account",
            10,
            "not an account name",
        ),
        (
            "min-windows = \"9\"",
            "workspace.metadata.winpkg.min-windows",
            7,
            "unknown Windows release `9`",
        ),
    ] {
        let d = temp_workspace(extra, "min-windows = \"10\"");
        let ws = d.path().join("Cargo.toml");
        let r = run([
            "winpkg".as_ref(),
            "--manifest-path".as_ref(),
            d.path().join("m/Cargo.toml").as_os_str(),
        ]);
        assert_eq!(r.code, 2, "{extra}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("key: {key}")),
            "{extra}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("{}:{line}", ws.display())),
            "{extra}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(what), "{extra}: {}", r.stderr);
        assert!(
            !r.stderr.contains("package.metadata.winpkg"),
            "{}",
            r.stderr
        );
    }
}

/// A table under a near-miss of its name is not read: the run says so before the
/// errors its absence causes (here: the default msvc target cannot link).
#[test]
fn a_misspelled_table_name_is_pointed_out() {
    for table in ["win-pkg", "winpkgs", "WinPkg"] {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("src")).unwrap();
        std::fs::write(d.path().join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(
            d.path().join("Cargo.toml"),
            format!("[package]\nname = \"m\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[package.metadata.{table}]\ntarget = \"x86_64-pc-windows-gnu\"\n"),
        )
        .unwrap();
        let r = build(&d.path().join("Cargo.toml"), &[]);
        assert!(
            r.stderr.contains(&format!(
                "[package.metadata.{table}] is not read by cargo winpkg: did you mean [package.metadata.winpkg]?"
            )),
            "{table}: {}",
            r.stderr
        );
    }
}

/// Paths from the config print cleaned: `./x/../dlls` resolves to `.../dlls/...`.
#[test]
fn config_paths_print_normalised() {
    let d = needsdll_crate("./x/../dlls");
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let resolved = v["packages"][0]["check"]["files"][0]["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["dll"] == "thirdparty.dll")
        .unwrap()["resolved"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(resolved.ends_with("/dlls/thirdparty.dll"), "{resolved}");
    assert!(
        !resolved.contains("/./") && !resolved.contains("/../"),
        "{resolved}"
    );
}

/// A copy of the needsdll fixture crate with `dll-dirs = [dll_dir]`, and the DLL it
/// needs in `dlls/`.
fn needsdll_crate(dll_dir: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let src = fixture("crates/needsdll");
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    std::fs::create_dir_all(d.path().join("dlls")).unwrap();
    std::fs::copy(src.join("src/main.rs"), d.path().join("src/main.rs")).unwrap();
    std::fs::copy(src.join("Cargo.lock"), d.path().join("Cargo.lock")).unwrap();
    let toml = std::fs::read_to_string(src.join("Cargo.toml")).unwrap()
        + &format!("dll-dirs = [\"{dll_dir}\"]\n");
    std::fs::write(d.path().join("Cargo.toml"), toml).unwrap();
    std::fs::copy(
        fixture("pe/bundle-x64/thirdparty.dll"),
        d.path().join("dlls/thirdparty.dll"),
    )
    .unwrap();
    d
}

/// `reproducible = true` (the default): the same crate in two different folders, each
/// built from a clean target folder, gives byte-identical exes and zips, and no build
/// path is left in the exe.
#[test]
fn the_same_crate_in_two_folders_gives_identical_zips() {
    let tmp = tempfile::tempdir().unwrap();
    let mut zips = Vec::new();
    for (i, rel) in ["one/hello", "two/a-longer-path/hello"].iter().enumerate() {
        let dir = tmp.path().join(rel);
        copy_example(&dir);
        let out = tmp.path().join(format!("out{i}"));
        let r = winpkg()
            .current_dir(&dir)
            .args(["winpkg", "--release", "--format", "json", "--output"])
            .arg(&out)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "{stderr}");
        // The build names the exe's size, its debug share, and the levers not set.
        assert!(
            stderr.contains("Size hello-service.exe is ")
                && stderr.contains(", 0 KiB of it debug info and symbols; smaller with strip = true, opt-level = \"z\""),
            "{stderr}"
        );
        let v: Value = serde_json::from_slice(&r.stdout).unwrap();
        let exe = exe_of(&v, "hello-service");
        let bytes = std::fs::read(&exe).unwrap();
        let dir_s = dir.to_str().unwrap().as_bytes();
        assert!(
            !bytes.windows(dir_s.len()).any(|w| w == dir_s),
            "{} holds its build folder",
            exe.display()
        );
        let codes: Vec<&str> = v["packages"][0]["check"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert!(!codes.contains(&"debug-info-shipped"), "{codes:?}");
        zips.push((exe, bytes, std::fs::read(zip_path(&v)).unwrap()));
    }
    assert!(
        zips[0].1 == zips[1].1,
        "the exes differ: {:?}",
        (&zips[0].0, &zips[1].0)
    );
    assert!(zips[0].2 == zips[1].2, "the zips differ");
}

/// The ticker fixture copied to `dir`, with `lto = true` in its release profile.
fn ticker_with_lto(dir: &Path) {
    copy_crate(&fixture("crates/ticker"), dir, |t| {
        t + "\n[profile.release]\nlto = true\n"
    });
}

/// `cargo winpkg size --release --format json` in `dir`: the first package's report.
fn size_json(dir: &Path, extra: &[&str]) -> Value {
    let o = winpkg()
        .current_dir(dir)
        .args(["winpkg", "size", "--release", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0].clone()
}

/// `size` shows where the exe's bytes go, agreeing with goblin's section table and
/// accounting for every byte, and names the levers the profile does not set.
#[test]
fn size_breaks_the_exe_down() {
    let tmp = tempfile::tempdir().unwrap();
    ticker_with_lto(tmp.path());
    let r = size_json(tmp.path(), &[]);
    let b = &r["breakdown"];
    let exe = PathBuf::from(b["path"].as_str().unwrap());
    let bytes = std::fs::read(&exe).unwrap();
    assert_eq!(b["size"].as_u64().unwrap(), bytes.len() as u64);
    let pe = goblin::pe::PE::parse(&bytes).unwrap();
    let text = pe
        .sections
        .iter()
        .find(|s| s.name().unwrap_or("") == ".text")
        .unwrap();
    let ours = b["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == ".text")
        .unwrap();
    assert_eq!(
        ours["size"].as_u64().unwrap(),
        u64::from(text.size_of_raw_data)
    );
    let parts: u64 = b["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .sum::<u64>()
        + ["headers", "symbols", "trailing"]
            .iter()
            .map(|k| b[k].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(parts, bytes.len() as u64, "every byte accounted for: {b:#}");
    assert!(b["zipped"].as_u64().unwrap() < bytes.len() as u64);
    // lto is set in [profile.release]: not suggested again.
    let unset: Vec<&str> = r["unset_levers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        unset.contains(&"opt-level = \"z\"") && !unset.contains(&"lto = true"),
        "{unset:?}"
    );
}

/// `size --try` builds once per profile lever, each in its own target folder.
#[test]
fn size_try_measures_each_lever() {
    let tmp = tempfile::tempdir().unwrap();
    ticker_with_lto(tmp.path());
    let r = size_json(tmp.path(), &["--try"]);
    let trials = r["trials"].as_array().unwrap();
    let levers: Vec<&str> = trials
        .iter()
        .map(|t| t["lever"].as_str().unwrap())
        .collect();
    assert_eq!(
        levers,
        [
            "as configured",
            "strip = true",
            "opt-level = \"z\"",
            "lto = true",
            "codegen-units = 1",
            "panic = \"abort\"",
            "all of the above"
        ]
    );
    let size_of = |lever: &str| {
        trials.iter().find(|t| t["lever"] == lever).unwrap()["size"]
            .as_u64()
            .unwrap()
    };
    assert!(
        size_of("all of the above") < size_of("as configured"),
        "{trials:?}"
    );
    // Each lever built in its own folder: the exe of `opt-level = "z"` is there.
    let lever_exe = tmp
        .path()
        .join("target/winpkg/size/lever-1/x86_64-pc-windows-gnu/release/ticker.exe");
    assert_eq!(
        std::fs::metadata(&lever_exe).unwrap().len(),
        size_of("opt-level = \"z\"")
    );
}

/// A target folder with a space: MinGW's dlltool fails there for raw-dylib crates
/// (measured with windows-sys), so the build says so up front; a crate without them
/// still builds.
#[test]
fn a_space_in_the_target_folder_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("with space").join("ticker");
    copy_crate(&fixture("crates/ticker"), &dir, |t| t);
    let o = winpkg()
        .current_dir(&dir)
        .args(["winpkg", "--release", "--no-sign"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("has a space in its path: MinGW's dlltool"),
        "{stderr}"
    );
}

/// A package starts its program one way: a service table and a run-key together are an
/// error at the run-key's line, before the build; a misspelled scope names the words.
#[test]
fn one_way_to_run_is_declared() {
    let d = temp_crate(
        "[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\nbin = \"one\"\n\n[package.metadata.winpkg.service]\nname = \"svc\"\n\n[package.metadata.winpkg.run-key]\nscope = \"user\"\n",
    );
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("starts its program one way"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("package.metadata.winpkg.run-key"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Cargo.toml:15"), "{}", r.stderr);
    assert!(!r.stderr.contains("Building"), "{}", r.stderr);
    let d = temp_crate(
        "[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\nbin = \"one\"\n\n[package.metadata.winpkg.cli]\npath = \"usr\"\n",
    );
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("package.metadata.winpkg.cli.path"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("\"user\""), "{}", r.stderr);
}

/// A Run-key program does not start in its own folder either: relative-looking
/// arguments are pointed out, and `{dir}` ones are not.
#[test]
fn run_key_arguments_that_look_relative_are_pointed_out() {
    let d = temp_crate(
        "[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\nbin = \"one\"\n\n[package.metadata.winpkg.run-key]\nargs = [\"--config\", \"config.toml\", \"--data={dir}\\\\data\"]\n",
    );
    // Its own target folder: a tmpcrate built into the shared one would give
    // `no_build_without_an_exe_says_what_to_do` an exe to find.
    let o = winpkg()
        .current_dir(d.path())
        .args(["winpkg", "--format", "json"])
        .output()
        .unwrap();
    let r = Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("run-key] args[1]: `config.toml` looks like a relative path"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("args[2]"), "{}", r.stderr);
}

/// The table of each way to run, as a user writes it.
fn way_table(way: &str) -> &'static str {
    match way {
        "service" => "[package.metadata.winpkg.service]\nname = \"svc\"\n",
        "task" => "[package.metadata.winpkg.task]\ntrigger = \"boot\"\n",
        "run-key" => "[package.metadata.winpkg.run-key]\nscope = \"user\"\n",
        _ => "[package.metadata.winpkg.cli]\npath = \"user\"\n",
    }
}

/// Two ways to run, `first` written before `second`: the error names both tables and
/// points at the line of the second, before anything is built.
fn two_ways(first: &str, second: &str) {
    let head = "[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\nbin = \"one\"\n\n";
    let d = temp_crate(&format!(
        "{head}{}\n{}",
        way_table(first),
        way_table(second)
    ));
    let text = std::fs::read_to_string(d.path().join("Cargo.toml")).unwrap();
    let header = |way: &str| {
        let name = if way == "cli" { "cli" } else { way };
        format!("[package.metadata.winpkg.{name}]")
    };
    let line = text.lines().position(|l| l == header(second)).unwrap() + 1;
    let r = build(&d.path().join("Cargo.toml"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("one way"), "{}", r.stderr);
    for way in [first, second] {
        assert!(r.stderr.contains(&header(way)), "{way} named: {}", r.stderr);
    }
    // The second table's line: its header, or (cli) the `path` key under it.
    let at = |n: usize| format!("Cargo.toml:{n}\n");
    assert!(
        r.stderr.contains(&at(line)) || (second == "cli" && r.stderr.contains(&at(line + 1))),
        "line {line} of the second table ({second}): {}",
        r.stderr
    );
    assert!(!r.stderr.contains("Building"), "{}", r.stderr);
}

macro_rules! two_ways_tests {
    ($($name:ident: $first:literal then $second:literal,)*) => {
        $(
            #[test]
            fn $name() {
                two_ways($first, $second);
            }
        )*
    };
}

two_ways_tests! {
    service_then_task: "service" then "task",
    task_then_service: "task" then "service",
    service_then_run_key: "service" then "run-key",
    run_key_then_service: "run-key" then "service",
    service_then_cli: "service" then "cli",
    cli_then_service: "cli" then "service",
    task_then_run_key: "task" then "run-key",
    run_key_then_task: "run-key" then "task",
    task_then_cli: "task" then "cli",
    cli_then_task: "cli" then "task",
    run_key_then_cli: "run-key" then "cli",
    cli_then_run_key: "cli" then "run-key",
}

/// Run `cargo-winpkg ARGS > out.txt` with stderr on a pseudo-terminal (util-linux
/// `script`), as `cargo winpkg ... > report.txt` in a terminal does: (what reached the
/// terminal, what reached the file).
fn with_stderr_on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.txt");
    let exe = assert_cmd::cargo::cargo_bin("cargo-winpkg");
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let line = format!(
        "{} {} > {}",
        quote(&exe.to_string_lossy()),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
        quote(&file.to_string_lossy())
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("script (util-linux) runs");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        std::fs::read_to_string(&file).unwrap_or_default(),
    )
}

/// Each stream's colour is decided from that stream: the report on stdout, redirected
/// to a file, has no escape codes while the stage lines on the terminal are coloured;
/// `--color always` colours the file too, and `CARGO_TERM_COLOR=never` the terminal not.
#[test]
fn a_redirected_report_has_no_colour() {
    let manifest = root().join("examples/hello-service/Cargo.toml");
    let r = build(&manifest, &["--release"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let target = shared_target();
    let args = [
        "winpkg",
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--target-dir",
        target.to_str().unwrap(),
        "--release",
        "--no-build",
        "-v",
    ];
    // A colour (SGR) sequence: ESC [ digits and semicolons, then `m` (a spinner's
    // clear-line sequence is no colour).
    let coloured = |s: &str| {
        s.split('\u{1b}').skip(1).any(|p| {
            p.strip_prefix('[').is_some_and(|p| {
                let end = p.find(|c: char| !c.is_ascii_digit() && c != ';');
                end.is_some_and(|e| p[e..].starts_with('m'))
            })
        })
    };
    let (terminal, file) = with_stderr_on_a_terminal(&args, &[]);
    assert!(file.contains("hello-service.exe"), "the report: {file}");
    assert!(
        !coloured(&file),
        "colour in the redirected report: {file:?}"
    );
    assert!(
        coloured(&terminal),
        "the terminal's stage lines: {terminal:?}"
    );
    let mut always = args.to_vec();
    always.extend(["--color", "always"]);
    let (_, file) = with_stderr_on_a_terminal(&always, &[]);
    assert!(coloured(&file), "--color always: {file:?}");
    let (terminal, _) = with_stderr_on_a_terminal(&args, &[("CARGO_TERM_COLOR", "never")]);
    assert!(!coloured(&terminal), "CARGO_TERM_COLOR=never: {terminal:?}");
    // check, likewise.
    let exe = target.join("x86_64-pc-windows-gnu/release/hello-service.exe");
    let (terminal, file) =
        with_stderr_on_a_terminal(&["winpkg", "check", exe.to_str().unwrap()], &[]);
    assert!(
        file.contains("hello-service.exe") && !coloured(&file),
        "{file:?} {terminal:?}"
    );
}

/// `--target` several times: one zip per target, one JSON document with an entry per
/// target, one summary table; a target that stops with an error is reported with its
/// reason and does not hide the others (exit code 2 at the end).
#[test]
fn several_targets_in_one_run() {
    let out = tempfile::tempdir().unwrap();
    let example = root().join("examples/hello-service/Cargo.toml");
    let r = package(
        &example,
        out.path(),
        &[
            "--release",
            "--target",
            "x86_64-pc-windows-gnu",
            "--target",
            "i686-pc-windows-gnu",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let runs: Vec<(String, String)> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["target"].as_str().unwrap().to_string(),
                p["archive"]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(runs.len(), 2, "{v:#}");
    for (target, zip) in &runs {
        assert!(
            zip.ends_with(&format!("hello-service-0.1.0-{target}.zip")),
            "{zip}"
        );
        let exe = zip_entries(Path::new(zip))
            .into_iter()
            .find(|(n, _)| n == "hello-service.exe")
            .unwrap()
            .1;
        // The PE machine of each: 0x8664 x64, 0x14c x86.
        let pe = u32::from_le_bytes(exe[0x3c..0x40].try_into().unwrap()) as usize;
        let machine = u16::from_le_bytes([exe[pe + 4], exe[pe + 5]]);
        let want = if target.starts_with("x86_64") {
            0x8664
        } else {
            0x14c
        };
        assert_eq!(machine, want, "{target}");
    }
    assert!(v.get("failed").is_none(), "{v:#}");

    an_unbuildable_target_does_not_hide_the_other(&example, out.path());
}

/// A target that cannot be built is reported; the other one is still packaged.
fn an_unbuildable_target_does_not_hide_the_other(example: &Path, out: &Path) {
    // A target that cannot be built: reported, the other one still packaged; the human
    // summary has a line for each.
    let r = run([
        "winpkg",
        "--release",
        "--manifest-path",
        example.to_str().unwrap(),
        "--target-dir",
        shared_target().to_str().unwrap(),
        "--output",
        out.join("two").to_str().unwrap(),
        "--target",
        "x86_64-unknown-linux-gnu",
        "--target",
        "x86_64-pc-windows-gnu",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        out.join("two/hello-service-0.1.0-x86_64-pc-windows-gnu.zip")
            .is_file(),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("is not a Windows target"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("1 of 2 runs stopped with an error (said above): hello-service for x86_64-unknown-linux-gnu"),
        "{}",
        r.stderr
    );
    let table: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("hello-service "))
        .collect();
    assert_eq!(table.len(), 2, "{}", r.stdout);
    assert!(
        table
            .iter()
            .any(|l| l.contains("x86_64-pc-windows-gnu") && l.contains(" ok ")),
        "{}",
        r.stdout
    );
    assert!(
        table
            .iter()
            .any(|l| l.contains("x86_64-unknown-linux-gnu") && l.contains(" failed ")),
        "{}",
        r.stdout
    );
}
