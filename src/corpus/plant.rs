//! Frequency-controlled probes (`huffvec plant`): rare words with a known right answer.
//!
//! A *parent* is a frequent content word. For each level `k` (2, 5, 10, ... by default),
//! exactly `k` of the parent's occurrences, drawn at random across the corpus, are
//! rewritten to the new token `parent__k`, the *probe*. A probe thus occurs exactly `k`
//! times, in the contexts of its parent, and a good vector for it lies near its parent's.
//! Every other byte of the corpus is left as it was, and each occurrence is rewritten at
//! most once.
//!
//! Which words may be parents (in the training part of the corpus):
//! * not among the [`SKIP_TOP`] most frequent words (the function words: `the`, `of`, ...),
//!   and not `</s>`;
//! * letters only (alphabetic in any script), at least [`MIN_PARENT_CHARS`] of them, so
//!   no numbers, punctuation or abbreviations such as `k` or `cf`;
//! * at least twice `sum(levels)` occurrences, so that after planting at least
//!   `sum(levels)` remain and the parent is still a frequent word;
//! * short enough that `parent__k` is not cut by the tokenizer, and no `parent__k` is a
//!   word of the corpus (held-out lines included).
//!
//! Among these, `parents` are drawn at random; a `dev_fraction` of them (rounded) are
//! *dev* parents, the rest *test*: the split is by parent, so dev and test never share one.
//!
//! With `holdout > 0`, each line (sentence) is held out with that probability, drawn in
//! order from the seed: held-out lines go verbatim to a separate file (text to measure a
//! held-out loss on) and nothing is planted in them. Same seed, same files.

use std::io::{self, Write};
use std::path::Path;

use hashbrown::{HashMap, HashSet};

use super::tokenize::{self, EOS, MAX_WORD_BYTES};
use super::Corpus;
use crate::error::{Error, Result};
use crate::io::OutputSlot;
use crate::sampler::Rng;

/// The levels (occurrences per probe) planted by default.
pub const DEFAULT_LEVELS: [u64; 6] = [2, 5, 10, 20, 50, 100];

/// Parents drawn by default: with a dev fraction of 0.2, 800 test parents, so every level
/// has 800 test probes.
pub const DEFAULT_PARENTS: usize = 1000;

/// Default fraction of parents whose probes form the dev split.
pub const DEFAULT_DEV_FRACTION: f64 = 0.2;

/// The most frequent words never chosen as parents (function words).
pub const SKIP_TOP: usize = 100;

/// Fewest characters of a parent.
pub const MIN_PARENT_CHARS: usize = 3;

/// Random stream for the held-out lines.
const HOLDOUT_STREAM: u64 = 0x686f_6c64;
/// Random stream for choosing and splitting parents.
const PARENT_STREAM: u64 = 0x7061_7265;
/// First random stream for the occurrences of each parent (one stream per parent).
const OCCURRENCE_STREAM: u64 = 0x6f63_6300_0000;

/// What to plant.
#[derive(Clone, Debug, PartialEq)]
pub struct PlantSettings {
    /// Occurrences per probe, one probe per level and parent.
    pub levels: Vec<u64>,
    /// Number of parents.
    pub parents: usize,
    /// Fraction of parents in the dev split, in `[0, 1)`.
    pub dev_fraction: f64,
    /// Random seed.
    pub seed: u64,
    /// Fraction of lines held out, in `[0, 1)` (0 = none).
    pub holdout: f64,
    /// Take every eligible word when fewer than `parents` are (at least one), instead of
    /// refusing the corpus.
    pub up_to: bool,
}

impl Default for PlantSettings {
    fn default() -> Self {
        PlantSettings {
            levels: DEFAULT_LEVELS.to_vec(),
            parents: DEFAULT_PARENTS,
            dev_fraction: DEFAULT_DEV_FRACTION,
            seed: 1,
            holdout: 0.0,
            up_to: false,
        }
    }
}

