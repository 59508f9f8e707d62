//! [`Hidden`]: one value per hidden layer, indexed `0..=R`.

use crate::layout::Layout;
use core::fmt::Debug;
use core::ops::{Index, IndexMut};

/// One `T` for each of the `R + 1` hidden layers of a network of layout `L`, indexed from 0.
///
/// Index `k` is the paper's hidden layer `i = k + 1`. The first layer is stored on its own
/// and the others in the layout's sequence (`[T; R]` or `Vec<T>`): stable Rust cannot write
/// an array of length `R + 1` for a const `R`.
pub struct Hidden<T: Clone + Debug + PartialEq, L: Layout> {
    /// Hidden layer 1 (index 0).
    pub first: T,
    /// Hidden layers 2..=R+1 (indices 1..=R).
    pub rest: L::Seq<T>,
}

impl<T: Clone + Debug + PartialEq, L: Layout> Clone for Hidden<T, L> {
    fn clone(&self) -> Self {
        Hidden {
            first: self.first.clone(),
            rest: self.rest.clone(),
        }
    }
}

impl<T: Clone + Debug + PartialEq, L: Layout> Debug for Hidden<T, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Clone + Debug + PartialEq, L: Layout> PartialEq for Hidden<T, L> {
    fn eq(&self, other: &Self) -> bool {
        self.first == other.first && self.rest == other.rest
    }
}

#[cfg(feature = "defmt")]
impl<T: Clone + Debug + PartialEq + defmt::Format, L: Layout> defmt::Format for Hidden<T, L> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "[{}", self.first);
        for v in self.rest.as_ref() {
            defmt::write!(f, ", {}", v);
        }
        defmt::write!(f, "]");
    }
}

impl<T: Clone + Debug + PartialEq, L: Layout> Hidden<T, L> {
    /// The number of hidden layers, `R + 1`.
    pub fn len(&self) -> usize {
        self.rest.as_ref().len() + 1
    }

    /// Never empty: a network has at least one hidden layer.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Iterates over the layers in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        core::iter::once(&self.first).chain(self.rest.as_ref().iter())
    }

    /// Iterates mutably over the layers in order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        core::iter::once(&mut self.first).chain(self.rest.as_mut().iter_mut())
    }

    /// The last hidden layer (index `R`).
    pub fn last(&self) -> &T {
        self.rest.as_ref().last().unwrap_or(&self.first)
    }

    /// `(&h[k], &mut h[k + 1])`.
    pub fn pair_mut(&mut self, k: usize) -> (&T, &mut T) {
        let rest = self.rest.as_mut();
        if k == 0 {
            (&self.first, &mut rest[0])
        } else {
            let (lo, hi) = rest.split_at_mut(k);
            (&lo[k - 1], &mut hi[0])
        }
    }
}

impl<T: Copy + Debug + PartialEq, const IN: usize, const H: usize, const OUT: usize, const R: usize>
    Hidden<T, crate::Fixed<IN, H, OUT, R>>
{
    /// Every layer holds `value`.
    pub const fn splat(value: T) -> Self {
        Hidden {
            first: value,
            rest: [value; R],
        }
    }
}

impl<T: Clone + Debug + PartialEq, L: Layout> Index<usize> for Hidden<T, L> {
    type Output = T;
    #[inline]
    fn index(&self, k: usize) -> &T {
        if k == 0 {
            &self.first
        } else {
            &self.rest.as_ref()[k - 1]
        }
    }
}

impl<T: Clone + Debug + PartialEq, L: Layout> IndexMut<usize> for Hidden<T, L> {
    #[inline]
    fn index_mut(&mut self, k: usize) -> &mut T {
        if k == 0 {
            &mut self.first
        } else {
            &mut self.rest.as_mut()[k - 1]
        }
    }
}
