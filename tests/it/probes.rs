//! Probes and the whole model on disk, end to end: `huffvec plant`, `train --keep` and
//! `--save-model`, `eval --probes` and `eval --model --heldout`.

use std::collections::HashMap;

use huffvec::support::model_file::ModelFile;
use serde_json::Value;

use crate::util::{read_text_vectors, sample_corpus, Scratch};

fn plant(d: &Scratch, seed: &str, extra: &[&str]) {
    let corpus = sample_corpus();
    let mut args = vec![
        "plant",
        "--input",
        corpus.to_str().expect("utf-8 path"),
        "--output",
        "planted.txt",
        "--probes",
        "probes.tsv",
        "--levels",
        "2,5",
        "--parents",
        "30",
        "--seed",
        seed,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    d.huffvec(&args).ok();
}

fn train(d: &Scratch, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--input",
        "planted.txt",
        "--output",
        "vectors.txt",
        "--dim",
        "16",
        "--epochs",
        "1",
        "--threads",
        "2",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    d.huffvec(&args).ok();
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).expect("eval prints JSON")
}

#[test]
fn plant_keep_train_and_score_probes_and_heldout_loss() {
    let d = Scratch::new();
    plant(
        &d,
        "7",
        &["--holdout", "0.05", "--heldout-output", "heldout.txt"],
    );
    let table = std::fs::read_to_string(d.path("probes.tsv")).expect("probe table");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 60);
    train(
        &d,
        &[
            "--keep",
            "probes.tsv",
            "--min-count",
            "5",
            "--save-vocab",
            "vocab.txt",
            "--save-model",
            "model.st",
        ],
    );
    let vocab: HashMap<String, u64> = std::fs::read_to_string(d.path("vocab.txt"))
        .expect("vocabulary")
        .lines()
        .map(|l| {
            let (w, c) = l.rsplit_once(' ').expect("word count");
            (w.to_string(), c.parse().expect("count"))
        })
        .collect();
    for r in &rows {
        // Level 2 is below --min-count 5, yet every probe is kept with its real count.
        assert_eq!(
            vocab.get(r[0]),
            Some(&r[2].parse().expect("level")),
            "{}",
            r[0]
        );
    }

    let probes = d
        .huffvec(&[
            "eval",
            "--vectors",
            "vectors.txt",
            "--probes",
            "probes.tsv",
            "--json",
        ])
        .ok();
    let doc = json(&probes.stdout);
    let levels = doc["probes"]["levels"].as_array().expect("levels");
    let keys: Vec<(u64, &str)> = levels
        .iter()
        .map(|l| {
            (
                l["level"].as_u64().expect("level"),
                l["split"].as_str().expect("split"),
            )
        })
        .collect();
    assert_eq!(keys, [(2, "dev"), (2, "test"), (5, "dev"), (5, "test")]);
    let n: u64 = levels.iter().map(|l| l["n"].as_u64().expect("n")).sum();
    assert_eq!(n, 60, "every probe and parent has a vector");
    for l in levels {
        let mrr = l["mrr"].as_f64().expect("mrr");
        let ci = l["mrr_ci"].as_array().expect("interval");
        let (lo, hi) = (ci[0].as_f64().expect("lo"), ci[1].as_f64().expect("hi"));
        assert!(0.0 < mrr && mrr <= 1.0 && lo <= mrr && mrr <= hi, "{l}");
        assert!(l["cos"].as_f64().expect("cos").abs() <= 1.0);
    }

    let held = d
        .huffvec(&[
            "eval",
            "--model",
            "model.st",
            "--heldout",
            "heldout.txt",
            "--json",
        ])
        .ok();
    let h = &json(&held.stdout)["heldout"];
    let tokens = h["tokens"].as_u64().expect("tokens");
    let predictions = h["predictions"].as_u64().expect("predictions");
    assert!(tokens > 1000 && predictions > 4 * tokens, "{h}");
    let per_token = h["nll_per_token"].as_f64().expect("nll");
    assert!(per_token.is_finite() && per_token > 0.0);
    let bands = h["bands"].as_array().expect("bands");
    let band_tokens: u64 = bands
        .iter()
        .map(|b| b["tokens"].as_u64().expect("tokens"))
        .sum();
    assert_eq!(band_tokens, tokens);
    let band_nll: f64 = bands
        .iter()
        .map(|b| b["nll_sum"].as_f64().expect("sum"))
        .sum();
    let depths = h["depths"].as_array().expect("depths");
    let depth_nll: f64 = depths
        .iter()
        .map(|d| d["nll_sum"].as_f64().expect("sum"))
        .sum();
    let total = h["nll_sum"].as_f64().expect("sum");
    assert!((band_nll - total).abs() < 1e-6 * total && (depth_nll - total).abs() < 1e-6 * total);
    // Every prediction visits the root.
    assert_eq!(depths[0]["visits"].as_u64(), Some(predictions));
    assert_eq!(
        bands[0]["count_lo"].as_u64(),
        Some(2),
        "bands start at the kept probes"
    );
    let uniform = h["nll_uniform_per_prediction"]
        .as_f64()
        .expect("uniform reference");
    assert!(uniform > 1.0 && uniform.is_finite(), "{h}");

    // Both at once, with tables on standard output.
    let both = d
        .huffvec(&[
            "eval",
            "--model",
            "model.st",
            "--heldout",
            "heldout.txt",
            "--probes",
            "probes.tsv",
        ])
        .ok();
    assert!(
        both.stdout.contains("probes probes.tsv: 60 of 60 scored"),
        "{}",
        both.stdout
    );
    assert!(
        both.stdout.contains("held-out loss on heldout.txt"),
        "{}",
        both.stdout
    );
}

