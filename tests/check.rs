//! `cargo winpkg check` end to end, on real PE files: MinGW- and lld-built fixtures
//! (fixtures/make.sh), MSVC-built .pyd files from a PyPI wheel, and the mingw-w64
//! runtime DLLs of the installed toolchain.

use crate::common::*;
use serde_json::Value;

#[test]
fn json_contract_lists_normal_then_delay_imports_in_file_order() {
    let exe = fixture("pe/msvcstyle-x64.exe");
    let (code, v) = check_json(&[&exe], &[]);
    assert_eq!(code, 1, "{v:#}");
    let f = file(&v, "msvcstyle-x64.exe");
    assert_eq!(f["machine"], "x86_64");
    assert_eq!(f["format"], "PE32+");
    assert_eq!(f["dll"], false);
    assert_eq!(f["subsystem"], "console");
    assert_eq!(f["signed"], false);
    assert_eq!(f["service_dispatcher"], false);
    let got: Vec<(String, bool, String)> = imports(&v, "msvcstyle-x64.exe")
        .iter()
        .map(|i| {
            (
                i["dll"].as_str().unwrap().to_string(),
                i["delay"].as_bool().unwrap(),
                i["class"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("KERNEL32.dll", false, "system"),
        ("VCRUNTIME140.dll", false, "vc-redist"),
        ("api-ms-win-crt-runtime-l1-1-0.dll", false, "api-set"),
        ("WS2_32.dll", false, "system"),
        ("thirdparty.dll", true, "third-party"),
        ("USER32.dll", true, "system"),
    ];
    let want: Vec<(String, bool, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), *b, c.to_string()))
        .collect();
    assert_eq!(got, want);
    let ws2 = import(&v, "msvcstyle-x64.exe", "WS2_32.dll");
    assert_eq!(ws2["by_ordinal"], 1);
    assert_eq!(ws2["functions"], serde_json::json!(["#111"]));
    let third = import(&v, "msvcstyle-x64.exe", "thirdparty.dll");
    assert_eq!(third["functions"], serde_json::json!(["thirdparty_answer"]));
    assert_eq!(third["resolved"], Value::Null);
    assert_eq!(
        import(&v, "msvcstyle-x64.exe", "KERNEL32.dll")["since"],
        "7"
    );

    // The missing redistributable is an error with the fix; the delay-loaded
    // third-party DLL only a warning.
    let vc = diag(&v, "missing-vc-redist");
    assert_eq!(vc["severity"], "error");
    assert_eq!(vc["dll"], "VCRUNTIME140.dll");
    assert!(vc["file"].as_str().unwrap().ends_with("msvcstyle-x64.exe"));
    assert!(vc["help"].as_str().unwrap().contains("+crt-static"));
    let delay = diag(&v, "delay-load-missing");
    assert_eq!(delay["severity"], "warning");
    assert_eq!(delay["dll"], "thirdparty.dll");
    assert_eq!(codes(&v).len(), 2, "{v:#}");
}

#[test]
fn a_bundle_passes_when_its_whole_closure_resolves() {
    let app = fixture("pe/bundle-x64/app.exe");
    let (code, v) = check_json(&[&app], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(codes(&v).is_empty());
    let vc = import(&v, "app.exe", "VCRUNTIME140.dll");
    assert!(
        vc["resolved"]
            .as_str()
            .unwrap()
            .ends_with("bundle-x64/vcruntime140.dll")
    );
    let third = import(&v, "app.exe", "thirdparty.dll");
    assert!(
        third["resolved"]
            .as_str()
            .unwrap()
            .ends_with("bundle-x64/thirdparty.dll")
    );
    // The resolved DLLs were checked too.
    let dll = file(&v, "bundle-x64/thirdparty.dll");
    assert_eq!(dll["dll"], true);
    assert!(dll["needed_by"].as_str().unwrap().ends_with("app.exe"));
    assert_eq!(v["files"].as_array().unwrap().len(), 3);
}

#[test]
fn a_dll_of_another_machine_is_a_mismatch() {
    let app = fixture("pe/mismatch/app.exe");
    let (code, v) = check_json(&[&app], &[]);
    assert_eq!(code, 1);
    let d = diag(&v, "machine-mismatch");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["dll"], "thirdparty.dll");
    assert!(d["message"].as_str().unwrap().contains("x86 code"), "{d}");
    assert_eq!(file(&v, "mismatch/thirdparty.dll")["machine"], "x86");
}

#[test]
fn debug_runtimes_are_errors_even_when_shipped() {
    let exe = fixture("pe/debugcrt-x64.exe");
    let (code, v) = check_json(&[&exe], &[]);
    assert_eq!(code, 1);
    let dlls: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "debug-crt")
        .map(|d| d["dll"].as_str().unwrap())
        .collect();
    assert_eq!(dlls, ["ucrtbased.dll", "VCRUNTIME140D.dll"]);
    assert_eq!(
        import(&v, "debugcrt-x64.exe", "ucrtbased.dll")["class"],
        "debug-crt"
    );
}

