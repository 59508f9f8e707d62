//! The preset table: each preset is a row of data — dataset, network kind, layout, batch,
//! units and the reference settings of its experiment — as one complete [`Hyper`]: the
//! default settings (the `digits` row) with the row's network, a core config's settings and
//! whatever else differs.
//!
//! `dtp train --preset P` starts from P's row; `--config` and the flags patch any key of it
//! (`--layers 784-500-500-10` keeps P's settings and changes its layout).

use dtp_core::{Config, Feedback, Init, Optimiser, Schedule, SigmaSchedule, Units};

use crate::config::{Hyper, Layers, default_chunks};
pub use crate::kinds::DataKind;
use crate::kinds::{ModelKind, UnitsName};
use crate::layers::Conv;

/// A named row of settings.
pub struct Preset {
    /// Name on the command line.
    pub name: &'static str,
    /// One line for `--help` and `info`.
    pub about: &'static str,
    /// The complete settings: dataset, network and training.
    pub defaults: fn() -> Hyper,
}

impl Preset {
    /// The dataset of the preset's row.
    pub fn data(&self) -> DataKind {
        (self.defaults)().dataset
    }
}

/// The default settings with this network (a classifier; the chunks [`default_chunks`]) and
/// the settings of the core config `c` (see [`Hyper::with_core`]).
fn net(dataset: DataKind, widths: &[usize], batch: u32, units: UnitsName, c: &Config) -> Hyper {
    Hyper {
        dataset,
        layers: Layers::fixed(widths),
        batch,
        units,
        chunks: default_chunks(batch),
        ..Hyper::default().with_core(c)
    }
}

/// Settings of the digits preset (the paper has none for this set), the default settings'
/// (see [`Hyper::default`]): η̂ = 0.5, RMSprop with lr 10⁻³ for both passes, σ = 0.3, the
/// reference alternating schedule (and 20 epochs).
pub fn digits_config() -> Config {
    Hyper::default().to_core()
}

/// The digits preset's network at compile-time size (the CLI trains it at run-time size; the
/// tests check that both take the same steps): 64-64-64-10 tanh, minibatch 10.
pub type DigitsTrainer = dtp_core::FixedTrainer<64, 64, 10, 1, 10, dtp_core::Portable>;

/// `digits-firmware`'s network at compile-time size: `firmware/`'s trainer, 64-32-32-10, one
/// sample a step, no gradient buffers (the same values as a buffered one-sample trainer).
pub type FirmwareTrainer = dtp_core::FusedTrainer<64, 32, 10, 1, dtp_core::Portable>;

/// Units of `digits-firmware` (the firmware's sign demo): tanh hidden units read as
/// `sign(h)` by every layer above, the output layer included, and by the inverse.
pub const FIRMWARE_UNITS: Units = Units::SIGN;

/// Settings of `digits-firmware`: the core's [`Config::FIRMWARE_SIGN`], which the firmware's
/// sign demo and its no-panic proof use too (η̂ = 3, RMSprop with lr 6·10⁻⁴ forward, divided
/// by `1 + e` in epoch `e`, and 10⁻⁴ inverse, σ = 0.5, interleaved updates); 4 epochs.
pub fn firmware_config() -> Config {
    Config::FIRMWARE_SIGN
}

/// Settings of the `mnist-ae` preset (the paper gives none for its auto-encoder): Gaussian
/// corruption σ = `input_noise`, centred RMSprop (the reference's) for the encoder
/// (`forward`) and the decoder (`inverse`). `eta_hat`, `sigma` and `schedule` play no role in
/// the auto-encoder (each minibatch takes one step of both halves).
pub fn autoencoder_config() -> Config {
    Config {
        eta_hat: 0.0,
        forward: Optimiser::rmsprop(3e-4),
        inverse: Optimiser::rmsprop(3e-4),
        sigma: SigmaSchedule::constant(0.0),
        input_noise: 0.3,
        schedule: Schedule::Interleaved,
        ..Config::CONTINUOUS
    }
}

