//! One secondary zone's life, on its own thread: check the primaries' SOA
//! when REFRESH (or RETRY, after a failure) runs out, when a NOTIFY comes or
//! when asked; transfer by IXFR when we hold a copy (AXFR when we do not,
//! when the primary cannot, or when the differences do not fit); check the
//! result as a zone file is checked, have it served, and persist it; stop answering
//! from the copy when EXPIRE runs out with no good check.

use std::net::IpAddr;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use super::apply;
use super::client::{self, Error, Failure, Limits};
use super::config::SecondaryConfig;
use super::message::{WireRecord, AXFR, IXFR};
use super::storage;
use super::stream::Received;
use super::timers::{serial_newer, Soa, MIN_INTERVAL, NO_COPY_RETRY};
use super::zone_text;
use crate::stats::InboundCounters;
use crate::wire::dns::RType;
use crate::zone::{self, Record, Zone};

/// What can wake a zone's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Notify {
        from: IpAddr,
        serial: Option<u32>,
    },
    /// `ctl zone-refresh`: check the SOA now.
    Refresh,
    /// `ctl zone-retransfer`: a full AXFR now, whatever the serial.
    Retransfer,
    Stop,
}

/// What `ctl zone-status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub serial: Option<u32>,
    /// The primary the last good refresh came from.
    pub primary: Option<String>,
    pub last_refresh: Option<SystemTime>,
    /// The last check that failed (every primary).
    pub last_failed_refresh: Option<SystemTime>,
    pub next_refresh: Option<SystemTime>,
    pub expires: Option<SystemTime>,
    pub expired: bool,
    /// `AXFR`, `IXFR`, and when.
    pub last_transfer: Option<(String, SystemTime)>,
    pub last_error: Option<String>,
}

/// A zone's copy and status, shared by its thread and everybody who reads.
pub struct State {
    /// The copy being served: checked, as loaded from a zone file.
    pub zone: Option<Arc<Zone>>,
    pub status: Status,
}

/// Swaps the zones being served for what the secondaries now hold (the
/// daemon's reload). An error leaves the old ones serving.
pub type Swap = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Everything a zone's thread works with.
pub struct Worker {
    pub config: SecondaryConfig,
    pub state: Arc<Mutex<State>>,
    pub swap: Swap,
    pub limits: Limits,
    /// Shared by every zone: transfers and checks counted by result.
    pub counters: Arc<InboundCounters>,
}

/// What a transfer that did not fail brought.
enum Transferred {
    /// A new copy, being served.
    Copy,
    /// The primary had nothing newer (an IXFR answered with its SOA).
    UpToDate,
}

