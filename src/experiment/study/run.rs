//! One run of a study: one arm trained with one seed, scored where every epoch ends (probe
//! levels, similarity by band, held-out loss by band) and in full at the end, written to
//! `result.json` in its own directory. A run whose result exists and belongs to the same
//! lock is not trained again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{band_training, evaluate, pooled_similarity, BandTraining, EvalSuite, SetScore};
use crate::bands::{Bands, WordBands};
use crate::config::{Loss, TrainConfig};
use crate::error::{Error, Result};
use crate::eval::heldout::{self, ScoringModel};
use crate::eval::probes::{self, ProbeSet};
use crate::eval::Embeddings;
use crate::io::word2vec::Vectors;
use crate::io::{HashWriter, OutputSlot};
use crate::telemetry::grid::Cell;
use crate::telemetry::snapshot::{self, StatsFile};
use crate::train::{EpochEnd, Silent};
use crate::tree::Tree;
use crate::vocab::Vocab;

/// A run's result file, in its directory.
pub const RESULT_FILE: &str = "result.json";
/// A run's telemetry file, in its directory.
pub const STATS_FILE: &str = "stats.jsonl";
/// `schema` of a result file.
pub const RESULT_SCHEMA: &str = "huffvec-study-run";
/// Format version of a result file.
pub const RESULT_VERSION: u32 = 1;

/// What every run is scored with, loaded once per study.
pub struct Scoring {
    /// Analogy and similarity sets.
    pub suite: EvalSuite,
    /// Probe table, if the study has probes.
    pub probes: Option<ProbeSet>,
    /// Held-out text, if the study has one.
    pub heldout: Option<Vec<u8>>,
    /// Lower band edges, or `None` for decades from each run's minimum count.
    pub band_edges: Option<Vec<u64>>,
}

/// One run to perform.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The arm.
    pub arm: String,
    /// The seed.
    pub seed: u64,
    /// The learning-rate multiplier tried, for a learning-rate matching run.
    pub lr_multiplier: Option<f64>,
    /// The run's directory (result, telemetry).
    pub dir: PathBuf,
    /// The full configuration (seed and alpha set).
    pub cfg: TrainConfig,
}

/// Mean reciprocal rank of one probe level and split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelScore {
    /// Occurrences per probe.
    pub level: u64,
    /// `dev` or `test`.
    pub split: String,
    /// Mean reciprocal rank of the parent over the level's probes (0 for a probe without a
    /// vector).
    pub mrr: f64,
    /// Probes of the level and split.
    pub n: usize,
}

/// Scores where one epoch ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochScores {
    /// Epochs done.
    pub epoch: u32,
    /// Probe levels.
    pub probes: Vec<LevelScore>,
    /// Spearman's rho per band pooled over the similarity sets.
    pub similarity_bands: Vec<Option<f64>>,
    /// Held-out loss per prediction (nats) per band of the predicted word.
    pub heldout_bands: Option<Vec<Option<f64>>>,
}

/// One similarity set's pairs as one run scored them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairScores {
    /// The set.
    pub set: String,
    /// Human score of each pair, in file order.
    pub human: Vec<f64>,
    /// Cosine of each pair, `None` when a word has no vector.
    pub cos: Vec<Option<f64>>,
    /// Band of each pair's rarer word.
    pub band: Vec<Option<usize>>,
}

/// Everything one run produced: `result.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`RESULT_SCHEMA`].
    pub schema: String,
    /// [`RESULT_VERSION`].
    pub version: u32,
    /// Digest of the lock the run belongs to.
    pub lock_digest: String,
    /// The arm.
    pub arm: String,
    /// The seed.
    pub seed: u64,
    /// Learning rate trained with.
    pub alpha: f32,
    /// Multiplier tried, for a learning-rate matching run.
    pub lr_multiplier: Option<f64>,
    /// Why it produced no vectors (divergence), if it did not.
    pub failed: Option<String>,
    /// Training seconds.
    pub train_seconds: f64,
    /// Training throughput.
    pub words_per_sec: Option<f64>,
    /// SHA-256 of the vectors in word2vec binary format.
    pub vectors_sha256: Option<String>,
    /// Band labels.
    pub bands: Vec<String>,
    /// Vocabulary words per band.
    pub band_words: Vec<usize>,
    /// Tokens per epoch.
    pub tokens_per_epoch: u64,
    /// Scores at each epoch's end, the last epoch included.
    pub curve: Vec<EpochScores>,
    /// Reciprocal rank of each probe at the end, in probe-table order.
    pub probe_rr: Option<Vec<f64>>,
    /// Each similarity pair at the end.
    pub pairs: Vec<PairScores>,
    /// Analogy scores at the end.
    pub analogy: Vec<SetScore>,
    /// Similarity scores at the end.
    pub similarity: Vec<SetScore>,
    /// Training statistics per band, from the telemetry.
    pub training: Option<Vec<BandTraining>>,
    /// Mean |g| per tree depth, from the telemetry.
    pub depth_abs_g: Option<Vec<Option<f64>>>,
    /// The context-free |g| = 2q(1 - q) per depth of the run's tree.
    pub depth_baseline: Vec<f64>,
    /// Its telemetry file, relative to the run's directory.
    pub stats_file: Option<String>,
}

