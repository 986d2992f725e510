//! Tier 0's rate limiting and counters through BPF_PROG_TEST_RUN: the
//! program's decisions for a run of queries are a worker's (`RrlPolicy`
//! over `engine::answer_in_place_with`, given the same frames), its slips
//! byte for byte the worker's, another prefix is untouched, and the
//! program's counters count exactly what it did.
//!
//! The buckets are per CPU: each test pins itself to one CPU, so that
//! every run of the program charges the same buckets.

use std::net::IpAddr;

use testkit::frames::QuerySpec;

use super::*;
use crate::engine::tests::{engine_for, EXAMPLE};
use crate::engine::{answer_in_place, answer_in_place_with, Engine, Options, Scratch, Verdict};
use crate::rrl::{RateLimiter, RrlConfig, RrlPolicy};
use crate::stats::breakdown::qtype::QTYPES;
use crate::stats::breakdown::size;
use crate::xdp::tier0::stats::Cells;
use crate::xdp::tier0::{compile, Selection};

const SOA: u16 = 6;
const NS: u16 = 2;
const MX: u16 = 15;

fn pin_to_one_cpu() {
    let core = core_affinity::get_core_ids().and_then(|ids| ids.into_iter().next()).expect("a CPU to run on");
    assert!(core_affinity::set_for_current(core), "pinning the test to CPU {}", core.id);
}

fn tier0_with(rrl: Option<RrlConfig>) -> (XdpProgram, Engine) {
    let engine = engine_for(&[EXAMPLE], Options::default());
    let program = load(&SteeringConfig { tier0: true, rrl, ..SteeringConfig::default() });
    assert_eq!(program.tier0_refused(), None, "this kernel must accept the tier-0 code with rate limiting");
    let compiled = compile(&engine, Selection::ApexAndDelegations);
    program.tier0().expect("tier-0 maps").lock().unwrap().publish(&compiled.entries).expect("publishing");
    (program, engine)
}

fn counters(program: &XdpProgram) -> Cells {
    program.tier0_counters().expect("tier 0 is loaded").expect("reading the tier-0 counters")
}

/// What became of one query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Sent,
    Slipped,
    Dropped,
}

/// The query frames of one case: `name`/`qtype` with `edns`, from `source`
/// over `carrier`.
fn frame(carrier: &Frame, source: IpAddr, name: &str, qtype: u16, edns: Option<(u16, bool)>, id: u16) -> Vec<u8> {
    let message = QuerySpec { id, edns, ..QuerySpec::new(name, qtype) }.encode();
    carrier.clone().from(source).payload(&message).build()
}

/// The worker's frame for `frame` under `policy`, or `None` when it drops it.
fn worker(engine: &Engine, policy: &mut RrlPolicy, frame: &[u8]) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    buf[..frame.len()].copy_from_slice(frame);
    match answer_in_place_with(engine, &mut Scratch::default(), &mut buf, frame.len(), 4096, policy) {
        Verdict::Transmit(n) => Some(buf[..n].to_vec()),
        Verdict::Drop => None,
        Verdict::Pass => panic!("the worker passed a query"),
    }
}

/// Runs `frame` through the program and the worker's policy; checks they
/// agree (action, frame, steering outcome) and says what happened.
fn run_both(program: &XdpProgram, engine: &Engine, policy: &mut RrlPolicy, frame: &[u8], what: &str) -> Fate {
    let before = program.counters().expect("counters");
    let (action, out) = program.test_run_frame(frame).expect("test run");
    let counted: Vec<_> = program.counters().expect("counters").since(&before).nonzero().collect();
    match worker(engine, policy, frame) {
        Some(theirs) => {
            assert_eq!((action, counted.as_slice()), (XdpAction::Tx, &[(Outcome::AnsweredTier0, 1)][..]), "{what}");
            assert_eq!(out, theirs, "{what}: the program's frame and the worker's differ");
            // TC set: the slip; otherwise the full answer.
            if theirs[dns_offset(&theirs) + 2] & 0x02 != 0 {
                Fate::Slipped
            } else {
                Fate::Sent
            }
        }
        None => {
            let dropped = (action, counted.as_slice());
            assert_eq!(dropped, (XdpAction::Drop, &[(Outcome::RateLimitedTier0, 1)][..]), "{what}");
            Fate::Dropped
        }
    }
}

/// Where the DNS message starts in a frame: past the tags, IP and UDP.
fn dns_offset(frame: &[u8]) -> usize {
    let mut at = 12;
    while matches!(frame[at..at + 2], [0x81, 0x00] | [0x88, 0xa8]) {
        at += 4;
    }
    at + 2 + if frame[at..at + 2] == [0x86, 0xdd] { 40 } else { 20 } + 8
}

fn worker_policy(config: &RrlConfig) -> RrlPolicy {
    let mut policy = RrlPolicy::new(Some(RateLimiter::new(config).expect("a limiter")));
    // One batch: the worker's clock stands still, the program's moves on
    // by the microseconds a run takes (a token is 500 ms at rate 2).
    crate::engine::policy::Policy::begin_batch(&mut policy);
    policy
}

