//! Talking to cargo: `cargo metadata` for the plan, `$CARGO build` for the artifacts.
//!
//! We spawn `$CARGO` (the cargo that ran us, so toolchain overrides hold), never a bare
//! `cargo`. The build runs with `--message-format=json-render-diagnostics`: cargo renders
//! compiler diagnostics to stderr itself, exactly as a plain build would, and stdout
//! carries the JSON messages we take artifact paths from.

use std::ffi::OsString;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{Message, Metadata, MetadataCommand};

use super::error::BuildError;
use super::options::{CargoFlags, ColorChoice};
use crate::config::Builder;
use crate::events::Listener;
use crate::target::{Target, cargo_program};

/// Global flags cargo accepts on every command: the ones `cargo metadata` needs too.
fn global_flags(args: &CargoFlags) -> Vec<String> {
    let mut v = Vec::new();
    if args.locked {
        v.push("--locked".into());
    }
    if args.frozen {
        v.push("--frozen".into());
    }
    if args.offline {
        v.push("--offline".into());
    }
    for c in &args.config {
        v.push("--config".into());
        v.push(c.clone());
    }
    v
}

pub fn metadata(args: &CargoFlags) -> Result<Metadata, BuildError> {
    let mut cmd = MetadataCommand::new();
    cmd.cargo_path(cargo_program()).no_deps();
    if let Some(m) = &args.manifest_path {
        cmd.manifest_path(m);
    }
    cmd.other_options(global_flags(args));
    cmd.exec().map_err(|e| match e {
        cargo_metadata::Error::CargoMetadata { stderr } => BuildError::Metadata {
            stderr: stderr.trim().to_string(),
        },
        other => BuildError::MetadataRun(Box::new(other)),
    })
}

/// Everything one `cargo build` needs.
pub struct BuildPlan<'a> {
    pub args: &'a CargoFlags,
    pub package: &'a str,
    pub bin: &'a str,
    pub target: &'a Target,
    pub builder: Builder,
    /// Flags for rustc besides the user's: crt-static, reproducibility.
    pub rustflags: &'a [String],
    pub manifest: &'a Path,
}

/// How our rustflags (crt-static, reproducibility) reach rustc without clobbering the
/// user's flags.
///
/// Cargo takes rustflags from the first of: `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`,
/// `[target.<triple>] rustflags`, `[build] rustflags`. If the user set one of the
/// environment variables we append to it (so it keeps winning; `RUSTFLAGS` becomes
/// `CARGO_ENCODED_RUSTFLAGS`, since our flags hold paths that may have spaces).
/// Otherwise we pass `--config target.<triple>.rustflags=[...]`: config arrays are
/// merged, so the user's own `[target.<triple>] rustflags` stay in effect alongside ours.
#[derive(Debug, PartialEq, Eq)]
pub enum RustflagsVia {
    EncodedEnv(String),
    Config(String),
}

pub fn rustflags_via(
    target: &Target,
    ours: &[String],
    encoded_rustflags: Option<String>,
    rustflags: Option<String>,
) -> RustflagsVia {
    let theirs: Vec<String> = match (encoded_rustflags, rustflags) {
        (Some(v), _) => v
            .split('\x1f')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        (None, Some(v)) => v.split_whitespace().map(String::from).collect(),
        (None, None) => {
            // TOML basic strings take JSON's escapes.
            let items: Vec<String> = ours
                .iter()
                .map(|f| serde_json::to_string(f).unwrap_or_default())
                .collect();
            return RustflagsVia::Config(format!(
                "target.{}.rustflags=[{}]",
                target.triple(),
                items.join(", ")
            ));
        }
    };
    let mut all = theirs;
    all.extend(ours.iter().cloned());
    RustflagsVia::EncodedEnv(all.join("\x1f"))
}

