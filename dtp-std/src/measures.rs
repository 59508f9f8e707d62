//! What a model of either kind reports and is made of: its [`Shape`], an [`Evaluation`], and
//! the run-time-shaped dense layer both models and the probes use.

use dtp_core::{Dense, DenseState};
use nalgebra::Dyn;

/// A dense layer of run-time shape.
pub type DynDense = Dense<Dyn, Dyn>;
/// Its optimiser state.
pub type DynDenseState = DenseState<Dyn, Dyn>;

/// The layer widths of a network and its minibatch size.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Shape {
    /// Widths `w_0 … w_M`: input, hidden layers, output (for the auto-encoder: input, code,
    /// reconstruction).
    pub layers: Vec<usize>,
    /// Minibatch size `B`.
    pub batch: usize,
}

impl Shape {
    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers.first().copied().unwrap_or(0)
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers.last().copied().unwrap_or(0)
    }

    /// Layer widths, e.g. `784-500-250-10`.
    pub fn widths(&self) -> String {
        crate::layers::widths_string(&self.layers)
    }
}

/// Result of evaluating a model on a dataset.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Fraction of samples misclassified, in [0, 1].
    pub error: f64,
    /// Mean negative log-likelihood of the (averaged) output probabilities.
    pub loss: f64,
    /// Number of samples.
    pub samples: usize,
}
