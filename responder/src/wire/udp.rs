//! UDP header (RFC 768).

use super::{checksum, get_u16, put_u16};

pub const HEADER_LEN: usize = 8;

pub fn src_port(b: &[u8]) -> u16 {
    get_u16(b, 0)
}
pub fn dst_port(b: &[u8]) -> u16 {
    get_u16(b, 2)
}
pub fn length(b: &[u8]) -> usize {
    get_u16(b, 4) as usize
}
pub fn checksum_field(b: &[u8]) -> u16 {
    get_u16(b, 6)
}

/// Verifies a datagram (header + payload) against its pseudo-header sum.
/// A zero checksum means "not computed", allowed for IPv4 only.
pub fn checksum_ok(datagram: &[u8], pseudo: u64, zero_allowed: bool) -> bool {
    if checksum_field(datagram) == 0 {
        return zero_allowed;
    }
    checksum::finish(checksum::combine(pseudo, checksum::sum(datagram))) == 0
}

/// Swaps the ports, sets the length and fills in the checksum over
/// `datagram` (header + payload). `payload_sum` is the checksum sum of
/// `datagram[HEADER_LEN..]`, which the answer engine keeps as it writes, so
/// only the header is read here. Never writes zero: over IPv6 zero is
/// invalid, over IPv4 it would mean "no checksum" (RFC 768), so 0xffff
/// stands in.
#[inline]
pub fn write_reply(datagram: &mut [u8], pseudo: u64, payload_sum: u64) {
    let len = datagram.len() as u16;
    if let Some(header) = datagram.first_chunk_mut::<HEADER_LEN>() {
        write_reply_header(header, len, pseudo, payload_sum);
    }
}

/// [`write_reply`] given the header alone and the datagram's length.
#[inline(always)]
pub fn write_reply_header(header: &mut [u8; HEADER_LEN], len: u16, pseudo: u64, payload_sum: u64) {
    let (sport, dport) = (get_u16(header, 0), get_u16(header, 2));
    put_u16(header, 0, dport);
    put_u16(header, 2, sport);
    put_u16(header, 4, len);
    put_u16(header, 6, 0);
    let header_sum = u64::from_ne_bytes(*header);
    let c = checksum::finish(checksum::combine(checksum::combine(pseudo, header_sum), payload_sum));
    put_u16(header, 6, if c == 0 { 0xffff } else { c });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::pseudo_header_sum;

    #[test]
    fn reply_checksum_verifies() {
        let mut d = vec![0x12, 0x34, 0x00, 0x35, 0, 0, 0, 0, 1, 2, 3, 4, 5];
        let pseudo = pseudo_header_sum([198, 18, 0, 1], [198, 18, 0, 2], d.len() as u16);
        let payload = checksum::sum(&d[HEADER_LEN..]);
        write_reply(&mut d, pseudo, payload);
        assert_eq!(src_port(&d), 53);
        assert_eq!(dst_port(&d), 0x1234);
        assert_eq!(length(&d), 13);
        assert!(checksum_ok(&d, pseudo, false));
        d[9] ^= 1;
        assert!(!checksum_ok(&d, pseudo, false));
    }

    #[test]
    fn the_payload_sum_is_trusted() {
        let mut d = vec![0x12, 0x34, 0x00, 0x35, 0, 0, 0, 0, 1, 2, 3, 4, 5];
        let pseudo = pseudo_header_sum([198, 18, 0, 1], [198, 18, 0, 2], d.len() as u16);
        let wrong = checksum::sum(&d[HEADER_LEN + 1..]);
        write_reply(&mut d, pseudo, wrong);
        assert!(!checksum_ok(&d, pseudo, false), "a wrong payload sum gives a wrong checksum");
        write_reply(&mut [0u8; 7], pseudo, 0);
    }

    #[test]
    fn zero_checksum_only_for_ipv4() {
        let d = [0u8; 8];
        assert!(checksum_ok(&d, 0, true));
        assert!(!checksum_ok(&d, 0, false));
    }
}
