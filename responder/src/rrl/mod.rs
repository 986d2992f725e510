//! Response rate limiting (RRL), after Knot's, NSD's and BIND's.
//!
//! An authoritative server answers whoever the source address claims to be,
//! so a spoofed flood turns it into a reflector aimed at that address. RRL
//! caps the responses one client *prefix* receives per second, per response
//! class, and sends a few of the rest truncated (the "slip") so that a real
//! client caught in the limit retries over TCP, which cannot be spoofed.
//!
//! # The model
//!
//! - **Buckets** are keyed by (address family, client prefix, response
//!   class): /24 for IPv4 and /56 for IPv6 by default, the sizes handed to
//!   one customer, and [`ResponseClass`] answer / NXDOMAIN / error, so a
//!   flood of one kind does not limit the others. IPv4-mapped IPv6 addresses
//!   count as IPv4; a client of unknown address length shares one bucket per
//!   class rather than escaping the limit.
//! - **Token bucket**: `rate` responses a second, with a burst of one
//!   second's worth (`rate`), as Knot's and BIND's one-second window. A flood
//!   of `R > rate` per second for `T` seconds gets `rate × (T + 1)` answers:
//!   the burst, then the rate.
//! - **Slip**: of a bucket's limited responses, every `slip`-th is sent with
//!   TC=1 and only the question (about the size of the query, so nothing
//!   to amplify), the others dropped. The default, 2, is Knot's and
//!   BIND's: half the limited responses still reach a real client.
//! - **Only UDP**: a TCP response went to a client that completed a
//!   handshake, so it cannot be reflected; TCP is never limited.
//!
//! # Per worker
//!
//! Each worker (an AF_XDP queue, or a kernel UDP socket thread) owns its own
//! [`RateLimiter`]: no locks, no atomics, no shared cache lines, and its
//! clock read once per batch. The price is that the rate is per worker. The
//! NIC spreads UDP over queues by a hash of the 4-tuple, so a flood from one
//! address with varying source ports reaches every queue and gets up to
//! `N × rate` for `N` queues. Hashing UDP on addresses only makes one source
//! stick to one queue: `ethtool -N IFACE rx-flow-hash udp4 sd` (and `udp6`).
//!
//! # Memory
//!
//! A fixed table of `buckets` slots (40 bytes each; 2.5 MiB per worker at the
//! default 65,536) allocated once; see [`RateLimiter`] for how keys are
//! placed and which bucket is forgotten when the table is full.
//!
//! # Off by default
//!
//! Knot ships RRL off; NSD ships it on at 200 responses per second; BIND
//! leaves it off. responder follows Knot: a good rate depends on the
//! deployment (a resolver farm behind one /24 legitimately sends thousands
//! of queries a second, and would be limited wrongly by any fixed default),
//! and limiting silently by default makes such failures hard to diagnose.
//! Operators of servers on the open Internet should turn it on with
//! `--rrl-rate`; 100 to 200 per worker is the common choice.

mod bucket;
mod config;
mod key;
mod limiter;
mod policy;

#[cfg(test)]
mod proptests;

pub use crate::engine::policy::ResponseClass;
pub use config::{RrlConfig, RrlError, MAX_BUCKETS, MAX_RATE, MAX_SLIP, MIN_BUCKETS};
pub use limiter::{RateLimiter, RrlCounters};
pub use policy::{MillisClock, RrlPolicy};
