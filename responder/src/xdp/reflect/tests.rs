//! The reflector's decisions and rewrites, checked with BPF_PROG_TEST_RUN
//! over frames built by testkit (not by the code under test). Needs root:
//! skipped otherwise, except under `CI=true`.

use testkit::frames::{udp_checksum_verifies, FrameSpec, Network, QuerySpec};
use testkit::testbed::privileged;

use super::*;

const SERVER_V4: [u8; 4] = [198, 18, 0, 1];
const CLIENT_V4: [u8; 4] = [198, 18, 0, 2];
const SERVER_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const CLIENT_V6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn reflector() -> XdpReflector {
    XdpReflector::load(Some(Ipv4Addr::from(SERVER_V4)), Some(Ipv6Addr::from(SERVER_V6)))
        .unwrap_or_else(|e| panic!("loading the reflector: {e}"))
}

fn v4(no_udp_checksum: bool) -> FrameSpec {
    let network = Network::V4 { src: CLIENT_V4, dst: SERVER_V4, options: vec![], no_udp_checksum };
    FrameSpec::simple(network, vec![])
}

fn v6() -> FrameSpec {
    FrameSpec::simple(Network::V6 { src: CLIENT_V6, dst: SERVER_V6 }, vec![])
}

/// What the reflector must send back for `spec` carrying `dns`: the same
/// frame built the other way round, with QR set and RCODE REFUSED, and no
/// UDP checksum over IPv4.
fn expected(spec: &FrameSpec, dns: &[u8]) -> Vec<u8> {
    let mut back = spec.clone();
    back.dst_mac = spec.src_mac;
    back.src_mac = spec.dst_mac;
    back.src_port = spec.dst_port;
    back.dst_port = spec.src_port;
    back.network = match &spec.network {
        Network::V4 { src, dst, options, .. } => {
            Network::V4 { src: *dst, dst: *src, options: options.clone(), no_udp_checksum: true }
        }
        Network::V6 { src, dst } => Network::V6 { src: *dst, dst: *src },
    };
    let mut reply = dns.to_vec();
    reply[2] |= 0x80;
    reply[3] = (reply[3] & 0xf0) | 5;
    back.build(&reply)
}

#[test]
fn queries_come_back_turned_around_with_qr_set() {
    if !privileged("queries_come_back_turned_around_with_qr_set") {
        return;
    }
    let program = reflector();
    let mut edns = QuerySpec::new("wWw.example.com.", 28);
    edns.edns = Some((1232, true));
    for dns in [QuerySpec::new("example.com.", 6).encode(), edns.encode()] {
        for spec in [v4(false), v4(true), v6(), FrameSpec { vlans: vec![(0x8100, 7)], ..v4(false) }] {
            let (action, out, _) = program.test_run(&spec.build(&dns)).expect("test run");
            assert_eq!(action, XdpAction::Tx, "{spec:?}");
            assert_eq!(out, expected(&spec, &dns), "{spec:?}");
        }
    }
    let (_, out, _) = program.test_run(&v6().build(&edns.encode())).expect("test run");
    let udp = &out[14 + 40..];
    assert!(udp_checksum_verifies(&SERVER_V6, &CLIENT_V6, udp), "patched IPv6 UDP checksum verifies");
    let reflected = program.reflected().expect("counters");
    assert_eq!(reflected, [(0, 2 * 4 + 1)], "every run counted on queue 0");
}

#[test]
fn anything_but_a_query_to_the_server_passes_untouched() {
    if !privileged("anything_but_a_query_to_the_server_passes_untouched") {
        return;
    }
    let program = reflector();
    let query = QuerySpec::new("example.com.", 6).encode();
    let mut response = query.clone();
    response[2] |= 0x80;
    let other_address = FrameSpec::simple(
        Network::V4 { src: CLIENT_V4, dst: [198, 18, 0, 9], options: vec![], no_udp_checksum: false },
        vec![],
    );
    let with_options = FrameSpec::simple(
        Network::V4 { src: CLIENT_V4, dst: SERVER_V4, options: vec![1, 1, 1, 0], no_udp_checksum: false },
        vec![],
    );
    let frames = [
        v4(false).build(&response),                            // a response: never reflected again
        FrameSpec { dst_port: 54, ..v4(false) }.build(&query), // another port
        other_address.build(&query),                           // another address
        with_options.build(&query),                            // IPv4 options: not handled
        v4(false).build(&query[..11]),                         // no whole DNS header
        FrameSpec { dst_port: 5353, ..v6() }.build(&query),    // IPv6, another port
    ];
    for frame in frames {
        let (action, out, _) = program.test_run(&frame).expect("test run");
        assert_eq!(action, XdpAction::Pass);
        assert_eq!(out, frame, "passed frames are left as they came");
    }
    assert_eq!(program.reflected().expect("counters"), [], "nothing reflected");
}

#[test]
fn a_family_without_an_address_is_not_reflected() {
    if !privileged("a_family_without_an_address_is_not_reflected") {
        return;
    }
    let program = XdpReflector::load(Some(Ipv4Addr::from(SERVER_V4)), None).expect("load");
    let query = QuerySpec::new("example.com.", 6).encode();
    assert_eq!(program.test_run(&v6().build(&query)).expect("run").0, XdpAction::Pass);
    assert_eq!(program.test_run(&v4(false).build(&query)).expect("run").0, XdpAction::Tx);
}
