//! The generated service files: snapshots for a rich service table, and properties
//! that hold for any string a user can write.

use cargo_winpkg::autostart::service::{
    self, Action, ErrorControl, Mode, Service, SidType, StartType, cmd, ps1,
};
use cargo_winpkg::config::{
    ActionConfig, EventLogConfig, Origin, OriginKind, RecoveryConfig, ServiceConfig,
};
use proptest::prelude::*;

fn rich() -> ServiceConfig {
    ServiceConfig {
        name: Some("acme-agent".into()),
        display_name: Some("ACME Agent & \"Friends\" 100% ^caret^ !bang! $HOME `tick` é中".into()),
        description: Some(
            "Collects metrics; see https://example.com/?a=1&b=2 (or ask %USERNAME%)".into(),
        ),
        start: Some(StartType::DelayedAuto),
        args: Some(vec![
            "--config".into(),
            "{dir}\\conf\\agent.toml".into(),
            "--label".into(),
            "say \"hi\" & exit".into(),
            "".into(),
        ]),
        env: Some([("RUST_LOG".to_string(), "info,acme=debug".to_string())].into()),
        working_dir: None,
        account: Some("virtual".into()),
        depends_on: Some(vec!["Tcpip".into(), "Dnscache".into()]),
        error_control: Some(ErrorControl::Severe),
        sid_type: Some(SidType::Unrestricted),
        required_privileges: Some(vec!["SeChangeNotifyPrivilege".into()]),
        preshutdown_timeout: Some("3m".into()),
        stop_timeout: None,
        recovery: Some(RecoveryConfig {
            actions: Some(vec![
                ActionConfig {
                    action: Action::Restart,
                    delay: Some("10s".into()),
                },
                ActionConfig {
                    action: Action::Restart,
                    delay: None,
                },
                ActionConfig {
                    action: Action::None,
                    delay: None,
                },
            ]),
            reset_after: Some("1d".into()),
            on_non_crash_failure: Some(true),
        }),
        mode: Some(Mode::Native),
        shawl: None,
        data_dirs: Some(vec![
            "{programdata}\\ACME & Söhne ^caret^ !bang! $HOME `tick` 中\\data".into(),
            "{dir}\\cache".into(),
        ]),
        log_dir: Some("{programdata}\\acme-agent\\logs".into()),
        log_rotate: None,
        log_retain: None,
        log_output: None,
        event_log: Some(EventLogConfig::Source(
            "ACME Agent & \"Events\" 100%".into(),
        )),
    }
}

fn origin() -> Origin {
    Origin {
        kind: OriginKind::Package,
        manifest: "/nonexistent/Cargo.toml".into(),
    }
}

fn svc(cfg: &ServiceConfig, dispatcher: bool) -> Service {
    service::from_config(cfg, "acme-agent.exe", Some(dispatcher), &origin())
        .expect("valid")
        .0
}

#[test]
fn snapshots_of_every_generated_file() {
    let s = svc(&rich(), true);
    insta::assert_snapshot!(
        "install.cmd",
        cmd::install(&s, "acme-agent", "1.2.3").unwrap()
    );
    insta::assert_snapshot!(
        "uninstall.cmd",
        cmd::uninstall(&s, "acme-agent", "1.2.3").unwrap()
    );
    insta::assert_snapshot!("install.ps1", ps1::install(&s, "acme-agent", "1.2.3"));
    insta::assert_snapshot!("uninstall.ps1", ps1::uninstall(&s, "acme-agent", "1.2.3"));
    let m = cargo_winpkg::package::manifest::Manifest {
        format: cargo_winpkg::package::manifest::FORMAT.into(),
        format_version: cargo_winpkg::package::manifest::FORMAT_VERSION,
        generator: "cargo-winpkg (test)".into(),
        package: cargo_winpkg::package::manifest::PackageInfo {
            name: "acme-agent".into(),
            version: "1.2.3".into(),
            target: "x86_64-pc-windows-gnu".into(),
        },
        exe: "acme-agent.exe".into(),
        root_dir: None,
        service: Some(cargo_winpkg::package::manifest::ServiceInfo::new(&s)),
        autostart: None,
        dll_report: cargo_winpkg::package::manifest::DllReport {
            errors: 0,
            warnings: 0,
            bundled: vec![],
            imports: vec![],
        },
        files: vec![],
    };
    insta::assert_snapshot!("service.json", cargo_winpkg::package::manifest::to_json(&m));

    // The shawl form of a console program.
    let mut c = rich_shawl();
    c.log_rotate = Some("1MiB".into());
    c.log_retain = Some(4);
    c.log_output = Some(false);
    let s = svc(&c, false);
    assert_eq!(s.mode, service::Mode::Shawl);
    insta::assert_snapshot!(
        "install-shawl.cmd",
        cmd::install(&s, "acme-agent", "1.2.3").unwrap()
    );
}

