//! The compiled entries against the engine itself: every query that maps
//! to an entry, in any case, with any ID, RD and CD, gets from the entry
//! exactly what the engine answers; queries outside the entry's conditions
//! are not matched.

use super::*;
use crate::engine::tests::{engine_for, EXAMPLE};
use crate::engine::Options;

/// What the program makes of `query` (a DNS message) with `entry`, at the
/// DNS level: `None` when it leaves the query to the engine. The program's
/// parse is in C (tested with BPF_PROG_TEST_RUN in `xdp::program::tests`);
/// this is its contract, to test the entries without a kernel.
fn apply(entry: &Entry, query: &[u8]) -> Option<Vec<u8>> {
    let key = &entry.key;
    let name_len = key.name.iter().position(|&b| b == 0).map(|p| p + 1)?;
    let question_end = HEADER_LEN + name_len + 4;
    let edns = key.shape != Shape::NoEdns as u8;
    if query.len() != question_end + if edns { 11 } else { 0 } || query[2] & 0xf8 != 0 {
        return None;
    }
    if query[HEADER_LEN..HEADER_LEN + name_len].to_ascii_lowercase() != key.name[..name_len]
        || query[question_end - 4..question_end] != [(key.qtype >> 8) as u8, key.qtype as u8, 0, 1]
    {
        return None;
    }
    if edns {
        let opt = &query[question_end..];
        let udp = u16::from_be_bytes([opt[3], opt[4]]).max(512);
        let dnssec_ok = opt[7] & 0x80 != 0;
        if opt[6] != 0 || dnssec_ok != (key.shape == Shape::EdnsDo as u8) || udp < entry.answer.min_udp {
            return None;
        }
    }
    let mut out = query[..question_end].to_vec();
    out[2..12].copy_from_slice(&entry.answer.header[2..12]);
    out[2] |= query[2] & 0x01;
    out[3] |= query[3] & 0x10;
    out.extend_from_slice(entry.answer.rest());
    Some(out)
}

fn engine_answer(engine: &Engine, query: &[u8]) -> Vec<u8> {
    ask(engine, query).expect("the engine answers")
}

/// `name` with the letters whose bit is set in `mask` upper-cased.
fn mixed_case(name: &[u8], mask: u64) -> Vec<u8> {
    let mut letter = 0;
    name.iter()
        .map(|&b| {
            if b.is_ascii_lowercase() {
                letter += 1;
                if mask >> (letter % 64) & 1 == 1 {
                    return b.to_ascii_uppercase();
                }
            }
            b
        })
        .collect()
}

fn with_header(mut query: Vec<u8>, id: u16, rd: bool, cd: bool) -> Vec<u8> {
    query[..2].copy_from_slice(&id.to_be_bytes());
    query[2] |= rd as u8;
    query[3] |= (cd as u8) << 4;
    query
}

const APEX: &[u8] = b"\x07example\x03com\x00";
const CHILD: &[u8] = b"\x05child\x07example\x03com\x00";

#[test]
fn apex_holds_every_apex_type_in_three_shapes_and_nothing_else() {
    let engine = engine_for(&[EXAMPLE], Options::default());
    let compiled = compile(&engine, Selection::Apex);
    let mut keys: Vec<(u16, u8)> = compiled.entries.iter().map(|e| (e.key.qtype, e.key.shape)).collect();
    assert!(compiled.entries.iter().all(|e| e.key.name[..APEX.len()] == *APEX && e.key.generation == 0));
    keys.sort_unstable();
    let mut expected: Vec<(u16, u8)> =
        [RType::A, RType::NS, RType::SOA, RType::MX].iter().flat_map(|t| [(t.0, 0), (t.0, 1), (t.0, 2)]).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(compiled.skipped, 0);
    assert!(compile(&engine, Selection::Off).entries.is_empty());
}

#[test]
fn delegations_add_the_referrals_at_each_cut() {
    let engine = engine_for(&[EXAMPLE], Options::default());
    let compiled = compile(&engine, Selection::ApexAndDelegations);
    let at_child: Vec<u16> = compiled
        .entries
        .iter()
        .filter(|e| e.key.name[..CHILD.len()] == *CHILD && e.key.shape == Shape::Edns as u8)
        .map(|e| e.key.qtype)
        .collect();
    assert_eq!(at_child, [RType::A.0, RType::NS.0, RType::AAAA.0, RType::DS.0]);
    let referral = compiled
        .entries
        .iter()
        .find(|e| e.key.name[..CHILD.len()] == *CHILD && e.key.qtype == RType::NS.0)
        .expect("the referral");
    let f = u16::from_be_bytes([referral.answer.header[2], referral.answer.header[3]]);
    assert_eq!(f & flags::AA, 0, "a referral is not authoritative");
}

