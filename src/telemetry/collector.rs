//! The shared end of the per-thread probes: snapshot slots filled at publish points,
//! written to the `--stats` file as soon as every thread has moved past them, the
//! end-of-run records, and the state a checkpoint saves so that a resumed run continues
//! the same file record for record.
//!
//! Snapshot k is closed once every thread has handed over work for snapshot k or later: a
//! thread's work always goes to the snapshot of the last boundary its published word count
//! passed, which never decreases.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::grid::{Grid, Layout, WordTotals};
use super::snapshot::{
    field_docs, pairing, ratio, BandFinalRecord, BandRecord, CellRecord, DepthFinalRecord,
    DepthInfo, EndRecord, GapRecord, Header, Record, SnapshotRecord, SnapshotSchedule, SCHEMA,
    VERSION,
};
use super::stream::{FileMark, StatsStream};
use super::GridProbe;
use crate::config::{StatsConfig, TrainConfig};
use crate::error::{Error, Result};
use crate::io::OutputSlot;
use crate::loss::sigmoid::MAX_EXP;
use crate::probe::RunInfo;
use crate::schedule::Schedule;
use crate::train::{Observer, Silent, TrainReport, Trained};
use crate::tree::Tree;
use crate::vocab::Vocab;

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
    /// Snapshot slots (slot i = snapshot i + 1); a written slot is left empty.
    slots: Vec<Grid>,
    first_seen: Vec<Option<f64>>,
    words: Option<WordTotals>,
    /// Per thread, the latest snapshot it handed work over for.
    marks: Vec<u32>,
    /// Snapshots 1..=written are in the file (or declared missing).
    written: u32,
    /// Snapshots 1..=missing are declared missing: work attributed to them is dropped.
    missing: u32,
    /// The written snapshots summed, in order (for the end-of-run records).
    total: Grid,
    /// The most words done any probe published, once they are collected.
    last_done: u64,
    stream: Option<StatsStream>,
}

/// What a checkpoint keeps of the telemetry: the collector's unwritten slots and totals,
/// where the file stood, and every probe's unsent sums, sampling stream and position.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedTelemetry {
    n_snapshots: u32,
    n_bands: usize,
    n_depths: usize,
    written: u32,
    missing: u32,
    /// Seconds from training start to the checkpoint.
    elapsed: f64,
    total: Grid,
    /// (slot, sums) of the unwritten slots that hold anything.
    open: Vec<(usize, Grid)>,
    first_seen: Vec<Option<f64>>,
    marks: Vec<u32>,
    file: Option<FileMark>,
    probes: Vec<ProbeState>,
}

/// One probe's state at a publish point (its short-lived sums are empty there).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeState {
    /// Sums not yet handed over.
    pub grid: Grid,
    /// Per-word totals, with `--word-stats`.
    pub words: Option<WordTotals>,
    /// The sampling stream's state.
    pub rng: u64,
    /// Learning rate in use, as `f32` bits.
    pub alpha_bits: u32,
    /// Words done at which the probe next hands over.
    pub next_boundary: u64,
    /// The last progress it published.
    pub last_done: u64,
}

/// The shared end of the per-thread probes: snapshot slots filled at boundaries and
/// streamed to the stats file as they close.
pub struct Collector<'o> {
    cfg: TrainConfig,
    obs: &'o dyn Observer,
    state: Mutex<State>,
}

