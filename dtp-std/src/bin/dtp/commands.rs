//! `dtp eval`, `dtp export`, `dtp plot` and `dtp info`: each one's flags and what it does.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;

use dtp_std::checkpoint;
use dtp_std::config::UnitsName;
use dtp_std::evaluate::{checkpoint_path, evaluate, firmware_blob, load, recorded_data};
use dtp_std::failure::{Classify, Failure, Outcome};
use dtp_std::int_model;
use dtp_std::metrics;
use dtp_std::model::{Model, ModelKind, TensorKind};

use crate::int_commands;
use dtp_std::plot;

/// `dtp eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A checkpoint file (RUN_DIR/checkpoint.safetensors) or a run directory.
    pub checkpoint: PathBuf,
    /// Dataset location, as for train [default: the one the run was trained on].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Sampled passes to average, at least 1 [default: the run's eval_passes].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub passes: Option<u32>,
    /// Evaluate the trained weights under these units instead of the preset's (e.g. a
    /// network trained continuous, tested with sign units: --units discrete).
    #[arg(long, value_enum)]
    pub units: Option<UnitsName>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `dtp export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A checkpoint file or a run directory.
    pub checkpoint: PathBuf,
    /// Blob file to write (e.g. firmware/weights.bin).
    #[arg(long)]
    pub firmware: PathBuf,
    /// Write the blob of a network other than the firmware's 64-32-32-10 sign-unit net (for
    /// the host-side core's Net::read_blob); without it such a network is refused.
    #[arg(long)]
    pub host: bool,
}

/// `dtp plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A run directory (holding metrics.jsonl); with several, their error curves on one plot.
    #[arg(required = true, num_args = 1..)]
    pub run_dirs: Vec<PathBuf>,
    /// Output file [default: RUN_DIR/curves.png for one run, runs.png for several].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `dtp info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A checkpoint file or a run directory.
    pub checkpoint: PathBuf,
}

/// `dtp eval`: errors on the run's three sets (for the auto-encoder: reconstruction
/// error as `loss`, and the linear probe's classification error).
pub fn eval(a: &EvalArgs) -> Outcome<()> {
    if int_model::is_int_checkpoint(&checkpoint_path(&a.checkpoint)) {
        return int_commands::eval(a);
    }
    let mut c = load(&a.checkpoint)?;
    let path = checkpoint_path(&a.checkpoint);
    let splits = recorded_data(&c, &path, a.data.as_deref())?;
    let r = evaluate(&mut c, &path, &splits, a.passes, a.units)?;
    let passes = r.passes;
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

/// `dtp export`: the firmware weight blob.
pub fn export(a: &ExportArgs) -> Outcome<()> {
    if int_model::is_int_checkpoint(&checkpoint_path(&a.checkpoint)) {
        return int_commands::export(a);
    }
    let c = load(&a.checkpoint)?;
    let (blob, note) = firmware_blob(&c, &checkpoint_path(&a.checkpoint), a.host)?;
    if let Some(n) = note {
        eprintln!("note: {n}");
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
            plot::draw_filters(&c.model, &filters).or_other()?;
            println!(
                "wrote {} (first-layer filters at epoch {})",
                filters.display(),
                c.model.epoch()
            );
        }
    } else {
        let out = a.out.clone().unwrap_or_else(|| "runs.png".into());
        let note = dtp_std::plot_runs::draw_runs(&runs, "error per epoch", &out).or_other()?;
        let note = note.map(|n| format!("; {n}")).unwrap_or_default();
        println!("wrote {} ({} runs{note})", out.display(), runs.len());
    }
    Ok(())
}

/// `dtp info`'s lines on the data of a run of dataset `kind` (its `record`, absent in older
/// checkpoints): source, format and scaling.
pub fn data_lines(
    kind: dtp_std::presets::DataKind,
    record: Option<&dtp_std::rundir::DataRecord>,
) -> [String; 3] {
    let record = record.cloned().unwrap_or_default();
    let source = record.source.as_deref();
    let csv = record.csv.as_ref();
    let format = dtp_std::datasets::format_name(kind, source, csv);
    let is_csv = csv.is_some() || dtp_std::datasets::is_csv(kind, source);
    let scaling = match (&record.scale, is_csv) {
        (Some(choice), _) => format!(
            "{} (--scale {}: {})",
            record.scaling.describe(),
            choice.asked.name(),
            choice.reason
        ),
        (None, true) => record.scaling.describe(),
        (None, false) => "none fitted: the reader maps pixels to [0, 1]".into(),
    };
    [
        format!(
            "data        {}",
            dtp_std::datasets::source_name(kind, source)
        ),
        format!("format      {format}"),
        format!("scaling     {scaling}"),
    ]
}

/// `dtp info`: what a checkpoint holds.
pub fn info(a: &InfoArgs) -> Outcome<()> {
    let path = checkpoint_path(&a.checkpoint);
    if int_model::is_int_checkpoint(&path) {
        return int_commands::info(a);
    }
    let c = load(&a.checkpoint)?;
    let m = &c.model;
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
    if let Model::Autoencoder(ae) = m {
        for line in ae.info_lines() {
            println!("            {line}");
        }
    }
    for line in data_lines(c.hyper.dataset, c.data.as_ref()) {
        println!("{line}");
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
