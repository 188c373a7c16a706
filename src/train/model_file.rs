//! The whole trained model in one safetensors file (`huffvec train --save-model FILE`):
//! input vectors, output vectors, the tree, the vocabulary with counts and the resolved
//! configuration, so that text can be scored later (`huffvec eval --model FILE --heldout
//! TEXT`) and Python can read everything with numpy and the `safetensors` package.
//!
//! Tensors (all little-endian; `V` words, `d` dimensions, `R` output rows):
//! * `input` F32 `[V, d]`: the input (word) vectors, word2vec.c's `syn0`.
//! * `output` F32 `[R, d]`: hierarchical softmax's inner-node vectors (`R = V - 1`,
//!   word2vec.c's `syn1`), or with negative sampling the output word vectors (`R = V`,
//!   `syn1neg`).
//! * `counts` U64 `[V]`: corpus counts, ids in vocabulary order (most frequent first).
//! * `word_offsets` U64 `[V + 1]`, `word_bytes` U8: word `i` is
//!   `word_bytes[word_offsets[i]..word_offsets[i + 1]]`, byte for byte.
//! * Hierarchical softmax only: `path_offsets` U64 `[V + 1]`, `path_nodes` U32 and
//!   `path_codes` U8: word `i`'s path from the root is `path_nodes[a..b]` (rows of `output`)
//!   with the branch bits `path_codes[a..b]`, `a = path_offsets[i]`, `b = path_offsets[i + 1]`.
//!
//! The safetensors metadata holds one key, `huffvec`, whose value is a JSON object: format
//! name and version, model, loss, dimension, word and output-row counts, the resolved
//! `config` and `sha256`, the SHA-256 of the content (see [`digest`]). The file is written
//! atomically, and [`ModelFile::read`] refuses a damaged or inconsistent file with a one-line
//! error. `docs/formats-model.md` describes the format for readers outside huffvec.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Trained;
use crate::config::{Loss, Model, TrainConfig};
use crate::error::{Error, Result};
use crate::io::OutputSlot;
use crate::tree::Tree;
use crate::vocab::Vocab;

/// The `format` member of the metadata.
pub const FORMAT: &str = "huffvec-model";

/// The format version this build writes and reads.
pub const VERSION: u64 = 1;

/// The one safetensors metadata key.
pub const METADATA_KEY: &str = "huffvec";

/// A row-major matrix of `rows` rows of `dim` values, each row starting `stride` values
/// after the previous one.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    /// The values, at least `(rows - 1) * stride + dim` of them.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Values per row.
    pub dim: usize,
    /// Distance between row starts (`dim` for a dense matrix).
    pub stride: usize,
}

impl<'a> Rows<'a> {
    /// A dense `rows x dim` view of `data`.
    pub fn dense(data: &'a [f32], dim: usize) -> Self {
        Rows {
            data,
            rows: data.len().checked_div(dim).unwrap_or(0),
            dim,
            stride: dim,
        }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.stride..i * self.stride + self.dim]
    }

    fn le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rows * self.dim * 4);
        for i in 0..self.rows {
            for x in self.row(i) {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }
}

/// Everything a model file holds, borrowed for writing.
#[derive(Clone, Copy)]
pub struct ModelView<'a> {
    /// The vocabulary, in id order.
    pub vocab: &'a Vocab,
    /// Input vectors, one row per word.
    pub input: Rows<'a>,
    /// Output vectors: inner nodes (HS) or output words (NS).
    pub output: Rows<'a>,
    /// The tree (hierarchical softmax only).
    pub tree: Option<&'a Tree>,
    /// The resolved configuration of the run.
    pub config: &'a TrainConfig,
}

/// A model read back from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// The vocabulary with counts, in id order.
    pub vocab: Vocab,
    /// Vector dimension.
    pub dim: usize,
    /// Input vectors, `vocab.len() x dim`, dense.
    pub input: Vec<f32>,
    /// Output vectors, dense, `output.len() / dim` rows.
    pub output: Vec<f32>,
    /// The tree, for a hierarchical-softmax model.
    pub tree: Option<Tree>,
    /// The resolved configuration of the run that trained it.
    pub config: TrainConfig,
}

