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

use super::grid::Grid;
use crate::kernel::{LanesMut, NodeLanes};

/// Examples (input, path) between flushes.
pub const FLUSH_VISITS: u32 = 1024;

/// Input-side sums of one band since the last flush.
#[derive(Clone, Copy, Debug, Default)]
struct InputSums {
    /// Updates in the low 32 bits, their summed path lengths in the high 32: one add per
    /// update. Neither half can overflow between flushes: at most `FLUSH_VISITS` paths'
    /// inputs (under 2,000 per path, as sentences are capped at 1,000 words) along paths
    /// under 93 nodes (the deepest Huffman code over 64-bit counts) sum below 2^28.
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
