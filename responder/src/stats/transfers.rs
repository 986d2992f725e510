//! Zone transfers and NOTIFYs, in (this node as a secondary) and out (as a
//! primary), counted by the threads that do them: a secondary zone's own
//! thread, the NOTIFY-out thread, and a kernel-socket thread for the
//! NOTIFY or transfer request it hands over. Never an XDP worker, never a
//! query: a transfer or a NOTIFY is rare next to queries and costs a
//! network exchange, so each count takes a lock on a small map keyed by its
//! label values. The map holds only what happened (a zone never transferred
//! has no series yet), and its keys come from the config (zone names,
//! remote ids), never from a packet: a NOTIFY for a zone not configured
//! here is counted under [`NO_ZONE`].

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The zone label of a NOTIFY for no zone of ours (the label the
/// breakdown families use for a query in no zone).
pub const NO_ZONE: &str = "(none)";

/// Counts by label values.
#[derive(Debug)]
pub struct Tally<K: Ord> {
    counts: Mutex<BTreeMap<K, u64>>,
}

impl<K: Ord> Default for Tally<K> {
    fn default() -> Tally<K> {
        Tally { counts: Mutex::new(BTreeMap::new()) }
    }
}

impl<K: Ord + Clone> Tally<K> {
    pub fn add(&self, key: K) {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(0) += 1;
    }

    /// Every series, in label order.
    pub fn read(&self) -> Vec<(K, u64)> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, n)| (k.clone(), *n)).collect()
    }
}

/// This node as a secondary (`transfer::inbound`).
#[derive(Debug, Default)]
pub struct InboundCounters {
    /// (zone, kind asked: axfr or ixfr, result).
    pub transfers: Tally<(String, &'static str, &'static str)>,
    /// SOA checks, with whatever transfer followed: (zone, ok or error).
    pub refreshes: Tally<(String, &'static str)>,
    /// NOTIFY received: (zone, accepted, refused or tsig).
    pub notifies: Tally<(String, &'static str)>,
}

/// This node as a primary (`transfer::outbound`).
#[derive(Debug, Default)]
pub struct OutboundCounters {
    /// (zone, kind sent, result).
    pub transfers: Tally<(String, &'static str, &'static str)>,
    /// NOTIFY sent: (zone, remote id, acked, error or timeout).
    pub notifies: Tally<(String, String, &'static str)>,
}

/// What the counters say at one moment, for `ctl stats` and `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct TransferCounts {
    pub transfers_in: Vec<((String, &'static str, &'static str), u64)>,
    pub refreshes: Vec<((String, &'static str), u64)>,
    pub notifies_in: Vec<((String, &'static str), u64)>,
    pub transfers_out: Vec<((String, &'static str, &'static str), u64)>,
    pub notifies_out: Vec<((String, String, &'static str), u64)>,
}

impl TransferCounts {
    pub fn read(inbound: Option<&InboundCounters>, outbound: Option<&OutboundCounters>) -> TransferCounts {
        let mut counts = TransferCounts::default();
        if let Some(i) = inbound {
            counts.transfers_in = i.transfers.read();
            counts.refreshes = i.refreshes.read();
            counts.notifies_in = i.notifies.read();
        }
        if let Some(o) = outbound {
            counts.transfers_out = o.transfers.read();
            counts.notifies_out = o.notifies.read();
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_each_label_set_apart_and_reads_in_order() {
        let t: Tally<(String, &'static str)> = Tally::default();
        t.add(("b.test.".into(), "ok"));
        t.add(("a.test.".into(), "error"));
        t.add(("b.test.".into(), "ok"));
        assert_eq!(t.read(), [(("a.test.".into(), "error"), 1), (("b.test.".into(), "ok"), 2)]);
        let counts = TransferCounts::read(None, Some(&OutboundCounters::default()));
        assert!(counts.transfers_out.is_empty() && counts.transfers_in.is_empty());
    }
}
