//! The network's parameters: forward layers and their inverses.

use crate::config::Init;
use crate::dense::Dense;
use crate::init::fill;
#[cfg(feature = "alloc")]
use crate::layout::OptSlot;
use crate::layout::{Fixed, Layout, NetAlloc};
use crate::tensors::Tensors;
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;

/// A multilayer perceptron `f_1 … f_M` with an inverse `g_i` for each hidden layer `i ≥ 2`.
///
/// Layer numbering follows the paper: forward layers `f_1 … f_M`; `first` is `f_1`,
/// `hidden[k]` is `f_{k+2}`, `output` is `f_M`; `inverse[k]` is `g_{k+2}`, mapping hidden
/// layer `k + 2` back to hidden layer `k + 1`. The layout `L` decides the widths: with
/// [`Fixed<IN, H, OUT, R>`](Fixed) the network is `IN → H → … → H → OUT` with `R + 1` hidden
/// layers, fixed at compile time (784-240×7-10 is [`FixedNet<784, 240, 10, 6>`](FixedNet));
/// with `Dynamic` (feature `alloc`) every width is chosen at run time
/// ([`Net::with_widths`]).
pub struct Net<L: Layout>
where
    DefaultAllocator: NetAlloc<L>,
{
    /// `f_1`: input → first hidden layer.
    pub first: Dense<L::Hidden, L::In>,
    /// `f_2 … f_{M-1}`: hidden → hidden.
    pub hidden: L::Seq<Dense<L::Hidden, L::Hidden>>,
    /// `f_M`: last hidden layer → output.
    pub output: Dense<L::Out, L::Hidden>,
    /// `g_2 … g_{M-1}`: `inverse[k]` inverts `hidden[k]`.
    pub inverse: L::Seq<Dense<L::Hidden, L::Hidden>>,
    /// DDTP's feedback weights ([`Direct`](crate::direct::Direct)), when the trainer's
    /// feedback rule is direct (run-time layouts; a fixed layout's DDTP-linear keeps its maps
    /// in the trainer, [`DirectLinear`](crate::ddtp::DirectLinear)); `None` otherwise. Not
    /// part of the weight blob; the trainer's tensors carry it.
    #[cfg(feature = "alloc")]
    pub direct: L::Opt<crate::direct::Direct>,
}

/// A network whose widths are fixed at compile time: `IN → H (×(R+1)) → OUT`.
pub type FixedNet<const IN: usize, const H: usize, const OUT: usize, const R: usize> =
    Net<Fixed<IN, H, OUT, R>>;

impl<L: Layout> Clone for Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn clone(&self) -> Self {
        Net {
            first: self.first.clone(),
            hidden: self.hidden.clone(),
            output: self.output.clone(),
            inverse: self.inverse.clone(),
            #[cfg(feature = "alloc")]
            direct: {
                let mut d = L::Opt::EMPTY;
                d.put(self.direct.get().cloned());
                d
            },
        }
    }
}

impl<L: Layout> core::fmt::Debug for Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut f = f.debug_struct("Net");
        f.field("first", &self.first)
            .field("hidden", &self.hidden)
            .field("output", &self.output)
            .field("inverse", &self.inverse);
        #[cfg(feature = "alloc")]
        f.field("direct", &self.direct.get());
        f.finish()
    }
}

impl<L: Layout> PartialEq for Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn eq(&self, other: &Self) -> bool {
        self.first == other.first
            && self.hidden == other.hidden
            && self.output == other.output
            && self.inverse == other.inverse
            && self.direct_eq(other)
    }
}

impl<L: Layout> Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    #[cfg(feature = "alloc")]
    fn direct_eq(&self, other: &Self) -> bool {
        self.direct.get() == other.direct.get()
    }

    #[cfg(not(feature = "alloc"))]
    fn direct_eq(&self, _: &Self) -> bool {
        true
    }
}

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize> Net<Fixed<IN, H, OUT, R>> {
    /// Number of forward layers `M`.
    pub const LAYERS: usize = R + 2;

    /// All-zero network (a `const`, for `static` storage).
    pub const ZERO: Self = Net {
        first: Dense::ZERO,
        hidden: [Dense::ZERO; R],
        output: Dense::ZERO,
        inverse: [Dense::ZERO; R],
        #[cfg(feature = "alloc")]
        direct: crate::layout::Never::EMPTY,
    };

    /// Number of trainable forward parameters.
    pub const FORWARD_PARAMS: usize = H * (IN + 1) + R * H * (H + 1) + OUT * (H + 1);

    /// Number of trainable inverse parameters.
    pub const INVERSE_PARAMS: usize = R * H * (H + 1);
}

