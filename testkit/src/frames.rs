//! DNS queries and the frames around them, byte by byte: deliberately not
//! the responder's `wire` module, so tests that check the responder's
//! headers and checksums check them against an independent implementation.
//!
//! [`QuerySpec`] encodes a query message; [`FrameSpec`] wraps any payload in
//! Ethernet, up to any number of VLAN tags, IPv4 (with options) or IPv6, and
//! UDP, every length and checksum correct.

pub const ETH_HEADER: usize = 14;
pub const IPV4_HEADER: usize = 20;
pub const IPV6_HEADER: usize = 40;
pub const UDP_HEADER: usize = 8;
pub const PROTO_UDP: u8 = 17;

/// RFC 1071 one's-complement sum, folded to 16 bits, byte by byte.
pub fn ones_complement_sum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The checksum to store over `bytes` (whose checksum field is zero).
pub fn checksum(bytes: &[u8]) -> u16 {
    !ones_complement_sum(bytes)
}

/// True when bytes including their checksum field verify.
pub fn checksum_verifies(bytes: &[u8]) -> bool {
    ones_complement_sum(bytes) == 0xffff
}

/// The UDP pseudo-header for `src` and `dst`, both IPv4 (4 bytes) or both
/// IPv6 (16 bytes).
pub fn udp_pseudo_header(src: &[u8], dst: &[u8], udp_len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(40);
    p.extend_from_slice(src);
    p.extend_from_slice(dst);
    if src.len() == 4 {
        p.extend_from_slice(&[0, PROTO_UDP]);
        p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    } else {
        p.extend_from_slice(&(udp_len as u32).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, PROTO_UDP]);
    }
    p
}

/// True when the UDP `datagram` (header and payload) sent from `src` to
/// `dst` carries a checksum that verifies.
pub fn udp_checksum_verifies(src: &[u8], dst: &[u8], datagram: &[u8]) -> bool {
    let mut all = udp_pseudo_header(src, dst, datagram.len());
    all.extend_from_slice(datagram);
    checksum_verifies(&all)
}

/// Wire form of a presentation name (no escapes: test names only).
pub fn wire_name(name: &str) -> Vec<u8> {
    let mut w = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        w.push(label.len() as u8);
        w.extend_from_slice(label.as_bytes());
    }
    w.push(0);
    w
}

#[derive(Debug, Clone)]
pub struct QuerySpec {
    pub id: u16,
    pub rd: bool,
    /// Presentation name; its case is sent as is.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// (UDP payload size, DO bit)
    pub edns: Option<(u16, bool)>,
}

impl QuerySpec {
    /// Id 0xbeef, RD, class IN, no EDNS.
    pub fn new(name: &str, qtype: u16) -> QuerySpec {
        QuerySpec { id: 0xbeef, rd: true, name: name.into(), qtype, qclass: 1, edns: None }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(64);
        m.extend_from_slice(&self.id.to_be_bytes());
        m.extend_from_slice(&[if self.rd { 0x01 } else { 0x00 }, 0x00]);
        m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, self.edns.is_some() as u8]);
        m.extend_from_slice(&wire_name(&self.name));
        m.extend_from_slice(&self.qtype.to_be_bytes());
        m.extend_from_slice(&self.qclass.to_be_bytes());
        if let Some((size, dnssec_ok)) = self.edns {
            m.extend_from_slice(&[0, 0, 41]);
            m.extend_from_slice(&size.to_be_bytes());
            m.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
        }
        m
    }
}

#[derive(Debug, Clone)]
pub enum Network {
    V4 {
        src: [u8; 4],
        dst: [u8; 4],
        /// IP options, a multiple of four bytes.
        options: Vec<u8>,
        /// Send UDP checksum zero ("not computed", legal over IPv4).
        no_udp_checksum: bool,
    },
    V6 {
        src: [u8; 16],
        dst: [u8; 16],
    },
}

#[derive(Debug, Clone)]
pub struct FrameSpec {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    /// (TPID, TCI) of each VLAN tag, outermost first.
    pub vlans: Vec<(u16, u16)>,
    pub network: Network,
    pub src_port: u16,
    pub dst_port: u16,
}

impl FrameSpec {
    /// From port 40000 to 53, between two fixed locally administered MACs.
    pub fn simple(network: Network, vlans: Vec<(u16, u16)>) -> FrameSpec {
        FrameSpec {
            dst_mac: [0x02, 0, 0, 0, 0, 0x53],
            src_mac: [0x02, 0, 0, 0, 0, 0x01],
            vlans,
            network,
            src_port: 40000,
            dst_port: 53,
        }
    }