/// An integer network (`arith = int`, see [`crate::int_model`]) with the settings of
/// `dtp_core::int::Settings::DIGITS` as a float run's keys: η̂ = 8, SGD at 2⁻⁴ forward (the
/// output layer a quarter of it) and 2⁻⁷ inverse, σ = 0.5, lr₀/(1 + epoch); sign units,
/// batch 1.
fn int_net(dataset: DataKind, widths: &[usize], epochs: u32) -> Hyper {
    Hyper {
        arith: crate::kinds::Arith::Int,
        epochs,
        eta_hat: 8.0,
        forward: Optimiser::sgd(1.0 / 16.0, 0.0),
        inverse: Optimiser::sgd(1.0 / 128.0, 0.0),
        sigma: 0.5,
        lr_tau: 1.0,
        schedule: Schedule::Interleaved,
        ..net(dataset, widths, 1, UnitsName::Sign, &Config::FIRMWARE_SIGN)
    }
}

/// Bartunov et al. 2018's MNIST network as a layout on `C × H × W` images (`image`): two
/// 3×3 layers of stride 2 (32, then 64 channels; padding 1, so 28×28 → 14×14 → 7×7),
/// convolutions or, with `local`, locally connected layers (their "LC" net), a dense hidden
/// layer of 1,024 and the 10-way output.
fn bartunov(image: (usize, usize, usize), local: bool) -> Layers {
    let conv = |channels| Conv {
        local,
        channels,
        kernel: 3,
        stride: 2,
        padding: 1,
    };
    Layers {
        input: Some(image.0 * image.1 * image.2),
        image: Some(image),
        convs: vec![conv(32), conv(64)],
        hidden: vec![1024],
        output: Some(10),
    }
}

/// A convolutional preset: [`bartunov`]'s network on `image`s of `dataset`, minibatches of
/// 100 in two chunks ([`default_chunks`]), tanh units, [`conv_config`], `epochs` epochs.
fn conv_net(dataset: DataKind, image: (usize, usize, usize), epochs: u32) -> Hyper {
    Hyper {
        epochs,
        layers: bartunov(image, false),
        ..net(
            dataset,
            &[1, 1, 1],
            100,
            UnitsName::Continuous,
            &conv_config(),
        )
    }
}

/// Settings of the convolutional presets (`mnist-conv`, `fashion-conv`, `cifar-conv`): the
/// continuous reference's ([`Config::CONTINUOUS`]: η̂ 0.328, RMSprop lr 0.0149 forward and
/// 0.0050 inverse, σ 0.360, alternating). Chosen by one-epoch runs of `mnist-conv` on MNIST's
/// validation split (RESULTS.md, "Convolutions"): 6.65 % validation error, against 8.25 % with
/// forward lr 0.003 and 9.09 % with 0.001 (inverse lr 0.001).
pub fn conv_config() -> Config {
    Config::CONTINUOUS
}

const MNIST_7X240: [usize; 9] = [784, 240, 240, 240, 240, 240, 240, 240, 10];

