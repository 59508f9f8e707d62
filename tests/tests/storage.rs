//! `dtp_core::storage` against a RAM flash model that loses power at every possible step.
//!
//! The model has NOR rules (erase sets a page to `0xFF`, a write can only clear bits) and
//! counts steps: one page erase or one word write each. A power cut after `k` steps lets the
//! `k + 1`-th operation happen only partly (a torn erase leaves half the page, a torn write
//! clears only some of the bits it would) and fails everything after it. After every cut the
//! device "reboots" on the same memory and must load either the previous save or the new one,
//! byte for byte — never garbage, never nothing once something was saved.

use dtp_core::storage::{self, Record, Slots, StorageError};
use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

const PAGE: usize = 256;
const SLOTS: Slots = Slots {
    base: 512,
    slot_size: 8 * PAGE as u32,
};
const SIZE: usize = 512 + 2 * 8 * PAGE + 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlashError {
    PowerCut,
    Range,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        NorFlashErrorKind::Other
    }
}

/// RAM flash with a step budget; `None` = no cut.
struct CutFlash {
    mem: Vec<u8>,
    budget: Option<usize>,
    dead: bool,
    steps: usize,
}

impl CutFlash {
    fn new(mem: Vec<u8>, budget: Option<usize>) -> Self {
        CutFlash {
            mem,
            budget,
            dead: false,
            steps: 0,
        }
    }

    /// Takes one step; `Some(torn)` if power fails during it.
    fn step(&mut self) -> Result<bool, FlashError> {
        if self.dead {
            return Err(FlashError::PowerCut);
        }
        self.steps += 1;
        if self.budget == Some(self.steps - 1) {
            self.dead = true;
            return Ok(true);
        }
        Ok(false)
    }
}

impl ErrorType for CutFlash {
    type Error = FlashError;
}

impl ReadNorFlash for CutFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let o = offset as usize;
        let src = self.mem.get(o..o + bytes.len()).ok_or(FlashError::Range)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl NorFlash for CutFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        assert!(
            (from as usize).is_multiple_of(PAGE)
                && (to as usize).is_multiple_of(PAGE)
                && to as usize <= SIZE
        );
        for page in (from as usize..to as usize).step_by(PAGE) {
            let torn = self.step()?;
            let end = if torn { page + PAGE / 2 } else { page + PAGE };
            self.mem[page..end].fill(0xFF);
            if torn {
                return Err(FlashError::PowerCut);
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        assert!(offset.is_multiple_of(4) && bytes.len().is_multiple_of(4));
        for (i, word) in bytes.chunks(4).enumerate() {
            let torn = self.step()?;
            let at = offset as usize + 4 * i;
            for (j, &b) in word.iter().enumerate() {
                // NOR: only clears bits. A torn write clears only the low nibble's bits.
                let b = if torn { b | 0xF0 } else { b };
                self.mem[at + j] &= b;
            }
            if torn {
                return Err(FlashError::PowerCut);
            }
        }
        Ok(())
    }
}

fn payload(tag: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(tag))
        .collect()
}

fn load(mem: &[u8]) -> Option<(Record, Vec<u8>)> {
    let mut flash = CutFlash::new(mem.to_vec(), None);
    let mut out = vec![0u8; SLOTS.capacity()];
    storage::load(&mut flash, &SLOTS, &mut out)
        .expect("load never fails on a healthy flash")
        .map(|r| (r, out[..r.len].to_vec()))
}

fn save(
    mem: &mut Vec<u8>,
    data: &[u8],
    budget: Option<usize>,
) -> (Result<Record, StorageError<FlashError>>, usize) {
    let mut flash = CutFlash::new(std::mem::take(mem), budget);
    let r = storage::save(&mut flash, &SLOTS, data);
    *mem = flash.mem;
    (r, flash.steps)
}

