//! Settings on the desktop: [`Hyper`], everything a run needs — the network (dataset, model
//! kind, layout, batch, units), the core's [`dtp_core::Config`] as flat TOML keys (the core's
//! own `Optimiser`, `Schedule`, `Init` and `Gradient` types, serialised by its `serde`
//! feature; η̂, σ and its τ, the forward learning-rate decay, input noise) and the run settings
//! (epochs, seed, algorithm, …) — and [`HyperPatch`], the partial overrides read from a TOML
//! file (`--config`) and, with the `cli` feature, from command-line flags.
//!
//! Each setting is declared once, below: its doc comment (also its flag's help), flag, name
//! (TOML key), type and default (see [`crate::settings`]). A preset supplies a complete
//! [`Hyper`]; a TOML file, then the flags, patch it. Unknown keys are errors that name the key
//! and the file.

use std::path::Path;

use anyhow::{Context, Result};
use dtp_core::{
    Config, FeedbackPasses, Gradient, Init, LrDecay, Optimiser, Schedule, SigmaSchedule, Units,
};

pub use crate::kinds::{Algo, Arith, OptimiserName, UnitsName};
use crate::kinds::{DataKind, ModelKind};
pub use crate::layers::{LayerNumbers, Layers};
pub use crate::optimiser::OptimiserPatch;
use crate::settings::settings;

/// σ₀ of the difference reconstruction loss by default (`drl_sigma`): the core's
/// [`dtp_core::DRL_SIGMA`].
pub const DRL_SIGMA: f32 = dtp_core::DRL_SIGMA;

/// A flag taking one of the core's setting enums by its serde name (`alternating`, …): the
/// core's types are the settings, the flags only list their names.
#[cfg(feature = "cli")]
fn core_names<T>(names: &'static [&'static str]) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names).try_map(|s| {
        serde_json::from_value::<T>(serde_json::Value::String(s.clone()))
            .map_err(|e| format!("{s}: {e}"))
    })
}

