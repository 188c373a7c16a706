//! Step rules: how a scored output row (an HS inner node or an NS output word) and the
//! input rows are stepped, given the scalar gradient g = t - sigmoid(f).
//!
//! [`Sgd`] is word2vec.c's rule and costs nothing beyond the fused kernel step; it is what
//! the default configuration compiles to. [`Mitigated`] adds the mitigations of issue 6, each
//! off unless asked for:
//!
//! * **Depth weight** (`--lr-depth-scale K`): node n at depth d (root = 0) of a tree of
//!   maximum depth D has its log-likelihood term weighted by w(d) = 1 + K·d/D, so both its
//!   own step and its contribution to the input's step are multiplied by w(d). Deep nodes,
//!   visited rarely, take steps up to (1 + K) times larger.
//! * **Row-wise AdaGrad** (`--optimizer adagrad`): one accumulator per matrix row (input
//!   rows and output rows), holding the sum over steps of the row gradient's *mean squared
//!   element* ‖∇‖²/dim, as the row-wise AdaGrad of large embedding tables (DLRM/FBGEMM).
//!   A row's step is α(t)·∇/sqrt(G + ε) with G already including this step; α(t) keeps the
//!   linear decay, so AdaGrad redistributes step size between rows (rarely updated rows
//!   take larger, normalised steps; the root and frequent words' rows shrink). Per row
//!   rather than per element: 4 bytes per row instead of a second copy of each matrix, and
//!   the accumulators are updated Hogwild-style like the rows themselves
//!   ([`SharedScalars`]).
//! * **Input-step clipping** (`--clip-grad C`): an input row's whole step for one
//!   prediction (word2vec.c's `neu1e`, after AdaGrad scaling) is rescaled to norm C when
//!   it is longer.
//! * **Weight decay** (`--l2 L`): every row that takes a step first shrinks by
//!   (1 − α·L), the decoupled form of the gradient of (L/2)‖w‖²; untouched rows never
//!   decay. A node row decays once per input step; an input row once per prediction.
//! * **Saturation** (`--saturation clamp`): nodes with |f| >= 6 are stepped with the
//!   sigmoid's limit (0 or 1) instead of being skipped, so only disagreeing ones move.

use crate::config::{Optimizer, SaturationPolicy, TrainConfig};
use crate::kernel::{AlignedBuf, Kernel, SharedMatrix, SharedScalars};

/// Added to AdaGrad accumulators under the square root.
pub const ADAGRAD_EPS: f32 = 1e-8;

/// How gradients become steps; chosen once per worker, so each rule is monomorphised.
pub trait StepRule {
    /// True when the node step is the fused kernel step (plain SGD): the HS walk may then
    /// step two nodes at once instead of calling [`StepRule::node_step`].
    const FUSED: bool = false;
    /// True when nodes with |f| >= MAX_EXP are skipped rather than clamped.
    fn skips_saturated(&self) -> bool;
    /// A walk of `inputs` (rows of `stride` floats) against one target begins.
    fn begin_path<K: Kernel>(&mut self, k: K, inputs: &[f32], stride: usize);
    /// Output row `row` is about to be stepped by the inputs in turn.
    fn begin_node(&mut self, row: usize);
    /// Input `input` (row `h`, step accumulator `err`) steps the output row copy `v` at
    /// `depth` with scalar gradient `g_raw` = t - sigmoid(f) and learning rate `alpha`.
    #[allow(clippy::too_many_arguments)]
    fn node_step<K: Kernel>(
        &mut self,
        k: K,
        input: usize,
        depth: usize,
        g_raw: f32,
        alpha: f32,
        v: &mut [f32],
        h: &[f32],
        err: &mut [f32],
    );
    /// Output row `row` took at least one step since [`StepRule::begin_node`].
    fn end_node(&mut self, row: usize);
    /// Applies input row `row`'s accumulated step `err` (already scaled by `alpha`).
    fn input_step<K: Kernel>(
        &mut self,
        k: K,
        input: &SharedMatrix,
        row: usize,
        err: &[f32],
        alpha: f32,
    );
    /// [`StepRule::input_step`], returning `err . err` (as [`Kernel::dot`] computes it).
    fn input_step_norm2<K: Kernel>(
        &mut self,
        k: K,
        input: &SharedMatrix,
        row: usize,
        err: &[f32],
        alpha: f32,
    ) -> f32 {
        let n2 = k.dot(err, err);
        self.input_step(k, input, row, err, alpha);
        n2
    }
}

