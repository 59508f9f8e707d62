//! The tensor visitor: every named `f32` tensor of a network, an optimiser state, a trainer
//! or an auto-encoder, in one fixed order, read-only ([`Tensors::visit`]) or mutably
//! ([`Tensors::visit_mut`]) — as burn's module derive visits a module's parameters. The
//! weight blob ([`crate::blob`]), the desktop's checkpoints and its tensor lists are all
//! derived from it, so a layer added to a type is added to each of them at once.
//!
//! Each tensor comes with its [`Name`] (a path such as `net.f3.weight` or
//! `opt.inverse.g2.bias.v`, built on the stack and formatted only by who displays it), its
//! shape `[rows, cols]` and its values, column-major. Names:
//! - [`Dense`]: `weight` (`O × I`), `bias` (`O × 1`);
//! - [`Moments`]: `a`, `s`, `v`; [`DenseState`]: `weight.{a,s,v}`, `bias.{a,s,v}`;
//! - [`Net`]: `f1 … fM` (forward layers), then `g2 … g{M-1}` (inverses); [`NetState`]: `f1 … fM`;
//! - [`Trainer`]: `net.*`, with DDTP `net.q1 … net.q{M-1}` and `net.rhl` (its
//!   [`Direct`](crate::direct::Direct) weights), `opt.forward.*` (its [`NetState`]),
//!   `opt.inverse.g2 …`, with DDTP `opt.direct.q1 …`;
//! - [`Autoencoder`]: `net.f1` (encoder), `net.g1` (decoder), `opt.forward.f1`, `opt.inverse.g1`.

use core::fmt;

use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};

use crate::OMat;
use crate::autoencoder::{AeAlloc, Autoencoder};
use crate::dense::Dense;
use crate::kernel::Kernel;
#[cfg(feature = "alloc")]
use crate::layout::OptSlot;
use crate::layout::{Alloc, Layout, NetAlloc};
use crate::net::Net;
use crate::optim::{DenseState, InverseState, Moments, NetState};
use crate::trainer::Trainer;

/// A tensor's name: a path of parts joined by dots (`net` · `f3` · `weight`), each part a
/// word and an optional number, linked on the stack from the root. Displays as
/// `net.f3.weight`.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a> {
    parent: Option<&'a Name<'a>>,
    part: &'a str,
    number: Option<usize>,
}

impl Name<'static> {
    /// The empty name every path starts from.
    pub const ROOT: Name<'static> = Name {
        parent: None,
        part: "",
        number: None,
    };
}

impl<'a> Name<'a> {
    /// This name followed by `.part`.
    pub fn join(&'a self, part: &'a str) -> Name<'a> {
        Name {
            parent: Some(self),
            part,
            number: None,
        }
    }

    /// This name followed by `.part{number}` (e.g. `f3`).
    pub fn numbered(&'a self, part: &'a str, number: usize) -> Name<'a> {
        Name {
            parent: Some(self),
            part,
            number: Some(number),
        }
    }

    fn is_root(&self) -> bool {
        self.parent.is_none() && self.part.is_empty() && self.number.is_none()
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent.filter(|p| !p.is_root()) {
            write!(f, "{p}.")?;
        }
        f.write_str(self.part)?;
        match self.number {
            Some(n) => write!(f, "{n}"),
            None => Ok(()),
        }
    }
}

/// A read-only visit: called once per tensor with its name, shape `[rows, cols]` and values
/// (column-major).
pub type Visit<'v, 'a> = dyn FnMut(&Name<'_>, &[usize], &'a [f32]) + 'v;
/// A mutable visit.
pub type VisitMut<'v, 'a> = dyn FnMut(&Name<'_>, &[usize], &'a mut [f32]) + 'v;

/// Something made of named `f32` tensors, visited in a fixed order (the same order by both
/// visits).
pub trait Tensors {
    /// Calls `f` on every tensor, its name under `at`.
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>);
    /// Calls `f` on every tensor, mutably, its name under `at`.
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>);

    /// Calls `f` on every tensor.
    fn visit<'a>(&'a self, f: &mut Visit<'_, 'a>) {
        self.visit_at(&Name::ROOT, f);
    }

    /// Calls `f` on every tensor, mutably, in the order of [`visit`](Tensors::visit).
    fn visit_mut<'a>(&'a mut self, f: &mut VisitMut<'_, 'a>) {
        self.visit_mut_at(&Name::ROOT, f);
    }
}

impl<R: Dim, C: Dim> Tensors for OMat<R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        f(at, &[self.nrows(), self.ncols()], self.as_slice());
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        let shape = [self.nrows(), self.ncols()];
        f(at, &shape, self.as_mut_slice());
    }
}

impl<O: Dim, I: Dim> Tensors for Dense<O, I>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        self.w.visit_at(&at.join("weight"), f);
        self.b.visit_at(&at.join("bias"), f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        self.w.visit_mut_at(&at.join("weight"), f);
        self.b.visit_mut_at(&at.join("bias"), f);
    }
}

impl<R: Dim, C: Dim> Tensors for Moments<R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        self.a.visit_at(&at.join("a"), f);
        self.s.visit_at(&at.join("s"), f);
        self.v.visit_at(&at.join("v"), f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        self.a.visit_mut_at(&at.join("a"), f);
        self.s.visit_mut_at(&at.join("s"), f);
        self.v.visit_mut_at(&at.join("v"), f);
    }
}

