//! Every secondary zone, as the rest of the server sees them: the reloader
//! asks which zones to serve, the servers hand NOTIFYs over, the control
//! socket asks for status and refreshes.

use std::net::IpAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use super::client::Limits;
use super::config::SecondaryConfig;
use super::notify::{self, Decision};
use super::storage;
use super::timers::Soa;
use super::zone::{Event, State, Status, Swap, Worker};
use crate::wire::dns::RType;
use crate::zone::{ReadLimits, Zone};

/// One zone's status, for `ctl zone-status` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneStatus {
    pub zone: String,
    pub primaries: Vec<String>,
    pub status: Status,
}

struct Entry {
    config: SecondaryConfig,
    state: Arc<Mutex<State>>,
    events: Mutex<Sender<Event>>,
    /// Taken by the zone's thread when it starts.
    receiver: Mutex<Option<Receiver<Event>>>,
    confirmed: Option<SystemTime>,
}

pub struct Secondaries {
    entries: Vec<Entry>,
    limits: Limits,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Secondaries {
    /// Loads each zone's persisted copy (a zone with no copy yet is not
    /// served until its first transfer). A copy that does not load is an
    /// error: the operator must see it, as with any zone file.
    pub fn load(configs: Vec<SecondaryConfig>, read: &ReadLimits) -> Result<Secondaries, String> {
        let mut entries = Vec::with_capacity(configs.len());
        for config in configs {
            let copy = storage::load(&config.file, &config.zone, read)
                .map_err(|e| format!("secondary zone {}: its copy does not load: {e}", config.zone))?;
            let (zone, confirmed) = match copy {
                Some((zone, at)) => (Some(Arc::new(zone)), Some(at)),
                None => (None, None),
            };
            let status = Status { serial: zone.as_deref().and_then(serial), ..Status::default() };
            let (sender, receiver) = mpsc::channel();
            entries.push(Entry {
                config,
                state: Arc::new(Mutex::new(State { zone, status })),
                events: Mutex::new(sender),
                receiver: Mutex::new(Some(receiver)),
                confirmed,
            });
        }
        let limits = Limits { max_bytes: read.max_bytes, ..Limits::default() };
        Ok(Secondaries { entries, limits, threads: Mutex::new(Vec::new()) })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The zones to compile into the table: each copy, or for an expired
    /// one its SOA alone, marked to answer SERVFAIL.
    pub fn serving(&self) -> Vec<Zone> {
        let mut zones = Vec::new();
        for e in &self.entries {
            let state = e.state.lock().unwrap_or_else(|p| p.into_inner());
            let Some(zone) = &state.zone else { continue };
            if state.status.expired {
                let soa = zone.records.iter().filter(|r| r.rtype == RType::SOA && r.owner == zone.origin);
                zones.push(Zone {
                    origin: zone.origin.clone(),
                    records: soa.cloned().collect(),
                    warnings: Vec::new(),
                    expired: true,
                });
            } else {
                zones.push(Zone::clone(zone));
            }
        }
        zones
    }

    /// Starts one thread per zone; each checks its primaries at once.
    pub fn start(&self, swap: Swap) -> Result<(), String> {
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        for e in &self.entries {
            let Some(receiver) = e.receiver.lock().unwrap_or_else(|p| p.into_inner()).take() else { continue };
            let worker = Worker {
                config: e.config.clone(),
                state: Arc::clone(&e.state),
                swap: Arc::clone(&swap),
                limits: self.limits,
            };
            let confirmed = e.confirmed;
            let thread = std::thread::Builder::new()
                .name(format!("secondary {}", e.config.zone))
                .spawn(move || worker.run(receiver, confirmed))
                .map_err(|err| format!("cannot start the thread of secondary zone {}: {err}", e.config.zone))?;
            threads.push(thread);
        }
        Ok(())
    }

    /// Stops every zone's thread, waiting for a transfer under way to end
    /// (each is bounded by its timeouts).
    pub fn stop(&self) {
        for e in &self.entries {
            let _ = e.events.lock().unwrap_or_else(|p| p.into_inner()).send(Event::Stop);
        }
        for t in self.threads.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            let _ = t.join();
        }
    }

    /// Answers the NOTIFY in `buf` from `source` in place, and wakes its
    /// zone when accepted. `None`: drop it.
    pub fn notify(&self, buf: &mut [u8], len: usize, source: IpAddr) -> Option<usize> {
        let configs: Vec<&SecondaryConfig> = self.entries.iter().map(|e| &e.config).collect();
        let mut decision = notify::decide(buf.get(..len)?, source, &configs);
        let mut signer = None;
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
                    let why = failure.map_or("unsigned".to_string(), |f| f.to_string());
                    decision = Decision::Refuse(format!("NOTIFY for {} from {source}: TSIG {why}", configs[zone].zone));
                }
            }
        }
        match &decision {
            Decision::Accept { zone, serial } => {
                let events = self.entries[*zone].events.lock().unwrap_or_else(|p| p.into_inner());
                let _ = events.send(Event::Notify { from: source, serial: *serial });
            }
            Decision::Refuse(why) => tracing::info!("NOTIFY refused: {why}"),
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
            .entries
            .iter()
            .filter(|e| zone.is_none_or(|z| same_zone(&e.config, z)))
            .map(|e| ZoneStatus {
                zone: e.config.zone.to_string(),
                primaries: e.config.primaries.iter().map(|p| p.to_string()).collect(),
                status: e.state.lock().unwrap_or_else(|p| p.into_inner()).status.clone(),
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
            .entries
            .iter()
            .find(|e| same_zone(&e.config, zone))
            .ok_or_else(|| format!("{zone} is not a secondary zone here"))?;
        let event = if retransfer { Event::Retransfer } else { Event::Refresh };
        e.events.lock().unwrap_or_else(|p| p.into_inner()).send(event).map_err(|_| format!("{zone}: not running"))
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
        };
        let secondaries = Secondaries::load(
            vec![config("example.test.", file), config("missing.test.", dir.path().join("none.zone"))],
            &ReadLimits::default(),
        )
        .unwrap();
        let engine = |s: &Secondaries| Engine::new(Table::compile(&s.serving()).unwrap(), Options::default());
        assert_eq!(secondaries.serving().len(), 1, "a zone with no copy yet is not served");
        assert_eq!(rcode_of(&engine(&secondaries), "ns.example.test."), 0);
        assert_eq!(secondaries.status(Some("example.test")).unwrap()[0].status.serial, Some(1));

        secondaries.entries[0].state.lock().unwrap().status.expired = true;
        let expired = engine(&secondaries);
        for name in ["ns.example.test.", "example.test.", "nothing.example.test."] {
            assert_eq!(rcode_of(&expired, name), crate::wire::dns::rcode::SERVFAIL, "{name}");
        }
        assert_eq!(rcode_of(&expired, "missing.test."), crate::wire::dns::rcode::REFUSED);
        assert!(secondaries.status(Some("other.test")).is_err());
    }
}
