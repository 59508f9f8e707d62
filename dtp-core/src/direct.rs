//! Direct difference target propagation (DDTP; Meulemans et al. 2020, "A Theoretical
//! Framework for Target Propagation", NeurIPS, arXiv:2006.14331; their released
//! `direct_feedback_layers.py` and `direct_feedback_networks.py`), run-time layouts only
//! (feature `alloc`).
//!
//! DTP carries the target down layer by layer through the inverses `g_i`. DDTP gives every
//! hidden layer `i = 1 … M−1` its own feedback map `g_i` straight from the output layer's
//! pre-activation `z_M = W_M q(h_{M-1}) + b_M`:
//!
//! - output target: `ẑ_M = z_M − η̂ ∂L/∂z_M` (`L` the batch mean, as DTP's top target);
//! - **DDTP-linear** ([`Feedback::DdtpLinear`]): `g_i(z) = Q_i z + c_i`;
//! - **DDTP-RHL** ([`Feedback::DdtpRhl`]): a fixed random layer `a(z) = tanh(R z + r)` of
//!   [`RHL_WIDTH`] units, shared by every layer and never trained (PyTorch's default
//!   `nn.Linear` initialisation, as their code leaves it), then `g_i(z) = s(Q_i a(z) + c_i)`
//!   with `s` the inverse activation ([`Units::inverse`](crate::Units::inverse), tanh; their
//!   `fb_activation`); the last hidden layer reads `z_M` itself, `g_{M-1}(z) = s(Q_{M-1} z +
//!   c_{M-1})`, as in their `DDTPRHLNetwork`;
//! - targets (step 3): `ĥ_i = h_i + (g_i(ẑ_M) − g_i(z_M))` for every hidden layer, the top
//!   one included — the difference is formed first, so `η̂ = 0` gives `ĥ_i = h_i` bit for bit;
//! - feedback step (step 4), the difference reconstruction loss of each `g_i`: corrupt
//!   `h̃_i = h_i + ε`, `ε ~ N(0, σ²)`, carry it up to `z̃_M` through the forward layers
//!   `i + 1 … M` (their `dummy_forward_linear_output`), and train `(Q_i, c_i)` alone on
//!   `L_i = (1/σ²)(1/B) Σ_b ‖h_i + g_i(z̃_M) − g_i(z_M) − h̃_i‖²` (squared errors summed over
//!   units as everywhere in dtp; their `F.mse_loss` also divides by the width, a constant
//!   factor of the feedback learning rate).
//!
//! With `r = g_i(z̃) − g_i(z) + h_i − h̃_i`, `δ_a = (2/(σ²B)) r ⊙ s'(g_i(z̃))` and
//! `δ_h = −(2/(σ²B)) r ⊙ s'(g_i(z))`: `∂L_i/∂Q_i = δ_a u(z̃)ᵀ + δ_h u(z)ᵀ`,
//! `∂L_i/∂c_i = Σ_b (δ_a + δ_h)`, `u` being what `Q_i` reads (`z` or `a(z)`).
//!
//! **DTP with an inverse of the output layer** ([`Feedback::DtpOutput`], Meulemans et al.'s
//! `DTPNetwork`) keeps one such map, `g_M(z) = s(Q z + c)` from `z_M` to the top hidden layer,
//! here too (as `q[0]`): step 3 gives `ĥ_{M-1} = h_{M-1} + (g_M(ẑ_M) − g_M(z_M))` and DTP's
//! inverses carry it down; step 4 trains `g_M` on DTP's reconstruction loss,
//! `L_M = (1/B) Σ_b ‖g_M(z̃_M) − h̃_{M-1}‖²` with `h̃_{M-1} = h_{M-1} + ε` and
//! `z̃_M = W_M q(h̃_{M-1}) + b_M`, so `δ = (2/B) (g_M(z̃_M) − h̃_{M-1}) ⊙ s'(g_M(z̃_M))`,
//! `∂L_M/∂Q = δ z̃_Mᵀ`, `∂L_M/∂c = Σ_b δ` (after DTP's inverses' own steps).
//!
//! The output layer still takes its step on `L` (dtp's step 5, unchanged); the forward
//! layers on their local losses towards the targets above. Which of the step driver's calls
//! runs what: step 2 ([`Trainer::top_target`](crate::Trainer::top_target)) keeps
//! `∂L/∂z_M`, step 3 ([`Trainer::difference_targets`](crate::Trainer::difference_targets))
//! and step 4 ([`Trainer::feedback_step`](crate::Trainer::feedback_step)) dispatch to this
//! module by the configured [`Feedback`].

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::{Index, IndexMut};

