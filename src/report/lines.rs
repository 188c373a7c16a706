//! Line charts shared by the reports: one chart with a legend beside it, lines told apart by
//! marker shape and dash pattern as well as colour (so they survive greyscale printing),
//! linear or logarithmic axes, optional error bars and optional named (categorical) x ticks.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{viridis, DrawResult, Figure, FONT};

/// Point marker shapes, distinguishable without colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// Filled circle.
    Circle,
    /// Open square.
    Square,
    /// Filled triangle.
    Triangle,
    /// Diagonal cross.
    Cross,
    /// Open diamond.
    Diamond,
    /// Open circle.
    Ring,
}

/// Every marker, in the order [`series_style`] hands them out.
pub const MARKERS: [Marker; 6] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Cross,
    Marker::Diamond,
    Marker::Ring,
];

/// How a line is stroked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dash {
    /// Continuous.
    Solid,
    /// Long dashes.
    Dashed,
    /// Short dots.
    Dotted,
}

/// Every dash pattern, in the order [`series_style`] hands them out.
pub const DASHES: [Dash; 3] = [Dash::Solid, Dash::Dashed, Dash::Dotted];

/// The (dash, marker) pair of series `i` among many: the first 18 pairs are all different,
/// and neighbours differ in both.
pub fn series_style(i: usize) -> (Dash, Marker) {
    let m = MARKERS.len();
    (DASHES[(i + i / m) % DASHES.len()], MARKERS[i % m])
}

/// A colour for item `i` of `n` ordered items (dark = first), avoiding viridis's palest end
/// so that lines stay visible on white.
pub fn ordered_colour(i: usize, n: usize) -> RGBColor {
    viridis(0.85 * i as f64 / (n.max(2) - 1) as f64)
}

/// One line of a [`Lines`] chart.
#[derive(Clone, Debug)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// (x, y) points; a NaN point breaks the line (a gap), other non-finite points (and
    /// non-positive ones on a log axis) are left out.
    pub points: Vec<(f64, f64)>,
    /// Stroke and marker colour.
    pub colour: RGBColor,
    /// Stroke pattern.
    pub dash: Dash,
    /// Marker drawn at every point.
    pub marker: Marker,
    /// Stroke width in pixels; 0 draws the markers and error bars without a line.
    pub width: u32,
    /// Vertical error bars (x, low, high).
    pub errors: Vec<(f64, f64, f64)>,
}

impl Line {
    /// A line of width 2 without error bars.
    pub fn new(
        label: impl Into<String>,
        points: Vec<(f64, f64)>,
        colour: RGBColor,
        dash: Dash,
        marker: Marker,
    ) -> Self {
        Line {
            label: label.into(),
            points,
            colour,
            dash,
            marker,
            width: 2,
            errors: Vec::new(),
        }
    }
}

/// A line chart with a legend beside it.
#[derive(Clone, Debug)]
pub struct Lines {
    /// Caption above the chart.
    pub title: String,
    /// x-axis description (with units).
    pub x_desc: String,
    /// y-axis description (with units).
    pub y_desc: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
    /// Fixed x range (else from the data).
    pub x_range: Option<(f64, f64)>,
    /// Names of the x positions 0, 1, 2, ... (categorical axis); `None` for numbers.
    pub x_ticks: Option<Vec<String>>,
    /// The lines, drawn in order (later ones on top).
    pub lines: Vec<Line>,
    /// Heading of the legend.
    pub legend_title: String,
}

fn data_range(vals: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = vals
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        (lo / 1.6, hi * 1.6)
    } else {
        let pad = ((hi - lo) * 0.06).max(hi.abs() * 0.05).max(1e-12);
        ((lo - pad).min(0.0f64.max(lo - pad)), hi + pad)
    }
}

