//! Run directories: whether a directory holds a run, refusing to start a new run over one,
//! checking that `--out` can be written, and the data a resumed run reads (its record:
//! [`crate::data_record`]).

use std::fs;
use std::path::{Path, PathBuf};

use crate::checkpoint;
pub use crate::data_record::{DATA_KEY, DataRecord, absolute};
use crate::failure::{Failure, Outcome};
use crate::metrics;
use anyhow::anyhow;

/// Files whose presence makes a directory a run (what a new run would overwrite or delete).
pub const RUN_FILES: [&str; 3] = [checkpoint::FILE_NAME, metrics::JSONL, metrics::SUMMARY];

/// The files of [`RUN_FILES`] present in `dir`.
pub fn run_files(dir: &Path) -> Vec<&'static str> {
    RUN_FILES
        .into_iter()
        .filter(|f| dir.join(f).exists())
        .collect()
}

/// Exit 2 when `out` already holds a run (a checkpoint, metrics or a summary) and `force` is
/// not set: a new run would overwrite it. The message names the directory and the ways on.
/// Nothing is written.
pub fn refuse_existing_run(out: &Path, force: bool) -> Outcome<()> {
    let found = run_files(out);
    if force || found.is_empty() {
        return Ok(());
    }
    let epoch = checkpoint_epoch(out)
        .map(|e| format!(" (checkpoint at epoch {e})"))
        .unwrap_or_default();
    Err(Failure::input(anyhow!(
        "{}: already holds a run{epoch}: {}; nothing was changed.\n\
         To continue it: dtp train --out {0} --resume\n\
         To keep it and train another: choose another --out DIR\n\
         To delete it and start over: add --force",
        out.display(),
        found.join(", ")
    )))
}

/// Exit 2 when `out` has no checkpoint to resume, saying how to start a run there.
pub fn require_checkpoint(out: &Path) -> Outcome<()> {
    let ckpt = out.join(checkpoint::FILE_NAME);
    if ckpt.is_file() {
        return Ok(());
    }
    Err(Failure::input(anyhow!(
        "{}: no checkpoint to resume ({} not found); to start a run there: dtp train --out {0} \
         (without --resume)",
        out.display(),
        ckpt.display()
    )))
}

/// The epoch of the checkpoint in `dir`, read from its header only.
fn checkpoint_epoch(dir: &Path) -> Option<u32> {
    use std::io::Read;
    let mut f = fs::File::open(dir.join(checkpoint::FILE_NAME)).ok()?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).ok()?;
    let n = usize::try_from(u64::from_le_bytes(len)).ok()?.min(1 << 20);
    let mut header = vec![0u8; n];
    f.read_exact(&mut header).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&header).ok()?;
    v["__metadata__"]["epoch"].as_str()?.parse().ok()
}

/// Exit 2 unless `out` is, or can be created as, a writable directory: an existing file, a
/// path through a file, or a directory that cannot be written is bad input. Creates `out`
/// (what it created is [`missing_dirs`] of `out` before the call).
pub fn prepare_out(out: &Path) -> Outcome<()> {
    let bad = |what: String| {
        Failure::input(anyhow!(
            "{}: {what}; --out needs a directory it can write",
            out.display()
        ))
    };
    if out.exists() && !out.is_dir() {
        return Err(bad("is a file, not a directory".into()));
    }
    let created = missing_dirs(out);
    fs::create_dir_all(out).map_err(|e| bad(format!("cannot create the directory ({e})")))?;
    let probe = out.join(".dtp-write-test");
    if let Err(e) = fs::write(&probe, b"") {
        remove_created(&created);
        return Err(bad(format!("cannot write in it ({e})")));
    }
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// The directories `create_dir_all(dir)` would create (those of `dir` and its ancestors
/// that do not exist), outermost first.
pub fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .filter(|d| !d.as_os_str().is_empty())
        .take_while(|d| !d.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Removes the directories a run created ([`missing_dirs`] before it, or [`fresh_dir`]'s)
/// that are still empty, innermost first: a run that failed before writing anything leaves
/// no directory behind. A directory holding anything (a checkpoint) is kept.
pub fn remove_created(created: &[PathBuf]) {
    for d in created.iter().rev() {
        if fs::remove_dir(d).is_err() {
            break;
        }
    }
}

/// A run directory of its own for a run given no `--out`: `base` (`runs/PRESET`) if it does
/// not exist, else the first of `base-2`, `base-3`, … that does not — the way Lightning
/// numbers `version_N` and TensorBoard its run folders. The directory is created here (an
/// atomic claim: two runs started at once get two directories); returns it and the
/// directories created, outermost first.
pub fn fresh_dir(base: &Path) -> Outcome<(PathBuf, Vec<PathBuf>)> {
    let parent = base.parent().filter(|p| !p.as_os_str().is_empty());
    let mut created = parent.map(missing_dirs).unwrap_or_default();
    if let Some(p) = parent {
        fs::create_dir_all(p).map_err(|e| {
            Failure::input(anyhow!(
                "{}: cannot create the directory ({e}); choose a run directory with --out DIR",
                p.display()
            ))
        })?;
    }
    let name = base
        .file_name()
        .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned());
    for n in 1..=u32::MAX {
        let dir = if n == 1 {
            base.to_path_buf()
        } else {
            base.with_file_name(format!("{name}-{n}"))
        };
        match fs::create_dir(&dir) {
            Ok(()) => {
                created.push(dir.clone());
                return Ok((dir, created));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                remove_created(&created);
                return Err(Failure::input(anyhow!(
                    "{}: cannot create the directory ({e}); choose a run directory with --out \
                     DIR",
                    dir.display()
                )));
            }
        }
    }
    remove_created(&created);
    Err(Failure::input(anyhow!(
        "{}: no free run number; choose a run directory with --out DIR",
        base.display()
    )))
}

/// The data a resumed run reads: the recorded source unless `--data` names another, which is
/// an error (exit 2) unless `change` (`--change-data`) asks for it. Without a record (older
/// checkpoints) `--data` as given.
pub fn resume_data(
    ckpt: &Path,
    record: Option<&DataRecord>,
    data: Option<&Path>,
    change: bool,
) -> Outcome<Option<PathBuf>> {
    let Some(r) = record else {
        return Ok(data.map(Path::to_path_buf));
    };
    match data {
        None => Ok(r.source.clone()),
        Some(d) if change || r.source.as_deref() == Some(absolute(d).as_path()) => {
            Ok(Some(d.to_path_buf()))
        }
        Some(d) => Err(Failure::input(anyhow!(
            "{}: the run was trained on {}, not --data {}; resume without --data to continue \
             on its data, or add --change-data to continue on the new data",
            ckpt.display(),
            r.source_name(),
            d.display()
        ))),
    }
}