#[test]
fn system_dlls_are_judged_against_the_minimum_windows() {
    let exe = fixture("pe/dcomp-x64.exe");
    // dcomp.dll ships with Windows 8 and later.
    let (code, v) = check_json(&[&exe], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(import(&v, "dcomp-x64.exe", "dcomp.dll")["since"], "8");
    let (code, v) = check_json(&[&exe], &["--min-windows", "8"]);
    assert_eq!(code, 0, "{v:#}");
    let (code, v) = check_json(&[&exe], &["--min-windows", "7"]);
    assert_eq!(code, 1);
    let d = diag(&v, "dll-not-in-windows-version");
    assert_eq!(d["dll"], "dcomp.dll");
    assert!(d["message"].as_str().unwrap().contains("Windows 7"), "{d}");
    assert!(d["help"].as_str().unwrap().contains("8"), "{d}");
}

#[test]
fn the_universal_crt_needs_an_update_only_below_windows_10() {
    let app = fixture("pe/bundle-x64/app.exe");
    let (_, v) = check_json(&[&app], &["--min-windows", "8.1"]);
    let d = diag(&v, "ucrt-needs-update");
    assert_eq!(d["severity"], "note");
    assert!(d["message"].as_str().unwrap().contains("KB2999226"));
    let (code, v) = check_json(&[&app], &["--min-windows", "10"]);
    assert_eq!(code, 0);
    assert!(!codes(&v).contains(&"ucrt-needs-update".to_string()));
}

#[test]
fn mingw_cpp_needs_its_runtime_and_passes_with_the_toolchain_dlls() {
    let exe = fixture("pe/cpp-hello-x64.exe");
    let (code, v) = check_json(&[&exe], &[]);
    assert_eq!(code, 1);
    let missing: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "missing-mingw-runtime")
        .map(|d| d["dll"].as_str().unwrap())
        .collect();
    assert!(missing.contains(&"libstdc++-6.dll"), "{missing:?}");
    assert!(
        diag(&v, "missing-mingw-runtime")["help"]
            .as_str()
            .unwrap()
            .contains("-print-file-name=")
    );
    assert!(
        diag(&v, "missing-mingw-runtime")["help"]
            .as_str()
            .unwrap()
            .contains("bundle-mingw-runtime"),
        "the help names the config key that ships it"
    );

    // With the real runtime DLLs of the installed toolchain the closure resolves,
    // transitively (libstdc++-6.dll itself imports libgcc_s_seh-1.dll).
    let dir = mingw_dll_dir("x86_64-w64-mingw32-g++", "libstdc++-6.dll");
    let dir_s = dir.to_str().unwrap();
    let (code, v) = check_json(&[&exe], &["--dll-dir", dir_s]);
    let problems: Vec<&Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(code, 0, "{problems:#?}");
    let stdcpp = file(&v, "libstdc++-6.dll");
    assert!(
        stdcpp["needed_by"]
            .as_str()
            .unwrap()
            .ends_with("cpp-hello-x64.exe")
    );
    assert_eq!(stdcpp["machine"], "x86_64");
    let gcc = import(&v, "libstdc++-6.dll", "libgcc_s_seh-1.dll");
    assert_eq!(gcc["class"], "mingw-runtime");
    assert!(gcc["resolved"].as_str().unwrap().starts_with(dir_s));
}

