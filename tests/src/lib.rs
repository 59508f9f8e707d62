//! Helpers shared by the host-side integration tests in `tests/tests/`: feeding a
//! [`Dataset`] to the core as minibatches and measuring accuracy.

use dtp_core::{Batches, Const, Kernel, Mat};
use dtp_std::data::Dataset;
use rand_core::Rng;
use rand_pcg::Pcg32;

/// Minibatches of a dataset in an order reshuffled every epoch (the last partial batch is
/// dropped).
pub struct Shuffled<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    rng: Pcg32,
    served: usize,
}

impl<'a> Shuffled<'a> {
    /// Batches of `data`, shuffled by a generator seeded with `seed`.
    pub fn new(data: &'a Dataset, seed: u64) -> Self {
        Shuffled {
            data,
            order: (0..data.len()).collect(),
            rng: Pcg32::new(seed, 7),
            served: 0,
        }
    }
}

impl<const IN: usize, const OUT: usize, const B: usize> Batches<Const<IN>, Const<OUT>, Const<B>>
    for Shuffled<'_>
{
    fn batches(&self) -> usize {
        self.data.len() / B
    }

    fn fill(&mut self, index: usize, x: &mut Mat<IN, B>, t: &mut Mat<OUT, B>) {
        if index == 0 {
            // Fisher–Yates at the start of each pass.
            for i in (1..self.order.len()).rev() {
                let j = (self.rng.next_u32() as usize) % (i + 1);
                self.order.swap(i, j);
            }
        }
        self.served += 1;
        t.fill(0.0);
        for b in 0..B {
            let column = &mut x.as_mut_slice()[b * IN..(b + 1) * IN];
            let label = self.data.sample_into(self.order[index * B + b], column);
            t[(label as usize, b)] = 1.0;
        }
    }
}

/// The same minibatches for a run-time trainer (`DynTrainer`), of any input width, classes
/// and batch the buffers have.
impl Batches<dtp_core::Dyn, dtp_core::Dyn, dtp_core::Dyn> for Shuffled<'_> {
    fn batches(&self) -> usize {
        // The batch is the buffers' column count; `fill` is told it. Callers make sure the
        // batch divides as they expect: this serves whole batches of 10.
        self.data.len() / DYN_BATCH
    }

    fn fill(
        &mut self,
        index: usize,
        x: &mut dtp_core::OMat<dtp_core::Dyn, dtp_core::Dyn>,
        t: &mut dtp_core::OMat<dtp_core::Dyn, dtp_core::Dyn>,
    ) {
        assert_eq!(
            x.ncols(),
            DYN_BATCH,
            "Shuffled serves run-time batches of {DYN_BATCH}"
        );
        if index == 0 {
            for i in (1..self.order.len()).rev() {
                let j = (self.rng.next_u32() as usize) % (i + 1);
                self.order.swap(i, j);
            }
        }
        self.served += 1;
        t.fill(0.0);
        let inputs = x.nrows();
        for b in 0..DYN_BATCH {
            let column = &mut x.as_mut_slice()[b * inputs..(b + 1) * inputs];
            let label = self
                .data
                .sample_into(self.order[index * DYN_BATCH + b], column);
            t[(label as usize, b)] = 1.0;
        }
    }
}

/// The minibatch size [`Shuffled`] serves to run-time trainers.
pub const DYN_BATCH: usize = 10;

/// [`accuracy`] of a run-time trainer (`DynTrainer`).
pub fn dyn_accuracy<K: Kernel>(trainer: &mut dtp_core::DynTrainer<K>, data: &Dataset) -> f32 {
    let mut rng = Pcg32::new(0, 0);
    let (mut correct, batch) = (0, trainer.batch());
    for start in (0..data.len()).step_by(batch) {
        let n = batch.min(data.len() - start);
        let (x, t) = trainer.batch_mut();
        let inputs = x.nrows();
        t.fill(0.0);
        for b in 0..batch {
            let column = &mut x.as_mut_slice()[b * inputs..(b + 1) * inputs];
            let label = data.sample_into(start + b.min(n - 1), column);
            t[(label as usize, b)] = 1.0;
        }
        trainer.evaluate(&mut rng).expect("finite evaluation");
        let p = trainer.output();
        for b in 0..n {
            let predicted = p.column(b).argmax().0;
            correct += usize::from(predicted == data.label(start + b) as usize);
        }
    }
    correct as f32 / data.len() as f32
}

/// Fraction of `data` classified correctly by a forward pass (no noise), batch by batch; the
/// last partial batch is padded with copies of its last sample and the copies ignored.
pub fn accuracy<
    const IN: usize,
    const H: usize,
    const OUT: usize,
    const R: usize,
    const B: usize,
    K: Kernel,
    S: dtp_core::GradientStore<dtp_core::Fixed<IN, H, OUT, R>>,
