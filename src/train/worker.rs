//! The hot loop: one thread's pass over its blocks of the encoded corpus, epoch after epoch.
//!
//! The loss (HS or NS) and the step rule (plain SGD or the tuned rule with mitigations) are
//! chosen once when the thread starts; the loop is compiled once per combination, so the
//! default configuration runs exactly word2vec.c's SGD with no per-update option checks.

use std::ops::Range;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::progress::Progress;
use crate::corpus::encode::{IdCorpus, SENTENCE_END};
use crate::kernel::{self, Kernel, KernelTask};
use crate::loss::hs::HsLoss;
use crate::loss::ns::NsLoss;
use crate::loss::OutputLoss;
use crate::model::{self, Scratch, Shared};
use crate::optim::{Mitigated, Sgd, StepRule};
use crate::probe::Probe;
use crate::sampler::Rng;
use crate::schedule::{Schedule, PUBLISH_EVERY};

/// Longest sentence trained at once, in kept tokens (word2vec.c's MAX_SENTENCE_LENGTH);
/// longer lines (a whole corpus on one line included) are split into pieces of this many
/// kept tokens, each trained as a sentence of its own.
pub const MAX_SENTENCE: usize = 1000;

/// Ids after which a worker releases the pages it has read (bounded resident memory).
const RELEASE_EVERY: usize = 1 << 22;

/// Everything one worker thread needs.
pub struct Worker<'a, P: Probe> {
    /// Matrices, tree, model.
    pub shared: &'a Shared<'a>,
    /// The encoded corpus.
    pub corpus: &'a IdCorpus,
    /// This thread's blocks of ids, in corpus order (see [`crate::corpus::encode::shard_blocks`]).
    pub shard: Vec<Range<usize>>,
    /// Subsampling keep thresholds per word.
    pub keep: &'a [u32],
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Shared counters.
    pub progress: &'a Progress,
    /// Epochs to run.
    pub epochs: u32,
    /// Where this thread starts (or resumes): epoch, position, random stream, sentence.
    pub state: WorkerState,
    /// The probe events go to.
    pub probe: &'a mut P,
    /// Most visited inner nodes to replicate per thread (0 = none).
    pub top_rows: usize,
    /// Words between publishing the replicas.
    pub sync_every: u64,
}

/// Everything a worker needs to continue exactly where it paused (saved in checkpoints).
///
/// Workers pause only at publish points (every [`PUBLISH_EVERY`] words of their own and at
/// the end of an epoch), right after publishing their word count, so no unpublished count
/// is lost; the scratch buffers hold nothing across sentences.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerState {
    /// Current epoch, 1-based; `epochs + 1` once the worker has finished.
    pub epoch: u32,
    /// Index of the next id to read within the thread's blocks, taken end to end.
    pub pos: u64,
    /// The random stream's state ([`Rng::state`]).
    pub rng: u64,
    /// Learning rate in use, as `f32` bits.
    pub alpha_bits: u32,
    /// Kept ids of the sentence being built (fewer than [`MAX_SENTENCE`]).
    pub sentence: Vec<u32>,
}

impl WorkerState {
    /// A worker at the start of epoch 1 with random stream `rng` and learning rate `alpha`.
    pub fn start(rng: Rng, alpha: f32) -> Self {
        WorkerState {
            epoch: 1,
            pos: 0,
            rng: rng.state(),
            alpha_bits: alpha.to_bits(),
            sentence: Vec::new(),
        }
    }
}

/// Why a worker returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerEnd {
    /// Trained every epoch.
    Done,
    /// Paused for a checkpoint; the state continues the run exactly.
    Paused(WorkerState),
    /// Stopped on request.
    Stopped,
    /// Saw NaN or infinity in epoch (1-based) `epoch`.
    Diverged(u32),
}

