//! Convolutional layers and a network of convolutions followed by dense layers, trained by
//! DTP (an executor of [`Steps`]) or by backprop. Feature `alloc`:
//! every size is chosen at run time.
//!
//! # Shapes and symbols
//! `B` = batch, `C`/`H`/`W` = input channels, height, width, `C'` = output channels,
//! `k` = kernel side, `s` = stride, `p` = zero padding, `H' = (H + 2p − k)/s + 1` (likewise
//! `W'`), `P = H'·W'` output positions, `K = C·k·k` values in one patch.
//!
//! A sample is a column of `C·H·W` values, channel-major then row-major: value `(c, y, x)` is
//! element `c·H·W + y·W + x`, so a minibatch is `(C·H·W) × B` like every other activation of
//! the crate, and a dense layer reads a convolution's output as its flattened vector.
//!
//! # The convolution as a product
//! `im2col` lays out every patch of the minibatch as a column: `X_col` is `K × (B·P)`, row
//! `(c·k + ky)·k + kx` of column `b·P + y'·W' + x'` holding input `(c, y'·s + ky − p,
//! x'·s + kx − p)` of sample `b` (zero outside the image). The convolution with weights `W`
//! (`C' × K`) and bias `b` (`C'`, shared by every position) is then one GEMM through the
//! crate's [`Kernel`]:
//!
//! `Z = W X_col + b 1ᵀ` (`C' × (B·P)`), `y = s(Z)`, read back as `(C'·P) × B`.
//!
//! Its adjoint `col2im` sums each column of a `K × (B·P)` matrix back into the image
//! positions it was read from. Gradients: `∂/∂W = δ_Z X_colᵀ`, `∂/∂b = Σ_{b,p} δ_Z`,
//! `∂/∂x = col2im(Wᵀ δ_Z)`.
//!
//! # The learned inverse: a transposed convolution with its own weights
//! As Bartunov et al. 2018 (NeurIPS, "Assessing the scalability of biologically-motivated
//! deep learning algorithms and architectures") did, the inverse `g_i` of a convolution
//! `f_i` is a transposed convolution with weights `V` (`K × C'`, not `Wᵀ`: learned) and a bias
//! `c` per input channel (`C`):
//!
//! `g(h) = s(col2im(V h_col) + c)`, `h_col` = `h` as `C' × (B·P)`.
//!
//! With `V = Wᵀ` and no bias or activation it is exactly the adjoint of the convolution
//! (the "flipped kernel" of the textbook form lives in `col2im`). Gradients of a loss with
//! `δ` on its output (`(C·H·W) × B`): `∂/∂V = im2col(δ) h_colᵀ`, `∂/∂c = Σ_{b,y,x} δ`.
//! It trains on the same noisy reconstruction loss as a dense inverse.
//!
//! # Locally connected layers
//! [`Kind::Local`] has a convolution's geometry without weight sharing: every output position
//! `q` has its own weights `W_q` (`C' × K`) and every output unit its own bias, so a position
//! is one product `W_q X_q` of its `K × B` patches; its learned inverse
//! ([`Kind::LocalTranspose`]) is the transpose with its own weights `V_q` (`K × C'`) and a bias
//! per input unit. The equations and the storage are in the `local` submodule's documentation.
//!
//! # The network
//! [`ConvNet`]: forward layers `f_1 … f_M` ([`Layer`]s: convolutions or locally connected
//! layers, then dense layers; the
//! output layer `f_M` dense), inverses `g_2 … g_{M-1}` (a transposed convolution for a
//! convolution, a locally connected transpose for a locally connected layer, a dense layer for
//! a dense one). [`ConvTrainer`] runs DTP's five steps on it
//! with the equations of [`Trainer`](crate::Trainer)'s methods of the same names, and
//! [`ConvTrainer::backprop_step`] the exact gradient of `L`. Continuous units only (every
//! quantiser the identity).

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub mod parallel;

mod local;

use alloc::vec::Vec;

use nalgebra::{Dyn, U1};
use rand_core::Rng;

use crate::Activation;
use crate::config::{Config, Feedback, FeedbackPasses, Init};
use crate::dense::{Dense, add_column_sums};
use crate::direct::{self, Direct, DirectState, Maps};
use crate::error::{ConfigError, Error, Stage, check_finite};
use crate::gradient::apply_buffer;
use crate::init::fill;
use crate::kernel::{Kernel, Portable};
use crate::loss::{correct, loss_over, output_activation, output_delta_over};
use crate::mat::OMat;
use crate::noise::{add_gaussian, add_gaussian_to};
use crate::optim::{DenseState, Moments};
use crate::step::{self, Pass, Steps};
use crate::tensors::{Name, Tensors, Visit, VisitMut};
use crate::trainer::{Batches, EpochStats, StepStats};

/// A run-time-sized matrix: activations (`units × B`) and scratch.
pub type DMat = OMat<Dyn, Dyn>;

/// Where DDTP's feedback gradients go: `sink(k, L_{k+1}, ∂L_{k+1}/∂(Q_{k+1}, c_{k+1}))`.
type DirectSink<'s> =
    dyn FnMut(usize, f32, crate::outer::Outer<'_, Dyn, Dyn, Dyn>) -> Result<(), Error> + 's;

/// The parameters of every layer of this module: weights and a bias, as a [`Dense`] (its
/// optimiser state is a [`DenseState`], its tensors are visited as `weight` and `bias`).
pub type Params = Dense<Dyn, Dyn>;

fn dmat(rows: usize, cols: usize) -> DMat {
    DMat::zeros_generic(Dyn(rows), Dyn(cols))
}

pub use crate::conv_shape::ConvShape;

/// The batched forms of [`ConvShape`]'s one-sample index arithmetic (its `*_sample`
/// methods, shared with the fixed-size [`FixedConv`](crate::fixed_conv::FixedConv)),
/// sample by sample.
impl ConvShape {
    /// `im2col`: every patch of the minibatch `x` (`(C·H·W) × B`) as a column of `cols`
    /// (`K × (B·P)`, resized): row `(c·k + ky)·k + kx` of column `b·P + y'·W' + x'` is input
    /// `(c, y'·s + ky − p, x'·s + kx − p)` of sample `b`, or 0 outside the image
    /// ([`im2col_sample`](Self::im2col_sample) on each sample).
    pub fn im2col(&self, x: &DMat, cols: &mut DMat) {
        let (batch, patch, positions) = (x.ncols(), self.patch(), self.positions());
        resize(cols, patch, batch * positions);
        let per_sample = (patch * positions).max(1);
        let samples = x.as_slice().chunks_exact(self.inputs().max(1));
        for (sample, c) in samples.zip(cols.as_mut_slice().chunks_exact_mut(per_sample)) {
            self.im2col_sample(sample, c);
        }
    }

    /// `col2im`, the adjoint of [`im2col`](Self::im2col): `x` (`(C·H·W) × batch`, resized)
    /// receives, at each input position, the sum of the entries of `cols` (`K × (B·P)`) that
    /// `im2col` would have read from it ([`col2im_sample`](Self::col2im_sample) on each
    /// sample).
    pub fn col2im(&self, cols: &DMat, batch: usize, x: &mut DMat) {
        let (patch, positions) = (self.patch(), self.positions());
        resize(x, self.inputs(), batch);
        x.fill(0.0);
        let per_sample = (patch * positions).max(1);
        let samples = x.as_mut_slice().chunks_exact_mut(self.inputs().max(1));
        for (sample, c) in samples.zip(cols.as_slice().chunks_exact(per_sample)) {
            self.col2im_sample(c, sample);
        }
    }

    /// A channel-major product `z` (`C' × (B·P)`) as samples `y` (`(C'·P) × B`, resized):
    /// `y[c·P + q, b] = z[c, b·P + q]` ([`to_sample`](Self::to_sample) on each sample).
    pub fn to_samples(&self, z: &DMat, y: &mut DMat) {
        let (c_out, positions) = (self.channels_out, self.positions());
        let batch = z.ncols() / positions.max(1);
        resize(y, self.outputs(), batch);
        let per_sample = (c_out * positions).max(1);
        let zs = z.as_slice().chunks_exact(per_sample);
        for (zc, yc) in zs.zip(y.as_mut_slice().chunks_exact_mut(per_sample)) {
            self.to_sample(zc, yc);
        }
    }

    /// The inverse of [`to_samples`](Self::to_samples): samples `y` (`(C'·P) × B`) as the
    /// channel-major `z` (`C' × (B·P)`, resized) ([`from_sample`](Self::from_sample) on each
    /// sample).
    pub fn from_samples(&self, y: &DMat, z: &mut DMat) {
        let (c_out, positions) = (self.channels_out, self.positions());
        resize(z, c_out, y.ncols() * positions);
        let per_sample = (c_out * positions).max(1);
        let ys = y.as_slice().chunks_exact(per_sample);
        for (yc, zc) in ys.zip(z.as_mut_slice().chunks_exact_mut(per_sample)) {
            self.from_sample(yc, zc);
        }
    }
}

/// Resizes `m` to `rows × cols` (its contents then unspecified), reallocating only if its
/// length changes.
fn resize(m: &mut DMat, rows: usize, cols: usize) {
    if m.shape() != (rows, cols) {
        if m.len() == rows * cols {
            let data = core::mem::replace(m, dmat(0, 0));
            *m = data.reshape_generic(Dyn(rows), Dyn(cols));
        } else {
            *m = dmat(rows, cols);
        }
    }
}

/// What a [`Layer`] computes with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A dense layer `y = s(W x + b)`: `W` is `outputs × inputs`.
    Dense,
    /// A convolution of this geometry: `W` is `C' × K`, `b` is `C'`.
    Conv(ConvShape),
    /// The transposed convolution of this (forward) geometry, from its `C'·P` outputs back
    /// to its `C·H·W` inputs: `V` is `K × C'`, `c` is `C`.
    ConvTranspose(ConvShape),
    /// A locally connected layer of this geometry (a convolution without weight sharing):
    /// `W` is `C' × (P·K)`, position `q`'s weights `W_q` its columns `q·K …`; `b` has a value
    /// per output unit (`C'·P`). See the `local` module's equations in [`Layer::forward`].
    Local(ConvShape),
    /// The transpose of a locally connected layer of this (forward) geometry, from its `C'·P`
    /// outputs back to its `C·H·W` inputs: `V` is `K × (P·C')` (blocks `V_q`, `K × C'`), `c`
    /// has a value per input unit (`C·H·W`).
    LocalTranspose(ConvShape),
}

