//! The AF_XDP data plane (in progress).

pub mod program;
pub mod ring;
pub mod umem;
