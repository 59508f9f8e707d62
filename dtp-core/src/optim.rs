//! Optimisers: SGD with momentum, the reference's centred RMSprop with momentum, and Adam.
//!
//! State is kept per parameter tensor ([`Moments`]); the trainer keeps one [`NetState`] for
//! the forward layers and a separate one for the inverses, as the reference code does.
//!
//! Adam needs no momentum buffer, so its [`Moments`] hold the first moment `m` in `a`, the
//! second moment in `s` and the step count `t` in `v` (every element of a tensor holds the
//! same `t`, as an `f32`: exact up to 2²⁴ steps, after which the bias corrections are 1 to
//! f32 precision anyway). The count is thereby saved and resumed with the rest of the state,
//! bit for bit, and any part of a tensor can still be updated on its own.

use crate::dense::Dense;
use crate::layout::{Layout, NetAlloc};
use crate::mat::{OMat, zeros};
use nalgebra::allocator::Allocator;
use nalgebra::{Const, DefaultAllocator, Dim};

/// Which update rule, with its constants.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "kind", rename_all = "lowercase")
)]
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
    #[cfg_attr(feature = "serde", serde(rename = "rmsprop"))]
    RmsProp {
        /// Averaging coefficient ρ (0.95).
        rho: f32,
        /// Momentum μ (0.9).
        momentum: f32,
        /// Stabiliser ε inside the square root (0.001).
        eps: f32,
    },
    /// Adam (Kingma & Ba 2015, arXiv:1412.6980, Algorithm 1) in `torch.optim.Adam`'s form,
    /// with optional L2 weight decay λ added to the gradient (torch's `weight_decay`):
    /// `g ← g + λθ`, `m ← β₁m + (1−β₁)g`, `u ← β₂u + (1−β₂)g²`, `t ← t + 1`,
    /// `θ ← θ − (lr/(1−β₁ᵗ))·m/(√u/√(1−β₂ᵗ) + ε)` (ε outside the square root).
    /// State: `m` in [`Moments::a`], `u` in [`Moments::s`], `t` in [`Moments::v`].
    ///
    /// Not compiled for bare-metal targets (`target_os = "none"`): the device keeps its two
    /// rules and their code, instruction for instruction.
    #[cfg(not(target_os = "none"))]
    #[cfg_attr(feature = "serde", serde(rename = "adam"))]
    Adam {
        /// First-moment coefficient β₁ in [0, 1) (0.9).
        beta1: f32,
        /// Second-moment coefficient β₂ in [0, 1) (0.999).
        beta2: f32,
        /// Stabiliser ε > 0 added to the bias-corrected root (10⁻⁸).
        eps: f32,
        /// L2 weight decay λ ≥ 0 (0: none), as torch's coupled `weight_decay`.
        #[cfg_attr(feature = "serde", serde(default))]
        weight_decay: f32,
    },
}

