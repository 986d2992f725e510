//! The responder's own AF_XDP counters, read over its control socket: the
//! `stats` reply, the JSON `responder ctl --socket PATH stats` prints, with
//! every queue summed. A Unix socket path works across network
//! namespaces, so the bench asks directly instead of spawning `responder ctl`
//! around every step.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::counters::Counters;

/// A stats reply is a snapshot of atomics; more than this is a stuck server.
const TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XskStat {
    /// Kernel (XDP_STATISTICS) `rx_dropped`: frames the socket dropped,
    /// no fill-ring buffer or too long.
    RxDropped,
    /// Kernel `rx_ring_full`: frames dropped because the RX ring was full.
    RxRingFull,
    /// Kernel `rx_fill_ring_empty_descs`: times the kernel found the fill
    /// ring empty (events, not frames).
    RxFillRingEmpty,
    /// Kernel `rx_invalid_descs` + `tx_invalid_descs`.
    InvalidDescs,
    /// Worker: frames read from the RX ring.
    Received,
    /// Worker: answers put on the TX ring.
    Sent,
    /// Worker: frames read and not answered (unanswerable, rate limited).
    Dropped,
    /// Worker: times it found the fill ring empty (events).
    FillRingEmpty,
    /// Worker: times RX waited for TX ring room (events, nothing lost).
    TxRingFull,
    /// XDP program: frames redirected to an AF_XDP socket.
    Redirected,
    /// XDP program: frames passed to the kernel stack, every reason.
    Passed,
    /// XDP program: queries it answered itself from the tier-0 map.
    AnsweredTier0,
}

pub const XSK_STATS: usize = 12;
pub type Xsk = Counters<XSK_STATS>;

impl XskStat {
    pub const ALL: [XskStat; XSK_STATS] = [
        XskStat::RxDropped,
        XskStat::RxRingFull,
        XskStat::RxFillRingEmpty,
        XskStat::InvalidDescs,
        XskStat::Received,
        XskStat::Sent,
        XskStat::Dropped,
        XskStat::FillRingEmpty,
        XskStat::TxRingFull,
        XskStat::Redirected,
        XskStat::Passed,
        XskStat::AnsweredTier0,
    ];

    /// drops.tsv's column.
    pub const fn name(self) -> &'static str {
        match self {
            XskStat::RxDropped => "xsk_rx_dropped",
            XskStat::RxRingFull => "xsk_rx_ring_full",
            XskStat::RxFillRingEmpty => "xsk_rx_fill_ring_empty_descs",
            XskStat::InvalidDescs => "xsk_invalid_descs",
            XskStat::Received => "worker_received",
            XskStat::Sent => "worker_sent",
            XskStat::Dropped => "worker_dropped",
            XskStat::FillRingEmpty => "worker_fill_ring_empty",
            XskStat::TxRingFull => "worker_tx_ring_full",
            XskStat::Redirected => "program_redirected",
            XskStat::Passed => "program_passed",
            XskStat::AnsweredTier0 => "program_answered_tier0",
        }
    }

    /// Where in one queue's JSON object the counter is, as paths summed.
    fn queue_paths(self) -> &'static [&'static [&'static str]] {
        match self {
            XskStat::RxDropped => &[&["kernel", "rx_dropped"]],
            XskStat::RxRingFull => &[&["kernel", "rx_ring_full"]],
            XskStat::RxFillRingEmpty => &[&["kernel", "rx_fill_ring_empty_descs"]],
            XskStat::InvalidDescs => &[&["kernel", "rx_invalid_descs"], &["kernel", "tx_invalid_descs"]],
            XskStat::Received => &[&["received"]],
            XskStat::Sent => &[&["sent"]],
            XskStat::Dropped => &[&["dropped"]],
            XskStat::FillRingEmpty => &[&["fill_ring_empty"]],
            XskStat::TxRingFull => &[&["tx_ring_full"]],
            XskStat::Redirected | XskStat::Passed | XskStat::AnsweredTier0 => &[],
        }
    }
}

