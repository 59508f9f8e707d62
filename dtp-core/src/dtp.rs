//! The five steps of Difference Target Propagation, as methods of [`Trainer`].
//!
//! Notation (Lee et al. 2015): `h_0 = x`, `h_i = f_i(h_{i-1}) = s_i(W_i q(h_{i-1}) + b_i)`
//! for the hidden layers `i = 1 … M−1`, `p = f_M(h_{M-1})` the output, `q` the quantiser with
//! which a layer reads the one below, inverses `g_i(h_i) = s(V_i q(h_i) + c_i)` for
//! `i = 2 … M−1`. In code, hidden layer `i` is index `k = i − 1`; `R = M − 2`.

use crate::Activation;
use crate::config::{Config, Feedback, Units};
use crate::dense::Dense;
use crate::error::{Error, Stage, check_finite};
use crate::gradient::{GradientStore, Outer, apply_gradient};
use crate::kernel::Kernel;
use crate::layout::{Alloc, Layout, Width};
use crate::loss::{correct, loss_over, output_activation, output_delta_over};
use crate::net::Net;
use crate::noise::{add_gaussian, add_gaussian_to};
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
    /// **Step 1 — forward pass**, keeping every activation:
    /// `h_i = s_i(W_i q(h_{i-1}) + b_i)` for `i = 1 … M−1`, then the output
    /// `p = softmax(W_M q(h_{M-1}) + b_M)` (or `s(·)` for MSE) and the loss `L(p, t)`.
    ///
    /// In training (`training = true`) Gaussian input noise of the configured σ is added to
    /// the input buffer in place. Bernoulli quantisers draw from `rng`.
    /// # Example
    /// The five steps by hand, as [`step`](Self::step) runs them (a 4-6-6-6-3 network, two
    /// samples):
    /// ```
    /// # use dtp_core::{Config, FixedTrainer, Init};
    /// # use rand_pcg::Pcg32;
    /// # let mut rng = Pcg32::new(1, 1);
    /// # let mut t: FixedTrainer<4, 6, 3, 2, 2> =
    /// #     FixedTrainer::new(Config::CONTINUOUS, Init::Orthogonal, &mut rng).unwrap();
    /// # t.input_mut().copy_from_slice(&[0.9, 0.1, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6]);
    /// # t.labels_mut()[(0, 0)] = 1.0;
    /// # t.labels_mut()[(2, 1)] = 1.0;
    /// let stats = t.forward(true, &mut rng).unwrap(); // 1: h_1 … h_3, p and L
    /// t.inverse_step(t.sigma(), &mut rng).unwrap(); //      4: g_2, g_3 learn to invert f_2, f_3
    /// t.top_target().unwrap(); //                           2: ĥ_3 = h_3 − η̂ ∂L/∂h_3
    /// t.difference_targets(&mut rng).unwrap(); //           3: ĥ_2, ĥ_1 through g_3, g_2
    /// t.forward_step().unwrap(); //                         5: every layer towards its target
    /// assert!(stats.loss.is_finite() && t.net.is_finite());
    /// ```
    pub fn forward<G: Rng + ?Sized>(
        &mut self,
        training: bool,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        self.ws
            .forward::<K, G>(&self.net, &self.config, training, rng)
    }

    /// **Step 2 — top target** on the last hidden layer:
    /// `ĥ_{M-1} = h_{M-1} − η̂ ∂L/∂q(h_{M-1})`, with `∂L/∂q(h_{M-1}) = W_Mᵀ ∂L/∂z_M`.
    ///
    /// `L` is the batch mean, so each sample moves by `η̂/B` times its own gradient. The
    /// gradient is taken at the value the output layer read; for a sampled last layer this is
    /// the reference's correction `ĥ_{M-1} = h_{M-1} + (ĥ_{M-1}^b − h_{M-1}^b)`.
    /// Also keeps `∂L/∂z_M` for the output layer's update. Needs [`forward`](Self::forward).
    /// # Example
    /// ```
    /// # use dtp_core::{Config, FixedTrainer, Init};
    /// # use rand_pcg::Pcg32;
    /// # let mut rng = Pcg32::new(1, 1);
    /// # let mut t: FixedTrainer<4, 6, 3, 2, 2> =
    /// #     FixedTrainer::new(Config::CONTINUOUS, Init::Orthogonal, &mut rng).unwrap();
    /// # t.input_mut().copy_from_slice(&[0.9, 0.1, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6]);
    /// # t.labels_mut()[(0, 0)] = 1.0;
    /// # t.labels_mut()[(2, 1)] = 1.0;
    /// t.forward(false, &mut rng).unwrap();
    /// t.top_target().unwrap();
    /// // The top target moves the last hidden layer against the gradient of L.
    /// assert_ne!(t.targets()[2], t.activations()[2]);
    /// ```
    pub fn top_target(&mut self) -> Result<(), Error> {
        self.ws.top_target::<K>(&self.net, &self.config)
    }

    /// **Step 3 — difference targets**, downward for `i = M−1 … 2`:
    /// `ĥ_{i-1} = h_{i-1} + (g_i(ĥ_i) − g_i(h_i))`.
    ///
    /// The difference is formed first, so `ĥ_i = h_i` gives `ĥ_{i-1} = h_{i-1}` bit for bit
    /// (when `g_i` reads through a deterministic quantiser).
    /// # Example
    /// With `η̂ = 0` the top target is the activation, and so is every target below it:
    /// ```
    /// # use dtp_core::{Config, FixedTrainer, Init};
    /// # use rand_pcg::Pcg32;
    /// # let mut rng = Pcg32::new(1, 1);
    /// # let mut t: FixedTrainer<4, 6, 3, 2, 2> =
    /// #     FixedTrainer::new(Config::CONTINUOUS, Init::Orthogonal, &mut rng).unwrap();
    /// # t.input_mut().copy_from_slice(&[0.9, 0.1, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6]);
    /// # t.labels_mut()[(0, 0)] = 1.0;
    /// # t.labels_mut()[(2, 1)] = 1.0;
    /// let mut c = *t.config();
    /// c.eta_hat = 0.0;
    /// t.set_config(c).unwrap();
    /// t.forward(false, &mut rng).unwrap();
    /// t.top_target().unwrap();
    /// t.difference_targets(&mut rng).unwrap();
    /// for k in 0..3 {
    ///     assert_eq!(t.targets()[k], t.activations()[k]);
    /// }
    /// ```
    pub fn difference_targets<G: Rng + ?Sized>(&mut self, rng: &mut G) -> Result<(), Error> {
        if let Some(d) = self.inverse_state.direct_linear::<L, B>() {
            return d.targets::<K>(&mut self.ws, &self.net, &self.config);
        }
        self.ws
            .difference_targets::<K, G>(&self.net, &self.config, rng)
    }

    /// **Step 4, by the configured rule** ([`Config::feedback`](crate::Config::feedback)):
    /// [`inverse_step`](Self::inverse_step) for DTP, [`drl_step`](Self::drl_step) for the
    /// difference reconstruction loss, nothing (no noise drawn) for fixed feedback weights.
    pub fn feedback_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        self.feedback_by(self.config.feedback, sigma, rng)
    }

    /// **Step 4 — inverse step**, for `i = 2 … M−1`: corrupt `h̃ = h_{i-1} + ε`,
    /// `ε ~ N(0, σ²)`, and take an optimiser step on `(V_i, c_i)` to reduce
    /// `(1/B) Σ_b ‖g_i(f_i(h̃)) − h̃‖²` with `f_i(h̃)` and `h̃` held constant.
    ///
    /// Needs the activations of [`forward`](Self::forward). Noise is drawn layer by layer
    /// (`i` increasing), sample by sample, unit by unit.
    /// # Example
    /// Inverse training lowers the reconstruction error of `g_2 ∘ f_2`:
    /// ```
    /// # use dtp_core::{Config, FixedTrainer, Init};
    /// # use rand_pcg::Pcg32;
    /// # let mut rng = Pcg32::new(1, 1);
    /// # let mut t: FixedTrainer<4, 6, 3, 2, 2> =
    /// #     FixedTrainer::new(Config::CONTINUOUS, Init::Orthogonal, &mut rng).unwrap();
    /// # t.input_mut().copy_from_slice(&[0.9, 0.1, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6]);
    /// # t.labels_mut()[(0, 0)] = 1.0;
    /// # t.labels_mut()[(2, 1)] = 1.0;
    /// t.forward(false, &mut rng).unwrap();
    /// t.inverse_step(0.0, &mut rng).unwrap();
    /// let first = t.inverse_loss[0];
    /// for _ in 0..50 {
    ///     t.inverse_step(0.0, &mut rng).unwrap();
    /// }
    /// assert!(t.inverse_loss[0] < first);
    /// ```
    pub fn inverse_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        self.feedback_by(Feedback::Dtp, sigma, rng)
    }

    /// **Step 4 by the difference reconstruction loss** (DRL; Meulemans et al. 2020, "A
    /// Theoretical Framework for Target Propagation", the first term of their `L^rec`, as in
    /// their `DTPDRLLayer`), for `i = 2 … M−1`:
    ///
    /// 1. corrupt `h̃_{i-1} = h_{i-1} + ε`, `ε ~ N(0, σ²)`;
    /// 2. propagate it forward to the output layer's input:
    ///    `ĥ_j = f_j(ĥ_{j-1})` for `j = i … M−1`, starting from `ĥ_{i-1} = h̃_{i-1}`;
    /// 3. carry it back down with the difference rule, `ĥ_{j-1} = h_{j-1} + g_j(ĥ_j) − g_j(h_j)`
    ///    for `j = M−1 … i+1`, and once more through `g_i` to the reconstruction
    ///    `r_{i-1} = h_{i-1} + g_i(ĥ_i) − g_i(h_i)`;
    /// 4. take an optimiser step on `(V_i, c_i)` only, to reduce
    ///    `L_i = (1/σ²)(1/B) Σ_b ‖r_{i-1} − h̃_{i-1}‖²`.
    ///
    /// Trained: the parameters of `g_i`, in both its terms `g_i(ĥ_i)` and `g_i(h_i)`. Held
    /// constant: `h̃_{i-1}`, the forward layers, the activations `h_j`, and the feedback layers
    /// `g_{i+1} … g_{M-1}` above, so `ĥ_i` is constant too. With
    /// `e = r_{i-1} − h̃_{i-1}`, `δ_a = (2/(σ²B)) e ⊙ s'(g_i(ĥ_i))` and
    /// `δ_h = −(2/(σ²B)) e ⊙ s'(g_i(h_i))`:
    /// `∂L_i/∂V_i = δ_a q(ĥ_i)ᵀ + δ_h q(h_i)ᵀ`, `∂L_i/∂c_i = Σ_b (δ_a + δ_h)`.
    ///
    /// Layers go `i` increasing; `L_i` involves only `g_i … g_{M-1}`, so every loss is taken
    /// with the parameters from before this step. `σ` must be positive. Needs the activations
    /// of [`forward`](Self::forward); uses the target buffers as scratch (the forward half
    /// recomputes them). [`inverse_loss`](Self::inverse_loss) receives each `L_i`.
    pub fn drl_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        self.feedback_by(Feedback::Drl, sigma, rng)
    }

    /// Step 4 by `rule`: each inverse's loss and gradient ([`Workspace::feedback_gradient`]),
    /// then its optimiser step, `i` increasing. (Kept out of line, as `feedback_step` was
    /// before the step driver: on the device the caller then inlines the same code it did.)
    #[inline(never)]
    fn feedback_by<G: Rng + ?Sized>(
        &mut self,
        rule: Feedback,
        sigma: f32,
        rng: &mut G,
    ) -> Result<(), Error> {
        // Each arm passes its rule as a constant, so the per-layer choice folds away.
        match rule {
            Feedback::Fixed => Ok(()),
            Feedback::Dtp => self.feedback_layers(Feedback::Dtp, sigma, rng),
            Feedback::Drl => self.feedback_layers(Feedback::Drl, sigma, rng),
            Feedback::DdtpLinear | Feedback::DdtpRhl => self.direct_step(sigma, rng),
            Feedback::DtpOutput => self.dtp_output_step(sigma, rng),
        }
    }

    /// Step 4 by [`Feedback::DtpOutput`]: DTP's inverse steps, then the output layer's
    /// inverse's ([`direct_step`](Self::direct_step)). Run-time layouts only.
    #[cfg(feature = "alloc")]
    #[inline(never)]
    fn dtp_output_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        self.feedback_layers(Feedback::Dtp, sigma, rng)?;
        self.direct_step(sigma, rng)
    }

    /// Step 4 by [`Feedback::DtpOutput`]: needs a run-time layout (feature `alloc`).
    #[cfg(not(feature = "alloc"))]
    fn dtp_output_step<G: Rng + ?Sized>(&mut self, _: f32, _: &mut G) -> Result<(), Error> {
        Err(Error::NoFeedbackState)
    }

    /// **Step 4 by DDTP** ([`Feedback::DdtpLinear`], [`Feedback::DdtpRhl`]; for
    /// [`Feedback::DtpOutput`] the output layer's inverse alone, on DTP's reconstruction loss,
    /// see [`direct`](crate::direct)): for each hidden
    /// layer `i = 1 … M−1` an optimiser step (the inverse optimiser) on `(Q_i, c_i)` to reduce
    /// the difference reconstruction loss
    /// `L_i = (1/σ²)(1/B) Σ_b ‖h_i + g_i(z̃_M) − g_i(z_M) − h̃_i‖²`, `h̃_i = h_i + ε`,
    /// `ε ~ N(0, σ²)`, `z̃_M` the output pre-activation `h̃_i` leads to (see
    /// [`direct`](crate::direct)). Each `L_i` involves `Q_i` alone: every gradient is taken,
    /// then applied. The losses go to the direct state's `loss`. Run-time layouts only.
    #[cfg(feature = "alloc")]
    pub fn direct_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        use core::any::Any;
        if let Some(d) = self.inverse_state.direct_linear::<L, B>() {
            return d.step::<K, G>(&mut self.ws, &self.net, &self.config, sigma, rng);
        }
        use nalgebra::Dyn;
        let ws = (&mut self.ws as &mut dyn Any)
            .downcast_mut::<Workspace<crate::layout::Dynamic, Dyn>>()
            .ok_or(Error::NoFeedbackState)?;
        let net = (&mut self.net as &mut dyn Any)
            .downcast_mut::<Net<crate::layout::Dynamic>>()
            .ok_or(Error::NoFeedbackState)?;
        let st = crate::layout::OptSlot::get_mut(&mut self.direct_state)
            .ok_or(Error::NoFeedbackState)?;
        let sink = crate::direct::store::<K>(&mut st.grad, &mut st.loss);
        ws.direct_gradients::<K, G, _>(net, &self.config, sigma, rng, sink)?;
        let d = net.direct.as_deref_mut().ok_or(Error::NoFeedbackState)?;
        let opt = &self.config.inverse;
        let layers = d.q.iter_mut().zip(&st.grad).zip(&mut st.state);
        for (k, ((q, grad), state)) in layers.enumerate() {
            crate::gradient::apply_buffer(opt, q, grad, state, k + 1, INVERSE)?;
        }
        Ok(())
    }

    /// Step 4 by DDTP: DDTP-linear's maps held in place of the inverse state
    /// ([`DirectLinear`](crate::ddtp::DirectLinear)), or an error (other DDTP needs a
    /// run-time layout, feature `alloc`).
    #[cfg(not(feature = "alloc"))]
    pub fn direct_step<G: Rng + ?Sized>(&mut self, sigma: f32, rng: &mut G) -> Result<(), Error> {
        match self.inverse_state.direct_linear::<L, B>() {
            Some(d) => d.step::<K, G>(&mut self.ws, &self.net, &self.config, sigma, rng),
            None => Err(Error::NoFeedbackState),
        }
    }

    /// [`feedback_by`](Self::feedback_by)'s loop over the inverses.
    #[inline(always)]
    fn feedback_layers<G: Rng + ?Sized>(
        &mut self,
        rule: Feedback,
        sigma: f32,
        rng: &mut G,
    ) -> Result<(), Error> {
        let units = self.config.units;
        for k in 1..=self.net.depth() {
            let (loss, grad) = self
                .ws
                .feedback_gradient::<K, G>(rule, &self.net, units, k, sigma, rng)?;
            self.inverse_loss.as_mut()[k - 1] = loss;
            let state = self.inverse_state.state_mut(k - 1);
            let opt = &self.config.inverse;
            apply_inverse::<K, L, B, S>(&mut self.grad, opt, &mut self.net, state, k, grad)?;
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
    /// for NaN/∞ before that layer is written. Layers in
    /// [`Config::frozen`](crate::Config::frozen) are not written (nor their optimiser state).
    /// # Example
    /// ```
    /// # use dtp_core::{Config, FixedTrainer, Init};
    /// # use rand_pcg::Pcg32;
    /// # let mut rng = Pcg32::new(1, 1);
    /// # let mut t: FixedTrainer<4, 6, 3, 2, 2> =
    /// #     FixedTrainer::new(Config::CONTINUOUS, Init::Orthogonal, &mut rng).unwrap();
    /// # t.input_mut().copy_from_slice(&[0.9, 0.1, 0.3, 0.5, 0.2, 0.7, 0.4, 0.6]);
    /// # t.labels_mut()[(0, 0)] = 1.0;
    /// # t.labels_mut()[(2, 1)] = 1.0;
    /// t.forward(false, &mut rng).unwrap();
    /// t.top_target().unwrap();
    /// t.difference_targets(&mut rng).unwrap();
    /// let before = t.net.first.w;
    /// t.forward_step().unwrap();
    /// assert_ne!(t.net.first.w, before); // layer 1 learned from its local loss
    /// assert!(t.local_loss[0] >= 0.0);
    /// ```
    pub fn forward_step(&mut self) -> Result<(), Error> {
        let act = self.config.units.hidden;
        let opt = self.config.forward_at(self.epoch);
        let (ws, store, state) = (&mut self.ws, &mut self.grad, &mut self.forward_state);
        let net = &mut self.net;
        // Layers of `Config::frozen` keep their parameters; their local loss is still taken.
        let frozen = self.config.frozen;
        let (loss, grad) = ws.first_gradient(act);
        self.local_loss[0] = loss;
        let (layer, first) = (&mut net.first, &mut state.first);
        if !frozen.contains(1) {
            apply_gradient::<K, _, _, B>(store.first(), &opt, layer, first, grad, 1, FORWARD)?;
        }
        for k in 1..=net.depth() {
            let (layer, state) = (
                &mut net.hidden.as_mut()[k - 1],
                &mut state.hidden.as_mut()[k - 1],
            );
            let (loss, grad) = ws.hidden_gradient(act, k);
            self.local_loss[k] = loss;
            if !frozen.contains(k + 1) {
                let buffer = store.hidden(layer);
                apply_gradient::<K, _, _, B>(buffer, &opt, layer, state, grad, k + 1, FORWARD)?;
            }
        }
        let number = net.layers();
        if frozen.contains(number) {
            return Ok(());
        }
        let grad = ws.output_gradient();
        let (layer, output) = (&mut net.output, &mut state.output);
        apply_gradient::<K, _, _, B>(store.output(), &opt, layer, output, grad, number, FORWARD)
    }
}

/// The five steps' arithmetic on one set of minibatch buffers, given the network: what the
/// [`Trainer`] methods above run on their whole minibatch, and what each worker of the
/// chunk-parallel trainer runs on its share of one. Each layer's gradient goes into a
/// buffer the caller passes; the caller applies it.
impl<L: Layout, B: Dim> Workspace<L, B>
where
    DefaultAllocator: Alloc<L, B>,
{
    /// Step 1 on these buffers (see [`Trainer::forward`]); the loss is this share of `L`.
    pub(crate) fn forward<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<L>,
        config: &Config,
        training: bool,
        rng: &mut G,
    ) -> Result<StepStats, Error> {
        let units = config.units;
        let r = net.depth();
        self.hidden_layers::<K, G>(net, config, training, r, rng);
        units
            .into_output
            .apply(self.h[r].as_slice(), self.read[r].as_mut_slice(), rng);
        net.output
            .forward::<K, B>(crate::Activation::Linear, &self.read[r], &mut self.p);
        output_activation(units.output, &mut self.p);
        let output_layer = r + 2;
        check_finite(self.p.as_slice(), Stage::Forward, output_layer)?;
        let loss = loss_over(units.output, &self.p, &self.t, self.mean_over());
        if !loss.is_finite() {
            return Err(Error::NonFinite {
                stage: Stage::Forward,
                layer: output_layer as u16,
            });
        }
        Ok(StepStats {
            loss,
            correct: correct(&self.p, &self.t),
        })
    }

    /// Step 1 as far as training the inverses by DTP reads it (see
    /// [`inverse_gradient`](Self::inverse_gradient), which reads `h[k − 1]` for `k = 1 … r`):
    /// `h[0] … h[r−1]`, not the last hidden layer's product, the output layer or the loss. The
    /// random draws those would take (input noise first, then any stochastic quantiser's) are
    /// still taken in the same order, so the stream continues exactly as after
    /// [`forward`](Self::forward) and what follows gives the same bits.
    pub(crate) fn forward_for_inverses<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<L>,
        config: &Config,
        rng: &mut G,
    ) {
        let r = net.depth();
        self.hidden_layers::<K, G>(net, config, true, r.saturating_sub(1), rng);
        config.units.into_output.skip(self.h[r].len(), rng);
    }

    /// The input noise (when `training`) and the first layer of step 1, then hidden layer
    /// `k + 1` from `h[k]` for `k < computed`; for the layers above, only the draws their
    /// quantisers would take (see [`Quantiser::skip`]).
    fn hidden_layers<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<L>,
        config: &Config,
        training: bool,
        computed: usize,
        rng: &mut G,
    ) {
        let units = config.units;
        if training {
            add_gaussian(self.x.as_mut_slice(), config.input_noise, rng);
        }
        net.first
            .forward::<K, B>(units.hidden, &self.x, &mut self.h.first);
        let (q, act) = (units.between, units.hidden);
        for k in 0..net.depth() {
            let (below, above) = self.h.pair_mut(k);
            if k < computed {
                let layer = &net.hidden.as_ref()[k];
                layer.forward_read::<K, G, B>(q, act, below, &mut self.read[k], above, rng);
            } else {
                q.skip(below.len(), rng);
            }
        }
    }

    /// Step 2 on these buffers (see [`Trainer::top_target`]).
    pub(crate) fn top_target<K: Kernel>(
        &mut self,
        net: &Net<L>,
        config: &Config,
    ) -> Result<(), Error> {
        let r = net.depth();
        let batch = self.mean_over();
        output_delta_over(
            config.units.output,
            &self.p,
            &self.t,
            &mut self.delta_out,
            batch,
        );
        let target = &mut self.target[r];
        let (w, delta) = (&net.output.w, &self.delta_out);
        K::gemm_tn_from(target, -config.eta_hat, w, delta, &self.h[r]);
        check_finite(target.as_slice(), Stage::Target, r + 1)
    }

    /// Step 3 on these buffers (see [`Trainer::difference_targets`]).
    pub(crate) fn difference_targets<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<L>,
        config: &Config,
        rng: &mut G,
    ) -> Result<(), Error> {
        if config.feedback.reads_output() {
            // DDTP: every hidden layer's target from z_M; DTP with an inverse of the output
            // layer: the top one's, then down by the inverses below.
            self.direct_targets_any::<K>(net, config)?;
            if config.feedback.is_direct() {
                return Ok(());
            }
        }
        for k in (1..=net.depth()).rev() {
            self.difference_down::<K, G>(net, config.units, k, rng);
            check_finite(self.target[k - 1].as_slice(), Stage::Target, k)?;
        }
        Ok(())
    }

    /// DDTP's step 3 ([`direct`](crate::direct)), on the run-time layout's buffers.
    #[cfg(feature = "alloc")]
    fn direct_targets_any<K: Kernel>(
        &mut self,
        net: &Net<L>,
        config: &Config,
    ) -> Result<(), Error> {
        use core::any::Any;
        use nalgebra::Dyn;
        let ws = (self as &mut dyn Any)
            .downcast_mut::<Workspace<crate::layout::Dynamic, Dyn>>()
            .ok_or(Error::NoFeedbackState)?;
        let net = (net as &dyn Any)
            .downcast_ref::<Net<crate::layout::Dynamic>>()
            .ok_or(Error::NoFeedbackState)?;
        ws.direct_targets::<K>(net, config)
    }

    /// DDTP's step 3: needs a run-time layout (feature `alloc`). `K` is kept so callers are
    /// the same with and without the feature.
    #[cfg(not(feature = "alloc"))]
    #[allow(clippy::extra_unused_type_parameters)]
    fn direct_targets_any<K: Kernel>(&mut self, _: &Net<L>, _: &Config) -> Result<(), Error> {
        Err(Error::NoFeedbackState)
    }

    /// One difference step: `target[k−1] = h[k−1] + (g(target[k]) − g(h[k]))` with the
    /// inverse of hidden index `k` (layer `i = k + 1`, `inverse[k − 1]`). Uses `s1`–`s3`.
    fn difference_down<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<L>,
        units: Units,
        k: usize,
        rng: &mut G,
    ) {
        let g = &net.inverse.as_ref()[k - 1];
        let (below, above) = (self.h[k - 1].shape_generic(), self.h[k].shape_generic());
        let (g_target, g_h, read) = (&mut self.s1, &mut self.s2, &mut self.s3);
        L::Hidden::fit(g_target, below.0, below.1);
        L::Hidden::fit(g_h, below.0, below.1);
        L::Hidden::fit(read, above.0, above.1);
        let (q, act) = (units.into_inverse, units.inverse);
        g.forward_read::<K, G, B>(q, act, &self.target[k], read, g_target, rng);
        // The forward pass left `read[k] = q'(h[k])` with the quantiser `q'` of the layer
        // above; when that is `q` and deterministic, it is `q(h[k])` already.
        let above = if k + 1 < self.read.len() {
            units.between
        } else {
            units.into_output
        };
        if q == above && q != Quantiser::Bernoulli {
            g.forward::<K, B>(act, &self.read[k], g_h);
        } else {
            g.forward_read::<K, G, B>(q, act, &self.h[k], read, g_h, rng);
        }
        let below = &mut self.target[k - 1];
        for ((t, &h), (&gt, &gh)) in below
            .as_mut_slice()
            .iter_mut()
            .zip(self.h[k - 1].as_slice())
            .zip(g_target.as_slice().iter().zip(g_h.as_slice()))
        {
            *t = h + (gt - gh);
        }
    }

    /// Step 4 for the inverse `g_{k+1}` by `rule` (DTP or DRL; not [`Feedback::Fixed`],
    /// which trains nothing): its loss and its gradient. The one place the feedback rule is
    /// chosen, for every executor.
    #[inline(always)]
    pub(crate) fn feedback_gradient<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        rule: Feedback,
        net: &Net<L>,
        units: Units,
        k: usize,
        sigma: f32,
        rng: &mut G,
    ) -> Result<(f32, HiddenOuter<'_, L, B>), Error> {
        match rule {
            Feedback::Drl => self.drl_gradient::<K, G>(net, units, k, sigma, rng),
            _ => Ok(self.inverse_gradient::<K, G>(net, units, k, sigma, rng)),
        }
    }

    /// Step 4 for the inverse `g_{k+1}` (`inverse[k − 1]`) on these buffers (see
    /// [`Trainer::inverse_step`]): returns its reconstruction loss and its gradient.
    pub(crate) fn inverse_gradient<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<L>,
        units: Units,
        k: usize,
        sigma: f32,
        rng: &mut G,
    ) -> (f32, Outer<'_, L::Hidden, L::Hidden, B>) {
        let batch = self.mean_over();
        let (below, above) = (self.h[k - 1].shape_generic(), self.h[k].shape_generic());
        let (corrupt, f_out, read, g_out) =
            (&mut self.s1, &mut self.s2, &mut self.s3, &mut self.s4);
        L::Hidden::fit(corrupt, below.0, below.1);
        L::Hidden::fit(f_out, above.0, above.1);
        L::Hidden::fit(g_out, below.0, below.1);
        add_gaussian_to(corrupt.as_mut_slice(), self.h[k - 1].as_slice(), sigma, rng);
        let (f, g) = (&net.hidden.as_ref()[k - 1], &net.inverse.as_ref()[k - 1]);
        L::Hidden::fit(read, below.0, below.1);
        f.forward_read::<K, G, B>(units.between, units.hidden, corrupt, read, f_out, rng);
        L::Hidden::fit(read, above.0, above.1);
        g.forward_read::<K, G, B>(units.into_inverse, units.inverse, f_out, read, g_out, rng);
        // f_out is free again: it becomes δ (same shape as g_out).
        let delta = f_out;
        L::Hidden::fit(delta, below.0, below.1);
        let loss = Dense::<L::Hidden, L::Hidden>::local_delta_over(
            units.inverse,
            g_out,
            corrupt,
            delta,
            batch,
        );
        (loss, Outer::new(&self.s2, &self.s3))
    }

    /// Step 4 by DRL for the inverse `g_{k+1}` on these buffers (see [`Trainer::drl_step`]):
    /// returns `L_i` and its gradient (two terms: `δ_a q(ĥ_i)ᵀ + δ_h q(h_i)ᵀ`).
    pub(crate) fn drl_gradient<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<L>,
        units: Units,
        k: usize,
        sigma: f32,
        rng: &mut G,
    ) -> Result<(f32, HiddenOuter<'_, L, B>), Error> {
        let r = net.depth();
        let inv_var = 1.0 / (sigma * sigma);
        let layer = k + 1;
        // 1. h̃_{i-1} in s4 (kept to the end).
        let below = self.h[k - 1].shape_generic();
        L::Hidden::fit(&mut self.s4, below.0, below.1);
        self.s4
            .as_mut_slice()
            .copy_from_slice(self.h[k - 1].as_slice());
        add_gaussian(self.s4.as_mut_slice(), sigma, rng);
        // 2. Up to the last hidden layer, into target[k …= r].
        let hidden = net.hidden.as_ref();
        L::Hidden::fit(&mut self.s3, below.0, below.1);
        let (q, act) = (units.between, units.hidden);
        hidden[k - 1].forward_read::<K, G, B>(
            q,
            act,
            &self.s4,
            &mut self.s3,
            &mut self.target[k],
            rng,
        );
        for j in k + 1..=r {
            let (lower, upper) = self.target.pair_mut(j - 1);
            let shape = lower.shape_generic();
            L::Hidden::fit(&mut self.s3, shape.0, shape.1);
            hidden[j - 1].forward_read::<K, G, B>(q, act, lower, &mut self.s3, upper, rng);
        }
        // 3. Back down to ĥ_i (target[k]) through g_{M-1} … g_{i+1}.
        for j in (k + 1..=r).rev() {
            self.difference_down::<K, G>(net, units, j, rng);
        }
        check_finite(self.target[k].as_slice(), Stage::InverseGradient, layer)?;
        // … and through g_i: g_i(ĥ_i) in s1 (read from s3), g_i(h_i) in s2 (read into
        // target[k], free once s3 holds q(ĥ_i)).
        let g = &net.inverse.as_ref()[k - 1];
        let (below, above) = (self.h[k - 1].shape_generic(), self.h[k].shape_generic());
        L::Hidden::fit(&mut self.s1, below.0, below.1);
        L::Hidden::fit(&mut self.s2, below.0, below.1);
        L::Hidden::fit(&mut self.s3, above.0, above.1);
        let (q, act) = (units.into_inverse, units.inverse);
        g.forward_read::<K, G, B>(q, act, &self.target[k], &mut self.s3, &mut self.s1, rng);
        g.forward_read::<K, G, B>(q, act, &self.h[k], &mut self.target[k], &mut self.s2, rng);
        // 4. e = r − h̃ with r = h + (g(ĥ) − g(h)); δ_a into s1, δ_h into s2.
        let batch = self.mean_over();
        let scale = 2.0 * inv_var / batch;
        let mut sum = 0.0f32;
        for (((da, dh), &h), &c) in self
            .s1
            .as_mut_slice()
            .iter_mut()
            .zip(self.s2.as_mut_slice().iter_mut())
            .zip(self.h[k - 1].as_slice())
            .zip(self.s4.as_slice())
        {
            let (ga, gh) = (*da, *dh);
            let e = (h + (ga - gh)) - c;
            sum += e * e;
            *da = scale * e * act.derivative_from_output(ga);
            *dh = -scale * e * act.derivative_from_output(gh);
        }
        let grad = Outer::two(&self.s1, &self.s3, &self.s2, &self.target[k]);
        Ok((inv_var * sum / batch, grad))
    }

    /// Step 5 for layer 1 on these buffers: returns the local loss and its gradient
    /// `δ xᵀ` (`δ` in `s1`).
    pub(crate) fn first_gradient(
        &mut self,
        act: Activation,
    ) -> (f32, Outer<'_, L::Hidden, L::In, B>) {
        let (shape, batch) = (self.h[0].shape_generic(), self.mean_over());
        L::Hidden::fit(&mut self.s1, shape.0, shape.1);
        let (h, t, d) = (&self.h[0], &self.target[0], &mut self.s1);
        let loss = Dense::<L::Hidden, L::In>::local_delta_over(act, h, t, d, batch);
        (loss, Outer::new(&self.s1, &self.x))
    }

    /// Step 5 for the hidden layer `f_{k+1}` (`hidden[k − 1]`) on these buffers: returns the
    /// local loss and its gradient `δ q(h_{k-1})ᵀ` (`δ` in `s1`).
    pub(crate) fn hidden_gradient(
        &mut self,
        act: Activation,
        k: usize,
    ) -> (f32, Outer<'_, L::Hidden, L::Hidden, B>) {
        let (shape, batch) = (self.h[k].shape_generic(), self.mean_over());
        L::Hidden::fit(&mut self.s1, shape.0, shape.1);
        let (h, t, d) = (&self.h[k], &self.target[k], &mut self.s1);
        let loss = Dense::<L::Hidden, L::Hidden>::local_delta_over(act, h, t, d, batch);
        (loss, Outer::new(&self.s1, &self.read[k - 1]))
    }

    /// Step 5 for the output layer: its gradient `∂L/∂W_M = ∂L/∂z_M q(h_{M-1})ᵀ` (needs
    /// [`top_target`](Self::top_target)'s `∂L/∂z_M`).
    pub(crate) fn output_gradient(&self) -> Outer<'_, L::Out, L::Hidden, B> {
        let r = self.read.len() - 1;
        Outer::new(&self.delta_out, &self.read[r])
    }
}

