//! The paired walk, for plain SGD: two consecutive path nodes at a time.

use super::record::{FoldBuf, Slots};
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
    let mut slots = if record {
        record_slots(k, fold, inputs, n_in, path.len(), stride)
    } else {
        Slots::default()
    };
    // Deep rows are cold: the rows two pairs ahead are fetched while a pair trains.
    prefetch_rows(inner, &path[..path.len().min(4)], top_rows);
    let mut pairs = path.chunks_exact(2);
    for (i, pair) in (&mut pairs).enumerate() {
        let ahead = &path[path.len().min(2 * i + 4)..path.len().min(2 * i + 6)];
        prefetch_rows(inner, ahead, top_rows);
        let (na, nb) = ((pair[0] >> 1) as usize, (pair[1] >> 1) as usize);
        let (la, lb) = (label_of(pair[0]), label_of(pair[1]));
        let (a_top, b_top) = (na < top_rows, nb < top_rows);
        let rows = [&mut v[..], &mut v_old[..], &mut v2[..], &mut v2_old[..]];
        let (va, vb) = pair_rows(k, inner, (na, nb), top_rows, top, rows);
        let (mut changed_a, mut changed_b) = (false, false);
        let mut sums = [NodeSums::default(), NodeSums::default()];
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
                let h = &inputs[j * stride..(j + 1) * stride];
                let e = &mut errs[j * stride..(j + 1) * stride];
                // The first pair's dot products also give the input norms.
                let h_norm = (record && i == 0).then(|| &mut slots.h_norm[j]);
                let sc = score_pair(sig, dot_pair(k, h, va, vb, h_norm), [la, lb], skip, record);
                let ([ok_a, ok_b], [ra, rb]) = (sc.ok, sc.r);
                let (ga, gb) = (ra * alpha, rb * alpha);
                if P::ENABLED && record {
                    // Folded once the whole path is trained (`FoldBuf::report`).
                    pair_visits.push(sc.f, sc.r, sc.log_sig);
                } else if P::ENABLED {
                    note_saturated(&mut sums, &sc, [la, lb], [ga, gb]);
                }
                changed_a |= ok_a;
                changed_b |= ok_b;
                let norms = step_pair(k, [ok_a, ok_b], [ga, gb], va, vb, h, e, first);
                if first {
                    slots.norm2[2 * i..2 * i + 2].copy_from_slice(&norms);
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
            report_saturated(probe, 2 * i, &sums);
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

/// One input's visit of a pair's two nodes, before the step.
struct PairScores {
    /// The scores h·v.
    f: [f32; 2],
    /// label − σ(f), or 0 where the node is skipped.
    r: [f32; 2],
    /// ln σ(f) on recorded paths, else 0.
    log_sig: [f32; 2],
    /// Whether each score lies inside the sigmoid table.
    inside: [bool; 2],
    /// Whether each node steps (inside the table, or a rule that does not skip).
    ok: [bool; 2],
}

/// The scores of input `h` against `va` and `vb`; with `h_norm`, also stores |h| there.
#[inline(always)]
fn dot_pair<K: Kernel>(
    k: K,
    h: &[f32],
    va: &[f32],
    vb: &[f32],
    h_norm: Option<&mut f32>,
) -> [f32; 2] {
    match h_norm {
        Some(n) => {
            let (fa, fb, hh) = k.dot2_hh(h, va, vb);
            *n = hh.sqrt();
            [fa, fb]
        }
        None => {
            let (fa, fb) = k.dot2(h, va, vb);
            [fa, fb]
        }
    }
}

/// Scores `f` with `labels`: sigmoid (and on `record`ed paths ln sigmoid, from the same
/// table slot) and the residuals; `skip`: saturated nodes do not step.
#[inline(always)]
fn score_pair(
    sig: &SigmoidTable,
    f: [f32; 2],
    labels: [f32; 2],
    skip: bool,
    record: bool,
) -> PairScores {
    // Element by element, not `array::map`, whose helpers are not inlined into the loop
    // without cross-unit LTO.
    let within = |x: f32| x > -MAX_EXP && x < MAX_EXP;
    let inside = [within(f[0]), within(f[1])];
    let ok = [!skip || inside[0], !skip || inside[1]];
    let [(sa, la), (sb, lb)] = if record {
        [sig.sigmoid_and_log(f[0]), sig.sigmoid_and_log(f[1])]
    } else {
        [(sig.sigmoid(f[0]), 0.0), (sig.sigmoid(f[1]), 0.0)]
    };
    let r = [
        if ok[0] { labels[0] - sa } else { 0.0 },
        if ok[1] { labels[1] - sb } else { 0.0 },
    ];
    PairScores {
        f,
        r,
        log_sig: [la, lb],
        inside,
        ok,
    }
}

/// Adds the saturated visits of an unrecorded path to the pair's node sums (`g`: the steps).
#[inline(always)]
fn note_saturated(sums: &mut [NodeSums; 2], sc: &PairScores, labels: [f32; 2], g: [f32; 2]) {
    for n in 0..2 {
        if !sc.inside[n] {
            sums[n].saturated(labels[n], sc.f[n], g[n], 0.0, 0.0, false);
        }
    }
}

/// Steps the rows `va` and `vb` by `g` times input `h` where `ok`, adding the gradient into
/// `e`; when `first`, returns the rows' squared norms before the step (else zeros).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn step_pair<K: Kernel>(
    k: K,
    ok: [bool; 2],
    g: [f32; 2],
    va: &mut [f32],
    vb: &mut [f32],
    h: &[f32],
    e: &mut [f32],
    first: bool,
) -> [f32; 2] {
    if !(ok[0] || ok[1]) {
        return if first {
            [k.dot(va, va), k.dot(vb, vb)]
        } else {
            [0.0; 2]
        };
    }
    if first {
        let (na, nb) = k.hs_step2_norms(g[0], g[1], va, vb, h, e);
        [na, nb]
    } else {
        k.hs_step2(g[0], g[1], va, vb, h, e);
        [0.0; 2]
    }
}

/// The recording slots of a path of `nodes` nodes against `n_in` inputs; a path too short
/// to pair takes the input norms here, since no pair's first step gives them.
#[inline(always)]
fn record_slots<'a, K: Kernel>(
    k: K,
    fold: &'a mut FoldBuf,
    inputs: &[f32],
    n_in: usize,
    nodes: usize,
    stride: usize,
) -> Slots<'a> {
    fold.fit(n_in, nodes);
    let mut slots = fold.slots();
    if nodes < 2 {
        slots.input_norms(k, inputs, stride);
    }
    slots
}

