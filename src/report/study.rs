//! Rendering a study: the Markdown and HTML reports, their tables and the figures.

use std::path::Path;

use plotters::style::{RGBColor, BLACK};

use super::lines::{ordered_colour, series_style, Dash, Line, Lines, Marker};
use crate::error::{Error, Result};
use crate::experiment::study::*;

/// A mean with `digits` decimals and `unit`, then "± sd" when `with_sd` and there is one.
pub(crate) fn fmt_spread(x: Option<Spread>, digits: usize, unit: &str, with_sd: bool) -> String {
    match x {
        None => "–".into(),
        Some(s) => match s.sd {
            Some(sd) if with_sd => format!("{:.digits$}{unit} ± {sd:.digits$}", s.mean),
            _ => format!("{:.digits$}{unit}", s.mean),
        },
    }
}

/// `d` with a sign and `digits` decimals; a change that rounds to zero reads "+0.0", never
/// "-0.0".
pub(crate) fn signed(d: f64, digits: usize) -> String {
    let s = format!("{d:+.digits$}");
    if s[1..].chars().all(|c| c == '0' || c == '.') {
        format!("{:+.digits$}", 0.0)
    } else {
        s
    }
}

pub(crate) fn fmt_delta(x: Option<f64>, reference: Option<f64>, pct: bool) -> String {
    match (x, reference) {
        (Some(v), Some(r)) => signed(v - r, if pct { 1 } else { 3 }),
        _ => "–".into(),
    }
}

/// Colour, dash, marker and width of arm `i` of `n`: the reference thick and black, the
/// others each with their own colour, dash and marker.
pub(crate) fn arm_style(i: usize, reference: bool, n: usize) -> (RGBColor, Dash, Marker, u32) {
    if reference {
        (BLACK, Dash::Solid, Marker::Circle, 3)
    } else {
        let (d, m) = series_style(i);
        (ordered_colour(i.saturating_sub(1), n), d, m, 2)
    }
}

