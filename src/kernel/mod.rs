//! The only `unsafe` code in huffvec: shared Hogwild matrices, aligned buffers, SIMD
//! kernels (the telemetry fold and its visit cursor among them), read-only memory maps, the
//! batch matrix product used by evaluation and the sigmoid tables' float-to-slot conversion.
//!
//! # The benign-race (Hogwild) model
//!
//! Training threads update the two parameter matrices (word2vec.c's `syn0`, here `input`,
//! and `syn1`, here `inner_nodes`) without locks, as in word2vec.c, fastText and Recht et
//! al.'s Hogwild!. Two threads may read and write the same row at once; a read may then see
//! a mix of old and new elements, and one of two simultaneous `+=` may be lost. SGD
//! tolerates this noise; it is the price of scaling without locks.
//!
//! What we guarantee, and how:
//! * Shared rows are never turned into references (`&[f32]` / `&mut [f32]`): every access
//!   to a [`SharedMatrix`] row goes through raw pointers inside this module, so no two
//!   overlapping `&mut` exist (the flaw of finalfrontier's `HogwildArray`).
//! * Every row index is checked against the row count once per row access, and every
//!   per-element loop is bounded by the row stride, so no access leaves the allocation.
//! * Element accesses are plain 32-bit loads and stores (or 256-bit vector loads and stores
//!   of 8 aligned elements). On x86-64 and AArch64 these never tear a single `f32`, so a
//!   reader sees each element as either its old or its new value, never a mixture of bytes.
//!   Formally, unsynchronised non-atomic access is a data race in Rust's abstract machine;
//!   we accept this exactly as every Hogwild trainer does, and keep all of it in this module.
//! * Exclusive access (`&mut SharedMatrix`) is required to read rows as slices, which is how
//!   vectors are written out after the worker threads have been joined.

#[cfg(test)]
mod alloc_count;
mod fold;
mod gemm;
mod index;
mod matrix;
mod mmap;
mod scalars;
mod simd;

#[cfg(test)]
pub use alloc_count::count_allocations;
pub use fold::{
    next_norm2, saturated_nodes, LanesMut, NodeLanes, PairVisits, PathVisits, SaturatedNodes,
};
pub use gemm::{matmul, matmul_transposed};
pub use index::clamped_floor;

pub use matrix::{AlignedBuf, FrozenMatrix, SharedMatrix};
pub(crate) use mmap::{map_cache, map_corpus};
pub use mmap::{unmap_advice_dont_need, Mapped};
pub use scalars::SharedScalars;
pub use simd::{dispatch, Kernel, KernelTask, Scalar};

#[cfg(target_arch = "x86_64")]
pub use simd::Avx2Fma;

/// Sets `x` to zeros. A plain loop: `slice::fill`'s helper is not inlined into the hot loop
/// without cross-unit LTO, so the loop's buffers are cleared through this.
#[inline(always)]
pub fn zero(x: &mut [f32]) {
    for v in x {
        *v = 0.0;
    }
}

/// Name of the SIMD backend [`dispatch`] selects on this CPU.
pub fn backend_name() -> &'static str {
    simd::backend_name()
}
