//! A command-line tool on PATH: the user's and the machine's PATH, kept byte for byte.

use super::*;

/// PATH in `key` as stored: its type word and its text, or None when there is no value.
fn stored_path(prefix: &Prefix, parent: &str, key: &str) -> Option<(String, String)> {
    let values = prefix.registry_values_typed(parent, key).unwrap();
    let (_, (kind, text)) = values
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("path"))?;
    Some((kind.to_string(), text))
}

/// Set (or, with None, delete) the user's PATH, byte for byte.
fn set_user_path(prefix: &Prefix, value: Option<(&str, &str)>) {
    let (code, text) = match value {
        Some((kind, v)) => prefix
            .run_with(
                &format!("reg add HKCU\\Environment /v Path /t {kind} /d {{0}} /f"),
                &[v],
                Duration::from_secs(60),
            )
            .unwrap(),
        None => prefix
            .run_batch(
                "reg delete HKCU\\Environment /v Path /f",
                Duration::from_secs(60),
            )
            .unwrap(),
    };
    assert!(code == 0 || value.is_none(), "{text}");
    assert_eq!(
        stored_path(prefix, "HKEY_CURRENT_USER", "Environment"),
        value.map(|(k, v)| (k.to_string(), v.to_string())),
        "the PATH the test set"
    );
}

/// Files or folders named `needle` under `dir` (what an injected `mkdir` would make).
fn made_by_injection(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().eq_ignore_ascii_case(needle) {
            found.push(p.clone());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(made_by_injection(&p, needle));
        }
    }
    found
}

/// A command-line tool (`[package.metadata.winpkg.cli] path = "user"`) installed from a
/// folder whose name is cmd.exe syntax (`&mkdir pwned&`, parentheses, `%PATH%`, `^`,
/// `!`): install.cmd runs nothing from the name, adds the folder to the user's PATH
/// once, and uninstall.cmd removes exactly that entry. For every kind of PATH a user
/// has (empty entries, a trailing `;`, quotes, `%VAR%` in REG_EXPAND_SZ, `&`, `(x86)`,
/// spaces, non-ASCII, over 2047 characters, REG_SZ, no PATH at all), the value read
/// back from the registry after install is the old one plus the folder, and after
/// uninstall the old one, byte for byte, with its type.
#[test]
fn a_cli_tool_goes_on_path_once_and_comes_off_exactly() {
    let (_tmp, r) = package_twobins_with("\n[package.metadata.winpkg.cli]\npath = \"user\"\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("is a command-line tool"), "{}", r.stderr);
    let prefix = Prefix::create().expect("a Wine prefix");
    // (`%NAME%` is left out: Wine's cmd expands `%` again in the expanded `%~dp0`,
    // which Windows's does not, so the scripts could not find their own folder there.)
    let folder = "C:\\Tools (x86) &mkdir pwned& ^!x!\\cli";
    extract_to(&prefix, &zip_path(&r.json()), folder);
    let long: String = (0..200).map(|i| format!("C:\\tools\\t{i:03};")).collect();
    let long = format!("{long}C:\\end");
    assert!(long.len() > 2047);
    let cases: Vec<Option<(&str, String)>> = vec![
        Some(("REG_EXPAND_SZ", "C:\\a;;C:\\b".into())),
        Some(("REG_EXPAND_SZ", "C:\\a;C:\\b;".into())),
        Some(("REG_EXPAND_SZ", "\"C:\\quoted & dir\";C:\\b".into())),
        Some((
            "REG_EXPAND_SZ",
            "%USERPROFILE%\\AppData\\Local\\Microsoft\\WindowsApps;%SystemRoot%\\x;C:\\u%".into(),
        )),
        Some((
            "REG_EXPAND_SZ",
            "C:\\R&D;C:\\Program Files (x86)\\x y;C:\\Ünï 中文;C:\\x^y!z!;C:\\a|b<c>".into(),
        )),
        Some(("REG_EXPAND_SZ", long.clone())),
        Some(("REG_SZ", "C:\\plain;D:\\x".into())),
        Some(("REG_EXPAND_SZ", ";".into())),
        None,
    ];
    for case in &cases {
        let old = case.as_ref().map(|(k, v)| (*k, v.as_str()));
        set_user_path(&prefix, old);
        let ours = match old {
            None => ("REG_EXPAND_SZ".to_string(), folder.to_string()),
            Some((k, v)) if v.ends_with(';') => (k.to_string(), format!("{v}{folder};")),
            Some((k, v)) => (k.to_string(), format!("{v};{folder}")),
        };
        for round in 0..2 {
            let (code, text) = run_in(&prefix, folder, "install.cmd");
            assert_eq!(code, 0, "{old:?}: {text}");
            let said = if round == 0 {
                format!("Added {folder} to PATH")
            } else {
                format!("{folder} is on PATH already")
            };
            assert!(text.contains(&said), "{old:?}, round {round}: {text}");
            assert_eq!(
                stored_path(&prefix, "HKEY_CURRENT_USER", "Environment"),
                Some(ours.clone()),
                "{old:?}, install round {round}: {text}"
            );
        }
        let (code, text) = run_in(&prefix, folder, "uninstall.cmd");
        assert_eq!(code, 0, "{old:?}: {text}");
        assert!(
            text.contains(&format!("Removed {folder} from PATH")),
            "{text}"
        );
        let after = stored_path(&prefix, "HKEY_CURRENT_USER", "Environment");
        let before = old.map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(after, before, "{old:?}: {text}");
        // Entry by entry, too (the same when the whole value is).
        let entries = |v: &Option<(String, String)>| {
            v.as_ref()
                .map(|(_, t)| t.split(';').map(String::from).collect::<Vec<_>>())
        };
        assert_eq!(entries(&after), entries(&before));
        let (code, text) = run_in(&prefix, folder, "uninstall.cmd");
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("is not on PATH: nothing to do"), "{text}");
        assert_eq!(
            stored_path(&prefix, "HKEY_CURRENT_USER", "Environment"),
            before
        );
    }
    odd_paths_are_kept_or_refused(&prefix, folder, &zip_path(&r.json()));
    // Nothing ran from the folder's name, anywhere.
    let cwd = std::env::current_dir().unwrap();
    for root in [prefix.drive_c(), cwd] {
        assert_eq!(made_by_injection(&root, "pwned"), Vec::<PathBuf>::new());
    }
}

