//! A dense layer `y = s(W r + b)` and the gradient of its local squared-error loss.

use crate::activation::Activation;
use crate::kernel::Kernel;
use crate::mat::{OMat, zeros};
use crate::quantise::Quantiser;
use nalgebra::allocator::Allocator;
use nalgebra::{Const, DefaultAllocator, Dim, U1};
use rand_core::Rng;

/// A dense (fully connected) layer with `I` inputs and `O` outputs: weights `W` (`O × I`) and
/// bias `b` (`O`). Used for forward layers `f_i` and inverse layers `g_i` alike.
///
/// `O` and `I` are nalgebra dimensions: [`Const<N>`] for a layer whose shape is fixed at
/// compile time (stored inline), `Dyn` for one sized at run time.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<O: Dim, I: Dim>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    /// Weights `W`, `O × I`.
    pub w: OMat<O, I>,
    /// Bias `b`, `O × 1`.
    pub b: OMat<O, U1>,
}

/// A dense layer of compile-time shape.
pub type FixedDense<const O: usize, const I: usize> = Dense<Const<O>, Const<I>>;

impl<const O: usize, const I: usize> Dense<Const<O>, Const<I>> {
    /// All-zero layer.
    pub const ZERO: Self = Dense {
        w: zeros(),
        b: zeros(),
    };
}

impl<O: Dim, I: Dim> Dense<O, I>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    /// A zero layer of `outputs × inputs` (allocates for `Dyn` dimensions).
    pub fn zeros_generic(outputs: O, inputs: I) -> Self {
        Dense {
            w: OMat::zeros_generic(outputs, inputs),
            b: OMat::zeros_generic(outputs, U1),
        }
    }

    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.w.nrows()
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.w.ncols()
    }

    /// Number of parameters, `O·(I + 1)`.
    pub fn params(&self) -> usize {
        self.w.len() + self.b.len()
    }

    /// `out = s(W r + b)` for a minibatch `r` (`I × B`).
    pub fn forward<K: Kernel, B: Dim>(
        &self,
        activation: Activation,
        r: &OMat<I, B>,
        out: &mut OMat<O, B>,
    ) where
        DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
    {
        K::gemm_bias(out, &self.w, r, self.b.as_slice());
        activation.apply_slice(out.as_mut_slice());
    }

    /// `out = s(W q(v) + b)`: reads `v` through the quantiser `q` into `read` (kept for the
    /// layer's gradient), then applies the layer.
    pub fn forward_read<K: Kernel, G: Rng + ?Sized, B: Dim>(
        &self,
        q: Quantiser,
        activation: Activation,
        v: &OMat<I, B>,
        read: &mut OMat<I, B>,
        out: &mut OMat<O, B>,
        rng: &mut G,
    ) where
        DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
    {
        q.apply(v.as_slice(), read.as_mut_slice(), rng);
        self.forward::<K, B>(activation, read, out);
    }

    /// Gradient of the local loss `ℓ = (1/B) Σ_b ‖y_b − ŷ_b‖²` of `y = s(W r + b)` towards
    /// targets `ŷ`, given the layer's output `y` for input `r`:
    /// `δ = (2/B)(y − ŷ) ⊙ s'(y)`, `∂ℓ/∂W = δ rᵀ`, `∂ℓ/∂b = Σ_b δ_b`.
    ///
    /// `delta` receives `δ` (`O × B` scratch); returns `ℓ`.
    #[allow(clippy::too_many_arguments)]
    pub fn local_gradient<K: Kernel, B: Dim>(
        activation: Activation,
        r: &OMat<I, B>,
        y: &OMat<O, B>,
        target: &OMat<O, B>,
        delta: &mut OMat<O, B>,
        grad: &mut Dense<O, I>,
    ) -> f32
    where
        DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
    {
        Self::local_gradient_over::<K, B>(activation, r, y, target, delta, grad, y.ncols() as f32)
    }

    /// [`local_gradient`](Self::local_gradient) with `B = batch` instead of the column count
    /// of `y`: one chunk's share of the gradient of a minibatch of `batch` samples.
    #[allow(clippy::too_many_arguments)]
    pub fn local_gradient_over<K: Kernel, B: Dim>(
        activation: Activation,
        r: &OMat<I, B>,
        y: &OMat<O, B>,
        target: &OMat<O, B>,
        delta: &mut OMat<O, B>,
        grad: &mut Dense<O, I>,
        batch: f32,
    ) -> f32
    where
        DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
    {
        let loss = Self::local_delta_over(activation, y, target, delta, batch);
        Self::gradient_from_delta::<K, B>(r, delta, grad);
        loss
    }

    /// The first half of [`local_gradient_over`](Self::local_gradient_over): `δ` into `delta`
    /// (`δ = (2/batch)(y − ŷ) ⊙ s'(y)`); returns `ℓ`. The gradient is `δ rᵀ`, `Σ_b δ_b`.
    pub fn local_delta_over<B: Dim>(
        activation: Activation,
        y: &OMat<O, B>,
        target: &OMat<O, B>,
        delta: &mut OMat<O, B>,
        batch: f32,
    ) -> f32
    where
        DefaultAllocator: Allocator<O, B>,
    {
        let scale = 2.0 / batch;
        // Eight partial sums (lanes the compiler vectorises) instead of one serial chain.
        let mut partial = [0.0f32; 8];
        let mut tail = 0.0f32;
        let step = |d: &mut f32, y: f32, t: f32| {
            let e = y - t;
            *d = scale * e * activation.derivative_from_output(y);
            e * e
        };
        let (d, y, t) = (delta.as_mut_slice(), y.as_slice(), target.as_slice());
        crate::simd::wide(
            #[inline(always)]
            || {
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
            },
        );
        (partial.iter().sum::<f32>() + tail) / batch
    }

    /// Parameter gradient from the pre-activation gradient `δ` (`O × B`) and the input `r`:
    /// `∂/∂W = δ rᵀ`, `∂/∂b = Σ_b δ_b`.
    pub fn gradient_from_delta<K: Kernel, B: Dim>(
        r: &OMat<I, B>,
        delta: &OMat<O, B>,
        grad: &mut Dense<O, I>,
    ) where
        DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
    {
        K::gemm_nt(&mut grad.w, 1.0, delta, r, 0.0);
        let b = grad.b.as_mut_slice();
        b.fill(0.0);
        add_column_sums(b, delta.as_slice());
    }

    /// Whether every weight and bias is finite.
    pub fn is_finite(&self) -> bool {
        let (w, b) = (self.w.as_slice(), self.b.as_slice());
        w.iter().chain(b).all(|v| v.is_finite())
    }
}

/// `sum += Σ_b m_b`: adds every column of the column-major `m` (columns of `sum.len()`
/// values) to `sum`, column by column (the bias gradient `Σ_b δ_b`).
pub(crate) fn add_column_sums(sum: &mut [f32], m: &[f32]) {
    for column in m.chunks_exact(sum.len().max(1)) {
        for (s, &v) in sum.iter_mut().zip(column) {
            *s += v;
        }
    }
}
