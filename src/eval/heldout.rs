//! Held-out loss (`huffvec eval --model FILE --heldout TEXT`): the negative log-likelihood
//! of the hierarchical-softmax training objective on text the model did not train on,
//! overall, per frequency band of the predicted word and per tree depth (Chen, Grangier and
//! Auli, 2016, bin the same loss by word frequency).
//!
//! The pairing is training's ([`crate::model`]), with every window at its full width and
//! no subsampling:
//! * skip-gram (word2vec.c): for each centre word and each context word within `window`
//!   of it, the *context* word's input vector walks the *centre* word's path, so each pair
//!   scores `-log P(centre | context)`; the predicted word is the centre;
//! * CBOW: the mean of the context words' input vectors walks the centre word's path, one
//!   prediction per centre word.
//!
//! A path step at inner node `n` with branch bit `c` and score `f = h . v_n` costs
//! `-log sigmoid((1 - 2c) f)` (code 0 means label 1, word2vec.c's convention), computed
//! exactly in `f64` (not the training's sigmoid table), and the prediction's loss is the sum
//! over its path. Lines are sentences; words not in the vocabulary are dropped before the
//! windows are formed (as training drops them) and counted; a line longer than
//! [`MAX_SENTENCE`] vocabulary words is cut into sentences of that many, as training cuts
//! it. Sums are taken per block of sentences and added in order, so the result does not
//! depend on the number of threads.
//!
//! For reference each prediction also adds `depth x ln 2` to a *uniform* sum: the loss of
//! the same tree with every node saying 1/2, which for a Huffman tree is the unigram code
//! length of the predicted word. A model whose loss in a band is above that sum predicts
//! the band's words worse than their corpus frequency alone would.

use rayon::prelude::*;
use serde::Serialize;

use crate::bands::Bands;
use crate::config::Model;
use crate::corpus::tokenize::{self, Token};
use crate::tree::Tree;
use crate::vocab::Vocab;

/// Longest sentence, in vocabulary words (training's limit, word2vec.c's
/// `MAX_SENTENCE_LENGTH`).
pub const MAX_SENTENCE: usize = 1000;

/// Sentences per block of the parallel sum.
const BLOCK: usize = 256;

/// A hierarchical-softmax model to score text with; matrices are dense and row-major.
#[derive(Clone, Copy)]
pub struct ScoringModel<'a> {
    /// The vocabulary with its counts.
    pub vocab: &'a Vocab,
    /// Input vectors, `vocab.len() x dim`.
    pub input: &'a [f32],
    /// Inner-node vectors, `tree.n_inner() x dim`.
    pub output: &'a [f32],
    /// Vector dimension.
    pub dim: usize,
    /// The tree: each word's path of inner nodes.
    pub tree: &'a Tree,
    /// Skip-gram or CBOW pairing.
    pub model: Model,
    /// Window radius (always used at full width).
    pub window: usize,
}

/// The loss of the predictions of one frequency band.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BandLoss {
    /// Smallest count of the band.
    pub count_lo: u64,
    /// Largest count of the band (for the last band: the largest count in the vocabulary).
    pub count_hi: u64,
    /// Predicted positions (centre words with at least one context word).
    pub tokens: u64,
    /// Predictions: context words for skip-gram, one per token for CBOW.
    pub predictions: u64,
    /// Summed negative log-likelihood, in nats.
    pub nll_sum: f64,
    /// Summed `depth x ln 2` of the predictions (the uniform-node reference).
    pub uniform_sum: f64,
}

/// The loss of the node visits at one depth of the tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DepthLoss {
    /// Depth (root = 0).
    pub depth: usize,
    /// Node visits at this depth.
    pub visits: u64,
    /// Summed negative log-likelihood of those visits, in nats.
    pub nll_sum: f64,
}

/// Held-out loss, overall, per band and per depth.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HeldoutLoss {
    /// Word tokens read (vocabulary words or not).
    pub words: u64,
    /// Word tokens not in the vocabulary (skipped).
    pub oov: u64,
    /// Vocabulary tokens with no context word (one-word sentences), not predicted.
    pub no_context: u64,
    /// Predicted positions.
    pub tokens: u64,
    /// Predictions (see [`BandLoss::predictions`]).
    pub predictions: u64,
    /// Summed negative log-likelihood, in nats.
    pub nll_sum: f64,
    /// Summed `depth x ln 2` of the predictions (the uniform-node reference).
    pub uniform_sum: f64,
    /// Per band of the predicted word's count, in band order.
    pub bands: Vec<BandLoss>,
    /// Per depth, root first, up to the deepest depth visited.
    pub depths: Vec<DepthLoss>,
}

