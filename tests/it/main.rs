//! The integration tests: one binary driving the real `huffvec` CLI in scratch directories,
//! one module per feature.

mod util;

mod bad_input;
mod eval;
mod mitigation;
mod probes;
mod resume;
mod stats_faults;
mod study;
mod train;
