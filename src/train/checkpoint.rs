//! Checkpoints: the full state of a training run, written atomically and read back with
//! every check a resume needs; a checkpoint of another corpus or other settings is refused
//! with the reason.
//!
//! File layout (integers and floats little-endian):
//! ```text
//! 0      magic "HVCKPT\0\x01" (8 bytes), format version u32, reserved u32
//! 16     header length H u64
//! 24     header: H bytes of JSON (`Header`: config, fingerprints, progress, worker states)
//! 24+H   input matrix: input_rows x dim f32, row after row (no padding)
//!        inner-node matrix: inner_rows x dim f32
//!        only with `Header::adagrad` (`--optimizer adagrad`): the row-wise AdaGrad
//!        accumulators, input_rows f32 then inner_rows f32
//! end-4  CRC-32 of every byte before it, u32
//! ```
//! The reader checks the magic, the version, that the sizes in the header add up to the
//! file's length (before allocating anything), the checksum, and that every value is
//! finite (and every accumulator non-negative); a damaged or truncated file is refused,
//! never half-loaded. Older versions are refused: 1 (before the accumulators were saved)
//! and 2 (worker positions within contiguous shards, before block-cyclic shards).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use byteorder::{LittleEndian, ReadBytesExt, WriteBytesExt};
use serde::{Deserialize, Serialize};

use super::worker::{WorkerState, MAX_SENTENCE};
use crate::config::{Loss, Optimizer, TrainConfig};
use crate::error::{Error, Result};
use crate::kernel::{SharedMatrix, SharedScalars};
use crate::optim::AdaGradState;

const MAGIC: &[u8; 8] = b"HVCKPT\0\x01";
const VERSION: u32 = 3;
const PREAMBLE_BYTES: u64 = 24;
const TRAILER_BYTES: u64 = 4;

/// Which corpus, vocabulary and encoded id stream a run trains on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// Corpus length in bytes.
    pub corpus_bytes: u64,
    /// Hash of samples of the corpus text (as the id cache computes it).
    pub corpus_hash: u64,
    /// Vocabulary size.
    pub vocab_words: u64,
    /// Fingerprint of the vocabulary's words and counts, in id order.
    pub vocab_fingerprint: u64,
    /// Ids per epoch (sentence ends included).
    pub ids: u64,
    /// Order-sensitive checksum of the encoded ids.
    pub ids_checksum: u64,
}

/// Everything in a checkpoint except the two matrices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Version of huffvec that wrote it.
    pub huffvec: String,
    /// The run's settings (paths made absolute).
    pub config: TrainConfig,
    /// The starting learning rate as `f32` bits (exact, whatever JSON does to floats).
    pub alpha_bits: u32,
    /// The data the run trains on.
    pub identity: RunIdentity,
    /// Words processed so far over all threads and epochs.
    pub words_done: u64,
    /// Words in the whole run.
    pub total_words: u64,
    /// Vector dimension.
    pub dim: u64,
    /// Rows of the input matrix (the vocabulary size).
    pub input_rows: u64,
    /// Rows of the inner-node matrix.
    pub inner_rows: u64,
    /// One state per worker thread, in thread order.
    pub workers: Vec<WorkerState>,
    /// True when the row-wise AdaGrad accumulators follow the matrices (exactly when the
    /// run uses `--optimizer adagrad`).
    pub adagrad: bool,
    /// The telemetry's state when the run records statistics (the probes' own format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<serde_json::Value>,
}

impl Header {
    /// Percent of the run done.
    pub fn progress_pct(&self) -> f64 {
        100.0 * (self.words_done as f64 / self.total_words.max(1) as f64).min(1.0)
    }
}

/// A checkpoint read back: header, both matrices and any AdaGrad accumulators.
pub struct Checkpoint {
    /// Settings, fingerprints, progress, worker states.
    pub header: Header,
    /// Input vectors.
    pub input: SharedMatrix,
    /// Inner-node vectors.
    pub inner: SharedMatrix,
    /// The AdaGrad accumulators, present exactly when `header.adagrad` is.
    pub accumulators: Option<Accumulators>,
}

