//! DLL name -> [`Class`]: what a clean Windows has, and what must ship with the program.
//!
//! The system tables come from the DLL lists of vanilla Windows 7 SP1, 8, 8.1, 10 and 11
//! installations (x64 System32, x64 SysWOW64, arm64 System32), generated into the data
//! file `system-dlls.txt` by `scripts/gen-system-dlls.py` and embedded at compile time.
//! Names compare case-insensitively, as the Windows loader compares them.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Serialize;

use crate::pe::Machine;

/// `name mask` lines, sorted by name; `#` lines are comments.
const SYSTEM_DLLS_TXT: &str = include_str!("system-dlls.txt");

/// The table, parsed once. A line that does not parse is skipped (a test checks that
/// every line parses, so none is).
fn system_dlls() -> &'static [(&'static str, u16)] {
    static TABLE: OnceLock<Vec<(&'static str, u16)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SYSTEM_DLLS_TXT
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(parse_table_line)
            .collect()
    })
}

fn parse_table_line(line: &str) -> Option<(&str, u16)> {
    let (name, mask) = line.split_once(' ')?;
    Some((name, u16::from_str_radix(mask, 16).ok()?))
}

/// Every DLL falls in exactly one class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Not found anywhere we know of: ships with the program or is missing.
    ThirdParty,
    /// Debug builds of the Visual C++ runtime: never redistributable.
    DebugCrt,
    /// The Visual C++ redistributable (vcruntime140.dll, msvcp140.dll, ...).
    VcRedist,
    /// The GCC/MinGW-w64 runtime (libstdc++-6.dll, libgcc_s_seh-1.dll, ...).
    MingwRuntime,
    /// An API set (`api-ms-win-*`, `ext-ms-*`), resolved by the loader.
    ApiSet,
    /// Present in vanilla Windows.
    System,
    /// Provided by the host process that loads the file (`--host`): python3xx.dll and
    /// the Visual C++ runtime python.org's Python ships beside python.exe, node.exe.
    Host,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::System => "system",
            Class::ApiSet => "api-set",
            Class::VcRedist => "vc-redist",
            Class::DebugCrt => "debug-crt",
            Class::MingwRuntime => "mingw-runtime",
            Class::ThirdParty => "third-party",
            Class::Host => "host",
        }
    }

    /// Classes whose DLLs must be found beside the program (or installed separately).
    pub fn must_ship(self) -> bool {
        !matches!(self, Class::System | Class::ApiSet | Class::Host)
    }
}

crate::words::words! {
    /// The program that loads a plugin, and so provides some of its DLLs.
    pub enum Host("host") {
        /// python.exe from python.org: python3.dll, python3XY.dll, and the Visual C++
        /// runtime it ships beside python.exe (vcruntime140.dll, vcruntime140_1.dll).
        Python = "python",
        /// node.exe: `.node` addons import it by name.
        Node = "node",
        /// No host: every DLL is judged as a program's would be.
        None = "none",
    }
}

impl Host {
    /// The host a file's extension implies: `.pyd` Python, `.node` Node.js.
    pub fn from_extension(path: &std::path::Path) -> Option<Host> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "pyd" => Some(Host::Python),
            "node" => Some(Host::Node),
            _ => None,
        }
    }

    /// Does this host provide `dll` (any case)?
    pub fn provides(self, dll: &str) -> bool {
        let d = dll.to_ascii_lowercase();
        let stem = d.strip_suffix(".dll").unwrap_or(&d);
        match self {
            Host::Python => {
                stem == "vcruntime140"
                    || stem == "vcruntime140_1"
                    || stem
                        .strip_prefix("python3")
                        .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit()))
            }
            Host::Node => d == "node.exe",
            Host::None => false,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Windows releases we have vanilla DLL lists for, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    Win7,
    Win8,
    Win81,
    Win10,
    Win11,
}

impl Release {
    pub const ALL: [Release; 5] = [
        Release::Win7,
        Release::Win8,
        Release::Win81,
        Release::Win10,
        Release::Win11,
    ];

