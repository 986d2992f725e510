//! IPv4 header view (RFC 791).

use super::{be16, checksum, set_be16};

pub const MIN_HEADER_LEN: usize = 20;
pub const PROTO_UDP: u8 = 17;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

mod field {
    use crate::wire::Field;
    /// Version (high 4 bits) and header length in words (low 4 bits).
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Field = 2..4;
    pub const FLAGS_FRAG: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC: Field = 12..16;
    pub const DST: Field = 16..20;
}

/// A checked IPv4 header: the fixed 20 bytes as an array (so no accessor
/// needs a bounds check) and the options behind them (`ihl * 4 - 20` bytes).
pub struct Header<'a> {
    b: &'a [u8; MIN_HEADER_LEN],
    options: &'a [u8],
}

impl<'a> Header<'a> {
    /// Checks version, header length and that the header fits in `b`.
    #[inline]
    pub fn new_checked(b: &'a [u8]) -> Option<Header<'a>> {
        let (fixed, rest) = b.split_first_chunk::<MIN_HEADER_LEN>()?;
        let first = fixed[field::VER_IHL];
        let ihl = (first & 0x0f) as usize * 4;
        if first >> 4 != 4 || ihl < MIN_HEADER_LEN {
            return None;
        }
        let options = rest.get(..ihl - MIN_HEADER_LEN)?;
        Some(Header { b: fixed, options })
    }

    #[inline]
    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN + self.options.len()
    }
    #[inline]
    pub fn total_len(&self) -> usize {
        be16(self.b, field::TOTAL_LEN) as usize
    }
    #[inline]
    pub fn is_fragment(&self) -> bool {
        let f = be16(self.b, field::FLAGS_FRAG);
        f & FLAG_MF != 0 || f & OFFSET_MASK != 0
    }
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.b[field::PROTOCOL]
    }
    #[inline]
    pub fn src(&self) -> [u8; 4] {
        address(self.b, field::SRC)
    }
    #[inline]
    pub fn dst(&self) -> [u8; 4] {
        address(self.b, field::DST)
    }
    /// True when the header checksum verifies.
    #[inline(always)]
    pub fn checksum_ok(&self) -> bool {
        let options = if self.options.is_empty() { 0 } else { checksum::sum(self.options) };
        checksum::finish(checksum::combine(header_sum(self.b), options)) == 0
    }
}

/// The header length the first byte of `packet` claims, unchecked: for a
/// prefetch that only needs to find the UDP payload and leaves checking to
/// [`Header::new_checked`]. `None` for an empty `packet`.
#[inline(always)]
pub fn claimed_header_len(packet: &[u8]) -> Option<usize> {
    packet.get(field::VER_IHL).map(|&b| (b & 0x0f) as usize * 4)
}

/// The 4 bytes of `field` (a constant range of 4: the fallback is never
/// taken, and compiles away).
#[inline(always)]
fn address(h: &[u8; MIN_HEADER_LEN], field: super::Field) -> [u8; 4] {
    h[field].try_into().unwrap_or([0; 4])
}

/// Turns the fixed 20 bytes of a checked query header into the answer's: a
/// fresh header (options are not echoed) with addresses swapped, TTL reset
/// and DF set (answers larger than the path MTU are truncated, never
/// fragmented).
#[inline(always)]
pub fn write_reply_header(h: &mut [u8; MIN_HEADER_LEN], total_len: usize, ttl: u8) {
    let (src, dst) = (address(h, field::SRC), address(h, field::DST));
    h[field::VER_IHL] = 0x45;
    h[field::TOS] = 0;
    set_be16(h, field::TOTAL_LEN, total_len as u16);
    set_be16(h, field::FLAGS_FRAG, FLAG_DF);
    h[field::TTL] = ttl;
    h[field::SRC].copy_from_slice(&dst);
    h[field::DST].copy_from_slice(&src);
    set_be16(h, field::CHECKSUM, 0);
    let csum = checksum::finish(header_sum(h));
    set_be16(h, field::CHECKSUM, csum);
}

/// The sum of a 20-byte header: five 32-bit words, no loop.
#[inline(always)]
fn header_sum(h: &[u8; MIN_HEADER_LEN]) -> u64 {
    let w = |i: usize| u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) as u64;
    w(0) + w(4) + w(8) + w(12) + w(16)
}

