//! Precomputed sigmoid and log-sigmoid tables over (-MAX_EXP, MAX_EXP), as word2vec.c.

/// Scores at or beyond this magnitude are saturated (word2vec.c's `MAX_EXP`).
pub const MAX_EXP: f32 = 6.0;
/// Table resolution (word2vec.c's `EXP_TABLE_SIZE`).
pub const TABLE_SIZE: usize = 1000;
const SCALE: f32 = TABLE_SIZE as f32 / (2.0 * MAX_EXP);

/// sigmoid(x) and ln sigmoid(x) sampled at `x_i = (2 i / TABLE_SIZE - 1) * MAX_EXP`.
pub struct SigmoidTable {
    sig: Box<[f32]>,
    log_sig: Box<[f32]>,
}

impl SigmoidTable {
    /// Builds both tables.
    pub fn new() -> Self {
        let xs =
            (0..=TABLE_SIZE).map(|i| (2.0 * i as f64 / TABLE_SIZE as f64 - 1.0) * MAX_EXP as f64);
        let sig = xs
            .clone()
            .map(|x| (1.0 / (1.0 + (-x).exp())) as f32)
            .collect();
        let log_sig = xs.map(|x| -((-x).exp().ln_1p()) as f32).collect();
        SigmoidTable { sig, log_sig }
    }

    #[inline(always)]
    fn index(x: f32) -> usize {
        (((x + MAX_EXP) * SCALE) as usize).min(TABLE_SIZE)
    }

    /// sigmoid(x) for |x| < MAX_EXP (clamped to the table's ends outside).
    #[inline(always)]
    pub fn sigmoid(&self, x: f32) -> f32 {
        self.sig[Self::index(x)]
    }

    /// ln sigmoid(x), clamped to the table's ends outside (-MAX_EXP, MAX_EXP).
    #[inline(always)]
    pub fn log_sigmoid(&self, x: f32) -> f32 {
        self.log_sig[Self::index(x)]
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
        assert_eq!(t.sigmoid(100.0), t.sigmoid(6.0));
        assert!(t.sigmoid(-100.0) < 0.003);
    }
}
