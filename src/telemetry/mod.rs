//! Instrumentation of hierarchical softmax: the [`Probe`] the hot loop reports to, the
//! recording probe [`GridProbe`] and the files it writes; [`crate::experiment::train_recorded`] trains with one probe per
//! thread and writes the `--stats` / `--word-stats` files.
//!
//! The loop is generic over the probe; with [`NoProbe`] every call and every statistic
//! computed only for the probe (`if P::ENABLED { .. }`) compiles away.
//!
//! What is measured, for every visit of inner node n at depth d (root = 0) on the path of
//! target word w, with input vector h, score f = h·v_n and label t = 1 - code:
//! * g = t - sigmoid(f), the gradient scalar before the learning rate;
//! * the node step |Δv_n| = alpha |g| |h|;
//! * the gradient sent back to the input, alpha |g| |v_n| (v_n before this input's step):
//!   deep nodes start at zero, so |g| stays near 0.5 there while this stays tiny;
//! * the loss -ln sigmoid(±f);
//! * saturation: |f| >= MAX_EXP, split by whether the sign of f agrees with the label.
//!
//! On a recorded path the hot loop only stores each visit's score, raw gradient and ln sigmoid
//! (from the sigmoid's own table slot); once the path is trained,
//! [`crate::kernel::Kernel::fold_path`] forms the losses and sums per node (SIMD across
//! nodes), one lane per depth, adding straight into the running sums the probe lends it
//! ([`Probe::path_lanes`]).
//! Saturated visits are summed apart, out of line, into a [`NodeSums`] per node that had
//! some; on unrecorded paths only they are counted.
//!
//! Costs are kept per path, not per visit, where possible. |h| comes with the first node
//! pair's dot products, |v_n|^2 with the first input's step of each node (both kernels keep
//! `dot`'s order of additions, so the figures are bit-identical to separate dot products),
//! and |v_n|^2 is then tracked exactly through each step (|v + s h|^2 = |v|^2 + 2 s f +
//! s^2 |h|^2); the input step's norm comes with the step itself. [`GridProbe`] adds a path
//! into short-lived per-thread sums (`pending`: f32 lanes per band and depth, a histogram of
//! path lengths for the visit counts, per-band input sums) that it flushes into its f64/u64
//! [`Grid`] every thousand or so examples and before the grid is read.

pub mod collector;
pub mod grid;
mod pending;
pub mod snapshot;
pub mod stream;

use std::sync::Arc;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::probe::{LanesMut, NodeSums, Probe, RunInfo};
use crate::sampler::Rng;

/// First random-stream number of the probes' path sampling (thread t uses this + t), far
/// from the workers' streams 0..threads.
const PROBE_STREAM: u64 = 1 << 32;
use collector::{Collector, ProbeState, SavedTelemetry};
use grid::{Grid, Layout, WordTotals};
use pending::Pending;
use snapshot::SnapshotSchedule;

/// The recording probe: thread-local band x depth [`Grid`] (and optional per-word totals),
/// fed through short-lived per-thread sums (`pending`) and handed to the shared [`Collector`] at
/// snapshot boundaries.
///
/// Aligned to 128 bytes (two cache lines, the unit AMD and Intel prefetchers fetch) so that
/// the probes of neighbouring threads, which sit side by side in one slice and whose fields
/// are read and written on every path, never share a line.
#[repr(align(128))]
pub struct GridProbe<'a> {
    collector: &'a Collector<'a>,
    thread: usize,
    layout: Arc<Layout>,
    schedule: SnapshotSchedule,
    grid: Grid,
    pending: Pending,
    words: Option<WordTotals>,
    /// Band of the current target.
    band: usize,
    path_len: u32,
    sampled: bool,
    /// A path is sampled when the next 32 random bits are below this (2^32 = always).
    sample_below: u64,
    /// The sampling stream, apart from the worker's own so recording never changes training.
    rng: Rng,
    alpha: f32,
    next_boundary: u64,
    last_done: u64,
}

