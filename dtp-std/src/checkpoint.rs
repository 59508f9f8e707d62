//! Checkpoints: one [safetensors](https://github.com/huggingface/safetensors) file holding
//! every parameter and optimiser-state tensor (`f32`, row-major as NumPy/PyTorch expect:
//! a weight `W` of a layer with `I` inputs and `O` outputs is `[O, I]`, a bias `[O]`), with
//! the run's metadata as string entries of the header's `__metadata__`:
//!
//! | key | value |
//! |---|---|
//! | `format` | `dtp-checkpoint/2` |
//! | `preset` | the preset the run started from, e.g. `digits` (informational) |
//! | `widths` | layer widths, e.g. `64-48-24-10` (the layout with `auto` resolved) |
//! | `classes` | classes of the data the model labels |
//! | `epoch` | completed epochs |
//! | `hyper` | every setting, as JSON ([`Hyper`]): dataset, model kind, layout, batch, units, training settings |
//! | `train_rng`, `shuffle_rng` | the generators' state, as JSON (`rand_pcg::Pcg64`) |
//! | `probe` | `mnist-ae` only, once training has finished: the final linear probe's report (JSON) |
//! | `data` | where the data came from and how its features were scaled (JSON, [`DataRecord`]); absent in older checkpoints |
//!
//! Tensor names: `net.f{i}.weight|bias` for forward layer `i = 1 … M`, `net.g{i}.…` for the
//! inverse of layer `i`, `opt.forward.f{i}.{weight|bias}.{a|s|v}` and `opt.inverse.g{i}.…` for
//! the optimiser state; `mnist-ae` has `net.f1` (encoder), `net.g1` (decoder), `probe.online.*`,
//! `probe.final.*` and `opt.probe.online.*`. From Python: `safetensors.numpy.load_file(path)["net.f1.weight"]`.
//!
//! A checkpoint describes its own network: the model is rebuilt from `hyper`, `widths` and
//! `classes`, not from a preset. Checkpoints of format `dtp-checkpoint/1` (written before
//! networks had run-time layouts) still load: their network is their preset's, their
//! settings the preset's patched by their `hyper`.
//!
//! Files are written atomically: a temporary file in the same directory, `fsync`, rename,
//! `fsync` of the directory. A crash leaves either the old or the new checkpoint.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use rand_pcg::Pcg64;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, View};

use crate::config::{Hyper, HyperPatch};
use crate::data_record::{DATA_KEY, DataRecord};
use crate::model::{self, Model};
use crate::presets::{self, Preset};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "dtp-checkpoint/2";

/// The format written before networks had run-time layouts (still read).
pub const FORMAT_V1: &str = "dtp-checkpoint/1";

/// File name of the checkpoint inside a run directory.
pub const FILE_NAME: &str = "checkpoint.safetensors";

/// A loaded checkpoint: the model with its weights and optimiser state, and the run state.
pub struct Checkpoint {
    /// The preset the model belongs to.
    pub preset: &'static Preset,
    /// The run's settings.
    pub hyper: Hyper,
    /// Generator of noise and sampling.
    pub train_rng: Pcg64,
    /// Generator of the per-epoch shuffle.
    pub shuffle_rng: Pcg64,
    /// The model, configured, at its completed epoch.
    pub model: Model,
    /// The run's data source and feature scaling (`None` in checkpoints older than the
    /// record).
    pub data: Option<DataRecord>,
}

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename, fsync of the directory.
/// On failure the temporary file is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |tmp| File::create(tmp)?.write_all(bytes))
}

/// [`write_atomic`] of what `write` writes to the file it is given (created and filled by
/// `write`, then fsynced here before the rename): for contents streamed rather than held
/// whole in memory.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = write(&tmp)
        .and_then(|()| fs::OpenOptions::new().write(true).open(&tmp)?.sync_all())
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        // Disk full, quota, I/O error: leave nothing behind (the old file is untouched).
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Make the rename itself durable (directories can be opened and fsynced on Unix).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// One tensor as written: the model's column-major values, turned into row-major little-endian bytes only
/// when the writer asks (one tensor's bytes at a time, never the whole file's).
struct Owned<'a> {
    shape: Vec<usize>,
    rows: usize,
    cols: usize,
    data: &'a [f32],
}

