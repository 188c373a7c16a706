//! `huffvec eval`, `neighbors` and `analogy`: judge and inspect trained vectors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::{json, Map, Value};

use crate::bands::{Bands, Basis, WordBands};
use crate::eval::analogy::{self, AnalogyResult, Method, QuestionSet, Tally};
use crate::eval::similarity::{self, PairSet, SimilarityResult};
use crate::eval::Embeddings;
use crate::vocab::Vocab;
use crate::{Error, Result};

/// Options of `huffvec eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// Vectors to evaluate (word2vec text or binary; detected) [default: the input vectors
    /// of --model]
    #[arg(long, short = 'v', required_unless_present = "model")]
    vectors: Option<PathBuf>,
    #[command(flatten)]
    extra: super::probe_eval::ProbeEvalArgs,
    /// Analogy file (`: section` lines, then `a b c d` lines); repeatable
    #[arg(long, value_name = "FILE")]
    analogy: Vec<PathBuf>,
    /// Word-similarity file (`w1<TAB>w2<TAB>score` lines); repeatable
    #[arg(long, value_name = "FILE")]
    similarity: Vec<PathBuf>,
    /// Directory of eval files: `questions-words*.txt` are analogy sets, other `*.txt`
    /// similarity sets; repeatable [default, with no --analogy or --similarity either: the
    /// bundled sets, data/eval]
    #[arg(long, value_name = "DIR")]
    eval_dir: Vec<PathBuf>,
    /// Analogies use only the N most frequent words (the first N of the file)
    #[arg(long, default_value_t = 30_000, value_name = "N")]
    restrict: usize,
    /// Similarity pairs use only the N most frequent words (gensim's default)
    #[arg(long, default_value_t = 300_000, value_name = "N")]
    similarity_restrict: usize,
    /// Analogy method: add (3CosAdd) or mul (3CosMul)
    #[arg(long, value_enum, default_value_t = Method::Add)]
    method: Method,
    /// Vocabulary with corpus counts (`--save-vocab` output): bands by corpus count
    /// [default: bands by frequency rank in the vectors file]
    #[arg(long, value_name = "FILE")]
    vocab: Option<PathBuf>,
    /// Number of frequency bands, log-spaced [default: one band per power of ten]
    #[arg(long, value_name = "N", conflicts_with = "band_edges")]
    bands: Option<usize>,
    /// Explicit lower band edges (counts, or ranks without --vocab), e.g. 5,10,100,1000
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    band_edges: Option<Vec<u64>>,
    /// Write every figure as one JSON document to PATH, or to stdout instead of the tables
    /// when no PATH is given
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "-")]
    json: Option<PathBuf>,
}

/// Options of `huffvec neighbors`.
#[derive(Args, Debug, Clone)]
pub struct NeighborsArgs {
    /// Vectors (word2vec text or binary; detected)
    #[arg(long, short = 'v')]
    vectors: PathBuf,
    /// Words to show neighbours of
    #[arg(required = true, value_name = "WORD")]
    words: Vec<String>,
    /// How many neighbours
    #[arg(short = 'k', long, default_value_t = 10)]
    k: usize,
    /// Search only the N most frequent words [default: all]
    #[arg(long, value_name = "N")]
    restrict: Option<usize>,
}

/// Options of `huffvec analogy`.
#[derive(Args, Debug, Clone)]
pub struct AnalogyArgs {
    /// Vectors (word2vec text or binary; detected)
    #[arg(long, short = 'v')]
    vectors: PathBuf,
    /// A, B, C: "A is to B as C is to ?"
    #[arg(num_args = 3, required = true, value_names = ["A", "B", "C"])]
    words: Vec<String>,
    /// How many answers
    #[arg(short = 'k', long, default_value_t = 10)]
    k: usize,
    /// Method: add (3CosAdd) or mul (3CosMul)
    #[arg(long, value_enum, default_value_t = Method::Add)]
    method: Method,
    /// Search only the N most frequent words [default: all]
    #[arg(long, value_name = "N")]
    restrict: Option<usize>,
}

fn load(path: &Path) -> Result<Embeddings> {
    let e = Embeddings::read(path)?;
    if e.is_empty() {
        return Err(Error::Config(format!(
            "{} holds no vectors",
            path.display()
        )));
    }
    Ok(e)
}

