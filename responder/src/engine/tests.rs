//! Answer semantics, checked by decoding our answers with hickory-proto (an
//! independent DNS implementation, which also validates every compression
//! pointer we write).

use super::*;
use crate::table::Table;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as HQuery, ResponseCode};
use hickory_proto::rr::{DNSClass, Name as HName, Record, RecordType};

pub(crate) const EXAMPLE: &str = r#"
$ORIGIN example.com.
$TTL 3600
@       IN SOA ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )
@       NS ns1
@       NS ns2.example.net.
@       MX 10 mail
@       A 198.18.0.10
ns1     A 198.18.0.53
ns1     AAAA fd00::53
mail    A 198.18.0.25
www     A 198.18.0.80
www     AAAA fd00::80
alias   CNAME www
chain   CNAME alias
loop1   CNAME loop2
loop2   CNAME loop1
ext     CNAME www.example.net.
dangling CNAME nothere
*.wild  A 198.18.1.1
*.wild  TXT "wild"
sub.ent.wild A 198.18.1.2
*.cw    CNAME www
child   NS ns.child
child   NS ns.other.example.net.
child   DS 12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.child A 198.18.2.53
_sip._udp SRV 10 5 5060 www
dn      DNAME example.net.
big     TXT "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     TXT "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
fat     NS a.fat
fat     NS b.fat
fat     NS c.fat
fat     NS d.fat
a.fat   AAAA fd00::1
a.fat   AAAA fd00::2
a.fat   AAAA fd00::3
a.fat   AAAA fd00::4
b.fat   AAAA fd00::5
b.fat   AAAA fd00::6
b.fat   AAAA fd00::7
b.fat   AAAA fd00::8
c.fat   AAAA fd00::9
c.fat   AAAA fd00::10
c.fat   AAAA fd00::11
c.fat   AAAA fd00::12
d.fat   AAAA fd00::13
d.fat   AAAA fd00::14
d.fat   AAAA fd00::15
d.fat   AAAA fd00::16
"#;

const CHILD: &str = r#"
$ORIGIN child.example.com.
$TTL 600
@   SOA ns hostmaster 7 3600 600 86400 60
@   NS ns
ns  A 198.18.2.53
www A 198.18.2.80
"#;

pub(crate) fn engine_for(zones: &[&str], options: Options) -> Engine {
    let parsed: Vec<_> = zones.iter().map(|z| crate::zone::parse_str(z, "test.zone", None).expect("zone")).collect();
    Engine::new(Table::compile(&parsed).expect("compile"), options)
}

fn engine() -> Engine {
    engine_for(&[EXAMPLE], Options::default())
}

