//! The network's parameters: forward layers and their inverses.

use crate::config::Init;
use crate::dense::Dense;
use crate::init::{orthogonal, uniform_scaled};
use rand_core::Rng;

/// A multilayer perceptron `IN → H → … → H → OUT` with `R + 1` hidden layers of width `H`,
/// and an inverse `g_i` for each hidden layer `i ≥ 2`.
///
/// Layer numbering follows the paper: forward layers `f_1 … f_M` with `M = R + 2`;
/// `first` is `f_1`, `hidden[k]` is `f_{k+2}`, `output` is `f_M`; `inverse[k]` is
/// `g_{k+2}`, mapping layer `k + 2` back to layer `k + 1`.
///
/// 784-240×7-10 is `Net<784, 240, 10, 6>`; 784-500-500-10 is `Net<784, 500, 10, 1>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Net<const IN: usize, const H: usize, const OUT: usize, const R: usize> {
    /// `f_1`: input → first hidden layer.
    pub first: Dense<H, IN>,
    /// `f_2 … f_{M-1}`: hidden → hidden.
    pub hidden: [Dense<H, H>; R],
    /// `f_M`: last hidden layer → output.
    pub output: Dense<OUT, H>,
    /// `g_2 … g_{M-1}`: `inverse[k]` inverts `hidden[k]`.
    pub inverse: [Dense<H, H>; R],
}

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize> Net<IN, H, OUT, R> {
    /// Number of forward layers `M`.
    pub const LAYERS: usize = R + 2;

    /// All-zero network (a `const`, for `static` storage).
    pub const ZERO: Self = Net {
        first: Dense::ZERO,
        hidden: [Dense::ZERO; R],
        output: Dense::ZERO,
        inverse: [Dense::ZERO; R],
    };

    /// Number of trainable forward parameters.
    pub const FORWARD_PARAMS: usize = H * (IN + 1) + R * H * (H + 1) + OUT * (H + 1);

    /// Number of trainable inverse parameters.
    pub const INVERSE_PARAMS: usize = R * H * (H + 1);

    /// Initialises every weight in place by `init` and zeroes every bias.
    pub fn initialise<G: Rng + ?Sized>(&mut self, init: Init, rng: &mut G) {
        fn layer<const O: usize, const I: usize, G: Rng + ?Sized>(
            d: &mut Dense<O, I>,
            init: Init,
            rng: &mut G,
        ) {
            match init {
                Init::Orthogonal => orthogonal(&mut d.w, rng),
                Init::Uniform => uniform_scaled(&mut d.w, rng),
            }
            d.b.fill(0.0);
        }
        layer(&mut self.first, init, rng);
        self.hidden.iter_mut().for_each(|d| layer(d, init, rng));
        layer(&mut self.output, init, rng);
        self.inverse.iter_mut().for_each(|d| layer(d, init, rng));
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.first.is_finite()
            && self.hidden.iter().all(Dense::is_finite)
            && self.output.is_finite()
            && self.inverse.iter().all(Dense::is_finite)
    }
}
