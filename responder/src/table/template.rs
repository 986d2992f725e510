//! Response templates: sections encoded once at compile time, with every
//! compression pointer left as a placeholder plus a patch that says what it
//! points at (see `format`). Encoding happens here; the runtime only copies
//! bytes and resolves patches.

use super::buf::Append;
use super::fasthash::FastMap;
use super::format::*;
use crate::wire::checksum;
use crate::zone::{FileName, Location, Name, NameSpan, RType};

/// Who owns a record in a template.
#[derive(Clone, Debug)]
pub enum Owner {
    /// The query name, whatever it is (exact matches and wildcard synthesis).
    Query,
    Name(Name),
}

/// Names a template may point at in the question: all suffixes of the query
/// name with at most `labels` labels are known to be the same as `name`'s.
#[derive(Clone, Copy)]
pub struct QueryContext<'a> {
    pub name: &'a Name,
    pub labels: usize,
}

/// One RRset to encode.
pub struct RrsetRef<'a> {
    pub owner: Owner,
    pub rtype: RType,
    pub ttl: u32,
    pub rdatas: &'a [&'a [u8]],
    /// The RRSIGs covering it, written after it in DNSSEC answers (DO=1).
    pub sigs: &'a [&'a [u8]],
    pub sig_ttl: u32,
    /// Its first record in the zone file, for messages about it.
    pub location: Place<'a>,
}

/// Where a record was in its zone file, as the compiler keeps it once the
/// records are gone: the file shared, the line in 32 bits (a `Location`
/// per RRset, or a reference to the record's, held the records).
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub file: &'a FileName,
    pub line: u32,
}

impl Place<'_> {
    pub fn to_location(self) -> Location {
        Location { file: self.file.clone(), line: self.line as usize }
    }
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Default, Clone, PartialEq, Eq, Debug)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub patches: Vec<(u16, u16)>,
    pub count: u16,
}

/// Room a body's buffer starts with: most signed answers (records with
/// their RRSIGs, proofs) fit, so the buffer is allocated once instead of
/// grown through eight reallocations (a fifth of a signed compile's
/// encoding instructions went to growing these buffers).
const BODY_CAPACITY: usize = 1024;
/// And a chunk's (an address RRset with its signatures).
const CHUNK_CAPACITY: usize = 256;

impl Encoded {
    fn with_capacity(bytes: usize) -> Encoded {
        Encoded { bytes: Vec::with_capacity(bytes), patches: Vec::with_capacity(16), count: 0 }
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Chunk {
    pub enc: Encoded,
    pub required: bool,
}

/// A whole response: flags, body (answer + authority) and additional chunks.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Template {
    pub aa: bool,
    pub rcode: u8,
    /// The body and required chunks need more than [`MAX_SECTIONS`] bytes:
    /// no message can carry them, so they are not kept (see `RESP_TOO_BIG`).
    pub too_big: bool,
    pub ancount: u16,
    pub nscount: u16,
    pub body: Encoded,
    pub chunks: Vec<Chunk>,
    /// Offset of the DO=1 variant of this response, 0 when it is this one.
    pub signed: u32,
}

/// What only the DO=1 encoding of a template has, buffer by buffer.
struct Marks {
    body: Extra,
    /// DO=1-only records in the answer section.
    answer: u16,
    chunks: Vec<Extra>,
}

impl Marks {
    /// The DO=0 template: `signed` without what only DO=1 has.
    fn strip(&self, signed: &Template) -> Option<Template> {
        let body = self.body.strip(&signed.body, None)?;
        let mut chunks = Vec::with_capacity(signed.chunks.len());
        for (c, extra) in signed.chunks.iter().zip(&self.chunks) {
            chunks.push(Chunk { enc: extra.strip(&c.enc, Some(&self.body))?, required: c.required });
        }
        let ancount = signed.ancount - self.answer;
        Some(Template {
            aa: signed.aa,
            rcode: signed.rcode,
            too_big: false,
            ancount,
            nscount: body.count - ancount,
            body,
            chunks,
            signed: 0,
        })
    }
}

/// Compression dictionary: lowercase wire suffixes and where they are. The
/// suffixes live in one byte arena, so building a template allocates a few
/// buffers, not one per name suffix. Past [`INDEXED_FROM`] entries (answers
/// of thousands of names) a hash index takes over from the linear search,
/// which had made a thousand-NS referral take minutes to compile.
struct Dict {
    arena: Vec<u8>,
    /// (start in arena, length, target)
    entries: Vec<(u32, u16, u16)>,
    /// Lowercase suffix → its first target, once there are many entries.
    index: Option<FastMap<Vec<u8>, u16>>,
    /// How many entries, the first, are the query name's suffixes.
    query: usize,
    /// Where a record's RDATA has names (`embedded_names_into`): kept
    /// here to be reused, record after record.
    spans: Vec<NameSpan>,
}

const INDEXED_FROM: usize = 64;

/// A dictionary's buffers larger than this (a referral of thousands of
/// names) are not kept for the next template.
const SPARE_MAX: usize = 1 << 16;

thread_local! {
    /// The last template's dictionary, emptied, for the next one on this
    /// thread: its buffers were a signed compile's most frequent
    /// allocations (two per template, several million at a million names).
    static SPARE: std::cell::RefCell<Option<Dict>> = const { std::cell::RefCell::new(None) };
}

impl Dict {
    fn new(ctx: QueryContext<'_>) -> Dict {
        let spare = SPARE.with_borrow_mut(Option::take);
        let mut d = spare.unwrap_or_else(|| Dict {
            arena: Vec::with_capacity(256),
            entries: Vec::with_capacity(16),
            index: None,
            query: 0,
            spans: Vec::new(),
        });
        let wire = ctx.name.wire();
        let mut pos = 0;
        let mut remaining = ctx.name.label_count();
        let stored = d.store(wire);
        while remaining > 0 {
            if remaining <= ctx.labels {
                // By label count, never "the query name": the template may
                // serve names longer than its context (NXDOMAIN, referrals).
                d.push_at(stored, wire.len(), pos, TARGET_QSUFFIX | remaining as u16);
            }
            pos += 1 + wire[pos] as usize;
            remaining -= 1;
        }
        d.query = d.entries.len();
        d
    }

