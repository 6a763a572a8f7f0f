//! Plan: from `cargo metadata`, the options and the config, what to build for each
//! package: which packages, which binary, which target and builder, and the zip's name.

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, Package};

use super::error::BuildError;
use super::files;
use super::options::BuildOptions;
use crate::autostart::service;
use crate::check::Policy;
use crate::config::{self, Builder, Config, ConfigError, Origin, OriginKind};
use crate::package::sign::Signer;
use crate::target::{Env, Target};

/// A service validated before the build: every rule but the mode's.
#[derive(Debug, Clone)]
pub struct PlannedService {
    pub base: service::Service,
    /// What the validation advised (shown after the build, with the mode's own).
    pub advice: Vec<service::Advice>,
}

/// Everything one package's run needs, decided before anything is built.
pub struct Plan<'m> {
    pub package: &'m Package,
    pub manifest: PathBuf,
    pub manifest_dir: PathBuf,
    /// The package's own table (errors about keys it does not set land here).
    pub origin: Origin,
    pub cfg: Config,
    pub policy: Policy,
    pub target: Target,
    pub bin: String,
    pub exe_name: String,
    pub builder: Builder,
    /// rustc flags of ours: crt-static, reproducibility.
    pub rustflags: Vec<String>,
    /// The version information and manifest to stamp into the exe.
    pub stamp: Option<crate::package::stamp::Stamp>,
    /// Signs what ships, when signing is on.
    pub signer: Option<Signer>,
    /// `--msi`: what the MSI says about the product.
    pub msi: Option<crate::package::msi::Product>,
    /// `--exe`: the exe was built elsewhere (what cannot be stamped is said, not fatal).
    pub prebuilt: bool,
    /// `[publish]`: the winget and scoop manifests' facts.
    pub publish: Option<crate::package::publish::Publish>,
    /// The service table, validated (its mode is settled once the exe is built).
    pub service: Option<PlannedService>,
    /// How the program starts when it is not a service: a Run key, or PATH.
    pub autostart: Option<crate::autostart::Autostart>,
    /// The zip's file name.
    pub archive: String,
    /// `include`, expanded: (name in the package, file).
    pub includes: Vec<(String, PathBuf)>,
    /// `bundle-dlls`, expanded (each checked to be a PE file).
    pub bundle_dlls: Vec<PathBuf>,
    /// The workspace's Cargo.toml (where `[profile.*]` is read).
    pub workspace_manifest: PathBuf,
    /// `<target-dir>/winpkg`: staging, caches, and the default output folder.
    pub winpkg_dir: PathBuf,
    /// `<target-dir>/<triple>/<profile>`: where cargo puts the exe.
    pub out_dir: PathBuf,
    /// The time every entry of the zip and the MSI carries, and where it came from.
    pub time: (u64, crate::package::TimeSource),
}

impl Plan<'_> {
    /// What `cargo build` needs for this package, with `args` as the cargo flags.
    pub fn build_plan<'a>(&'a self, args: &'a super::CargoFlags) -> super::cargo::BuildPlan<'a> {
        super::cargo::BuildPlan {
            args,
            package: &self.package.name,
            bin: &self.bin,
            target: &self.target,
            builder: self.builder,
            rustflags: &self.rustflags,
            manifest: &self.manifest,
        }
    }
}

