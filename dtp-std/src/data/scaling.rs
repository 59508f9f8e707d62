//! Feature scaling of CSV input.
//!
//! The fixed-format readers scale pixels to `[0, 1]` themselves (IDX and CIFAR-10 ÷ 255, the
//! embedded digits ÷ 16). A CSV file's features come as written, so a run reading one fits a
//! [`Scaling`] on its training split and applies it to every split; the run records it (in the
//! checkpoint), so `dtp eval` and `--resume` apply the same numbers.
//!
//! - [`ScaleKind::Auto`] (the default) picks one of the next two by [`ScaleKind::choose`]'s
//!   rule: `range` when the features share one scale — the median feature's training range
//!   (over the features that vary) is at least [`AUTO_SHARED`] of the range over all features,
//!   as with pixels — otherwise `standard`.
//! - [`ScaleKind::Range`]: one range, the smallest and largest value of any feature in the
//!   training split, mapped to `[0, 1]`. It keeps the relative intensities of pixel data: the
//!   shipped `dtp-std/data/digits.csv.gz` (values 0–16) becomes exactly the embedded digits
//!   (÷ 16).
//! - [`ScaleKind::Standard`]: each feature's training mean and (population) standard
//!   deviation mapped to 0 and 1, the convention of scikit-learn's `StandardScaler`, for
//!   tabular data whose columns have different units.
//! - [`ScaleKind::FeatureRange`]: each feature's own training-split range mapped to `[0, 1]`.
//! - [`ScaleKind::None`]: the values as written.
//!
//! A feature that is constant in the training split is only shifted.

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;

/// [`ScaleKind::Auto`] picks `range` when the median varying feature's training range is at
/// least this fraction of the range over all features.
pub const AUTO_SHARED: f64 = 0.1;

/// Which scaling to fit on the training split (`dtp train --scale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ScaleKind {
    /// range when the features share one scale (the median feature's range is at least a
    /// tenth of the range over all features, as with pixels), else standard.
    #[default]
    Auto,
    /// One range for all features, [min, max] over the training split, mapped to [0, 1].
    Range,
    /// Each feature's training mean and standard deviation mapped to 0 and 1.
    Standard,
    /// Each feature's own training-split range mapped to [0, 1].
    FeatureRange,
    /// The values as written in the file.
    None,
}

impl ScaleKind {
    /// The flag value (`auto`, `range`, `standard`, `feature-range`, `none`).
    pub fn name(self) -> &'static str {
        match self {
            ScaleKind::Auto => "auto",
            ScaleKind::Range => "range",
            ScaleKind::Standard => "standard",
            ScaleKind::FeatureRange => "feature-range",
            ScaleKind::None => "none",
        }
    }

    /// `self`, with `Auto` resolved on `train` by its rule; the second value says why.
    pub fn choose(self, train: &Dataset) -> (ScaleKind, String) {
        if self != ScaleKind::Auto {
            return (self, "asked for".into());
        }
        let (lo, hi) = feature_ranges(train);
        let overall = f64::from(hi.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            - f64::from(lo.iter().copied().fold(f32::INFINITY, f32::min));
        let mut spans: Vec<f64> = lo
            .iter()
            .zip(&hi)
            .map(|(&a, &b)| f64::from(b) - f64::from(a))
            .filter(|&s| s > 0.0)
            .collect();
        if spans.is_empty() {
            return (ScaleKind::Range, "no feature varies".into());
        }
        spans.sort_by(f64::total_cmp);
        let median = spans[spans.len() / 2];
        let shared = median >= AUTO_SHARED * overall;
        let (kind, verdict) = if shared {
            (ScaleKind::Range, "the features share one scale")
        } else {
            (ScaleKind::Standard, "the features' scales differ")
        };
        let cmp = if shared { ">=" } else { "<" };
        let why = format!(
            "{verdict}: median feature range {} {cmp} 1/10 of the overall range {}",
            short(median),
            short(overall)
        );
        (kind, why)
    }
}

