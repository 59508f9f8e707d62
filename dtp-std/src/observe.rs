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
    /// Something said once as a run starts that the user should see even without epoch
    /// lines: the run directory chosen for a run given no `--out`, settings chosen for the
    /// algorithm.
    fn note(&mut self, note: &str) {
        let _ = note;
    }
    /// Training stopped.
    fn finish(&mut self) {}
    /// Whether the user asked the run to stop (the `dtp` binary: Ctrl-C). Asked before every
    /// batch; when it says yes, the run calls [`interrupted`](Observer::interrupted) and
    /// **ends the process** with exit code
    /// [`EXIT_INTERRUPTED`](crate::failure::EXIT_INTERRUPTED) (130): the checkpoint last
    /// written is whole (checkpoints are written atomically) and the epoch under way is
    /// dropped. The default never asks to stop.
    fn stop_requested(&mut self) -> bool {
        false
    }
    /// The run stops on the user's request: `message` names the epoch under way, the
    /// checkpoint kept and the command that continues the run. Called once, after
    /// [`finish`](Observer::finish), just before the process exits.
    fn interrupted(&mut self, message: &str) {
        let _ = message;
    }
}

/// An observer that ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {}