/// Addresses that must never be answered from or to: "this network"
/// (0/8, RFC 1122 3.2.1.3, with the unspecified address), multicast,
/// broadcast, class E, and loopback (127/8), which on a wire is always
/// spoofed (the kernel drops all of these as martians; XDP sees them first).
#[inline]
pub fn is_unanswerable(addr: [u8; 4]) -> bool {
    addr[0] >= 224 || addr[0] == 127 || addr[0] == 0
}

/// Sum of the UDP pseudo-header (RFC 768): source, destination, protocol, length.
pub fn pseudo_header_sum(src: [u8; 4], dst: [u8; 4], udp_len: u16) -> u64 {
    let mut acc = checksum::sum(&[src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3]]);
    acc = checksum::add_u16(acc, PROTO_UDP as u16);
    checksum::add_u16(acc, udp_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_bad_headers() {
        assert!(Header::new_checked(&[]).is_none());
        assert!(Header::new_checked(&[0x46; 20]).is_none(), "ihl 6 needs 24 bytes");
        assert!(Header::new_checked(&[0x65; 20]).is_none(), "version 6");
        assert!(Header::new_checked(&[0x44; 20]).is_none(), "ihl below 5");
        assert!(Header::new_checked(&[0x45; 20]).is_some());
    }

    #[test]
    fn reply_header_verifies_and_swaps() {
        let mut b = [0u8; 24];
        b[0] = 0x46;
        b[6] = 0x20; // MF
        b[9] = PROTO_UDP;
        b[12..16].copy_from_slice(&[198, 18, 0, 2]);
        b[16..20].copy_from_slice(&[198, 18, 0, 1]);
        assert!(Header::new_checked(&b).unwrap().is_fragment());
        write_reply_header((&mut b[..MIN_HEADER_LEN]).try_into().unwrap(), 100, 64);
        let ip = Header::new_checked(&b).unwrap();
        assert_eq!(ip.header_len(), 20);
        assert!(!ip.is_fragment());
        assert_eq!(ip.src(), [198, 18, 0, 1]);
        assert_eq!(ip.dst(), [198, 18, 0, 2]);
        assert_eq!(ip.total_len(), 100);
        assert!(ip.checksum_ok());
        assert!(is_unanswerable([224, 0, 0, 1]) && is_unanswerable([255; 4]) && !is_unanswerable([198, 18, 0, 1]));
        assert!(is_unanswerable([127, 0, 0, 1]) && is_unanswerable([127, 9, 9, 9]) && !is_unanswerable([126, 0, 0, 1]));
        assert!(is_unanswerable([0, 1, 2, 3]) && is_unanswerable([240, 0, 0, 1]) && !is_unanswerable([1, 0, 0, 0]));
    }

    proptest! {
        /// Any bytes: a header when version, IHL and length agree, `None`
        /// otherwise; every accessor reads its own field.
        #[test]
        fn any_bytes_give_a_header_or_none(bytes in proptest::collection::vec(any::<u8>(), 0..70), v4 in any::<bool>()) {
            let mut bytes = bytes;
            if v4 && !bytes.is_empty() {
                bytes[0] = 0x40 | (bytes[0] & 0x0f);
            }
            let ihl = bytes.first().map_or(0, |b| (b & 0x0f) as usize * 4);
            let ok = bytes.len() >= MIN_HEADER_LEN && bytes[0] >> 4 == 4 && ihl >= MIN_HEADER_LEN && bytes.len() >= ihl;
            match Header::new_checked(&bytes) {
                None => prop_assert!(!ok),
                Some(h) => {
                    prop_assert!(ok);
                    prop_assert_eq!(h.header_len(), ihl);
                    prop_assert_eq!(h.total_len(), u16::from_be_bytes([bytes[2], bytes[3]]) as usize);
                    prop_assert_eq!(h.protocol(), bytes[9]);
                    prop_assert_eq!(&h.src()[..], &bytes[12..16]);
                    prop_assert_eq!(&h.dst()[..], &bytes[16..20]);
                    let _ = h.checksum_ok();
                }
            }
        }
    }
}