use cargo_winpkg::script::quote::split;

/// Evaluate one generated line the way cmd.exe does for this restricted shape: FOR /F
/// over quoted literals, then token substitution into the command (never re-parsed).
/// Also checks the invariants that make the literal safe for cmd.exe's parser.
fn eval_line(line: &str, dir: &str) -> String {
    let mut vars: std::collections::HashMap<char, String> = Default::default();
    let mut rest = line;
    loop {
        if let Some(r) = rest.strip_prefix("for /f \"delims=\" %%Q in ('echo ^\"') do ") {
            vars.insert('Q', "\"".into());
            rest = r;
        } else if let Some(r) = rest.strip_prefix("for %%Z in (\"%~dp0.\") do ") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("for %%P in (\"%ProgramData%\") do ") {
            vars.insert('P', PROGRAMDATA.into());
            rest = r;
        } else if let Some(r) = rest.strip_prefix("for %%X in (\"%WPK_XDIR%\") do ") {
            // The install folder as install.cmd XML-escapes it.
            vars.insert('X', dir.replace('&', "&amp;"));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("for /f \"tokens=2-") {
            let (n, r) = r.split_once(" delims=").unwrap();
            let n: usize = n.parse().unwrap();
            let mut chars = r.chars();
            let delim = chars.next().unwrap();
            let r = chars.as_str().strip_prefix("\" %%").unwrap();
            let letter = r.chars().next().unwrap();
            let r = &r[letter.len_utf8()..];
            let r = r.strip_prefix(" in (\"").unwrap();
            let end = r.find('"').unwrap();
            let literal = &r[..end];
            // Safe inside quotes: no quote to end them, every % doubled.
            assert!(!literal.contains('"'));
            assert!(!literal.replace("%%", "").contains('%'), "{literal}");
            assert!(!literal.contains(['\r', '\n']));
            let text = literal.replace("%%", "%");
            let tokens: Vec<&str> = text.split(delim).filter(|t| !t.is_empty()).collect();
            assert_eq!(tokens[0], "X");
            assert_eq!(tokens.len(), n, "token count");
            for (k, t) in tokens[1..].iter().enumerate() {
                let c = char::from_u32(letter as u32 + k as u32).unwrap();
                vars.insert(c, t.to_string());
            }
            rest = r[end..].strip_prefix("\") do ").unwrap();
        } else {
            break;
        }
    }
    // Substitute %%~fZ and %%X in the command text.
    let mut out = String::new();
    let mut r = rest;
    while let Some(i) = r.find("%%") {
        out.push_str(&r[..i]);
        let after = &r[i + 2..];
        if let Some(a) = after.strip_prefix("~fZ") {
            out.push_str(dir);
            r = a;
        } else if let Some(c) = after.strip_prefix('~').and_then(|a| a.chars().next()) {
            // A plain FOR item's variable, its quotes taken off (%%~P, %%~X).
            assert!("PX".contains(c), "%%~{c} in {line}");
            out.push_str(&vars[&c]);
            r = &after[2..];
        } else {
            let c = after.chars().next().unwrap();
            out.push_str(
                vars.get(&c)
                    .unwrap_or_else(|| panic!("undefined %%{c} in {line}")),
            );
            r = &after[c.len_utf8()..];
        }
    }
    out.push_str(r);
    // Outside the FOR literals, the command text itself must not carry user text:
    // only fixed words and variable references, so no quotes or specials appear.
    out
}

/// What `%ProgramData%` expands to in the model.
const PROGRAMDATA: &str = "C:\\Program Data & 100%";

fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 \"%^&|<>()!$`';,=~#@{}\\[\\]+*?\\\\/é中😀-]{1,24}",
        "\\PC{1,16}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn cmd_lines_carry_any_string_literally(
        name in "[a-zA-Z0-9 \"%^&|<>()!$`';,=~#@{}+é中😀_.-]{1,20}",
        display in nasty(),
        desc in nasty(),
        args in proptest::collection::vec(nasty(), 0..4),
        env_value in nasty(),
    ) {
        let name = name.trim().to_string();
        prop_assume!(!name.is_empty());
        let cfg = ServiceConfig {
            name: Some(name.clone()),
            display_name: Some(display.clone()),
            description: Some(desc.clone()),
            args: Some(args.clone()),
            env: Some([("APP_VALUE".to_string(), env_value.clone())].into()),
            ..ServiceConfig::default()
        };
        let Ok((s, _)) = service::from_config(&cfg, "app.exe", Some(true), &origin()) else {
            return Ok(()); // rejected with an error naming the key: fine
        };
        let script = match cmd::install(&s, "p", "1") {
            Ok(text) => text,
            Err(_) => return Ok(()), // unrepresentable: refused, never written
        };
        let dir = "C:\\Program Files\\A&B 100%";
        let create = script.lines().find(|l| l.contains("sc.exe create")).unwrap();
        let cmdline = eval_line(create, dir);
        let cmdline = cmdline.split(" >\"%WPK_TMP%\"").next().unwrap();
        let argv = split(cmdline);
        prop_assert_eq!(&argv[0], "sc.exe");
        prop_assert_eq!(&argv[1], "create");
        prop_assert_eq!(&argv[2], &name);
        prop_assert_eq!(&argv[3], "binPath=");
        prop_assert_eq!(&argv[4], &service::image_path(&s, dir));
        let dn = argv.iter().position(|a| a == "DisplayName=").unwrap();
        prop_assert_eq!(&argv[dn + 1], &display);
        // And the image path means the program and exactly the configured arguments.
        let image = split(&service::image_path(&s, dir));
        prop_assert_eq!(&image[0], &format!("{dir}\\app.exe"));
        let expanded: Vec<String> = args.iter().map(|a| a.replace("{dir}", dir)).collect();
        prop_assert_eq!(&image[1..], &expanded[..]);
        let d = script.lines().find(|l| l.contains("sc.exe description")).unwrap();
        let argv = split(eval_line(d, dir).split(" >nul").next().unwrap());
        prop_assert_eq!(&argv[3], &desc);
        // The environment reaches reg.exe as one REG_MULTI_SZ string with a separator
        // that cmd.exe does not interpret.
        let e = script.lines().find(|l| l.contains("/v Environment /t REG_MULTI_SZ")).unwrap();
        let argv = split(eval_line(e, dir).split(" >nul").next().unwrap());
        let sep = &argv[argv.iter().position(|a| a == "/s").unwrap() + 1];
        prop_assert!(sep.len() == 1 && !"&|<>^()\"%!".contains(sep.as_str()));
        let data = &argv[argv.iter().position(|a| a == "/d").unwrap() + 1];
        prop_assert_eq!(data, &format!("APP_VALUE={env_value}"));
        // Every line outside the FOR lines is fixed text: the same for a service with
        // other strings of the same shape. No user string appears there raw.
        let plain_cfg = ServiceConfig {
            name: Some("zz".into()),
            display_name: Some("zz".into()),
            description: Some("zz".into()),
            args: Some(args.iter().map(|_| "zz".to_string()).collect()),
            env: Some([("APP_VALUE".to_string(), "zz".to_string())].into()),
            ..ServiceConfig::default()
        };
        let plain = service::from_config(&plain_cfg, "app.exe", Some(true), &origin()).unwrap().0;
        let plain_script = cmd::install(&plain, "p", "1").unwrap();
        let fixed = |t: &str| t.lines().filter(|l| !l.contains("for /f \"tokens=2-")).map(String::from).collect::<Vec<_>>();
        prop_assert_eq!(fixed(&script), fixed(&plain_script));
    }

    /// The script toolkit's line writer, on its own (every writer is built on it): any
    /// values reach the program as exactly those arguments, the folder placeholders put
    /// in, and the line is safe for cmd.exe's parser (eval_line checks the literals).
    #[test]
    fn the_line_writer_carries_any_values_literally(
        values in proptest::collection::vec(nasty(), 1..5),
    ) {
        let template: Vec<String> =
            std::iter::once("prog".to_string()).chain((0..values.len()).map(|i| format!("{{{i}}}"))).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let Ok(line) = cargo_winpkg::script::cmd::safe_line(&template.join(" "), &refs) else {
            return Ok(()); // unrepresentable: refused, never written
        };
        prop_assert!(!line.contains(['\r', '\n']));
        let dir = "C:\\Program Files (x86)\\A&B 100% ^!x!";
        let argv = split(&eval_line(&line, dir));
        let want: Vec<String> = std::iter::once("prog".to_string())
            .chain(values.iter().map(|v| v.replace("{dir}", dir).replace("{programdata}", PROGRAMDATA)))
            .collect();
        prop_assert_eq!(argv, want);
    }

    #[test]
    fn ps1_literals_round_trip(text in "\\PC{0,32}|['‘’‚‛\"$`]{0,12}") {
        let lit = cargo_winpkg::script::quote::ps_literal(&text);
        // A single-quoted PowerShell string: quote characters (any of the four) double.
        let inner = &lit[1..lit.len() - 1];
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            if matches!(c, '\'' | '‘' | '’' | '‚' | '‛') {
                let next = chars.next();
                prop_assert!(next.is_some_and(|n| matches!(n, '\'' | '‘' | '’' | '‚' | '‛')), "undoubled quote in {}", lit);
            }
            out.push(c);
        }
        prop_assert_eq!(out, text);
    }

    /// Data folders and the event source reach mkdir, icacls and reg.exe as exactly
    /// the configured text, placeholders filled in, whatever characters they hold.
    #[test]
    fn folders_and_event_sources_reach_their_commands_literally(
        folder in "[a-zA-Z0-9 &^!$`';,=~#@\\[\\]+()é中😀-]{1,20}",
        source in "[a-zA-Z0-9 \"%^&|<>()!$`';,=~#@{}+é中😀_.-]{1,20}",
        under_dir in any::<bool>(),
    ) {
        let folder = folder.trim().to_string();
        let source = source.trim().to_string();
        prop_assume!(!folder.is_empty() && !source.is_empty());
        let place = if under_dir { "{dir}" } else { "{programdata}" };
        let data = format!("{place}\\{folder}\\data");
        let cfg = ServiceConfig {
            name: Some("svc".into()),
            account: Some("virtual".into()),
            data_dirs: Some(vec![data.clone()]),
            event_log: Some(EventLogConfig::Source(source.clone())),
            ..ServiceConfig::default()
        };
        let Ok((s, _)) = service::from_config(&cfg, "app.exe", Some(true), &origin()) else {
            return Ok(());
        };
        let Ok(script) = cmd::install(&s, "p", "1") else { return Ok(()) };
        let dir = "C:\\Program Files\\A&B 100%";
        let expected = data.replace("{dir}", dir).replace("{programdata}", PROGRAMDATA);
        let mk = script.lines().find(|l| l.contains("mkdir")).unwrap();
        let argv = split(eval_line(mk, dir).split(" >\"%WPK_TMP%\"").next().unwrap());
        prop_assert_eq!(&argv, &vec!["mkdir".to_string(), expected.clone()]);
        let ic = script.lines().find(|l| l.contains("icacls")).unwrap();
        let argv = split(eval_line(ic, dir).split(" >\"%WPK_TMP%\"").next().unwrap());
        prop_assert_eq!(&argv[1], &expected);
        prop_assert_eq!(&argv[3], "NT SERVICE\\svc:(OI)(CI)M");
        let reg = script.lines().find(|l| l.contains("EventMessageFile")).unwrap();
        let argv = split(eval_line(reg, dir).split(" >\"%WPK_TMP%\"").next().unwrap());
        prop_assert_eq!(&argv[2], &format!("HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\{source}"));
        prop_assert_eq!(&argv[8], &format!("{dir}\\app.exe"));
        let un = cmd::uninstall(&s, "p", "1").unwrap();
        let rd = un.lines().find(|l| l.contains("rmdir /s /q")).unwrap();
        let text = eval_line(rd, dir);
        prop_assert!(text.ends_with(&format!("rmdir /s /q \"{expected}\"")), "{}", text);
    }
}