/// word2vec.c's SGD with its saturation policy: skip saturated visits (as HS in
/// word2vec.c) or clamp them (as NS in word2vec.c).
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    /// Skip saturated visits (true) or clamp them (false).
    pub skip: bool,
}

impl StepRule for Sgd {
    const FUSED: bool = true;

    #[inline(always)]
    fn skips_saturated(&self) -> bool {
        self.skip
    }
    #[inline(always)]
    fn begin_path<K: Kernel>(&mut self, _: K, _: &[f32], _: usize) {}
    #[inline(always)]
    fn begin_node(&mut self, _: usize) {}
    #[inline(always)]
    fn node_step<K: Kernel>(
        &mut self,
        k: K,
        _: usize,
        _: usize,
        g_raw: f32,
        alpha: f32,
        v: &mut [f32],
        h: &[f32],
        err: &mut [f32],
    ) {
        k.hs_step(g_raw * alpha, v, h, err);
    }
    #[inline(always)]
    fn end_node(&mut self, _: usize) {}
    #[inline(always)]
    fn input_step<K: Kernel>(
        &mut self,
        k: K,
        input: &SharedMatrix,
        row: usize,
        err: &[f32],
        _: f32,
    ) {
        input.add_to_row(k, row, err);
    }
    #[inline(always)]
    fn input_step_norm2<K: Kernel>(
        &mut self,
        k: K,
        input: &SharedMatrix,
        row: usize,
        err: &[f32],
        _: f32,
    ) -> f32 {
        input.add_to_row_norm2(k, row, err)
    }
}

/// Row-wise AdaGrad accumulators for both matrices.
pub struct AdaGradState {
    input: SharedScalars,
    output: SharedScalars,
}

impl AdaGradState {
    /// One accumulator per input row.
    pub fn input(&self) -> &SharedScalars {
        &self.input
    }

    /// One accumulator per output row (HS inner node or NS output word).
    pub fn output(&self) -> &SharedScalars {
        &self.output
    }
}

/// The step-rule settings of a run, shared by all threads (built once from the config).
pub struct StepSettings {
    skip_saturated: bool,
    depth_weight: Vec<f32>,
    adagrad: Option<AdaGradState>,
    clip: Option<f32>,
    l2: f32,
    inv_dim: f32,
}

impl StepSettings {
    /// Settings of `cfg` for a tree of depth `max_depth` (0 for NS) and matrices with
    /// `input_rows` and `output_rows` rows.
    pub fn new(cfg: &TrainConfig, max_depth: usize, input_rows: usize, output_rows: usize) -> Self {
        StepSettings {
            skip_saturated: cfg.params.saturation == SaturationPolicy::Skip,
            depth_weight: depth_weights(cfg.params.lr_depth_scale, max_depth),
            adagrad: (cfg.params.optimizer == Optimizer::Adagrad).then(|| AdaGradState {
                input: SharedScalars::filled(input_rows, 0.0),
                output: SharedScalars::filled(output_rows, 0.0),
            }),
            clip: cfg.params.clip_grad,
            l2: cfg.params.l2,
            inv_dim: 1.0 / cfg.params.dim as f32,
        }
    }

    /// The AdaGrad accumulators, when the run uses `--optimizer adagrad`.
    pub fn adagrad(&self) -> Option<&AdaGradState> {
        self.adagrad.as_ref()
    }

    /// Replaces the AdaGrad accumulators with saved ones (a resumed run); false, changing
    /// nothing, when the run has no AdaGrad or the lengths do not fit its matrices.
    pub fn restore_adagrad(&mut self, input: &[f32], output: &[f32]) -> bool {
        match self.adagrad.as_mut() {
            Some(a) if a.input.len() == input.len() && a.output.len() == output.len() => {
                a.input = SharedScalars::from_values(input);
                a.output = SharedScalars::from_values(output);
                true
            }
            _ => false,
        }
    }

    /// `Some(skip_saturated)` when the rule is plain SGD, so the caller can run [`Sgd`].
    pub fn plain_sgd(&self) -> Option<bool> {
        let plain = self.depth_weight.iter().all(|&w| w == 1.0)
            && self.adagrad.is_none()
            && self.clip.is_none()
            && self.l2 == 0.0;
        plain.then_some(self.skip_saturated)
    }
}

