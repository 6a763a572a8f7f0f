//! Documentation and generated data that must not drift from the code.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::*;

/// The book's table of diagnostic codes (docs/src/check.md) is exactly the one the
/// code has (`check::codes::CODES`: name, default level, summary, fix).
#[test]
fn readme_lists_every_diagnostic_code_as_the_code_does() {
    let readme = std::fs::read_to_string(root().join("docs/src/check.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Diagnostic codes"))
        .skip_while(|l| !l.starts_with("|---"))
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        rows,
        cargo_winpkg::check::codes::readme_rows(),
        "docs/src/check.md's code table differs from src/check/codes.rs; paste the rows printed by the assertion"
    );
    // And `check --help` prints every code with its level.
    let help = run(["check", "--help"]).stdout;
    for info in cargo_winpkg::check::codes::CODES {
        assert!(
            help.lines()
                .any(|l| l.contains(info.name) && l.contains(info.severity.as_str())),
            "{} missing from --help:\n{help}",
            info.name
        );
    }
}

/// src/dlls/system-dlls.txt is what scripts/gen-system-dlls.py makes from the vendored
/// vanilla-Windows lists (data/windows-system-dlls): regenerate it when they change.
#[test]
fn the_system_dll_table_is_fresh() {
    // The generator's default folder, inside the repository.
    let out = Command::new("python3")
        .arg(root().join("scripts/gen-system-dlls.py"))
        .arg("--stdout")
        .current_dir(root())
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(root().join("src/dlls/system-dlls.txt")).unwrap();
    assert!(
        out.stdout == committed,
        "src/dlls/system-dlls.txt is stale: run python3 scripts/gen-system-dlls.py"
    );
}

/// A validator installed by scripts/setup.sh: in target/winpkg-test-tools, else on PATH.
fn tool(name: &str) -> std::path::PathBuf {
    let local = root().join("target/winpkg-test-tools/bin").join(name);
    if local.is_file() {
        return local;
    }
    which::which(name).unwrap_or_else(|_| panic!("{name} is not installed: run scripts/setup.sh"))
}

