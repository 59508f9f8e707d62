//! Crashes: `dtp train` killed with SIGKILL at many moments — anywhere, right after an
//! epoch, and inside a checkpoint write — always leaves a checkpoint that loads (through the
//! library and through `dtp info`), `--resume` carries on from it, and the run ends with the
//! weights, generators, metrics and summary of an uninterrupted run, bit for bit.
//!
//! Kill moments come from a fixed-seed generator; what they hit depends on the machine's
//! timing, so the test prints how many kills landed inside a checkpoint write and requires
//! at least one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use dtp_std::checkpoint::{self, Checkpoint};
use dtp_std::metrics;
use dtp_tests::{timeless_records, timeless_summary};
use rand_core::Rng;
use rand_pcg::Pcg32;
use tempfile::TempDir;

/// Epochs of the run (digits preset: tens of milliseconds each with the test profile).
const EPOCHS: u32 = 60;
/// Kills to survive.
const KILLS: usize = 24;
const SEED: &str = "11";

fn dtp_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dtp-cli"));
    c.args(args)
        .env_remove("DTP_DATA_DIR")
        .env("MATMUL_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `dtp train` on the digits preset, a checkpoint after every epoch.
fn train(out: &Path, resume: bool) -> Child {
    let epochs = EPOCHS.to_string();
    let mut args = vec![
        "train",
        "--out",
        s(out),
        "--epochs",
        &epochs,
        "--seed",
        SEED,
        "--checkpoint-every",
        "1",
        "--quiet",
        "--no-plot",
    ];
    if resume {
        args.push("--resume");
    }
    dtp_cmd(&args).spawn().expect("run dtp-cli")
}

/// Completed epochs recorded in `metrics.jsonl` (0 if absent).
fn recorded(out: &Path) -> usize {
    fs::read_to_string(out.join(metrics::JSONL)).map_or(0, |t| t.lines().count())
}

fn modified(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn assert_identical(x: &Checkpoint, y: &Checkpoint) {
    assert_eq!(x.model.epoch(), y.model.epoch());
    assert_eq!(x.train_rng, y.train_rng);
    assert_eq!(x.shuffle_rng, y.shuffle_rng);
    assert_eq!(x.hyper, y.hyper);
    let (a, b) = (x.model.tensors(), y.model.tensors());
    assert_eq!(a.len(), b.len());
    for (p, q) in a.iter().zip(&b) {
        assert_eq!(p.name, q.name);
        let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert!(bits(p.data) == bits(q.data), "tensor {} differs", p.name);
    }
}

/// Waits (polling) until `done` or `limit` has passed; returns whether `done` happened.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if done() {
            return true;
        }
        std::hint::spin_loop();
    }
    false
}

#[derive(Clone, Copy, Debug)]
enum Aim {
    /// A random moment from 0 to three epochs after the start.
    Anywhere,
    /// A random 0–8 ms after an epoch's metrics line: the checkpoint is being written.
    AfterEpoch,
    /// As soon as the checkpoint's temporary file appears.
    InWrite,
}

#[test]
fn sigkill_at_random_moments_never_loses_the_run() {
    let dir = TempDir::new().unwrap();
    let (reference, killed) = (dir.path().join("reference"), dir.path().join("killed"));
    let ckpt = killed.join(checkpoint::FILE_NAME);
    let mut tmp = ckpt.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);

    // The uninterrupted run; its duration scales the random kill delays.
    let t0 = Instant::now();
    assert!(train(&reference, false).wait().unwrap().success());
    let epoch_time = t0.elapsed() / EPOCHS;

    let mut rng = Pcg32::new(0x0dd_c0ffee, 7);
    let (mut kills, mut in_write, mut aims) = (0, 0, [0usize; 3]);
    let mut last_epoch = 0;
    let t_kills = Instant::now();
    while kills < KILLS {
        let resume = ckpt.exists();
        let at_spawn = recorded(&killed);
        let tmp_before = modified(&tmp);
        let mut child = train(&killed, resume);
        let aim = match rng.next_u32() % 3 {
            0 => Aim::Anywhere,
            1 => Aim::AfterEpoch,
            _ => Aim::InWrite,
        };
        // An epoch that only this process can have completed: after the last line present at
        // spawn (a previous run may have recorded an epoch it did not checkpoint).
        let next = at_spawn.max(last_epoch as usize) + 1 + (rng.next_u32() % 2) as usize;
        let limit = Duration::from_secs(30);
        let mut epoch_done = || recorded(&killed) >= next || child.try_wait().unwrap().is_some();
        match aim {
            Aim::Anywhere => {
                let max = 3 * epoch_time.as_micros() as u32 + 1;
                let delay = Duration::from_micros(u64::from(rng.next_u32() % max));
                wait_for(delay, || false);
            }
            Aim::AfterEpoch => {
                wait_for(limit, &mut epoch_done);
                let delay = Duration::from_micros(u64::from(rng.next_u32() % 8000));
                wait_for(delay, || false);
            }
            Aim::InWrite => {
                wait_for(limit, &mut epoch_done);
                wait_for(Duration::from_millis(200), || tmp.exists());
            }
        }
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if !running {
            // The run ended before the kill: it must have ended well, and then it is over.
            assert!(status.success(), "dtp train failed on its own: {status}");
            break;
        }
        kills += 1;
        aims[aim as usize] += 1;
        // The temporary file appeared or changed under this process and was never renamed:
        // the kill interrupted a checkpoint write.
        if modified(&tmp).is_some_and(|m| tmp_before != Some(m)) {
            in_write += 1;
        }
        if ckpt.exists() {
            let c = checkpoint::load(&ckpt).unwrap_or_else(|e| {
                panic!("kill {kills} ({aim:?}): checkpoint does not load: {e:#}")
            });
            let epoch = c.model.epoch();
            assert!(
                epoch >= last_epoch,
                "kill {kills}: epoch went back {last_epoch} → {epoch}"
            );
            last_epoch = epoch;
            let info = dtp_cmd(&["info", s(&ckpt)]).status().unwrap();
            assert!(info.success(), "kill {kills} ({aim:?}): dtp info failed");
        } else {
            assert_eq!(last_epoch, 0, "kill {kills}: the checkpoint disappeared");
        }
    }
    let kill_secs = t_kills.elapsed().as_secs_f64();
    // Finish the run.
    let resume = ckpt.exists();
    assert!(train(&killed, resume).wait().unwrap().success());
    eprintln!(
        "{kills} SIGKILLs ({} anywhere, {} after an epoch, {} aimed at a write; {in_write} inside a \
         checkpoint write) in {kill_secs:.1} s, epoch {last_epoch} of {EPOCHS} reached under kills; \
         epoch {:.0} ms",
        aims[0],
        aims[1],
        aims[2],
        epoch_time.as_secs_f64() * 1e3
    );
    assert!(
        kills >= 20,
        "only {kills} kills landed before the run ended: make the run longer"
    );
    assert!(in_write >= 1, "no kill landed inside a checkpoint write");

    let (x, y) = (
        checkpoint::load(&reference.join(checkpoint::FILE_NAME)).unwrap(),
        checkpoint::load(&ckpt).unwrap(),
    );
    assert_eq!(y.model.epoch(), EPOCHS);
    assert_identical(&x, &y);
    assert_eq!(timeless_records(&reference), timeless_records(&killed));
    assert_eq!(timeless_summary(&reference), timeless_summary(&killed));
}
