//! `huffvec report --stats FILE --out DIR`: the telemetry file as figures, CSV tables and a
//! self-contained `index.html` (no server, no scripts).
//!
//! Figures (each as `.svg` and `.png`):
//! * `g_heatmap`: mean |g| per depth over training progress;
//! * `input_grad_heatmap`: mean gradient sent to the input, alpha |g| |v_n|, per depth over
//!   progress (log colour scale);
//! * `gradient_by_depth`: mean |g|, node step and input gradient per depth, whole run;
//! * `saturation_by_depth`: share of visits saturated, agreeing vs disagreeing, per depth;
//! * `input_step_by_band`: mean input-step norm per frequency band over progress;
//! * `updates_per_word`: input updates and target examples per word, per band.

use std::fmt::{self, Write as _};
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::lines::{ordered_colour, series_style, Dash, Line, Lines, Marker};
use super::{save_figure, viridis, DrawResult, Figure, FONT};
use crate::error::{Error, Result};
use crate::telemetry::grid::{BandCell, Cell};
use crate::telemetry::snapshot::{self, StatsFile};

const SIZE: (u32, u32) = (1000, 620);

/// Run-wide figures of a stats file, per depth and per band.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Model, corpus and size line.
    pub run: String,
    /// Per depth, whole run.
    pub depths: Vec<DepthRow>,
    /// Per band, whole run.
    pub bands: Vec<BandRow>,
    /// Why the file does not cover a whole finished run (missing snapshots, no end
    /// record); the whole-run figures then cover only what was recorded.
    pub incomplete: Option<String>,
}

/// One depth over the whole run.
#[derive(Clone, Debug)]
pub struct DepthRow {
    /// Depth (root = 0).
    pub depth: usize,
    /// Inner nodes at this depth.
    pub inner_nodes: u64,
    /// Sums over bands and snapshots.
    pub sums: Cell,
    /// Inner nodes never stepped (end of run), if known.
    pub never_updated: Option<u64>,
    /// Mean |v_n| at the end, if known.
    pub v_norm_final: Option<f64>,
}

/// One band over the whole run.
#[derive(Clone, Debug)]
pub struct BandRow {
    /// Dense band index.
    pub band: usize,
    /// Count range [lo, hi).
    pub count_lo: u64,
    /// Count range [lo, hi).
    pub count_hi: u64,
    /// Words in the band.
    pub words: u64,
    /// Corpus occurrences of the band's words (one epoch).
    pub tokens: u64,
    /// Mean code length of the band's words.
    pub mean_depth: f64,
    /// Target-side node sums (over depths and snapshots).
    pub node: Cell,
    /// Band sums over snapshots.
    pub sums: BandCell,
    /// Mean final |input vector|, if known.
    pub input_norm_final: Option<f64>,
}

