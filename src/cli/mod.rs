//! Sub-commands and their options; options become a typed [`huffvec::TrainConfig`].

mod bench;
mod eval;
mod progress;
mod study;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use huffvec::config::{
    self, Init, Loss, Model, Optimizer, OutputFormat, SaturationPolicy, TrainConfig, TreeShape,
};
use huffvec::io::OutputSlot;
use huffvec::{Error, Result};

/// Train and study hierarchical-softmax word embeddings.
#[derive(Parser, Debug)]
#[command(name = "huffvec", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train skip-gram or CBOW vectors with hierarchical softmax.
    Train(TrainArgs),
    /// Measure training throughput and thread scaling (medians of repeated runs).
    Bench(bench::BenchArgs),
    /// Score vectors on analogy and word-similarity sets, overall and by frequency band.
    Eval(eval::EvalArgs),
    /// Show the nearest words to each WORD by cosine.
    Neighbors(eval::NeighborsArgs),
    /// Answer "A is to B as C is to ?" with ranked words.
    Analogy(eval::AnalogyArgs),
    /// Train every configuration of a grid on one corpus, evaluate each by frequency band,
    /// and write a comparison report.
    Study(study::StudyArgs),
}

/// Options of `huffvec train` (defaults are word2vec.c's).
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Corpus: text, words separated by whitespace, one sentence per line
    /// [default: the bundled sample corpus]
    #[arg(long, short = 'i')]
    input: Option<PathBuf>,
    /// Where to write the vectors [default: vectors.txt, or vectors.bin with --format binary]
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Model architecture
    #[arg(long, value_enum, default_value_t = Model::Skipgram)]
    model: Model,
    /// Vector dimension
    #[arg(long, default_value_t = 100)]
    dim: usize,
    /// Maximum context window radius (shrunk at random to 1..=window per word)
    #[arg(long, default_value_t = 5)]
    window: usize,
    /// Discard words that occur fewer times
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    /// Keep only the N most frequent words
    #[arg(long)]
    max_vocab: Option<usize>,
    /// Subsampling threshold for frequent words (0 = off)
    #[arg(long, default_value_t = 1e-3)]
    sample: f64,
    /// Starting learning rate [default: 0.025 skip-gram, 0.05 CBOW]
    #[arg(long)]
    alpha: Option<f32>,
    /// Passes over the corpus
    #[arg(long, default_value_t = 5)]
    epochs: u32,
    /// Worker threads [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Random seed (with --threads 1, runs are bit-for-bit repeatable)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the vocabulary as `word count` lines
    #[arg(long)]
    save_vocab: Option<PathBuf>,
    /// Directory for encoded-corpus caches [default: ~/.cache/huffvec]
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// With several threads, replicate this many most visited inner nodes per thread
    /// (0 = plain Hogwild on every node)
    #[arg(long, default_value_t = config::DEFAULT_REPLICATE_TOP)]
    replicate_top: usize,
    /// Words between publishing the replicated nodes
    #[arg(long, default_value_t = config::DEFAULT_REPLICATE_EVERY)]
    replicate_every: u64,
    /// No progress bar or notes
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Output side: hierarchical softmax, or negative sampling (the sampled baseline)
    #[arg(long, value_enum, default_value_t = Loss::Hs, help_heading = "Loss and mitigations")]
    loss: Loss,
    /// Negative samples per target, unigram^0.75 table [default: 5 with --loss ns; only
    /// with --loss ns]
    #[arg(long, help_heading = "Loss and mitigations")]
    negative: Option<usize>,
    /// Shape of the hierarchical-softmax tree (depth histogram printed at start)
    #[arg(long, value_enum, default_value_t = TreeShape::Huffman, help_heading = "Loss and mitigations")]
    tree: TreeShape,
    /// Nodes whose score |h.v| reaches 6 (the sigmoid table's edge) [default: skip with
    /// --loss hs, clamp with --loss ns, as word2vec.c]
    #[arg(long, value_enum, help_heading = "Loss and mitigations")]
    saturation: Option<SaturationPolicy>,
    /// K: weight each inner node's step (and its share of the input's step) by
    /// 1 + K*depth/max_depth, root = depth 0; 0 = off, K > -1
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 0.0,
        help_heading = "Loss and mitigations"
    )]
    lr_depth_scale: f32,
    /// Step rule for both matrices
    #[arg(long, value_enum, default_value_t = Optimizer::Sgd, help_heading = "Loss and mitigations")]
    optimizer: Optimizer,
    /// Rescale each input vector's step (one prediction's accumulated update) to at most
    /// this norm [default: no clipping]
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "C",
        help_heading = "Loss and mitigations"
    )]
    clip_grad: Option<f32>,
    /// Weight decay L: every row that takes a step first shrinks by (1 - alpha*L)
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "L",
        default_value_t = 0.0,
        help_heading = "Loss and mitigations"
    )]
    l2: f32,
    /// Initialisation of the input and output (inner-node) matrices
    #[arg(long, value_enum, default_value_t = Init::Word2vec, help_heading = "Loss and mitigations")]
    init: Init,
}

