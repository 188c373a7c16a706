//! Word analogies ("a is to b as c is to d"), scored as gensim's
//! `evaluate_word_analogies` and word2vec.c's `compute-accuracy` do.
//!
//! Only the first `restrict` words of the vectors file (the most frequent) are used: a
//! question with a word outside them is skipped and counted against coverage, and answers
//! are searched among them. Words are matched ignoring case; the question words (with their
//! case variants) are never an answer. Questions are solved in batches: one matrix product
//! of the batch's query vectors with the restricted vocabulary, batches spread over all
//! cores.

use std::path::Path;

use hashbrown::HashMap;
use rayon::prelude::*;
use serde::Serialize;

use super::Embeddings;
use crate::bands::WordBands;
use crate::error::{Error, Result};
use crate::kernel;

/// Score-matrix floats per batch (32 MiB): large enough for the matrix product to amortise
/// its packing, small enough that every core can hold one.
const BATCH_FLOATS: usize = 8 << 20;

/// Levy and Goldberg's (2014) epsilon in the 3CosMul denominator.
pub const COSMUL_EPSILON: f32 = 0.001;

/// How an answer is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// 3CosAdd (Mikolov et al.): argmax cos(x, b - a + c).
    #[value(name = "add", alias = "3cosadd")]
    #[serde(rename = "3cosadd")]
    Add,
    /// 3CosMul (Levy and Goldberg): argmax cos'(x,b) cos'(x,c) / (cos'(x,a) + 0.001), with
    /// cosines shifted to [0, 1] as cos' = (cos + 1) / 2.
    #[value(name = "mul", alias = "3cosmul")]
    #[serde(rename = "3cosmul")]
    Mul,
}

/// One question of a file: its section and four words.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// Index into [`QuestionSet::sections`].
    pub section: usize,
    /// a, b, c and the expected d.
    pub words: [String; 4],
}

/// An analogy file: `: section` lines, each followed by lines of four words.
#[derive(Clone, Debug, Default)]
pub struct QuestionSet {
    /// Section names in file order.
    pub sections: Vec<String>,
    /// The questions in file order.
    pub questions: Vec<Question>,
    /// Non-blank lines that are neither a section nor four words (skipped, as gensim does).
    pub skipped_lines: usize,
}

impl QuestionSet {
    /// Reads an analogy file (word2vec's `questions-words.txt` format).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::io("cannot read analogy file", path, e))?;
        Self::parse(path, &bytes)
    }

    /// Parses the bytes of an analogy file; `path` only names it in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let mut set = QuestionSet::default();
        for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = String::from_utf8_lossy(line);
            let mut tokens = line.split_whitespace();
            let Some(first) = tokens.next() else {
                continue;
            };
            if first == ":" || line.starts_with(": ") {
                let name = line.trim_start_matches([':', ' ']).trim();
                set.sections.push(name.to_string());
                continue;
            }
            if set.sections.is_empty() {
                return Err(Error::at_line(
                    path,
                    n + 1,
                    "question before the first ': section' line",
                ));
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match <[&str; 4]>::try_from(words) {
                Ok(w) => set.questions.push(Question {
                    section: set.sections.len() - 1,
                    words: w.map(String::from),
                }),
                Err(_) => set.skipped_lines += 1,
            }
        }
        Ok(set)
    }

    /// True for a syntactic section: its name starts with `gram` (the Google set's
    /// `gram1-adjective-to-adverb` ... `gram9-plural-verbs`); all others are semantic.
    pub fn is_syntactic(&self, section: usize) -> bool {
        self.sections[section].starts_with("gram")
    }
}

/// Questions asked, answered (all four words known) and answered correctly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Questions in the file (or section, or band).
    pub questions: usize,
    /// Questions whose four words are among the restricted vocabulary.
    pub seen: usize,
    /// Seen questions answered correctly.
    pub correct: usize,
}

impl Tally {
    /// Accuracy over the seen questions in percent (NaN if none was seen).
    pub fn accuracy_pct(&self) -> f64 {
        100.0 * self.correct as f64 / self.seen as f64
    }

    /// Seen questions as a percentage of all questions (NaN if there are none).
    pub fn coverage_pct(&self) -> f64 {
        100.0 * self.seen as f64 / self.questions as f64
    }

    fn add(&mut self, other: &Tally) {
        self.questions += other.questions;
        self.seen += other.seen;
        self.correct += other.correct;
    }
}