/// w(d) = 1 + k·d/max_depth for d in 0..=max_depth (all 1 when k = 0 or the tree is flat).
pub fn depth_weights(k: f32, max_depth: usize) -> Vec<f32> {
    (0..=max_depth)
        .map(|d| {
            if max_depth == 0 {
                1.0
            } else {
                1.0 + k * d as f32 / max_depth as f32
            }
        })
        .collect()
}

/// The general rule: any combination of the mitigations; one per thread.
pub struct Mitigated<'a> {
    s: &'a StepSettings,
    h_norm2: Vec<f32>,
    node_acc: f32,
    step: AlignedBuf,
    row: AlignedBuf,
    alpha_seen: f32,
    inv_alpha2: f32,
}

impl<'a> Mitigated<'a> {
    /// Per-thread state for rows of `stride` floats and up to `max_inputs` inputs a walk.
    pub fn new(s: &'a StepSettings, stride: usize, max_inputs: usize) -> Self {
        Mitigated {
            s,
            h_norm2: Vec::with_capacity(max_inputs.max(1)),
            node_acc: 0.0,
            step: AlignedBuf::zeros(stride),
            row: AlignedBuf::zeros(stride),
            alpha_seen: f32::NAN,
            inv_alpha2: 0.0,
        }
    }
}