impl ModelFile {
    /// Borrows the model for [`save`].
    pub fn view(&self) -> ModelView<'_> {
        ModelView {
            vocab: &self.vocab,
            input: Rows::dense(&self.input, self.dim),
            output: Rows::dense(&self.output, self.dim),
            tree: self.tree.as_ref(),
            config: &self.config,
        }
    }

    /// Number of output rows.
    pub fn output_rows(&self) -> usize {
        self.output.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Reads and checks a model file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read model", path, e))?;
        Self::parse(path, &bytes)
    }

    /// Parses and checks the bytes of a model file; `path` only names it in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |at: &str, reason: String| Error::Format {
            path: path.into(),
            at: at.into(),
            reason,
        };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
            bad(
                "header",
                format!("not a readable safetensors file ({e}); is it damaged or truncated?"),
            )
        })?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| bad("header", format!("not a readable safetensors file ({e})")))?;
        let text = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| {
                bad(
                    "metadata",
                    format!("no '{METADATA_KEY}' entry: not a huffvec model file"),
                )
            })?;
        let mut meta: Value = serde_json::from_str(text).map_err(|e| {
            bad(
                "metadata",
                format!("the '{METADATA_KEY}' entry is not JSON ({e})"),
            )
        })?;
        if meta.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(bad(
                "metadata",
                format!("format is not '{FORMAT}': not a huffvec model file"),
            ));
        }
        let version = meta.get("version").and_then(Value::as_u64);
        if version != Some(VERSION) {
            return Err(bad(
                "metadata",
                format!(
                    "format version {} is not {VERSION}, the one this huffvec reads",
                    version.map_or("missing".into(), |v| v.to_string())
                ),
            ));
        }
        let stored = meta
            .as_object_mut()
            .and_then(|m| m.remove("sha256"))
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or_else(|| bad("metadata", "no sha256 checksum".into()))?;
        let mut tensors: Vec<(String, TensorView<'_>)> = st.tensors();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let parts = tensors
            .iter()
            .map(|(n, t)| (n.as_str(), t.dtype(), t.shape(), t.data()));
        if digest(&meta, parts) != stored {
            return Err(bad(
                "checksum",
                "damaged: its SHA-256 does not match the one in its metadata".into(),
            ));
        }
        Self::from_checked(path, &meta, &st)
    }

    /// Builds the model from a file whose checksum matched, checking every shape.
    fn from_checked(path: &Path, meta: &Value, st: &SafeTensors<'_>) -> Result<Self> {
        let bad = |at: &str, reason: String| Error::Format {
            path: path.into(),
            at: at.into(),
            reason,
        };
        let config: TrainConfig = serde_json::from_value(meta["config"].clone())
            .map_err(|e| bad("metadata", format!("config does not parse ({e})")))?;
        let number = |key: &str| -> Result<usize> {
            meta.get(key)
                .and_then(Value::as_u64)
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| bad("metadata", format!("'{key}' is missing or not a number")))
        };
        let (dim, words, rows) = (number("dim")?, number("words")?, number("output_rows")?);
        let hs = config.params.loss == Loss::Hs;
        let want_rows = if hs { words.saturating_sub(1) } else { words };
        if dim != config.params.dim || dim == 0 || words == 0 || rows != want_rows {
            return Err(bad(
                "metadata",
                format!(
                    "shapes disagree with the config: dim {dim} (config {}), {words} words, \
                     {rows} output rows (expected {want_rows})",
                    config.params.dim
                ),
            ));
        }
        let mut names: Vec<&str> = vec!["counts", "input", "output", "word_bytes", "word_offsets"];
        if hs {
            names.extend(["path_codes", "path_nodes", "path_offsets"]);
        }
        names.sort_unstable();
        let mut have = st.names();
        have.sort_unstable();
        if have != names {
            return Err(bad(
                "tensors",
                format!("expected tensors {names:?}, found {have:?}"),
            ));
        }
        let tensor = |name: &str, dtype: Dtype, shape: Option<&[usize]>| -> Result<Vec<u8>> {
            let t = st
                .tensor(name)
                .map_err(|e| bad("tensors", format!("{name}: {e}")))?;
            let shape_ok = match shape {
                Some(s) => t.shape() == s,
                None => t.shape().len() == 1,
            };
            if t.dtype() != dtype || !shape_ok {
                return Err(bad(
                    "tensors",
                    format!(
                        "{name} is {:?} {:?}, expected {dtype:?} {}",
                        t.dtype(),
                        t.shape(),
                        shape.map_or("[n]".into(), |s| format!("{s:?}"))
                    ),
                ));
            }
            Ok(t.data().to_vec())
        };
        let input = f32s(&tensor("input", Dtype::F32, Some(&[words, dim]))?);
        let output = f32s(&tensor("output", Dtype::F32, Some(&[rows, dim]))?);
        let counts = u64s(&tensor("counts", Dtype::U64, Some(&[words]))?);
        let word_offsets = offsets(&tensor("word_offsets", Dtype::U64, Some(&[words + 1]))?);
        let word_bytes = tensor("word_bytes", Dtype::U8, None)?;
        let entries = csr_slices(&word_offsets, &word_bytes)
            .ok_or_else(|| bad("tensors", "word_offsets do not delimit word_bytes".into()))?
            .into_iter()
            .zip(counts)
            .map(|(w, c)| (w.to_vec().into_boxed_slice(), c))
            .collect();
        let vocab = Vocab::from_sorted(entries);
        if (0..words).any(|i| vocab.id(vocab.word(i)) != Some(i as u32)) {
            return Err(bad(
                "tensors",
                "a word appears twice in the vocabulary".into(),
            ));
        }
        let tree = if hs {
            let offs = offsets(&tensor("path_offsets", Dtype::U64, Some(&[words + 1]))?);
            let nodes = tensor("path_nodes", Dtype::U32, None)?;
            let codes = tensor("path_codes", Dtype::U8, None)?;
            let nodes: Vec<u32> = nodes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if nodes.len() != codes.len() || codes.iter().any(|&c| c > 1) {
                return Err(bad(
                    "tensors",
                    "path_nodes and path_codes differ in length, or a code is not 0 or 1".into(),
                ));
            }
            let steps = nodes
                .iter()
                .zip(&codes)
                .map(|(&n, &c)| n.checked_mul(2).map(|n2| n2 | c as u32))
                .collect::<Option<Vec<u32>>>();
            let tree = offs
                .zip(steps)
                .and_then(|(o, s)| Tree::from_paths(o, s, rows))
                .ok_or_else(|| {
                    bad(
                        "tensors",
                        "the paths are malformed (offsets out of order or a node beyond the \
                         output rows)"
                            .into(),
                    )
                })?;
            Some(tree)
        } else {
            None
        };
        Ok(ModelFile {
            vocab,
            dim,
            input,
            output,
            tree,
            config,
        })
    }
}