settings! {
    /// Every setting of a training run. Serialised into checkpoints, `config.toml` of a run
    /// directory and `summary.json`; a TOML file with any subset of these keys is a valid
    /// `--config`. A key missing from an older file or checkpoint reads as its default (the
    /// digits preset's value: see [`Hyper::default`]).
    pub struct Hyper;
    /// Partial [`Hyper`]: what a `--config` TOML file or the flags set (`dtp train`'s flags
    /// are this struct's, flattened). Field meanings are those of [`Hyper`].
    pub struct HyperPatch;

    /// Dataset kind [default: the preset's] (--data says where its files are).
    #[arg(long, value_enum)]
    dataset: DataKind = DataKind::Digits;
    /// A classifier, or a denoising auto-encoder (the preset's; no flag).
    #[arg(skip)]
    model: ModelKind = ModelKind::Classifier;
    /// Layer widths input-hidden…-output, e.g. 784-500-250-10; the input and output may be
    /// "auto" (from the data: its features; its classes, or its features for an
    /// auto-encoder) [default: the preset's]. One hidden layer trains on the top target alone
    /// (a rescaled gradient step); DTP's difference targets, through learned inverses, need
    /// two hidden layers or more.
    #[arg(long, value_name = "W0-W1-…-WM")]
    layers: Layers = Layers::fixed(&[64, 64, 64, 10]);
    /// Minibatch size [default: the preset's].
    #[arg(long)]
    batch: u32 = 10;
    /// Unit types of the network [default: the preset's].
    #[arg(long, value_enum)]
    units: UnitsName = UnitsName::Continuous;
    /// Arithmetic: float, or int — the device's integer DTP step (i16 weights, sign units,
    /// batch 1, SGD whose rates --lr-forward / --lr-inverse are rounded to mul·2^-shift,
    /// η̂ from --eta-hat, σ from --sigma, lr₀/(1 + k) every --lr-tau epochs), bit-identical to
    /// the firmware's integer demo [default: the preset's].
    #[arg(long, value_enum)]
    arith: Arith = Arith::Float;
    /// Training algorithm: DTP, one of its variants (DRL, FW-DTP, DDTP-linear, DDTP-RHL), or
    /// backprop.
    #[arg(long, value_enum)]
    algo: Algo = Algo::Dtp;
    /// Total number of epochs.
    #[arg(long)]
    epochs: u32 = 20;
    /// Seed of initialisation, shuffling and noise.
    #[arg(long)]
    seed: u64 = 1;
    /// η̂, the step of the top target.
    #[arg(long)]
    eta_hat: f32 = 0.5 => core;
    /// Optimiser of the forward layers (and of backprop): the TOML table forward (flags:
    /// --lr-forward, --optimiser, --momentum).
    #[arg(skip)]
    forward: Optimiser = Optimiser::rmsprop(1e-3) => core;
    /// Optimiser of the inverses: the TOML table inverse (flags: --lr-inverse, --optimiser,
    /// --momentum).
    #[arg(skip)]
    inverse: Optimiser = Optimiser::rmsprop(1e-3) => core;
    /// σ₀ of the inverses' training noise.
    #[arg(long)]
    sigma: f32 = 0.3;
    /// τ of σ_e = σ₀ / (1 + e/τ), in epochs (0 = constant σ).
    #[arg(long)]
    sigma_tau: f32 = 0.0;
    /// σ₀ of the difference reconstruction loss's corruption, in place of --sigma with
    /// --algo drl, ddtp-linear or ddtp-rhl [default: 0.0569, Meulemans et al.'s MNIST
    /// setting for DRL].
    #[arg(long)]
    drl_sigma: f32 = DRL_SIGMA;
    /// Feedback pre-training: passes of the feedback step alone over the training set
    /// (forward pass and feedback update on every minibatch) before forward training starts,
    /// run at the start of the first epoch (Meulemans et al.'s epochs_fb; DTP, DRL, DDTP;
    /// 0 = none).
    #[arg(long, value_name = "N")]
    feedback_pretrain: u32 = 0;
    /// Extra feedback epochs: passes of the feedback step alone after each epoch's training
    /// (Meulemans et al.'s extra_fb_epochs; DTP, DRL, DDTP; 0 = none).
    #[arg(long, value_name = "N")]
    feedback_extra: u32 = 0;
    /// τ of the forward learning rate's decay lr_e = lr₀ / (1 + e/τ), in epochs (0 = constant;
    /// e = epochs completed before the one being trained).
    #[arg(long)]
    lr_tau: f32 = 0.0;
    /// Standard deviation of Gaussian noise added to training inputs.
    #[arg(long)]
    input_noise: f32 = 0.0 => core;
    /// Masking corruption of the auto-encoder's inputs: the fraction of each training input's
    /// values set to 0 (each value independently) before --input-noise is added (Vincent et
    /// al.'s masking noise; auto-encoder only; 0 = none).
    #[arg(long, value_name = "P")]
    input_mask: f32 = 0.0;
    /// Factor on the auto-encoder's initial weights (after --init; e.g. 0.1 starts from small
    /// weights, so the filters show what training wrote rather than their random start;
    /// auto-encoder only; 1 = --init as it is).
    #[arg(long, value_name = "S")]
    init_scale: f32 = 1.0;
    /// Tied weights for the auto-encoder: the decoder's weights are the encoder's transpose
    /// (Vincent et al.'s denoising auto-encoder), one matrix trained on both halves' gradients
    /// by the encoder's optimiser (--lr-forward); the decoder's optimiser moves its bias alone.
    /// The flag alone means true (auto-encoder only).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    tied_weights: bool = false;
    /// DTP update schedule: a pass of inverse steps then a pass of forward steps each epoch
    /// (the reference), or both per minibatch.
    #[arg(long, value_parser = core_names::<Schedule>(&["alternating", "interleaved"]))]
    schedule: Schedule = Schedule::Alternating => core;
    /// Weight initialisation: random orthogonal, or uniform in ±√(6 / (fan_in + fan_out)).
    #[arg(long, value_parser = core_names::<Init>(&["orthogonal", "uniform"]))]
    init: Init = Init::Orthogonal;
    /// Backprop through sign / Bernoulli units (--algo bp): the exact derivative (zero) or the
    /// straight-through estimator (one).
    #[arg(long, value_parser = core_names::<Gradient>(&["exact", "straight-through"]))]
    bp_gradient: Gradient = Gradient::Exact;
    /// Sampled passes averaged by the final evaluation (of test and validation sets; the
    /// per-epoch figures and the final training error use one).
    #[arg(long)]
    eval_passes: u32 = 1;
    /// Every N epochs, also evaluate test and validation with --eval-passes passes (recorded
    /// as test_error_passes / valid_error_passes) [default: the preset's; 0 = never].
    #[arg(long)]
    eval_every: u32 = 0;
    /// Write a checkpoint every N epochs (and after the last).
    #[arg(long)]
    checkpoint_every: u32 = 1;
    /// Chunks each minibatch is split into, trained in parallel [default: the preset's: 2 for
    /// batches of 32 or more, else 1]. Results depend on it, not on --threads (1 in files
    /// written before it existed: one whole-minibatch step, as they were trained).
    #[arg(long)]
    chunks: u32 = 1;
    /// Forward layers to keep fixed, by number 1…M (hidden layers 1…M−1, output layer M),
    /// e.g. --freeze 1,2: their weights and optimiser state never change (the other layers
    /// train as usual, targets pass through them). For fine-tuning, and for controls of
    /// what a layer's learning adds [default: none].
    #[arg(long, value_name = "I,…")]
    freeze: LayerNumbers = LayerNumbers(Vec::new());
}

