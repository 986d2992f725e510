//! Property tests for the hot path: whatever bytes arrive, the engine never
//! panics, never writes past `capacity`, and never alters a frame it hands
//! back to the kernel; for well-formed query frames it answers with headers
//! and checksums that verify (checked by an independent implementation here)
//! and the same DNS message [`answer_message`] gives for the same query.
//!
//! The frame and query builders are also what the fuzz seeds are made from:
//! see `write_fuzz_seeds` at the end.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::{select, Index};

use super::tests::{engine_for, EXAMPLE};
use super::*;
use crate::wire::dns;
// The frame and query builders and the checksums are testkit's: an encoding
// independent of `wire`, which the engine's own replies are checked against.
use testkit::frames::{
    checksum_verifies, udp_checksum_verifies, ETH_HEADER, IPV4_HEADER, IPV6_HEADER, PROTO_UDP, UDP_HEADER,
};
pub(crate) use testkit::frames::{wire_name, FrameSpec, Network, QuerySpec};

/// XDP frames are at most this long (one UMEM chunk).
pub(crate) const MAX_FRAME: usize = 2048;
/// Bytes past `capacity` that must come back untouched.
const CANARY_LEN: usize = 64;
const CANARY: u8 = 0xa5;

/// Names from the test zone, one per kind of answer (exact, CNAME chain and
/// loop, wildcard, empty non-terminal, referral, DNAME, truncation, NXDOMAIN,
/// out of zone), plus the CHAOS identity names.
pub(crate) const NAMES: &[&str] = &[
    "example.com.",
    "www.example.com.",
    "ns1.example.com.",
    "mail.example.com.",
    "alias.example.com.",
    "chain.example.com.",
    "loop1.example.com.",
    "ext.example.com.",
    "dangling.example.com.",
    "foo.wild.example.com.",
    "a.b.wild.example.com.",
    "ent.wild.example.com.",
    "x.ent.wild.example.com.",
    "sub.ent.wild.example.com.",
    "q.cw.example.com.",
    "child.example.com.",
    "www.child.example.com.",
    "_sip._udp.example.com.",
    "dn.example.com.",
    "host.deep.dn.example.com.",
    "big.example.com.",
    "x.fat.example.com.",
    "nosuch.example.com.",
    "example.net.",
    "com.",
    ".",
    "version.bind.",
    "id.server.",
];

/// Query types that select different code paths, besides arbitrary ones.
const QTYPES: &[u16] = &[1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 41, 251, 252, 255, 250, 0, 65535];

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let opts =
            Options { identity: Some("ns1.test".into()), version: Some("responder".into()), ..Options::default() };
        engine_for(&[EXAMPLE], opts)
    })
}

// ---------------------------------------------------------------------------
// Strategies.

fn random_case(name: &str, bits: u64) -> String {
    name.chars().enumerate().map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c }).collect()
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    let qtype = prop_oneof![3 => select(QTYPES), 1 => any::<u16>()];
    let qclass = prop_oneof![8 => Just(1u16), 1 => Just(3u16), 1 => any::<u16>()];
    let edns = proptest::option::of((any::<u16>(), any::<bool>()));
    (any::<u16>(), any::<bool>(), select(NAMES), any::<u64>(), qtype, qclass, edns).prop_map(
        |(id, rd, name, case, qtype, qclass, edns)| QuerySpec {
            id,
            rd,
            name: random_case(name, case),
            qtype,
            qclass,
            edns,
        },
    )
}

fn network() -> impl Strategy<Value = Network> {
    // Test addresses only: 198.18.0.0/15 and fd00::/8.
    let v4_addr = (18u8..=19, any::<[u8; 2]>()).prop_map(|(b, r)| [198, b, r[0], r[1]]);
    let v6_addr = any::<[u8; 15]>().prop_map(|r| {
        let mut a = [0xfd; 16];
        a[1..].copy_from_slice(&r);
        a
    });
    let options = (0usize..=10).prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 4));
    prop_oneof![
        (v4_addr.clone(), v4_addr, options, proptest::bool::weighted(0.1))
            .prop_map(|(src, dst, options, no_udp_checksum)| Network::V4 { src, dst, options, no_udp_checksum }),
        (v6_addr.clone(), v6_addr).prop_map(|(src, dst)| Network::V6 { src, dst }),
    ]
}

