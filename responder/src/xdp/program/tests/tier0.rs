//! Tier 0 through BPF_PROG_TEST_RUN: for a corpus of query frames, the
//! program's answer is byte for byte the frame the engine's in-place rewrite
//! (`engine::answer_in_place`, what the workers run) makes of the same
//! frame, or, for a near miss, the program steers the frame as it does
//! without tier 0 (here XDP_PASS counted `passed_no_socket`: no socket is
//! registered).

use testkit::frames::{wire_name, QuerySpec};

use super::*;
use crate::engine::tests::{engine_for, EXAMPLE};
use crate::engine::{answer_in_place, Engine, Options, Verdict};
use crate::xdp::tier0::{compile, Selection};

fn tier0_program() -> XdpProgram {
    let program = load(&SteeringConfig { tier0: true, ..SteeringConfig::default() });
    assert_eq!(program.tier0_refused(), None, "this kernel must accept the tier-0 code");
    program
}

fn publish(program: &XdpProgram, engine: &Engine, selection: Selection) -> usize {
    let compiled = compile(engine, selection);
    let maps = program.tier0().expect("tier-0 maps");
    let published = maps.lock().unwrap().publish(&compiled.entries).expect("publishing");
    published.entries
}

/// The engine's answer to `frame` as a worker gives it.
fn engine_frame(engine: &Engine, frame: &[u8]) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    buf[..frame.len()].copy_from_slice(frame);
    match answer_in_place(engine, &mut buf, frame.len(), 4096) {
        Verdict::Transmit(n) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Answered by the program: XDP_TX, the engine's frame.
    Hit,
    /// Steered as without tier 0.
    Miss,
}

/// Runs `frame` and checks the program against the engine.
fn check(program: &XdpProgram, engine: &Engine, frame: &[u8], expect: Expect, what: &str) {
    let before = program.counters().expect("counters");
    let (action, out) = program.test_run_frame(frame).expect("test run");
    let counted: Vec<_> = program.counters().expect("counters").since(&before).nonzero().collect();
    match expect {
        Expect::Hit => {
            assert_eq!((action, counted.as_slice()), (XdpAction::Tx, &[(Outcome::AnsweredTier0, 1)][..]), "{what}");
            let theirs = engine_frame(engine, frame).unwrap_or_else(|| panic!("{what}: the engine answers"));
            assert_eq!(out, theirs, "{what}: tier 0 and the engine differ");
        }
        Expect::Miss => {
            assert_eq!((action, counted.as_slice()), (XdpAction::Pass, &[(Outcome::PassedNoSocket, 1)][..]), "{what}");
            assert_eq!(out, frame, "{what}: a frame left to the engine is untouched");
        }
    }
}

fn query(name: &str, qtype: u16, edns: Option<(u16, bool)>) -> QuerySpec {
    QuerySpec { edns, ..QuerySpec::new(name, qtype) }
}

/// The ways a frame may carry a query: IPv4, IPv6, behind one or two tags.
fn carriers() -> Vec<(&'static str, Frame)> {
    vec![
        ("ipv4", Frame::udp4(53)),
        ("ipv6", Frame::udp6(53)),
        ("ipv4 vlan", Frame::udp4(53).vlan(ETHERTYPE_VLAN, 10)),
        ("ipv6 qinq", Frame::udp6(53).vlan(ETHERTYPE_QINQ, 100).vlan(ETHERTYPE_VLAN, 10)),
    ]
}

const SOA: u16 = 6;
const NS: u16 = 2;
const A: u16 = 1;
const MX: u16 = 15;
const TXT: u16 = 16;
const AAAA: u16 = 28;
const DS: u16 = 43;
const ANY: u16 = 255;

#[test]
fn tier0_answers_equal_the_engines_byte_for_byte() {
    if !privileged("tier0_answers_equal_the_engines_byte_for_byte") {
        return;
    }
    let engine = engine_for(&[EXAMPLE], Options::default());
    let program = tier0_program();
    assert!(publish(&program, &engine, Selection::ApexAndDelegations) > 20);
    let hits = [
        query("example.com.", SOA, None),
        query("EXAMPLE.com.", NS, Some((1232, false))),
        query("ExAmPlE.CoM.", MX, Some((4096, true))),
        query("example.COM.", A, Some((100, false))), // below 512 counts as 512
        query("child.example.com.", NS, None),
        query("Child.Example.Com.", AAAA, Some((1232, false))),
        query("child.example.com.", DS, Some((1232, true))),
        query("fat.example.com.", A, Some((1232, false))),
        QuerySpec { id: 0, rd: false, ..query("example.com.", SOA, Some((512, false))) },
        QuerySpec { id: 0xffff, ..query("eXAMPLE.COM.", NS, Some((65535, true))) },
    ];
    for (carrier, frame) in carriers() {
        for q in &hits {
            let mut message = q.encode();
            // CD set on some: echoed like RD.
            if q.id == 0xffff {
                message[3] |= 0x10;
            }
            let what = format!("{carrier} {q:?}");
            check(&program, &engine, &frame.clone().payload(&message).build(), Expect::Hit, &what);
        }
    }
}

