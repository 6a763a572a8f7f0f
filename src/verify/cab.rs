//! A cabinet read as untrusted input: the header, folders and file entries parsed with
//! every count and offset checked against the stream's length, and a folder's data
//! streamed block by block (MSZIP, or stored), each block at most 32 KiB expanded, so
//! reading costs one pass and bounded memory whatever the cabinet claims.

use std::io::{self, Read, Seek, SeekFrom};

/// One file entry of the cabinet.
#[derive(Debug, Clone)]
pub struct CabFile {
    pub name: String,
    pub size: u64,
    /// Its offset in its folder's expanded data.
    pub offset: u64,
    pub folder: usize,
}

/// One folder: where its data blocks start, how many, how they are compressed.
#[derive(Debug, Clone)]
pub struct CabFolder {
    start: u64,
    blocks: u16,
    mszip: bool,
}

/// The cabinet's directory.
#[derive(Debug)]
pub struct Cabinet {
    pub folders: Vec<CabFolder>,
    pub files: Vec<CabFile>,
    data_reserve: u8,
}

/// Why a cabinet cannot be read, with the byte offset it was read at.
#[derive(Debug, thiserror::Error)]
pub enum CabError {
    #[error("at byte {offset} of the cabinet: {what}")]
    Bad { offset: u64, what: String },
    #[error("reading the cabinet: {0}")]
    Io(#[from] io::Error),
}

fn bad<T>(offset: u64, what: impl Into<String>) -> Result<T, CabError> {
    Err(CabError::Bad {
        offset,
        what: what.into(),
    })
}

struct Cursor<'a, R> {
    r: &'a mut R,
    at: u64,
}

impl<R: Read> Cursor<'_, R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], CabError> {
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .or_else(|_| bad(self.at, "the cabinet ends early"))?;
        self.at += N as u64;
        Ok(b)
    }
    fn u8(&mut self) -> Result<u8, CabError> {
        Ok(self.bytes::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, CabError> {
        Ok(u16::from_le_bytes(self.bytes()?))
    }
    fn u32(&mut self) -> Result<u32, CabError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn skip(&mut self, n: u64) -> Result<(), CabError> {
        let got = io::copy(&mut (&mut *self.r).take(n), &mut io::sink())?;
        if got != n {
            return bad(self.at, "the cabinet ends early");
        }
        self.at += n;
        Ok(())
    }
    /// A NUL-terminated name of at most 256 bytes.
    fn name(&mut self) -> Result<Vec<u8>, CabError> {
        let start = self.at;
        let mut out = Vec::new();
        loop {
            let b = self.u8()?;
            if b == 0 {
                return Ok(out);
            }
            if out.len() >= 256 {
                return bad(start, "a name longer than 256 bytes");
            }
            out.push(b);
        }
    }
}

impl Cabinet {
    /// Parse the directory of the cabinet `r` (positioned anywhere), `len` bytes long.
    pub fn read<R: Read + Seek>(r: &mut R, len: u64) -> Result<Cabinet, CabError> {
        r.seek(SeekFrom::Start(0))?;
        let mut c = Cursor { r, at: 0 };
        if &c.bytes::<4>()? != b"MSCF" {
            return bad(0, "not a cabinet (no MSCF signature)");
        }
        c.skip(12)?;
        let files_at = u64::from(c.u32()?);
        c.skip(4)?;
        let (minor, major) = (c.u8()?, c.u8()?);
        if (major, minor) != (1, 3) {
            return bad(24, format!("cabinet version {major}.{minor}, not 1.3"));
        }
        let n_folders = c.u16()?;
        let n_files = c.u16()?;
        let flags = c.u16()?;
        c.skip(4)?;
        let (mut folder_reserve, mut data_reserve) = (0u8, 0u8);
        if flags & 4 != 0 {
            let header_reserve = c.u16()?;
            folder_reserve = c.u8()?;
            data_reserve = c.u8()?;
            c.skip(u64::from(header_reserve))?;
        }
        if flags & 3 != 0 {
            return bad(30, "a cabinet split across several files (MSI's is one)");
        }
        let folders = read_folders(&mut c, n_folders, folder_reserve, len)?;
        if files_at < c.at || files_at >= len {
            return bad(
                16,
                format!("the file entries start at {files_at}, outside the header"),
            );
        }
        c.skip(files_at - c.at)?;
        let files = read_files(&mut c, n_files, folders.len())?;
        Ok(Cabinet {
            folders,
            files,
            data_reserve,
        })
    }

    /// The expanded data of folder `index`, in order, one block at a time.
    pub fn folder<'a, R: Read + Seek>(
        &self,
        r: &'a mut R,
        index: usize,
    ) -> Result<FolderReader<'a, R>, CabError> {
        let Some(f) = self.folders.get(index) else {
            return bad(0, format!("no folder {index}"));
        };
        r.seek(SeekFrom::Start(f.start))?;
        Ok(FolderReader {
            r,
            at: f.start,
            left: f.blocks,
            reserve: self.data_reserve,
            mszip: f.mszip,
            block: Vec::with_capacity(BLOCK),
            pos: 0,
            inflate: flate2::Decompress::new(false),
            input: Vec::new(),
        })
    }
}