/// Rate 2, slip 2: of ten queries from one prefix two are answered, then
/// drop and slip alternate, as the worker decides, with its slip's bytes;
/// over IPv4, IPv6, a VLAN tag and QinQ, without EDNS, with it and with DO.
/// A second prefix is untouched by the first's limit.
#[test]
fn tier0_rate_limits_as_the_workers_do() {
    if !privileged("tier0_rate_limits_as_the_workers_do") {
        return;
    }
    pin_to_one_cpu();
    let config = RrlConfig { rate: 2, slip: 2, ipv4_prefix: 24, ipv6_prefix: 56, buckets: 1024 };
    let (program, engine) = tier0_with(Some(config));
    use Fate::*;
    let expected = [Sent, Sent, Dropped, Slipped, Dropped, Slipped, Dropped, Slipped, Dropped, Slipped];
    let carriers = [
        ("ipv4", Frame::udp4(53), false),
        ("ipv6", Frame::udp6(53), true),
        ("ipv4 vlan", Frame::udp4(53).vlan(ETHERTYPE_VLAN, 10), false),
        ("ipv6 qinq", Frame::udp6(53).vlan(ETHERTYPE_QINQ, 100).vlan(ETHERTYPE_VLAN, 10), true),
    ];
    let shapes = [("no EDNS", None), ("EDNS", Some((1232, false))), ("DO", Some((4096, true)))];
    let mut case = 0u16;
    let mut sent = Cells::default();
    let before = counters(&program);
    for (carrier, frame_of, v6) in &carriers {
        for (shape, edns) in shapes {
            case += 1;
            // A prefix of its own per case: /24 for IPv4, /56 for IPv6.
            let source = |host: u16| -> IpAddr {
                if *v6 {
                    IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, case << 8, 0, 0, 0, host))
                } else {
                    IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 100 + case as u8, host as u8))
                }
            };
            let mut policy = worker_policy(&config);
            let mut fates = Vec::new();
            for i in 0..expected.len() as u16 {
                // Hosts of one prefix share its bucket; names and types too.
                let (name, qtype) = if i % 2 == 0 { ("Example.com.", SOA) } else { ("child.example.com.", NS) };
                let f = frame(frame_of, source(2 + i % 3), name, qtype, edns, 0x4000 + i);
                let what = format!("{carrier} {shape} query {i}");
                fates.push(run_both(&program, &engine, &mut policy, &f, &what));
            }
            assert_eq!(fates, expected, "{carrier} {shape}");
            // Another prefix is not limited by this one's flood.
            let mut other = worker_policy(&config);
            let next: IpAddr = if *v6 {
                IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 1, case << 8, 0, 0, 0, 2))
            } else {
                IpAddr::V4(std::net::Ipv4Addr::new(198, 18, 200 + case as u8, 2))
            };
            let f = frame(frame_of, next, "example.com.", MX, edns, 7);
            let fate = run_both(&program, &engine, &mut other, &f, &format!("{carrier} {shape}, the next prefix"));
            assert_eq!(fate, Sent, "{carrier} {shape}: the next prefix");
            sent.rcode[0] += expected.len() as u64 + 1;
            sent.slipped += 4;
            sent.dropped += 4;
            sent.ipv6 += if *v6 { 11 } else { 0 };
            sent.dnssec_ok += if edns.is_some_and(|(_, d)| d) { 11 } else { 0 };
        }
    }
    let delta = counters(&program);
    let counted = |c: &Cells| (c.rcode[0], c.slipped, c.dropped, c.ipv6, c.dnssec_ok);
    let mut got = counted(&delta);
    let was = counted(&before);
    got = (got.0 - was.0, got.1 - was.1, got.2 - was.2, got.3 - was.3, got.4 - was.4);
    assert_eq!(got, counted(&sent), "(noerror, slipped, dropped, ipv6, DO) counted by the program");
}

/// Slip 0 drops every limited answer, slip 1 slips every one; and the
/// class is part of the key, as it is the workers'.
#[test]
fn tier0_slip_0_drops_and_slip_1_truncates() {
    if !privileged("tier0_slip_0_drops_and_slip_1_truncates") {
        return;
    }
    pin_to_one_cpu();
    use Fate::*;
    for (slip, limited) in [(0, Dropped), (1, Slipped)] {
        let config = RrlConfig { rate: 1, slip, ipv4_prefix: 32, ipv6_prefix: 128, buckets: 64 };
        let (program, engine) = tier0_with(Some(config));
        let mut policy = worker_policy(&config);
        let source: IpAddr = "198.18.7.7".parse().unwrap();
        let fates: Vec<Fate> = (0..6)
            .map(|i| {
                let f = frame(&Frame::udp4(53), source, "example.com.", SOA, Some((1232, false)), i);
                run_both(&program, &engine, &mut policy, &f, &format!("slip {slip}, query {i}"))
            })
            .collect();
        assert_eq!(fates, [Sent, limited, limited, limited, limited, limited], "slip {slip}");
        // /32: the neighbour has a bucket of its own.
        let f = frame(&Frame::udp4(53), "198.18.7.8".parse().unwrap(), "example.com.", SOA, None, 9);
        assert_eq!(run_both(&program, &engine, &mut policy, &f, "the neighbour"), Sent);
    }
}

