//! DNS message header, question and resource-record framing (RFC 1035 §4.1).

use super::{checksum, get_u16, tail_word, words};

pub const HEADER_LEN: usize = 12;
/// Longest name on the wire (RFC 1035 §3.1).
pub const MAX_NAME: usize = 255;
/// At most 127 labels fit in 255 octets.
pub const MAX_LABELS: usize = 128;
/// A lowered name's buffer: [`MAX_NAME`] rounded up to whole 8-byte words,
/// so the last word of a name is lowered and stored whole.
pub const LOWER_LEN: usize = 256;

pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
    pub const YXDOMAIN: u8 = 6;
    /// Extended rcode 16 (RFC 6891 §9): upper eight bits go in the OPT TTL.
    pub const BADVERS: u16 = 16;
}

pub mod flags {
    pub const QR: u16 = 0x8000;
    pub const OPCODE_MASK: u16 = 0x7800;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const CD: u16 = 0x0010;
    pub const RCODE_MASK: u16 = 0x000f;
}

pub fn id(m: &[u8]) -> u16 {
    get_u16(m, 0)
}
pub fn flags(m: &[u8]) -> u16 {
    get_u16(m, 2)
}
pub fn qdcount(m: &[u8]) -> u16 {
    get_u16(m, 4)
}

/// The single question of a query, with its name lowered for lookup.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    /// Wire length of the name, root label included.
    pub name_len: usize,
    /// Number of labels, root excluded.
    pub labels: usize,
    pub qtype: u16,
    pub qclass: u16,
    /// Offset just past the question in the message.
    pub end: usize,
    /// Checksum sum of the question's bytes as sent (RFC 1071, not folded),
    /// at their place in the message: the answer echoes them.
    pub sum: u64,
}

/// Parses the question at offset 12, copying the name lowered into `lower`
/// (bytes past the name are left unspecified). Compression is not allowed
/// in a question name: a pointer is malformed. `on_word` sees each word of
/// the lowered name as it is written (see [`lowercase_into`]): the lookup
/// hashes them there instead of reading the name again.
#[inline]
pub fn parse_question(m: &[u8], lower: &mut [u8; LOWER_LEN], on_word: impl FnMut(u64)) -> Option<Question> {
    let name = m.get(HEADER_LEN..)?;
    let (n, labels) = question_name_len(name)?;
    let src = name.get(..n)?;
    let name_sum = lowercase_into(lower, src, on_word);
    let fixed: &[u8; 4] = name.get(n..n + 4)?.try_into().ok()?;
    Some(Question {
        name_len: n,
        labels,
        qtype: get_u16(fixed, 0),
        qclass: get_u16(fixed, 2),
        end: HEADER_LEN + n + 4,
        // The name starts at offset 12, even; type and class follow it.
        sum: checksum::combine(name_sum, checksum::placed(u32::from_ne_bytes(*fixed) as u64, n)),
    })
}

/// The wire length (root label included) and label count of the question
/// name at the start of `name`; `None` for a pointer, a label over 63
/// octets, a name over 255 or one cut short.
#[inline]
pub fn question_name_len(name: &[u8]) -> Option<(usize, usize)> {
    let mut n = 0usize;
    let mut labels = 0usize;
    // The length limit is checked once at the end: the walk cannot run
    // away meanwhile, as every step consumes bytes of `name`.
    loop {
        let len = *name.get(n)? as usize;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels += 1;
        n += 1 + len;
    }
    (n < MAX_NAME).then_some((n + 1, labels))
}

/// Lowers the ASCII letters among eight bytes (read little-endian) at once.
/// Length octets are at most 63, below 'A', so a whole wire name can be
/// lowered word by word.
#[inline(always)]
pub fn lower_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = w & !HIGH;
    // High bit of each byte: at least 'A', and above 'Z'.
    let ge_a = low7 + (0x80 - b'A' as u64) * ONES;
    let gt_z = low7 + (0x80 - b'Z' as u64 - 1) * ONES;
    let upper = (ge_a ^ gt_z) & !w & HIGH;
    w | (upper >> 2)
}

/// Copies `src` (at most [`LOWER_LEN`] bytes) lowering ASCII letters, eight
/// bytes at a time, the last word zero-padded; returns the checksum sum of
/// `src`, read in the same pass. `on_word` gets each lowered word
/// (little-endian), the zero-padded last one always: a zero word when `src`
/// fills whole words.
#[inline]
fn lowercase_into(dst: &mut [u8; LOWER_LEN], src: &[u8], mut on_word: impl FnMut(u64)) -> u64 {
    let mut sum = 0u64;
    let mut lower_into = |d: &mut [u8], s: [u8; 8]| {
        sum = checksum::combine(sum, u64::from_ne_bytes(s));
        let lowered = lower_word(u64::from_le_bytes(s));
        on_word(lowered);
        d.copy_from_slice(&lowered.to_le_bytes());
    };
    let mut out = dst.chunks_exact_mut(8);
    // Source first: a zip that runs out on its second iterator has already
    // taken an item from the first.
    for (s, d) in words(src).zip(&mut out) {
        lower_into(d, s);
    }
    match out.next() {
        Some(d) if src.len() % 8 != 0 => lower_into(d, tail_word(src)),
        _ => on_word(0),
    }
    sum
}

