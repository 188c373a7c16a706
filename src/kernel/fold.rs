//! The telemetry fold: per-node sums over a recorded hierarchical-softmax path, computed
//! once the path is trained, eight nodes at a time with AVX2.
//!
//! For visit j (one per input, in input order) of node d with label t_d, score f_jd, raw
//! gradient g_jd = t_d - sigmoid(f_jd) (0 for a skipped step), loss l_jd = (1 - t_d) f_jd -
//! ln sigmoid(f_jd) (the walk stores ln sigmoid, looked up beside sigmoid; the fold takes
//! 1 - t_d, the code bit, from the path), input norm |h_j| and
//! learning rate alpha, the node's squared norm before the visit is tracked from its value
//! q_0d before the first visit:
//!   q_(j+1)d = q_jd + s (2 f_jd + s |h_j|^2),   s = alpha g_jd,
//! since |v + s h|^2 = |v|^2 + 2 s (h·v) + s^2 |h|^2. Over node d's in-range visits
//! (|f_jd| < limit) the fold returns, one lane per node ([`NodeLanes`]), the count, |sum g|,
//! alpha |sum g |h||, alpha |sum g sqrt(q)| and the summed loss, and adds them into the
//! caller's accumulators ([`LanesMut`]: a probe's running sums, so a path's sums are never
//! stored and reloaded on their way).
//! A node's g all share one sign (that of t - 1/2, or are 0), so the absolute sums are the
//! sums of absolute values. It returns which nodes had a visit out of range, so that the
//! caller can treat saturated visits itself (recomputing q_jd with [`next_norm2`]).
//!
//! Each node's sums run over j in order in both backends, with the same operations, so the
//! two give bit-identical results.

use std::marker::PhantomData;

/// A recorded path's visits: node d of input j at `j * width + d`; slots of nodes past
/// `nodes`, and the ln sigmoid of visits out of range, are ignored, whatever they hold.
pub struct PathVisits<'a> {
    /// Nodes on the path.
    pub nodes: usize,
    /// Row length of `f`, `g`, `log_sig` and `norm2`: `nodes` rounded up to a multiple of 8.
    pub width: usize,
    /// Learning rate of every step.
    pub alpha: f32,
    /// The path's packed steps (node << 1 | code bit), root first: at least `nodes`.
    pub path: &'a [u32],
    /// |v_d|^2 before the node's first visit.
    pub norm2: &'a [f32],
    /// Scores f_jd.
    pub f: &'a [f32],
    /// Raw gradients g_jd = t_d - sigmoid(f_jd), 0 where the step was skipped.
    pub g: &'a [f32],
    /// ln sigmoid(f_jd) from the table, of the visits in range.
    pub log_sig: &'a [f32],
    /// Input norms |h_j|.
    pub h_norm: &'a [f32],
    /// Visits with |f| < `limit` are in range.
    pub limit: f32,
}

/// Stores a recorded path's visits of one node pair (nodes `d` and `d + 1`), one input after
/// another, into a buffer of three regions (scores, raw gradients, ln sigmoid) laid out as
/// [`PathVisits`] reads them: node d of input j at `j * width + d` within each region.
///
/// Every slot is checked once, when the cursor is made, so a store costs no bounds checks.
pub struct PairVisits<'a> {
    /// The score slot of the next input's visit of node `d`.
    at: *mut f32,
    /// `at` once every input has been stored.
    end: *mut f32,
    /// Floats from one region to the next.
    region: usize,
    width: usize,
    _buf: PhantomData<&'a mut [f32]>,
}