fn frame_spec() -> impl Strategy<Value = FrameSpec> {
    let unicast_mac = any::<[u8; 6]>().prop_map(|mut m| {
        m[0] &= !1;
        m
    });
    let tag = (select(&[0x8100u16, 0x88a8][..]), any::<u16>());
    // Both unicast: a query to a group MAC is not to us, one from one is forged.
    (unicast_mac.clone(), unicast_mac, proptest::collection::vec(tag, 0..=2), network(), 1u16.., any::<u16>()).prop_map(
        |(dst_mac, src_mac, vlans, network, src_port, dst_port)| FrameSpec {
            dst_mac,
            src_mac,
            vlans,
            network,
            src_port,
            dst_port,
        },
    )
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Truncate(Index),
    Extend(Vec<u8>),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        (any::<Index>(), 1u8..).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<Index>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
    ];
    proptest::collection::vec(one, 1..8)
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::Flip(i, mask) if len > 0 => bytes[i.index(len)] ^= mask,
            Mutation::Set(i, b) if len > 0 => bytes[i.index(len)] = *b,
            Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
            Mutation::Extend(more) => bytes.extend_from_slice(more),
            _ => {}
        }
    }
}

/// A capacity from `len` to the frame size (or `len` when longer).
fn capacity_for(len: usize, pick: &Index) -> usize {
    len + pick.index(MAX_FRAME.saturating_sub(len) + 1)
}

// ---------------------------------------------------------------------------
// Harness.

struct Outcome {
    verdict: Verdict,
    /// The buffer after the call, canary excluded.
    frame: Vec<u8>,
}

/// Runs `answer_in_place` on `input` in a buffer of `capacity` bytes followed
/// by a canary, with `junk` filling the space between the input and
/// capacity; checks the promises every call must keep.
fn run_frame(input: &[u8], capacity: usize, junk: u8) -> Result<Outcome, TestCaseError> {
    let len = input.len();
    let mut buf = vec![junk; capacity + CANARY_LEN];
    buf[..len].copy_from_slice(input);
    buf[capacity..].fill(CANARY);
    let verdict = answer_in_place(engine(), &mut buf, len, capacity);
    prop_assert!(buf[capacity..].iter().all(|&b| b == CANARY), "wrote past capacity {capacity}: {verdict:?}");
    match verdict {
        Verdict::Transmit(n) => prop_assert!(n <= capacity, "Transmit({n}) beyond capacity {capacity}"),
        // The kernel gets the frame as it came.
        Verdict::Pass => prop_assert_eq!(&buf[..len], input, "a passed frame was modified"),
        Verdict::Drop => {}
    }
    buf.truncate(capacity);
    Ok(Outcome { verdict, frame: buf })
}

/// `answer_message` over `query` in a buffer of `size` bytes (≥ its length).
fn run_message(query: &[u8], size: usize, transport: Transport) -> Result<Option<Vec<u8>>, TestCaseError> {
    let mut buf = vec![0u8; size];
    buf[..query.len()].copy_from_slice(query);
    let Some(n) = answer_message(engine(), &mut buf, query.len(), transport) else { return Ok(None) };
    prop_assert!(n <= size, "reply of {n} bytes in a {size}-byte buffer");
    prop_assert!(n >= dns::HEADER_LEN, "reply of {n} bytes has no header");
    prop_assert_eq!(&buf[..2], &query[..2], "the ID is echoed");
    prop_assert!(buf[2] & 0x80 != 0, "a reply has QR set");
    buf.truncate(n);
    Ok(Some(buf))
}