/// Every workflow of docs/src/ci.md validates against its CI system's schema, and the
/// GitHub ones pass actionlint (with shellcheck on their scripts); they do what the
/// page says (the gate in GitHub's format, SARIF to code scanning, unsigned pull
/// requests, a matrix, a release on tags).
#[test]
fn the_ci_recipes_validate() {
    let text = std::fs::read_to_string(root().join("docs/src/ci.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    let mut github = Vec::new();
    let mut gitlab = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("<!-- ci-file: ") {
        let line_end = rest[at..].find('\n').unwrap() + at;
        let marker = &rest[at + "<!-- ci-file: ".len()..line_end];
        let mut words = marker.trim_end_matches("-->").split_whitespace();
        let (kind, name) = (words.next().unwrap(), words.next().unwrap());
        let body_start = rest[line_end..].find("```yaml\n").unwrap() + line_end + "```yaml\n".len();
        let body_end = rest[body_start..].find("```").unwrap() + body_start;
        let body = &rest[body_start..body_end];
        let path = match kind {
            "github" => workflows.join(name),
            "gitlab" => dir.path().join(name),
            other => panic!("unknown ci-file kind {other}"),
        };
        std::fs::write(&path, body).unwrap();
        match kind {
            "github" => github.push((path, body.to_string())),
            _ => gitlab.push((path, body.to_string())),
        }
        rest = &rest[body_end..];
    }
    assert_eq!(
        (github.len(), gitlab.len()),
        (2, 1),
        "the recipes of docs/src/ci.md"
    );
    let validate = |schema: &str, files: &[(std::path::PathBuf, String)]| {
        let out = Command::new(tool("check-jsonschema"))
            .args(["--builtin-schema", schema])
            .args(files.iter().map(|(p, _)| p))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{schema}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    validate("vendor.github-workflows", &github);
    validate("vendor.gitlab-ci", &gitlab);
    // actionlint runs shellcheck on every `run:` script when it is on PATH.
    which::which("shellcheck").expect("shellcheck: run scripts/setup.sh");
    let out = Command::new(tool("actionlint"))
        .current_dir(dir.path())
        .args(github.iter().map(|(p, _)| p))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let main = &github[0].1;
    for promised in [
        "--format github",
        "--format sarif",
        "upload-sarif",
        "--no-sign",
        "secrets.WINPKG_PFX",
        "upload-artifact",
        "gh release create",
        "--msi",
        "runs-on: windows-latest",
        "cargo binstall --no-confirm --locked cargo-winpkg",
        "cargo winpkg verify --here --crash-test",
        "needs: [package, verify-windows]",
    ] {
        assert!(main.contains(promised), "windows.yml: {promised}");
    }
    assert!(github[1].1.contains("matrix.target"));
    assert!(gitlab[0].1.contains("cargo winpkg check dist/*.zip"));
    assert!(gitlab[0].1.contains("saas-windows-medium-amd64"));
    assert!(gitlab[0].1.contains("winpkg verify --here --crash-test"));
}

/// The book's statements about defaults, held against the code that makes them:
/// where shawl.exe is cached, and the winget identifier made from the publisher and
/// the package name.
#[test]
fn readme_states_the_defaults_the_code_uses() {
    use cargo_winpkg::package::bundle;
    let readme = std::fs::read_to_string(root().join("docs/src/service.md")).unwrap()
        + &std::fs::read_to_string(root().join("docs/src/publishing.md")).unwrap();
    // shawl.exe: the cache folder README names, laid out as find_shawl looks for it.
    let target = cargo_winpkg::target::Target::new("x86_64-pc-windows-gnu");
    let cache = std::path::Path::new("<cache>");
    let Ok(bundle::Shawl::Build { exe, .. }) = bundle::find_shawl(&target, None, cache) else {
        panic!("no shawl.exe is cached under <cache>");
    };
    let said = exe
        .to_string_lossy()
        .replace("x86_64-pc-windows-gnu", "<target>");
    assert!(
        readme.contains(&format!("`{said}`")),
        "README must name {said}"
    );
    assert!(readme.contains("`$XDG_CACHE_HOME/cargo-winpkg`"));
    // The default winget identifier, as README's example says.
    let cfg = cargo_winpkg::config::PublishConfig {
        url: Some("https://example.com/{version}/".into()),
        publisher: Some("ACME Labs".into()),
        ..Default::default()
    };
    let facts = cargo_winpkg::package::publish::PackageFacts {
        name: "hello-service",
        version: "1.0.0",
        license: Some("MIT"),
        description: Some("A service"),
        homepage: Some("https://example.com"),
        command: "hello-service",
        source: "[package]",
    };
    let p = cargo_winpkg::package::publish::validate(&facts, &cfg).unwrap();
    assert!(
        readme.contains(&format!(
            "`ACME Labs` and `hello-service` give `{}`",
            p.identifier
        )),
        "README's identifier example must be {}",
        p.identifier
    );
}

/// Every `Result<T, String>` in `text`: (line number, the type as written). A
/// `Result<...>` is read with its angle brackets balanced, so `Result<Vec<(A, B)>,
/// String>` is found and `Result<String, E>` is not.
fn string_errors(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("Result<") {
            let after = &rest[at + "Result<".len()..];
            let (mut depth, mut parts, mut current) = (1, Vec::new(), String::new());
            let mut end = after.len();
            for (i, c) in after.char_indices() {
                match c {
                    '<' | '(' | '[' => depth += 1,
                    '>' | ')' | ']' => depth -= 1,
                    ',' if depth == 1 => {
                        parts.push(std::mem::take(&mut current));
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
                current.push(c);
            }
            parts.push(current);
            if parts.len() == 2 && parts[1].trim() == "String" {
                found.push((n + 1, format!("Result<{}>", &after[..end])));
            }
            rest = &after[end.min(after.len())..];
        }
    }
    found
}

/// No function in src/ reports its failure as a bare `String`: errors are typed (a
/// caller can match on them, and each carries its path, key or cause).
#[test]
fn no_result_carries_a_string_error() {
    assert_eq!(
        string_errors(
            "fn a() -> Result<Vec<(String, String)>, String> {}\nfn b() -> Result<String, E> {}\n// Result<(), String>\n"
        ),
        [(1, "Result<Vec<(String, String)>, String>".to_string())]
    );
    let mut offenders = Vec::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (line, ty) in string_errors(&text) {
                    offenders.push(format!("{}:{line}: {ty}", p.display()));
                }
            }
        }
    }
    offenders.sort();
    assert!(
        offenders.is_empty(),
        "type these errors:\n{}",
        offenders.join("\n")
    );
}

/// Markdown link targets in `text`, outside code fences and code spans, with the
/// `{{#include ...}}` paths of mdBook.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        // Drop code spans: what is between backticks is not a link.
        let plain: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            out.push(after[..end].trim().to_string());
            rest = &after[end.min(after.len())..];
        }
        if let Some(inc) = line.trim().strip_prefix("{{#include ") {
            out.push(inc.trim_end_matches("}}").trim().to_string());
        }
    }
    out
}