#[test]
fn i686_and_aarch64_files_are_read_and_judged_for_their_machine() {
    let x86 = fixture("pe/cpp-hello-x86.exe");
    let (_, v) = check_json(&[&x86], &[]);
    let f = file(&v, "cpp-hello-x86.exe");
    assert_eq!(f["machine"], "x86");
    assert_eq!(f["format"], "PE32");
    assert!(
        imports(&v, "cpp-hello-x86.exe")
            .iter()
            .any(|i| i["dll"] == "libstdc++-6.dll" && i["class"] == "mingw-runtime")
    );

    let arm = fixture("pe/msvcstyle-arm64.exe");
    let dlls = fixture("pe/dlls-arm64");
    let (_, v) = check_json(&[&arm], &["--dll-dir", dlls.to_str().unwrap()]);
    assert_eq!(file(&v, "msvcstyle-arm64.exe")["machine"], "aarch64");
    // No arm64 Windows before 10: that is where its system DLLs start.
    assert_eq!(
        import(&v, "msvcstyle-arm64.exe", "KERNEL32.dll")["since"],
        "10"
    );
    let third = import(&v, "msvcstyle-arm64.exe", "thirdparty.dll");
    assert!(
        third["resolved"]
            .as_str()
            .unwrap()
            .ends_with("dlls-arm64/thirdparty.dll")
    );
    assert_eq!(third["delay"], true);
}

#[test]
fn real_msvc_built_extension_modules() {
    for (name, machine, format) in [
        ("_speedups.cp312-win_amd64.pyd", "x86_64", "PE32+"),
        ("_speedups.cp312-win32.pyd", "x86", "PE32"),
        ("_speedups.cp312-win_arm64.pyd", "aarch64", "PE32+"),
    ] {
        let pyd = fixture(&format!("msvc/{name}"));
        // Judged as if no host loaded it (--host none); the default follows below.
        let (code, v) = check_json(&[&pyd], &["--host", "none"]);
        assert_eq!(code, 1);
        let f = file(&v, name);
        assert_eq!(f["machine"], machine);
        assert_eq!(f["format"], format);
        assert_eq!(f["dll"], true);
        assert_eq!(import(&v, name, "VCRUNTIME140.dll")["class"], "vc-redist");
        assert_eq!(import(&v, name, "python312.dll")["class"], "third-party");
        assert!(imports(&v, name).iter().any(|i| i["class"] == "api-set"
            && i["dll"].as_str().unwrap().starts_with("api-ms-win-crt-")));
        let mut c = codes(&v);
        c.sort();
        assert_eq!(c, ["missing-dll", "missing-vc-redist"]);

        // The host provides python312.dll: allow it, by name or by pattern.
        let (_, v) = check_json(&[&pyd], &["--host", "none", "--allow", "python3*.dll"]);
        assert_eq!(codes(&v), ["missing-vc-redist"]);
        assert_eq!(import(&v, name, "python312.dll")["allowed"], true);

        // By default a .pyd is loaded by python.exe, which ships python312.dll and the
        // Visual C++ runtime: classed host, never missing, and the report says so.
        let (code, v) = check_json(&[&pyd], &[]);
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(file(&v, name)["host"], "python");
        assert_eq!(import(&v, name, "VCRUNTIME140.dll")["class"], "host");
        assert_eq!(import(&v, name, "python312.dll")["class"], "host");
        assert!(codes(&v).is_empty(), "{v:#}");
    }
}

#[test]
fn relevel_allow_and_unmatched_allow() {
    let pyd = fixture("msvc/_speedups.cp312-win_amd64.pyd");
    let p = pyd.as_path();
    // -A silences, -W demotes: nothing error-level left, exit 0. (--host none: judged
    // as a program's DLL, so there is something to re-level.)
    let (code, v) = check_json(
        &[p],
        &[
            "--host",
            "none",
            "-A",
            "missing-vc-redist",
            "-W",
            "missing-dll",
        ],
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(codes(&v), ["missing-dll"]);
    assert_eq!(diag(&v, "missing-dll")["severity"], "warning");
    // -D promotes a warning to an error.
    let app = fixture("pe/msvcstyle-x64.exe");
    let (code, v) = check_json(
        &[&app],
        &["-A", "missing-vc-redist", "--deny", "delay-load-missing"],
    );
    assert_eq!(code, 1);
    assert_eq!(diag(&v, "delay-load-missing")["severity"], "error");
    // An allow entry that matches nothing is reported, so stale config gets noticed.
    let (_, v) = check_json(&[p], &["--allow", "nothing-here.dll"]);
    let d = diag(&v, "unmatched-allow");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["dll"], "nothing-here.dll");
    assert_eq!(d["file"], Value::Null);
}