/// An update rule and its learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Optimiser {
    /// Learning rate.
    pub lr: f32,
    /// The rule (serialised flat beside `lr`: `{ lr, kind = "rmsprop", rho, momentum, eps }`).
    #[cfg_attr(feature = "serde", serde(flatten))]
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

    /// Adam with `torch.optim.Adam`'s defaults: β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸, no weight
    /// decay (not on bare-metal targets).
    #[cfg(not(target_os = "none"))]
    pub const fn adam(lr: f32) -> Self {
        Optimiser {
            lr,
            kind: OptimiserKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
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
    pub fn update<R: Dim, C: Dim>(
        &self,
        param: &mut OMat<R, C>,
        grad: &OMat<R, C>,
        state: &mut Moments<R, C>,
    ) -> bool
    where
        DefaultAllocator: Allocator<R, C>,
    {
        let (a, s, v) = state.slices_mut();
        self.update_slices(param.as_mut_slice(), grad.as_slice(), a, s, v)
    }

    /// [`update`](Self::update) on slices: parameters `p`, gradient `g` and the state's `a`,
    /// `s`, `v` (element `i` of each belongs to parameter `i`; any part of a tensor may be
    /// updated on its own, with the same result).
    #[inline]
    pub fn update_slices(
        &self,
        p: &mut [f32],
        g: &[f32],
        a: &mut [f32],
        s: &mut [f32],
        v: &mut [f32],
    ) -> bool {
        // On hard-float Arm the assembly loop, with a column scale of 1 (`g·1` is `g`, bit for
        // bit); elsewhere the rule straight over `g`, with no scaling on the desktop's hot path.
        #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
        return self.update_columns(p, g, &[1.0], a, s, v);
        #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
        return crate::simd::wide(
            #[inline(always)]
            || self.update_each(p, g.iter().copied(), a, s, v),
        );
    }

    /// The update for a gradient given by columns: element `i` of column `j` has gradient
    /// `g = δ_i · c_j`, where `δ = delta` and `c = scales`; `p`, `a`, `s`, `v` hold
    /// `delta.len() × scales.len()` elements, column-major (a rank-1 gradient `δ rᵀ` with
    /// `c = r`, formed where it is used: [`Fused`](crate::gradient::Fused)). Returns `false`
    /// (having written the update) if a resulting parameter, or RMSprop's `a`, `s`, is not
    /// finite (on hard-float Arm, where one term `p·√d` a parameter checks both, also in the
    /// diverged case `Σ |p|·√d > 3.4·10³⁸`: see `arm::update::rmsprop_columns`).
    #[inline]
    pub fn update_columns(
        &self,
        p: &mut [f32],
        delta: &[f32],
        scales: &[f32],
        a: &mut [f32],
        s: &mut [f32],
        v: &mut [f32],
    ) -> bool {
        let rows = delta.len();
        if rows == 0 {
            return true;
        }
        #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
        if let OptimiserKind::RmsProp { rho, momentum, eps } = self.kind {
            let cols = scales
                .len()
                .min(p.len() / rows)
                .min(a.len() / rows)
                .min(s.len() / rows)
                .min(v.len() / rows);
            let (p, a, s, v) = (
                p.as_mut_ptr(),
                a.as_mut_ptr(),
                s.as_mut_ptr(),
                v.as_mut_ptr(),
            );
            // SAFETY: four distinct slices of at least `rows × cols` floats each, `delta` of
            // `rows` and `scales` of `cols`, neither overlapping the others.
            let sum = unsafe {
                crate::arm::update::rmsprop_columns(
                    p,
                    delta.as_ptr(),
                    scales.as_ptr(),
                    a,
                    s,
                    v,
                    rows,
                    cols,
                    [rho, self.lr, momentum, eps],
                )
            };
            // `Σ p·√d`: finite when every result is (see `rmsprop_columns`).
            return (sum * 0.0) == 0.0;
        }
        #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
        if let OptimiserKind::Sgd { momentum } = self.kind {
            let cols = scales.len().min(p.len() / rows).min(v.len() / rows);
            // SAFETY: two distinct slices of at least `rows × cols` floats each, `delta` of
            // `rows` and `scales` of `cols`, neither overlapping the others.
            let zero = unsafe {
                crate::arm::update::sgd_columns(
                    p.as_mut_ptr(),
                    delta.as_ptr(),
                    scales.as_ptr(),
                    v.as_mut_ptr(),
                    rows,
                    cols,
                    [self.lr, momentum],
                )
            };
            let _ = (a, s);
            return zero == 0.0;
        }
        let mut finite = Finite::new();
        let columns = p
            .chunks_exact_mut(rows)
            .zip(a.chunks_exact_mut(rows))
            .zip(s.chunks_exact_mut(rows))
            .zip(v.chunks_exact_mut(rows))
            .zip(scales);
        for ((((p, a), s), v), &c) in columns {
            let g = delta.iter().map(|&d| d * c);
            finite.and(self.update_each(p, g, a, s, v));
        }
        finite.get()
    }

    /// Applies the gradient `∂/∂W = δ rᵀ (+ δ₂ r₂ᵀ)`, `∂/∂b = δ (+ δ₂)` of one sample to a
    /// layer without forming it in memory: each element is computed inside the update loop,
    /// with the values (not necessarily the sign of a zero) of
    /// [`Outer::write`](crate::outer::Outer::write) followed by
    /// [`update_dense`](Self::update_dense). Returns `false` if a result is not finite.
    ///
    /// With a minibatch (`B > 1` columns) each element is the `B`-term sum
    /// `Σ_b δ_ib r_jb (+ δ₂_ib r₂_jb)`: correct, but not the matrix product's rounding, and
    /// `B` multiply-adds an element where a buffered product is faster.
    pub fn update_outer<O: Dim, I: Dim, B: Dim>(
        &self,
        layer: &mut Dense<O, I>,
        state: &mut DenseState<O, I>,
        grad: &crate::outer::Outer<'_, O, I, B>,
    ) -> bool
    where
        DefaultAllocator: Allocator<O, I> + Allocator<O> + Allocator<O, B> + Allocator<I, B>,
    {
        if grad.delta.ncols() != 1 {
            return self.update_outer_batch(layer, state, grad);
        }
        let (w, b) = (&mut state.w, &mut state.b);
        let (d, r) = (grad.delta.as_slice(), grad.input.as_slice());
        let (pw, (aw, sw, vw)) = (layer.w.as_mut_slice(), w.slices_mut());
        let (pb, (ab, sb, vb)) = (layer.b.as_mut_slice(), b.slices_mut());
        match grad.second {
            None => {
                let weights = self.update_columns(pw, d, r, aw, sw, vw);
                let bias = self.update_slices(pb, d, ab, sb, vb);
                weights & bias
            }
            Some((d2, r2)) => {
                let (d2, r2) = (d2.as_slice(), r2.as_slice());
                let rows = d.len().max(1);
                let mut finite = Finite::new();
                let columns = pw
                    .chunks_exact_mut(rows)
                    .zip(aw.chunks_exact_mut(rows))
                    .zip(sw.chunks_exact_mut(rows))
                    .zip(vw.chunks_exact_mut(rows))
                    .zip(r.iter().zip(r2));
                for ((((p, a), s), v), (&c, &c2)) in columns {
                    let g = d.iter().zip(d2).map(|(&x, &y)| x * c + y * c2);
                    finite.and(self.update_each(p, g, a, s, v));
                }
                let g = d.iter().zip(d2).map(|(&x, &y)| x + y);
                finite.and(self.update_each(pb, g, ab, sb, vb));
                finite.get()
            }
        }
    }

    /// [`update_outer`](Self::update_outer) for a minibatch: each element a dot product.
    fn update_outer_batch<O: Dim, I: Dim, B: Dim>(
        &self,
        layer: &mut Dense<O, I>,
        state: &mut DenseState<O, I>,
        grad: &crate::outer::Outer<'_, O, I, B>,
    ) -> bool
    where
        DefaultAllocator: Allocator<O, I> + Allocator<O> + Allocator<O, B> + Allocator<I, B>,
    {
        let rows = layer.w.nrows();
        let element = |i: usize, j: usize| {
            let g = grad.delta.row(i).dot(&grad.input.row(j));
            match grad.second {
                Some((d2, r2)) => g + d2.row(i).dot(&r2.row(j)),
                None => g,
            }
        };
        let (w, b) = (&mut state.w, &mut state.b);
        let mut finite = Finite::new();
        if rows > 0 {
            let columns = layer
                .w
                .as_mut_slice()
                .chunks_exact_mut(rows)
                .zip(w.a.as_mut_slice().chunks_exact_mut(rows))
                .zip(w.s.as_mut_slice().chunks_exact_mut(rows))
                .zip(w.v.as_mut_slice().chunks_exact_mut(rows));
            for (j, (((p, a), s), v)) in columns.enumerate() {
                let g = (0..rows).map(|i| element(i, j));
                finite.and(self.update_each(p, g, a, s, v));
            }
        }
        let bias = |i: usize| {
            let g = grad.delta.row(i).sum();
            match grad.second {
                Some((d2, _)) => g + d2.row(i).sum(),
                None => g,
            }
        };
        let (pb, (ab, sb, vb)) = (layer.b.as_mut_slice(), b.slices_mut());
        finite.and(self.update_each(pb, (0..rows).map(bias), ab, sb, vb));
        finite.get()
    }

    /// The update rule over parameters `p` with gradients `g` (in order) and their state.
    #[inline(always)]
    fn update_each(
        &self,
        p: &mut [f32],
        g: impl Iterator<Item = f32>,
        a: &mut [f32],
        s: &mut [f32],
        v: &mut [f32],
    ) -> bool {
        let lr = self.lr;
        let mut finite = Finite::new();
        match self.kind {
            OptimiserKind::Sgd { momentum } => {
                for ((p, g), v) in p.iter_mut().zip(g).zip(v) {
                    *v = momentum * *v - lr * g;
                    *p += *v;
                    finite.add(*p);
                }
                let _ = (a, s);
            }
            OptimiserKind::RmsProp { rho, momentum, eps } => {
                let p = p.iter_mut();
                let v = v.iter_mut();
                let a = a.iter_mut();
                let s = s.iter_mut();
                for ((((p, g), v), a), s) in p.zip(g).zip(v).zip(a).zip(s) {
                    *a = rho * *a + (1.0 - rho) * g;
                    *s = rho * *s + (1.0 - rho) * g * g;
                    // Checked too: `s = ∞` (g² overflowed) would make this and every later
                    // update 0 with the weights still finite, and leave an `∞` in the state.
                    let d = *s - *a * *a + eps;
                    *v = momentum * *v - lr * g / crate::math::sqrt(d);
                    *p += *v;
                    finite.add2(*p, d);
                }
            }
            #[cfg(not(target_os = "none"))]
            OptimiserKind::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
            } => finite.and(adam_each(
                [lr, beta1, beta2, eps, weight_decay],
                p,
                g,
                a,
                s,
                v,
            )),
        }
        finite.get()
    }

    /// Updates a dense layer's weights and bias. Returns `false` if a result is not finite.
    pub fn update_dense<O: Dim, I: Dim>(
        &self,
        layer: &mut Dense<O, I>,
        grad: &Dense<O, I>,
        state: &mut DenseState<O, I>,
    ) -> bool
    where
        DefaultAllocator: Allocator<O, I> + Allocator<O>,
    {
        let w = self.update(&mut layer.w, &grad.w, &mut state.w);
        let b = self.update(&mut layer.b, &grad.b, &mut state.b);
        w & b
    }
}

