//! The metrics listener of `responder serve` as a process on loopback: a
//! scrape is answered at once while 50 idle and 10 slow-dripping clients
//! are held; `/healthz` and `/readyz`; the exposition parses with an
//! independent Prometheus parser and its counters move by the queries sent.
//!
//! Loopback and a temporary directory only, no root needed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use responder_tests::responder::{workspace_root, Server};

fn zone() -> String {
    workspace_root().join("zones/example.com.zone").display().to_string()
}

fn serve() -> (Server, SocketAddr) {
    let server = Server::start(&["--zone", &zone(), "--metrics", "127.0.0.1:0"]).unwrap();
    let addr = metrics_addr(&server);
    (server, addr)
}

/// The metrics address from the server's ready line (it was given port 0).
fn metrics_addr(server: &Server) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.daemon.log();
        if let Some(rest) = log.split("metrics http://").nth(1) {
            return rest.split('/').next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no metrics address in the ready line:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The status line and the body of `GET path`.
fn get(addr: SocketAddr, path: &str, accept: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_else(|| panic!("not HTTP: {response}"));
    (head.to_owned(), body.to_owned())
}

#[test]
fn a_scrape_answers_within_a_second_while_50_idle_and_10_dripping_clients_are_held() {
    let (mut server, addr) = serve();
    let idle: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut drips: Vec<TcpStream> = (0..10).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for round in 0..3 {
        for drip in &mut drips {
            drip.write_all(b"G").unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let (head, body) = get(addr, "/metrics", "*/*");
        let took = started.elapsed();
        assert!(head.starts_with("HTTP/1.1 200 OK"), "round {round}: {head}");
        assert!(body.contains("responder_zone_serial{zone=\"example.com.\"} 2024060101"), "{body}");
        assert!(took < Duration::from_secs(1), "round {round}: the scrape took {took:?}");
    }
    assert!(server.daemon.exited().is_none(), "the server stopped:\n{}", server.daemon.log());
    drop(idle);
}

/// The samples of a scrape, parsed by the `prometheus-parse` crate.
fn parse(body: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("the exposition parses")
}

fn sum(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("{name} is not a counter or gauge"),
        })
        .sum()
}

#[test]
fn counters_move_by_the_queries_sent_and_health_endpoints_answer() {
    use responder_tests::dns::{ask, Question, Transport};
    let (server, addr) = serve();
    let (head, body) = get(addr, "/healthz", "*/*");
    assert!(head.starts_with("HTTP/1.1 200 OK") && body == "alive\n", "{head}\n{body}");
    let (head, body) = get(addr, "/readyz", "*/*");
    assert!(head.starts_with("HTTP/1.1 200 OK") && body.starts_with("ready: 1 zones"), "{head}\n{body}");

    let (_, before) = get(addr, "/metrics", "*/*");
    let before = parse(&before);
    for _ in 0..5 {
        ask(server.v4, Transport::Udp, &Question::new("nope.example.com.", 1)).unwrap();
    }
    for _ in 0..3 {
        ask(server.v6, Transport::Tcp, &Question::new("ns1.example.com.", 1)).unwrap();
    }
    // The kernel path's threads publish their counters every few hundred ms.
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let (_, text) = get(addr, "/metrics", "*/*");
        let after = parse(&text);
        let moved = sum(&after, "responder_queries_total", &[]) - sum(&before, "responder_queries_total", &[]);
        if moved >= 8.0 || Instant::now() > deadline {
            break after;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let delta = |name: &str, labels: &[(&str, &str)]| sum(&after, name, labels) - sum(&before, name, labels);
    let udp = [("path", "kernel"), ("protocol", "udp")];
    let tcp = [("path", "kernel"), ("protocol", "tcp")];
    assert_eq!(delta("responder_queries_total", &udp), 5.0);
    assert_eq!(delta("responder_queries_total", &tcp), 3.0);
    assert_eq!(delta("responder_responses_total", &[udp[0], udp[1], ("rcode", "nxdomain")]), 5.0);
    assert_eq!(delta("responder_responses_total", &[tcp[0], tcp[1], ("rcode", "noerror")]), 3.0);
    let family = |labels: [(&'static str, &'static str); 2], family| {
        delta("responder_responses_by_family_total", &[labels[0], labels[1], ("family", family)])
    };
    assert_eq!((family(udp, "ipv4"), family(udp, "ipv6")), (5.0, 0.0), "UDP went over IPv4");
    assert_eq!((family(tcp, "ipv4"), family(tcp, "ipv6")), (0.0, 3.0), "TCP went over IPv6");
    assert_eq!(sum(&after, "responder_zone_serial", &[("zone", "example.com.")]), 2024060101.0);
    assert_eq!(sum(&after, "responder_build_info", &[("xdp_mode", "off"), ("zero_copy", "false")]), 1.0);
    assert!(sum(&after, "process_open_fds", &[]) >= 3.0 && sum(&after, "process_resident_memory_bytes", &[]) > 0.0);
    assert!(after.docs.contains_key("responder_rrl_actions_total"), "HELP text for every family");

    // OpenMetrics when asked, as Prometheus asks.
    let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (head, body) = get(addr, "/metrics", accept);
    assert!(head.contains("Content-Type: application/openmetrics-text; version=1.0.0"), "{head}");
    assert!(body.ends_with("# EOF\n") && body.contains("# TYPE responder_queries counter\n"), "{body}");
    assert!(body.contains("\nresponder_queries_total{"), "{body}");
}

/// With XDP on a veth testbed (root): ready while the worker runs, not
/// ready (naming the queue) while it is stalled by the test-only hook,
/// ready again once it resumes.
#[test]
fn readyz_fails_while_an_xdp_worker_is_stalled() {
    use responder_tests::netns::in_netns;
    use responder_tests::testbed::{privileged, Testbed};
    use responder_tests::xdp_server::XdpServer;
    use std::os::unix::net::UnixStream;

    let test = "readyz_fails_while_an_xdp_worker_is_stalled";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("readyz", 1).expect("testbed");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ctl.sock");
    let metrics: SocketAddr = "127.0.0.1:9156".parse().unwrap();
    let zone = workspace_root().join("zones/example.com.zone");
    let extra = ["--control-socket", &socket.display().to_string(), "--metrics", &metrics.to_string()];
    let server = XdpServer::start(&bed, &zone, &extra).unwrap_or_else(|e| panic!("{e}"));
    let readyz = || in_netns(&bed.server_ns, || get(metrics, "/readyz", "*/*")).unwrap();

    let (head, body) = readyz();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}\n{body}");
    let mut control = UnixStream::connect(&socket).unwrap();
    control.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    writeln!(control, "test-stall-worker 0 4000").unwrap();
    let mut reply = String::new();
    control.read_to_string(&mut reply).unwrap();
    assert!(reply.contains("\"ok\":true"), "{reply}");

    std::thread::sleep(Duration::from_millis(2000));
    let (head, body) = readyz();
    assert!(head.starts_with("HTTP/1.1 503"), "ready during a 4 s stall: {head}\n{body}");
    assert!(body.contains("the XDP worker of queue 0 has been silent for"), "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (head, body) = readyz();
        if head.starts_with("HTTP/1.1 200 OK") {
            break;
        }
        assert!(Instant::now() < deadline, "not ready again after the stall: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    server.stop().unwrap_or_else(|e| panic!("{e}"));
}