/// Every preset, the default first.
pub static PRESETS: &[Preset] = &[
    Preset {
        name: "digits",
        about: "64-64-64-10 tanh on the embedded UCI 8x8 digits (seconds; the default)",
        defaults: Hyper::default,
    },
    Preset {
        name: "digits-firmware",
        about: "firmware/'s 64-32-32-10 sign-unit network, one sample a step, on the digits at \
                4 bits with the firmware's held-out split (its adaptation demo starts from \
                these weights: dtp export --firmware)",
        defaults: || Hyper {
            epochs: 4,
            ..net(
                DataKind::FirmwareDigits,
                &[64, 32, 32, 10],
                1,
                UnitsName::Sign,
                &firmware_config(),
            )
        },
    },
    Preset {
        name: "digits-int",
        about: "firmware/'s integer demo (learn_digits_int): 64-32-32-10 sign units in integer \
                arithmetic (i16 weights), one sample a step, on the device's 4-bit digits \
                stream; bit-identical to the device (prints its weights digest); dtp export \
                writes the i16 weights it loads",
        defaults: || int_net(DataKind::FirmwareDigits, &[64, 32, 32, 10], 4),
    },
    Preset {
        name: "mnist-int",
        about: "784-500-500-10 sign units on MNIST in the device's integer arithmetic (i16 \
                weights, one sample a step; the integer twin of mnist-discrete)",
        defaults: || int_net(DataKind::Mnist, &[784, 500, 500, 10], 1),
    },
    Preset {
        name: "mnist-7x240",
        about: "784-240x7-10 tanh on MNIST, reference continuous settings, 100 epochs",
        defaults: || Hyper {
            epochs: 100,
            ..net(
                DataKind::Mnist,
                &MNIST_7X240,
                100,
                UnitsName::Continuous,
                &Config::CONTINUOUS,
            )
        },
    },
    Preset {
        name: "fashion-7x240",
        about: "784-240x7-10 tanh on Fashion-MNIST: the continuous settings with the forward lr \
                searched for this set (0.005; MNIST's 0.0149 diverges after epoch 5), 100 epochs",
        defaults: || Hyper {
            epochs: 100,
            ..net(
                DataKind::FashionMnist,
                &MNIST_7X240,
                100,
                UnitsName::Continuous,
                &Config {
                    forward: Optimiser::rmsprop(FASHION_LR_FORWARD),
                    ..Config::CONTINUOUS
                },
            )
        },
    },
    Preset {
        name: "mnist-discrete",
        about: "784-500-500-10 with sign units on MNIST, reference discrete settings, 500 epochs",
        defaults: || Hyper {
            epochs: 500,
            ..net(
                DataKind::Mnist,
                &[784, 500, 500, 10],
                100,
                UnitsName::Discrete,
                &Config::DISCRETE,
            )
        },
    },
    Preset {
        name: "mnist-discrete-tanh",
        about: "784-500-500-10 tanh on MNIST: the discrete net with its sign units read as tanh \
                (baseline of the discrete row: train with --algo bp, test with \
                `dtp eval --units discrete`), reference discrete settings, 100 epochs",
        defaults: || Hyper {
            epochs: 100,
            ..net(
                DataKind::Mnist,
                &[784, 500, 500, 10],
                100,
                UnitsName::Continuous,
                &Config::DISCRETE,
            )
        },
    },
    Preset {
        name: "mnist-stochastic",
        about: "784-200-200-10 Bernoulli units on MNIST, reference stochastic settings, \
                1000 epochs, test = mean of 100 sampled passes (every 10 epochs and at the end)",
        // The reference code's monitoring: 100-pass test and validation every 10 epochs.
        defaults: || Hyper {
            epochs: 1000,
            init: Init::Uniform,
            eval_passes: 100,
            eval_every: 10,
            ..net(
                DataKind::Mnist,
                &[784, 200, 200, 10],
                100,
                UnitsName::Stochastic,
                &Config::STOCHASTIC,
            )
        },
    },
    Preset {
        name: "mnist-ae",
        about: "784-1000-784 sigmoid denoising auto-encoder on MNIST trained without backprop \
                (hidden target h + f(x) - f(g(h))), linear probe on the codes",
        defaults: || Hyper {
            model: ModelKind::Autoencoder,
            epochs: 100,
            ..net(
                DataKind::Mnist,
                &[784, 1000, 784],
                100,
                UnitsName::Continuous,
                &autoencoder_config(),
            )
        },
    },
    Preset {
        name: "cifar-3x1000",
        about: "3072-1000x3-10 tanh on CIFAR-10 (continuous reference settings; the paper \
                gives none for CIFAR)",
        defaults: || Hyper {
            epochs: 100,
            ..net(
                DataKind::Cifar10,
                &[3072, 1000, 1000, 1000, 10],
                100,
                UnitsName::Continuous,
                &Config::CONTINUOUS,
            )
        },
    },
    Preset {
        name: "mnist-conv",
        about: "1x28x28-c32k3s2p1-c64k3s2p1-1024-10 tanh on MNIST (Bartunov et al. 2018's \
                network: two 3x3 stride-2 convolutions, learned transposed-convolution \
                inverses), 100 epochs",
        defaults: || conv_net(DataKind::Mnist, (1, 28, 28), 100),
    },
    Preset {
        name: "fashion-conv",
        about: "mnist-conv's network and settings on Fashion-MNIST, 100 epochs",
        defaults: || conv_net(DataKind::FashionMnist, (1, 28, 28), 100),
    },
    Preset {
        name: "mnist-lc",
        about: "1x28x28-l32k3s2p1-l64k3s2p1-1024-10 tanh on MNIST (Bartunov et al. 2018's \
                locally connected network: mnist-conv's geometry without weight sharing, \
                learned locally connected transposes as inverses), mnist-conv's settings, 100 \
                epochs",
        defaults: || Hyper {
            layers: bartunov((1, 28, 28), true),
            ..conv_net(DataKind::Mnist, (1, 28, 28), 100)
        },
    },
    Preset {
        name: "cifar-conv",
        about: "3x32x32-c32k3s2p1-c64k3s2p1-1024-10 tanh on CIFAR-10: mnist-conv's network \
                and settings on colour images, 100 epochs",
        defaults: || conv_net(DataKind::Cifar10, (3, 32, 32), 100),
    },
    Preset {
        name: "mnist-5x256-dtp",
        about: "784-256x5-10 tanh on MNIST, DTP with Meulemans et al. 2020's released MNIST \
                settings (final_configs/mnist_DTP.py: Adam, forward lr 6.19e-5 / eta-hat, \
                eta-hat 0.22, feedback lr 1.96e-3, sigma 0.084, Xavier-normal init, batch \
                128), 100 epochs",
        defaults: || meulemans(&MNIST_DTP),
    },
    Preset {
        name: "mnist-5x256-ddtp-linear",
        about: "784-256x5-10 tanh on MNIST, DDTP-linear with Meulemans et al. 2020's released \
                MNIST settings (final_configs/mnist_DDTPlinear.py: Adam, forward lr 2.04e-5 / \
                eta-hat, eta-hat 0.061, feedback lr 1.64e-4, sigma 0.091, 6 feedback \
                pre-training and 1 extra feedback epoch, batch 128), 100 epochs",
        defaults: || meulemans(&MNIST_DDTP_LINEAR),
    },
    Preset {
        name: "mnist-5x256-ddtp-rhl",
        about: "784-256x5-10 tanh on MNIST, DDTP-RHL with Meulemans et al. 2020's released \
                MNIST settings (final_configs/mnist_DDTPRHL.py: Adam, forward lr 2.8e-5 / \
                eta-hat, eta-hat 0.0435, feedback lr 3.02e-4, sigma 0.042, 6 feedback \
                pre-training and 1 extra feedback epoch, batch 128), 100 epochs",
        defaults: || meulemans(&MNIST_DDTP_RHL),
    },
    Preset {
        name: "mnist-5x256-bp",
        about: "784-256x5-10 tanh on MNIST, backprop with Meulemans et al. 2020's released \
                MNIST settings (final_configs/mnist_BP.py: Adam lr 2.97e-4, beta1 0.99, \
                Xavier-normal init, batch 128), 100 epochs",
        defaults: || Hyper {
            algo: crate::kinds::Algo::Bp,
            ..meulemans(&MNIST_BP)
        },
    },
];

