//! Paired statistics for comparing a study arm with its reference: bootstrap intervals over
//! seeds and items, a sign-flip permutation test, Holm's correction over a family of tests,
//! and the minimum detectable effect.
//!
//! An arm's scores form a [`SeedItems`] matrix `score[seed][item]`: for each training seed,
//! one value per evaluation item (a probe's correctness, a pair's contribution), or a
//! single value per seed when the score does not split into items (a band's Spearman rho).
//! Arm and reference are trained with the same seeds and scored on the same items, so row
//! `s`, column `i` of one is paired with row `s`, column `i` of the other.
//!
//! * **Intervals** are percentile bootstrap intervals. One resample draws the seeds with
//!   replacement, then the items with replacement (crossed: the same items for every drawn
//!   seed), and takes the mean of the drawn cells; so both the seed-to-seed spread and the
//!   choice of items widen the interval. A paired difference applies the same drawn
//!   indices to both arms.
//! * **Tests** flip signs: under the null hypothesis "the arm changes nothing" each unit's
//!   difference is as likely to be negative as positive, so the p-value is the share of
//!   sign patterns whose mean difference is at least as far from 0 as the observed one
//!   (two-sided). A unit is an item (its difference averaged over the seeds) when there
//!   are several items, else a seed. With at most [`EXACT_PERMUTATION_MAX_N`] units all
//!   2^n patterns are enumerated; beyond that random patterns are drawn and
//!   p = (count + 1) / (B + 1), which never reports 0.
//! * **Holm** (1979) adjusts a family of p-values so that the chance of any false "better"
//!   or "worse" in the family stays below alpha.
//! * **Minimum detectable effect** at power 1 - beta, two-sided level alpha:
//!   (z_{1-alpha/2} + z_{1-beta}) * sd / sqrt(n), sd the standard deviation of the units'
//!   differences and n their number. It uses normal quantiles, so with few units (a
//!   handful of seeds) it is optimistic: a t quantile with n - 1 degrees of freedom would
//!   be larger.
//!
//! Every random draw comes from [`Rng`] streams of a fixed seed, so the same scores always
//! give the same numbers.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::sampler::Rng;

/// Most units for which the permutation test enumerates every sign pattern.
pub const EXACT_PERMUTATION_MAX_N: usize = 20;

/// The settings of every interval, test and verdict of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct InferenceSettings {
    /// Coverage of the bootstrap intervals (0.95 for 95%).
    pub level: f64,
    /// Family-wise error rate: a verdict needs a Holm-adjusted p below it.
    pub alpha: f64,
    /// Power at which the minimum detectable effect is stated.
    pub power: f64,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// Random sign patterns of the permutation test beyond the exact range.
    pub permutations: usize,
    /// Seed of the resampling and permutation streams.
    pub seed: u64,
}

impl Default for InferenceSettings {
    fn default() -> Self {
        InferenceSettings {
            level: 0.95,
            alpha: 0.05,
            power: 0.8,
            resamples: 2000,
            permutations: 10_000,
            seed: 0x5eed_ab1e,
        }
    }
}

/// One arm's scores: a value per seed (row) and item (column), stored row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedItems {
    n_items: usize,
    values: Vec<f64>,
}

impl SeedItems {
    /// The matrix with rows `rows[seed]`, all of one length; refused when empty, ragged or
    /// not finite (the caller leaves out what cannot be scored).
    pub fn new(rows: &[Vec<f64>]) -> Result<Self> {
        let n_items = rows.first().map_or(0, Vec::len);
        if n_items == 0 {
            return Err(Error::Internal(
                "statistics need at least one seed and one item".into(),
            ));
        }
        if let Some((s, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != n_items) {
            return Err(Error::Internal(format!(
                "seed {s} has {} scores where seed 0 has {n_items}",
                r.len()
            )));
        }
        let values: Vec<f64> = rows.concat();
        if values.iter().any(|x| !x.is_finite()) {
            return Err(Error::Internal(
                "statistics were given a score that is not finite".into(),
            ));
        }
        Ok(SeedItems { n_items, values })
    }

    /// One value per seed (a score that does not split into items).
    pub fn per_seed(values: &[f64]) -> Result<Self> {
        let rows: Vec<Vec<f64>> = values.iter().map(|&v| vec![v]).collect();
        Self::new(&rows)
    }

    /// Number of seeds (rows).
    pub fn n_seeds(&self) -> usize {
        self.values.len() / self.n_items
    }

    /// Number of items (columns).
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// The scores of seed `s`.
    pub fn row(&self, s: usize) -> &[f64] {
        &self.values[s * self.n_items..(s + 1) * self.n_items]
    }

    /// Mean over every seed and item.
    pub fn mean(&self) -> f64 {
        mean(&self.values)
    }

    /// Mean over the resample that draws `seeds` (indices, with repeats) and item `i`
    /// `item_weights[i]` times (the weights sum to the number of items).
    fn resample_mean(&self, seeds: &[usize], item_weights: &[u32]) -> f64 {
        let total: f64 = seeds
            .iter()
            .map(|&s| {
                self.row(s)
                    .iter()
                    .zip(item_weights)
                    .map(|(x, &w)| x * w as f64)
                    .sum::<f64>()
            })
            .sum();
        total / (seeds.len() * self.n_items) as f64
    }

    /// The paired units of `self - reference`: per item, the difference averaged over the
    /// seeds when there are several items; else per seed.
    fn unit_differences(&self, reference: &SeedItems) -> Vec<f64> {
        let (n_seeds, n_items) = (self.n_seeds(), self.n_items);
        if n_items == 1 {
            return (0..n_seeds)
                .map(|s| self.values[s] - reference.values[s])
                .collect();
        }
        (0..n_items)
            .map(|i| {
                let sum: f64 = (0..n_seeds)
                    .map(|s| self.row(s)[i] - reference.row(s)[i])
                    .sum();
                sum / n_seeds as f64
            })
            .collect()
    }
}

/// Arithmetic mean (NaN for no values).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation, n - 1 in the denominator (NaN for fewer than two values).
pub fn sample_sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m).powi(2)).sum();
    (ss / (xs.len() - 1) as f64).sqrt()
}

