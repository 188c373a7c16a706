//! Instrumentation of hierarchical softmax: the [`Probe`] the hot loop reports to.
//!
//! The loop is generic over the probe; with [`NoProbe`] every call and every statistic
//! computed only for the probe (`if P::ENABLED { .. }`) compiles away.

/// How a node's score relates to the sigmoid table's edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saturation {
    /// |f| < MAX_EXP: an ordinary update.
    No,
    /// |f| >= MAX_EXP and the sign agrees with the label: the gradient is truly near zero.
    Agreeing,
    /// |f| >= MAX_EXP and the sign disagrees: a confidently wrong node.
    Disagreeing,
}

/// One inner-node update as seen by a probe.
#[derive(Clone, Copy, Debug)]
pub struct NodeEvent {
    /// Depth of the node (root = 0).
    pub depth: usize,
    /// Inner-node id.
    pub node: u32,
    /// Label t = 1 - code.
    pub label: f32,
    /// Score f = h . v_n before the update.
    pub f: f32,
    /// Gradient scalar t - sigmoid(f) (not multiplied by the learning rate).
    pub g: f32,
    /// Learning rate applied.
    pub alpha: f32,
    /// |h|^2 of the input vector.
    pub h_norm2: f32,
    /// |v_n|^2 of the node vector before the update.
    pub v_norm2: f32,
    /// Saturation class.
    pub saturation: Saturation,
    /// Whether the update was applied (skipped when saturated under the skip policy).
    pub applied: bool,
}

/// Receives the events of the HS hot loop.
pub trait Probe: Send {
    /// False for the no-op probe: the loop then skips every probe-only computation.
    const ENABLED: bool;
    /// A path walk for `target` begins, with `n_inputs` input vectors.
    fn begin_path(&mut self, target: u32, n_inputs: usize);
    /// One node update of input `input`.
    fn node(&mut self, input: usize, ev: &NodeEvent);
    /// Input `input`'s accumulated step (neu1e) had squared norm `step_norm2`; `word` is the
    /// word whose input vector receives it (`u32::MAX` for CBOW's averaged input).
    fn end_input(&mut self, input: usize, word: u32, step_norm2: f32);
}

/// The probe that records nothing and costs nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProbe;

impl Probe for NoProbe {
    const ENABLED: bool = false;
    #[inline(always)]
    fn begin_path(&mut self, _: u32, _: usize) {}
    #[inline(always)]
    fn node(&mut self, _: usize, _: &NodeEvent) {}
    #[inline(always)]
    fn end_input(&mut self, _: usize, _: u32, _: f32) {}
}