    /// Empties the dictionary and keeps it for this thread's next [`Dict::new`].
    fn recycle(mut self) {
        if self.arena.capacity() > SPARE_MAX || self.entries.capacity() > SPARE_MAX {
            return;
        }
        self.arena.clear();
        self.entries.clear();
        self.index = None;
        self.query = 0;
        SPARE.with_borrow_mut(|spare| *spare = Some(self));
    }

    /// How much the dictionary holds, to [`Dict::reset`] to later.
    fn mark(&self) -> (usize, usize) {
        (self.arena.len(), self.entries.len())
    }

    /// Forgets what was pushed since `mark` (a chunk's own names).
    fn reset(&mut self, (arena, entries): (usize, usize)) {
        if let Some(index) = &mut self.index {
            for &(start, len, target) in &self.entries[entries..] {
                let key = &self.arena[start as usize..start as usize + len as usize];
                if index.get(key) == Some(&target) {
                    index.remove(key);
                }
            }
        }
        self.arena.truncate(arena);
        self.entries.truncate(entries);
    }

    /// Copies `name` into the arena, lowered, and gives where it starts,
    /// for [`Dict::push_at`]: a name's suffixes are its tails, so they
    /// share its bytes, copied and lowered once rather than once per
    /// suffix (that was a third of the encoding's pushing).
    fn store(&mut self, name: &[u8]) -> usize {
        let start = self.store_lowered(name);
        self.arena[start..].make_ascii_lowercase();
        start
    }

    /// [`Dict::store`] of a name already lowered.
    fn store_lowered(&mut self, lower: &[u8]) -> usize {
        let start = self.arena.len();
        self.arena.extend_from_slice(lower);
        start
    }

    /// Files the suffix starting `at` octets into the name of `len` octets
    /// stored at `stored` (by [`Dict::store`]) under `target`.
    fn push_at(&mut self, stored: usize, len: usize, at: usize, target: u16) {
        let (start, len) = (stored + at, len - at);
        self.entries.push((start as u32, len as u16, target));
        if self.index.is_none() && self.entries.len() >= INDEXED_FROM {
            let mut index = FastMap::default();
            for &(start, len, target) in &self.entries {
                let key = self.arena[start as usize..start as usize + len as usize].to_vec();
                index.entry(key).or_insert(target);
            }
            self.index = Some(index);
        } else if let Some(index) = &mut self.index {
            index.entry(self.arena[start..start + len].to_vec()).or_insert(target);
        }
    }

