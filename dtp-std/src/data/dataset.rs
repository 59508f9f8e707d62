//! The in-memory dataset every reader returns: a view of samples of a shared store.
//!
//! A store holds one file's samples once: 8-bit pixels as the bytes read (converted to `f32`
//! a sample at a time, when a minibatch is filled), other values (CSV features, scaled data)
//! as `f32`. Splits, subsets and clones are views — a range or a list of sample indices into
//! the same store — so the training, validation and test parts of a dataset cost no copy.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The values of a store, `samples × features`, sample-contiguous.
#[derive(Debug, PartialEq)]
enum Values {
    /// Bytes; value = `f32::from(byte) / divisor` (the division the readers always did, so
    /// every value is bit for bit the one an `f32` store of the same data would hold).
    U8 { bytes: Vec<u8>, divisor: f32 },
    /// Values as they are.
    F32(Vec<f32>),
}

/// One file's samples and labels, shared by every view of it.
#[derive(Debug, PartialEq)]
struct Store {
    values: Values,
    labels: Vec<u8>,
}

/// Which samples of the store a view holds, in order.
#[derive(Clone, Debug)]
enum Rows {
    /// Store samples `start..end`.
    Range(Range<usize>),
    /// Store samples at these indices.
    Picked(Arc<[u32]>),
}

/// A labelled classification dataset held in memory.
///
/// `len()` samples of `features` values each, every label `< classes`; pixel data is scaled
/// to `[0, 1]`. The values live in a store shared with the dataset's splits, subsets and
/// clones (which copy nothing); 8-bit pixels stay bytes until a sample is read
/// ([`sample_into`](Self::sample_into) converts it).
#[derive(Clone)]
pub struct Dataset {
    /// Human-readable name, e.g. `"mnist/train"`.
    pub name: String,
    /// Values per sample (784 for MNIST, 3072 for CIFAR-10, 64 for digits).
    pub features: usize,
    /// Number of classes; every label is below it.
    pub classes: usize,
    store: Arc<Store>,
    rows: Rows,
}

impl Dataset {
    fn from_store(name: String, features: usize, classes: usize, store: Store) -> Self {
        let n = store.labels.len();
        Self {
            name,
            features,
            classes,
            store: Arc::new(store),
            rows: Rows::Range(0..n),
        }
    }

    /// A dataset of `y.len()` samples whose values are `x` (`y.len() × features`,
    /// sample-contiguous) as they are.
    ///
    /// # Panics
    /// When `x.len() != y.len() × features` (a programming error; the readers check their
    /// input before building a dataset).
    pub fn from_f32(
        name: impl Into<String>,
        features: usize,
        classes: usize,
        x: Vec<f32>,
        y: Vec<u8>,
    ) -> Self {
        assert_eq!(x.len(), y.len() * features, "values ≠ samples × features");
        let values = Values::F32(x);
        Self::from_store(name.into(), features, classes, Store { values, labels: y })
    }

    /// A dataset of `y.len()` samples of 8-bit values `bytes` (`y.len() × features`,
    /// sample-contiguous), read as `f32::from(byte) / divisor` (e.g. 255 for pixels in
    /// `[0, 1]`). The bytes are kept; a sample is converted when it is read.
    ///
    /// # Panics
    /// When `bytes.len() != y.len() × features`.
    pub fn from_u8(
        name: impl Into<String>,
        features: usize,
        classes: usize,
        bytes: Vec<u8>,
        divisor: f32,
        y: Vec<u8>,
    ) -> Self {
        assert_eq!(
            bytes.len(),
            y.len() * features,
            "bytes ≠ samples × features"
        );
        let values = Values::U8 { bytes, divisor };
        Self::from_store(name.into(), features, classes, Store { values, labels: y })
    }

    /// An empty dataset with the given shape.
    pub fn empty(name: impl Into<String>, features: usize, classes: usize) -> Self {
        Self::from_f32(name, features, classes, Vec::new(), Vec::new())
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match &self.rows {
            Rows::Range(r) => r.len(),
            Rows::Picked(p) => p.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store's index of sample `i`.
    fn row(&self, i: usize) -> usize {
        match &self.rows {
            Rows::Range(r) => {
                assert!(i < r.len(), "sample {i} of a dataset of {}", r.len());
                r.start + i
            }
            Rows::Picked(p) => p[i] as usize,
        }
    }

    /// The label of sample `i`.
    ///
    /// # Panics
    /// When `i >= len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.store.labels[self.row(i)]
    }

    /// The labels of all samples, in order.
    pub fn labels(&self) -> impl ExactSizeIterator<Item = u8> + '_ {
        (0..self.len()).map(|i| self.label(i))
    }