impl View for &Owned<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        // Column-major storage → row-major bytes.
        let mut bytes = Vec::with_capacity(self.data.len() * 4);
        for r in 0..self.rows {
            for c in 0..self.cols {
                bytes.extend_from_slice(&self.data[r + c * self.rows].to_le_bytes());
            }
        }
        Cow::Owned(bytes)
    }
    fn data_len(&self) -> usize {
        self.data.len() * 4
    }
}

/// Serialises `model` and the run state to safetensors bytes.
pub fn to_bytes(
    preset: &Preset,
    hyper: &Hyper,
    model: &Model,
    train_rng: &Pcg64,
    shuffle_rng: &Pcg64,
) -> Result<Vec<u8>> {
    to_bytes_with(preset, hyper, model, train_rng, shuffle_rng, None)
}

/// [`to_bytes`] with the run's [`DataRecord`].
pub fn to_bytes_with(
    preset: &Preset,
    hyper: &Hyper,
    model: &Model,
    train_rng: &Pcg64,
    shuffle_rng: &Pcg64,
    data: Option<&DataRecord>,
) -> Result<Vec<u8>> {
    let (tensors, meta) = contents(preset, hyper, model, train_rng, shuffle_rng, data)?;
    Ok(safetensors::serialize(
        tensors.iter().map(|(n, o)| (n.as_str(), o)),
        Some(meta),
    )?)
}