/// The outcome of one analogy file.
#[derive(Clone, Debug)]
pub struct AnalogyResult {
    /// How answers were chosen.
    pub method: Method,
    /// The number of words searched (`restrict`, capped at the vocabulary size).
    pub restrict: usize,
    /// Section names and their tallies, in file order.
    pub sections: Vec<(String, Tally)>,
    /// Semantic sections together.
    pub semantic: Tally,
    /// Syntactic sections together.
    pub syntactic: Tally,
    /// Seen questions by the frequency band of the expected answer (`questions` counts
    /// seen questions too), when bands were given.
    pub bands: Option<Vec<Tally>>,
    /// For each question of the file: the predicted word id, or `None` if not seen.
    pub predicted: Vec<Option<usize>>,
}

impl AnalogyResult {
    /// All sections together.
    pub fn total(&self) -> Tally {
        let mut t = self.semantic;
        t.add(&self.syntactic);
        t
    }
}

/// Ids that may never be an answer to a question with words `q`: the question words and
/// their case variants within the restricted vocabulary.
fn excluded<'a>(
    q: &'a [usize; 4],
    variants: &'a HashMap<usize, Vec<usize>>,
) -> impl Iterator<Item = usize> + 'a {
    q[..3]
        .iter()
        .flat_map(move |id| match variants.get(id) {
            Some(v) => v.as_slice(),
            None => std::slice::from_ref(id),
        })
        .copied()
}

/// Index of the largest value (the first of equal ones; NaN never wins).
fn argmax(xs: &[f32]) -> Option<usize> {
    const LANES: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            lanes[l] = if c[l] > lanes[l] { c[l] } else { lanes[l] };
        }
    }
    let mut best = f32::NEG_INFINITY;
    for v in lanes.iter().chain(rest) {
        if *v > best {
            best = *v;
        }
    }
    if best == f32::NEG_INFINITY {
        return None;
    }
    xs.iter().position(|v| *v == best)
}

/// Scores of every candidate for each question of `batch` into `scores` (`batch.len()`
/// rows of `n` values), per `method`; `vocab_t` is the candidates' unit vectors transposed
/// (`dim × n`), `work` is scratch space.
fn score_batch(
    emb: &Embeddings,
    vocab_t: &[f32],
    n: usize,
    batch: &[[usize; 4]],
    method: Method,
    scores: &mut Vec<f32>,
    work: &mut Vec<f32>,
) {
    let dim = emb.dim();
    let m = batch.len();
    match method {
        Method::Add => {
            work.clear();
            for q in batch {
                let (a, b, c) = (emb.row(q[0]), emb.row(q[1]), emb.row(q[2]));
                work.extend((0..dim).map(|i| b[i] - a[i] + c[i]));
            }
            scores.resize(m * n, 0.0);
            kernel::matmul(work, vocab_t, scores, dim, n);
        }
        Method::Mul => {
            // One product gives cos(x, a), cos(x, b), cos(x, c) as three row blocks; each
            // objective value then only reads the same index of the three blocks, so it is
            // written over the first block in place.
            work.clear();
            for k in 0..3 {
                for q in batch {
                    work.extend_from_slice(emb.row(q[k]));
                }
            }
            let mn = m * n;
            scores.resize(3 * mn, 0.0);
            kernel::matmul(work, vocab_t, scores, dim, n);
            for i in 0..mn {
                scores[i] = cosmul(scores[i], scores[mn + i], scores[2 * mn + i]);
            }
            scores.truncate(mn);
        }
    }
}

/// The 3CosMul objective from the three cosines.
#[inline]
fn cosmul(cos_a: f32, cos_b: f32, cos_c: f32) -> f32 {
    let shift = |c: f32| (c + 1.0) * 0.5;
    shift(cos_b) * shift(cos_c) / (shift(cos_a) + COSMUL_EPSILON)
}

/// Case variants among the first `restrict` words, for words that have more than one.
fn case_variants(emb: &Embeddings, restrict: usize) -> HashMap<usize, Vec<usize>> {
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for id in 0..restrict {
        let first = emb.first_variant(id);
        if first != id {
            groups.entry(first).or_insert_with(|| vec![first]).push(id);
        }
    }
    groups
}

