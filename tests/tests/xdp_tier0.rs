//! `serve --xdp-answers` end to end on a veth testbed: the same queries,
//! sent from the client namespace to a responder with tier 0 off and then
//! on, get byte-identical answers, and with it on the program's
//! `answered_tier0` counter shows the apex and referral queries were
//! answered by the XDP program itself (XDP_TX), the others by the workers.
//! A reload republishes the answers as a new generation. With top=N a
//! name the zone's selection does not hold becomes a tier-0 answer once
//! the workers have answered it often enough.
//!
//! veth delivers an XDP_TX frame at once only to a peer that runs a native
//! XDP program itself (it wakes the peer's NAPI only then): the client end
//! gets a one-line XDP_PASS program, compiled here with clang and attached
//! with `ip link` (a real NIC needs nothing of the kind).
//!
//! Needs root, kdig and clang: skipped with a message otherwise, except
//! under `CI=true`.

use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use responder_tests::client_pass;
use responder_tests::daemon::installed;
use responder_tests::dns::{rtype::*, Transport};
use responder_tests::expect::expect;
use responder_tests::kdig;
use responder_tests::netns::in_netns;
use responder_tests::responder::workspace_root;
use responder_tests::testbed::{privileged, required_tools, run, Testbed};
use responder_tests::xdp_server::{server_v4, server_v6, XdpServer};

const IO_TIMEOUT: Duration = Duration::from_secs(3);

fn zone() -> PathBuf {
    workspace_root().join("zones/example.com.zone")
}

fn can_run(test: &str) -> bool {
    if !privileged(test) {
        return false;
    }
    let missing: Vec<&str> = [("kdig", kdig::available()), ("clang", installed("clang"))]
        .into_iter()
        .filter_map(|(tool, present)| (!present).then_some(tool))
        .collect();
    required_tools(test, &missing)
}

fn wire_name(name: &str) -> Vec<u8> {
    let mut w = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        w.push(label.len() as u8);
        w.extend_from_slice(label.as_bytes());
    }
    w.push(0);
    w
}

/// A query with a fixed ID, so that two servers' answers compare byte for byte.
fn query(id: u16, name: &str, qtype: u16, edns: Option<(u16, bool)>) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns.is_some() as u8]);
    m.extend_from_slice(&wire_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    if let Some((size, dnssec_ok)) = edns {
        m.extend_from_slice(&[0, 0, 41]);
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
    }
    m
}

/// (query, answered by tier 0 when it is on)
fn corpus() -> Vec<(Vec<u8>, bool)> {
    let hit = |id, name, qtype, edns| (query(id, name, qtype, edns), true);
    let miss = |id, name, qtype, edns| (query(id, name, qtype, edns), false);
    vec![
        hit(1, "example.com.", SOA, None),
        hit(2, "EXAMPLE.com.", NS, Some((1232, false))),
        hit(3, "Example.Com.", MX, Some((4096, true))),
        hit(4, "child.example.com.", NS, Some((1232, false))),
        hit(5, "CHILD.example.com.", A, None),
        miss(6, "www.example.com.", A, Some((1232, false))),
        hit(7, "example.com.", TXT, None),
        miss(9, "example.com.", SRV, Some((1232, false))),
        miss(8, "host.child.example.com.", A, None),
    ]
}

/// Every query of the corpus to `server`, from the client namespace.
fn ask_all(bed: &Testbed, server: SocketAddr) -> Vec<Vec<u8>> {
    in_netns(&bed.client_ns, || {
        let bind = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let socket = UdpSocket::bind(bind).expect("client socket");
        socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        corpus()
            .iter()
            .map(|(q, _)| {
                socket.send_to(q, server).expect("send");
                let mut buf = [0u8; 4096];
                let (n, _) = socket.recv_from(&mut buf).unwrap_or_else(|e| panic!("no answer from {server}: {e}"));
                buf[..n].to_vec()
            })
            .collect()
    })
    .unwrap()
}

