//! DNAME answers (RFC 6672): the substituted name is followed into the
//! DNAME's zone as a CNAME target is, signed or not. Answers are decoded
//! by hickory-proto, which also follows every compression pointer.

use super::tests::{engine_for, query_bytes};
use super::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Record, RecordType};

const ZONE: &str = r#"
$ORIGIN example.com.
$TTL 3600
@         SOA ns1 hostmaster 1 7200 3600 1209600 300
@         NS ns1
ns1       A 198.18.0.53
old       DNAME new.example.com.
hop       DNAME Old.example.com.
cross     DNAME example.org.
www.new   A 198.18.0.80
alias.new CNAME www.new
gone.new  CNAME nothere.new
*.wild.new A 198.18.1.1
deleg.new NS ns.deleg.new
ns.deleg.new A 198.18.2.53
big.new   TXT "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big.new   TXT "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big.new   TXT "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big.new   TXT "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big.new   TXT "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
la        DNAME lb.example.com.
lb        DNAME la.example.com.
long      DNAME aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com.
"#;

const ORG: &str = r#"
$ORIGIN example.org.
$TTL 600
@   SOA ns hostmaster 7 3600 600 86400 60
@   NS ns
ns  A 198.18.3.53
www A 198.18.3.80
"#;

fn ask(e: &Engine, name: &str, qtype: RecordType, edns: Option<(u16, bool)>) -> Message {
    let q = query_bytes(name, qtype, edns);
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(&q);
    let n = answer_message(e, &mut buf, q.len(), Transport::Udp).expect("an answer");
    Message::from_vec(&buf[..n]).expect("answer decodes")
}

/// `name type rdata` (DNAME by number: hickory-proto has no DNAME type),
/// RRSIGs with the type they cover.
fn show(rs: &[Record]) -> Vec<String> {
    rs.iter()
        .map(|r| {
            let rd = hickory_proto::serialize::binary::BinEncodable::to_bytes(r.data()).unwrap_or_default();
            match r.record_type() {
                RecordType::Unknown(39) => format!("{} DNAME {}", r.name(), hickory_name(&rd)),
                RecordType::RRSIG => match u16::from_be_bytes([rd[0], rd[1]]) {
                    39 => format!("{} RRSIG DNAME", r.name()),
                    t => format!("{} RRSIG {}", r.name(), RecordType::from(t)),
                },
                RecordType::NSEC => format!("{} NSEC", r.name()),
                RecordType::DS => format!("{} DS", r.name()),
                t => format!("{} {} {}", r.name(), t, r.data()),
            }
        })
        .collect()
}

fn hickory_name(wire: &[u8]) -> String {
    let mut d = hickory_proto::serialize::binary::BinDecoder::new(wire);
    hickory_proto::rr::Name::read(&mut d).map(|n| n.to_string()).unwrap_or_default()
}

use hickory_proto::serialize::binary::BinDecodable;

fn engine() -> Engine {
    engine_for(&[ZONE, ORG], Options::default())
}

#[test]
fn the_substituted_name_is_answered() {
    let e = engine();
    let m = ask(&e, "WWW.Old.example.com.", RecordType::A, None);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.authoritative());
    assert_eq!(
        show(m.answers()),
        [
            "Old.example.com. DNAME new.example.com.",
            "WWW.Old.example.com. CNAME www.new.example.com.",
            "www.new.example.com. A 198.18.0.80"
        ]
    );
    assert!(m.name_servers().is_empty());
}

#[test]
fn a_missing_target_is_nxdomain_and_a_missing_type_nodata() {
    let e = engine();
    let m = ask(&e, "nothere.old.example.com.", RecordType::A, None);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert!(m.authoritative());
    assert_eq!(show(m.answers()).len(), 2);
    assert_eq!(
        show(m.name_servers()),
        ["example.com. SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300"]
    );
    let m = ask(&e, "www.old.example.com.", RecordType::TXT, None);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(show(m.answers()).len(), 2);
    assert_eq!(m.name_servers().len(), 1);
}

