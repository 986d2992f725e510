//! Kernel-socket serving: the answer engine over ordinary UDP and TCP
//! sockets, for hosts without XDP, for TCP beside XDP, and for tests.
//!
//! Threads: per listen address, `udp_workers` UDP threads, each blocking on
//! its own `SO_REUSEPORT` socket (and pinned to a CPU of its own when
//! steered per CPU, `udp/steering.rs`); plus one TCP event-loop thread for all
//! addresses (`tcp/mod.rs` explains why one is enough).

mod bind;
mod config;
mod engine;
pub mod query_log;
mod tcp;
mod udp;

#[cfg(test)]
mod steering_tests;
#[cfg(test)]
mod tests;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use tracing::{error, info, warn};

pub use self::config::{ServerConfig, TcpLimits};
pub use self::engine::{EngineAnswerer, NotifyHandler, TransferAnswer, TransferHandler};
use crate::engine::Transport;
use crate::stats::{Published, TcpCounters};

/// Makes each serving thread its own [`Session`], so that threads share
/// nothing mutable while they serve (counters, rate-limit state).
pub trait Answerer: Send + Sync + 'static {
    /// Called once by each thread as it starts, with the transport it serves.
    fn session(&self, transport: Transport) -> Box<dyn Session>;
}

/// One thread's answerer.
pub trait Session: Send {
    /// Answers one DNS message in place: `buf[..len]` is the query from
    /// `client` (its address bytes, or empty), `buf.len()` the room for the
    /// answer. Returns the answer's length, or `None` to send nothing.
    fn answer(&mut self, buf: &mut [u8], len: usize, transport: Transport, client: &[u8]) -> Option<usize>;

    /// Hints that `query` (a whole DNS message) is about to be answered,
    /// so its table lookups can start beside the others of its batch (see
    /// `engine::Prefetch`); ended by [`Session::prefetched`].
    fn prefetch(&mut self, _query: &[u8]) {}

    /// Every query of the batch went through [`Session::prefetch`].
    fn prefetched(&mut self) {}

    /// Whether the session captures queries (see `capture`), and so wants
    /// [`Session::peer`] before each one.
    fn captures(&self) -> bool {
        false
    }

    /// The client and server socket addresses of the next query.
    fn peer(&mut self, _client: SocketAddr, _server: SocketAddr) {}

    /// After an answer over TCP: the rest of a multi-message answer (a
    /// zone transfer) to send before any later query is answered.
    fn take_stream(&mut self) -> Option<Box<dyn MessageStream>> {
        None
    }
}

/// The next message of a multi-message answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A message of this length was written.
    Message(usize),
    /// The answer is complete.
    Done,
    /// The answer cannot be completed (a time limit): close the connection,
    /// so the client sees it cut short rather than waiting.
    Abort,
}

/// The messages after the first of a multi-message answer, made one at a
/// time as the connection's output drains, so a whole zone is never
/// buffered.
pub trait MessageStream: Send {
    /// Writes the next message into `buf` (64 KiB).
    fn next(&mut self, buf: &mut [u8]) -> Step;
}

