//! Checkpoints and resume through the real binary: with `--threads 1 --seed S`, a run
//! stopped (by `--stop-at`, SIGINT or SIGTERM) and resumed ends with the same bytes as an
//! uninterrupted one, with `--optimizer adagrad` too; SIGINT exits with status 130, SIGTERM
//! with 143; a checkpoint of another corpus or other settings is refused; a periodic
//! checkpoint that cannot be written is a warning naming the path and the cause; a corpus
//! truncated during training changes nothing, because training reads only the id cache.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util::{run, sample_corpus, sample_head, signal, synthetic_corpus, Run, Scratch};

/// Settings of every deterministic run here: one thread, fixed seed, two epochs, so that a
/// run lasts long enough for a signal to land mid-run.
const SETTINGS: &[&str] = &[
    "--threads",
    "1",
    "--seed",
    "7",
    "--dim",
    "32",
    "--epochs",
    "2",
    "--min-count",
    "3",
    "--quiet",
];

/// The vectors of an uninterrupted run on the sample corpus (computed once).
fn reference() -> &'static [u8] {
    static REF: OnceLock<Vec<u8>> = OnceLock::new();
    REF.get_or_init(|| {
        let w = Scratch::new();
        run(w
            .command()
            .args(["train", "--output", "ref.txt", "--input"])
            .arg(sample_corpus())
            .args(SETTINGS))
        .ok();
        std::fs::read(w.path("ref.txt")).unwrap()
    })
}

fn train(w: &Scratch, corpus: &Path, extra: &[&str]) -> Command {
    let mut c = w.command();
    c.args(["train", "--output", "out.txt", "--input"])
        .arg(corpus)
        .args(SETTINGS)
        .args(extra);
    c
}

fn resume(w: &Scratch, ckpt: &str, extra: &[&str]) -> Run {
    run(w
        .command()
        .args(["train", "--quiet", "--resume", ckpt])
        .args(extra))
}

/// Waits until `path` exists, failing if `child` exits first.
fn wait_for_file(child: &mut Child, path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("huffvec ended ({st}) before writing {}", path.display());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no checkpoint after 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: Child) -> (Option<i32>, String) {
    let o = Run::from(child.wait_with_output().unwrap());
    (o.code, o.stderr)
}

#[test]
fn stop_at_then_resume_equals_an_uninterrupted_run() {
    let w = Scratch::new();
    let o = run(&mut train(&w, &sample_corpus(), &["--stop-at", "35"]));
    let msg = o.ok().stderr;
    assert!(
        msg.contains("resume with `huffvec train --resume out.txt.ckpt`"),
        "{msg}"
    );
    assert!(
        !w.path("out.txt").exists(),
        "no vectors before the run is complete"
    );
    // Resume in two more rounds (a periodic checkpoint, another stop) to cross several
    // pause points, from another directory to show the checkpoint's paths are absolute.
    resume(
        &w,
        "out.txt.ckpt",
        &["--stop-at", "70", "--checkpoint-every", "20"],
    )
    .ok();
    run(w
        .command()
        .current_dir("/")
        .args(["train", "--quiet", "--resume"])
        .arg(w.path("out.txt.ckpt")))
    .ok();
    assert!(
        std::fs::read(w.path("out.txt")).unwrap() == reference(),
        "resumed vectors differ"
    );
    assert!(
        !w.path("out.txt.ckpt").exists(),
        "checkpoint kept after completion"
    );
}

