//! The `mnist-ae` preset's model: the core's denoising [`Autoencoder`] (784-1000-784, trained
//! by DTP without backprop, or by backprop as the baseline), the
//! [`Model::Autoencoder`](crate::model::Model::Autoencoder) variant, with
//! linear probes that measure how useful its codes are for classification.
//!
//! - **Online probe**: a softmax regression `p = softmax(P h + c)` on the codes `h = f(x̃)` of
//!   each training batch, one RMSprop step per batch, reading the codes only (nothing flows
//!   back into the encoder, and it draws no random numbers, so the auto-encoder trains
//!   exactly as without it). Its errors are the per-epoch `*_error` figures of
//!   `metrics.jsonl`.
//! - **Final probe** ([`AeModel::finish`], after the last epoch): a fresh softmax regression
//!   trained on the fixed codes `f(x)` of the clean training images, up to
//!   [`PROBE_MAX_EPOCHS`] epochs, keeping the weights of the epoch with the lowest
//!   validation error (early stopping after [`PROBE_PATIENCE`] epochs without improvement).
//!   The same fit on raw pixels is the baseline. Evaluation uses the final probe when it was
//!   fitted on the current weights, else the online one.
//!
//! Both probes use the core's dense layer, softmax, NLL gradient and RMSprop.

use std::collections::HashMap;

use dtp_core::loss::{self, argmax};
use dtp_core::tensors::{Name, Tensors, Visit, VisitMut};
use dtp_core::{
    Activation, Auto, Autoencoder, AutoencoderConfig, Batches, ConfigError, DenseState, EpochStats,
    Error, Gradient, Init, LrDecay, Optimiser, Output, Stage,
};
use nalgebra::{DMatrix, Dyn};
use rand_pcg::Pcg64;

use crate::batches::{EpochBatches, put_sample};
use crate::config::Hyper;
use crate::data::{Dataset, Splits};
use crate::kinds::Algo;
use crate::measures::{DynDense, Evaluation, Shape};

/// Learning rate of both probes' RMSprop (the reference's centred RMSprop, ρ 0.95, μ 0.9).
pub const PROBE_LR: f32 = 1e-3;
/// Most epochs of the final probe fit.
pub const PROBE_MAX_EPOCHS: u32 = 100;
/// The final probe fit stops after this many epochs without a lower validation error.
pub const PROBE_PATIENCE: u32 = 10;
/// Layer number of the probe in error messages (1 = encoder, 2 = decoder).
const PROBE_LAYER: u16 = 3;
/// Metadata key of the final probe's report in checkpoints.
const META_PROBE: &str = "probe";

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

/// The auto-encoder's settings: the core's [`AutoencoderConfig`] (sigmoid code and
/// reconstruction) and the decay of the encoder's learning rate by the epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AeSettings {
    /// Units, corruption σ and both optimisers (the encoder's at epoch 0).
    pub ae: AutoencoderConfig,
    /// Decay of the encoder's learning rate, as a classifier's forward rate decays.
    pub lr_decay: LrDecay,
    /// Factor on both halves' initial weights (`init_scale`).
    pub init_scale: f32,
}

impl AeSettings {
    /// The auto-encoder's settings of a run: corruption σ = `input_noise`, mask rate
    /// `input_mask`, encoder optimiser
    /// = `forward` (decayed by `lr_tau`), decoder optimiser = `inverse`. η̂, σ and the
    /// schedule have no role in the auto-encoder.
    pub fn of(hyper: &Hyper) -> Self {
        let c = hyper.to_core();
        AeSettings {
            ae: AutoencoderConfig {
                encoder: Activation::Sigmoid,
                decoder: Activation::Sigmoid,
                corruption: c.input_noise,
                mask: hyper.input_mask,
                tied: hyper.tied_weights,
                encoder_opt: c.forward,
                decoder_opt: c.inverse,
            },
            lr_decay: c.lr_decay,
            init_scale: hyper.init_scale,
        }
    }