/// The ids mdBook gives a Markdown file's headings: lower case, spaces as `-`, only
/// letters, digits, `-` and `_` kept.
fn heading_ids(text: &str) -> Vec<String> {
    let mut fence = false;
    text.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fence = !fence;
            }
            !fence && l.starts_with('#')
        })
        .map(|l| {
            l.trim_start_matches('#')
                .trim()
                .chars()
                .filter_map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        Some(c.to_ascii_lowercase())
                    } else if c.is_whitespace() {
                        Some('-')
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect()
}

/// Every link of the book (docs/src) and of README.md to a file of the repository
/// names one that exists, and every `#anchor` a heading of its page; SUMMARY.md lists
/// every chapter.
#[test]
fn the_books_links_and_anchors_resolve() {
    let book = root().join("docs/src");
    let mut pages: Vec<std::path::PathBuf> = std::fs::read_dir(&book)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.push(root().join("README.md"));
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            if !file.exists() {
                broken.push(format!("{}: {target}: no such file", page.display()));
                continue;
            }
            if !anchor.is_empty() {
                let ids = heading_ids(&std::fs::read_to_string(&file).unwrap_or_default());
                if !ids.iter().any(|i| i == anchor) {
                    broken.push(format!("{}: {target}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    let summary = std::fs::read_to_string(book.join("SUMMARY.md")).unwrap();
    let listed = link_targets(&summary);
    for page in pages.iter().filter(|p| p.starts_with(&book)) {
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name == "SUMMARY.md" || listed.contains(&name),
            "{name} is not in SUMMARY.md"
        );
    }
    assert_eq!(heading_ids("# The MSI (`--msi`)\n"), ["the-msi---msi"]);
}

/// The sibling modules that a module of src/verify/ names: `super::NAME` paths and the
/// first segment of each item of a `use super::{...}` group (comments skipped).
fn verify_imports(text: &str, modules: &[&str]) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    for (i, _) in code.match_indices("super::") {
        let rest = &code[i + "super::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(|item| item.trim().split("::").next().unwrap_or_default())
                .collect(),
            None => vec![
                rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or_default(),
            ],
        };
        for n in names {
            if modules.contains(&n) && !found.iter().any(|f| f == n) {
                found.push(n.to_string());
            }
        }
    }
    found
}

/// verify's layering (src/verify/mod.rs): reading -> checking -> the host -> the steps
/// over it -> the stage that runs them. Each module may import only the ones before
/// it in this order, so there is no circle, and the two flows stay apart.
#[test]
fn verify_modules_import_only_from_the_layers_before_them() {
    const ORDER: [&str; 20] = [
        "ice",
        "report",
        "cleanup",
        "cab",
        "offline",
        "msi",
        "contents",
        "probe",
        "batch",
        "host",
        "wine",
        "windows",
        "steps",
        "ways",
        "crash",
        "zip_steps",
        "msi_steps",
        "wine_stage",
        "here_stage",
        "sandbox",
    ];
    assert_eq!(
        verify_imports(
            "use super::{a::B, Run, offline};\n// super::wine\nlet x = super::msi::read();",
            &ORDER
        ),
        ["offline", "msi"]
    );
    let dir = root().join("src/verify");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension().is_some_and(|x| x == "rs") || p.join("mod.rs").is_file()).then_some(stem)
        })
        .filter(|s| s != "mod")
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = ORDER.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "give each verify module its place in ORDER"
    );
    let mut wrong = Vec::new();
    for (rank, module) in ORDER.iter().enumerate() {
        let path = match dir.join(format!("{module}.rs")) {
            p if p.is_file() => p,
            _ => dir.join(module).join("mod.rs"),
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for used in verify_imports(&text, &ORDER) {
            let at = ORDER.iter().position(|m| *m == used).unwrap();
            let flows = [module, &used.as_str()] == [&"msi_steps", &"zip_steps"];
            if at >= rank || flows {
                wrong.push(format!("{module} imports {used}"));
            }
        }
    }
    assert!(wrong.is_empty(), "against verify's layering: {wrong:?}");
}

