"""huffvec from Python: train word2vec vectors (hierarchical softmax, word2vec.c's
semantics), evaluate them, and read their training telemetry.

Every function calls the huffvec Rust library; nothing here reimplements training or
evaluation. The options are those of the ``huffvec`` command line, spelled with
underscores (``--min-count`` is ``min_count``), and ``docs/python.md`` describes them all.

>>> import huffvec
>>> model = huffvec.train("corpus.txt", dim=50, epochs=3)
>>> model.most_similar("king", topn=5)
>>> huffvec.evaluate(model)["analogy"]["questions-words"]["total_acc"]
>>> kv = model.to_gensim()
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _huffvec
from ._huffvec import Stopped

__version__: str = _huffvec.__version__
__all__ = ["Model", "Stopped", "evaluate", "load", "read_stats", "train", "train_options"]

PathLike = Union[str, "os.PathLike[str]"]

# The defaults of train()'s named parameters, which are the command line's: a parameter
# left at its default is not passed on, so the command line's own default (which may
# depend on another option, as negative's does on loss) or a resumed checkpoint's setting
# applies.
_TRAIN_DEFAULTS: Dict[str, Any] = {
    "model": "skipgram",
    "dim": 100,
    "window": 5,
    "min_count": 5,
    "sample": 1e-3,
    "alpha": None,
    "epochs": 5,
    "threads": None,
    "seed": None,
    "loss": "hs",
    "negative": 5,
    "stats": None,
}

# Command-line options that train() takes in another form.
_TAKEN_OTHERWISE = {
    "input": "give the corpus as the first argument, corpus_file",
    "quiet": "use progress=False",
}


def train_options() -> List[str]:
    """The names of every option :func:`train` accepts (those of ``huffvec train``)."""
    names = [name for name, _ in _huffvec.train_options() if name not in _TAKEN_OTHERWISE]
    return sorted(set(names) | {"progress"})


def _option_value(name: str, value: Any, takes_value: bool) -> Optional[str]:
    """The command-line text of option ``name``'s ``value`` (None for a flag that is set)."""
    if not takes_value:
        if not isinstance(value, bool):
            raise ValueError(f"option {name} is a switch: give True or False, not {value!r}")
        return None
    if isinstance(value, bool):
        raise ValueError(f"option {name} takes a value, not {value!r}")
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


class _Reporter:
    """Shows training progress: tqdm when installed, else a line on stderr; or calls a
    function ``f(done_words, total_words, alpha)``; or shows nothing. Warnings are always
    issued (as ``RuntimeWarning``)."""

    def __init__(self, progress: Union[bool, Callable[[int, int, float], Any]]):
        self.callback = progress if callable(progress) else None
        self.show = progress is True
        self.bar = None
        self.stage_bar = None
        self.last_line = 0.0
        self.line_open = False
        self.tqdm = None
        if self.show:
            try:
                from tqdm.auto import tqdm

                self.tqdm = tqdm
            except ImportError:
                self.tqdm = None

    def note(self, msg: str) -> None:
        if not self.show:
            return
        if self.tqdm is not None:
            self.tqdm.write(msg, file=sys.stderr)
        else:
            self._end_line()
            print(msg, file=sys.stderr)

    def __call__(self, kind: str, payload: Any) -> None:
        if kind == "warning":
            warnings.warn(payload, RuntimeWarning, stacklevel=3)
        elif kind == "note":
            self.note(payload)
        elif kind == "preparing":
            self.preparing(*payload)
        elif kind == "progress":
            self.progress(*payload)

    def preparing(self, stage: str, done: int, total: int) -> None:
        if not self.show or self.tqdm is None:
            return
        if self.stage_bar is None or self.stage_bar.desc != stage:
            if self.stage_bar is not None:
                self.stage_bar.close()
            self.stage_bar = self.tqdm(
                total=total, desc=stage, unit="B", unit_scale=True, file=sys.stderr, leave=False
            )
        self.stage_bar.update(done - self.stage_bar.n)

    def progress(self, done: int, total: int, alpha: float, seconds: float) -> None:
        if self.callback is not None:
            self.callback(done, total, alpha)
        if not self.show:
            return
        if self.stage_bar is not None:
            self.stage_bar.close()
            self.stage_bar = None
        if self.tqdm is not None:
            if self.bar is None:
                self.bar = self.tqdm(
                    total=total, desc="training", unit="word", unit_scale=True, file=sys.stderr
                )
            self.bar.set_postfix(alpha=f"{alpha:.6f}", refresh=False)
            self.bar.update(done - self.bar.n)
        elif time.monotonic() - self.last_line >= 1.0 or done >= total:
            self.last_line = time.monotonic()
            pct = 100.0 * done / total if total else 100.0
            rate = done / seconds if seconds > 0 else 0.0
            print(
                f"\rtraining {pct:5.1f}%  {rate:,.0f} words/s  alpha {alpha:.6f}",
                end="",
                file=sys.stderr,
                flush=True,
            )
            self.line_open = True

    def _end_line(self) -> None:
        if self.line_open:
            print(file=sys.stderr)
            self.line_open = False

    def close(self) -> None:
        for bar in (self.stage_bar, self.bar):
            if bar is not None:
                bar.close()
        self.stage_bar = self.bar = None
        self._end_line()


