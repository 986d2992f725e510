//! A [`Snapshot`] as JSON (`responder ctl stats`) and as Prometheus text
//! exposition format 0.0.4 (`/metrics`).

use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::{QueueSnapshot, Snapshot};
use crate::stats::{DnsCounters, TcpCounters};
use crate::xdp::socket::KernelStats;

pub fn json(s: &Snapshot) -> Value {
    let expiry = |name: &String| s.rrsig_expiry.iter().find(|(n, _)| n == name).map(|&(_, t)| t);
    let zones: Vec<Value> = s
        .zones
        .iter()
        .map(|(name, serial)| json!({"name": name, "serial": serial, "rrsig_expires": expiry(name)}))
        .collect();
    let xdp = s.xdp.as_ref().map(|x| {
        let queues: Vec<Value> = x.queues.iter().map(queue_json).collect();
        let steering: Map<String, Value> =
            x.steering.iter().flat_map(|st| &st.outcomes).map(|(name, n)| ((*name).to_owned(), json!(n))).collect();
        json!({"iface": x.iface, "attach": x.attach, "queues": queues, "program": steering})
    });
    json!({
        "uptime_seconds": s.uptime_secs,
        "zones": zones,
        "reloads": {"ok": s.reloads_ok, "failed": s.reloads_failed, "last_error": s.last_reload_error},
        "total": dns_json(&s.total()),
        "xdp": xdp,
        "udp": dns_json(&s.udp),
        "tcp": dns_json(&s.tcp),
        "tcp_connections": tcp_connections_json(&s.tcp_connections),
    })
}

fn tcp_connections_json(c: &TcpCounters) -> Value {
    let mut events: Map<String, Value> =
        TcpCounters::EVENTS.iter().zip(c.events()).map(|(name, n)| ((*name).to_owned(), json!(n))).collect();
    events.insert("open".into(), json!(c.open));
    Value::Object(events)
}

fn queue_json(q: &QueueSnapshot) -> Value {
    let c = &q.counters;
    let kernel = q.kernel.map(|k| {
        json!({
            "rx_dropped": k.rx_dropped,
            "rx_invalid_descs": k.rx_invalid_descs,
            "tx_invalid_descs": k.tx_invalid_descs,
            "rx_ring_full": k.rx_ring_full,
            "rx_fill_ring_empty_descs": k.rx_fill_ring_empty_descs,
            "tx_ring_empty_descs": k.tx_ring_empty_descs,
        })
    });
    json!({
        "queue": q.queue,
        "cpu": q.cpu,
        "mode": q.mode,
        "received": c.rx,
        "sent": c.tx,
        "dropped": c.dropped,
        "passed": c.passed,
        "invalid_descriptors": c.invalid,
        "fill_ring_empty": c.fill_ring_empty,
        "tx_ring_full": c.tx_ring_full,
        "tx_kicks": c.tx_kicks,
        "dns": dns_json(&c.dns),
        "kernel": kernel,
    })
}

fn dns_json(c: &DnsCounters) -> Value {
    let rcodes: Map<String, Value> =
        DnsCounters::RCODES.iter().zip(c.by_rcode()).map(|(name, n)| ((*name).to_owned(), json!(n))).collect();
    json!({
        "queries": c.queries,
        "answered": c.answered(),
        "unanswered": c.unanswered,
        "rcode": rcodes,
        "truncated": c.truncated,
        "rrl_slipped": c.slipped,
        "rrl_dropped": c.rate_limited,
    })
}

