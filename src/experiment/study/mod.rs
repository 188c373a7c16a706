//! `huffvec study`: train every arm of a [`spec::Study`](crate::experiment::spec::Study)
//! with every seed on one corpus, score each run where every epoch ends and in full at the
//! end, compare each arm with the reference (the first) band by band with paired
//! statistics, and write `DIR/study.json`, `DIR/report.md`, `DIR/index.html` and the
//! figures `DIR/plots/*.{svg,png}`. Each run lives in `DIR/runs/<arm>/seed-<S>/`
//! (`result.json`, `stats.jsonl`), so a study that stopped resumes where it stopped.
//!
//! Bands are decades of corpus count from the minimum count (5-9, 10-99, ...) unless the
//! spec gives edges: a similarity pair belongs to the band of its rarer word, an analogy
//! question to the band of its expected answer, a held-out prediction to the band of the
//! predicted word, an input-vector update to the band of the word whose vector moves, a
//! tree-node visit to the band of the word whose path is walked. A run that diverges is
//! recorded as such and the study goes on.
//!
//! This module holds the study's figures; [`execute`] runs it, [`run`] performs one run,
//! [`compare`] tests the arms, and [`crate::report::study`] writes the reports.

pub mod compare;
pub mod curves;
pub mod execute;
pub mod lock;
pub mod run;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bands::{Bands, WordBands};
use crate::error::{Error, Result};
use crate::eval::analogy::{self, Method, QuestionSet};
use crate::eval::similarity::{self, PairSet};
use crate::eval::Embeddings;
use crate::experiment::inference::InferenceSettings;
use crate::experiment::spec::StatsSpec;
use crate::telemetry::grid::Cell;
use crate::telemetry::snapshot::StatsFile;

/// Sub-directory of the study's output holding the figures.
pub const PLOTS_DIR: &str = "plots";

/// Analogy and similarity sets, each with a name (its file stem).
#[derive(Default)]
pub struct EvalSuite {
    /// Analogy sets.
    pub analogies: Vec<(String, QuestionSet)>,
    /// Similarity sets.
    pub similarities: Vec<(String, PairSet)>,
    /// Analogies consider only this many most frequent words (gensim's 30,000).
    pub restrict: usize,
}

impl EvalSuite {
    /// Every `*.txt` of `dir`: `questions-words*` as analogy sets, the rest as similarity
    /// sets (as `huffvec eval --eval-dir`).
    pub fn from_dir(dir: &Path, restrict: usize) -> Result<Self> {
        let files = crate::eval::suite::txt_files(dir)?;
        let mut suite = EvalSuite {
            restrict,
            ..EvalSuite::default()
        };
        for p in files {
            let stem = p
                .file_stem()
                .map_or(String::new(), |s| s.to_string_lossy().into_owned());
            if stem.starts_with("questions-words") {
                suite.analogies.push((stem, QuestionSet::load(&p)?));
            } else {
                suite.similarities.push((stem, PairSet::load(&p)?));
            }
        }
        if suite.analogies.is_empty() && suite.similarities.is_empty() {
            return Err(Error::Config(format!(
                "eval directory {} holds no .txt evaluation files",
                dir.display()
            )));
        }
        Ok(suite)
    }
}

/// A score overall and per band; `None` where undefined (no question, < 2 pairs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetScore {
    /// The evaluation set.
    pub set: String,
    /// Accuracy in % (analogy) or Spearman's rho (similarity).
    pub overall: Option<f64>,
    /// Questions answered or pairs known, as % of the set.
    pub coverage: f64,
    /// Per band.
    pub bands: Vec<Option<f64>>,
    /// Questions or pairs per band.
    pub band_n: Vec<usize>,
}

/// Mean and spread of one figure over the seeds that gave it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); `None` for a single value.
    pub sd: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Values (seeds) behind it.
    pub n: usize,
}

impl Spread {
    /// The spread of the finite values among `values` (`None` and non-finite ones are left
    /// out); `None` when no value is left.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Option<Spread> {
        let v: Vec<f64> = values
            .into_iter()
            .flatten()
            .filter(|x| x.is_finite())
            .collect();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        Some(Spread {
            mean,
            sd,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n,
        })
    }
}

