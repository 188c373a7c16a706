//! `huffvec bench`: train at several thread counts, several times each, and tabulate median
//! throughput, speed-up and parallel efficiency (plus an optional contention check).

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::{viridis, DrawResult, Figure};

use crate::config::TrainConfig;
use crate::error::Result;
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

/// Runs the plan; `on_run` sees each run as it finishes.
pub fn run(plan: &BenchPlan, on_run: &dyn Fn(&Run)) -> Result<BenchResult> {
    let mut runs = Vec::new();
    let mut tokens = 0;
    for _ in 0..plan.repeat.max(1) {
        for &t in &plan.threads {
            let mut cfg = plan.base.clone();
            cfg.threads = t;
            let r = one(&cfg)?;
            tokens = r.tokens_per_epoch;
            let run = Run {
                threads: t,
                independent: 1,
                words_per_sec: r.words_per_sec,
                seconds: r.train_seconds,
            };
            on_run(&run);
            runs.push(run);
            if plan.contention && t > 1 {
                let mut cfg = plan.base.clone();
                cfg.threads = 1;
                let reports: Vec<Result<TrainReport>> = std::thread::scope(|s| {
                    let hs: Vec<_> = (0..t).map(|_| s.spawn(|| one(&cfg))).collect();
                    hs.into_iter()
                        .map(|h| {
                            h.join().unwrap_or_else(|_| {
                                Err(crate::Error::Config("bench run panicked".into()))
                            })
                        })
                        .collect()
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

impl BenchResult {
    /// The summary as a Markdown table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "machine: {}; kernel {}; {:?} HS, dim {}, window {}, {} epoch(s), {} tokens/epoch; medians of {} run(s)\n\n",
            self.machine,
            self.kernel,
            self.config.model,
            self.config.dim,
            self.config.window,
            self.config.epochs,
            self.tokens_per_epoch,
            self.runs.iter().filter(|r| r.independent == 1).count() / self.rows.len().max(1)
        );
        let contention = self
            .rows
            .iter()
            .any(|r| r.independent_words_per_sec.is_some());
        s.push_str("| threads | words/s | words/s/thread | speed-up | efficiency |");
        if contention {
            s.push_str(" independent models words/s | shared / independent |");
        }
        s.push('\n');
        s.push_str("|---|---|---|---|---|");
        if contention {
            s.push_str("---|---|");
        }
        s.push('\n');
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.2} | {:.2} |",
                r.threads,
                r.median_words_per_sec,
                r.words_per_sec_per_thread,
                r.speedup,
                r.efficiency
            ));
            if contention {
                match r.independent_words_per_sec {
                    Some(i) => {
                        s.push_str(&format!(" {i:.0} | {:.2} |", r.median_words_per_sec / i))
                    }
                    None => s.push_str(" - | - |"),
                }
            }
            s.push('\n');
        }
        s
    }
}

/// Labels whole thread counts only.
fn whole(x: &f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        String::new()
    }
}

/// The thread-scaling figure: speed-up (with the ideal line) and efficiency per thread
/// count, every run drawn as a small dot behind its median.
pub struct ScalingFigure<'a>(pub &'a BenchResult);

impl Figure for ScalingFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let r = self.0;
        root.fill(&WHITE)?;
        let (title, body) = root.split_vertically(50);
        title.draw(&Text::new(
            format!(
                "{:?} HS thread scaling: {}, kernel {}",
                r.config.model, r.machine, r.kernel
            ),
            (20, 15),
            ("sans-serif", 18).into_font(),
        ))?;
        let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
        let max_t = r.rows.iter().map(|x| x.threads).max().unwrap_or(1).max(2) as f64;
        let base = r
            .rows
            .iter()
            .find(|x| x.threads == 1)
            .map(|x| x.median_words_per_sec);
        let single: Vec<(f64, f64)> = base
            .map(|b| {
                r.runs
                    .iter()
                    .filter(|x| x.independent == 1 && b > 0.0)
                    .map(|x| (x.threads as f64, x.words_per_sec / b))
                    .collect()
            })
            .unwrap_or_default();
        let speed: Vec<(f64, f64)> = r
            .rows
            .iter()
            .map(|x| (x.threads as f64, x.speedup))
            .collect();
        let eff: Vec<(f64, f64)> = r
            .rows
            .iter()
            .map(|x| (x.threads as f64, x.efficiency))
            .collect();
        let line = viridis(0.15);
        let dots = viridis(0.6);

        let top = speed
            .iter()
            .chain(&single)
            .map(|p| p.1)
            .fold(max_t, f64::max)
            * 1.05;
        let mut c = ChartBuilder::on(&left)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .caption("speed-up over 1 thread", ("sans-serif", 16))
            .build_cartesian_2d(0.5..max_t + 0.5, 0.0..top)?;
        c.configure_mesh()
            .x_desc("threads")
            .y_desc("speed-up (median words/s ÷ 1-thread median)")
            .label_style(("sans-serif", 13))
            .x_labels(max_t as usize + 1)
            .x_label_formatter(&whole)
            .light_line_style(WHITE)
            .draw()?;
        c.draw_series(DashedLineSeries::new(
            vec![(1.0, 1.0), (max_t, max_t)],
            6,
            4,
            BLACK.stroke_width(1),
        ))?
        .label("ideal (linear)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        c.draw_series(single.iter().map(|&p| Circle::new(p, 2, dots.filled())))?
            .label("single runs")
            .legend(move |(x, y)| Circle::new((x + 10, y), 2, dots.filled()));
        c.draw_series(LineSeries::new(speed.clone(), line.stroke_width(2)))?
            .label("median")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], line.stroke_width(2))
            });
        c.draw_series(speed.iter().map(|&p| Circle::new(p, 4, line.filled())))?;
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()?;

        let mut c = ChartBuilder::on(&right)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .caption("parallel efficiency", ("sans-serif", 16))
            .build_cartesian_2d(
                0.5..max_t + 0.5,
                0.0..1.2f64.max(eff.iter().map(|p| p.1).fold(0.0, f64::max) * 1.05),
            )?;
        c.configure_mesh()
            .x_desc("threads")
            .y_desc("efficiency (speed-up ÷ threads)")
            .label_style(("sans-serif", 13))
            .x_labels(max_t as usize + 1)
            .x_label_formatter(&whole)
            .light_line_style(WHITE)
            .draw()?;
        c.draw_series(DashedLineSeries::new(
            vec![(0.5, 1.0), (max_t + 0.5, 1.0)],
            6,
            4,
            BLACK.stroke_width(1),
        ))?;
        c.draw_series(LineSeries::new(eff.clone(), line.stroke_width(2)))?;
        c.draw_series(eff.iter().map(|&p| Circle::new(p, 4, line.filled())))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