    /// The core's settings in 0-based epoch `epoch`: the encoder's rate decayed.
    pub fn at(&self, epoch: u32) -> AutoencoderConfig {
        let e = self.ae.encoder_opt;
        AutoencoderConfig {
            encoder_opt: Optimiser {
                lr: self.lr_decay.at(e.lr, epoch),
                ..e
            },
            ..self.ae
        }
    }
}

/// A softmax-regression classifier on `features` inputs with `classes` outputs and
/// minibatches of `batch`, and its buffers.
pub struct Probe {
    /// `P` (`classes × features`) and `c`.
    pub layer: DynDense,
    /// RMSprop state.
    pub state: DenseState<Dyn, Dyn>,
    x: DMatrix<f32>,
    t: DMatrix<f32>,
    p: DMatrix<f32>,
    delta: DMatrix<f32>,
    grad: DynDense,
}

impl Probe {
    /// A zero probe.
    pub fn new(features: usize, classes: usize, batch: usize) -> Self {
        let (f, c) = (Dyn(features), Dyn(classes));
        Probe {
            layer: DynDense::zeros_generic(c, f),
            state: DenseState::zeros_generic_shape(c, f),
            x: DMatrix::zeros(features, batch),
            t: DMatrix::zeros(classes, batch),
            p: DMatrix::zeros(classes, batch),
            delta: DMatrix::zeros(classes, batch),
            grad: DynDense::zeros_generic(c, f),
        }
    }

    fn batch(&self) -> usize {
        self.x.ncols()
    }

    /// Zero weights (softmax regression needs no random start) and optimiser state.
    pub fn reset(&mut self) {
        self.layer.w.fill(0.0);
        self.layer.b.fill(0.0);
        self.state.w.reset();
        self.state.b.reset();
    }

    /// `p = softmax(P x + c)` for the batch in the buffer.
    fn forward(&mut self) {
        self.layer
            .forward::<Auto, Dyn>(Activation::Linear, &self.x, &mut self.p);
        loss::softmax_columns(&mut self.p);
    }

    /// One RMSprop step on the mean NLL of the batch in the buffers; returns the samples
    /// classified correctly before the step.
    fn step(&mut self) -> Result<u32, Error> {
        self.forward();
        let correct = loss::correct(&self.p, &self.t);
        loss::output_delta(Output::SoftmaxNll, &self.p, &self.t, &mut self.delta);
        DynDense::gradient_from_delta::<Auto, Dyn>(&self.x, &self.delta, &mut self.grad);
        let finite = |d: &DynDense| d.is_finite();
        if !finite(&self.grad) {
            return Err(Error::NonFinite {
                stage: Stage::ForwardGradient,
                layer: PROBE_LAYER,
            });
        }
        if !Optimiser::rmsprop(PROBE_LR).update_dense(&mut self.layer, &self.grad, &mut self.state)
        {
            return Err(Error::NonFinite {
                stage: Stage::ForwardWeights,
                layer: PROBE_LAYER,
            });
        }
        Ok(correct)
    }

    /// Classification error and mean NLL over every sample of `data` (features `F`).
    pub fn evaluate(&mut self, data: &Dataset) -> Evaluation {
        let n = data.len();
        let b = self.batch();
        let (mut wrong, mut nll) = (0usize, 0f64);
        for start in (0..n).step_by(b) {
            let count = b.min(n - start);
            for col in 0..b {
                put_sample(
                    data,
                    start + col.min(count - 1),
                    col,
                    &mut self.x,
                    &mut self.t,
                );
            }
            self.forward();
            for col in 0..count {
                let label = usize::from(data.label(start + col));
                let p = self.p.column(col);
                wrong += usize::from(argmax(p.iter()) != label);
                nll -= libm::log(f64::from(p[label]).max(1e-30));
            }
        }
        Evaluation {
            error: if n == 0 { 0.0 } else { wrong as f64 / n as f64 },
            loss: if n == 0 { 0.0 } else { nll / n as f64 },
            samples: n,
        }
    }