/// Training statistics of one band over a whole run, from its telemetry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BandTraining {
    /// Vocabulary words in the band.
    pub words: u64,
    /// Input-vector updates per word of the band (band of the word whose vector moves).
    pub updates_per_word: Option<f64>,
    /// Mean norm of one input-vector step (one prediction's accumulated update, the
    /// learning rate included), over the sampled updates.
    pub mean_step_norm: Option<f64>,
    /// Mean |g| = |t - sigmoid(f)| per tree-node visit on the paths of the band's words,
    /// the per-depth means weighted by the depth's visits; `None` without tree telemetry.
    pub mean_abs_g: Option<f64>,
    /// Mean tree-node step alpha |g| |h| per visit, weighted as `mean_abs_g`.
    pub mean_node_step: Option<f64>,
}

/// Sums of one study band, gathered from the telemetry bands and depths it covers.
#[derive(Default)]
struct BandSums {
    words: u64,
    input_updates: u64,
    input_sampled: u64,
    input_step: f64,
    /// Visits of the depths with sampled magnitudes, the weights of the node means.
    weight: f64,
    abs_g: f64,
    node_step: f64,
}

/// Per-band training statistics of one run's stats file on the study's `bands`.
///
/// Telemetry band `[count_lo, count_hi)` goes to the study band of `count_lo` (with decade
/// telemetry bands each lies inside one study band). Per band: input updates per word
/// and the mean input-step norm (sum of step norms / sampled updates); from the band x
/// depth cells, summed over snapshots, the mean |g| and mean node step of each depth
/// (sum / sampled visits) averaged over depths weighted by the depth's visits (updates).
pub fn band_training(s: &StatsFile, bands: &Bands) -> Vec<BandTraining> {
    let h = &s.header;
    let study_band: Vec<usize> = h
        .bands
        .iter()
        .map(|b| bands.band_of_count(b.count_lo).min(bands.len() - 1))
        .collect();
    let mut sums: Vec<BandSums> = (0..bands.len()).map(|_| BandSums::default()).collect();
    for (info, &sb) in h.bands.iter().zip(&study_band) {
        sums[sb].words += info.words;
    }
    for r in &s.bands {
        if let Some(&sb) = study_band.get(r.band) {
            let t = &mut sums[sb];
            t.input_updates += r.sums.input_updates;
            t.input_sampled += r.sums.input_sampled;
            t.input_step += r.sums.input_step;
        }
    }
    let nd = h.max_depth;
    let mut cells = vec![Cell::default(); h.bands.len() * nd];
    for c in &s.cells {
        if c.band < h.bands.len() && c.depth < nd {
            cells[c.band * nd + c.depth].merge(&c.sums);
        }
    }
    for (i, c) in cells.iter().enumerate() {
        if c.sampled == 0 {
            continue;
        }
        let t = &mut sums[study_band[i / nd]];
        let w = c.updates as f64;
        t.weight += w;
        t.abs_g += w * c.abs_g / c.sampled as f64;
        t.node_step += w * c.node_step / c.sampled as f64;
    }
    sums.iter()
        .map(|t| BandTraining {
            words: t.words,
            updates_per_word: (t.words > 0).then(|| t.input_updates as f64 / t.words as f64),
            mean_step_norm: (t.input_sampled > 0).then(|| t.input_step / t.input_sampled as f64),
            mean_abs_g: (t.weight > 0.0).then(|| t.abs_g / t.weight),
            mean_node_step: (t.weight > 0.0).then(|| t.node_step / t.weight),
        })
        .collect()
}

/// The per-band means of several runs' statistics (each figure over the runs that have it).
pub fn mean_training(runs: &[&[BandTraining]]) -> Vec<BandTraining> {
    let nb = runs.iter().map(|r| r.len()).max().unwrap_or(0);
    (0..nb)
        .map(|b| {
            let at = |f: fn(&BandTraining) -> Option<f64>| {
                Spread::of(runs.iter().map(|r| r.get(b).and_then(f))).map(|s| s.mean)
            };
            BandTraining {
                words: runs.iter().find_map(|r| r.get(b)).map_or(0, |t| t.words),
                updates_per_word: at(|t| t.updates_per_word),
                mean_step_norm: at(|t| t.mean_step_norm),
                mean_abs_g: at(|t| t.mean_abs_g),
                mean_node_step: at(|t| t.mean_node_step),
            }
        })
        .collect()
}

