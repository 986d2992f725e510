//! `[[key]]`, `[[remote]]` and `[[acl]]`: read into an [`Access`], every
//! reference checked (a remote's or an ACL's key must be a `[[key]]`), each
//! error at its entry's `FILE:LINE:COL`. A key's secret may sit in its own
//! file (`secret-file`, relative to the config's directory), so the config
//! can be world-readable while the secret is not; it is read again at each
//! reload with the rest of the file.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::settings::Origin;
use crate::access::{remote, Access, Acl, Action, AddressRange, Remote};
use crate::tsig::{Key, Keyring};

/// A value or a list of them, as Knot's list options take either.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeyEntry {
    pub id: String,
    pub algorithm: String,
    /// Base64, as Knot's `secret`.
    pub secret: Option<String>,
    /// A file holding the base64 secret (one line).
    pub secret_file: Option<PathBuf>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoteEntry {
    pub id: String,
    /// `IP`, `IP@PORT`, or a list of them.
    pub address: OneOrMany,
    pub key: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AclEntry {
    pub id: String,
    /// Addresses, prefixes or ranges; absent: any address.
    pub address: Option<OneOrMany>,
    /// Key ids; absent: the request must be unsigned.
    pub key: Option<OneOrMany>,
    /// `transfer`, `notify`, or both.
    pub action: OneOrMany,
}

/// Reads the three sections; `None` when none is present.
pub fn read(
    keys: &[Spanned<KeyEntry>],
    remotes: &[Spanned<RemoteEntry>],
    acls: &[Spanned<AclEntry>],
    origin: &Origin,
) -> Result<Option<Access>, String> {
    if keys.is_empty() && remotes.is_empty() && acls.is_empty() {
        return Ok(None);
    }
    let mut read_keys = Vec::with_capacity(keys.len());
    for entry in keys {
        let e = entry.get_ref();
        let secret = match (&e.secret, &e.secret_file) {
            (Some(s), None) => s.clone(),
            (None, Some(file)) => {
                let path = origin.base.join(file);
                match std::fs::read_to_string(&path) {
                    Ok(text) => text.trim().to_string(),
                    Err(err) => {
                        return origin
                            .error(entry.span(), format!("key {}: cannot read {}: {err}", e.id, path.display()))
                    }
                }
            }
            _ => {
                return origin
                    .error(entry.span(), format!("key {}: give exactly one of `secret` and `secret-file`", e.id))
            }
        };
        match Key::from_text(&e.id, &e.algorithm, &secret) {
            Ok(key) => read_keys.push((key, entry.span())),
            Err(message) => return origin.error(entry.span(), message),
        }
    }
    for (i, (key, span)) in read_keys.iter().enumerate() {
        if read_keys[..i].iter().any(|(k, _)| k.name() == key.name()) {
            return origin.error(span.clone(), format!("key {} is defined twice", key.id()));
        }
    }
    let keyring = Keyring::new(read_keys.into_iter().map(|(k, _)| k).collect()).map_err(|e| e.to_string())?;
    let key_ref = |id: &str, span: std::ops::Range<usize>, what: &str| -> Result<String, String> {
        match keyring.by_id(id) {
            Some(k) => Ok(k.id().to_string()),
            None => origin.error(span, format!("{what}: key {id:?} is not defined in a [[key]]")),
        }
    };

    let mut read_remotes: Vec<Remote> = Vec::with_capacity(remotes.len());
    for entry in remotes {
        let e = entry.get_ref();
        let what = format!("remote {}", e.id);
        if read_remotes.iter().any(|r| r.id.eq_ignore_ascii_case(&e.id)) {
            return origin.error(entry.span(), format!("{what} is defined twice"));
        }
        let addresses = e
            .address
            .clone()
            .into_vec()
            .iter()
            .map(|a| remote::parse_address(a).or_else(|m| origin.error(entry.span(), format!("{what}: {m}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if addresses.is_empty() {
            return origin.error(entry.span(), format!("{what}: no address"));
        }
        let key = e.key.as_deref().map(|k| key_ref(k, entry.span(), &what)).transpose()?;
        read_remotes.push(Remote { id: e.id.clone(), addresses, key });
    }

    let mut read_acls: Vec<Acl> = Vec::with_capacity(acls.len());
    for entry in acls {
        let e = entry.get_ref();
        let what = format!("acl {}", e.id);
        if read_acls.iter().any(|a| a.id.eq_ignore_ascii_case(&e.id)) {
            return origin.error(entry.span(), format!("{what} is defined twice"));
        }
        let addresses = e
            .address
            .clone()
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .iter()
            .map(|a| AddressRange::parse(a).or_else(|m| origin.error(entry.span(), format!("{what}: {m}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = e
            .key
            .clone()
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .iter()
            .map(|k| key_ref(k, entry.span(), &what))
            .collect::<Result<Vec<_>, _>>()?;
        let actions = e
            .action
            .clone()
            .into_vec()
            .iter()
            .map(|a| Action::parse(a).or_else(|m| origin.error(entry.span(), format!("{what}: {m}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if actions.is_empty() {
            return origin.error(entry.span(), format!("{what}: no action"));
        }
        read_acls.push(Acl { id: e.id.clone(), addresses, keys, actions });
    }
    Ok(Some(Access { keys: keyring, acls: read_acls, remotes: read_remotes }))
}
