//! Speed of the PE reader and of a whole `check`, on the committed fixtures.
//! Run: `cargo bench --bench check`. Goals (2-core CI machine, release build):
//! reading one fixture's tables well under 50 µs; checking a C++ exe with its MinGW
//! runtime closure (24 MB libstdc++-6.dll included) under 10 ms, thanks to the memory map.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["fixtures/pe", "fixtures/msvc"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn time<F: FnMut()>(name: &str, iterations: u32, mut f: F) -> Duration {
    f(); // warm up
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per = start.elapsed() / iterations;
    println!("{name:<48} {:>10.1} µs/iter", per.as_secs_f64() * 1e6);
    per
}

fn main() {
    let files = fixtures();
    let bytes: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap_or_default()))
        .collect();
    time("pe::parse, every fixture (in memory)", 2000, || {
        for (p, b) in &bytes {
            let _ = std::hint::black_box(cargo_winpkg::pe::parse(p, b));
        }
    });
    time("pe::read_file, every fixture (mmap)", 500, || {
        for p in &files {
            let _ = std::hint::black_box(cargo_winpkg::pe::read_file(p));
        }
    });
    let cpp = Path::new("fixtures/pe/cpp-hello-x64.exe").to_path_buf();
    let runtime = cargo_winpkg::package::bundle::mingw_runtime_dirs(
        &cargo_winpkg::target::Target::new("x86_64-pc-windows-gnu"),
    );
    let opts = cargo_winpkg::CheckOptions {
        dll_dirs: runtime,
        ..Default::default()
    };
    time(
        "check cpp-hello-x64.exe + MinGW runtime closure",
        200,
        || {
            let _ = std::hint::black_box(cargo_winpkg::check(std::slice::from_ref(&cpp), &opts));
        },
    );
}
