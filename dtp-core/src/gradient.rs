//! How a layer's gradient reaches its optimiser: formed in a buffer ([`Buffered`]), or one
//! element at a time inside the optimiser's loop ([`Fused`]).
//!
//! Every gradient DTP and backprop take is an outer product: a layer `y = s(W r + b)` with
//! pre-activation gradient `δ` (`O × B`) has `∂/∂W = δ rᵀ` and `∂/∂b = Σ_b δ_b`; DRL's feedback
//! gradient is the sum of two such terms. The steps hand the optimiser these factors
//! ([`Outer`]), and a [`GradientStore`] — a type parameter of [`Trainer`](crate::Trainer) —
//! decides what to do with them:
//!
//! - [`Buffered`] (the default, any batch): the product `δ rᵀ` into a gradient buffer per
//!   layer shape, checked for NaN/∞, then the optimiser's pass over it. For a minibatch this is
//!   a matrix product (`Kernel::gemm_nt`) and the only way.
//! - [`Fused`] (for one sample a step, `B = 1`): no gradient buffer at all. Each gradient element
//!   `g_ij = δ_i r_j` is formed inside the optimiser's loop, where it is used once; the factors
//!   are checked instead of the product. This is the microcontroller's store: it saves the
//!   gradient buffers (4 bytes a parameter of the widest layer of each shape) and the outer
//!   product's pass over memory. The arithmetic is the same as [`Buffered`]'s: the same
//!   values, bit for bit apart from the sign of zero gradients (`Buffered` writes `δ_i r_j + 0`).
//!
//! One difference in error reporting: a product that overflows although both factors are
//! finite is caught by the optimiser's own check and reported at the weights stage
//! ([`Stage::ForwardWeights`]/[`Stage::InverseWeights`]) rather than at the gradient stage.

use crate::dense::Dense;
use crate::error::{Error, Stage, check_finite};
use crate::kernel::Kernel;
use crate::layout::{Layout, NetAlloc, Width};
use crate::optim::{DenseState, Optimiser};
pub use crate::outer::{Outer, Term};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, U1};

/// What the optimiser steps of a [`Trainer`](crate::Trainer) do with each layer's gradient
/// factors ([`Outer`]): see the [module documentation](self). A store hands out a buffer for
/// each layer shape ([`Buffered`]), or none ([`Fused`]): the gradient is then formed inside
/// the optimiser's loop.
pub trait GradientStore<L: Layout>
where
    DefaultAllocator: NetAlloc<L>,
{
    /// The buffer for the first layer's gradient, or `None`.
    fn first(&mut self) -> Option<&mut Dense<L::Hidden, L::In>>;
    /// The buffer for the gradient of a hidden-to-hidden layer shaped like `like` (`f_2 …
    /// f_{M-1}` or an inverse), or `None`.
    fn hidden(
        &mut self,
        like: &Dense<L::Hidden, L::Hidden>,
    ) -> Option<&mut Dense<L::Hidden, L::Hidden>>;
    /// The buffer for the output layer's gradient, or `None`.
    fn output(&mut self) -> Option<&mut Dense<L::Out, L::Hidden>>;
}

/// One gradient buffer per layer shape (a layer's gradient is applied before the next one is
/// formed): the store of every minibatch trainer.
pub struct Buffered<L: Layout>
where
    DefaultAllocator: NetAlloc<L>,
{
    pub(crate) first: Dense<L::Hidden, L::In>,
    pub(crate) hidden: Dense<L::Hidden, L::Hidden>,
    pub(crate) output: Dense<L::Out, L::Hidden>,
}

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize>
    Buffered<crate::Fixed<IN, H, OUT, R>>
{
    /// All-zero buffers.
    pub const ZERO: Self = Buffered {
        first: Dense::ZERO,
        hidden: Dense::ZERO,
        output: Dense::ZERO,
    };
}

impl<L: Layout> GradientStore<L> for Buffered<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn first(&mut self) -> Option<&mut Dense<L::Hidden, L::In>> {
        Some(&mut self.first)
    }

    fn hidden(
        &mut self,
        like: &Dense<L::Hidden, L::Hidden>,
    ) -> Option<&mut Dense<L::Hidden, L::Hidden>> {
        // The one buffer of hidden-to-hidden shape, sized like the layer (widths may differ).
        let (o, i) = like.w.shape_generic();
        L::Hidden::fit_square(&mut self.hidden.w, o, i);
        L::Hidden::fit(&mut self.hidden.b, o, U1);
        Some(&mut self.hidden)
    }

    fn output(&mut self) -> Option<&mut Dense<L::Out, L::Hidden>> {
        Some(&mut self.output)
    }
}

/// No gradient buffer: each gradient element is formed inside the optimiser's loop
/// ([`Optimiser::update_outer`]). A zero-sized type. Meant for one sample a step (`B = 1`:
/// `g_ij = δ_i r_j`, the same values as [`Buffered`]); with a minibatch each element is a
/// `B`-term dot product (correct, but a buffered trainer's matrix product is faster, and the
/// sums' rounding differs from it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fused;

impl<L: Layout> GradientStore<L> for Fused
where
    DefaultAllocator: NetAlloc<L>,
{
    fn first(&mut self) -> Option<&mut Dense<L::Hidden, L::In>> {
        None
    }

    fn hidden(
        &mut self,
        _: &Dense<L::Hidden, L::Hidden>,
    ) -> Option<&mut Dense<L::Hidden, L::Hidden>> {
        None
    }

    fn output(&mut self) -> Option<&mut Dense<L::Out, L::Hidden>> {
        None
    }
}

/// Applies `opt` to `layer` with the gradient `grad`: through `buffer` (the product written,
/// checked, then the optimiser's pass) or, without one, formed inside the optimiser's loop
/// (the factors checked). A NaN/∞ gradient is reported as `stages[0]` before the layer is
/// written, a non-finite result as `stages[1]`; `number` is the layer's, as in the paper.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_gradient<K: Kernel, O: Dim, I: Dim, B: Dim>(
    buffer: Option<&mut Dense<O, I>>,
    opt: &Optimiser,
    layer: &mut Dense<O, I>,
    state: &mut DenseState<O, I>,
    grad: Outer<'_, O, I, B>,
    number: usize,
    stages: [Stage; 2],
) -> Result<(), Error>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O> + Allocator<O, B> + Allocator<I, B>,
{
    match buffer {
        Some(buffer) => {
            grad.write::<K>(buffer);
            apply_buffer(opt, layer, buffer, state, number, stages)
        }
        None => {
            grad.check_finite(stages[0], number)?;
            non_finite_at(opt.update_outer(layer, state, &grad), stages[1], number)
        }
    }
}

/// Checks a gradient buffer (reported as `stages[0]`), then applies the optimiser to it (a
/// non-finite result reported as `stages[1]`).
pub(crate) fn apply_buffer<O: Dim, I: Dim>(
    opt: &Optimiser,
    layer: &mut Dense<O, I>,
    grad: &Dense<O, I>,
    state: &mut DenseState<O, I>,
    number: usize,
    stages: [Stage; 2],
) -> Result<(), Error>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    check_finite(grad.w.as_slice(), stages[0], number)?;
    check_finite(grad.b.as_slice(), stages[0], number)?;
    non_finite_at(opt.update_dense(layer, grad, state), stages[1], number)
}

fn non_finite_at(ok: bool, stage: Stage, number: usize) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::NonFinite {
            stage,
            layer: number as u16,
        })
    }
}
