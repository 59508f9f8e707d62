//! Locally connected layers: a convolution's geometry without weight sharing (Bartunov et
//! al. 2018's "LC" networks), and their learned inverses.
//!
//! # The layer
//! A locally connected layer reads the same patches as a convolution of geometry
//! [`ConvShape`] but gives every output position `q` its own weights `W_q` (`C' × K`) and
//! every output unit its own bias (`b`, `C'·P` values, in the sample's channel-major order
//! `c·P + q`):
//!
//! `z[c·P + q] = Σ_r W_q[c, r] · X_col[r, q] + b[c·P + q]`, `y = s(z)`,
//!
//! `X_col` the sample's patches (`im2col`). The weights are stored as one `C' × (P·K)`
//! column-major matrix whose columns `q·K … q·K + K − 1` are `W_q`, so each `W_q` is one
//! contiguous `C' × K` block. On a minibatch each position is one product through the crate's
//! [`Kernel`]: `Z_q = W_q X_q` (`C' × B`), `X_q` the `K × B` patches of position `q`.
//!
//! Gradients of `Σ δ ⊙ z`: `∂/∂W_q = δ_q X_qᵀ`, `∂/∂b = Σ_b δ_b`, `∂/∂x = col2im` of the
//! columns `W_qᵀ δ_q`.
//!
//! # The learned inverse
//! As for a convolution, the inverse of a locally connected layer is its transpose with its
//! own weights: `V_q` (`K × C'`, stored as one `K × (P·C')` matrix of contiguous blocks) and a
//! bias per input unit (`C·H·W`):
//!
//! `g(h) = s(col2im([V_q h_q]_q) + c)`, `h_q` the `C' × B` units of position `q`.
//!
//! With `V_q = W_qᵀ`, no bias and no activation it is the layer's adjoint. Gradients of
//! `Σ δ ⊙ (…)` on its `(C·H·W) × B` output: `∂/∂V_q = im2col(δ)_q h_qᵀ`, `∂/∂c = Σ_b δ_b`,
//! `∂/∂h_q = V_qᵀ im2col(δ)_q`.

use nalgebra::{Dyn, U1};
use rand_core::Rng;

use super::{ConvShape, DMat, Params, Scratch, dmat, resize};
use crate::Activation;
use crate::config::Init;
use crate::dense::{Dense, add_column_sums};
use crate::init::fill;
use crate::kernel::Kernel;
use crate::mat::OMat;

/// The zero parameters of a locally connected layer of geometry `shape`: `W` is
/// `C' × (P·K)`, `b` has `C'·P` values.
pub(super) fn params(shape: ConvShape) -> Params {
    let (c_out, positions, patch) = (shape.channels_out, shape.positions(), shape.patch());
    Dense {
        w: dmat(c_out, positions * patch),
        b: OMat::zeros_generic(Dyn(c_out * positions), U1),
    }
}

/// The zero parameters of the transpose of a locally connected layer of geometry `shape`:
/// `V` is `K × (P·C')`, `c` has `C·H·W` values.
pub(super) fn transpose_params(shape: ConvShape) -> Params {
    let (c_out, positions, patch) = (shape.channels_out, shape.positions(), shape.patch());
    Dense {
        w: dmat(patch, positions * c_out),
        b: OMat::zeros_generic(Dyn(shape.inputs()), U1),
    }
}

/// Initialises each position's block (`rows × cols`, contiguous in `w`) by `init` on its own,
/// position by position, as if it were a layer of that shape; the bias is zeroed.
pub(super) fn initialise<G: Rng + ?Sized>(
    params: &mut Params,
    rows: usize,
    cols: usize,
    init: Init,
    rng: &mut G,
) {
    let mut block = dmat(rows, cols);
    for w in params
        .w
        .as_mut_slice()
        .chunks_exact_mut((rows * cols).max(1))
    {
        fill(init, &mut block, rng);
        w.copy_from_slice(block.as_slice());
    }
    params.b.fill(0.0);
}

/// The `rows × cols` block `q` of `w` (stored contiguously) copied into `block`.
fn block_of(w: &DMat, q: usize, block: &mut DMat) {
    let len = block.len();
    block
        .as_mut_slice()
        .copy_from_slice(&w.as_slice()[q * len..(q + 1) * len]);
}

/// How a minibatch's values of one position are laid out: as patches (`K × (B·P)`, column
/// `b·P + q`: `im2col`'s) or as units of the samples (`(C'·P) × B`, unit `c·P + q`).
#[derive(Clone, Copy)]
enum Side {
    Patches,
    Units,
}

