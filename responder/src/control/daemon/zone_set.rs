//! The live zone set: at each reload the config file's `[[zone]]` list is
//! read again, so zones added there are served and zones removed there
//! answer REFUSED after the swap, without a restart; and `ctl zone-reload
//! ZONE`, which reads one zone file again (or, for a secondary zone, checks
//! its primaries now, as Knot's `zone-reload` does).

use std::path::Path;

use serde_json::{json, Value};

use super::runtime::Runtime;
use super::served;
use crate::transfer::inbound::SecondaryConfig;
use crate::zone::{Name, Zone};

/// The zones a config file lists now.
pub struct ZoneSet {
    /// `[[zone]]`s with a file, as --zone arguments.
    pub files: Vec<String>,
    pub secondaries: Vec<SecondaryConfig>,
}

/// The zone set in `config`; `None` without a config (zones from the
/// command line stay as they are), or when the server, running as a user
/// who may not read the config (kept root-only), cannot: it keeps the set
/// it started with, as before zone sets were live.
pub fn read(config: Option<&Path>) -> Result<Option<ZoneSet>, String> {
    let Some(path) = config else { return Ok(None) };
    if let Err(e) = std::fs::File::open(path) {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            tracing::warn!("{}: {e}: the zone set stays as it is", path.display());
            return Ok(None);
        }
    }
    let settings = crate::control::cli::config::load(path)?;
    if settings.table.is_some() {
        return Err(format!(
            "{}: names a `table` now: changing between a table and zone files needs a restart",
            path.display()
        ));
    }
    Ok(Some(ZoneSet {
        files: settings.zones.unwrap_or_default(),
        secondaries: settings.secondaries.unwrap_or_default(),
    }))
}

/// A zone cannot be both a file zone and a secondary zone.
pub fn check_overlap(files: &[(String, std::sync::Arc<Zone>)], secondaries: &[SecondaryConfig]) -> Result<(), String> {
    for (arg, zone) in files {
        if secondaries.iter().any(|s| s.zone == zone.origin) {
            return Err(format!("zone {} is both a zone file ({arg}) and a secondary zone", zone.origin));
        }
    }
    Ok(())
}

/// `zone-reload ZONE`; `None` for any other request.
pub fn handle(request: &str, runtime: &Runtime) -> Option<Value> {
    let mut words = request.split_whitespace();
    if words.next()? != "zone-reload" {
        return None;
    }
    let Some(asked) = words.next() else {
        return Some(json!({"ok": false, "error": "zone-reload needs a zone name"}));
    };
    let absolute = if asked.ends_with('.') { asked.to_string() } else { format!("{asked}.") };
    let zone = match Name::parse(&absolute, None) {
        Ok(Some(zone)) => zone,
        _ => return Some(json!({"ok": false, "error": format!("bad zone name {asked:?}")})),
    };
    if let Some(secondaries) = runtime.reloader.secondaries() {
        if secondaries.status(Some(asked)).is_ok() {
            tracing::info!("zone-reload {zone}: a secondary zone, checking its primaries");
            let reply = secondaries
                .refresh(asked, false)
                .map(|()| json!({"ok": true, "zone": zone.to_string(), "refresh": true}));
            return Some(reply.unwrap_or_else(|error| json!({"ok": false, "error": error})));
        }
    }
    tracing::info!("zone-reload {zone} requested over the control socket");
    Some(match runtime.reloader.reload_zone(&zone) {
        Ok(loaded) => {
            tracing::info!(
                "zone-reload {zone}: serving {} in {:.2?} ({})",
                served::describe(&loaded.zones),
                loaded.took,
                loaded.path.name()
            );
            json!({
                "ok": true,
                "zone": zone.to_string(),
                "took_ms": loaded.took.as_secs_f64() * 1e3,
                "path": loaded.path.name(),
            })
        }
        Err(error) => {
            tracing::error!("zone-reload {zone} failed, the zones served are unchanged: {error}");
            json!({"ok": false, "error": error})
        }
    })
}
