//! DDTP's arithmetic on any layout (Meulemans et al. 2020; the equations are in
//! [`direct`](crate::direct)'s documentation): the output target `ẑ_M`, every hidden layer's
//! target through its map `g_i`, and the maps' difference reconstruction losses and gradients,
//! written once against nalgebra's dimension types. The run-time layout's maps
//! ([`Direct`](crate::direct::Direct), feature `alloc`, DDTP-linear and DDTP-RHL on dense and
//! convolutional nets) and a fixed layout's ([`DirectLinear`], DDTP-linear, no allocation: the
//! microcontroller's) both run through it.

use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;

use crate::activation::Activation;
use crate::config::Init;
use crate::config::{Config, Feedback, Units};
use crate::dense::Dense;
use crate::error::{Error, Stage, check_finite};
use crate::gradient::apply_buffer;
use crate::hidden::Hidden;
use crate::kernel::Kernel;
use crate::layout::{Alloc, Fixed, Layout, NetAlloc, Width};
use crate::mat::OMat;
use crate::mat::zeros;
use crate::net::Net;
use crate::noise::add_gaussian_to;
use crate::optim::DenseState;
use crate::outer::Outer;
use crate::trainer::Workspace;
use crate::trainer::{FeedbackState, FixedStore};
use core::any::Any;
use core::ops::{Index, IndexMut};
use nalgebra::Const;

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

/// DDTP's scratch buffers (each `rows × B`), kept in a [`Workspace`] once used: `O`-row
/// buffers for the output side, `H`-row ones for a hidden layer's (run-time widths: every
/// dimension `Dyn`, the default).
pub(crate) struct Scratch<H: Dim = nalgebra::Dyn, O: Dim = nalgebra::Dyn, B: Dim = nalgebra::Dyn>
where
    DefaultAllocator: Allocator<H, B> + Allocator<O, B>,
{
    /// `z_M`.
    pub(crate) z: OMat<O, B>,
    /// `ẑ_M` (targets) or `z̃_M` (feedback step).
    pub(crate) zt: OMat<O, B>,
    /// `a(z_M)`.
    pub(crate) a: OMat<O, B>,
    /// `a(ẑ_M)` or `a(z̃_M)`.
    pub(crate) at: OMat<O, B>,
    /// `g_i` of the target or corrupted side, then `δ_a`.
    pub(crate) g1: OMat<H, B>,
    /// `g_i(z_M)`, then `δ_h`.
    pub(crate) g2: OMat<H, B>,
    /// `h̃_i`.
    pub(crate) corrupt: OMat<H, B>,
    /// What the output layer reads of the corrupted top hidden layer.
    pub(crate) read: OMat<H, B>,
}

/// Makes `m` a `rows × cols` buffer (a no-op for a fixed shape).
pub(crate) fn fit<R: Width, C: Dim>(m: &mut OMat<R, C>, (rows, cols): (R, C))
where
    DefaultAllocator: Allocator<R, C>,
{
    R::fit(m, rows, cols);
}

/// The allocator bounds of DDTP's arithmetic on hidden dimension `H`, output dimension `O`
/// and batch `B` (implemented for [`DefaultAllocator`] wherever they hold).
pub trait DirectAlloc<H: Dim, O: Dim, B: Dim>:
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