>(
    trainer: &mut dtp_core::Trainer<dtp_core::Fixed<IN, H, OUT, R>, dtp_core::Const<B>, K, S>,
    data: &Dataset,
) -> f32 {
    let mut rng = Pcg32::new(0, 0);
    let mut correct = 0;
    for start in (0..data.len()).step_by(B) {
        let n = B.min(data.len() - start);
        let (x, t) = trainer.batch_mut();
        t.fill(0.0);
        for b in 0..B {
            let column = &mut x.as_mut_slice()[b * IN..(b + 1) * IN];
            let label = data.sample_into(start + b.min(n - 1), column);
            t[(label as usize, b)] = 1.0;
        }
        trainer.evaluate(&mut rng).expect("finite evaluation");
        let p = trainer.output();
        for b in 0..n {
            let predicted = p.column(b).argmax().0;
            correct += usize::from(predicted == data.label(start + b) as usize);
        }
    }
    correct as f32 / data.len() as f32
}

/// A run directory's `metrics.jsonl` with the timing fields zeroed: what two runs that trained
/// the same must agree on.
pub fn timeless_records(dir: &std::path::Path) -> Vec<dtp_std::metrics::EpochRecord> {
    let mut r = dtp_std::metrics::read(dir).unwrap();
    for e in &mut r {
        (e.train_seconds, e.wall_seconds, e.samples_per_sec) = (0.0, 0.0, 0.0);
    }
    r
}

/// A run directory's `summary.json` with the timing fields zeroed, after checking that its
/// `train_seconds_total` is the sum of the epochs' training seconds in `metrics.jsonl` (so a
/// resumed run's total still covers the whole run).
pub fn timeless_summary(dir: &std::path::Path) -> serde_json::Value {
    let path = dir.join(dtp_std::metrics::SUMMARY);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let epochs: f64 = dtp_std::metrics::read(dir)
        .unwrap()
        .iter()
        .map(|r| r.train_seconds)
        .sum();
    let total = v["train_seconds_total"].as_f64().unwrap();
    assert!(
        epochs > 0.0 && (total - epochs).abs() <= 1e-9 * epochs,
        "{}: train_seconds_total {total} vs the epochs' {epochs}",
        path.display()
    );
    for k in ["seconds", "samples_per_sec", "train_seconds_total"] {
        v[k] = 0.into();
    }
    v
}

/// The hash behind the generated CIFAR-10 sets' patterns and noise (splitmix64's finaliser).
fn cifar_hash(x: usize) -> usize {
    let mut x = (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x ^ (x >> 32)) as usize
}

/// Writes a CIFAR-10 set in the binary layout (`cifar-10-batches-bin/data_batch_{1..5}.bin`,
/// `test_batch.bin`): `train` records `0..train` in order over the five batches, then records
/// `train..train + test` in the test batch; record `k` has label `k % 10` and the 3,072 bytes
/// `byte(k, label, p)`.
fn write_cifar(
    dir: &std::path::Path,
    train: usize,
    test: usize,
    byte: impl Fn(usize, usize, usize) -> u8,
) {
    let sub = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&sub).unwrap();
    let record = |k: usize| {
        let label = k % 10;
        let mut r = vec![label as u8];
        r.extend((0..3072).map(|p| byte(k, label, p)));
        r
    };
    let per = train / 5;
    for b in 0..5 {
        let bytes: Vec<u8> = (b * per..(b + 1) * per).flat_map(record).collect();
        std::fs::write(sub.join(format!("data_batch_{}.bin", b + 1)), bytes).unwrap();
    }
    let bytes: Vec<u8> = (train..train + test).flat_map(&record).collect();
    std::fs::write(sub.join("test_batch.bin"), bytes).unwrap();
}

/// A generated CIFAR-10 set (for the CLI tests: the real one is in no registry here), in the
/// binary layout (`cifar-10-batches-bin/data_batch_{1..5}.bin`,
/// `test_batch.bin`): `train` records in order over the five batches, then `test` more in
/// the test batch. Record `k` has label `k % 10`; each byte is half its class's fixed
/// pseudo-random pattern, half the record's own noise.
pub fn generated_cifar(dir: &std::path::Path, train: usize, test: usize) {
    write_cifar(dir, train, test, |k, label, p| {
        (cifar_hash(label << 12 | p) % 128 + cifar_hash(k << 12 | p | 1 << 40) % 128) as u8
    });
}

/// A generated CIFAR-10 set, laid out as [`generated_cifar`]'s, whose classes a random first
/// layer of a narrow net does not separate: the class is written in 256 of the 3,072 bytes
/// only (about one in twelve, the same bytes in every record: each holds its class's bit,
/// 0 or 192, plus the record's noise scaled to 0..63); the other bytes are the record's
/// uniform noise, 0..255. A first layer that learns to read the class's bytes separates the
/// classes; 32 random projections of the noise barely do.
pub fn generated_cifar_sparse(dir: &std::path::Path, train: usize, test: usize) {
    write_cifar(dir, train, test, |k, label, p| {
        let noise = cifar_hash(k << 12 | p | 1 << 40) % 256;
        if cifar_hash(p | 1 << 42).is_multiple_of(12) {
            let bit = cifar_hash(label << 12 | p | 1 << 41) & 1;
            (noise * 63 / 255 + 192 * bit) as u8
        } else {
            noise as u8
        }
    });
}
