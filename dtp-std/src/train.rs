//! `dtp train`: the epoch loop around the core's `train_epoch`, with evaluation, metrics,
//! checkpoints, resumption and the final summary.
//!
//! Random streams (all `Pcg64`, seeded from `--seed`): initialisation, training noise and
//! sampling, the per-epoch shuffle, and evaluation (re-seeded from the epoch, so evaluating
//! never changes training). The training and shuffle generators are saved in every
//! checkpoint, so a resumed run is bit-identical to an uninterrupted one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::anyhow;
use rand_pcg::Pcg64;

use crate::batches::EpochBatches;
use crate::checkpoint;
use crate::config::{Algo, Arith, Hyper, HyperPatch};
use crate::data::{CsvFormat, Dataset, HeaderRule, LabelColumn, ScaleKind, Splits, range_warning};
use crate::datasets::{self, ScaleRequest};
use crate::divergence::{Verdict, Watch};
use crate::failure::{Classify, EXIT_NON_FINITE, Failure, Outcome};
use crate::metrics::{self, EpochRecord, Reconstruction, Summary};
use crate::model::{self, Evaluation, Model, ModelKind};
use crate::observe::Observer;
use crate::plot;
use crate::presets::{self, DataKind, Preset};
use crate::rundir::{self, DataRecord};

/// PCG stream of weight initialisation.
const STREAM_INIT: u128 = 1;
/// PCG stream of training noise and sampling.
const STREAM_TRAIN: u128 = 2;
/// PCG stream of the shuffle.
const STREAM_SHUFFLE: u128 = 3;
/// PCG stream of evaluation (the state is the seed plus the epoch).
const STREAM_EVAL: u128 = 4;
/// PCG stream of the shuffles of the auto-encoder's final linear probes.
const STREAM_PROBE: u128 = 5;

/// A generator for `stream` seeded by `seed`.
pub fn rng(seed: u64, stream: u128) -> Pcg64 {
    Pcg64::new(
        u128::from(seed) ^ 0x5851_f42d_4c95_7f2d_1405_7b7e_f767_814f,
        stream,
    )
}

/// The evaluation generator after `epoch` epochs.
pub fn eval_rng(seed: u64, epoch: u32) -> Pcg64 {
    rng(seed.wrapping_add(u64::from(epoch) << 32), STREAM_EVAL)
}

/// The final evaluation of a run: test, then validation, each averaging `eval_passes`
/// sampled passes drawn from `rng`, which starts as `eval_rng(seed, u32::MAX)` — the same
/// draws whenever it runs, so `--eval-every`'s figure at the last epoch is the summary's,
/// and `dtp eval` of a checkpoint gives the figure of its epoch.
pub fn final_evaluation(
    model: &mut Model,
    hyper: &Hyper,
    splits: &Splits,
    rng: &mut Pcg64,
) -> Result<(Evaluation, Evaluation), dtp_core::Error> {
    let test = model.evaluate(&splits.test, hyper.eval_passes, rng)?;
    let valid = model.evaluate(&splits.valid, hyper.eval_passes, rng)?;
    Ok((test, valid))
}

/// Who checks that data fits a network, for the way out a mismatch message suggests.
#[derive(Clone, Copy, Debug)]
pub enum Fit<'a> {
    /// `dtp train`: the layout can change (`--layers`).
    Train,
    /// `dtp eval` of the checkpoint at this path: the network is what it is.
    Eval(&'a Path),
}

/// Checks that a dataset fits a model: its features are the network's input width and its
/// labels are among the classes the model tells apart (exit 2 naming both numbers, and a
/// way out that `fit`'s command has).
pub fn check_fits(d: &Dataset, model: &Model, fit: Fit<'_>) -> Outcome<()> {
    let s = model.shape();
    let eval_hint = |ckpt: &Path| {
        format!(
            "the checkpoint {} evaluates data like that it was trained on; to learn this data, \
             train a network on it: dtp train --data FILE",
            ckpt.display()
        )
    };
    if d.features != s.inputs() {
        let hint = match fit {
            Fit::Train => format!("use --layers {}-… or `auto` for the input", d.features),
            Fit::Eval(ckpt) => eval_hint(ckpt),
        };
        return Err(Failure::input(anyhow!(
            "{}: {} features per sample, but the network {} has an input width of {} ({hint})",
            d.name,
            d.features,
            s.widths(),
            s.inputs(),
        )));
    }
    if d.classes > model.classes() {
        let hint = match fit {
            Fit::Train => format!("use an output width of {} or `auto`", d.classes),
            Fit::Eval(ckpt) => eval_hint(ckpt),
        };
        return Err(Failure::input(anyhow!(
            "{}: labels of {} classes, but the network {} tells {} classes apart ({hint})",
            d.name,
            d.classes,
            s.widths(),
            model.classes(),
        )));
    }
    Ok(())
}

