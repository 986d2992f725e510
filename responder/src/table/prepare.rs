//! A template's encoding split in two so that the encoding can run on
//! several cores: [`prepare`] (the answer's sections → its serialized DO=0
//! and DO=1 bytes, and the warning it calls for; no shared state) and
//! [`Placer::place`] (the bytes into the table, written once: serial, in
//! the order the one-thread compiler placed them, so the table is the
//! same bytes however many threads prepared them).

use super::buf::TableBuf;
use super::compile::CompileError;
use super::dedup::{hash, Written};
use super::format::MAX_MESSAGE;
use super::template::{set_signed, Owner, QueryContext, Sections, Template};
use crate::zone::Location;

/// One template, encoded and serialized into a buffer the caller keeps
/// (`prepare`), not yet in the table.
pub struct Prepared {
    /// Where the DO=0 form is in that buffer, its DO=1 offset still 0
    /// ([`Placer::place`] sets it), and the hash of these bytes
    /// (`dedup::hash`): computed here, on the encoding threads, rather
    /// than by the serial placer, where hashing every template's bytes
    /// twice was a large part of its time.
    plain: (Span, u64),
    /// The DO=1 form, when it differs, and its hash.
    signed: Option<(Span, u64)>,
    /// An answer too big for any message: its largest RRset's place and
    /// the warning to give, once per RRset.
    too_big: Option<(Location, String)>,
}

/// A template's bytes in the buffer it was serialized into: a node's
/// templates share one buffer, so a node's encoding allocates one block
/// for the placing thread to free, not two per template (freed on the
/// other thread than the one that allocated them, each such block cost
/// the allocator's cross-thread path).
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// Appends `t` to `buf`, hashed.
fn serialize(t: &Template, buf: &mut Vec<u8>) -> (Span, u64) {
    buf.reserve(t.serialized_len());
    let start = buf.len();
    t.serialize(buf);
    (Span { start, end: buf.len() }, hash(&buf[start..]))
}

/// Encodes `s` (both forms with `signed`: `Sections::encode_both`), its
/// bytes appended to `buf`, which [`Placer::place`] is given with it.
pub fn prepare(
    s: &Sections<'_>,
    ctx: QueryContext<'_>,
    signed: bool,
    buf: &mut Vec<u8>,
) -> Result<Prepared, CompileError> {
    let (t, st) = if signed { s.encode_both(ctx) } else { (s.encode(ctx, false), None) };
    let signed = st.map(|mut st| {
        if !st.fits_layout() {
            st = Template { aa: st.aa, rcode: st.rcode, too_big: true, ..Template::default() };
        }
        serialize(&st, buf)
    });
    // The RRset to name: the largest in the answer (over a limit, an
    // answer always has one). Named only when a message needs it:
    // formatting the owner of every template was a tenth of a signed
    // compile's emit.
    let culprit = || {
        s.largest().map(|set| match &set.owner {
            Owner::Query => (ctx.name.to_string(), set),
            Owner::Name(n) => (n.to_string(), set),
        })
    };
    if !t.fits_layout() {
        let what = match culprit() {
            Some((owner, set)) => format!("{}: the answer for {owner} {}", set.location, set.rtype),
            None => format!("the answer at {}", ctx.name),
        };
        return Err(CompileError::ResponseTooLarge(what));
    }
    let too_big = if t.too_big { culprit() } else { None }.map(|(owner, set)| {
        let warning = format!(
            "{}: the {} {} records of {owner} make an answer larger than a DNS message can carry \
             ({MAX_MESSAGE} bytes): it is answered with TC over UDP and SERVFAIL over TCP, as Knot answers",
            set.location,
            set.rdatas.len(),
            set.rtype,
        );
        (set.location.to_location(), warning)
    });
    Ok(Prepared { plain: serialize(&t, buf), signed, too_big })
}

/// Writes prepared templates into the table bytes, each distinct one once.
#[derive(Default)]
pub struct Placer {
    dedup: Written,
    /// One warning per RRset, however many answers (types, chains, ANY) carry it.
    warned: Vec<Location>,
}

impl Placer {
    /// Places `p` (its DO=1 form first, so that the DO=0 one can name it),
    /// whose bytes are in `buf` (the buffer `prepare` was given), and
    /// gives the DO=0 form's offset.
    pub fn place(
        &mut self,
        out: &mut TableBuf,
        warnings: &mut Vec<String>,
        p: Prepared,
        buf: &mut [u8],
    ) -> Result<u32, CompileError> {
        let Prepared { plain: (plain, mut plain_hash), signed, too_big } = p;
        if let Some((bytes, h)) = signed {
            let off = self.write(out, &buf[bytes.start..bytes.end], h)?;
            set_signed(&mut buf[plain.start..plain.end], off);
            // The bytes hashed had 0 there: file them under a hash of
            // both (the same bytes always get the same one).
            plain_hash = (plain_hash ^ u64::from(off)).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        }
        if let Some((location, warning)) = too_big {
            if !self.warned.contains(&location) {
                self.warned.push(location);
                warnings.push(warning);
            }
        }
        self.write(out, &buf[plain.start..plain.end], plain_hash)
    }

    fn write(&mut self, out: &mut TableBuf, bytes: &[u8], h: u64) -> Result<u32, CompileError> {
        if let Some(off) = self.dedup.find(out, bytes, h) {
            return Ok(off);
        }
        let off = u32::try_from(out.len()).map_err(|_| CompileError::TooLarge)?;
        out.extend_from_slice(bytes);
        self.dedup.add(bytes, off, h);
        Ok(off)
    }
}
