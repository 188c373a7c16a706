//! The trainer: prepare the encoded corpus and the tree, initialise the matrices, run one
//! Hogwild worker per shard, and watch progress, stop requests and divergence.

pub mod schedule;
pub mod worker;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng};
use rayon::prelude::*;

use crate::config::TrainConfig;
use crate::corpus::encode::{CacheStatus, IdCorpus, VocabSettings};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::kernel::{self, SharedMatrix};
use crate::loss::SigmoidTable;
use crate::model::Shared;
use crate::sampler::Rng;
use crate::telemetry::{NoProbe, Probe, RunInfo};
use crate::tree::{huffman, Tree};
use crate::vocab::Vocab;
use schedule::{Progress, Schedule};
use worker::{Worker, WorkerEnd};

/// What the trainer tells its caller while it works.
pub trait Observer: Sync {
    /// A preparation stage made progress (`done` of `total` bytes).
    fn preparing(&self, _stage: &str, _done: u64, _total: u64) {}
    /// A one-line message (cache reuse, tree summary).
    fn note(&self, _msg: &str) {}
    /// Training began: `total` words to process over all epochs.
    fn training_started(&self, _total: u64, _threads: usize) {}
    /// Periodic training progress.
    fn training(&self, _done: u64, _alpha: f32, _elapsed: Duration) {}
    /// Training ended.
    fn training_finished(&self) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// The trained model.
pub struct Trained {
    /// Vocabulary, in id order.
    pub vocab: Vocab,
    /// Input (word) vectors: the embeddings.
    pub input: SharedMatrix,
    /// Inner-node vectors.
    pub inner: SharedMatrix,
    /// The output tree.
    pub tree: Tree,
}

/// Figures about a finished run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainReport {
    /// Words (corpus tokens incl. sentence ends) processed over all epochs.
    pub words: u64,
    /// Wall-clock seconds of the training phase.
    pub train_seconds: f64,
    /// Wall-clock seconds spent counting and encoding (0 when the cache was reused).
    pub prepare_seconds: f64,
    /// Training throughput, words per wall-clock second.
    pub words_per_sec: f64,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Tokens per epoch.
    pub tokens_per_epoch: u64,
    /// Worker threads.
    pub threads: usize,
    /// SIMD backend.
    pub kernel: &'static str,
    /// Whether the encoded corpus was reused.
    pub cache_reused: bool,
}

/// Input vectors uniform in [-0.5, 0.5) / dim, one seeded stream per row (independent of
/// the thread count).
pub fn init_input(m: &mut SharedMatrix, seed: u64) {
    let (dim, stride) = (m.dim(), m.stride());
    m.as_mut_slice()
        .par_chunks_mut(stride)
        .enumerate()
        .for_each(|(row, r)| {
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            for x in &mut r[..dim] {
                *x = (rng.gen::<f32>() - 0.5) / dim as f32;
            }
        });
}

/// Trains `cfg` with no instrumentation.
pub fn train(cfg: &TrainConfig, obs: &dyn Observer) -> Result<(Trained, TrainReport)> {
    let mut probes: Vec<NoProbe> = vec![NoProbe; cfg.threads];
    train_with(cfg, obs, &mut probes, &|_, _| {})
}