/// Prometheus text format. Every family is announced once with HELP and
/// TYPE, then its samples, as the format requires.
pub fn prometheus(s: &Snapshot) -> String {
    let mut out = Prom(String::with_capacity(8192));
    out.family("responder_uptime_seconds", "gauge", "Seconds since the server started.");
    out.sample("responder_uptime_seconds", &[], s.uptime_secs);
    out.family("responder_zone_serial", "gauge", "SOA serial of each zone being served.");
    for (name, serial) in &s.zones {
        if let Some(serial) = serial {
            out.sample("responder_zone_serial", &[("zone", name)], *serial as f64);
        }
    }
    out.family(
        "responder_zone_rrsig_expiry_timestamp_seconds",
        "gauge",
        "Earliest RRSIG expiration served in each signed zone (Unix time).",
    );
    for (name, t) in &s.rrsig_expiry {
        out.sample("responder_zone_rrsig_expiry_timestamp_seconds", &[("zone", name)], *t as f64);
    }
    out.family("responder_reloads_total", "counter", "Zone reloads, by result.");
    out.sample("responder_reloads_total", &[("result", "ok")], s.reloads_ok as f64);
    out.sample("responder_reloads_total", &[("result", "error")], s.reloads_failed as f64);

    // DNS counters: one series per path (xdp queue, udp, tcp).
    let mut paths: Vec<(String, String, DnsCounters)> =
        vec![("udp".into(), "all".into(), s.udp), ("tcp".into(), "all".into(), s.tcp)];
    for q in s.xdp.iter().flat_map(|x| &x.queues) {
        paths.push(("xdp".into(), q.queue.to_string(), q.counters.dns));
    }
    let dns_families: [Family<DnsCounters>; 5] = [
        ("responder_queries_total", "DNS queries handed to the engine.", |c| c.queries),
        ("responder_unanswered_total", "Queries not answered: responses or unreadable.", |c| c.unanswered),
        ("responder_truncated_total", "Responses sent with TC because they did not fit.", |c| c.truncated),
        ("responder_rrl_slipped_total", "Rate-limited responses sent truncated.", |c| c.slipped),
        ("responder_rrl_dropped_total", "Rate-limited responses not sent.", |c| c.rate_limited),
    ];
    for (name, help, get) in dns_families {
        out.family(name, "counter", help);
        for (path, queue, c) in &paths {
            out.sample(name, &[("path", path), ("queue", queue)], get(c) as f64);
        }
    }
    out.family("responder_responses_total", "counter", "Responses by rcode (rate-limited ones included).");
    for (path, queue, c) in &paths {
        for (rcode, n) in DnsCounters::RCODES.iter().zip(c.by_rcode()) {
            out.sample("responder_responses_total", &[("path", path), ("queue", queue), ("rcode", rcode)], n as f64);
        }
    }

    out.family("responder_tcp_connections_total", "counter", "Kernel-socket TCP connections, by what was done.");
    for (event, n) in TcpCounters::EVENTS.iter().zip(s.tcp_connections.events()) {
        out.sample("responder_tcp_connections_total", &[("event", event)], n as f64);
    }
    out.family("responder_tcp_connections_open", "gauge", "Kernel-socket TCP connections open now.");
    out.sample("responder_tcp_connections_open", &[], s.tcp_connections.open as f64);

    if let Some(x) = &s.xdp {
        let ring: [Family<QueueSnapshot>; 8] = [
            ("responder_xdp_received_total", "Frames read from the RX ring.", |q| q.counters.rx),
            ("responder_xdp_sent_total", "Answers put on the TX ring.", |q| q.counters.tx),
            ("responder_xdp_dropped_total", "Frames not answered (unanswerable or rate limited).", |q| {
                q.counters.dropped
            }),
            ("responder_xdp_passed_total", "Frames that were not DNS to us.", |q| q.counters.passed),
            ("responder_xdp_invalid_descriptors_total", "Descriptors the kernel should never give.", |q| {
                q.counters.invalid
            }),
            ("responder_xdp_fill_ring_empty_total", "Times the fill ring was found empty.", |q| {
                q.counters.fill_ring_empty
            }),
            ("responder_xdp_tx_ring_full_total", "Times RX waited for TX ring room.", |q| q.counters.tx_ring_full),
            ("responder_xdp_tx_kicks_total", "sendto wake-ups of the kernel.", |q| q.counters.tx_kicks),
        ];
        for (name, help, get) in ring {
            out.family(name, "counter", help);
            for q in &x.queues {
                out.sample(name, &[("queue", &q.queue.to_string())], get(q) as f64);
            }
        }
        let kernel: [(&str, Getter<KernelStats>); 6] = [
            ("rx_dropped", |k| k.rx_dropped),
            ("rx_invalid_descs", |k| k.rx_invalid_descs),
            ("tx_invalid_descs", |k| k.tx_invalid_descs),
            ("rx_ring_full", |k| k.rx_ring_full),
            ("rx_fill_ring_empty_descs", |k| k.rx_fill_ring_empty_descs),
            ("tx_ring_empty_descs", |k| k.tx_ring_empty_descs),
        ];
        out.family("responder_xsk_kernel_total", "counter", "The kernel's AF_XDP socket statistics (XDP_STATISTICS).");
        for q in &x.queues {
            let Some(k) = &q.kernel else { continue };
            for (stat, get) in kernel {
                let queue = q.queue.to_string();
                out.sample("responder_xsk_kernel_total", &[("queue", &queue), ("stat", stat)], get(k) as f64);
            }
        }
        if let Some(st) = &x.steering {
            out.family("responder_xdp_program_frames_total", "counter", "Frames seen by the XDP program, by outcome.");
            for (outcome, n) in &st.outcomes {
                out.sample("responder_xdp_program_frames_total", &[("outcome", outcome)], *n as f64);
            }
        }
    }
    out.0
}

