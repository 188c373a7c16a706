//! The `--stats` file as it is written: opened before training, appended to one closed
//! snapshot at a time (each batch of complete lines written, then synced), and reopened on
//! resume after checking that it is the file the checkpoint continues.
//!
//! A running SHA-256 of every byte written lets a checkpoint name the exact prefix it
//! continues ([`FileMark`]); a resumed run cuts anything written after that prefix (the
//! snapshots of a crashed run past its last checkpoint, or an `interrupted` end record) and
//! goes on appending.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::io::hex;

use super::snapshot::Record;
use crate::error::{Error, Result};

/// How far the stats file had been written when a checkpoint was taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of those bytes, lower-case hex.
    pub sha256: String,
}

/// An open stats file being appended to.
pub struct StatsStream {
    path: PathBuf,
    file: File,
    bytes: u64,
    hash: Sha256,
    /// Why writing stopped (the first failed write); nothing is written after it.
    failed: Option<String>,
}

impl StatsStream {
    /// Creates (or empties) `path` for a new file.
    pub fn create(path: &Path) -> Result<Self> {
        let file =
            File::create(path).map_err(|e| Error::io("cannot create stats file", path, e))?;
        Ok(StatsStream {
            path: path.into(),
            file,
            bytes: 0,
            hash: Sha256::new(),
            failed: None,
        })
    }

    /// Reopens `path` to continue after `mark`: its first `mark.bytes` bytes must hash to
    /// `mark.sha256`; anything after them is cut. Returns the stream and the number of
    /// bytes cut.
    pub fn resume(path: &Path, mark: &FileMark, checkpoint: &Path) -> Result<(Self, u64)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("cannot open stats file", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot read stats file", path, e))?
            .len();
        let mismatch = |why: &str| {
            Error::Config(format!(
                "stats file {} does not continue checkpoint {}: {why}; give --stats a new file \
                 to record from here on (the snapshots before the checkpoint are then marked \
                 missing)",
                path.display(),
                checkpoint.display()
            ))
        };
        if len < mark.bytes {
            return Err(mismatch(&format!(
                "it holds {len} bytes, the checkpoint was taken after {}",
                mark.bytes
            )));
        }
        let mut hash = Sha256::new();
        let mut left = mark.bytes;
        let mut buf = vec![0u8; 1 << 16];
        while left > 0 {
            let n = (buf.len() as u64).min(left) as usize;
            file.read_exact(&mut buf[..n])
                .map_err(|e| Error::io("cannot read stats file", path, e))?;
            hash.update(&buf[..n]);
            left -= n as u64;
        }
        if hex(&hash.clone().finalize()) != mark.sha256 {
            return Err(mismatch(
                "its first records differ from those the checkpoint saw",
            ));
        }
        file.set_len(mark.bytes)
            .and_then(|()| file.seek(SeekFrom::Start(mark.bytes)).map(drop))
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io("cannot trim stats file", path, e))?;
        let stream = StatsStream {
            path: path.into(),
            file,
            bytes: mark.bytes,
            hash,
            failed: None,
        };
        Ok((stream, len - mark.bytes))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the file stands now.
    pub fn mark(&self) -> FileMark {
        FileMark {
            bytes: self.bytes,
            sha256: hex(&self.hash.clone().finalize()),
        }
    }

    /// Why writing stopped, if it did.
    pub fn failed(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Appends `records` as complete lines and syncs them to disk. Returns the cause when
    /// this call is the one that failed (the stream then writes nothing more).
    pub fn append(&mut self, records: &[Record]) -> Option<String> {
        if self.failed.is_some() || records.is_empty() {
            return None;
        }
        let mut buf = Vec::with_capacity(256 * records.len());
        for r in records {
            if let Err(e) = serde_json::to_writer(&mut buf, r) {
                return self.fail(e.to_string());
            }
            buf.push(b'\n');
        }
        match self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {
                self.bytes += buf.len() as u64;
                self.hash.update(&buf);
                None
            }
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn fail(&mut self, cause: String) -> Option<String> {
        self.failed = Some(cause.clone());
        Some(cause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::snapshot::{EndRecord, GapRecord};

    fn gap(k: u32) -> Record {
        Record::Gap(GapRecord {
            snapshot_lo: k,
            snapshot_hi: k,
            reason: "test".into(),
        })
    }

    #[test]
    fn resume_cuts_what_follows_the_mark_and_refuses_other_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.jsonl");
        let ck = dir.path().join("ck");
        let mut s = StatsStream::create(&p).expect("create");
        assert_eq!(s.append(&[gap(1), gap(2)]), None);
        let mark = s.mark();
        let end = Record::End(EndRecord {
            status: "interrupted".into(),
            words: None,
            train_seconds: None,
            words_per_sec: None,
        });
        assert_eq!(s.append(&[end]), None);
        drop(s);
        let whole = std::fs::read(&p).expect("read");
        let (mut s, cut) = StatsStream::resume(&p, &mark, &ck).expect("resume");
        assert_eq!(cut, whole.len() as u64 - mark.bytes);
        assert_eq!(s.mark(), mark);
        assert_eq!(s.append(&[gap(3)]), None);
        let text = std::fs::read_to_string(&p).expect("read");
        assert_eq!(text.lines().count(), 3);
        assert!(text
            .lines()
            .nth(2)
            .is_some_and(|l| l.contains("\"snapshot_lo\":3")));
        // Another file of the same length, or a shorter one, is refused with the reason.
        std::fs::write(
            &p,
            whole
                .iter()
                .map(|b| b.to_ascii_uppercase())
                .collect::<Vec<_>>(),
        )
        .expect("write");
        let e = StatsStream::resume(&p, &mark, &ck).err().expect("refused");
        assert!(e.to_string().contains("differ"), "{e}");
        std::fs::write(&p, &whole[..10]).expect("write");
        let e = StatsStream::resume(&p, &mark, &ck).err().expect("refused");
        assert!(e.to_string().contains("holds 10 bytes"), "{e}");
    }
}
