//! The `--stats` file under faults, through the real binary: SIGINT mid-run then resume
//! gives the uninterrupted run's file record for record (1 thread, fixed seed; wall-clock
//! fields aside); SIGKILL leaves a valid file holding every closed snapshot, which `huffvec
//! report` renders marked incomplete, and resuming from the last periodic checkpoint trims
//! it back and continues to the same file; a full disk under the stats file is a warning
//! and the vectors are still written; a run resumed without telemetry, or whose stats file
//! was lost, shows the gap.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{run, sample_corpus, signal, skip_unless_required, Run, Scratch};

/// Training settings of every run here: one thread, fixed seed, two epochs, so that a run
/// lasts long enough for a signal to land mid-run.
const TRAINING: &[&str] = &[
    "--threads",
    "1",
    "--seed",
    "11",
    "--dim",
    "24",
    "--epochs",
    "2",
    "--min-count",
    "3",
    "--quiet",
];

/// What the runs here record, unless a test says otherwise.
const RECORDING: &[&str] = &[
    "--stats",
    "s.jsonl",
    "--stats-every",
    "2",
    "--word-stats",
    "w.tsv",
];

/// Fields that hold wall-clock time, and the run-control settings that only say where a
/// run pauses or keeps its cache (they differ from the reference's by design: each test has
/// its own scratch directory).
const WALL_CLOCK: &[&str] = &["wall_seconds", "train_seconds", "words_per_sec"];
const PAUSE_SETTINGS: &[&str] = &[
    "checkpoint",
    "checkpoint_every",
    "stop_at",
    "resume",
    "cache_dir",
];

fn train(w: &Scratch, extra: &[&str]) -> Command {
    let mut c = w.command();
    c.args(["train", "--output", "out.txt", "--input"])
        .arg(sample_corpus())
        .args(TRAINING)
        .args(RECORDING)
        .args(extra);
    c
}

/// The records of a stats file with wall-clock fields and pause settings removed.
fn records(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "{} ends mid-line", path.display());
    text.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for k in WALL_CLOCK {
                o.remove(*k);
            }
            if let Some(cfg) = o.get_mut("config").and_then(Value::as_object_mut) {
                for k in PAUSE_SETTINGS {
                    cfg.remove(*k);
                }
            }
            v
        })
        .collect()
}

/// What an uninterrupted run writes.
struct Reference {
    /// The stats records, normalised by [`records`].
    stats: Vec<Value>,
    /// The vectors.
    vectors: Vec<u8>,
    /// The `--word-stats` table.
    words: Vec<u8>,
}

/// The files of an uninterrupted run (computed once).
fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let w = Scratch::new();
        run(&mut train(&w, &[])).ok();
        Reference {
            stats: records(&w.path("s.jsonl")),
            vectors: std::fs::read(w.path("out.txt")).unwrap(),
            words: std::fs::read(w.path("w.tsv")).unwrap(),
        }
    })
}

/// The run in `w` ended with the reference's stats records, vectors and word table.
#[track_caller]
fn assert_reference(w: &Scratch) {
    let r = reference();
    assert_same_records(&records(&w.path("s.jsonl")), &r.stats);
    assert!(
        std::fs::read(w.path("out.txt")).unwrap() == r.vectors,
        "vectors differ"
    );
    assert!(
        std::fs::read(w.path("w.tsv")).unwrap() == r.words,
        "word stats differ"
    );
}

#[track_caller]
fn assert_same_records(got: &[Value], want: &[Value]) {
    assert_eq!(got.len(), want.len(), "record counts differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let keys: Vec<&String> = match (g.as_object(), w.as_object()) {
                (Some(a), Some(b)) => a.keys().filter(|k| a.get(*k) != b.get(*k)).collect(),
                _ => Vec::new(),
            };
            panic!("record {} differs in {keys:?}", i + 1);
        }
    }
}

/// The highest snapshot index among the complete lines of the stats file at `path`.
fn last_snapshot(path: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["record"] == "snapshot")
        .filter_map(|v| v["snapshot"].as_u64())
        .max()
        .unwrap_or(0)
}

