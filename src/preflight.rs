//! Checks that run before a long build, each failure with the command that fixes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Builder;

/// A preflight failure: what is missing, and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub what: String,
    pub fix: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\n   = help: {}", self.what, self.fix)
    }
}

/// Is `program` an executable file on PATH (or a path that exists)?
pub fn find_program(program: &str) -> Option<PathBuf> {
    let p = Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|c| c.is_file())
}

/// Run all checks for building `target` with `builder` from the crate at `manifest_dir`.
pub fn check(target: &str, builder: Builder, manifest_dir: &Path) -> Result<(), Missing> {
    if !target.contains("-windows") {
        return Err(Missing {
            what: format!("`{target}` is not a Windows target"),
            fix: "use a Windows target triple, e.g. --target x86_64-pc-windows-gnu or x86_64-pc-windows-msvc".into(),
        });
    }
    target_std(target, manifest_dir)?;
    match builder {
        Builder::CargoXwin => need_program(
            "cargo-xwin",
            "the builder cargo-xwin is not installed",
            "install it with `cargo install cargo-xwin --locked`, or remove `builder`/--builder to use plain cargo",
        ),
        Builder::CargoZigbuild => {
            need_program(
                "cargo-zigbuild",
                "the builder cargo-zigbuild is not installed",
                "install it with `cargo install cargo-zigbuild --locked`",
            )?;
            need_program(
                "zig",
                "cargo-zigbuild needs zig, which is not on PATH",
                "install zig (`pip install ziglang`, or your package manager's zig)",
            )
        }
        Builder::Cargo => linker(target, manifest_dir),
    }
}

fn need_program(program: &str, what: &str, fix: &str) -> Result<(), Missing> {
    match find_program(program) {
        Some(_) => Ok(()),
        None => Err(Missing {
            what: what.into(),
            fix: fix.into(),
        }),
    }
}

/// Is the standard library for `target` installed in the toolchain that will build?
fn target_std(target: &str, manifest_dir: &Path) -> Result<(), Missing> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", target])
        .current_dir(manifest_dir)
        .output()
        .map_err(|e| Missing {
            what: format!("cannot run {}: {e}", rustc.to_string_lossy()),
            fix: "install Rust with rustup: https://rustup.rs".into(),
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Missing {
            what: format!("rustc does not know the target `{target}`: {}", err.trim()),
            fix: "check the spelling; `rustc --print target-list | grep windows` lists the Windows targets".into(),
        });
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let has_std = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
        })
        .unwrap_or(false);
    if has_std {
        return Ok(());
    }
    let fix = if find_program("rustup").is_some() {
        format!("run `rustup target add {target}`")
    } else {
        format!(
            "install the standard library for {target} (with rustup: `rustup target add {target}`)"
        )
    };
    Err(Missing {
        what: format!("the Rust standard library for `{target}` is not installed"),
        fix,
    })
}

/// The environment variable cargo reads a target's linker from.
fn linker_env(target: &str) -> String {
    format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

/// Does a cargo config file set a linker for `target`? Looked for in `.cargo/config.toml`
/// (and `.cargo/config`) from the crate up to the root, and in `$CARGO_HOME`.
fn config_sets_linker(target: &str, manifest_dir: &Path) -> bool {
    let mut files = Vec::new();
    for dir in manifest_dir.ancestors() {
        files.push(dir.join(".cargo/config.toml"));
        files.push(dir.join(".cargo/config"));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        files.push(home.join("config.toml"));
        files.push(home.join("config"));
    }
    let header = format!("target.{target}");
    files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            let mut in_section = false;
            text.lines().any(|line| {
                let t = line.trim();
                if t.starts_with('[') {
                    in_section = t
                        .trim_matches(|c| c == '[' || c == ']')
                        .trim()
                        .trim_matches('"')
                        == header
                        || t.contains(&format!("\"{target}\""));
                    return false;
                }
                in_section && t.starts_with("linker")
            })
        })
    })
}

fn linker(target: &str, manifest_dir: &Path) -> Result<(), Missing> {
    let env = linker_env(target);
    if let Some(l) = std::env::var_os(&env) {
        let l = l.to_string_lossy().into_owned();
        return need_program(
            &l,
            &format!("the linker `{l}` set by {env} was not found"),
            &format!("install it, or unset {env}"),
        );
    }
    if config_sets_linker(target, manifest_dir) {
        return Ok(()); // the user chose a linker; cargo will say if it is missing
    }
    let arch = target.split('-').next().unwrap_or("x86_64");
    if target.ends_with("-windows-gnu") {
        let (gcc, deb, fedora) = match arch {
            "i686" => ("i686-w64-mingw32-gcc", "gcc-mingw-w64-i686", "mingw32-gcc"),
            _ => (
                "x86_64-w64-mingw32-gcc",
                "gcc-mingw-w64-x86-64",
                "mingw64-gcc",
            ),
        };
        return need_program(
            gcc,
            &format!("the mingw-w64 linker `{gcc}` for {target} is not on PATH"),
            &format!(
                "install mingw-w64: Debian/Ubuntu `sudo apt-get install {deb}`, Fedora `sudo dnf install {fedora}`, Arch `sudo pacman -S mingw-w64-gcc`, macOS `brew install mingw-w64`"
            ),
        );
    }
    if target.ends_with("-windows-gnullvm") {
        let clang = format!("{arch}-w64-mingw32-clang");
        return need_program(
            &clang,
            &format!("the llvm-mingw linker `{clang}` for {target} is not on PATH"),
            "install llvm-mingw (https://github.com/mstorsjo/llvm-mingw) and put its bin folder on PATH",
        );
    }
    if target.ends_with("-windows-msvc") && !cfg!(windows) {
        return Err(Missing {
            what: format!(
                "cannot link `{target}` on this host: plain cargo needs the MSVC runtime and Windows SDK libraries, which only exist on Windows"
            ),
            fix: "build through cargo-xwin (`cargo install cargo-xwin`, then --builder cargo-xwin or `builder = \"cargo-xwin\"` in [package.metadata.winpkg]), or build for x86_64-pc-windows-gnu with mingw-w64".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linker_env_name() {
        assert_eq!(
            linker_env("x86_64-pc-windows-gnu"),
            "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER"
        );
    }

    #[test]
    fn non_windows_target() {
        let e = check("x86_64-unknown-linux-gnu", Builder::Cargo, Path::new(".")).unwrap_err();
        assert!(e.what.contains("not a Windows target"));
    }
}
