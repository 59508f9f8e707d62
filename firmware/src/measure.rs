//! Measurements: stack high-water mark by painting, and a SysTick counter that turns into
//! instructions under `qemu-system-arm -icount shift=0` (into cycles on a board).

use crate::atomic::{AtomicU32, AtomicUsize, Ordering};
use cortex_m::peripheral::{SCB, SYST, syst::SystClkSource};
use cortex_m_rt::exception;

const PAINT: u32 = 0x5AA5_C33C;

unsafe extern "C" {
    /// Top of the stack (cortex-m-rt).
    static _stack_start: u32;
    /// Lowest address the stack may reach: the end of `.bss`/`.uninit` (cortex-m-rt).
    static _stack_end: u32;
}

unsafe extern "C" {
    /// Start of `.data`, the lowest static (cortex-m-rt).
    static __sdata: u32;
}

/// `(lowest, highest)` address of the stack: `_stack_end..._stack_start`.
pub(crate) fn stack_bounds() -> (usize, usize) {
    (
        &raw const _stack_end as usize,
        &raw const _stack_start as usize,
    )
}

/// Whether the stack lies under the statics (linked by `flip-link`), so that an overflow
/// leaves RAM and faults instead of running into `.bss`/`.data`.
pub fn stack_below_statics() -> bool {
    let (_, top) = stack_bounds();
    top <= &raw const __sdata as usize
}

/// Paints the free stack (from its lowest address to 64 bytes under the current stack
/// pointer) with a pattern. Call first thing in `main`.
pub fn paint_stack() {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize - 64;
    let mut a = bottom;
    while a < sp {
        // SAFETY: between the end of static data and below the live stack: unused memory.
        unsafe { (a as *mut u32).write_volatile(PAINT) };
        a += 4;
    }
}

/// Bytes of stack ever used since [`paint_stack`]: from the top down to the lowest word no
/// longer holding the pattern.
pub fn stack_high_water() -> usize {
    let (bottom, top) = stack_bounds();
    let mut a = bottom;
    // SAFETY: reads of the stack region.
    while a < top && unsafe { (a as *const u32).read_volatile() } == PAINT {
        a += 4;
    }
    top - a
}

/// Bytes of RAM the stack may grow into.
pub fn stack_size() -> usize {
    let (bottom, top) = stack_bounds();
    top - bottom
}

static WRAPS: AtomicU32 = AtomicU32::new(0);
/// The SysTick reload value: the period in ticks, minus one.
static RELOAD: AtomicU32 = AtomicU32::new(0x00FF_FFFF);
/// A `fn()` the SysTick interrupt calls after counting the wrap (0: none).
static HOOK: AtomicUsize = AtomicUsize::new(0);

/// Starts SysTick free-running from the core clock, counting wraps in its interrupt.
pub fn start_ticks(syst: SYST) {
    start_ticks_every(syst, 1 << 24, None);
}

/// Starts SysTick from the core clock with an interrupt every `period` ticks
/// (`2..=2^24`), which counts the wrap (for [`ticks`]) and then calls `hook`: a periodic
/// interrupt for a simulated sensor as well as a clock.
pub fn start_ticks_every(mut syst: SYST, period: u32, hook: Option<fn()>) {
    let reload = period.clamp(2, 1 << 24) - 1;
    RELOAD.store(reload, Ordering::Relaxed);
    HOOK.store(hook.map_or(0, |f| f as usize), Ordering::Release);
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(reload);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    // The counter reads 0 until its first reload: wait for it, so `ticks` starts at 0.
    while SYST::get_current() == 0 {}
}

/// Ticks since [`start_ticks`] (64-bit, from the 24-bit counter and the wrap count).
pub fn ticks() -> u64 {
    let reload = RELOAD.load(Ordering::Relaxed);
    cortex_m::interrupt::free(|_| {
        let mut wraps = WRAPS.load(Ordering::Relaxed);
        let mut current = SYST::get_current();
        if SCB::is_pendst_pending() {
            // Wrapped after interrupts were masked: count that wrap, re-read past it.
            wraps += 1;
            current = SYST::get_current();
        }
        wraps as u64 * (reload as u64 + 1) + (reload - current) as u64
    })
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
    let hook = HOOK.load(Ordering::Acquire);
    if hook != 0 {
        // SAFETY: only `start_ticks_every` stores a non-zero value, and it stores a `fn()`.
        let hook: fn() = unsafe { core::mem::transmute::<usize, fn()>(hook) };
        hook();
    }
}

/// Instructions per SysTick tick, measured: a loop of exactly `2n` instructions
/// (`subs`, `bne`) timed in ticks. Returns `(instructions, ticks)`. Under
/// `-icount shift=0` QEMU advances virtual time 1 ns per instruction and clocks SysTick at
/// the board's 25 MHz, so this is 40 instructions a tick; on silicon the ratio is
/// cycles per tick (1).
pub fn calibrate(n: u32) -> (u64, u64) {
    let t0 = ticks();
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {0}, {0}, #1",
            "bne 2b",
            inout(reg) n => _,
            options(nomem, nostack),
        );
    }
    let t1 = ticks();
    (2 * n as u64, t1 - t0)
}
