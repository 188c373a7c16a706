//! The binary output tree of hierarchical softmax: for each word, the inner nodes on its
//! path from the root and the branch taken at each.
//!
//! Paths are stored as one flat block (CSR): `path(w)[d]` is the step at depth `d` (root =
//! 0), packed as `inner_node << 1 | code`. Inner nodes are numbered so that the root is 0 and
//! every parent has a smaller id than its children, so the top of the tree occupies the
//! first rows of the inner-node matrix. Code 0 means label 1 in word2vec.c's convention
//! (`g = (1 - code - sigmoid(f)) * alpha`). There is no fixed code-length limit unless
//! `--tree huffman-capped` sets one ([`capped`]).

pub mod capped;
pub mod huffman;
pub mod shapes;

/// A binary tree over the vocabulary (leaves = word ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    offsets: Vec<usize>,
    steps: Vec<u32>,
    n_inner: usize,
}

impl Tree {
    /// Builds from a merge forest: `n` leaves `0..n` and inner nodes `n..2n-1`, where
    /// `parent[x] > x` for every node but the root `2n-2`, and `code[x]` is the branch bit
    /// from `parent[x]` to `x`.
    pub fn from_parents(n: usize, parent: &[usize], code: &[u8]) -> Self {
        assert!(n >= 1 && parent.len() == 2 * n - 1 && code.len() == 2 * n - 1);
        let root = 2 * n - 2;
        let mut depth = vec![0u32; 2 * n - 1];
        for x in (0..root).rev() {
            assert!(
                parent[x] > x && parent[x] <= root,
                "parent must follow child"
            );
            depth[x] = depth[parent[x]] + 1;
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        for d in &depth[..n] {
            offsets.push(offsets.last().copied().unwrap_or(0) + *d as usize);
        }
        let mut steps = vec![0u32; offsets[n]];
        for w in 0..n {
            let mut pos = offsets[w + 1];
            let mut x = w;
            while x != root {
                let p = parent[x];
                pos -= 1;
                let inner = (root - p) as u32;
                steps[pos] = (inner << 1) | (code[x] as u32 & 1);
                x = p;
            }
        }
        Tree {
            offsets,
            steps,
            n_inner: n - 1,
        }
    }

    /// Builds from stored paths: `offsets` (one more than the words, starting at 0, never
    /// decreasing) delimit each word's packed steps `inner << 1 | code`, root first, with
    /// every inner node below `n_inner`; `None` when they do not.
    pub fn from_paths(offsets: Vec<usize>, steps: Vec<u32>, n_inner: usize) -> Option<Self> {
        let well_formed = offsets.first() == Some(&0)
            && offsets.last() == Some(&steps.len())
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && steps.iter().all(|s| ((s >> 1) as usize) < n_inner);
        well_formed.then_some(Tree {
            offsets,
            steps,
            n_inner,
        })
    }

    /// Number of leaves (words).
    pub fn n_words(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of inner nodes (rows of the inner-node matrix).
    pub fn n_inner(&self) -> usize {
        self.n_inner
    }

    /// The packed steps of word `w`, root first: `inner << 1 | code`.
    #[inline(always)]
    pub fn path(&self, w: usize) -> &[u32] {
        &self.steps[self.offsets[w]..self.offsets[w + 1]]
    }

    /// Code length of word `w` (its depth).
    pub fn depth(&self, w: usize) -> usize {
        self.offsets[w + 1] - self.offsets[w]
    }

    /// Largest code length.
    pub fn max_depth(&self) -> usize {
        (0..self.n_words())
            .map(|w| self.depth(w))
            .max()
            .unwrap_or(0)
    }

    /// Per depth, the mean |g| of a model that ignores the context: at an inner node whose
    /// visits go left with share q (from the words' `counts`), predicting q gives the
    /// expected |g| = 2q(1 - q). Each node is weighted by its visits; a depth without
    /// visits gets 0.
    pub fn context_free_abs_g(&self, counts: &[u64]) -> Vec<f64> {
        let mut visits = vec![0u64; self.n_inner];
        let mut ones = vec![0u64; self.n_inner];
        let mut depth_of = vec![0usize; self.n_inner];
        for (w, &c) in counts.iter().enumerate().take(self.n_words()) {
            for (d, &s) in self.path(w).iter().enumerate() {
                let node = (s >> 1) as usize;
                visits[node] += c;
                ones[node] += c * (s & 1) as u64;
                depth_of[node] = d;
            }
        }
        let nd = self.max_depth();
        let (mut sum, mut weight) = (vec![0.0f64; nd], vec![0.0f64; nd]);
        for node in 0..self.n_inner {
            if visits[node] == 0 {
                continue;
            }
            let n = visits[node] as f64;
            let q = ones[node] as f64 / n;
            sum[depth_of[node]] += n * 2.0 * q * (1.0 - q);
            weight[depth_of[node]] += n;
        }
        sum.iter()
            .zip(&weight)
            .map(|(s, w)| if *w > 0.0 { s / w } else { 0.0 })
            .collect()
    }

    /// `code` bits of word `w`, root first.
    pub fn code(&self, w: usize) -> Vec<u8> {
        self.path(w).iter().map(|s| (s & 1) as u8).collect()
    }

    /// Words per depth: `hist[d]` leaves have code length `d`.
    pub fn depth_histogram(&self) -> Vec<u64> {
        let mut h = vec![0u64; self.max_depth() + 1];
        for w in 0..self.n_words() {
            h[self.depth(w)] += 1;
        }
        h
    }

    /// Mean code length weighted by `counts` (inner-node updates per prediction).
    pub fn mean_depth(&self, counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let sum: f64 = counts
            .iter()
            .enumerate()
            .map(|(w, &c)| c as f64 * self.depth(w) as f64)
            .sum();
        if total == 0 {
            0.0
        } else {
            sum / total as f64
        }
    }

    /// One line: max and count-weighted mean depth and the depth histogram.
    pub fn summary(&self, counts: &[u64]) -> String {
        let hist = self.depth_histogram();
        let hist: Vec<String> = hist
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(d, n)| format!("{d}:{n}"))
            .collect();
        format!(
            "tree: {} words, {} inner nodes, max depth {}, mean depth {:.2} (token-weighted); words per depth {}",
            self.n_words(),
            self.n_inner(),
            self.max_depth(),
            self.mean_depth(counts),
            hist.join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_free_abs_g_is_2q_1_minus_q_per_depth() {
        // Three words with counts 6, 3, 1: the root splits 6 | 4, its child 3 | 1.
        // Root: q = 4/10 on the code-1 side, 2 q (1 - q) = 0.48. Depth 1: the node under
        // the root has q = 1/4 (or 3/4): 0.375; the leaf-side word has no node there.
        let parent = [4, 3, 3, 4, 4];
        let code = [0, 0, 1, 1, 0];
        let t = Tree::from_parents(3, &parent, &code);
        let g = t.context_free_abs_g(&[6, 3, 1]);
        assert_eq!(g.len(), 2);
        assert!((g[0] - 0.48).abs() < 1e-12, "{g:?}");
        assert!((g[1] - 0.375).abs() < 1e-12, "{g:?}");
    }
}