#[test]
fn chains_wildcards_and_referrals_after_the_substitution() {
    let e = engine();
    let m = ask(&e, "alias.old.example.com.", RecordType::A, None);
    assert_eq!(
        show(&m.answers()[1..]),
        [
            "alias.old.example.com. CNAME alias.new.example.com.",
            "alias.new.example.com. CNAME www.new.example.com.",
            "www.new.example.com. A 198.18.0.80"
        ]
    );
    // A chain from the target to a name that does not exist (RFC 6604).
    let m = ask(&e, "gone.old.example.com.", RecordType::A, None);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert_eq!(m.answers().len(), 3);
    let m = ask(&e, "x.Wild.old.example.com.", RecordType::A, None);
    // The substituted name's leading labels lowered, as Knot writes them.
    assert_eq!(show(&m.answers()[2..]), ["x.wild.new.example.com. A 198.18.1.1"]);
    let m = ask(&e, "host.deleg.old.example.com.", RecordType::A, None);
    assert!(m.authoritative(), "the answer began in our zone");
    assert_eq!(m.answers().len(), 2);
    assert_eq!(show(m.name_servers()), ["deleg.new.example.com. NS ns.deleg.new.example.com."]);
    assert_eq!(show(m.additionals()), ["ns.deleg.new.example.com. A 198.18.2.53"]);
}

#[test]
fn a_dname_to_a_dname_is_followed() {
    let e = engine();
    let m = ask(&e, "a.www.hop.example.com.", RecordType::A, None);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    let m = ask(&e, "www.hop.example.com.", RecordType::A, None);
    assert_eq!(
        show(m.answers()),
        [
            "hop.example.com. DNAME Old.example.com.",
            "www.hop.example.com. CNAME www.Old.example.com.",
            "Old.example.com. DNAME new.example.com.",
            "www.Old.example.com. CNAME www.new.example.com.",
            "www.new.example.com. A 198.18.0.80"
        ]
    );
}

#[test]
fn the_chase_stays_in_the_dnames_zone() {
    // example.org is served too, but Knot follows only inside the zone.
    let e = engine();
    let m = ask(&e, "www.cross.example.com.", RecordType::A, None);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(
        show(m.answers()),
        ["cross.example.com. DNAME example.org.", "www.cross.example.com. CNAME www.example.org."]
    );
}

#[test]
fn too_long_is_yxdomain_and_too_big_is_truncated() {
    let e = engine();
    let m = ask(
        &e,
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.long.example.com.",
        RecordType::A,
        None,
    );
    assert_eq!(m.response_code(), ResponseCode::YXDomain);
    assert_eq!(m.answers().len(), 1);
    let m = ask(&e, "big.old.example.com.", RecordType::TXT, None);
    assert!(m.truncated() && m.answers().is_empty());
    let m = ask(&e, "big.old.example.com.", RecordType::TXT, Some((1232, false)));
    assert!(!m.truncated());
    assert_eq!(m.answers().len(), 7);
}

#[test]
fn a_dname_loop_ends_after_eight_dnames() {
    let e = engine();
    let m = ask(&e, "x.la.example.com.", RecordType::A, None);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(m.answers().len(), 16, "{:?}", show(m.answers()));
    assert_eq!(
        show(&m.answers()[14..]),
        ["lb.example.com. DNAME la.example.com.", "x.lb.example.com. CNAME x.la.example.com."]
    );
}

const SIG: &str = "13 2 3600 20300101000000 20200101000000 4711 example.com. AAECAwQFBgcICQ==";

