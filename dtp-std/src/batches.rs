//! Minibatches from an in-memory [`Dataset`]: a seeded shuffle per epoch for training, and
//! padded batches that cover every sample for evaluation.
//!
//! Training drops the last partial batch (`len % B` samples, a different subset each epoch
//! since the order is reshuffled), as the reference code does; evaluation covers every
//! sample, padding the last batch by repeating its last sample and ignoring the padding.

use dtp_core::{BatchColumns, Batches, OMat};
use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim};
use rand_core::Rng;

use crate::data::Dataset;

/// Uniform in `0..n` (`n > 0`) by rejection, so there is no modulo bias.
pub fn below<G: Rng + ?Sized>(rng: &mut G, n: u64) -> u64 {
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let r = rng.next_u64();
        if r < zone {
            return r % n;
        }
    }
}

/// One epoch's minibatches: the samples of `data` in an order shuffled (Fisher–Yates) from
/// the identity with the given generator, `B` at a time.
///
/// The order depends only on the generator's state, so a run resumed with the generator
/// state from its checkpoint sees exactly the batches of an uninterrupted one.
pub struct EpochBatches<'a> {
    shuffled: Shuffled<'a>,
    on_batch: &'a mut dyn FnMut(),
}

/// The dataset in this epoch's order, `batch` samples a minibatch: what any thread needs to
/// write a minibatch's columns ([`BatchColumns`]).
struct Shuffled<'a> {
    data: &'a Dataset,
    order: Vec<u32>,
    batch: usize,
}

impl BatchColumns for Shuffled<'_> {
    fn fill_columns(&self, index: usize, first: usize, x: &mut [f32], t: &mut [f32]) {
        let f = self.data.features;
        let n = x.len() / f.max(1);
        assert_eq!(x.len(), n * f, "input columns ≠ a whole number of samples");
        let outputs = t.len() / n.max(1);
        let rows = &self.order[index * self.batch + first..][..n];
        for (col, &i) in rows.iter().enumerate() {
            let label = self
                .data
                .sample_into(i as usize, &mut x[col * f..(col + 1) * f]);
            let onehot = &mut t[col * outputs..(col + 1) * outputs];
            onehot.fill(0.0);
            onehot[usize::from(label)] = 1.0;
        }
    }
}

impl<'a> EpochBatches<'a> {
    /// Shuffles `data`'s indices with `rng` for minibatches of `batch`; `on_batch` is called
    /// each time a batch is handed to the trainer (twice per batch with the alternating
    /// schedule).
    pub fn new<G: Rng + ?Sized>(
        data: &'a Dataset,
        batch: usize,
        rng: &mut G,
        on_batch: &'a mut dyn FnMut(),
    ) -> Self {
        let mut order: Vec<u32> = (0..data.len() as u32).collect();
        for i in (1..order.len()).rev() {
            let j = below(rng, i as u64 + 1) as usize;
            order.swap(i, j);
        }
        EpochBatches {
            shuffled: Shuffled { data, order, batch },
            on_batch,
        }
    }

    /// The dataset.
    pub fn data(&self) -> &Dataset {
        self.shuffled.data
    }

    /// The sample order of this epoch.
    pub fn order(&self) -> &[u32] {
        &self.shuffled.order
    }
}

/// Writes sample `i` of `data` into column `col` of `x` (converting 8-bit pixels there:
/// the dataset holds no `f32` copy of them) and its one-hot label into `t`.
pub fn put_sample<I: Dim, O: Dim, B: Dim>(
    data: &Dataset,
    i: usize,
    col: usize,
    x: &mut OMat<I, B>,
    t: &mut OMat<O, B>,
) where
    DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
{
    let (inputs, outputs) = (x.nrows(), t.nrows());
    let column = &mut x.as_mut_slice()[col * inputs..(col + 1) * inputs];
    assert_eq!(column.len(), data.features, "input width ≠ features");
    let label = data.sample_into(i, column);
    let onehot = &mut t.as_mut_slice()[col * outputs..(col + 1) * outputs];
    onehot.fill(0.0);
    onehot[usize::from(label)] = 1.0;
}

impl EpochBatches<'_> {
    /// Number of whole minibatches of `batch` samples in the epoch.
    pub fn count(&self, batch: usize) -> usize {
        self.shuffled.order.len() / batch
    }
}

impl<I: Dim, O: Dim, B: Dim> Batches<I, O, B> for EpochBatches<'_>
where
    DefaultAllocator: Allocator<I, B> + Allocator<O, B>,
{
    /// Whole minibatches of the batch size given to [`EpochBatches::new`] (which must be the
    /// trainer's).
    fn batches(&self) -> usize {
        self.shuffled.order.len() / self.shuffled.batch.max(1)
    }

    fn fill(&mut self, index: usize, x: &mut OMat<I, B>, t: &mut OMat<O, B>) {
        let b = x.ncols();
        let rows = &self.shuffled.order[index * b..(index + 1) * b];
        for (col, &i) in rows.iter().enumerate() {
            put_sample(self.shuffled.data, i as usize, col, x, t);
        }
        (self.on_batch)();
    }

    /// This epoch's order (a chunk of a minibatch is filled by the thread that trains it).
    fn columns(&self) -> Option<&dyn BatchColumns> {
        Some(&self.shuffled)
    }

    fn filled_elsewhere(&mut self, _index: usize) {
        (self.on_batch)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_pcg::Pcg64;

    fn ramp(n: usize) -> Dataset {
        Dataset::from_f32(
            "ramp",
            2,
            3,
            (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect(),
            (0..n).map(|i| (i % 3) as u8).collect(),
        )
    }

    #[test]
    fn shuffles_a_permutation_and_drops_the_partial_batch() {
        let d = ramp(10);
        let mut ticks = 0;
        let mut tick = || ticks += 1;
        let mut rng = Pcg64::new(1, 2);
        let mut b = EpochBatches::new(&d, 4, &mut rng, &mut tick);
        let mut sorted = b.order().to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(b.order(), &sorted[..]);
        assert_eq!(b.count(4), 2);
        let (mut x, mut t) = (
            dtp_core::Mat::<2, 4>::zeros(),
            dtp_core::Mat::<3, 4>::zeros(),
        );
        b.fill(1, &mut x, &mut t);
        for col in 0..4 {
            let i = b.order()[4 + col] as usize;
            assert_eq!(x[(0, col)], i as f32);
            assert_eq!(x[(1, col)], -(i as f32));
            assert_eq!(t[(i % 3, col)], 1.0);
            assert_eq!(t.column(col).sum(), 1.0);
        }
        drop(b);
        assert_eq!(ticks, 1);
        // Same generator state, same order.
        let mut noop = || {};
        let o1 = EpochBatches::new(&d, 4, &mut Pcg64::new(1, 2), &mut noop)
            .order()
            .to_vec();
        let mut noop = || {};
        let o2 = EpochBatches::new(&d, 4, &mut Pcg64::new(1, 2), &mut noop)
            .order()
            .to_vec();
        assert_eq!(o1, o2);
    }
}
