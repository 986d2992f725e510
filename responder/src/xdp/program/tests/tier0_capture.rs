//! Capture of tier-0 answers through BPF_PROG_TEST_RUN: a sampled answer
//! leaves a record in the program's ring with the query as it came and the
//! answer as it left, byte for byte, and the frame's addresses and ports;
//! 1-in-N is exact per CPU; a full ring loses records and counts them; the
//! code is accepted with rate limiting too.
//!
//! The sampler is per CPU: each test pins itself to one CPU.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use testkit::frames::QuerySpec;

use super::*;
use crate::engine::tests::{engine_for, EXAMPLE};
use crate::engine::Options;
use crate::rrl::RrlConfig;
use crate::xdp::tier0::capture::{self, monotonic_ns, CaptureSettings};
use crate::xdp::tier0::{compile, Selection};

fn pin_to_one_cpu() {
    let core = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()).expect("a CPU to run on");
    assert!(core_affinity::set_for_current(core), "pinning the test to CPU {}", core.id);
}

fn capturing(every: u32, ring_bytes: usize, rrl: Option<RrlConfig>) -> XdpProgram {
    let capture = Some(CaptureSettings { every, ring_bytes: capture::ring_size(ring_bytes) });
    let program = load(&SteeringConfig { tier0: true, rrl, capture, ..SteeringConfig::default() });
    assert_eq!(program.tier0_refused(), None, "this kernel must accept the tier-0 code");
    assert_eq!(program.tier0_capture_refused(), None, "this kernel must accept the tier-0 capture code");
    let engine = engine_for(&[EXAMPLE], Options::default());
    let compiled = compile(&engine, Selection::ApexAndDelegations);
    program.tier0().expect("tier-0 maps").lock().unwrap().publish(&compiled.entries).expect("publishing");
    program
}

/// Every record the ring holds, as owned bytes.
fn records(program: &XdpProgram) -> Vec<Vec<u8>> {
    let mut ring = program.take_tier0_capture_ring().expect("the capture ring");
    let mut out = Vec::new();
    capture::drain(&mut ring, |r| out.push(r.to_vec()));
    program.put_back_tier0_capture_ring(ring);
    out
}

/// A frame's source and destination (address and port) and DNS message.
fn endpoints(frame: &[u8]) -> (SocketAddr, SocketAddr, &[u8]) {
    let mut at = 12;
    while matches!(frame[at..at + 2], [0x81, 0x00] | [0x88, 0xa8]) {
        at += 4;
    }
    let v6 = frame[at..at + 2] == [0x86, 0xdd];
    let ip = at + 2;
    let (src, dst, udp): (IpAddr, IpAddr, usize) = if v6 {
        let a = |o: usize| IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&frame[o..o + 16]).unwrap()));
        (a(ip + 8), a(ip + 24), ip + 40)
    } else {
        let a = |o: usize| IpAddr::V4(Ipv4Addr::new(frame[o], frame[o + 1], frame[o + 2], frame[o + 3]));
        (a(ip + 12), a(ip + 16), ip + 20)
    };
    let port = |o: usize| u16::from_be_bytes([frame[o], frame[o + 1]]);
    let len = usize::from(port(udp + 4));
    (SocketAddr::new(src, port(udp)), SocketAddr::new(dst, port(udp + 2)), &frame[udp + 8..udp + len])
}

fn hit(carrier: &Frame, name: &str, qtype: u16, edns: Option<(u16, bool)>, id: u16) -> Vec<u8> {
    let message = QuerySpec { id, edns, ..QuerySpec::new(name, qtype) }.encode();
    carrier.clone().payload(&message).build()
}

#[test]
fn tier0_capture_records_the_query_and_answer_byte_for_byte() {
    if !privileged("tier0_capture_records_the_query_and_answer_byte_for_byte") {
        return;
    }
    pin_to_one_cpu();
    let program = capturing(1, 1 << 20, None);
    let carriers = [
        ("ipv4", Frame::udp4(53)),
        ("ipv6", Frame::udp6(53)),
        ("ipv4 vlan", Frame::udp4(53).vlan(ETHERTYPE_VLAN, 10)),
        ("ipv6 qinq", Frame::udp6(53).vlan(ETHERTYPE_QINQ, 100).vlan(ETHERTYPE_VLAN, 10)),
    ];
    let queries = [
        ("ExAmPlE.CoM.", 2, Some((1232, false))),
        ("example.com.", 6, None),
        ("Child.Example.com.", 43, Some((4096, true))),
        ("fat.example.com.", 1, Some((1232, false))),
    ];
    for (carrier, frame) in &carriers {
        for (i, (name, qtype, edns)) in queries.iter().enumerate() {
            let query = hit(frame, name, *qtype, *edns, 0x1200 + i as u16);
            let before = monotonic_ns();
            let (action, answer) = program.test_run_frame(&query).expect("test run");
            let after = monotonic_ns();
            let what = format!("{carrier} {name} {qtype}");
            assert_eq!(action, XdpAction::Tx, "{what}: answered by tier 0");
            let got = records(&program);
            assert_eq!(got.len(), 1, "{what}: one record per answer at 1-in-1");
            let r = capture::decode(&got[0]).unwrap_or_else(|| panic!("{what}: a whole record"));
            let (client, server, query_message) = endpoints(&query);
            let (from, to, answer_message) = endpoints(&answer);
            assert_eq!((from, to), (server, client), "{what}: the answer goes back");
            assert_eq!((r.client, r.server), (client, server), "{what}");
            assert_eq!(r.query, query_message, "{what}: the query as it came");
            assert_eq!(r.response, answer_message, "{what}: the answer as it left");
            assert!(!r.cut, "{what}");
            assert!((before..=after).contains(&r.monotonic_ns), "{what}: {before} <= {} <= {after}", r.monotonic_ns);
        }
    }
    // A miss is steered and never recorded.
    let miss = hit(&Frame::udp4(53), "www.example.com.", 1, None, 9);
    assert_eq!(program.test_run_frame(&miss).expect("test run").0, XdpAction::Pass);
    assert!(records(&program).is_empty(), "a miss is not a tier-0 answer");
    assert_eq!(program.tier0_capture_lost().expect("capture on").expect("read"), 0);
}

