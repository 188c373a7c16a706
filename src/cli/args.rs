//! Option groups that several sub-commands share (declared once, flattened where used).

use std::path::PathBuf;

use clap::Args;

pub use crate::config::bundled_data;
use crate::config::{self, Model, TrainConfig};
use crate::{Error, Result};

/// The corpus option of `train`, `bench` and `study`.
#[derive(Args, Debug, Clone)]
pub struct CorpusArg {
    /// Corpus: text, words separated by whitespace, one sentence per line; it must not
    /// change while huffvec reads it [default: the bundled sample corpus]
    #[arg(long, short = 'i')]
    pub input: Option<PathBuf>,
}

impl CorpusArg {
    /// The corpus given, or the bundled sample corpus.
    pub fn path(&self) -> Result<PathBuf> {
        match &self.input {
            Some(p) => Ok(p.clone()),
            None => bundled_corpus(),
        }
    }
}

/// The corpus bundled with the source tree.
pub fn bundled_corpus() -> Result<PathBuf> {
    let p = bundled_data().join("wiki-sample.txt");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::Config(format!(
            "no --input given and the bundled corpus {} is missing; pass --input FILE",
            p.display()
        )))
    }
}

/// What is trained: the options `train` and `bench` share (defaults are word2vec.c's).
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model architecture
    #[arg(long, value_enum, default_value_t = Model::Skipgram)]
    pub model: Model,
    /// Vector dimension
    #[arg(long, default_value_t = 100)]
    pub dim: usize,
    /// Maximum context window radius (shrunk at random to 1..=window per word)
    #[arg(long, default_value_t = 5)]
    pub window: usize,
    /// Discard words that occur fewer times
    #[arg(long, default_value_t = 5)]
    pub min_count: u64,
    /// Subsampling threshold for frequent words (0 = off)
    #[arg(long, default_value_t = 1e-3)]
    pub sample: f64,
}

impl ModelArgs {
    /// Copies the options into `c`.
    pub fn apply(&self, c: &mut TrainConfig) {
        c.params.model = self.model;
        c.params.dim = self.dim;
        c.params.window = self.window;
        c.corpus.min_count = self.min_count;
        c.params.sample = self.sample;
    }
}

/// The top-of-tree replica options of `train` and `bench`.
#[derive(Args, Debug, Clone)]
pub struct ReplicaArgs {
    /// With several threads, replicate this many most visited inner nodes per thread
    /// (0 = plain Hogwild on every node)
    #[arg(long, default_value_t = config::DEFAULT_REPLICATE_TOP)]
    pub replicate_top: usize,
    /// Words between publishing the replicated nodes
    #[arg(long, default_value_t = config::DEFAULT_REPLICATE_EVERY)]
    pub replicate_every: u64,
}

impl ReplicaArgs {
    /// Copies the options into `c`.
    pub fn apply(&self, c: &mut TrainConfig) {
        c.params.replicate_top = self.replicate_top;
        c.params.replicate_every = self.replicate_every;
    }
}
