//! The probe and held-out parts of an evaluation (`--probes`, `--model`, `--heldout`): their
//! inputs, and their tables and JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::bands::Bands;
use crate::config::OutputFormat;
use crate::corpus::Corpus;
use crate::eval::heldout::{self, HeldoutLoss, ScoringModel};
use crate::eval::probes::{self, Estimate, LevelResult, ProbeSet};
use crate::eval::Embeddings;
use crate::io::word2vec::Vectors;
use crate::train::model_file::ModelFile;
use crate::{Error, Result};

/// The inputs, read before any long work so that a bad file fails at once.
pub struct Inputs {
    probes: Option<(PathBuf, ProbeSet)>,
    model: Option<(PathBuf, ModelFile)>,
    heldout: Option<Corpus>,
}

/// Reads the probe table, the whole model and the held-out text (which needs the model).
pub fn load(probes: Option<&Path>, model: Option<&Path>, heldout: Option<&Path>) -> Result<Inputs> {
    if heldout.is_some() && model.is_none() {
        return Err(Error::Config(
            "--heldout needs --model: the held-out loss scores the model's tree".into(),
        ));
    }
    let probes = match probes {
        Some(p) => Some((p.to_path_buf(), ProbeSet::load(p)?)),
        None => None,
    };
    let model = match model {
        Some(p) => Some((p.to_path_buf(), ModelFile::read(p)?)),
        None => None,
    };
    let heldout = match (heldout, &model) {
        (Some(_), Some((p, m))) if m.tree.is_none() => {
            return Err(Error::Config(format!(
                "held-out loss scores the hierarchical-softmax tree, but {} was trained with \
                 --loss ns",
                p.display()
            )))
        }
        (Some(h), _) => Some(Corpus::open(h)?),
        (None, _) => None,
    };
    Ok(Inputs {
        probes,
        model,
        heldout,
    })
}

/// What the probes and the held-out text measured.
pub struct Outcome {
    probes: Option<(PathBuf, usize, Vec<LevelResult>)>,
    heldout: Option<(PathBuf, HeldoutLoss)>,
}

impl Inputs {
    /// The model's input vectors as embeddings, when a model was given.
    pub fn model_embeddings(&self) -> Option<Embeddings> {
        let (_, m) = self.model.as_ref()?;
        Some(Embeddings::from_vectors(Vectors {
            words: m.vocab.words().to_vec(),
            dim: m.dim,
            data: m.input.clone(),
            format: OutputFormat::Binary,
        }))
    }

    /// Scores the probes against `emb` and the held-out text with the model; held-out
    /// bands start at `band_edges` if given, else one per power of ten from the smallest
    /// count in the model's vocabulary.
    pub fn evaluate(&self, emb: &Embeddings, band_edges: Option<&[u64]>) -> Result<Outcome> {
        let probes = self
            .probes
            .as_ref()
            .map(|(p, set)| (p.clone(), set.entries.len(), probes::evaluate(emb, set)));
        let heldout = match (&self.heldout, &self.model) {
            (Some(text), Some((_, m))) => {
                let tree = m.tree.as_ref().ok_or_else(|| {
                    Error::Internal("a model without a tree passed the held-out check".into())
                })?;
                let counts = m.vocab.counts();
                let lo = counts.iter().copied().min().unwrap_or(1);
                let hi = counts.iter().copied().max().unwrap_or(lo);
                let bands = match band_edges {
                    Some(e) => Bands::from_edges(e)?,
                    None => Bands::log10_from(lo).fit_to(hi),
                };
                let sm = ScoringModel {
                    vocab: &m.vocab,
                    input: &m.input,
                    output: &m.output,
                    dim: m.dim,
                    tree,
                    model: m.config.params.model,
                    window: m.config.params.window,
                };
                let loss = heldout::heldout_loss(&sm, text.bytes(), &bands);
                Some((text.path().to_path_buf(), loss))
            }
            _ => None,
        };
        Ok(Outcome { probes, heldout })
    }
}

fn estimate_json(e: &Option<Estimate>) -> (Value, Value) {
    match e {
        Some(e) => (json!(e.mean), json!([e.lo, e.hi])),
        None => (Value::Null, Value::Null),
    }
}

fn mean(sum: f64, n: u64) -> Value {
    if n == 0 {
        Value::Null
    } else {
        json!(sum / n as f64)
    }
}

