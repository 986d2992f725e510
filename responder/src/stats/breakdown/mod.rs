//! Responses broken down the ways operators chart them: by query type, by
//! zone and rcode, DO set, TC sent, and query and response sizes.
//!
//! Each serving thread owns one [`Breakdown`]: fixed arrays of cells indexed
//! by small integers (a qtype lookup table, the zone's slot, the bucket of a
//! size), written only by that thread with a relaxed load and store (on
//! x86 one `add` to memory, no lock prefix), read by the metrics thread
//! whenever it scrapes. Nothing is copied to publish them, and a reader
//! sees every response counted so far.

pub mod qtype;
pub mod size;
pub mod zones;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::engine::policy::About;
use zones::SLOTS;

/// Rcode cells per zone, labelled as `DnsCounters::RCODES`.
const RCODES: usize = super::DnsCounters::RCODES.len();

/// The rcode's cell: 0–5 as themselves, BADVERS 6, anything else 7.
#[inline(always)]
fn rcode_index(rcode: u16) -> usize {
    const INDEX: [u8; 17] = [0, 1, 2, 3, 4, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6];
    (INDEX.get(rcode as usize).copied().unwrap_or(7) & 7) as usize
}

/// One thread's cells.
pub struct Breakdown {
    qtype: [AtomicU64; qtype::QTYPES.len()],
    /// `slot * 8 + rcode cell`.
    zone_rcode: [AtomicU64; SLOTS * RCODES],
    dnssec_ok: AtomicU64,
    tc: AtomicU64,
    query_size: Cells,
    response_size: Cells,
}

struct Cells {
    buckets: [AtomicU64; size::BUCKETS],
    sum: AtomicU64,
}

/// Adds `by` to a cell only this thread writes: no read-modify-write
/// instruction, so no lock and no contention with readers.
#[inline(always)]
fn add(cell: &AtomicU64, by: u64) {
    cell.store(cell.load(Relaxed).wrapping_add(by), Relaxed);
}

impl Cells {
    #[inline(always)]
    fn count(&self, len: usize) {
        add(&self.buckets[size::bucket(len)], 1);
        add(&self.sum, len as u64);
    }

    fn read(&self) -> Histogram {
        Histogram { buckets: self.buckets.each_ref().map(|c| c.load(Relaxed)), sum: self.sum.load(Relaxed) }
    }
}

impl Default for Cells {
    fn default() -> Cells {
        Cells { buckets: std::array::from_fn(|_| AtomicU64::new(0)), sum: AtomicU64::new(0) }
    }
}

impl Default for Breakdown {
    fn default() -> Breakdown {
        Breakdown {
            qtype: std::array::from_fn(|_| AtomicU64::new(0)),
            zone_rcode: std::array::from_fn(|_| AtomicU64::new(0)),
            dnssec_ok: AtomicU64::new(0),
            tc: AtomicU64::new(0),
            query_size: Cells::default(),
            response_size: Cells::default(),
        }
    }
}

impl Breakdown {
    /// A response decided (sent or not), with its full rcode.
    #[inline(always)]
    pub fn response(&self, about: &About, rcode: u16) {
        add(&self.qtype[qtype::index(about.qtype)], 1);
        let slot = (about.zone as usize).min(SLOTS - 1);
        add(&self.zone_rcode[slot * RCODES + rcode_index(rcode)], 1);
        add(&self.dnssec_ok, about.dnssec_ok as u64);
    }

    /// A DNS message read (`query_len` bytes) and what was sent back, if anything.
    #[inline(always)]
    pub fn message(&self, query_len: usize, answer: Option<&[u8]>) {
        self.query_size.count(query_len);
        if let Some(answer) = answer {
            self.response_size.count(answer.len());
            let flags = answer.get(2).copied().unwrap_or(0);
            add(&self.tc, (flags >> 1 & 1) as u64);
        }
    }