/// The Run-key and PATH scripts: snapshots with hostile names and arguments, and the
/// Run value's data reaching reg.exe literally through the cmd model.
#[test]
fn autostart_scripts() {
    use cargo_winpkg::autostart::{self, Autostart, Scope};
    use cargo_winpkg::config::{CliConfig, RunKeyConfig};
    let run_key = RunKeyConfig {
        name: Some("ACME Agent & \"Tray\" 100% ^!".into()),
        scope: Some(Scope::User),
        args: Some(vec![
            "--data".into(),
            "{dir}\\data dir".into(),
            "say \"hi\" & exit".into(),
        ]),
        start_now: None,
    };
    let a = autostart::from_config(
        Some(&run_key),
        None,
        None,
        "acme",
        None,
        "acme-agent.exe",
        &origin(),
    )
    .unwrap()
    .unwrap();
    let [install, uninstall, install_ps1, uninstall_ps1] =
        autostart::scripts(&a, "acme", "1.2.3").unwrap();
    insta::assert_snapshot!("runkey-install.cmd", install);
    insta::assert_snapshot!("runkey-uninstall.cmd", uninstall);
    insta::assert_snapshot!("runkey-install.ps1", install_ps1);
    insta::assert_snapshot!("runkey-uninstall.ps1", uninstall_ps1);
    let dir = "C:\\Program Files\\A&B 100%";
    let add = install.lines().find(|l| l.contains("reg add")).unwrap();
    let argv = split(eval_line(add, dir).split(" >\"%WPK_TMP%\"").next().unwrap());
    assert_eq!(
        argv[2],
        "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"
    );
    assert_eq!(argv[4], "ACME Agent & \"Tray\" 100% ^!");
    let data = split(&argv[8]);
    assert_eq!(
        data,
        [
            format!("{dir}\\acme-agent.exe"),
            "--data".into(),
            format!("{dir}\\data dir"),
            "say \"hi\" & exit".into()
        ]
    );
    // No admin check for a user's Run key; one for the machine's.
    assert!(!install.contains("cargo-winpkg-admin-check"));
    let machine = Autostart::Path {
        scope: Scope::Machine,
    };
    let [path_install, path_uninstall, ..] = autostart::scripts(&machine, "acme", "1").unwrap();
    assert!(path_install.contains("cargo-winpkg-admin-check"));
    insta::assert_snapshot!("path-install.cmd", path_install);
    insta::assert_snapshot!("path-uninstall.cmd", path_uninstall);
    let cli = CliConfig {
        path: Some(Scope::User),
    };
    assert_eq!(
        autostart::from_config(None, None, Some(&cli), "acme", None, "a.exe", &origin()).unwrap(),
        Some(Autostart::Path { scope: Scope::User })
    );
    // One way to run: a run key and a PATH entry together are refused at the key.
    let e = autostart::from_config(
        Some(&run_key),
        None,
        Some(&cli),
        "acme",
        None,
        "a.exe",
        &origin(),
    )
    .unwrap_err();
    assert_eq!(e.key, "package.metadata.winpkg.cli.path");
}

