//! The hot loop: one thread's pass over its shard of the encoded corpus, epoch after epoch.

use std::ops::Range;
use std::sync::atomic::Ordering;

use super::schedule::{Progress, Schedule, PUBLISH_EVERY};
use crate::corpus::encode::{IdCorpus, SENTENCE_END};
use crate::kernel::{Kernel, KernelTask};
use crate::model::{self, Scratch, Shared};
use crate::sampler::Rng;
use crate::telemetry::Probe;

/// Longest sentence trained at once, in kept tokens (word2vec.c's MAX_SENTENCE_LENGTH);
/// longer lines are split.
pub const MAX_SENTENCE: usize = 1000;

/// Ids after which a worker releases the pages it has read (bounded resident memory).
const RELEASE_EVERY: usize = 1 << 22;

/// Everything one worker thread needs.
pub struct Worker<'a, P: Probe> {
    /// Matrices, tree, model.
    pub shared: &'a Shared<'a>,
    /// The encoded corpus.
    pub corpus: &'a IdCorpus,
    /// This thread's id range.
    pub shard: Range<usize>,
    /// Subsampling keep thresholds per word.
    pub keep: &'a [u32],
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Shared counters.
    pub progress: &'a Progress,
    /// Epochs to run.
    pub epochs: u32,
    /// This thread's random stream.
    pub rng: Rng,
    /// The probe events go to.
    pub probe: &'a mut P,
}

/// Why a worker returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerEnd {
    /// Trained every epoch.
    Done,
    /// Stopped on request.
    Stopped,
    /// Saw NaN or infinity in epoch (1-based) `epoch`.
    Diverged(u32),
}

impl<P: Probe> KernelTask for Worker<'_, P> {
    type Output = WorkerEnd;

    #[inline(always)]
    fn run<K: Kernel>(self, k: K) -> WorkerEnd {
        let Worker {
            shared,
            corpus,
            shard,
            keep,
            schedule,
            progress,
            epochs,
            mut rng,
            probe,
        } = self;
        let ids = &corpus.ids()[shard.clone()];
        let mut scratch = Scratch::new(shared.input.stride(), shared.window);
        let mut sentence: Vec<u32> = Vec::with_capacity(MAX_SENTENCE);
        let mut alpha = schedule.alpha_at(progress.done());
        for epoch in 1..=epochs {
            let mut local = 0u64;
            let mut released = 0usize;
            for (i, &id) in ids.iter().enumerate() {
                local += 1;
                if id == SENTENCE_END {
                    model::train_sentence(
                        k,
                        shared,
                        &sentence,
                        alpha,
                        &mut rng,
                        &mut scratch,
                        probe,
                    );
                    sentence.clear();
                } else if rng.keep(keep[id as usize]) {
                    sentence.push(id);
                    if sentence.len() == MAX_SENTENCE {
                        model::train_sentence(
                            k,
                            shared,
                            &sentence,
                            alpha,
                            &mut rng,
                            &mut scratch,
                            probe,
                        );
                        sentence.clear();
                    }
                }
                if local >= PUBLISH_EVERY {
                    let done = progress.publish(local);
                    alpha = schedule.alpha_at(done);
                    probe.publish(done, alpha);
                    local = 0;
                    if !scratch.last_inputs().iter().all(|x| x.is_finite()) {
                        progress.diverged.store(true, Ordering::Relaxed);
                        progress.stop.store(true, Ordering::Relaxed);
                        return WorkerEnd::Diverged(epoch);
                    }
                    if progress.should_stop() {
                        return WorkerEnd::Stopped;
                    }
                    if i - released >= RELEASE_EVERY {
                        corpus.release(shard.start + released..shard.start + i);
                        released = i;
                    }
                }
            }
            model::train_sentence(k, shared, &sentence, alpha, &mut rng, &mut scratch, probe);
            sentence.clear();
            let done = progress.publish(local);
            alpha = schedule.alpha_at(done);
            probe.publish(done, alpha);
            corpus.release(shard.start + released..shard.end);
        }
        WorkerEnd::Done
    }
}
