//! Host-side integration tests of the DTP core across crates live in `tests/`.
