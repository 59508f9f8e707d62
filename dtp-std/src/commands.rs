//! `dtp eval`, `dtp export`, `dtp plot` and `dtp info`.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Serialize;

use crate::checkpoint::{self, Checkpoint};
use crate::cli::{EvalArgs, ExportArgs, InfoArgs, PlotArgs};
use crate::config::UnitsName;
use crate::datasets;
use crate::failure::{Classify, Failure, Outcome};
use crate::metrics;
use crate::model::{Evaluation, ModelKind, TensorKind};
use crate::plot;
use crate::train::{check_fits, eval_rng};

/// A checkpoint file, or the checkpoint inside a run directory.
pub fn checkpoint_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join(checkpoint::FILE_NAME)
    } else {
        p.to_path_buf()
    }
}

fn load(p: &Path) -> Outcome<Checkpoint> {
    checkpoint::load(&checkpoint_path(p)).or_input()
}

/// The data of a checkpoint's run: `--data` if given, else the recorded source; scaled as
/// the run recorded (older checkpoints: unscaled).
fn recorded_data(c: &Checkpoint, data: Option<&Path>) -> Outcome<crate::data::Splits> {
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
    let request = datasets::ScaleRequest::Use(scaling);
    datasets::load_scaled(c.hyper.dataset, source.as_deref(), &request).map(|(s, _)| s)
}

#[derive(Serialize)]
struct EvalReport {
    #[serde(skip_serializing_if = "ModelKind::is_classifier")]
    kind: ModelKind,
    /// Auto-encoder: which linear probe gave `error` (`final`: fitted on these weights at the
    /// end of training; `online`: the one trained alongside).
    #[serde(skip_serializing_if = "Option::is_none")]
    probe: Option<&'static str>,
    preset: String,
    widths: String,
    /// The units of this evaluation when `--units` replaced the preset's.
    #[serde(skip_serializing_if = "Option::is_none")]
    units: Option<UnitsName>,
    epoch: u32,
    passes: u32,
    train: Evaluation,
    valid: Evaluation,
    test: Evaluation,
}

/// `dtp eval`: errors on the preset's three sets (for the auto-encoder: reconstruction
/// error as `loss`, and the linear probe's classification error).
pub fn eval(a: &EvalArgs) -> Outcome<()> {
    let mut c = load(&a.checkpoint)?;
    let splits = recorded_data(&c, a.data.as_deref())?;
    for d in [&splits.train, &splits.valid, &splits.test] {
        check_fits(d, c.model.as_ref())?;
    }
    if let Some(u) = a.units {
        if c.model.kind() != ModelKind::Classifier {
            return Err(Failure::input(anyhow!(
                "{}: --units applies to classifiers; `{}` is an auto-encoder",
                checkpoint_path(&a.checkpoint).display(),
                c.preset.name
            )));
        }
        c.model
            .set_config(c.hyper.to_core_with(u.units()))
            .map_err(|e| {
                Failure::input(anyhow!(
                    "{}: --units {u:?}: {e}",
                    checkpoint_path(&a.checkpoint).display()
                ))
            })?;
    }
    let passes = a.passes.unwrap_or(c.hyper.eval_passes).max(1);
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
        if c.model
            .as_autoencoder()
            .and_then(|ae| ae.finished())
            .is_some_and(|f| f.epoch == epoch)
        {
            "final"
        } else {
            "online"
        }
    });
    let r = EvalReport {
        kind,
        probe,
        preset: c.preset.name.into(),
        widths: c.model.shape().widths(),
        units: a.units,
        epoch: c.model.epoch(),
        passes,
        train,
        valid,
        test,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).or_other()?);
    } else if let Some(probe) = r.probe {
        for (name, e) in [("train", r.train), ("valid", r.valid), ("test", r.test)] {
            println!(
                "{name:<5} reconstruction error {:8.4}  linear probe error {:6.2}%  ({} samples)",
                e.loss,
                100.0 * e.error,
                e.samples
            );
        }
        println!(
            "{} {} at epoch {}; reconstruction = |g(f(x)) - x|² summed over pixels, mean over \
             images; {probe} linear probe on the codes{}",
            r.preset,
            r.widths,
            r.epoch,
            if probe == "final" {
                " (fitted at the end of training, picked by validation error)"
            } else {
                " (trained alongside; the final probe is fitted when training finishes)"
            }
        );
    } else {
        for (name, e) in [("train", r.train), ("valid", r.valid), ("test", r.test)] {
            println!(
                "{name:<5} error {:6.2}%  accuracy {:6.2}%  loss {:.4}  ({} samples)",
                100.0 * e.error,
                100.0 * (1.0 - e.error),
                e.loss,
                e.samples
            );
        }
        let units = match r.units {
            Some(u) => format!(", evaluated with {} units", format!("{u:?}").to_lowercase()),
            None => String::new(),
        };
        println!(
            "{} {} at epoch {}, {passes} pass(es){units}",
            r.preset, r.widths, r.epoch
        );
    }
    Ok(())
}