impl<P: Probe> Worker<'_, P> {
    /// Runs the worker: picks the loss, then the step rule, then the kernel, and runs the
    /// loop compiled for that combination.
    pub fn run(self) -> WorkerEnd {
        let sh = self.shared;
        match sh.negatives {
            None => {
                let loss = HsLoss {
                    tree: sh.tree,
                    inner: sh.output,
                    sig: sh.sig,
                };
                self.with_rule(&loss)
            }
            Some(table) => {
                let loss = NsLoss {
                    output: sh.output,
                    table,
                    negative: sh.negative,
                    sig: sh.sig,
                };
                self.with_rule(&loss)
            }
        }
    }

    /// Picks the step rule, then the kernel. Each (loss, rule, kernel) combination is a
    /// function of its own, so no one function holds every copy of the loop; the model is
    /// read inside the loop.
    fn with_rule<L: OutputLoss>(self, loss: &L) -> WorkerEnd {
        let sh = self.shared;
        match sh.steps.plain_sgd() {
            Some(skip) => kernel::dispatch(Loop::new(self, loss, Sgd { skip })),
            None => {
                let rule = Mitigated::new(sh.steps, sh.input.stride(), 2 * sh.window);
                kernel::dispatch(Loop::new(self, loss, rule))
            }
        }
    }

    /// The loop itself: subsample, split into sentences, train, publish progress.
    #[inline(always)]
    fn run_loop<K: Kernel, L: OutputLoss, R: StepRule>(
        self,
        k: K,
        loss: &L,
        mut rule: R,
    ) -> WorkerEnd {
        let Worker {
            shared,
            corpus,
            shard,
            keep,
            schedule,
            progress,
            epochs,
            state,
            probe,
            top_rows,
            sync_every,
        } = self;
        let all = corpus.ids();
        let mut scratch = Scratch::new(shared.input.stride(), shared.window, top_rows);
        let sync = top_rows > 0;
        if sync {
            scratch.sync_top(k, shared.output);
        }
        let mut sentence: Vec<u32> = Vec::with_capacity(MAX_SENTENCE);
        sentence.extend_from_slice(&state.sentence);
        let mut rng = Rng::from_state(state.rng);
        let mut alpha = f32::from_bits(state.alpha_bits);
        // Trains the sentence built so far and starts a new one.
        macro_rules! train_pending {
            () => {{
                model::train_sentence(
                    k,
                    shared,
                    loss,
                    &mut rule,
                    &sentence,
                    alpha,
                    &mut rng,
                    &mut scratch,
                    probe,
                );
                sentence.clear();
            }};
        }
        let mut start = state.pos as usize;
        for epoch in state.epoch..=epochs {
            let mut local = 0u64;
            // Position of the current block's first id within the thread's blocks.
            let mut base = 0usize;
            for block in &shard {
                let ids = &all[block.clone()];
                if base + ids.len() <= start {
                    base += ids.len();
                    continue;
                }
                let from = start.saturating_sub(base);
                let mut released = from;
                for (i, &id) in ids.iter().enumerate().skip(from) {
                    local += 1;
                    if id == SENTENCE_END {
                        train_pending!();
                    } else if rng.keep(keep[id as usize]) {
                        sentence.push(id);
                        if sentence.len() == MAX_SENTENCE {
                            train_pending!();
                        }
                    }
                    if sync && local % sync_every == 0 {
                        scratch.sync_top(k, shared.output);
                    }
                    if local >= PUBLISH_EVERY {
                        let total;
                        (total, alpha) = publish(progress, &schedule, probe, local);
                        local = 0;
                        let at = Resume {
                            epoch,
                            pos: (base + i) as u64 + 1,
                            rng: &rng,
                            alpha,
                        };
                        if let Some(end) = check_point(
                            k,
                            shared,
                            progress,
                            &mut scratch,
                            sync,
                            total,
                            at,
                            &mut sentence,
                        ) {
                            return end;
                        }
                        if i - released >= RELEASE_EVERY {
                            corpus.release(block.start + released..block.start + i);
                            released = i;
                        }
                    }
                }
                // Blocks end at sentence ends, except inside a line longer than a block:
                // its piece is trained here rather than joined to the next block's text.
                train_pending!();
                corpus.release(block.start + released..block.end);
                base += ids.len();
            }
            if sync {
                scratch.sync_top(k, shared.output);
            }
            let total;
            (total, alpha) = publish(progress, &schedule, probe, local);
            start = 0;
            if epoch < epochs && progress.should_pause(total) {
                return WorkerEnd::Paused(WorkerState {
                    epoch: epoch + 1,
                    pos: 0,
                    rng: rng.state(),
                    alpha_bits: alpha.to_bits(),
                    sentence,
                });
            }
        }
        WorkerEnd::Done
    }
}

/// A worker with its loss and step rule chosen: the task the kernel runs.
struct Loop<'w, 'l, P: Probe, L, R> {
    worker: Worker<'w, P>,
    loss: &'l L,
    rule: R,
}

impl<'w, 'l, P: Probe, L: OutputLoss, R: StepRule> Loop<'w, 'l, P, L, R> {
    fn new(worker: Worker<'w, P>, loss: &'l L, rule: R) -> Self {
        Loop { worker, loss, rule }
    }
}

impl<P: Probe, L: OutputLoss, R: StepRule> KernelTask for Loop<'_, '_, P, L, R> {
    type Output = WorkerEnd;

    #[inline(always)]
    fn run<K: Kernel>(self, k: K) -> WorkerEnd {
        self.worker.run_loop::<K, L, R>(k, self.loss, self.rule)
    }
}

/// Publishes `local` words to the shared counter; returns the new total and the learning
/// rate for it, which the probe hears too.
#[inline(always)]
fn publish<P: Probe>(
    progress: &Progress,
    schedule: &Schedule,
    probe: &mut P,
    local: u64,
) -> (u64, f32) {
    let total = progress.publish(local);
    let alpha = schedule.alpha_at(total);
    probe.publish(total, alpha);
    (total, alpha)
}

/// Where a paused worker would resume: its epoch, position, random stream and rate.
struct Resume<'a> {
    epoch: u32,
    pos: u64,
    rng: &'a Rng,
    alpha: f32,
}

/// At a publish point, after `total` words in all: ends the worker when its inputs
/// diverged, a stop was requested, or the run pauses there (handing `sentence`, the kept
/// ids not yet trained, to the paused state); `None` to go on.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn check_point<K: Kernel>(
    k: K,
    shared: &Shared,
    progress: &Progress,
    scratch: &mut Scratch,
    sync: bool,
    total: u64,
    at: Resume,
    sentence: &mut Vec<u32>,
) -> Option<WorkerEnd> {
    if !scratch.last_inputs().iter().all(|&x| super::is_sane(x)) {
        progress.diverged.store(true, Ordering::Relaxed);
        progress.stop.store(true, Ordering::Relaxed);
        return Some(WorkerEnd::Diverged(at.epoch));
    }
    let stop = progress.should_stop();
    if !stop && !progress.should_pause(total) {
        return None;
    }
    if sync {
        scratch.sync_top(k, shared.output);
    }
    Some(if stop {
        WorkerEnd::Stopped
    } else {
        WorkerEnd::Paused(WorkerState {
            epoch: at.epoch,
            pos: at.pos,
            rng: at.rng.state(),
            alpha_bits: at.alpha.to_bits(),
            sentence: std::mem::take(sentence),
        })
    })
}
