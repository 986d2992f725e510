//! What a primary keeps of a zone to send it on (`transfer/outbound/`):
//! its records as they are now, in wire form, and the differences between
//! its last few versions, for IXFR (RFC 1995).
//!
//! The engine keeps only its compiled table, from which records cannot be
//! read back; so the records are kept here, and only for zones that are
//! transferred out (a zone `acl` or `notify` in the config). Other zones
//! cost nothing. The history is bounded twice: at most `depth` differences,
//! and no more bytes of them than the zone itself holds (past that an AXFR
//! is cheaper than the IXFR).
//!
//! - `rr`: one record in wire form;
//! - `diff`: the difference between two versions, and condensing a run.

pub mod diff;
pub mod rr;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

pub use diff::Diff;
pub use rr::Rr;

use crate::transfer::inbound::timers::serial_newer;
use crate::wire::dns::RType;
use crate::zone::Zone;

/// Knot's `journal-max-depth` default.
pub const DEFAULT_DEPTH: usize = 20;

/// The history a small zone may always keep, however small it is.
const MIN_BUDGET: usize = 64 * 1024;

/// One version of a zone.
#[derive(Debug)]
pub struct Version {
    pub soa: Rr,
    pub serial: u32,
    /// Every record but the apex SOA, in zone-file order.
    pub records: Vec<Rr>,
}

impl Version {
    /// The zone in wire form; `None` without an apex SOA (a checked zone
    /// always has one).
    pub fn of(zone: &Zone) -> Option<Version> {
        let mut soa = None;
        let mut records = Vec::with_capacity(zone.records.len());
        for record in &zone.records {
            let rr = rr::encode(record)?;
            if record.rtype == RType::SOA && record.owner == zone.origin && soa.is_none() {
                soa = Some(rr);
            } else {
                records.push(rr);
            }
        }
        let soa = soa?;
        let serial = rr::soa_serial(&soa)?;
        Some(Version { soa, serial, records })
    }

    fn bytes(&self) -> usize {
        self.soa.len() + self.records.iter().map(|r| r.len()).sum::<usize>()
    }
}

/// How to answer a request for the zone.
#[derive(Debug)]
pub enum Plan {
    /// The client has the current serial: the SOA alone.
    UpToDate(Arc<Version>),
    /// The differences from the client's serial to now, condensed.
    Incremental(Arc<Version>, Diff),
    /// The whole zone (AXFR, or an IXFR from a serial not in the history).
    Full(Arc<Version>),
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The first version.
    First(u32),
    /// A new serial, from the old.
    Serial { from: u32, to: u32 },
    /// The same serial: nothing to tell anybody.
    Same,
}

/// A new version, compared with the one it follows (the slow part of an
/// update, done without the journal's lock).
#[derive(Debug)]
pub struct Step {
    new: Arc<Version>,
    kind: StepKind,
}

#[derive(Debug)]
enum StepKind {
    First,
    Same,
    /// The same serial, other records.
    Changed,
    /// A serial that went back (or jumped too far), from this one.
    Back(u32),
    /// A newer serial, from this one, with the difference when kept.
    Forward(u32, Option<Diff>),
}

impl Step {
    /// `new` after `current`; the difference is computed when `depth`
    /// keeps any.
    pub fn towards(current: Option<&Arc<Version>>, new: Version, depth: usize) -> Step {
        let new = Arc::new(new);
        let kind = match current {
            None => StepKind::First,
            Some(old) if old.serial == new.serial => {
                if same_records(old, &new) {
                    StepKind::Same
                } else {
                    StepKind::Changed
                }
            }
            Some(old) if !serial_newer(new.serial, old.serial) => StepKind::Back(old.serial),
            Some(old) => StepKind::Forward(
                old.serial,
                (depth > 0).then(|| Diff::between(old.soa.clone(), &old.records, new.soa.clone(), &new.records)),
            ),
        };
        Step { new, kind }
    }
}

/// One zone's current version and recent differences.
#[derive(Debug)]
pub struct Journal {
    depth: usize,
    current: Option<Arc<Version>>,
    /// Oldest first; the last one's `to` is the current SOA.
    history: VecDeque<Diff>,
}

