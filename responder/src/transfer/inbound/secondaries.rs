//! Every secondary zone, as the rest of the server sees them: the reloader
//! asks which zones to serve, the servers hand NOTIFYs over, the control
//! socket asks for status and refreshes.
//!
//! The set is live: a config reload replaces the configured zones
//! ([`Secondaries::configure`]), and a catalog's new copy replaces its
//! members (`reconcile`, called on the catalog's own thread just before
//! its copy is served). A zone that goes has its thread told to stop; the
//! thread ends by itself within its transfer timeouts and is joined later
//! (at the next change, or at [`Secondaries::stop`]), never while a lock
//! that thread may need is held.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::SystemTime;

use super::client::Limits;
use super::config::SecondaryConfig;
use super::notify::{self, Decision};
use super::storage;
use super::timers::Soa;
use super::zone::{Event, State, Status, Swap, Worker};
use crate::stats::transfers::NO_ZONE;
use crate::stats::InboundCounters;
use crate::transfer::catalog;
use crate::wire::dns::RType;
use crate::zone::{Name, ReadLimits, Zone};

/// One zone's status, for `ctl zone-status` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneStatus {
    pub zone: String,
    pub primaries: Vec<String>,
    pub status: Status,
    /// The catalog that lists it, for a catalog member.
    pub member_of: Option<String>,
}

struct Entry {
    config: SecondaryConfig,
    state: Arc<Mutex<State>>,
    events: Mutex<Sender<Event>>,
    /// Taken by the zone's thread when it starts.
    receiver: Mutex<Option<Receiver<Event>>>,
    confirmed: Option<SystemTime>,
    /// The catalog that lists this zone, for a member.
    member_of: Option<Name>,
    /// Set when a member leaves its catalog: its thread deletes its copy
    /// as it ends (as Knot purges a removed member), so a later return
    /// starts from a fresh transfer, not from a stale copy.
    purge: Arc<AtomicBool>,
}

impl Entry {
    fn new(config: SecondaryConfig, member_of: Option<Name>, read: &ReadLimits) -> Result<Entry, String> {
        let copy = storage::load(&config.file, &config.zone, read)
            .map_err(|e| format!("secondary zone {}: its copy does not load: {e}", config.zone))?;
        Ok(Entry::with_copy(config, member_of, copy))
    }

    fn with_copy(config: SecondaryConfig, member_of: Option<Name>, copy: Option<(Zone, SystemTime)>) -> Entry {
        let (zone, confirmed) = match copy {
            Some((zone, at)) => (Some(Arc::new(zone)), Some(at)),
            None => (None, None),
        };
        let status = Status { serial: zone.as_deref().and_then(serial), ..Status::default() };
        let (sender, receiver) = mpsc::channel();
        Entry {
            config,
            state: Arc::new(Mutex::new(State { zone, status })),
            events: Mutex::new(sender),
            receiver: Mutex::new(Some(receiver)),
            confirmed,
            member_of,
            purge: Arc::new(AtomicBool::new(false)),
        }
    }

    fn send(&self, event: Event) -> bool {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).send(event).is_ok()
    }

    fn copy(&self) -> Option<Arc<Zone>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).zone.clone()
    }
}

pub struct Secondaries {
    entries: RwLock<Vec<Arc<Entry>>>,
    limits: Limits,
    read: ReadLimits,
    /// Every zone thread started and not yet joined.
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Set by `start`, cleared by `stop`: a zone added in between starts at
    /// once, one added before waits for `start`, none after.
    swap: Mutex<Option<Swap>>,
    /// The zones served from files: a catalog member by one of these names
    /// is left out (the configured zone wins).
    file_zones: RwLock<Vec<Name>>,
    /// Held across a whole change of the set (a config reload, a catalog's
    /// members), so two never interleave their reads and writes.
    changing: Mutex<()>,
    this: Weak<Secondaries>,
    /// Transfers, checks and NOTIFYs of every zone, past ones included.
    counters: Arc<InboundCounters>,
}

