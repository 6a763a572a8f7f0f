//! `verify` on zips made to hurt: names that escape, duplicates, bombs and lies about
//! sizes. Nothing may be written outside verify's own scratch folder, no later step may
//! run on a zip whose names failed, and memory stays bounded.

use std::path::Path;

use crate::common::*;
use serde_json::Value;

fn verify_json(zip: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["verify", "--format", "json"];
    args.extend_from_slice(extra);
    let zip = zip.to_string_lossy().into_owned();
    args.push(&zip);
    let r = run(args);
    (r.code, r.json())
}

fn step<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
}

/// The detail of step `name`, which must have run.
fn detail(v: &Value, name: &str) -> String {
    step(v, name).unwrap_or_else(|| panic!("no step {name}: {v:#}"))["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

fn names(v: &Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// The example's files plus `extra` entries.
fn example_plus(out: &Path, extra: &[(&str, Vec<u8>)]) -> std::path::PathBuf {
    let zip = example_zip(out);
    let mut entries: Vec<(String, Vec<u8>)> = zip_entries(&zip);
    entries.extend(extra.iter().map(|(n, d)| (n.to_string(), d.clone())));
    let dest = out.join("crafted.zip");
    let e: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.clone()))
        .collect();
    raw_zip(&dest, &e);
    dest
}

/// Entries whose names leave the destination are refused before anything is written.
#[test]
fn escaping_names_write_nothing_and_stop_verify() {
    let out = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    let target = host.path().join("owned.sh");
    let up = format!("../../../../../../../..{}", target.display());
    let abs = target.display().to_string();
    let mz = b"MZ this would have been written".to_vec();
    for name in [
        up.as_str(),
        abs.as_str(),
        "C:/Windows/owned.dll",
        "..\\owned.dll",
        "\\\\server\\share\\owned.dll",
        "a/../../owned.dll",
    ] {
        let zip = example_plus(out.path(), &[(name, mz.clone())]);
        let (code, v) = verify_json(&zip, &[]);
        assert_eq!(code, 1, "{name}: {v:#}");
        let names_step = step(&v, "file names").unwrap();
        assert_eq!(names_step["ok"], false, "{name}: {v:#}");
        for later in ["extract", "checksums", "manifest", "dll closure"] {
            assert!(step(&v, later).is_none(), "{name}: {later} ran: {v:#}");
        }
        assert!(!target.exists(), "{name} wrote {}", target.display());
    }
}

/// Rename every `from` to `to` (same length) in a zip's bytes: how a zip with two
/// entries of one name is made (zip writers refuse to).
fn rename_in_place(zip: &Path, from: &str, to: &str) {
    let mut bytes = std::fs::read(zip).unwrap();
    let n = patch_bytes(&mut bytes, from.as_bytes(), to.as_bytes(), true);
    assert!(n >= 2, "{from} found {n} times");
    std::fs::write(zip, bytes).unwrap();
}

#[test]
fn duplicate_names_and_file_folder_clashes_fail() {
    let out = tempfile::tempdir().unwrap();
    // A second hello-service.exe with other bytes.
    let zip = example_plus(out.path(), &[("hello-service.exf", b"MZ other".to_vec())]);
    rename_in_place(&zip, "hello-service.exf", "hello-service.exe");
    let (code, v) = verify_json(&zip, &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = detail(&v, "file names");
    assert!(d.contains("two entries share a name"), "{d}");

    let zip = example_plus(
        out.path(),
        &[
            ("docs", b"a file".to_vec()),
            ("docs/x", b"in a folder".to_vec()),
        ],
    );
    let (code, v) = verify_json(&zip, &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = detail(&v, "file names");
    assert!(d.contains("`docs` is both a file"), "{d}");
}

/// Run cargo-winpkg with `args`; its exit code, stdout and peak resident memory in
/// KiB, as GNU time reports it. (Not wait4 on our own child: it is spawned sharing this
/// test process's memory until it execs, and the kernel carries that memory's high
/// water mark into the child's peak; with other tests holding 256 MiB buffers the
/// child seemed to use 178 MiB. GNU time's own child is forked from time itself.)
fn run_measured(args: &[&str]) -> (i32, String, i64) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(assert_cmd::cargo::cargo_bin("cargo-winpkg"))
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .stderr(std::process::Stdio::null())
        .output()
        .expect("GNU time (scripts/setup.sh installs it)");
    let rss = std::fs::read_to_string(report.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory from GNU time"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        rss,
    )
}

/// `verify --max-ratio 100000` on a 256 MiB bomb: read through (only SHA256SUMS is
/// missing), with peak memory far below its size.
fn read_through_in_bounded_memory(bomb: &Path) {
    let path = bomb.to_string_lossy().into_owned();
    let (code, stdout, rss) =
        run_measured(&["verify", "--format", "json", "--max-ratio", "100000", &path]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(code, 1, "no SHA256SUMS, but read: {v:#}");
    assert_eq!(step(&v, "extract").unwrap()["ok"], true, "{v:#}");
    assert!(
        rss < 100 * 1024,
        "peak RSS {rss} KiB reading a 256 MiB file"
    );
}

#[test]
fn zip_bombs_are_refused_and_reading_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.zip");
    // 256 MiB of zeros deflates to about a quarter of a megabyte.
    raw_zip(&bomb, &[("zeros.bin", vec![0u8; 256 << 20])]);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 << 20);
    let (code, v) = verify_json(&bomb, &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = detail(&v, "file names");
    assert!(
        d.contains("a zip bomb?") && d.contains("--max-ratio"),
        "{d}"
    );
    assert!(step(&v, "extract").is_none());

    // Allowed through, it is streamed: memory stays far below its size.
    read_through_in_bounded_memory(&bomb);

    // Caps on one entry and on the total.
    let (_, v) = verify_json(&bomb, &["--max-ratio", "100000", "--max-entry", "1000000"]);
    let d = detail(&v, "file names");
    assert!(d.contains("--max-entry"), "{d}");
    let (_, v) = verify_json(&bomb, &["--max-ratio", "100000", "--max-total", "1000000"]);
    let d = detail(&v, "file names");
    assert!(d.contains("--max-total"), "{d}");
}

/// A zip whose directory declares 100 bytes for an entry that inflates to 10 MB.
#[test]
fn an_entry_larger_than_declared_is_caught_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let liar = dir.path().join("liar.zip");
    let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
    raw_zip(&liar, &[("big.bin", data.clone())]);
    let mut bytes = std::fs::read(&liar).unwrap();
    let size = (data.len() as u32).to_le_bytes();
    let fake = 100u32.to_le_bytes();
    // The uncompressed size is in the local header (offset 22) and the central
    // directory entry (offset 24 after its signature).
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(30) {
        let sig = &bytes[i..i + 4];
        let at = if sig == b"PK\x03\x04" {
            i + 22
        } else if sig == b"PK\x01\x02" {
            i + 24
        } else {
            continue;
        };
        if bytes[at..at + 4] == size {
            bytes[at..at + 4].copy_from_slice(&fake);
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    std::fs::write(&liar, &bytes).unwrap();
    let (code, v) = verify_json(&liar, &[]);
    assert_eq!(code, 1, "{v:#}");
    let e = step(&v, "extract").unwrap();
    assert_eq!(e["ok"], false, "{v:#}");
    let d = e["detail"].as_str().unwrap();
    assert!(
        d.contains("expands past the 100 bytes it declares")
            || d.contains("larger than its declared uncompressed size"),
        "{d}"
    );
    assert!(
        !names(&v).contains(&"checksums".to_string()),
        "no later check runs: {v:#}"
    );
}

/// An import with a path in its DLL name resolves only inside the package: the verdict
/// cannot depend on what the checking machine has at that path.
#[test]
fn dll_names_with_paths_never_resolve_on_the_host() {
    let dir = tempfile::tempdir().unwrap();
    // c-hello-x64.exe imports msvcrt.dll; the same 10 bytes become /tmp/u.dll.
    let mut exe = std::fs::read(fixture("pe/c-hello-x64.exe")).unwrap();
    assert_eq!(
        patch_bytes(&mut exe, b"msvcrt.dll", b"/tmp/u.dll", false),
        1,
        "the DLL name"
    );
    let app = dir.path().join("app.exe");
    std::fs::write(&app, &exe).unwrap();
    // A valid x64 DLL at that host path.
    std::fs::copy(fixture("pe/bundle-x64/thirdparty.dll"), "/tmp/u.dll").unwrap();
    let r = run([
        "check".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        app.as_os_str(),
    ]);
    let _ = std::fs::remove_file("/tmp/u.dll");
    let v = r.json();
    assert_eq!(r.code, 1, "{v:#}");
    let imp = v["files"][0]["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["dll"] == "/tmp/u.dll")
        .unwrap()
        .clone();
    assert_eq!(imp["resolved"], Value::Null, "{imp}");
    assert!(
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "missing-dll" && d["dll"] == "/tmp/u.dll"),
        "{v:#}"
    );
    assert_eq!(
        v["files"].as_array().unwrap().len(),
        1,
        "nothing of the host was read"
    );
}

/// One broken or unreadable file in a folder: every other file is still reported, the
/// bad one is an `unreadable-pe` diagnostic in every format, and the exit code is 2.
#[test]
fn one_bad_file_hides_nothing_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["c-hello-x64.exe", "rust-hello-x64.exe"] {
        std::fs::copy(fixture(&format!("pe/{f}")), dir.path().join(f)).unwrap();
    }
    let mut broken = std::fs::read(fixture("pe/c-hello-x64.exe")).unwrap();
    broken.truncate(300);
    std::fs::write(dir.path().join("broken.exe"), &broken).unwrap();
    let r = run([
        "check".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["files"].as_array().unwrap().len(), 2, "{v:#}");
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "unreadable-pe")
        .expect("an unreadable-pe diagnostic")
        .clone();
    assert!(d["file"].as_str().unwrap().ends_with("broken.exe"), "{d}");
    assert!(r.stderr.contains("broken.exe: "), "{}", r.stderr);
    for (format, needle) in [
        ("github", "title=unreadable-pe"),
        ("sarif", "\"ruleId\": \"unreadable-pe\""),
        ("human", "error[unreadable-pe]"),
    ] {
        let r = run([
            "check".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
            dir.path().as_os_str(),
        ]);
        assert_eq!(r.code, 2, "{format}");
        assert!(r.stdout.contains(needle), "{format}: {}", r.stdout);
        if format != "sarif" {
            // SARIF lists results only; the others report every file.
            assert!(
                r.stdout.contains("rust-hello-x64.exe"),
                "{format}: {}",
                r.stdout
            );
        }
    }
}

/// A file the user may not read is not skipped silently (run as `nobody`, since root
/// reads everything). The folder and a copy of the program are in the system's temporary
/// folder, which `nobody` can reach wherever the repository is cloned (a clone under
/// root's home, or in a `mktemp -d` folder, is closed to other users).
#[test]
fn a_file_the_user_cannot_read_is_unreadable_pe() {
    let dir = tempfile::Builder::new()
        .prefix("unreadable-")
        .tempdir()
        .unwrap();
    std::fs::copy(fixture("pe/c-hello-x64.exe"), dir.path().join("ok.exe")).unwrap();
    let secret = dir.path().join("secret.exe");
    std::fs::copy(fixture("pe/c-hello-x64.exe"), &secret).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = bin.path().join("cargo-winpkg");
    std::fs::copy(assert_cmd::cargo::cargo_bin("cargo-winpkg"), &exe).unwrap();
    let mut cmd = std::process::Command::new("setpriv");
    if unsafe_is_root() {
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
    }
    let o = cmd
        .arg(&exe)
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("setpriv (util-linux) runs the check as nobody");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("secret.exe: cannot read"), "{stderr}");
    assert!(stdout.contains("ok.exe"), "{stdout}");
}

fn unsafe_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A FIFO given as an argument is refused at once instead of blocking the check.
#[test]
fn a_fifo_argument_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.exe");
    let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let start = std::time::Instant::now();
    let r = run(["check".as_ref(), fifo.as_os_str()]);
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    // In a folder it is not a program: skipped, not waited on.
    std::fs::copy(fixture("pe/c-hello-x64.exe"), dir.path().join("ok.exe")).unwrap();
    let r = run(["check".as_ref(), dir.path().as_os_str()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// Thousands of thunks that all point at one long name: the file is small, so what it
/// makes the tool hold or print must stay small too.
#[test]
fn one_name_repeated_by_every_thunk_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 60 KB name, 28,000 thunks: 284 KB on disk, 1.7 GB if every thunk copied the name.
    let pe = synth::one_name_many_thunks(60_000, 28_000);
    assert!(pe.len() < 300_000, "{}", pe.len());
    let path = dir.path().join("amplify.exe");
    std::fs::write(&path, &pe).unwrap();
    let p = path.to_string_lossy().into_owned();
    let (code, stdout, rss) = run_measured(&["check", "--format", "json", &p]);
    assert!(
        rss < 200 * 1024,
        "peak RSS {rss} KiB for a {} byte file",
        pe.len()
    );
    assert!(stdout.len() < 20 << 20, "a {} byte report", stdout.len());
    assert_eq!(code, 2, "{}", &stdout[..stdout.len().min(2000)]);
    assert!(stdout.contains("unreadable-pe"));

    // A real-sized table of distinct names still reads.
    let names: Vec<Vec<u8>> = (0..2000)
        .map(|i| format!("Function{i}").into_bytes())
        .collect();
    let dlls = [synth::SynthDll {
        name: b"big.dll".to_vec(),
        thunks: (0..2000).collect(),
    }];
    std::fs::write(&path, synth::pe64(&dlls, &names)).unwrap();
    let r = run(["check", "--format", "json", &p]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.json()["files"][0]["imports"][0]["functions"]
            .as_array()
            .unwrap()
            .len(),
        2000
    );
}

/// An MSI of `entries` (written by cargo-winpkg's own MSI writer from a zip of them).
fn msi_of(dir: &Path, entries: &[(&str, Vec<u8>)]) -> std::path::PathBuf {
    library_msi(dir, entries, cargo_winpkg::package::msi::MsiArch::X64)
}

/// Hostile MSIs: a cabinet bomb is refused by ratio and, allowed through, streamed in
/// bounded memory; damaged cabinet bytes, an oversized table stream, a compound file
/// that is no MSI, and a truncated MSI each get a clear error, never a panic.
#[test]
fn hostile_msis_get_clear_errors_and_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = msi_of(dir.path(), &[("zeros.bin", vec![0u8; 256 << 20])]);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 4 << 20);
    let (code, v) = verify_json(&bomb, &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = detail(&v, "extract");
    assert!(d.contains("--max-ratio"), "{d}");
    read_through_in_bounded_memory(&bomb);
    let (_, v) = verify_json(&bomb, &["--max-ratio", "100000", "--max-entry", "1000000"]);
    assert!(detail(&v, "file names").contains("--max-entry"));

    // Damaged cabinet bytes: every byte of the middle of the cabinet stream flipped.
    let small = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let good = msi_of(small.path(), &[("a.bin", data)]);
    let damaged = dir.path().join("damaged.msi");
    {
        std::fs::copy(&good, &damaged).unwrap();
        let mut cfb = cfb::open_rw(&damaged).unwrap();
        let cab_path = cfb
            .walk()
            .find(|e| e.is_stream() && e.len() > 1000 && !e.name().starts_with('\u{5}'))
            .map(|e| e.path().to_path_buf())
            .unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut cfb.open_stream(&cab_path).unwrap(), &mut bytes).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 64] {
            *b ^= 0xff;
        }
        std::io::Write::write_all(&mut cfb.create_stream(&cab_path).unwrap(), &bytes).unwrap();
        cfb.flush().unwrap();
    }
    let (code, v) = verify_json(&damaged, &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = detail(&v, "extract");
    assert!(
        d.contains("MSZIP") || d.contains("MsiFileHash") || d.contains("declares"),
        "{d}"
    );

    // A table stream past what verify reads.
    let huge = dir.path().join("huge.msi");
    std::fs::copy(&good, &huge).unwrap();
    {
        let mut cfb = cfb::open_rw(&huge).unwrap();
        let mut s = cfb.create_stream("/\u{4840}Huge").unwrap();
        std::io::Write::write_all(&mut s, &vec![0u8; 17 << 20]).unwrap();
        drop(s);
        cfb.flush().unwrap();
    }
    let r = run(["verify", huge.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("a table stream of 17825792 bytes"),
        "{}",
        r.stderr
    );

    lying_and_broken_msis_get_clear_errors(dir.path(), &good);
}

/// A summary string claiming 4 GiB, a compound file that is no MSI, a truncated MSI:
/// clear errors, bounded memory.
fn lying_and_broken_msis_get_clear_errors(dir: &Path, good: &Path) {
    // A summary-information string that claims 4 GiB (found by cargo fuzz: the msi
    // crate would allocate what it claims before reading it).
    let liar = dir.join("liar.msi");
    std::fs::copy(good, &liar).unwrap();
    {
        let mut cfb = cfb::open_rw(&liar).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut cfb.open_stream("/\u{5}SummaryInformation").unwrap(),
            &mut bytes,
        )
        .unwrap();
        let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let section = u32_at(&bytes, 44) as usize;
        let count = u32_at(&bytes, section + 4) as usize;
        let string = (0..count)
            .map(|i| section + u32_at(&bytes, section + 8 + i * 8 + 4) as usize)
            .find(|&at| u32_at(&bytes, at) == 30)
            .expect("a string property");
        bytes[string + 4..string + 8].copy_from_slice(&u32::MAX.to_le_bytes());
        std::io::Write::write_all(
            &mut cfb.create_stream("/\u{5}SummaryInformation").unwrap(),
            &bytes,
        )
        .unwrap();
        cfb.flush().unwrap();
    }
    let (code, _, rss) = run_measured(&["verify", liar.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(rss < 100 * 1024, "peak RSS {rss} KiB");
    let r = run(["verify", liar.to_str().unwrap()]);
    assert!(
        r.stderr
            .contains("summary information has a string of 4294967295 bytes"),
        "{}",
        r.stderr
    );

    // A compound file that is no MSI, and a truncated MSI.
    let doc = dir.join("not.msi");
    {
        let mut cfb = cfb::create(&doc).unwrap();
        std::io::Write::write_all(&mut cfb.create_stream("/WordDocument").unwrap(), b"hi").unwrap();
        cfb.flush().unwrap();
    }
    let r = run(["verify", doc.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not.msi: "), "{}", r.stderr);
    let cut = dir.join("cut.msi");
    let bytes = std::fs::read(good).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let r = run(["verify", cut.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cut.msi: "), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// The compound-file stream name of an MSI table (Windows Installer's encoding).
fn table_stream(name: &str) -> String {
    let b64 = |c: u8| -> u32 {
        match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'a'..=b'z' => u32::from(c - b'a') + 36,
            b'.' => 62,
            _ => 63,
        }
    };
    let mut out = String::from("/\u{4840}");
    for pair in name.as_bytes().chunks(2) {
        let c = match pair {
            [a, b] => 0x3800 + (b64(*b) << 6) + b64(*a),
            [a] => 0x4800 + b64(*a),
            _ => unreachable!(),
        };
        out.push(char::from_u32(c).unwrap());
    }
    out
}

/// A File row whose name has a `:` (an NTFS alternate stream of another file: the
/// Filename type forbids it) is refused, not split at the `:` as a folder's
/// `target:source` would be; a string pool declaring four million strings is refused
/// before they are built, in bounded memory.
#[test]
fn an_msi_file_name_with_a_stream_and_a_pool_of_millions_of_strings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = msi_of(dir.path(), &[("a.txt", b"hello".to_vec())]);
    let ads = dir.path().join("ads.msi");
    std::fs::copy(&good, &ads).unwrap();
    {
        let mut p = msi::open_rw(&ads).unwrap();
        p.update_rows(
            msi::Update::table("File").set("FileName", msi::Value::from("A~1.TXT|a.txt:hidden")),
        )
        .unwrap();
        p.flush().unwrap();
    }
    let (code, v) = verify_json(&ads, &[]);
    assert_eq!(code, 1, "{v:#}");
    let d = detail(&v, "file names");
    assert!(d.contains("a.txt:hidden"), "{d}");

    let pool = dir.path().join("pool.msi");
    std::fs::copy(&good, &pool).unwrap();
    {
        let mut cfb = cfb::open_rw(&pool).unwrap();
        let name = table_stream("_StringPool");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut cfb.open_stream(&name).unwrap(), &mut bytes).unwrap();
        bytes.resize(16 << 20, 0);
        std::io::Write::write_all(&mut cfb.create_stream(&name).unwrap(), &bytes).unwrap();
        cfb.flush().unwrap();
    }
    let (code, _, rss) = run_measured(&["verify", pool.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(rss < 100 * 1024, "peak RSS {rss} KiB");
    let r = run(["verify", pool.to_str().unwrap()]);
    assert!(
        r.stderr.contains("declares 4194303 strings"),
        "{}",
        r.stderr
    );
}
