//! Shared helpers for the integration tests and for `cargo xtask`: the veth
//! testbed and privilege checks, DNS clients (hickory-proto and kdig) with a
//! normalised view of answers, and the server processes under test (responder
//! and, for comparison, knotd).

pub mod client_pass;
pub mod daemon;
pub mod dns;
pub mod expect;
pub mod fleet;
pub mod fstrm;
pub mod kdig;
pub mod knot;
pub mod kxdpgun;
pub mod netns;
pub mod paced;
pub mod pcap;
pub mod raw_link;
pub mod rdata;
pub mod responder;
pub mod signer;
pub mod xdp_server;

/// The veth testbed lives in `testkit`, shared with `cargo xtask` and the
/// responder's own tests; here under its old name for the tests.
pub use testkit::testbed;
