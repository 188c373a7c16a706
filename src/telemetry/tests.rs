//! Telemetry checked against hand computation and against counting identities.

use super::collector::Collector;
use super::grid::Cell;
use super::*;
use crate::config::{Model, TrainConfig};
use crate::kernel::{Scalar, SharedMatrix};
use crate::loss::hs::{self, NodeScratch};
use crate::loss::sigmoid::SigmoidTable;
use crate::probe::NoProbe;
use crate::schedule::Schedule;
use crate::test_support::{run_cfg, zipf_corpus};
use crate::train::Silent;
use crate::tree::{huffman, Tree};
use crate::vocab::Vocab;

fn tiny_vocab() -> Vocab {
    // counts 5, 3, 2: log2 bands 2, 1, 1 -> dense bands 1, 0, 0.
    Vocab::from_sorted(vec![
        (b"a".to_vec().into_boxed_slice(), 5),
        (b"b".to_vec().into_boxed_slice(), 3),
        (b"c".to_vec().into_boxed_slice(), 2),
    ])
}

fn tiny_cfg(sample: f64) -> TrainConfig {
    let mut cfg = TrainConfig::new("in.txt".into(), "out.txt".into(), Model::Skipgram);
    cfg.run.threads = 1;
    cfg.run.stats.sample = sample;
    cfg
}

fn row(stride: usize, xs: &[f32]) -> Vec<f32> {
    let mut r = vec![0.0; stride];
    r[..xs.len()].copy_from_slice(xs);
    r
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn recorded_figures_match_hand_computation() {
    let vocab = tiny_vocab();
    let tree = huffman::build(vocab.counts());
    let collector = Collector::new(&tiny_cfg(1.0));
    let mut probe = GridProbe::new(&collector, 0);
    let run = RunInfo {
        vocab: &vocab,
        tree: &tree,
        schedule: Schedule::new(0.1, 1000),
    };
    probe.prepare(&run);

    let dim = 4;
    let inner = SharedMatrix::zeros(tree.n_inner(), dim);
    let stride = inner.stride();
    let target = 2u32; // "c", count 2: a path of two inner nodes
    let path = tree.path(target as usize).to_vec();
    assert_eq!(path.len(), 2);
    // The root gets a fixed vector; the deeper node keeps its zero initialisation.
    let v_root = [0.5f32, -0.25, 0.1, 0.0];
    inner.add_to_row(Scalar, (path[0] >> 1) as usize, &row(stride, &v_root));
    let h = [[1.0f32, 2.0, 0.0, -1.0], [-0.5, 0.3, 0.8, 0.2]];
    let mut inputs = row(stride, &h[0]);
    inputs.extend(row(stride, &h[1]));
    let mut errs = vec![0.0f32; 2 * stride];
    let alpha = 0.1f32;
    let sig = SigmoidTable::new();

    probe.begin_path(target, 2, path.len());
    hs::train_path(
        Scalar,
        &path,
        &inner,
        &inputs,
        &mut errs,
        alpha,
        &sig,
        &mut NodeScratch::new(stride, 0),
        &mut crate::optim::Sgd { skip: true },
        &mut probe,
    );
    for j in 0..2 {
        let e = &errs[j * stride..(j + 1) * stride];
        probe.end_input(j, j as u32, dot(e, e));
    }
    probe.flush();

    // By hand: each node meets input 0 then input 1 (word2vec.c order); v moves between.
    let mut expect = [Cell::default(); 2];
    let mut e_hand = [[0f32; 4]; 2];
    for (d, &step) in path.iter().enumerate() {
        let t = (1 - (step & 1)) as f32;
        let mut v = if d == 0 { v_root } else { [0.0; 4] };
        for (j, hj) in h.iter().enumerate() {
            let f = dot(hj, &v);
            assert!(
                f.abs() < 6.0,
                "the example must stay inside the sigmoid table"
            );
            let g = t - sig.sigmoid(f);
            let s = alpha * g;
            // -ln sigmoid(±f) from the trainer's table, label 0 through
            // -ln sigmoid(-f) = f - ln sigmoid(f); within the table's resolution of exact.
            let loss = if t > 0.5 {
                -sig.log_sigmoid(f)
            } else {
                f - sig.log_sigmoid(f)
            };
            let x = if t > 0.5 { f } else { -f } as f64;
            assert!((loss as f64 - (-x).exp().ln_1p()).abs() < 0.02);
            let c = &mut expect[d];
            c.updates += 1;
            c.sampled += 1;
            c.abs_g += g.abs() as f64;
            c.node_step += (s.abs() * dot(hj, hj).sqrt()) as f64;
            c.input_grad += (s.abs() * dot(&v, &v).sqrt()) as f64;
            c.loss += loss as f64;
            for i in 0..4 {
                e_hand[j][i] += s * v[i];
            }
            for i in 0..4 {
                v[i] += s * hj[i];
            }
        }
    }
    let band_c = probe.layout.band_of_word[2] as usize;
    assert_eq!(band_c, 0);
    for (d, want) in expect.iter().enumerate() {
        let got = probe.grid.cell(band_c, d);
        assert_eq!((got.updates, got.sampled), (2, 2));
        assert_eq!(got.sat_agree + got.sat_disagree + got.skipped, 0);
        for (name, a, b) in [
            ("abs_g", got.abs_g, want.abs_g),
            ("node_step", got.node_step, want.node_step),
            ("input_grad", got.input_grad, want.input_grad),
            ("loss", got.loss, want.loss),
        ] {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1e-3),
                "depth {d} {name}: {a} vs {b}"
            );
        }
    }
    // The deep node starts at zero: the first input gets nothing back from it, and it
    // sends back only what input 0's step put there.
    assert!(expect[1].input_grad < expect[0].input_grad);
    // Input side: words 0 ("a", band 1) and 1 ("b", band 0) each got one update along a
    // path of length 2.
    let (b_a, b_b) = (&probe.grid.bands[1], &probe.grid.bands[0]);
    assert_eq!((b_a.input_updates, b_b.input_updates), (1, 1));
    assert_eq!((b_a.input_path_len, b_b.input_path_len), (2, 2));
    let n = |e: &[f32; 4]| dot(e, e).sqrt() as f64;
    assert!((b_a.input_step - n(&e_hand[0])).abs() < 1e-6);
    assert!((b_b.input_step - n(&e_hand[1])).abs() < 1e-6);
    assert!((b_a.input_alpha - 0.1).abs() < 1e-7, "alpha at progress 0");
    assert_eq!(probe.grid.bands[0].target_examples, 2);
}