/// Fake signatures (the engine copies, never checks them), an NSEC chain in
/// canonical order: example.com, www.new, old, *.wild.new sorts after new.
fn signed_zone() -> String {
    let mut z = String::from(
        "$ORIGIN example.com.\n$TTL 3600\n\
         @ SOA ns1 hostmaster 1 7200 3600 1209600 300\n\
         @ NS ns1\n\
         @ 300 NSEC *.wild.new NS SOA RRSIG NSEC\n\
         *.wild.new A 198.18.1.1\n\
         *.wild.new 300 NSEC www.new A RRSIG NSEC\n\
         www.new A 198.18.0.80\n\
         www.new 300 NSEC ns1 A RRSIG NSEC\n\
         ns1 A 198.18.0.53\n\
         ns1 300 NSEC old A RRSIG NSEC\n\
         old DNAME new.example.com.\n\
         old 300 NSEC example.com. DNAME RRSIG NSEC\n",
    );
    for (owner, ttl, covered) in [
        ("@", 3600, "SOA"),
        ("@", 3600, "NS"),
        ("@", 300, "NSEC"),
        ("*.wild.new", 3600, "A"),
        ("*.wild.new", 300, "NSEC"),
        ("www.new", 3600, "A"),
        ("www.new", 300, "NSEC"),
        ("ns1", 3600, "A"),
        ("ns1", 300, "NSEC"),
        ("old", 3600, "DNAME"),
        ("old", 300, "NSEC"),
    ] {
        z.push_str(&format!("{owner} {ttl} RRSIG {covered} {SIG}\n"));
    }
    z
}

#[test]
fn signed_the_dname_is_signed_and_the_cname_not() {
    let e = engine_for(&[&signed_zone()], Options::default());
    let m = ask(&e, "www.old.example.com.", RecordType::A, Some((1232, true)));
    assert_eq!(
        show(m.answers()),
        [
            "old.example.com. DNAME new.example.com.",
            "old.example.com. RRSIG DNAME",
            "www.old.example.com. CNAME www.new.example.com.",
            "www.new.example.com. A 198.18.0.80",
            "www.new.example.com. RRSIG A"
        ]
    );
    // DO=0: no signatures at all.
    let m = ask(&e, "www.old.example.com.", RecordType::A, Some((1232, false)));
    assert_eq!(m.answers().len(), 3);
}

#[test]
fn signed_nxdomain_and_wildcards_prove_the_target() {
    let e = engine_for(&[&signed_zone()], Options::default());
    let m = ask(&e, "nothere.old.example.com.", RecordType::A, Some((1232, true)));
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert_eq!(m.answers().len(), 3);
    // nothere.new and *.new both fall between the apex and *.wild.new.
    assert_eq!(
        show(m.name_servers()),
        [
            "example.com. SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300",
            "example.com. RRSIG SOA",
            "example.com. NSEC",
            "example.com. RRSIG NSEC"
        ]
    );
    // A wildcard answer proves no closer name: x.wild.new is covered by *.wild.new's NSEC.
    let m = ask(&e, "x.wild.old.example.com.", RecordType::A, Some((1232, true)));
    assert_eq!(show(&m.answers()[3..]), ["x.wild.new.example.com. A 198.18.1.1", "x.wild.new.example.com. RRSIG A"]);
    assert_eq!(show(m.name_servers()), ["*.wild.new.example.com. NSEC", "*.wild.new.example.com. RRSIG NSEC"]);
}

