//! Shared helpers for the integration tests and for `cargo xtask`: the veth
//! testbed and privilege checks.

pub mod testbed;