    /// The target of `lower` (a lowercase suffix) in the query name.
    fn find_in_query(&self, lower: &[u8]) -> Option<u16> {
        self.first_among(&self.entries[..self.query], lower)
    }

    /// The first target pushed for `lower` (a lowercase suffix). The
    /// arena is lowercase too, so a byte compare says it: the name is
    /// lowered once by the writer, not once per entry compared.
    fn find(&self, lower: &[u8]) -> Option<u16> {
        if let Some(index) = &self.index {
            return index.get(lower).copied();
        }
        self.first_among(&self.entries, lower)
    }

    fn first_among(&self, entries: &[(u32, u16, u16)], lower: &[u8]) -> Option<u16> {
        entries
            .iter()
            .find(|&&(start, len, _)| {
                len as usize == lower.len() && &self.arena[start as usize..start as usize + len as usize] == lower
            })
            .map(|&(_, _, t)| t)
    }
}

/// Writes records into one buffer (the body or a chunk) against a dictionary.
struct Writer<'d> {
    out: Encoded,
    dict: &'d mut Dict,
    kind: u16,
    /// Offsets of this buffer below this may be pointer targets. In the
    /// body, those that stay below 2^14 after the longest question. In an
    /// optional chunk, any 14-bit one: where the chunk lands is known only
    /// at run time, and the engine leaves out a chunk whose pointers would
    /// not reach. A required chunk has none, so it can always be placed.
    target_limit: usize,
    /// Whether the first owner of each RRset points only at the query
    /// name (see [`Sections::encode`]).
    owners_at_query: bool,
    /// What only the DO=1 form has (RRSIGs, proofs): byte ranges, in
    /// order, and how many records (see [`Sections::encode_both`]).
    extra: Extra,
}

/// The DO=1-only records of one encoded buffer.
#[derive(Default)]
struct Extra {
    ranges: Vec<(usize, usize)>,
    records: u16,
}

impl Extra {
    /// Marks the bytes `start..end` of `count` records as DO=1 only.
    fn add(&mut self, start: usize, end: usize, count: u16) {
        if end > start {
            self.ranges.push((start, end));
            self.records += count;
        }
    }

    /// Where offset `at` of the DO=1 buffer is once the ranges are taken
    /// out; `None` inside one.
    fn map(&self, at: usize) -> Option<usize> {
        let mut removed = 0;
        for &(s, e) in &self.ranges {
            if at < s {
                break;
            }
            if at < e {
                return None;
            }
            removed += e - s;
        }
        Some(at - removed)
    }

    /// `enc` without the ranges: the bytes and patches the DO=0 encoding
    /// writes, the pointers' targets moved to match (`body` maps targets
    /// in the body, for a chunk). `None` when a pointer kept aims into
    /// what is taken out: then the DO=0 encoding would differ.
    fn strip(&self, enc: &Encoded, body: Option<&Extra>) -> Option<Encoded> {
        if self.ranges.is_empty() && body.is_none_or(|b| b.ranges.is_empty()) {
            return Some(enc.clone());
        }
        let mut bytes = Vec::with_capacity(enc.bytes.len());
        let mut from = 0;
        for &(s, e) in &self.ranges {
            bytes.extend_from_slice(&enc.bytes[from..s]);
            from = e;
        }
        bytes.extend_from_slice(&enc.bytes[from..]);
        let mut patches = Vec::with_capacity(enc.patches.len());
        for &(pos, target) in &enc.patches {
            let Some(pos) = self.map(pos as usize) else { continue };
            let value = (target & TARGET_VALUE_MASK) as usize;
            let target = match (target & TARGET_KIND_MASK, body) {
                (TARGET_BODY, Some(b)) => TARGET_BODY | b.map(value)? as u16,
                (TARGET_BODY, None) | (TARGET_CHUNK, _) => (target & TARGET_KIND_MASK) | self.map(value)? as u16,
                _ => target,
            };
            patches.push((pos as u16, target));
        }
        Some(Encoded { bytes, patches, count: enc.count - self.records })
    }
}

