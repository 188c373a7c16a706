//! Precomputed sigmoid and log-sigmoid tables over (-MAX_EXP, MAX_EXP), as word2vec.c.
//!
//! Beyond the table, sigmoid is its limit, exactly 0 or 1, as word2vec.c's negative
//! sampling and fastText take it: a saturated score whose sign agrees with the label then
//! steps by nothing, a disagreeing one by the full gradient. (The table's edge value,
//! sigmoid(±6) = 0.0025 from the limit, would instead push every agreeing saturated score a
//! little further on each visit, which over several epochs inflates frequent words' output
//! vectors and measurably costs negative sampling quality; see docs/performance.md.)

use crate::kernel::clamped_floor;

/// Scores at or beyond this magnitude are saturated (word2vec.c's `MAX_EXP`).
pub const MAX_EXP: f32 = 6.0;
/// Table resolution (word2vec.c's `EXP_TABLE_SIZE`).
pub const TABLE_SIZE: usize = 1000;
/// Table slots per unit of score.
pub const SCALE: f32 = TABLE_SIZE as f32 / (2.0 * MAX_EXP);

/// sigmoid(x) and ln sigmoid(x) sampled at `x_i = (2 i / TABLE_SIZE - 1) * MAX_EXP`, both
/// indexed by one slot: the sigmoid table has the limits 0 and 1 as sentinels at both ends,
/// the ln sigmoid table repeats its edge values there.
pub struct SigmoidTable {
    sig: Box<[f32; TABLE_SIZE + 3]>,
    log_sig: Box<[f32; TABLE_SIZE + 3]>,
}

impl SigmoidTable {
    /// Builds both tables.
    pub fn new() -> Self {
        let xs =
            (0..=TABLE_SIZE).map(|i| (2.0 * i as f64 / TABLE_SIZE as f64 - 1.0) * MAX_EXP as f64);
        // Slot TABLE_SIZE + 1 (x_TABLE_SIZE = MAX_EXP) is reached only from x >= MAX_EXP.
        let mut sig = Box::new([1.0; TABLE_SIZE + 3]);
        sig[0] = 0.0;
        for (slot, x) in sig[1..].iter_mut().zip(xs.clone().take(TABLE_SIZE)) {
            *slot = (1.0 / (1.0 + (-x).exp())) as f32;
        }
        // Slot i + 1 holds ln sigmoid(x_i); the sentinels repeat the edge values.
        let mut log_sig = Box::new([0.0; TABLE_SIZE + 3]);
        for (slot, x) in log_sig[1..].iter_mut().zip(xs) {
            *slot = -((-x).exp().ln_1p()) as f32;
        }
        (log_sig[0], log_sig[TABLE_SIZE + 2]) = (log_sig[1], log_sig[TABLE_SIZE + 1]);
        SigmoidTable { sig, log_sig }
    }

    /// The slot of `x` in both tables.
    #[inline(always)]
    fn slot(x: f32) -> usize {
        // Inside the table the slot is floor(v) shifted past the sentinel at 0; below
        // -MAX_EXP (and for NaN) the comparison zeroes it, at or past +MAX_EXP the clamp
        // caps it.
        let v = (x + MAX_EXP) * SCALE;
        let slot = (clamped_floor(v, TABLE_SIZE as u32 + 1) + 1) * (v >= 0.0) as usize;
        slot.min(TABLE_SIZE + 2)
    }

    /// sigmoid(x) from the table for |x| < MAX_EXP, its limit 0 or 1 beyond.
    #[inline(always)]
    pub fn sigmoid(&self, x: f32) -> f32 {
        self.sig[Self::slot(x)]
    }

    #[cfg(test)]
    /// ln sigmoid(x), clamped to the table's ends outside (-MAX_EXP, MAX_EXP).
    #[inline(always)]
    pub fn log_sigmoid(&self, x: f32) -> f32 {
        self.log_sig[Self::slot(x)]
    }

    /// [`Self::sigmoid`] and [`Self::log_sigmoid`] of `x`, from one slot.
    #[inline(always)]
    pub fn sigmoid_and_log(&self, x: f32) -> (f32, f32) {
        let slot = Self::slot(x);
        (self.sig[slot], self.log_sig[slot])
    }
}

impl Default for SigmoidTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_exact_sigmoid() {
        let t = SigmoidTable::new();
        for i in -590..590 {
            let x = i as f32 / 100.0;
            let exact = 1.0 / (1.0 + (-x).exp());
            assert!((t.sigmoid(x) - exact).abs() < 4e-3, "{x}");
            assert!((t.log_sigmoid(x) - exact.ln()).abs() < 2e-2, "{x}");
        }
        assert!(t.sigmoid(-5.99) > 0.0 && t.sigmoid(5.99) < 1.0);
    }

    #[test]
    fn log_sigmoid_takes_the_floor_slot_and_the_edge_values_beyond() {
        let t = SigmoidTable::new();
        let at = |i: usize| {
            let x = (2.0 * i as f64 / TABLE_SIZE as f64 - 1.0) * MAX_EXP as f64;
            -((-x).exp().ln_1p()) as f32
        };
        // Just above sample point i, and midway to the next: sample i's value.
        for i in [0, 1, 250, 500, 999] {
            let x = (2.0 * i as f32 / TABLE_SIZE as f32 - 1.0) * MAX_EXP;
            for x in [x + 1e-4, x + 0.5 / SCALE] {
                assert_eq!(t.log_sigmoid(x), at(i), "{x}");
                assert_eq!(t.sigmoid_and_log(x), (t.sigmoid(x), at(i)), "{x}");
            }
        }
        for x in [-6.0, -6.01, -100.0, f32::NEG_INFINITY, f32::NAN] {
            assert_eq!(t.log_sigmoid(x), at(0), "{x}");
        }
        for x in [6.0, 6.01, 100.0, f32::INFINITY] {
            assert_eq!(t.log_sigmoid(x), at(TABLE_SIZE), "{x}");
        }
    }

    #[test]
    fn beyond_the_table_sigmoid_is_its_limit() {
        let t = SigmoidTable::new();
        for x in [6.0, 6.01, 100.0, f32::INFINITY] {
            assert_eq!(t.sigmoid(x), 1.0, "{x}");
        }
        for x in [-6.01, -100.0, f32::NEG_INFINITY] {
            assert_eq!(t.sigmoid(x), 0.0, "{x}");
        }
    }
}
