//! [`Model`]: what training, evaluation and checkpoints need of a network, whatever it is: a
//! [`Classifier`] (the core's run-time-shaped DTP trainer) or the denoising auto-encoder
//! ([`AeModel`](crate::autoencoder::AeModel)). What only one of them has (a classifier's
//! firmware blob; the auto-encoder's linear probes) is on that type, reached through
//! [`Model::as_classifier`] / [`Model::as_autoencoder`].

use dtp_core::blob::BlobError;
use dtp_core::parallel::Parallel;
use dtp_core::step::Drive;
use dtp_core::{
    Auto, Config, ConfigError, Dense, DenseState, DynTrainer, EpochStats, Error, Gradient, Init,
    Moments, Schedule,
};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, Dyn};
use rand_pcg::Pcg64;

use crate::batches::{EpochBatches, put_sample};
use crate::data::Dataset;
use crate::kinds::Algo;
pub use crate::kinds::ModelKind;

/// A dense layer of run-time shape.
pub type DynDense = Dense<Dyn, Dyn>;
/// Its optimiser state.
pub type DynDenseState = DenseState<Dyn, Dyn>;

/// What a linear probe reached: a softmax-regression classifier trained on fixed features
/// (the auto-encoder's codes, or raw pixels as the baseline), the epoch picked by
/// validation error.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeFit {
    /// `codes` (the encoder's `f(x)` on clean images) or `pixels`.
    pub features: String,
    /// Feature width.
    pub width: usize,
    /// Probe epochs run (early stopping included).
    pub epochs: u32,
    /// The epoch of the best validation error, whose weights are kept.
    pub best_epoch: u32,
    /// Learning rate of the probe's RMSprop.
    pub lr: f32,
    /// Training error of the kept weights.
    pub train_error: f64,
    /// Validation error of the kept weights.
    pub valid_error: f64,
    /// Test error of the kept weights.
    pub test_error: f64,
}

/// What [`AeModel::finish`](crate::autoencoder::AeModel::finish) fitted after the last epoch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Finish {
    /// The epoch whose weights the fits were made on.
    pub epoch: u32,
    /// The linear probe on the model's codes (kept in the model for evaluation).
    pub probe: ProbeFit,
    /// The same probe on raw pixels, for comparison.
    pub pixel_probe: ProbeFit,
}

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

/// Whether a tensor is a network parameter or optimiser state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// A weight or bias of the network.
    Param,
    /// Optimiser state (running averages, velocity).
    State,
}

/// A named matrix of a model, as stored: column-major, `rows × cols` (`cols = 1` for a bias).
#[derive(Debug)]
pub struct Tensor<'a> {
    /// E.g. `net.f1.weight` or `opt.forward.f1.weight.v`.
    pub name: String,
    /// Parameter or optimiser state.
    pub kind: TensorKind,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// The values, column-major.
    pub data: &'a [f32],
}

/// [`Tensor`] with mutable data, for loading a checkpoint.
#[derive(Debug)]
pub struct TensorMut<'a> {
    /// As in [`Tensor`].
    pub name: String,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// The values, column-major.
    pub data: &'a mut [f32],
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

/// A trainable network of any preset: [`Classifier`] or the auto-encoder.
pub trait Model {
    /// Dimensions.
    fn shape(&self) -> Shape;
    /// Number of forward parameters (weights and biases).
    fn forward_params(&self) -> usize;
    /// Number of inverse parameters.
    fn inverse_params(&self) -> usize;
    /// Validates `config` and initialises weights, optimiser state and the epoch counter.
    fn init(&mut self, config: Config, init: Init, rng: &mut Pcg64) -> Result<(), ConfigError>;
    /// The hyper-parameters.
    fn config(&self) -> Config;
    /// Replaces the hyper-parameters (validated), keeping weights and optimiser state.
    fn set_config(&mut self, config: Config) -> Result<(), ConfigError>;
    /// Completed epochs.
    fn epoch(&self) -> u32;
    /// Sets the completed-epoch counter (when loading a checkpoint).
    fn set_epoch(&mut self, epoch: u32);
    /// σ of inverse training in the coming epoch.
    fn sigma(&self) -> f32;
    /// One epoch of `algo` over `data`; advances the epoch counter.
    fn train_epoch(
        &mut self,
        data: &mut EpochBatches<'_>,
        algo: Algo,
        gradient: Gradient,
        rng: &mut Pcg64,
    ) -> Result<EpochStats, Error>;
    /// Classification error and loss over every sample of `data`, averaging the output
    /// probabilities of `passes` forward passes (useful for stochastic units only).
    fn evaluate(
        &mut self,
        data: &Dataset,
        passes: u32,
        rng: &mut Pcg64,
    ) -> Result<Evaluation, Error>;
    /// Local loss of each hidden layer at the last forward step of the last epoch.
    fn local_loss(&self) -> Vec<f32>;
    /// Reconstruction loss of each inverse `g_2 …` at the last inverse step.
    fn inverse_loss(&self) -> Vec<f32>;
    /// Every parameter and optimiser-state tensor.
    fn tensors(&self) -> Vec<Tensor<'_>>;
    /// Every tensor, mutable, in the order of [`tensors`](Model::tensors).
    fn tensors_mut(&mut self) -> Vec<TensorMut<'_>>;
    /// Whether every parameter is finite.
    fn is_finite(&self) -> bool;

