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

use super::sigmoid::{SigmoidTable, MAX_EXP};
use super::OutputLoss;
use crate::kernel::{
    next_norm2, saturated_nodes, AlignedBuf, Kernel, NodeLanes, PairVisits, PathVisits,
    SaturatedNodes, SharedMatrix,
};
use crate::optim::StepRule;
use crate::probe::{NodeSums, Probe};
use crate::sampler::Rng;
use crate::tree::Tree;

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

/// Per-thread scratch: one node row, and private replicas of the most visited inner nodes.
///
/// Every HS update writes the root and the top levels, so with several threads these rows
/// bounce between cores. Inner nodes are numbered by descending visit count (the Huffman
/// merge order reversed), so rows `0..top_rows` are the hottest; each thread steps its own
/// copies of them and publishes the accumulated change every few hundred words
/// (`shared += local - base`, then `local = base = shared`). With one thread no replicas are
/// used and training is exactly word2vec.c's sequential arithmetic.
pub struct NodeScratch {
    pub(super) v: AlignedBuf,
    pub(super) v_old: AlignedBuf,
    v2: AlignedBuf,
    v2_old: AlignedBuf,
    top: AlignedBuf,
    top_base: AlignedBuf,
    top_rows: usize,
    stride: usize,
    fold: FoldBuf,
}

/// A recorded path's visits, per input and node, folded once the path is trained
/// ([`Kernel::fold_path`]).
#[derive(Default)]
struct FoldBuf {
    /// Three regions of `region` floats: scores, raw gradients and ln sigmoid, node d of
    /// input j at `j * width + d` in each.
    visits: Vec<f32>,
    region: usize,
    /// Per input: |h_j|.
    h_norm: Vec<f32>,
    /// Per node: |v_d|^2 before its first visit.
    norm2: Vec<f32>,
    /// The fold's per-node sums.
    lanes: NodeLanes,
    nodes: usize,
    width: usize,
    inputs: usize,
}

impl FoldBuf {
    /// Room for `n_inputs` inputs along a path of `nodes` nodes. Every slot of the path
    /// (node norms, and each (input, node) visit) is written by the walk before the fold
    /// reads it; slots past the path's end keep stale values, which the fold masks.
    #[inline(always)]
    fn fit(&mut self, n_inputs: usize, nodes: usize) {
        self.nodes = nodes;
        self.width = nodes.div_ceil(8).max(1) * 8;
        self.inputs = n_inputs;
        if self.norm2.len() < self.width
            || self.region < n_inputs * self.width
            || self.h_norm.len() < n_inputs
        {
            self.grow();
        }
    }

    /// Grows the buffers to the current `width` and `inputs`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let (w, len) = (self.width, self.inputs * self.width);
        if self.region < len {
            self.region = len;
            self.visits.resize(3 * len, 0.0);
        }
        if self.h_norm.len() < self.inputs {
            self.h_norm.resize(self.inputs, 0.0);
        }
        if self.norm2.len() < w {
            self.norm2.resize(w, 0.0);
            self.lanes = NodeLanes::with_width(w);
        }
    }

    /// The current path's slots, for the walk to fill.
    #[inline(always)]
    fn slots(&mut self) -> Slots<'_> {
        let w = self.width;
        Slots {
            norm2: &mut self.norm2[..w],
            visits: &mut self.visits[..3 * self.region],
            region: self.region,
            h_norm: &mut self.h_norm[..self.inputs],
            width: w,
        }
    }

    /// The three regions of `visits` (scores, raw gradients, ln sigmoid), whole: the fold
    /// reads the first `inputs * width` slots of each. A function of the fields, so that
    /// the other fields stay free to borrow; two splits, where slicing each region to the
    /// path's length took six bounds checks on every recorded path.
    #[inline(always)]
    fn regions(visits: &[f32], region: usize) -> [&[f32]; 3] {
        let (f, rest) = visits.split_at(region);
        let (g, log_sig) = rest.split_at(region);
        [f, g, log_sig]
    }

    /// Folds the visits of `path` and reports them to `probe`: in-range visits through the
    /// kernel's fold, all nodes at once; saturated ones node by node. `ONE`: the walk had a
    /// single input.
    #[inline(always)]
    fn report<K: Kernel, P: Probe, const ONE: bool>(
        &mut self,
        k: K,
        path: &[u32],
        c: &PathCtx,
        probe: &mut P,
    ) {
        let h_norm = &self.h_norm[..self.inputs];
        let [f, g, log_sig] = Self::regions(&self.visits, self.region);
        let visits = PathVisits {
            nodes: self.nodes,
            width: self.width,
            alpha: c.alpha,
            path,
            norm2: &self.norm2,
            f,
            g,
            log_sig,
            h_norm,
            limit: MAX_EXP,
        };
        let saturated = match probe.path_lanes(self.nodes, self.width) {
            Some(out) => k.fold_path::<ONE>(&visits, out),
            None => {
                self.lanes.clear();
                let saturated = k.fold_path::<ONE>(&visits, self.lanes.window(0, self.width));
                self.report_nodes(probe);
                saturated
            }
        };
        if saturated != 0 {
            self.report_saturated(saturated, path, c, probe);
        }
    }

    /// Hands the folded in-range sums to `probe` node by node.
    #[cold]
    #[inline(never)]
    fn report_nodes<P: Probe>(&self, probe: &mut P) {
        let l = &self.lanes;
        for d in 0..self.nodes {
            let sums = NodeSums {
                sampled: l.n[d] as u32,
                abs_g: l.abs_g[d],
                node_step: l.node_step[d],
                input_grad: l.input_grad[d],
                loss: l.loss[d],
                ..NodeSums::default()
            };
            probe.node(d, &sums);
        }
    }

    /// Reports the saturated visits of the nodes in `nodes`.
    #[cold]
    #[inline(never)]
    fn report_saturated<P: Probe>(
        &self,
        nodes: SaturatedNodes,
        path: &[u32],
        c: &PathCtx,
        probe: &mut P,
    ) {
        let [f, g, _] = Self::regions(&self.visits, self.region);
        for d in saturated_nodes(nodes, self.nodes) {
            let (t, mut node) = (label_of(path[d]), NodeSums::default());
            // |v_d|^2 before each visit, tracked as the fold tracks it.
            let mut q = self.norm2[d];
            for (j, &hn) in self.h_norm[..self.inputs].iter().enumerate() {
                let at = j * self.width + d;
                let (f, g) = (f[at], g[at]);
                if !(f > -MAX_EXP && f < MAX_EXP) {
                    node.saturated(t, f, g * c.alpha, hn, q, true);
                }
                q = next_norm2(q, f, g, c.alpha, hn);
            }
            if node.sat_agree + node.sat_disagree > 0 {
                probe.node(d, &node);
            }
        }
    }
}

