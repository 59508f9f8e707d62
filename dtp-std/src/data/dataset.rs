//! The in-memory dataset every reader returns.

/// A labelled classification dataset held in memory.
///
/// `x` holds `len() × features` values, row-major with each sample contiguous;
/// pixel data is scaled to `[0, 1]`. `y` holds one label per sample, each
/// `< classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Human-readable name, e.g. `"mnist/train"`.
    pub name: String,
    /// Values per sample (784 for MNIST, 3072 for CIFAR-10, 64 for digits).
    pub features: usize,
    /// Number of classes; every label is below it.
    pub classes: usize,
    /// Sample values, `len() × features`, sample-contiguous.
    pub x: Vec<f32>,
    /// Labels, one per sample.
    pub y: Vec<u8>,
}

impl Dataset {
    /// An empty dataset with the given shape.
    pub fn empty(name: impl Into<String>, features: usize, classes: usize) -> Self {
        Self {
            name: name.into(),
            features,
            classes,
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Sample `i`: its `features` values and its label.
    ///
    /// # Panics
    /// When `i >= len()`, like slice indexing.
    pub fn sample(&self, i: usize) -> (&[f32], u8) {
        let f = self.features;
        (&self.x[i * f..(i + 1) * f], self.y[i])
    }

    /// Iterates over all samples in order.
    pub fn samples(&self) -> impl ExactSizeIterator<Item = (&[f32], u8)> + '_ {
        (0..self.len()).map(|i| self.sample(i))
    }

    /// Number of samples of each class, indexed by label (`classes` entries).
    pub fn class_histogram(&self) -> Vec<usize> {
        let mut h = vec![0usize; self.classes];
        for &label in &self.y {
            if let Some(c) = h.get_mut(usize::from(label)) {
                *c += 1;
            }
        }
        h
    }

    /// Mean and (population) standard deviation over all values of `x`,
    /// accumulated in `f64`. `(0, 0)` for an empty dataset.
    pub fn mean_std(&self) -> (f64, f64) {
        if self.x.is_empty() {
            return (0.0, 0.0);
        }
        let n = self.x.len() as f64;
        let (s, s2) = self.x.iter().fold((0.0f64, 0.0f64), |(s, s2), &v| {
            let v = f64::from(v);
            (s + v, s2 + v * v)
        });
        let mean = s / n;
        (mean, (s2 / n - mean * mean).max(0.0).sqrt())
    }

    /// Splits into the first `n_first` samples and the rest, keeping order.
    /// `n_first` larger than `len()` is clamped. The parts are named
    /// `"{name}[..n]"` and `"{name}[n..]"`.
    pub fn split(&self, n_first: usize) -> (Dataset, Dataset) {
        let n = n_first.min(self.len());
        let cut = n * self.features;
        let part = |suffix: String, x: &[f32], y: &[u8]| Dataset {
            name: format!("{}{suffix}", self.name),
            features: self.features,
            classes: self.classes,
            x: x.to_vec(),
            y: y.to_vec(),
        };
        (
            part(format!("[..{n}]"), &self.x[..cut], &self.y[..n]),
            part(format!("[{n}..]"), &self.x[cut..], &self.y[n..]),
        )
    }

    /// A new dataset made of the samples at `indices`, in that order.
    ///
    /// # Panics
    /// When an index is `>= len()`.
    pub fn subset(&self, name: impl Into<String>, indices: &[usize]) -> Dataset {
        let mut out = Dataset::empty(name, self.features, self.classes);
        out.x.reserve(indices.len() * self.features);
        out.y.reserve(indices.len());
        for &i in indices {
            let (x, y) = self.sample(i);
            out.x.extend_from_slice(x);
            out.y.push(y);
        }
        out
    }

    /// Appends the samples of `other`, which must have the same `features`
    /// (checked by the callers in this module).
    pub(crate) fn append(&mut self, other: Dataset) {
        debug_assert_eq!(self.features, other.features);
        self.x.extend_from_slice(&other.x);
        self.y.extend_from_slice(&other.y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Dataset {
        Dataset {
            name: "toy".into(),
            features: 2,
            classes: 3,
            x: vec![0.0, 0.1, 1.0, 1.1, 2.0, 2.1, 3.0, 3.1],
            y: vec![0, 1, 2, 1],
        }
    }

    #[test]
    fn sample_histogram_split() {
        let d = toy();
        assert_eq!(d.len(), 4);
        assert_eq!(d.sample(2), (&[2.0, 2.1][..], 2));
        assert_eq!(d.class_histogram(), vec![1, 2, 1]);
        let (a, b) = d.split(3);
        assert_eq!((a.len(), b.len()), (3, 1));
        assert_eq!(b.sample(0), (&[3.0, 3.1][..], 1));
        assert_eq!(a.name, "toy[..3]");
        let (a, b) = d.split(99);
        assert_eq!((a.len(), b.len()), (4, 0));
        let s = d.subset("s", &[3, 0]);
        assert_eq!(s.x, vec![3.0, 3.1, 0.0, 0.1]);
        assert_eq!(s.y, vec![1, 0]);
        assert_eq!(d.samples().count(), 4);
    }

    #[test]
    fn mean_std() {
        let d = Dataset {
            x: vec![0.0, 1.0, 0.0, 1.0],
            ..toy()
        };
        let (m, s) = d.mean_std();
        assert!((m - 0.5).abs() < 1e-12 && (s - 0.5).abs() < 1e-12);
        assert_eq!(Dataset::empty("e", 2, 2).mean_std(), (0.0, 0.0));
    }
}