    /// Each release's number as users write it (`min-windows = "8.1"`), in the order of
    /// [`Release::ALL`]: the one list the config, the CLI's value lists and messages use.
    pub const NAMES: [&'static str; 5] = ["7", "8", "8.1", "10", "11"];

    fn index(self) -> u16 {
        self as u16
    }

    pub fn as_str(self) -> &'static str {
        Release::NAMES[self as usize]
    }

    /// "7, 8, 8.1, 10, 11": for messages.
    pub fn names_list() -> String {
        Release::NAMES.join(", ")
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Windows {}", self.as_str())
    }
}

/// In reports a release is its number: `"10"`.
impl Serialize for Release {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A name that is not a Windows release we have tables for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Windows release `{}`: expected one of {}", .0, Release::names_list())]
pub struct UnknownRelease(pub String);

impl FromStr for Release {
    type Err = UnknownRelease;
    fn from_str(s: &str) -> Result<Self, UnknownRelease> {
        let t = s.trim();
        let t = t
            .strip_prefix("windows")
            .or_else(|| t.strip_prefix("Windows"))
            .unwrap_or(t)
            .trim();
        Release::ALL
            .into_iter()
            .find(|r| r.as_str() == t)
            .ok_or_else(|| UnknownRelease(s.to_string()))
    }
}

/// Which vanilla DLL list judges a file, from its machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X64,
    X86,
    Arm64,
}

impl Arch {
    /// `None` for machines we have no lists for (32-bit ARM, Itanium, EFI byte code...):
    /// those are judged against the union of all lists, without release checks.
    pub fn from_machine(machine: Machine) -> Option<Arch> {
        match machine {
            Machine::X86_64 => Some(Arch::X64),
            Machine::X86 => Some(Arch::X86),
            Machine::Aarch64 | Machine::Arm64ec | Machine::Arm64x => Some(Arch::Arm64),
            _ => None,
        }
    }

    fn index(self) -> u16 {
        match self {
            Arch::X64 => 0,
            Arch::X86 => 1,
            Arch::Arm64 => 2,
        }
    }

    /// The releases that exist for this architecture (no arm64 Windows before 10).
    pub fn releases(self) -> &'static [Release] {
        match self {
            Arch::Arm64 => &Release::ALL[3..],
            _ => &Release::ALL,
        }
    }
}

/// What the tables say about one DLL name for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    /// For `system` DLLs: the first release (for this architecture) that has it.
    pub since: Option<Release>,
    /// For `system` DLLs: releases of this architecture that lack it.
    pub absent_in: Vec<Release>,
}

/// Kernel-mode modules that drivers import, which the System32 lists (DLLs only) do not
/// hold: the kernel, the HAL and the boot-time DLLs of System32, and the export drivers
/// of System32\drivers that the Windows Driver Kit has kernel-mode import libraries for
/// (its `km` library folder: `hidclass.lib` for hidclass.sys, and so on). Curated by
/// hand from those import libraries; present on every Windows release this tool judges.
const KERNEL_MODULES: &[&str] = &[
    "ataport.sys",
    "bootvid.dll",
    "ci.dll",
    "classpnp.sys",
    "clfs.sys",
    "cng.sys",
    "drmk.sys",
    "dxgkrnl.sys",
    "fltmgr.sys",
    "fwpkclnt.sys",
    "hal.dll",
    "hidclass.sys",
    "hidparse.sys",
    "kdcom.dll",
    "ks.sys",
    "ksecdd.sys",
    "msrpc.sys",
    "ndis.sys",
    "netio.sys",
    "ntoskrnl.exe",
    "pciidex.sys",
    "portcls.sys",
    "pshed.dll",
    "scsiport.sys",
    "storport.sys",
    "tbs.sys",
    "tdi.sys",
    "usbd.sys",
    "videoprt.sys",
    "watchdog.sys",
    "wdfldr.sys",
    "win32k.sys",
    "wmilib.sys",
];