/// A positive figure in 4 significant digits (scientific below 0.001 and from 100,000).
pub(crate) fn fmt_sig(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(v) if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) => format!("{v:.3e}"),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// One Markdown table.
pub(crate) fn md_table(header: &[String], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|", header.join(" | "));
    for _ in header {
        s.push_str("---|");
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}

/// One table of the report.
pub(crate) struct Table {
    pub(crate) title: String,
    pub(crate) about: String,
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
}

/// One figure of the report.
pub(crate) struct Plot {
    pub(crate) name: String,
    pub(crate) caption: String,
    pub(crate) chart: Lines,
}

/// Size of every study figure in pixels.
pub(crate) const PLOT_SIZE: (u32, u32) = (1000, 620);

/// Which training statistic a table or figure shows.
pub(crate) type Pick = fn(&BandTraining) -> Option<f64>;

pub(crate) const TRAINING_TABLES: [(&str, &str, Pick); 4] = [
    (
        "Input-vector updates per word, by band",
        "Updates of the input vectors (the embeddings) per vocabulary word of the band, \
         band of the word whose vector moves; n = vocabulary words in the band. Exact counts.",
        |t| t.updates_per_word,
    ),
    (
        "Mean input-step norm, by band",
        "Mean norm of one update of an input vector (the gradient accumulated over a whole \
         prediction, learning rate included), band of the word whose vector moves.",
        |t| t.mean_step_norm,
    ),
    (
        "Mean |g| on the band's tree paths",
        "Mean |g| = |t − σ(f)| per inner-node visit on the paths of the band's words (before \
         the learning rate), each depth's mean weighted by its visits. Hierarchical softmax \
         only: negative sampling walks no tree, so its rows show –.",
        |t| t.mean_abs_g,
    ),
    (
        "Mean tree-node step on the band's paths",
        "Mean inner-node step α|g|·|h| per visit on the paths of the band's words, weighted \
         as the |g| table. Hierarchical softmax only (– for negative sampling).",
        |t| t.mean_node_step,
    ),
];

impl StudyResult {
    fn multi_seed(&self) -> bool {
        self.seeds.len() > 1
    }

    /// "`name`", with the seeds that diverged when some did.
    fn name_cell(&self, r: &RunResult) -> String {
        let d = r.diverged_seeds();
        if d.is_empty() || d.len() == r.seeds.len() {
            format!("`{}`", r.name)
        } else {
            format!("`{}` ({}/{} diverged)", r.name, d.len(), r.seeds.len())
        }
    }

    /// A score cell: mean (± sd with several seeds), and the change of the mean from the
    /// reference's unless this is the reference.
    fn score_cell(&self, v: Option<Spread>, rv: Option<Spread>, pct: bool, is_ref: bool) -> String {
        let (digits, unit) = if pct { (1, "%") } else { (3, "") };
        let s = fmt_spread(v, digits, unit, self.multi_seed());
        if is_ref {
            s
        } else {
            format!(
                "{s} ({})",
                fmt_delta(v.map(|x| x.mean), rv.map(|x| x.mean), pct)
            )
        }
    }

    /// One row per run: its name cell, then `cell(run, band)` for every band.
    fn band_rows(&self, cell: impl Fn(&RunResult, usize) -> String) -> Vec<Vec<String>> {
        self.runs
            .iter()
            .map(|r| {
                let mut row = vec![self.name_cell(r)];
                row.extend((0..self.bands.len()).map(|b| cell(r, b)));
                row
            })
            .collect()
    }

    fn band_header(&self, n: &dyn Fn(usize) -> usize) -> Vec<String> {
        let mut h = vec!["config".to_string()];
        h.extend(
            self.bands
                .iter()
                .enumerate()
                .map(|(b, l)| format!("{l} (n={})", n(b))),
        );
        h
    }

    /// The report's tables, cells in Markdown.
    fn tables(&self) -> Vec<Table> {
        let Some(reference) = self.runs.first() else {
            return Vec::new();
        };
        let rs = &reference.summary;
        let mut out = self.comparison_tables();
        out.push(self.overall_table(rs));
        for (k, set) in rs.analogy.iter().enumerate() {
            out.push(self.analogy_band_table(reference, k, set));
        }
        if !rs.similarity.is_empty() {
            out.push(self.similarity_band_table(reference));
        }
        if self.runs.iter().any(|r| r.summary.training.is_some()) {
            for (title, about, pick) in TRAINING_TABLES {
                out.push(self.training_table(title, about, pick));
            }
        }
        out
    }

    /// The "Overall" table: throughput and each set's overall score, per run.
    fn overall_table(&self, rs: &RunSummary) -> Table {
        let sd = self.multi_seed();
        let mut header = vec!["config".to_string(), "options".into(), "words/s".into()];
        header.extend(
            rs.analogy
                .iter()
                .chain(&rs.similarity)
                .map(|s| s.set.clone()),
        );
        let rows = self
            .runs
            .iter()
            .map(|r| {
                let s = &r.summary;
                let mut row = vec![
                    self.name_cell(r),
                    if r.args.is_empty() {
                        "(reference)".into()
                    } else {
                        format!("`{}`", r.args)
                    },
                    if s.finished == 0 {
                        "diverged".into()
                    } else {
                        fmt_spread(s.words_per_sec, 0, "", sd)
                    },
                ];
                for (k, _) in rs.analogy.iter().enumerate() {
                    row.push(fmt_spread(
                        s.analogy.get(k).and_then(|x| x.overall),
                        1,
                        "%",
                        sd,
                    ));
                }
                for (k, _) in rs.similarity.iter().enumerate() {
                    row.push(fmt_spread(
                        s.similarity.get(k).and_then(|x| x.overall),
                        3,
                        "",
                        sd,
                    ));
                }
                row
            })
            .collect();
        Table {
            title: "Overall".into(),
            about: format!(
                "Throughput over all threads (words per wall-clock second{}), analogy accuracy \
                 (3CosAdd, first {} words) and Spearman's rho of each similarity set{}.",
                if self.telemetry.is_some() {
                    ", telemetry recording included"
                } else {
                    ""
                },
                self.restrict,
                if sd {
                    "; mean ± sample standard deviation over the seeds"
                } else {
                    ""
                }
            ),
            header,
            rows,
        }
    }

    /// Accuracy of analogy set `k` (the reference's `set`) by band of the answer.
    fn analogy_band_table(&self, reference: &RunResult, k: usize, set: &ScoreSummary) -> Table {
        let header = self.band_header(&|b| set.band_n.get(b).copied().unwrap_or(0));
        let rows = self.band_rows(|r, b| {
            let v = r
                .summary
                .analogy
                .get(k)
                .and_then(|s| s.bands.get(b).copied().flatten());
            let rv = set.bands.get(b).copied().flatten();
            self.score_cell(v, rv, true, r.name == reference.name)
        });
        Table {
            title: format!("Analogy accuracy by band of the answer: {}", set.set),
            about: format!(
                "Accuracy in % over the questions whose expected word falls in the band \
                 (n = questions answered by the reference){}; other rows show the change \
                 from the reference in points.",
                if self.multi_seed() {
                    ", mean ± sd over the seeds"
                } else {
                    ""
                }
            ),
            header,
            rows,
        }
    }

    /// Spearman's rho pooled over the similarity sets, by band of the rarer word.
    fn similarity_band_table(&self, reference: &RunResult) -> Table {
        let rs = &reference.summary;
        let header = self.band_header(&|b| rs.similarity_band_n.get(b).copied().unwrap_or(0));
        let rows = self.band_rows(|r, b| {
            let v = r.summary.similarity_bands.get(b).copied().flatten();
            let rv = rs.similarity_bands.get(b).copied().flatten();
            self.score_cell(v, rv, false, r.name == reference.name)
        });
        Table {
            title: "Similarity by band of the rarer word (all sets)".into(),
            about: format!(
                "Spearman's rho per band of the rarer word of each pair, averaged over \
                 the similarity sets weighted by their pairs in the band (n){}; change \
                 from the reference in brackets.",
                if self.multi_seed() {
                    ", mean ± sd over the seeds (each seed pooled first)"
                } else {
                    ""
                }
            ),
            header,
            rows,
        }
    }

    /// One training statistic, `pick`, by band, from each run's telemetry.
    fn training_table(&self, title: &str, about: &str, pick: Pick) -> Table {
        let header = self.band_header(&|b| self.band_words.get(b).copied().unwrap_or(0));
        let rows = self.band_rows(|r, b| {
            fmt_sig(
                r.summary
                    .training
                    .as_ref()
                    .and_then(|t| t.get(b))
                    .and_then(pick),
            )
        });
        Table {
            title: title.into(),
            about: format!(
                "{about} From each run's telemetry{}.",
                if self.multi_seed() {
                    ", mean over the seeds"
                } else {
                    ""
                }
            ),
            header,
            rows,
        }
    }

    /// The figures: similarity and analogy by band, the change from the reference, and
    /// the training statistics by band (each only when there is data for it).
    fn plots(&self) -> Vec<Plot> {
        let Some(reference) = self.runs.first() else {
            return Vec::new();
        };
        if self.bands.is_empty() {
            return Vec::new();
        }
        let figures = BandFigures::new(self, reference);
        let mut out = self.comparison_plots();
        let rs = &reference.summary;
        if !rs.similarity.is_empty() {
            out.push(figures.similarity_by_band());
            out.push(figures.similarity_change_by_band());
        }
        if let Some(set) = rs.analogy.first() {
            out.push(figures.analogy_by_band(set));
        }
        if self.runs.iter().any(|r| r.summary.training.is_some()) {
            out.push(figures.updates_per_word_by_band());
            out.push(figures.input_step_by_band());
        }
        out
    }

    fn preamble(&self) -> String {
        let bands: Vec<String> = self
            .bands
            .iter()
            .zip(&self.band_words)
            .map(|(l, n)| format!("{l} ({n} words)"))
            .collect();
        let seeds = match (self.seeds.first(), self.seeds.last()) {
            (Some(a), Some(b)) if self.multi_seed() => format!(
                "seeds {a}–{b} (every configuration trained once per seed; figures are means \
                 over the seeds, ± the sample standard deviation)"
            ),
            (Some(a), _) => format!("seed {a}"),
            _ => "no seed".into(),
        };
        let hogwild = if self.threads > 1 {
            " With more than one thread, Hogwild updates make runs differ even with the same \
             seed: judge a difference against the spread over seeds (`--seeds N`)."
        } else {
            ""
        };
        let telemetry = match &self.telemetry {
            Some(t) => format!(
                " Training statistics are recorded for every run (sample {}: magnitudes from \
                 that fraction of tree-path walks, counts exact; snapshots every {}% of \
                 training) into `runs/<arm>/seed-<S>/stats.jsonl` (render one with \
                 `huffvec report --stats FILE --out DIR`); recording costs some throughput, \
                 so words/s is below that of a plain run (`stats = false` measures without \
                 it).",
                t.sample, t.every
            ),
            None => " Trained without telemetry (`stats = false`): no training statistics.".into(),
        };
        format!(
            "Corpus `{}` ({} tokens per epoch), {} epoch(s), {} thread(s), {seeds}; shared \
             options `{}`; machine: {}. Bands by corpus count: {}. Every configuration is \
             the reference plus its own options.{hogwild}{telemetry}",
            self.corpus,
            self.tokens_per_epoch,
            self.epochs,
            self.threads,
            if self.base.is_empty() {
                "(none)"
            } else {
                &self.base
            },
            self.machine,
            bands.join(", ")
        )
    }

    /// Telemetry files, one line per configuration: (name, files relative to the report).
    fn stats_files(&self) -> Vec<(String, Vec<String>)> {
        self.runs
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.seeds
                        .iter()
                        .filter_map(|s| s.stats_file.clone())
                        .collect::<Vec<String>>(),
                )
            })
            .filter(|(_, f)| !f.is_empty())
            .collect()
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!("# huffvec study: {}\n\n{}\n\n", self.grid, self.preamble());
        for t in self.tables() {
            s.push_str(&format!(
                "## {}\n\n{}\n\n{}\n",
                t.title,
                t.about,
                md_table(&t.header, &t.rows)
            ));
        }
        let plots = self.plots();
        if !plots.is_empty() {
            s.push_str("## Figures\n\n");
            for p in &plots {
                s.push_str(&format!(
                    "![{name}]({PLOTS_DIR}/{name}.png)\n\n{} ([SVG]({PLOTS_DIR}/{name}.svg))\n\n",
                    p.caption,
                    name = p.name
                ));
            }
        }
        s.push_str(&format!("## Methods\n\n{}\n", self.methods()));
        let files = self.stats_files();
        if !files.is_empty() {
            s.push_str("\n## Telemetry files\n\n");
            for (name, f) in files {
                let links: Vec<String> = f.iter().map(|p| format!("[{p}]({p})")).collect();
                s.push_str(&format!("- `{name}`: {}\n", links.join(", ")));
            }
        }
        s
    }

    /// The report as a standalone HTML page.
    pub fn html(&self) -> String {
        let mut s = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>huffvec study: {}</title>\n<style>body{{font-family:sans-serif;max-width:75em;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}td:first-child,th:first-child{{text-align:left}}code{{font-size:90%}}figure{{margin:2em 0}}img{{max-width:100%;border:1px solid #ddd}}figcaption{{font-size:90%;color:#444}}</style></head><body>\n<h1>huffvec study: {}</h1>\n<p>{}</p>\n",
            esc(&self.grid),
            esc(&self.grid),
            code_spans(&esc(&self.preamble()))
        );
        for t in self.tables() {
            s.push_str(&format!(
                "<h2>{}</h2>\n<p>{}</p>\n<table><tr>",
                esc(&t.title),
                esc(&t.about)
            ));
            for h in &t.header {
                s.push_str(&format!("<th>{}</th>", esc(h)));
            }
            s.push_str("</tr>\n");
            for r in &t.rows {
                s.push_str("<tr>");
                for c in r {
                    s.push_str(&format!("<td>{}</td>", code_spans(&esc(c))));
                }
                s.push_str("</tr>\n");
            }
            s.push_str("</table>\n");
        }
        let plots = self.plots();
        if !plots.is_empty() {
            s.push_str("<h2>Figures</h2>\n");
            for p in &plots {
                s.push_str(&format!(
                    "<figure><img src=\"{PLOTS_DIR}/{name}.svg\" alt=\"{name}\"><figcaption>{} (<a href=\"{PLOTS_DIR}/{name}.png\">PNG</a>, <a href=\"{PLOTS_DIR}/{name}.svg\">SVG</a>)</figcaption></figure>\n",
                    code_spans(&esc(&p.caption)),
                    name = p.name
                ));
            }
        }
        s.push_str(&format!(
            "<h2>Methods</h2>\n<div style=\"border:1px solid #888;padding:.5em 1em\"><p>{}</p></div>\n",
            code_spans(&esc(&self.methods()))
        ));
        let files = self.stats_files();
        if !files.is_empty() {
            s.push_str("<h2>Telemetry files</h2>\n<ul>\n");
            for (name, f) in files {
                let links: Vec<String> = f
                    .iter()
                    .map(|p| format!("<a href=\"{0}\">{0}</a>", esc(p)))
                    .collect();
                s.push_str(&format!(
                    "<li><code>{}</code>: {}</li>\n",
                    esc(&name),
                    links.join(", ")
                ));
            }
            s.push_str("</ul>\n");
        }
        s.push_str("</body></html>\n");
        s
    }

    /// Writes the figures into `dir/plots/` and `report.md`, `index.html` and `study.json`
    /// into `dir` (atomically each).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let plots = self.plots();
        if !plots.is_empty() {
            let pdir = dir.join(PLOTS_DIR);
            std::fs::create_dir_all(&pdir)
                .map_err(|e| Error::io("cannot create plots directory", &pdir, e))?;
            for p in &plots {
                crate::report::save_figure(&pdir, &p.name, PLOT_SIZE, &p.chart)?;
            }
        }
        let md = self.markdown();
        crate::io::write_atomic(&dir.join("report.md"), |w| {
            std::io::Write::write_all(w, md.as_bytes())
        })?;
        let html = self.html();
        crate::io::write_atomic(&dir.join("index.html"), |w| {
            std::io::Write::write_all(w, html.as_bytes())
        })?;
        crate::io::write_atomic(&dir.join("study.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, self).map_err(std::io::Error::other)?;
            std::io::Write::write_all(w, b"\n")
        })
    }
}