fn mean(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

impl DepthRow {
    /// Mean |g|.
    pub fn abs_g(&self) -> Option<f64> {
        mean(self.sums.abs_g, self.sums.sampled)
    }
    /// Mean node step alpha |g| |h|.
    pub fn node_step(&self) -> Option<f64> {
        mean(self.sums.node_step, self.sums.sampled)
    }
    /// Mean input gradient alpha |g| |v_n|.
    pub fn input_grad(&self) -> Option<f64> {
        mean(self.sums.input_grad, self.sums.sampled)
    }
    /// Mean loss per visit.
    pub fn loss(&self) -> Option<f64> {
        mean(self.sums.loss, self.sums.sampled)
    }
    /// Share of visits saturated and agreeing.
    pub fn sat_agree(&self) -> Option<f64> {
        mean(self.sums.sat_agree as f64, self.sums.updates)
    }
    /// Share of visits saturated and disagreeing.
    pub fn sat_disagree(&self) -> Option<f64> {
        mean(self.sums.sat_disagree as f64, self.sums.updates)
    }
}

impl BandRow {
    /// Input-vector updates per word of the band.
    pub fn input_updates_per_word(&self) -> f64 {
        self.sums.input_updates as f64 / self.words.max(1) as f64
    }
    /// Examples along the band's own paths per word.
    pub fn target_examples_per_word(&self) -> f64 {
        self.sums.target_examples as f64 / self.words.max(1) as f64
    }
    /// Mean input-step norm.
    pub fn input_step(&self) -> Option<f64> {
        mean(self.sums.input_step, self.sums.input_sampled)
    }
    /// Mean length of the paths the band's input vectors were trained along.
    pub fn input_path_len(&self) -> Option<f64> {
        mean(self.sums.input_path_len as f64, self.sums.input_updates)
    }
    /// Mean |g| on the band's own paths.
    pub fn abs_g(&self) -> Option<f64> {
        mean(self.node.abs_g, self.node.sampled)
    }
    /// "[lo, hi)" count range.
    pub fn range(&self) -> String {
        format!("{}–{}", self.count_lo, self.count_hi.saturating_sub(1))
    }
}

fn opt(x: Option<f64>, prec: usize) -> String {
    match x {
        Some(v) if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) => format!("{v:.prec$e}"),
        Some(v) => format!("{v:.prec$}"),
        None => "–".into(),
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.run)?;
        if let Some(why) = &self.incomplete {
            writeln!(
                f,
                "INCOMPLETE statistics: {why}; whole-run figures cover only the recorded snapshots"
            )?;
        }
        let visited: Vec<&DepthRow> = self.depths.iter().filter(|d| d.sums.sampled > 0).collect();
        if let (Some(first), Some(last)) = (visited.first(), visited.last()) {
            writeln!(
                f,
                "mean |g|: depth {} {}, depth {} {}; mean input gradient alpha|g||v|: depth {} {}, depth {} {}",
                first.depth,
                opt(first.abs_g(), 4),
                last.depth,
                opt(last.abs_g(), 4),
                first.depth,
                opt(first.input_grad(), 3),
                last.depth,
                opt(last.input_grad(), 3),
            )?;
        }
        write!(
            f,
            "saturated share of visits per depth (agree/disagree, %):"
        )?;
        for d in &self.depths {
            write!(
                f,
                " {}:{}/{}",
                d.depth,
                opt(d.sat_agree().map(|x| 100.0 * x), 2),
                opt(d.sat_disagree().map(|x| 100.0 * x), 2)
            )?;
        }
        writeln!(f)?;
        let used: Vec<&BandRow> = self.bands.iter().filter(|b| b.words > 0).collect();
        if let (Some(rare), Some(freq)) = (used.first(), used.last()) {
            write!(
                f,
                "input updates per word: rarest band (count {}) {:.1}, most frequent band (count {}) {:.0}; own-path examples per word: {:.1} vs {:.0}",
                rare.range(),
                rare.input_updates_per_word(),
                freq.range(),
                freq.input_updates_per_word(),
                rare.target_examples_per_word(),
                freq.target_examples_per_word(),
            )?;
        }
        Ok(())
    }
}

/// Per-snapshot aggregates used by the figures.
struct Series2d {
    /// Per snapshot, the progress span (percent) its data is drawn over; None when the
    /// file does not hold the snapshot.
    spans: Vec<Option<(f64, f64)>>,
    /// Progress spans (percent) of the runs of missing snapshots.
    missing: Vec<(f64, f64)>,
    /// `by_depth[s * nd + d]`.
    by_depth: Vec<Cell>,
    /// `by_band[s * nb + b]`.
    by_band: Vec<BandCell>,
    nd: usize,
    nb: usize,
}

