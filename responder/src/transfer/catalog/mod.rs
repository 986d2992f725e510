//! Catalog zones, consumer side (RFC 9432; Knot's `catalog-role: interpret`).
//!
//! A catalog is transferred like any secondary zone; what it lists becomes
//! secondary zones of their own, added and removed live.
//! - `members`: a catalog's records → its member set (pure; the input came
//!   from a primary, so anything in it is handled, never trusted).
//! - `config`: the templates members take their settings from.

pub mod config;
pub mod members;

pub use config::{CatalogConfig, MemberTemplate};
pub use members::{members, Member, MemberSet};