#[test]
fn saturation_is_split_by_agreement_with_exact_loss() {
    let vocab = tiny_vocab();
    let tree = huffman::build(vocab.counts());
    let collector = Collector::new(&tiny_cfg(1.0));
    let mut probe = GridProbe::new(&collector, 0);
    probe.prepare(&RunInfo {
        vocab: &vocab,
        tree: &tree,
        schedule: Schedule::new(0.1, 1000),
    });
    let inner = SharedMatrix::zeros(tree.n_inner(), 4);
    let stride = inner.stride();
    // Every path starts at the root; f = h.v_root = 10 for h = e_0.
    inner.add_to_row(Scalar, 0, &row(stride, &[10.0]));
    let h = row(stride, &[1.0]);
    let sig = SigmoidTable::new();
    let (mut agree_words, mut disagree_words) = (Vec::new(), Vec::new());
    for w in 0..3u32 {
        let path = tree.path(w as usize);
        if path[0] & 1 == 0 {
            agree_words.push(w); // label 1, f = +10
        } else {
            disagree_words.push(w);
        }
        let mut err = vec![0.0f32; stride];
        probe.begin_path(w, 1, path.len());
        hs::train_path(
            Scalar,
            path,
            &inner,
            &h,
            &mut err,
            0.1,
            &sig,
            &mut NodeScratch::new(stride, 0),
            &mut crate::optim::Sgd { skip: true },
            &mut probe,
        );
    }
    assert!(!agree_words.is_empty() && !disagree_words.is_empty());
    probe.flush();
    let root = probe.grid.depth_total(0);
    assert_eq!(root.updates, 3);
    assert_eq!(root.sat_agree, agree_words.len() as u64);
    assert_eq!(root.sat_disagree, disagree_words.len() as u64);
    assert_eq!(root.skipped, 3, "word2vec.c skips every saturated node");
    assert_eq!((root.node_step, root.input_grad), (0.0, 0.0));
    // |g| = sigma(-10) when agreeing, sigma(10) when not; loss = ln(1 + e^-x), x = ±10.
    let s_neg = 1.0 / (1.0 + 10f64.exp());
    let want_g = agree_words.len() as f64 * s_neg + disagree_words.len() as f64 * (1.0 - s_neg);
    let l_agree = (-10f64).exp().ln_1p();
    let want_loss =
        agree_words.len() as f64 * l_agree + disagree_words.len() as f64 * (10.0 + l_agree);
    // Per-node sums are f32 (a node sees a handful of visits per path), then f64.
    assert!((root.abs_g - want_g).abs() < 1e-6);
    assert!((root.loss - want_loss).abs() < 1e-5);
}

