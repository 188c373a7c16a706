//! `huffvec study`: run a study spec, or replay one of its runs.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::TrainConfig;
use crate::experiment::spec::Study;
use crate::experiment::study::{execute, PLOTS_DIR};
use crate::{Error, Result};

use super::TrainArgs;

/// Options of `huffvec study`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct StudyArgs {
    #[command(subcommand)]
    action: Option<StudyAction>,
    /// Study spec (TOML; see docs/study.md) [default: the bundled
    /// data/studies/mitigations.toml]
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    spec: Option<PathBuf>,
    /// Corpus to study, instead of the spec's
    #[arg(long, short = 'i', value_name = "FILE", conflicts_with = "replay")]
    input: Option<PathBuf>,
    /// Train every arm with seeds 1..=N instead of the spec's seeds
    #[arg(long, value_name = "N", conflicts_with = "replay",
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: Option<u64>,
    /// Directory for study.lock.json, plan.jsonl, runs/, study.json, report.md, index.html
    /// and plots/ (created if missing; a study that stopped resumes in it)
    #[arg(long, value_name = "DIR", required_unless_present_any = ["replay", "collect"])]
    out: Option<PathBuf>,
    /// Resolve the spec, plant the probes, write study.lock.json and plan.jsonl (one line
    /// per run with the command that performs it), and train nothing
    #[arg(long, conflicts_with_all = ["replay", "collect"])]
    plan_only: bool,
    /// Build study.json and the report from the results in DIR (as a local run writes
    /// them); refused, with the missing runs listed, while any planned run has no result
    #[arg(long, value_name = "DIR", conflicts_with_all = ["replay", "spec", "out"])]
    collect: Option<PathBuf>,
    /// Runs trained at once, each on the spec's threads [default: cores / threads]
    #[arg(long, value_name = "N", conflicts_with = "replay",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Retrain one run of a locked study: DIR/study.lock.json
    #[arg(long, value_name = "LOCK", requires_all = ["arm", "seed", "output"])]
    replay: Option<PathBuf>,
    /// The arm to replay
    #[arg(long, value_name = "NAME", requires = "replay")]
    arm: Option<String>,
    /// The seed to replay
    #[arg(long, value_name = "S", requires = "replay")]
    seed: Option<u64>,
    /// Where the replay writes its vectors (.txt text, else binary)
    #[arg(long, short = 'o', value_name = "FILE", requires = "replay")]
    output: Option<PathBuf>,
    /// Only one line per run on stderr
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// `huffvec study run`: one planned run.
#[derive(Subcommand, Debug)]
enum StudyAction {
    /// Perform one run of a planned study (a line of DIR/plan.jsonl): train, score and
    /// write DIR/runs/<arm>/seed-<S>/result.json; skipped when that result exists
    Run(RunOneArgs),
}

/// Options of `huffvec study run`.
#[derive(Args, Debug)]
struct RunOneArgs {
    /// The study's directory (holding study.lock.json)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The arm
    #[arg(long, value_name = "NAME")]
    arm: String,
    /// The seed
    #[arg(long, value_name = "S")]
    seed: u64,
    /// A learning-rate matching run: the multiplier of the arm's alpha
    #[arg(long, value_name = "M")]
    lr_multiplier: Option<f64>,
}

/// `train` options parsed on their own; a later occurrence of an option wins, so an arm's
/// options override the study's.
#[derive(Parser, Debug)]
#[command(name = "train", no_binary_name = true, args_override_self = true)]
struct TrainLine {
    #[command(flatten)]
    args: TrainArgs,
}

/// A run's configuration from `train` options.
fn config_for(args: &[String]) -> Result<TrainConfig> {
    let parsed = TrainLine::try_parse_from(args).map_err(|err| {
        let msg = err.to_string();
        let first = msg
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_string();
        Error::Config(first)
    })?;
    parsed.args.to_config()
}

/// The bundled mitigations spec.
fn bundled_spec() -> Result<PathBuf> {
    let p = crate::config::bundled_data().join("studies/mitigations.toml");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::Config(format!(
            "no --spec given and the bundled spec {} is missing; pass --spec FILE",
            p.display()
        )))
    }
}

