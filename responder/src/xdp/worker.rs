//! One pinned thread per AF_XDP socket: receive a batch, answer each frame in
//! place, send the answers from the very same UMEM frames.
//!
//! # The loop, and who owns which frame when
//!
//! 1. **Completions first.** Frames the kernel has finished sending come back
//!    through the completion ring (`Tx → Free`), so they can be lent again.
//! 2. **Keep the fill ring full** from the free stack (`Free → Fill`): a
//!    driver that finds it empty drops packets.
//! 3. **RX batch.** At most `batch` descriptors, and no more than the TX
//!    ring has room for, so an answer never waits for a TX slot. Each frame
//!    (`Fill → App`, an [`super::pool::RxFrame`]) goes to the
//!    [`FrameHandler`]; `Transmit` puts the same address, with the new
//!    length, on the TX ring (`App → Tx`); `Drop` and `Pass` return it to the
//!    free stack (`App → Free`). The frame pool makes these the only moves. A `Pass` cannot be
//!    re-injected into the kernel from user space; the XDP program already
//!    passes non-DNS traffic, so it is counted and dropped.
//! 4. **Submit TX and kick** with `sendto(MSG_DONTWAIT)` when the kernel
//!    asks for it (need-wakeup) or always without need-wakeup. In copy mode a
//!    `sendto` moves at most ~32 frames, so we kick again while that makes
//!    progress, but never wait for completions.
//! 5. **Idle:** `poll()` with a short timeout so a stop request is seen
//!    promptly; with busy polling, a non-blocking `recvfrom` instead, which
//!    runs the driver's NAPI loop in our context.
//! 6. **Heartbeat:** after a pass that answered something or found the RX
//!    ring empty, the queue's liveness word gets the time (a store into
//!    mapped memory, see [`super::liveness`]). A worker with queries waiting
//!    that it cannot take stops beating, and so does one that is stopped or
//!    hung: past the stall threshold the XDP program passes its queue's
//!    queries to the kernel. The poll timeout is far below that threshold,
//!    so an idle worker keeps beating.
//!
//! Nothing here allocates, locks or makes a system call per packet: the free
//! stack is preallocated to hold every frame, counters are plain integers
//! owned by the worker and published to readers once per idle period or
//! every few thousand iterations.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::liveness::Heartbeat;
use super::socket::{BindMode, KernelStats, XskConfig, XskError, XskSocket};
use super::umem::{FrameAccounting, Owner};
use crate::engine::Verdict;
use crate::stats::{CounterSet, DnsCounters, Published};

/// Turns a received frame into its answer.
pub trait FrameHandler: Send + 'static {
    /// Called before each non-empty RX batch.
    fn begin_batch(&mut self) {}

    /// Called with each packet of an RX batch before any is handled, then
    /// [`FrameHandler::prefetched`] once: the moment to request the memory
    /// the batch will need, so that its cache misses overlap.
    fn prefetch(&mut self, _packet: &[u8]) {}

    /// Called after every packet of the batch went through `prefetch`.
    fn prefetched(&mut self) {}

    /// `frame` runs from the first byte of the packet to the end of its UMEM
    /// frame; the packet is `frame[..len]` and the answer may use up to
    /// `capacity` (= `frame.len()`) bytes. `Transmit(n)` sends `frame[..n]`.
    fn handle(&mut self, frame: &mut [u8], len: usize, capacity: usize) -> Verdict;

    /// What the handler counted, published with the worker's own counters.
    fn dns_counters(&self) -> DnsCounters {
        DnsCounters::default()
    }

    /// Called when the worker publishes its counters: the moment to hand
    /// anything else it collects to the control threads.
    fn hand_off(&mut self) {}
}

/// What a worker has done. Plain integers: only the worker writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerCounters {
    /// Frames read from the RX ring.
    pub rx: u64,
    /// Answers put on the TX ring.
    pub tx: u64,
    /// Frames the handler dropped (or answered with an impossible length).
    pub dropped: u64,
    /// Frames the handler wanted passed to the kernel (dropped: see above).
    pub passed: u64,
    /// Descriptors the kernel handed back that we never lent it or that point
    /// outside the UMEM; never expected, counted rather than trusted.
    pub invalid: u64,
    /// Times the fill ring was found completely drained by the kernel.
    pub fill_ring_empty: u64,
    /// Times RX work was held back because the TX ring was full.
    pub tx_ring_full: u64,
    /// `sendto` kicks made.
    pub tx_kicks: u64,
    /// The handler's count of the answers, by rcode and rate limiting.
    pub dns: DnsCounters,
}