impl<'a> GridProbe<'a> {
    /// A probe for thread `thread` reporting to `collector`.
    pub fn new(collector: &'a Collector<'a>, thread: usize) -> Self {
        let cfg = collector.config();
        GridProbe {
            collector,
            thread,
            layout: Arc::new(Layout::empty()),
            schedule: SnapshotSchedule::new(0, cfg.every_pct),
            grid: Grid::default(),
            pending: Pending::default(),
            words: None,
            band: 0,
            path_len: 0,
            sampled: true,
            sample_below: (cfg.sample * (1u64 << 32) as f64) as u64,
            rng: Rng::new(collector.seed(), PROBE_STREAM + thread as u64),
            alpha: 0.0,
            next_boundary: u64::MAX,
            last_done: 0,
        }
    }

    /// Moves the pending sums into the grid.
    pub(crate) fn flush(&mut self) {
        self.pending.flush(&mut self.grid, self.alpha);
    }

    /// Takes this thread's unsent accumulators (leaving them empty) and the last progress
    /// it published.
    pub(crate) fn take(&mut self) -> (Grid, Option<WordTotals>, u64) {
        self.flush();
        let g = std::mem::replace(&mut self.grid, self.layout.grid());
        (g, self.words.take(), self.last_done)
    }

    /// This probe's state at a publish point, for a checkpoint.
    fn saved(&self) -> ProbeState {
        ProbeState {
            grid: self.grid.clone(),
            words: self.words.clone(),
            rng: self.rng.state(),
            alpha_bits: self.alpha.to_bits(),
            next_boundary: self.next_boundary,
            last_done: self.last_done,
        }
    }

    /// Continues from `s` (after [`Probe::prepare`]).
    fn restore(&mut self, s: ProbeState) -> Result<()> {
        if self.words.is_some() != s.words.is_some()
            || s.words
                .as_ref()
                .is_some_and(|w| w.input_updates.len() != self.layout.band_of_word.len())
        {
            return Err(Error::Config(
                "the checkpoint's telemetry was recorded with a different --word-stats \
                 setting; resume with the same one"
                    .into(),
            ));
        }
        self.grid = s.grid;
        self.words = s.words;
        self.rng = Rng::from_state(s.rng);
        self.alpha = f32::from_bits(s.alpha_bits);
        self.next_boundary = s.next_boundary;
        self.last_done = s.last_done;
        Ok(())
    }

    /// The input step's norm from its square, on recorded paths only.
    #[inline(always)]
    fn step_norm(&self, step_norm2: f32) -> Option<f32> {
        self.sampled.then(|| step_norm2.max(0.0).sqrt())
    }

    /// Counts one input update of each word in `words`, by one step of squared norm
    /// `step_norm2`, along the current path.
    #[inline(always)]
    fn add_inputs(&mut self, words: &[u32], step_norm2: f32) {
        let step = self.step_norm(step_norm2);
        self.pending
            .inputs(&self.layout.band_of_word, words, self.path_len, step);
        if let Some(t) = &mut self.words {
            let (sampled, x) = step.map_or((0, 0.0), |x| (1, x as f64));
            for &w in words {
                t.add_inputs(w as usize, 1, sampled, x);
            }
        }
    }

    #[inline(always)]
    fn next_random(&mut self) -> u64 {
        self.rng.next_u64() >> 32
    }
}