/// Trains `cfg`, one probe per thread; `on_tick(progress, probes_done)` is called from the
/// watching thread about ten times a second.
pub fn train_with<P: Probe>(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    probes: &mut [P],
    on_tick: &(dyn Fn(f64, bool) + Sync),
) -> Result<(Trained, TrainReport)> {
    cfg.validate()?;
    assert_eq!(probes.len(), cfg.threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| Error::Config(format!("cannot start {} threads: {e}", cfg.threads)))?;
    let t_prep = Instant::now();
    let corpus = Corpus::open(&cfg.input)?;
    let total_bytes = corpus.bytes().len() as u64;
    let settings = VocabSettings {
        min_count: cfg.min_count,
        max_vocab: cfg.max_vocab,
    };
    let (ids, status) = pool.install(|| {
        IdCorpus::prepare(
            &corpus,
            settings,
            &cfg.cache_dir,
            cfg.threads,
            &|stage, done| obs.preparing(stage, done, total_bytes),
        )
    })?;
    drop(corpus);
    let prepare_seconds = t_prep.elapsed().as_secs_f64();
    match status {
        CacheStatus::Reused => {
            obs.note(&format!("reusing encoded corpus {}", ids.path().display()))
        }
        CacheStatus::Built(why) => obs.note(&format!(
            "encoded corpus into {} ({why}) in {prepare_seconds:.1}s",
            ids.path().display()
        )),
    }
    let vocab = ids.vocab().clone();
    if let Some(p) = &cfg.save_vocab {
        vocab.save(p)?;
    }
    let tree = huffman::build(vocab.counts());
    obs.note(&tree.summary(vocab.counts()));
    obs.note(&format!(
        "vocabulary: {} words, {} tokens per epoch",
        vocab.len(),
        ids.ids().len()
    ));

    let mut input = SharedMatrix::zeros(vocab.len(), cfg.dim);
    pool.install(|| init_input(&mut input, cfg.seed));
    let inner = SharedMatrix::zeros(tree.n_inner().max(1), cfg.dim);
    let sig = SigmoidTable::new();
    let keep = vocab.keep_thresholds(cfg.sample);
    let tokens = ids.ids().len() as u64;
    let schedule = Schedule::new(cfg.alpha, tokens * cfg.epochs as u64);
    let progress = Progress::default();
    let shared = Shared {
        input: &input,
        inner: &inner,
        tree: &tree,
        sig: &sig,
        model: cfg.model,
        window: cfg.window,
    };
    let run = RunInfo {
        vocab: &vocab,
        tree: &tree,
        schedule,
    };
    probes.iter_mut().for_each(|p| p.prepare(&run));
    let shards = ids.shards(cfg.threads);
    obs.training_started(schedule.total_words(), cfg.threads);
    let t0 = Instant::now();
    let ends: Vec<WorkerEnd> = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter()
            .zip(probes.iter_mut())
            .enumerate()
            .map(|(t, (shard, probe))| {
                let w = Worker {
                    shared: &shared,
                    corpus: &ids,
                    shard: shard.clone(),
                    keep: &keep,
                    schedule,
                    progress: &progress,
                    epochs: cfg.epochs,
                    rng: Rng::new(cfg.seed, t as u64),
                    probe,
                };
                let progress = &progress;
                s.spawn(move || {
                    let end = kernel::dispatch(w);
                    progress.finished.fetch_add(1, Ordering::Relaxed);
                    end
                })
            })
            .collect();
        while progress.finished.load(Ordering::Relaxed) < cfg.threads as u64 {
            std::thread::sleep(Duration::from_millis(100));
            let done = progress.done();
            obs.training(done, schedule.alpha_at(done), t0.elapsed());
            on_tick(schedule.progress(done), false);
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(WorkerEnd::Stopped))
            .collect()
    });
    let train_seconds = t0.elapsed().as_secs_f64();
    obs.training_finished();
    let done = progress.done();
    if let Some(epoch) = ends.iter().find_map(|e| match e {
        WorkerEnd::Diverged(ep) => Some(*ep),
        _ => None,
    }) {
        return Err(Error::Diverged {
            epoch,
            progress_pct: 100.0 * schedule.progress(done),
        });
    }
    on_tick(schedule.progress(done), true);
    let mut trained = Trained {
        vocab,
        input,
        inner,
        tree,
    };
    if !trained
        .input
        .as_mut_slice()
        .par_iter()
        .all(|x| x.is_finite())
    {
        return Err(Error::Diverged {
            epoch: cfg.epochs,
            progress_pct: 100.0 * schedule.progress(done),
        });
    }
    let report = TrainReport {
        words: done,
        train_seconds,
        prepare_seconds: if matches!(status, CacheStatus::Reused) {
            0.0
        } else {
            prepare_seconds
        },
        words_per_sec: done as f64 / train_seconds.max(1e-9),
        vocab_size: trained.vocab.len(),
        tokens_per_epoch: tokens,
        threads: cfg.threads,
        kernel: kernel::backend_name(),
        cache_reused: matches!(status, CacheStatus::Reused),
    };
    Ok((trained, report))
}

impl Trained {
    /// Writes the input vectors to `slot` in `format`.
    pub fn write_vectors(
        &mut self,
        slot: crate::io::OutputSlot,
        format: crate::config::OutputFormat,
    ) -> Result<()> {
        let dim = self.input.dim();
        let stride = self.input.stride();
        let vocab = &self.vocab;
        let data = self.input.as_mut_slice();
        slot.commit(|w| {
            let rows =
                (0..vocab.len()).map(|i| (vocab.word(i), &data[i * stride..i * stride + dim]));
            crate::io::word2vec::write(w, format, dim, rows)
        })
    }
}
