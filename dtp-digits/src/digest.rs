//! The weight digest the firmware logs after training: FNV-1a (32 bits) over the
//! little-endian bytes of every float, in order. Equal on every board and float ABI exactly
//! when they computed the same bits; `firmware/weights-digest-seed1.txt` holds the value of
//! `learn_digits` at seed 1.

/// FNV-1a (32 bits) over the little-endian bytes of every float of `parts`, in order.
#[inline]
pub fn fnv1a(parts: &[&[f32]]) -> u32 {
    let mut h = 0x811c_9dc5u32;
    for v in parts.iter().copied().flatten() {
        for byte in v.to_bits().to_le_bytes() {
            h = (h ^ byte as u32).wrapping_mul(0x0100_0193);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv1a_of_nothing_is_the_offset_basis() {
        assert_eq!(super::fnv1a(&[]), 0x811c_9dc5);
        assert_eq!(super::fnv1a(&[&[], &[]]), 0x811c_9dc5);
        assert_ne!(super::fnv1a(&[&[0.0]]), super::fnv1a(&[&[-0.0]]));
    }
}
