//! Huffman tree by word2vec.c's two-queue merge over counts sorted in descending order:
//! O(V) after the sort, ties resolved as word2vec.c does (an existing leaf loses a tie
//! against a merged node).

use super::Tree;

/// Builds the Huffman tree of `counts` (any order; ids are preserved).
pub fn build(counts: &[u64]) -> Tree {
    let n = counts.len();
    assert!(n >= 1, "a tree needs at least one word");
    // Leaves in descending count order (stable, so equal counts keep id order).
    let mut order: Vec<usize> = (0..n).collect();
    if !counts.windows(2).all(|w| w[0] >= w[1]) {
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    }
    // Node x < n is the leaf at rank x; x >= n are merged nodes in creation order.
    let mut weight: Vec<u64> = order.iter().map(|&w| counts[w]).collect();
    weight.resize(2 * n - 1, 0);
    let mut parent = vec![0usize; 2 * n - 1];
    let mut code = vec![0u8; 2 * n - 1];
    let mut leaf = n as isize - 1;
    let mut merged = n;
    for a in 0..n - 1 {
        let mut pick = || {
            let take_leaf =
                leaf >= 0 && (merged >= n + a || weight[leaf as usize] < weight[merged]);
            if take_leaf {
                leaf -= 1;
                (leaf + 1) as usize
            } else {
                merged += 1;
                merged - 1
            }
        };
        let m1 = pick();
        let m2 = pick();
        weight[n + a] = weight[m1].saturating_add(weight[m2]);
        parent[m1] = n + a;
        parent[m2] = n + a;
        code[m2] = 1;
    }
    // Map ranks back to word ids.
    let mut p = vec![0usize; 2 * n - 1];
    let mut c = vec![0u8; 2 * n - 1];
    let rank_to_node = |x: usize| if x < n { order[x] } else { x };
    for x in 0..2 * n - 1 {
        let node = rank_to_node(x);
        p[node] = parent[x];
        c[node] = code[x];
    }
    // Leaves now sit at word ids; parents of leaves still point at merged nodes (>= n), and
    // merged nodes point at merged nodes, so `parent[x] > x` still holds.
    Tree::from_parents(n, &p, &c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kraft(t: &Tree) -> f64 {
        (0..t.n_words())
            .map(|w| 0.5f64.powi(t.depth(w) as i32))
            .sum()
    }

    fn prefix_free(t: &Tree) -> bool {
        let codes: Vec<Vec<u8>> = (0..t.n_words()).map(|w| t.code(w)).collect();
        for (i, a) in codes.iter().enumerate() {
            for (j, b) in codes.iter().enumerate() {
                if i != j && b.len() >= a.len() && b[..a.len()] == a[..] {
                    return false;
                }
            }
        }
        true
    }

    fn cost(t: &Tree, counts: &[u64]) -> u64 {
        counts
            .iter()
            .enumerate()
            .map(|(w, c)| c * t.depth(w) as u64)
            .sum()
    }

    /// Minimal sum(count * length) over all complete prefix codes, by brute force over
    /// length vectors with Kraft sum 1 (shorter codes to larger counts).
    fn brute_force_optimum(counts: &[u64]) -> u64 {
        let n = counts.len();
        if n == 1 {
            return 0;
        }
        let mut sorted = counts.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let mut best = u64::MAX;
        let mut lens = vec![1usize; n];
        fn rec(i: usize, lens: &mut Vec<usize>, min: usize, sorted: &[u64], best: &mut u64) {
            let n = lens.len();
            if i == n {
                let k: f64 = lens.iter().map(|&l| 0.5f64.powi(l as i32)).sum();
                if (k - 1.0).abs() < 1e-12 {
                    let c = sorted
                        .iter()
                        .zip(lens.iter())
                        .map(|(c, l)| c * *l as u64)
                        .sum();
                    *best = (*best).min(c);
                }
                return;
            }
            for l in min..n {
                lens[i] = l;
                rec(i + 1, lens, l, sorted, best);
            }
        }
        rec(0, &mut lens, 1, &sorted, &mut best);
        best
    }

    #[test]
    fn small_known_tree() {
        // counts 5,3,1,1 -> lengths 1,2,3,3
        let t = build(&[5, 3, 1, 1]);
        let d: Vec<usize> = (0..4).map(|w| t.depth(w)).collect();
        assert_eq!(d, vec![1, 2, 3, 3]);
        assert_eq!(t.n_inner(), 3);
        // Root is inner node 0 and heads every path.
        for w in 0..4 {
            assert_eq!(t.path(w)[0] >> 1, 0);
        }
        assert_eq!(t.depth_histogram(), vec![0, 1, 1, 2]);
    }

    #[test]
    fn single_word_has_empty_path() {
        let t = build(&[7]);
        assert_eq!(t.depth(0), 0);
        assert_eq!(t.n_inner(), 0);
    }

    #[test]
    fn skewed_counts_go_deeper_than_40() {
        // Fibonacci-like counts give a maximally deep tree: no fixed code-length limit.
        let mut c = vec![1u64, 1];
        while c.len() < 60 {
            let k = c.len();
            c.push(c[k - 1] + c[k - 2]);
        }
        c.reverse();
        let t = build(&c);
        assert_eq!(t.max_depth(), 59);
        assert!((kraft(&t) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn inner_node_ids_put_parents_before_children() {
        let t = build(&[9, 8, 7, 5, 3, 3, 2, 1, 1]);
        for w in 0..t.n_words() {
            let nodes: Vec<u32> = t.path(w).iter().map(|s| s >> 1).collect();
            assert!(nodes.windows(2).all(|p| p[0] < p[1]), "{nodes:?}");
            assert!(nodes.iter().all(|&x| (x as usize) < t.n_inner()));
        }
    }

    proptest! {
        #[test]
        fn codes_are_prefix_free_complete_and_optimal(
            counts in proptest::collection::vec(1u64..50, 1..8)
        ) {
            let t = build(&counts);
            prop_assert!(prefix_free(&t));
            prop_assert!((kraft(&t) - 1.0).abs() < 1e-12 || counts.len() == 1);
            prop_assert_eq!(cost(&t, &counts), brute_force_optimum(&counts));
        }

        #[test]
        fn large_vocabularies_stay_complete(
            counts in proptest::collection::vec(1u64..1_000_000, 2..3000)
        ) {
            let t = build(&counts);
            prop_assert!((kraft(&t) - 1.0).abs() < 1e-9);
            prop_assert_eq!(t.n_inner(), counts.len() - 1);
        }
    }
}