/// Answers every question of `set` over the first `restrict` words and tallies the results
/// by section, semantic/syntactic, and (with `bands`) the band of the expected answer.
pub fn evaluate(
    emb: &Embeddings,
    set: &QuestionSet,
    restrict: usize,
    method: Method,
    bands: Option<&WordBands>,
) -> AnalogyResult {
    let restrict = restrict.min(emb.len());
    let known = |w: &str| emb.id_folded(w.as_bytes()).filter(|&id| id < restrict);
    let resolved: Vec<Option<[usize; 4]>> = set
        .questions
        .par_iter()
        .map(|q| {
            let [a, b, c, d] = &q.words;
            Some([known(a)?, known(b)?, known(c)?, known(d)?])
        })
        .collect();
    let seen: Vec<[usize; 4]> = resolved.iter().flatten().copied().collect();
    let variants = case_variants(emb, restrict);
    // Transposed once, so that every batch's product reads the vocabulary row by row.
    let dim = emb.dim();
    let mut vocab_t = vec![0.0f32; dim * restrict];
    for (j, row) in emb.rows(restrict).chunks_exact(dim).enumerate() {
        for (l, x) in row.iter().enumerate() {
            vocab_t[l * restrict + j] = *x;
        }
    }
    let rows_per_question = match method {
        Method::Add => 1,
        Method::Mul => 3,
    };
    let batch = (BATCH_FLOATS / (rows_per_question * restrict.max(1))).clamp(8, 1024);
    // map_init makes fresh buffers per rayon job, not per thread: with jobs of at least
    // this many batches, each buffer is zeroed and paged in only a few times per core.
    let batches_per_job = seen
        .len()
        .div_ceil(batch)
        .div_ceil(4 * rayon::current_num_threads());
    let answers: Vec<Option<usize>> = seen
        .par_chunks(batch)
        .with_min_len(batches_per_job.max(1))
        .map_init(
            || (Vec::new(), Vec::new()),
            |(scores, work), batch| {
                score_batch(emb, &vocab_t, restrict, batch, method, scores, work);
                batch
                    .iter()
                    .zip(scores.chunks_exact_mut(restrict.max(1)))
                    .map(|(q, row)| {
                        for id in excluded(q, &variants) {
                            row[id] = f32::NEG_INFINITY;
                        }
                        argmax(row)
                    })
                    .collect::<Vec<_>>()
            },
        )
        .flatten_iter()
        .collect();

    let mut sections = vec![Tally::default(); set.sections.len()];
    let mut by_band = bands.map(|b| vec![Tally::default(); b.bands().len()]);
    let mut predicted = Vec::with_capacity(set.questions.len());
    let mut answers = answers.into_iter();
    for (q, ids) in set.questions.iter().zip(&resolved) {
        let s = &mut sections[q.section];
        s.questions += 1;
        let Some(ids) = ids else {
            predicted.push(None);
            continue;
        };
        let answer = answers.next().flatten();
        // Any case variant of the expected word is right (gensim compares upper-cased words).
        let correct = answer.map(|a| emb.first_variant(a)) == Some(ids[3]);
        s.seen += 1;
        s.correct += correct as usize;
        if let (Some(tallies), Some(band)) = (&mut by_band, bands.and_then(|b| b.band(ids[3]))) {
            let t = &mut tallies[band];
            t.questions += 1;
            t.seen += 1;
            t.correct += correct as usize;
        }
        predicted.push(answer);
    }
    let (mut semantic, mut syntactic) = (Tally::default(), Tally::default());
    for (i, t) in sections.iter().enumerate() {
        if set.is_syntactic(i) {
            syntactic.add(t);
        } else {
            semantic.add(t);
        }
    }
    AnalogyResult {
        method,
        restrict,
        sections: set.sections.iter().cloned().zip(sections).collect(),
        semantic,
        syntactic,
        bands: by_band,
        predicted,
    }
}

