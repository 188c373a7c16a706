//! `huffvec study`: a spec run end to end (probes, learning-rate matching, paired
//! verdicts, figures), resuming, replaying a run, and refusing bad specs by line.

use crate::util::{bundled_eval_dir, sample_corpus, sample_head, Scratch};

/// A small study on the first 1.2 MB of the sample corpus: four arms (one matching its
/// learning rate), two seeds, two epochs, one thread per run.
fn small_spec(d: &Scratch) {
    let corpus = sample_head(d, "corpus.txt", 1_200_000);
    let eval = bundled_eval_dir();
    d.write(
        "spec.toml",
        format!(
            "name = \"small\"\ncorpus = {:?}\neval_dir = {:?}\nseeds = 2\nthreads = 1\n\
             epochs = 2\ntrain = \"--dim 12\"\nlr_grid = [0.5, 2]\n\
             [plant]\nlevels = [2, 10]\nparents = 30\nholdout = 0.05\n\
             [stats]\nsample = 0.2\n\
             [[arm]]\nname = \"reference\"\n\
             [[arm]]\nname = \"clamp\"\ntrain = \"--saturation clamp\"\n\
             [[arm]]\nname = \"ns\"\ntrain = \"--loss ns --negative 2\"\n\
             [[arm]]\nname = \"matched\"\nlr_match = true\n",
            corpus.to_str().expect("utf-8 path"),
            eval.to_str().expect("utf-8 path")
        ),
    );
}

/// `huffvec study --spec spec.toml --out out` with `extra` options; it must succeed.
fn run_study(d: &Scratch, extra: &[&str]) -> crate::util::Run {
    let args = ["study", "--spec", "spec.toml", "--out", "out"];
    d.huffvec(&[&args[..], extra].concat()).ok()
}

fn json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("JSON file")).expect("valid JSON")
}

