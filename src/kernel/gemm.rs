//! Dense matrix product for batch scoring (analogy and neighbour search), wrapping the
//! `matrixmultiply` crate's packed, runtime-dispatched SIMD `sgemm` behind a checked safe
//! function.

/// `c = a · bᵀ` for row-major `a` (`m × k`), `b` (`n × k`) and `c` (`m × n`), on the calling
/// thread; `m` and `n` follow from the slice lengths.
///
/// # Panics
/// If `k == 0` or a slice length is not a multiple of `k`, or `c.len() != m * n`.
pub fn matmul_transposed(a: &[f32], b: &[f32], c: &mut [f32], k: usize) {
    assert!(k > 0, "inner dimension must be positive");
    assert_eq!(a.len() % k, 0, "a is not m x k");
    assert_eq!(b.len() % k, 0, "b is not n x k");
    let (m, n) = (a.len() / k, b.len() / k);
    assert_eq!(c.len(), m * n, "c is not m x n");
    if m == 0 || n == 0 {
        return;
    }
    let (k_i, n_i) = (k as isize, n as isize);
    // SAFETY: the lengths were checked above: `a` holds m*k elements addressed as
    // a[i*k + l], `b` holds n*k elements addressed (as the k x n matrix bᵀ, row stride 1,
    // column stride k) as b[j*k + l], and `c` holds m*n elements addressed as c[i*n + j],
    // with i < m, j < n, l < k. With beta = 0 `c` is only written. `c` is a unique borrow,
    // so it overlaps neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k_i,
            1,
            b.as_ptr(),
            1,
            k_i,
            0.0,
            c.as_mut_ptr(),
            n_i,
            1,
        );
    }
}

/// `c = a · b` for row-major `a` (`m × k`), `b` (`k × n`) and `c` (`m × n`), on the calling
/// thread; `m` follows from `a.len()`. Faster than [`matmul_transposed`] when many products
/// share `b`: the packing of `b` then reads contiguous rows.
///
/// # Panics
/// If `k == 0` or `n == 0`, or a slice length does not match.
pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], k: usize, n: usize) {
    assert!(k > 0 && n > 0, "dimensions must be positive");
    assert_eq!(a.len() % k, 0, "a is not m x k");
    assert_eq!(b.len(), k * n, "b is not k x n");
    let m = a.len() / k;
    assert_eq!(c.len(), m * n, "c is not m x n");
    if m == 0 {
        return;
    }
    let (k_i, n_i) = (k as isize, n as isize);
    // SAFETY: the lengths were checked above: `a` holds m*k elements addressed as
    // a[i*k + l], `b` holds k*n elements addressed as b[l*n + j], and `c` holds m*n
    // elements addressed as c[i*n + j], with i < m, j < n, l < k. With beta = 0 `c` is only
    // written, and as a unique borrow it overlaps neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k_i,
            1,
            b.as_ptr(),
            n_i,
            1,
            0.0,
            c.as_mut_ptr(),
            n_i,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn agrees_with_naive_product_on_awkward_shapes() {
        for (m, n, k) in [(1, 1, 1), (3, 7, 5), (17, 33, 100), (64, 9, 301)] {
            let a = data(m * k, 1);
            let b = data(n * k, 2);
            let mut c = vec![f32::NAN; m * n];
            matmul_transposed(&a, &b, &mut c, k);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|l| a[i * k + l] as f64 * b[j * k + l] as f64)
                        .sum();
                    assert!(
                        (c[i * n + j] as f64 - want).abs() < 1e-3,
                        "{m}x{n}x{k} at {i},{j}"
                    );
                }
            }
        }
    }

    #[test]
    fn matmul_agrees_with_the_transposed_form() {
        let (m, n, k) = (13, 21, 100);
        let a = data(m * k, 3);
        let b = data(n * k, 4);
        let bt: Vec<f32> = (0..k * n).map(|i| b[(i % n) * k + i / n]).collect();
        let mut want = vec![0.0; m * n];
        matmul_transposed(&a, &b, &mut want, k);
        let mut got = vec![f32::NAN; m * n];
        matmul(&a, &bt, &mut got, k, n);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4);
        }
    }

    #[test]
    fn empty_operands_are_fine() {
        let mut c = vec![];
        matmul_transposed(&[], &[1.0, 2.0], &mut c, 2);
        assert!(c.is_empty());
    }
}