/// Fields before `dns` in the flattened form.
const RING_FIELDS: usize = 8;

impl CounterSet for WorkerCounters {
    const LEN: usize = RING_FIELDS + DnsCounters::LEN;

    fn write_to(&self, out: &mut [u64]) {
        out[..RING_FIELDS].copy_from_slice(&[
            self.rx,
            self.tx,
            self.dropped,
            self.passed,
            self.invalid,
            self.fill_ring_empty,
            self.tx_ring_full,
            self.tx_kicks,
        ]);
        self.dns.write_to(&mut out[RING_FIELDS..]);
    }

    fn read_from(v: &[u64]) -> WorkerCounters {
        WorkerCounters {
            rx: v[0],
            tx: v[1],
            dropped: v[2],
            passed: v[3],
            invalid: v[4],
            fill_ring_empty: v[5],
            tx_ring_full: v[6],
            tx_kicks: v[7],
            dns: DnsCounters::read_from(&v[RING_FIELDS..]),
        }
    }
}

/// A worker's counters as last published, readable from any thread.
pub type PublishedCounters = Published<WorkerCounters>;

/// Everything known about one queue when its worker stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub queue: u32,
    pub cpu: Option<usize>,
    pub mode: BindMode,
    pub counters: WorkerCounters,
    /// `XDP_STATISTICS` at exit; `None` if the kernel would not say.
    pub kernel: Option<KernelStats>,
    pub frames: FrameAccounting,
}

impl QueueStats {
    /// Every UMEM frame is accounted for (see [`FrameAccounting::balanced`]).
    pub fn frames_balanced(&self) -> bool {
        self.frames.balanced(self.mode == BindMode::Copy)
    }
}

/// How a worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// RX descriptors per batch.
    pub batch: u32,
    /// Spin with non-blocking calls instead of sleeping in `poll()`.
    pub busy_poll: bool,
    /// Longest sleep in `poll()`: bounds how long a stop request waits.
    pub idle_timeout: Duration,
    /// Longest time spent at stop finishing queries already received and
    /// waiting for sent frames to complete.
    pub drain_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            batch: 64,
            busy_poll: false,
            idle_timeout: Duration::from_millis(10),
            drain_timeout: Duration::from_millis(200),
        }
    }
}

/// What a worker needs to start.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSpec {
    pub ifindex: u32,
    pub queue: u32,
    pub cpu: Option<usize>,
    pub xsk: XskConfig,
    pub worker: WorkerConfig,
}

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Socket(#[from] XskError),
    #[error("queue {queue}: cannot pin the worker to CPU {cpu}")]
    Pin { queue: u32, cpu: usize },
    #[error("queue {queue}: cannot start the worker thread: {source}")]
    Spawn { queue: u32, source: io::Error },
    #[error("queue {queue}: the worker thread died while starting")]
    Died { queue: u32 },
}

/// A running worker, seen from the thread that started it.
pub struct WorkerHandle {
    pub queue: u32,
    pub cpu: Option<usize>,
    pub mode: BindMode,
    /// A duplicate of the socket's descriptor, for registering it with the
    /// XDP program; the worker owns the socket itself.
    pub socket_fd: OwnedFd,
    pub counters: Arc<PublishedCounters>,
    /// `None` only when start-up failed, which `spawn` has already reported.
    thread: JoinHandle<Option<QueueStats>>,
}

impl WorkerHandle {
    /// Waits for the worker to finish (after `stop` was set) and returns
    /// its final statistics; `None` if the thread panicked.
    pub fn join(self) -> Option<QueueStats> {
        self.thread.join().ok().flatten()
    }

    /// Whether the worker thread still runs (it ends only at stop, on a
    /// socket error or by panicking).
    pub fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }
}

