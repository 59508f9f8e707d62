//! Matrix-product kernels: the only place where the crate multiplies matrices.
//!
//! The core is written against [`Kernel`]; [`Portable`] is nalgebra's own column-by-column
//! loops (no allocation, fine on a microcontroller), `Blocked` (feature `std`) hands the same
//! products to the `gemm` crate's cache-blocked, run-time-dispatched SIMD GEMM for desktop
//! minibatches. Both take fixed (`Const`) and run-time (`Dyn`) dimensions alike.

use crate::arm::gemv::gemv_blocked;
use crate::mat::OMat;
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};

/// The three products DTP and backprop need, all accumulating in place: `C ← α·op + β·C`.
///
/// With `β = 0`, `C` is overwritten (any NaN it held is discarded). Shapes must agree (they
/// do by construction in the core; with `Const` dimensions the types enforce it).
pub trait Kernel {
    /// `C ← α·A·B + β·C`.
    fn gemm<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>;

    /// `C ← α·Aᵀ·B + β·C`.
    fn gemm_tn<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<K, M>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>;

    /// `C ← α·A·Bᵀ + β·C`.
    fn gemm_nt<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<N, K>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<N, K>;

    /// `C ← α·Aᵀ·B + C₀` ([`gemm_tn`](Kernel::gemm_tn) at `β = 1` of a copy of `c0` in `C`;
    /// `c0` has `C`'s shape).
    fn gemm_tn_from<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<K, M>,
        b: &OMat<K, N>,
        c0: &OMat<M, N>,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>,
    {
        c.as_mut_slice().copy_from_slice(c0.as_slice());
        Self::gemm_tn(c, alpha, a, b, 1.0);
    }

    /// `C ← bias·1ᵀ + A·B`: every column of `C` set to `bias` (`M` values), then
    /// [`gemm`](Kernel::gemm) at `α = β = 1` (a dense layer's `W r + b`). A kernel may start
    /// the sums from `bias` directly instead of copying it first, for the same bits.
    fn gemm_bias<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        a: &OMat<M, K>,
        b: &OMat<K, N>,
        bias: &[f32],
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>,
    {
        // Contiguous columns as slices: with run-time sizes nalgebra's element iterators
        // cannot be vectorised.
        for column in c.as_mut_slice().chunks_exact_mut(bias.len().max(1)) {
            column.copy_from_slice(bias);
        }
        Self::gemm(c, 1.0, a, b, 1.0);
    }
}

/// nalgebra's column-by-column products: no allocation, no `std`, no temporaries on the stack.
///
/// `gemm` is one `gemv` per column of `C`, which is what nalgebra's own `gemm` does for
/// fixed-size matrices; calling `gemv` directly keeps the same arithmetic (the same bits) for
/// run-time sizes, where nalgebra's `gemm` would switch to `matrixmultiply` under `std`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

impl Kernel for Portable {
    fn gemm_tn_from<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<K, M>,
        b: &OMat<K, N>,
        c0: &OMat<M, N>,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>,
    {
        let (k, m) = a.shape();
        // nalgebra's `gemm_tr` (below, through `gemm_tn`) takes each `C_ij` as
        // `α·dot(A_·i, B_·j) + β·C_ij`, its `dot` in the order of `dot_in_order` for more than
        // four terms (fixed sizes 2–4 have their own): the same here, reading `C₀` instead of
        // a copy of it in `C`.
        if k > 4 && b.nrows() == k && c.shape() == (m, b.ncols()) && c0.shape() == c.shape() {
            let (a, beta) = (a.as_slice(), 1.0f32);
            for ((cj, c0j), bj) in c
                .as_mut_slice()
                .chunks_exact_mut(m.max(1))
                .zip(c0.as_slice().chunks_exact(m.max(1)))
                .zip(b.as_slice().chunks_exact(k))
            {
                for ((cij, &c0ij), ai) in cj.iter_mut().zip(c0j).zip(a.chunks_exact(k)) {
                    *cij = alpha * dot_in_order(ai, bj) + beta * c0ij;
                }
            }
            return;
        }
        c.as_mut_slice().copy_from_slice(c0.as_slice());
        Self::gemm_tn(c, alpha, a, b, 1.0);
    }

    fn gemm_bias<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        a: &OMat<M, K>,
        b: &OMat<K, N>,
        bias: &[f32],
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>,
    {
        #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
        {
            let (m, k) = a.shape();
            if b.nrows() == k && c.nrows() == m && bias.len() == m && m > 0 && k > 0 {
                // The assembly gemv of `gemm` (α = β = 1), its sums started from `bias`
                // instead of from a copy of it in `C`: the same bits, without the copy.
                let a = a.as_slice();
                for (y, x) in c
                    .as_mut_slice()
                    .chunks_exact_mut(m)
                    .zip(b.as_slice().chunks_exact(k))
                {
                    // SAFETY: `a` holds `m × k` floats (its shape), `x` `k ≥ 1` and `y` and
                    // `bias` `m ≥ 1`; `y` is borrowed mutably, so it overlaps none of `a`,
                    // `x` and `bias`.
                    unsafe {
                        crate::arm::gemv::gemv_add(
                            y.as_mut_ptr(),
                            a.as_ptr(),
                            x.as_ptr(),
                            m,
                            k,
                            bias.as_ptr(),
                        )
                    };
                }
                return;
            }
        }
        for column in c.as_mut_slice().chunks_exact_mut(bias.len().max(1)) {
            column.copy_from_slice(bias);
        }
        Self::gemm(c, 1.0, a, b, 1.0);
    }

