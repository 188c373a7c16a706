//! The trainer: prepare the encoded corpus and the tree, initialise the matrices, run one
//! Hogwild worker per thread over its blocks of the corpus, and watch progress, stop
//! requests and divergence.

pub mod checkpoint;
pub mod model_file;
pub mod progress;
pub mod worker;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::config::{Loss, TrainConfig};
use crate::corpus::encode::{CacheStatus, IdCorpus, VocabSettings};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::kernel::{self, FrozenMatrix, SharedMatrix};
use crate::loss::ns::{self, UnigramTable};
use crate::loss::SigmoidTable;
use crate::model::Shared;
use crate::optim::StepSettings;
use crate::probe::{NoProbe, Probe, RunInfo};
use crate::sampler::Rng;
use crate::schedule::Schedule;
use crate::tree::{shapes, Tree};
use crate::vocab::{KeepList, Vocab};
use checkpoint::RunIdentity;
use progress::Progress;
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
    pub input: FrozenMatrix,
    /// Output-side vectors: inner nodes (HS) or output words (NS).
    pub inner: FrozenMatrix,
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

/// The parameters where an epoch ended (dense, row-major copies), for evaluating a run
/// while it trains.
pub struct EpochEnd<'a> {
    /// Epochs done, from 1.
    pub epoch: u32,
    /// The vocabulary.
    pub vocab: &'a Vocab,
    /// The output tree.
    pub tree: &'a Tree,
    /// Input vectors, `vocab.len() x dim`.
    pub input: Vec<f32>,
    /// Output-side vectors: inner nodes (HS) or output words (NS).
    pub inner: Vec<f32>,
    /// Vector dimension.
    pub dim: usize,
}

