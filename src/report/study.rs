//! `huffvec study`: train every configuration of a [`Grid`](super::grid::Grid) on one
//! corpus (same seed, epochs and threads), evaluate each overall and per word-frequency
//! band, and write `DIR/report.md`, `DIR/index.html` and `DIR/study.json` comparing them
//! with the reference (the grid's first configuration).
//!
//! Bands are decades of corpus count from the minimum count (5-9, 10-99, ...), the bands of
//! `huffvec eval --vocab`: an analogy question belongs to the band of its expected answer,
//! a similarity pair to the band of its rarer word. A configuration that diverges is
//! recorded as such and the study goes on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::bands::{Bands, WordBands};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::eval::analogy::{self, Method, QuestionSet};
use crate::eval::similarity::{self, PairSet};
use crate::eval::Embeddings;
use crate::io::word2vec::Vectors;
use crate::train::{self, Silent, TrainReport, Trained};

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
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io("cannot list eval directory", dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt") && p.is_file())
            .collect();
        files.sort();
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

/// One configuration to train.
#[derive(Clone, Debug)]
pub struct PlannedRun {
    /// Its name in the grid.
    pub name: String,
    /// Its own train options, as written in the grid (for the report).
    pub args: Vec<String>,
    /// The full, validated configuration.
    pub cfg: TrainConfig,
}

/// A score overall and per band; `None` where undefined (no question, < 2 pairs).
#[derive(Clone, Debug, Serialize)]
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

/// Input-side training statistics of one band, from telemetry.
#[derive(Clone, Debug, Serialize)]
pub struct BandTraining {
    /// Input-vector updates per word of the band over the run.
    pub updates_per_word: f64,
    /// Mean norm of one input-vector step (one prediction's accumulated update).
    pub mean_step_norm: Option<f64>,
}

/// The outcome of one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// Its name in the grid.
    pub name: String,
    /// Its own options.
    pub args: String,
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
    /// Seed.
    pub seed: u64,
    /// Options shared by every configuration (the grid's base and the study's own).
    pub base: String,
    /// Band labels.
    pub bands: Vec<String>,
    /// Vocabulary words per band (of the reference run).
    pub band_words: Vec<usize>,
    /// Tokens per epoch.
    pub tokens_per_epoch: u64,
    /// Machine description.
    pub machine: String,
    /// One entry per configuration, reference first.
    pub runs: Vec<RunResult>,
}

/// Count bands for `vocab_counts` (decades from `min_count`), and each word's band table.
fn bands_for(counts: &[u64], min_count: u64) -> WordBands {
    let max = counts.iter().copied().max().unwrap_or(min_count);
    let bands = Bands::log10_from(min_count).fit_to(max);
    WordBands::from_counts(bands, counts.iter().map(|&c| Some(c)))
}

