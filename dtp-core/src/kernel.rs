//! Matrix-product kernels: the only place where the crate multiplies matrices.
//!
//! The core is written against [`Kernel`]; [`Portable`] is nalgebra's own fixed-size loops
//! (no allocation, fine on a microcontroller), `Blocked` (feature `std`) hands the same
//! products to the `gemm` crate's cache-blocked, run-time-dispatched SIMD GEMM for desktop
//! minibatches.

use crate::Mat;

/// The three products DTP and backprop need, all accumulating in place: `C ← α·op + β·C`.
///
/// With `β = 0`, `C` is overwritten (any NaN it held is discarded).
pub trait Kernel {
    /// `C ← α·A·B + β·C`.
    fn gemm<const M: usize, const K: usize, const N: usize>(
        c: &mut Mat<M, N>,
        alpha: f32,
        a: &Mat<M, K>,
        b: &Mat<K, N>,
        beta: f32,
    );

    /// `C ← α·Aᵀ·B + β·C`.
    fn gemm_tn<const M: usize, const K: usize, const N: usize>(
        c: &mut Mat<M, N>,
        alpha: f32,
        a: &Mat<K, M>,
        b: &Mat<K, N>,
        beta: f32,
    );

    /// `C ← α·A·Bᵀ + β·C`.
    fn gemm_nt<const M: usize, const K: usize, const N: usize>(
        c: &mut Mat<M, N>,
        alpha: f32,
        a: &Mat<M, K>,
        b: &Mat<N, K>,
        beta: f32,
    );
}

/// nalgebra's fixed-size products: no allocation, no `std`, no temporaries on the stack.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

impl Kernel for Portable {
    fn gemm<const M: usize, const K: usize, const N: usize>(
        c: &mut Mat<M, N>,
        alpha: f32,
        a: &Mat<M, K>,
        b: &Mat<K, N>,
        beta: f32,
    ) {
        if beta == 0.0 {
            c.fill(0.0);
        }
        c.gemm(alpha, a, b, beta);
    }

    fn gemm_tn<const M: usize, const K: usize, const N: usize>(
        c: &mut Mat<M, N>,
        alpha: f32,
        a: &Mat<K, M>,
        b: &Mat<K, N>,
        beta: f32,
    ) {
        if beta == 0.0 {
            c.fill(0.0);
        }
        c.gemm_tr(alpha, a, b, beta);
    }

    fn gemm_nt<const M: usize, const K: usize, const N: usize>(
        c: &mut Mat<M, N>,
        alpha: f32,
        a: &Mat<M, K>,
        b: &Mat<N, K>,
        beta: f32,
    ) {
        // A·Bᵀ = Σ_k a_k b_kᵀ: one rank-1 update per shared column.
        if beta == 0.0 {
            c.fill(0.0);
        } else if beta != 1.0 {
            *c *= beta;
        }
        for k in 0..K {
            c.ger(alpha, &a.column(k), &b.column(k), 1.0);
        }
    }
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

#[cfg(feature = "std")]
mod blocked {
    use super::{Blocked, Kernel};
    use crate::Mat;

    /// A column-major operand: pointer, column stride, row stride.
    type Operand = (*const f32, isize, isize);

    /// Plain storage of a column-major `R × C` matrix.
    fn plain<const R: usize, const C: usize>(a: &Mat<R, C>) -> Operand {
        (a.as_slice().as_ptr(), R as isize, 1)
    }

    /// `Aᵀ` of a column-major `R × C` matrix, as a `C × R` operand (strides swapped).
    fn transposed<const R: usize, const C: usize>(a: &Mat<R, C>) -> Operand {
        (a.as_slice().as_ptr(), 1, R as isize)
    }

    /// `C ← α·op(A)·op(B) + β·C` for an `M × N` result with inner dimension `K`.
    fn product<const M: usize, const K: usize, const N: usize>(
        c: &mut Mat<M, N>,
        alpha: f32,
        a: Operand,
        b: Operand,
        beta: f32,
    ) {
        let parallelism = match super::threads() {
            1 => gemm::Parallelism::None,
            n => gemm::Parallelism::Rayon(n),
        };
        // SAFETY: the operands point at matrices of exactly the shapes and strides described
        // (const generics fix them), `c` is borrowed mutably so it aliases neither input.
        // `gemm` computes dst ← alpha·dst + beta·lhs·rhs, reading dst only if asked.
        unsafe {
            gemm::gemm(
                M,
                N,
                K,
                c.as_mut_slice().as_mut_ptr(),
                M as isize,
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
        fn gemm<const M: usize, const K: usize, const N: usize>(
            c: &mut Mat<M, N>,
            alpha: f32,
            a: &Mat<M, K>,
            b: &Mat<K, N>,
            beta: f32,
        ) {
            product::<M, K, N>(c, alpha, plain(a), plain(b), beta);
        }

        fn gemm_tn<const M: usize, const K: usize, const N: usize>(
            c: &mut Mat<M, N>,
            alpha: f32,
            a: &Mat<K, M>,
            b: &Mat<K, N>,
            beta: f32,
        ) {
            product::<M, K, N>(c, alpha, transposed(a), plain(b), beta);
        }

        fn gemm_nt<const M: usize, const K: usize, const N: usize>(
            c: &mut Mat<M, N>,
            alpha: f32,
            a: &Mat<M, K>,
            b: &Mat<N, K>,
            beta: f32,
        ) {
            product::<M, K, N>(c, alpha, plain(a), transposed(b), beta);
        }
    }
}
