//! The weight blob: a network's parameters and wiring as versioned little-endian bytes with a
//! CRC-32, written by `dtp export` and read by the firmware (at build time or from flash).
//!
//! Layout (all integers and floats little-endian):
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4 | magic `DTPW` |
//! | 4 | 4 | format version (`1`) |
//! | 8 | 16 | `IN`, `H`, `OUT`, `R` as `u32` |
//! | 24 | 8 | units: hidden activation, inverse activation, `between`, `into_output`, `into_inverse` quantisers, output kind (0 softmax, 1 MSE), MSE activation, 0 |
//! | 32 | 4·P | `f32` parameters: `first.w`, `first.b`, each `hidden[k].w`, `.b`, `output.w`, `.b`, each `inverse[k].w`, `.b`; matrices column-major |
//! | 32 + 4·P | 4 | CRC-32 (ISO-HDLC, as zlib) of every byte before it |

use crate::activation::Activation;
use crate::config::{Output, Units};
use crate::layout::{Fixed, Layout, NetAlloc};
use crate::net::Net;
use crate::quantise::Quantiser;
use crate::tensors::Tensors;
use core::fmt;
use nalgebra::DefaultAllocator;

/// The four magic bytes that open a blob.
pub const MAGIC: [u8; 4] = *b"DTPW";
/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the parameters.
pub const HEADER_LEN: usize = 32;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (ISO-HDLC, the zlib/PNG polynomial) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC.checksum(bytes)
}

/// What a blob's header says: its shape and wiring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// `[IN, H, OUT, R]`.
    pub shape: [u32; 4],
    /// The unit types and wiring.
    pub units: Units,
}

/// Why a blob could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BlobError {
    /// Fewer bytes than the header or the shape requires (or, writing, too small a buffer).
    TooShort {
        /// Bytes required.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// More bytes than the shape requires.
    TooLong {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The first four bytes are not `DTPW`.
    BadMagic,
    /// A format version this crate does not read.
    UnsupportedVersion(u32),
    /// The blob holds a network of another shape.
    ShapeMismatch {
        /// `[IN, H, OUT, R]` of the network being loaded.
        expected: [u32; 4],
        /// `[IN, H, OUT, R]` in the blob.
        found: [u32; 4],
    },
    /// An unknown unit code at this byte offset.
    BadUnits {
        /// Byte offset of the bad code.
        offset: usize,
    },
    /// The stored CRC does not match the contents.
    BadCrc {
        /// CRC stored in the blob.
        stored: u32,
        /// CRC computed over the contents.
        computed: u32,
    },
    /// A parameter is NaN or infinite, at this byte offset.
    NonFinite {
        /// Byte offset of the value.
        offset: usize,
    },
    /// The network's hidden layers differ in width: the blob (and the firmware) hold
    /// `IN → H (×(R+1)) → OUT` networks only.
    UnequalHidden,
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BlobError::TooShort { needed, got } => {
                write!(f, "truncated: {got} bytes, {needed} needed")
            }
            BlobError::TooLong { expected, got } => {
                write!(
                    f,
                    "byte {expected}: {} unexpected trailing bytes",
                    got - expected
                )
            }
            BlobError::BadMagic => write!(f, "byte 0: not a dtp weight blob (magic is not DTPW)"),
            BlobError::UnsupportedVersion(v) => {
                write!(f, "byte 4: format version {v}, this build reads {VERSION}")
            }
            BlobError::ShapeMismatch { expected, found } => write!(
                f,
                "byte 8: network shape IN,H,OUT,R = {found:?}, expected {expected:?}"
            ),
            BlobError::BadUnits { offset } => write!(f, "byte {offset}: unknown unit code"),
            BlobError::BadCrc { stored, computed } => write!(
                f,
                "CRC mismatch: stored {stored:#010x}, contents give {computed:#010x}"
            ),
            BlobError::NonFinite { offset } => {
                write!(f, "byte {offset}: NaN or infinite parameter")
            }
            BlobError::UnequalHidden => write!(
                f,
                "the hidden layers differ in width; a weight blob holds IN-H-…-H-OUT networks"
            ),
        }
    }
}