#[test]
fn study_spec_runs_resumes_and_replays_byte_for_byte() {
    let d = Scratch::new();
    small_spec(&d);
    let run = run_study(&d, &["--jobs", "2"]);
    assert!(
        run.stderr.contains("[2/2] matched") && run.stderr.contains("[8/8]"),
        "{}",
        run.stderr
    );
    let out = d.path("out");
    let lock = json(&out.join("study.lock.json"));
    assert_eq!(lock["study"]["seeds"], serde_json::json!([1, 2]));
    let corpus = std::fs::read(d.path("corpus.txt")).expect("corpus");
    assert_eq!(
        lock["inputs"]["corpus"]["sha256"].as_str().expect("sha"),
        sha256(&corpus)
    );
    assert_eq!(lock["inputs"]["probes"]["path"], "data/probes.tsv");
    assert_eq!(
        lock["inputs"]["eval"].as_array().expect("eval files").len(),
        4
    );
    let study = json(&out.join("study.json"));
    // Learning-rate matching tried both multipliers on the dev probes and kept one.
    let lr = &study["lr"][0];
    assert_eq!(lr["arm"], "matched");
    assert_eq!(lr["seed"], 3);
    let tried: Vec<f64> = lr["tried"]
        .as_array()
        .expect("tried")
        .iter()
        .map(|t| t[1].as_f64().expect("alpha"))
        .collect();
    assert_eq!(tried.len(), 2);
    assert!(tried.contains(&lr["alpha"].as_f64().expect("alpha")));
    // Every arm on every probe level and band; comparisons for all but the reference,
    // each with the fields a reader needs.
    let cmp = study["comparisons"].as_array().expect("comparisons");
    for level in ["level 2", "level 10"] {
        for arm in ["reference", "clamp", "ns", "matched"] {
            let c = cmp
                .iter()
                .find(|c| c["arm"] == arm && c["measure"] == "probe-mrr" && c["band"] == level)
                .unwrap_or_else(|| panic!("{arm} {level} missing"));
            assert_eq!(c["seeds"], 2);
            let k = &c["comparison"];
            if arm == "reference" {
                assert!(k.is_null());
                continue;
            }
            for f in ["delta", "p", "p_holm", "mde"] {
                assert!(k[f].is_number(), "{arm} {level} {f}: {k}");
            }
            let ci = k["delta_ci"].as_array().expect("interval");
            assert!(ci[0].as_f64() <= ci[1].as_f64());
            assert!(k["p_holm"].as_f64() >= k["p"].as_f64());
            assert!(k["verdict"].is_string());
        }
    }
    assert!(cmp
        .iter()
        .any(|c| c["measure"] == "similarity" && !c["comparison"].is_null()));
    assert!(cmp
        .iter()
        .any(|c| c["measure"] == "heldout-nll" && c["arm"] == "clamp"));
    assert!(!cmp
        .iter()
        .any(|c| c["measure"] == "heldout-nll" && c["arm"] == "ns"));
    // Learning curves have both epochs; the |g| profile has the context-free baseline.
    let curve = &study["curves"][0];
    assert_eq!(curve["epochs"], serde_json::json!([1, 2]));
    let g = &study["depth_g"][0];
    assert!(g["abs_g"][0].as_f64().is_some_and(|x| x > 0.0 && x < 1.0));
    assert!(g["baseline"][0]
        .as_f64()
        .is_some_and(|x| x > 0.0 && x <= 0.5));
    for name in ["forest_0", "forest_1", "curve_probe_2", "abs_g_by_depth"] {
        assert!(out.join(format!("plots/{name}.svg")).is_file(), "{name}");
        assert!(out.join(format!("plots/{name}.png")).is_file(), "{name}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(
        md.contains("## Against the reference: probe MRR (test split)"),
        "{md}"
    );
    assert!(
        md.contains("## Methods") && md.contains("lock digest"),
        "{md}"
    );
    let stats = out.join("runs/clamp/seed-2/stats.jsonl");
    assert!(std::fs::read_to_string(&stats)
        .expect("stats")
        .contains("\"seed\":2,"));

    // Run again: nothing is trained, and the study is the same byte for byte.
    let before = std::fs::read(out.join("study.json")).expect("study.json");
    let again = run_study(&d, &["--jobs", "2"]);
    assert_eq!(
        again.stderr.matches("(done before)").count(),
        10,
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read(out.join("study.json")).expect("study.json"),
        before
    );
    // Collecting the same results writes the same study.json.
    d.huffvec(&["study", "--collect", "out"]).ok();
    assert_eq!(
        std::fs::read(out.join("study.json")).expect("study.json"),
        before
    );

    // Replay one run: identical vectors.
    let replay = d
        .huffvec(&[
            "study",
            "--replay",
            "out/study.lock.json",
            "--arm",
            "clamp",
            "--seed",
            "2",
            "--output",
            "replay.bin",
        ])
        .ok();
    assert!(
        replay.stderr.contains("identical to the study's run"),
        "{}",
        replay.stderr
    );
    let recorded = json(&out.join("runs/clamp/seed-2/result.json"));
    let bytes = std::fs::read(d.path("replay.bin")).expect("replayed vectors");
    assert_eq!(
        recorded["vectors_sha256"].as_str().expect("sha"),
        sha256(&bytes)
    );

    // A changed spec does not reuse the directory.
    let text = std::fs::read_to_string(d.path("spec.toml")).expect("spec");
    d.write("spec.toml", text.replace("epochs = 2", "epochs = 1"));
    let err = d
        .huffvec(&["study", "--spec", "spec.toml", "--out", "out"])
        .error_line();
    assert!(err.contains("holds another study"), "{err}");
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn study_refuses_bad_specs_naming_the_line() {
    let d = Scratch::new();
    let corpus = sample_corpus();
    let head = format!("corpus = {:?}\n", corpus.to_str().expect("utf-8 path"));
    for (body, line, what) in [
        ("seeds = 2\nbogus = 1\n[[arm]]\nname = \"a\"\n", 3, "bogus"),
        (
            "[[arm]]\nname = \"a\"\ntrain = \"--threads 3\"\n",
            4,
            "--threads",
        ),
        (
            "[[arm]]\nname = \"a\"\n[[arm]]\nname = \"b\"\ntrain = \"--tree oak\"\n",
            6,
            "oak",
        ),
        ("train = \"--dim x\"\n[[arm]]\nname = \"a\"\n", 2, "--dim"),
    ] {
        d.write("bad.toml", format!("{head}{body}"));
        let err = d
            .huffvec(&["study", "--spec", "bad.toml", "--out", "out"])
            .error_line();
        assert!(
            err.contains(&format!("line {line}")) && err.contains(what),
            "{body}: {err}"
        );
        assert!(!d.path("out").exists());
    }
}

#[test]
fn planned_study_runs_line_by_line_collects_and_refuses_changed_inputs() {
    let d = Scratch::new();
    let corpus = sample_corpus();
    d.write(
        "spec.toml",
        format!(
            "corpus = {:?}\nepochs = 1\ntrain = \"--dim 8\"\nstats = false\n\
             [plant]\nlevels = [5]\nparents = 20\n\
             [[arm]]\nname = \"reference\"\n[[arm]]\nname = \"clamp\"\n\
             train = \"--saturation clamp\"\n",
            corpus.to_str().expect("utf-8 path")
        ),
    );
    run_study(&d, &["--plan-only"]);
    let out = d.path("out");
    assert!(!out.join("runs").exists());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("plan.jsonl"))
        .expect("plan")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["arm"], "clamp");
    assert_eq!(lines[1]["dir"], "runs/clamp/seed-1");
    let err = d.huffvec(&["study", "--collect", "out"]).error_line();
    assert!(err.contains("2 planned runs have no result"), "{err}");
    for l in &lines {
        let cmd: Vec<String> = l["command"]
            .as_array()
            .expect("command")
            .iter()
            .map(|a| a.as_str().expect("argument").to_string())
            .collect();
        assert_eq!(&cmd[1..3], ["study", "run"]);
        let run = d.huffvec(&cmd[1..]).ok();
        assert!(run.stderr.contains("trained in"), "{}", run.stderr);
        // Idempotent: a second time it is skipped.
        let again = d.huffvec(&cmd[1..]).ok();
        assert!(
            again.stderr.contains("done before, skipped"),
            "{}",
            again.stderr
        );
    }
    d.huffvec(&["study", "--collect", "out"]).ok();
    let study = json(&out.join("study.json"));
    assert_eq!(study["runs"].as_array().expect("runs").len(), 2);
    // The planted corpus changed: a run refuses to train on it.
    let planted = out.join("data/corpus.txt");
    let mut text = std::fs::read(&planted).expect("planted corpus");
    text.extend_from_slice(b"one more line\n");
    std::fs::write(&planted, text).expect("write");
    std::fs::remove_dir_all(out.join("runs/clamp")).expect("remove a run");
    let err = d
        .huffvec(&["study", "run", "out", "--arm", "clamp", "--seed", "1"])
        .error_line();
    assert!(err.contains("changed since the study was locked"), "{err}");
}
