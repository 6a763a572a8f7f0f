//! `cargo winpkg --exe PATH`: package an exe that cargo did not build (Go, C, C++). The
//! configuration comes from `winpkg.toml` in the current folder (the keys of
//! `[package.metadata.winpkg]` at its top level, plus `name`, `version`, `description`,
//! `license`, `authors`, `homepage`, `repository`), overridden by `--name` and
//! `--version`. The run then goes through the same plan as a crate's: it is described
//! to the planner as a package of one binary whose manifest is winpkg.toml.

use std::path::Path;

use serde_json::{Value, json};

use super::{BuildError, BuildOptions};
use crate::pe::Machine;

/// The package facts `winpkg.toml` may hold beside the winpkg keys.
const PACKAGE_KEYS: [&str; 7] = crate::config::keys::STANDALONE_PACKAGE_KEYS;

/// A prebuilt exe, described as cargo metadata would describe a one-binary crate.
pub(super) struct Prebuilt {
    pub meta: cargo_metadata::Metadata,
}

fn bad(path: &Path, why: impl Into<String>) -> BuildError {
    BuildError::Prebuilt {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// The default target for a PE machine: one whose shawl.exe can be built here.
fn target_of(machine: Machine) -> Option<&'static str> {
    match machine {
        Machine::X86_64 => Some("x86_64-pc-windows-gnu"),
        Machine::X86 => Some("i686-pc-windows-gnu"),
        Machine::Aarch64 => Some("aarch64-pc-windows-gnullvm"),
        _ => None,
    }
}

/// "an x64 program", "an x86 program", "an arm64 program", "a riscv64 program"...
fn machine_article(machine: Machine) -> String {
    let name = match machine {
        Machine::X86_64 => "x64",
        Machine::X86 => "x86",
        Machine::Aarch64 => "arm64",
        other => other.as_str(),
    };
    let vowel = name.starts_with(['a', 'e', 'i', 'o', 'u', 'x']);
    format!("{} {name}", if vowel { "an" } else { "a" })
}

/// Read `exe` and `winpkg.toml` (in `dir`), and describe them for the planner.
pub(super) fn describe(
    opts: &BuildOptions,
    exe: &Path,
    dir: &Path,
) -> Result<Prebuilt, BuildError> {
    let facts = crate::pe::read_file(exe).map_err(|e| bad(exe, e.to_string()))?;
    if facts.dll {
        return Err(bad(exe, "is a DLL: --exe packages a program"));
    }
    let toml_path = dir.join("winpkg.toml");
    let mut table = match std::fs::read_to_string(&toml_path) {
        Ok(text) => toml_edit::de::from_str::<Value>(&text)
            .map_err(|e| bad(&toml_path, e.to_string().trim().to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(bad(&toml_path, e.to_string())),
    };
    let Some(map) = table.as_object_mut() else {
        return Err(bad(&toml_path, "is not a table of keys"));
    };
    let mut package = serde_json::Map::new();
    for k in PACKAGE_KEYS {
        if let Some(v) = map.remove(k) {
            package.insert(k.to_string(), v);
        }
    }
    let text = |k: &str| package.get(k).and_then(Value::as_str).map(str::to_string);
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".into());
    let name = opts
        .name
        .clone()
        .or(text("name"))
        .unwrap_or_else(|| stem.clone());
    let Some(version) = opts.version.clone().or(text("version")) else {
        return Err(bad(
            exe,
            "--exe needs the program's version: pass --version 1.2.3, or write `version = \"1.2.3\"` in winpkg.toml",
        ));
    };
    if cargo_metadata::semver::Version::parse(&version).is_err() {
        return Err(bad(
            exe,
            format!(
                "`{version}` is not a version of three numbers (1.2.3, optionally -pre or +build)"
            ),
        ));
    }
    settle_target(opts, exe, facts.machine, map)?;
    let described = Described {
        dir,
        toml_path: &toml_path,
        exe,
        name: &name,
        version: &version,
        stem: &stem,
    };
    let meta = metadata(&described, &package, map)?;
    Ok(Prebuilt { meta })
}

/// The target: `--target` or winpkg.toml's, which must be of the exe's architecture
/// (one exe is one program for one machine: the target only says which toolchain
/// family and Windows folders it belongs to), else the one for its machine.
fn settle_target(
    opts: &BuildOptions,
    exe: &Path,
    machine: Machine,
    map: &mut serde_json::Map<String, Value>,
) -> Result<(), BuildError> {
    if opts.targets.len() > 1 {
        return Err(bad(
            exe,
            format!(
                "is one program for one machine: give at most one --target (got {}); run once per exe",
                opts.targets.join(", ")
            ),
        ));
    }
    let chosen = opts
        .targets
        .first()
        .cloned()
        .or_else(|| map.get("target").and_then(Value::as_str).map(str::to_owned));
    if let Some(triple) = chosen {
        let arch = crate::target::Target::new(&triple).arch().to_owned();
        let fits = match machine {
            Machine::X86_64 => arch == "x86_64",
            Machine::X86 => matches!(arch.as_str(), "i686" | "i586" | "i386"),
            Machine::Aarch64 => arch == "aarch64",
            _ => false,
        };
        if !fits {
            let from = if opts.targets.is_empty() {
                "winpkg.toml's `target`"
            } else {
                "--target"
            };
            return Err(bad(
                exe,
                format!(
                    "is {} program, but {from} is {triple}: leave the target out (it follows the exe) or give one for the exe's architecture",
                    machine_article(machine)
                ),
            ));
        }
    }
    if opts.targets.is_empty() && !map.contains_key("target") {
        let target = target_of(machine).ok_or_else(|| {
            bad(
                exe,
                format!(
                    "is a {} program; --exe packages x64, x86 and arm64 programs",
                    machine
                ),
            )
        })?;
        map.insert("target".into(), json!(target));
    }
    Ok(())
}

/// The prebuilt program as the planner sees it.
struct Described<'a> {
    /// winpkg.toml's folder: the "workspace".
    dir: &'a Path,
    toml_path: &'a Path,
    exe: &'a Path,
    name: &'a str,
    version: &'a str,
    /// The exe's file stem: the "binary".
    stem: &'a str,
}

/// What `cargo metadata` would say of a crate of one binary, the exe, whose manifest
/// is winpkg.toml (`package`: its package facts; `map`: its winpkg keys).
fn metadata(
    d: &Described,
    package: &serde_json::Map<String, Value>,
    map: &serde_json::Map<String, Value>,
) -> Result<cargo_metadata::Metadata, BuildError> {
    let Described {
        dir,
        toml_path,
        exe,
        name,
        version,
        stem,
    } = *d;
    let text = |k: &str| package.get(k).and_then(Value::as_str).map(str::to_string);
    let id = format!("path+file://{}#{name}@{version}", dir.display());
    let pkg = json!({
        "name": name,
        "version": version,
        "id": id,
        "license": text("license"),
        "license_file": null,
        "description": text("description"),
        "source": null,
        "dependencies": [],
        "targets": [{
            "name": stem,
            "kind": ["bin"],
            "crate_types": ["bin"],
            "required-features": [],
            "src_path": exe,
            "edition": "2021",
            "doctest": false,
            "test": false,
            "doc": false
        }],
        "features": {},
        "manifest_path": toml_path,
        "metadata": { "winpkg": Value::Object(map.clone()) },
        "publish": null,
        "authors": package.get("authors").cloned().unwrap_or(json!([])),
        "categories": [],
        "keywords": [],
        "readme": null,
        "repository": text("repository"),
        "homepage": text("homepage"),
        "documentation": null,
        "edition": "2021",
        "links": null,
        "default_run": null,
        "rust_version": null
    });
    let meta = json!({
        "packages": [pkg],
        "workspace_members": [id],
        "workspace_default_members": [id],
        "resolve": null,
        "workspace_root": dir,
        "target_directory": dir.join("target"),
        "metadata": null,
        "version": 1
    });
    serde_json::from_value(meta).map_err(|e| bad(toml_path, e.to_string()))
}
