//! Negative sampling, the sampled baseline (Mikolov et al. 2013b; word2vec.c `-hs 0
//! -negative K`).
//!
//! Each word has an output vector u_w (word2vec.c's `syn1neg`). For input h and target w
//! the objective is ln σ(h·u_w) + Σ_k ln σ(−h·u_{n_k}) over K words n_k drawn from the
//! unigram distribution raised to 0.75; a draw equal to the target is skipped. Every term
//! is a logistic step with label 1 (target) or 0 (negative), the same step as one HS node,
//! so the [`StepRule`] applies unchanged (at depth 0).
//!
//! With several inputs (skip-gram's window) the target row is read once, stepped by each
//! input in turn and published once, as HS does for tree nodes; negatives are drawn per
//! input, as word2vec.c draws them per context word.

use super::sigmoid::{SigmoidTable, MAX_EXP};
use super::OutputLoss;
use crate::kernel::{Kernel, SharedMatrix};
use crate::loss::hs::NodeScratch;
use crate::optim::StepRule;
use crate::probe::Probe;
use crate::sampler::Rng;

/// Slots of the sampling table (word2vec.c uses 1e8; 1e7 gives a resolution of 1e-7 of the
/// probability mass at a tenth of the memory).
pub const TABLE_SIZE: usize = 10_000_000;

/// Negatives drawn (and their rows prefetched) at a time.
const PREFETCH_BATCH: usize = 16;

/// Power of the counts in the sampling distribution.
pub const POWER: f64 = 0.75;

/// Word ids laid out so that a uniform slot is word w with probability ≈ c_w^0.75 / Σ c^0.75.
pub struct UnigramTable {
    slots: Box<[u32]>,
}

impl UnigramTable {
    /// The table for `counts` (word ids in any order) with `size` slots (raised to the
    /// vocabulary size if smaller). Every word gets one slot, so however rare it can be
    /// drawn, plus its share of the remaining `size - V` slots by cumulative rounding; the
    /// bias towards rare words is at most V/size of the mass (0.7% for 70k words).
    pub fn new(counts: &[u64], size: usize) -> Self {
        let n = counts.len();
        assert!(n >= 1, "a sampling table needs at least one word");
        let spare = size.max(n) - n;
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(POWER)).collect();
        let total: f64 = weights.iter().sum();
        let mut slots = Vec::with_capacity(n + spare);
        let (mut cum, mut prev_end) = (0.0f64, 0usize);
        for (w, weight) in weights.iter().enumerate() {
            cum += weight / total;
            let end = if w + 1 == n {
                spare
            } else {
                ((cum * spare as f64).round() as usize).clamp(prev_end, spare)
            };
            slots.extend(std::iter::repeat(w as u32).take(1 + end - prev_end));
            prev_end = end;
        }
        UnigramTable {
            slots: slots.into_boxed_slice(),
        }
    }

    /// Number of slots.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// One draw.
    #[inline(always)]
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        self.slots[rng.below(self.slots.len() as u32) as usize]
    }
}

/// Negative sampling with `negative` draws per input from `table`.
pub struct NsLoss<'a> {
    /// Output word vectors (word2vec.c `syn1neg`).
    pub output: &'a SharedMatrix,
    /// The unigram^0.75 sampling table.
    pub table: &'a UnigramTable,
    /// Draws per input (K).
    pub negative: usize,
    /// Sigmoid table.
    pub sig: &'a SigmoidTable,
}

