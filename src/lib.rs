//! huffvec: a fast, observable hierarchical-softmax word2vec trainer.
//!
//! The public API is small: a [`Trainer`] built from [`Hyperparams`] and a corpus returns a
//! [`TrainedModel`] (vocabulary and vectors, saved in word2vec text or binary); its
//! [`Embeddings`] give neighbours and analogies and are scored on [`QuestionSet`] and
//! [`PairSet`] evaluation files; a [`StatsConfig`] names the telemetry files a run records;
//! every failure is an [`Error`]. The `huffvec` program is [`cli::main`].
//!
//! Inside, the modules follow the pipeline, each layer using only those above it in this
//! list:
//! 1. `error`, `hash`, `config`, `host`, `io`: errors, fingerprints, typed settings, the
//!    machine's name, atomic files and the word2vec formats.
//! 2. `kernel`: the only `unsafe` code: shared Hogwild matrices, SIMD, memory maps.
//! 3. `corpus` (map and tokenize the text, encode it once into `u32` ids), `vocab` (counts,
//!    filters, order), `bands` (word-frequency bands), `tree` (Huffman paths, root first),
//!    `sampler` (random streams, subsampling), `schedule` (learning-rate decay), `init`.
//! 4. `probe`: the events the hot loop reports (a no-op probe compiles away).
//! 5. `loss` (the HS path walk; negative sampling), `optim` (step rules), `model`
//!    (skip-gram / CBOW pairing).
//! 6. `train`: Hogwild worker threads, checkpoints and resume.
//! 7. `telemetry` (the recording probe and its files), `eval` (analogy, similarity,
//!    neighbours by band).
//! 8. `experiment`: recorded training, throughput benchmarks, studies.
//! 9. `report`: renders telemetry, studies and benchmarks as tables, plots and HTML.
//! 10. [`cli`]: the command line.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod api;
pub(crate) mod bands;
pub mod cli;
pub(crate) mod config;
pub(crate) mod corpus;
pub(crate) mod error;
pub(crate) mod eval;
pub(crate) mod experiment;
pub(crate) mod hash;
pub(crate) mod host;
pub(crate) mod init;
pub(crate) mod io;
#[allow(unsafe_code)]
pub(crate) mod kernel;
pub(crate) mod loss;
pub(crate) mod model;
pub(crate) mod optim;
pub(crate) mod probe;
pub(crate) mod report;
pub(crate) mod sampler;
pub(crate) mod schedule;
pub(crate) mod telemetry;
pub(crate) mod train;
pub(crate) mod tree;
pub(crate) mod vocab;

#[cfg(test)]
mod test_support;

pub use api::{ReservedOutputs, TrainedModel, Trainer};
pub use config::{
    CorpusConfig, Hyperparams, Init, Loss, Model, Optimizer, OutputFormat, RowInit, RunControl,
    SaturationPolicy, StatsConfig, TrainConfig, TreeShape,
};
pub use error::{Error, Result};
pub use eval::analogy::{AnalogyResult, Method, QuestionSet, Tally};
pub use eval::similarity::{Correlation, PairSet, SimilarityResult};
pub use eval::suite::{evaluate, EvalInputs, EvalSettings, Evaluation};
pub use eval::Embeddings;
pub use train::{Observer, TrainReport};

/// Safe entry points for the benchmarks, fuzz targets and integration tests (not part of
/// the supported API; no item here can reach the shared training matrices).
#[doc(hidden)]
pub mod support {
    pub use crate::config::default_threads;
    pub use crate::corpus::encode::{is_intact_cache, IdCorpus, VocabSettings};
    pub use crate::corpus::tokenize::{is_space, split_at_spaces, tokens, Token, MAX_WORD_BYTES};
    pub use crate::corpus::Corpus;
    pub use crate::eval::analogy::evaluate as evaluate_analogies_by;
    pub use crate::io::word2vec;
    #[cfg(target_arch = "x86_64")]
    pub use crate::kernel::Avx2Fma;
    pub use crate::kernel::{Kernel, Scalar};
    /// The whole-model file (safetensors) and its checked reader.
    pub mod model_file {
        pub use crate::train::model_file::ModelFile;
    }
    /// Checkpoint headers and the reader's fuzz oracle.
    pub mod checkpoint {
        pub use crate::train::checkpoint::{read_and_check, read_header, Header};
    }
    /// The checked reader of `--stats` files and its fuzz oracle.
    pub mod stats {
        pub use crate::report::stats::read_and_check;
        pub use crate::telemetry::snapshot::{read, StatsFile};
    }
    pub use crate::tree::huffman;
    pub use crate::vocab::Vocab;
}