impl core::error::Error for BlobError {}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(word)
}

fn activation(code: u8, offset: usize) -> Result<Activation, BlobError> {
    match code {
        0 => Ok(Activation::Tanh),
        1 => Ok(Activation::Sigmoid),
        2 => Ok(Activation::Linear),
        _ => Err(BlobError::BadUnits { offset }),
    }
}

fn quantiser(code: u8, offset: usize) -> Result<Quantiser, BlobError> {
    match code {
        0 => Ok(Quantiser::Identity),
        1 => Ok(Quantiser::Sign),
        2 => Ok(Quantiser::Bernoulli),
        _ => Err(BlobError::BadUnits { offset }),
    }
}

fn encode_units(u: &Units) -> [u8; 8] {
    let (kind, act) = match u.output {
        Output::SoftmaxNll => (0, 0),
        Output::Mse(a) => (1, a as u8),
    };
    [
        u.hidden as u8,
        u.inverse as u8,
        u.between as u8,
        u.into_output as u8,
        u.into_inverse as u8,
        kind,
        act,
        0,
    ]
}

fn decode_units(b: &[u8]) -> Result<Units, BlobError> {
    let at = |i: usize| 24 + i;
    let output = match (b[5], b[6]) {
        (0, 0) => Output::SoftmaxNll,
        (0, _) => return Err(BlobError::BadUnits { offset: at(6) }),
        (1, act) => Output::Mse(activation(act, at(6))?),
        _ => return Err(BlobError::BadUnits { offset: at(5) }),
    };
    if b[7] != 0 {
        return Err(BlobError::BadUnits { offset: at(7) });
    }
    Ok(Units {
        hidden: activation(b[0], at(0))?,
        inverse: activation(b[1], at(1))?,
        between: quantiser(b[2], at(2))?,
        into_output: quantiser(b[3], at(3))?,
        into_inverse: quantiser(b[4], at(4))?,
        output,
    })
}

/// Reads and checks a blob's header (magic, version, units) without its parameters.
pub fn read_header(bytes: &[u8]) -> Result<Header, BlobError> {
    if bytes.len() < HEADER_LEN {
        return Err(BlobError::TooShort {
            needed: HEADER_LEN,
            got: bytes.len(),
        });
    }
    if bytes[..4] != MAGIC {
        return Err(BlobError::BadMagic);
    }
    let version = u32_at(bytes, 4);
    if version != VERSION {
        return Err(BlobError::UnsupportedVersion(version));
    }
    let shape = [
        u32_at(bytes, 8),
        u32_at(bytes, 12),
        u32_at(bytes, 16),
        u32_at(bytes, 20),
    ];
    Ok(Header {
        shape,
        units: decode_units(&bytes[24..32])?,
    })
}

// The byte loops below are deliberately out of line and run over slices of run-time length:
// inlined into one function per network shape, with a byte offset carried across a dozen
// loops of constant trip count, they made LLVM's loop analysis take minutes to compile.

/// Writes `values` as little-endian `f32`s at the start of `out`; returns the bytes written.
#[inline(never)]
fn put_f32s(out: &mut [u8], values: &[f32]) -> usize {
    for (chunk, v) in out.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    4 * values.len()
}

