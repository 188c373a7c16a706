//! `huffvec eval`, `neighbors` and `analogy`: agreement with gensim, per-band figures,
//! inspection output and malformed vector files.

use std::process::Command;

use huffvec::OutputFormat;
use serde_json::Value;

use crate::util::Scratch;

/// Writes word2vec vectors with the library's own writer.
fn vectors(format: OutputFormat, rows: &[(String, Vec<f32>)]) -> Vec<u8> {
    let dim = rows[0].1.len();
    let mut out = Vec::new();
    let it = rows.iter().map(|(w, v)| (w.as_bytes(), v.as_slice()));
    huffvec::support::word2vec::write(&mut out, format, dim, it.collect::<Vec<_>>().into_iter())
        .expect("write to memory");
    out
}

/// Deterministic numbers in [-1, 1) (a 64-bit LCG, top bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vec(&mut self, dim: usize, scale: f32) -> Vec<f32> {
        (0..dim).map(|_| self.next() * scale).collect()
    }
}

/// A vectors file in which analogies partly hold, plus questions and pairs that exercise
/// every rule of the gensim comparison: upper-case questions, a case variant listed
/// before its lower-case form, a case variant of a question word next to the offset
/// target, words beyond the restricted vocabulary, unknown words, tied human scores, a
/// header line in the pairs file.
struct Fixture {
    rows: Vec<(String, Vec<f32>)>,
    questions: String,
    pairs: String,
}

fn fixture() -> Fixture {
    const DIM: usize = 16;
    let mut rng = Lcg(7);
    let capital = rng.vec(DIM, 1.0);
    let adverb = rng.vec(DIM, 1.0);
    let mut rows: Vec<(String, Vec<f32>)> = Vec::new();
    let mut late = Vec::new();
    for i in 0..10 {
        let city = rng.vec(DIM, 1.0);
        let noise = rng.vec(DIM, 1.0);
        let land: Vec<f32> = (0..DIM).map(|d| city[d] + capital[d] + noise[d]).collect();
        let adj = rng.vec(DIM, 1.0);
        let noise = rng.vec(DIM, 1.0);
        let ly: Vec<f32> = (0..DIM).map(|d| adj[d] + adverb[d] + noise[d]).collect();
        if i == 3 {
            // "City3" comes first, so it stands for "city3" in case-insensitive lookups.
            rows.push(("City3".into(), rng.vec(DIM, 1.0)));
        }
        rows.push((format!("city{i}"), city.clone()));
        rows.push((format!("adj{i}"), adj));
        if i >= 8 {
            late.push((format!("land{i}"), land));
        } else {
            let near: Vec<f32> = land.iter().map(|x| x + 0.01).collect();
            rows.push((format!("land{i}"), land));
            if i == 4 {
                // A case variant right next to land4: never an answer when land4 is asked.
                rows.push(("Land4".into(), near));
            }
            if i == 5 {
                // A noise-free case variant of land5, often nearer the offset target than
                // land5: as gensim compares upper-cased words, answering it is right.
                let exact: Vec<f32> = (0..DIM).map(|d| city[d] + capital[d]).collect();
                rows.push(("Land5".into(), exact));
            }
        }
        if i == 9 {
            late.push((format!("adj{i}ly"), ly));
        } else {
            rows.push((format!("adj{i}ly"), ly));
        }
    }
    for i in 0..30 {
        rows.push((format!("noise{i}"), rng.vec(DIM, 1.0)));
    }
    // Restricting to 70 words leaves land8, land9 and adj9ly out.
    assert_eq!(rows.len(), 70);
    rows.extend(late);

    let mut questions = String::from(": capital-common-countries\n");
    for i in 0..10 {
        for j in 0..10 {
            if i != j {
                let a = if i % 3 == 0 {
                    format!("CITY{i}")
                } else {
                    format!("city{i}")
                };
                questions.push_str(&format!("{a} land{i} city{j} land{j}\n"));
            }
        }
    }
    questions.push_str("city4 land4 city4 land4\ncity1 land1 atlantis land2\nbad line\n");
    questions.push_str(": gram1-adjective-to-adverb\n");
    for i in 0..10 {
        for j in 0..10 {
            if i != j {
                questions.push_str(&format!("adj{i} adj{i}ly adj{j} ADJ{j}LY\n"));
            }
        }
    }
    let mut pairs = String::from("word1\tword2\tscore\n");
    for i in 0..10 {
        // Related pairs score 3 to 7, unrelated ones 0 to 2.5, with ties.
        pairs.push_str(&format!("city{i}\tland{i}\t{}\n", 3 + (i * 7) % 4));
        pairs.push_str(&format!("adj{i}\tADJ{i}LY\t{}\n", 3 + (i * 3) % 5));
        pairs.push_str(&format!("noise{i}\tcity{}\t{}.5\n", (i + 1) % 10, i % 3));
        pairs.push_str(&format!("land{i}\tnoise{}\t{}\n", 20 + i, (i * 5) % 3));
    }
    pairs.push_str("city1\tunknownword\t3\n");
    Fixture {
        rows,
        questions,
        pairs,
    }
}

