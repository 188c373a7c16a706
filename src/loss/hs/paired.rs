//! The paired walk, for plain SGD: two consecutive path nodes at a time.

use super::record::Slots;
use super::reference::train_node;
use super::replicas::NodeScratch;
use super::{label_of, NodeCtx, PathCtx};
use crate::kernel::{Kernel, PairVisits, SharedMatrix};
use crate::loss::sigmoid::{SigmoidTable, MAX_EXP};
use crate::optim::StepRule;
use crate::probe::{NodeSums, Probe};

/// Two distinct rows `a` and `b` of a row-major buffer, both mutable.
#[inline(always)]
fn two_rows(buf: &mut [f32], a: usize, b: usize, stride: usize) -> (&mut [f32], &mut [f32]) {
    debug_assert_ne!(a, b);
    if a < b {
        let (lo, hi) = buf.split_at_mut(b * stride);
        (&mut lo[a * stride..(a + 1) * stride], &mut hi[..stride])
    } else {
        let (lo, hi) = buf.split_at_mut(a * stride);
        (&mut hi[..stride], &mut lo[b * stride..(b + 1) * stride])
    }
}

/// The uninstrumented walk: two consecutive path nodes at a time, so their two dependency
/// chains (dot, sigmoid, step, next input's dot) interleave and each input row is loaded
/// once per pair. Each node still sees the inputs in order, so the arithmetic is the same
/// as the one-node walk up to the order of additions into `errs`. Only for rules with
/// [`StepRule::FUSED`] (plain SGD), whose step is the fused kernel step. `REC`: the path
/// is recorded; `ONE`: `inputs` is a single row.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn train_path_pairs<
    K: Kernel,
    R: StepRule,
    P: Probe,
    const REC: bool,
    const ONE: bool,
