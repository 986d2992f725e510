//! DNSSEC answers (RFC 4035 §3.1) from a pre-signed zone: DO=1 gets each
//! RRset's RRSIGs and the NSEC proofs the compiler can work out, DO=0 gets
//! exactly the unsigned answer. The signatures here are not valid ones: the
//! engine copies them, it never checks them (the validator tests do, in
//! tests/tests/dnssec_serve.rs).

use super::tests::{engine_for, query_bytes};
use super::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Record, RecordType};

const SIG: &str = "13 2 3600 20300101000000 20200101000000 4711 example.com. AAECAwQFBgcICQ==";

fn signed_zone() -> String {
    let mut z = String::from(
        "$ORIGIN example.com.\n$TTL 3600\n\
         @ SOA ns1 hostmaster 1 7200 3600 1209600 300\n\
         @ NS ns1\n\
         @ DNSKEY 257 3 13 AAECAwQFBgcICQ==\n\
         @ 300 NSEC a.b.example.com. A NS SOA RRSIG NSEC DNSKEY\n\
         a.b 300 NSEC ins A RRSIG NSEC\n\
         a.b A 198.18.0.7\n\
         ins NS ns.ins\n\
         ins 300 NSEC ns1 NS RRSIG NSEC\n\
         ns.ins A 198.18.0.9\n\
         ns1 A 198.18.0.53\n\
         ns1 300 NSEC sec A RRSIG NSEC\n\
         sec NS ns1\n\
         sec DS 1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n\
         sec 300 NSEC *.w.example.com. NS DS RRSIG NSEC\n\
         *.w A 198.18.0.99\n\
         *.w 300 NSEC example.com. A RRSIG NSEC\n\
         @ 3600 A 198.18.0.1\n",
    );
    for (owner, ttl, covered) in [
        ("@", 3600, "SOA"),
        ("@", 3600, "NS"),
        ("@", 3600, "A"),
        ("@", 3600, "DNSKEY"),
        ("@", 300, "NSEC"),
        ("a.b", 3600, "A"),
        ("a.b", 300, "NSEC"),
        ("ins", 300, "NSEC"),
        ("ns1", 3600, "A"),
        ("ns1", 300, "NSEC"),
        ("sec", 3600, "DS"),
        ("sec", 300, "NSEC"),
        ("*.w", 3600, "A"),
        ("*.w", 300, "NSEC"),
    ] {
        z.push_str(&format!("{owner} {ttl} RRSIG {covered} {SIG}\n"));
    }
    z
}

fn ask(e: &Engine, name: &str, qtype: RecordType, dnssec_ok: bool) -> (Message, Vec<u8>) {
    let q = query_bytes(name, qtype, Some((1232, dnssec_ok)));
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(&q);
    let n = answer_message(e, &mut buf, q.len(), Transport::Udp).expect("an answer");
    (Message::from_vec(&buf[..n]).expect("answer decodes"), buf[..n].to_vec())
}

/// `name ttl type`, with the covered type for RRSIGs.
fn show(rs: &[Record]) -> Vec<String> {
    rs.iter()
        .map(|r| {
            let mut s = format!("{} {} {}", r.name(), r.ttl(), r.record_type());
            if r.record_type() == RecordType::RRSIG {
                let rd = hickory_proto::serialize::binary::BinEncodable::to_bytes(r.data()).unwrap_or_default();
                let covered = RecordType::from(u16::from_be_bytes([rd[0], rd[1]]));
                s.push_str(&format!(" {covered}"));
            }
            s
        })
        .collect()
}

#[test]
fn positive_answers_carry_their_rrsigs_and_do_is_echoed() {
    let e = engine_for(&[&signed_zone()], Options::default());
    let (m, _) = ask(&e, "A.b.example.com.", RecordType::A, true);
    assert_eq!(show(m.answers()), ["A.b.example.com. 3600 A", "A.b.example.com. 3600 RRSIG A"]);
    assert!(m.authoritative() && !m.authentic_data());
    assert!(m.extensions().as_ref().is_some_and(|e| e.flags().dnssec_ok));
    let (m, _) = ask(&e, "example.com.", RecordType::DNSKEY, true);
    assert_eq!(show(m.answers()), ["example.com. 3600 DNSKEY", "example.com. 3600 RRSIG DNSKEY"]);
    // Additional addresses of in-zone targets come signed too.
    let (m, _) = ask(&e, "example.com.", RecordType::NS, true);
    assert_eq!(show(m.additionals()), ["ns1.example.com. 3600 A", "ns1.example.com. 3600 RRSIG A"]);
}