/// Little-endian `f32`s.
fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Little-endian `u64`s.
fn u64s(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("chunks of 8 bytes")))
        .collect()
}

/// Little-endian `u64` offsets as `usize`, `None` if one does not fit.
fn offsets(b: &[u8]) -> Option<Vec<usize>> {
    u64s(b)
        .into_iter()
        .map(|o| usize::try_from(o).ok())
        .collect()
}

/// The pieces of `data` that `offsets` delimit, `None` unless they start at 0, never
/// decrease and end at `data.len()`.
fn csr_slices<'a>(offsets: &Option<Vec<usize>>, data: &'a [u8]) -> Option<Vec<&'a [u8]>> {
    let o = offsets.as_ref()?;
    let ok = o.first() == Some(&0)
        && o.last() == Some(&data.len())
        && o.windows(2).all(|w| w[0] <= w[1]);
    ok.then(|| o.windows(2).map(|w| &data[w[0]..w[1]]).collect())
}

/// The SHA-256 (lowercase hex) of a model's content: the metadata object without its
/// `sha256` member, as serde_json writes it (keys sorted, no spaces), a newline, then for
/// each tensor in ascending name order its name, a NUL byte, its dtype name (`F32`, `U64`,
/// ...), a NUL byte, the number of dimensions and each dimension as little-endian `u64`,
/// and its data bytes.
pub fn digest<'a>(
    meta: &Value,
    tensors: impl IntoIterator<Item = (&'a str, Dtype, &'a [usize], &'a [u8])>,
) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_string(meta).expect("a JSON value serialises"));
    h.update(b"\n");
    for (name, dtype, shape, data) in tensors {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(format!("{dtype:?}").as_bytes());
        h.update([0]);
        h.update((shape.len() as u64).to_le_bytes());
        for d in shape {
            h.update((*d as u64).to_le_bytes());
        }
        h.update(data);
    }
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// Writes `m` to `slot` (atomically: the final path changes only when all is written).
pub fn save(slot: OutputSlot, m: &ModelView<'_>) -> Result<()> {
    let bytes =
        to_bytes(m).map_err(|e| Error::Internal(format!("cannot build the model file: {e}")))?;
    slot.commit(|w| std::io::Write::write_all(w, &bytes))
}

