//! An evaluation run, as `huffvec eval` and the Python package make it: which analogy and
//! similarity sets, how words are restricted and banded, probes and held-out loss; the
//! results as one JSON document (schema in `docs/formats.md`) and as tables.

pub mod extra;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::bands::{Bands, Basis, WordBands};
use crate::eval::analogy::{self, AnalogyResult, Method, QuestionSet, Tally};
use crate::eval::similarity::{self, PairSet, SimilarityResult};
use crate::eval::Embeddings;
use crate::vocab::Vocab;
use crate::{Error, Result};

/// What to evaluate and how: the options of `huffvec eval` (defaults are its defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct EvalSettings {
    /// Vectors to evaluate (word2vec text or binary) [default: the input vectors of `model`].
    pub vectors: Option<PathBuf>,
    /// Analogy files (`: section` lines, then `a b c d` lines).
    pub analogy: Vec<PathBuf>,
    /// Word-similarity files (`w1<TAB>w2<TAB>score` lines).
    pub similarity: Vec<PathBuf>,
    /// Directories of eval files: `questions-words*.txt` are analogy sets, other `*.txt`
    /// similarity sets; with none of these three given, the bundled sets.
    pub eval_dir: Vec<PathBuf>,
    /// Analogies use only the N most frequent words.
    pub restrict: usize,
    /// Similarity pairs use only the N most frequent words.
    pub similarity_restrict: usize,
    /// 3CosAdd or 3CosMul.
    pub method: Method,
    /// Vocabulary with corpus counts: bands by corpus count instead of frequency rank.
    pub vocab: Option<PathBuf>,
    /// Number of log-spaced frequency bands [default: one per power of ten].
    pub bands: Option<usize>,
    /// Explicit lower band edges (counts, or ranks without `vocab`).
    pub band_edges: Option<Vec<u64>>,
    /// Probe table from `huffvec plant`.
    pub probes: Option<PathBuf>,
    /// Whole model from `huffvec train --save-model`.
    pub model: Option<PathBuf>,
    /// Held-out text, scored with `model`.
    pub heldout: Option<PathBuf>,
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings {
            vectors: None,
            analogy: Vec::new(),
            similarity: Vec::new(),
            eval_dir: Vec::new(),
            restrict: 30_000,
            similarity_restrict: 300_000,
            method: Method::Add,
            vocab: None,
            bands: None,
            band_edges: None,
            probes: None,
            model: None,
            heldout: None,
        }
    }
}

/// Every input of an evaluation except the vectors, read before any long work so that a
/// bad file fails at once.
pub struct EvalInputs {
    settings: EvalSettings,
    analogy: Vec<(String, QuestionSet)>,
    similarity: Vec<(String, PairSet)>,
    extra: extra::Inputs,
}

/// The result of an evaluation: the JSON document of `huffvec eval --json` and the tables
/// it prints without `--json`.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The JSON document.
    pub json: Value,
    /// The tables, as text.
    pub text: String,
}

impl EvalInputs {
    /// Reads every set, probe table, model and held-out text that `settings` names.
    pub fn load(settings: &EvalSettings) -> Result<Self> {
        let (analogy_files, similarity_files) = eval_files(settings)?;
        let analogy = analogy_files
            .iter()
            .map(|p| Ok((stem(p), QuestionSet::load(p)?)))
            .collect::<Result<Vec<_>>>()?;
        let similarity = similarity_files
            .iter()
            .map(|p| Ok((stem(p), PairSet::load(p)?)))
            .collect::<Result<Vec<_>>>()?;
        let extra = extra::load(
            settings.probes.as_deref(),
            settings.model.as_deref(),
            settings.heldout.as_deref(),
        )?;
        Ok(EvalInputs {
            settings: settings.clone(),
            analogy,
            similarity,
            extra,
        })
    }