impl PlantSettings {
    /// Checks every value; the error names the option.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.levels.is_empty() || self.levels.contains(&0) {
            return bad("--levels must list at least one level, each at least 1".into());
        }
        let mut sorted = self.levels.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return bad(format!("--levels repeats a level: {:?}", self.levels));
        }
        if self
            .levels
            .iter()
            .try_fold(0u64, |a, &k| a.checked_add(k))
            .is_none()
        {
            return bad("--levels add up to more than 2^64".into());
        }
        if self.parents == 0 {
            return bad("--parents must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dev_fraction) {
            return bad(format!(
                "--dev-fraction must be in [0, 1), got {}",
                self.dev_fraction
            ));
        }
        if !(0.0..1.0).contains(&self.holdout) {
            return bad(format!("--holdout must be in [0, 1), got {}", self.holdout));
        }
        Ok(())
    }

    /// The levels in ascending order.
    fn sorted_levels(&self) -> Vec<u64> {
        let mut l = self.levels.clone();
        l.sort_unstable();
        l
    }

    fn occurrences_per_parent(&self) -> u64 {
        self.levels.iter().sum()
    }
}

/// Which half of the probes a parent's probes belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// For choosing settings.
    Dev,
    /// For reporting.
    Test,
}

impl Split {
    /// `dev` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }
}

/// One planted probe, a row of `PROBES.tsv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlantedProbe {
    /// The new token, `parent__level`.
    pub probe: Box<[u8]>,
    /// The word it replaced.
    pub parent: Box<[u8]>,
    /// Occurrences asked for.
    pub level: u64,
    /// Occurrences rewritten (always `level`).
    pub planted: u64,
    /// The parent's split.
    pub split: Split,
    /// Occurrences of the parent left in the planted corpus.
    pub parent_count: u64,
}

/// The probe token of `parent` at `level`.
pub fn probe_name(parent: &[u8], level: u64) -> Box<[u8]> {
    let mut p = parent.to_vec();
    p.extend_from_slice(format!("__{level}").as_bytes());
    p.into_boxed_slice()
}

/// A parent and the ordinals (0-based, among the parent's occurrences in the training
/// lines, in corpus order) of the occurrences to rewrite, sorted, each with its level's
/// index.
struct ParentPlan {
    word: Box<[u8]>,
    count: u64,
    split: Split,
    rewrites: Vec<(u64, usize)>,
}

/// The planting decided for one corpus: which lines are held out, which occurrences become
/// which probe.
pub struct Plan {
    settings: PlantSettings,
    levels: Vec<u64>,
    parents: Vec<ParentPlan>,
    /// Parent word -> index in `parents`.
    index: HashMap<Box<[u8]>, usize>,
    /// Words that could have been parents.
    pub eligible: usize,
    /// Word tokens in the training lines.
    pub words: u64,
    /// Lines in the corpus.
    pub lines: u64,
    /// Lines held out.
    pub heldout_lines: u64,
}

/// Calls `f(line, held_out)` for every line of `text` (a line keeps its `\n`; a last line
/// without one counts too), deciding held-out lines in order from `seed`.
fn for_each_line<'t>(text: &'t [u8], holdout: f64, seed: u64, mut f: impl FnMut(&'t [u8], bool)) {
    let mut rng = Rng::new(seed, HOLDOUT_STREAM);
    let threshold = holdout * 2f64.powi(64);
    for line in text.split_inclusive(|&b| b == b'\n') {
        let held = holdout > 0.0 && (rng.next_u64() as f64) < threshold;
        f(line, held);
    }
}

