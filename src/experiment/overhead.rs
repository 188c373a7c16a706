//! What recording costs, measured within one run: training alternates, round by round,
//! between no probe and the recording [`GridProbe`] ([`train_alternating`]), so both see
//! the same model, learning rate and machine load, and each pair of adjacent rounds gives
//! one ratio of recorded to plain throughput. On a shared machine, where the speed of whole
//! runs drifts by more than the cost being measured, the pairs' median is the figure to
//! trust.

use serde::Serialize;

use super::GridProbe;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::probe::NoProbe;
use crate::telemetry::collector::Collector;
use crate::train::{train_alternating, Alternate, RoundTime, Silent};

/// Words per round unless told otherwise: long enough that a round's start and end (threads
/// meeting at a publish point) cost nothing measurable, short enough that the machine's
/// speed barely moves within a pair.
pub const DEFAULT_SEGMENT: u64 = 500_000;

/// The rounds of one alternating run.
#[derive(Clone, Debug, Serialize)]
pub struct Overhead {
    /// Words per round asked for.
    pub segment: u64,
    /// Every round, in order (`alternate`: recorded).
    pub rounds: Vec<RoundTime>,
}

impl Overhead {
    /// Throughput of the recorded (`recorded`) or plain rounds: their words over their
    /// seconds.
    pub fn words_per_sec(&self, recorded: bool) -> f64 {
        let (w, s) = self
            .rounds
            .iter()
            .filter(|r| r.alternate == recorded)
            .fold((0u64, 0f64), |(w, s), r| (w + r.words, s + r.seconds));
        w as f64 / s.max(1e-9)
    }

    /// Recorded over plain throughput for each pair of adjacent rounds (0-1, 2-3, ...; one of
    /// each kind), leaving out pairs with a round shorter than half a segment (the run's
    /// last).
    pub fn pair_ratios(&self) -> Vec<f64> {
        let speed = |r: &RoundTime| r.words as f64 / r.seconds.max(1e-9);
        self.rounds
            .chunks_exact(2)
            .filter(|p| p.iter().all(|r| 2 * r.words >= self.segment))
            .map(|p| {
                let (on, off) = if p[0].alternate {
                    (&p[0], &p[1])
                } else {
                    (&p[1], &p[0])
                };
                speed(on) / speed(off)
            })
            .collect()
    }
}

/// Trains `cfg` once in rounds of `segment` words that alternate between no probe and the
/// recording probe (with `cfg.stats`' sampling and bands; nothing is written), and returns
/// the rounds' times.
pub fn measure(cfg: &TrainConfig, segment: u64) -> Result<Overhead> {
    let collector = Collector::new(cfg);
    let mut recorded: Vec<GridProbe> = (0..cfg.run.threads)
        .map(|t| GridProbe::new(&collector, t))
        .collect();
    let mut plain = vec![NoProbe; cfg.run.threads];
    let mut alt = Alternate {
        probes: &mut recorded,
        segment,
        rounds: Vec::new(),
    };
    train_alternating(cfg, &Silent, &mut plain, &mut alt)?;
    Ok(Overhead {
        segment,
        rounds: alt.rounds,
    })
}

/// One row of the summary: every run at one thread count.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Threads.
    pub threads: usize,
    /// Alternating runs.
    pub runs: usize,
    /// Pairs of adjacent rounds.
    pub pairs: usize,
    /// Throughput of the plain rounds (all runs' words over their seconds).
    pub plain_words_per_sec: f64,
    /// Throughput of the recorded rounds.
    pub recorded_words_per_sec: f64,
    /// `recorded_words_per_sec / plain_words_per_sec`.
    pub throughput_ratio: f64,
    /// Median over the pairs of recorded over plain throughput.
    pub median_pair_ratio: f64,
    /// Lower and upper quartiles of the pair ratios.
    pub pair_ratio_quartiles: (f64, f64),
}

/// The whole measurement.
#[derive(Clone, Debug, Serialize)]
pub struct OverheadResult {
    /// CPU model and logical cores.
    pub machine: String,
    /// SIMD backend.
    pub kernel: &'static str,
    /// Settings of the runs (threads overridden).
    pub config: TrainConfig,
    /// One row per thread count.
    pub rows: Vec<Row>,
    /// Every run, with its thread count.
    pub runs: Vec<(usize, Overhead)>,
}