/// Asks the server at `socket` for its counters; unknown when it does not
/// answer or answers something unreadable.
pub fn sample(socket: &Path) -> Xsk {
    ask(socket).map_or_else(Xsk::default, |line| parse(&line))
}

fn ask(socket: &Path) -> Option<String> {
    let mut stream = UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(TIMEOUT)).ok()?;
    stream.write_all(b"stats\n").ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line)
}

/// Reads the counters out of a stats reply (one line or pretty-printed).
pub fn parse(json: &str) -> Xsk {
    let mut counters = Xsk::default();
    let Ok(reply) = serde_json::from_str::<Value>(json) else { return counters };
    let xdp = &reply["xdp"];
    for queue in xdp["queues"].as_array().into_iter().flatten() {
        for stat in XskStat::ALL {
            for path in stat.queue_paths() {
                if let Some(n) = path.iter().fold(queue, |v, key| &v[key]).as_u64() {
                    counters.add(stat as usize, n);
                }
            }
        }
    }
    for (outcome, n) in xdp["program"].as_object().into_iter().flatten() {
        let Some(n) = n.as_u64() else { continue };
        if outcome == "redirected" {
            counters.add(XskStat::Redirected as usize, n);
        } else if outcome == "answered_tier0" {
            counters.add(XskStat::AnsweredTier0 as usize, n);
        } else if outcome.starts_with("passed") {
            counters.add(XskStat::Passed as usize, n);
        }
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(x: &Xsk, stat: XskStat) -> Option<u64> {
        x.get(stat as usize)
    }

    /// `responder ctl --socket PATH stats` against responder-xdp during a
    /// quick bench, as printed.
    #[test]
    fn the_real_reply_is_read() {
        let x = parse(include_str!("testdata/ctl-stats-responder-xdp.json"));
        let expected = [
            (XskStat::RxDropped, 0),
            (XskStat::RxRingFull, 0),
            (XskStat::RxFillRingEmpty, 0),
            (XskStat::InvalidDescs, 0),
            (XskStat::Received, 85_926),
            (XskStat::Sent, 85_926),
            (XskStat::Dropped, 0),
            (XskStat::FillRingEmpty, 0),
            (XskStat::TxRingFull, 0),
            (XskStat::Redirected, 85_946),
            // passed_ipv6_extension 5 + passed_not_udp 2: the kernel's own
            // neighbour discovery and the like.
            (XskStat::Passed, 7),
        ];
        // Recorded before the program counted tier-0 answers.
        assert_eq!(get(&x, XskStat::AnsweredTier0), None);
        for (stat, n) in expected {
            assert_eq!(get(&x, stat), Some(n), "{stat:?}");
        }
    }

    #[test]
    fn an_unreadable_or_kernel_only_reply_is_unknown() {
        assert_eq!(parse(""), Xsk::default());
        assert_eq!(parse("{\"ok\": false, \"error\": \"x\"}"), Xsk::default());
        assert_eq!(parse("{\"ok\": true, \"xdp\": null}"), Xsk::default(), "a server without XDP");
        let odd = parse(
            r#"{"xdp": {"queues": [{"received": -1, "sent": "7", "dropped": 2, "kernel": null},
                                   {"dropped": 3, "kernel": {"rx_ring_full": 4}}, 5],
                        "program": {"redirected": 9, "passed_port": 1, "passed_not_ip": 2, "other": 8,
                                    "answered_tier0": 6}}}"#,
        );
        assert_eq!(get(&odd, XskStat::Received), None, "a negative count is not a count");
        assert_eq!(get(&odd, XskStat::Sent), None, "nor is a string");
        assert_eq!(get(&odd, XskStat::Dropped), Some(5));
        assert_eq!(get(&odd, XskStat::RxRingFull), Some(4));
        assert_eq!(get(&odd, XskStat::RxDropped), None);
        assert_eq!((get(&odd, XskStat::Redirected), get(&odd, XskStat::Passed)), (Some(9), Some(3)));
        assert_eq!(get(&odd, XskStat::AnsweredTier0), Some(6));
    }
}
