//! Stage: copy the files to ship into a staging folder, exactly as they will be
//! extracted (stripped when asked), and check them as one bundle: only DLLs inside it
//! count, so a package passes only when it is complete on its own.

use std::path::PathBuf;

use super::error::BuildError;
use super::plan::Plan;
use crate::check::{self, CheckOptions, Report};
use crate::package::bundle;
use crate::package::stamp::Stamped;

/// The staged PE files and their check.
pub struct Staged {
    /// Keeps the staging folder alive until the zip is written.
    pub dir: tempfile::TempDir,
    /// (name in the package, staged copy): the exe first, then DLLs, shawl.exe.
    pub pe_files: Vec<(String, PathBuf)>,
    pub report: Report,
    /// What stamping the exe did, when it was stamped.
    pub stamped: Option<Stamped>,
    /// Why a prebuilt exe (`--exe`) could not be stamped: it ships as it was built.
    pub not_stamped: Option<String>,
    /// Names of the files we signed, and of those that came signed (kept).
    pub signed: Vec<String>,
    pub kept_signatures: Vec<String>,
}

/// The PE files to ship, by their name in the package: the exe, each DLL once (by
/// name, case-insensitively), then the helpers (shawl.exe, the PATH helper).
pub fn pe_files(
    plan: &Plan,
    exe: &std::path::Path,
    dlls: &[PathBuf],
    helpers: Vec<(String, PathBuf)>,
) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = vec![(plan.exe_name.clone(), exe.to_path_buf())];
    for d in dlls {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if files.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            continue;
        }
        files.push((name, d.clone()));
    }
    files.extend(helpers);
    files
}

/// Copy `files` into a staging folder under `plan.winpkg_dir`, strip the DLL copies when
/// the config asks, and check the copies as a bundle.
pub fn stage(plan: &Plan, files: &[(String, PathBuf)]) -> Result<Staged, BuildError> {
    let io = BuildError::io;
    std::fs::create_dir_all(&plan.winpkg_dir).map_err(io("create", &plan.winpkg_dir))?;
    let dir = tempfile::Builder::new()
        .prefix(&crate::package::leftovers::stage_prefix())
        .tempdir_in(&plan.winpkg_dir)
        .map_err(io("create a staging folder in", &plan.winpkg_dir))?;
    let strip = plan.cfg.strip_bundled_dlls.unwrap_or(false);
    let mut staged = Vec::new();
    let mut stamped = None;
    let mut not_stamped = None;
    for (i, (name, src)) in files.iter().enumerate() {
        let dst = dir.path().join(name);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        // A hard link costs no copy; a copy when the link cannot be made, or when the
        // staged file will be edited (stripped, signed), which must never touch the
        // original.
        // Stamping streams the exe into its staged copy; when it adds nothing, the
        // exe is staged like any file.
        let mut written = false;
        if let Some(s) = plan.stamp.as_ref().filter(|_| i == 0) {
            match crate::package::stamp::stamp(src, &dst, s) {
                Ok(done) => {
                    written = done.wrote();
                    stamped = Some(done);
                }
                // Ours to fix in a crate's build; a program built elsewhere (a signed
                // one, an unusual layout) ships as it is, and the run says why.
                Err(e) if plan.prebuilt => {
                    let _ = std::fs::remove_file(&dst);
                    not_stamped = Some(e.to_string());
                }
                Err(e) => return Err(e.into()),
            }
        }
        let strip_it = strip && i > 0;
        let edited = strip_it || plan.signer.is_some();
        if !written && (edited || std::fs::hard_link(src, &dst).is_err()) {
            std::fs::copy(src, &dst).map_err(io("copy", src))?;
        }
        if strip_it {
            bundle::strip_symbols(&dst, &plan.target)?;
        }
        staged.push((name.clone(), dst));
    }
    // Signed last, after every edit. The exe is ours; a DLL that comes signed (by its
    // vendor) keeps its signature.
    let (mut signed, mut kept_signatures) = (Vec::new(), Vec::new());
    if let Some(signer) = &plan.signer {
        for (i, (name, dst)) in staged.iter().enumerate() {
            let theirs = i > 0 && crate::pe::read_file(dst).is_ok_and(|f| f.signed);
            if theirs {
                kept_signatures.push(name.clone());
            } else {
                signer.sign(dst)?;
                signed.push(name.clone());
            }
        }
    }
    let paths: Vec<PathBuf> = staged.iter().map(|(_, p)| p.clone()).collect();
    let report = check::check(
        &paths,
        &CheckOptions {
            policy: plan.policy.clone(),
            dll_dirs: Vec::new(),
            host: plan.cfg.host,
        },
    )
    .require_readable()
    .map_err(BuildError::Input)?;
    Ok(Staged {
        dir,
        pe_files: staged,
        report,
        stamped,
        not_stamped,
        signed,
        kept_signatures,
    })
}