use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, Dyn};
use rand_core::Rng;

use crate::activation::Activation;
use crate::config::{Config, Feedback, Init, Units};
use crate::dense::Dense;
use crate::error::{Error, Stage, check_finite};
use crate::kernel::Kernel;
use crate::layout::{Dynamic, Width};
use crate::mat::OMat;
use crate::net::Net;
use crate::noise::{add_gaussian_to, uniform};
use crate::optim::DenseState;
use crate::outer::Outer;
use crate::tensors::{Name, Tensors, Visit, VisitMut};
use crate::trainer::Workspace;

/// Width of DDTP-RHL's fixed random hidden feedback layer (their released MNIST setting,
/// `size_hidden_fb = 1024`).
pub const RHL_WIDTH: usize = 1024;

type DynDense = Dense<Dyn, Dyn>;
type DynMat = OMat<Dyn, Dyn>;

/// DDTP's feedback weights (kept in [`Net::direct`] when the rule is direct).
#[derive(Clone, Debug, PartialEq)]
pub struct Direct {
    /// The rule these weights are for ([`Feedback::DdtpLinear`] or [`Feedback::DdtpRhl`]).
    pub rule: Feedback,
    /// `Q_1 … Q_{M-1}` with their biases `c_i`: `q[k]` gives hidden layer `k + 1` its target
    /// (`w_{k+1} × w_M`, or `w_{k+1} ×` [`RHL_WIDTH`] for DDTP-RHL's layers below the top).
    pub q: Vec<DynDense>,
    /// DDTP-RHL's random layer `R, r` ([`RHL_WIDTH`]` × w_M`), never trained; `None` for
    /// DDTP-linear.
    pub random: Option<DynDense>,
}

impl Direct {
    /// All-zero feedback weights of `rule` for a network of widths `widths` (`w_0 … w_M`).
    pub fn zeros(rule: Feedback, widths: &[usize]) -> Self {
        let m = widths.len() - 1;
        let dense = |o: usize, i: usize| Dense::zeros_generic(Dyn(o), Dyn(i));
        if rule == Feedback::DtpOutput {
            return Direct {
                rule,
                q: alloc::vec![dense(widths[m - 1], widths[m])],
                random: None,
            };
        }
        Direct {
            rule,
            q: (0..m - 1)
                .map(|k| dense(widths[k + 1], Self::source_width(rule, k, m - 2, widths[m])))
                .collect(),
            random: (rule == Feedback::DdtpRhl).then(|| dense(RHL_WIDTH, widths[m])),
        }
    }

    /// Whether these weights are `rule`'s for widths `widths`.
    pub fn fits(&self, rule: Feedback, widths: &[usize]) -> bool {
        let z = Self::zeros(rule, widths);
        self.rule == rule
            && self.q.len() == z.q.len()
            && self
                .q
                .iter()
                .zip(&z.q)
                .all(|(a, b)| a.w.shape() == b.w.shape())
            && self.random.as_ref().map(|d| d.w.shape()) == z.random.as_ref().map(|d| d.w.shape())
    }

    /// Width of what `Q_{k+1}` reads: the output's `w_M`, or the random layer's for
    /// DDTP-RHL below the top hidden layer (`r = M − 2` is the top's index).
    fn source_width(rule: Feedback, k: usize, r: usize, outputs: usize) -> usize {
        if rule == Feedback::DdtpRhl && k < r {
            RHL_WIDTH
        } else {
            outputs
        }
    }