/// Called where every epoch but the last ends; an error ends the run with it.
pub type OnEpoch<'a> = &'a mut dyn FnMut(&EpochEnd<'_>) -> Result<()>;

/// Trains `cfg` with no instrumentation.
pub fn train(cfg: &TrainConfig, obs: &dyn Observer) -> Result<(Trained, TrainReport)> {
    let mut probes: Vec<NoProbe> = vec![NoProbe; cfg.run.threads];
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
    train_rounds::<P, NoProbe>(cfg, obs, probes, None, on_tick, None)
}

/// Trains `cfg` as [`train_with`] does, pausing where each epoch but the last ends to hand
/// the parameters to `on_epoch`. With several threads an epoch's end is the point where
/// that many epochs' words are done in all, so the threads stand near, not at, their
/// blocks' ends; with one thread it is exact, and the pauses leave the result unchanged.
pub fn train_with_epochs<P: Probe>(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    probes: &mut [P],
    on_epoch: OnEpoch<'_>,
) -> Result<(Trained, TrainReport)> {
    train_rounds::<P, NoProbe>(cfg, obs, probes, None, &|_, _| {}, Some(on_epoch))
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
    if alt.segment == 0 || alt.probes.len() != cfg.run.threads {
        return Err(Error::Internal(
            "alternating rounds need a positive segment and one probe per thread".into(),
        ));
    }
    train_rounds(cfg, obs, probes, Some(alt), &|_, _| {}, None)
}

fn train_rounds<P: Probe, Q: Probe>(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    probes: &mut [P],
    mut alt: Option<&mut Alternate<Q>>,
    on_tick: &(dyn Fn(f64, bool) + Sync),
    on_epoch: Option<OnEpoch<'_>>,
) -> Result<(Trained, TrainReport)> {
    assert_eq!(probes.len(), cfg.run.threads);
    let mut prep = prepare(cfg, obs)?;
    let mut state = init_or_resume(cfg, obs, &mut prep)?;
    let mut stops = StopPoints::new(cfg, &prep.schedule, state.start_done)?;
    if on_epoch.is_some() {
        stops.epoch = prep.ids.ids().len() as u64;
    }
    let run = RunInfo {
        vocab: &prep.vocab,
        tree: &prep.tree,
        schedule: prep.schedule,
    };
    probes.iter_mut().for_each(|p| p.prepare(&run));
    P::start_all(probes, state.telemetry.take().as_ref(), state.start_done)?;
    if let Some(a) = alt.as_deref_mut() {
        a.probes.iter_mut().for_each(|p| p.prepare(&run));
    }
    if obs.interrupted() {
        return Err(Error::Interrupted {
            progress_pct: 100.0 * prep.schedule.progress(state.start_done),
            message: "interrupted before training started; nothing to resume (the encoded \
                      corpus is cached, so the next run starts training at once)"
                .into(),
        });
    }
    let t0 = Instant::now();
    let mut hooks = Hooks {
        on_tick,
        on_epoch,
        in_hooks: Duration::ZERO,
    };
    let done = run_rounds(
        cfg, obs, &prep, &mut state, &stops, probes, alt, &mut hooks, t0,
    )?;
    // The time the epoch hook took is not training time.
    finish(cfg, obs, prep, state, done, t0 + hooks.in_hooks, on_tick)
}

/// Everything fixed before the matrices exist: the encoded corpus, vocabulary, tree,
/// schedule, the run's identity and, when resuming, the checkpoint read back.
struct Prepared {
    pool: rayon::ThreadPool,
    ids: IdCorpus,
    status: CacheStatus,
    prepare_seconds: f64,
    vocab: Vocab,
    tree: Tree,
    identity: RunIdentity,
    schedule: Schedule,
    checkpoint_path: Option<std::path::PathBuf>,
    resumed: Option<(checkpoint::Checkpoint, std::path::PathBuf)>,
}

/// Stage 1: validates `cfg`, reads the checkpoint to resume (checked against the settings
/// and the corpus), encodes the corpus (or reuses its cache) and builds the tree.
fn prepare(cfg: &TrainConfig, obs: &dyn Observer) -> Result<Prepared> {
    cfg.validate()?;
    let checkpoint_path = cfg.checkpoint_path();
    match &checkpoint_path {
        Some(ck) => check_checkpoint_path(cfg, ck)?,
        None if cfg.run.checkpoint_every > 0.0 || cfg.run.stop_at.is_some() => {
            return Err(Error::Config(
                "periodic checkpoints and --stop-at need a checkpoint path (or an output path \
                 to put it beside)"
                    .into(),
            ))
        }
        None => {}
    }
    let resumed = match &cfg.run.resume {
        Some(p) => {
            let ck = checkpoint::read(p)?;
            ck.check_settings(cfg, p)?;
            Some((ck, p.clone()))
        }
        None => None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.run.threads)
        .build()
        .map_err(|e| Error::Config(format!("cannot start {} threads: {e}", cfg.run.threads)))?;
    let t_prep = Instant::now();
    let corpus = Corpus::open(&cfg.corpus.input)?;
    let total_bytes = corpus.bytes().len() as u64;
    let corpus_id = corpus.fingerprint();
    if let Some((ck, p)) = &resumed {
        ck.check_corpus(
            &cfg.corpus.input,
            corpus_id.bytes,
            corpus_id.content_hash,
            p,
        )?;
    }
    let settings = VocabSettings {
        min_count: cfg.corpus.min_count,
        max_vocab: cfg.corpus.max_vocab,
    };
    let keep_list = match &cfg.corpus.keep {
        Some(p) => KeepList::read(p)?,
        None => KeepList::none(),
    };
    let (ids, status) = pool.install(|| {
        IdCorpus::prepare_keeping(
            &corpus,
            settings,
            &keep_list,
            &cfg.corpus.cache_dir,
            cfg.run.threads,
            &|stage, done| obs.preparing(stage, done, total_bytes),
        )
    })?;
    drop(corpus);
    let prepare_seconds = t_prep.elapsed().as_secs_f64();
    match &status {
        CacheStatus::Reused => {
            obs.note(&format!("reusing encoded corpus {}", ids.path().display()))
        }
        CacheStatus::Built(why) => obs.note(&format!(
            "encoded corpus into {} ({why}) in {prepare_seconds:.2}s",
            ids.path().display()
        )),
    }
    let vocab = ids.vocab().clone();
    if let Some(p) = &cfg.run.save_vocab {
        vocab.save(p)?;
    }
    let shape_inputs = shapes::ShapeInputs::of(&cfg.params, vocab.total());
    let tree = shapes::build(cfg.params.tree, vocab.counts(), &shape_inputs)?;
    if cfg.params.loss == Loss::Hs {
        obs.note(&format!(
            "{:?} {}",
            cfg.params.tree,
            tree.summary(vocab.counts())
        ));
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
            .filter(|&&c| c < cfg.corpus.min_count)
            .count();
        obs.note(&format!(
            "keep list: {} words listed, {below} in the vocabulary below --min-count",
            keep_list.len()
        ));
    }
    let identity = RunIdentity {
        corpus_bytes: corpus_id.bytes,
        corpus_hash: corpus_id.content_hash,
        vocab_words: vocab.len() as u64,
        vocab_fingerprint: vocab.fingerprint(),
        ids: ids.ids().len() as u64,
        ids_checksum: ids.checksum(),
    };
    let tokens = ids.ids().len() as u64;
    let schedule = Schedule::new(cfg.params.alpha, tokens * cfg.params.epochs as u64);
    Ok(Prepared {
        pool,
        ids,
        status,
        prepare_seconds,
        vocab,
        tree,
        identity,
        schedule,
        checkpoint_path,
        resumed,
    })
}

/// The parameters and where every worker stands.
struct TrainState {
    input: SharedMatrix,
    inner: SharedMatrix,
    workers: Vec<WorkerState>,
    start_done: u64,
    steps: StepSettings,
    /// The checkpoint's telemetry state, until the probes take it.
    telemetry: Option<serde_json::Value>,
}

/// Stage 2: fresh matrices initialised from the seed, or the checkpoint's matrices, worker
/// states and optimiser accumulators.
fn init_or_resume(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    prep: &mut Prepared,
) -> Result<TrainState> {
    let inner_rows = match cfg.params.loss {
        Loss::Hs => prep.tree.n_inner().max(1),
        Loss::Ns => prep.vocab.len(),
    };
    let (input, inner, workers, start_done, accumulators, telemetry) = match prep.resumed.take() {
        Some((ck, p)) => {
            ck.check_identity(&prep.identity, inner_rows as u64, &p)?;
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
                ck.header.telemetry,
            )
        }
        None => {
            let mut input = SharedMatrix::zeros(prep.vocab.len(), cfg.params.dim);
            let mut inner = SharedMatrix::zeros(inner_rows, cfg.params.dim);
            prep.pool.install(|| {
                crate::init::init_matrices(
                    cfg.params.row_inits(),
                    &mut input,
                    &mut inner,
                    cfg.params.seed,
                )
            });
            let alpha0 = prep.schedule.alpha_at(0);
            let workers = (0..cfg.run.threads)
                .map(|t| WorkerState::start(Rng::new(cfg.params.seed, t as u64), alpha0))
                .collect();
            (input, inner, workers, 0, None, None)
        }
    };
    let mut steps = StepSettings::new(cfg, prep.tree.max_depth(), input.rows(), inner.rows());
    if let Some(a) = accumulators {
        if !steps.restore_adagrad(&a.input, &a.inner) {
            return Err(Error::Internal(
                "the checkpoint's AdaGrad accumulators do not fit this run".into(),
            ));
        }
    }
    Ok(TrainState {
        input,
        inner,
        workers,
        start_done,
        steps,
        telemetry,
    })
}

