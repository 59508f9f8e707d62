//! The desktop twin of the device's integer DTP step: `dtp train --arith int` (presets
//! `digits-int`, `mnist-int`) trains [`dtp_core::int`]'s [`IntTrainer`] — i16 weights, sign
//! units, SGD at `mul·2^−shift` rates, one sample a step — and `dtp eval`, `dtp info` and
//! `dtp export` read its checkpoints.
//!
//! **Bit identity with the firmware.** On the `firmware-digits` data (the device's 4-bit
//! digits) a run trains on the device's whole stream (the 1,438 digits with `i % 5 != 4`, in
//! index order), in the order `firmware/build.rs` writes: Fisher–Yates from
//! `Pcg32::new(seed, ORDER_STREAM)` before each epoch (the previous epoch's order shuffled
//! again), with the trainer's generator `Pcg32::new(seed, TRAINER_STREAM)` (initialisation,
//! dither, noise) — so `dtp train --preset digits-int --seed 1` ends with the weights
//! `learn_digits_int` ends with on the Cortex-M0, whose FNV-1a [`digest`] it prints (the
//! device's log line `weights digest after training`; `firmware/int-weights-digest-seed1.txt`).
//! Other data (MNIST: pixels in `[0, 1]`) enter as Q8 (`round(256·x)`, clamped to `±256`).
//! Evaluation draws nothing (sign units are deterministic); the validation split of
//! `digits-int` is part of the device's stream (the device has none).
//!
//! **Settings** ([`settings_of`]): the same keys as a float run, read in integers —
//! `eta_hat` → `η̂ = mul·2^−shift` (exact when it is such a number with `mul ≤ 4096`),
//! `forward.lr` → the hidden layers' rate and a quarter of it the output layer's,
//! `inverse.lr` → the inverses' rate (each `mul·2^−shift`, `mul ∈ [256, 512)`), `sigma` → σ in
//! Q14, `lr_tau` → `decay_every = round(lr_tau · samples an epoch)` (0: no decay). The
//! optimisers must be SGD without momentum, the batch 1, the units `sign`, the algorithm DTP.
//!
//! **Checkpoint** (`checkpoint.safetensors`, format `dtp-int-checkpoint/1`): dtype `I16`
//! tensors `net.f{i}.weight` `[n_i, n_{i−1}]` (row-major, as the float checkpoints'),
//! `net.f{i}.bias` `[n_i]`, `net.g{i}.weight` `[n_{i−1}, n_i]`, `net.g{i}.bias` `[n_{i−1}]`,
//! all Q3.12 (4096 is 1.0); metadata `format`, `preset`, `widths`, `classes`, `epoch`,
//! `hyper` (JSON), `data`, `decay_every`, `samples_seen`, `digest`.
//!
//! **Export** (`dtp export RUN --firmware FILE`): the flat parameters a device loads with
//! `IntTrainer::params_mut().copy_from_slice`, as little-endian `i16`, no header: for
//! `i = 1 … M`, `W_i` column-major (`n_i` rows: column `j` holds the weights from input `j`)
//! then `b_i`; then for `i = 2 … M−1`, `V_i` column-major (`n_{i−1}` rows) then `c_i`.
//! `2 · params(widths)` bytes (9,044 for 64-32-32-10); the file's FNV-1a is the digest.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use dtp_core::int::{Input, IntTrainer, Noise, Rate, Scale, Settings, Vectors, valid_widths};
use dtp_core::step;
use dtp_core::{Error, OptimiserKind};
use rand_core::Rng;
use rand_pcg::Pcg32;
use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::checkpoint::{self, write_atomic};
use crate::config::{Hyper, HyperPatch};
use crate::data::{Dataset, Splits};
use crate::data_record::{DATA_KEY, DataRecord};
use crate::datasets::{self, ScaleRequest};
use crate::failure::{Classify, Failure, Outcome};
use crate::kinds::{Algo, Arith, DataKind, ModelKind, UnitsName};
use crate::metrics::{self, EpochRecord, Summary};
use crate::model::Evaluation;
use crate::observe::Observer;
use crate::presets::{self, Preset};
use crate::rundir;
use crate::train::RunSpec;

