//! Settings on the desktop: [`Hyper`], everything a run needs — the network (dataset, model
//! kind, layout, batch, units), the core's [`dtp_core::Config`] as flat TOML keys (the core's
//! own `Schedule`, `Init` and `Gradient` types, serialised by its `serde` feature; η̂, the two
//! optimisers, σ and its τ, the forward learning-rate decay, input noise) and the run settings
//! (epochs, seed, algorithm, …) — and [`HyperPatch`], the partial overrides read from a TOML
//! file (`--config`) and from command-line flags.
//!
//! A preset supplies a complete [`Hyper`]; a TOML file, then the flags, patch it. Unknown
//! keys are errors that name the key and the file.

use std::path::Path;

use anyhow::{Context, Result};
use dtp_core::{
    Config, Feedback, Gradient, Init, LrDecay, Optimiser, OptimiserKind, Schedule, SigmaSchedule,
    Units,
};
use serde::{Deserialize, Serialize};

pub use crate::layers::Layers;
use crate::model::ModelKind;
use crate::presets::DataKind;

/// What a preset's network is: dataset, kind, layout, batch and units (the rest of a
/// [`Hyper`] is training settings).
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The dataset.
    pub dataset: DataKind,
    /// Classifier or auto-encoder.
    pub model: ModelKind,
    /// Layer widths.
    pub layers: Layers,
    /// Minibatch size.
    pub batch: u32,
    /// Unit types.
    pub units: UnitsName,
}

/// The training algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Algo {
    /// Difference Target Propagation (Lee et al. 2015): inverses trained to reconstruct.
    Dtp,
    /// Backpropagation through the same network (the baseline).
    Bp,
    /// DTP with the difference reconstruction loss (Meulemans et al. 2020), σ = drl_sigma.
    Drl,
    /// Fixed-weight DTP (Shibuya et al. 2023): feedback weights never trained.
    FwDtp,
}

impl Algo {
    /// The core's feedback rule of a target-propagation algorithm ([`Feedback::Dtp`] for
    /// backprop, where it plays no role).
    pub fn feedback(self) -> Feedback {
        match self {
            Algo::Dtp | Algo::Bp => Feedback::Dtp,
            Algo::Drl => Feedback::Drl,
            Algo::FwDtp => Feedback::Fixed,
        }
    }

    /// The target-propagation algorithm of a core feedback rule.
    pub fn from_feedback(f: Feedback) -> Self {
        match f {
            Feedback::Dtp => Algo::Dtp,
            Feedback::Drl => Algo::Drl,
            Feedback::Fixed => Algo::FwDtp,
        }
    }

    /// Whether this is DTP or one of its variants (trained by `Trainer::train_epoch`).
    pub fn is_target_propagation(self) -> bool {
        self != Algo::Bp
    }
}

impl std::fmt::Display for Algo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algo::Dtp => "DTP",
            Algo::Bp => "backprop",
            Algo::Drl => "DRL",
            Algo::FwDtp => "FW-DTP",
        })
    }
}

/// Default σ of the difference reconstruction loss: the value Meulemans et al. (2020) tuned
/// for DTP with DRL on MNIST (their released `final_configs/mnist_DTPDRL.py`, σ = 0.05688).
pub const DRL_SIGMA: f32 = 0.056_879_454;

fn default_drl_sigma() -> f32 {
    DRL_SIGMA
}

/// The unit types of a network, by name (one of the core's [`Units`] constants): what every
/// layer computes and how the next layer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum UnitsName {
    /// tanh units read as they are (the paper's continuous net).
    Continuous,
    /// tanh units; hidden layers after the first read sign(h), as do the inverses; the
    /// output reads h (the paper's discrete net).
    Discrete,
    /// Sigmoid units read as Bernoulli samples by the next layer and the output (the paper's
    /// stochastic net).
    Stochastic,
    /// tanh units read as sign(h) by every layer above, the output and the inverses (the
    /// firmware's binary net).
    Sign,
}

impl UnitsName {
    /// The core unit set.
    pub fn units(self) -> Units {
        match self {
            UnitsName::Continuous => Units::CONTINUOUS,
            UnitsName::Discrete => Units::DISCRETE,
            UnitsName::Stochastic => Units::STOCHASTIC,
            UnitsName::Sign => Units::SIGN,
        }
    }

