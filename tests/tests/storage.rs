//! `dtp_core::storage` against a RAM flash model that loses power at every possible step.
//!
//! The model has NOR rules (erase sets a page to `0xFF`, a write can only clear bits) and
//! counts steps: one page erase or one word write each. A power cut after `k` steps lets the
//! `k + 1`-th operation happen only partly (a torn erase erases half the page, the first half
//! or, with `tear_tail`, the second half, leaving an old header in place; a torn write clears
//! only some of the bits it would) and fails everything after it. After every cut the
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
    /// A torn erase erases the second half of the page instead of the first.
    tear_tail: bool,
}

impl CutFlash {
    fn new(mem: Vec<u8>, budget: Option<usize>) -> Self {
        CutFlash {
            mem,
            budget,
            dead: false,
            steps: 0,
            tear_tail: false,
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
            let range = match (torn, self.tear_tail) {
                (false, _) => page..page + PAGE,
                (true, false) => page..page + PAGE / 2,
                (true, true) => page + PAGE / 2..page + PAGE,
            };
            self.mem[range].fill(0xFF);
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
    save_tearing(mem, data, budget, false)
}

/// [`save`], with a torn erase erasing the second half of its page if `tear_tail`.
fn save_tearing(
    mem: &mut Vec<u8>,
    data: &[u8],
    budget: Option<usize>,
    tear_tail: bool,
) -> (Result<Record, StorageError<FlashError>>, usize) {
    let mut flash = CutFlash::new(std::mem::take(mem), budget);
    flash.tear_tail = tear_tail;
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

/// What a reboot on `mem` loads, which must be one of `allowed` (by content: every payload
/// of these tests is distinct).
fn reboot(mem: &[u8], allowed: &[&[u8]], context: &str) -> Vec<u8> {
    let loaded = load(mem).map(|(_, bytes)| bytes);
    match loaded {
        Some(bytes) if allowed.contains(&bytes.as_slice()) => bytes,
        other => panic!(
            "{context}: loaded {:?} bytes, none of the {} allowed saves",
            other.map(|b| b.len()),
            allowed.len()
        ),
    }
}

/// Steps an uncut save of `data` takes on `mem` (on a copy).
fn steps_of(mem: &[u8], data: &[u8]) -> usize {
    save(&mut mem.to_vec(), data, None).1
}

/// The device's real sequence: a save cut at any step, a reboot, then the next save written
/// on top of the torn memory and cut at any step, a reboot, then a save left to finish.
/// After every reboot the device loads its last good save or the one just cut (never
/// garbage, never an older one); the save that finishes loads exactly. Both tear models.
#[test]
fn a_save_on_top_of_a_torn_save_cut_again_keeps_the_last_good_one() {
    let pairs = cut_pairs(false) + cut_pairs(true);
    println!("{pairs} pairs of cut points");
    // 8 erases + 25 payload words + 8 header words for `b`, about 54 steps for `c`: 2310
    // pairs in each tear model.
    assert!(pairs > 4000, "only {pairs} pairs of cut points");
}

/// Every pair of cut points of two consecutive saves; returns how many.
fn cut_pairs(tear_tail: bool) -> usize {
    let (a, b, c, d) = (
        payload(11, 300),
        payload(12, 100),
        payload(13, 150),
        payload(14, 64),
    );
    let mut mem = vec![0xFFu8; SIZE];
    // An older record in each slot, so torn erases have old data to leave behind.
    save(&mut mem, &payload(10, 500), None).0.unwrap();
    save(&mut mem, &a, None).0.unwrap();
    let mut pairs = 0;
    for k1 in 0..=steps_of(&mem, &b) {
        let mut m1 = mem.clone();
        let (r1, _) = save_tearing(&mut m1, &b, Some(k1), tear_tail);
        let allowed1: &[&[u8]] = if r1.is_ok() { &[&b] } else { &[&a, &b] };
        let good1 = reboot(&m1, allowed1, &format!("cut at {k1}"));
        for k2 in 0..=steps_of(&m1, &c) {
            let mut m2 = m1.clone();
            let (r2, _) = save_tearing(&mut m2, &c, Some(k2), tear_tail);
            let allowed2: &[&[u8]] = if r2.is_ok() { &[&c] } else { &[&good1, &c] };
            reboot(&m2, allowed2, &format!("cuts at {k1} then {k2}"));
            let (r3, _) = save(&mut m2, &d, None);
            r3.unwrap_or_else(|e| panic!("cuts at {k1}, {k2}: the next save failed: {e:?}"));
            reboot(&m2, &[&d], &format!("cuts at {k1}, {k2}, then a full save"));
            pairs += 1;
        }
    }
    pairs
}

/// A run of saves on one memory, most of them cut at a pseudo-random step (the two tear models
/// in turn), each starting from the torn memory the last one left: the loaded save never goes
/// back to an older one.
#[test]
fn a_run_of_power_cuts_carries_the_torn_memory_into_each_next_save() {
    let mut mem = vec![0xFFu8; SIZE];
    mem[..512].fill(0x00);
    let mut good: Option<Vec<u8>> = None;
    let mut seq: Option<u32> = None;
    let (mut cut, mut finished, mut torn_became_valid) = (0, 0, 0);
    let mut x = 0x9E37_79B9u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as usize
    };
    for i in 0..400usize {
        // Distinct payloads (the attempt's number first) of 2 bytes to a full slot.
        let mut data = payload(i as u8, 2 + next() % (SLOTS.capacity() - 1));
        data[..2].copy_from_slice(&(i as u16).to_le_bytes());
        let steps = steps_of(&mem, &data);
        // One save in five runs to the end.
        let budget = (next() % 5 != 0).then(|| next() % (steps + 1));
        let (r, _) = save_tearing(&mut mem, &data, budget, i % 2 == 1);
        let loaded = load(&mem);
        match (&r, &loaded) {
            (Ok(rec), Some((l, bytes))) => {
                assert_eq!(
                    (l, bytes),
                    (rec, &data),
                    "save {i} finished but loads otherwise"
                );
                finished += 1;
            }
            (Ok(_), None) => panic!("save {i} finished but nothing loads"),
            (Err(_), Some((_, bytes))) if *bytes == data => {
                // The cut fell after the header's last checked word.
                torn_became_valid += 1;
                cut += 1;
            }
            (Err(_), l) => {
                assert_eq!(
                    l.as_ref().map(|(_, b)| b),
                    good.as_ref(),
                    "save {i} cut at {budget:?} of {steps}: not the last good save"
                );
                cut += 1;
            }
        }
        if let Some((rec, bytes)) = loaded {
            if let Some(s) = seq {
                assert!(
                    rec.seq == s || rec.seq == s.wrapping_add(1),
                    "seq {s} → {}",
                    rec.seq
                );
            }
            seq = Some(rec.seq);
            good = Some(bytes);
        }
    }
    println!("{cut} cut saves ({torn_became_valid} valid anyway), {finished} finished");
    assert!(
        cut >= 250 && finished >= 50,
        "{cut} cut, {finished} finished"
    );
}

/// Several bits at once flipped in the newest record (header fields or payload, 2 to 8 bits
/// anywhere, a cleared word, a 32-bit burst, both sides of the header/payload boundary):
/// every case is detected and the older save loads, byte for byte; the next save goes into
/// the damaged slot, not over the only good record.
#[test]
fn multi_bit_corruption_of_the_newest_record_falls_back_to_the_older_save() {
    let (older, newer) = (payload(21, 300), payload(22, 300));
    let mut clean = vec![0xFFu8; SIZE];
    save(&mut clean, &older, None).0.unwrap();
    let newest = save(&mut clean, &newer, None).0.unwrap();
    let start = SLOTS.offset(newest.slot) as usize;
    // The bytes the CRCs cover: header bytes 0..20 and the payload.
    let covered: Vec<usize> = (0..20)
        .chain(storage::HEADER_LEN..storage::HEADER_LEN + newer.len())
        .map(|o| start + o)
        .collect();
    let mut cases: Vec<Vec<(usize, u8)>> = Vec::new();
    let mut x = 0x2545_F491u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as usize
    };
    for n in 2..=8 {
        for _ in 0..250 {
            let mut flips: Vec<(usize, u8)> = Vec::new();
            while flips.len() < n {
                let f = (covered[next() % covered.len()], 1u8 << (next() % 8));
                if !flips.contains(&f) {
                    flips.push(f);
                }
            }
            cases.push(flips);
        }
    }
    let payload_at = start + storage::HEADER_LEN;
    // A word cleared to 0 (NOR bits lost), a 32-bit burst, two bits of one byte, and flips on
    // both sides of the boundary (header CRC field and first payload byte).
    cases.push(
        (0..4)
            .map(|i| (payload_at + 40 + i, clean[payload_at + 40 + i]))
            .collect(),
    );
    cases.push((0..4).map(|i| (payload_at + 101 + i, 0xFF)).collect());
    cases.push(vec![(payload_at + 7, 0x81)]);
    cases.push(vec![(start + 17, 0x10), (payload_at, 0x01)]);
    cases.push(vec![
        (start + 5, 0x02),
        (start + 9, 0x40),
        (start + 13, 0x08),
    ]);
    for (n, flips) in cases.iter().enumerate() {
        let mut mem = clean.clone();
        for &(at, mask) in flips {
            mem[at] ^= mask;
        }
        assert_ne!(mem, clean);
        let (rec, bytes) = load(&mem).unwrap_or_else(|| panic!("case {n}: nothing loads"));
        assert_eq!(
            (rec.slot, rec.seq, &bytes),
            (1 - newest.slot, newest.seq - 1, &older),
            "case {n} ({flips:?}) not detected"
        );
        let next_save = save(&mut mem, &payload(23, 200), None).0.unwrap();
        assert_eq!(next_save.slot, newest.slot, "case {n}");
        assert_eq!(load(&mem).unwrap().1, payload(23, 200), "case {n}");
    }
    // Damage in both records: nothing loads (never garbage), and a save still works.
    let mut mem = clean.clone();
    mem[SLOTS.offset(0) as usize + storage::HEADER_LEN + 3] ^= 0x30;
    mem[SLOTS.offset(1) as usize + 2] ^= 0x05;
    assert!(load(&mem).is_none());
    save(&mut mem, &payload(24, 99), None).0.unwrap();
    assert_eq!(load(&mem).unwrap().1, payload(24, 99));
}
