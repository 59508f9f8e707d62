//! The flash holding the two weight slots of `dtp_core::storage`, behind the
//! `embedded-storage` `NorFlash` traits: [`board`] gives each board's driver.
//!
//! Under QEMU the MPS2 boards (an385, an386, an500, an505) have no flash controller: their
//! "flash" is SSRAM that the ELF loader fills. [`RamNor`] gives a region of it NOR rules — erase sets a whole 4 KiB page to `0xFF`,
//! a write can only clear bits (`old & new`) — so the two-slot logic of `dtp_core::storage`
//! runs on the device exactly as on real flash. QEMU keeps that memory across a system reset
//! (`SCB::sys_reset`), which is how the firmware shows weights surviving a reset.
//!
//! On the nRF52840-DK the slots are the 40 KiB its `memory.x` keeps out of the image, written
//! through nrf52840-hal's NVMC driver (`Nvmc`: 4 KiB page erase, 32-bit word writes), wrapped in
//! [`Kinds`] so that its errors can be logged through defmt.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash, check_erase, check_read,
    check_write,
};

/// Erase page size.
pub const PAGE: usize = 4096;

/// A flash error reduced to its kind (out of range, misaligned, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub struct FlashError(#[defmt(Debug2Format)] pub NorFlashErrorKind);

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

/// `len` bytes at a fixed address, with NOR flash rules.
pub struct RamNor {
    base: *mut u8,
    len: usize,
}

impl RamNor {
    /// # Safety
    /// `base..base + len` must be memory nothing else uses, and only one `RamNor` may cover it.
    pub const unsafe fn new(base: usize, len: usize) -> Self {
        RamNor {
            base: base as *mut u8,
            len,
        }
    }
}

impl ErrorType for RamNor {
    type Error = FlashError;
}

impl ReadNorFlash for RamNor {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        check_read(self, offset, bytes.len()).map_err(FlashError)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: in range (checked above); the region is ours (see `new`).
            *b = unsafe { self.base.add(offset as usize + i).read_volatile() };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.len
    }
}

impl NorFlash for RamNor {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        check_erase(self, from, to).map_err(FlashError)?;
        for a in from as usize..to as usize {
            // SAFETY: in range (checked above).
            unsafe { self.base.add(a).write_volatile(0xFF) };
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        check_write(self, offset, bytes.len()).map_err(FlashError)?;
        for (i, &b) in bytes.iter().enumerate() {
            // SAFETY: in range (checked above). NOR: a write only clears bits.
            unsafe {
                let p = self.base.add(offset as usize + i);
                p.write_volatile(p.read_volatile() & b);
            }
        }
        Ok(())
    }
}

/// A `NorFlash` driver whose errors are reduced to their [`NorFlashErrorKind`], so that
/// `dtp_core::storage`'s errors can be logged through defmt whatever the driver's error type.
pub struct Kinds<F>(pub F);

impl<F: ErrorType> ErrorType for Kinds<F> {
    type Error = FlashError;
}

fn kind<E: NorFlashError>(e: E) -> FlashError {
    FlashError(e.kind())
}

impl<F: ReadNorFlash> ReadNorFlash for Kinds<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        self.0.read(offset, bytes).map_err(kind)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> NorFlash for Kinds<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.0.erase(from, to).map_err(kind)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.0.write(offset, bytes).map_err(kind)
    }
}

/// The board's flash for the weight slots.
#[cfg(not(feature = "nrf52840-dk"))]
pub type Board = RamNor;
/// The board's flash for the weight slots: the NVMC over the region `memory.x` reserves.
#[cfg(feature = "nrf52840-dk")]
pub type Board = Kinds<nrf52840_hal::nvmc::Nvmc<nrf52840_hal::pac::NVMC>>;

/// The slot region the board's `memory.x` reserves: `__dtp_slots_start..__dtp_slots_end`
/// (SSRAM past the 1 MiB image on the MPS2 boards, the top 40 KiB of flash on the
/// nRF52840-DK), if it holds `len` bytes and both are whole pages; else logs why and `None`.
#[cfg(any(feature = "qemu", feature = "nrf52840-dk"))]
fn slot_region(len: usize) -> Option<usize> {
    unsafe extern "C" {
        /// First byte of the slot region (boards/*/memory.x).
        static __dtp_slots_start: u8;
        /// End of the slot region.
        static __dtp_slots_end: u8;
    }
    let start = &raw const __dtp_slots_start as usize;
    let end = &raw const __dtp_slots_end as usize;
    if end.saturating_sub(start) < len || start % PAGE != 0 || len % PAGE != 0 {
        defmt::error!(
            "flash: {=usize} B of slots wanted, memory.x reserves {=usize} B at {=usize:#x}",
            len,
            end.saturating_sub(start),
            start
        );
        return None;
    }
    Some(start)
}

/// `len` bytes of the board's flash for the weight slots, at offset 0 of the returned driver;
/// `None` if the region `memory.x` reserves is smaller. Under QEMU: SSRAM outside the image
/// and RAM (mps2-an385/an386/an500: `0x0010_0000`; mps2-an505: `0x1010_0000`). Call it once.
#[cfg(feature = "qemu")]
pub fn board(len: usize) -> Option<Board> {
    let start = slot_region(len)?;
    // SAFETY: the slot region is outside the image and RAM (memory.x); only this owns it.
    Some(unsafe { RamNor::new(start, len) })
}

/// `len` bytes of the board's flash for the weight slots, at offset 0 of the returned driver;
/// `None` if the region `memory.x` reserves (`__dtp_slots_start..__dtp_slots_end`) is smaller,
/// or the nRF52840's peripherals were already taken.
///
/// Takes the PAC's peripherals for the NVMC (the demos use no other nRF peripheral). Call it
/// once.
#[cfg(feature = "nrf52840-dk")]
pub fn board(len: usize) -> Option<Board> {
    let start = slot_region(len)?;
    let nvmc = nrf52840_hal::pac::Peripherals::take()?.NVMC;
    // SAFETY: `start..start + len` is flash outside the image (memory.x keeps it out of FLASH),
    // page-aligned (checked); nothing else refers to it, and this is its only slice (the
    // peripherals, taken above, can be taken once only).
    let region = unsafe { core::slice::from_raw_parts_mut(start as *mut u8, len) };
    Some(Kinds(nrf52840_hal::nvmc::Nvmc::new(nvmc, region)))
}

/// No flash driver on a build without a board feature.
#[cfg(not(any(feature = "qemu", feature = "nrf52840-dk")))]
pub fn board(_len: usize) -> Option<Board> {
    None
}
