//! Scratch directories and a runner for the built `huffvec` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary working directory, removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

/// What a finished `huffvec` run printed and how it exited.
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Dir {
    /// A fresh empty directory.
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::Builder::new()
                .prefix("huffvec-it-")
                .tempdir()
                .expect("create a temporary directory"),
        }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `bytes` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, bytes).expect("write a test file");
        p
    }

    /// Runs `huffvec ARGS` with the directory as working directory.
    pub fn huffvec<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_huffvec"))
            .args(args)
            .current_dir(self.path())
            .env("HUFFVEC_CACHE", self.path().join(".cache"))
            .output()
            .expect("run the huffvec binary");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the run succeeded and returns it.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "huffvec failed; stderr:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts the run failed with exit code 1 and a one-line `huffvec: error:` message
    /// (no panic), and returns that line.
    #[track_caller]
    pub fn error_line(self) -> String {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit code 1; stderr:\n{}",
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one line on stderr, got:\n{}",
            self.stderr
        );
        assert!(lines[0].starts_with("huffvec: error: "), "{}", lines[0]);
        lines[0].to_string()
    }
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
