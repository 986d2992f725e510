//! The Internet checksum (RFC 1071) for IPv4 headers and UDP.
//!
//! Words are summed in native order into a 64-bit accumulator, eight bytes at
//! a time; one's-complement addition is byte-order independent (RFC 1071
//! §2(B)), so the result only needs swapping once at the end.

/// One's-complement sum of `data`, not yet folded or inverted.
#[inline]
pub fn sum(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let (s, carry) = acc.overflowing_add(w);
        acc = s + carry as u64;
    }
    let w = u64::from_ne_bytes(super::tail_word(data));
    let (s, carry) = acc.overflowing_add(w);
    s + carry as u64
}

/// Adds a 16-bit big-endian value (a pseudo-header field) to a native-order sum.
#[inline]
pub fn add_u16(acc: u64, v: u16) -> u64 {
    let (s, carry) = acc.overflowing_add(u16::from_ne_bytes(v.to_be_bytes()) as u64);
    s + carry as u64
}

/// Adds two partial sums.
#[inline]
pub fn combine(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    s + carry as u64
}

/// Moves the sum of bytes that start at an even offset to where they start
/// at `offset`. An odd start swaps the bytes of every 16-bit word (RFC 1071
/// §2(B)); on a ones'-complement sum that is a multiplication by 2^8, which
/// modulo 2^64 − 1 is a rotation by 8 bits.
#[inline(always)]
pub fn placed(sum: u64, offset: usize) -> u64 {
    sum.rotate_left((offset as u32 & 1) * 8)
}

/// Folds a sum to 16 bits, still in native word order and not inverted.
/// Its `to_ne_bytes` are the partial sum in network byte order, as a table
/// stores it.
#[inline]
pub fn fold(acc: u64) -> u16 {
    // End-around carry at each halving, as RFC 1071 §2 (B) folds: two adds
    // with their carry instead of a chain of masks and shifts.
    let (s, carry) = (acc as u32).overflowing_add((acc >> 32) as u32);
    let s = s + carry as u32;
    let (t, carry) = (s as u16).overflowing_add((s >> 16) as u16);
    t + carry as u16
}

/// A partial sum stored in network byte order (see [`fold`]) as a sum.
#[inline(always)]
pub fn from_stored(bytes: [u8; 2]) -> u64 {
    u16::from_ne_bytes(bytes) as u64
}

/// Folds a sum to 16 bits and inverts it: the value to store, big-endian.
#[inline]
pub fn finish(acc: u64) -> u16 {
    // Back from native word order to network order.
    !u16::from_be_bytes(fold(acc).to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward RFC 1071 reference: big-endian 16-bit words.
    fn reference(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for c in data.chunks(2) {
            let w = if c.len() == 2 { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], 0]) };
            s += w as u32;
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn matches_reference_for_all_lengths_and_patterns() {
        let mut data = Vec::new();
        let mut x: u32 = 0x1234_5678;
        for len in 0..300 {
            for variant in 0..3 {
                data.clear();
                for _ in 0..len {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    data.push(match variant {
                        0 => (x >> 16) as u8,
                        1 => 0xff,
                        _ => 0,
                    });
                }
                assert_eq!(finish(sum(&data)), reference(&data), "len {len} variant {variant}");
            }
        }
    }

    #[test]
    fn sums_placed_at_any_offset_combine_like_one_sum() {
        let data: Vec<u8> = (0..97u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in 0..=data.len() {
            let (head, tail) = data.split_at(split);
            let whole = combine(sum(head), placed(sum(tail), split));
            assert_eq!(finish(whole), reference(&data), "split at {split}");
            // Stored as two bytes and read back, the tail's sum is the same.
            let stored = from_stored(fold(sum(tail)).to_ne_bytes());
            assert_eq!(finish(combine(sum(head), placed(stored, split))), reference(&data), "stored, split {split}");
        }
        // The stored form is the RFC 1071 sum in network byte order.
        assert_eq!(fold(sum(&[0x12, 0x34, 0x56])).to_ne_bytes(), [0x68, 0x34]);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2 (before inversion).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum(&data)), !0xddf2);
    }

    #[test]
    fn pseudo_header_fields_add_like_bytes() {
        let data = [0x12, 0x34, 0x56, 0x78];
        let split = add_u16(sum(&data[..2]), 0x5678);
        assert_eq!(finish(split), finish(sum(&data)));
        assert_eq!(finish(combine(sum(&data[..2]), sum(&data[2..]))), finish(sum(&data)));
    }
}
