//! responder: a kernel-bypass authoritative DNS server.
//!
//! A query's life, one module per stage:
//! - [`wire`]: typed, bounds-checked views over frame bytes (Ethernet, VLAN,
//!   IPv4, IPv6, UDP, DNS) and the checksums.
//! - [`zone`]: master files → records, with semantic checks.
//! - [`table`]: records → an immutable precompiled table of wire-format answers,
//!   serialisable to a file that is validated before it is trusted.
//! - [`engine`]: a query frame rewritten into its answer in place, a pure function.
//! - [`rrl`]: response rate limiting, one table per worker.
//! - [`server`]: kernel-socket UDP/TCP serving on the same engine.
//! - [`xdp`]: the AF_XDP data plane: XDP program, UMEM, rings, pinned workers.
//! - [`transfer`]: zone transfers; `inbound`: responder as a secondary.
//! - [`capture`]: sampled queries and responses as dnstap and pcap, taken
//!   from the serving threads through lock-free rings.
//! - [`stats`]: per-thread counters, published to readers, summed on read.
//! - [`control`]: the command line and config file (`cli`), `serve`'s life
//!   cycle (`daemon`: reload, control socket, metrics, the stats snapshot and
//!   its JSON and Prometheus renderings) and `doctor`.

pub mod access;
pub mod capture;
pub mod control;
pub mod engine;
pub mod rrl;
pub mod server;
pub mod stats;
pub mod table;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod transfer;
pub mod tsig;
pub mod wire;
pub mod xdp;
pub mod zone;
