//! Short-lived per-thread sums between the hot loop and a thread's [`Grid`]: what a path
//! or an input update adds is kept here, in a layout the loop can add to cheaply, and
//! flushed into the grid's f64 and u64 cells once [`FLUSH_VISITS`] examples (input, path)
//! have been counted, and whenever the grid is read.
//!
//! * Node sums of recorded paths are f32 lanes per (band, depth), which the path fold adds
//!   into directly (eight depths per vector add). A lane sums one term per example, so between flushes
//!   it sums fewer than `FLUSH_VISITS` plus one path's inputs: f32 rounding stays that of
//!   about a thousand additions, and the running totals are f64.
//! * Visit counts are a histogram of (band, path length) weighted by inputs: one add per
//!   path, expanded into per-depth counts at the flush (a path of length L visits depths
//!   0..L).
//! * Input-side counts and step norms (f64) are per-band sums; the learning rate is constant
//!   between flushes (the probe flushes before it changes), so its sum is alpha x updates.
//! * CBOW's input updates (one step reaching every context word of a window) are first kept
//!   as differences along the sentence, four adds per window whatever its width, and added
//!   to the words' bands position by position once the sentence is trained
//!   ([`Pending::window`], [`Pending::sentence_inputs`]).

use super::grid::{Grid, WordTotals};
use crate::kernel::{LanesMut, NodeLanes};

/// Examples (input, path) between flushes.
pub const FLUSH_VISITS: u32 = 1024;

/// Longest sentence whose CBOW windows [`Pending::window`] takes: its packed per-position
/// sums then cannot overflow (see [`WindowDiffs`]); longer ones go word by word.
pub const WINDOW_SENTENCE_MAX: usize = 1 << 14;

/// Bit fields of a packed per-position input count in [`WindowDiffs::counts`].
const UPDATES_BITS: u32 = 21;
const LEN_SHIFT: u32 = 42;
const FIELD_MASK: u64 = (1 << UPDATES_BITS) - 1;

/// Input-side sums of one band since the last flush.
#[derive(Clone, Copy, Debug, Default)]
struct InputSums {
    /// Updates in the low 32 bits, their summed path lengths in the high 32: one add per
    /// update. Neither half can overflow between flushes: at most `FLUSH_VISITS` paths' inputs
    /// plus one more sentence's (under 2,000 per path, as the worker caps sentences at 1,000
    /// words) along paths under 93 nodes (the deepest Huffman code over 64-bit counts) sum
    /// below 2^29.
    updates_len: u64,
    /// Updates whose step norm was not recorded.
    unsampled: u32,
    step: f64,
}

impl InputSums {
    fn updates(&self) -> u64 {
        self.updates_len & 0xffff_ffff
    }
}

/// One sentence's CBOW input updates as differences along it: a window over positions
/// `lo..hi` whose centre is `c` adds at `lo` and `c + 1` and takes away at `c` and `hi`, so
/// that the running sum at a position is what reached its word.
#[derive(Debug, Default)]
struct WindowDiffs {
    /// Packed differences: updates in bits 0-20, unrecorded updates in 21-41, summed path
    /// lengths in 42-63. Packing is linear, so wrapping sums of packed differences are the
    /// packed sums; each field of a position's sum stays in range in sentences of at most
    /// [`WINDOW_SENTENCE_MAX`] words (under 2^14 updates, along paths under 2^7 nodes).
    counts: Vec<u64>,
    /// Differences of summed step norms (recorded updates).
    step: Vec<f64>,
    /// One past the last position a window of this sentence reached (0: none yet).
    top: usize,
}

impl WindowDiffs {
    /// Room for positions `0..=len`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, len: usize) {
        self.counts.resize(len + 1, 0);
        self.step.resize(len + 1, 0.0);
    }
}

/// A thread's unflushed sums, shaped like its grid.
#[derive(Debug)]
pub struct Pending {
    n_depths: usize,
    /// Row length of `lanes` per band: `n_depths` rounded up to a multiple of 8.
    stride: usize,
    /// In-range node sums of recorded paths, (band, depth) at `band * stride + depth`.
    lanes: NodeLanes,
    /// Examples per (band, path length), at `band * (n_depths + 1) + length`.
    lengths: Vec<u32>,
    /// Per band, the longest path added since the last flush (0: nothing to flush).
    dirty: Vec<usize>,
    /// Per band (room for every `u8` band, so that a band index needs no bounds check), in
    /// two sets that take a path's context words alternately: consecutive words are mostly
    /// of one band, and one set would chain every add on the one before.
    inputs: Box<[[InputSums; 256]; 2]>,
    /// The current sentence's CBOW windows, not yet in `inputs`.
    windows: WindowDiffs,
    /// Examples since the last flush.
    examples: u32,
}

