//! `study.lock.json`: the resolved spec, the SHA-256 of every input file, the huffvec
//! version, the checkout's commit and the machine. Its digest (spec and inputs only) ties
//! every run's result to it, so a result of another spec or corpus is never reused.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::spec::Study;
use crate::io::{sha256_file, HashWriter, OutputSlot};

/// The lock file, in the study's directory.
pub const LOCK_FILE: &str = "study.lock.json";
/// `schema` of a lock file.
pub const LOCK_SCHEMA: &str = "huffvec-study-lock";
/// Format version of a lock file.
pub const LOCK_VERSION: u32 = 1;

/// One input file and its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// Where it is: absolute, or relative to the study's directory (files the study made).
    pub path: PathBuf,
    /// SHA-256 of its content.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
}

impl FileHash {
    /// Hashes the file at `path`, recorded as `recorded`.
    pub fn of(path: &Path, recorded: PathBuf) -> Result<FileHash> {
        let bytes = std::fs::metadata(path)
            .map_err(|e| Error::io("cannot read", path, e))?
            .len();
        Ok(FileHash {
            path: recorded,
            sha256: sha256_file(path)?,
            bytes,
        })
    }

    /// Its path, a relative one taken from `dir`.
    pub fn resolve(&self, dir: &Path) -> PathBuf {
        if self.path.is_absolute() {
            self.path.clone()
        } else {
            dir.join(&self.path)
        }
    }

    /// Refuses when the file at its path no longer has its content.
    pub fn verify(&self, dir: &Path) -> Result<()> {
        let p = self.resolve(dir);
        let now = sha256_file(&p)?;
        if now != self.sha256 {
            return Err(Error::Config(format!(
                "{} changed since the study was locked (sha256 {} there, {} in the lock)",
                p.display(),
                &now[..12],
                &self.sha256[..12]
            )));
        }
        Ok(())
    }
}

/// The files a study reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The corpus as given.
    pub corpus: FileHash,
    /// The corpus trained on: the planted corpus, or the given one.
    pub train_corpus: FileHash,
    /// The probe table.
    pub probes: Option<FileHash>,
    /// The held-out text.
    pub heldout: Option<FileHash>,
    /// Every evaluation file.
    pub eval: Vec<FileHash>,
}

/// The contents of `study.lock.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Lock {
    /// [`LOCK_SCHEMA`].
    pub schema: String,
    /// [`LOCK_VERSION`].
    pub version: u32,
    /// SHA-256 of `study` and `inputs` (as JSON): what a run's result must match.
    pub digest: String,
    /// The resolved spec.
    pub study: Study,
    /// The input files.
    pub inputs: Inputs,
    /// huffvec's version.
    pub huffvec: String,
    /// Commit of the checkout huffvec was built from, when it is a git checkout (`-dirty`
    /// when it had uncommitted changes when the study was locked).
    pub checkout_commit: Option<String>,
    /// The machine.
    pub machine: String,
}

/// SHA-256 of the JSON of `study` and `inputs`.
fn digest(study: &Study, inputs: &Inputs) -> Result<String> {
    let mut h = HashWriter::default();
    serde_json::to_writer(&mut h, &(study, inputs))
        .map_err(|e| Error::Internal(format!("cannot hash the study: {e}")))?;
    Ok(h.hex_digest())
}

/// The commit of the source checkout huffvec was built from, if it is one.
fn checkout_commit() -> Option<String> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"]).filter(|h| !h.is_empty())?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

impl Lock {
    /// The lock of `study` reading `inputs`.
    pub fn new(study: Study, inputs: Inputs) -> Result<Lock> {
        Ok(Lock {
            schema: LOCK_SCHEMA.into(),
            version: LOCK_VERSION,
            digest: digest(&study, &inputs)?,
            study,
            inputs,
            huffvec: env!("CARGO_PKG_VERSION").into(),
            checkout_commit: checkout_commit(),
            machine: crate::host::machine_name(),
        })
    }

    /// Reads a lock file.
    pub fn read(path: &Path) -> Result<Lock> {
        let text = std::fs::read(path).map_err(|e| Error::io("cannot read study lock", path, e))?;
        let lock: Lock = serde_json::from_slice(&text).map_err(|e| Error::Format {
            path: path.into(),
            at: format!("line {}", e.line()),
            reason: e.to_string(),
        })?;
        if lock.schema != LOCK_SCHEMA || lock.version != LOCK_VERSION {
            return Err(Error::Format {
                path: path.into(),
                at: "schema".into(),
                reason: format!(
                    "not a huffvec study lock of version {LOCK_VERSION} ({} {})",
                    lock.schema, lock.version
                ),
            });
        }
        if digest(&lock.study, &lock.inputs)? != lock.digest {
            return Err(Error::Format {
                path: path.into(),
                at: "digest".into(),
                reason: "the spec or inputs were edited after locking".into(),
            });
        }
        Ok(lock)
    }

    /// Writes the lock into `dir`, atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let slot = OutputSlot::reserve(&dir.join(LOCK_FILE), &[])?;
        slot.commit(|w| {
            serde_json::to_writer_pretty(&mut *w, self).map_err(std::io::Error::other)?;
            std::io::Write::write_all(w, b"\n")
        })
    }

    /// Refuses when any input file changed since locking (`dir`: the study's directory).
    pub fn verify_inputs(&self, dir: &Path) -> Result<()> {
        let i = &self.inputs;
        i.train_corpus.verify(dir)?;
        for f in i.probes.iter().chain(&i.heldout).chain(&i.eval) {
            f.verify(dir)?;
        }
        Ok(())
    }
}
