//! Counters: kept by each serving thread in plain integers, published to
//! readers with relaxed stores, summed only when somebody asks (`ctl stats`,
//! `/metrics`, the periodic rate line).

pub mod breakdown;
mod dns;
mod published;
mod tcp;
pub mod transfers;

pub use breakdown::{Breakdown, BreakdownCounts, Breakdowns, Where};
pub use dns::{Counting, DnsCounters};
pub use published::{CounterSet, Published, Registry};
pub use tcp::TcpCounters;
pub use transfers::{InboundCounters, OutboundCounters, TransferCounts};
