//! Recorded training end to end: the stats and word-stats files add up, render, and leave
//! training unchanged.

use std::path::Path;

use super::*;
use crate::config::Model;
use crate::telemetry::collector::WORD_STATS_COLUMNS;
use crate::telemetry::snapshot::{self, Record};
use crate::test_support::{run_cfg, zipf_corpus};
use crate::train::Silent;

struct WordRow {
    count: u64,
    code_length: usize,
    input_updates: u64,
    target_examples: u64,
}

fn read_word_stats(path: &Path) -> Vec<WordRow> {
    let text = std::fs::read_to_string(path).expect("word stats");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(WORD_STATS_COLUMNS));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 10, "{l}");
            WordRow {
                count: f[2].parse().expect("count"),
                code_length: f[4].parse().expect("code length"),
                input_updates: f[5].parse().expect("input updates"),
                target_examples: f[8].parse().expect("target examples"),
            }
        })
        .collect()
}

/// Band and depth totals add up to the number of node visits, visits per depth equal the
/// path-length distribution times the examples, and the file describes itself.
fn check_identities(dir: &Path, model: Model) {
    let stats = snapshot::read(&dir.join("stats.jsonl")).expect("stats file parses");
    let words = read_word_stats(&dir.join("words.tsv"));
    let h = &stats.header;
    assert_eq!(h.vocab_size, words.len());
    assert_eq!(stats.snapshots.len(), 100);
    assert_eq!(stats.end.as_ref().map(|e| e.status.as_str()), Some("done"));
    let mut last = 0.0;
    for s in &stats.snapshots {
        assert!(s.progress_lo == last && s.progress_hi > s.progress_lo);
        last = s.progress_hi;
    }
    assert_eq!(last, 1.0);

    let nd = h.max_depth;
    let mut by_depth = vec![0u64; nd];
    let mut by_band = vec![0u64; h.bands.len()];
    for c in &stats.cells {
        by_depth[c.depth] += c.sums.updates;
        by_band[c.band] += c.sums.updates;
        assert_eq!(
            c.sums.sampled, c.sums.updates,
            "sample = 1 records every visit"
        );
    }
    // Visits per depth = sum over words of (examples along its path) x [code length > d].
    for (d, &got) in by_depth.iter().enumerate() {
        let want: u64 = words
            .iter()
            .filter(|w| w.code_length > d)
            .map(|w| w.target_examples)
            .sum();
        assert_eq!(got, want, "depth {d}");
    }
    // Visits per band = sum over the band's words of examples x code length.
    let mut band_want = vec![0u64; h.bands.len()];
    for (i, w) in words.iter().enumerate() {
        let b = h
            .bands
            .iter()
            .position(|b| w.count >= b.count_lo && w.count < b.count_hi);
        let b = b.unwrap_or_else(|| panic!("word {i} has no band"));
        band_want[b] += w.target_examples * w.code_length as u64;
    }
    assert_eq!(by_band, band_want);
    let total: u64 = by_depth.iter().sum();
    assert_eq!(total, by_band.iter().sum::<u64>());
    assert_eq!(
        total,
        stats.snapshots.iter().map(|s| s.sums.updates).sum::<u64>()
    );
    let examples: u64 = stats.bands.iter().map(|b| b.sums.target_examples).sum();
    let inputs: u64 = stats.bands.iter().map(|b| b.sums.input_updates).sum();
    assert_eq!(
        examples,
        words.iter().map(|w| w.target_examples).sum::<u64>()
    );
    assert_eq!(inputs, words.iter().map(|w| w.input_updates).sum::<u64>());
    match model {
        // One example = one context word's input vector along the centre's path.
        Model::Skipgram => assert_eq!(inputs, examples),
        // One example = one centre; its step reaches each of its context words.
        Model::Cbow => assert!(inputs > examples),
    }
    assert!(examples > 0);
    let inner: u64 = stats.depth_final.iter().map(|d| d.inner_nodes).sum();
    assert_eq!(inner as usize, h.n_inner);
    assert_eq!(stats.depth_final[0].inner_nodes, 1);
    assert_eq!(stats.depth_final[0].never_updated, 0);

    // Self-describing: every field of every record is documented in the header.
    let text = std::fs::read_to_string(dir.join("stats.jsonl")).expect("stats text");
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let rec = v["record"].as_str().expect("record type");
        for key in v.as_object().expect("object").keys() {
            let documented = h.fields.get(rec).is_some_and(|f| f.contains_key(key))
                || h.fields["all"].contains_key(key)
                || (rec == "snapshot" && h.fields["cell"].contains_key(key));
            assert!(
                documented,
                "field {rec}.{key} is not described in the header"
            );
        }
    }
}

