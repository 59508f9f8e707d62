//! Instructions per integer DTP step (`dtp_core::int`, `step::step`) of the 64-32-32-10
//! sign-unit digits net, one sample a step, on the digits' training part (`i % 5 != 4`, in
//! order), built for thumbv6m (Cortex-M0) and counted under `qemu-system-arm -icount shift=0`
//! (1 instruction = 1 ns of virtual time; mps2-an385's SysTick runs at 25 MHz: 40 instructions
//! a tick). Prints the figure, the trainer's size, and the held-out accuracy after one epoch.
//!
//! `cargo run --release` from this directory (through `scripts/thumb-cargo.sh` on Debian).
#![no_std]
#![no_main]

use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use dtp_core::int::{Arrays, Input, IntTrainer, Settings, buffers, params};
use dtp_core::step;
use rand_pcg::Pcg32;

const W: [usize; 4] = [64, 32, 32, 10];
type Net = Arrays<4, { params(&W) }, { buffers(&W) }>;
static mut TRAINER: IntTrainer<Net> = IntTrainer::new(Net::new(W), Settings::DIGITS);
static PIXELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pixels.bin"));
static LABELS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/labels.bin"));
/// Steps measured (the first of the training part, in order).
const STEPS: u32 = 1000;

fn fill(t: &mut IntTrainer<Net>, i: usize) {
    let pixels = PIXELS.get(64 * i..64 * i + 64).unwrap_or(&[]);
    for (x, &q) in t.input_mut().iter_mut().zip(pixels) {
        *x = Input::from_4bit(q).0;
    }
    t.set_label(u16::from(LABELS.get(i).copied().unwrap_or(0)));
}

#[entry]
fn main() -> ! {
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        debug::exit(debug::EXIT_FAILURE);
        loop {}
    };
    // SAFETY: the only reference to TRAINER.
    let t = unsafe { &mut *core::ptr::addr_of_mut!(TRAINER) };
    let mut rng = Pcg32::new(1, 0x0a02_bdbf_7bb3_c0a7);
    t.init(&mut rng);
    let syst = &mut cp.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00FF_FFFF);
    syst.clear_current();
    syst.enable_counter();
    while SYST::get_current() == 0 {}
    // Calibration: a two-instruction countdown loop of known length.
    let c0 = SYST::get_current();
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!("2:", "subs {0}, {0}, #1", "bne 2b", inout(reg) 1_000_000u32 => _,
            options(nomem, nostack));
    }
    let calibration = c0.wrapping_sub(SYST::get_current()) & 0x00FF_FFFF;
    hprintln!("calibration: 2000000 instructions in {} ticks", calibration);
    let train = (0..LABELS.len()).filter(|i| i % 5 != 4);
    let start = SYST::get_current();
    for i in train.clone().take(STEPS as usize) {
        fill(t, i);
        if step::step(t, &mut rng).is_err() {
            hprintln!("step failed");
            debug::exit(debug::EXIT_FAILURE);
        }
        #[cfg(feature = "float-canary")]
        canary(t);
    }
    let ticks = start.wrapping_sub(SYST::get_current()) & 0x00FF_FFFF;
    #[cfg(feature = "phases")]
    phases(t, &mut rng);
    #[cfg(feature = "kernels")]
    kernels();
    hprintln!(
        "= {} instructions per DTP step (integer, 64-32-32-10; {} steps, {} ticks of 40)",
        ticks * 40 / STEPS,
        STEPS,
        ticks
    );
    hprintln!(
        "trainer: {} B for {} parameters",
        core::mem::size_of::<IntTrainer<Net>>(),
        params(&W)
    );
    for i in train.skip(STEPS as usize) {
        fill(t, i);
        let _ = step::step(t, &mut rng);
    }
    let (mut correct, mut n) = (0, 0);
    for i in (0..LABELS.len()).filter(|i| i % 5 == 4) {
        fill(t, i);
        correct += step::evaluate(t, &mut rng).map_or(0, |s| s.correct);
        n += 1;
    }
    hprintln!("held-out after one epoch in order: {}/{}", correct, n);
    // FNV-1a of the trained parameters: thumbv6m (portable loops) and thumbv7em (the DSP
    // loops) must print the same.
    let digest = t.params().iter().fold(0x811c_9dc5u32, |h, &w| {
        (h ^ u32::from(w as u16)).wrapping_mul(0x0100_0193)
    });
    hprintln!("parameters' digest after one epoch: {:#010x}", digest);
    #[cfg(feature = "no-panic-canary")]
    hprintln!("{}", canary_index(n));
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}

