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

/// Implements [`Tensors`] for a type from one list of its tensors, in order, so that its
/// two visits ([`Tensors::visit_at`], [`Tensors::visit_mut_at`]) cannot drift apart:
/// `one FIELD => NAME;` visits a field under `NAME`, `seq FIELD => AT, PART, FIRST;` the
/// items of a sequence field as `AT.PART{FIRST}`, `AT.PART{FIRST + 1}`, …. The optional
/// block before the list holds `let`s the names use; it and the names may read `self` and
/// `at` (the name the whole is visited under). `opt FIELD.PATH => NAME;` visits an optional
/// part (a [`Layout::Opt`](crate::Layout) slot, feature `alloc`) under `NAME` when present.
macro_rules! tensors {
    (@one $visit:ident $view:ident $iter:ident $get:ident, $t:expr, $name:expr, $f:ident) => {
        $t.$visit(&$name, $f)
    };
    (@opt $visit:ident $view:ident $iter:ident $get:ident, $t:expr, $name:expr, $f:ident) => {
        #[cfg(feature = "alloc")]
        if let Some(t) = $t.$get() {
            t.$visit(&$name, $f);
        }
    };
    (@seq $visit:ident $view:ident $iter:ident $get:ident, $items:expr, $at:expr, $part:expr, $first:expr, $f:ident) => {
        for (k, t) in $items.$view().$iter().enumerate() {
            t.$visit(&$at.numbered($part, $first + k), $f);
        }
    };
    (
        $(#[$doc:meta])*
        impl[$($g:tt)*] $ty:ty where [$($bound:tt)*]
        |$self:ident, $at:ident| $({ $($pre:stmt;)* })?
        $($kind:ident $($field:ident).+ => $($arg:expr),+;)+
    ) => {
        $(#[$doc])*
        impl<$($g)*> Tensors for $ty
        where
            $($bound)*
        {
            fn visit_at<'a>(&'a $self, $at: &Name<'_>, f: &mut Visit<'_, 'a>) {
                $($($pre)*)?
                $(tensors!(@$kind visit_at as_ref iter get, $self.$($field).+, $($arg),+, f);)+
            }
            fn visit_mut_at<'a>(&'a mut $self, $at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
                $($($pre)*)?
                $(tensors!(@$kind visit_mut_at as_mut iter_mut get_mut, $self.$($field).+, $($arg),+, f);)+
            }
        }
    };
}

tensors! {
    impl[O: Dim, I: Dim] Dense<O, I> where [DefaultAllocator: Allocator<O, I> + Allocator<O>]
    |self, at|
    one w => at.join("weight");
    one b => at.join("bias");
}

tensors! {
    impl[R: Dim, C: Dim] Moments<R, C> where [DefaultAllocator: Allocator<R, C>]
    |self, at|
    one a => at.join("a");
    one s => at.join("s");
    one v => at.join("v");
}

tensors! {
    impl[O: Dim, I: Dim] DenseState<O, I> where [DefaultAllocator: Allocator<O, I> + Allocator<O>]
    |self, at|
    one w => at.join("weight");
    one b => at.join("bias");
}

tensors! {
    /// `f1`, `f2 … f{M-1}`, `fM`, then `g2 … g{M-1}`: the blob's and the checkpoint's order.
    impl[L: Layout] Net<L> where [DefaultAllocator: NetAlloc<L>]
    |self, at| { let m = self.layers(); }
    one first => at.numbered("f", 1);
    seq hidden => at, "f", 2;
    one output => at.numbered("f", m);
    seq inverse => at, "g", 2;
}

tensors! {
    /// `f1 … fM`, as the layers of [`Net`].
    impl[L: Layout] NetState<L> where [DefaultAllocator: NetAlloc<L>]
    |self, at| { let m = self.hidden.as_ref().len() + 2; }
    one first => at.numbered("f", 1);
    seq hidden => at, "f", 2;
    one output => at.numbered("f", m);
}

tensors! {
    /// `net.*` (with DDTP's feedback weights after the net's own), `opt.forward.*`,
    /// `opt.inverse.g2 …` (then DDTP's `opt.direct.*`): parameters, then optimiser state.
    impl[L: Layout, B: Dim, K: Kernel, S] Trainer<L, B, K, S, InverseState<L>>
    where [DefaultAllocator: Alloc<L, B>]
    |self, at| { let (net, opt, m) = (at.join("net"), at.join("opt"), self.net.layers()); }
    // The net's parts as [`Net`] lists them, field by field so DDTP's follow under `net`.
    one net.first => net.numbered("f", 1);
    seq net.hidden => &net, "f", 2;
    one net.output => net.numbered("f", m);
    seq net.inverse => &net, "g", 2;
    opt net.direct => net;
    one forward_state => opt.join("forward");
    seq inverse_state => &opt.join("inverse"), "g", 2;
    opt direct_state => opt.join("direct");
}

tensors! {
    /// `net.f1` (encoder), `net.g1` (decoder), `opt.forward.f1`, `opt.inverse.g1`.
    impl[IN: Dim, H: Dim, B: Dim, K: Kernel] Autoencoder<IN, H, B, K>
    where [DefaultAllocator: AeAlloc<IN, H, B>]
    |self, at| {
        let (net, opt) = (at.join("net"), at.join("opt"));
        let (fw, inv) = (opt.join("forward"), opt.join("inverse"));
    }
    one encoder => net.numbered("f", 1);
    one decoder => net.numbered("g", 1);
    one encoder_state => fw.numbered("f", 1);
    one decoder_state => inv.numbered("g", 1);
}
