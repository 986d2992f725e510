//! An exchange as dnstap messages: AUTH_QUERY, then AUTH_RESPONSE when a
//! response was sent, as Knot's dnstap module writes them (both carry the
//! client as the query address and the server as the response address).
//!
//! The capture thread encodes every sampled exchange, so the writer keeps
//! one `Dnstap` and refills it: identity, version and type are set once and
//! never cloned, the address and message buffers keep their room, and the
//! frames are encoded straight into the pass's buffer. Past the first few
//! exchanges (and the largest message yet) nothing is allocated.

use std::net::{IpAddr, SocketAddr};

use prost::Message as _;

use super::exchange::Exchange;
use super::proto::{Dnstap, DnstapType, Message, MessageType, SocketFamily, SocketProtocol};

/// dnstap's `extra` on the messages of a tier-0 exchange (answered by the
/// XDP program, never a worker): the `path` label its counters carry.
pub const TIER0_EXTRA: &[u8] = b"xdp-kernel";

/// Room kept from the start: an IPv6 address, a typical DNS message.
const ADDRESS_ROOM: usize = 16;
const MESSAGE_ROOM: usize = 512;

/// Who writes (dnstap's `identity` and `version`), and the message refilled
/// for each exchange.
#[derive(Debug, Clone)]
pub struct Writer {
    dnstap: Dnstap,
    /// The DNS messages' buffers while the other message type is encoded
    /// (a field left `Some` would be written).
    query_message: Vec<u8>,
    response_message: Vec<u8>,
}

impl Writer {
    pub fn new(identity: Option<Vec<u8>>, version: Vec<u8>) -> Writer {
        let message = Message {
            query_address: Some(Vec::with_capacity(ADDRESS_ROOM)),
            response_address: Some(Vec::with_capacity(ADDRESS_ROOM)),
            ..Message::default()
        };
        Writer {
            dnstap: Dnstap {
                identity,
                version: Some(version),
                extra: None,
                r#type: DnstapType::Message as i32,
                message: Some(message),
            },
            query_message: Vec::with_capacity(MESSAGE_ROOM),
            response_message: Vec::with_capacity(MESSAGE_ROOM),
        }
    }

    /// Appends the exchange's messages to `frames`, each as a Frame Streams
    /// data frame.
    pub fn encode(&mut self, e: &Exchange, frames: &mut Vec<u8>) {
        // Kept once made: no allocation per tier-0 exchange.
        match (&mut self.dnstap.extra, e.tier0) {
            (extra @ None, true) => *extra = Some(TIER0_EXTRA.to_vec()),
            (extra @ Some(_), false) => *extra = None,
            _ => {}
        }
        let m = self.dnstap.message.get_or_insert_with(Message::default);
        let (q_sec, q_nsec) = split_ns(e.query_ns);
        m.r#type = MessageType::AuthQuery as i32;
        m.socket_family = Some(family(&e.client) as i32);
        m.socket_protocol = Some(if e.tcp { SocketProtocol::Tcp } else { SocketProtocol::Udp } as i32);
        set_address(&mut m.query_address, e.client.ip());
        set_address(&mut m.response_address, e.server.ip());
        m.query_port = Some(u32::from(e.client.port()));
        m.response_port = Some(u32::from(e.server.port()));
        m.query_time_sec = Some(q_sec);
        m.query_time_nsec = Some(q_nsec);
        m.response_time_sec = None;
        m.response_time_nsec = None;
        m.query_message = Some(filled(&mut self.query_message, e.query));
        m.response_message = None;
        frame(&self.dnstap, frames);

        let m = self.dnstap.message.get_or_insert_with(Message::default);
        self.query_message = m.query_message.take().unwrap_or_default();
        if let Some(response) = e.response {
            let (r_sec, r_nsec) = split_ns(e.response_ns);
            m.r#type = MessageType::AuthResponse as i32;
            m.response_time_sec = Some(r_sec);
            m.response_time_nsec = Some(r_nsec);
            m.response_message = Some(filled(&mut self.response_message, response));
            frame(&self.dnstap, frames);
            let m = self.dnstap.message.get_or_insert_with(Message::default);
            self.response_message = m.response_message.take().unwrap_or_default();
        }
    }
}

