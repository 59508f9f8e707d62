//! What [`team`](crate::team) synchronises with: std's atomics, locks, threads and clock in
//! every normal build (plain re-exports and `#[inline(always)]` wrappers: the same code as
//! using std directly), [`loom`](https://docs.rs/loom)'s under `--cfg loom`, where the team's
//! protocol is model-checked (`team::loom_model`).
//!
//! Under loom there is no clock and no busy waiting: loom explores every interleaving of a
//! bounded number of steps, so a waiter looks once and then parks (a helper) or yields to the
//! other threads on every check (the caller), and loom's [`UnsafeCell`] reports any access to
//! the job slot that the hand-over's orderings do not make happen-after its write.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex};
#[cfg(not(loom))]
pub(crate) use std::thread;
#[cfg(not(loom))]
pub(crate) use std::time::Instant;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex};
#[cfg(loom)]
pub(crate) use loom::thread;

/// Spins between two looks at the clock while waiting (1 under loom: look at once, and the
/// clock there says the spin is over).
pub(crate) const SPINS_PER_LOOK: u32 = if cfg!(loom) { 1 } else { 64 };

/// A busy-wait hint: the CPU's pause instruction (under loom, a yield to the other threads).
#[inline(always)]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::hint::spin_loop();
}

/// Nothing in a normal build; under loom a `SeqCst` fence, placed right after each `SeqCst`
/// read-modify-write of the park/wake check (a Dekker-style pair: announce, then look at what
/// the other side announced). Loom models `SeqCst` accesses as `AcqRel` only (its README,
/// "Unsupported features"), too weak for that pair, and would report a lost wake-up that the
/// real memory model excludes; the fence, which loom does model, restores the single total
/// order of `SeqCst` operations that the real code has.
#[inline(always)]
pub(crate) fn seqcst_for_loom() {
    #[cfg(loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}

/// No clock under loom: every wait is over as soon as it is looked at.
#[cfg(loom)]
#[derive(Clone, Copy)]
pub(crate) struct Instant;

#[cfg(loom)]
impl Instant {
    pub(crate) fn now() -> Self {
        Instant
    }

    pub(crate) fn elapsed(&self) -> core::time::Duration {
        core::time::Duration::MAX
    }
}

/// `core::cell::UnsafeCell` with loom's access API (`with`, `with_mut`), so the same code
/// compiles against loom's, which checks each access against the accesses of other threads.
#[cfg(not(loom))]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// `f` with a pointer to read the value through.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// `f` with a pointer to write the value through.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
