//! [`Once`]: a `static` handed out as `&'static mut` exactly once.

use crate::atomic::{AtomicBool, Ordering};
use core::cell::UnsafeCell;

/// A value in a `static`, lent out mutably once, for the lifetime of the program.
///
/// Built from an all-zero value it lives in `.bss`: nothing is copied from flash at reset
/// and it never passes through the stack.
pub struct Once<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reachable only through the single `&mut` that `take` returns.
unsafe impl<T: Send> Sync for Once<T> {}

impl<T> Once<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Once {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` afterwards.
    // `&'static mut` from `&'static`: the `taken` flag makes it the only reference ever.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, Ordering::AcqRel) {
            None
        } else {
            // SAFETY: `taken` was false, so no other reference exists or will exist.
            Some(unsafe { &mut *self.value.get() })
        }
    }
}
