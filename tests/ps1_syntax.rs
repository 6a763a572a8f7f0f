//! The generated PowerShell scripts parse: no PowerShell runs here (Wine's is a stub),
//! so every install/uninstall .ps1 is parsed with the tree-sitter PowerShell grammar,
//! for the rich service, its shawl form, the Run key, PATH, and any strings a property
//! test can make. A syntax check is not execution, but it catches a generator that
//! breaks quoting.

use cargo_winpkg::autostart::service::{self, ps1};
use cargo_winpkg::autostart::{self, Autostart, Scope};
use cargo_winpkg::config::{EventLogConfig, Origin, OriginKind, RunKeyConfig, ServiceConfig};
use proptest::prelude::*;

/// The first syntax error of `script`, if any: (row, the text around it).
fn syntax_error(script: &str) -> Option<(usize, String)> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    let tree = parser.parse(script, None).expect("a parse tree");
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            let text = &script[node.start_byte()..node.end_byte().min(node.start_byte() + 80)];
            return Some((node.start_position().row + 1, text.to_string()));
        }
        stack.extend(node.children(&mut cursor));
    }
    Some((0, "an error somewhere".into()))
}

fn origin() -> Origin {
    Origin {
        kind: OriginKind::Package,
        manifest: "/nonexistent/Cargo.toml".into(),
    }
}

fn assert_parses(name: &str, script: &str) {
    let script = script.trim_start_matches('\u{feff}');
    if let Some((row, text)) = syntax_error(script) {
        panic!("{name}: syntax error at line {row}: {text:?}\n{script}");
    }
}

#[test]
fn the_grammar_finds_broken_scripts() {
    assert!(syntax_error("Write-Host 'unclosed\n").is_some());
    assert!(syntax_error("if ($a) { Write-Host 'x'\n").is_some());
    assert!(syntax_error("Write-Host 'fine'\nexit 0\n").is_none());
}

fn service_cfg(display: &str, desc: &str, args: Vec<String>, folder: &str) -> ServiceConfig {
    ServiceConfig {
        name: Some("svc".into()),
        display_name: Some(display.into()),
        description: Some(desc.into()),
        args: Some(args),
        env: Some([("K".to_string(), desc.to_string())].into()),
        account: Some("virtual".into()),
        data_dirs: Some(vec![format!("{{programdata}}\\{folder}")]),
        log_dir: Some("{dir}\\logs".into()),
        event_log: Some(EventLogConfig::Source(format!("{display} log"))),
        ..ServiceConfig::default()
    }
}

#[test]
fn every_generated_script_parses() {
    let hostile = "ACME 'quoted' ‘smart’ \"double\" $HOME `tick` & | ; ( ) { } @ # % ^ ! é中😀";
    let cfg = service_cfg(
        hostile,
        hostile,
        vec![hostile.into(), "{dir}\\x y".into()],
        "A & B (x) 'q'",
    );
    for dispatcher in [true, false] {
        let (s, _) = service::from_config(&cfg, "app.exe", Some(dispatcher), &origin()).unwrap();
        assert_parses("install.ps1", &ps1::install(&s, "p", "1"));
        assert_parses("uninstall.ps1", &ps1::uninstall(&s, "p", "1"));
    }
    let run_key = RunKeyConfig {
        name: Some(hostile.into()),
        scope: Some(Scope::Machine),
        args: Some(vec![hostile.into(), "{dir}\\x".into()]),
        start_now: Some(true),
    };
    let a = autostart::from_config(Some(&run_key), None, None, "p", None, "app.exe", &origin())
        .unwrap()
        .unwrap();
    let scripts = autostart::scripts(&a, "p", "1").unwrap();
    assert_parses("run-key install.ps1", &scripts[2]);
    assert_parses("run-key uninstall.ps1", &scripts[3]);
    for scope in [Scope::User, Scope::Machine] {
        let scripts = autostart::scripts(&Autostart::Path { scope }, "p", "1").unwrap();
        assert_parses("path install.ps1", &scripts[2]);
        assert_parses("path uninstall.ps1", &scripts[3]);
    }
    let task = cargo_winpkg::config::TaskConfig {
        name: Some("Nightly & 'Co' 100%".into()),
        description: Some(hostile.into()),
        args: Some(vec![hostile.into(), "{dir}\\x".into()]),
        ..Default::default()
    };
    let t =
        cargo_winpkg::autostart::task::from_config(&task, "p", None, "app.exe", &origin()).unwrap();
    let scripts = autostart::scripts(&Autostart::Task(t), "p", "1").unwrap();
    assert_parses("task install.ps1", &scripts[2]);
    assert_parses("task uninstall.ps1", &scripts[3]);
}

fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 \"%^&|<>()!$`';,=~#@{}\\[\\]+*?\\\\/é中😀‘’-]{1,24}",
        "\\PC{1,16}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn scripts_parse_for_any_strings(display in nasty(), desc in nasty(), arg in nasty(), name in nasty()) {
        let cfg = service_cfg(&display, &desc, vec![arg.clone()], "data");
        if let Ok((s, _)) = service::from_config(&cfg, "app.exe", Some(true), &origin()) {
            let script = ps1::install(&s, "p", "1");
            let script = script.trim_start_matches('\u{feff}');
            prop_assert!(syntax_error(script).is_none(), "{:?}\n{}", syntax_error(script), script);
            let script = ps1::uninstall(&s, "p", "1");
            let script = script.trim_start_matches('\u{feff}');
            prop_assert!(syntax_error(script).is_none(), "{:?}\n{}", syntax_error(script), script);
        }
        let run_key = RunKeyConfig { name: Some(name), args: Some(vec![arg, "{dir}".into()]), ..RunKeyConfig::default() };
        if let Ok(Some(a)) = autostart::from_config(Some(&run_key), None, None, "p", None, "app.exe", &origin()) {
            for script in &autostart::scripts(&a, "p", "1").unwrap()[2..] {
                let script = script.trim_start_matches('\u{feff}');
                prop_assert!(syntax_error(script).is_none(), "{:?}\n{}", syntax_error(script), script);
            }
        }
    }
}
