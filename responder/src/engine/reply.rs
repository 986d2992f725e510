//! Writing the answer over the query: the header and question stay where
//! they are, sections are copied in from a template and their compression
//! pointers resolved against this query's name, then OPT goes last.
//!
//! Alongside, the reply keeps the Internet checksum sum of everything it
//! writes after the question, from the sums the table stores with each
//! template: the UDP checksum then only has to read the header and question.

use super::query::Query;
use crate::table::format::*;
use crate::table::ResponseView;
use crate::wire::checksum;
use crate::wire::dns::{self, flags, HEADER_LEN};
use crate::wire::dns::{class, RType};

/// OPT with no options: root name, type, class, TTL, RDLENGTH.
pub const OPT_LEN: usize = dns::OPT_ALONE_LEN;

/// An answer being written into the query's buffer.
pub struct Reply<'b> {
    pub buf: &'b mut [u8],
    /// Where the next byte goes.
    pub pos: usize,
    /// Largest message allowed, OPT included.
    pub limit: usize,
    pub flags: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
    /// Checksum sum of `buf[question end..pos]`, placed at its offsets.
    sum: u64,
}

/// A finished answer `buf[..len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub len: usize,
    /// Checksum sum of `buf[..len]` (RFC 1071, not folded), kept while
    /// writing rather than read back.
    pub sum: u64,
}

/// The template could not be placed: truncate, or the table is inconsistent.
pub enum Failure {
    Truncated,
    Corrupt,
}

