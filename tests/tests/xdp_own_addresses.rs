//! Issue 19, finding 1: with wildcard listen addresses the XDP path answered
//! queries to any destination (the subnet broadcast, 203.0.113.9, 10.0.0.1,
//! 2001:db8::1), *from* that destination, and queries from sources the
//! kernel drops. Now it answers only for the interface's own addresses, as
//! netlink reports them and as they change.
//!
//! Frames are injected raw on the client end of the veth pair, inside the
//! test's own namespaces (nothing is routed anywhere), and every frame that
//! comes back is examined there. An answer from the XDP path is told apart
//! from one of the kernel sockets listening on the same addresses by what
//! only the in-place rewrite does: it answers from the query's destination
//! address and keeps the query's IPv4 identification (the kernel sends 0).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use responder_tests::netns::in_netns;
use responder_tests::raw_link::RawLink;
use responder_tests::responder::workspace_root;
use responder_tests::testbed::{privileged, run, Testbed, SERVER_V4};
use responder_tests::xdp_server::XdpServer;
use testkit::steering::{Frame, BROADCAST_MAC};

/// The identification field `Frame` puts in every IPv4 header.
const QUERY_IP_ID: [u8; 2] = [0xab, 0xcd];
/// How long an answer that should not come is waited for.
const QUIET: Duration = Duration::from_millis(500);
/// The bound on answers that must come, address changes included.
const PATIENCE: Duration = Duration::from_secs(3);

fn zone() -> PathBuf {
    workspace_root().join("zones/example.com.zone")
}

fn mac(text: &str) -> [u8; 6] {
    let bytes: Vec<u8> = text.split(':').map(|b| u8::from_str_radix(b, 16).expect("hex MAC")).collect();
    bytes.try_into().expect("six bytes")
}

/// A probe: its frame, and its source port, unique among the probes so
/// that an answer can be traced back to it.
struct Probe {
    what: String,
    frame: Frame,
}

impl Probe {
    fn new(what: &str, frame: Frame, port: u16) -> Probe {
        let port = if frame.source_port == 0 { 0 } else { port };
        Probe { what: what.to_owned(), frame: frame.source_port(port) }
    }

    /// Whether `reply` is the XDP path's answer to this probe.
    fn answered_by_xdp(&self, reply: &[u8]) -> bool {
        let port = self.frame.source_port.to_be_bytes();
        match (reply.get(12..14), self.frame.destination) {
            (Some([0x08, 0x00]), IpAddr::V4(dst)) => {
                let udp = 14 + 20;
                reply.len() >= udp + 8
                    && reply[14] == 0x45
                    && reply[23] == 17
                    && reply[18..20] == QUERY_IP_ID
                    && reply[26..30] == dst.octets()
                    && reply[udp..udp + 2] == [0, 53]
                    && reply[udp + 2..udp + 4] == port
            }
            (Some([0x86, 0xdd]), IpAddr::V6(dst)) => {
                let udp = 14 + 40;
                reply.len() >= udp + 8
                    && reply[20] == 17
                    && reply[22..38] == dst.octets()
                    && reply[udp..udp + 2] == [0, 53]
                    && reply[udp + 2..udp + 4] == port
            }
            _ => false,
        }
    }
}

/// Sends `probe` and waits up to `wait` for its XDP answer.
fn xdp_answers(link: &RawLink, probe: &Probe, wait: Duration) -> bool {
    link.send(&probe.frame.build()).expect("send a raw frame");
    let frames = link
        .collect_until(Instant::now() + wait, |frames| frames.iter().any(|f| probe.answered_by_xdp(f)))
        .expect("receive raw frames");
    frames.iter().any(|f| probe.answered_by_xdp(f))
}

