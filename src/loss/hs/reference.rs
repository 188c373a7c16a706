//! The reference walk, for every step rule: each path node in turn is loaded, stepped by
//! every input and written back, word2vec.c's arithmetic node by node.

use super::record::Slots;
use super::replicas::NodeScratch;
use super::{label_of, NodeCtx, PathCtx};
use crate::kernel::{Kernel, SharedMatrix};
use crate::loss::sigmoid::{SigmoidTable, MAX_EXP};
use crate::optim::StepRule;
use crate::probe::{NodeSums, Probe};

/// The one-node walk, for every step rule: each path node is loaded, stepped by every input
/// in turn, and its change written back.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn train_path_nodes<K: Kernel, R: StepRule, P: Probe>(
    k: K,
    path: &[u32],
    inner: &SharedMatrix,
    inputs: &[f32],
    errs: &mut [f32],
    c: &PathCtx,
    sig: &SigmoidTable,
    scratch: &mut NodeScratch,
    rule: &mut R,
    probe: &mut P,
) {
    let stride = inner.stride();
    rule.begin_path(k, inputs, stride);
    let NodeScratch {
        v,
        v_old,
        top,
        top_rows,
        fold,
        ..
    } = scratch;
    let mut slots = Slots::default();
    if c.record {
        fold.fit(inputs.len() / stride, path.len());
        slots = fold.slots();
        slots.input_norms(k, inputs, stride);
    }
    for (depth, &step) in path.iter().enumerate() {
        let ctx = NodeCtx {
            depth,
            node: (step >> 1) as usize,
            label: label_of(step),
            alpha: c.alpha,
            record: c.record,
        };
        train_node(
            k, &ctx, inner, v, v_old, top, *top_rows, inputs, errs, sig, &mut slots, rule, probe,
        );
    }
    if P::ENABLED && c.record {
        fold.report::<K, P, false>(k, path, c, probe);
    }
}

/// Trains one path node: its replica row if it is a top row, else a working copy of the
/// shared row whose change is published once.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn train_node<K: Kernel, R: StepRule, P: Probe>(
    k: K,
    ctx: &NodeCtx,
    inner: &SharedMatrix,
    v: &mut [f32],
    v_old: &mut [f32],
    top: &mut [f32],
    top_rows: usize,
    inputs: &[f32],
    errs: &mut [f32],
    sig: &SigmoidTable,
    slots: &mut Slots,
    rule: &mut R,
    probe: &mut P,
) {
    let (node, stride) = (ctx.node, inner.stride());
    if node < top_rows {
        let row = &mut top[node * stride..(node + 1) * stride];
        step_node(k, ctx, row, inputs, errs, sig, slots, rule, probe);
    } else {
        inner.copy_row(k, node, v);
        v_old.copy_from_slice(v);
        if step_node(k, ctx, v, inputs, errs, sig, slots, rule, probe) {
            inner.add_delta_to_row(k, node, v, v_old);
        }
    }
}

/// Steps one node row `v` by every input in turn; returns whether any step was applied.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn step_node<K: Kernel, R: StepRule, P: Probe>(
    k: K,
    c: &NodeCtx,
    v: &mut [f32],
    inputs: &[f32],
    errs: &mut [f32],
    sig: &SigmoidTable,
    slots: &mut Slots,
    rule: &mut R,
    probe: &mut P,
) -> bool {
    let stride = v.len();
    rule.begin_node(c.node);
    let mut sums = NodeSums::default();
    let mut changed = false;
    for j in 0..inputs.len() / stride {
        let h = &inputs[j * stride..(j + 1) * stride];
        let e = &mut errs[j * stride..(j + 1) * stride];
        let f = if c.record && j == 0 {
            // The row's norm before any step comes with the first dot product (`dot2`
            // keeps `dot`'s order of additions, so both are bit-identical to `dot`'s).
            let (f, vv) = k.dot2(v, h, v);
            slots.norm2[c.depth] = vv;
            f
        } else {
            k.dot(h, v)
        };
        let saturated = !(f > -MAX_EXP && f < MAX_EXP);
        let skip = saturated && rule.skips_saturated();
        if P::ENABLED && c.record {
            let (s, log_sig) = sig.sigmoid_and_log(f);
            let raw = if skip { 0.0 } else { c.label - s };
            slots.visit(j, c.depth, f, raw, log_sig);
        } else if P::ENABLED && saturated {
            let step = if skip {
                0.0
            } else {
                (c.label - sig.sigmoid(f)) * c.alpha
            };
            sums.saturated(c.label, f, step, 0.0, 0.0, false);
        }
        if skip {
            continue;
        }
        rule.node_step(k, j, c.depth, c.label - sig.sigmoid(f), c.alpha, v, h, e);
        changed = true;
    }
    // A recorded path reports every node once it is trained (`FoldBuf::report`).
    if P::ENABLED && !c.record && sums.sat_agree + sums.sat_disagree > 0 {
        probe.node(c.depth, &sums);
    }
    if changed {
        rule.end_node(c.node);
    }
    changed
}
