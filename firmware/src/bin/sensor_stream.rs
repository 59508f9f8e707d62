//! On-device DTP on a drifting sensor stream: a SysTick interrupt produces frames into a
//! `heapless::spsc::Queue`, the main loop runs one DTP step per frame and saves the weights to
//! flash at the end of each phase (see `dtp_firmware::sensor`). Exits 0 only if the held-out
//! accuracy through the turned, ageing sensor at the end reaches [`BAR`], beats its control
//! by [`MIN_GAP`] points, and the weights reloaded from flash score what they were saved with.
#![no_std]
#![no_main]

use dtp_firmware::sensor;

/// Required held-out accuracy (percent) through the turned, aged sensor at the end of the
/// run. Measured with `Config::FIRMWARE_SIGN` over seeds 1–6 (seeded stream order): DTP
/// 71.9–86.9 % (seed 1, the default: 86.9 %), its control 47.9–56.3 %; the bar sits between
/// the two (set from the earlier stride order's seeds 1–5 and 7: DTP 72.4–83.0 %, control
/// 46.2–62.7 %).
const BAR: f32 = 65.0;
/// Required lead over the control's held-out accuracy (points): the same stream with
/// `η̂ = 0`, where only the output layer learns. Measured: 33.7 (86.9 vs 53.2 %) with seed 1,
/// 15.6–33.7 over seeds 1–6 (15.0–36.8 with the stride order; required: two thirds of its
/// smallest).
const MIN_GAP: f32 = 10.0;

#[cortex_m_rt::entry]
fn main() -> ! {
    sensor::run(BAR, MIN_GAP)
}
