//! The bounded lock-free ring between one serving thread and the capture
//! thread (an `rtrb` single-producer single-consumer byte ring), and the
//! layout of the records in it.
//!
//! A record is pushed whole or not at all (`push_entire_slice`), so the
//! capture thread never sees half of one, and a full ring costs the worker
//! one comparison: the record is dropped and counted, the worker never waits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rtrb::{Consumer, Producer, RingBuffer};

/// Bytes of the fixed header in front of each record's payload.
pub const HEADER_LEN: usize = 64;

/// Where a record's bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Whole Ethernet frames from an XDP worker: addresses and ports are
    /// read from the query frame, on the capture thread.
    Frames,
    /// DNS messages from a kernel socket, with the addresses in the header.
    Messages,
    /// DNS messages the XDP program answered itself (tier 0), with the
    /// addresses in the header: marked as such in the outputs.
    Tier0,
}

/// Which outputs want a record (bit set).
pub const WANT_DNSTAP: u8 = 1;
pub const WANT_PCAP: u8 = 2;

/// A record's header, as the worker fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub source: Source,
    pub wants: u8,
    pub tcp: bool,
    /// Time the query was taken and the response made, in nanoseconds since
    /// the Unix epoch.
    pub query_ns: u64,
    pub response_ns: u64,
    /// With [`Source::Messages`]: the client, and the server address the
    /// query reached. Unspecified with frames.
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub query_len: u16,
    /// 0: no response was sent (dropped by the engine or rate limiting).
    pub response_len: u16,
}

const UNSPECIFIED: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

impl Header {
    pub fn frames(wants: u8) -> Header {
        Header {
            source: Source::Frames,
            wants,
            tcp: false,
            query_ns: 0,
            response_ns: 0,
            client: UNSPECIFIED,
            server: UNSPECIFIED,
            query_len: 0,
            response_len: 0,
        }
    }

    /// The record's whole length, header included.
    pub fn record_len(&self) -> usize {
        HEADER_LEN + usize::from(self.query_len) + usize::from(self.response_len)
    }

    /// Layout: 0 record length u32, 4 source, 5 wants, 6 tcp, 8 query length
    /// u16, 10 response length u16, 12 client port, 14 server port, 16 query
    /// time u64, 24 response time u64, 32 client address (16 bytes: IPv4 as
    /// mapped), 48 server address; little-endian.
    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        out[0..4].copy_from_slice(&(self.record_len() as u32).to_le_bytes());
        out[4] = match self.source {
            Source::Frames => 0,
            Source::Messages => 1,
            Source::Tier0 => 2,
        };
        out[5] = self.wants;
        out[6] = u8::from(self.tcp);
        out[7] = u8::from(self.client.is_ipv6());
        out[8..10].copy_from_slice(&self.query_len.to_le_bytes());
        out[10..12].copy_from_slice(&self.response_len.to_le_bytes());
        out[12..14].copy_from_slice(&self.client.port().to_le_bytes());
        out[14..16].copy_from_slice(&self.server.port().to_le_bytes());
        out[16..24].copy_from_slice(&self.query_ns.to_le_bytes());
        out[24..32].copy_from_slice(&self.response_ns.to_le_bytes());
        out[32..48].copy_from_slice(&v6(self.client.ip()).octets());
        out[48..64].copy_from_slice(&v6(self.server.ip()).octets());
    }

    pub fn read(b: &[u8; HEADER_LEN]) -> Header {
        let u16_at = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
        let ip_at = |at: usize| {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(&b[at..at + 16]).unwrap_or_default());
            match (b[7], v6.to_ipv4_mapped()) {
                (0, Some(v4)) => IpAddr::V4(v4),
                _ => IpAddr::V6(v6),
            }
        };
        Header {
            source: match b[4] {
                0 => Source::Frames,
                1 => Source::Messages,
                _ => Source::Tier0,
            },
            wants: b[5],
            tcp: b[6] != 0,
            query_len: u16_at(8),
            response_len: u16_at(10),
            client: SocketAddr::new(ip_at(32), u16_at(12)),
            server: SocketAddr::new(ip_at(48), u16_at(14)),
            query_ns: u64_at(16),
            response_ns: u64_at(24),
        }
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// A new ring of `bytes` capacity: the worker's end and the capture thread's.
pub fn ring(bytes: usize) -> (Producer<u8>, RecordReader) {
    let (producer, consumer) = RingBuffer::new(bytes);
    (producer, RecordReader { consumer })
}

