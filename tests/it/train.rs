//! End-to-end training through the CLI.

use std::collections::HashMap;
use std::path::Path;

use crate::util::{cosine, read_text_vectors, sample_corpus, Scratch};

/// Trains the sample corpus at dim 50 for 3 epochs with `extra` options; returns the vectors.
pub(crate) fn train_sample(d: &Scratch, out: &str, extra: &[&str]) -> Vec<(String, Vec<f32>)> {
    train_corpus(d, &sample_corpus(), out, extra)
}

/// Trains `corpus` as [`train_sample`] trains the sample corpus.
pub(crate) fn train_corpus(
    d: &Scratch,
    corpus: &Path,
    out: &str,
    extra: &[&str],
) -> Vec<(String, Vec<f32>)> {
    let mut args = vec![
        "train",
        "--input",
        corpus.to_str().expect("utf-8 path"),
        "--output",
        out,
        "--dim",
        "50",
        "--epochs",
        "3",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    d.huffvec(&args).ok();
    read_text_vectors(&d.path(out))
}

/// Mean cosine of related pairs minus mean cosine of unrelated pairs.
pub(crate) fn relatedness_margin(vecs: &[(String, Vec<f32>)]) -> f32 {
    let m: HashMap<&str, &[f32]> = vecs
        .iter()
        .map(|(w, v)| (w.as_str(), v.as_slice()))
        .collect();
    let related = [
        ("king", "queen"),
        ("france", "paris"),
        ("war", "army"),
        ("one", "two"),
        ("father", "son"),
        ("music", "album"),
    ];
    let unrelated = [
        ("king", "album"),
        ("france", "son"),
        ("war", "music"),
        ("one", "queen"),
        ("father", "paris"),
        ("music", "army"),
    ];
    let mean = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(a, b)| cosine(m[a], m[b])).sum::<f32>() / pairs.len() as f32
    };
    mean(&related) - mean(&unrelated)
}

#[test]
fn skipgram_puts_related_words_closer_than_unrelated() {
    let d = Scratch::new();
    let vecs = train_sample(&d, "sg.txt", &["--threads", "2"]);
    let margin = relatedness_margin(&vecs);
    assert!(margin > 0.15, "related-unrelated cosine margin {margin}");
}

#[test]
fn cbow_puts_related_words_closer_than_unrelated() {
    let d = Scratch::new();
    let vecs = train_sample(&d, "cbow.txt", &["--model", "cbow", "--threads", "2"]);
    let margin = relatedness_margin(&vecs);
    assert!(margin > 0.15, "related-unrelated cosine margin {margin}");
}

#[test]
fn one_thread_with_a_seed_is_bit_reproducible() {
    let d = Scratch::new();
    let corpus = sample_corpus();
    let c = corpus.to_str().expect("utf-8 path");
    let run = |out: &str, seed: &str| {
        d.huffvec(&[
            "train",
            "-i",
            c,
            "-o",
            out,
            "--threads",
            "1",
            "--seed",
            seed,
            "--epochs",
            "1",
            "--dim",
            "20",
            "-q",
        ])
        .ok();
        std::fs::read(d.path(out)).expect("vectors")
    };
    let a = run("a.txt", "7");
    let b = run("b.txt", "7");
    let c2 = run("c.txt", "8");
    assert_eq!(a, b, "same seed, one thread: identical files");
    assert_ne!(a, c2, "another seed gives other vectors");
}

#[test]
fn binary_and_text_outputs_hold_the_same_vectors() {
    let d = Scratch::new();
    let corpus = d.write(
        "c.txt",
        "the cat sat on the mat\nthe dog sat on the log\n"
            .repeat(50)
            .as_bytes(),
    );
    let c = corpus.to_str().expect("utf-8 path");
    for (out, fmt) in [("v.txt", "text"), ("v.bin", "binary")] {
        d.huffvec(&[
            "train",
            "-i",
            c,
            "-o",
            out,
            "--format",
            fmt,
            "--threads",
            "1",
            "--min-count",
            "1",
            "--dim",
            "8",
            "--epochs",
            "1",
            "-q",
        ])
        .ok();
    }
    let text = read_text_vectors(&d.path("v.txt"));
    let bin = std::fs::read(d.path("v.bin")).expect("binary vectors");
    let header_end = bin.iter().position(|b| *b == b'\n').expect("header") + 1;
    assert_eq!(&bin[..header_end], format!("{} 8\n", text.len()).as_bytes());
    let mut pos = header_end;
    for (word, v) in &text {
        let sp = pos + bin[pos..].iter().position(|b| *b == b' ').expect("space");
        assert_eq!(&bin[pos..sp], word.as_bytes());
        pos = sp + 1;
        for x in v {
            let got = f32::from_le_bytes(bin[pos..pos + 4].try_into().expect("4 bytes"));
            assert_eq!(
                got, *x,
                "text is shortest round-trip, so values agree exactly"
            );
            pos += 4;
        }
        assert_eq!(bin[pos], b'\n');
        pos += 1;
    }
    assert_eq!(pos, bin.len());
}

