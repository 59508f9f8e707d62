//! # dtp-digits — the firmware's digits facts, written once
//!
//! The on-device demos (`firmware/`) learn the UCI 8×8 digits from a table in flash. What
//! that table holds and how it is read must agree, bit for bit, between the firmware, its
//! build script, the desktop's `digits-firmware` dataset (`dtp-std`) and the host replay of
//! the device's run (`tests/tests/firmware_replay.rs`). Each fact lives in one module here:
//!
//! - [`format`]: the 4-bit pixel (stored `q = round(15v/16)` of `v ∈ 0..=16`, read `q/15`),
//!   two to a byte, and the sizes;
//! - [`split`]: which samples are held out (`i % 5 == 4`) and which form the training stream;
//! - [`order`]: the generator streams and the Fisher–Yates shuffle of the training order;
//! - [`digest`]: the FNV-1a digest of a network's weight bits the firmware logs;
//! - `table` (feature `alloc`): the CSV packed into the table the firmware keeps in flash.
//!
//! `no_std`, no allocation without `alloc`, no dependency but `rand_core`.
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod digest;
pub mod format;
pub mod order;
pub mod split;
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub mod table;

pub use format::{CLASSES, LEN, PIXELS};
