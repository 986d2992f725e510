//! Zone transfers. `inbound`: responder as a secondary, pulling zones from
//! its primaries by AXFR/IXFR when their SOA timers or a NOTIFY say so.

pub mod inbound;
