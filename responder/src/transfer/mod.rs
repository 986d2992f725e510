//! Zone transfers. `inbound`: responder as a secondary, pulling zones from
//! its primaries by AXFR/IXFR when their SOA timers or a NOTIFY say so.
//! `catalog`: catalog zones (RFC 9432) whose members become secondaries.
//! `outbound`: responder as a primary, sending zones by AXFR/IXFR to the
//! clients their ACLs allow and NOTIFY to their secondaries; `journal`:
//! what it keeps of those zones to do so.

pub mod catalog;
pub mod inbound;
pub mod journal;
pub mod outbound;