/// Value of the `format` metadata key of an integer checkpoint.
pub const FORMAT: &str = "dtp-int-checkpoint/1";
/// The trainer generator's stream (`firmware/src/int_digits.rs`, `TRAINER_STREAM`).
pub const TRAINER_STREAM: u64 = 0x0a02_bdbf_7bb3_c0a7;
/// The sample order's stream (`firmware/build.rs`, `firmware/src/source.rs`).
pub const ORDER_STREAM: u64 = 0x5851_f42d_4c95_7f2d;

/// FNV-1a (32 bits) over the little-endian bytes of every parameter: the firmware's
/// `weights digest after training`.
pub fn digest(params: &[i16]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for b in params.iter().flat_map(|p| p.to_le_bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h
}

/// Fisher–Yates as the firmware's: for `i` from the last down to 1, swap with `⌊r·(i+1)/2³²⌋`.
pub fn shuffle(order: &mut [u32], rng: &mut Pcg32) {
    for i in (1..order.len()).rev() {
        let r = u64::from(rng.next_u32());
        let j = ((r * (i as u64 + 1)) >> 32) as usize;
        order.swap(i, j);
    }
}

/// `η̂` as `mul·2^−shift` (the smallest shift ≤ 12 that represents it exactly, else 12).
fn scale(eta: f32) -> Result<Scale, String> {
    if !(eta.is_finite() && eta >= 0.0) {
        return Err(format!("eta_hat = {eta}: must be finite and ≥ 0"));
    }
    let eta = f64::from(eta);
    let shift = (0..=12u8)
        .find(|&s| (eta * f64::from(1u32 << s)).fract() == 0.0)
        .unwrap_or(12);
    let mul = (eta * f64::from(1u32 << shift)).round();
    if mul > 4096.0 {
        return Err(format!(
            "eta_hat = {eta}: the integer step takes η̂ = mul·2^-shift with mul ≤ 4096"
        ));
    }
    Ok(Scale {
        mul: mul as u16,
        shift,
    })
}

/// An SGD rate as `mul·2^−shift`, `mul ∈ [256, 512)` (`extra`: further halvings).
fn rate(name: &str, lr: f32, extra: u8) -> Result<Rate, String> {
    if !(lr.is_finite() && lr > 0.0) {
        return Err(format!("{name} lr = {lr}: must be finite and > 0"));
    }
    let lr = f64::from(lr);
    let shift = 8 - lr.log2().floor() as i32 + i32::from(extra);
    let r = u8::try_from(shift)
        .ok()
        .map(|shift| Rate {
            mul: (lr * f64::from(1u32 << shift.min(31)) / f64::from(1u32 << extra)).round() as u16,
            shift,
        })
        .filter(|r| r.is_valid());
    r.ok_or_else(|| format!("{name} lr = {lr}: out of the integer step's range (2^-20 … 2^6)"))
}

/// What `--arith int` requires of the other settings.
pub fn validate(h: &Hyper) -> Result<(), String> {
    let sgd = |o: &dtp_core::Optimiser| matches!(o.kind, OptimiserKind::Sgd { momentum } if momentum == 0.0);
    let problem = if h.batch != 1 {
        "batch: the integer step trains one sample a step (--batch 1)"
    } else if h.units != UnitsName::Sign {
        "units: the integer step's hidden units are sign units (--units sign)"
    } else if h.algo != Algo::Dtp {
        "algo: the integer step is DTP (--algo dtp)"
    } else if h.model != ModelKind::Classifier {
        "model: the integer step trains classifiers"
    } else if !sgd(&h.forward) || !sgd(&h.inverse) {
        "optimiser: the integer step is SGD without momentum (--optimiser sgd)"
    } else if h.input_noise != 0.0 || h.sigma_tau != 0.0 {
        "input_noise and sigma_tau: not in the integer step (0)"
    } else {
        return settings_of(h, 1).map(|_| ());
    };
    Err(format!("arith = int: {problem}"))
}

/// The integer step's settings of `h` for epochs of `epoch_len` samples.
pub fn settings_of(h: &Hyper, epoch_len: usize) -> Result<Settings, String> {
    let hidden = rate("forward", h.forward.lr, 0)?;
    let s = Settings {
        eta_hat: scale(h.eta_hat)?,
        hidden,
        output: rate("forward", h.forward.lr, 2)?,
        inverse: rate("inverse", h.inverse.lr, 0)?,
        noise: {
            if !(h.sigma.is_finite() && (0.0..2.0).contains(&h.sigma)) {
                return Err(format!("sigma = {}: must be in [0, 2)", h.sigma));
            }
            Noise::new((f64::from(h.sigma) * 16384.0).round() as u16)
        },
        decay_every: (f64::from(h.lr_tau) * epoch_len as f64).round() as u32,
    };
    if !s.is_valid() {
        return Err(format!("settings out of the integer step's range: {s:?}"));
    }
    Ok(s)
}

/// An integer network and its completed epochs.
pub struct IntModel {
    /// The trainer (storage of run-time widths).
    pub t: IntTrainer<Vectors>,
    /// Completed epochs.
    pub epoch: u32,
    /// Inputs are the device's 4-bit pixels `q/15` (read exactly as the firmware reads them).
    four_bit: bool,
}

impl IntModel {
    /// All-zero weights of widths `widths` with `settings`.
    pub fn new(widths: &[usize], settings: Settings, four_bit: bool) -> Result<Self, String> {
        if !valid_widths(widths) {
            return Err(format!(
                "{}: not a layout of the integer step (two hidden layers or more, widths ≤ {})",
                crate::layers::widths_string(widths),
                dtp_core::int::MAX_WIDTH
            ));
        }
        let storage = Vectors::new(widths).ok_or("no storage")?;
        if !settings.is_valid() {
            return Err(format!("invalid integer settings {settings:?}"));
        }
        Ok(IntModel {
            t: IntTrainer::new(storage, settings),
            epoch: 0,
            four_bit,
        })
    }

    /// Layer widths `n_0 … n_M`.
    pub fn widths(&self) -> Vec<usize> {
        self.t.widths().to_vec()
    }

    /// Puts sample `i` of `data` into the trainer (Q8 inputs, label).
    fn fill(&mut self, data: &Dataset, i: usize, buf: &mut [f32]) {
        let label = data.sample_into(i, buf);
        let four_bit = self.four_bit;
        for (x, &v) in self.t.input_mut().iter_mut().zip(buf.iter()) {
            *x = if four_bit {
                Input::from_4bit((v * 15.0).round().clamp(0.0, 15.0) as u8).0
            } else {
                Input::from_f64(f64::from(v)).0.clamp(-256, 256)
            };
        }
        self.t.set_label(u16::from(label));
    }

    /// Error and mean `−log p_label` (`p` in Q15, at least one LSB) over `data`.
    pub fn evaluate(&mut self, data: &Dataset, rng: &mut Pcg32) -> Result<Evaluation, Error> {
        let mut buf = vec![0f32; data.features];
        let (mut wrong, mut nll) = (0usize, 0f64);
        for i in 0..data.len() {
            self.fill(data, i, &mut buf);
            let s = step::evaluate(&mut self.t, rng)?;
            wrong += usize::from(s.correct == 0);
            let p = self
                .t
                .output()
                .get(usize::from(data.label(i)))
                .copied()
                .unwrap_or(0);
            nll -= libm::log(f64::from(p.max(1)) / 32768.0);
        }
        let n = data.len().max(1) as f64;
        Ok(Evaluation {
            error: wrong as f64 / n,
            loss: nll / n,
            samples: data.len(),
        })
    }

    /// One epoch over `data` in `order` (shuffled first by `order_rng`), one step a sample;
    /// returns (error, mean `1 − p_label`) on the stream, or `None` when the observer asked
    /// to stop (the epoch is then left unfinished).
    fn train_epoch(
        &mut self,
        data: &Dataset,
        order: &mut [u32],
        order_rng: &mut Pcg32,
        rng: &mut Pcg32,
        obs: &mut dyn Observer,
    ) -> Result<Option<(f64, f64)>, Error> {
        shuffle(order, order_rng);
        let mut buf = vec![0f32; data.features];
        let (mut correct, mut miss) = (0u64, 0f64);
        for (k, &j) in order.iter().enumerate() {
            self.fill(data, j as usize, &mut buf);
            let s = step::step(&mut self.t, rng)?;
            correct += u64::from(s.correct);
            miss += s.miss as f64 / 32768.0;
            if k % 1000 == 999 {
                if obs.stop_requested() {
                    return Ok(None);
                }
                obs.batch();
            }
        }
        self.epoch += 1;
        let n = order.len().max(1) as f64;
        Ok(Some((1.0 - correct as f64 / n, miss / n)))
    }

    /// Forward and inverse parameters.
    pub fn param_counts(&self) -> (usize, usize) {
        let n = self.t.widths();
        let m = n.len() - 1;
        let fwd = (1..=m).map(|i| n[i] * (n[i - 1] + 1)).sum();
        let inv = (2..m).map(|i| n[i - 1] * (n[i] + 1)).sum();
        (fwd, inv)
    }

    /// The tensors: name, shape as written (row-major), column-major source range, rows.
    fn layout(&self) -> Vec<(String, Vec<usize>, std::ops::Range<usize>, usize)> {
        let n = self.t.widths();
        let m = n.len() - 1;
        let mut at = 0;
        let mut v = Vec::new();
        let mut push = |name: String, rows: usize, cols: usize, at: &mut usize| {
            let shape = if cols == 1 {
                vec![rows]
            } else {
                vec![rows, cols]
            };
            v.push((name, shape, *at..*at + rows * cols, rows));
            *at += rows * cols;
        };
        for i in 1..=m {
            push(format!("net.f{i}.weight"), n[i], n[i - 1], &mut at);
            push(format!("net.f{i}.bias"), n[i], 1, &mut at);
        }
        for i in 2..m {
            push(format!("net.g{i}.weight"), n[i - 1], n[i], &mut at);
            push(format!("net.g{i}.bias"), n[i - 1], 1, &mut at);
        }
        v
    }

    /// The flat parameters as little-endian bytes: what `dtp export` writes.
    pub fn export_bytes(&self) -> Vec<u8> {
        self.t
            .params()
            .iter()
            .flat_map(|p| p.to_le_bytes())
            .collect()
    }
}

/// One tensor's row-major little-endian bytes.
struct I16Tensor {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &I16Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::I16
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// A loaded integer checkpoint.
pub struct IntCheckpoint {
    /// The preset the run started from.
    pub preset: &'static Preset,
    /// The run's settings.
    pub hyper: Hyper,
    /// The network at its epoch.
    pub model: IntModel,
    /// The run's data.
    pub data: Option<DataRecord>,
    /// Samples trained on.
    pub samples_seen: u64,
}

/// Writes the checkpoint of `model` to `path` atomically.
pub fn save(
    path: &Path,
    preset: &Preset,
    hyper: &Hyper,
    model: &IntModel,
    data: &DataRecord,
) -> Result<()> {
    let params = model.t.params();
    let tensors: Vec<(String, I16Tensor)> = model
        .layout()
        .into_iter()
        .map(|(name, shape, range, rows)| {
            let src = &params[range];
            let cols = src.len() / rows.max(1);
            let mut bytes = Vec::with_capacity(src.len() * 2);
            for r in 0..rows {
                for c in 0..cols {
                    bytes.extend_from_slice(&src[r + c * rows].to_le_bytes());
                }
            }
            (name, I16Tensor { shape, bytes })
        })
        .collect();
    let mut meta = HashMap::new();
    let mut put = |k: &str, v: String| meta.insert(k.to_string(), v);
    put("format", FORMAT.into());
    put("preset", preset.name.into());
    put("widths", crate::layers::widths_string(&model.widths()));
    put(
        "classes",
        model.widths().last().copied().unwrap_or(0).to_string(),
    );
    put("epoch", model.epoch.to_string());
    put("hyper", serde_json::to_string(hyper)?);
    put(DATA_KEY, data.to_json());
    put("decay_every", model.t.settings().decay_every.to_string());
    put("samples_seen", model.t.samples_seen().to_string());
    put("digest", format!("{:#010x}", digest(params)));
    put("dtp_std_version", env!("CARGO_PKG_VERSION").into());
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(meta))?;
    write_atomic(path, &bytes).map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))
}

