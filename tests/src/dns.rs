//! A small DNS client for the tests, built on hickory-proto (an independent
//! implementation, so our own wire code is never used to judge itself), and
//! [`Reply`], the normalised view of an answer that tests compare.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Edns as HEdns, Message, MessageType, OpCode, Query as HQuery};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use crate::rdata;

pub const CLASS_IN: u16 = 1;
pub const CLASS_CH: u16 = 3;

/// EDNS as sent or received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edns {
    pub payload: u16,
    pub dnssec_ok: bool,
    pub version: u8,
}

impl Edns {
    pub fn with_payload(payload: u16) -> Edns {
        Edns { payload, dnssec_ok: false, version: 0 }
    }
}

/// One question to ask.
#[derive(Clone, Debug)]
pub struct Question {
    pub name: String,
    pub qtype: u16,
    pub class: u16,
    pub edns: Option<Edns>,
    pub id: u16,
}

impl Question {
    pub fn new(name: &str, qtype: u16) -> Question {
        Question { name: name.to_string(), qtype, class: CLASS_IN, edns: None, id: 0x5eed }
    }

    pub fn edns(mut self, edns: Edns) -> Question {
        self.edns = Some(edns);
        self
    }

    pub fn class(mut self, class: u16) -> Question {
        self.class = class;
        self
    }

    /// The query message, without RD as a resolver talking to an
    /// authoritative server would send it.
    pub fn to_wire(&self) -> Result<Vec<u8>, String> {
        let name = Name::from_ascii(&self.name).map_err(|e| format!("bad query name {:?}: {e}", self.name))?;
        let mut q = HQuery::query(name, RecordType::from(self.qtype));
        q.set_query_class(DNSClass::from(self.class));
        let mut m = Message::new();
        m.set_id(self.id).set_message_type(MessageType::Query).set_op_code(OpCode::Query);
        m.add_query(q);
        if let Some(e) = self.edns {
            let mut opt = HEdns::new();
            opt.set_max_payload(e.payload);
            opt.set_dnssec_ok(e.dnssec_ok);
            opt.set_version(e.version);
            m.set_edns(opt);
        }
        m.to_vec().map_err(|e| format!("cannot encode query: {e}"))
    }
}

/// Sends one datagram and waits for the answer with the same ID.
pub fn udp_exchange(server: SocketAddr, query: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    // The unspecified address lets the kernel pick the source that routes to
    // `server`: loopback for loopback servers, the veth address on a testbed.
    let local: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("literal");
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.send(query)?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = socket.recv(&mut buf)?;
        // A stray datagram with another ID is not our answer.
        if n >= 2 && query.len() >= 2 && buf[..2] == query[..2] {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

/// Sends one length-prefixed message over a new TCP connection (RFC 1035 §4.2.2).
pub fn tcp_exchange(server: SocketAddr, query: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&server, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let len = u16::try_from(query.len()).map_err(|_| io::Error::other("query over 65535 bytes"))?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed)?;
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix)?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut answer)?;
    Ok(answer)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Asks `question` and decodes the answer with hickory-proto.
/// Asks `question` over UDP, one query after the other, until `stop` is
/// set or `limit` has passed: how many were asked, and each answer that
/// was not NOERROR with one record (or the error when none came). What a
/// test keeps running while a zone changes under it.
pub fn ask_until_stopped(
    server: SocketAddr,
    question: &Question,
    stop: &std::sync::atomic::AtomicBool,
    limit: Duration,
) -> (u64, Vec<String>) {
    let (mut asked, mut misses) = (0u64, Vec::new());
    let started = std::time::Instant::now();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) && started.elapsed() < limit {
        asked += 1;
        match ask(server, Transport::Udp, question) {
            Ok(r) if r.rcode == NOERROR && r.answer.len() == 1 => {}
            Ok(r) => misses.push(r.to_string()),
            Err(e) => misses.push(e),
        }
    }
    (asked, misses)
}

pub fn ask(server: SocketAddr, transport: Transport, question: &Question) -> Result<Reply, String> {
    let wire = question.to_wire()?;
    let timeout = Duration::from_secs(3);
    let answer = match transport {
        Transport::Udp => udp_exchange(server, &wire, timeout),
        Transport::Tcp => tcp_exchange(server, &wire, timeout),
    }
    .map_err(|e| format!("{question:?} to {server} over {transport:?}: {e}"))?;
    Reply::decode(&answer)
}

/// One resource record with its RDATA uncompressed, as both clients can
/// produce it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rr {
    pub owner: String,
    pub ttl: u32,
    pub class: u16,
    pub rtype: u16,
    pub rdata: Vec<u8>,
}

impl Rr {
    /// The SERIAL of an SOA record: it follows MNAME and RNAME, which are
    /// uncompressed in the decoded RDATA. `None` for short RDATA.
    pub fn soa_serial(&self) -> Option<u32> {
        let rdata = &self.rdata;
        let mut at = 0;
        for _ in 0..2 {
            while *rdata.get(at)? != 0 {
                at += 1 + rdata[at] as usize;
            }
            at += 1;
        }
        Some(u32::from_be_bytes(rdata.get(at..at + 4)?.try_into().ok()?))
    }
}

impl fmt::Display for Rr {
    /// `owner TTL [CLASS] TYPE RDATA`; the class only when it is not IN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.owner, self.ttl)?;
        match self.class {
            CLASS_IN => {}
            CLASS_CH => f.write_str("CH ")?,
            other => write!(f, "CLASS{other} ")?,
        }
        write!(f, "{} {}", rdata::type_name(self.rtype), rdata::present(self.rtype, &self.rdata))
    }
}