/// A recorded path's slots in [`FoldBuf`], borrowed for the walk as plain slices (which the
/// loop keeps at hand, where the buffer's fields would be reloaded after every store).
#[derive(Default)]
struct Slots<'a> {
    norm2: &'a mut [f32],
    /// [`FoldBuf::visits`]' three regions.
    visits: &'a mut [f32],
    region: usize,
    h_norm: &'a mut [f32],
    width: usize,
}

impl Slots<'_> {
    /// Sets every |h_j| from `inputs` (rows of `stride` floats).
    #[inline(always)]
    fn input_norms<K: Kernel>(&mut self, k: K, inputs: &[f32], stride: usize) {
        for (n, h) in self.h_norm.iter_mut().zip(inputs.chunks_exact(stride)) {
            *n = k.dot(h, h).sqrt();
        }
    }

    /// Records input `j`'s visit of node `d`: score `f`, raw gradient `g`, and `log_sig` =
    /// ln sigmoid(f) from the table (the fold turns it into the loss).
    #[inline(always)]
    fn visit(&mut self, j: usize, d: usize, f: f32, g: f32, log_sig: f32) {
        let at = j * self.width + d;
        self.visits[at] = f;
        self.visits[self.region + at] = g;
        self.visits[2 * self.region + at] = log_sig;
    }
}

impl NodeScratch {
    /// Scratch for rows of `stride` floats, replicating inner nodes `0..top_rows`.
    pub fn new(stride: usize, top_rows: usize) -> Self {
        NodeScratch {
            v: AlignedBuf::zeros(stride),
            v_old: AlignedBuf::zeros(stride),
            v2: AlignedBuf::zeros(stride),
            v2_old: AlignedBuf::zeros(stride),
            top: AlignedBuf::zeros(top_rows * stride),
            top_base: AlignedBuf::zeros(top_rows * stride),
            top_rows,
            stride,
            fold: FoldBuf::default(),
        }
    }

    /// Publishes the change of the replicated rows since the last sync and refreshes them
    /// from the shared matrix.
    pub fn sync_top<K: Kernel>(&mut self, k: K, inner: &SharedMatrix) {
        let s = self.stride;
        for r in 0..self.top_rows.min(inner.rows()) {
            let (local, base) = (
                &mut self.top[r * s..(r + 1) * s],
                &mut self.top_base[r * s..(r + 1) * s],
            );
            inner.add_delta_to_row(k, r, local, base);
            inner.copy_row(k, r, local);
            base.copy_from_slice(local);
        }
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
    if R::PAIRED {
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

/// The one-node walk, for every step rule: each path node is loaded, stepped by every input
/// in turn, and its change written back.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn train_path_nodes<K: Kernel, R: StepRule, P: Probe>(
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
fn train_node<K: Kernel, R: StepRule, P: Probe>(
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

/// Label t = 1 - code of a packed path step.
#[inline(always)]
fn label_of(step: u32) -> f32 {
    (1 - (step & 1)) as f32
}

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
/// [`StepRule::PAIRED`] (plain SGD), whose step is the fused kernel step. `REC`: the path
/// is recorded; `ONE`: `inputs` is a single row.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn train_path_pairs<K: Kernel, R: StepRule, P: Probe, const REC: bool, const ONE: bool>(
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

/// Per-path values shared by every node of a walk.
struct PathCtx {
    alpha: f32,
    record: bool,
}

struct NodeCtx {
    depth: usize,
    node: usize,
    label: f32,
    alpha: f32,
    record: bool,
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
            &mut Sgd::<true>,
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
        let (err, _) = confidently_wrong_node(&mut Sgd::<true>);
        assert_eq!(err, 0.0);
    }

    #[test]
    fn clamped_nodes_keep_the_limit_gradient() {
        // f = 10 >= MAX_EXP: clamp takes sigmoid's limit 1, so g = (0 - 1) * 0.1
        // and err = g * v_old, v = 10 + g * h.
        let (err, v) = confidently_wrong_node(&mut Sgd::<false>);
        let g = -0.1;
        assert!((err - g * 10.0).abs() < 1e-5, "{err}");
        assert!((v - (10.0 + g)).abs() < 1e-5);
    }

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
            &mut Sgd::<true>,
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
                &mut Sgd::<true>,
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