>(
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
    let (alpha, record) = (c.alpha, REC && P::ENABLED);
    let skip = rule.skips_saturated();
    let stride = inner.stride();
    let NodeScratch {
        v,
        v_old,
        v2,
        v2_old,
        top,
        top_rows,
        fold,
        ..
    } = scratch;
    let top_rows = *top_rows;
    // Input rows, counted once per path (an iterator over row chunks would divide per pair).
    let n_in = if ONE { 1 } else { inputs.len() / stride };
    debug_assert!(inputs.len() == n_in * stride && errs.len() == inputs.len());
    let mut slots = Slots::default();
    if record {
        fold.fit(n_in, path.len());
        slots = fold.slots();
        if path.len() < 2 {
            slots.input_norms(k, inputs, stride);
        }
    }
    // Deep rows are cold: the rows two pairs ahead are fetched while a pair trains.
    prefetch_rows(inner, &path[..path.len().min(4)], top_rows);
    let mut pairs = path.chunks_exact(2);
    for (i, pair) in (&mut pairs).enumerate() {
        prefetch_rows(
            inner,
            path.get(2 * i + 4..)
                .map_or(&[], |rest| &rest[..rest.len().min(2)]),
            top_rows,
        );
        let (na, nb) = ((pair[0] >> 1) as usize, (pair[1] >> 1) as usize);
        let (la, lb) = (label_of(pair[0]), label_of(pair[1]));
        let (a_top, b_top) = (na < top_rows, nb < top_rows);
        if !a_top {
            inner.copy_row(k, na, v);
            v_old.copy_from_slice(v);
        }
        if !b_top {
            inner.copy_row(k, nb, v2);
            v2_old.copy_from_slice(v2);
        }
        let (va, vb): (&mut [f32], &mut [f32]) = match (a_top, b_top) {
            (true, true) => two_rows(top, na, nb, stride),
            (true, false) => (&mut top[na * stride..(na + 1) * stride], &mut v2[..]),
            (false, true) => (&mut v[..], &mut top[nb * stride..(nb + 1) * stride]),
            (false, false) => (&mut v[..], &mut v2[..]),
        };
        let (mut changed_a, mut changed_b) = (false, false);
        let (mut sums_a, mut sums_b) = (NodeSums::default(), NodeSums::default());
        let mut pair_visits = if record {
            PairVisits::new(slots.visits, slots.region, slots.width, n_in, 2 * i)
        } else {
            PairVisits::default()
        };
        // Input j's visit of both nodes. `first`: input 0 of a recorded path, whose step
        // also gives the rows' norms; recorded walks run it apart, so that the loop over
        // the other inputs carries no test for it. A macro, not a closure: a closure keeps
        // no target features of its own if it is not inlined.
        macro_rules! visit {
            ($j:expr, $first:expr) => {{
                let (j, first): (usize, bool) = ($j, $first);
                'visit: {
                    let h = &inputs[j * stride..(j + 1) * stride];
                    let e = &mut errs[j * stride..(j + 1) * stride];
                    let (fa, fb) = if record && i == 0 {
                        // The first pair's dot products also give the input norms.
                        let (fa, fb, hh) = k.dot2_hh(h, va, vb);
                        slots.h_norm[j] = hh.sqrt();
                        (fa, fb)
                    } else {
                        k.dot2(h, va, vb)
                    };
                    let in_a = fa > -MAX_EXP && fa < MAX_EXP;
                    let in_b = fb > -MAX_EXP && fb < MAX_EXP;
                    let ok_a = !skip || in_a;
                    let ok_b = !skip || in_b;
                    // On recorded paths ln sigmoid comes with sigmoid, from the same slot.
                    let ((sa, lsa), (sb, lsb)) = if record {
                        (sig.sigmoid_and_log(fa), sig.sigmoid_and_log(fb))
                    } else {
                        ((sig.sigmoid(fa), 0.0), (sig.sigmoid(fb), 0.0))
                    };
                    let ra = if ok_a { la - sa } else { 0.0 };
                    let rb = if ok_b { lb - sb } else { 0.0 };
                    let (ga, gb) = (ra * alpha, rb * alpha);
                    if P::ENABLED && record {
                        // Folded once the whole path is trained (`FoldBuf::report`).
                        pair_visits.push([fa, fb], [ra, rb], [lsa, lsb]);
                    } else if P::ENABLED && !(in_a && in_b) {
                        if !in_a {
                            sums_a.saturated(la, fa, ga, 0.0, 0.0, false);
                        }
                        if !in_b {
                            sums_b.saturated(lb, fb, gb, 0.0, 0.0, false);
                        }
                    }
                    if !(ok_a || ok_b) {
                        if first {
                            (slots.norm2[2 * i], slots.norm2[2 * i + 1]) =
                                (k.dot(va, va), k.dot(vb, vb));
                        }
                        break 'visit;
                    }
                    changed_a |= ok_a;
                    changed_b |= ok_b;
                    if first {
                        // The rows' norms before any step come with the first input's step.
                        (slots.norm2[2 * i], slots.norm2[2 * i + 1]) =
                            k.hs_step2_norms(ga, gb, va, vb, h, e);
                    } else {
                        k.hs_step2(ga, gb, va, vb, h, e);
                    }
                }
            }};
        }
        if record && n_in > 0 {
            visit!(0, true);
            for j in 1..n_in {
                visit!(j, false);
            }
        } else {
            for j in 0..n_in {
                visit!(j, false);
            }
        }
        if P::ENABLED && !record {
            let d = 2 * i;
            for (depth, sums) in [(d, &sums_a), (d + 1, &sums_b)] {
                if sums.sat_agree + sums.sat_disagree > 0 {
                    probe.node(depth, sums);
                }
            }
        }
        if !a_top && changed_a {
            inner.add_delta_to_row(k, na, v, v_old);
        }
        if !b_top && changed_b {
            inner.add_delta_to_row(k, nb, v2, v2_old);
        }
    }
    if let [last] = pairs.remainder() {
        let ctx = NodeCtx {
            depth: path.len() - 1,
            node: (last >> 1) as usize,
            label: label_of(*last),
            alpha,
            record,
        };
        train_node(
            k, &ctx, inner, v, v_old, top, top_rows, inputs, errs, sig, &mut slots, rule, probe,
        );
    }
    if P::ENABLED && record {
        fold.report::<K, P, ONE>(k, path, c, probe);
    }
}

