//! What the config says about one secondary zone.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::zone::Name;

/// A primary to pull from (a `[[remote]]`, or an address in `master`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primary {
    /// The `[[remote]]` id, if it came from one.
    pub id: Option<String>,
    pub address: SocketAddr,
    /// The TSIG key queries to it are signed with, and every answer from it
    /// must be signed with (RFC 8945).
    pub key: Option<crate::tsig::Key>,
}

impl fmt::Display for Primary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{id} ({})", self.address)?,
            None => write!(f, "{}", self.address)?,
        }
        match &self.key {
            Some(key) => write!(f, " key {}", key.id()),
            None => Ok(()),
        }
    }
}

/// One `[[zone]]` with `master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryConfig {
    pub zone: Name,
    /// Where the last good copy is kept, as a plain zone file.
    pub file: PathBuf,
    /// Asked in order; the first that answers wins.
    pub primaries: Vec<Primary>,
    /// Who else may send NOTIFY (an `[[acl]]` with `action = "notify"`),
    /// besides the primaries' addresses.
    pub notify_from: Vec<crate::access::AddressRange>,
    /// `catalog-role = "interpret"`: the zone is a catalog (RFC 9432) whose
    /// members become secondary zones with these settings.
    pub catalog: Option<std::sync::Arc<crate::transfer::catalog::CatalogConfig>>,
}

impl SecondaryConfig {
    /// Whether a NOTIFY from `source` is to be believed (RFC 1996 §3.10:
    /// from a master of the zone).
    pub fn may_notify(&self, source: IpAddr) -> bool {
        let source = canonical(source);
        self.primaries.iter().any(|p| canonical(p.address.ip()) == source)
            || self.notify_from.iter().any(|range| range.contains(source))
    }
}

impl SecondaryConfig {
    /// The keys of the primaries at `source`: a NOTIFY from there must be
    /// signed with one of them.
    pub fn keys_at(&self, source: IpAddr) -> Vec<&crate::tsig::Key> {
        let source = canonical(source);
        self.primaries.iter().filter(|p| canonical(p.address.ip()) == source).filter_map(|p| p.key.as_ref()).collect()
    }
}

/// An IPv4-mapped IPv6 address as IPv4, so a dual-stack socket's view of a
/// v4 peer matches a v4 address in the config.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}
