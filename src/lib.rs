//! huffvec: a fast, observable hierarchical-softmax word2vec trainer.
//!
//! The pipeline, in data-flow order:
//! 1. [`corpus`]: memory-map the text, tokenize bytes on ASCII whitespace (`\n` = `</s>`).
//! 2. [`vocab`]: count words in parallel, apply min-count / max-vocab, sort by count.
//! 3. [`corpus::encode`]: encode the text once into a cache of `u32` ids that training maps.
//! 4. [`tree`]: build the Huffman tree (or a [`tree::shapes`] variant); each word's path of
//!    inner nodes, root first. [`init`] fills the matrices.
//! 5. [`train`]: Hogwild worker threads run [`model`] (skip-gram / CBOW pairing) and
//!    [`loss::hs`] (the path walk; or [`loss::ns`], negative sampling) on the [`kernel`]
//!    (shared matrices, SIMD), stepping by an [`optim`] rule and reporting to a
//!    [`telemetry::Probe`].
//! 6. [`io`]: write word2vec text or binary vectors atomically (and read them back).
//! 7. [`eval`]: judge vectors on analogy and similarity sets, broken down by word-frequency
//!    [`bands`].
//! 8. [`report`]: render telemetry files (`--stats`), studies and benchmarks as plots,
//!    tables and HTML.
//!
//! Long runs save their whole state with [`checkpoint`] (periodically, on SIGINT/SIGTERM or
//! at a chosen percentage) and resume from it bit for bit.
//!
//! Hyperparameters flow as one [`config::TrainConfig`]. All `unsafe` code lives in
//! [`kernel`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod bands;
pub mod cli;

pub mod config;
pub mod corpus;
pub mod error;
pub mod eval;
pub mod experiment;
pub mod hash;
pub mod host;
pub mod init;
pub mod io;
#[allow(unsafe_code)]
pub mod kernel;
pub mod loss;
pub mod model;
pub mod optim;
pub mod probe;
pub mod report;
pub mod sampler;
pub mod schedule;
pub mod telemetry;
pub mod train;
pub mod tree;
pub mod vocab;

#[cfg(test)]
mod test_support;

pub use config::TrainConfig;
pub use error::{Error, Result};
