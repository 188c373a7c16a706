//! `huffvec plant`: rewrite chosen occurrences of frequent words into rare probe words.

use std::path::PathBuf;

use clap::Args;

use crate::corpus::plant::{self, PlantFiles, PlantSettings};
use crate::Result;

/// Options of `huffvec plant`.
#[derive(Args, Debug, Clone)]
pub struct PlantArgs {
    /// Corpus to plant probes in
    #[arg(long, short = 'i')]
    input: PathBuf,
    /// Where to write the planted corpus
    #[arg(long, short = 'o')]
    output: PathBuf,
    /// Where to write the probe table (probe, parent, level, planted, split, parent_count)
    #[arg(long, value_name = "PROBES.tsv")]
    probes: PathBuf,
    /// Occurrences per probe; each parent gets one probe per level
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = plant::DEFAULT_LEVELS)]
    levels: Vec<u64>,
    /// Number of parent words
    #[arg(long, value_name = "N", default_value_t = plant::DEFAULT_PARENTS)]
    parents: usize,
    /// Fraction of parents (with all their probes) in the dev split; the rest are test
    #[arg(long, value_name = "F", default_value_t = plant::DEFAULT_DEV_FRACTION)]
    dev_fraction: f64,
    /// Random seed (same seed, same files)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Hold out this fraction of the lines (sentences), unplanted, into --heldout-output
    #[arg(long, value_name = "F", requires = "heldout_output")]
    holdout: Option<f64>,
    /// Where to write the held-out lines
    #[arg(long, value_name = "FILE", requires = "holdout")]
    heldout_output: Option<PathBuf>,
    /// No summary on standard error
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// `huffvec plant`.
pub fn run(args: &PlantArgs) -> Result<()> {
    let settings = PlantSettings {
        levels: args.levels.clone(),
        parents: args.parents,
        dev_fraction: args.dev_fraction,
        seed: args.seed,
        holdout: args.holdout.unwrap_or(0.0),
        up_to: false,
    };
    let files = PlantFiles {
        input: &args.input,
        output: &args.output,
        probes: &args.probes,
        heldout: args.heldout_output.as_deref(),
    };
    let plan = plant::plant_files(&files, &settings)?;
    if !args.quiet {
        let probes = plan.probes();
        let test = probes
            .iter()
            .filter(|p| p.split == plant::Split::Test)
            .count();
        let levels = settings.levels.len().max(1);
        eprintln!(
            "planted {} probes ({} test, {} dev per level) of {} parents drawn from {} \
             eligible words, in {} words of {} lines; wrote {} and {}",
            probes.len(),
            test / levels,
            (probes.len() - test) / levels,
            settings.parents,
            plan.eligible,
            plan.words,
            plan.lines - plan.heldout_lines,
            args.output.display(),
            args.probes.display()
        );
        if let Some(h) = &args.heldout_output {
            eprintln!(
                "held out {} of {} lines into {}",
                plan.heldout_lines,
                plan.lines,
                h.display()
            );
        }
    }
    Ok(())
}
