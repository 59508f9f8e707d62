//! Build script: puts the board's `memory.x` on the linker search path, turns
//! `dtp-std/data/digits.csv.gz` into the 4-bit pixel table the firmware keeps in flash
//! (`dtp_digits::table`), and
//! writes the demos' seed (`DTP_FIRMWARE_SEED`, default 1) for `dtp_firmware::SEED`.
//!
//! `memory.x` is copied into `OUT_DIR` (as embassy's examples do) because the linker looks for
//! it on the search path, and the crate root is not on it when built from another directory.

use std::io::Read;
use std::path::PathBuf;
use std::{env, fs};

/// Epochs of the integer demo (`dtp_firmware::int_digits::EPOCHS`).
const INT_EPOCHS: usize = 4;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());

    // --- memory.x of the selected board. ---------------------------------
    // mps2-an386 (Cortex-M4F), mps2-an500 (Cortex-M7) and mps2-an385 (Cortex-M3, the
    // soft-float build) share one memory map; mps2-an505 (Cortex-M33), the micro:bit (nRF51,
    // Cortex-M0) and the RP2040 (Cortex-M0+, its boot2 stage first) have their own.
    let board = if env::var_os("CARGO_FEATURE_NRF52840_DK").is_some() {
        "nrf52840-dk"
    } else if env::var_os("CARGO_FEATURE_MICROBIT").is_some() {
        "microbit"
    } else if env::var_os("CARGO_FEATURE_RP2040").is_some() {
        "rp2040"
    } else if env::var_os("CARGO_FEATURE_MPS2_AN505").is_some() {
        "mps2-an505"
    } else {
        "mps2-an386"
    };
    let memory = manifest.join("boards").join(board).join("memory.x");
    fs::copy(&memory, out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={}", memory.display());

    // --- The seed of the demos' generator and sample order. --------------
    // One u64 (decimal, or hexadecimal with 0x); 1 when unset, the seed of every figure
    // measured before it could be chosen.
    println!("cargo:rerun-if-env-changed=DTP_FIRMWARE_SEED");
    let seed = match env::var("DTP_FIRMWARE_SEED") {
        Err(env::VarError::NotPresent) => 1,
        Ok(s) if s.trim().is_empty() => 1,
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse::<u64>(),
            };
            parsed.unwrap_or_else(|e| panic!("DTP_FIRMWARE_SEED={s:?}: not a u64 ({e})"))
        }
        Err(e) => panic!("DTP_FIRMWARE_SEED: {e}"),
    };
    fs::write(out.join("seed.rs"), format!("{seed}u64\n")).unwrap();

    // --- digits: 1797 rows of 64 pixels (0..=16) and a label. --------------
    // Packed by `dtp_digits::table` in `dtp_digits::format`'s 4 bits (two pixels a byte, low
    // nibble first), which the firmware reads back (`digits.rs`). Labels are one byte each.
    let gz = manifest.join("../dtp-std/data/digits.csv.gz");
    println!("cargo:rerun-if-changed={}", gz.display());
    let mut csv = String::new();
    flate2::read::GzDecoder::new(fs::File::open(&gz).unwrap())
        .read_to_string(&mut csv)
        .unwrap();
    let table = dtp_digits::table::Table::from_csv(&csv).unwrap_or_else(|e| panic!("{e}"));
    fs::write(out.join("digits_pixels.bin"), &table.pixels).unwrap();
    fs::write(out.join("digits_labels.bin"), &table.labels).unwrap();

    // --- The integer demo's training order, in flash (it has no RAM to spare for it). ---
    // Epoch e's order of the training digits is the one `source::FlashDigits` makes at run
    // time: `dtp_digits::order::shuffle` over the previous epoch's order (the identity before
    // epoch 0) from a Pcg32 of the seed on the order stream; `INT_EPOCHS` orders, u16 LE.
    use dtp_digits::{order, split};
    let mut order_now: [u16; split::TRAIN] = core::array::from_fn(|j| j as u16);
    let mut rng = rand_pcg::Pcg32::new(seed, order::ORDER_STREAM);
    let mut orders = Vec::new();
    for _ in 0..INT_EPOCHS {
        order::shuffle(&mut order_now, &mut rng);
        orders.extend(order_now.iter().flat_map(|j| j.to_le_bytes()));
    }
    fs::write(out.join("digits_orders.bin"), &orders).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