/// The study's by-band figures: one line per finished run, the reference thick and black.
struct BandFigures<'a> {
    study: &'a StudyResult,
    reference: &'a RunResult,
    /// The runs that finished with at least one seed.
    runs: Vec<&'a RunResult>,
    /// Offset between the lines within a band.
    step: f64,
    /// " Mean over N seeds; ..." with several seeds, else empty.
    spread_note: String,
}

/// The x axis of the figures by band of the rarer word of a pair.
const RARER: &str = "frequency band of the rarer word (corpus count)";

impl<'a> BandFigures<'a> {
    /// The figures of `study`, whose reference run is `reference`.
    fn new(study: &'a StudyResult, reference: &'a RunResult) -> Self {
        let runs: Vec<&RunResult> = study
            .runs
            .iter()
            .filter(|r| r.summary.finished > 0)
            .collect();
        // Lines side by side within a band, so that markers and error bars do not overlap.
        let step = (0.5 / runs.len().max(1) as f64).min(0.06);
        let spread_note = if study.multi_seed() {
            format!(
                " Mean over {} seeds; bars span ± one sample standard deviation.",
                study.seeds.len()
            )
        } else {
            String::new()
        };
        BandFigures {
            study,
            reference,
            runs,
            step,
            spread_note,
        }
    }

