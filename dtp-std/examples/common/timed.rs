//! A [`Kernel`] that times every product, shared by the speed examples (each includes it
//! with `#[path = "common/timed.rs"] mod timed;`): one ledger of the products run, by layout
//! and shape, summed over every thread. Each example uses some of it only.
#![allow(dead_code)]

use dtp_core::OMat;
use dtp_core::kernel::Kernel;
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::time::Instant;

/// How a product reads its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layout {
    /// `A·B`.
    Nn,
    /// `Aᵀ·B`.
    Tn,
    /// `A·Bᵀ`.
    Nt,
}

impl Layout {
    /// `A·B`, `Aᵀ·B` or `A·Bᵀ`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Nn => "A·B",
            Layout::Tn => "Aᵀ·B",
            Layout::Nt => "A·Bᵀ",
        }
    }
}

/// `(layout, M, K, N)` → (calls, nanoseconds inside them, summed over threads).
pub type Ledger = BTreeMap<(Layout, usize, usize, usize), (u64, u64)>;

static LEDGER: Mutex<Ledger> = Mutex::new(BTreeMap::new());

/// The kernel `K` with a stopwatch around every product.
pub struct Timed<K>(PhantomData<K>);

/// Empties the ledger.
pub fn clear() {
    LEDGER.lock().unwrap().clear();
}

/// The products recorded since the last [`clear`].
pub fn ledger() -> Ledger {
    LEDGER.lock().unwrap().clone()
}

/// Nanoseconds inside the products and their FLOPs, since the last [`clear`].
pub fn totals() -> (u64, u64) {
    ledger()
        .iter()
        .fold((0, 0), |(ns, flops), (&(_, m, k, n), &(calls, t))| {
            (ns + t, flops + 2 * (m * k * n) as u64 * calls)
        })
}

/// Calls by shape `(M, K, N)`, layouts merged, since the last [`clear`].
pub fn shapes() -> BTreeMap<(usize, usize, usize), u64> {
    let mut out = BTreeMap::new();
    for (&(_, m, k, n), &(calls, _)) in &ledger() {
        *out.entry((m, k, n)).or_insert(0) += calls;
    }
    out
}

fn record(layout: Layout, (m, k, n): (usize, usize, usize), start: Instant) {
    let ns = start.elapsed().as_nanos() as u64;
    let mut l = LEDGER.lock().unwrap();
    let e = l.entry((layout, m, k, n)).or_insert((0, 0));
    e.0 += 1;
    e.1 += ns;
}

impl<T: Kernel> Kernel for Timed<T> {
    fn gemm<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<K, N>,
    {
        let t = Instant::now();
        T::gemm(c, alpha, a, b, beta);
        record(Layout::Nn, (c.nrows(), a.ncols(), c.ncols()), t);
    }
    fn gemm_tn<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<K, M>,
        b: &OMat<K, N>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<K, M> + Allocator<K, N>,
    {
        let t = Instant::now();
        T::gemm_tn(c, alpha, a, b, beta);
        record(Layout::Tn, (c.nrows(), a.nrows(), c.ncols()), t);
    }
    fn gemm_nt<M: Dim, K: Dim, N: Dim>(
        c: &mut OMat<M, N>,
        alpha: f32,
        a: &OMat<M, K>,
        b: &OMat<N, K>,
        beta: f32,
    ) where
        DefaultAllocator: Allocator<M, N> + Allocator<M, K> + Allocator<N, K>,
    {
        let t = Instant::now();
        T::gemm_nt(c, alpha, a, b, beta);
        record(Layout::Nt, (c.nrows(), a.ncols(), c.ncols()), t);
    }
}