    /// Initialises `Q_i` by `init` (biases zero) and the random layer as PyTorch's
    /// `nn.Linear` does (weights and bias uniform in `±1/√w_M`), in that order.
    pub fn initialise<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        for d in &mut self.q {
            crate::init::fill(init, &mut d.w, rng);
            d.b.fill(0.0);
        }
        if let Some(d) = &mut self.random {
            let bound = 1.0 / (d.inputs() as f32).sqrt();
            for v in d.w.iter_mut().chain(d.b.iter_mut()) {
                *v = bound * (2.0 * uniform(rng) - 1.0);
            }
        }
    }

    /// Number of trained feedback parameters (`Q_i`, `c_i`; not the random layer).
    pub fn params(&self) -> usize {
        self.q.iter().map(Dense::params).sum()
    }

    /// Whether every weight is finite.
    pub fn is_finite(&self) -> bool {
        self.q.iter().all(Dense::is_finite) && self.random.as_ref().is_none_or(Dense::is_finite)
    }
}

/// What DDTP's arithmetic reads of a set of feedback maps: `g_i` from the output layer's
/// pre-activation `z_M` (dimension `O`) to a hidden layer (dimension `H`), in nalgebra's
/// dimension types, so the same functions serve run-time widths ([`Direct`], every dimension
/// `Dyn`) and widths fixed at compile time.
pub(crate) trait Maps<H: Dim, O: Dim>
where
    DefaultAllocator: Allocator<H, O> + Allocator<H> + Allocator<O, O> + Allocator<O>,
{
    /// The rule these maps are for.
    fn rule(&self) -> Feedback;
    /// How many maps `Q_i` there are.
    fn count(&self) -> usize;
    /// Map `j` (hidden layer `j + 1 + lowest`; see [`lowest`](Self::lowest)).
    fn map(&self, j: usize) -> &Dense<H, O>;
    /// DDTP-RHL's random layer `R, r` ([`RHL_WIDTH`]` × w_M`), or `None`.
    fn random(&self) -> Option<&Dense<O, O>>;

    /// Whether `Q_{k+1}` reads the random layer (DDTP-RHL below the top hidden layer).
    fn reads_random(&self, k: usize) -> bool {
        self.random().is_some() && k + 1 < self.count()
    }

    /// Which hidden layers get a target from `z_M` (hidden indices `k`, layer `k + 1`, of a
    /// network whose top hidden index is `r`): every one for DDTP, the top one alone for
    /// [`Feedback::DtpOutput`]. `map(k − lowest)` is layer `k + 1`'s map.
    fn lowest(&self, r: usize) -> usize {
        if self.rule() == Feedback::DtpOutput {
            r
        } else {
            0
        }
    }

    /// The activation `s` of every `g_i`: none for DDTP-linear, the inverse activation for
    /// DDTP-RHL and for the output layer's inverse of [`Feedback::DtpOutput`].
    fn activation(&self, units: Units) -> Activation {
        match self.rule() {
            Feedback::DdtpRhl | Feedback::DtpOutput => units.inverse,
            _ => Activation::Linear,
        }
    }
}

impl Maps<Dyn, Dyn> for Direct {
    fn rule(&self) -> Feedback {
        self.rule
    }
    fn count(&self) -> usize {
        self.q.len()
    }
    fn map(&self, j: usize) -> &DynDense {
        &self.q[j]
    }
    fn random(&self) -> Option<&DynDense> {
        self.random.as_ref()
    }
}

/// `q1 … q{M-1}`, then `rhl` (DDTP-RHL's random layer).
impl Tensors for Direct {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        for (k, d) in self.q.iter().enumerate() {
            d.visit_at(&at.numbered("q", k + 1), f);
        }
        if let Some(d) = &self.random {
            d.visit_at(&at.join("rhl"), f);
        }
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        for (k, d) in self.q.iter_mut().enumerate() {
            d.visit_mut_at(&at.numbered("q", k + 1), f);
        }
        if let Some(d) = &mut self.random {
            d.visit_mut_at(&at.join("rhl"), f);
        }
    }
}

