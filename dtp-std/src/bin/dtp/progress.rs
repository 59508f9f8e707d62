//! The training progress bar (indicatif): samples processed, samples/s and ETA, on stderr;
//! the `dtp` binary's [`Observer`] of a training run.
//!
//! Hidden when stderr is not a terminal or with `--quiet`; per-epoch lines are then printed
//! plainly to stderr (unless quiet). Warnings are printed even when quiet.

use std::time::Duration;

use dtp_std::observe::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Progress of a whole run, counted in training samples.
pub struct Progress {
    bar: ProgressBar,
    quiet: bool,
    /// Samples per batch handed to the trainer, over passes per epoch.
    batch: u64,
    passes: u64,
    fills: u64,
    base: u64,
}

impl Progress {
    /// A bar for `total` training samples of which `done` are already done (resumed runs);
    /// each batch of `batch` samples is handed over `passes` times per epoch (2 with the
    /// alternating schedule).
    pub fn new(total: u64, done: u64, batch: usize, passes: usize, quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr_with_hz(4)
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>12} [{bar:30.cyan/blue}] {human_pos}/{human_len} samples \
                 {rate:>16} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                // Wall clock, evaluations between epochs included: below the epoch lines' figure.
                let _ = write!(w, "{:.0} samples/s wall", s.per_sec());
            })
            .progress_chars("=> "),
        );
        bar.set_position(done);
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            quiet,
            batch: batch as u64,
            passes: passes.max(1) as u64,
            fills: 0,
            base: done,
        }
    }

    /// Called each time a batch is handed to the trainer.
    pub fn batch_done(&mut self) {
        self.fills += 1;
        self.bar
            .set_position(self.base + self.fills * self.batch / self.passes);
    }

    /// Shows which epoch is running.
    pub fn set_epoch(&self, epoch: u32, epochs: u32) {
        self.bar.set_message(format!("epoch {epoch}/{epochs}"));
    }

    /// Prints a line above the bar (or plainly when the bar is hidden), unless quiet.
    pub fn println(&self, line: &str) {
        if self.quiet {
            return;
        }
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The binary's observer: a [`Progress`] bar from the start of training.
pub struct Bar {
    quiet: bool,
    progress: Option<Progress>,
}

impl Bar {
    /// No bar yet; `quiet` hides it and the lines.
    pub fn new(quiet: bool) -> Self {
        Bar {
            quiet,
            progress: None,
        }
    }
}

impl Observer for Bar {
    fn start(&mut self, total: u64, done: u64, batch: usize, passes: usize) {
        self.progress = Some(Progress::new(total, done, batch, passes, self.quiet));
    }

    fn line(&mut self, line: &str) {
        match &self.progress {
            Some(p) => p.println(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }

    fn epoch(&mut self, epoch: u32, epochs: u32) {
        if let Some(p) = &self.progress {
            p.set_epoch(epoch, epochs);
        }
    }

    fn batch(&mut self) {
        if let Some(p) = &mut self.progress {
            p.batch_done();
        }
    }

    fn warning(&mut self, warning: &str) {
        match &self.progress {
            Some(p) if !p.bar.is_hidden() => p.bar.println(format!("warning: {warning}")),
            _ => eprintln!("warning: {warning}"),
        }
    }

    fn note(&mut self, note: &str) {
        match &self.progress {
            Some(p) if !p.bar.is_hidden() => p.bar.println(format!("note: {note}")),
            _ => eprintln!("note: {note}"),
        }
    }

    fn finish(&mut self) {
        if let Some(p) = &self.progress {
            p.finish();
        }
    }

    fn stop_requested(&mut self) -> bool {
        crate::interrupt::requested()
    }

    fn interrupted(&mut self, message: &str) {
        eprintln!("{message}");
    }
}
