//! Timing helpers shared by the speed examples (each includes them with
//! `#[path = "common/timed.rs"] mod timed;`): a [`Kernel`] that times every product into one
//! ledger, by layout and shape, summed over every thread; the `gemm` crate's stand-alone rate
//! of a product; medians. Each example uses some of it only.
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

/// The median of `v` (sorted in place; the mean of the middle two for an even count).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// GFLOP/s per thread of one stand-alone `gemm` crate product of `layout` and shape `M×K×N`
/// on one thread (as the chunks run theirs), hot, with `threads` threads each running their
/// own at the same time (1: one core alone).
pub fn standalone(layout: Layout, m: usize, k: usize, n: usize, threads: usize) -> f64 {
    let flops = 2.0 * (m * k * n) as f64;
    let reps = ((2e9 / flops) as usize).max(20);
    let one = || {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0.0f32; m * n];
        // Column-major storage: `A` as m × k (or k × m read transposed), `B` as k × n (or
        // n × k read transposed): (column stride, row stride) of the operand as read.
        let (acs, ars) = match layout {
            Layout::Tn => (1, k as isize),
            _ => (m as isize, 1),
        };
        let (bcs, brs) = match layout {
            Layout::Nt => (1, n as isize),
            _ => (k as isize, 1),
        };
        let mut product = || {
            // SAFETY: `c` is m × n column-major; `a` and `b` hold m·k and k·n values read
            // with the strides above, inside their buffers; the three are distinct.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    m as isize,
                    1,
                    false,
                    a.as_ptr(),
                    acs,
                    ars,
                    b.as_ptr(),
                    bcs,
                    brs,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                )
            }
        };
        for _ in 0..reps / 10 {
            product();
        }
        let t = Instant::now();
        for _ in 0..reps {
            product();
        }
        flops * reps as f64 / t.elapsed().as_secs_f64() / 1e9
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(one)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum::<f64>() / threads as f64
    })
}
