//! Backpropagation through the same networks: the baseline DTP is compared with.

use crate::OMat;
use crate::config::Gradient;
use crate::dense::Dense;
use crate::dtp::apply;
use crate::error::Error;
use crate::kernel::Kernel;
use crate::layout::{Alloc, Layout, Width};
use crate::quantise::Quantiser;
use crate::trainer::{StepStats, Trainer};
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
        let r = self.net.depth();
        let ws = &mut self.ws;
        crate::loss::output_delta(units.output, &ws.p, &ws.t, &mut ws.delta_out);
        // s1 ← ∂L/∂q(h_{M-1}), before W_M changes.
        let shape = ws.h[r].shape_generic();
        L::Hidden::fit(&mut ws.s1, shape.0, shape.1);
        K::gemm_tn(&mut ws.s1, 1.0, &self.net.output.w, &ws.delta_out, 0.0);
        Dense::gradient_from_delta::<K, B>(&ws.read[r], &ws.delta_out, &mut self.grad.output);
        apply(
            &opt,
            &mut self.net.output,
            &self.grad.output,
            &mut self.forward_state.output,
            r + 2,
        )?;
        for k in (0..=r).rev() {
            let reads_through = if k == r {
                units.into_output
            } else {
                units.between
            };
            // s1 holds ∂L/∂q(h_k); turn it into δ_k = ∂L/∂z_k in place.
            through_quantiser(&mut ws.s1, reads_through, gradient);
            for (d, &h) in ws.s1.as_mut_slice().iter_mut().zip(ws.h[k].as_slice()) {
                *d *= units.hidden.derivative_from_output(h);
            }
            if k == 0 {
                Dense::gradient_from_delta::<K, B>(&ws.x, &ws.s1, &mut self.grad.first);
                apply(
                    &opt,
                    &mut self.net.first,
                    &self.grad.first,
                    &mut self.forward_state.first,
                    1,
                )?;
            } else {
                // s2 ← ∂L/∂q(h_{k-1}) = W_kᵀ δ_k, before W_k changes.
                let below = ws.h[k - 1].shape_generic();
                L::Hidden::fit(&mut ws.s2, below.0, below.1);
                let layer = &mut self.net.hidden.as_mut()[k - 1];
                K::gemm_tn(&mut ws.s2, 1.0, &layer.w, &ws.s1, 0.0);
                let g = self.grad.fit_hidden(layer);
                Dense::gradient_from_delta::<K, B>(&ws.read[k - 1], &ws.s1, g);
                apply(
                    &opt,
                    layer,
                    g,
                    &mut self.forward_state.hidden.as_mut()[k - 1],
                    k + 1,
                )?;
                core::mem::swap(&mut ws.s1, &mut ws.s2);
            }
        }
        Ok(stats)
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