impl Probe for GridProbe<'_> {
    const ENABLED: bool = true;

    fn save_all(probes: &[Self]) -> Option<serde_json::Value> {
        let first = probes.first()?;
        let saved = first
            .collector
            .save(probes.iter().map(GridProbe::saved).collect())?;
        serde_json::to_value(saved).ok()
    }

    fn start_all(
        probes: &mut [Self],
        saved: Option<&serde_json::Value>,
        start_done: u64,
    ) -> Result<()> {
        let Some(first) = probes.first() else {
            return Ok(());
        };
        let saved = match saved {
            Some(v) => Some(SavedTelemetry::deserialize(v).map_err(|e| {
                Error::Config(format!("the checkpoint's telemetry cannot be read: {e}"))
            })?),
            None => None,
        };
        let collector = first.collector;
        if let Some(states) = collector.start(saved, start_done)? {
            for (p, s) in probes.iter_mut().zip(states) {
                p.restore(s)?;
            }
        }
        Ok(())
    }

    fn prepare(&mut self, run: &RunInfo) {
        let (layout, schedule) = self.collector.prepare(run);
        self.grid = layout.grid();
        self.pending = Pending::new(layout.bands.len(), layout.n_depths);
        if self.collector.config().word_stats.is_some() {
            self.words = Some(WordTotals::new(layout.band_of_word.len()));
        }
        self.layout = layout;
        self.schedule = schedule;
        self.alpha = run.schedule.alpha_at(0);
        self.next_boundary = schedule.boundary(1);
    }

    #[inline(always)]
    fn begin_path(&mut self, target: u32, n_inputs: usize, path_len: usize) {
        let t = target as usize;
        self.band = self.layout.band_of_word[t] as usize;
        let len = path_len.min(self.layout.n_depths);
        self.path_len = len as u32;
        if self.pending.flush_due() {
            self.flush();
        }
        self.pending.path(self.band, len, n_inputs);
        if let Some(w) = &mut self.words {
            w.target_examples[t] += n_inputs as u64;
        }
        self.sampled =
            self.sample_below > u32::MAX as u64 || self.next_random() < self.sample_below;
    }

    #[inline(always)]
    fn sampling(&self) -> bool {
        self.sampled
    }

    fn node(&mut self, depth: usize, n: &NodeSums) {
        let nd = self.grid.n_depths();
        if depth >= nd {
            return;
        }
        let cell = &mut self.grid.cells[self.band * nd + depth];
        cell.sat_agree += n.sat_agree as u64;
        cell.sat_disagree += n.sat_disagree as u64;
        cell.skipped += n.skipped as u64;
        cell.sampled += n.sampled as u64;
        cell.abs_g += n.abs_g as f64;
        cell.node_step += n.node_step as f64;
        cell.input_grad += n.input_grad as f64;
        cell.loss += n.loss as f64;
    }

    #[inline(always)]
    fn path_lanes(&mut self, nodes: usize, width: usize) -> Option<LanesMut<'_>> {
        Some(self.pending.path_lanes(self.band, nodes, width))
    }

    #[inline(always)]
    fn end_input(&mut self, _input: usize, word: u32, step_norm2: f32) {
        self.add_inputs(std::slice::from_ref(&word), step_norm2);
    }

    #[inline(always)]
    fn end_window(
        &mut self,
        sentence: &[u32],
        lo: usize,
        centre: usize,
        hi: usize,
        step_norm2: f32,
    ) {
        if sentence.len() <= pending::WINDOW_SENTENCE_MAX {
            let step = self.step_norm(step_norm2);
            self.pending.window(lo, centre, hi, self.path_len, step);
        } else {
            self.add_inputs(&sentence[lo..centre], step_norm2);
            self.add_inputs(&sentence[centre + 1..hi], step_norm2);
        }
    }

    fn end_sentence(&mut self, sentence: &[u32]) {
        self.pending
            .sentence_inputs(&self.layout.band_of_word, sentence, self.words.as_mut());
    }

    fn publish(&mut self, done: u64, alpha: f32) {
        // Pending input updates were trained at the old rate.
        self.flush();
        self.alpha = alpha;
        self.last_done = done;
        if done >= self.next_boundary {
            let k = self.schedule.last_ending_at_or_before(done);
            self.collector.deposit(self.thread, k, &mut self.grid);
            self.next_boundary = self.schedule.boundary(k + 1);
        }
    }
}

#[cfg(test)]
mod tests;