    /// Trains from zero on `train` (shuffled by `rng` every epoch, the last partial batch
    /// dropped) and keeps the weights of the epoch with the lowest validation error (the
    /// earliest on ties), stopping after [`PROBE_PATIENCE`] epochs without a lower one.
    pub fn fit(
        &mut self,
        features: &str,
        train: &Dataset,
        valid: &Dataset,
        test: &Dataset,
        rng: &mut Pcg64,
    ) -> Result<ProbeFit, Error> {
        self.reset();
        let mut best = Box::new((self.layer.clone(), f64::INFINITY, 0u32));
        let mut epochs = 0;
        for epoch in 1..=PROBE_MAX_EPOCHS {
            let mut noop = || {};
            let mut batches = EpochBatches::new(train, self.batch(), rng, &mut noop);
            for i in 0..batches.count(self.batch()) {
                batches.fill(i, &mut self.x, &mut self.t);
                self.step()?;
            }
            epochs = epoch;
            let v = self.evaluate(valid);
            if v.error < best.1 {
                *best = (self.layer.clone(), v.error, epoch);
            } else if epoch - best.2 >= PROBE_PATIENCE {
                break;
            }
        }
        self.layer = best.0.clone();
        Ok(ProbeFit {
            features: features.into(),
            width: self.layer.inputs(),
            epochs,
            best_epoch: best.2,
            lr: PROBE_LR,
            train_error: self.evaluate(train).error,
            valid_error: self.evaluate(valid).error,
            test_error: self.evaluate(test).error,
        })
    }
}

/// The `inputs → hidden → inputs` denoising auto-encoder with minibatches of `batch` and
/// linear probes on its codes.
pub struct AeModel {
    settings: AeSettings,
    epoch: u32,
    /// The auto-encoder (encoder `f`, decoder `g`, both optimiser states).
    pub ae: Autoencoder<Dyn, Dyn, Dyn, Auto>,
    /// The probe trained alongside, one step per training batch.
    pub online: Probe,
    /// The probe fitted on the final codes by [`AeModel::finish`].
    pub final_probe: Probe,
    /// What [`AeModel::finish`] fitted, and on which epoch's weights.
    pub finished: Option<Finish>,
    /// Epoch means of the encoder's local loss and the decoder's loss (NaN before training;
    /// the encoder's is NaN under backprop, which has no hidden target).
    means: [f32; 2],
}

impl AeModel {
    /// An all-zero, unconfigured `inputs → hidden → inputs` auto-encoder with probes of
    /// `classes` classes; call [`AeModel::init`].
    pub fn new(inputs: usize, hidden: usize, classes: usize, batch: usize) -> Self {
        AeModel {
            settings: AeSettings {
                ae: AutoencoderConfig::DEFAULT,
                lr_decay: LrDecay::NONE,
                init_scale: 1.0,
            },
            epoch: 0,
            ae: Autoencoder::with_widths(inputs, hidden, batch),
            online: Probe::new(hidden, classes, batch),
            final_probe: Probe::new(hidden, classes, batch),
            finished: None,
            means: [f32::NAN; 2],
        }
    }

    fn inputs(&self) -> usize {
        self.ae.encoder.inputs()
    }

    fn hidden(&self) -> usize {
        self.ae.encoder.outputs()
    }

    fn batch(&self) -> usize {
        self.online.batch()
    }

    /// Classes the probes label.
    pub fn classes(&self) -> usize {
        self.online.layer.outputs()
    }

    /// The codes `f(x)` of the clean images of `data`, as a dataset of `H` features with the
    /// same labels.
    pub fn codes(&mut self, data: &Dataset) -> Result<Dataset, Error> {
        let n = data.len();
        let (h, b) = (self.hidden(), self.batch());
        let mut x = Vec::with_capacity(n * h);
        for start in (0..n).step_by(b) {
            let count = b.min(n - start);
            self.fill(data, start, count);
            self.ae.evaluate()?;
            x.extend_from_slice(&self.ae.codes().as_slice()[..count * h]);
        }
        Ok(Dataset::from_f32(
            format!("{} (codes)", data.name),
            h,
            data.classes,
            x,
            data.labels().collect(),
        ))
    }