/// Adam's rule ([`OptimiserKind::Adam`]) over parameters `p` with gradients `g`, first moments
/// `m`, second moments `u` and step counts `v`; `k` is `[lr, β₁, β₂, ε, λ]`. Returns `false` if
/// a parameter or a second moment is not finite.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn adam_each(
    k: [f32; 5],
    p: &mut [f32],
    g: impl Iterator<Item = f32>,
    m: &mut [f32],
    u: &mut [f32],
    v: &mut [f32],
) -> bool {
    let [lr, beta1, beta2, eps, weight_decay] = k;
    let mut finite = Finite::new();
    // One step count for the slice (all its elements hold the same `t`).
    let t = v.first().map_or(1.0, |&t| t + 1.0);
    let step = lr / (1.0 - powi(beta1, t));
    let root = crate::math::sqrt(1.0 - powi(beta2, t));
    for (((p, g), m), (u, v)) in p
        .iter_mut()
        .zip(g)
        .zip(m.iter_mut())
        .zip(u.iter_mut().zip(v))
    {
        let g = g + weight_decay * *p;
        *m = beta1 * *m + (1.0 - beta1) * g;
        // Checked too, as RMSprop's `s`: `u = ∞` would silence every later update.
        *u = beta2 * *u + (1.0 - beta2) * g * g;
        *p -= step * (*m / (crate::math::sqrt(*u) / root + eps));
        *v = t;
        finite.add2(*p, *u);
    }
    finite.get()
}