/// `huffvec neighbors`: the nearest words by cosine.
pub fn neighbors(args: &NeighborsArgs) -> Result<()> {
    let emb = load(&args.vectors)?;
    let ids = args
        .words
        .iter()
        .map(|w| emb.lookup(w))
        .collect::<Result<Vec<_>>>()?;
    let limit = args.restrict.unwrap_or(usize::MAX);
    let mut out = std::io::stdout().lock();
    for (n, id) in ids.into_iter().enumerate() {
        if n > 0 {
            writeln!(out).map_err(stdout_err)?;
        }
        writeln!(out, "nearest to '{}':", emb.word_str(id)).map_err(stdout_err)?;
        print_ranked(&mut out, &emb, &emb.neighbours(id, args.k, limit))?;
    }
    Ok(())
}

/// `huffvec analogy`: "a is to b as c is to ?".
pub fn analogy(args: &AnalogyArgs) -> Result<()> {
    let emb = load(&args.vectors)?;
    let [a, b, c] = [0, 1, 2].map(|i| emb.lookup(&args.words[i]));
    let ids = [a?, b?, c?];
    let limit = args.restrict.unwrap_or(usize::MAX);
    let answers = analogy::solve(&emb, ids, args.k, limit, args.method);
    let mut out = std::io::stdout().lock();
    let [a, b, c] = ids.map(|id| emb.word_str(id));
    let what = match args.method {
        Method::Add => "cosine with b - a + c",
        Method::Mul => "3CosMul objective",
    };
    writeln!(out, "'{a}' is to '{b}' as '{c}' is to ({what}):").map_err(stdout_err)?;
    print_ranked(&mut out, &emb, &answers)
}

fn stdout_err(e: std::io::Error) -> Error {
    Error::io("cannot write to", "stdout", e)
}

fn print_ranked(out: &mut impl Write, emb: &Embeddings, ranked: &[(usize, f32)]) -> Result<()> {
    let width = ranked
        .iter()
        .map(|(id, _)| emb.word_str(*id).chars().count())
        .max()
        .unwrap_or(0);
    for (rank, (id, score)) in ranked.iter().enumerate() {
        writeln!(
            out,
            "{:>4}  {:<width$}  {score:.4}",
            rank + 1,
            emb.word_str(*id)
        )
        .map_err(stdout_err)?;
    }
    Ok(())
}

