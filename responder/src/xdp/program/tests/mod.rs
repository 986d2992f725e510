//! The steering program's decisions, checked with BPF_PROG_TEST_RUN over
//! hand-built frames. No socket is registered, so a frame the program would
//! steer comes back as XDP_PASS counted `passed_no_socket`: the counters, not
//! the action, reveal the decision. The program is told it runs on an
//! interface with [`SERVER_MAC`] and the server addresses, as attaching to
//! the test interface would.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

use netns::privileged;
use testkit::steering::*;

use super::*;
use crate::xdp::own_addresses::{InterfaceAddr, InterfaceState};

mod attach;
mod netns;
mod tier0;
mod tier0_capture;
mod tier0_rrl;
mod traffic;

fn load(config: &SteeringConfig) -> XdpProgram {
    let program = XdpProgram::load(config).unwrap_or_else(|err| panic!("loading the steering program: {err}"));
    program.addresses().apply(&test_interface()).expect("setting the interface's addresses");
    program
}

/// The server end of the test frames: 198.18.0.1/24 and fd00::1/64.
fn test_interface() -> InterfaceState {
    InterfaceState {
        mac: Some(SERVER_MAC),
        addrs: vec![InterfaceAddr::new(IpAddr::V4(SERVER_V4), 24), InterfaceAddr::new(IpAddr::V6(SERVER_V6), 64)],
    }
}

/// Runs `frame` once and returns the action and the single outcome counted.
fn decide(program: &XdpProgram, frame: &[u8]) -> (XdpAction, Outcome) {
    let before = program.counters().expect("counters");
    let action = program.test_run(frame).expect("test run");
    let delta = program.counters().expect("counters").since(&before);
    let counted: Vec<_> = delta.nonzero().collect();
    assert!(matches!(counted.as_slice(), [(_, 1)]), "one frame must count exactly one outcome once, got {counted:?}");
    (action, counted[0].0)
}

fn assert_outcome(program: &XdpProgram, frame: &Frame, expected: Outcome) {
    let (action, outcome) = decide(program, &frame.build());
    assert_eq!(outcome, expected, "{frame:?}");
    assert_eq!(action, XdpAction::Pass, "never anything but XDP_PASS without a socket: {frame:?}");
}

#[test]
fn steers_dns_queries_over_ipv4_and_ipv6() {
    if !privileged("steers_dns_queries_over_ipv4_and_ipv6") {
        return;
    }
    let program = load(&SteeringConfig::default());
    assert_outcome(&program, &Frame::udp4(53), Outcome::PassedNoSocket);
    assert_outcome(&program, &Frame::udp6(53), Outcome::PassedNoSocket);
}

#[test]
fn steers_through_vlan_tags() {
    if !privileged("steers_through_vlan_tags") {
        return;
    }
    let program = load(&SteeringConfig::default());
    for frame in [Frame::udp4(53), Frame::udp6(53)] {
        let one = frame.clone().vlan(ETHERTYPE_VLAN, 10);
        let qinq = frame.clone().vlan(ETHERTYPE_QINQ, 100).vlan(ETHERTYPE_VLAN, 10);
        let double_dot1q = frame.clone().vlan(ETHERTYPE_VLAN, 100).vlan(ETHERTYPE_VLAN, 10);
        for tagged in [one, qinq, double_dot1q] {
            assert_outcome(&program, &tagged, Outcome::PassedNoSocket);
        }
        // A third tag is beyond what the program unwraps: it must pass, not guess.
        let three = frame.vlan(ETHERTYPE_QINQ, 1).vlan(ETHERTYPE_VLAN, 2).vlan(ETHERTYPE_VLAN, 3);
        assert_outcome(&program, &three, Outcome::PassedNotIp);
    }
}

