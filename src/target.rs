//! A target triple, parsed once: its architecture, its environment (which toolchain
//! links it), the variable cargo reads its linker from, and its MinGW tool prefix.

use std::ffi::OsString;
use std::fmt;

/// The cargo that builds: `$CARGO` when cargo started us (so toolchain overrides
/// hold), else `cargo` from PATH.
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The toolchain family a Windows target links with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    /// `*-windows-gnu`: MinGW-w64 GCC and binutils.
    Gnu,
    /// `*-windows-gnullvm`: llvm-mingw.
    GnuLlvm,
    /// `*-windows-msvc`: the MSVC runtime and Windows SDK.
    Msvc,
    /// Not a Windows target we know.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    triple: String,
}

impl Target {
    pub fn new(triple: &str) -> Target {
        Target {
            triple: triple.to_string(),
        }
    }

    pub fn triple(&self) -> &str {
        &self.triple
    }

    /// The first component: `x86_64`, `i686`, `aarch64`...
    pub fn arch(&self) -> &str {
        self.triple.split('-').next().unwrap_or("x86_64")
    }

    pub fn is_windows(&self) -> bool {
        self.triple.contains("-windows")
    }

    pub fn env(&self) -> Env {
        let t = &self.triple;
        if t.ends_with("-windows-gnu") {
            Env::Gnu
        } else if t.ends_with("-windows-gnullvm") {
            Env::GnuLlvm
        } else if t.ends_with("-windows-msvc") {
            Env::Msvc
        } else {
            Env::Other
        }
    }

    /// The environment variable cargo reads this target's linker from.
    pub fn linker_env(&self) -> String {
        format!(
            "CARGO_TARGET_{}_LINKER",
            self.triple.to_ascii_uppercase().replace(['-', '.'], "_")
        )
    }

    /// The MinGW-w64 tool prefix: `x86_64-w64-mingw32` (then `-gcc`, `-strip`...).
    pub fn mingw_prefix(&self) -> String {
        format!("{}-w64-mingw32", self.arch())
    }

    /// The GCC unwinder DLL of this architecture's MinGW runtime.
    pub fn libgcc_s(&self) -> &'static str {
        if self.arch() == "i686" {
            "libgcc_s_dw2-1.dll"
        } else {
            "libgcc_s_seh-1.dll"
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.triple)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let t = Target::new("x86_64-pc-windows-gnu");
        assert_eq!(t.arch(), "x86_64");
        assert_eq!(t.env(), Env::Gnu);
        assert_eq!(t.linker_env(), "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER");
        assert_eq!(t.mingw_prefix(), "x86_64-w64-mingw32");
        let t = Target::new("i686-pc-windows-msvc");
        assert_eq!((t.arch(), t.env()), ("i686", Env::Msvc));
        assert_eq!(t.libgcc_s(), "libgcc_s_dw2-1.dll");
        assert_eq!(
            Target::new("aarch64-pc-windows-gnullvm").env(),
            Env::GnuLlvm
        );
        assert!(!Target::new("x86_64-unknown-linux-gnu").is_windows());
    }
}
