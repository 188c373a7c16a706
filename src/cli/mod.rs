//! Sub-commands and their options; options become a typed [`crate::TrainConfig`].

mod args;
mod bench;
mod eval;
mod plant;
mod progress;
mod stats;
mod study;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{
    self, Init, Loss, Optimizer, OutputFormat, RowInit, SaturationPolicy, TrainConfig, TreeShape,
};
use crate::train::checkpoint;
use crate::{Error, Result};

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
    /// Measure training throughput and thread scaling (medians of repeated runs), or with
    /// --telemetry what recording telemetry costs.
    Bench(bench::BenchArgs),
    /// Score vectors on analogy and word-similarity sets, overall and by frequency band.
    Eval(eval::EvalArgs),
    /// Show the nearest words to each WORD by cosine.
    Neighbors(eval::NeighborsArgs),
    /// Answer "A is to B as C is to ?" with ranked words.
    Analogy(eval::AnalogyArgs),
    /// Render a `--stats` file as plots (SVG, PNG), CSV tables and index.html.
    Report(stats::ReportArgs),
    /// Run a study spec: every arm with every seed on one corpus, scored by frequency band
    /// and probe level, compared with the reference by paired tests; or replay one run.
    Study(study::StudyArgs),
    /// Plant rare probe words with known answers: exactly k occurrences of a frequent word
    /// rewritten to `word__k`, for chosen levels k; optionally hold out sentences.
    Plant(plant::PlantArgs),
}

/// Options of `huffvec train` (defaults are word2vec.c's).
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    corpus: args::CorpusArg,
    #[command(flatten)]
    shape: args::ModelArgs,
    #[command(flatten)]
    replicas: args::ReplicaArgs,
    /// Where to write the vectors [default: vectors.txt, or vectors.bin with --format binary]
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Keep only the N most frequent words
    #[arg(long)]
    max_vocab: Option<usize>,
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
    /// Keep these words whatever their count: one word per line, or a PROBES.tsv from
    /// `huffvec plant` (its first column); placed in the tree by their real counts
    #[arg(long, value_name = "FILE")]
    keep: Option<PathBuf>,
    /// Also save the whole model (vectors, output vectors, tree, vocabulary, settings) as
    /// safetensors, for `huffvec eval --model` and Python
    #[arg(long, value_name = "FILE")]
    save_model: Option<PathBuf>,
    /// Directory for encoded-corpus caches [default: $HUFFVEC_CACHE, else
    /// $XDG_CACHE_HOME/huffvec, else ~/.cache/huffvec]
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Where to save checkpoints [default: the output path with .ckpt appended]
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Save a checkpoint every PCT percent of the run [default: 10 with --checkpoint, else
    /// only on SIGINT/SIGTERM or at --stop-at]
    #[arg(long, value_name = "PCT")]
    checkpoint_every: Option<f64>,
    /// Save a checkpoint and stop once PCT percent of the run is done (exit status 0)
    #[arg(long, value_name = "PCT")]
    stop_at: Option<f64>,
    /// Continue the run saved in this checkpoint (settings come from it; --output, --format,
    /// --input for a moved corpus and the checkpoint options may be given)
    #[arg(long, value_name = "CHECKPOINT")]
    resume: Option<PathBuf>,
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
    /// Longest code (tree path) allowed; only with --tree huffman-capped, which needs it;
    /// at least ceil(log2 of the vocabulary size)
    #[arg(long, value_name = "L", help_heading = "Loss and mitigations")]
    max_code_len: Option<u32>,
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
    /// Initialisation preset of the input and output (inner-node) matrices: word2vec =
    /// (word2vec, zero), xavier = (xavier, xavier), he = (he, he), zero-out = (zero,
    /// word2vec) as (--input-init, --output-init)
    #[arg(long, value_enum, default_value_t = Init::Word2vec, help_heading = "Loss and mitigations")]
    init: Init,
    /// Initialisation of the input rows; replaces the input half of --init [default: the
    /// preset's]
    #[arg(long, value_enum, help_heading = "Loss and mitigations")]
    input_init: Option<RowInit>,
    /// Initialisation of the output (inner-node) rows; replaces the output half of --init
    /// [default: the preset's]
    #[arg(long, value_enum, help_heading = "Loss and mitigations")]
    output_init: Option<RowInit>,
    #[command(flatten)]
    stats: stats::StatsArgs,
}

/// Where the vectors go when no `--output` is given.
fn default_output(format: OutputFormat) -> PathBuf {
    match format {
        OutputFormat::Text => "vectors.txt".into(),
        OutputFormat::Binary => "vectors.bin".into(),
    }
}

