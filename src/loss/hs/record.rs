//! The buffers of a recorded (telemetry) path: each visit's slots, written by the walk and
//! folded into per-node sums once the path is trained.

use super::{label_of, PathCtx};
use crate::kernel::{next_norm2, saturated_nodes, Kernel, NodeLanes, PathVisits, SaturatedNodes};
use crate::loss::sigmoid::MAX_EXP;
use crate::probe::{NodeSums, Probe};

/// A recorded path's visits, per input and node, folded once the path is trained
/// ([`Kernel::fold_path`]).
#[derive(Default)]
pub(super) struct FoldBuf {
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
    pub(super) fn fit(&mut self, n_inputs: usize, nodes: usize) {
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
    pub(super) fn slots(&mut self) -> Slots<'_> {
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
    pub(super) fn report<K: Kernel, P: Probe, const ONE: bool>(
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
pub(super) struct Slots<'a> {
    pub(super) norm2: &'a mut [f32],
    /// [`FoldBuf::visits`]' three regions.
    pub(super) visits: &'a mut [f32],
    pub(super) region: usize,
    pub(super) h_norm: &'a mut [f32],
    pub(super) width: usize,
}

impl Slots<'_> {
    /// Sets every |h_j| from `inputs` (rows of `stride` floats).
    #[inline(always)]
    pub(super) fn input_norms<K: Kernel>(&mut self, k: K, inputs: &[f32], stride: usize) {
        for (n, h) in self.h_norm.iter_mut().zip(inputs.chunks_exact(stride)) {
            *n = k.dot(h, h).sqrt();
        }
    }

    /// Records input `j`'s visit of node `d`: score `f`, raw gradient `g`, and `log_sig` =
    /// ln sigmoid(f) from the table (the fold turns it into the loss).
    #[inline(always)]
    pub(super) fn visit(&mut self, j: usize, d: usize, f: f32, g: f32, log_sig: f32) {
        let at = j * self.width + d;
        self.visits[at] = f;
        self.visits[self.region + at] = g;
        self.visits[2 * self.region + at] = log_sig;
    }
}
