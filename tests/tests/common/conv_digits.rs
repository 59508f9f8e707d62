//! The 8×8 digits for the convolutional tests: shuffled minibatches, a measuring pass, and a
//! 10-epoch run of `1x8x8-{first layer}-64-10` (DTP or backprop).

use dtp_core::conv::{ConvNet, ConvTrainer, LayerSpec};
use dtp_core::{Batches, Config, Dyn, Init, OMat, Portable};
use dtp_std::data::{Dataset, digits_split};
use rand_core::Rng;
use rand_pcg::Pcg32;

/// Minibatches of a dataset for a run-time-shaped trainer, reshuffled every epoch.
pub struct Shuffled<'a> {
    /// The samples.
    pub data: &'a Dataset,
    /// The current order.
    pub order: Vec<usize>,
    /// The shuffles' stream.
    pub rng: Pcg32,
}

impl Batches<Dyn, Dyn, Dyn> for Shuffled<'_> {
    fn batches(&self) -> usize {
        self.data.len() / 10
    }
    fn fill(&mut self, index: usize, x: &mut OMat<Dyn, Dyn>, t: &mut OMat<Dyn, Dyn>) {
        if index == 0 {
            for i in (1..self.order.len()).rev() {
                let j = (self.rng.next_u32() as usize) % (i + 1);
                self.order.swap(i, j);
            }
        }
        t.fill(0.0);
        let b = x.ncols();
        for k in 0..b {
            let column = &mut x.as_mut_slice()[k * 64..(k + 1) * 64];
            let label = self.data.sample_into(self.order[index * b + k], column);
            t[(label as usize, k)] = 1.0;
        }
    }
}

/// Accuracy and mean loss of a forward pass over `data` (whole minibatches of 10).
pub fn measure(t: &mut ConvTrainer, data: &Dataset) -> (f32, f32) {
    let mut rng = Pcg32::new(0, 0);
    let (mut correct, mut loss) = (0, 0.0);
    let n = data.len() / 10;
    for k in 0..n {
        let (x, labels) = t.batch_mut();
        labels.fill(0.0);
        for b in 0..10 {
            let label = data.sample_into(k * 10 + b, &mut x.as_mut_slice()[b * 64..(b + 1) * 64]);
            labels[(label as usize, b)] = 1.0;
        }
        let s = t.evaluate(&mut rng).unwrap();
        correct += s.correct;
        loss += s.loss;
    }
    (correct as f32 / (10 * n) as f32, loss / n as f32)
}

/// The digits nets' first layer: a convolution of 8 channels, 3×3, stride 1, padding 1.
pub const CONV8: LayerSpec = LayerSpec::Conv {
    channels: 8,
    kernel: 3,
    stride: 1,
    padding: 1,
};

/// 10 epochs of `1x8x8-{first}-64-10` on the digits (minibatches of 10, orthogonal start from
/// `seed`): `(test accuracy, training loss, whether the first layer moved)`.
pub fn digits_run_of(first: LayerSpec, c: Config, seed: u64, backprop: bool) -> (f32, f32, bool) {
    let (train, test) = digits_split(0.25, 1).unwrap();
    let specs = [first, LayerSpec::Dense(64), LayerSpec::Dense(10)];
    let mut net = ConvNet::new((1, 8, 8), &specs).unwrap();
    let mut rng = Pcg32::new(seed, 0);
    net.initialise(Init::Orthogonal, &mut rng);
    let start = net.forward[0].clone();
    let mut t = ConvTrainer::<Portable>::new(net, 10, c).unwrap();
    if let Some(d) = &mut t.net.direct {
        // DDTP's feedback weights, made by the trainer, drawn after the forward layers.
        d.initialise(Init::Orthogonal, &mut rng);
    }
    let mut batches = Shuffled {
        data: &train,
        order: (0..train.len()).collect(),
        rng: Pcg32::new(seed, 7),
    };
    for _ in 0..10 {
        if backprop {
            t.backprop_epoch(&mut batches, &mut rng).unwrap();
        } else {
            t.train_epoch(&mut batches, &mut rng).unwrap();
        }
    }
    let conv_moved = t.net.forward[0] != start;
    let (accuracy, _) = measure(&mut t, &test);
    let (_, train_loss) = measure(&mut t, &train);
    (accuracy, train_loss, conv_moved)
}
