//! Where a step's lost queries went: the drop counters along the path,
//! sampled before and after every ladder step like the CPU time.
//!
//! The path of a query and its answer, and the counter at each place:
//! kxdpgun's socket → client veth TX (`tx_dropped`: the server end's
//! receive ring full) → server veth RX ring (`drops`) → XDP program
//! (`xdp_drops`) → AF_XDP RX ring (`rx_dropped`, `rx_ring_full`) → worker
//! (`dropped`: read, not answered) → AF_XDP TX → server veth TX
//! (`tx_dropped`: the client end's ring full) → client veth RX (`drops`,
//! `xdp_drops`) → kxdpgun's socket, whose own drops the bench cannot read.

use std::path::PathBuf;

use super::bed::BenchBed;
use super::veth_stats::{self, Veth, VethStat};
use super::xsk_stats::{self, Xsk, XskStat};

/// The counters at one instant, or their increase over a step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathCounters {
    pub client: Veth,
    pub server: Veth,
    /// Unknown for servers without a control socket.
    pub xsk: Xsk,
}

impl PathCounters {
    pub fn since(&self, before: &PathCounters) -> PathCounters {
        PathCounters {
            client: self.client.since(&before.client),
            server: self.server.since(&before.server),
            xsk: self.xsk.since(&before.xsk),
        }
    }

    pub fn client(&self, stat: VethStat) -> Option<u64> {
        self.client.get(stat as usize)
    }

    pub fn server(&self, stat: VethStat) -> Option<u64> {
        self.server.get(stat as usize)
    }

    pub fn xsk(&self, stat: XskStat) -> Option<u64> {
        self.xsk.get(stat as usize)
    }

    /// Queries or answers these counters say were dropped, each frame
    /// once as far as the kernel's accounting allows: sysfs `rx_dropped`
    /// is left out (it repeats the queues' `drops`), and so are the AF_XDP
    /// socket's drops under native XDP, where the veth counts a failed
    /// redirect in `drops` too. Under generic XDP the socket's drops
    /// happen in the stack, after the veth, and count. Unknown counters
    /// add nothing; the report shows them as unknown.
    pub fn explained(&self, native_xdp: bool) -> u64 {
        let mut parts = vec![
            self.client(VethStat::TxDropped),
            self.server(VethStat::Drops),
            self.server(VethStat::XdpDrops),
            self.xsk(XskStat::Dropped),
            self.server(VethStat::TxDropped),
            self.client(VethStat::Drops),
            self.client(VethStat::XdpDrops),
        ];
        if !native_xdp {
            parts.extend([self.xsk(XskStat::RxDropped), self.xsk(XskStat::RxRingFull)]);
        }
        parts.into_iter().flatten().fold(0, u64::saturating_add)
    }
}

/// What to read around a step against one server.
pub struct Sampler<'a> {
    pub bed: &'a BenchBed,
    /// The responder's control socket, when it has one.
    pub control_socket: Option<PathBuf>,
}

impl Sampler<'_> {
    pub fn sample(&self) -> PathCounters {
        let bed = &self.bed.bed;
        PathCounters {
            client: veth_stats::sample(&bed.client_ns, &bed.client_if),
            server: veth_stats::sample(&bed.server_ns, &bed.server_if),
            xsk: self.control_socket.as_deref().map_or_else(Xsk::default, xsk_stats::sample),
        }
    }
}

/// `sent − answered` as kxdpgun counted them; negative when late answers
/// of an earlier step arrived.
pub fn lost(sent: u64, replies: u64) -> i64 {
    i64::try_from(sent).unwrap_or(i64::MAX).saturating_sub(i64::try_from(replies).unwrap_or(i64::MAX))
}

/// Lost queries no counter explains; negative when counters overlap in
/// ways [`PathCounters::explained`] does not know of.
pub fn unaccounted(sent: u64, replies: u64, counters: &PathCounters, native_xdp: bool) -> i64 {
    lost(sent, replies).saturating_sub(i64::try_from(counters.explained(native_xdp)).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::counters::Counters;
    use crate::bench::xsk_stats::XSK_STATS;

    /// Every counter `n`, so each part's share is visible in a sum.
    fn all(n: u64) -> PathCounters {
        PathCounters {
            client: Counters([Some(n); 10]),
            server: Counters([Some(n); 10]),
            xsk: Counters([Some(n); XSK_STATS]),
        }
    }

    #[test]
    fn a_steps_increase_is_after_minus_before() {
        let mut after = all(10);
        after.server.0[VethStat::Drops as usize] = Some(310);
        after.xsk.0[XskStat::RxRingFull as usize] = Some(4);
        let step = after.since(&all(10));
        assert_eq!(step.server(VethStat::Drops), Some(300));
        assert_eq!(step.client(VethStat::Drops), Some(0));
        assert_eq!(step.xsk(XskStat::RxRingFull), None, "ran backwards: the server restarted");
        let no_socket = PathCounters { xsk: Xsk::default(), ..all(10) };
        assert_eq!(all(12).since(&no_socket).xsk(XskStat::Dropped), None);
    }

    #[test]
    fn explained_counts_each_drop_once() {
        // Seven parts; generic XDP adds the socket's two.
        assert_eq!(all(1).explained(true), 7);
        assert_eq!(all(1).explained(false), 9);
        let mut c = PathCounters::default();
        assert_eq!(c.explained(true), 0, "nothing known explains nothing");
        c.server.0[VethStat::RxDropped as usize] = Some(50);
        c.server.0[VethStat::XdpPackets as usize] = Some(1_000_000);
        c.xsk.0[XskStat::FillRingEmpty as usize] = Some(80);
        assert_eq!(c.explained(false), 0, "overlapping totals and events are not drops of their own");
        c.server.0[VethStat::Drops as usize] = Some(50);
        c.client.0[VethStat::TxDropped as usize] = Some(20);
        assert_eq!(c.explained(true), 70);
    }

    #[test]
    fn unaccounted_is_lost_minus_explained_and_may_be_negative() {
        let mut c = PathCounters::default();
        c.server.0[VethStat::Drops as usize] = Some(300);
        assert_eq!(unaccounted(10_000, 9_000, &c, true), 700);
        assert_eq!(unaccounted(10_000, 9_900, &c, true), -200, "counters claim more than was lost");
        assert_eq!(lost(5, 7), -2, "late answers of the previous step");
        assert_eq!(lost(u64::MAX, 0), i64::MAX);
    }
}
