//! DNS message header, question and resource-record framing (RFC 1035 §4.1).

use core::ops::{Deref, DerefMut};

use super::{be16, checksum, set_be16, tail_word, words};

pub const HEADER_LEN: usize = 12;
/// Longest name on the wire (RFC 1035 §3.1).
pub const MAX_NAME: usize = 255;
/// At most 127 labels fit in 255 octets.
pub const MAX_LABELS: usize = 128;
/// A lowered name's buffer: [`MAX_NAME`] rounded up to whole 8-byte words,
/// so the last word of a name is lowered and stored whole.
pub const LOWER_LEN: usize = 256;

pub mod rcode {
    pub const NOERROR: u8 = 0;
    pub const FORMERR: u8 = 1;
    pub const SERVFAIL: u8 = 2;
    pub const NXDOMAIN: u8 = 3;
    pub const NOTIMP: u8 = 4;
    pub const REFUSED: u8 = 5;
    pub const YXDOMAIN: u8 = 6;
    /// Not authorized: a signed message turned down (RFC 8945 §5.2).
    pub const NOTAUTH: u8 = 9;
    /// Extended rcode 16 (RFC 6891 §9): upper eight bits go in the OPT TTL.
    pub const BADVERS: u16 = 16;
}

pub mod flags {
    pub const QR: u16 = 0x8000;
    pub const OPCODE_MASK: u16 = 0x7800;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const CD: u16 = 0x0010;
    pub const RCODE_MASK: u16 = 0x000f;
}

/// A resource record type (RFC 1035 §3.2.2 and successors): the number the
/// wire carries. Its mnemonics are read and written by the zone reader
/// (`zone::rtype`); the answer path needs only the numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RType(pub u16);

