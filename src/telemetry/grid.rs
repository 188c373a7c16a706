//! Per-thread accumulators: one [`Cell`] per (frequency band, depth) of the output tree and
//! one [`BandCell`] per band for the input side, all summed in f64 (exact counts in u64) and
//! merged at snapshot boundaries.
//!
//! Frequency bands are log-spaced by corpus count ([`Bands::powers_of`]): band `b` holds the
//! words with `base^b <= count < base^(b+1)`, i.e. `b = floor(log_base(count))`. With the default base 2
//! a band is one octave of frequency, which on a Huffman tree is roughly one level of depth
//! (a word of count c sits near depth log2(N / c)).

use serde::{Deserialize, Serialize};

use crate::bands::{floor_log, Bands};
use crate::tree::Tree;

/// Node-side sums for one (band, depth) cell: every visit of an inner node at this depth on
/// the path of a target word of this band, for one input vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Node visits (each (node, input) pair on a walked path), exact.
    pub updates: u64,
    /// Visits whose magnitudes were recorded (= `updates` unless `--stats-sample` < 1).
    pub sampled: u64,
    /// Visits with |f| at or beyond the sigmoid table's edge whose sign matched the label.
    pub sat_agree: u64,
    /// Visits with |f| at or beyond the edge whose sign contradicted the label.
    pub sat_disagree: u64,
    /// Saturated visits that stepped nothing: all of them under `--saturation skip`
    /// (word2vec.c HS), the agreeing ones under clamp (sigmoid's limit gives g = 0).
    pub skipped: u64,
    /// Sum of |g|, g = t - sigmoid(f) (sampled visits).
    pub abs_g: f64,
    /// Sum of the node step |Δv_n| = alpha |g| |h| (sampled visits; 0 when skipped).
    pub node_step: f64,
    /// Sum of the gradient sent to the input, alpha |g| |v_n| (sampled visits).
    pub input_grad: f64,
    /// Sum of the loss -ln sigmoid(±f) (sampled visits).
    pub loss: f64,
}

impl Cell {
    /// Adds `o` into `self`.
    pub fn merge(&mut self, o: &Cell) {
        self.updates += o.updates;
        self.sampled += o.sampled;
        self.sat_agree += o.sat_agree;
        self.sat_disagree += o.sat_disagree;
        self.skipped += o.skipped;
        self.abs_g += o.abs_g;
        self.node_step += o.node_step;
        self.input_grad += o.input_grad;
        self.loss += o.loss;
    }
}

/// Per-band sums: the target side (band of the word whose path is walked) and the input
/// side (band of the word whose input vector receives the accumulated step).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BandCell {
    /// Examples (input, path) whose target word is in this band, exact.
    pub target_examples: u64,
    /// Input-vector updates of words in this band, exact.
    pub input_updates: u64,
    /// Input updates whose step norm was recorded.
    pub input_sampled: u64,
    /// Sum of the input step norm |neu1e| (sampled input updates).
    pub input_step: f64,
    /// Sum of the length of the path each input update was trained along.
    pub input_path_len: u64,
    /// Sum of the base learning rate at each input update.
    pub input_alpha: f64,
}

impl BandCell {
    /// Adds `o` into `self`.
    pub fn merge(&mut self, o: &BandCell) {
        self.target_examples += o.target_examples;
        self.input_updates += o.input_updates;
        self.input_sampled += o.input_sampled;
        self.input_step += o.input_step;
        self.input_path_len += o.input_path_len;
        self.input_alpha += o.input_alpha;
    }
}

/// Band x depth cells plus per-band cells for one thread or one snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    n_depths: usize,
    /// `cells[band * n_depths + depth]`.
    pub cells: Vec<Cell>,
    /// `bands[band]`.
    pub bands: Vec<BandCell>,
}

impl Grid {
    /// An empty grid for `n_bands` bands and depths `0..n_depths`.
    pub fn new(n_bands: usize, n_depths: usize) -> Self {
        Grid {
            n_depths,
            cells: vec![Cell::default(); n_bands * n_depths],
            bands: vec![BandCell::default(); n_bands],
        }
    }

    /// Number of depths per band.
    pub fn n_depths(&self) -> usize {
        self.n_depths
    }

