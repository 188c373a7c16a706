//! Scratch directories and a runner for the built `huffvec` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory removed when dropped, with its own encoded-corpus cache.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// A fresh directory.
    pub fn new() -> Self {
        Dir {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Path of `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes `name` and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }

    /// Runs `huffvec ARGS` with this directory as working directory and cache.
    pub fn huffvec(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_huffvec"))
            .args(args)
            .current_dir(self.tmp.path())
            .env("HUFFVEC_CACHE", self.path("cache"))
            .output()
            .expect("run huffvec")
    }
}

/// Panics with stderr unless the command succeeded.
pub fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "huffvec failed: {err}");
    err
}

/// A small but real corpus: the bundled Wikipedia sample.
pub fn sample_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wiki-sample.txt")
}

/// Reads a word2vec text file into (word, vector) pairs.
pub fn read_text_vectors(p: &Path) -> Vec<(String, Vec<f32>)> {
    let text = std::fs::read_to_string(p).expect("read vectors");
    let mut lines = text.lines();
    let header: Vec<usize> = lines
        .next()
        .expect("header")
        .split(' ')
        .map(|x| x.parse().expect("number"))
        .collect();
    let rows: Vec<(String, Vec<f32>)> = lines
        .map(|l| {
            let mut it = l.split(' ');
            let w = it.next().expect("word").to_string();
            (w, it.map(|x| x.parse().expect("float")).collect())
        })
        .collect();
    assert_eq!(rows.len(), header[0]);
    assert!(rows.iter().all(|r| r.1.len() == header[1]));
    rows
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