#[test]
fn skipgram_run_adds_up_and_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    zipf_corpus(&dir.path().join("corpus.txt"), 1500);
    let cfg = run_cfg(dir.path(), Model::Skipgram, 2);
    train_recorded(&cfg, &Silent).expect("training with stats");
    check_identities(dir.path(), Model::Skipgram);

    let out = dir.path().join("report");
    let summary = crate::report::stats::render(&dir.path().join("stats.jsonl"), &out)
        .expect("report renders");
    assert!(summary.to_string().contains("input updates per word"));
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    for name in [
        "g_heatmap",
        "input_grad_heatmap",
        "gradient_by_depth",
        "saturation_by_depth",
        "input_step_by_band",
        "updates_per_word",
    ] {
        let png = std::fs::read(out.join(format!("{name}.png"))).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
        let svg = std::fs::read_to_string(out.join(format!("{name}.svg"))).expect("svg");
        assert!(
            svg.starts_with("<svg") && svg.contains("<text"),
            "{name}.svg"
        );
        assert!(
            html.contains(&format!("src=\"{name}.svg\"")),
            "{name} in index.html"
        );
    }
    let depth_csv = std::fs::read_to_string(out.join("depth.csv")).expect("depth.csv");
    let nd = summary.depths.len();
    assert_eq!(depth_csv.lines().count(), nd + 1);
}

#[test]
fn cbow_run_adds_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    zipf_corpus(&dir.path().join("corpus.txt"), 600);
    let cfg = run_cfg(dir.path(), Model::Cbow, 1);
    train_recorded(&cfg, &Silent).expect("training with stats");
    check_identities(dir.path(), Model::Cbow);
}

#[test]
fn negative_sampling_records_no_tree_visits() {
    let dir = tempfile::tempdir().expect("tempdir");
    zipf_corpus(&dir.path().join("corpus.txt"), 300);
    let mut cfg = run_cfg(dir.path(), Model::Skipgram, 1);
    cfg.params.loss = crate::config::Loss::Ns;
    cfg.params.negative = 3;
    cfg.params.saturation = crate::config::SaturationPolicy::Clamp;
    cfg.run.stats.word_stats = None;
    train_recorded(&cfg, &Silent).expect("training with stats");
    let text = std::fs::read_to_string(dir.path().join("stats.jsonl")).expect("stats");
    let (mut cells, mut inputs) = (0, 0u64);
    for l in text.lines() {
        match serde_json::from_str::<Record>(l).expect("record parses") {
            Record::Cell(c) if c.sums.updates > 0 => cells += 1,
            Record::Band(b) => inputs += b.sums.input_updates,
            _ => {}
        }
    }
    assert_eq!(cells, 0, "NS walks no tree, yet node visits were recorded");
    assert!(inputs > 0, "the input side is still recorded");
}

#[test]
fn recording_does_not_change_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    zipf_corpus(&dir.path().join("corpus.txt"), 600);
    let mut cfg = run_cfg(dir.path(), Model::Skipgram, 1);
    cfg.run.stats.sample = 0.5;
    let (with, _) = train_recorded(&cfg, &Silent).expect("with stats");
    cfg.run.stats = Default::default();
    let (without, _) = crate::train::train(&cfg, &Silent).expect("without stats");
    assert_eq!(with.input.as_slice(), without.input.as_slice());
    assert_eq!(with.inner.as_slice(), without.inner.as_slice());
}

#[test]
fn header_is_first_and_records_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    zipf_corpus(&dir.path().join("corpus.txt"), 200);
    let mut cfg = run_cfg(dir.path(), Model::Skipgram, 1);
    cfg.run.stats.every_pct = 25.0;
    cfg.run.stats.word_stats = None;
    train_recorded(&cfg, &Silent).expect("training with stats");
    let text = std::fs::read_to_string(dir.path().join("stats.jsonl")).expect("stats");
    let records: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("record parses"))
        .collect();
    assert!(matches!(records[0], Record::Header(_)));
    assert!(matches!(records.last(), Some(Record::End(_))));
    let n_snap = records
        .iter()
        .filter(|r| matches!(r, Record::Snapshot(_)))
        .count();
    assert_eq!(n_snap, 4);
    for (line, r) in text.lines().zip(&records) {
        let again = serde_json::to_string(r).expect("serialise");
        if again != line {
            let at = line
                .bytes()
                .zip(again.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            panic!(
                "record changed in a round trip at byte {at}: {}",
                &line[at.saturating_sub(80)..(at + 80).min(line.len())]
            );
        }
    }
}