fn task_cfg() -> cargo_winpkg::config::TaskConfig {
    cargo_winpkg::config::TaskConfig {
        name: Some("ACME Nightly & 'Co' 100%".into()),
        description: Some("Cleans <old> files & \"temp\" ones; 100% ^safe^ !".into()),
        trigger: Some(cargo_winpkg::config::Trigger::Daily),
        at: Some("02:30".into()),
        run_as: Some(cargo_winpkg::config::RunAs::NetworkService),
        highest: Some(true),
        restart_count: Some(5),
        restart_interval: Some("90m".into()),
        time_limit: Some("2h".into()),
        args: Some(vec![
            "--root".into(),
            "{dir}\\data".into(),
            "a \"quoted\" & <x>".into(),
        ]),
        ..Default::default()
    }
}

/// The task's XML follows the rules of the Task Scheduler schema this tool encodes
/// (namespace, version, one trigger, a principal, ISO 8601 durations in range, an Exec
/// action), and every hostile string round-trips through XML escaping.
#[test]
fn task_xml_follows_the_schema_rules() {
    let t = nightly();
    let dir = "C:\\Program Files\\A&B 100%";
    let text = t
        .xml()
        .join("\n")
        .replace("{dir}", &dir.replace('&', "&amp;"));
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "Task");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://schemas.microsoft.com/windows/2004/02/mit/task")
    );
    assert_eq!(root.attribute("version"), Some("1.2"));
    let find = |name: &str| {
        root.descendants()
            .find(|n| n.has_tag_name(name))
            .unwrap_or_else(|| panic!("<{name}> in {text}"))
    };
    let txt = |name: &str| find(name).text().unwrap_or("").to_string();
    assert_eq!(
        txt("Description"),
        "Cleans <old> files & \"temp\" ones; 100% ^safe^ !"
    );
    // The task's name reaches schtasks as /tn (install_cmd_writes_the_task_xml_literally).
    assert!(root.descendants().all(|n| !n.has_tag_name("URI")), "{text}");
    let triggers: Vec<&str> = find("Triggers")
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(triggers, ["CalendarTrigger"]);
    assert_eq!(txt("StartBoundary"), "2000-01-01T02:30:00");
    assert_eq!(txt("UserId"), "S-1-5-20");
    assert_eq!(txt("RunLevel"), "HighestAvailable");
    assert_eq!(txt("ExecutionTimeLimit"), "PT2H");
    assert_eq!(txt("Interval"), "PT1H30M");
    assert_eq!(txt("Count"), "5");
    assert_eq!(txt("Command"), format!("{dir}\\acme.exe"));
    assert_eq!(txt("WorkingDirectory"), dir);
    let args = split(&txt("Arguments"));
    assert_eq!(
        args,
        [
            "--root".to_string(),
            format!("{dir}\\data"),
            "a \"quoted\" & <x>".into()
        ]
    );
}