/// Plan the run of `pkg`: validate its configuration (the service table included)
/// before anything long happens.
pub fn plan<'m>(
    opts: &BuildOptions,
    meta: &'m Metadata,
    pkg: &'m Package,
) -> Result<Plan<'m>, BuildError> {
    let manifest = pkg.manifest_path.as_std_path().to_path_buf();
    let manifest_dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
    let origin = Origin {
        kind: OriginKind::of_manifest(&manifest),
        manifest: manifest.clone(),
    };
    let cfg = package_config(meta, pkg)?;
    let policy = cfg.policy(&origin)?;
    let target = Target::new(
        opts.targets
            .first()
            .map(String::as_str)
            .or(cfg.target.as_deref())
            .unwrap_or(config::DEFAULT_TARGET),
    );
    let bin = select_bin(pkg, opts.bin.as_deref(), cfg.bin.as_deref())?;
    let exe_name = exe_name(&cfg, &bin, &origin)?;
    let service = planned_service(&cfg, &origin, pkg, &exe_name)?;
    let stamp = super::trust::version_stamp(&cfg, &origin, pkg, &bin, &exe_name)?;
    let autostart = way_to_run(&cfg, &origin, pkg, &exe_name)?;
    let signer = signer(opts, &cfg, &origin, pkg)?;
    let msi = if opts.msi {
        Some(msi_product(&cfg, &origin, pkg, &target)?)
    } else {
        None
    };
    let publish = publish_facts(&cfg, &origin, pkg, &exe_name)?;
    // A prebuilt exe has no cargo profile: its zip is named as a release's.
    let profile = match opts.exe {
        Some(_) => "release".to_string(),
        None => opts.cargo.profile_name(),
    };
    let archive = archive_file_name(&cfg, &origin, pkg, &target, &bin, &profile)?;
    let workspace = meta.workspace_root.as_std_path();
    let includes = files::includes(&cfg, &origin, &manifest_dir, workspace, &exe_name)?;
    let mut service = service;
    if let Some(planned) = &mut service {
        warn_bare_names(planned, &includes);
    }
    let bundle_dlls = files::bundle_dlls(&cfg, &origin, &manifest_dir)?;
    let target_dir = opts
        .cargo
        .target_dir
        .clone()
        .unwrap_or_else(|| meta.target_directory.clone().into_std_path_buf());
    Ok(Plan {
        package: pkg,
        builder: opts.builder.or(cfg.builder).unwrap_or(Builder::Cargo),
        rustflags: rustflags(&cfg, &target, workspace, &target_dir),
        stamp,
        signer,
        msi,
        prebuilt: opts.exe.is_some(),
        publish,
        service,
        autostart,
        out_dir: target_dir
            .join(target.triple())
            .join(opts.cargo.profile_dir()),
        winpkg_dir: target_dir.join("winpkg"),
        workspace_manifest: workspace.join("Cargo.toml"),
        time: crate::package::source_time(&manifest_dir),
        manifest,
        manifest_dir,
        origin,
        cfg,
        policy,
        target,
        bin,
        exe_name,
        archive,
        includes,
        bundle_dlls,
    })
}

/// The service table validated once, before a long build; the mode is settled after
/// it (`service::settle`), with the rules that depend on it.
fn planned_service(
    cfg: &Config,
    origin: &Origin,
    pkg: &Package,
    exe_name: &str,
) -> Result<Option<PlannedService>, BuildError> {
    let Some(sc) = &cfg.service else {
        return Ok(None);
    };
    let at = cfg.origin_of("service", origin);
    let (base, advice) = service::validate(sc, exe_name, at)?;
    let mut open = base.clone();
    service::settle(&mut open, sc, None, at)?;
    scripts_fit(&open, sc.mode.is_none(), pkg, at)?;
    Ok(Some(PlannedService { base, advice }))
}

/// The signer: from the sign table unless `--no-sign`; `--sign` without one is an error.
fn signer(
    opts: &BuildOptions,
    cfg: &Config,
    origin: &Origin,
    pkg: &Package,
) -> Result<Option<Signer>, BuildError> {
    match (opts.sign, &cfg.sign) {
        (Some(false), _) | (None, None) => Ok(None),
        (Some(true), None) => Err(BuildError::NoSignTable {
            package: pkg.name.to_string(),
            table: origin.kind.table("sign"),
        }),
        (_, Some(sc)) => {
            // Key paths are relative to the Cargo.toml the table is written in.
            let at = cfg.origin_of("sign", origin).manifest.clone();
            let base = at.parent().unwrap_or(Path::new("."));
            Ok(Some(Signer::new(sc, base)?))
        }
    }
}