impl Default for Pending {
    fn default() -> Self {
        Pending::new(0, 0)
    }
}

impl Pending {
    /// Empty sums for `n_bands` bands (at most 256) and depths `0..n_depths`.
    pub fn new(n_bands: usize, n_depths: usize) -> Self {
        assert!(n_bands <= 256, "{n_bands} frequency bands");
        let stride = n_depths.div_ceil(8).max(1) * 8;
        Pending {
            n_depths,
            stride,
            lanes: NodeLanes::with_width(n_bands * stride),
            lengths: vec![0; n_bands * (n_depths + 1)],
            dirty: vec![0; n_bands],
            inputs: Box::new([[InputSums::default(); 256]; 2]),
            windows: WindowDiffs::default(),
            examples: 0,
        }
    }

    /// True once [`FLUSH_VISITS`] examples have been counted since the last flush.
    #[inline(always)]
    pub fn flush_due(&self) -> bool {
        self.examples >= FLUSH_VISITS
    }

    /// Counts a path of `len` nodes (at most the tracked depths) walked by `n` inputs for a
    /// target in `band`.
    #[inline(always)]
    pub fn path(&mut self, band: usize, len: usize, n: usize) {
        debug_assert!(len <= self.n_depths);
        self.lengths[band * (self.n_depths + 1) + len] += n as u32;
        self.dirty[band] = self.dirty[band].max(len);
        self.examples += n as u32;
    }

