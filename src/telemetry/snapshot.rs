//! Snapshots over training progress, the versioned JSON Lines schema of the `--stats` file,
//! its writer and reader, and the `--word-stats` table.
//!
//! Each thread keeps its own [`Grid`]; at a progress publish point (every ~10k words) a
//! thread that sees the global word count past its next snapshot boundary hands its grid to
//! the [`Collector`] (one mutex, touched about once per snapshot per thread). A snapshot
//! therefore holds the work done in its interval of progress, attributed to within one
//! publish batch per thread.
//!
//! The file is self-describing: the first line is a `header` record with the schema name,
//! version, the run's full config, the band and depth tables and a description of every
//! field of every record; see docs/telemetry.md.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::grid::{BandCell, BandInfo, Cell, Grid, Layout, WordTotals};
use super::GridProbe;
use crate::config::{Model, StatsConfig, TrainConfig};
use crate::error::{Error, Result};
use crate::io::OutputSlot;
use crate::loss::sigmoid::MAX_EXP;
use crate::probe::RunInfo;
use crate::schedule::Schedule;
use crate::train::{TrainReport, Trained};
use crate::tree::Tree;
use crate::vocab::Vocab;

/// Schema name in the header record.
pub const SCHEMA: &str = "huffvec-stats";
/// Schema version; bumped on any change a reader must know about.
pub const VERSION: u32 = 1;

/// Where the snapshots end: snapshot k (1-based) ends at min(k x every, 100) percent of the
/// run's words.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnapshotSchedule {
    total_words: u64,
    every_pct: f64,
    n: u32,
}

impl SnapshotSchedule {
    /// Snapshots every `every_pct` percent of `total_words`.
    pub fn new(total_words: u64, every_pct: f64) -> Self {
        let n = (100.0 / every_pct - 1e-9).ceil().max(1.0) as u32;
        SnapshotSchedule {
            total_words,
            every_pct,
            n,
        }
    }

    /// Number of snapshots.
    pub fn len(&self) -> u32 {
        self.n
    }

    /// Words done at the end of snapshot `k` (1-based); `u64::MAX` past the last.
    pub fn boundary(&self, k: u32) -> u64 {
        if k > self.n {
            u64::MAX
        } else if k == self.n {
            self.total_words
        } else {
            let w = (self.total_words as f64 * k as f64 * self.every_pct / 100.0).round() as u64;
            w.min(self.total_words)
        }
    }

    /// The last snapshot whose boundary is at or before `done` (0 if none).
    pub fn last_ending_at_or_before(&self, done: u64) -> u32 {
        let mut k = ((done as f64 / self.total_words.max(1) as f64) * 100.0 / self.every_pct)
            .floor()
            .clamp(0.0, self.n as f64) as u32;
        while k < self.n && self.boundary(k + 1) <= done {
            k += 1;
        }
        while k > 0 && self.boundary(k) > done {
            k -= 1;
        }
        k
    }

    /// The first snapshot whose boundary is at or after `done` (at least 1, at most n).
    pub fn containing(&self, done: u64) -> u32 {
        let k = self.last_ending_at_or_before(done);
        if k >= 1 && self.boundary(k) == done {
            k
        } else {
            (k + 1).min(self.n)
        }
    }

    /// Fraction of the run done at the end of snapshot `k`.
    pub fn progress(&self, k: u32) -> f64 {
        if k == 0 {
            0.0
        } else {
            self.boundary(k.min(self.n)) as f64 / self.total_words.max(1) as f64
        }
    }
}

/// One depth of the tree as described in the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthInfo {
    /// Depth (root = 0).
    pub depth: usize,
    /// Inner nodes at this depth.
    pub inner_nodes: u64,
    /// Words whose path reaches this depth (code length > depth).
    pub words_through: u64,
    /// Fraction of corpus tokens whose path reaches this depth.
    pub token_share_through: f64,
}