    /// Evaluates `given` (vectors already in memory, with the label the document names
    /// them by), else the settings' vectors file, else the model's input vectors.
    pub fn evaluate(&self, given: Option<(String, &Embeddings)>) -> Result<Evaluation> {
        let s = &self.settings;
        let t0 = Instant::now();
        let read;
        let (label, emb) = match (given, &s.vectors, self.extra.model_embeddings()) {
            (Some((label, e)), _, _) => (label, e),
            (None, Some(p), _) => {
                read = load_vectors(p)?;
                (vectors_label(s), &read)
            }
            (None, None, Some(e)) => {
                read = e;
                (vectors_label(s), &read)
            }
            (None, None, None) => {
                return Err(Error::Config("give --vectors FILE or --model FILE".into()))
            }
        };
        let load_seconds = t0.elapsed().as_secs_f64();
        let (bands, unbanded) = word_bands(s, &label, emb)?;

        let mut analogy_results = Vec::new();
        for (name, set) in &self.analogy {
            let t = Instant::now();
            let r = analogy::evaluate(emb, set, s.restrict, s.method, Some(&bands));
            analogy_results.push((name.clone(), r, t.elapsed().as_secs_f64()));
        }
        let mut similarity_results = Vec::new();
        for (name, set) in &self.similarity {
            let t = Instant::now();
            let r = similarity::evaluate(emb, set, s.similarity_restrict, Some(&bands));
            similarity_results.push((name.clone(), r, t.elapsed().as_secs_f64()));
        }
        let report = Report {
            settings: s,
            label: &label,
            emb,
            load_seconds,
            bands: &bands,
            unbanded,
            analogy: &analogy_results,
            similarity: &similarity_results,
        };
        let outcome = self.extra.evaluate(emb, s.band_edges.as_deref())?;
        let mut json = report.json();
        outcome.add_json(&mut json);
        let mut text = String::new();
        report.render(&mut text);
        text.push_str(&outcome.render());
        Ok(Evaluation { json, text })
    }
}

/// Reads `settings`' inputs, then evaluates `given` or the vectors they name (see
/// [`EvalInputs::evaluate`]).
pub fn evaluate(
    settings: &EvalSettings,
    given: Option<(String, &Embeddings)>,
) -> Result<Evaluation> {
    EvalInputs::load(settings)?.evaluate(given)
}

/// Reads a vectors file, refusing one with no vectors.
pub fn load_vectors(path: &Path) -> Result<Embeddings> {
    let e = Embeddings::read(path)?;
    if e.is_empty() {
        return Err(Error::Config(format!(
            "{} holds no vectors",
            path.display()
        )));
    }
    Ok(e)
}

/// The `*.txt` files of an evaluation directory, sorted.
pub fn txt_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("cannot list eval directory", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The eval files, split into analogy and similarity sets.
fn eval_files(s: &EvalSettings) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut analogy_files = s.analogy.clone();
    let mut similarity_files = s.similarity.clone();
    let nothing_given =
        analogy_files.is_empty() && similarity_files.is_empty() && s.eval_dir.is_empty();
    let dirs = if nothing_given {
        vec![crate::config::bundled_eval_dir()?]
    } else {
        s.eval_dir.clone()
    };
    for dir in &dirs {
        for p in txt_files(dir)? {
            let stem = p.file_stem().unwrap_or_default().to_string_lossy();
            if stem.starts_with("questions-words") {
                analogy_files.push(p);
            } else {
                similarity_files.push(p);
            }
        }
    }
    let extra_asked = s.probes.is_some() || s.heldout.is_some();
    if analogy_files.is_empty() && similarity_files.is_empty() && !extra_asked {
        return Err(Error::Config(
            "nothing to evaluate: give --analogy FILE, --similarity FILE, --eval-dir DIR, \
             --probes FILE or --heldout TEXT"
                .into(),
        ));
    }
    let mut stems: Vec<String> = analogy_files
        .iter()
        .chain(&similarity_files)
        .map(|p| stem(p))
        .collect();
    stems.sort();
    if let Some(w) = stems.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::Config(format!(
            "two eval files are named '{}'; results are keyed by file name, so rename one",
            w[0]
        )));
    }
    Ok((analogy_files, similarity_files))
}