#[test]
fn skips_ipv4_options() {
    if !privileged("skips_ipv4_options") {
        return;
    }
    let program = load(&SteeringConfig::default());
    // Router alert (IHL 6) and the maximum IHL of 15 (40 bytes of NOPs + EOL).
    assert_outcome(&program, &Frame::udp4(53).ipv4_options(&[0x94, 4, 0, 0]), Outcome::PassedNoSocket);
    let mut longest = vec![1u8; 39];
    longest.push(0);
    assert_outcome(&program, &Frame::udp4(53).ipv4_options(&longest), Outcome::PassedNoSocket);
    // The options shift the UDP header: a port check at a fixed offset would miss this.
    assert_outcome(&program, &Frame::udp4(5353).ipv4_options(&longest), Outcome::PassedPort);
}

#[test]
fn leaves_ipv4_fragments_to_the_kernel() {
    if !privileged("leaves_ipv4_fragments_to_the_kernel") {
        return;
    }
    let program = load(&SteeringConfig::default());
    assert_outcome(&program, &Frame::udp4(53).ipv4_frag(0x2000), Outcome::PassedFragment); // MF
    assert_outcome(&program, &Frame::udp4(53).ipv4_frag(0x0001), Outcome::PassedFragment); // offset 8
    assert_outcome(&program, &Frame::udp4(53).ipv4_frag(0x1fff), Outcome::PassedFragment); // last offset
                                                                                           // Don't-fragment is not a fragment.
    assert_outcome(&program, &Frame::udp4(53).ipv4_frag(0x4000), Outcome::PassedNoSocket);
}

#[test]
fn leaves_ipv6_extension_headers_to_the_kernel() {
    if !privileged("leaves_ipv6_extension_headers_to_the_kernel") {
        return;
    }
    let program = load(&SteeringConfig::default());
    assert_outcome(&program, &Frame::udp6(53).ipv6_hop_by_hop(), Outcome::PassedIpv6Extension);
}

#[test]
fn passes_other_protocols_and_ports() {
    if !privileged("passes_other_protocols_and_ports") {
        return;
    }
    let program = load(&SteeringConfig::default());
    assert_outcome(&program, &Frame::udp4(53).protocol(PROTO_TCP), Outcome::PassedNotUdp);
    assert_outcome(&program, &Frame::udp6(53).protocol(PROTO_TCP), Outcome::PassedNotUdp);
    assert_outcome(&program, &Frame::udp4(5353), Outcome::PassedPort);
    assert_outcome(&program, &Frame::udp6(5353), Outcome::PassedPort);
    // Port 53 as the *source* port (a response) must not be steered.
    assert_outcome(&program, &Frame::udp4(40000), Outcome::PassedPort);
    let (action, outcome) = decide(&program, &arp_request());
    assert_eq!((action, outcome), (XdpAction::Pass, Outcome::PassedNotIp));
}

#[test]
fn steers_exactly_the_configured_ports() {
    if !privileged("steers_exactly_the_configured_ports") {
        return;
    }
    let program = load(&SteeringConfig { ports: vec![5353, 65535], addrs: Vec::new(), ..Default::default() });
    assert_outcome(&program, &Frame::udp4(5353), Outcome::PassedNoSocket);
    assert_outcome(&program, &Frame::udp6(65535), Outcome::PassedNoSocket);
    assert_outcome(&program, &Frame::udp4(53), Outcome::PassedPort);
    assert_outcome(&program, &Frame::udp6(0), Outcome::PassedPort);
}