impl Outcome {
    /// Adds `probes` and `heldout` members to the JSON document `doc`.
    pub fn add_json(&self, doc: &mut Value) {
        let Some(obj) = doc.as_object_mut() else {
            return;
        };
        if let Some((path, listed, levels)) = &self.probes {
            let rows: Vec<Value> = levels
                .iter()
                .map(|r| {
                    let (mrr, mrr_ci) = estimate_json(&r.mrr);
                    let (cos, cos_ci) = estimate_json(&r.cos);
                    let (rec, rec_ci) = estimate_json(&r.recall10);
                    json!({
                        "level": r.level, "split": r.split, "n": r.n, "listed": r.listed,
                        "mrr": mrr, "mrr_ci": mrr_ci, "cos": cos, "cos_ci": cos_ci,
                        "recall10": rec, "recall10_ci": rec_ci, "median_rank": r.median_rank,
                    })
                })
                .collect();
            obj.insert(
                "probes".into(),
                json!({
                    "file": path.display().to_string(),
                    "listed": listed,
                    "bootstrap_resamples": probes::BOOTSTRAP_RESAMPLES,
                    "levels": rows,
                }),
            );
        }
        if let Some((path, h)) = &self.heldout {
            let bands: Vec<Value> = h
                .bands
                .iter()
                .map(|b| {
                    json!({
                        "count_lo": b.count_lo, "count_hi": b.count_hi, "tokens": b.tokens,
                        "predictions": b.predictions, "nll": mean(b.nll_sum, b.predictions),
                        "nll_per_token": mean(b.nll_sum, b.tokens), "nll_sum": b.nll_sum,
                        "nll_uniform": mean(b.uniform_sum, b.predictions),
                    })
                })
                .collect();
            let depths: Vec<Value> = h
                .depths
                .iter()
                .map(|d| {
                    json!({"depth": d.depth, "visits": d.visits, "nll": mean(d.nll_sum, d.visits),
                           "nll_sum": d.nll_sum})
                })
                .collect();
            obj.insert(
                "heldout".into(),
                json!({
                    "file": path.display().to_string(),
                    "words": h.words,
                    "oov": h.oov,
                    "no_context": h.no_context,
                    "tokens": h.tokens,
                    "predictions": h.predictions,
                    "nll_per_token": h.nll_per_token(),
                    "nll_per_prediction": h.nll_per_prediction(),
                    "nll_sum": h.nll_sum,
                    "nll_uniform_per_prediction": mean(h.uniform_sum, h.predictions),
                    "bands": bands,
                    "depths": depths,
                }),
            );
        }
    }

    /// The tables, for standard output.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some((path, listed, levels)) = &self.probes {
            let scored: usize = levels.iter().map(|r| r.n).sum();
            let _ = writeln!(
                s,
                "\nprobes {}: {scored} of {listed} scored (probe and parent both have vectors); \
                 95% bootstrap intervals",
                path.display()
            );
            let _ = writeln!(
                s,
                "  {:>5}  {:<5}  {:>5}  {:<22}  {:<22}  {:<22}  {:>8}",
                "level", "split", "n", "MRR", "cosine", "recall@10", "med.rank"
            );
            let cell = |e: &Option<Estimate>| match e {
                Some(e) => format!("{:.3} [{:.3}, {:.3}]", e.mean, e.lo, e.hi),
                None => "-".into(),
            };
            for r in levels {
                let _ = writeln!(
                    s,
                    "  {:>5}  {:<5}  {:>5}  {:<22}  {:<22}  {:<22}  {:>8}",
                    r.level,
                    r.split,
                    r.n,
                    cell(&r.mrr),
                    cell(&r.cos),
                    cell(&r.recall10),
                    r.median_rank.map_or("-".into(), |m| format!("{m}"))
                );
            }
        }
        if let Some((path, h)) = &self.heldout {
            let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
            let _ = writeln!(
                s,
                "\nheld-out loss on {}: {} tokens predicted, {} predictions; NLL {} nats per \
                 token, {} per prediction (uniform-node reference {}; {} of {} words not in \
                 the vocabulary, {} without context)",
                path.display(),
                h.tokens,
                h.predictions,
                f(h.nll_per_token()),
                f(h.nll_per_prediction()),
                f((h.predictions > 0).then(|| h.uniform_sum / h.predictions as f64)),
                h.oov,
                h.words,
                h.no_context
            );
            let _ = writeln!(
                s,
                "  {:<17}  {:>10}  {:>12}  {:>10}  {:>13}",
                "band (count)", "tokens", "predictions", "NLL/pred", "uniform/pred"
            );
            let per = |sum: f64, n: u64| f((n > 0).then(|| sum / n as f64));
            for b in &h.bands {
                let _ = writeln!(
                    s,
                    "  {:<17}  {:>10}  {:>12}  {:>10}  {:>13}",
                    format!("{}-{}", b.count_lo, b.count_hi),
                    b.tokens,
                    b.predictions,
                    per(b.nll_sum, b.predictions),
                    per(b.uniform_sum, b.predictions)
                );
            }
            let _ = writeln!(s, "  {:<5}  {:>12}  {:>10}", "depth", "visits", "NLL/visit");
            for d in &h.depths {
                let _ = writeln!(
                    s,
                    "  {:<5}  {:>12}  {:>10}",
                    d.depth,
                    d.visits,
                    f((d.visits > 0).then(|| d.nll_sum / d.visits as f64))
                );
            }
        }
        s
    }
}

/// The file the evaluated vectors come from, for messages.
pub fn vectors_label(vectors: Option<&Path>, model: Option<&Path>) -> String {
    vectors
        .or(model)
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