impl<'b> Reply<'b> {
    pub fn new(buf: &'b mut [u8], query: &Query, limit: usize) -> Reply<'b> {
        let f = query.flags;
        Reply {
            pos: query.question.end,
            limit: limit.min(buf.len()),
            flags: flags::QR | (f & (flags::OPCODE_MASK | flags::RD | flags::CD)),
            ancount: 0,
            nscount: 0,
            arcount: 0,
            sum: 0,
            buf,
        }
    }

    fn room(&self, query: &Query) -> usize {
        let opt = if query.edns.is_some() { OPT_LEN } else { 0 };
        self.limit.saturating_sub(opt)
    }

    pub fn set_rcode(&mut self, rcode: u8) {
        self.flags = (self.flags & !flags::RCODE_MASK) | (rcode as u16 & flags::RCODE_MASK);
    }

    /// Copies a template in: body always, additional chunks while they fit.
    /// Always inlined: the overlaid answer path (`engine/overlaid.rs`) is
    /// large enough that LLVM otherwise calls it out of line there, 26
    /// instructions an answer more than with it inlined, as the base path
    /// has it (docs/BENCHMARKS.md, "answers per second after 1,000 applied
    /// changes").
    #[inline(always)]
    pub fn template(&mut self, query: &Query, r: &ResponseView<'_>) -> Result<(), Failure> {
        self.template_with(query, r, &[])
    }

    /// [`Reply::template`] with `proofs` (authority-only responses: NSEC
    /// records with their RRSIGs; `None` skipped) placed after its
    /// authority section; they are required, like the body (RFC 4035 §3.1.1).
    #[inline(always)]
    pub fn template_with(
        &mut self,
        query: &Query,
        r: &ResponseView<'_>,
        proofs: &[Option<ResponseView<'_>>],
    ) -> Result<(), Failure> {
        self.template_at(query, query, r, proofs)
    }

    /// [`Reply::template_with`] for a name that sits at `names` in the
    /// message: the question's name, or (DNAME) a name written in the answer.
    #[inline(always)]
    pub fn template_at<N: Names>(
        &mut self,
        query: &Query,
        names: &N,
        r: &ResponseView<'_>,
        proofs: &[Option<ResponseView<'_>>],
    ) -> Result<(), Failure> {
        // AA and the rcode describe the question, so a truncated answer keeps
        // them (RFC 1035 §4.1.1): set them before anything can truncate.
        if r.authoritative() {
            self.flags |= flags::AA;
        }
        self.set_rcode(r.rcode());
        let room = self.room(query);
        let body_start = self.pos;
        let body_end = body_start + r.body.len();
        if body_end > room || r.too_big() {
            return Err(Failure::Truncated);
        }
        self.buf[body_start..body_end].copy_from_slice(r.body);
        let patched = patch(self.buf, body_start, r.patches, names, body_start, 0)?;
        self.add_sum(checksum::combine(checksum::placed(r.body_sum, body_start), patched));
        self.pos = body_end;
        self.ancount = r.ancount;
        self.nscount = r.nscount;
        if !proofs.is_empty() {
            self.proofs(query, names, proofs, room)?;
        }
        for chunk in r.chunks() {
            let end = self.pos + chunk.bytes.len();
            if end > room {
                if chunk.required {
                    return Err(Failure::Truncated);
                }
                continue;
            }
            let start = self.pos;
            self.buf[start..end].copy_from_slice(chunk.bytes);
            let patched = match patch(self.buf, start, chunk.patches, names, body_start, start) {
                Ok(sum) => sum,
                // Landed too far into a long (TCP) answer for its pointers
                // to reach itself: as if it did not fit.
                Err(Failure::Truncated) if !chunk.required => continue,
                Err(e) => return Err(e),
            };
            self.add_sum(checksum::combine(checksum::placed(chunk.sum, start), patched));
            self.pos = end;
            // Counts come from the table: a corrupt one must not wrap, and
            // one slot stays free for OPT.
            self.arcount = match self.arcount.checked_add(chunk.arcount) {
                Some(n) if n < u16::MAX => n,
                _ => return Err(Failure::Corrupt),
            };
        }
        Ok(())
    }

    /// Empties the sections and sets TC: the client retries over TCP.
    pub fn truncate(&mut self, query: &Query) {
        self.pos = query.question.end;
        self.ancount = 0;
        self.nscount = 0;
        self.arcount = 0;
        self.sum = 0;
        self.flags |= flags::TC;
    }

    /// Writes `bytes` over what the reply holds at `at` (before `pos`),
    /// keeping the checksum sum: the old bytes' sum taken out (in ones'
    /// complement, adding the complement subtracts), the new one added.
    pub(super) fn overwrite(&mut self, at: usize, bytes: &[u8]) -> Result<(), Failure> {
        let end = at.checked_add(bytes.len()).filter(|&e| e <= self.pos).ok_or(Failure::Corrupt)?;
        let old = checksum::placed(checksum::sum(&self.buf[at..end]), at);
        self.buf[at..end].copy_from_slice(bytes);
        let new = checksum::placed(checksum::sum(bytes), at);
        self.sum = checksum::combine(checksum::combine(self.sum, new), !old);
        Ok(())
    }

    #[inline(always)]
    pub(super) fn add_sum(&mut self, sum: u64) {
        self.sum = checksum::combine(self.sum, sum);
    }

    /// Appends raw record bytes if they fit.
    pub fn push(&mut self, bytes: &[u8], query: &Query) -> Result<(), Failure> {
        let end = self.pos + bytes.len();
        if end > self.room(query) {
            return Err(Failure::Truncated);
        }
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.add_sum(checksum::placed(checksum::sum(bytes), self.pos));
        self.pos = end;
        Ok(())
    }

    /// OPT (when the query had one), then the header.
    pub fn finish(&mut self, query: &Query, our_udp_size: u16, ext_rcode: u8) -> Written {
        if let Some(edns) = query.edns {
            // TTL: extended rcode, version 0, then the DO bit (RFC 6891 §6.1.3).
            let ttl = (ext_rcode as u32) << 24 | if edns.dnssec_ok { 0x8000 } else { 0 };
            let opt = dns::opt_alone(our_udp_size, ttl);
            let end = self.pos + OPT_LEN;
            if end <= self.buf.len() {
                self.buf[self.pos..end].copy_from_slice(&opt);
                self.add_sum(checksum::placed(checksum::sum(&opt), self.pos));
                self.pos = end;
                self.arcount += 1;
            }
        }
        let header = write_header(self.buf, self.flags, 1, self.ancount, self.nscount, self.arcount);
        let sum = checksum::combine(checksum::combine(header, query.question.sum), self.sum);
        Written { len: self.pos, sum }
    }
}

/// Resolves compression placeholders written at `base`. Returns what that
/// adds to the checksum sum: each pointer's offset, as the placeholder
/// (`c0 00`) was already counted. A pointer past the 14 bits a pointer can
/// reach is `Truncated`: a chunk placed late in a long TCP answer, whose
/// targets inside itself are only known once placed (body targets are kept
/// within reach by the compiler and the loader).
#[inline]
pub(super) fn patch<N: Names>(
    buf: &mut [u8],
    base: usize,
    patches: &[u8],
    names: &N,
    body: usize,
    chunk: usize,
) -> Result<u64, Failure> {
    let mut sum = 0u64;
    for p in patches.chunks_exact(PATCH_LEN) {
        let pos = base + u16::from_le_bytes([p[0], p[1]]) as usize;
        let target = u16::from_le_bytes([p[2], p[3]]);
        let value = (target & TARGET_VALUE_MASK) as usize;
        let ptr = match target & TARGET_KIND_MASK {
            TARGET_BODY => body + value,
            TARGET_QSUFFIX => names.suffix(value).ok_or(Failure::Corrupt)?,
            TARGET_QNAME => names.whole(),
            _ => chunk + value,
        };
        // At most 65,535 patches of 24 bits each: a plain add cannot overflow.
        sum += put_pointer(buf, pos, ptr)?;
    }
    Ok(sum)
}

/// Writes a compression pointer to `ptr` at `pos` and gives its share of
/// the UDP checksum: the last step of every patch, the answer's and a
/// proof's (`proof.rs`).
#[inline(always)]
pub(super) fn put_pointer(buf: &mut [u8], pos: usize, ptr: usize) -> Result<u64, Failure> {
    if ptr > TARGET_VALUE_MASK as usize {
        return Err(Failure::Truncated);
    }
    let word = (0xc000 | ptr as u16).to_be_bytes();
    buf.get_mut(pos..pos + 2).ok_or(Failure::Corrupt)?.copy_from_slice(&word);
    Ok(checksum::placed(checksum::from_stored((ptr as u16).to_be_bytes()), pos))
}

/// Where the name a template answers sits in the message, for its
/// compression pointers: the question's name, or a name written earlier in
/// the answer (a DNAME's synthesised target, `dname`).
pub trait Names {
    /// Offset of the whole name.
    fn whole(&self) -> usize;
    /// Offset of its suffix of `labels` labels; `None` when it has fewer.
    fn suffix(&self, labels: usize) -> Option<usize>;
}

impl Names for Query {
    #[inline(always)]
    fn whole(&self) -> usize {
        HEADER_LEN
    }

    #[inline(always)]
    fn suffix(&self, labels: usize) -> Option<usize> {
        let all = self.question.labels;
        if labels > all {
            return None;
        }
        Some(HEADER_LEN + self.suffix_start(all - labels))
    }
}

/// Writes the header after the ID; returns its checksum sum.
pub fn write_header(buf: &mut [u8], flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> u64 {
    let Some(h) = buf.first_chunk_mut::<HEADER_LEN>() else { return 0 };
    dns::Header::new(&mut *h).set_flags_and_counts(flags, [qd, an, ns, ar]);
    checksum::sum(h)
}

/// A TXT record in class CH owned by the query name (server identity).
pub fn chaos_txt(text: &str, out: &mut [u8; 12 + 1 + 255]) -> usize {
    let t = &text.as_bytes()[..text.len().min(255)];
    // Owned by the query name: a pointer to the question.
    let (owner, rest) = out.split_at_mut(2);
    owner.copy_from_slice(&[0xc0, HEADER_LEN as u8]);
    let (fixed, rdata) = rest.split_at_mut(dns::rr_field::LEN);
    if let Ok(fixed) = <&mut [u8; dns::rr_field::LEN]>::try_from(fixed) {
        dns::write_rr_fixed(fixed, RType::TXT, class::CH, 0, t.len() as u16 + 1);
    }
    rdata[0] = t.len() as u8;
    rdata[1..1 + t.len()].copy_from_slice(t);
    2 + dns::rr_field::LEN + 1 + t.len()
}
