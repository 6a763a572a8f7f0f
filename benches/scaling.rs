//! `check` must stay linear in the size of what it reads, however a file is shaped.
//! Run: `cargo bench --bench scaling`. It synthesizes PE files with 25k to 200k imported
//! DLL names (tests/common/synth.rs) and times a whole check of each in-process; the
//! time per DLL must stay flat (a quadratic step would make the 200k file 64 times
//! slower than the 25k one instead of 8). Measured on the 2-core CI machine: see
//! BENCHMARKS.md.

#[path = "../tests/common/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::time::Instant;

use cargo_winpkg::check::{CheckOptions, check};

fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut first = None;
    println!("{:>8}  {:>9}  {:>10}", "DLLs", "seconds", "µs per DLL");
    for n in [25_000usize, 50_000, 100_000, 200_000] {
        let path = dir.path().join(format!("dlls{n}.exe"));
        std::fs::write(&path, synth::many_dlls(n)).expect("write the file");
        let start = Instant::now();
        let report = check(std::slice::from_ref(&path), &CheckOptions::default());
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(report.files[0].imports.len(), n);
        let per = secs * 1e6 / n as f64;
        println!("{n:>8}  {secs:>9.3}  {per:>10.2}");
        let base = *first.get_or_insert(per);
        if per > base * 3.0 {
            eprintln!("not linear: {per:.2} µs per DLL at {n}, {base:.2} at 25k");
            std::process::exit(1);
        }
    }
}