impl Worker {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs until `Stop` or until every sender is gone. `confirmed` is when
    /// the copy we start with was last known good.
    pub fn run(self, events: Receiver<Event>, confirmed: Option<SystemTime>) {
        let zone = self.config.zone.clone();
        let now = Instant::now();
        // The expire timer runs on from the persisted copy's last good check.
        let mut expires = self.soa().zip(confirmed).map(|(soa, at)| {
            let age = SystemTime::now().duration_since(at).unwrap_or_default();
            // Shown before the first check, which may fail for long.
            self.lock().status.expires = Some(at + soa.expire());
            now + soa.expire().saturating_sub(age)
        });
        let mut due = now;
        let mut last_check: Option<Instant> = None;
        let mut force = false;
        loop {
            let now = Instant::now();
            if expires.is_some_and(|at| at <= now) && !self.lock().status.expired {
                self.expire();
            }
            if now >= due {
                last_check = Some(now);
                due = self.refresh(std::mem::take(&mut force), &mut expires);
                continue;
            }
            let wake = match expires {
                Some(at) if at > now => due.min(at),
                _ => due,
            };
            let (why, retransfer, asked) = match events.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => continue,
                Ok(Event::Notify { from, serial }) => {
                    let ours = self.lock().status.serial;
                    let note = match (serial, ours) {
                        (Some(new), Some(ours)) if !serial_newer(new, ours) => {
                            format!(" (its serial {new} is not newer than ours, {ours}: checking anyway)")
                        }
                        _ => String::new(),
                    };
                    (format!("NOTIFY from {from}{note}, checking the primaries' SOA"), false, false)
                }
                Ok(Event::Refresh) => ("refresh requested".to_string(), false, true),
                Ok(Event::Retransfer) => ("full retransfer requested".to_string(), true, true),
            };
            force |= retransfer;
            // A burst of NOTIFYs (spoofed ones included: UDP) makes one check
            // a second at most, not one connection to the primary each.
            let earliest = last_check.map_or(now, |t| (t + MIN_INTERVAL).max(now));
            let moved = earliest < due;
            due = due.min(earliest);
            if moved || asked {
                tracing::info!("zone {zone}: {why}");
            } else {
                tracing::debug!("zone {zone}: {why}: a check is already due");
            }
        }
    }

    fn soa(&self) -> Option<Soa> {
        let state = self.lock();
        let zone = state.zone.as_ref()?;
        let soa = zone.records.iter().find(|r| r.rtype == RType::SOA && r.owner == zone.origin)?;
        Soa::from_rdata(&soa.rdata)
    }

    /// Checks the primaries (or retransfers, with `force`); returns when to
    /// check next and moves `expires` on after a good check.
    fn refresh(&self, force: bool, expires: &mut Option<Instant>) -> Instant {
        let zone = &self.config.zone;
        let outcome = self.try_primaries(force);
        let now = Instant::now();
        let soa = self.soa();
        let wall = SystemTime::now();
        let next = match &outcome {
            Ok(_) => soa.map_or(NO_COPY_RETRY, |s| s.refresh()),
            Err(_) => soa.map_or(NO_COPY_RETRY, |s| s.retry()),
        };
        let zone_label = zone.to_string();
        self.counters.refreshes.add((zone_label, if outcome.is_ok() { "ok" } else { "error" }));
        let mut state = self.lock();
        state.status.next_refresh = Some(wall + next);
        match outcome {
            Ok(primary) => {
                if std::mem::take(&mut state.status.expired) {
                    drop(state);
                    tracing::info!("zone {zone}: {primary} answers again, serving the zone again");
                    if let Err(e) = (self.swap)() {
                        tracing::error!("zone {zone}: could not serve the zone again: {e}");
                    }
                    state = self.lock();
                }
                state.status.last_refresh = Some(wall);
                state.status.primary = Some(primary);
                state.status.last_error = None;
                if let Some(soa) = soa {
                    *expires = Some(now + soa.expire());
                    state.status.expires = Some(wall + soa.expire());
                }
            }
            Err(error) => {
                let holding = match (state.status.serial, state.status.expired) {
                    (Some(serial), false) => format!("still serving serial {serial}"),
                    (Some(serial), true) => format!("expired (SERVFAIL), holding serial {serial}"),
                    (None, _) => "nothing to serve yet".to_string(),
                };
                tracing::warn!("zone {zone}: refresh failed, {holding}, next try in {next:?}: {error}");
                state.status.last_error = Some(error);
                state.status.last_failed_refresh = Some(wall);
            }
        }
        now + next
    }

    /// The first primary that answers decides; the error lists them all.
    fn try_primaries(&self, force: bool) -> Result<String, String> {
        let mut errors = Vec::new();
        for primary in &self.config.primaries {
            match self.refresh_from(primary, force) {
                Ok(()) => return Ok(primary.to_string()),
                Err(e) => errors.push(format!("{primary}: {e}")),
            }
        }
        if errors.is_empty() {
            errors.push("no primary configured".into());
        }
        Err(errors.join("; "))
    }

    fn refresh_from(&self, primary: &super::Primary, force: bool) -> Result<(), String> {
        let zone = &self.config.zone;
        let current = self.current_soa();
        let ours = current.as_ref().and_then(|s| s.soa_serial());
        if !force {
            if let Some(ours) = ours {
                let theirs = match client::ask(primary, zone, RType::SOA, None, &self.limits)? {
                    Received::UpToDate { serial } => serial,
                    other => return Err(format!("an SOA query answered with {}", other.kind())),
                };
                if !serial_newer(theirs, ours) {
                    if theirs != ours {
                        tracing::warn!(
                            "zone {zone}: {primary} has serial {theirs}, older than ours ({ours}): kept ours"
                        );
                    }
                    storage::touch(&self.config.file);
                    return Ok(());
                }
                match self.counted("ixfr", self.incremental(primary, current.as_ref())) {
                    Ok(()) => return Ok(()),
                    Err(e) => tracing::info!("zone {zone}: IXFR from {primary} failed, trying AXFR: {e}"),
                }
            }
        }
        let full = match client::ask(primary, zone, AXFR, None, &self.limits) {
            Ok(Received::Full { records, .. }) => {
                self.accept(received(&records), None, "AXFR", primary).map(|()| Transferred::Copy)
            }
            Ok(other) => Err(Error::new(Failure::Malformed, format!("AXFR answered with {}", other.kind()))),
            Err(e) => Err(e),
        };
        self.counted("axfr", full).map_err(String::from)
    }

    /// Counts a transfer (`kind`: what we asked for) by its result.
    fn counted(&self, kind: &'static str, result: Result<Transferred, Error>) -> Result<(), Error> {
        let label = match &result {
            Ok(Transferred::Copy) => "success",
            Ok(Transferred::UpToDate) => "up_to_date",
            Err(e) => e.failure.name(),
        };
        self.counters.transfers.add((self.config.zone.to_string(), kind, label));
        result.map(|_| ())
    }

    fn incremental(&self, primary: &super::Primary, current: Option<&WireRecord>) -> Result<Transferred, Error> {
        let rejected = |text: String| Error::new(Failure::Rejected, text);
        match client::ask(primary, &self.config.zone, IXFR, current, &self.limits)? {
            Received::UpToDate { .. } => Ok(Transferred::UpToDate),
            Received::Full { records, .. } => {
                self.accept(received(&records), None, "AXFR (as IXFR)", primary).map(|()| Transferred::Copy)
            }
            Received::Incremental { diffs, .. } => {
                let copy =
                    self.lock().zone.clone().ok_or_else(|| rejected("no copy to apply differences to".into()))?;
                let file = self.config.file.display().to_string();
                let applied = apply::apply(&copy.records, &diffs, &file).map_err(rejected)?;
                let derived = zone::Derived { from: Arc::downgrade(&copy), names: applied.names, at: Some(applied.at) };
                self.accept(applied.records, Some((copy, derived)), "IXFR", primary).map(|()| Transferred::Copy)
            }
        }
    }

    fn current_soa(&self) -> Option<WireRecord> {
        let state = self.lock();
        let zone = state.zone.as_ref()?;
        let soa = zone.records.iter().find(|r| r.rtype == RType::SOA && r.owner == zone.origin)?;
        Some(zone_text::from_zone(std::slice::from_ref(soa)).remove(0))
    }

    /// Checks a received zone as a zone file is checked, has it served
    /// (compiled with the others, or as an overlay over them), then
    /// persists it. Any failure keeps the old copy serving. `derived`: the
    /// copy held and what changed from it, when known (the records are then
    /// located already).
    fn accept(
        &self,
        mut records: Vec<Record>,
        derived: Option<(Arc<Zone>, zone::Derived)>,
        kind: &str,
        primary: &super::Primary,
    ) -> Result<(), Error> {
        let zone = &self.config.zone;
        let serial = records
            .iter()
            .find_map(|r| Soa::serial_of(r.rtype, &r.rdata))
            .ok_or_else(|| Error::new(Failure::Malformed, "the transferred zone has no SOA"))?;
        let file = self.config.file.display().to_string();
        let comment = format!("serial {serial}, {kind} from {primary}");
        // The copy must read back within the size limit at the next start.
        // Written out only when it may come near it: otherwise once it serves.
        let mut text = None;
        if zone_text::bound(zone, &records, &comment) > self.limits.max_bytes {
            let written = zone_text::render(zone, &records, &comment);
            if written.len() as u64 > self.limits.max_bytes {
                let text = format!(
                    "{kind} of serial {serial} is {} bytes as a zone file, over the zone size limit ({} bytes)",
                    written.len(),
                    self.limits.max_bytes
                );
                return Err(Error::new(Failure::TooLarge, text));
            }
            text = Some(written);
        }
        let rejected = |text: String| Error::new(Failure::Rejected, text);
        let count = records.len();
        // The checks a zone file passes, without writing it out and reading
        // it back (`zone::from_records`; after an IXFR, at the names it
        // touched when that tells the same). Whether it compiles is the
        // swap's to find out: it compiles it anyway, and a failure there
        // keeps the old copy as surely as a compile of its own here would.
        let loaded = match derived {
            Some((held, derived)) => zone::from_change(&held, records, derived, zone, &file),
            None => {
                apply::locate(&mut records, &file);
                zone::from_records(records, zone, &file)
            }
        };
        let loaded = loaded.map_err(|e| rejected(format!("{kind} of serial {serial} does not load as a zone: {e}")))?;
        for w in &loaded.warnings {
            tracing::warn!("zone {zone}: {w}");
        }
        let loaded = Arc::new(loaded);
        let old = {
            let mut state = self.lock();
            let old = state.zone.replace(Arc::clone(&loaded));
            state.status.expired = false;
            old
        };
        if let Err(e) = (self.swap)() {
            let mut state = self.lock();
            state.zone = old;
            return Err(rejected(format!("{kind} of serial {serial} could not be served: {e}")));
        }
        let before = {
            let mut state = self.lock();
            let before = state.status.serial.replace(serial);
            state.status.last_transfer = Some((kind.to_string(), SystemTime::now()));
            before
        };
        let from = before.map_or("nothing".to_string(), |s| format!("serial {s}"));
        tracing::info!("zone {zone}: {kind} from {primary}: {from} → serial {serial}, {count} records");
        // The records as checked (duplicates gone, an RRset's TTLs made one):
        // the copy reads back as the zone that serves, with nothing to warn of.
        let text = text.unwrap_or_else(|| zone_text::render(zone, &loaded.records, &comment));
        drop(loaded);
        if let Err(e) = storage::write_atomically(&self.config.file, &text) {
            tracing::warn!("zone {zone}: serving serial {serial}, but the copy on disk is older: {e}");
        }
        Ok(())
    }

    /// EXPIRE ran out: answer SERVFAIL for the zone until a check succeeds.
    fn expire(&self) {
        let zone = &self.config.zone;
        let serial = {
            let mut state = self.lock();
            state.status.expired = true;
            state.status.serial
        };
        tracing::error!(
            "zone {zone}: expired (no good refresh within the SOA's EXPIRE), answering SERVFAIL; serial {} is kept for when a primary answers",
            serial.map_or("none".into(), |s| s.to_string())
        );
        if let Err(e) = (self.swap)() {
            tracing::error!("zone {zone}: could not stop serving the expired copy: {e}");
        }
    }
}

/// A transfer's records as the records of a copy.
fn received(records: &[WireRecord]) -> Vec<Record> {
    records.iter().map(apply::record).collect()
}