    /// Where run `i` draws its point of band `b`.
    fn x(&self, i: usize, b: usize) -> f64 {
        let n = self.runs.len();
        b as f64 + (i as f64 - (n as f64 - 1.0) / 2.0) * self.step
    }

    /// Colour, dash, marker and width of run `i`'s line.
    fn style(&self, i: usize, r: &RunResult) -> (RGBColor, Dash, Marker, u32) {
        arm_style(i, r.name == self.reference.name, self.runs.len())
    }

    /// One line per run through `value(run, band)`, with error bars if `bars` and seeds.
    fn lines(&self, value: &dyn Fn(&RunResult, usize) -> Option<Spread>, bars: bool) -> Vec<Line> {
        let nb = self.study.bands.len();
        self.runs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (colour, dash, marker, width) = self.style(i, r);
                let vals: Vec<(usize, Spread)> = (0..nb)
                    .filter_map(|b| value(r, b).map(|v| (b, v)))
                    .collect();
                let mut l = Line::new(
                    r.name.clone(),
                    vals.iter().map(|&(b, v)| (self.x(i, b), v.mean)).collect(),
                    colour,
                    dash,
                    marker,
                );
                l.width = width;
                if bars && self.study.multi_seed() {
                    l.errors = vals
                        .iter()
                        .filter_map(|&(b, v)| v.sd.map(|s| (self.x(i, b), v.mean - s, v.mean + s)))
                        .collect();
                }
                l
            })
            .collect()
    }

    /// A chart of `lines` over the bands with data.
    fn chart(
        &self,
        title: String,
        x_desc: &str,
        y_desc: String,
        y_log: bool,
        lines: Vec<Line>,
    ) -> Lines {
        // Only the bands with data: rare sets have no pairs among the most frequent words.
        let xs = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0.round()));
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo <= hi {
            (lo, hi)
        } else {
            (0.0, self.study.bands.len() as f64 - 1.0)
        };
        Lines {
            title,
            x_desc: x_desc.into(),
            y_desc,
            x_log: false,
            y_log,
            x_range: Some((lo - 0.5, hi + 0.5)),
            x_ticks: Some(self.study.bands.clone()),
            lines,
            legend_title: "configuration".into(),
        }
    }

    /// `similarity_by_band`: pooled Spearman's rho by band of the rarer word.
    fn similarity_by_band(&self) -> Plot {
        Plot {
            name: "similarity_by_band".into(),
            caption: format!(
                "Spearman's rho by band of the rarer word of each pair, pooled over the \
                 similarity sets (weighted by pairs); the reference `{}` is the thick \
                 black line.{}",
                self.reference.name, self.spread_note
            ),
            chart: self.chart(
                "Word similarity by frequency band".into(),
                RARER,
                "Spearman's rho (pooled over sets)".into(),
                false,
                self.lines(
                    &|r, b| r.summary.similarity_bands.get(b).copied().flatten(),
                    true,
                ),
            ),
        }
    }

    /// `similarity_change_by_band`: change of the pooled rho from the reference's, by band.
    fn similarity_change_by_band(&self) -> Plot {
        let rs = &self.reference.summary;
        let ref_mean = |b: usize| rs.similarity_bands.get(b).copied().flatten();
        Plot {
            name: "similarity_change_by_band".into(),
            caption: format!(
                "Change of the pooled Spearman's rho from the reference `{}` (the thick \
                 black line at 0) per band; above 0 is better.{}",
                self.reference.name,
                if self.study.multi_seed() {
                    " Differences of the means over the seeds; see the previous figure \
                     for their spread."
                } else {
                    ""
                }
            ),
            chart: self.chart(
                "Similarity change from the reference, by band".into(),
                RARER,
                "Δ Spearman's rho (configuration − reference)".into(),
                false,
                self.lines(
                    &|r, b| {
                        let v = r.summary.similarity_bands.get(b).copied().flatten()?;
                        let rv = ref_mean(b)?;
                        Spread::of([Some(v.mean - rv.mean)])
                    },
                    false,
                ),
            ),
        }
    }

    /// `analogy_by_band`: accuracy of the first analogy set, `set`, by band of the answer.
    fn analogy_by_band(&self, set: &ScoreSummary) -> Plot {
        Plot {
            name: "analogy_by_band".into(),
            caption: format!(
                "Analogy accuracy ({}) by band of the expected answer; bands without \
                 questions are left out.{}",
                set.set, self.spread_note
            ),
            chart: self.chart(
                format!("Analogy accuracy by frequency band: {}", set.set),
                "frequency band of the expected answer (corpus count)",
                "accuracy (%)".into(),
                false,
                self.lines(
                    &|r, b| {
                        r.summary
                            .analogy
                            .first()
                            .and_then(|s| s.bands.get(b).copied().flatten())
                    },
                    true,
                ),
            ),
        }
    }

    /// `updates_per_word_by_band`: input-vector updates per word, by band.
    fn updates_per_word_by_band(&self) -> Plot {
        Plot {
            name: "updates_per_word_by_band".into(),
            caption: "Input-vector updates per vocabulary word over the run, by band of \
                      the word whose vector moves (log scale; exact counts)."
                .into(),
            chart: self.chart(
                "Input-vector updates per word, by band".into(),
                "frequency band of the input word (corpus count)",
                "updates per word over the run (log scale)".into(),
                true,
                self.lines(&training_value(|t| t.updates_per_word), false),
            ),
        }
    }

    /// `input_step_by_band`: mean input-step norm, by band.
    fn input_step_by_band(&self) -> Plot {
        Plot {
            name: "input_step_by_band".into(),
            caption: "Mean norm of one input-vector update (learning rate included), by \
                      band of the word whose vector moves (log scale)."
                .into(),
            chart: self.chart(
                "Mean input-step norm, by band".into(),
                "frequency band of the input word (corpus count)",
                "mean |Δ input vector| per update (log scale)".into(),
                true,
                self.lines(&training_value(|t| t.mean_step_norm), false),
            ),
        }
    }
}

