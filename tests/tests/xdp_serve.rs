//! `responder serve --iface` end to end on a veth testbed: UDP/53 answered
//! through XDP and AF_XDP sockets, TCP by the kernel-socket server in the
//! same process, and everything else left to the kernel.
//!
//! Checked from the client namespace with two independent clients (kdig and
//! hickory-proto) and kxdpgun, for 1 and 2 queues in native mode and once in
//! generic mode; the responder's stop counters prove that the UDP answers
//! came through AF_XDP rather than the kernel sockets listening on the same
//! address. SIGKILL must leave no XDP program behind.
//!
//! Needs root, kdig and kxdpgun: skipped with a message otherwise, except
//! under `CI=true`, where they must be there and the tests must run.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use responder_tests::daemon::Daemon;
use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Transport, NOERROR, NXDOMAIN};
use responder_tests::expect::{expect, Expect};
use responder_tests::kdig;
use responder_tests::kxdpgun::{self, Load, EXAMPLE_ZONE_MIX};
use responder_tests::netns::in_netns;
use responder_tests::responder::{self, workspace_root};
use responder_tests::testbed::{privileged, required_tools, Testbed, SERVER_V4, SERVER_V6};
use responder_tests::xdp_server::{server_v4, server_v6, xdp_attached, XdpServer};

/// The bundled zone's SOA as negative answers carry it (TTL = MINIMUM, RFC 2308).
const SOA_NEGATIVE: &str =
    "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024060101 7200 900 1209600 300";

/// A port nothing DNS-related uses, for the "XDP leaves other TCP alone" check.
const OTHER_TCP_PORT: u16 = 8080;

/// Bounded everywhere: a lost answer or connection fails within this.
const IO_TIMEOUT: Duration = Duration::from_secs(3);

fn zone() -> PathBuf {
    workspace_root().join("zones/example.com.zone")
}

/// Root, kdig and kxdpgun, or a reason to skip (a failure under CI).
fn can_run(test: &str) -> bool {
    if !privileged(test) {
        return false;
    }
    let missing: Vec<&str> = [("kdig", kdig::available()), ("kxdpgun", kxdpgun::available())]
        .into_iter()
        .filter_map(|(tool, present)| (!present).then_some(tool))
        .collect();
    required_tools(test, &missing)
}

/// One answer of each kind the engine builds, from `zones/example.com.zone`.
fn expectations() -> Vec<Expect> {
    vec![
        expect("www.example.com.", A).answer(&["www.example.com. 3600 A 198.18.0.80"]),
        expect("www.example.com.", AAAA).answer(&["www.example.com. 3600 AAAA fd00::80"]),
        // The in-zone exchange's addresses go in additional; the other is out of zone.
        expect("example.com.", MX)
            .answer(&["example.com. 3600 MX 10 mail.example.com.", "example.com. 3600 MX 20 mail2.example.net."])
            .additional(&["mail.example.com. 3600 A 198.18.0.25", "mail.example.com. 3600 AAAA fd00::25"]),
        expect("chain.example.com.", A).answer(&[
            "chain.example.com. 3600 CNAME alias.example.com.",
            "alias.example.com. 3600 CNAME www.example.com.",
            "www.example.com. 3600 A 198.18.0.80",
        ]),
        expect("nonexistent.example.com.", A).rcode(NXDOMAIN, true).authority(&[SOA_NEGATIVE]),
        // A referral: not authoritative, the child's NS in authority, glue in additional.
        expect("host.child.example.com.", A)
            .rcode(NOERROR, false)
            .authority(&[
                "child.example.com. 3600 NS ns1.child.example.com.",
                "child.example.com. 3600 NS ns2.child.example.com.",
            ])
            .additional(&[
                "ns1.child.example.com. 3600 A 198.18.3.53",
                "ns1.child.example.com. 3600 AAAA fd00:3::53",
                "ns2.child.example.com. 3600 A 198.18.3.54",
            ]),
        expect("anything.wild.example.com.", A).answer(&["anything.wild.example.com. 3600 A 198.18.2.1"]),
        expect("anything.wild.example.com.", TXT)
            .answer(&["anything.wild.example.com. 3600 TXT \"synthesised from *.wild\""]),
    ]
}

const UDP_ENDPOINTS: [(fn() -> SocketAddr, Transport); 2] = [(server_v4, Transport::Udp), (server_v6, Transport::Udp)];
const TCP_ENDPOINTS: [(fn() -> SocketAddr, Transport); 2] = [(server_v4, Transport::Tcp), (server_v6, Transport::Tcp)];

