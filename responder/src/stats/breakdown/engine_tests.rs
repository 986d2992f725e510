//! The engine hands the counting policy the right qtype, zone, DO bit and
//! sizes, on the message path and the frame path alike, once per query.

use hickory_proto::rr::RecordType;
use testkit::frames::{FrameSpec, Network};

use super::qtype::QTYPES;
use super::zones::{ZoneNames, NO_ZONE};
use crate::engine::live::SharedEngine;
use crate::engine::policy::SendAll;
use crate::engine::tests::{engine_for, query_bytes, EXAMPLE};
use crate::engine::{Options, Session, Transport, Verdict};
use crate::stats::{BreakdownCounts, Counting, DnsCounters};

const OTHER: &str = "$ORIGIN other.test.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 198.18.0.1\n";

/// `other.test.` then `example.com.` in the table; slots named the other
/// way round, as a reload that reordered them would leave them.
fn session() -> Session<Counting<SendAll>> {
    let names = ZoneNames::default();
    names.slots_for(&[Some("example.com.".into())]);
    let engine = engine_for(&[OTHER, EXAMPLE], Options::default());
    let slots = names.slots_for(&[Some("other.test.".into()), Some("example.com.".into())]);
    Session::new(&SharedEngine::new(engine.with_zone_slots(slots)), Counting::new(SendAll))
}

/// Asks each query over the message path; returns the answers' lengths.
fn ask(session: &mut Session<Counting<SendAll>>, queries: &[Vec<u8>], transport: Transport) -> Vec<usize> {
    queries
        .iter()
        .filter_map(|q| {
            let mut buf = vec![0u8; 65535];
            buf[..q.len()].copy_from_slice(q);
            session.answer_message(&mut buf, q.len(), transport, &[198, 18, 0, 2])
        })
        .collect()
}

fn qtype(c: &BreakdownCounts, name: &str) -> u64 {
    c.qtype[QTYPES.iter().position(|q| *q == name).unwrap()]
}

fn rcode(name: &str) -> usize {
    DnsCounters::RCODES.iter().position(|r| *r == name).unwrap()
}

#[test]
fn message_path_counts_type_zone_do_and_sizes() {
    let mut s = session();
    let queries = vec![
        query_bytes("www.example.com.", RecordType::A, None),
        query_bytes("www.example.com.", RecordType::AAAA, Some((1232, true))),
        query_bytes("nothere.example.com.", RecordType::MX, Some((1232, false))),
        query_bytes("ns.other.test.", RecordType::A, None),
        query_bytes("www.elsewhere.", RecordType::CAA, None),
        query_bytes("big.example.com.", RecordType::TXT, None),
    ];
    let mut response = queries[0].clone();
    response[2] |= 0x80; // QR: read, never answered.
    let mut all = queries.clone();
    all.push(response);
    let sizes = ask(&mut s, &all, Transport::Udp);
    let c = s.policy().breakdown().read();
    assert_eq!(
        (qtype(&c, "A"), qtype(&c, "AAAA"), qtype(&c, "MX"), qtype(&c, "CAA"), qtype(&c, "TXT")),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(c.responses(), 6, "the response to a response is not one");
    assert_eq!(c.zone_rcode[0][rcode("noerror")], 3, "example.com. kept slot 0");
    assert_eq!(c.zone_rcode[0][rcode("nxdomain")], 1);
    assert_eq!(c.zone_rcode[1][rcode("noerror")], 1, "other.test. counted in slot 1");
    assert_eq!(c.zone_rcode[NO_ZONE as usize][rcode("refused")], 1);
    assert_eq!(c.dnssec_ok, 1);
    assert_eq!(c.query_size.count(), 7, "every message read, answered or not");
    assert_eq!(c.query_size.sum, all.iter().map(|q| q.len() as u64).sum::<u64>());
    assert_eq!(c.response_size.count(), 6);
    assert_eq!(c.response_size.sum, sizes.iter().map(|&n| n as u64).sum::<u64>());
    // big.example.com. TXT does not fit 512 bytes without EDNS: the one TC.
    assert_eq!(c.tc, 1);
}

#[test]
fn frame_path_counts_the_dns_message_not_the_frame() {
    let mut s = session();
    let query = query_bytes("www.example.com.", RecordType::A, Some((1232, true)));
    let network = Network::V4 { src: [198, 18, 0, 2], dst: [198, 18, 0, 1], options: vec![], no_udp_checksum: true };
    let frame = FrameSpec::simple(network, vec![]).build(&query);
    let mut buf = vec![0u8; 2048];
    buf[..frame.len()].copy_from_slice(&frame);
    let Verdict::Transmit(n) = s.answer_frame(&mut buf, frame.len(), 2048) else { panic!("an answer") };
    let c = s.policy().breakdown().read();
    let headers = 14 + 20 + 8;
    assert_eq!((c.query_size.sum, c.response_size.sum), (query.len() as u64, (n - headers) as u64));
    assert_eq!((c.zone_rcode[0][rcode("noerror")], c.dnssec_ok, qtype(&c, "A")), (1, 1, 1));
}

/// A signed query is counted once, at the sizes that crossed the wire: the
/// signed query read and the signed answer sent, not the inner message the
/// engine answers after taking the TSIG off.
#[test]
fn a_signed_query_is_counted_once_at_its_wire_sizes() {
    use crate::tsig::{self, Key, Keyring, Signing};
    let key = Key::from_text("xfr.example", "hmac-sha256", "dGhlLXNlY3JldC1vZi10aGUtdGVzdHM=").unwrap();
    let options = Options { tsig: Keyring::new(vec![key.clone()]).unwrap(), ..Options::default() };
    let shared = SharedEngine::new(engine_for(&[EXAMPLE], options));
    let mut s = Session::new(&shared, Counting::new(SendAll));
    let mut query = query_bytes("www.example.com.", RecordType::A, None);
    tsig::sign_message(&key, &mut query, &Signing::new(None, tsig::now())).unwrap();
    let sizes = ask(&mut s, &[query.clone()], Transport::Udp);
    let c = s.policy().breakdown().read();
    assert_eq!((c.query_size.count(), c.query_size.sum), (1, query.len() as u64));
    assert_eq!((c.response_size.count(), c.response_size.sum), (1, sizes[0] as u64));
    let plain = ask(&mut session(), &[query_bytes("www.example.com.", RecordType::A, None)], Transport::Udp);
    assert!(sizes[0] > plain[0], "the answer counted is the signed one: {} > {}", sizes[0], plain[0]);
    assert_eq!((c.responses(), qtype(&c, "A"), c.zone_rcode[0][rcode("noerror")]), (1, 1, 1));
}