impl Writer<'_> {
    /// Whether the bytes written so far still fit some message.
    fn fits(&self) -> bool {
        self.out.bytes.len() <= MAX_SECTIONS
    }

    /// Writes a whole RRset, stopping once no message could carry it (so
    /// that a million-record RRset neither takes its size in memory nor
    /// overflows the 16-bit record count).
    fn rrset(&mut self, set: &RrsetRef<'_>, dnssec: bool) {
        let mut first = self.owners_at_query;
        for rd in set.rdatas {
            if !self.fits() {
                return;
            }
            self.record(&set.owner, set.rtype, set.ttl, rd, first);
            first = false;
        }
        if !dnssec {
            return;
        }
        let (start, count) = (self.out.bytes.len(), self.out.count);
        for rd in set.sigs {
            if !self.fits() {
                break;
            }
            self.record(&set.owner, RType::RRSIG, set.sig_ttl, rd, false);
        }
        self.extra.add(start, self.out.bytes.len(), self.out.count - count);
    }

    fn pointer(&mut self, target: u16) {
        self.out.patches.push((self.out.bytes.len() as u16, target));
        self.out.bytes.extend_from_slice(&PLACEHOLDER);
    }

    /// Writes `wire` (an uncompressed name), pointing at the longest known
    /// suffix when `compress` (only the query name's with `at_query`), and
    /// records its own suffixes as targets.
    fn name(&mut self, wire: &[u8], compress: bool, at_query: bool) {
        let start = self.out.bytes.len();
        let mut pos = 0;
        let mut matched = None;
        // Lowered once here, for every suffix's search.
        let mut buf = [0u8; crate::zone::name::MAX_NAME_LEN];
        let lower = match buf.get_mut(..wire.len()) {
            Some(lower) if compress => {
                lower.copy_from_slice(wire);
                lower.make_ascii_lowercase();
                Some(&*lower)
            }
            // Not compressed (or longer than a name: never compressed).
            _ => None,
        };
        while wire[pos] != 0 {
            if let Some(lower) = lower {
                let suffix = &lower[pos..];
                let found = if at_query { self.dict.find_in_query(suffix) } else { self.dict.find(suffix) };
                if let Some(target) = found {
                    matched = Some((pos, target));
                    break;
                }
            }
            pos += 1 + wire[pos] as usize;
        }
        let literal = matched.map_or(wire.len(), |(p, _)| p);
        self.out.bytes.extend_from_slice(&wire[..literal]);
        // Every suffix written out literally (the root alone is not worth it)
        // becomes a target for later names.
        let mut s = 0;
        let mut stored = None;
        while s < literal && wire[s] != 0 {
            let at = start + s;
            if at < self.target_limit {
                let from = *stored.get_or_insert_with(|| match lower {
                    Some(lower) => self.dict.store_lowered(lower),
                    None => self.dict.store(wire),
                });
                self.dict.push_at(from, wire.len(), s, self.kind | at as u16);
            }
            s += 1 + wire[s] as usize;
        }
        if let Some((_, target)) = matched {
            self.pointer(target);
        }
    }

    fn record(&mut self, owner: &Owner, rtype: RType, ttl: u32, rdata: &[u8], at_query: bool) {
        match owner {
            Owner::Query => self.pointer(TARGET_QNAME),
            Owner::Name(n) => self.name(n.wire(), true, at_query),
        }
        self.out.bytes.extend_from_slice(&rtype.0.to_be_bytes());
        self.out.bytes.extend_from_slice(&crate::zone::class::IN.to_be_bytes());
        self.out.bytes.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.out.bytes.len();
        self.out.bytes.extend_from_slice(&[0, 0]);
        self.rdata(rtype, rdata);
        let rdlen = (self.out.bytes.len() - len_at - 2) as u16;
        self.out.bytes[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        self.out.count += 1;
    }

    /// RDATA with the names RFC 3597 §4 allows to compress (NS, CNAME, PTR,
    /// MX, SOA) compressed; other names written whole but still usable as
    /// compression targets by later names; everything else copied.
    fn rdata(&mut self, rtype: RType, rdata: &[u8]) {
        let mut spans = std::mem::take(&mut self.dict.spans);
        crate::zone::embedded_names_into(rtype, rdata, &mut spans);
        let mut pos = 0;
        for &(at, len, compressible) in &spans {
            self.out.bytes.extend_from_slice(&rdata[pos..at]);
            self.name(&rdata[at..at + len], compressible, false);
            pos = at + len;
        }
        self.out.bytes.extend_from_slice(&rdata[pos..]);
        self.dict.spans = spans;
    }
}

