//! Typed, bounds-checked views over the bytes of a frame, in the manner of
//! smoltcp's `wire`: each header type wraps a byte slice and offers getters
//! and setters at fixed offsets. Constructors check the length once, so the
//! accessors cannot read out of bounds.

pub mod checksum;
pub mod dns;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod udp;

#[inline(always)]
pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// The last 0..=7 bytes of a word-at-a-time loop, zero-padded to a word.
/// Fixed-size moves only: `tail[..n].copy_from_slice(rest)` with a variable
/// `n` becomes a call to `memcpy`, which costs more than the whole loop.
#[inline(always)]
pub(crate) fn padded_word(rest: &[u8]) -> [u8; 8] {
    let mut word = [0u8; 8];
    let n = rest.len().min(7);
    let mut at = 0;
    if n & 4 != 0 {
        word[..4].copy_from_slice(&rest[..4]);
        at = 4;
    }
    if n & 2 != 0 {
        if let (Some(d), Some(s)) = (word.get_mut(at..at + 2), rest.get(at..at + 2)) {
            d.copy_from_slice(s);
        }
        at += 2;
    }
    if n & 1 != 0 {
        if let (Some(d), Some(s)) = (word.get_mut(at), rest.get(at)) {
            *d = *s;
        }
    }
    word
}

#[cfg(test)]
mod tests {
    #[test]
    fn padded_word_keeps_every_tail_length() {
        let bytes = [1u8, 2, 3, 4, 5, 6, 7];
        for n in 0..=7 {
            let mut want = [0u8; 8];
            want[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(super::padded_word(&bytes[..n]), want, "{n} bytes");
        }
    }
}
