//! One integration binary driving the real `huffvec` CLI in scratch directories.

mod mitigation;
mod train;
mod util;
