//! Initial values of the input and output (inner-node or NS output) matrices: one row
//! initialisation per matrix ([`RowInit`]), set by `--input-init` and `--output-init` or
//! by an `--init` preset.
//!
//! | row init   | each element                  |
//! |------------|-------------------------------|
//! | `zero`     | 0                             |
//! | `word2vec` | U[-0.5, 0.5) / dim            |
//! | `xavier`   | U[-a, a), a = sqrt(6/(dim+1)) |
//! | `he`       | N(0, 2/dim)                   |
//!
//! | preset     | input rows | output rows |
//! |------------|------------|-------------|
//! | `word2vec` | word2vec   | zero        |
//! | `xavier`   | xavier     | xavier      |
//! | `he`       | he         | he          |
//! | `zero-out` | zero       | word2vec    |
//!
//! Xavier (Glorot & Bengio 2010) and He (He et al. 2015) treat each row as one unit's
//! weights: an output row maps `dim` inputs to one score, and an input row is the one
//! active weight column of a one-hot input feeding `dim` units, so fan-in + fan-out is
//! dim + 1 for both, and He's fan-in is taken as dim. Zero inner nodes are word2vec.c's
//! choice and make the first gradients reaching the inputs vanish; the random schemes
//! start every node with a usable direction. `zero-out` mirrors word2vec.c to show which
//! side needs the randomness; the two knobs separate a preset's two changes (the input
//! scale and the output rows).
//!
//! Every row has its own random stream derived from (seed, matrix, row), so the result
//! does not depend on the thread count and one matrix's values do not depend on the
//! other's initialisation; padding beyond `dim` stays zero.

use rand::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::config::RowInit;
use crate::kernel::SharedMatrix;

/// Separates the output matrix's streams from the input matrix's.
const OUTPUT_STREAM: u64 = 0x6f75_7470_7574_5f31;

/// Fills `input` and `output` (both zero on entry) with the row initialisations
/// `(input_init, output_init)`.
pub fn init_matrices(
    (input_init, output_init): (RowInit, RowInit),
    input: &mut SharedMatrix,
    output: &mut SharedMatrix,
    seed: u64,
) {
    fill(input_init, input, seed);
    fill(output_init, output, seed ^ OUTPUT_STREAM);
}

/// Fills `m` (zero on entry) as `init` says, row streams derived from `seed`.
fn fill(init: RowInit, m: &mut SharedMatrix, seed: u64) {
    let dim = m.dim() as f32;
    match init {
        RowInit::Zero => {}
        RowInit::Word2vec => fill_rows(m, seed, move |r| (r.gen::<f32>() - 0.5) / dim),
        RowInit::Xavier => {
            let a = (6.0 / (dim + 1.0)).sqrt();
            fill_rows(m, seed, move |r| (r.gen::<f32>() * 2.0 - 1.0) * a)
        }
        RowInit::He => {
            let sd = (2.0 / dim).sqrt();
            fill_rows(m, seed, move |r| standard_normal(r) * sd)
        }
    }
}

/// Sets every logical element of `m` to `sample(rng)`, one seeded stream per row.
fn fill_rows(
    m: &mut SharedMatrix,
    seed: u64,
    sample: impl Fn(&mut Xoshiro256PlusPlus) -> f32 + Sync,
) {
    let (dim, stride) = (m.dim(), m.stride());
    m.as_mut_slice()
        .par_chunks_mut(stride)
        .enumerate()
        .for_each(|(row, r)| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            for x in &mut r[..dim] {
                *x = sample(&mut rng);
            }
        });
}

