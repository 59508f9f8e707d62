//! Desktop side of dtp: datasets, training, checkpoints and the `dtp` CLI.

pub mod data;