pub(crate) fn query_bytes(name: &str, qtype: RecordType, edns: Option<(u16, bool)>) -> Vec<u8> {
    let mut m = Message::new();
    m.set_id(0xbeef).set_message_type(MessageType::Query).set_op_code(OpCode::Query).set_recursion_desired(true);
    m.add_query(HQuery::query(HName::from_ascii(name).unwrap(), qtype));
    if let Some((size, dnssec_ok)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        e.set_dnssec_ok(dnssec_ok);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

fn raw(e: &Engine, q: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(q);
    answer_message(e, &mut buf, q.len(), transport).map(|n| buf[..n].to_vec())
}

fn ask_with(e: &Engine, name: &str, qtype: RecordType, edns: Option<(u16, bool)>, t: Transport) -> Message {
    let q = query_bytes(name, qtype, edns);
    let a = raw(e, &q, t).expect("an answer");
    // The question is echoed byte for byte.
    assert_eq!(&a[12..q.len() - edns.map_or(0, |_| 11)], &q[12..q.len() - edns.map_or(0, |_| 11)]);
    Message::from_vec(&a).expect("answer decodes")
}

fn ask(e: &Engine, name: &str, qtype: RecordType) -> Message {
    ask_with(e, name, qtype, None, Transport::Udp)
}

fn show(rs: &[Record]) -> Vec<String> {
    rs.iter().map(|r| format!("{} {} {} {}", r.name(), r.ttl(), r.record_type(), r.data())).collect()
}

#[test]
fn exact_match_is_authoritative_and_keeps_query_case() {
    let e = engine();
    let m = ask(&e, "WwW.ExAmple.COM.", RecordType::A);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.authoritative() && !m.truncated() && m.recursion_desired() && !m.recursion_available());
    assert_eq!(m.id(), 0xbeef);
    assert_eq!(show(m.answers()), ["WwW.ExAmple.COM. 3600 A 198.18.0.80"]);
    assert!(m.name_servers().is_empty() && m.additionals().is_empty());
    let m = ask(&e, "www.example.com.", RecordType::AAAA);
    assert_eq!(show(m.answers()), ["www.example.com. 3600 AAAA fd00::80"]);
}

#[test]
fn mx_and_srv_targets_come_with_addresses() {
    let e = engine();
    let m = ask(&e, "example.com.", RecordType::MX);
    assert_eq!(show(m.answers()), ["example.com. 3600 MX 10 mail.example.com."]);
    assert_eq!(show(m.additionals()), ["mail.example.com. 3600 A 198.18.0.25"]);
    let m = ask(&e, "_sip._udp.example.com.", RecordType::SRV);
    assert_eq!(show(m.answers()), ["_sip._udp.example.com. 3600 SRV 10 5 5060 www.example.com."]);
    assert_eq!(show(m.additionals()), ["www.example.com. 3600 A 198.18.0.80", "www.example.com. 3600 AAAA fd00::80"]);
    let m = ask(&e, "example.com.", RecordType::NS);
    assert_eq!(m.answers().len(), 2);
    assert_eq!(show(m.additionals()), ["ns1.example.com. 3600 A 198.18.0.53", "ns1.example.com. 3600 AAAA fd00::53"]);
}

#[test]
fn cname_chains_are_followed_inside_the_zone() {
    let e = engine();
    let m = ask(&e, "chain.example.com.", RecordType::A);
    assert_eq!(
        show(m.answers()),
        [
            "chain.example.com. 3600 CNAME alias.example.com.",
            "alias.example.com. 3600 CNAME www.example.com.",
            "www.example.com. 3600 A 198.18.0.80",
        ]
    );
    assert!(m.authoritative());
    // Asking for the CNAME itself does not chase it.
    let m = ask(&e, "alias.example.com.", RecordType::CNAME);
    assert_eq!(show(m.answers()), ["alias.example.com. 3600 CNAME www.example.com."]);
    // The chain ends in no data: NODATA with the SOA.
    let m = ask(&e, "alias.example.com.", RecordType::MX);
    assert_eq!(m.answers().len(), 1);
    assert_eq!(m.name_servers()[0].record_type(), RecordType::SOA);
}

#[test]
fn cname_loops_and_out_of_zone_targets_end_the_chain() {
    let e = engine();
    let m = ask(&e, "loop1.example.com.", RecordType::A);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(
        show(m.answers()),
        ["loop1.example.com. 3600 CNAME loop2.example.com.", "loop2.example.com. 3600 CNAME loop1.example.com."]
    );
    let m = ask(&e, "ext.example.com.", RecordType::A);
    assert_eq!(show(m.answers()), ["ext.example.com. 3600 CNAME www.example.net."]);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    // RFC 6604: the rcode is about the last name of the chain.
    let m = ask(&e, "dangling.example.com.", RecordType::A);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert_eq!(m.answers().len(), 1);
    assert_eq!(m.name_servers()[0].record_type(), RecordType::SOA);
}

#[test]
fn negative_answers_carry_the_soa_with_the_negative_ttl() {
    let e = engine();
    let m = ask(&e, "www.example.com.", RecordType::TXT);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.authoritative() && m.answers().is_empty());
    assert_eq!(
        show(m.name_servers()),
        ["example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"]
    );
    let m = ask(&e, "NoSuch.Name.example.com.", RecordType::A);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert!(m.authoritative() && m.answers().is_empty());
    assert_eq!(show(m.name_servers())[0].split(' ').take(3).collect::<Vec<_>>(), ["example.com.", "300", "SOA"]);
}