/// First line of the file: what the run was and what every field means.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Schema version ([`VERSION`]).
    pub version: u32,
    /// huffvec version that wrote the file.
    pub huffvec_version: String,
    /// The run's full `TrainConfig`.
    pub config: serde_json::Value,
    /// Which vector the input side means for this model.
    pub pairing: String,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Inner nodes of the tree.
    pub n_inner: usize,
    /// Longest code length (depths are 0..max_depth).
    pub max_depth: usize,
    /// Words over all epochs (the progress denominator).
    pub total_words: u64,
    /// Snapshots in the run.
    pub n_snapshots: u32,
    /// Sigmoid table edge: |f| at or beyond it is saturated.
    pub sigmoid_max_exp: f32,
    /// Words a thread processes between hand-overs: each thread's work is attributed to a
    /// snapshot to within this many words.
    pub publish_every_words: u64,
    /// Frequency bands, rarest first.
    pub bands: Vec<BandInfo>,
    /// Depth table.
    pub depths: Vec<DepthInfo>,
    /// Field descriptions: record type -> field -> meaning (with units).
    pub fields: BTreeMap<String, BTreeMap<String, String>>,
}

/// Totals of one snapshot over the whole grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// Snapshot index, 1-based.
    pub snapshot: u32,
    /// Progress fraction at the start of the interval.
    pub progress_lo: f64,
    /// Progress fraction at the end of the interval.
    pub progress_hi: f64,
    /// Words done at the end of the interval.
    pub words_hi: u64,
    /// Scheduled base learning rate at the end of the interval.
    pub alpha_hi: f64,
    /// Seconds from training start to the first hand-over for this snapshot.
    pub wall_seconds: Option<f64>,
    /// Sums over all cells.
    #[serde(flatten)]
    pub sums: Cell,
    /// Mean |g|.
    pub abs_g_mean: Option<f64>,
    /// Mean loss per node visit.
    pub loss_mean: Option<f64>,
    /// Examples in the interval (sum over bands of target_examples).
    pub examples: u64,
}

/// One (snapshot, band, depth) cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    /// Snapshot index, 1-based.
    pub snapshot: u32,
    /// Band of the target word (dense index into the header's bands).
    pub band: usize,
    /// Node depth (root = 0).
    pub depth: usize,
    /// Sums.
    #[serde(flatten)]
    pub sums: Cell,
    /// abs_g / sampled.
    pub abs_g_mean: Option<f64>,
    /// node_step / sampled.
    pub node_step_mean: Option<f64>,
    /// input_grad / sampled.
    pub input_grad_mean: Option<f64>,
    /// loss / sampled.
    pub loss_mean: Option<f64>,
}

/// One (snapshot, band) record: target and input sides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandRecord {
    /// Snapshot index, 1-based.
    pub snapshot: u32,
    /// Band (dense index into the header's bands).
    pub band: usize,
    /// Sums.
    #[serde(flatten)]
    pub sums: BandCell,
    /// input_step / input_sampled.
    pub input_step_mean: Option<f64>,
    /// input_path_len / input_updates.
    pub input_path_len_mean: Option<f64>,
    /// input_alpha / input_updates.
    pub input_alpha_mean: Option<f64>,
    /// input_updates / words in the band.
    pub input_updates_per_word: f64,
    /// target_examples / words in the band.
    pub target_examples_per_word: f64,
}

/// State of one depth at the end of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepthFinalRecord {
    /// Depth (root = 0).
    pub depth: usize,
    /// Inner nodes at this depth.
    pub inner_nodes: u64,
    /// Inner nodes whose vector is still exactly zero (never stepped).
    pub never_updated: u64,
    /// Mean |v_n| at the end.
    pub v_norm_mean: f64,
    /// Node visits at this depth over the run.
    pub updates: u64,
    /// updates / inner_nodes.
    pub updates_per_node: f64,
}

/// State of one band at the end of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandFinalRecord {
    /// Band (dense index).
    pub band: usize,
    /// Mean |input vector| of the band's words at the end.
    pub input_norm_mean: f64,
    /// Input-vector updates over the run.
    pub input_updates: u64,
    /// Examples trained along the band's paths over the run.
    pub target_examples: u64,
    /// input_updates / words.
    pub input_updates_per_word: f64,
    /// target_examples / words.
    pub target_examples_per_word: f64,
}

/// Last line: how the run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndRecord {
    /// "done" or "diverged".
    pub status: String,
    /// Words processed (when done).
    pub words: Option<u64>,
    /// Training seconds, wall clock (when done).
    pub train_seconds: Option<f64>,
    /// Words per wall-clock second (when done).
    pub words_per_sec: Option<f64>,
}