    /// What the cells hold now.
    pub fn read(&self) -> BreakdownCounts {
        let mut zone_rcode = vec![[0u64; RCODES]; SLOTS];
        for (i, cell) in self.zone_rcode.iter().enumerate() {
            zone_rcode[i / RCODES][i % RCODES] = cell.load(Relaxed);
        }
        BreakdownCounts {
            qtype: self.qtype.each_ref().map(|c| c.load(Relaxed)),
            zone_rcode,
            dnssec_ok: self.dnssec_ok.load(Relaxed),
            tc: self.tc.load(Relaxed),
            query_size: self.query_size.read(),
            response_size: self.response_size.read(),
        }
    }
}

/// A size histogram's buckets (not cumulative) and the sum of the sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Histogram {
    pub buckets: [u64; size::BUCKETS],
    pub sum: u64,
}

impl Histogram {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    fn add(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.sum += other.sum;
    }
}

/// A [`Breakdown`] as read, or several summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownCounts {
    /// Responses by `qtype::QTYPES`.
    pub qtype: [u64; qtype::QTYPES.len()],
    /// Responses by zone slot (see `zones`), then by `DnsCounters::RCODES`.
    pub zone_rcode: Vec<[u64; RCODES]>,
    /// Responses to queries with DO set.
    pub dnssec_ok: u64,
    /// Responses sent with TC set, whatever the reason (too big, RRL slip).
    pub tc: u64,
    /// Every DNS message read.
    pub query_size: Histogram,
    /// Every response sent.
    pub response_size: Histogram,
}

impl Default for BreakdownCounts {
    fn default() -> BreakdownCounts {
        BreakdownCounts {
            qtype: [0; qtype::QTYPES.len()],
            zone_rcode: vec![[0; RCODES]; SLOTS],
            dnssec_ok: 0,
            tc: 0,
            query_size: Histogram::default(),
            response_size: Histogram::default(),
        }
    }
}

impl BreakdownCounts {
    pub fn add(&mut self, other: &BreakdownCounts) {
        for (a, b) in self.qtype.iter_mut().zip(other.qtype) {
            *a += b;
        }
        for (a, b) in self.zone_rcode.iter_mut().zip(&other.zone_rcode) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self.dnssec_ok += other.dnssec_ok;
        self.tc += other.tc;
        self.query_size.add(&other.query_size);
        self.response_size.add(&other.response_size);
    }

    /// Responses counted (by any of the per-response dimensions).
    pub fn responses(&self) -> u64 {
        self.qtype.iter().sum()
    }
}

/// Where a thread serves: `path` xdp or kernel, `protocol` udp or tcp; or
/// the XDP program itself (`xdp-kernel`, tier 0: `xdp::tier0::stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Where {
    pub path: &'static str,
    pub protocol: &'static str,
}

impl Where {
    pub const XDP: Where = Where { path: "xdp", protocol: "udp" };
    pub const KERNEL_UDP: Where = Where { path: "kernel", protocol: "udp" };
    pub const KERNEL_TCP: Where = Where { path: "kernel", protocol: "tcp" };
    pub const XDP_KERNEL: Where = Where { path: "xdp-kernel", protocol: "udp" };
    /// The order series are shown in.
    const ORDER: [Where; 3] = [Where::KERNEL_UDP, Where::KERNEL_TCP, Where::XDP];
}

/// Every serving thread's breakdown, registered when the thread starts (the
/// lock is never taken per query).
#[derive(Default)]
pub struct Breakdowns {
    members: Mutex<Vec<(Where, Arc<Breakdown>)>>,
}

impl Breakdowns {
    pub fn register(&self, at: Where, cells: Arc<Breakdown>) {
        self.members.lock().unwrap_or_else(|e| e.into_inner()).push((at, cells));
    }

    /// The threads' counts summed by path and protocol, for those that have threads.
    pub fn read(&self) -> Vec<(Where, BreakdownCounts)> {
        let members = self.members.lock().unwrap_or_else(|e| e.into_inner());
        Where::ORDER
            .iter()
            .filter(|at| members.iter().any(|(w, _)| w == *at))
            .map(|&at| {
                let mut total = BreakdownCounts::default();
                for (_, cells) in members.iter().filter(|(w, _)| *w == at) {
                    total.add(&cells.read());
                }
                (at, total)
            })
            .collect()
    }
}

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod tests;