/// The two rows a pair trains: a replicated row in place in `top`, a shared row copied
/// into the scratch row `v` (or `v2`) with a copy of it before the step in `v_old` (`v2_old`).
#[inline(always)]
fn pair_rows<'a, K: Kernel>(
    k: K,
    inner: &SharedMatrix,
    (na, nb): (usize, usize),
    top_rows: usize,
    top: &'a mut [f32],
    [v, v_old, v2, v2_old]: [&'a mut [f32]; 4],
) -> (&'a mut [f32], &'a mut [f32]) {
    let stride = inner.stride();
    let (a_top, b_top) = (na < top_rows, nb < top_rows);
    if !a_top {
        inner.copy_row(k, na, v);
        v_old.copy_from_slice(v);
    }
    if !b_top {
        inner.copy_row(k, nb, v2);
        v2_old.copy_from_slice(v2);
    }
    match (a_top, b_top) {
        (true, true) => two_rows(top, na, nb, stride),
        (true, false) => (&mut top[na * stride..(na + 1) * stride], v2),
        (false, true) => (v, &mut top[nb * stride..(nb + 1) * stride]),
        (false, false) => (v, v2),
    }
}

/// Hands the probe the saturated visits of the pair's nodes at depths `d` and `d + 1`.
#[inline(always)]
fn report_saturated<P: Probe>(probe: &mut P, d: usize, sums: &[NodeSums; 2]) {
    for (depth, sums) in (d..).zip(sums) {
        if sums.sat_agree + sums.sat_disagree > 0 {
            probe.node(depth, sums);
        }
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
                let rule = &mut Sgd { skip: SKIP };
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