/// Whether the file at `path` is an integer checkpoint (its `format` says so).
pub fn is_int_checkpoint(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| {
        SafeTensors::read_metadata(&b).is_ok_and(|(_, m)| {
            m.metadata()
                .as_ref()
                .and_then(|m| m.get("format"))
                .is_some_and(|f| f == FORMAT)
        })
    })
}

/// Reads an integer checkpoint.
pub fn load(path: &Path) -> Result<IntCheckpoint> {
    let p = path.display();
    let bytes = std::fs::read(path).map_err(|e| anyhow!("{p}: {e}"))?;
    let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| anyhow!("{p}: {e}"))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| anyhow!("{p}: {e}"))?;
    let empty = HashMap::new();
    let meta = metadata.metadata().as_ref().unwrap_or(&empty);
    let get = |k: &str| {
        meta.get(k)
            .ok_or_else(|| anyhow!("{p}: no `{k}` in __metadata__"))
    };
    if get("format")? != FORMAT {
        bail!("{p}: not an integer checkpoint ({FORMAT})");
    }
    let name = get("preset")?;
    let preset = presets::find(name).ok_or_else(|| anyhow!("{p}: unknown preset `{name}`"))?;
    let hyper: Hyper =
        serde_json::from_str(get("hyper")?).map_err(|e| anyhow!("{p}: hyper: {e}"))?;
    let widths: Vec<usize> = get("widths")?
        .split('-')
        .map(|w| w.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("{p}: widths: {e}"))?;
    let decay: u32 = get("decay_every")?.parse()?;
    let mut settings = settings_of(&hyper, 1).map_err(|e| anyhow!("{p}: {e}"))?;
    settings.decay_every = decay;
    let four_bit = hyper.dataset == DataKind::FirmwareDigits;
    let mut model = IntModel::new(&widths, settings, four_bit).map_err(|e| anyhow!("{p}: {e}"))?;
    model.epoch = get("epoch")?.parse()?;
    let layout = model.layout();
    let params = model.t.params_mut();
    for (name, shape, range, rows) in layout {
        let t = st
            .tensor(&name)
            .map_err(|e| anyhow!("{p}: tensor {name}: {e}"))?;
        if t.dtype() != Dtype::I16 || t.shape() != shape.as_slice() {
            bail!(
                "{p}: tensor {name}: {:?} {:?}, expected I16 {shape:?}",
                t.dtype(),
                t.shape()
            );
        }
        let dst = &mut params[range];
        let cols = dst.len() / rows.max(1);
        for (k, b) in t.data().chunks_exact(2).enumerate() {
            let (r, c) = (k / cols, k % cols);
            dst[r + c * rows] = i16::from_le_bytes([b[0], b[1]]);
        }
    }
    let data = match meta.get(DATA_KEY) {
        Some(s) => Some(DataRecord::from_json(s).map_err(|e| anyhow!("{p}: data: {e}"))?),
        None => None,
    };
    Ok(IntCheckpoint {
        preset,
        hyper,
        model,
        data,
        samples_seen: get("samples_seen")?.parse()?,
    })
}