impl RunRecord {
    /// Reads a run's result; `None` when there is none or it cannot be read.
    pub fn read(dir: &Path) -> Option<RunRecord> {
        let text = std::fs::read(dir.join(RESULT_FILE)).ok()?;
        serde_json::from_slice::<RunRecord>(&text)
            .ok()
            .filter(|r| r.schema == RESULT_SCHEMA && r.version == RESULT_VERSION)
    }

    /// The final scores (the last epoch's).
    pub fn last(&self) -> Option<&EpochScores> {
        self.curve.last()
    }

    /// Mean reciprocal rank over the dev probes at the end (learning-rate matching).
    pub fn dev_mrr(&self, set: &ProbeSet) -> Option<f64> {
        let rr = self.probe_rr.as_ref()?;
        let dev: Vec<f64> = set
            .entries
            .iter()
            .zip(rr)
            .filter(|(e, _)| e.split == "dev")
            .map(|(_, r)| *r)
            .collect();
        (!dev.is_empty()).then(|| dev.iter().sum::<f64>() / dev.len() as f64)
    }
}

/// Performs `plan` unless its directory holds a result of the same lock; returns the
/// result and whether it was trained now.
pub fn perform(plan: &RunPlan, scoring: &Scoring, digest: &str) -> Result<(RunRecord, bool)> {
    if let Some(r) = RunRecord::read(&plan.dir).filter(|r| r.lock_digest == digest) {
        return Ok((r, false));
    }
    std::fs::create_dir_all(&plan.dir)
        .map_err(|e| Error::io("cannot create run directory", &plan.dir, e))?;
    let record = train_and_score(plan, scoring, digest)?;
    let slot = OutputSlot::reserve(&plan.dir.join(RESULT_FILE), &[])?;
    slot.commit(|w| {
        serde_json::to_writer(&mut *w, &record).map_err(std::io::Error::other)?;
        std::io::Write::write_all(w, b"\n")
    })?;
    Ok((record, true))
}

/// The band table of a run: the study's edges, or decades from its minimum count.
fn word_bands(scoring: &Scoring, vocab: &Vocab, min_count: u64) -> Result<WordBands> {
    let counts = vocab.counts();
    let bands = match &scoring.band_edges {
        Some(e) => Bands::from_edges(e)?,
        None => {
            let max = counts.iter().copied().max().unwrap_or(min_count);
            Bands::log10_from(min_count).fit_to(max)
        }
    };
    Ok(WordBands::from_counts(
        bands,
        counts.iter().map(|&c| Some(c)),
    ))
}

/// Normalised embeddings of dense `input` rows.
fn embeddings(vocab: &Vocab, input: &[f32], dim: usize) -> Embeddings {
    Embeddings::from_vectors(Vectors {
        words: vocab.words().to_vec(),
        dim,
        data: input.to_vec(),
        format: crate::config::OutputFormat::Binary,
    })
}

/// The parameters a run is scored on, dense and row-major.
struct Params<'a> {
    vocab: &'a Vocab,
    tree: &'a Tree,
    input: &'a [f32],
    inner: &'a [f32],
    dim: usize,
}

/// Reciprocal rank of every probe (0 without a vector).
fn probe_ranks(emb: &Embeddings, set: &ProbeSet) -> Vec<f64> {
    let mut rr = vec![0.0; set.entries.len()];
    for s in probes::score(emb, set) {
        rr[s.entry] = 1.0 / s.rank as f64;
    }
    rr
}

/// Mean of `rr` per level and split, in the order the table first lists them.
fn level_scores(set: &ProbeSet, rr: &[f64]) -> Vec<LevelScore> {
    let mut out: Vec<LevelScore> = Vec::new();
    for (e, r) in set.entries.iter().zip(rr) {
        match out
            .iter_mut()
            .find(|l| l.level == e.level && l.split == e.split)
        {
            Some(l) => {
                l.mrr += r;
                l.n += 1;
            }
            None => out.push(LevelScore {
                level: e.level,
                split: e.split.clone(),
                mrr: *r,
                n: 1,
            }),
        }
    }
    for l in &mut out {
        l.mrr /= l.n as f64;
    }
    out.sort_by(|a, b| (a.split.as_str(), a.level).cmp(&(b.split.as_str(), b.level)));
    out
}

