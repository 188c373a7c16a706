//! Word-frequency bands: words grouped by corpus count (log-spaced by default: 5-9, 10-99,
//! 100-999, ...) or, when no counts are known, by frequency rank; and a word -> band table.
//!
//! Rare words are what this project studies, so evaluation scores and training statistics
//! are broken down by band. [`Bands`] only maps a number (a count or a rank) to a band;
//! [`WordBands`] applies it to a word list.

use serde::Serialize;

use crate::error::{Error, Result};

/// What the band bounds measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Corpus occurrence counts (higher = more frequent).
    Count,
    /// 1-based frequency ranks (the most frequent word is rank 1; higher = rarer).
    Rank,
}

/// Band bounds: band `i` holds values in `[edges[i], edges[i + 1])` and the last band is
/// open-ended; values below the first edge fall in band 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bands {
    edges: Vec<u64>,
    basis: Basis,
}

/// `floor(log_base(count))`, computed with integers so that band edges are exact
/// (count 0 is treated as 1).
pub fn floor_log(count: u64, base: u64) -> u32 {
    debug_assert!(base >= 2);
    let mut b = 0;
    let mut c = count.max(1);
    while c >= base {
        c /= base;
        b += 1;
    }
    b
}

/// Powers of ten above `first`, up to the largest that fits in a `u64`.
fn decades_from(first: u64) -> Vec<u64> {
    let mut edges = vec![first];
    let mut p = 1u64;
    while p <= first {
        match p.checked_mul(10) {
            Some(q) => p = q,
            None => return edges,
        }
    }
    loop {
        edges.push(p);
        match p.checked_mul(10) {
            Some(q) => p = q,
            None => return edges,
        }
    }
}

impl Bands {
    /// Decade bands of corpus counts starting at `min_count` (0 counts as 1):
    /// `min_count..=9`, 10-99, 100-999, ...
    pub fn log10_from(min_count: u64) -> Self {
        Bands {
            edges: decades_from(min_count.max(1)),
            basis: Basis::Count,
        }
    }

    /// Count bands at the whole powers of `base` (at least 2) that cover counts `lo..=hi`:
    /// `base^l .. base^(l+1)` for l from floor(log_base(lo)) to floor(log_base(hi)).
    pub fn powers_of(base: u64, lo: u64, hi: u64) -> Self {
        let (l0, l1) = (floor_log(lo, base), floor_log(hi.max(lo), base));
        Bands {
            edges: (l0..=l1).map(|l| base.pow(l)).collect(),
            basis: Basis::Count,
        }
    }

    /// Decade bands of frequency ranks: 1-9, 10-99, 100-999, ...
    pub fn log10_ranks() -> Self {
        Bands {
            edges: decades_from(1),
            basis: Basis::Rank,
        }
    }

    /// Count bands whose lower edges are `edges` (strictly increasing, at least one).
    pub fn from_edges(edges: &[u64]) -> Result<Self> {
        if edges.is_empty() {
            return Err(Error::Config("band edges: give at least one edge".into()));
        }
        if let Some(w) = edges.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::Config(format!(
                "band edges must increase strictly, but {} is followed by {}",
                w[0], w[1]
            )));
        }
        Ok(Bands {
            edges: edges.to_vec(),
            basis: Basis::Count,
        })
    }

    /// At most `n` bands evenly spaced in log(value) from `lo` to `hi` (edges rounded to
    /// integers; bands that rounding makes empty are merged).
    pub fn log_spaced(basis: Basis, lo: u64, hi: u64, n: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::Config(
                "the number of bands must be at least 1".into(),
            ));
        }
        let lo = lo.max(1);
        let hi = hi.max(lo);
        let ratio = hi as f64 / lo as f64;
        let mut edges: Vec<u64> = (0..n)
            .map(|i| (lo as f64 * ratio.powf(i as f64 / n as f64)).round() as u64)
            .collect();
        edges.dedup();
        Ok(Bands { edges, basis })
    }

    /// The same bounds, read as `basis`.
    pub fn with_basis(mut self, basis: Basis) -> Self {
        self.basis = basis;
        self
    }

    /// Drops the bands whose lower edge is above `max` (the first band always stays).
    pub fn fit_to(mut self, max: u64) -> Self {
        let keep = self.edges.partition_point(|&e| e <= max).max(1);
        self.edges.truncate(keep);
        self
    }

    /// What the bounds measure.
    pub fn basis(&self) -> Basis {
        self.basis
    }

    /// Number of bands.
    pub fn len(&self) -> usize {
        self.edges.len()
    }

    /// Lower edge of each band.
    pub fn edges(&self) -> &[u64] {
        &self.edges
    }

    /// The band of a value (count or rank, per [`Bands::basis`]).
    #[inline]
    fn locate(&self, value: u64) -> usize {
        self.edges
            .partition_point(|&e| e <= value)
            .saturating_sub(1)
    }

    /// The band of a word occurring `count` times in the corpus.
    #[inline]
    pub fn band_of_count(&self, count: u64) -> usize {
        self.locate(count)
    }

    /// Label of band `i`: `lo-hi` (inclusive), `lo` for a one-value band, `lo+` for the last.
    pub fn label(&self, i: usize) -> String {
        let lo = self.edges[i];
        match self.edges.get(i + 1) {
            None => format!("{lo}+"),
            Some(&next) if next == lo + 1 => format!("{lo}"),
            Some(&next) => format!("{lo}-{}", next - 1),
        }
    }

    /// Labels of all bands, in order.
    pub fn labels(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.label(i)).collect()
    }
}

/// A word -> band table over a word list (vector rows or vocabulary ids), keeping each
/// word's count or rank so that the rarer of two words can be told.
#[derive(Clone, Debug)]
pub struct WordBands {
    bands: Bands,
    keys: Vec<Option<u64>>,
}

