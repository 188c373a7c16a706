//! Hierarchical softmax: walk the target word's path and step each inner node.
//!
//! For input vector h and inner node n with vector v_n and code bit c, word2vec.c maximises
//! ln sigmoid(±f) with f = h·v_n and label t = 1 - c. The gradient of that log-likelihood
//! with respect to f is t - sigmoid(f), so with learning rate alpha and g = alpha (t - σ(f)):
//!   Δv_n = g h          (the node step)
//!   Δh  += g v_n        (accumulated over the path, applied after the walk: neu1e)
//! Nodes with |f| >= MAX_EXP are skipped, as in word2vec.c, unless the step rule clamps
//! them; how g becomes the two steps is the [`StepRule`]'s job ([`crate::optim`]).
//!
//! Several inputs can train against one path at once (skip-gram's context window against
//! the centre word's path): each node row is copied once, stepped by every input in turn
//! (exactly the sequential word2vec.c arithmetic) and its change published once, so the top
//! of the tree is read and written once per window instead of once per context word.
//!
//! The walks live in `reference` (one node at a time, every step rule) and `paired` (two
//! nodes at a time, plain SGD); `replicas` holds the per-thread scratch rows and the
//! top-of-tree replicas, `record` the buffers of recorded (telemetry) paths.

mod paired;
mod record;
mod reference;
mod replicas;

pub use replicas::NodeScratch;

use super::sigmoid::SigmoidTable;
use super::OutputLoss;
use crate::kernel::{Kernel, SharedMatrix};
use crate::optim::StepRule;
use crate::probe::Probe;
use crate::sampler::Rng;
use crate::tree::Tree;
use paired::train_path_pairs;
use reference::train_path_nodes;

/// Hierarchical softmax over `tree`, with inner-node vectors `inner`.
pub struct HsLoss<'a> {
    /// The output tree.
    pub tree: &'a Tree,
    /// Inner-node vectors (word2vec.c `syn1`).
    pub inner: &'a SharedMatrix,
    /// Sigmoid table.
    pub sig: &'a SigmoidTable,
}

impl OutputLoss for HsLoss<'_> {
    #[inline(always)]
    fn train<K: Kernel, R: StepRule, P: Probe>(
        &self,
        k: K,
        target: u32,
        inputs: &[f32],
        errs: &mut [f32],
        alpha: f32,
        rule: &mut R,
        _: &mut Rng,
        scratch: &mut NodeScratch,
        probe: &mut P,
    ) {
        let path = self.tree.path(target as usize);
        train_path(
            k, path, self.inner, inputs, errs, alpha, self.sig, scratch, rule, probe,
        );
    }

    #[inline(always)]
    fn path_len(&self, target: u32) -> usize {
        self.tree.depth(target as usize)
    }
}

/// Trains `path` (packed steps, root first) against the `inputs` rows (`stride` floats each)
/// and adds each input's gradient into the matching row of `errs`, stepping by `rule`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn train_path<K: Kernel, R: StepRule, P: Probe>(
    k: K,
    path: &[u32],
    inner: &SharedMatrix,
    inputs: &[f32],
    errs: &mut [f32],
    alpha: f32,
    sig: &SigmoidTable,
    scratch: &mut NodeScratch,
    rule: &mut R,
    probe: &mut P,
) {
    // Probe-only work happens on recorded paths: |h| once per input, |v_n|^2 once per node
    // load, then tracked through each step: |v + s h|^2 = |v|^2 + 2 s f + s^2 |h|^2.
    let record = P::ENABLED && probe.sampling();
    let ctx = PathCtx { alpha, record };
    if R::FUSED {
        // Recorded and unrecorded paths get separately compiled walks, so that an
        // unsampled path carries no recording code in its inner loop; so do walks with a
        // single input (CBOW), whose loop over inputs then vanishes.
        macro_rules! walk {
            ($rec:literal, $one:literal) => {
                train_path_pairs::<K, R, P, $rec, $one>(
                    k, path, inner, inputs, errs, &ctx, sig, scratch, rule, probe,
                )
            };
        }
        match (record, inputs.len() == inner.stride()) {
            (true, true) => walk!(true, true),
            (true, false) => walk!(true, false),
            (false, true) => walk!(false, true),
            (false, false) => walk!(false, false),
        }
    } else {
        train_path_nodes(
            k, path, inner, inputs, errs, &ctx, sig, scratch, rule, probe,
        );
    }
}

/// Per-path values shared by every node of a walk.
struct PathCtx {
    alpha: f32,
    record: bool,
}

/// Per-node values of a walk: which node, at which depth, its label and the path's values.
struct NodeCtx {
    depth: usize,
    node: usize,
    label: f32,
    alpha: f32,
    record: bool,
}

