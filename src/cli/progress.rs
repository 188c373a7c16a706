//! Progress on stderr: a bar with words/s per thread, learning rate and ETA, or silence.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::train::Observer;

/// Draws bars on stderr unless quiet, and reports SIGINT/SIGTERM to the trainer.
pub struct Bar {
    bar: ProgressBar,
    quiet: bool,
    threads: std::sync::atomic::AtomicUsize,
    interrupt: Arc<AtomicBool>,
}

impl Bar {
    /// A bar, hidden when `quiet`; `interrupt` is set by the signal handlers.
    pub fn new(quiet: bool, interrupt: Arc<AtomicBool>) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        if quiet {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        Bar {
            bar,
            quiet,
            threads: 1.into(),
            interrupt,
        }
    }

    /// Prints a line above the bar (nothing when quiet).
    pub fn println(&self, msg: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("{msg}"));
        }
    }
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

impl Observer for Bar {
    fn preparing(&self, stage: &str, done: u64, total: u64) {
        if self.bar.length() != Some(total) {
            self.bar.set_length(total);
            self.bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>9} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
        self.bar.set_message(stage.to_string());
        self.bar.set_position(done);
    }

    fn note(&self, msg: &str) {
        self.println(msg);
    }

    fn warning(&self, msg: &str) {
        self.bar.suspend(|| eprintln!("{msg}"));
    }

    fn training_started(&self, total: u64, threads: usize) {
        self.threads
            .store(threads, std::sync::atomic::Ordering::Relaxed);
        self.bar.reset();
        self.bar.set_length(total);
        self.bar.set_style(
            ProgressStyle::with_template("training [{bar:30}] {percent:>3}% {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
    }

    fn training(&self, done: u64, alpha: f32, elapsed: Duration) {
        let wps = done as f64 / elapsed.as_secs_f64().max(1e-9);
        let t = self
            .threads
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
        self.bar.set_position(done);
        self.bar.set_message(format!(
            "{} words/s ({}/thread) lr {alpha:.6}",
            human(wps),
            human(wps / t as f64)
        ));
    }

    fn training_finished(&self) {
        self.bar.finish_and_clear();
    }

    fn interrupted(&self) -> bool {
        let stop = self.interrupt.load(Ordering::Relaxed);
        if stop && !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
        stop
    }
}