impl HeldoutLoss {
    fn empty(bands: &Bands, vocab: &Vocab) -> Self {
        let max = vocab.counts().iter().copied().max().unwrap_or(0);
        let edges = bands.edges();
        HeldoutLoss {
            bands: edges
                .iter()
                .enumerate()
                .map(|(i, &lo)| BandLoss {
                    count_lo: lo,
                    count_hi: edges.get(i + 1).map_or(max.max(lo), |&next| next - 1),
                    ..BandLoss::default()
                })
                .collect(),
            ..HeldoutLoss::default()
        }
    }

    fn add(&mut self, o: &HeldoutLoss) {
        self.words += o.words;
        self.oov += o.oov;
        self.no_context += o.no_context;
        self.tokens += o.tokens;
        self.predictions += o.predictions;
        self.nll_sum += o.nll_sum;
        self.uniform_sum += o.uniform_sum;
        for (a, b) in self.bands.iter_mut().zip(&o.bands) {
            a.tokens += b.tokens;
            a.predictions += b.predictions;
            a.nll_sum += b.nll_sum;
            a.uniform_sum += b.uniform_sum;
        }
        for b in &o.depths {
            let a = self.depth_mut(b.depth);
            a.visits += b.visits;
            a.nll_sum += b.nll_sum;
        }
    }

    fn depth_mut(&mut self, d: usize) -> &mut DepthLoss {
        while self.depths.len() <= d {
            let depth = self.depths.len();
            self.depths.push(DepthLoss {
                depth,
                ..DepthLoss::default()
            });
        }
        &mut self.depths[d]
    }

    /// Mean negative log-likelihood per predicted token (`None` without tokens).
    pub fn nll_per_token(&self) -> Option<f64> {
        (self.tokens > 0).then(|| self.nll_sum / self.tokens as f64)
    }

    /// Mean negative log-likelihood per prediction (`None` without predictions).
    pub fn nll_per_prediction(&self) -> Option<f64> {
        (self.predictions > 0).then(|| self.nll_sum / self.predictions as f64)
    }
}

/// `-log sigmoid(x)`, exactly, without overflow.
#[inline]
pub fn neg_log_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        (-x).exp().ln_1p()
    } else {
        -x + x.exp().ln_1p()
    }
}