/// The optimiser state of DDTP's `Q_i` (kept in the trainer), their gradient buffers and
/// their last losses.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectState {
    /// Optimiser state of `Q_1 … Q_{M-1}` (`[k]` belongs to `q[k]`).
    pub state: Vec<DenseState<Dyn, Dyn>>,
    /// The difference reconstruction loss `L_i` of each `Q_i` at the last feedback step.
    pub loss: Vec<f32>,
    /// Gradient buffers, one per `Q_i`.
    pub(crate) grad: Vec<DynDense>,
}

impl DirectState {
    /// Zero state for `direct`'s weights.
    pub fn zeros_like(direct: &Direct) -> Self {
        let zeros = |d: &DynDense| Dense::zeros_generic(Dyn(d.outputs()), Dyn(d.inputs()));
        DirectState {
            state: direct.q.iter().map(DenseState::zeros_like).collect(),
            loss: alloc::vec![0.0; direct.q.len()],
            grad: direct.q.iter().map(zeros).collect(),
        }
    }

    /// Whether this state belongs to weights of `direct`'s shapes.
    pub fn fits(&self, direct: &Direct) -> bool {
        self.state.len() == direct.q.len()
            && self
                .state
                .iter()
                .zip(&direct.q)
                .all(|(s, d)| s.w.a.shape() == d.w.shape())
    }

    /// Zeroes every optimiser state.
    pub fn reset(&mut self) {
        self.state.iter_mut().for_each(DenseState::reset);
        self.loss.fill(0.0);
    }
}

/// `opt.direct.q1 …`.
impl Tensors for DirectState {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        for (k, s) in self.state.iter().enumerate() {
            s.visit_at(&at.numbered("q", k + 1), f);
        }
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        for (k, s) in self.state.iter_mut().enumerate() {
            s.visit_mut_at(&at.numbered("q", k + 1), f);
        }
    }
}

/// DDTP's scratch buffers (each `rows × B`), kept in a [`Workspace`] once used: `O`-row
/// buffers for the output side, `H`-row ones for a hidden layer's (run-time widths: every
/// dimension `Dyn`, the default).
pub(crate) struct Scratch<H: Dim = Dyn, O: Dim = Dyn, B: Dim = Dyn>
where
    DefaultAllocator: Allocator<H, B> + Allocator<O, B>,
{
    /// `z_M`.
    z: OMat<O, B>,
    /// `ẑ_M` (targets) or `z̃_M` (feedback step).
    zt: OMat<O, B>,
    /// `a(z_M)`.
    a: OMat<O, B>,
    /// `a(ẑ_M)` or `a(z̃_M)`.
    at: OMat<O, B>,
    /// `g_i` of the target or corrupted side, then `δ_a`.
    g1: OMat<H, B>,
    /// `g_i(z_M)`, then `δ_h`.
    g2: OMat<H, B>,
    /// `h̃_i`.
    corrupt: OMat<H, B>,
    /// What the output layer reads of the corrupted top hidden layer.
    read: OMat<H, B>,
}

impl Scratch {
    /// The buffers of DDTP's steps on any network (dense or convolutional), empty until used.
    pub(crate) fn new() -> Box<Self> {
        let e = || DynMat::zeros_generic(Dyn(0), Dyn(0));
        Box::new(Scratch {
            z: e(),
            zt: e(),
            a: e(),
            at: e(),
            g1: e(),
            g2: e(),
            corrupt: e(),
            read: e(),
        })
    }
}

/// Makes `m` a `rows × cols` buffer (a no-op for a fixed shape).
fn fit<R: Width, C: Dim>(m: &mut OMat<R, C>, (rows, cols): (R, C))
where
    DefaultAllocator: Allocator<R, C>,
{
    R::fit(m, rows, cols);
}

/// Makes `m` a `rows × cols` buffer of run-time shape.
fn dfit(m: &mut DynMat, rows: usize, cols: usize) {
    fit(m, (Dyn(rows), Dyn(cols)));
}

/// The allocator bounds of DDTP's arithmetic on hidden dimension `H`, output dimension `O`
/// and batch `B`.
pub(crate) trait DirectAlloc<H: Dim, O: Dim, B: Dim>:
    Allocator<H, B> + Allocator<O, B> + Allocator<H, O> + Allocator<O, O> + Allocator<H> + Allocator<O>
{
}