/// One of Meulemans et al. 2020's released configurations (`final_configs/*.py` of
/// `meulemansalex/theoretical_framework_for_target_propagation`), the keys dtp reads.
#[derive(Clone, Copy, Debug)]
pub struct Released {
    /// `network_type`, as dtp's feedback rule (backprop's rows: [`Feedback::Dtp`], unused).
    pub feedback: Feedback,
    /// `lr`, before `normalize_lr` divides it by `target_stepsize`.
    pub lr: f32,
    /// `target_stepsize` (η̂).
    pub eta_hat: f32,
    /// `beta1`, `beta2`, `epsilon` of the forward Adam.
    pub adam: [f32; 3],
    /// `lr_fb`.
    pub lr_fb: f32,
    /// `beta1_fb`, `beta2_fb`, `epsilon_fb`, `feedback_wd` of the feedback Adam.
    pub adam_fb: [f32; 4],
    /// `sigma`: DTP's inverse noise, or DDTP's difference reconstruction noise.
    pub sigma: f32,
    /// `epochs_fb` (feedback pre-training epochs) and `extra_fb_epochs`.
    pub passes: (u32, u32),
}

/// `final_configs/mnist_DTP.py`.
pub const MNIST_DTP: Released = Released {
    feedback: Feedback::Dtp,
    lr: 6.185_037e-5,
    eta_hat: 0.219_511_87,
    adam: [0.9, 0.999, 1.017_011_2e-8],
    lr_fb: 1.958_475_6e-3,
    adam_fb: [0.9, 0.999, 7.541_133e-6, 0.0],
    sigma: 0.083_724_54,
    passes: (0, 0),
};

