//! The `dtp` CLI run as a user runs it (the binary `dtp-cli`, built by this crate from
//! dtp-std's `src/bin/dtp/main.rs`), and what a run leaves in its directory: the helpers of
//! the CLI tests (`tests/tests/cli*.rs`).

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use dtp_std::checkpoint::{self, Checkpoint};
use dtp_std::metrics;

/// `dtp args` without the user's data directory (`DTP_DATA_DIR`) and with no input; its
/// threads as the environment says.
pub fn plain_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dtp-cli"));
    c.args(args).env_remove("DTP_DATA_DIR").stdin(Stdio::null());
    c
}

/// [`plain_command`] on one thread (`DTP_THREADS=1`), in `cwd` if given.
pub fn command_in(cwd: Option<&Path>, args: &[&str]) -> Command {
    let mut c = plain_command(args);
    c.env("DTP_THREADS", "1");
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c
}

/// [`command_in`] the current directory.
pub fn command(args: &[&str]) -> Command {
    command_in(None, args)
}

/// Runs [`command_in`] to its end.
pub fn dtp_in(cwd: Option<&Path>, args: &[&str]) -> Output {
    command_in(cwd, args).output().expect("run dtp-cli")
}

/// Runs [`command`] to its end.
pub fn dtp(args: &[&str]) -> Output {
    dtp_in(None, args)
}

/// Bytes a process printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What `o` printed to stderr.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// What `o` printed to stdout.
pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// `o`, the output of `dtp args`, after checking that it succeeded.
pub fn succeeded(args: &[&str], o: Output) -> Output {
    assert!(o.status.success(), "dtp {args:?} failed: {}", stderr(&o));
    o
}

/// Runs `dtp args` in `cwd` (if given), expecting success.
pub fn ok_in(cwd: Option<&Path>, args: &[&str]) -> Output {
    succeeded(args, dtp_in(cwd, args))
}

/// Runs `dtp args`, expecting success.
pub fn ok(args: &[&str]) -> Output {
    ok_in(None, args)
}

/// Runs `dtp args`, expecting success; returns its stdout.
pub fn ok_stdout(args: &[&str]) -> String {
    stdout(&ok(args))
}

/// Runs `dtp args`, expects exit code `code`, every one of `needles` in stderr and no panic;
/// returns stderr.
pub fn fails(code: i32, args: &[&str], needles: &[&str]) -> String {
    let o = dtp(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "dtp {args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "dtp {args:?}: {n:?} not in stderr:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// [`fails`] with exit code 2 (bad input).
pub fn bad_input(args: &[&str], needles: &[&str]) -> String {
    fails(2, args, needles)
}

/// `p` as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The checkpoint of the run in `dir`.
pub fn load(dir: &Path) -> Checkpoint {
    checkpoint::load(&dir.join(checkpoint::FILE_NAME)).unwrap()
}

/// The bytes of the checkpoint of the run in `dir`.
pub fn ckpt_bytes(dir: &Path) -> Vec<u8> {
    fs::read(dir.join(checkpoint::FILE_NAME)).unwrap()
}

/// The `summary.json` of the run in `dir`.
pub fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join(metrics::SUMMARY)).unwrap()).unwrap()
}

/// Whether the checkpoints of the runs in `a` and `b` hold the same tensors, bit for bit.
pub fn same_tensors(a: &Path, b: &Path) -> bool {
    tensors_equal(&load(a), &load(b))
}

/// [`same_tensors`], at the same epoch.
pub fn same_weights(a: &Path, b: &Path) -> bool {
    let (x, y) = (load(a), load(b));
    x.model.epoch() == y.model.epoch() && tensors_equal(&x, &y)
}

fn tensors_equal(x: &Checkpoint, y: &Checkpoint) -> bool {
    x.model
        .tensors()
        .iter()
        .zip(y.model.tensors())
        .all(|(p, q)| p.name == q.name && p.data == q.data)
}
