//! Per-epoch metrics (`metrics.jsonl` and `metrics.csv` of a run directory) and the final
//! summary (`summary.json`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::config::Hyper;
use crate::model::{ModelKind, ProbeFit};

/// File names inside a run directory.
pub const JSONL: &str = "metrics.jsonl";
/// CSV twin of [`JSONL`].
pub const CSV: &str = "metrics.csv";
/// The final summary.
pub const SUMMARY: &str = "summary.json";

/// One line of `metrics.jsonl`.
///
/// For the auto-encoder (`"kind": "autoencoder"`, absent for classifiers) the fields read:
/// `*_error` is the classification error of the online linear probe on the codes (train:
/// during the epoch, on the codes of the corrupted inputs); `train_loss` the mean denoising
/// reconstruction error `‖g(f(x̃)) − x‖²` over the epoch's batches, `valid_loss` and
/// `test_loss` the reconstruction error `‖g(f(x)) − x‖²` of the clean images (both summed over
/// pixels, averaged over images); `local_loss` the epoch means of the encoder's local loss
/// `‖f(x̃) − ĥ‖²` (`null` under backprop) and of the decoder's loss; `inverse_loss` is empty;
/// `sigma` is the corruption σ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Classifier (the default, not written) or auto-encoder.
    #[serde(default, skip_serializing_if = "ModelKind::is_classifier")]
    pub kind: ModelKind,
    /// 1-based epoch.
    pub epoch: u32,
    /// Training error measured during the epoch (with the weights changing, and noise).
    pub train_error: f64,
    /// Mean global loss `L` over the epoch's training batches.
    pub train_loss: f64,
    /// Validation error after the epoch (one pass).
    pub valid_error: f64,
    /// Validation loss after the epoch.
    pub valid_loss: f64,
    /// Test error after the epoch (one pass).
    pub test_error: f64,
    /// Test loss after the epoch.
    pub test_loss: f64,
    /// Validation error averaging `eval_passes` sampled passes, every `eval_every` epochs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_error_passes: Option<f64>,
    /// Test error averaging `eval_passes` sampled passes, every `eval_every` epochs (the
    /// final evaluation's figure, at this epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_error_passes: Option<f64>,
    /// Local loss of each hidden layer `1 … M−1` at the epoch's last forward step (`null` in
    /// JSON when not finite).
    #[serde(with = "nullable")]
    pub local_loss: Vec<f32>,
    /// Reconstruction error of each inverse `g_2 … g_{M−1}` at the epoch's last inverse step.
    #[serde(with = "nullable")]
    pub inverse_loss: Vec<f32>,
    /// σ of inverse training in this epoch.
    pub sigma: f32,
    /// Wall time of the epoch's training (seconds, evaluation excluded).
    pub train_seconds: f64,
    /// Wall time since the run (or its resumption) started.
    pub wall_seconds: f64,
    /// Training samples per second in this epoch.
    pub samples_per_sec: f64,
}

/// JSON has no NaN or infinity: such values are written as `null` and read back as NaN.
mod nullable {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.is_finite().then_some(*x)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let v: Vec<Option<f32>> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(|x| x.unwrap_or(f32::NAN)).collect())
    }
}

/// Reconstruction error `‖g(f(x)) − x‖²` of the clean images (summed over pixels, averaged
/// over images) on the three sets.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reconstruction {
    /// Training set.
    pub train: f64,
    /// Validation set.
    pub valid: f64,
    /// Test set.
    pub test: f64,
}

/// `summary.json`. For the auto-encoder, `test_error`, `valid_error` and `train_error` are
/// those of the linear probe fitted on the final codes (`probe`), and `reconstruction` and
/// `pixel_probe` are added.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Preset name.
    pub preset: String,
    /// Layer widths.
    pub widths: String,
    /// Final test error (averaging `eval_passes` passes).
    pub test_error: f64,
    /// Final validation error (averaging `eval_passes` passes).
    pub valid_error: f64,
    /// Final training error (one evaluation pass over the whole training set).
    pub train_error: f64,
    /// Epochs completed.
    pub epochs: u32,
    /// Wall time of the whole command (seconds; of this invocation when resumed).
    pub seconds: f64,
    /// Training samples per second (training time only; of this invocation when resumed).
    pub samples_per_sec: f64,
    /// Training time of every epoch on record (the sum of `metrics.jsonl`'s `train_seconds`):
    /// of the whole run, across the invocations of a resumed one.
    #[serde(default)]
    pub train_seconds_total: f64,
    /// The settings of the run.
    pub hyper: Hyper,
    /// Auto-encoder: reconstruction errors of the final weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconstruction: Option<Reconstruction>,
    /// Auto-encoder: the linear probe on the final codes (its errors are the ones above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeFit>,
    /// Auto-encoder: the same probe on raw pixels (the baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_probe: Option<ProbeFit>,
    /// An integer run (`--arith int`): the FNV-1a digest of its i16 weights, as the
    /// firmware logs it (`0x…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_digest: Option<String>,
    /// The run's CSV file as `dtp info` names it (`None`: the preset's own data), which the
    /// [`line`](Summary::line) names instead of the preset; not written to `summary.json`.
    #[serde(skip)]
    pub data: Option<String>,
}