/// One seed of one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Training throughput (words per wall-clock second), or `None` if it diverged.
    pub words_per_sec: Option<f64>,
    /// Training seconds.
    pub train_seconds: f64,
    /// Why it produced no vectors (divergence), if it did not.
    pub failed: Option<String>,
    /// Analogy scores (accuracy %).
    pub analogy: Vec<SetScore>,
    /// Similarity scores (Spearman's rho).
    pub similarity: Vec<SetScore>,
    /// Per band, when telemetry recorded it.
    pub training: Option<Vec<BandTraining>>,
    /// Its telemetry file, relative to the study's directory.
    pub stats_file: Option<String>,
}

/// One evaluation set's scores over the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreSummary {
    /// The evaluation set.
    pub set: String,
    /// Accuracy in % (analogy) or Spearman's rho (similarity).
    pub overall: Option<Spread>,
    /// Mean coverage in % of the set.
    pub coverage: f64,
    /// Per band.
    pub bands: Vec<Option<Spread>>,
    /// Questions or pairs per band (of the first seed that finished).
    pub band_n: Vec<usize>,
}

/// A configuration's figures over its seeds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    /// Seeds that produced vectors.
    pub finished: usize,
    /// Throughput.
    pub words_per_sec: Option<Spread>,
    /// Analogy sets.
    pub analogy: Vec<ScoreSummary>,
    /// Similarity sets.
    pub similarity: Vec<ScoreSummary>,
    /// Spearman's rho per band pooled over the similarity sets (see [`pooled_similarity`]).
    pub similarity_bands: Vec<Option<Spread>>,
    /// Similarity pairs per band, over all sets.
    pub similarity_band_n: Vec<usize>,
    /// Training statistics per band, mean over the seeds.
    pub training: Option<Vec<BandTraining>>,
}

fn summarise_sets(seeds: &[&SeedRun], pick: fn(&SeedRun) -> &[SetScore]) -> Vec<ScoreSummary> {
    let Some(first) = seeds.first() else {
        return Vec::new();
    };
    pick(first)
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let nb = s.bands.len();
            let of = |f: &dyn Fn(&SetScore) -> Option<f64>| {
                Spread::of(seeds.iter().map(|r| pick(r).get(k).and_then(f)))
            };
            ScoreSummary {
                set: s.set.clone(),
                overall: of(&|x| x.overall),
                coverage: of(&|x| Some(x.coverage)).map_or(0.0, |c| c.mean),
                bands: (0..nb)
                    .map(|b| of(&|x| x.bands.get(b).copied().flatten()))
                    .collect(),
                band_n: s.band_n.clone(),
            }
        })
        .collect()
}

/// Mean and spread over the seeds that finished.
pub fn summarise(seeds: &[SeedRun], n_bands: usize) -> RunSummary {
    let done: Vec<&SeedRun> = seeds.iter().filter(|s| s.failed.is_none()).collect();
    let Some(first) = done.first() else {
        return RunSummary::default();
    };
    let training: Vec<&[BandTraining]> =
        done.iter().filter_map(|s| s.training.as_deref()).collect();
    RunSummary {
        finished: done.len(),
        words_per_sec: Spread::of(done.iter().map(|s| s.words_per_sec)),
        analogy: summarise_sets(&done, |s| &s.analogy),
        similarity: summarise_sets(&done, |s| &s.similarity),
        similarity_bands: (0..n_bands)
            .map(|b| Spread::of(done.iter().map(|s| pooled_similarity(&s.similarity, b).0)))
            .collect(),
        similarity_band_n: (0..n_bands)
            .map(|b| pooled_similarity(&first.similarity, b).1)
            .collect(),
        training: (!training.is_empty()).then(|| mean_training(&training)),
    }
}

/// The outcome of one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// Its name in the grid.
    pub name: String,
    /// Its own options.
    pub args: String,
    /// Whether it trains a hierarchical-softmax tree (negative sampling walks none, so it
    /// has no tree-node telemetry).
    pub tree_loss: bool,
    /// One entry per seed, in seed order.
    pub seeds: Vec<SeedRun>,
    /// Mean and spread over the seeds.
    pub summary: RunSummary,
}

