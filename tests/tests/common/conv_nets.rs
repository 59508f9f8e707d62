//! The small convolutional net the conv tests train (`tests/tests/conv.rs`) and check against
//! PyTorch (`tests/tests/conv_parity.rs`): `1x6x6-c3k3s1p1-c4k3s2p1-12-5`, two tanh
//! convolutions (6×6 → 6×6×3 → 3×3×4), a dense layer of 12, 5 outputs; with the helpers the
//! convolutional tests share (random data, finite differences, closeness).

use dtp_core::conv::LayerSpec;
use dtp_core::conv::{ConvNet, ConvShape, ConvTrainer, DMat, Kind, Layer};
use dtp_core::{
    Activation, Batches, Config, Dyn, DynTrainer, Init, LrDecay, OMat, Optimiser, Portable,
    Schedule, SigmaSchedule, Units,
};
use rand_core::Rng;
use rand_pcg::Pcg32;

/// Geometries the product tests cover: odd and even kernels, strides 1–3, padding 0–2,
/// non-square images, several channels.
pub const SHAPES: [ConvShape; 4] = [
    ConvShape {
        channels_in: 2,
        height: 5,
        width: 6,
        channels_out: 3,
        kernel: 3,
        stride: 2,
        padding: 1,
    },
    ConvShape {
        channels_in: 1,
        height: 7,
        width: 7,
        channels_out: 4,
        kernel: 3,
        stride: 1,
        padding: 0,
    },
    ConvShape {
        channels_in: 3,
        height: 4,
        width: 5,
        channels_out: 2,
        kernel: 2,
        stride: 3,
        padding: 2,
    },
    ConvShape {
        channels_in: 2,
        height: 6,
        width: 4,
        channels_out: 2,
        kernel: 1,
        stride: 1,
        padding: 0,
    },
];

/// Its input geometry `(C, H, W)`.
pub const SMALL_IMAGE: (usize, usize, usize) = (1, 6, 6);

/// Its layers.
pub const SMALL: [LayerSpec; 4] = [
    LayerSpec::Conv {
        channels: 3,
        kernel: 3,
        stride: 1,
        padding: 1,
    },
    LayerSpec::Conv {
        channels: 4,
        kernel: 3,
        stride: 2,
        padding: 1,
    },
    LayerSpec::Dense(12),
    LayerSpec::Dense(5),
];

/// [`SMALL`] with locally connected layers for its convolutions (the same geometry, no weight
/// sharing): `1x6x6-l3k3s1p1-l4k3s2p1-12-5`, so `g_2` is a locally connected transpose.
pub const SMALL_LOCAL: [LayerSpec; 4] = [
    LayerSpec::Local {
        channels: 3,
        kernel: 3,
        stride: 1,
        padding: 1,
    },
    LayerSpec::Local {
        channels: 4,
        kernel: 3,
        stride: 2,
        padding: 1,
    },
    LayerSpec::Dense(12),
    LayerSpec::Dense(5),
];

/// The small nets the generic tests run on: [`SMALL`] (convolutions) and [`SMALL_LOCAL`]
/// (locally connected layers).
pub const SMALL_NETS: [&[LayerSpec; 4]; 2] = [&SMALL, &SMALL_LOCAL];

/// A `rows × cols` matrix uniform in ±1.
pub fn random(rows: usize, cols: usize, rng: &mut Pcg32) -> DMat {
    DMat::from_fn_generic(Dyn(rows), Dyn(cols), |_, _| {
        (rng.next_u32() >> 8) as f32 / 16_777_216.0 * 2.0 - 1.0
    })
}

/// Fills `values` uniformly in ±`scale`.
pub fn fill_random(values: &mut [f32], scale: f32, rng: &mut Pcg32) {
    for v in values {
        *v = scale * ((rng.next_u32() >> 8) as f32 / 16_777_216.0 * 2.0 - 1.0);
    }
}

/// Element by element, `|got − want| ≤ tol (1 + |want|)`.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (n, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {n}: {g} vs {w}"
        );
    }
}

