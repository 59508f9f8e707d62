//! Where training samples come from: [`SampleSource`], served from the digits table in flash
//! ([`FlashDigits`], QEMU and any board) or by an I²C device through embedded-hal 1.0
//! ([`I2cFrames`], a real sensor).

use crate::cell::Once;
use crate::digits::{self, PIXELS};
use dtp_digits::order::{ORDER_STREAM, shuffle};
use rand_pcg::Pcg32;

/// A stream of labelled samples of `PIXELS` inputs in `[0, 1]`.
pub trait SampleSource {
    /// What can go wrong reading a sample.
    type Error: defmt::Format;

    /// Writes the next sample's inputs into `x` and returns its label.
    fn next_sample(&mut self, x: &mut [f32; PIXELS]) -> Result<u8, Self::Error>;
}

/// A change of input distribution, for the adaptation demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum Shift {
    /// The digits as they are.
    None,
    /// Ink and paper swapped: `x ↦ 1 − x`.
    Invert,
    /// Moved right by one pixel (the new left column blank).
    Right,
    /// A quarter turn clockwise (a sensor mounted on its side): the pixel at row `r`, column
    /// `c` moves to row `c`, column `7 − r`.
    Rotate,
}

impl Shift {
    /// Applies the shift to one 8×8 image in place.
    pub fn apply(self, x: &mut [f32; PIXELS]) {
        match self {
            Shift::None => {}
            Shift::Invert => x.iter_mut().for_each(|v| *v = 1.0 - *v),
            Shift::Right => {
                for row in x.chunks_exact_mut(8) {
                    row.copy_within(0..7, 1);
                    row[0] = 0.0;
                }
            }
            Shift::Rotate => {
                let src = *x;
                for r in 0..8 {
                    for c in 0..8 {
                        x[c * 8 + 7 - r] = src[r * 8 + c];
                    }
                }
            }
        }
    }
}

/// The training part of the digits table as an endless stream: each epoch visits all 1438
/// training samples once, in an order shuffled afresh at the start of every epoch
/// (Fisher–Yates, from a `Pcg32` of the build's [`SEED`](crate::SEED) on a stream of its own,
/// so the order does not draw from the trainer's generator), through a [`Shift`].
///
/// The order (1438 `u16`, 2,876 B) lives in a `static` ([`ORDER`]), not in the stream, so the
/// stream is small on the stack; there is one, taken once ([`FlashDigits::take`]) and started
/// over by [`FlashDigits::restart`], which serves the same samples in the same order again (a
/// demo's DTP run and its control).
pub struct FlashDigits {
    /// Completed passes over the training part.
    pub epoch: u32,
    position: usize,
    /// The input shift applied to every sample.
    pub shift: Shift,
    /// This epoch's order: a permutation of `0..TRAIN` (training-sample numbers).
    order: &'static mut [u16; digits::TRAIN],
    rng: Pcg32,
}

/// The storage of [`FlashDigits`]'s order (zero bits: `.bss`).
pub static ORDER: Once<[u16; digits::TRAIN]> = Once::new([0; digits::TRAIN]);

impl FlashDigits {
    /// The stream, starting at epoch 0, ordered from the build's seed; `None` if it was taken
    /// already.
    pub fn take(shift: Shift) -> Option<Self> {
        let mut s = FlashDigits {
            epoch: 0,
            position: 0,
            shift,
            order: ORDER.take()?,
            rng: Pcg32::new(crate::SEED, ORDER_STREAM),
        };
        s.restart(shift);
        Some(s)
    }

    /// Starts over at epoch 0 through `shift`, in the order a fresh stream has.
    pub fn restart(&mut self, shift: Shift) {
        self.restart_with_seed(shift, crate::SEED);
    }

    /// Starts over at epoch 0 through `shift`, ordered from `seed`.
    pub fn restart_with_seed(&mut self, shift: Shift, seed: u64) {
        for (j, o) in self.order.iter_mut().enumerate() {
            *o = j as u16;
        }
        self.epoch = 0;
        self.position = 0;
        self.shift = shift;
        self.rng = Pcg32::new(seed, ORDER_STREAM);
        self.shuffle();
    }