impl<O: Dim, I: Dim> Tensors for DenseState<O, I>
where
    DefaultAllocator: Allocator<O, I> + Allocator<O>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        self.w.visit_at(&at.join("weight"), f);
        self.b.visit_at(&at.join("bias"), f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        self.w.visit_mut_at(&at.join("weight"), f);
        self.b.visit_mut_at(&at.join("bias"), f);
    }
}

/// Visits `items` as `{part}{first}`, `{part}{first + 1}`, … under `at`.
fn seq<'a, T: Tensors>(
    items: &'a [T],
    at: &Name<'_>,
    part: &str,
    first: usize,
    f: &mut Visit<'_, 'a>,
) {
    for (k, t) in items.iter().enumerate() {
        t.visit_at(&at.numbered(part, first + k), f);
    }
}

/// [`seq`], mutably.
fn seq_mut<'a, T: Tensors>(
    items: &'a mut [T],
    at: &Name<'_>,
    part: &str,
    first: usize,
    f: &mut VisitMut<'_, 'a>,
) {
    for (k, t) in items.iter_mut().enumerate() {
        t.visit_mut_at(&at.numbered(part, first + k), f);
    }
}

/// `f1`, `f2 … f{M-1}`, `fM`, then `g2 … g{M-1}`: the blob's and the checkpoint's order.
impl<L: Layout> Tensors for Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        let m = self.layers();
        self.first.visit_at(&at.numbered("f", 1), f);
        seq(self.hidden.as_ref(), at, "f", 2, f);
        self.output.visit_at(&at.numbered("f", m), f);
        seq(self.inverse.as_ref(), at, "g", 2, f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        self.visit_parts_mut(at, f, false);
    }
}

impl<L: Layout> Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    /// The mutable visit of [`Tensors`], followed (`direct`, feature `alloc`) by DDTP's
    /// feedback weights ([`Direct`](crate::direct::Direct)) when the net has them.
    fn visit_parts_mut<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>, direct: bool) {
        let m = self.layers();
        self.first.visit_mut_at(&at.numbered("f", 1), f);
        seq_mut(self.hidden.as_mut(), at, "f", 2, f);
        self.output.visit_mut_at(&at.numbered("f", m), f);
        seq_mut(self.inverse.as_mut(), at, "g", 2, f);
        #[cfg(feature = "alloc")]
        if let (true, Some(d)) = (direct, self.direct.get_mut()) {
            d.visit_mut_at(at, f);
        }
        let _ = direct;
    }
}

/// `f1 … fM`, as the layers of [`Net`].
impl<L: Layout> Tensors for NetState<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        let m = self.hidden.as_ref().len() + 2;
        self.first.visit_at(&at.numbered("f", 1), f);
        seq(self.hidden.as_ref(), at, "f", 2, f);
        self.output.visit_at(&at.numbered("f", m), f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        let m = self.hidden.as_ref().len() + 2;
        self.first.visit_mut_at(&at.numbered("f", 1), f);
        seq_mut(self.hidden.as_mut(), at, "f", 2, f);
        self.output.visit_mut_at(&at.numbered("f", m), f);
    }
}

/// `net.*`, `opt.forward.*`, `opt.inverse.g2 …`: parameters, then optimiser state.
impl<L: Layout, B: Dim, K: Kernel, S> Tensors for Trainer<L, B, K, S, InverseState<L>>
where
    DefaultAllocator: Alloc<L, B>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        let (net, opt) = (at.join("net"), at.join("opt"));
        self.net.visit_at(&net, f);
        #[cfg(feature = "alloc")]
        if let Some(d) = self.net.direct.get() {
            d.visit_at(&net, f);
        }
        self.forward_state.visit_at(&opt.join("forward"), f);
        seq(self.inverse_state.as_ref(), &opt.join("inverse"), "g", 2, f);
        #[cfg(feature = "alloc")]
        if let Some(s) = self.direct_state.get() {
            s.visit_at(&opt.join("direct"), f);
        }
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        let (net, opt) = (at.join("net"), at.join("opt"));
        self.net.visit_parts_mut(&net, f, true);
        self.forward_state.visit_mut_at(&opt.join("forward"), f);
        seq_mut(self.inverse_state.as_mut(), &opt.join("inverse"), "g", 2, f);
        #[cfg(feature = "alloc")]
        if let Some(s) = self.direct_state.get_mut() {
            s.visit_mut_at(&opt.join("direct"), f);
        }
    }
}

/// `net.f1` (encoder), `net.g1` (decoder), `opt.forward.f1`, `opt.inverse.g1`.
impl<IN: Dim, H: Dim, B: Dim, K: Kernel> Tensors for Autoencoder<IN, H, B, K>
where
    DefaultAllocator: AeAlloc<IN, H, B>,
{
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        let (net, opt) = (at.join("net"), at.join("opt"));
        self.encoder.visit_at(&net.numbered("f", 1), f);
        self.decoder.visit_at(&net.numbered("g", 1), f);
        let (fw, inv) = (opt.join("forward"), opt.join("inverse"));
        self.encoder_state.visit_at(&fw.numbered("f", 1), f);
        self.decoder_state.visit_at(&inv.numbered("g", 1), f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        let (net, opt) = (at.join("net"), at.join("opt"));
        self.encoder.visit_mut_at(&net.numbered("f", 1), f);
        self.decoder.visit_mut_at(&net.numbered("g", 1), f);
        let (fw, inv) = (opt.join("forward"), opt.join("inverse"));
        self.encoder_state.visit_mut_at(&fw.numbered("f", 1), f);
        self.decoder_state.visit_mut_at(&inv.numbered("g", 1), f);
    }
}
