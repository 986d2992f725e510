//! One veth end's drop counters: `ethtool -S` (veth's per-queue XDP
//! counters, summed over queues) and the device's `rx_dropped`/`tx_dropped`
//! from sysfs, read in one shell inside the end's namespace.
//!
//! The sysfs totals overlap the per-queue counters (the kernel's
//! `veth_get_stats64`): `rx_dropped` = the queues' `drops` + the peer's
//! failed `ndo_xdp_xmit` into this end; `tx_dropped` = frames `veth_xmit`
//! could not hand to the peer (its receive ring full) + this end's
//! `xdp_tx_errors` + the peer's `xdp_xmit_errors`. The report adds only
//! counters that do not overlap.

use std::time::Duration;

use super::counters::Counters;
use super::process::run_bounded;
use crate::testbed::Testbed;

/// `ethtool` and `grep` on a quiet machine take milliseconds; a hang must
/// not stall the ladder.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VethStat {
    /// `rx_queue_N_xdp_packets`: frames the native XDP program saw.
    XdpPackets,
    /// `rx_queue_N_drops`: frames the receive side dropped, a failed XDP
    /// redirect (the AF_XDP socket's ring full, no fill buffer) included.
    Drops,
    XdpRedirect,
    /// `rx_queue_N_xdp_drops`: XDP_DROP verdicts.
    XdpDrops,
    XdpTx,
    XdpTxErrors,
    /// `tx_queue_N_xdp_xmit`: frames the peer sent here by `ndo_xdp_xmit`.
    XdpXmit,
    XdpXmitErrors,
    /// sysfs `statistics/rx_dropped`.
    RxDropped,
    /// sysfs `statistics/tx_dropped`.
    TxDropped,
}

pub const VETH_STATS: usize = 10;
pub type Veth = Counters<VETH_STATS>;

impl VethStat {
    pub const ALL: [VethStat; VETH_STATS] = [
        VethStat::XdpPackets,
        VethStat::Drops,
        VethStat::XdpRedirect,
        VethStat::XdpDrops,
        VethStat::XdpTx,
        VethStat::XdpTxErrors,
        VethStat::XdpXmit,
        VethStat::XdpXmitErrors,
        VethStat::RxDropped,
        VethStat::TxDropped,
    ];

    /// The counter's name without its queue prefix, as `ethtool -S` and
    /// sysfs spell it (and drops.tsv's column, after `client_`/`server_`).
    pub const fn name(self) -> &'static str {
        match self {
            VethStat::XdpPackets => "xdp_packets",
            VethStat::Drops => "drops",
            VethStat::XdpRedirect => "xdp_redirect",
            VethStat::XdpDrops => "xdp_drops",
            VethStat::XdpTx => "xdp_tx",
            VethStat::XdpTxErrors => "xdp_tx_errors",
            VethStat::XdpXmit => "xdp_xmit",
            VethStat::XdpXmitErrors => "xdp_xmit_errors",
            VethStat::RxDropped => "rx_dropped",
            VethStat::TxDropped => "tx_dropped",
        }
    }

    /// Which per-queue prefix the counter has in `ethtool -S`; `None` for
    /// the sysfs totals.
    fn queue_side(self) -> Option<&'static str> {
        match self {
            VethStat::XdpXmit | VethStat::XdpXmitErrors => Some("tx_queue_"),
            VethStat::RxDropped | VethStat::TxDropped => None,
            _ => Some("rx_queue_"),
        }
    }
}

/// Reads `iface`'s counters inside `ns`. A counter that could not be read
/// stays unknown; the bench goes on.
pub fn sample(ns: &str, iface: &str) -> Veth {
    // `ip netns exec` remounts /sys for the namespace, so the device is
    // found by its own name; `grep -H` labels each value with its file, so a
    // missing file cannot shift the other's value.
    let script = "ethtool -S \"$1\"; grep -H . \"/sys/class/net/$1/statistics/rx_dropped\" \
                  \"/sys/class/net/$1/statistics/tx_dropped\"";
    let mut cmd = Testbed::command_in(ns, "sh");
    cmd.args(["-c", script, "sh", iface]);
    match run_bounded(&mut cmd, TIMEOUT) {
        Ok(out) => parse(&String::from_utf8_lossy(&out.stdout)),
        Err(_) => Veth::default(),
    }
}

