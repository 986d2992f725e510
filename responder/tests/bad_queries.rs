//! Every class of odd or malformed DNS message, and the exact reply
//! `answer_message` gives it: header fields a query should not carry, bad
//! names and compression, bad EDNS, and query types and classes we do not
//! serve. Engine semantics for good queries are in engine/tests.rs; the
//! general promises over random bytes in engine/proptests.rs. Each case here
//! is a row of docs/BAD-INPUT.md.

use responder::engine::{answer_message, Engine, Options, Transport};
use responder::table::Table;
use responder::zone;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n\
                    @ NS ns1\nns1 A 198.18.0.53\nwww A 198.18.0.80\n\
                    big TXT \"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\n\
                    big TXT \"1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\n\
                    big TXT \"2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\n\
                    big TXT \"3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\n\
                    big TXT \"4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\"\n";

const NOERROR: u8 = 0;
const FORMERR: u8 = 1;
const NXDOMAIN: u8 = 3;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;

const QR: u8 = 0x80;
const AA: u8 = 0x04;
const TC: u8 = 0x02;
const RD: u8 = 0x01;
/// Second flags octet.
const RA: u8 = 0x80;
const Z: u8 = 0x40;
const AD: u8 = 0x20;
const CD: u8 = 0x10;

const A: u16 = 1;
const TXT: u16 = 16;
const IN: u16 = 1;
const WWW: &[u8] = b"\x03www\x07example\x03com\x00";

fn engine() -> Engine {
    let z = zone::parse_str(ZONE, "bad-queries.zone", None).expect("zone");
    Engine::new(Table::compile(&[z]).expect("table"), Options::default())
}

/// A query for `name`/`qtype`/`qclass` with RD set and nothing else.
fn query_for(name: &[u8], qtype: u16, qclass: u16) -> Vec<u8> {
    let mut q = vec![0x5a, 0xa5, RD, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(name);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&qclass.to_be_bytes());
    q
}

fn www() -> Vec<u8> {
    query_for(WWW, A, IN)
}

/// An OPT record: owner, payload size, version, flags, then RDATA.
fn opt(owner: &[u8], size: u16, version: u8, flags: u16, rdata: &[u8]) -> Vec<u8> {
    let mut o = owner.to_vec();
    o.extend_from_slice(&41u16.to_be_bytes());
    o.extend_from_slice(&size.to_be_bytes());
    o.extend_from_slice(&[0, version]);
    o.extend_from_slice(&flags.to_be_bytes());
    o.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    o.extend_from_slice(rdata);
    o
}

/// `q` with `records` appended to the additional section.
fn with_additional(mut q: Vec<u8>, records: &[Vec<u8>]) -> Vec<u8> {
    for r in records {
        q.extend_from_slice(r);
    }
    q[11] += records.len() as u8;
    q
}

/// The reply, or `None` for silence.
fn reply(e: &Engine, q: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(q);
    answer_message(e, &mut buf, q.len(), transport).map(|n| buf[..n].to_vec())
}

/// Parsed header of a reply.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    rcode: u8,
    flags: (u8, u8),
    counts: [u16; 4],
}

fn head(r: &[u8]) -> Head {
    let c = |i: usize| u16::from_be_bytes([r[4 + 2 * i], r[5 + 2 * i]]);
    Head { rcode: r[3] & 0xf, flags: (r[2], r[3] & 0xf0), counts: [c(0), c(1), c(2), c(3)] }
}

fn udp(e: &Engine, q: &[u8], what: &str) -> Vec<u8> {
    let r = reply(e, q, Transport::Udp).unwrap_or_else(|| panic!("{what}: no reply"));
    assert_eq!(&r[..2], &q[..2], "{what}: ID echoed");
    assert_ne!(r[2] & QR, 0, "{what}: QR set");
    r
}

fn rcode_of(e: &Engine, q: &[u8], what: &str) -> u8 {
    head(&udp(e, q, what)).rcode
}

/// FORMERR with only the header: the question could not be read.
fn assert_formerr_header_only(e: &Engine, q: &[u8], what: &str) {
    let r = udp(e, q, what);
    assert_eq!((r.len(), head(&r).rcode, head(&r).counts), (12, FORMERR, [0; 4]), "{what}");
}

/// FORMERR echoing the question (which was fine) and nothing else.
fn assert_formerr_with_question(e: &Engine, q: &[u8], question_end: usize, what: &str) {
    let r = udp(e, q, what);
    assert_eq!((head(&r).rcode, head(&r).counts), (FORMERR, [1, 0, 0, 0]), "{what}");
    assert_eq!(&r[12..], &q[12..question_end], "{what}: question echoed");
}

