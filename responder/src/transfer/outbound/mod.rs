//! responder as a primary (RFC 5936 AXFR, RFC 1995 IXFR, RFC 1996 NOTIFY):
//! zones sent to the clients their `acl` lets in, and NOTIFY sent to their
//! `notify` secondaries when the serial changes.
//!
//! - `config`: what the config says about a zone sent out;
//! - `request`: the AXFR/IXFR query read (zone, type, client serial);
//! - `reply`: one-message answers (errors, TSIG errors);
//! - `stream`: the answer as a stream of messages, signed;
//! - `notify`: NOTIFY out, retried, on its own thread.
//!
//! The zones' records and differences are kept in `transfer/journal`, fed
//! by every load that swaps a table in (a reload, or a secondary's new
//! copy). Requests come from the kernel-socket server (TCP, and UDP IXFR,
//! answered with the SOA alone as RFC 1995 §2 allows); a request for a zone
//! not sent out is left to the engine, which refuses it.

pub mod config;
pub mod notify;
pub mod reply;
pub mod request;
pub mod stream;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use config::{OutboundConfig, Target};

use self::stream::{Peer, Slot, Stream};
use crate::access::{Access, Action};
use crate::engine::Transport;
use crate::server::{TransferAnswer, TransferHandler};
use crate::stats::OutboundCounters;
use crate::transfer::inbound::message::AXFR;
use crate::transfer::journal::{Change, Journal, Plan, Step, Version};
use crate::tsig;
use crate::wire::dns::rcode;
use crate::zone::{Name, Zone};

/// Bounds on the transfers served.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Transfers under way at once; more are answered SERVFAIL (try later
    /// or elsewhere), as BIND's `transfers-out`.
    pub max_transfers: usize,
    /// A transfer still running after this is cut short.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_transfers: 10, timeout: Duration::from_secs(300) }
    }
}

struct Entry {
    config: OutboundConfig,
    journal: Mutex<Journal>,
    /// A secondary's copy past EXPIRE: not sent on (SERVFAIL).
    expired: std::sync::atomic::AtomicBool,
}

/// Every zone sent out.
pub struct Outbound {
    entries: Vec<Entry>,
    /// Replaced at each reload of a config that has keys or ACLs.
    access: arc_swap::ArcSwap<Access>,
    limits: Limits,
    active: Arc<AtomicUsize>,
    notifier: notify::Notifier,
    /// When a refusal was last logged (Unix seconds): one line a second.
    refusal_logged: AtomicU64,
    /// Transfers served or refused, NOTIFYs sent (by the NOTIFY thread).
    counters: Arc<OutboundCounters>,
}

impl Outbound {
    /// `None` when no zone is sent out: nothing is kept, nothing routed.
    pub fn new(configs: &[OutboundConfig], access: &Access, limits: Limits) -> Option<Arc<Outbound>> {
        if configs.is_empty() {
            return None;
        }
        let entries = configs
            .iter()
            .map(|c| Entry {
                config: c.clone(),
                journal: Mutex::new(Journal::new(c.journal_depth)),
                expired: Default::default(),
            })
            .collect();
        let counters = Arc::<OutboundCounters>::default();
        Some(Arc::new(Outbound {
            entries,
            access: arc_swap::ArcSwap::from_pointee(access.clone()),
            limits,
            active: Arc::default(),
            notifier: notify::Notifier::new(Arc::clone(&counters)),
            refusal_logged: AtomicU64::new(0),
            counters,
        }))
    }

    /// Takes the zones just loaded and swapped in; with `announce`, a new
    /// serial is sent to the zone's `notify` secondaries.
    pub fn update(&self, zones: &[Zone], announce: bool) {
        for entry in &self.entries {
            let Some(zone) = zones.iter().find(|z| z.origin == entry.config.zone) else { continue };
            entry.expired.store(zone.expired, Ordering::Release);
            if zone.expired {
                continue;
            }
            let Some(version) = Version::of(zone) else { continue };
            let soa = version.soa.clone();
            // Compared outside the lock: transfers plan under it.
            let (current, depth) = {
                let journal = lock(&entry.journal);
                (journal.current().cloned(), journal.depth())
            };
            let step = Step::towards(current.as_ref(), version, depth);
            let change = lock(&entry.journal).commit(step);
            match change {
                Change::Serial { from, to } => {
                    tracing::info!(zone = %entry.config.zone, "serial {from} -> {to}: kept for transfers out");
                    if announce && !entry.config.notify.is_empty() {
                        self.notifier.send(notify::Announcement {
                            zone: entry.config.zone.clone(),
                            soa,
                            targets: entry.config.notify.clone(),
                        });
                    }
                }
                Change::First(_) | Change::Same => {}
            }
        }
    }

    pub fn counters(&self) -> &OutboundCounters {
        &self.counters
    }

    /// The keys and ACLs as the config has them now (a reload re-read it).
    pub fn set_access(&self, access: Access) {
        self.access.store(Arc::new(access));
    }

    /// Starts the NOTIFY thread.
    pub fn start(&self) -> Result<(), String> {
        self.notifier.start()
    }

    /// Stops the NOTIFY thread (NOTIFYs still being retried are dropped).
    pub fn stop(&self) {
        self.notifier.stop();
    }

    /// The kernel-socket server's transfer handler.
    pub fn handler(self: &Arc<Self>) -> TransferHandler {
        let outbound = Arc::clone(self);
        Arc::new(move |buf: &mut [u8], len, transport, source| outbound.answer(buf, len, transport, source))
    }

