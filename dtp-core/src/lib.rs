#![no_std]
//! dtp-core