/// A standard normal draw by the Box–Muller transform.
fn standard_normal(r: &mut Xoshiro256PlusPlus) -> f32 {
    let u1 = 1.0 - r.gen::<f64>(); // in (0, 1], so ln is finite
    let u2 = r.gen::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

#[cfg(test)]
mod tests {
    use rand::Rng as _;

    use super::*;
    use crate::config::Init;

    const DIM: usize = 50;

    fn init_rows(rows: (RowInit, RowInit)) -> (SharedMatrix, SharedMatrix) {
        let mut input = SharedMatrix::zeros(400, DIM);
        let mut output = SharedMatrix::zeros(399, DIM);
        init_matrices(rows, &mut input, &mut output, 3);
        (input, output)
    }

    fn init(scheme: Init) -> (SharedMatrix, SharedMatrix) {
        init_rows(scheme.rows())
    }

    /// The presets as they were written before the two knobs: each scheme's formulas and
    /// streams spelled out, to check the presets still give the same bytes.
    fn preset_as_before(scheme: Init, input: &mut SharedMatrix, output: &mut SharedMatrix) {
        let seed = 3;
        let dim = input.dim() as f32;
        let word2vec = move |r: &mut Xoshiro256PlusPlus| (r.gen::<f32>() - 0.5) / dim;
        let a = (6.0 / (dim + 1.0)).sqrt();
        let xavier = move |r: &mut Xoshiro256PlusPlus| (r.gen::<f32>() * 2.0 - 1.0) * a;
        let sd = (2.0 / dim).sqrt();
        let he = move |r: &mut Xoshiro256PlusPlus| standard_normal(r) * sd;
        match scheme {
            Init::Word2vec => fill_rows(input, seed, word2vec),
            Init::Xavier => {
                fill_rows(input, seed, xavier);
                fill_rows(output, seed ^ OUTPUT_STREAM, xavier);
            }
            Init::He => {
                fill_rows(input, seed, he);
                fill_rows(output, seed ^ OUTPUT_STREAM, he);
            }
            Init::ZeroOut => fill_rows(output, seed ^ OUTPUT_STREAM, word2vec),
        }
    }

    fn bits(m: &mut SharedMatrix) -> Vec<u32> {
        m.as_mut_slice().iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn presets_give_the_same_bytes_as_before() {
        for scheme in [Init::Word2vec, Init::Xavier, Init::He, Init::ZeroOut] {
            let (mut i, mut o) = init(scheme);
            let mut i0 = SharedMatrix::zeros(400, DIM);
            let mut o0 = SharedMatrix::zeros(399, DIM);
            preset_as_before(scheme, &mut i0, &mut o0);
            assert!(bits(&mut i) == bits(&mut i0), "{scheme:?} input");
            assert!(bits(&mut o) == bits(&mut o0), "{scheme:?} output");
        }
    }

    #[test]
    fn the_knobs_split_a_preset_into_its_two_changes() {
        let (mut xi, mut xo) = init(Init::Xavier);
        // Xavier's input scale alone, word2vec.c's zero output rows.
        let (mut i, mut o) = init_rows((RowInit::Xavier, RowInit::Zero));
        assert!(bits(&mut i) == bits(&mut xi));
        assert_eq!(stats(&mut o), (0.0, 0.0, 0.0, 0.0));
        // Xavier's output rows alone, word2vec.c's input scale.
        let (mut i, mut o) = init_rows((RowInit::Word2vec, RowInit::Xavier));
        let (mut wi, _) = init(Init::Word2vec);
        assert!(bits(&mut i) == bits(&mut wi));
        assert!(bits(&mut o) == bits(&mut xo));
        // Both halves zero: nothing drawn.
        let (mut i, _) = init_rows((RowInit::Zero, RowInit::He));
        assert_eq!(stats(&mut i), (0.0, 0.0, 0.0, 0.0));
    }

    /// (min, max, mean, variance) of the logical elements; asserts padding is zero.
    fn stats(m: &mut SharedMatrix) -> (f32, f32, f64, f64) {
        let (dim, stride) = (m.dim(), m.stride());
        let all = m.as_mut_slice();
        assert!(all
            .chunks(stride)
            .all(|r| r[dim..].iter().all(|&x| x == 0.0)));
        let xs: Vec<f32> = all.chunks(stride).flat_map(|r| r[..dim].to_vec()).collect();
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let min = xs.iter().copied().fold(f32::INFINITY, f32::min);
        let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (min, max, mean, var)
    }

    #[test]
    fn word2vec_is_small_uniform_inputs_and_zero_outputs() {
        let (mut i, mut o) = init(Init::Word2vec);
        let (lo, hi, mean, var) = stats(&mut i);
        let half = 0.5 / DIM as f32;
        assert!(lo >= -half && hi < half && lo < -0.9 * half && hi > 0.9 * half);
        // U[-b, b) has variance b²/3.
        let want = (half as f64).powi(2) / 3.0;
        assert!(
            mean.abs() < 2e-4 && (var / want - 1.0).abs() < 0.05,
            "{var} vs {want}"
        );
        assert_eq!(stats(&mut o), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn xavier_fills_both_within_glorot_bounds() {
        let (mut i, mut o) = init(Init::Xavier);
        let a = (6.0f32 / (DIM as f32 + 1.0)).sqrt();
        for m in [&mut i, &mut o] {
            let (lo, hi, mean, var) = stats(m);
            assert!(lo >= -a && hi <= a && lo < -0.9 * a && hi > 0.9 * a);
            let want = (a as f64).powi(2) / 3.0; // = 2 / (dim + 1)
            assert!(mean.abs() < 0.01 && (var / want - 1.0).abs() < 0.05);
        }
    }

    #[test]
    fn he_has_variance_two_over_dim() {
        let (mut i, mut o) = init(Init::He);
        for m in [&mut i, &mut o] {
            let (_, _, mean, var) = stats(m);
            assert!(mean.abs() < 0.01 && (var / (2.0 / DIM as f64) - 1.0).abs() < 0.05);
        }
    }

    #[test]
    fn zero_out_mirrors_word2vec() {
        let (mut i, mut o) = init(Init::ZeroOut);
        assert_eq!(stats(&mut i), (0.0, 0.0, 0.0, 0.0));
        let (lo, hi, _, _) = stats(&mut o);
        assert!(lo >= -0.5 / DIM as f32 && hi < 0.5 / DIM as f32 && hi > 0.0);
    }

    #[test]
    fn the_two_matrices_draw_different_streams_and_seeds_repeat() {
        let (mut i, mut o) = init(Init::Xavier);
        assert_ne!(i.row(0), o.row(0));
        let (mut i2, _) = init(Init::Xavier);
        assert_eq!(i.row(5), i2.row(5));
    }
}