/// A parent signed with NSEC (fake signatures) that serves two children
/// alongside: `kid`, delegated securely (DS), and `ins`, insecurely (the
/// NSEC at the cut shows no DS), each with a DNAME pointing into it.
fn parent_and_children() -> Vec<String> {
    let mut parent = String::from(
        "$ORIGIN example.net.\n$TTL 3600\n\
         @ SOA ns hostmaster 1 7200 3600 1209600 300\n\
         @ NS ns\n\
         @ 300 NSEC ins NS SOA RRSIG NSEC\n\
         ins NS ns.ins\n\
         ins 300 NSEC kid NS RRSIG NSEC\n\
         ns.ins A 198.18.5.1\n\
         kid NS ns.kid\n\
         kid DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
         kid 300 NSEC ns NS DS RRSIG NSEC\n\
         ns.kid A 198.18.5.2\n\
         ns A 198.18.5.53\n\
         ns 300 NSEC toins A RRSIG NSEC\n\
         toins DNAME ins.example.net.\n\
         toins 300 NSEC tokid DNAME RRSIG NSEC\n\
         tokid DNAME kid.example.net.\n\
         tokid 300 NSEC example.net. DNAME RRSIG NSEC\n",
    );
    for (owner, ttl, covered) in [
        ("@", 3600, "SOA"),
        ("@", 3600, "NS"),
        ("@", 300, "NSEC"),
        ("ins", 300, "NSEC"),
        ("kid", 3600, "DS"),
        ("kid", 300, "NSEC"),
        ("ns", 3600, "A"),
        ("ns", 300, "NSEC"),
        ("toins", 3600, "DNAME"),
        ("toins", 300, "NSEC"),
        ("tokid", 3600, "DNAME"),
        ("tokid", 300, "NSEC"),
    ] {
        parent.push_str(&format!("{owner} {ttl} RRSIG {covered} {}\n", SIG.replace("example.com.", "example.net.")));
    }
    let child = |name: &str, ns: &str| {
        format!("$ORIGIN {name}.example.net.\n$TTL 600\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A {ns}\nwww A 198.18.6.80\n")
    };
    // The children's own addresses for their servers differ from the
    // parent's glue: the referral carries the parent's, as Knot's does.
    vec![parent, child("kid", "198.18.7.2"), child("ins", "198.18.7.1")]
}

#[test]
fn a_target_in_a_served_child_gets_the_parents_referral() {
    // Knot looks for the substituted name in the DNAME's zone only and
    // finds the cut there, though it serves the child's data too.
    let zones = parent_and_children();
    let e = engine_for(&zones.iter().map(String::as_str).collect::<Vec<_>>(), Options::default());
    for edns in [None, Some((1232, false))] {
        let m = ask(&e, "www.tokid.example.net.", RecordType::A, edns);
        assert_eq!(m.response_code(), ResponseCode::NoError);
        assert!(m.authoritative(), "the answer began in the parent's data");
        assert_eq!(
            show(m.answers()),
            ["tokid.example.net. DNAME kid.example.net.", "www.tokid.example.net. CNAME www.kid.example.net."]
        );
        assert_eq!(show(m.name_servers()), ["kid.example.net. NS ns.kid.example.net."]);
        assert_eq!(show(m.additionals()), ["ns.kid.example.net. A 198.18.5.2"]);
    }
    // Asked of the child itself, the child answers.
    let m = ask(&e, "www.kid.example.net.", RecordType::A, None);
    assert_eq!(show(m.answers()), ["www.kid.example.net. A 198.18.6.80"]);
}

#[test]
fn signed_a_referral_into_a_served_child_has_its_ds_or_the_nsec_of_none() {
    let zones = parent_and_children();
    let e = engine_for(&zones.iter().map(String::as_str).collect::<Vec<_>>(), Options::default());
    let m = ask(&e, "www.tokid.example.net.", RecordType::A, Some((1232, true)));
    assert_eq!(
        show(m.answers()),
        [
            "tokid.example.net. DNAME kid.example.net.",
            "tokid.example.net. RRSIG DNAME",
            "www.tokid.example.net. CNAME www.kid.example.net."
        ]
    );
    assert_eq!(
        show(m.name_servers()),
        ["kid.example.net. NS ns.kid.example.net.", "kid.example.net. DS", "kid.example.net. RRSIG DS"]
    );
    let m = ask(&e, "a.b.toins.example.net.", RecordType::TXT, Some((1232, true)));
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(show(&m.answers()[2..]), ["a.b.toins.example.net. CNAME a.b.ins.example.net."]);
    assert_eq!(
        show(m.name_servers()),
        ["ins.example.net. NS ns.ins.example.net.", "ins.example.net. NSEC", "ins.example.net. RRSIG NSEC"]
    );
    assert_eq!(show(m.additionals()), ["ns.ins.example.net. A 198.18.5.1"]);
}
