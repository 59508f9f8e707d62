//! On-device DTP with Bernoulli-sampled units on the UCI digits stream; exits 0 only if the
//! held-out accuracy after training reaches [`BAR`], beats its control by [`MIN_GAP`] points,
//! and the saved weights survive a reset.
#![no_std]
#![no_main]

use dtp_firmware::{demo, run};

/// Required held-out accuracy (percent) after training (one sampled pass per digit).
const BAR: f32 = 80.0;
/// Required lead over the control's held-out accuracy (points): the same run with `η̂ = 0`,
/// where only the output layer learns. Measured on the device: 72.4 with seed 1 (82.5 vs
/// 10.0 %), 69.6–77.4 over seeds 1–6 (80.8–85.5 % vs 8.1–12.8 %: the bar is close, seed 2 clears
/// it by 0.8 points); 70.8–74.4 on the host over five seeds (`tests/tests/firmware_controls.rs`).
const MIN_GAP: f32 = 40.0;

#[cortex_m_rt::entry]
fn main() -> ! {
    run::learn(demo::Variant::Bernoulli, BAR, MIN_GAP)
}