impl Secondaries {
    /// Loads each zone's persisted copy (a zone with no copy yet is not
    /// served until its first transfer), and for a catalog the members its
    /// copy lists, with theirs. A configured zone's copy that does not load
    /// is an error: the operator must see it, as with any zone file.
    pub fn load(configs: Vec<SecondaryConfig>, read: &ReadLimits) -> Result<Arc<Secondaries>, String> {
        let mut entries = Vec::with_capacity(configs.len());
        for config in configs {
            entries.push(Arc::new(Entry::new(config, None, read)?));
        }
        let limits = Limits { max_bytes: read.max_bytes, ..Limits::default() };
        let secondaries = Arc::new_cyclic(|this| Secondaries {
            entries: RwLock::new(entries),
            limits,
            read: read.clone(),
            threads: Mutex::new(Vec::new()),
            swap: Mutex::new(None),
            file_zones: RwLock::new(Vec::new()),
            changing: Mutex::new(()),
            this: this.clone(),
            counters: Arc::default(),
        });
        for catalog in secondaries.catalogs() {
            secondaries.reconcile(&catalog);
        }
        Ok(secondaries)
    }

    fn read_entries(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Entry>>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_entries(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<Entry>>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }

    fn catalogs(&self) -> Vec<Name> {
        self.read_entries().iter().filter(|e| e.config.catalog.is_some()).map(|e| e.config.zone.clone()).collect()
    }

    pub fn counters(&self) -> &InboundCounters {
        &self.counters
    }

    pub fn is_empty(&self) -> bool {
        self.read_entries().is_empty()
    }

    /// The zones served from files, as the reloader last loaded them.
    pub fn set_file_zones(&self, names: Vec<Name>) {
        *self.file_zones.write().unwrap_or_else(|p| p.into_inner()) = names;
    }

    /// The zones to compile into the table: each copy (shared, not copied:
    /// a big secondary would be held twice at every reload), or for an
    /// expired one its SOA alone, marked to answer SERVFAIL.
    pub fn serving(&self) -> Vec<Arc<Zone>> {
        let file_zones = self.file_zones.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut zones = Vec::new();
        for e in self.read_entries().iter() {
            if e.member_of.is_some() && file_zones.contains(&e.config.zone) {
                continue;
            }
            let state = e.state.lock().unwrap_or_else(|p| p.into_inner());
            let Some(zone) = &state.zone else { continue };
            if state.status.expired {
                let soa = zone.records.iter().filter(|r| r.rtype == RType::SOA && r.owner == zone.origin);
                zones.push(Arc::new(Zone {
                    origin: zone.origin.clone(),
                    records: soa.cloned().collect(),
                    warnings: Vec::new(),
                    expired: true,
                    derived: None,
                }));
            } else {
                zones.push(Arc::clone(zone));
            }
        }
        zones
    }

    /// Starts one thread per zone; each checks its primaries at once. Zones
    /// added later start as they come.
    pub fn start(&self, swap: Swap) -> Result<(), String> {
        *self.swap.lock().unwrap_or_else(|p| p.into_inner()) = Some(swap);
        let entries: Vec<Arc<Entry>> = self.read_entries().clone();
        for e in &entries {
            self.spawn(e)?;
        }
        Ok(())
    }

    /// Starts `e`'s thread, unless it runs already or the server is not
    /// (yet, or any more) running.
    fn spawn(&self, e: &Arc<Entry>) -> Result<(), String> {
        let Some(swap) = self.swap.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return Ok(()) };
        let Some(receiver) = e.receiver.lock().unwrap_or_else(|p| p.into_inner()).take() else { return Ok(()) };
        // A catalog's new copy changes its members before it is served, on
        // its own thread: the swap that serves the copy serves them too.
        let swap: Swap = match &e.config.catalog {
            Some(_) => {
                let this = self.this.clone();
                let zone = e.config.zone.clone();
                Arc::new(move || {
                    if let Some(secondaries) = this.upgrade() {
                        secondaries.reconcile(&zone);
                    }
                    swap()
                })
            }
            None => swap,
        };
        let worker = Worker {
            config: e.config.clone(),
            state: Arc::clone(&e.state),
            swap,
            limits: self.limits,
            counters: Arc::clone(&self.counters),
        };
        let confirmed = e.confirmed;
        let purge = Arc::clone(&e.purge);
        let file = e.config.file.clone();
        let this = self.this.clone();
        let thread = std::thread::Builder::new()
            .name(format!("secondary {}", e.config.zone))
            .spawn(move || {
                worker.run(receiver, confirmed);
                // Unless the member came back meanwhile and uses the file again.
                let reused = this.upgrade().is_some_and(|s| s.read_entries().iter().any(|e| e.config.file == file));
                if purge.load(Ordering::Acquire) && !reused {
                    let _ = std::fs::remove_file(&file);
                }
            })
            .map_err(|err| format!("cannot start the thread of secondary zone {}: {err}", e.config.zone))?;
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        // The threads of zones gone since: joined now if they have ended.
        let (ended, running): (Vec<_>, Vec<_>) = threads.drain(..).partition(|t| t.is_finished());
        *threads = running;
        threads.push(thread);
        drop(threads);
        for t in ended {
            let _ = t.join();
        }
        Ok(())
    }