/// [`check_fits`] for the three splits of the data read from `source` (named in the message
/// when given: a CSV file, a data directory).
pub fn check_splits(
    splits: &Splits,
    model: &Model,
    source: Option<&Path>,
    fit: Fit<'_>,
) -> Outcome<()> {
    for d in [&splits.train, &splits.valid, &splits.test] {
        check_fits(d, model, fit).map_err(|f| match source {
            Some(p) => Failure {
                code: f.code,
                error: anyhow!("{}: {}", p.display(), f.error),
            },
            None => f,
        })?;
    }
    Ok(())
}

/// Exit 2 (naming the numbers and the data) when a run would do nothing or measure
/// nothing: a training split smaller than one minibatch (no step would be taken), or an empty
/// validation or test split (its error would be reported as 0 % of no samples).
pub fn check_sizes(splits: &Splits, hyper: &Hyper, source: Option<&Path>) -> Outcome<()> {
    let (train, valid, test) = (splits.train.len(), splits.valid.len(), splits.test.len());
    let data = match source {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    };
    let sizes = format!("{train} train / {valid} valid / {test} test samples");
    if train < hyper.batch as usize {
        return Err(Failure::input(anyhow!(
            "{data}--batch {} is larger than the training split ({sizes}): no training step \
             would run; use --batch {} or less, or more data",
            hyper.batch,
            train.max(1)
        )));
    }
    for (name, n) in [("validation", valid), ("test", test)] {
        if n == 0 {
            return Err(Failure::input(anyhow!(
                "{data}the {name} split is empty ({sizes}): its error would be measured on \
                 nothing; give the data more rows"
            )));
        }
    }
    Ok(())
}

/// The layer widths of `hyper`'s layout on `data` (`auto` ends resolved), checked for zero
/// widths.
pub fn resolve_layers(hyper: &Hyper, data: &Dataset) -> Vec<usize> {
    let outputs = match hyper.model {
        ModelKind::Classifier => data.classes,
        ModelKind::Autoencoder => data.features,
    };
    hyper.layers.resolve(data.features, outputs)
}

/// What `dtp train` does, as plain data: a Rust program fills one in (starting from
/// `RunSpec::default()`) and calls [`train`]; the `dtp` binary builds one from its flags.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    /// The preset whose settings the run starts from [default: `digits`] (with `resume`:
    /// must be the checkpoint's, if given).
    pub preset: Option<String>,
    /// Settings over the preset's (network, training, run); applied after `config`'s.
    pub patch: HyperPatch,
    /// A TOML file of settings, applied before `patch`.
    pub config: Option<PathBuf>,
    /// Where the data is: a directory of MNIST / Fashion-MNIST / CIFAR-10 files, or a CSV file
    /// [default: the data directory; the digits are embedded].
    pub data: Option<PathBuf>,
    /// How CSV features are scaled [default: [`ScaleKind::Auto`]].
    pub scale: Option<ScaleKind>,
    /// Whether a CSV file's first line is a header [default: [`HeaderRule::Auto`]].
    pub header: Option<HeaderRule>,
    /// The column of a CSV file holding the label [default: [`LabelColumn::Last`]].
    pub label_column: Option<LabelColumn>,
    /// On `resume`: accept a `data` other than the recorded one.
    pub change_data: bool,
    /// The run directory [default: a fresh one, `runs/PRESET` or the first free of
    /// `runs/PRESET-2`, `runs/PRESET-3`, … ([`rundir::fresh_dir`]); with `resume` or `force`,
    /// `runs/PRESET`].
    pub out: Option<PathBuf>,
    /// Continue the run in `out` from its checkpoint.
    pub resume: bool,
    /// Start over in an `out` that holds a run (its files are replaced).
    pub force: bool,
    /// Draw `curves.png` (and an auto-encoder's `filters.png`) at the end.
    pub plot: bool,
    /// Testing aid: abort the process after this many batches (as a crash would).
    pub abort_after_batches: Option<u64>,
    /// Go on training when the loss diverges ([`crate::divergence`]'s rule off; a NaN still
    /// stops the run).
    pub allow_divergence: bool,
    /// Threads that carry the chunks of each minibatch (at most `chunks` of them work, and
    /// at most the processor's available cores are started; 0 reads as 1). Never changes a
    /// result.
    pub threads: usize,
}