    /// Answers the AXFR or IXFR in `buf[..len]` from `source`; `None`
    /// leaves it to the engine (not a zone sent out).
    pub fn answer(&self, buf: &mut [u8], len: usize, transport: Transport, source: IpAddr) -> Option<TransferAnswer> {
        let single = |len: Option<usize>| Some(TransferAnswer { len, rest: None });
        let request = match request::parse(buf.get(..len)?)? {
            Ok(request) => request,
            Err(request::Malformed(_)) => {
                // The zone is unknown to a malformed request: the engine
                // answers, as it does today.
                return None;
            }
        };
        let entry = self.entries.iter().find(|e| e.config.zone == request.zone)?;
        let axfr = request.qtype == AXFR;
        // A request not served is counted by what it asked for.
        let asked = if axfr { "axfr" } else { "ixfr" };
        let count = |result: &'static str| self.counters.transfers.add((request.zone.to_string(), asked, result));
        let now = tsig::now();
        let access = self.access.load();
        let signed = match tsig::verify_request(&access.keys, &buf[..len], now) {
            Ok(signed) => signed,
            Err(rejected) => {
                let error = reply::TsigError::of(&rejected);
                self.log_refusal(&request.zone, source, &format!("TSIG {}", tsig::error_name(error.failure().code())));
                count("notauth");
                return single(reply::rejected(buf, request.question_end, &error, now));
            }
        };
        let key = signed.map(|s| s.key);
        let signing = signed.map(|s| (s.key, s.verified.mac));
        if !access.allows(&entry.config.acls, source, key, Action::Transfer) {
            let who = key.map_or("unsigned".to_string(), |k| format!("key {}", k.id()));
            self.log_refusal(&request.zone, source, &format!("no acl allows it ({who})"));
            count("refused");
            return single(reply::error(buf, request.question_end, rcode::REFUSED, signing));
        }
        if entry.expired.load(Ordering::Acquire) {
            count("servfail");
            return single(reply::error(buf, request.question_end, rcode::SERVFAIL, signing));
        }
        if axfr && transport == Transport::Udp {
            // RFC 5936 §4.2: AXFR is for TCP only.
            count("refused");
            return single(reply::error(buf, request.question_end, rcode::REFUSED, signing));
        }
        let plan = {
            let journal = lock(&entry.journal);
            journal.plan(if axfr { None } else { request.serial })
        };
        let Some(plan) = plan else {
            // Nothing loaded yet (a secondary still without a copy).
            count("servfail");
            return single(reply::error(buf, request.question_end, rcode::SERVFAIL, signing));
        };
        let label = match (transport, &plan) {
            (Transport::Udp, _) => "ixfr_udp",
            (Transport::Tcp, Plan::Full(_)) if axfr => "axfr",
            (Transport::Tcp, Plan::Full(_)) => "ixfr_as_axfr",
            (Transport::Tcp, Plan::Incremental(..)) => "ixfr",
            (Transport::Tcp, Plan::UpToDate(_)) => "ixfr_up_to_date",
        };
        let plan = match (transport, plan) {
            // Over UDP the SOA alone: the client retries over TCP (RFC 1995 §2).
            (Transport::Udp, Plan::Full(v) | Plan::Incremental(v, _) | Plan::UpToDate(v)) => Plan::UpToDate(v),
            (Transport::Tcp, plan) => plan,
        };
        let (kind, serial) = match &plan {
            Plan::Full(v) => (if axfr { "AXFR" } else { "IXFR (as AXFR)" }, v.serial),
            Plan::Incremental(v, _) => ("IXFR", v.serial),
            Plan::UpToDate(v) => ("IXFR (up to date)", v.serial),
        };
        let many = matches!(plan, Plan::Full(_) | Plan::Incremental(..));
        let slot = match Slot::take(&self.active, if many { self.limits.max_transfers } else { usize::MAX }) {
            Some(slot) => slot,
            None => {
                self.log_refusal(&request.zone, source, "too many transfers under way");
                count("busy");
                return single(reply::error(buf, request.question_end, rcode::SERVFAIL, signing));
            }
        };
        let id = u16::from_be_bytes([buf[0], buf[1]]);
        let question = buf.get(crate::wire::dns::HEADER_LEN..request.question_end)?.to_vec();
        let peer = Peer {
            kind,
            label,
            counters: Arc::clone(&self.counters),
            zone: request.zone.to_string(),
            serial,
            client: source,
            key: key.map(|k| k.id().to_owned()),
        };
        let mac = signing.map(|(_, mac)| mac);
        let mut stream = Stream::new(
            id,
            &question,
            plan,
            key.zip(mac.as_ref()).map(|(k, m)| (k, m.as_slice())),
            self.limits.timeout,
            peer,
            slot,
        );
        let first = match stream.step(buf) {
            crate::server::Step::Message(n) => n,
            _ => return single(None),
        };
        let rest: Box<dyn crate::server::MessageStream> = Box::new(stream);
        Some(TransferAnswer { len: Some(first), rest: (transport == Transport::Tcp).then_some(rest) })
    }

    fn log_refusal(&self, zone: &Name, source: IpAddr, why: &str) {
        let now = tsig::now();
        let last = self.refusal_logged.load(Ordering::Relaxed);
        if now > last && self.refusal_logged.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            tracing::info!("transfer of {zone} to {source} refused: {why} (at most one such line a second)");
        }
    }

    /// For `ctl`/tests: a zone's serial and how many differences it keeps.
    pub fn status(&self, zone: &Name) -> Option<(u32, usize)> {
        let entry = self.entries.iter().find(|e| &e.config.zone == zone)?;
        let journal = lock(&entry.journal);
        Some((journal.current()?.serial, journal.len()))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