/// cargo-winpkg's own release workflow validates (the workflow schema, actionlint with
/// shellcheck), and every archive `cargo binstall cargo-winpkg` asks for, by
/// [package.metadata.binstall], is one the workflow attaches to the release.
#[test]
fn the_release_workflow_validates_and_makes_what_binstall_fetches() {
    let workflow = root().join(".github/workflows/release.yml");
    for (tool_name, args) in [
        (
            "check-jsonschema",
            vec!["--builtin-schema", "vendor.github-workflows"],
        ),
        ("actionlint", vec![]),
    ] {
        let out = Command::new(tool(tool_name))
            .args(args)
            .arg(&workflow)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool_name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let yml = std::fs::read_to_string(&workflow).unwrap();
    // What the workflow attaches: cargo-winpkg-VERSION-TARGET + suffix, per matrix row.
    let mut made = Vec::new();
    let mut target = None;
    for line in yml.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix("- target: ") {
            target = Some(t.to_string());
        } else if let (Some(s), Some(t)) = (line.strip_prefix("suffix: "), target.take()) {
            made.push(format!("cargo-winpkg-{{version}}-{t}{s}"));
        }
    }
    assert_eq!(made.len(), 2, "{yml}");
    assert!(yml.contains(r#"name="cargo-winpkg-${GITHUB_REF_NAME#v}-$TARGET""#));
    assert!(yml.contains(r#"gh release create "$GITHUB_REF_NAME" dist/*"#));
    let toml: toml_edit::DocumentMut = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let pkg = &toml["package"];
    let repo = pkg["repository"].as_str().unwrap();
    let bin = &pkg["metadata"]["binstall"];
    assert_eq!(
        bin["bin-dir"].as_str(),
        Some("{ bin }{ binary-ext }"),
        "the archives hold the binary at their root"
    );
    for t in [
        "x86_64-unknown-linux-gnu",
        "x86_64-pc-windows-gnu",
        "x86_64-pc-windows-msvc",
    ] {
        let over = bin.get("overrides").and_then(|o| o.get(t));
        let field = |k: &str| {
            over.and_then(|o| o.get(k))
                .or_else(|| bin.get(k))
                .and_then(|v| v.as_str())
                .unwrap()
                .to_string()
        };
        let suffix = match field("pkg-fmt").as_str() {
            "zip" => ".zip",
            "tgz" => ".tar.gz",
            other => panic!("pkg-fmt {other}"),
        };
        let url = field("pkg-url")
            .replace("{ repo }", repo)
            .replace("{ name }", "cargo-winpkg")
            .replace("{ target }", t)
            .replace("{ archive-suffix }", suffix);
        let file = url
            .strip_prefix(&format!("{repo}/releases/download/v{{ version }}/"))
            .unwrap_or_else(|| panic!("{t}: {url} is not a file of the release"))
            .replace("{ version }", "{version}");
        assert!(
            made.contains(&file),
            "{t}: binstall fetches {file}; the release has {made:?}"
        );
    }
}

/// The key tables of the book: each chapter's tables and the config table each one
/// documents, in order (`None`: a table of tables, whose first column names it).
const KEY_TABLES: [(&str, &[Option<&str>]); 6] = [
    ("configuration.md", &[Some("")]),
    ("msi.md", &[Some("msi")]),
    ("publishing.md", &[Some("publish")]),
    ("service.md", &[Some("service")]),
    (
        "trust.md",
        &[Some("version-info"), Some("sign"), Some("sign")],
    ),
    ("ways-to-run.md", &[None]),
];

/// The (config table, key) pairs one key cell documents: each backticked name before
/// any ` =`, a dotted one below its table (`recovery.actions` of [service]).
fn documented_keys(table: &str, cell: &str) -> Vec<(String, String)> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|name| name.split(" =").next().unwrap_or_default().trim())
        .filter(|name| !name.is_empty())
        .map(|name| match name.rsplit_once('.') {
            Some((sub, key)) if table.is_empty() => (sub.to_string(), key.to_string()),
            Some((sub, key)) => (format!("{table}.{sub}"), key.to_string()),
            None => (table.to_string(), name.to_string()),
        })
        .collect()
}

/// Each config key has one row in the book: a key documented in two chapters drifts.
#[test]
fn each_config_key_is_documented_once() {
    assert_eq!(
        documented_keys("service", " `recovery.actions`, `x = 1` "),
        [
            ("service.recovery".to_string(), "actions".to_string()),
            ("service".to_string(), "x".to_string())
        ]
    );
    let book = root().join("docs/src");
    let mut rows: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(&book).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let headers: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("| key |") || l.starts_with("| table | key |"))
            .map(|(i, _)| i)
            .collect();
        let Some((_, tables)) = KEY_TABLES.iter().find(|(f, _)| *f == name) else {
            assert!(
                headers.is_empty(),
                "{name}: a key table KEY_TABLES does not name"
            );
            continue;
        };
        assert_eq!(headers.len(), tables.len(), "{name}: its key tables");
        let lines: Vec<&str> = text.lines().collect();
        for (&start, table) in headers.iter().zip(tables.iter()) {
            let mut current = String::new();
            for (i, line) in lines.iter().enumerate().skip(start + 2) {
                if !line.starts_with('|') {
                    break;
                }
                let cells: Vec<&str> = line.split('|').skip(1).collect();
                let (table, cell) = match table {
                    Some(t) => (t.to_string(), cells[0]),
                    None => {
                        if let Some(t) = cells[0].trim().strip_prefix('`') {
                            current = t.trim_end_matches('`').to_string();
                        }
                        (current.clone(), cells[1])
                    }
                };
                for pair in documented_keys(&table, cell) {
                    rows.entry(pair)
                        .or_default()
                        .push(format!("{name}:{}", i + 1));
                }
            }
        }
    }
    let twice: Vec<String> = rows
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|((t, k), at)| format!("[{t}] {k}: {}", at.join(", ")))
        .collect();
    assert!(twice.is_empty(), "documented more than once: {twice:#?}");
    assert!(rows.len() > 80, "the key tables were read: {}", rows.len());
}
