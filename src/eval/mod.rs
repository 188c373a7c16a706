//! Judging trained vectors: [`Embeddings`] (read and unit-normalised once, looked up exactly
//! or case-insensitively), nearest neighbours, word analogies ([`analogy`]) and word
//! similarity ([`similarity`]), each broken down by frequency band ([`crate::bands`]).
//!
//! Case-insensitive lookups follow gensim's `evaluate_word_*`: words are compared in
//! Unicode upper case, and among case variants of a word the first in file order (the most
//! frequent) stands for all of them.

pub mod analogy;
pub mod heldout;
pub mod probes;
pub mod similarity;
pub mod suite;

use std::borrow::Cow;
use std::path::Path;

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io::word2vec::{self, Vectors};
use crate::kernel;

/// Rows scored per parallel task when scanning the vocabulary for one query.
const SCAN_ROWS: usize = 4096;

/// The case-folded form of a word: Unicode upper case (as Python's `str.upper`), or ASCII
/// upper case for bytes that are not UTF-8.
pub fn fold_case(word: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(word) {
        Ok(s) if s.chars().any(|c| c.is_lowercase() || !c.is_ascii()) => {
            Cow::Owned(s.to_uppercase().into_bytes())
        }
        Ok(_) => Cow::Borrowed(word),
        Err(_) => Cow::Owned(word.to_ascii_uppercase()),
    }
}

/// Word vectors scaled to unit length, in file order (most frequent first), with exact
/// and case-folded indexes.
pub struct Embeddings {
    words: Vec<Box<[u8]>>,
    dim: usize,
    unit: Vec<f32>,
    index: HashMap<Box<[u8]>, u32>,
    folded: HashMap<Box<[u8]>, u32>,
    first_variant: Vec<u32>,
    duplicates: usize,
}

impl Embeddings {
    /// Reads a word2vec text or binary file and normalises it.
    pub fn read(path: &Path) -> Result<Self> {
        Ok(Self::from_vectors(word2vec::read(path)?))
    }