/// Writes the matrices of a finished run (padded rows are written without their padding).
pub fn save_trained(slot: OutputSlot, t: &Trained, config: &TrainConfig) -> Result<()> {
    let hs = config.params.loss == Loss::Hs;
    let view = ModelView {
        vocab: &t.vocab,
        input: Rows {
            data: t.input.as_slice(),
            rows: t.input.rows(),
            dim: t.input.dim(),
            stride: t.input.stride(),
        },
        output: Rows {
            data: t.inner.as_slice(),
            // An HS run over one word keeps one unused inner row; the file holds V - 1.
            rows: if hs {
                t.inner.rows().min(t.vocab.len().saturating_sub(1))
            } else {
                t.inner.rows()
            },
            dim: t.inner.dim(),
            stride: t.inner.stride(),
        },
        tree: hs.then_some(&t.tree),
        config,
    };
    save(slot, &view)
}

/// The file's bytes.
fn to_bytes(m: &ModelView<'_>) -> std::result::Result<Vec<u8>, String> {
    let words = m.vocab.len();
    let dim = m.input.dim;
    if m.input.rows != words || m.output.dim != dim {
        return Err(format!(
            "input is {}x{}, output {}x{}, for {words} words",
            m.input.rows, dim, m.output.rows, m.output.dim
        ));
    }
    let mut word_offsets = Vec::with_capacity((words + 1) * 8);
    let mut word_bytes = Vec::new();
    word_offsets.extend_from_slice(&0u64.to_le_bytes());
    for w in m.vocab.words() {
        word_bytes.extend_from_slice(w);
        word_offsets.extend_from_slice(&(word_bytes.len() as u64).to_le_bytes());
    }
    let counts: Vec<u8> = m
        .vocab
        .counts()
        .iter()
        .flat_map(|c| c.to_le_bytes())
        .collect();
    let mut owned: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = vec![
        ("input", Dtype::F32, vec![words, dim], m.input.le_bytes()),
        (
            "output",
            Dtype::F32,
            vec![m.output.rows, dim],
            m.output.le_bytes(),
        ),
        ("counts", Dtype::U64, vec![words], counts),
        ("word_offsets", Dtype::U64, vec![words + 1], word_offsets),
        ("word_bytes", Dtype::U8, vec![word_bytes.len()], word_bytes),
    ];
    if let Some(tree) = m.tree {
        let (mut offs, mut nodes, mut codes) = (Vec::new(), Vec::new(), Vec::new());
        offs.extend_from_slice(&0u64.to_le_bytes());
        let mut n = 0u64;
        for w in 0..words {
            for s in tree.path(w) {
                nodes.extend_from_slice(&(s >> 1).to_le_bytes());
                codes.push((s & 1) as u8);
            }
            n += tree.path(w).len() as u64;
            offs.extend_from_slice(&n.to_le_bytes());
        }
        owned.push(("path_offsets", Dtype::U64, vec![words + 1], offs));
        owned.push(("path_nodes", Dtype::U32, vec![codes.len()], nodes));
        owned.push(("path_codes", Dtype::U8, vec![codes.len()], codes));
    }
    owned.sort_by(|a, b| a.0.cmp(b.0));
    let c = m.config;
    let mut meta = json!({
        "format": FORMAT,
        "version": VERSION,
        "huffvec_version": env!("CARGO_PKG_VERSION"),
        "model": match c.params.model { Model::Skipgram => "skipgram", Model::Cbow => "cbow" },
        "loss": match c.params.loss { Loss::Hs => "hs", Loss::Ns => "ns" },
        "dim": dim,
        "words": words,
        "output_rows": m.output.rows,
        "window": c.params.window,
        "config": c,
    });
    let sum = digest(
        &meta,
        owned
            .iter()
            .map(|(n, d, s, b)| (*n, *d, s.as_slice(), b.as_slice())),
    );
    meta["sha256"] = Value::String(sum);
    let views = owned
        .iter()
        .map(|(n, d, s, b)| {
            TensorView::new(*d, s.clone(), b)
                .map(|v| (n.to_string(), v))
                .map_err(|e| format!("{n}: {e}"))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let info = HashMap::from([(METADATA_KEY.to_string(), meta.to_string())]);
    safetensors::serialize(views, Some(info)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Model;

    fn tiny(loss: Loss) -> ModelFile {
        let vocab = Vocab::from_sorted(vec![
            (b"the".to_vec().into_boxed_slice(), 9),
            (b"\xffcat".to_vec().into_boxed_slice(), 4),
            (b"sat".to_vec().into_boxed_slice(), 2),
        ]);
        let mut config = TrainConfig::new("in.txt".into(), "out.txt".into(), Model::Skipgram);
        config.params.dim = 2;
        config.params.loss = loss;
        let hs = loss == Loss::Hs;
        if !hs {
            config.params.negative = 5;
        }
        let tree = crate::tree::huffman::build(vocab.counts());
        let rows = if hs { 2 } else { 3 };
        ModelFile {
            vocab,
            dim: 2,
            input: vec![0.5, -1.25, f32::MIN_POSITIVE, 3.0e-9, -0.0, 7.75],
            output: (0..rows * 2).map(|i| i as f32 * 0.1 - 0.3).collect(),
            tree: hs.then_some(tree),
            config,
        }
    }

    fn bytes(m: &ModelFile) -> Vec<u8> {
        to_bytes(&m.view()).expect("serialises")
    }

    #[test]
    fn models_round_trip_bit_for_bit() {
        for loss in [Loss::Hs, Loss::Ns] {
            let m = tiny(loss);
            let b = bytes(&m);
            let back = ModelFile::parse(Path::new("m"), &b).expect("reads back");
            assert_eq!(back, m);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back.input), bits(&m.input));
            assert_eq!(bytes(&back), b, "saving again gives the same bytes");
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let b = bytes(&tiny(Loss::Hs));
        // Every 7th byte of the whole file, header and data alike.
        for at in (0..b.len()).step_by(7) {
            let mut d = b.clone();
            d[at] ^= 0x10;
            let r = ModelFile::parse(Path::new("m.st"), &d);
            assert!(
                r.is_err(),
                "a flipped byte at {at} of {} was accepted",
                b.len()
            );
        }
        let e = ModelFile::parse(Path::new("m.st"), &b[..b.len() - 3]).unwrap_err();
        assert!(e.to_string().starts_with("m.st: header: "), "{e}");
    }

    #[test]
    fn a_consistent_but_mismatched_file_is_refused() {
        let mut m = tiny(Loss::Hs);
        m.config.params.dim = 3;
        let e = ModelFile::parse(Path::new("m"), &bytes(&m)).unwrap_err();
        assert!(e.to_string().contains("shapes disagree"), "{e}");
        let mut m = tiny(Loss::Hs);
        m.tree = None;
        let e = ModelFile::parse(Path::new("m"), &bytes(&m)).unwrap_err();
        assert!(e.to_string().contains("expected tensors"), "{e}");
        let other = safetensors::serialize(
            vec![(
                "x",
                TensorView::new(Dtype::U8, vec![1], &[7u8]).expect("view"),
            )],
            None,
        )
        .expect("serialises");
        let e = ModelFile::parse(Path::new("m"), &other).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m: metadata: no 'huffvec' entry: not a huffvec model file"
        );
    }
}
