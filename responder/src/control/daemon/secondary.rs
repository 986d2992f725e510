//! Secondary zones inside `serve`: their copies loaded before the first
//! table, their threads swapping new copies in through the reloader, NOTIFY
//! from the kernel-socket server, and `ctl zone-status` / `zone-refresh` /
//! `zone-retransfer`.

use std::sync::{Arc, Weak};
use std::time::SystemTime;

use serde_json::{json, Value};

use super::runtime::Runtime;
use super::served;
use crate::server::NotifyHandler;
use crate::transfer::inbound::{Secondaries, ZoneStatus};
use crate::zone::ReadLimits;

/// The secondary zones of `configs` with their persisted copies; `None`
/// when there are none and none can come (`live`: the zone set is read
/// again from the config at each reload, so one may be added).
pub fn prepare(
    configs: &[crate::transfer::inbound::SecondaryConfig],
    limits: &ReadLimits,
    live: bool,
) -> Result<Option<Arc<Secondaries>>, String> {
    if configs.is_empty() && !live {
        return Ok(None);
    }
    Ok(Some(Secondaries::load(configs.to_vec(), limits)?))
}

/// Before privileges are dropped: creates the directory of each copy and
/// gives it (and the copy) to the user the server will run as, whose
/// threads write the copies. Without CAP_CHOWN (the systemd unit's bounding
/// set leaves it out) that fails: a warning then says what to do, since a
/// directory the user can already write (given to it once) works as well.
pub fn hand_over_storage(
    configs: &[crate::transfer::inbound::SecondaryConfig],
    identity: &super::privileges::Identity,
) -> Result<(), String> {
    // A catalog's members keep their copies in its templates' directories.
    let member_dirs = configs.iter().flat_map(|c| c.catalog.iter().flat_map(|cat| cat.templates.iter()));
    for dir in member_dirs.map(|t| t.storage.as_path()).filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if let Err(e) = std::os::unix::fs::chown(dir, Some(identity.uid), Some(identity.gid)) {
            tracing::warn!(
                "cannot give {} to {} ({e}): catalog members' copies are written as {}, so it must be writable by them (chown it once)",
                dir.display(),
                identity.user,
                identity.user
            );
        }
    }
    for config in configs {
        let Some(dir) = config.file.parent().filter(|d| !d.as_os_str().is_empty()) else { continue };
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for path in [dir, config.file.as_path()] {
            if !path.exists() {
                continue;
            }
            if let Err(e) = std::os::unix::fs::chown(path, Some(identity.uid), Some(identity.gid)) {
                tracing::warn!(
                    "cannot give {} to {} ({e}): secondary zone copies are written as {}, so it must be writable by them (chown it once)",
                    path.display(),
                    identity.user,
                    identity.user
                );
            }
        }
    }
    Ok(())
}

/// The kernel-socket server's NOTIFY handler.
pub fn notify_handler(secondaries: &Arc<Secondaries>) -> NotifyHandler {
    let secondaries = Arc::clone(secondaries);
    Arc::new(move |buf: &mut [u8], len, source| secondaries.notify(buf, len, source))
}

/// Starts the zones' threads; each new copy is served through a reload,
/// compiled on the zone's own thread, never a serving one.
pub fn start(runtime: &Arc<Runtime>) -> Result<(), String> {
    let Some(secondaries) = runtime.reloader.secondaries() else { return Ok(()) };
    let weak: Weak<Runtime> = Arc::downgrade(runtime);
    secondaries.start(Arc::new(move || {
        let runtime = weak.upgrade().ok_or("the server is stopping")?;
        let loaded = runtime.reloader.swap_secondaries()?;
        tracing::debug!("serving {}", served::describe(&loaded.zones));
        Ok(())
    }))
}

pub fn stop(runtime: &Runtime) {
    if let Some(secondaries) = runtime.reloader.secondaries() {
        secondaries.stop();
    }
}

/// `zone-status [ZONE]`, `zone-refresh ZONE`, `zone-retransfer ZONE`;
/// `None` for any other request.
pub fn handle(request: &str, runtime: &Runtime) -> Option<Value> {
    let mut words = request.split_whitespace();
    let command = words.next()?;
    let zone = words.next();
    if !matches!(command, "zone-status" | "zone-refresh" | "zone-retransfer") {
        return None;
    }
    let Some(secondaries) = runtime.reloader.secondaries() else {
        return Some(json!({"ok": false, "error": "no secondary zones are configured"}));
    };
    let reply = match (command, zone) {
        ("zone-status", zone) => secondaries
            .status(zone)
            .map(|all| json!({"ok": true, "zones": all.iter().map(status_json).collect::<Vec<_>>()})),
        (_, None) => Err(format!("{command} needs a zone name")),
        (command, Some(zone)) => {
            secondaries.refresh(zone, command == "zone-retransfer").map(|()| json!({"ok": true, "zone": zone}))
        }
    };
    Some(reply.unwrap_or_else(|error| json!({"ok": false, "error": error})))
}

fn unix(at: Option<SystemTime>) -> Value {
    at.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map_or(Value::Null, |d| json!(d.as_secs()))
}

fn unix_f64(at: Option<SystemTime>) -> Option<f64> {
    at.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map(|d| d.as_secs_f64())
}

/// One zone for `ctl zone-status`: times as Unix seconds.
pub fn status_json(z: &ZoneStatus) -> Value {
    let s = &z.status;
    json!({
        "zone": z.zone,
        "serial": s.serial,
        "primaries": z.primaries,
        "primary": s.primary,
        "last_refresh": unix(s.last_refresh),
        "last_failed_refresh": unix(s.last_failed_refresh),
        "next_refresh": unix(s.next_refresh),
        "expires": unix(s.expires),
        "expired": s.expired,
        "last_transfer": s.last_transfer.as_ref().map(|(kind, _)| kind.clone()),
        "last_transfer_at": unix(s.last_transfer.as_ref().map(|(_, at)| *at)),
        "last_error": s.last_error,
        "catalog": z.member_of,
    })
}

/// The secondary zones for `ctl stats`, /metrics and /readyz.
pub fn snapshot(runtime: &Runtime) -> Vec<super::snapshot::SecondarySnapshot> {
    let Some(statuses) = runtime.reloader.secondaries().and_then(|s| s.status(None).ok()) else { return Vec::new() };
    statuses
        .iter()
        .map(|z| super::snapshot::SecondarySnapshot {
            zone: z.zone.clone(),
            has_copy: z.status.serial.is_some(),
            expired: z.status.expired,
            expires: unix_f64(z.status.expires),
            refreshed: unix_f64(z.status.last_refresh),
            refresh_failed: unix_f64(z.status.last_failed_refresh),
            transferred: z
                .status
                .last_transfer
                .as_ref()
                .and_then(|(kind, at)| Some((kind.clone(), unix_f64(Some(*at))?))),
        })
        .collect()
}

/// Catalog members not transferred yet (never held a copy).
pub fn members_without_copy(runtime: &Runtime) -> Vec<String> {
    let Some(statuses) = runtime.reloader.secondaries().and_then(|s| s.status(None).ok()) else { return Vec::new() };
    statuses.into_iter().filter(|z| z.member_of.is_some() && z.status.serial.is_none()).map(|z| z.zone).collect()
}
