//! Desktop side of dtp: datasets, training of networks of any layout, checkpoints,
//! evaluation and export. The `dtp` binary is a thin command line over this library.
//!
//! A whole run, as `dtp train --layers 64-48-24-10 --batch 7 --epochs 3` does it (checkpoint,
//! metrics and summary in the run directory):
//!
//! ```
//! use dtp_std::config::{HyperPatch, Layers};
//! use dtp_std::observe::Silent;
//! use dtp_std::train::{RunSpec, train};
//!
//! let dir = tempfile::tempdir().unwrap();
//! // 64-48-24-10 on the embedded digits, minibatches of 7, the digits preset's settings.
//! let spec = RunSpec {
//!     patch: HyperPatch {
//!         layers: Some("64-48-24-10".parse::<Layers>().unwrap()),
//!         batch: Some(7),
//!         epochs: Some(3),
//!         ..HyperPatch::default()
//!     },
//!     out: Some(dir.path().join("mine")),
//!     plot: false,
//!     ..RunSpec::default()
//! };
//! let summary = train(&spec, &mut Silent).expect("trained");
//! assert_eq!(summary.widths, "64-48-24-10");
//! assert!(summary.test_error < 0.5);
//! ```
//!
//! The core's run-time-shaped trainer directly, on a tiny in-memory set:
//!
//! ```
//! use dtp_core::{Config, DynTrainer, Init, Portable};
//! use rand_pcg::Pcg64;
//!
//! // 3 features, hidden layers of 8 and 6 units, 2 classes; minibatches of 4.
//! let mut t = DynTrainer::<Portable>::with_widths(&[3, 8, 6, 2], 4).unwrap();
//! let mut rng = Pcg64::new(1, 1);
//! t.init(Config::CONTINUOUS, Init::Orthogonal, &mut rng).unwrap();
//! let (x, labels) = t.batch_mut();
//! for b in 0..4 {
//!     let class = b % 2;
//!     x.column_mut(b).copy_from_slice(&[class as f32, 1.0 - class as f32, 0.5]);
//!     labels.column_mut(b).fill(0.0);
//!     labels[(class, b)] = 1.0;
//! }
//! let before = t.evaluate(&mut rng).unwrap().loss;
//! for _ in 0..200 {
//!     t.step(&mut rng).unwrap(); // forward, inverse step, targets, forward step
//! }
//! let after = t.evaluate(&mut rng).unwrap();
//! assert!(after.loss < before, "{before} -> {}", after.loss);
//! assert_eq!(after.correct, 4);
//! ```
//!
//! ## Modules
//! - [`train`]: a run ([`RunSpec`](train::RunSpec) → [`Summary`](metrics::Summary)): the epoch
//!   loop, checkpoints, resumption; [`observe`]: what a run reports while it goes;
//! - [`model`]: [`Model`](model::Model), what training needs of a network:
//!   [`Classifier`](model::Classifier) (the core's run-time-shaped trainer) or the
//!   [`autoencoder`] (the core's DTP auto-encoder with linear probes on its codes);
//! - [`layers`]: a layout as the user writes it (`784-500-250-10`, `auto` ends);
//! - [`config`]: every setting, declared once ([`settings`]), with TOML / flag overrides;
//!   [`kinds`]: the names a setting takes; [`optimiser`]: an optimiser's table and flags;
//!   [`presets`]: the reference experiments as rows of settings;
//! - [`data`], [`datasets`]: dataset readers (MNIST / Fashion-MNIST IDX, CIFAR-10, CSV of any
//!   width, embedded digits) and the splits;
//! - [`batches`]: shuffled training minibatches and padded evaluation batches;
//! - [`checkpoint`]: self-describing safetensors checkpoints written atomically; [`rundir`]:
//!   run directories (never overwritten by mistake); [`data_record`]: the record of a run's
//!   data;
//! - [`evaluate`]: a checkpoint's [`EvalReport`](evaluate::EvalReport) and firmware blob;
//! - [`metrics`], [`plot`], [`plot_runs`]: what a run records and draws;
//! - [`failure`]: errors with their exit codes;
//! - [`int_model`]: `--arith int`, the desktop twin of the device's integer DTP step.
#![deny(missing_docs)]

pub mod autoencoder;
pub mod batches;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod data_record;
pub mod datasets;
pub mod divergence;
pub mod evaluate;
pub mod failure;
pub mod int_model;
pub mod kinds;
pub mod layers;
pub mod measures;
pub mod metrics;
pub mod model;
pub mod observe;
pub mod optimiser;
pub mod plot;
pub mod plot_runs;
pub mod presets;
pub mod rundir;
pub mod settings;
pub mod train;
