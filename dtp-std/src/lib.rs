//! Desktop side of dtp: datasets, training of networks of any layout, checkpoints,
//! evaluation and export. The `dtp` binary is a thin command line over this library.
//!
//! ```no_run
//! use dtp_std::config::{HyperPatch, Layers};
//! use dtp_std::observe::Silent;
//! use dtp_std::train::{RunSpec, train};
//!
//! // 64-48-24-10 on the embedded digits, minibatches of 7, the digits preset's settings.
//! let spec = RunSpec {
//!     patch: HyperPatch {
//!         layers: Some("64-48-24-10".parse::<Layers>().unwrap()),
//!         batch: Some(7),
//!         epochs: Some(20),
//!         ..HyperPatch::default()
//!     },
//!     out: Some("runs/mine".into()),
//!     ..RunSpec::default()
//! };
//! let summary = train(&spec, &mut Silent).expect("trained");
//! println!("test error {:.2} %", 100.0 * summary.test_error);
//! ```
//!
//! ## Modules
//! - [`train`]: a run ([`RunSpec`](train::RunSpec) → [`Summary`](metrics::Summary)): the epoch
//!   loop, checkpoints, resumption; [`observe`]: what a run reports while it goes;
//! - [`model`]: [`Model`](model::Model), what training needs of a network:
//!   [`Classifier`](model::Classifier) (the core's run-time-shaped trainer) or the
//!   [`autoencoder`] (the core's DTP auto-encoder with linear probes on its codes);
//! - [`layers`]: a layout as the user writes it (`784-500-250-10`, `auto` ends);
//! - [`config`]: every setting, with TOML / flag overrides; [`presets`]: the reference
//!   experiments as rows of settings;
//! - [`data`], [`datasets`]: dataset readers (MNIST / Fashion-MNIST IDX, CIFAR-10, CSV of any
//!   width, embedded digits) and the splits;
//! - [`batches`]: shuffled training minibatches and padded evaluation batches;
//! - [`checkpoint`]: self-describing safetensors checkpoints written atomically; [`rundir`]:
//!   run directories (never overwritten by mistake) and the record of a run's data;
//! - [`evaluate`]: a checkpoint's [`EvalReport`](evaluate::EvalReport) and firmware blob;
//! - [`metrics`], [`plot`], [`plot_runs`]: what a run records and draws;
//! - [`failure`]: errors with their exit codes.
#![deny(missing_docs)]

pub mod autoencoder;
pub mod batches;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod datasets;
pub mod evaluate;
pub mod failure;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod observe;
pub mod plot;
pub mod plot_runs;
pub mod presets;
pub mod rundir;
pub mod train;
