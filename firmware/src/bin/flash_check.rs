//! The micro:bit's weight slots survive a reset: saves two payloads through `dtp_core::storage`
//! on the nRF51's flash (its NVMC, `dtp_firmware::flash::Nrf51Nvmc`), resets the CPU, and after
//! the reset loads the newest slot and compares it byte for byte. Exits 0 only if it is the
//! second payload, unchanged.
#![no_std]
#![no_main]

use dtp_core::storage::{self, Slots};
use dtp_firmware::{cell::Once, flash};

/// Bytes a save: about what a small trainer's weight blob takes.
const LEN: usize = 3000;
/// Two slots of 8 KiB.
const SLOTS: Slots = Slots {
    base: 0,
    slot_size: 2 * flash::PAGE as u32,
};
static PAYLOAD: Once<[u8; LEN]> = Once::new([0; LEN]);

/// The `n`-th payload: bytes of a 32-bit LCG seeded by `n`.
fn pattern(n: u32, out: &mut [u8; LEN]) {
    let mut x = n.wrapping_mul(0x9E37_79B9) | 1;
    for b in out.iter_mut() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *b = (x >> 24) as u8;
    }
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let Some(payload) = PAYLOAD.take() else {
        dtp_firmware::exit(false)
    };
    let Some(mut nvmc) = flash::board(2 * SLOTS.slot_size as usize) else {
        dtp_firmware::exit(false)
    };
    match storage::load(&mut nvmc, &SLOTS, payload) {
        Ok(None) => {
            for n in 0..2 {
                pattern(n, payload);
                match storage::save(&mut nvmc, &SLOTS, payload) {
                    Ok(r) => defmt::info!(
                        "flash: saved payload {=u32} ({=usize} B) to slot {=usize} (seq {=u32})",
                        n,
                        r.len,
                        r.slot,
                        r.seq
                    ),
                    Err(e) => {
                        defmt::error!("flash save: {}", e);
                        dtp_firmware::exit(false)
                    }
                }
            }
            // Read back before the reset: a save that did not reach the flash fails here
            // rather than restarting the check for ever.
            match storage::load(&mut nvmc, &SLOTS, payload) {
                Ok(Some(r)) if r.seq == 1 => {
                    defmt::info!("read back slot {=usize}; resetting", r.slot)
                }
                _ => {
                    defmt::error!("flash: the saves do not read back: FAIL");
                    dtp_firmware::exit(false)
                }
            }
            cortex_m::peripheral::SCB::sys_reset()
        }
        Ok(Some(r)) => {
            let mut expected = [0u8; LEN];
            pattern(1, &mut expected);
            let same = r.len == LEN && payload[..] == expected[..];
            if same {
                defmt::info!(
                    "after reset: slot {=usize} (seq {=u32}) holds payload 1, {=usize} B, byte for byte: PASS",
                    r.slot,
                    r.seq,
                    r.len
                );
            } else {
                defmt::error!(
                    "after reset: slot {=usize} (seq {=u32}, {=usize} B) is not payload 1: FAIL",
                    r.slot,
                    r.seq,
                    r.len
                );
            }
            dtp_firmware::exit(same)
        }
        Err(e) => {
            defmt::error!("flash load: {}", e);
            dtp_firmware::exit(false)
        }
    }
}