/// Asks every expectation with hickory and kdig from the client namespace
/// over UDP and TCP, IPv4 and IPv6. Returns how many UDP queries were sent
/// (each client sends exactly one per question: kdig runs with +retry=0).
fn check_answers(bed: &Testbed) -> u64 {
    in_netns(&bed.client_ns, || {
        let mut udp_queries = 0;
        for (addr, transport) in UDP_ENDPOINTS.iter().chain(&TCP_ENDPOINTS) {
            let addr = addr();
            for e in expectations() {
                let reply = dns::ask(addr, *transport, &e.question).unwrap_or_else(|err| panic!("{err}"));
                e.check(&reply, &format!("hickory {transport:?} {addr}"));
                let reply = kdig::ask(addr, *transport, &e.question).unwrap_or_else(|err| panic!("{err}"));
                e.check(&reply, &format!("kdig {transport:?} {addr}"));
                if *transport == Transport::Udp {
                    udp_queries += 2;
                }
            }
        }
        udp_queries
    })
    .unwrap()
}

/// The steering program must leave everything but DNS over UDP to the
/// kernel: ping both ways and a TCP connection to another port.
fn check_other_traffic_passes(bed: &Testbed) {
    for target in [SERVER_V4.to_string(), SERVER_V6.to_string()] {
        let out = bed.client_command("ping").args(["-c", "2", "-i", "0.2", "-W", "2", &target]).output().unwrap();
        assert!(out.status.success(), "ping {target} with XDP attached:\n{}", String::from_utf8_lossy(&out.stdout));
    }
    for server in [IpAddr::V4(SERVER_V4), IpAddr::V6(SERVER_V6)] {
        let addr = SocketAddr::new(server, OTHER_TCP_PORT);
        let listener =
            in_netns(&bed.server_ns, || TcpListener::bind(addr)).unwrap().expect("TCP listener in server ns");
        let echo = thread::spawn(move || echo_once(&listener));
        let reply = in_netns(&bed.client_ns, || -> std::io::Result<Vec<u8>> {
            let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            stream.write_all(b"not dns")?;
            let mut buf = vec![0; 7];
            stream.read_exact(&mut buf)?;
            Ok(buf)
        })
        .unwrap();
        let echoed = echo.join().expect("echo thread");
        assert_eq!(reply.unwrap_or_else(|e| panic!("TCP to {addr} with XDP attached: {e}")), b"not dns");
        echoed.unwrap_or_else(|e| panic!("TCP listener on {addr}: {e}"));
    }
}

/// Accepts one connection within [`IO_TIMEOUT`] and echoes 7 bytes back.
fn echo_once(listener: &TcpListener) -> std::io::Result<()> {
    // Non-blocking accept polled against a deadline: a client that never
    // connects cannot leave this thread blocked for ever.
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(10))
            }
            Err(e) => return Err(e),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf)?;
    stream.write_all(&buf)
}

/// A modest kxdpgun load: a correctness check, not a speed test.
fn run_load(bed: &Testbed, dir: &Path) -> kxdpgun::Summary {
    let file = dir.join("queries.txt");
    kxdpgun::write_queries(&file, EXAMPLE_ZONE_MIX).unwrap();
    // CPU 1: away from queue 0's worker (auto puts it on CPU 0).
    let load = Load { qps: 20_000, seconds: 3, cpu: Some(1) };
    let summary = kxdpgun::run(bed, IpAddr::V4(SERVER_V4), &file, load).unwrap_or_else(|e| panic!("{e}"));
    assert!(summary.answered() >= 0.99, "kxdpgun: fewer than 99% answered:\n{}", summary.text);
    // Every template is answered NOERROR except the one NXDOMAIN in ten.
    let nxdomain = summary.rcodes.get("NXDOMAIN").copied().unwrap_or(0);
    let share = nxdomain as f64 / summary.replies as f64;
    assert!((0.08..0.12).contains(&share), "kxdpgun: NXDOMAIN share {share:.3}, expected 0.1:\n{}", summary.text);
    summary
}

