//! What ships beside the exe: the DLLs its closure resolved to outside Windows, the
//! MinGW runtime of the toolchain that links it, `bundle-dlls`, and shawl.exe for
//! wrapped services.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::check::Report;
use crate::target::{Env, Target};

/// Why a file to ship could not be found, built or prepared.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the shawl.exe configured at {} does not exist", .0.display())]
    ShawlMissing(PathBuf),
    #[error(
        "shawl.exe for {0} cannot be built here; download it from the shawl releases and set `shawl = \"path/to/shawl.exe\"` in [package.metadata.winpkg.service]"
    )]
    ShawlUnbuildable(String),
    #[error("{what} needs {tool}: install binutils-mingw-w64 (Debian/Ubuntu)")]
    ToolMissing { what: &'static str, tool: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`cargo install shawl` failed (see above); set `shawl = \"path/to/shawl.exe\"` in the service table ([package.metadata.winpkg.service], or [service] in winpkg.toml) to use a downloaded one"
    )]
    ShawlBuildFailed,
    #[error("{tool} --strip-all {} failed: {stderr}", path.display())]
    StripFailed {
        tool: String,
        path: PathBuf,
        stderr: String,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BundleError {
    let path = path.to_path_buf();
    move |source| BundleError::Io {
        action,
        path,
        source,
    }
}

/// Folders holding the MinGW-w64 runtime DLLs of the toolchain that links `target`,
/// as its compiler driver reports them (so the posix/win32 thread-model variant is the
/// one the exe was linked against). Empty when the driver is not installed.
pub fn mingw_runtime_dirs(target: &Target) -> Vec<PathBuf> {
    if target.env() != Env::Gnu {
        return Vec::new();
    }
    let driver = std::env::var(target.linker_env())
        .unwrap_or_else(|_| format!("{}-gcc", target.mingw_prefix()));
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dll in [
        "libstdc++-6.dll",
        target.libgcc_s(),
        "libwinpthread-1.dll",
        "libgomp-1.dll",
    ] {
        let Ok(out) = Command::new(&driver)
            .arg(format!("-print-file-name={dll}"))
            .output()
        else {
            return Vec::new();
        };
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        // A driver that does not know the file prints just its name back.
        if p.is_absolute()
            && p.is_file()
            && let Some(parent) = p.parent()
        {
            let parent = parent.to_path_buf();
            if !dirs.contains(&parent) {
                dirs.push(parent);
            }
        }
    }
    dirs
}

/// DLLs the check resolved for `exe` that must ship with it: every file the closure
/// reached other than the exe itself, in the order found.
pub fn resolved_dlls(report: &Report, exe: &Path) -> Vec<PathBuf> {
    let exe_canon = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    report
        .files
        .iter()
        .filter(|f| f.needed_by.is_some())
        .map(|f| f.path.clone())
        .filter(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()) != exe_canon)
        .collect()
}

/// Where shawl.exe comes from: the configured file, one built earlier, or one to
/// build now (see [`build_shawl`]).
pub enum Shawl {
    Ready(PathBuf),
    /// Build it into this root with `cargo install`.
    Build {
        root: PathBuf,
        exe: PathBuf,
    },
}

/// The shawl release cargo-winpkg builds (pinned: its command line is what the service
/// scripts write).
pub const SHAWL_VERSION: &str = "1.9.0";

/// The per-user cache of built tools, which `cargo clean` does not empty:
/// `$XDG_CACHE_HOME/cargo-winpkg`, `~/.cache/cargo-winpkg`, or on Windows
/// `%LOCALAPPDATA%\cargo-winpkg`; `fallback` when none is known.
pub fn user_cache(fallback: &Path) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    match base {
        Some(b) => b.join("cargo-winpkg"),
        None => fallback.to_path_buf(),
    }
}

/// The licence text to ship beside a shawl.exe: `shawl-LICENSE.txt` in a cache
/// folder, or a LICENSE file beside a configured one.
pub fn shawl_licence(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    ["shawl-LICENSE.txt", "LICENSE", "LICENSE.txt", "LICENSE.md"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Find shawl.exe for `target`: the configured path, else a cached build under `cache`.
pub fn find_shawl(
    target: &Target,
    configured: Option<&Path>,
    cache: &Path,
) -> Result<Shawl, BundleError> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(Shawl::Ready(p.to_path_buf()))
        } else {
            Err(BundleError::ShawlMissing(p.to_path_buf()))
        };
    }
    let root = cache
        .join("shawl")
        .join(SHAWL_VERSION)
        .join(target.triple());
    let exe = root.join("bin").join("shawl.exe");
    if exe.is_file() {
        return Ok(Shawl::Ready(exe));
    }
    if target.env() != Env::Gnu {
        return Err(BundleError::ShawlUnbuildable(target.to_string()));
    }
    Ok(Shawl::Build { root, exe })
}

