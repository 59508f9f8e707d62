//! [`Model`]: what training, evaluation and checkpoints need of a network, whatever it is: a
//! [`Classifier`] (the core's run-time-shaped DTP trainer) or the denoising auto-encoder
//! ([`AeModel`]), each with its own settings. What only one of them has (a classifier's
//! firmware blob; the auto-encoder's linear probes) is on that type, reached by matching on
//! the enum. Its tensors (for checkpoints, `dtp info`, tests) are the core's
//! [`Tensors`] visit.

use dtp_core::blob::BlobError;
use dtp_core::conv::parallel::ConvParallel;
use dtp_core::conv::{ConvNet, ConvTrainer, Layer as ConvLayer};
use dtp_core::parallel::Parallel;
use dtp_core::step::Drive;
use dtp_core::tensors::{Name, Tensors, Visit, VisitMut};
use dtp_core::{
    Auto, Config, ConfigError, DynTrainer, EpochStats, Error, FeedbackPasses, Gradient, Init,
    Schedule,
};
use rand_pcg::Pcg64;

pub use crate::autoencoder::{AeModel, AeSettings, Finish, ProbeFit};
use crate::batches::{EpochBatches, put_sample};
use crate::config::Hyper;
use crate::data::Dataset;
use crate::kinds::Algo;
pub use crate::kinds::ModelKind;
pub use crate::measures::{DynDense, DynDenseState, Evaluation, Shape};

/// Whether a tensor is a network parameter or optimiser state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// A weight or bias of the network.
    Param,
    /// Optimiser state (running averages, velocity).
    State,
}

impl TensorKind {
    /// The kind of the tensor named `name`: optimiser state under `opt.`, else a parameter.
    pub fn of(name: &str) -> Self {
        if name.starts_with("opt.") {
            TensorKind::State
        } else {
            TensorKind::Param
        }
    }
}

/// A named matrix of a model (an entry of [`Model::tensors`], the list derived from its
/// [`Tensors`] visit), as stored: column-major, `rows × cols` (`cols = 1` for a bias).
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

/// A trainable network of any preset: a [`Classifier`] or the denoising auto-encoder, each
/// with its own settings (taken from the run's [`Hyper`]). What only one of them has (a
/// classifier's firmware blob; the auto-encoder's probes) is reached by matching on it.
// One model a run, built once and never moved in a loop: the variants' sizes (≈ 1.6 and 2.4
// kB of matrix headers and buffers) do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Model {
    /// A classifier of any layout (every preset but `mnist-ae`).
    Classifier(Classifier),
    /// The `mnist-ae` denoising auto-encoder with its linear probes.
    Autoencoder(AeModel),
    /// A classifier whose layout starts with convolutions (`1x28x28-c32k3s2-…`).
    Conv(ConvClassifier),
}

/// `$body` with `$m` bound to the model inside either variant.
macro_rules! each {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            Model::Classifier($m) => $body,
            Model::Autoencoder($m) => $body,
            Model::Conv($m) => $body,
        }
    };
}

impl Model {
    /// Dimensions.
    pub fn shape(&self) -> Shape {
        each!(self, m => m.shape())
    }

    /// Number of forward parameters (weights and biases; the encoder's for the auto-encoder).
    pub fn forward_params(&self) -> usize {
        each!(self, m => m.forward_params())
    }

    /// Number of inverse parameters (the decoder's for the auto-encoder).
    pub fn inverse_params(&self) -> usize {
        each!(self, m => m.inverse_params())
    }

    /// Validates the model's settings in `hyper`, initialises weights (by `hyper.init`),
    /// optimiser state and the epoch counter.
    pub fn init(&mut self, hyper: &Hyper, rng: &mut Pcg64) -> Result<(), ConfigError> {
        match self {
            Model::Classifier(c) => {
                c.feedback = (hyper.feedback_pretrain, hyper.feedback_extra);
                c.init(hyper.to_core(), hyper.init, rng)
            }
            Model::Autoencoder(a) => a.init(AeSettings::of(hyper), hyper.init, rng),
            Model::Conv(c) => {
                c.feedback = (hyper.feedback_pretrain, hyper.feedback_extra);
                c.t.init(hyper.to_core(), hyper.init, rng)
            }
        }
    }