/// The `q`-quantile of `v` (linear between order statistics); 0 for an empty `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n => {
            let at = q * (n - 1) as f64;
            let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
        }
    }
}

/// Runs [`measure`] `repeat` times for each of `threads` (interleaved: 1, 2, 1, 2, ...);
/// `on_run` sees each run as it ends.
pub fn measure_all(
    base: &TrainConfig,
    threads: &[usize],
    repeat: usize,
    segment: u64,
    on_run: &dyn Fn(usize, &Overhead),
) -> Result<OverheadResult> {
    let mut runs = Vec::new();
    for _ in 0..repeat.max(1) {
        for &t in threads {
            let mut cfg = base.clone();
            cfg.run.threads = t;
            let o = measure(&cfg, segment)?;
            on_run(t, &o);
            runs.push((t, o));
        }
    }
    let rows = threads
        .iter()
        .map(|&t| {
            let mine: Vec<&Overhead> = runs.iter().filter(|r| r.0 == t).map(|r| &r.1).collect();
            let pooled = Overhead {
                segment,
                rounds: mine.iter().flat_map(|o| o.rounds.iter().copied()).collect(),
            };
            let ratios: Vec<f64> = mine.iter().flat_map(|o| o.pair_ratios()).collect();
            let (plain, recorded) = (pooled.words_per_sec(false), pooled.words_per_sec(true));
            Row {
                threads: t,
                runs: mine.len(),
                pairs: ratios.len(),
                plain_words_per_sec: plain,
                recorded_words_per_sec: recorded,
                throughput_ratio: recorded / plain.max(1e-9),
                median_pair_ratio: quantile(&ratios, 0.5),
                pair_ratio_quartiles: (quantile(&ratios, 0.25), quantile(&ratios, 0.75)),
            }
        })
        .collect();
    Ok(OverheadResult {
        machine: crate::host::machine_name(),
        kernel: crate::kernel::backend_name(),
        config: base.clone(),
        rows,
        runs,
    })
}

impl OverheadResult {
    /// The summary as a Markdown table.
    pub fn table(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "machine: {}; kernel {}; {:?} HS, dim {}, window {}, {} epoch(s) per run; \
             recording every path walk{}; rounds of {} words alternate plain and recorded\n\n",
            self.machine,
            self.kernel,
            c.params.model,
            c.params.dim,
            c.params.window,
            c.params.epochs,
            if c.run.stats.sample < 1.0 {
                format!(" with probability {}", c.run.stats.sample)
            } else {
                String::new()
            },
            self.runs.first().map_or(0, |r| r.1.segment),
        );
        s.push_str(
            "| threads | runs | pairs | plain words/s | recorded words/s | recorded / plain \
             | median pair ratio | pair ratio quartiles |\n|---|---|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {} | {:.0} | {:.0} | {:.3} | {:.3} | {:.3} - {:.3} |\n",
                r.threads,
                r.runs,
                r.pairs,
                r.plain_words_per_sec,
                r.recorded_words_per_sec,
                r.throughput_ratio,
                r.median_pair_ratio,
                r.pair_ratio_quartiles.0,
                r.pair_ratio_quartiles.1
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(alternate: bool, words: u64, seconds: f64) -> RoundTime {
        RoundTime {
            alternate,
            words,
            seconds,
        }
    }

    #[test]
    fn pairs_compare_neighbours_and_skip_the_short_last_round() {
        let o = Overhead {
            segment: 100,
            rounds: vec![
                round(false, 100, 1.0),
                round(true, 100, 2.0),
                round(true, 120, 1.0),
                round(false, 100, 0.5),
                round(false, 100, 1.0),
                round(true, 30, 1.0),
            ],
        };
        assert_eq!(o.pair_ratios(), [0.5, 0.6]);
        assert_eq!(o.words_per_sec(false), 300.0 / 2.5);
        assert_eq!(o.words_per_sec(true), 250.0 / 4.0);
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert_eq!(quantile(&[7.0], 0.25), 7.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
