//! What ships beside the exe: the DLLs its closure resolved to outside Windows, the
//! MinGW runtime of the toolchain that linked it, `bundle-dlls`, and shawl.exe for
//! wrapped services.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::check::Report;

/// Folders holding the MinGW-w64 runtime DLLs of the toolchain that links `target`,
/// as its compiler driver reports them (so the posix/win32 thread-model variant is the
/// one the exe was linked against). Empty when the driver is not installed.
pub fn mingw_runtime_dirs(target: &str) -> Vec<PathBuf> {
    if !target.ends_with("-windows-gnu") {
        return Vec::new();
    }
    let env = format!(
        "CARGO_TARGET_{}_LINKER",
        target.to_ascii_uppercase().replace(['-', '.'], "_")
    );
    let arch = target.split('-').next().unwrap_or("x86_64");
    let driver = std::env::var(&env).unwrap_or_else(|_| format!("{arch}-w64-mingw32-gcc"));
    let gcc_s = if arch == "i686" {
        "libgcc_s_dw2-1.dll"
    } else {
        "libgcc_s_seh-1.dll"
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dll in [
        "libstdc++-6.dll",
        gcc_s,
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

/// Expand `bundle-dlls` patterns (relative to `base`); a pattern that matches nothing
/// is an error, since a DLL the user asked for would otherwise silently not ship.
pub fn expand_globs(base: &Path, patterns: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for pat in patterns {
        let full = base.join(pat);
        let full_s = full.to_string_lossy();
        let paths =
            glob::glob(&full_s).map_err(|e| format!("`{pat}` is not a valid pattern: {e}"))?;
        let mut n = 0;
        for p in paths.flatten() {
            if p.is_file() {
                out.push(p);
                n += 1;
            }
        }
        if n == 0 {
            return Err(format!(
                "`{pat}` matches no file (looked in {})",
                base.display()
            ));
        }
    }
    Ok(out)
}

/// Find or build shawl.exe for `target`: the configured path, else a cached
/// `cargo install shawl --target ... --root ...` under `cache`.
pub fn shawl_exe(target: &str, configured: Option<&Path>, cache: &Path) -> Result<PathBuf, String> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!(
                "the shawl.exe configured at {} does not exist",
                p.display()
            ))
        };
    }
    let root = cache.join("shawl").join(target);
    let exe = root.join("bin").join("shawl.exe");
    if exe.is_file() {
        return Ok(exe);
    }
    if !target.ends_with("-windows-gnu") {
        return Err(format!(
            "shawl.exe for {target} cannot be built here; download it from the shawl releases and set `shawl = \"path/to/shawl.exe\"` in [package.metadata.winpkg.service]"
        ));
    }
    // shawl's build script runs plain `windres` and `ar`: point them at the mingw tools.
    let arch = target.split('-').next().unwrap_or("x86_64");
    let shims = root.join("shims");
    std::fs::create_dir_all(&shims)
        .map_err(|e| format!("cannot create {}: {e}", shims.display()))?;
    for tool in ["windres", "ar"] {
        let real = crate::preflight::find_program(&format!("{arch}-w64-mingw32-{tool}"))
            .ok_or_else(|| {
                format!("building shawl.exe needs {arch}-w64-mingw32-{tool} (binutils-mingw-w64)")
            })?;
        let link = shims.join(tool);
        let _ = std::fs::remove_file(&link);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link)
            .map_err(|e| format!("cannot create {}: {e}", link.display()))?;
        #[cfg(not(unix))]
        std::fs::copy(&real, &link)
            .map_err(|e| format!("cannot create {}: {e}", link.display()))?;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![shims.clone()];
    paths.extend(std::env::split_paths(&path));
    let new_path = std::env::join_paths(paths).map_err(|e| e.to_string())?;
    eprintln!(
        "    Building shawl.exe for {target} (once; cached in {})",
        root.display()
    );
    let status = Command::new(crate::cargo::cargo_program())
        .args([
            "install", "shawl", "--locked", "--quiet", "--target", target, "--root",
        ])
        .arg(&root)
        .env("PATH", new_path)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .map_err(|e| format!("cannot run cargo install shawl: {e}"))?;
    if !status.success() || !exe.is_file() {
        return Err("`cargo install shawl` failed (see above); set `shawl = \"path/to/shawl.exe\"` in [package.metadata.winpkg.service] to use a downloaded one".into());
    }
    Ok(exe)
}

/// Remove debug sections from a staged DLL copy (never the original) with the target's
/// binutils strip. strip stamps the current time into the PE header unless
/// SOURCE_DATE_EPOCH is set: it gets the DLL's own link time, so the result is
/// reproducible and keeps its original timestamp.
pub fn strip_debug(path: &Path, target: &str) -> Result<(), String> {
    let arch = target.split('-').next().unwrap_or("x86_64");
    let tool = format!("{arch}-w64-mingw32-strip");
    if crate::preflight::find_program(&tool).is_none() {
        return Err(format!(
            "strip-bundled-dlls needs {tool}: install binutils-mingw-w64 (Debian/Ubuntu)"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let stamp = pe_timestamp(&bytes).unwrap_or(0);
    let out = Command::new(&tool)
        .arg("--strip-debug")
        .arg(path)
        .env("SOURCE_DATE_EPOCH", stamp.to_string())
        .output()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{tool} --strip-debug {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The COFF header's TimeDateStamp.
pub fn pe_timestamp(bytes: &[u8]) -> Option<u32> {
    let lfanew = u32::from_le_bytes(bytes.get(0x3c..0x40)?.try_into().ok()?) as usize;
    let at = lfanew.checked_add(8)?;
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}
