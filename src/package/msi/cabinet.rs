//! The MSI's cabinet, written here, of MSZIP blocks (32 KiB each, every block its own
//! deflate stream primed with the 32 KiB before it).
//!
//! - From the zip's own compressed bytes ([`write_shared`]): the zip's writer deflates
//!   each file in 32 KiB pieces primed with the piece before, ended by sync flushes;
//!   a piece followed by an empty final block is an MSZIP block. Each file is then a
//!   folder of its own (MSZIP's history runs across a folder's files, the zip's pieces
//!   start with each file), and the cabinet costs a copy, not a second compression.
//! - Compressed here ([`write`]), when the pieces are not known (a zip from elsewhere):
//!   one folder, blocks compressed on every core; the result does not depend on how
//!   many there are.
//!
//! Files are streamed in: memory stays at a batch of blocks whatever their size.

use std::io::{Read, Seek, SeekFrom, Write};

use md5::Digest as _;
use rayon::prelude::*;

/// The expanded size of an MSZIP block.
const BLOCK: usize = 32 * 1024;
/// Blocks compressed at once (2 MiB).
const BATCH: usize = 64;
/// zlib's level, as for the zip: measured on the 100 MiB benchmark exe, level 1 saves
/// 0.4 s and makes the MSI 28% larger.
const LEVEL: u32 = 6;

/// One file going into the cabinet.
pub(super) struct CabInput<'a> {
    /// Its name in the cabinet (the File table's key).
    pub name: &'a str,
    /// Its entry in the zip.
    pub index: usize,
    pub size: u64,
    /// Cabinet date and time (DOS format).
    pub date: u16,
    pub time: u16,
}

/// The cabinet checksum of a data block (MS-CAB): the block's bytes XORed as
/// little-endian 32-bit words (the last 1-3 bytes high byte first), then the word made
/// of the packed and expanded sizes.
pub(crate) fn block_checksum(data: &[u8], packed: u16, expanded: u16) -> u32 {
    let mut sum = 0u32;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        sum ^= u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
    }
    let tail = words
        .remainder()
        .iter()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
    sum ^ tail ^ (u32::from(packed) | (u32::from(expanded) << 16))
}

/// Write the cabinet of `files` to `out`, each read from its entry of `archive`;
/// returns each file's MD5.
pub(super) fn write<W: Write + Seek, R: Read + Seek + Send>(
    out: &mut W,
    files: &[CabInput],
    archive: &mut zip::ZipArchive<R>,
) -> std::io::Result<Vec<[u8; 16]>> {
    let too_big = || std::io::Error::other("the files total more than a cabinet holds (2 GiB)");
    let total: u64 = files.iter().map(|f| f.size).sum();
    let blocks = u16::try_from(total.div_ceil(BLOCK as u64)).map_err(|_| too_big())?;
    let files_at = 36u32 + 8;
    let names: u32 = files.iter().map(|f| 16 + f.name.len() as u32 + 1).sum();
    let data_at = files_at + names;
    // CFHEADER (its total size patched at the end), one CFFOLDER, the CFFILEs.
    let mut head = Vec::with_capacity(data_at as usize);
    head.extend_from_slice(b"MSCF");
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes()); // cbCabinet, patched
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&files_at.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&[3, 1]); // version 1.3
    head.extend_from_slice(&1u16.to_le_bytes());
    let n_files = u16::try_from(files.len()).map_err(|_| too_big())?;
    head.extend_from_slice(&n_files.to_le_bytes());
    head.extend_from_slice(&[0; 6]); // flags, set id, index in set
    head.extend_from_slice(&data_at.to_le_bytes());
    head.extend_from_slice(&blocks.to_le_bytes());
    head.extend_from_slice(&1u16.to_le_bytes()); // MSZIP
    let mut offset = 0u32;
    for f in files {
        let size = u32::try_from(f.size).map_err(|_| too_big())?;
        head.extend_from_slice(&size.to_le_bytes());
        head.extend_from_slice(&offset.to_le_bytes());
        head.extend_from_slice(&0u16.to_le_bytes()); // folder 0
        head.extend_from_slice(&f.date.to_le_bytes());
        head.extend_from_slice(&f.time.to_le_bytes());
        head.extend_from_slice(&0x20u16.to_le_bytes()); // archive
        head.extend_from_slice(f.name.as_bytes());
        head.push(0);
        offset = offset.checked_add(size).ok_or_else(too_big)?;
    }
    out.write_all(&head)?;
    // The folder's bytes, file after file: read (and hashed) on one thread, a batch of
    // blocks at a time, while the previous batch is compressed on every core.
    let mut blocks = Blocks {
        out,
        dict: Vec::new(),
        written: u64::from(data_at),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
    let md5s = std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_batches(files, archive, &tx));
        let mut failed = None;
        for batch in rx {
            if let Err(e) = blocks.emit(&batch) {
                // Dropping the receiver stops the reader at its next batch.
                failed = Some(e);
                break;
            }
        }
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the cabinet's reader stopped")));
        match failed {
            Some(e) => Err(e),
            None => read,
        }
    })?;
    let size = u32::try_from(blocks.written).map_err(|_| too_big())?;
    out.seek(SeekFrom::Start(8))?;
    out.write_all(&size.to_le_bytes())?;
    out.seek(SeekFrom::End(0))?;
    Ok(md5s)
}

