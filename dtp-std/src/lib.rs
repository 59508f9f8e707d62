//! Desktop side of dtp: datasets, training, checkpoints and the `dtp` CLI.
//!
//! ## Modules
//! - [`data`]: dataset readers (MNIST / Fashion-MNIST IDX, CIFAR-10, CSV, embedded digits);
//! - [`model`]: [`Model`](model::Model), an object-safe face of every const-generic
//!   `dtp_core::Trainer`;
//! - [`presets`]: the reference experiments as concrete trainers;
//! - [`autoencoder`]: the `mnist-ae` preset's model (the core's DTP auto-encoder with linear
//!   probes on its codes);
//! - [`config`]: hyper-parameters with TOML / flag overrides;
//! - [`batches`]: shuffled training minibatches and padded evaluation batches;
//! - [`train`]: the epoch loop of `dtp train`; [`commands`]: `eval`, `export`, `plot`, `info`;
//! - [`checkpoint`]: safetensors checkpoints written atomically; [`rundir`]: run directories
//!   (never overwritten by mistake) and the record of a run's data;
//! - [`metrics`], [`progress`], [`plot`]: what a run reports;
//! - [`cli`]: the clap definitions; [`failure`]: errors with their exit codes.
#![deny(missing_docs)]

pub mod autoencoder;
pub mod batches;
pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod datasets;
pub mod failure;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod plot;
pub mod plot_runs;
pub mod presets;
pub mod progress;
pub mod rundir;
pub mod train;
