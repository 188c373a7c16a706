//! The corpus: a memory-mapped text file read in bounded windows, and its encoded form.

pub mod encode;
pub mod plant;
pub mod tokenize;
mod wordhash;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::kernel::{self, Mapped};

/// Bytes of text handled per window while counting and encoding; pages behind the window
/// are released so resident memory does not grow with the corpus. Encoding holds a
/// window's text and its ids (about 0.7 bytes of ids per byte of English text) at once, so
/// this bounds the preparation's extra memory to about 1.7 x 32 MiB.
pub const WINDOW_BYTES: usize = 32 << 20;

/// A corpus with a NUL byte among its first this many bytes is refused as binary (text in
/// any ASCII-compatible encoding has none).
pub const BINARY_SNIFF_BYTES: usize = 64 << 10;

/// What identifies a corpus file's content cheaply: its size, modification time and a hash
/// of sampled stretches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: u64,
    /// FNV-1a hash of nine sampled 64 KiB stretches (start, eighths, end).
    pub content_hash: u64,
}

/// A memory-mapped corpus file.
pub struct Corpus {
    path: PathBuf,
    map: Mapped,
    modified_ns: u64,
}

impl Corpus {
    /// Maps `path`; refuses directories and unreadable files with a clear error.
    pub fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read corpus", path, e))?;
        if meta.is_dir() {
            return Err(Error::Corpus {
                path: path.into(),
                reason: "is a directory, expected a text file".into(),
            });
        }
        if !meta.is_file() {
            return Err(Error::Corpus {
                path: path.into(),
                reason: "is not a regular file (pipes and devices cannot be memory-mapped); \
                         save the text to a file first"
                    .into(),
            });
        }
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        let map = kernel::map_corpus(path)?;
        let head = &map.bytes()[..map.bytes().len().min(BINARY_SNIFF_BYTES)];
        if let Some(at) = head.iter().position(|&b| b == 0) {
            return Err(Error::Corpus {
                path: path.into(),
                reason: format!(
                    "looks like a binary file, not text (NUL byte at offset {at}); \
                     UTF-16 text must be converted to UTF-8 first"
                ),
            });
        }
        Ok(Corpus {
            path: path.into(),
            map,
            modified_ns,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole text.
    pub fn bytes(&self) -> &[u8] {
        self.map.bytes()
    }

    /// Identifies this version of the file: length, modification time and a hash of
    /// samples of its content.
    pub fn fingerprint(&self) -> Fingerprint {
        let b = self.bytes();
        let mut h = crate::hash::Fnv::new();
        let sample = 1 << 16;
        let n = b.len();
        for k in 0..8u64 {
            let at = (n as u128 * k as u128 / 8) as usize;
            h.write(&b[at..(at + sample).min(n)]);
        }
        h.write(&b[n.saturating_sub(sample)..]);
        Fingerprint {
            bytes: n as u64,
            modified_ns: self.modified_ns,
            content_hash: h.finish(),
        }
    }

    /// Calls `f` on consecutive windows of about `WINDOW_BYTES`, cut after a separator so
    /// that no word straddles two windows, then releases each window's pages.
    pub fn for_each_window(&self, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let b = self.bytes();
        let mut start = 0;
        while start < b.len() {
            let mut end = (start + WINDOW_BYTES).min(b.len());
            while end < b.len() && !tokenize::is_space(b[end - 1]) {
                end += 1;
            }
            f(&b[start..end])?;
            kernel::unmap_advice_dont_need(&self.map, start..end);
            start = end;
        }
        Ok(())
    }
}