    /// Replaces the settings by those of `hyper` (validated), keeping weights and optimiser
    /// state.
    pub fn configure(&mut self, hyper: &Hyper) -> Result<(), ConfigError> {
        match self {
            Model::Classifier(c) => {
                c.feedback = (hyper.feedback_pretrain, hyper.feedback_extra);
                c.set_config(hyper.to_core())
            }
            Model::Autoencoder(a) => a.set_settings(AeSettings::of(hyper)),
            Model::Conv(c) => {
                c.feedback = (hyper.feedback_pretrain, hyper.feedback_extra);
                c.t.set_config(hyper.to_core())
            }
        }
    }

    /// Completed epochs.
    pub fn epoch(&self) -> u32 {
        each!(self, m => m.epoch())
    }

    /// Sets the completed-epoch counter (when loading a checkpoint).
    pub fn set_epoch(&mut self, epoch: u32) {
        each!(self, m => m.set_epoch(epoch))
    }

    /// σ of inverse training in the coming epoch (the corruption σ for the auto-encoder).
    pub fn sigma(&self) -> f32 {
        each!(self, m => m.sigma())
    }

    /// One epoch of `algo` over `data`; advances the epoch counter.
    pub fn train_epoch(
        &mut self,
        data: &mut EpochBatches<'_>,
        algo: Algo,
        gradient: Gradient,
        rng: &mut Pcg64,
    ) -> Result<EpochStats, Error> {
        each!(self, m => m.train_epoch(data, algo, gradient, rng))
    }

    /// Classification error and loss over every sample of `data`, averaging the output
    /// probabilities of `passes` forward passes (useful for stochastic units only).
    pub fn evaluate(
        &mut self,
        data: &Dataset,
        passes: u32,
        rng: &mut Pcg64,
    ) -> Result<Evaluation, Error> {
        each!(self, m => m.evaluate(data, passes, rng))
    }

    /// Local loss of each hidden layer at the last forward step of the last epoch.
    pub fn local_loss(&self) -> Vec<f32> {
        each!(self, m => m.local_loss())
    }

    /// Reconstruction loss of each inverse `g_2 …` at the last inverse step.
    pub fn inverse_loss(&self) -> Vec<f32> {
        each!(self, m => m.inverse_loss())
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        each!(self, m => m.is_finite())
    }

    /// Splits each minibatch into `chunks` chunks run by `threads` threads (see
    /// `dtp_core::parallel` and `dtp_core::conv::parallel`); the auto-encoder trains on whole
    /// minibatches and ignores it.
    pub fn set_parallel(&mut self, chunks: usize, threads: usize) {
        match self {
            Model::Classifier(c) => c.set_parallel(chunks, threads),
            Model::Conv(c) => c.set_parallel(chunks, threads),
            Model::Autoencoder(_) => {}
        }
    }

    /// Classifier or auto-encoder.
    pub fn kind(&self) -> ModelKind {
        match self {
            Model::Classifier(_) | Model::Conv(_) => ModelKind::Classifier,
            Model::Autoencoder(_) => ModelKind::Autoencoder,
        }
    }

    /// Number of classes the model labels (a classifier's output width; the probes' classes).
    pub fn classes(&self) -> usize {
        match self {
            Model::Classifier(c) => c.shape().outputs(),
            Model::Autoencoder(a) => a.classes(),
            Model::Conv(c) => c.shape().outputs(),
        }
    }

    /// How many times each training batch is handed over in one epoch of `algo` (2 for DTP
    /// DRL and DDTP with the alternating schedule; FW-DTP has no inverse pass; the auto-encoder
    /// trains both halves in one pass), for the progress bar.
    ///
    /// Feedback pre-training and extra feedback passes (`--feedback-pretrain`,
    /// `--feedback-extra`) add theirs for the coming epoch.
    pub fn passes_per_epoch(&self, algo: Algo) -> usize {
        let trains_feedback = matches!(
            algo,
            Algo::Dtp | Algo::Drl | Algo::DdtpLinear | Algo::DdtpRhl | Algo::DtpOutput
        );
        match self {
            Model::Classifier(c) if trains_feedback => {
                let alternating = c.config().schedule == Schedule::Alternating;
                let extra = c.passes();
                1 + usize::from(alternating) + (extra.before + extra.after) as usize
            }
            Model::Conv(c) if trains_feedback => {
                let alternating = c.t.config().schedule == Schedule::Alternating;
                let extra = c.passes();
                1 + usize::from(alternating) + (extra.before + extra.after) as usize
            }
            _ => 1,
        }
    }

