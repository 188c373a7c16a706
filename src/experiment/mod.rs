//! Experiments built on training: recorded training (the one entry point that honours the
//! telemetry settings), throughput benchmarks, the cost of recording, studies, and the
//! paired statistics that compare a study's arms.

pub mod bench;
pub mod inference;
pub mod overhead;
pub mod spec;
pub mod study;

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::io::OutputSlot;
use crate::telemetry::collector::{Collector, FinalState};
use crate::telemetry::GridProbe;
use crate::train::{Observer, OnEpoch, TrainReport, Trained};

/// Trains `cfg`, through [`train_recorded`] when its stats settings ask for telemetry and
/// with no probe otherwise.
pub fn train_as_configured(
    cfg: &TrainConfig,
    obs: &dyn Observer,
) -> Result<(Trained, TrainReport)> {
    if cfg.run.stats.enabled() {
        train_recorded(cfg, obs)
    } else {
        crate::train::train(cfg, obs)
    }
}

/// Trains `cfg` with one [`GridProbe`] per thread, streaming the `--stats` file as
/// snapshots close, and writes the `--word-stats` table at the end. The stats file ends
/// with the run's status whatever happens (done, diverged, interrupted, stopped, failed); a
/// stats write that fails is a warning and training goes on.
pub fn train_recorded(cfg: &TrainConfig, obs: &dyn Observer) -> Result<(Trained, TrainReport)> {
    train_recorded_with(cfg, obs, None)
}

/// [`train_recorded`], handing the parameters to `on_epoch` where each epoch but the last
/// ends (see [`crate::train::train_with_epochs`]).
pub fn train_recorded_with(
    cfg: &TrainConfig,
    obs: &dyn Observer,
    on_epoch: Option<OnEpoch<'_>>,
) -> Result<(Trained, TrainReport)> {
    cfg.validate()?;
    let inputs: [&std::path::Path; 1] = [&cfg.corpus.input];
    if let Some(p) = &cfg.run.stats.path {
        // Only the checks: the file itself is written as training goes.
        drop(OutputSlot::reserve(p, &inputs)?);
    }
    let words_slot = match &cfg.run.stats.word_stats {
        Some(p) => Some(OutputSlot::reserve(p, &inputs)?),
        None => None,
    };
    let collector = Collector::with_observer(cfg, obs);
    let mut probes: Vec<GridProbe> = (0..cfg.run.threads)
        .map(|t| GridProbe::new(&collector, t))
        .collect();
    let result = match on_epoch {
        Some(f) => crate::train::train_with_epochs(cfg, obs, &mut probes, f),
        None => crate::train::train_with(cfg, obs, &mut probes, &|_, _| {}),
    };
    let (trained, report) = match result {
        Ok(r) => r,
        Err(e) => {
            match &e {
                Error::Diverged { .. } => {
                    collector.finish(&mut probes);
                    collector.close(None, None, "diverged");
                }
                Error::Interrupted { .. } => collector.close_early("interrupted"),
                Error::Stopped { .. } => collector.close_early("stopped"),
                _ => collector.close_early("failed"),
            }
            return Err(e);
        }
    };
    collector.finish(&mut probes);
    drop(probes);
    let fin = FinalState::of(&trained);
    collector.close(Some(&fin), Some(&report), "done");
    match (collector.write_failure(), &cfg.run.stats.path) {
        (Some(why), _) => obs.warning(&format!(
            "warning: the statistics are incomplete: cannot write {why}"
        )),
        (None, Some(p)) => obs.note(&format!("wrote stats to {}", p.display())),
        (None, None) => {}
    }
    if let Some(slot) = words_slot {
        collector.write_word_stats(slot, &trained.vocab, &trained.tree, &fin)?;
    }
    Ok((trained, report))
}

#[cfg(test)]
mod tests;
