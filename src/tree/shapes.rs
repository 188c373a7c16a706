//! Tree shapes other than word2vec.c's Huffman, for studying how depth affects rare
//! words: a balanced tree over the words in frequency order, a balanced tree over a seeded
//! random order, Huffman with a cap on the code length, and Huffman over the counts that
//! subsampling leaves.
//!
//! The balanced shapes split the (ordered) word list in halves recursively, the larger half
//! first, so every word sits at depth floor(log2 V) or ceil(log2 V): the depth no longer
//! depends on the count. In frequency order, words of similar frequency share subtrees; in
//! random order the tree carries no information at all (Mnih & Hinton 2008 found random
//! trees worst).
//!
//! `HuffmanKept` weighs each word by the tokens training actually sees: its count times
//! its subsampling keep probability (word2vec.c's `sqrt(t/f) + t/f`, capped at 1, in the
//! 16-bit steps the sampler draws). Subsampling flattens the frequent end, so frequent
//! words sit deeper and rare ones shallower than in the plain Huffman tree.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::{capped, huffman, Tree};
use crate::config::{Hyperparams, TreeShape};
use crate::error::{Error, Result};

/// What the shapes need besides the counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShapeInputs {
    /// Seed of the random word order (`Random`).
    pub seed: u64,
    /// Subsampling threshold t, 0 = off (`HuffmanKept`).
    pub sample: f64,
    /// Tokens per epoch, the sum of the vocabulary's counts (`HuffmanKept`).
    pub total_words: u64,
    /// Longest path allowed (`HuffmanCapped`).
    pub max_code_len: Option<u32>,
}

impl ShapeInputs {
    /// The inputs of a run with `params` over a vocabulary of `total_words` tokens.
    pub fn of(params: &Hyperparams, total_words: u64) -> Self {
        ShapeInputs {
            seed: params.seed,
            sample: params.sample,
            total_words,
            max_code_len: params.max_code_len,
        }
    }
}

/// Builds the tree of `shape` over `counts` (ids preserved); an error when a capped code
/// has no cap or one too short for the vocabulary.
pub fn build(shape: TreeShape, counts: &[u64], inputs: &ShapeInputs) -> Result<Tree> {
    Ok(match shape {
        TreeShape::Huffman => huffman::build(counts),
        TreeShape::Balanced => balanced(&frequency_order(counts)),
        TreeShape::Random => {
            let mut order: Vec<usize> = (0..counts.len()).collect();
            let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(
                inputs.seed ^ 0x7265_6573_6861_7065, // a stream of its own, apart from init's
            );
            order.shuffle(&mut rng);
            balanced(&order)
        }
        TreeShape::HuffmanCapped => {
            let cap = inputs.max_code_len.ok_or_else(|| {
                Error::Config("--tree huffman-capped needs --max-code-len L".into())
            })?;
            capped::build(counts, cap as usize)?
        }
        TreeShape::HuffmanKept => {
            huffman::build(&kept_weights(counts, inputs.sample, inputs.total_words))
        }
    })
}

/// Tokens per epoch that subsampling keeps, in expectation and in units of 1/65536: each
/// count times the 16-bit draws that keep the word ([`crate::sampler::keep_chances`]).
/// Without subsampling every weight is the count times 65536, so Huffman over them is
/// Huffman over the counts.
pub fn kept_weights(counts: &[u64], sample: f64, total_words: u64) -> Vec<u64> {
    counts
        .iter()
        .map(|&c| {
            let keep = crate::vocab::keep_threshold(c, total_words, sample);
            c.saturating_mul(u64::from(crate::sampler::keep_chances(keep)))
        })
        .collect()
}

/// Word ids by descending count (stable: equal counts keep id order).
fn frequency_order(counts: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    order
}

