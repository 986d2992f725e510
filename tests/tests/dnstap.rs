//! Query capture end to end: `responder serve --dnstap unix:PATH` feeding
//! `fstrm_capture` (Debian fstrm-bin), decoded by `dnstap-read` (bind9-dnsutils),
//! and `--pcap FILE` read back, on the kernel-socket path over loopback and
//! on the XDP path through a veth testbed. The decoded messages must hold
//! exactly the query and response bytes the client sent and received; 1-in-N
//! sampling must keep about 1/N; a reader that restarts is reconnected; a
//! reader that stops reading fills the rings, which drop and count while
//! every query is still answered.
//!
//! Needs fstrm_capture, dnstap-read, tcpdump and kdig (and root for the XDP test):
//! skipped with a message otherwise, except under `CI=true`.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use responder_tests::daemon::run_bounded;
use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::fstrm::FstrmCapture;
use responder_tests::kdig;
use responder_tests::netns::in_netns;
use responder_tests::pcap::read_pcap;
use responder_tests::responder::{self, workspace_root, Server};
use responder_tests::testbed::{privileged, required_tools, Testbed, CLIENT_V4, CLIENT_V6};
use responder_tests::xdp_server::{server_v4, server_v6, XdpServer};
use serde_json::Value;

const IO_TIMEOUT: Duration = Duration::from_secs(3);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

fn zone() -> PathBuf {
    workspace_root().join("zones/example.com.zone")
}

fn tool_present(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).output().is_ok()
}

/// fstrm_capture, dnstap-read and kdig, or a reason to skip (a failure under CI).
fn tools(test: &str) -> bool {
    let missing: Vec<&str> = [
        ("fstrm_capture", tool_present("fstrm_capture", "--help")),
        ("dnstap-read", tool_present("dnstap-read", "-h")),
        ("tcpdump", tool_present("tcpdump", "--version")),
        ("kdig", kdig::available()),
    ]
    .into_iter()
    .filter_map(|(tool, present)| (!present).then_some(tool))
    .collect();
    required_tools(test, &missing)
}

/// `fstrm_capture` listening on `socket`, writing `out`.
/// One message as `dnstap-read -x` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tapped {
    /// AQ or AR.
    kind: String,
    client: SocketAddr,
    server: SocketAddr,
    protocol: String,
    /// `name/IN/TYPE`.
    question: String,
    /// The DNS message, hex.
    hex: String,
}