/// Mask of (arch, release) bits for a lower-case name, 0 when it is not a system DLL.
fn system_mask(lower: &str) -> u16 {
    if KERNEL_MODULES.binary_search(&lower).is_ok() {
        return 0x7fff;
    }
    let table = system_dlls();
    table
        .binary_search_by(|(name, _)| (*name).cmp(lower))
        .map(|i| table[i].1)
        .unwrap_or(0)
}

fn bit(arch: Arch, release: Release) -> u16 {
    1 << (arch.index() * 5 + release.index())
}

/// Classify a DLL name (as spelled in an import table) for a file of machine `arch`.
pub fn classify(dll: &str, arch: Option<Arch>) -> Verdict {
    let lower = dll.to_ascii_lowercase();
    let plain = |class| Verdict {
        class,
        since: None,
        absent_in: Vec::new(),
    };
    if lower.starts_with("api-ms-win-") || lower.starts_with("ext-ms-") {
        return plain(Class::ApiSet);
    }
    let stem = lower.strip_suffix(".dll").unwrap_or(&lower);
    if is_debug_crt(stem) {
        return plain(Class::DebugCrt);
    }
    let mask = system_mask(&lower);
    if mask != 0 {
        let Some(arch) = arch else {
            return plain(Class::System);
        };
        let present: Vec<Release> = arch
            .releases()
            .iter()
            .copied()
            .filter(|r| mask & bit(arch, *r) != 0)
            .collect();
        if let Some(first) = present.first() {
            return Verdict {
                class: Class::System,
                since: Some(*first),
                absent_in: arch
                    .releases()
                    .iter()
                    .copied()
                    .filter(|r| !present.contains(r))
                    .collect(),
            };
        }
        // A system DLL of another architecture only (e.g. an x64-only DLL imported
        // by an x86 file): for this file it is not part of Windows.
    }
    if is_vc_redist(stem) {
        return plain(Class::VcRedist);
    }
    if is_mingw_runtime(stem) {
        return plain(Class::MingwRuntime);
    }
    plain(Class::ThirdParty)
}

/// Is this the Universal CRT (built into Windows 10+, an update on 7/8/8.1)?
pub fn is_ucrt(dll: &str) -> bool {
    let lower = dll.to_ascii_lowercase();
    lower.starts_with("api-ms-win-crt-") || lower == "ucrtbase.dll"
}

/// `prefix` followed by one or more ASCII digits, then optionally `_` and a suffix.
fn digits_after<'a>(stem: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = stem.strip_prefix(prefix)?;
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0).then(|| &rest[n..])
}