/// A number rounded for messages: whole above 100, else to 3 decimals.
fn short(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

/// Each feature's smallest and largest value in `d` (`[0, 1]` each when `d` is empty).
fn feature_ranges(d: &Dataset) -> (Vec<f32>, Vec<f32>) {
    let f = d.features;
    if d.is_empty() {
        return (vec![0.0; f], vec![1.0; f]);
    }
    let (mut lo, mut hi) = (vec![f32::INFINITY; f], vec![f32::NEG_INFINITY; f]);
    d.for_each_sample(|x, _| {
        for (j, &v) in x.iter().enumerate() {
            lo[j] = lo[j].min(v);
            hi[j] = hi[j].max(v);
        }
    });
    (lo, hi)
}

/// Each feature's mean and population standard deviation in `d`, accumulated in `f64`
/// (`0` and `1` when `d` is empty).
fn feature_moments(d: &Dataset) -> (Vec<f32>, Vec<f32>) {
    let f = d.features;
    if d.is_empty() {
        return (vec![0.0; f], vec![1.0; f]);
    }
    let n = d.len() as f64;
    let mut sum = vec![0.0f64; f];
    d.for_each_sample(|x, _| sum.iter_mut().zip(x).for_each(|(s, &v)| *s += f64::from(v)));
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let mut sq = vec![0.0f64; f];
    d.for_each_sample(|x, _| {
        for ((s, &v), m) in sq.iter_mut().zip(x).zip(&mean) {
            *s += (f64::from(v) - m).powi(2);
        }
    });
    (
        mean.iter().map(|&m| m as f32).collect(),
        sq.iter().map(|s| (s / n).sqrt() as f32).collect(),
    )
}

/// A fitted scaling. Either a range map — feature `j` becomes `(x − min[j]) / (max[j] −
/// min[j])` (or `x − min[j]` when `max[j] = min[j]`) — or a standardisation — `(x − mean[j]) /
/// std[j]` (or `x − mean[j]` when `std[j] = 0`). All vectors empty: no scaling.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Range map: per-feature value mapped to 0.
    pub min: Vec<f32>,
    /// Range map: per-feature value mapped to 1.
    pub max: Vec<f32>,
    /// Standardisation: per-feature training mean (mapped to 0); empty for a range map.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mean: Vec<f32>,
    /// Standardisation: per-feature training standard deviation (mapped to 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub std: Vec<f32>,
}

impl Scaling {
    /// No scaling.
    pub fn none() -> Self {
        Scaling::default()
    }

    /// True when the scaling leaves values unchanged.
    pub fn is_none(&self) -> bool {
        self.min.is_empty() && self.mean.is_empty()
    }

    /// True for a standardisation (mean and standard deviation).
    pub fn is_standard(&self) -> bool {
        !self.mean.is_empty()
    }

    /// Fits `kind` on `train` (`Auto` resolved by [`ScaleKind::choose`]).
    pub fn fit(kind: ScaleKind, train: &Dataset) -> Self {
        let f = train.features;
        match kind.choose(train).0 {
            ScaleKind::None => Scaling::none(),
            ScaleKind::Standard => {
                let (mean, std) = feature_moments(train);
                Scaling {
                    mean,
                    std,
                    ..Scaling::none()
                }
            }
            ScaleKind::FeatureRange => {
                let (min, max) = feature_ranges(train);
                Scaling {
                    min,
                    max,
                    ..Scaling::none()
                }
            }
            ScaleKind::Range | ScaleKind::Auto => {
                let (lo, hi) = feature_ranges(train);
                let a = lo.iter().copied().fold(f32::INFINITY, f32::min);
                let b = hi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                Scaling {
                    min: vec![a; f],
                    max: vec![b; f],
                    ..Scaling::none()
                }
            }
        }
    }

    /// The number of features the scaling was fitted on (0: no scaling).
    pub fn features(&self) -> usize {
        self.min.len().max(self.mean.len())
    }

    /// Applies the scaling to every sample of `d` (which then holds its scaled values in a
    /// new `f32` store; no scaling leaves it as it is). Fails when the scaling was fitted on
    /// a different number of features (the message names the features of both).
    pub fn apply(&self, d: &mut Dataset) -> Result<(), String> {
        if self.is_none() {
            return Ok(());
        }
        let (shift, span) = if self.is_standard() {
            (&self.mean, &self.std)
        } else {
            (&self.min, &self.max)
        };
        if shift.len() != d.features || span.len() != d.features {
            return Err(format!(
                "{} features, but the run's recorded scaling was fitted on {}",
                d.features,
                shift.len()
            ));
        }
        *d = if self.is_standard() {
            d.map_values(|v, j| {
                let (m, s) = (self.mean[j], self.std[j]);
                if s > 0.0 { (v - m) / s } else { v - m }
            })
        } else {
            d.map_values(|v, j| {
                let (a, b) = (self.min[j], self.max[j]);
                let span = b - a;
                if span > 0.0 { (v - a) / span } else { v - a }
            })
        };
        Ok(())
    }

    /// The kind of this fitted scaling (`Range` for one range over all features).
    pub fn kind(&self) -> ScaleKind {
        let same = |v: &[f32]| v.iter().all(|&x| x == v[0]);
        if self.is_none() {
            ScaleKind::None
        } else if self.is_standard() {
            ScaleKind::Standard
        } else if same(&self.min) && same(&self.max) {
            ScaleKind::Range
        } else {
            ScaleKind::FeatureRange
        }
    }