/// Starts a worker thread. The thread pins itself, then creates its socket,
/// so that the UMEM is first touched (and pinned by the kernel) on the
/// worker's NUMA node. Returns once the socket is bound, or with its error;
/// by then the worker has beaten once, so registering its socket steers
/// queries to it at once.
pub fn spawn<H: FrameHandler>(
    spec: WorkerSpec,
    handler: H,
    stop: Arc<AtomicBool>,
    heartbeat: Heartbeat,
) -> Result<WorkerHandle, WorkerError> {
    let (queue, cpu) = (spec.queue, spec.cpu);
    let counters = Arc::new(PublishedCounters::default());
    let published = Arc::clone(&counters);
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(OwnedFd, BindMode), WorkerError>>(1);
    let thread = std::thread::Builder::new()
        .name(format!("xsk-q{queue}"))
        .spawn(move || -> Option<QueueStats> {
            let started = start_in_thread(&spec);
            let socket = match started {
                Ok(socket) => socket,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return None;
                }
            };
            let dup = match socket.duplicate_fd() {
                Ok(fd) => fd,
                Err(source) => {
                    let _ = ready_tx.send(Err(WorkerError::Spawn { queue, source }));
                    return None;
                }
            };
            heartbeat.beat();
            let _ = ready_tx.send(Ok((dup, socket.mode())));
            Some(Worker::new(socket, handler, spec, published, heartbeat).run(&stop))
        })
        .map_err(|source| WorkerError::Spawn { queue, source })?;
    match ready_rx.recv() {
        Ok(Ok((socket_fd, mode))) => Ok(WorkerHandle { queue, cpu, mode, socket_fd, counters, thread }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(WorkerError::Died { queue })
        }
    }
}

fn start_in_thread(spec: &WorkerSpec) -> Result<XskSocket, WorkerError> {
    if let Some(cpu) = spec.cpu {
        if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
            return Err(WorkerError::Pin { queue: spec.queue, cpu });
        }
    }
    Ok(XskSocket::new(spec.ifindex, spec.queue, &spec.xsk)?)
}

/// The worker's state: its socket (with the frame pool) and its counters.
pub(crate) struct Worker<H> {
    socket: XskSocket,
    handler: H,
    counters: WorkerCounters,
    published: Arc<PublishedCounters>,
    spec: WorkerSpec,
    heartbeat: Heartbeat,
}

/// Busy iterations between counter publications.
const PUBLISH_EVERY: u32 = 4096;

impl<H: FrameHandler> Worker<H> {
    fn new(
        socket: XskSocket,
        handler: H,
        spec: WorkerSpec,
        published: Arc<PublishedCounters>,
        heartbeat: Heartbeat,
    ) -> Worker<H> {
        Worker { socket, handler, counters: WorkerCounters::default(), published, spec, heartbeat }
    }

    fn run(mut self, stop: &AtomicBool) -> QueueStats {
        self.refill();
        let mut busy_iterations = 0u32;
        while !stop.load(Ordering::Relaxed) {
            #[cfg(feature = "test-hooks")]
            crate::test_hooks::stall_point(self.spec.queue);
            let received = self.step();
            if received > 0 || !self.socket.rx_waiting() {
                self.heartbeat.beat();
            }
            if received > 0 {
                busy_iterations += 1;
                if busy_iterations >= PUBLISH_EVERY {
                    self.publish();
                    busy_iterations = 0;
                }
                continue;
            }
            self.publish();
            busy_iterations = 0;
            if self.spec.worker.busy_poll {
                self.socket.wake_fill();
            } else {
                self.socket.poll_rx(self.spec.worker.idle_timeout);
            }
        }
        self.finish()
    }

    fn publish(&mut self) {
        self.handler.hand_off();
        self.counters.dns = self.handler.dns_counters();
        self.published.publish(&self.counters);
    }

    /// One pass of the loop; returns the frames received.
    fn step(&mut self) -> u32 {
        self.recycle_completions();
        if self.refill() && self.counters.rx > 0 {
            self.counters.fill_ring_empty += 1;
        }
        let received = self.receive_and_answer();
        self.kick_tx();
        received
    }

    /// Completion ring → free stack.
    fn recycle_completions(&mut self) {
        let invalid = self.socket.pool_mut().recycle_completions();
        self.counters.invalid += u64::from(invalid);
    }