impl NsLoss<'_> {
    /// Steps output row `row` with label `label` against `inputs` (paired with `errs`,
    /// numbered from `first`).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn step_row<K: Kernel, R: StepRule>(
        &self,
        k: K,
        row: usize,
        label: f32,
        inputs: &[f32],
        errs: &mut [f32],
        first: usize,
        alpha: f32,
        rule: &mut R,
        scratch: &mut NodeScratch,
    ) {
        let stride = self.output.stride();
        let NodeScratch { v, v_old, .. } = scratch;
        self.output.copy_row(k, row, v);
        v_old.copy_from_slice(v);
        rule.begin_node(row);
        let mut changed = false;
        for (j, (h, e)) in inputs
            .chunks_exact(stride)
            .zip(errs.chunks_exact_mut(stride))
            .enumerate()
        {
            let f = k.dot(h, v);
            if !(f > -MAX_EXP && f < MAX_EXP) && rule.skips_saturated() {
                continue;
            }
            rule.node_step(k, first + j, 0, label - self.sig.sigmoid(f), alpha, v, h, e);
            changed = true;
        }
        if changed {
            self.output.add_delta_to_row(k, row, v, v_old);
            rule.end_node(row);
        }
    }
}

impl OutputLoss for NsLoss<'_> {
    #[inline(always)]
    fn train<K: Kernel, R: StepRule, P: Probe>(
        &self,
        k: K,
        target: u32,
        inputs: &[f32],
        errs: &mut [f32],
        alpha: f32,
        rule: &mut R,
        rng: &mut Rng,
        scratch: &mut NodeScratch,
        _: &mut P,
    ) {
        let stride = self.output.stride();
        rule.begin_path(k, inputs, stride);
        self.step_row(
            k,
            target as usize,
            1.0,
            inputs,
            errs,
            0,
            alpha,
            rule,
            scratch,
        );
        for (j, (h, e)) in inputs
            .chunks_exact(stride)
            .zip(errs.chunks_exact_mut(stride))
            .enumerate()
        {
            // Draw a batch of negatives first and prefetch their rows, so the cache misses
            // of random rows overlap; the draws come in the same order as one at a time.
            let mut left = self.negative;
            while left > 0 {
                let n = left.min(PREFETCH_BATCH);
                let mut draws = [0u32; PREFETCH_BATCH];
                for d in &mut draws[..n] {
                    *d = self.table.sample(rng);
                    self.output.prefetch_row(*d as usize);
                }
                for &w in &draws[..n] {
                    if w != target {
                        self.step_row(k, w as usize, 0.0, h, e, j, alpha, rule, scratch);
                    }
                }
                left -= n;
            }
        }
    }

    #[inline(always)]
    fn path_len(&self, _: u32) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Scalar;
    use crate::optim::Sgd;
    use crate::probe::NoProbe;

    #[test]
    fn table_shares_follow_counts_to_the_three_quarters() {
        // Shares 16^.75 : 1 : 81^.75 = 8 : 1 : 27 (of 36).
        let t = UnigramTable::new(&[16, 1, 81], 360_000);
        let mut n = [0usize; 3];
        for &w in t.slots.iter() {
            n[w as usize] += 1;
        }
        for (got, want) in n.iter().zip([8.0, 1.0, 27.0]) {
            let share = *got as f64 / 360_000.0;
            assert!((share - want / 36.0).abs() < 1e-4, "{n:?}");
        }
    }

    #[test]
    fn every_word_gets_a_slot_however_rare() {
        let mut counts = vec![1_000_000u64; 5];
        counts.push(1);
        let t = UnigramTable::new(&counts, 100);
        assert!(t.slots.contains(&5));
        assert_eq!(t.len(), 100);
        assert_eq!(UnigramTable::new(&[3, 1], 1).len(), 2);
    }

    #[test]
    fn draws_follow_the_table() {
        let t = UnigramTable::new(&[16, 1, 81], 36_000);
        let mut rng = Rng::new(5, 0);
        let mut n = [0usize; 3];
        for _ in 0..360_000 {
            n[t.sample(&mut rng) as usize] += 1;
        }
        assert!((n[2] as f64 / 360_000.0 - 0.75).abs() < 0.005, "{n:?}");
        assert!(
            (n[1] as f64 / 360_000.0 - 1.0 / 36.0).abs() < 0.002,
            "{n:?}"
        );
    }

    /// A dim-1 model with output rows `u`: trains target 0 once against input `h0` with
    /// `table`, `negative` draws per input and random stream `seed`; returns the output
    /// rows afterwards and the input's accumulated step.
    fn train_dim1(
        u: &[f32],
        table: &UnigramTable,
        negative: usize,
        h0: f32,
        seed: u64,
    ) -> (Vec<f32>, f32) {
        let out = SharedMatrix::zeros(u.len(), 1);
        let s = out.stride();
        let mut r = vec![0.0; s];
        for (w, &x) in u.iter().enumerate() {
            r[0] = x;
            out.add_to_row(Scalar, w, &r);
        }
        let sig = SigmoidTable::new();
        let loss = NsLoss {
            output: &out,
            table,
            negative,
            sig: &sig,
        };
        let mut h = vec![0.0; s];
        h[0] = h0;
        let mut err = vec![0.0; s];
        loss.train(
            Scalar,
            0,
            &h,
            &mut err,
            0.1,
            &mut Sgd { skip: false },
            &mut Rng::new(seed, 0),
            &mut NodeScratch::new(s, 0),
            &mut NoProbe,
        );
        let rows = (0..u.len())
            .map(|w| {
                let mut v = vec![0.0; s];
                out.copy_row(Scalar, w, &mut v);
                v[0]
            })
            .collect();
        (rows, err[0])
    }

    /// A table whose slots are exactly `words`.
    fn table_of(words: &[u32]) -> UnigramTable {
        UnigramTable {
            slots: words.into(),
        }
    }

    #[test]
    fn one_positive_and_one_negative_step_by_hand() {
        // Two words, dim 1. Table of word 1 only, so each negative draw is word 1.
        // Target 0 with u_0 = 0.5, u_1 = -1, h = 2: f_0 = 1, f_1 = -2.
        let (v, err) = train_dim1(&[0.5, -1.0], &table_of(&[1]), 1, 2.0, 1);
        let sig = SigmoidTable::new();
        let g0 = (1.0 - sig.sigmoid(1.0)) * 0.1;
        let g1 = (0.0 - sig.sigmoid(-2.0)) * 0.1;
        assert!((err - (g0 * 0.5 - g1)).abs() < 1e-6);
        assert!((v[0] - (0.5 + g0 * 2.0)).abs() < 1e-6);
        assert!((v[1] - (-1.0 + g1 * 2.0)).abs() < 1e-6);
    }

    #[test]
    fn saturated_scores_step_by_the_sigmoid_limit() {
        // Target 0 with u_0 = 7 (f = 7: agreeing, g = 1 - 1 = 0), negative word 1 with
        // u_1 = -8 (f = -8: agreeing, g = 0) and word 2 with u_2 = 9 (f = 9 against label
        // 0: the full gradient g = -1). word2vec.c's NS takes sigmoid's limits the same way.
        let (v, err) = train_dim1(&[7.0, -8.0, 9.0], &table_of(&[1, 2]), 8, 1.0, 3);
        assert_eq!((v[0], v[1]), (7.0, -8.0));
        // Word 2 was drawn at least once (of 8); each draw steps it by -0.1, f stays >= 6.
        let steps = (9.0 - v[2]) / 0.1;
        assert!(
            steps >= 1.0 && (steps - steps.round()).abs() < 1e-3,
            "{}",
            v[2]
        );
        assert!((err + 0.1 * (9.0 + v[2] + 0.1) / 2.0 * steps).abs() < 1e-3);
    }

    #[test]
    fn a_draw_equal_to_the_target_is_skipped() {
        // Only the positive step: f = 0, g = 0.5 * 0.1, u_0 = 0 + 0.05 * 1.
        let (v, _) = train_dim1(&[0.0], &UnigramTable::new(&[1], 4), 3, 1.0, 1);
        assert!((v[0] - 0.05).abs() < 1e-3, "{}", v[0]);
    }
}
