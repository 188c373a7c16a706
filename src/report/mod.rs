//! Reports built from many runs: thread-scaling benchmarks, and studies comparing training
//! configurations on one corpus.

pub mod bench;
pub mod grid;
pub mod study;
