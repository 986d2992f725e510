//! Response rate limiting end to end on a veth testbed (issue 6): a flood
//! from one client address is answered at the configured rate, with every
//! second limited reply slipped (TC=1), while a second address querying
//! gently at the same time gets every answer. Once through the AF_XDP data
//! plane and once through the kernel-socket server.
//!
//! The limiter is keyed by /32 here so that the two client addresses, which
//! share the testbed's /24, have buckets of their own; prefix grouping is
//! covered by the unit tests in `responder/src/rrl`.
//!
//! Needs root; skipped with a message otherwise, except under `CI=true`.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use responder_tests::daemon::Daemon;
use responder_tests::dns::rtype::A;
use responder_tests::dns::Question;
use responder_tests::netns::in_netns;
use responder_tests::paced::{self, Pace, Tally};
use responder_tests::responder::{self, workspace_root};
use responder_tests::testbed::{privileged, Testbed, CLIENT_V4};
use responder_tests::xdp_server::{server_v4, XdpServer};

const RATE: u32 = 100;
const RRL_FLAGS: [&str; 6] = ["--rrl-rate", "100", "--rrl-slip", "2", "--rrl-ipv4-prefix", "32"];

/// The second client address, on the client side of the testbed.
const GENTLE_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
const FLOOD: u32 = 2000;
const GENTLE: u32 = 20;
const LOAD_TIME: Duration = Duration::from_secs(3);

fn zone() -> PathBuf {
    workspace_root().join("zones/example.com.zone")
}

/// A testbed with one queue (so one worker, and one limiter, sees all
/// traffic) and the second client address.
fn testbed(tag: &str) -> Testbed {
    let bed = Testbed::create(tag, 1).expect("testbed");
    bed.add_client_v4(GENTLE_V4).expect("second client address");
    bed
}

/// Floods from CLIENT_V4 and queries gently from GENTLE_V4 at the same
/// time; returns (flood, gentle).
fn flood_and_gentle(bed: &Testbed, server: SocketAddr) -> (Tally, Tally) {
    let query = Question::new("www.example.com.", A).to_wire().expect("query");
    let (flood_socket, gentle_socket) = in_netns(&bed.client_ns, || {
        (
            UdpSocket::bind((CLIENT_V4, 0)).expect("flood socket"),
            UdpSocket::bind((GENTLE_V4, 0)).expect("gentle socket"),
        )
    })
    .expect("client namespace");
    thread::scope(|scope| {
        let gentle = scope.spawn(|| paced::run(gentle_socket, server, &query, Pace::for_duration(GENTLE, LOAD_TIME)));
        let flood = paced::run(flood_socket, server, &query, Pace::for_duration(FLOOD, LOAD_TIME)).expect("flood");
        (flood, gentle.join().expect("gentle thread").expect("gentle load"))
    })
}

fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= expected * tolerance
}

/// The acceptance criteria of issue 6, with the numbers in the message.
fn check_limited(flood: &Tally, gentle: &Tally) {
    let summary = format!(
        "flood: sent {} in {:?}, full {}, truncated {}, other {}; gentle: sent {}, full {}, truncated {}, other {}",
        flood.sent,
        flood.send_time,
        flood.full,
        flood.truncated,
        flood.other,
        gentle.sent,
        gentle.full,
        gentle.truncated,
        gentle.other
    );
    eprintln!("{summary}");
    // The load really was a flood, far over the rate.
    assert!(flood.send_time < LOAD_TIME + Duration::from_secs(1), "the flood ran late: {summary}");
    // Steady state, after the one-second burst: the rate, ± 10%.
    let steady = f64::from(flood.full_between(Duration::from_secs(1), LOAD_TIME));
    let seconds = (LOAD_TIME - Duration::from_secs(1)).as_secs_f64();
    assert!(within(steady / seconds, f64::from(RATE), 0.10), "{steady} full answers in {seconds} s: {summary}");
    // In all: the burst (one second's worth) plus the rate for the flood's length.
    let expected_full = f64::from(RATE) * (1.0 + flood.send_time.as_secs_f64());
    assert!(within(f64::from(flood.full), expected_full, 0.10), "expected ~{expected_full} full: {summary}");
    // Slip 2: half of the limited replies come back truncated.
    let limited = f64::from(flood.sent - flood.full);
    assert!(
        within(f64::from(flood.truncated), limited / 2.0, 0.10),
        "expected ~{} truncated: {summary}",
        limited / 2.0
    );
    assert_eq!(flood.other, 0, "{summary}");
    // The gentle client, under the rate, loses nothing.
    assert_eq!((gentle.full, gentle.truncated, gentle.other), (gentle.sent, 0, 0), "{summary}");
}

#[test]
fn xdp_flood_is_limited_and_a_gentle_client_is_not() {
    if !privileged("xdp_flood_is_limited_and_a_gentle_client_is_not") {
        return;
    }
    let bed = testbed("rrlxdp");
    let server = XdpServer::start(&bed, &zone(), &RRL_FLAGS).expect("responder with XDP");
    let (flood, gentle) = flood_and_gentle(&bed, server_v4());
    let report = server.stop().expect("clean stop");
    check_limited(&flood, &gentle);
    // The replies came through AF_XDP, not the kernel socket on the same address.
    let replies = u64::from(flood.full + flood.truncated + gentle.full);
    assert!(
        report.tx() >= replies,
        "AF_XDP sent {} but clients got {replies}:\n{}",
        report.tx(),
        report.counters_text()
    );
    // And the limited ones that got no reply were dropped by the worker.
    let dropped: u64 = report.queues.iter().map(|q| q.dropped).sum();
    let unanswered = f64::from(flood.sent - flood.full - flood.truncated);
    assert!(within(dropped as f64, unanswered, 0.10), "worker dropped {dropped}, expected ~{unanswered}");
    assert!(report.queues.iter().all(|q| q.frames_balanced), "{}", report.counters_text());
}

#[test]
fn kernel_socket_flood_is_limited_and_a_gentle_client_is_not() {
    if !privileged("kernel_socket_flood_is_limited_and_a_gentle_client_is_not") {
        return;
    }
    let bed = testbed("rrlsock");
    let binary = responder::binary().expect("responder binary");
    let mut cmd = bed.server_command(&binary.display().to_string());
    cmd.args(["serve", "--user", "root", "--zone"])
        .arg(zone())
        .args(["--listen", &server_v4().to_string(), "--udp-workers", "1"])
        .args(RRL_FLAGS)
        .env("NO_COLOR", "1");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut daemon = Daemon::spawn(cmd, "responder serve", &dir.path().join("responder.log")).expect("start");
    in_netns(&bed.client_ns, || daemon.wait_until_answering(server_v4(), Duration::from_secs(20)))
        .expect("client namespace")
        .expect("responder answers");
    let (flood, gentle) = flood_and_gentle(&bed, server_v4());
    let (status, log) = daemon.terminate(Duration::from_secs(10)).expect("stop");
    assert!(status.success(), "responder exited with {status}:\n{log}");
    assert!(log.contains("rate limiting 100/s per /32"), "RRL is not in the ready line:\n{log}");
    check_limited(&flood, &gentle);
}