#[test]
fn do_zero_answers_are_the_unsigned_ones() {
    let signed = engine_for(&[&signed_zone()], Options::default());
    let (m, _) = ask(&signed, "a.b.example.com.", RecordType::A, false);
    assert_eq!(show(m.answers()), ["a.b.example.com. 3600 A"]);
    let (m, _) = ask(&signed, "nothere.example.com.", RecordType::A, false);
    assert_eq!(show(m.name_servers()), ["example.com. 300 SOA"]);
    // A DO=1 query to an unsigned zone gets the same bytes but the DO bit.
    let unsigned = engine_for(&[super::tests::EXAMPLE], Options::default());
    let (_, plain) = ask(&unsigned, "www.example.com.", RecordType::A, false);
    let (_, with_do) = ask(&unsigned, "www.example.com.", RecordType::A, true);
    assert_eq!(plain.len(), with_do.len());
    assert_eq!(plain.iter().zip(&with_do).filter(|(a, b)| a != b).count(), 1, "only the OPT's DO bit differs");
}

#[test]
fn nodata_carries_the_soa_and_nsec_with_their_signatures() {
    let e = engine_for(&[&signed_zone()], Options::default());
    let (m, _) = ask(&e, "ns1.example.com.", RecordType::TXT, true);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(
        show(m.name_servers()),
        [
            "example.com. 300 SOA",
            "example.com. 300 RRSIG SOA",
            "ns1.example.com. 300 NSEC",
            "ns1.example.com. 300 RRSIG NSEC"
        ]
    );
    // An empty non-terminal: the NSEC that covers it, here the apex's.
    let (m, _) = ask(&e, "b.example.com.", RecordType::A, true);
    assert_eq!(show(m.name_servers())[2..], ["example.com. 300 NSEC", "example.com. 300 RRSIG NSEC"]);
}

#[test]
fn referrals_prove_their_ds_or_its_absence() {
    let e = engine_for(&[&signed_zone()], Options::default());
    let (m, _) = ask(&e, "www.sec.example.com.", RecordType::A, true);
    assert!(!m.authoritative());
    assert_eq!(
        show(m.name_servers()),
        ["sec.example.com. 3600 NS", "sec.example.com. 3600 DS", "sec.example.com. 3600 RRSIG DS"]
    );
    let (m, _) = ask(&e, "www.ins.example.com.", RecordType::A, true);
    assert_eq!(
        show(m.name_servers()),
        ["ins.example.com. 3600 NS", "ins.example.com. 300 NSEC", "ins.example.com. 300 RRSIG NSEC"]
    );
    assert_eq!(show(m.additionals()), ["ns.ins.example.com. 3600 A"], "glue is not signed");
    // DS asked at the delegations: signed, or the NSEC without a DS bit.
    let (m, _) = ask(&e, "sec.example.com.", RecordType::DS, true);
    assert_eq!(show(m.answers()), ["sec.example.com. 3600 DS", "sec.example.com. 3600 RRSIG DS"]);
    let (m, _) = ask(&e, "ins.example.com.", RecordType::DS, true);
    assert_eq!(show(m.name_servers())[2..], ["ins.example.com. 300 NSEC", "ins.example.com. 300 RRSIG NSEC"]);
}

#[test]
fn required_signatures_that_do_not_fit_truncate() {
    // Four 90-byte TXT records fit 512 bytes, not with their RRSIG.
    let mut z = signed_zone();
    for i in 0..4 {
        z.push_str(&format!("t TXT \"{}\"\n", i.to_string().repeat(90)));
    }
    let long_sig = format!("13 2 3600 20300101000000 20200101000000 4711 example.com. {}", "A".repeat(88));
    z.push_str(&format!("t RRSIG TXT {long_sig}\n"));
    let e = engine_for(&[&z], Options::default());
    let (m, plain) = ask(&e, "t.example.com.", RecordType::TXT, false);
    assert!(!m.truncated() && m.answers().len() == 4 && plain.len() <= 512);
    let q = query_bytes("t.example.com.", RecordType::TXT, Some((512, true)));
    let mut buf = vec![0u8; 65535];
    buf[..q.len()].copy_from_slice(&q);
    let n = answer_message(&e, &mut buf, q.len(), Transport::Udp).expect("an answer");
    let m = Message::from_vec(&buf[..n]).expect("decodes");
    assert!(m.truncated() && m.answers().is_empty() && m.authoritative(), "RFC 4035 §3.1.1: TC, not a bare RRset");
    let (m, _) = ask(&e, "t.example.com.", RecordType::TXT, true);
    assert_eq!(show(m.answers()).last().map(String::as_str), Some("t.example.com. 3600 RRSIG TXT"));
}