    /// The lowercase name, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            UnitsName::Continuous => "continuous",
            UnitsName::Discrete => "discrete",
            UnitsName::Stochastic => "stochastic",
            UnitsName::Sign => "sign",
        }
    }
}

/// The update rule of an optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OptimiserName {
    /// Centred RMSprop with momentum (the reference).
    Rmsprop,
    /// SGD with momentum (rho and eps unused).
    Sgd,
}

/// One optimiser's settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimiserCfg {
    /// The rule.
    pub kind: OptimiserName,
    /// Learning rate.
    pub lr: f32,
    /// Momentum μ in [0, 1).
    pub momentum: f32,
    /// RMSprop averaging coefficient ρ in [0, 1).
    pub rho: f32,
    /// RMSprop stabiliser ε > 0.
    pub eps: f32,
}

impl OptimiserCfg {
    /// The mirror of a core optimiser.
    pub fn from_core(o: Optimiser) -> Self {
        match o.kind {
            OptimiserKind::RmsProp { rho, momentum, eps } => OptimiserCfg {
                kind: OptimiserName::Rmsprop,
                lr: o.lr,
                momentum,
                rho,
                eps,
            },
            OptimiserKind::Sgd { momentum } => OptimiserCfg {
                kind: OptimiserName::Sgd,
                lr: o.lr,
                momentum,
                rho: 0.95,
                eps: 0.001,
            },
        }
    }

    /// The core optimiser.
    pub fn to_core(self) -> Optimiser {
        Optimiser {
            lr: self.lr,
            kind: match self.kind {
                OptimiserName::Rmsprop => OptimiserKind::RmsProp {
                    rho: self.rho,
                    momentum: self.momentum,
                    eps: self.eps,
                },
                OptimiserName::Sgd => OptimiserKind::Sgd {
                    momentum: self.momentum,
                },
            },
        }
    }

    fn apply(&mut self, p: &OptimiserPatch) {
        set(&mut self.kind, p.kind);
        set(&mut self.lr, p.lr);
        set(&mut self.momentum, p.momentum);
        set(&mut self.rho, p.rho);
        set(&mut self.eps, p.eps);
    }
}

/// Every setting of a training run. Serialised into checkpoints, `config.toml` of a run
/// directory and `summary.json`; a TOML file with any subset of these keys is a valid
/// `--config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hyper {
    /// The dataset the run trains on.
    pub dataset: DataKind,
    /// A classifier, or a denoising auto-encoder.
    #[serde(default)]
    pub model: ModelKind,
    /// Layer widths, input to output (`auto` ends are taken from the data).
    pub layers: Layers,
    /// Minibatch size.
    pub batch: u32,
    /// Unit types.
    pub units: UnitsName,
    /// DTP, one of its variants (DRL, FW-DTP), or backprop.
    pub algo: Algo,
    /// Total number of epochs.
    pub epochs: u32,
    /// Seed of initialisation, shuffling and noise.
    pub seed: u64,
    /// η̂: step of the top target.
    pub eta_hat: f32,
    /// Optimiser of the forward layers (and of backprop).
    pub forward: OptimiserCfg,
    /// Optimiser of the inverses.
    pub inverse: OptimiserCfg,
    /// σ₀ of the inverse-training corruption.
    pub sigma: f32,
    /// τ of `σ_e = σ₀ / (1 + e/τ)` in epochs; 0 keeps σ constant.
    pub sigma_tau: f32,
    /// σ₀ of the difference reconstruction loss's corruption (`algo = "drl"`, where it takes
    /// the place of `sigma`; `sigma_tau` still applies). Absent from older checkpoints and
    /// files, where it reads as [`DRL_SIGMA`].
    #[serde(default = "default_drl_sigma")]
    pub drl_sigma: f32,
    /// τ of the forward learning rate's decay `lr_e = lr₀ / (1 + e/τ)` in epochs (`e` = epochs
    /// completed before the one being trained); 0 keeps it constant. Absent from older
    /// checkpoints and files, where it reads as 0.
    #[serde(default)]
    pub lr_tau: f32,
    /// Standard deviation of Gaussian noise added to training inputs.
    pub input_noise: f32,
    /// Update schedule of DTP.
    pub schedule: Schedule,
    /// Weight initialisation.
    pub init: Init,
    /// How backprop passes through quantisers (`--algo bp` only).
    pub bp_gradient: Gradient,
    /// Sampled passes averaged by the final test and validation evaluation (stochastic nets;
    /// 1 otherwise). Per-epoch metrics (except `eval_every`'s) and the final training error use
    /// one pass.
    pub eval_passes: u32,
    /// Every this many epochs, also evaluate test and validation sets averaging
    /// `eval_passes` passes, as the final evaluation does (`*_error_passes` in the metrics);
    /// 0 never. Absent from older checkpoints and files, where it reads as 0.
    #[serde(default)]
    pub eval_every: u32,
    /// Write a checkpoint every this many epochs (and always after the last).
    pub checkpoint_every: u32,
    /// Chunks each minibatch is split into, carried through a step in parallel (by up to as
    /// many threads; see `dtp_core::parallel`). Results depend on this, never on the number
    /// of threads. Absent from older checkpoints and files, where it reads as 1 (one
    /// whole-minibatch step, as they were trained).
    #[serde(default = "one_chunk")]
    pub chunks: u32,
}

