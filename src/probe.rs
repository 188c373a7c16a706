//! The interface between the hot loop and instrumentation: the [`Probe`] trait the HS walk
//! and the pairing report to, [`NoProbe`] (which compiles away), and the small value types
//! the events carry. Recording probes live in [`crate::telemetry`].
//!
//! The loop is generic over the probe; with [`NoProbe`] every call and every statistic
//! computed only for the probe (`if P::ENABLED { .. }`) compiles away.

pub use crate::kernel::LanesMut;
use crate::schedule::Schedule;
use crate::tree::Tree;
use crate::vocab::Vocab;

/// What one inner node's saturated visits on a path added up to (with their magnitudes on
/// recorded paths), handed to the probe once per node that had any.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NodeSums {
    /// Visits whose magnitudes were recorded.
    pub sampled: u32,
    /// Saturated visits whose sign agreed with the label (counted on every path).
    pub sat_agree: u32,
    /// Saturated visits whose sign contradicted the label (counted on every path).
    pub sat_disagree: u32,
    /// Saturated visits whose step was not applied (counted on every path).
    pub skipped: u32,
    /// Sum of |t - sigmoid(f)|.
    pub abs_g: f32,
    /// Sum of the node step |step| |h|.
    pub node_step: f32,
    /// Sum of the gradient sent to the input, |step| |v_n|.
    pub input_grad: f32,
    /// Sum of -ln sigmoid(±f).
    pub loss: f32,
}

impl NodeSums {
    /// Adds one saturated visit (|f| >= MAX_EXP): label `t` (1 or 0), score `f`, `step`
    /// the scalar applied (Δv_n = step h, Δh += step v_n; 0 when skipped), `h_norm` = |h|,
    /// `v_norm2` = |v_n|^2 before this step. Saturation is always counted, magnitudes only
    /// when `record`. In-range visits are summed by [`crate::kernel::Kernel::fold_path`].
    ///
    /// Out of line and marked cold: saturation is rare, and its exact logistic calls would
    /// otherwise force the hot loop's registers onto the stack.
    #[cold]
    #[inline(never)]
    pub fn saturated(
        &mut self,
        t: f32,
        f: f32,
        step: f32,
        h_norm: f32,
        v_norm2: f32,
        record: bool,
    ) {
        // x = f signed by the label: the loss is -ln sigmoid(x).
        let x = if t > 0.5 { f } else { -f };
        if x > 0.0 {
            self.sat_agree += 1;
        } else {
            self.sat_disagree += 1;
        }
        if step == 0.0 {
            self.skipped += 1;
        }
        if !record {
            return;
        }
        // Beyond the table's edge use the exact logistic: |t - sigmoid(f)| = sigmoid(-x)
        // and -ln sigmoid(x) = ln(1 + e^-x).
        let x = x as f64;
        let loss = if x > 0.0 {
            (-x).exp().ln_1p()
        } else {
            -x + x.exp().ln_1p()
        };
        let step = step.abs();
        self.sampled += 1;
        self.abs_g += (1.0 / (1.0 + x.exp())) as f32;
        self.node_step += step * h_norm;
        self.input_grad += step * v_norm2.max(0.0).sqrt();
        self.loss += loss as f32;
    }
}

/// What a probe learns about the run before training starts.
pub struct RunInfo<'a> {
    /// The vocabulary (word ids = tree leaves).
    pub vocab: &'a Vocab,
    /// The output tree.
    pub tree: &'a Tree,
    /// The learning-rate schedule (its total is the run's word count over all epochs).
    pub schedule: Schedule,
}

/// Receives the events of the HS hot loop.
pub trait Probe: Send {
    /// False for the no-op probe: the loop then skips every probe-only computation.
    const ENABLED: bool;
    /// Called once per thread before training, after the vocabulary and tree are built.
    fn prepare(&mut self, _run: &RunInfo) {}
    /// A path walk for `target` (code length `path_len`) begins, with `n_inputs` input
    /// vectors.
    fn begin_path(&mut self, target: u32, n_inputs: usize, path_len: usize);
    /// Whether the current path's magnitudes are recorded (false to save the work).
    fn sampling(&self) -> bool {
        Self::ENABLED
    }
    /// Saturated visits of the node at `depth` on the current path (any path, so that
    /// saturation counts stay exact; with their magnitudes on recorded paths).
    fn node(&mut self, depth: usize, sums: &NodeSums);
    /// Running sums for the in-range visits of the current, recorded path's `nodes` nodes: a
    /// `width`-lane window whose lane d takes the node at depth d, added to by the fold. None
    /// (the default) hands them on node by node to [`Probe::node`] instead.
    fn path_lanes(&mut self, _nodes: usize, _width: usize) -> Option<LanesMut<'_>> {
        None
    }
    /// Input `input`'s accumulated step (neu1e) had squared norm `step_norm2` (0 when the
    /// path was not sampled); `word` is the word whose input vector receives it.
    fn end_input(&mut self, input: usize, word: u32, step_norm2: f32);
    /// CBOW: one accumulated step of squared norm `step_norm2` reaches the input vector of
    /// every word of `sentence[lo..hi]` but the centre `sentence[centre]`. The sentence's
    /// last window is followed by [`Probe::end_sentence`].
    fn end_window(
        &mut self,
        sentence: &[u32],
        lo: usize,
        centre: usize,
        hi: usize,
        step_norm2: f32,
    ) {
        let words = sentence[lo..centre].iter().chain(&sentence[centre + 1..hi]);
        for (j, &w) in words.enumerate() {
            self.end_input(j, w, step_norm2);
        }
    }
    /// CBOW: every window of `sentence` has been reported.
    fn end_sentence(&mut self, _sentence: &[u32]) {}
    /// The worker published progress: `done` words in all, learning rate now `alpha`.
    fn publish(&mut self, _done: u64, _alpha: f32) {}
    /// The state of a run's probes (one per thread) at a checkpoint, every worker paused
    /// at a publish point; None when there is nothing to keep.
    fn save_all(_probes: &[Self]) -> Option<serde_json::Value>
    where
        Self: Sized,
    {
        None
    }
    /// Called once on a run's probes after [`Probe::prepare`], before training: continue
    /// from `saved` (what [`Probe::save_all`] kept in the checkpoint resumed from, if
    /// anything), `start_done` words being already trained.
    fn start_all(
        _probes: &mut [Self],
        _saved: Option<&serde_json::Value>,
        _start_done: u64,
    ) -> crate::error::Result<()>
    where
        Self: Sized,
    {
        Ok(())
    }
}

/// The probe that records nothing and costs nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProbe;

impl Probe for NoProbe {
    const ENABLED: bool = false;
    #[inline(always)]
    fn begin_path(&mut self, _: u32, _: usize, _: usize) {}
    #[inline(always)]
    fn node(&mut self, _: usize, _: &NodeSums) {}
    #[inline(always)]
    fn end_input(&mut self, _: usize, _: u32, _: f32) {}
    #[inline(always)]
    fn end_window(&mut self, _: &[u32], _: usize, _: usize, _: usize, _: f32) {}
    #[inline(always)]
    fn end_sentence(&mut self, _: &[u32]) {}
}