    /// Samples `start..start + count` of `data` into the auto-encoder's input and the online
    /// probe's labels; padding columns repeat the last sample.
    fn fill(&mut self, data: &Dataset, start: usize, count: usize) {
        for col in 0..self.batch() {
            put_sample(
                data,
                start + col.min(count - 1),
                col,
                self.ae.input_mut(),
                &mut self.online.t,
            );
        }
    }

    /// Whether the final probe was fitted on the current weights.
    fn final_is_current(&self) -> bool {
        self.finished
            .as_ref()
            .is_some_and(|f| f.epoch == self.epoch)
    }
}

impl AeModel {
    /// Dimensions.
    pub fn shape(&self) -> Shape {
        Shape {
            layers: vec![self.inputs(), self.hidden(), self.inputs()],
            batch: self.batch(),
        }
    }

    /// Number of forward parameters.
    pub fn forward_params(&self) -> usize {
        self.ae.encoder.params()
    }

    /// Number of inverse parameters.
    pub fn inverse_params(&self) -> usize {
        self.ae.decoder.params()
    }

    /// Validates `settings` and initialises weights, optimiser state, the probes and the
    /// epoch counter.
    pub fn init(
        &mut self,
        settings: AeSettings,
        init: Init,
        rng: &mut Pcg64,
    ) -> Result<(), ConfigError> {
        let scale = settings.init_scale;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ConfigError::OutOfRange {
                name: "init_scale",
                value: scale,
                allowed: "(0, ∞)",
            });
        }
        self.ae.init(settings.ae, init, rng)?;
        if scale != 1.0 {
            self.ae.encoder.w *= scale;
            self.ae.decoder.w *= scale;
        }
        self.online.reset();
        self.final_probe.reset();
        self.settings = settings;
        self.epoch = 0;
        self.finished = None;
        self.means = [f32::NAN; 2];
        Ok(())
    }

    /// The settings.
    pub fn settings(&self) -> &AeSettings {
        &self.settings
    }

    /// Replaces the settings (validated), keeping weights and optimiser state.
    pub fn set_settings(&mut self, settings: AeSettings) -> Result<(), ConfigError> {
        self.ae.set_config(settings.ae)?;
        self.settings = settings;
        Ok(())
    }

    /// Completed epochs.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Sets the completed-epoch counter.
    pub fn set_epoch(&mut self, epoch: u32) {
        self.epoch = epoch;
    }

    /// The corruption σ (the auto-encoder has no inverse-training noise).
    pub fn sigma(&self) -> f32 {
        self.settings.ae.corruption
    }

    /// One epoch of `algo` over `data`; advances the epoch counter.
    pub fn train_epoch(
        &mut self,
        data: &mut EpochBatches<'_>,
        algo: Algo,
        _gradient: Gradient,
        rng: &mut Pcg64,
    ) -> Result<EpochStats, Error> {
        // The encoder's learning rate decays by the epoch, as a classifier's does.
        self.ae
            .set_config(self.settings.at(self.epoch))
            .map_err(|_| Error::NonFinite {
                stage: Stage::ForwardWeights,
                layer: 1,
            })?;
        let b = self.batch();
        let batches = data.count(b);
        let (mut rec, mut enc, mut correct) = (0f64, 0f64, 0u64);
        for i in 0..batches {
            data.fill(i, self.ae.input_mut(), &mut self.online.t);
            rec += f64::from(match algo {
                Algo::Bp => self.ae.backprop_step(rng)?,
                // DRL, FW-DTP and DDTP are refused for the auto-encoder by `Hyper::validate_run`.
                Algo::Dtp
                | Algo::Drl
                | Algo::FwDtp
                | Algo::DdtpLinear
                | Algo::DdtpRhl
                | Algo::DtpOutput => self.ae.step(rng)?,
            });
            enc += f64::from(self.ae.encoder_loss);
            self.online.x.copy_from(self.ae.codes());
            correct += u64::from(self.online.step()?);
        }
        let n = batches.max(1) as f64;
        self.means = [(enc / n) as f32, (rec / n) as f32];
        self.epoch += 1;
        Ok(EpochStats {
            loss: (rec / n) as f32,
            error: if batches == 0 {
                0.0
            } else {
                1.0 - correct as f32 / (batches * b) as f32
            },
            batches: batches as u32,
            sigma: self.settings.ae.corruption,
        })
    }

    /// `error`: the probe's classification error (the final probe when it was fitted on
    /// these weights, else the online one); `loss`: the mean reconstruction error
    /// `‖g(f(x)) − x‖²` of the clean images (summed over pixels).
    pub fn evaluate(
        &mut self,
        data: &Dataset,
        _passes: u32,
        _rng: &mut Pcg64,
    ) -> Result<Evaluation, Error> {
        let n = data.len();
        let use_final = self.final_is_current();
        let (inputs, b) = (self.inputs(), self.batch());
        let (mut wrong, mut rec) = (0usize, 0f64);
        // The clean images of a batch, as `f32` (the dataset may hold bytes).
        let mut clean = vec![0f32; b * inputs];
        for start in (0..n).step_by(b) {
            let count = b.min(n - start);
            self.fill(data, start, count);
            self.ae.evaluate()?;
            let r = &self.ae.reconstruction().as_slice()[..count * inputs];
            for (col, x) in clean.chunks_exact_mut(inputs).take(count).enumerate() {
                data.sample_into(start + col, x);
            }
            let x = &clean[..count * inputs];
            rec += r
                .iter()
                .zip(x)
                .map(|(&r, &x)| f64::from(r - x) * f64::from(r - x))
                .sum::<f64>();
            let probe = if use_final {
                &mut self.final_probe
            } else {
                &mut self.online
            };
            probe.x.copy_from(self.ae.codes());
            probe.forward();
            for col in 0..count {
                let label = usize::from(data.label(start + col));
                wrong += usize::from(argmax(probe.p.column(col).iter()) != label);
            }
        }
        if !rec.is_finite() {
            return Err(Error::NonFinite {
                stage: Stage::Forward,
                layer: 2,
            });
        }
        Ok(Evaluation {
            error: if n == 0 { 0.0 } else { wrong as f64 / n as f64 },
            loss: if n == 0 { 0.0 } else { rec / n as f64 },
            samples: n,
        })
    }

    /// `[encoder ‖f(x̃) − ĥ‖², decoder ‖g(h) − x‖²]`, means over the last epoch's batches.
    pub fn local_loss(&self) -> Vec<f32> {
        self.means.to_vec()
    }

    /// None: the decoder's loss is the second entry of [`local_loss`](AeModel::local_loss).
    pub fn inverse_loss(&self) -> Vec<f32> {
        Vec::new()
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.ae.encoder.is_finite() && self.ae.decoder.is_finite() && self.online.layer.is_finite()
    }
}