#[test]
fn sigint_checkpoints_and_resume_equals_an_uninterrupted_run() {
    let w = Scratch::new();
    let mut child = train(
        &w,
        &sample_corpus(),
        &["--checkpoint", "run.ckpt", "--checkpoint-every", "10"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_file(&mut child, &w.path("run.ckpt"));
    signal(&child, "-INT");
    let (code, msg) = stderr_of(child);
    assert_eq!(code, Some(130), "{msg}");
    assert!(
        msg.contains("resume with `huffvec train --resume run.ckpt`"),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(!w.path("out.txt").exists());
    resume(&w, "run.ckpt", &[]).ok();
    assert!(
        std::fs::read(w.path("out.txt")).unwrap() == reference(),
        "resumed vectors differ"
    );
}

#[test]
fn sigterm_checkpoints_to_the_default_path_and_resume_equals_an_uninterrupted_run() {
    let w = Scratch::new();
    // A stop at 5% proves training has begun; the resumed run is then terminated.
    run(&mut train(&w, &sample_corpus(), &["--stop-at", "5"])).ok();
    let mut child = w
        .command()
        .args([
            "train",
            "--quiet",
            "--resume",
            "out.txt.ckpt",
            "--checkpoint-every",
            "10",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first periodic checkpoint replaces the file: wait for a newer modification time.
    let first = std::fs::metadata(w.path("out.txt.ckpt"))
        .unwrap()
        .modified()
        .unwrap();
    let t0 = Instant::now();
    while std::fs::metadata(w.path("out.txt.ckpt"))
        .and_then(|m| m.modified())
        .is_ok_and(|t| t == first)
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before its first checkpoint"
        );
        assert!(t0.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "-TERM");
    let (code, msg) = stderr_of(child);
    assert_eq!(code, Some(143), "{msg}");
    assert!(msg.contains("huffvec train --resume out.txt.ckpt"), "{msg}");
    resume(&w, "out.txt.ckpt", &[]).ok();
    assert!(
        std::fs::read(w.path("out.txt")).unwrap() == reference(),
        "resumed vectors differ"
    );
}

#[test]
fn adagrad_stop_at_then_resume_equals_an_uninterrupted_run() {
    let w = Scratch::new();
    // Stops by --stop-at land at a word count, not a time: a fifth of the sample will do.
    let corpus = sample_head(&w, "head.txt", 600_000);
    run(w
        .command()
        .args(["train", "--output", "ref.txt", "--input"])
        .arg(&corpus)
        .args(SETTINGS)
        .args(["--optimizer", "adagrad"]))
    .ok();
    let reference = std::fs::read(w.path("ref.txt")).unwrap();
    run(&mut train(
        &w,
        &corpus,
        &["--optimizer", "adagrad", "--stop-at", "30"],
    ))
    .ok();
    let h = huffvec::support::checkpoint::read_header(&w.path("out.txt.ckpt")).unwrap();
    assert!(h.adagrad, "an adagrad checkpoint without accumulators");
    // Two more rounds, through a periodic checkpoint and another stop.
    resume(
        &w,
        "out.txt.ckpt",
        &["--stop-at", "70", "--checkpoint-every", "20"],
    )
    .ok();
    resume(&w, "out.txt.ckpt", &[]).ok();
    assert!(
        std::fs::read(w.path("out.txt")).unwrap() == reference,
        "resumed adagrad vectors differ"
    );
}

#[test]
fn a_failed_periodic_checkpoint_warns_with_path_and_cause_and_training_goes_on() {
    let w = Scratch::new();
    std::fs::create_dir(w.path("sub")).unwrap();
    let mut child = train(
        &w,
        &sample_corpus(),
        &["--checkpoint", "sub/run.ckpt", "--checkpoint-every", "10"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_file(&mut child, &w.path("sub/run.ckpt"));
    // Freeze the run, take its checkpoint directory away, go on: every later periodic
    // checkpoint fails.
    signal(&child, "-STOP");
    std::fs::remove_dir_all(w.path("sub")).unwrap();
    signal(&child, "-CONT");
    let (code, msg) = stderr_of(child);
    assert_eq!(code, Some(0), "{msg}");
    let warning = msg
        .lines()
        .find(|l| l.starts_with("warning: checkpoint at "))
        .unwrap_or_else(|| panic!("no warning, even with --quiet: {msg}"));
    assert!(
        warning.contains("not written to sub/run.ckpt, training goes on: "),
        "{warning}"
    );
    assert!(
        warning.ends_with("output directory sub does not exist; create it first")
            || warning.contains("No such file"),
        "the cause is missing: {warning}"
    );
    assert!(
        std::fs::read(w.path("out.txt")).unwrap() == reference(),
        "vectors differ"
    );
}

#[test]
fn truncating_the_corpus_during_training_changes_nothing() {
    let w = Scratch::new();
    let corpus = w.write("corpus.txt", std::fs::read(sample_corpus()).unwrap());
    let mut child = train(
        &w,
        &corpus,
        &["--checkpoint", "t.ckpt", "--checkpoint-every", "10"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_file(&mut child, &w.path("t.ckpt"));
    // Training has started from the encoded cache; freeze it, cut the corpus, go on.
    signal(&child, "-STOP");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&corpus)
        .unwrap();
    f.set_len(1000).unwrap();
    drop(f);
    signal(&child, "-CONT");
    let (code, msg) = stderr_of(child);
    assert_eq!(code, Some(0), "{msg}");
    assert!(
        std::fs::read(w.path("out.txt")).unwrap() == reference(),
        "vectors differ"
    );
    assert!(
        !w.path("t.ckpt").exists(),
        "checkpoint kept after completion"
    );
}

#[test]
fn checkpoints_of_other_runs_are_refused_with_the_reason() {
    let w = Scratch::new();
    let corpus = w.write("small.txt", synthetic_corpus(60_000, 400, 3));
    let quick = [
        "--threads",
        "1",
        "--dim",
        "8",
        "--epochs",
        "2",
        "--quiet",
        "--min-count",
        "1",
    ];
    run(w
        .command()
        .args([
            "train",
            "--input",
            "small.txt",
            "--output",
            "v.txt",
            "--stop-at",
            "50",
        ])
        .args(quick))
    .ok();
    let refused = |extra: &[&str], want: &str| {
        let o = resume(&w, "v.txt.ckpt", extra);
        let msg = &o.stderr;
        assert_eq!(o.code, Some(1), "{extra:?}: {msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
        assert!(msg.contains(want), "{extra:?}: {msg:?} lacks {want:?}");
        assert!(!w.path("v.txt").exists());
    };
    refused(
        &["--dim", "9"],
        "checkpoint was made with --dim 8 but this run asks for --dim 9",
    );
    refused(&["--seed", "2"], "--seed 1 but this run asks for --seed 2");
    refused(
        &["--model", "cbow"],
        "--model skipgram but this run asks for --model cbow",
    );
    refused(
        &["--stop-at", "10"],
        "--stop-at 10% is not past the checkpoint's progress",
    );
    w.write("other.txt", synthetic_corpus(60_000, 400, 4));
    refused(
        &["--input", "other.txt"],
        "checkpoint was made from another corpus",
    );
    // A fresh run must not overwrite the interrupted run's checkpoint.
    let o = run(w
        .command()
        .args(["train", "--input", "small.txt", "--output", "v.txt"])
        .args(quick));
    let msg = &o.stderr;
    assert!(
        msg.contains("already exists and a new run would overwrite it"),
        "{msg}"
    );
    // Damage: one flipped bit, then a truncation.
    let good = std::fs::read(w.path("v.txt.ckpt")).unwrap();
    let mut bad = good.clone();
    let at = good.len() - 100;
    bad[at] ^= 1;
    std::fs::write(w.path("v.txt.ckpt"), &bad).unwrap();
    refused(&[], "checksum mismatch: the checkpoint is damaged");
    std::fs::write(w.path("v.txt.ckpt"), &good[..good.len() / 2]).unwrap();
    refused(&[], "truncated or damaged");
    // The corpus edited in place (same length, other content) is refused too.
    std::fs::write(w.path("v.txt.ckpt"), &good).unwrap();
    let mut text = std::fs::read(&corpus).unwrap();
    text.swap(0, 1);
    std::fs::write(&corpus, &text).unwrap();
    refused(&[], "another corpus or another version of it");
    text.swap(0, 1);
    std::fs::write(&corpus, &text).unwrap();
    resume(&w, "v.txt.ckpt", &[]).ok();
    assert!(w.path("v.txt").exists());
}

#[test]
fn several_threads_pause_together_and_resume_to_a_complete_run() {
    let w = Scratch::new();
    w.write("c.txt", synthetic_corpus(200_000, 2000, 9));
    let base = ["train", "--input", "c.txt", "--output", "v.txt", "--quiet"];
    run(w.command().args(base).args([
        "--threads",
        "2",
        "--dim",
        "16",
        "--epochs",
        "2",
        "--stop-at",
        "50",
    ]))
    .ok();
    let h = huffvec::support::checkpoint::read_header(&w.path("v.txt.ckpt")).unwrap();
    assert!(
        (50.0..100.0).contains(&h.progress_pct()),
        "{}",
        h.progress_pct()
    );
    assert_eq!(h.workers.len(), 2);
    for s in &h.workers {
        assert!(s.epoch > 1 || s.pos > 0, "a worker made no progress: {s:?}");
    }
    resume(&w, "v.txt.ckpt", &[]).ok();
    let text = std::fs::read_to_string(w.path("v.txt")).unwrap();
    let mut lines = text.lines();
    let header: Vec<usize> = lines
        .next()
        .unwrap()
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(header[1], 16);
    assert_eq!(lines.count(), header[0]);
    assert!(!w.path("v.txt.ckpt").exists());
}
