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

/// Position `q`'s columns of `cols` (`K × (B·P)`, column `b·P + q`) as `out` (`K × B`).
fn gather_patches(cols: &DMat, positions: usize, q: usize, out: &mut DMat) {
    let k = out.nrows();
    let src = cols.as_slice();
    for (b, column) in out.as_mut_slice().chunks_exact_mut(k.max(1)).enumerate() {
        let at = (b * positions + q) * k;
        column.copy_from_slice(&src[at..at + k]);
    }
}

/// `out` (`K × B`) into position `q`'s columns of `cols` (`K × (B·P)`).
fn scatter_patches(out: &DMat, positions: usize, q: usize, cols: &mut DMat) {
    let k = out.nrows();
    let dst = cols.as_mut_slice();
    for (b, column) in out.as_slice().chunks_exact(k.max(1)).enumerate() {
        let at = (b * positions + q) * k;
        dst[at..at + k].copy_from_slice(column);
    }
}

/// Position `q`'s units of the samples `y` (`(C'·P) × B`, unit `c·P + q`) as `out` (`C' × B`).
fn gather_units(y: &DMat, positions: usize, q: usize, out: &mut DMat) {
    let (c_out, units) = (out.nrows(), y.nrows());
    let src = y.as_slice();
    for (b, column) in out
        .as_mut_slice()
        .chunks_exact_mut(c_out.max(1))
        .enumerate()
    {
        for (c, v) in column.iter_mut().enumerate() {
            *v = src[b * units + c * positions + q];
        }
    }
}

/// `out` (`C' × B`) into position `q`'s units of the samples `y` (`(C'·P) × B`).
fn scatter_units(out: &DMat, positions: usize, q: usize, y: &mut DMat) {
    let (c_out, units) = (out.nrows(), y.nrows());
    let dst = y.as_mut_slice();
    for (b, column) in out.as_slice().chunks_exact(c_out.max(1)).enumerate() {
        for (c, &v) in column.iter().enumerate() {
            dst[b * units + c * positions + q] = v;
        }
    }
}

/// Adds `bias` (one value per unit) to every sample of `y` (`units × B`).
fn add_bias(y: &mut DMat, bias: &[f32]) {
    for sample in y.as_mut_slice().chunks_exact_mut(bias.len().max(1)) {
        sample.iter_mut().zip(bias).for_each(|(v, &c)| *v += c);
    }
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
    let (c_out, positions, patch, batch) = (
        shape.channels_out,
        shape.positions(),
        shape.patch(),
        x.ncols(),
    );
    let (mut cols, z) = scratch.take();
    shape.im2col(x, &mut cols);
    resize(out, shape.outputs(), batch);
    let (mut wq, mut xq, mut zq) = (dmat(c_out, patch), dmat(patch, batch), dmat(c_out, batch));
    for q in 0..positions {
        block_of(&params.w, q, &mut wq);
        gather_patches(&cols, positions, q, &mut xq);
        K::gemm(&mut zq, 1.0, &wq, &xq, 0.0);
        scatter_units(&zq, positions, q, out);
    }
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
    let (c_out, positions, patch, batch) = (
        shape.channels_out,
        shape.positions(),
        shape.patch(),
        x.ncols(),
    );
    let (mut cols, z) = scratch.take();
    shape.im2col(x, &mut cols);
    let (mut gq, mut xq, mut dq) = (dmat(c_out, patch), dmat(patch, batch), dmat(c_out, batch));
    let block = c_out * patch;
    for q in 0..positions {
        gather_patches(&cols, positions, q, &mut xq);
        gather_units(delta, positions, q, &mut dq);
        K::gemm_nt(&mut gq, 1.0, &dq, &xq, 0.0);
        grad.w.as_mut_slice()[q * block..(q + 1) * block].copy_from_slice(gq.as_slice());
    }
    let b = grad.b.as_mut_slice();
    b.fill(0.0);
    add_column_sums(b, delta.as_slice());
    scratch.give(cols, z);
}

/// The input gradient `dx = col2im([W_qᵀ δ_q]_q)` (`(C·H·W) × B`, resized) of `Σ δ ⊙ z`.
pub(super) fn input_gradient<K: Kernel>(
    shape: ConvShape,
    params: &Params,
    delta: &DMat,
    dx: &mut DMat,
) {
    let (c_out, positions, patch, batch) = (
        shape.channels_out,
        shape.positions(),
        shape.patch(),
        delta.ncols(),
    );
    let mut cols = dmat(patch, batch * positions);
    let (mut wq, mut dq, mut cq) = (dmat(c_out, patch), dmat(c_out, batch), dmat(patch, batch));
    for q in 0..positions {
        block_of(&params.w, q, &mut wq);
        gather_units(delta, positions, q, &mut dq);
        K::gemm_tn(&mut cq, 1.0, &wq, &dq, 0.0);
        scatter_patches(&cq, positions, q, &mut cols);
    }
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
    let (c_out, positions, patch, batch) = (
        shape.channels_out,
        shape.positions(),
        shape.patch(),
        h.ncols(),
    );
    let (mut cols, z) = scratch.take();
    resize(&mut cols, patch, batch * positions);
    let (mut vq, mut hq, mut cq) = (dmat(patch, c_out), dmat(c_out, batch), dmat(patch, batch));
    for q in 0..positions {
        block_of(&params.w, q, &mut vq);
        gather_units(h, positions, q, &mut hq);
        K::gemm(&mut cq, 1.0, &vq, &hq, 0.0);
        scatter_patches(&cq, positions, q, &mut cols);
    }
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
    let (c_out, positions, patch, batch) = (
        shape.channels_out,
        shape.positions(),
        shape.patch(),
        h.ncols(),
    );
    let (mut cols, z) = scratch.take();
    shape.im2col(delta, &mut cols);
    let (mut gq, mut hq, mut dq) = (dmat(patch, c_out), dmat(c_out, batch), dmat(patch, batch));
    let block = patch * c_out;
    for q in 0..positions {
        gather_patches(&cols, positions, q, &mut dq);
        gather_units(h, positions, q, &mut hq);
        K::gemm_nt(&mut gq, 1.0, &dq, &hq, 0.0);
        grad.w.as_mut_slice()[q * block..(q + 1) * block].copy_from_slice(gq.as_slice());
    }
    let b = grad.b.as_mut_slice();
    b.fill(0.0);
    add_column_sums(b, delta.as_slice());
    scratch.give(cols, z);
}

/// The transpose's input gradient `∂/∂h_q = V_qᵀ im2col(δ)_q` (`(C'·P) × B`, resized).
pub(super) fn transpose_input_gradient<K: Kernel>(
    shape: ConvShape,
    params: &Params,
    delta: &DMat,
    dh: &mut DMat,
) {
    let (c_out, positions, patch, batch) = (
        shape.channels_out,
        shape.positions(),
        shape.patch(),
        delta.ncols(),
    );
    let mut cols = dmat(0, 0);
    shape.im2col(delta, &mut cols);
    resize(dh, shape.outputs(), batch);
    let (mut vq, mut dq, mut hq) = (dmat(patch, c_out), dmat(patch, batch), dmat(c_out, batch));
    for q in 0..positions {
        block_of(&params.w, q, &mut vq);
        gather_patches(&cols, positions, q, &mut dq);
        K::gemm_tn(&mut hq, 1.0, &vq, &dq, 0.0);
        scatter_units(&hq, positions, q, dh);
    }
}