/// Pushes a whole record; false when the ring has no room for it.
#[inline]
pub fn push(producer: &mut Producer<u8>, record: &[u8]) -> bool {
    producer.push_entire_slice(record).is_ok()
}

/// The capture thread's end of one ring.
pub struct RecordReader {
    consumer: Consumer<u8>,
}

impl RecordReader {
    /// The next whole record into `buf` (replacing its contents); false when
    /// the ring holds none.
    pub fn next(&mut self, buf: &mut Vec<u8>) -> bool {
        let mut len = [0u8; 4];
        {
            // Peeked, not committed: the length stays in front of the record.
            let Ok(chunk) = self.consumer.read_chunk(4) else { return false };
            let (a, b) = chunk.as_slices();
            for (dst, src) in len.iter_mut().zip(a.iter().chain(b)) {
                *dst = *src;
            }
        }
        let len = u32::from_le_bytes(len) as usize;
        buf.resize(len, 0);
        // The producer commits records whole, so all of it is there.
        self.consumer.pop_entire_slice(buf).is_ok()
    }

    /// The share of the ring that holds records now (0 to 1).
    pub fn fill(&self) -> f64 {
        self.consumer.slots() as f64 / self.consumer.buffer().capacity().max(1) as f64
    }

    /// The worker has gone and everything it pushed was read.
    pub fn finished(&self) -> bool {
        self.consumer.is_abandoned() && self.consumer.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(header: &Header, payload: &[u8]) -> Vec<u8> {
        let mut h = [0u8; HEADER_LEN];
        header.write(&mut h);
        [&h[..], payload].concat()
    }

    #[test]
    fn headers_round_trip_for_both_families() {
        let v4 = Header {
            source: Source::Messages,
            wants: WANT_DNSTAP | WANT_PCAP,
            tcp: true,
            query_ns: 1_700_000_000_123_456_789,
            response_ns: 1_700_000_000_123_457_000,
            client: "198.18.0.2:40000".parse().unwrap(),
            server: "198.18.0.1:53".parse().unwrap(),
            query_len: 30,
            response_len: 46,
        };
        let v6 = Header { client: "[fd00::2]:1".parse().unwrap(), server: "[fd00::1]:53".parse().unwrap(), ..v4 };
        for h in [v4, v6, Header::frames(WANT_PCAP)] {
            let mut bytes = [0u8; HEADER_LEN];
            h.write(&mut bytes);
            assert_eq!(Header::read(&bytes), h);
        }
    }

    #[test]
    fn records_come_out_whole_across_the_wrap_and_a_full_ring_refuses() {
        let (mut producer, mut reader) = ring(300);
        let header = Header { query_len: 50, response_len: 20, ..Header::frames(WANT_DNSTAP) };
        let payload: Vec<u8> = (0..70).collect();
        let one = record(&header, &payload);
        let mut buf = Vec::new();
        for round in 0..10 {
            assert!(push(&mut producer, &one), "round {round}");
            assert!(push(&mut producer, &one));
            assert!(!push(&mut producer, &one), "a third of 134 bytes does not fit in 300");
            assert!(reader.next(&mut buf));
            assert_eq!(buf, one);
            assert!(reader.next(&mut buf));
            assert_eq!(buf, one);
            assert!(!reader.next(&mut buf));
        }
        assert_eq!(reader.fill(), 0.0);
        assert!(push(&mut producer, &one));
        assert!((reader.fill() - 134.0 / 300.0).abs() < 1e-9, "{}", reader.fill());
        assert!(reader.next(&mut buf));
        assert!(!reader.finished());
        drop(producer);
        assert!(reader.finished());
    }
}
