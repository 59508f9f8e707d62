//! [`Hidden`]: one value per hidden layer, indexed `0..=R`.

use core::ops::{Index, IndexMut};

/// One `T` for each of the `R + 1` hidden layers of a network, indexed from 0.
///
/// Index `k` is the paper's hidden layer `i = k + 1`. Stable Rust cannot write an array of
/// length `R + 1` for a const `R`, so the first layer is stored on its own.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hidden<T, const R: usize> {
    /// Hidden layer 1 (index 0).
    pub first: T,
    /// Hidden layers 2..=R+1 (indices 1..=R).
    pub rest: [T; R],
}

impl<T, const R: usize> Hidden<T, R> {
    /// The number of hidden layers, `R + 1`.
    pub const LEN: usize = R + 1;

    /// Iterates over the layers in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        core::iter::once(&self.first).chain(self.rest.iter())
    }
}

impl<T: Copy, const R: usize> Hidden<T, R> {
    /// Every layer holds `value`.
    pub const fn splat(value: T) -> Self {
        Hidden {
            first: value,
            rest: [value; R],
        }
    }
}

impl<T, const R: usize> Index<usize> for Hidden<T, R> {
    type Output = T;
    #[inline]
    fn index(&self, k: usize) -> &T {
        if k == 0 {
            &self.first
        } else {
            &self.rest[k - 1]
        }
    }
}

impl<T, const R: usize> IndexMut<usize> for Hidden<T, R> {
    #[inline]
    fn index_mut(&mut self, k: usize) -> &mut T {
        if k == 0 {
            &mut self.first
        } else {
            &mut self.rest[k - 1]
        }
    }
}