/// `b^t` for a whole number `t ≥ 0` held as an `f32` (Adam's step count), by repeated
/// squaring: at most 2·24 multiplications, the same bits on every target.
#[cfg(not(target_os = "none"))]
#[inline]
fn powi(b: f32, t: f32) -> f32 {
    // `as` saturates (NaN → 0): no panic whatever the state holds.
    let mut n = t as u32;
    let (mut base, mut acc) = (b, 1.0f32);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    acc
}

/// Whether every value folded in was finite. On Arm cores (a scalar FPU) the values are summed
/// times zero (`x·0` is ±0 for a finite `x`, NaN otherwise): two or three FPU instructions per
/// value and one test per tensor. Elsewhere a Boolean per value, which keeps the loops it sits
/// in vectorisable (a serial float sum would not be).
#[derive(Clone, Copy)]
struct Finite(
    #[cfg(target_arch = "arm")] f32,
    #[cfg(not(target_arch = "arm"))] bool,
);

impl Finite {
    #[inline(always)]
    fn new() -> Self {
        #[cfg(target_arch = "arm")]
        return Finite(0.0);
        #[cfg(not(target_arch = "arm"))]
        return Finite(true);
    }

    #[inline(always)]
    fn add(&mut self, x: f32) {
        #[cfg(target_arch = "arm")]
        {
            self.0 += x * 0.0;
        }
        #[cfg(not(target_arch = "arm"))]
        {
            self.0 &= x.is_finite();
        }
    }

