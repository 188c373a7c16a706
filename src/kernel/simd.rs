//! Vector kernels (dot, axpy, the fused HS step, shared-row copies) with a portable scalar
//! reference and an AVX2+FMA backend chosen once at run time.
//!
//! The hot loop is generic over [`Kernel`]; [`dispatch`] runs a [`KernelTask`] with the best
//! backend, compiling the whole task inside a `#[target_feature]` function so the kernels
//! inline into it. No `-C target-cpu=native` is needed.

/// Vector operations on `f32` slices; implementations must agree with [`Scalar`] up to
/// floating-point reassociation.
pub trait Kernel: Copy + Send + Sync + 'static {
    /// Human-readable backend name.
    const NAME: &'static str;
    /// Dot product of `a` and `b` (equal lengths).
    fn dot(self, a: &[f32], b: &[f32]) -> f32;
    /// `y += a * x`.
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]);
    /// The fused HS node step: `err += g * v` (old `v`), then `v += g * h`.
    fn hs_step(self, g: f32, v: &mut [f32], h: &[f32], err: &mut [f32]);
    /// `y = a * y`.
    fn scale(self, a: f32, y: &mut [f32]);
    /// Two dot products sharing `h`: `(h . a, h . b)`.
    fn dot2(self, h: &[f32], a: &[f32], b: &[f32]) -> (f32, f32);
    /// [`Kernel::dot2`] plus the squared norm of `h`: `(h . a, h . b, h . h)`, each
    /// bit-identical to [`Kernel::dot2`] and [`Kernel::dot`].
    fn dot2_hh(self, h: &[f32], a: &[f32], b: &[f32]) -> (f32, f32, f32) {
        let (x, y) = self.dot2(h, a, b);
        (x, y, self.dot(h, h))
    }
    /// Two fused HS node steps sharing input `h`: `err += ga * va + gb * vb` (old values),
    /// then `va += ga * h`, `vb += gb * h`.
    fn hs_step2(self, ga: f32, gb: f32, va: &mut [f32], vb: &mut [f32], h: &[f32], err: &mut [f32]);
    /// [`Kernel::hs_step2`], returning the squared norms of `va` and `vb` before the step,
    /// bit-identical to [`Kernel::dot`].
    #[allow(clippy::too_many_arguments)]
    fn hs_step2_norms(
        self,
        ga: f32,
        gb: f32,
        va: &mut [f32],
        vb: &mut [f32],
        h: &[f32],
        err: &mut [f32],
    ) -> (f32, f32) {
        let norms = (self.dot(va, va), self.dot(vb, vb));
        self.hs_step2(ga, gb, va, vb, h, err);
        norms
    }
    /// Per-node telemetry sums over a recorded HS path (see `PathVisits`): node d's
    /// added into lane d of `out`; returns the nodes with a saturated visit. `ONE`: the
    /// caller knows the path had a single input (CBOW), so no other case is compiled in.
    fn fold_path<const ONE: bool>(
        self,
        v: &super::PathVisits,
        out: super::LanesMut,
    ) -> super::SaturatedNodes;

    /// Copies `dst.len()` elements starting at `src` into `dst`.
    ///
    /// # Safety
    /// `src` must be valid for reads of `dst.len()` elements.
    #[doc(hidden)]
    unsafe fn load_shared(self, dst: &mut [f32], src: *const f32);
    /// Adds `src` element-wise to the `src.len()` elements at `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for reads and writes of `src.len()` elements.
    #[doc(hidden)]
    unsafe fn add_shared(self, dst: *mut f32, src: &[f32]);
    /// [`Kernel::add_shared`], returning `src . src` bit-identical to [`Kernel::dot`].
    ///
    /// # Safety
    /// As [`Kernel::add_shared`].
    #[doc(hidden)]
    unsafe fn add_shared_norm2(self, dst: *mut f32, src: &[f32]) -> f32 {
        let n2 = self.dot(src, src);
        // SAFETY: passed on from the caller.
        unsafe { self.add_shared(dst, src) };
        n2
    }
    /// Adds `new - old` element-wise to the elements at `dst`.
    ///
    /// # Safety
    /// `dst` must be valid for reads and writes of `new.len()` elements; `old.len() ==
    /// new.len()`.
    #[doc(hidden)]
    unsafe fn add_delta_shared(self, dst: *mut f32, new: &[f32], old: &[f32]);
}

