"""The `huffvec` Python package (python/, installed with `pip install ./python`) against the
command line: identical vectors, the same evaluation document, gensim's analogy scores,
the documented exceptions, and Ctrl-C.

The huffvec binary is $HUFFVEC_BIN, else target/debug/huffvec (built by `cargo test`). A
missing binary or package fails the test; with HUFFVEC_NO_SKIP set (as .ci/run sets it),
so does a missing optional package (gensim, pandas), which otherwise skips its test.
"""

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import huffvec

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "wiki-sample.txt"
QUESTIONS = ROOT / "data" / "eval" / "questions-words.txt"


def need(module: str):
    """Imports `module`, or skips the test (fails it when HUFFVEC_NO_SKIP is set)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        reason = f"python package {module} is not installed"
        if os.environ.get("HUFFVEC_NO_SKIP"):
            pytest.fail(f"HUFFVEC_NO_SKIP is set, but this test cannot run: {reason}")
        pytest.skip(reason)


def huffvec_bin() -> Path:
    path = Path(os.environ.get("HUFFVEC_BIN", ROOT / "target" / "debug" / "huffvec"))
    assert path.is_file(), f"{path} is missing: run `cargo test` (or set HUFFVEC_BIN) first"
    return path


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(huffvec_bin()), *args], check=True, capture_output=True, cwd=cwd
    )


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory):
    """One encoded-corpus cache for the session, used by the binary and the package."""
    d = tmp_path_factory.mktemp("cache")
    old = os.environ.get("HUFFVEC_CACHE")
    os.environ["HUFFVEC_CACHE"] = str(d)
    yield d
    if old is None:
        del os.environ["HUFFVEC_CACHE"]
    else:
        os.environ["HUFFVEC_CACHE"] = old


@pytest.fixture(scope="session")
def model():
    """word2vec.c's defaults on the bundled corpus, two threads."""
    return huffvec.train(CORPUS, threads=2, progress=False)


def read_binary(path: Path):
    """Words and vectors of a word2vec binary file (little-endian float32 rows)."""
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    rows, dim = map(int, header.split())
    words, vecs, at = [], [], 0
    for _ in range(rows):
        space = body.index(b" ", at)
        words.append(body[at:space].decode())
        at = space + 1
        vecs.append(np.frombuffer(body, dtype="<f4", count=dim, offset=at))
        at += 4 * dim + 1
    return words, np.vstack(vecs)


def test_vectors_are_the_command_lines_bit_for_bit(tmp_path):
    options = ["--threads", "1", "--seed", "7", "--epochs", "2", "--min-count", "3"]
    cli("train", "--input", str(CORPUS), "--output", str(tmp_path / "cli.bin"),
        "--format", "binary", "--save-vocab", str(tmp_path / "cli.vocab"), "--quiet", *options)
    m = huffvec.train(CORPUS, threads=1, seed=7, epochs=2, min_count=3, progress=False,
                      output=tmp_path / "py.bin", format="binary",
                      save_vocab=tmp_path / "py.vocab")
    m.save(tmp_path / "saved.bin", format="binary")
    cli_bytes = (tmp_path / "cli.bin").read_bytes()
    assert (tmp_path / "py.bin").read_bytes() == cli_bytes
    assert (tmp_path / "saved.bin").read_bytes() == cli_bytes
    assert (tmp_path / "py.vocab").read_bytes() == (tmp_path / "cli.vocab").read_bytes()

    words, vectors = read_binary(tmp_path / "cli.bin")
    assert m.words == words
    assert m.vectors.dtype == np.float32 and m.vectors.shape == (len(words), 100)
    assert m.vectors.tobytes() == vectors.tobytes()
    vocab = [line.split() for line in (tmp_path / "cli.vocab").read_text().splitlines()]
    assert m.counts == [int(c) for _, c in vocab]
    assert m.vectors is m.vectors, "one copy, made once"
    assert not m.vectors.flags.writeable


def test_every_train_option_of_the_command_line_is_accepted():
    help_text = cli("train", "--help").stdout.decode()
    flags = {
        m.group(1).replace("-", "_")
        for m in re.finditer(r"^\s*(?:-\w, )?--([a-z][a-z0-9-]*)", help_text, re.MULTILINE)
    }
    flags -= {"help", "input", "quiet"}
    assert flags and flags <= set(huffvec.train_options())