/// Reads little-endian `f32`s from the start of `bytes` into `values`; returns the bytes read.
#[inline(never)]
fn get_f32s(bytes: &[u8], values: &mut [f32]) -> usize {
    for (chunk, v) in bytes.chunks_exact(4).zip(values.iter_mut()) {
        *v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    4 * values.len()
}

/// Index of the first little-endian `f32` in `bytes` that is NaN or infinite.
#[inline(never)]
fn first_non_finite(bytes: &[u8]) -> Option<usize> {
    bytes
        .chunks_exact(4)
        .position(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
}

/// Total blob length of a network of shape `[IN, H, OUT, R]`, or `None` on overflow.
pub fn blob_len(shape: [u32; 4]) -> Option<usize> {
    let [i, h, o, r] = shape.map(|v| v as usize);
    let first = h.checked_mul(i.checked_add(1)?)?;
    let square = h.checked_mul(h.checked_add(1)?)?;
    let hidden = r.checked_mul(square)?.checked_mul(2)?;
    let output = o.checked_mul(h.checked_add(1)?)?;
    let params = first.checked_add(hidden)?.checked_add(output)?;
    params.checked_mul(4)?.checked_add(HEADER_LEN + 4)
}

impl<const IN: usize, const H: usize, const OUT: usize, const R: usize> Net<Fixed<IN, H, OUT, R>> {
    /// Length in bytes of this network's blob.
    pub const BLOB_LEN: usize = HEADER_LEN + 4 * (Self::FORWARD_PARAMS + Self::INVERSE_PARAMS) + 4;
}

impl<L: Layout> Net<L>
where
    DefaultAllocator: NetAlloc<L>,
{
    /// `[IN, H, OUT, R]` of this network, or `None` if its hidden layers differ in width or a
    /// width does not fit in a `u32`.
    pub fn blob_shape(&self) -> Option<[u32; 4]> {
        if !self.uniform_hidden() {
            return None;
        }
        let w = |v: usize| u32::try_from(v).ok();
        Some([
            w(self.inputs())?,
            w(self.first.outputs())?,
            w(self.outputs())?,
            w(self.depth())?,
        ])
    }

    /// Length in bytes of this network's blob.
    pub fn blob_len(&self) -> usize {
        HEADER_LEN + 4 * (self.forward_params() + self.inverse_params()) + 4
    }

    /// Writes the blob of this network with its wiring `units` into `out`; returns the number
    /// of bytes written ([`blob_len`](Self::blob_len)).
    pub fn write_blob(&self, units: &Units, out: &mut [u8]) -> Result<usize, BlobError> {
        let shape = self.blob_shape().ok_or(BlobError::UnequalHidden)?;
        let len = self.blob_len();
        if out.len() < len {
            return Err(BlobError::TooShort {
                needed: len,
                got: out.len(),
            });
        }
        out[..4].copy_from_slice(&MAGIC);
        out[4..8].copy_from_slice(&VERSION.to_le_bytes());
        for (i, v) in shape.iter().enumerate() {
            out[8 + 4 * i..12 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        out[24..32].copy_from_slice(&encode_units(units));
        // `get_mut`, not `out[at..]`: `at` ends at `len - 4` by construction, but the optimiser
        // cannot see it and would keep a bounds check (a panic path; see check-no-panic.sh).
        let mut at = HEADER_LEN;
        self.visit(&mut |_, _, s| at += put_f32s(out.get_mut(at..).unwrap_or(&mut []), s));
        debug_assert_eq!(at, len - 4);
        let crc = crc32(&out[..len - 4]);
        out[len - 4..len].copy_from_slice(&crc.to_le_bytes());
        Ok(len)
    }

    /// Loads parameters from a blob, checking magic, version, shape, length, CRC and that every
    /// value is finite before writing anything; returns the blob's wiring.
    pub fn read_blob(&mut self, bytes: &[u8]) -> Result<Units, BlobError> {
        let header = read_header(bytes)?;
        let expected = self.blob_shape().ok_or(BlobError::UnequalHidden)?;
        if header.shape != expected {
            return Err(BlobError::ShapeMismatch {
                expected,
                found: header.shape,
            });
        }
        let len = self.blob_len();
        if bytes.len() < len {
            return Err(BlobError::TooShort {
                needed: len,
                got: bytes.len(),
            });
        }
        if bytes.len() > len {
            return Err(BlobError::TooLong {
                expected: len,
                got: bytes.len(),
            });
        }
        let stored = u32_at(bytes, len - 4);
        let computed = crc32(&bytes[..len - 4]);
        if stored != computed {
            return Err(BlobError::BadCrc { stored, computed });
        }
        if let Some(index) = first_non_finite(&bytes[HEADER_LEN..len - 4]) {
            return Err(BlobError::NonFinite {
                offset: HEADER_LEN + 4 * index,
            });
        }
        let mut at = HEADER_LEN;
        self.visit_mut(&mut |_, _, s| at += get_f32s(bytes.get(at..).unwrap_or(&[]), s));
        debug_assert_eq!(at, len - 4);
        Ok(header.units)
    }
}
