//! `huffvec._huffvec`: the Rust library behind the `huffvec` Python package. Every function
//! here calls the huffvec crate; the Python layer (`huffvec/__init__.py`) only turns
//! keyword arguments into these calls and adds progress bars, pandas and gensim.
//!
//! Training runs on its own thread with the interpreter released; the calling thread polls
//! it every [`POLL`], passes progress and notes to Python, and turns a pending signal
//! (Ctrl-C's `KeyboardInterrupt`) into a request to stop, which training honours within a
//! fraction of a second through [`Observer::interrupted`].

#![deny(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use huffvec::support::word2vec::{self, Vectors};
use huffvec::{
    Embeddings, Error, EvalInputs, EvalSettings, Method, Observer, OutputFormat, TrainedModel,
    Trainer,
};
use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyArithmeticError, PyException, PyFileNotFoundError, PyKeyError, PyKeyboardInterrupt,
    PyOSError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// How often the calling thread looks at a training run: progress, notes and signals.
const POLL: Duration = Duration::from_millis(50);

create_exception!(
    _huffvec,
    Stopped,
    PyException,
    "Training stopped where `stop_at` asked, after writing its checkpoint."
);

/// The Python exception for a huffvec error, carrying its one-line message: ValueError for
/// bad options and bad input files, FileNotFoundError and OSError for I/O, KeyError for an
/// unknown word.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string().replace('\n', " ");
    match &e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        Error::Io { .. } => PyOSError::new_err(msg),
        Error::Config(_) | Error::Corpus { .. } | Error::Format { .. } | Error::Mismatch { .. } => {
            PyValueError::new_err(msg)
        }
        Error::UnknownWord { .. } => PyKeyError::new_err(msg),
        Error::Diverged { .. } => PyArithmeticError::new_err(msg),
        Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(msg),
        Error::Stopped { .. } => Stopped::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// `text` or `binary`.
fn output_format(format: &str) -> PyResult<OutputFormat> {
    match format {
        "text" => Ok(OutputFormat::Text),
        "binary" => Ok(OutputFormat::Binary),
        other => Err(PyValueError::new_err(format!(
            "format must be 'text' or 'binary', got '{other}'"
        ))),
    }
}

