//! Diagnostic codes, in the style of cargo-deny: stable kebab-case names that CI
//! configurations re-level by name. [`CODES`] is the one source of every code's name,
//! default level, summary and fix: `check --help`, SARIF rules and the book's table (docs/src/check.md)
//! (checked by a test) are all made from it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

/// A diagnostic code. Codes never change meaning once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    MissingVcRedist,
    DebugCrt,
    MissingMingwRuntime,
    MissingDll,
    DelayLoadMissing,
    UcrtNeedsUpdate,
    DllNotInWindowsVersion,
    MachineMismatch,
    UnmatchedAllow,
    SubsystemVersionTooNew,
    UnreadablePe,
    SignatureMismatch,
    NotTimestamped,
    Unsigned,
    NoVersionInfo,
    PackedExecutable,
    NoAslr,
    NoDep,
    NoHighEntropyVa,
    NoCfg,
    PdbPathLeak,
    DebugInfoShipped,
}

/// Everything said about one code.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: Code,
    pub name: &'static str,
    pub severity: Severity,
    /// When it is reported (one sentence).
    pub summary: &'static str,
    /// What fixes it, in general; each diagnostic's own help is specific.
    pub fix: &'static str,
}

/// Every code, in documentation order.
pub const CODES: [CodeInfo; 22] = [
    CodeInfo {
        code: Code::MissingVcRedist,
        name: "missing-vc-redist",
        severity: Severity::Error,
        summary: "imports a Visual C++ runtime DLL (vcruntime140.dll, msvcp140.dll...) that is not shipped: a clean Windows lacks it",
        fix: "link the C runtime statically (Rust: `-C target-feature=+crt-static`; C/C++: `/MT`), install the Visual C++ Redistributable on the target, or ship the DLL",
    },
    CodeInfo {
        code: Code::DebugCrt,
        name: "debug-crt",
        severity: Severity::Error,
        summary: "imports a debug C runtime (ucrtbased.dll, vcruntime140d.dll...), shipped or not: it may not be redistributed",
        fix: "build in release mode",
    },
    CodeInfo {
        code: Code::MissingMingwRuntime,
        name: "missing-mingw-runtime",
        severity: Severity::Error,
        summary: "imports a MinGW-w64 runtime DLL (libstdc++-6.dll, libgcc_s_seh-1.dll...) that is not shipped",
        fix: "ship it beside the program (`cargo winpkg` does, with `bundle-mingw-runtime`), or link the runtime statically",
    },
    CodeInfo {
        code: Code::MissingDll,
        name: "missing-dll",
        severity: Severity::Error,
        summary: "imports a third-party DLL that was not found",
        fix: "ship it beside the program, pass its folder with `--dll-dir`, or `--allow` it when the host process provides it",
    },
    CodeInfo {
        code: Code::DelayLoadMissing,
        name: "delay-load-missing",
        severity: Severity::Warning,
        summary: "any of the four above, or `dll-not-in-windows-version`, for a DLL that is only delay-loaded: the program starts, and fails when it first calls into it",
        fix: "as for the code it stands for, or have the program check for the DLL before it calls into it",
    },
    CodeInfo {
        code: Code::UcrtNeedsUpdate,
        name: "ucrt-needs-update",
        severity: Severity::Note,
        summary: "uses the Universal CRT while the minimum Windows is below 10, where it comes only with an update (KB2999226)",
        fix: "make sure those machines are updated, or install the Visual C++ Redistributable, which brings the Universal CRT",
    },
    CodeInfo {
        code: Code::DllNotInWindowsVersion,
        name: "dll-not-in-windows-version",
        severity: Severity::Error,
        summary: "imports a system DLL that a Windows release from the minimum on lacks",
        fix: "raise the minimum Windows (`--min-windows`, `min-windows`), or delay-load the DLL and check for it",
    },
    CodeInfo {
        code: Code::MachineMismatch,
        name: "machine-mismatch",
        severity: Severity::Error,
        summary: "a resolved DLL is built for another machine type, so the loader refuses it",
        fix: "ship the DLL built for the program's machine",
    },
    CodeInfo {
        code: Code::UnmatchedAllow,
        name: "unmatched-allow",
        severity: Severity::Warning,
        summary: "an allow entry matched no imported DLL",
        fix: "remove it, or fix its spelling",
    },
    CodeInfo {
        code: Code::SubsystemVersionTooNew,
        name: "subsystem-version-too-new",
        severity: Severity::Error,
        summary: "a console or GUI image's subsystem version is newer than the minimum Windows (7 = 6.1, 8 = 6.2, 8.1 = 6.3, 10 = 10.0), so that Windows refuses to load it",
        fix: "link with an older subsystem version (`/SUBSYSTEM:CONSOLE,6.01`, `-Wl,--subsystem,console:6.1`), or raise the minimum Windows",
    },
    CodeInfo {
        code: Code::UnreadablePe,
        name: "unreadable-pe",
        severity: Severity::Error,
        summary: "an input, or a DLL the loader would pick, cannot be read as a PE file (the message names the byte offset); the other files are still checked, and the exit code is 2",
        fix: "ship a whole, readable PE file; it cannot be re-levelled",
    },
    CodeInfo {
        code: Code::SignatureMismatch,
        name: "signature-mismatch",
        severity: Severity::Error,
        summary: "the file's Authenticode hash differs from the digest its signature signed (it changed after signing), or the signature cannot be read: Windows treats it as tampered",
        fix: "sign the file again after the last edit (resources, stripping, patching), or ship the file as it was signed",
    },
    CodeInfo {
        code: Code::NotTimestamped,
        name: "not-timestamped",
        severity: Severity::Warning,
        summary: "signed without a timestamp: the signature stops being valid when the certificate expires",
        fix: "sign with a timestamp server (`timestamp-urls` in [package.metadata.winpkg.sign]; signtool `/tr URL /td sha256`)",
    },
    CodeInfo {
        code: Code::Unsigned,
        name: "unsigned",
        severity: Severity::Note,
        summary: "has no Authenticode signature: SmartScreen warns on first run, and antivirus heuristics trust it less",
        fix: "sign it (`cargo winpkg --sign` with [package.metadata.winpkg.sign]; signtool; osslsigncode)",
    },
    CodeInfo {
        code: Code::NoVersionInfo,
        name: "no-version-info",
        severity: Severity::Note,
        summary: "has no VERSIONINFO resource: Explorer's Details tab and inventory tools show no version, product or company, and antivirus heuristics trust it less",
        fix: "`cargo winpkg` stamps one from Cargo.toml (`version-info`); other builds use a resource script (winresource, embed-resource, rc.exe)",
    },
    CodeInfo {
        code: Code::PackedExecutable,
        name: "packed-executable",
        severity: Severity::Warning,
        summary: "is packed (UPX or another packer: its section names, or an entry point in a writable, executable section of compressed bytes): a top cause of antivirus false positives",
        fix: "ship it unpacked; strip symbols and debug info instead (`strip = true` in the Cargo profile), which gets most of the size back",
    },
    CodeInfo {
        code: Code::NoAslr,
        name: "no-aslr",
        severity: Severity::Warning,
        summary: "is not marked for address space layout randomisation (DYNAMIC_BASE), so it always loads at the same address",
        fix: "link with `/DYNAMICBASE` (MSVC) or `-Wl,--dynamicbase` (GNU ld); Rust sets it by default",
    },
    CodeInfo {
        code: Code::NoDep,
        name: "no-dep",
        severity: Severity::Warning,
        summary: "is not marked compatible with data execution prevention (NX_COMPAT)",
        fix: "link with `/NXCOMPAT` or `-Wl,--nxcompat`; Rust sets it by default",
    },
    CodeInfo {
        code: Code::NoHighEntropyVa,
        name: "no-high-entropy-va",
        severity: Severity::Note,
        summary: "a 64-bit image with ASLR but without HIGH_ENTROPY_VA, so it gets only 32-bit randomisation",
        fix: "link with `/HIGHENTROPYVA` or `-Wl,--high-entropy-va`",
    },
    CodeInfo {
        code: Code::NoCfg,
        name: "no-cfg",
        severity: Severity::Note,
        summary: "is not built with Control Flow Guard (GUARD_CF)",
        fix: "MSVC: `/guard:cf`; Rust on the msvc target: `-C control-flow-guard` (GNU toolchains cannot emit it)",
    },
    CodeInfo {
        code: Code::PdbPathLeak,
        name: "pdb-path-leak",
        severity: Severity::Warning,
        summary: "the debug directory names a PDB under a user's home folder, which ships the build machine's user name and layout",
        fix: "MSVC: link with `/PDBALTPATH:%_PDB%` (Rust: `-C link-arg=/PDBALTPATH:%_PDB%`), or build from a folder outside the home",
    },
    CodeInfo {
        code: Code::DebugInfoShipped,
        name: "debug-info-shipped",
        severity: Severity::Warning,
        summary: "a release image carries DWARF sections or a COFF symbol table (the message gives their size): bigger downloads, and the symbols ship the source layout",
        fix: "set `strip = true` in the Cargo profile (or `strip = \"symbols\"`), or run `strip` on the file",
    },
];