impl TrainArgs {
    fn to_config(&self) -> Result<TrainConfig> {
        let input = self.corpus.path()?;
        let output = self
            .output
            .clone()
            .unwrap_or_else(|| default_output(self.format));
        let mut c = TrainConfig::new(input, output, self.shape.model);
        self.shape.apply(&mut c);
        self.replicas.apply(&mut c);
        c.run.format = self.format;
        c.corpus.max_vocab = self.max_vocab;
        c.params.alpha = self
            .alpha
            .unwrap_or(config::default_alpha(self.shape.model));
        c.params.epochs = self.epochs;
        c.run.threads = self.threads.unwrap_or_else(config::default_threads);
        c.params.seed = self.seed;
        c.run.save_vocab = self.save_vocab.clone();
        c.corpus.keep = self.keep.clone();
        c.run.save_model = self.save_model.clone();
        if let Some(d) = &self.cache_dir {
            c.corpus.cache_dir = d.clone();
        }
        c.params.loss = self.loss;
        c.params.negative = match (self.loss, self.negative) {
            (Loss::Ns, None) => config::DEFAULT_NEGATIVE,
            (_, n) => n.unwrap_or(0),
        };
        c.params.tree = self.tree;
        c.params.max_code_len = self.max_code_len;
        c.params.saturation = self
            .saturation
            .unwrap_or(config::default_saturation(self.loss));
        c.params.lr_depth_scale = self.lr_depth_scale;
        c.params.optimizer = self.optimizer;
        c.params.clip_grad = self.clip_grad;
        c.params.l2 = self.l2;
        c.params.init = self.init;
        c.params.input_init = self.input_init;
        c.params.output_init = self.output_init;
        self.apply_checkpoint_options(&mut c);
        self.stats.apply(&mut c)?;
        c.validate()?;
        Ok(c)
    }

    fn apply_checkpoint_options(&self, c: &mut TrainConfig) {
        if let Some(p) = &self.checkpoint {
            c.run.checkpoint = Some(p.clone());
        }
        c.run.checkpoint_every = match (self.checkpoint_every, &self.checkpoint) {
            (Some(pct), _) => pct,
            (None, Some(_)) => 10.0,
            (None, None) => 0.0,
        };
        c.run.stop_at = self.stop_at;
    }

    /// The settings saved in checkpoint `path`, with the options this command line gives
    /// explicitly put over them (training options that differ are refused when the
    /// checkpoint is read, with the reason).
    fn resume_config(&self, path: &std::path::Path, m: &ArgMatches) -> Result<TrainConfig> {
        let header = checkpoint::read_header(path)?;
        let mut c = header.config;
        c.params.alpha = f32::from_bits(header.alpha_bits);
        let given = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
        if let Some(p) = &self.corpus.input {
            c.corpus.input = p.clone();
        }
        if given("format") {
            c.run.format = self.format;
        }
        if let Some(p) = &self.output {
            c.run.output = Some(p.clone());
        }
        if given("model") {
            c.params.model = self.shape.model;
        }
        if given("dim") {
            c.params.dim = self.shape.dim;
        }
        if given("window") {
            c.params.window = self.shape.window;
        }
        if given("min_count") {
            c.corpus.min_count = self.shape.min_count;
        }
        if let Some(v) = self.max_vocab {
            c.corpus.max_vocab = Some(v);
        }
        if given("sample") {
            c.params.sample = self.shape.sample;
        }
        if let Some(a) = self.alpha {
            c.params.alpha = a;
        }
        if given("epochs") {
            c.params.epochs = self.epochs;
        }
        if let Some(t) = self.threads {
            c.run.threads = t;
        }
        if given("seed") {
            c.params.seed = self.seed;
        }
        if let Some(v) = &self.save_vocab {
            c.run.save_vocab = Some(v.clone());
        }
        if let Some(m) = &self.save_model {
            c.run.save_model = Some(m.clone());
        }
        if let Some(k) = &self.keep {
            c.corpus.keep = Some(k.clone());
        }
        if let Some(d) = &self.cache_dir {
            c.corpus.cache_dir = d.clone();
        }
        let saved_every = c.run.checkpoint_every;
        self.apply_checkpoint_options(&mut c);
        if self.checkpoint_every.is_none() {
            c.run.checkpoint_every = saved_every;
        }
        if self.checkpoint.is_none() {
            c.run.checkpoint = Some(path.to_path_buf());
        }
        c.run.resume = Some(path.to_path_buf());
        self.stats.apply_over(&mut c)?;
        c.validate()?;
        Ok(c)
    }
}

