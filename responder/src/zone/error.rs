//! Why a zone could not be loaded; its own file so that every stage of
//! loading (`parser`, `check`) names it without importing `mod.rs`.

use super::record::Location;

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