/// Where the run pauses: every `every` words for a periodic checkpoint, at `stop` for
/// `--stop-at`, and every `epoch` words for the epoch hook (`u64::MAX` for never).
struct StopPoints {
    every: u64,
    stop: u64,
    epoch: u64,
    total: u64,
}

impl StopPoints {
    fn new(cfg: &TrainConfig, schedule: &Schedule, start_done: u64) -> Result<Self> {
        let total = schedule.total_words();
        let pct_to_words = |pct: f64| ((pct / 100.0) * total as f64).ceil() as u64;
        let every = match cfg.run.checkpoint_every {
            p if p > 0.0 => pct_to_words(p).max(1),
            _ => u64::MAX,
        };
        let stop = cfg.run.stop_at.map(pct_to_words).unwrap_or(u64::MAX);
        if stop <= start_done {
            return Err(Error::Config(format!(
                "--stop-at {}% is not past the checkpoint's progress ({:.1}%)",
                cfg.run.stop_at.unwrap_or(0.0),
                100.0 * schedule.progress(start_done)
            )));
        }
        Ok(StopPoints {
            every,
            stop,
            epoch: u64::MAX,
            total,
        })
    }

    /// The next epoch end after `done` words, before the last (`u64::MAX` for none).
    fn next_epoch_after(&self, done: u64) -> u64 {
        done.checked_div(self.epoch)
            .map(|k| (k + 1).saturating_mul(self.epoch))
            .filter(|&at| at < self.total)
            .unwrap_or(u64::MAX)
    }

