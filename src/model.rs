//! Skip-gram and CBOW: for each centre position, which input rows train against which
//! target path (word2vec.c's pairing), then the HS step and the input updates.
//!
//! Skip-gram (word2vec.c): every context word's *input* vector is trained along the
//! *centre* word's path. CBOW: the mean of the context input vectors is trained along the
//! centre word's path, and the full (undivided) gradient is added to every context row.
//!
//! The same pairing serves both losses ([`OutputLoss`]: the HS path or negative sampling);
//! the [`StepRule`] applies each input row's accumulated step.

use crate::config::Model;
use crate::kernel::{zero, AlignedBuf, Kernel, SharedMatrix};
use crate::loss::hs::NodeScratch;
use crate::loss::ns::UnigramTable;
use crate::loss::{OutputLoss, SigmoidTable};
use crate::optim::{StepRule, StepSettings};
use crate::probe::Probe;
use crate::sampler::Rng;
use crate::tree::Tree;

/// Read-only training data shared by all threads.
pub struct Shared<'a> {
    /// Input vectors (word2vec.c `syn0`).
    pub input: &'a SharedMatrix,
    /// Output-side vectors: inner nodes for HS (word2vec.c `syn1`), output words for NS
    /// (`syn1neg`).
    pub output: &'a SharedMatrix,
    /// The output tree.
    pub tree: &'a Tree,
    /// Sigmoid table.
    pub sig: &'a SigmoidTable,
    /// Skip-gram or CBOW.
    pub model: Model,
    /// Maximum window radius.
    pub window: usize,
    /// Step-rule settings (SGD unless a mitigation is on).
    pub steps: &'a StepSettings,
    /// The sampling table when the loss is negative sampling, `None` for HS.
    pub negatives: Option<&'a UnigramTable>,
    /// Negative draws per input (NS only).
    pub negative: usize,
}

/// Per-thread buffers, allocated once.
pub struct Scratch {
    ctx_ids: Vec<u32>,
    inputs: AlignedBuf,
    errs: AlignedBuf,
    node: NodeScratch,
    stride: usize,
}

impl Scratch {
    /// Buffers for rows of `stride` floats and windows up to `window`, replicating inner
    /// nodes `0..top_rows` (see [`NodeScratch`]).
    pub fn new(stride: usize, window: usize, top_rows: usize) -> Self {
        let k = 2 * window;
        Scratch {
            ctx_ids: Vec::with_capacity(k),
            inputs: AlignedBuf::zeros(k * stride),
            errs: AlignedBuf::zeros(k * stride),
            node: NodeScratch::new(stride, top_rows),
            stride,
        }
    }

    /// Publishes this thread's top-of-tree replicas (see [`NodeScratch::sync_top`]).
    pub fn sync_top<K: Kernel>(&mut self, k: K, inner: &SharedMatrix) {
        self.node.sync_top(k, inner);
    }

    /// Rows last loaded as inputs (for the divergence check).
    pub fn last_inputs(&self) -> &[f32] {
        &self.inputs[..self.ctx_ids.len().max(1) * self.stride]
    }
}

/// Trains every centre position of `sentence` (already subsampled) with `loss`, stepping
/// the inputs by `rule`.
///
/// The model is read at run time: both models share the one inlined copy of the loss's
/// walk (its single-input case serves CBOW), which halves the loop's compiled instances.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn train_sentence<K: Kernel, L: OutputLoss, R: StepRule, P: Probe>(
    k: K,
    sh: &Shared,
    loss: &L,
    rule: &mut R,
    sentence: &[u32],
    alpha: f32,
    rng: &mut Rng,
    s: &mut Scratch,
    probe: &mut P,
) {
    let cbow = sh.model == Model::Cbow;
    let stride = s.stride;
    for pos in 0..sentence.len() {
        let radius = sh.window - rng.below(sh.window as u32) as usize;
        let lo = pos.saturating_sub(radius);
        let hi = (pos + radius + 1).min(sentence.len());
        s.ctx_ids.clear();
        s.ctx_ids.extend_from_slice(&sentence[lo..pos]);
        s.ctx_ids.extend_from_slice(&sentence[pos + 1..hi]);
        let n = s.ctx_ids.len();
        if n == 0 {
            continue;
        }
        let target = sentence[pos];
        // The rows trained along the target's path: the mean of the context rows (CBOW)
        // or every context row (skip-gram).
        let rows = if cbow {
            let (h, tmp) = s.inputs.split_at_mut(stride);
            zero(h);
            let tmp = &mut tmp[..stride];
            for &c in &s.ctx_ids {
                sh.input.copy_row(k, c as usize, tmp);
                k.axpy(1.0, tmp, h);
            }
            k.scale(1.0 / n as f32, h);
            1
        } else {
            for (j, &c) in s.ctx_ids.iter().enumerate() {
                sh.input
                    .copy_row(k, c as usize, &mut s.inputs[j * stride..(j + 1) * stride]);
            }
            n
        };
        let width = rows * stride;
        zero(&mut s.errs[..width]);
        if P::ENABLED {
            probe.begin_path(target, rows, loss.path_len(target));
        }
        loss.train(
            k,
            target,
            &s.inputs[..width],
            &mut s.errs[..width],
            alpha,
            rule,
            rng,
            &mut s.node,
            probe,
        );
        let record = P::ENABLED && probe.sampling();
        if cbow {
            // The undivided step reaches every context word's input vector.
            let e = &s.errs[..stride];
            let (first, rest) = (s.ctx_ids[0], &s.ctx_ids[1..]);
            let n2 = step_input(k, rule, sh.input, first, e, alpha, record);
            if P::ENABLED {
                probe.end_window(sentence, lo, pos, hi, n2);
            }
            for &c in rest {
                rule.input_step(k, sh.input, c as usize, e, alpha);
            }
        } else {
            for (j, &c) in s.ctx_ids.iter().enumerate() {
                let e = &s.errs[j * stride..(j + 1) * stride];
                let n2 = step_input(k, rule, sh.input, c, e, alpha, record);
                if P::ENABLED {
                    probe.end_input(j, c, n2);
                }
            }
        }
    }
    if P::ENABLED && cbow {
        probe.end_sentence(sentence);
    }
}