    /// Stops every zone's thread, waiting for a transfer under way to end
    /// (each is bounded by its timeouts).
    pub fn stop(&self) {
        self.swap.lock().unwrap_or_else(|p| p.into_inner()).take();
        for e in self.read_entries().iter() {
            e.send(Event::Stop);
        }
        let threads: Vec<JoinHandle<()>> = self.threads.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }

    /// Tells a zone that leaves to stop; its thread is joined later.
    fn retire(e: &Entry, purge: bool) {
        e.purge.store(purge, Ordering::Release);
        e.send(Event::Stop);
    }

    /// Replaces the configured secondary zones by `configs` (a config
    /// reload): a zone gone stops, a new one (or one whose settings
    /// changed) starts from its copy, the others run on untouched. Catalogs'
    /// members follow. Nothing changes if a new zone's copy does not load.
    /// Returns what changed, for the log.
    pub fn configure(&self, configs: Vec<SecondaryConfig>) -> Result<Vec<String>, String> {
        let _one_change = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let current: Vec<Arc<Entry>> = self.read_entries().iter().filter(|e| e.member_of.is_none()).cloned().collect();
        let mut added = Vec::new();
        for config in &configs {
            if !current.iter().any(|e| e.config == *config) {
                added.push(Arc::new(Entry::new(config.clone(), None, &self.read)?));
            }
        }
        let mut changes = Vec::new();
        {
            let mut entries = self.write_entries();
            entries.retain(|e| {
                let configured = e.member_of.is_none();
                let keep = !configured || configs.iter().any(|c| *c == e.config);
                if !keep {
                    Secondaries::retire(e, false);
                    if !configs.iter().any(|c| c.zone == e.config.zone) {
                        changes.push(format!("secondary zone {} removed", e.config.zone));
                    }
                }
                keep
            });
            for e in &added {
                // A configured zone wins over a catalog member of its name.
                entries.retain(|m| {
                    let shadowed = m.member_of.is_some() && m.config.zone == e.config.zone;
                    if shadowed {
                        Secondaries::retire(m, false);
                    }
                    !shadowed
                });
                let changed = current.iter().any(|c| c.config.zone == e.config.zone);
                changes.push(format!("secondary zone {} {}", e.config.zone, if changed { "changed" } else { "added" }));
                entries.push(Arc::clone(e));
            }
        }
        // Members of catalogs that are gone.
        let catalogs = self.catalogs();
        let mut entries = self.write_entries();
        entries.retain(|e| {
            let orphan = e.member_of.as_ref().is_some_and(|c| !catalogs.contains(c));
            if orphan {
                Secondaries::retire(e, true);
                changes.push(format!("catalog member {} removed with its catalog", e.config.zone));
            }
            !orphan
        });
        drop(entries);
        for catalog in &catalogs {
            self.reconcile_locked(catalog);
        }
        for e in &added {
            self.spawn(e)?;
        }
        Ok(changes)
    }