/// The CFFOLDER entries: where each folder's blocks start, how many, and how they are
/// compressed.
fn read_folders<R: Read>(
    c: &mut Cursor<'_, R>,
    n_folders: u16,
    folder_reserve: u8,
    len: u64,
) -> Result<Vec<CabFolder>, CabError> {
    let mut folders = Vec::new();
    for _ in 0..n_folders {
        let at = c.at;
        let start = u64::from(c.u32()?);
        let blocks = c.u16()?;
        let kind = c.u16()? & 0x000f;
        c.skip(u64::from(folder_reserve))?;
        if start >= len && blocks > 0 {
            return bad(
                at,
                format!("a folder's data starts at {start}, past the end"),
            );
        }
        let mszip = match kind {
            0 => false,
            1 => true,
            2 => return bad(at, "Quantum compression, which verify does not read"),
            _ => {
                return bad(
                    at,
                    "LZX compression, which verify does not read (MSZIP and stored cabinets only)",
                );
            }
        };
        folders.push(CabFolder {
            start,
            blocks,
            mszip,
        });
    }
    Ok(folders)
}

/// The CFFILE entries: each file's size, place in its folder, and name.
fn read_files<R: Read>(
    c: &mut Cursor<'_, R>,
    n_files: u16,
    n_folders: usize,
) -> Result<Vec<CabFile>, CabError> {
    let mut files = Vec::new();
    for _ in 0..n_files {
        let at = c.at;
        let size = u64::from(c.u32()?);
        let offset = u64::from(c.u32()?);
        let folder = usize::from(c.u16()?);
        c.skip(6)?;
        let name = c.name()?;
        if folder >= n_folders {
            return bad(
                at,
                format!("a file in folder {folder}, which does not exist"),
            );
        }
        let name = String::from_utf8(name).or_else(|_| bad(at, "a file name that is not UTF-8"))?;
        files.push(CabFile {
            name,
            size,
            offset,
            folder,
        });
    }
    Ok(files)
}

/// The most bytes one block expands to.
const BLOCK: usize = 0x8000;

/// A folder's expanded bytes, block by block.
pub struct FolderReader<'a, R> {
    r: &'a mut R,
    at: u64,
    left: u16,
    reserve: u8,
    mszip: bool,
    /// The current block's expanded bytes (also the next block's dictionary).
    block: Vec<u8>,
    pos: usize,
    inflate: flate2::Decompress,
    input: Vec<u8>,
}

impl<R: Read> FolderReader<'_, R> {
    fn next_block(&mut self) -> Result<(), CabError> {
        let start = self.at;
        let mut c = Cursor {
            r: &mut *self.r,
            at: start,
        };
        let checksum = c.u32()?;
        let packed = usize::from(c.u16()?);
        let expanded = usize::from(c.u16()?);
        c.skip(u64::from(self.reserve))?;
        let data_at = c.at;
        if expanded > BLOCK {
            return bad(
                start,
                format!("a block expands to {expanded} bytes, past 32 KiB"),
            );
        }
        self.input.resize(packed, 0);
        self.r
            .read_exact(&mut self.input)
            .or_else(|_| bad(data_at, "the cabinet ends inside a data block"))?;
        self.at = data_at + packed as u64;
        self.left -= 1;
        // 0: no checksum was written (the format allows it).
        if checksum != 0
            && checksum
                != crate::package::msi::block_checksum(&self.input, packed as u16, expanded as u16)
        {
            return bad(
                start,
                "a data block does not match its checksum: the cabinet was changed",
            );
        }
        if !self.mszip {
            if packed != expanded {
                return bad(start, "a stored block whose sizes differ");
            }
            std::mem::swap(&mut self.block, &mut self.input);
            self.pos = 0;
            return Ok(());
        }
        self.block = self.inflate_block(start, data_at, expanded)?;
        self.pos = 0;
        Ok(())
    }

    /// The MSZIP block in `self.input`, inflated with the previous block as its
    /// dictionary and held to the size it declares.
    fn inflate_block(
        &mut self,
        start: u64,
        data_at: u64,
        expanded: usize,
    ) -> Result<Vec<u8>, CabError> {
        let Some(deflated) = self.input.strip_prefix(b"CK") else {
            return bad(data_at, "an MSZIP block without its CK signature");
        };
        // Each block is its own deflate stream, with the previous block's bytes as its
        // dictionary.
        self.inflate.reset(false);
        if !self.block.is_empty() {
            self.inflate
                .set_dictionary(&self.block)
                .or_else(|e| bad(data_at, format!("MSZIP: {e}")))?;
        }
        let mut out = Vec::with_capacity(BLOCK);
        let before_in = self.inflate.total_in();
        self.inflate
            .decompress_vec(deflated, &mut out, flate2::FlushDecompress::Finish)
            .or_else(|e| bad(data_at, format!("MSZIP: {e}")))?;
        let used = self.inflate.total_in() - before_in;
        if out.len() == BLOCK {
            // Full: one more byte out of what is left means it expands past 32 KiB.
            let rest = deflated
                .get(usize::try_from(used).unwrap_or(usize::MAX)..)
                .unwrap_or(&[]);
            let mut more = Vec::with_capacity(1);
            let _ = self
                .inflate
                .decompress_vec(rest, &mut more, flate2::FlushDecompress::Finish);
            if !more.is_empty() {
                return bad(
                    start,
                    "an MSZIP block expands past 32 KiB: a crafted cabinet",
                );
            }
        }
        if out.len() != expanded {
            return bad(
                start,
                format!(
                    "an MSZIP block expands to {} bytes, not the {expanded} it declares",
                    out.len()
                ),
            );
        }
        Ok(out)
    }
}

impl<R: Read> Read for FolderReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            if self.left == 0 {
                return Ok(0);
            }
            self.next_block().map_err(io::Error::other)?;
        }
        let n = buf.len().min(self.block.len() - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
