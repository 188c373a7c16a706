//! 64-byte-aligned matrices: `SharedMatrix` for the Hogwild parameters, `AlignedBuf` for
//! per-thread scratch rows.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use super::simd::Kernel;

/// Rows are padded to a multiple of this many `f32` (64 bytes), so every row starts on a
/// cache line and SIMD loops need no remainder.
pub const ROW_ALIGN_FLOATS: usize = 16;

const ALIGN_BYTES: usize = 64;

/// A zero-initialised, 64-byte-aligned heap block of `f32`.
struct RawBlock {
    ptr: NonNull<f32>,
    len: usize,
}

impl RawBlock {
    fn zeroed(len: usize) -> Self {
        if len == 0 {
            return RawBlock {
                ptr: NonNull::dangling(),
                len: 0,
            };
        }
        let layout = Self::layout(len);
        // SAFETY: `layout` has a non-zero size (len > 0) and a valid power-of-two alignment.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = match NonNull::new(raw as *mut f32) {
            Some(p) => p,
            None => alloc::handle_alloc_error(layout),
        };
        RawBlock { ptr, len }
    }

    fn layout(len: usize) -> Layout {
        Layout::from_size_align(len * std::mem::size_of::<f32>(), ALIGN_BYTES)
            .expect("matrix size overflows the address space")
    }
}

impl Drop for RawBlock {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: `ptr` was returned by `alloc_zeroed` with exactly this layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr() as *mut u8, Self::layout(self.len)) }
        }
    }
}

/// Rounds `dim` up to the padded row stride.
pub(crate) fn stride_for(dim: usize) -> usize {
    dim.div_ceil(ROW_ALIGN_FLOATS).max(1) * ROW_ALIGN_FLOATS
}

/// A row-major `rows x dim` matrix shared by all training threads without locks.
///
/// Padding elements (from `dim` to `stride`) are zero and stay zero: every update adds a
/// multiple of another padded row whose padding is zero.
pub struct SharedMatrix {
    block: RawBlock,
    rows: usize,
    dim: usize,
    stride: usize,
}

// SAFETY: the matrix owns its allocation; concurrent access from several threads is the
// documented Hogwild race (module docs): raw-pointer element loads/stores that cannot leave
// the allocation and never create overlapping references.
unsafe impl Send for SharedMatrix {}
// SAFETY: as above; `&SharedMatrix` only permits raw-pointer row copies and adds.
unsafe impl Sync for SharedMatrix {}

impl SharedMatrix {
    /// A `rows x dim` matrix of zeros.
    pub fn zeros(rows: usize, dim: usize) -> Self {
        let stride = stride_for(dim);
        let len = rows
            .checked_mul(stride)
            .expect("matrix size overflows the address space");
        SharedMatrix {
            block: RawBlock::zeroed(len),
            rows,
            dim,
            stride,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Logical row length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Padded row length (a multiple of [`ROW_ALIGN_FLOATS`]).
    pub fn stride(&self) -> usize {
        self.stride
    }

    #[inline(always)]
    fn row_ptr(&self, row: usize) -> *mut f32 {
        assert!(row < self.rows, "row {row} out of {} rows", self.rows);
        // SAFETY: row < rows, so the offset row*stride is within the allocation of
        // rows*stride elements.
        unsafe { self.block.ptr.as_ptr().add(row * self.stride) }
    }

    /// Copies row `row` into `dst` (length `stride`).
    #[inline(always)]
    pub fn copy_row<K: Kernel>(&self, k: K, row: usize, dst: &mut [f32]) {
        assert_eq!(dst.len(), self.stride);
        let p = self.row_ptr(row);
        // SAFETY: `p` points to `stride` elements of this matrix (row_ptr checked the row);
        // `dst` has exactly `stride` elements; racy reads are the documented Hogwild model.
        unsafe { k.load_shared(dst, p) }
    }

    /// Adds `src` (length `stride`) to row `row`.
    #[inline(always)]
    pub fn add_to_row<K: Kernel>(&self, k: K, row: usize, src: &[f32]) {
        assert_eq!(src.len(), self.stride);
        let p = self.row_ptr(row);
        // SAFETY: as in `copy_row`; racy read-modify-write is the documented Hogwild model.
        unsafe { k.add_shared(p, src) }
    }

    /// Adds `src` to row `row` and returns `src . src` (as [`Kernel::dot`] computes it).
    #[inline(always)]
    pub fn add_to_row_norm2<K: Kernel>(&self, k: K, row: usize, src: &[f32]) -> f32 {
        assert_eq!(src.len(), self.stride);
        let p = self.row_ptr(row);
        // SAFETY: as in `copy_row`; racy read-modify-write is the documented Hogwild model.
        unsafe { k.add_shared_norm2(p, src) }
    }

    /// Adds `new - old` to row `row`: publishes a locally updated copy without
    /// overwriting what other threads wrote meanwhile.
    #[inline(always)]
    pub fn add_delta_to_row<K: Kernel>(&self, k: K, row: usize, new: &[f32], old: &[f32]) {
        assert!(new.len() == self.stride && old.len() == self.stride);
        let p = self.row_ptr(row);
        // SAFETY: as in `copy_row`.
        unsafe { k.add_delta_shared(p, new, old) }
    }

    /// Asks the CPU to start fetching row `row` into cache; values are untouched. Lets a
    /// loop that will visit several random rows (negative sampling) overlap their misses.
    #[inline(always)]
    pub fn prefetch_row(&self, row: usize) {
        let p = self.row_ptr(row);
        #[cfg(target_arch = "x86_64")]
        {
            // A counted loop, not a `step_by` range, whose bookkeeping costs instructions
            // on every prefetched row (docs/performance.md).
            let mut line = 0;
            while line < self.stride {
                // SAFETY: `line < stride`, so the address lies inside row `row` of the
                // allocation (row_ptr checked the row); a prefetch only hints the cache,
                // reads and writes nothing, and cannot fault. SSE is part of the x86-64
                // baseline.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        p.add(line) as *const i8,
                    )
                }
                line += ALIGN_BYTES / std::mem::size_of::<f32>();
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }

    /// All elements (padding included) as one slice; needs exclusive access.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        if self.block.len == 0 {
            return &mut [];
        }
        // SAFETY: `&mut self` guarantees no other thread accesses the block; the block holds
        // `len` initialised (zeroed at allocation) f32 values.
        unsafe { std::slice::from_raw_parts_mut(self.block.ptr.as_ptr(), self.block.len) }
    }