fn nightly() -> cargo_winpkg::autostart::task::Task {
    cargo_winpkg::autostart::task::from_config(&task_cfg(), "acme", None, "acme.exe", &origin())
        .unwrap()
}

/// install.cmd writes the task's XML line by line: the cmd model rebuilds exactly the
/// XML, with the install folder XML-escaped; install.ps1 writes UTF-16.
#[test]
fn install_cmd_writes_the_task_xml_literally() {
    use cargo_winpkg::autostart::{self, Autostart};
    let dir = "C:\\Program Files\\A&B 100%";
    let text = nightly()
        .xml()
        .join("\n")
        .replace("{dir}", &dir.replace('&', "&amp;"));
    let a = Autostart::Task(nightly());
    let [install, uninstall, install_ps1, _] = autostart::scripts(&a, "acme", "1").unwrap();
    let rebuilt: Vec<String> = install
        .lines()
        .filter(|l| l.contains(">>\"%WPK_XML%.txt\" echo "))
        .map(|l| {
            eval_line(l, dir)
                .split_once(">>\"%WPK_XML%.txt\" echo ")
                .unwrap()
                .1
                .to_string()
        })
        .collect();
    assert_eq!(rebuilt.join("\n"), text);
    assert!(install.contains("cargo-winpkg-admin-check"));
    let create = install
        .lines()
        .find(|l| l.contains("schtasks /create"))
        .unwrap();
    let argv = split(
        eval_line(create, dir)
            .split(" >\"%WPK_TMP%\"")
            .next()
            .unwrap(),
    );
    assert_eq!(argv[5], "ACME Nightly & 'Co' 100%");
    assert!(uninstall.contains("schtasks /delete"));
    assert!(
        install_ps1.contains("[Text.Encoding]::Unicode"),
        "schtasks gets UTF-16 from install.ps1"
    );
    insta::assert_snapshot!("task-install.cmd", install);
    insta::assert_snapshot!("task-install.ps1", install_ps1);
}

