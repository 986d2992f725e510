//! Who may hold the TCP connection table (RFC 7766 §6.2): a cap per client,
//! an idle timeout that shrinks as the table fills, and, when it is full,
//! room made for a newcomer by closing the least recently active
//! connection of the client holding the most. Without these one client
//! keeping its connections barely alive holds every slot for as long as it
//! likes, and with them every truncated-answer retry.
//!
//! Pure bookkeeping, no sockets: the event loop asks before it keeps a
//! connection and reports every change. Each event costs O(log n) (a count
//! per client and activity orderings), never a scan of the table.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The shortest the idle timeout becomes when the table is full (or the
/// configured timeout, if shorter): long enough for a client's next query
/// on a connection it actually uses, short enough that slots held by
/// silence turn over within a second or two.
pub(super) const IDLE_FLOOR: Duration = Duration::from_secs(1);

/// IPv6 clients are counted per /64: one host on a typical link can take
/// any of its 2^64 addresses, so a per-address cap would cap nothing.
const IPV6_CLIENT_PREFIX: u32 = 64;

/// The client a connection counts against: the IPv4 address (also when it
/// arrives v4-mapped on an IPv6 socket), or the IPv6 /64.
pub(super) fn client_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << (128 - IPV6_CLIENT_PREFIX)))),
        },
    }
}

/// The idle timeout with `open` of `max` slots taken: the configured one
/// up to half full, then falling in a straight line to
/// `min(IDLE_FLOOR, configured)` when full.
pub(super) fn idle_timeout_at(configured: Duration, open: usize, max: usize) -> Duration {
    let floor = IDLE_FLOOR.min(configured);
    if max == 0 || open.saturating_mul(2) <= max {
        return configured;
    }
    // How far past half full, from 0 (half) to 1 (full).
    let past_half = ((open.min(max) * 2 - max) as f64 / max as f64).clamp(0.0, 1.0);
    configured.saturating_sub((configured - floor).mul_f64(past_half))
}

/// What to do with a connection just accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    Keep,
    /// Keep it, after closing the connection in this slot to make room.
    KeepEvicting(usize),
    /// Close it: its client already holds its share.
    RefuseClientLimit,
    /// Close it: the table is full and its client already holds as many
    /// as anyone, so making room would only shuffle its own connections.
    RefuseFull,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    client: IpAddr,
    last_activity: Instant,
}

pub(super) struct Fairness {
    max_connections: usize,
    per_client: usize,
    idle_timeout: Duration,
    /// Indexed by the connection's slot (dense, reused: see `Slots`).
    entries: Vec<Option<Entry>>,
    open: usize,
    /// Each client's connections, least recently active first.
    clients: HashMap<IpAddr, BTreeSet<(Instant, usize)>>,
    /// (connections held, client), so the last is the busiest.
    by_count: BTreeSet<(usize, IpAddr)>,
    /// Every connection, least recently active first, for the timeout.
    by_activity: BTreeSet<(Instant, usize)>,
}

impl Fairness {
    pub(super) fn new(max_connections: usize, per_client: usize, idle_timeout: Duration) -> Fairness {
        Fairness {
            max_connections,
            per_client,
            idle_timeout,
            entries: Vec::new(),
            open: 0,
            clients: HashMap::new(),
            by_count: BTreeSet::new(),
            by_activity: BTreeSet::new(),
        }
    }

    pub(super) fn open(&self) -> usize {
        self.open
    }

    /// Connections `client` (see [`client_of`]) holds.
    pub(super) fn held_by(&self, client: IpAddr) -> usize {
        self.clients.get(&client).map_or(0, BTreeSet::len)
    }

    /// The client holding the most connections, and how many.
    pub(super) fn busiest(&self) -> Option<(IpAddr, usize)> {
        self.by_count.last().map(|&(count, client)| (client, count))
    }

    /// Decides on a new connection from `client`; changes nothing.
    pub(super) fn admit(&self, client: IpAddr) -> Admission {
        let held = self.held_by(client);
        if held >= self.per_client {
            return Admission::RefuseClientLimit;
        }
        if self.open < self.max_connections {
            return Admission::Keep;
        }
        let Some((busiest, most)) = self.busiest() else {
            return Admission::RefuseFull; // a table of size 0 is refused by validation
        };
        if held >= most {
            return Admission::RefuseFull;
        }
        // When everyone holds one, the least recently active of all goes;
        // otherwise the busiest client's least recently active.
        let pool = if most == 1 { Some(&self.by_activity) } else { self.clients.get(&busiest) };
        match pool.and_then(BTreeSet::first) {
            Some(&(_, slot)) => Admission::KeepEvicting(slot),
            None => Admission::RefuseFull,
        }
    }

    /// Records a kept connection in `slot` (which must be free).
    pub(super) fn insert(&mut self, slot: usize, client: IpAddr, now: Instant) {
        self.remove(slot);
        if self.entries.len() <= slot {
            self.entries.resize(slot + 1, None);
        }
        self.entries[slot] = Some(Entry { client, last_activity: now });
        self.open += 1;
        let held = self.clients.entry(client).or_default();
        let before = held.len();
        held.insert((now, slot));
        if before > 0 {
            self.by_count.remove(&(before, client));
        }
        self.by_count.insert((before + 1, client));
        self.by_activity.insert((now, slot));
    }

    /// Forgets the connection in `slot`, if any.
    pub(super) fn remove(&mut self, slot: usize) {
        let Some(entry) = self.entries.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.open -= 1;
        self.by_activity.remove(&(entry.last_activity, slot));
        let client = entry.client;
        if let Some(held) = self.clients.get_mut(&client) {
            let before = held.len();
            held.remove(&(entry.last_activity, slot));
            self.by_count.remove(&(before, client));
            if held.is_empty() {
                self.clients.remove(&client);
            } else {
                self.by_count.insert((before - 1, client));
            }
        }
    }

    /// The connection in `slot` last completed a query or drained its
    /// answers at `last_activity`.
    pub(super) fn touch(&mut self, slot: usize, last_activity: Instant) {
        let Some(entry) = self.entries.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if entry.last_activity == last_activity {
            return;
        }
        let before = std::mem::replace(&mut entry.last_activity, last_activity);
        let client = entry.client;
        self.by_activity.remove(&(before, slot));
        self.by_activity.insert((last_activity, slot));
        if let Some(held) = self.clients.get_mut(&client) {
            held.remove(&(before, slot));
            held.insert((last_activity, slot));
        }
    }

    /// The idle timeout at the table's present occupancy.
    pub(super) fn idle_timeout(&self) -> Duration {
        idle_timeout_at(self.idle_timeout, self.open, self.max_connections)
    }

    /// A connection idle for the present timeout, if any: the least
    /// recently active. Closing it lengthens the timeout for the rest.
    pub(super) fn first_expired(&self, now: Instant) -> Option<usize> {
        let &(last_activity, slot) = self.by_activity.first()?;
        (now.saturating_duration_since(last_activity) >= self.idle_timeout()).then_some(slot)
    }
}

#[cfg(test)]
mod tests;