/// The chunks a preset splits its minibatches into: 2 (the cores of a small machine) when
/// each holds at least 16 samples, else 1.
pub fn default_chunks(batch: u32) -> u32 {
    if batch >= 32 { 2 } else { 1 }
}

/// τ as a setting (0 = constant) as the core's (∞ = constant), and back.
fn tau_to_core(tau: f32) -> f32 {
    if tau == 0.0 { f32::INFINITY } else { tau }
}

fn tau_from_core(tau: f32) -> f32 {
    if tau.is_finite() { tau } else { 0.0 }
}

impl Hyper {
    /// Applies `patches` in turn (a later one wins), then each optimiser's keys from all of
    /// them together, so that a constant given before the rule that has it is kept (a TOML
    /// file's `[forward] weight_decay` with `--optimiser adam`: the file is applied first, to
    /// a preset's RMSprop). A key the final rule does not have is an error that names it,
    /// rather than a setting dropped silently.
    pub fn apply_all(&mut self, patches: &[HyperPatch]) -> Result<(), String> {
        patches.iter().for_each(|p| self.apply(p));
        let merged = |pick: fn(&HyperPatch) -> Option<&OptimiserPatch>| {
            patches
                .iter()
                .filter_map(pick)
                .fold(OptimiserPatch::default(), |a, p| a.then(p))
        };
        for (table, patch, o) in [
            ("forward", merged(|p| p.forward.as_ref()), &mut self.forward),
            ("inverse", merged(|p| p.inverse.as_ref()), &mut self.inverse),
        ] {
            patch.apply_to(o);
            if let Some((key, rule)) = patch.unused_key(o) {
                return Err(format!(
                    "[{table}] {key} is given, but the {table} optimiser is {rule}, which has \
                     no {key} (set kind, or --optimiser, to a rule that has it)"
                ));
            }
        }
        Ok(())
    }

    /// These settings with those of a core config: its feedback rule as the algorithm, its
    /// σ schedule (its σ₀ also as `drl_sigma` under DRL), its forward learning-rate decay and
    /// its fields of the same name. The units are not taken: a preset names them.
    pub fn with_core(mut self, c: &Config) -> Self {
        self.core_from(c);
        self.algo = Algo::from_feedback(c.feedback);
        self.sigma = c.sigma.sigma0;
        self.drl_sigma = if Algo::from_feedback(c.feedback).uses_drl_sigma() {
            c.sigma.sigma0
        } else {
            DRL_SIGMA
        };
        self.sigma_tau = tau_from_core(c.sigma.tau);
        self.lr_tau = tau_from_core(c.lr_decay.tau);
        self.freeze = LayerNumbers::from_set(c.frozen);
        self
    }

    /// The core config of these settings.
    pub fn to_core(&self) -> Config {
        self.to_core_with(self.units.units())
    }