/// Instructions of each step of the driver's order over 200 more samples (`--features phases`).
#[cfg(feature = "phases")]
fn phases(t: &mut IntTrainer<Net>, rng: &mut Pcg32) {
    use dtp_core::step::{Pass, Steps};
    let mut sum = [0u32; 5];
    let now = || SYST::get_current();
    for i in (0..LABELS.len())
        .filter(|i| i % 5 != 4)
        .skip(STEPS as usize)
        .take(200)
    {
        fill(t, i);
        let t0 = now();
        let _ = t.forward(Pass::Training, rng);
        let t1 = now();
        let _ = t.feedback_step(rng);
        let t2 = now();
        let _ = t.top_target();
        let t3 = now();
        let _ = t.difference_targets(rng);
        let t4 = now();
        let _ = t.forward_step();
        let t5 = now();
        for (s, (a, b)) in sum
            .iter_mut()
            .zip([(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)])
        {
            *s += a.wrapping_sub(b) & 0x00FF_FFFF;
        }
    }
    hprintln!(
        "phases (instructions a step): forward {}, inverse {}, top target {}, difference targets {}, forward step {}",
        sum[0] * 40 / 200,
        sum[1] * 40 / 200,
        sum[2] * 40 / 200,
        sum[3] * 40 / 200,
        sum[4] * 40 / 200
    );
}

/// Instructions of each kernel alone, on fixed data (`--features kernels`).
#[cfg(feature = "kernels")]
fn kernels() {
    use core::hint::black_box;
    use dtp_core::int::kernel;
    static mut W: [i16; 64 * 32] = [0; 64 * 32];
    static mut BUF: [i32; 64 + 32 * 4] = [0; 64 + 32 * 4];
    // SAFETY: the only references to W and BUF.
    let (w, buf) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(W),
            &mut *core::ptr::addr_of_mut!(BUF),
        )
    };
    let mut x = 12345u32;
    for v in w.iter_mut() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = (x >> 20) as i16 - 2048;
    }
    for (k, v) in buf.iter_mut().enumerate() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = if k < 64 {
            ((x >> 24) as i32 & 255) * (k as i32 & 1)
        } else {
            (x >> 14) as i32 - (1 << 17)
        };
    }
    let (b, rest) = w.split_at_mut(32);
    let (xin, rest2) = buf.split_at_mut(64);
    let (src, rest3) = rest2.split_at_mut(32);
    let (acc, rest4) = rest3.split_at_mut(32);
    let (plus, minus) = rest4.split_at_mut(32);
    let time = |name: &str, f: &mut dyn FnMut()| {
        let t0 = SYST::get_current();
        for _ in 0..20 {
            f();
        }
        let t = t0.wrapping_sub(SYST::get_current()) & 0x00FF_FFFF;
        hprintln!("kernel {}: {} instructions", name, t * 40 / 20);
    };
    let wb = &mut rest[..32 * 32];
    time("sign_gemv 32x32", &mut || {
        kernel::sign_gemv(
            black_box(&*wb),
            black_box(&*b),
            black_box(&*src),
            black_box(&mut *acc),
        )
    });
    let mut tmp = [0i32; 32];
    let w1 = &mut rest[..64 * 31];
    time("input_gemv 64x31", &mut || {
        black_box(kernel::input_gemv(
            black_box(&*w1),
            black_box(&b[..31]),
            black_box(&*xin),
            black_box(&mut acc[..31]),
            &mut tmp,
        ));
    });
    for (p, m) in plus.iter_mut().zip(minus.iter_mut()) {
        *p = (*p >> 6) * 1;
        *m = 0;
    }
    let _ = kernel::row_constants(plus, minus, 14);
    let mut seed = 1u32;
    let wb = &mut rest[..32 * 32];
    time("sign_update 32x32", &mut || {
        seed = seed.wrapping_add(1);
        black_box(kernel::sign_update(
            black_box(&mut *wb),
            black_box(&mut *b),
            plus,
            minus,
            black_box(&*src),
            seed,
        ));
    });
    // A wrap refused (the assembly loops' overflow paths): weights at the top of `i16`, steps
    // of +1 or more on every row, the layer left as it was.
    wb.iter_mut().for_each(|w| *w = i16::MAX - 1);
    for (p, m) in plus.iter_mut().zip(minus.iter_mut()) {
        *p = 3 << 14;
        *m = 0;
    }
    let fits = kernel::row_constants(plus, minus, 14);
    let refused = fits
        && !kernel::sign_update(&mut *wb, &mut *b, plus, minus, &*src, 7)
        && wb.iter().all(|&w| w == i16::MAX - 1);
    hprintln!("kernel sign_update refuses a wrap: {}", refused);
}

/// A float operation on the measured path (the no-float check's canary).
#[cfg(feature = "float-canary")]
#[inline(never)]
fn canary(t: &mut IntTrainer<Net>) {
    let x = t.input_mut();
    x[0] = (core::hint::black_box(x[0] as f32) / core::hint::black_box(3.0f32)) as i32;
}

#[cfg(not(feature = "no-panic-proof"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

/// The link-time proof (`--features no-panic-proof`): the panic handler calls a symbol that
/// exists nowhere, so the ELF links only if no panic path survives in it (the trainer's
/// init, the five steps, evaluation and this bench's loop).
#[cfg(feature = "no-panic-proof")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe extern "C" {
        fn dtp_int_step_can_panic() -> !;
    }
    // SAFETY: never defined: a reference to it fails the link.
    unsafe { dtp_int_step_can_panic() }
}

/// With `no-panic-canary`: one bounds check the optimiser cannot remove (the link must fail).
#[cfg(feature = "no-panic-canary")]
#[inline(never)]
pub fn canary_index(i: usize) -> u8 {
    PIXELS[core::hint::black_box(i)]
}
