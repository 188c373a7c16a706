//! Hierarchical softmax: walk the target word's path and step each inner node.
//!
//! For input vector h and inner node n with vector v_n and code bit c, word2vec.c maximises
//! ln sigmoid(±f) with f = h·v_n and label t = 1 - c. The gradient of that log-likelihood
//! with respect to f is t - sigmoid(f), so with learning rate alpha and g = alpha (t - σ(f)):
//!   Δv_n = g h          (the node step)
//!   Δh  += g v_n        (accumulated over the path, applied after the walk: neu1e)
//! Nodes with |f| >= MAX_EXP are skipped, as in word2vec.c.
//!
//! Several inputs can train against one path at once (skip-gram's context window against
//! the centre word's path): each node row is copied once, stepped by every input in turn
//! (exactly the sequential word2vec.c arithmetic) and its change published once, so the top
//! of the tree is read and written once per window instead of once per context word.

use super::sigmoid::{SigmoidTable, MAX_EXP};
use crate::kernel::{Kernel, SharedMatrix};
use crate::telemetry::{NodeSums, Probe};

/// Per-thread scratch for one node row.
pub struct NodeScratch {
    v: crate::kernel::AlignedBuf,
    v_old: crate::kernel::AlignedBuf,
}

impl NodeScratch {
    /// Scratch for rows of `stride` floats.
    pub fn new(stride: usize) -> Self {
        NodeScratch {
            v: crate::kernel::AlignedBuf::zeros(stride),
            v_old: crate::kernel::AlignedBuf::zeros(stride),
        }
    }
}

/// Trains `path` (packed steps, root first) against the `inputs` rows (`stride` floats each)
/// and adds each input's gradient into the matching row of `errs`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn train_path<K: Kernel, P: Probe>(
    k: K,
    path: &[u32],
    inner: &SharedMatrix,
    inputs: &[f32],
    errs: &mut [f32],
    alpha: f32,
    sig: &SigmoidTable,
    scratch: &mut NodeScratch,
    probe: &mut P,
) {
    let stride = inner.stride();
    let NodeScratch { v, v_old } = scratch;
    // Probe-only work happens on sampled paths: |h| once per input, |v_n|^2 once per node
    // load, then tracked exactly through each step: |v + s h|^2 = |v|^2 + 2 s f + s^2 |h|^2.
    let rec = P::ENABLED && probe.sampling();
    let mut h_norm = [0f32; 64];
    if rec {
        for (j, h) in inputs.chunks_exact(stride).enumerate().take(64) {
            h_norm[j] = k.dot(h, h).sqrt();
        }
    }
    for (depth, &step) in path.iter().enumerate() {
        let node = (step >> 1) as usize;
        let label = (1 - (step & 1)) as f32;
        inner.copy_row(k, node, v);
        v_old.copy_from_slice(v);
        let mut v_norm2 = if rec { k.dot(v, v) } else { 0.0 };
        let mut changed = false;
        let mut sums = NodeSums::default();
        for (j, (h, e)) in inputs
            .chunks_exact(stride)
            .zip(errs.chunks_exact_mut(stride))
            .enumerate()
        {
            let f = k.dot(h, v);
            let saturated = !(f > -MAX_EXP && f < MAX_EXP);
            let sig_f = sig.sigmoid(f);
            let g = if saturated {
                0.0
            } else {
                (label - sig_f) * alpha
            };
            if P::ENABLED && (rec || saturated) {
                let hn = if j < 64 {
                    h_norm[j]
                } else {
                    k.dot(h, h).sqrt()
                };
                sums.visit(label, f, sig_f, g, hn, v_norm2, rec, sig);
                v_norm2 += g * (2.0 * f + g * hn * hn);
            }
            if saturated {
                continue;
            }
            k.hs_step(g, v, h, e);
            changed = true;
        }
        if P::ENABLED && (rec || sums.sat_agree + sums.sat_disagree > 0) {
            probe.node(depth, &sums);
        }
        if changed {
            inner.add_delta_to_row(k, node, v, v_old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Scalar;
    use crate::telemetry::NoProbe;

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
        let mut scratch = NodeScratch::new(stride);
        train_path(
            Scalar,
            &[0],
            &inner,
            &h,
            &mut err,
            0.1,
            &sig,
            &mut scratch,
            &mut NoProbe,
        );
        let f = 0.5f32;
        let g = (1.0 - sig.sigmoid(f)) * 0.1;
        assert!((err[0] - g * 0.5).abs() < 1e-7 && err[1] == 0.0);
        let mut v = vec![0.0; stride];
        inner.copy_row(Scalar, 0, &mut v);
        assert!((v[0] - (0.5 + g)).abs() < 1e-7 && (v[1] - 2.0 * g).abs() < 1e-7);
    }

    #[test]
    fn saturated_nodes_are_skipped() {
        let inner = SharedMatrix::zeros(1, 1);
        let stride = inner.stride();
        let mut init = vec![0.0; stride];
        init[0] = 10.0;
        inner.add_to_row(Scalar, 0, &init);
        let mut h = vec![0.0; stride];
        h[0] = 1.0;
        let mut err = vec![0.0; stride];
        let mut scratch = NodeScratch::new(stride);
        // code 1 -> label 0, f = 10: confidently wrong, yet skipped as in word2vec.c
        train_path(
            Scalar,
            &[1],
            &inner,
            &h,
            &mut err,
            0.1,
            &SigmoidTable::new(),
            &mut scratch,
            &mut NoProbe,
        );
        assert_eq!(err[0], 0.0);
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
            &mut NodeScratch::new(s),
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
                &mut NodeScratch::new(s),
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
