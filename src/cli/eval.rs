//! `huffvec eval`, `neighbors` and `analogy`: judge and inspect trained vectors.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::eval::analogy::{self, Method};
use crate::eval::suite::{EvalInputs, EvalSettings};
use crate::eval::Embeddings;
use crate::{Error, Result};

/// Options of `huffvec eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// Vectors to evaluate (word2vec text or binary; detected) [default: the input vectors
    /// of --model]
    #[arg(long, short = 'v', required_unless_present = "model")]
    vectors: Option<PathBuf>,
    #[command(flatten)]
    extra: ProbeEvalArgs,
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

/// Probe and held-out options of `huffvec eval`.
#[derive(Args, Debug, Clone, Default)]
pub struct ProbeEvalArgs {
    /// Probe table from `huffvec plant`: per level and split, the parent's mean reciprocal
    /// rank among each probe's neighbours, cosine and recall@10, with 95% bootstrap intervals
    #[arg(long, value_name = "PROBES.tsv")]
    probes: Option<PathBuf>,
    /// Whole model from `huffvec train --save-model`; its input vectors are evaluated when
    /// no --vectors is given
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Held-out text: negative log-likelihood of the training objective, overall, per
    /// frequency band and per tree depth (needs --model, hierarchical softmax)
    #[arg(long, value_name = "TEXT", requires = "model")]
    heldout: Option<PathBuf>,
}

impl EvalArgs {
    /// The evaluation these options ask for.
    fn settings(&self) -> EvalSettings {
        EvalSettings {
            vectors: self.vectors.clone(),
            analogy: self.analogy.clone(),
            similarity: self.similarity.clone(),
            eval_dir: self.eval_dir.clone(),
            restrict: self.restrict,
            similarity_restrict: self.similarity_restrict,
            method: self.method,
            vocab: self.vocab.clone(),
            bands: self.bands,
            band_edges: self.band_edges.clone(),
            probes: self.extra.probes.clone(),
            model: self.extra.model.clone(),
            heldout: self.extra.heldout.clone(),
        }
    }
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
    crate::eval::suite::load_vectors(path)
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

/// `huffvec eval`: analogy and similarity benchmarks, overall and by frequency band.
pub fn eval(args: &EvalArgs) -> Result<()> {
    // Read every input before the long work, so a typo fails at once.
    let inputs = EvalInputs::load(&args.settings())?;
    let slot = match &args.json {
        Some(p) if p.as_os_str() != "-" => Some(crate::io::OutputSlot::reserve(p, &[])?),
        _ => None,
    };
    let evaluation = inputs.evaluate(None)?;
    let print = || -> Result<()> {
        std::io::stdout()
            .lock()
            .write_all(evaluation.text.as_bytes())
            .map_err(stdout_err)
    };
    match (&args.json, slot) {
        (Some(_), Some(slot)) => {
            print()?;
            slot.commit(|w| {
                serde_json::to_writer_pretty(&mut *w, &evaluation.json)?;
                writeln!(w)
            })
        }
        (Some(_), None) => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &evaluation.json)
                .map_err(|e| stdout_err(e.into()))?;
            writeln!(out).map_err(stdout_err)
        }
        (None, _) => print(),
    }
}
