//! One file's trust facts -> its diagnostics: signature, version information, packers,
//! exploit mitigations, debug info and PDB paths. What SmartScreen, antivirus
//! heuristics and a Windows admin look at before they run an unknown exe.

use super::codes::{Code, Diagnostic};
use super::resolve::display_name;
use crate::pe::{Facts, PeFormat, Subsystem, hygiene};

pub(super) fn judge(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let file = display_name(&facts.path);
    let diag = |code, message, help: String| file_diag(facts, code, message, &help);
    signature(facts, &file, out);
    // EFI images run before Windows: version resources and mitigations mean nothing.
    let windows = facts.subsystem.is_win32() || facts.subsystem == Subsystem::Native;
    if facts.version.is_none() && windows {
        out.push(diag(
            Code::NoVersionInfo,
            format!("{file} has no version information (VERSIONINFO resource)"),
            "stamp one: `cargo winpkg` does from Cargo.toml unless `version-info = false`; other builds use a resource script (winresource, embed-resource)".into(),
        ));
    }
    if let Some(packer) = &facts.packer {
        out.push(diag(
            Code::PackedExecutable,
            format!("{file} looks packed by {packer}"),
            "packed executables are a top cause of antivirus false positives; ship it unpacked, and get most of the size back with `strip = true` (and `opt-level = \"z\"`, `lto = true`) in the Cargo profile".into(),
        ));
    }
    if windows {
        mitigations(facts, &file, out);
    }
    if let Some(home) = facts.pdb_path.as_deref().and_then(hygiene::home_folder_in) {
        out.push(diag(
            Code::PdbPathLeak,
            format!(
                "{file} names its PDB as {}, under the home folder {home}",
                facts.pdb_path.as_deref().unwrap_or_default()
            ),
            "link with `/PDBALTPATH:%_PDB%` so only the PDB's file name is written (Rust on msvc: `-C link-arg=/PDBALTPATH:%_PDB%`), or build outside the home folder".into(),
        ));
    }
    let debug = facts.debug;
    if debug.total() > 0 {
        let mut parts = Vec::new();
        if debug.dwarf > 0 {
            parts.push(format!("{} of DWARF debug sections", kib(debug.dwarf)));
        }
        if debug.symbols > 0 {
            parts.push(format!("{} of COFF symbols", kib(debug.symbols)));
        }
        out.push(diag(
            Code::DebugInfoShipped,
            format!(
                "{file} carries {} ({}% of its {})",
                parts.join(" and "),
                debug.total() * 100 / facts.size.max(1),
                kib(facts.size)
            ),
            "set `strip = true` in the Cargo profile of the build (`cargo winpkg` strips with `reproducible = true`, the default), or run `strip` on the file".into(),
        ));
    }
}

/// Sizes as people read them: KiB below a MiB, MiB above.
pub fn kib(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// A diagnostic about the whole file.
fn file_diag(facts: &Facts, code: Code, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(
        code,
        Some(facts.path.clone()),
        None,
        message,
        Some(help.into()),
    )
}

fn signature(facts: &Facts, file: &str, out: &mut Vec<Diagnostic>) {
    let diag = |code, message, help| file_diag(facts, code, message, help);
    let Some(sig) = &facts.signature else {
        out.push(diag(
            Code::Unsigned,
            format!("{file} has no Authenticode signature"),
            "sign it: `cargo winpkg --sign` with a [package.metadata.winpkg.sign] table, or signtool / osslsigncode",
        ));
        return;
    };
    let by = sig
        .subject
        .as_deref()
        .map(|s| format!(" by {s}"))
        .unwrap_or_default();
    if let Some(problem) = &sig.problem {
        out.push(diag(
            Code::SignatureMismatch,
            format!("{file} is signed{by}, but the signature cannot be checked: {problem}"),
            "sign the file again; Windows rejects a signature it cannot read",
        ));
        return;
    }
    if sig.digest_matches == Some(false) {
        out.push(diag(
            Code::SignatureMismatch,
            format!(
                "{file} changed after it was signed{by}: its Authenticode hash ({}) differs from the signed one",
                sig.digest_algorithm.as_deref().unwrap_or("?")
            ),
            "sign the file after its last edit (version resources, stripping, patching), or ship it exactly as it was signed; Windows treats it as tampered",
        ));
        return;
    }
    if !sig.timestamped {
        out.push(diag(
            Code::NotTimestamped,
            format!(
                "{file} is signed{by} without a timestamp: the signature dies with the certificate"
            ),
            "sign with a timestamp server (`timestamp-urls` in [package.metadata.winpkg.sign]; signtool `/tr URL /td sha256`; osslsigncode `-ts URL`)",
        ));
    }
}

/// ASLR, DEP, high-entropy ASLR and CFG.
fn mitigations(facts: &Facts, file: &str, out: &mut Vec<Diagnostic>) {
    let c = facts.characteristics;
    let diag = |code, message, help| file_diag(facts, code, message, help);
    if !c.aslr {
        out.push(diag(
            Code::NoAslr,
            format!("{file} is not marked DYNAMIC_BASE: it loads at a fixed address (no ASLR)"),
            "link with /DYNAMICBASE (MSVC, lld-link) or -Wl,--dynamicbase (GNU ld)",
        ));
    }
    if !c.dep {
        out.push(diag(
            Code::NoDep,
            format!("{file} is not marked NX_COMPAT: data execution prevention is off for it"),
            "link with /NXCOMPAT (MSVC, lld-link) or -Wl,--nxcompat (GNU ld)",
        ));
    }
    if c.aslr && !c.high_entropy_va && facts.format == PeFormat::Pe32Plus {
        out.push(diag(
            Code::NoHighEntropyVa,
            format!("{file} is a 64-bit image without HIGH_ENTROPY_VA: ASLR uses only 32 bits of its address space"),
            "link with /HIGHENTROPYVA or -Wl,--high-entropy-va",
        ));
    }
    if !c.cfg {
        out.push(diag(
            Code::NoCfg,
            format!("{file} is not built with Control Flow Guard"),
            "MSVC: /guard:cf; Rust on the msvc target: -C control-flow-guard (GNU toolchains cannot emit it)",
        ));
    }
}