impl StepRule for Mitigated<'_> {
    #[inline(always)]
    fn skips_saturated(&self) -> bool {
        self.s.skip_saturated
    }

    #[inline(always)]
    fn begin_path<K: Kernel>(&mut self, k: K, inputs: &[f32], stride: usize) {
        if self.s.adagrad.is_some() {
            self.h_norm2.clear();
            self.h_norm2
                .extend(inputs.chunks_exact(stride).map(|h| k.dot(h, h)));
        }
    }

    #[inline(always)]
    fn begin_node(&mut self, row: usize) {
        if let Some(a) = &self.s.adagrad {
            self.node_acc = a.output.get(row);
        }
    }

    #[inline(always)]
    fn node_step<K: Kernel>(
        &mut self,
        k: K,
        input: usize,
        depth: usize,
        g_raw: f32,
        alpha: f32,
        v: &mut [f32],
        h: &[f32],
        err: &mut [f32],
    ) {
        let weighted = g_raw * self.s.depth_weight[depth];
        let g = weighted * alpha;
        if self.s.l2 > 0.0 {
            k.scale(1.0 - alpha * self.s.l2, v);
        }
        if self.s.adagrad.is_some() {
            // The node row's gradient is weighted·h: mean squared element
            // weighted²·|h|²/dim.
            self.node_acc += weighted * weighted * self.h_norm2[input] * self.s.inv_dim;
            let g_node = g / (self.node_acc + ADAGRAD_EPS).sqrt();
            k.axpy(g, v, err);
            k.axpy(g_node, h, v);
        } else {
            k.hs_step(g, v, h, err);
        }
    }

    #[inline(always)]
    fn end_node(&mut self, row: usize) {
        if let Some(a) = &self.s.adagrad {
            a.output.set(row, self.node_acc);
        }
    }

    #[inline(always)]
    fn input_step<K: Kernel>(
        &mut self,
        k: K,
        input: &SharedMatrix,
        row: usize,
        err: &[f32],
        alpha: f32,
    ) {
        let step = &mut self.step[..];
        step.copy_from_slice(err);
        if let Some(a) = &self.s.adagrad {
            if alpha != self.alpha_seen {
                self.alpha_seen = alpha;
                self.inv_alpha2 = 1.0 / (alpha * alpha);
            }
            // err = alpha·∇, so ‖∇‖²/dim = ‖err‖²/(alpha²·dim), and the AdaGrad step
            // alpha·∇/sqrt(G) is err/sqrt(G).
            let acc = a.input.get(row) + k.dot(err, err) * self.inv_alpha2 * self.s.inv_dim;
            a.input.set(row, acc);
            k.scale(1.0 / (acc + ADAGRAD_EPS).sqrt(), step);
        }
        if let Some(c) = self.s.clip {
            let n2 = k.dot(step, step);
            if n2 > c * c {
                k.scale(c / n2.sqrt(), step);
            }
        }
        if self.s.l2 > 0.0 {
            input.copy_row(k, row, &mut self.row);
            k.axpy(-alpha * self.s.l2, &self.row, step);
        }
        input.add_to_row(k, row, step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Model;
    use crate::kernel::Scalar;

    fn cfg(f: impl FnOnce(&mut TrainConfig)) -> TrainConfig {
        let mut c = TrainConfig::new("a".into(), "b".into(), Model::Skipgram);
        c.params.dim = 2;
        f(&mut c);
        c.validate().expect("valid test config");
        c
    }

    fn matrix(rows: &[[f32; 2]]) -> SharedMatrix {
        let m = SharedMatrix::zeros(rows.len(), 2);
        for (r, x) in rows.iter().enumerate() {
            let mut row = vec![0.0; m.stride()];
            row[..2].copy_from_slice(x);
            m.add_to_row(Scalar, r, &row);
        }
        m
    }

    fn row(m: &SharedMatrix, r: usize) -> [f32; 2] {
        let mut v = vec![0.0; m.stride()];
        m.copy_row(Scalar, r, &mut v);
        [v[0], v[1]]
    }

    fn padded(x: [f32; 2], stride: usize) -> Vec<f32> {
        let mut v = vec![0.0; stride];
        v[..2].copy_from_slice(&x);
        v
    }

    fn close(a: [f32; 2], b: [f32; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6
    }

    #[test]
    fn depth_weights_grow_linearly_to_one_plus_k() {
        assert_eq!(depth_weights(2.0, 4), vec![1.0, 1.5, 2.0, 2.5, 3.0]);
        assert_eq!(depth_weights(0.0, 3), vec![1.0; 4]);
        assert_eq!(depth_weights(5.0, 0), vec![1.0]);
    }

    #[test]
    fn only_the_default_rule_is_plain_sgd() {
        let s = |c: &TrainConfig| StepSettings::new(c, 10, 4, 3).plain_sgd();
        assert_eq!(s(&cfg(|_| {})), Some(true));
        assert_eq!(
            s(&cfg(|c| c.params.saturation = SaturationPolicy::Clamp)),
            Some(false)
        );
        assert_eq!(s(&cfg(|c| c.params.lr_depth_scale = 1.0)), None);
        assert_eq!(s(&cfg(|c| c.params.optimizer = Optimizer::Adagrad)), None);
        assert_eq!(s(&cfg(|c| c.params.clip_grad = Some(1.0))), None);
        assert_eq!(s(&cfg(|c| c.params.l2 = 0.01)), None);
    }

    #[test]
    fn tuned_with_defaults_equals_sgd() {
        let c = cfg(|_| {});
        let st = StepSettings::new(&c, 4, 1, 1);
        let mut t = Mitigated::new(&st, 16, 1);
        let (h, mut v1, mut e1) = (
            padded([1.0, 2.0], 16),
            padded([0.5, -0.5], 16),
            vec![0.0; 16],
        );
        let (mut v2, mut e2) = (v1.clone(), e1.clone());
        t.node_step(Scalar, 0, 3, 0.4, 0.1, &mut v1, &h, &mut e1);
        Sgd { skip: true }.node_step(Scalar, 0, 3, 0.4, 0.1, &mut v2, &h, &mut e2);
        assert_eq!((v1, e1), (v2, e2));
    }

    #[test]
    fn depth_weight_scales_node_and_input_steps() {
        // K = 2, max depth 4: weight at depth 2 is 2. g = 0.4 * 2 * 0.1 = 0.08.
        let c = cfg(|c| c.params.lr_depth_scale = 2.0);
        let st = StepSettings::new(&c, 4, 1, 1);
        let mut t = Mitigated::new(&st, 16, 1);
        let (h, mut v, mut e) = (
            padded([1.0, 2.0], 16),
            padded([0.5, -0.5], 16),
            vec![0.0; 16],
        );
        t.node_step(Scalar, 0, 2, 0.4, 0.1, &mut v, &h, &mut e);
        assert!(close([v[0], v[1]], [0.5 + 0.08, -0.5 + 0.16]));
        assert!(close([e[0], e[1]], [0.04, -0.04]));
    }

    #[test]
    fn adagrad_node_steps_are_normalised_by_the_row_accumulator() {
        // dim 2, h = (1, 2): |h|² = 5. Step 1, g_raw = 0.5: G = 0.25 * 5 / 2 = 0.625,
        // node step 0.1 * 0.5 / sqrt(0.625) * h; err uses the unscaled 0.05 * v_old.
        // Step 2, g_raw = -0.25: G = 0.625 + 0.0625 * 2.5 = 0.78125.
        let c = cfg(|c| c.params.optimizer = Optimizer::Adagrad);
        let st = StepSettings::new(&c, 0, 1, 1);
        let mut t = Mitigated::new(&st, 16, 1);
        let h = padded([1.0, 2.0], 16);
        let (mut v, mut e) = (padded([0.5, -0.5], 16), vec![0.0; 16]);
        t.begin_path(Scalar, &h, 16);
        t.begin_node(0);
        t.node_step(Scalar, 0, 0, 0.5, 0.1, &mut v, &h, &mut e);
        let s1 = 0.05 / 0.625f32.sqrt();
        let v1 = [0.5 + s1, -0.5 + 2.0 * s1];
        assert!(close([v[0], v[1]], v1));
        assert!(close([e[0], e[1]], [0.025, -0.025]));
        t.node_step(Scalar, 0, 0, -0.25, 0.1, &mut v, &h, &mut e);
        let s2 = -0.025 / 0.78125f32.sqrt();
        assert!(close([v[0], v[1]], [v1[0] + s2, v1[1] + 2.0 * s2]));
        assert!(close(
            [e[0], e[1]],
            [0.025 - 0.025 * v1[0], -0.025 - 0.025 * v1[1]]
        ));
        t.end_node(0);
        assert!((st.adagrad.as_ref().map_or(0.0, |a| a.output.get(0)) - 0.78125).abs() < 1e-6);
    }

    #[test]
    fn adagrad_input_step_divides_by_root_of_mean_square() {
        // alpha 0.1, err = (0.03, 0.04): raw gradient (0.3, 0.4), |∇|²/dim = 0.125, so the
        // step is err / sqrt(0.125) = err * 2.8284.
        let c = cfg(|c| c.params.optimizer = Optimizer::Adagrad);
        let st = StepSettings::new(&c, 0, 1, 1);
        let mut t = Mitigated::new(&st, 16, 1);
        let m = matrix(&[[1.0, 1.0]]);
        t.input_step(Scalar, &m, 0, &padded([0.03, 0.04], 16), 0.1);
        let f = 1.0 / 0.125f32.sqrt();
        assert!(close(row(&m, 0), [1.0 + 0.03 * f, 1.0 + 0.04 * f]));
        // A second identical step: G = 0.25, factor 2.
        t.input_step(Scalar, &m, 0, &padded([0.03, 0.04], 16), 0.1);
        assert!(close(
            row(&m, 0),
            [1.0 + 0.03 * (f + 2.0), 1.0 + 0.04 * (f + 2.0)]
        ));
    }

    #[test]
    fn clipping_caps_the_input_step_norm_and_keeps_its_direction() {
        let c = cfg(|c| c.params.clip_grad = Some(1.0));
        let st = StepSettings::new(&c, 0, 2, 1);
        let mut t = Mitigated::new(&st, 16, 1);
        let m = matrix(&[[0.0, 0.0], [0.0, 0.0]]);
        t.input_step(Scalar, &m, 0, &padded([3.0, 4.0], 16), 0.1);
        assert!(close(row(&m, 0), [0.6, 0.8]));
        t.input_step(Scalar, &m, 1, &padded([0.3, 0.4], 16), 0.1);
        assert!(close(row(&m, 1), [0.3, 0.4]));
    }

    #[test]
    fn weight_decay_shrinks_touched_rows_only() {
        // alpha 0.5, L = 0.1: factor 0.95.
        let c = cfg(|c| {
            c.params.alpha = 0.5;
            c.params.l2 = 0.1;
        });
        let st = StepSettings::new(&c, 0, 2, 1);
        let mut t = Mitigated::new(&st, 16, 1);
        let m = matrix(&[[1.0, 2.0], [1.0, 2.0]]);
        t.input_step(Scalar, &m, 0, &padded([0.0, 0.1], 16), 0.5);
        assert!(close(row(&m, 0), [0.95, 1.9 + 0.1]));
        assert!(close(row(&m, 1), [1.0, 2.0]));
        // A node row shrinks before its step, and the input gradient sees the shrunk row.
        let (h, mut v, mut e) = (
            padded([1.0, 0.0], 16),
            padded([2.0, 2.0], 16),
            vec![0.0; 16],
        );
        t.node_step(Scalar, 0, 0, 0.2, 0.5, &mut v, &h, &mut e);
        assert!(close([v[0], v[1]], [1.9 + 0.1, 1.9]));
        assert!(close([e[0], e[1]], [0.19, 0.19]));
    }
}
