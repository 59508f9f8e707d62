//! Adaptation on the device: host-trained weights, inverted digits, on-device DTP recovers.
#![no_std]
#![no_main]

use dtp_firmware::{run, source::Shift};

/// Passes over the inverted training stream.
const EPOCHS: u32 = 3;
/// Required held-out accuracy on inverted digits at the end (percent).
const BAR: f32 = 70.0;
/// Required gain over the accuracy before adapting (points).
const MIN_GAIN: f32 = 50.0;

#[cortex_m_rt::entry]
fn main() -> ! {
    run::adapt(Shift::Invert, EPOCHS, BAR, MIN_GAIN)
}
