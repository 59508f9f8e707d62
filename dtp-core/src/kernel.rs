//! Matrix-product kernels: the only place where the crate multiplies matrices.
//!
//! The core is written against [`Kernel`]; [`Portable`] is nalgebra's own fixed-size loops
//! (no allocation, fine on a microcontroller), `Blocked` (feature `std`) hands the same
//! products to a cache-blocked GEMM for desktop minibatches.

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

/// Cache-blocked products through nalgebra's dynamically sized views, which nalgebra hands to
/// `matrixmultiply` (its GEMM allocates packing buffers: a desktop kernel, not for `no_std`).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Blocked;

#[cfg(feature = "std")]
mod blocked {
    use super::{Blocked, Kernel};
    use crate::Mat;
    use nalgebra::{Dyn, MatrixView};

    /// `Aᵀ` of a column-major `R × C` matrix as a `C × R` strided view, without copying.
    fn transposed<const R: usize, const C: usize>(
        a: &Mat<R, C>,
    ) -> MatrixView<'_, f32, Dyn, Dyn, Dyn, Dyn> {
        MatrixView::from_slice_with_strides_generic(a.as_slice(), Dyn(C), Dyn(R), Dyn(R), Dyn(1))
    }

    impl Kernel for Blocked {
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
            c.view_mut((0, 0), (M, N)).gemm(
                alpha,
                &a.view((0, 0), (M, K)),
                &b.view((0, 0), (K, N)),
                beta,
            );
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
            c.view_mut((0, 0), (M, N))
                .gemm(alpha, &transposed(a), &b.view((0, 0), (K, N)), beta);
        }

        fn gemm_nt<const M: usize, const K: usize, const N: usize>(
            c: &mut Mat<M, N>,
            alpha: f32,
            a: &Mat<M, K>,
            b: &Mat<N, K>,
            beta: f32,
        ) {
            if beta == 0.0 {
                c.fill(0.0);
            }
            c.view_mut((0, 0), (M, N))
                .gemm(alpha, &a.view((0, 0), (M, K)), &transposed(b), beta);
        }
    }
}
