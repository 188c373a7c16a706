//! Probe evaluation (`huffvec eval --probes PROBES.tsv`): how well rare words planted at a
//! known frequency (see [`crate::corpus::plant`]) find their parent.
//!
//! For each probe whose word and parent both have vectors, over the whole vocabulary:
//! * `cos`: cosine of probe and parent;
//! * reciprocal rank of the parent among the probe's nearest neighbours by cosine, the probe
//!   itself and the other probes of the same parent excluded (ties: the lower id first, as
//!   in [`Embeddings::top_k`]);
//! * `recall@10`: whether the parent is among those 10 nearest.
//!
//! Each is averaged over the probes of a level and split, with a 95% percentile bootstrap
//! interval over probes ([`BOOTSTRAP_RESAMPLES`] resamples from a fixed seed, so the same
//! vectors give the same intervals).

use std::path::Path;

use hashbrown::HashMap;
use rayon::prelude::*;
use serde::Serialize;

use super::Embeddings;
use crate::error::{Error, Result};
use crate::kernel;
use crate::sampler::Rng;

/// Bootstrap resamples per interval.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// Seed of the bootstrap resampling.
pub const BOOTSTRAP_SEED: u64 = 28;

/// Rank cut-off of the recall figure.
pub const RECALL_AT: usize = 10;

/// Probes scored per matrix product.
const BATCH: usize = 64;

/// One row of a probe table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEntry {
    /// The probe word.
    pub probe: Box<[u8]>,
    /// The word it stands for.
    pub parent: Box<[u8]>,
    /// Occurrences planted.
    pub level: u64,
    /// `dev` or `test` (any label is kept as written).
    pub split: String,
}

/// A probe table as `huffvec plant` writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeSet {
    /// The rows, in file order.
    pub entries: Vec<ProbeEntry>,
}

impl ProbeSet {
    /// Reads a `PROBES.tsv`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::io("cannot read probe table", path, e))?;
        Self::parse(path, &bytes)
    }

    /// Parses a probe table: a header naming at least the columns `probe`, `parent`,
    /// `level` and `split` (in any order), then one tab-separated row per probe.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let mut lines = bytes
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .enumerate();
        let header: Vec<&[u8]> = match lines.next() {
            Some((_, h)) => h.split(|&b| b == b'\t').collect(),
            None => Vec::new(),
        };
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name.as_bytes())
                .ok_or_else(|| {
                    Error::at_line(
                        path,
                        1,
                        format!(
                            "the header has no '{name}' column; expected a PROBES.tsv from \
                             `huffvec plant` (probe, parent, level, split)"
                        ),
                    )
                })
        };
        let (c_probe, c_parent, c_level, c_split) =
            (col("probe")?, col("parent")?, col("level")?, col("split")?);
        let width = c_probe.max(c_parent).max(c_level).max(c_split) + 1;
        let mut entries = Vec::new();
        for (n, line) in lines {
            if line.is_empty() {
                continue;
            }
            let f: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
            if f.len() < width {
                return Err(Error::at_line(
                    path,
                    n + 1,
                    format!(
                        "expected at least {width} tab-separated fields, found {}",
                        f.len()
                    ),
                ));
            }
            let level = std::str::from_utf8(f[c_level])
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Error::at_line(path, n + 1, "level is not a whole number"))?;
            if f[c_probe].is_empty() || f[c_parent].is_empty() {
                return Err(Error::at_line(path, n + 1, "empty probe or parent"));
            }
            entries.push(ProbeEntry {
                probe: f[c_probe].into(),
                parent: f[c_parent].into(),
                level,
                split: String::from_utf8_lossy(f[c_split]).into_owned(),
            });
        }
        Ok(ProbeSet { entries })
    }
}

/// A mean with its 95% bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// The mean over probes.
    pub mean: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