/// A setting out of range (exit 2), naming the `--config` file when one was given: the value
/// came from it or from a flag.
fn invalid_setting(args: &RunSpec, e: impl std::fmt::Display) -> Failure {
    Failure::input(match &args.config {
        Some(path) => anyhow!(
            "{}: invalid setting (from this file or a flag): {e}",
            path.display()
        ),
        None => anyhow!("invalid setting: {e}"),
    })
}

/// Ends the process on the user's request (see [`Observer::stop_requested`]): epoch `epoch`
/// was under way, the checkpoint of epoch `good` is kept; `then` says how to go on.
pub(crate) fn interrupt(obs: &mut dyn Observer, epoch: u32, good: u32, then: &str) -> ! {
    obs.finish();
    obs.interrupted(&format!(
        "interrupted in epoch {epoch}; checkpoint of epoch {good} kept; {then}"
    ));
    std::process::exit(i32::from(crate::failure::EXIT_INTERRUPTED))
}

/// The message of a run stopped by [`crate::divergence`]'s rule.
fn diverged(epoch: u32, why: &str, hyper: &Hyper, ckpt: &Path, good: u32) -> Failure {
    let lower = match hyper.algo {
        Algo::Bp => format!("--lr-forward (now {})", hyper.forward.lr),
        _ => format!(
            "--lr-forward (now {}), or --eta-hat (now {})",
            hyper.forward.lr, hyper.eta_hat
        ),
    };
    Failure {
        code: EXIT_NON_FINITE,
        error: anyhow!(
            "epoch {epoch}: training diverged: {why}\ntraining stopped; lower the learning \
             rate: {lower} (or add --allow-divergence to go on); the last good checkpoint is \
             kept: {} (epoch {good})",
            ckpt.display()
        ),
    }
}

/// The message of a training failure on a NaN or infinity.
fn non_finite(epoch: u32, e: impl std::fmt::Display, ckpt: &Path, good: u32) -> Failure {
    Failure {
        code: EXIT_NON_FINITE,
        error: anyhow!(
            "epoch {epoch}: {e}\ntraining stopped; the last good checkpoint is kept: {} \
             (epoch {good})",
            ckpt.display()
        ),
    }
}

struct Run {
    preset: &'static Preset,
    hyper: Hyper,
    model: Model,
    train_rng: Pcg64,
    shuffle_rng: Pcg64,
}

/// The preset of a fresh run.
fn preset_of(args: &RunSpec) -> Outcome<&'static Preset> {
    let name = args.preset.as_deref().unwrap_or(presets::PRESETS[0].name);
    presets::find(name).ok_or_else(|| Failure::input(anyhow!("unknown preset `{name}`")))
}