fn aggregate(s: &StatsFile) -> (Summary, Series2d) {
    let h = &s.header;
    let (nd, nb, ns) = (h.max_depth, h.bands.len(), h.n_snapshots as usize);
    let mut by_depth = vec![Cell::default(); ns * nd];
    let mut by_band = vec![BandCell::default(); ns * nb];
    let mut depth_tot = vec![Cell::default(); nd];
    let mut band_node = vec![Cell::default(); nb];
    let mut band_tot = vec![BandCell::default(); nb];
    let slot = |k: u32| (k as usize).clamp(1, ns.max(1)) - 1;
    for c in &s.cells {
        let i = slot(c.snapshot);
        if i < ns {
            by_depth[i * nd + c.depth].merge(&c.sums);
        }
        depth_tot[c.depth].merge(&c.sums);
        band_node[c.band].merge(&c.sums);
    }
    for b in &s.bands {
        let i = slot(b.snapshot);
        if i < ns {
            by_band[i * nb + b.band].merge(&b.sums);
        }
        band_tot[b.band].merge(&b.sums);
    }
    // A thread hands over its work at its first publish point past a boundary, so a
    // snapshot with data covers the work since the previous snapshot with data: draw it
    // over that whole span (no gaps when snapshots are shorter than a publish batch). A
    // missing snapshot is a gap, never stretched over.
    let mut present = vec![false; ns];
    let mut updates = vec![0u64; ns];
    for r in &s.snapshots {
        let i = slot(r.snapshot);
        present[i] = true;
        updates[i] = r.sums.updates;
    }
    let mut last_hi = 0.0;
    let spans = (0..ns)
        .map(|i| {
            let (_, hi) = s.span(i as u32 + 1);
            let span = present[i].then_some((last_hi, 100.0 * hi));
            if updates[i] > 0 || !present[i] {
                last_hi = 100.0 * hi;
            }
            span
        })
        .collect();
    let missing = s
        .missing_snapshots()
        .iter()
        .map(|&(lo, hi)| (100.0 * s.span(lo).0, 100.0 * s.span(hi).1))
        .collect();
    let depths = (0..nd)
        .map(|d| {
            let fin = s.depth_final.iter().find(|r| r.depth == d);
            DepthRow {
                depth: d,
                inner_nodes: h.depths.get(d).map_or(0, |x| x.inner_nodes),
                sums: depth_tot[d],
                never_updated: fin.map(|r| r.never_updated),
                v_norm_final: fin.map(|r| r.v_norm_mean),
            }
        })
        .collect();
    let bands = h
        .bands
        .iter()
        .map(|info| BandRow {
            band: info.band,
            count_lo: info.count_lo,
            count_hi: info.count_hi,
            words: info.words,
            tokens: info.tokens,
            mean_depth: info.mean_depth,
            node: band_node[info.band],
            sums: band_tot[info.band],
            input_norm_final: s
                .band_final
                .iter()
                .find(|r| r.band == info.band)
                .map(|r| r.input_norm_mean),
        })
        .collect();
    let cfg = &h.config;
    let get = |k: &str| cfg.get(k).map(|v| v.to_string()).unwrap_or_default();
    let run = format!(
        "{} HS, dim {}, window {}, {} epochs, {} threads, corpus {}: {} words in vocabulary, {} inner nodes, max depth {}, {} words trained{}",
        get("model").trim_matches('"'),
        get("dim"),
        get("window"),
        get("epochs"),
        get("threads"),
        get("input").trim_matches('"'),
        h.vocab_size,
        h.n_inner,
        h.max_depth,
        h.total_words,
        match &s.end {
            Some(e) if e.status != "done" => format!(" ({})", e.status),
            _ => String::new(),
        }
    );
    (
        Summary {
            run,
            depths,
            bands,
            incomplete: s.incomplete(),
        },
        Series2d {
            spans,
            missing,
            by_depth,
            by_band,
            nd,
            nb,
        },
    )
}

/// A depth x progress heatmap.
struct Heatmap {
    title: String,
    colour_desc: String,
    spans: Vec<Option<(f64, f64)>>,
    /// Progress spans with no data recorded, drawn hatched.
    missing: Vec<(f64, f64)>,
    nd: usize,
    /// `values[s * nd + d]`.
    values: Vec<Option<f64>>,
    log: bool,
}

impl Heatmap {
    fn range(&self) -> (f64, f64) {
        let vals = self
            .values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite() && (!self.log || *v > 0.0));
        let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if !lo.is_finite() {
            return (0.1, 1.0);
        }
        if hi > lo {
            (lo, hi)
        } else {
            (lo * 0.5, lo * 2.0 + 1e-12)
        }
    }

    fn scale(&self, v: f64, (lo, hi): (f64, f64)) -> f64 {
        if self.log {
            (v.max(lo).ln() - lo.ln()) / (hi.ln() - lo.ln())
        } else {
            (v - lo) / (hi - lo)
        }
    }
}

