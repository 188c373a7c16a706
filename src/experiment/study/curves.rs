//! Per-arm summaries over the seeds that the report draws as lines: learning curves (each
//! score at each epoch's end) and mean |g| per tree depth beside the context-free 2q(1-q).

use serde::Serialize;

use super::run::RunRecord;
use super::Spread;

/// Mean over the finite values.
fn mean_of(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    Spread::of(v).map(|s| s.mean)
}

/// One probe level's curve.
#[derive(Clone, Debug, Serialize)]
pub struct LevelCurve {
    /// Occurrences per probe.
    pub level: u64,
    /// `dev` or `test`.
    pub split: String,
    /// Mean MRR over the seeds at each epoch.
    pub mrr: Vec<Option<f64>>,
}

/// One arm's scores at each epoch's end, means over its seeds.
#[derive(Clone, Debug, Serialize)]
pub struct ArmCurve {
    /// The arm.
    pub arm: String,
    /// Epochs (1, 2, ...).
    pub epochs: Vec<u32>,
    /// Probe levels.
    pub probes: Vec<LevelCurve>,
    /// Pooled Spearman's rho per band (outer) and epoch (inner).
    pub similarity: Vec<Vec<Option<f64>>>,
    /// Held-out loss per prediction per band (outer) and epoch (inner).
    pub heldout: Vec<Vec<Option<f64>>>,
}

/// The learning curves of arm `arm` from its finished runs.
pub fn arm_curve(arm: &str, runs: &[Option<&RunRecord>]) -> ArmCurve {
    let done: Vec<&RunRecord> = runs.iter().flatten().copied().collect();
    let n_epochs = done.iter().map(|r| r.curve.len()).max().unwrap_or(0);
    let at = |e: usize| done.iter().filter_map(move |r| r.curve.get(e));
    let levels: Vec<(u64, String)> = done
        .first()
        .and_then(|r| r.curve.last())
        .map(|c| {
            c.probes
                .iter()
                .map(|l| (l.level, l.split.clone()))
                .collect()
        })
        .unwrap_or_default();
    let n_bands = done.first().map_or(0, |r| r.bands.len());
    ArmCurve {
        arm: arm.into(),
        epochs: (1..=n_epochs as u32).collect(),
        probes: levels
            .into_iter()
            .map(|(level, split)| LevelCurve {
                mrr: (0..n_epochs)
                    .map(|e| {
                        mean_of(at(e).map(|c| {
                            c.probes
                                .iter()
                                .find(|l| l.level == level && l.split == split)
                                .map(|l| l.mrr)
                        }))
                    })
                    .collect(),
                level,
                split,
            })
            .collect(),
        similarity: (0..n_bands)
            .map(|b| {
                (0..n_epochs)
                    .map(|e| mean_of(at(e).map(|c| c.similarity_bands.get(b).copied().flatten())))
                    .collect()
            })
            .collect(),
        heldout: (0..n_bands)
            .map(|b| {
                (0..n_epochs)
                    .map(|e| {
                        mean_of(at(e).map(|c| {
                            c.heldout_bands
                                .as_ref()
                                .and_then(|h| h.get(b).copied().flatten())
                        }))
                    })
                    .collect()
            })
            .collect(),
    }
}

/// Mean |g| per depth of one arm beside the context-free baseline of its tree.
#[derive(Clone, Debug, Serialize)]
pub struct DepthG {
    /// The arm.
    pub arm: String,
    /// Mean |g| per depth (root = 0), mean over the seeds.
    pub abs_g: Vec<Option<f64>>,
    /// 2q(1 - q) per depth, visit-weighted over the depth's inner nodes.
    pub baseline: Vec<f64>,
}

/// The depth profile of arm `arm` from its finished runs.
pub fn depth_g(arm: &str, runs: &[Option<&RunRecord>]) -> DepthG {
    let done: Vec<&RunRecord> = runs.iter().flatten().copied().collect();
    let nd = done
        .iter()
        .filter_map(|r| r.depth_abs_g.as_ref().map(Vec::len))
        .max()
        .unwrap_or(0);
    DepthG {
        arm: arm.into(),
        abs_g: (0..nd)
            .map(|d| {
                mean_of(done.iter().map(|r| {
                    r.depth_abs_g
                        .as_ref()
                        .and_then(|g| g.get(d).copied().flatten())
                }))
            })
            .collect(),
        baseline: done
            .first()
            .map(|r| r.depth_baseline.clone())
            .unwrap_or_default(),
    }
}