/// `transpose` is the adjoint of `forward` (linear maps of geometry `s`, no bias): on random
/// `x`, `y` (batch 2), `⟨f(x), y⟩ = ⟨x, fᵀ(y)⟩`, and each layer's `input_gradient` is the
/// other's product.
#[track_caller]
pub fn assert_adjoint(s: &ConvShape, forward: &Layer, transpose: &Layer, rng: &mut Pcg32) {
    let (x, y) = (random(s.inputs(), 2, rng), random(s.outputs(), 2, rng));
    let (mut fx, mut ty) = (DMat::zeros(0, 0), DMat::zeros(0, 0));
    forward.forward::<Portable>(Activation::Linear, &x, &mut fx);
    transpose.forward::<Portable>(Activation::Linear, &y, &mut ty);
    let dot = |a: &DMat, b: &DMat| -> f64 {
        let products = a.iter().zip(b.iter());
        products.map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
    };
    let (left, right) = (dot(&fx, &y), dot(&x, &ty));
    assert!(
        (left - right).abs() < 1e-4 * (1.0 + left.abs()),
        "{s:?}: {left} vs {right}"
    );
    let mut dx = DMat::zeros(0, 0);
    forward.input_gradient::<Portable>(&y, &mut dx);
    let what = format!("input gradient {s:?}");
    assert_close(&what, dx.as_slice(), ty.as_slice(), 1e-5);
    let mut dy = DMat::zeros(0, 0);
    transpose.input_gradient::<Portable>(&x, &mut dy);
    let what = format!("transpose input gradient {s:?}");
    assert_close(&what, dy.as_slice(), fx.as_slice(), 1e-5);
}

/// Fourth-order central differences of `f` in every element of `values`.
pub fn numeric(values: &mut [f32], f: &mut dyn FnMut(&[f32]) -> f64) -> Vec<f32> {
    let eps = 1e-2f32;
    (0..values.len())
        .map(|i| {
            let v = values[i];
            let mut at = |d: f32| {
                values[i] = v + d;
                f(values)
            };
            let (p1, m1, p2, m2) = (at(eps), at(-eps), at(2.0 * eps), at(-2.0 * eps));
            values[i] = v;
            ((m2 - 8.0 * m1 + 8.0 * p1 - p2) / (12.0 * f64::from(eps))) as f32
        })
        .collect()
}

/// [`close_to`] at 2·10⁻³.
#[track_caller]
pub fn close(what: &str, analytic: &[f32], numeric: &[f32]) {
    close_to(what, analytic, numeric, 2e-3);
}

/// The relative error of `analytic` against `numeric` (in the 2-norm) is below `tol`.
#[track_caller]
pub fn close_to(what: &str, analytic: &[f32], numeric: &[f32], tol: f32) {
    let norm: f32 = numeric.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(norm > 1e-4, "{what}: gradient too small to test ({norm})");
    let num: f32 = analytic
        .iter()
        .zip(numeric)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    let e = num.sqrt() / norm;
    assert!(e < tol, "{what}: relative error {e:e}");
}

/// Conv, conv, dense hidden layers: `1×6×6 - c3k3s1p1 - c4k3s2p1 - 12 - 5` (M = 4), so there
/// are a transposed-convolution inverse (g_2) and a dense one (g_3).
pub fn small_net(seed: u64) -> (ConvNet, Pcg32) {
    small_net_of(&SMALL, seed)
}

/// A net of `specs` on [`SMALL_IMAGE`], orthogonal start from `Pcg32::new(seed, 2)`.
pub fn small_net_of(specs: &[LayerSpec], seed: u64) -> (ConvNet, Pcg32) {
    let mut net = ConvNet::new(SMALL_IMAGE, specs).unwrap();
    let mut rng = Pcg32::new(seed, 2);
    net.initialise(Init::Orthogonal, &mut rng);
    (net, rng)
}

/// [`small_net`] in a trainer of `config` on a minibatch of 3 random samples.
pub fn small_trainer(seed: u64, config: Config) -> (ConvTrainer, Pcg32) {
    small_trainer_of(&SMALL, seed, config)
}