#[test]
fn filters_by_destination_address_when_configured() {
    if !privileged("filters_by_destination_address_when_configured") {
        return;
    }
    let program = load(&SteeringConfig {
        ports: vec![53],
        addrs: vec![IpAddr::V4(SERVER_V4), IpAddr::V6(SERVER_V6)],
        ..Default::default()
    });
    assert_outcome(&program, &Frame::udp4(53), Outcome::PassedNoSocket);
    assert_outcome(&program, &Frame::udp6(53), Outcome::PassedNoSocket);
    assert_outcome(&program, &Frame::udp4(53).to(IpAddr::V4(OTHER_V4)), Outcome::PassedAddress);
    assert_outcome(&program, &Frame::udp6(53).to(IpAddr::V6(OTHER_V6)), Outcome::PassedAddress);

    // An IPv4-only filter steers no IPv6 at all.
    let v4_only = load(&SteeringConfig { ports: vec![53], addrs: vec![IpAddr::V4(SERVER_V4)], ..Default::default() });
    assert_outcome(&v4_only, &Frame::udp4(53), Outcome::PassedNoSocket);
    assert_outcome(&v4_only, &Frame::udp6(53), Outcome::PassedAddress);

    // A wildcard steers the interface's own addresses, and only those.
    let any = load(&SteeringConfig::default());
    assert_outcome(&any, &Frame::udp4(53), Outcome::PassedNoSocket);
    assert_outcome(&any, &Frame::udp4(53).to(IpAddr::V4(OTHER_V4)), Outcome::PassedAddress);
}

/// Issue 19: with a wildcard listen address, queries to any destination
/// were steered and answered from that destination.
#[test]
fn wildcard_listen_steers_only_the_interfaces_own_addresses() {
    if !privileged("wildcard_listen_steers_only_the_interfaces_own_addresses") {
        return;
    }
    let program = load(&SteeringConfig {
        ports: vec![53],
        addrs: vec![Ipv4Addr::UNSPECIFIED.into()],
        ..SteeringConfig::default()
    });
    assert_outcome(&program, &Frame::udp4(53), Outcome::PassedNoSocket);
    for foreign in ["198.18.0.255", "255.255.255.255", "203.0.113.9", "10.0.0.1", "198.18.0.3"] {
        let frame = Frame::udp4(53).to(foreign.parse().unwrap());
        assert_outcome(&program, &frame, Outcome::PassedAddress);
        assert_outcome(&program, &frame.dest_mac(BROADCAST_MAC), Outcome::PassedAddress);
    }
    // No IPv6 listen address: no IPv6 steered, even to our own address.
    assert_outcome(&program, &Frame::udp6(53), Outcome::PassedAddress);
    let both = load(&SteeringConfig::default());
    assert_outcome(&both, &Frame::udp6(53), Outcome::PassedNoSocket);
    assert_outcome(&both, &Frame::udp6(53).to("2001:db8::1".parse().unwrap()), Outcome::PassedAddress);

    // An address added later is steered once the maps learn it, and one removed is not.
    let mut moved = test_interface();
    moved.addrs[0] = InterfaceAddr::new(IpAddr::V4(OTHER_V4), 24);
    let changes = both.addresses().apply(&moved).expect("update");
    assert_eq!((changes.added, changes.removed), (vec![IpAddr::V4(OTHER_V4)], vec![IpAddr::V4(SERVER_V4)]));
    assert_outcome(&both, &Frame::udp4(53).to(IpAddr::V4(OTHER_V4)), Outcome::PassedNoSocket);
    assert_outcome(&both, &Frame::udp4(53), Outcome::PassedAddress);
}

#[test]
fn only_frames_to_the_interfaces_mac_are_steered() {
    if !privileged("only_frames_to_the_interfaces_mac_are_steered") {
        return;
    }
    let program = load(&SteeringConfig::default());
    for frame in [Frame::udp4(53), Frame::udp6(53)] {
        assert_outcome(&program, &frame, Outcome::PassedNoSocket);
        for mac in [BROADCAST_MAC, [0x01, 0, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 0x09], [0; 6]]
        {
            assert_outcome(&program, &frame.clone().dest_mac(mac), Outcome::PassedMac);
        }
    }
    // Through a VLAN tag: the MAC is still the first thing in the frame.
    assert_outcome(&program, &Frame::udp4(53).vlan(ETHERTYPE_VLAN, 10).dest_mac(BROADCAST_MAC), Outcome::PassedMac);
    // A program that does not know its interface's MAC steers nothing.
    let unknown = XdpProgram::load(&SteeringConfig::default()).expect("load");
    unknown.addresses().apply(&InterfaceState { mac: None, ..test_interface() }).expect("update");
    assert_outcome(&unknown, &Frame::udp4(53), Outcome::PassedMac);
}