impl Code {
    /// Every code, in documentation order.
    pub fn all() -> impl Iterator<Item = Code> {
        CODES.iter().map(|i| i.code)
    }

    pub fn info(self) -> &'static CodeInfo {
        // CODES lists the variants in declaration order (a test checks it).
        &CODES[self as usize]
    }

    /// A trust and hygiene code (signature, version information, mitigations, debug
    /// info), as opposed to the loader's verdicts on imports.
    pub fn is_hygiene(self) -> bool {
        self >= Code::SignatureMismatch
    }

    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    pub fn default_severity(self) -> Severity {
        self.info().severity
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A name that is not a diagnostic code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown diagnostic code `{name}`; the codes are: {}", code_names().join(", "))]
pub struct UnknownCode {
    pub name: String,
}

fn code_names() -> Vec<&'static str> {
    CODES.iter().map(|i| i.name).collect()
}

impl FromStr for Code {
    type Err = UnknownCode;
    fn from_str(s: &str) -> Result<Self, UnknownCode> {
        CODES
            .iter()
            .find(|i| i.name == s)
            .map(|i| i.code)
            .ok_or_else(|| UnknownCode {
                name: s.to_string(),
            })
    }
}

/// The codes table of `check --help`.
pub fn codes_help() -> String {
    let mut s = String::from("Diagnostic codes (default level):\n");
    for i in &CODES {
        s.push_str(&format!(
            "  {:<27} {:<8} {}\n",
            i.name,
            i.severity.as_str(),
            i.summary
        ));
    }
    s.push_str(
        "\nExit status: 0 no error-level diagnostic, 1 at least one, 2 usage error or unreadable input.",
    );
    s
}

/// The book's table of codes, one Markdown row per code.
pub fn readme_rows() -> Vec<String> {
    CODES
        .iter()
        .map(|i| {
            format!(
                "| `{}` | {} | {} | {} |",
                i.name,
                i.severity.as_str(),
                i.summary,
                i.fix
            )
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// The PE file the diagnostic is about; None for policy-level ones.
    pub file: Option<PathBuf>,
    /// The DLL name as spelled in the import table.
    pub dll: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at its code's default severity (the policy re-levels it later).
    pub fn new(
        code: Code,
        file: Option<PathBuf>,
        dll: Option<String>,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            file,
            dll,
            message,
            help,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order() {
        for (i, info) in CODES.iter().enumerate() {
            assert_eq!(info.code as usize, i, "{}", info.name);
        }
    }

    #[test]
    fn codes_round_trip() {
        for c in Code::all() {
            assert_eq!(c.as_str().parse::<Code>(), Ok(c));
        }
        assert!(
            "nope"
                .parse::<Code>()
                .unwrap_err()
                .to_string()
                .contains("missing-dll")
        );
    }
}