/// The splits of an integer run: those of its dataset, but on `firmware-digits` (embedded)
/// training on the device's whole stream.
pub fn splits_of(kind: DataKind, data: Option<&Path>, request: &ScaleRequest) -> Outcome<Splits> {
    let csv = crate::data::CsvFormat::default();
    let mut splits = datasets::load_scaled(kind, data, &csv, request)?.splits;
    if kind == DataKind::FirmwareDigits && data.is_none() {
        splits.train = datasets::firmware_stream()?;
    }
    Ok(splits)
}

/// Whether `args` asks for an integer run (its preset and patches, or its checkpoint).
pub fn wants_int(args: &RunSpec, patches: &[HyperPatch], out: &Path) -> bool {
    if args.resume {
        return is_int_checkpoint(&out.join(checkpoint::FILE_NAME));
    }
    let Some(preset) = presets::find(args.preset.as_deref().unwrap_or(presets::PRESETS[0].name))
    else {
        return false;
    };
    let mut h = (preset.defaults)();
    patches.iter().for_each(|p| h.apply(p));
    h.arith == Arith::Int
}

/// `dtp train` of an integer run (see the module's documentation).
pub fn train(
    args: &RunSpec,
    obs: &mut dyn Observer,
    patches: &[HyperPatch],
    out: PathBuf,
) -> Outcome<Summary> {
    let t0 = Instant::now();
    if args.resume {
        return Err(Failure::input(anyhow!(
            "{}: integer runs cannot be resumed yet (start a new run)",
            out.display()
        )));
    }
    if args.scale.is_some() {
        return Err(Failure::input(anyhow!("--scale: not with --arith int")));
    }
    if args.header.is_some() || args.label_column.is_some() {
        return Err(Failure::input(anyhow!(
            "--header and --label-column: not with --arith int (its CSV files are read with \
             the defaults)"
        )));
    }
    let name = args.preset.as_deref().unwrap_or(presets::PRESETS[0].name);
    let preset =
        presets::find(name).ok_or_else(|| Failure::input(anyhow!("unknown preset `{name}`")))?;
    let mut hyper = (preset.defaults)();
    patches.iter().for_each(|p| hyper.apply(p));
    hyper
        .validate_run()
        .map_err(|e| Failure::input(anyhow!("invalid setting: {e}")))?;
    rundir::refuse_existing_run(&out, args.force)?;
    rundir::prepare_out(&out)?;
    let request = ScaleRequest::Use(crate::data::Scaling::none());
    let splits = splits_of(hyper.dataset, args.data.as_deref(), &request)?;
    crate::train::check_sizes(&splits, &hyper, args.data.as_deref())?;
    let record = DataRecord::new(args.data.as_deref(), crate::data::Scaling::none());
    let source = datasets::source_name(hyper.dataset, args.data.as_deref());
    if let Some(w) = datasets::check_labels(&splits, &source, hyper.layers.output.is_none())? {
        obs.warning(&w);
    }
    let widths = crate::train::resolve_layers(&hyper, &splits.train);
    let settings = settings_of(&hyper, splits.train.len())
        .map_err(|e| Failure::input(anyhow!("invalid setting: {e}")))?;
    let four_bit = hyper.dataset == DataKind::FirmwareDigits;
    let mut model = IntModel::new(&widths, settings, four_bit)
        .map_err(|e| Failure::input(anyhow!("invalid setting: {e}")))?;
    for d in [&splits.train, &splits.valid, &splits.test] {
        if d.features != widths[0] || d.classes > *widths.last().unwrap_or(&0) {
            return Err(Failure::input(anyhow!(
                "{}: {} features and {} classes do not fit {}",
                d.name,
                d.features,
                d.classes,
                crate::layers::widths_string(&widths)
            )));
        }
    }
    let mut rng = Pcg32::new(hyper.seed, TRAINER_STREAM);
    model.t.init(&mut rng);
    let mut order_rng = Pcg32::new(hyper.seed, ORDER_STREAM);
    let mut order: Vec<u32> = (0..splits.train.len() as u32).collect();
    let ckpt = out.join(checkpoint::FILE_NAME);
    let save_now = |m: &IntModel| save(&ckpt, preset, &hyper, m, &record).or_other();
    metrics::reset(&out).or_other()?;
    save_now(&model)?;
    write_atomic(&out.join("config.toml"), hyper.to_toml().as_bytes())
        .map_err(|e| Failure::other(anyhow!("{}: {e}", out.display())))?;
    let per_epoch = splits.train.len() as u64;
    obs.start(per_epoch * u64::from(hyper.epochs), 0, 1000, 1);
    obs.line(&format!(
        "{} {} on {} ({} train / {} valid / {} test), integer DTP (i16, sign units, batch 1), \
         {settings:?}, epochs 1..={} -> {}",
        preset.name,
        crate::layers::widths_string(&widths),
        splits.train.name,
        splits.train.len(),
        splits.valid.len(),
        splits.test.len(),
        hyper.epochs,
        out.display()
    ));
    let failed = |epoch: u32, e: Error| Failure {
        code: crate::failure::EXIT_NON_FINITE,
        error: anyhow!(
            "epoch {epoch}: {e}\ntraining stopped; the last good checkpoint is kept: {}",
            ckpt.display()
        ),
    };
    let mut eval_rng = Pcg32::new(hyper.seed, 4);
    let (mut train_secs, mut trained) = (0.0, 0u64);
    let mut good = 0;
    for epoch in 1..=hyper.epochs {
        obs.epoch(epoch, hyper.epochs);
        let t = Instant::now();
        let Some((train_error, train_loss)) = model
            .train_epoch(&splits.train, &mut order, &mut order_rng, &mut rng, obs)
            .map_err(|e| {
                obs.finish();
                failed(epoch, e)
            })?
        else {
            crate::train::interrupt(
                obs,
                epoch,
                good,
                "integer runs cannot be resumed yet: start it again",
            );
        };
        let secs = t.elapsed().as_secs_f64();
        train_secs += secs;
        trained += per_epoch;
        let valid = model
            .evaluate(&splits.valid, &mut eval_rng)
            .map_err(|e| failed(epoch, e))?;
        let test = model
            .evaluate(&splits.test, &mut eval_rng)
            .map_err(|e| failed(epoch, e))?;
        let record = EpochRecord {
            kind: ModelKind::Classifier,
            epoch,
            train_error,
            train_loss,
            valid_error: valid.error,
            valid_loss: valid.loss,
            test_error: test.error,
            test_loss: test.loss,
            valid_error_passes: None,
            test_error_passes: None,
            local_loss: Vec::new(),
            inverse_loss: Vec::new(),
            sigma: hyper.sigma,
            train_seconds: secs,
            wall_seconds: t0.elapsed().as_secs_f64(),
            samples_per_sec: per_epoch as f64 / secs.max(1e-9),
        };
        obs.line(&format!(
            "epoch {epoch:>4}: train {:6.2}%  valid {:6.2}%  test {:6.2}%  1-p {:.4}  {:.0} \
             samples/s training",
            100.0 * train_error,
            100.0 * valid.error,
            100.0 * test.error,
            train_loss,
            record.samples_per_sec
        ));
        metrics::append(&out, &record).or_other()?;
        if epoch % hyper.checkpoint_every == 0 || epoch == hyper.epochs {
            save_now(&model)?;
            good = epoch;
        }
    }
    obs.finish();
    let valid = model
        .evaluate(&splits.valid, &mut eval_rng)
        .map_err(|e| failed(hyper.epochs, e))?;
    let test = model
        .evaluate(&splits.test, &mut eval_rng)
        .map_err(|e| failed(hyper.epochs, e))?;
    let train = model
        .evaluate(&splits.train, &mut eval_rng)
        .map_err(|e| failed(hyper.epochs, e))?;
    let summary = Summary {
        preset: preset.name.to_string(),
        widths: crate::layers::widths_string(&widths),
        test_error: test.error,
        valid_error: valid.error,
        train_error: train.error,
        epochs: model.epoch,
        seconds: t0.elapsed().as_secs_f64(),
        samples_per_sec: if train_secs > 0.0 {
            trained as f64 / train_secs
        } else {
            0.0
        },
        train_seconds_total: train_secs,
        hyper: hyper.clone(),
        reconstruction: None,
        probe: None,
        pixel_probe: None,
        weights_digest: Some(format!("{:#010x}", digest(model.t.params()))),
        data: record.csv_name(hyper.dataset),
    };
    let json = serde_json::to_string_pretty(&summary).or_other()? + "\n";
    write_atomic(&out.join(metrics::SUMMARY), json.as_bytes())
        .map_err(|e| Failure::other(anyhow!("{}: {e}", out.display())))?;
    if args.plot && model.epoch > 0 {
        let title = format!("{} {} (integer DTP)", preset.name, summary.widths);
        if let Err(e) = metrics::read(&out)
            .and_then(|r| crate::plot::draw(&r, &title, &out.join(crate::plot::FILE_NAME)))
        {
            obs.warning(&format!("no curves: {e:#}"));
        }
    }
    Ok(summary)
}