/// The data of a run, read before its model is built (a missing dataset is reported at
/// once): a fresh run fits `--scale` on CSV input; a resumed one reads its recorded source
/// and applies its recorded scaling (older checkpoints: `--data` as given, unscaled).
fn data_of(
    args: &RunSpec,
    obs: &mut dyn Observer,
    kind: DataKind,
    resumed: Option<(&Path, Option<&DataRecord>)>,
) -> Outcome<(Splits, DataRecord)> {
    let data = args.data.as_deref();
    let csv_flags = [
        args.header.map(|_| "--header"),
        args.label_column.map(|_| "--label-column"),
    ];
    let (data, request, csv) = match resumed {
        None => {
            let csv_input = datasets::is_csv(kind, data);
            // `--scale auto` (the default) is accepted whatever the input.
            let scale_flag = args
                .scale
                .filter(|&k| k != ScaleKind::Auto)
                .map(|_| "--scale");
            if let Some(flag) = [scale_flag].into_iter().chain(csv_flags).flatten().next()
                && !csv_input
            {
                return Err(Failure::input(anyhow!(
                    "{flag} applies to CSV input (--data FILE.csv); this run reads {}",
                    data.map_or_else(|| "built-in data".into(), |d| d.display().to_string())
                )));
            }
            let csv = CsvFormat {
                header: args.header.unwrap_or_default(),
                label_column: args.label_column.unwrap_or_default(),
            };
            let kind = args.scale.unwrap_or_default();
            (data.map(Path::to_path_buf), ScaleRequest::Fit(kind), csv)
        }
        Some((ckpt, record)) => {
            let given = [args.scale.map(|_| "--scale")].into_iter().chain(csv_flags);
            if let Some(flag) = given.flatten().next() {
                return Err(Failure::input(anyhow!(
                    "{}: {flag} cannot change on --resume: the run's scaling and the way it \
                     reads its CSV file are recorded in its checkpoint",
                    ckpt.display()
                )));
            }
            let data = rundir::resume_data(ckpt, record, data, args.change_data)?;
            let scaling = record.map(|r| r.scaling.clone()).unwrap_or_default();
            let csv = record.and_then(|r| r.csv).unwrap_or_default();
            (data, ScaleRequest::Use(scaling), csv)
        }
    };
    let loaded = datasets::load_scaled(kind, data.as_deref(), &csv, &request)?;
    for note in &loaded.notes {
        obs.line(&format!("note: {note}"));
    }
    let source = datasets::source_name(kind, data.as_deref());
    if let Some(c) = &loaded.choice {
        obs.line(&format!(
            "{source}: scaling {} (--scale {}: {})",
            loaded.scaling.describe(),
            c.asked.name(),
            c.reason
        ));
    }
    let splits = loaded.splits;
    // Unscaled input only: standardised features have outliers beyond a few units by design.
    let sets = [&splits.train, &splits.valid, &splits.test];
    if loaded.scaling.is_none()
        && let Some(w) = sets.into_iter().find_map(range_warning)
    {
        obs.warning(&w);
    }
    let csv_input = datasets::is_csv(kind, data.as_deref());
    let mut record = DataRecord::new(data.as_deref(), loaded.scaling);
    record.scale = loaded
        .choice
        .or_else(|| resumed.and_then(|(_, r)| r?.scale.clone()));
    record.csv = csv_input.then_some(csv);
    Ok((splits, record))
}

