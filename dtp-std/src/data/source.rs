//! Reading a file that may be gzipped, with errors that name the file and offset.
//!
//! Gzip is recognised by its magic bytes `1f 8b`, never by the file name.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::error::DataError;

/// The two magic bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// True when `bytes` starts with the gzip magic `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Upper bound on a single up-front allocation when the final size is only a
/// claim (gzip streams): larger bodies grow as data actually arrives.
const MAX_PREALLOC: u64 = 64 << 20;

/// A sequential reader over a raw or gzipped input that tracks its offset.
pub(crate) struct Source {
    file: PathBuf,
    reader: Box<dyn Read>,
    gzip: bool,
    /// Length of the (uncompressed) data when known up front: raw files only.
    len: Option<u64>,
    pos: u64,
}

impl Source {
    /// Opens `path`, sniffing the first two bytes for gzip.
    pub(crate) fn open(path: &Path) -> Result<Self, DataError> {
        let io_err = |source| DataError::Io {
            file: path.to_path_buf(),
            source,
        };
        let mut f = File::open(path).map_err(io_err)?;
        let len = f.metadata().map_err(io_err)?.len();
        let mut magic = [0u8; 2];
        let got = fill(&mut f, &mut magic).map_err(io_err)?;
        let head = io::Cursor::new(magic[..got].to_vec());
        let gzip = is_gzip(&magic[..got]);
        let chained = head.chain(f);
        Ok(if gzip {
            Self::new(
                path,
                Box::new(MultiGzDecoder::new(BufReader::new(chained))),
                true,
                None,
            )
        } else {
            Self::new(path, Box::new(chained), false, Some(len))
        })
    }

    /// Wraps in-memory bytes (raw or gzipped) under a display `name`.
    pub(crate) fn from_bytes(name: &Path, bytes: &'static [u8]) -> Self {
        if is_gzip(bytes) {
            Self::new(name, Box::new(MultiGzDecoder::new(bytes)), true, None)
        } else {
            Self::new(name, Box::new(bytes), false, Some(bytes.len() as u64))
        }
    }

    fn new(file: &Path, reader: Box<dyn Read>, gzip: bool, len: Option<u64>) -> Self {
        Self {
            file: file.to_path_buf(),
            reader,
            gzip,
            len,
            pos: 0,
        }
    }

    /// The path (or display name) this source reads.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    fn read_error(&self, source: io::Error) -> DataError {
        if self.gzip {
            DataError::Gzip {
                file: self.file.clone(),
                source,
            }
        } else {
            DataError::Io {
                file: self.file.clone(),
                source,
            }
        }
    }

    fn truncated(&self, needed: u64, available: u64) -> DataError {
        DataError::Truncated {
            file: self.file.clone(),
            offset: self.pos,
            needed,
            available,
        }
    }

    /// Reads exactly `N` bytes (a header).
    pub(crate) fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DataError> {
        let mut buf = [0u8; N];
        let got = fill(&mut self.reader, &mut buf).map_err(|e| self.read_error(e))?;
        if got < N {
            return Err(self.truncated(N as u64, got as u64));
        }
        self.pos += N as u64;
        Ok(buf)
    }

    /// Reads exactly `n` bytes. For raw files the length is checked against the
    /// file size before anything is allocated; for gzip streams the buffer only
    /// grows as decompressed data arrives, so a lying header cannot force a huge
    /// allocation.
    pub(crate) fn read_exact_vec(&mut self, n: u64) -> Result<Vec<u8>, DataError> {
        if let Some(len) = self.len {
            let available = len.saturating_sub(self.pos);
            if n > available {
                return Err(self.truncated(n, available));
            }
        }
        let cap = usize::try_from(n.min(MAX_PREALLOC)).unwrap_or(0);
        let mut buf = Vec::with_capacity(cap);
        (&mut self.reader)
            .take(n)
            .read_to_end(&mut buf)
            .map_err(|e| self.read_error(e))?;
        if (buf.len() as u64) < n {
            return Err(self.truncated(n, buf.len() as u64));
        }
        self.pos += n;
        Ok(buf)
    }

    /// Reads everything that is left.
    pub(crate) fn read_to_end(&mut self) -> Result<Vec<u8>, DataError> {
        let cap = self.len.map_or(0, |l| {
            usize::try_from(l.saturating_sub(self.pos)).unwrap_or(0)
        });
        let mut buf = Vec::with_capacity(cap);
        self.reader
            .read_to_end(&mut buf)
            .map_err(|e| self.read_error(e))?;
        self.pos += buf.len() as u64;
        Ok(buf)
    }

    /// For gzip, decompresses whatever is left so the decoder verifies the CRC
    /// trailer; trailing data is otherwise ignored. Raw files are not read further.
    pub(crate) fn finish(mut self) -> Result<(), DataError> {
        if self.gzip {
            io::copy(&mut self.reader, &mut io::sink()).map_err(|e| self.read_error(e))?;
        }
        Ok(())
    }
}

/// Reads until `buf` is full or the input ends; returns the count read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
