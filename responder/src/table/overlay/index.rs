//! The zones as the compiler sees them, kept between changes: each name's
//! records (in zone order, so a recompile from [`ZoneIndex::zones`] gives
//! the same RRsets, TTLs and RDATA order as the zones it was built from),
//! how many existing names sit right below each name (so an empty
//! non-terminal is known without a walk), and who refers to whom (CNAME,
//! MX, SRV and NS targets), so that a change finds every name whose
//! answers embed the changed one in time proportional to the change.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use crate::table::fasthash::FastMap;
use crate::zone::{Name, RType, Record, Zone};

pub(super) type Key = Box<[u8]>;

/// The lowercase wire form of a name: the key of every map here.
pub(super) fn key(name: &Name) -> Key {
    name.to_lowercase().wire().into()
}

/// A key that sorts names so that a name's descendants follow it as one
/// run: its labels from the root down, each as its length then its bytes.
pub(super) fn tree_key(lower: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    tree_key_into(lower, &mut out);
    out
}

/// [`tree_key`] into a buffer, without the list of labels on the heap: the
/// closure asks it once per name that began or ceased to exist.
pub(super) fn tree_key_into(lower: &[u8], out: &mut Vec<u8>) {
    out.clear();
    // A wire name has at most 127 labels; their starts, root first after.
    let mut starts = [0u8; 128];
    let (mut n, mut at) = (0, 0);
    while let Some(&len) = lower.get(at).filter(|&&l| l != 0) {
        if let Some(s) = starts.get_mut(n) {
            *s = at as u8;
            n += 1;
        }
        at += 1 + len as usize;
    }
    for &s in starts[..n].iter().rev() {
        let s = s as usize;
        let len = lower.get(s).map_or(0, |&l| l as usize);
        out.extend_from_slice(lower.get(s..s + 1 + len).unwrap_or_default());
    }
}

/// The parent of a lowercase wire name; `None` for the root.
pub(super) fn parent(lower: &[u8]) -> Option<&[u8]> {
    match lower.first() {
        Some(&0) | None => None,
        Some(&len) => lower.get(1 + len as usize..),
    }
}

pub(super) struct ZoneMeta {
    pub origin: Name,
    pub apex: Key,
    pub expired: bool,
}

#[derive(Default)]
pub(super) struct Entry {
    /// The deepest served zone at or above the name (input order), `None`
    /// when no zone holds it (a target outside what we serve).
    pub zone: Option<usize>,
    /// Records of that zone, in zone order.
    pub records: Vec<Record>,
    /// A served child's apex: the parent's DS (and its RRSIGs), answered
    /// from the parent side, with the parent's zone.
    pub parent_ds: Vec<(usize, Record)>,
    /// Existing names one label below.
    pub children: u32,
}

impl Entry {
    pub fn exists(&self) -> bool {
        !self.records.is_empty() || !self.parent_ds.is_empty() || self.children > 0
    }
    pub fn has(&self, t: RType) -> bool {
        self.records.iter().any(|r| r.rtype == t)
    }
}

/// A name embedded in a record's RDATA that the compiler looks up.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Ref {
    pub source: Key,
    pub rtype: RType,
}

pub struct ZoneIndex {
    pub(super) zones: Vec<ZoneMeta>,
    apexes: FastMap<Key, usize>,
    pub(super) names: FastMap<Key, Entry>,
    /// Target → the names whose records name it (one entry per record).
    pub(super) refs: FastMap<Key, Vec<Ref>>,
    /// Every target by [`tree_key`]: the targets below a name, in one range.
    pub(super) targets: BTreeMap<Vec<u8>, Key>,
    /// Some zone holds DNSSEC records: its proofs depend on neighbours.
    pub(super) signed: bool,
}

/// Types whose RDATA names a name the compiler follows or looks up.
pub(super) fn refers(t: RType) -> bool {
    matches!(t, RType::CNAME | RType::MX | RType::SRV | RType::NS)
}

pub(super) fn is_dnssec(t: RType) -> bool {
    matches!(t, RType::RRSIG | RType::NSEC | RType::NSEC3 | RType::NSEC3PARAM)
}

/// The name a record of a type in [`refers`] points at, lowercased.
pub(super) fn target(r: &Record) -> Option<Key> {
    let names = crate::zone::embedded_names(r.rtype, &r.rdata);
    let &(at, len, _) = names.first()?;
    Name::from_wire(r.rdata.get(at..at + len)?).ok().map(|n| key(&n))
}

impl ZoneIndex {
    /// Indexes `zones` (the same slice, in the same order, the table was
    /// compiled from). Costs about what parsing them did: done once per
    /// full compile, off the serving path.
    /// Zones are taken by anything that lends one (`Zone`, `Arc<Zone>`):
    /// a reload indexes the zones it serves without copying them first.
    pub fn build<Z: Borrow<Zone>>(zones: &[Z]) -> ZoneIndex {
        let zones: Vec<&Zone> = zones.iter().map(Borrow::borrow).collect();
        let mut ix = ZoneIndex {
            zones: zones
                .iter()
                .map(|z| ZoneMeta { origin: z.origin.clone(), apex: key(&z.origin), expired: z.expired })
                .collect(),
            apexes: zones.iter().enumerate().map(|(i, z)| (key(&z.origin), i)).collect(),
            names: FastMap::default(),
            refs: FastMap::default(),
            targets: BTreeMap::new(),
            signed: false,
        };
        for (zi, z) in zones.iter().enumerate() {
            for r in &z.records {
                ix.add(zi, r.clone());
            }
        }
        ix
    }