/// The bytes that end a piece as an MSZIP block: an empty final block (fixed Huffman
/// codes, just the end-of-block code) after the piece's sync flush.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// The cabinet of `files` made of the zip's compressed pieces (`pieces[i]`: file i's
/// piece lengths, as its zip entry holds them), a folder per file that has bytes (an
/// empty file sits at the end of the folder before it, or at the start of the first);
/// returns the MD5 of each file `md5_of` asks for. `files` must have bytes.
pub(super) fn write_shared<W: Write + Seek, R: Read + Seek>(
    out: &mut W,
    files: &[CabInput],
    pieces: &[Vec<u32>],
    archive: &mut zip::ZipArchive<R>,
    md5_of: &[bool],
) -> std::io::Result<Vec<Option<[u8; 16]>>> {
    let too_big = || std::io::Error::other("the files total more than a cabinet holds (2 GiB)");
    let folders: Vec<usize> = (0..files.len()).filter(|&i| files[i].size > 0).collect();
    let n_folders = u16::try_from(folders.len()).map_err(|_| too_big())?;
    let names: u32 = files.iter().map(|f| 16 + f.name.len() as u32 + 1).sum();
    let files_at = 36 + 8 * u32::from(n_folders);
    let mut at = u64::from(files_at + names);
    let mut folder_starts = Vec::with_capacity(folders.len());
    for &i in &folders {
        folder_starts.push(u32::try_from(at).map_err(|_| too_big())?);
        let n = pieces[i].len() as u64;
        // A block: its 8-byte header, `CK`, the piece, and the final block but for the last.
        at += pieces[i].iter().map(|&l| 10 + u64::from(l)).sum::<u64>() + 2 * n.saturating_sub(1);
    }
    let total = u32::try_from(at).map_err(|_| too_big())?;
    let mut head = Vec::with_capacity(files_at as usize + names as usize);
    head.extend_from_slice(b"MSCF");
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&total.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&files_at.to_le_bytes());
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&[3, 1]); // version 1.3
    head.extend_from_slice(&n_folders.to_le_bytes());
    let n_files = u16::try_from(files.len()).map_err(|_| too_big())?;
    head.extend_from_slice(&n_files.to_le_bytes());
    head.extend_from_slice(&[0; 6]); // flags, set id, index in set
    for (&i, start) in folders.iter().zip(&folder_starts) {
        let blocks = u16::try_from(pieces[i].len()).map_err(|_| too_big())?;
        head.extend_from_slice(&start.to_le_bytes());
        head.extend_from_slice(&blocks.to_le_bytes());
        head.extend_from_slice(&1u16.to_le_bytes()); // MSZIP
    }
    for (i, f) in files.iter().enumerate() {
        // Its folder, and where in it: its own at 0, or (empty) the end of the one
        // before (the first's start when none is before).
        let (folder, offset) = match folders.iter().rposition(|&j| j <= i) {
            Some(k) if folders[k] == i => (k, 0),
            Some(k) => (k, files[folders[k]].size),
            None => (0, 0),
        };
        head.extend_from_slice(&(f.size as u32).to_le_bytes());
        head.extend_from_slice(&(offset as u32).to_le_bytes());
        head.extend_from_slice(&(folder as u16).to_le_bytes());
        head.extend_from_slice(&f.date.to_le_bytes());
        head.extend_from_slice(&f.time.to_le_bytes());
        head.extend_from_slice(&0x20u16.to_le_bytes()); // archive
        head.extend_from_slice(f.name.as_bytes());
        head.push(0);
    }
    out.write_all(&head)?;
    for &i in &folders {
        copy_blocks(out, &files[i], &pieces[i], archive)?;
    }
    files
        .iter()
        .zip(md5_of)
        .map(|(f, &want)| {
            if want {
                md5_entry(archive, f).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect()
}

/// File `f`'s data blocks: each zip piece as an MSZIP block, with its checksum.
fn copy_blocks<W: Write, R: Read + Seek>(
    out: &mut W,
    f: &CabInput,
    pieces: &[u32],
    archive: &mut zip::ZipArchive<R>,
) -> std::io::Result<()> {
    let mut raw = archive
        .by_index_raw(f.index)
        .map_err(std::io::Error::other)?;
    let mut left = f.size;
    let mut block = Vec::with_capacity(BLOCK + 64);
    for (k, &len) in pieces.iter().enumerate() {
        block.clear();
        block.extend_from_slice(b"CK");
        let start = block.len();
        block.resize(start + len as usize, 0);
        raw.read_exact(&mut block[start..])?;
        if k + 1 < pieces.len() {
            block.extend_from_slice(&FINAL_BLOCK);
        }
        let expanded = left.min(BLOCK as u64) as u16;
        left -= u64::from(expanded);
        let packed = u16::try_from(block.len())
            .map_err(|_| std::io::Error::other("an MSZIP block past 64 KiB"))?;
        out.write_all(&block_checksum(&block, packed, expanded).to_le_bytes())?;
        out.write_all(&packed.to_le_bytes())?;
        out.write_all(&expanded.to_le_bytes())?;
        out.write_all(&block)?;
    }
    Ok(())
}

/// The MD5 of file `f`'s bytes, inflated from its zip entry.
fn md5_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    f: &CabInput,
) -> std::io::Result<[u8; 16]> {
    let mut entry = archive.by_index(f.index).map_err(std::io::Error::other)?;
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = entry.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(md5.finalize().into())
}

/// Read every file from its zip entry into batches of whole blocks (the last batch
/// may end with a partial block), sent to `tx`; each file's MD5.
fn read_batches<R: Read + Seek + Send>(
    files: &[CabInput],
    archive: &mut zip::ZipArchive<R>,
    tx: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> std::io::Result<Vec<[u8; 16]>> {
    let stopped = || std::io::Error::other("the cabinet's writer stopped");
    let mut pending: Vec<u8> = Vec::with_capacity(BLOCK * BATCH);
    let mut md5s = Vec::with_capacity(files.len());
    for f in files {
        let entry = archive.by_index(f.index).map_err(std::io::Error::other)?;
        let mut entry = entry.take(f.size);
        let mut md5 = md5::Md5::new();
        let mut got = 0u64;
        loop {
            let start = pending.len();
            pending.resize(BLOCK * BATCH, 0);
            let n = entry.read(&mut pending[start..])?;
            pending.truncate(start + n);
            md5.update(&pending[start..]);
            got += n as u64;
            if pending.len() == BLOCK * BATCH {
                let full = std::mem::replace(&mut pending, Vec::with_capacity(BLOCK * BATCH));
                tx.send(full).map_err(|_| stopped())?;
            }
            if n == 0 {
                break;
            }
        }
        if got != f.size {
            return Err(std::io::Error::other(format!(
                "`{}` has {got} bytes, not the {} its zip entry declares",
                f.name, f.size
            )));
        }
        md5s.push(md5.finalize().into());
    }
    if !pending.is_empty() {
        tx.send(pending).map_err(|_| stopped())?;
    }
    Ok(md5s)
}

/// One block as a whole deflate stream, primed with `dict`, by a compressor of its own:
/// a reset compressor keeps state from the blocks it compressed before (measured: the
/// same block came out different after others), which made the cabinet depend on how
/// the thread pool scheduled the blocks.
fn compress_block(data: &[u8], dict: &[u8]) -> std::io::Result<Vec<u8>> {
    let c = &mut flate2::Compress::new(flate2::Compression::new(LEVEL), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(std::io::Error::other)?;
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 64);
    loop {
        let consumed = usize::try_from(c.total_in())
            .unwrap_or(data.len())
            .min(data.len());
        let status = c
            .compress_vec(&data[consumed..], &mut out, flate2::FlushCompress::Finish)
            .map_err(std::io::Error::other)?;
        if status == flate2::Status::StreamEnd {
            return Ok(out);
        }
        out.reserve(16 * 1024);
    }
}

/// Writes data blocks: each 32 KiB compressed alone, primed with the 32 KiB before it.
struct Blocks<'a, W> {
    out: &'a mut W,
    /// The last block written, uncompressed.
    dict: Vec<u8>,
    written: u64,
}

impl<W: Write> Blocks<'_, W> {
    /// Compress and write `data` (whole blocks, but for the cabinet's last).
    fn emit(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let raw: Vec<&[u8]> = data.chunks(BLOCK).collect();
        let packed: Vec<Vec<u8>> = (0..raw.len())
            .into_par_iter()
            .map(|i| {
                let prev = if i == 0 {
                    self.dict.as_slice()
                } else {
                    raw[i - 1]
                };
                compress_block(raw[i], prev)
            })
            .collect::<std::io::Result<_>>()?;
        for (data, plain) in packed.iter().zip(&raw) {
            let mut block = Vec::with_capacity(data.len() + 2);
            block.extend_from_slice(b"CK");
            block.extend_from_slice(data);
            let packed_len = u16::try_from(block.len())
                .map_err(|_| std::io::Error::other("an MSZIP block past 64 KiB"))?;
            let expanded = plain.len() as u16;
            self.out
                .write_all(&block_checksum(&block, packed_len, expanded).to_le_bytes())?;
            self.out.write_all(&packed_len.to_le_bytes())?;
            self.out.write_all(&expanded.to_le_bytes())?;
            self.out.write_all(&block)?;
            self.written += 8 + block.len() as u64;
        }
        self.dict = raw.last().map(|b| b.to_vec()).unwrap_or_default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block's bytes depend on its data and the 32 KiB before it only, not on
    /// which blocks the worker compressed before (the thread pool's scheduling).
    #[test]
    fn a_block_does_not_depend_on_the_blocks_compressed_before_it() {
        // Real code: the blocks of a built exe (this test binary) compressed in two
        // orders, on the pool and on one thread, give the same bytes.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let blocks: Vec<&[u8]> = exe.chunks(BLOCK).take(200).collect();
        let pooled: Vec<Vec<u8>> = (1..blocks.len())
            .into_par_iter()
            .rev()
            .map(|i| compress_block(blocks[i], blocks[i - 1]).unwrap())
            .collect();
        for (n, i) in (1..blocks.len()).rev().enumerate() {
            let alone = compress_block(blocks[i], blocks[i - 1]).unwrap();
            assert!(alone == pooled[n], "block {i} differs on the pool");
        }
    }

    /// The checksum agrees with the cab crate's on the blocks it writes.
    #[test]
    fn checksums_match_the_cab_crates() {
        let mut builder = cab::CabinetBuilder::new();
        builder
            .add_folder(cab::CompressionType::MsZip)
            .add_file("a");
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = builder.build(&mut buf).unwrap();
        while let Some(mut f) = w.next_file().unwrap() {
            let data: Vec<u8> = (0..100_003u32).map(|i| (i * 31 % 253) as u8).collect();
            f.write_all(&data).unwrap();
        }
        w.finish().unwrap();
        let bytes = buf.into_inner();
        let first_block = u32::from_le_bytes(bytes[36..40].try_into().unwrap()) as usize;
        let blocks = u16::from_le_bytes(bytes[40..42].try_into().unwrap());
        let mut at = first_block;
        let mut checked = 0;
        for _ in 0..blocks {
            let csum = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            let packed = u16::from_le_bytes(bytes[at + 4..at + 6].try_into().unwrap());
            let expanded = u16::from_le_bytes(bytes[at + 6..at + 8].try_into().unwrap());
            let data = &bytes[at + 8..at + 8 + usize::from(packed)];
            assert_eq!(block_checksum(data, packed, expanded), csum);
            at += 8 + usize::from(packed);
            checked += 1;
        }
        assert_eq!(checked, 4);
    }
}
