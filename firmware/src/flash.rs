//! A memory-mapped region with NOR flash semantics behind the `embedded-storage` traits.
//!
//! Under QEMU the mps2-an386 has no flash controller: its "flash" is SSRAM that the ELF loader
//! fills. [`RamNor`] gives a region of it NOR rules — erase sets a whole 4 KiB page to `0xFF`,
//! a write can only clear bits (`old & new`) — so the two-slot logic of `dtp_core::storage`
//! runs on the device exactly as on real flash. QEMU keeps that memory across a system reset
//! (`SCB::sys_reset`), which is how the firmware shows weights surviving a reset. On an
//! nRF52840 the HAL's NVMC driver implements the same `NorFlash` trait.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash, check_erase, check_read,
    check_write,
};

/// Start of the slot region under QEMU: SSRAM1 past the 1 MiB the image may use.
pub const QEMU_SLOTS_ADDR: usize = 0x0010_0000;
/// Erase page size.
pub const PAGE: usize = 4096;

/// Out-of-range or misaligned access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
pub struct RamNorError(#[defmt(Debug2Format)] pub NorFlashErrorKind);

impl NorFlashError for RamNorError {
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
    type Error = RamNorError;
}

impl ReadNorFlash for RamNor {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), RamNorError> {
        check_read(self, offset, bytes.len()).map_err(RamNorError)?;
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

    fn erase(&mut self, from: u32, to: u32) -> Result<(), RamNorError> {
        check_erase(self, from, to).map_err(RamNorError)?;
        for a in from as usize..to as usize {
            // SAFETY: in range (checked above).
            unsafe { self.base.add(a).write_volatile(0xFF) };
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), RamNorError> {
        check_write(self, offset, bytes.len()).map_err(RamNorError)?;
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
