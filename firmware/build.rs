//! Build script: puts the board's `memory.x` on the linker search path and turns
//! `dtp-std/data/digits.csv.gz` into the 4-bit pixel table the firmware keeps in flash.
//!
//! `memory.x` is copied into `OUT_DIR` (as embassy's examples do) because the linker looks for
//! it on the search path, and the crate root is not on it when built from another directory.

use std::io::Read;
use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());

    // --- memory.x of the selected board. ---------------------------------
    let board = if env::var_os("CARGO_FEATURE_NRF52840_DK").is_some() {
        "nrf52840-dk"
    } else {
        "mps2-an386"
    };
    let memory = manifest.join("boards").join(board).join("memory.x");
    fs::copy(&memory, out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={}", memory.display());

    // --- digits: 1797 rows of 64 pixels (0..=16) and a label. --------------
    // Pixel v is stored as round(v·15/16) in 4 bits (two pixels a byte, low nibble first);
    // the firmware reads q/15. Labels are one byte each.
    let gz = manifest.join("../dtp-std/data/digits.csv.gz");
    println!("cargo:rerun-if-changed={}", gz.display());
    let mut csv = String::new();
    flate2::read::GzDecoder::new(fs::File::open(&gz).unwrap())
        .read_to_string(&mut csv)
        .unwrap();
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for line in csv.lines() {
        let values: Vec<u32> = match line
            .split(',')
            .map(|f| f.trim().parse::<f64>().map(|v| v as u32))
            .collect()
        {
            Ok(v) => v,
            Err(_) => continue, // a header line
        };
        assert_eq!(values.len(), 65, "digits row with {} fields", values.len());
        for pair in values[..64].chunks(2) {
            let q = |v: u32| {
                assert!(v <= 16);
                (v * 15 + 8) / 16
            };
            pixels.push((q(pair[0]) | q(pair[1]) << 4) as u8);
        }
        labels.push(values[64] as u8);
    }
    assert_eq!(labels.len(), 1797, "expected the 1797 UCI digits");
    fs::write(out.join("digits_pixels.bin"), &pixels).unwrap();
    fs::write(out.join("digits_labels.bin"), &labels).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