    /// Makes `catalog`'s members what its copy lists: new ones added (from
    /// their copies, if any) and started, gone ones stopped and their
    /// copies deleted. A catalog that cannot be interpreted (no copy yet, a
    /// version we do not know) leaves its members as they are.
    fn reconcile(&self, catalog: &Name) {
        let _one_change = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        self.reconcile_locked(catalog);
    }

    fn reconcile_locked(&self, catalog: &Name) {
        let entry = self
            .read_entries()
            .iter()
            .find(|e| e.member_of.is_none() && e.config.zone == *catalog && e.config.catalog.is_some())
            .cloned();
        let Some(entry) = entry else { return };
        let (Some(copy), Some(settings)) = (entry.copy(), entry.config.catalog.clone()) else { return };
        let set = match catalog::members(catalog, &copy.records) {
            Ok(set) => set,
            Err(e) => {
                tracing::error!("{e}; its members stay as they were");
                return;
            }
        };
        for problem in &set.problems {
            tracing::warn!("catalog {catalog}: {problem}");
        }
        let file_zones = self.file_zones.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut desired = Vec::new();
        {
            let entries = self.read_entries();
            for m in &set.members {
                let elsewhere =
                    entries.iter().any(|e| e.config.zone == m.zone && e.member_of.as_ref() != Some(catalog));
                if elsewhere || file_zones.contains(&m.zone) {
                    tracing::warn!(
                        "catalog {catalog}: member {} is already served here (a configured zone, or a member of another catalog): left out",
                        m.zone
                    );
                    continue;
                }
                desired.extend(settings.member_config(m));
            }
        }
        let current: Vec<Arc<Entry>> =
            self.read_entries().iter().filter(|e| e.member_of.as_ref() == Some(catalog)).cloned().collect();
        let mut added = Vec::new();
        for config in desired.iter().filter(|c| !current.iter().any(|e| e.config == **c)) {
            let e = Entry::new(config.clone(), Some(catalog.clone()), &self.read).unwrap_or_else(|error| {
                // A member's copy is ours, not the operator's: a bad one is
                // set aside and the member transferred afresh.
                tracing::warn!("catalog {catalog}: {error}: transferring it afresh");
                let _ = std::fs::remove_file(&config.file);
                Entry::with_copy(config.clone(), Some(catalog.clone()), None)
            });
            added.push(Arc::new(e));
        }
        {
            let mut entries = self.write_entries();
            entries.retain(|e| {
                let gone = e.member_of.as_ref() == Some(catalog) && !desired.contains(&e.config);
                if gone {
                    let left = !desired.iter().any(|c| c.zone == e.config.zone);
                    Secondaries::retire(e, left);
                    if left {
                        tracing::info!("catalog {catalog}: member {} removed", e.config.zone);
                    }
                }
                !gone
            });
            for e in &added {
                let verb = if current.iter().any(|c| c.config.zone == e.config.zone) { "changed" } else { "added" };
                tracing::info!("catalog {catalog}: member {} {verb}", e.config.zone);
                entries.push(Arc::clone(e));
            }
        }
        for e in &added {
            if let Err(error) = self.spawn(e) {
                tracing::error!("catalog {catalog}: {error}");
            }
        }
    }