/// Label t = 1 - code of a packed path step.
#[inline(always)]
fn label_of(step: u32) -> f32 {
    (1 - (step & 1)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Scalar;
    use crate::optim::Sgd;
    use crate::probe::NoProbe;

    #[test]
    fn one_node_step_matches_hand_computation() {
        // One inner node, v = (0.5, 0, ...), h = (1, 2, ...), code 0 -> label 1.
        let inner = SharedMatrix::zeros(1, 2);
        let stride = inner.stride();
        let mut init = vec![0.0; stride];
        init[0] = 0.5;
        inner.add_to_row(Scalar, 0, &init);
        let mut h = vec![0.0; stride];
        h[0] = 1.0;
        h[1] = 2.0;
        let mut err = vec![0.0; stride];
        let sig = SigmoidTable::new();
        let mut scratch = NodeScratch::new(stride, 0);
        train_path(
            Scalar,
            &[0],
            &inner,
            &h,
            &mut err,
            0.1,
            &sig,
            &mut scratch,
            &mut Sgd { skip: true },
            &mut NoProbe,
        );
        let f = 0.5f32;
        let g = (1.0 - sig.sigmoid(f)) * 0.1;
        assert!((err[0] - g * 0.5).abs() < 1e-7 && err[1] == 0.0);
        let mut v = vec![0.0; stride];
        inner.copy_row(Scalar, 0, &mut v);
        assert!((v[0] - (0.5 + g)).abs() < 1e-7 && (v[1] - 2.0 * g).abs() < 1e-7);
    }

    /// One node with v = 10 and code 1 (label 0) trained by h = 1 at rate 0.1 under `rule`;
    /// returns (input gradient, node value after the step).
    fn confidently_wrong_node<R: StepRule>(rule: &mut R) -> (f32, f32) {
        let inner = SharedMatrix::zeros(1, 1);
        let stride = inner.stride();
        let mut init = vec![0.0; stride];
        init[0] = 10.0;
        inner.add_to_row(Scalar, 0, &init);
        let mut h = vec![0.0; stride];
        h[0] = 1.0;
        let mut err = vec![0.0; stride];
        let mut scratch = NodeScratch::new(stride, 0);
        train_path(
            Scalar,
            &[1],
            &inner,
            &h,
            &mut err,
            0.1,
            &SigmoidTable::new(),
            &mut scratch,
            rule,
            &mut NoProbe,
        );
        let mut v = vec![0.0; stride];
        inner.copy_row(Scalar, 0, &mut v);
        (err[0], v[0])
    }

    #[test]
    fn saturated_nodes_are_skipped() {
        // f = 10: confidently wrong, yet skipped as in word2vec.c
        let (err, _) = confidently_wrong_node(&mut Sgd { skip: true });
        assert_eq!(err, 0.0);
    }

    #[test]
    fn clamped_nodes_keep_the_limit_gradient() {
        // f = 10 >= MAX_EXP: clamp takes sigmoid's limit 1, so g = (0 - 1) * 0.1
        // and err = g * v_old, v = 10 + g * h.
        let (err, v) = confidently_wrong_node(&mut Sgd { skip: false });
        let g = -0.1;
        assert!((err - g * 10.0).abs() < 1e-5, "{err}");
        assert!((v - (10.0 + g)).abs() < 1e-5);
    }

    #[test]
    fn window_batching_equals_sequential_contexts() {
        // Two inputs against a 2-node path == two separate walks in sequence.
        let dim = 5;
        let mk = || {
            let m = SharedMatrix::zeros(2, dim);
            let s = m.stride();
            for r in 0..2 {
                let row: Vec<f32> = (0..s)
                    .map(|i| if i < dim { 0.1 * (i + r) as f32 } else { 0.0 })
                    .collect();
                m.add_to_row(Scalar, r, &row);
            }
            m
        };
        let (a, b) = (mk(), mk());
        let s = a.stride();
        let inputs: Vec<f32> = (0..2 * s)
            .map(|i| {
                if i % s < dim {
                    (i as f32 * 0.37).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let sig = SigmoidTable::new();
        let path = [0u32 << 1, (1 << 1) | 1];
        let mut err_a = vec![0.0; 2 * s];
        train_path(
            Scalar,
            &path,
            &a,
            &inputs,
            &mut err_a,
            0.05,
            &sig,
            &mut NodeScratch::new(s, 0),
            &mut Sgd { skip: true },
            &mut NoProbe,
        );
        let mut err_b = vec![0.0; 2 * s];
        for j in 0..2 {
            train_path(
                Scalar,
                &path,
                &b,
                &inputs[j * s..(j + 1) * s],
                &mut err_b[j * s..(j + 1) * s],
                0.05,
                &sig,
                &mut NodeScratch::new(s, 0),
                &mut Sgd { skip: true },
                &mut NoProbe,
            );
        }
        // Each node sees input 0's step then input 1's in both orders of work, and each
        // input row is constant during the walk, so results agree to rounding.
        let (mut ra, mut rb) = (vec![0.0; s], vec![0.0; s]);
        for r in 0..2 {
            a.copy_row(Scalar, r, &mut ra);
            b.copy_row(Scalar, r, &mut rb);
            for (x, y) in ra.iter().zip(&rb) {
                assert!((x - y).abs() < 1e-6);
            }
        }
        for (x, y) in err_a.iter().zip(&err_b) {
            assert!((x - y).abs() < 1e-6);
        }
    }
}
