//! Telemetry options of `huffvec train` and the `huffvec report` sub-command.

use std::path::PathBuf;

use clap::Args;

use crate::config::{StatsConfig, TrainConfig};
use crate::{Error, Result};

/// Gradient telemetry options of `huffvec train` (all off by default).
#[derive(Args, Debug, Clone, Default)]
pub struct StatsArgs {
    /// Record HS gradient statistics per frequency band x tree depth to FILE (JSON Lines;
    /// render with `huffvec report`)
    #[arg(long, value_name = "FILE", help_heading = "Telemetry")]
    stats: Option<PathBuf>,
    /// Snapshot interval, in percent of training progress [default: 1]
    #[arg(long, value_name = "PCT", help_heading = "Telemetry")]
    stats_every: Option<f64>,
    /// Fraction of path walks whose magnitudes are recorded (counts stay exact) [default: 1]
    #[arg(long, value_name = "P", help_heading = "Telemetry")]
    stats_sample: Option<f64>,
    /// Frequency bands are floor(log_B(count)) [default: 2]
    #[arg(long, value_name = "B", help_heading = "Telemetry")]
    stats_band_base: Option<u64>,
    /// Write per-word totals (updates, input-step norm, final norm, count, code length) to
    /// FILE (tab-separated)
    #[arg(long, value_name = "FILE", help_heading = "Telemetry")]
    word_stats: Option<PathBuf>,
}

impl StatsArgs {
    /// Copies the options into `cfg.stats`; tuning options without an output are refused.
    pub fn apply(&self, cfg: &mut TrainConfig) -> Result<()> {
        cfg.run.stats = StatsConfig::default();
        self.apply_over(cfg)
    }

    /// Puts the options given over the telemetry settings a resumed run takes from its
    /// checkpoint (so `--resume` alone continues the same stats files).
    pub fn apply_over(&self, cfg: &mut TrainConfig) -> Result<()> {
        let s = &mut cfg.run.stats;
        if let Some(p) = &self.stats {
            s.path = Some(p.clone());
        }
        if let Some(p) = &self.word_stats {
            s.word_stats = Some(p.clone());
        }
        if !s.enabled()
            && (self.stats_every.is_some()
                || self.stats_sample.is_some()
                || self.stats_band_base.is_some())
        {
            return Err(Error::Config(
                "--stats-every, --stats-sample and --stats-band-base need --stats or --word-stats"
                    .into(),
            ));
        }
        if let Some(x) = self.stats_every {
            s.every_pct = x;
        }
        if let Some(x) = self.stats_sample {
            s.sample = x;
        }
        if let Some(x) = self.stats_band_base {
            s.band_base = x;
        }
        Ok(())
    }
}

/// Options of `huffvec report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// A `--stats` file written by `huffvec train`
    #[arg(long, value_name = "FILE")]
    stats: PathBuf,
    /// Directory for the plots (SVG and PNG), CSV tables and index.html (created if missing)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// No summary on stderr
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Renders the report and prints where it went.
pub fn report(args: &ReportArgs) -> Result<()> {
    let summary = crate::report::stats::render(&args.stats, &args.out)?;
    if !args.quiet {
        eprintln!("{summary}");
        eprintln!("wrote report to {}", args.out.join("index.html").display());
    }
    Ok(())
}