/// Checks a reply frame against the query frame it was made from.
fn check_reply_frame(spec: &FrameSpec, query_frame: &[u8], out: &Outcome) -> Result<(), TestCaseError> {
    let Verdict::Transmit(n) = out.verdict else {
        return Err(TestCaseError::fail(format!("a valid query frame got {:?}", out.verdict)));
    };
    let r = &out.frame[..n];
    let l3 = spec.l3();
    prop_assert_eq!(&r[0..6], &query_frame[6..12], "destination MAC is the query's source");
    prop_assert_eq!(&r[6..12], &query_frame[0..6], "source MAC is the query's destination");
    prop_assert_eq!(&r[12..l3], &query_frame[12..l3], "VLAN tags and ethertype kept");
    let (udp_at, src, dst): (usize, Vec<u8>, Vec<u8>) = match &spec.network {
        Network::V4 { src, dst, .. } => {
            let ip = &r[l3..l3 + IPV4_HEADER];
            prop_assert_eq!(ip[0], 0x45, "options are dropped from the answer");
            prop_assert_eq!(u16::from_be_bytes([ip[2], ip[3]]) as usize, n - l3, "IPv4 total length");
            prop_assert_eq!(u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff, 0, "not a fragment");
            prop_assert_eq!(ip[9], PROTO_UDP);
            prop_assert!(checksum_verifies(ip), "IPv4 header checksum");
            prop_assert_eq!(&ip[12..16], &dst[..], "source is the query's destination");
            prop_assert_eq!(&ip[16..20], &src[..], "destination is the query's source");
            (l3 + IPV4_HEADER, dst.to_vec(), src.to_vec())
        }
        Network::V6 { src, dst } => {
            let ip = &r[l3..l3 + IPV6_HEADER];
            prop_assert_eq!(ip[0] >> 4, 6);
            prop_assert_eq!(u16::from_be_bytes([ip[4], ip[5]]) as usize, n - l3 - IPV6_HEADER, "payload length");
            prop_assert_eq!(ip[6], PROTO_UDP);
            prop_assert_eq!(&ip[8..24], &dst[..]);
            prop_assert_eq!(&ip[24..40], &src[..]);
            (l3 + IPV6_HEADER, dst.to_vec(), src.to_vec())
        }
    };
    let udp = &r[udp_at..];
    prop_assert_eq!(u16::from_be_bytes([udp[0], udp[1]]), spec.dst_port, "ports swapped");
    prop_assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), spec.src_port, "ports swapped");
    prop_assert_eq!(u16::from_be_bytes([udp[4], udp[5]]) as usize, udp.len(), "UDP length");
    prop_assert!(udp[6..8] != [0, 0], "answers always carry a UDP checksum");
    prop_assert!(udp_checksum_verifies(&src, &dst, udp), "UDP checksum");
    Ok(())
}

/// The DNS payload of a query frame built from `spec`, and where the
/// answer's payload starts (IPv4 options are dropped from answers).
fn dns_offsets(spec: &FrameSpec) -> (usize, usize) {
    match &spec.network {
        Network::V4 { options, .. } => {
            let reply = spec.l3() + IPV4_HEADER + UDP_HEADER;
            (reply + options.len(), reply)
        }
        Network::V6 { .. } => {
            let at = spec.l3() + IPV6_HEADER + UDP_HEADER;
            (at, at)
        }
    }
}