#[test]
fn an_unknown_code_or_release_is_a_usage_error() {
    let pyd = fixture("msvc/_speedups.cp312-win_amd64.pyd");
    let r = run([
        "check".as_ref(),
        "-D".as_ref(),
        "missing-dlls".as_ref(),
        pyd.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown diagnostic code `missing-dlls`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("missing-dll,"), "{}", r.stderr);
    let r = run([
        "check".as_ref(),
        "--min-windows".as_ref(),
        "9".as_ref(),
        pyd.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("8.1"), "{}", r.stderr);
    let r = run(["check"]);
    assert_eq!(r.code, 2);
}

#[test]
fn service_dispatcher_signature_and_rust_exes() {
    let (_, v) = check_json(&[&fixture("pe/c-service-x64.exe")], &[]);
    assert_eq!(file(&v, "c-service-x64.exe")["service_dispatcher"], true);
    let (code, v) = check_json(&[&fixture("pe/c-hello-x64-signed.exe")], &[]);
    assert_eq!(code, 0);
    assert_eq!(file(&v, "c-hello-x64-signed.exe")["signed"], true);
    assert_eq!(
        file(&v, "c-hello-x64-signed.exe")["service_dispatcher"],
        false
    );

    // A Rust program cross-built for x86_64-pc-windows-gnu needs nothing beyond Windows.
    let (code, v) = check_json(&[&fixture("pe/rust-hello-x64.exe")], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        imports(&v, "rust-hello-x64.exe")
            .iter()
            .all(|i| i["class"] == "system" || i["class"] == "api-set")
    );
}

#[test]
fn the_same_dll_in_two_spellings_stays_two_descriptors_in_json() {
    let exe = fixture("pe/twocase-x64.exe");
    let (code, v) = check_json(&[&exe], &[]);
    assert_eq!(code, 0, "{v:#}");
    let names: Vec<&str> = imports(&v, "twocase-x64.exe")
        .iter()
        .map(|i| i["dll"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kernel32.dll", "KERNEL32.dll", "msvcrt.dll"]);
    assert_eq!(
        import(&v, "twocase-x64.exe", "kernel32.dll")["functions"],
        serde_json::json!(["Sleep"])
    );
    assert!(
        imports(&v, "twocase-x64.exe")
            .iter()
            .all(|i| i["class"] == "system")
    );
    // The human report merges them into one row.
    let r = run(["check".as_ref(), exe.as_os_str()]);
    let rows: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("kernel32.dll"))
        .collect();
    assert_eq!(rows.len(), 1, "{}", r.stdout);
    assert!(
        rows[0].contains("kernel32.dll, KERNEL32.dll"),
        "{}",
        rows[0]
    );
}

#[test]
fn folders_are_walked_for_pe_files_by_content() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("pe/c-hello-x64.exe"),
        dir.path().join("no-extension"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::copy(
        fixture("pe/bundle-x64/thirdparty.dll"),
        dir.path().join("sub/lib.bin"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a PE file").unwrap();
    std::fs::write(dir.path().join("fake.exe"), "#!/bin/sh\n").unwrap();
    let (code, v) = check_json(&[dir.path()], &[]);
    assert_eq!(code, 0, "{v:#}");
    let paths: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].ends_with("no-extension"));
    assert!(paths[1].ends_with("sub/lib.bin"));
}

#[test]
fn human_report_groups_problems_first_with_fixes() {
    let r = run([
        "check".as_ref(),
        fixture("pe/msvcstyle-x64.exe").as_os_str(),
    ]);
    assert_eq!(r.code, 1);
    let out = &r.stdout;
    assert!(!out.contains('\u{1b}'), "no colour when piped");
    let err = out.find("error[missing-vc-redist]").expect("error line");
    let help = out.find("= help:").expect("help line");
    let table = out.find("CLASS").expect("table");
    assert!(err < help && help < table);
    // Classes in order: problems (vc-redist, third-party) before api-set and system.
    let vc = out.find("vc-redist      VCRUNTIME140.dll").expect("vc row");
    let sys = out.find("system         KERNEL32.dll").expect("system row");
    assert!(vc < sys);
    assert!(out.contains("thirdparty.dll (delay)"));
    assert!(out.contains("MISSING"));
    assert!(
        out.contains("checked 1 file: 1 error, 1 warning, 3 notes"),
        "{out}"
    );
    let r = run([
        "check".as_ref(),
        "--color".as_ref(),
        "always".as_ref(),
        fixture("pe/msvcstyle-x64.exe").as_os_str(),
    ]);
    assert!(r.stdout.contains("\u{1b}["));
}

#[test]
fn github_annotations() {
    let r = run([
        "check".as_ref(),
        "--format".as_ref(),
        "github".as_ref(),
        fixture("pe/msvcstyle-x64.exe").as_os_str(),
    ]);
    assert_eq!(r.code, 1);
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .expect("an error annotation");
    assert!(line.contains("file="), "{line}");
    assert!(
        line.contains("msvcstyle-x64.exe,title=missing-vc-redist::"),
        "{line}"
    );
    assert!(
        line.contains("%0Ahelp: "),
        "multi-line text is escaped: {line}"
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("::warning ") && l.contains("title=delay-load-missing"))
    );
}

#[test]
fn sarif_output() {
    let r = run([
        "check".as_ref(),
        "--format".as_ref(),
        "sarif".as_ref(),
        fixture("pe/msvcstyle-x64.exe").as_os_str(),
    ]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "cargo-winpkg");
    let rules: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"machine-mismatch"));
    let results = run0["results"].as_array().unwrap();
    // The two import verdicts, then three hygiene notes (unsigned, no version info,
    // no CFG).
    assert_eq!(results.len(), 5);
    assert_eq!(results[4]["level"], "note");
    assert_eq!(results[0]["ruleId"], "missing-vc-redist");
    assert_eq!(results[0]["level"], "error");
    assert!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("msvcstyle-x64.exe")
    );
}

