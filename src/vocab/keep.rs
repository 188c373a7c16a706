//! Words kept in the vocabulary whatever their count (`huffvec train --keep FILE`), so that
//! rare probe words are trained without lowering `--min-count` for every word.
//!
//! The file is either one word per line, or a `PROBES.tsv` as `huffvec plant` writes it:
//! a file whose first line starts with `probe<TAB>` is read as a table with a header, and
//! its first column is taken. In both forms only the first tab-separated field of a line
//! counts; blank lines are skipped. A kept word must still occur in the corpus to enter the
//! vocabulary, and it is placed in the tree by its real count.

use std::path::Path;

use hashbrown::HashSet;

use super::{is_space, MAX_WORD_BYTES};
use crate::error::{Error, Result};
use crate::hash::Fnv;

/// A set of words exempt from `--min-count` and `--max-vocab`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeepList {
    words: HashSet<Box<[u8]>>,
    fingerprint: u64,
}

impl KeepList {
    /// The empty list: every word must reach `--min-count`.
    pub fn none() -> Self {
        Self::default()
    }

    /// The list of `words` (repeats are ignored).
    pub fn from_words<I, W>(words: I) -> Self
    where
        I: IntoIterator<Item = W>,
        W: Into<Box<[u8]>>,
    {
        let words: HashSet<Box<[u8]>> = words.into_iter().map(Into::into).collect();
        let mut sorted: Vec<&[u8]> = words.iter().map(|w| &w[..]).collect();
        sorted.sort_unstable();
        let fingerprint = if sorted.is_empty() {
            0
        } else {
            let mut h = Fnv::new();
            h.write(b"keep");
            for w in &sorted {
                h.write(&(w.len() as u32).to_le_bytes());
                h.write(w);
            }
            // 0 is reserved for the empty list (caches made before keep lists existed).
            h.finish().max(1)
        };
        KeepList { words, fingerprint }
    }

    /// Reads a word list or a `PROBES.tsv` (see the module docs).
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read keep list", path, e))?;
        Self::parse(path, &bytes)
    }

    /// Parses the bytes of a keep file; `path` only names the file in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let table = bytes.starts_with(b"probe\t");
        let mut words = Vec::new();
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if table && n == 0 {
                continue;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(|&b| is_space(b)) {
                continue;
            }
            let field = line.split(|&b| b == b'\t').next().unwrap_or(&[]);
            if field.is_empty() {
                return Err(Error::at_line(path, n + 1, "the first field is empty"));
            }
            if field.iter().any(|&b| is_space(b)) {
                return Err(Error::at_line(
                    path,
                    n + 1,
                    "a word cannot contain whitespace (one word per line, or a PROBES.tsv)",
                ));
            }
            if field.len() > MAX_WORD_BYTES {
                return Err(Error::at_line(
                    path,
                    n + 1,
                    format!(
                        "word longer than {} bytes; the tokenizer cuts such words, so it can \
                         never be kept",
                        MAX_WORD_BYTES
                    ),
                ));
            }
            words.push(field.to_vec().into_boxed_slice());
        }
        Ok(Self::from_words(words))
    }

    /// True when `word` is on the list.
    #[inline]
    pub fn contains(&self, word: &[u8]) -> bool {
        !self.words.is_empty() && self.words.contains(word)
    }

    /// Number of distinct words on the list.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True for the empty list.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// An order-independent 64-bit fingerprint of the words; 0 for the empty list.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KeepList> {
        KeepList::parse(Path::new("keep.txt"), text.as_bytes())
    }

    #[test]
    fn word_lists_and_probe_tables_are_read() {
        let list = parse("alpha\nbeta\r\n\n  \nalpha\n").expect("a word list");
        assert_eq!(list.len(), 2);
        assert!(list.contains(b"alpha") && list.contains(b"beta"));
        let table = parse("probe\tparent\tlevel\nking__2\tking\t2\nking__5\tking\t5\n")
            .expect("a probe table");
        assert_eq!(table.len(), 2);
        assert!(table.contains(b"king__2") && !table.contains(b"probe"));
        assert!(!table.contains(b"king"));
    }

    #[test]
    fn fingerprint_ignores_order_and_repeats_but_not_content() {
        let a = parse("x\ny\n").expect("list");
        let b = parse("y\nx\nx\n").expect("list");
        let c = parse("x\nz\n").expect("list");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_ne!(a.fingerprint(), 0);
        assert_eq!(KeepList::none().fingerprint(), 0);
        assert_eq!(parse("\n\n").expect("empty").fingerprint(), 0);
    }

    #[test]
    fn malformed_lines_are_refused_with_their_line() {
        let e = parse("ok\ntwo words\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "keep.txt: line 2: a word cannot contain whitespace (one word per line, or a \
             PROBES.tsv)"
        );
        assert!(parse("\tx\n").unwrap_err().to_string().contains("line 1"));
        assert!(parse(&"y".repeat(101)).is_err());
    }
}
