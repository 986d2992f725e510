//! DNS over TCP: one event-loop thread for every listener and connection.
//!
//! Answering is a pure in-memory computation of microseconds, so the only
//! thing worth parallelising would be the system calls; one thread serves
//! thousands of connections, and idle or hostile ones cost a little memory,
//! never a thread. Readiness is edge-triggered: each event is followed by as
//! much work as the socket allows (see [`Connection::drive`]).
//!
//! Who may hold the connection table is decided by [`Fairness`]: a cap per
//! client, an idle timeout that shrinks as the table fills, and eviction
//! of the busiest client's least recently active connection when full.

mod connection;
mod fairness;
mod report;
mod slots;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use tracing::{trace, warn};

use self::connection::{Closed, Connection, Status};
use self::fairness::{client_of, Admission, Fairness};
use self::report::Report;
use self::slots::Slots;
use super::config::TcpLimits;
use super::Session;
use crate::stats::{Published, TcpCounters};

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
    /// Who holds the connections, mirroring `connections` slot for slot.
    fairness: Fairness,
    counters: TcpCounters,
    published: Arc<Published<TcpCounters>>,
    report: Report,
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
        published: Arc<Published<TcpCounters>>,
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
            fairness: Fairness::new(limits.max_connections, limits.max_connections_per_client, limits.idle_timeout),
            counters: TcpCounters::default(),
            published,
            report: Report::default(),
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
        let mut next_sweep = Instant::now() + sweep_interval(self.fairness.idle_timeout());
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
                self.report_turned_away(now);
                // The timeout shrinks as the table fills; so does the interval.
                next_sweep = now + sweep_interval(self.fairness.idle_timeout());
            }
            self.counters.open = self.fairness.open() as u64;
            self.published.publish(&self.counters);
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
            let client = client_of(peer.ip());
            // Dropping a refused stream closes it: the client learns at
            // once, rather than hanging in the backlog until its timeout.
            match self.fairness.admit(client) {
                Admission::Keep => {}
                Admission::KeepEvicting(victim) => {
                    self.counters.evicted += 1;
                    self.close(victim, &Closed::Evicted);
                    self.report_turned_away(now);
                }
                Admission::RefuseClientLimit => {
                    self.counters.refused_client_limit += 1;
                    trace!(%peer, "TCP connection refused: client at its connection limit");
                    self.report_turned_away(now);
                    continue;
                }
                Admission::RefuseFull => {
                    self.counters.refused_full += 1;
                    trace!(%peer, "TCP connection refused: table full and this client holds the most");
                    self.report_turned_away(now);
                    continue;
                }
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
            // One system call per connection, and only when capturing.
            let local = if self.session.captures() { stream.local_addr().ok() } else { None };
            let mut connection = Connection::new(stream, peer.ip(), now);
            if let Some(local) = local {
                connection.set_addresses(peer, local);
            }
            self.connections.insert(connection);
            self.fairness.insert(slot, client, now);
            self.counters.accepted += 1;
            debug_assert_eq!(self.connections.len(), self.fairness.open(), "table and fairness disagree");
            // Data that arrived before registration is reported by the
            // registration itself, so no drive is needed here.
        }
    }

    fn drive(&mut self, slot: usize, now: Instant) {
        let Some(connection) = self.connections.get_mut(slot) else {
            return; // already closed earlier in this batch of events
        };
        match connection.drive(&mut *self.session, &mut self.scratch, &self.limits, now) {
            Status::Open => {
                let last_progress = connection.last_progress();
                self.fairness.touch(slot, last_progress);
            }
            Status::Closed(reason) => self.close(slot, &reason),
        }
    }

    /// Closes connections idle for the timeout at the table's occupancy,
    /// least recently active first; each close lengthens it for the rest.
    fn close_idle(&mut self, now: Instant) {
        while let Some(slot) = self.fairness.first_expired(now) {
            self.counters.closed_idle += 1;
            self.close(slot, &Closed::Idle);
        }
    }

    /// The rate-limited line about connections refused or evicted.
    fn report_turned_away(&mut self, now: Instant) {
        if let Some(turned) = self.report.due(&self.counters, now) {
            let (busiest, held) = self.fairness.busiest().map_or((None, 0), |(client, held)| (Some(client), held));
            warn!(
                refused_client_limit = turned.refused_client_limit,
                refused_full = turned.refused_full,
                evicted = turned.evicted,
                per_client_limit = self.limits.max_connections_per_client,
                open = self.fairness.open(),
                limit = self.limits.max_connections,
                busiest = ?busiest,
                busiest_holds = held,
                "TCP connections turned away or evicted to keep the table fair (at most one line per {:?})",
                report::REPORT_INTERVAL
            );
        }
    }

    fn close(&mut self, slot: usize, reason: &Closed) {
        self.fairness.remove(slot);
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