def train(
    corpus_file: Optional[PathLike] = None,
    model: str = "skipgram",
    dim: int = 100,
    window: int = 5,
    min_count: int = 5,
    sample: float = 1e-3,
    alpha: Optional[float] = None,
    epochs: int = 5,
    threads: Optional[int] = None,
    seed: Optional[int] = None,
    loss: str = "hs",
    negative: int = 5,
    stats: Optional[PathLike] = None,
    progress: Union[bool, Callable[[int, int, float], Any]] = True,
    **options: Any,
) -> "Model":
    """Trains word vectors on ``corpus_file`` as ``huffvec train`` does, and returns the
    :class:`Model`.

    ``corpus_file`` is text, whitespace-separated words, one sentence per line (None: the
    bundled sample corpus). The named parameters and every keyword in ``options`` are the
    options of ``huffvec train`` with underscores for dashes (``--save-vocab`` is
    ``save_vocab``, ``--stats-every`` is ``stats_every``; :func:`train_options` lists
    them) and mean exactly what they mean there; their defaults are word2vec.c's:

    - ``model``: "skipgram" or "cbow"; ``dim``, ``window``, ``min_count``, ``sample``,
      ``epochs`` as word2vec.c.
    - ``alpha``: starting learning rate (None: 0.025 for skip-gram, 0.05 for CBOW).
    - ``threads``: worker threads (None: every core); ``seed``: random seed (None: 1).
      ``threads=1`` with a fixed seed gives bit-identical vectors to the command line's.
    - ``loss``: "hs" (hierarchical softmax) or "ns" (negative sampling, with
      ``negative`` samples; ``negative`` is ignored with "hs").
    - ``stats``: a JSON Lines file of gradient telemetry (read it with :func:`read_stats`).
    - ``output`` (with ``format``), ``save_vocab``, ``save_model``: files written when
      training completes (none by default; the command line's default ``vectors.txt`` does
      not apply here). ``checkpoint``, ``checkpoint_every``, ``stop_at``, ``resume``,
      ``keep``, ``max_vocab``, ``cache_dir``, the "Loss and mitigations" options and the
      telemetry options as on the command line.

    A named parameter left at its default is not passed on, so with ``resume`` the
    checkpoint's settings apply.

    ``progress``: True shows a tqdm bar when tqdm is installed (else a line on stderr),
    False shows nothing, and a function ``f(done_words, total_words, alpha)`` is called
    about every 50 ms.

    Training runs with the interpreter released. Ctrl-C (KeyboardInterrupt) stops it
    within a second and is raised again; no vectors or model file is written then (with
    ``output`` or ``checkpoint`` given, a checkpoint is, as the command line does, for
    ``resume``; a ``stats`` file keeps the snapshots closed before the stop).
    ``stop_at`` raises :class:`Stopped` after writing its checkpoint.

    Raises ValueError for an unknown or bad option and for a corpus that cannot be trained
    on, FileNotFoundError for a missing file, OSError for other I/O failures; the message
    is the command line's.
    """
    named = {
        "model": model,
        "dim": dim,
        "window": window,
        "min_count": min_count,
        "sample": sample,
        "alpha": alpha,
        "epochs": epochs,
        "threads": threads,
        "seed": seed,
        "loss": loss,
        "negative": negative,
        "stats": stats,
    }
    known = dict(_huffvec.train_options())
    for name in options:
        if name in _TAKEN_OTHERWISE:
            raise ValueError(f"huffvec.train has no option '{name}': {_TAKEN_OTHERWISE[name]}")
        if name not in known:
            raise ValueError(
                f"huffvec.train has no option '{name}' (huffvec.train_options() lists them)"
            )
    given: Dict[str, Any] = {
        k: v for k, v in named.items() if v is not None and not _is_default(k, v)
    }
    given.update({k: v for k, v in options.items() if v is not None})
    argv: List[Tuple[str, Optional[str]]] = []
    if corpus_file is not None:
        argv.append(("input", os.fspath(corpus_file)))
    for name, value in given.items():
        if not known[name] and value is False:
            continue
        argv.append((name, _option_value(name, value, known[name])))
    reporter = _Reporter(progress)
    try:
        raw = _huffvec.train(argv, reporter)
    finally:
        reporter.close()
    return Model(raw)