/// One layer: an affine map (dense, convolution or transposed convolution) with its
/// parameters, followed by an activation.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The map.
    pub kind: Kind,
    /// Its weights and bias (shapes: see [`Kind`]).
    pub params: Params,
}

/// Scratch of one convolution (reused between calls).
#[derive(Default)]
struct Scratch {
    /// `K × (B·P)`: patches.
    cols: Option<DMat>,
    /// `C' × (B·P)`: the channel-major product or its gradient.
    z: Option<DMat>,
}

impl Scratch {
    fn take(&mut self) -> (DMat, DMat) {
        let cols = self.cols.take().unwrap_or_else(|| dmat(0, 0));
        let z = self.z.take().unwrap_or_else(|| dmat(0, 0));
        (cols, z)
    }
    fn give(&mut self, cols: DMat, z: DMat) {
        self.cols = Some(cols);
        self.z = Some(z);
    }
}

impl Layer {
    /// A zero dense layer of `outputs × inputs`.
    pub fn dense(outputs: usize, inputs: usize) -> Self {
        Layer {
            kind: Kind::Dense,
            params: Dense::zeros_generic(Dyn(outputs), Dyn(inputs)),
        }
    }

    /// A zero convolution of geometry `shape`.
    pub fn conv(shape: ConvShape) -> Self {
        Layer {
            kind: Kind::Conv(shape),
            params: Dense::zeros_generic(Dyn(shape.channels_out), Dyn(shape.patch())),
        }
    }

    /// A zero transposed convolution inverting a convolution of geometry `shape`. Its `W` is
    /// `K × C'` and its bias has `C` values (see [`Kind::ConvTranspose`]).
    pub fn conv_transpose(shape: ConvShape) -> Self {
        let mut params = Dense::zeros_generic(Dyn(shape.patch()), Dyn(shape.channels_out));
        params.b = OMat::zeros_generic(Dyn(shape.channels_in), U1);
        Layer {
            kind: Kind::ConvTranspose(shape),
            params,
        }
    }

    /// A zero locally connected layer of geometry `shape` (see [`Kind::Local`]).
    pub fn local(shape: ConvShape) -> Self {
        Layer {
            kind: Kind::Local(shape),
            params: local::params(shape),
        }
    }

    /// A zero transpose of a locally connected layer of geometry `shape` (see
    /// [`Kind::LocalTranspose`]).
    pub fn local_transpose(shape: ConvShape) -> Self {
        Layer {
            kind: Kind::LocalTranspose(shape),
            params: local::transpose_params(shape),
        }
    }

    /// The learned inverse of this forward layer: a transposed convolution for a
    /// convolution, the transpose of a locally connected layer for one, a dense layer
    /// `outputs → inputs` for a dense layer (zero parameters).
    pub fn inverse(&self) -> Self {
        match self.kind {
            Kind::Dense => Layer::dense(self.inputs(), self.outputs()),
            Kind::Conv(shape) => Layer::conv_transpose(shape),
            Kind::ConvTranspose(shape) => Layer::conv(shape),
            Kind::Local(shape) => Layer::local_transpose(shape),
            Kind::LocalTranspose(shape) => Layer::local(shape),
        }
    }

    /// Values of one input sample.
    pub fn inputs(&self) -> usize {
        match self.kind {
            Kind::Dense => self.params.inputs(),
            Kind::Conv(s) | Kind::Local(s) => s.inputs(),
            Kind::ConvTranspose(s) | Kind::LocalTranspose(s) => s.outputs(),
        }
    }

    /// Values of one output sample.
    pub fn outputs(&self) -> usize {
        match self.kind {
            Kind::Dense => self.params.outputs(),
            Kind::Conv(s) | Kind::Local(s) => s.outputs(),
            Kind::ConvTranspose(s) | Kind::LocalTranspose(s) => s.inputs(),
        }
    }

