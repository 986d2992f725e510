//! Zone transfers. `inbound`: responder as a secondary, pulling zones from
//! its primaries by AXFR/IXFR when their SOA timers or a NOTIFY say so.
//! `outbound`: responder as a primary, sending zones by AXFR/IXFR to the
//! clients their ACLs allow and NOTIFY to their secondaries; `journal`:
//! what it keeps of those zones to do so.

pub mod inbound;
pub mod journal;
pub mod outbound;
