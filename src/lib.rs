//! cargo-winpkg: package Rust crates as Windows deliverables, and check that any PE
//! file's DLLs will be there on a clean Windows.
//!
//! The data flows one way: PE file -> [`pe::Facts`] -> [`classify`] -> [`policy`]
//! diagnostics -> [`report`] renderers. [`check::check`] runs the whole chain.

pub mod assemble;
pub mod build;
pub mod bundle;
pub mod cargo;
pub mod check;
pub mod classify;
pub mod cli;
pub mod config;
pub mod init;
pub mod package;
pub mod pe;
pub mod policy;
pub mod preflight;
pub mod report;
pub mod service;
pub mod verify;
pub mod wine;

pub use check::{CheckOptions, Report, check};
