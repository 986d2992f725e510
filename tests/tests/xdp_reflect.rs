//! The bench's in-kernel floor (`responder::xdp::reflect`, server
//! `floor-xdp-tx` of `cargo xtask bench`) on a veth testbed: a query sent
//! from the client namespace comes back from the XDP program itself, its own
//! bytes with QR set and RCODE REFUSED, from the server's address and port
//! to the client's (a connected socket receives nothing else), over IPv4 and
//! IPv6; kdig, an independent client, reads it as a REFUSED reply; and the
//! program's per-queue counter counted every one on queue 0.
//!
//! Needs root, kdig, ethtool and clang (the client end's XDP_PASS program,
//! `responder_tests::client_pass`): skipped with a message otherwise, except
//! under `CI=true`.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use responder::xdp::program::{AttachedMode, XdpMode};
use responder::xdp::reflect::XdpReflector;
use responder_tests::client_pass;
use responder_tests::daemon::installed;
use responder_tests::dns::{rtype::SOA, Question, Transport};
use responder_tests::kdig;
use responder_tests::netns::in_netns;
use responder_tests::testbed::{privileged, required_tools, run, Testbed, SERVER_V4, SERVER_V6};
use responder_tests::xdp_server::{server_v4, server_v6};

const REFUSED: u16 = 5;

fn can_run(test: &str) -> bool {
    if !privileged(test) {
        return false;
    }
    let missing: Vec<&str> =
        [("kdig", kdig::available()), ("clang", installed("clang")), ("ethtool", installed("ethtool"))]
            .into_iter()
            .filter_map(|(tool, present)| (!present).then_some(tool))
            .collect();
    required_tools(test, &missing)
}

/// `example.com.` SOA, RD, id `id`, with an EDNS OPT record.
fn query(id: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    m.extend_from_slice(b"\x07exAmple\x03com\x00\x00\x06\x00\x01");
    m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    m
}

/// Sends the query from a socket connected to `server` and returns what
/// came back, if anything did within the timeout.
fn ask(server: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().ok()?;
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(server).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    socket.send(query).ok()?;
    let mut buf = [0u8; 1500];
    let n = socket.recv(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

#[test]
fn the_reflector_sends_each_query_back_turned_around() {
    let test = "the_reflector_sends_each_query_back_turned_around";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xrf", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    client_pass::attach(&bed, dir.path());
    // The client's own stack completes its UDP checksums: with offload on,
    // veth carries only the partial sum, and the reflector patches an IPv6
    // checksum instead of computing it (ebpf/xdp_reflect.c).
    let offload = run(bed.client_command("ethtool").args(["-K", &bed.client_if, "tx", "off"])).expect("ethtool");
    assert!(offload.status.success(), "ethtool -K tx off: {}", String::from_utf8_lossy(&offload.stderr));
    let iface = bed.server_if.clone();
    let reflector = in_netns(&bed.server_ns, move || {
        let mut reflector = XdpReflector::load(Some(SERVER_V4), Some(SERVER_V6)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reflector.attach(&iface, XdpMode::Native).unwrap_or_else(|e| panic!("{e}")), AttachedMode::Native);
        reflector
    })
    .unwrap();

    for (i, server) in [server_v4(), server_v6()].into_iter().enumerate() {
        let sent = query(0x1000 + i as u16);
        let got = in_netns(&bed.client_ns, || ask(server, &sent)).unwrap();
        let got = got.unwrap_or_else(|| panic!("no reply from {server}"));
        let mut want = sent.clone();
        want[2] |= 0x80; // QR
        want[3] = (want[3] & 0xf0) | REFUSED as u8;
        assert_eq!(got, want, "over {server}: the query, turned into a REFUSED response");
    }
    let reply =
        in_netns(&bed.client_ns, || kdig::ask(server_v4(), Transport::Udp, &Question::new("example.com.", SOA)))
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.rcode, REFUSED, "kdig reads a REFUSED reply");
    assert!(reply.answer.is_empty() && !reply.aa, "no answer, not authoritative");

    let counted = reflector.reflected().expect("counters");
    assert_eq!(counted, [(0, 3)], "two socket queries and kdig's, on queue 0");
}