    /// Every parameter and optimiser-state tensor, in the order of the [`Tensors`] visit.
    pub fn tensors(&self) -> Vec<Tensor<'_>> {
        let mut v = Vec::new();
        self.visit(&mut |name, shape, data| {
            let name = name.to_string();
            v.push(Tensor {
                kind: TensorKind::of(&name),
                name,
                rows: shape[0],
                cols: shape[1],
                data,
            })
        });
        v
    }

    /// Every tensor, mutable, in the order of [`tensors`](Model::tensors).
    pub fn tensors_mut(&mut self) -> Vec<TensorMut<'_>> {
        let mut v = Vec::new();
        self.visit_mut(&mut |name, shape, data| {
            v.push(TensorMut {
                name: name.to_string(),
                rows: shape[0],
                cols: shape[1],
                data,
            })
        });
        v
    }
}

impl Tensors for Model {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        each!(self, m => m.visit_at(at, f))
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        each!(self, m => m.visit_mut_at(at, f))
    }
}

/// The model of `hyper` (its kind, batch) with layer widths `widths` (its layout resolved
/// against the data) labelling `classes` classes: all-zero, unconfigured; call
/// [`Model::init`] or load weights into it.
pub fn build(
    hyper: &crate::config::Hyper,
    widths: &[usize],
    classes: usize,
) -> Result<Model, String> {
    if hyper.model == ModelKind::Classifier {
        if hyper.input_mask != 0.0 {
            return Err(format!(
                "--input-mask {} is the auto-encoder's masking corruption; a classifier ({}) \
                 does not use it: leave it at 0",
                hyper.input_mask, hyper.layers
            ));
        }
        if hyper.tied_weights {
            return Err(format!(
                "--tied-weights ties the auto-encoder's decoder to its encoder; a classifier \
                 ({}) has no decoder: leave it false",
                hyper.layers
            ));
        }
        if hyper.init_scale != 1.0 {
            return Err(format!(
                "--init-scale {} applies to the auto-encoder; a classifier ({}) starts from \
                 --init as it is: leave it at 1",
                hyper.init_scale, hyper.layers
            ));
        }
    }
    let batch = hyper.batch as usize;
    if let Some((image, specs)) = hyper.layers.conv_specs(classes) {
        let net = ConvNet::new(image, &specs).map_err(|e| e.to_string())?;
        let widths_of_net: Vec<usize> = core::iter::once(net.inputs())
            .chain(net.forward.iter().map(ConvLayer::outputs))
            .collect();
        if widths_of_net != widths {
            return Err(format!(
                "the layout {} has widths {}, not {}",
                hyper.layers,
                crate::layers::widths_string(&widths_of_net),
                crate::layers::widths_string(widths)
            ));
        }
        return ConvTrainer::new(net, batch, hyper.to_core())
            .map(|t| {
                let par = ConvParallel::new(&t, 1, 1);
                let feedback = (0, 0);
                Model::Conv(ConvClassifier { t, par, feedback })
            })
            .map_err(|e| e.to_string());
    }
    match hyper.model {
        ModelKind::Classifier => Classifier::new(widths, batch)
            .map(Model::Classifier)
            .map_err(|e| e.to_string()),
        ModelKind::Autoencoder => match widths {
            &[i, h, o] if i == o && i > 0 && h > 0 && batch > 0 => {
                Ok(Model::Autoencoder(AeModel::new(i, h, classes, batch)))
            }
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
    /// Feedback pre-training passes (epoch 0) and extra feedback passes (every epoch):
    /// `--feedback-pretrain`, `--feedback-extra`.
    feedback: (u32, u32),
}

impl Classifier {
    /// An all-zero, unconfigured classifier of layer widths `layers` and minibatch `batch`;
    /// call [`Model::init`].
    pub fn new(layers: &[usize], batch: usize) -> Result<Self, ConfigError> {
        let t = DynTrainer::with_widths(layers, batch)?;
        let par = Parallel::new(&t, 1, 1);
        Ok(Classifier {
            t,
            par,
            feedback: (0, 0),
        })
    }

    /// The network as a weight blob ([`dtp_core::blob`]), for the firmware.
    pub fn blob(&self) -> Result<Vec<u8>, BlobError> {
        let mut out = vec![0u8; self.t.net.blob_len()];
        let n = self.t.net.write_blob(&self.t.config().units, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

impl Classifier {
    /// Dimensions.
    pub fn shape(&self) -> Shape {
        Shape {
            layers: self.t.net.widths().collect(),
            batch: self.t.batch(),
        }
    }

    /// Number of forward parameters.
    pub fn forward_params(&self) -> usize {
        self.t.net.forward_params()
    }

    /// Number of inverse parameters.
    pub fn inverse_params(&self) -> usize {
        self.t.net.inverse_params()
    }

    /// Validates `config` and initialises weights, optimiser state and the epoch counter.
    pub fn init(&mut self, config: Config, init: Init, rng: &mut Pcg64) -> Result<(), ConfigError> {
        self.t.init(config, init, rng)
    }

    /// The hyper-parameters.
    pub fn config(&self) -> Config {
        *self.t.config()
    }

    /// Replaces the hyper-parameters (validated), keeping weights and optimiser state.
    pub fn set_config(&mut self, config: Config) -> Result<(), ConfigError> {
        self.t.set_config(config)
    }

    /// Completed epochs.
    pub fn epoch(&self) -> u32 {
        self.t.epoch
    }

    /// Sets the completed-epoch counter.
    pub fn set_epoch(&mut self, epoch: u32) {
        self.t.epoch = epoch;
    }

    /// σ of inverse training in the coming epoch.
    pub fn sigma(&self) -> f32 {
        self.t.sigma()
    }

    /// Splits each minibatch into `chunks` chunks run by `threads` threads.
    pub fn set_parallel(&mut self, chunks: usize, threads: usize) {
        self.par = Parallel::new(&self.t, chunks, threads);
    }

    /// One epoch of `algo` over `data`; advances the epoch counter.
    pub fn train_epoch(
        &mut self,
        data: &mut EpochBatches<'_>,
        algo: Algo,
        gradient: Gradient,
        rng: &mut Pcg64,
    ) -> Result<EpochStats, Error> {
        match algo {
            Algo::Dtp
            | Algo::Drl
            | Algo::FwDtp
            | Algo::DdtpLinear
            | Algo::DdtpRhl
            | Algo::DtpOutput => {
                let passes = self.passes();
                self.par.train_epoch_with(&mut self.t, data, passes, rng)
            }
            Algo::Bp => self.par.backprop_epoch(&mut self.t, data, gradient, rng),
        }
    }

    /// The feedback-only passes of the coming epoch.
    fn passes(&self) -> FeedbackPasses {
        FeedbackPasses::at(self.feedback.0, self.feedback.1, self.t.epoch)
    }

    /// Classification error and loss over every sample of `data` (see [`Model::evaluate`]).
    pub fn evaluate(
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
                nll -= libm::log(pl.max(1e-30));
            }
        }
        Ok(Evaluation {
            error: if n == 0 { 0.0 } else { wrong as f64 / n as f64 },
            loss: if n == 0 { 0.0 } else { nll / n as f64 },
            samples: n,
        })
    }

    /// Local loss of each hidden layer at the last forward step.
    pub fn local_loss(&self) -> Vec<f32> {
        self.t.local_loss.iter().copied().collect()
    }

    /// Reconstruction loss of each inverse `g_2 …` at the last inverse step (with DDTP, the
    /// difference reconstruction loss of each `Q_1 …`; with `dtp-output`, `g_2 … g_{M-1}` then
    /// the output layer's inverse `g_M`).
    pub fn inverse_loss(&self) -> Vec<f32> {
        match &self.t.direct_state {
            Some(s) if self.t.config().feedback.is_direct() => s.loss.clone(),
            Some(s) => self.t.inverse_loss.iter().chain(&s.loss).copied().collect(),
            None => self.t.inverse_loss.clone(),
        }
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.t.net.is_finite()
    }
}

/// The trainer's tensors: `net.*`, `opt.forward.*`, `opt.inverse.*`.
/// A classifier whose layout starts with convolutions: the core's [`ConvTrainer`] (products
/// by the [`Auto`] kernel), its minibatches split into chunks by a [`ConvParallel`].
pub struct ConvClassifier {
    /// The trainer: network, optimiser states, buffers.
    pub t: ConvTrainer<Auto>,
    /// The workers that carry chunks of each minibatch (one chunk, one thread unless
    /// [`Model::set_parallel`] says otherwise).
    par: ConvParallel,
    /// Feedback pre-training passes and extra feedback passes per epoch.
    feedback: (u32, u32),
}

impl ConvClassifier {
    /// Dimensions: the input's `C·H·W`, each layer's output width, the batch.
    pub fn shape(&self) -> Shape {
        let net = &self.t.net;
        let outputs = net.forward.iter().map(ConvLayer::outputs);
        Shape {
            layers: core::iter::once(net.inputs()).chain(outputs).collect(),
            batch: self.t.batch(),
        }
    }

    /// Number of forward parameters.
    pub fn forward_params(&self) -> usize {
        self.t.net.forward.iter().map(|l| l.params.params()).sum()
    }

    /// Number of inverse parameters (with DDTP, of its feedback weights `Q_i`, not the
    /// random layer).
    pub fn inverse_params(&self) -> usize {
        let direct = self.t.net.direct.as_ref().map_or(0, |d| d.params());
        self.t
            .net
            .inverse
            .iter()
            .map(|l| l.params.params())
            .sum::<usize>()
            + direct
    }

    /// Completed epochs.
    pub fn epoch(&self) -> u32 {
        self.t.epoch
    }

    /// Sets the completed-epoch counter.
    pub fn set_epoch(&mut self, epoch: u32) {
        self.t.epoch = epoch;
    }

    /// σ of inverse training in the coming epoch.
    pub fn sigma(&self) -> f32 {
        self.t.sigma()
    }

    /// Splits each minibatch into `chunks` chunks run by `threads` threads.
    pub fn set_parallel(&mut self, chunks: usize, threads: usize) {
        self.par = ConvParallel::new(&self.t, chunks, threads);
    }

    /// One epoch of `algo` over `data` (backprop with the exact gradient: continuous units);
    /// advances the epoch counter.
    pub fn train_epoch(
        &mut self,
        data: &mut EpochBatches<'_>,
        algo: Algo,
        _gradient: Gradient,
        rng: &mut Pcg64,
    ) -> Result<EpochStats, Error> {
        match algo {
            // `dtp-output` is refused when the trainer is built (`ConvTrainer::new`).
            Algo::Dtp
            | Algo::Drl
            | Algo::FwDtp
            | Algo::DdtpLinear
            | Algo::DdtpRhl
            | Algo::DtpOutput => {
                let passes = self.passes();
                self.par.train_epoch_with(&mut self.t, data, passes, rng)
            }
            Algo::Bp => self.par.backprop_epoch(&mut self.t, data, rng),
        }
    }

    /// The feedback-only passes of the coming epoch.
    fn passes(&self) -> FeedbackPasses {
        FeedbackPasses::at(self.feedback.0, self.feedback.1, self.t.epoch)
    }

    /// Classification error and loss over every sample of `data` (see [`Model::evaluate`]).
    pub fn evaluate(
        &mut self,
        data: &Dataset,
        passes: u32,
        rng: &mut Pcg64,
    ) -> Result<Evaluation, Error> {
        // Deterministic units: one pass is every pass (`--eval-passes` changes nothing).
        let _ = passes;
        let n = data.len();
        let (out, b) = (self.t.net.outputs(), self.t.batch());
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
            self.par.on(&mut self.t).evaluate(rng)?;
            let probs = self.t.output().as_slice();
            for col in 0..count {
                let p = &probs[col * out..(col + 1) * out];
                let label = usize::from(data.label(start + col));
                wrong += usize::from(dtp_core::loss::argmax(p.iter()) != label);
                nll -= libm::log(f64::from(p[label]).max(1e-30));
            }
        }
        Ok(Evaluation {
            error: if n == 0 { 0.0 } else { wrong as f64 / n as f64 },
            loss: if n == 0 { 0.0 } else { nll / n as f64 },
            samples: n,
        })
    }

    /// Local loss of each hidden layer at the last forward step.
    pub fn local_loss(&self) -> Vec<f32> {
        self.t.local_loss.clone()
    }

    /// Reconstruction loss of each inverse `g_2 …` at the last inverse step (with DDTP, the
    /// difference reconstruction loss of each `Q_1 …`).
    pub fn inverse_loss(&self) -> Vec<f32> {
        match &self.t.direct_state {
            Some(s) => s.loss.clone(),
            None => self.t.inverse_loss.clone(),
        }
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.t.net.is_finite()
    }
}

impl Tensors for ConvClassifier {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        self.t.visit_at(at, f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        self.t.visit_mut_at(at, f);
    }
}

impl Tensors for Classifier {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        self.t.visit_at(at, f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        self.t.visit_mut_at(at, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_pcg::Pcg64;

    fn tiny() -> Model {
        let mut t = Classifier::new(&[4, 3, 3, 2], 2).unwrap();
        t.init(Config::CONTINUOUS, Init::Orthogonal, &mut Pcg64::new(1, 1))
            .unwrap();
        Model::Classifier(t)
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
