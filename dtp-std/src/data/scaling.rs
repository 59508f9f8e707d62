//! Feature scaling of CSV input.
//!
//! The fixed-format readers scale pixels to `[0, 1]` themselves (IDX and CIFAR-10 ÷ 255, the
//! embedded digits ÷ 16). A CSV file's features come as written, so a run reading one fits a
//! [`Scaling`] on its training split and applies it to every split; the run records it (in the
//! checkpoint), so `dtp eval` and `--resume` apply the same numbers.
//!
//! - [`ScaleKind::Range`] (the default): one range, the smallest and largest value of any
//!   feature in the training split, mapped to `[0, 1]`. It keeps the relative intensities of
//!   pixel data: the shipped `dtp-std/data/digits.csv.gz` (values 0–16) becomes exactly the
//!   embedded digits (÷ 16).
//! - [`ScaleKind::FeatureRange`]: each feature's own training-split range mapped to `[0, 1]`
//!   (for tabular data whose columns have different units).
//! - [`ScaleKind::None`]: the values as written.
//!
//! A feature whose range is empty (constant in the training split) is only shifted.

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;

/// Which scaling to fit on the training split (`dtp train --scale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ScaleKind {
    /// One range for all features, [min, max] over the training split, mapped to [0, 1].
    #[default]
    Range,
    /// Each feature's own training-split range mapped to [0, 1].
    FeatureRange,
    /// The values as written in the file.
    None,
}

/// A fitted scaling: feature `j` becomes `(x − min[j]) / (max[j] − min[j])` (or `x − min[j]`
/// when `max[j] = min[j]`). Empty vectors: no scaling.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Per-feature value mapped to 0.
    pub min: Vec<f32>,
    /// Per-feature value mapped to 1.
    pub max: Vec<f32>,
}

impl Scaling {
    /// No scaling.
    pub fn none() -> Self {
        Scaling::default()
    }

    /// True when the scaling leaves values unchanged.
    pub fn is_none(&self) -> bool {
        self.min.is_empty()
    }

    /// Fits `kind` on `train`.
    pub fn fit(kind: ScaleKind, train: &Dataset) -> Self {
        let f = train.features;
        let (mut lo, mut hi) = (vec![f32::INFINITY; f], vec![f32::NEG_INFINITY; f]);
        train.for_each_sample(|x, _| {
            for (j, &v) in x.iter().enumerate() {
                lo[j] = lo[j].min(v);
                hi[j] = hi[j].max(v);
            }
        });
        if train.is_empty() {
            (lo, hi) = (vec![0.0; f], vec![1.0; f]);
        }
        match kind {
            ScaleKind::None => Scaling::none(),
            ScaleKind::FeatureRange => Scaling { min: lo, max: hi },
            ScaleKind::Range => {
                let a = lo.iter().copied().fold(f32::INFINITY, f32::min);
                let b = hi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                Scaling {
                    min: vec![a; f],
                    max: vec![b; f],
                }
            }
        }
    }

    /// Applies the scaling to every sample of `d` (which then holds its scaled values in a
    /// new `f32` store; no scaling leaves it as it is). Fails when the scaling was fitted on
    /// a different number of features.
    pub fn apply(&self, d: &mut Dataset) -> Result<(), String> {
        if self.is_none() {
            return Ok(());
        }
        if self.min.len() != d.features || self.max.len() != d.features {
            return Err(format!(
                "{}: {} features, the recorded scaling has {}",
                d.name,
                d.features,
                self.min.len()
            ));
        }
        *d = d.map_values(|v, j| {
            let (a, b) = (self.min[j], self.max[j]);
            let span = b - a;
            if span > 0.0 { (v - a) / span } else { v - a }
        });
        Ok(())
    }

    /// One line for the user: what the scaling does.
    pub fn describe(&self) -> String {
        if self.is_none() {
            return "values as read".into();
        }
        let same = |v: &[f32]| v.iter().all(|&x| x == v[0]);
        if same(&self.min) && same(&self.max) {
            format!("[{}, {}] -> [0, 1]", self.min[0], self.max[0])
        } else {
            "each feature's training range -> [0, 1]".into()
        }
    }
}

/// Inputs this far outside `[0, 1]` saturate tanh and sigmoid units; [`range_warning`] reports
/// them.
pub const FAR_OUTSIDE: f32 = 4.0;

/// A warning when any input of `d` lies below `−FAR_OUTSIDE` or above `1 + FAR_OUTSIDE`
/// (the units expect inputs of order 1; pixel data is read as `[0, 1]`), naming the range.
pub fn range_warning(d: &Dataset) -> Option<String> {
    let (lo, hi) = d.value_range();
    (lo < -FAR_OUTSIDE || hi > 1.0 + FAR_OUTSIDE).then(|| {
        format!(
            "{}: inputs range over [{lo}, {hi}], far outside the [0, 1] the units expect \
             (tanh and sigmoid saturate): scale them (dtp train --scale range)",
            d.name
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: Vec<f32>) -> Dataset {
        let n = x.len() / 2;
        Dataset::from_f32("t", 2, 2, x, vec![0; n])
    }

    #[test]
    fn fits_and_applies() {
        let train = d(vec![0.0, 10.0, 16.0, 12.0]);
        let mut t = d(vec![8.0, 11.0]);
        let s = Scaling::fit(ScaleKind::Range, &train);
        assert_eq!(
            (s.min.clone(), s.max.clone()),
            (vec![0.0; 2], vec![16.0; 2])
        );
        s.apply(&mut t).unwrap();
        assert_eq!(t.to_values(), vec![0.5, 11.0 / 16.0]);
        let s = Scaling::fit(ScaleKind::FeatureRange, &train);
        let mut t = d(vec![8.0, 11.0]);
        s.apply(&mut t).unwrap();
        assert_eq!(t.to_values(), vec![0.5, 0.5]);
        let s = Scaling::fit(ScaleKind::None, &train);
        assert!(s.is_none());
        let mut t = d(vec![8.0, 11.0]);
        s.apply(&mut t).unwrap();
        assert_eq!(t.to_values(), vec![8.0, 11.0]);
        // A constant feature is shifted only.
        let s = Scaling::fit(ScaleKind::FeatureRange, &d(vec![3.0, 1.0, 3.0, 2.0]));
        let mut t = d(vec![4.0, 2.0]);
        s.apply(&mut t).unwrap();
        assert_eq!(t.to_values(), vec![1.0, 1.0]);
        let mut three = Dataset::from_f32("t", 3, 2, vec![0.0; 3], vec![0]);
        assert!(s.apply(&mut three).is_err());
    }

    #[test]
    fn warns_far_outside() {
        assert!(range_warning(&d(vec![0.0, 1.0])).is_none());
        let w = range_warning(&d(vec![0.0, 16.0])).unwrap();
        assert!(w.contains("[0, 16]") && w.contains("--scale"), "{w}");
    }
}
