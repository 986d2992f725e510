//! Reading a query: header, the one question, and the OPT record (RFC 6891).

use crate::wire::dns::{self, flags, Question, LOWER_LEN};
use crate::zone::RType;

/// What the client said in its OPT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    pub udp_size: u16,
    pub version: u8,
    pub dnssec_ok: bool,
}

/// A query that parsed: the question (name lowered for lookup) and EDNS.
pub struct Query {
    pub question: Question,
    /// The name lowered; bytes past its end are unspecified.
    pub lower: [u8; LOWER_LEN],
    pub opcode: u8,
    pub edns: Option<Edns>,
}

/// Why a query gets an error instead of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// A response, or too short to hold a header: no reply at all.
    Drop,
    /// Header readable, rest malformed. Carries the question's end when the
    /// question itself was fine, so it can be echoed.
    FormErr(Option<usize>),
}

impl Query {
    #[inline]
    pub fn lname(&self) -> &[u8] {
        &self.lower[..self.question.name_len]
    }

    /// Start of the suffix that drops the `skip` leftmost labels. Walked
    /// rather than looked up in a table of label starts: names are a few
    /// labels long, and such a table would have to be cleared per query.
    #[inline]
    pub fn suffix_start(&self, skip: usize) -> usize {
        let mut start = 0;
        for _ in 0..skip.min(self.question.labels) {
            start = self.next_label(start);
        }
        start
    }

    /// Start of the label after the one at `start` (a label start, not the root).
    #[inline(always)]
    pub fn next_label(&self, start: usize) -> usize {
        start + 1 + self.lower.get(start).map_or(0, |&len| len as usize)
    }
}

impl Query {
    pub fn new() -> Query {
        Query {
            question: Question { name_len: 0, labels: 0, qtype: 0, qclass: 0, end: 0, sum: 0 },
            lower: [0; LOWER_LEN],
            opcode: 0,
            edns: None,
        }
    }

    /// Reads `m` into `self`, in place: the query is large enough that
    /// returning it by value would be a noticeable copy per packet.
    #[inline]
    pub fn parse(&mut self, m: &[u8]) -> Result<(), Rejection> {
        if m.len() < dns::HEADER_LEN {
            return Err(Rejection::Drop);
        }
        let f = dns::flags(m);
        if f & flags::QR != 0 {
            return Err(Rejection::Drop);
        }
        if dns::qdcount(m) != 1 {
            return Err(Rejection::FormErr(None));
        }
        self.opcode = ((f & flags::OPCODE_MASK) >> 11) as u8;
        self.question = dns::parse_question(m, &mut self.lower).ok_or(Rejection::FormErr(None))?;
        let end = self.question.end;
        self.edns = parse_rest(m, end).map_err(|()| Rejection::FormErr(Some(end)))?;
        Ok(())
    }
}

/// Walks the answer, authority and additional sections; finds the OPT.
/// Anything that does not parse, a second OPT, an OPT not owned by the root
/// or trailing bytes make the query malformed.
fn parse_rest(m: &[u8], mut pos: usize) -> Result<Option<Edns>, ()> {
    let before_additional = dns::ancount(m) as usize + dns::nscount(m) as usize;
    let total = before_additional + dns::arcount(m) as usize;
    let mut edns = None;
    for i in 0..total {
        let rr = dns::parse_rr(m, pos).ok_or(())?;
        if rr.rtype == RType::OPT.0 {
            if i < before_additional || edns.is_some() || m[rr.start] != 0 {
                return Err(());
            }
            let mut opt = rr.rdata;
            while opt < rr.end {
                let len = m.get(opt + 2..opt + 4).map(|l| u16::from_be_bytes([l[0], l[1]]) as usize).ok_or(())?;
                opt += 4 + len;
            }
            if opt != rr.end {
                return Err(());
            }
            edns = Some(Edns {
                // Sizes below 512 are treated as 512 (RFC 6891 §6.2.3).
                udp_size: (rr.class).max(512),
                version: (rr.ttl >> 16) as u8,
                dnssec_ok: rr.ttl & 0x8000 != 0,
            });
        }
        pos = rr.end;
    }
    if pos != m.len() {
        return Err(());
    }
    Ok(edns)
}