impl Figure for Heatmap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (w, _) = root.dim_in_pixel();
        let (main, bar) = root.split_horizontally(w - 150);
        let nd = self.nd as f64;
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, (FONT, 22))
            .margin(14)
            .x_label_area_size(52)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..100f64, (nd - 0.5)..-0.5f64)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("training progress (% of words, all epochs)")
            .y_desc("inner-node depth (root = 0)")
            .x_labels(11)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_labels(self.nd.min(25))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()?;
        let range = self.range();
        chart.draw_series(self.spans.iter().enumerate().flat_map(|(s, span)| {
            let (lo, hi) = span.unwrap_or_default();
            (0..self.nd).filter_map(move |d| {
                span.as_ref()?;
                let v = self.values[s * self.nd + d]?;
                let c = viridis(self.scale(v, range));
                Some(Rectangle::new(
                    [(lo, d as f64 - 0.5), (hi, d as f64 + 0.5)],
                    c.filled(),
                ))
            })
        }))?;
        draw_missing(&mut chart, &self.missing, (-0.5, nd - 0.5))?;
        draw_colour_bar(&bar, &self.colour_desc, range, self.log)?;
        Ok(())
    }
}

/// Hatches the progress spans `missing` (percent) over the y range `(y0, y1)` and labels
/// them, so that a gap in the record never reads as data.
fn draw_missing<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    missing: &[(f64, f64)],
    (y0, y1): (f64, f64),
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let grey = RGBColor(150, 150, 150);
    for &(lo, hi) in missing {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(lo, y0), (hi, y1)],
            RGBColor(235, 235, 235).filled(),
        )))?;
        // Diagonal hatching: lines of slope (y1 - y0) / 8 progress points.
        let step = 2.0;
        let mut x = lo - 8.0;
        while x < hi {
            let (xa, xb) = (x.max(lo), (x + 8.0).min(hi));
            let at = |xv: f64| y0 + (y1 - y0) * (xv - x) / 8.0;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(xa, at(xa)), (xb, at(xb))],
                grey.stroke_width(1),
            )))?;
            x += step;
        }
        chart.draw_series(std::iter::once(Text::new(
            "missing",
            ((lo + hi) / 2.0 - 3.0, (y0 + y1) / 2.0),
            (FONT, 15).into_font().color(&BLACK),
        )))?;
    }
    Ok(())
}

fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    desc: &str,
    (lo, hi): (f64, f64),
    log: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    const STEPS: usize = 120;
    let mut cb = ChartBuilder::on(area);
    cb.margin_top(48)
        .margin_bottom(66)
        .margin_left(4)
        .margin_right(6)
        .y_label_area_size(0)
        .right_y_label_area_size(96);
    // Leading spaces keep the labels clear of the tick marks.
    let fmt = |v: &f64| {
        if *v == 0.0 {
            "  0".into()
        } else if v.abs() < 1e-2 || v.abs() >= 1e4 {
            format!("  {v:.1e}")
        } else {
            format!("  {v:.3}")
        }
    };
    let rect = |i: usize| {
        let t0 = i as f64 / STEPS as f64;
        let t1 = (i + 1) as f64 / STEPS as f64;
        (t0, t1, viridis((t0 + t1) / 2.0))
    };
    if log {
        let mut c = cb.build_cartesian_2d(0f64..1f64, (lo..hi).log_scale())?;
        c.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(desc)
            .y_labels(6)
            .y_label_formatter(&fmt)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let at = |t: f64| (lo.ln() + t * (hi.ln() - lo.ln())).exp();
        c.draw_series((0..STEPS).map(|i| {
            let (t0, t1, col) = rect(i);
            Rectangle::new([(0.0, at(t0)), (1.0, at(t1))], col.filled())
        }))?;
    } else {
        let mut c = cb.build_cartesian_2d(0f64..1f64, lo..hi)?;
        c.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(desc)
            .y_labels(6)
            .y_label_formatter(&fmt)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()?;
        let at = |t: f64| lo + t * (hi - lo);
        c.draw_series((0..STEPS).map(|i| {
            let (t0, t1, col) = rect(i);
            Rectangle::new([(0.0, at(t0)), (1.0, at(t1))], col.filled())
        }))?;
    }
    Ok(())
}

fn band_label(b: &BandRow) -> String {
    format!("count {}", b.range())
}