/// Bootstrap statistics of one resampling plan: `stat(seeds, item_weights)` per resample,
/// seeds drawn from one stream and items from another, so a matrix whose items all score
/// alike resamples exactly as its seeds alone.
fn bootstrap_replicates(
    n_seeds: usize,
    n_items: usize,
    s: &InferenceSettings,
    mut stat: impl FnMut(&[usize], &[u32]) -> f64,
) -> Vec<f64> {
    let mut seed_rng = Rng::new(s.seed, 0);
    let mut item_rng = Rng::new(s.seed, 1);
    let mut seeds = vec![0usize; n_seeds];
    let mut weights = vec![0u32; n_items];
    (0..s.resamples)
        .map(|_| {
            for x in &mut seeds {
                *x = seed_rng.below(n_seeds as u32) as usize;
            }
            weights.fill(0);
            for _ in 0..n_items {
                weights[item_rng.below(n_items as u32) as usize] += 1;
            }
            stat(&seeds, &weights)
        })
        .collect()
}

/// The central `level` interval of `replicates` (sorted here): the (1 - level)/2 and
/// (1 + level)/2 quantiles, interpolated linearly between order statistics.
fn percentile_interval(mut replicates: Vec<f64>, level: f64) -> [f64; 2] {
    replicates.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    [
        quantile(&replicates, tail),
        quantile(&replicates, 1.0 - tail),
    ]
}

/// The `q` quantile of sorted `xs`: position q * (n - 1), interpolated (R's type 7).
fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let h = q.clamp(0.0, 1.0) * (xs.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(xs.len() - 1);
    xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
}

/// Percentile bootstrap interval (coverage `s.level`) for the mean of `values`, resampled
/// with replacement; `None` for no values.
pub fn bootstrap_ci(values: &[f64], s: &InferenceSettings) -> Option<[f64; 2]> {
    let m = SeedItems::per_seed(values).ok()?;
    Some(bootstrap_ci_two_level(&m, s))
}

/// Percentile bootstrap interval (coverage `s.level`) for the mean of `scores`, resampling
/// seeds, then items.
pub fn bootstrap_ci_two_level(scores: &SeedItems, s: &InferenceSettings) -> [f64; 2] {
    let reps = bootstrap_replicates(scores.n_seeds(), scores.n_items(), s, |seeds, w| {
        scores.resample_mean(seeds, w)
    });
    percentile_interval(reps, s.level)
}

/// Percentile bootstrap interval for `mean(arm) - mean(reference)`, each resample drawing
/// the same seeds and items for both (pairing preserved); an error when the shapes differ.
pub fn paired_bootstrap_ci(
    reference: &SeedItems,
    arm: &SeedItems,
    s: &InferenceSettings,
) -> Result<[f64; 2]> {
    same_shape(reference, arm)?;
    let reps = bootstrap_replicates(arm.n_seeds(), arm.n_items(), s, |seeds, w| {
        arm.resample_mean(seeds, w) - reference.resample_mean(seeds, w)
    });
    Ok(percentile_interval(reps, s.level))
}

fn same_shape(a: &SeedItems, b: &SeedItems) -> Result<()> {
    if (a.n_seeds(), a.n_items()) == (b.n_seeds(), b.n_items()) {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "paired scores differ in shape: {} seeds x {} items against {} x {}",
            a.n_seeds(),
            a.n_items(),
            b.n_seeds(),
            b.n_items()
        )))
    }
}

/// Two-sided p-value of the mean of paired `differences` by sign flipping: exact over all
/// 2^n patterns for n <= [`EXACT_PERMUTATION_MAX_N`], else (count + 1) / (B + 1) over
/// `permutations` random patterns drawn from `seed`. 1 for no differences.
pub fn paired_permutation_test(differences: &[f64], permutations: usize, seed: u64) -> f64 {
    if differences.len() <= EXACT_PERMUTATION_MAX_N {
        exact_sign_flip_p(differences)
    } else {
        monte_carlo_sign_flip_p(differences, permutations, seed)
    }
}

