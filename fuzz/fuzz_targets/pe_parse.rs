//! Any bytes into the PE reader: Ok or Err, never a panic, a hang or unbounded memory.
//! Run: `cargo +nightly fuzz run pe_parse fuzz/corpus/pe_parse ../fixtures/pe` (from fuzz/..).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cargo_winpkg::pe::parse(std::path::Path::new("fuzz.exe"), data);
});