/// The fuzz oracle of the stats reader: whatever `data` holds, reading it never panics,
/// and a file it accepts summarises (tables, summary text, HTML) without panicking, with
/// its missing snapshots inside the header's count.
pub fn read_and_check(data: &[u8]) {
    let Ok(s) = snapshot::read_from(data, Path::new("fuzz input")) else {
        return;
    };
    let (sum, ser) = aggregate(&s);
    assert_eq!(ser.spans.len(), s.header.n_snapshots as usize);
    for (lo, hi) in s.missing_snapshots() {
        assert!(1 <= lo && lo <= hi && hi <= s.header.n_snapshots);
    }
    let _ = sum.to_string();
    let _ = index_html(&s, &sum);
}

/// Renders `stats` into `out` (created if missing) and returns the run's summary.
pub fn render(stats: &Path, out: &Path) -> Result<Summary> {
    let s = snapshot::read(stats)?;
    std::fs::create_dir_all(out)
        .map_err(|e| Error::io("cannot create report directory", out, e))?;
    let (sum, ser) = aggregate(&s);
    write_g_heatmap(out, &ser)?;
    write_input_grad_heatmap(out, &ser)?;
    write_gradient_by_depth(out, &sum, ser.nd)?;
    write_saturation_by_depth(out, &sum, ser.nd)?;
    let used = used_bands(&sum);
    write_input_step_by_band(out, &used, &ser)?;
    write_updates_per_word(out, &s, &used)?;
    write_depth_csv(out, &sum)?;
    write_band_csv(out, &sum)?;
    write_index(out, &s, &sum)?;
    Ok(sum)
}

/// Per snapshot and depth (`s * nd + d`), `pick` of the depth's sums.
fn depth_heat(ser: &Series2d, pick: fn(&Cell) -> Option<f64>) -> Vec<Option<f64>> {
    debug_assert_eq!(ser.by_depth.len(), ser.spans.len() * ser.nd);
    (0..ser.spans.len() * ser.nd)
        .map(|i| pick(&ser.by_depth[i]))
        .collect()
}

/// `g_heatmap`: mean |g| per depth over training progress.
fn write_g_heatmap(out: &Path, ser: &Series2d) -> Result<()> {
    save_figure(
        out,
        "g_heatmap",
        SIZE,
        &Heatmap {
            title: "Mean |g| = |t − σ(f)| per tree depth over training".into(),
            colour_desc: "mean |g| (unitless, before learning rate)".into(),
            spans: ser.spans.clone(),
            missing: ser.missing.clone(),
            nd: ser.nd,
            values: depth_heat(ser, |c| mean(c.abs_g, c.sampled)),
            log: false,
        },
    )
}

/// `input_grad_heatmap`: mean gradient sent to the input per depth over progress.
fn write_input_grad_heatmap(out: &Path, ser: &Series2d) -> Result<()> {
    save_figure(
        out,
        "input_grad_heatmap",
        SIZE,
        &Heatmap {
            title: "Mean gradient sent to the input, α|g|·|v_n|, per depth".into(),
            colour_desc: "mean α|g|·|v_n| (log scale)".into(),
            spans: ser.spans.clone(),
            missing: ser.missing.clone(),
            nd: ser.nd,
            values: depth_heat(ser, |c| mean(c.input_grad, c.sampled)),
            log: true,
        },
    )
}

/// (depth, `f` of the depth) for every depth where `f` has a value.
fn depth_points(sum: &Summary, f: impl Fn(&DepthRow) -> Option<f64>) -> Vec<(f64, f64)> {
    sum.depths
        .iter()
        .filter_map(|d| f(d).map(|v| (d.depth as f64, v)))
        .collect()
}

/// The x range of a per-depth figure over `nd` depths.
fn depth_range(nd: usize) -> Option<(f64, f64)> {
    Some((-0.5, nd as f64 - 0.5))
}