/// `final_configs/mnist_DDTPlinear.py`.
pub const MNIST_DDTP_LINEAR: Released = Released {
    feedback: Feedback::DdtpLinear,
    lr: 2.035_441_5e-5,
    eta_hat: 0.060_969_404,
    adam: [0.9, 0.999, 1.255_238_2e-8],
    lr_fb: 1.637_823_3e-4,
    adam_fb: [0.999, 0.999, 2.838_378_7e-4, 5.836_205e-7],
    sigma: 0.090_752_48,
    passes: (6, 1),
};

/// `final_configs/mnist_DDTPRHL.py`.
pub const MNIST_DDTP_RHL: Released = Released {
    feedback: Feedback::DdtpRhl,
    lr: 2.804_754_3e-5,
    eta_hat: 0.043_515_91,
    adam: [0.9, 0.99, 3.983_53e-8],
    lr_fb: 3.024_461_4e-4,
    adam_fb: [0.9, 0.999, 3.402_566_4e-6, 1.621_280_2e-3],
    sigma: 0.041_623_3,
    passes: (6, 1),
};

/// `final_configs/mnist_BP.py` (`target_stepsize` 1: the rate is used as it is).
pub const MNIST_BP: Released = Released {
    feedback: Feedback::Dtp,
    lr: 2.970_474_7e-4,
    eta_hat: 1.0,
    adam: [0.99, 0.999, 6.927_83e-8],
    lr_fb: 0.0,
    adam_fb: [0.9, 0.999, 1e-8, 0.0],
    sigma: 0.0,
    passes: (0, 0),
};

/// Adam with `lr` and `[β₁, β₂, ε, weight decay]`.
fn adam(lr: f32, [beta1, beta2, eps, weight_decay]: [f32; 4]) -> Optimiser {
    Optimiser {
        lr,
        kind: dtp_core::OptimiserKind::Adam {
            beta1,
            beta2,
            eps,
            weight_decay,
        },
    }
}