/// Saved row-wise AdaGrad accumulators: finite and non-negative.
#[derive(Clone, Debug, PartialEq)]
pub struct Accumulators {
    /// One per input row.
    pub input: Vec<f32>,
    /// One per inner-node (or NS output) row.
    pub inner: Vec<f32>,
}

/// A writer that keeps a CRC-32 of everything written through it.
struct CrcWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that keeps a CRC-32 of everything read through it.
struct CrcReader<R> {
    inner: R,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

fn write_rows(w: &mut impl Write, m: &mut SharedMatrix) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(m.dim() * 4);
    for r in 0..m.rows() {
        bytes.clear();
        for x in m.row(r) {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        w.write_all(&bytes)?;
    }
    Ok(())
}

/// Accumulators are written and read this many values at a time.
const SCALARS_PER_CHUNK: usize = 1 << 14;

fn write_scalars(w: &mut impl Write, s: &SharedScalars) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(4 * SCALARS_PER_CHUNK.min(s.len()));
    for start in (0..s.len()).step_by(SCALARS_PER_CHUNK) {
        bytes.clear();
        for i in start..(start + SCALARS_PER_CHUNK).min(s.len()) {
            bytes.extend_from_slice(&s.get(i).to_le_bytes());
        }
        w.write_all(&bytes)?;
    }
    Ok(())
}

/// Writes a checkpoint to `path` atomically (temporary file, fsync, rename): a failed
/// write, a full disk included, leaves the previous checkpoint as it was. `adagrad`, the
/// run's accumulators, must be given exactly when `header.adagrad` is set.
pub fn write(
    path: &Path,
    header: &Header,
    input: &mut SharedMatrix,
    inner: &mut SharedMatrix,
    adagrad: Option<&AdaGradState>,
) -> Result<()> {
    let shapes_fit = match adagrad {
        Some(a) => {
            header.adagrad
                && a.input().len() as u64 == header.input_rows
                && a.output().len() as u64 == header.inner_rows
        }
        None => !header.adagrad,
    };
    if !shapes_fit {
        return Err(Error::Internal(format!(
            "the AdaGrad accumulators do not fit checkpoint {}'s header",
            path.display()
        )));
    }
    let json = serde_json::to_vec(header).map_err(|e| {
        Error::Config(format!(
            "cannot record the settings in checkpoint {}: {e}",
            path.display()
        ))
    })?;
    crate::io::write_atomic(path, |w| {
        let mut w = CrcWriter {
            inner: w,
            crc: crc32fast::Hasher::new(),
        };
        w.write_all(MAGIC)?;
        w.write_u32::<LittleEndian>(VERSION)?;
        w.write_u32::<LittleEndian>(0)?;
        w.write_u64::<LittleEndian>(json.len() as u64)?;
        w.write_all(&json)?;
        write_rows(&mut w, input)?;
        write_rows(&mut w, inner)?;
        if let Some(a) = adagrad {
            write_scalars(&mut w, a.input())?;
            write_scalars(&mut w, a.output())?;
        }
        let crc = w.crc.finalize();
        w.inner.write_u32::<LittleEndian>(crc)
    })
}

/// Reads and verifies the checkpoint at `path`.
pub fn read(path: &Path) -> Result<Checkpoint> {
    let f = File::open(path).map_err(|e| Error::io("cannot open checkpoint", path, e))?;
    let meta = f
        .metadata()
        .map_err(|e| Error::io("cannot read checkpoint", path, e))?;
    if !meta.is_file() {
        return Err(Error::Config(format!(
            "checkpoint {} is not a regular file",
            path.display()
        )));
    }
    read_from(BufReader::with_capacity(1 << 20, f), meta.len(), path)
}