/// The figures of one level and split.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelResult {
    /// Occurrences planted.
    pub level: u64,
    /// `dev` or `test`.
    pub split: String,
    /// Probes listed in the table.
    pub listed: usize,
    /// Probes scored (probe and parent both have vectors).
    pub n: usize,
    /// Mean reciprocal rank of the parent (`None` when no probe was scored).
    pub mrr: Option<Estimate>,
    /// Mean cosine of probe and parent.
    pub cos: Option<Estimate>,
    /// Fraction of probes with the parent among their [`RECALL_AT`] nearest words.
    pub recall10: Option<Estimate>,
    /// Median rank of the parent.
    pub median_rank: Option<f64>,
}

/// What one probe scored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeScore {
    /// Index of the probe in the table.
    pub entry: usize,
    /// Cosine of probe and parent.
    pub cos: f64,
    /// 1-based rank of the parent among the probe's neighbours.
    pub rank: usize,
}

/// Scores every probe of `set` whose word and parent are in `emb`.
pub fn score(emb: &Embeddings, set: &ProbeSet) -> Vec<ProbeScore> {
    let mut siblings: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for e in &set.entries {
        if let Some(id) = emb.id(&e.probe) {
            siblings.entry(&e.parent[..]).or_default().push(id);
        }
    }
    let present: Vec<(usize, usize, usize)> = set
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, emb.id(&e.probe)?, emb.id(&e.parent)?)))
        .collect();
    let dim = emb.dim();
    let all = emb.rows(emb.len());
    present
        .par_chunks(BATCH)
        .flat_map_iter(|batch| {
            let queries: Vec<f32> = batch
                .iter()
                .flat_map(|&(_, p, _)| emb.row(p).iter().copied())
                .collect();
            let mut scores = vec![0.0f32; batch.len() * emb.len()];
            if dim > 0 {
                kernel::matmul_transposed(&queries, all, &mut scores, dim);
            }
            let out: Vec<ProbeScore> = batch
                .iter()
                .zip(scores.chunks(emb.len().max(1)))
                .map(|(&(entry, probe, parent), row)| {
                    let skip = &siblings[&set.entries[entry].parent[..]];
                    let target = row[parent];
                    let above = row
                        .iter()
                        .enumerate()
                        .filter(|&(j, &s)| {
                            j != parent
                                && (s > target || (s == target && j < parent))
                                && j != probe
                                && !skip.contains(&j)
                        })
                        .count();
                    let cos = emb.cosine(probe, parent);
                    ProbeScore {
                        entry,
                        cos,
                        rank: above + 1,
                    }
                })
                .collect();
            out
        })
        .collect()
}

/// The mean of `xs` with its 95% percentile bootstrap interval, resampled from `rng`.
pub fn bootstrap(xs: &[f64], rng: &mut Rng) -> Option<Estimate> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let s: f64 = (0..n)
                .map(|_| xs[((rng.next_u64() as u128 * n as u128) >> 64) as usize])
                .sum();
            s / n as f64
        })
        .collect();
    means.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| means[((q * BOOTSTRAP_RESAMPLES as f64) as usize).min(means.len() - 1)];
    Some(Estimate {
        mean,
        lo: at(0.025),
        hi: at(0.975),
    })
}