/// `dtp eval` of an integer checkpoint: (train, valid, test).
pub fn evaluate(
    c: &mut IntCheckpoint,
    data: Option<&Path>,
) -> Outcome<(Evaluation, Evaluation, Evaluation)> {
    let source = data
        .map(Path::to_path_buf)
        .or_else(|| c.data.as_ref().and_then(|r| r.source.clone()));
    let splits = splits_of(
        c.hyper.dataset,
        source.as_deref(),
        &ScaleRequest::Use(crate::data::Scaling::none()),
    )?;
    let mut rng = Pcg32::new(c.hyper.seed, 4);
    let mut run = |d: &Dataset| {
        c.model
            .evaluate(d, &mut rng)
            .map_err(|e| Failure::input(anyhow!("{e}")))
    };
    Ok((run(&splits.train)?, run(&splits.valid)?, run(&splits.test)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_int_reads_as_the_devices_settings() {
        let h = (presets::find("digits-int").unwrap().defaults)();
        assert_eq!(settings_of(&h, 1438).unwrap(), Settings::DIGITS);
        assert_eq!(validate(&h), Ok(()));
        let mut c = h.clone();
        c.eta_hat = 0.0;
        assert_eq!(settings_of(&c, 1438).unwrap(), Settings::DIGITS.control());
        c.eta_hat = 0.375;
        assert_eq!(
            settings_of(&c, 1).unwrap().eta_hat,
            Scale { mul: 3, shift: 3 }
        );
        c.forward.lr = 0.1;
        let r = settings_of(&c, 1).unwrap().hidden;
        assert_eq!((r.mul, r.shift), (410, 12));
    }
}
