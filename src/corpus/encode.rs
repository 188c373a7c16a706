//! The encoded corpus: one pass turns text into little-endian `u32` word ids in a private
//! cache file that training memory-maps, so epochs never hash strings again.
//!
//! File layout (all integers little-endian):
//! ```text
//! 0    magic "HVIDS\0\0\x01" (8 bytes), format version u32, reserved u32
//! 16   corpus length u64, corpus mtime (ns) u64, corpus sample hash u64
//! 40   min_count u64, max_vocab u64 (u64::MAX = none)
//! 56   vocabulary size u64, vocabulary section bytes u64, vocabulary fingerprint u64
//! 80   ids count u64, ids checksum u64, sentences u64
//! 104  keep-list fingerprint u64 (0 = no keep list; see [`super::keep`])
//! 112  zero padding up to byte 128
//! 128  vocabulary: per word u32 length, bytes, u64 count
//!      zero padding to a multiple of 64
//!      ids: u32 each; SENTENCE_END marks a newline
//! ```
//! A cache whose header, sizes, vocabulary fingerprint or id checksum do not match is
//! rebuilt; an id outside the vocabulary is treated as corruption.

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use byteorder::{LittleEndian, ReadBytesExt, WriteBytesExt};
use rayon::prelude::*;

use super::tokenize::{self, Token};
use super::wordhash;
use super::{Corpus, Fingerprint};
use crate::error::{Error, Result};
use crate::hash::Fnv;
use crate::kernel::{self, Mapped};
use crate::vocab::KeepList;
use crate::vocab::Vocab;
use hashbrown::HashTable;

/// The id that marks the end of a sentence in the encoded stream.
pub const SENTENCE_END: u32 = u32::MAX;

const MAGIC: &[u8; 8] = b"HVIDS\0\0\x01";
const VERSION: u32 = 1;
const HEADER_BYTES: usize = 128;
/// Ids verified per window when a cache is opened (64 MiB of ids).
const VERIFY_IDS: usize = 1 << 24;

#[inline(always)]
fn mix(id: u32, pos: u64) -> u64 {
    let mut z = (id as u64) ^ pos.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Order-sensitive checksum of `ids` placed at `offset` in the stream; checksums of
/// consecutive pieces add up (wrapping) to the checksum of the whole.
pub fn ids_checksum(ids: &[u32], offset: u64) -> u64 {
    ids.par_chunks(1 << 16)
        .enumerate()
        .map(|(c, chunk)| {
            let base = offset + (c as u64) * (1 << 16);
            chunk.iter().enumerate().fold(0u64, |acc, (i, &id)| {
                acc.wrapping_add(mix(id, base + i as u64))
            })
        })
        .reduce(|| 0, u64::wrapping_add)
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Header {
    corpus: Fingerprint,
    min_count: u64,
    max_vocab: u64,
    vocab_len: u64,
    vocab_bytes: u64,
    vocab_fingerprint: u64,
    n_ids: u64,
    ids_checksum: u64,
    sentences: u64,
    keep: u64,
}

impl Header {
    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(MAGIC)?;
        w.write_u32::<LittleEndian>(VERSION)?;
        w.write_u32::<LittleEndian>(0)?;
        for v in [
            self.corpus.bytes,
            self.corpus.modified_ns,
            self.corpus.content_hash,
            self.min_count,
            self.max_vocab,
            self.vocab_len,
            self.vocab_bytes,
            self.vocab_fingerprint,
            self.n_ids,
            self.ids_checksum,
            self.sentences,
            self.keep,
        ] {
            w.write_u64::<LittleEndian>(v)?;
        }
        w.write_all(&[0u8; HEADER_BYTES - 112])
    }

    fn read(mut r: &[u8]) -> Option<Self> {
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic).ok()?;
        if &magic != MAGIC || r.read_u32::<LittleEndian>().ok()? != VERSION {
            return None;
        }
        r.read_u32::<LittleEndian>().ok()?;
        let mut v = [0u64; 12];
        for x in &mut v {
            *x = r.read_u64::<LittleEndian>().ok()?;
        }
        Some(Header {
            corpus: Fingerprint {
                bytes: v[0],
                modified_ns: v[1],
                content_hash: v[2],
            },
            min_count: v[3],
            max_vocab: v[4],
            vocab_len: v[5],
            vocab_bytes: v[6],
            vocab_fingerprint: v[7],
            n_ids: v[8],
            ids_checksum: v[9],
            sentences: v[10],
            keep: v[11],
        })
    }

    /// Byte offset of the ids: after the header and vocabulary, rounded up to 64; `None`
    /// when a corrupt header's sizes overflow.
    fn ids_offset(&self) -> Option<usize> {
        let end = HEADER_BYTES.checked_add(usize::try_from(self.vocab_bytes).ok()?)?;
        end.checked_next_multiple_of(64)
    }
}

