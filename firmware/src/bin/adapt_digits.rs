//! Adaptation on the device: host-trained weights, digits turned a quarter turn (a sensor
//! mounted on its side), on-device DTP recovers; so does its control (`η̂ = 0`, only the
//! output layer adapting), by far less.
//!
//! (Inverting the digits, the demo's first shift, did not tell DTP from its control: the
//! output layer alone regained 71.8 points there against DTP's 79.9 % on the device.)
#![no_std]
#![no_main]

use dtp_firmware::{run, source::Shift};

/// Passes over the turned training stream.
const EPOCHS: u32 = 3;
/// Required held-out accuracy on turned digits at the end (percent).
const BAR: f32 = 80.0;
/// Required gain over the accuracy before adapting (points).
const MIN_GAIN: f32 = 50.0;
/// Required lead over the control's held-out accuracy (points). Measured on the device: 42.6
/// with seed 1 (92.8 vs 50.1 %), 37.0–51.8 over seeds 1–6; 40.7–47.4 on the host over five
/// seeds (`tests/tests/firmware_controls.rs`).
const MIN_GAP: f32 = 25.0;

#[cortex_m_rt::entry]
fn main() -> ! {
    run::adapt(Shift::Rotate, EPOCHS, BAR, MIN_GAIN, MIN_GAP)
}