/// Applies `word`'s input step `e`; returns |e|^2 when `record` (from the step's own
/// loads), else 0.
#[inline(always)]
fn step_input<K: Kernel, R: StepRule>(
    k: K,
    rule: &mut R,
    input: &SharedMatrix,
    word: u32,
    e: &[f32],
    alpha: f32,
    record: bool,
) -> f32 {
    if record {
        rule.input_step_norm2(k, input, word as usize, e, alpha)
    } else {
        rule.input_step(k, input, word as usize, e, alpha);
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainConfig;
    use crate::kernel::{count_allocations, Scalar};
    use crate::loss::hs::HsLoss;
    use crate::optim::Sgd;
    use crate::probe::NoProbe;
    use crate::tree::huffman;

    /// Trains `sentence` ten times with kernel `k` and returns the allocations made.
    fn allocations_per_ten<K: Kernel>(k: K, model: Model, top_rows: usize) -> u64 {
        let counts: Vec<u64> = (1..=60u64).rev().map(|c| c * c).collect();
        let tree = huffman::build(&counts);
        let dim = 24;
        let input = SharedMatrix::zeros(counts.len(), dim);
        let inner = SharedMatrix::zeros(tree.n_inner(), dim);
        let stride = input.stride();
        for w in 0..counts.len() {
            let row: Vec<f32> = (0..stride)
                .map(|i| {
                    if i < dim {
                        ((w * 31 + i * 7) % 13) as f32 / 130.0 - 0.05
                    } else {
                        0.0
                    }
                })
                .collect();
            input.add_to_row(k, w, &row);
        }
        let sig = SigmoidTable::new();
        let cfg = TrainConfig::for_corpus("unused".into(), model);
        let steps = StepSettings::new(&cfg, tree.max_depth(), input.rows(), inner.rows());
        let window = 5;
        let shared = Shared {
            input: &input,
            output: &inner,
            tree: &tree,
            sig: &sig,
            model,
            window,
            steps: &steps,
            negatives: None,
            negative: 0,
        };
        let loss = HsLoss {
            tree: &tree,
            inner: &inner,
            sig: &sig,
        };
        let mut scratch = Scratch::new(stride, window, top_rows);
        let mut rng = Rng::new(7, 0);
        let sentence: Vec<u32> = (0..300u32).map(|i| (i * 17 + i / 7) % 60).collect();
        let mut rule = Sgd { skip: true };
        let mut probe = NoProbe;
        let mut train = |rng: &mut Rng| {
            train_sentence(
                k,
                &shared,
                &loss,
                &mut rule,
                &sentence,
                0.025,
                rng,
                &mut scratch,
                &mut probe,
            )
        };
        train(&mut rng);
        let ((), n) = count_allocations(|| {
            for _ in 0..10 {
                train(&mut rng);
            }
        });
        n
    }

    #[test]
    fn training_sentences_allocates_nothing() {
        for model in [Model::Skipgram, Model::Cbow] {
            for top_rows in [0, 8] {
                assert_eq!(allocations_per_ten(Scalar, model, top_rows), 0, "{model:?}");
                #[cfg(target_arch = "x86_64")]
                if let Some(k) = crate::kernel::Avx2Fma::detect() {
                    assert_eq!(allocations_per_ten(k, model, top_rows), 0, "{model:?} AVX2");
                }
            }
        }
    }

    #[test]
    fn the_allocation_counter_sees_allocations() {
        let (v, n) = count_allocations(|| vec![1u8; 100]);
        assert_eq!((v.len(), n), (100, 1));
    }
}