    /// The next checkpoint after `done` words.
    fn next_after(&self, done: u64) -> u64 {
        let periodic = done
            .checked_div(self.every)
            .map_or(u64::MAX, |k| (k + 1).saturating_mul(self.every));
        periodic.min(self.stop)
    }
}

/// What the caller hears while the rounds run: progress ticks and epoch ends.
struct Hooks<'a, 'b> {
    on_tick: &'a (dyn Fn(f64, bool) + Sync),
    on_epoch: Option<OnEpoch<'b>>,
    /// Time spent in `on_epoch` so far.
    in_hooks: Duration,
}

/// Stage 3: runs rounds of worker threads until every worker is done, pausing for
/// checkpoints, epoch ends (with an epoch hook) and, with `alt`, at every segment end;
/// returns the words done.
#[allow(clippy::too_many_arguments)]
fn run_rounds<P: Probe, Q: Probe>(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    prep: &Prepared,
    state: &mut TrainState,
    stops: &StopPoints,
    probes: &mut [P],
    mut alt: Option<&mut Alternate<Q>>,
    hooks: &mut Hooks<'_, '_>,
    t0: Instant,
) -> Result<u64> {
    let on_tick = hooks.on_tick;
    let negatives = (cfg.params.loss == Loss::Ns)
        .then(|| UnigramTable::new(prep.vocab.counts(), ns::TABLE_SIZE));
    let sig = SigmoidTable::new();
    let keep = prep.vocab.keep_thresholds(cfg.params.sample);
    let progress = Progress::default();
    progress
        .words_done
        .store(state.start_done, Ordering::Relaxed);
    let shards = prep.ids.shards(cfg.run.threads);
    obs.training_started(prep.schedule.total_words(), cfg.run.threads);
    for turn in 0.. {
        let done = progress.done();
        let checkpoint_at = stops.next_after(done);
        let epoch_at = stops.next_epoch_after(done);
        let segment_end = alt
            .as_ref()
            .map_or(u64::MAX, |a| done.saturating_add(a.segment));
        progress.pause_at.store(
            checkpoint_at.min(segment_end).min(epoch_at),
            Ordering::Relaxed,
        );
        progress.finished.store(0, Ordering::Relaxed);
        let round = Round {
            ids: &prep.ids,
            shards: &shards,
            keep: &keep,
            tree: &prep.tree,
            sig: &sig,
            steps: &state.steps,
            negatives: negatives.as_ref(),
            schedule: prep.schedule,
            progress: &progress,
            cfg,
            obs,
            on_tick,
            t0,
        };
        let started = Instant::now();
        let alternate = Alternate::<Q>::is_alternate(turn);
        let ends = match alt.as_deref_mut() {
            Some(a) if alternate => round.run(&state.input, &state.inner, &state.workers, a.probes),
            _ => round.run(&state.input, &state.inner, &state.workers, probes),
        };
        if let Some(a) = alt.as_deref_mut() {
            a.rounds.push(RoundTime {
                alternate,
                words: progress.done() - done,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        let done = progress.done();
        let paused = take_ends(cfg, &prep.schedule, done, &mut state.workers, ends)?;
        if !paused {
            return Ok(done);
        }
        if done >= epoch_at {
            if let Some(f) = hooks.on_epoch.as_deref_mut() {
                let end = EpochEnd {
                    epoch: (done / stops.epoch) as u32,
                    vocab: &prep.vocab,
                    tree: &prep.tree,
                    input: dense(&mut state.input),
                    inner: dense(&mut state.inner),
                    dim: cfg.params.dim,
                };
                let started = Instant::now();
                f(&end)?;
                hooks.in_hooks += started.elapsed();
            }
        }
        if done < checkpoint_at && !progress.pause.load(Ordering::Relaxed) {
            // An epoch end or the end of an alternating round: go on.
            continue;
        }
        let interrupted = progress.pause.load(Ordering::Relaxed);
        let telemetry = prep
            .checkpoint_path
            .as_ref()
            .and_then(|_| P::save_all(probes));
        let at = Pause {
            done,
            interrupted,
            at_stop: done >= stops.stop,
            telemetry,
        };
        pause_for_checkpoint(cfg, obs, prep, state, at)?;
    }
    unreachable!("the round loop only ends by returning")
}

/// The rows of `m` without their padding, one after another.
fn dense(m: &mut SharedMatrix) -> Vec<f32> {
    let mut out = Vec::with_capacity(m.rows() * m.dim());
    for r in 0..m.rows() {
        out.extend_from_slice(m.row(r));
    }
    out
}

/// Records how each worker ended in `workers`; true when any paused. A diverged or lost
/// worker ends the run with its error.
fn take_ends(
    cfg: &TrainConfig,
    schedule: &Schedule,
    done: u64,
    workers: &mut [WorkerState],
    ends: Vec<WorkerEnd>,
) -> Result<bool> {
    if let Some(epoch) = ends.iter().find_map(|e| match e {
        WorkerEnd::Diverged(ep) => Some(*ep),
        _ => None,
    }) {
        return Err(Error::Diverged {
            epoch,
            progress_pct: 100.0 * schedule.progress(done),
        });
    }
    let mut paused = false;
    for (state, end) in workers.iter_mut().zip(ends) {
        match end {
            WorkerEnd::Done => state.epoch = cfg.params.epochs + 1,
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
    Ok(paused)
}

/// Where and why every worker paused.
struct Pause {
    /// Words done.
    done: u64,
    /// The user asked to stop.
    interrupted: bool,
    /// The run reached `--stop-at`.
    at_stop: bool,
    /// The probes' state, to keep in the checkpoint.
    telemetry: Option<serde_json::Value>,
}

/// Stage 4: every worker has paused; writes the checkpoint. Returns an error to end the
/// run when the user interrupted it or the run reached `--stop-at`; a periodic checkpoint
/// that cannot be written is a warning.
fn pause_for_checkpoint(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    prep: &Prepared,
    state: &mut TrainState,
    at: Pause,
) -> Result<()> {
    let Pause {
        done,
        interrupted,
        at_stop,
        telemetry,
    } = at;
    let epoch = state.workers.iter().map(|s| s.epoch).min().unwrap_or(1);
    if !all_sane(&mut state.input) || !all_sane(&mut state.inner) {
        return Err(Error::Diverged {
            epoch: epoch.min(cfg.params.epochs),
            progress_pct: 100.0 * prep.schedule.progress(done),
        });
    }
    let pct = 100.0 * prep.schedule.progress(done);
    let Some(ck_path) = &prep.checkpoint_path else {
        return Err(Error::Interrupted {
            progress_pct: pct,
            message: "no checkpoint path was set, so nothing was saved".into(),
        });
    };
    let header = checkpoint::Header {
        huffvec: env!("CARGO_PKG_VERSION").into(),
        config: absolute_paths(cfg),
        alpha_bits: cfg.params.alpha.to_bits(),
        identity: prep.identity,
        words_done: done,
        total_words: prep.schedule.total_words(),
        dim: cfg.params.dim as u64,
        input_rows: state.input.rows() as u64,
        inner_rows: state.inner.rows() as u64,
        workers: state.workers.clone(),
        adagrad: state.steps.adagrad().is_some(),
        telemetry,
    };
    let written = checkpoint::write(
        ck_path,
        &header,
        &mut state.input,
        &mut state.inner,
        state.steps.adagrad(),
    );
    if interrupted {
        written?;
        return Err(Error::Interrupted {
            progress_pct: pct,
            message: format!(
                "checkpoint written to {0}; resume with `huffvec train --resume {0}`",
                ck_path.display()
            ),
        });
    }
    if at_stop {
        written?;
        return Err(Error::Stopped {
            progress_pct: pct,
            checkpoint: ck_path.clone(),
        });
    }
    match written {
        Ok(()) => obs.note(&format!(
            "checkpoint at {pct:.1}% written to {}",
            ck_path.display()
        )),
        Err(e) => {
            // The output checks report a vanished directory as an option error; here it is
            // only the cause, so it is shown without the "invalid option" label.
            let cause = match e {
                Error::Config(reason) => reason,
                e => e.to_string(),
            };
            obs.warning(&format!(
                "warning: checkpoint at {pct:.1}% not written to {}, training goes on: {cause}",
                ck_path.display()
            ))
        }
    }
    Ok(())
}

/// Stage 5: checks the trained matrices and hands them over with the run's figures.
fn finish(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    prep: Prepared,
    mut state: TrainState,
    done: u64,
    t0: Instant,
    on_tick: &(dyn Fn(f64, bool) + Sync),
) -> Result<(Trained, TrainReport)> {
    let train_seconds = t0.elapsed().as_secs_f64();
    obs.training_finished();
    on_tick(prep.schedule.progress(done), true);
    if !all_sane(&mut state.input) || !all_sane(&mut state.inner) {
        return Err(Error::Diverged {
            epoch: cfg.params.epochs,
            progress_pct: 100.0 * prep.schedule.progress(done),
        });
    }
    let reused = matches!(prep.status, CacheStatus::Reused);
    let words = done - state.start_done;
    let report = TrainReport {
        words,
        train_seconds,
        prepare_seconds: if reused { 0.0 } else { prep.prepare_seconds },
        words_per_sec: words as f64 / train_seconds.max(1e-9),
        vocab_size: prep.vocab.len(),
        tokens_per_epoch: prep.ids.ids().len() as u64,
        threads: cfg.run.threads,
        kernel: kernel::backend_name(),
        cache_reused: reused,
    };
    let trained = Trained {
        vocab: prep.vocab,
        input: state.input.into(),
        inner: state.inner.into(),
        tree: prep.tree,
    };
    Ok((trained, report))
}

/// Stack of a worker thread. The hot loop is inlined into one function; without
/// optimisation (debug and test builds) its frame alone takes most of the 2 MiB a thread
/// gets by default. Only the pages touched are ever resident.
const WORKER_STACK: usize = 16 << 20;

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
    // In blocks, each folded without branches: one rayon task per element costs more than
    // the test.
    m.as_mut_slice()
        .par_chunks(1 << 14)
        .all(|c| c.iter().fold(true, |ok, &x| ok & is_sane(x)))
}

/// `cfg` with every path absolute, so a checkpoint resumes from any directory.
fn absolute_paths(cfg: &TrainConfig) -> TrainConfig {
    let mut c = cfg.clone();
    c.corpus.input = checkpoint::absolute(&c.corpus.input);
    c.run.output = c.run.output.as_deref().map(checkpoint::absolute);
    c.corpus.cache_dir = checkpoint::absolute(&c.corpus.cache_dir);
    c.run.checkpoint = cfg.checkpoint_path().as_deref().map(checkpoint::absolute);
    c.run.save_vocab = c.run.save_vocab.as_deref().map(checkpoint::absolute);
    c.run.resume = None;
    c.corpus.keep = c.corpus.keep.as_deref().map(checkpoint::absolute);
    c.run.save_model = c.run.save_model.as_deref().map(checkpoint::absolute);
    c.run.stats.path = c.run.stats.path.as_deref().map(checkpoint::absolute);
    c.run.stats.word_stats = c.run.stats.word_stats.as_deref().map(checkpoint::absolute);
    c
}

/// Refuses a checkpoint path that is the input or the output, that lies in a directory we
/// cannot write to, or that holds an earlier run's checkpoint a fresh run would overwrite.
fn check_checkpoint_path(cfg: &TrainConfig, ck: &std::path::Path) -> Result<()> {
    let abs = checkpoint::absolute(ck);
    let output = cfg.run.output.as_deref().map(checkpoint::absolute);
    if Some(&abs) == output.as_ref() || abs == checkpoint::absolute(&cfg.corpus.input) {
        return Err(Error::Config(format!(
            "checkpoint path {} is the input or output file; choose another with --checkpoint",
            ck.display()
        )));
    }
    let resuming_it = cfg
        .run
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
    drop(crate::io::OutputSlot::reserve(ck, &[&cfg.corpus.input])?);
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
            output: inner,
            tree: self.tree,
            sig: self.sig,
            model: cfg.params.model,
            window: cfg.params.window,
            steps: self.steps,
            negatives: self.negatives,
            negative: cfg.params.negative,
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
                        epochs: cfg.params.epochs,
                        state: state.clone(),
                        probe,
                        top_rows: if cfg.run.threads > 1 && cfg.params.loss == Loss::Hs {
                            cfg.params.replicate_top
                        } else {
                            0
                        },
                        sync_every: cfg.params.replicate_every,
                    };
                    let watcher = watcher.clone();
                    let spawned = std::thread::Builder::new()
                        .name("huffvec-worker".into())
                        .stack_size(WORKER_STACK)
                        .spawn_scoped(s, move || {
                            let end = w.run();
                            progress.finished.fetch_add(1, Ordering::Release);
                            watcher.unpark();
                            end
                        });
                    if spawned.is_err() {
                        // Counted as ended, so the watcher does not wait for it; the run
                        // then ends with an internal error.
                        progress.stop.store(true, Ordering::Relaxed);
                        progress.finished.fetch_add(1, Ordering::Release);
                    }
                    spawned.ok()
                })
                .collect();
            while progress.finished.load(Ordering::Acquire) < cfg.run.threads as u64 {
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
                .map(|h| {
                    h.map_or(WorkerEnd::Stopped, |h| {
                        h.join().unwrap_or(WorkerEnd::Stopped)
                    })
                })
                .collect()
        })
    }
}