fn sci(v: f64) -> String {
    // Tick positions are computed in floating point: "0" may arrive as 1e-17.
    if v.abs() < 1e-12 {
        "0".into()
    } else if v.abs() < 1e-2 || v.abs() >= 1e5 {
        format!("{v:.0e}")
    } else {
        // Ticks are round numbers: four decimals, trailing zeros dropped, so that 1.5 and
        // 2 or 0.025 and 0.03 never print alike.
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The name of categorical position `v`, or nothing between positions.
fn tick_name(ticks: &[String], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    ticks.get(i as usize).cloned().unwrap_or_default()
}

/// Draws marker `m` centred at `at`.
pub fn draw_marker<DB: DrawingBackend, CT: plotters::coord::CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    m: Marker,
    colour: RGBColor,
) -> DrawResult
where
    DB::ErrorType: 'static,
    CT::From: Clone + 'static,
{
    let st = colour.stroke_width(2);
    let here = EmptyElement::at(at);
    match m {
        Marker::Circle => area.draw(&(here + Circle::new((0, 0), 4, colour.filled())))?,
        Marker::Square => area.draw(&(here + Rectangle::new([(-4, -4), (4, 4)], st)))?,
        Marker::Triangle => area.draw(&(here + TriangleMarker::new((0, 0), 5, colour.filled())))?,
        Marker::Cross => area.draw(&(here + Cross::new((0, 0), 4, st)))?,
        Marker::Diamond => area.draw(
            &(here + PathElement::new(vec![(0, -5), (5, 0), (0, 5), (-5, 0), (0, -5)], st)),
        )?,
        Marker::Ring => area.draw(&(here + Circle::new((0, 0), 4, st)))?,
    }
    Ok(())
}

impl Lines {
    fn draw_in<DB: DrawingBackend, X, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        x: X,
        y: Y,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 22))
            .margin(14)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d(x, y)?;
        let x_fmt = |v: &f64| match &self.x_ticks {
            Some(t) => tick_name(t, *v),
            None => sci(*v),
        };
        chart
            .configure_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            // One label per category: "nice" steps finer than 1 would need more labels.
            .x_labels(self.x_ticks.as_ref().map_or(10, |t| t.len() + 1))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v| sci(*v))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()?;
        let shown = |x: f64, y: f64| {
            x.is_finite() && y.is_finite() && (!self.x_log || x > 0.0) && (!self.y_log || y > 0.0)
        };
        for l in &self.lines {
            let pts: Vec<(f64, f64)> = l
                .points
                .iter()
                .copied()
                .filter(|&(x, y)| shown(x, y))
                .collect();
            // Runs of points between NaN points (gaps), each drawn as its own line.
            let runs: Vec<Vec<(f64, f64)>> = l
                .points
                .split(|&(x, y)| x.is_nan() || y.is_nan())
                .map(|run| run.iter().copied().filter(|&(x, y)| shown(x, y)).collect())
                .collect();
            let style = l.colour.stroke_width(l.width);
            for &(x, lo, hi) in &l.errors {
                if shown(x, lo) && shown(x, hi) {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, lo), (x, hi)],
                        l.colour.stroke_width(1),
                    )))?;
                    for end in [lo, hi] {
                        chart.plotting_area().draw(
                            &(EmptyElement::at((x, end))
                                + PathElement::new(
                                    vec![(-4, 0), (4, 0)],
                                    l.colour.stroke_width(1),
                                )),
                        )?;
                    }
                }
            }
            // Width 0: markers (and error bars) only, as in a forest plot.
            for run in runs.iter().filter(|_| l.width > 0) {
                let run = run.iter().copied();
                match l.dash {
                    Dash::Solid => {
                        chart.draw_series(LineSeries::new(run, style))?;
                    }
                    Dash::Dashed => {
                        chart.draw_series(DashedLineSeries::new(run, 9, 6, style))?;
                    }
                    Dash::Dotted => {
                        chart.draw_series(DashedLineSeries::new(run, 2, 5, style))?;
                    }
                }
            }
            for &p in &pts {
                draw_marker(chart.plotting_area(), p, l.marker, l.colour)?;
            }
        }
        Ok(())
    }

    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let x0 = 6;
        let mut y = 64;
        area.draw(&Text::new(
            self.legend_title.clone(),
            (x0, y - 26),
            (FONT, 15).into_font(),
        ))?;
        let row =
            ((area.dim_in_pixel().1 as i32 - 90) / self.lines.len().max(1) as i32).clamp(12, 26);
        for l in &self.lines {
            let style = l.colour.stroke_width(l.width);
            let stroke = vec![(x0, y), (x0 + 34, y)];
            match l.dash {
                _ if l.width == 0 => {}
                Dash::Solid => area.draw(&PathElement::new(stroke, style))?,
                Dash::Dashed => area.draw(&DashedPathElement::new(stroke, 6, 4, style))?,
                Dash::Dotted => area.draw(&DashedPathElement::new(stroke, 2, 4, style))?,
            }
            draw_marker(area, (x0 + 17, y), l.marker, l.colour)?;
            area.draw(&Text::new(
                l.label.clone(),
                (x0 + 42, y - 7),
                (FONT, if row < 18 { 12 } else { 14 }).into_font(),
            ))?;
            y += row;
        }
        Ok(())
    }
}

impl Figure for Lines {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (w, _) = root.dim_in_pixel();
        let (main, legend) = root.split_horizontally(w - 250);
        let (x0, x1) = self.x_range.unwrap_or_else(|| {
            data_range(
                self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)),
                self.x_log,
            )
        });
        let ys = self.lines.iter().flat_map(|l| {
            l.points
                .iter()
                .map(|p| p.1)
                .chain(l.errors.iter().flat_map(|e| [e.1, e.2]))
        });
        let (y0, y1) = data_range(ys, self.y_log);
        match (self.x_log, self.y_log) {
            (false, false) => self.draw_in(&main, x0..x1, y0..y1)?,
            (false, true) => self.draw_in(&main, x0..x1, (y0..y1).log_scale())?,
            (true, false) => self.draw_in(&main, (x0..x1).log_scale(), y0..y1)?,
            (true, true) => self.draw_in(&main, (x0..x1).log_scale(), (y0..y1).log_scale())?,
        }
        self.draw_legend(&legend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_styles_differ_for_eighteen_series_and_between_neighbours() {
        let styles: Vec<(Dash, Marker)> = (0..18).map(series_style).collect();
        for i in 0..styles.len() {
            for j in 0..i {
                assert_ne!(styles[i], styles[j], "series {j} and {i}");
            }
        }
        for w in styles.windows(2) {
            assert_ne!(w[0].0, w[1].0, "neighbours share a dash pattern");
            assert_ne!(w[0].1, w[1].1, "neighbours share a marker");
        }
    }

    #[test]
    fn tick_labels_keep_the_digits_that_tell_ticks_apart() {
        let labels: Vec<String> = [0.0, 1e-17, 0.025, 0.5, 1.5, 2.0, 250.0, 1e-3, 2e5]
            .iter()
            .map(|&v| sci(v))
            .collect();
        assert_eq!(
            labels,
            ["0", "0", "0.025", "0.5", "1.5", "2", "250", "1e-3", "2e5"]
        );
    }

    #[test]
    fn categorical_ticks_name_whole_positions_only() {
        let t = vec!["5-9".to_string(), "10-99".to_string()];
        assert_eq!(tick_name(&t, 0.0), "5-9");
        assert_eq!(tick_name(&t, 1.0000001), "10-99");
        assert_eq!(tick_name(&t, 0.5), "");
        assert_eq!(tick_name(&t, 2.0), "");
        assert_eq!(tick_name(&t, -1.0), "");
    }
}