macro_rules! rtypes {
    ($($name:ident = $num:expr),* $(,)?) => {
        impl RType {
            $(pub const $name: RType = RType($num);)*

            /// Every type with a mnemonic, and the mnemonic.
            pub const MNEMONICS: &[(&'static str, RType)] = &[$((stringify!($name), RType($num)),)*];
        }
    };
}

// IANA "Resource Record (RR) TYPEs", every assigned mnemonic a zone file,
// an RRSIG's type covered or an NSEC bitmap may name. Which of them have a
// presentation format we read is `zone/rdata.rs`'s business; the others
// still load in RFC 3597 generic form.
rtypes! {
    A = 1, NS = 2, MD = 3, MF = 4, CNAME = 5, SOA = 6, MB = 7, MG = 8, MR = 9, NULL = 10, WKS = 11,
    PTR = 12, HINFO = 13, MINFO = 14, MX = 15, TXT = 16, RP = 17, AFSDB = 18, X25 = 19, ISDN = 20,
    RT = 21, NSAP = 22, SIG = 24, KEY = 25, PX = 26, GPOS = 27, AAAA = 28, LOC = 29, NXT = 30,
    EID = 31, NIMLOC = 32, SRV = 33, ATMA = 34, NAPTR = 35, KX = 36, CERT = 37, A6 = 38, DNAME = 39,
    SINK = 40, OPT = 41, APL = 42, DS = 43, SSHFP = 44, IPSECKEY = 45, RRSIG = 46, NSEC = 47,
    DNSKEY = 48, DHCID = 49, NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52, SMIMEA = 53, HIP = 55,
    NINFO = 56, RKEY = 57, TALINK = 58, CDS = 59, CDNSKEY = 60, OPENPGPKEY = 61, CSYNC = 62,
    ZONEMD = 63, SVCB = 64, HTTPS = 65, DSYNC = 66, SPF = 99, UINFO = 100, UID = 101, GID = 102,
    UNSPEC = 103, NID = 104, L32 = 105, L64 = 106, LP = 107, EUI48 = 108, EUI64 = 109,
    NXNAME = 128, TKEY = 249, TSIG = 250, IXFR = 251, AXFR = 252, MAILB = 253, MAILA = 254,
    ANY = 255, URI = 256, CAA = 257, AVC = 258, DOA = 259, AMTRELAY = 260, RESINFO = 261,
    WALLET = 262, TA = 32768, DLV = 32769,
}

impl RType {
    /// Types a query may ask for but that never exist as data (RFC 6895 §3.1).
    #[inline]
    pub fn is_meta(self) -> bool {
        self.0 == 41 || (128..=255).contains(&self.0)
    }
}

/// Record classes. Only IN carries zone data; CH is used for server
/// identity queries. Their mnemonics are the zone reader's (`zone::rtype`).
pub mod class {
    pub const IN: u16 = 1;
    pub const CH: u16 = 3;
    pub const NONE: u16 = 254;
    pub const ANY: u16 = 255;
}

pub mod field {
    use crate::wire::Field;
    pub const ID: Field = 0..2;
    pub const FLAGS: Field = 2..4;
    pub const QDCOUNT: Field = 4..6;
    pub const ANCOUNT: Field = 6..8;
    pub const NSCOUNT: Field = 8..10;
    pub const ARCOUNT: Field = 10..12;
}

/// The fixed part of a question, after its name.
pub mod question_field {
    use crate::wire::Field;
    pub const TYPE: Field = 0..2;
    pub const CLASS: Field = 2..4;
    pub const LEN: usize = CLASS.end;
}

/// The fixed part of a resource record, after its owner name.
pub mod rr_field {
    use crate::wire::Field;
    pub const TYPE: Field = 0..2;
    pub const CLASS: Field = 2..4;
    pub const TTL: Field = 4..8;
    pub const RDLENGTH: Field = 8..10;
    pub const LEN: usize = RDLENGTH.end;
}

/// An EDNS option's header in an OPT record's RDATA (RFC 6891 §6.1.2).
pub mod option_field {
    use crate::wire::Field;
    pub const CODE: Field = 0..2;
    pub const LENGTH: Field = 2..4;
    pub const LEN: usize = LENGTH.end;
}

/// Writes the fixed part of a record, after its owner name.
#[inline(always)]
pub fn write_rr_fixed(f: &mut [u8; rr_field::LEN], rtype: RType, class: u16, ttl: u32, rdlength: u16) {
    set_be16(f, rr_field::TYPE, rtype.0);
    set_be16(f, rr_field::CLASS, class);
    f[rr_field::TTL].copy_from_slice(&ttl.to_be_bytes());
    set_be16(f, rr_field::RDLENGTH, rdlength);
}

/// An OPT record owned by the root and without options (RFC 6891 §6.1.2):
/// what a reply carries, and what nearly every query with EDNS carries.
pub const OPT_ALONE_LEN: usize = 1 + rr_field::LEN;

/// The OPT record alone, advertising `udp_size` with `ttl` (extended
/// rcode, version, DO).
#[inline(always)]
pub fn opt_alone(udp_size: u16, ttl: u32) -> [u8; OPT_ALONE_LEN] {
    let mut opt = [0u8; OPT_ALONE_LEN];
    let [_root, fixed @ ..] = &mut opt;
    write_rr_fixed(fixed, RType::OPT, udp_size, ttl, 0);
    opt
}

/// The class (UDP size) and TTL of `opt` when it is an OPT record alone as
/// [`opt_alone`] writes it: owned by the root, RDLENGTH 0.
#[inline(always)]
pub fn parse_opt_alone(opt: &[u8; OPT_ALONE_LEN]) -> Option<(u16, u32)> {
    let [owner, fixed @ ..] = opt;
    if *owner != 0 || be16(fixed, rr_field::TYPE) != RType::OPT.0 || be16(fixed, rr_field::RDLENGTH) != 0 {
        return None;
    }
    let ttl = rr_field::TTL.start;
    Some((
        be16(fixed, rr_field::CLASS),
        u32::from_be_bytes([fixed[ttl], fixed[ttl + 1], fixed[ttl + 2], fixed[ttl + 3]]),
    ))
}

/// The message header as an array. `Header<&[u8; 12]>` reads;
/// `Header<&mut [u8; 12]>` also writes.
pub struct Header<T>(T);

impl<'a> Header<&'a [u8; HEADER_LEN]> {
    /// The header at the start of `message`; `None` when it is shorter.
    #[inline]
    pub fn new_checked(message: &'a [u8]) -> Option<Self> {
        message.first_chunk().map(Header)
    }
}

impl<'a> Header<&'a mut [u8; HEADER_LEN]> {
    #[inline]
    pub fn new_checked_mut(message: &'a mut [u8]) -> Option<Self> {
        message.first_chunk_mut().map(Header)
    }
}

impl<T: Deref<Target = [u8; HEADER_LEN]>> Header<T> {
    /// The header in `bytes`, already a whole header.
    #[inline]
    pub fn new(bytes: T) -> Self {
        Header(bytes)
    }
    #[inline]
    pub fn id(&self) -> u16 {
        be16(&self.0, field::ID)
    }
    #[inline]
    pub fn flags(&self) -> u16 {
        be16(&self.0, field::FLAGS)
    }
    #[inline]
    pub fn qdcount(&self) -> u16 {
        be16(&self.0, field::QDCOUNT)
    }
    #[inline]
    pub fn ancount(&self) -> u16 {
        be16(&self.0, field::ANCOUNT)
    }
    #[inline]
    pub fn nscount(&self) -> u16 {
        be16(&self.0, field::NSCOUNT)
    }
    #[inline]
    pub fn arcount(&self) -> u16 {
        be16(&self.0, field::ARCOUNT)
    }
}

impl<T: DerefMut<Target = [u8; HEADER_LEN]>> Header<T> {
    /// Writes everything after the ID: flags and the four section counts.
    #[inline]
    pub fn set_flags_and_counts(&mut self, flags: u16, [qd, an, ns, ar]: [u16; 4]) {
        let h = &mut *self.0;
        set_be16(h, field::FLAGS, flags);
        set_be16(h, field::QDCOUNT, qd);
        set_be16(h, field::ANCOUNT, an);
        set_be16(h, field::NSCOUNT, ns);
        set_be16(h, field::ARCOUNT, ar);
    }
}

/// The single question of a query, with its name lowered for lookup.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    /// Wire length of the name, root label included.
    pub name_len: usize,
    /// Number of labels, root excluded.
    pub labels: usize,
    pub qtype: u16,
    pub qclass: u16,
    /// Offset just past the question in the message.
    pub end: usize,
    /// Checksum sum of the question's bytes as sent (RFC 1071, not folded),
    /// at their place in the message: the answer echoes them.
    pub sum: u64,
}

/// Parses the question at offset 12, copying the name lowered into `lower`
/// (bytes past the name are left unspecified). Compression is not allowed
/// in a question name: a pointer is malformed. `on_word` sees each word of
/// the lowered name as it is written (see [`lowercase_into`]): the lookup
/// hashes them there instead of reading the name again.
#[inline]
pub fn parse_question(m: &[u8], lower: &mut [u8; LOWER_LEN], on_word: impl FnMut(u64)) -> Option<Question> {
    let name = m.get(HEADER_LEN..)?;
    let (n, labels) = question_name_len(name)?;
    let src = name.get(..n)?;
    let name_sum = lowercase_into(lower, src, on_word);
    let fixed = name.get(n..)?.first_chunk::<{ question_field::LEN }>()?;
    Some(Question {
        name_len: n,
        labels,
        qtype: be16(fixed, question_field::TYPE),
        qclass: be16(fixed, question_field::CLASS),
        end: HEADER_LEN + n + question_field::LEN,
        // The name starts at offset 12, even; type and class follow it.
        sum: checksum::combine(name_sum, checksum::placed(u32::from_ne_bytes(*fixed) as u64, n)),
    })
}

/// The wire length (root label included) and label count of the question
/// name at the start of `name`; `None` for a pointer, a label over 63
/// octets, a name over 255 or one cut short.
#[inline]
pub fn question_name_len(name: &[u8]) -> Option<(usize, usize)> {
    let mut n = 0usize;
    let mut labels = 0usize;
    // The length limit is checked once at the end: the walk cannot run
    // away meanwhile, as every step consumes bytes of `name`.
    loop {
        let len = *name.get(n)? as usize;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels += 1;
        n += 1 + len;
    }
    (n < MAX_NAME).then_some((n + 1, labels))
}

/// Lowers the ASCII letters among eight bytes (read little-endian) at once.
/// Length octets are at most 63, below 'A', so a whole wire name can be
/// lowered word by word.
#[inline(always)]
pub fn lower_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = w & !HIGH;
    // High bit of each byte: at least 'A', and above 'Z'.
    let ge_a = low7 + (0x80 - b'A' as u64) * ONES;
    let gt_z = low7 + (0x80 - b'Z' as u64 - 1) * ONES;
    let upper = (ge_a ^ gt_z) & !w & HIGH;
    w | (upper >> 2)
}