/// The publish table's facts, validated (the package's own facts from its manifest).
fn publish_facts(
    cfg: &Config,
    origin: &Origin,
    pkg: &Package,
    exe_name: &str,
) -> Result<Option<crate::package::publish::Publish>, BuildError> {
    let Some(table) = &cfg.publish else {
        return Ok(None);
    };
    let standalone = matches!(origin.kind, OriginKind::Standalone);
    let version = pkg.version.to_string();
    let facts = crate::package::publish::PackageFacts {
        name: &pkg.name,
        version: &version,
        license: pkg.license.as_deref(),
        description: pkg.description.as_deref(),
        homepage: pkg.homepage.as_deref().or(pkg.repository.as_deref()),
        command: exe_name.trim_end_matches(".exe"),
        source: if standalone {
            "winpkg.toml"
        } else {
            "[package]"
        },
    };
    crate::package::publish::validate(&facts, table)
        .map(Some)
        .map_err(|(key, why)| {
            // A crate's own facts are in [package], not in the winpkg table: the error
            // points at the publish table and names the [package] key.
            let (key, why) = match key {
                "name" | "description" if !standalone => {
                    ("publish", format!("{why} (`{key}` in [package])"))
                }
                _ => (key, why),
            };
            cfg.error(origin, key, why, None).into()
        })
}

/// A bare service argument naming what the package ships (`public` for an included
/// folder) is not found from System32, where the service starts: advice for it.
fn warn_bare_names(planned: &mut PlannedService, includes: &[(String, PathBuf)]) {
    let shipped: Vec<String> = includes
        .iter()
        .filter_map(|(name, _)| name.split('/').next().map(str::to_string))
        .collect();
    let more = service::names_shipped(&planned.base, &shipped);
    planned.advice.extend(more);
}

/// The exe's name in the package: `exe-name`, else the binary's (`{bin}.exe`). A name
/// Windows can hold, ending in `.exe`, without folders.
fn exe_name(cfg: &Config, bin: &str, origin: &Origin) -> Result<String, ConfigError> {
    let Some(name) = &cfg.exe_name else {
        return Ok(format!("{bin}.exe"));
    };
    let at = cfg.origin_of("exe-name", origin);
    let bad = |why: String| at.error("exe-name", format!("`exe-name` {why}"), None);
    if !name.to_ascii_lowercase().ends_with(".exe") || name.len() <= 4 {
        return Err(bad(format!(
            "is `{name}`: it names the program file, so it ends in `.exe` (`{}.exe`)",
            name.trim_end_matches(".exe")
        )));
    }
    if name.contains(['/', '\\']) {
        return Err(bad(format!(
            "is `{name}`: a file name, without folders (the exe goes at the top of the package)"
        )));
    }
    if let Err(e) = crate::package::check_name(name) {
        return Err(bad(format!("is `{name}`, which Windows cannot hold: {e}")));
    }
    Ok(name.clone())
}

/// What the MSI needs, checked before the build: an upgrade code (printing a fresh one
/// to paste when there is none), a version Windows Installer can compare, a
/// manufacturer.
fn msi_product(
    cfg: &Config,
    origin: &Origin,
    pkg: &Package,
    target: &Target,
) -> Result<crate::package::msi::Product, BuildError> {
    use crate::package::msi::{MsiArch, Product, msi_version};
    let table = cfg.msi.clone().unwrap_or_default();
    let Some(code) = &table.upgrade_code else {
        let fresh = crate::package::msi::guid(uuid::Uuid::new_v4());
        return Err(cfg
            .error(
                origin,
                "msi.upgrade-code",
                "--msi needs the product's upgrade code: a GUID that stays the same for every version, so that Windows Installer upgrades the installed version instead of installing a second copy".into(),
                Some(format!(
                    "add to {} (a GUID made now; keep it for good):\n\n{}\nupgrade-code = \"{fresh}\"",
                    origin.kind.file(),
                    origin.kind.table("msi")
                )),
            )
            .into());
    };
    let upgrade_code = uuid::Uuid::parse_str(code.trim_matches(['{', '}'])).map_err(|_| {
        cfg.error(
            origin,
            "msi.upgrade-code",
            format!("`{code}` is not a GUID"),
            Some("write it as \"{12345678-1234-1234-1234-123456789ABC}\"".into()),
        )
    })?;
    let version = msi_version(&pkg.version.to_string()).map_err(|why| {
        cfg.error(
            origin,
            "msi",
            format!("the package version cannot be an MSI version: {why}"),
            None,
        )
    })?;
    let manufacturer = table
        .manufacturer
        .clone()
        .or_else(|| {
            pkg.authors
                .first()
                .map(|a| a.split('<').next().unwrap_or(a).trim().to_string())
                .filter(|a| !a.is_empty())
        })
        .unwrap_or_else(|| pkg.name.to_string());
    Ok(Product {
        name: pkg.name.to_string(),
        version,
        manufacturer,
        upgrade_code,
        arch: MsiArch::from_target_arch(target.arch()),
    })
}