/// Calls `f(start, end)` for every word (maximal run of non-separator bytes) of `line`.
#[inline]
fn for_each_word(line: &[u8], mut f: impl FnMut(usize, usize)) {
    let mut i = 0;
    while i < line.len() {
        if tokenize::is_space(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && !tokenize::is_space(line[i]) {
            i += 1;
        }
        f(start, i);
    }
}

/// The token the tokenizer makes of the run `w` (cut to [`MAX_WORD_BYTES`]).
#[inline]
fn token(w: &[u8]) -> &[u8] {
    &w[..w.len().min(MAX_WORD_BYTES)]
}

/// Letters only (UTF-8, alphabetic in any script), at least [`MIN_PARENT_CHARS`] of them.
fn is_content_word(w: &[u8]) -> bool {
    std::str::from_utf8(w)
        .is_ok_and(|s| s.chars().all(char::is_alphabetic) && s.chars().count() >= MIN_PARENT_CHARS)
}

/// Uniform in `0..n` (n >= 1) by 64-bit multiply-shift.
fn below(rng: &mut Rng, n: u64) -> u64 {
    ((rng.next_u64() as u128 * n as u128) >> 64) as u64
}

impl Plan {
    /// Counts the words of `text` and decides the planting; refuses settings that the
    /// corpus cannot satisfy, with the reason. `path` only names the corpus in errors.
    pub fn new(path: &Path, text: &[u8], settings: &PlantSettings) -> Result<Self> {
        settings.validate()?;
        let levels = settings.sorted_levels();
        let need = settings.occurrences_per_parent();
        let mut counts: HashMap<&[u8], u64> = HashMap::new();
        let mut held_words: HashSet<&[u8]> = HashSet::new();
        let (mut words, mut lines, mut heldout_lines) = (0u64, 0u64, 0u64);
        for_each_line(text, settings.holdout, settings.seed, |line, held| {
            lines += 1;
            heldout_lines += held as u64;
            for_each_word(line, |a, b| {
                let w = token(&line[a..b]);
                if held {
                    held_words.insert(w);
                } else {
                    words += 1;
                    *counts.entry(w).or_insert(0) += 1;
                }
            });
        });
        let mut ranked: Vec<(&[u8], u64)> = counts.iter().map(|(w, c)| (*w, *c)).collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let longest_suffix = format!("__{}", levels.last().copied().unwrap_or(0)).len();
        let collides = |w: &[u8]| {
            levels.iter().any(|&k| {
                let p = probe_name(w, k);
                counts.contains_key(&p[..]) || held_words.contains(&p[..])
            })
        };
        let mut eligible: Vec<(&[u8], u64)> = ranked
            .iter()
            .skip(SKIP_TOP)
            .take_while(|(_, c)| *c >= need.saturating_mul(2))
            .filter(|(w, _)| {
                *w != EOS
                    && w.len() + longest_suffix <= MAX_WORD_BYTES
                    && is_content_word(w)
                    && !collides(w)
            })
            .copied()
            .collect();
        let n_parents = match settings.up_to {
            true => settings.parents.min(eligible.len()).max(1),
            false => settings.parents,
        };
        if eligible.len() < n_parents {
            return Err(Error::Corpus {
                path: path.into(),
                reason: format!(
                    "only {} words can be parents (beyond the {SKIP_TOP} most frequent, \
                     letters only, at least 2 x {need} = {} occurrences in the training lines) \
                     but --parents asks for {}; lower --parents or --levels, or use a larger \
                     corpus",
                    eligible.len(),
                    need.saturating_mul(2),
                    settings.parents
                ),
            });
        }
        let n_eligible = eligible.len();
        let mut rng = Rng::new(settings.seed, PARENT_STREAM);
        for i in 0..n_parents {
            let j = i + below(&mut rng, (eligible.len() - i) as u64) as usize;
            eligible.swap(i, j);
        }
        eligible.truncate(n_parents);
        let n_dev = (n_parents as f64 * settings.dev_fraction).round() as usize;
        let mut chosen: Vec<(&[u8], u64, Split)> = eligible
            .iter()
            .enumerate()
            .map(|(i, (w, c))| (*w, *c, if i < n_dev { Split::Dev } else { Split::Test }))
            .collect();
        chosen.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let parents: Vec<ParentPlan> = chosen
            .iter()
            .enumerate()
            .map(|(i, &(word, count, split))| {
                let mut rng = Rng::new(settings.seed, OCCURRENCE_STREAM + i as u64);
                let drawn = sample_without_replacement(&mut rng, count, need);
                let mut rewrites = Vec::with_capacity(drawn.len());
                let mut at = 0;
                for (li, &k) in levels.iter().enumerate() {
                    rewrites.extend(drawn[at..at + k as usize].iter().map(|&o| (o, li)));
                    at += k as usize;
                }
                rewrites.sort_unstable();
                ParentPlan {
                    word: word.into(),
                    count,
                    split,
                    rewrites,
                }
            })
            .collect();
        let index = parents
            .iter()
            .enumerate()
            .map(|(i, p)| (p.word.clone(), i))
            .collect();
        Ok(Plan {
            settings: settings.clone(),
            levels,
            parents,
            index,
            eligible: n_eligible,
            words,
            lines,
            heldout_lines,
        })
    }

    /// The probes, parent by parent (most frequent parent first), levels ascending.
    pub fn probes(&self) -> Vec<PlantedProbe> {
        let need = self.settings.occurrences_per_parent();
        self.parents
            .iter()
            .flat_map(|p| {
                self.levels.iter().map(move |&k| PlantedProbe {
                    probe: probe_name(&p.word, k),
                    parent: p.word.clone(),
                    level: k,
                    planted: k,
                    split: p.split,
                    parent_count: p.count - need,
                })
            })
            .collect()
    }

    /// Writes the training lines of `text` with the chosen occurrences rewritten.
    pub fn write_planted(&self, text: &[u8], w: &mut impl Write) -> io::Result<()> {
        let mut seen = vec![0u64; self.parents.len()];
        let mut next = vec![0usize; self.parents.len()];
        let names: Vec<Vec<Box<[u8]>>> = self
            .parents
            .iter()
            .map(|p| {
                self.levels
                    .iter()
                    .map(|&k| probe_name(&p.word, k))
                    .collect()
            })
            .collect();
        let mut result = Ok(());
        for_each_line(
            text,
            self.settings.holdout,
            self.settings.seed,
            |line, held| {
                if held || result.is_err() {
                    return;
                }
                let mut copied = 0;
                let mut emit = |w: &mut dyn Write, a: usize, b: usize, name: &[u8]| {
                    w.write_all(&line[copied..a])?;
                    w.write_all(name)?;
                    copied = b;
                    io::Result::Ok(())
                };
                for_each_word(line, |a, b| {
                    if result.is_err() || b - a > MAX_WORD_BYTES {
                        return;
                    }
                    let Some(&p) = self.index.get(&line[a..b]) else {
                        return;
                    };
                    let ordinal = seen[p];
                    seen[p] += 1;
                    let plan = &self.parents[p].rewrites;
                    if let Some(&(o, li)) = plan.get(next[p]) {
                        if o == ordinal {
                            next[p] += 1;
                            result = emit(&mut *w, a, b, &names[p][li]);
                        }
                    }
                });
                if result.is_ok() {
                    result = w.write_all(&line[copied..]);
                }
            },
        );
        result
    }

    /// Writes the held-out lines of `text`, unchanged.
    pub fn write_heldout(&self, text: &[u8], w: &mut impl Write) -> io::Result<()> {
        let mut result = Ok(());
        for_each_line(
            text,
            self.settings.holdout,
            self.settings.seed,
            |line, held| {
                if held && result.is_ok() {
                    result = w.write_all(line);
                }
            },
        );
        result
    }
}

/// `n` distinct values of `0..count` (n <= count) in random order (a partial Fisher-Yates
/// shuffle of the virtual array `0..count`, touching only the swapped slots).
fn sample_without_replacement(rng: &mut Rng, count: u64, n: u64) -> Vec<u64> {
    let mut moved: HashMap<u64, u64> = HashMap::with_capacity(2 * n as usize);
    (0..n.min(count))
        .map(|i| {
            let j = i + below(rng, count - i);
            let at_j = moved.get(&j).copied().unwrap_or(j);
            let at_i = moved.get(&i).copied().unwrap_or(i);
            moved.insert(j, at_i);
            at_j
        })
        .collect()
}

/// Writes `PROBES.tsv`: a header, then `probe parent level planted split parent_count`
/// tab-separated, words byte for byte.
pub fn write_probes(probes: &[PlantedProbe], w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "probe\tparent\tlevel\tplanted\tsplit\tparent_count")?;
    for p in probes {
        w.write_all(&p.probe)?;
        w.write_all(b"\t")?;
        w.write_all(&p.parent)?;
        writeln!(
            w,
            "\t{}\t{}\t{}\t{}",
            p.level,
            p.planted,
            p.split.name(),
            p.parent_count
        )?;
    }
    Ok(())
}