impl Summary {
    /// The one-line human summary, naming the run's CSV file or else its preset.
    pub fn line(&self) -> String {
        let name = self.data.as_deref().unwrap_or(&self.preset);
        if let (Some(r), Some(p)) = (&self.reconstruction, &self.probe) {
            let pixels = self.pixel_probe.as_ref().map_or_else(String::new, |q| {
                format!(" (raw-pixel probe {:.2}%)", 100.0 * q.test_error)
            });
            return format!(
                "{} {} {}: reconstruction error test {:.3} (valid {:.3}, train {:.3}); linear \
                 probe on the codes: test error {:.2}% (valid {:.2}%, train {:.2}%){pixels}; \
                 after {} epochs, {:.1} s, {:.0} samples/s",
                name,
                self.widths,
                self.hyper.algo,
                r.test,
                r.valid,
                r.train,
                100.0 * p.test_error,
                100.0 * p.valid_error,
                100.0 * p.train_error,
                self.epochs,
                self.seconds,
                self.samples_per_sec
            );
        }
        let digest = self
            .weights_digest
            .as_ref()
            .map_or_else(String::new, |d| format!(", weights digest {d}"));
        format!(
            "{} {} {}: test error {:.2}% (valid {:.2}%, train {:.2}%) after {} epochs, \
             {:.1} s, {:.0} samples/s{digest}",
            name,
            self.widths,
            self.hyper.algo,
            100.0 * self.test_error,
            100.0 * self.valid_error,
            100.0 * self.train_error,
            self.epochs,
            self.seconds,
            self.samples_per_sec
        )
    }
}

fn csv_header(r: &EpochRecord) -> String {
    let mut h = String::from(
        "epoch,train_error,train_loss,valid_error,valid_loss,test_error,test_loss,sigma,\
         train_seconds,wall_seconds,samples_per_sec,valid_error_passes,test_error_passes",
    );
    for i in 0..r.local_loss.len() {
        match (r.kind, i) {
            (ModelKind::Autoencoder, 0) => h.push_str(",encoder_loss"),
            (ModelKind::Autoencoder, 1) => h.push_str(",decoder_loss"),
            _ => h.push_str(&format!(",local_loss_{}", i + 1)),
        }
    }
    for i in 0..r.inverse_loss.len() {
        h.push_str(&format!(",inverse_loss_g{}", i + 2));
    }
    h
}

fn csv_row(r: &EpochRecord) -> String {
    let opt = |v: Option<f64>| v.map_or_else(String::new, |x| x.to_string());
    let mut s = format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{}",
        r.epoch,
        r.train_error,
        r.train_loss,
        r.valid_error,
        r.valid_loss,
        r.test_error,
        r.test_loss,
        r.sigma,
        r.train_seconds,
        r.wall_seconds,
        r.samples_per_sec,
        opt(r.valid_error_passes),
        opt(r.test_error_passes)
    );
    for v in r.local_loss.iter().chain(&r.inverse_loss) {
        s.push_str(&format!(",{v}"));
    }
    s
}

/// Appends one record to `metrics.jsonl` and `metrics.csv` in `dir` (writing the CSV header
/// first when the file is new or empty).
pub fn append(dir: &Path, r: &EpochRecord) -> Result<()> {
    let open = |name: &str| {
        let path = dir.join(name);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open for appending", path.display()))
    };
    let mut j = open(JSONL)?;
    writeln!(j, "{}", serde_json::to_string(r)?)?;
    let mut c = open(CSV)?;
    if c.metadata()?.len() == 0 {
        writeln!(c, "{}", csv_header(r))?;
    }
    writeln!(c, "{}", csv_row(r))?;
    Ok(())
}

