//! Tier 0: the hottest answers given by the XDP program itself, with
//! XDP_TX, never reaching a worker (issue 17; `ebpf/README.md`, "Tier 0").
//!
//! - [`compile`]: which keys (`serve --xdp-answers`), each answer produced by
//!   the engine for a canonical query, with what the program needs to put
//!   the query's own ID, RD, CD and question case back in.
//! - [`layout`]: the map's key and value as the C header has them.
//! - [`hash`]: the key's hash of a name, the program's own.
//! - [`maps`]: publishing a set as a new generation, atomically.
//! - [`rrl`]: rate limiting the program's answers as the workers do.
//! - [`stats`]: the program's counts of its answers, for `path="xdp-kernel"`.
//! - [`capture`]: the program's sampled answers read into query capture.
//! - [`learn`]: the keys the workers answer most, added at run time.

pub mod capture;
pub mod compile;
pub mod hash;
pub mod layout;
pub mod learn;
pub mod maps;
pub mod rrl;
pub mod stats;

pub use compile::{compile, Compiled, Entry, Selection};
pub use layout::{Answer, Key, MapKey, Shape};
pub use learn::Answers;
pub use maps::{Published, Tier0Maps};