    /// Initialises the weights by `init` (random orthogonal or scaled uniform, on the
    /// matrix as stored; a locally connected layer's position by position, each `W_q` or
    /// `V_q` as if it were a layer of its own) and zeroes the bias.
    pub fn initialise<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        match self.kind {
            Kind::Local(s) => {
                local::initialise(&mut self.params, s.channels_out, s.patch(), init, rng)
            }
            Kind::LocalTranspose(s) => {
                local::initialise(&mut self.params, s.patch(), s.channels_out, init, rng)
            }
            _ => {
                fill(init, &mut self.params.w, rng);
                self.params.b.fill(0.0);
            }
        }
    }

    /// `out = s(A x + bias)` for a minibatch `x` (`inputs × B`; `out` resized to
    /// `outputs × B`), `A` the layer's linear map:
    /// - dense: `W x + b` ([`Dense::forward`]);
    /// - convolution: `to_samples(W im2col(x) + b 1ᵀ)`;
    /// - transposed convolution: `col2im(V x_col) + c` (`c` added to every position of its
    ///   channel);
    /// - locally connected: `W_q X_q + b` at each position `q` (`X_q` its patches, `b` a value
    ///   per unit);
    /// - its transpose: `col2im([V_q x_q]_q) + c` (`c` a value per unit).
    pub fn forward<K: Kernel>(&self, activation: Activation, x: &DMat, out: &mut DMat) {
        let mut scratch = Scratch::default();
        self.forward_with::<K>(activation, x, out, &mut scratch);
    }

    fn forward_with<K: Kernel>(
        &self,
        activation: Activation,
        x: &DMat,
        out: &mut DMat,
        scratch: &mut Scratch,
    ) {
        let (w, bias) = (&self.params.w, self.params.b.as_slice());
        match self.kind {
            Kind::Dense => {
                resize(out, self.outputs(), x.ncols());
                self.params.forward::<K, Dyn>(activation, x, out);
                return;
            }
            Kind::Conv(shape) => {
                let (mut cols, mut z) = scratch.take();
                shape.im2col(x, &mut cols);
                resize(&mut z, shape.channels_out, cols.ncols());
                K::gemm_bias(&mut z, w, &cols, bias);
                shape.to_samples(&z, out);
                scratch.give(cols, z);
            }
            Kind::ConvTranspose(shape) => {
                let (mut cols, mut z) = scratch.take();
                shape.from_samples(x, &mut z);
                resize(&mut cols, shape.patch(), z.ncols());
                K::gemm(&mut cols, 1.0, w, &z, 0.0);
                shape.col2im(&cols, x.ncols(), out);
                let plane = shape.height * shape.width;
                for sample in out.as_mut_slice().chunks_exact_mut(shape.inputs()) {
                    for (channel, &c) in sample.chunks_exact_mut(plane).zip(bias) {
                        channel.iter_mut().for_each(|v| *v += c);
                    }
                }
                scratch.give(cols, z);
            }
            Kind::Local(shape) => {
                return local::forward::<K>(shape, &self.params, activation, x, out, scratch);
            }
            Kind::LocalTranspose(shape) => {
                let p = &self.params;
                return local::transpose_forward::<K>(shape, p, activation, x, out, scratch);
            }
        }
        activation.apply_slice(out.as_mut_slice());
    }

    /// The parameter gradient of `Σ δ ⊙ (A x + bias)`, `δ` the gradient at the
    /// pre-activation (`outputs × B`), into `grad` (this layer's shapes):
    /// - dense: `∂/∂W = δ xᵀ`, `∂/∂b = Σ_b δ_b`;
    /// - convolution: `∂/∂W = δ_Z im2col(x)ᵀ`, `∂/∂b = Σ_{b,p} δ_Z` (`δ_Z` = `δ` channel-major);
    /// - transposed convolution: `∂/∂V = im2col(δ) x_colᵀ`, `∂/∂c_c = Σ_{b,y,x} δ_{c,y,x}`;
    /// - locally connected: `∂/∂W_q = δ_q X_qᵀ`, `∂/∂b = Σ_b δ_b`;
    /// - its transpose: `∂/∂V_q = im2col(δ)_q x_qᵀ`, `∂/∂c = Σ_b δ_b`.
    pub fn gradient_from_delta<K: Kernel>(&self, x: &DMat, delta: &DMat, grad: &mut Params) {
        let mut scratch = Scratch::default();
        self.gradient_with::<K>(x, delta, grad, &mut scratch);
    }

    fn gradient_with<K: Kernel>(
        &self,
        x: &DMat,
        delta: &DMat,
        grad: &mut Params,
        scratch: &mut Scratch,
    ) {
        match self.kind {
            Kind::Dense => Dense::gradient_from_delta::<K, Dyn>(x, delta, grad),
            Kind::Conv(shape) => {
                let (mut cols, mut dz) = scratch.take();
                shape.im2col(x, &mut cols);
                shape.from_samples(delta, &mut dz);
                K::gemm_nt(&mut grad.w, 1.0, &dz, &cols, 0.0);
                let b = grad.b.as_mut_slice();
                b.fill(0.0);
                add_column_sums(b, dz.as_slice());
                scratch.give(cols, dz);
            }
            Kind::ConvTranspose(shape) => {
                let (mut cols, mut z) = scratch.take();
                shape.im2col(delta, &mut cols);
                shape.from_samples(x, &mut z);
                K::gemm_nt(&mut grad.w, 1.0, &cols, &z, 0.0);
                let b = grad.b.as_mut_slice();
                b.fill(0.0);
                let plane = shape.height * shape.width;
                for sample in delta.as_slice().chunks_exact(shape.inputs()) {
                    for (channel, c) in sample.chunks_exact(plane).zip(b.iter_mut()) {
                        *c += channel.iter().sum::<f32>();
                    }
                }
                scratch.give(cols, z);
            }
            Kind::Local(shape) => local::gradient::<K>(shape, x, delta, grad, scratch),
            Kind::LocalTranspose(shape) => {
                local::transpose_gradient::<K>(shape, x, delta, grad, scratch)
            }
        }
    }

    /// The input gradient `dx = Aᵀ δ` (`inputs × B`, resized) of `Σ δ ⊙ (A x + bias)`:
    /// dense `Wᵀ δ`; convolution `col2im(Wᵀ δ_Z)`; transposed convolution
    /// `to_samples(Vᵀ im2col(δ))`; locally connected `col2im([W_qᵀ δ_q]_q)`; its transpose
    /// `V_qᵀ im2col(δ)_q` at each position.
    pub fn input_gradient<K: Kernel>(&self, delta: &DMat, dx: &mut DMat) {
        let w = &self.params.w;
        match self.kind {
            Kind::Dense => {
                resize(dx, self.inputs(), delta.ncols());
                K::gemm_tn(dx, 1.0, w, delta, 0.0);
            }
            Kind::Conv(shape) => {
                let mut dz = dmat(0, 0);
                shape.from_samples(delta, &mut dz);
                let mut cols = dmat(shape.patch(), dz.ncols());
                K::gemm_tn(&mut cols, 1.0, w, &dz, 0.0);
                shape.col2im(&cols, delta.ncols(), dx);
            }
            Kind::ConvTranspose(shape) => {
                let mut cols = dmat(0, 0);
                shape.im2col(delta, &mut cols);
                let mut z = dmat(shape.channels_out, cols.ncols());
                K::gemm_tn(&mut z, 1.0, w, &cols, 0.0);
                shape.to_samples(&z, dx);
            }
            Kind::Local(shape) => local::input_gradient::<K>(shape, &self.params, delta, dx),
            Kind::LocalTranspose(shape) => {
                local::transpose_input_gradient::<K>(shape, &self.params, delta, dx)
            }
        }
    }
}

/// One forward layer of a [`ConvNet`]'s description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerSpec {
    /// A convolution (`c{channels}k{kernel}s{stride}p{padding}` in `--layers`).
    Conv {
        /// Output channels `C'`.
        channels: usize,
        /// Kernel side `k`.
        kernel: usize,
        /// Stride `s`.
        stride: usize,
        /// Zero padding `p`.
        padding: usize,
    },
    /// A locally connected layer: a convolution's geometry without weight sharing
    /// (`l{channels}k{kernel}s{stride}p{padding}` in `--layers`; [`Kind::Local`]).
    Local {
        /// Output channels `C'` (maps per position).
        channels: usize,
        /// Kernel side `k`.
        kernel: usize,
        /// Stride `s`.
        stride: usize,
        /// Zero padding `p`.
        padding: usize,
    },
    /// A dense layer of this many units.
    Dense(usize),
}

/// A convolution's `(channels, kernel, stride, padding)`.
type Geometry = (usize, usize, usize, usize);

impl LayerSpec {
    /// The geometry `(channels, kernel, stride, padding)` and whether the weights are shared,
    /// for a convolution or a locally connected layer; `Err(units)` for a dense layer.
    fn geometry(&self) -> Result<(Geometry, bool), usize> {
        match *self {
            LayerSpec::Conv {
                channels,
                kernel,
                stride,
                padding,
            } => Ok(((channels, kernel, stride, padding), true)),
            LayerSpec::Local {
                channels,
                kernel,
                stride,
                padding,
            } => Ok(((channels, kernel, stride, padding), false)),
            LayerSpec::Dense(units) => Err(units),
        }
    }
}

/// A network of convolutions followed by dense layers, with the learned inverses DTP needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvNet {
    /// Input geometry `(C, H, W)`.
    pub input: (usize, usize, usize),
    /// Forward layers `f_1 … f_M` (`[i − 1]` is `f_i`; `f_M`, the output layer, is dense).
    pub forward: Vec<Layer>,
    /// Inverses `g_2 … g_{M-1}` (`[i − 2]` is `g_i`, mapping layer `i` back to layer `i − 1`).
    pub inverse: Vec<Layer>,
    /// DDTP's feedback weights `Q_1 … Q_{M-1}` from the output to each hidden layer (read as
    /// its flattened `C'·H'·W'` units), when the trainer's rule is DDTP
    /// ([`Direct`]); `None` otherwise.
    pub direct: Option<Direct>,
}

impl ConvNet {
    /// A zero network on `C × H × W` inputs with the forward layers `layers` (at least two:
    /// one hidden layer and the output layer, which must be dense; convolutions only before
    /// the first dense layer). Parameters are zero: see [`initialise`](Self::initialise).
    pub fn new(input: (usize, usize, usize), layers: &[LayerSpec]) -> Result<Self, ConfigError> {
        if layers.len() < 2 {
            return Err(ConfigError::TooShallow {
                layers: layers.len() + 1,
            });
        }
        let (mut c, mut h, mut w) = input;
        if c == 0 || h == 0 || w == 0 {
            return Err(ConfigError::ZeroWidth);
        }
        let (mut flat, mut dense_seen) = (c * h * w, false);
        let mut forward = Vec::with_capacity(layers.len());
        for spec in layers {
            match spec.geometry() {
                Err(units) => {
                    if units == 0 {
                        return Err(ConfigError::ZeroWidth);
                    }
                    dense_seen = true;
                    forward.push(Layer::dense(units, flat));
                    flat = units;
                }
                Ok(((channels, kernel, stride, padding), shared)) => {
                    if dense_seen {
                        return Err(ConfigError::OutOfRange {
                            name: "layers",
                            value: forward.len() as f32 + 1.0,
                            allowed: "convolutions before the first dense layer",
                        });
                    }
                    let shape = ConvShape {
                        channels_in: c,
                        height: h,
                        width: w,
                        channels_out: channels,
                        kernel,
                        stride,
                        padding,
                    };
                    shape.check()?;
                    (c, h, w) = (channels, shape.out_height(), shape.out_width());
                    flat = shape.outputs();
                    forward.push(if shared {
                        Layer::conv(shape)
                    } else {
                        Layer::local(shape)
                    });
                }
            }
        }
        if !dense_seen || !matches!(layers[layers.len() - 1], LayerSpec::Dense(_)) {
            return Err(ConfigError::OutOfRange {
                name: "layers",
                value: layers.len() as f32,
                allowed: "a dense output layer last",
            });
        }
        let m = forward.len();
        let inverse = forward[1..m - 1].iter().map(Layer::inverse).collect();
        Ok(ConvNet {
            input,
            forward,
            inverse,
            direct: None,
        })
    }