/// `gradient_by_depth`: mean |g|, node step and input gradient per depth, whole run.
fn write_gradient_by_depth(out: &Path, sum: &Summary, nd: usize) -> Result<()> {
    save_figure(
        out,
        "gradient_by_depth",
        SIZE,
        &Lines {
            title: "Gradient sizes per tree depth (whole run)".into(),
            x_desc: "inner-node depth (root = 0)".into(),
            y_desc: "mean per node visit (log scale)".into(),
            x_log: false,
            y_log: true,
            x_range: depth_range(nd),
            x_ticks: None,
            lines: vec![
                Line::new(
                    "|g| (no learning rate)",
                    depth_points(sum, DepthRow::abs_g),
                    viridis(0.0),
                    Dash::Solid,
                    Marker::Circle,
                ),
                Line::new(
                    "node step α|g|·|h|",
                    depth_points(sum, DepthRow::node_step),
                    viridis(0.45),
                    Dash::Dashed,
                    Marker::Square,
                ),
                Line::new(
                    "to input α|g|·|v_n|",
                    depth_points(sum, DepthRow::input_grad),
                    viridis(0.75),
                    Dash::Solid,
                    Marker::Triangle,
                ),
            ],
            legend_title: "quantity".into(),
        },
    )
}

/// `saturation_by_depth`: share of visits saturated, agreeing vs disagreeing, per depth.
fn write_saturation_by_depth(out: &Path, sum: &Summary, nd: usize) -> Result<()> {
    save_figure(
        out,
        "saturation_by_depth",
        SIZE,
        &Lines {
            title: "Saturated node visits (|f| ≥ sigmoid table edge) per depth".into(),
            x_desc: "inner-node depth (root = 0)".into(),
            y_desc: "share of visits (%)".into(),
            x_log: false,
            y_log: false,
            x_range: depth_range(nd),
            x_ticks: None,
            lines: vec![
                Line::new(
                    "agreeing (g ≈ 0)",
                    depth_points(sum, |d| d.sat_agree().map(|x| 100.0 * x)),
                    viridis(0.0),
                    Dash::Solid,
                    Marker::Circle,
                ),
                Line::new(
                    "disagreeing (lost)",
                    depth_points(sum, |d| d.sat_disagree().map(|x| 100.0 * x)),
                    viridis(0.6),
                    Dash::Dashed,
                    Marker::Square,
                ),
            ],
            legend_title: "saturated and".into(),
        },
    )
}

/// The bands that hold words, rarest first.
fn used_bands(sum: &Summary) -> Vec<&BandRow> {
    sum.bands.iter().filter(|b| b.words > 0).collect()
}

/// `input_step_by_band`: mean input-step norm per frequency band over progress.
fn write_input_step_by_band(out: &Path, used: &[&BandRow], ser: &Series2d) -> Result<()> {
    let band_lines: Vec<Line> =
        used.iter()
            .enumerate()
            .map(|(i, b)| {
                let style = series_style(i);
                Line::new(
                    band_label(b),
                    (0..ser.spans.len())
                        .filter_map(|k| {
                            let c = &ser.by_band[k * ser.nb + b.band];
                            match ser.spans[k] {
                                // A missing snapshot breaks the line.
                                None => Some((f64::NAN, f64::NAN)),
                                Some((lo, hi)) => mean(c.input_step, c.input_sampled)
                                    .map(|v| ((lo + hi) / 2.0, v)),
                            }
                        })
                        .collect(),
                    ordered_colour(i, used.len()),
                    style.0,
                    style.1,
                )
            })
            .collect();
    save_figure(
        out,
        "input_step_by_band",
        SIZE,
        &Lines {
            title: "Mean input-vector step |neu1e| per frequency band".into(),
            x_desc: "training progress (% of words, all epochs)".into(),
            y_desc: "mean |Δ input vector| per update (log)".into(),
            x_log: false,
            y_log: true,
            x_range: Some((0.0, 100.0)),
            x_ticks: None,
            lines: band_lines,
            legend_title: "band (corpus count)".into(),
        },
    )
}