/// [`small_trainer`] of the net `specs` (one of [`SMALL_NETS`]).
pub fn small_trainer_of(specs: &[LayerSpec], seed: u64, config: Config) -> (ConvTrainer, Pcg32) {
    let (net, mut rng) = small_net_of(specs, seed);
    if matches!(specs[1], LayerSpec::Local { .. }) {
        assert!(matches!(net.forward[1].kind, Kind::Local(_)));
        assert!(matches!(net.inverse[0].kind, Kind::LocalTranspose(_)));
    } else {
        assert!(matches!(net.forward[1].kind, Kind::Conv(_)));
        assert!(matches!(net.inverse[0].kind, Kind::ConvTranspose(_)));
    }
    assert!(matches!(net.inverse[1].kind, Kind::Dense));
    let mut t = ConvTrainer::new(net, 3, config).unwrap();
    let (x, labels) = t.batch_mut();
    fill_random(x.as_mut_slice(), 1.0, &mut rng);
    labels.fill(0.0);
    for b in 0..3 {
        labels[((2 * b + 1) % 5, b)] = 1.0;
    }
    (t, rng)
}

/// DTP with RMSprop, η̂ = 0.5, σ = 0.3, alternating schedule, no input noise.
pub fn config() -> Config {
    Config {
        units: Units::CONTINUOUS,
        eta_hat: 0.5,
        forward: Optimiser::rmsprop(1e-3),
        inverse: Optimiser::rmsprop(1e-3),
        sigma: SigmaSchedule::constant(0.3),
        input_noise: 0.0,
        schedule: Schedule::Alternating,
        lr_decay: LrDecay::NONE,
        feedback: dtp_core::Feedback::Dtp,
        frozen: dtp_core::LayerSet::NONE,
    }
}

/// Minibatches of 12 random samples for [`small_net`] (`1×6×6` inputs, 5 classes), the same
/// every epoch.
pub struct Random {
    x: Vec<f32>,
    labels: Vec<usize>,
}

impl Random {
    /// `batches` minibatches drawn from `rng`.
    pub fn new(batches: usize, rng: &mut Pcg32) -> Self {
        let n = batches * 12;
        let mut x = vec![0.0; n * 36];
        fill_random(&mut x, 1.0, rng);
        let labels = (0..n).map(|_| rng.next_u32() as usize % 5).collect();
        Random { x, labels }
    }
}

impl Batches<Dyn, Dyn, Dyn> for Random {
    fn batches(&self) -> usize {
        self.labels.len() / 12
    }
    fn fill(&mut self, index: usize, x: &mut OMat<Dyn, Dyn>, t: &mut OMat<Dyn, Dyn>) {
        t.fill(0.0);
        for k in 0..12 {
            let i = index * 12 + k;
            x.column_mut(k)
                .copy_from_slice(&self.x[i * 36..(i + 1) * 36]);
            t[(self.labels[i], k)] = 1.0;
        }
    }
}

/// Widths of [`one_by_one_twin`]'s dense network.
pub const TWIN_WIDTHS: [usize; 5] = [64, 32, 24, 16, 10];

/// The dense trainer of [`TWIN_WIDTHS`] on minibatches of 4, initialised (orthogonal) with
/// `config` from `rng`, and its twin of 1×1 convolutions, `64x1x1-c32k1-c24k1-c16k1-10`, with
/// the same forward weights (its inverses and feedback weights are the caller's to set).
pub fn one_by_one_twin(config: Config, rng: &mut Pcg32) -> (DynTrainer<Portable>, ConvNet) {
    let mut dense = DynTrainer::<Portable>::with_widths(&TWIN_WIDTHS, 4).unwrap();
    dense.init(config, Init::Orthogonal, rng).unwrap();
    let conv1 = |channels| LayerSpec::Conv {
        channels,
        kernel: 1,
        stride: 1,
        padding: 0,
    };
    let specs = [conv1(32), conv1(24), conv1(16), LayerSpec::Dense(10)];
    let mut net = ConvNet::new((64, 1, 1), &specs).unwrap();
    net.forward[0].params = dense.net.first.clone();
    net.forward[1].params = dense.net.hidden[0].clone();
    net.forward[2].params = dense.net.hidden[1].clone();
    net.forward[3].params = dense.net.output.clone();
    (dense, net)
}

/// Every tensor of a conv trainer, as bits, in the visitor's order.
pub fn bits(t: &ConvTrainer) -> Vec<u32> {
    let mut v = Vec::new();
    dtp_core::Tensors::visit(t, &mut |_, _, values| {
        v.extend(values.iter().map(|x| x.to_bits()))
    });
    v
}