    /// Number of hidden layers below the top one with an inverse, `R = M − 2`.
    pub fn depth(&self) -> usize {
        self.forward.len() - 2
    }

    /// Values of one input sample, `C·H·W`.
    pub fn inputs(&self) -> usize {
        self.input.0 * self.input.1 * self.input.2
    }

    /// Number of classes (the output layer's width).
    pub fn outputs(&self) -> usize {
        self.forward[self.forward.len() - 1].outputs()
    }

    /// Widths `w_0 … w_M`: the input's `C·H·W`, then each layer's output units.
    pub fn widths(&self) -> Vec<usize> {
        let outputs = self.forward.iter().map(Layer::outputs);
        core::iter::once(self.inputs()).chain(outputs).collect()
    }

    /// Initialises every weight by `init` and zeroes every bias: the forward layers in order,
    /// then the inverses, then DDTP's feedback weights if any ([`Direct::initialise`]).
    pub fn initialise<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        for layer in self.forward.iter_mut().chain(self.inverse.iter_mut()) {
            layer.initialise(init, rng);
        }
        if let Some(d) = &mut self.direct {
            d.initialise(init, rng);
        }
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        let all = self.forward.iter().chain(&self.inverse);
        all.map(|l| &l.params).all(Dense::is_finite)
            && self.direct.as_ref().is_none_or(Direct::is_finite)
    }
}

/// The buffers of DTP's steps on `n` columns of a minibatch of `B` (`n = B` for a
/// [`ConvTrainer`]; a chunk of it for the chunk-parallel executor, [`parallel`]), and the
/// steps' arithmetic on them. Every batch mean divides by `B` (`mean_over`), not `n`: a chunk's
/// gradients are its columns' share of the minibatch's, and its targets the minibatch's.
///
/// Buffers (`[i − 1]` belongs to hidden layer `i`): `h` the activations `h_1 … h_{M-1}`
/// (`units_i × n`), `target` the targets `ĥ_1 … ĥ_{M-1}`, `p` the output, `delta_out`
/// `∂L/∂z_M`.
pub(crate) struct Work {
    x: DMat,
    t: DMat,
    h: Vec<DMat>,
    target: Vec<DMat>,
    p: DMat,
    delta_out: DMat,
    scratch: Scratch,
    /// DDTP's buffers, made on first use.
    dd: Option<alloc::boxed::Box<direct::Scratch>>,
    /// `B`, the divisor of every batch mean.
    mean_over: usize,
}

impl Work {
    /// Buffers of `columns` columns for `net`, means over `mean_over`.
    pub(crate) fn new(net: &ConvNet, columns: usize, mean_over: usize) -> Self {
        let hidden = net.forward.len() - 1;
        let col = |units: usize| dmat(units, columns);
        let per_layer = || {
            net.forward[..hidden]
                .iter()
                .map(|l| col(l.outputs()))
                .collect()
        };
        Work {
            x: col(net.inputs()),
            t: col(net.outputs()),
            h: per_layer(),
            target: per_layer(),
            p: col(net.outputs()),
            delta_out: col(net.outputs()),
            scratch: Scratch::default(),
            dd: None,
            mean_over,
        }
    }

    /// The columns held.
    pub(crate) fn columns(&self) -> usize {
        self.x.ncols()
    }

    /// Inputs and one-hot labels, writable.
    pub(crate) fn batch_mut(&mut self) -> (&mut DMat, &mut DMat) {
        (&mut self.x, &mut self.t)
    }

    /// The output of the last forward pass.
    pub(crate) fn output(&self) -> &DMat {
        &self.p
    }