impl<'a> PairVisits<'a> {
    /// The visits of nodes `d` and `d + 1` by `inputs` inputs, in rows of `width` floats, in
    /// three regions `region` floats apart at the start of `buf`.
    ///
    /// # Panics
    /// If a slot would fall outside its region or `buf`.
    #[inline(always)]
    pub fn new(buf: &'a mut [f32], region: usize, width: usize, inputs: usize, d: usize) -> Self {
        let rows = inputs.checked_mul(width);
        assert!(
            width.checked_sub(d).is_some_and(|room| room >= 2)
                && rows.is_some_and(|r| r <= region)
                && region.checked_mul(3).is_some_and(|r| r <= buf.len()),
            "visit slots out of range"
        );
        let base = buf.as_mut_ptr();
        PairVisits {
            at: base.wrapping_add(d),
            end: base.wrapping_add(d + inputs * width),
            region,
            width,
            _buf: PhantomData,
        }
    }

    /// Stores the next input's visits of both nodes: scores `f`, raw gradients `g` and ln
    /// sigmoid `log_sig`.
    ///
    /// # Panics
    /// If every input's visits are stored already.
    #[inline(always)]
    pub fn push(&mut self, f: [f32; 2], g: [f32; 2], log_sig: [f32; 2]) {
        assert!(self.at < self.end, "more visits than inputs");
        // SAFETY: `at < end` puts `at` at columns d, d + 1 < width of a row below `inputs` in
        // the first region, so `at + 2` and the same two slots one and two regions on lie in
        // `buf` (checked in `new`), which the cursor borrows mutably.
        unsafe {
            for (r, x) in [f, g, log_sig].into_iter().enumerate() {
                let p = self.at.add(r * self.region);
                p.write(x[0]);
                p.add(1).write(x[1]);
            }
        }
        self.at = self.at.wrapping_add(self.width);
    }
}

impl Default for PairVisits<'_> {
    /// A cursor with no room (every push panics), for walks that record nothing.
    fn default() -> Self {
        let p = std::ptr::NonNull::<f32>::dangling().as_ptr();
        PairVisits {
            at: p,
            end: p,
            region: 0,
            width: 0,
            _buf: PhantomData,
        }
    }
}

/// Per-node sums over in-range visits, one lane per depth: a probe's running totals, or one
/// path's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeLanes {
    /// In-range visits (whole numbers).
    pub n: Vec<f32>,
    /// |t - sigmoid(f)| summed.
    pub abs_g: Vec<f32>,
    /// The node step alpha |g| |h| summed.
    pub node_step: Vec<f32>,
    /// The gradient sent to the input, alpha |g| |v_d| (before the visit), summed.
    pub input_grad: Vec<f32>,
    /// The loss -ln sigmoid(±f) summed.
    pub loss: Vec<f32>,
}

impl NodeLanes {
    /// Lanes for paths of up to `width` nodes.
    pub fn with_width(width: usize) -> Self {
        let z = vec![0.0; width];
        NodeLanes {
            n: z.clone(),
            abs_g: z.clone(),
            node_step: z.clone(),
            input_grad: z.clone(),
            loss: z,
        }
    }

    /// Lanes `at..at + width` of every field, for a fold to add into.
    #[inline(always)]
    pub fn window(&mut self, at: usize, width: usize) -> LanesMut<'_> {
        let r = at..at + width;
        LanesMut {
            n: &mut self.n[r.clone()],
            abs_g: &mut self.abs_g[r.clone()],
            node_step: &mut self.node_step[r.clone()],
            input_grad: &mut self.input_grad[r.clone()],
            loss: &mut self.loss[r],
        }
    }

    /// Sets every lane to zero.
    pub fn clear(&mut self) {
        for l in [
            &mut self.n,
            &mut self.abs_g,
            &mut self.node_step,
            &mut self.input_grad,
            &mut self.loss,
        ] {
            super::zero(l);
        }
    }
}

/// Accumulators a fold adds a path's node sums into: lane d of each field takes node d's
/// ([`NodeLanes`]' fields), lanes past the path's end take zero.
pub struct LanesMut<'a> {
    /// In-range visits.
    pub n: &'a mut [f32],
    /// |t - sigmoid(f)|.
    pub abs_g: &'a mut [f32],
    /// The node step alpha |g| |h|.
    pub node_step: &'a mut [f32],
    /// The gradient sent to the input, alpha |g| |v_d|.
    pub input_grad: &'a mut [f32],
    /// The loss -ln sigmoid(±f).
    pub loss: &'a mut [f32],
}