#[test]
fn tier0_capture_takes_exactly_one_in_n_on_a_cpu() {
    if !privileged("tier0_capture_takes_exactly_one_in_n_on_a_cpu") {
        return;
    }
    pin_to_one_cpu();
    for every in [1u32, 3, 7] {
        let program = capturing(every, 1 << 20, None);
        let mut ids = Vec::new();
        for id in 1..=50u16 {
            let query = hit(&Frame::udp4(53), "example.com.", 2, None, id);
            assert_eq!(program.test_run_frame(&query).expect("test run").0, XdpAction::Tx);
            // Misses in between do not count.
            let miss = hit(&Frame::udp4(53), "www.example.com.", 1, None, id);
            assert_eq!(program.test_run_frame(&miss).expect("test run").0, XdpAction::Pass);
        }
        for r in records(&program) {
            let r = capture::decode(&r).expect("a whole record");
            ids.push(u16::from_be_bytes([r.query[0], r.query[1]]));
        }
        let want: Vec<u16> = (1..=50u16).filter(|id| u32::from(*id) % every == 0).collect();
        assert_eq!(ids, want, "1-in-{every}: the N-th, 2N-th... answers");
    }
}

#[test]
fn tier0_capture_counts_what_a_full_ring_loses() {
    if !privileged("tier0_capture_counts_what_a_full_ring_loses") {
        return;
    }
    pin_to_one_cpu();
    // The smallest ring (a page): room for a few records only.
    let program = capturing(1, 0, None);
    let answers = 40u64;
    for id in 0..answers {
        let query = hit(&Frame::udp6(53), "example.com.", 2, Some((1232, true)), id as u16);
        assert_eq!(program.test_run_frame(&query).expect("test run").0, XdpAction::Tx, "answered, ring full or not");
    }
    let kept = records(&program).len() as u64;
    let lost = program.tier0_capture_lost().expect("capture on").expect("read");
    assert!(kept > 0 && lost > 0, "kept {kept}, lost {lost}");
    assert_eq!(kept + lost, answers);
}

/// The variant closest to the verifier's limit: tier 0 with rate limiting
/// and capture. Its count goes to docs/BENCHMARKS.md.
#[test]
fn tier0_capture_with_rate_limiting_is_accepted() {
    if !privileged("tier0_capture_with_rate_limiting_is_accepted") {
        return;
    }
    pin_to_one_cpu();
    let program = capturing(1, 1 << 16, Some(RrlConfig::with_rate(crate::rrl::MAX_RATE)));
    let insns = program.verified_instructions().expect("program info");
    eprintln!("tier 0 + rate limiting + capture: verifier processed {insns:?} instructions");
    if let Some(n) = insns {
        assert!(n < 1_000_000, "{n}");
    }
    let query = hit(&Frame::udp4(53), "example.com.", 6, None, 7);
    let (action, answer) = program.test_run_frame(&query).expect("test run");
    assert_eq!(action, XdpAction::Tx);
    let got = records(&program);
    let r = capture::decode(&got[0]).expect("a record");
    assert_eq!((r.query, r.response), (endpoints(&query).2, endpoints(&answer).2));
}

#[test]
fn without_tier0_capture_is_off_and_says_why() {
    if !privileged("without_tier0_capture_is_off_and_says_why") {
        return;
    }
    let capture = Some(CaptureSettings { every: 1, ring_bytes: capture::ring_size(0) });
    let program = load(&SteeringConfig { capture, ..SteeringConfig::default() });
    assert_eq!(program.tier0_capture_refused(), Some("tier 0 is not loaded"));
    assert!(program.take_tier0_capture_ring().is_none());
    assert!(program.tier0_capture_lost().is_none());
}