/// `cargo install shawl --target ...` into a private folder, then shawl.exe renamed to
/// `exe`: two runs building it at once each finish with a whole file. shawl's build
/// script runs plain `windres` and `ar`, so a folder of links to the mingw tools goes
/// first on PATH.
pub fn build_shawl(target: &Target, root: &Path, exe: &Path) -> Result<(), BundleError> {
    std::fs::create_dir_all(root).map_err(io("create", root))?;
    let work = tempfile::Builder::new()
        .prefix(".build-")
        .tempdir_in(root)
        .map_err(io("create a folder in", root))?;
    let shims = work.path().join("shims");
    std::fs::create_dir_all(&shims).map_err(io("create", &shims))?;
    for tool in ["windres", "ar"] {
        let name = format!("{}-{tool}", target.mingw_prefix());
        let real = which::which(&name).map_err(|_| BundleError::ToolMissing {
            what: "building shawl.exe",
            tool: name.clone(),
        })?;
        let link = shims.join(tool);
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).map_err(io("create", &link))?;
        #[cfg(not(unix))]
        std::fs::copy(&real, &link).map_err(io("create", &link))?;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![shims.clone()];
    paths.extend(std::env::split_paths(&path));
    let new_path = std::env::join_paths(paths).map_err(|e| BundleError::Io {
        action: "put on PATH",
        path: shims.clone(),
        source: std::io::Error::other(e),
    })?;
    let cargo = crate::target::cargo_program();
    let status = Command::new(&cargo)
        .args([
            "install",
            "shawl",
            "--locked",
            "--quiet",
            "--target",
            target.triple(),
            "--root",
        ])
        .arg(work.path())
        .env("PATH", new_path)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .map_err(io("run", Path::new(&cargo)))?;
    let built = work.path().join("bin").join("shawl.exe");
    if !status.success() || !built.is_file() {
        return Err(BundleError::ShawlBuildFailed);
    }
    if let Some(dir) = exe.parent() {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    }
    // shawl is MIT-licensed: its licence text ships beside it. cargo install leaves
    // the crate's source in the registry cache.
    if let Some(dir) = exe.parent()
        && let Some(licence) = registry_licence()
    {
        let _ = std::fs::copy(licence, dir.join("shawl-LICENSE.txt"));
    }
    std::fs::rename(&built, exe).map_err(io("move shawl.exe to", exe))?;
    Ok(())
}

/// Remove debug sections from a staged DLL copy (never the original) with the target's
/// binutils strip. strip stamps the current time into the PE header unless
/// SOURCE_DATE_EPOCH is set: it gets the DLL's own link time, so the result is
/// reproducible and keeps its original timestamp.
pub fn strip_symbols(path: &Path, target: &Target) -> Result<(), BundleError> {
    let tool = format!("{}-strip", target.mingw_prefix());
    if which::which(&tool).is_err() {
        return Err(BundleError::ToolMissing {
            what: "strip-bundled-dlls",
            tool,
        });
    }
    let bytes = std::fs::read(path).map_err(io("read", path))?;
    let stamp = pe_timestamp(&bytes).unwrap_or(0);
    let out = Command::new(&tool)
        .arg("--strip-all")
        .arg(path)
        .env("SOURCE_DATE_EPOCH", stamp.to_string())
        .output()
        .map_err(io("run", Path::new(&tool)))?;
    if !out.status.success() {
        return Err(BundleError::StripFailed {
            tool,
            path: path.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// The COFF header's TimeDateStamp of a PE image.
pub fn pe_timestamp(bytes: &[u8]) -> Option<u32> {
    crate::pe::parse(Path::new(""), bytes)
        .ok()
        .map(|f| f.link_time)
}

/// shawl's LICENSE in cargo's registry cache (`$CARGO_HOME/registry/src/*/shawl-VER`).
fn registry_licence() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let src = home.join("registry").join("src");
    std::fs::read_dir(src).ok()?.flatten().find_map(|index| {
        let p = index
            .path()
            .join(format!("shawl-{SHAWL_VERSION}"))
            .join("LICENSE");
        p.is_file().then_some(p)
    })
}