#[test]
fn tier0_leaves_near_misses_to_the_engine() {
    if !privileged("tier0_leaves_near_misses_to_the_engine") {
        return;
    }
    let engine = engine_for(&[EXAMPLE], Options::default());
    let program = tier0_program();
    publish(&program, &engine, Selection::Apex);
    let soa = query("example.com.", SOA, Some((1232, false))).encode();
    let mut near: Vec<(&str, Vec<u8>)> = vec![
        ("a type the apex lacks", query("example.com.", TXT, None).encode()),
        ("a name outside the zones", query("ready.probe.invalid.", A, None).encode()),
        ("a name outside the zones, EDNS", query("ready.probe.invalid.", SOA, Some((1232, false))).encode()),
        ("ANY", query("example.com.", ANY, None).encode()),
        ("a longer name", query("www.example.com.", A, Some((1232, false))).encode()),
        ("a name under the apex", query("x.example.com.", SOA, None).encode()),
        ("a delegation, apex only", query("child.example.com.", NS, None).encode()),
        ("EDNS version 1", {
            let mut m = soa.clone();
            let at = m.len() - 5;
            m[at] = 1;
            m
        }),
        ("an OPT with an option (NSID)", {
            let mut m = soa.clone();
            let len = m.len();
            m[len - 1] = 4;
            m.extend_from_slice(&[0, 3, 0, 0]);
            m
        }),
        ("class CH", QuerySpec { qclass: 3, ..query("example.com.", SOA, None) }.encode()),
        ("opcode 2", {
            let mut m = soa.clone();
            m[2] |= 0x10;
            m
        }),
        ("a trailing byte", {
            let mut m = query("example.com.", SOA, None).encode();
            m.push(0);
            m
        }),
        ("an answer record count", {
            let mut m = soa.clone();
            m[7] = 1;
            m
        }),
        ("a compressed question name", {
            let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12];
            m.extend_from_slice(&[0, 6, 0, 1]);
            m
        }),
    ];
    let long = format!("{}.example.com.", ["a"; 30].join("."));
    near.push(("a name longer than a key", query(&long, SOA, None).encode()));
    for (carrier, frame) in carriers() {
        for (what, message) in &near {
            let what = format!("{carrier}: {what}");
            check(&program, &engine, &frame.clone().payload(message).build(), Expect::Miss, &what);
        }
        // Frames the engine drops must not be answered here either.
        let bad_source_mac = {
            let mut f = frame.clone().payload(&soa).build();
            f[6] |= 1;
            f
        };
        check(&program, &engine, &bad_source_mac, Expect::Miss, &format!("{carrier}: group source MAC"));
    }
    // A bad IPv4 header checksum: the engine drops the frame.
    let mut bad = Frame::udp4(53).payload(&soa).build();
    bad[24] ^= 0xff;
    check(&program, &engine, &bad, Expect::Miss, "bad IPv4 header checksum");
    // IPv4 options: the engine closes them up; not done here.
    let options = Frame::udp4(53).ipv4_options(&[1, 1, 1, 0]).payload(&soa).build();
    check(&program, &engine, &options, Expect::Miss, "IPv4 options");
    // Ethernet padding behind a short datagram is not part of the query.
    let mut padded = Frame::udp4(53).payload(&query("example.com.", SOA, None).encode()).build();
    padded.resize(padded.len().max(60) + 6, 0);
    check(&program, &engine, &padded, Expect::Hit, "Ethernet padding");
    assert_eq!(wire_name("example.com.").len(), 13);
}

/// An answer larger than 512 bytes goes only to queries offering its size.
#[test]
fn tier0_large_answers_need_the_room_they_take() {
    if !privileged("tier0_large_answers_need_the_room_they_take") {
        return;
    }
    let mut zone = String::from(EXAMPLE);
    for i in 0..12 {
        zone.push_str(&format!("@ TXT \"apex text record number {i:02} padded to make the answer large\"\n"));
    }
    let engine = engine_for(&[&zone], Options::default());
    let program = tier0_program();
    publish(&program, &engine, Selection::Apex);
    let size = engine_frame(
        &engine,
        &Frame::udp4(53).payload(&query("example.com.", TXT, Some((4096, false))).encode()).build(),
    )
    .map(|f| f.len() - 14 - 20 - 8)
    .expect("an answer") as u16;
    assert!(size > 512);
    for (carrier, frame) in carriers() {
        for (udp, expect) in [(size, Expect::Hit), (4096, Expect::Hit), (size - 1, Expect::Miss), (512, Expect::Miss)] {
            for dnssec_ok in [false, true] {
                let message = query("Example.com.", TXT, Some((udp, dnssec_ok))).encode();
                let what = format!("{carrier} TXT size {udp} DO {dnssec_ok}");
                check(&program, &engine, &frame.clone().payload(&message).build(), expect, &what);
            }
        }
        let message = query("example.com.", TXT, None).encode();
        check(&program, &engine, &frame.clone().payload(&message).build(), Expect::Miss, "truncated without EDNS");
    }
}

