//! Power-cut-safe persistence of one byte payload (e.g. a [weight blob](crate::blob)) in two
//! alternating flash slots, through the `embedded-storage` [`NorFlash`] trait.
//!
//! Each slot is a whole number of erase pages and holds a record:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4 | magic `DTPS` |
//! | 4 | 4 | sequence number (`u32`, little-endian; the newest record has the largest) |
//! | 8 | 4 | payload length in bytes |
//! | 12 | 4 | CRC-32 of the payload |
//! | 16 | 4 | CRC-32 of bytes 0..16 |
//! | 20 | 12 | `0xFF` padding (the header fills 32 bytes, a multiple of every common write size) |
//! | 32 | len | payload, then `0xFF` up to the write size |
//!
//! [`save`] writes into the slot that does *not* hold the newest valid record: erase, write
//! the payload, then write the header last. Until the header is complete and its CRCs match,
//! the slot is invalid and [`load`] returns the other slot's record, so a reset or power cut at
//! any point of a save loses at most that save. The host tests drive a RAM flash model that
//! cuts power after every possible write and erase step (and tears the interrupted one).
//!
//! # Example
//! A device trains, saves its weights, and after a reset loads them back (here a RAM
//! [`NorFlash`]; on a board the chip's flash driver, e.g. nrf52840-hal's NVMC):
//! ```
//! use core::convert::Infallible;
//! use dtp_core::storage::{self, Slots};
//! use dtp_core::{Config, FixedNet, FixedTrainer, Init};
//! use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
//! use rand_pcg::Pcg32;
//!
//! /// Two 4 KiB pages of NOR flash in RAM: writes clear bits, erases set them.
//! struct Ram([u8; 8192]);
//! impl ErrorType for Ram {
//!     type Error = Infallible;
//! }
//! impl ReadNorFlash for Ram {
//!     const READ_SIZE: usize = 1;
//!     fn read(&mut self, at: u32, out: &mut [u8]) -> Result<(), Infallible> {
//!         out.copy_from_slice(&self.0[at as usize..at as usize + out.len()]);
//!         Ok(())
//!     }
//!     fn capacity(&self) -> usize {
//!         self.0.len()
//!     }
//! }
//! impl NorFlash for Ram {
//!     const WRITE_SIZE: usize = 4;
//!     const ERASE_SIZE: usize = 4096;
//!     fn erase(&mut self, from: u32, to: u32) -> Result<(), Infallible> {
//!         self.0[from as usize..to as usize].fill(0xff);
//!         Ok(())
//!     }
//!     fn write(&mut self, at: u32, bytes: &[u8]) -> Result<(), Infallible> {
//!         for (cell, b) in self.0[at as usize..].iter_mut().zip(bytes) {
//!             *cell &= b;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! type Net = FixedNet<4, 8, 3, 1>;
//! let mut rng = Pcg32::new(1, 2);
//! let mut t: FixedTrainer<4, 8, 3, 1, 1> =
//!     FixedTrainer::new(Config::FIRMWARE_SIGN, Init::Orthogonal, &mut rng).unwrap();
//! t.input_mut().fill(0.5);
//! t.labels_mut()[(1, 0)] = 1.0;
//! t.step(&mut rng).unwrap();
//!
//! // Save: the network as a weight blob, into the slot not holding the newest record.
//! let (mut flash, slots) = (Ram([0xff; 8192]), Slots { base: 0, slot_size: 4096 });
//! let mut payload = [0u8; Net::BLOB_LEN];
//! let n = t.net.write_blob(&t.config().units, &mut payload).unwrap();
//! storage::save(&mut flash, &slots, &payload[..n]).unwrap();
//!
//! // After a reset: the newest intact record back into a zero network.
//! let mut buf = [0u8; Net::BLOB_LEN];
//! let record = storage::load(&mut flash, &slots, &mut buf).unwrap().expect("a saved record");
//! let mut net = Net::ZERO;
//! net.read_blob(&buf[..record.len]).unwrap();
//! assert_eq!(net, t.net);
//! ```

