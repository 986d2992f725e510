//! The steering program with real AF_XDP sockets and real frames crossing a
//! veth pair between two test namespaces. Bounded: a handful of datagrams,
//! every wait capped.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use super::netns::{in_netns, privileged, NetnsVeth};
use super::*;
use crate::xdp::liveness;
use crate::xdp::socket::{XskConfig, XskSocket, ZeroCopy};
use crate::xdp::umem::UmemConfig;

/// Copy mode and a small UMEM: works on any driver, and these tests never
/// fill the fill ring, so frames redirected to it are counted then dropped.
fn small_socket(ifindex: u32, queue: u32) -> XskSocket {
    let config = XskConfig {
        umem: UmemConfig { frame_size: 2048, frame_count: 64, huge_pages: false },
        ring_size: 64,
        zero_copy: ZeroCopy::Off,
        need_wakeup: false,
        busy_poll: None,
    };
    XskSocket::new(ifindex, queue, &config).unwrap_or_else(|err| panic!("AF_XDP socket: {err}"))
}

fn delta_of(program: &XdpProgram, before: &SteeringCounters, outcome: Outcome) -> u64 {
    program.counters().expect("counters").since(before).get(outcome)
}

#[test]
fn a_registered_socket_turns_the_decision_into_a_redirect() {
    if !privileged("a_registered_socket_turns_the_decision_into_a_redirect") {
        return;
    }
    let bed = NetnsVeth::create("reg");
    bed.run(|| {
        let mut program = XdpProgram::load(&SteeringConfig::default()).expect("load");
        // Not attached: told the addresses and MAC the test frames carry.
        program.addresses().apply(&super::test_interface()).expect("addresses");
        let socket = small_socket(interface_index(&bed.iface).expect("ifindex"), 0);
        // Test runs arrive on queue 0, whose worker (us) is alive.
        program.register_socket(0, socket.raw_fd()).expect("register");
        program.liveness().beat(0);
        let before = program.counters().expect("counters");
        assert_eq!(program.test_run(&Frame::udp4(53).build()).expect("run"), XdpAction::Redirect);
        assert_eq!(program.test_run(&Frame::udp6(53).build()).expect("run"), XdpAction::Redirect);
        assert_eq!(delta_of(&program, &before, Outcome::Redirected), 2);
        // Everything else still goes to the kernel.
        assert_eq!(program.test_run(&Frame::udp4(5353).build()).expect("run"), XdpAction::Pass);
        assert_eq!(program.test_run(&arp_request()).expect("run"), XdpAction::Pass);

        program.unregister_socket(0).expect("unregister");
        let before = program.counters().expect("counters");
        assert_eq!(program.test_run(&Frame::udp4(53).build()).expect("run"), XdpAction::Pass);
        assert_eq!(delta_of(&program, &before, Outcome::PassedNoSocket), 1);
        assert_eq!(delta_of(&program, &before, Outcome::Redirected), 0);
    });
}

#[test]
fn a_notify_goes_to_the_kernel_while_queries_go_to_the_socket() {
    if !privileged("a_notify_goes_to_the_kernel_while_queries_go_to_the_socket") {
        return;
    }
    let bed = NetnsVeth::create("ntfy");
    bed.run(|| {
        let mut program = XdpProgram::load(&SteeringConfig::default()).expect("load");
        program.addresses().apply(&super::test_interface()).expect("addresses");
        let socket = small_socket(interface_index(&bed.iface).expect("ifindex"), 0);
        program.register_socket(0, socket.raw_fd()).expect("register");
        program.liveness().beat(0);
        let with_flags = |mut frame: Frame, flags: u8| {
            frame.payload[2] = flags;
            frame.build()
        };
        let before = program.counters().expect("counters");
        // Opcode 4 (NOTIFY) in the flags byte: for the secondary zones.
        assert_eq!(program.test_run(&with_flags(Frame::udp4(53), 4 << 3)).expect("run"), XdpAction::Pass);
        assert_eq!(program.test_run(&with_flags(Frame::udp6(53), 4 << 3 | 1)).expect("run"), XdpAction::Pass);
        assert_eq!(delta_of(&program, &before, Outcome::PassedNotify), 2);
        // A NOTIFY answer (QR set), a query and another opcode stay on XDP.
        assert_eq!(program.test_run(&with_flags(Frame::udp4(53), 0x80 | 4 << 3)).expect("run"), XdpAction::Redirect);
        assert_eq!(program.test_run(&with_flags(Frame::udp4(53), 1)).expect("run"), XdpAction::Redirect);
        assert_eq!(program.test_run(&with_flags(Frame::udp4(53), 2 << 3)).expect("run"), XdpAction::Redirect);
        assert_eq!(delta_of(&program, &before, Outcome::Redirected), 3);
    });
}