impl<H: Width, O: Width, B: Dim> Scratch<H, O, B>
where
    DefaultAllocator: DirectAlloc<H, O, B>,
{
    /// `g_1 = s(Q u(ẑ_M) + c)` and `g_2 = s(Q u(z_M) + c)` (`shape`: the hidden layer's),
    /// `u` the random layer's output when `through_random` (DDTP-RHL), else the output's
    /// pre-activation itself.
    fn map_both<K: Kernel>(
        &mut self,
        q: &Dense<H, O>,
        through_random: bool,
        act: Activation,
        shape: (H, B),
    ) {
        fit(&mut self.g1, shape);
        fit(&mut self.g2, shape);
        let (u, ut) = if through_random {
            (&self.a, &self.at)
        } else {
            (&self.z, &self.zt)
        };
        q.forward::<K, B>(act, ut, &mut self.g1);
        q.forward::<K, B>(act, u, &mut self.g2);
    }

    /// What the maps read, `(u(z_M), u(ẑ_M))` (or of `z̃_M`): the random layer's outputs when
    /// `through_random`, else the output's pre-activations.
    fn map_inputs(&self, through_random: bool) -> (&OMat<O, B>, &OMat<O, B>) {
        if through_random {
            (&self.a, &self.at)
        } else {
            (&self.z, &self.zt)
        }
    }

    /// `z_M` (`w_M × n`), to be written by the network's output layer before
    /// [`output_target`](Self::output_target) or [`random_of_z`](Self::random_of_z).
    #[cfg(feature = "alloc")]
    pub(crate) fn z_mut(&mut self) -> &mut OMat<O, B> {
        &mut self.z
    }

    /// `z̃_M`, to be written before [`layer_feedback`].
    #[cfg(feature = "alloc")]
    pub(crate) fn zt_mut(&mut self) -> &mut OMat<O, B> {
        &mut self.zt
    }

    /// `h̃_i`, to be written before the network carries it up to `z̃_M`.
    #[cfg(feature = "alloc")]
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
        sc.map_both::<K>(
            d.map(k - lowest),
            d.reads_random(k),
            act,
            h[k].shape_generic(),
        );
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
    sc.map_both::<K>(d.map(k), d.reads_random(k), act, h.shape_generic());
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
    let (u, ut) = sc.map_inputs(d.reads_random(k));
    sink(k, inv_var * sum / batch, Outer::two(&sc.g1, ut, &sc.g2, u))
}