    /// The cell of (`band`, `depth`).
    pub fn cell(&self, band: usize, depth: usize) -> &Cell {
        &self.cells[band * self.n_depths + depth]
    }

    /// Adds `o` (same shape) into `self`.
    pub fn merge(&mut self, o: &Grid) {
        assert_eq!(self.cells.len(), o.cells.len(), "grids of different shapes");
        for (a, b) in self.cells.iter_mut().zip(&o.cells) {
            a.merge(b);
        }
        for (a, b) in self.bands.iter_mut().zip(&o.bands) {
            a.merge(b);
        }
    }

    /// Resets every sum to zero.
    pub fn clear(&mut self) {
        self.cells.fill(Cell::default());
        self.bands.fill(BandCell::default());
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.cells
            .iter()
            .all(|c| c.updates == 0 && c.sat_agree + c.sat_disagree == 0)
            && self
                .bands
                .iter()
                .all(|b| b.target_examples == 0 && b.input_updates == 0)
    }

    /// Sum of all cells of depth `depth` over bands.
    pub fn depth_total(&self, depth: usize) -> Cell {
        let mut t = Cell::default();
        for c in self.cells.iter().skip(depth).step_by(self.n_depths.max(1)) {
            t.merge(c);
        }
        t
    }

    #[cfg(test)]
    /// Sum of all cells of band `band` over depths.
    pub fn band_total(&self, band: usize) -> Cell {
        let mut t = Cell::default();
        for c in &self.cells[band * self.n_depths..(band + 1) * self.n_depths] {
            t.merge(c);
        }
        t
    }

    /// Sum of every cell.
    pub fn total(&self) -> Cell {
        let mut t = Cell::default();
        for c in &self.cells {
            t.merge(c);
        }
        t
    }
}

/// One frequency band as described in the stats header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandInfo {
    /// Dense band index used in every record (0 = rarest band present).
    pub band: usize,
    /// floor(log_base(count)) of the band's words.
    pub log_band: u32,
    /// Smallest count in the band's range, base^log_band.
    pub count_lo: u64,
    /// One past the largest count in the band's range, base^(log_band + 1) (saturating).
    pub count_hi: u64,
    /// Vocabulary words in the band.
    pub words: u64,
    /// Corpus occurrences of the band's words (one epoch).
    pub tokens: u64,
    /// Mean code length (path length) of the band's words, unweighted.
    pub mean_depth: f64,
}

/// The fixed shape of a run's grids: which band each word is in, and the band descriptions.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Dense band index of each word id (at most 64 bands: the base is at least 2).
    pub band_of_word: Vec<u8>,
    /// Band descriptions, dense index order (rarest first).
    pub bands: Vec<BandInfo>,
    /// Depths tracked: 0..n_depths (= the tree's largest code length).
    pub n_depths: usize,
}

impl Layout {
    /// Bands of `counts` (one per word id, as the tree's leaves) on `tree`.
    pub fn new(counts: &[u64], tree: &Tree, band_base: u64) -> Self {
        let lo = counts.iter().copied().min().unwrap_or(1);
        let hi = counts.iter().copied().max().unwrap_or(1);
        let ranges = Bands::powers_of(band_base, lo, hi);
        let mut bands: Vec<BandInfo> = ranges
            .edges()
            .iter()
            .enumerate()
            .map(|(i, &count_lo)| {
                let log_band = floor_log(count_lo, band_base);
                BandInfo {
                    band: i,
                    log_band,
                    count_lo,
                    count_hi: base_pow(band_base, log_band + 1),
                    words: 0,
                    tokens: 0,
                    mean_depth: 0.0,
                }
            })
            .collect();
        let mut band_of_word = Vec::with_capacity(counts.len());
        for (w, &c) in counts.iter().enumerate() {
            let b = ranges.band_of_count(c);
            let d = tree.depth(w);
            band_of_word.push(b as u8);
            let info = &mut bands[b];
            info.words += 1;
            info.tokens += c;
            info.mean_depth += d as f64;
        }
        for b in &mut bands {
            if b.words > 0 {
                b.mean_depth /= b.words as f64;
            }
        }
        Layout {
            band_of_word,
            bands,
            n_depths: tree.max_depth().max(1),
        }
    }