/// The `k` best answers to "`a` is to `b` as `c` is to ?" among the first `limit` words,
/// best first, with their scores: the cosine with the unit offset vector `b - a + c` for
/// 3CosAdd, the 3CosMul objective for 3CosMul. The three words and their case variants are
/// excluded.
pub fn solve(
    emb: &Embeddings,
    [a, b, c]: [usize; 3],
    k: usize,
    limit: usize,
    method: Method,
) -> Vec<(usize, f32)> {
    let scores = match method {
        Method::Add => {
            let (ra, rb, rc) = (emb.row(a), emb.row(b), emb.row(c));
            let mut q: Vec<f32> = (0..emb.dim()).map(|i| rb[i] - ra[i] + rc[i]).collect();
            let norm = q.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                q.iter_mut().for_each(|x| *x /= norm);
            }
            emb.scores(&q, limit)
        }
        Method::Mul => {
            let (sa, sb, sc) = (
                emb.scores(emb.row(a), limit),
                emb.scores(emb.row(b), limit),
                emb.scores(emb.row(c), limit),
            );
            (0..sa.len()).map(|i| cosmul(sa[i], sb[i], sc[i])).collect()
        }
    };
    let asked = [a, b, c].map(|id| emb.first_variant(id));
    Embeddings::top_k(&scores, k, |i| asked.contains(&emb.first_variant(i)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bands::Bands;
    use crate::eval::tests::embeddings;

    fn set(text: &str) -> QuestionSet {
        QuestionSet::parse(Path::new("q.txt"), text.as_bytes()).expect("test setup")
    }

    /// Four words on the unit circle plus one off-axis distractor:
    /// man (1,0,0), king (1,1,0)/√2, woman (0,0,1), queen (0,1,1)/√2.
    /// king - man + woman = (0.29, 0.71, 1) points at queen (cos 0.98).
    fn royals() -> Embeddings {
        let s = std::f32::consts::FRAC_1_SQRT_2;
        embeddings(&[
            ("man", &[1.0, 0.0, 0.0]),
            ("king", &[s, s, 0.0]),
            ("woman", &[0.0, 0.0, 1.0]),
            ("queen", &[0.0, s, s]),
            ("Queen", &[0.0, s, s]),
            ("apple", &[-1.0, -1.0, 0.0]),
        ])
    }

    #[test]
    fn parses_sections_and_skips_bad_lines() {
        let s = set(": family\nman king woman queen\n\nthree words only\n: gram1-x\na b c d\n");
        assert_eq!(s.sections, ["family", "gram1-x"]);
        assert_eq!(s.questions.len(), 2);
        assert_eq!(s.questions[1].section, 1);
        assert_eq!(s.skipped_lines, 1);
        assert!(!s.is_syntactic(0) && s.is_syntactic(1));
        let e = QuestionSet::parse(Path::new("q.txt"), b"a b c d\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "q.txt: line 1: question before the first ': section' line"
        );
    }

    #[test]
    fn answers_by_offset_and_excludes_question_words() {
        let e = royals();
        let s =
            set(": family\nMAN KING WOMAN QUEEN\nman king woman apple\nman king unknown queen\n");
        for method in [Method::Add, Method::Mul] {
            let r = evaluate(&e, &s, 100, method, None);
            assert_eq!(r.predicted, [Some(3), Some(3), None], "{method:?}");
            let t = r.total();
            assert_eq!((t.questions, t.seen, t.correct), (3, 2, 1));
            assert_eq!(t.accuracy_pct(), 50.0);
            assert_eq!(r.semantic, t);
        }
        // Restricted to the first 3 words, 'queen' is outside: nothing is seen.
        let r = evaluate(&e, &s, 3, Method::Add, None);
        assert_eq!(r.total().seen, 0);
        assert!(r.total().accuracy_pct().is_nan());
    }

    #[test]
    fn case_variants_of_question_words_are_not_answers() {
        // With a = b the offset is c itself, so c's case variant "Queen" (same vector as
        // "queen") would win with cosine 1 unless excluded as gensim does; next is woman
        // (cos 0.71, against king's 0.5).
        let e = royals();
        let s = set(": x\nman man queen woman\n");
        for method in [Method::Add, Method::Mul] {
            let r = evaluate(&e, &s, 100, method, None);
            assert_eq!(r.predicted, [Some(2)], "{method:?}");
            let top = solve(&e, [0, 0, 3], 10, 100, method);
            assert_eq!(top[0].0, 2);
            assert!(top.iter().all(|(id, _)| ![0, 3, 4].contains(id)));
        }
    }

    #[test]
    fn a_case_variant_of_the_expected_word_counts_as_right() {
        // king - man + woman = (s - 1, s, 1); "Queen" points exactly there and wins, and
        // gensim, comparing upper-cased words, counts it as the expected "queen".
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let e = embeddings(&[
            ("man", &[1.0, 0.0, 0.0]),
            ("king", &[s, s, 0.0]),
            ("woman", &[0.0, 0.0, 1.0]),
            ("queen", &[0.0, s, s]),
            ("Queen", &[s - 1.0, s, 1.0]),
        ]);
        let r = evaluate(
            &e,
            &set(": x\nman king woman queen\n"),
            100,
            Method::Add,
            None,
        );
        assert_eq!(r.predicted, [Some(4)]);
        assert_eq!(r.total().correct, 1);
    }

    #[test]
    fn solve_scores_are_cosines_with_the_offset() {
        let e = royals();
        let top = solve(&e, [0, 1, 2], 2, 100, Method::Add);
        assert_eq!(top[0].0, 3);
        // (0.2929, 0.7071, 1)/|.| · (0, 0.7071, 0.7071) = (0.5 + 0.7071) / 1.2583
        let q = [
            1.0 - std::f32::consts::FRAC_1_SQRT_2,
            std::f32::consts::FRAC_1_SQRT_2,
            1.0,
        ];
        let n = q.iter().map(|x| x * x).sum::<f32>().sqrt();
        let want = (q[1] + q[2]) * std::f32::consts::FRAC_1_SQRT_2 / n;
        assert!((top[0].1 - want).abs() < 1e-5);
        let mul = solve(&e, [0, 1, 2], 1, 100, Method::Mul);
        // cos(queen, man)=0, cos(queen, king)=0.5, cos(queen, woman)=0.7071:
        // (0.75 * 0.85355) / (0.5 + 0.001)
        assert!((mul[0].1 - 0.75 * 0.853_553_4 / 0.501).abs() < 1e-5);
    }

    #[test]
    fn bands_follow_the_expected_answer() {
        let e = royals();
        let s = set(": x\nman king woman queen\nman king woman apple\n");
        // queen (id 3) is rank 4 (band 1-9), apple rank 6: both band 0 with decade ranks,
        // so use edges 1, 5: queen in band 0, apple in band 1.
        let bands = WordBands::from_ranks(Bands::from_edges(&[1, 5]).expect("test setup"), e.len());
        let r = evaluate(&e, &s, 100, Method::Add, Some(&bands));
        let b = r.bands.expect("test setup");
        assert_eq!((b[0].seen, b[0].correct), (1, 1));
        assert_eq!((b[1].seen, b[1].correct), (1, 0));
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        let mut v = vec![0.0f32; 37];
        v[20] = 2.0;
        v[33] = 2.0;
        assert_eq!(argmax(&v), Some(20));
        assert_eq!(argmax(&[f32::NEG_INFINITY; 3]), None);
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn batches_agree_with_one_question_at_a_time() {
        // 600 pseudo-random words, 700 questions: several batches on several threads.
        let words: Vec<String> = (0..600).map(|i| format!("w{i}")).collect();
        let vecs: Vec<Vec<f32>> = (0..600u32)
            .map(|i| {
                (0..16u32)
                    .map(|j| ((i * 31 + j * 17).wrapping_mul(2654435761) % 1000) as f32 - 500.0)
                    .collect()
            })
            .collect();
        let rows: Vec<(&str, &[f32])> = words
            .iter()
            .map(|w| w.as_str())
            .zip(vecs.iter().map(|v| v.as_slice()))
            .collect();
        let e = embeddings(&rows);
        let mut text = String::from(": s\n");
        for i in 0..700usize {
            let q = [
                i % 600,
                (i * 7 + 1) % 600,
                (i * 13 + 2) % 600,
                (i * 3) % 600,
            ];
            text.push_str(&q.map(|x| format!("w{x}")).join(" "));
            text.push('\n');
        }
        let s = set(&text);
        for method in [Method::Add, Method::Mul] {
            let r = evaluate(&e, &s, 500, method, None);
            for (q, p) in s.questions.iter().zip(&r.predicted) {
                let ids = q
                    .words
                    .clone()
                    .map(|w| e.id(w.as_bytes()).expect("test setup"));
                if ids.iter().any(|&id| id >= 500) {
                    assert_eq!(*p, None);
                    continue;
                }
                let best = solve(&e, [ids[0], ids[1], ids[2]], 1, 500, method)[0].0;
                assert_eq!(*p, Some(best), "{method:?} {:?}", q.words);
            }
        }
    }
}
