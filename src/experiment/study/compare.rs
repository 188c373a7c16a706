//! Every arm against the reference, band by band: probe levels (test split), similarity
//! bands and held-out loss bands, with paired intervals, tests and one Holm correction
//! over the whole study (see [`crate::experiment::inference`]).
//!
//! Pairs are seeds both arms finished. Probe scores are a mean over probes, so a probe is
//! an item and the test flips the signs of per-probe differences; a similarity band's
//! score is a rank correlation pooled over the sets, so its pairs are resampled together
//! with the seeds and the p-value comes from that bootstrap; a held-out band has one value
//! per seed, so seeds are the units.

use rayon::prelude::*;
use serde::Serialize;

use super::run::{PairScores, RunRecord};
use crate::eval::probes::ProbeSet;
use crate::experiment::inference::{
    adjust_family, ascending, bootstrap_ci, bootstrap_ci_statistic, bootstrap_ci_two_level,
    compare, compare_statistic, weighted_spearman, Better, Comparison, InferenceSettings,
    SeedItems,
};

/// What a band's score measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Mean reciprocal rank of the parent, probes of one level (test split).
    ProbeMrr,
    /// Spearman's rho, pairs whose rarer word is in the band, pooled over the sets.
    Similarity,
    /// Held-out loss per prediction (nats), predictions of the band's words.
    HeldoutNll,
}

/// One arm on one band: its mean with an interval, and its comparison with the reference.
#[derive(Clone, Debug, Serialize)]
pub struct ArmBand {
    /// The arm.
    pub arm: String,
    /// What is measured.
    pub measure: Measure,
    /// The band: a probe level (`level 2`) or a count band (`5-9`).
    pub band: String,
    /// Seeds behind the figures (both arms finished).
    pub seeds: usize,
    /// Items (probes, pairs) behind the figures; 1 for a per-seed score.
    pub items: usize,
    /// Mean over seeds and items.
    pub mean: f64,
    /// 95% bootstrap interval of the mean, over seeds and items.
    pub ci: [f64; 2],
    /// Against the reference (`None` for the reference itself); `p_holm` and the verdict
    /// are corrected over every comparison of the study.
    pub comparison: Option<Comparison>,
}

/// One band's scores of one arm, the seeds in the study's order (`None`: diverged).
struct Scored<'a> {
    runs: Vec<Option<&'a RunRecord>>,
}

/// The seeds (indices) of task `t`: those its arm finished, and for an arm compared with
/// the reference, those the reference finished too.
fn paired_seeds(t: &Task<'_>) -> Vec<usize> {
    let (a, r) = (&t.arms[t.arm], &t.arms[0]);
    (0..a.runs.len().min(r.runs.len()))
        .filter(|&s| a.runs[s].is_some() && r.runs[s].is_some())
        .collect()
}

/// A task: one band of one arm, and the reference arm to compare with.
struct Task<'a> {
    arm: usize,
    measure: Measure,
    band: usize,
    label: String,
    arms: &'a [Scored<'a>],
}

/// Mean, interval and comparison of every arm on every band, Holm-corrected together.
pub fn compare_arms(
    arms: &[(String, Vec<Option<&RunRecord>>)],
    probes: Option<&ProbeSet>,
    n_bands: usize,
    band_labels: &[String],
    s: &InferenceSettings,
) -> Vec<ArmBand> {
    let scored: Vec<Scored<'_>> = arms
        .iter()
        .map(|(_, r)| Scored { runs: r.clone() })
        .collect();
    let mut tasks = Vec::new();
    for arm in 0..arms.len() {
        if let Some(set) = probes {
            let mut levels: Vec<u64> = set
                .entries
                .iter()
                .filter(|e| e.split == "test")
                .map(|e| e.level)
                .collect();
            levels.sort_unstable();
            levels.dedup();
            for l in levels {
                tasks.push(Task {
                    arm,
                    measure: Measure::ProbeMrr,
                    band: l as usize,
                    label: format!("level {l}"),
                    arms: &scored,
                });
            }
        }
        for measure in [Measure::Similarity, Measure::HeldoutNll] {
            for b in 0..n_bands {
                tasks.push(Task {
                    arm,
                    measure,
                    band: b,
                    label: band_labels.get(b).cloned().unwrap_or_default(),
                    arms: &scored,
                });
            }
        }
    }
    let mut out: Vec<ArmBand> = tasks
        .par_iter()
        .filter_map(|t| {
            let name = &arms[t.arm].0;
            match t.measure {
                Measure::ProbeMrr => probe_band(t, probes?, s, name),
                Measure::Similarity => similarity_band(t, s, name),
                Measure::HeldoutNll => heldout_band(t, s, name),
            }
        })
        .collect();
    let mut family: Vec<Comparison> = out.iter().filter_map(|a| a.comparison.clone()).collect();
    adjust_family(&mut family, s.alpha);
    let mut adjusted = family.into_iter();
    for a in out.iter_mut() {
        if a.comparison.is_some() {
            a.comparison = adjusted.next();
        }
    }
    out
}