/// `dnstap-read -x FILE`: a summary line, then the message in hex.
fn dnstap_read(file: &Path) -> Vec<Tapped> {
    let out = run_bounded(Command::new("dnstap-read").arg("-x").arg(file), IO_TIMEOUT).expect("dnstap-read runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "dnstap-read failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .map(|pair| {
            let words: Vec<&str> = pair[0].split_whitespace().collect();
            // DATE TIME AQ CLIENT -> SERVER UDP 33b name/IN/A
            assert!(words.len() >= 9 && pair.len() == 2, "unexpected dnstap-read output: {pair:?}");
            Tapped {
                kind: words[2].into(),
                client: address(words[3]),
                server: address(words[5]),
                protocol: words[6].into(),
                question: words[8].into(),
                hex: pair[1].trim().to_uppercase(),
            }
        })
        .collect()
}

/// `ADDR:PORT` as dnstap-read prints it: IPv6 without brackets.
fn address(text: &str) -> SocketAddr {
    let (ip, port) = text.rsplit_once(':').unwrap_or_else(|| panic!("no port in {text:?}"));
    SocketAddr::new(ip.parse().unwrap_or_else(|e| panic!("{text:?}: {e}")), port.parse().expect("port"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `responder ctl stats`' capture counters.
fn capture_counters(control: &Path) -> Value {
    let out = responder::run(&["ctl", "--socket", control.to_str().unwrap(), "stats"]).expect("ctl stats");
    let v: Value = serde_json::from_slice(&out.stdout).expect("stats JSON");
    v["capture"].clone()
}

fn counter(v: &Value, outcome: &str) -> u64 {
    v[outcome].as_u64().unwrap_or_else(|| panic!("no capture counter {outcome} in {v}"))
}

/// A query with its own ID, so each exchange is told apart in the capture.
fn query(name: &str, qtype: u16, id: u16) -> Vec<u8> {
    Question { id, ..Question::new(name, qtype) }.to_wire().unwrap()
}

/// Asks over each transport and address; returns (transport, server, query, answer).
fn exchanges(servers: &[SocketAddr], first_id: u16) -> Vec<(Transport, SocketAddr, Vec<u8>, Vec<u8>)> {
    let mut done = Vec::new();
    let mut id = first_id;
    for &server in servers {
        for (transport, name, qtype) in
            [(Transport::Udp, "www.example.com.", A), (Transport::Tcp, "nonexistent.example.com.", AAAA)]
        {
            id += 1;
            let q = query(name, qtype, id);
            let answer = match transport {
                Transport::Udp => dns::udp_exchange(server, &q, IO_TIMEOUT),
                Transport::Tcp => dns::tcp_exchange(server, &q, IO_TIMEOUT),
            }
            .unwrap_or_else(|e| panic!("{transport:?} {server}: {e}"));
            done.push((transport, server, q, answer));
        }
    }
    done
}

/// Every exchange is in the dnstap file as AQ and AR with exactly its
/// bytes, its protocol and the server's address; and in the pcap file.
fn check_captured(
    tapped: &[Tapped],
    packets: &[(u8, SocketAddr, SocketAddr, Vec<u8>)],
    done: &[(Transport, SocketAddr, Vec<u8>, Vec<u8>)],
    client_ips: &[std::net::IpAddr],
) {
    for (transport, server, q, answer) in done {
        let protocol = match transport {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        };
        let find = |kind: &str, bytes: &[u8]| {
            tapped
                .iter()
                .find(|t| t.kind == kind && t.hex == hex(bytes))
                .unwrap_or_else(|| panic!("no {kind} {protocol} {server} with bytes {} in {tapped:#?}", hex(bytes)))
                .clone()
        };
        let aq = find("AQ", q);
        let ar = find("AR", answer);
        assert_eq!((aq.protocol.as_str(), ar.protocol.as_str()), (protocol, protocol));
        assert_eq!((aq.server, ar.server), (*server, *server));
        assert_eq!(aq.client, ar.client, "the response goes back to the query's client");
        let client = aq.client;
        assert!(client_ips.contains(&client.ip()), "client {client} not one of {client_ips:?}");
        let proto = if *transport == Transport::Udp { 17 } else { 6 };
        assert!(
            packets.iter().any(|(p, from, to, payload)| *p == proto && from == &client && to == server && payload == q),
            "query {} not in the pcap",
            hex(q)
        );
        assert!(
            packets
                .iter()
                .any(|(p, from, to, payload)| *p == proto && from == server && to == &client && payload == answer),
            "answer {} not in the pcap",
            hex(answer)
        );
    }
}

/// kdig asks one question over UDP and over TCP; [`kdig_seen`] finds them.
fn ask_kdig(server: SocketAddr) {
    for transport in [Transport::Udp, Transport::Tcp] {
        let reply = kdig::ask(server, transport, &Question::new("mail.example.com.", AAAA)).expect("kdig");
        assert_eq!(reply.answer_text(), ["mail.example.com. 3600 AAAA fd00::25"]);
    }
}

/// kdig's questions, decoded by dnstap-read, both directions, both transports.
fn kdig_seen(tapped: &[Tapped], server: SocketAddr) {
    for protocol in ["UDP", "TCP"] {
        for kind in ["AQ", "AR"] {
            assert!(
                tapped.iter().any(|t| t.kind == kind
                    && t.protocol == protocol
                    && t.server == server
                    && t.question == "mail.example.com/IN/AAAA"),
                "kdig's {protocol} query not seen as {kind}: {tapped:#?}"
            );
        }
    }
}

#[test]
fn fstrm_capture_reads_the_kernel_path() {
    if !tools("fstrm_capture_reads_the_kernel_path") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (socket, fstrm, pcap, control) =
        (dir.path().join("d.sock"), dir.path().join("out.fstrm"), dir.path().join("q.pcap"), dir.path().join("c.sock"));
    let reader = FstrmCapture::start(&socket, &fstrm, &dir.path().join("fstrm.log"));
    let zone = zone();
    let server = Server::start(&[
        "--zone",
        zone.to_str().unwrap(),
        "--dnstap",
        &format!("unix:{}", socket.display()),
        "--pcap",
        pcap.to_str().unwrap(),
        "--control-socket",
        control.to_str().unwrap(),
    ])
    .expect("responder starts");
    let done = exchanges(&[server.v4, server.v6], 0x1000);
    ask_kdig(server.v4);
    let counters = capture_counters(&control);
    assert_eq!(counter(&counters, "sampled_out"), 0, "1-in-1 takes every query: {counters}");
    let (status, log) = server.daemon.terminate(STOP_TIMEOUT).expect("responder stops");
    assert!(status.success(), "{log}");
    let reader_log = reader.stop();

    let tapped = dnstap_read(&fstrm);
    let packets = read_pcap(&pcap);
    let loopback = ["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    check_captured(&tapped, &packets, &done, &loopback);
    kdig_seen(&tapped, server.v4);
    // The readiness probes, ours and kdig's: every one written, nothing lost.
    assert_eq!(tapped.iter().filter(|t| t.kind == "AQ").count(), tapped.iter().filter(|t| t.kind == "AR").count());
    assert!(tapped.len() >= 2 * (done.len() + 2), "{reader_log}");
    assert_eq!(counter(&counters, "dropped_full") + counter(&counters, "dropped_sink"), 0, "{counters}");
}

#[test]
fn one_in_n_sampling_keeps_about_one_in_n_and_a_restarted_reader_is_reconnected() {
    if !tools("one_in_n_sampling_keeps_about_one_in_n_and_a_restarted_reader_is_reconnected") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("d.sock");
    let control = dir.path().join("c.sock");
    let zone = zone();
    // No reader yet: the responder starts anyway and counts what it cannot send.
    let server = Server::start(&[
        "--zone",
        zone.to_str().unwrap(),
        "--dnstap",
        &format!("unix:{}", socket.display()),
        "--dnstap-sample",
        "10",
        "--control-socket",
        control.to_str().unwrap(),
    ])
    .expect("responder starts");
    let ask = |n: u16, base: u16| {
        for i in 0..n {
            let q = query("www.example.com.", A, base + i);
            dns::udp_exchange(server.v4, &q, IO_TIMEOUT).expect("answered while capturing");
        }
    };
    ask(100, 0);
    thread::sleep(Duration::from_millis(200));
    let before = capture_counters(&control);
    assert!(counter(&before, "dropped_sink") >= 9, "no reader: lost and counted: {before}");

    // A reader appears: within the 1 s retry the responder connects.
    let first = FstrmCapture::start(&socket, &dir.path().join("1.fstrm"), &dir.path().join("1.log"));
    thread::sleep(Duration::from_millis(1500));
    const QUERIES: u16 = 2000;
    ask(QUERIES, 1000);
    thread::sleep(Duration::from_millis(300));
    let after = capture_counters(&control);
    let written = counter(&after, "written") - counter(&before, "written");
    let sampled_out = counter(&after, "sampled_out") - counter(&before, "sampled_out");
    // One UDP thread counts 1 in 10 exactly; allow for the probe and timing.
    assert!((190..=210).contains(&written), "1 in 10 of {QUERIES}: {written} written ({after})");
    assert!((1780..=1820).contains(&sampled_out), "{sampled_out} sampled out ({after})");
    first.stop();
    let tapped = dnstap_read(&dir.path().join("1.fstrm"));
    let queries = tapped.iter().filter(|t| t.kind == "AQ").count() as u64;
    assert_eq!(queries, written, "every written exchange is in the file");

    // The reader restarts: the next write fails, and the responder reconnects.
    let second = FstrmCapture::start(&socket, &dir.path().join("2.fstrm"), &dir.path().join("2.log"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut base = 4000;
    loop {
        ask(100, base);
        base += 100;
        thread::sleep(Duration::from_millis(200));
        let tapped_now = capture_counters(&control);
        if counter(&tapped_now, "written") > counter(&after, "written") {
            break;
        }
        assert!(Instant::now() < deadline, "no reconnection within 10 s: {tapped_now}");
    }
    let (status, log) = server.daemon.terminate(STOP_TIMEOUT).expect("responder stops");
    assert!(status.success(), "{log}");
    second.stop();
    let tapped = dnstap_read(&dir.path().join("2.fstrm"));
    assert!(!tapped.is_empty(), "the restarted reader got messages");
    assert!(log.contains("dnstap: connected to the reader"), "{log}");
}

/// A reader that shakes hands and then never reads: the capture thread
/// blocks in its write (up to its 1 s timeout), the rings fill, and the
/// serving thread drops and counts instead of waiting.
#[test]
fn a_full_ring_drops_and_counts_and_never_blocks_answers() {
    if !tools("a_full_ring_drops_and_counts_and_never_blocks_answers") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("stuck.sock");
    let control = dir.path().join("c.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stuck = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                        // READY in, ACCEPT out, START in: then silence.
                        let mut ready = [0u8; 8 + 4 + 8 + 22];
                        if s.read_exact(&mut ready).is_ok() {
                            let accept = [
                                &[0u8, 0, 0, 0, 0, 0, 0, 34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 22][..],
                                b"protobuf:dnstap.Dnstap",
                            ]
                            .concat();
                            let _ = s.write_all(&accept);
                        }
                        held.push(s);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
            held.len()
        })
    };
    let zone = zone();
    let server = Server::start(&[
        "--zone",
        zone.to_str().unwrap(),
        "--dnstap",
        &format!("unix:{}", socket.display()),
        "--capture-ring-size",
        "4K",
        "--control-socket",
        control.to_str().unwrap(),
    ])
    .expect("responder starts");
    const QUERIES: u16 = 3000;
    let started = Instant::now();
    for i in 0..QUERIES {
        let q = query("www.example.com.", A, i);
        dns::udp_exchange(server.v4, &q, IO_TIMEOUT).unwrap_or_else(|e| panic!("query {i} not answered: {e}"));
    }
    let took = started.elapsed();
    let counters = capture_counters(&control);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (status, log) = server.daemon.terminate(STOP_TIMEOUT).expect("responder stops");
    assert!(status.success(), "{log}");
    let connections = stuck.join().unwrap();
    assert!(connections >= 1, "the responder connected to the stuck reader");
    assert!(counter(&counters, "dropped_full") > 0, "a 4 KiB ring behind a stuck reader overflows: {counters}");
    let total: u64 = ["written", "dropped_full", "sampled_out", "rate_limited", "dropped_sink"]
        .iter()
        .map(|o| counter(&counters, o))
        .sum();
    // Records still in a ring or in the capture thread's hands are in no outcome yet.
    assert!(total <= u64::from(QUERIES) + 5 && total + 100 >= u64::from(QUERIES), "{total}: {counters}");
    assert!(took < Duration::from_secs(60), "{QUERIES} answers took {took:?}");
}

fn xdp_can_run(test: &str) -> bool {
    privileged(test) && tools(test)
}

#[test]
fn fstrm_capture_reads_the_xdp_path() {
    if !xdp_can_run("fstrm_capture_reads_the_xdp_path") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (socket, fstrm, pcap) = (dir.path().join("d.sock"), dir.path().join("out.fstrm"), dir.path().join("q.pcap"));
    let reader = FstrmCapture::start(&socket, &fstrm, &dir.path().join("fstrm.log"));
    let bed = Testbed::create("dnstap", 1).expect("testbed");
    let sink = format!("unix:{}", socket.display());
    let server = XdpServer::start(&bed, &zone(), &["--dnstap", &sink, "--pcap", pcap.to_str().unwrap()])
        .expect("responder serves over XDP");
    let done = in_netns(&bed.client_ns, || {
        let done = exchanges(&[server_v4(), server_v6()], 0x2000);
        ask_kdig(server_v4());
        done
    })
    .unwrap();
    let report = server.stop().expect("clean stop");
    reader.stop();
    let udp: u64 = done.iter().filter(|d| d.0 == Transport::Udp).count() as u64;
    assert!(report.tx() >= udp, "the UDP answers went through AF_XDP:\n{}", report.counters_text());

    let tapped = dnstap_read(&fstrm);
    let packets = read_pcap(&pcap);
    check_captured(&tapped, &packets, &done, &[CLIENT_V4.into(), CLIENT_V6.into()]);
    kdig_seen(&tapped, server_v4());
    let sources: BTreeSet<&str> = tapped.iter().map(|t| t.protocol.as_str()).collect();
    assert_eq!(sources, BTreeSet::from(["TCP", "UDP"]), "both paths in one stream");
}
