//! Synthesized PE32+ images with import tables of any shape: thousands of DLLs, or
//! thousands of thunks that all point at one long name. Attack inputs too large or
//! too regular to commit are made here (the benches include this file too).

/// One import descriptor: a DLL name, and its thunks, each the index of a hint/name
/// entry (so many thunks may share one).
pub struct SynthDll {
    pub name: Vec<u8>,
    pub thunks: Vec<usize>,
}

const SECTION_RVA: u32 = 0x1000;
const FILE_ALIGN: u32 = 0x200;

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn align(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

/// An x64 console exe whose only section holds an import table with `dlls`, naming
/// functions from `names`.
pub fn pe64(dlls: &[SynthDll], names: &[Vec<u8>]) -> Vec<u8> {
    // The section: descriptors, DLL names, thunk arrays, hint/name entries.
    let mut sec: Vec<u8> = vec![0; (dlls.len() + 1) * 20];
    let mut name_rvas = Vec::new();
    for d in dlls {
        name_rvas.push(SECTION_RVA + sec.len() as u32);
        sec.extend_from_slice(&d.name);
        sec.push(0);
    }
    while !sec.len().is_multiple_of(8) {
        sec.push(0);
    }
    // Hint/name entries come last; their offsets are known once the thunks are laid out.
    let thunk_bytes: usize = dlls.iter().map(|d| (d.thunks.len() + 1) * 8).sum();
    let hint_base = sec.len() + thunk_bytes;
    let mut hint_rvas = Vec::new();
    let mut off = hint_base;
    for n in names {
        hint_rvas.push(SECTION_RVA + off as u32);
        off += (2 + n.len() + 1).next_multiple_of(2);
    }
    let mut thunk_rvas = Vec::new();
    for d in dlls {
        thunk_rvas.push(if d.thunks.is_empty() {
            0
        } else {
            SECTION_RVA + sec.len() as u32
        });
        for &t in &d.thunks {
            sec.extend_from_slice(&u64::from(hint_rvas[t]).to_le_bytes());
        }
        sec.extend_from_slice(&[0; 8]);
    }
    for n in names {
        sec.extend_from_slice(&[0, 0]);
        sec.extend_from_slice(n);
        sec.push(0);
        if !sec.len().is_multiple_of(2) {
            sec.push(0);
        }
    }
    for (i, _) in dlls.iter().enumerate() {
        let at = i * 20;
        put32(&mut sec, at, thunk_rvas[i]); // OriginalFirstThunk
        put32(&mut sec, at + 12, name_rvas[i]); // Name
        put32(&mut sec, at + 16, thunk_rvas[i]); // FirstThunk
    }
    image(&sec, (dlls.len() as u32 + 1) * 20)
}

/// Headers for one section `.idata` with `sec` as its data and the import directory at
/// its start.
fn image(sec: &[u8], import_size: u32) -> Vec<u8> {
    let raw_size = align(sec.len() as u32, FILE_ALIGN);
    let headers = FILE_ALIGN as usize;
    let mut b = vec![0u8; headers + raw_size as usize];
    b[0..2].copy_from_slice(b"MZ");
    put32(&mut b, 0x3c, 0x40);
    b[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    put16(&mut b, coff, 0x8664);
    put16(&mut b, coff + 2, 1); // sections
    put16(&mut b, coff + 16, 240); // optional header size
    put16(&mut b, coff + 18, 0x0022); // executable, large address aware
    let opt = coff + 20;
    put16(&mut b, opt, 0x20b);
    put32(&mut b, opt + 16, SECTION_RVA); // entry point
    put32(&mut b, opt + 20, SECTION_RVA); // base of code
    put64(&mut b, opt + 24, 0x1_4000_0000); // image base
    put32(&mut b, opt + 32, 0x1000); // section alignment
    put32(&mut b, opt + 36, FILE_ALIGN);
    put16(&mut b, opt + 40, 6); // OS version 6.0
    put16(&mut b, opt + 48, 6); // subsystem version 6.0
    put32(
        &mut b,
        opt + 56,
        SECTION_RVA + align(sec.len() as u32, 0x1000),
    ); // image size
    put32(&mut b, opt + 60, FILE_ALIGN); // headers size
    put16(&mut b, opt + 68, 3); // console
    put16(&mut b, opt + 70, 0x8160); // ASLR, HEVA, DEP, TS-aware
    put64(&mut b, opt + 72, 0x10_0000);
    put64(&mut b, opt + 80, 0x1000);
    put64(&mut b, opt + 88, 0x10_0000);
    put64(&mut b, opt + 96, 0x1000);
    put32(&mut b, opt + 108, 16); // data directories
    put32(&mut b, opt + 112 + 8, SECTION_RVA); // import directory
    put32(&mut b, opt + 112 + 12, import_size);
    let sh = opt + 240;
    b[sh..sh + 8].copy_from_slice(b".idata\0\0");
    put32(&mut b, sh + 8, sec.len() as u32);
    put32(&mut b, sh + 12, SECTION_RVA);
    put32(&mut b, sh + 16, raw_size);
    put32(&mut b, sh + 20, FILE_ALIGN);
    put32(&mut b, sh + 36, 0xC000_0040);
    b[headers..headers + sec.len()].copy_from_slice(sec);
    b
}

/// `n` DLLs named `dll00000.dll`... with no functions each.
pub fn many_dlls(n: usize) -> Vec<u8> {
    let dlls: Vec<SynthDll> = (0..n)
        .map(|i| SynthDll {
            name: format!("dll{i:06}.dll").into_bytes(),
            thunks: Vec::new(),
        })
        .collect();
    pe64(&dlls, &[])
}

/// One DLL whose `thunks` thunks all name one function of `name_len` bytes.
pub fn one_name_many_thunks(name_len: usize, thunks: usize) -> Vec<u8> {
    let dlls = [SynthDll {
        name: b"amplify.dll".to_vec(),
        thunks: vec![0; thunks],
    }];
    pe64(&dlls, &[vec![b'f'; name_len]])
}

/// As [`pe64`], but with the DLL names and hint/name entries in a second section
/// (`.rdata`) apart from the import directory and thunks (`.idata`), as linkers do when
/// a DLL is renamed after linking: every RVA must be resolved through the section table.
pub fn pe64_split(dlls: &[SynthDll], names: &[Vec<u8>]) -> Vec<u8> {
    // Section 2 first: its layout gives the RVAs section 1 points at.
    let desc_len = (dlls.len() + 1) * 20;
    let thunk_bytes: usize = dlls.iter().map(|d| (d.thunks.len() + 1) * 8).sum();
    let sec1_len = desc_len + thunk_bytes;
    let sec2_rva = SECTION_RVA + align(sec1_len as u32, 0x1000);
    let mut sec2 = Vec::new();
    let mut name_rvas = Vec::new();
    for d in dlls {
        name_rvas.push(sec2_rva + sec2.len() as u32);
        sec2.extend_from_slice(&d.name);
        sec2.push(0);
    }
    let mut hint_rvas = Vec::new();
    for n in names {
        if !sec2.len().is_multiple_of(2) {
            sec2.push(0);
        }
        hint_rvas.push(sec2_rva + sec2.len() as u32);
        sec2.extend_from_slice(&[0, 0]);
        sec2.extend_from_slice(n);
        sec2.push(0);
    }
    let mut sec1 = vec![0u8; desc_len];
    for (i, d) in dlls.iter().enumerate() {
        let thunks = if d.thunks.is_empty() {
            0
        } else {
            SECTION_RVA + sec1.len() as u32
        };
        for &t in &d.thunks {
            sec1.extend_from_slice(&u64::from(hint_rvas[t]).to_le_bytes());
        }
        sec1.extend_from_slice(&[0; 8]);
        put32(&mut sec1, i * 20, thunks);
        put32(&mut sec1, i * 20 + 12, name_rvas[i]);
        put32(&mut sec1, i * 20 + 16, thunks);
    }
    let mut b = image(&sec1, desc_len as u32);
    // Append the second section: raw data after the first, a header after the first.
    let raw1 = align(sec1.len() as u32, FILE_ALIGN);
    let raw2 = align(sec2.len() as u32, FILE_ALIGN);
    let coff = 0x44;
    put16(&mut b, coff + 2, 2);
    let opt = coff + 20;
    put32(
        &mut b,
        opt + 56,
        sec2_rva + align(sec2.len() as u32, 0x1000),
    );
    let sh = opt + 240 + 40;
    b[sh..sh + 8].copy_from_slice(b".rdata\0\0");
    put32(&mut b, sh + 8, sec2.len() as u32);
    put32(&mut b, sh + 12, sec2_rva);
    put32(&mut b, sh + 16, raw2);
    put32(&mut b, sh + 20, FILE_ALIGN + raw1);
    put32(&mut b, sh + 36, 0x4000_0040);
    let start = b.len();
    b.resize(start + raw2 as usize, 0);
    b[start..start + sec2.len()].copy_from_slice(&sec2);
    b
}