/// Every line of the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// First line.
    Header(Box<Header>),
    /// Per-snapshot totals.
    Snapshot(SnapshotRecord),
    /// Per (snapshot, band, depth).
    Cell(CellRecord),
    /// Per (snapshot, band).
    Band(BandRecord),
    /// Per depth at the end.
    DepthFinal(DepthFinalRecord),
    /// Per band at the end.
    BandFinal(BandFinalRecord),
    /// Last line.
    End(EndRecord),
}

const FIELD_DOCS: &[(&str, &str, &str)] = &[
    ("all", "record", "record type: header | snapshot | cell | band | depth_final | band_final | end"),
    ("all", "snapshot", "snapshot index, 1-based; snapshot k covers progress (progress_lo, progress_hi] of all words over all epochs, each thread's work attributed to within one publish batch (10k words)"),
    ("all", "band", "frequency band, dense index into header.bands (0 = rarest); band of the target word for cells and target_* fields, of the input word for input_* fields"),
    ("all", "depth", "inner-node depth, root = 0"),
    ("header", "schema", "always \"huffvec-stats\""),
    ("header", "version", "schema version (1)"),
    ("header", "huffvec_version", "version of huffvec that wrote the file"),
    ("header", "config", "the run's full TrainConfig"),
    ("header", "pairing", "which input vector the input_* fields describe for this model"),
    ("header", "vocab_size", "words in the vocabulary"),
    ("header", "n_inner", "inner nodes of the tree"),
    ("header", "max_depth", "longest code length; depths run 0..max_depth"),
    ("header", "total_words", "corpus tokens over all epochs (the progress denominator)"),
    ("header", "n_snapshots", "number of snapshots"),
    ("header", "sigmoid_max_exp", "sigmoid table edge: |f| at or beyond it counts as saturated"),
    ("header", "publish_every_words", "words a thread processes between hand-overs; a snapshot holds each thread's work to within this many words, and snapshots shorter than threads x this may be empty"),
    ("header", "bands", "band table: band, log_band = floor(log_base count), count_lo <= count < count_hi, words, tokens (one epoch), mean_depth (unweighted mean code length)"),
    ("header", "depths", "depth table: depth, inner_nodes, words_through (code length > depth), token_share_through (fraction of tokens whose path reaches the depth)"),
    ("header", "fields", "this table"),
    ("cell", "updates", "node visits, exact: each (inner node, input vector) pair on a walked path, whether or not the step was applied"),
    ("cell", "sampled", "visits whose magnitudes were recorded (= updates unless --stats-sample < 1); the denominator of the *_mean fields"),
    ("cell", "sat_agree", "visits with |f| >= sigmoid_max_exp and sign(f) matching the label: gradient truly ~0; exact"),
    ("cell", "sat_disagree", "visits with |f| >= sigmoid_max_exp and sign(f) against the label: confidently wrong; exact"),
    ("cell", "skipped", "saturated visits that stepped nothing: all under --saturation skip (word2vec.c HS), the agreeing ones under clamp (sigmoid at its limit gives g = 0); exact"),
    ("cell", "abs_g", "sum of |g|, g = t - sigmoid(f), t = 1 - code, f = h.v_n; unitless, before the learning rate; exact logistic beyond the table edge"),
    ("cell", "node_step", "sum of the inner-node step norm |dv_n| = alpha |g| |h| (0 when skipped)"),
    ("cell", "input_grad", "sum of the gradient norm sent to the input, alpha |g| |v_n|, v_n before this input's step (0 when skipped)"),
    ("cell", "loss", "sum of -ln sigmoid(f) (label 1) or -ln sigmoid(-f) (label 0), nats"),
    ("cell", "abs_g_mean", "abs_g / sampled"),
    ("cell", "node_step_mean", "node_step / sampled"),
    ("cell", "input_grad_mean", "input_grad / sampled"),
    ("cell", "loss_mean", "loss / sampled, nats per visit"),
    ("snapshot", "progress_lo", "progress fraction at the start of the interval"),
    ("snapshot", "progress_hi", "progress fraction at the end of the interval"),
    ("snapshot", "words_hi", "words done at the end of the interval"),
    ("snapshot", "alpha_hi", "scheduled base learning rate at the end of the interval"),
    ("snapshot", "wall_seconds", "seconds from training start to the first hand-over for this snapshot (null if none)"),
    ("snapshot", "examples", "examples ((input, path) pairs) in the interval"),
    ("snapshot", "updates ... loss_mean", "as in cell, summed over all bands and depths"),
    ("band", "target_examples", "examples ((input, path) pairs) trained along paths of this band's words, exact"),
    ("band", "input_updates", "input-vector updates of this band's words, exact (skip-gram: once per (context word, centre) pair; CBOW: once per context word per centre)"),
    ("band", "input_sampled", "input updates whose step norm was recorded"),
    ("band", "input_step", "sum of the input step norm |neu1e| (all nodes of the path, alpha included)"),
    ("band", "input_path_len", "sum of the length of the path each input update was trained along"),
    ("band", "input_alpha", "sum of the base learning rate at each input update"),
    ("band", "input_step_mean", "input_step / input_sampled"),
    ("band", "input_path_len_mean", "input_path_len / input_updates"),
    ("band", "input_alpha_mean", "input_alpha / input_updates: effective base learning rate"),
    ("band", "input_updates_per_word", "input_updates / words in band"),
    ("band", "target_examples_per_word", "target_examples / words in band"),
    ("depth_final", "inner_nodes", "inner nodes at this depth"),
    ("depth_final", "never_updated", "inner nodes whose vector is still exactly zero at the end"),
    ("depth_final", "v_norm_mean", "mean |v_n| at the end"),
    ("depth_final", "updates", "node visits at this depth over the run"),
    ("depth_final", "updates_per_node", "updates / inner_nodes"),
    ("band_final", "input_norm_mean", "mean |input vector| of the band's words at the end"),
    ("band_final", "input_updates", "input updates of the band's words over the run"),
    ("band_final", "target_examples", "examples along the band's paths over the run"),
    ("band_final", "input_updates_per_word", "input_updates / words"),
    ("band_final", "target_examples_per_word", "target_examples / words"),
    ("end", "status", "done | diverged"),
    ("end", "words", "words processed"),
    ("end", "train_seconds", "training wall-clock seconds"),
    ("end", "words_per_sec", "words per wall-clock second"),
];