def test_evaluate_is_the_command_lines_json(model, tmp_path):
    model.save(tmp_path / "v.txt")
    cli_doc = json.loads(cli("eval", "--vectors", str(tmp_path / "v.txt"), "--json").stdout)
    from_file = huffvec.evaluate(tmp_path / "v.txt")
    in_memory = huffvec.evaluate(model)

    def timeless(doc):
        doc = json.loads(json.dumps(doc))
        doc.pop("load_seconds")
        for kind in ("analogy", "similarity"):
            for r in doc[kind].values():
                r.pop("seconds")
        return doc

    assert timeless(from_file) == timeless(cli_doc)
    assert in_memory["vectors"] == "(in memory)"
    in_memory["vectors"] = cli_doc["vectors"]
    assert timeless(in_memory) == timeless(cli_doc)
    assert set(cli_doc["analogy"]) == {"questions-words"}


def test_gensims_analogy_accuracy_equals_evaluate(model):
    need("gensim")
    kv = model.to_gensim()
    assert kv.index_to_key == model.words
    assert np.array_equal(kv.vectors, model.vectors)
    assert kv.get_vecattr(model.words[0], "count") == model.counts[0]
    # Both restrict answers and questions to the 30,000 most frequent words (gensim's
    # default is 300,000; huffvec's --restrict default is 30,000) and compare words in
    # upper case (gensim's case_insensitive=True, huffvec's only mode). A question with a
    # word outside the restricted vocabulary is skipped by both: gensim leaves it out of
    # its correct and incorrect lists, huffvec counts it in "questions" but not in "seen",
    # so accuracy is correct / seen on both sides.
    ours = huffvec.evaluate(model, analogy=QUESTIONS, restrict=30_000)["analogy"]["questions-words"]
    score, sections = kv.evaluate_word_analogies(
        str(QUESTIONS), restrict_vocab=30_000, case_insensitive=True, dummy4unknown=False
    )
    total = sections[-1]
    assert total["section"] == "Total accuracy"
    assert len(total["correct"]) == ours["correct"] > 0
    assert len(total["correct"]) + len(total["incorrect"]) == ours["seen"]
    assert ours["total_acc"] == pytest.approx(100.0 * score, abs=1e-9)
    by_name = {s["section"]: s for s in sections[:-1]}
    for name, tally in ours["sections"].items():
        assert len(by_name[name]["correct"]) == tally["correct"], name