#[cfg(feature = "alloc")]
impl Net<crate::layout::Dynamic> {
    /// An all-zero network of layer widths `widths = [w_0, w_1, …, w_M]` (input, hidden
    /// layers, output), e.g. `[784, 500, 250, 10]`. Needs at least one hidden layer and no
    /// zero width.
    pub fn with_widths(widths: &[usize]) -> Result<Self, crate::ConfigError> {
        use nalgebra::Dyn;
        check_widths(widths)?;
        let m = widths.len() - 1;
        let dense = |o: usize, i: usize| Dense::zeros_generic(Dyn(o), Dyn(i));
        Ok(Net {
            first: dense(widths[1], widths[0]),
            hidden: (2..m).map(|i| dense(widths[i], widths[i - 1])).collect(),
            output: dense(widths[m], widths[m - 1]),
            inverse: (2..m).map(|i| dense(widths[i - 1], widths[i])).collect(),
            direct: None,
        })
    }
}

/// Checks a list of layer widths: input, at least one hidden layer, output; none zero.
pub fn check_widths(widths: &[usize]) -> Result<(), crate::ConfigError> {
    if widths.len() < 3 {
        Err(crate::ConfigError::TooShallow {
            layers: widths.len(),
        })
    } else if widths.contains(&0) {
        Err(crate::ConfigError::ZeroWidth)
    } else {
        Ok(())
    }
}

impl<L: Layout> Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    /// Number of hidden-to-hidden layers `R = M − 2` (and of inverses).
    pub fn depth(&self) -> usize {
        self.hidden.as_ref().len()
    }

    /// Number of forward layers `M`.
    pub fn layers(&self) -> usize {
        self.depth() + 2
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.first.inputs()
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.output.outputs()
    }

    /// Width of every layer, input to output: `w_0, w_1, …, w_M`.
    pub fn widths(&self) -> impl Iterator<Item = usize> + '_ {
        core::iter::once(self.first.inputs())
            .chain(core::iter::once(self.first.outputs()))
            .chain(self.hidden.as_ref().iter().map(Dense::outputs))
            .chain(core::iter::once(self.output.outputs()))
    }

    /// Whether every hidden layer has the same width (what a [`Fixed`] layout and the
    /// firmware's weight blob can hold).
    pub fn uniform_hidden(&self) -> bool {
        let h = self.first.outputs();
        self.hidden.as_ref().iter().all(|d| d.outputs() == h)
    }

    /// Number of trainable forward parameters.
    pub fn forward_params(&self) -> usize {
        self.first.params()
            + self
                .hidden
                .as_ref()
                .iter()
                .map(Dense::params)
                .sum::<usize>()
            + self.output.params()
    }

    /// Number of trainable inverse parameters (with DDTP, of its trained feedback weights
    /// `Q_i, c_i` too).
    pub fn inverse_params(&self) -> usize {
        let inverses: usize = self.inverse.as_ref().iter().map(Dense::params).sum();
        #[cfg(feature = "alloc")]
        let inverses = inverses + self.direct.get().map_or(0, |d| d.params());
        inverses
    }

    /// Initialises every weight in place by `init` and zeroes every bias.
    pub fn initialise<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        fn layer<O: Dim, I: Dim, G: Rng + ?Sized>(d: &mut Dense<O, I>, init: Init, rng: &mut G)
        where
            DefaultAllocator: Allocator<O, I> + Allocator<O>,
        {
            fill(init, &mut d.w, rng);
            d.b.fill(0.0);
        }
        layer(&mut self.first, init, rng);
        self.hidden
            .as_mut()
            .iter_mut()
            .for_each(|d| layer(d, init, rng));
        layer(&mut self.output, init, rng);
        self.inverse
            .as_mut()
            .iter_mut()
            .for_each(|d| layer(d, init, rng));
        // DDTP's feedback weights last: every other network draws what it drew before.
        #[cfg(feature = "alloc")]
        if let Some(d) = self.direct.get_mut() {
            d.initialise(init, rng);
        }
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.first.is_finite()
            && self.hidden.as_ref().iter().all(Dense::is_finite)
            && self.output.is_finite()
            && self.inverse.as_ref().iter().all(Dense::is_finite)
            && self.direct_finite()
    }

    #[cfg(feature = "alloc")]
    fn direct_finite(&self) -> bool {
        self.direct.get().is_none_or(|d| d.is_finite())
    }

    #[cfg(not(feature = "alloc"))]
    fn direct_finite(&self) -> bool {
        true
    }

    /// Every parameter slice in the blob and checkpoint order: `f_1` (weight, bias), `f_2 …
    /// f_{M-1}`, `f_M`, then `g_2 … g_{M-1}`; weights column-major (the [`Tensors`] visit
    /// without names).
    pub fn for_each_slice(&self, mut f: impl FnMut(&[f32])) {
        self.visit(&mut |_, _, s| f(s));
    }

    /// [`for_each_slice`](Self::for_each_slice), mutably.
    pub fn for_each_slice_mut(&mut self, mut f: impl FnMut(&mut [f32])) {
        self.visit_mut(&mut |_, _, s| f(s));
    }
}
