//! Overflows the stack on purpose: the check that an overflow ends in a clear message and a
//! non-zero exit, not in a silently overwritten trainer (`firmware/run-qemu.sh` runs it on the
//! boards built with `flip-link` and requires the HardFault handler's "stack overflow" line
//! saying no static was overwritten, and exit code 1).
#![no_std]
#![no_main]

use dtp_firmware::measure;

/// Recurses with 128 B of locals a level, each level's array written and handed to an opaque
/// function (so neither the frame nor the recursion can be optimised away), until the stack
/// ends; returns only at a depth it never reaches.
#[inline(never)]
fn descend(depth: u32) -> u32 {
    let mut frame = [depth; 32];
    core::hint::black_box(&mut frame);
    if core::hint::black_box(depth) == u32::MAX {
        return 0;
    }
    descend(depth + 1).wrapping_add(frame[0])
}

#[cortex_m_rt::entry]
fn main() -> ! {
    measure::paint_stack();
    defmt::info!(
        "stack overflow on purpose: recursing 128 B a level into a {=usize} B stack",
        measure::stack_size()
    );
    let r = descend(0);
    defmt::error!(
        "the recursion returned ({=u32}): the stack did not overflow",
        r
    );
    dtp_firmware::exit(false)
}
