//! Layouts: the two size worlds of one algorithm.
//!
//! Every type of the crate that holds a network ([`Net`](crate::Net),
//! [`Trainer`](crate::Trainer), [`NetState`](crate::NetState), [`Hidden`](crate::Hidden)) is
//! generic over a [`Layout`]: which nalgebra dimension types its widths are, and how it holds
//! one value per hidden-to-hidden layer.
//!
//! - [`Fixed<IN, H, OUT, R>`](Fixed): widths are [`Const`] — checked at compile time, stored
//!   inline in nalgebra's `ArrayStorage`, no allocator needed; `IN → H → … → H → OUT` with
//!   `R + 1` hidden layers of width `H`. The microcontroller's world (`no_std`, a trainer in
//!   a `static`, the link-time no-panic proof).
//! - [`Dynamic`] (feature `alloc`): every width is [`Dyn`](nalgebra::Dyn), chosen at run time, and each
//!   matrix has its own, so hidden layers may differ (`784-500-250-10`); depth and batch are
//!   run-time values too. The desktop's world.
//!
//! The algorithm (forward pass, targets, inverse and forward steps, backprop, optimisers,
//! initialisation) is written once, against nalgebra's [`Dim`] generics: with `Const` dims
//! it compiles to the same fixed-size code as a hand-written fixed network, with `Dyn` dims
//! it reads the widths from the matrices. Why nalgebra's dimension generics rather than a core
//! over caller-provided slices: the fixed world keeps its compile-time shape checks and its
//! exact code (so the firmware's instruction counts and the no-panic proof do not move), while
//! the run-time world needs nothing but a different storage type.
//!
//! The one thing the two worlds do differently is a scratch buffer shared by layers of
//! different widths: [`Width::fit`] is a no-op for `Const` widths (all layers agree) and
//! reshapes the buffer, reusing its capacity, for `Dyn`.

use nalgebra::allocator::Allocator;
use nalgebra::{Const, DefaultAllocator, Dim, OMatrix, U1};

/// A width type: [`Const<N>`] (fixed) or [`Dyn`](nalgebra::Dyn) (run time, feature `alloc`).
pub trait Width: Dim {
    /// Makes `m` a `rows × cols` matrix, contents unspecified. A no-op for `Const` widths,
    /// where the type fixes the shape (and every layer that shares a buffer has the same
    /// width); for `Dyn`, a new zero matrix when the shape differs (so a network whose hidden
    /// layers all have one width never reallocates, and one with unequal widths reallocates a
    /// few scratch buffers per step, which is small beside its products).
    fn fit<C: Dim>(m: &mut OMatrix<f32, Self, C>, rows: Self, cols: C)
    where
        DefaultAllocator: Allocator<Self, C>;

    /// [`fit`](Width::fit) for a matrix whose both dimensions are of this type.
    fn fit_square(m: &mut OMatrix<f32, Self, Self>, rows: Self, cols: Self)
    where
        DefaultAllocator: Allocator<Self, Self>;
}

impl<const N: usize> Width for Const<N> {
    #[inline(always)]
    fn fit<C: Dim>(_: &mut OMatrix<f32, Self, C>, _: Self, _: C)
    where
        DefaultAllocator: Allocator<Self, C>,
    {
    }

    #[inline(always)]
    fn fit_square(_: &mut OMatrix<f32, Self, Self>, _: Self, _: Self)
    where
        DefaultAllocator: Allocator<Self, Self>,
    {
    }
}

#[cfg(feature = "alloc")]
impl Width for nalgebra::Dyn {
    fn fit<C: Dim>(m: &mut OMatrix<f32, Self, C>, rows: Self, cols: C)
    where
        DefaultAllocator: Allocator<Self, C>,
    {
        if m.shape() != (rows.0, cols.value()) {
            *m = OMatrix::zeros_generic(rows, cols);
        }
    }

    fn fit_square(m: &mut OMatrix<f32, Self, Self>, rows: Self, cols: Self)
    where
        DefaultAllocator: Allocator<Self, Self>,
    {
        Self::fit(m, rows, cols);
    }
}

/// The dimension types of a network and how it holds one value per hidden-to-hidden layer.
///
/// Layer numbering follows the paper: forward layers `f_1 … f_M`; `f_1` maps `In` to
/// `Hidden`, `f_2 … f_{M-1}` (the `R = M − 2` "hidden-to-hidden" layers, held in a
/// [`Seq`](Layout::Seq)) map `Hidden` to `Hidden`, `f_M` maps `Hidden` to `Out`.
pub trait Layout: 'static {
    /// Input width.
    type In: Width;
    /// Hidden width (with `Dyn`, each hidden layer its own).
    type Hidden: Width;
    /// Output width.
    type Out: Width;
    /// One `T` per hidden-to-hidden layer: `[T; R]` or `Vec<T>`.
    type Seq<T: Clone + core::fmt::Debug + PartialEq>: AsRef<[T]>
        + AsMut<[T]>
        + Clone
        + core::fmt::Debug
        + PartialEq;
    /// At most one `T` that only the run-time layout holds (DDTP's feedback weights, their
    /// optimiser state and scratch): [`Never`] (a zero-sized type that holds nothing, so the
    /// fixed world's types, sizes and code do not change) or `Option<Box<T>>`.
    type Opt<T: 'static>: OptSlot<T>;
}

