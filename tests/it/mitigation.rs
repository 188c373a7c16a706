//! Issue 6 knobs through the CLI: the NS baseline learns, tree shapes report their depth,
//! nonsense combinations are refused with one line naming the option.

use crate::train::{relatedness_margin, train_sample};
use crate::util::{bundled_eval_dir, sample_corpus, Scratch};

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
    let vecs = train_sample(
        &d,
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

/// Runs `huffvec study` in `d` on the sample corpus with `grid.toml`, one epoch and two
/// threads, into `out`, plus `extra` options; the run must succeed.
fn run_study(d: &Scratch, extra: &[&str]) {
    let corpus = sample_corpus();
    let mut args = vec![
        "study",
        "--input",
        corpus.to_str().expect("utf-8 path"),
        "--grid",
        "grid.toml",
        "--out",
        "out",
        "--epochs",
        "1",
        "--threads",
        "2",
        "-q",
    ];
    args.extend_from_slice(extra);
    d.huffvec(&args).ok();
}

#[test]
fn study_writes_one_row_per_grid_config_with_seeds_telemetry_and_figures() {
    let d = Scratch::new();
    d.write(
        "grid.toml",
        "base = \"--dim 12\"\n[[config]]\nname = \"default\"\n[[config]]\nname = \"clamp\"\nargs = \"--saturation clamp\"\n[[config]]\nname = \"ns\"\nargs = \"--loss ns --negative 2\"\n",
    );
    // No --eval-dir: the bundled sets are the default.
    run_study(&d, &["--seeds", "2"]);
    let out = d.path("out");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("study.json")).expect("study.json"))
            .expect("valid JSON");
    let runs = json["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1]["name"], "clamp");
    assert_eq!(json["base"], "--dim 12");
    assert_eq!(json["seeds"], serde_json::json!([1, 2]));
    // The bundled sets: one analogy set and three similarity sets, each scored.
    let sets = |kind: &str| -> Vec<String> {
        runs[0]["summary"][kind]
            .as_array()
            .expect("scores")
            .iter()
            .map(|s| s["set"].as_str().expect("set name").to_string())
            .collect()
    };
    assert_eq!(sets("analogy"), ["questions-words"]);
    assert_eq!(
        sets("similarity"),
        ["EN-MEN-TR-3k", "EN-SIMLEX-999", "EN-WS-353-ALL"]
    );
    for r in runs {
        let seeds: Vec<u64> = r["seeds"]
            .as_array()
            .expect("seeds")
            .iter()
            .map(|s| s["seed"].as_u64().expect("seed"))
            .collect();
        assert_eq!(seeds, [1, 2], "{}", r["name"]);
        let w = &r["summary"]["words_per_sec"];
        assert_eq!(w["n"], 2);
        assert!(w["mean"].as_f64().is_some_and(|x| x > 0.0));
        let training = r["summary"]["training"].as_array().expect("training stats");
        assert!(training[0]["updates_per_word"]
            .as_f64()
            .is_some_and(|x| x > 1.0));
        assert!(training[0]["mean_step_norm"]
            .as_f64()
            .is_some_and(|x| x > 0.0));
        // Negative sampling walks no tree: no node telemetry, and nothing made up.
        let tree = r["name"] != "ns";
        assert_eq!(r["tree_loss"], tree);
        assert_eq!(
            training[0]["mean_abs_g"].as_f64().is_some(),
            tree,
            "{}",
            r["name"]
        );
    }
    // One telemetry file per run, recorded with that run's seed.
    for (name, seed) in [("default", 1), ("clamp", 2), ("ns", 2)] {
        let p = out.join(format!("stats/{name}-seed{seed}.jsonl"));
        let text = std::fs::read_to_string(&p).expect("stats file");
        let header = text.lines().next().expect("header line");
        assert!(header.contains("\"huffvec-stats\""), "{header}");
        assert!(header.contains(&format!("\"seed\":{seed},")), "{header}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(md.contains("| `clamp` | `--saturation clamp` |"), "{md}");
    assert!(md.contains(" ± "), "two seeds show their spread: {md}");
    for table in [
        "## Input-vector updates per word, by band",
        "## Mean input-step norm, by band",
        "## Mean |g| on the band's tree paths",
        "## Mean tree-node step on the band's paths",
    ] {
        assert!(md.contains(table), "{table} missing: {md}");
    }
    assert!(md.contains("| `ns` | – | – |"), "{md}");
    assert!(
        md.contains("[stats/ns-seed2.jsonl](stats/ns-seed2.jsonl)"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    for name in [
        "similarity_by_band",
        "similarity_change_by_band",
        "analogy_by_band",
        "updates_per_word_by_band",
        "input_step_by_band",
    ] {
        let svg = std::fs::read_to_string(out.join(format!("plots/{name}.svg"))).expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains("clamp"), "{name}");
        let png = std::fs::read(out.join(format!("plots/{name}.png"))).expect("png");
        assert!(png.starts_with(b"\x89PNG"), "{name}");
        assert!(
            html.contains(&format!("<img src=\"plots/{name}.svg\"")),
            "{name}"
        );
        assert!(md.contains(&format!("(plots/{name}.png)")), "{name}");
    }
}

#[test]
fn study_without_telemetry_writes_no_training_statistics() {
    let d = Scratch::new();
    d.write("grid.toml", "[[config]]\nname = \"default\"\n");
    let eval = bundled_eval_dir();
    let eval = eval.to_str().expect("utf-8 path");
    run_study(
        &d,
        &["--eval-dir", eval, "--train", "--dim 8", "--no-stats"],
    );
    let out = d.path("out");
    assert!(!out.join("stats").exists());
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains("--no-stats") && !md.contains("updates per word"),
        "{md}"
    );
    assert!(out.join("plots/similarity_by_band.svg").is_file());
    assert!(!out.join("plots/updates_per_word_by_band.svg").exists());
}

#[test]
fn study_refuses_a_grid_that_changes_shared_options() {
    let d = Scratch::new();
    d.write(
        "grid.toml",
        "[[config]]\nname = \"a\"\nargs = \"--threads 3\"\n",
    );
    let err = d
        .huffvec(&["study", "--grid", "grid.toml", "--out", "out"])
        .error_line();
    assert!(err.contains("--threads is shared"), "{err}");
    d.write(
        "stats.toml",
        "[[config]]\nname = \"a\"\nargs = \"--stats-sample 0.5\"\n",
    );
    let err = d
        .huffvec(&["study", "--grid", "stats.toml", "--out", "out"])
        .error_line();
    assert!(err.contains("--stats-sample is shared"), "{err}");
    d.write(
        "bad.toml",
        "[[config]]\nname = \"a\"\nargs = \"--tree oak\"\n",
    );
    let err = d
        .huffvec(&[
            "study",
            "--grid",
            "bad.toml",
            "--out",
            "out",
            "--eval-dir",
            ".",
        ])
        .error_line();
    assert!(
        err.contains("grid config 'a'") && err.contains("oak"),
        "{err}"
    );
    assert!(!d.path("out").exists());
}

#[test]
fn negative_sampling_stopped_and_resumed_equals_an_uninterrupted_run() {
    // One thread and a seed make a run exact; NS draws its negatives from the worker's
    // random stream, which the checkpoint keeps.
    let d = Scratch::new();
    let corpus = sample_corpus();
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
