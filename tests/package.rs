//! Packaging real cross-built crates and reading the zips back.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

/// Every entry of a zip, with its bytes and its DOS timestamp.
fn read_zip(path: &Path) -> BTreeMap<String, (Vec<u8>, zip::DateTime, Option<u32>)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut z = zip::ZipArchive::new(f).expect("a valid zip");
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let t = e.last_modified().unwrap_or_default();
        let name = e.name().expect("a UTF-8 entry name").to_string();
        out.insert(name, (data, t, e.unix_mode()));
    }
    out
}

fn example() -> PathBuf {
    root().join("examples/hello-service/Cargo.toml")
}

#[test]
// One build, read back entry by entry: splitting it would build the example twice.
#[allow(clippy::too_many_lines)]
fn example_service_package_reads_back_and_is_reproducible() {
    let out1 = tempfile::tempdir().unwrap();
    let out2 = tempfile::tempdir().unwrap();
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    let r = package(&example(), out1.path(), &["--release"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let zip1 = zip_path(&v);
    assert_eq!(
        zip1,
        out1.path()
            .join("hello-service-0.1.0-x86_64-pc-windows-gnu.zip")
    );
    assert_eq!(v["packages"][0]["archive"]["service_mode"], "native");

    let entries = read_zip(&zip1);
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "hello-service.exe",
            "install.cmd",
            "install.ps1",
            "service.json",
            "uninstall.cmd",
            "uninstall.ps1"
        ]
    );
    for (name, (data, t, mode)) in &entries {
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (2023, 11, 14, 22, 13),
            "{name}"
        );
        let m = mode.expect("unix mode") & 0o777;
        let exec = name.ends_with(".exe") || name.ends_with(".cmd") || name.ends_with(".ps1");
        assert_eq!(m, if exec { 0o755 } else { 0o644 }, "{name}");
        if name.ends_with(".cmd") || name.ends_with(".ps1") {
            let text = String::from_utf8(data.clone()).expect("UTF-8 script");
            let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
            assert_eq!(
                text.starts_with('\u{feff}'),
                name.ends_with(".ps1"),
                "BOM only on .ps1: {name}"
            );
            assert!(body.ends_with("\r\n"), "{name}");
            assert!(
                !body.replace("\r\n", "").contains('\n'),
                "bare LF in {name}"
            );
            assert!(!body.contains("\r\r"), "{name}");
        }
    }
    // SHA256SUMS covers every other entry, in sha256sum -c format.
    let sums = String::from_utf8(entries["SHA256SUMS"].0.clone()).unwrap();
    let listed: Vec<&str> = sums
        .lines()
        .map(|l| l.split_once("  ").unwrap().1)
        .collect();
    assert_eq!(listed.len(), entries.len() - 1);
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        assert_eq!(
            hash,
            cargo_winpkg::package::sha256_hex(&entries[name].0),
            "{name}"
        );
    }
    // The manifest describes the service and the files.
    let m: Value = serde_json::from_slice(&entries["service.json"].0).unwrap();
    assert_eq!(m["format"], "cargo-winpkg-service");
    assert_eq!(m["format_version"], 1);
    assert_eq!(m["package"]["target"], "x86_64-pc-windows-gnu");
    assert_eq!(m["exe"], "hello-service.exe");
    assert_eq!(m["service"]["name"], "hello-service");
    assert_eq!(m["service"]["mode"], "native");
    assert_eq!(m["service"]["start"], "auto");
    assert_eq!(m["service"]["object_name"], "NT AUTHORITY\\LocalService");
    assert_eq!(
        m["service"]["image_path"],
        "\"{dir}\\hello-service.exe\" --greeting \"hello from {dir}\" --log \"{dir}\\hello-service.log\""
    );
    assert_eq!(m["dll_report"]["errors"], 0);
    let files: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"install.cmd") && !files.contains(&"service.json"));

    // Same inputs, another run: the same bytes. And no temporary files left behind.
    let r = package(&example(), out2.path(), &["--release"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip2 = zip_path(&r.json());
    assert_eq!(
        std::fs::read(&zip1).unwrap(),
        std::fs::read(&zip2).unwrap(),
        "byte-identical"
    );
    let leftovers: Vec<_> = std::fs::read_dir(out1.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

/// A throwaway crate: the twobins sources with the given winpkg table.
fn temp_crate(table: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_twobins(dir.path());
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!("[package]\nname = \"twobins\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[package.metadata.winpkg]\ntarget = \"x86_64-pc-windows-gnu\"\nbin = \"second\"\n{table}"),
    )
    .unwrap();
    dir
}

#[test]
fn root_dir_include_readme_and_archive_name() {
    let d = temp_crate(
        "root-dir = true\narchive-name = \"{name}-{bin}-{version}\"\ninclude = [\"conf/app.toml\", { src = \"extra/*.txt\", dest = \"docs/\" }, { src = \"one.txt\", dest = \"renamed.txt\" }]\n",
    );
    std::fs::create_dir_all(d.path().join("conf")).unwrap();
    std::fs::create_dir_all(d.path().join("extra")).unwrap();
    std::fs::write(d.path().join("conf/app.toml"), "x = 1\n").unwrap();
    std::fs::write(d.path().join("extra/a.txt"), "a").unwrap();
    std::fs::write(d.path().join("extra/b.txt"), "b").unwrap();
    std::fs::write(d.path().join("one.txt"), "1").unwrap();
    std::fs::write(d.path().join("README.md"), "# readme\n").unwrap();
    std::fs::write(d.path().join("LICENSE-MIT"), "mit\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let z = zip_path(&r.json());
    assert_eq!(z.file_name().unwrap(), "twobins-second-0.1.0.zip");
    let names: Vec<String> = read_zip(&z).into_keys().collect();
    let root = "twobins-second-0.1.0/";
    let want: Vec<String> = [
        "",
        "LICENSE-MIT",
        "README.md",
        "SHA256SUMS",
        "conf/",
        "conf/app.toml",
        "docs/",
        "docs/a.txt",
        "docs/b.txt",
        "renamed.txt",
        "second.exe",
        "service.json",
    ]
    .iter()
    .map(|n| format!("{root}{n}"))
    .collect();
    assert_eq!(names, want);
    // Timestamps default to 1980-01-01 without SOURCE_DATE_EPOCH.
    let (_, t, _) = &read_zip(&z)[&format!("{root}second.exe")];
    assert_eq!((t.year(), t.month(), t.day()), (1980, 1, 1));
}

/// Entries bigger than one deflate piece are compressed on every core: Info-ZIP's
/// unzip (an independent reader) tests and extracts them byte for byte, with their
/// modes, and the zip is the same whether one core or two made it.
#[test]
fn big_entries_deflate_in_parallel_and_read_back_anywhere() {
    let d = temp_crate("include = [\"big.bin\", \"empty.txt\", \"data/été.txt\"]\n");
    // 5 MiB and a bit: text with a counter, so matches cross the 1 MiB pieces.
    let big: Vec<u8> = (0..140_000)
        .flat_map(|i| format!("line {i:08}: the quick brown fox {}\n", i % 97).into_bytes())
        .collect();
    assert!(big.len() > 5 << 20, "{}", big.len());
    std::fs::write(d.path().join("big.bin"), &big).unwrap();
    std::fs::write(d.path().join("empty.txt"), "").unwrap();
    std::fs::create_dir_all(d.path().join("data")).unwrap();
    std::fs::write(d.path().join("data/été.txt"), "summer").unwrap();
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let manifest = d.path().join("Cargo.toml");
    let r1 = package(&manifest, one.path(), &[], &[("RAYON_NUM_THREADS", "1")]);
    assert_eq!(r1.code, 0, "{}", r1.stderr);
    let r2 = package(&manifest, two.path(), &[], &[("RAYON_NUM_THREADS", "2")]);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    let z = zip_path(&r1.json());
    assert!(
        std::fs::read(&z).unwrap() == std::fs::read(zip_path(&r2.json())).unwrap(),
        "the zip depends on the number of cores"
    );
    // Readable by everyone, like any file the user writes (not a temp file's 0600).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&z).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "{mode:o}");

    let t = std::process::Command::new("unzip")
        .arg("-t")
        .arg(&z)
        .output()
        .expect("unzip is installed (scripts/setup.sh)");
    let out = String::from_utf8_lossy(&t.stdout);
    assert!(t.status.success(), "{out}");
    assert!(out.contains("No errors detected"), "{out}");
    let x = tempfile::tempdir().unwrap();
    let e = std::process::Command::new("unzip")
        .args(["-q", "-d"])
        .arg(x.path())
        .arg(&z)
        .status()
        .unwrap();
    assert!(e.success());
    assert!(std::fs::read(x.path().join("big.bin")).unwrap() == big);
    assert_eq!(std::fs::read(x.path().join("empty.txt")).unwrap(), b"");
    assert_eq!(
        std::fs::read_to_string(x.path().join("data/été.txt")).unwrap(),
        "summer"
    );
    let mode_of = |n: &str| {
        std::fs::metadata(x.path().join(n))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode_of("second.exe"), 0o755);
    assert_eq!(mode_of("big.bin"), 0o644);
    // The zip crate reads the same bytes, and SHA256SUMS agrees with them.
    let entries = read_zip(&z);
    assert!(entries["big.bin"].0 == big);
    let sums = String::from_utf8(entries["SHA256SUMS"].0.clone()).unwrap();
    let c = std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "-"])
        .current_dir(x.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(sums.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(c.success(), "{sums}");
}

#[test]
fn names_windows_cannot_extract_are_refused() {
    for (dest, why) in [
        ("CON.txt", "reserved device name"),
        ("docs/a:b.txt", "not allowed in Windows file names"),
        ("trailing.", "cannot end with a dot"),
        ("../up.txt", "`..`"),
    ] {
        let d = temp_crate(&format!(
            "include = [{{ src = \"one.txt\", dest = \"{dest}\" }}]\n"
        ));
        std::fs::write(d.path().join("one.txt"), "1").unwrap();
        let out = tempfile::tempdir().unwrap();
        let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
        assert_eq!(r.code, 2, "{dest}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{dest}: {}", r.stderr);
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }
    let d = temp_crate("include = [{ src = \"one.txt\", dest = \"readme.md\" }]\n");
    std::fs::write(d.path().join("one.txt"), "1").unwrap();
    std::fs::write(d.path().join("README.md"), "r").unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("README.md"), "{}", r.stderr);
}

#[test]
fn a_failed_run_keeps_the_previous_package() {
    let d = temp_crate("");
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let z = zip_path(&r.json());
    let before = std::fs::read(&z).unwrap();
    // Break the configuration: an include that matches nothing.
    let toml = std::fs::read_to_string(d.path().join("Cargo.toml")).unwrap()
        + "include = [\"missing/*.txt\"]\n";
    std::fs::write(d.path().join("Cargo.toml"), toml).unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`missing/*.txt` matches no file"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(&z).unwrap(),
        before,
        "the previous zip is untouched"
    );
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        1,
        "no temporary files"
    );
}

