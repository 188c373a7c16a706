//! Experiments built on training: recorded training (the one entry point that honours the
//! telemetry settings), throughput benchmarks, the cost of recording, and studies.

pub mod bench;
pub mod grid;
pub mod overhead;
pub mod study;

use crate::config::TrainConfig;
use crate::error::Result;
use crate::telemetry::snapshot::{self, Collector};
use crate::telemetry::GridProbe;
use crate::train::{Observer, TrainReport, Trained};

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

/// Trains `cfg` with one [`GridProbe`] per thread and writes the telemetry files it asks
/// for (`cfg.stats`); the files are reserved before training and also written, marked
/// `diverged`, when training diverges.
pub fn train_recorded(cfg: &TrainConfig, obs: &dyn Observer) -> Result<(Trained, TrainReport)> {
    cfg.validate()?;
    let inputs: [&std::path::Path; 1] = [&cfg.corpus.input];
    let stats_slot = match &cfg.run.stats.path {
        Some(p) => Some(crate::io::OutputSlot::reserve(p, &inputs)?),
        None => None,
    };
    let words_slot = match &cfg.run.stats.word_stats {
        Some(p) => Some(crate::io::OutputSlot::reserve(p, &inputs)?),
        None => None,
    };
    let collector = Collector::new(cfg);
    let mut probes: Vec<GridProbe> = (0..cfg.run.threads)
        .map(|t| GridProbe::new(&collector, t))
        .collect();
    let result = crate::train::train_with(cfg, obs, &mut probes, &|_, _| {});
    collector.finish(&mut probes);
    drop(probes);
    match result {
        Ok((trained, report)) => {
            let fin = snapshot::FinalState::of(&trained);
            if let Some(slot) = stats_slot {
                let slot_path = slot.path().to_path_buf();
                collector.write_stats(slot, Some(&fin), Some(&report), "done")?;
                obs.note(&format!("wrote stats to {}", slot_path.display()));
            }
            if let Some(slot) = words_slot {
                collector.write_word_stats(slot, &trained.vocab, &trained.tree, &fin)?;
            }
            Ok((trained, report))
        }
        Err(e) => {
            if let (Some(slot), crate::Error::Diverged { .. }) = (stats_slot, &e) {
                collector.write_stats(slot, None, None, "diverged")?;
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
