//! Typed errors for every failure a user can fix, each naming the path and the action.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in huffvec, one variant per cause a user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O call failed; `what` says what was being done.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("cannot read corpus", ...).
        what: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An option value is out of range or inconsistent with another.
    #[error("invalid option: {0}")]
    Config(String),
    /// The corpus cannot be trained on (empty, no word reaches min-count, ...).
    #[error("corpus {path}: {reason}")]
    Corpus {
        /// The corpus file.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// A file we read is malformed; `at` names the line or byte offset.
    #[error("{path}: {at}: {reason}")]
    Format {
        /// The malformed file.
        path: PathBuf,
        /// Where: "line 3" or "byte 1024".
        at: String,
        /// What is wrong.
        reason: String,
    },
    /// Training produced NaN, infinite or exploded values (see `train::DIVERGED_ABS`).
    #[error("training diverged (NaN, infinite or beyond ±10000) in epoch {epoch} at {progress_pct:.1}% progress; lower --alpha")]
    Diverged {
        /// Epoch (1-based) in which divergence was detected.
        epoch: u32,
        /// Overall progress in percent.
        progress_pct: f64,
    },
    /// Training was stopped by a signal after saving a checkpoint.
    #[error("interrupted at {progress_pct:.1}%: {message}")]
    Interrupted {
        /// Overall progress in percent.
        progress_pct: f64,
        /// How to resume.
        message: String,
    },
    /// Training stopped where `--stop-at` asked, after saving a checkpoint.
    #[error("stopped at {progress_pct:.1}% as asked by --stop-at; checkpoint written to {checkpoint}; resume with `huffvec train --resume {checkpoint}`", checkpoint = checkpoint.display())]
    Stopped {
        /// Overall progress in percent.
        progress_pct: f64,
        /// The checkpoint written.
        checkpoint: PathBuf,
    },
    /// A bug in huffvec (a worker thread panicked); the message says what failed.
    #[error("internal error: {0}; please report it")]
    Internal(String),
    /// A checkpoint or cache does not belong to this corpus or these settings.
    #[error("{path}: {reason}")]
    Mismatch {
        /// The checkpoint or cache file.
        path: PathBuf,
        /// Why it does not match.
        reason: String,
    },
    /// A word asked about is not in the vectors.
    #[error("unknown word '{word}'{suggestions}")]
    UnknownWord {
        /// The word as given.
        word: String,
        /// Rendered suggestions, empty if none.
        suggestions: String,
    },
}

impl Error {
    /// Wraps an `io::Error` with what was being done and the path.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let source = if source.raw_os_error() == Some(28) {
            io::Error::new(source.kind(), "no space left on device (disk full)")
        } else {
            source
        };
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// Builds a `Format` error at a line (1-based).
    pub fn at_line(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            at: format!("line {line}"),
            reason: reason.into(),
        }
    }

    /// Builds a `Format` error at a byte offset.
    pub fn at_byte(path: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            at: format!("byte {offset}"),
            reason: reason.into(),
        }
    }
}