/// Skips a possibly compressed name; returns the offset after it.
#[inline]
pub fn skip_name(m: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *m.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            1..=63 => pos += 1 + len as usize,
            0xc0..=0xff => {
                m.get(pos + 1)?;
                return Some(pos + 2);
            }
            _ => return None,
        }
    }
}

/// The fixed part of a resource record after its owner name.
#[derive(Debug, Clone, Copy)]
pub struct RrHeader {
    /// Offset of the owner name.
    pub start: usize,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: usize,
    pub rdlen: usize,
    /// Offset just past the record.
    pub end: usize,
}

/// Reads the record at `pos`, checking that its RDATA fits in the message.
#[inline]
pub fn parse_rr(m: &[u8], pos: usize) -> Option<RrHeader> {
    let after = skip_name(m, pos)?;
    let f = m.get(after..after + 10)?;
    let rdlen = get_u16(f, 8) as usize;
    let end = after + 10 + rdlen;
    if end > m.len() {
        return None;
    }
    Some(RrHeader {
        start: pos,
        rtype: get_u16(f, 0),
        class: get_u16(f, 2),
        ttl: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
        rdata: after + 10,
        rdlen,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_question_lowering_name() {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(b"\x03WwW\x07Example\x03com\x00\x00\x01\x00\x01");
        let mut lower = [0u8; LOWER_LEN];
        let mut words = Vec::new();
        let q = parse_question(&m, &mut lower, |w| words.push(w)).unwrap();
        assert_eq!(&lower[..q.name_len], b"\x03www\x07example\x03com\x00");
        let want: Vec<u64> = lower[..24].chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(words, want, "each lowered word, the last zero-padded");
        assert_eq!((q.labels, q.qtype, q.qclass, q.end), (3, 1, 1, m.len()));
        assert_eq!(checksum::finish(q.sum), checksum::finish(checksum::sum(&m[HEADER_LEN..])));
        // The message itself is untouched: the question is echoed as sent.
        assert_eq!(&m[12..16], b"\x03WwW");
    }

    #[test]
    fn lowercases_every_byte_value_like_ascii() {
        let src: Vec<u8> = (0..=255u8).collect();
        let mut dst = [0u8; LOWER_LEN];
        let mut words = 0;
        let sum = lowercase_into(&mut dst, &src, |_| words += 1);
        let want: Vec<u8> = src.iter().map(u8::to_ascii_lowercase).collect();
        assert_eq!(&dst[..], &want[..]);
        assert_eq!(words, 32 + 1, "whole words, then a zero word");
        assert_eq!(checksum::finish(sum), checksum::finish(checksum::sum(&src)));
        for shift in 1..=9 {
            let sum = lowercase_into(&mut dst, &src[shift..], |_| {});
            assert_eq!(&dst[..256 - shift], &want[shift..]);
            assert_eq!(checksum::finish(sum), checksum::finish(checksum::sum(&src[shift..])), "shift {shift}");
        }
    }

    #[test]
    fn rejects_pointers_long_labels_and_truncation() {
        let mut lower = [0u8; LOWER_LEN];
        for bad in [&b"\xc0\x0c\x00\x01\x00\x01"[..], b"\x40", b"\x03ww", b"\x03www\x00\x00\x01\x00"] {
            let mut m = vec![0u8; 12];
            m.extend_from_slice(bad);
            assert!(parse_question(&m, &mut lower, |_| {}).is_none(), "{bad:?}");
        }
        // 128 one-letter labels make 257 octets: too long.
        let mut m = vec![0u8; 12];
        for _ in 0..128 {
            m.extend_from_slice(b"\x01a");
        }
        m.extend_from_slice(b"\x00\x00\x01\x00\x01");
        assert!(parse_question(&m, &mut lower, |_| {}).is_none());
    }

    #[test]
    fn parses_records_with_compressed_owners() {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(b"\xc0\x0c\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x02\xab\xcd");
        let rr = parse_rr(&m, 12).unwrap();
        assert_eq!((rr.rtype, rr.class, rr.ttl, rr.rdlen, rr.end), (41, 1232, 0x8000, 2, m.len()));
        m.pop();
        assert!(parse_rr(&m, 12).is_none(), "rdata past the end");
    }
}