    /// The core config with other `units` (`dtp eval --units`).
    pub fn to_core_with(&self, units: Units) -> Config {
        let mut c = Config {
            units,
            sigma: SigmaSchedule {
                sigma0: if self.algo.uses_drl_sigma() {
                    self.drl_sigma
                } else {
                    self.sigma
                },
                tau: tau_to_core(self.sigma_tau),
            },
            lr_decay: LrDecay {
                tau: tau_to_core(self.lr_tau),
            },
            feedback: self.algo.feedback(),
            // validate_run keeps the numbers in 1…M (≤ 32); any other is ignored here.
            frozen: self.freeze.to_set(),
            ..Config::CONTINUOUS
        };
        self.core_into(&mut c);
        c
    }

    /// The feedback-only passes of 0-based epoch `epoch` ([`FeedbackPasses`]): the
    /// pre-training passes in epoch 0, the extra passes in every epoch.
    pub fn feedback_passes(&self, epoch: u32) -> FeedbackPasses {
        FeedbackPasses::at(self.feedback_pretrain, self.feedback_extra, epoch)
    }

    /// The settings in effect in epoch `epoch` (0-based: `epoch` epochs completed): [`to_core`]
    /// with the forward learning rate decayed by [`lr_tau`](Hyper::lr_tau) and no further
    /// decay. (Trainers apply the decay themselves, from their epoch counter: this is for
    /// reading what they use.)
    ///
    /// [`to_core`]: Hyper::to_core
    pub fn config_at(&self, epoch: u32) -> Config {
        let mut c = self.to_core();
        c.forward = c.forward_at(epoch);
        c.lr_decay = LrDecay::NONE;
        c
    }

    /// Checks what the core does not: the network and run settings.
    pub fn validate_run(&self) -> Result<(), String> {
        if self.batch == 0 {
            return Err("batch = 0: must be at least 1".into());
        }
        self.validate_freeze()?;
        if !self.layers.convs.is_empty()
            && (self.arith == Arith::Int || self.model != ModelKind::Classifier)
        {
            return Err(format!(
                "layers = {}: convolutions are for float classifiers only",
                self.layers
            ));
        }
        if !self.layers.convs.is_empty()
            && (self.algo == Algo::DtpOutput || self.units != UnitsName::Continuous)
        {
            return Err(format!(
                "layers = {}: a network with convolutions has continuous units and trains by \
                 DTP, DRL, FW-DTP, DDTP or backprop (not units = {:?}, algo = {:?})",
                self.layers, self.units, self.algo
            ));
        }
        self.validate_arith()?;
        if self.eval_passes == 0 {
            return Err("eval_passes = 0: must be at least 1".into());
        }
        if self.checkpoint_every == 0 {
            return Err("checkpoint_every = 0: must be at least 1".into());
        }
        if self.chunks == 0 || self.chunks > self.batch {
            return Err(format!(
                "chunks = {}: must be between 1 and the batch size ({})",
                self.chunks, self.batch
            ));
        }
        if !(self.sigma_tau.is_finite() && self.sigma_tau >= 0.0) {
            return Err(format!(
                "sigma_tau = {}: must be a finite number ≥ 0 (0 = constant σ)",
                self.sigma_tau
            ));
        }
        if !(self.lr_tau.is_finite() && self.lr_tau >= 0.0) {
            return Err(format!(
                "lr_tau = {}: must be a finite number ≥ 0 (0 = constant learning rate)",
                self.lr_tau
            ));
        }
        if self.algo.uses_drl_sigma() && !(self.drl_sigma.is_finite() && self.drl_sigma > 0.0) {
            return Err(format!(
                "drl_sigma = {}: must be a finite number > 0 (the loss is scaled by 1/σ²)",
                self.drl_sigma
            ));
        }
        if self.model == ModelKind::Autoencoder
            && matches!(
                self.algo,
                Algo::Drl | Algo::FwDtp | Algo::DdtpLinear | Algo::DdtpRhl | Algo::DtpOutput
            )
        {
            return Err(format!(
                "algo = {}: the auto-encoder trains by dtp or bp only",
                self.algo
            ));
        }
        Ok(())
    }

    /// [`validate_run`](Hyper::validate_run) of `freeze`: layer numbers 1…M of a float
    /// classifier.
    fn validate_freeze(&self) -> Result<(), String> {
        if self.freeze.0.is_empty() {
            return Ok(());
        }
        if self.arith == Arith::Int || self.model != ModelKind::Classifier {
            return Err(format!(
                "freeze = {}: only a float classifier freezes layers",
                self.freeze
            ));
        }
        let m = self.layers.hidden_layers() as u32 + 1;
        match self.freeze.0.iter().find(|&&i| i == 0 || i > m.min(32)) {
            Some(i) => Err(format!(
                "freeze = {}: layer {i} is not a layer of {} (1…{m})",
                self.freeze, self.layers
            )),
            None => Ok(()),
        }
    }