/// Starts fetching the shared rows of the packed path `steps` (replicated rows excepted).
#[inline(always)]
fn prefetch_rows(inner: &SharedMatrix, steps: &[u32], top_rows: usize) {
    for &step in steps {
        if (step >> 1) as usize >= top_rows {
            inner.prefetch_row((step >> 1) as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reference::train_path_nodes;
    use super::*;
    use crate::kernel::Scalar;
    use crate::optim::Sgd;

    /// Keeps every node record it is handed.
    #[derive(Default)]
    struct Recorder(Vec<(usize, NodeSums)>);
    impl Probe for Recorder {
        const ENABLED: bool = true;
        fn begin_path(&mut self, _: u32, _: usize, _: usize) {}
        fn node(&mut self, depth: usize, sums: &NodeSums) {
            self.0.push((depth, *sums));
        }
        fn end_input(&mut self, _: usize, _: u32, _: f32) {}
    }

    fn pair_walk_is_bit_identical_to_one_node_walk<K: Kernel, const SKIP: bool>(k: K) {
        let (dim, nodes) = (37, 7);
        let mk = || {
            let m = SharedMatrix::zeros(nodes, dim);
            let s = m.stride();
            for r in 0..nodes {
                let row: Vec<f32> = (0..s)
                    .map(|i| {
                        if i < dim {
                            ((r * 31 + i) as f32 * 0.71).sin() * 0.3
                        } else {
                            0.0
                        }
                    })
                    .collect();
                m.add_to_row(k, r, &row);
            }
            m
        };
        let s = mk().stride();
        // Several inputs (skip-gram's window) and a single one (CBOW).
        for n_in in [5, 1] {
            let inputs: Vec<f32> = (0..n_in * s)
                .map(|i| {
                    if i % s < dim {
                        // Clamping is only exercised by scores beyond the table: large inputs.
                        (i as f32 * 0.37).cos() * if SKIP { 0.5 } else { 5.0 }
                    } else {
                        0.0
                    }
                })
                .collect();
            let sig = SigmoidTable::new();
            for (path, top_rows) in [
                (vec![0u32, 3, 5, 9, 12], 0),
                (vec![1u32, 4, 7, 11, 13, 2], 3),
                (vec![6u32], 8),
            ] {
                let (a, b) = (mk(), mk());
                let (mut ea, mut eb) = (vec![0.0; n_in * s], vec![0.0; n_in * s]);
                let mut sa = NodeScratch::new(s, top_rows);
                let mut sb = NodeScratch::new(s, top_rows);
                sa.sync_top(k, &a);
                sb.sync_top(k, &b);
                let ctx = PathCtx {
                    alpha: 0.05,
                    record: true,
                };
                let (mut pa, mut pb) = (Recorder::default(), Recorder::default());
                let rule = &mut Sgd::<SKIP>;
                train_path_nodes(
                    k, &path, &a, &inputs, &mut ea, &ctx, &sig, &mut sa, rule, &mut pa,
                );
                if n_in == 1 {
                    train_path_pairs::<_, _, _, true, true>(
                        k, &path, &b, &inputs, &mut eb, &ctx, &sig, &mut sb, rule, &mut pb,
                    );
                } else {
                    train_path_pairs::<_, _, _, true, false>(
                        k, &path, &b, &inputs, &mut eb, &ctx, &sig, &mut sb, rule, &mut pb,
                    );
                }
                // Every node is reported (saturated visits in records of their own).
                assert!((0..path.len()).all(|d| pa.0.iter().any(|r| r.0 == d)));
                assert_eq!(pa.0, pb.0, "telemetry of path {path:?}");
                sa.sync_top(k, &a);
                sb.sync_top(k, &b);
                assert_eq!(ea, eb);
                let (mut ra, mut rb) = (vec![0.0; s], vec![0.0; s]);
                for r in 0..nodes {
                    a.copy_row(k, r, &mut ra);
                    b.copy_row(k, r, &mut rb);
                    assert_eq!(ra, rb, "node {r}");
                }
            }
        }
    }

    #[test]
    fn pair_walk_matches_one_node_walk_scalar() {
        pair_walk_is_bit_identical_to_one_node_walk::<_, true>(Scalar);
        pair_walk_is_bit_identical_to_one_node_walk::<_, false>(Scalar);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn pair_walk_matches_one_node_walk_avx2() {
        match crate::kernel::Avx2Fma::detect() {
            Some(k) => {
                pair_walk_is_bit_identical_to_one_node_walk::<_, true>(k);
                pair_walk_is_bit_identical_to_one_node_walk::<_, false>(k);
            }
            None => eprintln!("skipped: this CPU lacks AVX2/FMA"),
        }
    }
}