    #[inline(always)]
    fn add2(&mut self, x: f32, y: f32) {
        #[cfg(target_arch = "arm")]
        {
            self.0 += x * 0.0 + y * 0.0;
        }
        #[cfg(not(target_arch = "arm"))]
        {
            self.0 &= x.is_finite() & y.is_finite();
        }
    }

    /// Folds in another check's result.
    #[inline(always)]
    fn and(&mut self, ok: bool) {
        if !ok {
            self.add(f32::NAN);
        }
    }

    #[inline(always)]
    fn get(self) -> bool {
        #[cfg(target_arch = "arm")]
        return self.0 == 0.0;
        #[cfg(not(target_arch = "arm"))]
        return self.0;
    }
}

/// Optimiser state of one parameter tensor: running mean `a`, running mean square `s`
/// (RMSprop and Adam) and velocity `v` (Adam: the step count `t`).
#[derive(Clone, Debug, PartialEq)]
pub struct Moments<R: Dim, C: Dim>
where
    DefaultAllocator: Allocator<R, C>,
{
    /// Running average of the gradient (RMSprop; Adam's first moment `m`).
    pub a: OMat<R, C>,
    /// Running average of the squared gradient (RMSprop; Adam's second moment `u`).
    pub s: OMat<R, C>,
    /// Velocity (momentum buffer); Adam's step count `t` in every element.
    pub v: OMat<R, C>,
}

impl<const R: usize, const C: usize> Moments<Const<R>, Const<C>> {
    /// All-zero state.
    pub const ZERO: Self = Moments {
        a: zeros(),
        s: zeros(),
        v: zeros(),
    };
}

impl<R: Dim, C: Dim> Moments<R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    /// All-zero state of `rows × cols` (allocates for `Dyn` dimensions).
    pub fn zeros_generic(rows: R, cols: C) -> Self {
        Moments {
            a: OMat::zeros_generic(rows, cols),
            s: OMat::zeros_generic(rows, cols),
            v: OMat::zeros_generic(rows, cols),
        }
    }

    /// The state as slices `(a, s, v)`, element `i` of each belonging to parameter `i`.
    pub fn slices_mut(&mut self) -> (&mut [f32], &mut [f32], &mut [f32]) {
        (
            self.a.as_mut_slice(),
            self.s.as_mut_slice(),
            self.v.as_mut_slice(),
        )
    }

    /// Resets to zero in place.
    pub fn reset(&mut self) {
        self.a.fill(0.0);
        self.s.fill(0.0);
        self.v.fill(0.0);
    }
}