#[test]
fn every_opcode_but_query_is_not_implemented() {
    let e = engine();
    for opcode in 1u8..=15 {
        let mut q = www();
        q[2] |= opcode << 3;
        let r = udp(&e, &q, &format!("opcode {opcode}"));
        let h = head(&r);
        assert_eq!((h.rcode, h.counts), (NOTIMP, [1, 0, 0, 0]), "opcode {opcode}");
        assert_eq!((r[2] >> 3) & 0xf, opcode, "opcode {opcode} echoed");
        assert_eq!(&r[12..], &q[12..], "opcode {opcode}: question echoed");
    }
}

#[test]
fn header_bits_a_query_should_not_carry_are_ignored() {
    let e = engine();
    let plain = udp(&e, &www(), "plain");
    // TC, AA in a query; RA, Z, AD in a query: the same answer, and none of
    // them reflected, except CD, which is echoed (RFC 4035 §3.1.6).
    let mut odd = www();
    odd[2] |= TC | AA;
    odd[3] |= RA | Z | AD;
    let r = udp(&e, &odd, "TC, AA, RA, Z, AD set");
    assert_eq!(r, plain, "the same answer");
    assert_eq!((r[2] & (TC | AA | QR | RD), r[3] & (RA | Z | AD)), (AA | QR | RD, 0));
    let mut cd = www();
    cd[3] |= CD;
    assert_eq!(udp(&e, &cd, "CD")[3] & CD, CD, "CD echoed");
}

#[test]
fn question_counts_other_than_one_are_formerr() {
    let e = engine();
    for qdcount in [0u16, 2, 0xffff] {
        let mut q = www();
        q[4..6].copy_from_slice(&qdcount.to_be_bytes());
        assert_formerr_header_only(&e, &q, &format!("QDCOUNT {qdcount}"));
    }
}

#[test]
fn records_in_a_querys_answer_and_authority_sections() {
    let e = engine();
    let plain = udp(&e, &www(), "plain");
    // Well-formed records there (as in a NOTIFY or UPDATE) are skipped.
    let rr = [&[0xc0, 0x0c][..], &[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 9]].concat();
    let mut q = www();
    q.extend_from_slice(&rr);
    q.extend_from_slice(&rr);
    q[7] = 1; // ANCOUNT
    q[9] = 1; // NSCOUNT
    let r = udp(&e, &q, "one answer and one authority record");
    assert_eq!((head(&r), &r[r.len() - 4..]), (head(&plain), &[198, 18, 0, 80][..]));
    // Counts promising records that are not there: FORMERR.
    for (at, what) in [(7, "ANCOUNT 1, no record"), (9, "NSCOUNT 1, no record"), (11, "ARCOUNT 1, no record")] {
        let mut q = www();
        q[at] = 1;
        assert_formerr_with_question(&e, &q, q.len(), what);
    }
    // An OPT in the answer or authority section is malformed.
    let o = opt(b"\x00", 1232, 0, 0, &[]);
    for at in [7, 9] {
        let mut q = www();
        let end = q.len();
        q.extend_from_slice(&o);
        q[at] = 1;
        assert_formerr_with_question(&e, &q, end, "OPT outside the additional section");
    }
}

#[test]
fn malformed_question_names_are_formerr() {
    let e = engine();
    let name_of = |bytes: &[u8]| query_for(bytes, A, IN);
    let mut too_long = Vec::new();
    for _ in 0..4 {
        too_long.extend_from_slice(&[63]);
        too_long.extend_from_slice(&[b'a'; 63]);
    }
    too_long.push(0); // 4 × 64 + 1 = 257 octets
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("label length 64", name_of(b"\x40")),
        ("extended label type 0x40", name_of(b"\x41aaaa\x00")),
        ("extended label type 0x80", name_of(b"\x80\x00")),
        ("compression pointer to the header", name_of(b"\xc0\x00")),
        ("compression pointer to itself", name_of(b"\xc0\x0c")),
        ("compression after a label", name_of(b"\x03www\xc0\x0c")),
        ("name of 257 octets", name_of(&too_long)),
        ("name running past the end", www()[..20].to_vec()),
        ("no type and class", www()[..12 + WWW.len()].to_vec()),
        ("class cut short", www()[..www().len() - 1].to_vec()),
    ];
    for (what, q) in cases {
        assert_formerr_header_only(&e, &q, what);
    }
    // Trailing bytes after a good question: FORMERR with the question.
    let mut t = www();
    let end = t.len();
    t.extend_from_slice(&[0xde, 0xad]);
    assert_formerr_with_question(&e, &t, end, "two bytes after the question");
}