/// Slack for sums that are equal but were added in another order.
fn tie_slack(differences: &[f64]) -> f64 {
    1e-12 * differences.iter().map(|d| d.abs()).sum::<f64>()
}

/// Share of all 2^n sign patterns whose |sum| reaches the observed |sum|.
fn exact_sign_flip_p(d: &[f64]) -> f64 {
    let n = d.len();
    let observed = d.iter().sum::<f64>().abs() - tie_slack(d);
    let patterns = 1u64 << n;
    let extreme = (0..patterns)
        .filter(|&mask| {
            let sum: f64 = d
                .iter()
                .enumerate()
                .map(|(j, &x)| if mask >> j & 1 == 1 { -x } else { x })
                .sum();
            sum.abs() >= observed
        })
        .count();
    extreme as f64 / patterns as f64
}

/// (count + 1) / (B + 1) over `b` random sign patterns whose |sum| reaches the observed.
fn monte_carlo_sign_flip_p(d: &[f64], b: usize, seed: u64) -> f64 {
    let observed = d.iter().sum::<f64>().abs() - tie_slack(d);
    let mut rng = Rng::new(seed, 2);
    let mut count = 0usize;
    for _ in 0..b {
        let mut sum = 0.0;
        for chunk in d.chunks(64) {
            let bits = rng.next_u64();
            for (j, &x) in chunk.iter().enumerate() {
                sum += if bits >> j & 1 == 1 { -x } else { x };
            }
        }
        if sum.abs() >= observed {
            count += 1;
        }
    }
    (count + 1) as f64 / (b + 1) as f64
}

/// Holm–Bonferroni adjusted p-values, in the order given: the k-th smallest (from 0) is
/// multiplied by (m - k), made non-decreasing along the sorted order, and capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (k, &i) in order.iter().enumerate() {
        running = running.max((m - k) as f64 * p[i]).min(1.0);
        adjusted[i] = running;
    }
    adjusted
}