/// A run's training statistic `pick` in a band, as a figure's value.
fn training_value(pick: Pick) -> impl Fn(&RunResult, usize) -> Option<Spread> {
    move |r: &RunResult, b: usize| {
        let v = r.summary.training.as_ref()?.get(b).and_then(pick)?;
        Spread::of([Some(v)])
    }
}

/// HTML-escapes text.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Turns Markdown `code` spans of escaped text into `<code>` elements.
pub(crate) fn code_spans(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bands::Bands;
    use crate::experiment::study::fixtures::*;

    #[test]
    fn verdict_tables_forest_plots_and_methods_come_from_the_comparisons() {
        use crate::experiment::inference::{Better, Comparison, Verdict};
        use crate::experiment::study::compare::{ArmBand, Measure};
        let mut s = study(vec![
            one_run("default", 20.0, &A, &B),
            one_run("x", 21.0, &A, &B),
        ]);
        let band = |arm: &str, mean: f64, c: Option<Comparison>| ArmBand {
            arm: arm.into(),
            measure: Measure::ProbeMrr,
            band: "level 2".into(),
            seeds: 8,
            items: 800,
            mean,
            ci: [mean - 0.01, mean + 0.01],
            comparison: c,
        };
        let c = Comparison {
            reference_mean: 0.1,
            arm_mean: 0.15,
            delta: 0.05,
            delta_ci: [0.03, 0.07],
            p: 0.0001,
            p_holm: 0.0002,
            mde: 0.02,
            better: Better::Higher,
            verdict: Verdict::Better,
        };
        s.comparisons = vec![band("default", 0.1, None), band("x", 0.15, Some(c))];
        let md = s.markdown();
        assert!(
            md.contains("## Against the reference: probe MRR (test split)"),
            "{md}"
        );
        assert!(md.contains("| arm | level 2 (n=800) |"), "{md}");
        assert!(
            md.contains("| `default` | 0.1000 [0.0900, 0.1100] |"),
            "{md}"
        );
        assert!(
            md.contains("| `x` | +0.0500 [+0.0300, +0.0700] p=0.000 **better** |"),
            "{md}"
        );
        assert!(md.contains("![forest_0](plots/forest_0.png)"), "{md}");
        assert!(
            md.contains("## Methods") && md.contains("Holm correction"),
            "{md}"
        );
        assert!(s.html().contains("src=\"plots/forest_0.svg\""));
    }

    #[test]
    fn reports_show_every_run_and_escape_html() {
        let mut r = one_run("default", 20.0, &A, &B);
        r.args = "<b>".into();
        let s = study(vec![r, one_run("x", 21.0, &A, &B)]);
        let md = s.markdown();
        assert!(
            md.contains("| `x` | `--x` | 1000 | 21.0% | 0.500 | 0.400 |"),
            "{md}"
        );
        assert!(md.contains("10-99 (n=40)"));
        assert!(!md.contains('±'), "one seed shows no spread: {md}");
        assert!(!md.contains("updates per word"), "no telemetry, no table");
        let html = s.html();
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
        assert!(html.contains("<code>x</code>"));
        assert!(html.contains("<img src=\"plots/similarity_by_band.svg\""));
        assert!(!html.contains("updates_per_word_by_band"));
    }

    /// A stats file by hand: telemetry bands 1-9 (3 words), 10-99 (2), 100-999 (1); two
    /// depths, two snapshots.
    #[test]
    fn telemetry_tables_and_figures_appear_with_training_statistics() {
        let t = band_training(&stats_file(), &Bands::log10_from(5).fit_to(500));
        let mut reference = one_run("default", 20.0, &A, &B);
        reference.seeds[0].training = Some(t.clone());
        reference.seeds[0].stats_file = Some("stats/default-seed1.jsonl".into());
        reference.summary = summarise(&reference.seeds, 3);
        let mut ns = one_run("ns", 20.0, &A, &B);
        ns.tree_loss = false;
        let mut ns_t = t;
        for b in &mut ns_t {
            b.mean_abs_g = None;
            b.mean_node_step = None;
        }
        ns.seeds[0].training = Some(ns_t);
        ns.summary = summarise(&ns.seeds, 3);
        let mut s = study(vec![reference, ns]);
        s.telemetry = Some(crate::experiment::spec::StatsSpec {
            sample: 0.1,
            every: 10.0,
        });
        let md = s.markdown();
        assert!(
            md.contains("## Input-vector updates per word, by band"),
            "{md}"
        );
        assert!(
            md.contains("| `default` | 15.00 | 25.00 | 0.0000 |"),
            "{md}"
        );
        assert!(md.contains("| `default` | 0.2750 | – | – |"), "{md}");
        assert!(md.contains("| `ns` | – | – | – |"), "{md}");
        assert!(md.contains("(sample 0.1: magnitudes"), "{md}");
        assert!(md.contains("[stats/default-seed1.jsonl](stats/default-seed1.jsonl)"));
        assert!(md.contains("![updates_per_word_by_band](plots/updates_per_word_by_band.png)"));
        let dir = tempfile::tempdir().expect("temp dir");
        s.write(dir.path()).expect("write the report");
        for name in [
            "similarity_by_band",
            "similarity_change_by_band",
            "analogy_by_band",
            "updates_per_word_by_band",
            "input_step_by_band",
        ] {
            for ext in ["svg", "png"] {
                let p = dir.path().join(PLOTS_DIR).join(format!("{name}.{ext}"));
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                assert!(len > 1000, "{} missing or tiny", p.display());
            }
            assert!(s.html().contains(&format!("src=\"plots/{name}.svg\"")));
        }
        let svg =
            std::fs::read_to_string(dir.path().join("plots/similarity_by_band.svg")).expect("svg");
        assert!(svg.contains("Spearman") && svg.contains("10-99") && svg.contains("ns"));
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("study.json")).expect("json"),
        )
        .expect("valid JSON");
        assert_eq!(json["runs"][1]["tree_loss"], false);
        assert_eq!(
            json["runs"][0]["summary"]["training"][0]["updates_per_word"],
            15.0
        );
    }
}
