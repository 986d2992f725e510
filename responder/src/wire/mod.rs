//! Typed, bounds-checked views over the bytes of a frame, in the manner of
//! smoltcp's `wire`: each header's fields are named byte ranges (its `field`
//! module), and its view wraps the header's fixed bytes as an array. The
//! constructor checks the length once and returns `None` when the bytes are
//! too short, so no accessor can panic and none needs a bounds check of its
//! own. Nothing outside `wire` reads a header at a literal offset.

pub mod checksum;
pub mod dns;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod udp;

/// A header field: its byte range within the header.
pub type Field = core::ops::Range<usize>;

/// The big-endian `u16` at `field` of a fixed-size header (a constant index
/// into an array: no bounds check is left once inlined).
#[inline(always)]
pub(crate) fn be16<const N: usize>(b: &[u8; N], field: Field) -> u16 {
    u16::from_be_bytes([b[field.start], b[field.start + 1]])
}

#[inline(always)]
pub(crate) fn set_be16<const N: usize>(b: &mut [u8; N], field: Field, v: u16) {
    [b[field.start], b[field.start + 1]] = v.to_be_bytes();
}

/// The whole 8-byte words of `bytes`, in order (`as_chunks` is newer than
/// the crate's minimum Rust version).
#[inline(always)]
pub(crate) fn words(bytes: &[u8]) -> impl Iterator<Item = [u8; 8]> + '_ {
    bytes.chunks_exact(8).map(|c| [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}

/// The bytes of `bytes` after its last whole 8-byte word, zero-padded to a
/// word: what a word-at-a-time loop has left. When `bytes` holds a whole
/// word, one load of its last eight bytes and a shift get them.
#[inline(always)]
pub(crate) fn tail_word(bytes: &[u8]) -> [u8; 8] {
    let rem = bytes.len() % 8;
    match bytes.last_chunk::<8>() {
        Some(_) if rem == 0 => [0; 8],
        Some(last) => (u64::from_le_bytes(*last) >> (64 - 8 * rem as u32)).to_le_bytes(),
        None => padded_word(bytes),
    }
}

/// `rest` (at most 7 bytes are used) zero-padded to a word. Fixed-size
/// moves only: `tail[..n].copy_from_slice(rest)` with a variable `n`
/// becomes a call to `memcpy`, which costs more than a whole name's loop.
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
    fn tail_word_is_what_a_word_loop_leaves() {
        let bytes: Vec<u8> = (1..=40).collect();
        for n in 0..=bytes.len() {
            let whole = n / 8 * 8;
            let mut want = [0u8; 8];
            want[..n - whole].copy_from_slice(&bytes[whole..n]);
            assert_eq!(super::tail_word(&bytes[..n]), want, "{n} bytes");
        }
    }

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
