//! `huffvec bench`: train at several thread counts, several times each, and take median
//! throughput, speed-up and parallel efficiency (plus an optional contention check);
//! [`crate::report::bench`] renders the result.

use serde::Serialize;

use crate::config::TrainConfig;
use crate::error::Result;
use crate::host;
use crate::train::{self, Silent, TrainReport};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    /// Settings of every run (threads overridden).
    pub base: TrainConfig,
    /// Thread counts to try.
    pub threads: Vec<usize>,
    /// Runs per thread count (interleaved: 1,2,4,1,2,4,...).
    pub repeat: usize,
    /// Also run N independent one-thread trainings at once for each N > 1.
    pub contention: bool,
}

/// One training run.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// Threads sharing one model.
    pub threads: usize,
    /// Independent one-thread models trained at once (contention check), else 1.
    pub independent: usize,
    /// Words per second over all threads (wall clock).
    pub words_per_sec: f64,
    /// Training seconds.
    pub seconds: f64,
    /// Peak resident set of the process during the run, MiB (None where the system does
    /// not report it).
    pub peak_rss_mib: Option<f64>,
}

/// A summary row per thread count.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Threads.
    pub threads: usize,
    /// Median words/s.
    pub median_words_per_sec: f64,
    /// Median words/s divided by threads.
    pub words_per_sec_per_thread: f64,
    /// Median words/s over the one-thread median.
    pub speedup: f64,
    /// Speed-up over threads.
    pub efficiency: f64,
    /// With the contention check: median words/s of `threads` independent one-thread
    /// models trained at once, summed; the gap to `median_words_per_sec` is the cost of
    /// sharing one model.
    pub independent_words_per_sec: Option<f64>,
    /// Largest peak resident set of the row's shared-model runs, MiB.
    pub peak_rss_mib: Option<f64>,
}

/// The whole benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// CPU model and logical cores.
    pub machine: String,
    /// SIMD backend.
    pub kernel: &'static str,
    /// Settings of the runs.
    pub config: TrainConfig,
    /// Tokens per epoch.
    pub tokens_per_epoch: u64,
    /// Every run.
    pub runs: Vec<Run>,
    /// One row per thread count.
    pub rows: Vec<Row>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn one(cfg: &TrainConfig) -> Result<TrainReport> {
    train::train(cfg, &Silent).map(|(_, r)| r)
}

/// Runs `f` with the process's peak resident set restarted first; returns its result and
/// the peak in MiB, when the system reports one.
fn with_peak_rss<T>(f: impl FnOnce() -> T) -> (T, Option<f64>) {
    let reset = host::reset_peak_rss();
    let out = f();
    let peak = reset
        .then(host::peak_rss_bytes)
        .flatten()
        .map(|b| b as f64 / (1024.0 * 1024.0));
    (out, peak)
}

/// Runs the plan; `on_run` sees each run as it finishes.
pub fn run(plan: &BenchPlan, on_run: &dyn Fn(&Run)) -> Result<BenchResult> {
    let mut runs = Vec::new();
    let mut tokens = 0;
    for _ in 0..plan.repeat.max(1) {
        for &t in &plan.threads {
            let mut cfg = plan.base.clone();
            cfg.run.threads = t;
            let (r, peak) = with_peak_rss(|| one(&cfg));
            let r = r?;
            tokens = r.tokens_per_epoch;
            let run = Run {
                threads: t,
                independent: 1,
                words_per_sec: r.words_per_sec,
                seconds: r.train_seconds,
                peak_rss_mib: peak,
            };
            on_run(&run);
            runs.push(run);
            if plan.contention && t > 1 {
                let mut cfg = plan.base.clone();
                cfg.run.threads = 1;
                let (reports, peak) = with_peak_rss(|| {
                    std::thread::scope(|s| {
                        let hs: Vec<_> = (0..t).map(|_| s.spawn(|| one(&cfg))).collect();
                        hs.into_iter()
                            .map(|h| {
                                h.join().unwrap_or_else(|_| {
                                    Err(crate::Error::Config("bench run panicked".into()))
                                })
                            })
                            .collect::<Vec<Result<TrainReport>>>()
                    })
                });
                let mut sum = 0.0;
                let mut secs: f64 = 0.0;
                for r in reports {
                    let r = r?;
                    sum += r.words_per_sec;
                    secs = secs.max(r.train_seconds);
                }
                let run = Run {
                    threads: 1,
                    independent: t,
                    words_per_sec: sum,
                    seconds: secs,
                    peak_rss_mib: peak,
                };
                on_run(&run);
                runs.push(run);
            }
        }
    }
    let med = |t: usize, ind: usize| {
        median(
            runs.iter()
                .filter(|r| r.threads == t && r.independent == ind)
                .map(|r| r.words_per_sec)
                .collect(),
        )
    };
    let base_t = plan.threads.iter().copied().min().unwrap_or(1);
    let base = med(base_t, 1) / base_t as f64;
    let mut rows = Vec::new();
    for &t in &plan.threads {
        let m = med(t, 1);
        let speedup = m / base;
        rows.push(Row {
            threads: t,
            median_words_per_sec: m,
            words_per_sec_per_thread: m / t as f64,
            speedup,
            efficiency: speedup / t as f64,
            independent_words_per_sec: (plan.contention && t > 1).then(|| med(1, t)),
            peak_rss_mib: runs
                .iter()
                .filter(|r| r.threads == t && r.independent == 1)
                .filter_map(|r| r.peak_rss_mib)
                .reduce(f64::max),
        });
    }
    Ok(BenchResult {
        machine: crate::host::machine_name(),
        kernel: crate::kernel::backend_name(),
        config: plan.base.clone(),
        tokens_per_epoch: tokens,
        runs,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