/// Vocabulary settings that the encoded ids depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VocabSettings {
    /// Minimum count.
    pub min_count: u64,
    /// Maximum vocabulary size.
    pub max_vocab: Option<usize>,
}

/// Whether [`IdCorpus::prepare`] reused a cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// A matching, intact cache was reused.
    Reused,
    /// The cache was (re)built; the reason is given.
    Built(&'static str),
}

/// The encoded corpus: vocabulary plus memory-mapped ids.
pub struct IdCorpus {
    map: Mapped,
    vocab: Vocab,
    header: Header,
    path: PathBuf,
}

impl IdCorpus {
    /// Reuses the cache for (`corpus`, `settings`) in `cache_dir` if it matches and is
    /// intact, else counts, encodes and writes it. `on_progress(bytes_done)` is called as
    /// text is read.
    pub fn prepare(
        corpus: &Corpus,
        settings: VocabSettings,
        cache_dir: &Path,
        threads: usize,
        on_progress: &(dyn Fn(&str, u64) + Sync),
    ) -> Result<(Self, CacheStatus)> {
        let none = KeepList::none();
        Self::prepare_keeping(corpus, settings, &none, cache_dir, threads, on_progress)
    }

    /// As [`IdCorpus::prepare`], keeping the words of `keep` whatever their count; the
    /// cache's name and header record the list's fingerprint.
    pub fn prepare_keeping(
        corpus: &Corpus,
        settings: VocabSettings,
        keep: &KeepList,
        cache_dir: &Path,
        threads: usize,
        on_progress: &(dyn Fn(&str, u64) + Sync),
    ) -> Result<(Self, CacheStatus)> {
        std::fs::create_dir_all(cache_dir)
            .map_err(|e| Error::io("cannot create cache directory", cache_dir, e))?;
        let path = cache_dir.join(cache_name(corpus.path(), settings, keep.fingerprint()));
        let want = corpus.fingerprint();
        let reason = match Self::open(&path) {
            Ok(c) if c.header.corpus != want => "the corpus changed",
            Ok(c)
                if c.header.min_count != settings.min_count
                    || c.header.max_vocab != max_vocab_code(settings.max_vocab)
                    || c.header.keep != keep.fingerprint() =>
            {
                "the vocabulary settings changed"
            }
            Ok(c) => return Ok((c, CacheStatus::Reused)),
            Err(CacheError::Missing) => "no cache yet",
            Err(CacheError::Corrupt) => "the cache was corrupt or stale",
            Err(CacheError::Fatal(e)) => return Err(e),
        };
        let (header, vocab) = build(corpus, settings, keep, &path, threads, on_progress)?;
        // Just written and checksummed as it was written: mapped without re-verification.
        let map = kernel::map_cache(&path)?;
        let expected = header
            .ids_offset()
            .and_then(|o| (o as u64).checked_add(header.n_ids * 4));
        if expected != Some(map.bytes().len() as u64) {
            return Err(Error::Mismatch {
                path,
                reason: "cache written but has the wrong size (is the disk full?)".into(),
            });
        }
        Ok((
            IdCorpus {
                map,
                vocab,
                header,
                path,
            },
            CacheStatus::Built(reason),
        ))
    }