/// Optimiser state of a dense layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseState<O: Dim, I: Dim>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    /// State of the weights.
    pub w: Moments<O, I>,
    /// State of the bias.
    pub b: Moments<O, nalgebra::U1>,
}

impl<const O: usize, const I: usize> DenseState<Const<O>, Const<I>> {
    /// All-zero state.
    pub const ZERO: Self = DenseState {
        w: Moments::ZERO,
        b: Moments::ZERO,
    };
}

impl<O: Dim, I: Dim> DenseState<O, I>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    /// The all-zero state of a layer shaped like `layer`.
    pub fn zeros_like(layer: &Dense<O, I>) -> Self {
        let (o, i) = layer.w.shape_generic();
        Self::zeros_generic_shape(o, i)
    }

    /// The all-zero state of an `outputs × inputs` layer.
    pub fn zeros_generic_shape(outputs: O, inputs: I) -> Self {
        DenseState {
            w: Moments::zeros_generic(outputs, inputs),
            b: Moments::zeros_generic(outputs, nalgebra::U1),
        }
    }

    /// Resets to zero in place.
    pub fn reset(&mut self) {
        self.w.reset();
        self.b.reset();
    }
}

/// Optimiser state of the forward layers of a network (see [`InverseState`] for the
/// inverses).
pub struct NetState<L: Layout>
where
    DefaultAllocator: NetAlloc<L>,
{
    /// Forward layer 1.
    pub first: DenseState<L::Hidden, L::In>,
    /// Forward layers 2..=M-1.
    pub hidden: L::Seq<DenseState<L::Hidden, L::Hidden>>,
    /// The output layer.
    pub output: DenseState<L::Out, L::Hidden>,
}

/// Optimiser state of the inverses `g_2 … g_{M-1}` (`[k]` belongs to `g_{k+2}`).
pub type InverseState<L> =
    <L as Layout>::Seq<DenseState<<L as Layout>::Hidden, <L as Layout>::Hidden>>;

impl<L: Layout> Clone for NetState<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn clone(&self) -> Self {
        NetState {
            first: self.first.clone(),
            hidden: self.hidden.clone(),
            output: self.output.clone(),
        }
    }
}

impl<L: Layout> core::fmt::Debug for NetState<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetState")
            .field("first", &self.first)
            .field("hidden", &self.hidden)
            .field("output", &self.output)
            .finish()
    }
}

impl<L: Layout> PartialEq for NetState<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn eq(&self, other: &Self) -> bool {
        self.first == other.first && self.hidden == other.hidden && self.output == other.output
    }
}

/// The forward optimiser state of a fixed-size network.
pub type FixedNetState<const IN: usize, const H: usize, const OUT: usize, const R: usize> =
    NetState<crate::Fixed<IN, H, OUT, R>>;

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize>
    NetState<crate::Fixed<IN, H, OUT, R>>
{
    /// All-zero state.
    pub const ZERO: Self = NetState {
        first: DenseState::ZERO,
        hidden: [DenseState::ZERO; R],
        output: DenseState::ZERO,
    };
}

impl<L: Layout> NetState<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    /// The all-zero state of the forward layers of `net`.
    pub fn zeros_like(net: &crate::Net<L>) -> Self
    where
        L::Seq<DenseState<L::Hidden, L::Hidden>>: FromIterator<DenseState<L::Hidden, L::Hidden>>,
    {
        NetState {
            first: DenseState::zeros_like(&net.first),
            hidden: net
                .hidden
                .as_ref()
                .iter()
                .map(DenseState::zeros_like)
                .collect(),
            output: DenseState::zeros_like(&net.output),
        }
    }

    /// Resets to zero in place.
    pub fn reset(&mut self) {
        self.first.reset();
        self.hidden.as_mut().iter_mut().for_each(DenseState::reset);
        self.output.reset();
    }
}
