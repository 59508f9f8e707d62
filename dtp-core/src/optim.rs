//! Optimisers: SGD with momentum and the reference's centred RMSprop with momentum.
//!
//! State is kept per parameter tensor ([`Moments`]); the trainer keeps one [`NetState`] for
//! the forward layers and a separate one for the inverses, as the reference code does.

use crate::dense::Dense;
use crate::{Mat, zeros};

/// Which update rule, with its constants.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum OptimiserKind {
    /// `v ← μ v − lr·g`, `θ ← θ + v`.
    Sgd {
        /// Momentum μ in [0, 1).
        momentum: f32,
    },
    /// Centred RMSprop with momentum (the reference):
    /// `a ← ρa + (1−ρ)g`, `s ← ρs + (1−ρ)g²`, `v ← μv − lr·g/√(s − a² + ε)`, `θ ← θ + v`.
    RmsProp {
        /// Averaging coefficient ρ (0.95).
        rho: f32,
        /// Momentum μ (0.9).
        momentum: f32,
        /// Stabiliser ε inside the square root (0.001).
        eps: f32,
    },
}

/// An update rule and its learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Optimiser {
    /// Learning rate.
    pub lr: f32,
    /// The rule.
    pub kind: OptimiserKind,
}

impl Optimiser {
    /// The reference centred RMSprop: ρ = 0.95, μ = 0.9, ε = 0.001.
    pub const fn rmsprop(lr: f32) -> Self {
        Optimiser {
            lr,
            kind: OptimiserKind::RmsProp {
                rho: 0.95,
                momentum: 0.9,
                eps: 0.001,
            },
        }
    }

    /// SGD with momentum.
    pub const fn sgd(lr: f32, momentum: f32) -> Self {
        Optimiser {
            lr,
            kind: OptimiserKind::Sgd { momentum },
        }
    }

    /// Updates `param` in place from `grad`, advancing `state`. Returns `false` (having
    /// written the update) if a resulting parameter, or RMSprop's running averages `a`, `s`,
    /// is not finite.
    pub fn update<const R: usize, const C: usize>(
        &self,
        param: &mut Mat<R, C>,
        grad: &Mat<R, C>,
        state: &mut Moments<R, C>,
    ) -> bool {
        let lr = self.lr;
        let mut finite = true;
        let p = param.as_mut_slice().iter_mut();
        let g = grad.as_slice().iter();
        let v = state.v.as_mut_slice().iter_mut();
        match self.kind {
            OptimiserKind::Sgd { momentum } => {
                for ((p, &g), v) in p.zip(g).zip(v) {
                    *v = momentum * *v - lr * g;
                    *p += *v;
                    finite &= p.is_finite();
                }
            }
            OptimiserKind::RmsProp { rho, momentum, eps } => {
                let a = state.a.as_mut_slice().iter_mut();
                let s = state.s.as_mut_slice().iter_mut();
                for ((((p, &g), v), a), s) in p.zip(g).zip(v).zip(a).zip(s) {
                    *a = rho * *a + (1.0 - rho) * g;
                    *s = rho * *s + (1.0 - rho) * g * g;
                    // Checked too: `s = ∞` (g² overflowed) would make this and every later
                    // update 0 with the weights still finite, and leave an `∞` in the state.
                    let d = *s - *a * *a + eps;
                    *v = momentum * *v - lr * g / crate::math::sqrt(d);
                    *p += *v;
                    finite &= p.is_finite() & d.is_finite();
                }
            }
        }
        finite
    }

    /// Updates a dense layer's weights and bias. Returns `false` if a result is not finite.
    pub fn update_dense<const O: usize, const I: usize>(
        &self,
        layer: &mut Dense<O, I>,
        grad: &Dense<O, I>,
        state: &mut DenseState<O, I>,
    ) -> bool {
        let w = self.update(&mut layer.w, &grad.w, &mut state.w);
        let b = self.update(&mut layer.b, &grad.b, &mut state.b);
        w & b
    }
}

/// Optimiser state of one parameter tensor: running mean `a`, running mean square `s`
/// (RMSprop only) and velocity `v`.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments<const R: usize, const C: usize> {
    /// Running average of the gradient (RMSprop).
    pub a: Mat<R, C>,
    /// Running average of the squared gradient (RMSprop).
    pub s: Mat<R, C>,
    /// Velocity (momentum buffer).
    pub v: Mat<R, C>,
}

impl<const R: usize, const C: usize> Moments<R, C> {
    /// All-zero state.
    pub const ZERO: Self = Moments {
        a: zeros(),
        s: zeros(),
        v: zeros(),
    };

    /// Resets to zero in place.
    pub fn reset(&mut self) {
        self.a.fill(0.0);
        self.s.fill(0.0);
        self.v.fill(0.0);
    }
}

/// Optimiser state of a dense layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseState<const O: usize, const I: usize> {
    /// State of the weights.
    pub w: Moments<O, I>,
    /// State of the bias.
    pub b: Moments<O, 1>,
}

impl<const O: usize, const I: usize> DenseState<O, I> {
    /// All-zero state.
    pub const ZERO: Self = DenseState {
        w: Moments::ZERO,
        b: Moments::ZERO,
    };

    /// Resets to zero in place.
    pub fn reset(&mut self) {
        self.w.reset();
        self.b.reset();
    }
}

/// Optimiser state of every layer of a network, or of its inverses.
#[derive(Clone, Debug, PartialEq)]
pub struct NetState<const IN: usize, const H: usize, const OUT: usize, const R: usize> {
    /// Forward layer 1 (unused in the inverse state).
    pub first: DenseState<H, IN>,
    /// Forward layers 2..=R+1, or inverses g_2..g_{R+1}.
    pub hidden: [DenseState<H, H>; R],
    /// The output layer (unused in the inverse state).
    pub output: DenseState<OUT, H>,
}

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize> NetState<IN, H, OUT, R> {
    /// All-zero state.
    pub const ZERO: Self = NetState {
        first: DenseState::ZERO,
        hidden: [DenseState::ZERO; R],
        output: DenseState::ZERO,
    };

    /// Resets to zero in place.
    pub fn reset(&mut self) {
        self.first.reset();
        self.hidden.iter_mut().for_each(DenseState::reset);
        self.output.reset();
    }
}