fn serve_and_ask(bed: &Testbed, answers: &str) -> (Vec<Vec<u8>>, u64, String) {
    let server = XdpServer::start(bed, &zone(), &["--xdp-mode", "native", "--xdp-answers", answers])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut all = ask_all(bed, server_v4());
    all.extend(ask_all(bed, server_v6()));
    // kdig, an independent client, reads a tier-0 answer as a DNS answer.
    in_netns(&bed.client_ns, || {
        let e = expect("example.com.", NS)
            .answer(&["example.com. 3600 NS ns1.example.com.", "example.com. 3600 NS ns2.example.com."])
            .additional(&[
                "ns1.example.com. 3600 A 198.18.0.53",
                "ns1.example.com. 3600 AAAA fd00::53",
                "ns2.example.com. 3600 A 198.18.1.53",
                "ns2.example.com. 3600 AAAA fd00:1::53",
            ]);
        let reply = kdig::ask(server_v4(), Transport::Udp, &e.question).unwrap_or_else(|err| panic!("{err}"));
        e.check(&reply, &format!("kdig with --xdp-answers {answers}"));
    })
    .unwrap();
    let log = server.log();
    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    (all, report.answered_tier0(), log)
}

#[test]
fn tier0_answers_over_veth_are_the_workers_byte_for_byte() {
    let test = "tier0_answers_over_veth_are_the_workers_byte_for_byte";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xt0", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    client_pass::attach(&bed, dir.path());
    let (off, off_hits, _) = serve_and_ask(&bed, "off");
    let (on, on_hits, log) = serve_and_ask(&bed, "apex+delegations");
    assert!(log.contains("XDP answers apex+delegations: "), "tier 0 on:\n{log}");
    assert_eq!(off_hits, 0, "tier 0 off answers nothing itself");
    let hits_sent = 2 * corpus().iter().filter(|(_, hit)| *hit).count() as u64;
    // Every hit, and no miss: the readiness probe is for a name outside
    // the zone. An answer bigger than the query grows the frame in front
    // when a local stack's buffer has no room behind (`ebpf/README.md`).
    // kdig's question (NS at the apex, no EDNS) is one more.
    assert_eq!(on_hits, hits_sent + 1, "answered_tier0");
    for (i, (a, b)) in off.iter().zip(&on).enumerate() {
        assert_eq!(a, b, "query {i}: tier 0 on and off differ");
    }
}