/// The options of `huffvec train` as [`train_config_from_options`] takes them: each long
/// option without its dashes, underscores for the inner dashes (`min_count`), and whether
/// it takes a value (`false` for a flag such as `quiet`).
pub fn train_options() -> Vec<(String, bool)> {
    TrainArgs::augment_args(clap::Command::new("train"))
        .get_arguments()
        .map(|a| (a.get_id().to_string(), a.get_action().takes_values()))
        .collect()
}

/// The settings `huffvec train` builds from `options`, for bindings such as the Python
/// package: each `(name, value)` is the long option `--name` (see [`train_options`])
/// with its value, or `None` for a flag. Every default, check and derived value is the
/// command line's, except that no vectors file is written unless `output` is given.
pub fn train_config_from_options(options: &[(String, Option<OsString>)]) -> Result<TrainConfig> {
    let known = train_options();
    let mut argv: Vec<OsString> = vec!["train".into()];
    for (name, value) in options {
        if !known.iter().any(|(k, _)| k == name) {
            return Err(Error::Config(format!("unknown option '{name}'")));
        }
        let mut arg = OsString::from(format!("--{}", name.replace('_', "-")));
        if let Some(v) = value {
            arg.push("=");
            arg.push(v);
        }
        argv.push(arg);
    }
    let clap_error = |e: clap::Error| {
        let text = e.render().to_string();
        let line = text.lines().next().unwrap_or_default();
        Error::Config(line.strip_prefix("error: ").unwrap_or(line).to_string())
    };
    let m = TrainArgs::augment_args(clap::Command::new("train"))
        .try_get_matches_from(argv)
        .map_err(clap_error)?;
    let args = TrainArgs::from_arg_matches(&m).map_err(clap_error)?;
    match &args.resume {
        Some(p) => args.resume_config(p, &m),
        None => {
            let mut cfg = args.to_config()?;
            if args.output.is_none() {
                cfg.run.output = None;
            }
            Ok(cfg)
        }
    }
}

/// Runs the command line in `std::env::args`: any error is printed on one line to stderr
/// and mapped to a non-zero exit status (a closed output pipe and a requested stop are not
/// errors).
pub fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e @ Error::Stopped { .. }) => {
            eprintln!("huffvec: {e}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let msg = e.to_string().replace('\n', " ");
            eprintln!("huffvec: error: {msg}");
            ExitCode::from(match e {
                Error::Interrupted { .. } => interrupted_status(),
                _ => 1,
            })
        }
    }
}

/// Parses the command line and runs the chosen sub-command.
fn run() -> Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Train(args) => {
            let m = matches
                .subcommand_matches("train")
                .expect("clap parsed the train sub-command");
            train(&args, m)
        }
        Command::Bench(args) => bench::run(&args),
        Command::Eval(args) => eval::eval(&args),
        Command::Neighbors(args) => eval::neighbors(&args),
        Command::Analogy(args) => eval::analogy(&args),
        Command::Report(args) => stats::report(&args),
        Command::Study(args) => study::run(&args),
        Command::Plant(args) => plant::run(&args),
    }
}

/// Exit status after SIGINT (128 + 2), also used when no signal was recorded.
const SIGINT_STATUS: u8 = 130;

/// Exit status after SIGTERM (128 + 15).
const SIGTERM_STATUS: u8 = 143;

/// The exit status of the last SIGINT (130) or SIGTERM (143) received; 0 before any.
static SIGNAL_STATUS: LazyLock<Arc<AtomicUsize>> = LazyLock::new(|| Arc::new(AtomicUsize::new(0)));

/// The exit status for a run stopped by a signal: 128 + the number of the signal received.
fn interrupted_status() -> u8 {
    u8::try_from(SIGNAL_STATUS.load(Ordering::SeqCst))
        .ok()
        .filter(|&s| s != 0)
        .unwrap_or(SIGINT_STATUS)
}

/// SIGINT and SIGTERM set the returned flag (training then checkpoints and exits) and
/// record their exit status for [`interrupted_status`]; a second signal while the flag is
/// set ends the process at once with its own status.
fn watch_signals() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for (sig, code) in [(SIGINT, SIGINT_STATUS), (SIGTERM, SIGTERM_STATUS)] {
        signal_hook::flag::register_conditional_shutdown(sig, code.into(), Arc::clone(&flag))
            .and_then(|_| {
                signal_hook::flag::register_usize(sig, Arc::clone(&SIGNAL_STATUS), code.into())
            })
            .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&flag)))
            .map_err(|e| Error::Config(format!("cannot install the signal handler: {e}")))?;
    }
    Ok(flag)
}

