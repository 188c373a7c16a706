//! The library's front door: a [`Trainer`] turns a corpus and [`Hyperparams`] into a
//! [`TrainedModel`], recording gradient telemetry when asked; the model's [`Embeddings`]
//! answer neighbour and analogy queries and are scored on evaluation sets.
//!
//! ```no_run
//! use huffvec::{Hyperparams, Model, Trainer};
//!
//! let model = Trainer::new("corpus.txt", Hyperparams::new(Model::Skipgram))
//!     .threads(4)
//!     .train()?;
//! model.save("vectors.bin".as_ref(), huffvec::OutputFormat::Binary)?;
//! for (word, cos) in model.embeddings().most_similar("king", 5)? {
//!     println!("{word} {cos:.3}");
//! }
//! # Ok::<(), huffvec::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::config::{CorpusConfig, Hyperparams, OutputFormat, StatsConfig, TrainConfig};
use crate::error::Result;
use crate::eval::Embeddings;
use crate::io::OutputSlot;
use crate::train::{checkpoint, Observer, Silent, TrainReport, Trained};

/// Trains word vectors on one corpus with one set of hyperparameters.
#[derive(Clone, Debug)]
pub struct Trainer {
    cfg: TrainConfig,
}

impl Trainer {
    /// A trainer for the text file `corpus` (whitespace-separated words, one sentence per
    /// line) with `params`, word2vec.c's corpus settings (min-count 5) and every core.
    pub fn new(corpus: impl Into<PathBuf>, params: Hyperparams) -> Self {
        let mut cfg = TrainConfig::for_corpus(corpus.into(), params.model);
        cfg.params = params;
        Trainer { cfg }
    }

    /// A trainer for a complete configuration (corpus, hyperparameters and run control, as
    /// the command line builds it).
    pub fn from_config(cfg: TrainConfig) -> Self {
        Trainer { cfg }
    }

    /// The corpus and vocabulary settings, to change.
    pub fn corpus_mut(&mut self) -> &mut CorpusConfig {
        &mut self.cfg.corpus
    }

    /// The hyperparameters, to change.
    pub fn params_mut(&mut self) -> &mut Hyperparams {
        &mut self.cfg.params
    }

    /// Trains with `threads` worker threads (1 makes a run repeatable bit for bit).
    pub fn threads(mut self, threads: usize) -> Self {
        self.cfg.run.threads = threads;
        self
    }

    /// Records gradient telemetry into the files `stats` names (see [`StatsConfig`]).
    pub fn record(mut self, stats: StatsConfig) -> Self {
        self.cfg.run.stats = stats;
        self
    }

    /// The whole configuration a run will use.
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// Trains quietly.
    pub fn train(&self) -> Result<TrainedModel> {
        self.train_observed(&Silent)
    }

    /// Trains, telling `obs` about progress and asking it whether to stop.
    pub fn train_observed(&self, obs: &dyn Observer) -> Result<TrainedModel> {
        let (trained, report) = crate::experiment::train_as_configured(&self.cfg, obs)?;
        Ok(TrainedModel {
            trained,
            report,
            config: self.cfg.clone(),
        })
    }

    /// Trains as `huffvec train` does and writes every file the configuration names: the
    /// vectors (`run.output`, in `run.format`), the whole model (`run.save_model`) and the
    /// vocabulary (`run.save_vocab`). Each output is checked before training starts and
    /// written atomically; a checkpoint the completed run leaves behind is removed.
    pub fn train_to_files(&self, obs: &dyn Observer) -> Result<TrainedModel> {
        let outputs = self.reserve_outputs()?;
        self.train_into(outputs, obs)
    }

