//! Linear learning-rate decay from a shared, batched progress counter (word2vec.c).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::config::MIN_ALPHA_FRACTION;

/// Words a thread processes between publishing progress and refreshing its learning rate.
pub const PUBLISH_EVERY: u64 = 10_000;

/// alpha(progress) = alpha0 * max(1 - done / (total + 1), MIN_ALPHA_FRACTION).
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    alpha0: f32,
    total_words: u64,
}

impl Schedule {
    /// Decay from `alpha0` over `total_words` (epochs x tokens per epoch).
    pub fn new(alpha0: f32, total_words: u64) -> Self {
        Schedule {
            alpha0,
            total_words,
        }
    }

    /// Learning rate after `done` words.
    #[inline]
    pub fn alpha_at(&self, done: u64) -> f32 {
        let frac = 1.0 - done as f64 / (self.total_words as f64 + 1.0);
        (self.alpha0 as f64 * frac.max(MIN_ALPHA_FRACTION as f64)) as f32
    }

    /// Words in the whole run.
    pub fn total_words(&self) -> u64 {
        self.total_words
    }

    /// Fraction of the run done after `done` words, in [0, 1].
    pub fn progress(&self, done: u64) -> f64 {
        (done as f64 / self.total_words.max(1) as f64).min(1.0)
    }
}

/// Shared run state: the word counter every thread publishes to, and stop requests.
#[derive(Debug)]
pub struct Progress {
    /// Words processed by all threads (published in batches of [`PUBLISH_EVERY`]).
    pub words_done: AtomicU64,
    /// Set to make every worker return at its next publish point.
    pub stop: AtomicBool,
    /// Set to make every worker pause (return its state) at its next publish point.
    pub pause: AtomicBool,
    /// Workers pause at the first publish point where the total reaches this many words
    /// (a checkpoint); `u64::MAX` for none. Depends only on word counts, never on the clock.
    pub pause_at: AtomicU64,
    /// Set by a worker that saw a non-finite value.
    pub diverged: AtomicBool,
    /// Workers that have finished.
    pub finished: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            words_done: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            pause: AtomicBool::new(false),
            pause_at: AtomicU64::new(u64::MAX),
            finished: AtomicU64::new(0),
            diverged: AtomicBool::new(false),
        }
    }
}

impl Progress {
    /// Adds `n` words and returns the new total.
    #[inline]
    pub fn publish(&self, n: u64) -> u64 {
        self.words_done.fetch_add(n, Ordering::Relaxed) + n
    }

    /// Words done so far.
    pub fn done(&self) -> u64 {
        self.words_done.load(Ordering::Relaxed)
    }

    /// True once a stop was requested.
    #[inline]
    pub fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// True when a worker whose publish brought the total to `total` words must pause.
    #[inline]
    pub fn should_pause(&self, total: u64) -> bool {
        total >= self.pause_at.load(Ordering::Relaxed) || self.pause.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_linearly_to_the_floor() {
        let s = Schedule::new(0.025, 999);
        assert_eq!(s.alpha_at(0), 0.025);
        assert!((s.alpha_at(500) - 0.0125).abs() < 1e-6);
        assert!((s.alpha_at(1000) - 0.025 * MIN_ALPHA_FRACTION).abs() < 1e-9);
        assert!((s.alpha_at(5000) - 0.025 * MIN_ALPHA_FRACTION).abs() < 1e-9);
    }
}
