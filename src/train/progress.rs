//! Shared run state: the batched progress counter every worker publishes to, and the
//! stop, pause and divergence flags.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Shared run state: the word counter every thread publishes to, and stop requests.
#[derive(Debug)]
pub struct Progress {
    /// Words processed by all threads (published in batches of [`crate::schedule::PUBLISH_EVERY`]).
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