impl<'o> Collector<'o> {
    /// A collector for the run `cfg` that reports nothing.
    pub fn new(cfg: &TrainConfig) -> Collector<'static> {
        Collector::with_observer(cfg, &Silent)
    }

    /// A collector for the run `cfg` that tells `obs` about the stats file (resumed,
    /// trimmed, or a write that failed).
    pub fn with_observer(cfg: &TrainConfig, obs: &'o dyn Observer) -> Self {
        Collector {
            cfg: cfg.clone(),
            obs,
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
            st.total = layout.grid();
            st.marks = vec![0; self.cfg.run.threads];
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

    /// Opens the stats file once the probes are prepared: continues the file a checkpoint
    /// names (`saved`), or starts a new one, declaring missing the snapshots before
    /// `start_done` words that no telemetry covers. Returns the probes' saved states.
    pub(crate) fn start(
        &self,
        saved: Option<SavedTelemetry>,
        start_done: u64,
    ) -> Result<Option<Vec<ProbeState>>> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let Some(p) = &mut st.prepared else {
            return Err(Error::Internal(
                "telemetry started before it was prepared".into(),
            ));
        };
        let ck = self
            .cfg
            .run
            .resume
            .as_deref()
            .unwrap_or(Path::new("the checkpoint"));
        let probes = match saved {
            Some(s) => {
                s.check(p, &st.marks, ck)?;
                p.start = Instant::now()
                    .checked_sub(Duration::from_secs_f64(s.elapsed.max(0.0)))
                    .unwrap_or_else(Instant::now);
                st.written = s.written;
                st.missing = s.missing;
                st.total = s.total;
                for (i, g) in s.open {
                    st.slots[i] = g;
                }
                for g in &mut st.slots[..s.written as usize] {
                    *g = Grid::default();
                }
                st.first_seen = s.first_seen;
                st.marks = s.marks;
                let stream = match (&self.cfg.run.stats.path, s.file) {
                    (Some(path), Some(mark)) if path.exists() => {
                        let (stream, cut) = StatsStream::resume(path, &mark, ck)?;
                        self.obs.note(&format!(
                            "stats: continuing {} after snapshot {}{}",
                            path.display(),
                            st.written,
                            if cut > 0 {
                                format!(" (removed {cut} bytes written after the checkpoint)")
                            } else {
                                String::new()
                            }
                        ));
                        Some(stream)
                    }
                    (Some(path), _) => Some(self.create(
                        path,
                        p,
                        st.missing.max(st.written),
                        "the stats file the checkpoint continues was not found",
                    )?),
                    (None, _) => None,
                };
                st.stream = stream;
                Some(s.probes)
            }
            None => {
                let missing = if start_done == 0 {
                    0
                } else {
                    p.schedule.containing(start_done)
                };
                st.missing = missing;
                st.written = missing;
                if let Some(path) = &self.cfg.run.stats.path {
                    st.stream = Some(self.create(
                        path,
                        p,
                        missing,
                        "the run resumed from a checkpoint that holds no telemetry",
                    )?);
                }
                None
            }
        };
        Ok(probes)
    }

    /// Creates the stats file at `path` with its header and, when `missing` > 0, a gap
    /// record for snapshots 1..=missing.
    fn create(&self, path: &Path, p: &Prepared, missing: u32, why: &str) -> Result<StatsStream> {
        let mut stream = StatsStream::create(path)?;
        let mut records = vec![self.header_record(p)?];
        if missing > 0 {
            records.push(Record::Gap(GapRecord {
                snapshot_lo: 1,
                snapshot_hi: missing,
                reason: why.into(),
            }));
            self.obs.note(&format!(
                "stats: snapshots 1-{missing} of {} are marked missing in {}: {why}",
                p.schedule.len(),
                path.display()
            ));
        }
        if let Some(cause) = stream.append(&records) {
            return Err(Error::Config(format!(
                "cannot write stats file {}: {cause}",
                path.display()
            )));
        }
        Ok(stream)
    }

    /// Adds `grid` (thread `thread`'s work) into snapshot `k` (1-based; 0 is treated as 1),
    /// clears it, and writes the snapshots every thread has now moved past.
    pub(crate) fn deposit(&self, thread: usize, k: u32, grid: &mut Grid) {
        let mut guard = self.lock();
        let st = &mut *guard;
        if st.prepared.is_none() {
            return;
        }
        st.add(k, grid);
        if let Some(m) = st.marks.get_mut(thread) {
            *m = (*m).max(k);
        }
        let closed = st.marks.iter().copied().min().unwrap_or(0);
        st.write_through(closed, self.obs);
    }

    /// Collects what the probes still hold after the workers have stopped (written by
    /// [`Collector::close`]).
    pub fn finish(&self, probes: &mut [GridProbe]) {
        for probe in probes {
            let (mut grid, words, last_done) = probe.take();
            let mut guard = self.lock();
            let st = &mut *guard;
            let Some(p) = &st.prepared else { return };
            let k = p.schedule.containing(last_done);
            st.last_done = st.last_done.max(last_done);
            if !grid.is_empty() {
                st.add(k, &mut grid);
            }
            if let Some(w) = words {
                match &mut st.words {
                    Some(acc) => acc.merge(&w),
                    None => st.words = Some(w),
                }
            }
        }
    }

    /// Ends the stats file after [`Collector::finish`]: every remaining snapshot, the
    /// end-of-run records when `fin` is given, and the end record with `status`.
    pub fn close(&self, fin: Option<&FinalState>, report: Option<&TrainReport>, status: &str) {
        let mut guard = self.lock();
        let st = &mut *guard;
        let Some(n) = st.prepared.as_ref().map(|p| p.schedule.len()) else {
            return;
        };
        st.write_through(n, self.obs);
        let Some(p) = &st.prepared else { return };
        let mut out = Vec::new();
        if let Some(fin) = fin {
            out.extend(depth_final(&p.depths, &p.node_depth, fin, &st.total));
            p.band_final_records(fin, &st.total, &mut out);
        }
        out.push(Record::End(EndRecord {
            status: status.into(),
            words: report.map(|_| st.last_done),
            train_seconds: report.map(|r| r.train_seconds),
            words_per_sec: report.map(|r| r.words_per_sec),
        }));
        st.append(&out, self.obs);
    }

    /// Ends the stats file of a run that stopped early with `status` (interrupted,
    /// stopped, failed): the unclosed snapshots stay out (a checkpoint holds them).
    pub fn close_early(&self, status: &str) {
        let mut st = self.lock();
        if st.prepared.is_none() {
            return;
        }
        st.append(
            &[Record::End(EndRecord {
                status: status.into(),
                words: None,
                train_seconds: None,
                words_per_sec: None,
            })],
            self.obs,
        );
    }

    /// Why the stats file is incomplete because a write failed (the file and the cause).
    pub fn write_failure(&self) -> Option<String> {
        let st = self.lock();
        let s = st.stream.as_ref()?;
        s.failed()
            .map(|cause| format!("{}: {cause}", s.path().display()))
    }

    /// The collector's and `probes`' state, for a checkpoint.
    pub(crate) fn save(&self, probes: Vec<ProbeState>) -> Option<SavedTelemetry> {
        let st = self.lock();
        let p = st.prepared.as_ref()?;
        let open = st
            .slots
            .iter()
            .enumerate()
            .skip(st.written as usize)
            .filter(|(_, g)| !g.is_empty())
            .map(|(i, g)| (i, g.clone()))
            .collect();
        Some(SavedTelemetry {
            n_snapshots: p.schedule.len(),
            n_bands: p.layout.bands.len(),
            n_depths: p.layout.n_depths,
            written: st.written,
            missing: st.missing,
            elapsed: p.start.elapsed().as_secs_f64(),
            total: st.total.clone(),
            open,
            first_seen: st.first_seen.clone(),
            marks: st.marks.clone(),
            file: st
                .stream
                .as_ref()
                .filter(|s| s.failed().is_none())
                .map(StatsStream::mark),
            probes,
        })
    }

    #[cfg(test)]
    /// The snapshot grids merged over the whole run.
    pub fn total(&self) -> Option<Grid> {
        let st = self.lock();
        let p = st.prepared.as_ref()?;
        let mut t = p.layout.grid();
        t.merge(&st.total);
        for g in &st.slots[st.written as usize..] {
            t.merge(g);
        }
        Some(t)
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

impl State {
    /// Adds `grid` into snapshot `k`'s slot (dropped when the snapshot is declared
    /// missing) and clears it.
    fn add(&mut self, k: u32, grid: &mut Grid) {
        let Some(p) = &self.prepared else { return };
        let i = (k.max(1) as usize - 1).min(self.slots.len() - 1);
        if self.first_seen[i].is_none() {
            self.first_seen[i] = Some(p.start.elapsed().as_secs_f64());
        }
        if i as u32 >= self.missing && i as u32 >= self.written {
            self.slots[i].merge(grid);
        }
        grid.clear();
    }

    /// Writes snapshots `written + 1..=upto` to the file and adds them to the total.
    fn write_through(&mut self, upto: u32, obs: &dyn Observer) {
        if upto <= self.written {
            return;
        }
        let Some(p) = &self.prepared else { return };
        let mut out = Vec::new();
        for k in self.written + 1..=upto {
            let i = k as usize - 1;
            let g = std::mem::take(&mut self.slots[i]);
            p.snapshot_records(i, &g, self.first_seen[i], &mut out);
            self.total.merge(&g);
        }
        self.written = upto;
        self.append(&out, obs);
    }

    /// Appends `records` to the file, warning once if the write fails.
    fn append(&mut self, records: &[Record], obs: &dyn Observer) {
        let Some(s) = &mut self.stream else { return };
        if let Some(cause) = s.append(records) {
            obs.warning(&format!(
                "warning: cannot write stats file {}: {cause}; training goes on and the \
                 vectors will be written, but the statistics stop here",
                s.path().display()
            ));
        }
    }
}

impl SavedTelemetry {
    /// Refuses a saved state that does not fit this run's snapshots, bands, depths or
    /// threads.
    fn check(&self, p: &Prepared, marks: &[u32], ck: &Path) -> Result<()> {
        let (nb, nd, ns) = (p.layout.bands.len(), p.layout.n_depths, p.schedule.len());
        let fits = |g: &Grid| g.n_depths() == nd && g.cells.len() == nb * nd && g.bands.len() == nb;
        let ok = self.n_snapshots == ns
            && self.n_bands == nb
            && self.n_depths == nd
            && self.written <= ns
            && self.missing <= ns
            && self.marks.len() == marks.len()
            && self.probes.len() == marks.len()
            && self.first_seen.len() == ns as usize
            && fits(&self.total)
            && self
                .open
                .iter()
                .all(|(i, g)| *i < ns as usize && *i >= self.written as usize && fits(g))
            && self.probes.iter().all(|q| fits(&q.grid));
        if ok {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "checkpoint {} recorded telemetry with other settings ({} snapshots, {} bands, \
                 {} depths, {} threads); resume with the same --stats-every, \
                 --stats-band-base and --threads",
                ck.display(),
                self.n_snapshots,
                self.n_bands,
                self.n_depths,
                self.marks.len()
            )))
        }
    }
}

/// Columns of the `--word-stats` file.
pub const WORD_STATS_COLUMNS: &str = "id\tword\tcount\tband\tcode_length\tinput_updates\tinput_sampled\tinput_step_norm_sum\ttarget_examples\tfinal_norm";

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
