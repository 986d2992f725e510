//! The breakdown families (`stats::breakdown`): responses by qtype, by zone
//! and rcode, DO set, TC sent, and the query and response size histograms,
//! one series per path and protocol (queues and threads summed: a zone ×
//! rcode matrix per queue would multiply the series for no use).

use serde_json::{json, Map, Value};

use super::{Prom, Snapshot};
use crate::stats::breakdown::size::BOUNDS;
use crate::stats::breakdown::zones::{NO_ZONE, OTHER_ZONES};
use crate::stats::breakdown::{qtype::QTYPES, Histogram};
use crate::stats::{BreakdownCounts, DnsCounters, Where};

/// How a slot is labelled: its zone's name, `(other)` for the zones past
/// the cap, `(none)` for responses from no zone. `None`: an unused slot.
fn zone_label(names: &[String], slot: usize) -> Option<String> {
    match slot as u16 {
        NO_ZONE => Some("(none)".into()),
        OTHER_ZONES => Some("(other)".into()),
        _ => names.get(slot).cloned(),
    }
}

/// Every slot shown, with its label: the named ones and `(none)` always,
/// `(other)` and anything else only once it counted something.
fn zones<'a>(s: &'a Snapshot, c: &'a BreakdownCounts) -> impl Iterator<Item = (String, &'a [u64; 8])> + 'a {
    c.zone_rcode.iter().enumerate().filter_map(move |(slot, cells)| {
        let always = slot < s.zone_slots.len() || slot == NO_ZONE as usize;
        if !always && cells.iter().all(|&n| n == 0) {
            return None;
        }
        Some((zone_label(&s.zone_slots, slot).unwrap_or_else(|| format!("(slot {slot})")), cells))
    })
}

/// A histogram family's name, help text, and where its counts are.
type SizeFamily = (&'static str, &'static str, fn(&BreakdownCounts) -> &Histogram);

pub(super) fn exposition(out: &mut Prom, s: &Snapshot) {
    let at = |w: &Where| [("path", w.path), ("protocol", w.protocol)];
    out.family(
        "responder_responses_by_qtype_total",
        "counter",
        "Responses by the question's type (rate-limited ones included); the less common types are counted as other.",
    );
    for (w, c) in &s.breakdown {
        let [path, protocol] = at(w);
        for (qtype, n) in QTYPES.iter().zip(c.qtype) {
            out.sample("responder_responses_by_qtype_total", &[path, protocol, ("qtype", qtype)], n as f64);
        }
    }
    out.family("responder_zone_responses_total", "counter", "Responses by zone and rcode (rate-limited ones included); zone=\"(none)\": from no zone served (REFUSED, CHAOS, unreadable queries), zone=\"(other)\": the zones past the first 64 served.");
    for (w, c) in &s.breakdown {
        let [path, protocol] = at(w);
        for (zone, cells) in zones(s, c) {
            for (rcode, n) in DnsCounters::RCODES.iter().zip(cells) {
                let labels = [path, protocol, ("zone", zone.as_str()), ("rcode", rcode)];
                out.sample("responder_zone_responses_total", &labels, *n as f64);
            }
        }
    }
    let flags: [super::Family<BreakdownCounts>; 2] = [
        ("responder_responses_dnssec_ok_total", "Responses to queries with the DO bit set.", |c| c.dnssec_ok),
        (
            "responder_responses_tc_total",
            "Responses sent with the TC bit set, for any reason (too big, RRL slip).",
            |c| c.tc,
        ),
    ];
    for (name, help, get) in flags {
        out.family(name, "counter", help);
        for (w, c) in &s.breakdown {
            out.sample(name, &at(w), get(c) as f64);
        }
    }
    let sizes: [SizeFamily; 2] = [
        ("responder_query_size_bytes", "Size of the DNS messages read, in bytes (the DNS message alone).", |c| {
            &c.query_size
        }),
        ("responder_response_size_bytes", "Size of the responses sent, in bytes (the DNS message alone).", |c| {
            &c.response_size
        }),
    ];
    for (name, help, get) in sizes {
        out.family(name, "histogram", help);
        for (w, c) in &s.breakdown {
            histogram(out, name, &at(w), get(c));
        }
    }
}

fn histogram(out: &mut Prom, name: &str, labels: &[(&str, &str)], h: &Histogram) {
    let bucket = format!("{name}_bucket");
    let mut cumulative = 0;
    for (i, n) in h.buckets.iter().enumerate() {
        cumulative += n;
        let le = BOUNDS.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
        let mut with_le = labels.to_vec();
        with_le.push(("le", &le));
        out.sample(&bucket, &with_le, cumulative as f64);
    }
    out.sample(&format!("{name}_sum"), labels, h.sum as f64);
    out.sample(&format!("{name}_count"), labels, cumulative as f64);
}

/// `ctl stats`: the same counts, per path and protocol. Size buckets are
/// not cumulative here, keyed by their upper bound.
pub(super) fn json(s: &Snapshot) -> Value {
    let series: Vec<Value> = s
        .breakdown
        .iter()
        .map(|(w, c)| {
            let qtype: Map<String, Value> =
                QTYPES.iter().zip(c.qtype).map(|(q, n)| ((*q).to_owned(), json!(n))).collect();
            let zones: Map<String, Value> = zones(s, c)
                .map(|(zone, cells)| {
                    let rcodes: Map<String, Value> =
                        DnsCounters::RCODES.iter().zip(cells).map(|(r, n)| ((*r).to_owned(), json!(n))).collect();
                    (zone, Value::Object(rcodes))
                })
                .collect();
            json!({
                "path": w.path,
                "protocol": w.protocol,
                "qtype": qtype,
                "zones": zones,
                "dnssec_ok": c.dnssec_ok,
                "tc": c.tc,
                "query_size": histogram_json(&c.query_size),
                "response_size": histogram_json(&c.response_size),
            })
        })
        .collect();
    Value::Array(series)
}

fn histogram_json(h: &Histogram) -> Value {
    let buckets: Map<String, Value> = h
        .buckets
        .iter()
        .enumerate()
        .map(|(i, n)| (BOUNDS.get(i).map_or("+Inf".to_owned(), |b| b.to_string()), json!(n)))
        .collect();
    json!({"buckets": buckets, "sum": h.sum, "count": h.count()})
}