fn field_docs() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut m: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (rec, field, doc) in FIELD_DOCS {
        m.entry(rec.to_string())
            .or_default()
            .insert(field.to_string(), doc.to_string());
    }
    m
}

fn pairing(model: Model) -> &'static str {
    match model {
        Model::Skipgram => "skipgram (word2vec.c pairing): each context word's input vector is trained along the centre word's path; target_* and cells use the centre word's band, input_* the context word's band",
        Model::Cbow => "cbow: the mean of the context input vectors is trained along the centre word's path (one example per centre), and the undivided step is added to every context word's input vector; input_* use each context word's band",
    }
}

/// Everything fixed once the vocabulary and tree exist.
struct Prepared {
    layout: Arc<Layout>,
    schedule: SnapshotSchedule,
    alpha: Schedule,
    depths: Vec<DepthInfo>,
    node_depth: Vec<u16>,
    vocab_size: usize,
    n_inner: usize,
    start: Instant,
}

impl Prepared {
    /// `n` per word of band `b`.
    fn per_word(&self, n: u64, b: usize) -> f64 {
        n as f64 / self.layout.bands[b].words.max(1) as f64
    }

    /// Appends the snapshot, cell and band records of snapshot slot `i` (grid `g`) to `out`.
    fn snapshot_records(
        &self,
        i: usize,
        g: &Grid,
        wall_seconds: Option<f64>,
        out: &mut Vec<Record>,
    ) {
        let layout = &self.layout;
        let k = i as u32 + 1;
        let t = g.total();
        out.push(Record::Snapshot(SnapshotRecord {
            snapshot: k,
            progress_lo: self.schedule.progress(k - 1),
            progress_hi: self.schedule.progress(k),
            words_hi: self.schedule.boundary(k),
            alpha_hi: self.alpha.alpha_at(self.schedule.boundary(k)) as f64,
            wall_seconds,
            abs_g_mean: ratio(t.abs_g, t.sampled),
            loss_mean: ratio(t.loss, t.sampled),
            examples: g.bands.iter().map(|b| b.target_examples).sum(),
            sums: t,
        }));
        for band in 0..layout.bands.len() {
            for depth in 0..layout.n_depths {
                let c = *g.cell(band, depth);
                if c.updates == 0 && c.sat_agree + c.sat_disagree == 0 {
                    continue;
                }
                out.push(Record::Cell(CellRecord {
                    snapshot: k,
                    band,
                    depth,
                    abs_g_mean: ratio(c.abs_g, c.sampled),
                    node_step_mean: ratio(c.node_step, c.sampled),
                    input_grad_mean: ratio(c.input_grad, c.sampled),
                    loss_mean: ratio(c.loss, c.sampled),
                    sums: c,
                }));
            }
        }
        for (band, b) in g.bands.iter().enumerate() {
            if b.target_examples == 0 && b.input_updates == 0 {
                continue;
            }
            out.push(Record::Band(BandRecord {
                snapshot: k,
                band,
                sums: *b,
                input_step_mean: ratio(b.input_step, b.input_sampled),
                input_path_len_mean: ratio(b.input_path_len as f64, b.input_updates),
                input_alpha_mean: ratio(b.input_alpha, b.input_updates),
                input_updates_per_word: self.per_word(b.input_updates, band),
                target_examples_per_word: self.per_word(b.target_examples, band),
            }));
        }
    }

