//! responder as a secondary (RFC 1034 §4.3.5, RFC 1995, RFC 1996, RFC 5936).
//!
//! One small file per job:
//! - `message`: the queries we send (SOA, AXFR, IXFR) and the answers we read,
//!   names decompressed (`rdata` undoes compression inside RDATA).
//! - `stream`: a TCP answer of many messages, framed (RFC 7766) and assembled
//!   into an up-to-date reply, a full zone or a sequence of differences.
//! - `apply`: differences applied to the copy we hold (`prefault`: the new
//!   copy's pages faulted in on the other core meanwhile).
//! - `zone_text`: records written as a plain zone file, the persisted copy.
//! - `client`: one SOA check or transfer against one primary.
//! - `timers`: SOA refresh/retry/expire and serial arithmetic (RFC 1982).
//! - `notify`: NOTIFY in: who may send it, and its answer.
//! - `storage`: the last good copy on disk.
//! - `zone`: one zone's state machine, on its own thread.
//! - `secondaries`: every secondary zone, as the reloader, the servers and
//!   the control socket see them.

pub mod apply;
pub mod client;
pub mod config;
pub mod message;
pub mod notify;
mod prefault;
mod rdata;
pub mod secondaries;
pub mod storage;
pub mod stream;
pub mod timers;
pub mod zone;
pub mod zone_text;

pub use config::{Primary, SecondaryConfig};
pub use secondaries::{Secondaries, ZoneStatus};