/// The frame path and the message path must give the same DNS answer: the
/// message path in a buffer as long as the frame path had left.
fn check_same_answer(spec: &FrameSpec, payload: &[u8], out: &Outcome, capacity: usize) -> Result<(), TestCaseError> {
    let (_, reply_at) = dns_offsets(spec);
    let expected = run_message(payload, capacity - reply_at, Transport::Udp)?;
    match (out.verdict, expected) {
        (Verdict::Transmit(n), Some(message)) => prop_assert_eq!(&out.frame[reply_at..n], &message[..]),
        (Verdict::Drop, None) => {}
        (verdict, message) => {
            return Err(TestCaseError::fail(format!(
                "frame path {verdict:?}, message path {:?}",
                message.map(|m| m.len())
            )))
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A worker's scratch carries nothing from one query to the next: a
    /// sequence answered through one scratch, well-formed and mangled
    /// queries mixed, gets the answers each query would get alone.
    #[test]
    fn a_kept_scratch_answers_like_a_fresh_one(
        queries in proptest::collection::vec((query_spec(), proptest::option::of(mutations())), 1..12),
    ) {
        let mut scratch = Scratch::default();
        for (spec, mangle) in &queries {
            let mut query = spec.encode();
            if let Some(m) = mangle {
                mutate(&mut query, m);
            }
            for transport in [Transport::Udp, Transport::Tcp] {
                let mut kept = vec![0u8; 4096];
                kept[..query.len()].copy_from_slice(&query);
                let mut fresh = kept.clone();
                let with_kept =
                    answer_message_with(engine(), &mut scratch, &mut kept, query.len(), transport, &[], &mut SendAll);
                prop_assert_eq!(with_kept, answer_message(engine(), &mut fresh, query.len(), transport));
                prop_assert_eq!(&kept, &fresh);
            }
        }
    }

    #[test]
    fn arbitrary_frames_keep_every_promise(
        frame in proptest::collection::vec(any::<u8>(), 0..MAX_FRAME),
        pick in any::<Index>(),
        junk in any::<u8>(),
    ) {
        run_frame(&frame, capacity_for(frame.len(), &pick), junk)?;
    }

    #[test]
    fn a_frame_longer_than_capacity_is_dropped_untouched(
        frame in proptest::collection::vec(any::<u8>(), 1..256),
        pick in any::<Index>(),
    ) {
        let capacity = pick.index(frame.len());
        let mut buf = frame.clone();
        prop_assert_eq!(answer_in_place(engine(), &mut buf, frame.len(), capacity), Verdict::Drop);
        prop_assert_eq!(buf, frame);
    }

    #[test]
    fn valid_query_frames_are_answered_correctly(
        spec in frame_spec(),
        query in query_spec(),
        pick in any::<Index>(),
        junk in any::<u8>(),
    ) {
        let payload = query.encode();
        let frame = spec.build(&payload);
        let capacity = capacity_for(frame.len(), &pick);
        let out = run_frame(&frame, capacity, junk)?;
        check_reply_frame(&spec, &frame, &out)?;
        check_same_answer(&spec, &payload, &out, capacity)?;
        // An independent decoder agrees the answer is a well-formed response.
        let Verdict::Transmit(n) = out.verdict else { unreachable!("checked above") };
        let message = hickory_proto::op::Message::from_vec(&out.frame[dns_offsets(&spec).1..n]);
        prop_assert!(message.is_ok(), "answer does not decode: {:?}", message.err());
    }

    #[test]
    fn mutated_queries_in_valid_frames_match_the_message_path(
        spec in frame_spec(),
        query in query_spec(),
        edits in mutations(),
        pick in any::<Index>(),
    ) {
        let mut payload = query.encode();
        mutate(&mut payload, &edits);
        let frame = spec.build(&payload);
        let capacity = capacity_for(frame.len(), &pick);
        let out = run_frame(&frame, capacity, 0)?;
        if payload.len() >= dns::HEADER_LEN && payload[2] & 0x80 == 0 {
            // A query (not a response) always gets an answer of some kind.
            check_reply_frame(&spec, &frame, &out)?;
        }
        check_same_answer(&spec, &payload, &out, capacity)?;
    }

    #[test]
    fn mutated_frames_keep_every_promise(
        spec in frame_spec(),
        query in query_spec(),
        edits in mutations(),
        pick in any::<Index>(),
        junk in any::<u8>(),
    ) {
        let mut frame = spec.build(&query.encode());
        mutate(&mut frame, &edits);
        run_frame(&frame, capacity_for(frame.len(), &pick), junk)?;
    }

    #[test]
    fn arbitrary_messages_get_a_bounded_reply_or_none(
        message in proptest::collection::vec(any::<u8>(), 0..1024),
        slack in 0usize..4096,
        tcp in any::<bool>(),
    ) {
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        run_message(&message, message.len() + slack, transport)?;
    }

    #[test]
    fn mutated_queries_get_a_bounded_reply_or_none(
        query in query_spec(),
        edits in mutations(),
        slack in 0usize..2048,
        tcp in any::<bool>(),
    ) {
        let mut message = query.encode();
        mutate(&mut message, &edits);
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        run_message(&message, message.len() + slack, transport)?;
    }
}

#[test]
fn the_frame_builder_makes_frames_the_engine_answers() {
    // Guards the generators: if the builder were wrong every structured
    // property above would fail for the wrong reason.
    let v4 = Network::V4 { src: [198, 18, 0, 1], dst: [198, 18, 0, 2], options: vec![1; 8], no_udp_checksum: false };
    let v6 = Network::V6 { src: [0xfd; 16], dst: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53] };
    for (network, vlans) in [(v4, vec![(0x88a8, 7), (0x8100, 8)]), (v6, vec![(0x8100, 9)])] {
        let spec = FrameSpec::simple(network, vlans);
        let frame = spec.build(&QuerySpec::new("www.example.com.", 1).encode());
        let mut buf = frame.clone();
        buf.resize(MAX_FRAME, 0);
        assert!(matches!(answer_in_place(engine(), &mut buf, frame.len(), MAX_FRAME), Verdict::Transmit(_)));
    }
}

/// Issue 19: what the XDP program leaves to the kernel, the workers drop
/// too: frames to a group MAC, martian and v4-mapped sources, IPv6 UDP
/// with checksum 0. Each variation of a frame the engine answers.
#[test]
fn frames_no_query_to_us_comes_in_get_no_answer() {
    let answered = |spec: &FrameSpec, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut frame = spec.build(&QuerySpec::new("www.example.com.", 1).encode());
        edit(&mut frame);
        let len = frame.len();
        frame.resize(MAX_FRAME, 0);
        answer_in_place(engine(), &mut frame, len, MAX_FRAME)
    };
    let v4 = |src: [u8; 4]| Network::V4 { src, dst: [198, 18, 0, 53], options: vec![], no_udp_checksum: false };
    let mut v6_dst = [0u8; 16];
    v6_dst[..2].copy_from_slice(&[0xfd, 0]);
    v6_dst[15] = 0x53;
    let v6 = |src: [u8; 16]| Network::V6 { src, dst: v6_dst };
    let mapped = |a: [u8; 4]| [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3]];
    let mut client6 = v6_dst;
    client6[15] = 2;
    let none = |_: &mut Vec<u8>| {};

    // The baseline: answered.
    for network in [v4([198, 18, 0, 2]), v6(client6)] {
        assert!(matches!(answered(&FrameSpec::simple(network, vec![]), &none), Verdict::Transmit(_)));
    }
    for src in [[0, 1, 2, 3], [127, 0, 0, 1], [224, 0, 0, 1], [240, 0, 0, 1], [255; 4]] {
        assert_eq!(answered(&FrameSpec::simple(v4(src), vec![]), &none), Verdict::Drop, "source {src:?}");
    }
    let mut loopback = [0u8; 16];
    loopback[15] = 1;
    for src in [[0; 16], loopback, mapped([127, 0, 0, 1]), mapped([198, 18, 0, 2]), [0xff; 16]] {
        assert_eq!(answered(&FrameSpec::simple(v6(src), vec![]), &none), Verdict::Drop, "source {src:?}");
    }
    for mac in [[0xff; 6], [0x01, 0, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1]] {
        for network in [v4([198, 18, 0, 2]), v6(client6)] {
            let spec = FrameSpec { dst_mac: mac, ..FrameSpec::simple(network, vec![(0x8100, 5)]) };
            assert_eq!(answered(&spec, &none), Verdict::Drop, "destination MAC {mac:?}");
        }
    }
    // IPv6 UDP checksum 0: illegal (RFC 8200). Over IPv4 it means "none" and is answered.
    let zero_checksum = |f: &mut Vec<u8>| {
        let udp = ETH_HEADER + 40;
        f[udp + 6..udp + 8].copy_from_slice(&[0, 0]);
    };
    assert_eq!(answered(&FrameSpec::simple(v6(client6), vec![]), &zero_checksum), Verdict::Drop);
    let no_checksum =
        Network::V4 { src: [198, 18, 0, 2], dst: [198, 18, 0, 53], options: vec![], no_udp_checksum: true };
    assert!(matches!(answered(&FrameSpec::simple(no_checksum, vec![]), &none), Verdict::Transmit(_)));
}

