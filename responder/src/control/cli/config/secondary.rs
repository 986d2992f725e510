//! `[[zone]]`s with `master`, resolved against the `[[remote]]`s and
//! `[[key]]`s they name (read by `access`), as the secondary zones `serve`
//! pulls.

use std::path::Path;

use toml::Spanned;

use super::schema::ZoneEntry;
use super::settings::{zone_name, Origin};
use crate::access::{remote, Access, Action};
use crate::transfer::catalog::MemberTemplate;
use crate::transfer::inbound::{Primary, SecondaryConfig};

/// Every secondary zone in the file, each checked where the error can
/// point at it. A `master` entry is a `[[remote]]` id (each of its
/// addresses, signed with its key) or an address (`IP` or `IP@PORT`).
pub fn secondaries(
    zones: &[Spanned<ZoneEntry>],
    access: Option<&Access>,
    storage: Option<&Path>,
    templates: &[MemberTemplate],
    origin: &Origin,
) -> Result<Vec<SecondaryConfig>, String> {
    let mut out = Vec::new();
    for zone in zones {
        let entry = zone.get_ref();
        let Some(master) = &entry.master else {
            super::catalog::refuse_without_master(entry, zone.span(), origin)?;
            continue;
        };
        let Some(name) = &entry.name else {
            return origin.error(zone.span(), "a secondary zone (with `master`) needs its `name`");
        };
        let zone_name = zone_name(name, origin)?;
        if master.get_ref().is_empty() {
            return origin.error(master.span(), "`master` lists no primary");
        }
        let primaries = primaries(master.get_ref(), access, origin)?;
        let file = match (&entry.file, storage) {
            (Some(file), _) => origin.path(file, "file")?,
            (None, Some(dir)) => dir.join(format!("{zone_name}zone")),
            (None, None) => {
                return origin.error(
                    zone.span(),
                    format!("secondary zone {zone_name} needs `file` or [server] `storage` to keep its copy in"),
                )
            }
        };
        let notify_from = notify_from(access);
        let catalog = super::catalog::catalog(entry, &primaries, &notify_from, &file, storage, templates, origin)?;
        out.push(SecondaryConfig { zone: zone_name, file, primaries, notify_from, catalog });
    }
    Ok(out)
}

/// `master` entries as primaries: a `[[remote]]` id (each of its addresses,
/// signed with its key) or an address (`IP` or `IP@PORT`).
pub(super) fn primaries(
    master: &[Spanned<String>],
    access: Option<&Access>,
    origin: &Origin,
) -> Result<Vec<Primary>, String> {
    let mut primaries = Vec::new();
    for m in master {
        match access.and_then(|a| a.remote(m.get_ref())) {
            Some(r) => {
                let key = match &r.key {
                    Some(id) => match access.and_then(|a| a.keys.by_id(id)) {
                        Some(key) => Some(key.clone()),
                        None => return origin.error(m.span(), format!("remote {}: key {id:?} is not defined", r.id)),
                    },
                    None => None,
                };
                for address in &r.addresses {
                    primaries.push(Primary { id: Some(r.id.clone()), address: *address, key: key.clone() });
                }
            }
            None => match remote::parse_address(m.get_ref()) {
                Ok(address) => primaries.push(Primary { id: None, address, key: None }),
                Err(_) => {
                    return origin.error(
                        m.span(),
                        format!("{:?} is neither a [[remote]] id nor an address (IP or IP@PORT)", m.get_ref()),
                    )
                }
            },
        }
    }
    Ok(primaries)
}

/// Besides its primaries, the addresses of every [[acl]] with `action =
/// "notify"` may send NOTIFY (there is no zone `acl` list yet; an ACL with
/// no address lets nobody more in, not everybody).
pub(super) fn notify_from(access: Option<&Access>) -> Vec<crate::access::AddressRange> {
    access
        .map(|a| {
            a.acls
                .iter()
                .filter(|acl| acl.actions.contains(&Action::Notify))
                .flat_map(|acl| acl.addresses.iter().copied())
                .collect()
        })
        .unwrap_or_default()
}