#[test]
fn every_entry_applied_to_any_spelling_is_the_engines_answer() {
    let engine = engine_for(&[EXAMPLE], Options::default());
    let compiled = compile(&engine, Selection::ApexAndDelegations);
    assert!(compiled.entries.len() > 20);
    for (n, entry) in compiled.entries.iter().enumerate() {
        let name_len = entry.key.name.iter().position(|&b| b == 0).unwrap() + 1;
        let name = &entry.key.name[..name_len];
        let shape = Shape::ALL[entry.key.shape as usize];
        for (mask, id, rd, cd, udp) in [
            (0, 0, false, false, 65535),
            (u64::MAX, 0xbeef, true, false, 1232),
            (0x5a5a ^ n as u64, 7, true, true, 512),
        ] {
            let udp = udp.max(entry.answer.min_udp);
            let query = with_header(canonical_query(&mixed_case(name, mask), entry.key.qtype, shape, udp), id, rd, cd);
            let ours = apply(entry, &query).unwrap_or_else(|| panic!("entry {n} takes its own query"));
            assert_eq!(ours, engine_answer(&engine, &query), "entry {n}: {query:02x?}");
            // The stored sum is the answer's, less what the query supplies.
            let qname = be_sum(&query[HEADER_LEN..HEADER_LEN + name_len], HEADER_LEN);
            let supplied = u64::from(id) + u64::from(u16::from_be_bytes([ours[2], ours[3]]) & 0x0110) + qname;
            assert_eq!(fold(be_sum(&ours, 0)), fold(u64::from(entry.answer.sum) + supplied), "entry {n}");
        }
    }
}

#[test]
fn queries_outside_an_entry_are_not_taken() {
    let engine = engine_for(&[EXAMPLE], Options::default());
    let compiled = compile(&engine, Selection::Apex);
    let soa = |shape: Shape| {
        compiled.entries.iter().find(|e| e.key.qtype == RType::SOA.0 && e.key.shape == shape as u8).unwrap()
    };
    let edns = soa(Shape::Edns);
    assert!(apply(edns, &canonical_query(APEX, RType::SOA.0, Shape::EdnsDo, 1232)).is_none(), "DO=1 is its own key");
    assert!(apply(edns, &canonical_query(APEX, RType::NS.0, Shape::Edns, 1232)).is_none(), "another type");
    assert!(apply(edns, &canonical_query(b"\x03www\x07example\x03com\x00", 6, Shape::Edns, 1232)).is_none());
    let mut opcode = canonical_query(APEX, RType::SOA.0, Shape::Edns, 1232);
    opcode[2] = 0x28;
    assert!(apply(edns, &opcode).is_none(), "an UPDATE");
    let mut trailing = canonical_query(APEX, RType::SOA.0, Shape::NoEdns, 0);
    trailing.push(0);
    assert!(apply(soa(Shape::NoEdns), &trailing).is_none());
}

/// A large answer is kept only for queries offering at least its size:
/// below that the engine truncates or leaves records out.
#[test]
fn a_large_answer_names_the_least_size_it_fits() {
    let mut zone = String::from(EXAMPLE);
    for i in 0..12 {
        zone.push_str(&format!("@ TXT \"apex text record number {i:02} padded to make the answer large\"\n"));
    }
    let engine = engine_for(&[&zone], Options::default());
    let compiled = compile(&engine, Selection::Apex);
    let txt: Vec<&Entry> = compiled.entries.iter().filter(|e| e.key.qtype == RType::TXT.0).collect();
    assert_eq!(txt.len(), 2, "no entry without EDNS: it would be truncated");
    assert!(compiled.skipped >= 1);
    for e in txt {
        let min = e.answer.min_udp;
        let whole = HEADER_LEN + APEX.len() + 4 + e.answer.rest().len();
        assert!(min > 512 && usize::from(min) == whole, "min_udp {min}, answer {whole}");
        let shape = Shape::ALL[e.key.shape as usize];
        let short = canonical_query(APEX, RType::TXT.0, shape, min - 1);
        assert_ne!(engine_answer(&engine, &short)[12 + APEX.len() + 4..], *e.answer.rest(), "one byte less differs");
        assert!(apply(e, &short).is_none());
    }
}

#[test]
fn names_longer_than_a_key_are_left_to_the_engine() {
    let long = format!("{}.example.com.", ["a"; 30].join("."));
    let zone = format!("$ORIGIN {long}\n@ 3600 SOA ns.example.com. h 1 1 1 1 1\n@ 3600 NS ns.example.com.\n");
    let engine = engine_for(&[EXAMPLE, &zone], Options::default());
    let compiled = compile(&engine, Selection::Apex);
    assert!(compiled.entries.iter().all(|e| e.key.name[..APEX.len()] == *APEX));
    assert_eq!(compiled.skipped, 6, "SOA and NS in three shapes");
}

#[test]
fn the_selection_reads_as_the_flag_spells_it() {
    for s in [Selection::Off, Selection::Apex, Selection::ApexAndDelegations] {
        assert_eq!(s.to_string().parse::<Selection>(), Ok(s));
    }
    assert!("top".parse::<Selection>().is_err());
}