/// Our rustc flags. crt-static for msvc (unless `crt-static = false`). With
/// `reproducible` (the default): no link timestamp, no symbol table (it holds rustc's
/// temporary folder names), and the workspace, cargo home and target folder remapped so
/// that no build path reaches the exe (panic messages, debug info).
pub fn rustflags(
    cfg: &Config,
    target: &Target,
    workspace: &Path,
    target_dir: &Path,
) -> Vec<String> {
    let mut flags = Vec::new();
    let msvc = target.env() == Env::Msvc;
    let mut c = |f: &str| flags.extend(["-C".to_string(), f.to_string()]);
    if cfg.crt_static.unwrap_or(true) && msvc {
        c("target-feature=+crt-static");
    }
    if !cfg.reproducible.unwrap_or(true) {
        return flags;
    }
    if msvc {
        c("link-arg=/Brepro");
        c("link-arg=/PDBALTPATH:%_PDB%");
    } else {
        c("link-arg=-Wl,--no-insert-timestamp");
        c("strip=symbols");
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    // rustc applies the last remap that matches: the most specific folder last (the
    // target folder is usually inside the workspace).
    let remaps = [
        (Some(workspace.to_path_buf()), "/build"),
        (cargo_home, "/cargo"),
        (Some(target_dir.to_path_buf()), "/target"),
    ];
    for (from, to) in remaps {
        // rustc splits FROM=TO at the last `=`: a path with one cannot be remapped.
        if let Some(from) = from.and_then(|p| p.to_str().map(String::from))
            && !from.contains('=')
        {
            flags.push(format!("--remap-path-prefix={from}={to}"));
        }
    }
    flags
}

/// A Run key, PATH entry or task, when the package is not a service. One way to run:
/// the service table counts with the others ([`crate::autostart::one_way`]), each
/// table's place looked up where it was written (package or workspace).
fn way_to_run(
    cfg: &Config,
    origin: &Origin,
    pkg: &Package,
    exe_name: &str,
) -> Result<Option<crate::autostart::Autostart>, BuildError> {
    let declared = [
        (cfg.service.is_some(), "service"),
        (cfg.task.is_some(), "task"),
        (cfg.run_key.is_some(), "run-key"),
        (
            cfg.cli.as_ref().is_some_and(|c| c.path.is_some()),
            "cli.path",
        ),
    ];
    crate::autostart::one_way(
        declared
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, key)| cfg.error(origin, key, String::new(), None))
            .collect(),
    )?;
    Ok(crate::autostart::from_config(
        cfg.run_key.as_ref(),
        cfg.task.as_ref(),
        cfg.cli.as_ref(),
        &pkg.name,
        pkg.description.as_deref(),
        exe_name,
        cfg.origin_of(
            if cfg.task.is_some() {
                "task"
            } else {
                "run-key"
            },
            origin,
        ),
    )?)
}

/// The install scripts can be written for this service, whichever mode the built exe
/// settles (shawl's command line is the longer): found now, not after the build.
fn scripts_fit(
    svc: &service::Service,
    mode_open: bool,
    pkg: &Package,
    origin: &Origin,
) -> Result<(), BuildError> {
    let mut shawl = svc.clone();
    shawl.mode = service::Mode::Shawl;
    let variants = if mode_open {
        vec![svc, &shawl]
    } else {
        vec![svc]
    };
    let version = pkg.version.to_string();
    for v in variants {
        let result = service::cmd::install(v, &pkg.name, &version)
            .and_then(|_| service::cmd::uninstall(v, &pkg.name, &version));
        if let Err(e) = result {
            return Err(origin
                .error(
                    "service",
                    format!(
                        "the service table cannot be written into install.cmd: {}",
                        e.reason
                    ),
                    None,
                )
                .into());
        }
    }
    Ok(())
}

