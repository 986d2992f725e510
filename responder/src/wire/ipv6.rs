//! IPv6 fixed header view (RFC 8200). Extension headers are not followed:
//! the XDP program passes such packets to the kernel.

use super::{checksum, get_u16, put_u16};

pub const HEADER_LEN: usize = 40;

pub struct Ipv6<'a> {
    b: &'a mut [u8],
}

impl<'a> Ipv6<'a> {
    #[inline]
    pub fn new(b: &'a mut [u8]) -> Option<Ipv6<'a>> {
        if b.len() < HEADER_LEN || b[0] >> 4 != 6 {
            return None;
        }
        Some(Ipv6 { b })
    }
    pub fn payload_len(&self) -> usize {
        get_u16(self.b, 4) as usize
    }
    pub fn next_header(&self) -> u8 {
        self.b[6]
    }
    pub fn src(&self) -> &[u8] {
        &self.b[8..24]
    }
    pub fn dst(&self) -> &[u8] {
        &self.b[24..40]
    }

    /// Turns the query header into the answer's: addresses swapped, hop limit
    /// reset; traffic class and flow label are kept so the answer follows the
    /// query's path through ECMP and QoS.
    pub fn write_reply(&mut self, payload_len: usize, hop_limit: u8) {
        put_u16(self.b, 4, payload_len as u16);
        self.b[7] = hop_limit;
        let (src, dst) = self.b[8..40].split_at_mut(16);
        src.swap_with_slice(dst);
    }

    /// Sum of the UDP pseudo-header (RFC 8200 §8.1).
    pub fn pseudo_header_sum(&self, udp_len: u16) -> u64 {
        let mut acc = checksum::sum(&self.b[8..40]);
        acc = checksum::add_u16(acc, udp_len);
        checksum::add_u16(acc, super::ipv4::PROTO_UDP as u16)
    }
}

/// Multicast (ff00::/8) and ::/96 (the unspecified address, loopback ::1,
/// always spoofed on a wire, and the deprecated v4-compatible form) are
/// never answered, nor v4-mapped addresses (::ffff:0:0/96), which never
/// appear on a wire (RFC 4291 2.5.5.2) and could name a v4 martian.
#[inline]
pub fn is_unanswerable(addr: &[u8]) -> bool {
    let Some(a) = addr.first_chunk::<16>() else { return true };
    let word = |i: usize| u32::from_ne_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
    a[0] == 0xff || (word(0) | word(4) == 0 && (word(8) == 0 || word(8) == u32::from_ne_bytes([0, 0, 0xff, 0xff])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_swaps_addresses() {
        let mut b = [0u8; 40];
        b[0] = 0x60;
        b[8..24].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        b[24..40].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let mut ip = Ipv6::new(&mut b).unwrap();
        ip.write_reply(77, 64);
        assert_eq!(ip.payload_len(), 77);
        assert_eq!(ip.src()[15], 1);
        assert_eq!(ip.dst()[15], 2);
        assert!(Ipv6::new(&mut [0x40; 40]).is_none());
        assert!(Ipv6::new(&mut [0x60; 39]).is_none());
        assert!(is_unanswerable(&[0xff, 2, 0, 0]) && is_unanswerable(&[0; 16]) && !is_unanswerable(&b[8..24]));
        let mut loopback = [0u8; 16];
        loopback[15] = 1;
        assert!(is_unanswerable(&loopback) && is_unanswerable(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]));
        let mapped = |v4: [u8; 4]| [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]];
        assert!(is_unanswerable(&mapped([127, 0, 0, 1])) && is_unanswerable(&mapped([198, 18, 0, 2])));
        assert!(!is_unanswerable(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2]));
        assert!(!is_unanswerable(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]));
    }
}