/// The eval files, keyed by file stem, split into analogy and similarity sets.
fn eval_files(args: &EvalArgs) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut analogy_files = args.analogy.clone();
    let mut similarity_files = args.similarity.clone();
    let nothing_given =
        analogy_files.is_empty() && similarity_files.is_empty() && args.eval_dir.is_empty();
    let dirs = if nothing_given {
        vec![super::args::bundled_eval_dir()?]
    } else {
        args.eval_dir.clone()
    };
    for dir in &dirs {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io("cannot list eval directory", dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt") && p.is_file())
            .collect();
        names.sort();
        for p in names {
            let stem = p.file_stem().unwrap_or_default().to_string_lossy();
            if stem.starts_with("questions-words") {
                analogy_files.push(p);
            } else {
                similarity_files.push(p);
            }
        }
    }
    if analogy_files.is_empty() && similarity_files.is_empty() && !args.extra.asked() {
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

fn vectors_label(args: &EvalArgs) -> String {
    super::probe_eval::vectors_label(args.vectors.as_deref(), &args.extra)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .unwrap_or(p.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Bands for the vectors, with the vocabulary file they come from (if any).
fn word_bands(args: &EvalArgs, emb: &Embeddings) -> Result<(WordBands, usize)> {
    let edges = |basis: Basis, lo: u64, hi: u64| -> Result<Bands> {
        Ok(match (&args.band_edges, args.bands) {
            (Some(e), _) => Bands::from_edges(e)?.with_basis(basis),
            (None, Some(n)) => Bands::log_spaced(basis, lo, hi, n)?,
            (None, None) => match basis {
                Basis::Count => Bands::log10_from(lo).fit_to(hi),
                Basis::Rank => Bands::log10_ranks().fit_to(hi),
            },
        })
    };
    match &args.vocab {
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
                    "no word of {} is in the vocabulary {}; is it the right --vocab file?",
                    vectors_label(args),
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

/// `huffvec eval`: analogy and similarity benchmarks, overall and by frequency band.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let (analogy_files, similarity_files) = eval_files(args)?;
    // Read every input before the long work, so a typo fails at once.
    let questions = analogy_files
        .iter()
        .map(|p| QuestionSet::load(p))
        .collect::<Result<Vec<_>>>()?;
    let pairs = similarity_files
        .iter()
        .map(|p| PairSet::load(p))
        .collect::<Result<Vec<_>>>()?;
    let extra = super::probe_eval::load(&args.extra)?;
    let slot = match &args.json {
        Some(p) if p.as_os_str() != "-" => Some(crate::io::OutputSlot::reserve(p, &[])?),
        _ => None,
    };
    let t0 = Instant::now();
    let emb = match (&args.vectors, extra.model_embeddings()) {
        (Some(p), _) => load(p)?,
        (None, Some(e)) => e,
        (None, None) => return Err(Error::Config("give --vectors FILE or --model FILE".into())),
    };
    let load_seconds = t0.elapsed().as_secs_f64();
    let (bands, unbanded) = word_bands(args, &emb)?;

    let mut analogy_results = Vec::new();
    for (path, set) in analogy_files.iter().zip(&questions) {
        let t = Instant::now();
        let r = analogy::evaluate(&emb, set, args.restrict, args.method, Some(&bands));
        analogy_results.push((stem(path), r, t.elapsed().as_secs_f64()));
    }
    let mut similarity_results = Vec::new();
    for (path, set) in similarity_files.iter().zip(&pairs) {
        let t = Instant::now();
        let r = similarity::evaluate(&emb, set, args.similarity_restrict, Some(&bands));
        similarity_results.push((stem(path), r, t.elapsed().as_secs_f64()));
    }

    let report = Report {
        args,
        emb: &emb,
        load_seconds,
        bands: &bands,
        unbanded,
        analogy: &analogy_results,
        similarity: &similarity_results,
    };
    let outcome = extra.evaluate(&emb, args.band_edges.as_deref())?;
    let mut doc = report.json();
    outcome.add_json(&mut doc);
    let print = || -> Result<()> {
        report.print()?;
        std::io::stdout()
            .lock()
            .write_all(outcome.render().as_bytes())
            .map_err(stdout_err)
    };
    match (&args.json, slot) {
        (Some(_), Some(slot)) => {
            print()?;
            slot.commit(|w| {
                serde_json::to_writer_pretty(&mut *w, &doc)?;
                writeln!(w)
            })
        }
        (Some(_), None) => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| stdout_err(e.into()))?;
            writeln!(out).map_err(stdout_err)
        }
        (None, _) => print(),
    }
}

/// Everything `eval` measured, rendered as tables or JSON.
struct Report<'a> {
    args: &'a EvalArgs,
    emb: &'a Embeddings,
    load_seconds: f64,
    bands: &'a WordBands,
    unbanded: usize,
    analogy: &'a [(String, AnalogyResult, f64)],
    similarity: &'a [(String, SimilarityResult, f64)],
}

impl Report<'_> {
    fn basis_note(&self) -> String {
        match &self.args.vocab {
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
            "vectors": vectors_label(self.args),
            "words": self.emb.len(),
            "dim": self.emb.dim(),
            "duplicate_words": self.emb.duplicates(),
            "load_seconds": self.load_seconds,
            "analogy": analogy,
            "similarity": similarity,
            "bands": {
                "basis": b.basis(),
                "vocab": self.args.vocab.as_ref().map(|p| p.display().to_string()),
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

    fn print(&self) -> Result<()> {
        let mut s = String::new();
        self.render(&mut s);
        std::io::stdout()
            .lock()
            .write_all(s.as_bytes())
            .map_err(stdout_err)
    }

    /// The whole report as text: the vectors line, then each table.
    fn render(&self, s: &mut String) {
        use std::fmt::Write as _;
        let e = self.emb;
        let _ = writeln!(
            s,
            "vectors {}: {} words, dim {} (read in {:.2}s{})",
            vectors_label(self.args),
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
