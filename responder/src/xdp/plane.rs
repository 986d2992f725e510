//! The data plane as one object: the steering program, one AF_XDP socket
//! and pinned worker per queue, started and stopped in the right order.
//!
//! Start: load the program (config and verifier errors before any thread
//! exists) → start the workers, each creating its own socket → register every
//! socket in the program's socket map → attach the program (which first
//! reads the interface's MAC and addresses) → start the address watcher
//! that keeps them current. By the time the first frame is steered, every
//! queue has a socket reading it.
//!
//! Once attached, a small thread watches the workers' liveness words and
//! logs a queue that falls back to the kernel (see [`super::liveness`]).
//!
//! Stop: stop that watcher (workers stop beating from here on), detach the
//! program and unregister the sockets (frames go to the
//! kernel stack again) → tell the workers to stop; each finishes what it had
//! received, waits briefly for its sends to complete, accounts for every
//! UMEM frame, and closes its socket. Sockets are closed only once nothing
//! steers to them.

use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::address_watch::AddressWatcher;
use super::liveness::Heartbeat;
use super::program::{AttachedMode, SteeringConfig, XdpMode, XdpProgram, XdpProgramError};
use super::queues::{self, CpuSelection, QueueSelection};
use super::socket::{kernel_stats_of, BindMode, BusyPoll, KernelStats, XskConfig, ZeroCopy};
use super::stall_watch::StallWatch;
use super::umem::UmemConfig;
use super::worker::{
    self, FrameHandler, QueueStats, WorkerConfig, WorkerCounters, WorkerError, WorkerHandle, WorkerSpec,
};

/// Everything that shapes the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPlaneConfig {
    pub iface: String,
    pub queues: QueueSelection,
    pub cpus: CpuSelection,
    pub zero_copy: ZeroCopy,
    pub xdp_mode: XdpMode,
    pub frame_size: u32,
    /// Frames per queue.
    pub frame_count: u32,
    /// Slots in each ring of each socket.
    pub ring_size: u32,
    /// RX descriptors handled per loop pass.
    pub batch: u32,
    pub busy_poll: Option<BusyPoll>,
    pub need_wakeup: bool,
    pub huge_pages: bool,
    pub steering: SteeringConfig,
}

impl DataPlaneConfig {
    /// Defaults for everything but the interface.
    pub fn new(iface: impl Into<String>) -> DataPlaneConfig {
        DataPlaneConfig {
            iface: iface.into(),
            queues: QueueSelection::All,
            cpus: CpuSelection::Auto,
            zero_copy: ZeroCopy::Auto,
            xdp_mode: XdpMode::Auto,
            frame_size: 2048,
            frame_count: 4096,
            ring_size: 2048,
            batch: 64,
            busy_poll: None,
            need_wakeup: true,
            huge_pages: false,
            steering: SteeringConfig::default(),
        }
    }

    fn validate(&self) -> Result<(), DataPlaneError> {
        let invalid = |reason: String| Err(DataPlaneError::Config(reason));
        if !self.ring_size.is_power_of_two() || !(64..=1 << 16).contains(&self.ring_size) {
            return invalid(format!("ring size {} must be a power of two in 64..=65536", self.ring_size));
        }
        if self.batch == 0 || self.batch > self.ring_size {
            return invalid(format!("batch {} must be in 1..=ring size ({})", self.batch, self.ring_size));
        }
        if self.frame_count < self.ring_size {
            return invalid(format!(
                "{} frames cannot keep a {}-slot fill ring full: use at least the ring size (2× is better)",
                self.frame_count, self.ring_size
            ));
        }
        self.umem().validate().map_err(DataPlaneError::Config)
    }