impl LanesMut<'_> {
    /// Lanes in every field.
    pub fn width(&self) -> usize {
        [
            self.abs_g.len(),
            self.node_step.len(),
            self.input_grad.len(),
            self.loss.len(),
        ]
        .into_iter()
        .fold(self.n.len(), usize::min)
    }
}

/// q_(j+1)d from q_jd: node d's squared norm after visit j (score `f`, raw gradient `g`,
/// input norm `h_norm`) at learning rate `alpha`, in the fold's order of operations.
#[inline(always)]
pub fn next_norm2(q: f32, f: f32, g: f32, alpha: f32, h_norm: f32) -> f32 {
    let step = g * alpha;
    q + step * (2.0 * f + step * h_norm * h_norm)
}

/// Bit d set (d < 63): node d of the path had a visit out of range; bit 63: some node at
/// depth 63 or deeper had one (Huffman paths that deep need over 10^13 tokens).
pub type SaturatedNodes = u64;

/// The bits of [`SaturatedNodes`] for nodes `d0..d0 + 8` given their bits in `lanes`.
#[inline(always)]
pub fn saturated_bits(lanes: u32, d0: usize) -> SaturatedNodes {
    if d0 + 8 <= 63 {
        (lanes as u64) << d0
    } else {
        let low = (lanes as u64) << d0.min(63) & ((1 << 63) - 1);
        let deep = lanes >> 63usize.saturating_sub(d0).min(8) != 0;
        low | (deep as u64) << 63
    }
}

/// The nodes of a `nodes`-node path that [`SaturatedNodes`] `s` may mark: each marked
/// node, and every node from 63 on when bit 63 is set.
pub fn saturated_nodes(s: SaturatedNodes, nodes: usize) -> impl Iterator<Item = usize> {
    let mut low = s & ((1 << 63) - 1);
    let deep = if s >> 63 != 0 { 63..nodes } else { 0..0 };
    std::iter::from_fn(move || {
        (low != 0).then(|| {
            let d = low.trailing_zeros() as usize;
            low &= low - 1;
            d
        })
    })
    .chain(deep)
}