/// Scores `set` against `emb` and summarises per level and split (levels ascending; within
/// a level, splits in name order).
pub fn evaluate(emb: &Embeddings, set: &ProbeSet) -> Vec<LevelResult> {
    let scores = score(emb, set);
    let mut groups: Vec<(u64, &str)> = set
        .entries
        .iter()
        .map(|e| (e.level, e.split.as_str()))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
        .iter()
        .enumerate()
        .map(|(g, &(level, split))| {
            let in_group =
                |i: usize| set.entries[i].level == level && set.entries[i].split == split;
            let listed = (0..set.entries.len()).filter(|&i| in_group(i)).count();
            let mine: Vec<&ProbeScore> = scores.iter().filter(|s| in_group(s.entry)).collect();
            let rr: Vec<f64> = mine.iter().map(|s| 1.0 / s.rank as f64).collect();
            let cos: Vec<f64> = mine.iter().map(|s| s.cos).collect();
            let hit: Vec<f64> = mine
                .iter()
                .map(|s| if s.rank <= RECALL_AT { 1.0 } else { 0.0 })
                .collect();
            let mut ranks: Vec<usize> = mine.iter().map(|s| s.rank).collect();
            ranks.sort_unstable();
            let median_rank = match ranks.len() {
                0 => None,
                n if n % 2 == 1 => Some(ranks[n / 2] as f64),
                n => Some((ranks[n / 2 - 1] + ranks[n / 2]) as f64 / 2.0),
            };
            let stream = |k: u64| Rng::new(BOOTSTRAP_SEED, 3 * g as u64 + k);
            LevelResult {
                level,
                split: split.to_string(),
                listed,
                n: mine.len(),
                mrr: bootstrap(&rr, &mut stream(0)),
                cos: bootstrap(&cos, &mut stream(1)),
                recall10: bootstrap(&hit, &mut stream(2)),
                median_rank,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::embeddings;

    fn set(rows: &[(&str, &str, u64, &str)]) -> ProbeSet {
        ProbeSet {
            entries: rows
                .iter()
                .map(|(p, q, l, s)| ProbeEntry {
                    probe: p.as_bytes().into(),
                    parent: q.as_bytes().into(),
                    level: *l,
                    split: s.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn ranks_exclude_the_probe_and_its_siblings() {
        let e = embeddings(&[
            ("cat", &[1.0, 0.0]),
            ("dog", &[0.9, 0.3]),
            ("cat__2", &[0.8, 0.6]),
            ("cat__5", &[0.85, 0.5]),
            ("far", &[-1.0, 0.0]),
        ]);
        let s = set(&[
            ("cat__2", "cat", 2, "test"),
            ("cat__5", "cat", 5, "test"),
            ("cat__9", "cat", 9, "test"),
        ]);
        let scores = score(&e, &s);
        assert_eq!(scores.len(), 2, "cat__9 has no vector");
        // From cat__2 = (0.8, 0.6): dog (cos 0.95) beats cat (0.8); cat__5 is a sibling.
        assert_eq!(scores[0].rank, 2);
        assert!((scores[0].cos - 0.8).abs() < 1e-6);
        let r = evaluate(&e, &s);
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].level, r[0].n, r[0].listed), (2, 1, 1));
        assert_eq!(r[0].mrr.expect("scored").mean, 0.5);
        assert_eq!(r[0].recall10.expect("scored").mean, 1.0);
        assert_eq!((r[2].level, r[2].n, r[2].mrr), (9, 0, None));
    }

    #[test]
    fn bootstrap_intervals_hold_the_mean_and_repeat() {
        let xs: Vec<f64> = (0..200).map(|i| (i % 10) as f64 / 10.0).collect();
        let a = bootstrap(&xs, &mut Rng::new(1, 0)).expect("data");
        let b = bootstrap(&xs, &mut Rng::new(1, 0)).expect("data");
        assert_eq!(a, b);
        assert!((a.mean - 0.45).abs() < 1e-12);
        assert!(a.lo < a.mean && a.mean < a.hi, "{a:?}");
        // Standard error of the mean: 0.287 / sqrt(200) = 0.0203; 95%: about +-0.04.
        assert!((a.hi - a.lo) > 0.06 && (a.hi - a.lo) < 0.10, "{a:?}");
        let same = bootstrap(&[0.3; 5], &mut Rng::new(1, 0)).expect("data");
        assert_eq!((same.lo, same.hi), (0.3, 0.3));
        assert_eq!(bootstrap(&[], &mut Rng::new(1, 0)), None);
    }

    #[test]
    fn probe_tables_need_their_columns() {
        let p = Path::new("p.tsv");
        let ok = ProbeSet::parse(
            p,
            b"probe\tparent\tlevel\tplanted\tsplit\na__2\ta\t2\t2\tdev\n",
        )
        .expect("parses");
        assert_eq!(ok.entries[0].split, "dev");
        assert_eq!(ok.entries[0].level, 2);
        let e = ProbeSet::parse(p, b"word\n").unwrap_err().to_string();
        assert!(
            e.starts_with("p.tsv: line 1: the header has no 'probe' column"),
            "{e}"
        );
        let e = ProbeSet::parse(p, b"probe\tparent\tlevel\tsplit\na\tb\tx\ttest\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "p.tsv: line 2: level is not a whole number");
    }
}
