//! The study report's statistical part: one verdict table per measure, a forest plot of
//! each arm's paired difference per band, learning curves, mean |g| per depth against the
//! context-free 2q(1-q), and the methods box generated from the lock.

use plotters::style::BLACK;

use super::lines::{Dash, Line, Lines, Marker};
use super::study::{arm_style, signed, Plot, Table};
use crate::experiment::inference::Verdict;
use crate::experiment::study::compare::{ArmBand, Measure};
use crate::experiment::study::StudyResult;

/// Every measure, in report order: (measure, title, what it is, digits).
const MEASURES: [(Measure, &str, &str, usize); 3] = [
    (
        Measure::ProbeMrr,
        "probe MRR (test split)",
        "mean reciprocal rank of a probe's parent among its neighbours, per level \
         (occurrences planted), test probes; items are probes",
        4,
    ),
    (
        Measure::Similarity,
        "similarity by band",
        "Spearman's rho per band of the rarer word, pooled over the similarity sets; items \
         are pairs",
        3,
    ),
    (
        Measure::HeldoutNll,
        "held-out loss by band",
        "held-out loss per prediction (nats, lower is better) per band of the predicted \
         word; seeds are the units",
        4,
    ),
];

fn fmt(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "–".into()
    }
}

/// The verdict in short: better / worse / n.d. (MDE x).
fn short(v: &Verdict, digits: usize) -> String {
    match v {
        Verdict::Better => "**better**".into(),
        Verdict::Worse => "**worse**".into(),
        Verdict::NoDetectableDifference { mde } => format!("n.d. (MDE {})", fmt(*mde, digits)),
    }
}