/// Removes both metrics files of `dir` (a fresh run).
pub fn reset(dir: &Path) -> Result<()> {
    for name in [JSONL, CSV] {
        let p = dir.join(name);
        if p.exists() {
            fs::remove_file(&p).with_context(|| format!("{}: cannot remove", p.display()))?;
        }
    }
    Ok(())
}

/// Reads `metrics.jsonl` of `dir`; errors name the file and line.
pub fn read(dir: &Path) -> Result<Vec<EpochRecord>> {
    let path = dir.join(JSONL);
    let text = fs::read_to_string(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| anyhow!("{}: line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// [`read`], or no records when `dir` has no `metrics.jsonl` (a run of 0 epochs).
pub fn read_or_empty(dir: &Path) -> Result<Vec<EpochRecord>> {
    if dir.join(JSONL).exists() {
        read(dir)
    } else {
        Ok(Vec::new())
    }
}

/// Keeps only the records of epochs `≤ epoch` (resuming from a checkpoint of that epoch:
/// epochs the interrupted run finished after its last checkpoint are run again).
pub fn truncate(dir: &Path, epoch: u32) -> Result<()> {
    let kept: Vec<EpochRecord> = if dir.join(JSONL).exists() {
        read(dir)?
            .into_iter()
            .filter(|r| r.epoch <= epoch)
            .collect()
    } else {
        Vec::new()
    };
    reset(dir)?;
    for r in &kept {
        append(dir, r)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(epoch: u32) -> EpochRecord {
        EpochRecord {
            kind: ModelKind::Classifier,
            epoch,
            train_error: 0.5,
            train_loss: 1.0,
            valid_error: 0.4,
            valid_loss: 0.9,
            test_error: 0.3,
            test_loss: 0.8,
            valid_error_passes: epoch.is_multiple_of(2).then_some(0.25),
            test_error_passes: epoch.is_multiple_of(2).then_some(0.2),
            local_loss: vec![0.1, 0.2],
            inverse_loss: vec![0.3],
            sigma: 0.36,
            train_seconds: 1.0,
            wall_seconds: 2.0,
            samples_per_sec: 100.0,
        }
    }

    #[test]
    fn append_read_truncate() {
        let d = tempfile::tempdir().unwrap();
        for e in 1..=4 {
            append(d.path(), &rec(e)).unwrap();
        }
        assert_eq!(read(d.path()).unwrap().len(), 4);
        truncate(d.path(), 2).unwrap();
        assert_eq!(read(d.path()).unwrap(), vec![rec(1), rec(2)]);
        let csv = fs::read_to_string(d.path().join(CSV)).unwrap();
        let lines: Vec<_> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("local_loss_1,local_loss_2,inverse_loss_g2"));
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
        assert_eq!(lines[0].split(',').count(), lines[2].split(',').count());
        // Multi-pass figures only on the epochs that have them (empty CSV cells otherwise).
        assert!(
            lines[1].contains(",,") && lines[2].contains(",0.25,0.2,"),
            "{csv}"
        );
        assert!(!serde_json::to_string(&rec(1)).unwrap().contains("passes"));
        fs::write(d.path().join(JSONL), "{}\n").unwrap();
        let e = read(d.path()).unwrap_err().to_string();
        assert!(e.contains("metrics.jsonl: line 1"), "{e}");
        let mut r = rec(1);
        r.local_loss[1] = f32::INFINITY;
        fs::write(d.path().join(JSONL), serde_json::to_string(&r).unwrap()).unwrap();
        assert!(read(d.path()).unwrap()[0].local_loss[1].is_nan());
        fs::write(d.path().join(JSONL), "{}\n").unwrap();
        let e = read(d.path()).unwrap_err().to_string();
        assert!(e.contains("metrics.jsonl: line 1"), "{e}");
        // Classifier records do not name their kind; auto-encoder ones do and read back.
        assert!(!serde_json::to_string(&rec(1)).unwrap().contains("kind"));
        let mut r = rec(1);
        r.kind = ModelKind::Autoencoder;
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.starts_with(r#"{"kind":"autoencoder","#), "{j}");
        assert_eq!(serde_json::from_str::<EpochRecord>(&j).unwrap(), r);
    }
}
