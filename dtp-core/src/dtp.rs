//! The five steps of Difference Target Propagation, as methods of [`Trainer`].
//!
//! Notation (Lee et al. 2015): `h_0 = x`, `h_i = f_i(h_{i-1}) = s_i(W_i q(h_{i-1}) + b_i)`
//! for the hidden layers `i = 1 … M−1`, `p = f_M(h_{M-1})` the output, `q` the quantiser with
//! which a layer reads the one below, inverses `g_i(h_i) = s(V_i q(h_i) + c_i)` for
//! `i = 2 … M−1`. In code, hidden layer `i` is index `k = i − 1`.

use crate::dense::Dense;
use crate::error::{Error, Stage, check_finite};
use crate::kernel::Kernel;
use crate::loss::{correct, loss, output_activation, output_delta};
use crate::noise::add_gaussian;
use crate::trainer::{StepStats, Trainer};
use rand_core::Rng;

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize, const B: usize, K: Kernel>
    Trainer<IN, H, OUT, R, B, K>
{
    /// **Step 1 — forward pass**, keeping every activation:
    /// `h_i = s_i(W_i q(h_{i-1}) + b_i)` for `i = 1 … M−1`, then the output
    /// `p = softmax(W_M q(h_{M-1}) + b_M)` (or `s(·)` for MSE) and the loss `L(p, t)`.
    ///
    /// In training (`training = true`) Gaussian input noise of the configured σ is added to
    /// the input buffer in place. Bernoulli quantisers draw from `rng`.
    pub fn forward<G: Rng + ?Sized>(
        &mut self,
        training: bool,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        let units = self.config.units;
        let ws = &mut self.ws;
        if training {
            add_gaussian(ws.x.as_mut_slice(), self.config.input_noise, rng);
        }
        self.net
            .first
            .forward::<K, B>(units.hidden, &ws.x, &mut ws.h.first);
        for k in 0..R {
            let (below, above) = split_pair(&mut ws.h, k);
            let (q, act) = (units.between, units.hidden);
            let layer = &self.net.hidden[k];
            layer.forward_read::<K, G, B>(q, act, below, &mut ws.read[k], above, rng);
        }
        units
            .into_output
            .apply(ws.h[R].as_slice(), ws.read[R].as_mut_slice(), rng);
        self.net
            .output
            .forward::<K, B>(crate::Activation::Linear, &ws.read[R], &mut ws.p);
        output_activation(units.output, &mut ws.p);
        check_finite(ws.p.as_slice(), Stage::Forward, Self::output_layer())?;
        let loss = loss(units.output, &ws.p, &ws.t);
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                stage: Stage::Forward,
                layer: Self::output_layer() as u16,
            });
        }
        Ok(StepStats {
            loss,
            correct: correct(&ws.p, &ws.t),
        })
    }

    /// **Step 2 — top target** on the last hidden layer:
    /// `ĥ_{M-1} = h_{M-1} − η̂ ∂L/∂q(h_{M-1})`, with `∂L/∂q(h_{M-1}) = W_Mᵀ ∂L/∂z_M`.
    ///
    /// `L` is the batch mean, so each sample moves by `η̂/B` times its own gradient. The
    /// gradient is taken at the value the output layer read; for a sampled last layer this is
    /// the reference's correction `ĥ_{M-1} = h_{M-1} + (ĥ_{M-1}^b − h_{M-1}^b)`.
    /// Also keeps `∂L/∂z_M` for the output layer's update. Needs [`forward`](Self::forward).
    pub fn top_target(&mut self) -> Result<(), Error> {
        let ws = &mut self.ws;
        output_delta(self.config.units.output, &ws.p, &ws.t, &mut ws.delta_out);
        let target = &mut ws.target[R];
        target.copy_from(&ws.h[R]);
        K::gemm_tn(
            target,
            -self.config.eta_hat,
            &self.net.output.w,
            &ws.delta_out,
            1.0,
        );
        check_finite(target.as_slice(), Stage::Target, R + 1)
    }

    /// **Step 3 — difference targets**, downward for `i = M−1 … 2`:
    /// `ĥ_{i-1} = h_{i-1} + (g_i(ĥ_i) − g_i(h_i))`.
    ///
    /// The difference is formed first, so `ĥ_i = h_i` gives `ĥ_{i-1} = h_{i-1}` bit for bit
    /// (when `g_i` reads through a deterministic quantiser).
    pub fn difference_targets<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        let units = self.config.units;
        let ws = &mut self.ws;
        for k in (1..=R).rev() {
            // Hidden index k is layer i = k + 1, inverted by inverse[k - 1].
            let (g_target, g_h) = (&mut ws.s1, &mut ws.s2);
            let g = &self.net.inverse[k - 1];
            let (q, act) = (units.into_inverse, units.inverse);
            g.forward_read::<K, G, B>(q, act, &ws.target[k], &mut ws.s3, g_target, rng);
            g.forward_read::<K, G, B>(q, act, &ws.h[k], &mut ws.s3, g_h, rng);
            let below = &mut ws.target[k - 1];
            for ((t, &h), (&gt, &gh)) in below
                .iter_mut()
                .zip(ws.h[k - 1].iter())
                .zip(g_target.iter().zip(g_h.iter()))
            {
                *t = h + (gt - gh);
            }
            check_finite(ws.target[k - 1].as_slice(), Stage::Target, k)?;
        }
        Ok(())
    }

    /// **Step 4 — inverse step**, for `i = 2 … M−1`: corrupt `h̃ = h_{i-1} + ε`,
    /// `ε ~ N(0, σ²)`, and take an optimiser step on `(V_i, c_i)` to reduce
    /// `(1/B) Σ_b ‖g_i(f_i(h̃)) − h̃‖²` with `f_i(h̃)` and `h̃` held constant.
    ///
    /// Needs the activations of [`forward`](Self::forward). Noise is drawn layer by layer
    /// (`i` increasing), sample by sample, unit by unit.
    pub fn inverse_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        let units = self.config.units;
        for k in 1..=R {
            let ws = &mut self.ws;
            let (corrupt, f_out, read, g_out) = (&mut ws.s1, &mut ws.s2, &mut ws.s3, &mut ws.s4);
            corrupt.copy_from(&ws.h[k - 1]);
            add_gaussian(corrupt.as_mut_slice(), sigma, rng);
            let (f, g) = (&self.net.hidden[k - 1], &self.net.inverse[k - 1]);
            f.forward_read::<K, G, B>(units.between, units.hidden, corrupt, read, f_out, rng);
            g.forward_read::<K, G, B>(units.into_inverse, units.inverse, f_out, read, g_out, rng);
            // g_out becomes δ in place of the next call's scratch: use f_out as δ.
            let delta = f_out;
            self.inverse_loss[k - 1] = Dense::local_gradient::<K, B>(
                units.inverse,
                read,
                g_out,
                corrupt,
                delta,
                &mut self.grad.hidden,
            );
            let layer = k + 1;
            check_finite(self.grad.hidden.w.as_slice(), Stage::InverseGradient, layer)?;
            check_finite(self.grad.hidden.b.as_slice(), Stage::InverseGradient, layer)?;
            let ok = self.config.inverse.update_dense(
                &mut self.net.inverse[k - 1],
                &self.grad.hidden,
                &mut self.inverse_state.hidden[k - 1],
            );
            if !ok {
                return Err(Error::NonFinite {
                    stage: Stage::InverseWeights,
                    layer: layer as u16,
                });
            }
        }
        Ok(())
    }

    /// **Step 5 — forward step**: for each hidden layer `i = 1 … M−1` an optimiser step on
    /// `(W_i, b_i)` to reduce the local loss `(1/B) Σ_b ‖f_i(h_{i-1}) − ĥ_i‖²` with the read
    /// input `q(h_{i-1})` and the target `ĥ_i` held constant; for the output layer a step on
    /// `L` itself with `q(h_{M-1})` held constant (`∂L/∂W_M = ∂L/∂z_M q(h_{M-1})ᵀ`).
    ///
    /// Needs [`forward`](Self::forward), [`top_target`](Self::top_target) and
    /// [`difference_targets`](Self::difference_targets). Each layer's gradient is checked
    /// for NaN/∞ before that layer is written.
    pub fn forward_step(&mut self) -> Result<(), Error> {
        let act = self.config.units.hidden;
        let opt = self.config.forward;
        let ws = &mut self.ws;
        let grad = &mut self.grad;
        let state = &mut self.forward_state;
        // Layer 1 reads the input.
        self.local_loss[0] = Dense::local_gradient::<K, B>(
            act,
            &ws.x,
            &ws.h[0],
            &ws.target[0],
            &mut ws.s1,
            &mut grad.first,
        );
        apply(&opt, &mut self.net.first, &grad.first, &mut state.first, 1)?;
        for k in 1..=R {
            self.local_loss[k] = Dense::local_gradient::<K, B>(
                act,
                &ws.read[k - 1],
                &ws.h[k],
                &ws.target[k],
                &mut ws.s1,
                &mut grad.hidden,
            );
            apply(
                &opt,
                &mut self.net.hidden[k - 1],
                &grad.hidden,
                &mut state.hidden[k - 1],
                k + 1,
            )?;
        }
        Dense::gradient_from_delta::<K, B>(&ws.read[R], &ws.delta_out, &mut grad.output);
        apply(
            &opt,
            &mut self.net.output,
            &grad.output,
            &mut state.output,
            Self::output_layer(),
        )
    }

    /// The paper's number `M` of the output layer.
    pub(crate) const fn output_layer() -> usize {
        R + 2
    }
}

/// Checks a forward layer's gradient, then applies the optimiser to it.
pub(crate) fn apply<const O: usize, const I: usize>(
    opt: &crate::Optimiser,
    layer: &mut Dense<O, I>,
    grad: &Dense<O, I>,
    state: &mut crate::DenseState<O, I>,
    number: usize,
) -> Result<(), Error> {
    check_finite(grad.w.as_slice(), Stage::ForwardGradient, number)?;
    check_finite(grad.b.as_slice(), Stage::ForwardGradient, number)?;
    if opt.update_dense(layer, grad, state) {
        Ok(())
    } else {
        Err(Error::NonFinite {
            stage: Stage::ForwardWeights,
            layer: number as u16,
        })
    }
}

/// `(&h[k], &mut h[k + 1])` from one [`Hidden`](crate::Hidden).
pub(crate) fn split_pair<T, const R: usize>(h: &mut crate::Hidden<T, R>, k: usize) -> (&T, &mut T) {
    if k == 0 {
        (&h.first, &mut h.rest[0])
    } else {
        let (lo, hi) = h.rest.split_at_mut(k);
        (&lo[k - 1], &mut hi[0])
    }
}