#[test]
fn a_console_program_declared_native_is_refused_before_packaging() {
    let d =
        temp_crate("\n[package.metadata.winpkg.service]\nname = \"console\"\nmode = \"native\"\n");
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not-a-service"), "{}", r.stderr);
    assert!(r.stderr.contains("1053"), "{}", r.stderr);
    assert!(r.stderr.contains("mode = \"shawl\""), "{}", r.stderr);
    assert!(
        r.stderr.contains("remove mode = \"native\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Cargo.toml:"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

/// A CHANGELOG beside Cargo.toml ships like README and LICENSE.
#[test]
fn the_changelog_ships_with_the_readme() {
    let d = temp_crate("");
    std::fs::write(d.path().join("CHANGELOG.md"), "# Changelog\n").unwrap();
    std::fs::write(d.path().join("README.md"), "# twobins\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names = zip_names(&zip_path(&r.json()));
    assert!(names.contains(&"CHANGELOG.md".to_string()), "{names:?}");
    assert!(names.contains(&"README.md".to_string()), "{names:?}");
}

#[test]
fn a_console_program_defaults_to_shawl_and_ships_it() {
    // Any real PE stands in for shawl.exe here; tests/wine.rs runs the real one.
    let shawl = fixture("pe/c-hello-x64.exe");
    let d = temp_crate(&format!(
        "\n[package.metadata.winpkg.service]\nname = \"wrapped\"\nargs = [\"--port\", \"8080\"]\nenv = {{ RUST_LOG = \"info\" }}\nstop-timeout = \"5s\"\nshawl = {:?}\n",
        shawl.to_str().unwrap()
    ));
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["packages"][0]["archive"]["service_mode"], "shawl");
    let entries = read_zip(&zip_path(&v));
    assert_eq!(entries["shawl.exe"].0, std::fs::read(&shawl).unwrap());
    let m: Value = serde_json::from_slice(&entries["service.json"].0).unwrap();
    assert_eq!(
        m["service"]["image_path"],
        "\"{dir}\\shawl.exe\" run --name wrapped --cwd \"{dir}\" --env RUST_LOG=info --restart --restart-delay 5000 --stop-timeout 5000 -- \"{dir}\\second.exe\" --port 8080"
    );
}

#[test]
fn invalid_service_tables_are_refused_before_the_build() {
    for (table, key, what) in [
        ("name = \"a/b\"", "service.name", "cannot contain `/`"),
        (
            "name = \"ok\"\nstart = \"sometimes\"",
            "service.start",
            "delayed-auto",
        ),
        (
            "name = \"ok\"\naccount = \"bad|name\"",
            "service.account",
            "not an account name",
        ),
        (
            "name = \"ok\"\nrecovery = { actions = [\"explode\"] }",
            "service.recovery.actions[0]",
            "restart",
        ),
        (
            "name = \"ok\"\npreshutdown-timeout = \"ten\"",
            "service.preshutdown-timeout",
            "not a duration",
        ),
        (
            "name = \"ok\"\nargs = [\"a\\nb\"]",
            "service.args[0]",
            "line break",
        ),
        (
            "name = \"ok\"\nrequired-privileges = [\"Debug\"]",
            "service.required-privileges[0]",
            "SeChangeNotifyPrivilege",
        ),
        ("display-name = \"x\"", "service.name", "needs a `name`"),
    ] {
        let d = temp_crate(&format!("\n[package.metadata.winpkg.service]\n{table}\n"));
        let out = tempfile::tempdir().unwrap();
        let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
        assert_eq!(r.code, 2, "{table}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("package.metadata.winpkg.{key}")),
            "{table}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(what), "{table}: {}", r.stderr);
        assert!(
            !r.stderr.contains("Compiling"),
            "refused before building: {}",
            r.stderr
        );
    }
}

#[test]
fn a_cpp_program_gets_its_mingw_runtime_bundled() {
    let out = tempfile::tempdir().unwrap();
    let m = fixture("crates/cppdep/Cargo.toml");
    let r = package(&m, out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let entries = read_zip(&zip_path(&v));
    // Stripping keeps the package reproducible.
    let out2 = tempfile::tempdir().unwrap();
    let r2 = package(&m, out2.path(), &[], &[]);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    assert!(
        std::fs::read(zip_path(&v)).unwrap() == std::fs::read(zip_path(&r2.json())).unwrap(),
        "byte-identical zips"
    );
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "cppdep.exe",
            "libgcc_s_seh-1.dll",
            "libstdc++-6.dll",
            "service.json"
        ]
    );
    // The DLLs are the toolchain's own, without their debug sections and symbols
    // (strip-bundled-dlls = true in the fixture): the same as `strip --strip-all`.
    let dir = mingw_dll_dir("x86_64-w64-mingw32-gcc", "libstdc++-6.dll");
    let original = std::fs::read(dir.join("libstdc++-6.dll")).unwrap();
    let copy = out.path().join("expected-libstdc++-6.dll");
    std::fs::write(&copy, &original).unwrap();
    let stamp = cargo_winpkg::package::bundle::pe_timestamp(&original).unwrap();
    let st = std::process::Command::new("x86_64-w64-mingw32-strip")
        .arg("--strip-all")
        .arg(&copy)
        .env("SOURCE_DATE_EPOCH", stamp.to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let shipped = &entries["libstdc++-6.dll"].0;
    assert!(
        shipped == &std::fs::read(&copy).unwrap(),
        "stripped like strip --strip-all, keeping its link time"
    );
    assert!(
        shipped.len() * 4 < original.len(),
        "{} vs {}",
        shipped.len(),
        original.len()
    );
    let bundle = &v["packages"][0]["bundle_check"];
    // Nothing the loader would miss, and no debug info or symbols shipped; the
    // remaining notes are trust hygiene (unsigned, no version info, no CFG).
    assert!(codes(bundle).is_empty(), "{bundle:#}");
    assert!(
        !all_codes(bundle).contains(&"debug-info-shipped".to_string()),
        "{bundle:#}"
    );
    let m: Value = serde_json::from_slice(&entries["service.json"].0).unwrap();
    assert_eq!(
        m["dll_report"]["bundled"],
        serde_json::json!(["libstdc++-6.dll", "libgcc_s_seh-1.dll"])
    );

    // Without bundling, the check stops the run before a zip is written.
    let d = tempfile::tempdir().unwrap();
    let src = fixture("crates/cppdep");
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    for f in ["build.rs", "Cargo.lock", "src/main.rs", "src/greet.cpp"] {
        std::fs::copy(src.join(f), d.path().join(f)).unwrap();
    }
    let toml =
        std::fs::read_to_string(src.join("Cargo.toml")).unwrap() + "bundle-mingw-runtime = false\n";
    std::fs::write(d.path().join("Cargo.toml"), toml).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("missing-mingw-runtime"), "{}", r.stdout);
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "no zip");
}

/// Runs killed mid-way (SIGKILL: no destructor ran) leave a temporary zip and a
/// staging folder; the next run removes those of dead processes, never a live one's.
#[test]
fn leftovers_of_killed_runs_are_removed() {
    let d = temp_crate("");
    let out = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let winpkg_dir = target.path().join("winpkg");
    std::fs::create_dir_all(&winpkg_dir).unwrap();
    // A process id that is surely dead: a child that has exited and been reaped.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let live = std::process::id();
    let stale_stage = winpkg_dir.join(format!(".stage-{dead}-AbC123"));
    std::fs::create_dir_all(&stale_stage).unwrap();
    std::fs::write(stale_stage.join("big.dll"), vec![0u8; 1 << 20]).unwrap();
    let stale_zip = out
        .path()
        .join(format!(".twobins-0.1.0.zip.{dead}.xYz789.tmp"));
    std::fs::write(&stale_zip, b"half a zip").unwrap();
    let live_stage = winpkg_dir.join(format!(".stage-{live}-Live00"));
    std::fs::create_dir_all(&live_stage).unwrap();
    let mine = out.path().join("notes.txt.12.ab.tmp");
    std::fs::write(&mine, b"not ours").unwrap();

    let o = winpkg()
        .args(["winpkg", "--manifest-path"])
        .arg(d.path().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target.path())
        .arg("--output")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(!stale_stage.exists(), "{stderr}");
    assert!(!stale_zip.exists(), "{stderr}");
    assert!(live_stage.exists(), "a live run's folder is kept");
    assert!(mine.exists(), "files that are not ours are kept");
    assert!(
        stderr.contains("leftover(s) of interrupted runs"),
        "{stderr}"
    );
}

/// `cargo winpkg --release --no-build` on `manifest` under a 64 KiB file size limit,
/// with SIGXFSZ ignored so writes fail with EFBIG as they would with ENOSPC.
fn package_on_a_full_disk(manifest: &Path, out: &Path) -> (Option<i32>, String) {
    let exe = assert_cmd::cargo::cargo_bin("cargo-winpkg");
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$@\"")
        .arg("bash")
        .arg(&exe)
        .args(["winpkg", "--release", "--no-build", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(shared_target())
        .arg("--output")
        .arg(out)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A full disk (here: a file size limit) while the staged exe is stamped, and while the
/// zip is written: one clear error, no stray lines from the zip writer, no temporary
/// file left, the old zip untouched.
#[test]
fn a_full_disk_while_writing_fails_cleanly() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    let before = std::fs::read(&zip).unwrap();
    let only_the_old_zip = || {
        let names: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(
            std::fs::read(&zip).unwrap(),
            before,
            "the old zip is untouched"
        );
    };
    // The exe is built; staging writes a stamped copy of it.
    let (code, stderr) = package_on_a_full_disk(
        &root().join("examples/hello-service/Cargo.toml"),
        out.path(),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("error: cannot stamp version information into"),
        "{stderr}"
    );
    assert!(stderr.contains("File too large"), "{stderr}");
    only_the_old_zip();
    // Without stamping the exe is linked into staging, and the zip is what fails.
    let tmp = tempfile::tempdir().unwrap();
    let manifest = copy_example_with(tmp.path(), |t| {
        t + "\n[package.metadata.winpkg.version-info]\nstamp = false\n"
    });
    let built = package(&manifest, tmp.path(), &["--release"], &[]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let (code, stderr) = package_on_a_full_disk(&manifest, out.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("error: cannot write"), "{stderr}");
    assert!(!stderr.contains("ZipWriter"), "{stderr}");
    only_the_old_zip();
}

/// Mistakes that used to surface only after the build, or not at all: each is an error
/// at its key, before anything compiles.
#[test]
fn file_mistakes_are_config_errors_before_the_build() {
    let long = "n".repeat(300);
    // A file of this machine, outside the crate's workspace.
    let elsewhere = tempfile::tempdir().unwrap();
    let host_file = elsewhere.path().join("hostname");
    std::fs::write(&host_file, "machine-42\n").unwrap();
    let host_file = host_file.display().to_string();
    let huge_arg = "x".repeat(9000);
    for (table, key, what) in [
        (
            format!("archive-name = \"{long}\"\n"),
            "archive-name",
            "file systems take 255 at most",
        ),
        (
            "bundle-dlls = [\"notes.dll\"]\n".to_string(),
            "bundle-dlls[0]",
            "is not a DLL that can ship",
        ),
        (
            format!("include = [\"{host_file}\"]\n"),
            "include[0]",
            "outside the workspace",
        ),
        (
            "include = [{ src = \"a.txt\", dest = \"SHA256SUMS\" }]\n".to_string(),
            "include[0]",
            "would be a second `SHA256SUMS`",
        ),
        (
            "include = [{ src = \"a.txt\", dest = \"x.txt\" }, { src = \"b.txt\", dest = \"X.TXT\" }]\n"
                .to_string(),
            "include[1]",
            "would be a second `x.txt`",
        ),
        (
            "include = [{ src = \"a.txt\", dest = \"second.exe\" }]\n".to_string(),
            "include[0]",
            "would be a second `second.exe`",
        ),
        (
            format!("\n[package.metadata.winpkg.service]\nname = \"svc\"\nargs = [\"{huge_arg}\"]\n"),
            "service",
            "longer than cmd.exe accepts",
        ),
    ] {
        let d = temp_crate(&table);
        std::fs::write(d.path().join("notes.dll"), "not a DLL").unwrap();
        std::fs::write(d.path().join("a.txt"), "a").unwrap();
        std::fs::write(d.path().join("b.txt"), "b").unwrap();
        let out = tempfile::tempdir().unwrap();
        let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
        let short = &table[..table.len().min(60)];
        assert_eq!(r.code, 2, "{short}: {}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("key: package.metadata.winpkg.{key}\n")),
            "{short}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(what), "{short}: {}", r.stderr);
        assert!(!r.stderr.contains("Compiling"), "before the build: {}", r.stderr);
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
    // With an explicit destination a file from outside is packed on purpose.
    let d = temp_crate(&format!(
        "include = [{{ src = \"{host_file}\", dest = \"host.txt\" }}]\n"
    ));
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names = zip_names(&zip_path(&r.json()));
    assert!(names.contains(&"host.txt".to_string()), "{names:?}");
}

/// `account = "LocalSytem"` used to become a user account whose install asks for a
/// password; a bare word that is no built-in account is an error with a suggestion.
#[test]
fn a_misspelled_account_is_an_error_with_a_suggestion() {
    for (account, hint) in [
        ("LocalSytem", "did you mean `LocalSystem`?"),
        ("NetworkServce", "did you mean `NetworkService`?"),
        ("bob", "DOMAIN\\\\user"),
    ] {
        let d = temp_crate(&format!(
            "\n[package.metadata.winpkg.service]\nname = \"svc\"\naccount = \"{account}\"\n"
        ));
        let out = tempfile::tempdir().unwrap();
        let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
        assert_eq!(r.code, 2, "{account}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("key: package.metadata.winpkg.service.account"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains(hint), "{account}: {}", r.stderr);
    }
    // Written with a domain, a user account is accepted.
    for account in [
        "CORP\\\\svc-agent",
        ".\\\\svc-agent",
        "svc-agent@corp.example",
    ] {
        let d = temp_crate(&format!(
            "\n[package.metadata.winpkg.service]\nname = \"svc\"\naccount = \"{account}\"\nmode = \"shawl\"\nshawl = \"shawl.exe\"\n"
        ));
        std::fs::copy(fixture("pe/c-hello-x64.exe"), d.path().join("shawl.exe")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
        assert_eq!(r.code, 0, "{account}: {}", r.stderr);
    }
}

/// A debug build used to write over the release zip of the same name.
#[test]
fn a_debug_build_never_overwrites_the_release_zip() {
    let d = temp_crate("");
    let out = tempfile::tempdir().unwrap();
    let release = package(
        &d.path().join("Cargo.toml"),
        out.path(),
        &["--release"],
        &[],
    );
    assert_eq!(release.code, 0, "{}", release.stderr);
    let dev = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(dev.code, 0, "{}", dev.stderr);
    let (r, d2) = (zip_path(&release.json()), zip_path(&dev.json()));
    assert!(
        r.ends_with("twobins-0.1.0-x86_64-pc-windows-gnu.zip"),
        "{}",
        r.display()
    );
    assert!(
        d2.ends_with("twobins-0.1.0-x86_64-pc-windows-gnu-dev.zip"),
        "{}",
        d2.display()
    );
    assert!(r.exists() && d2.exists());
    assert!(
        dev.stderr.contains("dev profile"),
        "cargo's name: {}",
        dev.stderr
    );
}

/// Success is quiet, like cargo: problems and a one-line summary; the import table with
/// -v; -q prints nothing but errors.
#[test]
fn build_output_is_a_summary_unless_asked_for_more() {
    let d = temp_crate("");
    let out = tempfile::tempdir().unwrap();
    let run_with = |extra: &[&str]| {
        let o = winpkg()
            .args(["winpkg", "--manifest-path"])
            .arg(d.path().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(shared_target())
            .arg("--output")
            .arg(out.path())
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (stdout, stderr) = run_with(&[]);
    // One count, one place, one line: the `Checked` stage line on stderr, and nothing
    // of it again on stdout (a clean build prints no problem there).
    assert!(
        stderr.contains("Checked 1 file: 0 errors, 0 warnings in"),
        "{stderr}"
    );
    assert!(stdout.trim().is_empty(), "{stdout}");
    assert!(
        stderr.contains("Trust 2 notes on the shipped files"),
        "{stderr}"
    );
    assert!(stderr.contains("Packaged"), "{stderr}");
    let (stdout, _) = run_with(&["-v"]);
    assert!(
        stdout.contains("CLASS") && stdout.contains("KERNEL32.dll"),
        "{stdout}"
    );
    let (stdout, stderr) = run_with(&["-q"]);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!stderr.contains("Packaged"), "{stderr}");
}

/// The PATH helpers in assets/ are what assets/make.sh builds from pathedit.c and
/// pathedit.rc, byte for byte: the binaries that ship in users' packages come from the
/// source in this repository.
#[test]
fn the_path_helpers_are_built_from_their_source() {
    let out = tempfile::tempdir().unwrap();
    let r = std::process::Command::new("bash")
        .arg(root().join("assets/make.sh"))
        .arg(out.path())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for name in ["winpkg-path-x64.exe", "winpkg-path-x86.exe"] {
        let built = std::fs::read(out.path().join(name)).unwrap();
        let committed = std::fs::read(root().join("assets").join(name)).unwrap();
        assert!(
            built == committed,
            "assets/{name} is stale: run assets/make.sh"
        );
    }
}

/// A command-line tool's package ships the PATH helper in a folder of its own (so it
/// does not go on PATH itself), listed in SHA256SUMS and service.json, and checked with
/// the rest: it needs nothing but Windows's own DLLs. Its name is reserved.
#[test]
fn a_cli_package_ships_the_path_helper() {
    let d = temp_crate("[package.metadata.winpkg.cli]\npath = \"user\"\n");
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let z = zip_path(&r.json());
    let files = read_zip(&z);
    let (helper, _, _) = &files["winpkg/winpkg-path.exe"];
    assert!(
        helper == &std::fs::read(root().join("assets/winpkg-path-x64.exe")).unwrap(),
        "the x64 helper for an x86_64 target"
    );
    let (sums, _, _) = &files["SHA256SUMS"];
    let sums = String::from_utf8_lossy(sums);
    assert!(
        sums.lines().any(|l| l.ends_with(" winpkg/winpkg-path.exe")
            && l.starts_with(&cargo_winpkg::package::sha256_hex(helper))),
        "{sums}"
    );
    let (manifest, _, _) = &files["service.json"];
    let manifest: Value = serde_json::from_slice(manifest).unwrap();
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "winpkg/winpkg-path.exe"),
        "{manifest}"
    );
    let bundle = &r.json()["packages"][0]["bundle_check"];
    let checked = bundle["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("winpkg-path.exe"))
        .unwrap_or_else(|| panic!("the helper is checked with the bundle: {bundle}"));
    let dlls: Vec<String> = checked["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i["dll"].as_str().unwrap().to_lowercase(),
                i["class"]
            )
        })
        .collect();
    assert_eq!(
        dlls,
        [
            "advapi32.dll \"system\"",
            "kernel32.dll \"system\"",
            "user32.dll \"system\""
        ]
    );
    // An include cannot take its name.
    let d = temp_crate(
        "include = [{ src = \"one.txt\", dest = \"winpkg/winpkg-path.exe\" }]\n[package.metadata.winpkg.cli]\npath = \"user\"\n",
    );
    std::fs::write(d.path().join("one.txt"), "1").unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("include[0]"), "{}", r.stderr);
}

/// All rows of an MSI table, each as its values' text (`msi` crate).
fn msi_rows(path: &Path, table: &str) -> Vec<Vec<String>> {
    let mut p = msi::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = p
        .select_rows(msi::Select::table(table))
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    rows.map(|row| {
        (0..row.len())
            .map(|i| match &row[i] {
                msi::Value::Null => String::new(),
                msi::Value::Int(n) => n.to_string(),
                msi::Value::Str(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    })
    .collect()
}

/// `--msi` on the example service, from two copies of the crate in folders of different
/// depth: the MSI reads back with the zip's files, the service's rows and the upgrade
/// rules, its summary is the product's, and both builds give the same bytes.
#[test]
fn an_msi_holds_the_zips_files_and_the_service_and_is_reproducible() {
    let code = "{6F1C2A3B-1111-4222-8333-944455556666}";
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let msis = [
        build_rich_msi(a.path().to_path_buf(), code),
        build_rich_msi(b.path().join("one/two"), code),
    ];
    let (msi, zip) = &msis[0];
    assert!(
        std::fs::read(msi).unwrap() == std::fs::read(&msis[1].0).unwrap(),
        "two builds in two folders give the same MSI"
    );
    // Every file of the zip, by its long name, with its size.
    let zip_files: Vec<(String, usize)> = zip_entries(zip)
        .into_iter()
        .map(|(n, d)| (n, d.len()))
        .collect();
    let mut msi_files: Vec<(String, usize)> = msi_rows(msi, "File")
        .into_iter()
        .map(|r| {
            (
                r[2].split('|').next_back().unwrap().to_string(),
                r[3].parse().unwrap(),
            )
        })
        .collect();
    msi_files.sort();
    assert_eq!(msi_files, zip_files);
    let props: std::collections::BTreeMap<String, String> = msi_rows(msi, "Property")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(props["ProductVersion"], "0.1.0");
    assert_eq!(props["UpgradeCode"], code);
    assert_eq!(props["Manufacturer"], "ACME [Labs] {x}");
    assert_eq!(props["ProductCode"].len(), 38);
    let svc = &msi_rows(msi, "ServiceInstall")[0];
    assert_eq!(svc[1], "hello-service");
    assert_eq!(svc[2], "Hello Service (cargo-winpkg example)");
    assert_eq!(svc[4], "2", "auto start");
    assert_eq!(svc[8], "NT AUTHORITY\\LocalService");
    assert!(
        svc[10].contains("\"[INSTALLDIR]hello-service.log\""),
        "{svc:?}"
    );
    let control = &msi_rows(msi, "ServiceControl")[0];
    assert_eq!(
        control[2],
        (1 | 2 | 32 | 128).to_string(),
        "start, stop, delete"
    );
    // The example's recovery (restart after 5 s, restart, nothing; reset after a day)
    // by `sc.exe failure` in a deferred custom action (Microsoft's MsiConfigureServices
    // page: MsiServiceConfigFailureActions does not work as expected).
    let recovery = msi_rows(msi, "CustomAction")
        .into_iter()
        .find(|a| a[0] == "service_recovery")
        .unwrap();
    assert!(
        recovery[3].ends_with(
            "failure \"hello-service\" reset= 86400 actions= restart/5000/restart/5000//0"
        ),
        "{recovery:?}"
    );
    assert_eq!(
        msi_rows(msi, "InstallExecuteSequence")
            .iter()
            .find(|r| r[0] == "MsiConfigureServices")
            .map(|r| r[2].as_str()),
        Some("5850")
    );
    assert_registry_folders_and_saved_dir(msi, code);
    assert_hashes_upgrade_and_summary(msi, zip);
}

/// The example service with data and log folders, env, and an MSI table (an upgrade
/// code, a manufacturer with brackets), built with `--msi` in `dir`: (MSI, zip).
fn build_rich_msi(dir: PathBuf, code: &str) -> (PathBuf, PathBuf) {
    let table = format!(
        "\n[package.metadata.winpkg.msi]\nupgrade-code = \"{code}\"\nmanufacturer = \"ACME [Labs] {{x}}\"\n"
    );
    let env = [("SOURCE_DATE_EPOCH", "1700000000")];
    let manifest = copy_example_with(&dir, |t| {
        t.replacen(
            "account = \"LocalService\"",
            "account = \"LocalService\"\ndata-dirs = [\"{programdata}\\\\hello-service\\\\data\", \"D:\\\\svc [x]\"]\nlog-dir = \"{dir}\\\\logs\"\nenv = { GREETING = \"[hi] & 100%\", RUST_LOG = \"info\" }",
            1,
        ) + &table
    });
    let r = package(&manifest, &dir.join("out"), &["--release", "--msi"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("the MSI"),
        "the MSI does all the zip's scripts do: {}",
        r.stderr
    );
    // The service kind, in the default output.
    assert!(
        r.stderr.contains(
            "Service hello-service.exe is a native service `hello-service`: it runs the service dispatcher"
        ),
        "{}",
        r.stderr
    );
    let v = r.json();
    let msi = PathBuf::from(v["packages"][0]["msi"]["path"].as_str().unwrap());
    assert_eq!(msi, zip_path(&v).with_extension("msi"));
    assert_eq!(v["packages"][0]["msi"]["upgrade_code"], code);
    (msi, zip_path(&v))
}

/// The Registry rows (Event Log source, environment, the remembered install folder),
/// the data and log folders (permanent components, granted to the account), and the
/// custom actions that restore the folder and set the absolute one, in their order.
fn assert_registry_folders_and_saved_dir(msi: &Path, code: &str) {
    // The Event Log source and the environment, in the Registry table (formatted text:
    // `[` arrives literally; `[~]` separates a multi-string's entries).
    let registry = msi_rows(msi, "Registry");
    let value = |name: &str| {
        registry
            .iter()
            .find(|r| r[3] == name)
            .unwrap_or_else(|| panic!("{name}: {registry:?}"))
            .clone()
    };
    assert_eq!(
        value("EventMessageFile")[2],
        "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\hello-service"
    );
    assert_eq!(
        value("EventMessageFile")[4],
        "#%[INSTALLDIR]hello-service.exe"
    );
    assert_eq!(value("TypesSupported")[4], "#7");
    assert_eq!(
        value("Environment")[4],
        "[~]GREETING=[\\[]hi[\\]] & 100%[~]RUST_LOG=info[~]"
    );
    // The folders: created by permanent components (kept at uninstall), each granted
    // to LocalService (SDDL `LS`); the absolute one set by a custom action.
    let create = msi_rows(msi, "CreateFolder");
    assert_eq!(create.len(), 3, "{create:?}");
    let components = msi_rows(msi, "Component");
    for row in &create {
        let c = components.iter().find(|c| c[0] == row[1]).unwrap();
        assert_eq!(c[3], (256 | 16).to_string(), "64-bit, permanent: {c:?}");
        assert_eq!(c[2], row[0]);
    }
    let locks = msi_rows(msi, "MsiLockPermissionsEx");
    assert_eq!(locks.len(), 3, "{locks:?}");
    assert!(locks.iter().all(|l| l[2] == "CreateFolder"
        && l[3] == "D:AI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;LS)"));
    let actions = msi_rows(msi, "CustomAction");
    let absolute = actions
        .iter()
        .find(|a| a[0].starts_with("set_"))
        .unwrap_or_else(|| panic!("{actions:?}"));
    assert_eq!(absolute[1], "51");
    assert_eq!(absolute[3], "D:\\svc [\\[]x[\\]]\\");
    // The install folder is remembered in the registry (64-bit view) and read back by
    // AppSearch, unless INSTALLDIR is given on the command line.
    assert_eq!(
        value("InstallDir")[2],
        format!("Software\\cargo-winpkg\\{code}")
    );
    assert_eq!(value("InstallDir")[4], "[INSTALLDIR]");
    let locator = &msi_rows(msi, "RegLocator")[0];
    assert_eq!(locator[2], value("InstallDir")[2]);
    assert_eq!(locator[4], (2 | 16).to_string());
    assert_eq!(msi_rows(msi, "AppSearch")[0][0], "WPK_SAVEDDIR");
    let restore = actions.iter().find(|a| a[0] == "saved_dir").unwrap();
    assert_eq!(
        (restore[2].as_str(), restore[3].as_str()),
        ("INSTALLDIR", "[WPK_SAVEDDIR]")
    );
    let order: Vec<(String, String)> = msi_rows(msi, "InstallExecuteSequence")
        .into_iter()
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    let at = |a: &str| -> i32 {
        order
            .iter()
            .find(|(n, _)| n == a)
            .unwrap()
            .1
            .parse()
            .unwrap()
    };
    assert!(at("given_dir") < at("AppSearch") && at("AppSearch") < at("saved_dir"));
    assert!(at("saved_dir") < at("CostFinalize") && at(&absolute[0]) < at("CostFinalize"));
}

/// Every unversioned file's MD5, msitools' reading, the rules, the upgrade rows, the
/// launch condition and the summary.
fn assert_hashes_upgrade_and_summary(msi: &Path, zip: &Path) {
    // Every unversioned file's MD5 in MsiFileHash, as the zip's bytes give it; the
    // versioned exe has its File.Version instead.
    let hashes = msi_rows(msi, "MsiFileHash");
    let files = msi_rows(msi, "File");
    assert_eq!(hashes.len(), files.len() - 1);
    for (name, data) in zip_entries(zip) {
        let file = files
            .iter()
            .find(|f| f[2].split('|').next_back() == Some(name.as_str()))
            .unwrap();
        if name == "hello-service.exe" {
            assert_eq!(file[4], "0.1.0.0");
            continue;
        }
        let id = &file[0];
        let h = hashes.iter().find(|h| &h[0] == id).unwrap();
        let md5: Vec<u8> = h[2..6]
            .iter()
            .flat_map(|p| p.parse::<i32>().unwrap().to_le_bytes())
            .collect();
        assert_eq!(md5, md5_of(&data), "{name}");
    }
    msitools_agree(msi, zip);
    assert_msi_rules_pass(msi);
    let upgrade = msi_rows(msi, "Upgrade");
    assert_eq!(upgrade.len(), 2, "{upgrade:?}");
    assert!(
        upgrade
            .iter()
            .any(|r| r[2] == "0.1.0" && r[6] == "WPK_OLDER")
    );
    assert!(
        upgrade
            .iter()
            .any(|r| r[1] == "0.1.0" && r[4] == "2" && r[6] == "WPK_NEWER")
    );
    let launch = &msi_rows(msi, "LaunchCondition")[0];
    assert_eq!(launch[0], "NOT WPK_NEWER");
    let package = msi::open(msi).unwrap();
    let summary = package.summary_info();
    assert_eq!(summary.arch(), Some("x64"));
    assert_eq!(summary.author(), Some("ACME [Labs] {x}"));
    assert_eq!(
        summary.creation_time(),
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
    );
}

/// `--msi` stops before the build without an upgrade code (printing a fresh one to
/// paste), and on a version Windows Installer cannot compare.
#[test]
fn msi_mistakes_are_named_before_the_build() {
    let d = temp_crate("");
    let r = package(&d.path().join("Cargo.toml"), d.path(), &["--msi"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("package.metadata.winpkg.msi.upgrade-code"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("upgrade-code = \"{"), "{}", r.stderr);
    assert!(!r.stderr.contains("Compiling"), "{}", r.stderr);
    let d = temp_crate(
        "[package.metadata.winpkg.msi]\nupgrade-code = \"{6F1C2A3B-1111-4222-8333-944455556666}\"\n",
    );
    let manifest = d.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("0.1.0", "0.1.0-beta.1");
    std::fs::write(&manifest, text).unwrap();
    let r = package(&manifest, d.path(), &["--msi"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("pre-release"), "{}", r.stderr);
}

/// MD5 by coreutils' md5sum (a reference independent of the crate's own).
fn md5_of(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// msitools, a second reader written independently of the msi crate, reads the same
/// tables (`msiinfo export`), and its `msiextract` takes every file out of our
/// cabinet with the zip's bytes.
fn msitools_agree(msi: &Path, zip: &Path) {
    let tables = std::process::Command::new("msiinfo")
        .arg("tables")
        .arg(msi)
        .output()
        .expect("msiinfo (msitools; scripts/setup.sh installs it)");
    assert!(tables.status.success(), "{tables:?}");
    let names = String::from_utf8(tables.stdout).unwrap();
    for table in [
        "File",
        "Component",
        "Directory",
        "Property",
        "ServiceInstall",
        "Registry",
        "CreateFolder",
        "MsiLockPermissionsEx",
        "MsiFileHash",
        "CustomAction",
    ] {
        assert!(names.lines().any(|l| l.trim() == table), "{table}: {names}");
        let out = std::process::Command::new("msiinfo")
            .arg("export")
            .arg(msi)
            .arg(table)
            .output()
            .unwrap();
        assert!(out.status.success(), "{table}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        // Three header lines (names, types, table and keys), then a row a line.
        let mut theirs: Vec<String> = text
            .lines()
            .skip(3)
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        let mut ours: Vec<String> = msi_rows(msi, table).iter().map(|r| r.join("\t")).collect();
        theirs.sort();
        ours.sort();
        assert_eq!(theirs, ours, "{table}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("msiextract")
        .arg("-C")
        .arg(dir.path())
        .arg(msi)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut extracted = Vec::new();
    for (name, data) in zip_entries(zip) {
        let mut found = Vec::new();
        find_named(dir.path(), &name, &mut found);
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(std::fs::read(&found[0]).unwrap() == data, "{name}");
        extracted.push(name);
    }
    assert!(!extracted.is_empty());
}

/// Files called `name` below `dir`.
fn find_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            find_named(&p, name, out);
        } else if e.file_name().to_string_lossy() == name {
            out.push(p);
        }
    }
}

/// Without SOURCE_DATE_EPOCH, the files of the zip and the MSI carry the time of the
/// last git commit of the crate's repository (so a web server serving them sends a
/// real Last-Modified, and a rebuilt release's files do not look unchanged), the same
/// at every build of that commit; outside git, 1980-01-01, and the build says so.
#[test]
fn files_are_dated_by_the_last_commit_without_source_date_epoch() {
    let d = temp_crate(
        "[package.metadata.winpkg.msi]\nupgrade-code = \"{6F1C2A3B-1111-4222-8333-944455556666}\"\n",
    );
    let out = tempfile::tempdir().unwrap();
    let r = package(&d.path().join("Cargo.toml"), out.path(), &["--msi"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("the files are dated 1980-01-01"),
        "{}",
        r.stderr
    );
    let year = |zip: &Path| {
        let mut a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
        let t = a.by_index(0).unwrap().last_modified().unwrap();
        (t.year(), t.month(), t.day(), t.hour(), t.minute())
    };
    assert_eq!(year(&zip_path(&r.json())).0, 1980);

    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .current_dir(d.path())
            .args(args)
            .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:10Z")
            .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:10Z")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "one"]);
    let r = package(&d.path().join("Cargo.toml"), out.path(), &["--msi"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("dated 1980"), "{}", r.stderr);
    assert_eq!(year(&zip_path(&r.json())), (2024, 5, 6, 7, 8));
    let msi = PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap());
    let when = msi::open(&msi).unwrap().summary_info().creation_time();
    assert_eq!(
        when,
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_714_979_290))
    );
    // SOURCE_DATE_EPOCH still wins.
    let r = package(
        &d.path().join("Cargo.toml"),
        out.path(),
        &[],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    assert_eq!(year(&zip_path(&r.json())).0, 2023);
}

/// A service argument that names a folder the package includes, as a bare word
/// (`public`), is pointed out: the service starts in System32, where it is not; and
/// `./public` is told to be written `{dir}\public`.
#[test]
fn relative_arguments_naming_what_ships_are_pointed_out() {
    let d = tempfile::tempdir().unwrap();
    let manifest = copy_example_with(d.path(), |t| {
        t.replacen(
            "[package.metadata.winpkg]",
            "[package.metadata.winpkg]\ninclude = [\"public/index.html\"]",
            1,
        )
        .replacen(
            "args = [",
            "args = [\"--root\", \"public\", \"--also\", \"./public\", ",
            1,
        )
    });
    std::fs::create_dir_all(d.path().join("public")).unwrap();
    std::fs::write(d.path().join("public/index.html"), "<p>hi</p>").unwrap();
    let r = package(&manifest, &d.path().join("out"), &["--release"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("service.args[1]: `public` looks like a relative path")
            && r.stderr
                .contains("write {dir}\\public (the install folder)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("service.args[3]: `./public` looks like a relative path"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("{dir}\\./public"), "{}", r.stderr);
}

/// `exe-name` for a crate cargo builds: the package ships the exe under that name (the
/// service runs it, the MSI installs it), and `--no-build` still finds cargo's file.
#[test]
fn exe_name_renames_a_cargo_built_exe() {
    let d = tempfile::tempdir().unwrap();
    let manifest = copy_example_with(d.path(), |t| {
        t.replacen(
            "[package.metadata.winpkg]",
            "[package.metadata.winpkg]\nexe-name = \"hello.exe\"",
            1,
        )
    });
    for extra in [&["--release"][..], &["--release", "--no-build"][..]] {
        let r = package(&manifest, &d.path().join("out"), extra, &[]);
        assert_eq!(r.code, 0, "{extra:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("(shipped as hello.exe)") || !extra.contains(&"--no-build"),
            "{}",
            r.stderr
        );
        let zip = zip_path(&r.json());
        let entries = zip_entries(&zip);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"hello.exe") && !names.contains(&"hello-service.exe"),
            "{names:?}"
        );
        let json = &entries.iter().find(|(n, _)| n == "service.json").unwrap().1;
        assert!(String::from_utf8_lossy(json).contains("\"exe\": \"hello.exe\""));
    }
}