/// The command line for the build (without the program), for spawning and for `-v`.
pub fn build_command(plan: &BuildPlan) -> (OsString, Vec<String>, Vec<(String, String)>) {
    let a = plan.args;
    let mut argv: Vec<String> = match plan.builder {
        Builder::Cargo => vec!["build".into()],
        Builder::CargoXwin => vec!["xwin".into(), "build".into()],
        Builder::CargoZigbuild => vec!["zigbuild".into()],
    };
    argv.extend([
        "--message-format=json-render-diagnostics".into(),
        "--manifest-path".into(),
        plan.manifest.display().to_string(),
        "--target".into(),
        plan.target.triple().into(),
        "-p".into(),
        plan.package.into(),
        "--bin".into(),
        plan.bin.into(),
    ]);
    if a.release {
        argv.push("--release".into());
    }
    if let Some(p) = &a.profile {
        argv.extend(["--profile".into(), p.clone()]);
    }
    for f in &a.features {
        argv.extend(["--features".into(), f.clone()]);
    }
    if a.all_features {
        argv.push("--all-features".into());
    }
    if a.no_default_features {
        argv.push("--no-default-features".into());
    }
    if let Some(d) = &a.target_dir {
        argv.extend(["--target-dir".into(), d.display().to_string()]);
    }
    argv.extend(global_flags(a));
    for _ in 0..a.verbose {
        argv.push("-v".into());
    }
    if a.quiet {
        argv.push("-q".into());
    }
    argv.push(format!(
        "--color={}",
        match a.color {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    ));
    let mut env = Vec::new();
    if !plan.rustflags.is_empty() {
        let encoded = std::env::var("CARGO_ENCODED_RUSTFLAGS").ok();
        let plain = std::env::var("RUSTFLAGS").ok();
        match rustflags_via(plan.target, plan.rustflags, encoded, plain) {
            RustflagsVia::EncodedEnv(v) => env.push(("CARGO_ENCODED_RUSTFLAGS".into(), v)),
            RustflagsVia::Config(c) => argv.extend(["--config".into(), c]),
        }
    }
    (cargo_program(), argv, env)
}

/// Run the build; return the executable of `plan.bin`, as cargo reported it.
pub fn build(plan: &BuildPlan, ui: &dyn Listener) -> Result<PathBuf, BuildError> {
    let (program, argv, env) = build_command(plan);
    if plan.args.verbose > 0 {
        let envs: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
        ui.command(&format!(
            "{}{} {}",
            envs.concat(),
            program.to_string_lossy(),
            argv.join(" ")
        ));
    }
    let mut child = Command::new(&program)
        .args(&argv)
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| BuildError::Spawn(program.to_string_lossy().into_owned(), e))?;
    let mut exe = None;
    if let Some(stdout) = child.stdout.take() {
        for msg in Message::parse_stream(BufReader::new(stdout)) {
            let Ok(msg) = msg else { continue };
            match msg {
                Message::CompilerArtifact(art) => {
                    let is_our_bin = art.target.is_bin() && art.target.name == plan.bin;
                    if is_our_bin && let Some(path) = art.executable {
                        exe = Some(path.into_std_path_buf());
                    }
                }
                // Lines that are not JSON (a build script printing to stdout through
                // a wrapper) go where the user can see them.
                Message::TextLine(line) => ui.passthrough(&line),
                _ => {}
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| BuildError::Spawn(program.to_string_lossy().into_owned(), e))?;
    if !status.success() {
        return Err(BuildError::Cargo(status.code().unwrap_or(101)));
    }
    exe.ok_or_else(|| BuildError::NoArtifact(plan.bin.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_flags_keep_the_users_flags() {
        let t = &Target::new("x86_64-pc-windows-msvc");
        let ours = ["-C".to_string(), "target-feature=+crt-static".to_string()];
        assert_eq!(
            rustflags_via(t, &ours, None, None),
            RustflagsVia::Config(
                "target.x86_64-pc-windows-msvc.rustflags=[\"-C\", \"target-feature=+crt-static\"]"
                    .into()
            )
        );
        assert_eq!(
            rustflags_via(t, &ours, None, Some("-C opt-level=2 ".into())),
            RustflagsVia::EncodedEnv(
                "-C\x1fopt-level=2\x1f-C\x1ftarget-feature=+crt-static".into()
            )
        );
        assert_eq!(
            rustflags_via(
                t,
                &ours,
                Some("-Cdebuginfo=1".into()),
                Some("ignored".into())
            ),
            RustflagsVia::EncodedEnv("-Cdebuginfo=1\x1f-C\x1ftarget-feature=+crt-static".into())
        );
        // A path with a quote, a backslash and a space stays one TOML string.
        let remap = vec![r#"--remap-path-prefix=C:\a "b"=."#.to_string()];
        assert_eq!(
            rustflags_via(t, &remap, None, None),
            RustflagsVia::Config(
                r#"target.x86_64-pc-windows-msvc.rustflags=["--remap-path-prefix=C:\\a \"b\"=."]"#
                    .into()
            )
        );
    }
}