    /// Checks every output file the configuration names and reserves the vectors and model
    /// files (see [`Trainer::train_to_files`]), so that a bad path fails before any work.
    pub fn reserve_outputs(&self) -> Result<ReservedOutputs> {
        let cfg = &self.cfg;
        let input = cfg.corpus.input.as_path();
        let vectors = match &cfg.run.output {
            Some(p) => Some(OutputSlot::reserve(p, &[input])?),
            None => None,
        };
        let mut inputs = vec![input];
        inputs.extend(cfg.run.output.as_deref());
        if let Some(v) = &cfg.run.save_vocab {
            OutputSlot::reserve(v, &inputs)?;
        }
        let model = match &cfg.run.save_model {
            Some(m) => Some(OutputSlot::reserve(m, &inputs)?),
            None => None,
        };
        Ok(ReservedOutputs { vectors, model })
    }

    /// Trains and writes into `outputs` (from [`Trainer::reserve_outputs`]) as
    /// [`Trainer::train_to_files`] does.
    pub fn train_into(&self, outputs: ReservedOutputs, obs: &dyn Observer) -> Result<TrainedModel> {
        let cfg = &self.cfg;
        let model = self.train_observed(obs)?;
        if let Some(slot) = outputs.vectors {
            model.trained.write_vectors(slot, cfg.run.format)?;
        }
        if let Some(slot) = outputs.model {
            crate::train::model_file::save_trained(slot, &model.trained, cfg)?;
        }
        if let Some(ck) = cfg.checkpoint_path() {
            if checkpoint::read_header(&ck).is_ok() && std::fs::remove_file(&ck).is_ok() {
                obs.note(&format!(
                    "removed checkpoint {} (the run is complete)",
                    ck.display()
                ));
            }
        }
        Ok(model)
    }
}

/// The vectors and model files of a run, checked and reserved before training (each is a
/// temporary file until the run completes).
pub struct ReservedOutputs {
    vectors: Option<OutputSlot>,
    model: Option<OutputSlot>,
}

/// A trained model: the vocabulary (most frequent word first) and its input vectors, with
/// the output side kept for scoring.
pub struct TrainedModel {
    trained: Trained,
    report: TrainReport,
    config: TrainConfig,
}

impl TrainedModel {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.trained.vocab.len()
    }

    /// True when the vocabulary is empty (never, for a model that trained).
    pub fn is_empty(&self) -> bool {
        self.trained.vocab.is_empty()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.trained.input.dim()
    }

    /// The words, in id order (descending count); bytes as in the corpus.
    pub fn words(&self) -> &[Box<[u8]>] {
        self.trained.vocab.words()
    }

    /// Corpus counts, in id order.
    pub fn counts(&self) -> &[u64] {
        self.trained.vocab.counts()
    }

    /// The id of `word`, if it is in the vocabulary.
    pub fn id(&self, word: &str) -> Option<usize> {
        self.trained.vocab.id(word.as_bytes()).map(|i| i as usize)
    }

    /// The input vector of word `id` (`dim` values).
    pub fn vector(&self, id: usize) -> &[f32] {
        self.trained.input.row(id)
    }

    /// Every input vector, row after row, `stride` values apart (`stride >= dim`; the
    /// padding is zero): `(values, stride)`.
    pub fn vectors_strided(&self) -> (&[f32], usize) {
        (self.trained.input.as_slice(), self.trained.input.stride())
    }

    /// Figures about the run: words, seconds, words/s, threads, kernel.
    pub fn report(&self) -> &TrainReport {
        &self.report
    }

    /// Writes the vectors to `path` in word2vec `format`, atomically (a temporary file in
    /// the same directory, synced, then renamed).
    pub fn save(&self, path: &Path, format: OutputFormat) -> Result<()> {
        let slot = OutputSlot::reserve(path, &[])?;
        self.trained.write_vectors(slot, format)
    }

    /// The configuration the model was trained with.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Writes the whole model (both matrices, the tree, the vocabulary with counts, the
    /// settings) to `path` as safetensors (`docs/formats-model.md`), atomically.
    pub fn save_model(&self, path: &Path) -> Result<()> {
        let slot = OutputSlot::reserve(path, &[])?;
        crate::train::model_file::save_trained(slot, &self.trained, &self.config)
    }

    /// The vectors normalised for neighbour, analogy and similarity queries.
    pub fn embeddings(&self) -> Embeddings {
        Embeddings::from_trained(&self.trained)
    }
}