/// A publish replaces the whole set at once; clearing answers nothing.
#[test]
fn tier0_generations_replace_each_other_whole() {
    if !privileged("tier0_generations_replace_each_other_whole") {
        return;
    }
    let program = tier0_program();
    let maps = program.tier0().expect("tier-0 maps");
    let soa = Frame::udp6(53).payload(&query("example.com.", SOA, Some((1232, false))).encode()).build();
    check(&program, &engine_for(&[EXAMPLE], Options::default()), &soa, Expect::Miss, "nothing published yet");
    for serial in [1u32, 2, 3] {
        let zone = EXAMPLE.replace("2024010101", &serial.to_string());
        let engine = engine_for(&[&zone], Options::default());
        publish(&program, &engine, Selection::Apex);
        assert_eq!(maps.lock().unwrap().generation(), if serial % 2 == 1 { 1 } else { 2 });
        check(&program, &engine, &soa, Expect::Hit, &format!("serial {serial}"));
    }
    let empty = engine_for(&[], Options::default());
    assert_eq!(publish(&program, &empty, Selection::Apex), 0);
    check(&program, &empty, &soa, Expect::Miss, "an empty generation");
    publish(&program, &engine_for(&[EXAMPLE], Options::default()), Selection::Apex);
    maps.lock().unwrap().clear().expect("clearing");
    check(&program, &empty, &soa, Expect::Miss, "cleared");
}

/// Without tier 0 asked for, the program holds no tier-0 maps to fill.
#[test]
fn tier0_is_off_unless_asked_for() {
    if !privileged("tier0_is_off_unless_asked_for") {
        return;
    }
    let program = load(&SteeringConfig::default());
    assert!(program.tier0().is_none() && program.tier0_refused().is_none());
    let soa = Frame::udp4(53).payload(&query("example.com.", SOA, None).encode()).build();
    check(&program, &engine_for(&[EXAMPLE], Options::default()), &soa, Expect::Miss, "tier 0 off");
}

/// Every key compiled from the zone, in pseudo-random spellings (case, ID,
/// RD, CD, EDNS size), over every carrier: the engine's frame each time;
/// and derived near misses (one more label, a type without a key): steered.
#[test]
fn tier0_every_key_in_any_spelling() {
    if !privileged("tier0_every_key_in_any_spelling") {
        return;
    }
    let engine = engine_for(&[EXAMPLE], Options::default());
    let program = tier0_program();
    let compiled = compile(&engine, Selection::ApexAndDelegations);
    publish(&program, &engine, Selection::ApexAndDelegations);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // xorshift64*: deterministic, so a failure replays.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let keys: std::collections::HashSet<(Vec<u8>, u16, u8)> = compiled
        .entries
        .iter()
        .map(|e| {
            let len = e.key.name.iter().position(|&b| b == 0).unwrap() + 1;
            (e.key.name[..len].to_vec(), e.key.qtype, e.key.shape)
        })
        .collect();
    for (name, qtype, shape) in &keys {
        for (carrier, frame) in carriers() {
            let r = next();
            let mut message = crate::xdp::tier0::compile::canonical_query(
                name,
                *qtype,
                crate::xdp::tier0::Shape::ALL[*shape as usize],
                [512u16, 1232, 1400, 4096, 65535][(r % 5) as usize],
            );
            message[..2].copy_from_slice(&(r as u16).to_be_bytes());
            message[2] |= (r >> 16) as u8 & 0x01; // RD
            message[3] |= (r >> 17) as u8 & 0x10; // CD
            for (i, b) in message[12..12 + name.len()].iter_mut().enumerate() {
                if b.is_ascii_lowercase() && (r >> (20 + i % 40)) & 1 == 1 {
                    *b = b.to_ascii_uppercase();
                }
            }
            let what = format!("{carrier} key {name:02x?}/{qtype}/{shape}, message {message:02x?}");
            let min_udp = compiled
                .entries
                .iter()
                .find(|e| e.key.name[..name.len()] == name[..] && e.key.qtype == *qtype && e.key.shape == *shape)
                .map(|e| e.answer.min_udp)
                .unwrap();
            let offered = if *shape == 0 {
                0
            } else {
                u16::from_be_bytes([message[message.len() - 8], message[message.len() - 7]])
            };
            let expect = if *shape == 0 || offered.max(512) >= min_udp { Expect::Hit } else { Expect::Miss };
            check(&program, &engine, &frame.clone().payload(&message).build(), expect, &what);

            // One more label in front: no key.
            let mut longer = b"\x01x".to_vec();
            longer.extend_from_slice(name);
            if longer.len() <= 64 && !keys.iter().any(|(n, _, _)| *n == longer) {
                let message =
                    crate::xdp::tier0::compile::canonical_query(&longer, *qtype, crate::xdp::tier0::Shape::NoEdns, 0);
                check(
                    &program,
                    &engine,
                    &frame.clone().payload(&message).build(),
                    Expect::Miss,
                    &format!("{what}, longer"),
                );
            }
        }
    }
    // A type no name has a key for.
    let message =
        crate::xdp::tier0::compile::canonical_query(b"\x07example\x03com\x00", 99, crate::xdp::tier0::Shape::NoEdns, 0);
    check(&program, &engine, &Frame::udp4(53).payload(&message).build(), Expect::Miss, "SPF at the apex");
}