    /// One line for the user: what the scaling does.
    pub fn describe(&self) -> String {
        match self.kind() {
            ScaleKind::None | ScaleKind::Auto => "values as read".into(),
            ScaleKind::Standard => {
                "standard: each feature's training mean and standard deviation -> 0 and 1".into()
            }
            ScaleKind::Range => format!("range: [{}, {}] -> [0, 1]", self.min[0], self.max[0]),
            ScaleKind::FeatureRange => {
                "feature-range: each feature's training range -> [0, 1]".into()
            }
        }
    }
}

/// What `--scale` asked for, what it resolved to and why: recorded with the run's data
/// (`dtp info` shows it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleChoice {
    /// The flag's value (`auto` by default).
    pub asked: ScaleKind,
    /// The scaling fitted.
    pub chosen: ScaleKind,
    /// Why (`auto`'s rule with its figures, or "asked for").
    pub reason: String,
}

impl ScaleChoice {
    /// Resolves `asked` on `train`.
    pub fn new(asked: ScaleKind, train: &Dataset) -> Self {
        let (chosen, reason) = asked.choose(train);
        ScaleChoice {
            asked,
            chosen,
            reason,
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
             (tanh and sigmoid saturate): scale them (dtp train --scale auto)",
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
    fn standardises_per_feature() {
        // Feature 0: mean 2, std 1; feature 1: constant 5 (shifted only).
        let train = d(vec![1.0, 5.0, 3.0, 5.0]);
        let s = Scaling::fit(ScaleKind::Standard, &train);
        assert_eq!(
            (s.mean.clone(), s.std.clone()),
            (vec![2.0, 5.0], vec![1.0, 0.0])
        );
        assert!(s.is_standard() && s.min.is_empty() && s.kind() == ScaleKind::Standard);
        let mut t = d(vec![4.0, 6.0]);
        s.apply(&mut t).unwrap();
        assert_eq!(t.to_values(), vec![2.0, 1.0]);
        let mut three = Dataset::from_f32("t", 3, 2, vec![0.0; 3], vec![0]);
        let e = s.apply(&mut three).unwrap_err();
        assert!(e.contains("3 features") && e.contains("fitted on 2"), "{e}");
        // A record without mean and std (older runs) reads as before; one with them round-trips.
        let json = serde_json::to_string(&Scaling::none()).unwrap();
        assert_eq!(json, r#"{"min":[],"max":[]}"#);
        let back: Scaling = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn auto_picks_range_for_one_scale_and_standard_for_many() {
        // Pixels 0..16 in every feature (one constant feature): range.
        let pixels = Dataset::from_f32("p", 3, 2, vec![0.0, 0.0, 3.0, 16.0, 0.0, 12.0], vec![0; 2]);
        let (k, why) = ScaleKind::Auto.choose(&pixels);
        assert_eq!(k, ScaleKind::Range, "{why}");
        assert!(why.contains("share one scale"), "{why}");
        // Wine-like: a feature in the thousands beside features below 10: standard.
        let wine = Dataset::from_f32(
            "w",
            3,
            2,
            vec![0.3, 2.0, 1065.0, 0.5, 3.0, 300.0, 0.2, 1.5, 1680.0],
            vec![0; 3],
        );
        let (k, why) = ScaleKind::Auto.choose(&wine);
        assert_eq!(k, ScaleKind::Standard, "{why}");
        assert!(why.contains("differ") && why.contains("1680"), "{why}");
        assert!(Scaling::fit(ScaleKind::Auto, &wine).is_standard());
        assert_eq!(
            Scaling::fit(ScaleKind::Auto, &pixels).kind(),
            ScaleKind::Range
        );
        // Equal spans but far-apart offsets (years beside counts): one range would squash them.
        let offsets = Dataset::from_f32("o", 2, 2, vec![1990.0, 0.0, 2020.0, 30.0], vec![0; 2]);
        assert_eq!(ScaleKind::Auto.choose(&offsets).0, ScaleKind::Standard);
        // An explicit kind is kept.
        assert_eq!(ScaleKind::Range.choose(&wine).0, ScaleKind::Range);
    }

    #[test]
    fn warns_far_outside() {
        assert!(range_warning(&d(vec![0.0, 1.0])).is_none());
        let w = range_warning(&d(vec![0.0, 16.0])).unwrap();
        assert!(w.contains("[0, 16]") && w.contains("--scale"), "{w}");
    }
}