/// One data frame: the payload's length, big-endian, then the payload,
/// encoded in place.
fn frame(dnstap: &Dnstap, frames: &mut Vec<u8>) {
    let len = dnstap.encoded_len();
    // DNS messages of at most 64 KiB keep a payload far below 4 GiB, and
    // the type field keeps it from being empty (a control escape).
    let Ok(prefix) = u32::try_from(len) else { return };
    frames.reserve(4 + len);
    frames.extend_from_slice(&prefix.to_be_bytes());
    // Room was reserved above, and a Vec grows anyway.
    let _ = dnstap.encode(frames);
}

/// `spare` holding `data`, its room kept.
fn filled(spare: &mut Vec<u8>, data: &[u8]) -> Vec<u8> {
    let mut v = std::mem::take(spare);
    v.clear();
    v.extend_from_slice(data);
    v
}

fn set_address(slot: &mut Option<Vec<u8>>, ip: IpAddr) {
    let v = slot.get_or_insert_with(Vec::new);
    v.clear();
    match ip {
        IpAddr::V4(v4) => v.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => v.extend_from_slice(&v6.octets()),
    }
}

fn family(a: &SocketAddr) -> SocketFamily {
    if a.is_ipv4() {
        SocketFamily::Inet
    } else {
        SocketFamily::Inet6
    }
}