    /// Samples already taken in the current epoch.
    pub fn position(&self) -> usize {
        self.position
    }

    /// A new order for the next epoch: `dtp_digits::order::shuffle` (Fisher–Yates) of the
    /// current one.
    fn shuffle(&mut self) {
        shuffle(self.order, &mut self.rng);
    }
}

impl SampleSource for FlashDigits {
    type Error = SampleError;

    fn next_sample(&mut self, x: &mut [f32; PIXELS]) -> Result<u8, SampleError> {
        // `order` holds a permutation of `0..TRAIN` and `position < TRAIN`, so neither error
        // can happen; they are errors rather than panics so the loop has no panic path.
        let j = *self
            .order
            .get(self.position)
            .ok_or(SampleError(self.position))?;
        let i = digits::train_index(usize::from(j));
        let label = digits::sample(i, x).ok_or(SampleError(i))?;
        self.shift.apply(x);
        self.position += 1;
        if self.position >= digits::TRAIN {
            self.position = 0;
            self.epoch += 1;
            self.shuffle();
        }
        Ok(label)
    }
}

/// A sample index outside the digits table (a broken stream invariant, never expected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub struct SampleError(pub usize);

/// Samples read from an I²C device through embedded-hal 1.0: a write of register `0x00`, then
/// a read of 65 bytes — 64 pixel intensities `0..=255` (row-major 8×8) and the label.
///
/// That is the frame a small labelling front end provides (an 8×8 sensor such as a Panasonic
/// AMG8833 thermopile array behind a microcontroller with a "class" button); any I²C or SPI
/// driver can sit behind [`SampleSource`] the same way.
pub struct I2cFrames<I> {
    i2c: I,
    address: u8,
}

impl<I: embedded_hal::i2c::I2c> I2cFrames<I> {
    /// A source reading frames from the device at 7-bit `address`.
    pub fn new(i2c: I, address: u8) -> Self {
        I2cFrames { i2c, address }
    }
}

/// Why an I²C frame could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub enum FrameError {
    /// The bus transfer failed (the driver's `ErrorKind`).
    Bus(#[defmt(Debug2Format)] embedded_hal::i2c::ErrorKind),
    /// A label outside `0..10`.
    BadLabel(u8),
}

impl<I: embedded_hal::i2c::I2c> SampleSource for I2cFrames<I> {
    type Error = FrameError;

    fn next_sample(&mut self, x: &mut [f32; PIXELS]) -> Result<u8, FrameError> {
        use embedded_hal::i2c::Error as _;
        let mut frame = [0u8; PIXELS + 1];
        self.i2c
            .write_read(self.address, &[0x00], &mut frame)
            .map_err(|e| FrameError::Bus(e.kind()))?;
        for (v, &b) in x.iter_mut().zip(&frame[..PIXELS]) {
            *v = b as f32 * (1.0 / 255.0);
        }
        match frame[PIXELS] {
            label @ 0..=9 => Ok(label),
            bad => Err(FrameError::BadLabel(bad)),
        }
    }
}

/// [`I2cFrames`] on the nRF52840-DK: its TWIM0 through nrf52840-hal's embedded-hal 1.0 `I2c`.
#[cfg(feature = "nrf52840-dk")]
pub type DkI2cFrames = I2cFrames<nrf52840_hal::twim::Twim<nrf52840_hal::pac::TWIM0>>;

/// The frame source of an I²C device at 7-bit `address` on the nRF52840-DK's Arduino-header
/// I²C pins (SDA P0.26, SCL P0.27), at 400 kHz. (Compiled for the board, not run on one here.)
#[cfg(feature = "nrf52840-dk")]
pub fn dk_i2c_frames(
    twim0: nrf52840_hal::pac::TWIM0,
    p0: nrf52840_hal::pac::P0,
    address: u8,
) -> DkI2cFrames {
    use nrf52840_hal::{gpio::p0, twim};
    let port = p0::Parts::new(p0);
    let pins = twim::Pins {
        scl: port.p0_27.into_floating_input().degrade(),
        sda: port.p0_26.into_floating_input().degrade(),
    };
    I2cFrames::new(twim::Twim::new(twim0, pins, twim::Frequency::K400), address)
}