/// What a training run has told the calling thread since it last looked.
#[derive(Default)]
struct Progress {
    stop: AtomicBool,
    /// Set at the first progress report of the training phase.
    started: AtomicBool,
    total: AtomicU64,
    done: AtomicU64,
    alpha_bits: AtomicU32,
    messages: Mutex<Vec<(&'static str, String)>>,
    preparing: Mutex<Option<(String, u64, u64)>>,
}

impl Progress {
    fn push(&self, kind: &'static str, msg: &str) {
        if let Ok(mut m) = self.messages.lock() {
            m.push((kind, msg.to_string()));
        }
    }
}

impl Observer for Progress {
    fn preparing(&self, stage: &str, done: u64, total: u64) {
        if let Ok(mut p) = self.preparing.lock() {
            *p = Some((stage.to_string(), done, total));
        }
    }
    fn note(&self, msg: &str) {
        self.push("note", msg);
    }
    fn warning(&self, msg: &str) {
        self.push("warning", msg);
    }
    fn training_started(&self, total: u64, _threads: usize) {
        self.total.store(total, Ordering::Relaxed);
    }
    fn training(&self, done: u64, alpha: f32, _elapsed: Duration) {
        self.done.store(done, Ordering::Relaxed);
        self.alpha_bits.store(alpha.to_bits(), Ordering::Relaxed);
        self.started.store(true, Ordering::Release);
    }
    fn interrupted(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Passes what `p` gathered to `on_event(kind, payload)` on the calling thread: `note` and
/// `warning` with a message, `preparing` with (stage, done, total) and `progress` with
/// (done words, total words, learning rate, seconds).
fn deliver(
    on_event: Option<&Bound<'_, PyAny>>,
    p: &Progress,
    t0: Instant,
    last_done: &mut Option<u64>,
) -> PyResult<()> {
    let Some(f) = on_event else {
        return Ok(());
    };
    let messages = p
        .messages
        .lock()
        .map(|mut m| std::mem::take(&mut *m))
        .unwrap_or_default();
    for (kind, msg) in messages {
        f.call1((kind, msg))?;
    }
    if !p.started.load(Ordering::Acquire) {
        let stage = p.preparing.lock().ok().and_then(|mut s| s.take());
        if let Some(stage) = stage {
            f.call1(("preparing", stage))?;
        }
        return Ok(());
    }
    let done = p.done.load(Ordering::Relaxed);
    if *last_done != Some(done) {
        *last_done = Some(done);
        let alpha = f32::from_bits(p.alpha_bits.load(Ordering::Relaxed));
        let total = p.total.load(Ordering::Relaxed);
        let seconds = t0.elapsed().as_secs_f64();
        f.call1(("progress", (done, total, alpha, seconds)))?;
    }
    Ok(())
}

/// Trains with `huffvec train`'s options, given as `(name, value)` pairs (`None` for a
/// flag), and writes the files they name; `on_event(kind, payload)` hears about progress.
///
/// A pending signal (Ctrl-C) or an exception raised by `on_event` stops training and is
/// raised once the training thread has ended; no vectors or model file is written then.
#[pyfunction]
#[pyo3(signature = (options, on_event=None))]
fn train(
    py: Python<'_>,
    options: Vec<(String, Option<OsString>)>,
    on_event: Option<Bound<'_, PyAny>>,
) -> PyResult<RawModel> {
    let cfg = huffvec::cli::train_config_from_options(&options).map_err(py_err)?;
    let trainer = Trainer::from_config(cfg);
    let checkpoint = trainer.config().checkpoint_path();
    let outputs = trainer.reserve_outputs().map_err(py_err)?;
    let progress = Arc::new(Progress::default());
    let caller = std::thread::current();
    let worker = {
        let progress = Arc::clone(&progress);
        std::thread::Builder::new()
            .name("huffvec-train".into())
            .spawn(move || {
                let result = trainer.train_into(outputs, &*progress);
                caller.unpark();
                result
            })
            .map_err(|e| PyOSError::new_err(format!("cannot start the training thread: {e}")))?
    };
    let t0 = Instant::now();
    let mut last_done = None;
    let mut raised: Option<PyErr> = None;
    loop {
        py.detach(|| std::thread::park_timeout(POLL));
        let ended = worker.is_finished();
        if raised.is_none() {
            let heard = deliver(on_event.as_ref(), &progress, t0, &mut last_done)
                .and_then(|()| py.check_signals());
            if let Err(e) = heard {
                progress.stop.store(true, Ordering::Relaxed);
                raised = Some(e);
            }
        }
        if ended {
            break;
        }
    }
    let result = py.detach(|| worker.join());
    if let Some(e) = raised {
        if let (Ok(Err(Error::Interrupted { .. })), Some(ck)) = (&result, checkpoint) {
            if ck.is_file() {
                progress.warning(&format!(
                    "training interrupted; its checkpoint is {0} (resume={0} continues it)",
                    ck.display()
                ));
                deliver(on_event.as_ref(), &progress, t0, &mut last_done)?;
            }
        }
        return Err(e);
    }
    deliver(on_event.as_ref(), &progress, t0, &mut last_done)?;
    match result {
        Ok(Ok(model)) => Ok(RawModel::new(
            Source::Trained(Box::new(model)),
            String::new(),
        )),
        Ok(Err(e)) => Err(py_err(e)),
        Err(_) => Err(PyRuntimeError::new_err(
            "internal error: the training thread panicked; please report it",
        )),
    }
}

/// The options `train` accepts: `huffvec train`'s long options (underscores for dashes),
/// each with whether it takes a value.
#[pyfunction]
fn train_options() -> Vec<(String, bool)> {
    huffvec::cli::train_options()
}

/// Where a model's vectors come from.
enum Source {
    /// Trained in this process: counts, both matrices and the settings.
    Trained(Box<TrainedModel>),
    /// Read from a word2vec file: words and vectors only.
    Loaded(Vectors),
}

/// Trained or loaded word vectors, with neighbour and analogy queries.
#[pyclass(module = "huffvec._huffvec", frozen)]
struct RawModel {
    source: Source,
    label: String,
    embeddings: OnceLock<Embeddings>,
    vectors: OnceLock<Py<PyArray2<f32>>>,
}

impl RawModel {
    fn new(source: Source, label: String) -> Self {
        RawModel {
            source,
            label,
            embeddings: OnceLock::new(),
            vectors: OnceLock::new(),
        }
    }

    /// The unit-length vectors that queries and evaluation use, made on first use.
    fn embeddings(&self) -> &Embeddings {
        self.embeddings.get_or_init(|| match &self.source {
            Source::Trained(m) => m.embeddings(),
            Source::Loaded(v) => Embeddings::from_vectors(v.clone()),
        })
    }

    fn words_bytes(&self) -> &[Box<[u8]>] {
        match &self.source {
            Source::Trained(m) => m.words(),
            Source::Loaded(v) => &v.words,
        }
    }
}

#[pymethods]
impl RawModel {
    /// The words, most frequent first (bytes that are not UTF-8 become U+FFFD).
    fn words(&self) -> Vec<String> {
        self.words_bytes()
            .iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }

    /// Corpus counts in word order, or None for vectors read from a file.
    fn counts(&self) -> Option<Vec<u64>> {
        match &self.source {
            Source::Trained(m) => Some(m.counts().to_vec()),
            Source::Loaded(_) => None,
        }
    }

    /// Vector dimension.
    fn dim(&self) -> usize {
        match &self.source {
            Source::Trained(m) => m.dim(),
            Source::Loaded(v) => v.dim,
        }
    }

    /// The file the vectors were read from, or "" for a model trained here.
    fn label(&self) -> String {
        self.label.clone()
    }

    /// The vectors as a read-only float32 array of shape (words, dim): one copy of the
    /// model's rows, made on first use and shared by later calls.
    fn vectors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        if let Some(v) = self.vectors.get() {
            return Ok(v.bind(py).clone());
        }
        let (rows, dim, flat) = match &self.source {
            Source::Trained(m) => {
                let (values, stride) = m.vectors_strided();
                let dim = m.dim();
                let mut flat = Vec::with_capacity(m.len() * dim);
                for row in values.chunks(stride.max(1)).take(m.len()) {
                    flat.extend_from_slice(&row[..dim]);
                }
                (m.len(), dim, flat)
            }
            Source::Loaded(v) => (v.words.len(), v.dim, v.data.clone()),
        };
        let array = PyArray1::from_vec(py, flat).reshape([rows, dim])?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("write", false)?;
        array.call_method("setflags", (), Some(&kwargs))?;
        Ok(self.vectors.get_or_init(|| array.unbind()).bind(py).clone())
    }

    /// The `topn` words nearest to `word` by cosine, best first, as (word, cosine).
    #[pyo3(signature = (word, topn=10))]
    fn most_similar(
        &self,
        py: Python<'_>,
        word: &str,
        topn: usize,
    ) -> PyResult<Vec<(String, f32)>> {
        let emb = self.embeddings();
        py.detach(|| emb.most_similar(word, topn)).map_err(py_err)
    }

    /// The `topn` best answers to "a is to b as c is to ?" by 3CosAdd, as (word, cosine).
    #[pyo3(signature = (a, b, c, topn=10))]
    fn analogy(
        &self,
        py: Python<'_>,
        a: &str,
        b: &str,
        c: &str,
        topn: usize,
    ) -> PyResult<Vec<(String, f32)>> {
        let emb = self.embeddings();
        py.detach(|| emb.analogy(a, b, c, topn)).map_err(py_err)
    }

    /// Writes the vectors to `path` in word2vec `format` ("text" or "binary"), atomically.
    #[pyo3(signature = (path, format="text"))]
    fn save(&self, py: Python<'_>, path: PathBuf, format: &str) -> PyResult<()> {
        let format = output_format(format)?;
        py.detach(|| match &self.source {
            Source::Trained(m) => m.save(&path, format),
            Source::Loaded(v) => v.save(&path, format),
        })
        .map_err(py_err)
    }

    /// Writes the whole model (both matrices, tree, vocabulary, settings) as safetensors.
    fn save_model(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        match &self.source {
            Source::Trained(m) => py.detach(|| m.save_model(&path)).map_err(py_err),
            Source::Loaded(_) => Err(PyValueError::new_err(format!(
                "{} holds only word vectors (no output side, tree or counts), so there is no \
                 whole model to save; train with huffvec.train to get one",
                self.label
            ))),
        }
    }

    /// The run's figures (words, seconds, words/s, threads, kernel) as JSON, or None.
    fn report_json(&self) -> PyResult<Option<String>> {
        match &self.source {
            Source::Trained(m) => serde_json::to_string(m.report())
                .map(Some)
                .map_err(|e| PyRuntimeError::new_err(e.to_string())),
            Source::Loaded(_) => Ok(None),
        }
    }

    /// The resolved training settings as JSON, or None.
    fn config_json(&self) -> PyResult<Option<String>> {
        match &self.source {
            Source::Trained(m) => serde_json::to_string(m.config())
                .map(Some)
                .map_err(|e| PyRuntimeError::new_err(e.to_string())),
            Source::Loaded(_) => Ok(None),
        }
    }
}

/// Reads a word2vec text or binary file (the format is detected).
#[pyfunction]
fn load(py: Python<'_>, path: PathBuf) -> PyResult<RawModel> {
    let vectors = py.detach(|| word2vec::read(&path)).map_err(py_err)?;
    if vectors.words.is_empty() {
        return Err(PyValueError::new_err(format!(
            "{} holds no vectors",
            path.display()
        )));
    }
    Ok(RawModel::new(
        Source::Loaded(vectors),
        path.display().to_string(),
    ))
}

/// Evaluates as `huffvec eval` does, returning its `--json` document (as JSON text) and its
/// tables; `given` is a model in memory, evaluated instead of `vectors` or `model`.
#[pyfunction]
#[pyo3(signature = (given, vectors, analogy, similarity, eval_dir, restrict, similarity_restrict,
                    method, vocab, bands, band_edges, probes, model, heldout))]