/// Saves `saves` in order from erased flash; for each, cuts power at every step (and after the
/// last) and checks what a reboot loads.
fn cut_everywhere(saves: &[Vec<u8>]) -> usize {
    let mut mem = vec![0xFFu8; SIZE];
    // Garbage outside the slots must not matter.
    mem[..512].fill(0x00);
    let mut previous: Option<&Vec<u8>> = None;
    let mut cuts = 0;
    for data in saves {
        let (_, steps) = save(&mut mem.clone(), data, None);
        for k in 0..=steps {
            let mut m = mem.clone();
            let (r, _) = save(&mut m, data, Some(k));
            let loaded = load(&m).map(|(_, bytes)| bytes);
            if r.is_ok() {
                assert_eq!(loaded.as_ref(), Some(data), "completed save not loaded");
            } else {
                let ok = loaded.as_ref() == Some(data) || loaded.as_ref() == previous;
                assert!(
                    ok,
                    "cut at step {k}/{steps}: loaded neither the previous nor the new save ({:?} bytes)",
                    loaded.map(|l| l.len())
                );
            }
            cuts += 1;
        }
        let (r, _) = save(&mut mem, data, None);
        let rec = r.expect("uncut save");
        assert_eq!(load(&mem).map(|(_, b)| b).as_ref(), Some(data));
        assert_eq!(load(&mem).map(|(r, _)| r), Some(rec));
        previous = Some(data);
    }
    cuts
}

#[test]
fn power_cut_at_every_step_loses_at_most_the_newest_save() {
    // Payload lengths: word-aligned, unaligned, one chunk, several chunks, a full slot.
    let saves = vec![
        payload(1, 700),
        payload(2, 701),
        payload(3, 3),
        payload(4, SLOTS.capacity()),
        payload(5, 64),
        payload(6, 1000),
    ];
    let cuts = cut_everywhere(&saves);
    assert!(cuts > 1200, "only {cuts} cut points exercised");
}

#[test]
fn slots_alternate_and_sequence_numbers_grow() {
    let mut mem = vec![0xFFu8; SIZE];
    for i in 0..5u32 {
        let (r, _) = save(&mut mem, &payload(i as u8, 100 + i as usize), None);
        let r = r.unwrap();
        assert_eq!((r.slot, r.seq), ((i % 2) as usize, i));
        let (loaded, bytes) = load(&mem).unwrap();
        assert_eq!(loaded, r);
        assert_eq!(bytes, payload(i as u8, 100 + i as usize));
    }
}

#[test]
fn corrupt_newest_payload_falls_back_to_the_older_save() {
    let mut mem = vec![0xFFu8; SIZE];
    save(&mut mem, &payload(1, 300), None).0.unwrap();
    let newest = save(&mut mem, &payload(2, 300), None).0.unwrap();
    // Bit rot in the newest record's payload.
    let at = SLOTS.offset(newest.slot) as usize + storage::HEADER_LEN + 17;
    mem[at] ^= 0x04;
    let (rec, bytes) = load(&mem).unwrap();
    assert_eq!((rec.slot, rec.seq), (1 - newest.slot, 0));
    assert_eq!(bytes, payload(1, 300));
    // The next save must not overwrite the only good record.
    let next = save(&mut mem, &payload(3, 300), None).0.unwrap();
    assert_eq!(next.slot, newest.slot);
    assert_eq!(load(&mem).unwrap().1, payload(3, 300));
}

#[test]
fn a_weight_blob_round_trips_through_the_slots() {
    use dtp_core::{Config, FixedNet, FixedTrainer, Init, Trainer};
    let mut rng = rand_pcg::Pcg32::new(3, 5);
    let t: FixedTrainer<16, 8, 4, 1, 1> =
        Trainer::new(Config::DISCRETE, Init::Orthogonal, &mut rng).unwrap();
    let mut blob = vec![0u8; FixedNet::<16, 8, 4, 1>::BLOB_LEN];
    t.net
        .write_blob(&Config::DISCRETE.units, &mut blob)
        .unwrap();
    let mut mem = vec![0xFFu8; SIZE];
    save(&mut mem, &blob, None).0.unwrap();
    let (_, bytes) = load(&mem).unwrap();
    let mut net = FixedNet::<16, 8, 4, 1>::ZERO;
    assert_eq!(net.read_blob(&bytes), Ok(Config::DISCRETE.units));
    assert_eq!(net, t.net);
}

#[test]
fn too_large_and_misaligned_are_errors() {
    let mut mem = vec![0xFFu8; SIZE];
    let (r, _) = save(&mut mem, &payload(0, SLOTS.capacity() + 1), None);
    assert!(matches!(r, Err(StorageError::TooLarge { .. })));
    let mut flash = CutFlash::new(mem, None);
    let bad = Slots {
        base: 100,
        slot_size: 4 * PAGE as u32,
    };
    assert_eq!(
        storage::save(&mut flash, &bad, &[1, 2, 3]),
        Err(StorageError::Misaligned)
    );
}

#[test]
fn erased_flash_loads_nothing() {
    assert!(load(&vec![0xFFu8; SIZE]).is_none());
    assert!(load(&vec![0x00u8; SIZE]).is_none());
}
