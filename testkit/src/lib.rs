//! Test-only code that more than one crate needs: the responder's unit tests
//! and benches, the integration tests, the fuzz targets and `cargo xtask`.
//! Depends on std and libc only, never on the responder, so `cargo xtask deps` can
//! build it on a machine without clang.
//!
//! - [`testbed`]: two network namespaces joined by a veth pair, and the
//!   privilege checks of the tests that need them.
//! - [`fleet`]: N node namespaces, each joined by a veth pair to one hub
//!   namespace that routes between them: primaries, secondaries and clients.
//! - [`frames`]: DNS queries and the Ethernet/VLAN/IPv4/IPv6/UDP frames
//!   around them, with every length and checksum right, built byte by byte
//!   independently of the responder's `wire` module.
//! - [`steering`]: the frames the XDP steering program must classify,
//!   odd ones included (other protocols, fragments, extension headers, ARP).
//! - [`workload`]: the benchmark zone and query mix.
//! - [`kxdpgun_summary`]: kxdpgun's closing summary, parsed.
//! - [`peers`]: Knot's and NSD's configurations for the comparisons.

pub mod base32hex;
pub mod fleet;
pub mod frames;
pub mod kxdpgun_summary;
pub mod peers;
pub mod steering;
pub mod testbed;
pub mod workload;
