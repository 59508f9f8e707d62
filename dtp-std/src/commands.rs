//! `dtp eval`, `dtp export`, `dtp plot` and `dtp info`.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::Serialize;

use crate::checkpoint::{self, Checkpoint};
use crate::cli::{EvalArgs, ExportArgs, InfoArgs, PlotArgs};
use crate::datasets;
use crate::failure::{Classify, Failure, Outcome};
use crate::metrics;
use crate::model::{Evaluation, TensorKind};
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

#[derive(Serialize)]
struct EvalReport {
    preset: String,
    widths: String,
    epoch: u32,
    passes: u32,
    train: Evaluation,
    valid: Evaluation,
    test: Evaluation,
}

/// `dtp eval`: errors on the preset's three sets.
pub fn eval(a: &EvalArgs) -> Outcome<()> {
    let mut c = load(&a.checkpoint)?;
    let splits = datasets::load(c.preset.data, a.data.as_deref())?;
    for d in [&splits.train, &splits.valid, &splits.test] {
        check_fits(d, c.model.as_ref())?;
    }
    let passes = a.passes.unwrap_or(c.hyper.eval_passes).max(1);
    let mut rng = eval_rng(c.hyper.seed, u32::MAX);
    let mut run = |d| {
        c.model
            .evaluate(d, passes, &mut rng)
            .map_err(|e| Failure::input(anyhow!("{e}")))
    };
    let (test, valid, train) = (run(&splits.test)?, run(&splits.valid)?, run(&splits.train)?);
    let r = EvalReport {
        preset: c.preset.name.into(),
        widths: c.model.shape().widths(),
        epoch: c.model.epoch(),
        passes,
        train,
        valid,
        test,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).or_other()?);
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
        println!(
            "{} {} at epoch {}, {passes} pass(es)",
            r.preset, r.widths, r.epoch
        );
    }
    Ok(())
}

/// `dtp export`: the firmware weight blob.
pub fn export(a: &ExportArgs) -> Outcome<()> {
    let c = load(&a.checkpoint)?;
    let blob = c
        .model
        .blob()
        .map_err(|e| Failure::other(anyhow!("cannot encode the blob: {e:?}")))?;
    if let Some(dir) = a.firmware.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::other(anyhow!("{}: {e}", dir.display())))?;
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

/// `dtp plot`: RUN_DIR/curves.png from RUN_DIR/metrics.jsonl.
pub fn plot(a: &PlotArgs) -> Outcome<()> {
    let records = metrics::read(&a.run_dir).or_input()?;
    if records.is_empty() {
        return Err(Failure::input(anyhow!(
            "{}: no epochs recorded",
            a.run_dir.join(metrics::JSONL).display()
        )));
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.run_dir.join(plot::FILE_NAME));
    let title = a
        .run_dir
        .file_name()
        .map_or_else(|| "dtp".into(), |n| n.to_string_lossy().into_owned());
    plot::draw(&records, &title, &out).or_other()?;
    println!("wrote {} ({} epochs)", out.display(), records.len());
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
        "network     {} ({} hidden layers), minibatch {}",
        s.widths(),
        s.hidden_layers,
        s.batch
    );
    println!(
        "parameters  {} forward + {} inverse",
        m.forward_params(),
        m.inverse_params()
    );
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