/// Runs the study (or the replay) the options ask for.
pub fn run(a: &StudyArgs) -> Result<()> {
    if let Some(StudyAction::Run(r)) = &a.action {
        return run_one(r);
    }
    if let Some(lock) = &a.replay {
        return replay(a, lock);
    }
    if let Some(dir) = &a.collect {
        return collect(dir);
    }
    let spec_path = match &a.spec {
        Some(p) => p.clone(),
        None => bundled_spec()?,
    };
    let (mut study, lines) = Study::load(&spec_path, a.input.as_deref())?;
    if let Some(n) = a.seeds {
        study.seeds = (1..=n).collect();
    }
    let out = a
        .out
        .clone()
        .ok_or_else(|| Error::Config("--out DIR is needed".into()))?;
    let spec_error = |arm: Option<usize>, e: Error| match arm {
        Some(i) => lines.error(lines.arms.get(i).copied(), e),
        None => lines.error(lines.train, e),
    };
    // Every arm is parsed before anything is planted or trained; an error names its line.
    for (i, arm) in study.arms.iter().enumerate() {
        let mut args = vec!["--input".to_string(), study.corpus.display().to_string()];
        args.extend(study.train.iter().cloned());
        config_for(&args).map_err(|e| spec_error(None, e))?;
        args.extend(arm.train.iter().cloned());
        config_for(&args).map_err(|e| spec_error(Some(i), e))?;
    }
    let jobs = a.jobs.map_or_else(
        || (crate::config::default_threads() / study.threads).max(1),
        |j| j as usize,
    );
    let quiet = a.quiet;
    let note = move |line: &str| {
        if !quiet || line.starts_with('[') {
            eprintln!("{line}");
        }
    };
    let prepared = execute::prepare(study, &out, &config_for)?;
    note(&format!(
        "study '{}' locked in {} (digest {})",
        prepared.lock.study.name,
        prepared
            .out
            .join(crate::experiment::study::lock::LOCK_FILE)
            .display(),
        &prepared.lock.digest[..12]
    ));
    let plan = execute::write_plan(&prepared)?;
    if a.plan_only {
        eprintln!(
            "wrote {} ({} runs); perform each line's command, then `huffvec study --collect {}`",
            prepared.out.join(execute::PLAN_FILE).display(),
            plan.len(),
            prepared.out.display()
        );
        return Ok(());
    }
    let result = execute::run(&prepared, jobs, &note)?;
    result.write(&prepared.out)?;
    eprintln!(
        "wrote {}, {}, {} and the figures in {}",
        prepared.out.join("report.md").display(),
        prepared.out.join("index.html").display(),
        prepared.out.join("study.json").display(),
        prepared.out.join(PLOTS_DIR).display()
    );
    Ok(())
}

/// `huffvec study run DIR --arm NAME --seed S [--lr-multiplier M]`.
fn run_one(r: &RunOneArgs) -> Result<()> {
    let p = execute::open(&r.dir, &config_for)?;
    let (rec, trained) = execute::run_one(&p, &r.arm, r.seed, r.lr_multiplier)?;
    let what = match r.lr_multiplier {
        Some(m) => format!("{} x{m} seed {}", r.arm, rec.seed),
        None => format!("{} seed {}", r.arm, rec.seed),
    };
    match (trained, &rec.failed) {
        (false, _) => eprintln!("{what}: done before, skipped"),
        (true, Some(f)) => eprintln!("{what}: {f}"),
        (true, None) => eprintln!(
            "{what}: trained in {:.0} s, {:.0} words/s",
            rec.train_seconds,
            rec.words_per_sec.unwrap_or(0.0)
        ),
    }
    Ok(())
}

/// `--collect DIR`.
fn collect(dir: &Path) -> Result<()> {
    let p = execute::open(dir, &config_for)?;
    match execute::collect_dir(&p)? {
        Ok(result) => {
            result.write(&p.out)?;
            eprintln!(
                "wrote {}, {}, {} and the figures in {}",
                p.out.join("report.md").display(),
                p.out.join("index.html").display(),
                p.out.join("study.json").display(),
                p.out.join(PLOTS_DIR).display()
            );
            Ok(())
        }
        Err(missing) => {
            let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
            let more = match missing.len() - shown.len() {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            Err(Error::Config(format!(
                "{} planned runs have no result yet ({}{more}); perform them (plan.jsonl), \
                 then collect again",
                missing.len(),
                shown.join(", ")
            )))
        }
    }
}

/// `--replay LOCK --arm NAME --seed S --output FILE`.
fn replay(a: &StudyArgs, lock: &Path) -> Result<()> {
    let (Some(arm), Some(seed), Some(output)) = (&a.arm, a.seed, &a.output) else {
        return Err(Error::Config(
            "--replay needs --arm NAME, --seed S and --output FILE".into(),
        ));
    };
    let (sha, recorded) = execute::replay(lock, arm, seed, output, &config_for)?;
    match recorded {
        Some(r) if r == sha => eprintln!(
            "wrote {}: identical to the study's run (vectors sha256 {sha})",
            output.display()
        ),
        Some(r) => eprintln!(
            "wrote {}: vectors sha256 {sha} differ from the study's {r} (identical only at 1 \
             thread)",
            output.display()
        ),
        None => eprintln!(
            "wrote {} (vectors sha256 {sha}); the study has no result for this run to compare",
            output.display()
        ),
    }
    Ok(())
}