#[allow(clippy::too_many_arguments)]
fn evaluate(
    py: Python<'_>,
    given: Option<Bound<'_, RawModel>>,
    vectors: Option<PathBuf>,
    analogy: Vec<PathBuf>,
    similarity: Vec<PathBuf>,
    eval_dir: Vec<PathBuf>,
    restrict: usize,
    similarity_restrict: usize,
    method: &str,
    vocab: Option<PathBuf>,
    bands: Option<usize>,
    band_edges: Option<Vec<u64>>,
    probes: Option<PathBuf>,
    model: Option<PathBuf>,
    heldout: Option<PathBuf>,
) -> PyResult<(String, String)> {
    let method = match method {
        "add" => Method::Add,
        "mul" => Method::Mul,
        other => {
            return Err(PyValueError::new_err(format!(
                "method must be 'add' or 'mul', got '{other}'"
            )))
        }
    };
    let settings = EvalSettings {
        vectors,
        analogy,
        similarity,
        eval_dir,
        restrict,
        similarity_restrict,
        method,
        vocab,
        bands,
        band_edges,
        probes,
        model,
        heldout,
    };
    let given = given.as_ref().map(|m| m.get());
    let in_memory = given.map(|m| {
        let label = if m.label.is_empty() {
            "(in memory)".to_string()
        } else {
            m.label.clone()
        };
        (label, m.embeddings())
    });
    let evaluation = py
        .detach(|| EvalInputs::load(&settings)?.evaluate(in_memory))
        .map_err(py_err)?;
    let json = serde_json::to_string(&evaluation.json)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok((json, evaluation.text))
}

/// Reads and checks a `--stats` file (schema, version, every record), raising what is
/// wrong with it; the records themselves are read by the Python layer.
#[pyfunction]
fn check_stats(py: Python<'_>, path: PathBuf) -> PyResult<()> {
    py.detach(|| huffvec::support::stats::read(&path))
        .map(|_| ())
        .map_err(py_err)
}

/// The `huffvec._huffvec` module.
#[pymodule]
fn _huffvec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(train_options, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(check_stats, m)?)?;
    m.add_class::<RawModel>()?;
    m.add("Stopped", m.py().get_type::<Stopped>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