impl Side {
    /// Position `q`'s values of `m` (`P` positions) as `out` (`K × B` or `C' × B`).
    fn gather(self, m: &DMat, positions: usize, q: usize, out: &mut DMat) {
        let (rows, src) = (out.nrows(), m.as_slice());
        let columns = out.as_mut_slice().chunks_exact_mut(rows.max(1));
        match self {
            Side::Patches => {
                for (b, column) in columns.enumerate() {
                    let at = (b * positions + q) * rows;
                    column.copy_from_slice(&src[at..at + rows]);
                }
            }
            Side::Units => {
                let units = m.nrows();
                for (b, column) in columns.enumerate() {
                    for (c, v) in column.iter_mut().enumerate() {
                        *v = src[b * units + c * positions + q];
                    }
                }
            }
        }
    }

    /// `out` into position `q`'s values of `m` (the inverse of [`gather`](Self::gather)).
    fn scatter(self, out: &DMat, positions: usize, q: usize, m: &mut DMat) {
        let rows = out.nrows();
        let units = m.nrows();
        let dst = m.as_mut_slice();
        let columns = out.as_slice().chunks_exact(rows.max(1));
        match self {
            Side::Patches => {
                for (b, column) in columns.enumerate() {
                    let at = (b * positions + q) * rows;
                    dst[at..at + rows].copy_from_slice(column);
                }
            }
            Side::Units => {
                for (b, column) in columns.enumerate() {
                    for (c, &v) in column.iter().enumerate() {
                        dst[b * units + c * positions + q] = v;
                    }
                }
            }
        }
    }
}

/// Adds `bias` (one value per unit) to every sample of `y` (`units × B`).
fn add_bias(y: &mut DMat, bias: &[f32]) {
    for sample in y.as_mut_slice().chunks_exact_mut(bias.len().max(1)) {
        sample.iter_mut().zip(bias).for_each(|(v, &c)| *v += c);
    }
}