fn split_ns(ns: u64) -> (u64, u32) {
    (ns / 1_000_000_000, (ns % 1_000_000_000) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::fstrm;

    /// The frames' payloads, in order.
    fn payloads(mut frames: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while let Some((len, rest)) = frames.split_first_chunk::<4>() {
            let (payload, rest) = rest.split_at(u32::from_be_bytes(*len) as usize);
            out.push(payload);
            frames = rest;
        }
        out
    }

    fn decoded(frames: &[u8]) -> Vec<Dnstap> {
        payloads(frames).into_iter().map(|p| Dnstap::decode(p).unwrap()).collect()
    }

    #[test]
    fn a_query_and_its_response_become_two_messages() {
        let e = Exchange {
            wants: 1,
            tcp: false,
            client: "198.18.0.2:40000".parse().unwrap(),
            server: "198.18.0.1:53".parse().unwrap(),
            query_ns: 1_700_000_000_000_000_123,
            response_ns: 1_700_000_001_000_000_456,
            query: b"Q",
            response: Some(b"R"),
            tier0: false,
        };
        let mut writer = Writer::new(Some(b"ns1".to_vec()), b"responder 0".to_vec());
        let mut frames = Vec::new();
        writer.encode(&e, &mut frames);
        let frames = decoded(&frames);
        assert_eq!(frames.len(), 2);
        let q = frames[0].message.clone().unwrap();
        let r = frames[1].message.clone().unwrap();
        assert_eq!((q.r#type, r.r#type), (MessageType::AuthQuery as i32, MessageType::AuthResponse as i32));
        assert_eq!(q.query_address.as_deref(), Some(&[198, 18, 0, 2][..]));
        assert_eq!(r.response_address.as_deref(), Some(&[198, 18, 0, 1][..]));
        assert_eq!((q.query_port, r.response_port), (Some(40000), Some(53)));
        assert_eq!((q.query_time_sec, q.query_time_nsec), (Some(1_700_000_000), Some(123)));
        assert_eq!((r.response_time_sec, r.response_time_nsec), (Some(1_700_000_001), Some(456)));
        assert_eq!((q.query_message.as_deref(), q.response_message), (Some(&b"Q"[..]), None));
        assert_eq!((r.query_message, r.response_message.as_deref()), (None, Some(&b"R"[..])));
        assert_eq!(frames[0].identity.as_deref(), Some(&b"ns1"[..]));

        let mut bytes = Vec::new();
        let dropped = Exchange { response: None, tcp: true, client: "[fd00::2]:1".parse().unwrap(), ..e };
        writer.encode(&dropped, &mut bytes);
        let mut frames = decoded(&bytes);
        let q = frames.pop().unwrap().message.unwrap();
        assert!(frames.is_empty(), "no response, no AUTH_RESPONSE");
        assert_eq!(q.socket_family, Some(SocketFamily::Inet6 as i32));
        assert_eq!(q.socket_protocol, Some(SocketProtocol::Tcp as i32));
        assert_eq!(q.response_time_sec, None, "nothing left from the exchange before");
    }

    /// The encoder before the writer kept its message: a fresh `Dnstap` per
    /// message, identity and version cloned, each payload in its own Vec
    /// and then copied into a frame. What it wrote is the reference.
    fn reference_frames(identity: &Option<Vec<u8>>, version: &[u8], e: &Exchange) -> Vec<u8> {
        let dnstap = |message: Message| {
            Dnstap {
                identity: identity.clone(),
                version: Some(version.to_vec()),
                extra: e.tier0.then(|| TIER0_EXTRA.to_vec()),
                r#type: DnstapType::Message as i32,
                message: Some(message),
            }
            .encode_to_vec()
        };
        let address = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        let (q_sec, q_nsec) = split_ns(e.query_ns);
        let base = Message {
            r#type: MessageType::AuthQuery as i32,
            socket_family: Some(family(&e.client) as i32),
            socket_protocol: Some(if e.tcp { SocketProtocol::Tcp } else { SocketProtocol::Udp } as i32),
            query_address: Some(address(e.client.ip())),
            response_address: Some(address(e.server.ip())),
            query_port: Some(u32::from(e.client.port())),
            response_port: Some(u32::from(e.server.port())),
            query_time_sec: Some(q_sec),
            query_time_nsec: Some(q_nsec),
            ..Message::default()
        };
        let mut frames = Vec::new();
        let query = Message { query_message: Some(e.query.to_vec()), ..base.clone() };
        fstrm::data_frame(&mut frames, &dnstap(query)).unwrap();
        if let Some(response) = e.response {
            let (r_sec, r_nsec) = split_ns(e.response_ns);
            let response = Message {
                r#type: MessageType::AuthResponse as i32,
                response_time_sec: Some(r_sec),
                response_time_nsec: Some(r_nsec),
                response_message: Some(response.to_vec()),
                ..base
            };
            fstrm::data_frame(&mut frames, &dnstap(response)).unwrap();
        }
        frames
    }

    #[test]
    fn frames_are_the_bytes_a_fresh_message_per_frame_gave() {
        let big_query = vec![0x5a; 700];
        let big_response = vec![0xa5; 4000];
        let v4 = ("198.18.0.2:40000".parse().unwrap(), "198.18.0.1:53".parse().unwrap());
        let v6 = ("[fd00::2]:5353".parse().unwrap(), "[fd00::1]:53".parse().unwrap());
        // Tier 0's exchanges are over UDP; here one in three, so the
        // writer's `extra` is set and cleared between them.
        let tier0 = std::cell::Cell::new(0);
        let exchange = |(client, server): (SocketAddr, SocketAddr), tcp: bool, query, response| Exchange {
            tier0: {
                tier0.set(tier0.get() + 1);
                !tcp && tier0.get() % 3 != 0
            },
            wants: 1,
            tcp,
            client,
            server,
            query_ns: 1_765_000_000_999_999_999,
            response_ns: 1_765_000_001_000_000_001,
            query,
            response,
        };
        // In this order through one writer: its buffers grow, shrink back to
        // shorter contents and the address family changes under them.
        let exchanges = [
            exchange(v6, false, &big_query[..], Some(&big_response[..])),
            exchange(v4, false, b"\x12\x34query", Some(b"\x12\x34answer")),
            exchange(v4, true, b"dropped", None),
            exchange(v6, true, b"q", Some(b"r")),
            exchange(v4, false, b"", Some(b"")),
        ];
        for identity in [Some(b"ns1.example".to_vec()), None] {
            let version = b"responder 0.1.0".to_vec();
            let mut writer = Writer::new(identity.clone(), version.clone());
            let mut pass = Vec::new();
            let mut want_pass = Vec::new();
            for e in &exchanges {
                let mut frames = Vec::new();
                writer.encode(e, &mut frames);
                let want = reference_frames(&identity, &version, e);
                assert_eq!(frames, want, "{e:?}");
                assert_eq!(decoded(&frames), decoded(&want));
                assert_eq!(payloads(&frames).len(), 1 + usize::from(e.response.is_some()));
                writer.encode(e, &mut pass);
                want_pass.extend_from_slice(&want);
            }
            assert_eq!(pass, want_pass, "frames appended to a pass's buffer");
        }
    }
}