fn serves_through_af_xdp(test: &str, queues: u32) {
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create(test, queues).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    let server =
        XdpServer::start(&bed, &zone(), &["--queues", "all", "--xdp-mode", "native"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        server.log().contains(&format!("XDP on {} (native)", bed.server_if)),
        "native mode expected:\n{}",
        server.log()
    );
    assert!(xdp_attached(&bed.server_ns, &bed.server_if).unwrap());

    let udp_queries = check_answers(&bed);
    check_other_traffic_passes(&bed);
    let load = run_load(&bed, dir.path());

    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    let counters = report.counters_text();
    eprintln!("{test}: {udp_queries} UDP queries, kxdpgun {}/{}\n{counters}", load.replies, load.sent);
    assert_eq!(report.queues.len(), queues as usize, "one worker per queue:\n{counters}");
    // Every UDP answer the clients saw came from an AF_XDP socket: the
    // kernel sockets on the same address would not show in these counters.
    assert!(report.rx() >= udp_queries + load.replies, "fewer queries through AF_XDP than answered:\n{counters}");
    assert_eq!(report.tx(), report.rx(), "every steered query answered:\n{counters}");
    for q in &report.queues {
        assert!(q.frames_balanced && q.invalid == 0 && q.dropped == 0, "queue {}:\n{counters}", q.queue);
        // The kernel clients' flows hash over both TX queues of the client
        // veth, and so over both RX queues here: each must have a worker.
        assert!(q.rx > 0, "queue {} saw no queries:\n{counters}", q.queue);
    }
    assert!(!xdp_attached(&bed.server_ns, &bed.server_if).unwrap(), "SIGTERM must detach XDP");
}

#[test]
fn one_queue_native_serves_udp_through_af_xdp() {
    serves_through_af_xdp("xdp1q", 1);
}

#[test]
fn two_queues_native_serve_udp_through_af_xdp() {
    serves_through_af_xdp("xdp2q", 2);
}

#[test]
fn sigkill_leaves_no_xdp_and_the_kernel_serves_port_53() {
    let test = "sigkill_leaves_no_xdp_and_the_kernel_serves_port_53";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xdpkill", 1).expect("testbed");
    let server = XdpServer::start(&bed, &zone(), &["--xdp-mode", "native"]).unwrap_or_else(|e| panic!("{e}"));
    assert!(xdp_attached(&bed.server_ns, &bed.server_if).unwrap());
    server.kill();

    // The program hangs on a bpf_link owned by the process: it goes with
    // the last descriptor, without the responder doing anything.
    let deadline = Instant::now() + Duration::from_secs(5);
    while xdp_attached(&bed.server_ns, &bed.server_if).unwrap() {
        assert!(Instant::now() < deadline, "XDP still attached 5 s after SIGKILL");
        thread::sleep(Duration::from_millis(50));
    }

    // No leftover steering into socket-less queues: a plain kernel-socket
    // responder gets UDP/53.
    let dir = tempfile::tempdir().unwrap();
    let binary = responder::binary().unwrap().display().to_string();
    let mut cmd = bed.server_command(&binary);
    cmd.args(["serve", "--user", "root"]).arg("--zone").arg(zone()).args([
        "--listen",
        &server_v4().to_string(),
        "--udp-workers",
        "1",
    ]);
    let mut kernel = Daemon::spawn(cmd, "responder serve (kernel sockets)", &dir.path().join("kernel.log")).unwrap();
    in_netns(&bed.client_ns, || kernel.wait_until_answering(server_v4(), Duration::from_secs(20)))
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    let www = &expectations()[0];
    let reply = in_netns(&bed.client_ns, || kdig::ask(server_v4(), Transport::Udp, &www.question)).unwrap();
    www.check(&reply.unwrap_or_else(|e| panic!("{e}")), "kdig UDP after SIGKILL");
}

#[test]
fn generic_mode_serves_too() {
    let test = "generic_mode_serves_too";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xdpgen", 1).expect("testbed");
    let server = XdpServer::start(&bed, &zone(), &["--xdp-mode", "generic"]).unwrap_or_else(|e| panic!("{e}"));
    let log = server.log();
    assert!(
        log.contains(&format!("XDP on {} (generic)", bed.server_if)) && log.contains("mode=Generic"),
        "generic mode expected:\n{log}"
    );
    let udp_queries = in_netns(&bed.client_ns, || {
        let mut sent = 0;
        for (addr, transport) in UDP_ENDPOINTS {
            for e in &expectations()[..3] {
                let reply = kdig::ask(addr(), transport, &e.question).unwrap_or_else(|err| panic!("{err}"));
                e.check(&reply, &format!("kdig {transport:?} {} (generic XDP)", addr()));
                sent += 1;
            }
        }
        sent
    })
    .unwrap();
    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    let counters = report.counters_text();
    assert!(report.rx() >= udp_queries, "fewer queries through AF_XDP than answered:\n{counters}");
    assert_eq!(report.tx(), report.rx(), "{counters}");
}

#[test]
fn a_missing_interface_is_a_clear_error() {
    let iface = format!("rsp-none{}", std::process::id() % 100_000);
    let zone = zone().display().to_string();
    let out = responder::run(&["serve", "--user", "root", "--iface", &iface, "--zone", &zone])
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serving on a missing interface must fail:\n{stderr}");
    assert!(stderr.contains(&format!("interface {iface}: no such interface")), "unclear error:\n{stderr}");
}