    /// Offset of the IP header.
    pub fn l3(&self) -> usize {
        ETH_HEADER + 4 * self.vlans.len()
    }

    /// An Ethernet frame carrying `payload` over UDP, every length and
    /// checksum correct (IPv4: id 0x1234, DF, TTL 57).
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::with_capacity(128 + payload.len());
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        for (tpid, tci) in &self.vlans {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        let udp_len = UDP_HEADER + payload.len();
        let mut udp = Vec::with_capacity(udp_len);
        udp.extend_from_slice(&self.src_port.to_be_bytes());
        udp.extend_from_slice(&self.dst_port.to_be_bytes());
        udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(payload);
        match &self.network {
            Network::V4 { src, dst, options, no_udp_checksum } => {
                f.extend_from_slice(&0x0800u16.to_be_bytes());
                let ihl = IPV4_HEADER + options.len();
                let mut ip = vec![0x40 | (ihl / 4) as u8, 0];
                ip.extend_from_slice(&((ihl + udp_len) as u16).to_be_bytes());
                ip.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 57, PROTO_UDP, 0, 0]);
                ip.extend_from_slice(src);
                ip.extend_from_slice(dst);
                ip.extend_from_slice(options);
                let c = checksum(&ip);
                ip[10..12].copy_from_slice(&c.to_be_bytes());
                f.extend_from_slice(&ip);
                if !no_udp_checksum {
                    set_udp_checksum(&mut udp, src, dst);
                }
            }
            Network::V6 { src, dst } => {
                f.extend_from_slice(&0x86ddu16.to_be_bytes());
                f.extend_from_slice(&[0x60, 0x01, 0x23, 0x45]);
                f.extend_from_slice(&(udp_len as u16).to_be_bytes());
                f.extend_from_slice(&[PROTO_UDP, 57]);
                f.extend_from_slice(src);
                f.extend_from_slice(dst);
                set_udp_checksum(&mut udp, src, dst);
            }
        }
        f.extend_from_slice(&udp);
        f
    }
}

fn set_udp_checksum(udp: &mut [u8], src: &[u8], dst: &[u8]) {
    let mut all = udp_pseudo_header(src, dst, udp.len());
    all.extend_from_slice(udp);
    let c = match checksum(&all) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_matches_rfc_1071_example() {
        // RFC 1071 §3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
        assert_eq!(ones_complement_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
        let mut header = [0x45, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 1, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2];
        let c = checksum(&header);
        header[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(checksum_verifies(&header));
        header[15] ^= 1;
        assert!(!checksum_verifies(&header));
    }

    #[test]
    fn frames_carry_their_lengths_tags_and_checksums() {
        let query = QuerySpec { edns: Some((1232, true)), ..QuerySpec::new("www.example.com.", 28) }.encode();
        assert_eq!(query.len(), 12 + 17 + 4 + 11);
        assert_eq!(&query[..12], &[0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);

        let v4 =
            Network::V4 { src: [198, 18, 0, 2], dst: [198, 18, 0, 1], options: vec![1; 4], no_udp_checksum: false };
        let spec = FrameSpec::simple(v4, vec![(0x8100, 7)]);
        let f = spec.build(&query);
        assert_eq!(spec.l3(), 18);
        assert_eq!(&f[12..18], &[0x81, 0x00, 0, 7, 0x08, 0x00]);
        let ip = &f[18..18 + 24];
        assert_eq!(ip[0], 0x46, "IHL counts the options");
        assert!(checksum_verifies(ip));
        let udp = &f[18 + 24..];
        assert_eq!(usize::from(u16::from_be_bytes([udp[4], udp[5]])), udp.len());
        assert!(udp_checksum_verifies(&ip[12..16], &ip[16..20], udp));
        assert_eq!(&udp[8..], &query[..]);

        let v6 = Network::V6 { src: [0xfd; 16], dst: [0xfd; 16] };
        let f = FrameSpec::simple(v6, vec![]).build(&query);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        let udp = &f[ETH_HEADER + IPV6_HEADER..];
        assert_eq!(usize::from(u16::from_be_bytes([f[18], f[19]])), udp.len(), "payload length");
        assert!(udp_checksum_verifies(&f[22..38], &f[38..54], udp));
    }
}