fn train(args: &TrainArgs, m: &ArgMatches) -> Result<()> {
    let mut cfg = match &args.resume {
        Some(p) => args.resume_config(p, m)?,
        None => args.to_config()?,
    };
    let output = cfg
        .run
        .output
        .get_or_insert_with(|| default_output(cfg.run.format))
        .clone();
    if !cfg.corpus.input.exists() {
        return Err(Error::Config(format!(
            "input {} does not exist",
            cfg.corpus.input.display()
        )));
    }
    let trainer = crate::Trainer::from_config(cfg);
    let outputs = trainer.reserve_outputs()?;
    let cfg = trainer.config();
    let bar = progress::Bar::new(args.quiet, watch_signals()?);
    bar.println(&format!(
        "huffvec {}: {:?} {}, dim {}, window {}, {} epochs, {} threads, corpus {}",
        env!("CARGO_PKG_VERSION"),
        cfg.params.model,
        match cfg.params.loss {
            Loss::Hs => "HS".to_string(),
            Loss::Ns => format!("NS (k={})", cfg.params.negative),
        },
        cfg.params.dim,
        cfg.params.window,
        cfg.params.epochs,
        cfg.run.threads,
        cfg.corpus.input.display()
    ));
    let model = trainer.train_into(outputs, &bar)?;
    let report = model.report();
    if !args.quiet {
        eprintln!(
            "trained {} words in {:.2}s: {:.0} words/s ({:.0} words/s/thread, {} kernel); wrote {} vectors to {}",
            report.words,
            report.train_seconds,
            report.words_per_sec,
            report.words_per_sec / report.threads as f64,
            report.kernel,
            report.vocab_size,
            output.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<OsString>)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(OsString::from)))
            .collect()
    }

    #[test]
    fn options_build_the_command_lines_config_without_an_output() {
        let c = train_config_from_options(&opts(&[
            ("input", Some("corpus.txt")),
            ("loss", Some("ns")),
            ("lr_depth_scale", Some("0")),
            ("quiet", None),
        ]))
        .expect("valid options");
        assert_eq!(c.corpus.input, PathBuf::from("corpus.txt"));
        assert_eq!((c.params.loss, c.params.negative), (Loss::Ns, 5));
        assert_eq!(c.params.saturation, SaturationPolicy::Clamp);
        assert_eq!(c.run.output, None);
        let c = train_config_from_options(&opts(&[
            ("input", Some("corpus.txt")),
            ("output", Some("v.bin")),
            ("alpha", Some("0.5")),
        ]))
        .expect("valid options");
        assert_eq!(c.run.output, Some(PathBuf::from("v.bin")));
        assert_eq!(c.params.alpha, 0.5);
    }

    #[test]
    fn init_knobs_override_their_half_of_the_preset() {
        let c = train_config_from_options(&opts(&[
            ("input", Some("corpus.txt")),
            ("init", Some("xavier")),
            ("output_init", Some("zero")),
        ]))
        .expect("valid options");
        assert_eq!(c.params.row_inits(), (RowInit::Xavier, RowInit::Zero));
        let c = train_config_from_options(&opts(&[
            ("input", Some("corpus.txt")),
            ("input_init", Some("he")),
        ]))
        .expect("valid options");
        assert_eq!(c.params.row_inits(), (RowInit::He, RowInit::Zero));
    }

    #[test]
    fn capped_tree_options_reach_the_config() {
        let c = train_config_from_options(&opts(&[
            ("input", Some("corpus.txt")),
            ("tree", Some("huffman-capped")),
            ("max_code_len", Some("12")),
        ]))
        .expect("valid options");
        assert_eq!(
            (c.params.tree, c.params.max_code_len),
            (TreeShape::HuffmanCapped, Some(12))
        );
    }

    #[test]
    fn bad_options_are_one_line_errors_naming_the_option() {
        let msg = |pairs: &[(&str, Option<&str>)]| match train_config_from_options(&opts(pairs)) {
            Err(Error::Config(m)) => m,
            other => panic!("expected a Config error, got {other:?}"),
        };
        assert_eq!(msg(&[("dimm", Some("5"))]), "unknown option 'dimm'");
        let m = msg(&[("input", Some("c.txt")), ("dim", Some("abc"))]);
        assert!(
            m.contains("'abc'") && m.contains("--dim") && !m.contains('\n'),
            "{m}"
        );
        let m = msg(&[("input", Some("c.txt")), ("dim", Some("0"))]);
        assert!(m.starts_with("--dim must be in 1..=10000"), "{m}");
        assert!(train_options().contains(&("quiet".to_string(), false)));
        assert!(train_options().contains(&("min_count".to_string(), true)));
    }
}