/// What the Task Scheduler would refuse, or what cannot work, is refused at its key.
#[test]
fn task_rules_are_checked_at_their_keys() {
    use cargo_winpkg::config::{RunAs, Trigger};
    let check = |f: &dyn Fn(&mut cargo_winpkg::config::TaskConfig)| {
        let mut c = task_cfg();
        f(&mut c);
        cargo_winpkg::autostart::task::from_config(&c, "acme", None, "a.exe", &origin())
            .map(|_| ())
            .map_err(|e| e.key)
    };
    let key = |k: &str| Err(format!("package.metadata.winpkg.task.{k}"));
    assert_eq!(
        check(&|c| c.restart_interval = Some("30s".into())),
        key("restart-interval")
    );
    assert_eq!(
        check(&|c| c.restart_interval = Some("32d".into())),
        key("restart-interval")
    );
    assert_eq!(
        check(&|c| c.restart_count = Some(1000)),
        key("restart-count")
    );
    assert_eq!(check(&|c| c.at = Some("25:00".into())), key("at"));
    assert_eq!(
        check(&|c| {
            c.trigger = Some(Trigger::Boot);
        }),
        key("at")
    );
    assert_eq!(
        check(&|c| {
            c.trigger = Some(Trigger::Boot);
            c.at = None;
            c.run_as = Some(RunAs::User);
        }),
        key("run-as")
    );
    assert_eq!(check(&|c| c.user = Some("alice".into())), key("user"));
    assert_eq!(check(&|c| c.name = Some("a/b".into())), key("name"));
    assert_eq!(
        check(&|c| c.description = Some("two\nlines".into())),
        key("description")
    );
    assert_eq!(
        check(&|c| {
            c.trigger = Some(Trigger::Logon);
            c.at = None;
            c.run_as = Some(RunAs::User);
            c.user = Some("DOM\\alice".into());
        }),
        Ok(())
    );
}