/// `Options::verify_udp_checksum`: off, a wrong UDP checksum is answered
/// (offloaded local stacks send partial sums); on, it is dropped, while a
/// right one, and zero over IPv4 ("none"), are answered.
#[test]
fn udp_checksums_are_verified_only_when_asked() {
    let verifying = engine_for(&[EXAMPLE], Options { verify_udp_checksum: true, ..Options::default() });
    let run = |e: &Engine, frame: &[u8]| {
        let mut buf = frame.to_vec();
        buf.resize(MAX_FRAME, 0);
        answer_in_place(e, &mut buf, frame.len(), MAX_FRAME)
    };
    let v4 = |options: Vec<u8>, no_udp_checksum| Network::V4 {
        src: [198, 18, 0, 2],
        dst: [198, 18, 0, 53],
        options,
        no_udp_checksum,
    };
    let v6 = Network::V6 {
        src: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        dst: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53],
    };
    let query = QuerySpec::new("www.example.com.", 1).encode();
    for (spec, udp_at) in [
        (FrameSpec::simple(v4(vec![], false), vec![]), ETH_HEADER + 20),
        (FrameSpec::simple(v4(vec![1, 1, 1, 0], false), vec![(0x8100, 7)]), ETH_HEADER + 4 + 24),
        (FrameSpec::simple(v6.clone(), vec![]), ETH_HEADER + 40),
    ] {
        let good = spec.build(&query);
        assert!(matches!(run(&verifying, &good), Verdict::Transmit(_)), "a right checksum: {spec:?}");
        for at in [udp_at + 7, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x10; // the checksum itself, or the last payload byte
            assert_eq!(run(&verifying, &bad), Verdict::Drop, "{spec:?}, byte {at} changed");
            assert!(matches!(run(engine(), &bad), Verdict::Transmit(_)), "not verified by default: {spec:?}");
        }
    }
    let none = FrameSpec::simple(v4(vec![], true), vec![]).build(&query);
    assert!(matches!(run(&verifying, &none), Verdict::Transmit(_)), "IPv4 checksum 0 means none");
}