/// The trained input vectors as evaluation embeddings (ids = vocabulary ids).
fn embeddings(t: &mut Trained) -> Embeddings {
    let dim = t.input.dim();
    let words: Vec<Box<[u8]>> = (0..t.vocab.len()).map(|i| t.vocab.word(i).into()).collect();
    let mut data = Vec::with_capacity(words.len() * dim);
    for i in 0..words.len() {
        data.extend_from_slice(t.input.row(i));
    }
    Embeddings::from_vectors(Vectors {
        words,
        dim,
        data,
        format: crate::config::OutputFormat::Text,
    })
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

/// Trains one configuration; `None` training statistics until telemetry is wired in.
fn train_one(cfg: &TrainConfig) -> Result<(Trained, TrainReport, Option<Vec<BandTraining>>)> {
    let (trained, report) = train::train(cfg, &Silent)?;
    Ok((trained, report, None))
}

/// Runs every configuration in order; `note` hears one line per stage.
pub fn run(
    grid: &str,
    base: &str,
    runs: &[PlannedRun],
    suite: &EvalSuite,
    note: &dyn Fn(&str),
) -> Result<StudyResult> {
    let first = runs
        .first()
        .ok_or_else(|| Error::Config("the study has no configuration".into()))?;
    let mut result = StudyResult {
        grid: grid.into(),
        corpus: first.cfg.input.display().to_string(),
        epochs: first.cfg.epochs,
        threads: first.cfg.threads,
        seed: first.cfg.seed,
        base: base.into(),
        bands: Vec::new(),
        band_words: Vec::new(),
        tokens_per_epoch: 0,
        machine: super::bench::machine_name(),
        runs: Vec::new(),
    };
    for (i, r) in runs.iter().enumerate() {
        note(&format!(
            "[{}/{}] {}: training {}",
            i + 1,
            runs.len(),
            r.name,
            if r.args.is_empty() {
                "(reference options)".to_string()
            } else {
                r.args.join(" ")
            }
        ));
        let t0 = Instant::now();
        let outcome = train_one(&r.cfg);
        let mut row = RunResult {
            name: r.name.clone(),
            args: r.args.join(" "),
            words_per_sec: None,
            train_seconds: t0.elapsed().as_secs_f64(),
            failed: None,
            analogy: Vec::new(),
            similarity: Vec::new(),
            training: None,
        };
        match outcome {
            Ok((mut trained, report, training)) => {
                let wb = bands_for(trained.vocab.counts(), r.cfg.min_count);
                if result.bands.is_empty() {
                    result.bands = wb.bands().labels();
                    result.band_words = (0..wb.bands().len())
                        .map(|b| {
                            (0..trained.vocab.len())
                                .filter(|&w| wb.band(w) == Some(b))
                                .count()
                        })
                        .collect();
                    result.tokens_per_epoch = report.tokens_per_epoch;
                }
                row.words_per_sec = Some(report.words_per_sec);
                row.train_seconds = report.train_seconds;
                row.training = training;
                let emb = embeddings(&mut trained);
                let (a, s) = evaluate(&emb, suite, &wb);
                row.analogy = a;
                row.similarity = s;
                note(&format!(
                    "[{}/{}] {}: {:.0} words/s; {}",
                    i + 1,
                    runs.len(),
                    r.name,
                    report.words_per_sec,
                    headline(&row)
                ));
            }
            Err(e @ Error::Diverged { .. }) => {
                note(&format!("[{}/{}] {}: {e}", i + 1, runs.len(), r.name));
                row.failed = Some(e.to_string());
            }
            Err(e) => return Err(e),
        }
        result.runs.push(row);
    }
    Ok(result)
}

/// "analogy 20.1%, MEN 0.62, ..." for one run.
fn headline(r: &RunResult) -> String {
    let a = r
        .analogy
        .iter()
        .map(|s| format!("{} {}", s.set, fmt_pct(s.overall)));
    let s = r
        .similarity
        .iter()
        .map(|s| format!("{} {}", s.set, fmt_rho(s.overall)));
    a.chain(s).collect::<Vec<_>>().join(", ")
}

fn fmt_pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{v:.1}%"))
}

fn fmt_rho(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{v:.3}"))
}

fn fmt_delta(x: Option<f64>, reference: Option<f64>, pct: bool) -> String {
    match (x, reference) {
        (Some(v), Some(r)) if pct => format!("{:+.1}", v - r),
        (Some(v), Some(r)) => format!("{:+.3}", v - r),
        _ => "–".into(),
    }
}