    /// Row `row` (logical `dim` elements); needs exclusive access.
    pub fn row(&mut self, row: usize) -> &[f32] {
        let (stride, dim) = (self.stride, self.dim);
        &self.as_mut_slice()[row * stride..row * stride + dim]
    }

    /// Row `row` (logical `dim` elements) for writing; needs exclusive access.
    pub fn row_mut(&mut self, row: usize) -> &mut [f32] {
        let (stride, dim) = (self.stride, self.dim);
        &mut self.as_mut_slice()[row * stride..row * stride + dim]
    }
}

/// A trained matrix that no thread writes any more: rows are read through shared
/// references. Made by consuming a [`SharedMatrix`], so no handle that could write through
/// `&self` survives.
pub struct FrozenMatrix(SharedMatrix);

impl From<SharedMatrix> for FrozenMatrix {
    fn from(m: SharedMatrix) -> Self {
        FrozenMatrix(m)
    }
}

impl FrozenMatrix {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.0.rows
    }

    /// Logical row length.
    pub fn dim(&self) -> usize {
        self.0.dim
    }

    /// Padded row length (a multiple of [`ROW_ALIGN_FLOATS`]).
    pub fn stride(&self) -> usize {
        self.0.stride
    }

    /// All elements (padding included) as one slice, rows `stride` apart.
    pub fn as_slice(&self) -> &[f32] {
        if self.0.block.len == 0 {
            return &[];
        }
        // SAFETY: the SharedMatrix was moved in by value, so no `&SharedMatrix` (the only
        // way to write through a shared reference) exists any more, and FrozenMatrix offers
        // no write; the block holds `len` initialised f32 values.
        unsafe { std::slice::from_raw_parts(self.0.block.ptr.as_ptr(), self.0.block.len) }
    }

    /// Row `row` (logical `dim` elements).
    pub fn row(&self, row: usize) -> &[f32] {
        let (stride, dim) = (self.0.stride, self.0.dim);
        &self.as_slice()[row * stride..row * stride + dim]
    }
}

/// A per-thread, 64-byte-aligned scratch buffer of `f32`, zero-initialised.
pub struct AlignedBuf {
    block: RawBlock,
}

// SAFETY: an AlignedBuf uniquely owns its allocation, like a Vec<f32>.
unsafe impl Send for AlignedBuf {}

impl AlignedBuf {
    /// A buffer of `len` zeros.
    pub fn zeros(len: usize) -> Self {
        AlignedBuf {
            block: RawBlock::zeroed(len),
        }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        if self.block.len == 0 {
            return &[];
        }
        // SAFETY: the block holds `len` initialised f32 values owned by this buffer.
        unsafe { std::slice::from_raw_parts(self.block.ptr.as_ptr(), self.block.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        if self.block.len == 0 {
            return &mut [];
        }
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.block.ptr.as_ptr(), self.block.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Scalar;

    #[test]
    fn rows_are_aligned_and_padded() {
        let mut m = SharedMatrix::zeros(3, 100);
        assert_eq!(m.stride(), 112);
        assert_eq!(m.as_mut_slice().as_ptr() as usize % 64, 0);
        let src: Vec<f32> = (0..112)
            .map(|i| if i < 100 { i as f32 } else { 0.0 })
            .collect();
        m.add_to_row(Scalar, 1, &src);
        m.add_to_row(Scalar, 1, &src);
        let mut dst = vec![0.0; 112];
        m.copy_row(Scalar, 1, &mut dst);
        assert_eq!(dst[7], 14.0);
        assert_eq!(m.row(0).iter().sum::<f32>(), 0.0);
        assert_eq!(m.row(1)[99], 198.0);
    }

    #[test]
    #[should_panic]
    fn out_of_range_row_panics() {
        let m = SharedMatrix::zeros(2, 4);
        let mut dst = vec![0.0; m.stride()];
        m.copy_row(Scalar, 2, &mut dst);
    }
}
