//! `huffvec study`: run a study spec, or replay one of its runs.

use std::path::{Path, PathBuf};

use clap::{Args, Parser};

use crate::config::TrainConfig;
use crate::experiment::spec::Study;
use crate::experiment::study::{execute, PLOTS_DIR};
use crate::{Error, Result};

use super::TrainArgs;

/// Options of `huffvec study`.
#[derive(Args, Debug)]
pub struct StudyArgs {
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
    /// Directory for study.lock.json, runs/, study.json, report.md, index.html and plots/
    /// (created if missing; a study that stopped resumes in it)
    #[arg(long, value_name = "DIR", required_unless_present = "replay")]
    out: Option<PathBuf>,
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
    if let Some(lock) = &a.replay {
        return replay(a, lock);
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