/// The folder already on PATH by hand (other case, a trailing backslash): install adds
/// nothing, uninstall removes that one entry. A `%` in the folder: refused, nothing
/// written.
fn odd_paths_are_kept_or_refused(prefix: &Prefix, folder: &str, zip: &Path) {
    // The folder already on PATH, written by hand with a trailing backslash and in
    // other case: install adds nothing; uninstall removes that one entry.
    let by_hand = format!("C:\\a;{}\\;C:\\b", folder.to_uppercase());
    set_user_path(prefix, Some(("REG_EXPAND_SZ", &by_hand)));
    let (code, text) = run_in(prefix, folder, "install.cmd");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("is on PATH already"), "{text}");
    let (code, text) = run_in(prefix, folder, "uninstall.cmd");
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        stored_path(prefix, "HKEY_CURRENT_USER", "Environment"),
        Some(("REG_EXPAND_SZ".into(), "C:\\a;C:\\b".into()))
    );
    // A `%` in the folder: Wine's cmd drops it from `%~dp0` (Windows's keeps it), so
    // there the scripts cannot find the helper: they fail loudly and write nothing.
    let percent = "C:\\Tools 100%\\cli";
    extract_to(prefix, zip, percent);
    set_user_path(prefix, Some(("REG_EXPAND_SZ", "C:\\a;;C:\\b")));
    let (code, text) = run_in(prefix, percent, "install.cmd");
    assert_ne!(code, 0, "{text}");
    assert_eq!(
        stored_path(prefix, "HKEY_CURRENT_USER", "Environment"),
        Some(("REG_EXPAND_SZ".into(), "C:\\a;;C:\\b".into()))
    );
}

