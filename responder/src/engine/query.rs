//! Reading a query: header, the one question, and the OPT record (RFC 6891).

use crate::table::format::NameHasher;
use crate::wire::dns::RType;
use crate::wire::dns::{self, flags, Question, LOWER_LEN};

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
    /// The table's hash of the lowered name, taken while lowering it.
    pub hash: u64,
    /// The query's header flags.
    pub flags: u16,
    pub opcode: u8,
    pub edns: Option<Edns>,
    /// The table's index of the zone that answered (`resolve::plan` notes
    /// it, for counting), `u32::MAX` until one does.
    pub zone: std::cell::Cell<u32>,
    /// NSEC3 hashes the batch prefetcher took for this batch's answers.
    pub prehashed: super::prehashed::Prehashed,
}

/// Record counts of the sections after the question.
#[derive(Debug, Clone, Copy)]
struct Counts {
    an: u16,
    ns: u16,
    ar: u16,
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
            hash: 0,
            flags: 0,
            opcode: 0,
            edns: None,
            zone: std::cell::Cell::new(u32::MAX),
            prehashed: super::prehashed::Prehashed::new(),
        }
    }

    /// Reads `m` into `self`, in place: the query is large enough that
    /// returning it by value would be a noticeable copy per packet.
    #[inline]
    pub fn parse(&mut self, m: &[u8]) -> Result<(), Rejection> {
        // The header as one fixed array: its fields are then read without a
        // bounds check each.
        let Some(header) = m.first_chunk::<{ dns::HEADER_LEN }>() else { return Err(Rejection::Drop) };
        let word = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
        let f = word(2);
        if f & flags::QR != 0 {
            return Err(Rejection::Drop);
        }
        if word(4) != 1 {
            return Err(Rejection::FormErr(None));
        }
        self.flags = f;
        self.opcode = ((f & flags::OPCODE_MASK) >> 11) as u8;
        let mut hasher = NameHasher::new();
        self.question = dns::parse_question(m, &mut self.lower, |w| hasher.word(w)).ok_or(Rejection::FormErr(None))?;
        self.hash = hasher.finish(self.question.name_len);
        let end = self.question.end;
        let counts = Counts { an: word(6), ns: word(8), ar: word(10) };
        self.edns = parse_rest(m, end, counts).map_err(|()| Rejection::FormErr(Some(end)))?;
        Ok(())
    }
}

/// Walks the answer, authority and additional sections; finds the OPT.
/// Anything that does not parse, a second OPT, an OPT not owned by the root
/// or trailing bytes make the query malformed.
#[inline]
fn parse_rest(m: &[u8], pos: usize, counts: Counts) -> Result<Option<Edns>, ()> {
    // Nearly every query is the question alone, or the question and an OPT
    // without options: recognised by their fixed shape, without a walk.
    if counts.an == 0 && counts.ns == 0 {
        let rest = m.get(pos..).ok_or(())?;
        match (counts.ar, rest.len()) {
            (0, 0) => return Ok(None),
            (1, dns::OPT_ALONE_LEN) => {
                if let Some((class, ttl)) = rest.first_chunk().and_then(dns::parse_opt_alone) {
                    return Ok(Some(Edns::new(class, ttl)));
                }
            }
            _ => {}
        }
    }
    walk_rest(m, pos, counts)
}

impl Edns {
    /// From an OPT record's class (the UDP size) and TTL fields.
    fn new(class: u16, ttl: u32) -> Edns {
        Edns {
            // Sizes below 512 are treated as 512 (RFC 6891 §6.2.3).
            udp_size: class.max(512),
            version: (ttl >> 16) as u8,
            dnssec_ok: ttl & 0x8000 != 0,
        }
    }
}

/// The NSID option code (RFC 5001).
const NSID_OPTION: u16 = 3;

