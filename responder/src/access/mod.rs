//! Who may do what, in Knot's terms: `[[acl]]` rules (address ranges, TSIG
//! keys, actions) and `[[remote]]` peers (addresses and the key to sign
//! with), with the `[[key]]` keyring they refer to. Built by the config
//! reader (which checks every reference), read by zone transfers and
//! NOTIFY.

mod acl;
mod range;
pub mod remote;

use std::net::IpAddr;

pub use acl::{Acl, Action};
pub use range::AddressRange;
pub use remote::Remote;

use crate::tsig::{Key, Keyring};

/// Keys, ACLs and remotes, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub keys: Keyring,
    pub acls: Vec<Acl>,
    pub remotes: Vec<Remote>,
}

impl Access {
    pub fn acl(&self, id: &str) -> Option<&Acl> {
        self.acls.iter().find(|a| a.id.eq_ignore_ascii_case(id))
    }

    pub fn remote(&self, id: &str) -> Option<&Remote> {
        self.remotes.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// Whether one of the ACLs named `ids` allows `action` from `address`,
    /// for a request signed with `key` (`None`: unsigned). No ACL, no
    /// permission: transfers are refused unless configured.
    pub fn allows(&self, ids: &[String], address: IpAddr, key: Option<&Key>, action: Action) -> bool {
        ids.iter().filter_map(|id| self.acl(id)).any(|acl| acl.allows(address, key, action))
    }
}
