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
/// `datagram` (header + payload). Never writes zero: over IPv6 zero is
/// invalid, over IPv4 it would mean "no checksum" (RFC 768), so 0xffff stands in.
pub fn write_reply(datagram: &mut [u8], pseudo: u64) {
    let (sport, dport) = (src_port(datagram), dst_port(datagram));
    put_u16(datagram, 0, dport);
    put_u16(datagram, 2, sport);
    put_u16(datagram, 4, datagram.len() as u16);
    put_u16(datagram, 6, 0);
    let c = checksum::finish(checksum::combine(pseudo, checksum::sum(datagram)));
    put_u16(datagram, 6, if c == 0 { 0xffff } else { c });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv4::pseudo_header_sum;

    #[test]
    fn reply_checksum_verifies() {
        let mut d = vec![0x12, 0x34, 0x00, 0x35, 0, 0, 0, 0, 1, 2, 3, 4, 5];
        let pseudo = pseudo_header_sum([198, 18, 0, 1], [198, 18, 0, 2], d.len() as u16);
        write_reply(&mut d, pseudo);
        assert_eq!(src_port(&d), 53);
        assert_eq!(dst_port(&d), 0x1234);
        assert_eq!(length(&d), 13);
        assert!(checksum_ok(&d, pseudo, false));
        d[9] ^= 1;
        assert!(!checksum_ok(&d, pseudo, false));
    }

    #[test]
    fn zero_checksum_only_for_ipv4() {
        let d = [0u8; 8];
        assert!(checksum_ok(&d, 0, true));
        assert!(!checksum_ok(&d, 0, false));
    }
}