    fn open(path: &Path) -> std::result::Result<Self, CacheError> {
        if !path.exists() {
            return Err(CacheError::Missing);
        }
        let map = kernel::map_cache(path).map_err(CacheError::Fatal)?;
        let (header, vocab) = parse(map.bytes()).ok_or(CacheError::Corrupt)?;
        let c = IdCorpus {
            map,
            vocab,
            header,
            path: path.into(),
        };
        // Verified window by window, releasing each window's pages, so that opening a
        // cache larger than memory does not make it all resident.
        let intact = verify_ids(c.ids(), c.vocab.len(), c.header.ids_checksum, |r| {
            c.release(r)
        });
        if !intact {
            return Err(CacheError::Corrupt);
        }
        Ok(c)
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// All ids; every id is `< vocab().len()` or [`SENTENCE_END`] (checked when opened).
    pub fn ids(&self) -> &[u32] {
        let off = self
            .header
            .ids_offset()
            .expect("checked when the cache was opened");
        let b = &self.map.bytes()[off..];
        bytemuck::cast_slice(b)
    }

    /// Order-sensitive checksum of all ids (see [`ids_checksum`]), as stored in the header.
    pub fn checksum(&self) -> u64 {
        self.header.ids_checksum
    }

    /// Number of sentence ends.
    pub fn sentences(&self) -> u64 {
        self.header.sentences
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the resident pages of ids `range` (they are re-read from the page cache if
    /// touched again).
    pub fn release(&self, range: Range<usize>) {
        let off = self
            .header
            .ids_offset()
            .expect("checked when the cache was opened");
        kernel::unmap_advice_dont_need(&self.map, off + range.start * 4..off + range.end * 4);
    }

    /// Each of `n` threads' blocks of ids ([`shard_blocks`]); every block ends just after a
    /// sentence end when one lies within [`SHARD_SEARCH_IDS`] of the even cut (else at the
    /// even cut, inside a long line); together they cover every id exactly once.
    pub fn shards(&self, n: usize) -> Vec<Vec<Range<usize>>> {
        shard_blocks(self.ids(), n)
    }
}

/// Checks a whole cache file's header, sizes and vocabulary; `None` if anything is off.
fn parse(b: &[u8]) -> Option<(Header, Vocab)> {
    let header = Header::read(b)?;
    let ids_offset = header.ids_offset()?;
    let expected = (ids_offset as u64).checked_add(header.n_ids.checked_mul(4)?);
    if expected != Some(b.len() as u64) {
        return None;
    }
    let vocab_end = HEADER_BYTES.checked_add(usize::try_from(header.vocab_bytes).ok()?)?;
    let vocab = read_vocab(b.get(HEADER_BYTES..vocab_end)?, header.vocab_len)?;
    (vocab.fingerprint() == header.vocab_fingerprint).then_some((header, vocab))
}

/// True when every id is below `vocab_len` (or a sentence end) and the ids add up to
/// `checksum`; `release` is called on each verified window of ids.
fn verify_ids(
    ids: &[u32],
    vocab_len: usize,
    checksum: u64,
    mut release: impl FnMut(Range<usize>),
) -> bool {
    let v = vocab_len.min(u32::MAX as usize) as u32;
    let mut sum = 0u64;
    for (k, window) in ids.chunks(VERIFY_IDS).enumerate() {
        let at = k * VERIFY_IDS;
        let in_range = window
            .par_chunks(1 << 16)
            .all(|ch| ch.iter().all(|&id| id < v || id == SENTENCE_END));
        if !in_range {
            return false;
        }
        sum = sum.wrapping_add(ids_checksum(window, at as u64));
        release(at..at + window.len());
    }
    sum == checksum
}

/// Whether `bytes` is a complete, intact id-cache file: what opening a cache checks,
/// exposed for the fuzz targets.
#[doc(hidden)]
pub fn is_intact_cache(bytes: &[u8]) -> bool {
    let Some((header, vocab)) = parse(bytes) else {
        return false;
    };
    let Some(off) = header.ids_offset() else {
        return false;
    };
    let ids: Vec<u32> = bytes[off..]
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    verify_ids(&ids, vocab.len(), header.ids_checksum, |_| {})
}

/// How far past an even cut [`shard_ranges`] looks for a sentence end.
pub const SHARD_SEARCH_IDS: usize = 1 << 16;

/// Ids per block of [`shard_blocks`] (512 KiB of ids).
pub const SHARD_BLOCK_IDS: usize = 1 << 17;

/// Each of `n` threads' blocks of `ids`: the corpus cut at sentence ends into blocks of at
/// most about [`SHARD_BLOCK_IDS`] (a multiple of `n` of them, of nearly equal size) and
/// dealt round-robin, so that all threads move through the corpus together in its own
/// order, as one thread would read it. (Contiguous shards, word2vec.c's, make the model
/// see distant parts of the corpus interleaved, which measurably costs CBOW quality.)
/// With one thread the blocks are the whole corpus in order.
pub fn shard_blocks(ids: &[u32], n: usize) -> Vec<Vec<Range<usize>>> {
    let n = n.max(1);
    let per_thread = ids.len().div_ceil(SHARD_BLOCK_IDS * n).max(1);
    let mut out = vec![Vec::with_capacity(per_thread); n];
    for (i, block) in shard_ranges(ids, n * per_thread).into_iter().enumerate() {
        out[i % n].push(block);
    }
    out
}

/// `n` contiguous ranges of nearly equal size covering `ids`, cut at sentence ends.
pub fn shard_ranges(ids: &[u32], n: usize) -> Vec<Range<usize>> {
    let n = n.max(1);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..=n {
        let mut end = if k == n {
            ids.len()
        } else {
            (ids.len() as u128 * k as u128 / n as u128) as usize
        };
        end = end.max(start);
        let even = end;
        while end < ids.len()
            && end > start
            && ids[end - 1] != SENTENCE_END
            && end - even < SHARD_SEARCH_IDS
        {
            end += 1;
        }
        if end > start && ids[end - 1] != SENTENCE_END {
            // One huge line (a corpus without newlines): cut it at the even point rather
            // than give the whole rest to one thread, and touch no more of the cache.
            end = even;
        }
        out.push(start..end);
        start = end;
    }
    out
}

enum CacheError {
    Missing,
    Corrupt,
    Fatal(Error),
}

fn max_vocab_code(m: Option<usize>) -> u64 {
    m.map_or(u64::MAX, |m| m as u64)
}

fn cache_name(input: &Path, s: VocabSettings, keep: u64) -> String {
    let canon = std::fs::canonicalize(input).unwrap_or_else(|_| input.to_path_buf());
    let mut h = Fnv::new();
    h.write(canon.as_os_str().as_encoded_bytes());
    h.write(&s.min_count.to_le_bytes());
    h.write(&max_vocab_code(s.max_vocab).to_le_bytes());
    if keep != 0 {
        h.write(&keep.to_le_bytes());
    }
    let stem = input
        .file_stem()
        .map(|s| {
            s.to_string_lossy()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(32)
                .collect::<String>()
        })
        .unwrap_or_default();
    format!("{stem}-{:016x}.ids", h.finish())
}

fn read_vocab(mut b: &[u8], n: u64) -> Option<Vocab> {
    // Each entry takes at least 12 bytes, which bounds what a corrupt count can reserve.
    let mut entries = Vec::with_capacity(n.min(b.len() as u64 / 12) as usize);
    for _ in 0..n {
        let len = b.read_u32::<LittleEndian>().ok()? as usize;
        if len > b.len() {
            return None;
        }
        let (w, rest) = b.split_at(len);
        b = rest;
        let c = b.read_u64::<LittleEndian>().ok()?;
        entries.push((w.to_vec().into_boxed_slice(), c));
    }
    b.is_empty().then(|| Vocab::from_sorted(entries))
}

/// What one piece of text held: its distinct words in first-seen order with their hashes
/// and counts, and its tokens as indices into that list (or [`SENTENCE_END`]).
struct Piece<'a> {
    words: Vec<&'a [u8]>,
    hashes: Vec<u64>,
    counts: Vec<u64>,
    ids: Vec<u32>,
    sentences: u64,
}

impl<'a> Piece<'a> {
    fn scan(text: &'a [u8]) -> Self {
        let mut index: HashTable<u32> = HashTable::with_capacity(1 << 12);
        let mut p = Piece {
            words: Vec::new(),
            hashes: Vec::new(),
            counts: Vec::new(),
            ids: Vec::with_capacity(text.len() / 5),
            sentences: 0,
        };
        for t in tokenize::tokens(text) {
            match t {
                Token::Word(w) => {
                    let h = wordhash::hash(w);
                    let words = &p.words;
                    let id = match index.find(h, |&i| wordhash::same(words[i as usize], w)) {
                        Some(&i) => i,
                        None => {
                            let i = p.words.len() as u32;
                            let hashes = &p.hashes;
                            index.insert_unique(h, i, |&j| hashes[j as usize]);
                            p.words.push(w);
                            p.hashes.push(h);
                            p.counts.push(0);
                            i
                        }
                    };
                    p.counts[id as usize] += 1;
                    p.ids.push(id);
                }
                Token::EndOfSentence => {
                    p.ids.push(SENTENCE_END);
                    p.sentences += 1;
                }
            }
        }
        p
    }
}

/// Distinct words of the whole corpus under provisional ids (first-seen order).
#[derive(Default)]
struct Provisional {
    index: HashTable<u32>,
    words: Vec<Box<[u8]>>,
    hashes: Vec<u64>,
    counts: Vec<u64>,
    tokens: u64,
    sentences: u64,
}

impl Provisional {
    /// Adds a piece's counts and rewrites its ids as provisional ids.
    fn absorb(&mut self, piece: &mut Piece<'_>) {
        let mut table = Vec::with_capacity(piece.words.len());
        for ((w, &h), &c) in piece.words.iter().zip(&piece.hashes).zip(&piece.counts) {
            self.tokens += c;
            let words = &self.words;
            let id = match self
                .index
                .find(h, |&i| wordhash::same(&words[i as usize], w))
            {
                Some(&id) => {
                    self.counts[id as usize] += c;
                    id
                }
                None => {
                    let id = self.words.len() as u32;
                    let hashes = &self.hashes;
                    self.index.insert_unique(h, id, |&j| hashes[j as usize]);
                    self.words.push((*w).into());
                    self.hashes.push(h);
                    self.counts.push(c);
                    id
                }
            };
            table.push(id);
        }
        self.sentences += piece.sentences;
        piece.ids.par_chunks_mut(1 << 16).for_each(|ch| {
            for id in ch {
                if *id != SENTENCE_END {
                    *id = table[*id as usize];
                }
            }
        });
    }
}

/// Marks a provisional id whose word did not make the vocabulary.
const DROPPED: u32 = u32::MAX - 1;
/// Provisional ids remapped per step of the second pass.
const REMAP_IDS: usize = 1 << 22;

/// Counts and encodes in one pass over the text: each piece of text is tokenized and hashed
/// once into provisional ids, spilled to a temporary file; once the vocabulary is known the
/// spilled ids are remapped (no hashing) into the cache at `path`.
fn build(
    corpus: &Corpus,
    settings: VocabSettings,
    keep: &KeepList,
    path: &Path,
    threads: usize,
    on_progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<(Header, Vocab)> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let spill_err = |e| Error::io("cannot write temporary ids in", dir, e);
    let spill = tempfile::tempfile_in(dir).map_err(spill_err)?;
    let prov = count_and_spill(corpus, threads, &spill, dir, on_progress)?;
    let (vocab, table, tokens, sentences) = choose_vocab(corpus, settings, keep, prov)?;

    let tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io("cannot create cache in", dir, e))?;
    let werr = |e| Error::io("cannot write cache", path, e);
    let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
    let mut header = write_vocab_section(&mut w, corpus, settings, keep, &vocab, sentences, path)?;
    let spilled_ids = tokens + sentences;
    remap_spill(
        &spill,
        dir,
        &table,
        spilled_ids,
        corpus,
        &mut w,
        &mut header,
        path,
        on_progress,
    )?;
    w.flush().map_err(werr)?;
    drop(w);
    let mut f = tmp.as_file();
    f.seek(SeekFrom::Start(0)).map_err(werr)?;
    header.write(&mut f).map_err(werr)?;
    tmp.persist(path)
        .map_err(|e| Error::io("cannot rename cache to", path, e.error))?;
    Ok((header, vocab))
}

/// The first pass: counts the words under provisional ids and spills the ids to `spill`.
fn count_and_spill(
    corpus: &Corpus,
    threads: usize,
    spill: &std::fs::File,
    dir: &Path,
    on_progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<Provisional> {
    let spill_err = |e| Error::io("cannot write temporary ids in", dir, e);
    let mut prov = Provisional::default();
    let mut w = BufWriter::with_capacity(1 << 20, spill);
    let mut done = 0u64;
    corpus.for_each_window(|text| {
        let parts = tokenize::split_at_spaces(text, threads.max(1) * 8);
        let mut pieces: Vec<Piece> = parts.par_iter().map(|p| Piece::scan(p)).collect();
        for piece in &mut pieces {
            prov.absorb(piece);
            w.write_all(bytemuck::cast_slice(&ids_to_le(std::mem::take(
                &mut piece.ids,
            ))))
            .map_err(spill_err)?;
        }
        done += text.len() as u64;
        on_progress("counting", done);
        Ok(())
    })?;
    w.flush().map_err(spill_err)?;
    Ok(prov)
}

/// The vocabulary, its provisional-to-final id table, the tokens and the sentences counted.
fn choose_vocab(
    corpus: &Corpus,
    settings: VocabSettings,
    keep: &KeepList,
    prov: Provisional,
) -> Result<(Vocab, Vec<u32>, u64, u64)> {
    if prov.tokens == 0 {
        return Err(Error::Corpus {
            path: corpus.path().into(),
            reason: "contains no words (empty or whitespace only)".into(),
        });
    }
    let types = prov.words.len();
    let Provisional {
        words,
        counts,
        tokens,
        sentences,
        ..
    } = prov;
    let (vocab, kept) = Vocab::from_distinct(
        words,
        counts,
        sentences,
        settings.min_count,
        settings.max_vocab,
        keep,
    );
    let real_words = vocab
        .words()
        .iter()
        .filter(|w| &w[..] != tokenize::EOS)
        .count();
    if real_words < 2 {
        return Err(Error::Corpus {
            path: corpus.path().into(),
            reason: format!(
                "only {real_words} of {types} distinct words occur at least --min-count {} times; \
                 at least 2 are needed: lower --min-count or use a larger corpus",
                settings.min_count
            ),
        });
    }
    let table: Vec<u32> = kept.iter().map(|id| id.unwrap_or(DROPPED)).collect();
    Ok((vocab, table, tokens, sentences))
}

/// Writes the header (no ids yet), the vocabulary section and the padding before the ids.
fn write_vocab_section(
    w: &mut impl Write,
    corpus: &Corpus,
    settings: VocabSettings,
    keep: &KeepList,
    vocab: &Vocab,
    sentences: u64,
    path: &Path,
) -> Result<Header> {
    let werr = |e| Error::io("cannot write cache", path, e);
    let mut vocab_section = Vec::new();
    for (word, c) in vocab.words().iter().zip(vocab.counts()) {
        vocab_section
            .write_u32::<LittleEndian>(word.len() as u32)
            .map_err(werr)?;
        vocab_section.extend_from_slice(word);
        vocab_section.write_u64::<LittleEndian>(*c).map_err(werr)?;
    }
    let header = Header {
        corpus: corpus.fingerprint(),
        min_count: settings.min_count,
        max_vocab: max_vocab_code(settings.max_vocab),
        vocab_len: vocab.len() as u64,
        vocab_bytes: vocab_section.len() as u64,
        vocab_fingerprint: vocab.fingerprint(),
        n_ids: 0,
        ids_checksum: 0,
        sentences,
        keep: keep.fingerprint(),
    };
    header.write(w).map_err(werr)?;
    w.write_all(&vocab_section).map_err(werr)?;
    let ids_at = header
        .ids_offset()
        .expect("the vocabulary section fits in memory");
    let pad = ids_at - HEADER_BYTES - vocab_section.len();
    w.write_all(&vec![0u8; pad]).map_err(werr)?;
    Ok(header)
}

/// The second pass: remaps the spilled ids through `table` into `w`, summing them in `header`.
#[allow(clippy::too_many_arguments)]
fn remap_spill(
    spill: &std::fs::File,
    dir: &Path,
    table: &[u32],
    spilled_ids: u64,
    corpus: &Corpus,
    w: &mut impl Write,
    header: &mut Header,
    path: &Path,
    on_progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<()> {
    let spill_err = |e| Error::io("cannot write temporary ids in", dir, e);
    let werr = |e| Error::io("cannot write cache", path, e);
    let mut spilled = std::io::BufReader::with_capacity(1 << 20, spill);
    spilled.seek(SeekFrom::Start(0)).map_err(spill_err)?;
    let mut buf = vec![0u32; REMAP_IDS];
    let text_bytes = corpus.bytes().len() as u64;
    let mut read = 0u64;
    loop {
        let n = read_ids(&mut spilled, &mut buf).map_err(spill_err)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        let kept: Vec<Vec<u32>> = buf[..n]
            .par_chunks(1 << 16)
            .map(|ch| {
                ch.iter()
                    .map(|&p| {
                        if p == SENTENCE_END {
                            p
                        } else {
                            table[u32::from_le(p) as usize]
                        }
                    })
                    .filter(|&id| id != DROPPED)
                    .collect()
            })
            .collect();
        for ids in kept {
            header.ids_checksum = header
                .ids_checksum
                .wrapping_add(ids_checksum(&ids, header.n_ids));
            header.n_ids += ids.len() as u64;
            w.write_all(bytemuck::cast_slice(&ids_to_le(ids)))
                .map_err(werr)?;
        }
        on_progress(
            "encoding",
            (text_bytes as u128 * read as u128 / spilled_ids.max(1) as u128) as u64,
        );
    }
    Ok(())
}

/// Fills `buf` with little-endian `u32`s from `r`; returns how many were read (fewer only
/// at the end of the stream).
fn read_ids(r: &mut impl Read, buf: &mut [u32]) -> std::io::Result<usize> {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(buf);
    let mut got = 0;
    while got < bytes.len() {
        match r.read(&mut bytes[got..])? {
            0 => break,
            k => got += k,
        }
    }
    Ok(got / 4)
}

fn ids_to_le(mut ids: Vec<u32>) -> Vec<u32> {
    if cfg!(target_endian = "big") {
        for x in &mut ids {
            *x = x.to_le();
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_progress(_: &str, _: u64) {}

    /// The test's oracle: a serial token-by-token count of `text`, filtered as training
    /// filters; also the number of word tokens.
    fn count_plainly(text: &[u8], min_count: u64, max_vocab: Option<usize>) -> (u64, Vocab) {
        let mut map: hashbrown::HashMap<Box<[u8]>, u64> = hashbrown::HashMap::new();
        let (mut words, mut ends) = (0, 0);
        for t in tokenize::tokens(text) {
            match t {
                Token::Word(w) => {
                    words += 1;
                    *map.entry(w.into()).or_insert(0) += 1;
                }
                Token::EndOfSentence => ends += 1,
            }
        }
        let (distinct, counts) = map.into_iter().unzip();
        let none = KeepList::none();
        let vocab = Vocab::from_distinct(distinct, counts, ends, min_count, max_vocab, &none).0;
        (words, vocab)
    }

    fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("test setup");
        p
    }

    const S: VocabSettings = VocabSettings {
        min_count: 1,
        max_vocab: None,
    };

    #[test]
    fn encodes_ids_in_order_with_sentence_ends() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = write(dir.path(), "c.txt", b"b a a\nc zz b\n");
        let corpus = Corpus::open(&p).expect("test setup");
        let (ids, st) = IdCorpus::prepare(&corpus, S, &dir.path().join("cache"), 2, &no_progress)
            .expect("test setup");
        assert!(matches!(st, CacheStatus::Built(_)));
        let v = ids.vocab();
        let words: Vec<Vec<u8>> = ids
            .ids()
            .iter()
            .map(|&i| {
                if i == SENTENCE_END {
                    b"|".to_vec()
                } else {
                    v.word(i as usize).to_vec()
                }
            })
            .collect();
        assert_eq!(words.concat(), b"baa|czzb|".to_vec());
        assert_eq!(ids.sentences(), 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// The one-pass build gives exactly the vocabulary of a plain count and the ids of a
        /// plain word-by-word lookup, whatever the thread count and filters.
        #[test]
        fn one_pass_build_equals_count_then_lookup(
            text in "[abcde</s> \n]{0,400}",
            min_count in 1u64..4,
            max_vocab in proptest::option::of(1usize..6),
            threads in 1usize..5,
        ) {
            let dir = tempfile::tempdir().expect("test setup");
            let p = write(dir.path(), "c.txt", text.as_bytes());
            let corpus = Corpus::open(&p).expect("test setup");
            let settings = VocabSettings { min_count, max_vocab };
            let built = IdCorpus::prepare(&corpus, settings, &dir.path().join("c"), threads, &no_progress);
            let (words, vocab) = count_plainly(text.as_bytes(), min_count, max_vocab);
            let real = vocab.words().iter().filter(|w| &w[..] != tokenize::EOS).count();
            if words == 0 || real < 2 {
                proptest::prop_assert!(built.is_err());
                return Ok(());
            }
            let (ids, _) = built.expect("a valid corpus");
            proptest::prop_assert_eq!(ids.vocab(), &vocab);
            let want: Vec<u32> = tokenize::tokens(text.as_bytes())
                .filter_map(|t| match t {
                    Token::Word(w) => vocab.id(w),
                    Token::EndOfSentence => Some(SENTENCE_END),
                })
                .collect();
            proptest::prop_assert_eq!(ids.ids(), &want[..]);
            proptest::prop_assert_eq!(ids.checksum(), ids_checksum(&want, 0));
            drop(ids);
            let (_, st) = IdCorpus::prepare(&corpus, settings, &dir.path().join("c"), threads, &no_progress)
                .expect("reopen");
            proptest::prop_assert_eq!(st, CacheStatus::Reused);
        }
    }

    #[test]
    fn cache_is_reused_then_rebuilt_when_settings_or_corpus_change() {
        let dir = tempfile::tempdir().expect("test setup");
        let cache = dir.path().join("cache");
        let p = write(dir.path(), "c.txt", b"x y y z z z\n");
        let c = Corpus::open(&p).expect("test setup");
        IdCorpus::prepare(&c, S, &cache, 1, &no_progress).expect("test setup");
        let (_, st) = IdCorpus::prepare(&c, S, &cache, 1, &no_progress).expect("test setup");
        assert_eq!(st, CacheStatus::Reused);
        let s2 = VocabSettings {
            min_count: 2,
            max_vocab: None,
        };
        let (ids2, st) = IdCorpus::prepare(&c, s2, &cache, 1, &no_progress).expect("test setup");
        assert!(matches!(st, CacheStatus::Built(_)));
        assert_eq!(ids2.vocab().id(b"x"), None);
        std::fs::write(&p, b"x y y z z z w w\n").expect("test setup");
        let c = Corpus::open(&p).expect("test setup");
        let (ids3, st) = IdCorpus::prepare(&c, S, &cache, 1, &no_progress).expect("test setup");
        assert_eq!(st, CacheStatus::Built("the corpus changed"));
        assert!(ids3.vocab().id(b"w").is_some());
    }

    #[test]
    fn a_keep_list_has_its_own_cache_and_keeps_rare_words() {
        let dir = tempfile::tempdir().expect("test setup");
        let cache = dir.path().join("cache");
        let p = write(dir.path(), "c.txt", b"x y y z z z\n");
        let c = Corpus::open(&p).expect("test setup");
        let s2 = VocabSettings {
            min_count: 2,
            max_vocab: None,
        };
        let (plain, _) = IdCorpus::prepare(&c, s2, &cache, 1, &no_progress).expect("plain");
        assert_eq!(plain.vocab().id(b"x"), None);
        let plain_path = plain.path().to_path_buf();
        drop(plain);
        let keep = KeepList::from_words([&b"x"[..]]);
        let (kept, st) =
            IdCorpus::prepare_keeping(&c, s2, &keep, &cache, 1, &no_progress).expect("kept");
        assert_eq!(st, CacheStatus::Built("no cache yet"));
        assert_ne!(kept.path(), plain_path);
        let x = kept.vocab().id(b"x").expect("x is kept");
        assert_eq!(kept.vocab().counts()[x as usize], 1);
        assert_eq!(kept.ids().len(), 7);
        drop(kept);
        let (_, st) =
            IdCorpus::prepare_keeping(&c, s2, &keep, &cache, 1, &no_progress).expect("reused");
        assert_eq!(st, CacheStatus::Reused);
        let (_, st) = IdCorpus::prepare(&c, s2, &cache, 1, &no_progress).expect("plain again");
        assert_eq!(st, CacheStatus::Reused, "the plain cache is untouched");
    }

    #[test]
    fn corrupt_cache_is_detected_and_rebuilt() {
        let dir = tempfile::tempdir().expect("test setup");
        let cache = dir.path().join("cache");
        let p = write(dir.path(), "c.txt", b"x y y z z z\n");
        let c = Corpus::open(&p).expect("test setup");
        let (ids, _) = IdCorpus::prepare(&c, S, &cache, 1, &no_progress).expect("test setup");
        let cache_file = ids.path().to_path_buf();
        drop(ids);
        let mut bytes = std::fs::read(&cache_file).expect("test setup");
        let n = bytes.len();
        bytes[n - 2] ^= 0x40;
        std::fs::write(&cache_file, &bytes).expect("test setup");
        let (_, st) = IdCorpus::prepare(&c, S, &cache, 1, &no_progress).expect("test setup");
        assert_eq!(st, CacheStatus::Built("the cache was corrupt or stale"));
        std::fs::write(&cache_file, &bytes[..n - 4]).expect("test setup");
        let (ids, st) = IdCorpus::prepare(&c, S, &cache, 1, &no_progress).expect("test setup");
        assert_eq!(st, CacheStatus::Built("the cache was corrupt or stale"));
        assert_eq!(ids.ids().len(), 7);
    }

    #[test]
    fn headers_claiming_impossible_sizes_are_corrupt_not_a_panic() {
        // A vocabulary section of u64::MAX - 50 bytes made the id offset wrap around, and a
        // huge word count reserved memory before anything was read.
        for (vocab_len, vocab_bytes) in [(1, u64::MAX - 50), (u64::MAX, 0), (1 << 40, 8)] {
            let h = Header {
                corpus: Fingerprint {
                    bytes: 0,
                    modified_ns: 0,
                    content_hash: 0,
                },
                min_count: 1,
                max_vocab: u64::MAX,
                vocab_len,
                vocab_bytes,
                vocab_fingerprint: 0,
                n_ids: 0,
                ids_checksum: 0,
                sentences: 0,
                keep: 0,
            };
            let mut b = Vec::new();
            h.write(&mut b).expect("test setup");
            b.resize(192, 0);
            assert!(!is_intact_cache(&b));
        }
    }

    #[test]
    fn a_corpus_on_one_line_is_still_split_evenly() {
        let ids: Vec<u32> = (0..4 * SHARD_SEARCH_IDS as u32).map(|i| i % 7).collect();
        let sh = shard_ranges(&ids, 4);
        let lens: Vec<usize> = sh.iter().map(|r| r.len()).collect();
        assert_eq!(lens, vec![SHARD_SEARCH_IDS; 4]);
        let mut near = ids.clone();
        near[SHARD_SEARCH_IDS + 10] = SENTENCE_END;
        assert_eq!(shard_ranges(&near, 4)[0], 0..SHARD_SEARCH_IDS + 11);
    }

    #[test]
    fn shards_cover_everything_once_and_end_at_sentences() {
        let e = SENTENCE_END;
        let ids = vec![1, 2, e, 3, e, 4, 5, 6, e, 7, e];
        for n in 1..6 {
            let sh = shard_ranges(&ids, n);
            assert_eq!(sh.len(), n);
            let mut next = 0;
            for r in &sh {
                assert_eq!(r.start, next);
                next = r.end;
                if !r.is_empty() && r.end < ids.len() {
                    assert_eq!(ids[r.end - 1], e);
                }
            }
            assert_eq!(next, ids.len());
        }
    }

    #[test]
    fn blocks_are_dealt_round_robin_in_corpus_order() {
        // Sentences of 10 ids, 5 * SHARD_BLOCK_IDS ids: 3 threads get 2 blocks each.
        let e = SENTENCE_END;
        let ids: Vec<u32> = (0..5 * SHARD_BLOCK_IDS as u32)
            .map(|i| if i % 10 == 9 { e } else { i % 5 })
            .collect();
        let sh = shard_blocks(&ids, 3);
        assert_eq!(sh.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 2]);
        // Dealt in turn: thread t holds blocks t and t + 3 of the corpus, in order.
        let order: Vec<Range<usize>> = (0..2)
            .flat_map(|b| sh.iter().map(move |blocks| blocks[b].clone()))
            .collect();
        let mut next = 0;
        for r in &order {
            assert_eq!(r.start, next);
            assert_eq!(ids[r.end - 1], e);
            next = r.end;
        }
        assert_eq!(next, ids.len());
        let lens: Vec<usize> = order.iter().map(|r| r.len()).collect();
        let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
        assert!(hi - lo <= 20, "{lens:?}");
        // One thread reads the whole corpus in order; a small corpus is one block per thread.
        let one: Vec<Range<usize>> = shard_blocks(&ids, 1).concat();
        assert_eq!(one.first().map(|r| r.start), Some(0));
        assert!(one.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(
            shard_blocks(&ids[..1000], 4)
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            vec![1; 4]
        );
    }

    #[test]
    fn checksums_of_pieces_add_up() {
        let ids: Vec<u32> = (0..200_000).map(|i| i * 7 % 1000).collect();
        let whole = ids_checksum(&ids, 0);
        let parts =
            ids_checksum(&ids[..70_001], 0).wrapping_add(ids_checksum(&ids[70_001..], 70_001));
        assert_eq!(whole, parts);
    }
}
