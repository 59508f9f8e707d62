//! Backpropagation through the same networks: the baseline DTP is compared with.

use crate::OMat;
use crate::config::Gradient;
use crate::config::Units;
use crate::dense::Dense;
use crate::dtp::apply;
use crate::error::Error;
use crate::kernel::Kernel;
use crate::layout::{Alloc, Layout, Width};
use crate::loss::output_delta_over;
use crate::quantise::Quantiser;
use crate::trainer::{StepStats, Trainer, Workspace};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;

impl<L: Layout, B: Dim, K: Kernel> Trainer<L, B, K>
where
    DefaultAllocator: Alloc<L, B>,
{
    /// One backprop step on the batch in the buffers, with the forward optimiser:
    /// `δ_M = ∂L/∂z_M`, then downward `∂L/∂q(h_{i}) = W_{i+1}ᵀ δ_{i+1}`,
    /// `δ_i = ∂L/∂q(h_i) ⊙ q'(h_i) ⊙ s'(h_i)`, `∂L/∂W_i = δ_i q(h_{i-1})ᵀ`.
    ///
    /// `q'` is 0 through sign and Bernoulli quantisers ([`Gradient::Exact`]: no signal reaches
    /// the layers below a discrete one) or 1 ([`Gradient::StraightThrough`]). Each layer's
    /// error signal is passed down before that layer is updated, so every gradient is the
    /// exact gradient at the parameters the step started from.
    pub fn backprop_step<G: Rng + ?Sized>(
        &mut self,
        gradient: Gradient,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        self.check_batch()?;
        let stats = self.forward(true, rng)?;
        let units = self.config.units;
        let opt = self.config.forward_at(self.epoch);
        let (ws, grad, state) = (&mut self.ws, &mut self.grad, &mut self.forward_state);
        ws.backprop_output::<K>(&self.net.output, units, &mut grad.output);
        let number = self.net.layers();
        apply(
            &opt,
            &mut self.net.output,
            &grad.output,
            &mut state.output,
            number,
        )?;
        for k in (1..=self.net.depth()).rev() {
            let layer = &mut self.net.hidden.as_mut()[k - 1];
            let g = grad.fit_hidden(layer);
            ws.backprop_hidden::<K>(layer, units, gradient, k, g);
            apply(&opt, layer, g, &mut state.hidden.as_mut()[k - 1], k + 1)?;
        }
        ws.backprop_first::<K>(units, gradient, &mut grad.first);
        apply(&opt, &mut self.net.first, &grad.first, &mut state.first, 1)?;
        Ok(stats)
    }
}

/// Backprop's arithmetic on one set of minibatch buffers, layer by layer from the top, each
/// layer's gradient into a buffer the caller passes (and applies). `s1` carries
/// `∂L/∂q(h_k)` down; each call reads the layer's weights before the caller changes them.
impl<L: Layout, B: Dim> Workspace<L, B>
where
    DefaultAllocator: Alloc<L, B>,
{
    /// The output layer: `δ_M = ∂L/∂z_M`, its gradient into `grad`, and
    /// `s1 ← ∂L/∂q(h_{M-1}) = W_Mᵀ δ_M`.
    pub(crate) fn backprop_output<K: Kernel>(
        &mut self,
        output: &Dense<L::Out, L::Hidden>,
        units: Units,
        grad: &mut Dense<L::Out, L::Hidden>,
    ) {
        let r = self.h.len() - 1;
        let batch = self.mean_over();
        output_delta_over(units.output, &self.p, &self.t, &mut self.delta_out, batch);
        let shape = self.h[r].shape_generic();
        L::Hidden::fit(&mut self.s1, shape.0, shape.1);
        K::gemm_tn(&mut self.s1, 1.0, &output.w, &self.delta_out, 0.0);
        Dense::gradient_from_delta::<K, B>(&self.read[r], &self.delta_out, grad);
    }

    /// Turns `s1 = ∂L/∂q(h_k)` into `δ_k = ∂L/∂z_k` in place.
    fn backprop_delta(&mut self, units: Units, gradient: Gradient, k: usize) {
        let reads_through = if k + 1 == self.h.len() {
            units.into_output
        } else {
            units.between
        };
        through_quantiser(&mut self.s1, reads_through, gradient);
        for (d, &h) in self.s1.as_mut_slice().iter_mut().zip(self.h[k].as_slice()) {
            *d *= units.hidden.derivative_from_output(h);
        }
    }

    /// The hidden layer `f_{k+1}` (`layer`, hidden index `k ≥ 1`): `δ_k`, its gradient into
    /// `grad`, and `s1 ← ∂L/∂q(h_{k-1}) = W_{k+1}ᵀ δ_k`.
    pub(crate) fn backprop_hidden<K: Kernel>(
        &mut self,
        layer: &Dense<L::Hidden, L::Hidden>,
        units: Units,
        gradient: Gradient,
        k: usize,
        grad: &mut Dense<L::Hidden, L::Hidden>,
    ) {
        self.backprop_delta(units, gradient, k);
        let below = self.h[k - 1].shape_generic();
        L::Hidden::fit(&mut self.s2, below.0, below.1);
        K::gemm_tn(&mut self.s2, 1.0, &layer.w, &self.s1, 0.0);
        Dense::gradient_from_delta::<K, B>(&self.read[k - 1], &self.s1, grad);
        core::mem::swap(&mut self.s1, &mut self.s2);
    }

    /// Layer 1: `δ_0` and its gradient `δ_0 xᵀ` into `grad`.
    pub(crate) fn backprop_first<K: Kernel>(
        &mut self,
        units: Units,
        gradient: Gradient,
        grad: &mut Dense<L::Hidden, L::In>,
    ) {
        self.backprop_delta(units, gradient, 0);
        Dense::gradient_from_delta::<K, B>(&self.x, &self.s1, grad);
    }
}

/// Multiplies `∂L/∂q(h)` by `q'(h)`: 1 for the identity and for straight-through, 0 for an
/// exact gradient through sign or sampling.
fn through_quantiser<H: Dim, B: Dim>(g: &mut OMat<H, B>, q: Quantiser, gradient: Gradient)
where
    DefaultAllocator: Allocator<H, B>,
{
    if !q.is_identity() && gradient == Gradient::Exact {
        g.fill(0.0);
    }
}
