//! Read-only memory maps of the corpus and of the encoded id cache.
//!
//! Contract: a mapped file must not be truncated or modified while mapped. huffvec maps the
//! user's corpus only while counting and encoding it, and trains from its private id cache,
//! which is only ever replaced by an atomic rename (the old inode stays valid for readers).

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// A read-only mapping of a whole file (empty files map to an empty slice).
pub struct Mapped {
    map: Option<memmap2::Mmap>,
}

impl Mapped {
    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

/// Maps `path` read-only.
///
/// # Safety
/// The file must not be truncated or written while the mapping lives (by this process or
/// another): the bytes behind `Mapped::bytes` would change under a shared reference, or
/// vanish (SIGBUS).
unsafe fn map_file(path: &Path) -> Result<Mapped> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", path, e))?
        .len();
    if len == 0 {
        return Ok(Mapped { map: None });
    }
    // SAFETY: the caller's contract (above) is memmap2's.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io("cannot map", path, e))?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(Mapped { map: Some(map) })
}

/// Maps the user's corpus `path` read-only, for the counting and encoding pass.
pub(crate) fn map_corpus(path: &Path) -> Result<Mapped> {
    // SAFETY: huffvec never writes to the corpus, and the user is told (README, `--help`)
    // that the corpus must not change while it is read; this is the contract every
    // mmap-based reader (ripgrep, word2vec tools) rests on and cannot check.
    unsafe { map_file(path) }
}

/// Maps an encoded-corpus cache file that huffvec wrote, read-only.
pub(crate) fn map_cache(path: &Path) -> Result<Mapped> {
    // SAFETY: cache files live in huffvec's private cache directory, are written once to a
    // temporary name and only ever replaced by an atomic rename, which leaves the mapped
    // inode intact for readers; nothing writes to a published cache file.
    unsafe { map_file(path) }
}

/// Tells the kernel that the pages of `range` (byte offsets) will not be needed soon, so
/// resident memory stays bounded while streaming over a file far larger than RAM.
pub fn unmap_advice_dont_need(mapped: &Mapped, range: std::ops::Range<usize>) {
    #[cfg(unix)]
    if let Some(map) = &mapped.map {
        let page = 4096;
        let start = range.start.div_ceil(page) * page;
        let end = range.end.min(map.len()) / page * page;
        if end > start {
            // SAFETY: the mapping is a read-only, shared mapping of a file; MADV_DONTNEED
            // only drops our view of the pages, which are re-read from the page cache on the
            // next access, so the contents seen through `bytes()` do not change.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }
    #[cfg(not(unix))]
    let _ = (mapped, range);
}
