//! Per-thread scratch: working copies of node rows and private replicas of the top of the
//! tree, published to the shared matrix every few hundred words.

use super::record::FoldBuf;
use crate::kernel::{AlignedBuf, Kernel, SharedMatrix};

/// Per-thread scratch: one node row, and private replicas of the most visited inner nodes.
///
/// Every HS update writes the root and the top levels, so with several threads these rows
/// bounce between cores. Inner nodes are numbered by descending visit count (the Huffman
/// merge order reversed), so rows `0..top_rows` are the hottest; each thread steps its own
/// copies of them and publishes the accumulated change every few hundred words
/// (`shared += local - base`, then `local = base = shared`). With one thread no replicas are
/// used and training is exactly word2vec.c's sequential arithmetic.
pub struct NodeScratch {
    pub(in crate::loss) v: AlignedBuf,
    pub(in crate::loss) v_old: AlignedBuf,
    pub(super) v2: AlignedBuf,
    pub(super) v2_old: AlignedBuf,
    pub(super) top: AlignedBuf,
    top_base: AlignedBuf,
    pub(super) top_rows: usize,
    stride: usize,
    pub(super) fold: FoldBuf,
}

impl NodeScratch {
    /// Scratch for rows of `stride` floats, replicating inner nodes `0..top_rows`.
    pub fn new(stride: usize, top_rows: usize) -> Self {
        NodeScratch {
            v: AlignedBuf::zeros(stride),
            v_old: AlignedBuf::zeros(stride),
            v2: AlignedBuf::zeros(stride),
            v2_old: AlignedBuf::zeros(stride),
            top: AlignedBuf::zeros(top_rows * stride),
            top_base: AlignedBuf::zeros(top_rows * stride),
            top_rows,
            stride,
            fold: FoldBuf::default(),
        }
    }

    /// Publishes the change of the replicated rows since the last sync and refreshes them
    /// from the shared matrix.
    pub fn sync_top<K: Kernel>(&mut self, k: K, inner: &SharedMatrix) {
        let s = self.stride;
        for r in 0..self.top_rows.min(inner.rows()) {
            let (local, base) = (
                &mut self.top[r * s..(r + 1) * s],
                &mut self.top_base[r * s..(r + 1) * s],
            );
            inner.add_delta_to_row(k, r, local, base);
            inner.copy_row(k, r, local);
            base.copy_from_slice(local);
        }
    }
}
