//! Tables answered from before [`Table::check`] ran: a start serves a table
//! file after the structural checks alone (`Table::open_unchecked`), so
//! every answer from corrupt bytes must be an answer (wrong, SERVFAIL or
//! none), never a panic. Debug builds (these tests) also panic on integer
//! overflow, so an offset sum that wraps is caught here too.

use proptest::prelude::*;

use super::*;
use crate::engine::tests::{query_bytes, EXAMPLE};
use crate::engine::{answer_message, Engine, Options, Transport};
use hickory_proto::rr::RecordType;

/// A small NSEC-signed zone: the denial chains and DO=1 templates are
/// read on the answer path too.
fn signed() -> String {
    let sig = "13 2 3600 20300101000000 20200101000000 4711 signed.test. AAECAwQFBgcICQ==";
    let mut z = String::from(
        "$ORIGIN signed.test.\n$TTL 3600\n\
         @ SOA ns1 hostmaster 1 7200 3600 1209600 300\n\
         @ NS ns1\n\
         @ 300 NSEC ns1 NS SOA RRSIG NSEC\n\
         ns1 A 198.18.0.53\n\
         ns1 300 NSEC *.w A RRSIG NSEC\n\
         *.w A 198.18.0.99\n\
         *.w 300 NSEC signed.test. A RRSIG NSEC\n",
    );
    for (owner, ttl, covered) in [("@", 3600, "SOA"), ("@", 300, "NSEC"), ("ns1", 3600, "A"), ("*.w", 3600, "A")] {
        z.push_str(&format!("{owner} {ttl} RRSIG {covered} {sig}\n"));
    }
    z
}

fn good() -> Vec<u8> {
    let zones = [
        crate::zone::parse_str(EXAMPLE, "example.zone", None).unwrap(),
        crate::zone::parse_str(&signed(), "signed.zone", None).unwrap(),
    ];
    Table::compile(&zones).unwrap().as_bytes().to_vec()
}

/// Every kind of answer the two zones give, DO=0 and DO=1.
fn queries() -> Vec<Vec<u8>> {
    let names = [
        "example.com.",
        "www.example.com.",
        "nosuch.example.com.",
        "a.b.c.wild.example.com.",
        "www.child.example.com.",
        "signed.test.",
        "ns1.signed.test.",
        "x.w.signed.test.",
        "nosuch.signed.test.",
        "example.net.",
    ];
    let types = [RecordType::A, RecordType::NS, RecordType::SOA, RecordType::MX, RecordType::AAAA, RecordType::ANY];
    let mut out = Vec::new();
    for name in names {
        for qtype in types {
            for dnssec_ok in [false, true] {
                out.push(query_bytes(name, qtype, Some((4096, dnssec_ok))));
            }
        }
    }
    out
}

/// Answers every query over UDP and TCP; each reply must fit its buffer.
fn answer_all(engine: &Engine, queries: &[Vec<u8>]) -> usize {
    let mut buf = vec![0u8; 65535];
    let mut answered = 0;
    for q in queries {
        for transport in [Transport::Udp, Transport::Tcp] {
            buf[..q.len()].copy_from_slice(q);
            if let Some(n) = answer_message(engine, &mut buf, q.len(), transport) {
                assert!(n <= buf.len());
                answered += 1;
            }
        }
    }
    answered
}

#[test]
fn a_corrupt_table_opens_unchecked_answers_and_then_fails_its_check() {
    let good = good();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.tbl");
    std::fs::write(&path, &flipped).unwrap();
    assert!(matches!(Table::open(&path), Err(TableError::Checksum)), "the checked open refuses it");
    let unchecked = Table::open_unchecked(&path).expect("the structure holds");
    assert!(matches!(unchecked.check(), Err(TableError::Checksum)));
    assert!(answer_all(&Engine::new(unchecked, Options::default()), &queries()) > 0);
    // The same bytes resealed: the checksum passes and the walk finds it.
    seal(&mut flipped);
    let resealed = Table::from_bytes_unchecked(flipped).expect("the structure holds");
    let _ = resealed.check();
    // The good table passes both.
    let table = Table::from_bytes_unchecked(good).unwrap();
    table.check().expect("a compiled table passes its check");
    assert!(table.find(b"\x03www\x07example\x03com\x00").is_some());
}

#[test]
fn what_the_unchecked_open_still_refuses() {
    let good = good();
    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(Table::from_bytes_unchecked(b), Err(TableError::BadMagic)));
    assert!(matches!(Table::from_bytes_unchecked(good[..good.len() - 1].to_vec()), Err(TableError::Length { .. })));
    let mut b = good.clone();
    Header::new_checked_mut(&mut b).unwrap().set_zone_count(u32::MAX);
    assert!(matches!(Table::from_bytes_unchecked(b), Err(TableError::Corrupt("zone array out of bounds"))));
    let mut b = good.clone();
    Header::new_checked_mut(&mut b).unwrap().set_bucket_count(3);
    assert!(matches!(Table::from_bytes_unchecked(b), Err(TableError::Corrupt("bucket array out of bounds"))));
    let mut b = good;
    let count = Header::new_checked(&b).unwrap().bucket_count();
    Header::new_checked_mut(&mut b).unwrap().set_max_probe(count);
    assert!(matches!(Table::from_bytes_unchecked(b), Err(TableError::Corrupt("bucket array out of bounds"))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any bytes changed anywhere after the header (resealed or not, the
    /// unchecked open does not read the checksum): the table either opens
    /// or is refused, every query is answered or dropped without a panic,
    /// and the full check gives a verdict without one either.
    #[test]
    fn corrupt_tables_answer_without_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..24),
        header_too in any::<bool>(),
    ) {
        let mut b = good();
        let from = if header_too { 0 } else { HEADER_LEN };
        for (at, mask) in flips {
            let i = from + at.index(b.len() - from);
            b[i] ^= mask;
        }
        let Ok(table) = Table::from_bytes_unchecked(b) else { return Ok(()) };
        let _ = table.check();
        let _ = (0..table.zone_count() as u32).filter_map(|z| table.zone(z)).count();
        answer_all(&Engine::new(table, Options::default()), &queries());
    }
}