/// Regenerates the frame and message seeds of the fuzz corpora. Not a test:
/// run `cargo test -p responder --lib -- --ignored write_fuzz_seeds` after changing
/// the query or frame layout, and commit the result.
#[test]
#[ignore = "writes fuzz/corpus seeds; run by hand"]
fn write_fuzz_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        std::fs::write(dir.join(name), bytes).expect("seed written");
    };
    let v4 =
        |options: Vec<u8>| Network::V4 { src: [198, 18, 0, 1], dst: [198, 18, 0, 53], options, no_udp_checksum: false };
    let v6 = Network::V6 {
        src: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        dst: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53],
    };
    let edns = |mut q: QuerySpec, size: u16, dnssec_ok: bool| {
        q.edns = Some((size, dnssec_ok));
        q
    };
    let frames = [
        ("seed-v4-www-a", FrameSpec::simple(v4(vec![]), vec![]), QuerySpec::new("www.example.com.", 1)),
        ("seed-v4-options-mx", FrameSpec::simple(v4(vec![1, 1, 1, 0]), vec![]), QuerySpec::new("example.com.", 15)),
        ("seed-v6-wild-txt", FrameSpec::simple(v6.clone(), vec![]), QuerySpec::new("Foo.Wild.example.com.", 16)),
        (
            "seed-vlan-v4-big-edns",
            FrameSpec::simple(v4(vec![]), vec![(0x8100, 100)]),
            edns(QuerySpec::new("big.example.com.", 16), 1232, true),
        ),
        (
            "seed-qinq-v6-dname",
            FrameSpec::simple(v6, vec![(0x88a8, 10), (0x8100, 20)]),
            QuerySpec::new("host.deep.dn.example.com.", 1),
        ),
    ];
    // Frame seeds start with the target's flags byte (1: re-seal checksums)
    // and two bytes of capacity slack.
    for (name, spec, query) in &frames {
        let mut seed = vec![0x01, 0xff, 0xff];
        seed.extend_from_slice(&spec.build(&query.encode()));
        write("frame", &format!("{name}.bin"), &seed);
    }
    let messages = [
        ("seed-www-a", QuerySpec::new("www.example.com.", 1)),
        ("seed-chain-a-edns", edns(QuerySpec::new("chain.example.com.", 1), 4096, false)),
        ("seed-referral-ns", QuerySpec::new("x.fat.example.com.", 2)),
        ("seed-nxdomain-aaaa", QuerySpec::new("nosuch.example.com.", 28)),
        ("seed-chaos-version", QuerySpec { qclass: 3, ..QuerySpec::new("version.bind.", 16) }),
    ];
    // Message seeds start with a flags byte (bit 0: TCP) and two bytes of slack.
    for (name, query) in &messages {
        let mut seed = vec![0x00, 0x10, 0x00];
        seed.extend_from_slice(&query.encode());
        write("message", &format!("{name}.bin"), &seed);
    }
}