fn arm_band(t: &Task<'_>, name: &str, seeds: usize, items: usize) -> ArmBand {
    ArmBand {
        arm: name.into(),
        measure: t.measure,
        band: t.label.clone(),
        seeds,
        items,
        mean: f64::NAN,
        ci: [f64::NAN; 2],
        comparison: None,
    }
}

/// Probe level `t.band`, test split: items are the level's probes.
fn probe_band(t: &Task<'_>, set: &ProbeSet, s: &InferenceSettings, name: &str) -> Option<ArmBand> {
    let items: Vec<usize> = set
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.split == "test" && e.level == t.band as u64)
        .map(|(i, _)| i)
        .collect();
    let rows = |arm: &Scored<'_>, seeds: &[usize]| -> Option<SeedItems> {
        let rows: Option<Vec<Vec<f64>>> = seeds
            .iter()
            .map(|&sd| {
                let rr = arm.runs[sd]?.probe_rr.as_ref()?;
                Some(
                    items
                        .iter()
                        .map(|&i| rr.get(i).copied().unwrap_or(0.0))
                        .collect(),
                )
            })
            .collect();
        SeedItems::new(&rows?).ok()
    };
    let (arm, reference) = (&t.arms[t.arm], &t.arms[0]);
    let seeds = paired_seeds(t);
    let mine = rows(arm, &seeds)?;
    let mut out = arm_band(t, name, seeds.len(), items.len());
    out.mean = mine.mean();
    out.ci = bootstrap_ci_two_level(&mine, s);
    if t.arm > 0 {
        let theirs = rows(reference, &seeds)?;
        out.comparison = compare(&theirs, &mine, Better::Higher, s).ok();
    }
    Some(out)
}

/// Held-out loss of band `t.band`: one value per seed.
fn heldout_band(t: &Task<'_>, s: &InferenceSettings, name: &str) -> Option<ArmBand> {
    let value = |arm: &Scored<'_>, sd: usize| -> Option<f64> {
        let last = arm.runs[sd]?.last()?;
        last.heldout_bands.as_ref()?.get(t.band).copied().flatten()
    };
    let (arm, reference) = (&t.arms[t.arm], &t.arms[0]);
    let seeds: Vec<usize> = (0..arm.runs.len())
        .filter(|&sd| value(arm, sd).is_some() && (t.arm == 0 || value(reference, sd).is_some()))
        .collect();
    if seeds.is_empty() {
        return None;
    }
    let values =
        |a: &Scored<'_>| -> Option<Vec<f64>> { seeds.iter().map(|&sd| value(a, sd)).collect() };
    let of = |a: &Scored<'_>| SeedItems::per_seed(&values(a)?).ok();
    let mine = of(arm)?;
    let mut out = arm_band(t, name, seeds.len(), 1);
    out.mean = mine.mean();
    out.ci = bootstrap_ci(&values(arm)?, s)?;
    if t.arm > 0 {
        out.comparison = compare(&of(reference)?, &mine, Better::Lower, s).ok();
    }
    Some(out)
}

/// The pairs of one set in one band, for the seeds of one comparison: human scores and,
/// per seed, the cosines with their orders (sorted once, reused by every resample).
struct SetBand {
    human: Vec<f64>,
    human_order: Vec<usize>,
    /// Per seed of the comparison, per arm (0 = this arm, 1 = reference).
    cos: Vec<[(Vec<f64>, Vec<usize>); 2]>,
    /// Offset of the set's items among the band's items.
    offset: usize,
}