/// A balanced tree whose leaves, left to right, are the words `order`.
///
/// Ranges are split top-down in breadth-first order and merged nodes numbered downwards
/// from the root `2n - 2`, so every parent has a larger id than its children (as
/// [`Tree::from_parents`] requires) and inner-node rows come out in breadth-first order:
/// the top levels are the first rows, the hottest ones, as with Huffman. The left child of
/// a split gets code 0.
pub fn balanced(order: &[usize]) -> Tree {
    let n = order.len();
    assert!(n >= 1, "a tree needs at least one word");
    let root = 2 * n - 2;
    let mut parent = vec![0usize; 2 * n - 1];
    let mut code = vec![0u8; 2 * n - 1];
    if n > 1 {
        let mut queue = std::collections::VecDeque::from([(0usize, n, root)]);
        let mut next = root;
        while let Some((lo, hi, id)) = queue.pop_front() {
            let mid = lo + (hi - lo).div_ceil(2);
            for (bit, (a, b)) in [(lo, mid), (mid, hi)].into_iter().enumerate() {
                let child = if b - a == 1 {
                    order[a]
                } else {
                    next -= 1;
                    queue.push_back((a, b, next));
                    next
                };
                parent[child] = id;
                code[child] = bit as u8;
            }
        }
        debug_assert_eq!(next, n);
    }
    Tree::from_parents(n, &parent, &code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn depths(t: &Tree) -> Vec<usize> {
        (0..t.n_words()).map(|w| t.depth(w)).collect()
    }

    fn ceil_log2(n: usize) -> usize {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }

    /// The tree of `shape` with only a seed given (no subsampling, no cap).
    fn build_seeded(shape: TreeShape, counts: &[u64], seed: u64) -> Tree {
        let inputs = ShapeInputs {
            seed,
            sample: 0.0,
            total_words: counts.iter().sum(),
            max_code_len: None,
        };
        build(shape, counts, &inputs).expect("no cap needed")
    }

    fn kept_inputs(counts: &[u64], sample: f64) -> ShapeInputs {
        ShapeInputs {
            seed: 1,
            sample,
            total_words: counts.iter().sum(),
            max_code_len: None,
        }
    }

    #[test]
    fn kept_huffman_without_subsampling_is_huffman() {
        let counts: Vec<u64> = (1..=500u64)
            .map(|i| 1 + 100_000 / (i * i % 97 + i))
            .collect();
        let t = build(TreeShape::HuffmanKept, &counts, &kept_inputs(&counts, 0.0));
        assert_eq!(t.expect("no cap needed"), huffman::build(&counts));
    }

    #[test]
    fn kept_weights_are_the_expected_kept_tokens() {
        // 1000 tokens, t = 2^-6: t * total = 15.625 (all exact in binary). A word seen
        // 250 times is kept with probability (sqrt(250/15.625) + 1) * 15.625/250 = 5/16,
        // threshold 20480 of 65536, so the draws 0..=20480 keep it: 20481 chances. A word
        // seen 10 times has probability above 1 and is always kept.
        let counts = [250u64, 10];
        let w = kept_weights(&counts, 0.015625, 1000);
        assert_eq!(w, vec![250 * 20481, 10 * 65536]);
    }

    #[test]
    fn subsampling_lifts_rare_words_in_the_kept_tree() {
        // Zipf counts: subsampling shrinks the frequent words' weights, so the frequent
        // words sink and the rare words rise, and the tree costs less in kept tokens.
        let counts: Vec<u64> = (1..=2000u64).map(|r| 1_000_000 / r).collect();
        let inputs = kept_inputs(&counts, 1e-3);
        let kept = build(TreeShape::HuffmanKept, &counts, &inputs).expect("no cap needed");
        let plain = huffman::build(&counts);
        assert!(kept.depth(0) > plain.depth(0));
        assert!(kept.depth(1999) < plain.depth(1999));
        let w = kept_weights(&counts, 1e-3, inputs.total_words);
        let cost = |t: &Tree| -> u128 {
            (0..t.n_words())
                .map(|i| u128::from(w[i]) * t.depth(i) as u128)
                .sum()
        };
        assert!(cost(&kept) < cost(&plain));
    }

    #[test]
    fn capped_shape_needs_its_cap() {
        let counts = [5u64, 4, 3, 2, 1];
        let mut inputs = kept_inputs(&counts, 0.0);
        assert!(matches!(
            build(TreeShape::HuffmanCapped, &counts, &inputs),
            Err(Error::Config(_))
        ));
        inputs.max_code_len = Some(3);
        let t = build(TreeShape::HuffmanCapped, &counts, &inputs).expect("cap 3 fits");
        assert_eq!(t.max_depth(), 3);
    }

    #[test]
    fn five_words_by_hand() {
        // Splits 5 -> 3 + 2 -> (2 + 1) + (1 + 1): depths 3,3,2,2,2 in frequency order.
        let t = build_seeded(TreeShape::Balanced, &[9, 7, 5, 3, 1], 0);
        assert_eq!(depths(&t), vec![3, 3, 2, 2, 2]);
        assert_eq!(t.code(0), vec![0, 0, 0]);
        assert_eq!(t.code(1), vec![0, 0, 1]);
        assert_eq!(t.code(2), vec![0, 1]);
        assert_eq!(t.code(3), vec![1, 0]);
        assert_eq!(t.code(4), vec![1, 1]);
        assert_eq!(t.n_inner(), 4);
        // Breadth-first rows: root 0, its children 1 and 2, then the 2-word range.
        assert_eq!(
            t.path(0).iter().map(|s| s >> 1).collect::<Vec<_>>(),
            vec![0, 1, 3]
        );
        assert_eq!(
            t.path(4).iter().map(|s| s >> 1).collect::<Vec<_>>(),
            vec![0, 2]
        );
    }

    #[test]
    fn inner_rows_are_in_breadth_first_order() {
        let counts: Vec<u64> = (1..=1000).rev().collect();
        let t = build_seeded(TreeShape::Random, &counts, 1);
        let mut depth_of_row = vec![usize::MAX; t.n_inner()];
        for w in 0..t.n_words() {
            for (d, s) in t.path(w).iter().enumerate() {
                depth_of_row[(s >> 1) as usize] = d;
            }
        }
        assert!(depth_of_row.windows(2).all(|p| p[0] <= p[1]));
        // Rows 0..63 are the top six levels (1 + 2 + ... + 32 nodes).
        assert_eq!((depth_of_row[62], depth_of_row[63]), (5, 6));
    }

    #[test]
    fn frequency_order_follows_counts_not_ids() {
        // The most frequent word (id 3) takes the leftmost leaf, code 0...0.
        let t = build_seeded(TreeShape::Balanced, &[1, 2, 3, 10], 0);
        assert_eq!(t.code(3), vec![0, 0]);
        assert_eq!(t.code(0), vec![1, 1]);
    }

    #[test]
    fn random_tree_depends_on_the_seed_only() {
        let counts: Vec<u64> = (1..=200).rev().collect();
        let a = build_seeded(TreeShape::Random, &counts, 7);
        let b = build_seeded(TreeShape::Random, &counts, 7);
        let c = build_seeded(TreeShape::Random, &counts, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut da = depths(&a);
        let mut db = depths(&build_seeded(TreeShape::Balanced, &counts, 0));
        da.sort_unstable();
        db.sort_unstable();
        assert_eq!(da, db);
    }

    proptest! {
        #[test]
        fn balanced_depths_are_floor_or_ceil_log2(
            counts in proptest::collection::vec(1u64..100, 1..600),
            seed in 0u64..4,
            random in proptest::bool::ANY,
        ) {
            let shape = if random { TreeShape::Random } else { TreeShape::Balanced };
            let t = build_seeded(shape, &counts, seed);
            let n = counts.len();
            let hi = if n == 1 { 0 } else { ceil_log2(n) };
            let lo = if n == 1 { 0 } else { hi - usize::from(!n.is_power_of_two()) };
            prop_assert_eq!(t.max_depth(), hi);
            prop_assert!(depths(&t).iter().all(|&d| d == lo || d == hi));
            let kraft: f64 = depths(&t).iter().map(|&d| 0.5f64.powi(d as i32)).sum();
            prop_assert!((kraft - 1.0).abs() < 1e-12);
            prop_assert_eq!(t.n_inner(), n - 1);
            // Distinct words get distinct codes.
            let mut codes: Vec<Vec<u8>> = (0..n).map(|w| t.code(w)).collect();
            codes.sort();
            codes.dedup();
            prop_assert_eq!(codes.len(), n);
        }
    }
}
