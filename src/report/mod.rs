//! Reports built from many runs: thread-scaling benchmarks.

pub mod bench;