impl<L: Layout, B: Dim> Workspace<L, B>
where
    DefaultAllocator: Alloc<L, B> + DirectAlloc<L::Hidden, L::Out, B>,
{
    /// DDTP's step 3 through the maps `d` (needs step 1 and step 2's `∂L/∂z_M`):
    /// `ẑ_M = z_M − η̂ ∂L/∂z_M`, then `ĥ_i = h_i + (g_i(ẑ_M) − g_i(z_M))` for every hidden
    /// layer that reads the output, top first (see the [module](self)).
    pub(crate) fn direct_targets_with<K: Kernel, M: Maps<L::Hidden, L::Out>>(
        &mut self,
        net: &Net<L>,
        config: &Config,
        d: &M,
        sc: &mut Scratch<L::Hidden, L::Out, B>,
    ) -> Result<(), Error> {
        let (r, act) = (net.depth(), d.activation(config.units));
        fit(&mut sc.z, self.p.shape_generic());
        net.output
            .forward::<K, B>(Activation::Linear, &self.read[r], &mut sc.z);
        sc.output_target::<K, M>(d, config.eta_hat, &self.delta_out);
        hidden_targets::<K, _, _, _, _, _, _>(d, act, r, &self.h, &mut self.target, sc)
    }

    /// DDTP's step 4 through the maps `d` (needs step 1): for each hidden layer `i = 1 … M−1`
    /// (`k = i − 1` increasing) corrupt `h̃_i = h_i + ε`, carry it up to `z̃_M` through
    /// `f_{i+1} … f_M`, and hand the difference reconstruction loss `L_i` of `g_i` and its
    /// gradient to `sink(k, L_i, ∂L_i/∂(Q_i, c_i))` (see the [module](self)). Noise is drawn
    /// layer by layer, then whatever the forward layers' quantisers draw on the way up. Uses
    /// the target buffers above layer `i` as scratch.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn direct_gradients_with<K, G, M, F>(
        &mut self,
        net: &Net<L>,
        config: &Config,
        d: &M,
        sigma: f32,
        rng: &mut G,
        sc: &mut Scratch<L::Hidden, L::Out, B>,
        sink: &mut F,
    ) -> Result<(), Error>
    where
        K: Kernel,
        G: Rng + ?Sized,
        M: Maps<L::Hidden, L::Out>,
        F: FnMut(usize, f32, Outer<'_, L::Hidden, L::Out, B>) -> Result<(), Error>,
    {
        let units = config.units;
        let (r, act) = (net.depth(), d.activation(units));
        let batch = self.mean_over();
        // z_M and a(z_M), once for every layer.
        fit(&mut sc.z, self.p.shape_generic());
        net.output
            .forward::<K, B>(Activation::Linear, &self.read[r], &mut sc.z);
        sc.random_of_z::<K, M>(d);
        let hidden = net.hidden.as_ref();
        let (q, hidden_act) = (units.between, units.hidden);
        for k in 0..=r {
            let layer = k + 1;
            // 1. h̃_i = h_i + ε.
            fit(&mut sc.corrupt, self.h[k].shape_generic());
            add_gaussian_to(sc.corrupt.as_mut_slice(), self.h[k].as_slice(), sigma, rng);
            // 2. Up to z̃_M through f_{i+1} … f_M (the targets above i as scratch).
            if k < r {
                fit(&mut self.s3, self.h[k].shape_generic());
                let (s3, up) = (&mut self.s3, &mut self.target[k + 1]);
                hidden[k].forward_read::<K, G, B>(q, hidden_act, &sc.corrupt, s3, up, rng);
                for j in k + 2..=r {
                    let (lower, upper) = self.target.pair_mut(j - 1);
                    fit(&mut self.s3, lower.shape_generic());
                    hidden[j - 1].forward_read::<K, G, B>(
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
            fit(&mut sc.read, top.shape_generic());
            units
                .into_output
                .apply(top.as_slice(), sc.read.as_mut_slice(), rng);
            fit(&mut sc.zt, self.p.shape_generic());
            net.output
                .forward::<K, B>(Activation::Linear, &sc.read, &mut sc.zt);
            check_finite(sc.zt.as_slice(), Stage::InverseGradient, layer)?;
            layer_feedback::<K, _, _, _, _, _>(
                d, k, act, &self.h[k], sigma, batch, sc, &mut *sink,
            )?;
        }
        Ok(())
    }
}

/// DDTP-linear's feedback maps for a network of layout `L` trained on minibatches of `B`,
/// held by the trainer in place of DTP's inverse optimiser state (its `V` type parameter,
/// [`FeedbackState`]): `g_i(z) = Q_i z + c_i` from the output layer's pre-activation to each
/// hidden layer `i = 1 … M−1`, their optimiser state, gradient buffers, last losses and
/// scratch. Stored inline for a fixed layout (no allocation, `static`-able): the
/// microcontroller's DDTP ([`DdtpTrainer`](crate::trainer::DdtpTrainer)). A trainer holding it
/// accepts [`Feedback::DdtpLinear`] alone; DTP's inverses `g_2 … g_{M-1}` stay in the network,
/// unused. (The run-time layout's DDTP keeps its maps in [`Net::direct`] instead, with
/// DDTP-RHL's too.)
pub struct DirectLinear<L: Layout, B: Dim>
where
    DefaultAllocator: Alloc<L, B> + DirectAlloc<L::Hidden, L::Out, B>,
{
    /// `Q_1 … Q_{M-1}` with their biases `c_i`: `[k]` gives hidden layer `k + 1` its target.
    pub q: Hidden<Dense<L::Hidden, L::Out>, L>,
    /// Optimiser state of each `Q_i` (the inverse optimiser's).
    pub state: Hidden<DenseState<L::Hidden, L::Out>, L>,
    /// The difference reconstruction loss `L_i` of each `Q_i` at the last feedback step.
    pub loss: Hidden<f32, L>,
    /// Gradient buffers, one per `Q_i`.
    grad: Hidden<Dense<L::Hidden, L::Out>, L>,
    /// The step's buffers.
    scratch: Scratch<L::Hidden, L::Out, B>,
}

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize, const B: usize>
    DirectLinear<Fixed<IN, H, OUT, R>, Const<B>>
{
    /// All zero (a `const`, for `static` storage).
    pub const ZERO: Self = DirectLinear {
        q: Hidden {
            first: Dense::ZERO,
            rest: [Dense::ZERO; R],
        },
        state: Hidden {
            first: DenseState::ZERO,
            rest: [DenseState::ZERO; R],
        },
        loss: Hidden {
            first: 0.0,
            rest: [0.0; R],
        },
        grad: Hidden {
            first: Dense::ZERO,
            rest: [Dense::ZERO; R],
        },
        scratch: Scratch {
            z: zeros(),
            zt: zeros(),
            a: zeros(),
            at: zeros(),
            g1: zeros(),
            g2: zeros(),
            corrupt: zeros(),
            read: zeros(),
        },
    };

    /// Number of trained feedback parameters (`Q_i`, `c_i`).
    pub const PARAMS: usize = (R + 1) * H * (OUT + 1);
}

// SAFETY: `f32` matrices and arrays of them, stored inline.
unsafe impl<const IN: usize, const H: usize, const OUT: usize, const R: usize, const B: usize>
    FixedStore for DirectLinear<Fixed<IN, H, OUT, R>, Const<B>>
{
    const ZERO: Self = Self::ZERO;
}

impl<L: Layout, B: Dim> FeedbackState<L::Hidden> for DirectLinear<L, B>
where
    DefaultAllocator: Alloc<L, B> + DirectAlloc<L::Hidden, L::Out, B>,
{
    const TRAINABLE: bool = true;
    const DIRECT: bool = true;

    fn state_mut(&mut self, _: usize) -> Option<&mut DenseState<L::Hidden, L::Hidden>> {
        None
    }

    fn reset(&mut self) {
        self.state.iter_mut().for_each(DenseState::reset);
        self.loss.iter_mut().for_each(|l| *l = 0.0);
    }

    fn direct_linear<L2: Layout<Hidden = L::Hidden>, B2: Dim>(
        &mut self,
    ) -> Option<&mut DirectLinear<L2, B2>>
    where
        DefaultAllocator: Alloc<L2, B2> + DirectAlloc<L2::Hidden, L2::Out, B2>,
    {
        (self as &mut dyn Any).downcast_mut::<DirectLinear<L2, B2>>()
    }
}

impl<L: Layout, B: Dim> DirectLinear<L, B>
where
    DefaultAllocator: Alloc<L, B> + DirectAlloc<L::Hidden, L::Out, B>,
{
    /// Initialises every `Q_i` by `init` (biases zero), in order: what the run-time layout's
    /// DDTP-linear draws for its maps.
    pub fn initialise<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        for d in self.q.iter_mut() {
            crate::init::fill(init, &mut d.w, rng);
            d.b.fill(0.0);
        }
    }

    /// Whether every `Q_i` is finite.
    pub fn is_finite(&self) -> bool {
        self.q.iter().all(Dense::is_finite)
    }

    /// DDTP's step 3 on the trainer's buffers ([`Workspace::direct_targets_with`]).
    pub(crate) fn targets<K: Kernel>(
        &mut self,
        ws: &mut Workspace<L, B>,
        net: &Net<L>,
        config: &Config,
    ) -> Result<(), Error> {
        let (maps, sc) = (&self.q, &mut self.scratch);
        ws.direct_targets_with::<K, _>(net, config, &Linear(maps), sc)
    }

    /// DDTP's step 4: every `Q_i`'s gradient ([`Workspace::direct_gradients_with`]), then the
    /// inverse optimiser's step on each (`i` increasing; each `L_i` involves `Q_i` alone).
    pub(crate) fn step<K: Kernel, G: Rng + ?Sized>(
        &mut self,
        ws: &mut Workspace<L, B>,
        net: &Net<L>,
        config: &Config,
        sigma: f32,
        rng: &mut G,
    ) -> Result<(), Error> {
        let (grads, losses) = (&mut self.grad, &mut self.loss);
        let mut sink = |k: usize, loss: f32, g: Outer<'_, L::Hidden, L::Out, B>| {
            g.write::<K>(&mut grads[k]);
            losses[k] = loss;
            Ok(())
        };
        let maps = Linear(&self.q);
        ws.direct_gradients_with::<K, G, _, _>(
            net,
            config,
            &maps,
            sigma,
            rng,
            &mut self.scratch,
            &mut sink,
        )?;
        let opt = &config.inverse;
        let layers = self
            .q
            .iter_mut()
            .zip(self.grad.iter())
            .zip(self.state.iter_mut());
        for (k, ((q, grad), state)) in layers.enumerate() {
            apply_buffer(opt, q, grad, state, k + 1, crate::dtp::INVERSE)?;
        }
        Ok(())
    }
}

/// DDTP-linear's maps as [`Maps`]: a borrowed set of `Q_i` (so the trainer can lend its maps
/// while its scratch is written).
struct Linear<'a, L: Layout>(&'a Hidden<Dense<L::Hidden, L::Out>, L>)
where
    DefaultAllocator: NetAlloc<L> + Allocator<L::Hidden, L::Out>;

impl<L: Layout> Maps<L::Hidden, L::Out> for Linear<'_, L>
where
    DefaultAllocator: NetAlloc<L> + Allocator<L::Hidden, L::Out> + Allocator<L::Out, L::Out>,
{
    fn rule(&self) -> Feedback {
        Feedback::DdtpLinear
    }
    fn count(&self) -> usize {
        self.0.len()
    }
    fn map(&self, j: usize) -> &Dense<L::Hidden, L::Out> {
        &self.0[j]
    }
    fn random(&self) -> Option<&Dense<L::Out, L::Out>> {
        None
    }
}