/// The program reads the name a word at a time (masking the bytes past it,
/// hashing and lowercasing whole words) and rewrites the frame with word
/// moves: apex names of every wire length from 8 to 64 bytes (so every
/// place the name can end in its last word), behind no, one or two tags
/// over IPv4 and IPv6 (the name at 2 and at 6 modulo 8 of the frame: a tag
/// is half a word; nothing tier 0 answers puts it at an odd offset), each
/// answered as the engine answers, byte for byte.
#[test]
fn tier0_answers_at_even_and_odd_offsets_equal_the_engines() {
    if !privileged("tier0_answers_at_even_and_odd_offsets_equal_the_engines") {
        return;
    }
    let mut carriers = carriers();
    carriers.push(("ipv6 vlan", Frame::udp6(53).vlan(ETHERTYPE_VLAN, 10)));
    carriers.push(("ipv4 qinq", Frame::udp4(53).vlan(ETHERTYPE_QINQ, 100).vlan(ETHERTYPE_VLAN, 10)));
    let program = tier0_program();
    for wire_len in 8..=64usize {
        // One label of wire_len - 7 letters under `test.`: 1 + n + 1 + 4 + 1.
        let label: String = (0..wire_len - 7).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let origin = format!("{label}.test.");
        assert_eq!(wire_name(&origin).len(), wire_len);
        let engine =
            engine_for(&[&EXAMPLE.replace("$ORIGIN example.com.", &format!("$ORIGIN {origin}"))], Options::default());
        assert!(publish(&program, &engine, Selection::Apex) >= 12, "{origin}: SOA, NS, MX, A in three shapes");
        // Every other letter upper case: the echoed question keeps it.
        let spelled: String =
            origin.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect();
        for (carrier, frame) in &carriers {
            for (qtype, edns) in [(SOA, None), (NS, Some((1232, false))), (MX, Some((4096, true))), (A, None)] {
                let message = query(&spelled, qtype, edns).encode();
                let what = format!("{carrier} {wire_len}-byte name, qtype {qtype}, EDNS {edns:?}");
                check(&program, &engine, &frame.clone().payload(&message).build(), Expect::Hit, &what);
            }
        }
    }
}

/// The map is keyed by the name's hash, the name kept in the value: a key
/// whose stored name is another's (as after a hash collision) answers
/// nothing, and a publish keeps one entry per key, counting the rest.
#[test]
fn tier0_a_hash_collision_is_a_miss_not_a_wrong_answer() {
    if !privileged("tier0_a_hash_collision_is_a_miss_not_a_wrong_answer") {
        return;
    }
    let engine = engine_for(&[EXAMPLE], Options::default());
    let program = tier0_program();
    let maps = program.tier0().expect("tier-0 maps");
    let mut entries = compile(&engine, Selection::Apex).entries;
    let soa_key = |e: &crate::xdp::tier0::Entry| e.key.qtype == SOA && e.key.shape == 0;
    let at = entries.iter().position(soa_key).expect("the apex SOA without EDNS");
    // Another name of the same length stored under example.com.'s key.
    entries[at].answer.name[1] = b'x';
    let duplicate = entries[at].clone();
    entries.push(duplicate);
    let published = maps.lock().unwrap().publish(&entries).expect("publishing");
    assert_eq!((published.entries, published.collisions), (entries.len() - 1, 1));
    let soa = query("example.com.", SOA, None).encode();
    let ns = query("example.com.", NS, None).encode();
    for (carrier, frame) in carriers() {
        check(&program, &engine, &frame.clone().payload(&soa).build(), Expect::Miss, &format!("{carrier}: SOA"));
        check(&program, &engine, &frame.clone().payload(&ns).build(), Expect::Hit, &format!("{carrier}: NS"));
    }
}
