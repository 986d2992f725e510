//! Zone transfers. `inbound`: responder as a secondary, pulling zones from
//! its primaries by AXFR/IXFR when their SOA timers or a NOTIFY say so.
//! `catalog`: catalog zones (RFC 9432) whose members become secondaries.

pub mod catalog;
pub mod inbound;
