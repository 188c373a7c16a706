//! The trainer: prepare the encoded corpus and the tree, initialise the matrices, run one
//! Hogwild worker per thread over its blocks of the corpus, and watch progress, stop
//! requests and divergence.

pub mod schedule;
pub mod worker;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::checkpoint::{self, RunIdentity};
use crate::config::{Loss, TrainConfig};
use crate::corpus::encode::{CacheStatus, IdCorpus, VocabSettings};
use crate::corpus::keep::KeepList;
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::kernel::{self, SharedMatrix};
use crate::loss::ns::{self, UnigramTable};
use crate::loss::SigmoidTable;
use crate::model::Shared;
use crate::optim::StepSettings;
use crate::sampler::Rng;
use crate::telemetry::{NoProbe, Probe, RunInfo};
use crate::tree::{shapes, Tree};
use crate::vocab::Vocab;
use schedule::{Progress, Schedule};
use worker::{Worker, WorkerEnd, WorkerState};

/// What the trainer tells its caller while it works.
pub trait Observer: Sync {
    /// A preparation stage made progress (`done` of `total` bytes).
    fn preparing(&self, _stage: &str, _done: u64, _total: u64) {}
    /// A one-line message (cache reuse, tree summary).
    fn note(&self, _msg: &str) {}
    /// A one-line warning about a problem the run goes on despite (a periodic checkpoint
    /// not written); meant to be shown even where notes are not.
    fn warning(&self, msg: &str) {
        self.note(msg);
    }
    /// Training began: `total` words to process over all epochs.
    fn training_started(&self, _total: u64, _threads: usize) {}
    /// Periodic training progress.
    fn training(&self, _done: u64, _alpha: f32, _elapsed: Duration) {}
    /// Training ended.
    fn training_finished(&self) {}
    /// True once the user asked to stop (SIGINT/SIGTERM): training then pauses, writes a
    /// checkpoint and returns [`Error::Interrupted`].
    fn interrupted(&self) -> bool {
        false
    }
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

/// Trains `cfg` with no instrumentation.
pub fn train(cfg: &TrainConfig, obs: &dyn Observer) -> Result<(Trained, TrainReport)> {
    let mut probes: Vec<NoProbe> = vec![NoProbe; cfg.threads];
    train_with(cfg, obs, &mut probes, &|_, _| {})
}

/// Trains `cfg`, one probe per thread; `on_tick(progress, probes_done)` is called from the
/// watching thread about ten times a second.
///
/// With `cfg.resume` set, the run continues from that checkpoint (refused with the reason
/// when it belongs to another corpus or other settings). Checkpoints are written every
/// `cfg.checkpoint_every` percent, when the observer reports an interruption (then
/// [`Error::Interrupted`] is returned) and at `cfg.stop_at` (then [`Error::Stopped`]).
pub fn train_with<P: Probe>(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    probes: &mut [P],
    on_tick: &(dyn Fn(f64, bool) + Sync),
) -> Result<(Trained, TrainReport)> {
    train_rounds::<P, NoProbe>(cfg, obs, probes, None, on_tick)
}

/// A second set of probes that takes turns with the first, to measure what a probe costs
/// within one run: training pauses every `segment` words (no checkpoint is written there)
/// and the rounds use the two sets in the order first, second, second, first, first, ...,
/// so that each pair of rounds (0-1, 2-3, ...) runs both, next to each other in time.
pub struct Alternate<'a, Q: Probe> {
    /// One probe per thread, for the second set's rounds.
    pub probes: &'a mut [Q],
    /// Words per round.
    pub segment: u64,
    /// Every round, in order.
    pub rounds: Vec<RoundTime>,
}

/// One round of an [`Alternate`] run.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct RoundTime {
    /// Trained with the second probe set.
    pub alternate: bool,
    /// Words processed.
    pub words: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl<Q: Probe> Alternate<'_, Q> {
    /// Whether round `turn` (0-based) uses the second set: rounds go A B B A A B B A ...
    pub fn is_alternate(turn: usize) -> bool {
        turn % 4 == 1 || turn % 4 == 2
    }
}