impl Journal {
    pub fn new(depth: usize) -> Journal {
        Journal { depth, current: None, history: VecDeque::new() }
    }

    pub fn current(&self) -> Option<&Arc<Version>> {
        self.current.as_ref()
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    /// How many differences are kept.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// Takes `new` as the current version, keeping the difference from
    /// the old one when the serial went forward (RFC 1982). A serial that
    /// went back or jumped oddly, or the same serial with other records,
    /// empties the history: clients then get the zone whole.
    pub fn update(&mut self, new: Version) -> Change {
        let step = Step::towards(self.current.as_ref(), new, self.depth);
        self.commit(step)
    }

    /// Puts a [`Step`] made from the current version in place: quick, so
    /// that the lock a server thread takes to plan a transfer is never
    /// held across the work of comparing two versions of a big zone.
    pub fn commit(&mut self, step: Step) -> Change {
        self.current = Some(Arc::clone(&step.new));
        match step.kind {
            StepKind::First => Change::First(step.new.serial),
            StepKind::Same => Change::Same,
            StepKind::Changed => {
                tracing::warn!(
                    serial = step.new.serial,
                    "zone changed without a new SOA serial: secondaries will not notice; the IXFR history is cleared"
                );
                self.history.clear();
                Change::Same
            }
            StepKind::Back(from) => {
                self.history.clear();
                Change::Serial { from, to: step.new.serial }
            }
            StepKind::Forward(from, diff) => {
                if let Some(diff) = diff {
                    self.history.push_back(diff);
                }
                let budget = step.new.bytes().max(MIN_BUDGET);
                let mut held: usize = self.history.iter().map(Diff::bytes).sum();
                while self.history.len() > self.depth || (held > budget && !self.history.is_empty()) {
                    held -= self.history.pop_front().map_or(0, |d| d.bytes());
                }
                Change::Serial { from, to: step.new.serial }
            }
        }
    }

    /// The answer to an AXFR (`since` None) or an IXFR from serial `since`.
    pub fn plan(&self, since: Option<u32>) -> Option<Plan> {
        let current = Arc::clone(self.current.as_ref()?);
        let Some(since) = since else { return Some(Plan::Full(current)) };
        if since == current.serial || serial_newer(since, current.serial) {
            return Some(Plan::UpToDate(current));
        }
        let start = self.history.iter().position(|d| rr::soa_serial(&d.from) == Some(since));
        let Some(start) = start else { return Some(Plan::Full(current)) };
        let run: Vec<&Diff> = self.history.range(start..).collect();
        match Diff::condense(&run) {
            Some(diff) => Some(Plan::Incremental(current, diff)),
            None => Some(Plan::Full(current)),
        }
    }
}

fn same_records(a: &Version, b: &Version) -> bool {
    if a.soa != b.soa || a.records.len() != b.records.len() {
        return false;
    }
    let set: HashSet<&[u8]> = a.records.iter().map(|r| &r[..]).collect();
    b.records.iter().all(|r| set.contains(&r[..]))
}

#[cfg(test)]
mod tests {
    use super::rr::tests::{record, soa_record};
    use super::*;
    use crate::zone::Name;

    fn zone(serial: u32, hosts: &[u8]) -> Zone {
        let mut records = vec![soa_record("example.test.", serial)];
        records.extend(hosts.iter().map(|&h| record("www.example.test.", RType::A, 60, &[198, 18, 0, h])));
        Zone {
            origin: Name::parse("example.test.", None).unwrap().unwrap(),
            records,
            warnings: vec![],
            expired: false,
            derived: None,
        }
    }

    fn host(rr: &Rr) -> u8 {
        rr[rr.len() - 1]
    }

