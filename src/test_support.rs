//! Fixtures shared by the unit tests of several modules.

use std::path::Path;

use crate::config::{Model, TrainConfig};

/// A Zipf-like corpus of `n_lines` lines of 20 words over a vocabulary of 300 words.
pub(crate) fn zipf_corpus(path: &Path, n_lines: usize) {
    let weights: Vec<f64> = (0..300).map(|i| 1.0 / (i as f64 + 1.0)).collect();
    let total: f64 = weights.iter().sum();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut text = String::new();
    for _ in 0..n_lines {
        for k in 0..20 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut u = (rng >> 11) as f64 / (1u64 << 53) as f64 * total;
            let mut w = 0;
            while w < 299 && u >= weights[w] {
                u -= weights[w];
                w += 1;
            }
            if k > 0 {
                text.push(' ');
            }
            text.push_str(&format!("w{w}"));
        }
        text.push('\n');
    }
    std::fs::write(path, text).expect("write test corpus");
}

/// A small, fast, recorded configuration over `dir/corpus.txt` (stats and word stats in
/// `dir`).
pub(crate) fn run_cfg(dir: &Path, model: Model, threads: usize) -> TrainConfig {
    let mut cfg = TrainConfig::new(dir.join("corpus.txt"), dir.join("vec.txt"), model);
    cfg.params.dim = 16;
    cfg.params.window = 3;
    cfg.corpus.min_count = 1;
    cfg.params.sample = 0.0;
    cfg.params.epochs = 2;
    cfg.run.threads = threads;
    cfg.corpus.cache_dir = dir.join("cache");
    cfg.run.stats.path = Some(dir.join("stats.jsonl"));
    cfg.run.stats.word_stats = Some(dir.join("words.tsv"));
    cfg
}