/// The core auto-encoder's tensors (`net.f1`, `net.g1`, `opt.forward.f1`, `opt.inverse.g1`),
/// then the probes' weights (`probe.online`, `probe.final`) and the online probe's optimiser
/// state (`opt.probe.online`).
impl Tensors for AeModel {
    fn visit_at<'a>(&'a self, at: &Name<'_>, f: &mut Visit<'_, 'a>) {
        let probe = at.join("probe");
        self.ae.visit_at(at, f);
        self.online.layer.visit_at(&probe.join("online"), f);
        self.final_probe.layer.visit_at(&probe.join("final"), f);
        let opt = at.join("opt");
        self.online
            .state
            .visit_at(&opt.join("probe").join("online"), f);
    }
    fn visit_mut_at<'a>(&'a mut self, at: &Name<'_>, f: &mut VisitMut<'_, 'a>) {
        let probe = at.join("probe");
        self.ae.visit_mut_at(at, f);
        self.online.layer.visit_mut_at(&probe.join("online"), f);
        self.final_probe.layer.visit_mut_at(&probe.join("final"), f);
        let opt = at.join("opt");
        self.online
            .state
            .visit_mut_at(&opt.join("probe").join("online"), f);
    }
}

impl AeModel {
    /// Runs once after the last epoch, on the final weights: fits the final probe on the
    /// codes of the clean images, then the same probe on raw pixels (the baseline); both from
    /// zero, shuffled by `rng` (deterministic).
    pub fn finish(&mut self, splits: &Splits, rng: &mut Pcg64) -> Result<Finish, Error> {
        let train = self.codes(&splits.train)?;
        let valid = self.codes(&splits.valid)?;
        let test = self.codes(&splits.test)?;
        let probe = self.final_probe.fit("codes", &train, &valid, &test, rng)?;
        drop((train, valid, test));
        let mut pixels = Probe::new(self.inputs(), self.classes(), self.batch());
        let pixel_probe = pixels.fit("pixels", &splits.train, &splits.valid, &splits.test, rng)?;
        let f = Finish {
            epoch: self.epoch,
            probe,
            pixel_probe,
        };
        self.finished = Some(f.clone());
        Ok(f)
    }

