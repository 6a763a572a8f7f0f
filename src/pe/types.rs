//! Typed header values. Each serializes as the lower-case word of the JSON contract
//! (the book's check chapter, "JSON"), so reports stay stable while code matches on variants.

use std::fmt;

use object::pe;
use serde::{Serialize, Serializer};

/// Implements `Display` and `Serialize` through `as_str`.
macro_rules! word_type {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// The COFF machine type of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Machine {
    X86,
    X86_64,
    Aarch64,
    Arm64ec,
    Arm64x,
    /// 32-bit ARM (ARM, ARMNT, Thumb).
    Arm,
    Ia64,
    /// EFI byte code.
    Ebc,
    Riscv64,
    /// IMAGE_FILE_MACHINE_UNKNOWN (0): resource-only images.
    Unknown,
    /// Any other value.
    Other,
}

impl Machine {
    pub fn from_coff(machine: pe::Machine) -> Machine {
        match machine {
            pe::IMAGE_FILE_MACHINE_I386 => Machine::X86,
            pe::IMAGE_FILE_MACHINE_AMD64 => Machine::X86_64,
            pe::IMAGE_FILE_MACHINE_ARM64 => Machine::Aarch64,
            pe::IMAGE_FILE_MACHINE_ARM64EC => Machine::Arm64ec,
            pe::IMAGE_FILE_MACHINE_ARM64X => Machine::Arm64x,
            pe::IMAGE_FILE_MACHINE_ARM
            | pe::IMAGE_FILE_MACHINE_ARMNT
            | pe::IMAGE_FILE_MACHINE_THUMB => Machine::Arm,
            pe::IMAGE_FILE_MACHINE_IA64 => Machine::Ia64,
            pe::IMAGE_FILE_MACHINE_EBC => Machine::Ebc,
            pe::IMAGE_FILE_MACHINE_RISCV64 => Machine::Riscv64,
            pe::IMAGE_FILE_MACHINE_UNKNOWN => Machine::Unknown,
            _ => Machine::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Machine::X86 => "x86",
            Machine::X86_64 => "x86_64",
            Machine::Aarch64 => "aarch64",
            Machine::Arm64ec => "arm64ec",
            Machine::Arm64x => "arm64x",
            Machine::Arm => "arm",
            Machine::Ia64 => "ia64",
            Machine::Ebc => "ebc",
            Machine::Riscv64 => "riscv64",
            Machine::Unknown => "unknown",
            Machine::Other => "other",
        }
    }

    /// Can a process of this machine load a DLL built for `dll`? ARM64EC and ARM64X
    /// processes load x64 code; ARM64X DLLs serve native ARM64 processes too.
    pub fn can_load(self, dll: Machine) -> bool {
        use Machine::*;
        self == dll
            || matches!(
                (self, dll),
                (Arm64ec | Arm64x, X86_64 | Arm64ec | Arm64x) | (Aarch64, Arm64x)
            )
    }

    /// The Visual C++ Redistributable installer for this machine.
    pub fn vc_redist_installer(self) -> &'static str {
        match self {
            Machine::X86 => "vc_redist.x86.exe",
            Machine::Aarch64 | Machine::Arm64ec | Machine::Arm64x => "vc_redist.arm64.exe",
            _ => "vc_redist.x64.exe",
        }
    }

    /// The MinGW-w64 tool prefix for this machine (`x86_64-w64-mingw32`).
    pub fn mingw_prefix(self) -> &'static str {
        match self {
            Machine::X86 => "i686-w64-mingw32",
            Machine::Aarch64 => "aarch64-w64-mingw32",
            _ => "x86_64-w64-mingw32",
        }
    }
}

word_type!(Machine);

/// The subsystem field of the optional header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subsystem {
    Native,
    /// A GUI program.
    Windows,
    /// A console program.
    Console,
    Os2Console,
    PosixConsole,
    NativeWindows,
    WindowsCe,
    EfiApplication,
    EfiBootServiceDriver,
    EfiRuntimeDriver,
    EfiRom,
    Xbox,
    WindowsBootApplication,
    Unknown,
}