#[test]
fn nxdomain_proves_the_name_and_the_wildcard_absent() {
    let e = engine_for(&[&signed_zone()], Options::default());
    // nx sorts between ns1 and sec; *.example.com between the apex and a.b.
    let (m, _) = ask(&e, "Nx.example.com.", RecordType::A, true);
    assert_eq!(m.response_code(), ResponseCode::NXDomain);
    assert_eq!(
        show(m.name_servers()),
        [
            "example.com. 300 SOA",
            "example.com. 300 RRSIG SOA",
            "ns1.example.com. 300 NSEC",
            "ns1.example.com. 300 RRSIG NSEC",
            "example.com. 300 NSEC",
            "example.com. 300 RRSIG NSEC",
        ]
    );
    // a.example.com and *.example.com both sort between the apex and a.b:
    // the one NSEC covering both is sent once.
    let (m, _) = ask(&e, "a.example.com.", RecordType::A, true);
    assert_eq!(show(m.name_servers())[2..], ["example.com. 300 NSEC", "example.com. 300 RRSIG NSEC"]);
    let (m, _) = ask(&e, "nx.example.com.", RecordType::A, false);
    assert_eq!(show(m.name_servers()), ["example.com. 300 SOA"], "DO=0 unchanged");
}

#[test]
fn wildcard_answers_prove_no_closer_name() {
    let e = engine_for(&[&signed_zone()], Options::default());
    let (m, _) = ask(&e, "x.w.example.com.", RecordType::A, true);
    assert_eq!(show(m.answers()), ["x.w.example.com. 3600 A", "x.w.example.com. 3600 RRSIG A"]);
    assert_eq!(show(m.name_servers()), ["*.w.example.com. 300 NSEC", "*.w.example.com. 300 RRSIG NSEC"]);
    // Wildcard NODATA: the wildcard's NSEC also covers x.w, sent once.
    let (m, _) = ask(&e, "x.w.example.com.", RecordType::TXT, true);
    assert_eq!(show(m.name_servers())[2..], ["*.w.example.com. 300 NSEC", "*.w.example.com. 300 RRSIG NSEC"]);
}

#[test]
fn out_of_date_signatures_load_with_a_warning_and_the_earliest_expiry_is_known() {
    // 20300101000000 in the zone's signatures; one that expired in 2020.
    let mut z = signed_zone();
    z.push_str(
        "www A 198.18.0.80\nwww RRSIG A 13 3 3600 20200201000000 20200101000000 4711 example.com. AAECAwQFBgcICQ==\n",
    );
    let parsed = crate::zone::parse_str(&z, "signed.zone", None).expect("zone");
    let mut warnings = Vec::new();
    let table = crate::table::Table::compile_noting(&[parsed], &mut warnings).expect("compiles");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("RRSIG over www.example.com. A expired 20200201000000"), "{}", warnings[0]);
    // 2020-02-01 00:00:00 UTC.
    assert_eq!(table.earliest_rrsig_expiry(0), Some(1_580_515_200));
    // Stored by the compiler, as the answers themselves carry it.
    assert_eq!(table.scanned_rrsig_expiry(0), Some(1_580_515_200));
    let fresh = crate::table::Table::compile(&[crate::zone::parse_str(&signed_zone(), "s.zone", None).unwrap()]);
    let fresh = fresh.expect("compiles");
    assert_eq!(fresh.earliest_rrsig_expiry(0), fresh.scanned_rrsig_expiry(0));
    assert!(fresh.earliest_rrsig_expiry(0).is_some());
    assert_eq!(crate::table::rrsig_time(1_580_515_200), "20200201000000");
    let unsigned = engine_for(&[super::tests::EXAMPLE], Options::default());
    assert_eq!(unsigned.table().earliest_rrsig_expiry(0), None);
    assert_eq!(unsigned.table().scanned_rrsig_expiry(0), None);
}
