//! The vocabulary: parallel word counts over the mapped corpus, min-count and max-vocab
//! filters, a deterministic order, subsampling keep probabilities, and the `word count` file.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::error::{Error, Result};

mod keep;

pub use keep::KeepList;

/// The end-of-sentence token: each newline of the corpus counts as one (word2vec.c's `</s>`).
pub const EOS: &[u8] = b"</s>";

/// Longest word kept, in bytes; longer words are cut to this many bytes.
pub const MAX_WORD_BYTES: usize = 100;

/// True for the bytes that separate words (ASCII whitespace).
#[inline(always)]
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The training vocabulary, most frequent word first.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    words: Vec<Box<[u8]>>,
    counts: Vec<u64>,
    index: HashMap<Box<[u8]>, u32>,
}

impl Vocab {
    /// Keeps the distinct `words` with at least `min_count` occurrences (at most `max_vocab`
    /// of them), with `</s>` counted as one word per newline (`sentence_ends`), sorted by
    /// descending count, ties by bytes; also returns, per input word, its id or `None` when
    /// it was not kept. Words on `keep` are kept whatever their count, beyond `max_vocab`
    /// too, in their place by count.
    pub fn from_distinct(
        mut words: Vec<Box<[u8]>>,
        mut counts: Vec<u64>,
        sentence_ends: u64,
        min_count: u64,
        max_vocab: Option<usize>,
        keep: &KeepList,
    ) -> (Self, Vec<Option<u32>>) {
        let n_in = words.len();
        if sentence_ends > 0 {
            match words.iter().position(|w| &w[..] == EOS) {
                Some(i) => counts[i] += sentence_ends,
                None => {
                    words.push(EOS.into());
                    counts.push(sentence_ends);
                }
            }
        }
        let mut order: Vec<u32> = (0..words.len() as u32)
            .filter(|&i| counts[i as usize] >= min_count || keep.contains(&words[i as usize]))
            .collect();
        order.par_sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            counts[b]
                .cmp(&counts[a])
                .then_with(|| words[a].cmp(&words[b]))
        });
        if let Some(m) = max_vocab {
            let mut rank = 0;
            order.retain(|&i| {
                rank += 1;
                rank <= m || keep.contains(&words[i as usize])
            });
        }
        let mut ids = vec![None; n_in];
        let entries = order
            .iter()
            .enumerate()
            .map(|(id, &i)| {
                let i = i as usize;
                if i < n_in {
                    ids[i] = Some(id as u32);
                }
                (std::mem::take(&mut words[i]), counts[i])
            })
            .collect();
        (Self::from_sorted(entries), ids)
    }

    /// Builds from `(word, count)` pairs already in the final order.
    pub fn from_sorted(entries: Vec<(Box<[u8]>, u64)>) -> Self {
        let mut index = HashMap::with_capacity(entries.len());
        let mut words = Vec::with_capacity(entries.len());
        let mut counts = Vec::with_capacity(entries.len());
        for (i, (w, c)) in entries.into_iter().enumerate() {
            index.insert(w.clone(), i as u32);
            words.push(w);
            counts.push(c);
        }
        Vocab {
            words,
            counts,
            index,
        }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True if no word is kept.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word`, if kept.
    #[inline]
    pub fn id(&self, word: &[u8]) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// The bytes of word `id`.
    pub fn word(&self, id: usize) -> &[u8] {
        &self.words[id]
    }

    /// All words in id order.
    pub fn words(&self) -> &[Box<[u8]>] {
        &self.words
    }

    /// Corpus counts in id order.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Sum of all counts (tokens that training visits per epoch).
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Subsampling keep thresholds: word `w` is kept when a uniform 16-bit random number is
    /// `<= keep[w]` (word2vec.c: keep probability `sqrt(t/f) + t/f` with `f = count/total`).
    pub fn keep_thresholds(&self, sample: f64) -> Vec<u32> {
        let total = self.total();
        self.counts
            .iter()
            .map(|&c| keep_threshold(c, total, sample))
            .collect()
    }

    /// A 64-bit fingerprint of words and counts, order-sensitive.
    pub fn fingerprint(&self) -> u64 {
        let mut h = crate::hash::Fnv::new();
        for (w, c) in self.words.iter().zip(&self.counts) {
            h.write(&(w.len() as u32).to_le_bytes());
            h.write(w);
            h.write(&c.to_le_bytes());
        }
        h.finish()
    }

    /// Writes `word count` lines, most frequent first.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, |w| {
            for (word, c) in self.words.iter().zip(&self.counts) {
                w.write_all(word)?;
                writeln!(w, " {c}")?;
            }
            Ok(())
        })
    }

    /// Reads a `word count` file as written by [`Vocab::save`] (or word2vec.c's
    /// `-save-vocab`), keeping its order.
    pub fn load(path: &Path) -> Result<Self> {
        let f =
            std::fs::File::open(path).map_err(|e| Error::io("cannot open vocabulary", path, e))?;
        Self::read(BufReader::new(f), path)
    }

    /// Reads `word count` lines from `r`; `path` names the source in errors.
    pub fn read(mut r: impl BufRead, path: &Path) -> Result<Self> {
        let mut entries = Vec::new();
        let mut line = Vec::new();
        let mut n = 0;
        loop {
            line.clear();
            n += 1;
            let got = r
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io("cannot read vocabulary", path, e))?;
            if got == 0 {
                break;
            }
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            if line.is_empty() {
                continue;
            }
            let sp = line
                .iter()
                .rposition(|b| *b == b' ' || *b == b'\t')
                .ok_or_else(|| Error::at_line(path, n, "expected 'word count'"))?;
            let count = std::str::from_utf8(&line[sp + 1..])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Error::at_line(path, n, "count is not a non-negative integer"))?;
            entries.push((line[..sp].to_vec().into_boxed_slice(), count));
        }
        Ok(Self::from_sorted(entries))
    }
}

/// word2vec.c's subsampling threshold of a word seen `count` times among `total` tokens,
/// at threshold `sample` (0 = off): the word is kept when a uniform 16-bit number is `<=`
/// it, i.e. with probability about `sqrt(t/f) + t/f`, `f = count/total`; 65536 = always.
pub fn keep_threshold(count: u64, total: u64, sample: f64) -> u32 {
    if sample <= 0.0 {
        return 1 << 16;
    }
    let t = sample * total as f64;
    let keep = ((count as f64 / t).sqrt() + 1.0) * t / count as f64;
    (keep * 65536.0).clamp(0.0, 65536.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain serial count of `text`, filtered as training filters.
    fn count_plainly(text: &[u8], min_count: u64, max_vocab: Option<usize>) -> Vocab {
        let mut map: HashMap<Box<[u8]>, u64> = HashMap::new();
        for w in text
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
        {
            *map.entry(w.into()).or_insert(0) += 1;
        }
        let ends = text.iter().filter(|&&b| b == b'\n').count() as u64;
        let (words, counts) = map.into_iter().unzip();
        Vocab::from_distinct(words, counts, ends, min_count, max_vocab, &KeepList::none()).0
    }

    fn vocab(text: &[u8], min_count: u64) -> Vocab {
        count_plainly(text, min_count, None)
    }

    #[test]
    fn counts_sorts_and_filters() {
        let v = vocab(b"b a c a b a\nd\n", 1);
        let got: Vec<(&[u8], u64)> = v
            .words()
            .iter()
            .map(|w| &w[..])
            .zip(v.counts().iter().copied())
            .collect();
        assert_eq!(
            got,
            vec![
                (&b"a"[..], 3),
                (b"</s>", 2),
                (b"b", 2),
                (b"c", 1),
                (b"d", 1)
            ]
        );
        let v2 = vocab(b"b a c a b a\nd\n", 2);
        assert_eq!(v2.len(), 3);
        assert_eq!(v2.id(b"c"), None);
        assert_eq!(v2.total(), 7);
    }

    #[test]
    fn max_vocab_keeps_the_most_frequent() {
        let v = count_plainly(b"a a a b b c", 1, Some(2));
        assert_eq!(v.words().len(), 2);
        assert_eq!(v.word(1), b"b");
    }

    #[test]
    fn kept_words_skip_min_count_and_max_vocab_in_their_place_by_count() {
        let words: Vec<Box<[u8]>> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|w| w.as_bytes().into())
            .collect();
        let counts = vec![4, 3, 2, 1, 1];
        let keep = KeepList::from_words([&b"d"[..], b"zz"]);
        let (v, ids) = Vocab::from_distinct(words.clone(), counts.clone(), 1, 3, Some(1), &keep);
        let got: Vec<(&[u8], u64)> = v
            .words()
            .iter()
            .map(|w| &w[..])
            .zip(v.counts().iter().copied())
            .collect();
        assert_eq!(got, vec![(&b"a"[..], 4), (b"d", 1)]);
        let d = words
            .iter()
            .position(|w| &w[..] == b"d")
            .expect("d was counted");
        assert_eq!(ids[d], Some(1));
        let (plain, _) = Vocab::from_distinct(words, counts, 1, 3, None, &KeepList::none());
        assert_eq!(plain.len(), 2, "a and b reach min-count 3: {plain:?}");
    }

    #[test]
    fn keep_thresholds_follow_word2vec_formula() {
        let v = vocab(&b"a ".repeat(1000), 1);
        let keep = v.keep_thresholds(1e-3);
        let t = 1e-3 * 1000.0;
        let want = (((1000.0f64 / t).sqrt() + 1.0) * t / 1000.0 * 65536.0) as u32;
        assert_eq!(keep[0], want);
        assert_eq!(v.keep_thresholds(0.0)[0], 65536);
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("v.txt");
        let v = vocab(b"x \xff\xfe x y\n", 1);
        v.save(&p).expect("test setup");
        assert_eq!(Vocab::load(&p).expect("test setup"), v);
    }
}
