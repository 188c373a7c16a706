//! Word similarity: Spearman's rho between human scores and cosines, as gensim's
//! `evaluate_word_pairs` computes it.
//!
//! Pairs are looked up ignoring case among the first `restrict` words (gensim's default is
//! 300,000); a pair with an unknown word is skipped and counted against coverage, and rho is
//! computed over the pairs whose two words are known. Ties get average ranks.

use std::path::Path;

use crate::bands::WordBands;
use crate::error::{Error, Result};

use super::Embeddings;

/// A word-similarity file: `word1<TAB>word2<TAB>score` lines.
#[derive(Clone, Debug, Default)]
pub struct PairSet {
    /// The pairs with their human scores, in file order.
    pub pairs: Vec<(String, String, f64)>,
    /// Lines skipped: not three fields, or a score that is not a number (a header line).
    pub skipped_lines: usize,
}

impl PairSet {
    /// Reads a similarity file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::io("cannot read similarity file", path, e))?;
        Ok(Self::parse(&bytes))
    }

    /// Parses similarity lines: fields split at tabs when the line has one (gensim's
    /// delimiter), else at whitespace; blank lines and `#` comments are ignored.
    pub fn parse(bytes: &[u8]) -> Self {
        let mut set = PairSet::default();
        for line in bytes.split(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(line);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = if line.contains('\t') {
                line.split('\t').map(str::trim).collect()
            } else {
                line.split_whitespace().collect()
            };
            match fields.as_slice() {
                [a, b, score] => match score.parse::<f64>() {
                    Ok(s) if !a.is_empty() && !b.is_empty() => {
                        set.pairs.push((a.to_string(), b.to_string(), s))
                    }
                    _ => set.skipped_lines += 1,
                },
                _ => set.skipped_lines += 1,
            }
        }
        set
    }
}

/// Spearman's rho over a group of pairs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Correlation {
    /// Spearman's rho (NaN with fewer than two pairs or a constant side).
    pub rho: f64,
    /// Pairs it was computed over.
    pub pairs: usize,
}

/// The outcome of one similarity file.
#[derive(Clone, Debug)]
pub struct SimilarityResult {
    /// Over every pair whose two words are known.
    pub overall: Correlation,
    /// Pairs in the file.
    pub total: usize,
    /// The number of words searched (`restrict`, capped at the vocabulary size).
    pub restrict: usize,
    /// By the band of the rarer word of each pair, when bands were given.
    pub bands: Option<Vec<Correlation>>,
}

impl SimilarityResult {
    /// Known pairs as a percentage of all pairs.
    pub fn coverage_pct(&self) -> f64 {
        100.0 * self.overall.pairs as f64 / self.total as f64
    }
}

/// 1-based ranks of `x`, ties sharing the mean of the ranks they span (as
/// `scipy.stats.rankdata`).
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) hold ranks i+1..=j+1; their mean is (i + j) / 2 + 1.
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

/// Pearson correlation of `a` and `b` (NaN if either is constant or shorter than 2).
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    if a.len() < 2 {
        return f64::NAN;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

/// Spearman's rank correlation: Pearson's correlation of the average ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "spearman needs paired samples");
    pearson(&average_ranks(a), &average_ranks(b))
}

fn correlation(gold: &[f64], model: &[f64]) -> Correlation {
    Correlation {
        rho: spearman(gold, model),
        pairs: gold.len(),
    }
}