    /// Writes the `features` values of sample `i` into `out` (its first `features`
    /// elements) and returns its label. This is how minibatches are filled: 8-bit values
    /// are converted here.
    ///
    /// # Panics
    /// When `i >= len()` or `out` is shorter than `features`.
    pub fn sample_into(&self, i: usize, out: &mut [f32]) -> u8 {
        let (f, r) = (self.features, self.row(i));
        let out = &mut out[..f];
        match &self.store.values {
            Values::U8 { bytes, divisor } => dtp_core::simd::wide(
                #[inline(always)]
                || {
                    for (o, &b) in out.iter_mut().zip(&bytes[r * f..(r + 1) * f]) {
                        *o = f32::from(b) / divisor;
                    }
                },
            ),
            Values::F32(x) => out.copy_from_slice(&x[r * f..(r + 1) * f]),
        }
        self.store.labels[r]
    }

    /// Sample `i`: its `features` values (borrowed from an `f32` store, converted from an
    /// 8-bit one) and its label.
    ///
    /// # Panics
    /// When `i >= len()`, like slice indexing.
    pub fn sample(&self, i: usize) -> (Cow<'_, [f32]>, u8) {
        let (f, r) = (self.features, self.row(i));
        match &self.store.values {
            Values::F32(x) => (Cow::Borrowed(&x[r * f..(r + 1) * f]), self.store.labels[r]),
            Values::U8 { .. } => {
                let mut v = vec![0.0; f];
                let label = self.sample_into(i, &mut v);
                (Cow::Owned(v), label)
            }
        }
    }

    /// Iterates over all samples in order (see [`sample`](Self::sample)).
    pub fn samples(&self) -> impl ExactSizeIterator<Item = (Cow<'_, [f32]>, u8)> + '_ {
        (0..self.len()).map(|i| self.sample(i))
    }

    /// Calls `f` with the values of every sample in order (one reused buffer for an 8-bit
    /// store, no allocation per sample).
    pub fn for_each_sample(&self, mut f: impl FnMut(&[f32], u8)) {
        let mut buf = vec![0.0; self.features];
        for i in 0..self.len() {
            let label = self.sample_into(i, &mut buf);
            f(&buf, label);
        }
    }

    /// All values, `len() × features`, sample-contiguous: a new vector (for tests and small
    /// data; training reads samples one at a time).
    pub fn to_values(&self) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.len() * self.features);
        self.for_each_sample(|x, _| v.extend_from_slice(x));
        v
    }

    /// True when the values are held as bytes (8-bit pixels), converted per sample.
    pub fn is_u8(&self) -> bool {
        matches!(self.store.values, Values::U8 { .. })
    }

    /// True when `self` and `other` are views of the same store (no copy between them).
    pub fn shares_store(&self, other: &Dataset) -> bool {
        Arc::ptr_eq(&self.store, &other.store)
    }

    /// A dataset of the same samples whose values are `f(value, feature index)`, in a new
    /// `f32` store (used by the scalings and the firmware's 4-bit pixels).
    pub fn map_values(&self, mut f: impl FnMut(f32, usize) -> f32) -> Dataset {
        let mut x = Vec::with_capacity(self.len() * self.features);
        let mut y = Vec::with_capacity(self.len());
        self.for_each_sample(|row, label| {
            x.extend(row.iter().enumerate().map(|(j, &v)| f(v, j)));
            y.push(label);
        });
        Dataset::from_f32(self.name.clone(), self.features, self.classes, x, y)
    }

    /// Number of samples of each class, indexed by label (`classes` entries).
    pub fn class_histogram(&self) -> Vec<usize> {
        let mut h = vec![0usize; self.classes];
        for label in self.labels() {
            if let Some(c) = h.get_mut(usize::from(label)) {
                *c += 1;
            }
        }
        h
    }

    /// Mean and (population) standard deviation over all values, accumulated in `f64`.
    /// `(0, 0)` for an empty dataset.
    pub fn mean_std(&self) -> (f64, f64) {
        if self.is_empty() || self.features == 0 {
            return (0.0, 0.0);
        }
        let n = (self.len() * self.features) as f64;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        self.for_each_sample(|x, _| {
            for &v in x {
                let v = f64::from(v);
                s += v;
                s2 += v * v;
            }
        });
        let mean = s / n;
        (mean, (s2 / n - mean * mean).max(0.0).sqrt())
    }

    /// The smallest and largest value (`(+∞, −∞)` when there is none).
    pub fn value_range(&self) -> (f32, f32) {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        self.for_each_sample(|x, _| {
            for &v in x {
                (lo, hi) = (lo.min(v), hi.max(v));
            }
        });
        (lo, hi)
    }

    /// A view of samples `range` of `self` (same store) named `name`.
    fn slice(&self, name: String, range: Range<usize>) -> Dataset {
        let rows = match &self.rows {
            Rows::Range(r) => Rows::Range(r.start + range.start..r.start + range.end),
            Rows::Picked(p) => Rows::Picked(p[range].into()),
        };
        Dataset {
            name,
            features: self.features,
            classes: self.classes,
            store: Arc::clone(&self.store),
            rows,
        }
    }

    /// Splits into the first `n_first` samples and the rest, keeping order: two views of
    /// the same store, no copy. `n_first` larger than `len()` is clamped. The parts are
    /// named `"{name}[..n]"` and `"{name}[n..]"`.
    pub fn split(&self, n_first: usize) -> (Dataset, Dataset) {
        let n = n_first.min(self.len());
        (
            self.slice(format!("{}[..{n}]", self.name), 0..n),
            self.slice(format!("{}[{n}..]", self.name), n..self.len()),
        )
    }

    /// A view of the samples at `indices`, in that order (same store, no copy of values).
    ///
    /// # Panics
    /// When an index is `>= len()`.
    pub fn subset(&self, name: impl Into<String>, indices: &[usize]) -> Dataset {
        let picked: Arc<[u32]> = indices
            .iter()
            .map(|&i| u32::try_from(self.row(i)).expect("store index fits u32"))
            .collect();
        Dataset {
            name: name.into(),
            features: self.features,
            classes: self.classes,
            store: Arc::clone(&self.store),
            rows: Rows::Picked(picked),
        }
    }
}