/// gensim's figures for the fixture: analogy accuracies by section kind and seen count,
/// Spearman rho and pair count, both with `restrict_vocab`.
const GENSIM: &str = r#"
import json, sys, logging
logging.disable(logging.CRITICAL)
from gensim.models import KeyedVectors
vec, questions, pairs, restrict = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
kv = KeyedVectors.load_word2vec_format(vec, binary=False)
_, sections = kv.evaluate_word_analogies(questions, restrict_vocab=restrict)
def acc(ss):
    c = sum(len(s['correct']) for s in ss)
    n = sum(len(s['correct']) + len(s['incorrect']) for s in ss)
    return [100.0 * c / n if n else None, n]
secs = sections[:-1]
sem = [s for s in secs if not s['section'].startswith('gram')]
syn = [s for s in secs if s['section'].startswith('gram')]
_, spearman, oov = kv.evaluate_word_pairs(pairs, restrict_vocab=restrict)
print(json.dumps({"total": acc(secs), "semantic": acc(sem), "syntactic": acc(syn),
                  "rho": float(spearman[0]), "oov_pct": oov}))
"#;

fn have_gensim() -> bool {
    Command::new("python3")
        .args(["-c", "import gensim"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).expect("eval --json prints one JSON document")
}

fn close(ours: &Value, theirs: &Value, tol: f64, what: &str) {
    let (a, b) = (ours.as_f64().unwrap(), theirs.as_f64().unwrap());
    assert!((a - b).abs() <= tol, "{what}: huffvec {a} vs gensim {b}");
}

#[test]
fn analogy_and_similarity_equal_gensims() {
    let dir = Scratch::new();
    let f = fixture();
    dir.write("v.txt", vectors(OutputFormat::Text, &f.rows));
    dir.write("v.bin", vectors(OutputFormat::Binary, &f.rows));
    dir.write("questions-words.txt", &f.questions);
    dir.write("pairs.txt", &f.pairs);
    let run = |v: &str| {
        json(
            &dir.huffvec(&[
                "eval",
                "--vectors",
                v,
                "--analogy",
                "questions-words.txt",
                "--similarity",
                "pairs.txt",
                "--restrict",
                "70",
                "--similarity-restrict",
                "70",
                "--json",
            ])
            .ok()
            .stdout,
        )
    };
    let ours = run("v.txt");
    // Binary vectors hold the same floats (the text writer round-trips), so every figure
    // must be identical.
    let mut ours_bin = run("v.bin");
    let mut ours_cmp = ours.clone();
    for doc in [&mut ours_bin, &mut ours_cmp] {
        doc["analogy"]["questions-words"]["seconds"] = Value::Null;
    }
    assert_eq!(ours_cmp["analogy"], ours_bin["analogy"]);
    assert_eq!(
        ours["similarity"]["pairs"]["rho"],
        ours_bin["similarity"]["pairs"]["rho"]
    );

    let a = &ours["analogy"]["questions-words"];
    // 90 + 2 + 90 questions ("bad line" is not one). Seen: those without land8, land9,
    // adj9ly or atlantis: 8 * 7 + 1 capital ("city4 land4 city4 land4") and 9 * 8 adverb.
    assert_eq!(a["questions"], 182);
    assert_eq!(a["seen"], 56 + 1 + 72);
    let s = &ours["similarity"]["pairs"];
    // 41 pairs; 6 unknown: four with land8/land9 (beyond 70 words), one with adj9ly, one
    // with unknownword.
    assert_eq!(
        (s["total"].as_u64(), s["pairs"].as_u64()),
        (Some(41), Some(35))
    );

    if !have_gensim() {
        crate::util::skip_unless_required("python3 with gensim is not importable");
        return;
    }
    let out = Command::new("python3")
        .args([
            "-c",
            GENSIM,
            "v.txt",
            "questions-words.txt",
            "pairs.txt",
            "70",
        ])
        .current_dir(dir.root())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let g: Value = serde_json::from_slice(&out.stdout).expect("gensim script prints JSON");
    assert_eq!(a["seen"], g["total"][1]);
    assert_eq!(a["semantic"]["seen"], g["semantic"][1]);
    close(&a["total_acc"], &g["total"][0], 0.1, "total accuracy");
    close(
        &a["semantic_acc"],
        &g["semantic"][0],
        0.1,
        "semantic accuracy",
    );
    close(
        &a["syntactic_acc"],
        &g["syntactic"][0],
        0.1,
        "syntactic accuracy",
    );
    close(&s["rho"], &g["rho"], 0.001, "Spearman rho");
    close(
        &(100.0 - s["coverage"].as_f64().unwrap()).into(),
        &g["oov_pct"],
        0.1,
        "OOV %",
    );
    // The fixture must not be trivial: some answers right, some wrong.
    let acc = a["total_acc"].as_f64().unwrap();
    assert!(acc > 5.0 && acc < 95.0, "accuracy {acc}% makes a weak test");
}

/// man (1,0,0), king (1,1,0)/√2, woman (0,0,1), queen (0,1,1)/√2, a case variant and a
/// distractor; king - man + woman points at queen.
fn royals(dir: &Scratch) {
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let rows: Vec<(String, Vec<f32>)> = [
        ("man", [1.0, 0.0, 0.0]),
        ("king", [s, s, 0.0]),
        ("woman", [0.0, 0.0, 1.0]),
        ("queen", [0.0, s, s]),
        ("Queen", [0.0, s, s]),
        ("apple", [-1.0, -1.0, 0.0]),
    ]
    .iter()
    .map(|(w, v)| (w.to_string(), v.to_vec()))
    .collect();
    dir.write("v.txt", vectors(OutputFormat::Text, &rows));
}

#[test]
fn neighbors_and_analogy_print_ranked_cosines() {
    let dir = Scratch::new();
    royals(&dir);
    let out = dir
        .huffvec(&["neighbors", "--vectors", "v.txt", "queen", "-k", "2"])
        .ok()
        .stdout;
    // cos(queen, woman) = 0.7071, cos(queen, king) = 0.5; "Queen" is queen itself.
    assert_eq!(
        out,
        "nearest to 'queen':\n   1  woman  0.7071\n   2  king   0.5000\n"
    );
    let out = dir
        .huffvec(&[
            "analogy",
            "--vectors",
            "v.txt",
            "man",
            "KING",
            "woman",
            "-k",
            "1",
        ])
        .ok()
        .stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "'man' is to 'king' as 'woman' is to (cosine with b - a + c):"
    );
    // b - a + c = (1/√2 - 1, 1/√2, 1), norm √1.58579 = 1.25928; its dot with queen is
    // 1/2 + 1/√2 = 1.20711, so the cosine is 0.95857. ("Queen" ties; the first word wins.)
    assert_eq!(lines[1], "   1  queen  0.9586");
    let err = dir
        .huffvec(&["neighbors", "--vectors", "v.txt", "quen"])
        .error_line();
    assert_eq!(
        err,
        "huffvec: error: unknown word 'quen' (did you mean: queen?)"
    );
}