/// Variables whose text comes from outside the script (a folder, the user's name in
/// `%TEMP%`, an argument): cmd.exe parses their expanded text, so they may only stand
/// inside double quotes, where `& | < > ^ ( )` are plain text.
const OUTSIDE_TEXT: &[&str] = &[
    "~dp0",
    "~d0",
    "~1",
    "TEMP",
    "WPK_TMP",
    "WPK_XML",
    "WPK_XDIR",
    "ProgramData",
];
/// Variables that only ever hold numbers or fixed words the script set itself.
const OWN_WORDS: &[&str] = &["WPK_RC", "ERRORLEVEL", "WPK_N", "RANDOM", "WPK_OLDCP", "~2"];

/// Check every `%...%` expansion of one generated .cmd line (FOR variables, `%%x`, are
/// data cmd.exe never parses again, and are skipped): an expansion of outside text
/// stands inside double quotes; every other one is of the script's own words.
fn assert_expansions_are_data(line: &str) {
    let chars: Vec<char> = line.chars().collect();
    let mut quoted = false;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            // Outside quotes a caret escapes the next character (`^"` opens nothing).
            '^' if !quoted => i += 1,
            '"' => quoted = !quoted,
            '%' if chars.get(i + 1) == Some(&'%') => {
                // A FOR variable (%%x, or %%~fx / %%~X with modifiers), else a `%%`
                // that stands for one percent sign.
                let j = i + 2;
                let alpha = |k: usize| chars.get(k).is_some_and(|c| c.is_ascii_alphabetic());
                if alpha(j) {
                    i = j;
                } else if chars.get(j) == Some(&'~') {
                    let mut k = j + 1;
                    while chars.get(k).is_some_and(|c| "fdpnxsatz".contains(*c)) && alpha(k + 1) {
                        k += 1;
                    }
                    i = if alpha(k) { k } else { i + 1 };
                } else {
                    i += 1;
                }
            }
            '%' => {
                let rest: String = chars[i + 1..].iter().collect();
                let name = if rest.starts_with('~') {
                    let end = rest.find(|c: char| c.is_ascii_digit()).unwrap() + 1;
                    rest[..end].to_string()
                } else {
                    let end = rest
                        .find('%')
                        .unwrap_or_else(|| panic!("an unclosed % in {line}"));
                    rest[..end].to_string()
                };
                let base = name.split(':').next().unwrap();
                if OUTSIDE_TEXT.contains(&base) {
                    assert!(quoted, "%{name}% outside double quotes in: {line}");
                } else {
                    assert!(OWN_WORDS.contains(&base), "%{name}% in: {line}");
                }
                i += name.chars().count() + usize::from(!rest.starts_with('~'));
            }
            _ => {}
        }
        i += 1;
    }
    assert!(!quoted, "an unbalanced double quote in: {line}");
}

/// Every line of every generated .cmd (service, shawl service, Run key, task, PATH in
/// both scopes), echo lines and messages among them: text from outside the script
/// reaches cmd.exe only as data.
#[test]
fn every_cmd_line_takes_outside_text_as_data() {
    use cargo_winpkg::autostart::{self, Autostart, Scope};
    use cargo_winpkg::config::RunKeyConfig;
    let mut scripts = Vec::new();
    let rich = svc(&rich(), true);
    let mut c = rich_shawl();
    c.name = Some("acme & co".into());
    let shawl = svc(&c, false);
    for s in [&rich, &shawl] {
        scripts.push(cmd::install(s, "acme", "1").unwrap());
        scripts.push(cmd::uninstall(s, "acme", "1").unwrap());
    }
    let run_key = RunKeyConfig {
        name: Some("ACME & \"Tray\" 100% ^!".into()),
        scope: Some(Scope::Machine),
        args: Some(vec!["{dir}\\x & y".into(), "%PATH% ^ !x!".into()]),
        start_now: Some(true),
    };
    let ways = [
        autostart::from_config(Some(&run_key), None, None, "a", None, "a.exe", &origin())
            .unwrap()
            .unwrap(),
        Autostart::Task(nightly()),
        Autostart::Path { scope: Scope::User },
        Autostart::Path {
            scope: Scope::Machine,
        },
    ];
    for a in &ways {
        let [install, uninstall, ..] = autostart::scripts(a, "acme", "1").unwrap();
        scripts.push(install);
        scripts.push(uninstall);
    }
    for script in &scripts {
        for line in script.lines() {
            assert_expansions_are_data(line);
        }
        // Messages print user text through FOR variables only: an echo's fixed words
        // hold no expansion but the script's own.
        for line in script
            .lines()
            .filter(|l| l.trim_start().starts_with("echo "))
        {
            assert!(
                !OUTSIDE_TEXT.iter().any(|v| line.contains(&format!("%{v}"))),
                "{line}"
            );
        }
    }
}

