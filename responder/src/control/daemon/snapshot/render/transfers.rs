//! Zone transfers and NOTIFYs (`stats::transfers`), in and out, and when a
//! secondary zone was last checked and transferred. Every family is
//! announced even before anything happened, and even with no zone
//! transferred in or out, so dashboards and alerts find it; its samples
//! come with the first count.

use serde_json::{json, Map, Value};

use super::{Prom, Snapshot};

pub(super) fn exposition(out: &mut Prom, s: &Snapshot) {
    let t = &s.transfers;
    out.family(
        "responder_transfers_in_total",
        "counter",
        "Zone transfers asked of primaries (this node a secondary), by zone, what was asked (axfr, ixfr) and result: success, up_to_date, or why it failed (refused, tsig, error_rcode, timeout, unreachable, closed, malformed, too_large, rejected).",
    );
    for ((zone, kind, result), n) in &t.transfers_in {
        out.sample("responder_transfers_in_total", &[("zone", zone), ("kind", kind), ("result", result)], *n as f64);
    }
    out.family(
        "responder_last_transfer_in_timestamp_seconds",
        "gauge",
        "When a secondary zone last got a new copy by transfer since the start, since the Unix epoch.",
    );
    for z in &s.secondaries {
        if let Some((_, at)) = &z.transferred {
            out.sample("responder_last_transfer_in_timestamp_seconds", &[("zone", &z.zone)], *at);
        }
    }
    out.family(
        "responder_zone_refreshes_total",
        "counter",
        "SOA checks of secondary zones (with the transfer that followed, if any), by zone and result: ok, or error when every primary failed.",
    );
    for ((zone, result), n) in &t.refreshes {
        out.sample("responder_zone_refreshes_total", &[("zone", zone), ("result", result)], *n as f64);
    }
    out.family(
        "responder_last_refresh_timestamp_seconds",
        "gauge",
        "When a secondary zone's SOA check last succeeded (result ok) and last failed (result error) since the start, since the Unix epoch.",
    );
    for z in &s.secondaries {
        for (result, at) in [("ok", z.refreshed), ("error", z.refresh_failed)] {
            if let Some(at) = at {
                out.sample("responder_last_refresh_timestamp_seconds", &[("zone", &z.zone), ("result", result)], at);
            }
        }
    }
    out.family(
        "responder_notifies_in_total",
        "counter",
        "NOTIFY received for secondary zones, by zone (\"(none)\": not one of ours) and result: accepted, refused (not from a primary, not SOA, not our zone), tsig (unsigned or badly signed from a primary with a key).",
    );
    for ((zone, result), n) in &t.notifies_in {
        out.sample("responder_notifies_in_total", &[("zone", zone), ("result", result)], *n as f64);
    }
    out.family(
        "responder_transfers_out_total",
        "counter",
        "Zone transfers asked of this node as a primary, by zone, kind (served: axfr, ixfr, ixfr_as_axfr, ixfr_up_to_date, ixfr_udp; not served: what was asked, axfr or ixfr) and result: served, aborted (cut short or the client left), refused (no acl, or AXFR over UDP), notauth (TSIG), servfail (no copy, or expired), busy (too many under way).",
    );
    for ((zone, kind, result), n) in &t.transfers_out {
        out.sample("responder_transfers_out_total", &[("zone", zone), ("kind", kind), ("result", result)], *n as f64);
    }
    out.family(
        "responder_notifies_out_total",
        "counter",
        "NOTIFY sent to secondaries for a new serial, by zone, remote and result: acked, error (answered with an error rcode, or could not be sent), timeout (no answer after every retry).",
    );
    for ((zone, remote, result), n) in &t.notifies_out {
        let labels = [("zone", zone.as_str()), ("remote", remote.as_str()), ("result", result)];
        out.sample("responder_notifies_out_total", &labels, *n as f64);
    }
}

/// `{zone: {a: {b: n}}}` and the like: each row's labels nest in order.
/// Every row of one call has as many labels, all distinct, so no count is
/// ever indexed into as an object.
fn nest<'a>(rows: impl Iterator<Item = (Vec<&'a str>, u64)>) -> Value {
    let mut root = Value::Object(Map::new());
    for (labels, n) in rows {
        let mut at = &mut root;
        for label in labels {
            at = &mut at[label];
        }
        *at = json!(n);
    }
    root
}

pub(super) fn json(s: &Snapshot) -> Value {
    let t = &s.transfers;
    let secondaries: Vec<Value> = s
        .secondaries
        .iter()
        .map(|z| {
            json!({
                "zone": z.zone,
                "has_copy": z.has_copy,
                "expired": z.expired,
                "expires": z.expires,
                "last_refresh": z.refreshed,
                "last_failed_refresh": z.refresh_failed,
                "last_transfer": z.transferred.as_ref().map(|(kind, _)| kind),
                "last_transfer_at": z.transferred.as_ref().map(|(_, at)| at),
            })
        })
        .collect();
    json!({
        "secondaries": secondaries,
        "in": nest(t.transfers_in.iter().map(|((z, k, r), n)| (vec![z.as_str(), *k, *r], *n))),
        "refreshes": nest(t.refreshes.iter().map(|((z, r), n)| (vec![z.as_str(), *r], *n))),
        "notifies_in": nest(t.notifies_in.iter().map(|((z, r), n)| (vec![z.as_str(), *r], *n))),
        "out": nest(t.transfers_out.iter().map(|((z, k, r), n)| (vec![z.as_str(), *k, *r], *n))),
        "notifies_out": nest(
            t.notifies_out.iter().map(|((z, remote, r), n)| (vec![z.as_str(), remote.as_str(), *r], *n))
        ),
    })
}