/// `updates_per_word`: input updates, own-path examples and occurrences per word, per band.
fn write_updates_per_word(out: &Path, s: &StatsFile, used: &[&BandRow]) -> Result<()> {
    let epochs = s
        .header
        .config
        .get("epochs")
        .and_then(|v| v.as_f64())
        .unwrap_or(1.0);
    let band_x = |b: &BandRow| {
        ((b.count_lo as f64) * (b.count_hi as f64 - 1.0))
            .sqrt()
            .max(1.0)
    };
    save_figure(
        out,
        "updates_per_word",
        SIZE,
        &Lines {
            title: "How often a word's parameters are touched, per band".into(),
            x_desc: "corpus count of the band's words (log scale)".into(),
            y_desc: "per word over the run (log scale)".into(),
            x_log: true,
            y_log: true,
            x_range: None,
            x_ticks: None,
            lines: vec![
                Line::new(
                    "input-vector updates",
                    used.iter()
                        .map(|b| (band_x(b), b.input_updates_per_word()))
                        .collect(),
                    viridis(0.0),
                    Dash::Solid,
                    Marker::Circle,
                ),
                Line::new(
                    "own-path examples",
                    used.iter()
                        .map(|b| (band_x(b), b.target_examples_per_word()))
                        .collect(),
                    viridis(0.45),
                    Dash::Dashed,
                    Marker::Square,
                ),
                Line::new(
                    "occurrences (count × epochs)",
                    used.iter()
                        .map(|b| (band_x(b), b.tokens as f64 * epochs / b.words as f64))
                        .collect(),
                    viridis(0.75),
                    Dash::Solid,
                    Marker::Triangle,
                ),
            ],
            legend_title: "per word".into(),
        },
    )
}

/// `index.html`: the summary, every figure with its caption, and both tables.
fn write_index(out: &Path, s: &StatsFile, sum: &Summary) -> Result<()> {
    let html = index_html(s, sum);
    crate::io::write_atomic(&out.join("index.html"), |w| {
        std::io::Write::write_all(w, html.as_bytes())
    })
}

fn csv_opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// `depth.csv`: the per-depth table, whole run.
fn write_depth_csv(out: &Path, sum: &Summary) -> Result<()> {
    let mut d = String::from("depth,inner_nodes,updates,sampled,abs_g_mean,node_step_mean,input_grad_mean,loss_mean,sat_agree_frac,sat_disagree_frac,skipped,never_updated,v_norm_final_mean\n");
    for r in &sum.depths {
        let _ = writeln!(
            d,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.depth,
            r.inner_nodes,
            r.sums.updates,
            r.sums.sampled,
            csv_opt(r.abs_g()),
            csv_opt(r.node_step()),
            csv_opt(r.input_grad()),
            csv_opt(r.loss()),
            csv_opt(r.sat_agree()),
            csv_opt(r.sat_disagree()),
            r.sums.skipped,
            r.never_updated.map(|x| x.to_string()).unwrap_or_default(),
            csv_opt(r.v_norm_final),
        );
    }
    crate::io::write_atomic(&out.join("depth.csv"), |w| {
        std::io::Write::write_all(w, d.as_bytes())
    })
}

