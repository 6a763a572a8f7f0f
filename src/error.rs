//! The library's errors, one type per layer, and the one table that maps them to exit
//! codes (the contract CI relies on: 0 ok, 1 findings, 2 usage or input errors, and
//! cargo's own code when cargo fails).

use crate::check::InputError;
use crate::init::InitError;
use crate::pipeline::BuildError;
use crate::verify::VerifyError;

/// Exit code for findings: an error-level diagnostic, or a failed verify step.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code for usage and input errors.
pub const EXIT_USAGE: u8 = 2;

/// Arguments clap accepts that the command cannot use: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("{0}")]
    MinWindows(#[from] crate::dlls::UnknownRelease),
    #[error("{0}")]
    Allow(#[from] crate::check::policy::BadPattern),
    #[error("{0}")]
    Code(#[from] crate::check::codes::UnknownCode),
    #[error("{0}")]
    Host(#[source] crate::UnknownWord),
    #[error("--dll-dir {}: not a folder", .0.display())]
    DllDirNotAFolder(std::path::PathBuf),
    /// `check` on an archive that cannot be unpacked safely.
    #[error("{0}")]
    Archive(#[from] crate::archive::ArchiveError),
    /// The report could not be written to stdout (not a closed pipe: that is quiet).
    #[error("cannot write the report: {0}")]
    WriteReport(std::io::Error),
}

/// Any error a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Build(Box<BuildError>),
    #[error("{}", crate::check::describe_input_errors(.0))]
    Check(Vec<InputError>),
    #[error("{0}")]
    Verify(#[from] VerifyError),
    #[error("{0}")]
    Init(Box<InitError>),
    /// Arguments that parse but make no sense (`--dll-dir` that is not a folder...).
    #[error("{0}")]
    Usage(#[from] UsageError),
    /// The reader of our output went away (`| head`): not worth a message.
    #[error("the output was closed")]
    OutputClosed,
}

impl From<BuildError> for Error {
    fn from(e: BuildError) -> Error {
        Error::Build(Box::new(e))
    }
}

impl From<InitError> for Error {
    fn from(e: InitError) -> Error {
        Error::Init(Box::new(e))
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            // Cargo already said why; pass its code on.
            Error::Build(e) => match **e {
                BuildError::Cargo(code) => u8::try_from(code).unwrap_or(101),
                _ => EXIT_USAGE,
            },
            _ => EXIT_USAGE,
        }
    }

    /// Whether the message was already printed (by cargo) and need not be repeated.
    pub fn already_reported(&self) -> bool {
        match self {
            Error::Build(e) => matches!(**e, BuildError::Cargo(_)),
            Error::OutputClosed => true,
            _ => false,
        }
    }
}
