//! Everything the counters say at one moment, gathered from every thread.

pub mod process;
pub mod render;

use crate::capture::CaptureCounters;
use crate::stats::{BreakdownCounts, DnsCounters, TcpCounters, TransferCounts, Where};
use crate::xdp::socket::KernelStats;
use crate::xdp::WorkerCounters;

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub uptime_secs: f64,
    /// Zone name and SOA serial, as served now.
    pub zones: Vec<(String, Option<u32>)>,
    /// Signed zones' earliest RRSIG expiration (seconds since 1970).
    pub rrsig_expiry: Vec<(String, u32)>,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    pub last_reload_error: Option<String>,
    /// Reloads applied as an overlay over the table (`incremental`), how
    /// the last one went (`full`, `overlay`) and why the last reload that
    /// could have been an overlay was compiled whole.
    pub reloads_overlaid: u64,
    pub last_reload_path: Option<&'static str>,
    pub last_reload_fallback: Option<String>,
    /// What the last load applied as an overlay did: what asked for it
    /// (`reload`, `zone-reload`, `transfer`), zones, records, names compiled.
    pub last_overlay: Option<(&'static str, usize, usize, usize)>,
    /// Unix seconds: when the served zones were loaded, when a reload last failed.
    pub loaded_at: f64,
    pub reload_failed_at: Option<f64>,
    pub process: Option<process::ProcessStats>,
    /// Bytes of the table serving now (the process's resident memory is in `process`).
    pub table_bytes: u64,
    pub xdp: Option<XdpSnapshot>,
    /// Kernel-socket UDP, summed over its threads.
    pub udp: DnsCounters,
    /// Kernel-socket TCP.
    pub tcp: DnsCounters,
    /// Answers the XDP program gave itself (tier 0), when it is loaded.
    pub tier0: Option<DnsCounters>,
    /// Kernel-socket TCP's connection table.
    pub tcp_connections: TcpCounters,
    /// Query capture (dnstap, pcap), when on.
    pub capture: Option<CaptureCounters>,
    /// Sampled tier-0 answers the XDP program could not put in its capture
    /// ring (full), when it captures them.
    pub tier0_capture_lost: Option<u64>,
    /// Zones pulled from primaries (empty when there are none).
    pub secondaries: Vec<SecondarySnapshot>,
    /// Responses by qtype, zone and rcode, DO, TC and sizes, per path and
    /// protocol that has serving threads.
    pub breakdown: Vec<(Where, BreakdownCounts)>,
    /// The zone counted in each breakdown slot (see `stats::breakdown::zones`).
    pub zone_slots: Vec<String>,
    /// Transfers and NOTIFYs in and out, since the start.
    pub transfers: TransferCounts,
}

#[derive(Debug, Clone, Default)]
pub struct SecondarySnapshot {
    pub zone: String,
    /// False until the first transfer when no copy was persisted: the zone
    /// answers REFUSED meanwhile.
    pub has_copy: bool,
    /// Past its SOA EXPIRE without a good refresh: answers SERVFAIL.
    pub expired: bool,
    /// Unix seconds at which the copy expires unless refreshed.
    pub expires: Option<f64>,
    /// Unix seconds of the last SOA check that succeeded, and of the last
    /// that failed (every primary), since the start.
    pub refreshed: Option<f64>,
    pub refresh_failed: Option<f64>,
    /// The last transfer that brought a new copy: AXFR or IXFR, and when
    /// (Unix seconds), since the start.
    pub transferred: Option<(String, f64)>,
}

#[derive(Debug, Clone, Default)]
pub struct XdpSnapshot {
    pub iface: String,
    /// How the program is attached: native or generic.
    pub attach: String,
    pub queues: Vec<QueueSnapshot>,
    /// The steering program's counters by outcome, summed over CPUs.
    pub steering: Option<SteeringSnapshot>,
    /// Learned tier-0 answers installed (`--xdp-answers …top=N`).
    pub tier0_learned: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct SteeringSnapshot {
    pub outcomes: Vec<(&'static str, u64)>,
}

#[derive(Debug, Clone)]
pub struct QueueSnapshot {
    pub queue: u32,
    pub cpu: Option<usize>,
    /// Socket mode: zero-copy or copy.
    pub mode: String,
    pub counters: WorkerCounters,
    pub kernel: Option<KernelStats>,
    /// How long ago the worker last showed progress (`None`: never).
    pub heartbeat_age: Option<std::time::Duration>,
}

impl Snapshot {
    /// Every path's DNS counters summed.
    pub fn total(&self) -> DnsCounters {
        let mut total = self.udp;
        total.add(&self.tcp);
        if let Some(tier0) = &self.tier0 {
            total.add(tier0);
        }
        for q in self.xdp.iter().flat_map(|x| &x.queues) {
            total.add(&q.counters.dns);
        }
        total
    }
}