/// The files of one `huffvec plant` run.
pub struct PlantFiles<'a> {
    /// The corpus.
    pub input: &'a Path,
    /// The planted corpus (training lines).
    pub output: &'a Path,
    /// The probe table.
    pub probes: &'a Path,
    /// The held-out lines, when `holdout > 0`.
    pub heldout: Option<&'a Path>,
}

/// Plants probes in `files.input`: every output is reserved first (so a bad path fails
/// before any work) and written atomically; returns the plan.
pub fn plant_files(files: &PlantFiles<'_>, settings: &PlantSettings) -> Result<Plan> {
    settings.validate()?;
    if (settings.holdout > 0.0) != files.heldout.is_some() {
        return Err(Error::Config(
            "--holdout F and --heldout-output FILE go together".into(),
        ));
    }
    let outs: Vec<&Path> = [Some(files.output), Some(files.probes), files.heldout]
        .into_iter()
        .flatten()
        .collect();
    for (i, a) in outs.iter().enumerate() {
        if outs[..i].contains(a) {
            return Err(Error::Config(format!(
                "{} is named as two outputs; give each output its own file",
                a.display()
            )));
        }
    }
    let corpus = Corpus::open(files.input)?;
    let reserve = |p: &Path| OutputSlot::reserve(p, &[files.input]);
    let planted_slot = reserve(files.output)?;
    let probes_slot = reserve(files.probes)?;
    let heldout_slot = files.heldout.map(reserve).transpose()?;
    let text = corpus.bytes();
    let plan = Plan::new(files.input, text, settings)?;
    planted_slot.commit(|w| plan.write_planted(text, w))?;
    if let Some(slot) = heldout_slot {
        slot.commit(|w| plan.write_heldout(text, w))?;
    }
    let probes = plan.probes();
    probes_slot.commit(|w| write_probes(&probes, w))?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::Rng;
    use proptest::prelude::*;

    /// The `i`-th test word: `w` and `i` in letters (`wa`, `wb`, ..., `wba`, ...).
    fn word(i: usize) -> String {
        let mut digits = vec![b'a' + (i % 26) as u8];
        let mut rest = i / 26;
        while rest > 0 {
            digits.push(b'a' + (rest % 26) as u8);
            rest /= 26;
        }
        digits.push(b'w');
        digits.reverse();
        String::from_utf8(digits).expect("ascii")
    }

    /// Words `word(0) .. word(n - 1)`, word `i` occurring `4000 / (i + 1)` times, shuffled
    /// into lines of 7.
    fn corpus(n: usize, seed: u64) -> Vec<u8> {
        let mut tokens = Vec::new();
        for i in 0..n {
            let c = 4000 / (i + 1);
            tokens.extend(std::iter::repeat(word(i)).take(c));
        }
        let mut rng = Rng::new(seed, 9);
        for i in (1..tokens.len()).rev() {
            tokens.swap(i, below(&mut rng, i as u64 + 1) as usize);
        }
        let mut out = Vec::new();
        for (i, t) in tokens.iter().enumerate() {
            out.extend_from_slice(t.as_bytes());
            out.push(if i % 7 == 6 { b'\n' } else { b' ' });
        }
        out
    }

    fn settings(parents: usize, holdout: f64, seed: u64) -> PlantSettings {
        PlantSettings {
            levels: vec![1, 3],
            parents,
            dev_fraction: 0.5,
            seed,
            holdout,
            up_to: false,
        }
    }

    /// `planted` with every probe token turned back into its parent.
    fn unplant(planted: &[u8], probes: &[PlantedProbe]) -> Vec<u8> {
        let back: HashMap<&[u8], &[u8]> = probes
            .iter()
            .map(|p| (&p.probe[..], &p.parent[..]))
            .collect();
        let mut out = Vec::new();
        let mut copied = 0;
        for_each_word(planted, |a, b| {
            if let Some(parent) = back.get(&planted[a..b]) {
                out.extend_from_slice(&planted[copied..a]);
                out.extend_from_slice(parent);
                copied = b;
            }
        });
        out.extend_from_slice(&planted[copied..]);
        out
    }

    fn run(text: &[u8], s: &PlantSettings) -> (Plan, Vec<u8>, Vec<u8>) {
        let plan = Plan::new(Path::new("c"), text, s).expect("a plan");
        let (mut planted, mut held) = (Vec::new(), Vec::new());
        plan.write_planted(text, &mut planted).expect("in memory");
        plan.write_heldout(text, &mut held).expect("in memory");
        (plan, planted, held)
    }

    fn count(text: &[u8], word: &[u8]) -> u64 {
        let mut n = 0;
        for_each_word(text, |a, b| n += (&text[a..b] == word) as u64);
        n
    }

    #[test]
    fn the_function_words_are_never_parents() {
        let text = corpus(400, 1);
        let (plan, _, _) = run(&text, &settings(5, 0.0, 3));
        // word(0) .. word(99) are the 100 most frequent words.
        for p in plan.probes() {
            let i = (0..400)
                .position(|i| word(i).as_bytes() == &p.parent[..])
                .expect("a word");
            assert!(i >= SKIP_TOP, "{:?}", p.parent);
            assert!(4000 / (i + 1) >= 8, "too rare a parent: {:?}", p.parent);
        }
        assert_eq!(plan.eligible, 400 - SKIP_TOP);
    }

    #[test]
    fn too_many_parents_are_refused_with_the_reason() {
        let text = corpus(150, 1);
        let e = Plan::new(Path::new("c"), &text, &settings(1000, 0.0, 1))
            .err()
            .expect("refused");
        assert!(e.to_string().contains("--parents asks for 1000"), "{e}");
    }

    #[test]
    fn a_probe_name_in_the_corpus_rules_its_parent_out() {
        let mut text = corpus(130, 2);
        // Every eligible parent's level-3 name appears once, in the last line.
        for i in 100..130 {
            text.extend_from_slice(format!("{}__3 ", word(i)).as_bytes());
        }
        text.push(b'\n');
        let e = Plan::new(Path::new("c"), &text, &settings(1, 0.0, 1))
            .err()
            .expect("refused");
        assert!(e.to_string().contains("only 0 words"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Planting changes only the chosen occurrences, plants exactly k of each probe,
        /// never reuses a corpus word, and the same seed gives the same files.
        #[test]
        fn planting_is_exact_reversible_and_deterministic(
            corpus_seed in 0u64..1000,
            seed in 0u64..1000,
            parents in 1usize..12,
            holdout in prop_oneof![Just(0.0), 0.05f64..0.5],
        ) {
            let text = corpus(160, corpus_seed);
            let s = settings(parents, holdout, seed);
            let (plan, planted, held) = run(&text, &s);
            let probes = plan.probes();
            prop_assert_eq!(probes.len(), parents * 2);
            // Undoing the rewrite gives the training lines back byte for byte, and with the
            // held-out lines they are the input.
            let restored = unplant(&planted, &probes);
            let mut train_lines = Vec::new();
            let mut held_lines = Vec::new();
            for_each_line(&text, holdout, seed, |l, h| {
                if h { held_lines.extend_from_slice(l) } else { train_lines.extend_from_slice(l) }
            });
            prop_assert_eq!(&restored, &train_lines);
            prop_assert_eq!(&held, &held_lines);
            if holdout == 0.0 {
                prop_assert!(held.is_empty());
                prop_assert_eq!(&restored, &text);
            }
            for p in &probes {
                prop_assert_eq!(count(&planted, &p.probe), p.level);
                prop_assert_eq!(p.planted, p.level);
                prop_assert_eq!(count(&text, &p.probe), 0, "probe collides with a word");
                prop_assert_eq!(count(&held, &p.probe), 0);
                prop_assert_eq!(count(&planted, &p.parent), p.parent_count);
            }
            let dev = probes.iter().filter(|p| p.split == Split::Dev).map(|p| &p.parent);
            let dev: HashSet<&Box<[u8]>> = dev.collect();
            prop_assert_eq!(dev.len(), (parents as f64 * 0.5).round() as usize);
            let (plan2, planted2, held2) = run(&text, &s);
            prop_assert_eq!(&plan2.probes(), &probes);
            prop_assert_eq!(planted2, planted);
            prop_assert_eq!(held2, held);
        }
    }

    #[test]
    fn other_bytes_survive_odd_separators_and_long_words() {
        let mut text = corpus(130, 5);
        let long = "x".repeat(150);
        let w = word(120);
        text.extend_from_slice(format!("\t{long} {w}\r\n\x0b{w}\x0c  {w}").as_bytes());
        let (plan, planted, _) = run(&text, &settings(30, 0.0, 4));
        let probes = plan.probes();
        assert_eq!(unplant(&planted, &probes), text);
        assert_ne!(planted, text);
    }

    #[test]
    fn only_words_of_three_letters_or_more_can_be_parents() {
        for (w, ok) in [
            ("cat", true),
            ("été", true),
            ("ab", false),
            ("k9", false),
            ("a-b", false),
        ] {
            assert_eq!(is_content_word(w.as_bytes()), ok, "{w}");
        }
        assert!(!is_content_word(b"ab\xffc"));
    }

    #[test]
    fn probe_tables_are_tab_separated_with_a_header() {
        let p = PlantedProbe {
            probe: probe_name(b"cat", 5),
            parent: b"cat".to_vec().into_boxed_slice(),
            level: 5,
            planted: 5,
            split: Split::Test,
            parent_count: 300,
        };
        let mut out = Vec::new();
        write_probes(&[p], &mut out).expect("in memory");
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "probe\tparent\tlevel\tplanted\tsplit\tparent_count\ncat__5\tcat\t5\t5\ttest\t300\n"
        );
    }
}
