//! A convolution and its learned inverse, a transposed convolution, with every size in the
//! type: no allocation, no panic, one sample at a time — the device's convolution.
//!
//! The arithmetic is that of the run-time-sized layers of `conv` (feature `alloc`) on one
//! sample, through the same index arithmetic ([`ConvShape`]'s `*_sample` methods) and the
//! same [`Kernel`] products, so a [`FixedConv`] and a `conv::Layer` with the same weights
//! give the same bits (`tests/tests/fixed_conv.rs`).
//!
//! # Shapes and symbols
//! As [`conv_shape`](crate::conv_shape): `X = C·H·W` input values, `Y = C'·P` output values,
//! `KK = K = C·k·k` values in a patch, `P = H'·W'` positions; the const parameters must agree
//! with the [`ConvShape`] (checked by the constructors).
//!
//! - convolution: `y = s(to_sample(W im2col(x) + b 1ᵀ))`, `W` is `C' × K`, `b` is `C'`;
//! - its inverse: `g(h) = s(col2im(V h_col) + c)`, `V` is `K × C'` (its own weights, not
//!   `Wᵀ`), `c` is `C` (one per input channel, added at every position), `h_col` = `h` as
//!   `C' × P`.
//!
//! Local losses (Lee et al. 2015, arXiv:1412.7525, Eq. 13 and 15, batch of one):
//! - layer loss `ℓ_f = ‖s(f(h_{i-1})) − ĥ_i‖²`: `δ = 2(y − ŷ) ⊙ s'(y)`, `∂/∂W = δ_Z X_colᵀ`,
//!   `∂/∂b = Σ_p δ_Z`;
//! - reconstruction loss `ℓ_g = ‖g(f(h̃)) − h̃‖²`, `h̃ = h + ε`, `ε ~ N(0, σ²)`, with `f(h̃)`
//!   and `h̃` held constant: `δ = 2(g − h̃) ⊙ s'(g)`, `∂/∂V = im2col(δ) h_colᵀ`,
//!   `∂/∂c_c = Σ_{y,x} δ_{c,y,x}`.

use crate::activation::Activation;
use crate::conv_shape::ConvShape;
use crate::dense::{Dense, FixedDense, add_column_sums};
use crate::error::ConfigError;
use crate::kernel::Kernel;
use crate::mat::{OMat, zeros};
use crate::noise::add_gaussian_to;
use nalgebra::{Const, U1};
use rand_core::Rng;

/// A fixed-size column vector of `N` values (one sample).
pub type Column<const N: usize> = OMat<Const<N>, U1>;

/// The scratch of one convolution: one sample's patches and its channel-major product.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvScratch<const CO: usize, const KK: usize, const P: usize> {
    /// `K × P`: patches (`im2col`), or the `col2im` input of the transposed convolution.
    pub cols: OMat<Const<KK>, Const<P>>,
    /// `C' × P`: the product, or its gradient.
    pub z: OMat<Const<CO>, Const<P>>,
}

impl<const CO: usize, const KK: usize, const P: usize> ConvScratch<CO, KK, P> {
    /// All zero.
    pub const ZERO: Self = ConvScratch {
        cols: zeros(),
        z: zeros(),
    };
}

/// Checks that the const sizes `(X, Y, C', K, P)` are those of `shape`.
fn check_sizes(
    shape: &ConvShape,
    x: usize,
    y: usize,
    co: usize,
    kk: usize,
    p: usize,
) -> Result<(), ConfigError> {
    shape.check()?;
    let expected = [
        shape.inputs(),
        shape.outputs(),
        shape.channels_out,
        shape.patch(),
        shape.positions(),
    ];
    if expected != [x, y, co, kk, p] {
        return Err(ConfigError::OutOfRange {
            name: "conv sizes",
            value: x as f32,
            allowed: "the const sizes X = C·H·W, Y = C'·P, C', K = C·k·k, P of the shape",
        });
    }
    Ok(())
}

/// A convolution of `X = C·H·W` inputs into `Y = C'·P` outputs, with its weights `W`
/// (`C' × K`) and bias `b` (`C'`) as a [`FixedDense`] (so the optimisers and the tensor
/// visitor treat it as any dense layer).
#[derive(Clone, Debug, PartialEq)]
pub struct FixedConv<
    const X: usize,
    const Y: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
> {
    /// The geometry.
    pub shape: ConvShape,
    /// `W` (`C' × K`) and `b` (`C'`).
    pub params: FixedDense<CO, KK>,
}

