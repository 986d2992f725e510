//! Zone loading: RFC 1035 master files → records with wire-format RDATA,
//! followed by the semantic checks Knot and NSD apply before serving a zone.
//!
//! Entry points: [`load_file`] (with `$INCLUDE` relative to the file) and
//! [`parse_str`] for text already in memory.

mod check;
mod dnssec;
mod embedded;
mod encoding;
mod fields;
mod lexer;
pub mod name;
mod parser;
mod rdata;
pub mod record;
pub mod rtype;
mod svcb;
mod ttl;

use std::path::Path;

pub use embedded::embedded_names;
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

/// Reads, parses and checks the master file at `path`. `origin` is the zone
/// name when the caller knows it: the initial `$ORIGIN`, and where the SOA
/// must be. `$INCLUDE` paths are relative to the file's directory.
pub fn load_file(path: &Path, origin: Option<&Name>) -> Result<Zone, ZoneError> {
    let text = std::fs::read(path).map_err(|e| ZoneError {
        location: None,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    load(&text, &path.display().to_string(), dir, origin)
}

/// Parses and checks zone text already in memory; `file` names it in
/// messages, and `$INCLUDE` paths are relative to `file`'s directory.
pub fn parse_str(text: &str, file: &str, origin: Option<&Name>) -> Result<Zone, ZoneError> {
    let dir = Path::new(file).parent().unwrap_or(Path::new("."));
    load(text.as_bytes(), file, dir, origin)
}

fn load(text: &[u8], file: &str, dir: &Path, origin: Option<&Name>) -> Result<Zone, ZoneError> {
    let mut parser = parser::Parser::new(origin);
    parser.parse(text, file, dir)?;
    let (records, mut warnings) = parser.finish();
    let checked = check::check(records, origin, file, &mut warnings)?;
    Ok(Zone {
        origin: checked.apex,
        records: checked.records,
        warnings,
    })
}