def _is_default(name: str, value: Any) -> bool:
    default = _TRAIN_DEFAULTS[name]
    return type(value) is type(default) and value == default


def load(path: PathLike) -> "Model":
    """Reads word2vec vectors (text or binary, detected) written by huffvec, word2vec.c,
    gensim or fastText. The model has no counts and cannot ``save_model``."""
    return Model(_huffvec.load(os.fspath(path)))


def _paths(value: Union[None, PathLike, Sequence[PathLike]]) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(v) for v in value]


def _path(value: Optional[PathLike]) -> Optional[str]:
    return None if value is None else os.fspath(value)


def evaluate(
    vectors: Union["Model", PathLike, None] = None,
    *,
    analogy: Union[None, PathLike, Sequence[PathLike]] = None,
    similarity: Union[None, PathLike, Sequence[PathLike]] = None,
    eval_dir: Union[None, PathLike, Sequence[PathLike]] = None,
    restrict: int = 30_000,
    similarity_restrict: int = 300_000,
    method: str = "add",
    vocab: Optional[PathLike] = None,
    bands: Union[None, int, Sequence[int]] = None,
    probes: Optional[PathLike] = None,
    model: Optional[PathLike] = None,
    heldout: Optional[PathLike] = None,
    tables: bool = False,
) -> Dict[str, Any]:
    """Scores vectors as ``huffvec eval --json`` does and returns the same document as a
    dict (its schema is in docs/formats.md).

    ``vectors`` is a :class:`Model` or the path of a word2vec file (None: the input vectors
    of ``model``). ``analogy`` and ``similarity`` are files (one or a list), ``eval_dir``
    directories of them; with none of the three, the bundled sets are used. ``restrict``
    and ``similarity_restrict`` keep the most frequent words; ``method`` is "add" (3CosAdd)
    or "mul" (3CosMul). ``vocab`` (a ``save_vocab`` file) bands words by corpus count
    instead of rank; ``bands`` is a number of log-spaced bands or a list of lower edges.
    ``probes`` (from ``huffvec plant``), ``model`` (a ``save_model`` file) and ``heldout``
    (text scored with ``model``) add the probe and held-out sections. With ``tables`` the
    command line's tables are also printed.
    """
    given = None
    path = None
    if isinstance(vectors, Model):
        given = vectors._raw
    elif vectors is not None:
        path = os.fspath(vectors)
    n_bands, band_edges = None, None
    if isinstance(bands, int):
        n_bands = bands
    elif bands is not None:
        band_edges = [int(b) for b in bands]
    doc, text = _huffvec.evaluate(
        given,
        path,
        _paths(analogy),
        _paths(similarity),
        _paths(eval_dir),
        restrict,
        similarity_restrict,
        {"3cosadd": "add", "3cosmul": "mul"}.get(method, method),
        _path(vocab),
        n_bands,
        band_edges,
        _path(probes),
        _path(model),
        _path(heldout),
    )
    if tables:
        print(text, end="")
    return json.loads(doc)


def read_stats(path: PathLike, as_frame: bool = False) -> Union[Iterator[Dict[str, Any]], Any]:
    """The records of a ``stats`` file (JSON Lines, schema ``huffvec-stats``; fields in
    docs/telemetry.md) as dicts, the header first; the file is checked whole first, so a
    malformed record raises ValueError naming its line before any is yielded. A file cut
    short by a stop is read up to its last complete line (its last record then is not an
    ``end`` record with status ``done``). With ``as_frame`` a pandas DataFrame, one row per
    record (needs pandas)."""
    path = os.fspath(path)
    _huffvec.check_stats(path)
    if as_frame:
        try:
            import pandas
        except ImportError as e:
            raise ImportError("read_stats(as_frame=True) needs pandas: pip install pandas") from e
        return pandas.DataFrame.from_records(list(_records(path)))
    return _records(path)