#[test]
fn invalid_utf8_words_are_written_back_byte_for_byte() {
    let d = Scratch::new();
    let corpus = d.write("c.txt", b"caf\xe9 na\xefve caf\xe9 word\n".repeat(20));
    d.huffvec(&[
        "train",
        "-i",
        corpus.to_str().expect("path"),
        "-o",
        "v.txt",
        "--min-count",
        "1",
        "--dim",
        "4",
        "--epochs",
        "1",
        "--threads",
        "1",
        "-q",
        "--save-vocab",
        "vocab.txt",
    ])
    .ok();
    let out = std::fs::read(d.path("v.txt")).expect("vectors");
    assert!(out.windows(5).any(|w| w == b"caf\xe9 "));
    assert!(out.windows(6).any(|w| w == b"na\xefve "));
    let vocab = std::fs::read(d.path("vocab.txt")).expect("vocab");
    assert!(
        vocab.starts_with(b"caf\xe9 40\n"),
        "{:?}",
        String::from_utf8_lossy(&vocab)
    );
}

#[test]
fn gensim_loads_the_binary_output() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import gensim"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        crate::util::skip_unless_required("python3 with gensim is not importable");
        return;
    }
    let d = Scratch::new();
    let corpus = d.write(
        "c.txt",
        "alpha beta gamma delta\nbeta gamma alpha\n"
            .repeat(30)
            .as_bytes(),
    );
    d.huffvec(&[
        "train",
        "-i",
        corpus.to_str().expect("path"),
        "-o",
        "v.bin",
        "--format",
        "binary",
        "--min-count",
        "1",
        "--dim",
        "12",
        "--epochs",
        "1",
        "--threads",
        "1",
        "-q",
    ])
    .ok();
    d.huffvec(&[
        "train",
        "-i",
        corpus.to_str().expect("path"),
        "-o",
        "v.txt",
        "--min-count",
        "1",
        "--dim",
        "12",
        "--epochs",
        "1",
        "--threads",
        "1",
        "-q",
    ])
    .ok();
    let script = "import sys\nfrom gensim.models import KeyedVectors as K\n\
        b = K.load_word2vec_format(sys.argv[1], binary=True)\n\
        t = K.load_word2vec_format(sys.argv[2], binary=False)\n\
        assert b.vector_size == 12 and len(b) == len(t) == 5, (b.vector_size, len(b))\n\
        assert all((b[w] == t[w]).all() for w in t.index_to_key)\n\
        print(' '.join(b.index_to_key))\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(d.path("v.bin"))
        .arg(d.path("v.txt"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words = String::from_utf8_lossy(&out.stdout);
    assert_eq!(words.trim(), "</s> alpha beta gamma delta");
}

#[test]
fn bench_writes_its_table_json_and_scaling_plot() {
    let d = Scratch::new();
    let corpus = d.write("c.txt", crate::util::synthetic_corpus(20_000, 300, 3));
    let r = d
        .huffvec(&[
            "bench",
            "--input",
            corpus.to_str().expect("utf-8 path"),
            "--threads",
            "1,2",
            "--epochs",
            "1",
            "--repeat",
            "1",
            "--out",
            "b",
        ])
        .ok();
    assert!(r.stdout.contains("| threads | words/s"), "{}", r.stdout);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path("b/bench.json")).expect("bench.json"))
            .expect("valid JSON");
    let threads: Vec<u64> = json["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["threads"].as_u64().expect("threads"))
        .collect();
    assert_eq!(threads, vec![1, 2]);
    assert_eq!(json["rows"][0]["speedup"].as_f64(), Some(1.0));
    if cfg!(target_os = "linux") {
        // The process holds at least the run's two matrices (300 words x 100 floats each)
        // at its peak; no bench process stays under a few MiB.
        for row in json["rows"].as_array().expect("rows") {
            let mib = row["peak_rss_mib"].as_f64().expect("peak RSS on Linux");
            assert!((1.0..4096.0).contains(&mib), "{row}");
        }
        assert!(r.stdout.contains("peak RSS MiB"), "{}", r.stdout);
    }
    let svg = std::fs::read_to_string(d.path("b/bench.svg")).expect("bench.svg");
    assert!(svg.starts_with("<svg") && svg.contains("parallel efficiency"));
    let png = std::fs::read(d.path("b/bench.png")).expect("bench.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn stats_and_word_stats_files_are_written_and_reported() {
    let d = Scratch::new();
    let corpus = d.write("c.txt", crate::util::synthetic_corpus(20_000, 300, 5));
    let c = corpus.to_str().expect("utf-8 path");
    d.huffvec(&[
        "train",
        "-i",
        c,
        "-o",
        "v.txt",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--quiet",
        "--stats",
        "s.jsonl",
        "--word-stats",
        "w.tsv",
        "--stats-every",
        "25",
    ])
    .ok();
    let stats = std::fs::read_to_string(d.path("s.jsonl")).expect("stats file");
    let records: Vec<serde_json::Value> = stats
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
        .collect();
    assert!(records.len() > 2, "{} records", records.len());
    let words = std::fs::read_to_string(d.path("w.tsv")).expect("word stats file");
    assert!(words.lines().count() > 100);
    d.huffvec(&["report", "--stats", "s.jsonl", "--out", "rep"])
        .ok();
    assert!(d.path("rep/index.html").is_file());
}