/// The members a virtual workspace's run leaves out, and why, for the user to see.
pub fn skipped_members(meta: &Metadata, specs: &[String]) -> Vec<String> {
    if !specs.is_empty() || meta.root_package().is_some() {
        return Vec::new();
    }
    meta.workspace_packages()
        .iter()
        .filter(|p| p.metadata.get("winpkg").is_none())
        .map(|p| {
            let why = if bin_names(p).is_empty() {
                "it has no binary".to_string()
            } else {
                "it has no [package.metadata.winpkg] table of its own (the workspace's table only gives defaults)".to_string()
            };
            format!("skipping workspace member `{}`: {why}; pick it with -p {}", p.name, p.name)
        })
        .collect()
}

/// Near misses of the `winpkg` table name (`win-pkg`, `winpkgs`, `WinPkg`...) in a
/// metadata table: such a table is not read, and the build would go on without it.
pub fn misspelled_tables(metadata: &serde_json::Value, prefix: &str) -> Vec<String> {
    let Some(map) = metadata.as_object() else {
        return Vec::new();
    };
    map.keys()
        .filter(|k| k.as_str() != "winpkg")
        .filter(|k| {
            let folded: String = k
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            folded == "winpkg" || crate::words::closest(&folded, &["winpkg"]).is_some()
        })
        .map(|k| {
            format!("[{prefix}.{k}] is not read by cargo winpkg: did you mean [{prefix}.winpkg]?")
        })
        .collect()
}