/// Correlates the cosines of the known pairs among the first `restrict` words with the
/// human scores, overall and (with `bands`) by the band of the rarer word.
pub fn evaluate(
    emb: &Embeddings,
    set: &PairSet,
    restrict: usize,
    bands: Option<&WordBands>,
) -> SimilarityResult {
    let restrict = restrict.min(emb.len());
    let known = |w: &str| emb.id_folded(w.as_bytes()).filter(|&id| id < restrict);
    let mut gold = Vec::new();
    let mut model = Vec::new();
    let mut band_of = Vec::new();
    for (a, b, score) in &set.pairs {
        let (Some(a), Some(b)) = (known(a), known(b)) else {
            continue;
        };
        let cos = emb.cosine(a, b);
        gold.push(*score);
        model.push(cos);
        band_of.push(bands.and_then(|wb| wb.rarer_band(a, b)));
    }
    let by_band = bands.map(|wb| {
        (0..wb.bands().len())
            .map(|band| {
                let (g, m): (Vec<f64>, Vec<f64>) = band_of
                    .iter()
                    .zip(gold.iter().zip(&model))
                    .filter(|(b, _)| **b == Some(band))
                    .map(|(_, (g, m))| (*g, *m))
                    .unzip();
                correlation(&g, &m)
            })
            .collect()
    });
    SimilarityResult {
        overall: correlation(&gold, &model),
        total: set.pairs.len(),
        restrict,
        bands: by_band,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bands::Bands;
    use crate::eval::tests::embeddings;

    #[test]
    fn ties_get_average_ranks() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 30.0]),
            [1.5, 3.0, 1.5, 4.0]
        );
        assert_eq!(average_ranks(&[5.0, 5.0, 5.0]), [2.0, 2.0, 2.0]);
    }

    #[test]
    fn spearman_matches_hand_computation() {
        // Monotone relations give +1 / -1 whatever the values.
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 200.0, 3000.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Ranks (1,2,3,4) vs (2,1,4,3): d² sum = 4, rho = 1 - 6*4/(4*15) = 0.6.
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 4.0, 3.0]) - 0.6).abs() < 1e-12);
        // With ties, Pearson of average ranks: x ranks (1.5,1.5,3), y ranks (1,2,3):
        // centred (-.75,-.75,1.5)·(-1,0,1) = 2.25; |x| = sqrt(3.375), |y| = sqrt(2).
        let want = 2.25 / (3.375f64 * 2.0).sqrt();
        assert!((spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]) - want).abs() < 1e-12);
        assert!(spearman(&[1.0], &[2.0]).is_nan());
        assert!(spearman(&[1.0, 1.0], &[2.0, 3.0]).is_nan());
    }

    #[test]
    fn parses_tabs_whitespace_headers_and_comments() {
        let s = PairSet::parse(b"# c\nword1\tword2\tscore\nold\tnew\t1.58\na b 2\nx\ty\n\n");
        assert_eq!(
            s.pairs,
            [
                ("old".into(), "new".into(), 1.58),
                ("a".into(), "b".into(), 2.0)
            ]
        );
        assert_eq!(s.skipped_lines, 2);
    }

    #[test]
    fn skips_unknown_pairs_and_bands_by_the_rarer_word() {
        let e = embeddings(&[
            ("a", &[1.0, 0.0]),
            ("b", &[1.0, 1.0]),
            ("c", &[0.0, 1.0]),
            ("d", &[-1.0, 1.0]),
        ]);
        // Cosines: a-b 0.71, a-c 0, a-d -0.71, b-c 0.71. Gold orders a-b > a-c > a-d.
        let s = PairSet::parse(b"A\tb\t9\na\tc\t5\na\td\t1\nb\tc\t7\na\tzz\t3\n");
        let bands = WordBands::from_ranks(Bands::from_edges(&[1, 3]).expect("test setup"), e.len());
        let r = evaluate(&e, &s, 100, Some(&bands));
        assert_eq!((r.overall.pairs, r.total), (4, 5));
        assert_eq!(r.coverage_pct(), 80.0);
        // Model ranks (3.5, 2, 1, 3.5) vs gold ranks (4, 2, 1, 3).
        let want = spearman(&[4.0, 2.0, 1.0, 3.0], &[3.5, 2.0, 1.0, 3.5]);
        assert!((r.overall.rho - want).abs() < 1e-9);
        let b = r.bands.expect("test setup");
        // Rarer word: a-b rank 2 -> band 0; a-c, a-d, b-c have a word of rank >= 3.
        assert_eq!(b[0].pairs, 1);
        assert!(b[0].rho.is_nan());
        assert_eq!(b[1].pairs, 3);
        assert!((b[1].rho - 1.0).abs() < 1e-9);
        // Restricting to the first two words leaves one pair.
        assert_eq!(evaluate(&e, &s, 2, None).overall.pairs, 1);
    }
}