/// Meulemans et al. 2020's MNIST network (784-256×5-10 tanh, Xavier-normal weights, batch
/// 128, 100 epochs) with the released configuration `r`. Their `normalize_lr` (set in every
/// released configuration) divides the forward rate by η̂ (`main.py`: `args.lr =
/// args.lr/args.target_stepsize`), so the forward Adam runs at `r.lr / r.eta_hat`; the
/// feedback Adam at `r.lr_fb` with the feedback weight decay. σ is DTP's inverse noise or
/// DDTP's difference reconstruction noise (`drl_sigma`), as the algorithm reads it.
pub fn meulemans(r: &Released) -> Hyper {
    let [b1, b2, eps] = r.adam;
    let [fb1, fb2, feps, fwd] = r.adam_fb;
    let scale = feedback_scale(r, MEULEMANS_WIDTH as f32);
    let c = Config {
        eta_hat: r.eta_hat,
        forward: adam(r.lr / r.eta_hat, [b1, b2, eps, 0.0]),
        inverse: adam(r.lr_fb, [fb1, fb2, feps * scale, fwd * scale]),
        sigma: SigmaSchedule::constant(r.sigma),
        feedback: r.feedback,
        ..Config::CONTINUOUS
    };
    Hyper {
        epochs: 100,
        init: Init::XavierNormal,
        feedback_pretrain: r.passes.0,
        feedback_extra: r.passes.1,
        ..net(
            DataKind::Mnist,
            &[
                784,
                MEULEMANS_WIDTH,
                MEULEMANS_WIDTH,
                MEULEMANS_WIDTH,
                MEULEMANS_WIDTH,
                MEULEMANS_WIDTH,
                10,
            ],
            128,
            UnitsName::Continuous,
            &c,
        )
    }
}

/// Width of every hidden layer of Meulemans et al.'s MNIST nets.
pub const MEULEMANS_WIDTH: usize = 256;

/// How many times dtp's feedback gradient is theirs, for a layer of `width` units: their
/// reconstruction losses are `F.mse_loss`, means over the reconstructed layer's units as well
/// as the batch, DTP's also scaled by `1/σ²` (`dtp_layers.py`, `direct_feedback_layers.py`);
/// dtp's sum over the units, DDTP's with `1/σ²`, DTP's without (Lee et al.'s). So the factor is
/// `width` for DDTP and `width·σ²` for DTP (their DTP uses `1/0.02²` below σ = 0.02). Adam
/// ignores a constant factor `c` of the gradient except through ε and the weight decay;
/// [`meulemans`] scales both by `c`, which gives their updates exactly:
/// `Adam(c·g + c·λθ; c·ε) = Adam(g + λθ; ε)`.
pub fn feedback_scale(r: &Released, width: f32) -> f32 {
    match r.feedback {
        Feedback::Dtp => width * r.sigma.max(0.02).powi(2),
        _ => width,
    }
}

/// Forward learning rate of `fashion-7x240`: best validation error after 15 epochs among
/// 0.0149 (MNIST's; diverges after epoch 5), 0.005 and 0.0015 (RESULTS.md).
pub const FASHION_LR_FORWARD: f32 = 0.005;

/// Backprop's forward learning rate when a preset is trained with `--algo bp` and no rate is
/// given: RMSprop 10⁻³, RESULTS.md's backprop baselines (MNIST, Fashion-MNIST, CIFAR-10).
/// The presets' DTP rates are not backprop's: at 0.0149 backprop on `mnist-7x240` climbs back
/// to chance.
pub const BACKPROP_LR: f32 = 1e-3;