/// Sections of a response before encoding.
pub struct Sections<'a> {
    pub aa: bool,
    pub rcode: u8,
    pub answer: Vec<RrsetRef<'a>>,
    pub authority: Vec<RrsetRef<'a>>,
    /// Additional RRsets, each with whether it must fit (referral glue).
    pub additional: Vec<(RrsetRef<'a>, bool)>,
    /// Authority RRsets only DNSSEC answers carry: the NSEC/NSEC3 proofs
    /// (RFC 4035 §3.1.3) and the DS of a signed referral.
    pub denial: Vec<RrsetRef<'a>>,
}

impl Sections<'_> {
    /// SERVFAIL with no record and AA clear: what an expired zone answers.
    pub fn servfail() -> Sections<'static> {
        Sections {
            aa: false,
            rcode: crate::wire::dns::rcode::SERVFAIL,
            answer: vec![],
            authority: vec![],
            additional: vec![],
            denial: vec![],
        }
    }

    /// The sections in wire form; with `dnssec`, as a DO=1 query gets them:
    /// each RRset followed by its RRSIGs and the authority's proofs added
    /// (RFC 4035 §3.1). Those are in the body, so they must fit or the
    /// answer is truncated (§3.1.1); RRSIGs of optional additional records
    /// go in their chunk and are left out with it.
    pub fn encode(&self, ctx: QueryContext<'_>, dnssec: bool) -> Template {
        self.encode_marked(ctx, dnssec).0
    }

    /// Both encodings, DO=0 and (when it differs) DO=1, for the price of
    /// one: the DO=1 one is written and the DO=0 one is what is left once
    /// its RRSIGs and proofs are taken out. That is exactly what `encode`
    /// would write for DO=0 (same records in the same order, compressed
    /// against the same earlier names) unless a kept name points into a
    /// taken-out record, a limit was reached (a name past the pointer
    /// range, an RRset cut short, a chunk left out), or the answer is too
    /// big: then the DO=0 form is encoded on its own. This halves a signed
    /// compile's encoding work.
    pub fn encode_both(&self, ctx: QueryContext<'_>) -> (Template, Option<Template>) {
        let (signed, marks) = self.encode_marked(ctx, true);
        let derived = marks.and_then(|m| m.strip(&signed));
        let plain = match derived {
            Some(plain) => plain,
            None => self.encode(ctx, false),
        };
        debug_assert_eq!(plain, self.encode(ctx, false), "the DO=0 encoding derived from the DO=1 one");
        if plain == signed {
            return (plain, None);
        }
        (plain, Some(signed))
    }

    /// `encode`, and with `dnssec` what only DO=1 has in each buffer, when
    /// no limit was reached (see [`Sections::encode_both`]).
    fn encode_marked(&self, ctx: QueryContext<'_>, dnssec: bool) -> (Template, Option<Marks>) {
        let mut dict = Dict::new(ctx);
        let encoded = self.encode_with(&mut dict, dnssec);
        dict.recycle();
        encoded
    }

    /// [`Sections::encode_marked`] against `dict`, made for its context.
    fn encode_with(&self, dict: &mut Dict, dnssec: bool) -> (Template, Option<Marks>) {
        let mut w = Writer {
            out: Encoded::with_capacity(BODY_CAPACITY),
            dict,
            kind: TARGET_BODY,
            target_limit: MAX_BODY_TARGET + 1,
            owners_at_query: false,
            extra: Extra::default(),
        };
        for set in &self.answer {
            w.rrset(set, dnssec);
        }
        let ancount = w.out.count;
        let answer_extra = w.extra.records;
        for set in &self.authority {
            w.rrset(set, dnssec);
        }
        if dnssec {
            // As Knot writes them: an owner not just written points only at
            // the query name, even where the name was written before (a
            // CNAME's target, say), so that the answer is as long as Knot's.
            w.owners_at_query = true;
            let (start, count) = (w.out.bytes.len(), w.out.count);
            let (ranges, records) = (w.extra.ranges.len(), w.extra.records);
            for set in &self.denial {
                w.rrset(set, dnssec);
            }
            // The proofs are DO=1 only, their RRSIGs with them: one range.
            w.extra.ranges.truncate(ranges);
            w.extra.records = records;
            w.extra.add(start, w.out.bytes.len(), w.out.count - count);
            w.owners_at_query = false;
        }
        let nscount = w.out.count - ancount;
        let body_extra = std::mem::take(&mut w.extra);
        // Positions past the pointer range are no targets in DO=1 but may
        // be in the shorter DO=0 form: derive only below it.
        let mut derivable = dnssec && w.out.bytes.len() <= MAX_BODY_TARGET + 1;
        let body = std::mem::take(&mut w.out);
        let mut too_big = body.bytes.len() > MAX_SECTIONS;
        let mut required_len = body.bytes.len();
        // The header's ARCOUNT, OPT included, must hold every chunk's count.
        let mut arcount = 1usize;
        let mut chunks = Vec::new();
        let mut chunk_extras = Vec::new();
        for (set, required) in &self.additional {
            if too_big {
                break;
            }
            // A chunk may point into the body or at itself, never at another
            // chunk: chunks before it may be left out at run time.
            let body_names = dict.mark();
            let mut cw = Writer {
                out: Encoded::with_capacity(CHUNK_CAPACITY),
                dict: &mut *dict,
                kind: TARGET_CHUNK,
                target_limit: if *required { 0 } else { TARGET_VALUE_MASK as usize + 1 },
                owners_at_query: false,
                extra: Extra::default(),
            };
            cw.rrset(set, dnssec);
            let enc = std::mem::take(&mut cw.out);
            let extra = std::mem::take(&mut cw.extra);
            // Forget the chunk's own names (rather than cloning the body's
            // dictionary for each chunk: a referral of thousands of NS has
            // thousands of glue chunks).
            dict.reset(body_names);
            let len = enc.bytes.len();
            if *required {
                required_len += len;
                too_big = required_len > MAX_SECTIONS;
            } else if len > MAX_SECTIONS || arcount + enc.count as usize > u16::MAX as usize {
                // Could never be sent: leave it out.
                derivable = false;
                continue;
            } else if len > TARGET_VALUE_MASK as usize + 1 {
                derivable = false;
            }
            arcount += enc.count as usize;
            chunks.push(Chunk { enc, required: *required });
            chunk_extras.push(extra);
        }
        if too_big {
            return (Template { aa: self.aa, rcode: self.rcode, too_big, ..Template::default() }, None);
        }
        let t = Template { aa: self.aa, rcode: self.rcode, too_big, ancount, nscount, body, chunks, signed: 0 };
        let marks = derivable.then_some(Marks { body: body_extra, answer: answer_extra, chunks: chunk_extras });
        (t, marks)
    }

    /// The RRset that takes the most room: the one to name when the
    /// answer is too big.
    pub fn largest(&self) -> Option<&RrsetRef<'_>> {
        let size = |s: &RrsetRef<'_>| s.rdatas.iter().map(|r| 12 + r.len()).sum::<usize>();
        let sets = self.answer.iter().chain(&self.authority).chain(&self.denial);
        let sets = sets.chain(self.additional.iter().map(|(s, _)| s));
        sets.max_by_key(|s| size(s))
    }
}