    /// A placeholder with no words, replaced when training starts.
    pub fn empty() -> Self {
        Layout {
            band_of_word: Vec::new(),
            bands: Vec::new(),
            n_depths: 1,
        }
    }

    /// An empty grid of this shape.
    pub fn grid(&self) -> Grid {
        Grid::new(self.bands.len(), self.n_depths)
    }
}

/// Per-word totals over the whole run (`--word-stats`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WordTotals {
    /// Input-vector updates of each word, exact.
    pub input_updates: Vec<u64>,
    /// Input updates whose step norm was recorded.
    pub input_sampled: Vec<u64>,
    /// Sum of the input step norms |neu1e| (sampled updates).
    pub input_step: Vec<f64>,
    /// Examples trained along each word's own path, exact.
    pub target_examples: Vec<u64>,
}

impl WordTotals {
    /// Zeros for `n` words.
    pub fn new(n: usize) -> Self {
        WordTotals {
            input_updates: vec![0; n],
            input_sampled: vec![0; n],
            input_step: vec![0.0; n],
            target_examples: vec![0; n],
        }
    }

    /// Counts `updates` input updates of word `w`, `sampled` of them with recorded step
    /// norms summing to `step`.
    #[inline(always)]
    pub fn add_inputs(&mut self, w: usize, updates: u64, sampled: u64, step: f64) {
        self.input_updates[w] += updates;
        self.input_sampled[w] += sampled;
        self.input_step[w] += step;
    }

    /// Adds `o` (same length) into `self`.
    pub fn merge(&mut self, o: &WordTotals) {
        let add = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.input_updates, &o.input_updates);
        add(&mut self.input_sampled, &o.input_sampled);
        add(&mut self.target_examples, &o.target_examples);
        for (x, y) in self.input_step.iter_mut().zip(&o.input_step) {
            *x += y;
        }
    }
}

fn base_pow(base: u64, e: u32) -> u64 {
    base.checked_pow(e).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::huffman;

    #[test]
    fn layout_counts_words_and_tokens_per_band() {
        // counts 40, 10, 9, 5, 5 -> log2 bands 5, 3, 3, 2, 2 -> dense 3, 1, 1, 0, 0
        let counts = [40, 10, 9, 5, 5];
        let tree = huffman::build(&counts);
        let l = Layout::new(&counts, &tree, 2);
        assert_eq!(l.bands.len(), 4);
        assert_eq!(l.band_of_word, [3, 1, 1, 0, 0]);
        let words: Vec<u64> = l.bands.iter().map(|b| b.words).collect();
        assert_eq!(words, [2, 2, 0, 1]);
        assert_eq!(l.bands[1].tokens, 19);
        assert_eq!((l.bands[0].count_lo, l.bands[0].count_hi), (4, 8));
        assert_eq!(l.n_depths, tree.max_depth());
        for (b, info) in l.bands.iter().enumerate() {
            let depths: Vec<usize> = (0..counts.len())
                .filter(|&w| l.band_of_word[w] as usize == b)
                .map(|w| tree.depth(w))
                .collect();
            if !depths.is_empty() {
                let mean = depths.iter().sum::<usize>() as f64 / depths.len() as f64;
                assert!((info.mean_depth - mean).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn merge_adds_and_totals_agree() {
        let mut a = Grid::new(2, 3);
        let mut b = Grid::new(2, 3);
        a.cells[1].updates = 2;
        a.cells[1].abs_g = 0.5;
        b.cells[1].updates = 3;
        b.cells[1].abs_g = 0.25;
        b.cells[5].updates = 7;
        b.bands[1].input_updates = 4;
        a.merge(&b);
        assert_eq!(a.cell(0, 1).updates, 5);
        assert_eq!(a.cell(0, 1).abs_g, 0.75);
        assert_eq!(a.depth_total(2).updates, 7);
        assert_eq!(a.band_total(1).updates, 7);
        assert_eq!(a.total().updates, 12);
        assert_eq!(a.bands[1].input_updates, 4);
        assert!(!a.is_empty());
        a.clear();
        assert!(a.is_empty());
    }
}
