//! Per-thread randomness: a seedable SplitMix64 stream, subsampling decisions and window
//! shrinking, all division-free.

/// A small, fast, serialisable random stream (SplitMix64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// The stream for `(seed, stream)`; distinct streams are independent for practical use.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng {
            state: seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03),
        };
        r.next_u64();
        r
    }

    /// Restores a stream from [`Rng::state`].
    pub fn from_state(state: u64) -> Self {
        Rng { state }
    }

    /// The internal state, for checkpoints.
    pub fn state(&self) -> u64 {
        self.state
    }

    /// Next 64 random bits.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n >= 1) by multiply-shift, no division.
    #[inline(always)]
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * n as u64) >> 32) as u32
    }

    /// True when a word with 16-bit keep threshold `keep` survives subsampling.
    #[inline(always)]
    pub fn keep(&mut self, keep: u32) -> bool {
        ((self.next_u64() >> 48) as u32) <= keep
    }
}

/// How many of the 65536 values of the 16-bit draw in [`Rng::keep`] keep a word with
/// threshold `keep` (those `<= keep`): its keep probability is this / 65536, as in
/// word2vec.c, which keeps a word when `(next_random & 0xFFFF) / 65536 <= ran`.
pub fn keep_chances(keep: u32) -> u32 {
    keep.saturating_add(1).min(1 << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_uniform_and_in_range() {
        let mut r = Rng::new(7, 0);
        let mut hist = [0u32; 5];
        for _ in 0..50_000 {
            hist[r.below(5) as usize] += 1;
        }
        for h in hist {
            assert!((9_000..11_000).contains(&h), "{hist:?}");
        }
    }

    #[test]
    fn keep_probability_matches_threshold() {
        let mut r = Rng::new(3, 1);
        let kept = (0..100_000).filter(|_| r.keep(16384)).count();
        assert!((24_000..26_000).contains(&kept), "{kept}");
        assert!((0..1000).all(|_| r.keep(65536)));
    }

    #[test]
    fn keep_chances_count_the_draws_keep_accepts() {
        for keep in [0u32, 1, 16384, 65534, 65535, 65536, 70000] {
            let accepted = (0u32..1 << 16).filter(|&draw| draw <= keep).count() as u32;
            assert_eq!(keep_chances(keep), accepted, "{keep}");
        }
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .scan(Rng::new(1, 0), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .scan(Rng::new(1, 0), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .scan(Rng::new(1, 1), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
