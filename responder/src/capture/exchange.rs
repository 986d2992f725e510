//! A record from a ring read back as one query/response exchange: who asked
//! whom, over what, when, and the two DNS messages. XDP records carry whole
//! frames, whose addresses and ports are read here, on the capture thread,
//! so the worker only copies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::ring::{Header, Source, HEADER_LEN};
use crate::wire::{ethernet, ipv4, ipv6, udp};

const IPPROTO_UDP: u8 = 17;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange<'a> {
    pub wants: u8,
    pub tcp: bool,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub query_ns: u64,
    pub response_ns: u64,
    /// The DNS messages, without transport headers or TCP length prefix.
    pub query: &'a [u8],
    pub response: Option<&'a [u8]>,
    /// Answered by the XDP program itself (tier 0), not a worker.
    pub tier0: bool,
}

/// `None` for a record that does not hold what its header says (a frame
/// that is not UDP over IP): skipped rather than written half-true.
pub fn decode(record: &[u8]) -> Option<Exchange<'_>> {
    let header = Header::read(record.first_chunk::<HEADER_LEN>()?);
    let body = record.get(HEADER_LEN..)?;
    let (query, response) = body.split_at_checked(usize::from(header.query_len))?;
    let response = response.get(..usize::from(header.response_len))?;
    let mut exchange = Exchange {
        wants: header.wants,
        tcp: header.tcp,
        client: header.client,
        server: header.server,
        query_ns: header.query_ns,
        response_ns: header.response_ns,
        query,
        response: (!response.is_empty()).then_some(response),
        tier0: header.source == Source::Tier0,
    };
    if header.source == Source::Frames {
        let (client, server, query) = udp_in_frame(query)?;
        exchange.client = client;
        exchange.server = server;
        exchange.query = query;
        exchange.response = match exchange.response {
            Some(frame) => Some(udp_in_frame(frame)?.2),
            None => None,
        };
    }
    Some(exchange)
}

/// A frame's source, destination and UDP payload.
fn udp_in_frame(frame: &[u8]) -> Option<(SocketAddr, SocketAddr, &[u8])> {
    let l3 = ethernet::layer3(frame)?;
    let packet = frame.get(l3.offset..)?;
    let (src, dst, datagram): (IpAddr, IpAddr, &[u8]) = match l3.ethertype {
        0x0800 => {
            let h = ipv4::Header::new_checked(packet)?;
            if h.protocol() != IPPROTO_UDP || h.is_fragment() {
                return None;
            }
            let datagram = packet.get(h.header_len()..h.total_len().min(packet.len()))?;
            (Ipv4Addr::from(h.src()).into(), Ipv4Addr::from(h.dst()).into(), datagram)
        }
        0x86dd => {
            let h = ipv6::Header::new_checked(packet)?;
            if h.next_header() != IPPROTO_UDP {
                return None;
            }
            let end = (ipv6::HEADER_LEN + h.payload_len()).min(packet.len());
            let datagram = packet.get(ipv6::HEADER_LEN..end)?;
            (Ipv6Addr::from(h.src()).into(), Ipv6Addr::from(h.dst()).into(), datagram)
        }
        _ => return None,
    };
    let u = udp::Header::new_checked(datagram)?;
    let payload = datagram.get(udp::HEADER_LEN..u.length().min(datagram.len()))?;
    Some((SocketAddr::new(src, u.src_port()), SocketAddr::new(dst, u.dst_port()), payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::ring::{WANT_DNSTAP, WANT_PCAP};
    use testkit::frames::{FrameSpec, Network};

    fn record(header: Header, query: &[u8], response: &[u8]) -> Vec<u8> {
        let header = Header { query_len: query.len() as u16, response_len: response.len() as u16, ..header };
        let mut h = [0u8; HEADER_LEN];
        header.write(&mut h);
        [&h[..], query, response].concat()
    }

    #[test]
    fn frames_give_their_addresses_ports_and_payloads() {
        for network in [
            Network::V4 { src: [198, 18, 0, 2], dst: [198, 18, 0, 1], options: vec![], no_udp_checksum: true },
            Network::V6 {
                src: "fd00::2".parse::<Ipv6Addr>().unwrap().octets(),
                dst: "fd00::1".parse::<Ipv6Addr>().unwrap().octets(),
            },
        ] {
            let spec = FrameSpec::simple(network, vec![]);
            let query = spec.build(b"the query");
            let response = spec.build(b"the response");
            let r = record(Header { query_ns: 5, response_ns: 7, ..Header::frames(WANT_PCAP) }, &query, &response);
            let e = decode(&r).expect("decodes");
            assert_eq!((e.query, e.response), (&b"the query"[..], Some(&b"the response"[..])));
            assert_eq!((e.query_ns, e.response_ns, e.wants, e.tcp), (5, 7, WANT_PCAP, false));
            assert!(e.client.ip().to_string().ends_with('2'), "{e:?}");
            assert!(e.server.ip().to_string().ends_with('1'), "{e:?}");
            assert_eq!(e.server.port(), 53);
        }
    }

    #[test]
    fn messages_keep_the_header_addresses_and_a_missing_response() {
        let header = Header {
            source: Source::Messages,
            tcp: true,
            client: "[fd00::2]:999".parse().unwrap(),
            server: "[fd00::1]:53".parse().unwrap(),
            ..Header::frames(WANT_DNSTAP)
        };
        let r = record(header, b"q", b"");
        let e = decode(&r).unwrap();
        assert_eq!((e.query, e.response, e.tcp), (&b"q"[..], None, true));
        assert_eq!((e.client, e.server), (header.client, header.server));
    }

    #[test]
    fn a_record_that_lies_is_skipped() {
        let bad_frame = record(Header::frames(WANT_DNSTAP), &[0u8; 20], b"");
        assert_eq!(decode(&bad_frame), None);
        let mut short = record(Header { source: Source::Messages, ..Header::frames(1) }, b"query", b"");
        short.truncate(HEADER_LEN + 2);
        assert_eq!(decode(&short), None);
        assert_eq!(decode(&[1, 2, 3]), None);
    }
}