    /// What [`finish`](Self::finish) fitted last (it may predate the current weights: see
    /// [`Finish::epoch`]).
    pub fn finished(&self) -> Option<&Finish> {
        self.finished.as_ref()
    }

    /// Entries for the checkpoint's `__metadata__` (the final probe's report).
    pub fn metadata(&self) -> Vec<(String, String)> {
        self.finished
            .iter()
            .filter_map(|f| serde_json::to_string(f).ok())
            .map(|j| (META_PROBE.to_string(), j))
            .collect()
    }

    /// Restores what [`metadata`](Self::metadata) wrote (the whole `__metadata__` map).
    pub fn set_metadata(&mut self, metadata: &HashMap<String, String>) -> Result<(), String> {
        self.finished = match metadata.get(META_PROBE) {
            Some(j) => {
                Some(serde_json::from_str(j).map_err(|e| format!("metadata `{META_PROBE}`: {e}"))?)
            }
            None => None,
        };
        Ok(())
    }

    /// Extra lines for `dtp info`.
    pub fn info_lines(&self) -> Vec<String> {
        let (c, h) = (self.classes(), self.hidden());
        let mut v = vec![format!(
            "linear probes {} online + {} final ({c} classes on the {h} codes)",
            c * h + c,
            c * h + c
        )];
        match &self.finished {
            Some(f) => v.push(format!(
                "final probe fitted on the weights of epoch {}{}: test error {:.2}% (valid \
                 {:.2}%, train {:.2}%; best valid at probe epoch {} of {}); the same probe on \
                 raw pixels: test error {:.2}% (valid {:.2}%)",
                f.epoch,
                if f.epoch == self.epoch {
                    ""
                } else {
                    " (older than these weights)"
                },
                100.0 * f.probe.test_error,
                100.0 * f.probe.valid_error,
                100.0 * f.probe.train_error,
                f.probe.best_epoch,
                f.probe.epochs,
                100.0 * f.pixel_probe.test_error,
                100.0 * f.pixel_probe.valid_error
            )),
            None => v.push("final probe not fitted yet (training has not finished)".into()),
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    fn data(n: usize, seed: u32) -> Dataset {
        // Three classes, each a fixed pattern of two bright pixels, plus a little noise.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = (i * 7 + seed as usize) % 3;
            for f in 0..6 {
                let on = f == 2 * c || f == 2 * c + 1;
                let jitter = ((i * 31 + f * 17 + seed as usize) % 10) as f32 / 50.0;
                x.push(if on { 0.9 - jitter } else { jitter });
            }
            y.push(c as u8);
        }
        Dataset::from_f32("tiny", 6, 3, x, y)
    }

    fn model() -> Model {
        let mut m = AeModel::new(6, 5, 3, 4);
        let h = Hyper {
            forward: Optimiser::rmsprop(1e-2),
            inverse: Optimiser::rmsprop(1e-2),
            input_noise: 0.1,
            ..Hyper::default()
        };
        m.init(AeSettings::of(&h), Init::Orthogonal, &mut Pcg64::new(1, 1))
            .unwrap();
        Model::Autoencoder(m)
    }

    fn ae(m: &mut Model) -> &mut AeModel {
        match m {
            Model::Autoencoder(a) => a,
            _ => unreachable!(),
        }
    }

    /// `init_scale` multiplies both halves' initial weights (the same draws); 0, negative or
    /// not finite is refused.
    #[test]
    fn init_scale_scales_the_initial_weights() {
        let at = |scale: f32| {
            let mut m = AeModel::new(6, 5, 3, 4);
            let h = Hyper {
                init_scale: scale,
                ..Hyper::default()
            };
            m.init(AeSettings::of(&h), Init::Orthogonal, &mut Pcg64::new(1, 1))
                .map(|()| (m.ae.encoder.w.clone(), m.ae.decoder.w.clone()))
        };
        let (e1, d1) = at(1.0).unwrap();
        let (e, d) = at(0.1).unwrap();
        assert!(e1.iter().any(|&v| v != 0.0));
        assert_eq!(e, e1 * 0.1);
        assert_eq!(d, d1 * 0.1);
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert!(at(bad).is_err(), "init_scale {bad} accepted");
        }
    }

