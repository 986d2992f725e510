//! An exchange as dnstap messages: AUTH_QUERY, then AUTH_RESPONSE when a
//! response was sent, as Knot's dnstap module writes them (both carry the
//! client as the query address and the server as the response address).

use std::net::{IpAddr, SocketAddr};

use prost::Message as _;

use super::exchange::Exchange;
use super::proto::{Dnstap, DnstapType, Message, MessageType, SocketFamily, SocketProtocol};

/// Who writes: dnstap's `identity` and `version` fields.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    pub identity: Option<Vec<u8>>,
    pub version: Vec<u8>,
}

impl Writer {
    /// The exchange's messages, each encoded and passed to `out`.
    pub fn encode(&self, e: &Exchange, out: &mut impl FnMut(&[u8])) {
        let mut buf = Vec::with_capacity(128 + e.query.len() + e.response.map_or(0, <[u8]>::len));
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
        let query = Message { query_message: Some(e.query.to_vec()), ..base.clone() };
        self.frame(query, &mut buf);
        out(&buf);
        if let Some(response) = e.response {
            let (r_sec, r_nsec) = split_ns(e.response_ns);
            let response = Message {
                r#type: MessageType::AuthResponse as i32,
                response_time_sec: Some(r_sec),
                response_time_nsec: Some(r_nsec),
                response_message: Some(response.to_vec()),
                ..base
            };
            buf.clear();
            self.frame(response, &mut buf);
            out(&buf);
        }
    }

    fn frame(&self, message: Message, buf: &mut Vec<u8>) {
        let dnstap = Dnstap {
            identity: self.identity.clone(),
            version: Some(self.version.clone()),
            r#type: DnstapType::Message as i32,
            message: Some(message),
        };
        // Encoding into a Vec cannot run out of room.
        let _ = dnstap.encode(buf);
    }
}

fn family(a: &SocketAddr) -> SocketFamily {
    if a.is_ipv4() {
        SocketFamily::Inet
    } else {
        SocketFamily::Inet6
    }
}

fn address(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn split_ns(ns: u64) -> (u64, u32) {
    (ns / 1_000_000_000, (ns % 1_000_000_000) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let writer = Writer { identity: Some(b"ns1".to_vec()), version: b"responder 0".to_vec() };
        let mut frames = Vec::new();
        writer.encode(&e, &mut |b| frames.push(Dnstap::decode(b).unwrap()));
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
        assert_eq!(r.response_message.as_deref(), Some(&b"R"[..]));
        assert_eq!(frames[0].identity.as_deref(), Some(&b"ns1"[..]));

        frames.clear();
        let dropped = Exchange { response: None, tcp: true, client: "[fd00::2]:1".parse().unwrap(), ..e };
        writer.encode(&dropped, &mut |b| frames.push(Dnstap::decode(b).unwrap()));
        let q = frames.pop().unwrap().message.unwrap();
        assert!(frames.is_empty(), "no response, no AUTH_RESPONSE");
        assert_eq!(q.socket_family, Some(SocketFamily::Inet6 as i32));
        assert_eq!(q.socket_protocol, Some(SocketProtocol::Tcp as i32));
    }
}