    /// Appends each band's end-of-run record (final input norms, run totals) to `out`.
    fn band_final_records(&self, fin: &FinalState, total: &Grid, out: &mut Vec<Record>) {
        let layout = &self.layout;
        for (band, info) in layout.bands.iter().enumerate() {
            let b = &total.bands[band];
            let (mut sum, mut n) = (0.0f64, 0u64);
            for (w, &wb) in layout.band_of_word.iter().enumerate() {
                if wb as usize == band {
                    sum += fin.input_norm[w] as f64;
                    n += 1;
                }
            }
            out.push(Record::BandFinal(BandFinalRecord {
                band,
                input_norm_mean: sum / n.max(1) as f64,
                input_updates: b.input_updates,
                target_examples: b.target_examples,
                input_updates_per_word: self.per_word(b.input_updates, band),
                target_examples_per_word: self.per_word(b.target_examples, band),
            }));
            debug_assert_eq!(n, info.words);
        }
    }
}

#[derive(Default)]
struct State {
    prepared: Option<Prepared>,
    slots: Vec<Grid>,
    first_seen: Vec<Option<f64>>,
    words: Option<WordTotals>,
}

/// The shared end of the per-thread probes: snapshot slots filled at boundaries.
pub struct Collector {
    cfg: TrainConfig,
    state: Mutex<State>,
}

impl Collector {
    /// A collector for the run `cfg`.
    pub fn new(cfg: &TrainConfig) -> Self {
        Collector {
            cfg: cfg.clone(),
            state: Mutex::new(State::default()),
        }
    }

    /// The telemetry settings.
    pub fn config(&self) -> &StatsConfig {
        &self.cfg.run.stats
    }