/// The standard normal quantile Φ⁻¹(p) by Acklam's rational approximation (relative error
/// below 1.2e-9); -inf at 0, +inf at 1, NaN outside [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.38357751867269e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    const P_LOW: f64 = 0.02425;
    let tail = |q: f64| {
        let num = ((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5];
        let den = (((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0;
        num / den
    };
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        f64::NAN
    } else if p == 0.0 {
        f64::NEG_INFINITY
    } else if p == 1.0 {
        f64::INFINITY
    } else if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        let num = (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q;
        let den = ((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0;
        num / den
    }
}

/// Minimum detectable effect of a paired design: (z_{1-alpha/2} + z_{power}) * sd /
/// sqrt(n), from the standard deviation `sd` of the `n` paired differences (infinite for
/// n = 0).
pub fn mde(sd: f64, n: usize, alpha: f64, power: f64) -> f64 {
    (normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power)) * sd / (n as f64).sqrt()
}

/// Which way a score improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Larger is better (accuracy, rho).
    Higher,
    /// Smaller is better (held-out loss).
    Lower,
}

/// What a comparison concludes after the family's correction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// The arm is better and the corrected test says so.
    Better,
    /// The arm is worse and the corrected test says so.
    Worse,
    /// The corrected test does not decide; effects below `mde` could not have been seen.
    NoDetectableDifference {
        /// The minimum detectable effect of this comparison.
        mde: f64,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Better => f.write_str("better"),
            Verdict::Worse => f.write_str("worse"),
            Verdict::NoDetectableDifference { mde } => {
                write!(f, "no detectable difference (MDE {})", three_digits(*mde))
            }
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `x` with three significant digits.
fn three_digits(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// One arm against the reference on one score: the means, the paired difference with its
/// interval and test, and the verdict. Non-finite numbers (an MDE from a single unit)
/// serialise as `null`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// Mean score of the reference.
    pub reference_mean: f64,
    /// Mean score of the arm.
    pub arm_mean: f64,
    /// `arm_mean - reference_mean`.
    pub delta: f64,
    /// Paired two-level bootstrap interval of `delta`.
    pub delta_ci: [f64; 2],
    /// Two-sided sign-flip p-value of `delta`.
    pub p: f64,
    /// `p` after Holm's correction over the family ([`adjust_family`]); `p` until then.
    pub p_holm: f64,
    /// Minimum detectable effect at the settings' power and alpha.
    pub mde: f64,
    /// Which way the score improves.
    pub better: Better,
    /// "better" / "worse" when `p_holm < alpha`, else "no detectable difference (MDE x)".
    pub verdict: Verdict,
}

impl Comparison {
    /// Sets `p_holm` and the verdict it implies at family-wise level `alpha`.
    fn decide(&mut self, p_holm: f64, alpha: f64) {
        self.p_holm = p_holm;
        let improves = match self.better {
            Better::Higher => self.delta > 0.0,
            Better::Lower => self.delta < 0.0,
        };
        self.verdict = match (p_holm < alpha, improves) {
            (true, true) => Verdict::Better,
            (true, false) => Verdict::Worse,
            (false, _) => Verdict::NoDetectableDifference { mde: self.mde },
        };
    }
}

/// Compares `arm` with `reference` (the same seeds and items); the verdict treats the
/// comparison as a family of one until [`adjust_family`] runs.
pub fn compare(
    reference: &SeedItems,
    arm: &SeedItems,
    better: Better,
    s: &InferenceSettings,
) -> Result<Comparison> {
    let delta_ci = paired_bootstrap_ci(reference, arm, s)?;
    let units = arm.unit_differences(reference);
    let p = paired_permutation_test(&units, s.permutations, s.seed);
    let min_effect = if units.len() < 2 {
        f64::INFINITY
    } else {
        mde(sample_sd(&units), units.len(), s.alpha, s.power)
    };
    let (reference_mean, arm_mean) = (reference.mean(), arm.mean());
    let mut c = Comparison {
        reference_mean,
        arm_mean,
        delta: arm_mean - reference_mean,
        delta_ci,
        p,
        p_holm: p,
        mde: min_effect,
        better,
        verdict: Verdict::NoDetectableDifference { mde: min_effect },
    };
    c.decide(p, s.alpha);
    Ok(c)
}

/// A score that is not a mean of cells (a rank correlation): `stat(seeds, item_weights)`
/// of one arm on a resample, seeds drawn with repeats, each item counted `item_weights[i]`
/// times.
pub type Statistic<'a> = &'a (dyn Fn(&[usize], &[u32]) -> f64 + Sync);

/// Compares two arms on a statistic that does not split into items: interval and p-value
/// both come from the paired two-level bootstrap (p = twice the smaller tail share of
/// the resampled differences beyond 0, (count + 1) / (B + 1) each), the MDE from the
/// resampled differences' standard deviation. B is at least the permutation count, so
/// the smallest p is as fine as the permutation test's and Holm over a study can pass it.
pub fn compare_statistic(
    n_seeds: usize,
    n_items: usize,
    reference: Statistic<'_>,
    arm: Statistic<'_>,
    better: Better,
    s: &InferenceSettings,
) -> Comparison {
    let all_seeds: Vec<usize> = (0..n_seeds).collect();
    let ones = vec![1u32; n_items];
    let (reference_mean, arm_mean) = (reference(&all_seeds, &ones), arm(&all_seeds, &ones));
    let fine = InferenceSettings {
        resamples: s.resamples.max(s.permutations),
        ..*s
    };
    let reps = bootstrap_replicates(n_seeds, n_items, &fine, |seeds, w| {
        arm(seeds, w) - reference(seeds, w)
    });
    let finite: Vec<f64> = reps.iter().copied().filter(|x| x.is_finite()).collect();
    let b = finite.len() as f64;
    let below = finite.iter().filter(|&&d| d <= 0.0).count() as f64;
    let above = finite.iter().filter(|&&d| d >= 0.0).count() as f64;
    let p = (2.0 * ((below + 1.0) / (b + 1.0)).min((above + 1.0) / (b + 1.0))).min(1.0);
    let z = normal_quantile(1.0 - s.alpha / 2.0) + normal_quantile(s.power);
    let min_effect = z * sample_sd(&finite);
    let mut c = Comparison {
        reference_mean,
        arm_mean,
        delta: arm_mean - reference_mean,
        delta_ci: percentile_interval(finite, s.level),
        p,
        p_holm: p,
        mde: min_effect,
        better,
        verdict: Verdict::NoDetectableDifference { mde: min_effect },
    };
    c.decide(p, s.alpha);
    c
}

/// Percentile bootstrap interval of a statistic over seeds and items.
pub fn bootstrap_ci_statistic(
    n_seeds: usize,
    n_items: usize,
    stat: Statistic<'_>,
    s: &InferenceSettings,
) -> [f64; 2] {
    let reps = bootstrap_replicates(n_seeds, n_items, s, |seeds, w| stat(seeds, w));
    percentile_interval(
        reps.into_iter().filter(|x| x.is_finite()).collect(),
        s.level,
    )
}

/// Mid-ranks (from 1) of `x` where item `i` counts `w[i]` times: the rank a copy would
/// get in the expanded sample, ties averaged. `order` sorts `x` ascending.
fn weighted_mid_ranks(x: &[f64], w: &[u32], order: &[usize]) -> Vec<f64> {
    let mut ranks = vec![0.0; x.len()];
    let mut below = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        let mut tied = 0.0;
        while j < order.len() && x[order[j]] == x[order[i]] {
            tied += w[order[j]] as f64;
            j += 1;
        }
        for &k in &order[i..j] {
            ranks[k] = below + (tied + 1.0) / 2.0;
        }
        below += tied;
        i = j;
    }
    ranks
}

/// The ascending order of `x`.
pub fn ascending(x: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    order
}

/// Spearman's rho of `x` and `y` where item `i` counts `w[i]` times (the rho of the
/// expanded sample, ties given mid-ranks); `x_order`, `y_order` sort them ascending.
/// NaN with fewer than two distinct values on a side.
pub fn weighted_spearman(
    x: &[f64],
    y: &[f64],
    w: &[u32],
    x_order: &[usize],
    y_order: &[usize],
) -> f64 {
    let rx = weighted_mid_ranks(x, w, x_order);
    let ry = weighted_mid_ranks(y, w, y_order);
    let n: f64 = w.iter().map(|&k| k as f64).sum();
    if n < 2.0 {
        return f64::NAN;
    }
    let mx = rx.iter().zip(w).map(|(r, &k)| r * k as f64).sum::<f64>() / n;
    let my = ry.iter().zip(w).map(|(r, &k)| r * k as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for ((a, b), &k) in rx.iter().zip(&ry).zip(w) {
        let k = k as f64;
        sxy += k * (a - mx) * (b - my);
        sxx += k * (a - mx) * (a - mx);
        syy += k * (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Holm-corrects the p-values of a whole family (every arm x band test of a study) and
/// sets each verdict at family-wise level `alpha`.
pub fn adjust_family(family: &mut [Comparison], alpha: f64) {
    let p: Vec<f64> = family.iter().map(|c| c.p).collect();
    for (c, p_holm) in family.iter_mut().zip(holm(&p)) {
        c.decide(p_holm, alpha);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standard normal draw from `rng` (Box–Muller).
    fn normal(rng: &mut Rng) -> f64 {
        let unit = |r: &mut Rng| (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let u1 = 1.0 - unit(rng);
        let u2 = unit(rng);
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn normals(n: usize, mean: f64, sd: f64, stream: u64) -> Vec<f64> {
        let mut rng = Rng::new(42, stream);
        (0..n).map(|_| mean + sd * normal(&mut rng)).collect()
    }

    /// Mean and variance with n in the denominator (what a bootstrap resamples from).
    fn population_variance(xs: &[f64]) -> f64 {
        let m = mean(xs);
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64
    }

    #[test]
    fn normal_quantile_matches_tables() {
        // Φ⁻¹ from standard normal tables (16 digits as printed by Python's
        // statistics.NormalDist().inv_cdf); all three branches of the approximation.
        for (p, z) in [
            (0.5, 0.0),
            (0.3, -0.5244005127080407),
            (0.8, 0.8416212335729144),
            (0.95, 1.6448536269514715),
            (0.975, 1.9599639845400536),
            (0.995, 2.5758293035489),
            (0.999, 3.090232306167813),
            (0.01, -2.3263478740408408),
            (0.001, -3.090232306167813),
            (1e-6, -4.753424308822899),
        ] {
            let got = normal_quantile(p);
            assert!((got - z).abs() < 1e-8, "Φ⁻¹({p}) = {got}, table {z}");
            assert!(
                (normal_quantile(1.0 - p) + got).abs() < 1e-8,
                "symmetry at {p}"
            );
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan() && normal_quantile(f64::NAN).is_nan());
    }

    #[test]
    fn mde_by_hand() {
        // (z_0.975 + z_0.8) * 2 / sqrt(16) = (1.959964 + 0.841621) / 2.
        let want = (1.9599639845400536 + 0.8416212335729144) * 2.0 / 4.0;
        assert!((mde(2.0, 16, 0.05, 0.8) - want).abs() < 1e-8);
        assert!((want - 1.400_792_6).abs() < 1e-6);
        // (z_0.995 + z_0.9) * 0.5 / sqrt(25).
        let want = (2.5758293035489 + 1.2815515655446004) * 0.5 / 5.0;
        assert!((mde(0.5, 25, 0.01, 0.9) - want).abs() < 1e-8);
        assert_eq!(mde(1.0, 0, 0.05, 0.8), f64::INFINITY);
    }

    #[test]
    fn holm_textbook_example() {
        // Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> 0.06
        // (kept monotone); returned in the input order.
        let got = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        // 0.02*3 = 0.06, 0.5*2 = 1.0, 0.6*1 = 0.6 -> 1.0 (monotone), capped at 1.
        assert_eq!(holm(&[0.5, 0.6, 0.02]), vec![1.0, 1.0, 0.06]);
        assert_eq!(holm(&[0.3]), vec![0.3]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn exact_permutation_tests_by_hand() {
        // [1, 2, 3]: the 8 sign patterns sum to ±6, ±4, ±2, 0, 0; only ±6 reach |6|.
        assert_eq!(paired_permutation_test(&[1.0, 2.0, 3.0], 0, 0), 0.25);
        // [1, 1, 2]: |4 - 2 * (sum flipped)| over the 8 subsets is 4,2,2,0,0,2,2,4.
        assert_eq!(paired_permutation_test(&[1.0, 1.0, 2.0], 0, 0), 0.25);
        // [0.5, 1, 1.5, 2]: only flipping nothing or everything reaches |5|: 2/16.
        assert_eq!(paired_permutation_test(&[0.5, 1.0, 1.5, 2.0], 0, 0), 0.125);
        // A zero mean is never extreme: every pattern reaches it.
        assert_eq!(paired_permutation_test(&[1.0, 1.0, -2.0], 0, 0), 1.0);
        assert_eq!(paired_permutation_test(&[], 0, 0), 1.0);
        // 0.1 + 0.2 + 0.3 and its mirror images tie despite rounding.
        assert_eq!(paired_permutation_test(&[0.1, 0.2, 0.3], 0, 0), 0.25);
        let d = [0.3, -1.2, 2.5, 0.7, 1.1];
        assert_eq!(
            paired_permutation_test(&d, 0, 0),
            paired_permutation_test(&d.map(|x| -x), 0, 0)
        );
    }

    #[test]
    fn monte_carlo_permutation_test_approximates_the_exact_one() {
        // 21 units: beyond the exact range, yet still enumerable here to compare.
        let d: Vec<f64> = (0..21).map(|j| (j as f64 * 0.37).sin() + 0.15).collect();
        let exact = exact_sign_flip_p(&d);
        let b = 20_000;
        let mc = paired_permutation_test(&d, b, 9);
        let sd = (exact * (1.0 - exact) / b as f64).sqrt();
        assert!(exact > 0.01 && exact < 0.9, "{exact}");
        assert!(
            (mc - exact).abs() < 4.0 * sd + 1.0 / b as f64,
            "{mc} vs {exact}"
        );
        // Nothing reaches 30 equal differences (exact p = 2^-29): (0 + 1) / (B + 1).
        assert_eq!(paired_permutation_test(&[1.0; 30], 999, 9), 1.0 / 1000.0);
    }

    #[test]
    fn bootstrap_of_a_normal_sample_gives_the_normal_interval() {
        // 2000 draws of N(3, 2²). The bootstrap distribution of the mean is close to
        // normal with sd s/sqrt(n), so the interval should be mean ± 1.96 s/sqrt(n). Its
        // Monte Carlo error with 4000 resamples: each 2.5% endpoint has sd about
        // sqrt(0.025 * 0.975 / 4000) / φ(1.96) = 0.042 standard errors, so the width
        // (3.92 standard errors) is off by about 1.5%; 6% is four of those.
        let xs = normals(2000, 3.0, 2.0, 0);
        let s = InferenceSettings {
            resamples: 4000,
            ..InferenceSettings::default()
        };
        let [lo, hi] = bootstrap_ci(&xs, &s).expect("values given");
        let se = sample_sd(&xs) / (xs.len() as f64).sqrt();
        assert!(lo < 3.0 && 3.0 < hi, "[{lo}, {hi}]");
        let width = hi - lo;
        assert!(
            (width / (2.0 * 1.96 * se) - 1.0).abs() < 0.06,
            "{width} vs {se}"
        );
        assert!(((lo + hi) / 2.0 - mean(&xs)).abs() < 0.25 * se);
        // Same seed, same interval; another seed, another one.
        assert_eq!(bootstrap_ci(&xs, &s), Some([lo, hi]));
        let other = InferenceSettings { seed: 7, ..s };
        assert_ne!(bootstrap_ci(&xs, &other), Some([lo, hi]));
        assert_eq!(bootstrap_ci(&[], &s), None);
    }

    #[test]
    fn two_level_bootstrap_counts_seed_and_item_spread() {
        // score[s][i] = u_s + v_i: resampling seeds and items independently gives the mean
        // a variance var(u)/S + var(v)/I (population variances of the drawn effects).
        let (n_seeds, n_items) = (40, 300);
        let u = normals(n_seeds, 0.0, 1.5, 1);
        let v = normals(n_items, 0.5, 3.0, 2);
        let rows: Vec<Vec<f64>> = u
            .iter()
            .map(|a| v.iter().map(|b| a + b).collect())
            .collect();
        let m = SeedItems::new(&rows).expect("rectangular");
        let s = InferenceSettings {
            resamples: 4000,
            ..InferenceSettings::default()
        };
        let [lo, hi] = bootstrap_ci_two_level(&m, &s);
        let var =
            population_variance(&u) / n_seeds as f64 + population_variance(&v) / n_items as f64;
        let want = 2.0 * 1.96 * var.sqrt();
        assert!(
            ((hi - lo) / want - 1.0).abs() < 0.08,
            "{} vs {want}",
            hi - lo
        );
        // Items alone would miss the seed spread.
        let items_only = 2.0 * 1.96 * (population_variance(&v) / n_items as f64).sqrt();
        assert!(hi - lo > 1.2 * items_only);
    }

    #[test]
    fn items_that_score_alike_resample_as_the_seeds_alone() {
        let a = [0.2, 0.5, 0.1, 0.9, 0.4, 0.45];
        let rows: Vec<Vec<f64>> = a.iter().map(|&x| vec![x; 7]).collect();
        let m = SeedItems::new(&rows).expect("rectangular");
        let s = InferenceSettings::default();
        let two = bootstrap_ci_two_level(&m, &s);
        let one = bootstrap_ci(&a, &s).expect("values given");
        assert!((two[0] - one[0]).abs() < 1e-12 && (two[1] - one[1]).abs() < 1e-12);
    }

    /// Reference scores with large seed and item effects, and an arm 0.1 above it with a
    /// little noise per cell.
    fn paired_arms(shift: f64, noise: f64) -> (SeedItems, SeedItems) {
        let (n_seeds, n_items) = (6, 50);
        let u = normals(n_seeds, 0.0, 1.0, 3);
        let v = normals(n_items, 0.0, 2.0, 4);
        let e = normals(n_seeds * n_items, 0.0, 1.0, 5);
        let reference: Vec<Vec<f64>> = u
            .iter()
            .map(|a| v.iter().map(|b| a + b).collect())
            .collect();
        let arm: Vec<Vec<f64>> = reference
            .iter()
            .enumerate()
            .map(|(s, r)| {
                r.iter()
                    .enumerate()
                    .map(|(i, x)| x + shift + noise * e[s * n_items + i])
                    .collect()
            })
            .collect();
        (
            SeedItems::new(&reference).expect("rectangular"),
            SeedItems::new(&arm).expect("rectangular"),
        )
    }

    #[test]
    fn paired_intervals_keep_the_pairs_together() {
        let (reference, arm) = paired_arms(0.1, 0.01);
        let s = InferenceSettings::default();
        let [lo, hi] = paired_bootstrap_ci(&reference, &arm, &s).expect("same shape");
        // The noise moves the mean difference by about 0.01 / sqrt(300) = 0.0006.
        let delta = arm.mean() - reference.mean();
        assert!(lo < delta && delta < hi && hi - lo < 0.01, "[{lo}, {hi}]");
        assert!(((lo + hi) / 2.0 - 0.1).abs() < 0.003, "[{lo}, {hi}]");
        // Each arm alone spreads with the shared seed and item effects.
        let [a, b] = bootstrap_ci_two_level(&arm, &s);
        assert!(b - a > 100.0 * (hi - lo));
        // With the mean as statistic, pairing is the bootstrap of the differences.
        let diff: Vec<Vec<f64>> = (0..arm.n_seeds())
            .map(|r| {
                arm.row(r)
                    .iter()
                    .zip(reference.row(r))
                    .map(|(x, y)| x - y)
                    .collect()
            })
            .collect();
        let [dl, dh] = bootstrap_ci_two_level(&SeedItems::new(&diff).expect("rectangular"), &s);
        assert!((dl - lo).abs() < 1e-9 && (dh - hi).abs() < 1e-9);
    }

    #[test]
    fn malformed_scores_are_refused() {
        let ok = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        assert!(SeedItems::new(&ok).is_ok());
        for bad in [
            vec![],
            vec![vec![]],
            vec![vec![1.0, 2.0], vec![3.0]],
            vec![vec![1.0, f64::NAN]],
        ] {
            assert!(
                matches!(SeedItems::new(&bad), Err(Error::Internal(_))),
                "{bad:?}"
            );
        }
        let a = SeedItems::new(&ok).expect("rectangular");
        let b = SeedItems::per_seed(&[1.0, 2.0]).expect("values");
        let s = InferenceSettings::default();
        assert!(paired_bootstrap_ci(&a, &b, &s).is_err());
        assert!(compare(&a, &b, Better::Higher, &s).is_err());
    }

    #[test]
    fn comparisons_decide_by_the_corrected_test() {
        let s = InferenceSettings::default();
        let (reference, arm) = paired_arms(0.1, 0.05);
        let c = compare(&reference, &arm, Better::Higher, &s).expect("same shape");
        assert!((c.delta - 0.1).abs() < 0.02 && c.delta_ci[0] < c.delta && c.delta < c.delta_ci[1]);
        // 50 item units: Monte Carlo; no random pattern reaches a shift of 0.1 against
        // noise 0.05 / sqrt(6) per unit.
        assert_eq!(c.p, 1.0 / (s.permutations + 1) as f64);
        assert_eq!((c.p_holm, c.verdict), (c.p, Verdict::Better));
        let lower = compare(&reference, &arm, Better::Lower, &s).expect("same shape");
        assert_eq!(lower.verdict, Verdict::Worse);

        // Five seeds, one score each, every difference positive: the exact test can say
        // no less than 2/32 = 0.0625, so no verdict, though delta is nine times the MDE.
        let r = SeedItems::per_seed(&[0.50, 0.52, 0.48, 0.51, 0.49]).expect("values");
        let a = SeedItems::per_seed(&[0.60, 0.63, 0.57, 0.62, 0.59]).expect("values");
        let c = compare(&r, &a, Better::Higher, &s).expect("same shape");
        assert_eq!(c.p, 0.0625);
        // Differences 0.10, 0.11, 0.09, 0.11, 0.10: mean 0.102, squared deviations
        // 4 + 64 + 144 + 64 + 4 = 280 (times 1e-6), sd sqrt(0.00028 / 4).
        let want =
            (1.9599639845400536 + 0.8416212335729144) * (0.00028f64 / 4.0).sqrt() / 5f64.sqrt();
        assert!((c.mde - want).abs() < 1e-9, "{} vs {want}", c.mde);
        assert!(c.delta > 5.0 * c.mde);
        assert!(matches!(c.verdict, Verdict::NoDetectableDifference { .. }));
    }

    #[test]
    fn no_difference_reports_its_mde() {
        // Differences (0.1, -0.1, 0.3, -0.3) per seed: mean 0, sd sqrt(0.2 / 3).
        let r = SeedItems::per_seed(&[1.0, 1.0, 1.0, 1.0]).expect("values");
        let a = SeedItems::per_seed(&[1.1, 0.9, 1.3, 0.7]).expect("values");
        let s = InferenceSettings::default();
        let c = compare(&r, &a, Better::Higher, &s).expect("same shape");
        assert_eq!(c.p, 1.0);
        let want = (1.9599639845400536 + 0.8416212335729144) * (0.2f64 / 3.0).sqrt() / 2.0;
        assert!((c.mde - want).abs() < 1e-8, "{} vs {want}", c.mde);
        assert_eq!(
            c.verdict.to_string(),
            format!("no detectable difference (MDE {want:.3})")
        );
    }

    fn with_p(p: f64) -> Comparison {
        Comparison {
            reference_mean: 0.5,
            arm_mean: 0.6,
            delta: 0.1,
            delta_ci: [0.05, 0.15],
            p,
            p_holm: p,
            mde: 0.04,
            better: Better::Higher,
            verdict: Verdict::Better,
        }
    }

    #[test]
    fn family_correction_can_withdraw_a_verdict() {
        let mut family = vec![with_p(0.01), with_p(0.5), with_p(0.6), with_p(0.7)];
        adjust_family(&mut family, 0.05);
        assert_eq!(
            (family[0].p_holm, family[0].verdict),
            (0.04, Verdict::Better)
        );
        let mut family = vec![with_p(0.02), with_p(0.5), with_p(0.6), with_p(0.7)];
        adjust_family(&mut family, 0.05);
        assert_eq!(family[0].p_holm, 0.08);
        assert_eq!(
            family[0].verdict.to_string(),
            "no detectable difference (MDE 0.0400)"
        );
        assert!(family.iter().all(|c| c.p_holm >= c.p));
    }

    #[test]
    fn comparisons_serialise_their_fields() {
        let mut c = with_p(0.001);
        c.mde = f64::INFINITY;
        let v = serde_json::to_value(&c).expect("serialises");
        assert_eq!(v["delta_ci"], serde_json::json!([0.05, 0.15]));
        assert_eq!(v["verdict"], "better");
        assert_eq!(v["better"], "higher");
        assert_eq!(v["p_holm"], 0.001);
        assert!(v["mde"].is_null());
        assert_eq!(v["delta"], 0.1);
    }

    #[test]
    fn weighted_spearman_is_the_rho_of_the_expanded_sample() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [1.0, 3.0, 2.0, 4.0];
        let w = [2u32, 0, 1, 1];
        // Expanded: x = 1, 1, 3, 4 and y = 1, 1, 2, 4: identical ranks, rho 1.
        let r = weighted_spearman(&x, &y, &w, &ascending(&x), &ascending(&y));
        assert!((r - 1.0).abs() < 1e-12, "{r}");
        // Unit weights give the ordinary rho: 1 - 6 * 2 / (4 * 15) = 0.8.
        let ones = [1u32; 4];
        let r = weighted_spearman(&x, &y, &ones, &ascending(&x), &ascending(&y));
        assert!((r - 0.8).abs() < 1e-12, "{r}");
        let plain = crate::eval::similarity::spearman(&x, &y);
        assert!((r - plain).abs() < 1e-12);
    }

    #[test]
    fn statistic_comparison_finds_a_clear_shift_and_not_a_null() {
        let s = InferenceSettings {
            resamples: 500,
            ..InferenceSettings::default()
        };
        // Items 0..40, the arm's score per item 1 above the reference's, with seed noise.
        let base: Vec<f64> = (0..40).map(|i| (i % 7) as f64).collect();
        let stat = |shift: f64| {
            let base = base.clone();
            move |seeds: &[usize], w: &[u32]| -> f64 {
                let n: f64 = w.iter().map(|&k| k as f64).sum();
                seeds
                    .iter()
                    .map(|&sd| {
                        base.iter()
                            .zip(w)
                            .map(|(b, &k)| k as f64 * (b + shift + 0.01 * sd as f64))
                            .sum::<f64>()
                            / n
                    })
                    .sum::<f64>()
                    / seeds.len() as f64
            }
        };
        let (r, a, same) = (stat(0.0), stat(1.0), stat(0.0));
        let c = compare_statistic(4, 40, &r, &a, Better::Higher, &s);
        assert!((c.delta - 1.0).abs() < 1e-9);
        assert!(c.p < 0.01 && c.verdict == Verdict::Better, "{c:?}");
        // No resample crosses 0, so p is the floor 2 / (B + 1), with B the permutation
        // count: fine enough that Holm over a 250-test study still calls it.
        assert_eq!(c.p, 2.0 / (s.permutations as f64 + 1.0));
        assert!(c.p * 250.0 < s.alpha, "{}", c.p);
        assert!(
            c.delta_ci[0] > 0.9 && c.delta_ci[1] < 1.1,
            "{:?}",
            c.delta_ci
        );
        let c = compare_statistic(4, 40, &r, &same, Better::Higher, &s);
        assert_eq!(c.p, 1.0);
        assert!(matches!(c.verdict, Verdict::NoDetectableDifference { .. }));
    }
}