#[test]
fn wildcard_listen_answers_only_for_our_own_addresses() {
    let test = "wildcard_listen_answers_only_for_our_own_addresses";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("xown", 1).expect("testbed");
    let server = XdpServer::start_listening(&bed, &zone(), &wildcards(), &["--xdp-mode", "native"])
        .unwrap_or_else(|e| panic!("{e}"));
    let ours = mac(&bed.mac(&bed.server_ns, &bed.server_if).expect("server MAC"));
    let to_us = |frame: Frame| frame.dest_mac(ours);
    let v4 = |s: &str| -> IpAddr { s.parse().unwrap() };
    let added = Ipv4Addr::new(198, 18, 0, 7);

    let mut port = 41000;
    let mut probe = |what: &str, frame: Frame| {
        port += 1;
        Probe::new(what, frame, port)
    };
    let refused = [
        probe("the subnet broadcast, broadcast MAC", Frame::udp4(53).to(v4("198.18.0.255")).dest_mac(BROADCAST_MAC)),
        probe("the subnet broadcast, our MAC", to_us(Frame::udp4(53).to(v4("198.18.0.255")))),
        probe("203.0.113.9", to_us(Frame::udp4(53).to(v4("203.0.113.9")))),
        probe("10.0.0.1", to_us(Frame::udp4(53).to(v4("10.0.0.1")))),
        probe("2001:db8::1", to_us(Frame::udp6(53).to(v4("2001:db8::1")))),
        probe("198.18.0.7 before it is ours", to_us(Frame::udp4(53).to(IpAddr::V4(added)))),
        probe("our address, broadcast MAC", Frame::udp4(53).dest_mac(BROADCAST_MAC)),
        probe("our address, another station's MAC", Frame::udp4(53).dest_mac([0x02, 0, 0, 0, 0, 0x09])),
        probe("from 0.1.2.3", to_us(Frame::udp4(53).from(v4("0.1.2.3")))),
        probe("from 127.0.0.1", to_us(Frame::udp4(53).from(v4("127.0.0.1")))),
        probe("from our own address", to_us(Frame::udp4(53).from(IpAddr::V4(SERVER_V4)))),
        probe("from the subnet broadcast", to_us(Frame::udp4(53).from(v4("198.18.0.255")))),
        probe("from 224.0.0.1", to_us(Frame::udp4(53).from(v4("224.0.0.1")))),
        probe("from ::ffff:127.0.0.1", to_us(Frame::udp6(53).from(v4("::ffff:127.0.0.1")))),
        probe("from ::1", to_us(Frame::udp6(53).from(v4("::1")))),
        probe("from source port 0", to_us(Frame::udp4(53).source_port(0))),
        probe("IPv6 UDP checksum 0", to_us(Frame::udp6(53).udp_checksum(0))),
    ];
    let good = probe("198.18.0.1", to_us(Frame::udp4(53)));
    let good6 = probe("fd00::1", to_us(Frame::udp6(53)));
    let at_added = probe("198.18.0.7 once added", to_us(Frame::udp4(53).to(IpAddr::V4(added))));
    let after_del = probe("198.18.0.7 once removed", to_us(Frame::udp4(53).to(IpAddr::V4(added))));

    in_netns(&bed.client_ns, || {
        let link = RawLink::open(&bed.client_if).expect("AF_PACKET socket on the client veth");
        assert!(xdp_answers(&link, &good, PATIENCE), "a query to our address must be answered through XDP");
        assert!(xdp_answers(&link, &good6, PATIENCE), "a query to our IPv6 address must be answered through XDP");
        for p in &refused {
            link.send(&p.frame.build()).expect("send a raw frame");
        }
        let frames = link.collect_for(QUIET).expect("receive raw frames");
        let answered: Vec<&str> =
            refused.iter().filter(|p| frames.iter().any(|f| p.answered_by_xdp(f))).map(|p| p.what.as_str()).collect();
        assert!(answered.is_empty(), "answered through XDP, and must not be: {answered:?}");

        // An address added while serving is answered for within a bounded wait.
        run(bed.server_command("ip").args(["addr", "add", &format!("{added}/24"), "dev", &bed.server_if]))
            .expect("ip addr add");
        let deadline = Instant::now() + PATIENCE;
        while !xdp_answers(&link, &at_added, Duration::from_millis(100)) {
            assert!(Instant::now() < deadline, "{added} added, but not answered through XDP within {PATIENCE:?}");
        }
        run(bed.server_command("ip").args(["addr", "del", &format!("{added}/24"), "dev", &bed.server_if]))
            .expect("ip addr del");
        let deadline = Instant::now() + PATIENCE;
        while xdp_answers(&link, &after_del, Duration::from_millis(100)) {
            assert!(Instant::now() < deadline, "{added} removed, but still answered through XDP after {PATIENCE:?}");
        }
    })
    .unwrap();

    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    let counters = report.counters_text();
    // What the program passed never reached a worker, so none was dropped there.
    for q in &report.queues {
        assert!(q.frames_balanced && q.dropped == 0, "queue {}:\n{counters}", q.queue);
    }
    // The program's own account (`XDP program: redirected=N passed_...=N`).
    for outcome in ["passed_address", "passed_mac", "passed_source", "passed_checksum"] {
        let zero = format!("{outcome}=0");
        assert!(counters.split_whitespace().any(|w| w.starts_with(outcome) && w != zero), "{outcome}:\n{counters}");
    }
}

/// `--listen 0.0.0.0:53 --listen [::]:53`: every address of each family.
fn wildcards() -> [std::net::SocketAddr; 2] {
    ["0.0.0.0:53".parse().unwrap(), "[::]:53".parse().unwrap()]
}