#[test]
fn implausible_sources_are_left_to_the_kernel() {
    if !privileged("implausible_sources_are_left_to_the_kernel") {
        return;
    }
    let program = load(&SteeringConfig::default());
    let v4_martians = [
        "0.0.0.0",
        "0.1.2.3",
        "127.0.0.1",
        "127.9.9.9",
        "224.0.0.1",
        "239.255.255.255",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",   // ours
        "198.18.0.255", // our subnet's broadcast
    ];
    for source in v4_martians {
        assert_outcome(&program, &Frame::udp4(53).from(source.parse().unwrap()), Outcome::PassedSource);
    }
    let v6_martians =
        ["::", "::1", "::198.18.0.2", "ff02::1", "ff0e::1", "::ffff:127.0.0.1", "::ffff:198.18.0.2", "fd00::1"];
    for source in v6_martians {
        assert_outcome(&program, &Frame::udp6(53).from(source.parse().unwrap()), Outcome::PassedSource);
    }
    assert_outcome(&program, &Frame::udp4(53).source_port(0), Outcome::PassedSource);
    assert_outcome(&program, &Frame::udp6(53).source_port(0), Outcome::PassedSource);
    // Plausible ones, including neighbours in our subnet and outside it.
    for source in ["198.18.0.2", "198.18.0.254", "198.19.1.1", "1.0.0.1", "223.255.255.254"] {
        assert_outcome(&program, &Frame::udp4(53).from(source.parse().unwrap()), Outcome::PassedNoSocket);
    }
    for source in ["fd00::2", "fe80::1", "2001:db8::1", "::1:0:0:1"] {
        assert_outcome(&program, &Frame::udp6(53).from(source.parse().unwrap()), Outcome::PassedNoSocket);
    }
}

#[test]
fn ipv6_udp_without_checksum_is_left_to_the_kernel() {
    if !privileged("ipv6_udp_without_checksum_is_left_to_the_kernel") {
        return;
    }
    let program = load(&SteeringConfig::default());
    assert_outcome(&program, &Frame::udp6(53).udp_checksum(0), Outcome::PassedChecksum);
    // Legal over IPv4 (RFC 768): steered.
    assert_outcome(&program, &Frame::udp4(53).udp_checksum(0), Outcome::PassedNoSocket);
}