    /// Splits each minibatch into `chunks` chunks run by `threads` threads (see
    /// `dtp_core::parallel`); a model that trains on whole minibatches only ignores it.
    fn set_parallel(&mut self, chunks: usize, threads: usize) {
        let _ = (chunks, threads);
    }

    /// Classifier or auto-encoder.
    fn kind(&self) -> ModelKind {
        ModelKind::Classifier
    }

    /// Number of classes the model labels (the output width of a classifier).
    fn classes(&self) -> usize {
        self.shape().outputs()
    }

    /// How many times each training batch is handed over in one epoch of `algo` (2 for DTP
    /// and DRL with the alternating schedule; FW-DTP has no inverse pass), for the progress
    /// bar.
    fn passes_per_epoch(&self, algo: Algo) -> usize {
        match (algo, self.config().schedule) {
            (Algo::Dtp | Algo::Drl, Schedule::Alternating) => 2,
            _ => 1,
        }
    }

    /// The classifier behind this model, if it is one (its weight blob, its units).
    fn as_classifier(&self) -> Option<&Classifier> {
        None
    }

    /// The auto-encoder behind this model, if it is one (its probes).
    fn as_autoencoder(&self) -> Option<&crate::autoencoder::AeModel> {
        None
    }

    /// [`as_autoencoder`](Model::as_autoencoder), mutably.
    fn as_autoencoder_mut(&mut self) -> Option<&mut crate::autoencoder::AeModel> {
        None
    }
}

/// Pushes the weight and bias of a layer.
pub(crate) fn dense<'a>(out: &mut Vec<Tensor<'a>>, name: &str, kind: TensorKind, d: &'a DynDense) {
    out.push(Tensor {
        name: format!("{name}.weight"),
        kind,
        rows: d.w.nrows(),
        cols: d.w.ncols(),
        data: d.w.as_slice(),
    });
    out.push(Tensor {
        name: format!("{name}.bias"),
        kind,
        rows: d.b.nrows(),
        cols: 1,
        data: d.b.as_slice(),
    });
}

pub(crate) fn moments<'a, C: Dim>(out: &mut Vec<Tensor<'a>>, name: &str, m: &'a Moments<Dyn, C>)
where
    DefaultAllocator: Allocator<Dyn, C>,
{
    for (k, v) in [("a", &m.a), ("s", &m.s), ("v", &m.v)] {
        out.push(Tensor {
            name: format!("{name}.{k}"),
            kind: TensorKind::State,
            rows: v.nrows(),
            cols: v.ncols(),
            data: v.as_slice(),
        });
    }
}

pub(crate) fn state<'a>(out: &mut Vec<Tensor<'a>>, name: &str, s: &'a DynDenseState) {
    moments(out, &format!("{name}.weight"), &s.w);
    moments(out, &format!("{name}.bias"), &s.b);
}

pub(crate) fn dense_mut<'a>(out: &mut Vec<TensorMut<'a>>, name: &str, d: &'a mut DynDense) {
    let (rows, cols) = d.w.shape();
    out.push(TensorMut {
        name: format!("{name}.weight"),
        rows,
        cols,
        data: d.w.as_mut_slice(),
    });
    out.push(TensorMut {
        name: format!("{name}.bias"),
        rows,
        cols: 1,
        data: d.b.as_mut_slice(),
    });
}

pub(crate) fn moments_mut<'a, C: Dim>(
    out: &mut Vec<TensorMut<'a>>,
    name: &str,
    m: &'a mut Moments<Dyn, C>,
) where
    DefaultAllocator: Allocator<Dyn, C>,
{
    for (k, v) in [("a", &mut m.a), ("s", &mut m.s), ("v", &mut m.v)] {
        let (rows, cols) = v.shape();
        out.push(TensorMut {
            name: format!("{name}.{k}"),
            rows,
            cols,
            data: v.as_mut_slice(),
        });
    }
}

pub(crate) fn state_mut<'a>(out: &mut Vec<TensorMut<'a>>, name: &str, s: &'a mut DynDenseState) {
    moments_mut(out, &format!("{name}.weight"), &mut s.w);
    moments_mut(out, &format!("{name}.bias"), &mut s.b);
}

