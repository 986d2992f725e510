//! RRsets of thousands of records (format 5's 16-bit counts): answered in
//! full over TCP when one message can carry them, truncated over UDP, and,
//! when no message can, compiled anyway with a `file:line` warning and
//! answered as Knot answers them (TC over UDP, SERVFAIL over TCP).
//! Answers are decoded with hickory-proto, which checks every pointer.

use std::fmt::Write;

use super::tests::query_bytes;
use super::*;
use crate::table::format::{MAX_MESSAGE, MAX_SECTIONS};
use crate::table::Table;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use proptest::prelude::*;

const HEAD: &str =
    "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n";
/// Lines of [`HEAD`]: the first generated record is on the next one.
const HEAD_LINES: usize = 5;

fn zone(body: &str) -> String {
    format!("{HEAD}{body}")
}

fn compile_noting(text: &str) -> (Engine, Vec<String>) {
    let z = crate::zone::parse_str(text, "big.zone", None).expect("zone loads");
    let mut warnings = Vec::new();
    let table = Table::compile_noting(&[z], &mut warnings).expect("compiles");
    (Engine::new(table, Options::default()), warnings)
}

fn ask(e: &Engine, name: &str, qtype: RecordType, edns: Option<u16>, transport: Transport) -> Message {
    let q = query_bytes(name, qtype, edns.map(|size| (size, false)));
    let mut buf = vec![0u8; MAX_MESSAGE];
    buf[..q.len()].copy_from_slice(&q);
    let n = answer_message(e, &mut buf, q.len(), transport).expect("an answer");
    Message::from_vec(&buf[..n]).expect("the answer decodes")
}

/// `count` A records at `name`, one a line.
fn a_records(name: &str, count: usize) -> String {
    let mut s = String::new();
    for i in 0..count {
        let _ = writeln!(s, "{name} A 198.{}.{}.{}", 18 + i / 64_000, i / 250 % 256, i % 250 + 1);
    }
    s
}

#[test]
fn four_thousand_records_are_answered_in_full_over_tcp_and_truncated_over_udp() {
    // 4,000 × 16 bytes: 64,000, which one TCP message carries.
    let (e, warnings) = compile_noting(&zone(&a_records("many", 4000)));
    assert!(warnings.is_empty(), "{warnings:?}");
    let m = ask(&e, "many.example.com.", RecordType::A, None, Transport::Tcp);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert!(m.authoritative() && !m.truncated());
    assert_eq!(m.answers().len(), 4000);
    let last = m.answers().last().unwrap().data().to_string();
    assert_eq!(last, "198.18.15.250", "file order, nothing lost");
    let m = ask(&e, "many.example.com.", RecordType::A, Some(1232), Transport::Udp);
    assert!(m.truncated() && m.authoritative() && m.answers().is_empty());
    assert_eq!(m.response_code(), ResponseCode::NoError);
}

#[test]
fn an_rrset_no_message_can_carry_is_refused_over_tcp_and_truncated_over_udp_with_a_warning() {
    // 5,000 TXT records need at least 5,000 × 15 bytes: no message holds them.
    let mut body = String::from("alias CNAME huge\n");
    for i in 0..5000 {
        let _ = writeln!(body, "huge TXT \"t{i}\"");
    }
    let (e, warnings) = compile_noting(&zone(&body));
    let line = HEAD_LINES + 2;
    assert_eq!(warnings.len(), 1, "one warning per RRset, not per answer that carries it: {warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("big.zone:{line}: the 5000 TXT records of huge.example.com. ")),
        "{warnings:?}"
    );
    // ANY at the CNAME gets the CNAME alone (RFC 8482), which fits.
    for (name, qtype) in [
        ("huge.example.com.", RecordType::TXT),
        ("huge.example.com.", RecordType::ANY),
        ("alias.example.com.", RecordType::TXT),
    ] {
        {
            let m = ask(&e, name, qtype, None, Transport::Tcp);
            assert_eq!(m.response_code(), ResponseCode::ServFail, "{name} {qtype} over TCP, as Knot");
            assert!(!m.authoritative() && !m.truncated() && m.answers().is_empty());
            let m = ask(&e, name, qtype, Some(1232), Transport::Udp);
            assert_eq!(m.response_code(), ResponseCode::NoError);
            assert!(m.truncated() && m.authoritative() && m.answers().is_empty(), "{name} {qtype} over UDP");
        }
    }
    // The rest of the zone is served as usual.
    let m = ask(&e, "ns1.example.com.", RecordType::A, None, Transport::Udp);
    assert_eq!(m.answers().len(), 1);
}

#[test]
fn more_than_255_additional_rrsets_are_carried() {
    // 300 MX targets, each with an address: 300 chunks after 300 records.
    let mut body = String::new();
    for i in 0..300 {
        let _ = writeln!(body, "@ MX 10 m{i}\nm{i} A 198.18.1.{}", i % 250 + 1);
    }
    let (e, _) = compile_noting(&zone(&body));
    let m = ask(&e, "example.com.", RecordType::MX, None, Transport::Tcp);
    assert_eq!(m.answers().len(), 300);
    assert_eq!(m.additionals().len(), 300);
}