/// Sets up a fresh run or loads the checkpoint of a resumed one, applying `patches` in turn; loads the
/// data (before any model is built) and checks that it fits the network; returns the run,
/// its epoch, its data and the record of where the data came from.
fn start(
    args: &RunSpec,
    obs: &mut dyn Observer,
    out: &Path,
    patches: &[HyperPatch],
) -> Outcome<(Run, u32, Splits, DataRecord)> {
    let ckpt_path = out.join(checkpoint::FILE_NAME);
    if args.resume {
        let c = checkpoint::load(&ckpt_path).or_input()?;
        if let Some(p) = &args.preset
            && p != c.preset.name
        {
            return Err(Failure::input(anyhow!(
                "{}: holds a `{}` run, not `{p}`",
                ckpt_path.display(),
                c.preset.name
            )));
        }
        let mut hyper = c.hyper.clone();
        hyper
            .apply_all(patches)
            .map_err(|e| invalid_setting(args, e))?;
        hyper.validate_run().map_err(|e| invalid_setting(args, e))?;
        if (
            hyper.dataset,
            hyper.model,
            &hyper.layers,
            hyper.batch,
            hyper.units,
        ) != (
            c.hyper.dataset,
            c.hyper.model,
            &c.hyper.layers,
            c.hyper.batch,
            c.hyper.units,
        ) {
            return Err(Failure::input(anyhow!(
                "{}: a resumed run keeps its network: dataset, model, layers, batch and units \
                 cannot change (start a new run with another --out)",
                ckpt_path.display()
            )));
        }
        let mut model = c.model;
        model
            .configure(&hyper)
            .map_err(|e| invalid_setting(args, e))?;
        let (splits, record) = data_of(
            args,
            obs,
            hyper.dataset,
            Some((&ckpt_path, c.data.as_ref())),
        )?;
        check_splits(&splits, &model, record.source.as_deref(), Fit::Train)?;
        check_sizes(&splits, &hyper, record.source.as_deref())?;
        let epoch = model.epoch();
        Ok((
            Run {
                preset: c.preset,
                hyper,
                model,
                train_rng: c.train_rng,
                shuffle_rng: c.shuffle_rng,
            },
            epoch,
            splits,
            record,
        ))
    } else {
        let preset = preset_of(args)?;
        let mut hyper = (preset.defaults)();
        let algo = patches
            .iter()
            .rev()
            .find_map(|p| p.algo)
            .unwrap_or(hyper.algo);
        if algo == Algo::Bp && hyper.algo != Algo::Bp {
            hyper.forward = presets::backprop_forward(&hyper);
        }
        hyper
            .apply_all(patches)
            .map_err(|e| invalid_setting(args, e))?;
        hyper.validate_run().map_err(|e| invalid_setting(args, e))?;
        if hyper.algo == Algo::Bp && hyper.arith == Arith::Float {
            let set = patches
                .iter()
                .any(|p| p.forward.as_ref().is_some_and(|f| f.lr.is_some()));
            obs.note(&format!(
                "--algo bp: forward optimiser {} lr {} ({})",
                match hyper.forward.kind {
                    dtp_core::OptimiserKind::RmsProp { .. } => "RMSprop",
                    dtp_core::OptimiserKind::Sgd { .. } => "SGD",
                    dtp_core::OptimiserKind::Adam { .. } => "Adam",
                },
                hyper.forward.lr,
                if set {
                    "as set".to_string()
                } else {
                    format!(
                        "backprop's reference for the {} preset; --lr-forward to change",
                        preset.name
                    )
                }
            ));
        }
        let config = hyper.to_core();
        config.validate().map_err(|e| invalid_setting(args, e))?;
        let (splits, record) = data_of(args, obs, hyper.dataset, None)?;
        let source = datasets::source_name(hyper.dataset, args.data.as_deref());
        let auto_output = hyper.model == ModelKind::Classifier && hyper.layers.output.is_none();
        if let Some(w) = datasets::check_labels(&splits, &source, auto_output)? {
            obs.warning(&w);
        }
        let widths = resolve_layers(&hyper, &splits.train);
        let mut model = model::build(&hyper, &widths, splits.train.classes)
            .map_err(|e| invalid_setting(args, e))?;
        check_splits(&splits, &model, args.data.as_deref(), Fit::Train)?;
        check_sizes(&splits, &hyper, record.source.as_deref())?;
        model
            .init(&hyper, &mut rng(hyper.seed, STREAM_INIT))
            .map_err(|e| invalid_setting(args, e))?;
        Ok((
            Run {
                preset,
                train_rng: rng(hyper.seed, STREAM_TRAIN),
                shuffle_rng: rng(hyper.seed, STREAM_SHUFFLE),
                hyper,
                model,
            },
            0,
            splits,
            record,
        ))
    }
}

/// `dtp train`: trains, writing checkpoints, metrics, `summary.json`, `config.toml` and
/// `curves.png` into the run directory; returns the summary. A run that fails before it
/// writes anything leaves no directory behind.
pub fn train(args: &RunSpec, obs: &mut dyn Observer) -> Outcome<Summary> {
    let t0 = Instant::now();
    // Flags win over the TOML file: its patch is applied first.
    let file = match &args.config {
        Some(path) => HyperPatch::from_file(path).or_input()?,
        None => HyperPatch::default(),
    };
    let patches = [file, args.patch.clone()];
    if args.resume {
        rundir::require_checkpoint(&default_out(args))?;
    }
    let (out, created) = match &args.out {
        Some(out) => (out.clone(), rundir::missing_dirs(out)),
        None if args.resume || args.force => {
            let out = default_out(args);
            let created = rundir::missing_dirs(&out);
            (out, created)
        }
        None => rundir::fresh_dir(&default_out(args))?,
    };
    let result = train_in(args, obs, &patches, out, t0);
    if result.is_err() {
        rundir::remove_created(&created);
    }
    result
}

