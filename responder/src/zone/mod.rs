//! Zone loading: RFC 1035 master files → records with wire-format RDATA,
//! followed by the semantic checks Knot and NSD apply before serving a zone.
//!
//! Entry points: [`load_file`] (with `$INCLUDE` relative to the file) and
//! [`parse_str`] for text already in memory.

pub mod name;
pub mod record;
pub mod rtype;

pub use name::Name;
pub use record::{Location, Record};
pub use rtype::{class, RType};

/// A zone as read from its master file and checked.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The apex: the owner of the SOA record.
    pub origin: Name,
    /// Every record, duplicates removed, in file order.
    pub records: Vec<Record>,
    /// Problems worth reporting that do not stop the zone from loading
    /// (for example missing glue), each prefixed with `file:line:`.
    pub warnings: Vec<String>,
}

/// Why a zone could not be loaded. Display gives `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    pub location: Option<Location>,
    pub message: String,
}

impl std::fmt::Display for ZoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ZoneError {}