/// Waits until the stats file holds snapshot `k` (and `also` exists), failing if `child`
/// exits first.
fn wait_for_snapshot(child: &mut Child, stats: &Path, k: u64, also: Option<&Path>) {
    let t0 = Instant::now();
    while last_snapshot(stats) < k || also.is_some_and(|p| !p.exists()) {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("huffvec ended ({st}) before snapshot {k}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "no snapshot {k} after 3 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigint_then_resume_gives_the_uninterrupted_stats_file() {
    let want = &reference().stats;
    let w = Scratch::new();
    let mut child = train(&w, &["--checkpoint", "run.ckpt"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_snapshot(&mut child, &w.path("s.jsonl"), 10, None);
    signal(&child, "-INT");
    let o = Run::from(child.wait_with_output().unwrap());
    assert_eq!(o.code, Some(130), "{}", o.stderr);
    // The interrupted file is complete lines: the closed snapshots and an end record.
    let cut = records(&w.path("s.jsonl"));
    let end = cut.last().unwrap();
    assert_eq!(end["record"], "end");
    assert_eq!(end["status"], "interrupted");
    assert!(cut.len() < want.len());
    let o = run(w
        .command()
        .args(["train", "--resume", "run.ckpt", "--stats", "s.jsonl"]))
    .ok();
    assert!(
        o.stderr
            .contains("stats: continuing s.jsonl after snapshot"),
        "{}",
        o.stderr
    );
    assert_reference(&w);
}

#[test]
fn sigkill_leaves_every_closed_snapshot_and_resume_trims_back_to_the_checkpoint() {
    let want = &reference().stats;
    let w = Scratch::new();
    let stats = w.path("s.jsonl");
    let mut child = train(
        &w,
        &["--checkpoint", "run.ckpt", "--checkpoint-every", "20"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Past the first periodic checkpoint (20% = snapshot 10) by a few snapshots.
    wait_for_snapshot(&mut child, &stats, 14, Some(&w.path("run.ckpt")));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!w.path("w.tsv").exists(), "a killed run left a word table");

    // Every complete line parses; the file reads as incomplete, with what it holds intact.
    let text = std::fs::read_to_string(&stats).unwrap();
    let complete = &text[..text.rfind('\n').unwrap() + 1];
    let held: Vec<Value> = complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(held[0]["record"], "header");
    assert!(held.iter().all(|r| r["record"] != "end"));
    let strip = |r: &Value| {
        let mut r = r.clone();
        for k in WALL_CLOCK {
            r.as_object_mut().unwrap().remove(*k);
        }
        r
    };
    for (i, r) in held.iter().enumerate().skip(1) {
        assert!(
            strip(r) == want[i],
            "record {} of the killed run differs",
            i + 1
        );
    }
    let o = run(w
        .command()
        .args(["report", "--stats", "s.jsonl", "--out", "rep"]))
    .ok();
    let html = std::fs::read_to_string(w.path("rep/index.html")).unwrap();
    assert!(html.contains("Incomplete statistics"), "{html}");
    assert!(html.contains("no end record"), "{html}");
    assert!(o.stderr.contains("INCOMPLETE"), "{}", o.stderr);

    // Resume from the periodic checkpoint: the snapshots after it are cut and rewritten.
    let o = run(w
        .command()
        .args(["train", "--resume", "run.ckpt", "--stats", "s.jsonl"]))
    .ok();
    assert!(
        o.stderr.contains("written after the checkpoint"),
        "{}",
        o.stderr
    );
    assert_reference(&w);
}

#[test]
fn a_full_disk_under_the_stats_file_warns_and_the_vectors_are_still_written() {
    let vectors = &reference().vectors;
    let w = Scratch::new();
    std::fs::create_dir(w.path("full")).unwrap();
    // A 32 KiB tmpfs in a private mount namespace holds the header and a snapshot or two.
    let mut c = Command::new("unshare");
    c.current_dir(w.root())
        .env("HUFFVEC_CACHE", w.path(".cache"))
        .args(["-rm", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=32k tmpfs full || exit 97
             bin=$0 corpus=$1
             shift
             \"$bin\" train --output out.txt --input \"$corpus\" --stats full/s.jsonl \
                 --stats-every 2 \"$@\"
             rc=$?
             \"$bin\" report --stats full/s.jsonl --out rep 2> summary.txt || exit 98
             exit $rc",
        )
        .arg(env!("CARGO_BIN_EXE_huffvec"))
        .arg(sample_corpus())
        .args(TRAINING);
    let o = match c.output() {
        Ok(o) if o.status.code() != Some(97) => Run::from(o),
        _ => {
            skip_unless_required("no private mount namespace for a small tmpfs (unshare -rm)");
            return;
        }
    };
    let o = o.ok();
    let warning = o
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: cannot write stats file full/s.jsonl"))
        .unwrap_or_else(|| panic!("no warning; stderr:\n{}", o.stderr));
    assert!(warning.contains("No space left on device"), "{warning}");
    assert!(
        o.stderr.contains("the statistics are incomplete"),
        "{}",
        o.stderr
    );
    assert!(std::fs::read(w.path("out.txt")).unwrap() == *vectors);
    let summary = std::fs::read_to_string(w.path("summary.txt")).unwrap();
    assert!(summary.contains("INCOMPLETE"), "{summary}");
}

#[test]
fn a_run_resumed_without_telemetry_shows_the_gap() {
    let w = Scratch::new();
    // The first 30% trains without --stats.
    let mut c = w.command();
    c.args(["train", "--output", "out.txt", "--input"])
        .arg(sample_corpus())
        .args(TRAINING)
        .args(["--stop-at", "30"]);
    run(&mut c).ok();
    run(w.command().args([
        "train",
        "--resume",
        "out.txt.ckpt",
        "--stats",
        "s.jsonl",
        "--stats-every",
        "2",
    ]))
    .ok();
    let recs = records(&w.path("s.jsonl"));
    let gap = recs
        .iter()
        .find(|r| r["record"] == "gap")
        .expect("a gap record");
    assert_eq!(gap["snapshot_lo"], 1);
    let hi = gap["snapshot_hi"].as_u64().unwrap();
    assert!((15..=16).contains(&hi), "gap ends at snapshot {hi}");
    let first = recs
        .iter()
        .find(|r| r["record"] == "snapshot")
        .expect("snapshots after the gap");
    assert_eq!(first["snapshot"].as_u64(), Some(hi + 1));
    assert!(recs
        .iter()
        .all(|r| r["record"] != "cell" || r["snapshot"].as_u64() > Some(hi)));
    let o = run(w
        .command()
        .args(["report", "--stats", "s.jsonl", "--out", "rep"]))
    .ok();
    let expect = format!("{hi} of 50 snapshots missing (1-{hi})");
    assert!(o.stderr.contains(&expect), "{}", o.stderr);
    let html = std::fs::read_to_string(w.path("rep/index.html")).unwrap();
    assert!(html.contains(&expect), "{html}");
    let heat = std::fs::read_to_string(w.path("rep/g_heatmap.svg")).unwrap();
    assert!(
        heat.contains("missing"),
        "the heatmap does not mark the gap"
    );
}

#[test]
fn a_lost_stats_file_restarts_with_the_written_snapshots_marked_missing() {
    let want = &reference().stats;
    let w = Scratch::new();
    run(&mut train(&w, &["--stop-at", "30"])).ok();
    let written = last_snapshot(&w.path("s.jsonl"));
    assert!(written >= 10, "only {written} snapshots before the stop");
    std::fs::remove_file(w.path("s.jsonl")).unwrap();
    let o = run(w.command().args(["train", "--resume", "out.txt.ckpt"])).ok();
    assert!(o.stderr.contains("marked missing"), "{}", o.stderr);
    let recs = records(&w.path("s.jsonl"));
    assert_eq!(recs[1]["record"], "gap");
    assert_eq!(recs[1]["snapshot_hi"].as_u64(), Some(written));
    // Past the gap, every record is the uninterrupted run's.
    let tail = |r: &[Value]| -> Vec<Value> {
        r.iter()
            .filter(|r| r["snapshot"].as_u64().map_or(true, |k| k > written))
            .filter(|r| r["record"] != "header" && r["record"] != "gap")
            .cloned()
            .collect()
    };
    let (got, expected) = (tail(&recs), tail(want));
    assert_same_records(&got, &expected);
}
