//! `huffvec bench`: thread-scaling benchmark, or (`--telemetry`) the cost of recording.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::config::TrainConfig;
use crate::experiment::bench::{self, BenchPlan};
use crate::{Error, Result};

/// Options of `huffvec bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    corpus: super::args::CorpusArg,
    #[command(flatten)]
    shape: super::args::ModelArgs,
    #[command(flatten)]
    replicas: super::args::ReplicaArgs,
    /// Thread counts, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,
    /// Epochs per run
    #[arg(long, default_value_t = 1)]
    epochs: u32,
    /// Runs per thread count (medians are reported)
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also train N independent one-thread models at once for each N > 1, to separate the
    /// cost of sharing one model from the machine's own limits
    #[arg(long)]
    contention: bool,
    /// Measure what recording telemetry (`train --stats`) costs instead: every run
    /// alternates rounds of training without and with recording, and the table gives their
    /// throughput ratio (written to overhead.json and overhead.md)
    #[arg(long)]
    telemetry: bool,
    /// With --telemetry: words per round
    #[arg(long, default_value_t = crate::experiment::overhead::DEFAULT_SEGMENT)]
    segment_words: u64,
    /// With --telemetry: fraction of path walks recorded (see `train --stats-sample`)
    #[arg(long, default_value_t = 1.0)]
    stats_sample: f64,
    /// Directory for bench.json, bench.md and bench.svg/.png
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
}

/// Runs the benchmark and writes its table and JSON.
pub fn run(a: &BenchArgs) -> Result<()> {
    let input = a.corpus.path()?;
    if a.threads.is_empty() || a.threads.contains(&0) {
        return Err(Error::Config(
            "--threads needs positive counts, e.g. 1,2,4".into(),
        ));
    }
    let mut base = TrainConfig::for_corpus(input, a.shape.model);
    a.shape.apply(&mut base);
    a.replicas.apply(&mut base);
    base.params.epochs = a.epochs;
    base.run.stats.sample = a.stats_sample;
    base.validate()?;
    if a.telemetry && a.segment_words == 0 {
        return Err(Error::Config(
            "--segment-words must be positive, e.g. 500000".into(),
        ));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io("cannot create", &a.out, e))?;
    if a.telemetry {
        return telemetry_cost(a, &base);
    }
    let plan = BenchPlan {
        base,
        threads: a.threads.clone(),
        repeat: a.repeat,
        contention: a.contention,
    };
    eprintln!("machine: {}", crate::host::machine_name());
    let result = bench::run(&plan, &|r| {
        if r.independent > 1 {
            eprintln!(
                "  {} independent 1-thread models: {:.0} words/s in total",
                r.independent, r.words_per_sec
            );
        } else {
            let rss = r
                .peak_rss_mib
                .map_or(String::new(), |m| format!(", peak RSS {m:.0} MiB"));
            eprintln!(
                "  {} thread(s): {:.0} words/s ({:.2}s{rss})",
                r.threads, r.words_per_sec, r.seconds
            );
        }
    })?;
    write_results(&a.out, "bench", &result, &result.table())?;
    crate::report::save_figure(
        &a.out,
        "bench",
        (1100, 520),
        &crate::report::bench::ScalingFigure(&result),
    )?;
    eprintln!(
        "wrote {0}/bench.json, {0}/bench.md and the plot {0}/bench.svg and .png",
        a.out.display()
    );
    Ok(())
}

/// Prints `table` and writes `result` to `DIR/STEM.json` and `table` to `DIR/STEM.md`.
fn write_results(
    dir: &Path,
    stem: &str,
    result: &impl serde::Serialize,
    table: &str,
) -> Result<()> {
    println!("{table}");
    let json = serde_json::to_string_pretty(result)
        .map_err(|e| Error::Config(format!("cannot serialise results: {e}")))?;
    crate::io::write_atomic(&dir.join(format!("{stem}.json")), |w| {
        std::io::Write::write_all(w, json.as_bytes())
    })?;
    crate::io::write_atomic(&dir.join(format!("{stem}.md")), |w| {
        std::io::Write::write_all(w, table.as_bytes())
    })
}

/// `--telemetry`: alternating plain and recorded rounds per thread count.
fn telemetry_cost(a: &BenchArgs, base: &TrainConfig) -> Result<()> {
    use crate::experiment::overhead;
    eprintln!("machine: {}", crate::host::machine_name());
    let result = overhead::measure_all(base, &a.threads, a.repeat, a.segment_words, &|t, o| {
        let ratios = o.pair_ratios();
        eprintln!(
            "  {t} thread(s): plain {:.0} words/s, recorded {:.0} words/s ({} pairs of rounds)",
            o.words_per_sec(false),
            o.words_per_sec(true),
            ratios.len()
        );
    })?;
    write_results(&a.out, "overhead", &result, &result.table())?;
    eprintln!(
        "wrote {0}/overhead.json and {0}/overhead.md",
        a.out.display()
    );
    Ok(())
}