/// How a checkpoint's network differs from the one `firmware/` runs (the `digits-firmware`
/// preset's shape and units), if it does.
fn firmware_mismatch(c: &Checkpoint) -> Option<String> {
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

/// `dtp export`: the firmware weight blob.
pub fn export(a: &ExportArgs) -> Outcome<()> {
    let c = load(&a.checkpoint)?;
    let Some(classifier) = c.model.as_classifier() else {
        return Err(Failure::input(anyhow!(
            "{}: a `{}` checkpoint: the firmware blob holds classifiers only (the \
             auto-encoder's weights are the safetensors tensors net.f1.* and net.g1.*)",
            checkpoint_path(&a.checkpoint).display(),
            c.preset.name
        )));
    };
    let blob = classifier.blob().map_err(|e| {
        Failure::input(anyhow!(
            "{}: cannot encode the blob: {e}",
            checkpoint_path(&a.checkpoint).display()
        ))
    })?;
    if let Some(w) = firmware_mismatch(&c) {
        let p = checkpoint_path(&a.checkpoint);
        if !a.host {
            return Err(Failure::input(anyhow!("{}: {w}", p.display())));
        }
        eprintln!("note: {}: {w}", p.display());
    }
    if let Some(dir) = a.firmware.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::input(anyhow!("{}: cannot create: {e}", dir.display())))?;
        eprintln!("created directory {}", dir.display());
    }
    checkpoint::write_atomic(&a.firmware, &blob)
        .map_err(|e| Failure::other(anyhow!("{}: cannot write: {e}", a.firmware.display())))?;
    println!(
        "wrote {} ({} bytes): {} {} at epoch {}, blob format v{}",
        a.firmware.display(),
        blob.len(),
        c.preset.name,
        c.model.shape().widths(),
        c.model.epoch(),
        dtp_core::blob::VERSION
    );
    Ok(())
}

/// `dtp plot`: RUN_DIR/curves.png from RUN_DIR/metrics.jsonl (and an auto-encoder's
/// filters.png); with several run directories, their error curves on one PNG.
pub fn plot(a: &PlotArgs) -> Outcome<()> {
    let mut runs = Vec::with_capacity(a.run_dirs.len());
    for dir in &a.run_dirs {
        let records = metrics::read(dir).or_input()?;
        if records.is_empty() {
            return Err(Failure::input(anyhow!(
                "{}: no epochs recorded",
                dir.join(metrics::JSONL).display()
            )));
        }
        let name = dir
            .file_name()
            .map_or_else(|| "dtp".into(), |n| n.to_string_lossy().into_owned());
        runs.push((name, records));
    }
    if let [(title, records)] = runs.as_slice() {
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| a.run_dirs[0].join(plot::FILE_NAME));
        plot::draw(records, title, &out).or_other()?;
        println!("wrote {} ({} epochs)", out.display(), records.len());
        // An auto-encoder run also gets its first-layer filters redrawn from the checkpoint:
        // RUN_DIR/filters.png, or OUT_STEM-filters.png next to --out.
        let ckpt = a.run_dirs[0].join(checkpoint::FILE_NAME);
        if records[0].kind == ModelKind::Autoencoder && ckpt.is_file() {
            let c = load(&ckpt)?;
            let filters = match &a.out {
                None => a.run_dirs[0].join(plot::FILTERS),
                Some(o) => o.with_file_name(format!(
                    "{}-filters.png",
                    o.file_stem()
                        .map_or_else(|| "run".into(), |s| s.to_string_lossy())
                )),
            };
            plot::draw_filters(c.model.as_ref(), &filters).or_other()?;
            println!(
                "wrote {} (first-layer filters at epoch {})",
                filters.display(),
                c.model.epoch()
            );
        }
    } else {
        let out = a.out.clone().unwrap_or_else(|| "runs.png".into());
        let note = crate::plot_runs::draw_runs(&runs, "error per epoch", &out).or_other()?;
        let note = note.map(|n| format!("; {n}")).unwrap_or_default();
        println!("wrote {} ({} runs{note})", out.display(), runs.len());
    }
    Ok(())
}

/// `dtp info`: what a checkpoint holds.
pub fn info(a: &InfoArgs) -> Outcome<()> {
    let path = checkpoint_path(&a.checkpoint);
    let c = load(&a.checkpoint)?;
    let m = c.model.as_ref();
    let s = m.shape();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("checkpoint  {} ({bytes} bytes)", path.display());
    println!("preset      {} — {}", c.preset.name, c.preset.about);
    println!(
        "network     {} ({} hidden layers, {} units), minibatch {}",
        s.widths(),
        s.layers.len() - 2,
        c.hyper.units.name(),
        s.batch
    );
    match m.kind() {
        ModelKind::Classifier => println!(
            "parameters  {} forward + {} inverse",
            m.forward_params(),
            m.inverse_params()
        ),
        ModelKind::Autoencoder => println!(
            "parameters  {} encoder (net.f1) + {} decoder (net.g1)",
            m.forward_params(),
            m.inverse_params()
        ),
    }
    if let Some(ae) = m.as_autoencoder() {
        for line in ae.info_lines() {
            println!("            {line}");
        }
    }
    println!("epoch       {} of {}", m.epoch(), c.hyper.epochs);
    println!("settings (TOML, usable with --config):");
    for line in c.hyper.to_toml().lines() {
        println!("  {line}");
    }
    println!("tensors:");
    for t in m.tensors() {
        if t.kind == TensorKind::Param {
            let shape = if t.cols == 1 {
                format!("[{}]", t.rows)
            } else {
                format!("[{}, {}]", t.rows, t.cols)
            };
            println!("  {:<22} {shape}", t.name);
        }
    }
    let states = m
        .tensors()
        .iter()
        .filter(|t| t.kind == TensorKind::State)
        .count();
    println!("  … and {states} optimiser-state tensors (opt.forward.*, opt.inverse.*)");
    Ok(())
}
