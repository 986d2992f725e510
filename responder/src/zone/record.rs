//! One resource record as read from a zone file, RDATA already in wire form.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::name::Name;
use super::rtype::RType;
use super::small_bytes::SmallBytes;

/// Where a record came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Shared by every record of a file: a copy per record was a tenth of
    /// a big zone's memory.
    pub file: FileName,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A zone file's name, shared: one pointer wide where an `Arc<str>` is
/// two, 8 bytes less in every record (a `Record` is 72 bytes, not 80).
#[derive(Clone, PartialEq, Eq)]
pub struct FileName(Arc<String>);

impl FileName {
    /// The same file: one shared name, not only an equal one.
    pub fn same(&self, other: &FileName) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for FileName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for FileName {
    fn from(name: &str) -> Self {
        FileName(Arc::new(name.to_owned()))
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// The sizes a big zone's memory was measured with (docs/BENCHMARKS.md), on
// the 64-bit targets responder runs on.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Record>() == 72);

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