#[test]
fn eval_without_sets_scores_the_bundled_ones() {
    let dir = Scratch::new();
    royals(&dir);
    let doc = json(
        &dir.huffvec(&["eval", "--vectors", "v.txt", "--json"])
            .ok()
            .stdout,
    );
    // The Google set: of its 19,544 questions only "king queen man woman" and "man woman
    // king queen" use the fixture's words, and the fixture answers both.
    let a = &doc["analogy"]["questions-words"];
    assert_eq!(
        (&a["questions"], &a["seen"], &a["correct"]),
        (&19544.into(), &2.into(), &2.into())
    );
    // Each similarity set, with its size and the pairs of fixture words in it.
    for (set, total, known) in [
        ("EN-WS-353-ALL", 353, 2),
        ("EN-SIMLEX-999", 999, 1),
        ("EN-MEN-TR-3k", 3000, 1),
    ] {
        let s = &doc["similarity"][set];
        assert_eq!(
            (&s["total"], &s["pairs"]),
            (&total.into(), &known.into()),
            "{set}"
        );
    }
    // king-queen (8.58) above man-woman (8.30) in WS-353, as their cosines (0.5 and 0).
    assert_eq!(doc["similarity"]["EN-WS-353-ALL"]["rho"], 1.0);
}

#[test]
fn bands_by_count_with_vocab_and_by_rank_without() {
    let dir = Scratch::new();
    royals(&dir);
    dir.write("q.txt", ": family\nman king woman queen\n");
    dir.write(
        "sim.txt",
        "man\tking\t5\nqueen\tapple\t1\nwoman\tqueen\t3\n",
    );
    dir.write(
        "vocab.txt",
        "man 1000\nking 200\nwoman 150\nqueen 40\nQueen 7\napple 6\n",
    );
    let args = [
        "eval",
        "--vectors",
        "v.txt",
        "--analogy",
        "q.txt",
        "--similarity",
        "sim.txt",
    ];
    let with_vocab: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--vocab", "vocab.txt", "--json"])
        .collect();
    let doc = json(&dir.huffvec(&with_vocab).ok().stdout);
    let b = &doc["bands"];
    assert_eq!(b["basis"], "count");
    // Decades from the smallest count (6) up to the largest (1000).
    assert_eq!(
        b["labels"],
        serde_json::json!(["6-9", "10-99", "100-999", "1000+"])
    );
    assert_eq!(b["words"], serde_json::json!([2, 1, 2, 1]));
    // The answer, queen (40), is in band 10-99.
    let seen: Vec<u64> = b["analogy"]["q"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["seen"].as_u64().unwrap())
        .collect();
    assert_eq!(seen, [0, 1, 0, 0]);
    assert_eq!(b["analogy"]["q"][1]["acc"], 100.0);
    // Rarer words: king (200), apple (6), queen (40).
    let pairs: Vec<u64> = b["similarity"]["sim"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["pairs"].as_u64().unwrap())
        .collect();
    assert_eq!(pairs, [1, 1, 1, 0]);
    assert_eq!(doc["analogy"]["q"]["total_acc"], 100.0);
    assert_eq!(doc["similarity"]["sim"]["pairs"], 3);

    let text = dir.huffvec(&args).ok().stdout;
    assert!(
        text.contains("bands by frequency rank in the vectors file (no --vocab"),
        "{text}"
    );
    let with_edges: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--band-edges", "1,4", "--json"])
        .collect();
    let doc = json(&dir.huffvec(&with_edges).ok().stdout);
    assert_eq!(doc["bands"]["basis"], "rank");
    assert_eq!(doc["bands"]["labels"], serde_json::json!(["1-3", "4+"]));
    // queen is rank 4.
    assert_eq!(doc["bands"]["analogy"]["q"][1]["seen"], 1);
}