impl<H: Dim, O: Dim, B: Dim, A> DirectAlloc<H, O, B> for A where
    A: Allocator<H, B>
        + Allocator<O, B>
        + Allocator<H, O>
        + Allocator<O, O>
        + Allocator<H>
        + Allocator<O>
{
}

impl Workspace<Dynamic, Dyn> {
    /// DDTP's step 3 on these buffers (needs step 1 and step 2's `∂L/∂z_M`):
    /// `ẑ_M = z_M − η̂ ∂L/∂z_M`, then `ĥ_i = h_i + (g_i(ẑ_M) − g_i(z_M))` for every hidden
    /// layer `i = M−1 … 1` (see the [module](self)).
    pub(crate) fn direct_targets<K: Kernel>(
        &mut self,
        net: &Net<Dynamic>,
        config: &Config,
    ) -> Result<(), Error> {
        let d = net.direct.as_deref().ok_or(Error::NoFeedbackState)?;
        let mut sc = self.dd.take().unwrap_or_else(Scratch::new);
        let (b, r, act) = (self.x.ncols(), net.depth(), d.activation(config.units));
        dfit(&mut sc.z, net.outputs(), b);
        net.output
            .forward::<K, Dyn>(Activation::Linear, &self.read[r], &mut sc.z);
        sc.output_target::<K, _>(d, config.eta_hat, &self.delta_out);
        let result =
            hidden_targets::<K, _, _, _, _, _, _>(d, act, r, &self.h, &mut self.target, &mut sc);
        self.dd = Some(sc);
        result
    }

    /// DDTP's step 4 on these buffers (needs step 1): for each hidden layer `i = 1 … M−1`
    /// (`k = i − 1` increasing) the difference reconstruction loss `L_i` of `g_i` and its
    /// gradient, handed to `sink(k, L_i, ∂L_i/∂(Q_i, c_i))` (see the [module](self)). Each
    /// `L_i` involves `Q_i` alone, so the caller may apply the gradients in any order. Noise
    /// is drawn layer by layer, then whatever the forward layers' quantisers draw on the way
    /// up. Uses the target buffers above layer `i` as scratch.
    pub(crate) fn direct_gradients<K, G, F>(
        &mut self,
        net: &Net<Dynamic>,
        config: &Config,
        sigma: f32,
        rng: &mut G,
        mut sink: F,
    ) -> Result<(), Error>
    where
        K: Kernel,
        G: Rng + ?Sized,
        F: FnMut(usize, f32, Outer<'_, Dyn, Dyn, Dyn>) -> Result<(), Error>,
    {
        let d = net.direct.as_deref().ok_or(Error::NoFeedbackState)?;
        let mut sc = self.dd.take().unwrap_or_else(Scratch::new);
        let result = if d.rule == Feedback::DtpOutput {
            self.output_inverse_delta::<K, G>(net, d, config.units, sigma, rng, &mut sc)
                .and_then(|loss| sink(0, loss, Outer::new(&sc.g1, &sc.zt)))
        } else {
            self.direct_gradients_in::<K, G, F>(net, d, config, sigma, rng, &mut sc, &mut sink)
        };
        self.dd = Some(sc);
        result
    }

    /// Step 4 for the output layer's inverse `g_M` of [`Feedback::DtpOutput`]: returns DTP's
    /// reconstruction loss `L_M = (1/B) Σ_b ‖g_M(z̃_M) − h̃_{M-1}‖²` and leaves its gradient's
    /// factors in the scratch buffers, `δ` in `g1` and `z̃_M` in `zt` (`∂L_M/∂Q = δ z̃_Mᵀ`; see
    /// the [module](self)). Draws the corruption, then whatever the output layer's read
    /// quantiser draws.
    fn output_inverse_delta<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        net: &Net<Dynamic>,
        d: &Direct,
        units: Units,
        sigma: f32,
        rng: &mut G,
        sc: &mut Scratch,
    ) -> Result<f32, Error> {
        let (b, r, act) = (self.x.ncols(), net.depth(), d.activation(units));
        let scale = 2.0 / self.mean_over();
        // h̃_{M-1} = h_{M-1} + ε, then z̃_M = W_M q(h̃_{M-1}) + b_M.
        let n = self.h[r].nrows();
        dfit(&mut sc.corrupt, n, b);
        add_gaussian_to(sc.corrupt.as_mut_slice(), self.h[r].as_slice(), sigma, rng);
        dfit(&mut sc.read, n, b);
        units
            .into_output
            .apply(sc.corrupt.as_slice(), sc.read.as_mut_slice(), rng);
        dfit(&mut sc.zt, net.outputs(), b);
        net.output
            .forward::<K, Dyn>(Activation::Linear, &sc.read, &mut sc.zt);
        check_finite(sc.zt.as_slice(), Stage::InverseGradient, r + 2)?;
        // g_M(z̃_M), then δ = (2/B) (g − h̃) ⊙ s'(g) in its place.
        dfit(&mut sc.g1, n, b);
        d.q[0].forward::<K, Dyn>(act, &sc.zt, &mut sc.g1);
        let mut sum = 0.0f32;
        for (g, &c) in sc.g1.iter_mut().zip(sc.corrupt.iter()) {
            let e = *g - c;
            sum += e * e;
            *g = scale * e * act.derivative_from_output(*g);
        }
        Ok(sum / self.mean_over())
    }

