//! `[[zone]]`s with `master` and the `[[remote]]`s they name, as the
//! secondary zones `serve` pulls.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use toml::Spanned;

use super::schema::{RemoteEntry, ZoneEntry};
use super::settings::{zone_name, Origin};
use crate::transfer::inbound::{Primary, SecondaryConfig};

/// Every secondary zone in the file, each checked where the error can
/// point at it.
pub fn secondaries(
    zones: &[Spanned<ZoneEntry>],
    remotes: &[Spanned<RemoteEntry>],
    storage: Option<&Path>,
    origin: &Origin,
) -> Result<Vec<SecondaryConfig>, String> {
    let mut known: Vec<Primary> = Vec::with_capacity(remotes.len());
    for remote in remotes {
        let r = remote.get_ref();
        if known.iter().any(|k| k.id.as_deref() == Some(r.id.get_ref())) {
            return origin.error(r.id.span(), format!("remote {:?} is defined twice", r.id.get_ref()));
        }
        let address = parse_remote_address(r.address.get_ref()).or_else(|e| origin.error(r.address.span(), e))?;
        if let Some(key) = &r.key {
            return origin.error(
                key.span(),
                format!("remote {:?}: TSIG keys for transfers are not in this build yet", r.id.get_ref()),
            );
        }
        known.push(Primary { id: Some(r.id.get_ref().clone()), address, key: None });
    }
    let mut out = Vec::new();
    for zone in zones {
        let entry = zone.get_ref();
        let Some(master) = &entry.master else { continue };
        let Some(name) = &entry.name else {
            return origin.error(zone.span(), "a secondary zone (with `master`) needs its `name`");
        };
        let zone_name = zone_name(name, origin)?;
        if master.get_ref().is_empty() {
            return origin.error(master.span(), "`master` lists no primary");
        }
        let mut primaries = Vec::new();
        for m in master.get_ref() {
            let primary = match known.iter().find(|k| k.id.as_deref() == Some(m.get_ref().as_str())) {
                Some(remote) => remote.clone(),
                None => match parse_remote_address(m.get_ref()) {
                    Ok(address) => Primary { id: None, address, key: None },
                    Err(_) => {
                        return origin.error(
                            m.span(),
                            format!("{:?} is neither a [[remote]] id nor an address (IP or IP@PORT)", m.get_ref()),
                        )
                    }
                },
            };
            primaries.push(primary);
        }
        let file = match (&entry.file, storage) {
            (Some(file), _) => origin.path(file, "file")?,
            (None, Some(dir)) => dir.join(format!("{}zone", zone_name)),
            (None, None) => {
                return origin.error(
                    zone.span(),
                    format!("secondary zone {zone_name} needs `file` or [server] `storage` to keep its copy in"),
                )
            }
        };
        out.push(SecondaryConfig { zone: zone_name, file, primaries, notify_from: Vec::new() });
    }
    Ok(out)
}

/// `IP` or `IP@PORT`, as Knot writes a remote's address.
pub fn parse_remote_address(text: &str) -> Result<SocketAddr, String> {
    let (ip, port) = match text.split_once('@') {
        Some((ip, port)) => (ip, port.parse::<u16>().map_err(|_| format!("bad port in {text:?}"))?),
        None => (text, 53),
    };
    let ip: IpAddr = ip.parse().map_err(|_| format!("bad address {text:?}: expected IP or IP@PORT"))?;
    Ok(SocketAddr::new(ip, port))
}