/// A running server; dropping it stops it too.
pub struct Server {
    local_addrs: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    /// Kept to wake the UDP workers at shutdown.
    udp_sockets: Vec<Arc<UdpSocket>>,
    tcp_waker: mio::Waker,
    /// The TCP connection table's counters, published by its event loop.
    tcp_connections: Arc<Published<TcpCounters>>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds every address, then starts serving. Any failure (invalid
    /// configuration, an address in use, a privileged port) is returned
    /// naming its cause, with nothing left running or bound.
    pub fn start(config: ServerConfig, answerer: Arc<dyn Answerer>) -> io::Result<Server> {
        config.validate()?;
        let mut local_addrs = Vec::with_capacity(config.listen.len());
        let mut udp = Vec::new();
        let mut listeners = Vec::with_capacity(config.listen.len());
        let steering = udp::choose_steering(config.cpu_steering, config.udp_workers);
        for &addr in &config.listen {
            let bound = bind::bind(addr, config.udp_workers, config.share_port)?;
            local_addrs.push(bound.local);
            // Each listen address is a reuseport group of its own, steered
            // (or not) on its own; its workers are pinned only if it is.
            let cpus = match (&steering, bound.udp.first()) {
                (Some(cpus), Some(first)) if udp::attach_steering(first, bound.udp.len(), bound.local) => {
                    cpus.iter().copied().map(Some).collect()
                }
                _ => vec![None; bound.udp.len()],
            };
            udp.extend(bound.udp.into_iter().map(Arc::new).zip(cpus));
            listeners.push(bound.tcp);
        }
        if let Some(cpus) = &steering {
            if udp.iter().any(|(_, cpu)| cpu.is_some()) {
                info!(
                    ?cpus,
                    "UDP per-CPU steering on: each listen address's socket N is read on the Nth of these CPUs"
                );
            }
        }
        if let Some(usecs) = config.busy_poll_usecs {
            busy_poll(udp.iter().map(|(socket, _)| socket), usecs);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tcp_connections = Arc::new(Published::default());
        let (tcp_loop, tcp_waker) = tcp::EventLoop::new(
            listeners,
            answerer.session(Transport::Tcp),
            config.tcp.clone(),
            Arc::clone(&tcp_connections),
            Arc::clone(&stop),
        )?;

        // From here a failure drops `server`, which stops and joins the
        // threads already started.
        let mut server = Server {
            local_addrs,
            stop,
            udp_sockets: Vec::with_capacity(udp.len()),
            tcp_waker,
            tcp_connections,
            threads: Vec::with_capacity(udp.len() + 1),
        };
        for (index, (socket, cpu)) in udp.into_iter().enumerate() {
            server.udp_sockets.push(Arc::clone(&socket));
            let (answerer, stop) = (Arc::clone(&answerer), Arc::clone(&server.stop));
            server.spawn(format!("dns-udp-{index}"), move || {
                if let Some(cpu) = cpu {
                    udp::pin(cpu);
                }
                let mut session = answerer.session(Transport::Udp);
                udp::serve(&socket, &mut *session, &stop)
            })?;
        }
        server.spawn("dns-tcp".to_owned(), move || tcp_loop.run())?;
        info!(addrs = ?server.local_addrs, udp_workers = config.udp_workers, "kernel-socket server started");
        Ok(server)
    }

    /// The addresses served, in configuration order, with any port 0
    /// replaced by the port actually bound (the same for UDP and TCP).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// What the TCP connection table let in, turned away and closed.
    pub fn tcp_connection_counters(&self) -> Arc<Published<TcpCounters>> {
        Arc::clone(&self.tcp_connections)
    }

    /// Stops all threads and waits for them; returns promptly because every
    /// thread is woken, not polled.
    pub fn shutdown(self) {
        drop(self);
    }

    fn spawn(&mut self, name: String, work: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let handle = thread::Builder::new()
            .name(name.clone())
            .spawn(work)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start thread {name}: {e}")))?;
        self.threads.push(handle);
        Ok(())
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.udp_sockets.iter().for_each(|socket| udp::wake(socket));
        // The waker stays alive until the loop has exited: closing its fd
        // would withdraw a wake-up the loop has not collected yet.
        if let Err(e) = self.tcp_waker.wake() {
            error!(error = %e, "cannot wake the TCP event loop; its thread may not stop");
        }
        for handle in self.threads.drain(..) {
            let name = handle.thread().name().unwrap_or("?").to_owned();
            if handle.join().is_err() {
                error!(thread = %name, "server thread panicked");
            }
        }
    }
}

/// Turns busy polling on for every UDP socket; a refusal (no
/// CAP_NET_ADMIN, an old kernel) is worth one warning, not a failed start.
fn busy_poll<'a>(sockets: impl Iterator<Item = &'a Arc<UdpSocket>>, usecs: u32) {
    // Every socket is tried: one refusal does not stop the others.
    let mut refused = None;
    let mut count = 0;
    for socket in sockets {
        count += 1;
        if let Err(error) = udp::enable_busy_poll(&**socket, usecs) {
            refused = Some(error);
        }
    }
    match refused {
        None => info!(usecs, sockets = count, "UDP busy polling on"),
        Some(error) => warn!(
            %error,
            "UDP busy polling not enabled: SO_BUSY_POLL and SO_PREFER_BUSY_POLL need CAP_NET_ADMIN \
             (and Linux 5.11); serving with interrupts as usual"
        ),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
