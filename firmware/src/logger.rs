//! The defmt transport under QEMU: defmt frames (rzCOBS-encoded) written to the host's stdout
//! through Arm semihosting, which `firmware/run-qemu.sh` pipes into `defmt-print`.
//!
//! It does what the `defmt-semihosting` crate does, without a panic path: that crate panics
//! when the logger is re-entered or used outside `acquire`/`release`, and those panics were
//! the only ones left in the demos (`firmware/check-no-panic.sh`). Here a re-entered logger
//! (a log from inside a log, e.g. from a fault handler) is a deliberate error exit, and the
//! bytes of a frame go out through a small buffer rather than one semihosting call each.

use crate::atomic::{AtomicBool, Ordering};
use core::cell::UnsafeCell;
use cortex_m_semihosting::hio::{self, HostStream};

#[defmt::global_logger]
struct Logger;

/// Bytes collected before a semihosting `SYS_WRITE`.
const BUF: usize = 64;

/// Where a frame's bytes go: a buffer, then the host's stdout.
struct Sink {
    /// Whether interrupts were enabled at `acquire` (restored at `release`).
    interrupts_were_on: bool,
    /// The host's stdout, opened on first use (`None` if the host refused).
    out: Option<HostStream>,
    opened: bool,
    buf: [u8; BUF],
    len: usize,
}

impl Sink {
    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len >= BUF {
                self.flush();
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    fn flush(&mut self) {
        if let (Some(out), Some(bytes)) = (self.out.as_mut(), self.buf.get(..self.len)) {
            // Nothing to do about a host that stops listening.
            let _ = out.write_all(bytes);
        }
        self.len = 0;
    }
}

struct Shared {
    taken: AtomicBool,
    encoder: UnsafeCell<defmt::Encoder>,
    sink: UnsafeCell<Sink>,
}

// SAFETY: `encoder` and `sink` are touched only between `acquire` and `release`, with
// interrupts masked (single core), and `taken` keeps a second `acquire` out.
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared {
    taken: AtomicBool::new(false),
    encoder: UnsafeCell::new(defmt::Encoder::new()),
    sink: UnsafeCell::new(Sink {
        interrupts_were_on: false,
        out: None,
        opened: false,
        buf: [0; BUF],
        len: 0,
    }),
};

/// The encoder and the sink, inside a frame.
///
/// # Safety
/// Only between `acquire` and `release` (interrupts masked, `taken` set), one use at a time.
unsafe fn parts() -> (&'static mut defmt::Encoder, &'static mut Sink) {
    // SAFETY: see the caller's contract; the two cells are distinct.
    unsafe { (&mut *SHARED.encoder.get(), &mut *SHARED.sink.get()) }
}

// SAFETY: `acquire` masks interrupts and refuses re-entry, so frames never interleave.
unsafe impl defmt::Logger for Logger {
    fn acquire() {
        let interrupts_were_on = cortex_m::register::primask::read().is_active();
        cortex_m::interrupt::disable();
        if SHARED.taken.swap(true, Ordering::Acquire) {
            // A log inside a log: nothing can be printed any more. A deliberate error exit.
            crate::exit(false);
        }
        // SAFETY: interrupts are masked and `taken` was false: ours alone until `release`.
        let (encoder, sink) = unsafe { parts() };
        sink.interrupts_were_on = interrupts_were_on;
        if !sink.opened {
            sink.out = hio::hstdout().ok();
            sink.opened = true;
        }
        encoder.start_frame(|b| sink.push(b));
    }

    unsafe fn flush() {
        // Semihosting blocks until the host has the bytes; `release` writes out the buffer.
    }

    unsafe fn release() {
        if !SHARED.taken.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: between `acquire` and `release` (defmt's contract, `taken` checked).
        let (encoder, sink) = unsafe { parts() };
        encoder.end_frame(|b| sink.push(b));
        sink.flush();
        let restore = sink.interrupts_were_on;
        SHARED.taken.store(false, Ordering::Release);
        if restore {
            // SAFETY: interrupts were enabled when the frame began.
            unsafe { cortex_m::interrupt::enable() };
        }
    }

    unsafe fn write(bytes: &[u8]) {
        if !SHARED.taken.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: between `acquire` and `release` (defmt's contract, `taken` checked).
        let (encoder, sink) = unsafe { parts() };
        encoder.write(bytes, |b| sink.push(b));
    }
}
