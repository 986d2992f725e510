//! An AXFR or IXFR query as a primary reads it: the zone asked for, the
//! type, and for IXFR the client's serial from the SOA in its authority
//! section (RFC 1995 §3). Its TSIG, if any, is checked apart (`tsig`).

use crate::transfer::inbound::message::{read_name, AXFR, IXFR};
use crate::transfer::inbound::timers::Soa;
use crate::wire::dns::{self, class, flags, RType};
use crate::zone::Name;

/// A transfer request, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub zone: Name,
    pub qtype: RType,
    /// IXFR: the serial the client has.
    pub serial: Option<u32>,
    /// Where the question ends: error answers echo `..question_end`.
    pub question_end: usize,
}

/// Why a request is malformed (answered FORMERR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// Whether `msg` is a query (not a response), opcode QUERY, for AXFR or
/// IXFR: the cheap test the servers route on, reading only the header and
/// the question.
pub fn is_transfer(msg: &[u8]) -> bool {
    let Some(header) = dns::Header::new_checked(msg) else { return false };
    if header.flags() & (flags::QR | flags::OPCODE_MASK) != 0 || header.qdcount() != 1 {
        return false;
    }
    let Some(end) = dns::skip_name(msg, dns::HEADER_LEN) else { return false };
    matches!(msg.get(end..end + 2), Some(&[t0, t1]) if matches!(RType(u16::from_be_bytes([t0, t1])), AXFR | IXFR))
}

/// Reads a message [`is_transfer`] said yes to. `None` when not even the
/// question can be read back (no answer can echo it: dropped).
pub fn parse(msg: &[u8]) -> Option<Result<Request, Malformed>> {
    let header = dns::Header::new_checked(msg)?;
    let (name, end) = read_name(msg, dns::HEADER_LEN).ok()?;
    let fixed = msg.get(end..end + dns::question_field::LEN)?;
    let qtype = RType(u16::from_be_bytes([fixed[0], fixed[1]]));
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    let question_end = end + dns::question_field::LEN;
    let request = |serial| Request { zone: name.clone(), qtype, serial, question_end };
    if qclass != class::IN {
        return Some(Err(Malformed("class is not IN")));
    }
    if header.ancount() != 0 {
        return Some(Err(Malformed("a transfer request carries no answer records")));
    }
    if qtype == AXFR {
        return Some(Ok(request(None)));
    }
    // IXFR: the client's SOA, for the zone, first in authority.
    if header.nscount() == 0 {
        return Some(Err(Malformed("IXFR without the client's SOA in the authority section")));
    }
    let Some(rr) = dns::parse_rr(msg, question_end) else {
        return Some(Err(Malformed("the authority section does not parse")));
    };
    let owner = match read_name(msg, question_end) {
        Ok((owner, _)) => owner,
        Err(_) => return Some(Err(Malformed("the SOA's owner does not parse"))),
    };
    if rr.rtype != RType::SOA.0 || owner != name {
        return Some(Err(Malformed("IXFR's authority record is not the zone's SOA")));
    }
    // The SOA's names may be compressed: skip them in the message.
    let serial = dns::skip_name(msg, rr.rdata)
        .and_then(|at| dns::skip_name(msg, at))
        .filter(|&at| at + 20 == rr.end)
        .and_then(|at| msg.get(at..at + 20))
        .and_then(|numbers| Soa::from_rdata(&[&[0u8, 0][..], numbers].concat()));
    match serial {
        Some(soa) => Some(Ok(request(Some(soa.serial)))),
        None => Some(Err(Malformed("IXFR's SOA RDATA does not parse"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::inbound::message::{query, WireRecord};

    fn name(s: &str) -> Name {
        Name::parse(s, None).unwrap().unwrap()
    }

    fn soa(serial: u32) -> WireRecord {
        let mut rdata = [name("ns.example.test.").wire(), name("h.example.test.").wire()].concat();
        rdata.extend_from_slice(&serial.to_be_bytes());
        rdata.extend_from_slice(&[0; 16]);
        WireRecord { owner: name("example.test."), rtype: RType::SOA, class: class::IN, ttl: 60, rdata }
    }

    #[test]
    fn axfr_and_ixfr_requests_read_back() {
        let axfr = query(1, &name("Example.TEST."), AXFR, None);
        assert!(is_transfer(&axfr));
        let r = parse(&axfr).unwrap().unwrap();
        assert_eq!((r.zone, r.qtype, r.serial, r.question_end), (name("example.test."), AXFR, None, axfr.len()));
        let ixfr = query(2, &name("example.test."), IXFR, Some(&soa(41)));
        assert!(is_transfer(&ixfr));
        assert_eq!(parse(&ixfr).unwrap().unwrap().serial, Some(41));
        assert!(!is_transfer(&query(3, &name("example.test."), RType::SOA, None)));
        let mut response = axfr.clone();
        response[2] |= 0x80;
        assert!(!is_transfer(&response));
    }

    #[test]
    fn malformed_requests_are_told_apart_from_unreadable_ones() {
        // IXFR without the SOA.
        let ixfr = query(2, &name("example.test."), IXFR, None);
        assert!(parse(&ixfr).unwrap().is_err());
        // The SOA of another zone.
        let mut other = soa(3);
        other.owner = name("other.test.");
        assert!(parse(&query(2, &name("example.test."), IXFR, Some(&other))).unwrap().is_err());
        // Cut inside the SOA.
        let full = query(2, &name("example.test."), IXFR, Some(&soa(3)));
        assert!(parse(&full[..full.len() - 3]).unwrap().is_err());
        // Cut inside the question: nothing to echo.
        assert!(parse(&full[..14]).is_none());
        let mut chaos = query(1, &name("example.test."), AXFR, None);
        let len = chaos.len();
        chaos[len - 1] = 3;
        assert!(parse(&chaos).unwrap().is_err());
    }
}