impl Trained {
    /// Writes the input vectors to `slot` in `format`.
    pub fn write_vectors(
        &self,
        slot: crate::io::OutputSlot,
        format: crate::config::OutputFormat,
    ) -> Result<()> {
        let vocab = &self.vocab;
        let input = &self.input;
        slot.commit(|w| {
            let rows = (0..vocab.len()).map(|i| (vocab.word(i), input.row(i)));
            crate::io::word2vec::write(w, format, input.dim(), rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Model, Optimizer};
    use crate::test_support::zipf_corpus;

    /// Several threads share one tiny model in every loop variant (the test the `strict`
    /// build runs under ThreadSanitizer): each run finishes with finite, trained vectors.
    #[test]
    fn hogwild_threads_share_a_tiny_model() {
        let dir = tempfile::tempdir().expect("tempdir");
        let corpus = dir.path().join("corpus.txt");
        zipf_corpus(&corpus, 120);
        for (model, loss, optimizer, threads) in [
            (Model::Skipgram, Loss::Hs, Optimizer::Sgd, 2),
            (Model::Cbow, Loss::Hs, Optimizer::Sgd, 3),
            (Model::Skipgram, Loss::Ns, Optimizer::Sgd, 2),
            (Model::Skipgram, Loss::Hs, Optimizer::Adagrad, 2),
        ] {
            let mut cfg = TrainConfig::for_corpus(corpus.clone(), model);
            cfg.corpus.min_count = 1;
            cfg.corpus.cache_dir = dir.path().join("cache");
            cfg.params.dim = 8;
            cfg.params.epochs = 1;
            cfg.params.loss = loss;
            cfg.params.negative = if loss == Loss::Ns { 3 } else { 0 };
            cfg.params.saturation = crate::config::default_saturation(loss);
            cfg.params.optimizer = optimizer;
            cfg.params.replicate_top = 4;
            cfg.params.replicate_every = 16;
            cfg.run.threads = threads;
            let (t, report) = train(&cfg, &Silent).expect("training");
            assert_eq!(report.threads, threads);
            assert!(report.words > 0);
            let input = t.input.as_slice();
            assert!(input.iter().all(|x| x.is_finite()), "{model:?} {loss:?}");
            assert!(
                t.inner.as_slice().iter().any(|&x| x != 0.0),
                "{model:?} {loss:?} {optimizer:?}: the output side never moved"
            );
        }
    }

    /// At one thread, pausing where each epoch ends (for the study's scoring) leaves the
    /// result unchanged, and the hook sees every epoch but the last.
    #[test]
    fn epoch_pauses_change_nothing_at_one_thread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let corpus = dir.path().join("corpus.txt");
        zipf_corpus(&corpus, 120);
        for model in [Model::Skipgram, Model::Cbow] {
            let mut cfg = TrainConfig::for_corpus(corpus.clone(), model);
            cfg.corpus.min_count = 1;
            cfg.corpus.cache_dir = dir.path().join("cache");
            cfg.params.dim = 8;
            cfg.params.epochs = 3;
            cfg.run.threads = 1;
            let (plain, _) = train(&cfg, &Silent).expect("training");
            let mut seen = Vec::new();
            let mut hook = |e: &EpochEnd<'_>| {
                assert_eq!(e.input.len(), e.vocab.len() * e.dim);
                seen.push(e.epoch);
                Ok(())
            };
            let mut probes = vec![NoProbe; 1];
            let (paused, _) =
                train_with_epochs(&cfg, &Silent, &mut probes, &mut hook).expect("training");
            assert_eq!(seen, vec![1, 2], "{model:?}");
            assert_eq!(paused.input.as_slice(), plain.input.as_slice(), "{model:?}");
            assert_eq!(paused.inner.as_slice(), plain.inner.as_slice(), "{model:?}");
        }
    }
}