/// At every position `q`, `out_q = A_q x_q` (or `A_qᵀ x_q` when `transposed`): `A_q` the
/// `rows × cols` block `q` of `w`, `x_q` gathered from `x` (laid out as `from`, `B` samples),
/// `out_q` scattered into `out` (laid out as `to`, already shaped).
fn products<K: Kernel>(
    w: &DMat,
    (rows, cols): (usize, usize),
    transposed: bool,
    positions: usize,
    (from, x): (Side, &DMat),
    (to, out): (Side, &mut DMat),
    batch: usize,
) {
    let (inner, outer) = if transposed {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let (mut a, mut xq, mut yq) = (dmat(rows, cols), dmat(inner, batch), dmat(outer, batch));
    for q in 0..positions {
        block_of(w, q, &mut a);
        from.gather(x, positions, q, &mut xq);
        if transposed {
            K::gemm_tn(&mut yq, 1.0, &a, &xq, 0.0);
        } else {
            K::gemm(&mut yq, 1.0, &a, &xq, 0.0);
        }
        to.scatter(&yq, positions, q, out);
    }
}

/// At every position `q`, block `q` of `grad` (`rows × cols`, contiguous) `= d_q x_qᵀ`: `d_q`
/// (`rows × B`) gathered from `d` (laid out as `d_side`), `x_q` (`cols × B`) from `x`, `B`
/// samples.
fn outer_products<K: Kernel>(
    grad: &mut DMat,
    (rows, cols): (usize, usize),
    positions: usize,
    (d_side, d): (Side, &DMat),
    (x_side, x): (Side, &DMat),
    batch: usize,
) {
    let (mut g, mut dq, mut xq) = (dmat(rows, cols), dmat(rows, batch), dmat(cols, batch));
    let block = rows * cols;
    for q in 0..positions {
        d_side.gather(d, positions, q, &mut dq);
        x_side.gather(x, positions, q, &mut xq);
        K::gemm_nt(&mut g, 1.0, &dq, &xq, 0.0);
        grad.as_mut_slice()[q * block..(q + 1) * block].copy_from_slice(g.as_slice());
    }
}

/// `grad`'s bias: `Σ_b δ_b`, one value per unit.
fn bias_gradient(grad: &mut Params, delta: &DMat) {
    let b = grad.b.as_mut_slice();
    b.fill(0.0);
    add_column_sums(b, delta.as_slice());
}

/// `out = s(z)`, `z[c·P + q] = W_q X_q + b` (the module's equation), on the minibatch `x`
/// (`(C·H·W) × B`; `out` resized to `(C'·P) × B`).
pub(super) fn forward<K: Kernel>(
    shape: ConvShape,
    params: &Params,
    activation: Activation,
    x: &DMat,
    out: &mut DMat,
    scratch: &mut Scratch,
) {
    let (block, positions, batch) = (
        (shape.channels_out, shape.patch()),
        shape.positions(),
        x.ncols(),
    );
    let (mut cols, z) = scratch.take();
    shape.im2col(x, &mut cols);
    resize(out, shape.outputs(), batch);
    let (from, to) = ((Side::Patches, &cols), (Side::Units, &mut *out));
    products::<K>(&params.w, block, false, positions, from, to, batch);
    add_bias(out, params.b.as_slice());
    activation.apply_slice(out.as_mut_slice());
    scratch.give(cols, z);
}

/// The parameter gradient of `Σ δ ⊙ z` (`δ`: `(C'·P) × B`) into `grad`: `∂/∂W_q = δ_q X_qᵀ`,
/// `∂/∂b = Σ_b δ_b`.
pub(super) fn gradient<K: Kernel>(
    shape: ConvShape,
    x: &DMat,
    delta: &DMat,
    grad: &mut Params,
    scratch: &mut Scratch,
) {
    let (mut cols, z) = scratch.take();
    shape.im2col(x, &mut cols);
    let (d, x) = ((Side::Units, delta), (Side::Patches, &cols));
    let block = (shape.channels_out, shape.patch());
    outer_products::<K>(&mut grad.w, block, shape.positions(), d, x, delta.ncols());
    bias_gradient(grad, delta);
    scratch.give(cols, z);
}

/// The input gradient `dx = col2im([W_qᵀ δ_q]_q)` (`(C·H·W) × B`, resized) of `Σ δ ⊙ z`.
pub(super) fn input_gradient<K: Kernel>(
    shape: ConvShape,
    params: &Params,
    delta: &DMat,
    dx: &mut DMat,
) {
    let (positions, batch) = (shape.positions(), delta.ncols());
    let mut cols = dmat(shape.patch(), batch * positions);
    let (from, to) = ((Side::Units, delta), (Side::Patches, &mut cols));
    let block = (shape.channels_out, shape.patch());
    products::<K>(&params.w, block, true, positions, from, to, batch);
    shape.col2im(&cols, batch, dx);
}

/// The transpose's `out = s(col2im([V_q h_q]_q) + c)` on the minibatch `h` (`(C'·P) × B`;
/// `out` resized to `(C·H·W) × B`).
pub(super) fn transpose_forward<K: Kernel>(
    shape: ConvShape,
    params: &Params,
    activation: Activation,
    h: &DMat,
    out: &mut DMat,
    scratch: &mut Scratch,
) {
    let (positions, batch) = (shape.positions(), h.ncols());
    let (mut cols, z) = scratch.take();
    resize(&mut cols, shape.patch(), batch * positions);
    let (from, to) = ((Side::Units, h), (Side::Patches, &mut cols));
    let block = (shape.patch(), shape.channels_out);
    products::<K>(&params.w, block, false, positions, from, to, batch);
    shape.col2im(&cols, batch, out);
    add_bias(out, params.b.as_slice());
    activation.apply_slice(out.as_mut_slice());
    scratch.give(cols, z);
}

/// The transpose's parameter gradient of `Σ δ ⊙ (col2im(…) + c)` (`δ`: `(C·H·W) × B`) into
/// `grad`: `∂/∂V_q = im2col(δ)_q h_qᵀ`, `∂/∂c = Σ_b δ_b`.
pub(super) fn transpose_gradient<K: Kernel>(
    shape: ConvShape,
    h: &DMat,
    delta: &DMat,
    grad: &mut Params,
    scratch: &mut Scratch,
) {
    let (mut cols, z) = scratch.take();
    shape.im2col(delta, &mut cols);
    let (d, x) = ((Side::Patches, &cols), (Side::Units, h));
    let block = (shape.patch(), shape.channels_out);
    outer_products::<K>(&mut grad.w, block, shape.positions(), d, x, h.ncols());
    bias_gradient(grad, delta);
    scratch.give(cols, z);
}

/// The transpose's input gradient `∂/∂h_q = V_qᵀ im2col(δ)_q` (`(C'·P) × B`, resized).
pub(super) fn transpose_input_gradient<K: Kernel>(
    shape: ConvShape,
    params: &Params,
    delta: &DMat,
    dh: &mut DMat,
) {
    let (positions, batch) = (shape.positions(), delta.ncols());
    let mut cols = dmat(0, 0);
    shape.im2col(delta, &mut cols);
    resize(dh, shape.outputs(), batch);
    let (from, to) = ((Side::Patches, &cols), (Side::Units, dh));
    let block = (shape.patch(), shape.channels_out);
    products::<K>(&params.w, block, true, positions, from, to, batch);
}