#[test]
fn odd_but_legal_names_are_looked_up_as_they_are() {
    let e = engine();
    // 255 octets, the most allowed, below example.com.: no such name.
    let mut longest = Vec::new();
    let suffix = &WWW[4..]; // example.com.
    let mut room = 255 - suffix.len();
    while room > 0 {
        let len = (room - 1).min(63);
        longest.push(len as u8);
        longest.extend(std::iter::repeat_n(b'x', len));
        room -= len + 1;
    }
    longest.extend_from_slice(suffix);
    assert_eq!(longest.len(), 255);
    assert_eq!(rcode_of(&e, &query_for(&longest, A, IN), "a 255-octet name"), NXDOMAIN);
    // Bytes that are not host-name characters are just bytes: a dot, NUL,
    // 0xff and a space inside a label match nothing.
    for label in [&b"\x03w.w"[..], b"\x03w\x00w", b"\x03w\xffw", b"\x03w w"] {
        let name = [label, &WWW[4..]].concat();
        assert_eq!(rcode_of(&e, &query_for(&name, A, IN), "binary label"), NXDOMAIN, "{label:?}");
    }
    // The root and names outside our zones: REFUSED.
    assert_eq!(rcode_of(&e, &query_for(b"\x00", A, IN), "root"), REFUSED);
    assert_eq!(rcode_of(&e, &query_for(b"\x03com\x00", A, IN), "com."), REFUSED);
}

#[test]
fn compression_pointers_outside_the_question_are_never_followed() {
    let e = engine();
    let plain = udp(&e, &www(), "plain");
    let end = www().len();
    // Additional records whose owners are a pointer to itself (a loop), a
    // forward pointer, and a pointer past the end: skipped, not chased.
    let rr = |owner: [u8; 2]| [&owner[..], &[0, 16, 0, 1, 0, 0, 0, 0, 0, 1, 0]].concat();
    let cases: [(&str, Vec<Vec<u8>>); 3] = [
        ("pointer to itself", vec![rr([0xc0, end as u8])]),
        // The first record's owner points at the second's, 13 octets on.
        ("forward pointer", vec![rr([0xc0, end as u8 + 13]), rr([0xc0, 12])]),
        ("pointer past the end", vec![rr([0xff, 0xff])]),
    ];
    for (what, records) in cases {
        let r = udp(&e, &with_additional(www(), &records), what);
        assert_eq!(r, plain, "{what}");
    }
    // The same pointers as an OPT owner: OPT must be owned by the root.
    let q = with_additional(www(), &[opt(&[0xc0, end as u8], 1232, 0, 0, &[])]);
    assert_formerr_with_question(&e, &q, end, "OPT owned by a pointer");
}

#[test]
fn bad_edns_is_formerr_or_badvers() {
    let e = engine();
    let end = www().len();
    let formerr: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("OPT not owned by the root", vec![opt(b"\x01a\x00", 1232, 0, 0, &[])]),
        ("two OPT records", vec![opt(b"\x00", 1232, 0, 0, &[]), opt(b"\x00", 1232, 0, 0, &[])]),
        ("option header cut short", vec![opt(b"\x00", 1232, 0, 0, &[0, 10, 0])]),
        ("option longer than the RDATA", vec![opt(b"\x00", 1232, 0, 0, &[0, 10, 0, 9, 1, 2])]),
    ];
    for (what, records) in formerr {
        assert_formerr_with_question(&e, &with_additional(www(), &records), end, what);
    }
    // RDLENGTH running past the message.
    let mut q = with_additional(www(), &[opt(b"\x00", 1232, 0, 0, &[0, 10, 0, 0])]);
    q.truncate(q.len() - 1);
    assert_formerr_with_question(&e, &q, end, "OPT RDATA past the end");
    // Version 1 and 255: BADVERS (16) = rcode 0 in the header, 1 in the OPT's
    // extended-rcode octet, with our OPT and no data.
    for version in [1u8, 255] {
        let r = udp(&e, &with_additional(www(), &[opt(b"\x00", 1232, version, 0, &[])]), "EDNS version");
        assert_eq!((head(&r).rcode, head(&r).counts), (0, [1, 0, 0, 1]), "version {version}");
        let o = &r[end..];
        assert_eq!((o[0], u16::from_be_bytes([o[1], o[2]]), o[5], o[6]), (0, 41, 1, 0), "version {version}: OPT");
    }
}

