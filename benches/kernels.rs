//! Vector kernels per backend at real dimensions (elements per second).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use huffvec::support::{Kernel, Scalar};

fn data(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 5000.0 - 0.1
        })
        .collect()
}

fn bench_backend<K: Kernel>(c: &mut Criterion, k: K) {
    let mut g = c.benchmark_group(format!("kernels/{}", K::NAME));
    for dim in [50usize, 100, 128, 300] {
        let n = dim.div_ceil(16) * 16;
        let (a, b, h) = (data(n, 1), data(n, 2), data(n, 3));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("dot", dim), &dim, |bn, _| {
            bn.iter(|| k.dot(black_box(&a), black_box(&b)))
        });
        g.bench_with_input(BenchmarkId::new("axpy", dim), &dim, |bn, _| {
            let mut y = b.clone();
            bn.iter(|| k.axpy(black_box(1e-6), black_box(&a), &mut y))
        });
        g.bench_with_input(BenchmarkId::new("hs_step", dim), &dim, |bn, _| {
            let (mut v, mut e) = (a.clone(), b.clone());
            bn.iter(|| k.hs_step(black_box(1e-6), &mut v, black_box(&h), &mut e))
        });
        g.bench_with_input(BenchmarkId::new("dot2", dim), &dim, |bn, _| {
            bn.iter(|| k.dot2(black_box(&h), black_box(&a), black_box(&b)))
        });
        g.bench_with_input(BenchmarkId::new("hs_step2", dim), &dim, |bn, _| {
            let (mut va, mut vb, mut e) = (a.clone(), b.clone(), h.clone());
            bn.iter(|| {
                k.hs_step2(
                    black_box(1e-6),
                    black_box(-1e-6),
                    &mut va,
                    &mut vb,
                    black_box(&h),
                    &mut e,
                )
            })
        });
    }
    g.finish();
}

fn kernels(c: &mut Criterion) {
    bench_backend(c, Scalar);
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = huffvec::support::Avx2Fma::detect() {
        bench_backend(c, k);
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
