//! The integration tests: one binary driving the real `huffvec` CLI in scratch directories,
//! one module per feature.

mod eval;
mod mitigation;
mod train;
mod util;