#[test]
fn planting_is_repeatable_by_seed_and_reversible() {
    let (a, b, c) = (Scratch::new(), Scratch::new(), Scratch::new());
    plant(&a, "3", &[]);
    plant(&b, "3", &[]);
    plant(&c, "4", &[]);
    let read = |d: &Scratch, f: &str| std::fs::read(d.path(f)).expect("an output");
    assert_eq!(read(&a, "planted.txt"), read(&b, "planted.txt"));
    assert_eq!(read(&a, "probes.tsv"), read(&b, "probes.tsv"));
    assert_ne!(read(&a, "probes.tsv"), read(&c, "probes.tsv"));
    // Turning each probe back into its parent gives the corpus byte for byte.
    let table = String::from_utf8(read(&a, "probes.tsv")).expect("utf-8");
    let back: HashMap<&str, &str> = table
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0], f[1])
        })
        .collect();
    let planted = read(&a, "planted.txt");
    let mut restored = Vec::with_capacity(planted.len());
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for piece in planted.split_inclusive(|b| b.is_ascii_whitespace()) {
        let end = piece
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(piece.len());
        let word = std::str::from_utf8(&piece[..end]).unwrap_or("");
        match back.get(word) {
            Some(parent) => {
                *counts.entry(word).or_default() += 1;
                restored.extend_from_slice(parent.as_bytes());
                restored.extend_from_slice(&piece[end..]);
            }
            None => restored.extend_from_slice(piece),
        }
    }
    assert_eq!(
        restored,
        std::fs::read(sample_corpus()).expect("the corpus")
    );
    for (probe, parent) in &back {
        let level: u64 = probe
            .rsplit_once("__")
            .expect("a level")
            .1
            .parse()
            .expect("level");
        assert_eq!(counts.get(probe), Some(&level), "{probe} of {parent}");
    }
}

#[test]
fn saved_model_holds_the_written_vectors_and_a_damaged_one_is_refused() {
    let d = Scratch::new();
    plant(&d, "1", &[]);
    train(&d, &["--save-model", "model.st", "--min-count", "10"]);
    let m = ModelFile::read(&d.path("model.st")).expect("the model reads back");
    let text = read_text_vectors(&d.path("vectors.txt"));
    assert_eq!(text.len(), m.vocab.len());
    for (i, (w, v)) in text.iter().enumerate() {
        assert_eq!(m.vocab.word(i), w.as_bytes());
        let row = &m.input[i * m.dim..(i + 1) * m.dim];
        let same = row.iter().zip(v).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "row {i} ({w}) differs from the text output");
    }
    let tree = m.tree.as_ref().expect("an HS model has a tree");
    assert_eq!(m.output_rows(), tree.n_inner());
    assert_eq!(m.config.corpus.min_count, 10);

    let mut bytes = std::fs::read(d.path("model.st")).expect("model");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    d.write("damaged.st", &bytes);
    d.write("held.txt", "the first of the new\n");
    let line = d
        .huffvec(&["eval", "--model", "damaged.st", "--heldout", "held.txt"])
        .error_line();
    assert!(line.contains("damaged.st: checksum: damaged"), "{line}");
    bytes.truncate(mid);
    d.write("short.st", &bytes);
    let line = d
        .huffvec(&["eval", "--model", "short.st", "--heldout", "held.txt"])
        .error_line();
    assert!(line.contains("short.st: header:"), "{line}");
}

#[test]
fn plant_and_probe_errors_are_one_line() {
    let d = Scratch::new();
    let corpus = sample_corpus();
    let corpus = corpus.to_str().expect("utf-8 path");
    let line = d
        .huffvec(&[
            "plant",
            "--input",
            corpus,
            "--output",
            "p.txt",
            "--probes",
            "p.tsv",
            "--parents",
            "100000",
        ])
        .error_line();
    assert!(line.contains("--parents asks for 100000"), "{line}");
    assert!(!d.path("p.txt").exists(), "no output after a refusal");
    let line = d
        .huffvec(&[
            "plant", "--input", corpus, "--output", "p.txt", "--probes", "p.txt",
        ])
        .error_line();
    assert!(line.contains("two outputs"), "{line}");
    d.write("v.txt", "2 2\na 1 0\nb 0 1\n");
    d.write("bad.tsv", "word\tlevel\nx\t2\n");
    let line = d
        .huffvec(&["eval", "--vectors", "v.txt", "--probes", "bad.tsv"])
        .error_line();
    assert!(
        line.contains("bad.tsv: line 1: the header has no 'probe' column"),
        "{line}"
    );
    d.write("keep.txt", "two words\n");
    let line = d
        .huffvec(&["train", "--input", corpus, "--keep", "keep.txt", "--quiet"])
        .error_line();
    assert!(
        line.contains("keep.txt: line 1: a word cannot contain whitespace"),
        "{line}"
    );
}
