//! Host-side integration tests live in `tests/`.