/// At most one `T`: what [`Layout::Opt`] is.
pub trait OptSlot<T>: Sized {
    /// Holding nothing.
    const EMPTY: Self;
    /// The value, if any.
    fn get(&self) -> Option<&T>;
    /// The value, mutably, if any.
    fn get_mut(&mut self) -> Option<&mut T>;
    /// Replaces the value (a slot that can hold nothing ignores `Some`: see [`Never`]).
    fn put(&mut self, value: Option<T>);
    /// Takes the value out, leaving nothing.
    fn take(&mut self) -> Option<T>;
}

/// A slot that never holds a value: zero-sized, the fixed layouts' [`Layout::Opt`].
pub struct Never<T>(core::marker::PhantomData<fn() -> T>);

impl<T> OptSlot<T> for Never<T> {
    const EMPTY: Self = Never(core::marker::PhantomData);
    fn get(&self) -> Option<&T> {
        None
    }
    fn get_mut(&mut self) -> Option<&mut T> {
        None
    }
    fn put(&mut self, _: Option<T>) {}
    fn take(&mut self) -> Option<T> {
        None
    }
}

#[cfg(feature = "alloc")]
impl<T> OptSlot<T> for Option<alloc::boxed::Box<T>> {
    const EMPTY: Self = None;
    fn get(&self) -> Option<&T> {
        self.as_deref()
    }
    fn get_mut(&mut self) -> Option<&mut T> {
        self.as_deref_mut()
    }
    fn put(&mut self, value: Option<T>) {
        *self = value.map(alloc::boxed::Box::new);
    }
    fn take(&mut self) -> Option<T> {
        Option::take(self).map(|b| *b)
    }
}

/// Fixed widths `IN → H (×(R+1)) → OUT`, checked at compile time; no allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed<const IN: usize, const H: usize, const OUT: usize, const R: usize>;

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize> Layout
    for Fixed<IN, H, OUT, R>
{
    type In = Const<IN>;
    type Hidden = Const<H>;
    type Out = Const<OUT>;
    type Seq<T: Clone + core::fmt::Debug + PartialEq> = [T; R];
    type Opt<T: 'static> = Never<T>;
}

/// Widths, depth and batch chosen at run time (feature `alloc`): every hidden layer may have
/// its own width.
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dynamic;

#[cfg(feature = "alloc")]
impl Layout for Dynamic {
    type In = nalgebra::Dyn;
    type Hidden = nalgebra::Dyn;
    type Out = nalgebra::Dyn;
    type Seq<T: Clone + core::fmt::Debug + PartialEq> = alloc::vec::Vec<T>;
    type Opt<T: 'static> = Option<alloc::boxed::Box<T>>;
}

/// Every nalgebra allocator bound a network of layout `L` needs (with DDTP's maps from the
/// output, `Hidden × Out`, and their `Out × Out` random layer), gathered in one trait (so a
/// generic function says `where DefaultAllocator: NetAlloc<L>` once). Implemented for
/// [`DefaultAllocator`] for every layout.
pub trait NetAlloc<L: Layout>:
    Allocator<L::Hidden, L::In>
    + Allocator<L::Hidden, L::Hidden>
    + Allocator<L::Out, L::Hidden>
    + Allocator<L::Hidden, L::Out>
    + Allocator<L::Out, L::Out>
    + Allocator<L::Hidden>
    + Allocator<L::Out>
    + Allocator<L::In>
{
}

impl<L: Layout, A> NetAlloc<L> for A where
    A: Allocator<L::Hidden, L::In>
        + Allocator<L::Hidden, L::Hidden>
        + Allocator<L::Out, L::Hidden>
        + Allocator<L::Hidden, L::Out>
        + Allocator<L::Out, L::Out>
        + Allocator<L::Hidden>
        + Allocator<L::Out>
        + Allocator<L::In>
{
}

/// [`NetAlloc`] plus the minibatch buffers of `B` samples a trainer of layout `L` needs.
pub trait Alloc<L: Layout, B: Dim>:
    NetAlloc<L> + Allocator<L::In, B> + Allocator<L::Hidden, B> + Allocator<L::Out, B>
{
}

impl<L: Layout, B: Dim, A> Alloc<L, B> for A where
    A: NetAlloc<L> + Allocator<L::In, B> + Allocator<L::Hidden, B> + Allocator<L::Out, B>
{
}

/// A column vector of the same dimension type (`U1` columns).
pub type Col<R> = OMatrix<f32, R, U1>;