def test_to_gensim_without_gensim_is_a_clear_import_error(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(ImportError, match="needs gensim"):
        model.to_gensim()


def test_load_reads_what_save_wrote(model, tmp_path):
    model.save(tmp_path / "v.txt", format="text")
    model.save(tmp_path / "v.bin", format="binary")
    for name in ("v.txt", "v.bin"):
        loaded = huffvec.load(tmp_path / name)
        assert loaded.words == model.words and loaded.counts is None
        assert loaded.vectors.tobytes() == model.vectors.tobytes()
        assert loaded.most_similar("king", 5) == model.most_similar("king", 5)
    with pytest.raises(ValueError, match="no whole model"):
        loaded.save_model(tmp_path / "m.safetensors")
    answers = model.analogy("man", "king", "woman", topn=3)
    assert len(answers) == 3 and all(isinstance(w, str) for w, _ in answers)


def test_save_model_is_the_safetensors_model(model, tmp_path):
    model.save_model(tmp_path / "m.safetensors")
    doc = huffvec.evaluate(model=tmp_path / "m.safetensors", analogy=QUESTIONS)
    assert doc["words"] == len(model.words)
    assert doc["vectors"] == str(tmp_path / "m.safetensors")


def test_missing_files_bad_options_and_empty_corpora_raise_the_documented_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such.txt"):
        huffvec.train(tmp_path / "no-such.txt", progress=False)
    with pytest.raises(FileNotFoundError):
        huffvec.load(tmp_path / "no-such.bin")
    with pytest.raises(FileNotFoundError):
        huffvec.evaluate(tmp_path / "no-such.bin")
    with pytest.raises(FileNotFoundError):
        list(huffvec.read_stats(tmp_path / "no-such.jsonl"))
    with pytest.raises(ValueError, match="--dim must be in 1..=10000, got 0"):
        huffvec.train(CORPUS, dim=0, progress=False)
    with pytest.raises(ValueError, match="'dimension'"):
        huffvec.train(CORPUS, dimension=50, progress=False)
    with pytest.raises(ValueError, match="'abc'"):
        huffvec.train(CORPUS, window="abc", progress=False)
    with pytest.raises(ValueError, match="needs --loss ns"):
        huffvec.train(CORPUS, negative=10, progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        huffvec.train(CORPUS, output=tmp_path / "no" / "dir" / "v.txt", progress=False)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty.txt"):
        huffvec.train(tmp_path / "empty.txt", progress=False)
    (tmp_path / "bad.txt").write_text("2 3\nword 1 2\n")
    with pytest.raises(ValueError, match="bad.txt"):
        huffvec.load(tmp_path / "bad.txt")
    with pytest.raises(OSError):
        huffvec.load(tmp_path)
    assert not list(tmp_path.glob("**/.huffvec-*")), "no temporary file left"


def test_unknown_words_raise_key_error(model):
    with pytest.raises(KeyError, match="qwertyuiop"):
        model.most_similar("qwertyuiop")


@pytest.fixture
def sigint_raises():
    """Ctrl-C raises KeyboardInterrupt here even where the runner ignores SIGINT (a job
    started in the background by a shell without job control inherits SIG_IGN)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_stops_training_within_a_second_and_writes_no_output(tmp_path, sigint_raises):
    out = tmp_path / "v.bin"
    seen = []
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.5, interrupt)
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt), warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            # About 30 s of training with one thread, if it were not stopped.
            huffvec.train(CORPUS, threads=1, epochs=60, output=out, format="binary",
                          save_model=tmp_path / "m.safetensors",
                          progress=lambda done, total, alpha: seen.append((done, total)))
    finally:
        timer.cancel()
    stopped = time.monotonic()
    assert [str(w.message) for w in warned] == [
        f"training interrupted; its checkpoint is {out}.ckpt (resume={out}.ckpt continues it)"
    ]
    assert sent, "the timer fired"
    assert stopped - sent[0] < 1.0, f"stopped {stopped - sent[0]:.2f}s after Ctrl-C"
    assert seen and seen[-1][0] < seen[-1][1], "training was under way and did not finish"
    assert stopped - t0 < 5.0
    # No vectors or model file, no temporary file: only the checkpoint that an output path
    # puts beside it, as the command line writes on Ctrl-C.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.bin.ckpt"]


def test_ctrl_c_without_output_leaves_nothing(tmp_path, sigint_raises):
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    os.chdir(tmp_path)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            huffvec.train(CORPUS, threads=1, epochs=60, progress=False)
    finally:
        timer.cancel()
        os.chdir(ROOT)
    assert list(tmp_path.iterdir()) == []


def test_training_releases_the_gil():
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    t = threading.Thread(target=tick)
    t.start()
    try:
        huffvec.train(CORPUS, threads=1, epochs=1, dim=50, progress=False)
    finally:
        done.set()
        t.join()
    # A thread that holds the interpreter for the whole run would leave no tick between
    # the first and the last; ticks keep coming every ~10 ms instead.
    gaps = np.diff(ticks)
    assert len(ticks) > 10 and gaps.max() < 0.2


def test_progress_callback_sees_the_run_and_false_prints_nothing(capfd):
    calls = []
    huffvec.train(CORPUS, epochs=1, dim=20, progress=lambda *a: calls.append(a))
    assert calls and calls[-1][0] == calls[-1][1] and calls[-1][1] > 0
    assert all(0 < alpha <= 0.025 for _, _, alpha in calls)
    capfd.readouterr()
    huffvec.train(CORPUS, epochs=1, dim=20, progress=False)
    assert capfd.readouterr().err == ""


def test_stop_at_raises_stopped_after_its_checkpoint(tmp_path):
    with pytest.raises(huffvec.Stopped, match="--stop-at"):
        huffvec.train(CORPUS, epochs=1, dim=20, progress=False, stop_at=50,
                      checkpoint=tmp_path / "run.ckpt")
    assert (tmp_path / "run.ckpt").is_file()


def test_read_stats_yields_the_records(tmp_path):
    stats = tmp_path / "stats.jsonl"
    huffvec.train(CORPUS, epochs=1, dim=20, progress=False, stats=stats, stats_every=25)
    records = list(huffvec.read_stats(stats))
    lines = stats.read_text().splitlines()
    assert records == [json.loads(line) for line in lines]
    assert records[0]["record"] == "header" and records[0]["schema"] == "huffvec-stats"
    assert records[-1]["record"] == "end"
    kinds = {r["record"] for r in records}
    assert {"snapshot", "cell", "band"} <= kinds

    pandas = need("pandas")
    frame = huffvec.read_stats(stats, as_frame=True)
    assert isinstance(frame, pandas.DataFrame) and len(frame) == len(records)
    assert list(frame["record"]) == [r["record"] for r in records]

    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(ValueError, match="line 2"):
        huffvec.read_stats(bad)
    # A file cut short mid-line (a killed run) reads up to its last complete line.
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2])
    assert list(huffvec.read_stats(cut)) == records[:3]