/// Reads only the header of the checkpoint at `path` (the matrices and the checksum are
/// verified by `read`).
pub fn read_header(path: &Path) -> Result<Header> {
    let f = File::open(path).map_err(|e| Error::io("cannot open checkpoint", path, e))?;
    let len = f
        .metadata()
        .map_err(|e| Error::io("cannot read checkpoint", path, e))?
        .len();
    let mut r = BufReader::new(f);
    read_preamble_and_header(&mut r, len, path)
}

fn bad(path: &Path, at: u64, reason: impl Into<String>) -> Error {
    Error::at_byte(path, at, reason)
}

fn short(path: &Path, at: u64) -> impl Fn(io::Error) -> Error + '_ {
    move |e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            bad(path, at, "the checkpoint is truncated")
        } else {
            Error::io("cannot read checkpoint", path, e)
        }
    }
}

fn read_preamble_and_header(r: &mut impl Read, len: u64, path: &Path) -> Result<Header> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(short(path, 0))?;
    if &magic != MAGIC {
        return Err(bad(path, 0, "not a huffvec checkpoint (wrong magic bytes)"));
    }
    let version = r.read_u32::<LittleEndian>().map_err(short(path, 8))?;
    if version != VERSION {
        return Err(bad(
            path,
            8,
            format!("checkpoint format version {version}; this huffvec reads version {VERSION}"),
        ));
    }
    r.read_u32::<LittleEndian>().map_err(short(path, 12))?;
    let header_len = r.read_u64::<LittleEndian>().map_err(short(path, 16))?;
    if header_len > len.saturating_sub(PREAMBLE_BYTES + TRAILER_BYTES) {
        return Err(bad(
            path,
            16,
            format!("header length {header_len} exceeds the file's {len} bytes"),
        ));
    }
    let mut json = vec![0u8; header_len as usize];
    r.read_exact(&mut json)
        .map_err(short(path, PREAMBLE_BYTES))?;
    let header: Header = serde_json::from_slice(&json)
        .map_err(|e| bad(path, PREAMBLE_BYTES, format!("malformed header: {e}")))?;
    check_header(&header, header_len, len, path)?;
    Ok(header)
}

fn check_header(h: &Header, header_len: u64, len: u64, path: &Path) -> Result<()> {
    let at = PREAMBLE_BYTES;
    h.config
        .validate()
        .map_err(|e| bad(path, at, format!("settings out of range: {e}")))?;
    if h.dim != h.config.params.dim as u64 {
        return Err(bad(path, at, "matrix dimension differs from the settings'"));
    }
    if h.workers.len() != h.config.run.threads {
        return Err(bad(
            path,
            at,
            "worker count differs from the settings' threads",
        ));
    }
    // HS has one row per inner node (V - 1), NS one output row per word (V).
    let inner_ok = match h.config.params.loss {
        Loss::Hs => h.inner_rows > 0 && h.inner_rows < h.input_rows,
        Loss::Ns => h.inner_rows == h.input_rows,
    };
    if h.input_rows < 2 || !inner_ok {
        return Err(bad(path, at, "matrix row counts are inconsistent"));
    }
    if h.adagrad != (h.config.params.optimizer == Optimizer::Adagrad) {
        return Err(bad(
            path,
            at,
            "AdaGrad accumulators are saved exactly with --optimizer adagrad",
        ));
    }
    if h.words_done > h.total_words {
        return Err(bad(path, at, "progress exceeds the run's length"));
    }
    for w in &h.workers {
        if w.epoch == 0
            || w.epoch > h.config.params.epochs + 1
            || w.pos > h.identity.ids
            || w.sentence.len() >= MAX_SENTENCE
            || w.sentence.iter().any(|&id| id as u64 >= h.input_rows)
            || !f32::from_bits(w.alpha_bits).is_finite()
        {
            return Err(bad(path, at, "a worker state is out of range"));
        }
    }
    // Per row: dim floats, and one accumulator with AdaGrad.
    let per_row = h.dim.checked_add(u64::from(h.adagrad));
    let floats = (h.input_rows.checked_add(h.inner_rows))
        .zip(per_row)
        .and_then(|(r, p)| r.checked_mul(p));
    let expected = floats
        .and_then(|f| f.checked_mul(4))
        .and_then(|b| b.checked_add(PREAMBLE_BYTES + header_len + TRAILER_BYTES));
    if expected != Some(len) {
        return Err(bad(
            path,
            at,
            format!(
                "the matrices{} need {} bytes in all but the file has {len}: truncated or \
                 damaged",
                if h.adagrad {
                    " and the AdaGrad accumulators"
                } else {
                    ""
                },
                expected.map_or_else(|| "too many".to_string(), |e| e.to_string())
            ),
        ));
    }
    Ok(())
}

