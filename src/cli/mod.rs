//! Sub-commands and their options; options become a typed [`huffvec::TrainConfig`].

mod progress;
mod stats;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use huffvec::config::{self, Model, OutputFormat, TrainConfig};
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
    Train(Box<TrainArgs>),
    /// Render a `--stats` file as plots (SVG, PNG), CSV tables and index.html.
    Report(stats::ReportArgs),
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
    /// No progress bar or notes
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    stats: stats::StatsArgs,
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
        if let Some(d) = &self.cache_dir {
            c.cache_dir = d.clone();
        }
        self.stats.apply(&mut c)?;
        c.validate()?;
        Ok(c)
    }
}

/// Parses the command line and runs the chosen sub-command.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(args) => train(&args),
        Command::Report(args) => stats::report(&args),
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
        "huffvec {}: {:?} HS, dim {}, window {}, {} epochs, {} threads, corpus {}",
        env!("CARGO_PKG_VERSION"),
        cfg.model,
        cfg.dim,
        cfg.window,
        cfg.epochs,
        cfg.threads,
        cfg.input.display()
    ));
    let (mut trained, report) = if cfg.stats.enabled() {
        huffvec::telemetry::train_recorded(&cfg, &bar)?
    } else {
        huffvec::train::train(&cfg, &bar)?
    };
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