    /// Answers the NOTIFY in `buf` from `source` in place, and wakes its
    /// zone when accepted. `None`: drop it.
    pub fn notify(&self, buf: &mut [u8], len: usize, source: IpAddr) -> Option<usize> {
        let entries = self.read_entries();
        if entries.is_empty() {
            // No secondary zone (yet): what the engine says to any NOTIFY.
            return super::message::notify_reply(buf, len, crate::wire::dns::rcode::NOTIMP);
        }
        let configs: Vec<&SecondaryConfig> = entries.iter().map(|e| &e.config).collect();
        let mut decision = notify::decide(buf.get(..len)?, source, &configs);
        let mut signer = None;
        let mut tsig_failed = false;
        if let Decision::Accept { zone, .. } = decision {
            // From a primary that has a key, only a NOTIFY signed with it
            // counts, and its answer is signed in turn (RFC 8945 §5.3).
            let keys = configs[zone].keys_at(source);
            if !keys.is_empty() {
                let now = crate::tsig::now();
                let mut failure = None;
                for key in keys {
                    match crate::tsig::verify_message(key, &buf[..len], None, now) {
                        Ok(verified) => {
                            signer = Some((key.clone(), verified.mac));
                            break;
                        }
                        Err(f) => failure = Some(f),
                    }
                }
                if signer.is_none() {
                    tsig_failed = true;
                    let why = failure.map_or("unsigned".to_string(), |f| f.to_string());
                    let text = format!("NOTIFY for {} from {source}: TSIG {why}", configs[zone].zone);
                    decision = Decision::Refuse(Some(zone), text);
                }
            }
        }
        let zone_label = |zone: &Option<usize>| zone.map_or(NO_ZONE.to_string(), |z| configs[z].zone.to_string());
        match &decision {
            Decision::Accept { zone, serial } => {
                self.counters.notifies.add((zone_label(&Some(*zone)), "accepted"));
                entries[*zone].send(Event::Notify { from: source, serial: *serial });
            }
            Decision::Refuse(zone, why) => {
                self.counters.notifies.add((zone_label(zone), if tsig_failed { "tsig" } else { "refused" }));
                tracing::info!("NOTIFY refused: {why}");
            }
            Decision::Drop => {}
        }
        let answer = notify::reply(buf, len, &decision)?;
        match signer {
            Some((key, mac)) => {
                let how = crate::tsig::Signing::new(Some(mac.as_slice()), crate::tsig::now());
                crate::tsig::sign_in_place(&key, buf, answer, &how).map(|(end, _)| end)
            }
            None => Some(answer),
        }
    }

    /// The status of `zone`, or of every zone.
    pub fn status(&self, zone: Option<&str>) -> Result<Vec<ZoneStatus>, String> {
        let statuses: Vec<ZoneStatus> = self
            .read_entries()
            .iter()
            .filter(|e| zone.is_none_or(|z| same_zone(&e.config, z)))
            .map(|e| ZoneStatus {
                zone: e.config.zone.to_string(),
                primaries: e.config.primaries.iter().map(|p| p.to_string()).collect(),
                status: e.state.lock().unwrap_or_else(|p| p.into_inner()).status.clone(),
                member_of: e.member_of.as_ref().map(|c| c.to_string()),
            })
            .collect();
        match (zone, statuses.is_empty()) {
            (Some(z), true) => Err(format!("{z} is not a secondary zone here")),
            _ => Ok(statuses),
        }
    }

    /// Wakes `zone` for an SOA check, or a full retransfer.
    pub fn refresh(&self, zone: &str, retransfer: bool) -> Result<(), String> {
        let e = self
            .read_entries()
            .iter()
            .find(|e| same_zone(&e.config, zone))
            .cloned()
            .ok_or_else(|| format!("{zone} is not a secondary zone here"))?;
        let event = if retransfer { Event::Retransfer } else { Event::Refresh };
        if e.send(event) {
            Ok(())
        } else {
            Err(format!("{zone}: not running"))
        }
    }
}

fn same_zone(config: &SecondaryConfig, asked: &str) -> bool {
    let absolute = if asked.ends_with('.') { asked.to_string() } else { format!("{asked}.") };
    crate::zone::Name::parse(&absolute, None).ok().flatten().is_some_and(|n| n == config.zone)
}

