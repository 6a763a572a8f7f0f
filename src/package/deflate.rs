//! Writing the zip itself: local headers, deflated data, the central directory.
//!
//! An entry is deflated on every core, pigz-style: it is cut into 32 KiB pieces, each
//! compressed on its own with the previous piece as its dictionary and ended with a
//! sync flush (the last with the final block), so the pieces concatenate into one
//! deflate stream. The CRC-32 of each piece is combined in order. The piece size is
//! fixed, so the bytes do not depend on the number of cores.
//!
//! 32 KiB is an MSZIP block's size: a piece with an empty final block after it is a
//! cabinet data block (each primed with the 32 KiB before it, as MSZIP's are), so the
//! MSI's cabinet is made of the zip's compressed bytes instead of compressing every
//! file a second time. Each entry's piece lengths are kept for that ([`Pieces`]).
//!
//! What this writer does not do: ZIP64. An entry or a zip of 4 GiB or more, or more
//! than 65,535 entries, is an error (a Windows exe cannot reach that size).

use std::io::{Read, Seek, SeekFrom, Write};

use flate2::{Compress, Compression, FlushCompress, Status};
use rayon::prelude::*;

/// The size of the pieces an entry is cut into: an MSZIP block's.
pub const PIECE: usize = 32 * 1024;
/// How many pieces are read ahead and compressed at once: 64 per core (2 MiB), at most
/// 512 (memory stays about twice that many times 32 KiB).
fn batch_len() -> usize {
    (rayon::current_num_threads() * 64).clamp(64, 512)
}

/// Each file entry's compressed piece lengths, by entry name.
pub type Pieces = std::collections::BTreeMap<String, Vec<u32>>;
/// The deflate window: how much of the previous piece primes the next.
const WINDOW: usize = 32 * 1024;
const LEVEL: u32 = 6;

/// Why an entry could not be added: its source could not be read, or the zip could
/// not be written.
#[derive(Debug)]
pub enum Failed {
    Read(std::io::Error),
    Write(std::io::Error),
}

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Failed {
        Failed::Write(e)
    }
}

/// An entry's metadata, kept for the central directory.
struct Entry {
    name: Vec<u8>,
    method: u16,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
    external: u32,
}

/// A zip being written to `out`, which must start empty.
pub struct ZipOut<W: Write + Seek> {
    out: W,
    pos: u64,
    entries: Vec<Entry>,
    pieces: Pieces,
    time: u16,
    date: u16,
}

fn too_big(what: &str) -> std::io::Error {
    std::io::Error::other(format!(
        "{what} reaches 4 GiB, which needs ZIP64, which this tool does not write"
    ))
}

fn fits(v: u64, what: &str) -> std::io::Result<u32> {
    u32::try_from(v)
        .ok()
        .filter(|&v| v != u32::MAX)
        .ok_or_else(|| too_big(what))
}

/// General purpose flag bit 11: the name is UTF-8.
fn flags(name: &str) -> u16 {
    if name.is_ascii() { 0 } else { 0x0800 }
}

const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
/// The MS-DOS directory attribute.
const DOS_DIR: u32 = 0x10;
/// Version 2.0 (deflate, folders), made on Unix (so the mode bits are read).
const NEEDED: u16 = 20;
const MADE_BY: u16 = (3 << 8) | NEEDED;

