//! Study specs: the TOML file `huffvec study --spec FILE` runs (format in docs/study.md).
//!
//! A spec names the corpus, the seeds every arm is trained with, the options every arm
//! shares and the arms themselves, the first being the reference. Unknown keys and bad
//! values are refused with the line they are on. Relative paths are taken from the spec
//! file's directory. [`Study`] is the resolved form: absolute paths, a list of seeds, every
//! default filled in; it is what `study.lock.json` records and what a replay trains from.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{Error, Result};

/// Train options an arm may not set: every run of a study shares them, or the study sets
/// them itself (seed, outputs, telemetry).
pub const SHARED_OPTIONS: &[&str] = &[
    "--input",
    "-i",
    "--output",
    "-o",
    "--seed",
    "--epochs",
    "--threads",
    "--cache-dir",
    "--save-vocab",
    "--quiet",
    "-q",
    "--stats",
    "--stats-every",
    "--stats-sample",
    "--stats-band-base",
    "--word-stats",
];

/// Default learning-rate multipliers an `lr_match` arm chooses from.
pub const DEFAULT_LR_GRID: [f64; 3] = [0.5, 1.0, 2.0];

/// Probes planted into the corpus before training (`[plant]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantSpec {
    /// Occurrences per probe.
    #[serde(default = "default_levels")]
    pub levels: Vec<u64>,
    /// Parents at most: fewer when the corpus has fewer eligible words.
    #[serde(default = "default_parents")]
    pub parents: usize,
    /// Fraction of parents in the dev split (learning-rate matching scores on it).
    #[serde(default = "default_dev_fraction")]
    pub dev_fraction: f64,
    /// Fraction of lines held out for the held-out loss (0 = none).
    #[serde(default)]
    pub holdout: f64,
    /// Seed of the planting.
    #[serde(default = "default_plant_seed")]
    pub seed: u64,
}

fn default_levels() -> Vec<u64> {
    crate::corpus::plant::DEFAULT_LEVELS.to_vec()
}
fn default_parents() -> usize {
    crate::corpus::plant::DEFAULT_PARENTS
}
fn default_dev_fraction() -> f64 {
    crate::corpus::plant::DEFAULT_DEV_FRACTION
}
fn default_plant_seed() -> u64 {
    1
}

/// How the study records training statistics (`[stats]`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsSpec {
    /// Fraction of tree-path walks whose magnitudes are recorded.
    #[serde(default = "default_stats_sample")]
    pub sample: f64,
    /// Snapshot interval in percent of training.
    #[serde(default = "default_stats_every")]
    pub every: f64,
}

fn default_stats_sample() -> f64 {
    0.1
}
fn default_stats_every() -> f64 {
    10.0
}

impl Default for StatsSpec {
    fn default() -> Self {
        StatsSpec {
            sample: default_stats_sample(),
            every: default_stats_every(),
        }
    }
}

/// One arm: a name and the train options it adds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Short name (letters, digits, `-`, `_`, `.`), unique in the study.
    pub name: String,
    /// Options added after the study's `train`.
    pub train: Vec<String>,
    /// Whether its learning rate is chosen on the dev probes.
    pub lr_match: bool,
}

/// A resolved study: what every run is trained and scored with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// Title.
    pub name: String,
    /// The corpus as given (before planting).
    pub corpus: PathBuf,
    /// Seeds every arm is trained with, shared by the arms.
    pub seeds: Vec<u64>,
    /// Worker threads per run.
    pub threads: usize,
    /// Epochs per run.
    pub epochs: u32,
    /// Train options of every arm.
    pub train: Vec<String>,
    /// Evaluation sets: `questions-words*.txt` analogies, other `*.txt` similarity pairs.
    pub eval_dir: PathBuf,
    /// Analogies consider only this many most frequent words.
    pub restrict: usize,
    /// A probe table to score (`huffvec plant --probes`), when the corpus is planted
    /// already.
    pub probes: Option<PathBuf>,
    /// Held-out text to measure a held-out loss on.
    pub heldout: Option<PathBuf>,
    /// Probes to plant into the corpus first.
    pub plant: Option<PlantSpec>,
    /// Lower edges of the frequency bands; `None`: decades from the minimum count.
    pub bands: Option<Vec<u64>>,
    /// Learning-rate multipliers an `lr_match` arm chooses from.
    pub lr_grid: Vec<f64>,
    /// Telemetry settings; `None` trains without telemetry.
    pub stats: Option<StatsSpec>,
    /// The arms, reference first.
    pub arms: Vec<Arm>,
}

