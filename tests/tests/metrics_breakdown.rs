//! The breakdown families of `/metrics` (responses by qtype, by zone and
//! rcode, DO set, TC sent, query and response size histograms) move by
//! exactly what a known set of queries should move them, on each path:
//! the kernel sockets over UDP and TCP on loopback, and the XDP workers on
//! a veth testbed (root). The exposition is read with the `prometheus-parse`
//! crate, histograms included.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use prometheus_parse::{Sample, Scrape, Value};
use responder_tests::dns::{self, rtype::*, Edns, Question, Transport};
use responder_tests::responder::{workspace_root, Server};

/// The size bounds of the histograms (`le`), as the server buckets them.
const BOUNDS: [f64; 9] = [16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0];
const TIMEOUT: Duration = Duration::from_secs(3);

fn zone_files() -> [PathBuf; 2] {
    let dir = workspace_root().join("zones/tests/compare");
    [dir.join("example.com.zone"), dir.join("child.example.com.zone")]
}

/// One query of the set and the cells it must move.
struct Case {
    question: Question,
    qtype: &'static str,
    zone: &'static str,
    rcode: &'static str,
}

fn case(name: &str, qtype: u16, label: &'static str, zone: &'static str, rcode: &'static str) -> Case {
    Case { question: Question::new(name, qtype), qtype: label, zone, rcode }
}

fn cases() -> Vec<Case> {
    let with_do = Edns { payload: 1232, dnssec_ok: true, version: 0 };
    let mut aaaa = case("www.example.com.", AAAA, "AAAA", "example.com.", "noerror");
    aaaa.question = aaaa.question.edns(with_do);
    let mut nx = case("nonexistent.example.com.", MX, "MX", "example.com.", "nxdomain");
    nx.question = nx.question.edns(Edns::with_payload(1232));
    vec![
        case("www.example.com.", A, "A", "example.com.", "noerror"),
        aaaa,
        nx,
        case("www.child.example.com.", A, "A", "child.example.com.", "noerror"),
        // NAPTR is not one of the types counted apart.
        case("www.child.example.com.", 35, "other", "child.example.com.", "noerror"),
        case("www.example.org.", A, "A", "(none)", "refused"),
        // Five 100-byte strings: TC over UDP without EDNS, whole over TCP.
        case("big.example.com.", TXT, "TXT", "example.com.", "noerror"),
    ]
}

/// What the cases sent and got back over one transport.
#[derive(Default)]
struct Sent {
    queries: Vec<usize>,
    answers: Vec<usize>,
    tc: u64,
}

fn send(server: SocketAddr, transport: Transport) -> Sent {
    let mut sent = Sent::default();
    for c in cases() {
        let wire = c.question.to_wire().unwrap();
        let answer = match transport {
            Transport::Udp => dns::udp_exchange(server, &wire, TIMEOUT),
            Transport::Tcp => dns::tcp_exchange(server, &wire, TIMEOUT),
        }
        .unwrap_or_else(|e| panic!("{:?} over {transport:?}: {e}", c.question));
        sent.tc += u64::from(answer[2] & 0x02 != 0);
        sent.queries.push(wire.len());
        sent.answers.push(answer.len());
    }
    sent
}

fn get_metrics(addr: SocketAddr) -> Scrape {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("the exposition parses")
}

fn matching<'a>(scrape: &'a Scrape, name: &'a str, labels: &'a [(&str, &str)]) -> impl Iterator<Item = &'a Sample> {
    scrape.samples.iter().filter(move |s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    matching(scrape, name, labels)
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => panic!("{name} is not a counter"),
        })
        .sum()
}

/// A histogram's cumulative bucket counts by bound (+Inf as infinity).
fn buckets(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
    let found: Vec<&Sample> = matching(scrape, name, labels).collect();
    assert_eq!(found.len(), 1, "one {name} histogram for {labels:?}");
    let Value::Histogram(counts) = &found[0].value else { panic!("{name} is not a histogram") };
    let mut counts: Vec<(f64, f64)> = counts.iter().map(|c| (c.less_than, c.count)).collect();
    counts.sort_by(|a, b| a.0.total_cmp(&b.0));
    counts
}

/// The cumulative buckets `sizes` should add.
fn expected_buckets(sizes: &[usize]) -> Vec<(f64, f64)> {
    let mut bounds = BOUNDS.to_vec();
    bounds.push(f64::INFINITY);
    bounds.iter().map(|&b| (b, sizes.iter().filter(|&&n| n as f64 <= b).count() as f64)).collect()
}

