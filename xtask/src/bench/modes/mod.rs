//! The bench's optional modes, each changing what every server of a run
//! serves or is asked, or measuring one thing more:
//!
//! - [`signed`]: `--signed`, the zone signed by ldns-signzone, DO=1 queries;
//! - [`tier0`]: `--t0-hits`, a share of queries the XDP program answers
//!   itself in `responder-xdp-t0`;
//! - [`program_cost`]: the XDP program's own time per packet
//!   (`kernel.bpf_stats_enabled`), in tier-0 runs;
//! - [`client_pass`]: the client-side XDP_PASS program tier-0 answers need
//!   on veth outside kxdpgun's steps.

pub mod client_pass;
pub mod program_cost;
pub mod signed;
pub mod tier0;