    /// [`validate_run`](Hyper::validate_run) of an integer run: what `--arith int` requires.
    fn validate_arith(&self) -> Result<(), String> {
        match self.arith {
            Arith::Float => Ok(()),
            Arith::Int => crate::int_model::validate(self),
        }
    }

    /// The settings as TOML (loadable again with `--config`).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

impl HyperPatch {
    /// Reads a TOML file; errors name the file, the line and the offending key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        let text = String::from_utf8(text).map_err(|e| {
            anyhow::anyhow!(
                "{}: byte {}: not UTF-8 text",
                path.display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        Self::parse(path, &text)
    }

    /// Parses TOML text read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            let at = e.span().map_or_else(String::new, |s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: ")
            });
            anyhow::anyhow!("{}: {at}{}", path.display(), e.message())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dtp_core::Feedback;

    fn hyper() -> Hyper {
        Hyper {
            epochs: 10,
            ..Hyper::default().with_core(&Config::CONTINUOUS)
        }
    }

    #[test]
    fn freeze_names_layers_of_the_layout() {
        let mut h = hyper(); // 64-64-64-10: layers 1 … 3
        assert_eq!(h.to_core().frozen, dtp_core::LayerSet::NONE);
        h.freeze = "1,3".parse().unwrap();
        assert!(h.validate_run().is_ok());
        let c = h.to_core();
        assert_eq!(c.frozen, dtp_core::LayerSet::NONE.with(1).with(3));
        assert_eq!(Hyper::default().with_core(&c).freeze, h.freeze);
        for bad in ["0", "4", "2,5"] {
            h.freeze = bad.parse().unwrap();
            let e = h.validate_run().unwrap_err();
            assert!(e.starts_with(&format!("freeze = {bad}: layer ")), "{e}");
        }
        h.freeze = "1".parse().unwrap();
        h.arith = Arith::Int;
        assert!(h.validate_run().unwrap_err().contains("float classifier"));
    }

    #[test]
    fn round_trips_the_core_config() {
        for (u, c) in [
            (UnitsName::Continuous, Config::CONTINUOUS),
            (UnitsName::Discrete, Config::DISCRETE),
            (UnitsName::Stochastic, Config::STOCHASTIC),
        ] {
            let h = Hyper {
                units: u,
                ..Hyper::default().with_core(&c)
            };
            assert_eq!(h.to_core(), c);
        }
    }

    #[test]
    fn patch_overrides_only_given_keys() {
        let p = HyperPatch::parse(
            Path::new("x.toml"),
            "epochs = 3\neta_hat = 0.5\n[forward]\nlr = 0.1\n",
        )
        .unwrap();
        let mut h = hyper();
        h.apply(&p);
        assert_eq!((h.epochs, h.eta_hat, h.forward.lr), (3, 0.5, 0.1));
        assert_eq!(h.inverse, hyper().inverse);
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let e = HyperPatch::parse(Path::new("bad.toml"), "epochs = 3\nlearning_rate = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.toml") && e.contains("learning_rate") && e.contains("line 2"),
            "{e}"
        );
        let e = HyperPatch::parse(Path::new("b.toml"), "[forward]\nlrr = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lrr") && e.contains("line 2"), "{e}");
    }

    /// A TOML file's `[forward] weight_decay` is kept when a later patch (a flag) switches
    /// the rule to Adam, and refused, named, when the final rule has no such key.
    #[test]
    fn apply_all_keeps_constants_for_a_later_rule_and_names_the_unused() {
        let file =
            HyperPatch::parse(Path::new("a.toml"), "[forward]\nweight_decay = 1e-4\n").unwrap();
        let flag = HyperPatch::parse(Path::new("-"), "[forward]\nkind = \"adam\"\n").unwrap();
        let mut h = Hyper::default();
        h.apply_all(&[file.clone(), flag]).unwrap();
        assert!(matches!(
            h.forward.kind,
            dtp_core::OptimiserKind::Adam { weight_decay, .. } if weight_decay == 1e-4
        ));
        let e = Hyper::default().apply_all(&[file]).unwrap_err();
        assert!(
            e.contains("[forward] weight_decay") && e.contains("rmsprop"),
            "{e}"
        );
    }

    #[test]
    fn lr_tau_decays_the_forward_rate_only_and_defaults_to_constant() {
        let mut h = hyper();
        h.forward.lr = 6e-4;
        for e in [0, 3] {
            assert_eq!(h.config_at(e), h.to_core());
        }
        h.lr_tau = 1.0;
        let c = h.config_at(3);
        assert_eq!(c.forward.lr, 6e-4 / 4.0);
        assert_eq!(c.inverse, h.to_core().inverse);
        assert_eq!(h.config_at(0).forward, h.to_core().forward);
        assert_eq!(h.to_core().lr_decay.tau, 1.0);
        h.lr_tau = -1.0;
        assert!(h.validate_run().unwrap_err().contains("lr_tau"));
        // Settings written before `lr_tau` existed still load, with a constant rate.
        let mut old: toml::Table = toml::from_str(&hyper().to_toml()).unwrap();
        old.remove("lr_tau").unwrap();
        let back: Hyper = toml::from_str(&toml::to_string(&old).unwrap()).unwrap();
        assert_eq!(back, hyper());
    }

    #[test]
    fn full_settings_round_trip_through_toml() {
        let h = hyper();
        let p = HyperPatch::parse(Path::new("c.toml"), &h.to_toml()).unwrap();
        let mut g = Hyper {
            units: UnitsName::Discrete,
            epochs: 99,
            init: Init::Uniform,
            eval_passes: 7,
            ..Hyper::default().with_core(&Config::DISCRETE)
        };
        g.apply(&p);
        assert_eq!(g, h);
    }

    #[test]
    fn algo_selects_the_feedback_rule_and_drl_sigma_replaces_sigma() {
        let mut h = hyper();
        assert_eq!(h.to_core().feedback, Feedback::Dtp);
        h.algo = Algo::FwDtp;
        let c = h.to_core();
        assert_eq!((c.feedback, c.sigma.sigma0), (Feedback::Fixed, h.sigma));
        h.algo = Algo::Drl;
        let c = h.to_core();
        assert_eq!((c.feedback, c.sigma.sigma0), (Feedback::Drl, DRL_SIGMA));
        assert_eq!(
            Hyper {
                epochs: 10,
                ..Hyper::default().with_core(&c)
            },
            {
                let mut g = h.clone();
                g.sigma = DRL_SIGMA;
                g
            }
        );
        let p =
            HyperPatch::parse(Path::new("d.toml"), "algo = \"drl\"\ndrl_sigma = 0.1\n").unwrap();
        let mut g = hyper();
        g.apply(&p);
        assert_eq!((g.algo, g.to_core().sigma.sigma0), (Algo::Drl, 0.1));
        g.drl_sigma = 0.0;
        assert!(g.validate_run().unwrap_err().contains("drl_sigma"));
        g.drl_sigma = 0.1;
        g.model = ModelKind::Autoencoder;
        assert!(g.validate_run().unwrap_err().contains("auto-encoder"));
        let p = HyperPatch::parse(Path::new("f.toml"), "algo = \"fw-dtp\"\n").unwrap();
        assert_eq!(p.algo, Some(Algo::FwDtp));
    }

    #[test]
    fn settings_without_drl_sigma_read_the_papers_default() {
        let mut old: toml::Table = toml::from_str(&hyper().to_toml()).unwrap();
        old.remove("drl_sigma").unwrap();
        let back: Hyper = toml::from_str(&toml::to_string(&old).unwrap()).unwrap();
        assert_eq!(back, hyper());
        assert_eq!(back.drl_sigma, DRL_SIGMA);
    }

    #[test]
    fn a_core_config_serialised_without_feedback_reads_dtp() {
        let c = Config {
            feedback: Feedback::Fixed,
            ..Config::CONTINUOUS
        };
        let mut t: toml::Table = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(t["feedback"].as_str(), Some("fixed"));
        t.remove("feedback").unwrap();
        let back: Config = toml::from_str(&toml::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, Config::CONTINUOUS);
    }
}
