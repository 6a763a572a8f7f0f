//! `verify --wine` itself: its sandbox, cleanup, `--run`, and what it refuses.

use super::*;

/// A package whose install.cmd attacks the machine that verifies it: through Wine's
/// Z: drive, through `\\?\unix\` paths, and by starting host programs. Offline it is
/// flawless (its checksums and service.json match), so only the sandbox stands between
/// it and the host. Without the sandbox (--no-sandbox) the host-program attack works,
/// which shows the sandboxed run is what stops it.
#[test]
fn a_hostile_install_script_cannot_touch_the_host() {
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    // Outside /tmp (the sandbox has a private one): a folder of the project's.
    let host = tempfile::Builder::new()
        .prefix("hostile-")
        .tempdir_in(root().join("target"))
        .unwrap();
    let unix = host.path().display().to_string();
    let win = unix.replace('/', "\\");
    let script = format!(
        "@echo off\r\n\
         echo pwned> \"Z:{win}\\via-z.txt\"\r\n\
         echo pwned> \"\\\\?\\unix{win}\\via-unix.txt\"\r\n\
         start /wait /unix /bin/sh -c \"touch {unix}/via-sh\"\r\n\
         start /wait /unix /usr/bin/touch {unix}/via-touch\r\n\
         echo done\r\n\
         exit /b 0\r\n"
    );
    let crafted = out.path().join("hostile.zip");
    craft_package(&zip, &crafted, &[("install.cmd", script.into_bytes())]);

    // Offline, it passes: the attack is in what it runs.
    let r = run(["verify".as_ref(), crafted.as_os_str()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // The script installs no service: a short wait for one that never comes.
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--timeout".as_ref(),
        "5".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        crafted.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "the service was never installed: {}", r.stdout);
    let written: Vec<_> = std::fs::read_dir(host.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(written.is_empty(), "the sandboxed run wrote {written:?}");

    // The control: the same package without the sandbox reaches the host.
    let r = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--no-sandbox".as_ref(),
        "--timeout".as_ref(),
        "5".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        crafted.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        host.path().join("via-touch").exists() || host.path().join("via-sh").exists(),
        "without the sandbox the attack should work, or this test proves nothing"
    );
    // Even without the sandbox there is no Z: drive.
    assert!(!host.path().join("via-z.txt").exists());
}

/// Every process whose environment mentions `needle` (Wine's processes carry their
/// WINEPREFIX, which is under the test's own TMPDIR).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| String::from_utf8_lossy(&env).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

/// SIGTERM or SIGINT while the service runs: verify stops every process it started and
/// removes every folder it made, with the sandbox and without.
#[test]
fn an_interrupted_verify_leaves_nothing_running_or_behind() {
    use std::io::BufRead;
    let out = tempfile::tempdir().unwrap();
    let zip = example_zip(out.path());
    for (extra, signal) in [(None, libc::SIGTERM), (Some("--no-sandbox"), libc::SIGINT)] {
        let tmp = tempfile::Builder::new()
            .prefix("interrupted-")
            .tempdir_in(root().join("target"))
            .unwrap();
        let mut child = winpkg()
            .args(["verify", "--wine"])
            .args(extra)
            .arg(&zip)
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let running = line.contains("service RUNNING");
            seen.push(line);
            if running {
                break;
            }
        }
        let needle = tmp.path().display().to_string();
        assert!(
            !processes_mentioning(&needle).is_empty(),
            "{extra:?}: Wine runs before the signal: {seen:?}"
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{extra:?}: {seen:?}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !processes_mentioning(&needle).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(
            processes_mentioning(&needle),
            Vec::<u32>::new(),
            "{extra:?}"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{extra:?} left {left:?}");
    }
}

/// A console program that exits at once with code 3, wrapped by shawl: shawl itself
/// stays RUNNING (and its command line names the program), but the program never runs.
/// verify must fail and say how the program ended, from shawl's log beside shawl.exe,
/// or in `log-dir` when the package sets one.
#[test]
fn a_wrapped_program_that_exits_at_once_fails_verify() {
    for log_dir in ["", "log-dir = \"{programdata}\\\\ticker\\\\logs\"\n"] {
        let d = tempfile::tempdir().unwrap();
        copy_crate(&fixture("crates/ticker"), d.path(), |t| {
            let t = t.replace(
                "args = [\"--every\", \"1\"]",
                "args = [\"--exit-with\", \"3\"]",
            );
            assert!(t.contains("--exit-with"));
            format!("{t}{log_dir}")
        });
        let out = tempfile::tempdir().unwrap();
        let r = package(
            &d.path().join("Cargo.toml"),
            out.path(),
            &["--release"],
            &[],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let (code, v, _kept) = verify_wine(&zip_path(&r.json()));
        assert_eq!(code, 1, "{v:#}");
        let alive = step(&v, "process alive");
        assert_eq!(alive["ok"], false, "{v:#}");
        let detail = alive["detail"].as_str().unwrap();
        assert!(
            detail.contains("ticker.exe does not keep running"),
            "{detail}"
        );
        let log = detail
            .split("shawl's log: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{log_dir}: shawl's log is quoted: {detail}"));
        assert!(
            log.contains('3'),
            "shawl's log names the exit code: {detail}"
        );
    }
}

/// A package without a service (a CLI tool): --run smoke-tests its program under Wine,
/// its exit code, and that every DLL it needs loads.
#[test]
fn a_cli_package_is_smoke_tested_with_run() {
    let out = tempfile::tempdir().unwrap();
    let r = package(&fixture("crates/twobins/Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());

    // Without --run, the way forward is named.
    let o = run(["verify".as_ref(), "--wine".as_ref(), zip.as_os_str()]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--run"), "{}", o.stderr);

    let (code, v) = verify_run(&zip, &["--run", "--", "--any", "a r g"]);
    assert_eq!(code, 0, "{v:#}");
    let step = run_step(&v);
    assert!(
        step["detail"].as_str().unwrap().contains("exited with 0"),
        "{step}"
    );
    assert!(
        step["detail"].as_str().unwrap().contains("second"),
        "its output: {step}"
    );

    let (code, v) = verify_run(&zip, &["--run", "--expect-exit", "3"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(
        run_step(&v)["detail"]
            .as_str()
            .unwrap()
            .contains("exited with 0, not 3"),
        "{v:#}"
    );

    // A bundled DLL of the right name but without the functions the program imports:
    // the offline closure cannot see it, the loader can.
    let r = package(&fixture("crates/cppdep/Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let crafted = out.path().join("wrong-runtime.zip");
    craft_package(
        &zip_path(&r.json()),
        &crafted,
        &[(
            "libstdc++-6.dll",
            std::fs::read(fixture("pe/bundle-x64/thirdparty.dll")).unwrap(),
        )],
    );
    let (code, v) = verify_run(&crafted, &["--run"]);
    assert_eq!(code, 1, "{v:#}");
    let d = run_step(&v)["detail"].as_str().unwrap().to_string();
    assert!(d.contains("did not load"), "{d}");
}

/// A 32-bit package under 64-bit-only Wine (Debian's wine64 without wine32:i386) used
/// to wait 30 s and report STOPPED; now verify finds out first and names the package
/// to install (exit 2). With 32-bit Wine present, the i686 build runs end to end.
#[test]
fn a_32_bit_package_needs_32_bit_wine() {
    let out = tempfile::tempdir().unwrap();
    let r = package(
        &fixture("crates/twobins/Cargo.toml"),
        out.path(),
        &["--target", "i686-pc-windows-gnu"],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    assert_eq!(
        r.json()["packages"][0]["check"]["files"][0]["machine"],
        "x86"
    );
    let o = run([
        "verify".as_ref(),
        "--wine".as_ref(),
        "--run".as_ref(),
        zip.as_os_str(),
    ]);
    // Debian's 32-bit Wine loader; without it only 64-bit programs run.
    if Path::new("/usr/lib/wine/wine").exists() {
        assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    } else {
        assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains("runs only 64-bit programs"),
            "{}",
            o.stderr
        );
        assert!(o.stderr.contains("wine32:i386"), "{}", o.stderr);
    }
}

/// A WINEPREFIX in the caller's environment, empty or relative (Wine refuses both), is
/// not inherited: verify makes its own prefix and runs the package.
#[test]
fn a_callers_wineprefix_is_not_inherited() {
    let out = tempfile::tempdir().unwrap();
    let r = package(&fixture("crates/twobins/Cargo.toml"), out.path(), &[], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    for prefix in ["", "relative/prefix"] {
        let o = winpkg()
            .args(["verify", "--wine", "--format", "json", "--run"])
            .arg(&zip)
            .env("WINEPREFIX", prefix)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "WINEPREFIX={prefix:?}: {stdout}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(stdout.contains("exited with 0"), "{stdout}");
    }
}

/// Every process of a prefix (its server, its services, a program started in it) runs
/// with the kernel's address-space randomisation off. With it on, about one Wine process
/// start in a few thousand fails at random: Linux has put something where Wine must map
/// a fixed address ("wine: failed to map the shared user data: c0000018", seen here in
/// a loop of 3,000 starts), which cmd reports as a program it "Can't recognize" (9009),
/// and which failed a PATH test in CI. Without randomisation the layout is the same at
/// every start.
#[test]
fn a_prefix_runs_its_processes_without_address_randomisation() {
    const ADDR_NO_RANDOMIZE: u32 = 0x0040000;
    let prefix = Prefix::create().expect("a Wine prefix");
    // A program that stays up while the processes are read: `ping` waits between tries.
    let (code, text) = prefix
        .run_batch(
            "start \"\" /b ping -n 30 127.0.0.1 >nul\nping -n 3 127.0.0.1 >nul",
            Duration::from_secs(60),
        )
        .unwrap();
    assert_eq!(code, 0, "{text}");
    let wanted = format!("WINEPREFIX={}", prefix.path().display());
    let mut seen = Vec::new();
    for pid in std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
    {
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if !env.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            continue;
        }
        let Ok(word) = std::fs::read_to_string(format!("/proc/{pid}/personality")) else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let word = u32::from_str_radix(word.trim(), 16).unwrap();
        seen.push((cmd, word & ADDR_NO_RANDOMIZE != 0));
    }
    let names: Vec<&str> = seen.iter().map(|(c, _)| c.as_str()).collect();
    for needle in ["wineserver", "services.exe", "ping"] {
        assert!(
            names.iter().any(|c| c.to_lowercase().contains(needle)),
            "no {needle} among the prefix's processes: {names:?}"
        );
    }
    let randomised: Vec<&str> = seen
        .iter()
        .filter(|(_, off)| !off)
        .map(|(c, _)| c.as_str())
        .collect();
    assert!(randomised.is_empty(), "randomised: {randomised:?}");
}

/// The names of a verification's steps, in order, among `wanted`.
fn steps_among(v: &Value, wanted: &[&str]) -> Vec<String> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .filter(|n| wanted.contains(n))
        .map(String::from)
        .collect()
}

/// A package that runs another way than as a service: verify --wine installs it with
/// install.cmd, judges what that registered (the folder on the user's PATH, the task;
/// the Run entry: run_key.rs, msi.rs), runs `--run`'s program if asked, and judges it
/// gone after uninstall.cmd. `--probe` and `--crash-test` ask a service: refused.
#[test]
fn verify_judges_what_a_cli_tool_and_a_task_register() {
    let (_cli, r) = package_twobins_with("\n[package.metadata.winpkg.cli]\npath = \"user\"\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let zip = zip_path(&r.json());
    let flow = [
        "install.cmd",
        "PATH",
        "run program",
        "uninstall.cmd",
        "PATH after uninstall.cmd",
    ];
    let (code, v) = verify_run(&zip, &["--run", "--", "a r g"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(steps_among(&v, &flow), flow, "{v:#}");
    let on = detail(&v, "PATH");
    assert!(on.contains("is on the user PATH"), "{on}");
    assert!(on.starts_with("C:\\winpkg verify\\"), "{on}");
    let (code, v) = verify_run(&zip, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        steps_among(&v, &flow),
        [
            "install.cmd",
            "PATH",
            "uninstall.cmd",
            "PATH after uninstall.cmd"
        ],
        "{v:#}"
    );
    for extra in [
        ["--probe", "tcp:127.0.0.1:9"],
        ["--crash-test", "--timeout=5"],
    ] {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["verify".as_ref(), "--wine".as_ref(), zip.as_os_str()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let o = run(args);
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(
            o.stderr
                .contains(&format!("{} asks a running service", extra[0]))
                && o.stderr.contains("a command-line tool on PATH"),
            "{}",
            o.stderr
        );
    }

    // A scheduled task: registered (Wine keeps its file), then gone.
    let (_task, r) = package_twobins_with(
        "\n[package.metadata.winpkg.task]\nname = \"Nightly & Co\"\ntrigger = \"daily\"\nat = \"02:30\"\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (code, v) = verify_run(&zip_path(&r.json()), &[]);
    assert_eq!(code, 0, "{v:#}");
    let task = detail(&v, "task");
    assert!(task.contains("`Nightly & Co` is registered"), "{task}");
    assert_eq!(step(&v, "task after uninstall.cmd")["ok"], true, "{v:#}");
}
