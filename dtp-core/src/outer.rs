//! A layer's parameter gradient as its factors ([`Outer`]): what the steps hand the optimiser.
//!
//! Its own module, below both `gradient` (which decides where the product is formed) and
//! `optim` (which can form it inside its update loop), so neither has to import the other for
//! it. Re-exported as `gradient::Outer`.

use crate::dense::{Dense, add_column_sums};
use crate::error::{Error, Stage, check_finite};
use crate::kernel::Kernel;
use crate::mat::OMat;
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};

/// A layer's parameter gradient as its factors: `∂/∂W = δ rᵀ (+ δ₂ r₂ᵀ)`,
/// `∂/∂b = Σ_b δ_b (+ Σ_b δ₂_b)`, with `δ` an `O × B` pre-activation gradient and `r` the
/// `I × B` input the layer read.
pub struct Outer<'a, O: Dim, I: Dim, B: Dim>
where
    DefaultAllocator: Allocator<O, B> + Allocator<I, B>,
{
    /// `δ`: the gradient with respect to the layer's pre-activation.
    pub delta: &'a OMat<O, B>,
    /// `r`: the layer's input.
    pub input: &'a OMat<I, B>,
    /// A second term `(δ₂, r₂)` (DRL's feedback gradient), or `None`.
    pub second: Option<Term<'a, O, I, B>>,
}

/// One term `(δ, r)` of an [`Outer`] gradient.
pub type Term<'a, O, I, B> = (&'a OMat<O, B>, &'a OMat<I, B>);

impl<'a, O: Dim, I: Dim, B: Dim> Outer<'a, O, I, B>
where
    DefaultAllocator: Allocator<O, B> + Allocator<I, B>,
{
    /// The gradient `δ rᵀ`.
    pub fn new(delta: &'a OMat<O, B>, input: &'a OMat<I, B>) -> Self {
        Outer {
            delta,
            input,
            second: None,
        }
    }

    /// The gradient `δ rᵀ + δ₂ r₂ᵀ`.
    pub fn two(
        delta: &'a OMat<O, B>,
        input: &'a OMat<I, B>,
        delta2: &'a OMat<O, B>,
        input2: &'a OMat<I, B>,
    ) -> Self {
        Outer {
            delta,
            input,
            second: Some((delta2, input2)),
        }
    }

    /// Writes the gradient into `grad`: `W ← δ rᵀ (+ δ₂ r₂ᵀ)`, `b ← Σ_b δ_b (+ Σ_b δ₂_b)`.
    pub fn write<K: Kernel>(&self, grad: &mut Dense<O, I>)
    where
        DefaultAllocator: Allocator<O, I> + Allocator<O>,
    {
        Dense::gradient_from_delta::<K, B>(self.input, self.delta, grad);
        if let Some((d2, r2)) = self.second {
            K::gemm_nt(&mut grad.w, 1.0, d2, r2, 1.0);
            add_column_sums(grad.b.as_mut_slice(), d2.as_slice());
        }
    }

    /// Checks every factor for NaN/∞ (`stage`, layer `number`).
    pub fn check_finite(&self, stage: Stage, number: usize) -> Result<(), Error> {
        check_finite(self.delta.as_slice(), stage, number)?;
        check_finite(self.input.as_slice(), stage, number)?;
        if let Some((d2, r2)) = self.second {
            check_finite(d2.as_slice(), stage, number)?;
            check_finite(r2.as_slice(), stage, number)?;
        }
        Ok(())
    }
}
