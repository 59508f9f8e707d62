//! A dense layer `y = s(W r + b)` and the gradient of its local squared-error loss.

use crate::activation::Activation;
use crate::kernel::Kernel;
use crate::quantise::Quantiser;
use crate::{Mat, zeros};
use rand_core::Rng;

/// A dense (fully connected) layer with `I` inputs and `O` outputs: weights `W` (`O × I`) and
/// bias `b` (`O`). Used for forward layers `f_i` and inverse layers `g_i` alike.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<const O: usize, const I: usize> {
    /// Weights `W`, `O × I`.
    pub w: Mat<O, I>,
    /// Bias `b`, `O × 1`.
    pub b: Mat<O, 1>,
}

impl<const O: usize, const I: usize> Dense<O, I> {
    /// All-zero layer.
    pub const ZERO: Self = Dense {
        w: zeros(),
        b: zeros(),
    };

    /// `out = s(W r + b)` for a minibatch `r` (`I × B`).
    pub fn forward<K: Kernel, const B: usize>(
        &self,
        activation: Activation,
        r: &Mat<I, B>,
        out: &mut Mat<O, B>,
    ) {
        for mut column in out.column_iter_mut() {
            column.copy_from(&self.b);
        }
        K::gemm(out, 1.0, &self.w, r, 1.0);
        activation.apply_slice(out.as_mut_slice());
    }

    /// `out = s(W q(v) + b)`: reads `v` through the quantiser `q` into `read` (kept for the
    /// layer's gradient), then applies the layer.
    pub fn forward_read<K: Kernel, G: Rng + ?Sized, const B: usize>(
        &self,
        q: Quantiser,
        activation: Activation,
        v: &Mat<I, B>,
        read: &mut Mat<I, B>,
        out: &mut Mat<O, B>,
        rng: &mut G,
    ) {
        q.apply(v.as_slice(), read.as_mut_slice(), rng);
        self.forward::<K, B>(activation, read, out);
    }

    /// Gradient of the local loss `ℓ = (1/B) Σ_b ‖y_b − ŷ_b‖²` of `y = s(W r + b)` towards
    /// targets `ŷ`, given the layer's output `y` for input `r`:
    /// `δ = (2/B)(y − ŷ) ⊙ s'(y)`, `∂ℓ/∂W = δ rᵀ`, `∂ℓ/∂b = Σ_b δ_b`.
    ///
    /// `delta` receives `δ` (`O × B` scratch); returns `ℓ`.
    #[allow(clippy::too_many_arguments)]
    pub fn local_gradient<K: Kernel, const B: usize>(
        activation: Activation,
        r: &Mat<I, B>,
        y: &Mat<O, B>,
        target: &Mat<O, B>,
        delta: &mut Mat<O, B>,
        grad: &mut Dense<O, I>,
    ) -> f32 {
        let scale = 2.0 / B as f32;
        // Eight partial sums (lanes the compiler vectorises) instead of one serial chain.
        let mut partial = [0.0f32; 8];
        let mut tail = 0.0f32;
        let step = |d: &mut f32, y: f32, t: f32| {
            let e = y - t;
            *d = scale * e * activation.derivative_from_output(y);
            e * e
        };
        let (d, y, t) = (delta.as_mut_slice(), y.as_slice(), target.as_slice());
        let (mut dc, mut yc, mut tc) =
            (d.chunks_exact_mut(8), y.chunks_exact(8), t.chunks_exact(8));
        for ((d, y), t) in (&mut dc).zip(&mut yc).zip(&mut tc) {
            for j in 0..8 {
                partial[j] += step(&mut d[j], y[j], t[j]);
            }
        }
        let (dr, yr, tr) = (dc.into_remainder(), yc.remainder(), tc.remainder());
        for ((d, &y), &t) in dr.iter_mut().zip(yr).zip(tr) {
            tail += step(d, y, t);
        }
        Self::gradient_from_delta::<K, B>(r, delta, grad);
        (partial.iter().sum::<f32>() + tail) / B as f32
    }

    /// Parameter gradient from the pre-activation gradient `δ` (`O × B`) and the input `r`:
    /// `∂/∂W = δ rᵀ`, `∂/∂b = Σ_b δ_b`.
    pub fn gradient_from_delta<K: Kernel, const B: usize>(
        r: &Mat<I, B>,
        delta: &Mat<O, B>,
        grad: &mut Dense<O, I>,
    ) {
        K::gemm_nt(&mut grad.w, 1.0, delta, r, 0.0);
        grad.b.fill(0.0);
        for column in delta.column_iter() {
            grad.b += column;
        }
    }

    /// Whether every weight and bias is finite.
    pub fn is_finite(&self) -> bool {
        self.w.iter().chain(self.b.iter()).all(|v| v.is_finite())
    }
}