use core::fmt;
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};

/// The four magic bytes that open a slot record.
pub const MAGIC: [u8; 4] = *b"DTPS";
/// Bytes of a slot record before the payload.
pub const HEADER_LEN: usize = 32;
/// Bytes copied through the stack per flash read or write.
const CHUNK: usize = 64;

/// CRC-32 (ISO-HDLC, as zlib), the same as the weight blob's.
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn crc32(bytes: &[u8]) -> u32 {
    CRC.checksum(bytes)
}

/// Where the two slots are: `base` and `base + slot_size`, each `slot_size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Slots {
    /// Flash offset of slot 0 (a multiple of the erase size).
    pub base: u32,
    /// Bytes per slot (a multiple of the erase size).
    pub slot_size: u32,
}

impl Slots {
    /// Flash offset of slot `index` (0 or 1).
    pub const fn offset(&self, index: usize) -> u32 {
        self.base + index as u32 * self.slot_size
    }

    /// The largest payload a slot holds.
    pub const fn capacity(&self) -> usize {
        self.slot_size as usize - HEADER_LEN
    }
}

/// A valid record found by [`load`] or written by [`save`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Record {
    /// The slot holding it (0 or 1).
    pub slot: usize,
    /// Its sequence number.
    pub seq: u32,
    /// Payload length in bytes.
    pub len: usize,
}

/// Why a save or load failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StorageError<E> {
    /// The flash driver failed.
    Flash(E),
    /// The payload does not fit a slot, or the output buffer is smaller than the payload.
    TooLarge {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        capacity: usize,
    },
    /// Slot size or base not a multiple of the erase size, or the header not a multiple of
    /// the write size.
    Misaligned,
}