impl<const X: usize, const Y: usize, const CO: usize, const KK: usize, const P: usize>
    FixedConv<X, Y, CO, KK, P>
{
    /// A zero convolution of geometry `shape`; an error if `shape` is invalid or its sizes
    /// are not `X`, `Y`, `C'`, `K`, `P`.
    pub fn new(shape: ConvShape) -> Result<Self, ConfigError> {
        check_sizes(&shape, X, Y, CO, KK, P)?;
        Ok(FixedConv {
            shape,
            params: Dense::ZERO,
        })
    }

    /// `out = s(to_sample(W im2col(x) + b 1ᵀ))`: the convolution of one sample.
    ///
    /// # Shapes
    /// `x`: `X`; `out`: `Y`; `scratch.cols` receives `im2col(x)` (`K × P`), `scratch.z` the
    /// product (`C' × P`).
    pub fn forward<K: Kernel>(
        &self,
        activation: Activation,
        x: &Column<X>,
        out: &mut Column<Y>,
        scratch: &mut ConvScratch<CO, KK, P>,
    ) {
        let shape = &self.shape;
        shape.im2col_sample(x.as_slice(), scratch.cols.as_mut_slice());
        K::gemm_bias(
            &mut scratch.z,
            &self.params.w,
            &scratch.cols,
            self.params.b.as_slice(),
        );
        shape.to_sample(scratch.z.as_slice(), out.as_mut_slice());
        activation.apply_slice(out.as_mut_slice());
    }

    /// The parameter gradient of `Σ δ ⊙ (W im2col(x) + b)` from `δ` at the pre-activation:
    /// `∂/∂W = δ_Z im2col(x)ᵀ`, `∂/∂b = Σ_p δ_Z` (`δ_Z` = `δ` as `C' × P`), into `grad`.
    ///
    /// # Shapes
    /// `x`: `X`; `delta`: `Y`; `grad`: `C' × K` and `C'`.
    pub fn gradient_from_delta<K: Kernel>(
        &self,
        x: &Column<X>,
        delta: &Column<Y>,
        grad: &mut FixedDense<CO, KK>,
        scratch: &mut ConvScratch<CO, KK, P>,
    ) {
        let shape = &self.shape;
        shape.im2col_sample(x.as_slice(), scratch.cols.as_mut_slice());
        shape.from_sample(delta.as_slice(), scratch.z.as_mut_slice());
        K::gemm_nt(&mut grad.w, 1.0, &scratch.z, &scratch.cols, 0.0);
        let b = grad.b.as_mut_slice();
        b.fill(0.0);
        add_column_sums(b, scratch.z.as_slice());
    }

    /// **Step 5 for a convolution** — the gradient of the layer loss
    /// `ℓ = ‖y − ŷ‖²`, `y = s(f(x))` the layer's output for input `x`, towards its target
    /// `ŷ` with `x` and `ŷ` held constant: `δ = 2(y − ŷ) ⊙ s'(y)` into `delta`, then
    /// [`gradient_from_delta`](Self::gradient_from_delta). Returns `ℓ` (Lee et al. 2015,
    /// arXiv:1412.7525, Eq. 15).
    ///
    /// # Shapes
    /// `x`: `X`; `y`, `target`, `delta`: `Y`; `grad`: `C' × K` and `C'`.
    #[allow(clippy::too_many_arguments)]
    pub fn local_gradient<K: Kernel>(
        &self,
        activation: Activation,
        x: &Column<X>,
        y: &Column<Y>,
        target: &Column<Y>,
        delta: &mut Column<Y>,
        grad: &mut FixedDense<CO, KK>,
        scratch: &mut ConvScratch<CO, KK, P>,
    ) -> f32 {
        let loss = Dense::<Const<Y>, Const<X>>::local_delta_over(activation, y, target, delta, 1.0);
        self.gradient_from_delta::<K>(x, delta, grad, scratch);
        loss
    }
}

/// The learned inverse of a [`FixedConv`]: a transposed convolution from its `Y = C'·P`
/// outputs back to its `X = C·H·W` inputs, with weights `V` (`K × C'`) and a bias `c` per
/// input channel (`C`).
#[derive(Clone, Debug, PartialEq)]
pub struct FixedConvTranspose<
    const X: usize,
    const Y: usize,
    const C: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
> {
    /// The geometry of the convolution it inverts.
    pub shape: ConvShape,
    /// `V`, `K × C'`.
    pub v: OMat<Const<KK>, Const<CO>>,
    /// `c`, one per input channel.
    pub c: Column<C>,
}

impl<
    const X: usize,
    const Y: usize,
    const C: usize,
    const CO: usize,
    const KK: usize,
    const P: usize,