/// The program's own answers in `/metrics`: `path="xdp-kernel"` moves by
/// exactly the tier-0 queries sent (responses, queries, by qtype and
/// family), the workers' `path="xdp"` by exactly the others. Rate limiting
/// is on, far above this traffic: tier 0 runs with it, and limits nothing.
#[test]
fn tier0_answers_are_counted_as_path_xdp_kernel() {
    use responder_tests::fleet::responder_node::metric_sum;
    use std::io::{Read, Write};

    let test = "tier0_answers_are_counted_as_path_xdp_kernel";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xt0m", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    client_pass::attach(&bed, dir.path());
    // The server's own namespace: no port is shared with another test.
    let metrics: SocketAddr = "127.0.0.1:9158".parse().unwrap();
    let extra = [
        "--xdp-mode",
        "native",
        "--xdp-answers",
        "apex+delegations",
        "--rrl-rate",
        "1000",
        "--metrics",
        "127.0.0.1:9158",
    ];
    let server = XdpServer::start(&bed, &zone(), &extra).unwrap_or_else(|e| panic!("{e}"));
    let log = server.log();
    assert!(log.contains("XDP answers apex+delegations: "), "tier 0 on with rate limiting:\n{log}");
    let scrape = || {
        in_netns(&bed.server_ns, || {
            let mut stream = std::net::TcpStream::connect_timeout(&metrics, IO_TIMEOUT).expect("metrics listener");
            stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            stream.write_all(b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("a scrape");
            response
        })
        .unwrap()
    };
    let kernel = [("path", "xdp-kernel")];
    let workers = [("path", "xdp")];
    let moved = |before: &str, after: &str, family: &str, labels: &[(&str, &str)]| {
        metric_sum(after, family, labels) - metric_sum(before, family, labels)
    };
    let before = scrape();
    assert!(before.contains("path=\"xdp-kernel\""), "an xdp-kernel series from the start:\n{before}");
    let answers = [ask_all(&bed, server_v4()), ask_all(&bed, server_v6())].concat();
    assert_eq!(answers.len(), 2 * corpus().len());
    let hits = 2 * corpus().iter().filter(|(_, hit)| *hit).count() as u64;
    let misses = 2 * corpus().len() as u64 - hits;
    // The workers publish their counters when idle: a bounded wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let after = scrape();
        if moved(&before, &after, "responder_responses_total", &workers) >= misses
            || std::time::Instant::now() > deadline
        {
            break after;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(moved(&before, &after, "responder_responses_total", &kernel), hits, "xdp-kernel responses");
    assert_eq!(moved(&before, &after, "responder_queries_total", &kernel), hits, "xdp-kernel queries");
    assert_eq!(moved(&before, &after, "responder_responses_total", &workers), misses, "the workers' responses");
    assert_eq!(moved(&before, &after, "responder_responses_by_qtype_total", &[kernel[0], ("qtype", "SOA")]), 2);
    assert_eq!(
        moved(&before, &after, "responder_responses_by_family_total", &[kernel[0], ("family", "ipv6")]),
        hits / 2
    );
    assert_eq!(moved(&before, &after, "responder_response_size_bytes_count", &kernel), hits);
    assert_eq!(moved(&before, &after, "responder_rrl_actions_total", &kernel), 0, "nothing limited");
    server.stop().unwrap_or_else(|e| panic!("{e}"));
}

/// The program's own CPU time per frame (`run_time_ns / run_cnt` from
/// `bpftool prog show`, with `kernel.bpf_stats_enabled=1` for the run and
/// restored after), for tier-0 hits, misses with tier 0 on, and the same
/// queries with tier 0 off. A measurement for docs/BENCHMARKS.md, not a
/// check: run by hand with `-- --ignored --nocapture`. Bounded: 5000
/// queries per case, one at a time.
#[test]
#[ignore]
fn tier0_program_cost_per_frame() {
    let test = "tier0_program_cost_per_frame";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xt0c", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    client_pass::attach(&bed, dir.path());
    let before = std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").unwrap();
    std::fs::write("/proc/sys/kernel/bpf_stats_enabled", "1").unwrap();
    let result = std::panic::catch_unwind(|| {
        let hit = query(1, "Example.com.", NS, Some((1232, false)));
        let miss = query(2, "www.example.com.", A, Some((1232, false)));
        for answers in ["off", "apex+delegations"] {
            let server = XdpServer::start(&bed, &zone(), &["--xdp-mode", "native", "--xdp-answers", answers])
                .unwrap_or_else(|e| panic!("{e}"));
            let id = program_id(&bed);
            for (what, q) in [("NS at the apex", &hit), ("www A", &miss)] {
                let (time0, count0) = run_stats(id);
                in_netns(&bed.client_ns, || {
                    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
                    socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                    let mut buf = [0u8; 4096];
                    for _ in 0..5000 {
                        socket.send_to(q, server_v4()).unwrap();
                        socket.recv_from(&mut buf).expect("an answer");
                    }
                })
                .unwrap();
                let (time1, count1) = run_stats(id);
                let frames = count1 - count0;
                assert!(frames >= 5000, "{frames} runs");
                println!(
                    "--xdp-answers {answers}, {what}: {:.0} ns per frame over {frames} frames",
                    (time1 - time0) as f64 / frames as f64
                );
            }
            server.stop().unwrap_or_else(|e| panic!("{e}"));
        }
    });
    std::fs::write("/proc/sys/kernel/bpf_stats_enabled", before.trim()).unwrap();
    result.unwrap();
}

fn program_id(bed: &Testbed) -> u64 {
    let out = run(bed.server_command("ip").args(["link", "show", "dev", &bed.server_if])).unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split("prog/xdp id ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no XDP program id in {text}"))
}

/// (run_time_ns, run_cnt) of program `id`.
fn run_stats(id: u64) -> (u64, u64) {
    let out =
        run(std::process::Command::new("bpftool").args(["prog", "show", "id", &id.to_string(), "--json"])).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool json");
    (json["run_time_ns"].as_u64().unwrap_or(0), json["run_cnt"].as_u64().unwrap_or(0))
}

/// A reload republishes the answers: the program answers the new SOA
/// itself, never the old one after the reload is done, and every answer
/// seen is one of the two zone versions whole.
#[test]
fn tier0_follows_a_reload() {
    let test = "tier0_follows_a_reload";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xt0r", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    client_pass::attach(&bed, dir.path());
    let original = std::fs::read_to_string(zone()).unwrap();
    assert!(original.contains("2024060101"));
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, &original).unwrap();
    let server = XdpServer::start(&bed, &file, &["--xdp-mode", "native", "--xdp-answers", "apex"])
        .unwrap_or_else(|e| panic!("{e}"));
    let soa = query(0x5050, "example.com.", SOA, Some((1232, false)));
    let ask = || ask_one(&bed, &soa);
    let before = ask();
    assert!(contains(&before, &2024060101u32.to_be_bytes()), "the first serial");

    std::fs::write(&file, original.replace("2024060101", "2024060102")).unwrap();
    let pid = libc::pid_t::try_from(server.pid()).unwrap();
    // SAFETY: kill(2) on our own child, still unreaped (XdpServer holds it).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0, "SIGHUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let answer = ask();
        let old = contains(&answer, &2024060101u32.to_be_bytes());
        let new = contains(&answer, &2024060102u32.to_be_bytes());
        assert!(old != new, "one serial, whole: {answer:02x?}");
        if new {
            break answer;
        }
        assert!(std::time::Instant::now() < deadline, "the new serial within 10 s:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(before.len(), after.len());
    let log = server.log();
    assert!(log.contains("XDP answers (tier 0) published generation=2"), "republished at the reload:\n{log}");
    for _ in 0..5 {
        assert!(contains(&ask(), &2024060102u32.to_be_bytes()), "never the old serial again");
    }
    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.answered_tier0() >= 7, "{}", report.counters_text());
}