/// The install folder on the machine's PATH (administrator rights, which Wine's user
/// has), in a prefix of its own.
#[test]
fn machine_scope_path() {
    let (_tmp, r) = package_twobins_with("\n[package.metadata.winpkg.cli]\npath = \"machine\"\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let prefix = Prefix::create().expect("a Wine prefix");
    extract_to_program_files(&prefix, &zip_path(&r.json()));
    let machine_path = || {
        prefix
            .registry_values(
                "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control\\Session Manager",
                "Environment",
            )
            .unwrap()
            .get("PATH")
            .or(None)
            .cloned()
    };
    // Wine's machine PATH holds `%SystemRoot%` entries: they stay as they are.
    let before = machine_path().unwrap_or_else(|| panic!("Wine's machine PATH"));
    assert!(before.contains("%SystemRoot%"), "{before}");
    let (code, text) = run_installed(&prefix, "install.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        machine_path().as_deref(),
        Some(format!("{before};C:\\Program Files\\hello").as_str())
    );
    let (code, text) = run_installed(&prefix, "uninstall.cmd", "", &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(machine_path().as_deref(), Some(before.as_str()));
}

/// A command-line tool's MSI (`cli.path = "user"`, `--msi`): a per-user install into
/// `%LOCALAPPDATA%\Programs`; Windows Installer's Environment table appends the install
/// folder to the user's PATH, an upgrade to the next version leaves it there once, and
/// uninstall takes it off again; the other entries (an empty one, `%VAR%`) stay as they
/// were. Wine's msiexec leaves the `;` it added behind (its RemoveEnvironmentStrings
/// takes the value off, not the separator): the value is the old one and at most a `;`
/// per install, nothing else. README.md says so.
#[test]
fn a_cli_tools_msi_puts_its_folder_on_path_and_takes_it_off() {
    let tmp = tempfile::tempdir().unwrap();
    let build = |version: &str| {
        let dir = tmp.path().join(version);
        let manifest = copy_crate(&fixture("crates/twobins"), &dir, |t| {
            t.replacen(
                "version = \"0.1.0\"",
                &format!("version = \"{version}\""),
                1,
            ) + "\n[package.metadata.winpkg.cli]\npath = \"user\"\n\n[package.metadata.winpkg.msi]\nupgrade-code = \"{0A1B2C3D-4E5F-4061-8273-948596A7B8C9}\"\n"
        });
        let r = package(&manifest, &dir.join("out"), &["--msi"], &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            !r.stderr.contains("warning: the MSI"),
            "no gap to report: {}",
            r.stderr
        );
        PathBuf::from(r.json()["packages"][0]["msi"]["path"].as_str().unwrap())
    };
    let v1 = build("0.1.0");
    let v2 = build("0.2.0");
    let prefix = Prefix::create().expect("a Wine prefix");
    let old = "C:\\a;;%USERPROFILE%\\b";
    set_user_path(&prefix, Some(("REG_EXPAND_SZ", old)));
    let added_entries = || {
        let (kind, value) = stored_path(&prefix, "HKEY_CURRENT_USER", "Environment").unwrap();
        assert_eq!(kind, "REG_EXPAND_SZ");
        assert!(value.starts_with(old), "every entry kept: {value}");
        value[old.len()..]
            .split(';')
            .filter(|e| !e.is_empty())
            .map(|e| e.trim_end_matches('\\').to_string())
            .collect::<Vec<_>>()
    };
    let mut exe = Vec::new();
    for msi in [&v1, &v2] {
        let (code, log) = super::msi::msiexec(&prefix, msi, "/i");
        assert_eq!(code, 0, "{log}");
        exe.clear();
        find_files(&prefix.drive_c().join("users"), "second.exe", &mut exe);
        assert_eq!(exe.len(), 1, "in the user's Programs folder: {log}");
        let folder = exe[0].parent().unwrap();
        assert!(
            folder.ends_with("AppData/Local/Programs/twobins"),
            "{}",
            folder.display()
        );
        let windows = format!(
            "C:\\{}",
            folder
                .strip_prefix(prefix.drive_c())
                .unwrap()
                .to_string_lossy()
                .replace('/', "\\")
        );
        assert_eq!(added_entries(), [windows], "once, after {}", msi.display());
    }
    let (code, log) = super::msi::msiexec(&prefix, &v2, "/x");
    assert_eq!(code, 0, "{log}");
    assert!(!exe[0].exists(), "{log}");
    let (kind, after) = stored_path(&prefix, "HKEY_CURRENT_USER", "Environment").unwrap();
    assert_eq!(kind, "REG_EXPAND_SZ");
    // Wine: a `;` for each of the two installs; nothing else.
    let rest = after.strip_prefix(old).unwrap_or("x");
    assert!(
        rest.len() <= 2 && rest.chars().all(|c| c == ';'),
        "{after}: {log}"
    );
}