/// Copies `src` (at most [`LOWER_LEN`] bytes) lowering ASCII letters, eight
/// bytes at a time, the last word zero-padded; returns the checksum sum of
/// `src`, read in the same pass. `on_word` gets each lowered word
/// (little-endian), the zero-padded last one always: a zero word when `src`
/// fills whole words.
#[inline]
fn lowercase_into(dst: &mut [u8; LOWER_LEN], src: &[u8], mut on_word: impl FnMut(u64)) -> u64 {
    let mut sum = 0u64;
    let mut lower_into = |d: &mut [u8], s: [u8; 8]| {
        sum = checksum::combine(sum, u64::from_ne_bytes(s));
        let lowered = lower_word(u64::from_le_bytes(s));
        on_word(lowered);
        d.copy_from_slice(&lowered.to_le_bytes());
    };
    let mut out = dst.chunks_exact_mut(8);
    // Source first: a zip that runs out on its second iterator has already
    // taken an item from the first.
    for (s, d) in words(src).zip(&mut out) {
        lower_into(d, s);
    }
    match out.next() {
        Some(d) if !src.len().is_multiple_of(8) => lower_into(d, tail_word(src)),
        _ => on_word(0),
    }
    sum
}

/// Skips a possibly compressed name; returns the offset after it.
#[inline]
pub fn skip_name(m: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *m.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            1..=63 => pos += 1 + len as usize,
            0xc0..=0xff => {
                m.get(pos + 1)?;
                return Some(pos + 2);
            }
            _ => return None,
        }
    }
}