/// The forward optimiser `--algo bp` starts from on a preset whose settings are `h` (the
/// user's `--lr-forward`, `--optimiser`, `--momentum` or `[forward]` keys still win): for a
/// classifier, the preset's RMSprop (ρ, μ, ε) or Adam at [`BACKPROP_LR`] (RMSprop 10⁻³ if the preset
/// uses SGD); for the auto-encoder, the preset's own (its backprop baseline in RESULTS.md was
/// trained with it).
pub fn backprop_forward(h: &Hyper) -> Optimiser {
    match (h.model, h.forward.kind) {
        (ModelKind::Autoencoder, _) => h.forward,
        (_, dtp_core::OptimiserKind::RmsProp { .. } | dtp_core::OptimiserKind::Adam { .. }) => {
            Optimiser {
                lr: BACKPROP_LR,
                ..h.forward
            }
        }
        (_, dtp_core::OptimiserKind::Sgd { .. }) => Optimiser::rmsprop(BACKPROP_LR),
    }
}

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// `"digits, mnist-7x240, …"`.
pub fn names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid() {
        for p in PRESETS {
            let h = (p.defaults)();
            h.to_core().validate().unwrap();
            h.validate_run().unwrap();
            assert!(find(p.name).is_some());
        }
        assert_eq!(PRESETS[0].name, "digits");
        let p = find("digits-firmware").unwrap();
        assert_eq!((p.defaults)().to_core(), firmware_config());
        assert_eq!((p.defaults)().lr_tau, 1.0);
        assert_eq!((p.defaults)().layers.to_string(), "64-32-32-10");
    }

    /// The Meulemans et al. rows carry their algorithm, Adam constants, the forward rate
    /// divided by η̂ (`normalize_lr`), σ where that algorithm reads it, feedback passes and
    /// Xavier-normal weights.
    #[test]
    fn meulemans_rows_carry_their_released_settings() {
        use crate::kinds::Algo;
        let h = (find("mnist-5x256-ddtp-rhl").unwrap().defaults)();
        assert_eq!(h.algo, Algo::DdtpRhl);
        assert_eq!(h.forward.lr, 2.804_754_3e-5 / 0.043_515_91);
        assert!((h.forward.lr - 6.445e-4).abs() < 1e-6);
        assert_eq!(
            h.forward.kind,
            dtp_core::OptimiserKind::Adam {
                beta1: 0.9,
                beta2: 0.99,
                eps: 3.983_53e-8,
                weight_decay: 0.0
            }
        );
        // Their ε and weight decay × 256: their loss is a mean over the 256 units.
        assert_eq!(
            h.inverse,
            adam(
                3.024_461_4e-4,
                [0.9, 0.999, 3.402_566_4e-6 * 256.0, 1.621_280_2e-3 * 256.0]
            )
        );
        assert_eq!((h.eta_hat, h.drl_sigma), (0.043_515_91, 0.041_623_3));
        assert_eq!(
            (h.feedback_pretrain, h.feedback_extra, h.batch, h.init),
            (6, 1, 128, Init::XavierNormal)
        );
        assert_eq!(h.layers.to_string(), "784-256-256-256-256-256-10");
        let h = (find("mnist-5x256-dtp").unwrap().defaults)();
        assert_eq!(
            (h.algo, h.sigma, h.eta_hat),
            (Algo::Dtp, 0.083_724_54, 0.219_511_87)
        );
        assert!((h.forward.lr - 2.818e-4).abs() < 1e-6);
        assert_eq!((h.feedback_pretrain, h.feedback_extra), (0, 0));
        // DTP's factor is 256·σ² (their DTP loss has 1/σ², ours not): ε × 1.794.
        let scale = 256.0 * 0.083_724_54f32 * 0.083_724_54;
        assert!((scale - 1.794).abs() < 1e-3);
        assert_eq!(
            h.inverse,
            adam(1.958_475_6e-3, [0.9, 0.999, 7.541_133e-6 * scale, 0.0])
        );
        let h = (find("mnist-5x256-ddtp-linear").unwrap().defaults)();
        assert_eq!((h.algo, h.drl_sigma), (Algo::DdtpLinear, 0.090_752_48));
        assert!((h.forward.lr - 3.338e-4).abs() < 1e-6);
        let h = (find("mnist-5x256-bp").unwrap().defaults)();
        assert_eq!(h.algo, Algo::Bp);
        assert_eq!(
            h.forward,
            adam(2.970_474_7e-4, [0.99, 0.999, 6.927_83e-8, 0.0])
        );
    }
}