/// `band.csv`: the per-band table, whole run.
fn write_band_csv(out: &Path, sum: &Summary) -> Result<()> {
    let mut b = String::from("band,count_lo,count_hi,words,mean_depth,target_examples_per_word,target_abs_g_mean,input_updates_per_word,input_step_mean,input_path_len_mean,input_norm_final_mean\n");
    for r in &sum.bands {
        let _ = writeln!(
            b,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.band,
            r.count_lo,
            r.count_hi,
            r.words,
            r.mean_depth,
            r.target_examples_per_word(),
            csv_opt(r.abs_g()),
            r.input_updates_per_word(),
            csv_opt(r.input_step()),
            csv_opt(r.input_path_len()),
            csv_opt(r.input_norm_final),
        );
    }
    crate::io::write_atomic(&out.join("band.csv"), |w| {
        std::io::Write::write_all(w, b.as_bytes())
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const FIGURES: [(&str, &str); 6] = [
    ("g_heatmap", "Mean |g| = |t − σ(f)| per inner-node depth (rows, root at the top) over training progress (columns, one per snapshot). Blank cells: no visits. Deep nodes start at zero, so their |g| stays near 0.5 although little reaches the word vectors (next figure)."),
    ("input_grad_heatmap", "Mean gradient each node visit sends back to the input vector, α|g|·|v_n|, per depth over progress, log colour scale. This is what actually moves the word vectors."),
    ("gradient_by_depth", "Whole-run means per depth: the scalar |g|, the node step α|g|·|h| and the input gradient α|g|·|v_n| (log scale)."),
    ("saturation_by_depth", "Share of node visits whose score |f| reached the sigmoid table's edge, split into agreeing (sign matches the label: gradient truly ≈ 0) and disagreeing (confidently wrong: word2vec.c skips a large gradient)."),
    ("input_step_by_band", "Mean norm of the step applied to an input vector (neu1e, all nodes of the path, α included) per frequency band of the input word, over progress."),
    ("updates_per_word", "Per word of each band over the whole run: updates of its input vector and examples trained along its own tree path."),
];

fn index_html(s: &StatsFile, sum: &Summary) -> String {
    let h = &s.header;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>huffvec gradient report</title>\n<style>body{{font-family:sans-serif;max-width:1060px;margin:2em auto;padding:0 1em;color:#222}}table{{border-collapse:collapse;font-size:13px;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 7px;text-align:right}}th{{background:#f3f3f3}}figure{{margin:2em 0}}img{{max-width:100%;border:1px solid #ddd}}figcaption{{font-size:14px;color:#444}}code{{background:#f3f3f3;padding:0 3px}}</style>\n</head><body>\n<h1>huffvec gradient report</h1>\n<p>{}</p>\n<p>Stats schema <code>{} v{}</code>, written by huffvec {}; {} snapshots. Pairing: {}.</p>\n",
        esc(&sum.run),
        esc(&h.schema),
        h.version,
        esc(&h.huffvec_version),
        h.n_snapshots,
        esc(&h.pairing)
    );
    if let Some(why) = &sum.incomplete {
        let _ = writeln!(
            o,
            "<p style=\"border:2px solid #b00;padding:6px\"><b>Incomplete statistics:</b> {}. Missing snapshots are hatched in the heatmaps and break the lines; whole-run figures cover only what was recorded.</p>",
            esc(why)
        );
    }
    if let Some(e) = &s.end {
        let _ = writeln!(
            o,
            "<p>Run status: <b>{}</b>{}.</p>",
            esc(&e.status),
            match (e.words_per_sec, e.train_seconds) {
                (Some(w), Some(t)) => format!(", {t:.1} s training, {w:.0} words/s"),
                _ => String::new(),
            }
        );
    }
    let _ = writeln!(o, "<h2>Summary</h2>\n<pre>{}</pre>", esc(&sum.to_string()));
    for (name, caption) in FIGURES {
        let _ = writeln!(
            o,
            "<figure><img src=\"{name}.svg\" alt=\"{name}\"><figcaption>{} (<a href=\"{name}.png\">PNG</a>, <a href=\"{name}.svg\">SVG</a>)</figcaption></figure>",
            esc(caption)
        );
    }
    let _ = writeln!(o, "<h2>Per depth (whole run; <a href=\"depth.csv\">depth.csv</a>)</h2>\n<table><tr><th>depth</th><th>inner nodes</th><th>visits</th><th>mean |g|</th><th>node step</th><th>to input</th><th>loss (nats)</th><th>sat. agree %</th><th>sat. disagree %</th><th>never updated</th><th>final mean |v|</th></tr>");
    for d in &sum.depths {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.depth,
            d.inner_nodes,
            d.sums.updates,
            opt(d.abs_g(), 4),
            opt(d.node_step(), 3),
            opt(d.input_grad(), 3),
            opt(d.loss(), 4),
            opt(d.sat_agree().map(|x| 100.0 * x), 3),
            opt(d.sat_disagree().map(|x| 100.0 * x), 3),
            d.never_updated.map_or("–".into(), |x| x.to_string()),
            opt(d.v_norm_final, 3),
        );
    }
    o.push_str("</table>\n");
    let _ = writeln!(o, "<h2>Per frequency band (whole run; <a href=\"band.csv\">band.csv</a>)</h2>\n<table><tr><th>band</th><th>corpus count</th><th>words</th><th>mean code length</th><th>own-path examples / word</th><th>mean |g| on own path</th><th>input updates / word</th><th>mean input step</th><th>mean path length trained along</th><th>final mean |input vector|</th></tr>");
    for b in &sum.bands {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.1}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            b.band,
            b.range(),
            b.words,
            b.mean_depth,
            b.target_examples_per_word(),
            opt(b.abs_g(), 4),
            b.input_updates_per_word(),
            opt(b.input_step(), 3),
            opt(b.input_path_len(), 2),
            opt(b.input_norm_final, 3),
        );
    }
    o.push_str("</table>\n<p>Field definitions: see the <code>fields</code> table in the stats file's header record and huffvec's docs/telemetry.md.</p>\n</body></html>\n");
    o
}
