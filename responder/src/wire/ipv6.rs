//! IPv6 fixed header view (RFC 8200). Extension headers are not followed:
//! the XDP program passes such packets to the kernel.

use core::ops::{Deref, DerefMut};

use super::{be16, checksum, set_be16};

pub const HEADER_LEN: usize = 40;

mod field {
    use crate::wire::Field;
    /// Version (4 bits), traffic class, flow label.
    pub const VERSION: usize = 0;
    pub const PAYLOAD_LEN: Field = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Field = 8..24;
    pub const DST: Field = 24..40;
    /// Source and destination together: what the reply swaps and the
    /// pseudo-header sums.
    pub const ADDRESSES: Field = SRC.start..DST.end;
}

/// The fixed IPv6 header as an array. `Header<&[u8; 40]>` reads;
/// `Header<&mut [u8; 40]>` also writes the reply.
pub struct Header<T>(T);

impl<'a> Header<&'a [u8; HEADER_LEN]> {
    /// The header at the start of `packet`; `None` when it is shorter or
    /// not version 6.
    #[inline]
    pub fn new_checked(packet: &'a [u8]) -> Option<Self> {
        packet.first_chunk().filter(|h| h[field::VERSION] >> 4 == 6).map(Header)
    }
}

impl<'a> Header<&'a mut [u8; HEADER_LEN]> {
    /// The header and the payload behind it; `None` when `packet` is
    /// shorter than a header or not version 6.
    #[inline]
    pub fn split_mut(packet: &'a mut [u8]) -> Option<(Self, &'a mut [u8])> {
        let (header, payload) = packet.split_first_chunk_mut::<HEADER_LEN>()?;
        (header[field::VERSION] >> 4 == 6).then_some((Header(header), payload))
    }
}

impl<T: Deref<Target = [u8; HEADER_LEN]>> Header<T> {
    #[inline]
    pub fn payload_len(&self) -> usize {
        be16(&self.0, field::PAYLOAD_LEN) as usize
    }
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.0[field::NEXT_HEADER]
    }
    #[inline]
    pub fn src(&self) -> [u8; 16] {
        address(&self.0, field::SRC)
    }
    #[inline]
    pub fn dst(&self) -> [u8; 16] {
        address(&self.0, field::DST)
    }

    /// Sum of the UDP pseudo-header (RFC 8200 §8.1).
    #[inline]
    pub fn pseudo_header_sum(&self, udp_len: u16) -> u64 {
        let mut acc = checksum::sum(&self.0[field::ADDRESSES]);
        acc = checksum::add_u16(acc, udp_len);
        checksum::add_u16(acc, super::ipv4::PROTO_UDP as u16)
    }
}

impl<T: DerefMut<Target = [u8; HEADER_LEN]>> Header<T> {
    /// Turns the query header into the answer's: addresses swapped, hop limit
    /// reset; traffic class and flow label are kept so the answer follows the
    /// query's path through ECMP and QoS.
    #[inline]
    pub fn write_reply(&mut self, payload_len: usize, hop_limit: u8) {
        let (src, dst) = (self.src(), self.dst());
        let h = &mut *self.0;
        set_be16(h, field::PAYLOAD_LEN, payload_len as u16);
        h[field::HOP_LIMIT] = hop_limit;
        h[field::SRC].copy_from_slice(&dst);
        h[field::DST].copy_from_slice(&src);
    }
}

/// The 16 bytes of `field` (a constant range of 16: the fallback is never
/// taken, and compiles away).
#[inline(always)]
fn address(h: &[u8; HEADER_LEN], field: super::Field) -> [u8; 16] {
    h[field].try_into().unwrap_or([0; 16])
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
    use proptest::prelude::*;

    #[test]
    fn reply_swaps_addresses() {
        let mut b = [0u8; 40];
        b[0] = 0x60;
        b[8..24].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        b[24..40].copy_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let (mut ip, _) = Header::split_mut(&mut b).unwrap();
        ip.write_reply(77, 64);
        assert_eq!(ip.payload_len(), 77);
        assert_eq!(ip.src()[15], 1);
        assert_eq!(ip.dst()[15], 2);
        assert_eq!(b[7], 64, "hop limit");
        assert!(Header::split_mut(&mut [0x40; 40]).is_none());
        assert!(Header::split_mut(&mut [0x60; 39]).is_none());
        assert!(is_unanswerable(&[0xff, 2, 0, 0]) && is_unanswerable(&[0; 16]) && !is_unanswerable(&b[8..24]));
        let mut loopback = [0u8; 16];
        loopback[15] = 1;
        assert!(is_unanswerable(&loopback) && is_unanswerable(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]));
        let mapped = |v4: [u8; 4]| [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]];
        assert!(is_unanswerable(&mapped([127, 0, 0, 1])) && is_unanswerable(&mapped([198, 18, 0, 2])));
        assert!(!is_unanswerable(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2]));
        assert!(!is_unanswerable(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]));
    }

    proptest! {
        /// Any bytes: a header when there are forty and the version is 6,
        /// `None` otherwise; every accessor reads its own field.
        #[test]
        fn any_bytes_give_a_header_or_none(bytes in proptest::collection::vec(any::<u8>(), 0..60), v6 in any::<bool>()) {
            let mut bytes = bytes;
            if v6 && !bytes.is_empty() {
                bytes[0] = 0x60 | (bytes[0] & 0x0f);
            }
            let ok = bytes.len() >= HEADER_LEN && bytes[0] >> 4 == 6;
            match Header::new_checked(&bytes) {
                None => prop_assert!(!ok),
                Some(h) => {
                    prop_assert!(ok);
                    prop_assert_eq!(h.payload_len(), u16::from_be_bytes([bytes[4], bytes[5]]) as usize);
                    prop_assert_eq!(h.next_header(), bytes[6]);
                    prop_assert_eq!(&h.src()[..], &bytes[8..24]);
                    prop_assert_eq!(&h.dst()[..], &bytes[24..40]);
                }
            }
            let mut copy = bytes.clone();
            prop_assert_eq!(Header::split_mut(&mut copy).map(|(_, p)| p.len()), ok.then(|| bytes.len() - HEADER_LEN));
        }
    }
}
