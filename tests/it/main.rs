//! One integration binary driving the real `huffvec` CLI in scratch directories.

mod train;
mod util;