    /// Step 1 ([`ConvTrainer::forward_pass`]); the loss is this buffer's share of the
    /// minibatch's.
    pub(crate) fn forward<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &ConvNet,
        config: &Config,
        training: bool,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        check_finite(self.x.as_slice(), Stage::Input, 0)?;
        check_finite(self.t.as_slice(), Stage::Labels, 0)?;
        if training {
            add_gaussian(self.x.as_mut_slice(), config.input_noise, rng);
        }
        let act = config.units.hidden;
        let m = net.forward.len();
        for i in 1..m {
            let mut out = core::mem::replace(&mut self.h[i - 1], dmat(0, 0));
            let layer = &net.forward[i - 1];
            let input = if i == 1 { &self.x } else { &self.h[i - 2] };
            layer.forward_with::<K>(act, input, &mut out, &mut self.scratch);
            self.h[i - 1] = out;
        }
        let output = &net.forward[m - 1];
        output.forward_with::<K>(
            Activation::Linear,
            &self.h[m - 2],
            &mut self.p,
            &mut self.scratch,
        );
        output_activation(config.units.output, &mut self.p);
        check_finite(self.p.as_slice(), Stage::Forward, m)?;
        let loss = loss_over(config.units.output, &self.p, &self.t, self.mean_over as f32);
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                stage: Stage::Forward,
                layer: m as u16,
            });
        }
        Ok(StepStats {
            loss,
            correct: correct(&self.p, &self.t),
        })
    }

    /// Step 4's gradient of `g_i` into `grad` ([`ConvTrainer::inverse_gradient`]) by the
    /// configured rule (DTP's reconstruction loss, or DRL's: [`drl_gradient`](Self::drl_gradient));
    /// returns this buffer's share of the loss.
    pub(crate) fn inverse_gradient<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &ConvNet,
        config: &Config,
        i: usize,
        sigma: f32,
        rng: &mut G,
        grad: &mut Params,
    ) -> f32 {
        if config.feedback == Feedback::Drl {
            return self.drl_gradient::<K, G>(net, config, i, sigma, rng, grad);
        }
        let units = config.units;
        let below = &self.h[i - 2];
        let mut corrupt = dmat(below.nrows(), below.ncols());
        add_gaussian_to(corrupt.as_mut_slice(), below.as_slice(), sigma, rng);
        let (f, g) = (&net.forward[i - 1], &net.inverse[i - 2]);
        let mut f_out = dmat(0, 0);
        f.forward_with::<K>(units.hidden, &corrupt, &mut f_out, &mut self.scratch);
        let mut g_out = dmat(0, 0);
        g.forward_with::<K>(units.inverse, &f_out, &mut g_out, &mut self.scratch);
        let mut delta = dmat(g_out.nrows(), g_out.ncols());
        let batch = self.mean_over as f32;
        let loss = Params::local_delta_over(units.inverse, &g_out, &corrupt, &mut delta, batch);
        g.gradient_with::<K>(&f_out, &delta, grad, &mut self.scratch);
        loss
    }

    /// Step 4's gradient of `g_i` by the difference reconstruction loss (DRL; Meulemans et
    /// al. 2020, as [`Trainer::drl_step`](crate::Trainer::drl_step) for dense layers): corrupt
    /// `h̃_{i-1} = h_{i-1} + ε`, carry it up to `ĥ_{M-1}` through `f_i … f_{M-1}`, back down by
    /// the difference rule through `g_{M-1} … g_{i+1}` to `ĥ_i`, and take the gradient of
    /// `L_i = (1/σ²)(1/B) Σ_b ‖h_{i-1} + g_i(ĥ_i) − g_i(h_i) − h̃_{i-1}‖²` in `(V_i, c_i)`
    /// (both terms), `ĥ_i`, `h_i` and `h̃_{i-1}` held constant: with `e` the residual,
    /// `δ_a = (2/(σ²B)) e ⊙ s'(g_i(ĥ_i))`, `δ_h = −(2/(σ²B)) e ⊙ s'(g_i(h_i))`,
    /// `∂L_i = grad(ĥ_i, δ_a) + grad(h_i, δ_h)` ([`Layer::gradient_from_delta`], summed in that
    /// order). Draws the corruption only. Returns this buffer's share of `L_i`.
    pub(crate) fn drl_gradient<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &ConvNet,
        config: &Config,
        i: usize,
        sigma: f32,
        rng: &mut G,
        grad: &mut Params,
    ) -> f32 {
        let units = config.units;
        let m = net.forward.len();
        let below = &self.h[i - 2];
        let mut corrupt = dmat(below.nrows(), below.ncols());
        add_gaussian_to(corrupt.as_mut_slice(), below.as_slice(), sigma, rng);
        // Up: ĥ_j = f_j(ĥ_{j-1}) for j = i … M−1.
        let mut up = dmat(0, 0);
        net.forward[i - 1].forward_with::<K>(units.hidden, &corrupt, &mut up, &mut self.scratch);
        for j in i + 1..m {
            let mut next = dmat(0, 0);
            net.forward[j - 1].forward_with::<K>(units.hidden, &up, &mut next, &mut self.scratch);
            up = next;
        }
        // Down: ĥ_{j-1} = h_{j-1} + g_j(ĥ_j) − g_j(h_j) for j = M−1 … i+1.
        let act = units.inverse;
        let (mut ga, mut gh) = (dmat(0, 0), dmat(0, 0));
        for j in (i + 1..m).rev() {
            let g = &net.inverse[j - 2];
            g.forward_with::<K>(act, &up, &mut ga, &mut self.scratch);
            g.forward_with::<K>(act, &self.h[j - 1], &mut gh, &mut self.scratch);
            let h = &self.h[j - 2];
            resize(&mut up, h.nrows(), h.ncols());
            for ((t, &h), (&a, &b)) in up
                .as_mut_slice()
                .iter_mut()
                .zip(h.as_slice())
                .zip(ga.as_slice().iter().zip(gh.as_slice()))
            {
                *t = h + (a - b);
            }
        }
        // The residual and both deltas (δ_a into ga, δ_h into gh).
        let g = &net.inverse[i - 2];
        g.forward_with::<K>(act, &up, &mut ga, &mut self.scratch);
        g.forward_with::<K>(act, &self.h[i - 1], &mut gh, &mut self.scratch);
        let batch = self.mean_over as f32;
        let inv_var = 1.0 / (sigma * sigma);
        let scale = 2.0 * inv_var / batch;
        let mut sum = 0.0f32;
        let residual = below.as_slice().iter().zip(corrupt.as_slice());
        for ((da, dh), (&h, &c)) in ga
            .as_mut_slice()
            .iter_mut()
            .zip(gh.as_mut_slice())
            .zip(residual)
        {
            let (a, b) = (*da, *dh);
            let e = (h + (a - b)) - c;
            sum += e * e;
            *da = scale * e * act.derivative_from_output(a);
            *dh = -scale * e * act.derivative_from_output(b);
        }
        g.gradient_with::<K>(&up, &ga, grad, &mut self.scratch);
        let mut second = Params {
            w: dmat(grad.w.nrows(), grad.w.ncols()),
            b: OMat::zeros_generic(Dyn(grad.b.nrows()), U1),
        };
        g.gradient_with::<K>(&self.h[i - 1], &gh, &mut second, &mut self.scratch);
        grad.w += &second.w;
        grad.b += &second.b;
        inv_var * sum / batch
    }

    /// Step 2 ([`ConvTrainer::top_target`]).
    pub(crate) fn top_target<K: Kernel>(
        &mut self,
        net: &ConvNet,
        config: &Config,
    ) -> Result<(), Error> {
        let r = self.h.len() - 1;
        let batch = self.mean_over as f32;
        output_delta_over(
            config.units.output,
            &self.p,
            &self.t,
            &mut self.delta_out,
            batch,
        );
        let w = &net.forward[r + 1].params.w;
        let eta = -config.eta_hat;
        K::gemm_tn_from(&mut self.target[r], eta, w, &self.delta_out, &self.h[r]);
        check_finite(self.target[r].as_slice(), Stage::Target, r + 1)
    }

    /// Step 3 ([`ConvTrainer::difference_targets`]): DTP's, or DDTP's
    /// ([`direct_targets`](Self::direct_targets)).
    pub(crate) fn difference_targets<K: Kernel>(
        &mut self,
        net: &ConvNet,
        config: &Config,
    ) -> Result<(), Error> {
        if config.feedback.is_direct() {
            return self.direct_targets::<K>(net, config);
        }
        let act = config.units.inverse;
        let (mut g_target, mut g_h) = (dmat(0, 0), dmat(0, 0));
        for i in (2..net.forward.len()).rev() {
            let g = &net.inverse[i - 2];
            g.forward_with::<K>(act, &self.target[i - 1], &mut g_target, &mut self.scratch);
            g.forward_with::<K>(act, &self.h[i - 1], &mut g_h, &mut self.scratch);
            let below = &mut self.target[i - 2];
            let pairs = g_target.as_slice().iter().zip(g_h.as_slice());
            for ((t, &h), (&gt, &gh)) in below
                .as_mut_slice()
                .iter_mut()
                .zip(self.h[i - 2].as_slice())
                .zip(pairs)
            {
                *t = h + (gt - gh);
            }
            check_finite(below.as_slice(), Stage::Target, i - 1)?;
        }
        Ok(())
    }

    /// `z_M = W_M h_{M-1} + b_M` into DDTP's buffers.
    fn output_pre_activation<K: Kernel>(&mut self, net: &ConvNet, sc: &mut direct::Scratch) {
        let output = &net.forward[net.forward.len() - 1];
        let top = &self.h[self.h.len() - 1];
        output.forward_with::<K>(Activation::Linear, top, sc.z_mut(), &mut self.scratch);
    }

    /// DDTP's step 3 (after step 2's `∂L/∂z_M`): `ẑ_M = z_M − η̂ ∂L/∂z_M`, then
    /// `ĥ_i = h_i + (g_i(ẑ_M) − g_i(z_M))` for every hidden layer, convolutional ones read as
    /// their flattened units (the equations of [`direct`]).
    pub(crate) fn direct_targets<K: Kernel>(
        &mut self,
        net: &ConvNet,
        config: &Config,
    ) -> Result<(), Error> {
        let d = net.direct.as_ref().ok_or(Error::NoFeedbackState)?;
        let mut sc = self.dd.take().unwrap_or_else(direct::Scratch::new);
        self.output_pre_activation::<K>(net, &mut sc);
        sc.output_target::<K, _>(d, config.eta_hat, &self.delta_out);
        let (r, act) = (self.h.len() - 1, d.activation(config.units));
        let result = direct::hidden_targets::<K, _, _, _, _, _, _>(
            d,
            act,
            r,
            &self.h,
            &mut self.target,
            &mut sc,
        );
        self.dd = Some(sc);
        result
    }

    /// DDTP's step 4: for each hidden layer `i = 1 … M−1` in turn, corrupt
    /// `h̃_i = h_i + ε`, carry it up to `z̃_M` through `f_{i+1} … f_M`, and hand the difference
    /// reconstruction loss of `Q_i` and its gradient to `sink(i − 1, L_i, ∂L_i/∂(Q_i, c_i))`
    /// (the equations of [`direct`]; this buffer's share of the minibatch's). Draws the
    /// corruptions only, layer by layer.
    pub(crate) fn direct_gradients<K, G, F>(
        &mut self,
        net: &ConvNet,
        config: &Config,
        sigma: f32,
        rng: &mut G,
        mut sink: F,
    ) -> Result<(), Error>
    where
        K: Kernel,
        G: Rng + ?Sized,
        F: FnMut(usize, f32, crate::outer::Outer<'_, Dyn, Dyn, Dyn>) -> Result<(), Error>,
    {
        let d = net.direct.as_ref().ok_or(Error::NoFeedbackState)?;
        let mut sc = self.dd.take().unwrap_or_else(direct::Scratch::new);
        let result =
            self.direct_gradients_in::<K, G>(net, d, config, sigma, rng, &mut sc, &mut sink);
        self.dd = Some(sc);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn direct_gradients_in<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &ConvNet,
        d: &Direct,
        config: &Config,
        sigma: f32,
        rng: &mut G,
        sc: &mut direct::Scratch,
        sink: &mut DirectSink<'_>,
    ) -> Result<(), Error> {
        let (act, hidden_act) = (d.activation(config.units), config.units.hidden);
        let batch = self.mean_over as f32;
        let m = net.forward.len();
        self.output_pre_activation::<K>(net, sc);
        sc.random_of_z::<K, _>(d);
        let (mut up, mut next) = (dmat(0, 0), dmat(0, 0));
        for k in 0..self.h.len() {
            let h = &self.h[k];
            let corrupt = sc.corrupt_mut();
            resize(corrupt, h.nrows(), h.ncols());
            add_gaussian_to(corrupt.as_mut_slice(), h.as_slice(), sigma, rng);
            // Up through f_{k+2} … f_{M-1} (forward[k + 1 ..= m − 2]), then f_M.
            resize(&mut up, h.nrows(), h.ncols());
            up.copy_from(sc.corrupt_mut());
            for layer in &net.forward[k + 1..m - 1] {
                layer.forward_with::<K>(hidden_act, &up, &mut next, &mut self.scratch);
                core::mem::swap(&mut up, &mut next);
            }
            let output = &net.forward[m - 1];
            output.forward_with::<K>(Activation::Linear, &up, sc.zt_mut(), &mut self.scratch);
            check_finite(sc.zt_mut().as_slice(), Stage::InverseGradient, k + 1)?;
            direct::layer_feedback::<K, _, _, _, _, _>(
                d, k, act, &self.h[k], sigma, batch, sc, &mut *sink,
            )?;
        }
        Ok(())
    }

    /// Step 5's gradients into `grads` (`[i − 1]`: `f_i`) and local losses into `losses`
    /// ([`ConvTrainer::local_gradients`]).
    pub(crate) fn local_gradients<K: Kernel>(
        &mut self,
        net: &ConvNet,
        config: &Config,
        grads: &mut [Params],
        losses: &mut [f32],
    ) {
        let act = config.units.hidden;
        let batch = self.mean_over as f32;
        let m = net.forward.len();
        let mut delta = dmat(0, 0);
        for i in 1..m {
            let (h, t) = (&self.h[i - 1], &self.target[i - 1]);
            resize(&mut delta, h.nrows(), h.ncols());
            losses[i - 1] = Params::local_delta_over(act, h, t, &mut delta, batch);
            let layer = &net.forward[i - 1];
            let input = if i == 1 { &self.x } else { &self.h[i - 2] };
            layer.gradient_with::<K>(input, &delta, &mut grads[i - 1], &mut self.scratch);
        }
        let output = &net.forward[m - 1];
        let grad = &mut grads[m - 1];
        output.gradient_with::<K>(&self.h[m - 2], &self.delta_out, grad, &mut self.scratch);
    }

    /// The exact gradient of `L` into `grads` ([`ConvTrainer::backprop_gradients`]).
    pub(crate) fn backprop_gradients<K: Kernel>(
        &mut self,
        net: &ConvNet,
        config: &Config,
        grads: &mut [Params],
    ) {
        let act = config.units.hidden;
        let m = net.forward.len();
        let batch = self.mean_over as f32;
        output_delta_over(
            config.units.output,
            &self.p,
            &self.t,
            &mut self.delta_out,
            batch,
        );
        let output = &net.forward[m - 1];
        let grad = &mut grads[m - 1];
        output.gradient_with::<K>(&self.h[m - 2], &self.delta_out, grad, &mut self.scratch);
        let mut dh = dmat(0, 0);
        output.input_gradient::<K>(&self.delta_out, &mut dh);
        for i in (1..m).rev() {
            for (d, &h) in dh.as_mut_slice().iter_mut().zip(self.h[i - 1].as_slice()) {
                *d *= act.derivative_from_output(h);
            }
            let layer = &net.forward[i - 1];
            let input = if i == 1 { &self.x } else { &self.h[i - 2] };
            layer.gradient_with::<K>(input, &dh, &mut grads[i - 1], &mut self.scratch);
            if i > 1 {
                let mut below = dmat(0, 0);
                layer.input_gradient::<K>(&dh, &mut below);
                dh = below;
            }
        }
    }
}

