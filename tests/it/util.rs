//! Scratch directories and a `huffvec` command running in them.

use std::path::PathBuf;
use std::process::{Command, Output};

/// A scratch directory with its own encoded-corpus cache, removed when dropped.
pub struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    /// A fresh scratch directory.
    pub fn new() -> Self {
        Work {
            dir: tempfile::tempdir().expect("create a scratch directory"),
        }
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to `name` and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write a scratch file");
        p
    }

    /// `huffvec ARGS` run in the directory, caching encoded corpora inside it.
    pub fn huffvec(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_huffvec"));
        c.current_dir(self.dir.path())
            .env("HUFFVEC_CACHE", self.path("cache"));
        c
    }

    /// Names of the files in the directory (sorted), the cache directory excluded.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("list the scratch directory")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n != "cache")
            .collect();
        v.sort();
        v
    }
}

/// Runs `cmd` and returns its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run huffvec")
}

/// The bundled sample corpus (about 474k tokens of Wikipedia text).
pub fn sample_corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/wiki-sample.txt")
}

/// A deterministic text of `tokens` words drawn from `vocab` spellings with a roughly
/// Zipfian (1/rank) distribution, in sentences of 3 to 30 words.
pub fn synthetic_corpus(tokens: usize, vocab: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(tokens * 6);
    let mut left_in_sentence = 0;
    for _ in 0..tokens {
        if left_in_sentence == 0 {
            if !out.is_empty() {
                out.push(b'\n');
            }
            left_in_sentence = 3 + next() % 28;
        } else {
            out.push(b' ');
        }
        let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
        let rank = ((vocab as f64).powf(u) as usize).clamp(1, vocab);
        out.extend_from_slice(format!("w{rank}").as_bytes());
        left_in_sentence -= 1;
    }
    out.push(b'\n');
    out
}

/// True when this process runs as root (permission bits then do not stop it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
