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

/// The nRF51's flash (the micro:bit) through its NVMC, over `len` bytes at `base`: 1 KiB
/// hardware pages erased four at a time (so [`PAGE`], the slots' unit, stays 4 KiB), 32-bit
/// word writes. Registers as in the nRF51 Series Reference Manual (NVMC at `0x4001_E000`:
/// `READY` `+0x400`, `CONFIG` `+0x504` — 1 write-enable, 2 erase-enable — `ERASEPAGE`
/// `+0x508`), which QEMU's `microbit` model implements (a write only clears bits there, as on
/// the chip).
#[cfg(feature = "microbit")]
pub struct Nrf51Nvmc {
    base: usize,
    len: usize,
}

#[cfg(feature = "microbit")]
impl Nrf51Nvmc {
    const NVMC: usize = 0x4001_E000;
    const READY: usize = Self::NVMC + 0x400;
    const CONFIG: usize = Self::NVMC + 0x504;
    const ERASEPAGE: usize = Self::NVMC + 0x508;
    /// The nRF51's erase page.
    const HW_PAGE: usize = 1024;

    /// # Safety
    /// `base..base + len` must be flash outside the image, page-aligned, that nothing else
    /// uses, and only one driver may cover it (and touch the NVMC).
    pub const unsafe fn new(base: usize, len: usize) -> Self {
        Nrf51Nvmc { base, len }
    }

    /// Sets `CONFIG` (0 read-only, 1 write, 2 erase) and waits until the NVMC is ready.
    fn config(mode: u32) {
        // SAFETY: the NVMC's registers (fixed addresses on every nRF51); this driver owns them.
        unsafe { (Self::CONFIG as *mut u32).write_volatile(mode) };
        Self::wait();
    }

    fn wait() {
        // SAFETY: as in `config`.
        while unsafe { (Self::READY as *const u32).read_volatile() } & 1 == 0 {}
    }
}

#[cfg(feature = "microbit")]
impl ErrorType for Nrf51Nvmc {
    type Error = FlashError;
}

#[cfg(feature = "microbit")]
impl ReadNorFlash for Nrf51Nvmc {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        check_read(self, offset, bytes.len()).map_err(FlashError)?;
        for (i, b) in bytes.iter_mut().enumerate() {
            // SAFETY: in range (checked above); the region is ours (see `new`).
            *b = unsafe { ((self.base + offset as usize + i) as *const u8).read_volatile() };
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.len
    }
}

#[cfg(feature = "microbit")]
impl NorFlash for Nrf51Nvmc {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        check_erase(self, from, to).map_err(FlashError)?;
        Self::config(2);
        for page in (from as usize..to as usize).step_by(Self::HW_PAGE) {
            // SAFETY: a page of our region (checked above); erase is enabled.
            unsafe { (Self::ERASEPAGE as *mut u32).write_volatile((self.base + page) as u32) };
            Self::wait();
        }
        Self::config(0);
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        check_write(self, offset, bytes.len()).map_err(FlashError)?;
        Self::config(1);
        let (words, _) = bytes.as_chunks::<4>();
        for (i, w) in words.iter().enumerate() {
            let at = self.base + offset as usize + 4 * i;
            // SAFETY: a word of our region (checked above: in range, word-aligned); writing
            // is enabled.
            unsafe { (at as *mut u32).write_volatile(u32::from_le_bytes(*w)) };
            Self::wait();
        }
        Self::config(0);
        Ok(())
    }
}

/// The board's flash for the weight slots.
#[cfg(not(any(feature = "nrf52840-dk", feature = "microbit")))]
pub type Board = RamNor;
/// The board's flash for the weight slots: the nRF51's, through its NVMC.
#[cfg(feature = "microbit")]
pub type Board = Nrf51Nvmc;
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
    if end.saturating_sub(start) < len || !start.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
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

/// `len` bytes of the micro:bit's flash for the weight slots (the top 40 KiB, which its
/// `memory.x` keeps out of the image), at offset 0 of the returned driver; `None` if that
/// region is smaller. Call it once.
#[cfg(feature = "microbit")]
pub fn board(len: usize) -> Option<Board> {
    let start = slot_region(len)?;
    // SAFETY: the slot region is flash outside the image (memory.x), page-aligned (checked);
    // only this driver owns it and the NVMC.
    Some(unsafe { Nrf51Nvmc::new(start, len) })
}

/// `len` bytes of the board's flash for the weight slots, at offset 0 of the returned driver;
/// `None` if the region `memory.x` reserves is smaller. Under QEMU: SSRAM outside the image
/// and RAM (mps2-an385/an386/an500: `0x0010_0000`; mps2-an505: `0x1010_0000`). Call it once.
#[cfg(all(feature = "qemu", not(feature = "microbit")))]
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
