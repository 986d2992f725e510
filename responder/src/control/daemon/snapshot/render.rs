//! A [`Snapshot`] as JSON (`responder ctl stats`) and as Prometheus text
//! exposition format 0.0.4 (`/metrics`).

mod breakdown;
mod transfers;

use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::{QueueSnapshot, Snapshot};
use crate::capture::CaptureCounters;
use crate::stats::{DnsCounters, TcpCounters};
use crate::xdp::socket::KernelStats;

pub fn json(s: &Snapshot) -> Value {
    // A map, not a search per zone: 100,000 signed zones would be 10^10 compares.
    let expiries: std::collections::HashMap<&str, u32> = s.rrsig_expiry.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let expiry = |name: &String| expiries.get(name.as_str()).copied();
    let zones: Vec<Value> = s
        .zones
        .iter()
        .map(|(name, serial)| json!({"name": name, "serial": serial, "rrsig_expires": expiry(name)}))
        .collect();
    let xdp = s.xdp.as_ref().map(|x| {
        let queues: Vec<Value> = x.queues.iter().map(queue_json).collect();
        let steering: Map<String, Value> =
            x.steering.iter().flat_map(|st| &st.outcomes).map(|(name, n)| ((*name).to_owned(), json!(n))).collect();
        let tier0 = x.tier0_learned.map(|n| json!({"learned": n}));
        json!({"iface": x.iface, "attach": x.attach, "queues": queues, "program": steering, "tier0": tier0})
    });
    json!({
        "uptime_seconds": s.uptime_secs,
        "zones": zones,
        "reloads": {
            "ok": s.reloads_ok,
            "failed": s.reloads_failed,
            "last_error": s.last_reload_error,
            "overlaid": s.reloads_overlaid,
            "last_path": s.last_reload_path,
            "last_fallback": s.last_reload_fallback,
            "last_overlay": s.last_overlay.map(|(by, zones, records, compiled)| {
                json!({"by": by, "zones": zones, "records": records, "names_compiled": compiled})
            }),
        },
        "memory": memory_json(s),
        "total": dns_json(&s.total()),
        "xdp": xdp,
        "udp": dns_json(&s.udp),
        "tcp": dns_json(&s.tcp),
        "xdp_kernel": s.tier0.as_ref().map(dns_json),
        "tcp_connections": tcp_connections_json(&s.tcp_connections),
        "capture": s.capture.map(|c| {
            let mut outcomes = CaptureCounters::OUTCOMES.iter().zip(c.outcomes()).map(|(name, n)| ((*name).to_owned(), json!(n))).collect::<Map<_, _>>();
            if let Some(lost) = s.tier0_capture_lost {
                outcomes.insert("xdp_kernel_ring_lost".into(), json!(lost));
            }
            outcomes
        }),
        "breakdown": breakdown::json(s),
        "transfers": transfers::json(s),
    })
}

/// The table's bytes and the process's resident memory, and each per zone
/// served (a hoster's figure: what one more zone costs).
fn memory_json(s: &Snapshot) -> Value {
    let resident = s.process.as_ref().map(|p| p.resident_bytes);
    let zones = s.zones.len() as u64;
    let per_zone = |bytes: u64| (zones > 0).then(|| bytes / zones);
    json!({
        "table_bytes": s.table_bytes,
        "resident_bytes": resident,
        "table_bytes_per_zone": per_zone(s.table_bytes),
        "resident_bytes_per_zone": resident.and_then(per_zone),
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
        "ipv6": c.ipv6,
    })
}

/// The two exposition formats of `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4, what every scraper reads.
    Prometheus,
    /// OpenMetrics 1.0 text, when the scraper's `Accept` header asks for it:
    /// counter families are named without `_total`, and the text ends in `# EOF`.
    OpenMetrics,
}

