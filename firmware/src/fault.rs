//! The HardFault handler: a fresh stack first, then a message and a non-zero exit.
//!
//! The handler cannot trust the stack it was entered on: after a stack overflow the stack
//! pointer is below the stack's end. A few instructions of assembly ([`HardFault`]) therefore
//! move `MSP` back to the top of the stack region (`_stack_start`) before any Rust runs; the
//! program never returns from a HardFault, so what the old stack held is not needed.
//!
//! Built with `flip-link` (scripts/thumb-cargo.sh uses it for thumbv6m-none-eabi), the stack
//! sits at the bottom of RAM, *under* `.data`/`.bss`: an overflow writes below RAM and faults
//! there, before it can reach a static. Without it (cortex-m-rt's layout, the stack at the top
//! of RAM), an overflow runs through the statics — the trainer — before anything faults; the
//! handler says which layout the program has.
//!
//! On Armv6-M every fault is a HardFault; on Armv7-M/Armv8-M the configurable faults are not
//! enabled by the firmware, so they escalate to it too.

use crate::measure;

// The vector table's HardFault entry (it overrides cortex-m-rt's `PROVIDE(HardFault = ...)`).
// In a `.HardFault.*` section, which cortex-m-rt's link.x places after all other code.
core::arch::global_asm!(
    ".section .HardFault.dtp, \"ax\"",
    ".global HardFault",
    ".type HardFault,%function",
    ".thumb_func",
    "HardFault:",
    // r0: the stack pointer at the fault (the firmware runs on MSP only).
    "mrs r0, MSP",
    // A fresh stack, from the top of the stack region.
    "ldr r1, =_stack_start",
    "msr MSP, r1",
    "bl dtp_hard_fault",
    ".ltorg",
);

/// The Rust half of [`HardFault`]: logs what happened and exits with 1. `sp` is the stack
/// pointer at the fault: the exception frame (r0–r3, r12, lr, pc, xPSR) is there if stacking
/// succeeded.
///
/// # Safety
/// Called only by [`HardFault`], on a fresh stack.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".HardFault.dtp_handler")]
unsafe extern "C" fn dtp_hard_fault(sp: u32) -> ! {
    let (bottom, top) = measure::stack_bounds();
    let sp = sp as usize;
    let flipped = measure::stack_below_statics();
    // Stacking the 32-byte exception frame took the stack pointer within 32 B of its end,
    // or past it.
    if sp < bottom + 32 {
        if flipped {
            defmt::error!(
                "stack overflow: HardFault with the stack pointer at {=usize:#010x}, at the end of the {=usize} B stack ({=usize:#010x}..{=usize:#010x}); the stack lies under the statics (flip-link), so none was overwritten",
                sp,
                top - bottom,
                bottom,
                top
            );
        } else {
            defmt::error!(
                "stack overflow: HardFault with the stack pointer at {=usize:#010x}, past the end of the stack ({=usize:#010x}); the stack lies above the statics, so it ran through them (link with flip-link)",
                sp,
                bottom
            );
        }
    } else {
        // SAFETY: the frame lies within the stack region (checked against its bounds).
        let pc = if sp + 32 <= top {
            unsafe { ((sp + 24) as *const u32).read_volatile() }
        } else {
            0
        };
        defmt::error!("HardFault at pc = {=u32:#010x}", pc);
    }
    crate::exit(false)
}