    #[allow(clippy::too_many_arguments)]
    fn direct_gradients_in<K, G, F>(
        &mut self,
        net: &Net<Dynamic>,
        d: &Direct,
        config: &Config,
        sigma: f32,
        rng: &mut G,
        sc: &mut Scratch,
        sink: &mut F,
    ) -> Result<(), Error>
    where
        K: Kernel,
        G: Rng + ?Sized,
        F: FnMut(usize, f32, Outer<'_, Dyn, Dyn, Dyn>) -> Result<(), Error>,
    {
        let units = config.units;
        let (b, r, act) = (self.x.ncols(), net.depth(), d.activation(units));
        let n_out = net.outputs();
        let batch = self.mean_over();
        // z_M and a(z_M), once for every layer.
        dfit(&mut sc.z, n_out, b);
        net.output
            .forward::<K, Dyn>(Activation::Linear, &self.read[r], &mut sc.z);
        sc.random_of_z::<K, _>(d);
        let hidden = &net.hidden;
        let (q, hidden_act) = (units.between, units.hidden);
        for k in 0..=r {
            let layer = k + 1;
            // 1. h̃_i = h_i + ε.
            let n = self.h[k].nrows();
            dfit(&mut sc.corrupt, n, b);
            add_gaussian_to(sc.corrupt.as_mut_slice(), self.h[k].as_slice(), sigma, rng);
            // 2. Up to z̃_M through f_{i+1} … f_M (the targets above i as scratch).
            if k < r {
                Dyn::fit(&mut self.s3, Dyn(n), Dyn(b));
                let (s3, up) = (&mut self.s3, &mut self.target[k + 1]);
                hidden[k].forward_read::<K, G, Dyn>(q, hidden_act, &sc.corrupt, s3, up, rng);
                for j in k + 2..=r {
                    let (lower, upper) = self.target.pair_mut(j - 1);
                    Dyn::fit(&mut self.s3, Dyn(lower.nrows()), Dyn(b));
                    hidden[j - 1].forward_read::<K, G, Dyn>(
                        q,
                        hidden_act,
                        lower,
                        &mut self.s3,
                        upper,
                        rng,
                    );
                }
            }
            let top = if k < r { &self.target[r] } else { &sc.corrupt };
            dfit(&mut sc.read, top.nrows(), b);
            units
                .into_output
                .apply(top.as_slice(), sc.read.as_mut_slice(), rng);
            dfit(&mut sc.zt, n_out, b);
            net.output
                .forward::<K, Dyn>(Activation::Linear, &sc.read, &mut sc.zt);
            check_finite(sc.zt.as_slice(), Stage::InverseGradient, layer)?;
            layer_feedback::<K, _, _, _, _, _>(
                d, k, act, &self.h[k], sigma, batch, sc, &mut *sink,
            )?;
        }
        Ok(())
    }
}

impl<H: Width, O: Width, B: Dim> Scratch<H, O, B>
where
    DefaultAllocator: DirectAlloc<H, O, B>,
{
    /// `z_M` (`w_M × n`), to be written by the network's output layer before
    /// [`output_target`](Self::output_target) or [`random_of_z`](Self::random_of_z).
    pub(crate) fn z_mut(&mut self) -> &mut OMat<O, B> {
        &mut self.z
    }

    /// `z̃_M`, to be written before [`layer_feedback`].
    pub(crate) fn zt_mut(&mut self) -> &mut OMat<O, B> {
        &mut self.zt
    }

    /// `h̃_i`, to be written before the network carries it up to `z̃_M`.
    pub(crate) fn corrupt_mut(&mut self) -> &mut OMat<H, B> {
        &mut self.corrupt
    }

    /// With `z_M` in `z`: the random layer's `a(z_M)` for DDTP-RHL (nothing for another
    /// rule).
    pub(crate) fn random_of_z<K: Kernel, M: Maps<H, O>>(&mut self, d: &M) {
        if let Some(random) = d.random() {
            fit(
                &mut self.a,
                (random.w.shape_generic().0, self.z.shape_generic().1),
            );
            random.forward::<K, B>(Activation::Tanh, &self.z, &mut self.a);
        }
    }

    /// With `z_M` in `z`: the output target `ẑ_M = z_M − η̂ ∂L/∂z_M` (`delta_out`) in `zt`,
    /// and for DDTP-RHL `a(z_M)`, `a(ẑ_M)`.
    pub(crate) fn output_target<K: Kernel, M: Maps<H, O>>(
        &mut self,
        d: &M,
        eta: f32,
        delta_out: &OMat<O, B>,
    ) {
        fit(&mut self.zt, self.z.shape_generic());
        for ((t, &z), &g) in self.zt.iter_mut().zip(self.z.iter()).zip(delta_out.iter()) {
            *t = z - eta * g;
        }
        self.random_of_z::<K, M>(d);
        if let Some(random) = d.random() {
            fit(
                &mut self.at,
                (random.w.shape_generic().0, self.z.shape_generic().1),
            );
            random.forward::<K, B>(Activation::Tanh, &self.zt, &mut self.at);
        }
    }
}

/// DDTP's step 3 below the output target, on any network whose hidden activations `h` and
/// targets `target` are indexed `0..=r` (`r` the top hidden index): `ĥ_k = h_k +
/// (g_{k+1}(ẑ_M) − g_{k+1}(z_M))` for every hidden layer that reads the output, top first
/// (needs [`Scratch::output_target`]). Stops at the first non-finite target.
pub(crate) fn hidden_targets<K, H, O, B, M, Hs, Ts>(
    d: &M,
    act: Activation,
    r: usize,
    h: &Hs,
    target: &mut Ts,
    sc: &mut Scratch<H, O, B>,
) -> Result<(), Error>
where
    K: Kernel,
    H: Width,
    O: Width,
    B: Dim,
    M: Maps<H, O>,
    Hs: Index<usize, Output = OMat<H, B>> + ?Sized,
    Ts: IndexMut<usize, Output = OMat<H, B>> + ?Sized,
    DefaultAllocator: DirectAlloc<H, O, B>,
{
    let lowest = d.lowest(r);
    for k in (lowest..=r).rev() {
        let (u, ut) = if d.reads_random(k) {
            (&sc.a, &sc.at)
        } else {
            (&sc.z, &sc.zt)
        };
        fit(&mut sc.g1, h[k].shape_generic());
        fit(&mut sc.g2, h[k].shape_generic());
        let q = d.map(k - lowest);
        q.forward::<K, B>(act, ut, &mut sc.g1);
        q.forward::<K, B>(act, u, &mut sc.g2);
        for ((t, &h), (&gt, &gh)) in target[k]
            .iter_mut()
            .zip(h[k].iter())
            .zip(sc.g1.iter().zip(sc.g2.iter()))
        {
            *t = h + (gt - gh);
        }
        check_finite(target[k].as_slice(), Stage::Target, k + 1)?;
    }
    Ok(())
}

/// DDTP's step 4 for hidden layer `k + 1`, on any network, once it has written `h̃_k` in
/// [`Scratch::corrupt_mut`] and carried it up to `z̃_M` in [`Scratch::zt_mut`] (with `z_M` and
/// [`Scratch::random_of_z`] done): the difference reconstruction loss
/// `L = (1/σ²)(1/B) Σ_b ‖h_k + g(z̃_M) − g(z_M) − h̃_k‖²` (`B` = `batch`) and its gradient's
/// factors handed to `sink(k, L, δ_a u(z̃)ᵀ + δ_h u(z)ᵀ)` (see the [module](self)).
#[allow(clippy::too_many_arguments)]
pub(crate) fn layer_feedback<K, H, O, B, M, F>(
    d: &M,
    k: usize,
    act: Activation,
    h: &OMat<H, B>,
    sigma: f32,
    batch: f32,
    sc: &mut Scratch<H, O, B>,
    sink: F,
) -> Result<(), Error>
where
    K: Kernel,
    H: Width,
    O: Width,
    B: Dim,
    M: Maps<H, O>,
    F: FnOnce(usize, f32, Outer<'_, H, O, B>) -> Result<(), Error>,
    DefaultAllocator: DirectAlloc<H, O, B>,
{
    let inv_var = 1.0 / (sigma * sigma);
    let scale = 2.0 * inv_var / batch;
    if let Some(random) = d.random().filter(|_| d.reads_random(k)) {
        fit(
            &mut sc.at,
            (random.w.shape_generic().0, h.shape_generic().1),
        );
        random.forward::<K, B>(Activation::Tanh, &sc.zt, &mut sc.at);
    }
    // g_i(z̃_M) in g1, g_i(z_M) in g2.
    fit(&mut sc.g1, h.shape_generic());
    fit(&mut sc.g2, h.shape_generic());
    let (u, ut) = if d.reads_random(k) {
        (&sc.a, &sc.at)
    } else {
        (&sc.z, &sc.zt)
    };
    d.map(k).forward::<K, B>(act, ut, &mut sc.g1);
    d.map(k).forward::<K, B>(act, u, &mut sc.g2);
    // e = h + (g(z̃) − g(z)) − h̃; δ_a into g1, δ_h into g2.
    let mut sum = 0.0f32;
    for (((da, dh), &h), &c) in sc
        .g1
        .iter_mut()
        .zip(sc.g2.iter_mut())
        .zip(h.iter())
        .zip(sc.corrupt.iter())
    {
        let (ga, gh) = (*da, *dh);
        let e = (h + (ga - gh)) - c;
        sum += e * e;
        *da = scale * e * act.derivative_from_output(ga);
        *dh = -scale * e * act.derivative_from_output(gh);
    }
    sink(k, inv_var * sum / batch, Outer::two(&sc.g1, ut, &sc.g2, u))
}

/// Makes `grads` and `losses` one zero buffer per map `Q_i` of `d` (a chunk's, on first use),
/// unless they already have `d`'s shapes.
pub(crate) fn fit_buffers(d: &Direct, grads: &mut Vec<DynDense>, losses: &mut Vec<f32>) {
    let fits = grads.len() == d.q.len()
        && grads
            .iter()
            .zip(&d.q)
            .all(|(g, q)| g.w.shape() == q.w.shape());
    if !fits {
        let zeros = |q: &DynDense| Dense::zeros_generic(Dyn(q.outputs()), Dyn(q.inputs()));
        *grads = d.q.iter().map(zeros).collect();
        *losses = alloc::vec![0.0; d.q.len()];
    }
}

/// The sink of the feedback gradients that stores each map's gradient in `grads[k]` and its
/// loss in `losses[k]`.
pub(crate) fn store<'b, K: Kernel>(
    grads: &'b mut [DynDense],
    losses: &'b mut [f32],
) -> impl FnMut(usize, f32, Outer<'_, Dyn, Dyn, Dyn>) -> Result<(), Error> + 'b {
    move |k, loss, g| {
        g.write::<K>(&mut grads[k]);
        losses[k] = loss;
        Ok(())
    }
}