#[test]
fn a_stale_liveness_word_passes_and_a_fresh_one_redirects() {
    if !privileged("a_stale_liveness_word_passes_and_a_fresh_one_redirects") {
        return;
    }
    let bed = NetnsVeth::create("live");
    bed.run(|| {
        let threshold = Duration::from_millis(200);
        let config = SteeringConfig { stall_threshold: threshold, ..SteeringConfig::default() };
        let mut program = XdpProgram::load(&config).expect("load");
        // Not attached: told the addresses and MAC the test frames carry.
        program.addresses().apply(&super::test_interface()).expect("addresses");
        let socket = small_socket(interface_index(&bed.iface).expect("ifindex"), 0);
        program.register_socket(0, socket.raw_fd()).expect("register");
        let run = |program: &XdpProgram| {
            let before = program.counters().expect("counters");
            let action = program.test_run(&Frame::udp4(53).build()).expect("run");
            let counted: Vec<_> = program.counters().expect("counters").since(&before).nonzero().collect();
            (action, counted)
        };
        let liveness = Arc::clone(program.liveness());

        // Registered, but no worker has ever beaten: not a black hole.
        assert_eq!(run(&program), (XdpAction::Pass, vec![(Outcome::PassedStalled, 1)]));
        liveness.beat(0);
        assert_eq!(run(&program), (XdpAction::Redirect, vec![(Outcome::Redirected, 1)]));
        // A beat older than the threshold: the worker is stalled.
        let stale = liveness::monotonic_ns() - 2 * threshold.as_nanos() as u64;
        liveness.set_raw(0, stale);
        assert_eq!(run(&program), (XdpAction::Pass, vec![(Outcome::PassedStalled, 1)]));
        // Just inside the threshold still counts as alive.
        liveness.set_raw(0, liveness::monotonic_ns() - threshold.as_nanos() as u64 / 2);
        assert_eq!(run(&program), (XdpAction::Redirect, vec![(Outcome::Redirected, 1)]));
        // Another queue's beat does not vouch for queue 0.
        liveness.set_raw(0, stale);
        liveness.beat(1);
        assert_eq!(run(&program), (XdpAction::Pass, vec![(Outcome::PassedStalled, 1)]));
        assert_eq!(liveness.age(0).map(|age| age >= 2 * threshold), Some(true));
    });
}

#[test]
fn a_zero_stall_threshold_turns_the_liveness_check_off() {
    if !privileged("a_zero_stall_threshold_turns_the_liveness_check_off") {
        return;
    }
    let bed = NetnsVeth::create("nolv");
    bed.run(|| {
        let config = SteeringConfig { stall_threshold: Duration::ZERO, ..SteeringConfig::default() };
        let mut program = XdpProgram::load(&config).expect("load");
        // Not attached: told the addresses and MAC the test frames carry.
        program.addresses().apply(&super::test_interface()).expect("addresses");
        let socket = small_socket(interface_index(&bed.iface).expect("ifindex"), 0);
        program.register_socket(0, socket.raw_fd()).expect("register");
        // Never beaten, yet steered: the operator chose the old behaviour.
        assert_eq!(program.liveness().age(0), None);
        assert_eq!(program.test_run(&Frame::udp4(53).build()).expect("run"), XdpAction::Redirect);
    });
}

