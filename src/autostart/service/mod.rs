//! The Windows service a package installs: the validated model, and the scripts made
//! from it for cmd.exe and PowerShell. (service.json is written by `package::manifest`.)

pub mod cmd;
pub mod model;
pub mod ps1;
mod validate;

pub use model::*;
pub use validate::{
    Invalid, NOT_A_SERVICE, from_config, looks_relative, names_shipped, parse_duration_ms, settle,
    validate,
};