fn one_chunk() -> u32 {
    1
}

/// The chunks a preset splits its minibatches into: 2 (the cores of a small machine) when
/// each holds at least 16 samples, else 1.
pub fn default_chunks(batch: u32) -> u32 {
    if batch >= 32 { 2 } else { 1 }
}

impl Hyper {
    /// Settings from a core config, with the network and run settings given (`units` must
    /// name `c.units`).
    pub fn from_core(net: Network, c: &Config, epochs: u32, init: Init, eval_passes: u32) -> Self {
        Hyper {
            dataset: net.dataset,
            model: net.model,
            layers: net.layers,
            batch: net.batch,
            units: net.units,
            algo: Algo::from_feedback(c.feedback),
            epochs,
            seed: 1,
            eta_hat: c.eta_hat,
            forward: OptimiserCfg::from_core(c.forward),
            inverse: OptimiserCfg::from_core(c.inverse),
            sigma: c.sigma.sigma0,
            drl_sigma: if c.feedback == Feedback::Drl {
                c.sigma.sigma0
            } else {
                DRL_SIGMA
            },
            sigma_tau: if c.sigma.tau.is_finite() {
                c.sigma.tau
            } else {
                0.0
            },
            lr_tau: if c.lr_decay.tau.is_finite() {
                c.lr_decay.tau
            } else {
                0.0
            },
            input_noise: c.input_noise,
            schedule: c.schedule,
            init,
            bp_gradient: Gradient::Exact,
            eval_passes,
            eval_every: 0,
            checkpoint_every: 1,
            chunks: default_chunks(net.batch),
        }
    }

    /// The core config of these settings.
    pub fn to_core(&self) -> Config {
        self.to_core_with(self.units.units())
    }

    /// The core config with other `units` (`dtp eval --units`).
    pub fn to_core_with(&self, units: Units) -> Config {
        Config {
            units,
            eta_hat: self.eta_hat,
            forward: self.forward.to_core(),
            inverse: self.inverse.to_core(),
            sigma: SigmaSchedule {
                sigma0: if self.algo == Algo::Drl {
                    self.drl_sigma
                } else {
                    self.sigma
                },
                tau: if self.sigma_tau == 0.0 {
                    f32::INFINITY
                } else {
                    self.sigma_tau
                },
            },
            input_noise: self.input_noise,
            schedule: self.schedule,
            lr_decay: if self.lr_tau == 0.0 {
                LrDecay::NONE
            } else {
                LrDecay { tau: self.lr_tau }
            },
            feedback: self.algo.feedback(),
        }
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
        if self.algo == Algo::Drl && !(self.drl_sigma.is_finite() && self.drl_sigma > 0.0) {
            return Err(format!(
                "drl_sigma = {}: must be a finite number > 0 (the loss is scaled by 1/σ²)",
                self.drl_sigma
            ));
        }
        if self.model == ModelKind::Autoencoder && matches!(self.algo, Algo::Drl | Algo::FwDtp) {
            return Err(format!(
                "algo = {}: the auto-encoder trains by dtp or bp only",
                self.algo
            ));
        }
        Ok(())
    }