impl Subsystem {
    pub fn from_header(subsystem: pe::Subsystem) -> Subsystem {
        match subsystem {
            pe::IMAGE_SUBSYSTEM_NATIVE => Subsystem::Native,
            pe::IMAGE_SUBSYSTEM_WINDOWS_GUI => Subsystem::Windows,
            pe::IMAGE_SUBSYSTEM_WINDOWS_CUI => Subsystem::Console,
            pe::IMAGE_SUBSYSTEM_OS2_CUI => Subsystem::Os2Console,
            pe::IMAGE_SUBSYSTEM_POSIX_CUI => Subsystem::PosixConsole,
            pe::IMAGE_SUBSYSTEM_NATIVE_WINDOWS => Subsystem::NativeWindows,
            pe::IMAGE_SUBSYSTEM_WINDOWS_CE_GUI => Subsystem::WindowsCe,
            pe::IMAGE_SUBSYSTEM_EFI_APPLICATION => Subsystem::EfiApplication,
            pe::IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER => Subsystem::EfiBootServiceDriver,
            pe::IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER => Subsystem::EfiRuntimeDriver,
            pe::IMAGE_SUBSYSTEM_EFI_ROM => Subsystem::EfiRom,
            pe::IMAGE_SUBSYSTEM_XBOX => Subsystem::Xbox,
            pe::IMAGE_SUBSYSTEM_WINDOWS_BOOT_APPLICATION => Subsystem::WindowsBootApplication,
            _ => Subsystem::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Subsystem::Native => "native",
            Subsystem::Windows => "windows",
            Subsystem::Console => "console",
            Subsystem::Os2Console => "os2-console",
            Subsystem::PosixConsole => "posix-console",
            Subsystem::NativeWindows => "native-windows",
            Subsystem::WindowsCe => "windows-ce",
            Subsystem::EfiApplication => "efi-application",
            Subsystem::EfiBootServiceDriver => "efi-boot-service-driver",
            Subsystem::EfiRuntimeDriver => "efi-runtime-driver",
            Subsystem::EfiRom => "efi-rom",
            Subsystem::Xbox => "xbox",
            Subsystem::WindowsBootApplication => "windows-boot-application",
            Subsystem::Unknown => "unknown",
        }
    }

    /// A user-mode Win32 program (console or GUI), whose subsystem version the loader
    /// enforces.
    pub fn is_win32(self) -> bool {
        matches!(self, Subsystem::Console | Subsystem::Windows)
    }
}

word_type!(Subsystem);

/// PE32 (32-bit optional header) or PE32+ (64-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeFormat {
    Pe32,
    Pe32Plus,
}

impl PeFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            PeFormat::Pe32 => "PE32",
            PeFormat::Pe32Plus => "PE32+",
        }
    }
}

word_type!(PeFormat);

/// One imported function. Serialized as its name, or `#N` for ordinal N.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImportedFunction {
    /// Shared by every thunk of the file that points at the same name.
    Name(std::sync::Arc<str>),
    Ordinal(u16),
}

impl ImportedFunction {
    /// The name, for imports by name.
    pub fn name(&self) -> Option<&str> {
        match self {
            ImportedFunction::Name(n) => Some(n),
            ImportedFunction::Ordinal(_) => None,
        }
    }
}

impl fmt::Display for ImportedFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportedFunction::Name(n) => f.write_str(n),
            ImportedFunction::Ordinal(o) => write!(f, "#{o}"),
        }
    }
}

impl Serialize for ImportedFunction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Straight to the serializer: names are most of a JSON report.
            ImportedFunction::Name(n) => s.serialize_str(n),
            ImportedFunction::Ordinal(_) => s.collect_str(self),
        }
    }
}