fn vectors_label(s: &EvalSettings) -> String {
    extra::vectors_label(s.vectors.as_deref(), s.model.as_deref())
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .unwrap_or(p.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Bands for the vectors (`label` names them in messages), with the number of words that
/// are not in the vocabulary file (if one is given) and so have no band.
fn word_bands(s: &EvalSettings, label: &str, emb: &Embeddings) -> Result<(WordBands, usize)> {
    let edges = |basis: Basis, lo: u64, hi: u64| -> Result<Bands> {
        Ok(match (&s.band_edges, s.bands) {
            (Some(e), _) => Bands::from_edges(e)?.with_basis(basis),
            (None, Some(n)) => Bands::log_spaced(basis, lo, hi, n)?,
            (None, None) => match basis {
                Basis::Count => Bands::log10_from(lo).fit_to(hi),
                Basis::Rank => Bands::log10_ranks().fit_to(hi),
            },
        })
    };
    match &s.vocab {
        None => {
            let n = emb.len();
            Ok((
                WordBands::from_ranks(edges(Basis::Rank, 1, n as u64)?, n),
                0,
            ))
        }
        Some(path) => {
            let vocab = Vocab::load(path)?;
            let counts: Vec<Option<u64>> = emb
                .words()
                .iter()
                .map(|w| vocab.id(w).map(|i| vocab.counts()[i as usize]))
                .collect();
            let known: Vec<u64> = counts.iter().flatten().copied().collect();
            if known.is_empty() {
                return Err(Error::Config(format!(
                    "no word of {label} is in the vocabulary {}; is it the right --vocab file?",
                    path.display()
                )));
            }
            let lo = known.iter().copied().min().unwrap_or(1);
            let hi = known.iter().copied().max().unwrap_or(lo);
            let missing = counts.len() - known.len();
            Ok((
                WordBands::from_counts(edges(Basis::Count, lo, hi)?, counts),
                missing,
            ))
        }
    }
}

fn tally_json(t: &Tally) -> Value {
    json!({
        "acc": t.accuracy_pct(),
        "correct": t.correct,
        "seen": t.seen,
        "questions": t.questions,
    })
}

fn analogy_json(r: &AnalogyResult, seconds: f64) -> Value {
    let total = r.total();
    let sections: Map<String, Value> = r
        .sections
        .iter()
        .map(|(name, t)| (name.clone(), tally_json(t)))
        .collect();
    json!({
        "method": r.method,
        "restrict": r.restrict,
        "total_acc": total.accuracy_pct(),
        "semantic_acc": r.semantic.accuracy_pct(),
        "syntactic_acc": r.syntactic.accuracy_pct(),
        "correct": total.correct,
        "seen": total.seen,
        "questions": total.questions,
        "coverage": total.coverage_pct(),
        "semantic": tally_json(&r.semantic),
        "syntactic": tally_json(&r.syntactic),
        "sections": sections,
        "seconds": seconds,
    })
}

fn similarity_json(r: &SimilarityResult, seconds: f64) -> Value {
    json!({
        "rho": r.overall.rho,
        "pairs": r.overall.pairs,
        "total": r.total,
        "coverage": r.coverage_pct(),
        "restrict": r.restrict,
        "seconds": seconds,
    })
}

/// Everything an evaluation measured, rendered as tables or JSON.
struct Report<'a> {
    settings: &'a EvalSettings,
    label: &'a str,
    emb: &'a Embeddings,
    load_seconds: f64,
    bands: &'a WordBands,
    unbanded: usize,
    analogy: &'a [(String, AnalogyResult, f64)],
    similarity: &'a [(String, SimilarityResult, f64)],
}

impl Report<'_> {
    fn basis_note(&self) -> String {
        match &self.settings.vocab {
            Some(v) => format!("bands by corpus count (vocabulary {})", v.display()),
            None => "bands by frequency rank in the vectors file (no --vocab given, so no \
                     corpus counts)"
                .to_string(),
        }
    }

    fn words_per_band(&self) -> Vec<usize> {
        let mut n = vec![0usize; self.bands.bands().len()];
        for id in 0..self.emb.len() {
            if let Some(b) = self.bands.band(id) {
                n[b] += 1;
            }
        }
        n
    }

    fn json(&self) -> Value {
        let b = self.bands.bands();
        let labels = b.labels();
        let analogy: Map<String, Value> = self
            .analogy
            .iter()
            .map(|(k, r, s)| (k.clone(), analogy_json(r, *s)))
            .collect();
        let similarity: Map<String, Value> = self
            .similarity
            .iter()
            .map(|(k, r, s)| (k.clone(), similarity_json(r, *s)))
            .collect();
        let band_analogy: Map<String, Value> = self
            .analogy
            .iter()
            .map(|(k, r, _)| {
                let rows = r.bands.iter().flatten().zip(&labels).map(|(t, label)| {
                    json!({"band": label, "acc": t.accuracy_pct(), "correct": t.correct,
                           "seen": t.seen})
                });
                (k.clone(), Value::Array(rows.collect()))
            })
            .collect();
        let band_similarity: Map<String, Value> =
            self.similarity
                .iter()
                .map(|(k, r, _)| {
                    let rows =
                        r.bands.iter().flatten().zip(&labels).map(
                            |(c, label)| json!({"band": label, "rho": c.rho, "pairs": c.pairs}),
                        );
                    (k.clone(), Value::Array(rows.collect()))
                })
                .collect();
        json!({
            "vectors": self.label,
            "words": self.emb.len(),
            "dim": self.emb.dim(),
            "duplicate_words": self.emb.duplicates(),
            "load_seconds": self.load_seconds,
            "analogy": analogy,
            "similarity": similarity,
            "bands": {
                "basis": b.basis(),
                "vocab": self.settings.vocab.as_ref().map(|p| p.display().to_string()),
                "note": self.basis_note(),
                "labels": labels,
                "edges": b.edges(),
                "words": self.words_per_band(),
                "unbanded_words": self.unbanded,
                "analogy": band_analogy,
                "similarity": band_similarity,
            },
        })
    }

    /// The whole report as text: the vectors line, then each table.
    fn render(&self, s: &mut String) {
        use std::fmt::Write as _;
        let e = self.emb;
        let _ = writeln!(
            s,
            "vectors {}: {} words, dim {} (read in {:.2}s{})",
            self.label,
            e.len(),
            e.dim(),
            self.load_seconds,
            if e.duplicates() > 0 {
                format!("; {} repeated words ignored", e.duplicates())
            } else {
                String::new()
            }
        );
        for (name, r, secs) in self.analogy {
            render_analogy(s, name, r, *secs);
        }
        self.render_similarity(s);
        self.render_bands(s);
    }

    /// The similarity table: each set's rho, pairs and coverage.
    fn render_similarity(&self, s: &mut String) {
        use std::fmt::Write as _;
        if self.similarity.is_empty() {
            return;
        }
        let width = self
            .similarity
            .iter()
            .map(|(n, ..)| n.len())
            .max()
            .unwrap_or(0)
            .max(10);
        let _ = writeln!(
            s,
            "\n{:<width$}  {:>7}  {:>11}  {:>8}",
            "similarity", "rho", "pairs", "coverage"
        );
        for (name, r, _) in self.similarity {
            let _ = writeln!(
                s,
                "{name:<width$}  {:>7.4}  {:>11}  {:>7.1}%",
                r.overall.rho,
                format!("{}/{}", r.overall.pairs, r.total),
                r.coverage_pct()
            );
        }
    }

    /// The band table: per band, its words and every set's score, after the bands' basis.
    fn render_bands(&self, s: &mut String) {
        use std::fmt::Write as _;
        if self.analogy.is_empty() && self.similarity.is_empty() {
            return;
        }
        let _ = writeln!(s, "\n{}", self.basis_note());
        if self.unbanded > 0 {
            let _ = writeln!(
                s,
                "({} vector words are not in the vocabulary and have no band)",
                self.unbanded
            );
        }
        let labels = self.bands.bands().labels();
        let bw = labels.iter().map(String::len).max().unwrap_or(4).max(4);
        let cols: Vec<String> = self
            .analogy
            .iter()
            .map(|(n, ..)| format!("{n} acc (seen)"))
            .chain(
                self.similarity
                    .iter()
                    .map(|(n, ..)| format!("{n} rho (pairs)")),
            )
            .collect();
        let _ = write!(s, "  {:<bw$}  {:>7}", "band", "words");
        for c in &cols {
            let _ = write!(s, "  {c:>w$}", w = c.len().max(16));
        }
        let _ = writeln!(s);
        for (i, (label, words)) in labels.iter().zip(self.words_per_band()).enumerate() {
            let _ = write!(s, "  {label:<bw$}  {words:>7}");
            let mut c = cols.iter();
            for (_, r, _) in self.analogy {
                let w = c.next().map_or(16, |c| c.len().max(16));
                let cell = match r.bands.as_ref().map(|b| b[i]) {
                    Some(t) if t.seen > 0 => format!("{:.2}% ({})", t.accuracy_pct(), t.seen),
                    _ => "-".into(),
                };
                let _ = write!(s, "  {cell:>w$}");
            }
            for (_, r, _) in self.similarity {
                let w = c.next().map_or(16, |c| c.len().max(16));
                let cell = match r.bands.as_ref().map(|b| b[i]) {
                    Some(x) if x.pairs > 0 => format!("{:.4} ({})", x.rho, x.pairs),
                    _ => "-".into(),
                };
                let _ = write!(s, "  {cell:>w$}");
            }
            let _ = writeln!(s);
        }
    }
}

/// The table of analogy set `name`: its totals, then one row per section.
fn render_analogy(s: &mut String, name: &str, r: &AnalogyResult, secs: f64) {
    use std::fmt::Write as _;
    let t = r.total();
    let method = match r.method {
        Method::Add => "3CosAdd",
        Method::Mul => "3CosMul",
    };
    let _ = writeln!(
        s,
        "\nanalogy {name} ({method}, top {} words, {secs:.2}s): {:.2}% total, \
         {:.2}% semantic, {:.2}% syntactic; seen {}/{} ({:.1}%)",
        r.restrict,
        t.accuracy_pct(),
        r.semantic.accuracy_pct(),
        r.syntactic.accuracy_pct(),
        t.seen,
        t.questions,
        t.coverage_pct()
    );
    let width = r
        .sections
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = writeln!(
        s,
        "  {:<width$}  {:>7}  {:>13}  {:>9}",
        "section", "acc", "correct/seen", "questions"
    );
    for (name, t) in &r.sections {
        let _ = writeln!(
            s,
            "  {name:<width$}  {:>6.2}%  {:>13}  {:>9}",
            t.accuracy_pct(),
            format!("{}/{}", t.correct, t.seen),
            t.questions
        );
    }
}