/// The sentences of `text` as vocabulary ids (see the module docs), and the number of words
/// read and of words not in the vocabulary.
fn sentences(vocab: &Vocab, text: &[u8]) -> (Vec<Vec<u32>>, u64, u64) {
    let (mut out, mut cur) = (Vec::new(), Vec::new());
    let (mut words, mut oov) = (0u64, 0u64);
    for t in tokenize::tokens(text) {
        match t {
            Token::Word(w) => {
                words += 1;
                match vocab.id(w) {
                    Some(id) => {
                        cur.push(id);
                        if cur.len() == MAX_SENTENCE {
                            out.push(std::mem::take(&mut cur));
                        }
                    }
                    None => oov += 1,
                }
            }
            Token::EndOfSentence => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    (out, words, oov)
}

/// Scores `text` with `m`, banding predictions by the predicted word's count with `bands`.
pub fn heldout_loss(m: &ScoringModel<'_>, text: &[u8], bands: &Bands) -> HeldoutLoss {
    let (sents, words, oov) = sentences(m.vocab, text);
    let partials: Vec<HeldoutLoss> = sents
        .par_chunks(BLOCK)
        .map(|block| {
            let mut acc = HeldoutLoss::empty(bands, m.vocab);
            let mut h = vec![0.0f64; m.dim];
            for s in block {
                score_sentence(m, s, bands, &mut acc, &mut h);
            }
            acc
        })
        .collect();
    let mut total = HeldoutLoss::empty(bands, m.vocab);
    for p in &partials {
        total.add(p);
    }
    total.words = words;
    total.oov = oov;
    total
}

/// Adds the loss of every position of sentence `s` to `acc`; `h` is scratch of `dim`.
fn score_sentence(
    m: &ScoringModel<'_>,
    s: &[u32],
    bands: &Bands,
    acc: &mut HeldoutLoss,
    h: &mut [f64],
) {
    let dim = m.dim;
    for pos in 0..s.len() {
        let lo = pos.saturating_sub(m.window);
        let hi = (pos + m.window + 1).min(s.len());
        let context = s[lo..pos].iter().chain(&s[pos + 1..hi]);
        let n = hi - lo - 1;
        if n == 0 {
            acc.no_context += 1;
            continue;
        }
        let target = s[pos] as usize;
        let band = bands.band_of_count(m.vocab.counts()[target]);
        let mut nll = 0.0;
        let predictions = match m.model {
            Model::Skipgram => n,
            Model::Cbow => 1,
        };
        let uniform = (predictions * m.tree.depth(target)) as f64 * std::f64::consts::LN_2;
        acc.uniform_sum += uniform;
        acc.bands[band].uniform_sum += uniform;
        match m.model {
            Model::Skipgram => {
                for &c in context {
                    let row = &m.input[c as usize * dim..(c as usize + 1) * dim];
                    for (x, y) in h.iter_mut().zip(row) {
                        *x = *y as f64;
                    }
                    nll += walk(m, target, h, acc);
                }
            }
            Model::Cbow => {
                h.fill(0.0);
                for &c in context {
                    let row = &m.input[c as usize * dim..(c as usize + 1) * dim];
                    for (x, y) in h.iter_mut().zip(row) {
                        *x += *y as f64;
                    }
                }
                h.iter_mut().for_each(|x| *x /= n as f64);
                nll += walk(m, target, h, acc);
            }
        }
        acc.bands[band].predictions += predictions as u64;
        acc.predictions += predictions as u64;
        acc.tokens += 1;
        acc.nll_sum += nll;
        acc.bands[band].tokens += 1;
        acc.bands[band].nll_sum += nll;
    }
}

/// The loss of `h` along `target`'s path, each visit added to its depth in `acc`.
fn walk(m: &ScoringModel<'_>, target: usize, h: &[f64], acc: &mut HeldoutLoss) -> f64 {
    let dim = m.dim;
    let mut total = 0.0;
    for (d, &step) in m.tree.path(target).iter().enumerate() {
        let node = (step >> 1) as usize;
        let code = step & 1;
        let v = &m.output[node * dim..(node + 1) * dim];
        let f: f64 = h.iter().zip(v).map(|(a, b)| a * *b as f64).sum();
        let loss = neg_log_sigmoid(if code == 0 { f } else { -f });
        let slot = acc.depth_mut(d);
        slot.visits += 1;
        slot.nll_sum += loss;
        total += loss;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four words with counts 8, 4, 2, 1: Huffman depths 1, 2, 3, 3.
    fn vocab() -> Vocab {
        Vocab::from_sorted(
            [("a", 8), ("b", 4), ("c", 2), ("d", 1)]
                .iter()
                .map(|(w, c)| (w.as_bytes().into(), *c))
                .collect(),
        )
    }

    const INPUT: [f32; 8] = [0.5, -0.25, 0.125, 1.0, -0.75, 0.5, 0.3, 0.2];
    const OUTPUT: [f32; 6] = [0.2, 0.4, -0.6, 0.1, 0.9, -0.3];

    /// Count and summed loss per band or per depth.
    type Tally = Vec<(u64, f64)>;

    fn naive_sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The loss computed the plain way: per prediction, the product of the branch
    /// probabilities along the path, then its negative log.
    fn naive(
        model: Model,
        window: usize,
        sentences: &[Vec<usize>],
        tree: &Tree,
        counts: &[u64],
        bands: &Bands,
    ) -> (f64, u64, u64, Tally, Tally) {
        let vec_of = |m: &[f32], r: usize| -> Vec<f64> {
            m[r * 2..r * 2 + 2].iter().map(|&x| x as f64).collect()
        };
        let (mut total, mut tokens, mut preds) = (0.0, 0u64, 0u64);
        let mut per_band = vec![(0u64, 0.0); bands.len()];
        let mut per_depth = vec![(0u64, 0.0); 4];
        for s in sentences {
            for pos in 0..s.len() {
                let ctx: Vec<usize> = (0..s.len())
                    .filter(|&j| j != pos && j.abs_diff(pos) <= window)
                    .map(|j| s[j])
                    .collect();
                if ctx.is_empty() {
                    continue;
                }
                let hs: Vec<Vec<f64>> = match model {
                    Model::Skipgram => ctx.iter().map(|&c| vec_of(&INPUT, c)).collect(),
                    Model::Cbow => {
                        let n = ctx.len() as f64;
                        vec![(0..2)
                            .map(|i| ctx.iter().map(|&c| vec_of(&INPUT, c)[i]).sum::<f64>() / n)
                            .collect()]
                    }
                };
                tokens += 1;
                let b = bands.band_of_count(counts[s[pos]]);
                for h in hs {
                    preds += 1;
                    let mut p = 1.0;
                    for (d, step) in tree.path(s[pos]).iter().enumerate() {
                        let v = vec_of(&OUTPUT, (step >> 1) as usize);
                        let f = h[0] * v[0] + h[1] * v[1];
                        let q = if step & 1 == 0 {
                            naive_sigmoid(f)
                        } else {
                            1.0 - naive_sigmoid(f)
                        };
                        per_depth[d].0 += 1;
                        per_depth[d].1 -= q.ln();
                        p *= q;
                    }
                    total -= p.ln();
                    per_band[b].1 -= p.ln();
                }
                per_band[b].0 += 1;
            }
        }
        (total, tokens, preds, per_band, per_depth)
    }

    #[test]
    fn matches_a_naive_f64_computation_overall_per_band_and_per_depth() {
        let v = vocab();
        let tree = crate::tree::huffman::build(v.counts());
        assert_eq!(
            (0..4).map(|w| tree.depth(w)).collect::<Vec<_>>(),
            [1, 2, 3, 3]
        );
        let bands = Bands::from_edges(&[1, 3, 8]).expect("edges");
        // "zz" is not in the vocabulary; "d" alone on a line has no context.
        let text = b"a b zz c d a\nd\nb a a c\n";
        let ids = vec![vec![0, 1, 2, 3, 0], vec![1, 0, 0, 2]];
        for model in [Model::Skipgram, Model::Cbow] {
            for window in [1, 2, 5] {
                let m = ScoringModel {
                    vocab: &v,
                    input: &INPUT,
                    output: &OUTPUT,
                    dim: 2,
                    tree: &tree,
                    model,
                    window,
                };
                let got = heldout_loss(&m, text, &bands);
                let (total, tokens, preds, per_band, per_depth) =
                    naive(model, window, &ids, &tree, v.counts(), &bands);
                let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
                assert!(
                    close(got.nll_sum, total),
                    "{model:?} {window}: {} vs {total}",
                    got.nll_sum
                );
                assert_eq!((got.tokens, got.predictions), (tokens, preds));
                assert_eq!((got.words, got.oov, got.no_context), (11, 1, 1));
                assert!(close(
                    got.nll_per_token().expect("tokens"),
                    total / tokens as f64
                ));
                for (b, (n, nll)) in got.bands.iter().zip(&per_band) {
                    assert_eq!(b.tokens, *n);
                    assert!(
                        close(b.nll_sum, *nll),
                        "band {}: {} vs {nll}",
                        b.count_lo,
                        b.nll_sum
                    );
                }
                for (d, (n, nll)) in got.depths.iter().zip(&per_depth) {
                    assert_eq!(d.visits, *n, "depth {}", d.depth);
                    assert!(
                        close(d.nll_sum, *nll),
                        "depth {}: {} vs {nll}",
                        d.depth,
                        d.nll_sum
                    );
                }
                assert_eq!(got.depths.len(), 3);
                // Every step of the uniform reference costs ln 2: one per visit.
                let visits: u64 = got.depths.iter().map(|d| d.visits).sum();
                assert!(close(
                    got.uniform_sum,
                    visits as f64 * std::f64::consts::LN_2
                ));
                let band_uniform: f64 = got.bands.iter().map(|b| b.uniform_sum).sum();
                assert!(close(band_uniform, got.uniform_sum));
                let depth_total: f64 = got.depths.iter().map(|d| d.nll_sum).sum();
                assert!(close(depth_total, total));
            }
        }
        let labels: Vec<(u64, u64)> = HeldoutLoss::empty(&bands, &v)
            .bands
            .iter()
            .map(|b| (b.count_lo, b.count_hi))
            .collect();
        assert_eq!(labels, [(1, 2), (3, 7), (8, 8)]);
    }

    #[test]
    fn neg_log_sigmoid_is_exact_at_both_ends() {
        assert!((neg_log_sigmoid(0.0) - std::f64::consts::LN_2).abs() < 1e-15);
        assert!(
            (neg_log_sigmoid(-800.0) - 800.0).abs() < 1e-12,
            "no overflow"
        );
        assert!(neg_log_sigmoid(800.0) >= 0.0 && neg_log_sigmoid(800.0) < 1e-300);
        assert!((neg_log_sigmoid(40.0) - (-40.0f64).exp()).abs() < 1e-30);
    }

    #[test]
    fn long_lines_are_cut_like_training() {
        let v = vocab();
        let text: Vec<u8> = b"a ".repeat(MAX_SENTENCE + 3);
        let (s, words, oov) = sentences(&v, &text);
        assert_eq!(
            s.iter().map(Vec::len).collect::<Vec<_>>(),
            [MAX_SENTENCE, 3]
        );
        assert_eq!((words, oov), (MAX_SENTENCE as u64 + 3, 0));
    }
}