fn serial(zone: &Zone) -> Option<u32> {
    let soa = zone.records.iter().find(|r| r.rtype == RType::SOA && r.owner == zone.origin)?;
    Soa::from_rdata(&soa.rdata).map(|s| s.serial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{answer_message, Engine, Options, Transport};
    use crate::table::Table;
    use crate::transfer::inbound::Primary;
    use crate::zone::Name;

    fn rcode_of(engine: &Engine, name: &str) -> u8 {
        let mut buf = vec![0u8; 512];
        let q = crate::transfer::inbound::message::query(1, &Name::parse(name, None).unwrap().unwrap(), RType::A, None);
        buf[..q.len()].copy_from_slice(&q);
        answer_message(engine, &mut buf, q.len(), Transport::Udp).expect("answered");
        buf[3] & 0x0f
    }

    #[test]
    fn an_expired_copy_is_served_as_servfail_and_a_missing_one_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("example.test.zone");
        std::fs::write(
            &file,
            "example.test. 60 IN SOA ns.example.test. h.example.test. 1 2 3 4 5\n\
             example.test. 60 IN NS ns.example.test.\nns.example.test. 60 IN A 198.18.0.1\n",
        )
        .unwrap();
        let config = |zone: &str, file: std::path::PathBuf| SecondaryConfig {
            zone: Name::parse(zone, None).unwrap().unwrap(),
            file,
            primaries: vec![Primary { id: None, address: "127.0.0.1:1".parse().unwrap(), key: None }],
            notify_from: vec![],
            catalog: None,
        };
        let secondaries = Secondaries::load(
            vec![config("example.test.", file), config("missing.test.", dir.path().join("none.zone"))],
            &ReadLimits::default(),
        )
        .unwrap();
        let engine = |s: &Secondaries| Engine::new(Table::compile_from(&s.serving()).unwrap(), Options::default());
        assert_eq!(secondaries.serving().len(), 1, "a zone with no copy yet is not served");
        assert_eq!(rcode_of(&engine(&secondaries), "ns.example.test."), 0);
        assert_eq!(secondaries.status(Some("example.test")).unwrap()[0].status.serial, Some(1));

        secondaries.read_entries()[0].state.lock().unwrap().status.expired = true;
        let expired = engine(&secondaries);
        for name in ["ns.example.test.", "example.test.", "nothing.example.test."] {
            assert_eq!(rcode_of(&expired, name), crate::wire::dns::rcode::SERVFAIL, "{name}");
        }
        assert_eq!(rcode_of(&expired, "missing.test."), crate::wire::dns::rcode::REFUSED);
        assert!(secondaries.status(Some("other.test")).is_err());
    }

    #[test]
    fn a_catalog_copy_brings_its_members_and_a_config_without_it_takes_them_away() {
        let dir = tempfile::tempdir().unwrap();
        let soa = |origin: &str| {
            format!("{origin} 60 IN SOA ns.{origin} h.{origin} 1 2 3 4 5\n{origin} 60 IN NS ns.{origin}\nns.{origin} 60 IN A 198.18.0.1\n")
        };
        std::fs::write(
            dir.path().join("cat.test.zone"),
            format!("{}version.cat.test. 0 IN TXT \"2\"\na.zones.cat.test. 0 IN PTR one.test.\nb.zones.cat.test. 0 IN PTR two.test.\nc.zones.cat.test. 0 IN PTR file.test.\n", soa("cat.test.")),
        )
        .unwrap();
        std::fs::write(dir.path().join("one.test.zone"), soa("one.test.")).unwrap();
        // A member's copy that no longer loads is set aside, not fatal.
        std::fs::write(dir.path().join("two.test.zone"), "garbage\n").unwrap();
        let primaries = vec![Primary { id: None, address: "127.0.0.1:1".parse().unwrap(), key: None }];
        let template = crate::transfer::catalog::MemberTemplate {
            id: None,
            primaries: primaries.clone(),
            notify_from: vec![],
            storage: dir.path().into(),
        };
        let catalog = SecondaryConfig {
            zone: Name::parse("cat.test.", None).unwrap().unwrap(),
            file: dir.path().join("cat.test.zone"),
            primaries,
            notify_from: vec![],
            catalog: Some(Arc::new(crate::transfer::catalog::CatalogConfig { templates: vec![template] })),
        };
        let secondaries = Secondaries::load(vec![catalog.clone()], &ReadLimits::default()).unwrap();
        let names =
            |s: &Secondaries| s.status(None).unwrap().into_iter().map(|z| (z.zone, z.member_of)).collect::<Vec<_>>();
        let member = |zone: &str| (zone.to_string(), Some("cat.test.".to_string()));
        assert_eq!(
            names(&secondaries),
            [("cat.test.".to_string(), None), member("file.test."), member("one.test."), member("two.test.")]
        );
        let served: Vec<String> = secondaries.serving().iter().map(|z| z.origin.to_string()).collect();
        assert_eq!(served, ["cat.test.", "one.test."], "two.test.'s broken copy is not served");
        assert!(!dir.path().join("two.test.zone").exists(), "and is deleted, to be transferred afresh");

        // A file zone of a member's name wins: the member is not served.
        secondaries.set_file_zones(vec![Name::parse("one.test.", None).unwrap().unwrap()]);
        assert_eq!(secondaries.serving().len(), 1);

        // The same config again changes no configured zone, but the
        // member shadowed by a file zone leaves; without the catalog, its
        // members go too.
        assert!(secondaries.configure(vec![catalog]).unwrap().is_empty());
        assert_eq!(names(&secondaries), [("cat.test.".to_string(), None), member("file.test."), member("two.test.")]);
        let changes = secondaries.configure(vec![]).unwrap();
        assert!(secondaries.is_empty(), "{changes:?}");
        assert_eq!(changes.len(), 3, "{changes:?}");
    }

    #[test]
    fn notifies_are_counted_by_zone_and_result() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::tsig::Key::from_text("k", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0").unwrap();
        let config = |zone: &str, primary: &str, key: Option<crate::tsig::Key>| SecondaryConfig {
            zone: Name::parse(zone, None).unwrap().unwrap(),
            file: dir.path().join(format!("{zone}zone")),
            primaries: vec![Primary { id: None, address: primary.parse().unwrap(), key }],
            notify_from: vec![],
            catalog: None,
        };
        let secondaries = Secondaries::load(
            vec![config("plain.test.", "127.0.0.1:53", None), config("keyed.test.", "127.0.0.2:53", Some(key))],
            &ReadLimits::default(),
        )
        .unwrap();
        let notify = |zone: &str, from: &str| {
            let zone = Name::parse(zone, None).unwrap().unwrap();
            let mut buf = crate::transfer::inbound::message::query(7, &zone, RType::SOA, None);
            buf[2] = crate::transfer::inbound::message::opcode::NOTIFY << 3;
            let len = buf.len();
            buf.resize(512, 0);
            let answer = secondaries.notify(&mut buf, len, from.parse().unwrap()).expect("answered");
            buf[..answer][3] & 0x0f
        };
        assert_eq!(notify("plain.test.", "127.0.0.1"), 0);
        assert_eq!(notify("plain.test.", "127.0.0.1"), 0);
        assert_eq!(notify("plain.test.", "198.18.0.9"), crate::wire::dns::rcode::REFUSED);
        assert_eq!(notify("keyed.test.", "127.0.0.2"), crate::wire::dns::rcode::REFUSED, "unsigned");
        assert_eq!(notify("stranger.test.", "127.0.0.1"), crate::wire::dns::rcode::REFUSED);
        assert_eq!(
            secondaries.counters().notifies.read(),
            [
                (("(none)".to_string(), "refused"), 1),
                (("keyed.test.".to_string(), "tsig"), 1),
                (("plain.test.".to_string(), "accepted"), 2),
                (("plain.test.".to_string(), "refused"), 1),
            ]
        );
    }
}
