//! Linear learning-rate decay from the shared, batched progress counter (word2vec.c).

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
