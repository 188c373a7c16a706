//! Rendering a `huffvec bench` result: the Markdown table and the scaling figure.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{viridis, DrawResult, Figure};

use crate::experiment::bench::BenchResult;

impl BenchResult {
    /// The summary as a Markdown table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "machine: {}; kernel {}; {:?} HS, dim {}, window {}, {} epoch(s), {} tokens/epoch; medians of {} run(s)\n\n",
            self.machine,
            self.kernel,
            self.config.params.model,
            self.config.params.dim,
            self.config.params.window,
            self.config.params.epochs,
            self.tokens_per_epoch,
            self.runs.iter().filter(|r| r.independent == 1).count() / self.rows.len().max(1)
        );
        let contention = self
            .rows
            .iter()
            .any(|r| r.independent_words_per_sec.is_some());
        s.push_str("| threads | words/s | words/s/thread | speed-up | efficiency | peak RSS MiB |");
        if contention {
            s.push_str(" independent models words/s | shared / independent |");
        }
        s.push('\n');
        s.push_str("|---|---|---|---|---|---|");
        if contention {
            s.push_str("---|---|");
        }
        s.push('\n');
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.2} | {:.2} | {} |",
                r.threads,
                r.median_words_per_sec,
                r.words_per_sec_per_thread,
                r.speedup,
                r.efficiency,
                r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}"))
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
                r.config.params.model, r.machine, r.kernel
            ),
            (20, 15),
            ("sans-serif", 18).into_font(),
        ))?;
        let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
        let max_t = r.rows.iter().map(|x| x.threads).max().unwrap_or(1).max(2) as f64;
        self.draw_speedup(&left, max_t)?;
        self.draw_efficiency(&right, max_t)
    }
}

impl ScalingFigure<'_> {
    /// The speed-up panel: single runs, medians and the ideal line.
    fn draw_speedup<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        max_t: f64,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let r = self.0;
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
        let line = viridis(0.15);
        let dots = viridis(0.6);
        let top = speed
            .iter()
            .chain(&single)
            .map(|p| p.1)
            .fold(max_t, f64::max)
            * 1.05;
        let mut c = ChartBuilder::on(area)
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
        Ok(())
    }

    /// The parallel-efficiency panel: medians against the ideal 1.
    fn draw_efficiency<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        max_t: f64,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let eff: Vec<(f64, f64)> = self
            .0
            .rows
            .iter()
            .map(|x| (x.threads as f64, x.efficiency))
            .collect();
        let line = viridis(0.15);
        let mut c = ChartBuilder::on(area)
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