    #[test]
    fn an_ixfr_from_a_kept_serial_is_condensed_and_others_get_the_zone() {
        let mut j = Journal::new(DEFAULT_DEPTH);
        assert!(j.plan(None).is_none(), "nothing to send before the first version");
        assert_eq!(j.update(Version::of(&zone(1, &[1, 2])).unwrap()), Change::First(1));
        assert_eq!(j.update(Version::of(&zone(2, &[2, 3])).unwrap()), Change::Serial { from: 1, to: 2 });
        assert_eq!(j.update(Version::of(&zone(3, &[3, 4])).unwrap()), Change::Serial { from: 2, to: 3 });
        assert_eq!(j.update(Version::of(&zone(3, &[3, 4])).unwrap()), Change::Same);
        assert_eq!(j.len(), 2);

        match j.plan(Some(1)).unwrap() {
            Plan::Incremental(current, diff) => {
                assert_eq!(current.serial, 3);
                assert_eq!((rr::soa_serial(&diff.from), rr::soa_serial(&diff.to)), (Some(1), Some(3)));
                let removed: Vec<u8> = diff.removed.iter().map(host).collect();
                let added: Vec<u8> = diff.added.iter().map(host).collect();
                assert_eq!((removed, added), (vec![1, 2], vec![3, 4]));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(j.plan(Some(2)).unwrap(), Plan::Incremental(_, d) if d.removed.len() == 1 && d.added.len() == 1)
        );
        assert!(matches!(j.plan(Some(3)).unwrap(), Plan::UpToDate(v) if v.serial == 3));
        assert!(matches!(j.plan(Some(4)).unwrap(), Plan::UpToDate(_)), "a newer serial than ours: nothing to send");
        assert!(matches!(j.plan(Some(0)).unwrap(), Plan::Full(v) if v.records.len() == 2), "unknown: the whole zone");
        assert!(matches!(j.plan(None).unwrap(), Plan::Full(_)));
    }

    #[test]
    fn the_history_is_bounded_by_depth_and_by_the_zones_size() {
        let mut j = Journal::new(2);
        for serial in 1..=5 {
            j.update(Version::of(&zone(serial, &[serial as u8, 100])).unwrap());
        }
        assert_eq!(j.len(), 2);
        assert!(matches!(j.plan(Some(2)).unwrap(), Plan::Full(_)), "fell off the end");
        assert!(matches!(j.plan(Some(3)).unwrap(), Plan::Incremental(..)));

        // Every record changes: the difference is twice the zone's size.
        let big = |serial: u32, ttl: u32| {
            let mut z = zone(serial, &[]);
            for i in 0..3000u32 {
                let owner = format!("h{i}.example.test.");
                z.records.push(record(&owner, RType::A, ttl, &[198, 18, 0, 1]));
            }
            z
        };
        let mut j = Journal::new(DEFAULT_DEPTH);
        j.update(Version::of(&big(1, 60)).unwrap());
        j.update(Version::of(&big(2, 61)).unwrap());
        assert!(j.is_empty(), "a history larger than the zone is dropped");

        let mut none = Journal::new(0);
        none.update(Version::of(&zone(1, &[1])).unwrap());
        none.update(Version::of(&zone(2, &[1, 2])).unwrap());
        assert!(none.is_empty());
    }

    #[test]
    fn a_serial_that_goes_back_or_stays_with_new_records_clears_the_history() {
        let mut j = Journal::new(DEFAULT_DEPTH);
        j.update(Version::of(&zone(10, &[1, 2, 3, 4])).unwrap());
        j.update(Version::of(&zone(11, &[1, 2, 3, 5])).unwrap());
        assert_eq!(j.len(), 1);
        assert_eq!(j.update(Version::of(&zone(11, &[1, 2, 3, 6])).unwrap()), Change::Same);
        assert!(j.is_empty());
        j.update(Version::of(&zone(12, &[1, 2, 3, 7])).unwrap());
        assert_eq!(j.update(Version::of(&zone(5, &[1])).unwrap()), Change::Serial { from: 12, to: 5 });
        assert!(j.is_empty());
        assert!(matches!(j.plan(Some(4)).unwrap(), Plan::Full(v) if v.serial == 5));
        // A client "ahead" of a serial that went back is told it is up to
        // date (RFC 1995 §2): going back needs the clients' serials passed.
        assert!(matches!(j.plan(Some(11)).unwrap(), Plan::UpToDate(_)));
    }
}