/// The model of `hyper` (its kind, batch) with layer widths `widths` (its layout resolved
/// against the data) labelling `classes` classes: all-zero, unconfigured; call
/// [`Model::init`] or load weights into it.
pub fn build(
    hyper: &crate::config::Hyper,
    widths: &[usize],
    classes: usize,
) -> Result<Box<dyn Model>, String> {
    let batch = hyper.batch as usize;
    match hyper.model {
        ModelKind::Classifier => Classifier::new(widths, batch)
            .map(|c| Box::new(c) as Box<dyn Model>)
            .map_err(|e| e.to_string()),
        ModelKind::Autoencoder => match widths {
            &[i, h, o] if i == o && i > 0 && h > 0 && batch > 0 => Ok(Box::new(
                crate::autoencoder::AeModel::new(i, h, classes, batch),
            )),
            _ => Err(format!(
                "an auto-encoder's layout is inputs-code-inputs (e.g. 784-1000-784), not {}",
                crate::layers::widths_string(widths)
            )),
        },
    }
}

/// A classifier of any layout: the core's run-time-shaped trainer (products by the
/// [`Auto`] kernel: the portable loops for small ones, the blocked GEMM for large ones).
pub struct Classifier {
    /// The trainer: network, optimiser states, buffers.
    pub t: DynTrainer<Auto>,
    /// The workers that carry chunks of each minibatch (one chunk, one thread unless
    /// [`Model::set_parallel`] says otherwise).
    par: Parallel,
}

impl Classifier {
    /// An all-zero, unconfigured classifier of layer widths `layers` and minibatch `batch`;
    /// call [`Model::init`].
    pub fn new(layers: &[usize], batch: usize) -> Result<Self, ConfigError> {
        let t = DynTrainer::with_widths(layers, batch)?;
        let par = Parallel::new(&t, 1, 1);
        Ok(Classifier { t, par })
    }

    /// The network as a weight blob ([`dtp_core::blob`]), for the firmware.
    pub fn blob(&self) -> Result<Vec<u8>, BlobError> {
        let mut out = vec![0u8; self.t.net.blob_len()];
        let n = self.t.net.write_blob(&self.t.config().units, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

impl Model for Classifier {
    fn shape(&self) -> Shape {
        Shape {
            layers: self.t.net.widths().collect(),
            batch: self.t.batch(),
        }
    }

    fn forward_params(&self) -> usize {
        self.t.net.forward_params()
    }

    fn inverse_params(&self) -> usize {
        self.t.net.inverse_params()
    }

    fn init(&mut self, config: Config, init: Init, rng: &mut Pcg64) -> Result<(), ConfigError> {
        self.t.init(config, init, rng)
    }

    fn config(&self) -> Config {
        *self.t.config()
    }

    fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        self.t.set_config(config)
    }

    fn epoch(&self) -> u32 {
        self.t.epoch
    }

    fn set_epoch(&mut self, epoch: u32) {
        self.t.epoch = epoch;
    }

    fn sigma(&self) -> f32 {
        self.t.sigma()
    }

    fn set_parallel(&mut self, chunks: usize, threads: usize) {
        self.par = Parallel::new(&self.t, chunks, threads);
    }

    fn train_epoch(
        &mut self,
        data: &mut EpochBatches<'_>,
        algo: Algo,
        gradient: Gradient,
        rng: &mut Pcg64,
    ) -> Result<EpochStats, Error> {
        match algo {
            Algo::Dtp | Algo::Drl | Algo::FwDtp => self.par.train_epoch(&mut self.t, data, rng),
            Algo::Bp => self.par.backprop_epoch(&mut self.t, data, gradient, rng),
        }
    }

    fn evaluate(
        &mut self,
        data: &Dataset,
        passes: u32,
        rng: &mut Pcg64,
    ) -> Result<Evaluation, Error> {
        let n = data.len();
        let passes = passes.max(1);
        let (out, b) = (self.t.net.outputs(), self.t.batch());
        let mut probs = vec![0f32; out * b];
        let (mut wrong, mut nll) = (0usize, 0f64);
        for start in (0..n).step_by(b) {
            let count = b.min(n - start);
            {
                let (x, t) = self.t.batch_mut();
                for col in 0..b {
                    // Padding columns repeat the last real sample and are ignored below.
                    put_sample(data, start + col.min(count - 1), col, x, t);
                }
            }
            probs.fill(0.0);
            for _ in 0..passes {
                self.par.on(&mut self.t).evaluate(rng)?;
                for (acc, &p) in probs.iter_mut().zip(self.t.output().as_slice()) {
                    *acc += p;
                }
            }
            for col in 0..count {
                let p = &probs[col * out..(col + 1) * out];
                let label = usize::from(data.label(start + col));
                let best = dtp_core::loss::argmax(p.iter());
                wrong += usize::from(best != label);
                let pl = f64::from(p[label]) / f64::from(passes);
                nll -= pl.max(1e-30).ln();
            }
        }
        Ok(Evaluation {
            error: if n == 0 { 0.0 } else { wrong as f64 / n as f64 },
            loss: if n == 0 { 0.0 } else { nll / n as f64 },
            samples: n,
        })
    }

    fn local_loss(&self) -> Vec<f32> {
        self.t.local_loss.iter().copied().collect()
    }

    fn inverse_loss(&self) -> Vec<f32> {
        self.t.inverse_loss.clone()
    }

    fn tensors(&self) -> Vec<Tensor<'_>> {
        let t = &self.t;
        let m = t.net.layers();
        let mut v = Vec::new();
        let p = TensorKind::Param;
        dense(&mut v, "net.f1", p, &t.net.first);
        for (k, d) in t.net.hidden.iter().enumerate() {
            dense(&mut v, &format!("net.f{}", k + 2), p, d);
        }
        dense(&mut v, &format!("net.f{m}"), p, &t.net.output);
        for (k, d) in t.net.inverse.iter().enumerate() {
            dense(&mut v, &format!("net.g{}", k + 2), p, d);
        }
        let fs = &t.forward_state;
        state(&mut v, "opt.forward.f1", &fs.first);
        for (k, s) in fs.hidden.iter().enumerate() {
            state(&mut v, &format!("opt.forward.f{}", k + 2), s);
        }
        state(&mut v, &format!("opt.forward.f{m}"), &fs.output);
        for (k, s) in t.inverse_state.iter().enumerate() {
            state(&mut v, &format!("opt.inverse.g{}", k + 2), s);
        }
        v
    }

    fn tensors_mut(&mut self) -> Vec<TensorMut<'_>> {
        let t = &mut self.t;
        let m = t.net.layers();
        let mut v = Vec::new();
        dense_mut(&mut v, "net.f1", &mut t.net.first);
        for (k, d) in t.net.hidden.iter_mut().enumerate() {
            dense_mut(&mut v, &format!("net.f{}", k + 2), d);
        }
        dense_mut(&mut v, &format!("net.f{m}"), &mut t.net.output);
        for (k, d) in t.net.inverse.iter_mut().enumerate() {
            dense_mut(&mut v, &format!("net.g{}", k + 2), d);
        }
        let fs = &mut t.forward_state;
        state_mut(&mut v, "opt.forward.f1", &mut fs.first);
        for (k, s) in fs.hidden.iter_mut().enumerate() {
            state_mut(&mut v, &format!("opt.forward.f{}", k + 2), s);
        }
        state_mut(&mut v, &format!("opt.forward.f{m}"), &mut fs.output);
        for (k, s) in t.inverse_state.iter_mut().enumerate() {
            state_mut(&mut v, &format!("opt.inverse.g{}", k + 2), s);
        }
        v
    }