#[test]
fn sampling_keeps_counts_exact_and_skips_magnitudes() {
    let vocab = tiny_vocab();
    let tree = huffman::build(vocab.counts());
    let collector = Collector::new(&tiny_cfg(0.25));
    let mut probe = GridProbe::new(&collector, 0);
    probe.prepare(&RunInfo {
        vocab: &vocab,
        tree: &tree,
        schedule: Schedule::new(0.1, 1000),
    });
    let mut sampled_paths = 0;
    for _ in 0..4000 {
        probe.begin_path(2, 3, tree.depth(2));
        sampled_paths += probe.sampling() as u32;
    }
    assert!(
        (800..1200).contains(&sampled_paths),
        "{sampled_paths} of 4000"
    );
    probe.flush();
    let c = probe.grid.depth_total(1);
    assert_eq!(c.updates, 12_000);
    assert_eq!(probe.grid.bands[0].target_examples, 12_000);
}

/// A [`GridProbe`] that takes CBOW's windows word by word (the trait's default).
struct WordByWord<'a>(GridProbe<'a>);

impl Probe for WordByWord<'_> {
    const ENABLED: bool = true;
    fn prepare(&mut self, run: &RunInfo) {
        self.0.prepare(run);
    }
    fn begin_path(&mut self, target: u32, n_inputs: usize, path_len: usize) {
        self.0.begin_path(target, n_inputs, path_len);
    }
    fn sampling(&self) -> bool {
        self.0.sampling()
    }
    fn node(&mut self, depth: usize, sums: &NodeSums) {
        self.0.node(depth, sums);
    }
    fn path_lanes(&mut self, nodes: usize, width: usize) -> Option<LanesMut<'_>> {
        self.0.path_lanes(nodes, width)
    }
    fn end_input(&mut self, input: usize, word: u32, step_norm2: f32) {
        self.0.end_input(input, word, step_norm2);
    }
    fn publish(&mut self, done: u64, alpha: f32) {
        self.0.publish(done, alpha);
    }
}

/// Sends `probe` CBOW's events for `sentences` in the training loop's order: per centre
/// word a path, then its window's accumulated step; per sentence its end and a publish.
fn cbow_events<P: Probe>(probe: &mut P, tree: &Tree, sentences: &[Vec<u32>]) {
    let mut done = 0;
    for s in sentences {
        for centre in 0..s.len() {
            // A shrunk window radius 1..=3, as the loop draws it.
            let b = 1 + (centre * 7 + s.len()) % 3;
            let (lo, hi) = (centre.saturating_sub(b), (centre + b + 1).min(s.len()));
            if hi - lo < 2 {
                continue;
            }
            let target = s[centre];
            probe.begin_path(target, 1, tree.depth(target as usize));
            let step_norm2 = if probe.sampling() {
                0.25 + (centre % 11) as f32
            } else {
                0.0
            };
            probe.end_window(s, lo, centre, hi, step_norm2);
        }
        probe.end_sentence(s);
        done += s.len() as u64;
        probe.publish(done, 0.02);
    }
}