/// The tensors (borrowed from `model`) and metadata of a checkpoint.
#[allow(clippy::type_complexity)]
fn contents<'a>(
    preset: &Preset,
    hyper: &Hyper,
    model: &'a Model,
    train_rng: &Pcg64,
    shuffle_rng: &Pcg64,
    data: Option<&DataRecord>,
) -> Result<(Vec<(String, Owned<'a>)>, HashMap<String, String>)> {
    let tensors: Vec<(String, Owned<'a>)> = model
        .tensors()
        .into_iter()
        .map(|t| {
            let shape = if t.cols == 1 {
                vec![t.rows]
            } else {
                vec![t.rows, t.cols]
            };
            let (rows, cols) = (t.rows, t.cols);
            (
                t.name,
                Owned {
                    shape,
                    rows,
                    cols,
                    data: t.data,
                },
            )
        })
        .collect();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("preset".to_string(), preset.name.to_string());
    meta.insert("widths".to_string(), model.shape().widths());
    meta.insert("classes".to_string(), model.classes().to_string());
    meta.insert("epoch".to_string(), model.epoch().to_string());
    meta.insert("hyper".to_string(), serde_json::to_string(hyper)?);
    meta.insert("train_rng".to_string(), serde_json::to_string(train_rng)?);
    meta.insert(
        "shuffle_rng".to_string(),
        serde_json::to_string(shuffle_rng)?,
    );
    meta.insert(
        "dtp_std_version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    if let Some(d) = data {
        meta.insert(DATA_KEY.to_string(), d.to_json());
    }
    // Model-specific entries (the auto-encoder's probe report).
    if let Model::Autoencoder(ae) = model {
        meta.extend(ae.metadata());
    }
    Ok((tensors, meta))
}

/// Writes a checkpoint to `path` atomically.
pub fn save(
    path: &Path,
    preset: &Preset,
    hyper: &Hyper,
    model: &Model,
    train_rng: &Pcg64,
    shuffle_rng: &Pcg64,
) -> Result<()> {
    save_with(path, preset, hyper, model, train_rng, shuffle_rng, None)
}

/// [`save`] with the run's [`DataRecord`].
pub fn save_with(
    path: &Path,
    preset: &Preset,
    hyper: &Hyper,
    model: &Model,
    train_rng: &Pcg64,
    shuffle_rng: &Pcg64,
    data: Option<&DataRecord>,
) -> Result<()> {
    let (tensors, meta) = contents(preset, hyper, model, train_rng, shuffle_rng, data)?;
    // Streamed tensor by tensor: the file's bytes are never all in memory at once (a
    // `mnist-7x240` checkpoint is 14 MB; holding it whole raised the run's peak RSS by twice that).
    write_atomic_with(path, |tmp| {
        let tensors = tensors.iter().map(|(n, o)| (n.as_str(), o));
        safetensors::serialize_to_file(tensors, Some(meta), tmp).map_err(io::Error::other)
    })
    .map_err(|e| anyhow!("{}: cannot write: {e}", path.display()))
}

/// `64-48-24-10` → `[64, 48, 24, 10]`.
fn parse_widths(s: &str) -> Result<Vec<usize>> {
    let w = s
        .split('-')
        .map(|v| v.parse::<usize>().map_err(|e| anyhow!("`{s}`: {e}")))
        .collect::<Result<Vec<_>>>()?;
    if w.len() < 3 || w.contains(&0) {
        bail!("`{s}`: not a layout (at least three widths, none zero)");
    }
    Ok(w)
}

/// Where in the file a safetensors header error lies, for the message.
fn header_error(path: &Path, bytes: &[u8], e: SafeTensorError) -> anyhow::Error {
    let p = path.display();
    let len = bytes.len();
    let declared = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    match e {
        SafeTensorError::HeaderTooSmall => anyhow!(
            "{p}: byte 0: truncated: the file has {len} bytes, a safetensors file starts with \
             an 8-byte header length"
        ),
        SafeTensorError::InvalidHeaderLength | SafeTensorError::HeaderTooLarge => anyhow!(
            "{p}: byte 0: header length {} does not fit in the file ({len} bytes): truncated \
             or not a safetensors file",
            declared.unwrap_or(0)
        ),
        SafeTensorError::InvalidHeader(u) => anyhow!(
            "{p}: byte {}: header is not UTF-8 ({u})",
            8 + u.valid_up_to()
        ),
        SafeTensorError::InvalidHeaderStart => {
            anyhow!("{p}: byte 8: header does not start with '{{': not a safetensors file")
        }
        SafeTensorError::InvalidHeaderDeserialization(j) | SafeTensorError::JsonError(j) => {
            // The header is one line of JSON starting at byte 8.
            anyhow!(
                "{p}: byte {}: invalid JSON header: {j}",
                8 + j.column().saturating_sub(1)
            )
        }
        SafeTensorError::MetadataIncompleteBuffer => anyhow!(
            "{p}: bytes 8..{}: truncated (or bytes added): the header's tensors do not \
             match the file's {len} bytes",
            8 + declared.unwrap_or(0)
        ),
        other => anyhow!(
            "{p}: bytes 8..{}: invalid header: {other}",
            8 + declared.unwrap_or(0)
        ),
    }
}

/// Reads and fully validates a checkpoint. Every error names the file and, where it makes
/// sense, the byte offset.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = fs::read(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    from_bytes(path, &bytes)
}

/// [`load`] from bytes already read from `path` (named in errors).
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Checkpoint> {
    let p = path.display();
    let (n, metadata) =
        SafeTensors::read_metadata(bytes).map_err(|e| header_error(path, bytes, e))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| header_error(path, bytes, e))?;
    let data_start = 8 + n;
    let empty = HashMap::new();
    let meta = metadata.metadata().as_ref().unwrap_or(&empty);
    let get = |key: &str| {
        meta.get(key).ok_or_else(|| {
            anyhow!(
                "{p}: bytes 8..{data_start} (header): no `{key}` in __metadata__: not a dtp \
                 checkpoint"
            )
        })
    };
    let format = get("format")?;
    if format != FORMAT && format != FORMAT_V1 {
        bail!(
            "{p}: bytes 8..{data_start} (header): format `{format}`, expected `{FORMAT}` (or \
             `{FORMAT_V1}`)"
        );
    }
    let name = get("preset")?;
    let preset = presets::find(name).ok_or_else(|| {
        anyhow!(
            "{p}: header: unknown preset `{name}` (known: {})",
            presets::names()
        )
    })?;
    // Parsed straight from the text: a detour through `serde_json::Value` would turn the
    // generators' u128 state into lossy floats.
    let hyper: Hyper = if format == FORMAT {
        serde_json::from_str(get("hyper")?)
            .map_err(|e| anyhow!("{p}: header: metadata `hyper`: {e}"))?
    } else {
        // Format 1: the settings without the network, which was the preset's.
        let patch: HyperPatch = serde_json::from_str(get("hyper")?)
            .map_err(|e| anyhow!("{p}: header: metadata `hyper`: {e}"))?;
        let mut h = (preset.defaults)();
        h.apply(&patch);
        h
    };
    let rng = |key: &str| -> Result<Pcg64> {
        serde_json::from_str(get(key)?).map_err(|e| anyhow!("{p}: header: metadata `{key}`: {e}"))
    };
    let (train_rng, shuffle_rng) = (rng("train_rng")?, rng("shuffle_rng")?);
    let epoch: u32 = get("epoch")?
        .parse()
        .map_err(|e| anyhow!("{p}: header: metadata `epoch`: {e}"))?;
    let widths =
        parse_widths(get("widths")?).map_err(|e| anyhow!("{p}: header: metadata `widths`: {e}"))?;
    let resolved = hyper.layers.resolve(widths[0], widths[widths.len() - 1]);
    if resolved != widths {
        bail!(
            "{p}: header: metadata `widths` {} does not fit the layout `{}` of its settings",
            crate::layers::widths_string(&widths),
            hyper.layers
        );
    }
    let classes: usize = match meta.get("classes") {
        Some(c) => c
            .parse()
            .map_err(|e| anyhow!("{p}: header: metadata `classes`: {e}"))?,
        // Format 1: every preset labels 10 classes.
        None => 10,
    };
    hyper
        .validate_run()
        .map_err(|e| anyhow!("{p}: header: metadata `hyper`: {e}"))?;
    let mut model = model::build(&hyper, &widths, classes)
        .map_err(|e| anyhow!("{p}: header: metadata `widths`/`hyper`: {e}"))?;
    model
        .configure(&hyper)
        .map_err(|e| anyhow!("{p}: header: metadata `hyper`: {e}"))?;
    model.set_epoch(epoch);
    if let Model::Autoencoder(ae) = &mut model {
        ae.set_metadata(meta)
            .map_err(|e| anyhow!("{p}: header: {e}"))?;
    }
    let widths = model.shape().widths();
    for t in model.tensors_mut() {
        let info = metadata
            .info(&t.name)
            .ok_or_else(|| anyhow!("{p}: no tensor `{}` (a {widths} network needs it)", t.name))?;
        let at = data_start + info.data_offsets.0;
        let want: Vec<usize> = if t.cols == 1 {
            vec![t.rows]
        } else {
            vec![t.rows, t.cols]
        };
        if info.dtype != Dtype::F32 || info.shape != want {
            bail!(
                "{p}: byte {at}: tensor `{}` is {:?} {:?}, expected F32 {want:?}",
                t.name,
                info.dtype,
                info.shape
            );
        }
        let view = st
            .tensor(&t.name)
            .map_err(|e| anyhow!("{p}: byte {at}: tensor `{}`: {e}", t.name))?;
        let raw = view.data();
        for r in 0..t.rows {
            for c in 0..t.cols {
                let k = (r * t.cols + c) * 4;
                let v = f32::from_le_bytes([raw[k], raw[k + 1], raw[k + 2], raw[k + 3]]);
                if !v.is_finite() {
                    bail!(
                        "{p}: byte {}: tensor `{}` holds {v} at [{r}, {c}]",
                        at + k,
                        t.name
                    );
                }
                t.data[r + c * t.rows] = v;
            }
        }
    }
    let data = meta
        .get(DATA_KEY)
        .map(|s| DataRecord::from_json(s))
        .transpose()
        .map_err(|e| anyhow!("{p}: header: {e}"))?;
    Ok(Checkpoint {
        preset,
        hyper,
        train_rng,
        shuffle_rng,
        model,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits() -> (&'static Preset, Hyper, Model) {
        let preset = presets::find("digits").unwrap();
        let hyper = (preset.defaults)();
        let mut m = model::build(&hyper, &hyper.layers.resolve(64, 10), 10).unwrap();
        m.init(&hyper, &mut Pcg64::new(3, 4)).unwrap();
        m.set_epoch(7);
        (preset, hyper, m)
    }

    #[test]
    fn round_trip_is_exact() {
        let (preset, hyper, m) = digits();
        let (a, b) = (Pcg64::new(5, 6), Pcg64::new(u128::MAX - 3, 9));
        let bytes = to_bytes(preset, &hyper, &m, &a, &b).unwrap();
        let c = from_bytes(Path::new("c.safetensors"), &bytes).unwrap();
        assert_eq!(c.model.epoch(), 7);
        assert_eq!(c.hyper, hyper);
        assert_eq!(c.train_rng, a);
        assert_eq!(c.shuffle_rng, b);
        for (x, y) in m.tensors().iter().zip(c.model.tensors()) {
            assert_eq!(x.name, y.name);
            assert_eq!(x.data, y.data);
        }
        // A row-major [O, I] weight: element (r, c) of W.
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let w = st.tensor("net.f1.weight").unwrap();
        assert_eq!(w.shape(), &[64, 64]);
        let d = w.data();
        let v = f32::from_le_bytes([d[4], d[5], d[6], d[7]]);
        assert_eq!(v, m.tensors()[0].data[64]); // (0, 1) is column-major index 64
    }

    #[test]
    fn a_saved_file_holds_what_to_bytes_holds_and_no_temporary_is_left() {
        let (preset, hyper, m) = digits();
        let (a, b) = (Pcg64::new(5, 6), Pcg64::new(7, 8));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        save(&path, preset, &hyper, &m, &a, &b).unwrap();
        let file = fs::read(&path).unwrap();
        let bytes = to_bytes(preset, &hyper, &m, &a, &b).unwrap();
        assert_eq!(file.len(), bytes.len());
        let (f, t) = (
            SafeTensors::deserialize(&file).unwrap(),
            SafeTensors::deserialize(&bytes).unwrap(),
        );
        let mut names = f.names();
        names.sort();
        assert_eq!(names.len(), m.tensors().len());
        for name in names {
            assert_eq!(f.tensor(name).unwrap(), t.tensor(name).unwrap(), "{name}");
        }
        let (_, meta_f) = SafeTensors::read_metadata(&file).unwrap();
        let (_, meta_t) = SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(meta_f.metadata(), meta_t.metadata());
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the checkpoint: {left:?}");
    }

    #[test]
    fn broken_files_name_the_offset() {
        let (preset, hyper, m) = digits();
        let a = Pcg64::new(1, 1);
        let bytes = to_bytes(preset, &hyper, &m, &a, &a).unwrap();
        let p = Path::new("x.safetensors");
        let err = |b: &[u8]| from_bytes(p, b).err().unwrap().to_string();
        let e = err(&bytes[..5]);
        assert!(e.contains("x.safetensors: byte 0: truncated"), "{e}");
        let e = err(&bytes[..bytes.len() - 10]);
        assert!(e.contains("x.safetensors"), "{e}");
        let mut bad = bytes.clone();
        bad[8] = b'[';
        let e = err(&bad);
        assert!(e.contains("byte 8"), "{e}");
        let e = err(b"\x02\0\0\0\0\0\0\0{}");
        assert!(e.contains("not a dtp checkpoint"), "{e}");
    }
}