/// Sends `count` DNS queries from the client namespace to `server`.
fn send_queries(bed: &NetnsVeth, server: SocketAddr, count: usize) {
    in_netns(&bed.peer_ns, || {
        let client = UdpSocket::bind(SocketAddr::new(NetnsVeth::client_for(server.ip()), 0)).expect("client bind");
        for _ in 0..count {
            client.send_to(DNS_QUERY, server).expect("send a query");
        }
    });
}

/// Datagrams that reach `socket` within a short quiet period.
fn drain(socket: &UdpSocket, expected: usize) -> usize {
    let mut buf = [0u8; 512];
    let mut received = 0;
    // Wait generously for what should come, briefly for what should not.
    let wait = if expected > 0 { Duration::from_secs(2) } else { Duration::from_millis(300) };
    socket.set_read_timeout(Some(wait)).expect("timeout");
    while let Ok((len, _)) = socket.recv_from(&mut buf) {
        assert_eq!(&buf[..len], DNS_QUERY);
        received += 1;
        if received == expected {
            // Anything beyond `expected` must show up in a short extra wait.
            socket.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        }
    }
    received
}

#[test]
fn live_queries_reach_the_kernel_without_a_socket_and_the_socket_with_one() {
    if !privileged("live_queries_reach_the_kernel_without_a_socket_and_the_socket_with_one") {
        return;
    }
    const N: usize = 5;
    let bed = NetnsVeth::create("liv");
    let v4 = SocketAddr::new(IpAddr::V4(SERVER_V4), 53);
    let v6 = SocketAddr::new(IpAddr::V6(SERVER_V6), 53);
    let other_port = SocketAddr::new(IpAddr::V4(SERVER_V4), 5353);

    // Everything on one thread in the server namespace: the AF_XDP socket
    // and the kernel sockets must be created there.
    bed.run(|| {
        let mut program = XdpProgram::load(&SteeringConfig::default()).expect("load");
        assert_eq!(program.attach(&bed.iface, XdpMode::Native).expect("attach"), AttachedMode::Native);
        let bind = |addr| UdpSocket::bind(addr).expect("kernel socket bind");
        let (kernel_v4, kernel_v6, kernel_other) = (bind(v4), bind(v6), bind(other_port));

        // No socket registered: queries are steered, fall back, and the kernel gets them.
        let before = program.counters().expect("counters");
        send_queries(&bed, v4, N);
        send_queries(&bed, v6, N);
        send_queries(&bed, other_port, N);
        assert_eq!(drain(&kernel_v4, N), N, "IPv4 queries must reach the kernel socket");
        assert_eq!(drain(&kernel_v6, N), N, "IPv6 queries must reach the kernel socket");
        assert_eq!(drain(&kernel_other, N), N);
        let counted = program.counters().expect("counters").since(&before);
        assert_eq!(counted.get(Outcome::PassedNoSocket), 2 * N as u64, "{counted}");
        assert_eq!(counted.get(Outcome::PassedPort), N as u64, "{counted}");
        assert_eq!(counted.get(Outcome::Redirected), 0, "{counted}");

        // With a socket on the (only) queue, port-53 queries go to it, not the kernel.
        let socket = small_socket(interface_index(&bed.iface).expect("ifindex"), 0);
        program.register_socket(0, socket.raw_fd()).expect("register");
        program.liveness().beat(0);
        let before = program.counters().expect("counters");
        send_queries(&bed, v4, N);
        send_queries(&bed, other_port, N);
        assert_eq!(drain(&kernel_other, N), N, "other ports stay with the kernel");
        assert_eq!(drain(&kernel_v4, 0), 0, "steered queries must not reach the kernel");
        let counted = program.counters().expect("counters").since(&before);
        assert_eq!(counted.get(Outcome::Redirected), N as u64, "{counted}");
        assert_eq!(counted.get(Outcome::PassedNoSocket), 0, "{counted}");

        // Unregistered again, the kernel gets them back.
        program.unregister_socket(0).expect("unregister");
        send_queries(&bed, v4, N);
        assert_eq!(drain(&kernel_v4, N), N);
        program.detach().expect("detach");
    });
}