impl<E: fmt::Debug> fmt::Display for StorageError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Flash(e) => write!(f, "flash driver error: {e:?}"),
            StorageError::TooLarge { needed, capacity } => {
                write!(f, "{needed} bytes do not fit in {capacity}")
            }
            StorageError::Misaligned => write!(f, "slots not aligned to the flash geometry"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for StorageError<E> {}

fn le(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads and checks slot `index`'s header; `None` if it is erased, torn or corrupt.
fn read_header<F: ReadNorFlash>(
    flash: &mut F,
    slots: &Slots,
    index: usize,
) -> Result<Option<(u32, usize, u32)>, F::Error> {
    let mut h = [0u8; HEADER_LEN];
    flash.read(slots.offset(index), &mut h)?;
    if h[..4] != MAGIC || crc32(&h[..16]) != le(&h, 16) {
        return Ok(None);
    }
    let (seq, len, crc) = (le(&h, 4), le(&h, 8) as usize, le(&h, 12));
    if len > slots.capacity() {
        return Ok(None);
    }
    Ok(Some((seq, len, crc)))
}

/// Whether `a` is newer than `b` (sequence numbers compared modulo 2³²).
fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

/// A slot whose header checks: `(slot, seq, len, payload CRC)`.
type Candidate = (usize, u32, usize, u32);

/// Both slots' valid headers, newest first.
fn candidates<F: ReadNorFlash>(
    flash: &mut F,
    slots: &Slots,
) -> Result<[Option<Candidate>; 2], F::Error> {
    let a = read_header(flash, slots, 0)?.map(|(s, l, c)| (0, s, l, c));
    let b = read_header(flash, slots, 1)?.map(|(s, l, c)| (1, s, l, c));
    Ok(match (a, b) {
        (Some(x), Some(y)) if newer(y.1, x.1) => [Some(y), Some(x)],
        (Some(x), y) => [Some(x), y],
        (None, y) => [y, None],
    })
}

/// Loads the newest record whose header and payload CRCs check into `out`; `Ok(None)` if
/// neither slot holds one. A slot whose payload fails its CRC is skipped for the other.
pub fn load<F: ReadNorFlash>(
    flash: &mut F,
    slots: &Slots,
    out: &mut [u8],
) -> Result<Option<Record>, StorageError<F::Error>> {
    for (slot, seq, len, crc) in candidates(flash, slots)
        .map_err(StorageError::Flash)?
        .into_iter()
        .flatten()
    {
        if len > out.len() {
            return Err(StorageError::TooLarge {
                needed: len,
                capacity: out.len(),
            });
        }
        let at = slots.offset(slot) + HEADER_LEN as u32;
        flash
            .read(at, &mut out[..len])
            .map_err(StorageError::Flash)?;
        if crc32(&out[..len]) == crc {
            return Ok(Some(Record { slot, seq, len }));
        }
    }
    Ok(None)
}

/// The newest valid record, without copying its payload out (checks both CRCs, reading the
/// payload through a small stack buffer).
pub fn newest<F: ReadNorFlash>(
    flash: &mut F,
    slots: &Slots,
) -> Result<Option<Record>, StorageError<F::Error>> {
    for (slot, seq, len, crc) in candidates(flash, slots)
        .map_err(StorageError::Flash)?
        .into_iter()
        .flatten()
    {
        let mut digest = CRC.digest();
        let mut buf = [0u8; CHUNK];
        let mut done = 0;
        while done < len {
            let n = CHUNK.min(len - done);
            let at = slots.offset(slot) + (HEADER_LEN + done) as u32;
            flash.read(at, &mut buf[..n]).map_err(StorageError::Flash)?;
            digest.update(&buf[..n]);
            done += n;
        }
        if digest.finalize() == crc {
            return Ok(Some(Record { slot, seq, len }));
        }
    }
    Ok(None)
}

/// Saves `payload` as the newest record, into the slot not holding the current newest valid
/// one: erase that slot, write the payload, write the header last.
///
/// A power cut at any point leaves the previous newest record loadable.
pub fn save<F: NorFlash>(
    flash: &mut F,
    slots: &Slots,
    payload: &[u8],
) -> Result<Record, StorageError<F::Error>> {
    let erase = F::ERASE_SIZE as u32;
    let write = F::WRITE_SIZE;
    if !slots.base.is_multiple_of(erase)
        || !slots.slot_size.is_multiple_of(erase)
        || !HEADER_LEN.is_multiple_of(write)
        || !CHUNK.is_multiple_of(write)
        || slots.slot_size as usize <= HEADER_LEN
    {
        return Err(StorageError::Misaligned);
    }
    if payload.len() > slots.capacity() {
        return Err(StorageError::TooLarge {
            needed: payload.len(),
            capacity: slots.capacity(),
        });
    }
    let current = newest(flash, slots)?;
    let (slot, seq) = match current {
        Some(r) => (1 - r.slot, r.seq.wrapping_add(1)),
        None => (0, 0),
    };
    let start = slots.offset(slot);
    flash
        .erase(start, start + slots.slot_size)
        .map_err(StorageError::Flash)?;
    // Payload first, padded with 0xFF to the write size.
    let mut buf = [0xFFu8; CHUNK];
    for (i, chunk) in payload.chunks(CHUNK).enumerate() {
        buf.fill(0xFF);
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = chunk.len().div_ceil(write) * write;
        let at = start + (HEADER_LEN + i * CHUNK) as u32;
        flash.write(at, &buf[..n]).map_err(StorageError::Flash)?;
    }
    // Header last: the record becomes valid only once this write completes.
    let mut h = [0xFFu8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4..8].copy_from_slice(&seq.to_le_bytes());
    h[8..12].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    h[12..16].copy_from_slice(&crc32(payload).to_le_bytes());
    let hcrc = crc32(&h[..16]);
    h[16..20].copy_from_slice(&hcrc.to_le_bytes());
    flash.write(start, &h).map_err(StorageError::Flash)?;
    Ok(Record {
        slot,
        seq,
        len: payload.len(),
    })
}
