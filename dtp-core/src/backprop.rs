//! Backpropagation through the same networks: the baseline DTP is compared with.

use crate::config::Gradient;
use crate::config::Units;
use crate::dense::Dense;
use crate::dtp::FORWARD;
use crate::error::Error;
use crate::gradient::{GradientStore, Outer, apply_gradient};
use crate::kernel::Kernel;
use crate::layout::{Alloc, Layout, Width};
use crate::loss::output_delta_over;
use crate::mat::OMat;
use crate::quantise::Quantiser;
use crate::trainer::FeedbackState;
use crate::trainer::{StepStats, Trainer, Workspace};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;

impl<L: Layout, B: Dim, K: Kernel, S: GradientStore<L>, V: FeedbackState<L::Hidden>>
    Trainer<L, B, K, S, V>
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
        let (ws, store, state) = (&mut self.ws, &mut self.grad, &mut self.forward_state);
        let net = &mut self.net;
        let number = net.layers();
        // Layers of `Config::frozen` pass their error signal down but are not written.
        let frozen = self.config.frozen;
        let grad = ws.backprop_output::<K>(&net.output, units);
        let (layer, output) = (&mut net.output, &mut state.output);
        if !frozen.contains(number) {
            let buffer = store.output();
            apply_gradient::<K, _, _, B>(buffer, &opt, layer, output, grad, number, FORWARD)?;
        }
        for k in (1..=net.depth()).rev() {
            let (layer, state) = (
                &mut net.hidden.as_mut()[k - 1],
                &mut state.hidden.as_mut()[k - 1],
            );
            let grad = ws.backprop_hidden::<K>(layer, units, gradient, k);
            if !frozen.contains(k + 1) {
                let buffer = store.hidden(layer);
                apply_gradient::<K, _, _, B>(buffer, &opt, layer, state, grad, k + 1, FORWARD)?;
            }
        }
        let grad = ws.backprop_first(units, gradient);
        let (layer, first) = (&mut net.first, &mut state.first);
        if !frozen.contains(1) {
            apply_gradient::<K, _, _, B>(store.first(), &opt, layer, first, grad, 1, FORWARD)?;
        }
        Ok(stats)
    }
}

/// Backprop's arithmetic on one set of minibatch buffers, layer by layer from the top, each
/// call returning the layer's gradient (which the caller applies). `s1` carries
/// `∂L/∂q(h_k)` down; each call reads the layer's weights before the caller changes them.
impl<L: Layout, B: Dim> Workspace<L, B>
where
    DefaultAllocator: Alloc<L, B>,
{
    /// The output layer: `δ_M = ∂L/∂z_M`, `s1 ← ∂L/∂q(h_{M-1}) = W_Mᵀ δ_M`; returns the
    /// gradient `δ_M q(h_{M-1})ᵀ`.
    pub(crate) fn backprop_output<K: Kernel>(
        &mut self,
        output: &Dense<L::Out, L::Hidden>,
        units: Units,
    ) -> Outer<'_, L::Out, L::Hidden, B> {
        let r = self.h.len() - 1;
        let batch = self.mean_over();
        output_delta_over(units.output, &self.p, &self.t, &mut self.delta_out, batch);
        let shape = self.h[r].shape_generic();
        L::Hidden::fit(&mut self.s1, shape.0, shape.1);
        K::gemm_tn(&mut self.s1, 1.0, &output.w, &self.delta_out, 0.0);
        Outer::new(&self.delta_out, &self.read[r])
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

    /// The hidden layer `f_{k+1}` (`layer`, hidden index `k ≥ 1`): `δ_k` (left in `s2`),
    /// `s1 ← ∂L/∂q(h_{k-1}) = W_{k+1}ᵀ δ_k`; returns the gradient `δ_k q(h_{k-1})ᵀ`.
    pub(crate) fn backprop_hidden<K: Kernel>(
        &mut self,
        layer: &Dense<L::Hidden, L::Hidden>,
        units: Units,
        gradient: Gradient,
        k: usize,
    ) -> Outer<'_, L::Hidden, L::Hidden, B> {
        self.backprop_delta(units, gradient, k);
        let below = self.h[k - 1].shape_generic();
        L::Hidden::fit(&mut self.s2, below.0, below.1);
        K::gemm_tn(&mut self.s2, 1.0, &layer.w, &self.s1, 0.0);
        core::mem::swap(&mut self.s1, &mut self.s2);
        Outer::new(&self.s2, &self.read[k - 1])
    }

    /// Layer 1: `δ_0`; returns its gradient `δ_0 xᵀ`.
    pub(crate) fn backprop_first(
        &mut self,
        units: Units,
        gradient: Gradient,
    ) -> Outer<'_, L::Hidden, L::In, B> {
        self.backprop_delta(units, gradient, 0);
        Outer::new(&self.s1, &self.x)
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