fn read_rows(r: &mut impl Read, m: &mut SharedMatrix, path: &Path, at: u64) -> Result<()> {
    let mut bytes = vec![0u8; m.dim() * 4];
    for row in 0..m.rows() {
        r.read_exact(&mut bytes).map_err(short(path, at))?;
        for (x, b) in m.row_mut(row).iter_mut().zip(bytes.chunks_exact(4)) {
            *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
    Ok(())
}

fn read_scalars(r: &mut impl Read, n: usize, path: &Path, at: u64) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(n);
    let mut bytes = vec![0u8; 4 * SCALARS_PER_CHUNK.min(n)];
    while out.len() < n {
        let chunk = &mut bytes[..4 * SCALARS_PER_CHUNK.min(n - out.len())];
        r.read_exact(chunk).map_err(short(path, at))?;
        out.extend(
            chunk
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(out)
}

/// Reads a checkpoint of `len` bytes from `r`; `path` names it in errors.
pub fn read_from(r: impl Read, len: u64, path: &Path) -> Result<Checkpoint> {
    let mut r = CrcReader {
        inner: r,
        crc: crc32fast::Hasher::new(),
    };
    let mut header = read_preamble_and_header(&mut r, len, path)?;
    header.config.params.alpha = f32::from_bits(header.alpha_bits);
    let dim = header.dim as usize;
    let rows = header.input_rows + header.inner_rows;
    let accumulators_at = len - TRAILER_BYTES - if header.adagrad { 4 * rows } else { 0 };
    let matrices_at = accumulators_at - 4 * rows * header.dim;
    let mut input = SharedMatrix::zeros(header.input_rows as usize, dim);
    read_rows(&mut r, &mut input, path, matrices_at)?;
    let mut inner = SharedMatrix::zeros(header.inner_rows as usize, dim);
    read_rows(&mut r, &mut inner, path, matrices_at)?;
    let accumulators = if header.adagrad {
        Some(Accumulators {
            input: read_scalars(&mut r, header.input_rows as usize, path, accumulators_at)?,
            inner: read_scalars(&mut r, header.inner_rows as usize, path, accumulators_at)?,
        })
    } else {
        None
    };
    let crc = r.crc.finalize();
    let stored = r
        .inner
        .read_u32::<LittleEndian>()
        .map_err(short(path, len - TRAILER_BYTES))?;
    if crc != stored {
        return Err(bad(
            path,
            len - TRAILER_BYTES,
            "checksum mismatch: the checkpoint is damaged",
        ));
    }
    let finite = |m: &mut SharedMatrix| m.as_mut_slice().iter().all(|x| x.is_finite());
    if !finite(&mut input) || !finite(&mut inner) {
        return Err(bad(
            path,
            matrices_at,
            "the matrices hold NaN or infinite values",
        ));
    }
    if let Some(a) = &accumulators {
        let sane = |v: &[f32]| v.iter().all(|x| x.is_finite() && *x >= 0.0);
        if !sane(&a.input) || !sane(&a.inner) {
            return Err(bad(
                path,
                accumulators_at,
                "the AdaGrad accumulators hold negative, NaN or infinite values",
            ));
        }
    }
    Ok(Checkpoint {
        header,
        input,
        inner,
        accumulators,
    })
}

/// The options a resumed run must share with its checkpoint, as (flag, checkpoint's
/// value, this run's value).
fn settings(c: &TrainConfig) -> Vec<(&'static str, String)> {
    vec![
        ("--model", format!("{:?}", c.params.model).to_lowercase()),
        ("--dim", c.params.dim.to_string()),
        ("--window", c.params.window.to_string()),
        ("--min-count", c.corpus.min_count.to_string()),
        (
            "--max-vocab",
            c.corpus.max_vocab.map_or("none".into(), |m| m.to_string()),
        ),
        ("--sample", c.params.sample.to_string()),
        ("--alpha", c.params.alpha.to_string()),
        ("--epochs", c.params.epochs.to_string()),
        ("--threads", c.run.threads.to_string()),
        ("--seed", c.params.seed.to_string()),
    ]
}

impl Checkpoint {
    /// Refuses the checkpoint (saved at `path`) if `cfg` trains with other settings.
    pub fn check_settings(&self, cfg: &TrainConfig, path: &Path) -> Result<()> {
        let mine = settings(&self.header.config);
        let theirs = settings(cfg);
        for ((flag, was), (_, now)) in mine.iter().zip(&theirs) {
            if was != now {
                return Err(Error::Mismatch {
                    path: path.into(),
                    reason: format!(
                        "checkpoint was made with {flag} {was} but this run asks for {flag} \
                         {now}; resume with the same settings or start a new run"
                    ),
                });
            }
        }
        if self.header.config.params.alpha.to_bits() != cfg.params.alpha.to_bits() {
            return Err(Error::Mismatch {
                path: path.into(),
                reason: format!(
                    "checkpoint was made with --alpha {} but this run asks for --alpha {}",
                    self.header.config.params.alpha, cfg.params.alpha
                ),
            });
        }
        Ok(())
    }

    /// Refuses the checkpoint if the corpus (length and sampled content) is not the one it
    /// was made from.
    pub fn check_corpus(&self, corpus: &Path, bytes: u64, hash: u64, path: &Path) -> Result<()> {
        let id = &self.header.identity;
        if id.corpus_bytes != bytes || id.corpus_hash != hash {
            return Err(Error::Mismatch {
                path: path.into(),
                reason: format!(
                    "checkpoint was made from another corpus or another version of it \
                     ({} bytes then, {} now is {bytes} bytes{}); resume with the original \
                     corpus or start a new run",
                    id.corpus_bytes,
                    corpus.display(),
                    if id.corpus_bytes == bytes {
                        " with different content"
                    } else {
                        ""
                    }
                ),
            });
        }
        Ok(())
    }

    /// Refuses the checkpoint if the encoded corpus (vocabulary, counts, id stream) or the
    /// matrix shapes differ from the checkpoint's.
    pub fn check_identity(&self, now: &RunIdentity, inner_rows: u64, path: &Path) -> Result<()> {
        let h = &self.header;
        let reason = if h.identity.vocab_words != now.vocab_words
            || h.identity.vocab_fingerprint != now.vocab_fingerprint
        {
            Some(format!(
                "the vocabulary differs ({} words then, {} now)",
                h.identity.vocab_words, now.vocab_words
            ))
        } else if h.identity.ids != now.ids || h.identity.ids_checksum != now.ids_checksum {
            Some("the encoded corpus differs (same vocabulary, other word order)".to_string())
        } else if h.input_rows != now.vocab_words || h.inner_rows != inner_rows {
            Some("the matrix shapes do not fit the vocabulary".to_string())
        } else {
            None
        };
        match reason {
            Some(r) => Err(Error::Mismatch {
                path: path.into(),
                reason: format!("checkpoint does not belong to this corpus: {r}"),
            }),
            None => Ok(()),
        }
    }
}

/// Reads `data` as a checkpoint file; when it is accepted, asserts that its parts agree with
/// its header (the fuzz target's oracle: a panic here is a bug in the reader).
pub fn read_and_check(data: &[u8]) {
    if let Ok(mut ck) = read_from(data, data.len() as u64, Path::new("fuzz")) {
        assert_eq!(ck.input.rows() as u64, ck.header.input_rows);
        assert_eq!(ck.inner.rows() as u64, ck.header.inner_rows);
        assert_eq!(ck.header.workers.len(), ck.header.config.run.threads);
        assert!(ck.input.as_mut_slice().iter().all(|x| x.is_finite()));
        assert_eq!(ck.accumulators.is_some(), ck.header.adagrad);
        if let Some(a) = &ck.accumulators {
            assert_eq!(a.input.len() as u64, ck.header.input_rows);
            assert_eq!(a.inner.len() as u64, ck.header.inner_rows);
            assert!(a.input.iter().chain(&a.inner).all(|x| *x >= 0.0));
        }
    }
}

/// `p` made absolute against the current directory (it need not exist).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Model;
    use crate::optim::StepSettings;
    use crate::sampler::Rng;

    fn sample() -> (Header, SharedMatrix, SharedMatrix) {
        let mut cfg = TrainConfig::new("/c.txt".into(), "/v.txt".into(), Model::Skipgram);
        cfg.params.dim = 3;
        cfg.run.threads = 2;
        cfg.params.alpha = 0.1 + 0.2;
        let mut input = SharedMatrix::zeros(4, 3);
        for r in 0..4 {
            for (i, x) in input.row_mut(r).iter_mut().enumerate() {
                *x = (r * 3 + i) as f32 * 0.5 - 3.25;
            }
        }
        let mut inner = SharedMatrix::zeros(3, 3);
        inner.row_mut(2)[1] = f32::MIN_POSITIVE;
        let mut w1 = WorkerState::start(Rng::new(1, 1), 0.3);
        w1.sentence = vec![3, 0, 2];
        w1.pos = 5;
        let header = Header {
            huffvec: "test".into(),
            alpha_bits: cfg.params.alpha.to_bits(),
            config: cfg,
            identity: RunIdentity {
                corpus_bytes: 100,
                corpus_hash: 7,
                vocab_words: 4,
                vocab_fingerprint: 9,
                ids: 20,
                ids_checksum: 11,
            },
            words_done: 12,
            total_words: 100,
            dim: 3,
            input_rows: 4,
            inner_rows: 3,
            workers: vec![WorkerState::start(Rng::new(1, 0), 0.3), w1],
            adagrad: false,
            telemetry: None,
        };
        (header, input, inner)
    }

    /// `sample()` with `--optimizer adagrad` and accumulators 0.5·row + 0.25 (input) and
    /// 3 + row (inner).
    fn sample_adagrad() -> (Header, SharedMatrix, SharedMatrix, StepSettings) {
        let (mut h, input, inner) = sample();
        h.config.params.optimizer = Optimizer::Adagrad;
        h.adagrad = true;
        let mut steps = StepSettings::new(&h.config, 3, 4, 3);
        assert!(steps.restore_adagrad(&[0.25, 0.75, 1.25, 1.75], &[3.0, 4.0, 5.0]));
        (h, input, inner, steps)
    }

    #[test]
    fn round_trip_is_exact_and_padding_stays_zero() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("c.ckpt");
        let (h, mut input, mut inner) = sample();
        write(&p, &h, &mut input, &mut inner, None).expect("test setup");
        let mut back = read(&p).expect("test setup");
        assert_eq!(back.header, h);
        assert_eq!(back.input.as_mut_slice(), input.as_mut_slice());
        assert_eq!(back.inner.as_mut_slice(), inner.as_mut_slice());
        assert_eq!(back.accumulators, None);
        assert_eq!(read_header(&p).expect("test setup"), h);
        // 24-byte preamble + JSON + 7 rows x 3 floats + 4-byte CRC.
        let json = serde_json::to_vec(&h).expect("test setup").len() as u64;
        assert_eq!(
            std::fs::metadata(&p).expect("test setup").len(),
            24 + json + 84 + 4
        );
    }

    #[test]
    fn adagrad_accumulators_round_trip_exactly_after_the_matrices() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("a.ckpt");
        let (h, mut input, mut inner, steps) = sample_adagrad();
        write(&p, &h, &mut input, &mut inner, steps.adagrad()).expect("test setup");
        let mut back = read(&p).expect("test setup");
        assert_eq!(back.header, h);
        assert_eq!(back.input.as_mut_slice(), input.as_mut_slice());
        assert_eq!(
            back.accumulators,
            Some(Accumulators {
                input: vec![0.25, 0.75, 1.25, 1.75],
                inner: vec![3.0, 4.0, 5.0],
            })
        );
        // 24-byte preamble + JSON + 7 rows x 3 floats + 7 accumulators + 4-byte CRC; the
        // accumulators come last, little-endian.
        let json = serde_json::to_vec(&h).expect("test setup").len();
        let bytes = std::fs::read(&p).expect("test setup");
        assert_eq!(bytes.len(), 24 + json + 84 + 28 + 4);
        let at = 24 + json + 84;
        assert_eq!(bytes[at..at + 4], 0.25f32.to_le_bytes());
        assert_eq!(bytes[at + 24..at + 28], 5.0f32.to_le_bytes());
    }

    #[test]
    fn accumulators_longer_than_a_chunk_round_trip() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("big.ckpt");
        let (mut h, _, _, _) = sample_adagrad();
        let rows = SCALARS_PER_CHUNK + 3;
        h.input_rows = rows as u64;
        h.inner_rows = rows as u64 - 1;
        let mut input = SharedMatrix::zeros(rows, 3);
        let mut inner = SharedMatrix::zeros(rows - 1, 3);
        let acc: Vec<f32> = (0..rows).map(|i| i as f32 * 0.5).collect();
        let mut steps = StepSettings::new(&h.config, 3, rows, rows - 1);
        assert!(steps.restore_adagrad(&acc, &acc[1..]));
        write(&p, &h, &mut input, &mut inner, steps.adagrad()).expect("test setup");
        let back = read(&p).expect("test setup");
        assert_eq!(
            back.accumulators,
            Some(Accumulators {
                input: acc.clone(),
                inner: acc[1..].to_vec(),
            })
        );
    }

    #[test]
    fn accumulators_must_match_the_optimizer_and_be_non_negative() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("a.ckpt");
        let (h, mut input, mut inner, steps) = sample_adagrad();
        // The writer refuses accumulators the header does not announce, and the reverse.
        let mut plain = h.clone();
        plain.adagrad = false;
        assert!(write(&p, &plain, &mut input, &mut inner, steps.adagrad()).is_err());
        assert!(write(&p, &h, &mut input, &mut inner, None).is_err());
        assert!(!p.exists());
        // A header announcing accumulators without --optimizer adagrad is refused.
        let mut sgd = h.clone();
        sgd.config.params.optimizer = Optimizer::Sgd;
        write(&p, &sgd, &mut input, &mut inner, steps.adagrad()).expect("test setup");
        let e = read(&p).err().expect("refused").to_string();
        assert!(e.contains("saved exactly with --optimizer adagrad"), "{e}");
        // A negative accumulator (with a valid checksum) is refused.
        let mut negative = sample_adagrad().3;
        assert!(negative.restore_adagrad(&[0.0, 0.0, -1.0, 0.0], &[0.0; 3]));
        write(&p, &h, &mut input, &mut inner, negative.adagrad()).expect("test setup");
        let e = read(&p).err().expect("refused").to_string();
        assert!(e.contains("AdaGrad accumulators hold negative"), "{e}");
    }

    #[test]
    fn older_checkpoints_are_refused_with_the_version() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("c.ckpt");
        let (h, mut input, mut inner) = sample();
        write(&p, &h, &mut input, &mut inner, None).expect("test setup");
        let mut b = std::fs::read(&p).expect("test setup");
        // Version 2 positions meant contiguous shards; version 3 means block-cyclic ones.
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        let e = read_from(&b[..], b.len() as u64, &p)
            .err()
            .expect("refused");
        assert!(
            e.to_string()
                .contains("checkpoint format version 2; this huffvec reads version 3"),
            "{e}"
        );
    }

    #[test]
    fn the_fuzz_seeds_are_readable_checkpoints_of_this_version() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/checkpoint");
        for name in ["small.ckpt", "adagrad.ckpt"] {
            let p = dir.join(name);
            let b = std::fs::read(&p).expect("seed file");
            assert!(read_from(&b[..], b.len() as u64, &p).is_ok(), "{name}");
        }
    }

    #[test]
    fn every_single_byte_flip_or_truncation_is_refused() {
        let dir = tempfile::tempdir().expect("test setup");
        let p = dir.path().join("c.ckpt");
        let (h, mut input, mut inner) = sample();
        write(&p, &h, &mut input, &mut inner, None).expect("test setup");
        let plain = std::fs::read(&p).expect("test setup");
        let (h, mut input, mut inner, steps) = sample_adagrad();
        write(&p, &h, &mut input, &mut inner, steps.adagrad()).expect("test setup");
        let adagrad = std::fs::read(&p).expect("test setup");
        for good in [plain, adagrad] {
            assert!(read_from(&good[..], good.len() as u64, &p).is_ok());
            for i in (0..good.len()).step_by(7).chain([good.len() - 5]) {
                let mut b = good.clone();
                b[i] ^= 0x10;
                let r = read_from(&b[..], b.len() as u64, &p);
                assert!(r.is_err(), "flip at byte {i} accepted");
            }
            for cut in [0, 7, 23, 24, good.len() / 2, good.len() - 5, good.len() - 1] {
                let b = &good[..cut];
                assert!(read_from(b, b.len() as u64, &p).is_err(), "cut at {cut}");
            }
            let mut longer = good.clone();
            longer.push(0);
            assert!(read_from(&longer[..], longer.len() as u64, &p).is_err());
        }
    }

    #[test]
    fn other_settings_and_other_corpora_are_refused_with_the_reason() {
        let (h, input, inner) = sample();
        let ck = Checkpoint {
            header: h.clone(),
            input,
            inner,
            accumulators: None,
        };
        let p = Path::new("x.ckpt");
        assert!(ck.check_settings(&h.config, p).is_ok());
        let mut other = h.config.clone();
        other.params.dim = 4;
        let e = ck.check_settings(&other, p).unwrap_err().to_string();
        assert!(e.contains("--dim 3") && e.contains("--dim 4"), "{e}");
        let mut other = h.config.clone();
        other.params.seed = 2;
        assert!(ck
            .check_settings(&other, p)
            .unwrap_err()
            .to_string()
            .contains("--seed"));
        assert!(ck.check_corpus(Path::new("c"), 100, 7, p).is_ok());
        let e = ck.check_corpus(Path::new("c"), 100, 8, p).unwrap_err();
        assert!(e.to_string().contains("different content"), "{e}");
        assert!(ck.check_identity(&h.identity, 3, p).is_ok());
        let mut id = h.identity;
        id.ids_checksum ^= 1;
        let e = ck.check_identity(&id, 3, p).unwrap_err().to_string();
        assert!(e.contains("word order"), "{e}");
    }
}