/// Work that runs with whichever [`Kernel`] the CPU supports best.
pub trait KernelTask {
    /// What the task returns.
    type Output;
    /// Runs the task with kernel `k`; mark it `#[inline(always)]` so it compiles with the
    /// backend's CPU features.
    fn run<K: Kernel>(self, k: K) -> Self::Output;
}

/// Portable reference backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

impl Kernel for Scalar {
    const NAME: &'static str = "scalar";

    #[inline(always)]
    fn fold_path<const ONE: bool>(
        self,
        v: &super::PathVisits,
        out: super::LanesMut,
    ) -> super::SaturatedNodes {
        super::fold::scalar(v, out)
    }

    #[inline(always)]
    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0f32; 4];
        let chunks = n / 4;
        for i in 0..chunks {
            for l in 0..4 {
                acc[l] += a[4 * i + l] * b[4 * i + l];
            }
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for i in 4 * chunks..n {
            s += a[i] * b[i];
        }
        s
    }

    #[inline(always)]
    fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y += a * x;
        }
    }

    #[inline(always)]
    fn hs_step(self, g: f32, v: &mut [f32], h: &[f32], err: &mut [f32]) {
        let n = v.len().min(h.len()).min(err.len());
        for i in 0..n {
            let vi = v[i];
            err[i] += g * vi;
            v[i] = vi + g * h[i];
        }
    }

    #[inline(always)]
    fn scale(self, a: f32, y: &mut [f32]) {
        for y in y {
            *y *= a;
        }
    }

    #[inline(always)]
    fn dot2(self, h: &[f32], a: &[f32], b: &[f32]) -> (f32, f32) {
        (self.dot(h, a), self.dot(h, b))
    }

    #[inline(always)]
    fn hs_step2(
        self,
        ga: f32,
        gb: f32,
        va: &mut [f32],
        vb: &mut [f32],
        h: &[f32],
        err: &mut [f32],
    ) {
        let n = va.len().min(vb.len()).min(h.len()).min(err.len());
        for i in 0..n {
            let (a, b) = (va[i], vb[i]);
            err[i] = (err[i] + ga * a) + gb * b;
            va[i] = a + ga * h[i];
            vb[i] = b + gb * h[i];
        }
    }

    #[inline(always)]
    unsafe fn load_shared(self, dst: &mut [f32], src: *const f32) {
        for (i, d) in dst.iter_mut().enumerate() {
            // SAFETY: the caller guarantees `src` is valid for dst.len() reads.
            *d = unsafe { shared_read(src.add(i)) };
        }
    }

    #[inline(always)]
    unsafe fn add_shared(self, dst: *mut f32, src: &[f32]) {
        for (i, s) in src.iter().enumerate() {
            // SAFETY: the caller guarantees `dst` is valid for src.len() reads and writes.
            unsafe {
                let p = dst.add(i);
                shared_write(p, shared_read(p) + s);
            }
        }
    }

    #[inline(always)]
    unsafe fn add_delta_shared(self, dst: *mut f32, new: &[f32], old: &[f32]) {
        for i in 0..new.len().min(old.len()) {
            // SAFETY: the caller guarantees `dst` is valid for new.len() reads and writes.
            unsafe {
                let p = dst.add(i);
                shared_write(p, shared_read(p) + (new[i] - old[i]));
            }
        }
    }
}

/// Reads one element of a shared row: a plain load, or with the `strict` feature a relaxed
/// atomic load (the sound spelling of the same racy read, for ThreadSanitizer and Miri).
///
/// # Safety
/// `p` must be valid for reads and aligned to 4 bytes.
#[inline(always)]
unsafe fn shared_read(p: *const f32) -> f32 {
    #[cfg(feature = "strict")]
    {
        use std::sync::atomic::{AtomicU32, Ordering};
        // SAFETY: `p` is valid and 4-byte aligned (caller); with `strict` every access to
        // shared rows goes through these two functions, so no non-atomic access races it.
        f32::from_bits(unsafe { AtomicU32::from_ptr(p as *mut u32) }.load(Ordering::Relaxed))
    }
    #[cfg(not(feature = "strict"))]
    // SAFETY: `p` is valid for reads (caller); a racing write is the documented Hogwild
    // model (module docs).
    unsafe {
        p.read()
    }
}

