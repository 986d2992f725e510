//! The program's counts of the answers it gave itself (`ebpf/tier0_stats.h`),
//! summed over CPUs and read as the workers' counters are, so that
//! `ctl stats` and `/metrics` show them as `path="xdp-kernel"`.

use aya::maps::{MapData, PerCpuArray};
use aya::Ebpf;

use crate::stats::breakdown::{qtype::QTYPES, size, Histogram};
use crate::stats::{BreakdownCounts, DnsCounters};
use crate::xdp::program::XdpProgramError;

/// `struct t0_stats`, one CPU's or several summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Cells {
    /// Responses decided (sent, slipped or dropped), by `QTYPES`.
    pub qtype: [u64; QTYPES.len()],
    /// The same, by `DnsCounters::RCODES`.
    pub rcode: [u64; DnsCounters::RCODES.len()],
    pub dnssec_ok: u64,
    pub ipv6: u64,
    /// Rate limited: sent truncated.
    pub slipped: u64,
    /// Rate limited: not sent.
    pub dropped: u64,
    pub query_size: [u64; size::BUCKETS],
    pub query_bytes: u64,
    /// Responses sent (answers and slips).
    pub response_size: [u64; size::BUCKETS],
    pub response_bytes: u64,
}

// SAFETY: u64 fields only (no padding), valid for any bit pattern; what
// aya::Pod asks for copying from the kernel.
unsafe impl aya::Pod for Cells {}

impl Cells {
    fn add(&mut self, other: &Cells) {
        let pairs = [
            (&mut self.qtype[..], &other.qtype[..]),
            (&mut self.rcode[..], &other.rcode[..]),
            (&mut self.query_size[..], &other.query_size[..]),
            (&mut self.response_size[..], &other.response_size[..]),
        ];
        for (a, b) in pairs {
            for (x, y) in a.iter_mut().zip(b) {
                *x = x.wrapping_add(*y);
            }
        }
        for (x, y) in [
            (&mut self.dnssec_ok, other.dnssec_ok),
            (&mut self.ipv6, other.ipv6),
            (&mut self.slipped, other.slipped),
            (&mut self.dropped, other.dropped),
            (&mut self.query_bytes, other.query_bytes),
            (&mut self.response_bytes, other.response_bytes),
        ] {
            *x = x.wrapping_add(y);
        }
    }

    /// As a worker's counters: every tier-0 query gets a response decided,
    /// none is left unanswered, none is truncated for size (tier 0 holds no
    /// truncated answer).
    pub fn dns(&self) -> DnsCounters {
        let r = self.rcode;
        DnsCounters {
            queries: r.iter().sum(),
            unanswered: 0,
            noerror: r[0],
            formerr: r[1],
            servfail: r[2],
            nxdomain: r[3],
            notimp: r[4],
            refused: r[5],
            badvers: r[6],
            other_rcode: r[7],
            truncated: 0,
            slipped: self.slipped,
            rate_limited: self.dropped,
            ipv6: self.ipv6,
        }
    }

    /// As a breakdown. The program does not know the zone an answer came
    /// from, so there is no zone × rcode matrix (empty: no zone series).
    pub fn breakdown(&self) -> BreakdownCounts {
        BreakdownCounts {
            qtype: self.qtype,
            zone_rcode: Vec::new(),
            dnssec_ok: self.dnssec_ok,
            tc: self.slipped,
            query_size: Histogram { buckets: self.query_size, sum: self.query_bytes },
            response_size: Histogram { buckets: self.response_size, sum: self.response_bytes },
        }
    }
}

/// The program's `t0_stats` map.
pub struct Tier0Stats {
    map: PerCpuArray<MapData, Cells>,
}

impl Tier0Stats {
    pub(crate) fn take(ebpf: &mut Ebpf) -> Result<Tier0Stats, XdpProgramError> {
        let mismatch = |detail: String| XdpProgramError::ObjectMismatch { detail };
        let map = ebpf.take_map("t0_stats").ok_or_else(|| mismatch("no map `t0_stats`".into()))?;
        let map = PerCpuArray::try_from(map).map_err(|e| mismatch(format!("map `t0_stats`: {e}")))?;
        Ok(Tier0Stats { map })
    }

    /// Every CPU's cells summed. One system call: for `ctl stats` and
    /// scrapes, not the hot path.
    pub fn read(&self) -> Result<Cells, XdpProgramError> {
        let per_cpu = self
            .map
            .get(&0, 0)
            .map_err(|source| XdpProgramError::Map { action: "reading the tier-0 counters", source })?;
        let mut total = Cells::default();
        for cells in per_cpu.iter() {
            total.add(cells);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> &'static str {
        include_str!("../../../../ebpf/tier0_stats.h")
    }

    fn define(name: &str) -> String {
        let line = header()
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} missing from tier0_stats.h"));
        line[format!("#define {name} ").len()..].split("/*").next().unwrap().trim().to_owned()
    }

    #[test]
    fn the_layout_is_the_c_headers() {
        assert_eq!(define("T0S_QTYPES"), QTYPES.len().to_string());
        assert_eq!(define("T0S_RCODES"), DnsCounters::RCODES.len().to_string());
        assert_eq!(define("T0S_SIZES"), size::BUCKETS.to_string());
        // The counted types, in order, then `other`.
        let numbers: Vec<u16> = define("T0S_QTYPE_NUMBERS")
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .map(|n| n.trim().parse().unwrap())
            .collect();
        assert_eq!(numbers.len(), QTYPES.len() - 1);
        for (i, n) in numbers.iter().enumerate() {
            assert_eq!(crate::stats::breakdown::qtype::index(*n), i, "type {n}");
        }
        // The struct's fields, in order.
        let body = header().split("struct t0_stats {").nth(1).unwrap().split("};").next().unwrap();
        let fields: Vec<&str> = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("__u64 "))
            .map(|f| f.trim_end_matches(';').split('[').next().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "qtype",
                "rcode",
                "dnssec_ok",
                "ipv6",
                "slipped",
                "dropped",
                "query_size",
                "query_bytes",
                "response_size",
                "response_bytes"
            ]
        );
        assert_eq!(std::mem::size_of::<Cells>(), 8 * (16 + 8 + 4 + 10 + 1 + 10 + 1));
    }

    #[test]
    fn cells_read_as_the_workers_counters() {
        let mut a = Cells { slipped: 2, dropped: 3, ipv6: 1, dnssec_ok: 4, ..Cells::default() };
        a.rcode[0] = 9;
        a.rcode[3] = 1;
        a.qtype[3] = 10;
        a.query_size[2] = 10;
        a.query_bytes = 400;
        a.response_size[3] = 7;
        a.response_bytes = 600;
        let mut total = Cells::default();
        total.add(&a);
        total.add(&a);
        let dns = total.dns();
        assert_eq!((dns.queries, dns.noerror, dns.nxdomain, dns.responses()), (20, 18, 2, 20));
        assert_eq!((dns.slipped, dns.rate_limited, dns.answered(), dns.ipv6), (4, 6, 14, 2));
        let b = total.breakdown();
        assert_eq!((b.responses(), b.tc, b.dnssec_ok), (20, 4, 8));
        assert_eq!((b.query_size.count(), b.query_size.sum), (20, 800));
        assert_eq!((b.response_size.count(), b.response_size.sum), (14, 1200));
        assert!(b.zone_rcode.is_empty(), "no zone is known");
    }
}