    fn gemm<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>,
    {
        let (m, k) = a.shape();
        if cfg!(target_arch = "arm") && b.nrows() == k && c.nrows() == m && m > 0 && k > 0 {
            // Register-blocked: the same arithmetic as nalgebra's `gemv` (below), in the same
            // order for each output, without storing and reloading `y` after every MAC.
            let a = a.as_slice();
            for (y, x) in c
                .as_mut_slice()
                .chunks_exact_mut(m)
                .zip(b.as_slice().chunks_exact(k))
            {
                gemv_blocked(y, alpha, a, x, beta);
            }
            return;
        }
        if beta == 0.0 {
            c.fill(0.0);
        }
        for j in 0..c.ncols() {
            c.column_mut(j).gemv(alpha, a, &b.column(j), beta);
        }
    }

    fn gemm_tn<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<K, M>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>,
    {
        if beta == 0.0 {
            c.fill(0.0);
        }
        c.gemm_tr(alpha, a, b, beta);
    }

    fn gemm_nt<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<N, K>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<N, K>,
    {
        // A·Bᵀ = Σ_k a_k b_kᵀ: one rank-1 update per shared column.
        let mut first = 0;
        if beta == 0.0 && a.ncols() > 0 {
            // The first rank-1 term written, not added to a zero-filled C: the same bits as
            // `ger` into zeros, `(α·b_j)·a_i + 0` (the `+ 0` turns a −0 into +0, as there).
            // Column 0 of the contiguous, column-major `a` and `b` are their first `m` and `n`
            // elements: the zips stop there.
            let (a0, b0) = (a.as_slice(), b.as_slice());
            for (column, &bj) in c.as_mut_slice().chunks_exact_mut(a.nrows().max(1)).zip(b0) {
                let s = alpha * bj;
                for (cij, &ai) in column.iter_mut().zip(a0) {
                    *cij = s * ai + 0.0;
                }
            }
            first = 1;
        } else if beta == 0.0 {
            c.fill(0.0);
        } else if beta != 1.0 {
            *c *= beta;
        }
        for k in first..a.ncols() {
            c.ger(alpha, &a.column(k), &b.column(k), 1.0);
        }
    }
}

/// `Σ a_i b_i` as nalgebra's `dot` sums more than four terms: eight running sums over
/// blocks of eight, combined as `((((0 + (s0 + s4)) + (s1 + s5)) + (s2 + s6)) + (s3 + s7))`,
/// then the terms left over added one by one.
#[inline(always)]
fn dot_in_order(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (mut ac, mut bc) = (a.chunks_exact(8), b.chunks_exact(8));
    for (a8, b8) in (&mut ac).zip(&mut bc) {
        for ((s, &x), &y) in acc.iter_mut().zip(a8).zip(b8) {
            *s += x * y;
        }
    }
    let mut res = 0.0f32;
    res += acc[0] + acc[4];
    res += acc[1] + acc[5];
    res += acc[2] + acc[6];
    res += acc[3] + acc[7];
    for (&x, &y) in ac.remainder().iter().zip(bc.remainder()) {
        res += x * y;
    }
    res
}

/// Cache-blocked, SIMD-dispatched products for desktop minibatches: the `gemm` crate (the GEMM
/// behind candle and faer), which picks AVX-512/AVX2/NEON kernels at run time and keeps its
/// packing buffers per thread. With `std` only; threads are set by [`set_threads`].
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Blocked;

#[cfg(feature = "std")]
static THREADS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(1);

/// Number of threads [`Blocked`] may use for one product (default 1). Products smaller than
/// `gemm`'s threading threshold stay on the calling thread.
#[cfg(feature = "std")]
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), core::sync::atomic::Ordering::Relaxed);
}

/// The thread count set by [`set_threads`].
#[cfg(feature = "std")]
pub fn threads() -> usize {
    THREADS.load(core::sync::atomic::Ordering::Relaxed)
}

/// Products of at least this many multiply-adds go to [`Blocked`]'s GEMM under [`Auto`];
/// smaller ones to [`Portable`]'s loops. Between the largest product of the 64-wide digits
/// nets (40,960) and the smallest of the MNIST presets (10 × 200 × 100 = 200,000), so every
/// preset runs the kernel it ran when kernels were chosen per preset.
#[cfg(feature = "std")]
pub const AUTO_BLOCKED_MIN: usize = 100_000;

/// Picks per product: [`Portable`] below [`AUTO_BLOCKED_MIN`] multiply-adds (where packing
/// costs more than it saves), [`Blocked`] from there on. The desktop's kernel for networks
/// whose sizes are known only at run time.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Auto;

