//! The atomics the firmware uses, on every core: `core::sync::atomic` where the core has
//! compare-and-swap (Armv7-M, Armv8-M), `portable-atomic` over a critical section where it
//! has not (Armv6-M: Cortex-M0/M0+ have atomic loads and stores, but no `swap` or
//! `fetch_add`).
//!
//! `portable-atomic` would use the core's atomics on Armv7-M as well, but depending on it
//! there changes the crate's symbol hashes, and with them LLVM's code for the DTP step (a few
//! instructions a step): the dependency is only there for Armv6-M.

#[cfg(target_has_atomic = "32")]
pub use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
#[cfg(not(target_has_atomic = "32"))]
pub use portable_atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