impl Template {
    /// Appends the template in table layout (see `format`).
    pub fn serialize(&self, out: &mut impl Append) {
        let too_big = if self.too_big { RESP_TOO_BIG } else { 0 };
        out.push(self.rcode | if self.aa { RESP_AA } else { 0 } | too_big);
        out.extend_from_slice(&(self.body.patches.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.ancount.to_le_bytes());
        out.extend_from_slice(&self.nscount.to_le_bytes());
        out.extend_from_slice(&(self.body.bytes.len() as u16).to_le_bytes());
        out.extend_from_slice(&(self.chunks.len() as u16).to_le_bytes());
        out.extend_from_slice(&stored_sum(&self.body.bytes));
        out.extend_from_slice(&self.signed.to_le_bytes());
        out.extend_from_slice(&self.body.bytes);
        put_patches(out, &self.body.patches);
        for c in &self.chunks {
            out.extend_from_slice(&(c.enc.bytes.len() as u16).to_le_bytes());
            out.extend_from_slice(&c.enc.count.to_le_bytes());
            out.push(if c.required { CHUNK_REQUIRED } else { 0 });
            out.extend_from_slice(&(c.enc.patches.len() as u16).to_le_bytes());
            out.extend_from_slice(&stored_sum(&c.enc.bytes));
            out.extend_from_slice(&c.enc.bytes);
            put_patches(out, &c.enc.patches);
        }
    }

    /// How many bytes `serialize` appends: what a template prepared on
    /// its own (`prepare`) allocates at once, instead of growing into.
    pub fn serialized_len(&self) -> usize {
        let chunks = self.chunks.iter().map(|c| 9 + c.enc.bytes.len() + 4 * c.enc.patches.len());
        17 + self.body.bytes.len() + 4 * self.body.patches.len() + chunks.sum::<usize>()
    }

    /// Whether the layout's 16-bit counters can hold this template. `encode`
    /// keeps every template within them (bodies and chunks of at most
    /// [`MAX_SECTIONS`] bytes); this is the compiler's last guard.
    pub fn fits_layout(&self) -> bool {
        let fits = |e: &Encoded| e.patches.len() <= u16::MAX as usize && e.bytes.len() <= u16::MAX as usize;
        fits(&self.body) && self.chunks.len() <= u16::MAX as usize && self.chunks.iter().all(|c| fits(&c.enc))
    }
}

/// Sets the DO=1 offset (`Template::signed`) of a template `serialize`
/// wrote: prepared on another thread, it learns the offset when placed.
pub fn set_signed(serialized: &mut [u8], off: u32) {
    // After the flags byte, five u16 counts and the checksum.
    if let Some(at) = serialized.get_mut(13..17) {
        at.copy_from_slice(&off.to_le_bytes());
    }
}

/// The checksum partial sum of template bytes, as the table stores it.
pub fn stored_sum(bytes: &[u8]) -> [u8; 2] {
    checksum::fold(checksum::sum(bytes)).to_ne_bytes()
}

fn put_patches(out: &mut impl Append, patches: &[(u16, u16)]) {
    for &(pos, target) in patches {
        out.extend_from_slice(&pos.to_le_bytes());
        out.extend_from_slice(&target.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s, None).unwrap().unwrap()
    }

    /// A signed answer with an NS chunk's glue: the DO=0 form comes from
    /// the DO=1 one (no second encoding) and is what `encode` writes.
    #[test]
    fn the_plain_form_is_derived_from_the_signed_one() {
        let file = FileName::from("t");
        let location = Place { file: &file, line: 1 };
        let (apex, ns) = (name("example.com."), name("ns1.example.com."));
        let sig = b"\x00\x02\x0d\x02\x00\x00\x0e\x10\x00\x00\x00\x01\x00\x00\x00\x01\x12\x67\x07example\x03com\x00sig";
        let ns_rd = ns.wire().to_vec();
        let (a, rds, sigs) = ([198u8, 18, 0, 53], [&ns_rd[..]], [&sig[..]]);
        let addr = [&a[..]];
        let ns_set = RrsetRef {
            owner: Owner::Name(apex.clone()),
            rtype: RType::NS,
            ttl: 3600,
            rdatas: &rds,
            sigs: &sigs,
            sig_ttl: 3600,
            location,
        };
        let glue = RrsetRef {
            owner: Owner::Name(ns.clone()),
            rtype: RType::A,
            ttl: 3600,
            rdatas: &addr,
            sigs: &sigs,
            sig_ttl: 3600,
            location,
        };
        let s = Sections {
            aa: true,
            rcode: 0,
            answer: vec![ns_set],
            authority: vec![],
            additional: vec![(glue, false)],
            denial: vec![],
        };
        let ctx = QueryContext { name: &apex, labels: 2 };
        let (signed, marks) = s.encode_marked(ctx, true);
        let derived = marks.and_then(|m| m.strip(&signed)).expect("derivable");
        assert_eq!(derived, s.encode(ctx, false));
        assert_eq!(signed, s.encode(ctx, true));
        assert_ne!(derived, signed);
        assert_eq!((derived.ancount, derived.chunks[0].enc.count), (1, 1));
        for t in [&derived, &signed] {
            let mut out = Vec::new();
            t.serialize(&mut out);
            assert_eq!(out.len(), t.serialized_len());
        }
        assert_eq!(s.encode_both(ctx), (derived, Some(signed)));
    }
}