/// A metric family's name, help text, and how to read it from `T`.
type Family<T> = (&'static str, &'static str, Getter<T>);
type Getter<T> = fn(&T) -> u64;

struct Prom(String);

impl Prom {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape(val));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::super::{SteeringSnapshot, XdpSnapshot};
    use super::*;
    use crate::xdp::WorkerCounters;

    fn snapshot() -> Snapshot {
        let dns = DnsCounters { queries: 10, noerror: 6, nxdomain: 3, unanswered: 1, ..DnsCounters::default() };
        Snapshot {
            uptime_secs: 1.5,
            zones: vec![("example.com.".into(), Some(7)), ("we\"ird.".into(), None)],
            rrsig_expiry: vec![("example.com.".into(), 1_900_000_000)],
            reloads_ok: 2,
            reloads_failed: 1,
            last_reload_error: Some("x.zone:3: bad".into()),
            xdp: Some(XdpSnapshot {
                iface: "veth0".into(),
                attach: "native".into(),
                queues: vec![QueueSnapshot {
                    queue: 1,
                    cpu: Some(0),
                    mode: "copy".into(),
                    counters: WorkerCounters { rx: 12, tx: 9, dns, ..WorkerCounters::default() },
                    kernel: None,
                }],
                steering: Some(SteeringSnapshot { outcomes: vec![("redirected", 12), ("passed_port", 4)] }),
            }),
            udp: DnsCounters { queries: 5, refused: 5, ..DnsCounters::default() },
            tcp: DnsCounters::default(),
            tcp_connections: TcpCounters {
                accepted: 40,
                refused_client_limit: 7,
                evicted: 2,
                open: 31,
                ..TcpCounters::default()
            },
        }
    }

    #[test]
    fn json_carries_totals_queues_and_zones() {
        let v = json(&snapshot());
        assert_eq!(v["total"]["queries"], 15);
        assert_eq!(v["total"]["rcode"]["refused"], 5);
        assert_eq!(v["total"]["answered"], 14);
        assert_eq!(v["xdp"]["queues"][0]["received"], 12);
        assert_eq!(v["xdp"]["program"]["passed_port"], 4);
        assert_eq!(v["zones"][0]["serial"], 7);
        assert_eq!(
            (v["zones"][0]["rrsig_expires"].as_u64(), v["zones"][1]["rrsig_expires"].as_u64()),
            (Some(1_900_000_000), None)
        );
        assert_eq!(v["reloads"]["last_error"], "x.zone:3: bad");
        assert_eq!(v["tcp_connections"]["refused_client_limit"], 7);
        assert_eq!(v["tcp_connections"]["open"], 31);
    }

    #[test]
    fn prometheus_text_announces_each_family_once_and_escapes_labels() {
        let text = prometheus(&snapshot());
        assert!(text.contains("responder_responses_total{path=\"xdp\",queue=\"1\",rcode=\"nxdomain\"} 3\n"));
        assert!(text.contains("responder_responses_total{path=\"udp\",queue=\"all\",rcode=\"refused\"} 5\n"));
        assert!(text.contains("responder_zone_serial{zone=\"example.com.\"} 7\n"));
        assert!(text.contains("responder_zone_rrsig_expiry_timestamp_seconds{zone=\"example.com.\"} 1900000000\n"));
        assert!(!text.contains("we\\\"ird"), "a zone without a serial has no serial sample");
        assert!(text.contains("responder_xdp_program_frames_total{outcome=\"redirected\"} 12\n"));
        assert!(text.contains("responder_tcp_connections_total{event=\"evicted\"} 2\n"));
        assert!(text.contains("responder_tcp_connections_open 31\n"));
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            assert_eq!(text.matches(line).count(), 1, "{line} repeated");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
