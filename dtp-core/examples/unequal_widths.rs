//! A 16-24-16-3 network (unequal hidden widths) in integer DTP, as on a device: the storage
//! sized at compile time in a `static`, one sample a step. README.md, "Unequal hidden
//! widths", shows this file; `tests/readme_device.rs` keeps the two equal.
use dtp_core::int::{Arrays, Input, IntTrainer, Settings, buffers, params};
use dtp_core::step;
use rand_pcg::Pcg32;

const WIDTHS: [usize; 4] = [16, 24, 16, 3]; // 16 inputs, hidden layers of 24 and 16, 3 classes
type Net = Arrays<4, { params(&WIDTHS) }, { buffers(&WIDTHS) }>;
const SETTINGS: Settings = Settings {
    decay_every: 600, // forward rates ÷ (1 + k) after k·600 samples, advanced by the trainer
    ..Settings::DIGITS
};
static mut TRAINER: IntTrainer<Net> = IntTrainer::new(Net::new(WIDTHS), SETTINGS);

fn main() {
    // SAFETY: the only reference, taken once.
    let t = unsafe { &mut *core::ptr::addr_of_mut!(TRAINER) };
    let mut rng = Pcg32::new(1, 2);
    t.init(&mut rng);
    for sample in 0..1200 {
        let class = sample % 3;
        let x = t.input_mut(); // 16 readings in Q8: 256 is 1.0
        x.fill(0);
        x[5 * class] = Input::ONE.0;
        t.set_label(class as u16);
        step::step(t, &mut rng).unwrap(); // one integer DTP step
    }
    step::evaluate(t, &mut rng).unwrap();
    assert_eq!(t.predicted(), 2);
    println!(
        "{} parameters, trainer {} B, forward rates x {}/65536",
        params(&WIDTHS),
        core::mem::size_of::<IntTrainer<Net>>(),
        t.rate_scale()
    );
}