/// Writes one element of a shared row (see [`shared_read`]).
///
/// # Safety
/// `p` must be valid for writes and aligned to 4 bytes.
#[inline(always)]
unsafe fn shared_write(p: *mut f32, x: f32) {
    #[cfg(feature = "strict")]
    {
        use std::sync::atomic::{AtomicU32, Ordering};
        // SAFETY: as in `shared_read`.
        unsafe { AtomicU32::from_ptr(p as *mut u32) }.store(x.to_bits(), Ordering::Relaxed)
    }
    #[cfg(not(feature = "strict"))]
    // SAFETY: `p` is valid for writes (caller); racing accesses are the Hogwild model.
    unsafe {
        p.write(x)
    }
}

#[cfg(target_arch = "x86_64")]
pub use avx::Avx2Fma;

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{Kernel, Scalar};
    use std::arch::x86_64::*;

    /// AVX2 + FMA backend; a value exists only on CPUs that have both features.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2Fma {
        _private: (),
    }

    impl Avx2Fma {
        /// Returns the backend if this CPU supports AVX2 and FMA.
        pub fn detect() -> Option<Self> {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                Some(Avx2Fma { _private: () })
            } else {
                None
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// `(hsum(a), hsum(b))`, bit for bit (the same additions in the same pairs; IEEE
    /// addition is commutative), with the two reductions sharing instructions: eight
    /// instead of twelve.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hsum2(a: __m256, b: __m256) -> (f32, f32) {
        // Lanes 0-3: a's low half + high half, lanes 4-7: b's (hsum's first step).
        let s = _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(a, b),
            _mm256_permute2f128_ps::<0x31>(a, b),
        );
        // Lanes 0 and 4: x0 + x2, lanes 1 and 5: x1 + x3 (hsum's `movehl` step).
        let s = _mm256_add_ps(s, _mm256_permute_ps::<0b01_00_11_10>(s));
        // Lanes 0 and 4: the two partial sums added (hsum's last step).
        let s = _mm256_add_ps(s, _mm256_permute_ps::<0b10_11_00_01>(s));
        (
            _mm256_cvtss_f32(s),
            _mm_cvtss_f32(_mm256_extractf128_ps::<1>(s)),
        )
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (whole fn): every pointer offset is < n, the length of both slices.
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
                acc1,
            );
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            s += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
        let n = x.len().min(y.len());
        let (px, py) = (x.as_ptr(), y.as_mut_ptr());
        let va = _mm256_set1_ps(a);
        let mut i = 0;
        // SAFETY: offsets < n, within both slices.
        while i + 8 <= n {
            let r = _mm256_fmadd_ps(va, _mm256_loadu_ps(px.add(i)), _mm256_loadu_ps(py.add(i)));
            _mm256_storeu_ps(py.add(i), r);
            i += 8;
        }
        while i < n {
            *py.add(i) += a * *px.add(i);
            i += 1;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hs_step(g: f32, v: &mut [f32], h: &[f32], err: &mut [f32]) {
        let n = v.len().min(h.len()).min(err.len());
        let (pv, ph, pe) = (v.as_mut_ptr(), h.as_ptr(), err.as_mut_ptr());
        let vg = _mm256_set1_ps(g);
        let mut i = 0;
        // SAFETY: offsets < n, within all three slices.
        while i + 8 <= n {
            let vi = _mm256_loadu_ps(pv.add(i));
            _mm256_storeu_ps(
                pe.add(i),
                _mm256_fmadd_ps(vg, vi, _mm256_loadu_ps(pe.add(i))),
            );
            _mm256_storeu_ps(
                pv.add(i),
                _mm256_fmadd_ps(vg, _mm256_loadu_ps(ph.add(i)), vi),
            );
            i += 8;
        }
        while i < n {
            let vi = *pv.add(i);
            *pe.add(i) += g * vi;
            *pv.add(i) = vi + g * *ph.add(i);
            i += 1;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn dot2(h: &[f32], a: &[f32], b: &[f32]) -> (f32, f32) {
        let n = h.len().min(a.len()).min(b.len());
        let (ph, pa, pb) = (h.as_ptr(), a.as_ptr(), b.as_ptr());
        let (mut a0, mut a1, mut b0, mut b1) = (
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
            _mm256_setzero_ps(),
        );
        let mut i = 0;
        // SAFETY: offsets < n, within all three slices.
        while i + 16 <= n {
            let h0 = _mm256_loadu_ps(ph.add(i));
            let h1 = _mm256_loadu_ps(ph.add(i + 8));
            a0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pa.add(i)), a0);
            b0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pb.add(i)), b0);
            a1 = _mm256_fmadd_ps(h1, _mm256_loadu_ps(pa.add(i + 8)), a1);
            b1 = _mm256_fmadd_ps(h1, _mm256_loadu_ps(pb.add(i + 8)), b1);
            i += 16;
        }
        if i + 8 <= n {
            let h0 = _mm256_loadu_ps(ph.add(i));
            a0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pa.add(i)), a0);
            b0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pb.add(i)), b0);
            i += 8;
        }
        let mut sa = hsum(_mm256_add_ps(a0, a1));
        let mut sb = hsum(_mm256_add_ps(b0, b1));
        while i < n {
            sa += *ph.add(i) * *pa.add(i);
            sb += *ph.add(i) * *pb.add(i);
            i += 1;
        }
        (sa, sb)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn dot2_hh(h: &[f32], a: &[f32], b: &[f32]) -> (f32, f32, f32) {
        // The same blocking and order of additions as `dot2` and `dot`, so each result is
        // bit-identical to theirs.
        let n = h.len().min(a.len()).min(b.len());
        let (ph, pa, pb) = (h.as_ptr(), a.as_ptr(), b.as_ptr());
        let z = _mm256_setzero_ps();
        let (mut a0, mut a1, mut b0, mut b1, mut hh0, mut hh1) = (z, z, z, z, z, z);
        let mut i = 0;
        // SAFETY: offsets < n, within all three slices.
        while i + 16 <= n {
            let (h0, h1) = (_mm256_loadu_ps(ph.add(i)), _mm256_loadu_ps(ph.add(i + 8)));
            a0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pa.add(i)), a0);
            b0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pb.add(i)), b0);
            a1 = _mm256_fmadd_ps(h1, _mm256_loadu_ps(pa.add(i + 8)), a1);
            b1 = _mm256_fmadd_ps(h1, _mm256_loadu_ps(pb.add(i + 8)), b1);
            hh0 = _mm256_fmadd_ps(h0, h0, hh0);
            hh1 = _mm256_fmadd_ps(h1, h1, hh1);
            i += 16;
        }
        if i + 8 <= n {
            let h0 = _mm256_loadu_ps(ph.add(i));
            a0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pa.add(i)), a0);
            b0 = _mm256_fmadd_ps(h0, _mm256_loadu_ps(pb.add(i)), b0);
            hh0 = _mm256_fmadd_ps(h0, h0, hh0);
            i += 8;
        }
        let (mut sa, mut sb) = hsum2(_mm256_add_ps(a0, a1), _mm256_add_ps(b0, b1));
        let mut shh = hsum(_mm256_add_ps(hh0, hh1));
        while i < n {
            let x = *ph.add(i);
            sa += x * *pa.add(i);
            sb += x * *pb.add(i);
            shh += x * x;
            i += 1;
        }
        (sa, sb, shh)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hs_step2(
        ga: f32,
        gb: f32,
        va: &mut [f32],
        vb: &mut [f32],
        h: &[f32],
        err: &mut [f32],
    ) {
        let n = va.len().min(vb.len()).min(h.len()).min(err.len());
        let (pa, pb, ph, pe) = (
            va.as_mut_ptr(),
            vb.as_mut_ptr(),
            h.as_ptr(),
            err.as_mut_ptr(),
        );
        let (vga, vgb) = (_mm256_set1_ps(ga), _mm256_set1_ps(gb));
        let mut i = 0;
        // SAFETY: offsets < n, within all four slices.
        while i + 8 <= n {
            let a = _mm256_loadu_ps(pa.add(i));
            let b = _mm256_loadu_ps(pb.add(i));
            let hv = _mm256_loadu_ps(ph.add(i));
            let e = _mm256_fmadd_ps(vgb, b, _mm256_fmadd_ps(vga, a, _mm256_loadu_ps(pe.add(i))));
            _mm256_storeu_ps(pe.add(i), e);
            _mm256_storeu_ps(pa.add(i), _mm256_fmadd_ps(vga, hv, a));
            _mm256_storeu_ps(pb.add(i), _mm256_fmadd_ps(vgb, hv, b));
            i += 8;
        }
        while i < n {
            let (a, b) = (*pa.add(i), *pb.add(i));
            *pe.add(i) += ga * a + gb * b;
            *pa.add(i) = a + ga * *ph.add(i);
            *pb.add(i) = b + gb * *ph.add(i);
            i += 1;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hs_step2_norms(
        ga: f32,
        gb: f32,
        va: &mut [f32],
        vb: &mut [f32],
        h: &[f32],
        err: &mut [f32],
    ) -> (f32, f32) {
        // `hs_step2`, with the old rows' squared norms summed in `dot`'s blocking and order
        // (8-float blocks alternate between two accumulators), so they are bit-identical.
        let n = va.len().min(vb.len()).min(h.len()).min(err.len());
        let (pa, pb, ph, pe) = (
            va.as_mut_ptr(),
            vb.as_mut_ptr(),
            h.as_ptr(),
            err.as_mut_ptr(),
        );
        let (vga, vgb) = (_mm256_set1_ps(ga), _mm256_set1_ps(gb));
        // One 8-float block: the old values' squares into `aa` and `bb`, then the step (in
        // this order the step's FMAs can overwrite `a` and `b`, and `h` is not copied).
        macro_rules! block {
            ($i:expr, $aa:ident, $bb:ident) => {{
                let i = $i;
                let a = _mm256_loadu_ps(pa.add(i));
                let b = _mm256_loadu_ps(pb.add(i));
                $aa = _mm256_fmadd_ps(a, a, $aa);
                $bb = _mm256_fmadd_ps(b, b, $bb);
                let hv = _mm256_loadu_ps(ph.add(i));
                let e =
                    _mm256_fmadd_ps(vgb, b, _mm256_fmadd_ps(vga, a, _mm256_loadu_ps(pe.add(i))));
                _mm256_storeu_ps(pe.add(i), e);
                _mm256_storeu_ps(pa.add(i), _mm256_fmadd_ps(vga, hv, a));
                _mm256_storeu_ps(pb.add(i), _mm256_fmadd_ps(vgb, hv, b));
            }};
        }
        let z = _mm256_setzero_ps();
        let (mut aa0, mut aa1, mut bb0, mut bb1) = (z, z, z, z);
        let mut i = 0;
        // SAFETY: offsets < n, within all four slices.
        while i + 16 <= n {
            block!(i, aa0, bb0);
            block!(i + 8, aa1, bb1);
            i += 16;
        }
        if i + 8 <= n {
            block!(i, aa0, bb0);
            i += 8;
        }
        let (mut sa, mut sb) = hsum2(_mm256_add_ps(aa0, aa1), _mm256_add_ps(bb0, bb1));
        while i < n {
            let (a, b) = (*pa.add(i), *pb.add(i));
            sa += a * a;
            sb += b * b;
            *pe.add(i) += ga * a + gb * b;
            *pa.add(i) = a + ga * *ph.add(i);
            *pb.add(i) = b + gb * *ph.add(i);
            i += 1;
        }
        (sa, sb)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn load(dst: &mut [f32], src: *const f32) {
        let n = dst.len();
        let pd = dst.as_mut_ptr();
        let mut i = 0;
        // SAFETY: the caller guarantees `src` is valid for n reads; offsets < n.
        while i + 8 <= n {
            _mm256_storeu_ps(pd.add(i), _mm256_loadu_ps(src.add(i)));
            i += 8;
        }
        while i < n {
            *pd.add(i) = *src.add(i);
            i += 1;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn add_norm2(dst: *mut f32, src: &[f32]) -> f32 {
        // `add_delta(dst, src, None)`, with src . src summed in `dot`'s blocking and order
        // (8-float blocks alternate between two accumulators), so it is bit-identical.
        let n = src.len();
        let ps = src.as_ptr();
        macro_rules! block {
            ($i:expr, $acc:ident) => {{
                let i = $i;
                let x = _mm256_loadu_ps(ps.add(i));
                _mm256_storeu_ps(dst.add(i), _mm256_add_ps(_mm256_loadu_ps(dst.add(i)), x));
                $acc = _mm256_fmadd_ps(x, x, $acc);
            }};
        }
        let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        // SAFETY: the caller guarantees `dst` is valid for n reads and writes; offsets < n.
        while i + 16 <= n {
            block!(i, acc0);
            block!(i + 8, acc1);
            i += 16;
        }
        if i + 8 <= n {
            block!(i, acc0);
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            let x = *ps.add(i);
            *dst.add(i) += x;
            s += x * x;
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn add_delta(dst: *mut f32, new: &[f32], old: Option<&[f32]>) {
        let n = new.len();
        let pn = new.as_ptr();
        let mut i = 0;
        // SAFETY: the caller guarantees `dst` is valid for n reads and writes, and `old`
        // (if any) has length n; offsets < n.
        match old {
            Some(old) => {
                let po = old.as_ptr();
                while i + 8 <= n {
                    let d = _mm256_sub_ps(_mm256_loadu_ps(pn.add(i)), _mm256_loadu_ps(po.add(i)));
                    _mm256_storeu_ps(dst.add(i), _mm256_add_ps(_mm256_loadu_ps(dst.add(i)), d));
                    i += 8;
                }
                while i < n {
                    *dst.add(i) += *pn.add(i) - *po.add(i);
                    i += 1;
                }
            }
            None => {
                while i + 8 <= n {
                    let s = _mm256_add_ps(_mm256_loadu_ps(dst.add(i)), _mm256_loadu_ps(pn.add(i)));
                    _mm256_storeu_ps(dst.add(i), s);
                    i += 8;
                }
                while i < n {
                    *dst.add(i) += *pn.add(i);
                    i += 1;
                }
            }
        }
    }

    impl Kernel for Avx2Fma {
        const NAME: &'static str = "avx2+fma";

        #[inline(always)]
        fn fold_path<const ONE: bool>(
            self,
            v: &crate::kernel::PathVisits,
            out: crate::kernel::LanesMut,
        ) -> crate::kernel::SaturatedNodes {
            // SAFETY: as in `dot`.
            unsafe { crate::kernel::fold::avx::fold::<ONE>(v, out) }
        }

        #[inline(always)]
        fn dot(self, a: &[f32], b: &[f32]) -> f32 {
            // SAFETY: `self` exists only if the CPU has AVX2 and FMA (see `detect`).
            unsafe { dot(a, b) }
        }

        #[inline(always)]
        fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
            // SAFETY: as in `dot`.
            unsafe { axpy(a, x, y) }
        }

        #[inline(always)]
        fn hs_step(self, g: f32, v: &mut [f32], h: &[f32], err: &mut [f32]) {
            // SAFETY: as in `dot`.
            unsafe { hs_step(g, v, h, err) }
        }

        #[inline(always)]
        fn scale(self, a: f32, y: &mut [f32]) {
            Scalar.scale(a, y)
        }

        #[inline(always)]
        fn dot2(self, h: &[f32], a: &[f32], b: &[f32]) -> (f32, f32) {
            // SAFETY: as in `dot`.
            unsafe { dot2(h, a, b) }
        }

        #[inline(always)]
        fn dot2_hh(self, h: &[f32], a: &[f32], b: &[f32]) -> (f32, f32, f32) {
            // SAFETY: as in `dot`.
            unsafe { dot2_hh(h, a, b) }
        }

        #[inline(always)]
        fn hs_step2_norms(
            self,
            ga: f32,
            gb: f32,
            va: &mut [f32],
            vb: &mut [f32],
            h: &[f32],
            err: &mut [f32],
        ) -> (f32, f32) {
            // SAFETY: as in `dot`.
            unsafe { hs_step2_norms(ga, gb, va, vb, h, err) }
        }

        #[inline(always)]
        fn hs_step2(
            self,
            ga: f32,
            gb: f32,
            va: &mut [f32],
            vb: &mut [f32],
            h: &[f32],
            err: &mut [f32],
        ) {
            // SAFETY: as in `dot`.
            unsafe { hs_step2(ga, gb, va, vb, h, err) }
        }

        #[inline(always)]
        unsafe fn load_shared(self, dst: &mut [f32], src: *const f32) {
            // SAFETY: CPU features as in `dot`; pointer validity passed on from the caller.
            unsafe { load(dst, src) }
        }

        #[inline(always)]
        unsafe fn add_shared(self, dst: *mut f32, src: &[f32]) {
            // SAFETY: CPU features as in `dot`; pointer validity passed on from the caller.
            unsafe { add_delta(dst, src, None) }
        }

        #[inline(always)]
        unsafe fn add_shared_norm2(self, dst: *mut f32, src: &[f32]) -> f32 {
            // SAFETY: CPU features as in `dot`; pointer validity passed on from the caller.
            unsafe { add_norm2(dst, src) }
        }

        #[inline(always)]
        unsafe fn add_delta_shared(self, dst: *mut f32, new: &[f32], old: &[f32]) {
            assert_eq!(new.len(), old.len());
            // SAFETY: CPU features as in `dot`; pointer validity passed on from the caller.
            unsafe { add_delta(dst, new, Some(old)) }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[cfg_attr(any(feature = "strict", test), allow(dead_code))]
    pub(super) unsafe fn run<T: super::KernelTask>(task: T, k: Avx2Fma) -> T::Output {
        task.run(k)
    }
}

/// The AVX2 backend where [`dispatch`] may use it: not in the `strict` build, not under
/// `HUFFVEC_KERNEL=scalar`, and not in the library's own unit tests. Those run every task
/// on the scalar backend, so the unit-test build compiles each task once instead of twice;
/// the AVX2 kernels are unit-tested one by one against the scalar ones, and the AVX2 tasks
/// whole by the integration tests, which link the normal library.
#[cfg(target_arch = "x86_64")]
fn avx2() -> Option<Avx2Fma> {
    if cfg!(any(feature = "strict", test))
        || std::env::var("HUFFVEC_KERNEL").is_ok_and(|v| v.eq_ignore_ascii_case("scalar"))
    {
        return None;
    }
    Avx2Fma::detect()
}

/// Runs `task` with the fastest backend this CPU supports (`HUFFVEC_KERNEL=scalar` forces
/// the portable one; the `strict` build always uses it, with atomic shared-row accesses).
pub fn dispatch<T: KernelTask>(task: T) -> T::Output {
    #[cfg(all(target_arch = "x86_64", not(feature = "strict"), not(test)))]
    if let Some(k) = avx2() {
        // SAFETY: `k` proves the CPU supports AVX2 and FMA, the features `run` enables.
        return unsafe { avx::run(task, k) };
    }
    task.run(Scalar)
}

/// Name of the backend [`dispatch`] picks.
pub fn backend_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if avx2().is_some() {
        return Avx2Fma::NAME;
    }
    if cfg!(feature = "strict") {
        "scalar-strict"
    } else {
        Scalar::NAME
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

    fn check_backend<K: Kernel>(k: K) {
        for n in [1, 7, 8, 15, 16, 17, 100, 102, 112, 301] {
            let a = data(n, 1);
            let b = data(n, 2);
            let d = k.dot(&a, &b);
            let r: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as f64) * (*y as f64))
                .sum();
            assert!(
                (d as f64 - r).abs() < 1e-4 * (1.0 + r.abs()),
                "dot n={n}: {d} vs {r}"
            );

            let mut y1 = b.clone();
            let mut y2 = b.clone();
            k.axpy(0.3, &a, &mut y1);
            Scalar.axpy(0.3, &a, &mut y2);
            assert_close(&y1, &y2);

            let (mut v1, mut e1) = (a.clone(), b.clone());
            let (mut v2, mut e2) = (a.clone(), b.clone());
            let h = data(n, 3);
            k.hs_step(-0.7, &mut v1, &h, &mut e1);
            for i in 0..n {
                e2[i] += -0.7 * v2[i];
                v2[i] += -0.7 * h[i];
            }
            assert_close(&v1, &v2);
            assert_close(&e1, &e2);

            let (n1, n2, n3) = k.dot2_hh(&h, &a, &b);
            for (got, want) in [
                (n1, Scalar.dot(&h, &a)),
                (n2, Scalar.dot(&h, &b)),
                (n3, Scalar.dot(&h, &h)),
            ] {
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "dot2_hh n={n}"
                );
            }
            let (d1, d2) = k.dot2(&h, &a, &b);
            assert_eq!((n1, n2), (d1, d2), "dot2_hh agrees with dot2 bit for bit");
            assert_eq!(n3, k.dot(&h, &h), "and with dot");
            // The step with norms: the same step, and the old rows' norms as `dot` gives them.
            let (mut sa, mut sb, mut se) = (a.clone(), b.clone(), h.clone());
            let (mut ta, mut tb, mut te) = (a.clone(), b.clone(), h.clone());
            let norms = k.hs_step2_norms(0.3, -0.2, &mut sa, &mut sb, &h, &mut se);
            k.hs_step2(0.3, -0.2, &mut ta, &mut tb, &h, &mut te);
            assert_eq!(
                (sa, sb, se),
                (ta, tb, te),
                "hs_step2_norms steps as hs_step2"
            );
            assert_eq!(norms, (k.dot(&a, &a), k.dot(&b, &b)), "n={n}");
            let (mut d1, mut d2) = (b.clone(), b.clone());
            // SAFETY: both destinations hold n floats, as `a` does.
            let n2 = unsafe { k.add_shared_norm2(d1.as_mut_ptr(), &a) };
            unsafe { k.add_shared(d2.as_mut_ptr(), &a) };
            assert_eq!(d1, d2, "add_shared_norm2 adds as add_shared");
            assert_eq!(n2, k.dot(&a, &a), "and its norm is dot's, n={n}");
            let (d1, d2) = k.dot2(&h, &a, &b);
            assert!(
                (d1 - Scalar.dot(&h, &a)).abs() < 1e-4 && (d2 - Scalar.dot(&h, &b)).abs() < 1e-4
            );
            let (mut pa, mut pb, mut pe) = (a.clone(), b.clone(), h.clone());
            k.hs_step2(0.3, -0.2, &mut pa, &mut pb, &h, &mut pe);
            let want_e: Vec<f32> = (0..n).map(|i| h[i] + 0.3 * a[i] - 0.2 * b[i]).collect();
            let want_a: Vec<f32> = (0..n).map(|i| a[i] + 0.3 * h[i]).collect();
            let want_b: Vec<f32> = (0..n).map(|i| b[i] - 0.2 * h[i]).collect();
            assert_close(&pe, &want_e);
            assert_close(&pa, &want_a);
            assert_close(&pb, &want_b);

            let mut dst = vec![0.0; n];
            let mut shared = a.clone();
            // SAFETY: `shared` has n elements.
            unsafe { k.load_shared(&mut dst, shared.as_ptr()) };
            assert_eq!(dst, a);
            // SAFETY: `shared` has n elements.
            unsafe { k.add_shared(shared.as_mut_ptr(), &b) };
            let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
            assert_close(&shared, &want);
            // SAFETY: `shared` has n elements.
            unsafe { k.add_delta_shared(shared.as_mut_ptr(), &a, &b) };
            let want2: Vec<f32> = want
                .iter()
                .zip(a.iter().zip(&b))
                .map(|(w, (x, y))| w + (x - y))
                .collect();
            assert_close(&shared, &want2);
        }
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn scalar_matches_f64_reference() {
        check_backend(Scalar);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_matches_scalar_when_cpu_has_it() {
        match Avx2Fma::detect() {
            Some(k) => check_backend(k),
            None => eprintln!("skipped: this CPU lacks AVX2/FMA"),
        }
    }

    #[test]
    fn dispatch_runs_a_task() {
        struct Sum<'a>(&'a [f32]);
        impl KernelTask for Sum<'_> {
            type Output = f32;
            #[inline(always)]
            fn run<K: Kernel>(self, k: K) -> f32 {
                k.dot(self.0, self.0)
            }
        }
        assert_eq!(dispatch(Sum(&[1.0, 2.0, 2.0])), 9.0);
    }
}