#[test]
fn pointers_reach_the_body_after_the_longest_question() {
    // Pairs of MX targets sharing a suffix: the second of each pair points
    // at the first. Past 16 KB of body, under a long query name, such a
    // pointer would need more than 14 bits: the compiler must write the
    // name out instead.
    let mut body = String::new();
    for i in 0..1000 {
        let _ = writeln!(body, "*.w MX 10 a.h{i}\n*.w MX 20 b.h{i}");
    }
    let (e, _) = compile_noting(&zone(&body));
    let label = "x".repeat(60);
    let long = format!("{label}.{label}.{label}.y.w.example.com.");
    let m = ask(&e, &long, RecordType::MX, None, Transport::Tcp);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!(m.answers().len(), 2000);
}

#[test]
fn additional_chunks_beyond_pointer_reach_are_left_out() {
    // 1,500 MX records fill 30 KB; each target's two addresses point at
    // their own first owner, which from there a pointer cannot reach.
    let mut body = String::new();
    for i in 0..1500 {
        let _ = writeln!(body, "@ MX 10 mx{i}\nmx{i} A 198.18.2.1\nmx{i} A 198.18.2.2");
    }
    let (e, _) = compile_noting(&zone(&body));
    let m = ask(&e, "example.com.", RecordType::MX, None, Transport::Tcp);
    assert_eq!(m.response_code(), ResponseCode::NoError, "a chunk out of reach is optional data, not a failure");
    assert_eq!(m.answers().len(), 1500);
    assert!(m.additionals().iter().all(|r| r.record_type() == RecordType::A));
}

#[test]
fn referral_glue_past_16_kb_is_carried() {
    // 700 NS with long names fill 21 KB of authority; in-domain glue must
    // go in (RFC 9471), so it never points into itself, where a pointer
    // from beyond 16 KB could not reach.
    let mut body = String::new();
    for i in 0..700 {
        let _ = writeln!(
            body,
            "d NS nameserver-{i:04}.d\nnameserver-{i:04}.d A 198.18.3.1\nnameserver-{i:04}.d A 198.18.3.2"
        );
    }
    let (e, _) = compile_noting(&zone(&body));
    let m = ask(&e, "x.d.example.com.", RecordType::A, None, Transport::Tcp);
    assert_eq!(m.response_code(), ResponseCode::NoError);
    assert_eq!((m.name_servers().len(), m.additionals().len()), (700, 1400));
    let m = ask(&e, "x.d.example.com.", RecordType::A, Some(4096), Transport::Udp);
    assert!(m.truncated());
}

#[test]
fn a_rrset_too_big_for_the_counters_compiles_quickly() {
    // 70,000 records would overflow a 16-bit count; encoding stops once
    // no message could carry what is written.
    let (e, warnings) = compile_noting(&zone(&a_records("huge", 70_000)));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let m = ask(&e, "huge.example.com.", RecordType::A, None, Transport::Tcp);
    assert_eq!(m.response_code(), ResponseCode::ServFail);
}

/// A query name below `*.t.example.com.` of `len` bytes more (at least 2).
fn name_below_t(len: usize) -> String {
    let mut name = String::new();
    let mut left = len;
    while left > 1 {
        let label = (left - 1).min(63);
        name.push_str(&"q".repeat(label));
        name.push('.');
        left -= label + 1;
    }
    name + "t.example.com."
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Around the 65,535-byte limit, for a wildcard, so that the question
    /// grows while the template stays: over TCP the whole RRset when the
    /// message fits, SERVFAIL when it does not; the compiler warns exactly
    /// when it could not fit even under the shortest question.
    #[test]
    fn rrsets_around_the_message_limit(
        string_len in 5usize..40,
        target in 60_000usize..70_000,
        prefix in 2usize..230,
    ) {
        // TXT records whose owner is a pointer: 12 bytes, then the string.
        let record = 12 + 1 + string_len;
        let count = target / record;
        let mut body = String::new();
        for i in 0..count {
            let _ = writeln!(body, "*.t TXT \"{i:0string_len$}\"");
        }
        let (e, warnings) = compile_noting(&zone(&body));
        let body_len = count * record;
        prop_assert_eq!(!warnings.is_empty(), body_len > MAX_SECTIONS, "{} bytes: {:?}", body_len, warnings);
        let qname = name_below_t(prefix);
        let message = 12 + (qname.len() + 1) + 4 + body_len;
        let m = ask(&e, &qname, RecordType::TXT, None, Transport::Tcp);
        if message <= MAX_MESSAGE {
            prop_assert_eq!(m.response_code(), ResponseCode::NoError);
            prop_assert_eq!(m.answers().len(), count);
        } else {
            prop_assert_eq!(m.response_code(), ResponseCode::ServFail);
        }
        let m = ask(&e, &qname, RecordType::TXT, Some(4096), Transport::Udp);
        prop_assert!(m.truncated() && m.answers().is_empty());
    }
}
