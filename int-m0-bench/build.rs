//! Puts `memory.x` on the linker path and turns `dtp-std/data/digits.csv.gz` into 4-bit
//! pixels (the firmware's `q = (15v + 8)/16`, one byte a pixel here) and labels.

use std::io::Read;
use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    fs::copy(manifest.join("memory.x"), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    let gz = manifest.join("../dtp-std/data/digits.csv.gz");
    let mut csv = String::new();
    flate2::read::GzDecoder::new(fs::File::open(&gz).unwrap())
        .read_to_string(&mut csv)
        .unwrap();
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for line in csv.lines() {
        let Ok(v) = line
            .split(',')
            .map(|f| f.trim().parse::<f64>().map(|v| v as u32))
            .collect::<Result<Vec<u32>, _>>()
        else {
            continue;
        };
        pixels.extend(v[..64].iter().map(|&p| ((p * 15 + 8) / 16) as u8));
        labels.push(v[64] as u8);
    }
    fs::write(out.join("pixels.bin"), &pixels).unwrap();
    fs::write(out.join("labels.bin"), &labels).unwrap();
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
