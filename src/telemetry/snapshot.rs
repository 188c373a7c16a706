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
//!
//! It is written as training goes (see [`super::stream`]): the header first, then each
//! snapshot's records once every thread has moved past it, then the end-of-run records and
//! the `end` record. A file without an `end` record of status `done` is incomplete, and
//! the reader says so rather than failing: a stopped or crashed run's file holds every
//! snapshot closed before the stop. Snapshots a run could not record (resumed from a
//! checkpoint without telemetry) are declared by a `gap` record, never written as zeros.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::grid::{BandCell, BandInfo, Cell};
use crate::config::Model;
use crate::error::{Error, Result};

/// Schema name in the header record.
pub const SCHEMA: &str = "huffvec-stats";
/// Schema version; bumped on any change a reader must know about (2: `gap` records and
/// `end` statuses other than done and diverged). Version 1 files are read too.
pub const VERSION: u32 = 2;

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

/// Snapshots the file does not hold, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GapRecord {
    /// First missing snapshot, 1-based.
    pub snapshot_lo: u32,
    /// Last missing snapshot, inclusive.
    pub snapshot_hi: u32,
    /// Why they are missing.
    pub reason: String,
}

/// Last line: how the run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndRecord {
    /// "done", "diverged", "interrupted", "stopped" (at `--stop-at`) or "failed".
    pub status: String,
    /// Words done over the whole run, resumed parts included (when done).
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
    /// Snapshots not recorded.
    Gap(GapRecord),
    /// Last line.
    End(EndRecord),
}

const FIELD_DOCS: &[(&str, &str, &str)] = &[
    ("all", "record", "record type: header | snapshot | cell | band | gap | depth_final | band_final | end"),
    ("all", "snapshot", "snapshot index, 1-based; snapshot k covers progress (progress_lo, progress_hi] of all words over all epochs, each thread's work attributed to within one publish batch (10k words)"),
    ("all", "band", "frequency band, dense index into header.bands (0 = rarest); band of the target word for cells and target_* fields, of the input word for input_* fields"),
    ("all", "depth", "inner-node depth, root = 0"),
    ("header", "schema", "always \"huffvec-stats\""),
    ("header", "version", "schema version (2)"),
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
    ("gap", "snapshot_lo", "first snapshot the file does not hold, 1-based"),
    ("gap", "snapshot_hi", "last snapshot the file does not hold, inclusive"),
    ("gap", "reason", "why they are missing (e.g. the run resumed from a checkpoint that held no telemetry)"),
    ("end", "status", "done | diverged | interrupted (a checkpoint was written; a resumed run removes this record and continues) | stopped (at --stop-at, likewise) | failed; a file with no end record is from a run that is still going or was killed"),
    ("end", "words", "words done over the whole run, resumed parts included (when done)"),
    ("end", "train_seconds", "training wall-clock seconds"),
    ("end", "words_per_sec", "words per wall-clock second"),
];

pub(super) fn field_docs() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut m: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (rec, field, doc) in FIELD_DOCS {
        m.entry(rec.to_string())
            .or_default()
            .insert(field.to_string(), doc.to_string());
    }
    m
}

pub(super) fn pairing(model: Model) -> &'static str {
    match model {
        Model::Skipgram => "skipgram (word2vec.c pairing): each context word's input vector is trained along the centre word's path; target_* and cells use the centre word's band, input_* the context word's band",
        Model::Cbow => "cbow: the mean of the context input vectors is trained along the centre word's path (one example per centre), and the undivided step is added to every context word's input vector; input_* use each context word's band",
    }
}

pub(super) fn ratio(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
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
    /// End-of-run depth records (empty for a diverged or unfinished run).
    pub depth_final: Vec<DepthFinalRecord>,
    /// End-of-run band records (empty for a diverged or unfinished run).
    pub band_final: Vec<BandFinalRecord>,
    /// Snapshots declared missing.
    pub gaps: Vec<GapRecord>,
    /// The end record, if the file has one.
    pub end: Option<EndRecord>,
    /// True when the last line was cut short (the writer stopped mid-line) and was left out.
    pub cut_short: bool,
}

impl StatsFile {
    /// The runs of snapshots (first, last; inclusive) the file does not hold, declared gaps
    /// and snapshots never written alike.
    pub fn missing_snapshots(&self) -> Vec<(u32, u32)> {
        let mut present = vec![false; self.header.n_snapshots as usize + 1];
        for s in &self.snapshots {
            if let Some(p) = present.get_mut(s.snapshot as usize) {
                *p = true;
            }
        }
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for k in 1..=self.header.n_snapshots {
            if present[k as usize] {
                continue;
            }
            match runs.last_mut() {
                Some((_, hi)) if *hi + 1 == k => *hi = k,
                _ => runs.push((k, k)),
            }
        }
        runs
    }