#[test]
fn wildcards_synthesise_and_empty_non_terminals_block_them() {
    let e = engine();
    let m = ask(&e, "Foo.wild.example.com.", RecordType::A);
    assert_eq!(show(m.answers()), ["Foo.wild.example.com. 3600 A 198.18.1.1"]);
    let m = ask(&e, "a.b.wild.example.com.", RecordType::TXT);
    assert_eq!(show(m.answers()), ["a.b.wild.example.com. 3600 TXT wild"]);
    let m = ask(&e, "a.b.wild.example.com.", RecordType::MX);
    assert_eq!((m.response_code(), m.answers().len()), (ResponseCode::NoError, 0));
    // ent.wild exists (an empty non-terminal): NODATA, not the wildcard.
    let m = ask(&e, "ent.wild.example.com.", RecordType::A);
    assert_eq!((m.response_code(), m.answers().len()), (ResponseCode::NoError, 0));
    // Below the ENT the wildcard does not apply: NXDOMAIN (RFC 4592 §2.2.2).
    let m = ask(&e, "x.ent.wild.example.com.", RecordType::A);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    // A wildcard CNAME is chased with the query name as owner.
    let m = ask(&e, "q.cw.example.com.", RecordType::A);
    assert_eq!(
        show(m.answers()),
        ["q.cw.example.com. 3600 CNAME www.example.com.", "www.example.com. 3600 A 198.18.0.80"]
    );
}

#[test]
fn referrals_at_zone_cuts() {
    let e = engine();
    for name in ["www.child.example.com.", "child.example.com.", "ns.child.example.com.", "deep.x.child.example.com."] {
        let m = ask(&e, name, RecordType::A);
        assert_eq!(m.response_code(), ResponseCode::NoError, "{name}");
        assert!(!m.authoritative(), "{name}: a referral is not authoritative");
        assert!(m.answers().is_empty());
        let mut ns = show(m.name_servers());
        ns.sort();
        assert_eq!(
            ns,
            ["child.example.com. 3600 NS ns.child.example.com.", "child.example.com. 3600 NS ns.other.example.net."],
            "{name}"
        );
        assert_eq!(show(m.additionals()), ["ns.child.example.com. 3600 A 198.18.2.53"], "{name}");
    }
    // DS is the parent's data: answered authoritatively at the cut.
    let m = ask(&e, "child.example.com.", RecordType::DS);
    assert!(m.authoritative());
    assert_eq!(m.answers().len(), 1);
    assert_eq!(m.answers()[0].record_type(), RecordType::DS);
}

#[test]
fn referral_glue_that_does_not_fit_truncates() {
    let e = engine();
    let m = ask(&e, "x.fat.example.com.", RecordType::A);
    assert!(m.truncated(), "16 in-domain AAAA glue records cannot fit in 512 bytes");
    assert!(m.name_servers().is_empty() && m.answers().is_empty());
    let m = ask_with(&e, "x.fat.example.com.", RecordType::A, Some((1232, false)), Transport::Udp);
    assert!(!m.truncated());
    assert_eq!((m.name_servers().len(), m.additionals().len()), (4, 16));
}

#[test]
fn any_gets_one_rrset() {
    let e = engine();
    let m = ask(&e, "www.example.com.", RecordType::ANY);
    assert_eq!(show(m.answers()), ["www.example.com. 3600 A 198.18.0.80"]);
    let m = ask(&e, "alias.example.com.", RecordType::ANY);
    assert_eq!(show(m.answers()), ["alias.example.com. 3600 CNAME www.example.com."]);
}

#[test]
fn dname_substitutes_the_suffix() {
    let e = engine();
    let m = ask(&e, "Host.Deep.dn.example.com.", RecordType::A);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.authoritative());
    // hickory-proto has no DNAME type: check it by number and RDATA.
    let dname = &m.answers()[0];
    assert_eq!((dname.name().to_string(), dname.record_type()), ("dn.example.com.".into(), RecordType::Unknown(39)));
    assert_eq!(
        hickory_proto::serialize::binary::BinEncodable::to_bytes(dname.data()).unwrap(),
        b"\x07example\x03net\x00"
    );
    // Lowered and written out, as Knot writes it: nothing shared with the question.
    assert_eq!(show(&m.answers()[1..]), ["Host.Deep.dn.example.com. 3600 CNAME host.deep.example.net."]);
}

#[test]
fn names_outside_our_zones_are_refused() {
    let e = engine();
    for name in ["example.net.", "com.", ".", "wwwexample.com."] {
        let m = ask(&e, name, RecordType::A);
        assert_eq!(m.response_code(), ResponseCode::Refused, "{name}");
        assert!(!m.authoritative() && m.answers().is_empty());
    }
}

