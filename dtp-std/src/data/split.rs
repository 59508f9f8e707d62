//! Train / validation / test splits.

use super::dataset::Dataset;
use super::error::DataError;

/// Size of the MNIST reference validation set: the last 10,000 images of the
/// 60,000-image training file, leaving 50,000 for training.
pub const MNIST_VALID: usize = 10_000;

/// A dataset divided into training, validation and test parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Samples to train on.
    pub train: Dataset,
    /// Samples for model selection (may be empty).
    pub valid: Dataset,
    /// Held-out samples for the final figure.
    pub test: Dataset,
}

impl Splits {
    /// Takes the LAST `valid` samples of `train` as the validation set (the
    /// MNIST reference split with `valid = MNIST_VALID`) and keeps `test` as is.
    ///
    /// The parts are renamed `"{base}/train"`, `"{base}/valid"`, `"{base}/test"`; training
    /// and validation parts are views of `train`'s store (no copy).
    /// Fails when `valid > train.len()`.
    pub fn from_train_test(
        base: &str,
        train: Dataset,
        mut test: Dataset,
        valid: usize,
    ) -> Result<Splits, DataError> {
        if valid > train.len() {
            return Err(DataError::InvalidSplit(format!(
                "{base}: validation size {valid} exceeds the {} training samples",
                train.len()
            )));
        }
        let (mut tr, mut va) = train.split(train.len() - valid);
        tr.name = format!("{base}/train");
        va.name = format!("{base}/valid");
        test.name = format!("{base}/test");
        Ok(Splits {
            train: tr,
            valid: va,
            test,
        })
    }
}

/// SplitMix64: a tiny, well-known deterministic generator, enough for shuffling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by rejection so there is no modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let r = self.next();
            if r < zone {
                return r % n;
            }
        }
    }
}

impl Dataset {
    /// A seeded, stratified split into `(train, test)`.
    ///
    /// For each class separately, its samples are shuffled with SplitMix64
    /// seeded by `seed` (Fisher–Yates) and `round(count × test_fraction)` of
    /// them go to the test part. Both parts keep the original sample order;
    /// they are views of `self`'s store (no copy of the values).
    /// The same data, fraction and seed always give the same split.
    /// Fails unless `0 ≤ test_fraction ≤ 1`.
    pub fn stratified_split(
        &self,
        test_fraction: f64,
        seed: u64,
    ) -> Result<(Dataset, Dataset), DataError> {
        if !(0.0..=1.0).contains(&test_fraction) {
            return Err(DataError::InvalidSplit(format!(
                "test fraction {test_fraction} is not in [0, 1]"
            )));
        }
        let mut rng = SplitMix64(seed);
        let mut in_test = vec![false; self.len()];
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); 256];
        for (i, label) in self.labels().enumerate() {
            by_class[usize::from(label)].push(i);
        }
        for mut idx in by_class {
            for i in (1..idx.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                idx.swap(i, j);
            }
            let k = (idx.len() as f64 * test_fraction).round() as usize;
            for &i in &idx[..k.min(idx.len())] {
                in_test[i] = true;
            }
        }
        let (test_idx, train_idx): (Vec<usize>, Vec<usize>) =
            (0..self.len()).partition(|&i| in_test[i]);
        Ok((
            self.subset(format!("{}/train", self.name), &train_idx),
            self.subset(format!("{}/test", self.name), &test_idx),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Dataset {
        Dataset::from_f32(
            "ramp",
            1,
            3,
            (0..n).map(|i| i as f32).collect(),
            (0..n).map(|i| (i % 3) as u8).collect(),
        )
    }

    #[test]
    fn train_test_valid_is_last_part() {
        let s = Splits::from_train_test("r", ramp(10), ramp(4), 3).unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (7, 3, 4));
        assert_eq!(s.valid.to_values(), vec![7.0, 8.0, 9.0]);
        assert!(s.train.shares_store(&s.valid));
        assert_eq!(s.valid.name, "r/valid");
        let e = Splits::from_train_test("r", ramp(10), ramp(4), 11).unwrap_err();
        assert!(matches!(e, DataError::InvalidSplit(_)), "{e}");
    }

    #[test]
    fn stratified_is_deterministic_and_stratified() {
        let d = ramp(300);
        let (tr, te) = d.stratified_split(0.2, 7).unwrap();
        assert_eq!(te.class_histogram(), vec![20, 20, 20]);
        assert_eq!(tr.len(), 240);
        let (tr2, te2) = d.stratified_split(0.2, 7).unwrap();
        assert_eq!((tr.clone(), te.clone()), (tr2, te2));
        let (_, te3) = d.stratified_split(0.2, 8).unwrap();
        assert_ne!(te.to_values(), te3.to_values());
        assert!(te.shares_store(&d) && tr.shares_store(&d));
        // Original order is kept.
        assert!(te.to_values().windows(2).all(|w| w[0] < w[1]));
        assert!(d.stratified_split(1.5, 0).is_err());
        assert!(d.stratified_split(f64::NAN, 0).is_err());
    }
}