impl WordBands {
    /// Bands by corpus count; `None` for a word whose count is unknown.
    pub fn from_counts(bands: Bands, counts: impl IntoIterator<Item = Option<u64>>) -> Self {
        WordBands {
            bands: bands.with_basis(Basis::Count),
            keys: counts.into_iter().collect(),
        }
    }

    /// Bands by rank for a list of `n` words in descending frequency: word `i` has rank
    /// `i + 1`.
    pub fn from_ranks(bands: Bands, n: usize) -> Self {
        WordBands {
            bands: bands.with_basis(Basis::Rank),
            keys: (1..=n as u64).map(Some).collect(),
        }
    }

    /// The bands.
    pub fn bands(&self) -> &Bands {
        &self.bands
    }

    /// The band of word `id`, if its count is known.
    pub fn band(&self, id: usize) -> Option<usize> {
        self.keys
            .get(id)
            .copied()
            .flatten()
            .map(|k| self.bands.locate(k))
    }

    /// The band of the rarer of words `a` and `b` (lower count, or higher rank), if both
    /// are known.
    pub fn rarer_band(&self, a: usize, b: usize) -> Option<usize> {
        let ka = self.keys.get(a).copied().flatten()?;
        let kb = self.keys.get(b).copied().flatten()?;
        let rarer = match self.bands.basis {
            Basis::Count => ka.min(kb),
            Basis::Rank => ka.max(kb),
        };
        Some(self.bands.locate(rarer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_floor_log() {
        let b2: Vec<u32> = [0, 1, 2, 3, 4, 7, 8, 1023, 1024]
            .iter()
            .map(|&c| floor_log(c, 2))
            .collect();
        assert_eq!(b2, [0, 0, 1, 1, 2, 2, 3, 9, 10]);
        let b10: Vec<u32> = [1, 9, 10, 99, 100, 999_999, 1_000_000]
            .iter()
            .map(|&c| floor_log(c, 10))
            .collect();
        assert_eq!(b10, [0, 0, 1, 1, 2, 5, 6]);
        assert_eq!(floor_log(u64::MAX, 2), 63);
    }

    #[test]
    fn powers_cover_the_counts_present() {
        let b = Bands::powers_of(2, 5, 40);
        assert_eq!(b.edges(), [4, 8, 16, 32]);
        assert_eq!(b.band_of_count(5), 0);
        assert_eq!(b.band_of_count(9), 1);
        assert_eq!(b.band_of_count(40), 3);
        assert_eq!(Bands::powers_of(10, 1, u64::MAX).len(), 20);
    }

    #[test]
    fn decade_bands_from_min_count() {
        let b = Bands::log10_from(5);
        assert_eq!(&b.labels()[..3], ["5-9", "10-99", "100-999"]);
        assert_eq!(b.band_of_count(5), 0);
        assert_eq!(b.band_of_count(9), 0);
        assert_eq!(b.band_of_count(10), 1);
        assert_eq!(b.band_of_count(99), 1);
        assert_eq!(b.band_of_count(100), 2);
        assert_eq!(b.band_of_count(3), 0, "below the first edge is band 0");
        assert_eq!(b.band_of_count(u64::MAX), b.len() - 1);
        // 5, then 10^1 ..= 10^19 (the largest power of ten in a u64).
        assert_eq!(b.len(), 20);
        assert_eq!(Bands::log10_from(10).edges()[..2], [10, 100]);
        assert_eq!(Bands::log10_from(0).edges()[..2], [1, 10]);
    }

    #[test]
    fn fit_to_drops_bands_above_the_largest_value() {
        let b = Bands::log10_from(5).fit_to(349_205);
        assert_eq!(
            b.labels(),
            [
                "5-9",
                "10-99",
                "100-999",
                "1000-9999",
                "10000-99999",
                "100000+"
            ]
        );
        assert_eq!(Bands::log10_from(5).fit_to(2).len(), 1);
    }

    #[test]
    fn explicit_edges_are_validated() {
        let b = Bands::from_edges(&[1, 2, 50]).expect("test setup");
        assert_eq!(b.labels(), ["1", "2-49", "50+"]);
        assert_eq!(b.band_of_count(49), 1);
        assert!(Bands::from_edges(&[]).is_err());
        assert!(Bands::from_edges(&[10, 10]).is_err());
        assert!(Bands::from_edges(&[10, 5]).is_err());
    }

    #[test]
    fn log_spaced_bands_are_even_in_log_space() {
        let b = Bands::log_spaced(Basis::Count, 1, 10_000, 4).expect("test setup");
        assert_eq!(b.edges(), [1, 10, 100, 1000]);
        // Rounding can make two edges equal; they merge.
        assert_eq!(
            Bands::log_spaced(Basis::Rank, 1, 2, 5)
                .expect("test setup")
                .edges(),
            [1, 2]
        );
        assert!(Bands::log_spaced(Basis::Count, 1, 10, 0).is_err());
    }

    #[test]
    fn rarer_word_decides_the_band() {
        let by_count = WordBands::from_counts(Bands::log10_from(5), [Some(500), Some(7), None]);
        assert_eq!(by_count.band(0), Some(2));
        assert_eq!(by_count.rarer_band(0, 1), Some(0));
        assert_eq!(by_count.rarer_band(0, 2), None);
        let by_rank = WordBands::from_ranks(Bands::log10_ranks(), 200);
        // Ranks 1 and 150: the rarer word is rank 150, band 100-999.
        assert_eq!(by_rank.rarer_band(0, 149), Some(2));
        assert_eq!(by_rank.band(8), Some(0));
        assert_eq!(by_rank.band(9), Some(1));
        assert_eq!(by_rank.bands().basis(), Basis::Rank);
    }
}
