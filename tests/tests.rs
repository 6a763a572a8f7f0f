//! The integration tests, one binary (as ripgrep does): a change to the library links
//! one test program instead of one per file. Each module is one area; `common` holds
//! the helpers they share. The Wine tests are a second binary (tests/wine/main.rs):
//! they start Wine prefixes, and run after these rather than among their builds.

mod common;

mod archives;
mod build;
mod check;
mod differential;
mod docs;
mod hostile;
mod hygiene;
mod init;
mod malformed;
mod msi_rules;
mod package;
mod prebuilt;
mod ps1_syntax;
mod publish;
mod service_scripts;
mod sign;
mod stamp;
mod verify;
