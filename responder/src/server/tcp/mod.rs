//! DNS over TCP: one event-loop thread for every listener and connection.
//!
//! Answering is a pure in-memory computation of microseconds, so the only
//! thing worth parallelising would be the system calls; one thread serves
//! thousands of connections, and idle or hostile ones cost a little memory,
//! never a thread. Readiness is edge-triggered: each event is followed by as
//! much work as the socket allows (see [`Connection::drive`]).

mod connection;
mod slots;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use tracing::{debug, trace, warn};

use self::connection::{Closed, Connection, Status};
use self::slots::Slots;
use super::config::TcpLimits;
use super::Session;

/// Wakes the loop for shutdown.
const WAKE_TOKEN: Token = Token(usize::MAX);

/// Readiness events taken per poll.
const EVENTS_PER_POLL: usize = 256;

/// Room for the largest answer a 2-byte length prefix can frame.
const MAX_TCP_MESSAGE: usize = u16::MAX as usize;

pub(super) struct EventLoop {
    poll: Poll,
    /// Listener `i` polls with token `i`; connection `j` with `listeners.len() + j`.
    listeners: Vec<TcpListener>,
    connections: Slots<Connection<TcpStream>>,
    session: Box<dyn Session>,
    limits: TcpLimits,
    stop: Arc<AtomicBool>,
    /// The answer buffer, shared because answers are made one at a time.
    scratch: Vec<u8>,
    /// An accept failed for lack of resources (file descriptors, memory);
    /// connections may wait in the backlog with no new readiness edge coming,
    /// so accepting is retried at every sweep until it succeeds.
    accept_stalled: bool,
}

impl EventLoop {
    /// Registers the (non-blocking) listeners; returns the loop to run and
    /// the waker that, after `stop` is set, makes it return. The waker must
    /// outlive the loop's thread.
    pub(super) fn new(
        listeners: Vec<std::net::TcpListener>,
        session: Box<dyn Session>,
        limits: TcpLimits,
        stop: Arc<AtomicBool>,
    ) -> io::Result<(EventLoop, Waker)> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKE_TOKEN)?;
        let mut registered = Vec::with_capacity(listeners.len());
        for (index, listener) in listeners.into_iter().enumerate() {
            let mut listener = TcpListener::from_std(listener);
            poll.registry().register(&mut listener, Token(index), Interest::READABLE)?;
            registered.push(listener);
        }
        let event_loop = EventLoop {
            poll,
            listeners: registered,
            connections: Slots::new(),
            session,
            limits,
            stop,
            scratch: vec![0; MAX_TCP_MESSAGE],
            accept_stalled: false,
        };
        Ok((event_loop, waker))
    }

    /// Serves until `stop` is set and the waker woken.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        let sweep_interval = sweep_interval(self.limits.idle_timeout);
        let mut next_sweep = Instant::now() + sweep_interval;
        loop {
            let timeout = next_sweep.saturating_duration_since(Instant::now());
            if let Err(error) = self.poll.poll(&mut events, Some(timeout)) {
                if error.kind() != io::ErrorKind::Interrupted {
                    // Only a broken epoll fd fails here; nothing to retry.
                    warn!(%error, "TCP event loop stopped");
                    return;
                }
            }
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            let now = Instant::now();
            for event in events.iter() {
                let token = event.token().0;
                if event.token() == WAKE_TOKEN {
                    continue;
                } else if token < self.listeners.len() {
                    self.accept(token, now);
                } else {
                    self.drive(token - self.listeners.len(), now);
                }
            }
            if now >= next_sweep {
                self.close_idle(now);
                if self.accept_stalled {
                    self.accept_stalled = false;
                    (0..self.listeners.len()).for_each(|listener| self.accept(listener, now));
                }
                next_sweep = now + sweep_interval;
            }
        }
    }

    fn accept(&mut self, listener: usize, now: Instant) {
        loop {
            let (mut stream, peer) = match self.listeners[listener].accept() {
                Ok(accepted) => accepted,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                // The client gave up before we got to it, or a signal.
                Err(error) if matches!(error.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted) => {
                    continue
                }
                Err(error) => {
                    warn!(%error, "TCP accept failed; will retry (raise the open file limit if EMFILE)");
                    self.accept_stalled = true;
                    return;
                }
            };
            if self.connections.len() >= self.limits.max_connections {
                // Dropping closes it: the client learns at once, rather
                // than hanging in the backlog until its own timeout.
                debug!(%peer, limit = self.limits.max_connections, "TCP connection limit reached; closed");
                continue;
            }
            // Answers are written whole; don't let Nagle hold back the
            // next pipelined one until the previous is acknowledged.
            if let Err(error) = stream.set_nodelay(true) {
                trace!(%peer, %error, "TCP_NODELAY not set");
            }
            let slot = self.connections.next_index();
            let token = Token(self.listeners.len() + slot);
            // Both interests once, for good: edge-triggered writability
            // only reports the moments a full send buffer gains room.
            if let Err(error) =
                self.poll.registry().register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                warn!(%peer, %error, "TCP connection not registered; closed");
                continue;
            }
            trace!(%peer, slot, "TCP connection accepted");
            self.connections.insert(Connection::new(stream, now));
            // Data that arrived before registration is reported by the
            // registration itself, so no drive is needed here.
        }
    }

    fn drive(&mut self, slot: usize, now: Instant) {
        let Some(connection) = self.connections.get_mut(slot) else {
            return; // already closed earlier in this batch of events
        };
        if let Status::Closed(reason) = connection.drive(&mut *self.session, &mut self.scratch, &self.limits, now) {
            self.close(slot, &reason);
        }
    }

    fn close_idle(&mut self, now: Instant) {
        let timeout = self.limits.idle_timeout;
        for slot in 0..self.connections.index_bound() {
            if self.connections.get_mut(slot).is_some_and(|connection| connection.is_idle(now, timeout)) {
                self.close(slot, &Closed::Idle);
            }
        }
    }

    fn close(&mut self, slot: usize, reason: &Closed) {
        if let Some(mut connection) = self.connections.remove(slot) {
            trace!(slot, %reason, "TCP connection closed");
            // Closing the fd would remove it from epoll too; deregistering
            // first keeps mio's view consistent.
            let _ = self.poll.registry().deregister(connection.stream_mut());
        }
    }
}

/// How often idle connections are looked for: often enough that one is
/// closed within about a quarter of the timeout after it expires.
fn sweep_interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_interval_tracks_the_timeout_within_bounds() {
        assert_eq!(sweep_interval(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(sweep_interval(Duration::from_millis(200)), Duration::from_millis(50));
        assert_eq!(sweep_interval(Duration::from_millis(1)), Duration::from_millis(10));
    }
}