#[test]
fn json_can_go_to_a_file_beside_the_tables() {
    let dir = Scratch::new();
    royals(&dir);
    dir.write(
        "q.txt",
        ": family\nman king woman queen\nman king woman nothere\n",
    );
    let run = dir
        .huffvec(&[
            "eval",
            "--vectors",
            "v.txt",
            "--analogy",
            "q.txt",
            "--json",
            "out.json",
        ])
        .ok();
    assert!(
        run.stdout.contains("analogy q (3CosAdd, top 6 words"),
        "{}",
        run.stdout
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(dir.path("out.json")).unwrap()).unwrap();
    let a = &doc["analogy"]["q"];
    assert_eq!(
        (a["seen"].as_u64(), a["questions"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(a["coverage"], 50.0);
    assert_eq!(a["sections"]["family"]["correct"], 1);
    assert!(
        a["syntactic_acc"].is_null(),
        "no syntactic question: accuracy is undefined"
    );
}

#[test]
fn malformed_vector_files_give_one_located_line() {
    let dir = Scratch::new();
    dir.write("sim.txt", "a\tb\t1\n");
    let mut truncated_bin = b"2 2\na ".to_vec();
    truncated_bin.extend_from_slice(&[0, 0, 0, 0x3f, 0, 0, 0x80, 0x3f, b'\n', b'b', b' ', 0, 0]);
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "header.txt",
            b"two 2\na 1 2\n",
            "header.txt: line 1: expected a header 'WORDS DIM'",
        ),
        (
            "dim.txt",
            b"2 3\na 1 2 3\nb 1 2\n",
            "dim.txt: line 3: expected 3 values after the word, found 2",
        ),
        (
            "nan.txt",
            b"2 2\na 1 2\nb 1 zwei\n",
            "nan.txt: line 3: value 2 'zwei' is not a number",
        ),
        (
            "short.txt",
            b"3 2\na 1 2\nb 1 2\n",
            "short.txt: line 4: file ends after 2 of the 3 rows",
        ),
        (
            "trunc.bin",
            &truncated_bin,
            "trunc.bin: byte 17: row 2 ('b') is truncated: expected 8 bytes of floats, found 2",
        ),
    ];
    for (name, bytes, want) in cases {
        dir.write(name, bytes);
        let err = dir
            .huffvec(&["eval", "--vectors", name, "--similarity", "sim.txt"])
            .error_line();
        assert!(err.contains(want), "{name}: {err}");
    }
    let err = dir
        .huffvec(&[
            "eval",
            "--vectors",
            "missing.txt",
            "--similarity",
            "sim.txt",
        ])
        .error_line();
    assert!(err.contains("cannot read vectors missing.txt"), "{err}");
}
