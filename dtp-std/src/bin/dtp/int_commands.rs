//! `dtp eval`, `dtp export` and `dtp info` of an integer checkpoint (`--arith int`:
//! `dtp_std::int_model`).

use anyhow::anyhow;

use dtp_std::checkpoint;
use dtp_std::evaluate::checkpoint_path;
use dtp_std::failure::{Classify, Failure, Outcome};
use dtp_std::int_model::{self, digest};

use crate::commands::{EvalArgs, ExportArgs, InfoArgs};

fn load(p: &std::path::Path) -> Outcome<int_model::IntCheckpoint> {
    int_model::load(&checkpoint_path(p)).or_input()
}

/// `dtp eval`: errors on the run's three sets.
pub fn eval(a: &EvalArgs) -> Outcome<()> {
    if a.units.is_some() || a.passes.is_some_and(|p| p != 1) {
        return Err(Failure::input(anyhow!(
            "{}: an integer network (sign units, deterministic): no --units, one pass",
            a.checkpoint.display()
        )));
    }
    let mut c = load(&a.checkpoint)?;
    let (train, valid, test) = int_model::evaluate(&mut c, a.data.as_deref())?;
    let widths = dtp_std::layers::widths_string(&c.model.widths());
    if a.json {
        let r = serde_json::json!({
            "preset": c.preset.name,
            "widths": widths,
            "arith": "int",
            "epoch": c.model.epoch,
            "passes": 1,
            "weights_digest": format!("{:#010x}", digest(c.model.t.params())),
            "train": train,
            "valid": valid,
            "test": test,
        });
        println!("{}", serde_json::to_string_pretty(&r).or_other()?);
    } else {
        for (name, e) in [("train", train), ("valid", valid), ("test", test)] {
            println!(
                "{name:<5} error {:6.2}%  accuracy {:6.2}%  loss {:.4}  ({} samples)",
                100.0 * e.error,
                100.0 * (1.0 - e.error),
                e.loss,
                e.samples
            );
        }
        println!(
            "{} {widths} at epoch {}, integer arithmetic (weights digest {:#010x})",
            c.preset.name,
            c.model.epoch,
            digest(c.model.t.params())
        );
    }
    Ok(())
}

/// `dtp export`: the flat i16 parameters, little-endian (`int_model`'s documentation).
pub fn export(a: &ExportArgs) -> Outcome<()> {
    let c = load(&a.checkpoint)?;
    let bytes = c.model.export_bytes();
    if let Some(dir) = a.firmware.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::input(anyhow!("{}: cannot create: {e}", dir.display())))?;
    }
    checkpoint::write_atomic(&a.firmware, &bytes)
        .map_err(|e| Failure::other(anyhow!("{}: cannot write: {e}", a.firmware.display())))?;
    println!(
        "wrote {} ({} bytes): {} {} at epoch {}, {} i16 parameters (little-endian, \
         IntTrainer::params order: load with params_mut().copy_from_slice), digest {:#010x}",
        a.firmware.display(),
        bytes.len(),
        c.preset.name,
        dtp_std::layers::widths_string(&c.model.widths()),
        c.model.epoch,
        bytes.len() / 2,
        digest(c.model.t.params())
    );
    Ok(())
}

/// `dtp info`: what an integer checkpoint holds.
pub fn info(a: &InfoArgs) -> Outcome<()> {
    let path = checkpoint_path(&a.checkpoint);
    let c = load(&a.checkpoint)?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let w = c.model.widths();
    let (fwd, inv) = c.model.param_counts();
    println!("checkpoint  {} ({bytes} bytes)", path.display());
    println!("preset      {} — {}", c.preset.name, c.preset.about);
    println!(
        "network     {} ({} hidden layers, sign units), one sample a step, integer arithmetic \
         (i16 Q3.12 weights)",
        dtp_std::layers::widths_string(&w),
        w.len() - 2
    );
    println!("parameters  {fwd} forward + {inv} inverse (i16)");
    println!("settings    {:?}", c.model.t.settings());
    for line in crate::commands::data_lines(c.hyper.dataset, c.data.as_ref()) {
        println!("{line}");
    }
    println!(
        "epoch       {} of {} ({} samples trained)",
        c.model.epoch, c.hyper.epochs, c.samples_seen
    );
    println!("digest      {:#010x}", digest(c.model.t.params()));
    println!("settings (TOML, usable with --config):");
    for line in c.hyper.to_toml().lines() {
        println!("  {line}");
    }
    println!("tensors (I16):");
    for i in 1..w.len() {
        println!(
            "  {:<22} [{}, {}]",
            format!("net.f{i}.weight"),
            w[i],
            w[i - 1]
        );
        println!("  {:<22} [{}]", format!("net.f{i}.bias"), w[i]);
    }
    for i in 2..w.len() - 1 {
        println!(
            "  {:<22} [{}, {}]",
            format!("net.g{i}.weight"),
            w[i - 1],
            w[i]
        );
        println!("  {:<22} [{}]", format!("net.g{i}.bias"), w[i - 1]);
    }
    Ok(())
}
