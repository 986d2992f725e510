//! One resource record as read from a zone file, RDATA already in wire form.

use std::sync::Arc;

use super::name::Name;
use super::rtype::RType;
use super::small_bytes::SmallBytes;

/// Where a record came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Shared by every record of a file: a copy per record was a tenth of
    /// a big zone's memory.
    pub file: Arc<str>,
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub owner: Name,
    pub rtype: RType,
    pub class: u16,
    pub ttl: u32,
    /// Uncompressed wire-format RDATA; embedded names keep their original
    /// case. Inline when short (an address, a short name): no heap block.
    pub rdata: SmallBytes,
    pub location: Location,
}