/// Visual C++ runtime families: vcruntime140, vcruntime140_1, msvcp140_atomic_wait,
/// msvcr120, concrt140, vcomp140, vccorlib140, mfc140u, mfcm140, vcamp140, vcruntime140_threads.
fn is_vc_redist(stem: &str) -> bool {
    const FAMILIES: &[&str] = &[
        "vcruntime",
        "msvcp",
        "msvcr",
        "concrt",
        "vcomp",
        "vccorlib",
        "mfcm",
        "mfc",
        "vcamp",
        "atl",
    ];
    FAMILIES
        .iter()
        .any(|family| match digits_after(stem, family) {
            Some(rest) => {
                rest.is_empty()
                    || rest == "u"
                    || (rest.starts_with('_')
                        && rest.len() > 1
                        && rest[1..]
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            }
            None => false,
        })
}

/// The debug CRTs: ucrtbased and any Visual C++ runtime name with a trailing `d`.
fn is_debug_crt(stem: &str) -> bool {
    stem == "ucrtbased"
        || stem
            .strip_suffix('d')
            .is_some_and(|base| is_vc_redist(base) && !base.ends_with('_'))
}

/// The GCC runtime as MinGW-w64 (and llvm-mingw) toolchains ship it.
fn is_mingw_runtime(stem: &str) -> bool {
    const EXACT: &[&str] = &["libc++", "libunwind", "libssp-0", "libwinpthread-1"];
    const PREFIXES: &[&str] = &[
        "libstdc++-",
        "libgcc_s_",
        "libwinpthread-",
        "libgomp-",
        "libssp-",
        "libquadmath-",
        "libgfortran-",
        "libatomic-",
        "libobjc-",
        "libgnat-",
        "libgnarl-",
        "libmcfgthread-",
    ];
    EXACT.contains(&stem) || PREFIXES.iter().any(|p| stem.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str) -> Class {
        classify(name, Some(Arch::X64)).class
    }

    #[test]
    fn classes() {
        assert_eq!(class("KERNEL32.dll"), Class::System);
        assert_eq!(class("kernel32.DLL"), Class::System);
        assert_eq!(class("api-ms-win-crt-runtime-l1-1-0.dll"), Class::ApiSet);
        assert_eq!(class("ext-ms-win-ntuser-window-l1-1-0.dll"), Class::ApiSet);
        for v in [
            "VCRUNTIME140.dll",
            "vcruntime140_1.dll",
            "MSVCP140.dll",
            "msvcp140_atomic_wait.dll",
            "concrt140.dll",
            "vcomp140.dll",
            "vccorlib140.dll",
            "mfc140u.dll",
            "msvcr100.dll",
            "msvcr120.dll",
        ] {
            assert_eq!(class(v), Class::VcRedist, "{v}");
        }
        for d in [
            "ucrtbased.dll",
            "VCRUNTIME140D.dll",
            "vcruntime140_1d.dll",
            "MSVCP140D.dll",
            "mfc140ud.dll",
            "msvcr120d.dll",
        ] {
            assert_eq!(class(d), Class::DebugCrt, "{d}");
        }
        for m in [
            "libstdc++-6.dll",
            "libgcc_s_seh-1.dll",
            "libgcc_s_dw2-1.dll",
            "libwinpthread-1.dll",
            "libgomp-1.dll",
        ] {
            assert_eq!(class(m), Class::MingwRuntime, "{m}");
        }
        assert_eq!(class("sqlite3.dll"), Class::ThirdParty);
        assert_eq!(class("python311.dll"), Class::ThirdParty);
        // Legacy Visual C++ runtimes that Windows itself ships stay system.
        assert_eq!(class("msvcrt.dll"), Class::System);
        assert_eq!(class("mfc42.dll"), Class::System);
        assert_eq!(class("msvcp_win.dll"), Class::System);
        assert_eq!(class("ntoskrnl.exe"), Class::System);
    }

    #[test]
    fn releases() {
        let ucrt = classify("ucrtbase.dll", Some(Arch::X64));
        assert_eq!(ucrt.since, Some(Release::Win10));
        assert_eq!(
            ucrt.absent_in,
            vec![Release::Win7, Release::Win8, Release::Win81]
        );
        let k = classify("kernel32.dll", Some(Arch::Arm64));
        assert_eq!(k.since, Some(Release::Win10));
        assert!(k.absent_in.is_empty());
        assert_eq!("8.1".parse::<Release>(), Ok(Release::Win81));
        assert!("9".parse::<Release>().is_err());
    }

    #[test]
    fn kernel_modules_are_sorted_and_system() {
        assert!(KERNEL_MODULES.windows(2).all(|w| w[0] < w[1]));
        for m in ["hidclass.sys", "HIDPARSE.SYS", "ntoskrnl.exe", "usbd.sys"] {
            assert_eq!(classify(m, Some(Arch::X64)).class, Class::System, "{m}");
        }
    }

    #[test]
    fn table_is_sorted_and_lowercase() {
        let lines = SYSTEM_DLLS_TXT.lines().filter(|l| !l.starts_with('#'));
        assert!(lines.clone().all(|l| parse_table_line(l).is_some()));
        assert_eq!(lines.count(), system_dlls().len());
        let t = system_dlls();
        assert!(t.len() > 4000);
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(t.iter().all(|(n, _)| n.to_ascii_lowercase() == *n));
    }
}
