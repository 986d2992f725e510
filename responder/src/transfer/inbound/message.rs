//! The messages a secondary sends (SOA, AXFR and IXFR queries) and reads
//! (their answers, and NOTIFY). Reading decompresses every name, RDATA
//! included, so a record read here is in the form the zone loader produces.

use crate::wire::dns::{self, class, flags, rcode, RType};
use crate::zone::Name;

/// DNS opcodes this module meets (RFC 1035, RFC 1996).
pub mod opcode {
    pub const QUERY: u8 = 0;
    pub const NOTIFY: u8 = 4;
}

pub const AXFR: RType = RType(252);
pub const IXFR: RType = RType(251);
pub const TSIG: RType = RType(250);

/// A resource record with uncompressed RDATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRecord {
    pub owner: Name,
    pub rtype: RType,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

impl WireRecord {
    /// The SOA serial, for an SOA record.
    pub fn soa_serial(&self) -> Option<u32> {
        super::timers::Soa::serial_of(self.rtype, &self.rdata)
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.owner.wire());
        let mut fixed = [0u8; dns::rr_field::LEN];
        dns::write_rr_fixed(&mut fixed, self.rtype, self.class, self.ttl, self.rdata.len() as u16);
        out.extend_from_slice(&fixed);
        out.extend_from_slice(&self.rdata);
    }
}

/// A message read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub flags: u16,
    pub question: Option<(Name, RType)>,
    pub answers: Vec<WireRecord>,
    /// Whether the last additional record is a TSIG (RFC 8945).
    pub signed: bool,
}

impl Message {
    pub fn opcode(&self) -> u8 {
        ((self.flags & flags::OPCODE_MASK) >> 11) as u8
    }

    pub fn rcode(&self) -> u8 {
        (self.flags & flags::RCODE_MASK) as u8
    }

    pub fn is_response(&self) -> bool {
        self.flags & flags::QR != 0
    }
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DNS message: {0}")]
pub struct WireError(pub &'static str);

/// A query for `zone`: SOA, AXFR, or IXFR with our `current` SOA in the
/// authority section (RFC 1995 §3).
pub fn query(id: u16, zone: &Name, qtype: RType, current: Option<&WireRecord>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0]);
    out.extend_from_slice(&u16::from(current.is_some() && qtype == IXFR).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(zone.wire());
    out.extend_from_slice(&qtype.0.to_be_bytes());
    out.extend_from_slice(&class::IN.to_be_bytes());
    if let (Some(soa), true) = (current, qtype == IXFR) {
        soa.write(&mut out);
    }
    out
}

/// Reads a whole message: header, question, answers, and whether it ends
/// in a TSIG. Authority and additional records are skipped, but must parse.
pub fn parse(msg: &[u8]) -> Result<Message, WireError> {
    let header = dns::Header::new_checked(msg).ok_or(WireError("shorter than a header"))?;
    let (id, flags, qdcount, ancount) = (header.id(), header.flags(), header.qdcount(), header.ancount());
    let others = u32::from(header.nscount()) + u32::from(header.arcount());
    let mut at = dns::HEADER_LEN;
    let question = match qdcount {
        0 => None,
        1 => {
            let (name, end) = read_name(msg, at)?;
            let fixed = msg.get(end..end + dns::question_field::LEN).ok_or(WireError("question cut short"))?;
            at = end + dns::question_field::LEN;
            Some((name, RType(u16::from_be_bytes([fixed[0], fixed[1]]))))
        }
        _ => return Err(WireError("more than one question")),
    };
    let mut answers = Vec::with_capacity(usize::from(ancount).min(msg.len() / 11));
    for _ in 0..ancount {
        let (record, end) = read_record(msg, at)?;
        answers.push(record);
        at = end;
    }
    let mut signed = false;
    for i in 0..others {
        let (record, end) = read_record(msg, at)?;
        signed = i + 1 == others && record.rtype == TSIG;
        at = end;
    }
    if at != msg.len() {
        return Err(WireError("bytes after the last record"));
    }
    Ok(Message { id, flags, question, answers, signed })
}

fn read_record(msg: &[u8], at: usize) -> Result<(WireRecord, usize), WireError> {
    let (owner, end) = read_name(msg, at)?;
    let fixed = msg.get(end..end + dns::rr_field::LEN).ok_or(WireError("record cut short"))?;
    let rtype = RType(u16::from_be_bytes([fixed[0], fixed[1]]));
    let class = u16::from_be_bytes([fixed[2], fixed[3]]);
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let start = end + dns::rr_field::LEN;
    let stop = start.checked_add(rdlength).filter(|&s| s <= msg.len()).ok_or(WireError("RDATA cut short"))?;
    let rdata = super::rdata::decompress(msg, start, stop, rtype)?;
    Ok((WireRecord { owner, rtype, class, ttl, rdata }, stop))
}

/// Most pointers one name may follow: each must point backwards, so this
/// only bounds the work on a hostile message.
const MAX_POINTERS: usize = 64;

/// The (decompressed) name at `at`, and the offset just past it in place.
pub fn read_name(msg: &[u8], at: usize) -> Result<(Name, usize), WireError> {
    let mut wire = Vec::with_capacity(32);
    let mut pos = at;
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(WireError("name cut short"))?;
        match len {
            0 => {
                wire.push(0);
                break;
            }
            l if l & 0xc0 == 0xc0 => {
                let low = *msg.get(pos + 1).ok_or(WireError("pointer cut short"))?;
                let target = usize::from(u16::from_be_bytes([l & 0x3f, low]));
                end.get_or_insert(pos + 2);
                jumps += 1;
                if target >= pos || jumps > MAX_POINTERS {
                    return Err(WireError("compression pointer loops or points forward"));
                }
                pos = target;
            }
            l if l < 64 => {
                let label = msg.get(pos..pos + 1 + usize::from(l)).ok_or(WireError("label cut short"))?;
                wire.extend_from_slice(label);
                if wire.len() > dns::MAX_NAME {
                    return Err(WireError("name longer than 255 bytes"));
                }
                pos += 1 + usize::from(l);
            }
            _ => return Err(WireError("unknown label type")),
        }
    }
    let name = Name::from_wire(&wire).map_err(|_| WireError("bad name"))?;
    Ok((name, end.unwrap_or(pos + 1)))
}