    #[test]
    fn tensor_lists_agree() {
        let m = model();
        let names: Vec<_> = m.tensors().iter().map(|t| t.name.clone()).collect();
        let mut m = m;
        let names_mut: Vec<_> = m.tensors_mut().iter().map(|t| t.name.clone()).collect();
        assert_eq!(names, names_mut);
        assert_eq!(m.shape().widths(), "6-5-6");
        let enc_dec: usize = m
            .tensors()
            .iter()
            .filter(|t| t.name.starts_with("net."))
            .map(|t| t.data.len())
            .sum();
        assert_eq!(enc_dec, m.forward_params() + m.inverse_params());
    }

    #[test]
    fn learns_and_probes() {
        let splits = Splits {
            train: data(200, 0),
            valid: data(40, 1),
            test: data(40, 2),
        };
        let mut m = model();
        let mut erng = Pcg64::new(0, 0);
        let before = m.evaluate(&splits.valid, 1, &mut erng).unwrap();
        let (mut shuffle, mut noise) = (Pcg64::new(2, 2), Pcg64::new(3, 3));
        for _ in 0..30 {
            let mut noop = || {};
            let mut b = EpochBatches::new(&splits.train, 4, &mut shuffle, &mut noop);
            m.train_epoch(&mut b, Algo::Dtp, Gradient::Exact, &mut noise)
                .unwrap();
        }
        let after = m.evaluate(&splits.valid, 1, &mut erng).unwrap();
        assert!(after.loss < 0.5 * before.loss, "{before:?} → {after:?}");
        let f = ae(&mut m).finish(&splits, &mut Pcg64::new(4, 4)).unwrap();
        assert!(f.probe.test_error < 0.2, "{f:?}");
        assert_eq!(f.epoch, 30);
        let fin = m.evaluate(&splits.test, 1, &mut erng).unwrap();
        assert_eq!(fin.error, f.probe.test_error);
        // The report survives a metadata round trip.
        let meta: HashMap<_, _> = ae(&mut m).metadata().into_iter().collect();
        let mut other = model();
        ae(&mut other).set_metadata(&meta).unwrap();
        assert_eq!(ae(&mut other).metadata(), ae(&mut m).metadata());
    }
}
