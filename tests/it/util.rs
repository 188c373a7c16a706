//! Scratch directories and a runner for the built `huffvec` binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

/// One test's scratch directory, removed when dropped. `huffvec` runs inside it and caches
/// encoded corpora in its `.cache/`, so tests share no state.
pub struct Scratch {
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

/// The encoded-corpus cache inside a [`Scratch`] (left out of [`Scratch::files`]).
const CACHE: &str = ".cache";

impl Scratch {
    /// A fresh empty directory.
    pub fn new() -> Scratch {
        Scratch {
            tmp: tempfile::Builder::new()
                .prefix("huffvec-it-")
                .tempdir()
                .expect("create a temporary directory"),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    /// Writes `bytes` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write a test file");
        p
    }

    /// `huffvec`, to be run in the directory with its own cache; for tests that need the
    /// process itself (signals, piped output). [`Scratch::huffvec`] runs it to the end.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_huffvec"));
        c.current_dir(self.root())
            .env("HUFFVEC_CACHE", self.path(CACHE));
        c
    }

    /// Runs `huffvec ARGS` in the directory and waits for it.
    pub fn huffvec<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        run(self.command().args(args))
    }

    /// Names of the files in the directory (sorted), the cache excluded.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root())
            .expect("list the scratch directory")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n != CACHE)
            .collect();
        v.sort();
        v
    }
}

/// Runs `cmd` (made by [`Scratch::command`]) and waits for it.
pub fn run(cmd: &mut Command) -> Run {
    Run::from(cmd.output().expect("run the huffvec binary"))
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
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

/// The first `bytes` of the sample corpus (cut at a line end) written to `name` in `d`: a
/// corpus for tests whose property holds at any length, such as resume equality.
pub fn sample_head(d: &Scratch, name: &str, bytes: usize) -> PathBuf {
    let text = std::fs::read(sample_corpus()).expect("sample corpus");
    let end = text[..bytes.min(text.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(text.len(), |i| i + 1);
    d.write(name, &text[..end])
}

/// The bundled evaluation sets (`data/eval`: the Google analogies, WS-353, SimLex-999, MEN).
pub fn bundled_eval_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/eval")
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

/// Skips a test whose tool is missing here (printing why), or fails it where
/// `HUFFVEC_NO_SKIP` is set (as `.ci/run` sets it), so that no test passes in CI by
/// skipping.
pub fn skip_unless_required(reason: &str) {
    assert!(
        std::env::var_os("HUFFVEC_NO_SKIP").is_none(),
        "HUFFVEC_NO_SKIP is set, but this test cannot run: {reason}"
    );
    println!("SKIPPED: {reason}");
}

/// Sends `sig` (as `kill` spells it, e.g. `-INT`) to `child`.
pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} failed");
}