/// Zero gradients of every forward layer (`[i − 1]`: `f_i`) and of every inverse
/// (`[i − 2]`: `g_i`) of `net`.
pub(crate) fn zero_gradients(net: &ConvNet) -> (Vec<Params>, Vec<Params>) {
    let zeros = |l: &Layer| Params {
        w: dmat(l.params.w.nrows(), l.params.w.ncols()),
        b: OMat::zeros_generic(Dyn(l.params.b.nrows()), U1),
    };
    (
        net.forward.iter().map(zeros).collect(),
        net.inverse.iter().map(zeros).collect(),
    )
}

/// DTP (and backprop) on a [`ConvNet`], one minibatch of `B` samples at a time: an executor of
/// [`Steps`], driven by [`step`]'s functions. (The chunk-parallel executor of the same steps is
/// [`parallel::ConvParallel`], feature `std`.)
///
/// Its buffers (activations, targets, output: see `Work`) hold the whole minibatch.
/// Gradients of the last step are kept in [`grad_forward`](Self::grad_forward) and
/// [`grad_inverse`](Self::grad_inverse).
pub struct ConvTrainer<K: Kernel = Portable> {
    config: Config,
    /// The network.
    pub net: ConvNet,
    /// Optimiser state of the forward layers (`[i − 1]`: `f_i`; also used by backprop).
    pub forward_state: Vec<DenseState<Dyn, Dyn>>,
    /// Optimiser state of the inverses (`[i − 2]`: `g_i`).
    pub inverse_state: Vec<DenseState<Dyn, Dyn>>,
    /// Completed epochs; σ of inverse training uses epoch `epoch + 1`.
    pub epoch: u32,
    /// The last gradient of each forward layer (`[i − 1]`: `f_i`), by DTP's step 5 or backprop
    /// (of this trainer's own steps; the chunk-parallel executor keeps its chunks' own).
    pub grad_forward: Vec<Params>,
    /// The last gradient of each inverse (`[i − 2]`: `g_i`).
    pub grad_inverse: Vec<Params>,
    /// Local loss of each hidden layer at the last forward step (`[i − 1]`: layer `i`).
    pub local_loss: Vec<f32>,
    /// Reconstruction loss of each inverse at the last feedback step (`[i − 2]`: `g_i`).
    pub inverse_loss: Vec<f32>,
    /// Optimiser state, gradients and losses of DDTP's feedback weights
    /// ([`ConvNet::direct`]), when the rule is DDTP.
    pub direct_state: Option<DirectState>,
    ws: Work,
    _kernel: core::marker::PhantomData<K>,
}

impl<K: Kernel> ConvTrainer<K> {
    /// A trainer of `net` (already initialised) on minibatches of `batch`, with `config`.
    ///
    /// Supported: continuous units (every quantiser the identity), DTP feedback or fixed
    /// feedback weights, either schedule, any output; rejected otherwise with a
    /// [`ConfigError`].
    pub fn new(net: ConvNet, batch: usize, config: Config) -> Result<Self, ConfigError> {
        if batch == 0 {
            return Err(ConfigError::ZeroBatch);
        }
        Self::validate(&config)?;
        let hidden = net.forward.len() - 1;
        let state = |l: &Layer| DenseState {
            w: Moments::zeros_generic(Dyn(l.params.w.nrows()), Dyn(l.params.w.ncols())),
            b: Moments::zeros_generic(Dyn(l.params.b.nrows()), U1),
        };
        let (grad_forward, grad_inverse) = zero_gradients(&net);
        let mut t = ConvTrainer {
            config,
            forward_state: net.forward.iter().map(state).collect(),
            inverse_state: net.inverse.iter().map(state).collect(),
            epoch: 0,
            grad_forward,
            grad_inverse,
            local_loss: alloc::vec![0.0; hidden],
            inverse_loss: alloc::vec![0.0; net.inverse.len()],
            direct_state: None,
            ws: Work::new(&net, batch, batch),
            net,
            _kernel: core::marker::PhantomData,
        };
        t.shape_direct();
        Ok(t)
    }

    /// Gives the net DDTP's feedback weights (and the trainer their optimiser state) of the
    /// configured rule's shapes when it has none (all zero: load them, or call
    /// [`init`](Self::init)), or drops them for another rule.
    fn shape_direct(&mut self) {
        let rule = self.config.feedback;
        if !rule.is_direct() {
            self.net.direct = None;
            self.direct_state = None;
            return;
        }
        let widths = self.net.widths();
        if !self
            .net
            .direct
            .as_ref()
            .is_some_and(|d| d.fits(rule, &widths))
        {
            self.net.direct = Some(Direct::zeros(rule, &widths));
        }
        let direct = self.net.direct.as_ref().expect("just made");
        if !self.direct_state.as_ref().is_some_and(|s| s.fits(direct)) {
            self.direct_state = Some(DirectState::zeros_like(direct));
        }
    }

