//! The one integration-test binary: every test drives the real `huffvec` executable in a
//! scratch directory.

mod bad_input;
mod resume;
mod util;
