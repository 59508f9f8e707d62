//! The held-out split: sample `i` is held out for evaluation iff `i % 5 == 4` (359 held out),
//! the other 1,438 form the training stream, numbered in order.

use crate::format::LEN;

/// Whether sample `i` belongs to the held-out part.
pub const fn held_out(i: usize) -> bool {
    i % 5 == 4
}

/// Number of held-out samples.
pub const HELD_OUT: usize = LEN / 5;
/// Number of training samples.
pub const TRAIN: usize = LEN - HELD_OUT;

/// Index of the `j`-th held-out sample.
pub const fn held_out_index(j: usize) -> usize {
    5 * j + 4
}

/// Index of the `j`-th training sample.
pub const fn train_index(j: usize) -> usize {
    j / 4 * 5 + j % 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_parts_number_every_sample_once() {
        let mut seen = [0u8; LEN];
        for j in 0..HELD_OUT {
            assert!(held_out(held_out_index(j)));
            seen[held_out_index(j)] += 1;
        }
        for j in 0..TRAIN {
            assert!(!held_out(train_index(j)));
            seen[train_index(j)] += 1;
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert_eq!((HELD_OUT, TRAIN), (359, 1438));
    }
}
