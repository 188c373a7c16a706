//! Float-to-table-slot conversion without the saturating cast's fix-up code.
//!
//! `v as usize` must map NaN, negatives and huge values to defined results, which costs a
//! dozen instructions per call; the sigmoid lookups of the hot loop clamp first and can
//! then use the bare truncating conversion.

/// floor(v) clamped to `0..=hi` (NaN gives 0), for `hi` below 2^24.
#[inline(always)]
pub fn clamped_floor(v: f32, hi: u32) -> usize {
    debug_assert!(hi < 1 << 24);
    // Comparisons rather than f32::max and min, whose NaN rule costs instructions here: NaN
    // fails the first one and becomes 0, so `c` is finite and in [0, hi].
    let c = if v > 0.0 { v } else { 0.0 };
    let c = if c < hi as f32 { c } else { hi as f32 };
    // SAFETY: `c` is finite and within [0, hi] ⊂ [0, 2^24), which u32 represents exactly, so
    // the truncating conversion is defined.
    unsafe { c.to_int_unchecked::<u32>() as usize }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamped_floor_matches_the_saturating_cast() {
        for v in [
            -1e30,
            -2.5,
            -0.5,
            -0.0,
            0.0,
            0.3,
            1.0,
            1.999,
            999.99,
            1000.0,
            1001.5,
            1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ] {
            assert_eq!(clamped_floor(v, 1000), (v as usize).min(1000), "{v}");
        }
    }
}