impl RunResult {
    /// Seeds that diverged.
    pub(crate) fn diverged_seeds(&self) -> Vec<u64> {
        self.seeds
            .iter()
            .filter(|s| s.failed.is_some())
            .map(|s| s.seed)
            .collect()
    }
}

/// The whole study.
#[derive(Clone, Debug, Serialize)]
pub struct StudyResult {
    /// Title.
    pub grid: String,
    /// Corpus.
    pub corpus: String,
    /// Epochs, threads, seed shared by every run.
    pub epochs: u32,
    /// Worker threads.
    pub threads: usize,
    /// Seeds every configuration was trained with.
    pub seeds: Vec<u64>,
    /// Options shared by every configuration (the grid's base and the study's own).
    pub base: String,
    /// Analogies consider only this many most frequent words.
    pub restrict: usize,
    /// Band labels.
    pub bands: Vec<String>,
    /// Vocabulary words per band (of the reference run).
    pub band_words: Vec<usize>,
    /// Tokens per epoch.
    pub tokens_per_epoch: u64,
    /// Machine description.
    pub machine: String,
    /// How training statistics were recorded, if they were.
    pub telemetry: Option<StatsSpec>,
    /// One entry per arm, reference first.
    pub runs: Vec<RunResult>,
    /// The study's lock: spec, input hashes, version, commit, machine.
    pub lock: lock::Lock,
    /// Learning rates chosen on the dev probes.
    pub lr: Vec<execute::LrChoice>,
    /// Settings of every interval and test.
    pub inference: InferenceSettings,
    /// Every arm on every band, with its comparison to the reference.
    pub comparisons: Vec<compare::ArmBand>,
    /// Learning curves per arm.
    pub curves: Vec<curves::ArmCurve>,
    /// Mean |g| per depth of each tree arm, with the context-free baseline.
    pub depth_g: Vec<curves::DepthG>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Scores `emb` on every set of `suite`, overall and per band of `wb`.
pub fn evaluate(
    emb: &Embeddings,
    suite: &EvalSuite,
    wb: &WordBands,
) -> (Vec<SetScore>, Vec<SetScore>) {
    let nb = wb.bands().len();
    let analogy = suite
        .analogies
        .iter()
        .map(|(name, set)| {
            let r = analogy::evaluate(emb, set, suite.restrict, Method::Add, Some(wb));
            let total = r.total();
            let bands = r.bands.unwrap_or_else(|| vec![Default::default(); nb]);
            SetScore {
                set: name.clone(),
                overall: finite(total.accuracy_pct()),
                coverage: total.coverage_pct(),
                bands: bands.iter().map(|t| finite(t.accuracy_pct())).collect(),
                band_n: bands.iter().map(|t| t.seen).collect(),
            }
        })
        .collect();
    let similarity = suite
        .similarities
        .iter()
        .map(|(name, set)| {
            let r = similarity::evaluate(emb, set, usize::MAX, Some(wb));
            let bands = r.bands.clone().unwrap_or_default();
            SetScore {
                set: name.clone(),
                overall: finite(r.overall.rho),
                coverage: r.coverage_pct(),
                bands: bands.iter().map(|c| finite(c.rho)).collect(),
                band_n: bands.iter().map(|c| c.pairs).collect(),
            }
        })
        .collect();
    (analogy, similarity)
}

/// Pair-weighted mean of the per-band rho over the similarity sets, and the pairs.
pub fn pooled_similarity(sets: &[SetScore], band: usize) -> (Option<f64>, usize) {
    let (mut sum, mut n) = (0.0, 0usize);
    for s in sets {
        if let (Some(Some(rho)), Some(&k)) = (s.bands.get(band), s.band_n.get(band)) {
            sum += rho * k as f64;
            n += k;
        }
    }
    ((n > 0).then(|| sum / n as f64), n)
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::telemetry::grid::{BandCell, BandInfo};
    use crate::telemetry::snapshot::{BandRecord, CellRecord, Header};

    pub(crate) fn score(set: &str, overall: f64, bands: &[(f64, usize)]) -> SetScore {
        SetScore {
            set: set.into(),
            overall: Some(overall),
            coverage: 100.0,
            bands: bands.iter().map(|b| Some(b.0)).collect(),
            band_n: bands.iter().map(|b| b.1).collect(),
        }
    }

    pub(crate) fn seed(s: u64, acc: f64, a: &[(f64, usize)], b: &[(f64, usize)]) -> SeedRun {
        SeedRun {
            seed: s,
            words_per_sec: Some(1000.0),
            train_seconds: 1.0,
            failed: None,
            analogy: vec![score("qw", acc, &[(0.0, 0), (10.0, 50), (30.0, 50)])],
            similarity: vec![score("men", 0.5, a), score("ws", 0.4, b)],
            training: None,
            stats_file: None,
        }
    }

    pub(crate) fn result(name: &str, seeds: Vec<SeedRun>) -> RunResult {
        RunResult {
            name: name.into(),
            args: if name == "default" { "" } else { "--x" }.into(),
            tree_loss: true,
            summary: summarise(&seeds, 3),
            seeds,
        }
    }

    pub(crate) fn one_run(
        name: &str,
        acc: f64,
        a: &[(f64, usize)],
        b: &[(f64, usize)],
    ) -> RunResult {
        result(name, vec![seed(1, acc, a, b)])
    }

    pub(crate) fn study(runs: Vec<RunResult>) -> StudyResult {
        let n_seeds = runs.first().map_or(1, |r| r.seeds.len()) as u64;
        StudyResult {
            grid: "t".into(),
            corpus: "c.txt".into(),
            epochs: 1,
            threads: 1,
            seeds: (1..=n_seeds).collect(),
            base: String::new(),
            restrict: 30_000,
            bands: vec!["5-9".into(), "10-99".into(), "100+".into()],
            band_words: vec![3, 2, 1],
            tokens_per_epoch: 100,
            machine: "m".into(),
            telemetry: None,
            runs,
            lock: lock(),
            lr: Vec::new(),
            inference: InferenceSettings::default(),
            comparisons: Vec::new(),
            curves: Vec::new(),
            depth_g: Vec::new(),
        }
    }

    /// A lock of a two-arm study on `c.txt`.
    pub(crate) fn lock() -> super::lock::Lock {
        use crate::experiment::spec::{Arm, Study};
        let file = |p: &str| super::lock::FileHash {
            path: p.into(),
            sha256: "0".repeat(64),
            bytes: 10,
        };
        let arm = |n: &str| Arm {
            name: n.into(),
            train: Vec::new(),
            lr_match: false,
        };
        super::lock::Lock {
            schema: super::lock::LOCK_SCHEMA.into(),
            version: super::lock::LOCK_VERSION,
            digest: "d".repeat(64),
            study: Study {
                name: "t".into(),
                corpus: "c.txt".into(),
                seeds: vec![1],
                threads: 1,
                epochs: 1,
                train: Vec::new(),
                eval_dir: "eval".into(),
                restrict: 30_000,
                probes: None,
                heldout: None,
                plant: None,
                bands: None,
                lr_grid: vec![1.0],
                stats: None,
                arms: vec![arm("default"), arm("x")],
            },
            inputs: super::lock::Inputs {
                corpus: file("c.txt"),
                train_corpus: file("c.txt"),
                probes: None,
                heldout: None,
                eval: Vec::new(),
            },
            huffvec: "test".into(),
            checkout_commit: None,
            machine: "m".into(),
        }
    }

    pub(crate) const A: [(f64, usize); 3] = [(0.1, 15), (0.5, 10), (0.6, 40)];
    pub(crate) const B: [(f64, usize); 3] = [(0.3, 15), (0.2, 30), (0.7, 40)];

    pub(crate) fn stats_file() -> StatsFile {
        let info = |band: usize, lo: u64, words: u64| BandInfo {
            band,
            log_band: band as u32,
            count_lo: lo,
            count_hi: lo * 10,
            words,
            tokens: 0,
            mean_depth: 0.0,
        };
        let cell = |snapshot, band, depth, updates, sampled, abs_g, node_step| CellRecord {
            snapshot,
            band,
            depth,
            sums: Cell {
                updates,
                sampled,
                abs_g,
                node_step,
                ..Cell::default()
            },
            abs_g_mean: None,
            node_step_mean: None,
            input_grad_mean: None,
            loss_mean: None,
        };
        let band = |snapshot, band, input_updates, input_sampled, input_step| BandRecord {
            snapshot,
            band,
            sums: BandCell {
                input_updates,
                input_sampled,
                input_step,
                ..BandCell::default()
            },
            input_step_mean: None,
            input_path_len_mean: None,
            input_alpha_mean: None,
            input_updates_per_word: 0.0,
            target_examples_per_word: 0.0,
        };
        StatsFile {
            header: Header {
                schema: crate::telemetry::snapshot::SCHEMA.into(),
                version: crate::telemetry::snapshot::VERSION,
                huffvec_version: "test".into(),
                config: serde_json::Value::Null,
                pairing: String::new(),
                vocab_size: 6,
                n_inner: 5,
                max_depth: 2,
                total_words: 0,
                n_snapshots: 2,
                sigmoid_max_exp: 6.0,
                publish_every_words: 1,
                bands: vec![info(0, 1, 3), info(1, 10, 2), info(2, 100, 1)],
                depths: Vec::new(),
                fields: Default::default(),
            },
            snapshots: Vec::new(),
            cells: vec![
                cell(1, 0, 0, 10, 5, 2.0, 0.5),
                cell(2, 0, 0, 10, 5, 3.0, 0.5),
                cell(1, 0, 1, 60, 20, 4.0, 0.4),
                // Visits without sampled magnitudes (as negative sampling leaves them).
                cell(1, 1, 0, 100, 0, 0.0, 0.0),
            ],
            bands: vec![
                band(1, 0, 30, 4, 2.0),
                band(2, 0, 15, 6, 1.0),
                band(1, 1, 50, 0, 0.0),
            ],
            depth_final: Vec::new(),
            band_final: Vec::new(),
            gaps: Vec::new(),
            end: None,
            cut_short: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn spread_is_the_mean_and_the_sample_standard_deviation() {
        // 0.1, 0.2, 0.3: mean 0.2, squares 0.01 + 0 + 0.01 over n - 1 = 2 -> sd 0.1.
        let s =
            Spread::of([Some(0.1), None, Some(0.3), Some(f64::NAN), Some(0.2)]).expect("values");
        assert_eq!(s.n, 3);
        assert!((s.mean - 0.2).abs() < 1e-12);
        assert!((s.sd.expect("n > 1") - 0.1).abs() < 1e-12);
        assert_eq!((s.min, s.max), (0.1, 0.3));
        let one = Spread::of([Some(2.0)]).expect("one value");
        assert_eq!((one.mean, one.sd, one.n), (2.0, None, 1));
        assert!(Spread::of([None, Some(f64::INFINITY)]).is_none());
    }

    #[test]
    fn similarity_bands_pool_sets_by_pair_count() {
        // Band 1: rho 0.5 over 10 pairs and 0.2 over 30 pairs -> (5 + 6) / 40 = 0.275.
        let r = one_run("default", 20.0, &[(0.1, 5), (0.5, 10), (0.6, 40)], &B);
        let (rho, n) = pooled_similarity(&r.seeds[0].similarity, 1);
        assert_eq!(n, 40);
        assert!((rho.expect("pairs") - 0.275).abs() < 1e-12);
    }

    #[test]
    fn summary_is_over_the_seeds_that_finished() {
        // Pooled band 0: seed 1 (0.1*15 + 0.3*15)/30 = 0.2, seed 2 (0.3*15 + 0.5*15)/30 = 0.4
        // -> mean 0.3, sd sqrt(2 * 0.01 / 1) = 0.1414.
        let mut bad = seed(3, 0.0, &A, &B);
        bad.failed = Some("diverged".into());
        bad.words_per_sec = None;
        let mut s2 = seed(
            2,
            30.0,
            &[(0.3, 15), (0.5, 10), (0.6, 40)],
            &[(0.5, 15), (0.2, 30), (0.7, 40)],
        );
        s2.words_per_sec = Some(3000.0);
        let r = result("x", vec![seed(1, 20.0, &A, &B), s2, bad]);
        let s = &r.summary;
        assert_eq!(s.finished, 2);
        assert_eq!(r.diverged_seeds(), vec![3]);
        let w = s.words_per_sec.expect("throughput");
        assert_eq!((w.mean, w.min, w.max, w.n), (2000.0, 1000.0, 3000.0, 2));
        let b0 = s.similarity_bands[0].expect("band 0");
        assert!((b0.mean - 0.3).abs() < 1e-12);
        assert!((b0.sd.expect("two seeds") - 0.02f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.similarity_band_n, vec![30, 40, 80]);
        let qw = &s.analogy[0];
        assert_eq!(qw.overall.expect("accuracy").mean, 25.0);
        assert_eq!(qw.band_n, vec![0, 50, 50]);
        assert!(qw.bands[0].is_some_and(|b| b.mean == 0.0));
        assert!(s.training.is_none());
    }

    #[test]
    fn band_training_weights_each_depth_by_its_visits() {
        let t = band_training(&stats_file(), &Bands::log10_from(5).fit_to(500));
        assert_eq!(t.len(), 3);
        // Band 5-9: depth 0 over both snapshots: 20 visits, |g| 5/10 = 0.5, step 1/10 = 0.1;
        // depth 1: 60 visits, |g| 4/20 = 0.2, step 0.4/20 = 0.02. Weighted by visits:
        // |g| (20*0.5 + 60*0.2)/80 = 0.275 (the pooled 9/30 = 0.3 would be wrong),
        // step (20*0.1 + 60*0.02)/80 = 0.04. Input: 45 updates / 3 words, 3.0 / 10 sampled.
        let b0 = &t[0];
        assert_eq!(b0.words, 3);
        assert_eq!(b0.updates_per_word, Some(15.0));
        assert!((b0.mean_step_norm.expect("sampled") - 0.3).abs() < 1e-12);
        assert!((b0.mean_abs_g.expect("cells") - 0.275).abs() < 1e-12);
        assert!((b0.mean_node_step.expect("cells") - 0.04).abs() < 1e-12);
        // Band 10-99: 50 updates / 2 words, nothing sampled: no means.
        assert_eq!(t[1].updates_per_word, Some(25.0));
        assert_eq!((t[1].mean_step_norm, t[1].mean_abs_g), (None, None));
        // Band 100+: words but no records.
        assert_eq!(t[2].updates_per_word, Some(0.0));
        assert_eq!(t[2].mean_node_step, None);
        // With --min-count 20 the study's first band, 20-99, takes telemetry bands 1-9
        // and 10-99 both: 95 updates over 5 words.
        let t = band_training(&stats_file(), &Bands::log10_from(20).fit_to(500));
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].words, t[0].updates_per_word), (5, Some(19.0)));
        assert!((t[0].mean_abs_g.expect("cells") - 0.275).abs() < 1e-12);
    }

    #[test]
    fn training_means_skip_missing_figures() {
        let a = [BandTraining {
            words: 3,
            updates_per_word: Some(10.0),
            mean_step_norm: Some(0.2),
            mean_abs_g: None,
            mean_node_step: None,
        }];
        let b = [BandTraining {
            words: 3,
            updates_per_word: Some(20.0),
            mean_step_norm: None,
            mean_abs_g: Some(0.4),
            mean_node_step: None,
        }];
        let m = mean_training(&[&a, &b]);
        assert_eq!(
            m,
            vec![BandTraining {
                words: 3,
                updates_per_word: Some(15.0),
                mean_step_norm: Some(0.2),
                mean_abs_g: Some(0.4),
                mean_node_step: None,
            }]
        );
    }

    #[test]
    fn eval_suite_splits_analogy_and_similarity_files() {
        let d = tempfile::tempdir().expect("temp dir");
        std::fs::write(d.path().join("questions-words.txt"), ": s\na b c d\n").expect("write");
        std::fs::write(d.path().join("pairs.txt"), "a\tb\t1.0\n").expect("write");
        std::fs::write(d.path().join("notes.md"), "ignored").expect("write");
        let s = EvalSuite::from_dir(d.path(), 100).expect("suite");
        assert_eq!(s.analogies.len(), 1);
        assert_eq!(s.similarities.len(), 1);
        assert_eq!(s.similarities[0].0, "pairs");
        let empty = tempfile::tempdir().expect("temp dir");
        assert!(EvalSuite::from_dir(empty.path(), 100).is_err());
    }
}