    /// Validates `config` and sets it, initialises every weight by `init` (zero biases),
    /// zeroes the optimiser states and the epoch counter.
    pub fn init<G: Rng + ?Sized>(
        &mut self,
        config: Config,
        init: Init,
        rng: &mut G,
    ) -> Result<(), ConfigError> {
        Self::validate(&config)?;
        self.config = config;
        self.shape_direct();
        self.net.initialise(init, rng);
        let states = self.forward_state.iter_mut().chain(&mut self.inverse_state);
        states.for_each(DenseState::reset);
        if let Some(s) = &mut self.direct_state {
            s.reset();
        }
        self.epoch = 0;
        Ok(())
    }

    fn validate(config: &Config) -> Result<(), ConfigError> {
        config.validate()?;
        let u = config.units;
        if !(u.between.is_identity() && u.into_output.is_identity()) {
            return Err(ConfigError::OutOfRange {
                name: "units",
                value: 0.0,
                allowed: "continuous units (identity quantisers) in a convolutional net",
            });
        }
        if !u.into_inverse.is_identity() || config.feedback == Feedback::DtpOutput {
            return Err(ConfigError::OutOfRange {
                name: "feedback",
                value: 0.0,
                allowed: "DTP, DRL, DDTP or fixed feedback with identity quantisers in a \
                          convolutional net",
            });
        }
        Ok(())
    }

    /// Minibatch size `B`.
    pub fn batch(&self) -> usize {
        self.ws.columns()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the settings (checked as by [`new`](Self::new)).
    ///
    /// DDTP gets its feedback weights here if the net has none of the rule's shapes yet (all
    /// zero: load them, or call [`init`](Self::init)); another rule drops them.
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        Self::validate(&config)?;
        self.config = config;
        self.shape_direct();
        Ok(())
    }

    /// The minibatch: inputs (`C·H·W × B`) and one-hot labels (`classes × B`).
    pub fn batch_mut(&mut self) -> (&mut DMat, &mut DMat) {
        self.ws.batch_mut()
    }

    /// The output `p` of the last forward pass (`classes × B`).
    pub fn output(&self) -> &DMat {
        &self.ws.p
    }

    /// The output, writable (the chunk-parallel executor gathers its chunks' outputs here).
    pub(crate) fn output_mut(&mut self) -> &mut DMat {
        &mut self.ws.p
    }

    /// The activations `h_1 … h_{M-1}` of the last forward pass.
    pub fn activations(&self) -> &[DMat] {
        &self.ws.h
    }

    /// The targets `ĥ_1 … ĥ_{M-1}` of the last steps 2 and 3.
    pub fn targets(&self) -> &[DMat] {
        &self.ws.target
    }

    /// The targets, writable (to test step 3 from a chosen top target).
    pub fn targets_mut(&mut self) -> &mut [DMat] {
        &mut self.ws.target
    }

    /// σ of the next feedback step (of epoch `epoch + 1`).
    pub fn sigma(&self) -> f32 {
        self.config.sigma.at(self.epoch.saturating_add(1))
    }

    /// **Step 1 — forward pass**: `h_i = s(f_i(h_{i-1}))` for `i = 1 … M−1` (`f_i` a
    /// convolution or a dense layer), `p = softmax(W_M h_{M-1} + b_M)` (or `s(·)` for MSE),
    /// `L(p, t)` averaged over the minibatch. In training, Gaussian input noise of the
    /// configured σ is added to the input first.
    pub fn forward_pass<G: Rng + ?Sized>(
        &mut self,
        training: bool,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        self.ws
            .forward::<K, G>(&self.net, &self.config, training, rng)
    }

    /// **Step 4 — inverse gradient** of `g_i` (`i` = 2 … M−1): corrupt
    /// `h̃ = h_{i-1} + ε`, `ε ~ N(0, σ²)`, and take the gradient of
    /// `(1/B) Σ_b ‖g_i(f_i(h̃)) − h̃‖²` in `(V_i, c_i)`, with `f_i(h̃)` and `h̃` held constant:
    /// `δ = (2/B)(g − h̃) ⊙ s'(g)`, then [`Layer::gradient_from_delta`] at input `f_i(h̃)`.
    /// Into [`grad_inverse`](Self::grad_inverse)`[i − 2]`; returns the loss (also kept in
    /// [`inverse_loss`](Self::inverse_loss)).
    pub fn inverse_gradient<G: Rng + ?Sized>(&mut self, i: usize, sigma: f32, rng: &mut G) -> f32 {
        let grad = &mut self.grad_inverse[i - 2];
        let loss = self
            .ws
            .inverse_gradient::<K, G>(&self.net, &self.config, i, sigma, rng, grad);
        self.inverse_loss[i - 2] = loss;
        loss
    }