#[test]
fn parent_and_child_zones_served_together() {
    let e = engine_for(&[CHILD, EXAMPLE], Options::default());
    let m = ask(&e, "www.child.example.com.", RecordType::A);
    assert!(m.authoritative(), "the child zone is ours: no referral");
    assert_eq!(show(m.answers()), ["www.child.example.com. 600 A 198.18.2.80"]);
    let m = ask(&e, "nope.child.example.com.", RecordType::A);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert!(show(m.name_servers())[0].starts_with("child.example.com. 60 SOA"));
    // DS at the child apex comes from the parent.
    let m = ask(&e, "child.example.com.", RecordType::DS);
    assert_eq!(m.answers().len(), 1);
    assert_eq!(m.answers()[0].ttl(), 3600);
    let m = ask(&e, "child.example.com.", RecordType::SOA);
    assert!(show(m.answers())[0].starts_with("child.example.com. 600 SOA"));
}

#[test]
fn edns_is_answered_with_our_size_and_the_do_bit() {
    let e = engine();
    let m = ask_with(&e, "www.example.com.", RecordType::A, Some((4096, true)), Transport::Udp);
    let edns = m.extensions().as_ref().expect("OPT in the answer");
    assert_eq!(edns.max_payload(), 1232);
    assert!(edns.flags().dnssec_ok);
    assert_eq!(edns.version(), 0);
    let m = ask_with(&e, "www.example.com.", RecordType::A, Some((1232, false)), Transport::Udp);
    assert!(!m.extensions().as_ref().unwrap().flags().dnssec_ok);
    let m = ask(&e, "www.example.com.", RecordType::A);
    assert!(m.extensions().is_none(), "no OPT without one in the query");
}

#[test]
fn edns_errors() {
    let e = engine();
    // Version 1: BADVERS, with our OPT.
    let mut q = query_bytes("www.example.com.", RecordType::A, Some((1232, false)));
    let n = q.len();
    q[n - 5] = 1; // OPT TTL byte 2: version
    let a = raw(&e, &q, Transport::Udp).unwrap();
    let m = Message::from_vec(&a).unwrap();
    // Extended rcode 16: hickory names it BADSIG, which shares the number.
    assert_eq!(u16::from(m.response_code()), 16);
    assert!(m.answers().is_empty());
    // Two OPT records: FORMERR.
    let mut q = query_bytes("www.example.com.", RecordType::A, Some((1232, false)));
    let opt = q[q.len() - 11..].to_vec();
    q.extend_from_slice(&opt);
    q[11] = 2;
    let m = Message::from_vec(&raw(&e, &q, Transport::Udp).unwrap()).unwrap();
    assert_eq!(m.response_code(), ResponseCode::FormErr);
    // An unknown option is ignored.
    let mut q = query_bytes("www.example.com.", RecordType::A, Some((1232, false)));
    let n = q.len();
    q[n - 1] = 6;
    q.extend_from_slice(&[0xfd, 0xe9, 0, 2, 0xab, 0xcd]);
    let m = Message::from_vec(&raw(&e, &q, Transport::Udp).unwrap()).unwrap();
    assert_eq!((m.response_code(), m.answers().len()), (ResponseCode::NoError, 1));
    // An option running past the OPT's RDATA is malformed.
    let mut q = query_bytes("www.example.com.", RecordType::A, Some((1232, false)));
    let n = q.len();
    q[n - 1] = 4;
    q.extend_from_slice(&[0, 10, 0, 9]);
    let m = Message::from_vec(&raw(&e, &q, Transport::Udp).unwrap()).unwrap();
    assert_eq!(m.response_code(), ResponseCode::FormErr);
}

#[test]
fn truncation_follows_the_size_limits() {
    let e = engine();
    let m = ask(&e, "big.example.com.", RecordType::TXT);
    assert!(m.truncated() && m.answers().is_empty(), "over 512 bytes without EDNS");
    assert!(m.authoritative(), "truncation keeps AA");
    assert_eq!(m.queries().len(), 1);
    let m = ask_with(&e, "big.example.com.", RecordType::TXT, Some((1232, false)), Transport::Udp);
    assert!(!m.truncated());
    assert_eq!(m.answers().len(), 5);
    let m = ask_with(&e, "big.example.com.", RecordType::TXT, Some((512, false)), Transport::Udp);
    assert!(m.truncated(), "the client's size is respected");
    let small = engine_for(&[EXAMPLE], Options { edns_udp_size: 512, ..Options::default() });
    let m = ask_with(&small, "big.example.com.", RecordType::TXT, Some((4096, false)), Transport::Udp);
    assert!(m.truncated(), "our size is respected");
    assert_eq!(m.extensions().as_ref().unwrap().max_payload(), 512);
    let m = ask_with(&e, "big.example.com.", RecordType::TXT, None, Transport::Tcp);
    assert!(!m.truncated() && m.answers().len() == 5, "no truncation over TCP");
}

