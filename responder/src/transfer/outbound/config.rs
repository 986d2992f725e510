//! What the config says about one zone sent out: who may transfer it (its
//! `acl` list) and whom to NOTIFY (its `notify` list), as Knot's zone
//! `acl` and `notify`.

use std::fmt;
use std::net::SocketAddr;

use crate::zone::Name;

/// A secondary to NOTIFY: one address of a `[[remote]]`, and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub address: SocketAddr,
    pub key: Option<crate::tsig::Key>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.address)
    }
}

/// One `[[zone]]` with `acl` or `notify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundConfig {
    pub zone: Name,
    /// `[[acl]]` ids; one with `action = "transfer"` lets a client in.
    pub acls: Vec<String>,
    pub notify: Vec<Target>,
    /// Differences kept for IXFR (Knot's `journal-max-depth`).
    pub journal_depth: usize,
}