    fn umem(&self) -> UmemConfig {
        UmemConfig { frame_size: self.frame_size, frame_count: self.frame_count, huge_pages: self.huge_pages }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    #[error("data plane configuration: {0}")]
    Config(String),
    #[error("interface {iface}: {message}")]
    Interface { iface: String, message: String },
    #[error(transparent)]
    Program(#[from] XdpProgramError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error("cannot start the worker stall watcher: {0}")]
    Watch(std::io::Error),
}

/// One queue, as [`DataPlane::live_stats`] sees it.
#[derive(Debug, Clone)]
pub struct LiveQueueStats {
    pub queue: u32,
    pub cpu: Option<usize>,
    pub mode: BindMode,
    pub counters: WorkerCounters,
    pub kernel: Option<KernelStats>,
}

/// A running data plane. Dropping it without [`DataPlane::stop`] tears it
/// down the same way, without reporting.
pub struct DataPlane {
    watch: Option<StallWatch>,
    program: XdpProgram,
    workers: Vec<WorkerHandle>,
    stop: Arc<AtomicBool>,
    attached: Option<AttachedMode>,
    /// Follows the interface's addresses into the program's maps.
    addresses: Option<AddressWatcher>,
}

impl DataPlane {
    /// Starts serving `config.iface`; `make_handler(queue)` builds each
    /// queue's frame handler.
    pub fn start<H: FrameHandler>(
        config: &DataPlaneConfig,
        mut make_handler: impl FnMut(u32) -> H,
    ) -> Result<DataPlane, DataPlaneError> {
        config.validate()?;
        let interface_error = |message: String| DataPlaneError::Interface { iface: config.iface.clone(), message };
        let ifindex = interface_index(&config.iface).ok_or_else(|| interface_error("no such interface".into()))?;
        let available = queues::rx_queue_count(&config.iface).map_err(|e| interface_error(e.to_string()))?;
        let queue_ids = config.queues.resolve(available).map_err(interface_error)?;
        let local_cpus = queues::nic_numa_node(&config.iface).and_then(|node| queues::node_cpus(node).ok());
        let cpus = config
            .cpus
            .assign(queue_ids.len(), local_cpus.as_deref(), &queues::online_cpus())
            .map_err(DataPlaneError::Config)?;

        let program = XdpProgram::load(&config.steering)?;
        let mut plane = DataPlane {
            watch: None,
            program,
            workers: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            attached: None,
            addresses: None,
        };
        let xsk = XskConfig {
            umem: config.umem(),
            ring_size: config.ring_size,
            zero_copy: config.zero_copy,
            need_wakeup: config.need_wakeup,
            busy_poll: config.busy_poll,
        };
        let worker =
            WorkerConfig { batch: config.batch, busy_poll: config.busy_poll.is_some(), ..WorkerConfig::default() };
        // On any error below, dropping `plane` stops what was started.
        for (&queue, &cpu) in queue_ids.iter().zip(&cpus) {
            let spec = WorkerSpec { ifindex, queue, cpu: Some(cpu), xsk, worker };
            let heartbeat = Heartbeat::new(Arc::clone(plane.program.liveness()), queue);
            let handle = worker::spawn(spec, make_handler(queue), Arc::clone(&plane.stop), heartbeat)?;
            tracing::info!(iface = config.iface, queue, cpu, mode = %handle.mode, "AF_XDP worker started");
            plane.workers.push(handle);
        }
        for handle in &plane.workers {
            plane.program.register_socket(handle.queue, handle.socket_fd.as_raw_fd())?;
        }
        // Subscribed before attach reads the addresses: no change is missed.
        let events = AddressWatcher::subscribe()
            .map_err(|e| interface_error(format!("subscribing to address changes (netlink): {e}")))?;
        let attached = plane.program.attach(&config.iface, config.xdp_mode)?;
        let watcher = AddressWatcher::spawn(events, ifindex, config.iface.clone(), plane.program.addresses())
            .map_err(|e| interface_error(format!("starting the address watcher: {e}")))?;
        plane.addresses = Some(watcher);
        if attached == AttachedMode::Generic && plane.workers.iter().any(|w| w.mode == BindMode::ZeroCopy) {
            tracing::warn!(iface = config.iface, "zero-copy sockets behind a generic-mode XDP program get copies");
        }
        plane.attached = Some(attached);
        let threshold = config.steering.stall_threshold;
        if !threshold.is_zero() {
            let queues = plane.workers.iter().map(|w| w.queue).collect();
            let liveness = Arc::clone(plane.program.liveness());
            plane.watch = Some(StallWatch::start(liveness, queues, threshold).map_err(DataPlaneError::Watch)?);
        }
        Ok(plane)
    }

    /// How the steering program is attached.
    pub fn attached_mode(&self) -> Option<AttachedMode> {
        self.attached
    }

    /// The queues served, with the mode each socket obtained.
    pub fn queues(&self) -> Vec<(u32, BindMode)> {
        self.workers.iter().map(|w| (w.queue, w.mode)).collect()
    }

    /// Counters as the workers last published them (at most one idle period
    /// or a few thousand batches old).
    pub fn counters(&self) -> Vec<(u32, WorkerCounters)> {
        self.workers.iter().map(|w| (w.queue, w.counters.snapshot())).collect()
    }

    /// Each queue's counters and the kernel's statistics for its socket,
    /// read now without disturbing the workers.
    pub fn live_stats(&self) -> Vec<LiveQueueStats> {
        self.workers
            .iter()
            .map(|w| LiveQueueStats {
                queue: w.queue,
                cpu: w.cpu,
                mode: w.mode,
                counters: w.counters.snapshot(),
                kernel: kernel_stats_of(w.socket_fd.as_fd()).ok(),
            })
            .collect()
    }

    /// Whether every worker thread still runs and showed progress within
    /// `max_age` (an idle worker beats too): the service watchdog's check.
    pub fn check_workers(&self, max_age: std::time::Duration) -> Result<(), String> {
        for w in &self.workers {
            if !w.is_running() {
                return Err(format!("the AF_XDP worker of queue {} has stopped", w.queue));
            }
            match self.program.liveness().age(w.queue) {
                Some(age) if age <= max_age => {}
                Some(age) => {
                    return Err(format!("the AF_XDP worker of queue {} made no progress for {age:.1?}", w.queue))
                }
                None => return Err(format!("the AF_XDP worker of queue {} never beat", w.queue)),
            }
        }
        Ok(())
    }

    pub fn program(&self) -> &XdpProgram {
        &self.program
    }

    /// Stops steering, stops the workers and returns each queue's final
    /// statistics. A queue whose UMEM frames do not all add up is logged as
    /// an error and shows it in [`QueueStats::frames_balanced`].
    pub fn stop(mut self) -> Result<Vec<QueueStats>, DataPlaneError> {
        let result = self.stop_steering();
        let stats = self.stop_workers();
        result.map(|()| stats)
    }

    fn stop_steering(&mut self) -> Result<(), DataPlaneError> {
        // Stopping workers stop beating: that is not a stall worth a warning.
        self.watch = None;
        self.addresses = None;
        // Detach first so no frame is steered to a queue being unregistered.
        let detached = self.program.detach();
        let mut unregistered = Ok(());
        for handle in &self.workers {
            if let Err(e) = self.program.unregister_socket(handle.queue) {
                unregistered = Err(e);
            }
        }
        detached?;
        unregistered?;
        Ok(())
    }

    fn stop_workers(&mut self) -> Vec<QueueStats> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::with_capacity(self.workers.len());
        for handle in self.workers.drain(..) {
            let queue = handle.queue;
            let Some(stats) = handle.join() else {
                tracing::error!(queue, "AF_XDP worker panicked; its statistics are lost");
                continue;
            };
            if !stats.frames_balanced() {
                tracing::error!(queue, frames = ?stats.frames, "UMEM frames do not add up at stop");
            }
            all.push(stats);
        }
        all
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        if !self.workers.is_empty() {
            let _ = self.stop_steering();
            self.stop_workers();
        }
    }
}

fn interface_index(iface: &str) -> Option<u32> {
    let name = std::ffi::CString::new(iface).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string for the call's duration.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated_before_anything_starts() {
        let ok = DataPlaneConfig::new("lo");
        assert!(ok.validate().is_ok());
        for bad in [
            DataPlaneConfig { ring_size: 1000, ..ok.clone() },
            DataPlaneConfig { batch: 0, ..ok.clone() },
            DataPlaneConfig { frame_count: 1024, ..ok.clone() },
            DataPlaneConfig { frame_size: 1500, ..ok.clone() },
        ] {
            assert!(matches!(bad.validate(), Err(DataPlaneError::Config(_))), "{bad:?} accepted");
        }
    }
}
