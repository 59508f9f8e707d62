//! [`Observer`]: what a training run tells whoever runs it. The library prints nothing: the
//! `dtp` binary shows a progress bar and epoch lines through its observer; a Rust program may
//! watch the same events or ignore them ([`Silent`]).

/// Events of a training run ([`crate::train::train`]), in order: `start`, then per epoch
/// `epoch`, `batch` for every batch handed to the trainer, a `line` with the epoch's figures;
/// `warning`s whenever they arise; `finish` once training stops (after the last epoch or on
/// an error).
pub trait Observer {
    /// Training starts: `total` training samples in the whole run of which `done` are done
    /// already (a resumed run); batches of `batch` samples, each handed over `passes` times
    /// per epoch (2 with DTP's alternating schedule).
    fn start(&mut self, total: u64, done: u64, batch: usize, passes: usize) {
        let _ = (total, done, batch, passes);
    }
    /// A line about the run: what is trained on what, then one per epoch.
    fn line(&mut self, line: &str) {
        let _ = line;
    }
    /// Epoch `epoch` (1-based) of `epochs` begins.
    fn epoch(&mut self, epoch: u32, epochs: u32) {
        let _ = (epoch, epochs);
    }
    /// A batch was handed to the trainer.
    fn batch(&mut self) {}
    /// Something the user should know that does not stop the run (inputs far outside what the
    /// units expect; a plot that could not be drawn).
    fn warning(&mut self, warning: &str) {
        let _ = warning;
    }
    /// Training stopped.
    fn finish(&mut self) {}
}

/// An observer that ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {}
