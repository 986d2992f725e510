//! One `[[acl]]` rule: from which addresses, signed with which keys, which
//! actions are allowed.

use std::net::IpAddr;

use super::range::AddressRange;
use crate::tsig::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// AXFR and IXFR out.
    Transfer,
    /// NOTIFY in.
    Notify,
}

impl Action {
    pub fn parse(text: &str) -> Result<Action, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "transfer" => Ok(Action::Transfer),
            "notify" => Ok(Action::Notify),
            other => Err(format!("unknown action {other:?} (known: transfer, notify)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub id: String,
    /// Empty: any address.
    pub addresses: Vec<AddressRange>,
    /// Key ids; empty: the request must be unsigned, as in Knot.
    pub keys: Vec<String>,
    pub actions: Vec<Action>,
}

impl Acl {
    pub fn allows(&self, address: IpAddr, key: Option<&Key>, action: Action) -> bool {
        let address_ok = self.addresses.is_empty() || self.addresses.iter().any(|r| r.contains(address));
        let key_ok = match key {
            None => self.keys.is_empty(),
            Some(k) => self.keys.iter().any(|id| id.trim_end_matches('.').eq_ignore_ascii_case(k.id())),
        };
        address_ok && key_ok && self.actions.contains(&action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_key_and_action_must_all_match() {
        let key = Key::from_text("xfr", "hmac-sha256", "c2VjcmV0").unwrap();
        let other = Key::from_text("other", "hmac-sha256", "c2VjcmV0").unwrap();
        let acl = Acl {
            id: "a".into(),
            addresses: vec![AddressRange::parse("198.18.0.0/24").unwrap()],
            keys: vec!["xfr.".into()],
            actions: vec![Action::Transfer],
        };
        let inside = "198.18.0.2".parse().unwrap();
        assert!(acl.allows(inside, Some(&key), Action::Transfer));
        assert!(!acl.allows(inside, Some(&key), Action::Notify));
        assert!(!acl.allows(inside, Some(&other), Action::Transfer));
        assert!(!acl.allows(inside, None, Action::Transfer));
        assert!(!acl.allows("198.18.1.2".parse().unwrap(), Some(&key), Action::Transfer));
        let unsigned = Acl { keys: vec![], ..acl };
        assert!(unsigned.allows(inside, None, Action::Transfer));
        assert!(!unsigned.allows(inside, Some(&key), Action::Transfer));
        assert_eq!(Action::parse("Notify"), Ok(Action::Notify));
        assert!(Action::parse("update").is_err());
    }
}