/// The answer to a NOTIFY `query` of `len` bytes, written over it: header
/// and question, QR and AA set, `code` as rcode (RFC 1996 §4.7). `None` if
/// it has no single question to echo.
pub fn notify_reply(buf: &mut [u8], len: usize, code: u8) -> Option<usize> {
    let msg = buf.get(..len)?;
    if u16::from_be_bytes([*msg.get(4)?, *msg.get(5)?]) != 1 {
        return None;
    }
    let (_, end) = read_name(msg, dns::HEADER_LEN).ok()?;
    let question_end = end + dns::question_field::LEN;
    if question_end > len {
        return None;
    }
    let f = u16::from_be_bytes([buf[2], buf[3]]);
    let aa = if code == rcode::NOERROR { flags::AA } else { 0 };
    let reply = flags::QR | (f & (flags::OPCODE_MASK | flags::RD)) | aa | u16::from(code);
    buf[2..4].copy_from_slice(&reply.to_be_bytes());
    buf[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    Some(question_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s, None).unwrap().unwrap()
    }

    #[test]
    fn an_ixfr_query_carries_our_soa_and_reads_back() {
        let soa = WireRecord {
            owner: name("example.test."),
            rtype: RType::SOA,
            class: class::IN,
            ttl: 60,
            rdata: [name("ns.example.test.").wire(), name("h.example.test.").wire(), &[0, 0, 0, 7], &[0; 16]].concat(),
        };
        let q = query(9, &name("example.test."), IXFR, Some(&soa));
        let m = parse(&q).unwrap();
        assert_eq!((m.id, m.question, m.answers.len()), (9, Some((name("example.test."), IXFR)), 0));
        assert_eq!(u16::from_be_bytes([q[8], q[9]]), 1, "the SOA sits in authority");
        assert_eq!(soa.soa_serial(), Some(7));
    }

    #[test]
    fn compressed_names_in_owner_and_rdata_are_expanded() {
        // Header, question example.test. SOA, one answer: owner -> question
        // name, MX 10 mail.<pointer to question name>.
        let mut m = vec![0, 1, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(name("example.test.").wire());
        m.extend_from_slice(&[0, 15, 0, 1]);
        m.extend_from_slice(&[0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 9, 0, 10, 4, b'm', b'a', b'i', b'l', 0xc0, 12]);
        let parsed = parse(&m).unwrap();
        let rr = &parsed.answers[0];
        assert_eq!(rr.owner, name("example.test."));
        assert_eq!(rr.rdata, [&[0, 10][..], name("mail.example.test.").wire()].concat());
    }

    #[test]
    fn hostile_messages_are_errors() {
        assert!(parse(&[0; 5]).is_err());
        // A pointer to itself.
        let mut m = vec![0, 1, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 6, 0, 1];
        assert!(parse(&m).is_err());
        // An answer count with no answer.
        m = vec![0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(parse(&m).is_err());
        // Trailing bytes.
        m = vec![0, 1, 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
        assert!(parse(&m).is_err());
    }

    #[test]
    fn a_notify_reply_echoes_the_question_with_aa() {
        let mut q = query(3, &name("example.test."), RType::SOA, None);
        q[2] = opcode::NOTIFY << 3;
        let len = q.len();
        q.extend_from_slice(&[0; 20]);
        let n = notify_reply(&mut q, len, rcode::NOERROR).unwrap();
        let m = parse(&q[..n]).unwrap();
        assert_eq!((m.opcode(), m.rcode(), m.is_response()), (opcode::NOTIFY, 0, true));
        assert_ne!(m.flags & flags::AA, 0);
        let n = notify_reply(&mut q, len, rcode::REFUSED).unwrap();
        assert_eq!((parse(&q[..n]).unwrap().rcode(), q[2] & 0x04), (rcode::REFUSED, 0));
    }
}