    /// **Step 4 — feedback step**: for `i = 2 … M−1` (noise drawn in that order) the inverse
    /// gradient ([`inverse_gradient`](Self::inverse_gradient)) and an optimiser step on
    /// `(V_i, c_i)`; nothing for fixed feedback weights.
    pub fn feedback_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        if self.config.feedback == Feedback::Fixed {
            return Ok(());
        }
        if self.config.feedback.is_direct() {
            return self.direct_step(sigma, rng);
        }
        let opt = self.config.inverse;
        for i in 2..self.net.forward.len() {
            self.inverse_gradient(i, sigma, rng);
            let (layer, grad) = (
                &mut self.net.inverse[i - 2].params,
                &self.grad_inverse[i - 2],
            );
            let state = &mut self.inverse_state[i - 2];
            apply_buffer(&opt, layer, grad, state, i, crate::dtp::INVERSE)?;
        }
        Ok(())
    }

    /// **Step 4 by DDTP**: the gradient of each `Q_i`'s difference reconstruction loss
    /// (`i = 1 … M−1`, noise drawn in that order; the equations of [`direct`]) into
    /// [`direct_state`](Self::direct_state)'s buffers, its loss into its `loss`, then an
    /// optimiser step on every `(Q_i, c_i)`.
    pub fn direct_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        let st = self.direct_state.as_mut().ok_or(Error::NoFeedbackState)?;
        let sink = direct::store::<K>(&mut st.grad, &mut st.loss);
        let (net, config) = (&self.net, &self.config);
        self.ws
            .direct_gradients::<K, G, _>(net, config, sigma, rng, sink)?;
        let d = self.net.direct.as_mut().ok_or(Error::NoFeedbackState)?;
        let layers = d.q.iter_mut().zip(&st.grad).zip(&mut st.state);
        for (k, ((q, grad), state)) in layers.enumerate() {
            apply_buffer(
                &self.config.inverse,
                q,
                grad,
                state,
                k + 1,
                crate::dtp::INVERSE,
            )?;
        }
        Ok(())
    }

    /// **Step 2 — top target**: `ĥ_{M-1} = h_{M-1} − η̂ W_Mᵀ ∂L/∂z_M` (`L` the batch mean);
    /// keeps `∂L/∂z_M` for the output layer's step.
    pub fn top_target(&mut self) -> Result<(), Error> {
        self.ws.top_target::<K>(&self.net, &self.config)
    }

    /// **Step 3 — difference targets**, downward for `i = M−1 … 2`:
    /// `ĥ_{i-1} = h_{i-1} + (g_i(ĥ_i) − g_i(h_i))`, the difference formed first, so `ĥ_i = h_i`
    /// gives `ĥ_{i-1} = h_{i-1}` bit for bit.
    pub fn difference_targets(&mut self) -> Result<(), Error> {
        self.ws.difference_targets::<K>(&self.net, &self.config)
    }

    /// The gradients of step 5 into [`grad_forward`](Self::grad_forward), without applying
    /// them: for each hidden layer `i` the gradient of its local loss
    /// `(1/B) Σ_b ‖s(f_i(h_{i-1})) − ĥ_i‖²` in `(W_i, b_i)` (`h_{i-1}`, `ĥ_i` held constant;
    /// `δ = (2/B)(h_i − ĥ_i) ⊙ s'(h_i)`), kept in [`local_loss`](Self::local_loss); for the
    /// output layer `∂L/∂W_M = ∂L/∂z_M h_{M-1}ᵀ` (needs [`top_target`](Self::top_target)).
    pub fn local_gradients(&mut self) {
        let (grads, losses) = (&mut self.grad_forward, &mut self.local_loss);
        self.ws
            .local_gradients::<K>(&self.net, &self.config, grads, losses);
    }

    /// Applies the forward optimiser to every forward layer not in
    /// [`Config::frozen`](crate::Config::frozen) with [`grad_forward`](Self::grad_forward).
    fn apply_forward(&mut self) -> Result<(), Error> {
        let opt = self.config.forward_at(self.epoch);
        let layers = self.net.forward.iter_mut().zip(&self.grad_forward);
        for (n, ((layer, grad), state)) in layers.zip(&mut self.forward_state).enumerate() {
            if !self.config.frozen.contains(n + 1) {
                apply_buffer(
                    &opt,
                    &mut layer.params,
                    grad,
                    state,
                    n + 1,
                    crate::dtp::FORWARD,
                )?;
            }
        }
        Ok(())
    }

    /// **Step 5 — forward step**: [`local_gradients`](Self::local_gradients), then an
    /// optimiser step on every forward layer (each layer's gradient checked for NaN/∞ first).
    pub fn forward_step(&mut self) -> Result<(), Error> {
        self.local_gradients();
        self.apply_forward()
    }

    /// The exact gradient of `L` in every forward layer's parameters, by backpropagation
    /// through the last forward pass, into [`grad_forward`](Self::grad_forward):
    /// `δ_M = ∂L/∂z_M`; `∂L/∂h_{M-1} = W_Mᵀ δ_M`; for `i = M−1 … 1`:
    /// `δ_i = ∂L/∂h_i ⊙ s'(h_i)`, `∂L/∂θ_i` from `δ_i` and `h_{i-1}`,
    /// `∂L/∂h_{i-1} = A_iᵀ δ_i` ([`Layer::input_gradient`]).
    pub fn backprop_gradients(&mut self) {
        self.ws
            .backprop_gradients::<K>(&self.net, &self.config, &mut self.grad_forward);
    }

    /// One step of backpropagation with the exact gradient: a forward pass (with input
    /// noise), [`backprop_gradients`](Self::backprop_gradients), an optimiser step on every
    /// forward layer not frozen (continuous units: there is no quantiser to pass through).
    pub fn backprop_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        let stats = self.forward_pass(true, rng)?;
        self.backprop_gradients();
        self.apply_forward()?;
        Ok(stats)
    }

    /// One DTP step on the minibatch held: steps 1, 4, 2, 3, 5 ([`step::step`]).
    pub fn step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        step::step(self, rng)
    }

    /// The forward pass alone, without noise ([`step::evaluate`]).
    pub fn evaluate<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<StepStats, Error> {
        step::evaluate(self, rng)
    }

    /// One epoch of DTP over `data` by the configured schedule ([`step::epoch`]).
    pub fn train_epoch<D, G>(&mut self, data: &mut D, rng: &mut G) -> Result<EpochStats, Error>
    where
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        self.train_epoch_with(data, FeedbackPasses::NONE, rng)
    }

    /// [`train_epoch`](Self::train_epoch) with feedback-only passes before and after the
    /// epoch's training ([`FeedbackPasses`]; none for fixed feedback weights), as
    /// [`Trainer::train_epoch_with`](crate::Trainer::train_epoch_with).
    pub fn train_epoch_with<D, G>(
        &mut self,
        data: &mut D,
        feedback_passes: FeedbackPasses,
        rng: &mut G,
    ) -> Result<EpochStats, Error>
    where
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        let sigma = self.sigma();
        let trains_feedback = self.config.feedback != Feedback::Fixed;
        let n = data.batches();
        let load = |t: &mut Self, index| {
            let (x, labels) = t.ws.batch_mut();
            data.fill(index, x, labels);
            Ok(())
        };
        let schedule = self.config.schedule;
        let tally = step::epoch(
            self,
            schedule,
            trains_feedback,
            feedback_passes,
            n,
            rng,
            load,
        )?;
        let mut stats = EpochStats::from_pass(&tally, self.batch());
        stats.sigma = sigma;
        self.epoch = self.epoch.saturating_add(1);
        Ok(stats)
    }

    /// One epoch of backprop over `data` ([`step::pass`] of
    /// [`backprop_step`](Self::backprop_step)).
    pub fn backprop_epoch<D, G>(&mut self, data: &mut D, rng: &mut G) -> Result<EpochStats, Error>
    where
        D: Batches<Dyn, Dyn, Dyn> + ?Sized,
        G: Rng + ?Sized,
    {
        let n = data.batches();
        let load = |t: &mut Self, index| {
            let (x, labels) = t.ws.batch_mut();
            data.fill(index, x, labels);
            Ok(())
        };
        let one = |t: &mut Self, r: &mut G| t.backprop_step(r);
        let tally = step::pass(self, n, rng, load, one)?;
        self.epoch = self.epoch.saturating_add(1);
        Ok(EpochStats::from_pass(&tally, self.batch()))
    }
}

impl<K: Kernel> Steps for ConvTrainer<K> {
    type Stats = StepStats;

    fn forward<G: Rng + ?Sized>(&mut self, pass: Pass, rng: &mut G) -> Result<StepStats, Error> {
        self.forward_pass(pass.training(), rng)
    }

    fn feedback_step<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        ConvTrainer::feedback_step(self, self.sigma(), rng)
    }

    fn top_target(&mut self) -> Result<(), Error> {
        ConvTrainer::top_target(self)
    }

    fn difference_targets<G: Rng + ?Sized>(&mut self, _rng: &mut G) -> Result<(), Error> {
        ConvTrainer::difference_targets(self)
    }

    fn forward_step(&mut self) -> Result<(), Error> {
        ConvTrainer::forward_step(self)
    }

    fn measured(&mut self, forward: StepStats) -> Result<StepStats, Error> {
        Ok(forward)
    }
}

/// `weight`, `bias` (the parameters' shapes: see [`Kind`]).
impl Tensors for Layer {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        self.params.visit_at(at, f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        self.params.visit_mut_at(at, f);
    }
}

/// `f1 … fM`, then `g2 … g{M-1}`, as a dense [`Net`](crate::Net).
impl Tensors for ConvNet {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        for (k, layer) in self.forward.iter().enumerate() {
            layer.visit_at(&at.numbered("f", k + 1), f);
        }
        for (k, layer) in self.inverse.iter().enumerate() {
            layer.visit_at(&at.numbered("g", k + 2), f);
        }
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        for (k, layer) in self.forward.iter_mut().enumerate() {
            layer.visit_mut_at(&at.numbered("f", k + 1), f);
        }
        for (k, layer) in self.inverse.iter_mut().enumerate() {
            layer.visit_mut_at(&at.numbered("g", k + 2), f);
        }
    }
}

/// `net.*` (with DDTP `net.q1 …`, `net.rhl`), `opt.forward.f1 … fM`, `opt.inverse.g2 …` (with
/// DDTP `opt.direct.q1 …`): parameters, then optimiser state, as a dense
/// [`Trainer`](crate::Trainer). With the [`epoch`](ConvTrainer::epoch) counter and
/// the random generator's state, what a resumed run needs to continue bit for bit.
impl<K: Kernel> Tensors for ConvTrainer<K> {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        let (net, opt) = (at.join("net"), at.join("opt"));
        self.net.visit_at(&net, f);
        if let Some(d) = &self.net.direct {
            d.visit_at(&net, f);
        }
        let (forward, inverse) = (opt.join("forward"), opt.join("inverse"));
        for (k, state) in self.forward_state.iter().enumerate() {
            state.visit_at(&forward.numbered("f", k + 1), f);
        }
        for (k, state) in self.inverse_state.iter().enumerate() {
            state.visit_at(&inverse.numbered("g", k + 2), f);
        }
        if let Some(s) = &self.direct_state {
            s.visit_at(&opt.join("direct"), f);
        }
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        let (net, opt) = (at.join("net"), at.join("opt"));
        // The net's parts as [`ConvNet`] lists them, field by field so DDTP's follow.
        for (k, layer) in self.net.forward.iter_mut().enumerate() {
            layer.visit_mut_at(&net.numbered("f", k + 1), f);
        }
        for (k, layer) in self.net.inverse.iter_mut().enumerate() {
            layer.visit_mut_at(&net.numbered("g", k + 2), f);
        }
        if let Some(d) = &mut self.net.direct {
            d.visit_mut_at(&net, f);
        }
        let (forward, inverse) = (opt.join("forward"), opt.join("inverse"));
        for (k, state) in self.forward_state.iter_mut().enumerate() {
            state.visit_mut_at(&forward.numbered("f", k + 1), f);
        }
        for (k, state) in self.inverse_state.iter_mut().enumerate() {
            state.visit_mut_at(&inverse.numbered("g", k + 2), f);
        }
        if let Some(s) = &mut self.direct_state {
            s.visit_mut_at(&opt.join("direct"), f);
        }
    }
}