/// The corpus bundled with the source tree.
fn bundled_corpus() -> Result<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("wiki-sample.txt");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::Config(format!(
            "no --input given and the bundled corpus {} is missing; pass --input FILE",
            p.display()
        )))
    }
}

impl TrainArgs {
    fn to_config(&self) -> Result<TrainConfig> {
        let input = match &self.input {
            Some(p) => p.clone(),
            None => bundled_corpus()?,
        };
        let output = self.output.clone().unwrap_or_else(|| match self.format {
            OutputFormat::Text => "vectors.txt".into(),
            OutputFormat::Binary => "vectors.bin".into(),
        });
        let mut c = TrainConfig::new(input, output, self.model);
        c.format = self.format;
        c.dim = self.dim;
        c.window = self.window;
        c.min_count = self.min_count;
        c.max_vocab = self.max_vocab;
        c.sample = self.sample;
        c.alpha = self.alpha.unwrap_or(config::default_alpha(self.model));
        c.epochs = self.epochs;
        c.threads = self.threads.unwrap_or_else(config::default_threads);
        c.seed = self.seed;
        c.save_vocab = self.save_vocab.clone();
        c.replicate_top = self.replicate_top;
        c.replicate_every = self.replicate_every;
        if let Some(d) = &self.cache_dir {
            c.cache_dir = d.clone();
        }
        c.loss = self.loss;
        c.negative = match (self.loss, self.negative) {
            (Loss::Ns, None) => config::DEFAULT_NEGATIVE,
            (_, n) => n.unwrap_or(0),
        };
        c.tree = self.tree;
        c.saturation = self
            .saturation
            .unwrap_or(config::default_saturation(self.loss));
        c.lr_depth_scale = self.lr_depth_scale;
        c.optimizer = self.optimizer;
        c.clip_grad = self.clip_grad;
        c.l2 = self.l2;
        c.init = self.init;
        c.validate()?;
        Ok(c)
    }
}

/// Parses the command line and runs the chosen sub-command.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(args) => train(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Eval(args) => eval::eval(&args),
        Command::Neighbors(args) => eval::neighbors(&args),
        Command::Analogy(args) => eval::analogy(&args),
        Command::Study(args) => study::run(&args),
    }
}

fn train(args: &TrainArgs) -> Result<()> {
    let cfg = args.to_config()?;
    if !cfg.input.exists() {
        return Err(Error::Config(format!(
            "input {} does not exist",
            cfg.input.display()
        )));
    }
    let slot = OutputSlot::reserve(&cfg.output, &[&cfg.input])?;
    if let Some(v) = &cfg.save_vocab {
        OutputSlot::reserve(v, &[&cfg.input])?;
    }
    let bar = progress::Bar::new(args.quiet);
    bar.println(&format!(
        "huffvec {}: {:?} {}, dim {}, window {}, {} epochs, {} threads, corpus {}",
        env!("CARGO_PKG_VERSION"),
        cfg.model,
        match cfg.loss {
            Loss::Hs => "HS".to_string(),
            Loss::Ns => format!("NS (k={})", cfg.negative),
        },
        cfg.dim,
        cfg.window,
        cfg.epochs,
        cfg.threads,
        cfg.input.display()
    ));
    let (mut trained, report) = huffvec::train::train(&cfg, &bar)?;
    trained.write_vectors(slot, cfg.format)?;
    if !args.quiet {
        eprintln!(
            "trained {} words in {:.2}s: {:.0} words/s ({:.0} words/s/thread, {} kernel); wrote {} vectors to {}",
            report.words,
            report.train_seconds,
            report.words_per_sec,
            report.words_per_sec / report.threads as f64,
            report.kernel,
            report.vocab_size,
            cfg.output.display()
        );
    }
    Ok(())
}