    /// `band`'s node sums at depths `0..width`, for a recorded path of `nodes` nodes to be
    /// added into: the path last counted by [`Pending::path`] (which marked those depths for
    /// the next flush); `width` must not pass the band's row.
    #[inline(always)]
    pub fn path_lanes(&mut self, band: usize, nodes: usize, width: usize) -> LanesMut<'_> {
        debug_assert!(nodes <= self.dirty[band]);
        assert!(width <= self.stride);
        self.lanes.window(band * self.stride, width)
    }

    /// Counts one input update of each word in `words` (band `band_of_word[w]`) along a
    /// path of `path_len` nodes, with step norm `step` when recorded.
    #[inline(always)]
    pub fn inputs(&mut self, band_of_word: &[u8], words: &[u32], path_len: u32, step: Option<f32>) {
        let packed = (path_len as u64) << 32 | 1;
        match step {
            Some(x) => self.each_input(band_of_word, words, |s| {
                s.updates_len += packed;
                s.step += x as f64;
            }),
            None => self.each_input(band_of_word, words, |s| {
                s.updates_len += packed;
                s.unsampled += 1;
            }),
        }
    }

    /// Counts one CBOW input update of every position in `lo..hi` but `centre` of the
    /// current sentence (at most [`WINDOW_SENTENCE_MAX`] words), along a path of `path_len`
    /// nodes, with step norm `step` when recorded; added to the words' bands by
    /// [`Pending::sentence_inputs`].
    #[inline(always)]
    pub fn window(
        &mut self,
        lo: usize,
        centre: usize,
        hi: usize,
        path_len: u32,
        step: Option<f32>,
    ) {
        debug_assert!(lo <= centre && centre < hi && hi <= WINDOW_SENTENCE_MAX);
        let d = &mut self.windows;
        if hi >= d.counts.len() {
            d.grow(hi);
        }
        d.top = d.top.max(hi);
        let len = (path_len as u64) << LEN_SHIFT;
        let packed = match step {
            Some(_) => 1 | len,
            None => 1 | 1 << UPDATES_BITS | len,
        };
        // `..hi + 1`, not `..=hi`: an inclusive range's index was left out of line.
        let c = &mut d.counts[..hi + 1];
        c[lo] = c[lo].wrapping_add(packed);
        c[centre] = c[centre].wrapping_sub(packed);
        c[centre + 1] = c[centre + 1].wrapping_add(packed);
        c[hi] = c[hi].wrapping_sub(packed);
        if let Some(x) = step {
            let (x, s) = (x as f64, &mut d.step[..hi + 1]);
            s[lo] += x;
            s[centre] -= x;
            s[centre + 1] += x;
            s[hi] -= x;
        }
    }

    /// Adds the windows counted since the last call, over `sentence`, to the bands of its
    /// words (`band_of_word`) and to their per-word totals `words`.
    pub fn sentence_inputs(
        &mut self,
        band_of_word: &[u8],
        sentence: &[u32],
        mut words: Option<&mut WordTotals>,
    ) {
        let d = &mut self.windows;
        let top = std::mem::take(&mut d.top);
        if top == 0 {
            return;
        }
        let (counts, steps) = (&mut d.counts[..top + 1], &mut d.step[..top + 1]);
        let [even, odd] = &mut *self.inputs;
        let (mut c, mut x) = (0u64, 0f64);
        for (p, &w) in sentence[..top].iter().enumerate() {
            c = c.wrapping_add(std::mem::take(&mut counts[p]));
            x += std::mem::take(&mut steps[p]);
            if c == 0 {
                continue;
            }
            let (updates, unsampled) = (c & FIELD_MASK, c >> UPDATES_BITS & FIELD_MASK);
            // Neighbouring words are mostly of one band: alternate sets, as for single inputs.
            let set = if p % 2 == 0 { &mut *even } else { &mut *odd };
            let s = &mut set[band_of_word[w as usize] as usize];
            s.updates_len += updates | (c >> LEN_SHIFT) << 32;
            s.unsampled += unsampled as u32;
            s.step += x;
            if let Some(t) = words.as_deref_mut() {
                t.add_inputs(w as usize, updates, updates - unsampled, x);
            }
        }
        counts[top] = 0;
        steps[top] = 0.0;
    }

    /// Applies `add` to the band sums of each word in `words`, the two sets taking the words
    /// in turn.
    #[inline(always)]
    fn each_input(&mut self, band_of_word: &[u8], words: &[u32], add: impl Fn(&mut InputSums)) {
        let [even, odd] = &mut *self.inputs;
        let band = |w: u32| band_of_word[w as usize] as usize;
        let mut pairs = words.chunks_exact(2);
        for p in &mut pairs {
            add(&mut even[band(p[0])]);
            add(&mut odd[band(p[1])]);
        }
        if let [w] = pairs.remainder() {
            add(&mut even[band(*w)]);
        }
    }

    /// Adds everything pending into `grid` (same shape), the input updates at learning
    /// rate `alpha`, and clears it.
    #[inline(never)]
    pub fn flush(&mut self, grid: &mut Grid, alpha: f32) {
        self.examples = 0;
        let nd = self.n_depths;
        for (b, dirty) in self.dirty.iter_mut().enumerate() {
            let [even, odd] = &mut *self.inputs;
            let (e, o) = (std::mem::take(&mut even[b]), std::mem::take(&mut odd[b]));
            let s = InputSums {
                updates_len: e.updates_len + o.updates_len,
                unsampled: e.unsampled + o.unsampled,
                step: e.step + o.step,
            };
            let updates = s.updates();
            if updates > 0 {
                let c = &mut grid.bands[b];
                c.input_updates += updates;
                c.input_sampled += updates - s.unsampled as u64;
                c.input_path_len += s.updates_len >> 32;
                c.input_step += s.step;
                c.input_alpha += alpha as f64 * updates as f64;
            }
            let top = std::mem::take(dirty);
            if top == 0 && self.lengths[b * (nd + 1)] == 0 {
                continue;
            }
            let lengths = &mut self.lengths[b * (nd + 1)..(b + 1) * (nd + 1)];
            // Visits at depth d: inputs of every path longer than d.
            let mut longer = 0u64;
            for len in (1..=top).rev() {
                longer += std::mem::take(&mut lengths[len]) as u64;
                grid.cells[b * nd + len - 1].updates += longer;
            }
            grid.bands[b].target_examples += longer + std::mem::take(&mut lengths[0]) as u64;
            let at = b * self.stride;
            for d in 0..top {
                let c = &mut grid.cells[b * nd + d];
                let l = &mut self.lanes;
                c.sampled += std::mem::take(&mut l.n[at + d]) as u64;
                c.abs_g += std::mem::take(&mut l.abs_g[at + d]) as f64;
                c.node_step += std::mem::take(&mut l.node_step[at + d]) as f64;
                c.input_grad += std::mem::take(&mut l.input_grad[at + d]) as f64;
                c.loss += std::mem::take(&mut l.loss[at + d]) as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_expands_lengths_into_depth_counts_and_adds_lanes() {
        let (bands, depths) = (3, 5);
        let mut p = Pending::new(bands, depths);
        let mut grid = Grid::new(bands, depths);
        // Band 1: a path of 3 nodes by 4 inputs and one of 5 nodes by 2 inputs.
        p.path(1, 3, 4);
        p.path(1, 5, 2);
        assert!(!p.flush_due());
        // What a fold adds for a 3-node path by 4 inputs.
        let add_path = |p: &mut Pending, band| {
            let out = p.path_lanes(band, 3, 8);
            for d in 0..3 {
                out.n[d] += 4.0;
                out.abs_g[d] += 0.5 + d as f32;
                out.loss[d] += 1.0;
            }
        };
        add_path(&mut p, 1);
        add_path(&mut p, 1);
        // Words 0 and 2 are in band 2.
        let bands = [2u8, 0, 2];
        p.inputs(&bands, &[0], 3, Some(0.25));
        p.inputs(&bands, &[2], 5, None);
        p.flush(&mut grid, 0.5);
        let updates: Vec<u64> = (0..depths).map(|d| grid.cell(1, d).updates).collect();
        assert_eq!(updates, [6, 6, 6, 2, 2]);
        assert_eq!(grid.bands[1].target_examples, 6);
        assert_eq!(grid.cell(1, 2).sampled, 8);
        // A path counted and added after a flush is flushed with the next one.
        p.path(0, 3, 4);
        add_path(&mut p, 0);
        p.flush(&mut grid, 0.5);
        assert_eq!(grid.cell(0, 2).sampled, 4);
        assert_eq!(grid.cell(0, 2).updates, 4);
        assert_eq!(grid.cell(1, 3).sampled, 0);
        assert_eq!(grid.cell(1, 1).abs_g, 3.0);
        assert_eq!(grid.cell(1, 0).loss, 2.0);
        assert!((0..depths).all(|d| grid.cell(2, d).updates == 0));
        let b = grid.bands[2];
        assert_eq!(
            (b.input_updates, b.input_sampled, b.input_path_len),
            (2, 1, 8)
        );
        assert_eq!((b.input_step, b.input_alpha), (0.25, 1.0));
        // Everything was moved: a second flush adds nothing.
        let before = grid.clone();
        p.flush(&mut grid, 0.5);
        assert_eq!(grid, before);
    }

    #[test]
    fn windows_add_what_their_words_add_one_by_one() {
        // Ten words in three bands; two sentences (the second shorter, reusing the buffers),
        // windows of every shape: clipped at either end, one-sided, some unrecorded. Steps
        // are binary fractions, so the f64 sums are exact in any order.
        let bands = [0u8, 1, 2, 1, 0, 2, 2, 1, 0, 0];
        let first = [3u32, 0, 9, 5, 1, 1, 7, 2, 4];
        let second = [8u32, 6, 3, 6];
        type Window = (usize, usize, usize, u32, Option<f32>);
        let sentences: [(&[u32], &[Window]); 3] = [
            (
                &first,
                &[
                    (0, 0, 3, 4, Some(0.5)),
                    (0, 1, 2, 2, Some(0.25)),
                    (0, 2, 5, 7, None),
                    (1, 4, 7, 3, Some(1.5)),
                    (5, 6, 7, 5, Some(0.125)),
                    (4, 8, 9, 6, Some(2.0)),
                    (7, 8, 9, 1, None),
                ],
            ),
            (&[5], &[]),
            (
                &second,
                &[
                    (0, 0, 2, 3, Some(0.75)),
                    (0, 2, 4, 5, Some(0.5)),
                    (2, 3, 4, 2, None),
                ],
            ),
        ];
        let (mut by_window, mut by_word) = (Pending::new(3, 8), Pending::new(3, 8));
        let (mut words_window, mut words_word) = (WordTotals::new(10), WordTotals::new(10));
        for (sentence, windows) in sentences {
            for &(lo, c, hi, len, step) in windows {
                by_window.window(lo, c, hi, len, step);
                let words: Vec<u32> = sentence[lo..c]
                    .iter()
                    .chain(&sentence[c + 1..hi])
                    .copied()
                    .collect();
                by_word.inputs(&bands, &words, len, step);
                for &w in &words {
                    let t = &mut words_word;
                    t.input_updates[w as usize] += 1;
                    if let Some(x) = step {
                        t.input_sampled[w as usize] += 1;
                        t.input_step[w as usize] += x as f64;
                    }
                }
            }
            by_window.sentence_inputs(&bands, sentence, Some(&mut words_window));
        }
        let (mut got, mut want) = (Grid::new(3, 8), Grid::new(3, 8));
        by_window.flush(&mut got, 0.5);
        by_word.flush(&mut want, 0.5);
        assert_eq!(got, want);
        assert!(got.bands.iter().all(|b| b.input_updates > 0));
        assert_eq!(words_window.input_updates, words_word.input_updates);
        assert_eq!(words_window.input_sampled, words_word.input_sampled);
        assert_eq!(words_window.input_step, words_word.input_step);
        // Nothing is left behind for the next sentence.
        assert!(by_window.windows.counts.iter().all(|&c| c == 0));
        assert!(by_window.windows.step.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn a_flush_is_due_every_flush_visits_examples() {
        let mut p = Pending::new(1, 2);
        let mut grid = Grid::new(1, 2);
        let mut due = vec![];
        // Paths of 4 inputs: due before the path after the one that reaches FLUSH_VISITS
        // examples.
        let paths = FLUSH_VISITS / 4 + 10;
        for i in 0..paths {
            if p.flush_due() {
                due.push(i);
                p.flush(&mut grid, 0.1);
            }
            p.path(0, 2, 4);
        }
        let per = FLUSH_VISITS.div_ceil(4);
        assert_eq!(due, [per]);
        p.flush(&mut grid, 0.1);
        assert_eq!(grid.cell(0, 1).updates, 4 * paths as u64);
    }
}
