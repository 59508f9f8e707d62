//! The matrix types of the whole crate: [`OMat`] over nalgebra dimensions, [`Mat`] of
//! compile-time shape, and [`zeros`] for `const` contexts.
//!
//! A module of its own (re-exported at the crate root) so that every other module imports its
//! matrices from here rather than from the root that declares them all.

/// The matrix type of the whole crate: `R × C` `f32`, column-major, over nalgebra dimensions
/// (`Const<N>`: stored inline; `Dyn`: on the heap, feature `alloc`).
///
/// Activations of a minibatch are `units × batch`: column `b` is sample `b`.
pub type OMat<R, C> = nalgebra::OMatrix<f32, R, C>;

/// [`OMat`] of compile-time shape, stored inline.
pub type Mat<const R: usize, const C: usize> = nalgebra::SMatrix<f32, R, C>;

/// A `Mat` of zeros, usable in `const` contexts (for `static` networks on a microcontroller).
pub const fn zeros<const R: usize, const C: usize>() -> Mat<R, C> {
    Mat::from_array_storage(nalgebra::ArrayStorage([[0.0; R]; C]))
}
