//! IPv4 header view (RFC 791).

use super::{checksum, get_u16, put_u16};

pub const MIN_HEADER_LEN: usize = 20;
pub const PROTO_UDP: u8 = 17;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A checked IPv4 header: the fixed 20 bytes as an array (so no accessor
/// needs a bounds check) and the options behind them (`ihl * 4 - 20` bytes).
pub struct Ipv4<'a> {
    b: &'a mut [u8; MIN_HEADER_LEN],
    options: &'a [u8],
}

impl<'a> Ipv4<'a> {
    /// Checks version, header length and that the header fits in `b`.
    #[inline]
    pub fn new(b: &'a mut [u8]) -> Option<Ipv4<'a>> {
        let (fixed, rest) = b.split_first_chunk_mut::<MIN_HEADER_LEN>()?;
        let first = fixed[0];
        let ihl = (first & 0x0f) as usize * 4;
        if first >> 4 != 4 || ihl < MIN_HEADER_LEN {
            return None;
        }
        let options = rest.get(..ihl - MIN_HEADER_LEN)?;
        Some(Ipv4 { b: fixed, options })
    }

    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN + self.options.len()
    }
    pub fn total_len(&self) -> usize {
        get_u16(self.b, 2) as usize
    }
    pub fn is_fragment(&self) -> bool {
        let f = get_u16(self.b, 6);
        f & FLAG_MF != 0 || f & OFFSET_MASK != 0
    }
    pub fn protocol(&self) -> u8 {
        self.b[9]
    }
    pub fn src(&self) -> [u8; 4] {
        [self.b[12], self.b[13], self.b[14], self.b[15]]
    }
    pub fn dst(&self) -> [u8; 4] {
        [self.b[16], self.b[17], self.b[18], self.b[19]]
    }
    /// True when the header checksum verifies.
    #[inline]
    pub fn checksum_ok(&self) -> bool {
        let options = if self.options.is_empty() { 0 } else { checksum::sum(self.options) };
        checksum::finish(checksum::combine(header_sum(self.b), options)) == 0
    }
}

/// Turns the fixed 20 bytes of a checked query header into the answer's: a
/// fresh header (options are not echoed) with addresses swapped, TTL reset
/// and DF set (answers larger than the path MTU are truncated, never
/// fragmented).
#[inline(always)]
pub fn write_reply_header(h: &mut [u8; MIN_HEADER_LEN], total_len: usize, ttl: u8) {
    let (src, dst) = ([h[12], h[13], h[14], h[15]], [h[16], h[17], h[18], h[19]]);
    h[0] = 0x45;
    h[1] = 0;
    put_u16(h, 2, total_len as u16);
    put_u16(h, 6, FLAG_DF);
    h[8] = ttl;
    h[12..16].copy_from_slice(&dst);
    h[16..20].copy_from_slice(&src);
    put_u16(h, 10, 0);
    let csum = checksum::finish(header_sum(h));
    put_u16(h, 10, csum);
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

    #[test]
    fn rejects_bad_headers() {
        assert!(Ipv4::new(&mut []).is_none());
        assert!(Ipv4::new(&mut [0x46; 20]).is_none(), "ihl 6 needs 24 bytes");
        assert!(Ipv4::new(&mut [0x65; 20]).is_none(), "version 6");
        assert!(Ipv4::new(&mut [0x44; 20]).is_none(), "ihl below 5");
        assert!(Ipv4::new(&mut [0x45; 20]).is_some());
    }

    #[test]
    fn reply_header_verifies_and_swaps() {
        let mut b = [0u8; 24];
        b[0] = 0x46;
        b[6] = 0x20; // MF
        b[9] = PROTO_UDP;
        b[12..16].copy_from_slice(&[198, 18, 0, 2]);
        b[16..20].copy_from_slice(&[198, 18, 0, 1]);
        assert!(Ipv4::new(&mut b).unwrap().is_fragment());
        write_reply_header((&mut b[..MIN_HEADER_LEN]).try_into().unwrap(), 100, 64);
        let ip = Ipv4::new(&mut b).unwrap();
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
}