    /// Applies every key present in `p`.
    pub fn apply(&mut self, p: &HyperPatch) {
        set(&mut self.dataset, p.dataset);
        set(&mut self.model, p.model);
        if let Some(l) = &p.layers {
            self.layers = l.clone();
        }
        set(&mut self.batch, p.batch);
        set(&mut self.units, p.units);
        set(&mut self.algo, p.algo);
        set(&mut self.epochs, p.epochs);
        set(&mut self.seed, p.seed);
        set(&mut self.eta_hat, p.eta_hat);
        if let Some(f) = &p.forward {
            self.forward.apply(f);
        }
        if let Some(i) = &p.inverse {
            self.inverse.apply(i);
        }
        set(&mut self.sigma, p.sigma);
        set(&mut self.sigma_tau, p.sigma_tau);
        set(&mut self.drl_sigma, p.drl_sigma);
        set(&mut self.lr_tau, p.lr_tau);
        set(&mut self.input_noise, p.input_noise);
        set(&mut self.schedule, p.schedule);
        set(&mut self.init, p.init);
        set(&mut self.bp_gradient, p.bp_gradient);
        set(&mut self.eval_passes, p.eval_passes);
        set(&mut self.eval_every, p.eval_every);
        set(&mut self.checkpoint_every, p.checkpoint_every);
        set(&mut self.chunks, p.chunks);
    }

    /// The settings as TOML (loadable again with `--config`).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

fn set<T: Copy>(dst: &mut T, src: Option<T>) {
    if let Some(v) = src {
        *dst = v;
    }
}

/// Partial [`OptimiserCfg`]: the keys of a `[forward]` or `[inverse]` table.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct OptimiserPatch {
    pub kind: Option<OptimiserName>,
    pub lr: Option<f32>,
    pub momentum: Option<f32>,
    pub rho: Option<f32>,
    pub eps: Option<f32>,
}

/// Partial [`Hyper`]: what a `--config` TOML file or the flags set. Field meanings are those
/// of [`Hyper`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct HyperPatch {
    pub dataset: Option<DataKind>,
    pub model: Option<ModelKind>,
    pub layers: Option<Layers>,
    pub batch: Option<u32>,
    pub units: Option<UnitsName>,
    pub algo: Option<Algo>,
    pub epochs: Option<u32>,
    pub seed: Option<u64>,
    pub eta_hat: Option<f32>,
    pub forward: Option<OptimiserPatch>,
    pub inverse: Option<OptimiserPatch>,
    pub sigma: Option<f32>,
    pub sigma_tau: Option<f32>,
    pub drl_sigma: Option<f32>,
    pub lr_tau: Option<f32>,
    pub input_noise: Option<f32>,
    pub schedule: Option<Schedule>,
    pub init: Option<Init>,
    pub bp_gradient: Option<Gradient>,
    pub eval_passes: Option<u32>,
    pub eval_every: Option<u32>,
    pub checkpoint_every: Option<u32>,
    pub chunks: Option<u32>,
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

    fn net(units: UnitsName) -> Network {
        Network {
            dataset: DataKind::Digits,
            model: ModelKind::Classifier,
            layers: Layers::fixed(&[64, 32, 32, 10]),
            batch: 10,
            units,
        }
    }

    fn hyper() -> Hyper {
        Hyper::from_core(
            net(UnitsName::Continuous),
            &Config::CONTINUOUS,
            10,
            Init::Orthogonal,
            1,
        )
    }

    #[test]
    fn round_trips_the_core_config() {
        for (u, c) in [
            (UnitsName::Continuous, Config::CONTINUOUS),
            (UnitsName::Discrete, Config::DISCRETE),
            (UnitsName::Stochastic, Config::STOCHASTIC),
        ] {
            let h = Hyper::from_core(net(u), &c, 1, Init::Orthogonal, 1);
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
        let mut g = Hyper::from_core(
            net(UnitsName::Discrete),
            &Config::DISCRETE,
            99,
            Init::Uniform,
            7,
        );
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
            Hyper::from_core(net(UnitsName::Continuous), &c, 10, Init::Orthogonal, 1),
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