/// Seeds as a count (1, 2, ..., n) or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum SeedsFile {
    Count(u64),
    List(Vec<u64>),
}

/// Options as one string split at whitespace, or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum ArgsFile {
    Line(String),
    List(Vec<String>),
}

impl ArgsFile {
    fn into_vec(self) -> Vec<String> {
        match self {
            ArgsFile::Line(s) => s.split_whitespace().map(String::from).collect(),
            ArgsFile::List(v) => v,
        }
    }
}

/// `stats = false` or a `[stats]` table.
#[derive(Deserialize)]
#[serde(untagged)]
enum StatsFile {
    Off(bool),
    On(StatsSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmFile {
    name: Spanned<String>,
    train: Option<Spanned<ArgsFile>>,
    lr_match: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    name: Option<String>,
    corpus: Option<Spanned<String>>,
    seeds: Option<Spanned<SeedsFile>>,
    threads: Option<Spanned<usize>>,
    epochs: Option<Spanned<u32>>,
    train: Option<Spanned<ArgsFile>>,
    eval_dir: Option<Spanned<String>>,
    restrict: Option<Spanned<usize>>,
    probes: Option<Spanned<String>>,
    heldout: Option<Spanned<String>>,
    plant: Option<Spanned<PlantSpec>>,
    bands: Option<Spanned<Vec<u64>>>,
    lr_match: Option<bool>,
    lr_grid: Option<Spanned<Vec<f64>>>,
    stats: Option<Spanned<StatsFile>>,
    arm: Option<Vec<ArmFile>>,
}

/// Where each arm's options (and the shared ones) stand in the spec file, so that a bad
/// option found later is reported on its line.
#[derive(Clone, Debug, Default)]
pub struct SpecLines {
    /// The spec file.
    pub path: PathBuf,
    /// Line of `train`, if given.
    pub train: Option<usize>,
    /// Line of each arm's `train` (or its name).
    pub arms: Vec<usize>,
}

impl SpecLines {
    /// An error about line `line` of the spec.
    pub fn error(&self, line: Option<usize>, msg: impl std::fmt::Display) -> Error {
        spec_error(&self.path, line, msg)
    }
}

fn spec_error(path: &Path, line: Option<usize>, msg: impl std::fmt::Display) -> Error {
    Error::Format {
        path: path.into(),
        at: line.map_or("spec".into(), |l| format!("line {l}")),
        reason: msg.to_string(),
    }
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Seeds given as a count start at 1.
const FIRST_SEED: u64 = 1;

/// The spec being resolved: its path (for errors and relative paths) and text (for lines).
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Cx<'_> {
    /// The line of a span.
    fn at(&self, span: Range<usize>) -> Option<usize> {
        Some(line_of(self.text, span.start))
    }

    /// An error on the line of `span`.
    fn bad(&self, span: Range<usize>, msg: impl std::fmt::Display) -> Error {
        spec_error(self.path, self.at(span), msg)
    }

    /// A path of the spec, taken from the spec's directory.
    fn rel(&self, s: &Spanned<String>) -> Result<PathBuf> {
        if s.get_ref().is_empty() {
            return Err(self.bad(s.span(), "a path may not be empty"));
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        Ok(absolute(&base.join(s.get_ref())))
    }

    /// A count that must be at least 1, or `default`.
    fn at_least_one<T: Copy + PartialEq + Default>(
        &self,
        v: Option<Spanned<T>>,
        key: &str,
        default: T,
    ) -> Result<T> {
        match v {
            Some(x) if *x.get_ref() == T::default() => {
                Err(self.bad(x.span(), format!("{key} must be at least 1")))
            }
            Some(x) => Ok(x.into_inner()),
            None => Ok(default),
        }
    }

    fn seeds(&self, seeds: Option<Spanned<SeedsFile>>) -> Result<Vec<u64>> {
        let Some(s) = seeds else {
            return Ok(vec![FIRST_SEED]);
        };
        let span = s.span();
        let seeds = match s.into_inner() {
            SeedsFile::Count(n) if (1..=1000).contains(&n) => {
                (FIRST_SEED..FIRST_SEED + n).collect()
            }
            SeedsFile::Count(n) => {
                return Err(self.bad(span, format!("seeds = {n}: give 1 to 1000 seeds")))
            }
            SeedsFile::List(v) => v,
        };
        let mut sorted = seeds.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if seeds.is_empty() || sorted.len() != seeds.len() {
            return Err(self.bad(span, "seeds must be distinct, and at least one"));
        }
        Ok(seeds)
    }

    fn plant(
        &self,
        plant: Option<Spanned<PlantSpec>>,
        probes: bool,
        heldout: bool,
    ) -> Result<Option<PlantSpec>> {
        let Some(p) = plant else {
            return Ok(None);
        };
        let span = p.span();
        let p = p.into_inner();
        if probes {
            return Err(self.bad(
                span,
                "give either `probes` (a planted corpus's table) or [plant], not both",
            ));
        }
        if heldout && p.holdout > 0.0 {
            return Err(self.bad(span, "give either `heldout` or [plant] holdout, not both"));
        }
        plant_settings(&p)
            .validate()
            .map_err(|e| self.bad(span, format!("[plant]: {e}")))?;
        Ok(Some(p))
    }

    fn bands(&self, bands: Option<Spanned<Vec<u64>>>) -> Result<Option<Vec<u64>>> {
        let Some(b) = bands else {
            return Ok(None);
        };
        let span = b.span();
        let edges = b.into_inner();
        crate::bands::Bands::from_edges(&edges)
            .map_err(|e| self.bad(span, format!("bands: {e}")))?;
        Ok(Some(edges))
    }

    fn lr_grid(&self, grid: Option<Spanned<Vec<f64>>>) -> Result<Vec<f64>> {
        let Some(g) = grid else {
            return Ok(DEFAULT_LR_GRID.to_vec());
        };
        let span = g.span();
        let g = g.into_inner();
        if g.is_empty() || g.iter().any(|&m| !(m.is_finite() && m > 0.0)) {
            return Err(self.bad(span, "lr_grid must list positive learning-rate multipliers"));
        }
        Ok(g)
    }

    fn stats(&self, stats: Option<Spanned<StatsFile>>) -> Result<Option<StatsSpec>> {
        let Some(s) = stats else {
            return Ok(Some(StatsSpec::default()));
        };
        let span = s.span();
        match s.into_inner() {
            StatsFile::Off(false) => Ok(None),
            StatsFile::Off(true) => Ok(Some(StatsSpec::default())),
            StatsFile::On(st) => {
                let ok = st.sample > 0.0 && st.sample <= 1.0 && st.every > 0.0 && st.every <= 100.0;
                if !ok {
                    return Err(self.bad(
                        span,
                        "stats: sample must be in (0, 1] and every in (0, 100]",
                    ));
                }
                Ok(Some(st))
            }
        }
    }

    /// The arms, recording each one's line in `lines`.
    fn arms(
        &self,
        arms: Option<Vec<ArmFile>>,
        study_lr: bool,
        lines: &mut SpecLines,
    ) -> Result<Vec<Arm>> {
        let mut out: Vec<Arm> = Vec::new();
        for a in arms.unwrap_or_default() {
            let name_line = self.at(a.name.span());
            let name = a.name.into_inner();
            let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
            if name.is_empty() || name.len() > 64 || !name.chars().all(ok_char) {
                return Err(spec_error(
                    self.path,
                    name_line,
                    format!("arm name '{name}' must be 1-64 letters, digits, '-', '_' or '.'"),
                ));
            }
            if out.iter().any(|x| x.name == name) {
                return Err(spec_error(
                    self.path,
                    name_line,
                    format!("arm name '{name}' is used twice"),
                ));
            }
            let (line, train) = match a.train {
                Some(t) => (self.at(t.span()), t.into_inner().into_vec()),
                None => (name_line, Vec::new()),
            };
            check_args(&train)
                .map_err(|m| spec_error(self.path, line, format!("arm '{name}': {m}")))?;
            lines.arms.push(line.unwrap_or(0));
            out.push(Arm {
                name,
                train,
                lr_match: a.lr_match.unwrap_or(study_lr),
            });
        }
        if out.is_empty() {
            return Err(spec_error(
                self.path,
                None,
                "a study needs at least one [[arm]] (the first is the reference)",
            ));
        }
        Ok(out)
    }
}

impl Study {
    /// Reads and resolves the spec at `path`; `corpus` (from the command line) replaces the
    /// spec's corpus.
    pub fn load(path: &Path, corpus: Option<&Path>) -> Result<(Study, SpecLines)> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read study spec", path, e))?;
        Study::parse(path, &text, corpus)
    }

    /// Resolves spec `text`, read from `path` (relative paths are taken from its directory).
    pub fn parse(path: &Path, text: &str, corpus: Option<&Path>) -> Result<(Study, SpecLines)> {
        let file: SpecFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            spec_error(path, line, e.message().trim_end())
        })?;
        let cx = Cx { path, text };
        let corpus = match (corpus, &file.corpus) {
            (Some(c), _) => absolute(c),
            (None, Some(c)) => cx.rel(c)?,
            (None, None) => {
                return Err(spec_error(
                    path,
                    None,
                    "no corpus: set `corpus = \"FILE\"` or pass --input FILE",
                ))
            }
        };
        let mut lines = SpecLines {
            path: path.into(),
            ..SpecLines::default()
        };
        let train = match file.train {
            Some(t) => {
                lines.train = cx.at(t.span());
                let v = t.into_inner().into_vec();
                check_args(&v).map_err(|m| spec_error(path, lines.train, format!("train: {m}")))?;
                v
            }
            None => Vec::new(),
        };
        let probes = file.probes.as_ref().map(|p| cx.rel(p)).transpose()?;
        let heldout = file.heldout.as_ref().map(|p| cx.rel(p)).transpose()?;
        let study = Study {
            name: file.name.unwrap_or_else(|| {
                path.file_stem()
                    .map_or("study".into(), |s| s.to_string_lossy().into_owned())
            }),
            corpus,
            seeds: cx.seeds(file.seeds)?,
            threads: cx.at_least_one(file.threads, "threads", 1)?,
            epochs: cx.at_least_one(file.epochs, "epochs", 5)?,
            train,
            eval_dir: match &file.eval_dir {
                Some(d) => cx.rel(d)?,
                None => crate::config::bundled_eval_dir()?,
            },
            restrict: cx.at_least_one(file.restrict, "restrict", 30_000)?,
            plant: cx.plant(file.plant, probes.is_some(), heldout.is_some())?,
            probes,
            heldout,
            bands: cx.bands(file.bands)?,
            lr_grid: cx.lr_grid(file.lr_grid)?,
            stats: cx.stats(file.stats)?,
            arms: cx.arms(file.arm, file.lr_match.unwrap_or(false), &mut lines)?,
        };
        if study.arms.iter().any(|a| a.lr_match) && study.probes.is_none() && study.plant.is_none()
        {
            return Err(spec_error(
                path,
                None,
                "lr_match needs dev probes: add [plant] or `probes = \"FILE\"`",
            ));
        }
        Ok((study, lines))
    }

