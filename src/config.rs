//! `TrainConfig`: every hyperparameter of a training run, validated once and recorded with
//! the outputs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which words predict which (word2vec.c pairing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Each context word's input vector predicts the centre word's tree path.
    Skipgram,
    /// The mean of the context input vectors predicts the centre word's path.
    Cbow,
}

/// word2vec output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// `V dim` header, then `word v1 ... vdim` per line.
    Text,
    /// `V dim` header, then `word ` and `dim` little-endian f32 per word.
    Binary,
}

/// Learning-rate floor as a fraction of the starting rate (word2vec.c).
pub const MIN_ALPHA_FRACTION: f32 = 1e-4;

/// All settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Corpus text file.
    pub input: PathBuf,
    /// Where the vectors go.
    pub output: PathBuf,
    /// Output format.
    pub format: OutputFormat,
    /// Skip-gram or CBOW.
    pub model: Model,
    /// Vector dimension.
    pub dim: usize,
    /// Maximum window radius (shrunk at random per centre word to 1..=window).
    pub window: usize,
    /// Words occurring fewer times are dropped.
    pub min_count: u64,
    /// Keep at most this many most frequent words.
    pub max_vocab: Option<usize>,
    /// Subsampling threshold t (0 disables).
    pub sample: f64,
    /// Starting learning rate.
    pub alpha: f32,
    /// Passes over the corpus.
    pub epochs: u32,
    /// Worker threads.
    pub threads: usize,
    /// Random seed; each thread derives its own stream from (seed, thread).
    pub seed: u64,
    /// Optional `word count` vocabulary output.
    pub save_vocab: Option<PathBuf>,
    /// Directory of encoded-corpus caches.
    pub cache_dir: PathBuf,
    /// Gradient telemetry (off by default).
    #[serde(default)]
    pub stats: StatsConfig,
}

/// Gradient telemetry settings: what to record and where (see [`crate::telemetry`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsConfig {
    /// JSON Lines file of per-snapshot band x depth records (`--stats`).
    pub path: Option<PathBuf>,
    /// Snapshot interval in percent of training progress (`--stats-every`).
    pub every_pct: f64,
    /// Fraction of path walks whose magnitudes are recorded; counts are always exact
    /// (`--stats-sample`).
    pub sample: f64,
    /// Frequency bands are floor(log_base(count)) (`--stats-band-base`).
    pub band_base: u64,
    /// Per-word totals file, tab-separated (`--word-stats`).
    pub word_stats: Option<PathBuf>,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            path: None,
            every_pct: 1.0,
            sample: 1.0,
            band_base: 2,
            word_stats: None,
        }
    }
}

impl StatsConfig {
    /// True when any telemetry output was asked for.
    pub fn enabled(&self) -> bool {
        self.path.is_some() || self.word_stats.is_some()
    }

    /// Checks every value; the error names the option and the accepted range.
    pub fn validate(&self, cfg: &TrainConfig) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !(self.every_pct >= 0.01 && self.every_pct <= 100.0) {
            return bad(format!(
                "--stats-every must be in 0.01..=100 (percent), got {}",
                self.every_pct
            ));
        }
        if !(self.sample > 0.0 && self.sample <= 1.0) {
            return bad(format!(
                "--stats-sample must be in (0, 1], got {}",
                self.sample
            ));
        }
        if !(2..=1_000_000).contains(&self.band_base) {
            return bad(format!(
                "--stats-band-base must be in 2..=1000000, got {}",
                self.band_base
            ));
        }
        let outputs = [("--stats", &self.path), ("--word-stats", &self.word_stats)];
        for (flag, p) in outputs {
            if let Some(p) = p {
                if *p == cfg.output || Some(p) == cfg.save_vocab.as_ref() || *p == cfg.input {
                    return bad(format!(
                        "{flag} {} collides with another input or output file",
                        p.display()
                    ));
                }
            }
        }
        if self.path.is_some() && self.path == self.word_stats {
            return bad("--stats and --word-stats must be different files".into());
        }
        Ok(())
    }
}

impl TrainConfig {
    /// word2vec.c's defaults for `model`, training `input` into `output`.
    pub fn new(input: PathBuf, output: PathBuf, model: Model) -> Self {
        TrainConfig {
            input,
            output,
            format: OutputFormat::Text,
            model,
            dim: 100,
            window: 5,
            min_count: 5,
            max_vocab: None,
            sample: 1e-3,
            alpha: default_alpha(model),
            epochs: 5,
            threads: default_threads(),
            seed: 1,
            save_vocab: None,
            cache_dir: default_cache_dir(),
            stats: StatsConfig::default(),
        }
    }

    /// Checks every value; the error names the option and the accepted range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.dim == 0 || self.dim > 10_000 {
            return bad(format!("--dim must be in 1..=10000, got {}", self.dim));
        }
        if self.window == 0 || self.window > 1000 {
            return bad(format!("--window must be in 1..=1000, got {}", self.window));
        }
        if self.min_count == 0 {
            return bad("--min-count must be at least 1".into());
        }
        if self.max_vocab == Some(0) {
            return bad("--max-vocab must be at least 2".into());
        }
        if !(self.sample >= 0.0 && self.sample.is_finite()) {
            return bad(format!("--sample must be >= 0, got {}", self.sample));
        }
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return bad(format!("--alpha must be > 0, got {}", self.alpha));
        }
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.threads == 0 || self.threads > 1024 {
            return bad(format!(
                "--threads must be in 1..=1024, got {}",
                self.threads
            ));
        }
        self.stats.validate(self)
    }
}

/// word2vec.c's starting learning rate for `model`.
pub fn default_alpha(model: Model) -> f32 {
    match model {
        Model::Skipgram => 0.025,
        Model::Cbow => 0.05,
    }
}

/// All available cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `$HUFFVEC_CACHE`, else `$XDG_CACHE_HOME/huffvec`, else `~/.cache/huffvec`, else the
/// system temporary directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HUFFVEC_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("huffvec");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("huffvec");
    }
    std::env::temp_dir().join("huffvec")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_word2vec_c() {
        let c = TrainConfig::new("a".into(), "b".into(), Model::Cbow);
        assert_eq!((c.dim, c.window, c.min_count, c.epochs), (100, 5, 5, 5));
        assert_eq!(c.alpha, 0.05);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let base = TrainConfig::new("a".into(), "b".into(), Model::Skipgram);
        let cases: Vec<fn(&mut TrainConfig)> = vec![
            |c| c.dim = 0,
            |c| c.window = 0,
            |c| c.min_count = 0,
            |c| c.sample = -1.0,
            |c| c.alpha = 0.0,
            |c| c.alpha = f32::NAN,
            |c| c.epochs = 0,
            |c| c.threads = 0,
            |c| c.stats.every_pct = 0.0,
            |c| c.stats.every_pct = 101.0,
            |c| c.stats.sample = 0.0,
            |c| c.stats.sample = 1.5,
            |c| c.stats.band_base = 1,
            |c| c.stats.path = Some("b".into()),
            |c| c.stats.word_stats = Some("a".into()),
            |c| {
                c.stats.path = Some("s".into());
                c.stats.word_stats = Some("s".into());
            },
        ];
        for f in cases {
            let mut c = base.clone();
            f(&mut c);
            assert!(matches!(c.validate(), Err(Error::Config(_))), "{c:?}");
        }
    }
}