#[test]
fn rejects_malformed_ip_headers() {
    if !privileged("rejects_malformed_ip_headers") {
        return;
    }
    let program = load(&SteeringConfig::default());
    let good = Frame::udp4(53).build();
    let mut short_ihl = good.clone();
    short_ihl[14] = 0x44; // IHL 4: shorter than the fixed header
    let mut wrong_version = good.clone();
    wrong_version[14] = 0x65;
    let mut v6_in_v4_ethertype = Frame::udp6(53).build();
    v6_in_v4_ethertype[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let mut v4_in_v6_ethertype = good.clone();
    v4_in_v6_ethertype[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    v4_in_v6_ethertype.resize(14 + 40 + 8 + 12, 0);
    for (what, frame) in [
        ("IHL 4", short_ihl),
        ("IP version 6 in an IPv4 frame", wrong_version),
        ("IPv6 behind the IPv4 EtherType", v6_in_v4_ethertype),
        ("IPv4 behind the IPv6 EtherType", v4_in_v6_ethertype),
    ] {
        let (action, outcome) = decide(&program, &frame);
        assert_eq!((action, outcome), (XdpAction::Pass, Outcome::PassedMalformed), "{what}");
    }
    // UDP length fields that disagree with the frame.
    const UDP_LENGTH: std::ops::Range<usize> = 14 + 20 + 4..14 + 20 + 6; // Ethernet, IPv4, ports
    let mut udp_longer_than_frame = good.clone();
    udp_longer_than_frame[UDP_LENGTH].copy_from_slice(&200u16.to_be_bytes());
    let mut udp_shorter_than_its_header = good.clone();
    udp_shorter_than_its_header[UDP_LENGTH].copy_from_slice(&7u16.to_be_bytes());
    for (what, frame) in
        [("UDP length beyond the frame", udp_longer_than_frame), ("UDP length below 8", udp_shorter_than_its_header)]
    {
        let (action, outcome) = decide(&program, &frame);
        assert_eq!((action, outcome), (XdpAction::Pass, Outcome::PassedMalformed), "{what}");
    }
}

#[test]
fn the_payload_is_the_workers_to_judge() {
    if !privileged("the_payload_is_the_workers_to_judge") {
        return;
    }
    let program = load(&SteeringConfig::default());
    // Port 53 belongs to the workers whatever arrives on it: empty, not DNS,
    // or followed by Ethernet padding beyond the datagram.
    for payload in [&[][..], &[0xff], &DNS_QUERY[..11]] {
        assert_outcome(&program, &Frame::udp4(53).payload(payload), Outcome::PassedNoSocket);
        assert_outcome(&program, &Frame::udp6(53).payload(payload), Outcome::PassedNoSocket);
    }
    let mut padded = Frame::udp4(53).payload(&[1, 2]).build();
    padded.resize(60, 0);
    let (action, outcome) = decide(&program, &padded);
    assert_eq!((action, outcome), (XdpAction::Pass, Outcome::PassedNoSocket));
}

#[test]
fn frames_cut_short_are_never_steered() {
    if !privileged("frames_cut_short_are_never_steered") {
        return;
    }
    let program = load(&SteeringConfig::default());
    let shapes = [
        Frame::udp4(53),
        Frame::udp6(53),
        Frame::udp4(53).vlan(ETHERTYPE_VLAN, 7),
        Frame::udp6(53).vlan(ETHERTYPE_QINQ, 1).vlan(ETHERTYPE_VLAN, 2),
        Frame::udp4(53).ipv4_options(&[1, 1, 1, 1, 1, 1, 1, 0]),
    ];
    for shape in shapes {
        let full = shape.build();
        // The whole frame is steered, so the cuts below are what makes the difference.
        assert_eq!(decide(&program, &full).1, Outcome::PassedNoSocket, "{shape:?}");
        let boundaries = shape.header_boundaries();
        // Cut anywhere, even inside the payload the UDP length promises.
        for len in TEST_FRAME_MIN..full.len() {
            let (action, outcome) = decide(&program, &full[..len]);
            assert_eq!(
                (action, outcome),
                (XdpAction::Pass, Outcome::PassedMalformed),
                "{shape:?} cut to {len} bytes (header boundaries {boundaries:?})"
            );
        }
    }
}

#[test]
fn test_run_rejects_frames_the_kernel_cannot_run() {
    if !privileged("test_run_rejects_frames_the_kernel_cannot_run") {
        return;
    }
    let program = load(&SteeringConfig::default());
    for len in [0, TEST_FRAME_MIN - 1, TEST_FRAME_MAX + 1] {
        let err = program.test_run(&vec![0u8; len]).expect_err("out of range");
        assert!(matches!(err, XdpProgramError::TestFrameSize { .. }), "{err}");
    }
    assert_eq!(program.test_run(&vec![0u8; TEST_FRAME_MAX]).expect("largest frame"), XdpAction::Pass);
}

#[test]
fn unregistering_an_empty_queue_is_fine_and_out_of_range_is_not() {
    if !privileged("unregistering_an_empty_queue_is_fine_and_out_of_range_is_not") {
        return;
    }
    let mut program = load(&SteeringConfig::default());
    program.unregister_socket(0).expect("no socket on queue 0 is not an error");
    let err = program.unregister_socket(MAX_QUEUES).expect_err("out of range");
    assert!(matches!(err, XdpProgramError::QueueOutOfRange { .. }), "{err}");
}

#[test]
fn registering_a_non_xdp_socket_is_refused_clearly() {
    if !privileged("registering_a_non_xdp_socket_is_refused_clearly") {
        return;
    }
    let mut program = load(&SteeringConfig::default());
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on loopback");
    let err = program.register_socket(0, udp.as_raw_fd()).expect_err("a UDP socket is not an AF_XDP socket");
    assert!(matches!(err, XdpProgramError::NotAnXdpSocket { queue: 0 }), "{err}");
    let err = program.register_socket(MAX_QUEUES, udp.as_raw_fd()).expect_err("out of range");
    assert!(matches!(err, XdpProgramError::QueueOutOfRange { .. }), "{err}");
    // Nothing was stored: the query still falls back to the kernel.
    assert_outcome(&program, &Frame::udp4(53), Outcome::PassedNoSocket);
}

#[test]
fn configuration_is_validated_before_loading() {
    let no_ports = SteeringConfig { ports: Vec::new(), addrs: Vec::new(), ..Default::default() };
    assert!(matches!(XdpProgram::load(&no_ports), Err(XdpProgramError::InvalidConfig { .. })));
    let too_many = SteeringConfig {
        ports: vec![53],
        addrs: (0..=MAX_ADDRS).map(|i| IpAddr::V4(std::net::Ipv4Addr::from(0xc612_0000 + i))).collect(),
        ..Default::default()
    };
    let err = XdpProgram::load(&too_many).err().expect("too many addresses");
    assert!(matches!(err, XdpProgramError::InvalidConfig { .. }), "{err}");
    assert!(SteeringConfig::default().validate().is_ok());
}

#[test]
fn unknown_actions_are_errors() {
    assert_eq!(XdpAction::from_raw(4).unwrap(), XdpAction::Redirect);
    assert!(matches!(XdpAction::from_raw(5), Err(XdpProgramError::UnknownAction(5))));
}

/// Set in the child of [`unprivileged_load_explains_the_privileges_needed`].
const UNPRIVILEGED_CHILD_ENV: &str = "RESPONDER_XDP_UNPRIVILEGED_CHILD";

#[test]
fn unprivileged_load_explains_the_privileges_needed() {
    if !privileged("unprivileged_load_explains_the_privileges_needed") {
        return;
    }
    // Root can only see the unprivileged error from a process without root.
    let test_binary = std::env::current_exe().expect("test binary path");
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--"])
        .arg(&test_binary)
        .args([&format!("{module}::unprivileged_load_child"), "--exact", "--ignored", "--nocapture"])
        .env(UNPRIVILEGED_CHILD_ENV, "1")
        .current_dir("/")
        .output()
        .expect("run setpriv");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let message = stdout.lines().find_map(|l| l.strip_prefix("LOAD ERROR: ")).expect("child reported an error");
    assert!(message.contains("permission denied") && message.contains("CAP_BPF"), "{message}");
}

/// Not a test: the unprivileged process of
/// [`unprivileged_load_explains_the_privileges_needed`].
#[test]
#[ignore = "helper process for unprivileged_load_explains_the_privileges_needed"]
fn unprivileged_load_child() {
    if std::env::var_os(UNPRIVILEGED_CHILD_ENV).is_none() {
        eprintln!("unprivileged_load_child: only runs as a child of unprivileged_load_explains_the_privileges_needed");
        return;
    }
    match XdpProgram::load(&SteeringConfig::default()) {
        Ok(_) => panic!("loaded without privileges: the test cannot check the error"),
        Err(err) => println!("LOAD ERROR: {err}"),
    }
}

/// The data plane hands the program to whichever thread runs its control loop.
#[test]
fn the_program_can_move_between_threads() {
    fn is_send_and_sync<T: Send + Sync>() {}
    is_send_and_sync::<XdpProgram>();
}