/// Held-out loss per prediction per band.
fn heldout_bands(
    p: &Params<'_>,
    cfg: &TrainConfig,
    text: &[u8],
    wb: &WordBands,
) -> Vec<Option<f64>> {
    let sm = ScoringModel {
        vocab: p.vocab,
        input: p.input,
        output: p.inner,
        dim: p.dim,
        tree: p.tree,
        model: cfg.params.model,
        window: cfg.params.window,
    };
    let loss = heldout::heldout_loss(&sm, text, wb.bands());
    loss.bands
        .iter()
        .map(|b| (b.predictions > 0).then(|| b.nll_sum / b.predictions as f64))
        .collect()
}

/// The scores of one epoch end, and the final probe ranks they came from.
fn score_epoch(
    epoch: u32,
    p: &Params<'_>,
    emb: &Embeddings,
    cfg: &TrainConfig,
    scoring: &Scoring,
    wb: &WordBands,
) -> (EpochScores, Option<Vec<f64>>) {
    let rr = scoring.probes.as_ref().map(|set| probe_ranks(emb, set));
    let probes = match (&scoring.probes, &rr) {
        (Some(set), Some(rr)) => level_scores(set, rr),
        _ => Vec::new(),
    };
    let sims: Vec<SetScore> = scoring
        .suite
        .similarities
        .iter()
        .map(|(name, set)| {
            let r = crate::eval::similarity::evaluate(emb, set, usize::MAX, Some(wb));
            let bands = r.bands.unwrap_or_default();
            SetScore {
                set: name.clone(),
                overall: None,
                coverage: 0.0,
                bands: bands
                    .iter()
                    .map(|c| c.rho.is_finite().then_some(c.rho))
                    .collect(),
                band_n: bands.iter().map(|c| c.pairs).collect(),
            }
        })
        .collect();
    let heldout = match (&scoring.heldout, cfg.params.loss) {
        (Some(text), Loss::Hs) => Some(heldout_bands(p, cfg, text, wb)),
        _ => None,
    };
    let scores = EpochScores {
        epoch,
        probes,
        similarity_bands: (0..wb.bands().len())
            .map(|b| pooled_similarity(&sims, b).0)
            .collect(),
        heldout_bands: heldout,
    };
    (scores, rr)
}

/// Each pair of every similarity set: human score, cosine and band.
fn pair_scores(emb: &Embeddings, suite: &EvalSuite, wb: &WordBands) -> Vec<PairScores> {
    suite
        .similarities
        .iter()
        .map(|(name, set)| {
            let mut out = PairScores {
                set: name.clone(),
                human: Vec::with_capacity(set.pairs.len()),
                cos: Vec::with_capacity(set.pairs.len()),
                band: Vec::with_capacity(set.pairs.len()),
            };
            for (a, b, score) in &set.pairs {
                let ids = (emb.id_folded(a.as_bytes()), emb.id_folded(b.as_bytes()));
                out.human.push(*score);
                match ids {
                    (Some(a), Some(b)) => {
                        out.cos.push(Some(emb.cosine(a, b)));
                        out.band.push(wb.rarer_band(a, b));
                    }
                    _ => {
                        out.cos.push(None);
                        out.band.push(None);
                    }
                }
            }
            out
        })
        .collect()
}

/// Mean |g| per depth over every band, from a stats file's cells.
fn depth_abs_g(s: &StatsFile) -> Vec<Option<f64>> {
    let nd = s.header.max_depth;
    let mut cells = vec![Cell::default(); nd];
    for c in &s.cells {
        if c.depth < nd {
            cells[c.depth].merge(&c.sums);
        }
    }
    cells
        .iter()
        .map(|c| (c.sampled > 0).then(|| c.abs_g / c.sampled as f64))
        .collect()
}

/// SHA-256 of the trained vectors in word2vec binary format.
pub fn vectors_sha256(trained: &crate::train::Trained) -> Result<String> {
    let mut h = HashWriter::default();
    let v = &trained.vocab;
    let rows = (0..v.len()).map(|i| (v.word(i), trained.input.row(i)));
    let dim = trained.input.dim();
    crate::io::word2vec::write(&mut h, crate::config::OutputFormat::Binary, dim, rows)
        .map_err(|e| Error::Internal(format!("cannot hash the vectors: {e}")))?;
    Ok(h.hex_digest())
}

