//! `scripts/grafana-dashboard.json` queries only metrics that exist: every
//! `responder_*` and `process_*` name in its expressions is looked up in a
//! live scrape, as a sample or as a family announced before its first
//! sample (the transfer families, on a server that has transferred
//! nothing). Without XDP on loopback (no root) for all but the XDP
//! families, then with XDP on a veth testbed (root) for every one.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use responder_tests::netns::in_netns;
use responder_tests::responder::{workspace_root, Server};
use responder_tests::testbed::{privileged, Testbed};
use responder_tests::xdp_server::XdpServer;

const METRICS_PORT: u16 = 9155;

/// Families that exist only with an XDP data plane.
fn needs_xdp(name: &str) -> bool {
    name.starts_with("responder_xdp_") || name.starts_with("responder_xsk_")
}

/// Every metric name the dashboard's queries (panels, annotations,
/// variables) reference.
fn dashboard_metrics() -> BTreeSet<String> {
    let path = workspace_root().join("scripts/grafana-dashboard.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dashboard: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    let mut queries = Vec::new();
    collect_queries(&dashboard, &mut queries);
    assert!(queries.len() > 20, "only {} queries found in the dashboard", queries.len());
    queries.iter().flat_map(|q| metric_names(q)).collect()
}

fn collect_queries(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "definition", Value::String(q)) => out.push(q.clone()),
                    _ => collect_queries(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_queries(v, out)),
        _ => {}
    }
}

/// The identifiers of a PromQL expression that name our metrics (label
/// names and functions never start with these prefixes).
fn metric_names(query: &str) -> Vec<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find(|c: char| is_ident(c)) {
        let tail = &rest[start..];
        let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
        let word = &tail[..end];
        let in_quotes = rest[..start].matches('"').count() % 2 == 1;
        if !in_quotes && (word.starts_with("responder_") || word.starts_with("process_")) {
            names.push(word.to_owned());
        }
        rest = &tail[end..];
    }
    names
}

fn scrape(addr: SocketAddr) -> BTreeSet<String> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let scrape =
        prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("the exposition parses");
    // The parser folds a histogram's `_bucket` lines into one sample named
    // after the family; queries name the buckets.
    let mut names: BTreeSet<String> = scrape
        .samples
        .into_iter()
        .map(|s| match s.value {
            prometheus_parse::Value::Histogram(_) => format!("{}_bucket", s.metric),
            _ => s.metric,
        })
        .collect();
    names.extend(announced(body));
    names
}

/// The sample names of every family announced by a `# TYPE` line.
fn announced(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .flat_map(|(name, kind)| match kind {
            "histogram" => ["_bucket", "_sum", "_count"].iter().map(|s| format!("{name}{s}")).collect(),
            _ => vec![name.to_owned()],
        })
        .collect()
}

fn assert_all_present(wanted: impl Iterator<Item = String>, present: &BTreeSet<String>) {
    let missing: Vec<String> = wanted.filter(|name| !present.contains(name)).collect();
    assert!(missing.is_empty(), "the dashboard queries metrics not in a live scrape: {missing:?}");
}

#[test]
fn an_announced_family_counts_as_present_and_a_histogram_by_its_series() {
    let body = "# HELP a_total A.\n# TYPE a_total counter\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 0\n";
    assert_eq!(announced(body), ["a_total", "h_bucket", "h_sum", "h_count"]);
}

#[test]
fn names_are_found_in_queries_but_not_in_label_values() {
    let names =
        metric_names(r#"sum by (rcode) (rate(responder_responses_total{x="responder_fake"}[1m])) / process_max_fds"#);
    assert_eq!(names, ["responder_responses_total", "process_max_fds"]);
}

#[test]
fn every_metric_the_dashboard_queries_is_in_a_scrape_without_xdp() {
    let wanted = dashboard_metrics();
    assert!(wanted.iter().any(|n| needs_xdp(n)), "the dashboard has no XDP panel: {wanted:?}");
    let zone = workspace_root().join("zones/example.com.zone").display().to_string();
    let server = Server::start(&["--zone", &zone, "--metrics", "127.0.0.1:0"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr: SocketAddr = loop {
        let log = server.daemon.log();
        if let Some(rest) = log.split("metrics http://").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no metrics address in the ready line:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_all_present(wanted.into_iter().filter(|n| !needs_xdp(n)), &scrape(addr));
}

#[test]
fn every_metric_the_dashboard_queries_is_in_a_scrape_with_xdp() {
    let test = "every_metric_the_dashboard_queries_is_in_a_scrape_with_xdp";
    if !privileged(test) {
        return;
    }
    let bed = Testbed::create("grafana", 1).expect("testbed");
    let zone = workspace_root().join("zones/example.com.zone");
    let metrics = format!("127.0.0.1:{METRICS_PORT}");
    let server = XdpServer::start(&bed, &zone, &["--metrics", &metrics]).unwrap_or_else(|e| panic!("{e}"));
    let present = in_netns(&bed.server_ns, || scrape(metrics.parse().unwrap())).unwrap();
    assert_all_present(dashboard_metrics().into_iter(), &present);
    server.stop().unwrap_or_else(|e| panic!("{e}"));
}