/// Similarity set `k` of seed `sd`'s run, if it is set `name`.
fn pairs_in<'a>(a: &Scored<'a>, sd: usize, k: usize, name: &str) -> Option<&'a PairScores> {
    a.runs[sd]?.pairs.get(k).filter(|p| p.set == name)
}

/// Pairs of band `t.band` that every compared run scored, gathered per set.
fn similarity_items<'a>(
    arm: &Scored<'a>,
    reference: &Scored<'a>,
    seeds: &[usize],
    band: usize,
) -> Option<Vec<SetBand>> {
    let first = arm.runs[*seeds.first()?]?;
    let mut sets = Vec::new();
    let mut offset = 0;
    for (k, ps) in first.pairs.iter().enumerate() {
        let pairs_of = |a: &Scored<'a>, sd: usize| pairs_in(a, sd, k, &ps.set);
        let keep: Vec<usize> = (0..ps.human.len())
            .filter(|&i| {
                seeds.iter().all(|&sd| {
                    [arm, reference].iter().all(|a| {
                        pairs_of(a, sd).is_some_and(|p| {
                            p.band.get(i).copied().flatten() == Some(band)
                                && p.cos.get(i).copied().flatten().is_some()
                        })
                    })
                })
            })
            .collect();
        if keep.len() < 2 {
            continue;
        }
        let human: Vec<f64> = keep.iter().map(|&i| ps.human[i]).collect();
        let cos = seeds
            .iter()
            .map(|&sd| {
                [arm, reference].map(|a| {
                    let p = pairs_of(a, sd).expect("checked above");
                    let c: Vec<f64> = keep.iter().map(|&i| p.cos[i].unwrap_or(0.0)).collect();
                    let o = ascending(&c);
                    (c, o)
                })
            })
            .collect();
        sets.push(SetBand {
            human_order: ascending(&human),
            human,
            cos,
            offset,
        });
        offset += keep.len();
    }
    (!sets.is_empty()).then_some(sets)
}

/// The pooled rho of `which` arm (0 = this, 1 = reference) on resample (seeds, weights):
/// per seed, each set's weighted rho weighted by its pairs drawn; mean over the seeds.
fn pooled_rho(sets: &[SetBand], which: usize, seeds: &[usize], w: &[u32]) -> f64 {
    let mut total = 0.0;
    for &sd in seeds {
        let (mut sum, mut n) = (0.0, 0.0);
        for set in sets {
            let ws = &w[set.offset..set.offset + set.human.len()];
            let k: f64 = ws.iter().map(|&x| x as f64).sum();
            let (c, o) = &set.cos[sd][which];
            let rho = weighted_spearman(&set.human, c, ws, &set.human_order, o);
            if rho.is_finite() {
                sum += k * rho;
                n += k;
            }
        }
        total += if n > 0.0 { sum / n } else { f64::NAN };
    }
    total / seeds.len() as f64
}

/// Similarity band `t.band`: pairs resampled with the seeds.
fn similarity_band(t: &Task<'_>, s: &InferenceSettings, name: &str) -> Option<ArmBand> {
    let (arm, reference) = (&t.arms[t.arm], &t.arms[0]);
    let seed_ids = paired_seeds(t);
    let sets = similarity_items(arm, reference, &seed_ids, t.band)?;
    let n_items: usize = sets.iter().map(|x| x.human.len()).sum();
    let this = |seeds: &[usize], w: &[u32]| pooled_rho(&sets, 0, seeds, w);
    let other = |seeds: &[usize], w: &[u32]| pooled_rho(&sets, 1, seeds, w);
    let all: Vec<usize> = (0..seed_ids.len()).collect();
    let mut out = arm_band(t, name, seed_ids.len(), n_items);
    out.mean = this(&all, &vec![1; n_items]);
    out.ci = bootstrap_ci_statistic(seed_ids.len(), n_items, &this, s);
    if t.arm > 0 {
        out.comparison = Some(compare_statistic(
            seed_ids.len(),
            n_items,
            &other,
            &this,
            Better::Higher,
            s,
        ));
    }
    Some(out)
}