/// Trains `cfg` as [`train_with`] does, in rounds that alternate between `probes` and the
/// probes of `alt` (see [`Alternate`]).
pub fn train_alternating<P: Probe, Q: Probe>(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    probes: &mut [P],
    alt: &mut Alternate<Q>,
) -> Result<(Trained, TrainReport)> {
    if alt.segment == 0 || alt.probes.len() != cfg.threads {
        return Err(Error::Internal(
            "alternating rounds need a positive segment and one probe per thread".into(),
        ));
    }
    train_rounds(cfg, obs, probes, Some(alt), &|_, _| {})
}

fn train_rounds<P: Probe, Q: Probe>(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    probes: &mut [P],
    mut alt: Option<&mut Alternate<Q>>,
    on_tick: &(dyn Fn(f64, bool) + Sync),
) -> Result<(Trained, TrainReport)> {
    cfg.validate()?;
    assert_eq!(probes.len(), cfg.threads);
    let ck_path = cfg.checkpoint_path();
    check_checkpoint_path(cfg, &ck_path)?;
    let resumed = match &cfg.resume {
        Some(p) => {
            let ck = checkpoint::read(p)?;
            ck.check_settings(cfg, p)?;
            Some((ck, p.as_path()))
        }
        None => None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| Error::Config(format!("cannot start {} threads: {e}", cfg.threads)))?;
    let t_prep = Instant::now();
    let corpus = Corpus::open(&cfg.input)?;
    let total_bytes = corpus.bytes().len() as u64;
    let corpus_id = corpus.fingerprint();
    if let Some((ck, p)) = &resumed {
        ck.check_corpus(&cfg.input, corpus_id[0], corpus_id[2], p)?;
    }
    let settings = VocabSettings {
        min_count: cfg.min_count,
        max_vocab: cfg.max_vocab,
    };
    let keep_list = match &cfg.keep {
        Some(p) => KeepList::read(p)?,
        None => KeepList::none(),
    };
    let (ids, status) = pool.install(|| {
        IdCorpus::prepare_keeping(
            &corpus,
            settings,
            &keep_list,
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
            "encoded corpus into {} ({why}) in {prepare_seconds:.2}s",
            ids.path().display()
        )),
    }
    let vocab = ids.vocab().clone();
    if let Some(p) = &cfg.save_vocab {
        vocab.save(p)?;
    }
    let tree = shapes::build(cfg.tree, vocab.counts(), cfg.seed);
    if cfg.loss == Loss::Hs {
        obs.note(&format!("{:?} {}", cfg.tree, tree.summary(vocab.counts())));
    }
    obs.note(&format!(
        "vocabulary: {} words, {} tokens per epoch",
        vocab.len(),
        ids.ids().len()
    ));
    if !keep_list.is_empty() {
        let below = vocab
            .counts()
            .iter()
            .filter(|&&c| c < cfg.min_count)
            .count();
        obs.note(&format!(
            "keep list: {} words listed, {below} in the vocabulary below --min-count",
            keep_list.len()
        ));
    }
    let identity = RunIdentity {
        corpus_bytes: corpus_id[0],
        corpus_hash: corpus_id[2],
        vocab_words: vocab.len() as u64,
        vocab_fingerprint: vocab.fingerprint(),
        ids: ids.ids().len() as u64,
        ids_checksum: ids.checksum(),
    };
    let inner_rows = match cfg.loss {
        Loss::Hs => tree.n_inner().max(1),
        Loss::Ns => vocab.len(),
    };
    let tokens = ids.ids().len() as u64;
    let schedule = Schedule::new(cfg.alpha, tokens * cfg.epochs as u64);
    let (mut input, mut inner, mut states, start_done, accumulators) = match resumed {
        Some((ck, p)) => {
            ck.check_identity(&identity, inner_rows as u64, p)?;
            obs.note(&format!(
                "resuming {} at {:.1}%",
                p.display(),
                ck.header.progress_pct()
            ));
            (
                ck.input,
                ck.inner,
                ck.header.workers,
                ck.header.words_done,
                ck.accumulators,
            )
        }
        None => {
            let mut input = SharedMatrix::zeros(vocab.len(), cfg.dim);
            let mut inner = SharedMatrix::zeros(inner_rows, cfg.dim);
            pool.install(|| crate::init::init_matrices(cfg.init, &mut input, &mut inner, cfg.seed));
            let states = (0..cfg.threads)
                .map(|t| WorkerState::start(Rng::new(cfg.seed, t as u64), schedule.alpha_at(0)))
                .collect();
            (input, inner, states, 0, None)
        }
    };
    let mut steps = StepSettings::new(cfg, tree.max_depth(), input.rows(), inner.rows());
    if let Some(a) = accumulators {
        if !steps.restore_adagrad(&a.input, &a.inner) {
            return Err(Error::Internal(
                "the checkpoint's AdaGrad accumulators do not fit this run".into(),
            ));
        }
    }
    let negatives =
        (cfg.loss == Loss::Ns).then(|| UnigramTable::new(vocab.counts(), ns::TABLE_SIZE));
    let sig = SigmoidTable::new();
    let keep = vocab.keep_thresholds(cfg.sample);
    let total = schedule.total_words();
    let pct_to_words = |pct: f64| ((pct / 100.0) * total as f64).ceil() as u64;
    let every = match cfg.checkpoint_every {
        p if p > 0.0 => pct_to_words(p).max(1),
        _ => u64::MAX,
    };
    let stop_words = cfg.stop_at.map(pct_to_words).unwrap_or(u64::MAX);
    if stop_words <= start_done {
        return Err(Error::Config(format!(
            "--stop-at {}% is not past the checkpoint's progress ({:.1}%)",
            cfg.stop_at.unwrap_or(0.0),
            100.0 * schedule.progress(start_done)
        )));
    }
    let run = RunInfo {
        vocab: &vocab,
        tree: &tree,
        schedule,
    };
    probes.iter_mut().for_each(|p| p.prepare(&run));
    if let Some(a) = alt.as_deref_mut() {
        a.probes.iter_mut().for_each(|p| p.prepare(&run));
    }
    let progress = Progress::default();
    progress.words_done.store(start_done, Ordering::Relaxed);
    let shards = ids.shards(cfg.threads);
    if obs.interrupted() {
        return Err(Error::Interrupted {
            progress_pct: 100.0 * schedule.progress(start_done),
            message: "interrupted before training started; nothing to resume (the encoded \
                      corpus is cached, so the next run starts training at once)"
                .into(),
        });
    }
    obs.training_started(total, cfg.threads);
    let t0 = Instant::now();
    let round = Round {
        ids: &ids,
        shards: &shards,
        keep: &keep,
        tree: &tree,
        sig: &sig,
        steps: &steps,
        negatives: negatives.as_ref(),
        schedule,
        progress: &progress,
        cfg,
        obs,
        on_tick,
        t0,
    };
    for turn in 0.. {
        let done = progress.done();
        let next_periodic = done
            .checked_div(every)
            .map_or(u64::MAX, |k| (k + 1).saturating_mul(every));
        let checkpoint_at = next_periodic.min(stop_words);
        let segment_end = alt
            .as_ref()
            .map_or(u64::MAX, |a| done.saturating_add(a.segment));
        progress
            .pause_at
            .store(checkpoint_at.min(segment_end), Ordering::Relaxed);
        progress.finished.store(0, Ordering::Relaxed);
        let started = Instant::now();
        let alternate = Alternate::<Q>::is_alternate(turn);
        let ends = match alt.as_deref_mut() {
            Some(a) if alternate => round.run(&input, &inner, &states, a.probes),
            _ => round.run(&input, &inner, &states, probes),
        };
        if let Some(a) = alt.as_deref_mut() {
            a.rounds.push(RoundTime {
                alternate,
                words: progress.done() - done,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        let done = progress.done();
        let diverged = |epoch| Error::Diverged {
            epoch,
            progress_pct: 100.0 * schedule.progress(done),
        };
        if let Some(epoch) = ends.iter().find_map(|e| match e {
            WorkerEnd::Diverged(ep) => Some(*ep),
            _ => None,
        }) {
            return Err(diverged(epoch));
        }
        let mut paused = false;
        for (state, end) in states.iter_mut().zip(ends) {
            match end {
                WorkerEnd::Done => state.epoch = cfg.epochs + 1,
                WorkerEnd::Paused(s) => {
                    *state = s;
                    paused = true;
                }
                WorkerEnd::Stopped | WorkerEnd::Diverged(_) => {
                    return Err(Error::Internal(
                        "a worker thread stopped unexpectedly (see the message above)".into(),
                    ))
                }
            }
        }
        if !paused {
            break;
        }
        if done < checkpoint_at && !progress.pause.load(Ordering::Relaxed) {
            // The end of an alternating round: go on with the other probes.
            continue;
        }
        let epoch = states.iter().map(|s| s.epoch).min().unwrap_or(1);
        if !all_sane(&mut input) || !all_sane(&mut inner) {
            return Err(diverged(epoch.min(cfg.epochs)));
        }
        let header = checkpoint::Header {
            huffvec: env!("CARGO_PKG_VERSION").into(),
            config: absolute_paths(cfg),
            alpha_bits: cfg.alpha.to_bits(),
            identity,
            words_done: done,
            total_words: total,
            dim: cfg.dim as u64,
            input_rows: input.rows() as u64,
            inner_rows: inner.rows() as u64,
            workers: states.clone(),
            adagrad: steps.adagrad().is_some(),
        };
        let pct = header.progress_pct();
        let written = checkpoint::write(&ck_path, &header, &mut input, &mut inner, steps.adagrad());
        let resume_hint = format!(
            "checkpoint written to {0}; resume with `huffvec train --resume {0}`",
            ck_path.display()
        );
        if progress.pause.load(Ordering::Relaxed) {
            written?;
            return Err(Error::Interrupted {
                progress_pct: pct,
                message: resume_hint,
            });
        }
        if done >= stop_words {
            written?;
            return Err(Error::Stopped {
                progress_pct: pct,
                checkpoint: ck_path,
            });
        }
        match written {
            Ok(()) => obs.note(&format!(
                "checkpoint at {pct:.1}% written to {}",
                ck_path.display()
            )),
            Err(e) => {
                // The output checks report a vanished directory as an option error; here
                // it is only the cause, so it is shown without the "invalid option" label.
                let cause = match e {
                    Error::Config(reason) => reason,
                    e => e.to_string(),
                };
                obs.warning(&format!(
                    "warning: checkpoint at {pct:.1}% not written to {}, training goes on: \
                     {cause}",
                    ck_path.display()
                ))
            }
        }
    }
    let train_seconds = t0.elapsed().as_secs_f64();
    obs.training_finished();
    let done = progress.done();
    on_tick(schedule.progress(done), true);
    if !all_sane(&mut input) || !all_sane(&mut inner) {
        return Err(Error::Diverged {
            epoch: cfg.epochs,
            progress_pct: 100.0 * schedule.progress(done),
        });
    }
    let trained = Trained {
        vocab,
        input,
        inner,
        tree,
    };
    let words = done - start_done;
    let report = TrainReport {
        words,
        train_seconds,
        prepare_seconds: if matches!(status, CacheStatus::Reused) {
            0.0
        } else {
            prepare_seconds
        },
        words_per_sec: words as f64 / train_seconds.max(1e-9),
        vocab_size: trained.vocab.len(),
        tokens_per_epoch: tokens,
        threads: cfg.threads,
        kernel: kernel::backend_name(),
        cache_reused: matches!(status, CacheStatus::Reused),
    };
    Ok((trained, report))
}

/// A parameter beyond ±this means training diverged. Healthy runs stay below ±10 (the
/// sigmoid saturates at |h·v| = 6, so nothing pulls values further); with hierarchical
/// softmax, saturated nodes are skipped, so a far too large learning rate (`--alpha 1000`)
/// leaves values huge (1e5 to 1e9) but finite instead of overflowing to infinity or NaN.
pub const DIVERGED_ABS: f32 = 1e4;

/// True unless `x` is NaN, infinite or beyond ±[`DIVERGED_ABS`].
#[inline]
pub fn is_sane(x: f32) -> bool {
    x.abs() <= DIVERGED_ABS
}

fn all_sane(m: &mut SharedMatrix) -> bool {
    m.as_mut_slice().par_iter().all(|&x| is_sane(x))
}

/// `cfg` with every path absolute, so a checkpoint resumes from any directory.
fn absolute_paths(cfg: &TrainConfig) -> TrainConfig {
    let mut c = cfg.clone();
    c.input = checkpoint::absolute(&c.input);
    c.output = checkpoint::absolute(&c.output);
    c.cache_dir = checkpoint::absolute(&c.cache_dir);
    c.checkpoint = Some(checkpoint::absolute(&cfg.checkpoint_path()));
    c.save_vocab = c.save_vocab.as_deref().map(checkpoint::absolute);
    c.keep = c.keep.as_deref().map(checkpoint::absolute);
    c.save_model = c.save_model.as_deref().map(checkpoint::absolute);
    c.resume = None;
    c
}

/// Refuses a checkpoint path that is the input or the output, that lies in a directory we
/// cannot write to, or that holds an earlier run's checkpoint a fresh run would overwrite.
fn check_checkpoint_path(cfg: &TrainConfig, ck: &std::path::Path) -> Result<()> {
    let abs = checkpoint::absolute(ck);
    if abs == checkpoint::absolute(&cfg.output) || abs == checkpoint::absolute(&cfg.input) {
        return Err(Error::Config(format!(
            "checkpoint path {} is the input or output file; choose another with --checkpoint",
            ck.display()
        )));
    }
    let resuming_it = cfg
        .resume
        .as_deref()
        .is_some_and(|r| checkpoint::absolute(r) == abs);
    if ck.exists() && !resuming_it {
        return Err(Error::Config(format!(
            "checkpoint {0} already exists and a new run would overwrite it; resume it with \
             `huffvec train --resume {0}`, or delete it to start over",
            ck.display()
        )));
    }
    drop(crate::io::OutputSlot::reserve(ck, &[&cfg.input])?);
    Ok(())
}

/// What every round of worker threads shares: a round runs until all workers finish or
/// pause for a checkpoint.
struct Round<'a> {
    ids: &'a IdCorpus,
    shards: &'a [Vec<std::ops::Range<usize>>],
    keep: &'a [u32],
    tree: &'a Tree,
    sig: &'a SigmoidTable,
    steps: &'a StepSettings,
    negatives: Option<&'a UnigramTable>,
    schedule: Schedule,
    progress: &'a Progress,
    cfg: &'a TrainConfig,
    obs: &'a dyn Observer,
    on_tick: &'a (dyn Fn(f64, bool) + Sync),
    t0: Instant,
}

impl Round<'_> {
    /// Runs one worker per thread from `states` and watches them; returns how each ended.
    fn run<P: Probe>(
        &self,
        input: &SharedMatrix,
        inner: &SharedMatrix,
        states: &[WorkerState],
        probes: &mut [P],
    ) -> Vec<WorkerEnd> {
        let (cfg, progress, schedule) = (self.cfg, self.progress, self.schedule);
        let shared = Shared {
            input,
            inner,
            tree: self.tree,
            sig: self.sig,
            model: cfg.model,
            window: cfg.window,
            steps: self.steps,
            negatives: self.negatives,
            negative: cfg.negative,
        };
        // Woken by each worker as it ends, so the run's time is read when the last one
        // ends rather than at the next tick.
        let watcher = std::thread::current();
        std::thread::scope(|s| {
            let handles: Vec<_> = self
                .shards
                .iter()
                .zip(probes.iter_mut())
                .zip(states)
                .map(|((shard, probe), state)| {
                    let w = Worker {
                        shared: &shared,
                        corpus: self.ids,
                        shard: shard.clone(),
                        keep: self.keep,
                        schedule,
                        progress,
                        epochs: cfg.epochs,
                        state: state.clone(),
                        probe,
                        top_rows: if cfg.threads > 1 && cfg.loss == Loss::Hs {
                            cfg.replicate_top
                        } else {
                            0
                        },
                        sync_every: cfg.replicate_every,
                    };
                    let watcher = watcher.clone();
                    s.spawn(move || {
                        let end = kernel::dispatch(w);
                        progress.finished.fetch_add(1, Ordering::Release);
                        watcher.unpark();
                        end
                    })
                })
                .collect();
            while progress.finished.load(Ordering::Acquire) < cfg.threads as u64 {
                std::thread::park_timeout(Duration::from_millis(100));
                if self.obs.interrupted() {
                    progress.pause.store(true, Ordering::Relaxed);
                }
                let done = progress.done();
                self.obs
                    .training(done, schedule.alpha_at(done), self.t0.elapsed());
                (self.on_tick)(schedule.progress(done), false);
            }
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(WorkerEnd::Stopped))
                .collect()
        })
    }
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