#[test]
fn header_errors() {
    let e = engine();
    let q = query_bytes("www.example.com.", RecordType::A, None);
    // A response is never answered.
    let mut r = q.clone();
    r[2] |= 0x80;
    assert!(raw(&e, &r, Transport::Udp).is_none());
    assert!(raw(&e, &q[..11], Transport::Udp).is_none());
    // Opcode STATUS: NOTIMP with the question.
    let mut s = q.clone();
    s[2] = (s[2] & 0x87) | (2 << 3);
    let m = Message::from_vec(&raw(&e, &s, Transport::Udp).unwrap()).unwrap();
    assert_eq!((m.response_code(), m.op_code(), m.queries().len()), (ResponseCode::NotImp, OpCode::Status, 1));
    // QDCOUNT 0 and 2: FORMERR without a question.
    for qd in [0u8, 2] {
        let mut f = q.clone();
        f[5] = qd;
        let a = raw(&e, &f, Transport::Udp).unwrap();
        assert_eq!(a.len(), 12);
        assert_eq!(a[3] & 0xf, 1);
        assert_eq!(a[2] & 0x80, 0x80);
    }
    // A name cut short: FORMERR, header only.
    let a = raw(&e, &q[..20], Transport::Udp).unwrap();
    assert_eq!((a.len(), a[3] & 0xf, a[5]), (12, 1, 0));
    // Trailing garbage: FORMERR with the question echoed.
    let mut t = q.clone();
    t.push(0);
    let m = Message::from_vec(&raw(&e, &t, Transport::Udp).unwrap()).unwrap();
    assert_eq!((m.response_code(), m.queries().len()), (ResponseCode::FormErr, 1));
}

#[test]
fn query_types_without_data() {
    let e = engine();
    assert_eq!(ask(&e, "example.com.", RecordType::AXFR).response_code(), ResponseCode::Refused);
    assert_eq!(ask(&e, "example.com.", RecordType::IXFR).response_code(), ResponseCode::Refused);
    assert_eq!(ask(&e, "example.com.", RecordType::Unknown(250)).response_code(), ResponseCode::NotImp);
    assert_eq!(ask(&e, "example.com.", RecordType::OPT).response_code(), ResponseCode::FormErr);
}

#[test]
fn chaos_identity_is_refused_unless_configured() {
    let ask_ch = |e: &Engine, name: &str| {
        let mut m = Message::new();
        m.set_id(7).set_message_type(MessageType::Query).set_op_code(OpCode::Query);
        let mut q = HQuery::query(HName::from_ascii(name).unwrap(), RecordType::TXT);
        q.set_query_class(DNSClass::CH);
        m.add_query(q);
        Message::from_vec(&raw(e, &m.to_vec().unwrap(), Transport::Udp).unwrap()).unwrap()
    };
    let e = engine();
    for name in ["id.server.", "hostname.bind.", "version.bind."] {
        assert_eq!(ask_ch(&e, name).response_code(), ResponseCode::Refused);
    }
    let opts = Options { identity: Some("ns1.test".into()), version: Some("responder".into()), ..Options::default() };
    let e = engine_for(&[EXAMPLE], opts);
    let m = ask_ch(&e, "ID.SERVER.");
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(show(m.answers()), ["ID.SERVER. 0 TXT ns1.test"]);
    assert_eq!(m.answers()[0].dns_class(), DNSClass::CH);
    assert_eq!(show(ask_ch(&e, "version.bind.").answers()), ["version.bind. 0 TXT responder"]);
    assert_eq!(ask_ch(&e, "hostname.bind.").response_code(), ResponseCode::Refused);
    assert_eq!(ask_ch(&e, "other.bind.").response_code(), ResponseCode::Refused);
}
