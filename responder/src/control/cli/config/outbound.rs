//! `[[zone]]`s with `acl` or `notify` (primary or secondary alike), resolved
//! against the `[[acl]]`s and `[[remote]]`s they name, as the zones `serve`
//! sends out.

use toml::Spanned;

use super::schema::ZoneEntry;
use super::settings::{zone_name, Origin};
use crate::access::{remote, Access};
use crate::transfer::journal::DEFAULT_DEPTH;
use crate::transfer::outbound::{OutboundConfig, Target};

/// Most differences a zone may keep (Knot's journal-max-depth is bounded
/// by its journal's size instead; each difference here is in memory).
const MAX_DEPTH: u32 = 1000;

pub fn outbound(
    zones: &[Spanned<ZoneEntry>],
    access: Option<&Access>,
    origin: &Origin,
) -> Result<Vec<OutboundConfig>, String> {
    let mut out = Vec::new();
    for zone in zones {
        let entry = zone.get_ref();
        if entry.acl.is_none() && entry.notify.is_none() {
            if let Some(depth) = &entry.journal_max_depth {
                return origin
                    .error(depth.span(), "`journal-max-depth` is for a zone sent out (with `acl` or `notify`)");
            }
            continue;
        }
        let Some(name) = &entry.name else {
            return origin.error(zone.span(), "a zone sent out (with `acl` or `notify`) needs its `name`");
        };
        let zone_name = zone_name(name, origin)?;
        let mut acls = Vec::new();
        for id in entry.acl.iter().flatten() {
            match access.and_then(|a| a.acl(id.get_ref())) {
                Some(acl) => acls.push(acl.id.clone()),
                None => return origin.error(id.span(), format!("acl {:?} is not defined in an [[acl]]", id.get_ref())),
            }
        }
        let mut notify = Vec::new();
        for id in entry.notify.iter().flatten() {
            match access.and_then(|a| a.remote(id.get_ref())) {
                Some(r) => {
                    let key = match &r.key {
                        Some(key_id) => match access.and_then(|a| a.keys.by_id(key_id)) {
                            Some(key) => Some(key.clone()),
                            None => {
                                return origin
                                    .error(id.span(), format!("remote {}: key {key_id:?} is not defined", r.id))
                            }
                        },
                        None => None,
                    };
                    for address in &r.addresses {
                        notify.push(Target { id: r.id.clone(), address: *address, key: key.clone() });
                    }
                }
                None => match remote::parse_address(id.get_ref()) {
                    Ok(address) => notify.push(Target { id: address.to_string(), address, key: None }),
                    Err(_) => {
                        return origin.error(
                            id.span(),
                            format!("{:?} is neither a [[remote]] id nor an address (IP or IP@PORT)", id.get_ref()),
                        )
                    }
                },
            }
        }
        let journal_depth = match &entry.journal_max_depth {
            Some(depth) if *depth.get_ref() > MAX_DEPTH => {
                return origin.error(depth.span(), format!("`journal-max-depth` is at most {MAX_DEPTH}"))
            }
            Some(depth) => *depth.get_ref() as usize,
            None => DEFAULT_DEPTH,
        };
        out.push(OutboundConfig { zone: zone_name, acls, notify, journal_depth });
    }
    Ok(out)
}
