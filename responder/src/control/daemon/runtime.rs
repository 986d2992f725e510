//! The running server as the control threads see it: the reloader, the
//! data plane and the kernel-socket counters, and the snapshot of them all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use super::reload::Reloader;
use super::snapshot::{QueueSnapshot, Snapshot, SteeringSnapshot, XdpSnapshot};
use super::systemd::Notifier;
use crate::capture::Capture;
use crate::stats::{Breakdowns, DnsCounters, Published, Registry, TcpCounters, Where};
use crate::xdp::DataPlane;

pub struct Runtime {
    started: Instant,
    pub reloader: Reloader,
    /// Taken out by the main thread at stop; readers lock it only to read
    /// counters, never the workers.
    pub plane: Mutex<Option<DataPlane>>,
    pub iface: Option<String>,
    pub udp: Option<Arc<Registry<DnsCounters>>>,
    pub tcp: Option<Arc<Registry<DnsCounters>>>,
    pub tcp_connections: Option<Arc<Published<TcpCounters>>>,
    /// Told about reloads, whoever asks for them (SIGHUP or `ctl reload`).
    pub notifier: Notifier,
    pub capture: Option<Arc<Capture>>,
    /// Every serving thread's breakdown cells (qtype, zone, sizes…).
    pub breakdowns: Arc<Breakdowns>,
    /// Learned tier-0 answers installed (`--xdp-answers …top=N`), once on.
    pub tier0_learned: OnceLock<Arc<AtomicU64>>,
}

impl Runtime {
    pub fn new(reloader: Reloader) -> Runtime {
        Runtime {
            started: Instant::now(),
            reloader,
            plane: Mutex::new(None),
            iface: None,
            udp: None,
            tcp: None,
            tcp_connections: None,
            capture: None,
            breakdowns: Arc::default(),
            tier0_learned: OnceLock::new(),
            notifier: Notifier::none(),
        }
    }

    /// The watchdog's check: every AF_XDP worker alive and beating within
    /// `max_age`. Without a data plane there is nothing to stall: the
    /// kernel-socket threads block in the kernel and cannot hang apart
    /// from the process.
    pub fn check_workers(&self, max_age: std::time::Duration) -> Result<(), String> {
        match self.plane.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(plane) => plane.check_workers(max_age),
            None => Ok(()),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let history = self.reloader.history();
        let sum = |registry: &Option<Arc<Registry<DnsCounters>>>| {
            let mut total = DnsCounters::default();
            for c in registry.iter().flat_map(|r| r.snapshots()) {
                total.add(&c);
            }
            total
        };
        let plane = self.plane.lock().unwrap_or_else(|e| e.into_inner());
        // The program's own answers, counted in the program.
        let tier0 = plane
            .as_ref()
            .and_then(|p| p.program().tier0_counters())
            .and_then(|cells| cells.map_err(|e| tracing::debug!("tier-0 counters: {e}")).ok());
        let tier0_capture_lost = plane
            .as_ref()
            .and_then(|p| p.program().tier0_capture_lost())
            .and_then(|lost| lost.map_err(|e| tracing::debug!("tier-0 capture losses: {e}")).ok());
        let xdp = plane.as_ref().map(|plane| XdpSnapshot {
            iface: self.iface.clone().unwrap_or_default(),
            attach: plane.attached_mode().map(|m| format!("{m:?}").to_lowercase()).unwrap_or_default(),
            queues: plane
                .live_stats()
                .into_iter()
                .map(|q| QueueSnapshot {
                    queue: q.queue,
                    cpu: q.cpu,
                    mode: q.mode.to_string(),
                    counters: q.counters,
                    kernel: q.kernel,
                    heartbeat_age: plane.program().liveness().age(q.queue),
                })
                .collect(),
            steering: plane.program().counters().ok().map(|c| SteeringSnapshot {
                outcomes: crate::xdp::program::Outcome::ALL.iter().map(|&o| (o.name(), c.get(o))).collect(),
            }),
            tier0_learned: self.tier0_learned.get().map(|n| n.load(Ordering::Relaxed)),
        });
        drop(plane);
        let mut breakdown = self.breakdowns.read();
        if let Some(cells) = &tier0 {
            breakdown.push((Where::XDP_KERNEL, cells.breakdown()));
        }
        Snapshot {
            uptime_secs: self.started.elapsed().as_secs_f64(),
            zones: history.zones.iter().map(|z| (z.name.clone(), z.serial)).collect(),
            rrsig_expiry: history.zones.iter().filter_map(|z| Some((z.name.clone(), z.rrsig_expires?))).collect(),
            reloads_ok: history.succeeded,
            reloads_failed: history.failed,
            last_reload_error: history.last_error,
            reloads_overlaid: history.overlaid,
            last_reload_path: history.last_path.map(|p| p.name()),
            last_reload_fallback: history.last_fallback,
            last_overlay: history.last_overlay.map(|o| (o.by, o.zones, o.records, o.compiled)),
            loaded_at: history.loaded_at,
            reload_failed_at: history.failed_at,
            process: super::snapshot::process::ProcessStats::read(),
            table_bytes: self.reloader.engine().load().table().as_bytes().len() as u64,
            xdp,
            udp: sum(&self.udp),
            tcp: sum(&self.tcp),
            tier0: tier0.map(|cells| cells.dns()),
            tcp_connections: self.tcp_connections.as_ref().map(|c| c.snapshot()).unwrap_or_default(),
            secondaries: super::secondary::snapshot(self),
            capture: self.capture.as_ref().map(|c| c.counters()),
            tier0_capture_lost,
            breakdown,
            transfers: crate::stats::TransferCounts::read(
                self.reloader.secondaries().map(|s| s.counters()),
                self.reloader.outbound().map(|o| o.counters()),
            ),
            zone_slots: self.reloader.zone_names().names(),
        }
    }
}
