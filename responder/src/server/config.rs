//! What the kernel-socket server listens on and the limits it enforces.

use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

/// The smallest message that can be DNS at all: the 12-byte header.
const DNS_HEADER_LEN: usize = 12;

/// Longer than any sensible busy-poll (the kernel suggests 50 µs): a
/// mistyped value would otherwise hold cores busy for nothing.
const MAX_BUSY_POLL_USECS: u32 = 100_000;

/// Where to listen and how hard to work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Each address gets UDP and TCP on the same port. Port 0 picks one
    /// free port for both (see [`super::Server::local_addrs`]).
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per listen address, load-balanced by the
    /// kernel with `SO_REUSEPORT`.
    pub udp_workers: usize,
    pub tcp: TcpLimits,
    /// TCP listeners get `SO_REUSEPORT` too, so that another instance (a
    /// standby, see docs/DEPLOY.md) can bind the same port; without it a
    /// second server on the port is refused, as it usually is a mistake.
    pub share_port: bool,
    /// Busy-poll each UDP socket for up to this many microseconds per
    /// empty receive (`SO_BUSY_POLL`, with `SO_PREFER_BUSY_POLL`); `None`
    /// leaves interrupts to wake the workers. Needs CAP_NET_ADMIN: without
    /// it the server warns and serves without.
    pub busy_poll_usecs: Option<u32>,
    /// Steer each UDP query to the socket of the worker on the CPU that
    /// received it, pinning worker N to its CPU (`udp/steering.rs`), when
    /// there is one worker per CPU the process may run on; `false` leaves
    /// the kernel's flow hash, and the workers unpinned.
    pub cpu_steering: bool,
}

impl ServerConfig {
    /// One UDP worker per available CPU and default TCP limits.
    pub fn new(listen: Vec<SocketAddr>) -> ServerConfig {
        let udp_workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        ServerConfig {
            listen,
            udp_workers,
            tcp: TcpLimits::default(),
            share_port: false,
            busy_poll_usecs: None,
            cpu_steering: true,
        }
    }

    /// Rejects settings that would make the server useless or unsafe, with
    /// an error naming the setting, before anything is bound.
    pub fn validate(&self) -> io::Result<()> {
        if self.listen.is_empty() {
            return Err(invalid("no listen address given"));
        }
        if self.udp_workers == 0 {
            return Err(invalid("udp_workers must be at least 1"));
        }
        if let Some(usecs) = self.busy_poll_usecs.filter(|&u| u == 0 || u > MAX_BUSY_POLL_USECS) {
            return Err(invalid(format!(
                "busy_poll_usecs must be between 1 and {MAX_BUSY_POLL_USECS} microseconds, not {usecs}"
            )));
        }
        self.tcp.validate()
    }
}

/// TCP limits (RFC 7766 §6.2: servers should bound connections and their
/// lifetime so that idle or slow clients cannot exhaust resources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpLimits {
    /// A connection that completes no query and drains no answer for this
    /// long is closed. A trickle of bytes does not count as activity, so a
    /// client that sends a length prefix and stalls cannot hold a slot.
    pub idle_timeout: Duration,
    /// Open connections across all listen addresses. When it is full, a
    /// new connection either takes the slot of the busiest client's least
    /// recently active one or, if its own client holds as many as anyone,
    /// is accepted and closed at once, so clients fail fast instead of
    /// waiting in the kernel's backlog.
    pub max_connections: usize,
    /// Open connections one client may hold: one IPv4 address, or one IPv6
    /// /64 (see `tcp/fairness.rs`). A client at its limit has further
    /// connections closed at once. When the table is full, a newcomer
    /// takes the slot of the least recently active connection of the
    /// client holding the most, and the idle timeout shrinks as the table
    /// fills, so no one client can hold the table.
    pub max_connections_per_client: usize,
    /// Queries answered on one connection before the server closes it
    /// (after sending those answers); 0 means no limit.
    pub max_queries_per_connection: usize,
    /// Largest query accepted, in bytes without the 2-byte length prefix.
    /// A larger length prefix closes the connection.
    pub max_message: usize,
}

impl Default for TcpLimits {
    fn default() -> TcpLimits {
        TcpLimits {
            idle_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_client: 32,
            max_queries_per_connection: 0,
            max_message: usize::from(u16::MAX),
        }
    }
}

impl TcpLimits {
    fn validate(&self) -> io::Result<()> {
        if self.idle_timeout.is_zero() {
            return Err(invalid("tcp idle_timeout must be positive"));
        }
        if self.max_connections == 0 {
            return Err(invalid("tcp max_connections must be at least 1"));
        }
        if self.max_connections_per_client == 0 {
            return Err(invalid("tcp max_connections_per_client must be at least 1"));
        }
        if !(DNS_HEADER_LEN..=usize::from(u16::MAX)).contains(&self.max_message) {
            return Err(invalid(format!(
                "tcp max_message must be between {DNS_HEADER_LEN} and {} bytes, not {}",
                u16::MAX,
                self.max_message
            )));
        }
        Ok(())
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ServerConfig {
        ServerConfig::new(vec!["127.0.0.1:0".parse().unwrap()])
    }

    #[test]
    fn defaults_are_valid() {
        let config = config();
        assert!(config.udp_workers >= 1);
        assert_eq!(config.tcp.idle_timeout, Duration::from_secs(10));
        assert_eq!(config.tcp.max_message, 65535);
        config.validate().unwrap();
    }

    #[test]
    fn rejects_useless_settings() {
        type Spoil = fn(&mut ServerConfig);
        let cases: [(&str, Spoil); 9] = [
            ("listen", |c| c.listen.clear()),
            ("udp_workers", |c| c.udp_workers = 0),
            ("busy_poll_usecs", |c| c.busy_poll_usecs = Some(0)),
            ("busy_poll_usecs", |c| c.busy_poll_usecs = Some(100_001)),
            ("idle_timeout", |c| c.tcp.idle_timeout = Duration::ZERO),
            ("max_connections", |c| c.tcp.max_connections = 0),
            ("max_connections_per_client", |c| c.tcp.max_connections_per_client = 0),
            ("max_message", |c| c.tcp.max_message = 11),
            ("max_message", |c| c.tcp.max_message = 65536),
        ];
        for (setting, spoil) in cases {
            let mut config = config();
            spoil(&mut config);
            let error = config.validate().expect_err(setting);
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            let message = error.to_string();
            assert!(message.contains(setting) || setting == "listen", "{setting}: {message}");
        }
    }
}
