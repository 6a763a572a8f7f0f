//! Checks that run before a long build, each failure with the command that fixes it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Builder;
use crate::target::{Env, Target};

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

/// Is `program` an executable on PATH (with PATHEXT on Windows hosts), or a path to
/// one?
pub fn find_program(program: &str) -> Option<PathBuf> {
    which::which(program).ok()
}

/// Run all checks for building `target` with `builder` from the crate at `manifest_dir`.
pub fn check(target: &Target, builder: Builder, manifest_dir: &Path) -> Result<(), Missing> {
    if !target.is_windows() {
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
fn target_std(target: &Target, manifest_dir: &Path) -> Result<(), Missing> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", target.triple()])
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

/// Does a cargo config file set a linker for `target`? Looked for in `.cargo/config.toml`
/// (and `.cargo/config`) from the crate up to the root, and in `$CARGO_HOME`.
fn config_sets_linker(target: &Target, manifest_dir: &Path) -> bool {
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
    files.iter().any(|f| {
        let Ok(text) = std::fs::read_to_string(f) else {
            return false;
        };
        let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
            return false;
        };
        doc.get("target")
            .and_then(|t| t.get(target.triple()))
            .and_then(|t| t.get("linker"))
            .is_some()
    })
}

fn linker(target: &Target, manifest_dir: &Path) -> Result<(), Missing> {
    let env = target.linker_env();
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
    let arch = target.arch();
    if target.env() == Env::Gnu {
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
    if target.env() == Env::GnuLlvm {
        let clang = format!("{arch}-w64-mingw32-clang");
        return need_program(
            &clang,
            &format!("the llvm-mingw linker `{clang}` for {target} is not on PATH"),
            "install llvm-mingw (https://github.com/mstorsjo/llvm-mingw) and put its bin folder on PATH",
        );
    }
    if target.env() == Env::Msvc && !cfg!(windows) {
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
    fn non_windows_target() {
        let t = Target::new("x86_64-unknown-linux-gnu");
        let e = check(&t, Builder::Cargo, Path::new(".")).unwrap_err();
        assert!(e.what.contains("not a Windows target"));
    }

    #[test]
    fn linker_in_cargo_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".cargo")).unwrap();
        std::fs::write(
            dir.path().join(".cargo/config.toml"),
            "[target.x86_64-pc-windows-gnu]\nlinker = \"my-gcc\"\n",
        )
        .unwrap();
        let gnu = Target::new("x86_64-pc-windows-gnu");
        assert!(config_sets_linker(&gnu, dir.path()));
        let i686 = Target::new("i686-pc-windows-gnu");
        assert!(!config_sets_linker(&i686, dir.path()));
    }
}