/// The packages to build: `-p` picks; else the root package; else (a virtual
/// manifest) every member with a `[package.metadata.winpkg]` table.
pub fn select_packages<'m>(
    meta: &'m Metadata,
    specs: &[String],
) -> Result<Vec<&'m Package>, BuildError> {
    let members = meta.workspace_packages();
    let names = || {
        members
            .iter()
            .map(|p| p.name.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !specs.is_empty() {
        let mut out = Vec::new();
        for spec in specs {
            let name = spec.split('@').next().unwrap_or(spec);
            match members.iter().find(|p| p.name.as_str() == name) {
                Some(p) => out.push(*p),
                None => {
                    return Err(BuildError::NoSuchPackage {
                        spec: spec.clone(),
                        members: names(),
                    });
                }
            }
        }
        return Ok(out);
    }
    if let Some(root) = meta.root_package() {
        return Ok(vec![root]);
    }
    let with_table: Vec<&Package> = members
        .iter()
        .copied()
        .filter(|p| p.metadata.get("winpkg").is_some())
        .collect();
    if with_table.is_empty() {
        return Err(BuildError::NoTableInWorkspace { members: names() });
    }
    Ok(with_table)
}

/// The package's configuration over the workspace defaults, each value remembering
/// the table it was written in.
pub fn package_config(meta: &Metadata, pkg: &Package) -> Result<Config, ConfigError> {
    let own = match pkg.metadata.get("winpkg") {
        Some(v) => config::parse(
            v,
            &Origin {
                kind: OriginKind::of_manifest(pkg.manifest_path.as_std_path()),
                manifest: pkg.manifest_path.as_std_path().to_path_buf(),
            },
        )?,
        None => Config::default(),
    };
    let ws = match meta.workspace_metadata.get("winpkg") {
        Some(v) => config::parse(
            v,
            &Origin {
                kind: OriginKind::Workspace,
                manifest: meta.workspace_root.as_std_path().join("Cargo.toml"),
            },
        )?,
        None => Config::default(),
    };
    Ok(own.merged_over(&ws))
}

/// The package's `[[bin]]` targets, in manifest order.
pub fn bin_names(pkg: &Package) -> Vec<&str> {
    pkg.targets
        .iter()
        .filter(|t| t.is_bin())
        .map(|t| t.name.as_str())
        .collect()
}

/// Which `[[bin]]` to package: --bin, then `bin`, then the only one, then default-run.
pub fn select_bin(
    pkg: &Package,
    cli: Option<&str>,
    cfg: Option<&str>,
) -> Result<String, BuildError> {
    let bins = bin_names(pkg);
    let choices = if bins.is_empty() {
        "it has none".to_string()
    } else {
        format!("its binaries are: {}", bins.join(", "))
    };
    let wanted = cli
        .map(|b| (b, "--bin"))
        .or(cfg.map(|b| (b, "`bin` in [package.metadata.winpkg]")));
    if let Some((b, from)) = wanted {
        if bins.contains(&b) {
            return Ok(b.to_string());
        }
        return Err(BuildError::NoSuchBin {
            from,
            bin: b.to_string(),
            package: pkg.name.to_string(),
            choices,
        });
    }
    match bins.as_slice() {
        [only] => Ok(only.to_string()),
        [] => Err(BuildError::NoBin(pkg.name.to_string())),
        _ => match &pkg.default_run {
            Some(d) => Ok(d.clone()),
            None => Err(BuildError::SeveralBins {
                package: pkg.name.to_string(),
                choices,
            }),
        },
    }
}

/// `archive-name` with its placeholders filled in, plus `.zip`.
/// The default name has the profile in it unless it is `release`, so a debug build
/// never overwrites the release zip; `{profile}` puts it in a name of one's own.
fn archive_file_name(
    cfg: &Config,
    origin: &Origin,
    pkg: &Package,
    target: &Target,
    bin: &str,
    profile: &str,
) -> Result<String, BuildError> {
    let default = if profile == "release" {
        "{name}-{version}-{target}"
    } else {
        "{name}-{version}-{target}-{profile}"
    };
    let template = cfg.archive_name.as_deref().unwrap_or(default);
    let mut name = template
        .replace("{name}", &pkg.name)
        .replace("{version}", &pkg.version.to_string())
        .replace("{target}", target.triple())
        .replace("{bin}", bin)
        .replace("{profile}", profile);
    if let Some(bad) = ["{", "}"].iter().find(|b| name.contains(**b)) {
        return Err(cfg
            .error(
                origin,
                "archive-name",
                format!("`{template}` has an unknown placeholder (`{bad}` left over)"),
                Some(
                    "the placeholders are {name}, {version}, {target}, {bin} and {profile}".into(),
                ),
            )
            .into());
    }
    if !name.to_ascii_lowercase().ends_with(".zip") {
        name.push_str(".zip");
    }
    // Most file systems take 255 bytes a name; the temporary name adds about 20.
    if name.len() > 220 {
        return Err(cfg
            .error(
                origin,
                "archive-name",
                format!(
                    "the zip's name would be {} bytes long; file systems take 255 at most (and the temporary file needs room)",
                    name.len()
                ),
                Some("shorten archive-name to at most 220 bytes with its placeholders filled in".into()),
            )
            .into());
    }
    if name.contains('/') {
        return Err(BuildError::ArchivePath(name));
    }
    crate::package::check_name(&name).map_err(BuildError::ArchiveName)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// msvc cannot link here, so its flags are checked as flags: a real msvc build is
    /// not possible on this machine.
    #[test]
    fn reproducible_flags_per_toolchain() {
        let ws = Path::new("/src/ws");
        let td = Path::new("/src/ws/target");
        let cfg = Config::default();
        let msvc = rustflags(&cfg, &Target::new("x86_64-pc-windows-msvc"), ws, td);
        for f in [
            "target-feature=+crt-static",
            "link-arg=/Brepro",
            "link-arg=/PDBALTPATH:%_PDB%",
            "--remap-path-prefix=/src/ws/target=/target",
            "--remap-path-prefix=/src/ws=/build",
        ] {
            assert!(msvc.iter().any(|x| x == f), "{f} in {msvc:?}");
        }
        assert!(!msvc.iter().any(|x| x.contains("strip")));
        let gnu = rustflags(&cfg, &Target::new("x86_64-pc-windows-gnu"), ws, td);
        assert!(
            gnu.iter()
                .any(|x| x == "link-arg=-Wl,--no-insert-timestamp")
        );
        assert!(gnu.iter().any(|x| x == "strip=symbols"));
        assert!(!gnu.iter().any(|x| x.contains("crt-static")));
        let off = Config {
            reproducible: Some(false),
            crt_static: Some(false),
            ..Config::default()
        };
        assert!(rustflags(&off, &Target::new("x86_64-pc-windows-msvc"), ws, td).is_empty());
        // A path with `=` cannot be remapped (rustc splits at it): left out, not garbled.
        let odd = rustflags(
            &cfg,
            &Target::new("x86_64-pc-windows-gnu"),
            Path::new("/a=b"),
            td,
        );
        assert!(!odd.iter().any(|x| x.contains("/a=b")), "{odd:?}");
    }
}
