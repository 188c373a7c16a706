//! Optimal length-limited codes: the tree of least total cost sum(count * depth) among
//! those no deeper than a cap L, by package-merge (Larmore & Hirschberg 1990).
//!
//! Package-merge reads the code as coins: word w at depth d costs count(w) and is worth
//! 2^-d, and a complete code of n words is a choice of coins worth n - 1 in all (each
//! word contributes 2^-1 + ... + 2^-d(w) = 1 - 2^-d(w), and the Kraft sum is 1). Going
//! from the deepest level L up to 1, each level's list is the words sorted by count,
//! merged with the pairs ("packages") of the list below, cheapest first; the 2n - 2
//! cheapest items of level 1 are an optimal choice. The chosen items at every level are a
//! prefix of that level's list, so a word's length is the number of levels whose chosen
//! prefix holds it, and only one bit per list item (word or package) has to be kept:
//! O(nL) time, O(nL) bits.
//!
//! The tree is then built level by level from the deepest: the nodes at each depth
//! (words of that length and the nodes formed below) are paired lightest first, the
//! lighter of a pair on code 0, as Huffman merges. Inner rows come out breadth-first,
//! heavier first within a depth, so the top of the tree is the first rows.

use super::{huffman, Tree};
use crate::error::{Error, Result};

/// The shortest cap that can code `n` words: ceil(log2 n), 0 for one word.
pub fn min_code_len(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }
}

/// The tree of least total cost over `counts` (ids preserved) whose paths are at most
/// `max_len` long: Huffman's own tree when it is no deeper; an error naming the minimum
/// when `max_len` cannot code every word.
pub fn build(counts: &[u64], max_len: usize) -> Result<Tree> {
    let n = counts.len();
    let min = min_code_len(n);
    if max_len < min {
        return Err(Error::Config(format!(
            "--max-code-len {max_len} is too short for {n} words: the minimum is {min} \
             (ceil(log2 {n}))"
        )));
    }
    let huffman = huffman::build(counts);
    if huffman.max_depth() <= max_len {
        return Ok(huffman);
    }
    Ok(from_lengths(counts, &code_lengths(counts, max_len)))
}

/// A growable bit vector: one bit per list item, set for a word, clear for a package.
#[derive(Default)]
struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    fn push(&mut self, bit: bool) {
        if self.len % 64 == 0 {
            self.words.push(0);
        }
        if bit {
            self.words[self.len / 64] |= 1 << (self.len % 64);
        }
        self.len += 1;
    }

    /// Set bits among the first `k`.
    fn ones_before(&self, k: usize) -> usize {
        let full: usize = self.words[..k / 64]
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum();
        let rest = match k % 64 {
            0 => 0,
            r => (self.words[k / 64] & ((1u64 << r) - 1)).count_ones() as usize,
        };
        full + rest
    }
}

/// Optimal code lengths for `weights` (any order, at least two) with none above
/// `max_len`, which must be at least [`min_code_len`].
fn code_lengths(weights: &[u64], max_len: usize) -> Vec<usize> {
    let n = weights.len();
    assert!(n >= 2 && max_len >= min_code_len(n));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&w| weights[w]);
    let leaves: Vec<u64> = order.iter().map(|&w| weights[w]).collect();
    // levels[0] is the deepest level (L), levels[L - 1] level 1.
    let mut levels: Vec<Bits> = Vec::with_capacity(max_len);
    let mut list = leaves.clone();
    let mut deepest = Bits::default();
    (0..n).for_each(|_| deepest.push(true));
    levels.push(deepest);
    for _ in 1..max_len {
        let packages: Vec<u64> = list
            .chunks_exact(2)
            .map(|p| p[0].saturating_add(p[1]))
            .collect();
        let mut merged = Vec::with_capacity(n + packages.len());
        let mut is_word = Bits::default();
        let (mut a, mut b) = (0, 0);
        while a < n || b < packages.len() {
            // Words first on ties: any order of equal items is optimal.
            if b == packages.len() || (a < n && leaves[a] <= packages[b]) {
                merged.push(leaves[a]);
                is_word.push(true);
                a += 1;
            } else {
                merged.push(packages[b]);
                is_word.push(false);
                b += 1;
            }
        }
        list = merged;
        levels.push(is_word);
    }
    let mut by_rank = vec![0usize; n];
    let mut take = 2 * n - 2;
    for level in levels.iter().rev() {
        debug_assert!(take <= level.len);
        let words = level.ones_before(take);
        by_rank[..words].iter_mut().for_each(|l| *l += 1);
        take = 2 * (take - words);
    }
    debug_assert_eq!(take, 0);
    let mut lengths = vec![0usize; n];
    for (rank, &w) in order.iter().enumerate() {
        lengths[w] = by_rank[rank];
    }
    lengths
}

