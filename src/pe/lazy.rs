//! A PE file read a block at a time, only where the reader looks.
//!
//! Checking a folder of PE files touches a few kilobytes of each (headers, import
//! tables, names, the resource directory). Mapping every file costs a page fault per
//! touched page and an unmap with TLB shootdowns across threads per file, which is most
//! of the time on a folder of hundreds of DLLs. Reading the touched 4 KiB blocks with
//! `pread` costs a copy from the page cache and nothing else.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;

use object::ReadRef;

/// Blocks are this size and aligned to it (larger when one read asks for more).
const BLOCK: u64 = 4 * 1024;

/// A file and the pieces of it read so far. Pieces are never changed or dropped before
/// the file is, so slices into them live as long as it does.
pub struct Lazy {
    file: File,
    len: u64,
    pieces: RefCell<Pieces>,
}

/// Pieces read, each a run of whole blocks, and for every block the piece holding it
/// that reaches furthest: finding the piece for a read is one lookup, however many
/// pieces a (crafted) file makes the reader load.
#[derive(Default)]
struct Pieces {
    read: Vec<(u64, Box<[u8]>)>,
    by_block: HashMap<u64, usize>,
}

impl Lazy {
    pub fn new(file: File, len: u64) -> Lazy {
        Lazy {
            file,
            len,
            pieces: RefCell::new(Pieces::default()),
        }
    }

    /// The bytes `start..end`, if a piece read before holds them. Every piece starts on
    /// a block boundary, so one that holds `start` holds the start of its block, and
    /// the one registered for that block reaches furthest.
    fn cached(&self, start: u64, end: u64) -> Option<&[u8]> {
        let pieces = self.pieces.borrow();
        let &i = pieces.by_block.get(&(start / BLOCK))?;
        let (at, b) = pieces.read.get(i)?;
        if !(*at <= start && end <= at + b.len() as u64) {
            return None;
        }
        let slice: &[u8] = &b[(start - at) as usize..(end - at) as usize];
        // SAFETY: the slice points into a boxed piece, whose heap bytes do not move when
        // the vector of pieces grows and are never written or freed before `self` is.
        Some(unsafe { &*std::ptr::from_ref::<[u8]>(slice) })
    }

    /// Read `start..end` (`start` on a block boundary) into a new piece.
    fn load(&self, start: u64, end: u64) -> Result<(), ()> {
        let size = usize::try_from(end - start).map_err(|_| ())?;
        let mut buf = Vec::new();
        buf.try_reserve_exact(size).map_err(|_| ())?;
        buf.resize(size, 0);
        read_exact_at(&self.file, &mut buf, start).map_err(|_| ())?;
        let mut pieces = self.pieces.borrow_mut();
        let i = pieces.read.len();
        pieces.read.push((start, buf.into_boxed_slice()));
        for block in start / BLOCK..end.div_ceil(BLOCK) {
            let further = match pieces.by_block.get(&block) {
                Some(&j) => pieces.read[j].0 + (pieces.read[j].1.len() as u64) < end,
                None => true,
            };
            if further {
                pieces.by_block.insert(block, i);
            }
        }
        Ok(())
    }
}

impl super::authenticode::Bytes for Lazy {
    fn size(&self) -> u64 {
        self.len
    }

    fn range(&self, off: u64, size: u64) -> Option<&[u8]> {
        self.read_bytes_at(off, size).ok()
    }

    /// Read in 1 MiB pieces into one buffer, not kept: hashing a 2 GiB signed exe costs
    /// 1 MiB.
    fn stream(&self, from: u64, to: u64, f: &mut dyn FnMut(&[u8])) -> bool {
        if from > to || to > self.len {
            return false;
        }
        let mut buf = vec![0u8; 1 << 20];
        let mut at = from;
        while at < to {
            let n = (to - at).min(buf.len() as u64) as usize;
            if read_exact_at(&self.file, &mut buf[..n], at).is_err() {
                return false;
            }
            f(&buf[..n]);
            at += n as u64;
        }
        true
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, at) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl<'a> ReadRef<'a> for &'a Lazy {
    fn len(self) -> Result<u64, ()> {
        Ok(self.len)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        let end = offset.checked_add(size).ok_or(())?;
        if end > self.len {
            return Err(());
        }
        if let Some(b) = self.cached(offset, end) {
            return Ok(b);
        }
        let start = offset - offset % BLOCK;
        let stop = end.div_ceil(BLOCK).saturating_mul(BLOCK).min(self.len);
        self.load(start, stop)?;
        self.cached(offset, end).ok_or(())
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        if range.start >= range.end || range.end > self.len {
            return Err(());
        }
        // Look in one block's worth, then in four times as much, up to the range's end.
        let mut want = BLOCK - range.start % BLOCK;
        loop {
            let size = want.min(range.end - range.start);
            let b = self.read_bytes_at(range.start, size)?;
            if let Some(i) = b.iter().position(|&c| c == delimiter) {
                return Ok(&b[..i]);
            }
            if size == range.end - range.start {
                return Err(());
            }
            want = want.saturating_mul(4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_a_slice() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut tmp, &bytes).unwrap();
        let lazy = Lazy::new(tmp.reopen().unwrap(), bytes.len() as u64);
        let l = &lazy;
        let s = bytes.as_slice();
        for (off, size) in [
            (0, 10),
            (16_380, 10),
            (5, 40_000),
            (99_990, 10),
            (0, 100_000),
        ] {
            assert_eq!(l.read_bytes_at(off, size), s.read_bytes_at(off, size));
        }
        assert!(l.read_bytes_at(99_995, 10).is_err());
        assert!(l.read_bytes_at(u64::MAX, 2).is_err());
        for (range, d) in [(0..100_000, 250u8), (16_000..20_000, 7), (300..400, 0)] {
            assert_eq!(
                l.read_bytes_at_until(range.clone(), d),
                s.read_bytes_at_until(range, d)
            );
        }
        assert!(l.read_bytes_at_until(0..100_001, 1).is_err());
        assert_eq!(l.len(), Ok(100_000));
    }
}
