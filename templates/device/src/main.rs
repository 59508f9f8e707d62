//! A 16-input accelerometer classifier that learns on the part: a 16-24-16-3 network trained
//! one sample at a time by integer DTP (`dtp_core::int`: i16 weights, sign hidden units, no
//! floating point, no division), in 10 KB of RAM, on any Cortex-M (the M0 has no FPU).
//!
//! Replace `Gestures` by your sensor: 16 readings a sample (e.g. a window of 16 accelerometer
//! magnitudes, or 4 windows of x, y, z and |a|) scaled to the trainer's Q8 inputs
//! (256 = 1.0), and a label. The simulated gestures here: still (flat, small noise), shake
//! (alternating sign), tilt (a ramp).
#![no_std]
#![no_main]

use core::fmt::Write as _;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hio};
use dtp_core::int::{Arrays, IntTrainer, Settings, buffers, params};
use dtp_core::step;
use rand_core::Rng;
use rand_pcg::Pcg32;

/// Input, two hidden layers of unequal width, classes.
const WIDTHS: [usize; 4] = [16, 24, 16, 3];
/// The network's storage: i16 parameters and i32 buffers, sized at compile time.
type Net = Arrays<4, { params(&WIDTHS) }, { buffers(&WIDTHS) }>;
/// Samples a gesture stream has before the forward rates halve (then a third, ...).
const DECAY_EVERY: u32 = 600;
/// Training samples, held-out samples.
const TRAIN: u32 = 2400;
const HELD_OUT: u32 = 300;

/// The trainer, in `.bss`/`.data` (no heap): the settings of the digits net with the
/// learning-rate decay period of this stream; the trainer advances it itself per sample.
static mut TRAINER: IntTrainer<Net> = IntTrainer::new(
    Net::new(WIDTHS),
    Settings {
        decay_every: DECAY_EVERY,
        ..Settings::DIGITS
    },
);

/// The log: semihosting (QEMU, or a debugger attached). On a board without one, replace
/// `log` by your UART or RTT (`defmt-rtt`, `rtt-target`).
macro_rules! log {
    ($($arg:tt)*) => {{
        if let Ok(mut out) = hio::hstdout() {
            let _ = writeln!(out, $($arg)*);
        }
    }};
}

/// A simulated accelerometer: 16 readings in Q8 and a label.
struct Gestures(Pcg32);

impl Gestures {
    fn sample(&mut self, x: &mut [i32]) -> u16 {
        let label = (self.0.next_u32() % 3) as u16;
        let phase = (self.0.next_u32() % 4) as i32;
        for (i, v) in x.iter_mut().enumerate() {
            let noise = (self.0.next_u32() % 97) as i32 - 48; // ±0.19
            let i = i as i32;
            *v = noise
                + match label {
                    0 => 64, // still: 0.25 g
                    1 => {
                        if (i + phase) % 2 == 0 {
                            200
                        } else {
                            -200
                        }
                    } // shake
                    _ => (i - 8) * 24 + phase * 8, // tilt: a ramp
                };
        }
        label
    }
}

#[entry]
fn main() -> ! {
    // SAFETY: the only reference to TRAINER, taken once, before any interrupt uses it.
    let trainer = unsafe { &mut *&raw mut TRAINER };
    let mut rng = Pcg32::new(1, 2);
    trainer.init(&mut rng);
    let mut data = Gestures(Pcg32::new(7, 11));
    log!(
        "dtp device template: 16-24-16-3 integer DTP, {} training samples",
        TRAIN
    );

    for seen in 1..=TRAIN {
        let label = data.sample(trainer.input_mut());
        trainer.set_label(label);
        if let Err(e) = step::step(trainer, &mut rng) {
            log!("step {}: {:?}", seen, e); // an overflow: lower the rates
            debug::exit(debug::EXIT_FAILURE);
        }
    }
    let mut correct = 0;
    for _ in 0..HELD_OUT {
        let label = data.sample(trainer.input_mut());
        trainer.set_label(label);
        if let Ok(s) = step::evaluate(trainer, &mut rng) {
            correct += s.correct;
        }
    }
    log!(
        "held-out {}/{} after {} samples ({} decay periods: forward rates x {}/65536)",
        correct,
        HELD_OUT,
        trainer.samples_seen(),
        trainer.samples_seen() / DECAY_EVERY,
        trainer.rate_scale()
    );
    // Exit 0 (under QEMU) if it learned: chance is a third.
    debug::exit(if correct * 10 >= HELD_OUT * 9 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    // A stack overflow ends here when linked through flip-link (.cargo/config.toml; for
    // thumbv6m-none-eabi): the stack lies under the statics and overflows out of RAM.
    log!("HardFault at pc {:#010x}", frame.pc());
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    log!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

/// Helpers generic over the float trainers (`dtp_core::any`), for a part with an FPU: they
/// compile in this crate, which has no `nalgebra` dependency (dtp_core re-exports what the
/// bounds name). Not called here, so not in the binary.
#[allow(dead_code)]
mod float {
    use dtp_core::{
        Alloc, AnyTrainer, DefaultAllocator, Dim, Error, FeedbackState, Fixed, GradientStore,
        Kernel, Layout, StepStats, Trainer,
    };
    use rand_pcg::Pcg32;

    /// Any trainer of the 16-24-24-3 layout (FusedTrainer<16, 24, 3, 1>, FixedFeedbackTrainer...).
    pub fn learn<T: AnyTrainer<Layout = Fixed<16, 24, 3, 1>>>(
        t: &mut T,
        reading: &[f32; 16],
        class: usize,
        rng: &mut Pcg32,
    ) -> Result<StepStats, Error> {
        t.input().copy_from_slice(reading);
        let labels = t.labels();
        labels.fill(0.0);
        labels[class] = 1.0;
        t.step(rng)
    }

    /// Any trainer of any layout, with the matrices in reach.
    pub fn step<L, B, K, S, V>(
        t: &mut Trainer<L, B, K, S, V>,
        rng: &mut Pcg32,
    ) -> Result<StepStats, Error>
    where
        L: Layout,
        B: Dim,
        K: Kernel,
        S: GradientStore<L>,
        V: FeedbackState<L::Hidden>,
        DefaultAllocator: Alloc<L, B>,
    {
        t.step(rng)
    }
}