/// The run directory of a run given no `--out`: `runs/PRESET`.
fn default_out(args: &RunSpec) -> PathBuf {
    match &args.out {
        Some(out) => out.clone(),
        None => {
            PathBuf::from("runs").join(args.preset.as_deref().unwrap_or(presets::PRESETS[0].name))
        }
    }
}

/// [`train`] in the run directory `out`.
fn train_in(
    args: &RunSpec,
    obs: &mut dyn Observer,
    patches: &[HyperPatch],
    out: PathBuf,
    t0: Instant,
) -> Outcome<Summary> {
    // The integer step (`--arith int`) has its own loop: crate::int_model.
    // Said once the run is known to start (a refused run leaves no directory to name).
    let note = |obs: &mut dyn Observer| {
        if args.out.is_none() && !args.resume && !args.force {
            obs.note(&format!(
                "run directory {} (a new one; --out DIR to choose)",
                out.display()
            ));
        }
    };
    if crate::int_model::wants_int(args, patches, &out) {
        note(obs);
        return crate::int_model::train(args, obs, patches, out.clone());
    }
    let ckpt_path = out.join(checkpoint::FILE_NAME);
    if args.resume {
        rundir::require_checkpoint(&out)?;
    } else {
        rundir::refuse_existing_run(&out, args.force)?;
    }
    rundir::prepare_out(&out)?;
    let (mut run, start_epoch, splits, record) = start(args, obs, &out, patches)?;
    note(obs);
    // No more threads than cores: the chunk trainer's threads wait for each other spinning,
    // and more of them than cores only take turns (4 threads on 2 cores ran at 0.90–0.93× the
    // speed of 2 in BENCHMARKS.md's fourth round).
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    run.model
        .set_parallel(run.hyper.chunks as usize, args.threads.clamp(1, cores));
    let save = |run: &Run| {
        checkpoint::save_with(
            &ckpt_path,
            run.preset,
            &run.hyper,
            &run.model,
            &run.train_rng,
            &run.shuffle_rng,
            Some(&record),
        )
        .or_other()
    };
    if args.resume {
        metrics::truncate(&out, start_epoch).or_other()?;
    } else {
        metrics::reset(&out).or_other()?;
        save(&run)?;
    }
    checkpoint::write_atomic(&out.join("config.toml"), run.hyper.to_toml().as_bytes())
        .map_err(|e| Failure::other(anyhow!("{}: {e}", out.display())))?;

    let (train_secs, trained) = epochs(&mut run, &splits, start_epoch, args, obs, &out, &save)?;

    // The auto-encoder fits its linear probes on the final codes (kept in the checkpoint).
    let epoch = run.model.epoch();
    let finish = match &mut run.model {
        Model::Autoencoder(ae) => Some(
            ae.finish(&splits, &mut rng(run.hyper.seed, STREAM_PROBE))
                .map_err(|e| non_finite(epoch, format!("linear probe: {e}"), &ckpt_path, epoch))?,
        ),
        Model::Classifier(_) | Model::Conv(_) => None,
    };
    if finish.is_some() {
        save(&run)?;
    }

    let hyper = &run.hyper;
    let epoch = run.model.epoch();
    let mut erng = eval_rng(hyper.seed, u32::MAX);
    let (test, valid) = final_evaluation(&mut run.model, hyper, &splits, &mut erng)
        .map_err(|e| non_finite(hyper.epochs, e, &ckpt_path, epoch))?;
    // One pass over the (large) training set: an estimate, not the figure of merit.
    let train = run
        .model
        .evaluate(&splits.train, 1, &mut erng)
        .map_err(|e| non_finite(hyper.epochs, e, &ckpt_path, epoch))?;
    let summary = Summary {
        preset: run.preset.name.to_string(),
        widths: run.model.shape().widths(),
        test_error: test.error,
        valid_error: valid.error,
        train_error: train.error,
        epochs: run.model.epoch(),
        seconds: t0.elapsed().as_secs_f64(),
        samples_per_sec: if train_secs > 0.0 {
            trained as f64 / train_secs
        } else {
            0.0
        },
        train_seconds_total: metrics::read_or_empty(&out)
            .or_other()?
            .iter()
            .map(|r| r.train_seconds)
            .sum(),
        hyper: run.hyper.clone(),
        reconstruction: (run.model.kind() == ModelKind::Autoencoder).then_some(Reconstruction {
            train: train.loss,
            valid: valid.loss,
            test: test.loss,
        }),
        probe: finish.as_ref().map(|f| f.probe.clone()),
        pixel_probe: finish.map(|f| f.pixel_probe),
        weights_digest: None,
        data: record.csv_name(run.hyper.dataset),
    };
    let json = serde_json::to_string_pretty(&summary).or_other()? + "\n";
    checkpoint::write_atomic(&out.join(metrics::SUMMARY), json.as_bytes())
        .map_err(|e| Failure::other(anyhow!("{}: {e}", out.display())))?;
    if args.plot && run.model.epoch() > 0 {
        if let Err(e) = metrics::read(&out)
            .and_then(|r| plot::draw(&r, &title(&run), &out.join(plot::FILE_NAME)))
        {
            obs.warning(&format!("no curves: {e:#}"));
        }
        if run.model.kind() == ModelKind::Autoencoder
            && let Err(e) = plot::draw_filters(&run.model, &out.join(plot::FILTERS))
        {
            obs.warning(&format!("no filters image: {e:#}"));
        }
    }
    Ok(summary)
}

