//! The lines a build prints about what it did to the files: their size, the version
//! information stamped, what was signed, and the trust findings on what ships.

use std::path::Path;

use super::options::BuildOptions;
use super::plan::Plan;
use super::{sizing as sizes, staging};
use crate::check::{self, Report, Severity};
use crate::events::Listener;

/// The exe's size after the build, what of it is debug info and symbols, and the
/// profile settings that would cut it.
pub(super) fn size(opts: &BuildOptions, plan: &Plan, exe: &Path, ui: &dyn Listener) {
    let Ok(facts) = crate::pe::read_file(exe) else {
        return;
    };
    let debug = facts.debug.total();
    let profile = opts.cargo.profile_name();
    let unset = sizes::unset_levers(&plan.workspace_manifest, &profile);
    let mut text = format!(
        "{} is {}, {} of it debug info and symbols",
        plan.exe_name,
        check::kib(facts.size),
        check::kib(debug)
    );
    if !unset.is_empty() {
        text.push_str(&format!(
            "; smaller with {} in [profile.{profile}] (`cargo winpkg size --try` measures each)",
            unset.join(", ")
        ));
    }
    ui.stage("Size", &text);
}

/// The trust and hygiene findings on the files as they ship: errors and warnings in
/// full, notes counted by code (`-v` and `check` list them).
pub(super) fn trust(staged: &Report, ui: &dyn Listener) {
    let hygiene = || staged.diagnostics.iter().filter(|d| d.code.is_hygiene());
    let shown: Vec<check::Diagnostic> = hygiene()
        .filter(|d| d.severity > Severity::Note)
        .cloned()
        .collect();
    let mut notes: Vec<&str> = hygiene()
        .filter(|d| d.severity == Severity::Note)
        .map(|d| d.code.as_str())
        .collect();
    let n = notes.len();
    let mut seen = Vec::new();
    notes.retain(|c| {
        let first = !seen.contains(c);
        seen.push(*c);
        first
    });
    if !shown.is_empty() {
        ui.report(&Report {
            files: staged.files.clone(),
            diagnostics: shown,
            unreadable: Vec::new(),
        });
    }
    if n > 0 {
        ui.stage(
            "Trust",
            &format!(
                "{} on the shipped files ({}); `cargo winpkg check` on the zip's files lists them",
                crate::words::count(n, "note"),
                notes.join(", ")
            ),
        );
    }
}

/// Say what was signed, and warn when signatures carry no timestamp.
pub(super) fn signing(plan: &Plan, staged: &staging::Staged, ui: &dyn Listener) {
    let Some(signer) = &plan.signer else {
        return;
    };
    if !staged.signed.is_empty() {
        ui.stage(
            "Signed",
            &format!(
                "{}{}",
                staged.signed.join(", "),
                if signer.timestamps() {
                    ", timestamped"
                } else {
                    ""
                }
            ),
        );
    }
    if !staged.kept_signatures.is_empty() {
        ui.stage(
            "Note",
            &format!(
                "kept the signatures {} came with",
                staged.kept_signatures.join(", ")
            ),
        );
    }
}

/// Say what went into the exe's resources, and what it kept of its own.
pub(super) fn stamp(plan: &Plan, staged: &staging::Staged, ui: &dyn Listener) {
    if let Some(why) = &staged.not_stamped {
        ui.warning(&format!(
            "{} ships without version information: it cannot be stamped ({why})",
            plan.exe_name
        ));
    }
    let Some(done) = &staged.stamped else {
        return;
    };
    let mut what = Vec::new();
    if done.version_info
        && let Some(v) = plan.stamp.as_ref().and_then(|s| s.version.as_ref())
    {
        let f = v.file_version;
        what.push(format!(
            "version information {}.{}.{}.{}",
            f[0], f[1], f[2], f[3]
        ));
    }
    if done.manifest {
        what.push("an application manifest".to_string());
    }
    if !what.is_empty() {
        ui.stage(
            "Stamped",
            &format!("{} with {}", plan.exe_name, what.join(" and ")),
        );
    }
    if done.kept_version_info {
        ui.stage(
            "Note",
            &format!("{} has version information of its own: kept", plan.exe_name),
        );
    }
    if done.kept_manifest {
        ui.warning(&format!(
            "app-manifest = true, but {} already embeds a manifest: kept as it is",
            plan.exe_name
        ));
    }
}