    fn is_finite(&self) -> bool {
        self.t.net.is_finite()
    }

    fn as_classifier(&self) -> Option<&Classifier> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_pcg::Pcg64;

    fn tiny() -> Box<dyn Model> {
        let mut t: Box<dyn Model> = Box::new(Classifier::new(&[4, 3, 3, 2], 2).unwrap());
        t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg64::new(1, 1))
            .unwrap();
        t
    }

    #[test]
    fn tensor_lists_agree_and_cover_the_state() {
        let mut t = tiny();
        let names: Vec<_> = t.tensors().iter().map(|t| t.name.clone()).collect();
        let names_mut: Vec<_> = t.tensors_mut().iter().map(|t| t.name.clone()).collect();
        assert_eq!(names, names_mut);
        let params: usize = t
            .tensors()
            .iter()
            .filter(|t| t.kind == TensorKind::Param)
            .map(|t| t.data.len())
            .sum();
        assert_eq!(params, t.forward_params() + t.inverse_params());
        assert!(names.contains(&"net.f3.weight".to_string()));
        assert!(names.contains(&"net.g2.bias".to_string()));
        assert!(names.contains(&"opt.inverse.g2.weight.v".to_string()));
        assert_eq!(t.shape().widths(), "4-3-3-2");
    }

    #[test]
    fn evaluation_covers_every_sample() {
        let mut t = tiny();
        let d = Dataset::from_f32(
            "d",
            4,
            2,
            (0..20).map(|i| (i % 7) as f32 / 7.0).collect(),
            vec![0, 1, 1, 0, 1],
        );
        let e = t.evaluate(&d, 1, &mut Pcg64::new(0, 0)).unwrap();
        assert_eq!(e.samples, 5);
        assert!((e.error * 5.0 - (e.error * 5.0).round()).abs() < 1e-9);
        assert!(e.loss.is_finite() && e.loss > 0.0);
    }
}