/// Applies the inverse optimiser `opt` to `g_{k+1}` (`inverse[k − 1]`, optimiser state
/// `state`) with the gradient `grad`.
fn apply_inverse<K: Kernel, L: Layout, B: Dim, S: GradientStore<L>>(
    store: &mut S,
    opt: &crate::Optimiser,
    net: &mut Net<L>,
    state: Option<&mut crate::DenseState<L::Hidden, L::Hidden>>,
    k: usize,
    grad: HiddenOuter<'_, L, B>,
) -> Result<(), Error>
where
    DefaultAllocator: Alloc<L, B>,
{
    let state = state.ok_or(Error::NoFeedbackState)?;
    let layer = &mut net.inverse.as_mut()[k - 1];
    apply_gradient::<K, _, _, B>(store.hidden(layer), opt, layer, state, grad, k + 1, INVERSE)
}

/// The gradient of a hidden-to-hidden layer (or an inverse) of layout `L`.
type HiddenOuter<'a, L, B> = Outer<'a, <L as Layout>::Hidden, <L as Layout>::Hidden, B>;

/// The error stages of a forward layer's update: gradient, weights.
pub(crate) const FORWARD: [Stage; 2] = [Stage::ForwardGradient, Stage::ForwardWeights];
/// The error stages of an inverse's update: gradient, weights.
pub(crate) const INVERSE: [Stage; 2] = [Stage::InverseGradient, Stage::InverseWeights];

/// Checks a forward layer's gradient buffer, then applies the optimiser to it.
pub(crate) fn apply<O: Dim, I: Dim>(
    opt: &crate::Optimiser,
    layer: &mut Dense<O, I>,
    grad: &Dense<O, I>,
    state: &mut crate::DenseState<O, I>,
    number: usize,
) -> Result<(), Error>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    crate::gradient::apply_buffer(opt, layer, grad, state, number, FORWARD)
}