fn ask_one(bed: &Testbed, q: &[u8]) -> Vec<u8> {
    in_netns(&bed.client_ns, || {
        let socket = UdpSocket::bind("0.0.0.0:0").expect("client socket");
        socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        socket.send_to(q, server_v4()).expect("send");
        let mut buf = [0u8; 4096];
        let (n, _) = socket.recv_from(&mut buf).expect("an answer");
        buf[..n].to_vec()
    })
    .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One request line on a control socket, its JSON reply.
fn control(socket: &Path, request: &str) -> Value {
    let mut stream = UnixStream::connect(socket).unwrap_or_else(|e| panic!("control socket {socket:?}: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    writeln!(stream, "{request}").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap_or_else(|e| panic!("{request}: {e}"));
    let value: Value = serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{request}: not JSON ({e}): {reply}"));
    assert_eq!(value["ok"], true, "{request}: {value}");
    value
}

/// (learned tier-0 answers installed, answered_tier0, frames the workers received)
fn learned_counts(socket: &Path) -> (u64, u64, u64) {
    let stats = control(socket, "stats");
    let number = |pointer: &str| stats.pointer(pointer).and_then(Value::as_u64);
    let received = stats["xdp"]["queues"]
        .as_array()
        .unwrap_or_else(|| panic!("no queues in {stats}"))
        .iter()
        .map(|q| q["received"].as_u64().unwrap_or(0))
        .sum();
    (
        number("/xdp/tier0/learned").unwrap_or_else(|| panic!("no xdp.tier0.learned in {stats}")),
        number("/xdp/program/answered_tier0").unwrap_or_else(|| panic!("no answered_tier0 in {stats}")),
        received,
    )
}

/// `--xdp-answers top=8`: www A, which no zone selection holds, is answered
/// by the workers at first; after a burst of queries for it (at most 4,000,
/// one at a time, within 20 s) it is learned, and from then on the program
/// answers it itself (`answered_tier0` moves, the workers receive nothing)
/// with the bytes the worker sent. A reload that changes www's address
/// keeps the key learned, with the new zone's answer.
#[test]
fn learned_tier0_takes_over_a_hot_name() {
    let test = "learned_tier0_takes_over_a_hot_name";
    if !can_run(test) {
        return;
    }
    let bed = Testbed::create("xt0l", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    client_pass::attach(&bed, dir.path());
    let socket = dir.path().join("control.sock");
    let socket_arg = socket.display().to_string();
    let original = std::fs::read_to_string(zone()).unwrap();
    let file = dir.path().join("example.com.zone");
    std::fs::write(&file, &original).unwrap();
    let server = XdpServer::start(
        &bed,
        &file,
        &[
            "--xdp-mode",
            "native",
            "--xdp-answers",
            "top=8",
            "--xdp-learn-interval",
            "1",
            "--control-socket",
            &socket_arg,
            "--stats-interval",
            "0",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(server.log().contains("XDP answers top=8: 0"), "nothing installed at start:\n{}", server.log());
    let www = query(0x7777, "Www.example.com.", A, Some((1232, false)));
    let from_worker = ask_one(&bed, &www);
    assert_eq!(learned_counts(&socket).0, 0);

    let deadline = Instant::now() + Duration::from_secs(20);
    let learned = in_netns(&bed.client_ns, || {
        let client = UdpSocket::bind("0.0.0.0:0").expect("client socket");
        client.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut buf = [0u8; 4096];
        let mut sent = 1;
        while learned_counts(&socket).0 == 0 {
            if sent >= 4_000 || Instant::now() >= deadline {
                return Err(format!("not learned after {sent} queries"));
            }
            for _ in 0..50 {
                client.send_to(&www, server_v4()).expect("send");
                let (n, _) = client.recv_from(&mut buf).expect("an answer");
                assert_eq!(&buf[..n], &from_worker[..], "the same answer while learning");
            }
            sent += 50;
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(sent)
    })
    .unwrap();
    let sent = learned.unwrap_or_else(|e| panic!("{e}:\n{}", server.log()));
    eprintln!("www A learned after {sent} queries");
    assert!(server.log().contains("learned=1"), "published with the learned key:\n{}", server.log());
    // The workers publish their counters when idle (every few ms): let the
    // last burst's show before comparing.
    std::thread::sleep(Duration::from_millis(200));
    let (learned, tier0_before, received_before) = learned_counts(&socket);
    assert_eq!(learned, 1);
    for _ in 0..20 {
        assert_eq!(ask_one(&bed, &www), from_worker, "tier 0 answers www byte for byte as the worker did");
    }
    std::thread::sleep(Duration::from_millis(200));
    let (_, tier0_after, received_after) = learned_counts(&socket);
    assert_eq!(tier0_after - tier0_before, 20, "answered by the program");
    assert_eq!(received_after, received_before, "nothing reached the workers");

    let (old, new) = ([198u8, 18, 0, 80], [198u8, 18, 0, 81]);
    assert!(contains(&from_worker, &old) && original.contains("198.18.0.80"), "www's address");
    let changed = original.replace("2024060101", "2024060102").replace("198.18.0.80", "198.18.0.81");
    std::fs::write(&file, changed).unwrap();
    let pid = libc::pid_t::try_from(server.pid()).unwrap();
    // SAFETY: kill(2) on our own child, still unreaped (XdpServer holds it).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0, "SIGHUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !contains(&ask_one(&bed, &www), &new) {
        assert!(Instant::now() < deadline, "the new address within 10 s:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let (learned, tier0_before, received_before) = learned_counts(&socket);
    assert_eq!(learned, 1, "still learned after the reload");
    for _ in 0..10 {
        let answer = ask_one(&bed, &www);
        assert!(contains(&answer, &new) && !contains(&answer, &old), "the new zone's answer: {answer:02x?}");
    }
    std::thread::sleep(Duration::from_millis(200));
    let (_, tier0_after, received_after) = learned_counts(&socket);
    assert_eq!((tier0_after - tier0_before, received_after - received_before), (10, 0), "from tier 0");
    server.stop().unwrap_or_else(|e| panic!("{e}"));
}
