//! The answer engine: a query rewritten into its answer in place.
//!
//! The path runs one way, frame → message → reply, and never back up:
//! - `frame` rewrites Ethernet/IP/UDP around the message step
//!   ([`answer_in_place`]: a whole frame, the AF_XDP data plane);
//! - `message` turns a bare DNS message into its answer
//!   ([`answer_message`]: kernel sockets, TCP), through `query`, `resolve`,
//!   `dname` and `reply`;
//! - [`Session`] is one serving thread's bundle around both: its view of the
//!   live engine, its policy, its scratch and the per-query count.
//!
//! Answering is pure: no allocation, no locks, no system calls, no panics,
//! and no access outside `buf[..capacity]` whatever the input. This file
//! only names the public surface; callers import from here.

mod batch;
mod denial;
mod dname;
pub mod floor;
mod frame;
pub mod live;
mod message;
pub mod nsid;
mod overlaid;
pub mod policy;
mod prehashed;
mod proof;
mod query;
mod reply;
mod resolve;
mod session;
mod signed;
mod transport;

pub use batch::{Prefetch, MAX_BATCH};
pub use frame::Verdict;
pub use message::{answer_message, answer_message_with, Engine, Options, Scratch};
pub use session::Session;
pub use transport::Transport;

use policy::{Policy, SendAll};

/// Rewrites the query frame `frame[..len]` into its answer. `capacity`
/// (≤ `frame.len()`) bounds how far the answer may grow.
#[inline]
pub fn answer_in_place(engine: &Engine, frame: &mut [u8], len: usize, capacity: usize) -> Verdict {
    answer_in_place_with(engine, &mut Scratch::default(), frame, len, capacity, &mut SendAll)
}

/// [`answer_in_place`] with a worker's own scratch, and `policy` deciding
/// the fate of each response (counters, rate limiting).
#[inline]
pub fn answer_in_place_with<P: Policy>(
    engine: &Engine,
    scratch: &mut Scratch,
    frame: &mut [u8],
    len: usize,
    capacity: usize,
    policy: &mut P,
) -> Verdict {
    frame::answer_in_place(engine, &mut scratch.query, frame, len, capacity, policy)
}

#[cfg(test)]
mod big_rrset_tests;
#[cfg(test)]
mod denial_tests;
#[cfg(test)]
mod dname_tests;
#[cfg(test)]
mod dnssec_tests;
#[cfg(test)]
mod nsid_tests;
#[cfg(test)]
pub(crate) mod proptests;
#[cfg(test)]
mod signed_tests;
#[cfg(test)]
pub(crate) mod tests;
