//! Evaluating and exporting a checkpoint, as library calls: [`evaluate`] gives an
//! [`EvalReport`] (what `dtp eval` prints), [`firmware_blob`] the bytes `dtp export` writes.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Serialize;

use crate::checkpoint::{self, Checkpoint};
use crate::config::UnitsName;
use crate::data::Splits;
use crate::datasets;
use crate::failure::{Classify, Failure, Outcome};
use crate::model::{Evaluation, Model, ModelKind};
use crate::train::{Fit, check_splits, eval_rng};

/// A checkpoint file, or the checkpoint inside a run directory.
pub fn checkpoint_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join(checkpoint::FILE_NAME)
    } else {
        p.to_path_buf()
    }
}

/// Loads the checkpoint at `p` (a file or a run directory); a bad file is bad input (exit 2).
pub fn load(p: &Path) -> Outcome<Checkpoint> {
    checkpoint::load(&checkpoint_path(p)).or_input()
}

/// The data of a checkpoint's run: `data` if given, else the recorded source; read (CSV
/// header, label column) and scaled as the run recorded (older checkpoints: the defaults,
/// unscaled). Checked against the checkpoint's network (read from `ckpt`); errors name the
/// data file.
pub fn recorded_data(c: &Checkpoint, ckpt: &Path, data: Option<&Path>) -> Outcome<Splits> {
    let source = match (data, &c.data) {
        (Some(d), _) => Some(d.to_path_buf()),
        (None, Some(r)) => r.source.clone(),
        (None, None) => None,
    };
    let scaling = c
        .data
        .as_ref()
        .map(|r| r.scaling.clone())
        .unwrap_or_default();
    let csv = c.data.as_ref().and_then(|r| r.csv).unwrap_or_default();
    let request = datasets::ScaleRequest::Use(scaling);
    let kind = c.hyper.dataset;
    let named = |f: Failure| match source.as_deref() {
        Some(p) if !f.error.to_string().contains(&p.display().to_string()) => Failure {
            code: f.code,
            error: anyhow!("{}: {}", p.display(), f.error),
        },
        _ => f,
    };
    let splits = datasets::load_scaled(kind, source.as_deref(), &csv, &request)
        .map_err(named)?
        .splits;
    let name = datasets::source_name(kind, source.as_deref());
    check_splits(&splits, &c.model, Some(Path::new(&name)), Fit::Eval(ckpt))?;
    Ok(splits)
}

/// What a checkpoint scores on its run's three sets (`dtp eval --json` prints it).
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Classifier or auto-encoder (omitted for classifiers).
    #[serde(skip_serializing_if = "ModelKind::is_classifier")]
    pub kind: ModelKind,
    /// Auto-encoder: which linear probe gave `error` (`final`: fitted on these weights at the
    /// end of training; `online`: the one trained alongside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<&'static str>,
    /// The preset the run started from.
    pub preset: String,
    /// Layer widths.
    pub widths: String,
    /// The units of this evaluation when they replaced the run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<UnitsName>,
    /// Completed epochs of the checkpoint.
    pub epoch: u32,
    /// Sampled passes averaged.
    pub passes: u32,
    /// Training set.
    pub train: Evaluation,
    /// Validation set.
    pub valid: Evaluation,
    /// Test set.
    pub test: Evaluation,
}

/// Evaluates checkpoint `c` (read from `path`, named in errors) on `splits`, averaging
/// `passes` sampled passes (default: the run's `eval_passes`), optionally under other
/// `units` (classifiers only). The draws are the final evaluation's, so a checkpoint gives the
/// figures its run reported at that epoch.
pub fn evaluate(
    c: &mut Checkpoint,
    path: &Path,
    splits: &Splits,
    passes: Option<u32>,
    units: Option<UnitsName>,
) -> Outcome<EvalReport> {
    check_splits(splits, &c.model, None, Fit::Eval(path))?;
    if let Some(u) = units {
        let Model::Classifier(classifier) = &mut c.model else {
            return Err(Failure::input(anyhow!(
                "{}: --units applies to dense classifiers; `{}` is an auto-encoder or has \
                 convolutions",
                path.display(),
                c.preset.name
            )));
        };
        classifier
            .set_config(c.hyper.to_core_with(u.units()))
            .map_err(|e| Failure::input(anyhow!("{}: --units {u:?}: {e}", path.display())))?;
    }
    if passes == Some(0) {
        return Err(Failure::input(anyhow!(
            "--passes 0: evaluation needs at least 1 pass"
        )));
    }
    let passes = passes.unwrap_or(c.hyper.eval_passes).max(1);
    let mut rng = eval_rng(c.hyper.seed, u32::MAX);
    let mut run = |d| {
        c.model
            .evaluate(d, passes, &mut rng)
            .map_err(|e| Failure::input(anyhow!("{e}")))
    };
    let (test, valid, train) = (run(&splits.test)?, run(&splits.valid)?, run(&splits.train)?);
    let kind = c.model.kind();
    let epoch = c.model.epoch();
    let probe = (kind == ModelKind::Autoencoder).then(|| {
        if let Model::Autoencoder(ae) = &c.model
            && ae.finished().is_some_and(|f| f.epoch == epoch)
        {
            "final"
        } else {
            "online"
        }
    });
    Ok(EvalReport {
        kind,
        probe,
        preset: c.preset.name.into(),
        widths: c.model.shape().widths(),
        units,
        epoch,
        passes,
        train,
        valid,
        test,
    })
}

/// How a checkpoint's network differs from the one `firmware/` runs (the `digits-firmware`
/// preset's shape and units), if it does.
pub fn firmware_mismatch(c: &Checkpoint) -> Option<String> {
    let fw = (crate::presets::find("digits-firmware")?.defaults)();
    let widths = fw.layers.to_string();
    let ours = c.model.shape().widths();
    (ours != widths || c.hyper.units != fw.units).then(|| {
        format!(
            "a {ours} network with {} units; firmware/ runs {widths} with {} units (the \
             digits-firmware preset). `--host` writes the blob anyway, for the host-side core \
             (Net::read_blob)",
            c.hyper.units.name(),
            fw.units.name()
        )
    })
}

/// The weight blob ([`dtp_core::blob`]) of checkpoint `c` (read from `path`). A network the
/// firmware does not run is refused unless `host` (a blob for the host-side core); `Ok`
/// carries the note to show in that case.
pub fn firmware_blob(
    c: &Checkpoint,
    path: &Path,
    host: bool,
) -> Outcome<(Vec<u8>, Option<String>)> {
    let Model::Classifier(classifier) = &c.model else {
        return Err(Failure::input(anyhow!(
            "{}: a `{}` checkpoint: the firmware blob holds dense classifiers only (the \
             auto-encoder's and a convolutional net's weights are the safetensors tensors \
             net.f*, net.g*)",
            path.display(),
            c.preset.name
        )));
    };
    let blob = classifier
        .blob()
        .map_err(|e| Failure::input(anyhow!("{}: cannot encode the blob: {e}", path.display())))?;
    let note = match firmware_mismatch(c) {
        Some(w) if !host => return Err(Failure::input(anyhow!("{}: {w}", path.display()))),
        Some(w) => Some(format!("{}: {w}", path.display())),
        None => None,
    };
    Ok((blob, note))
}