/// Without rate limiting, every tier-0 answer is counted: by rcode, qtype,
/// DO, family, and the query's and answer's sizes, as the worker's
/// breakdown counts them.
#[test]
fn tier0_counts_its_answers() {
    if !privileged("tier0_counts_its_answers") {
        return;
    }
    let (program, engine) = tier0_with(None);
    let queries = [
        frame(&Frame::udp4(53), "198.18.0.2".parse().unwrap(), "example.com.", SOA, None, 1),
        frame(&Frame::udp6(53), "fd00::2".parse().unwrap(), "EXAMPLE.com.", NS, Some((1232, true)), 2),
        frame(&Frame::udp4(53), "198.18.0.2".parse().unwrap(), "example.com.", MX, Some((1232, false)), 3),
    ];
    let before = counters(&program);
    let mut query_bytes = 0;
    let mut answer_bytes = 0;
    // The buckets a worker counts in: the program's cells are precompiled
    // (`struct t0_cells`), so checked here bucket by bucket.
    let mut query_sizes = [0u64; size::BUCKETS];
    let mut answer_sizes = [0u64; size::BUCKETS];
    for q in &queries {
        let (action, out) = program.test_run_frame(q).expect("test run");
        assert_eq!(action, XdpAction::Tx);
        let mut buf = vec![0u8; 4096];
        buf[..q.len()].copy_from_slice(q);
        assert!(
            matches!(answer_in_place(&engine, &mut buf, q.len(), 4096), Verdict::Transmit(n) if buf[..n] == out[..])
        );
        query_bytes += (q.len() - dns_offset(q)) as u64;
        answer_bytes += (out.len() - dns_offset(&out)) as u64;
        query_sizes[size::bucket(q.len() - dns_offset(q))] += 1;
        answer_sizes[size::bucket(out.len() - dns_offset(&out))] += 1;
    }
    let now = counters(&program);
    let b = now.breakdown();
    let was = before.breakdown();
    let qtype = |c: &crate::stats::BreakdownCounts, t: &str| c.qtype[QTYPES.iter().position(|q| *q == t).unwrap()];
    for t in ["SOA", "NS", "MX"] {
        assert_eq!(qtype(&b, t) - qtype(&was, t), 1, "{t}");
    }
    assert_eq!(now.dns().queries - before.dns().queries, 3);
    assert_eq!(now.dns().noerror - before.dns().noerror, 3);
    assert_eq!((now.ipv6 - before.ipv6, now.dnssec_ok - before.dnssec_ok), (1, 1));
    assert_eq!(b.query_size.sum - was.query_size.sum, query_bytes);
    assert_eq!(b.response_size.sum - was.response_size.sum, answer_bytes);
    assert_eq!(b.response_size.count() - was.response_size.count(), 3);
    let since = |now: &[u64], was: &[u64]| -> Vec<u64> { now.iter().zip(was).map(|(n, w)| n - w).collect() };
    assert_eq!(since(&b.query_size.buckets, &was.query_size.buckets), query_sizes);
    assert_eq!(since(&b.response_size.buckets, &was.response_size.buckets), answer_sizes);
    assert_eq!(now.slipped + now.dropped, 0, "no rate limiting, no RRL action");
}

/// The program's own run time per frame, as BPF_PROG_TEST_RUN measures it
/// (one run per call, so each run meets a fresh query): the median and
/// 10th percentile of 2001 runs on one CPU, for steering alone, tier 0
/// without and with rate limiting (at a rate no run reaches), for a hit
/// and a miss. A measurement for docs/BENCHMARKS.md, not a check: run by
/// hand with `-- --ignored --nocapture`.
#[test]
#[ignore]
fn tier0_run_time_per_frame() {
    if !privileged("tier0_run_time_per_frame") {
        return;
    }
    pin_to_one_cpu();
    let off = load(&SteeringConfig::default());
    let (plain, _) = tier0_with(None);
    let (limited, _) = tier0_with(Some(RrlConfig::with_rate(crate::rrl::MAX_RATE)));
    let source: IpAddr = "198.18.9.2".parse().unwrap();
    let hit = frame(&Frame::udp4(53), source, "Example.com.", NS, Some((1232, false)), 1);
    let miss = frame(&Frame::udp4(53), source, "www.example.com.", 1, Some((1232, false)), 2);
    for (what, program, tier0) in
        [("tier 0 off", &off, false), ("tier 0", &plain, true), ("tier 0 + RRL", &limited, true)]
    {
        for (query, q, answered) in [("NS at the apex", &hit, tier0), ("www A", &miss, false)] {
            let mut ns: Vec<u128> = (0..2001)
                .map(|_| {
                    let (action, _, took) = program.test_run_timed(q).expect("test run");
                    assert_eq!(action == XdpAction::Tx, answered, "{what}, {query}");
                    took.as_nanos()
                })
                .collect();
            ns.sort_unstable();
            println!("{what}, {query}: median {} ns, p10 {} ns", ns[1000], ns[200]);
        }
    }
}