> FixedConvTranspose<X, Y, C, CO, KK, P>
{
    /// A zero transposed convolution inverting a convolution of geometry `shape`; an error if
    /// `shape` is invalid or its sizes are not `X`, `Y`, `C`, `C'`, `K`, `P`.
    pub fn new(shape: ConvShape) -> Result<Self, ConfigError> {
        check_sizes(&shape, X, Y, CO, KK, P)?;
        if shape.channels_in != C {
            return Err(ConfigError::OutOfRange {
                name: "conv sizes",
                value: C as f32,
                allowed: "the const C = the shape's input channels",
            });
        }
        Ok(FixedConvTranspose {
            shape,
            v: zeros(),
            c: zeros(),
        })
    }

    /// `out = s(col2im(V h_col) + c)`: the transposed convolution of one sample, `c` added
    /// to every position of its channel.
    ///
    /// # Shapes
    /// `h`: `Y`; `out`: `X`; `scratch.z` receives `h_col` (`C' × P`), `scratch.cols` the
    /// product `V h_col` (`K × P`).
    pub fn forward<K: Kernel>(
        &self,
        activation: Activation,
        h: &Column<Y>,
        out: &mut Column<X>,
        scratch: &mut ConvScratch<CO, KK, P>,
    ) {
        let shape = &self.shape;
        shape.from_sample(h.as_slice(), scratch.z.as_mut_slice());
        K::gemm(&mut scratch.cols, 1.0, &self.v, &scratch.z, 0.0);
        out.fill(0.0);
        shape.col2im_sample(scratch.cols.as_slice(), out.as_mut_slice());
        let plane = (shape.height * shape.width).max(1);
        for (channel, &c) in out.as_mut_slice().chunks_exact_mut(plane).zip(&self.c) {
            channel.iter_mut().for_each(|v| *v += c);
        }
        activation.apply_slice(out.as_mut_slice());
    }

    /// The parameter gradient of `Σ δ ⊙ (col2im(V h_col) + c)` from `δ` at the
    /// pre-activation: `∂/∂V = im2col(δ) h_colᵀ`, `∂/∂c_c = Σ_{y,x} δ_{c,y,x}`, into `grad`.
    ///
    /// # Shapes
    /// `h`: `Y`; `delta`: `X`; `grad`: `K × C'` and `C`.
    pub fn gradient_from_delta<K: Kernel>(
        &self,
        h: &Column<Y>,
        delta: &Column<X>,
        grad: &mut Self,
        scratch: &mut ConvScratch<CO, KK, P>,
    ) {
        let shape = &self.shape;
        shape.im2col_sample(delta.as_slice(), scratch.cols.as_mut_slice());
        shape.from_sample(h.as_slice(), scratch.z.as_mut_slice());
        K::gemm_nt(&mut grad.v, 1.0, &scratch.cols, &scratch.z, 0.0);
        let plane = (shape.height * shape.width).max(1);
        let planes = delta.as_slice().chunks_exact(plane);
        for (c, channel) in grad.c.iter_mut().zip(planes) {
            *c = channel.iter().sum::<f32>();
        }
    }

    /// **Step 4 for a convolution** — the gradient of the reconstruction loss
    /// `ℓ = ‖g(f(h̃)) − h̃‖²`, `h̃ = h + ε`, `ε ~ N(0, σ²)` (drawn from `rng`, unit by unit),
    /// with `f(h̃)` and `h̃` held constant: `δ = 2(g − h̃) ⊙ s'(g)`, then
    /// [`gradient_from_delta`](Self::gradient_from_delta) at input `f(h̃)`. Returns `ℓ`
    /// (Lee et al. 2015, arXiv:1412.7525, Eq. 13). `forward_act` is `f`'s activation,
    /// `inverse_act` `g`'s.
    ///
    /// # Shapes
    /// `h`: `X` (the convolution's input); `grad`: `K × C'` and `C`.
    #[allow(clippy::too_many_arguments)]
    pub fn reconstruction_gradient<K: Kernel, G: Rng + ?Sized>(
        &self,
        f: &FixedConv<X, Y, CO, KK, P>,
        forward_act: Activation,
        inverse_act: Activation,
        h: &Column<X>,
        sigma: f32,
        rng: &mut G,
        grad: &mut Self,
        scratch: &mut ConvScratch<CO, KK, P>,
    ) -> f32 {
        let mut corrupt: Column<X> = zeros();
        add_gaussian_to(corrupt.as_mut_slice(), h.as_slice(), sigma, rng);
        let mut f_out: Column<Y> = zeros();
        f.forward::<K>(forward_act, &corrupt, &mut f_out, scratch);
        let mut g_out: Column<X> = zeros();
        self.forward::<K>(inverse_act, &f_out, &mut g_out, scratch);
        let mut delta: Column<X> = zeros();
        let loss = Dense::<Const<X>, Const<Y>>::local_delta_over(
            inverse_act,
            &g_out,
            &corrupt,
            &mut delta,
            1.0,
        );
        self.gradient_from_delta::<K>(&f_out, &delta, grad, scratch);
        loss
    }
}
