//! Sampled exchanges as a classic pcap file (the libpcap format tcpdump,
//! Wireshark and ENTRADA-style pipelines read), for those without dnstap
//! tooling. Link type RAW (IP packets): XDP frames and kernel-socket
//! messages look alike, each packet an IPv4 or IPv6 header and UDP, or TCP
//! carrying the message with its length prefix. Headers are built from the
//! exchange rather than copied, so both paths write the same packets.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use super::exchange::Exchange;
use crate::wire::checksum;

/// pcap with nanosecond timestamps.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const LINKTYPE_RAW: u32 = 101;
const SNAPLEN: u32 = 65_535 + 60 + 40;

pub struct PcapWriter<W: Write> {
    out: W,
    packet: Vec<u8>,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub fn new(mut out: W) -> io::Result<PcapWriter<W>> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, packet: Vec::with_capacity(SNAPLEN as usize) })
    }

    /// The query packet, then the response packet if one was sent.
    pub fn write(&mut self, e: &Exchange) -> io::Result<()> {
        self.packet(e.query_ns, e.client, e.server, e.tcp, e.query)?;
        if let Some(response) = e.response {
            self.packet(e.response_ns, e.server, e.client, e.tcp, response)?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn packet(&mut self, ns: u64, from: SocketAddr, to: SocketAddr, tcp: bool, dns: &[u8]) -> io::Result<()> {
        build_packet(&mut self.packet, from, to, tcp, dns);
        let len = self.packet.len() as u32;
        let mut record = [0u8; 16];
        record[0..4].copy_from_slice(&((ns / 1_000_000_000) as u32).to_le_bytes());
        record[4..8].copy_from_slice(&((ns % 1_000_000_000) as u32).to_le_bytes());
        record[8..12].copy_from_slice(&len.to_le_bytes());
        record[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(&self.packet)
    }
}

/// An IP packet from `from` to `to` carrying `dns` over UDP, or over TCP as
/// one segment (PSH+ACK) with the two-byte length prefix. A mixed-family
/// pair cannot happen (a socket's peer has its family) and is written as
/// the client's family with the server unspecified.
pub fn build_packet(out: &mut Vec<u8>, from: SocketAddr, to: SocketAddr, tcp: bool, dns: &[u8]) {
    out.clear();
    let mut transport = Vec::with_capacity(20 + 2 + dns.len());
    transport.extend_from_slice(&from.port().to_be_bytes());
    transport.extend_from_slice(&to.port().to_be_bytes());
    let protocol = if tcp {
        transport.extend_from_slice(&1u32.to_be_bytes()); // sequence
        transport.extend_from_slice(&1u32.to_be_bytes()); // acknowledgement
        transport.extend_from_slice(&[0x50, 0x18]); // 5 words, PSH|ACK
        transport.extend_from_slice(&u16::MAX.to_be_bytes()); // window
        transport.extend_from_slice(&[0, 0, 0, 0]); // checksum (below), urgent
        transport.extend_from_slice(&(dns.len() as u16).to_be_bytes());
        6
    } else {
        let udp_len = (8 + dns.len()) as u16;
        transport.extend_from_slice(&udp_len.to_be_bytes());
        transport.extend_from_slice(&[0, 0]);
        17
    };
    transport.extend_from_slice(dns);
    let checksum_at = if tcp { 16 } else { 6 };
    let (src, dst) = (octets(from.ip()), octets(to.ip()));
    let dst = if dst.len() == src.len() { dst } else { vec![0; src.len()] };
    let pseudo = checksum::combine(
        checksum::combine(checksum::sum(&src), checksum::sum(&dst)),
        checksum::add_u16(checksum::add_u16(0, u16::from(protocol)), transport.len() as u16),
    );
    let mut sum = checksum::finish(checksum::combine(pseudo, checksum::sum(&transport)));
    if sum == 0 && !tcp {
        sum = 0xffff; // 0 means "no checksum" in UDP
    }
    transport[checksum_at..checksum_at + 2].copy_from_slice(&sum.to_be_bytes());

    if src.len() == 4 {
        let total = (20 + transport.len()) as u16;
        let mut ip = [0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, protocol, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let sum = checksum::finish(checksum::sum(&ip));
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        out.extend_from_slice(&ip);
    } else {
        out.extend_from_slice(&[0x60, 0, 0, 0]);
        out.extend_from_slice(&(transport.len() as u16).to_be_bytes());
        out.extend_from_slice(&[protocol, 64]);
        out.extend_from_slice(&src);
        out.extend_from_slice(&dst);
    }
    out.extend_from_slice(&transport);
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(client: &str, server: &str, tcp: bool) -> Exchange<'static> {
        Exchange {
            wants: 2,
            tcp,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            query_ns: 1_000_000_000 * 1_700_000_000 + 42,
            response_ns: 1_000_000_000 * 1_700_000_000 + 99,
            query: b"query bytes",
            response: Some(b"the response"),
            tier0: false,
        }
    }

    #[test]
    fn file_header_and_records_follow_libpcap() {
        let mut file = Vec::new();
        let mut w = PcapWriter::new(&mut file).unwrap();
        w.write(&exchange("198.18.0.2:40000", "198.18.0.1:53", false)).unwrap();
        assert_eq!(&file[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(file[20..24].try_into().unwrap()), LINKTYPE_RAW);
        let first = &file[24..];
        assert_eq!(u32::from_le_bytes(first[0..4].try_into().unwrap()), 1_700_000_000);
        assert_eq!(u32::from_le_bytes(first[4..8].try_into().unwrap()), 42);
        let len = u32::from_le_bytes(first[8..12].try_into().unwrap()) as usize;
        assert_eq!(len, 20 + 8 + 11);
        let packet = &first[16..16 + len];
        assert_eq!(&packet[12..16], &[198, 18, 0, 2]);
        assert_eq!(&packet[20..22], &40000u16.to_be_bytes());
        assert_eq!(&packet[28..], b"query bytes");
        let second = &first[16 + len..];
        let packet = &second[16..];
        assert_eq!(&packet[12..16], &[198, 18, 0, 1], "the response comes from the server");
        assert_eq!(&packet[28..], b"the response");
    }

    #[test]
    fn checksums_verify_for_udp_and_tcp_over_both_families() {
        for (client, server) in [("198.18.0.2:1", "198.18.0.1:53"), ("[fd00::2]:1", "[fd00::1]:53")] {
            for tcp in [false, true] {
                let e = exchange(client, server, tcp);
                let mut p = Vec::new();
                build_packet(&mut p, e.client, e.server, tcp, e.query);
                let (ip_len, addr_len) = if e.client.is_ipv4() { (20, 4) } else { (40, 16) };
                if ip_len == 20 {
                    assert_eq!(checksum::finish(checksum::sum(&p[..20])), 0, "IPv4 header sums to zero");
                }
                let addrs = if ip_len == 20 { &p[12..20] } else { &p[8..40] };
                assert_eq!(addrs.len(), 2 * addr_len);
                let transport = &p[ip_len..];
                let pseudo = checksum::combine(
                    checksum::sum(addrs),
                    checksum::add_u16(checksum::add_u16(0, if tcp { 6 } else { 17 }), transport.len() as u16),
                );
                assert_eq!(
                    checksum::finish(checksum::combine(pseudo, checksum::sum(transport))),
                    0,
                    "{client} tcp={tcp}"
                );
                let dns_at = ip_len + if tcp { 22 } else { 8 };
                assert_eq!(&p[dns_at..], b"query bytes");
                if tcp {
                    assert_eq!(&p[dns_at - 2..dns_at], &11u16.to_be_bytes());
                }
            }
        }
    }
}