#[cfg(feature = "std")]
mod blocked {
    use super::{AUTO_BLOCKED_MIN, Auto, Blocked, Kernel, Portable};
    use crate::mat::OMat;
    use nalgebra::allocator::Allocator;
    use nalgebra::{DefaultAllocator, Dim};

    /// A column-major operand: pointer, column stride, row stride.
    type Operand = (*const f32, isize, isize);

    /// Plain storage of a column-major matrix.
    fn plain<R: Dim, C: Dim>(a: &OMat<R, C>) -> Operand
    where
        DefaultAllocator: Allocator<R, C>,
    {
        (a.as_slice().as_ptr(), a.nrows() as isize, 1)
    }

    /// `Aᵀ` of a column-major `R × C` matrix, as a `C × R` operand (strides swapped).
    fn transposed<R: Dim, C: Dim>(a: &OMat<R, C>) -> Operand
    where
        DefaultAllocator: Allocator<R, C>,
    {
        (a.as_slice().as_ptr(), 1, a.nrows() as isize)
    }

    /// `C ← α·op(A)·op(B) + β·C` for an `M × N` result with inner dimension `k`.
    fn product<M: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        k: usize,
        alpha: f32,
        a: Operand,
        b: Operand,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N>,
    {
        let (m, n) = c.shape();
        let parallelism = match super::threads() {
            1 => gemm::Parallelism::None,
            t => gemm::Parallelism::Rayon(t),
        };
        // SAFETY: the callers pass operands of exactly the shapes and strides described
        // (asserted there), `c` is borrowed mutably so it aliases neither input.
        // `gemm` computes dst ← alpha·dst + beta·lhs·rhs, reading dst only if asked.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_slice().as_mut_ptr(),
                m as isize,
                1,
                beta != 0.0,
                a.0,
                a.1,
                a.2,
                b.0,
                b.1,
                b.2,
                beta,
                alpha,
                false,
                false,
                false,
                parallelism,
            );
        }
    }

    impl Kernel for Blocked {
        fn gemm<M: Dim, K: Dim, N: Dim>(
            c: &mut OMat<M, N>,
            alpha: f32,
            a: &OMat<M, K>,
            b: &OMat<K, N>,
            beta: f32,
        ) where
            DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>,
        {
            assert!(a.nrows() == c.nrows() && b.ncols() == c.ncols() && a.ncols() == b.nrows());
            product(c, a.ncols(), alpha, plain(a), plain(b), beta);
        }

        fn gemm_tn<M: Dim, K: Dim, N: Dim>(
            c: &mut OMat<M, N>,
            alpha: f32,
            a: &OMat<K, M>,
            b: &OMat<K, N>,
            beta: f32,
        ) where
            DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>,
        {
            assert!(a.ncols() == c.nrows() && b.ncols() == c.ncols() && a.nrows() == b.nrows());
            product(c, a.nrows(), alpha, transposed(a), plain(b), beta);
        }

        fn gemm_nt<M: Dim, K: Dim, N: Dim>(
            c: &mut OMat<M, N>,
            alpha: f32,
            a: &OMat<M, K>,
            b: &OMat<N, K>,
            beta: f32,
        ) where
            DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<N, K>,
        {
            assert!(a.nrows() == c.nrows() && b.nrows() == c.ncols() && a.ncols() == b.ncols());
            product(c, a.ncols(), alpha, plain(a), transposed(b), beta);
        }
    }

    /// Multiply-adds of an `m × n` result with inner dimension `k`.
    fn large(m: usize, n: usize, k: usize) -> bool {
        m.saturating_mul(n).saturating_mul(k) >= AUTO_BLOCKED_MIN
    }

    impl Kernel for Auto {
        fn gemm<M: Dim, K: Dim, N: Dim>(
            c: &mut OMat<M, N>,
            alpha: f32,
            a: &OMat<M, K>,
            b: &OMat<K, N>,
            beta: f32,
        ) where
            DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>,
        {
            if large(c.nrows(), c.ncols(), a.ncols()) {
                Blocked::gemm(c, alpha, a, b, beta)
            } else {
                Portable::gemm(c, alpha, a, b, beta)
            }
        }

        fn gemm_tn<M: Dim, K: Dim, N: Dim>(
            c: &mut OMat<M, N>,
            alpha: f32,
            a: &OMat<K, M>,
            b: &OMat<K, N>,
            beta: f32,
        ) where
            DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>,
        {
            if large(c.nrows(), c.ncols(), a.nrows()) {
                Blocked::gemm_tn(c, alpha, a, b, beta)
            } else {
                Portable::gemm_tn(c, alpha, a, b, beta)
            }
        }

        fn gemm_nt<M: Dim, K: Dim, N: Dim>(
            c: &mut OMat<M, N>,
            alpha: f32,
            a: &OMat<M, K>,
            b: &OMat<N, K>,
            beta: f32,
        ) where
            DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<N, K>,
        {
            if large(c.nrows(), c.ncols(), a.ncols()) {
                Blocked::gemm_nt(c, alpha, a, b, beta)
            } else {
                Portable::gemm_nt(c, alpha, a, b, beta)
            }
        }
    }
}
