"""A model saved by `huffvec train --save-model` read in Python with numpy and the
`safetensors` package alone, checked against the word2vec text output of the same run.

The huffvec binary is $HUFFVEC_BIN, else target/debug/huffvec (built by `cargo test`); a
missing binary fails the test rather than skipping it.
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parents[2]


def huffvec_bin() -> Path:
    path = Path(os.environ.get("HUFFVEC_BIN", ROOT / "target" / "debug" / "huffvec"))
    assert path.is_file(), f"{path} is missing: run `cargo test` (or set HUFFVEC_BIN) first"
    return path


def train(tmp: Path, *extra: str) -> Path:
    model = tmp / "model.safetensors"
    subprocess.run(
        [
            str(huffvec_bin()),
            "train",
            "--input", str(ROOT / "data" / "wiki-sample.txt"),
            "--output", str(tmp / "vectors.txt"),
            "--save-model", str(model),
            "--dim", "12",
            "--epochs", "1",
            "--min-count", "20",
            "--threads", "2",
            "--quiet",
            *extra,
        ],
        check=True,
        env={**os.environ, "HUFFVEC_CACHE": str(tmp / "cache")},
    )
    return model


def read_text_vectors(path: Path):
    with open(path, "rb") as f:
        rows, dim = map(int, f.readline().split())
        words, vecs = [], []
        for line in f:
            parts = line.rstrip(b"\n").split(b" ")
            words.append(parts[0])
            vecs.append([float(x) for x in parts[1:]])
    assert len(words) == rows
    return words, np.array(vecs, dtype=np.float32).reshape(rows, dim)


def words_of(t):
    offsets, data = t["word_offsets"], t["word_bytes"].tobytes()
    return [data[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def test_hs_model_matches_text_vectors_and_its_tree_is_whole(tmp_path):
    model = train(tmp_path)
    t = load_file(str(model))
    with safe_open(str(model), framework="numpy") as f:
        meta = json.loads(f.metadata()["huffvec"])
    assert meta["format"] == "huffvec-model" and meta["version"] == 1
    assert meta["model"] == "skipgram" and meta["loss"] == "hs"
    assert len(meta["sha256"]) == 64

    words, vecs = read_text_vectors(tmp_path / "vectors.txt")
    n, dim = t["input"].shape
    assert (n, dim) == (len(words), 12) == (meta["words"], meta["dim"])
    assert words_of(t) == words
    # The text output prints each float's shortest round-trip form: the same bits.
    assert np.array_equal(t["input"].view(np.uint32), vecs.view(np.uint32))
    assert t["input"].dtype == np.float32 and t["counts"].dtype == np.uint64
    assert np.all(np.diff(t["counts"].astype(np.int64)) <= 0), "most frequent first"
    assert t["counts"].min() >= 20

    assert t["output"].shape == (n - 1, dim)
    offs, nodes, codes = t["path_offsets"], t["path_nodes"], t["path_codes"]
    assert offs[0] == 0 and offs[-1] == len(nodes) == len(codes)
    assert nodes.max() < n - 1 and set(np.unique(codes)) <= {0, 1}
    paths = [tuple(codes[offs[i]:offs[i + 1]]) for i in range(n)]
    assert all(nodes[offs[i]] == 0 for i in range(n)), "every path starts at the root"
    # The codes form a complete prefix code: Kraft's sum is exactly 1, no code repeats.
    assert sum(2.0 ** -len(p) for p in paths) == 1.0
    assert len(set(paths)) == n


def test_ns_model_has_output_words_and_no_tree(tmp_path):
    t = load_file(str(train(tmp_path, "--loss", "ns")))
    assert t["output"].shape == t["input"].shape
    assert "path_offsets" not in t and "path_nodes" not in t