    /// The run's seed (sampling streams derive from it).
    pub fn seed(&self) -> u64 {
        self.cfg.params.seed
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking worker cannot leave the sums half-merged in a way that matters more
        // than the panic itself; keep going with what is there.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Builds the layout once (first caller) and hands it to each probe.
    pub(crate) fn prepare(&self, run: &RunInfo) -> (Arc<Layout>, SnapshotSchedule) {
        let mut st = self.lock();
        if st.prepared.is_none() {
            let layout = Arc::new(Layout::new(
                run.vocab.counts(),
                run.tree,
                self.cfg.run.stats.band_base,
            ));
            let schedule =
                SnapshotSchedule::new(run.schedule.total_words(), self.cfg.run.stats.every_pct);
            let (depths, node_depth) = depth_table(run.tree, run.vocab.counts());
            st.slots = vec![layout.grid(); schedule.len() as usize];
            st.first_seen = vec![None; schedule.len() as usize];
            st.prepared = Some(Prepared {
                layout,
                schedule,
                alpha: run.schedule,
                depths,
                node_depth,
                vocab_size: run.vocab.len(),
                n_inner: run.tree.n_inner(),
                start: Instant::now(),
            });
        }
        let p = st.prepared.as_ref().expect("prepared above");
        (p.layout.clone(), p.schedule)
    }

    /// Adds `grid` into snapshot `k` (1-based; 0 is treated as 1) and clears it.
    pub(crate) fn deposit(&self, k: u32, grid: &mut Grid) {
        let mut st = self.lock();
        let st = &mut *st;
        let Some(p) = &st.prepared else { return };
        let i = (k.max(1) as usize - 1).min(st.slots.len() - 1);
        if st.first_seen[i].is_none() {
            st.first_seen[i] = Some(p.start.elapsed().as_secs_f64());
        }
        st.slots[i].merge(grid);
        grid.clear();
    }

    /// Collects what the probes still hold after the workers have stopped.
    pub fn finish(&self, probes: &mut [GridProbe]) {
        for probe in probes {
            let (mut grid, words, last_done) = probe.take();
            let k = {
                let st = self.lock();
                match &st.prepared {
                    Some(p) => p.schedule.containing(last_done),
                    None => return,
                }
            };
            if !grid.is_empty() {
                self.deposit(k, &mut grid);
            }
            if let Some(w) = words {
                let mut st = self.lock();
                match &mut st.words {
                    Some(acc) => acc.merge(&w),
                    None => st.words = Some(w),
                }
            }
        }
    }

    #[cfg(test)]
    /// The snapshot grids merged over the whole run.
    pub fn total(&self) -> Option<Grid> {
        let st = self.lock();
        let p = st.prepared.as_ref()?;
        let mut t = p.layout.grid();
        for g in &st.slots {
            t.merge(g);
        }
        Some(t)
    }

    /// Every record of the stats file, in file order.
    pub fn records(
        &self,
        fin: Option<&FinalState>,
        report: Option<&TrainReport>,
        status: &str,
    ) -> Result<Vec<Record>> {
        let st = self.lock();
        let Some(p) = &st.prepared else {
            return Err(Error::Config("telemetry was never started".into()));
        };
        let mut out = vec![self.header_record(p)?];
        for (i, g) in st.slots.iter().enumerate() {
            p.snapshot_records(i, g, st.first_seen[i], &mut out);
        }
        if let Some(fin) = fin {
            let mut total = p.layout.grid();
            for g in &st.slots {
                total.merge(g);
            }
            out.extend(depth_final(&p.depths, &p.node_depth, fin, &total));
            p.band_final_records(fin, &total, &mut out);
        }
        out.push(Record::End(EndRecord {
            status: status.into(),
            words: report.map(|r| r.words),
            train_seconds: report.map(|r| r.train_seconds),
            words_per_sec: report.map(|r| r.words_per_sec),
        }));
        Ok(out)
    }

    /// The header record: the run's configuration, sizes, bands and depths.
    fn header_record(&self, p: &Prepared) -> Result<Record> {
        let layout = &p.layout;
        let config = serde_json::to_value(&self.cfg)
            .map_err(|e| Error::Config(format!("cannot serialise the config: {e}")))?;
        Ok(Record::Header(Box::new(Header {
            schema: SCHEMA.into(),
            version: VERSION,
            huffvec_version: env!("CARGO_PKG_VERSION").into(),
            config,
            pairing: pairing(self.cfg.params.model).into(),
            vocab_size: p.vocab_size,
            n_inner: p.n_inner,
            max_depth: layout.n_depths,
            total_words: p.alpha.total_words(),
            n_snapshots: p.schedule.len(),
            sigmoid_max_exp: MAX_EXP,
            publish_every_words: crate::schedule::PUBLISH_EVERY,
            bands: layout.bands.clone(),
            depths: p.depths.clone(),
            fields: field_docs(),
        })))
    }

    /// Writes the `--stats` JSON Lines file into `slot`.
    pub fn write_stats(
        &self,
        slot: OutputSlot,
        fin: Option<&FinalState>,
        report: Option<&TrainReport>,
        status: &str,
    ) -> Result<()> {
        let records = self.records(fin, report, status)?;
        slot.commit(|w| write_records(w, &records))
    }

    /// Writes the `--word-stats` table into `slot`: one tab-separated line per word, with a
    /// header line naming the columns.
    pub fn write_word_stats(
        &self,
        slot: OutputSlot,
        vocab: &Vocab,
        tree: &Tree,
        fin: &FinalState,
    ) -> Result<()> {
        let st = self.lock();
        let (Some(p), Some(t)) = (&st.prepared, &st.words) else {
            return Err(Error::Config("word statistics were not recorded".into()));
        };
        let layout = &p.layout;
        slot.commit(|w| {
            w.write_all(WORD_STATS_COLUMNS.as_bytes())?;
            w.write_all(b"\n")?;
            for id in 0..vocab.len() {
                write!(w, "{id}\t")?;
                w.write_all(vocab.word(id))?;
                writeln!(
                    w,
                    "\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    vocab.counts()[id],
                    layout.band_of_word[id],
                    tree.depth(id),
                    t.input_updates[id],
                    t.input_sampled[id],
                    t.input_step[id],
                    t.target_examples[id],
                    fin.input_norm[id],
                )?;
            }
            Ok(())
        })
    }
}

/// Columns of the `--word-stats` file.
pub const WORD_STATS_COLUMNS: &str = "id\tword\tcount\tband\tcode_length\tinput_updates\tinput_sampled\tinput_step_norm_sum\ttarget_examples\tfinal_norm";

fn ratio(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// Depth table of `tree` and the depth of each inner node.
fn depth_table(tree: &Tree, counts: &[u64]) -> (Vec<DepthInfo>, Vec<u16>) {
    let nd = tree.max_depth().max(1);
    let mut node_depth = vec![0u16; tree.n_inner()];
    let mut through = vec![0u64; nd];
    let mut tokens_through = vec![0u64; nd];
    for w in 0..tree.n_words() {
        let path = tree.path(w);
        for (d, &step) in path.iter().enumerate() {
            node_depth[(step >> 1) as usize] = d as u16;
            through[d] += 1;
            tokens_through[d] += counts.get(w).copied().unwrap_or(0);
        }
    }
    let mut inner = vec![0u64; nd];
    for &d in &node_depth {
        inner[d as usize] += 1;
    }
    let total: u64 = counts.iter().sum();
    let depths = (0..nd)
        .map(|d| DepthInfo {
            depth: d,
            inner_nodes: inner[d],
            words_through: through[d],
            token_share_through: tokens_through[d] as f64 / total.max(1) as f64,
        })
        .collect();
    (depths, node_depth)
}

fn depth_final(
    depths: &[DepthInfo],
    node_depth: &[u16],
    fin: &FinalState,
    total: &Grid,
) -> Vec<Record> {
    let nd = depths.len();
    let mut zero = vec![0u64; nd];
    let mut norm = vec![0f64; nd];
    for (n, &d) in node_depth.iter().enumerate() {
        let d = d as usize;
        if fin.inner_norm[n] == 0.0 {
            zero[d] += 1;
        }
        norm[d] += fin.inner_norm[n] as f64;
    }
    depths
        .iter()
        .map(|info| {
            let d = info.depth;
            let updates = total.depth_total(d).updates;
            Record::DepthFinal(DepthFinalRecord {
                depth: d,
                inner_nodes: info.inner_nodes,
                never_updated: zero[d],
                v_norm_mean: norm[d] / info.inner_nodes.max(1) as f64,
                updates,
                updates_per_node: updates as f64 / info.inner_nodes.max(1) as f64,
            })
        })
        .collect()
}

/// Norms of the trained vectors, read once after training.
pub struct FinalState {
    /// |input vector| per word id.
    pub input_norm: Vec<f32>,
    /// |inner-node vector| per inner node (0 exactly when never stepped).
    pub inner_norm: Vec<f32>,
}

impl FinalState {
    /// Reads the norms of `t`'s matrices.
    pub fn of(t: &Trained) -> Self {
        let norms = |m: &crate::kernel::FrozenMatrix, n: usize| -> Vec<f32> {
            (0..n)
                .map(|r| m.row(r).iter().map(|x| x * x).sum::<f32>().sqrt())
                .collect()
        };
        let nw = t.vocab.len();
        let ni = t.tree.n_inner();
        FinalState {
            input_norm: norms(&t.input, nw),
            inner_norm: norms(&t.inner, ni),
        }
    }
}

/// A parsed stats file.
#[derive(Clone, Debug)]
pub struct StatsFile {
    /// The header.
    pub header: Header,
    /// Per-snapshot totals, in order.
    pub snapshots: Vec<SnapshotRecord>,
    /// Cells.
    pub cells: Vec<CellRecord>,
    /// Band records.
    pub bands: Vec<BandRecord>,
    /// End-of-run depth records (empty for a diverged run).
    pub depth_final: Vec<DepthFinalRecord>,
    /// End-of-run band records (empty for a diverged run).
    pub band_final: Vec<BandFinalRecord>,
    /// The end record, if the file has one.
    pub end: Option<EndRecord>,
}

/// Reads and checks a `--stats` file.
pub fn read(path: &Path) -> Result<StatsFile> {
    let f = File::open(path).map_err(|e| Error::io("cannot open stats file", path, e))?;
    let mut lines = BufReader::new(f).lines();
    let parse = |n: usize, line: std::io::Result<String>| -> Result<Record> {
        let line = line.map_err(|e| Error::io("cannot read stats file", path, e))?;
        serde_json::from_str(&line).map_err(|e| Error::at_line(path, n, e.to_string()))
    };
    let header = match lines.next() {
        None => {
            return Err(Error::at_line(
                path,
                1,
                "empty file, expected a header record",
            ))
        }
        Some(l) => match parse(1, l)? {
            Record::Header(h) => *h,
            _ => return Err(Error::at_line(path, 1, "first record is not a header")),
        },
    };
    if header.schema != SCHEMA {
        return Err(Error::at_line(
            path,
            1,
            format!("schema is {:?}, expected {SCHEMA:?}", header.schema),
        ));
    }
    if header.version != VERSION {
        return Err(Error::at_line(
            path,
            1,
            format!(
                "schema version {} is not supported (this huffvec reads version {VERSION})",
                header.version
            ),
        ));
    }
    let mut s = StatsFile {
        header,
        snapshots: Vec::new(),
        cells: Vec::new(),
        bands: Vec::new(),
        depth_final: Vec::new(),
        band_final: Vec::new(),
        end: None,
    };
    let (nb, nd) = (s.header.bands.len(), s.header.max_depth);
    for (i, l) in lines.enumerate() {
        let n = i + 2;
        let bad = |what: &str| Err(Error::at_line(path, n, what.to_string()));
        match parse(n, l)? {
            Record::Header(_) => return bad("a second header record"),
            Record::Snapshot(r) => s.snapshots.push(r),
            Record::Cell(r) => {
                if r.band >= nb || r.depth >= nd {
                    return bad("band or depth outside the header's tables");
                }
                s.cells.push(r)
            }
            Record::Band(r) => {
                if r.band >= nb {
                    return bad("band outside the header's table");
                }
                s.bands.push(r)
            }
            Record::DepthFinal(r) => s.depth_final.push(r),
            Record::BandFinal(r) => s.band_final.push(r),
            Record::End(r) => s.end = Some(r),
        }
    }
    Ok(s)
}

/// Writes `records` as JSON Lines to `w` (used by tests and tools that build files).
pub fn write_records(w: &mut BufWriter<&File>, records: &[Record]) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *w, r)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_boundaries_cover_the_run() {
        let s = SnapshotSchedule::new(1000, 1.0);
        assert_eq!(s.len(), 100);
        assert_eq!(
            (s.boundary(1), s.boundary(50), s.boundary(100)),
            (10, 500, 1000)
        );
        assert_eq!(s.boundary(101), u64::MAX);
        assert_eq!(s.last_ending_at_or_before(9), 0);
        assert_eq!(s.last_ending_at_or_before(10), 1);
        assert_eq!(s.last_ending_at_or_before(519), 51);
        assert_eq!(s.last_ending_at_or_before(5000), 100);
        assert_eq!(s.containing(0), 1);
        assert_eq!(s.containing(10), 1);
        assert_eq!(s.containing(11), 2);
        assert_eq!(s.containing(1000), 100);
        // A last, shorter interval: 30% steps end at 30, 60, 90, 100.
        let s = SnapshotSchedule::new(1000, 30.0);
        assert_eq!(s.len(), 4);
        let b: Vec<u64> = (1..=4).map(|k| s.boundary(k)).collect();
        assert_eq!(b, [300, 600, 900, 1000]);
        assert_eq!(s.progress(4), 1.0);
        assert_eq!(SnapshotSchedule::new(10, 100.0).len(), 1);
    }

    #[test]
    fn reader_refuses_foreign_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.jsonl");
        std::fs::write(&p, "").expect("write");
        assert!(read(&p).is_err());
        std::fs::write(&p, "{\"record\":\"end\",\"status\":\"done\"}\n").expect("write");
        let e = read(&p).expect_err("no header").to_string();
        assert!(e.contains("line 1"), "{e}");
        std::fs::write(&p, "not json\n").expect("write");
        assert!(read(&p).is_err());
        assert!(read(&dir.path().join("missing")).is_err());
    }
}