/// [`parse_rest`] for any shape: every record parsed.
fn walk_rest(m: &[u8], mut pos: usize, counts: Counts) -> Result<Option<Edns>, ()> {
    let before_additional = counts.an as usize + counts.ns as usize;
    let total = before_additional + counts.ar as usize;
    let mut edns = None;
    for i in 0..total {
        let rr = dns::parse_rr(m, pos).ok_or(())?;
        // A signed query is not read here: it fails as malformed, and the
        // error's cold path (`engine::signed`) finds the TSIG, checks it and
        // answers the query without it. Plain queries never run it.
        if rr.rtype == RType::TSIG.0 {
            return Err(());
        }
        if rr.rtype == RType::OPT.0 {
            if i < before_additional || edns.is_some() || m[rr.start] != 0 {
                return Err(());
            }
            let mut opt = rr.rdata;
            while opt < rr.end {
                let option = m.get(opt..).and_then(|o| o.first_chunk::<{ dns::option_field::LEN }>()).ok_or(())?;
                let len = u16::from_be_bytes([
                    option[dns::option_field::LENGTH.start],
                    option[dns::option_field::LENGTH.start + 1],
                ]);
                // NSID asked for: answered on the cold path (`engine::nsid`),
                // as TSIG is, so plain queries never run it.
                if u16::from_be_bytes([option[0], option[1]]) == NSID_OPTION {
                    return Err(());
                }
                opt += dns::option_field::LEN + len as usize;
            }
            if opt != rr.end {
                return Err(());
            }
            edns = Some(Edns::new(rr.class, rr.ttl));
        }
        pos = rr.end;
    }
    if pos != m.len() {
        return Err(());
    }
    Ok(edns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash taken while lowering is the table's hash of the lowered name,
    /// at every name length around word boundaries and in any case.
    #[test]
    fn the_hash_taken_while_lowering_is_the_tables() {
        for len in 1..=40usize {
            let label: Vec<u8> = (0..len).map(|i| if i % 3 == 0 { b'A' + (i % 26) as u8 } else { b'z' }).collect();
            let mut m = vec![0u8; 12];
            m[5] = 1;
            m.push(len as u8);
            m.extend_from_slice(&label);
            m.extend_from_slice(b"\x00\x00\x01\x00\x01");
            let mut q = Query::new();
            q.parse(&m).expect("a valid query");
            assert_eq!(q.hash, crate::table::format::hash_name(q.lname()), "label of {len}");
            assert!(q.lname().iter().all(|b| !b.is_ascii_uppercase()));
        }
    }

    /// The shortcut and the full walk agree on every query they both read.
    #[test]
    fn the_fixed_shape_shortcut_agrees_with_the_walk() {
        let mut base = vec![0u8; 12];
        base[5] = 1;
        base.extend_from_slice(b"\x03www\x00\x00\x01\x00\x01");
        let pos = base.len();
        let opts: [&[u8]; 5] = [
            b"",
            b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00",
            b"\x00\x00\x29\x00\x10\x00\x01\x00\x00\x00\x00",
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x00",
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x01",
        ];
        for opt in opts {
            for arcount in [0u8, 1, 2] {
                let mut m = base.clone();
                m[11] = arcount;
                m.extend_from_slice(opt);
                let counts = Counts { an: 0, ns: 0, ar: arcount.into() };
                assert_eq!(parse_rest(&m, pos, counts), walk_rest(&m, pos, counts), "{opt:02x?} arcount {arcount}");
            }
        }
        let mut m = base.clone();
        m[11] = 1;
        m.extend_from_slice(opts[1]);
        let counts = Counts { an: 0, ns: 0, ar: 1 };
        assert_eq!(parse_rest(&m, pos, counts), Ok(Some(Edns { udp_size: 1232, version: 0, dnssec_ok: true })));
        m[pos + 2] = 0x2a; // not OPT: an ordinary additional record
        assert_eq!(parse_rest(&m, pos, counts), Ok(None));
    }
}