/// What tests compare: the header bits that matter for an authoritative
/// answer, the three sections and the EDNS parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Including the extended bits from OPT.
    pub rcode: u16,
    pub aa: bool,
    pub tc: bool,
    pub answer: Vec<Rr>,
    pub authority: Vec<Rr>,
    /// Without the OPT record, which is in `edns`.
    pub additional: Vec<Rr>,
    pub edns: Option<Edns>,
}

impl Reply {
    pub fn decode(wire: &[u8]) -> Result<Reply, String> {
        let m = Message::from_vec(wire).map_err(|e| format!("answer does not decode: {e}"))?;
        if m.message_type() != MessageType::Response {
            return Err("the answer has QR clear".into());
        }
        let section = |records: &[Record]| records.iter().map(rr_from_hickory).collect::<Result<Vec<_>, _>>();
        Ok(Reply {
            rcode: u16::from(m.response_code()),
            aa: m.authoritative(),
            tc: m.truncated(),
            answer: section(m.answers())?,
            authority: section(m.name_servers())?,
            additional: section(m.additionals())?,
            edns: m.extensions().as_ref().map(|e| Edns {
                payload: e.max_payload(),
                dnssec_ok: e.flags().dnssec_ok,
                version: e.version(),
            }),
        })
    }

    /// Records sorted within each section: the order inside a section
    /// carries no meaning, except for the CNAME chain which the owners show.
    pub fn normalised(mut self) -> Reply {
        for s in [&mut self.answer, &mut self.authority, &mut self.additional] {
            s.sort_by_key(|rr| (rr.owner.to_ascii_lowercase(), rr.rtype, rr.to_string()));
        }
        self
    }

    pub fn answer_text(&self) -> Vec<String> {
        self.answer.iter().map(Rr::to_string).collect()
    }

    pub fn authority_text(&self) -> Vec<String> {
        self.authority.iter().map(Rr::to_string).collect()
    }

    pub fn additional_text(&self) -> Vec<String> {
        self.additional.iter().map(Rr::to_string).collect()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} aa={} tc={}", rcode_name(self.rcode), self.aa, self.tc)?;
        if let Some(e) = self.edns {
            write!(f, " edns(v{} {} do={})", e.version, e.payload, e.dnssec_ok)?;
        }
        for (name, rrs) in [("AN", &self.answer), ("NS", &self.authority), ("AR", &self.additional)] {
            for rr in rrs {
                write!(f, "\n  {name} {rr}")?;
            }
        }
        Ok(())
    }
}

pub fn rcode_name(rcode: u16) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        16 => "BADVERS".into(),
        other => format!("RCODE{other}"),
    }
}

/// Re-encodes hickory's RDATA without compression. Names inside RDATA come
/// out lowercased (hickory's canonical form); the test zones use lowercase
/// targets, so nothing is lost.
fn rr_from_hickory(r: &Record) -> Result<Rr, String> {
    let mut rdata = Vec::new();
    let mut encoder = BinEncoder::new(&mut rdata);
    encoder.set_canonical_names(true);
    r.data().emit(&mut encoder).map_err(|e| format!("cannot re-encode {} RDATA: {e}", r.record_type()))?;
    Ok(Rr {
        owner: r.name().to_string(),
        ttl: r.ttl(),
        class: u16::from(r.dns_class()),
        rtype: u16::from(r.record_type()),
        rdata,
    })
}

/// Record types the tests ask for (RFC 1035 §3.2.2 and successors).
pub mod rtype {
    pub const A: u16 = 1;
    pub const NS: u16 = 2;
    pub const CNAME: u16 = 5;
    pub const SOA: u16 = 6;
    pub const MX: u16 = 15;
    pub const TXT: u16 = 16;
    pub const AAAA: u16 = 28;
    pub const SRV: u16 = 33;
    pub const DS: u16 = 43;
    pub const HTTPS: u16 = 65;
    pub const ANY: u16 = 255;
    pub const CAA: u16 = 257;
}

/// Response codes the tests expect (RFC 1035 §4.1.1, RFC 6891 §9).
pub const NOERROR: u16 = 0;
pub const FORMERR: u16 = 1;
pub const NXDOMAIN: u16 = 3;
pub const REFUSED: u16 = 5;
pub const BADVERS: u16 = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trips_through_the_decoder() {
        let q = Question::new("Www.Example.com.", 15).edns(Edns { payload: 1232, dnssec_ok: true, version: 0 });
        let mut wire = q.to_wire().unwrap();
        assert_eq!(&wire[..2], &0x5eed_u16.to_be_bytes());
        assert_eq!(wire[2] & 0x01, 0, "RD clear");
        // Turned into a response with one MX in the answer, it decodes as one.
        wire[2] |= 0x84;
        wire[7] = 1;
        let question_end = 12 + 17 + 4;
        let mut rr = vec![0xc0, 12, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 0, 10, 0xc0, 16];
        let mut full = wire[..question_end].to_vec();
        full.append(&mut rr);
        full.extend_from_slice(&wire[question_end..]);
        let reply = Reply::decode(&full).unwrap();
        assert!(reply.aa && !reply.tc);
        assert_eq!(reply.answer_text(), ["Www.Example.com. 3600 MX 10 example.com."]);
        assert_eq!(reply.edns, Some(Edns { payload: 1232, dnssec_ok: true, version: 0 }));
        assert!(Reply::decode(&wire[..wire.len() - 3]).is_err());
    }
}
