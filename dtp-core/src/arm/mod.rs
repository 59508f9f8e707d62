//! The core's Arm assembly, gathered: one submodule per kernel, each with its dispatch point
//! (the function the rest of the core calls), its portable twin beside it, and — only on
//! hard-float Arm (`target_arch = "arm"`, `target_abi = "eabihf"`: Cortex-M4F, M7, M33) —
//! the `extern "C"` declaration and the `global_asm!` routine it dispatches to.
//!
//! Each routine computes exactly the bits its portable twin computes (the same operations,
//! rounded in the same order: `vmla` on these cores is not fused), so the Cortex-M4F with the
//! assembly and the soft-float Cortex-M3 with the portable twins end a run with the same
//! weights (`firmware/weights-digest-seed1.txt`). Why assembly at all: the stable compiler
//! cannot name a single-precision register on an FPv4-SP FPU, and its loops reload constants
//! and test floats through `vcmp` + `vmrs`; each routine's comment gives the instruction
//! counts it was written for.
//!
//! | kernel | dispatch point | routine |
//! |---|---|---|
//! | [`sign`] | `sign::sign` (`Quantiser::Sign`) | `dtp_core_sign_f32` |
//! | [`finite`] | `finite::sum_times_zero` (`error::check_finite`) | `dtp_core_finite_sum_f32` |
//! | [`tanh`] | `tanh::tanh_in_place` (`Activation::apply_slice`); the scalar `tanh::tanh` (`activation::tanh`) | `dtp_core_tanh_f32` |
//! | [`sqrt`] | `sqrt::sqrt` (`math::sqrt`) | `dtp_core_vsqrt_f32` |
//! | [`gemv`] | `gemv::gemv_blocked`, `gemv::gemv_add` (`Portable::gemm`, `gemm_bias`) | `dtp_core_gemv_add_f32` |
//! | [`update`] | `Optimiser::update_columns` | `dtp_core_rmsprop_columns_f32`, `dtp_core_sgd_columns_f32` |
//!
//! Arm code in portable Rust (the Cortex-M3 runs it too): the branch-free range test of the
//! scalar `tanh` and the register-blocked `gemv_blocked` are here; the float-sum finiteness
//! check of `optim`'s update loops (`Finite`) stays with them.

pub(crate) mod finite;
pub(crate) mod gemv;
pub(crate) mod sign;
pub(crate) mod sqrt;
pub(crate) mod tanh;
pub(crate) mod update;
