//! [`SampleClock`]: the learning-rate schedule of the per-sample path.
//!
//! A trainer's schedules ([`Config::lr_decay`](crate::Config::lr_decay), σ's
//! [`SigmaSchedule`](crate::SigmaSchedule)) read its epoch counter,
//! [`Trainer::epoch`](crate::Trainer::epoch).
//! [`Trainer::train_epoch`](crate::Trainer::train_epoch) advances it after each pass over a
//! data set; [`Trainer::step`](crate::Trainer::step) never does, so a device that calls `step`
//! on a stream with [`Config::FIRMWARE_SIGN`](crate::Config::FIRMWARE_SIGN) (whose forward
//! rate is divided by `1 + epoch`) learns at the first epoch's rate for ever — 82.7–86.0 %
//! held-out on the firmware's digits against 89.5–93.7 % with the decay (issue 27). A
//! `SampleClock` is the stream's epoch: [`SampleClock::step`] is `Trainer::step` that also
//! counts the samples and advances `epoch` every [`every`](SampleClock::every) of them, for
//! any trainer ([`AnyTrainer`]).
//!
//! `Trainer::step` itself is unchanged (the firmware's demos count its instructions and set
//! `epoch` themselves at their epochs' ends). The integer trainer keeps its own clock
//! ([`int::Settings::decay_every`](crate::int::Settings::decay_every)).
//!
//! ```
//! use dtp_core::{Config, FusedTrainer, Init, SampleClock};
//! use rand_pcg::Pcg32;
//!
//! let mut rng = Pcg32::new(1, 2);
//! let mut t: FusedTrainer<4, 8, 3, 1> =
//!     FusedTrainer::new(Config::FIRMWARE_SIGN, Init::Orthogonal, &mut rng).unwrap();
//! let mut clock = SampleClock::every(100); // the forward rate: lr₀ / (1 + samples / 100)
//! for sample in 0..250 {
//!     let class = sample % 3;
//!     let (x, label) = t.batch_mut();
//!     x.fill(0.0);
//!     x[class] = 1.0;
//!     label.fill(0.0);
//!     label[class] = 1.0;
//!     clock.step(&mut t, &mut rng).unwrap(); // one DTP step, then the schedule
//! }
//! assert_eq!(t.epoch, 2);
//! assert_eq!(t.config().forward_at(t.epoch).lr, 6e-4 / 3.0);
//! ```

use crate::any::AnyTrainer;
use crate::error::Error;
use crate::trainer::StepStats;
use rand_core::Rng;

/// Counts the samples a trainer has stepped on and advances its epoch counter every
/// [`every`](Self::every) samples (see the [module](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SampleClock {
    /// Samples in one period of the schedule (an "epoch" of the stream); 0: never advance.
    pub every: u32,
    /// Samples counted in the current period, `< every`.
    pub seen: u32,
}

impl SampleClock {
    /// A clock whose periods are `samples` long (0: the schedule never advances).
    pub const fn every(samples: u32) -> Self {
        SampleClock {
            every: samples,
            seen: 0,
        }
    }

    /// One DTP step ([`Trainer::step`](crate::Trainer::step)) on the batch in any trainer's
    /// buffers ([`AnyTrainer`]), then [`tick`](Self::tick). An error leaves the count and the
    /// epoch as they were.
    pub fn step<T, G>(&mut self, trainer: &mut T, rng: &mut G) -> Result<StepStats, Error>
    where
        T: AnyTrainer,
        G: Rng + ?Sized,
    {
        let stats = trainer.step(rng)?;
        self.tick(trainer);
        Ok(stats)
    }

    /// Counts one step's samples (the trainer's batch) and advances its epoch counter by one
    /// for each period completed: for steps taken some other way.
    pub fn tick<T: AnyTrainer>(&mut self, trainer: &mut T) {
        if self.every == 0 {
            return;
        }
        self.seen = self.seen.saturating_add(trainer.batch() as u32);
        while self.seen >= self.every {
            self.seen -= self.every;
            let epoch = trainer.epoch_mut();
            *epoch = epoch.saturating_add(1);
        }
    }
}