    /// The arm named `name`.
    pub fn arm(&self, name: &str) -> Result<&Arm> {
        self.arms.iter().find(|a| a.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.arms.iter().map(|a| a.name.as_str()).collect();
            Error::Config(format!(
                "the study has no arm '{name}' (arms: {})",
                names.join(", ")
            ))
        })
    }
}

/// The planting settings of `p`, up to its number of parents.
pub fn plant_settings(p: &PlantSpec) -> crate::corpus::plant::PlantSettings {
    crate::corpus::plant::PlantSettings {
        levels: p.levels.clone(),
        parents: p.parents,
        dev_fraction: p.dev_fraction,
        seed: p.seed,
        holdout: p.holdout,
        up_to: true,
    }
}

/// `p` made absolute against the working directory (kept as is when that fails), with
/// `.` and `..` folded away.
fn absolute(p: &Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Refuses options that the study shares or sets itself.
pub fn check_args(args: &[String]) -> std::result::Result<(), String> {
    for a in args {
        let flag = a.split('=').next().unwrap_or(a);
        if SHARED_OPTIONS.contains(&flag) {
            return Err(format!(
                "{flag} is shared by the whole study or set by it; give it at the spec's top \
                 level (seeds, threads, epochs) or leave it out"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Study> {
        Study::parse(Path::new("/spec/s.toml"), text, None).map(|(s, _)| s)
    }

    fn err(text: &str) -> String {
        parse(text).expect_err("refused").to_string()
    }

    const MIN: &str = "corpus = \"c.txt\"\n[[arm]]\nname = \"ref\"\n";

    #[test]
    fn defaults_fill_a_minimal_spec() {
        let s = parse(MIN).expect("spec");
        assert_eq!(s.corpus, PathBuf::from("/spec/c.txt"));
        assert_eq!((s.seeds.clone(), s.threads, s.epochs), (vec![1], 1, 5));
        assert_eq!(s.stats, Some(StatsSpec::default()));
        assert_eq!(s.lr_grid, DEFAULT_LR_GRID.to_vec());
        assert_eq!(s.arms.len(), 1);
        assert!(!s.arms[0].lr_match);
        assert_eq!(s.name, "s");
    }

    #[test]
    fn full_spec_resolves_every_key() {
        let s = parse(
            "name = \"x\"\ncorpus = \"../c.txt\"\nseeds = 3\nthreads = 2\nepochs = 1\n\
             train = \"--dim 20\"\nrestrict = 100\nbands = [5, 50]\nlr_match = true\n\
             lr_grid = [0.5, 1.0]\nstats = false\n[plant]\nlevels = [2, 5]\nparents = 10\n\
             holdout = 0.1\n[[arm]]\nname = \"a\"\n[[arm]]\nname = \"b\"\n\
             train = [\"--tree\", \"balanced\"]\nlr_match = false\n",
        )
        .expect("spec");
        assert_eq!(s.corpus, PathBuf::from("/c.txt"));
        assert_eq!(s.seeds, vec![1, 2, 3]);
        assert_eq!((s.threads, s.epochs, s.restrict), (2, 1, 100));
        assert_eq!(s.train, vec!["--dim", "20"]);
        assert_eq!(s.bands, Some(vec![5, 50]));
        assert_eq!(s.stats, None);
        let p = s.plant.expect("plant");
        assert_eq!((p.levels, p.parents, p.holdout), (vec![2, 5], 10, 0.1));
        assert!(s.arms[0].lr_match && !s.arms[1].lr_match);
        assert_eq!(s.arms[1].train, vec!["--tree", "balanced"]);
    }

    #[test]
    fn errors_name_their_line() {
        let e = err("corpus = \"c.txt\"\nepochs = 2\nbogus = 1\n[[arm]]\nname = \"r\"\n");
        assert!(e.contains("line 3") && e.contains("bogus"), "{e}");
        let e = err("corpus = \"c.txt\"\nepochs = \"five\"\n[[arm]]\nname = \"r\"\n");
        assert!(e.contains("line 2"), "{e}");
        let e = err("corpus = \"c.txt\"\n[[arm]]\nname = \"r\"\n[[arm]]\nname = \"r\"\n");
        assert!(e.contains("line 5") && e.contains("twice"), "{e}");
        let e = err("corpus = \"c.txt\"\n[[arm]]\nname = \"r\"\ntrain = \"--seed 3\"\n");
        assert!(e.contains("line 4") && e.contains("--seed"), "{e}");
        let e = err("corpus = \"c.txt\"\nseeds = [1, 1]\n[[arm]]\nname = \"r\"\n");
        assert!(e.contains("line 2") && e.contains("distinct"), "{e}");
        let e = err("corpus = \"c.txt\"\n[[arm]]\nname = \"x\"\nlr_match = true\n");
        assert!(e.contains("dev probes"), "{e}");
        let e = err("corpus = \"c.txt\"\n\n[plant]\nlevels = []\n[[arm]]\nname = \"r\"\n");
        assert!(e.contains("line 3") && e.contains("levels"), "{e}");
        assert!(err("corpus = \"c.txt\"\n").contains("[[arm]]"));
        assert!(err("[[arm]]\nname = \"r\"\n").contains("--input"));
    }

    #[test]
    fn command_line_corpus_replaces_the_specs() {
        let (s, _) = Study::parse(Path::new("/spec/s.toml"), MIN, Some(Path::new("/d/x.txt")))
            .expect("spec");
        assert_eq!(s.corpus, PathBuf::from("/d/x.txt"));
    }
}
