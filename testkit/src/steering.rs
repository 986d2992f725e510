//! Hand-built Ethernet frames for exercising the XDP steering program,
//! including the ones [`crate::frames::FrameSpec`] never builds because a
//! server should not see them from a well-behaved client: other IP
//! protocols, IPv4 fragments and options, an IPv6 hop-by-hop header, a
//! chosen UDP checksum, ARP. Built byte by byte rather than with the
//! responder's `wire` module so that the tests check the program against an
//! independent reading of the RFCs; the checksum is [`crate::frames::checksum`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::frames::checksum as internet_checksum;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;

pub const PROTO_TCP: u8 = 6;
pub use crate::frames::PROTO_UDP;
pub const IPV6_HOP_BY_HOP: u8 = 0;

pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const OTHER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
pub const OTHER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 3);
/// The server interface's MAC in frames built here.
pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// A DNS query for `example.` IN A, id 0x1234: what a worker would answer.
pub const DNS_QUERY: &[u8] = &[
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // header
    7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, // qname
    0x00, 0x01, 0x00, 0x01, // qtype A, qclass IN
];

/// Everything that varies between the frames the tests need.
#[derive(Clone, Debug)]
pub struct Frame {
    pub vlans: Vec<(u16, u16)>, // (TPID, VLAN id), outermost first
    pub dest_mac: [u8; 6],
    pub destination: IpAddr,
    /// The client address of the destination's family unless set.
    pub source: Option<IpAddr>,
    pub source_port: u16,
    /// The correct UDP checksum unless set.
    pub udp_checksum: Option<u16>,
    pub protocol: u8,
    pub dest_port: u16,
    /// IPv4 option bytes (a multiple of 4, at most 40).
    pub ipv4_options: Vec<u8>,
    /// IPv4 flags+fragment offset field, host order.
    pub ipv4_frag: u16,
    /// An IPv6 hop-by-hop header between the fixed header and UDP.
    pub ipv6_hop_by_hop: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn udp4(dest_port: u16) -> Frame {
        Frame {
            vlans: Vec::new(),
            dest_mac: SERVER_MAC,
            destination: IpAddr::V4(SERVER_V4),
            source: None,
            source_port: 40000,
            udp_checksum: None,
            protocol: PROTO_UDP,
            dest_port,
            ipv4_options: Vec::new(),
            ipv4_frag: 0,
            ipv6_hop_by_hop: false,
            payload: DNS_QUERY.to_vec(),
        }
    }

    pub fn udp6(dest_port: u16) -> Frame {
        Frame { destination: IpAddr::V6(SERVER_V6), ..Frame::udp4(dest_port) }
    }

    pub fn to(mut self, destination: IpAddr) -> Frame {
        self.destination = destination;
        self
    }

    pub fn from(mut self, source: IpAddr) -> Frame {
        self.source = Some(source);
        self
    }

    pub fn source_port(mut self, port: u16) -> Frame {
        self.source_port = port;
        self
    }

    pub fn dest_mac(mut self, mac: [u8; 6]) -> Frame {
        self.dest_mac = mac;
        self
    }

    pub fn udp_checksum(mut self, checksum: u16) -> Frame {
        self.udp_checksum = Some(checksum);
        self
    }

    fn source_address(&self) -> IpAddr {
        self.source.unwrap_or(match self.destination {
            IpAddr::V4(_) => IpAddr::V4(CLIENT_V4),
            IpAddr::V6(_) => IpAddr::V6(CLIENT_V6),
        })
    }

    pub fn vlan(mut self, tpid: u16, id: u16) -> Frame {
        self.vlans.push((tpid, id));
        self
    }

    pub fn protocol(mut self, protocol: u8) -> Frame {
        self.protocol = protocol;
        self
    }

    pub fn ipv4_options(mut self, options: &[u8]) -> Frame {
        self.ipv4_options = options.to_vec();
        self
    }

    pub fn ipv4_frag(mut self, field: u16) -> Frame {
        self.ipv4_frag = field;
        self
    }

    pub fn ipv6_hop_by_hop(mut self) -> Frame {
        self.ipv6_hop_by_hop = true;
        self
    }

    pub fn payload(mut self, payload: &[u8]) -> Frame {
        self.payload = payload.to_vec();
        self
    }

    /// Offsets where one header ends and the next begins, ending with the
    /// end of the frame: the interesting places to cut a frame short.
    pub fn header_boundaries(&self) -> Vec<usize> {
        let mut boundaries = vec![14];
        for _ in &self.vlans {
            boundaries.push(boundaries[boundaries.len() - 1] + 4);
        }
        let l3 = boundaries[boundaries.len() - 1];
        let l4 = match self.destination {
            IpAddr::V4(_) => l3 + 20 + self.ipv4_options.len(),
            IpAddr::V6(_) => l3 + 40 + if self.ipv6_hop_by_hop { 8 } else { 0 },
        };
        boundaries.push(l4);
        boundaries.push(l4 + 8);
        boundaries.push(l4 + 8 + self.payload.len());
        boundaries
    }