/// The tree giving word `w` the path length `lengths[w]` (a complete code: Kraft sum 1).
fn from_lengths(weights: &[u64], lengths: &[usize]) -> Tree {
    let n = weights.len();
    let deepest = lengths.iter().copied().max().unwrap_or(0);
    let mut at_depth: Vec<Vec<usize>> = vec![Vec::new(); deepest + 1];
    for (w, &l) in lengths.iter().enumerate() {
        at_depth[l].push(w);
    }
    let mut weight: Vec<u64> = weights.to_vec();
    weight.resize(2 * n - 1, 0);
    let mut parent = vec![0usize; 2 * n - 1];
    let mut code = vec![0u8; 2 * n - 1];
    let mut next = n;
    let mut formed: Vec<usize> = Vec::new();
    for d in (1..=deepest).rev() {
        let mut nodes = std::mem::take(&mut at_depth[d]);
        nodes.append(&mut formed);
        nodes.sort_by_key(|&x| weight[x]);
        assert!(nodes.len() % 2 == 0, "code lengths are not a complete code");
        for pair in nodes.chunks_exact(2) {
            weight[next] = weight[pair[0]].saturating_add(weight[pair[1]]);
            parent[pair[0]] = next;
            parent[pair[1]] = next;
            code[pair[1]] = 1;
            formed.push(next);
            next += 1;
        }
    }
    debug_assert_eq!(next, 2 * n - 1);
    Tree::from_parents(n, &parent, &code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cost(counts: &[u64], lengths: &[usize]) -> u64 {
        counts.iter().zip(lengths).map(|(c, &l)| c * l as u64).sum()
    }

    fn depths(t: &Tree) -> Vec<usize> {
        (0..t.n_words()).map(|w| t.depth(w)).collect()
    }

    /// Least cost over every length vector in 1..=cap per word (no sorting assumed) whose
    /// Kraft sum is exactly 1, i.e. sum 2^(cap - l) = 2^cap.
    fn brute_force(counts: &[u64], cap: usize) -> u64 {
        fn rec(i: usize, lens: &mut [usize], counts: &[u64], cap: usize, best: &mut u64) {
            if i == lens.len() {
                let kraft: u64 = lens.iter().map(|&l| 1u64 << (cap - l)).sum();
                if kraft == 1u64 << cap {
                    *best = (*best).min(cost(counts, lens));
                }
                return;
            }
            for l in 1..=cap {
                lens[i] = l;
                rec(i + 1, lens, counts, cap, best);
            }
        }
        let mut best = u64::MAX;
        rec(0, &mut vec![0; counts.len()], counts, cap, &mut best);
        best
    }

    fn prefix_free(t: &Tree) -> bool {
        let codes: Vec<Vec<u8>> = (0..t.n_words()).map(|w| t.code(w)).collect();
        codes.iter().enumerate().all(|(i, a)| {
            codes
                .iter()
                .enumerate()
                .all(|(j, b)| i == j || b.len() < a.len() || b[..a.len()] != a[..])
        })
    }

    fn parents_before_children(t: &Tree) -> bool {
        (0..t.n_words()).all(|w| {
            let nodes: Vec<u32> = t.path(w).iter().map(|s| s >> 1).collect();
            nodes.iter().take(1).all(|&r| r == 0)
                && nodes.windows(2).all(|p| p[0] < p[1])
                && nodes.iter().all(|&x| (x as usize) < t.n_inner())
        })
    }

    #[test]
    fn minimum_cap_is_ceil_log2() {
        let got: Vec<usize> = [1, 2, 3, 4, 5, 8, 9, 1024, 1025]
            .iter()
            .map(|&n| min_code_len(n))
            .collect();
        assert_eq!(got, vec![0, 1, 2, 2, 3, 3, 4, 10, 11]);
    }

    #[test]
    fn a_cap_below_the_minimum_names_it() {
        let counts = [5, 4, 3, 2, 1];
        match build(&counts, 2) {
            Err(Error::Config(m)) => assert!(
                m.contains("--max-code-len 2") && m.contains("minimum is 3"),
                "{m}"
            ),
            other => panic!("expected a Config error, got {other:?}"),
        }
        assert!(build(&counts, 3).is_ok());
    }

    #[test]
    fn one_word_needs_no_code() {
        let t = build(&[7], 0).expect("one word fits any cap");
        assert_eq!((t.n_words(), t.depth(0), t.n_inner()), (1, 0, 0));
    }

    #[test]
    fn capping_a_skewed_tree_by_hand() {
        // Huffman gives 1,2,3,4,4 (cost 8+8+9+8+4 = 37). Five lengths of at most 3 with
        // Kraft sum 1 are 1,3,3,3,3 or 2,2,2,3,3; shortest to the most frequent they cost
        // 8+12+9+6+3 = 38 and 16+8+6+6+3 = 39: the first is optimal.
        let counts = [8, 4, 3, 2, 1];
        assert_eq!(depths(&huffman::build(&counts)), vec![1, 2, 3, 4, 4]);
        let t = build(&counts, 3).expect("cap 3 fits 5 words");
        assert_eq!(depths(&t), vec![1, 3, 3, 3, 3]);
        assert_eq!(brute_force(&counts, 3), 38);
        assert!(prefix_free(&t) && parents_before_children(&t));
        // The lighter child takes code 0, as in Huffman: the two lightest words share the
        // deepest node, word 4 (count 1) on 0 and word 3 (count 2) on 1.
        assert_eq!(t.path(4)[..2], t.path(3)[..2]);
        assert_eq!((t.code(4)[2], t.code(3)[2]), (0, 1));
    }

    #[test]
    fn a_cap_that_does_not_bind_keeps_huffman() {
        let counts = [9, 8, 7, 5, 3, 3, 2, 1, 1];
        let h = huffman::build(&counts);
        assert_eq!(build(&counts, h.max_depth()).expect("fits"), h);
        assert_eq!(build(&counts, 40).expect("fits"), h);
    }

    #[test]
    fn inner_rows_are_breadth_first() {
        let counts: Vec<u64> = (0..300u64)
            .map(|i| 1 + (1000 / (i + 1)) * (i % 7 + 1))
            .collect();
        let cap = 10;
        assert!(huffman::build(&counts).max_depth() > cap);
        let t = build(&counts, cap).expect("cap 10 fits 300 words");
        let mut depth_of_row = vec![usize::MAX; t.n_inner()];
        for w in 0..t.n_words() {
            for (d, s) in t.path(w).iter().enumerate() {
                depth_of_row[(s >> 1) as usize] = d;
            }
        }
        assert!(depth_of_row.windows(2).all(|p| p[0] <= p[1]));
        assert_eq!(t.max_depth(), cap);
    }

    proptest! {
        #[test]
        fn package_merge_is_optimal_for_its_cap(
            counts in proptest::collection::vec(1u64..60, 2..8),
            extra in 0usize..4,
        ) {
            let n = counts.len();
            let cap = (min_code_len(n) + extra).min(n - 1);
            let lengths = code_lengths(&counts, cap);
            prop_assert!(lengths.iter().all(|&l| (1..=cap).contains(&l)));
            prop_assert_eq!(cost(&counts, &lengths), brute_force(&counts, cap));
            let t = from_lengths(&counts, &lengths);
            prop_assert_eq!(depths(&t), lengths);
            prop_assert!(prefix_free(&t) && parents_before_children(&t));
            prop_assert_eq!(t.n_inner(), n - 1);
            let built = build(&counts, cap).expect("cap at least the minimum");
            prop_assert!(built.max_depth() <= cap);
            prop_assert_eq!(cost(&counts, &depths(&built)), brute_force(&counts, cap));
        }

        #[test]
        fn an_ample_cap_costs_what_huffman_costs(
            counts in proptest::collection::vec(1u64..1_000_000, 2..400),
        ) {
            let h = huffman::build(&counts);
            let lengths = code_lengths(&counts, h.max_depth());
            prop_assert_eq!(cost(&counts, &lengths), cost(&counts, &depths(&h)));
            let kraft: f64 = lengths.iter().map(|&l| 0.5f64.powi(l as i32)).sum();
            prop_assert!((kraft - 1.0).abs() < 1e-12);
        }

        #[test]
        fn tight_caps_stay_complete_and_within_the_cap(
            counts in proptest::collection::vec(1u64..1_000_000, 2..400),
            slack in 0usize..3,
        ) {
            let cap = min_code_len(counts.len()) + slack;
            let t = build(&counts, cap).expect("cap at least the minimum");
            prop_assert!(t.max_depth() <= cap);
            let kraft: f64 = depths(&t).iter().map(|&l| 0.5f64.powi(l as i32)).sum();
            prop_assert!((kraft - 1.0).abs() < 1e-12);
            prop_assert!(parents_before_children(&t));
            // Never cheaper than the unconstrained optimum.
            prop_assert!(cost(&counts, &depths(&t)) >= cost(&counts, &depths(&huffman::build(&counts))));
        }
    }
}
