//! The generators of the demos and the order of their training stream.
//!
//! Every demo draws from a `Pcg32` of the build's seed on [`TRAINER_STREAM`] (initial weights,
//! the inverses' noise, Bernoulli samples), and orders its training samples from another
//! `Pcg32` of the same seed on [`ORDER_STREAM`], so the order does not draw from the
//! trainer's generator: the samples `0..TRAIN` are [`shuffle`]d once at the start and afresh
//! at the start of every epoch.

use rand_core::Rng;

/// The `Pcg32` stream (increment) of the trainer's generator.
pub const TRAINER_STREAM: u64 = 0x0a02_bdbf_7bb3_c0a7;
/// The `Pcg32` stream (increment) of the training order.
pub const ORDER_STREAM: u64 = 0x5851_f42d_4c95_7f2d;
/// The seed of the held-out evaluation's generator (on [`TRAINER_STREAM`]), fresh for every
/// evaluation, so the same weights always score the same.
pub const EVAL_SEED: u64 = 0x5eed;

/// Fisher–Yates over `order`: for `i` from the last down to 1, swap entry `i` with a uniform
/// entry of `0..=i` (`⌊r·(i+1)/2³²⌋` of a 32-bit draw `r`: bias below `len/2³²`). A
/// permutation stays one, whatever the generator gives; no panic path. (An array: its length
/// known at compile time, the loop compiles as the firmware's did when it was written there.)
pub fn shuffle<const N: usize, R: Rng + ?Sized>(order: &mut [u16; N], rng: &mut R) {
    for i in (1..order.len()).rev() {
        let r = u64::from(rng.next_u32());
        let j = ((r * (i as u64 + 1)) >> 32) as usize;
        if j <= i {
            // `j <= i < len`: the bounds are known here, so `swap` cannot panic.
            order.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shuffle_is_a_permutation() {
        let mut rng = rand_pcg::Pcg32::new(1, ORDER_STREAM);
        let mut order: [u16; 100] = core::array::from_fn(|j| j as u16);
        shuffle(&mut order, &mut rng);
        let mut sorted = order;
        sorted.sort_unstable();
        assert!(sorted.iter().enumerate().all(|(j, &o)| usize::from(o) == j));
        assert_ne!(sorted, order);
    }
}