    pub fn build(&self) -> Vec<u8> {
        let mut frame = Vec::with_capacity(128);
        frame.extend_from_slice(&self.dest_mac);
        frame.extend_from_slice(&CLIENT_MAC);
        for &(tpid, id) in &self.vlans {
            frame.extend_from_slice(&tpid.to_be_bytes());
            frame.extend_from_slice(&id.to_be_bytes());
        }
        let mut l4 = self.transport();
        let mut pseudo = Vec::with_capacity(40);
        match (self.source_address(), self.destination) {
            (IpAddr::V4(source), IpAddr::V4(destination)) => {
                frame.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                self.push_ipv4(&mut frame, source, destination, l4.len());
                pseudo.extend_from_slice(&source.octets());
                pseudo.extend_from_slice(&destination.octets());
            }
            (IpAddr::V6(source), IpAddr::V6(destination)) => {
                frame.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                self.push_ipv6(&mut frame, source, destination, l4.len());
                pseudo.extend_from_slice(&source.octets());
                pseudo.extend_from_slice(&destination.octets());
            }
            (s, d) => panic!("source {s} and destination {d} of different families"),
        }
        let checksum = self.udp_checksum.unwrap_or_else(|| {
            pseudo.extend_from_slice(&[0, self.protocol]);
            pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            pseudo.extend_from_slice(&l4);
            // RFC 768: a computed zero is sent as all ones.
            match internet_checksum(&pseudo) {
                0 => 0xffff,
                sum => sum,
            }
        });
        l4[6..8].copy_from_slice(&checksum.to_be_bytes());
        frame.extend_from_slice(&l4);
        frame
    }

    /// UDP header + payload; with another protocol, the same bytes stand in
    /// for its header, which the program must not read as UDP anyway.
    fn transport(&self) -> Vec<u8> {
        let mut l4 = Vec::with_capacity(8 + self.payload.len());
        let length = (8 + self.payload.len()) as u16;
        l4.extend_from_slice(&self.source_port.to_be_bytes());
        l4.extend_from_slice(&self.dest_port.to_be_bytes());
        l4.extend_from_slice(&length.to_be_bytes());
        l4.extend_from_slice(&[0, 0]); // checksum: filled in by `build`
        l4.extend_from_slice(&self.payload);
        l4
    }

    fn push_ipv4(&self, frame: &mut Vec<u8>, source: Ipv4Addr, destination: Ipv4Addr, l4_len: usize) {
        let header_len = 20 + self.ipv4_options.len();
        let start = frame.len();
        frame.push(0x40 | (header_len / 4) as u8);
        frame.push(0);
        frame.extend_from_slice(&((header_len + l4_len) as u16).to_be_bytes());
        frame.extend_from_slice(&[0xab, 0xcd]); // identification
        frame.extend_from_slice(&self.ipv4_frag.to_be_bytes());
        frame.push(64);
        frame.push(self.protocol);
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&source.octets());
        frame.extend_from_slice(&destination.octets());
        frame.extend_from_slice(&self.ipv4_options);
        let checksum = internet_checksum(&frame[start..]);
        frame[start + 10..start + 12].copy_from_slice(&checksum.to_be_bytes());
    }

    fn push_ipv6(&self, frame: &mut Vec<u8>, source: Ipv6Addr, destination: Ipv6Addr, l4_len: usize) {
        let extension_len = if self.ipv6_hop_by_hop { 8 } else { 0 };
        frame.extend_from_slice(&[0x60, 0, 0, 0]);
        frame.extend_from_slice(&((extension_len + l4_len) as u16).to_be_bytes());
        frame.push(if self.ipv6_hop_by_hop { IPV6_HOP_BY_HOP } else { self.protocol });
        frame.push(64);
        frame.extend_from_slice(&source.octets());
        frame.extend_from_slice(&destination.octets());
        if self.ipv6_hop_by_hop {
            // Next header, length 0 (= 8 bytes), then a PadN option filling the rest.
            frame.extend_from_slice(&[self.protocol, 0, 1, 4, 0, 0, 0, 0]);
        }
    }
}

/// An ARP request (who has 198.18.0.1, tell 198.18.0.2).
pub fn arp_request() -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    frame.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    frame.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    frame.extend_from_slice(&CLIENT_V4.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&SERVER_V4.octets());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksum_verifies() {
        let frame = Frame::udp4(53).ipv4_options(&[1, 1, 1, 0]).build();
        let header = &frame[14..14 + 24];
        assert_eq!(header[0], 0x46);
        assert_eq!(internet_checksum(header), 0, "a correct header sums to zero");
    }

    #[test]
    fn udp_checksums_verify() {
        for (frame, l3) in [(Frame::udp4(53).build(), 14 + 20), (Frame::udp6(53).build(), 14 + 40)] {
            let (src, dst) = if l3 == 34 { (26..30, 30..34) } else { (22..38, 38..54) };
            let mut pseudo = frame[src].to_vec();
            pseudo.extend_from_slice(&frame[dst]);
            pseudo.extend_from_slice(&[0, PROTO_UDP]);
            pseudo.extend_from_slice(&((frame.len() - l3) as u16).to_be_bytes());
            pseudo.extend_from_slice(&frame[l3..]);
            assert_ne!(&frame[l3 + 6..l3 + 8], &[0, 0]);
            assert_eq!(internet_checksum(&pseudo), 0, "a correct datagram sums to zero");
        }
    }

    #[test]
    fn boundaries_follow_the_headers() {
        let frame = Frame::udp6(53).vlan(ETHERTYPE_QINQ, 1).vlan(ETHERTYPE_VLAN, 2).ipv6_hop_by_hop();
        let bytes = frame.build();
        assert_eq!(frame.header_boundaries(), [14, 18, 22, 70, 78, bytes.len()]);
        assert_eq!(&bytes[12..14], &ETHERTYPE_QINQ.to_be_bytes());
        assert_eq!(&bytes[20..22], &ETHERTYPE_IPV6.to_be_bytes());
        assert_eq!(bytes[22 + 6], IPV6_HOP_BY_HOP);
        assert_eq!(&bytes[72..74], &53u16.to_be_bytes(), "UDP destination port after the extension header");
    }
}
