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
    /// Where checkpoints go [default: the output path with `.ckpt` appended].
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// Write a checkpoint every this many percent of the run (0 = only on a signal or at
    /// `stop_at`).
    #[serde(default)]
    pub checkpoint_every: f64,
    /// Write a checkpoint and stop once this percentage of the run is done.
    #[serde(default)]
    pub stop_at: Option<f64>,
    /// Continue the run saved in this checkpoint.
    #[serde(default)]
    pub resume: Option<PathBuf>,
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
            checkpoint: None,
            checkpoint_every: 0.0,
            stop_at: None,
            resume: None,
        }
    }

    /// The checkpoint path: `checkpoint`, else the output path with `.ckpt` appended.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.checkpoint.clone().unwrap_or_else(|| {
            let mut p = self.output.clone().into_os_string();
            p.push(".ckpt");
            PathBuf::from(p)
        })
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
        if !(0.0..=100.0).contains(&self.checkpoint_every) {
            return bad(format!(
                "--checkpoint-every must be a percentage in 0..=100, got {}",
                self.checkpoint_every
            ));
        }
        if let Some(p) = self.stop_at {
            if !(p > 0.0 && p < 100.0) {
                return bad(format!(
                    "--stop-at must be a percentage strictly between 0 and 100, got {p}"
                ));
            }
        }
        Ok(())
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
            |c| c.checkpoint_every = -1.0,
            |c| c.checkpoint_every = f64::NAN,
            |c| c.stop_at = Some(100.0),
            |c| c.stop_at = Some(0.0),
        ];
        for f in cases {
            let mut c = base.clone();
            f(&mut c);
            assert!(matches!(c.validate(), Err(Error::Config(_))), "{c:?}");
        }
    }
}