/// One Markdown table.
fn md_table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|", header.join(" | "));
    for _ in header {
        s.push_str("---|");
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// Pair-weighted mean of the per-band rho over the similarity sets.
fn pooled_similarity(r: &RunResult, band: usize) -> (Option<f64>, usize) {
    let (mut sum, mut n) = (0.0, 0usize);
    for s in &r.similarity {
        if let (Some(Some(rho)), Some(&k)) = (s.bands.get(band), s.band_n.get(band)) {
            sum += rho * k as f64;
            n += k;
        }
    }
    ((n > 0).then(|| sum / n as f64), n)
}

/// One table of the report.
struct Table {
    title: String,
    about: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl StudyResult {
    /// The report's tables, cells in Markdown.
    fn tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
        let runs = &self.runs;
        let Some(reference) = runs.first() else {
            return out;
        };
        let mut header = vec!["config".to_string(), "options".into(), "words/s".into()];
        let sets: Vec<&str> = reference
            .analogy
            .iter()
            .chain(&reference.similarity)
            .map(|s| s.set.as_str())
            .collect();
        header.extend(sets.iter().map(|s| s.to_string()));
        let rows = runs
            .iter()
            .map(|r| {
                let mut row = vec![
                    format!("`{}`", r.name),
                    if r.args.is_empty() {
                        "(reference)".into()
                    } else {
                        format!("`{}`", r.args)
                    },
                    r.words_per_sec
                        .map_or_else(|| "diverged".into(), |w| format!("{w:.0}")),
                ];
                row.extend(r.analogy.iter().map(|s| fmt_pct(s.overall)));
                row.extend(r.similarity.iter().map(|s| fmt_rho(s.overall)));
                row
            })
            .collect();
        out.push(Table {
            title: "Overall".into(),
            about:
                "Throughput over all threads, analogy accuracy (3CosAdd, first 30,000 words) and \
             Spearman's rho of each similarity set."
                    .into(),
            header,
            rows,
        });

        let band_header = |n: &dyn Fn(usize) -> usize| {
            let mut h = vec!["config".to_string()];
            h.extend(
                self.bands
                    .iter()
                    .enumerate()
                    .map(|(b, l)| format!("{l} (n={})", n(b))),
            );
            h
        };
        for (k, set) in reference.analogy.iter().enumerate() {
            let header = band_header(&|b| set.band_n.get(b).copied().unwrap_or(0));
            let rows = runs
                .iter()
                .map(|r| {
                    let mut row = vec![format!("`{}`", r.name)];
                    for b in 0..self.bands.len() {
                        let v = r
                            .analogy
                            .get(k)
                            .and_then(|s| s.bands.get(b).copied().flatten());
                        let rv = set.bands.get(b).copied().flatten();
                        row.push(if r.name == reference.name {
                            fmt_pct(v)
                        } else {
                            format!("{} ({})", fmt_pct(v), fmt_delta(v, rv, true))
                        });
                    }
                    row
                })
                .collect();
            out.push(Table {
                title: format!("Analogy accuracy by band of the answer: {}", set.set),
                about: "Accuracy in % over the questions whose expected word falls in the band \
                 (n = questions answered by the reference); other rows show the change from \
                 the reference in points."
                    .into(),
                header,
                rows,
            });
        }
        if !reference.similarity.is_empty() {
            let header = band_header(&|b| pooled_similarity(reference, b).1);
            let rows = runs
                .iter()
                .map(|r| {
                    let mut row = vec![format!("`{}`", r.name)];
                    for b in 0..self.bands.len() {
                        let v = pooled_similarity(r, b).0;
                        let rv = pooled_similarity(reference, b).0;
                        row.push(if r.name == reference.name {
                            fmt_rho(v)
                        } else {
                            format!("{} ({})", fmt_rho(v), fmt_delta(v, rv, false))
                        });
                    }
                    row
                })
                .collect();
            out.push(Table {
                title: "Similarity by band of the rarer word (all sets)".into(),
                about: "Spearman's rho per band of the rarer word of each pair, averaged over the \
                 similarity sets weighted by their pairs in the band (n); change from the \
                 reference in brackets."
                    .into(),
                header,
                rows,
            });
        }
        if runs.iter().any(|r| r.training.is_some()) {
            for (title, pick) in [
                (
                    "Input-vector updates per word, by band",
                    (|t: &BandTraining| Some(t.updates_per_word))
                        as fn(&BandTraining) -> Option<f64>,
                ),
                ("Mean input-step norm, by band", |t: &BandTraining| {
                    t.mean_step_norm
                }),
            ] {
                let header = band_header(&|b| self.band_words.get(b).copied().unwrap_or(0));
                let rows = runs
                    .iter()
                    .map(|r| {
                        let mut row = vec![format!("`{}`", r.name)];
                        for b in 0..self.bands.len() {
                            let v = r.training.as_ref().and_then(|t| t.get(b)).and_then(pick);
                            row.push(v.map_or("–".into(), |v| format!("{v:.4}")));
                        }
                        row
                    })
                    .collect();
                out.push(Table {
                    title: title.into(),
                    about: "From the run's telemetry (input side: the vectors that become the \
                     embeddings); n = vocabulary words in the band."
                        .into(),
                    header,
                    rows,
                });
            }
        }
        out
    }

    /// Which configurations helped the rarest band with data and which hurt the frequent
    /// bands, judged on the pooled similarity and the first analogy set.
    pub fn verdict(&self) -> Vec<String> {
        let Some(reference) = self.runs.first() else {
            return Vec::new();
        };
        let nb = self.bands.len();
        // The rarest band where the reference has at least 20 similarity pairs.
        let rare = (0..nb).find(|&b| pooled_similarity(reference, b).1 >= 20);
        let frequent: Vec<usize> = (0..nb)
            .filter(|&b| Some(b) > rare && pooled_similarity(reference, b).1 >= 20)
            .collect();
        let mut lines = Vec::new();
        for r in self.runs.iter().skip(1) {
            if r.failed.is_some() {
                lines.push(format!("- `{}` diverged.", r.name));
                continue;
            }
            let d = |b: usize| {
                let (v, _) = pooled_similarity(r, b);
                let (rv, _) = pooled_similarity(reference, b);
                v.zip(rv).map(|(v, rv)| v - rv)
            };
            let rare_d = rare.and_then(d);
            let freq_d: Vec<f64> = frequent.iter().filter_map(|&b| d(b)).collect();
            let freq_mean =
                (!freq_d.is_empty()).then(|| freq_d.iter().sum::<f64>() / freq_d.len() as f64);
            let a = |run: &RunResult| run.analogy.first().and_then(|s| s.overall);
            let analogy_d = a(r).zip(a(reference)).map(|(x, y)| x - y);
            lines.push(format!(
                "- `{}`: rarest band ({}) rho {}, frequent bands ({}) rho {} on average, analogy {} points.",
                r.name,
                rare.map_or("–".into(), |b| self.bands[b].clone()),
                rare_d.map_or("–".into(), |v| format!("{v:+.3}")),
                frequent
                    .iter()
                    .map(|&b| self.bands[b].as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                freq_mean.map_or("–".into(), |v| format!("{v:+.3}")),
                analogy_d.map_or("–".into(), |v| format!("{v:+.1}")),
            ));
        }
        lines
    }

    fn preamble(&self) -> String {
        let bands: Vec<String> = self
            .bands
            .iter()
            .zip(&self.band_words)
            .map(|(l, n)| format!("{l} ({n} words)"))
            .collect();
        format!(
            "Corpus `{}` ({} tokens per epoch), {} epoch(s), {} thread(s), seed {}; shared \
             options `{}`; machine: {}. Bands by corpus count: {}. Every configuration is \
             the reference plus its own options.",
            self.corpus,
            self.tokens_per_epoch,
            self.epochs,
            self.threads,
            self.seed,
            if self.base.is_empty() {
                "(none)"
            } else {
                &self.base
            },
            self.machine,
            bands.join(", ")
        )
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!("# huffvec study: {}\n\n{}\n\n", self.grid, self.preamble());
        for t in self.tables() {
            s.push_str(&format!(
                "## {}\n\n{}\n\n{}\n",
                t.title,
                t.about,
                md_table(&t.header, &t.rows)
            ));
        }
        s.push_str("## Against the reference\n\nSimilarity rho change in the rarest band with at least 20 pairs and, averaged, in the more frequent bands with at least 20 pairs; analogy change in points.\n\n");
        for l in self.verdict() {
            s.push_str(&l);
            s.push('\n');
        }
        s
    }

    /// The report as a standalone HTML page.
    pub fn html(&self) -> String {
        let mut s = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>huffvec study: {}</title>\n<style>body{{font-family:sans-serif;max-width:75em;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}td:first-child,th:first-child{{text-align:left}}code{{font-size:90%}}</style></head><body>\n<h1>huffvec study: {}</h1>\n<p>{}</p>\n",
            esc(&self.grid),
            esc(&self.grid),
            esc(&self.preamble())
        );
        for t in self.tables() {
            s.push_str(&format!(
                "<h2>{}</h2>\n<p>{}</p>\n<table><tr>",
                esc(&t.title),
                esc(&t.about)
            ));
            for h in &t.header {
                s.push_str(&format!("<th>{}</th>", esc(h)));
            }
            s.push_str("</tr>\n");
            for r in &t.rows {
                s.push_str("<tr>");
                for c in r {
                    s.push_str(&format!("<td>{}</td>", code_spans(&esc(c))));
                }
                s.push_str("</tr>\n");
            }
            s.push_str("</table>\n");
        }
        s.push_str("<h2>Against the reference</h2>\n<ul>\n");
        for l in self.verdict() {
            s.push_str(&format!(
                "<li>{}</li>\n",
                code_spans(&esc(l.trim_start_matches("- ")))
            ));
        }
        s.push_str("</ul>\n</body></html>\n");
        s
    }

    /// Writes `report.md`, `index.html` and `study.json` into `dir` (atomically each).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let md = self.markdown();
        crate::io::write_atomic(&dir.join("report.md"), |w| {
            std::io::Write::write_all(w, md.as_bytes())
        })?;
        let html = self.html();
        crate::io::write_atomic(&dir.join("index.html"), |w| {
            std::io::Write::write_all(w, html.as_bytes())
        })?;
        crate::io::write_atomic(&dir.join("study.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, self).map_err(std::io::Error::other)?;
            std::io::Write::write_all(w, b"\n")
        })
    }
}

/// HTML-escapes text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Turns Markdown `code` spans of escaped text into `<code>` elements.
fn code_spans(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(set: &str, overall: f64, bands: &[(f64, usize)]) -> SetScore {
        SetScore {
            set: set.into(),
            overall: Some(overall),
            coverage: 100.0,
            bands: bands.iter().map(|b| Some(b.0)).collect(),
            band_n: bands.iter().map(|b| b.1).collect(),
        }
    }

    fn run(name: &str, acc: f64, a: &[(f64, usize)], b: &[(f64, usize)]) -> RunResult {
        RunResult {
            name: name.into(),
            args: if name == "default" { "" } else { "--x" }.into(),
            words_per_sec: Some(1000.0),
            train_seconds: 1.0,
            failed: None,
            analogy: vec![score("qw", acc, &[(0.0, 0), (10.0, 50), (30.0, 50)])],
            similarity: vec![score("men", 0.5, a), score("ws", 0.4, b)],
            training: None,
        }
    }

    fn study(runs: Vec<RunResult>) -> StudyResult {
        StudyResult {
            grid: "t".into(),
            corpus: "c.txt".into(),
            epochs: 1,
            threads: 1,
            seed: 1,
            base: String::new(),
            bands: vec!["5-9".into(), "10-99".into(), "100+".into()],
            band_words: vec![3, 2, 1],
            tokens_per_epoch: 100,
            machine: "m".into(),
            runs,
        }
    }

    #[test]
    fn similarity_bands_pool_sets_by_pair_count() {
        // Band 1: rho 0.5 over 10 pairs and 0.2 over 30 pairs -> (5 + 6) / 40 = 0.275.
        let r = run(
            "default",
            20.0,
            &[(0.1, 5), (0.5, 10), (0.6, 40)],
            &[(0.3, 10), (0.2, 30), (0.7, 40)],
        );
        let (rho, n) = pooled_similarity(&r, 1);
        assert_eq!(n, 40);
        assert!((rho.expect("pairs") - 0.275).abs() < 1e-12);
    }

    #[test]
    fn verdict_compares_rarest_and_frequent_bands_with_the_reference() {
        let reference = run(
            "default",
            20.0,
            &[(0.1, 15), (0.5, 10), (0.6, 40)],
            &[(0.3, 15), (0.2, 30), (0.7, 40)],
        );
        // Rarest band with >= 20 pairs is band 0 (30 pairs): reference pooled 0.2.
        // This run: band 0 pooled 0.3 (+0.1); band 1 reference 0.275, run 0.175 (-0.1);
        // band 2 reference 0.65, run 0.55 (-0.1); analogy 25 vs 20 (+5 points).
        let better_rare = run(
            "ada",
            25.0,
            &[(0.2, 15), (0.4, 10), (0.5, 40)],
            &[(0.4, 15), (0.1, 30), (0.6, 40)],
        );
        let mut diverged = run("bad", 0.0, &[], &[]);
        diverged.failed = Some("diverged".into());
        let s = study(vec![reference, better_rare, diverged]);
        let v = s.verdict();
        assert_eq!(v.len(), 2);
        assert_eq!(
            v[0],
            "- `ada`: rarest band (5-9) rho +0.100, frequent bands (10-99, 100+) rho -0.100 on average, analogy +5.0 points."
        );
        assert_eq!(v[1], "- `bad` diverged.");
    }

    #[test]
    fn reports_show_every_run_and_escape_html() {
        let mut r = run(
            "default",
            20.0,
            &[(0.1, 15), (0.5, 10), (0.6, 40)],
            &[(0.3, 15), (0.2, 30), (0.7, 40)],
        );
        r.args = "<b>".into();
        let s = study(vec![
            r,
            run(
                "x",
                21.0,
                &[(0.1, 15), (0.5, 10), (0.6, 40)],
                &[(0.3, 15), (0.2, 30), (0.7, 40)],
            ),
        ]);
        let md = s.markdown();
        assert!(
            md.contains("| `x` | `--x` | 1000 | 21.0% | 0.500 | 0.400 |"),
            "{md}"
        );
        assert!(md.contains("10-99 (n=40)"));
        let html = s.html();
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
        assert!(html.contains("<code>x</code>"));
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