impl<W: Write + Seek> ZipOut<W> {
    pub fn new(out: W, mtime: zip::DateTime) -> ZipOut<W> {
        ZipOut {
            out,
            pos: 0,
            entries: Vec::new(),
            pieces: Pieces::new(),
            time: mtime.timepart(),
            date: mtime.datepart(),
        }
    }

    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.out.write_all(b)?;
        self.pos += b.len() as u64;
        Ok(())
    }

    /// The local header; crc and sizes are filled in after the data.
    fn local_header(&mut self, name: &str, method: u16) -> std::io::Result<()> {
        let name_len = u16::try_from(name.len())
            .map_err(|_| std::io::Error::other(format!("the name `{name}` is too long")))?;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&NEEDED.to_le_bytes());
        h.extend_from_slice(&flags(name).to_le_bytes());
        h.extend_from_slice(&method.to_le_bytes());
        h.extend_from_slice(&self.time.to_le_bytes());
        h.extend_from_slice(&self.date.to_le_bytes());
        h.extend_from_slice(&[0; 12]);
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        self.put(&h)
    }

    /// A folder entry (`name` ends with `/`).
    pub fn add_dir(&mut self, name: &str, mode: u32) -> std::io::Result<()> {
        let offset = fits(self.pos, "the zip")?;
        self.local_header(name, 0)?;
        self.entries.push(Entry {
            name: name.as_bytes().to_vec(),
            method: 0,
            crc: 0,
            compressed: 0,
            size: 0,
            offset,
            external: ((S_IFDIR | mode) << 16) | DOS_DIR,
        });
        Ok(())
    }

    /// A file entry, deflated from `data`.
    pub fn add_file(&mut self, name: &str, mode: u32, data: &mut dyn Read) -> Result<(), Failed> {
        let offset = self.pos;
        let offset32 = fits(offset, "the zip")?;
        self.local_header(name, 8)?;
        let start = self.pos;
        let (crc, size, pieces) = self.deflate(data)?;
        self.pieces.insert(name.to_string(), pieces);
        let compressed = fits(self.pos - start, name)?;
        let size = fits(size, name)?;
        let mut fields = Vec::with_capacity(12);
        fields.extend_from_slice(&crc.to_le_bytes());
        fields.extend_from_slice(&compressed.to_le_bytes());
        fields.extend_from_slice(&size.to_le_bytes());
        self.out.seek(SeekFrom::Start(offset + 14))?;
        self.out.write_all(&fields)?;
        self.out.seek(SeekFrom::Start(self.pos))?;
        self.entries.push(Entry {
            name: name.as_bytes().to_vec(),
            method: 8,
            crc,
            compressed,
            size,
            offset: offset32,
            external: (S_IFREG | mode) << 16,
        });
        Ok(())
    }

    /// Deflate `data` in batches of pieces compressed in parallel; (crc, size, each
    /// piece's compressed length).
    fn deflate(&mut self, data: &mut dyn Read) -> Result<(u32, u64, Vec<u32>), Failed> {
        let mut crc = crc32fast::Hasher::new();
        let mut size = 0u64;
        let mut lengths = Vec::new();
        let mut window: Vec<u8> = Vec::new();
        let mut next = read_piece(data).map_err(Failed::Read)?;
        let batch_len = batch_len();
        loop {
            // A batch of pieces; the piece after it is read too, to know which is last.
            let mut batch = Vec::with_capacity(batch_len);
            while batch.len() < batch_len && !next.is_empty() {
                let piece = std::mem::replace(&mut next, read_piece(data).map_err(Failed::Read)?);
                batch.push(piece);
            }
            let last = next.is_empty();
            let n = batch.len();
            let dicts: Vec<&[u8]> = (0..n)
                .map(|i| match i {
                    0 => window.as_slice(),
                    _ => tail(&batch[i - 1]),
                })
                .collect();
            let done: Vec<_> = (0..n.max(1))
                .into_par_iter()
                .map(|i| {
                    let piece = batch.get(i).map_or(&[][..], Vec::as_slice);
                    let finish = last && i + 1 >= n;
                    compress(piece, dicts.get(i).copied().unwrap_or(&[]), finish)
                })
                .collect();
            for out in done {
                let (bytes, piece_crc) = out?;
                self.put(&bytes)?;
                crc.combine(&piece_crc);
                lengths.push(u32::try_from(bytes.len()).map_err(|_| too_big("a piece"))?);
            }
            size += batch.iter().map(|p| p.len() as u64).sum::<u64>();
            if last {
                return Ok((crc.finalize(), size, lengths));
            }
            window = tail(batch.last().map_or(&[][..], Vec::as_slice)).to_vec();
        }
    }

    /// Write the central directory and the end record; the writer back, with each
    /// file entry's piece lengths.
    pub fn finish(mut self) -> std::io::Result<(W, Pieces)> {
        let start = fits(self.pos, "the zip")?;
        let count = u16::try_from(self.entries.len())
            .ok()
            .filter(|&n| n != u16::MAX)
            .ok_or_else(|| std::io::Error::other("more than 65,534 entries need ZIP64"))?;
        let mut cd = Vec::new();
        for e in &self.entries {
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&MADE_BY.to_le_bytes());
            cd.extend_from_slice(&NEEDED.to_le_bytes());
            let name = String::from_utf8_lossy(&e.name);
            cd.extend_from_slice(&flags(&name).to_le_bytes());
            cd.extend_from_slice(&e.method.to_le_bytes());
            cd.extend_from_slice(&self.time.to_le_bytes());
            cd.extend_from_slice(&self.date.to_le_bytes());
            cd.extend_from_slice(&e.crc.to_le_bytes());
            cd.extend_from_slice(&e.compressed.to_le_bytes());
            cd.extend_from_slice(&e.size.to_le_bytes());
            // Names were checked to fit a u16 by their local header.
            cd.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            // Extra field, comment, disk number, internal attributes.
            cd.extend_from_slice(&[0; 8]);
            cd.extend_from_slice(&e.external.to_le_bytes());
            cd.extend_from_slice(&e.offset.to_le_bytes());
            cd.extend_from_slice(&e.name);
        }
        let cd_len = fits(cd.len() as u64, "the central directory")?;
        self.put(&cd)?;
        fits(self.pos + 22, "the zip")?;
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        end.extend_from_slice(&[0; 4]);
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&cd_len.to_le_bytes());
        end.extend_from_slice(&start.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.put(&end)?;
        Ok((self.out, self.pieces))
    }
}

/// The last 32 KiB of a piece (or all of it).
fn tail(piece: &[u8]) -> &[u8] {
    &piece[piece.len().saturating_sub(WINDOW)..]
}

/// Read up to one piece; empty at the end.
fn read_piece(data: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(PIECE);
    data.take(PIECE as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Deflate one piece, primed with `dict`, ended with a sync flush or (`finish`) the
/// final block; the bytes and the piece's CRC.
fn compress(
    piece: &[u8],
    dict: &[u8],
    finish: bool,
) -> std::io::Result<(Vec<u8>, crc32fast::Hasher)> {
    let mut c = Compress::new(Compression::new(LEVEL), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(std::io::Error::other)?;
    }
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(piece.len() / 2 + 1024);
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = usize::try_from(c.total_in()).unwrap_or(piece.len());
        let status = c
            .compress_vec(&piece[consumed.min(piece.len())..], &mut out, flush)
            .map_err(std::io::Error::other)?;
        let all_in = usize::try_from(c.total_in()).unwrap_or(0) >= piece.len();
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            // A sync flush is complete when it did not fill the output.
            _ => all_in && out.len() < out.capacity(),
        };
        if done {
            break;
        }
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(piece);
    Ok((out, crc))
}