/// The shawl form of the rich service.
fn rich_shawl() -> ServiceConfig {
    let mut c = rich();
    c.mode = None;
    c.account = Some("NetworkService".into());
    c.sid_type = None;
    c.working_dir = Some("{dir}\\data".into());
    c.stop_timeout = Some("15s".into());
    c
}

/// Every task XML the generator can write validates against the Task Scheduler schema
/// (tests/schemas/task.xsd, checked by xmllint): each trigger with each account that
/// may go with it, highest or not, with and without restarts, a time limit, arguments,
/// a description and a user, with hostile strings and the install folder put in as the
/// install scripts put it in. The files are UTF-16 with a byte-order mark, as
/// schtasks reads them.
#[test]
fn every_task_xml_validates_against_the_schema() {
    use cargo_winpkg::config::{RunAs, TaskConfig, Trigger};
    let dir = tempfile::tempdir().unwrap();
    let install_dir = "C:\\Program Files (x86)\\A&B 100% ^!x! é中";
    let mut files = Vec::new();
    for trigger in [
        Trigger::Boot,
        Trigger::Logon,
        Trigger::Daily,
        Trigger::Hourly,
    ] {
        for run_as in [
            RunAs::System,
            RunAs::LocalService,
            RunAs::NetworkService,
            RunAs::User,
        ] {
            if run_as == RunAs::User && trigger != Trigger::Logon {
                continue;
            }
            for (variant, rich) in [false, true].into_iter().enumerate() {
                let at = matches!(trigger, Trigger::Daily | Trigger::Hourly);
                let cfg = TaskConfig {
                    name: Some(
                        if rich {
                            "Nightly & Co 'y' 100% ^!é"
                        } else {
                            "n"
                        }
                        .into(),
                    ),
                    description: rich.then(|| "Cleans <old> & \"temp\" 'files' 100% ^!é中".into()),
                    trigger: Some(trigger),
                    at: (at && rich).then(|| "23:59".into()),
                    user: (trigger == Trigger::Logon && rich).then(|| "DOM\\a&b ü".into()),
                    run_as: Some(run_as),
                    highest: Some(rich),
                    restart_count: Some(if rich { 999 } else { 0 }),
                    restart_interval: rich.then(|| "31d".into()),
                    time_limit: rich.then(|| "26h".into()),
                    args: rich.then(|| {
                        vec![
                            "--root".into(),
                            "{dir}\\data & <x>".into(),
                            "a \"quoted\" ]]> arg".into(),
                        ]
                    }),
                };
                let t = cargo_winpkg::autostart::task::from_config(
                    &cfg,
                    "acme",
                    None,
                    "acme.exe",
                    &origin(),
                )
                .unwrap_or_else(|e| panic!("{trigger:?} {run_as:?}: {}", e.message));
                let text = t
                    .xml()
                    .join("\r\n")
                    .replace("{dir}", &install_dir.replace('&', "&amp;"));
                let mut bytes = vec![0xff, 0xfe];
                bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                let path = dir
                    .path()
                    .join(format!("{trigger:?}-{run_as:?}-{variant}.xml"));
                std::fs::write(&path, bytes).unwrap();
                files.push(path);
            }
        }
    }
    assert_eq!(files.len(), 26);
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(common_root().join("tests/schemas/task.xsd"))
        .args(&files)
        .output()
        .expect("xmllint runs (scripts/setup.sh installs libxml2-utils)");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches(" validates").count(), files.len(), "{text}");
}

fn common_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