fn title(run: &Run) -> String {
    format!(
        "{} {} ({})",
        run.preset.name,
        run.model.shape().widths(),
        run.hyper.algo
    )
}

/// The epoch loop; returns the training seconds and samples trained in this invocation.
#[allow(clippy::too_many_arguments)]
fn epochs(
    run: &mut Run,
    splits: &Splits,
    start_epoch: u32,
    args: &RunSpec,
    obs: &mut dyn Observer,
    out: &Path,
    save: &dyn Fn(&Run) -> Outcome<()>,
) -> Outcome<(f64, u64)> {
    let t0 = Instant::now();
    let shape = run.model.shape();
    let per_epoch = (splits.train.len() / shape.batch * shape.batch) as u64;
    let epochs = run.hyper.epochs;
    let passes = run.model.passes_per_epoch(run.hyper.algo);
    obs.start(
        per_epoch * u64::from(epochs),
        per_epoch * u64::from(start_epoch.min(epochs)),
        shape.batch,
        passes,
    );
    {
        obs.line(&format!(
            "{} {} on {} ({} train / {} valid / {} test), {}, epochs {}..={epochs} -> {}",
            run.preset.name,
            shape.widths(),
            splits.train.name,
            splits.train.len(),
            splits.valid.len(),
            splits.test.len(),
            run.hyper.algo,
            u64::from(start_epoch) + 1,
            out.display()
        ));
    }
    let ckpt_path = out.join(checkpoint::FILE_NAME);
    let mut good = start_epoch;
    let (mut train_secs, mut trained) = (0.0, 0u64);
    let mut fills = 0u64;
    let abort_after = args.abort_after_batches;
    let mut watch =
        Watch::new((run.model.kind() == ModelKind::Classifier).then(|| run.model.classes()));
    // A resumed run's watch knows the epochs before it.
    for r in metrics::read_or_empty(out).or_other()? {
        if r.epoch <= start_epoch {
            watch.observe(r.epoch, r.train_loss, r.train_error);
        }
    }
    // Not `start_epoch + 1..=epochs`: a checkpoint may claim epoch u32::MAX.
    for epoch in (start_epoch..epochs).map(|e| e + 1) {
        obs.epoch(epoch, epochs);
        let sigma = run.model.sigma();
        let t = Instant::now();
        let result = {
            let mut on_batch = || {
                if obs.stop_requested() {
                    interrupt(
                        obs,
                        epoch,
                        good,
                        &format!("continue with dtp train --resume {}", out.display()),
                    );
                }
                obs.batch();
                fills += 1;
                if abort_after == Some(fills) {
                    std::process::abort();
                }
            };
            let mut batches = EpochBatches::new(
                &splits.train,
                shape.batch,
                &mut run.shuffle_rng,
                &mut on_batch,
            );
            run.model.train_epoch(
                &mut batches,
                run.hyper.algo,
                run.hyper.bp_gradient,
                &mut run.train_rng,
            )
        };
        let stats = result.map_err(|e| {
            obs.finish();
            non_finite(epoch, e, &ckpt_path, good)
        })?;
        let secs = t.elapsed().as_secs_f64();
        train_secs += secs;
        trained += per_epoch;
        if !run.model.is_finite() {
            obs.finish();
            return Err(non_finite(epoch, "non-finite weights", &ckpt_path, good));
        }
        let mut erng = eval_rng(run.hyper.seed, epoch);
        let mut evaluate = |d: &Dataset| {
            run.model
                .evaluate(d, 1, &mut erng)
                .map_err(|e| non_finite(epoch, e, &ckpt_path, good))
        };
        let valid = evaluate(&splits.valid)?;
        let test = evaluate(&splits.test)?;
        let every = run.hyper.eval_every;
        let (test_passes, valid_passes) = if every > 0 && epoch % every == 0 {
            let mut rng = eval_rng(run.hyper.seed, u32::MAX);
            let (t, v) = final_evaluation(&mut run.model, &run.hyper, splits, &mut rng)
                .map_err(|e| non_finite(epoch, e, &ckpt_path, good))?;
            (Some(t.error), Some(v.error))
        } else {
            (None, None)
        };
        let record = EpochRecord {
            kind: run.model.kind(),
            epoch,
            train_error: f64::from(stats.error),
            train_loss: f64::from(stats.loss),
            valid_error: valid.error,
            valid_loss: valid.loss,
            test_error: test.error,
            test_loss: test.loss,
            valid_error_passes: valid_passes,
            test_error_passes: test_passes,
            local_loss: run.model.local_loss(),
            inverse_loss: run.model.inverse_loss(),
            sigma,
            train_seconds: secs,
            wall_seconds: t0.elapsed().as_secs_f64(),
            samples_per_sec: per_epoch as f64 / secs.max(1e-9),
        };
        let passes = match (record.valid_error_passes, record.test_error_passes) {
            (Some(v), Some(t)) => format!(
                "  [{} passes: valid {:.2}%  test {:.2}%]",
                run.hyper.eval_passes,
                100.0 * v,
                100.0 * t
            ),
            _ => String::new(),
        };
        obs.line(&match record.kind {
            ModelKind::Classifier => format!(
                "epoch {epoch:>4}: train {:6.2}%  valid {:6.2}%  test {:6.2}%  L {:.4}  {:.0} \
                 samples/s training{passes}",
                100.0 * record.train_error,
                100.0 * record.valid_error,
                100.0 * record.test_error,
                record.train_loss,
                record.samples_per_sec
            ),
            ModelKind::Autoencoder => format!(
                "epoch {epoch:>4}: reconstruction train {:.3}  valid {:.3}  test {:.3}  \
                 online probe valid {:5.2}%  test {:5.2}%  {:.0} samples/s training",
                record.train_loss,
                record.valid_loss,
                record.test_loss,
                100.0 * record.valid_error,
                100.0 * record.test_error,
                record.samples_per_sec
            ),
        });
        metrics::append(out, &record).or_other()?;
        let verdict = if args.allow_divergence {
            Verdict::Fine
        } else {
            watch.observe(epoch, record.train_loss, record.train_error)
        };
        if let Verdict::Diverged(why) = verdict {
            obs.finish();
            return Err(diverged(epoch, &why, &run.hyper, &ckpt_path, good));
        }
        let due = epoch % run.hyper.checkpoint_every == 0 || epoch == epochs;
        // A suspect epoch's checkpoint is held back: if the next one diverges too, the
        // checkpoint kept is the one from before the loss rose.
        if due && (verdict == Verdict::Fine || epoch == epochs) {
            save(run)?;
            good = epoch;
        }
    }
    obs.finish();
    Ok((train_secs, trained))
}
