//! The kernel-socket TCP server's connection table: what it let in, what it
//! turned away or closed to stay fair (see `server/tcp/fairness.rs`).

use super::published::CounterSet;

/// Written only by the TCP event loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpCounters {
    /// Connections kept after accept.
    pub accepted: u64,
    /// Closed at once: the client already held `--tcp-max-connections-per-client`.
    pub refused_client_limit: u64,
    /// Closed at once: the table was full and the client held as many as anyone.
    pub refused_full: u64,
    /// Closed to make room for another client: the busiest client's least
    /// recently active connection.
    pub evicted: u64,
    /// Closed after the idle timeout (which shrinks as the table fills).
    pub closed_idle: u64,
    /// Open now (a gauge).
    pub open: u64,
}

impl TcpCounters {
    /// Event names, in `CounterSet` order before `open`; also the metric label values.
    pub const EVENTS: [&'static str; 5] =
        ["accepted", "refused_client_limit", "refused_full", "evicted", "closed_idle"];

    pub fn events(&self) -> [u64; 5] {
        [self.accepted, self.refused_client_limit, self.refused_full, self.evicted, self.closed_idle]
    }
}

impl CounterSet for TcpCounters {
    const LEN: usize = 6;
    fn write_to(&self, out: &mut [u64]) {
        out[..5].copy_from_slice(&self.events());
        out[5] = self.open;
    }
    fn read_from(v: &[u64]) -> TcpCounters {
        TcpCounters {
            accepted: v[0],
            refused_client_limit: v[1],
            refused_full: v[2],
            evicted: v[3],
            closed_idle: v[4],
            open: v[5],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_flat_form() {
        let counters =
            TcpCounters { accepted: 1, refused_client_limit: 2, refused_full: 3, evicted: 4, closed_idle: 5, open: 6 };
        let mut flat = [0u64; TcpCounters::LEN];
        counters.write_to(&mut flat);
        assert_eq!(flat, [1, 2, 3, 4, 5, 6]);
        assert_eq!(TcpCounters::read_from(&flat), counters);
    }
}
