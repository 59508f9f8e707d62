//! Helpers shared by the test files that include them (`mod common;`). Each test file is a
//! crate of its own and uses some of them only.
#![allow(dead_code)]

pub mod cli;
pub mod conv_digits;
pub mod conv_nets;