#[test]
fn odd_edns_values_are_tolerated() {
    let e = engine();
    let big = query_for(b"\x03big\x07example\x03com\x00", TXT, IN);
    let end = big.len();
    let size_of = |r: &[u8]| (r.len(), r[2] & TC != 0);
    // Payload sizes below 512 count as 512 (RFC 6891 §6.2.3): the 5 × 100
    // octet TXT RRset does not fit, so TC with the question and OPT only.
    for size in [0u16, 1, 511] {
        let r = udp(&e, &with_additional(big.clone(), &[opt(b"\x00", size, 0, 0, &[])]), "small EDNS size");
        assert_eq!(size_of(&r), (end + 11, true), "size {size}");
    }
    // 65535 is capped at what we advertise (1232): the RRset fits, and our size is in the OPT.
    let r = udp(&e, &with_additional(big.clone(), &[opt(b"\x00", 65535, 0, 0, &[])]), "huge EDNS size");
    assert!(!size_of(&r).1 && r.len() <= 1232);
    assert_eq!(&r[r.len() - 8..r.len() - 6], &1232u16.to_be_bytes(), "our size advertised");
    // Unknown flags, an extended rcode, and options (cookie, padding,
    // unassigned) are ignored; DO is echoed and no option is.
    let mut o =
        opt(b"\x00", 1232, 0, 0x7fff, &[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 2, 0, 0, 0xfd, 0xe9, 0, 0]);
    o[5] = 0x12; // extended rcode bits in a query
    let r = udp(&e, &with_additional(www(), &[o]), "odd OPT contents");
    assert_eq!((head(&r).rcode, head(&r).counts), (NOERROR, [1, 1, 0, 1]));
    let ours = &r[r.len() - 11..];
    assert_eq!(ours, &opt(b"\x00", 1232, 0, 0, &[])[..], "a plain OPT back: no DO, Z, options or rcode bits");
}

#[test]
fn query_types_and_classes_we_do_not_serve() {
    let e = engine();
    let cases: &[(&str, u16, u16, u8)] = &[
        ("QTYPE OPT", 41, IN, FORMERR),
        ("AXFR", 252, IN, REFUSED),
        ("IXFR", 251, IN, REFUSED),
        ("MAILB", 253, IN, NOTIMP),
        ("MAILA", 254, IN, NOTIMP),
        ("TSIG as a question", 250, IN, NOTIMP),
        ("TKEY", 249, IN, NOTIMP),
        ("meta type 128", 128, IN, NOTIMP),
        ("type 0", 0, IN, NOERROR),
        ("class CH, type A", A, 3, REFUSED),
        ("class HS", A, 4, REFUSED),
        ("class NONE", A, 254, REFUSED),
        ("class ANY", A, 255, REFUSED),
        ("class 0", A, 0, REFUSED),
    ];
    for &(what, qtype, qclass, rcode) in cases {
        let q = query_for(WWW, qtype, qclass);
        for transport in [Transport::Udp, Transport::Tcp] {
            let r = reply(&e, &q, transport).unwrap_or_else(|| panic!("{what}: no reply"));
            assert_eq!(head(&r).rcode, rcode, "{what} over {transport:?}");
            if rcode != NOERROR {
                assert_eq!(head(&r).counts, [1, 0, 0, 0], "{what}: question only");
                assert_eq!(r[2] & AA, 0, "{what}: an error is not authoritative");
            }
        }
    }
    // CHAOS names are refused unless configured (engine/tests.rs has the configured side).
    for name in [&b"\x07version\x04bind\x00"[..], b"\x08hostname\x04bind\x00", b"\x02id\x06server\x00"] {
        assert_eq!(rcode_of(&e, &query_for(name, TXT, 3), "CHAOS"), REFUSED);
    }
}

#[test]
fn a_query_signed_with_an_unknown_key_is_notauth_badkey() {
    // No TSIG keys are configured here: the signature names a key the
    // server does not have, answered NOTAUTH with TSIG error BADKEY and an
    // unsigned TSIG record (RFC 8945 §5.3.2); see docs/BAD-INPUT.md.
    let e = engine();
    let mut tsig = b"\x03key\x00".to_vec();
    tsig.extend_from_slice(&[0, 250, 0, 255, 0, 0, 0, 0]);
    let rdata =
        [&b"\x0bhmac-sha256\x00"[..], &[0, 0, 0x65, 0x5f, 0x5f, 0x5f, 1, 44, 0, 0, 0x5a, 0xa5, 0, 0, 0, 0]].concat();
    tsig.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    tsig.extend_from_slice(&rdata);
    let r = udp(&e, &with_additional(www(), &[tsig.clone()]), "TSIG");
    assert_eq!(head(&r).rcode, 9, "NOTAUTH");
    assert_eq!(head(&r).counts, [1, 0, 0, 1], "question and TSIG");
    let error_at = r.len() - 4;
    assert_eq!(&r[error_at..error_at + 2], &[0, 17], "BADKEY");
    assert_eq!(&r[r.len() - 8..r.len() - 6], &[0, 0], "MAC size 0: unsigned");
    // A TSIG that is not the last record is malformed.
    let opt = opt(b"\x00", 1232, 0, 0, b"");
    let r = udp(&e, &with_additional(www(), &[tsig, opt]), "TSIG then OPT");
    assert_eq!(head(&r).rcode, FORMERR);
}
