//! cargo-winpkg: package Rust crates as Windows deliverables, and check that any PE
//! file's DLLs will be there on a clean Windows.
//!
//! The data flows one way (the book's "Architecture" chapter): `Cargo.toml` -> [`config`] ->
//! [`pipeline`] (plan, build) -> [`pe`] facts -> [`check`] (with [`dlls`]) ->
//! diagnostics -> [`report`]; the pipeline then stages and writes the [`package`], whose
//! [`service`] files come from the service model; [`verify`] reads a package back.
//! The library never writes to the terminal: it reports progress through
//! [`events::Listener`].

pub mod archive;
pub mod autostart;
pub mod check;
pub mod config;
pub mod dlls;
pub mod error;
pub mod events;
pub mod init;
pub mod package;
pub mod pe;
pub mod pipeline;
pub mod report;
pub mod script;
pub mod target;
pub mod verify;
mod words;

pub use words::UnknownWord;

pub use check::{CheckOptions, Report, check};
pub use error::Error;