/// Trains `plan` and scores it.
fn train_and_score(plan: &RunPlan, scoring: &Scoring, digest: &str) -> Result<RunRecord> {
    let cfg = &plan.cfg;
    let mut curve = Vec::new();
    let mut on_epoch = |e: &EpochEnd<'_>| -> Result<()> {
        let p = Params {
            vocab: e.vocab,
            tree: e.tree,
            input: &e.input,
            inner: &e.inner,
            dim: e.dim,
        };
        let wb = word_bands(scoring, e.vocab, cfg.corpus.min_count)?;
        let emb = embeddings(e.vocab, &e.input, e.dim);
        curve.push(score_epoch(e.epoch, &p, &emb, cfg, scoring, &wb).0);
        Ok(())
    };
    let t0 = Instant::now();
    let outcome = super::super::train_recorded_with(cfg, &Silent, Some(&mut on_epoch));
    let mut rec = RunRecord {
        schema: RESULT_SCHEMA.into(),
        version: RESULT_VERSION,
        lock_digest: digest.into(),
        arm: plan.arm.clone(),
        seed: cfg.params.seed,
        alpha: cfg.params.alpha,
        lr_multiplier: plan.lr_multiplier,
        failed: None,
        train_seconds: t0.elapsed().as_secs_f64(),
        words_per_sec: None,
        vectors_sha256: None,
        bands: Vec::new(),
        band_words: Vec::new(),
        tokens_per_epoch: 0,
        curve: Vec::new(),
        probe_rr: None,
        pairs: Vec::new(),
        analogy: Vec::new(),
        similarity: Vec::new(),
        training: None,
        depth_abs_g: None,
        depth_baseline: Vec::new(),
        stats_file: cfg.run.stats.path.as_ref().map(|_| STATS_FILE.to_string()),
    };
    let (trained, report) = match outcome {
        Ok(x) => x,
        Err(e @ Error::Diverged { .. }) => {
            rec.failed = Some(e.to_string());
            rec.curve = curve;
            return Ok(rec);
        }
        Err(e) => return Err(e),
    };
    rec.curve = curve;
    let wb = word_bands(scoring, &trained.vocab, cfg.corpus.min_count)?;
    let nb = wb.bands().len();
    rec.bands = wb.bands().labels();
    rec.band_words = (0..nb)
        .map(|b| {
            (0..trained.vocab.len())
                .filter(|&w| wb.band(w) == Some(b))
                .count()
        })
        .collect();
    rec.tokens_per_epoch = report.tokens_per_epoch;
    rec.train_seconds = report.train_seconds;
    rec.words_per_sec = Some(report.words_per_sec);
    rec.vectors_sha256 = Some(vectors_sha256(&trained)?);
    if let Some(p) = &cfg.run.stats.path {
        let stats = snapshot::read(p)?;
        if stats.incomplete().is_none() {
            rec.training = Some(band_training(&stats, wb.bands()));
            rec.depth_abs_g = Some(depth_abs_g(&stats));
        }
    }
    if cfg.params.loss == Loss::Hs {
        rec.depth_baseline = trained.tree.context_free_abs_g(trained.vocab.counts());
    }
    let dim = trained.input.dim();
    let dense = |m: &crate::kernel::FrozenMatrix| -> Vec<f32> {
        (0..m.rows()).flat_map(|r| m.row(r).to_vec()).collect()
    };
    let (input, inner) = (dense(&trained.input), dense(&trained.inner));
    let p = Params {
        vocab: &trained.vocab,
        tree: &trained.tree,
        input: &input,
        inner: &inner,
        dim,
    };
    let emb = embeddings(&trained.vocab, &input, dim);
    let (last, rr) = score_epoch(cfg.params.epochs, &p, &emb, cfg, scoring, &wb);
    rec.curve.push(last);
    rec.probe_rr = rr;
    rec.pairs = pair_scores(&emb, &scoring.suite, &wb);
    let (a, s) = evaluate(&emb, &scoring.suite, &wb);
    rec.analogy = a;
    rec.similarity = s;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::probes::ProbeEntry;

    fn entry(level: u64, split: &str) -> ProbeEntry {
        ProbeEntry {
            probe: b"p".to_vec().into(),
            parent: b"q".to_vec().into(),
            level,
            split: split.into(),
        }
    }

    #[test]
    fn level_scores_average_each_level_and_split() {
        let set = ProbeSet {
            entries: vec![
                entry(2, "test"),
                entry(5, "test"),
                entry(2, "test"),
                entry(2, "dev"),
            ],
        };
        let l = level_scores(&set, &[1.0, 0.5, 0.0, 0.25]);
        let got: Vec<(u64, &str, f64, usize)> = l
            .iter()
            .map(|x| (x.level, x.split.as_str(), x.mrr, x.n))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "dev", 0.25, 1),
                (2, "test", 0.5, 2),
                (5, "test", 0.5, 1)
            ]
        );
    }
}
