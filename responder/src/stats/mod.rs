//! Counters: kept by each serving thread in plain integers, published to
//! readers with relaxed stores, summed only when somebody asks (`ctl stats`,
//! `/metrics`, the periodic rate line).

mod dns;
mod published;
pub mod render;
mod snapshot;
mod tcp;

pub use dns::{Counting, DnsCounters};
pub use published::{CounterSet, Published, Registry};
pub use snapshot::{QueueSnapshot, Snapshot, SteeringSnapshot, XdpSnapshot};
pub use tcp::TcpCounters;