/// The portable fold, node by node: adds node d's sums into lane d of `out` (zero into lanes
/// `nodes..width`); returns the nodes with a visit out of range.
pub fn scalar(v: &PathVisits, out: LanesMut) -> SaturatedNodes {
    let w = v.width;
    assert!(out.width() >= w);
    let mut saturated: SaturatedNodes = 0;
    for d in 0..w {
        let (mut n, mut sg, mut sgh, mut sgv, mut sloss) = (0u32, 0f32, 0f32, 0f32, 0f32);
        if d < v.nodes {
            let code = (v.path[d] & 1) as f32;
            let mut norm2 = v.norm2[d];
            for (j, &hn) in v.h_norm.iter().enumerate() {
                let (f, g) = (v.f[j * w + d], v.g[j * w + d]);
                if f > -v.limit && f < v.limit {
                    n += 1;
                    sg += g;
                    sgh += g * hn;
                    sgv += g * norm2.max(0.0).sqrt();
                    sloss += code * f - v.log_sig[j * w + d];
                }
                norm2 = next_norm2(norm2, f, g, v.alpha, hn);
            }
            if n as usize != v.h_norm.len() {
                saturated |= saturated_bits(1 << (d % 8), d - d % 8);
            }
        }
        out.n[d] += n as f32;
        out.abs_g[d] += sg.abs();
        out.node_step[d] += v.alpha * sgh.abs();
        out.input_grad[d] += v.alpha * sgv.abs();
        out.loss[d] += sloss;
    }
    saturated
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx {
    use super::{saturated_bits, LanesMut, PathVisits, SaturatedNodes};
    use std::arch::x86_64::*;

    /// The AVX2 fold: eight nodes per lane group, the same operations as
    /// [`super::scalar`] in the same order. Always inlined (a `#[target_feature]` function
    /// may not be), so that a single input's fold (CBOW) works on the walk's registers,
    /// with no call; it runs at full speed only inside the backend's `#[target_feature]`
    /// code.
    ///
    /// `ONE`: the caller knows there is a single input; the out-of-line loop for several is
    /// then not compiled in, and `v` need not be laid out in memory for its call.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline(always)]
    pub unsafe fn fold<const ONE: bool>(v: &PathVisits, out: LanesMut) -> SaturatedNodes {
        if ONE {
            assert_eq!(v.h_norm.len(), 1, "one input");
        }
        if ONE || v.h_norm.len() == 1 {
            inputs::<true>(v, out)
        } else {
            several(v, out)
        }
    }

    /// [`inputs`] for several inputs, out of line: inlined too, it made recorded skip-gram
    /// epochs execute more instructions (docs/performance.md).
    ///
    /// # Safety
    /// As [`fold`].
    #[target_feature(enable = "avx2,fma")]
    #[inline(never)]
    unsafe fn several(v: &PathVisits, out: LanesMut) -> SaturatedNodes {
        inputs::<false>(v, out)
    }

    /// The code bits 1 - t_d of the path's nodes `d0..d0 + 8` as floats, 0 in the lanes
    /// `real` leaves out.
    ///
    /// # Safety
    /// As [`fold`]; the lanes of `real` must cover only nodes below `path.len()`.
    #[inline(always)]
    unsafe fn code_bits(path: &[u32], d0: usize, real: __m256) -> __m256 {
        // SAFETY: only lanes within the path are loaded (the caller's guarantee); the others
        // read as zero without touching memory.
        let steps = unsafe {
            _mm256_maskload_epi32(
                path.as_ptr().add(d0) as *const i32,
                _mm256_castps_si256(real),
            )
        };
        _mm256_cvtepi32_ps(_mm256_and_si256(steps, _mm256_set1_epi32(1)))
    }

    /// [`fold`]'s loop; `ONE`: a single input (CBOW), so that the loop over inputs and the
    /// norm tracking compile away.
    ///
    /// # Safety
    /// As [`fold`].
    #[inline(always)]
    unsafe fn inputs<const ONE: bool>(v: &PathVisits, out: LanesMut) -> SaturatedNodes {
        let (w, nodes) = (v.width, v.nodes);
        let n_in = if ONE { 1 } else { v.h_norm.len() };
        assert!(w % 8 == 0 && nodes <= w);
        assert!(v.norm2.len() >= w);
        assert!(v.f.len() >= n_in * w && v.g.len() >= n_in * w && v.log_sig.len() >= n_in * w);
        assert!(v.path.len() >= nodes && out.width() >= w);
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let all_in = _mm256_set1_epi32(n_in as i32);
        let sign = _mm256_set1_ps(-0.0);
        let mut saturated: SaturatedNodes = 0;
        let (alpha, limit) = (_mm256_set1_ps(v.alpha), _mm256_set1_ps(v.limit));
        let neg_limit = _mm256_set1_ps(-v.limit);
        let (zero, two) = (_mm256_setzero_ps(), _mm256_set1_ps(2.0));
        let mut d0 = 0;
        while d0 < w {
            let real = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                _mm256_set1_epi32(nodes.saturating_sub(d0) as i32),
                lanes,
            ));
            // SAFETY: `real` covers nodes below `nodes` <= path.len() (asserted above).
            let code = unsafe { code_bits(v.path, d0, real) };
            // SAFETY (loads below): d0 + 8 <= w, and every row j < n_in of f, g and log_sig
            // holds w floats (asserted above).
            // Lanes past the path's end may hold stale values: they are zeroed on load.
            let mut norm2 =
                unsafe { _mm256_and_ps(_mm256_loadu_ps(v.norm2.as_ptr().add(d0)), real) };
            let (mut sg, mut sgh, mut sgv, mut sloss) = (zero, zero, zero, zero);
            let mut count = _mm256_setzero_si256();
            for (j, &hn) in v.h_norm[..n_in].iter().enumerate() {
                let at = j * w + d0;
                // SAFETY: as above.
                let (f, g, log_sig) = unsafe {
                    (
                        _mm256_and_ps(_mm256_loadu_ps(v.f.as_ptr().add(at)), real),
                        _mm256_and_ps(_mm256_loadu_ps(v.g.as_ptr().add(at)), real),
                        _mm256_loadu_ps(v.log_sig.as_ptr().add(at)),
                    )
                };
                let loss = _mm256_sub_ps(_mm256_mul_ps(code, f), log_sig);
                let hn = _mm256_set1_ps(hn);
                let inside = _mm256_and_ps(
                    _mm256_and_ps(
                        _mm256_cmp_ps::<_CMP_GT_OQ>(f, neg_limit),
                        _mm256_cmp_ps::<_CMP_LT_OQ>(f, limit),
                    ),
                    real,
                );
                count = _mm256_sub_epi32(count, _mm256_castps_si256(inside));
                let gi = _mm256_and_ps(g, inside);
                sg = _mm256_add_ps(sg, gi);
                sgh = _mm256_add_ps(sgh, _mm256_mul_ps(gi, hn));
                let vn = _mm256_sqrt_ps(_mm256_max_ps(norm2, zero));
                sgv = _mm256_add_ps(sgv, _mm256_mul_ps(gi, vn));
                sloss = _mm256_add_ps(sloss, _mm256_and_ps(loss, inside));
                if j + 1 < n_in {
                    // `next_norm2`, eight nodes at a time; the last input's is never read.
                    let step = _mm256_mul_ps(g, alpha);
                    let grow = _mm256_add_ps(
                        _mm256_mul_ps(two, f),
                        _mm256_mul_ps(_mm256_mul_ps(step, hn), hn),
                    );
                    norm2 = _mm256_add_ps(norm2, _mm256_mul_ps(step, grow));
                }
            }
            // Real lanes that lost a visit to the range test.
            let short = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(all_in, count)), real);
            saturated |= saturated_bits(_mm256_movemask_ps(short) as u32, d0);
            // Macros, not closures: a closure has no target features of its own, so the
            // intrinsics in it would stay calls.
            macro_rules! abs {
                ($x:expr) => {
                    _mm256_andnot_ps(sign, $x)
                };
            }
            macro_rules! add {
                ($acc:expr, $x:expr) => {
                    // SAFETY: d0 + 8 <= w <= each field's length (asserted above).
                    unsafe {
                        let p = $acc.as_mut_ptr().add(d0);
                        _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), $x));
                    }
                };
            }
            add!(out.n, _mm256_cvtepi32_ps(count));
            add!(out.abs_g, abs!(sg));
            add!(out.node_step, _mm256_mul_ps(alpha, abs!(sgh)));
            add!(out.input_grad, _mm256_mul_ps(alpha, abs!(sgv)));
            add!(out.loss, sloss);
            d0 += 8;
        }
        saturated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::sigmoid::{SigmoidTable, MAX_EXP};

    /// The sums written out in f64 from their definition.
    fn by_definition(v: &PathVisits) -> Vec<([f64; 4], u32, Vec<f64>)> {
        (0..v.nodes)
            .map(|d| {
                let (mut sums, mut n, mut q, mut qs) = ([0f64; 4], 0, v.norm2[d] as f64, vec![]);
                for (j, &hn) in v.h_norm.iter().enumerate() {
                    let (f, g, hn) = (
                        v.f[j * v.width + d] as f64,
                        v.g[j * v.width + d] as f64,
                        hn as f64,
                    );
                    qs.push(q);
                    if f.abs() < v.limit as f64 {
                        n += 1;
                        sums[0] += g;
                        sums[1] += g * hn;
                        sums[2] += g * q.max(0.0).sqrt();
                        let code = (v.path[d] & 1) as f64;
                        sums[3] += code * f - v.log_sig[j * v.width + d] as f64;
                    }
                    let s = g * v.alpha as f64;
                    q += s * (2.0 * f + s * hn * hn);
                }
                (sums, n, qs)
            })
            .collect()
    }

    /// Runs `fold` on paths of several lengths and input counts, with scores spread over and
    /// past the table and some skipped steps, against [`by_definition`]; returns every output.
    fn check(fold: impl Fn(&PathVisits, LanesMut) -> SaturatedNodes) -> Vec<(NodeLanes, bool)> {
        let table = SigmoidTable::new();
        let mut outputs = vec![];
        for (nodes, n_in) in [
            (1usize, 1usize),
            (2, 6),
            (7, 3),
            (8, 10),
            (9, 2),
            (17, 12),
            (24, 1),
        ] {
            let width = nodes.div_ceil(8) * 8;
            let labels: Vec<f32> = (0..width).map(|d| (d % 2) as f32).collect();
            let norm2: Vec<f32> = (0..width)
                .map(|d| match d {
                    _ if d >= nodes => f32::NAN,
                    _ if d % 3 == 0 => 0.0,
                    _ => 0.2 * d as f32,
                })
                .collect();
            // The path holds exactly its nodes (the fold must not read past it); slots past
            // its end, and ln sigmoid out of range, hold garbage, as they may in training.
            let path: Vec<u32> = (0..nodes)
                .map(|d| (d as u32) << 1 | (1 - labels[d] as u32))
                .collect();
            let (mut f, mut g, mut log_sig) = (
                vec![f32::NAN; n_in * width],
                vec![f32::INFINITY; n_in * width],
                vec![f32::NAN; n_in * width],
            );
            for j in 0..n_in {
                for d in 0..nodes {
                    let x = ((j * 31 + d * 7) as f32 * 0.37).sin() * 7.5;
                    f[j * width + d] = x;
                    g[j * width + d] = if (j + d) % 5 == 4 {
                        0.0
                    } else {
                        labels[d] - 1.0 / (1.0 + (-x).exp())
                    };
                    if x.abs() < MAX_EXP {
                        log_sig[j * width + d] = table.log_sigmoid(x);
                    }
                }
            }
            let h_norm: Vec<f32> = (0..n_in).map(|j| 0.5 + (j % 3) as f32 * 0.7).collect();
            let v = PathVisits {
                nodes,
                width,
                alpha: 0.3,
                path: &path,
                norm2: &norm2,
                f: &f,
                g: &g,
                log_sig: &log_sig,
                h_norm: &h_norm,
                limit: MAX_EXP,
            };
            // The fold adds into running sums: count and loss start from earlier totals.
            let mut out = NodeLanes::with_width(width + 8);
            out.n.fill(3.0);
            out.loss.fill(7.0);
            let before = out.clone();
            let saturated = fold(&v, out.window(0, width));
            let mut want_saturated = vec![];
            for (d, (want, count, qs)) in by_definition(&v).into_iter().enumerate() {
                assert_eq!(out.n[d], 3.0 + count as f32, "nodes={nodes} d={d}");
                if count as usize != n_in {
                    want_saturated.push(d);
                }
                let alpha = v.alpha as f64;
                let want = [
                    want[0].abs(),
                    alpha * want[1].abs(),
                    alpha * want[2].abs(),
                    7.0 + want[3],
                ];
                let got = [
                    out.abs_g[d],
                    out.node_step[d],
                    out.input_grad[d],
                    out.loss[d],
                ];
                for (a, b) in got.iter().zip(want) {
                    assert!(
                        (*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()),
                        "d={d}: {a} vs {b}"
                    );
                }
                // The norms the saturated visits are reported with.
                let mut q = v.norm2[d];
                for (j, b) in qs.into_iter().enumerate() {
                    let a = q as f64;
                    let at = j * width + d;
                    q = next_norm2(q, v.f[at], v.g[at], v.alpha, v.h_norm[j]);
                    assert!(
                        (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                        "d={d} j={j}: q {a} vs {b}"
                    );
                }
            }
            let marked: Vec<usize> = saturated_nodes(saturated, nodes).collect();
            assert_eq!(marked, want_saturated, "nodes={nodes}");
            // Lanes past the path's end gain nothing; lanes past the window are untouched.
            for (got, was) in [
                (&out.n, &before.n),
                (&out.abs_g, &before.abs_g),
                (&out.node_step, &before.node_step),
                (&out.input_grad, &before.input_grad),
                (&out.loss, &before.loss),
            ] {
                assert_eq!(got[nodes..], was[nodes..], "nodes={nodes}");
            }
            outputs.push((out, saturated != 0));
        }
        outputs
    }

    #[test]
    fn saturated_bits_mark_deep_nodes_together() {
        assert_eq!(saturated_bits(0b101, 0), 0b101);
        assert_eq!(saturated_bits(0x81, 48), 0x81 << 48);
        // Nodes 56..64: node 62 keeps its bit, node 63 sets the deep bit.
        assert_eq!(saturated_bits(1 << 6, 56), 1 << 62);
        assert_eq!(saturated_bits(1 << 7, 56), 1 << 63);
        assert_eq!(saturated_bits(0, 64), 0);
        assert_eq!(saturated_bits(0b10, 88), 1 << 63);
        let s = saturated_bits(0b11, 0) | saturated_bits(1, 64);
        assert_eq!(
            saturated_nodes(s, 70).collect::<Vec<_>>(),
            [0, 1, 63, 64, 65, 66, 67, 68, 69]
        );
        assert_eq!(saturated_nodes(0, 70).count(), 0);
    }

    #[test]
    fn pair_visits_land_where_the_fold_reads_them() {
        let (width, inputs, region) = (16, 3, 50);
        let mut buf = vec![0.0f32; 3 * region + 1];
        for j in 0..2 {
            let d = 6 + 2 * j;
            let mut col = PairVisits::new(&mut buf, region, width, inputs, d);
            for i in 0..inputs {
                let x = (10 * i + d) as f32;
                col.push([x, x + 1.0], [-x, -x - 1.0], [x + 0.5, x + 1.5]);
            }
        }
        for (at, &v) in buf.iter().enumerate() {
            let (r, slot) = (at / region, at % region);
            let (i, d) = (slot / width, slot % width);
            let x = (10 * i + d) as f32;
            let want = if r < 3 && i < inputs && (6..10).contains(&d) {
                [x, -x, x + 0.5][r]
            } else {
                0.0
            };
            assert_eq!(v, want, "slot {at}");
        }
    }

    #[test]
    #[should_panic(expected = "more visits than inputs")]
    fn pair_visits_refuse_an_input_too_many() {
        let mut buf = vec![0.0f32; 3 * 16];
        let mut col = PairVisits::new(&mut buf, 16, 8, 2, 6);
        for _ in 0..3 {
            col.push([0.0; 2], [0.0; 2], [0.0; 2]);
        }
    }

    #[test]
    #[should_panic(expected = "visit slots out of range")]
    fn pair_visits_refuse_slots_past_the_buffer() {
        let mut buf = vec![0.0f32; 3 * 16 - 1];
        PairVisits::new(&mut buf, 16, 8, 2, 0);
    }

    #[test]
    #[should_panic(expected = "visit slots out of range")]
    fn pair_visits_refuse_a_pair_past_the_row() {
        let mut buf = vec![0.0f32; 3 * 16];
        PairVisits::new(&mut buf, 16, 8, 2, usize::MAX - 1);
    }

    #[test]
    fn scalar_fold_matches_the_definition() {
        check(scalar);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_fold_matches_the_definition_and_the_scalar_fold_bit_for_bit() {
        if crate::kernel::Avx2Fma::detect().is_none() {
            eprintln!("skipped: this CPU lacks AVX2/FMA");
            return;
        }
        // SAFETY: AVX2 and FMA were detected above.
        let vector = check(|v, out| unsafe { avx::fold::<false>(v, out) });
        assert!(vector.iter().any(|o| o.1) && vector.iter().any(|o| !o.1));
        assert_eq!(vector, check(scalar));
    }
}