    /// Normalises read vectors; a word repeated later in the file is dropped (as gensim
    /// does), and an all-zero vector stays zero.
    pub fn from_vectors(v: Vectors) -> Self {
        let Vectors {
            words: all_words,
            dim,
            mut data,
            ..
        } = v;
        let mut index: HashMap<Box<[u8]>, u32> = HashMap::with_capacity(all_words.len());
        let mut words = Vec::with_capacity(all_words.len());
        let mut kept = 0usize;
        for (row, w) in all_words.into_iter().enumerate() {
            if index.contains_key(&w) {
                continue;
            }
            if kept != row {
                data.copy_within(row * dim..(row + 1) * dim, kept * dim);
            }
            index.insert(w.clone(), kept as u32);
            words.push(w);
            kept += 1;
        }
        let duplicates = data.len() / dim.max(1) - kept;
        data.truncate(kept * dim);
        data.par_chunks_mut(dim.max(1)).for_each(|row| {
            let norm = row
                .iter()
                .map(|x| (*x as f64) * (*x as f64))
                .sum::<f64>()
                .sqrt();
            if norm > 0.0 {
                let inv = (1.0 / norm) as f32;
                row.iter_mut().for_each(|x| *x *= inv);
            }
        });
        let mut folded: HashMap<Box<[u8]>, u32> = HashMap::with_capacity(words.len());
        let first_variant = words
            .iter()
            .enumerate()
            .map(|(i, w)| *folded.entry(fold_case(w).into()).or_insert(i as u32))
            .collect();
        Embeddings {
            words,
            dim,
            unit: data,
            index,
            folded,
            first_variant,
            duplicates,
        }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True if there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Rows dropped because their word repeated an earlier row's.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// The words in file order.
    pub fn words(&self) -> &[Box<[u8]>] {
        &self.words
    }

    /// The bytes of word `id`.
    pub fn word(&self, id: usize) -> &[u8] {
        &self.words[id]
    }

    /// Word `id` for display (invalid UTF-8 replaced).
    pub fn word_str(&self, id: usize) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.words[id])
    }

    /// The unit vector of word `id`.
    pub fn row(&self, id: usize) -> &[f32] {
        &self.unit[id * self.dim..(id + 1) * self.dim]
    }

    /// Cosine of words `a` and `b` (the dot product of their unit vectors, in f64).
    pub fn cosine(&self, a: usize, b: usize) -> f64 {
        self.row(a)
            .iter()
            .zip(self.row(b))
            .map(|(x, y)| *x as f64 * *y as f64)
            .sum()
    }

    /// The unit vectors of the first `n` words, row-major.
    pub fn rows(&self, n: usize) -> &[f32] {
        &self.unit[..n.min(self.len()) * self.dim]
    }

    /// The id of exactly `word`.
    pub fn id(&self, word: &[u8]) -> Option<usize> {
        self.index.get(word).map(|&i| i as usize)
    }

    /// The id of the first word (in file order) equal to `word` ignoring case.
    pub fn id_folded(&self, word: &[u8]) -> Option<usize> {
        self.folded
            .get(fold_case(word).as_ref())
            .map(|&i| i as usize)
    }

    /// The first case variant (in file order) of word `id`; `id` itself if none precedes it.
    pub fn first_variant(&self, id: usize) -> usize {
        self.first_variant[id] as usize
    }

    /// Looks `word` up exactly, then ignoring case; an unknown word is an error with
    /// spelling suggestions.
    pub fn lookup(&self, word: &str) -> Result<usize> {
        self.id(word.as_bytes())
            .or_else(|| self.id_folded(word.as_bytes()))
            .ok_or_else(|| {
                let near = self.suggestions(word, 5);
                Error::UnknownWord {
                    word: word.to_string(),
                    suggestions: if near.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean: {}?)", near.join(", "))
                    },
                }
            })
    }

    /// Up to `n` words spelled like `word` (case-insensitive edit distance at most 1 for
    /// words of up to 4 characters, 2 for longer ones), closest and most frequent first;
    /// of case variants only the first is offered.
    pub fn suggestions(&self, word: &str, n: usize) -> Vec<String> {
        let target = word.to_lowercase();
        let len = target.chars().count();
        let max_dist = if len <= 4 { 1 } else { 2 };
        let mut near: Vec<(usize, usize)> = self
            .words
            .par_iter()
            .enumerate()
            .filter_map(|(id, w)| {
                if self.first_variant(id) != id {
                    return None;
                }
                let w = String::from_utf8_lossy(w).to_lowercase();
                if w.chars().count().abs_diff(len) > max_dist {
                    return None;
                }
                let d = strsim::levenshtein(&target, &w);
                (d <= max_dist).then_some((d, id))
            })
            .collect();
        near.sort_unstable();
        near.into_iter()
            .take(n)
            .map(|(_, id)| self.word_str(id).into_owned())
            .collect()
    }

    /// Cosine of unit `query` with each of the first `limit` words (their dot products).
    pub fn scores(&self, query: &[f32], limit: usize) -> Vec<f32> {
        assert_eq!(query.len(), self.dim, "query has the wrong dimension");
        let limit = limit.min(self.len());
        let mut out = vec![0.0f32; limit];
        out.par_chunks_mut(SCAN_ROWS)
            .zip(self.rows(limit).par_chunks(SCAN_ROWS * self.dim))
            .for_each(|(o, rows)| kernel::matmul_transposed(query, rows, o, self.dim));
        out
    }

    /// The `k` best-scoring ids by `scores`, best first (ties: lower id first), skipping
    /// ids for which `skip` is true.
    pub fn top_k(scores: &[f32], k: usize, skip: impl Fn(usize) -> bool) -> Vec<(usize, f32)> {
        let mut cand: Vec<(usize, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(i, s)| !skip(*i) && !s.is_nan())
            .map(|(i, s)| (i, *s))
            .collect();
        let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if cand.len() > k && k > 0 {
            cand.select_nth_unstable_by(k - 1, order);
        }
        cand.truncate(k);
        cand.sort_unstable_by(order);
        cand
    }

    /// The input vectors of a trained model (ids = vocabulary ids), normalised.
    pub(crate) fn from_trained(t: &crate::train::Trained) -> Self {
        let dim = t.input.dim();
        let words: Vec<Box<[u8]>> = t.vocab.words().to_vec();
        let mut data = Vec::with_capacity(words.len() * dim);
        for i in 0..words.len() {
            data.extend_from_slice(t.input.row(i));
        }
        Self::from_vectors(Vectors {
            words,
            dim,
            data,
            format: crate::config::OutputFormat::Text,
        })
    }

    /// The `k` words nearest to `word` (looked up exactly, then ignoring case) by cosine,
    /// best first; the word and its case variants are excluded.
    pub fn most_similar(&self, word: &str, k: usize) -> Result<Vec<(String, f32)>> {
        let id = self.lookup(word)?;
        Ok(self
            .neighbours(id, k, self.len())
            .into_iter()
            .map(|(i, s)| (self.word_str(i).into_owned(), s))
            .collect())
    }

    /// The `k` best answers to "`a` is to `b` as `c` is to ?" by 3CosAdd over the whole
    /// vocabulary, best first.
    pub fn analogy(&self, a: &str, b: &str, c: &str, k: usize) -> Result<Vec<(String, f32)>> {
        let ids = [self.lookup(a)?, self.lookup(b)?, self.lookup(c)?];
        Ok(
            analogy::solve(self, ids, k, self.len(), analogy::Method::Add)
                .into_iter()
                .map(|(i, s)| (self.word_str(i).into_owned(), s))
                .collect(),
        )
    }

    /// Accuracy on an analogy set by 3CosAdd over the `restrict` most frequent words
    /// (gensim's default is 30,000).
    pub fn evaluate_analogies(
        &self,
        set: &analogy::QuestionSet,
        restrict: usize,
    ) -> analogy::AnalogyResult {
        analogy::evaluate(self, set, restrict, analogy::Method::Add, None)
    }

    /// Spearman's rho between cosines and human scores on a word-similarity set.
    pub fn evaluate_similarity(&self, set: &similarity::PairSet) -> similarity::SimilarityResult {
        similarity::evaluate(self, set, self.len(), None)
    }

    /// The `k` nearest words to word `id` by cosine among the first `limit` words, the word
    /// itself and its case variants excluded.
    pub fn neighbours(&self, id: usize, k: usize, limit: usize) -> Vec<(usize, f32)> {
        let scores = self.scores(self.row(id), limit);
        let own = self.first_variant(id);
        Self::top_k(&scores, k, |i| self.first_variant(i) == own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OutputFormat;

    pub(crate) fn embeddings(rows: &[(&str, &[f32])]) -> Embeddings {
        let dim = rows[0].1.len();
        Embeddings::from_vectors(Vectors {
            words: rows.iter().map(|(w, _)| w.as_bytes().into()).collect(),
            dim,
            data: rows.iter().flat_map(|(_, v)| v.iter().copied()).collect(),
            format: OutputFormat::Text,
        })
    }

    #[test]
    fn rows_are_unit_length_and_duplicates_dropped() {
        let e = embeddings(&[("a", &[3.0, 4.0]), ("b", &[0.0, 0.0]), ("a", &[1.0, 0.0])]);
        assert_eq!(e.len(), 2);
        assert_eq!(e.duplicates(), 1);
        assert_eq!(e.row(0), &[0.6, 0.8]);
        assert_eq!(e.row(1), &[0.0, 0.0], "a zero vector stays zero");
    }

    #[test]
    fn case_folding_picks_the_first_variant() {
        let e = embeddings(&[
            ("paris", &[1.0, 0.0]),
            ("Paris", &[0.0, 1.0]),
            ("straße", &[1.0, 1.0]),
        ]);
        assert_eq!(e.id(b"Paris"), Some(1));
        assert_eq!(e.id_folded(b"PARIS"), Some(0));
        assert_eq!(e.first_variant(1), 0);
        // Python: "straße".upper() == "STRASSE".
        assert_eq!(e.id_folded("STRASSE".as_bytes()), Some(2));
        assert_eq!(fold_case(b"\xffab").as_ref(), b"\xffAB");
        assert_eq!(e.lookup("PARIS").expect("test setup"), 0);
        assert_eq!(
            e.lookup("Paris").expect("test setup"),
            1,
            "an exact match wins"
        );
    }

    #[test]
    fn unknown_words_get_suggestions() {
        let e = embeddings(&[
            ("king", &[1.0, 0.0]),
            ("queen", &[0.0, 1.0]),
            ("kings", &[1.0, 1.0]),
        ]);
        let msg = e.lookup("kinng").unwrap_err().to_string();
        assert_eq!(msg, "unknown word 'kinng' (did you mean: king, kings?)");
        let msg = e.lookup("zzzzzzzz").unwrap_err().to_string();
        assert_eq!(msg, "unknown word 'zzzzzzzz'");
    }

    #[test]
    fn neighbours_rank_by_cosine_and_skip_the_word() {
        let e = embeddings(&[
            ("x", &[1.0, 0.0]),
            ("X", &[1.0, 0.01]),
            ("near", &[1.0, 0.5]),
            ("far", &[-1.0, 0.0]),
            ("mid", &[0.0, 1.0]),
        ]);
        let n = e.neighbours(0, 3, usize::MAX);
        let ids: Vec<usize> = n.iter().map(|p| p.0).collect();
        assert_eq!(ids, [2, 4, 3]);
        assert!((n[0].1 - 1.0 / 1.25f32.sqrt()).abs() < 1e-6);
        assert!((n[2].1 + 1.0).abs() < 1e-6);
        // Restricted to the first 3 words, only 'near' is left.
        assert_eq!(e.neighbours(0, 3, 3).len(), 1);
    }
}
