//! Learned tier 0 (`serve --xdp-answers top=N`): besides the names chosen
//! from the zone, the N keys the workers answer most, found at run time.
//!
//! - [`key`]: a query frame's tier-0 key (the lowercased name, qtype and
//!   EDNS shape), read only for the queries the program itself could match.
//! - [`sampler`]: each worker's 1-in-[`SAMPLE_EVERY`] countdown and its own
//!   small count table ([`table`]), handed to the control thread whole,
//!   never shared while the worker writes it.
//! - [`select`]: which keys to install from each interval's merged counts,
//!   and for how long a learned key keeps its place.
//! - [`spec`]: the `--xdp-answers` value (`apex+top=N`, …).
//!
//! A key tier 0 answers no longer reaches the workers, so their counts say
//! nothing of it once it is installed: a learned key is sticky for a lease
//! (see [`select`]) and only then can a hotter newcomer take its place.

pub mod key;
pub mod sampler;
pub mod select;
pub mod spec;
pub mod table;

pub use sampler::{Board, Sampler, SAMPLE_EVERY};
pub use select::Learner;
pub use spec::Answers;