#[test]
fn cbow_windows_record_what_their_context_words_record_one_by_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = run_cfg(dir.path(), Model::Cbow, 1);
    cfg.run.stats.sample = 0.5;
    let words: Vec<_> = (0..40u64)
        .map(|w| {
            (
                format!("w{w}").into_bytes().into_boxed_slice(),
                4000 / (w + 1),
            )
        })
        .collect();
    let vocab = Vocab::from_sorted(words);
    let tree = huffman::build(vocab.counts());
    // Short sentences, and one longer than a window batch holds (added word by word).
    let zipf = |i: u64| ((i * 2_654_435_761) % 1000).pow(2) / 25_000;
    let mut sentences: Vec<Vec<u32>> = (1..60u64)
        .map(|n| (0..n).map(|i| zipf(i * 61 + n) as u32).collect())
        .collect();
    sentences.push(
        (0..pending::WINDOW_SENTENCE_MAX as u64 + 5)
            .map(|i| zipf(i) as u32)
            .collect(),
    );
    let total = sentences.iter().map(|s| s.len() as u64).sum();
    let run = |by_word: bool| {
        let collector = Collector::new(&cfg);
        let mut probe = GridProbe::new(&collector, 0);
        probe.prepare(&RunInfo {
            vocab: &vocab,
            tree: &tree,
            schedule: Schedule::new(0.02, total),
        });
        if by_word {
            let mut wrapped = WordByWord(probe);
            cbow_events(&mut wrapped, &tree, &sentences);
            probe = wrapped.0;
        } else {
            cbow_events(&mut probe, &tree, &sentences);
        }
        let words = probe.words.clone().expect("word totals");
        collector.finish(std::slice::from_mut(&mut probe));
        (collector.total().expect("grid"), words)
    };
    let ((got, got_words), (want, want_words)) = (run(false), run(true));
    assert_eq!(
        got.cells, want.cells,
        "the node side does not depend on the inputs'"
    );
    assert_eq!(got_words.input_updates, want_words.input_updates);
    assert_eq!(got_words.input_sampled, want_words.input_sampled);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    for (w, (&a, &b)) in got_words
        .input_step
        .iter()
        .zip(&want_words.input_step)
        .enumerate()
    {
        assert!(close(a, b), "word {w}: input step {a} vs {b}");
    }
    let mut sampled = 0;
    for (b, (g, w)) in got.bands.iter().zip(&want.bands).enumerate() {
        assert_eq!(
            (g.input_updates, g.input_sampled, g.input_path_len),
            (w.input_updates, w.input_sampled, w.input_path_len),
            "band {b}"
        );
        assert!(close(g.input_step, w.input_step), "band {b} input step");
        assert!(close(g.input_alpha, w.input_alpha), "band {b} alpha");
        sampled += g.input_sampled;
    }
    let updates: u64 = got.bands.iter().map(|b| b.input_updates).sum();
    assert!(
        sampled > 0 && sampled < updates,
        "half the paths are recorded"
    );
}

#[test]
fn alternating_rounds_train_what_a_plain_run_trains() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 1500 lines of 20 words and a sentence end, 2 epochs: 63,000 words.
    zipf_corpus(&dir.path().join("corpus.txt"), 1500);
    for model in [Model::Skipgram, Model::Cbow] {
        let mut cfg = run_cfg(dir.path(), model, 1);
        cfg.run.stats = Default::default();
        let collector = Collector::new(&cfg);
        let mut recorded = vec![GridProbe::new(&collector, 0)];
        let mut alt = crate::train::Alternate {
            probes: &mut recorded,
            segment: 10_000,
            rounds: Vec::new(),
        };
        let (rounds_run, report) =
            crate::train::train_alternating(&cfg, &Silent, &mut [NoProbe], &mut alt)
                .expect("alternating run");
        let (plain, _) = crate::train::train(&cfg, &Silent).expect("plain run");
        assert_eq!(rounds_run.input.as_slice(), plain.input.as_slice());
        assert_eq!(rounds_run.inner.as_slice(), plain.inner.as_slice());
        // Rounds end at the first publish point past each segment (and at epoch ends); they
        // take turns in the order plain, recorded, recorded, plain, ...
        let kinds: Vec<bool> = alt.rounds.iter().map(|r| r.alternate).collect();
        assert!(kinds.len() >= 6, "{kinds:?}");
        for (turn, &k) in kinds.iter().enumerate() {
            assert_eq!(k, [false, true, true, false][turn % 4], "round {turn}");
        }
        let words: u64 = alt.rounds.iter().map(|r| r.words).sum();
        assert_eq!(words, report.words);
        // The recording probe saw exactly its rounds' examples.
        let recorded_words: u64 = alt
            .rounds
            .iter()
            .filter(|r| r.alternate)
            .map(|r| r.words)
            .sum();
        assert!(recorded_words > 0 && recorded_words < words);
        collector.finish(&mut recorded);
        let total = collector.total().expect("recorded grid");
        assert!(total.total().updates > 0);
    }
}

#[test]
fn neighbouring_probes_never_share_a_cache_line() {
    // Probes of neighbouring threads sit side by side in one slice; with 128-byte
    // alignment (and so a size in whole 128-byte blocks) none straddles into the next's.
    assert_eq!(std::mem::align_of::<GridProbe>() % 128, 0);
}