impl StudyResult {
    /// Bands of `m` in order of first appearance.
    fn bands_of(&self, m: Measure) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.comparisons.iter().filter(|c| c.measure == m) {
            if !out.contains(&c.band) {
                out.push(c.band.clone());
            }
        }
        out
    }

    fn cell(&self, arm: &str, m: Measure, band: &str) -> Option<&ArmBand> {
        self.comparisons
            .iter()
            .find(|c| c.arm == arm && c.measure == m && c.band == band)
    }

    /// One table per measure: the reference's mean with its interval, then each arm's
    /// paired difference, interval, Holm-corrected p and verdict.
    pub(crate) fn comparison_tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
        for (m, title, about, digits) in MEASURES {
            let bands = self.bands_of(m);
            if bands.is_empty() {
                continue;
            }
            let mut header = vec!["arm".to_string()];
            header.extend(bands.iter().map(|b| {
                let n = self
                    .runs
                    .first()
                    .and_then(|r| self.cell(&r.name, m, b))
                    .map_or(0, |c| c.items);
                format!("{b} (n={n})")
            }));
            let rows = self
                .runs
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut row = vec![format!("`{}`", r.name)];
                    row.extend(bands.iter().map(|b| match self.cell(&r.name, m, b) {
                        None => "–".into(),
                        Some(c) => match (&c.comparison, i) {
                            (_, 0) | (None, _) => format!(
                                "{} [{}, {}]",
                                fmt(c.mean, digits),
                                fmt(c.ci[0], digits),
                                fmt(c.ci[1], digits)
                            ),
                            (Some(k), _) => format!(
                                "{} [{}, {}] p={} {}",
                                signed(k.delta, digits),
                                signed(k.delta_ci[0], digits),
                                signed(k.delta_ci[1], digits),
                                fmt(k.p_holm, 3),
                                short(&k.verdict, digits)
                            ),
                        },
                    }));
                    row
                })
                .collect();
            out.push(Table {
                title: format!("Against the reference: {title}"),
                about: format!(
                    "First row: the reference's mean [95% bootstrap interval over seeds and \
                     items]. Other rows: the paired difference from the reference [95% \
                     interval], Holm-corrected p over all {} comparisons of the study, and \
                     the verdict at family-wise alpha {} (n.d. = no detectable difference, \
                     with the minimum detectable effect at {:.0}% power). Score: {about}.",
                    self.comparisons
                        .iter()
                        .filter(|c| c.comparison.is_some())
                        .count(),
                    self.inference.alpha,
                    100.0 * self.inference.power
                ),
                header,
                rows,
            });
        }
        out
    }

    /// The forest plots, learning curves and the |g| profile.
    pub(crate) fn comparison_plots(&self) -> Vec<Plot> {
        let mut out = Vec::new();
        for (k, (m, title, about, _)) in MEASURES.iter().enumerate() {
            if let Some(p) = self.forest(*m, title, about, k) {
                out.push(p);
            }
        }
        out.extend(self.learning_curves());
        out.extend(self.depth_profile());
        out
    }

    /// Arm `i`'s line (0 = the reference: thick black).
    fn arm_line(&self, i: usize, label: &str, points: Vec<(f64, f64)>) -> Line {
        let (colour, dash, marker, width) = arm_style(i, i == 0, self.runs.len());
        let mut l = Line::new(label, points, colour, dash, marker);
        l.width = width;
        l
    }

    /// Forest plot of measure `m`: each arm's paired difference per band with its interval.
    fn forest(&self, m: Measure, title: &str, about: &str, k: usize) -> Option<Plot> {
        let bands = self.bands_of(m);
        let arms: Vec<&str> = self.runs.iter().skip(1).map(|r| r.name.as_str()).collect();
        if bands.is_empty() || arms.is_empty() {
            return None;
        }
        let step = (0.7 / arms.len() as f64).min(0.08);
        let x = |i: usize, b: usize| b as f64 + (i as f64 - (arms.len() as f64 - 1.0) / 2.0) * step;
        let mut lines: Vec<Line> = arms
            .iter()
            .enumerate()
            .map(|(i, arm)| {
                let mut pts = Vec::new();
                let mut errs = Vec::new();
                for (b, band) in bands.iter().enumerate() {
                    if let Some(c) = self.cell(arm, m, band).and_then(|c| c.comparison.as_ref()) {
                        pts.push((x(i, b), c.delta));
                        errs.push((x(i, b), c.delta_ci[0], c.delta_ci[1]));
                    }
                }
                let mut l = self.arm_line(i + 1, arm, pts);
                l.width = 0;
                l.errors = errs;
                l
            })
            .collect();
        let mut zero = Line::new(
            "no change",
            vec![(-0.5, 0.0), (bands.len() as f64 - 0.5, 0.0)],
            BLACK,
            Dash::Dotted,
            Marker::Cross,
        );
        zero.width = 1;
        lines.insert(0, zero);
        Some(Plot {
            name: format!("forest_{k}"),
            caption: format!(
                "Paired difference from the reference `{}` per band with its 95% bootstrap \
                 interval (seeds and items); an interval that misses 0 is not yet a verdict: \
                 see the Holm-corrected table. Score: {about}.",
                self.runs[0].name
            ),
            chart: Lines {
                title: format!("Difference from the reference: {title}"),
                x_desc: match m {
                    Measure::ProbeMrr => "probe level (occurrences planted)".into(),
                    _ => "frequency band (corpus count)".into(),
                },
                y_desc: "arm − reference".into(),
                x_log: false,
                y_log: false,
                x_range: Some((-0.5, bands.len() as f64 - 0.5)),
                x_ticks: Some(bands),
                lines,
                legend_title: "arm".into(),
            },
        })
    }

    /// A learning-curve chart: one line per arm through `value(arm index)` per epoch.
    fn curve_plot(
        &self,
        name: String,
        title: String,
        y_desc: &str,
        caption: String,
        value: &dyn Fn(usize) -> Vec<Option<f64>>,
    ) -> Option<Plot> {
        let lines: Vec<Line> = self
            .curves
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pts = c
                    .epochs
                    .iter()
                    .zip(value(i))
                    .filter_map(|(e, v)| v.map(|v| (*e as f64, v)))
                    .collect();
                self.arm_line(i, &c.arm, pts)
            })
            .filter(|l| !l.points.is_empty())
            .collect();
        if lines.is_empty() {
            return None;
        }
        Some(Plot {
            name,
            caption,
            chart: Lines {
                title,
                x_desc: "epochs done".into(),
                y_desc: y_desc.into(),
                x_log: false,
                y_log: false,
                x_range: Some((0.5, self.epochs as f64 + 0.5)),
                x_ticks: None,
                lines,
                legend_title: "arm".into(),
            },
        })
    }

    /// Learning curves: each test probe level, and the rarest similarity and held-out bands
    /// with data.
    fn learning_curves(&self) -> Vec<Plot> {
        let mut out = Vec::new();
        let levels: Vec<u64> = self
            .curves
            .first()
            .map(|c| {
                c.probes
                    .iter()
                    .filter(|l| l.split == "test")
                    .map(|l| l.level)
                    .collect()
            })
            .unwrap_or_default();
        let mean_note = "means over the seeds, scored where each epoch ended";
        for level in levels {
            out.extend(self.curve_plot(
                format!("curve_probe_{level}"),
                format!("Probe MRR by epoch, level {level} (test)"),
                "mean reciprocal rank",
                format!(
                    "Test probes planted {level} times: MRR of the parent by epoch; {mean_note}."
                ),
                &|i| {
                    self.curves[i]
                        .probes
                        .iter()
                        .find(|l| l.level == level && l.split == "test")
                        .map(|l| l.mrr.clone())
                        .unwrap_or_default()
                },
            ));
        }
        let has = |v: &[Vec<Option<f64>>], b: usize| {
            v.get(b).is_some_and(|e| e.iter().any(Option::is_some))
        };
        let rarest = |heldout: bool| {
            (0..self.bands.len()).find(|&b| {
                self.curves.iter().any(|c| match heldout {
                    true => has(&c.heldout, b),
                    false => has(&c.similarity, b),
                })
            })
        };
        if let Some(b) = rarest(false) {
            out.extend(self.curve_plot(
                "curve_similarity".into(),
                format!("Similarity by epoch, band {}", self.bands[b]),
                "Spearman's rho (pooled over sets)",
                format!(
                    "Pooled Spearman's rho of the rarest band with pairs ({}) by epoch; {mean_note}.",
                    self.bands[b]
                ),
                &|i| self.curves[i].similarity.get(b).cloned().unwrap_or_default(),
            ));
        }
        if let Some(b) = rarest(true) {
            out.extend(self.curve_plot(
                "curve_heldout".into(),
                format!("Held-out loss by epoch, band {}", self.bands[b]),
                "nats per prediction",
                format!(
                    "Held-out loss per prediction of the rarest band's words ({}) by epoch; \
                     {mean_note}.",
                    self.bands[b]
                ),
                &|i| self.curves[i].heldout.get(b).cloned().unwrap_or_default(),
            ));
        }
        out
    }

    /// Mean |g| per depth of every tree arm and the reference's context-free baseline.
    fn depth_profile(&self) -> Option<Plot> {
        let reference = self.depth_g.first()?;
        let mut lines: Vec<Line> = self
            .depth_g
            .iter()
            .map(|d| {
                let i = self.runs.iter().position(|r| r.name == d.arm).unwrap_or(1);
                let pts = d
                    .abs_g
                    .iter()
                    .enumerate()
                    .filter_map(|(k, g)| g.map(|g| (k as f64, g)))
                    .collect();
                self.arm_line(i, &format!("{} |g|", d.arm), pts)
            })
            .filter(|l| !l.points.is_empty())
            .collect();
        if lines.is_empty() {
            return None;
        }
        let mut base = Line::new(
            format!("{} 2q(1−q)", reference.arm),
            reference
                .baseline
                .iter()
                .enumerate()
                .map(|(k, g)| (k as f64, *g))
                .collect(),
            BLACK,
            Dash::Dashed,
            Marker::Ring,
        );
        base.width = 2;
        lines.push(base);
        Some(Plot {
            name: "abs_g_by_depth".into(),
            caption: format!(
                "Mean |g| = |t − σ(f)| per inner-node visit by depth (root = 0), means over the \
                 seeds, beside the |g| of a model that ignores the context: 2q(1−q) per node, \
                 q the share of its visits (corpus counts) that go one way, visit-weighted \
                 over the depth (dashed, tree of `{}`). The gap between them is what the \
                 context explains at that depth.",
                reference.arm
            ),
            chart: Lines {
                title: "Gradient magnitude by tree depth".into(),
                x_desc: "depth (root = 0)".into(),
                y_desc: "mean |g|".into(),
                x_log: false,
                y_log: false,
                x_range: None,
                x_ticks: None,
                lines,
                legend_title: "arm".into(),
            },
        })
    }

    /// The methods box: how the study was run, from its lock.
    pub(crate) fn methods(&self) -> String {
        let l = &self.lock;
        let st = &l.study;
        let planted = match &st.plant {
            Some(p) => format!(
                "Probes planted by huffvec (levels {:?}, up to {} parents, dev fraction {}, \
                 held-out fraction {}, seed {}).",
                p.levels, p.parents, p.dev_fraction, p.holdout, p.seed
            ),
            None => match &l.inputs.probes {
                Some(f) => format!("Probe table `{}`.", f.path.display()),
                None => "No probes.".into(),
            },
        };
        let arms: Vec<String> = st
            .arms
            .iter()
            .map(|a| {
                let lr = self
                    .lr
                    .iter()
                    .find(|c| c.arm == a.name)
                    .map(|c| {
                        let (lo, hi) = c
                            .tried
                            .iter()
                            .fold((f64::MAX, f64::MIN), |(l, h), t| (l.min(t.0), h.max(t.0)));
                        let chosen = c.tried.iter().find(|t| t.1 == c.alpha).map(|t| t.0);
                        let edge = match chosen {
                            Some(m) if m == lo || m == hi => {
                                " (at the edge of the grid: the best rate may lie beyond it)"
                            }
                            _ => "",
                        };
                        format!(", alpha {} chosen on the dev probes{edge}", c.alpha)
                    })
                    .unwrap_or_default();
                format!(
                    "`{}` (`{}`{lr})",
                    a.name,
                    if a.train.is_empty() {
                        "reference options".into()
                    } else {
                        a.train.join(" ")
                    }
                )
            })
            .collect();
        let s = &self.inference;
        format!(
            "Study `{}`, lock digest `{}`. Corpus `{}` (sha256 `{}`, {} bytes); trained on \
             `{}` (sha256 `{}`). {planted} Seeds {:?}, shared by every arm (same initial \
             vectors and random streams wherever an arm does not change them), {} thread(s) \
             per run, {} epochs, shared options `{}`. Arms: {}. Statistics: {:.0}% percentile \
             bootstrap intervals over seeds and items ({} resamples); paired sign-flip \
             permutation tests over items (probes; exact up to 20 units, else {} random \
             patterns) or over seeds (held-out loss), paired bootstrap tests for similarity \
             bands (as many resamples as permutation patterns); Holm correction over all arm x band tests at family-wise alpha {}; MDE at \
             {:.0}% power. huffvec {}, checkout {}, machine: {}.",
            st.name,
            &l.digest[..16.min(l.digest.len())],
            l.inputs.corpus.path.display(),
            &l.inputs.corpus.sha256[..16.min(l.inputs.corpus.sha256.len())],
            l.inputs.corpus.bytes,
            l.inputs.train_corpus.path.display(),
            &l.inputs.train_corpus.sha256[..16.min(l.inputs.train_corpus.sha256.len())],
            st.seeds,
            st.threads,
            st.epochs,
            if st.train.is_empty() {
                "(none)".into()
            } else {
                st.train.join(" ")
            },
            arms.join("; "),
            100.0 * s.level,
            s.resamples,
            s.permutations,
            s.alpha,
            100.0 * s.power,
            l.huffvec,
            l.checkout_commit.as_deref().unwrap_or("unknown"),
            l.machine
        )
    }
}