    /// Progress (fractions) at the start and end of snapshot `k`, whether or not the file
    /// holds it.
    pub fn span(&self, k: u32) -> (f64, f64) {
        if let Some(r) = self.snapshots.iter().find(|s| s.snapshot == k) {
            return (r.progress_lo, r.progress_hi);
        }
        let n = self.header.n_snapshots.max(1);
        let every = self
            .header
            .config
            .get("stats")
            .and_then(|s| s.get("every_pct"))
            .and_then(|v| v.as_f64())
            .filter(|e| *e > 0.0)
            .unwrap_or(100.0 / n as f64);
        let at = |k: u32| (k as f64 * every / 100.0).min(1.0);
        (at(k - 1), if k == n { 1.0 } else { at(k) })
    }

    /// Why the file does not describe a whole finished run, or None when it does.
    pub fn incomplete(&self) -> Option<String> {
        let missing = self.missing_snapshots();
        let mut why: Vec<String> = Vec::new();
        match &self.end {
            Some(e) if e.status == "done" => {}
            Some(e) => why.push(format!("the run ended {}", e.status)),
            None => why.push(
                "the file has no end record (the run was killed, lost its disk, or is still going)"
                    .into(),
            ),
        }
        if !missing.is_empty() {
            let n: u32 = missing.iter().map(|(lo, hi)| hi - lo + 1).sum();
            let list: Vec<String> = missing
                .iter()
                .map(|&(lo, hi)| {
                    if lo == hi {
                        format!("{lo}")
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect();
            why.push(format!(
                "{n} of {} snapshots missing ({})",
                self.header.n_snapshots,
                list.join(", ")
            ));
        }
        if self.cut_short {
            why.push("its last line was cut short".into());
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// Reads and checks a `--stats` file; a file cut short by a stop or crash reads as
/// incomplete ([`StatsFile::incomplete`]), not as an error.
pub fn read(path: &Path) -> Result<StatsFile> {
    let f = File::open(path).map_err(|e| Error::io("cannot open stats file", path, e))?;
    read_from(BufReader::new(f), path)
}

/// Most snapshots x depths a stats file may describe (10,000 snapshots at the smallest
/// `--stats-every` times far more depths than any tree over real counts has).
const MAX_SNAPSHOT_DEPTHS: u64 = 4_000_000;

/// Refuses a header this huffvec did not write or cannot read: another schema or
/// version, or tables too large or out of order (the error names line 1).
fn check_header(header: &Header, path: &Path) -> Result<()> {
    if header.schema != SCHEMA {
        return Err(Error::at_line(
            path,
            1,
            format!("schema is {:?}, expected {SCHEMA:?}", header.schema),
        ));
    }
    if header.version == 0 || header.version > VERSION {
        return Err(Error::at_line(
            path,
            1,
            format!(
                "schema version {} is not supported (this huffvec reads versions 1 to {VERSION})",
                header.version
            ),
        ));
    }
    let (n_snap, n_depth) = (header.n_snapshots as u64, header.max_depth as u64);
    if n_snap == 0
        || header.bands.len() > 256
        || n_depth.max(1).saturating_mul(n_snap) > MAX_SNAPSHOT_DEPTHS
    {
        return Err(Error::at_line(
            path,
            1,
            format!(
                "header describes {n_snap} snapshots, {} bands and {n_depth} depths: not a \
                 file huffvec writes",
                header.bands.len()
            ),
        ));
    }
    if let Some(i) = (0..header.bands.len()).find(|&i| header.bands[i].band != i) {
        return Err(Error::at_line(
            path,
            1,
            format!("band table entry {i} is numbered {}", header.bands[i].band),
        ));
    }
    Ok(())
}

/// Reads and checks a stats file from `r`; `path` names it in errors.
pub fn read_from(mut r: impl BufRead, path: &Path) -> Result<StatsFile> {
    let mut next_line = |buf: &mut String| -> Result<Option<bool>> {
        buf.clear();
        let n = r
            .read_line(buf)
            .map_err(|e| Error::io("cannot read stats file", path, e))?;
        Ok((n > 0).then(|| buf.ends_with('\n')))
    };
    let parse = |n: usize, line: &str| -> Result<Record> {
        serde_json::from_str(line).map_err(|e| Error::at_line(path, n, e.to_string()))
    };
    let mut line = String::new();
    let header = match next_line(&mut line)? {
        None => {
            return Err(Error::at_line(
                path,
                1,
                "empty file, expected a header record",
            ))
        }
        Some(_) => match parse(1, &line)? {
            Record::Header(h) => *h,
            _ => return Err(Error::at_line(path, 1, "first record is not a header")),
        },
    };
    check_header(&header, path)?;
    let mut s = StatsFile {
        header,
        snapshots: Vec::new(),
        cells: Vec::new(),
        bands: Vec::new(),
        depth_final: Vec::new(),
        band_final: Vec::new(),
        gaps: Vec::new(),
        end: None,
        cut_short: false,
    };
    let (nb, nd, ns) = (
        s.header.bands.len(),
        s.header.max_depth,
        s.header.n_snapshots,
    );
    let mut n = 1;
    while let Some(complete) = next_line(&mut line)? {
        n += 1;
        let bad = |what: &str| Err(Error::at_line(path, n, what.to_string()));
        let record = match parse(n, &line) {
            Ok(r) => r,
            // The writer stopped mid-line: everything before it stands.
            Err(_) if !complete => {
                s.cut_short = true;
                break;
            }
            Err(e) => return Err(e),
        };
        let in_range = |k: u32| (1..=ns).contains(&k);
        match record {
            Record::Header(_) => return bad("a second header record"),
            Record::Snapshot(r) => {
                if !in_range(r.snapshot) {
                    return bad("snapshot index outside the header's count");
                }
                s.snapshots.push(r)
            }
            Record::Cell(r) => {
                if r.band >= nb || r.depth >= nd || !in_range(r.snapshot) {
                    return bad("band, depth or snapshot outside the header's tables");
                }
                s.cells.push(r)
            }
            Record::Band(r) => {
                if r.band >= nb || !in_range(r.snapshot) {
                    return bad("band or snapshot outside the header's tables");
                }
                s.bands.push(r)
            }
            Record::Gap(r) => {
                if r.snapshot_lo > r.snapshot_hi
                    || !in_range(r.snapshot_lo)
                    || !in_range(r.snapshot_hi)
                {
                    return bad("gap outside the header's snapshots");
                }
                s.gaps.push(r)
            }
            Record::DepthFinal(r) => s.depth_final.push(r),
            Record::BandFinal(r) => s.band_final.push(r),
            Record::End(r) => s.end = Some(r),
        }
    }
    Ok(s)
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

    const HEADER: &str = r#"{"record":"header","schema":"huffvec-stats","version":2,"huffvec_version":"t","config":{"stats":{"every_pct":25.0}},"pairing":"","vocab_size":2,"n_inner":1,"max_depth":1,"total_words":100,"n_snapshots":4,"sigmoid_max_exp":6.0,"publish_every_words":10,"bands":[],"depths":[],"fields":{}}"#;

    fn snap(k: u32) -> String {
        format!(
            r#"{{"record":"snapshot","snapshot":{k},"progress_lo":{},"progress_hi":{},"words_hi":0,"alpha_hi":0.0,"wall_seconds":null,"updates":0,"sampled":0,"sat_agree":0,"sat_disagree":0,"skipped":0,"abs_g":0.0,"node_step":0.0,"input_grad":0.0,"loss":0.0,"abs_g_mean":null,"loss_mean":null,"examples":0}}"#,
            (k - 1) as f64 / 4.0,
            k as f64 / 4.0
        )
    }

    #[test]
    fn a_cut_short_file_reads_as_incomplete_with_its_gaps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.jsonl");
        let gap = r#"{"record":"gap","snapshot_lo":1,"snapshot_hi":1,"reason":"resumed"}"#;
        let text = format!("{HEADER}\n{gap}\n{}\n{}", snap(2), &snap(3)[..40]);
        std::fs::write(&p, text).expect("write");
        let s = read(&p).expect("a cut-short file is read");
        assert!(s.cut_short);
        assert_eq!(s.snapshots.len(), 1);
        assert_eq!(s.gaps.len(), 1);
        assert_eq!(s.missing_snapshots(), vec![(1, 1), (3, 4)]);
        assert_eq!(s.span(3), (0.5, 0.75));
        let why = s.incomplete().expect("incomplete");
        assert!(why.contains("no end record"), "{why}");
        assert!(why.contains("3 of 4 snapshots missing (1, 3-4)"), "{why}");
        assert!(why.contains("cut short"), "{why}");
        // A garbled line that is not the last one is an error naming it.
        let text = format!("{HEADER}\n{}\n{}\n", &snap(2)[..40], snap(3));
        std::fs::write(&p, text).expect("write");
        let e = read(&p).expect_err("garbled").to_string();
        assert!(e.contains("line 2"), "{e}");
        // A complete run reads as complete.
        let end = r#"{"record":"end","status":"done","words":100,"train_seconds":1.0,"words_per_sec":100.0}"#;
        let snaps: Vec<String> = (1..=4).map(snap).collect();
        let text = format!("{HEADER}\n{}\n{end}\n", snaps.join("\n"));
        std::fs::write(&p, text).expect("write");
        assert_eq!(read(&p).expect("complete").incomplete(), None);
    }
}