impl Format {
    pub fn from_accept(accept: &str) -> Format {
        if accept.contains("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Prometheus text format.
#[cfg(test)]
pub fn prometheus(s: &Snapshot) -> String {
    exposition(s, Format::Prometheus)
}

/// Every family is announced once with HELP and TYPE, then its samples, as
/// both formats require. Each section below is one concern; adding a family
/// is one `out.family` line and its samples, in the section it belongs to
/// (or a new section function called here). docs/DEPLOY.md lists them all.
pub fn exposition(s: &Snapshot, format: Format) -> String {
    let mut out = Prom { text: String::with_capacity(16 * 1024), format };
    build_and_process(&mut out, s);
    zones_and_reloads(&mut out, s);
    transfers::exposition(&mut out, s);
    dns(&mut out, s);
    breakdown::exposition(&mut out, s);
    tcp_connections(&mut out, s);
    capture(&mut out, s);
    if let Some(x) = &s.xdp {
        xdp(&mut out, x);
    }
    out.finish()
}

fn build_and_process(out: &mut Prom, s: &Snapshot) {
    let xdp = s.xdp.as_ref();
    let xdp_mode = xdp.map(|x| x.attach.as_str()).filter(|m| !m.is_empty()).unwrap_or("off");
    let zero_copy = xdp.is_some_and(|x| !x.queues.is_empty() && x.queues.iter().all(|q| q.mode == "zero-copy"));
    out.family("responder_build_info", "info", "Always 1: the version and commit built, how XDP is attached (native, generic or off), whether every AF_XDP socket is zero-copy.");
    out.sample(
        "responder_build_info",
        &[
            ("version", crate::control::build_info::VERSION),
            ("commit", crate::control::build_info::COMMIT),
            ("xdp_mode", xdp_mode),
            ("zero_copy", if zero_copy { "true" } else { "false" }),
        ],
        1.0,
    );
    out.family("responder_uptime_seconds", "gauge", "Seconds since the server started.");
    out.sample("responder_uptime_seconds", &[], s.uptime_secs);
    let Some(p) = &s.process else { return };
    let gauges: [(&str, &str, Option<f64>); 5] = [
        ("process_resident_memory_bytes", "Resident memory size in bytes.", Some(p.resident_bytes as f64)),
        ("process_virtual_memory_bytes", "Virtual memory size in bytes.", Some(p.virtual_bytes as f64)),
        ("process_open_fds", "Open file descriptors.", Some(p.open_fds as f64)),
        ("process_max_fds", "Soft limit on open file descriptors.", p.max_fds.map(|n| n as f64)),
        (
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds.",
            Some(p.start_time_seconds),
        ),
    ];
    out.family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
    out.sample("process_cpu_seconds_total", &[], p.cpu_seconds);
    for (name, help, value) in gauges {
        if let Some(value) = value {
            out.family(name, "gauge", help);
            out.sample(name, &[], value);
        }
    }
}

fn zones_and_reloads(out: &mut Prom, s: &Snapshot) {
    out.family("responder_zone_serial", "gauge", "SOA serial of each zone being served.");
    for (name, serial) in &s.zones {
        if let Some(serial) = serial {
            out.sample("responder_zone_serial", &[("zone", name)], *serial as f64);
        }
    }
    out.family("responder_zones", "gauge", "Zones being served.");
    out.sample("responder_zones", &[], s.zones.len() as f64);
    out.family("responder_table_bytes", "gauge", "Size of the compiled table serving now, all zones together.");
    out.sample("responder_table_bytes", &[], s.table_bytes as f64);
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
    out.family(
        "responder_last_reload_timestamp_seconds",
        "gauge",
        "When the zones served were loaded (result ok: at start or by the last good reload) and when a reload last failed (result error), since the Unix epoch.",
    );
    out.sample("responder_last_reload_timestamp_seconds", &[("result", "ok")], s.loaded_at);
    if let Some(failed) = s.reload_failed_at {
        out.sample("responder_last_reload_timestamp_seconds", &[("result", "error")], failed);
    }
    out.family(
        "responder_zone_expired",
        "gauge",
        "1 when a secondary zone is past its SOA EXPIRE and answers SERVFAIL.",
    );
    for z in &s.secondaries {
        out.sample("responder_zone_expired", &[("zone", &z.zone)], f64::from(u8::from(z.expired)));
    }
    out.family(
        "responder_zone_expiry_timestamp_seconds",
        "gauge",
        "When a secondary zone's copy expires unless refreshed, since the Unix epoch.",
    );
    for z in &s.secondaries {
        if let Some(at) = z.expires {
            out.sample("responder_zone_expiry_timestamp_seconds", &[("zone", &z.zone)], at);
        }
    }
}

/// Where a set of DNS counters was counted: `path` is xdp, kernel (the
/// kernel-socket server) or xdp-kernel (the XDP program's own tier-0
/// answers), `protocol` udp or tcp, `queue` the XDP queue or "all" for
/// threads or CPUs summed.
struct DnsSeries {
    path: &'static str,
    protocol: &'static str,
    queue: String,
    counters: DnsCounters,
}

fn dns(out: &mut Prom, s: &Snapshot) {
    let mut series = vec![
        DnsSeries { path: "kernel", protocol: "udp", queue: "all".into(), counters: s.udp },
        DnsSeries { path: "kernel", protocol: "tcp", queue: "all".into(), counters: s.tcp },
    ];
    for q in s.xdp.iter().flat_map(|x| &x.queues) {
        series.push(DnsSeries { path: "xdp", protocol: "udp", queue: q.queue.to_string(), counters: q.counters.dns });
    }
    if let Some(tier0) = s.tier0 {
        series.push(DnsSeries { path: "xdp-kernel", protocol: "udp", queue: "all".into(), counters: tier0 });
    }
    let labels = |d: &DnsSeries| [("path", d.path), ("protocol", d.protocol)];
    let families: [Family<DnsCounters>; 3] = [
        ("responder_queries_total", "DNS queries handed to the engine.", |c| c.queries),
        ("responder_unanswered_total", "Queries not answered: responses or unreadable.", |c| c.unanswered),
        ("responder_truncated_total", "Responses sent with TC because they did not fit.", |c| c.truncated),
    ];
    for (name, help, get) in families {
        out.family(name, "counter", help);
        for d in &series {
            let [path, protocol] = labels(d);
            out.sample(name, &[path, protocol, ("queue", &d.queue)], get(&d.counters) as f64);
        }
    }
    out.family("responder_responses_total", "counter", "Responses by rcode (rate-limited ones included).");
    for d in &series {
        let [path, protocol] = labels(d);
        for (rcode, n) in DnsCounters::RCODES.iter().zip(d.counters.by_rcode()) {
            out.sample("responder_responses_total", &[path, protocol, ("queue", &d.queue), ("rcode", rcode)], n as f64);
        }
    }
    out.family(
        "responder_responses_by_family_total",
        "counter",
        "Responses by the client's IP family (ipv4 includes the rare query whose transport gives no address).",
    );
    for d in &series {
        let [path, protocol] = labels(d);
        let ipv6 = d.counters.ipv6;
        for (family, n) in [("ipv4", d.counters.responses().saturating_sub(ipv6)), ("ipv6", ipv6)] {
            let labels = [path, protocol, ("queue", &d.queue), ("family", family)];
            out.sample("responder_responses_by_family_total", &labels, n as f64);
        }
    }
    out.family(
        "responder_rrl_actions_total",
        "counter",
        "Responses rate limiting acted on: slip (sent truncated) or drop (not sent).",
    );
    for d in &series {
        let [path, protocol] = labels(d);
        for (action, n) in [("slip", d.counters.slipped), ("drop", d.counters.rate_limited)] {
            out.sample(
                "responder_rrl_actions_total",
                &[path, protocol, ("queue", &d.queue), ("action", action)],
                n as f64,
            );
        }
    }
}

fn tcp_connections(out: &mut Prom, s: &Snapshot) {
    out.family("responder_tcp_connections_total", "counter", "Kernel-socket TCP connections, by what was done.");
    for (event, n) in TcpCounters::EVENTS.iter().zip(s.tcp_connections.events()) {
        out.sample("responder_tcp_connections_total", &[("event", event)], n as f64);
    }
    out.family("responder_tcp_connections_open", "gauge", "Kernel-socket TCP connections open now.");
    out.sample("responder_tcp_connections_open", &[], s.tcp_connections.open as f64);
}

fn capture(out: &mut Prom, s: &Snapshot) {
    if let Some(c) = &s.capture {
        out.family("responder_capture_total", "counter", "Queries seen by the capture taps, by what became of them.");
        for (outcome, n) in CaptureCounters::OUTCOMES.iter().zip(c.outcomes()) {
            out.sample("responder_capture_total", &[("outcome", outcome)], n as f64);
        }
    }
    if let Some(lost) = s.tier0_capture_lost {
        out.family(
            "responder_capture_ring_lost_total",
            "counter",
            "Sampled tier-0 answers the XDP program could not put in its capture ring buffer (full).",
        );
        out.sample("responder_capture_ring_lost_total", &[("path", "xdp-kernel")], lost as f64);
    }
}

/// The kernel's AF_XDP socket statistics (XDP_STATISTICS), one family each:
/// they count unlike things (frames, descriptors, times a ring was found
/// full or empty) that must not be summed together.
pub const XSK_FAMILIES: [Family<KernelStats>; 6] = [
    (
        "responder_xsk_rx_dropped_total",
        "Frames the kernel dropped for this socket (no room in the UMEM, or filtered).",
        |k| k.rx_dropped,
    ),
    ("responder_xsk_rx_invalid_descs_total", "Invalid descriptors on the RX side.", |k| k.rx_invalid_descs),
    ("responder_xsk_tx_invalid_descs_total", "Invalid descriptors on the TX ring.", |k| k.tx_invalid_descs),
    ("responder_xsk_rx_ring_full_total", "Frames dropped because the RX ring was full.", |k| k.rx_ring_full),
    ("responder_xsk_rx_fill_ring_empty_descs_total", "Times the kernel found the fill ring empty.", |k| {
        k.rx_fill_ring_empty_descs
    }),
    ("responder_xsk_tx_ring_empty_descs_total", "Times the kernel found the TX ring empty.", |k| k.tx_ring_empty_descs),
];

fn xdp(out: &mut Prom, x: &super::XdpSnapshot) {
    let ring: [Family<QueueSnapshot>; 8] = [
        ("responder_xdp_received_total", "Frames read from the RX ring.", |q| q.counters.rx),
        ("responder_xdp_sent_total", "Answers put on the TX ring.", |q| q.counters.tx),
        ("responder_xdp_dropped_total", "Frames not answered (unanswerable or rate limited).", |q| q.counters.dropped),
        ("responder_xdp_passed_total", "Frames that were not DNS to us.", |q| q.counters.passed),
        ("responder_xdp_invalid_descriptors_total", "Descriptors the kernel should never give.", |q| {
            q.counters.invalid
        }),
        ("responder_xdp_fill_ring_empty_total", "Times the fill ring was found empty.", |q| q.counters.fill_ring_empty),
        ("responder_xdp_tx_ring_full_total", "Times RX waited for TX ring room.", |q| q.counters.tx_ring_full),
        ("responder_xdp_tx_kicks_total", "sendto wake-ups of the kernel.", |q| q.counters.tx_kicks),
    ];
    for (name, help, get) in ring {
        out.family(name, "counter", help);
        for q in &x.queues {
            out.sample(name, &[("queue", &q.queue.to_string())], get(q) as f64);
        }
    }
    for (name, help, get) in XSK_FAMILIES {
        out.family(name, "counter", help);
        for q in &x.queues {
            if let Some(k) = &q.kernel {
                out.sample(name, &[("queue", &q.queue.to_string())], get(k) as f64);
            }
        }
    }
    out.family(
        "responder_xdp_worker_heartbeat_age_seconds",
        "gauge",
        "Seconds since the queue's worker last showed progress; past the stall threshold its queries go to the kernel, past 1 s /readyz fails.",
    );
    for q in &x.queues {
        if let Some(age) = q.heartbeat_age {
            out.sample(
                "responder_xdp_worker_heartbeat_age_seconds",
                &[("queue", &q.queue.to_string())],
                age.as_secs_f64(),
            );
        }
    }
    if let Some(st) = &x.steering {
        out.family("responder_xdp_program_frames_total", "counter", "Frames seen by the XDP program, by outcome.");
        for (outcome, n) in &st.outcomes {
            out.sample("responder_xdp_program_frames_total", &[("outcome", outcome)], *n as f64);
        }
    }
    if let Some(n) = x.tier0_learned {
        out.family("responder_xdp_tier0_learned", "gauge", "Learned tier-0 answers installed (--xdp-answers top=N).");
        out.sample("responder_xdp_tier0_learned", &[], n as f64);
    }
}

/// A metric family's name, help text, and how to read it from `T`.
pub type Family<T> = (&'static str, &'static str, Getter<T>);
pub type Getter<T> = fn(&T) -> u64;

struct Prom {
    text: String,
    format: Format,
}

impl Prom {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        // OpenMetrics names a counter family without `_total` and has an
        // info type whose family drops `_info`; Prometheus text has neither.
        let (name, kind) = match (self.format, kind) {
            (Format::OpenMetrics, "counter") => (name.strip_suffix("_total").unwrap_or(name), kind),
            (Format::OpenMetrics, "info") => (name.strip_suffix("_info").unwrap_or(name), kind),
            (Format::Prometheus, "info") => (name, "gauge"),
            _ => (name, kind),
        };
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.text.push_str("# EOF\n");
        }
        self.text
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (key, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{key}=\"{}\"", escape(val));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::super::process::ProcessStats;
    use super::super::{SteeringSnapshot, XdpSnapshot};
    use super::*;
    use crate::stats::breakdown::zones::NO_ZONE;
    use crate::stats::{BreakdownCounts, Where};
    use crate::xdp::WorkerCounters;

    fn snapshot() -> Snapshot {
        let dns =
            DnsCounters { queries: 10, noerror: 6, nxdomain: 3, unanswered: 1, ipv6: 4, ..DnsCounters::default() };
        Snapshot {
            uptime_secs: 1.5,
            zones: vec![("example.com.".into(), Some(7)), ("we\"ird.".into(), None)],
            rrsig_expiry: vec![("example.com.".into(), 1_900_000_000)],
            reloads_ok: 2,
            reloads_failed: 1,
            last_reload_error: Some("x.zone:3: bad".into()),
            reloads_overlaid: 1,
            last_reload_path: Some("overlay"),
            last_reload_fallback: None,
            last_overlay: Some(("transfer", 1, 3, 2)),
            loaded_at: 1_700_000_000.0,
            reload_failed_at: Some(1_700_000_001.0),
            process: Some(ProcessStats {
                cpu_seconds: 1.25,
                open_fds: 12,
                resident_bytes: 7 << 20,
                ..ProcessStats::default()
            }),
            table_bytes: 86_000_000,
            xdp: Some(XdpSnapshot {
                iface: "veth0".into(),
                attach: "native".into(),
                queues: vec![QueueSnapshot {
                    queue: 1,
                    cpu: Some(0),
                    mode: "copy".into(),
                    counters: WorkerCounters { rx: 12, tx: 9, dns, ..WorkerCounters::default() },
                    kernel: Some(KernelStats { rx_ring_full: 4, ..KernelStats::default() }),
                    heartbeat_age: Some(std::time::Duration::from_millis(250)),
                }],
                steering: Some(SteeringSnapshot { outcomes: vec![("redirected", 12), ("passed_port", 4)] }),
                tier0_learned: Some(3),
            }),
            udp: DnsCounters { queries: 5, refused: 5, ..DnsCounters::default() },
            tcp: DnsCounters { refused: 2, rate_limited: 2, ..DnsCounters::default() },
            tier0: None,
            tcp_connections: TcpCounters {
                accepted: 40,
                refused_client_limit: 7,
                evicted: 2,
                open: 31,
                ..TcpCounters::default()
            },
            secondaries: vec![super::super::SecondarySnapshot {
                zone: "sec.example.".into(),
                has_copy: true,
                expired: true,
                expires: Some(1_700_000_100.0),
                refreshed: Some(1_700_000_050.0),
                refresh_failed: Some(1_700_000_090.0),
                transferred: Some(("IXFR".into(), 1_700_000_040.0)),
            }],
            capture: Some(CaptureCounters {
                written: 3,
                sampled_out: 297,
                dropped_full: 1,
                ..CaptureCounters::default()
            }),
            tier0_capture_lost: Some(4),
            breakdown: vec![(Where::KERNEL_UDP, breakdown())],
            zone_slots: vec!["example.com.".into()],
            transfers: crate::stats::TransferCounts {
                transfers_in: vec![
                    (("sec.example.".into(), "axfr", "success"), 1),
                    (("sec.example.".into(), "ixfr", "timeout"), 2),
                ],
                refreshes: vec![(("sec.example.".into(), "ok"), 3)],
                notifies_in: vec![(("(none)".into(), "refused"), 4), (("sec.example.".into(), "accepted"), 5)],
                transfers_out: vec![(("example.com.".into(), "ixfr_udp", "served"), 6)],
                notifies_out: vec![(("example.com.".into(), "sec1".into(), "acked"), 7)],
            },
        }
    }

    /// Two A answers from example.com. (one with DO), an NXDOMAIN there, a
    /// REFUSED from no zone; queries of 30 and 40 bytes, answers of 45 and 300 (TC).
    fn breakdown() -> BreakdownCounts {
        let b = crate::stats::Breakdown::default();
        let about = |zone, dnssec_ok| crate::engine::policy::About { qtype: 1, zone, dnssec_ok };
        b.response(&about(0, false), 0);
        b.response(&about(0, true), 0);
        b.response(&about(0, false), 3);
        b.response(&about(NO_ZONE, false), 5);
        let mut tc = vec![0u8; 300];
        tc[2] = 0x82;
        b.message(30, Some(&[0u8; 45]));
        b.message(40, Some(&tc));
        b.read()
    }

    #[test]
    fn the_breakdown_families_show_types_zones_flags_and_size_histograms() {
        let text = prometheus(&snapshot());
        let k = "path=\"kernel\",protocol=\"udp\"";
        for line in [
            format!("responder_responses_by_qtype_total{{{k},qtype=\"A\"}} 4\n"),
            format!("responder_responses_by_qtype_total{{{k},qtype=\"other\"}} 0\n"),
            format!("responder_zone_responses_total{{{k},zone=\"example.com.\",rcode=\"noerror\"}} 2\n"),
            format!("responder_zone_responses_total{{{k},zone=\"example.com.\",rcode=\"nxdomain\"}} 1\n"),
            format!("responder_zone_responses_total{{{k},zone=\"(none)\",rcode=\"refused\"}} 1\n"),
            format!("responder_responses_dnssec_ok_total{{{k}}} 1\n"),
            format!("responder_responses_tc_total{{{k}}} 1\n"),
            format!("responder_query_size_bytes_bucket{{{k},le=\"16\"}} 0\n"),
            format!("responder_query_size_bytes_bucket{{{k},le=\"32\"}} 1\n"),
            format!("responder_query_size_bytes_bucket{{{k},le=\"64\"}} 2\n"),
            format!("responder_query_size_bytes_bucket{{{k},le=\"+Inf\"}} 2\n"),
            format!("responder_query_size_bytes_sum{{{k}}} 70\n"),
            format!("responder_query_size_bytes_count{{{k}}} 2\n"),
            format!("responder_response_size_bytes_bucket{{{k},le=\"256\"}} 1\n"),
            format!("responder_response_size_bytes_bucket{{{k},le=\"512\"}} 2\n"),
            format!("responder_response_size_bytes_sum{{{k}}} 345\n"),
        ] {
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
        assert!(!text.contains(",zone=\"(other)\""), "no (other) series before a zone past the cap counted");
        assert!(text.contains("# TYPE responder_response_size_bytes histogram\n"));
        let v = json(&snapshot());
        let kernel = &v["breakdown"][0];
        assert_eq!((kernel["path"].as_str(), kernel["qtype"]["A"].as_u64()), (Some("kernel"), Some(4)));
        assert_eq!(kernel["zones"]["example.com."]["nxdomain"], 1);
        assert_eq!(kernel["zones"]["(none)"]["refused"], 1);
        assert_eq!((kernel["tc"].as_u64(), kernel["dnssec_ok"].as_u64()), (Some(1), Some(1)));
        assert_eq!(kernel["response_size"]["buckets"]["512"], 1);
        assert_eq!((kernel["query_size"]["sum"].as_u64(), kernel["query_size"]["count"].as_u64()), (Some(70), Some(2)));
    }

    /// The program's own answers: DNS families and the breakdown under
    /// `path="xdp-kernel"`, in the totals, and no zone series (the program
    /// does not know the zone).
    #[test]
    fn tier0_answers_are_path_xdp_kernel() {
        let mut cells = crate::xdp::tier0::stats::Cells { slipped: 2, dropped: 3, ipv6: 1, ..Default::default() };
        cells.rcode[0] = 12;
        cells.qtype[2] = 12;
        cells.query_size[2] = 12;
        cells.query_bytes = 12 * 40;
        cells.response_size[4] = 9;
        cells.response_bytes = 9 * 200;
        let mut s = snapshot();
        s.tier0 = Some(cells.dns());
        s.breakdown.push((Where::XDP_KERNEL, cells.breakdown()));
        let text = prometheus(&s);
        let k = "path=\"xdp-kernel\",protocol=\"udp\"";
        for line in [
            format!("responder_queries_total{{{k},queue=\"all\"}} 12\n"),
            format!("responder_responses_total{{{k},queue=\"all\",rcode=\"noerror\"}} 12\n"),
            format!("responder_rrl_actions_total{{{k},queue=\"all\",action=\"slip\"}} 2\n"),
            format!("responder_rrl_actions_total{{{k},queue=\"all\",action=\"drop\"}} 3\n"),
            format!("responder_responses_by_family_total{{{k},queue=\"all\",family=\"ipv6\"}} 1\n"),
            format!("responder_responses_by_qtype_total{{{k},qtype=\"NS\"}} 12\n"),
            format!("responder_responses_tc_total{{{k}}} 2\n"),
            format!("responder_query_size_bytes_count{{{k}}} 12\n"),
            format!("responder_response_size_bytes_bucket{{{k},le=\"256\"}} 9\n"),
            format!("responder_response_size_bytes_sum{{{k}}} 1800\n"),
        ] {
            assert!(text.contains(&line), "{line} missing from\n{text}");
        }
        assert!(!text.contains(&format!("responder_zone_responses_total{{{k}")), "{text}");
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            assert_eq!(text.matches(line).count(), 1, "{line} repeated");
        }
        let v = json(&s);
        assert_eq!((v["xdp_kernel"]["queries"].as_u64(), v["xdp_kernel"]["rrl_dropped"].as_u64()), (Some(12), Some(3)));
        assert_eq!(v["total"]["queries"], 15 + 12);
        let xk = v["breakdown"].as_array().unwrap().iter().find(|b| b["path"] == "xdp-kernel").expect("a series");
        assert_eq!((xk["qtype"]["NS"].as_u64(), xk["tc"].as_u64()), (Some(12), Some(2)));
        assert!(json(&snapshot())["xdp_kernel"].is_null(), "no tier 0, no series");
        assert!(!prometheus(&Snapshot { tier0_capture_lost: None, ..snapshot() }).contains("xdp-kernel"));
    }

    #[test]
    fn the_transfer_families_show_counts_and_times_and_are_announced_before_any() {
        let text = prometheus(&snapshot());
        for line in [
            "responder_transfers_in_total{zone=\"sec.example.\",kind=\"axfr\",result=\"success\"} 1\n",
            "responder_transfers_in_total{zone=\"sec.example.\",kind=\"ixfr\",result=\"timeout\"} 2\n",
            "responder_last_transfer_in_timestamp_seconds{zone=\"sec.example.\"} 1700000040\n",
            "responder_zone_refreshes_total{zone=\"sec.example.\",result=\"ok\"} 3\n",
            "responder_last_refresh_timestamp_seconds{zone=\"sec.example.\",result=\"ok\"} 1700000050\n",
            "responder_last_refresh_timestamp_seconds{zone=\"sec.example.\",result=\"error\"} 1700000090\n",
            "responder_notifies_in_total{zone=\"(none)\",result=\"refused\"} 4\n",
            "responder_notifies_in_total{zone=\"sec.example.\",result=\"accepted\"} 5\n",
            "responder_transfers_out_total{zone=\"example.com.\",kind=\"ixfr_udp\",result=\"served\"} 6\n",
            "responder_notifies_out_total{zone=\"example.com.\",remote=\"sec1\",result=\"acked\"} 7\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        let v = json(&snapshot());
        let t = &v["transfers"];
        assert_eq!(t["in"]["sec.example."]["ixfr"]["timeout"], 2);
        assert_eq!(t["notifies_in"]["(none)"]["refused"], 4);
        assert_eq!(t["out"]["example.com."]["ixfr_udp"]["served"], 6);
        assert_eq!(t["notifies_out"]["example.com."]["sec1"]["acked"], 7);
        assert_eq!(t["refreshes"]["sec.example."]["ok"], 3);
        let sec = &t["secondaries"][0];
        assert_eq!(
            (sec["last_transfer"].as_str(), sec["last_transfer_at"].as_f64()),
            (Some("IXFR"), Some(1.70000004e9))
        );
        assert_eq!(sec["expires"].as_f64(), Some(1_700_000_100.0));

        // Nothing transferred, no secondary, nothing sent out: the families
        // are there, with no sample yet.
        let empty = Snapshot { secondaries: vec![], transfers: Default::default(), ..snapshot() };
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let text = exposition(&empty, format);
            for family in [
                "responder_transfers_in",
                "responder_last_transfer_in_timestamp_seconds",
                "responder_zone_refreshes",
                "responder_last_refresh_timestamp_seconds",
                "responder_notifies_in",
                "responder_transfers_out",
                "responder_notifies_out",
            ] {
                let counter = !family.ends_with("seconds");
                let name = match (format, counter) {
                    (Format::Prometheus, true) => format!("{family}_total"),
                    _ => family.to_string(),
                };
                let kind = if counter { "counter" } else { "gauge" };
                assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name} not announced:\n{text}");
                let sampled = text.lines().any(|l| !l.starts_with('#') && l.starts_with(family));
                assert!(!sampled, "{family} has a sample:\n{text}");
            }
        }
    }

    #[test]
    fn json_carries_totals_queues_and_zones() {
        let v = json(&snapshot());
        assert_eq!(v["total"]["queries"], 15);
        assert_eq!(v["total"]["rcode"]["refused"], 7);
        assert_eq!(v["total"]["answered"], 14);
        assert_eq!(v["xdp"]["queues"][0]["received"], 12);
        assert_eq!(v["xdp"]["program"]["passed_port"], 4);
        assert_eq!(v["xdp"]["tier0"]["learned"], 3);
        assert_eq!(v["zones"][0]["serial"], 7);
        assert_eq!(
            (v["zones"][0]["rrsig_expires"].as_u64(), v["zones"][1]["rrsig_expires"].as_u64()),
            (Some(1_900_000_000), None)
        );
        assert_eq!(v["reloads"]["last_error"], "x.zone:3: bad");
        assert_eq!(
            v["reloads"]["last_overlay"],
            json!({"by": "transfer", "zones": 1, "records": 3, "names_compiled": 2})
        );
        assert_eq!(
            (v["memory"]["table_bytes"].as_u64(), v["memory"]["resident_bytes"].as_u64()),
            (Some(86_000_000), Some(7 << 20))
        );
        // Two zones in the snapshot.
        assert_eq!(
            (v["memory"]["table_bytes_per_zone"].as_u64(), v["memory"]["resident_bytes_per_zone"].as_u64()),
            (Some(43_000_000), Some(7 << 19))
        );
        assert_eq!(v["tcp_connections"]["refused_client_limit"], 7);
        assert_eq!(v["tcp_connections"]["open"], 31);
        assert_eq!((v["capture"]["written"].as_u64(), v["capture"]["sampled_out"].as_u64()), (Some(3), Some(297)));
        assert_eq!(v["capture"]["xdp_kernel_ring_lost"].as_u64(), Some(4));
    }

    #[test]
    fn prometheus_text_announces_each_family_once_and_escapes_labels() {
        let text = prometheus(&snapshot());
        let xdp_nx = "responder_responses_total{path=\"xdp\",protocol=\"udp\",queue=\"1\",rcode=\"nxdomain\"} 3\n";
        assert!(text.contains(xdp_nx), "{text}");
        let udp_refused =
            "responder_responses_total{path=\"kernel\",protocol=\"udp\",queue=\"all\",rcode=\"refused\"} 5\n";
        assert!(text.contains(udp_refused), "{text}");
        assert!(text.contains("responder_build_info{version=\""), "{text}");
        let v6 = "responder_responses_by_family_total{path=\"xdp\",protocol=\"udp\",queue=\"1\",family=\"ipv6\"} 4\n";
        let v4 = "responder_responses_by_family_total{path=\"xdp\",protocol=\"udp\",queue=\"1\",family=\"ipv4\"} 5\n";
        assert!(text.contains(v6) && text.contains(v4), "{text}");
        assert!(text.contains("xdp_mode=\"native\",zero_copy=\"false\"} 1\n"), "{text}");
        assert!(text.contains("responder_xsk_rx_ring_full_total{queue=\"1\"} 4\n"), "{text}");
        assert!(text.contains("responder_xdp_worker_heartbeat_age_seconds{queue=\"1\"} 0.25\n"), "{text}");
        assert!(text.contains(
            "responder_rrl_actions_total{path=\"kernel\",protocol=\"tcp\",queue=\"all\",action=\"drop\"} 2\n"
        ));
        assert!(text.contains("responder_last_reload_timestamp_seconds{result=\"error\"} 1700000001\n"), "{text}");
        assert!(text.contains("process_open_fds 12\n") && text.contains("process_cpu_seconds_total 1.25\n"), "{text}");
        assert!(text.contains("responder_table_bytes 86000000\n"), "{text}");
        assert!(text.contains(&format!("process_resident_memory_bytes {}\n", 7 << 20)), "{text}");
        assert!(text.contains("responder_zone_serial{zone=\"example.com.\"} 7\n"));
        assert!(text.contains("responder_zone_rrsig_expiry_timestamp_seconds{zone=\"example.com.\"} 1900000000\n"));
        assert!(text.contains("responder_zone_expired{zone=\"sec.example.\"} 1\n"), "{text}");
        assert!(text.contains("responder_zone_expiry_timestamp_seconds{zone=\"sec.example.\"} 1700000100\n"), "{text}");
        assert!(!text.contains("we\\\"ird"), "a zone without a serial has no serial sample");
        assert!(text.contains("responder_xdp_program_frames_total{outcome=\"redirected\"} 12\n"));
        assert!(text.contains("responder_xdp_tier0_learned 3\n"));
        assert!(text.contains("responder_tcp_connections_total{event=\"evicted\"} 2\n"));
        assert!(text.contains("responder_tcp_connections_open 31\n"));
        assert!(text.contains("responder_capture_total{outcome=\"dropped_full\"} 1\n"));
        assert!(text.contains("responder_capture_ring_lost_total{path=\"xdp-kernel\"} 4\n"), "{text}");
        let without = prometheus(&Snapshot { capture: None, tier0_capture_lost: None, ..snapshot() });
        assert!(!without.contains("responder_capture_total"), "no family while capture is off");
        assert!(!without.contains("responder_capture_ring_lost_total"), "no family without tier-0 capture");
        assert!(text.contains("# TYPE responder_build_info gauge\n"), "{text}");
        let om = exposition(&snapshot(), Format::OpenMetrics);
        assert!(om.contains("# TYPE responder_build info\n") && om.contains("\nresponder_build_info{"), "{om}");
        assert!(om.contains("# TYPE process_cpu_seconds counter\n") && om.ends_with("# EOF\n"), "{om}");
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            assert_eq!(text.matches(line).count(), 1, "{line} repeated");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