def _records(path: str) -> Iterator[Dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                if line.endswith("\n"):
                    raise
                # A last line cut short by a stop or crash, which the checked reader
                # leaves out too: every record before it stands.
                return
            yield record


class Model:
    """Word vectors, trained by :func:`train` or read by :func:`load`: the words (most
    frequent first), their counts, the vectors, neighbour and analogy queries, saving, and
    a gensim ``KeyedVectors``."""

    def __init__(self, raw: "_huffvec.RawModel"):
        self._raw = raw
        self._words: Optional[List[str]] = None

    @property
    def words(self) -> List[str]:
        """The words, most frequent first."""
        if self._words is None:
            self._words = self._raw.words()
        return self._words

    @property
    def counts(self) -> Optional[List[int]]:
        """Corpus counts in word order (None for vectors read from a file)."""
        return self._raw.counts()

    @property
    def vectors(self):
        """A read-only numpy float32 array of shape (len(words), dim): one copy of the
        model's vectors, made on first access and returned by every later one."""
        return self._raw.vectors()

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._raw.dim()

    @property
    def report(self) -> Optional[Dict[str, Any]]:
        """Figures about the training run (words, seconds, words/s, threads, kernel), or
        None for vectors read from a file."""
        doc = self._raw.report_json()
        return None if doc is None else json.loads(doc)

    @property
    def config(self) -> Optional[Dict[str, Any]]:
        """Every setting the model was trained with, or None for vectors read from a file."""
        doc = self._raw.config_json()
        return None if doc is None else json.loads(doc)

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        origin = self._raw.label() or "trained"
        return f"<huffvec.Model {len(self)} words, dim {self.dim}, {origin}>"

    def most_similar(self, word: str, topn: int = 10) -> List[Tuple[str, float]]:
        """The ``topn`` words nearest to ``word`` by cosine, best first, as (word, cosine);
        the word is looked up exactly, then ignoring case. KeyError for an unknown word."""
        return self._raw.most_similar(word, topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 10) -> List[Tuple[str, float]]:
        """The ``topn`` best answers to "a is to b as c is to ?" by 3CosAdd, as (word,
        cosine), best first. KeyError for an unknown word."""
        return self._raw.analogy(a, b, c, topn)

    def save(self, path: PathLike, format: str = "text") -> None:
        """Writes the vectors in word2vec ``format``, "text" or "binary" (atomically: the
        file appears only when complete)."""
        self._raw.save(os.fspath(path), format)

    def save_model(self, path: PathLike) -> None:
        """Writes the whole model (both matrices, the tree, the vocabulary with counts and
        the settings) as safetensors (docs/formats-model.md), as ``--save-model`` does."""
        self._raw.save_model(os.fspath(path))

    def evaluate(self, **options: Any) -> Dict[str, Any]:
        """``huffvec.evaluate(self, **options)``."""
        return evaluate(self, **options)

    def to_gensim(self):
        """The vectors as a ``gensim.models.KeyedVectors`` (a copy), with counts as the
        ``count`` attribute when known. Needs gensim (ImportError otherwise)."""
        try:
            import numpy as np
            from gensim.models import KeyedVectors
        except ImportError as e:
            raise ImportError(
                "Model.to_gensim() needs gensim: pip install gensim (or huffvec[gensim])"
            ) from e
        words, vectors, counts = self.words, self.vectors, self.counts
        # A word that repeats (a vectors file may hold one twice) keeps its first row, as
        # huffvec and gensim's own reader do.
        first: Dict[str, int] = {}
        for i, w in enumerate(words):
            first.setdefault(w, i)
        rows = list(first.values())
        kv = KeyedVectors(vector_size=self.dim, count=0, dtype=np.float32)
        kv.add_vectors([words[i] for i in rows], np.array(vectors[rows], dtype=np.float32))
        if counts is not None:
            kv.allocate_vecattrs(attrs=["count"], types=[np.int64])
            kv.expandos["count"][:] = np.asarray(counts, dtype=np.int64)[rows]
        return kv