    /// The deepest served zone at or above `lower`.
    pub(super) fn zone_of(&self, lower: &[u8]) -> Option<usize> {
        let mut cur = Some(lower);
        while let Some(n) = cur {
            if let Some(&z) = self.apexes.get(n) {
                return Some(z);
            }
            cur = parent(n);
        }
        None
    }

    pub(super) fn is_apex(&self, lower: &[u8]) -> bool {
        self.apexes.contains_key(lower)
    }

    pub(super) fn entry(&self, lower: &[u8]) -> Option<&Entry> {
        self.names.get(lower)
    }

    pub(super) fn exists(&self, lower: &[u8]) -> bool {
        self.names.get(lower).is_some_and(Entry::exists)
    }

    /// Adds a record of zone `zi`, as the compiler would place it: a record
    /// occluded by a deeper served zone is dropped, but for the parent's DS
    /// at the child's apex. Returns the names whose existence changed.
    pub(super) fn add(&mut self, zi: usize, r: Record) -> Vec<Key> {
        if is_dnssec(r.rtype) {
            self.signed = true;
        }
        let k = key(&r.owner);
        let deepest = self.zone_of(&k);
        let before = self.exists(&k);
        if deepest != Some(zi) {
            let ds = r.rtype == RType::DS
                || (r.rtype == RType::RRSIG && r.rdata.get(..2) == Some(&RType::DS.0.to_be_bytes()[..]));
            if !(ds && deepest.is_some_and(|d| self.zones[d].apex == k)) {
                return Vec::new();
            }
            let e = self.names.entry(k.clone()).or_default();
            e.zone = deepest;
            e.parent_ds.push((zi, r));
        } else {
            if refers(r.rtype) {
                if let Some(t) = target(&r) {
                    self.targets.entry(tree_key(&t)).or_insert_with(|| t.clone());
                    self.refs.entry(t).or_default().push(Ref { source: k.clone(), rtype: r.rtype });
                }
            }
            let e = self.names.entry(k.clone()).or_default();
            e.zone = Some(zi);
            e.records.push(r);
        }
        if before {
            return Vec::new();
        }
        self.became(&k, true)
    }

    /// Deletes every record of zone `zi` equal to `r` but for TTL (an
    /// RRset is a set); returns the names whose existence changed, or
    /// `None` when there was no such record.
    pub(super) fn delete(&mut self, zi: usize, r: &Record) -> Option<Vec<Key>> {
        let k = key(&r.owner);
        let same = |x: &Record| x.rtype == r.rtype && x.class == r.class && x.rdata == r.rdata;
        let e = self.names.get_mut(&k)?;
        let before = e.exists();
        let n = e.records.len() + e.parent_ds.len();
        e.records.retain(|x| !same(x));
        e.parent_ds.retain(|(z, x)| !(*z == zi && same(x)));
        let removed = n - e.records.len() - e.parent_ds.len();
        if removed == 0 {
            return None;
        }
        if refers(r.rtype) && e.zone == Some(zi) {
            if let Some(t) = target(r) {
                let rm = Ref { source: k.clone(), rtype: r.rtype };
                if let Some(list) = self.refs.get_mut(&t) {
                    for _ in 0..removed {
                        if let Some(i) = list.iter().position(|x| *x == rm) {
                            list.swap_remove(i);
                        }
                    }
                    if list.is_empty() {
                        self.refs.remove(&t);
                        self.targets.remove(&tree_key(&t));
                    }
                }
            }
        }
        let after = self.exists(&k);
        Some(if before && !after { self.became(&k, false) } else { Vec::new() })
    }

    /// `k` began (or ceased) to exist: its parent gains (or loses) a child,
    /// up to the apex of its zone, as the compiler's empty non-terminals go.
    fn became(&mut self, k: &[u8], exists: bool) -> Vec<Key> {
        let mut changed = vec![Key::from(k)];
        let mut cur: Key = k.into();
        loop {
            if self.is_apex(&cur) {
                break;
            }
            let Some(p) = parent(&cur).map(Key::from) else { break };
            if self.zone_of(&p).is_none() {
                break;
            }
            // The parent is nearly always there already: no key copy then.
            let e = match self.names.get_mut(&p) {
                Some(e) => e,
                None => self.names.entry(p.clone()).or_default(),
            };
            let before = e.exists();
            if exists {
                e.children += 1;
            } else {
                e.children = e.children.saturating_sub(1);
            }
            if e.exists() == before {
                break;
            }
            if !e.exists() && e.zone.is_none() {
                self.names.remove(&p);
            }
            changed.push(p.clone());
            cur = p;
        }
        if !exists && self.names.get(k).is_some_and(|e| e.records.is_empty() && e.parent_ds.is_empty()) {
            self.names.remove(k);
        }
        changed
    }

    /// The zones again, each name's records together, in the order they
    /// were given: what a full compile (the background merge) starts from.
    pub fn zones(&self) -> Vec<Zone> {
        let mut out: Vec<Zone> = self
            .zones
            .iter()
            .map(|z| Zone {
                origin: z.origin.clone(),
                records: Vec::new(),
                warnings: Vec::new(),
                expired: z.expired,
                derived: None,
            })
            .collect();
        for e in self.names.values() {
            if let Some(zi) = e.zone {
                out[zi].records.extend(e.records.iter().cloned());
            }
            for (zi, r) in &e.parent_ds {
                out[*zi].records.push(r.clone());
            }
        }
        out
    }
}