/// The fixed part of a resource record after its owner name.
#[derive(Debug, Clone, Copy)]
pub struct RrHeader {
    /// Offset of the owner name.
    pub start: usize,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: usize,
    pub rdlen: usize,
    /// Offset just past the record.
    pub end: usize,
}

/// Reads the record at `pos`, checking that its RDATA fits in the message.
#[inline]
pub fn parse_rr(m: &[u8], pos: usize) -> Option<RrHeader> {
    let after = skip_name(m, pos)?;
    let f = m.get(after..)?.first_chunk::<{ rr_field::LEN }>()?;
    let rdlen = be16(f, rr_field::RDLENGTH) as usize;
    let rdata = after + rr_field::LEN;
    let end = rdata + rdlen;
    if end > m.len() {
        return None;
    }
    let ttl = rr_field::TTL.start;
    Some(RrHeader {
        start: pos,
        rtype: be16(f, rr_field::TYPE),
        class: be16(f, rr_field::CLASS),
        ttl: u32::from_be_bytes([f[ttl], f[ttl + 1], f[ttl + 2], f[ttl + 3]]),
        rdata,
        rdlen,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes: a header when there are twelve, `None` otherwise;
        /// the question and record parsers return `None` on anything cut
        /// short and never read past the message.
        #[test]
        fn any_bytes_give_a_header_or_none(bytes in proptest::collection::vec(any::<u8>(), 0..80), pos in 0usize..90) {
            match Header::new_checked(&bytes) {
                None => prop_assert!(bytes.len() < HEADER_LEN),
                Some(h) => {
                    let be = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
                    prop_assert_eq!([h.id(), h.flags(), h.qdcount()], [be(0), be(2), be(4)]);
                    prop_assert_eq!([h.ancount(), h.nscount(), h.arcount()], [be(6), be(8), be(10)]);
                }
            }
            let mut lower = [0u8; LOWER_LEN];
            if let Some(q) = parse_question(&bytes, &mut lower, |_| {}) {
                prop_assert!(q.end <= bytes.len());
            }
            if let Some(rr) = parse_rr(&bytes, pos) {
                prop_assert!(rr.rdata + rr.rdlen == rr.end && rr.end <= bytes.len());
            }
            let mut copy = bytes.clone();
            if let Some(mut h) = Header::new_checked_mut(&mut copy) {
                h.set_flags_and_counts(0x8180, [1, 2, 3, 4]);
                prop_assert_eq!(&copy[..2], &bytes[..2], "the id is kept");
                prop_assert_eq!(&copy[2..12], &[0x81, 0x80, 0, 1, 0, 2, 0, 3, 0, 4]);
            }
        }
    }

    #[test]
    fn parses_question_lowering_name() {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(b"\x03WwW\x07Example\x03com\x00\x00\x01\x00\x01");
        let mut lower = [0u8; LOWER_LEN];
        let mut words = Vec::new();
        let q = parse_question(&m, &mut lower, |w| words.push(w)).unwrap();
        assert_eq!(&lower[..q.name_len], b"\x03www\x07example\x03com\x00");
        let want: Vec<u64> = lower[..24].chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(words, want, "each lowered word, the last zero-padded");
        assert_eq!((q.labels, q.qtype, q.qclass, q.end), (3, 1, 1, m.len()));
        assert_eq!(checksum::finish(q.sum), checksum::finish(checksum::sum(&m[HEADER_LEN..])));
        // The message itself is untouched: the question is echoed as sent.
        assert_eq!(&m[12..16], b"\x03WwW");
    }

    #[test]
    fn lowercases_every_byte_value_like_ascii() {
        let src: Vec<u8> = (0..=255u8).collect();
        let mut dst = [0u8; LOWER_LEN];
        let mut words = 0;
        let sum = lowercase_into(&mut dst, &src, |_| words += 1);
        let want: Vec<u8> = src.iter().map(u8::to_ascii_lowercase).collect();
        assert_eq!(&dst[..], &want[..]);
        assert_eq!(words, 32 + 1, "whole words, then a zero word");
        assert_eq!(checksum::finish(sum), checksum::finish(checksum::sum(&src)));
        for shift in 1..=9 {
            let sum = lowercase_into(&mut dst, &src[shift..], |_| {});
            assert_eq!(&dst[..256 - shift], &want[shift..]);
            assert_eq!(checksum::finish(sum), checksum::finish(checksum::sum(&src[shift..])), "shift {shift}");
        }
    }

    #[test]
    fn rejects_pointers_long_labels_and_truncation() {
        let mut lower = [0u8; LOWER_LEN];
        for bad in [&b"\xc0\x0c\x00\x01\x00\x01"[..], b"\x40", b"\x03ww", b"\x03www\x00\x00\x01\x00"] {
            let mut m = vec![0u8; 12];
            m.extend_from_slice(bad);
            assert!(parse_question(&m, &mut lower, |_| {}).is_none(), "{bad:?}");
        }
        // 128 one-letter labels make 257 octets: too long.
        let mut m = vec![0u8; 12];
        for _ in 0..128 {
            m.extend_from_slice(b"\x01a");
        }
        m.extend_from_slice(b"\x00\x00\x01\x00\x01");
        assert!(parse_question(&m, &mut lower, |_| {}).is_none());
    }

    #[test]
    fn the_opt_record_alone_reads_back() {
        let opt = opt_alone(1232, 0x0100_8000);
        assert_eq!(opt, [0, 0, 41, 0x04, 0xd0, 0x01, 0, 0x80, 0, 0, 0]);
        assert_eq!(parse_opt_alone(&opt), Some((1232, 0x0100_8000)));
        for (at, bad) in [(0, 1), (2, 42), (10, 1)] {
            let mut o = opt;
            o[at] = bad;
            assert_eq!(parse_opt_alone(&o), None, "byte {at}");
        }
    }

    #[test]
    fn parses_records_with_compressed_owners() {
        let mut m = vec![0u8; 12];
        m.extend_from_slice(b"\xc0\x0c\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x02\xab\xcd");
        let rr = parse_rr(&m, 12).unwrap();
        assert_eq!((rr.rtype, rr.class, rr.ttl, rr.rdlen, rr.end), (41, 1232, 0x8000, 2, m.len()));
        m.pop();
        assert!(parse_rr(&m, 12).is_none(), "rdata past the end");
    }
}