/// Parses `ethtool -S` output followed by `grep -H` lines of the sysfs
/// files. Unknown keys and unreadable values are skipped.
pub fn parse(text: &str) -> Veth {
    let mut counters = Veth::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let Ok(value) = value.trim().parse::<u64>() else { continue };
        if let Some(stat) = stat_of(key.trim()) {
            counters.add(stat as usize, value);
        }
    }
    counters
}

fn stat_of(key: &str) -> Option<VethStat> {
    if key.starts_with("/sys/") {
        let file = key.rsplit('/').next()?;
        return VethStat::ALL.into_iter().find(|s| s.queue_side().is_none() && s.name() == file);
    }
    // rx_queue_12_xdp_tx_errors: the queue number, then the exact name (so
    // xdp_tx is not taken for xdp_tx_errors).
    VethStat::ALL.into_iter().find(|s| {
        s.queue_side().and_then(|prefix| key.strip_prefix(prefix)).is_some_and(|rest| {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && rest[digits..].strip_prefix('_') == Some(s.name())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(v: &Veth, stat: VethStat) -> Option<u64> {
        v.get(stat as usize)
    }

    /// What the sampler's shell printed for the server end during a quick
    /// bench (one queue): `ethtool -S`, then `grep -H` of the sysfs files.
    const REAL: &str = include_str!("testdata/veth-server-sample.txt");

    #[test]
    fn a_real_sample_is_read_whole() {
        let v = parse(REAL);
        assert_eq!(get(&v, VethStat::XdpPackets), Some(243_734));
        assert_eq!(get(&v, VethStat::XdpRedirect), Some(243_713));
        for zero in [VethStat::Drops, VethStat::XdpDrops, VethStat::XdpTx, VethStat::XdpTxErrors, VethStat::XdpXmit] {
            assert_eq!(get(&v, zero), Some(0), "{zero:?}");
        }
        assert_eq!(get(&v, VethStat::XdpXmitErrors), Some(0));
        assert_eq!(get(&v, VethStat::RxDropped), Some(0));
        assert_eq!(get(&v, VethStat::TxDropped), Some(5_938));
    }

    #[test]
    fn queues_are_summed_and_a_longer_name_is_not_taken_for_a_shorter() {
        // The real sample with a second queue whose counters are all 1, 2
        // and 3 (as with `--queues 2`), and xdp_tx_errors set on queue 0.
        let second =
            "     rx_queue_1_xdp_packets: 1\n     rx_queue_1_drops: 2\n     rx_queue_1_xdp_tx_errors: 3\n     \
                      tx_queue_1_xdp_xmit_errors: 3\n";
        let text = REAL.replace("rx_queue_0_xdp_tx_errors: 0", "rx_queue_0_xdp_tx_errors: 4") + second;
        let v = parse(&text);
        assert_eq!(get(&v, VethStat::XdpPackets), Some(243_735));
        assert_eq!(get(&v, VethStat::Drops), Some(2));
        assert_eq!(get(&v, VethStat::XdpTx), Some(0), "xdp_tx_errors is not xdp_tx");
        assert_eq!(get(&v, VethStat::XdpTxErrors), Some(7));
        assert_eq!(get(&v, VethStat::XdpXmit), Some(0), "xdp_xmit_errors is not xdp_xmit");
        assert_eq!(get(&v, VethStat::XdpXmitErrors), Some(3));
        assert_eq!(get(&v, VethStat::TxDropped), Some(5_938));
    }

    #[test]
    fn odd_input_leaves_counters_unknown_without_panicking() {
        assert_eq!(parse(""), Veth::default());
        let v = parse(
            "NIC statistics:\n     peer_ifindex: 7\n     rx_queue_0_drops: lots\n     rx_queue__drops: 5\n     \
             rx_queue_0_dropsy: 5\n     rx_queue_x_xdp_drops: 5\n     tx_queue_0_drops: 9\n     rx_pp_alloc_fast: 3\n\
             /sys/class/net/rs1/statistics/tx_dropped\n:\n     rx_queue_1_xdp_drops: 18446744073709551615\n     \
             rx_queue_2_xdp_drops: 1\n",
        );
        assert_eq!(get(&v, VethStat::Drops), None, "no well-formed drops line");
        assert_eq!(get(&v, VethStat::TxDropped), None, "a sysfs line without a value");
        assert_eq!(get(&v, VethStat::XdpDrops), Some(u64::MAX), "saturates rather than overflowing");
    }
}
