//! UDP header (RFC 768).

use core::ops::{Deref, DerefMut};

use super::{be16, checksum, set_be16};

pub const HEADER_LEN: usize = 8;

mod field {
    use crate::wire::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// A UDP header: the first [`HEADER_LEN`] bytes of a datagram, as an array.
/// `Header<&[u8; 8]>` reads; `Header<&mut [u8; 8]>` also writes the reply.
pub struct Header<T>(T);

impl<'a> Header<&'a [u8; HEADER_LEN]> {
    /// The header at the start of `datagram`; `None` when it is shorter.
    #[inline]
    pub fn new_checked(datagram: &'a [u8]) -> Option<Self> {
        datagram.first_chunk().map(Header)
    }
}

impl<'a> Header<&'a mut [u8; HEADER_LEN]> {
    /// The header and the payload behind it; `None` when `datagram` is
    /// shorter than a header.
    #[inline]
    pub fn split_mut(datagram: &'a mut [u8]) -> Option<(Self, &'a mut [u8])> {
        let (header, payload) = datagram.split_first_chunk_mut()?;
        Some((Header(header), payload))
    }
}

impl<T: Deref<Target = [u8; HEADER_LEN]>> Header<T> {
    #[inline]
    pub fn new(bytes: T) -> Self {
        Header(bytes)
    }
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(&self.0, field::SRC_PORT)
    }
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(&self.0, field::DST_PORT)
    }
    /// The datagram's length, header included, as the sender wrote it.
    #[inline]
    pub fn length(&self) -> usize {
        be16(&self.0, field::LENGTH) as usize
    }
    /// The checksum field; zero means "not computed" (IPv4 only).
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.0, field::CHECKSUM)
    }
    /// Whether this header (with its checksum), `payload` and the
    /// pseudo-header sum `pseudo` add up to zero: the datagram is as its
    /// sender computed it. What a zero checksum means is the caller's call.
    #[inline]
    pub fn sum_ok(&self, pseudo: u64, payload: &[u8]) -> bool {
        // The header is 8 bytes, so the payload's sum needs no realignment.
        let header = checksum::combine(pseudo, checksum::sum(&self.0[..]));
        checksum::finish(checksum::combine(header, checksum::sum(payload))) == 0
    }
}

impl<T: DerefMut<Target = [u8; HEADER_LEN]>> Header<T> {
    /// Turns the query's header into the answer's: ports swapped, length
    /// `len` (header included) and the checksum filled in. `payload_sum` is
    /// the checksum sum of the payload, which the answer engine keeps as it
    /// writes, so only the header is read here. Never writes zero: over IPv6
    /// zero is invalid, over IPv4 it would mean "no checksum" (RFC 768), so
    /// 0xffff stands in.
    #[inline(always)]
    pub fn write_reply(&mut self, len: u16, pseudo: u64, payload_sum: u64) {
        let h = &mut *self.0;
        let (sport, dport) = (be16(h, field::SRC_PORT), be16(h, field::DST_PORT));
        set_be16(h, field::SRC_PORT, dport);
        set_be16(h, field::DST_PORT, sport);
        set_be16(h, field::LENGTH, len);
        set_be16(h, field::CHECKSUM, 0);
        let header_sum = u64::from_ne_bytes(*h);
        let c = checksum::finish(checksum::combine(checksum::combine(pseudo, header_sum), payload_sum));
        set_be16(h, field::CHECKSUM, if c == 0 { 0xffff } else { c });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::pseudo_header_sum;
    use proptest::prelude::*;

    fn reply(d: &mut [u8], pseudo: u64, payload_sum: u64) {
        let len = d.len() as u16;
        Header::split_mut(d).unwrap().0.write_reply(len, pseudo, payload_sum);
    }

    fn verifies(d: &[u8], pseudo: u64) -> bool {
        Header::new_checked(d).unwrap().sum_ok(pseudo, &d[HEADER_LEN..])
    }

    #[test]
    fn reply_checksum_verifies() {
        let mut d = vec![0x12, 0x34, 0x00, 0x35, 0, 0, 0, 0, 1, 2, 3, 4, 5];
        let pseudo = pseudo_header_sum([198, 18, 0, 1], [198, 18, 0, 2], d.len() as u16);
        let payload = checksum::sum(&d[HEADER_LEN..]);
        reply(&mut d, pseudo, payload);
        let h = Header::new_checked(&d).unwrap();
        assert_eq!((h.src_port(), h.dst_port(), h.length()), (53, 0x1234, 13));
        assert!(verifies(&d, pseudo));
        d[9] ^= 1;
        assert!(!verifies(&d, pseudo));
    }

    #[test]
    fn the_payload_sum_is_trusted() {
        let mut d = vec![0x12, 0x34, 0x00, 0x35, 0, 0, 0, 0, 1, 2, 3, 4, 5];
        let pseudo = pseudo_header_sum([198, 18, 0, 1], [198, 18, 0, 2], d.len() as u16);
        let wrong = checksum::sum(&d[HEADER_LEN + 1..]);
        reply(&mut d, pseudo, wrong);
        assert!(!verifies(&d, pseudo), "a wrong payload sum gives a wrong checksum");
        assert!(Header::split_mut(&mut [0u8; 7]).is_none());
    }

    proptest! {
        /// Any bytes: a header when there are eight, `None` otherwise, and
        /// every accessor reads its field, never past it.
        #[test]
        fn any_bytes_give_a_header_or_none(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            match Header::new_checked(&bytes) {
                None => prop_assert!(bytes.len() < HEADER_LEN),
                Some(h) => {
                    let be = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
                    prop_assert_eq!(h.src_port(), be(0));
                    prop_assert_eq!(h.dst_port(), be(2));
                    prop_assert_eq!(h.length(), be(4) as usize);
                    prop_assert_eq!(h.checksum(), be(6));
                }
            }
            let mut copy = bytes.clone();
            prop_assert_eq!(Header::split_mut(&mut copy).is_some(), bytes.len() >= HEADER_LEN);
        }
    }
}