/// Every breakdown family moved by exactly what `sent` over `path`/`protocol` should move it.
fn check(before: &Scrape, after: &Scrape, path: &str, protocol: &str, sent: &Sent) {
    let at = [("path", path), ("protocol", protocol)];
    let delta = |name: &str, extra: &[(&str, &str)]| {
        let labels: Vec<(&str, &str)> = at.iter().chain(extra).copied().collect();
        value(after, name, &labels) - value(before, name, &labels)
    };
    let mut qtypes: BTreeMap<&str, f64> = BTreeMap::new();
    let mut zones: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for c in cases() {
        *qtypes.entry(c.qtype).or_default() += 1.0;
        *zones.entry((c.zone, c.rcode)).or_default() += 1.0;
    }
    for (qtype, n) in &qtypes {
        assert_eq!(
            delta("responder_responses_by_qtype_total", &[("qtype", qtype)]),
            *n,
            "{path}/{protocol} qtype {qtype}"
        );
    }
    assert_eq!(
        delta("responder_responses_by_qtype_total", &[]),
        cases().len() as f64,
        "{path}/{protocol}: no other qtype"
    );
    for ((zone, rcode), n) in &zones {
        let labels = [("zone", *zone), ("rcode", *rcode)];
        assert_eq!(delta("responder_zone_responses_total", &labels), *n, "{path}/{protocol} {zone} {rcode}");
    }
    assert_eq!(delta("responder_zone_responses_total", &[]), cases().len() as f64, "{path}/{protocol}: no other cell");
    assert_eq!(delta("responder_responses_dnssec_ok_total", &[]), 1.0, "{path}/{protocol} DO");
    assert_eq!(delta("responder_responses_tc_total", &[]), sent.tc as f64, "{path}/{protocol} TC");
    for (name, sizes) in
        [("responder_query_size_bytes", &sent.queries), ("responder_response_size_bytes", &sent.answers)]
    {
        let sum = sizes.iter().sum::<usize>() as f64;
        assert_eq!(delta(&format!("{name}_sum"), &[]), sum, "{path}/{protocol} {name} sum");
        assert_eq!(delta(&format!("{name}_count"), &[]), sizes.len() as f64, "{path}/{protocol} {name} count");
        let moved: Vec<(f64, f64)> =
            buckets(after, name, &at).iter().zip(buckets(before, name, &at)).map(|(a, b)| (a.0, a.1 - b.1)).collect();
        assert_eq!(moved, expected_buckets(sizes), "{path}/{protocol} {name} buckets");
    }
}

/// Scrapes until the query size histogram of `path`/`protocol` moved by
/// `count` (the counting threads write as they answer: no wait is expected).
fn scrape_after(scrape: impl Fn() -> Scrape, before: &Scrape, at: [(&str, &str); 2], count: usize) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let after = scrape();
        let moved = value(&after, "responder_query_size_bytes_count", &at)
            - value(before, "responder_query_size_bytes_count", &at);
        if moved >= count as f64 || Instant::now() > deadline {
            return after;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kernel_path_udp_and_tcp_move_each_family_by_the_queries_sent() {
    let [example, child] = zone_files().map(|p| p.display().to_string());
    let server = Server::start(&["--zone", &example, "--zone", &child, "--metrics", "127.0.0.1:0"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics: SocketAddr = loop {
        let log = server.daemon.log();
        if let Some(rest) = log.split("metrics http://").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no metrics address in the ready line:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let before = get_metrics(metrics);
    let udp = send(server.v4, Transport::Udp);
    let tcp = send(server.v6, Transport::Tcp);
    assert_eq!((udp.tc, tcp.tc), (1, 0), "big.example.com. TXT is truncated over UDP only");
    let after = scrape_after(|| get_metrics(metrics), &before, [("path", "kernel"), ("protocol", "tcp")], 7);
    check(&before, &after, "kernel", "udp", &udp);
    check(&before, &after, "kernel", "tcp", &tcp);
    assert!(matching(&after, "responder_responses_by_qtype_total", &[("path", "xdp")]).next().is_none());
}

#[test]
fn xdp_path_moves_each_family_by_the_queries_sent() {
    use responder_tests::netns::in_netns;
    use responder_tests::testbed::{privileged, Testbed};
    use responder_tests::xdp_server::{server_v4, XdpServer};

    let test = "xdp_path_moves_each_family_by_the_queries_sent";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("mbreak", 1).expect("testbed");
    let [example, child] = zone_files();
    let metrics: SocketAddr = "127.0.0.1:9157".parse().unwrap();
    let child = child.display().to_string();
    let extra = ["--zone", &child, "--metrics", &metrics.to_string()];
    let server = XdpServer::start(&bed, &example, &extra).unwrap_or_else(|e| panic!("{e}"));
    let scrape = || in_netns(&bed.server_ns, || get_metrics(metrics)).unwrap();
    let before = scrape();
    // UDP goes through XDP; TCP to the same address is the kernel sockets'.
    let (udp, tcp) =
        in_netns(&bed.client_ns, || (send(server_v4(), Transport::Udp), send(server_v4(), Transport::Tcp))).unwrap();
    let after = scrape_after(scrape, &before, [("path", "xdp"), ("protocol", "udp")], 7);
    check(&before, &after, "xdp", "udp", &udp);
    check(&before, &after, "kernel", "tcp", &tcp);
    let kernel_udp = [("path", "kernel"), ("protocol", "udp")];
    let moved = value(&after, "responder_query_size_bytes_count", &kernel_udp)
        - value(&before, "responder_query_size_bytes_count", &kernel_udp);
    assert_eq!(moved, 0.0, "no UDP query reached the kernel sockets");
    server.stop().unwrap_or_else(|e| panic!("{e}"));
}