    /// Free stack → fill ring. Returns whether the ring had been drained
    /// empty by the kernel (it may have dropped packets meanwhile).
    fn refill(&mut self) -> bool {
        let done = self.socket.pool_mut().refill();
        self.counters.invalid += u64::from(done.invalid);
        done.was_empty
    }

    /// RX ring → handler → TX ring or free stack.
    fn receive_and_answer(&mut self) -> u32 {
        let Some(mut batch) = self.socket.rx_batch(self.spec.worker.batch) else {
            // Queries are left in the RX ring until answers can be sent.
            if self.socket.rx_waiting() {
                self.counters.tx_ring_full += 1;
            }
            return 0;
        };
        if !batch.is_empty() {
            // Shows the handler each packet before it answers any (see
            // [`FrameHandler::prefetch`]); read only, the frames are taken,
            // and checked, when they are handled.
            self.handler.begin_batch();
            for i in 0..batch.len() {
                if let Some(packet) = batch.packet(i) {
                    self.handler.prefetch(packet);
                }
            }
            self.handler.prefetched();
        }
        while let Some(mut frame) = batch.next_frame() {
            let len = frame.len();
            let bytes = frame.bytes();
            let capacity = bytes.len();
            match self.handler.handle(bytes, len, capacity) {
                // An impossible length is refused, and the frame recycled.
                Verdict::Transmit(len) => {
                    if !frame.transmit(len) {
                        self.counters.dropped += 1;
                    }
                }
                Verdict::Pass => {
                    self.counters.passed += 1;
                    frame.recycle();
                }
                Verdict::Drop => {
                    self.counters.dropped += 1;
                    frame.recycle();
                }
            }
        }
        let done = batch.finish();
        self.counters.invalid += u64::from(done.invalid);
        self.counters.dropped += u64::from(done.oversized);
        self.counters.rx += u64::from(done.received);
        self.counters.tx += u64::from(done.sent);
        done.received
    }

    /// Wakes the kernel to send what the TX ring holds, if it needs waking.
    fn kick_tx(&mut self) {
        let copy_mode = self.socket.mode() == BindMode::Copy;
        // Each copy-mode sendto sends at most 32 frames (the kernel's
        // TX_BATCH_SIZE); zero-copy drivers drain the whole ring per wakeup.
        let max_kicks = if copy_mode { self.socket.ring_size() / 32 + 1 } else { 1 };
        let mut outstanding = self.socket.tx_outstanding();
        for _ in 0..max_kicks {
            if outstanding == 0 || (self.socket.uses_need_wakeup() && !self.socket.tx_needs_wakeup()) {
                return;
            }
            self.socket.kick_tx();
            self.counters.tx_kicks += 1;
            let now = self.socket.tx_outstanding();
            if !copy_mode || now >= outstanding {
                // Zero-copy sends asynchronously; in copy mode no progress
                // means the completion ring is full: try again next pass.
                return;
            }
            outstanding = now;
        }
    }

    /// After the XDP program stopped steering to us: answer what was already
    /// received, wait (bounded) for sent frames to complete, then account
    /// for every frame and read the kernel's statistics.
    fn finish(mut self) -> QueueStats {
        let deadline = Instant::now() + self.spec.worker.drain_timeout;
        while Instant::now() < deadline {
            let received = self.step();
            if received == 0 && self.socket.pool().count(Owner::Tx) == 0 {
                break;
            }
            if received == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        self.publish();
        QueueStats {
            queue: self.spec.queue,
            cpu: self.spec.cpu,
            mode: self.socket.mode(),
            counters: self.counters,
            kernel: self.socket.kernel_stats().ok(),
            frames: self.socket.frame_accounting(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_publish_and_snapshot_round_trip() {
        let counters = WorkerCounters {
            rx: 1,
            tx: 2,
            dropped: 3,
            passed: 4,
            invalid: 5,
            fill_ring_empty: 6,
            tx_ring_full: 7,
            tx_kicks: 8,
            dns: DnsCounters { noerror: 9, nxdomain: 10, rate_limited: 11, ..DnsCounters::default() },
        };
        let published = PublishedCounters::default();
        assert_eq!(published.snapshot(), WorkerCounters::default());
        published.publish(&counters);
        assert_eq!(published.snapshot(), counters);
    }
}