#[test]
fn an_image_needing_a_newer_windows_by_its_header() {
    let exe = fixture("pe/subsys62-x64.exe");
    let (_, v) = check_json(&[&exe], &["--min-windows", "7"]);
    let d = diag(&v, "subsystem-version-too-new");
    assert_eq!(d["severity"], "error");
    assert!(d["message"].as_str().unwrap().contains("6.2"), "{d}");
    assert!(
        d["help"]
            .as_str()
            .unwrap()
            .contains("/SUBSYSTEM:CONSOLE,6.01"),
        "{d}"
    );
    let (code, v) = check_json(&[&exe], &["--min-windows", "8"]);
    assert_eq!(code, 0, "{v:#}");
    // Tools that set 6.0 (lld's default) pass on Windows 7.
    let (_, v) = check_json(&[&fixture("pe/dcomp-x64.exe")], &["--min-windows", "7"]);
    assert!(!codes(&v).contains(&"subsystem-version-too-new".to_string()));
}

#[test]
fn drivers_efi_images_and_node_addons() {
    let (code, v) = check_json(&[&fixture("pe/driver-x64.sys")], &[]);
    assert_eq!(code, 0, "{v:#}");
    let f = file(&v, "driver-x64.sys");
    assert_eq!(f["subsystem"], "native");
    assert_eq!(
        import(&v, "driver-x64.sys", "ntoskrnl.exe")["class"],
        "system"
    );

    let (code, v) = check_json(&[&fixture("pe/app-x64.efi")], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(file(&v, "app-x64.efi")["subsystem"], "efi-application");
    assert_eq!(imports(&v, "app-x64.efi").len(), 0);

    // A .node addon needs node.exe, which the host process provides.
    let addon = fixture("pe/addon-x64.node");
    let (code, v) = check_json(&[&addon], &["--host", "none"]);
    assert_eq!(code, 1);
    assert_eq!(file(&v, "addon-x64.node")["dll"], true);
    assert_eq!(diag(&v, "missing-dll")["dll"], "node.exe");
    let (code, v) = check_json(&[&addon], &["--host", "none", "--allow", "node.exe"]);
    assert_eq!(code, 0, "{v:#}");
    // By default a .node file is loaded by node.exe: host, not missing.
    let (code, v) = check_json(&[&addon], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(file(&v, "addon-x64.node")["host"], "node");
    assert_eq!(import(&v, "addon-x64.node", "node.exe")["class"], "host");
}

/// DLL names and hint/name entries in another section than the import directory (as in
/// real ARM64 wheels): read through the section table, and llvm-readobj agrees.
#[test]
fn names_outside_the_import_directorys_section_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<Vec<u8>> = ["CreateFileW", "ExitProcess", "GetTickCount"]
        .iter()
        .map(|n| n.as_bytes().to_vec())
        .collect();
    let dlls = [
        crate::common::synth::SynthDll {
            name: b"KERNEL32.dll".to_vec(),
            thunks: vec![0, 1],
        },
        crate::common::synth::SynthDll {
            name: b"renamed-third-party.dll".to_vec(),
            thunks: vec![2],
        },
    ];
    let exe = dir.path().join("split.exe");
    std::fs::write(&exe, crate::common::synth::pe64_split(&dlls, &names)).unwrap();
    let llvm = std::process::Command::new("llvm-readobj")
        .arg("--coff-imports")
        .arg(&exe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&llvm.stdout);
    assert!(
        text.contains("renamed-third-party.dll") && text.contains("GetTickCount"),
        "{text}"
    );
    let (code, v) = check_json(&[&exe], &[]);
    assert_eq!(code, 1, "missing-dll for the third-party one: {v:#}");
    let imports = imports(&v, "split.exe");
    let got: Vec<(String, Vec<String>)> = imports
        .iter()
        .map(|i| {
            (
                i["dll"].as_str().unwrap().to_string(),
                i["functions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "KERNEL32.dll".to_string(),
                vec!["CreateFileW".to_string(), "ExitProcess".to_string()]
            ),
            (
                "renamed-third-party.dll".to_string(),
                vec!["GetTickCount".to_string()]
            ),
        ]
    );
}

/// Real ARM64 extension modules (NumPy's wheel) whose DLL name or hint/name entries
/// lie in another section than the import directory: read, judged, not rejected.
#[test]
fn numpy_arm64_modules_with_names_in_other_sections_are_read() {
    for (name, dll) in [
        ("_pocketfft_umath.cp312-win_arm64.pyd", "python312.dll"),
        ("lapack_lite.cp312-win_arm64.pyd", "python312.dll"),
    ] {
        let pyd = fixture(&format!("msvc/numpy-arm64/{name}"));
        let (code, v) = check_json(&[&pyd], &[]);
        assert_eq!(code, 1, "judged, not unreadable: {v:#}");
        let f = file(&v, name);
        assert_eq!(f["machine"], "aarch64");
        assert!(
            imports(&v, name).iter().any(|i| i["dll"] == dll),
            "{name}: {v:#}"
        );
        assert!(
            !v["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["code"] == "unreadable-pe"),
            "{v:#}"
        );
    }
}

/// A driver importing an export driver of System32\drivers (hidclass.sys) is judged
/// against the kernel-mode modules of Windows: it ships with Windows.
#[test]
fn a_driver_importing_hidclass_is_not_missing_a_dll() {
    let dir = tempfile::tempdir().unwrap();
    let mut sys = std::fs::read(fixture("pe/driver-x64.sys")).unwrap();
    // The fixture imports ntoskrnl.exe; the same 12 bytes become hidclass.sys.
    assert_eq!(
        patch_bytes(&mut sys, b"ntoskrnl.exe", b"hidclass.sys", false),
        1,
        "the DLL name"
    );
    let path = dir.path().join("hidminidriver.sys");
    std::fs::write(&path, &sys).unwrap();
    let (code, v) = check_json(&[&path], &[]);
    assert_eq!(code, 0, "{v:#}");
    let imp = &imports(&v, "hidminidriver.sys")[0];
    assert_eq!(imp["dll"], "hidclass.sys");
    assert_eq!(imp["class"], "system");
}

/// The JSON report goes through a formatter of our own (one write per new line): it
/// must be byte for byte what serde_json's pretty printer writes, for a folder of real
/// files (every kind of field), an unreadable file, and an empty report.
#[test]
fn the_json_report_is_serde_jsons_pretty_print() {
    use cargo_winpkg::report::{Format, write};
    let options = cargo_winpkg::CheckOptions::default();
    let mut reports: Vec<cargo_winpkg::Report> = [
        vec![fixture("pe")],
        vec![fixture("pe").join("does-not-exist.exe")],
    ]
    .iter()
    .map(|paths| cargo_winpkg::check(paths, &options))
    .collect();
    reports.push(cargo_winpkg::Report {
        files: Vec::new(),
        diagnostics: Vec::new(),
        unreadable: Vec::new(),
    });
    for report in &reports {
        let mut ours = Vec::new();
        write(report, Format::Json, false, &mut ours).unwrap();
        let mut theirs = serde_json::to_vec_pretty(report).unwrap();
        theirs.push(b'\n');
        assert!(
            ours == theirs,
            "{}\n---\n{}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }
    assert!(reports[0].files.len() > 10);
}
