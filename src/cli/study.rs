//! `huffvec study`: compare training configurations on one corpus.

use std::path::PathBuf;

use clap::{Args, Parser};

use crate::experiment::grid::{self, StudyGrid};
use crate::experiment::study::{self, EvalSuite, PlannedRun, StudyPlan, TelemetryPlan};
use crate::{Error, Result};

use super::TrainArgs;

/// Options of `huffvec study`.
#[derive(Args, Debug)]
pub struct StudyArgs {
    #[command(flatten)]
    corpus: super::args::CorpusArg,
    /// A built-in grid (mitigations: every knob of `train` against the default) or a TOML
    /// or JSON grid file (see docs/study.md)
    #[arg(long, default_value = "mitigations", value_name = "NAME|FILE")]
    grid: String,
    /// Directory for report.md, index.html, study.json, plots/ and stats/ (created if
    /// missing)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Evaluation files: questions-words*.txt are analogy sets, other *.txt similarity
    /// sets [default: the bundled sets, data/eval]
    #[arg(long, value_name = "DIR")]
    eval_dir: Option<PathBuf>,
    /// Analogies consider only the N most frequent words
    #[arg(long, default_value_t = 30_000, value_name = "N")]
    restrict: usize,
    /// Epochs of every configuration
    #[arg(long, default_value_t = 5)]
    epochs: u32,
    /// Worker threads of every configuration [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Random seed of every configuration (the first, with --seeds)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Train every configuration with seeds SEED..SEED+N-1 and report means and standard
    /// deviations
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: u64,
    /// Fraction of tree-path walks whose gradient magnitudes the telemetry records (counts
    /// are always exact)
    #[arg(
        long,
        default_value_t = 0.1,
        value_name = "P",
        conflicts_with = "no_stats"
    )]
    stats_sample: f64,
    /// Telemetry snapshot interval, in percent of training
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "PCT",
        conflicts_with = "no_stats"
    )]
    stats_every: f64,
    /// Train without telemetry: no training statistics, no stats/ files
    #[arg(long)]
    no_stats: bool,
    /// More train options for every configuration, e.g. "--dim 50 --min-count 10"
    #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
    train: Option<String>,
    /// Only one line per configuration on stderr
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// `train` options parsed on their own; a later occurrence of an option wins, so a grid
/// entry can override the base options.
#[derive(Parser, Debug)]
#[command(name = "train", no_binary_name = true, args_override_self = true)]
struct TrainLine {
    #[command(flatten)]
    args: TrainArgs,
}

/// Runs the study and writes its report.
pub fn run(a: &StudyArgs) -> Result<()> {
    let grid = StudyGrid::resolve(&a.grid)?;
    let input = a.corpus.path()?;
    if !input.is_file() {
        return Err(Error::Config(format!(
            "input {} does not exist",
            input.display()
        )));
    }
    let eval_dir = match &a.eval_dir {
        Some(d) => d.clone(),
        None => super::args::bundled_eval_dir()?,
    };
    if !eval_dir.is_dir() {
        return Err(Error::Config(format!(
            "eval directory {} does not exist; pass --eval-dir DIR",
            eval_dir.display()
        )));
    }
    let extra: Vec<String> = a
        .train
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect();
    grid::check_args("--train", &extra).map_err(Error::Config)?;
    let mut fixed = vec![
        "--input".to_string(),
        input.display().to_string(),
        "--epochs".into(),
        a.epochs.to_string(),
        "--seed".into(),
        a.seed.to_string(),
    ];
    if let Some(t) = a.threads {
        fixed.extend(["--threads".into(), t.to_string()]);
    }
    // Every configuration is parsed and validated before the first one trains.
    let runs = grid
        .configs
        .iter()
        .map(|e| {
            let line = fixed
                .iter()
                .chain(&grid.base)
                .chain(&extra)
                .chain(&e.args)
                .cloned();
            let parsed = TrainLine::try_parse_from(line).map_err(|err| {
                let msg = err.to_string();
                let first = msg
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ");
                Error::Config(format!("grid config '{}': {first}", e.name))
            })?;
            let cfg = parsed
                .args
                .to_config()
                .map_err(|err| Error::Config(format!("grid config '{}': {err}", e.name)))?;
            Ok(PlannedRun {
                name: e.name.clone(),
                args: e.args.clone(),
                cfg,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let suite = EvalSuite::from_dir(&eval_dir, a.restrict)?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Error::io("cannot create output directory", &a.out, e))?;
    // Fail on an unwritable directory now rather than after the last run.
    crate::io::OutputSlot::reserve(&a.out.join("report.md"), &[&input])?;
    let base: Vec<&str> = grid.base.iter().chain(&extra).map(String::as_str).collect();
    let quiet = a.quiet;
    let note = |line: &str| {
        if !quiet || line.contains("words/s") || line.contains("diverged") {
            eprintln!("{line}");
        }
    };
    let plan = StudyPlan {
        seeds: a.seeds,
        telemetry: (!a.no_stats).then(|| TelemetryPlan {
            out: a.out.clone(),
            sample: a.stats_sample,
            every_pct: a.stats_every,
        }),
    };
    let result = study::run(&grid.name, &base.join(" "), &runs, &suite, &plan, &note)?;
    result.write(&a.out)?;
    eprintln!(
        "wrote {}, {}, {} and the figures in {}",
        a.out.join("report.md").display(),
        a.out.join("index.html").display(),
        a.out.join("study.json").display(),
        a.out.join(study::PLOTS_DIR).display()
    );
    Ok(())
}