/// Equal names, shapes, labels and values (whatever the stores and views).
impl PartialEq for Dataset {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, self.features, self.classes, self.len())
            == (&other.name, other.features, other.classes, other.len())
            && self.labels().eq(other.labels())
            && (0..self.len()).all(|i| self.sample(i).0 == other.sample(i).0)
    }
}

/// The name, shape and storage, not the values.
impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("name", &self.name)
            .field("features", &self.features)
            .field("classes", &self.classes)
            .field("len", &self.len())
            .field("u8", &self.is_u8())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Dataset {
        Dataset::from_f32(
            "toy",
            2,
            3,
            vec![0.0, 0.1, 1.0, 1.1, 2.0, 2.1, 3.0, 3.1],
            vec![0, 1, 2, 1],
        )
    }

    #[test]
    fn sample_histogram_split() {
        let d = toy();
        assert_eq!(d.len(), 4);
        assert_eq!(d.sample(2), (Cow::Borrowed(&[2.0, 2.1][..]), 2));
        assert_eq!(d.class_histogram(), vec![1, 2, 1]);
        let (a, b) = d.split(3);
        assert_eq!((a.len(), b.len()), (3, 1));
        assert_eq!(b.sample(0).0[..], [3.0, 3.1]);
        assert_eq!(b.label(0), 1);
        assert_eq!(a.name, "toy[..3]");
        assert!(a.shares_store(&d) && b.shares_store(&d));
        let (a, b) = d.split(99);
        assert_eq!((a.len(), b.len()), (4, 0));
        let s = d.subset("s", &[3, 0]);
        assert!(s.shares_store(&d));
        assert_eq!(s.to_values(), vec![3.0, 3.1, 0.0, 0.1]);
        assert_eq!(s.labels().collect::<Vec<_>>(), vec![1, 0]);
        // Views of views.
        let (_, s1) = s.split(1);
        assert_eq!(s1.to_values(), vec![0.0, 0.1]);
        let ss = s.subset("ss", &[1]);
        assert_eq!((ss.to_values(), ss.label(0)), (vec![0.0, 0.1], 0));
        let (_, tail) = d.split(1);
        let ts = tail.subset("ts", &[2, 0]);
        assert_eq!(ts.to_values(), vec![3.0, 3.1, 1.0, 1.1]);
        assert_eq!(d.samples().count(), 4);
    }

    #[test]
    fn bytes_convert_exactly_as_floats() {
        let bytes: Vec<u8> = (0..=255).collect();
        let d = Dataset::from_u8("b", 4, 1, bytes.clone(), 255.0, vec![0; 64]);
        assert!(d.is_u8());
        let f: Vec<f32> = bytes.iter().map(|&p| f32::from(p) / 255.0).collect();
        let e = Dataset::from_f32("b", 4, 1, f.clone(), vec![0; 64]);
        assert_eq!(d.to_values(), f);
        assert!(
            d.to_values()
                .iter()
                .zip(&f)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        assert_eq!(d, e);
        let mut out = [9.0; 5];
        assert_eq!(d.sample_into(1, &mut out), 0);
        assert_eq!(
            out,
            [4.0 / 255.0, 5.0 / 255.0, 6.0 / 255.0, 7.0 / 255.0, 9.0]
        );
        assert_eq!(d.value_range(), (0.0, 1.0));
        let m = d.map_values(|v, j| v + j as f32);
        assert!(!m.is_u8() && !m.shares_store(&d));
        assert_eq!(
            m.sample(0).0[..],
            [0.0, 1.0 + 1.0 / 255.0, 2.0 + 2.0 / 255.0, 3.0 + 3.0 / 255.0]
        );
    }

    #[test]
    fn mean_std() {
        let d = Dataset::from_f32("m", 2, 3, vec![0.0, 1.0, 0.0, 1.0], vec![0, 1]);
        let (m, s) = d.mean_std();
        assert!((m - 0.5).abs() < 1e-12 && (s - 0.5).abs() < 1e-12);
        assert_eq!(Dataset::empty("e", 2, 2).mean_std(), (0.0, 0.0));
    }
}
