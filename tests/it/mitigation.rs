//! Issue 6 knobs through the CLI: the NS baseline learns, tree shapes report their depth,
//! nonsense combinations are refused with one line naming the option.

use crate::train::{relatedness_margin, train_corpus, train_sample};
use crate::util::{sample_corpus, sample_head, Scratch};

#[test]
fn negative_sampling_baseline_learns() {
    let d = Scratch::new();
    let vecs = train_sample(&d, "ns.txt", &["--threads", "2", "--loss", "ns"]);
    // NS vectors share a strong common direction on this small corpus (word2vec.c gives
    // 0.89 related vs 0.72 unrelated mean cosine here), so the margin is smaller than HS's.
    let margin = relatedness_margin(&vecs);
    assert!(margin > 0.08, "related-unrelated cosine margin {margin}");
}

#[test]
fn every_mitigation_trains_to_finite_vectors() {
    let d = Scratch::new();
    let corpus = sample_head(&d, "head.txt", 600_000);
    let vecs = train_corpus(
        &d,
        &corpus,
        "all.txt",
        &[
            "--threads",
            "2",
            "--tree",
            "random",
            "--saturation",
            "clamp",
            "--lr-depth-scale",
            "1",
            "--optimizer",
            "adagrad",
            "--clip-grad",
            "1",
            "--l2",
            "1e-4",
            "--init",
            "xavier",
        ],
    );
    assert!(!vecs.is_empty());
    assert!(vecs.iter().all(|(_, v)| v.iter().all(|x| x.is_finite())));
}

/// Trains the sample corpus for one epoch at dim 8 with `extra` options and returns the
/// words and the maximum depth from the tree summary line.
fn tree_summary(d: &Scratch, extra: &[&str]) -> (usize, usize) {
    let corpus = sample_corpus();
    let mut args = vec![
        "train",
        "--input",
        corpus.to_str().expect("utf-8 path"),
        "--output",
        "t.txt",
        "--dim",
        "8",
        "--epochs",
        "1",
    ];
    args.extend_from_slice(extra);
    let err = d.huffvec(&args).ok().stderr;
    let line = err
        .lines()
        .find(|l| l.contains("tree:"))
        .expect("tree summary line");
    let num_after = |key: &str| -> usize {
        let rest = &line[line.find(key).expect("key in summary") + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|s| s.parse().ok())
            .expect("number")
    };
    (num_after("tree:"), num_after("max depth"))
}

#[test]
fn balanced_tree_summary_reports_ceil_log2_depth() {
    let d = Scratch::new();
    let (words, depth) = tree_summary(&d, &["--tree", "balanced"]);
    assert!(words > 1000, "{words} words");
    assert!(1usize << depth >= words, "depth {depth}, {words} words");
    assert!(
        1usize << (depth - 1) < words,
        "depth {depth}, {words} words"
    );
}

#[test]
fn capped_tree_keeps_every_path_within_the_cap() {
    // The sample's vocabulary (about 8,800 words) needs codes of at least 14 bits, and
    // its Huffman tree is deeper than 15, so a cap of 15 binds.
    let d = Scratch::new();
    let (words, huffman_depth) = tree_summary(&d, &[]);
    assert!(
        huffman_depth > 15,
        "the cap must bind: Huffman depth {huffman_depth}"
    );
    let capped = tree_summary(&d, &["--tree", "huffman-capped", "--max-code-len", "15"]);
    assert_eq!(capped, (words, 15));
    let (_, kept_depth) = tree_summary(&d, &["--tree", "huffman-kept"]);
    assert!(
        kept_depth < huffman_depth,
        "subsampling lifts the rarest words: {kept_depth} vs {huffman_depth}"
    );
}

#[test]
fn nonsense_combinations_are_refused_with_one_line() {
    let d = Scratch::new();
    let corpus = sample_corpus();
    let input = corpus.to_str().expect("utf-8 path");
    for (extra, option) in [
        (&["--negative", "5"][..], "--negative"),
        (&["--loss", "ns", "--negative", "0"][..], "--negative"),
        (&["--loss", "ns", "--tree", "balanced"][..], "--tree"),
        (
            &["--loss", "ns", "--lr-depth-scale", "1"][..],
            "--lr-depth-scale",
        ),
        (&["--clip-grad", "0"][..], "--clip-grad"),
        (&["--l2", "-1"][..], "--l2"),
        (&["--max-code-len", "12"][..], "--max-code-len"),
        (&["--tree", "huffman-capped"][..], "--max-code-len"),
        (
            &["--tree", "huffman-capped", "--max-code-len", "12"][..],
            "--max-code-len",
        ),
    ] {
        let mut args = vec!["train", "--input", input, "--output", "x.txt", "-q"];
        args.extend_from_slice(extra);
        let err = d.huffvec(&args).error_line();
        assert!(err.contains(option), "{extra:?}: {err}");
        assert!(!d.path("x.txt").exists());
    }
}

#[test]
fn negative_sampling_stopped_and_resumed_equals_an_uninterrupted_run() {
    // One thread and a seed make a run exact; NS draws its negatives from the worker's
    // random stream, which the checkpoint keeps.
    let d = Scratch::new();
    // A stop by --stop-at lands at a word count: a fifth of the sample will do.
    let corpus = sample_head(&d, "head.txt", 600_000);
    let corpus = corpus.to_str().expect("utf-8 path");
    let common = [
        "train",
        "--input",
        corpus,
        "--threads",
        "1",
        "--seed",
        "5",
        "--dim",
        "16",
        "--epochs",
        "2",
        "--loss",
        "ns",
        "-q",
    ];
    let mut args = common.to_vec();
    args.extend(["--output", "whole.txt"]);
    d.huffvec(&args).ok();
    let mut args = common.to_vec();
    args.extend(["--output", "parts.txt", "--stop-at", "40"]);
    d.huffvec(&args).ok();
    d.huffvec(&["train", "-q", "--resume", "parts.txt.ckpt"])
        .ok();
    let whole = std::fs::read(d.path("whole.txt")).expect("whole");
    let parts = std::fs::read(d.path("parts.txt")).expect("parts");
    assert!(
        whole == parts,
        "resumed NS run differs from the uninterrupted one"
    );
}
