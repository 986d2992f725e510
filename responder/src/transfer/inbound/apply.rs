//! IXFR differences applied to the copy we hold (RFC 1995 §4). A difference
//! that does not fit our copy (it starts from another serial, or removes a
//! record we do not have) is an error, and the caller falls back to AXFR.
//!
//! The copy is the zone as served, so a difference costs one pass over its
//! records (each copied once, and only those at the names it touches
//! hashed) and work in proportion to the difference: no text.

use std::hash::{Hash, Hasher};

use super::message::WireRecord;
use super::stream::Diff;
use crate::table::fasthash::{FastMap, FastSet, FxHasher};
use crate::wire::dns::RType;
use crate::zone::{At, FileName, Location, Name, Record};

/// A record's identity, as RFC 1995 compares records: the owner without
/// case (`Name`'s own hash), type, class and RDATA (not the TTL).
fn identity(owner: &Name, rtype: RType, class: u16, rdata: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    owner.hash(&mut h);
    h.write_usize(usize::from(rtype.0) << 16 | usize::from(class));
    h.write(rdata);
    h.finish()
}

fn same(r: &Record, w: &WireRecord) -> bool {
    r.rtype == w.rtype && r.class == w.class && r.owner == w.owner && *r.rdata == *w.rdata
}

fn record_identity(r: &Record) -> u64 {
    identity(&r.owner, r.rtype, r.class, &r.rdata)
}

fn wire_identity(w: &WireRecord) -> u64 {
    identity(&w.owner, w.rtype, w.class, &w.rdata)
}

/// `w` as a record of the copy (its place set by [`locate`]).
pub fn record(w: &WireRecord) -> Record {
    Record {
        owner: w.owner.clone(),
        rtype: w.rtype,
        class: w.class,
        ttl: w.ttl,
        rdata: w.rdata.as_slice().into(),
        location: Location { file: FileName::from(""), line: 0 },
    }
}

/// Names each record by its line in the master file the copy is written
/// as (`zone_text::render`: a header, then a record a line), so that a
/// message about a received record points where the persisted copy has it.
pub fn locate(records: &mut [Record], file: &str) {
    let file = FileName::from(file);
    for (i, r) in records.iter_mut().enumerate() {
        r.location = Location { file: file.clone(), line: super::zone_text::HEADER_LINES + 1 + i };
    }
}

/// A copy with an IXFR's differences applied.
#[derive(Debug)]
pub struct Applied {
    /// The records, [`locate`]d.
    pub records: Vec<Record>,
    /// The owners of the records removed and added (`zone::Derived`).
    pub names: Vec<Name>,
    /// The records at those names in the copy held, and where `records`
    /// has them.
    pub at: At,
}

/// `current` (its SOA among the records) with `diffs` applied in order:
/// removed records leave their place, added ones (those not held already)
/// follow the rest, and the SOA comes first, as a zone file and an AXFR
/// have it; each record [`locate`]d in `file`. No other name's records
/// change than those removed and added (`zone::Derived`).
///
/// The differences reach only the records at their owners: those are
/// found in one pass that looks each other record's owner up in a glance
/// ([`Touched`]), the differences applied to them alone, and every record
/// copied once into its place.
pub fn apply(current: &[Record], diffs: &[Diff], file: &str) -> Result<Applied, String> {
    let soa_serial = |r: &Record| super::timers::Soa::serial_of(r.rtype, &r.rdata);
    let mut serial = current.iter().find_map(soa_serial).ok_or("our copy has no SOA")?;
    let names: Vec<Name> =
        diffs.iter().flat_map(|d| d.removed.iter().chain(&d.added)).map(|w| w.owner.clone()).collect();
    let touched = Touched::new(&names);
    // The held records at those names, and the first SOA at any other.
    let mut gathered: Vec<usize> = Vec::new();
    let mut soa_elsewhere = None;
    for (i, r) in current.iter().enumerate() {
        if touched.has(&r.owner) {
            gathered.push(i);
        } else if r.rtype == RType::SOA && soa_elsewhere.is_none() {
            soa_elsewhere = Some(i);
        }
    }
    let mut items: Vec<Item<'_>> = gathered.iter().map(|&i| Item::Held(i)).collect();
    for diff in diffs {
        if diff.from != serial {
            return Err(format!("a difference from serial {} does not apply to our serial {serial}", diff.from));
        }
        items = apply_one(current, &items, diff)?;
        serial = diff.to;
    }
    // The SOA that goes first: the first in the records' order.
    let held_soa = items.iter().find_map(|item| match item {
        &Item::Held(i) if current[i].rtype == RType::SOA => Some(i),
        _ => None,
    });
    let first_soa = match (soa_elsewhere, held_soa) {
        (Some(a), Some(b)) => Some(First::Held(a.min(b))),
        (Some(i), None) | (None, Some(i)) => Some(First::Held(i)),
        (None, None) => {
            items.iter().position(|item| matches!(item, Item::Added(w) if w.rtype == RType::SOA)).map(First::Added)
        }
    };
    let kept = items.iter().filter(|item| matches!(item, Item::Held(_))).count();
    let mut out = Vec::with_capacity(current.len() - gathered.len() + items.len());
    let mut after = Vec::with_capacity(items.len());
    let file = FileName::from(file);
    let location = |at: usize| Location { file: file.clone(), line: super::zone_text::HEADER_LINES + 1 + at };
    let first = match first_soa {
        Some(First::Held(i)) => Some(copied(&current[i], location(0))),
        Some(First::Added(k)) => match items[k] {
            Item::Added(w) => Some(Record { location: location(0), ..record(w) }),
            Item::Held(_) => None,
        },
        None => None,
    };
    if let Some(soa) = first {
        if touched.has(&soa.owner) {
            after.push(0);
        }
        out.push(soa);
    }
    let skip_held = match first_soa {
        Some(First::Held(i)) => i,
        _ => usize::MAX,
    };
    // Held records at the touched names that stay, in order.
    let mut staying = items[..kept].iter().filter_map(|item| match item {
        &Item::Held(i) => Some(i),
        Item::Added(_) => None,
    });
    let mut next_staying = staying.next();
    let mut next_gathered = gathered.iter().copied().peekable();
    for (i, r) in current.iter().enumerate() {
        let at_touched = next_gathered.next_if_eq(&i).is_some();
        if at_touched {
            if next_staying != Some(i) {
                continue;
            }
            next_staying = staying.next();
        }
        if i == skip_held {
            continue;
        }
        if at_touched {
            after.push(out.len());
        }
        out.push(copied(r, location(out.len())));
    }
    for (k, item) in items.iter().enumerate().skip(kept) {
        if let Item::Added(w) = item {
            if first_soa != Some(First::Added(k)) {
                after.push(out.len());
                out.push(Record { location: location(out.len()), ..record(w) });
            }
        }
    }
    let before = gathered.iter().map(|&i| current[i].clone()).collect();
    Ok(Applied { records: out, names, at: At { before, after } })
}

/// The SOA that goes first: a held record's index, or an item's.
#[derive(Clone, Copy, PartialEq)]
enum First {
    Held(usize),
    Added(usize),
}

/// A record at a touched name as the differences go: one of the copy
/// (its index) or one added.
#[derive(Clone, Copy)]
enum Item<'d> {
    Held(usize),
    Added(&'d WireRecord),
}

/// `r` in another place.
fn copied(r: &Record, location: Location) -> Record {
    Record { owner: r.owner.clone(), rtype: r.rtype, class: r.class, ttl: r.ttl, rdata: r.rdata.clone(), location }
}

/// The names a difference touches, told from the others mostly at a
/// glance: a copy's records are nearly all at other names, and `Name`'s
/// own hash (which lowers the name into a buffer first) of each owner was
/// most of a pass over them. A glance differs for names that differ in
/// more than the case of letters, mostly: only its matches are looked up.
struct Touched<'n> {
    glances: Vec<u64>,
    shift: u32,
    names: FastSet<&'n Name>,
}

impl<'n> Touched<'n> {
    fn new(names: &'n [Name]) -> Touched<'n> {
        let bits = (names.len() * 16).next_power_of_two().max(1024);
        let mut touched =
            Touched { glances: vec![0; bits / 64], shift: 64 - bits.trailing_zeros(), names: names.iter().collect() };
        for n in names {
            let bit = touched.bit(n);
            touched.glances[bit / 64] |= 1 << (bit % 64);
        }
        touched
    }

    fn bit(&self, name: &Name) -> usize {
        (glance(name.wire()) >> self.shift) as usize
    }

    fn has(&self, name: &Name) -> bool {
        let bit = self.bit(name);
        self.glances[bit / 64] & 1 << (bit % 64) != 0 && self.names.contains(name)
    }
}

/// A hash of a name that letters' case does not change: ASCII letters
/// differ in case by the 0x20 bit alone, set here in every octet.
fn glance(wire: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    const CASE: u64 = 0x2020_2020_2020_2020;
    let mut h = wire.len() as u64;
    let mut chunks = wire.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ (w | CASE)).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    (h.rotate_left(5) ^ (u64::from_le_bytes(tail) | CASE)).wrapping_mul(K)
}

/// `diff` applied to the records at its names (`current`'s and those added
/// before): each removal takes one record, an addition already there (and
/// not removed) changes nothing, and the others follow in order.
fn apply_one<'d>(current: &[Record], items: &[Item<'d>], diff: &'d Diff) -> Result<Vec<Item<'d>>, String> {
    let index = |ids: &[u64]| {
        let mut map: FastMap<u64, Vec<usize>> = FastMap::default();
        for (i, &id) in ids.iter().enumerate() {
            map.entry(id).or_default().push(i);
        }
        map
    };
    let added_ids: Vec<u64> = diff.added.iter().map(wire_identity).collect();
    let removed = index(&diff.removed.iter().map(wire_identity).collect::<Vec<_>>());
    let added = index(&added_ids);
    let mut taken = vec![false; diff.removed.len()];
    let mut held = vec![false; diff.added.len()];
    let mut out = Vec::with_capacity(items.len() + diff.added.len());
    for &item in items {
        let (id, is) = match item {
            Item::Held(i) => (record_identity(&current[i]), Is::Record(&current[i])),
            Item::Added(w) => (wire_identity(w), Is::Wire(w)),
        };
        let gone = removed.get(&id).and_then(|ix| ix.iter().find(|&&i| !taken[i] && is.same(&diff.removed[i])));
        if let Some(&i) = gone {
            taken[i] = true;
            continue;
        }
        for &i in added.get(&id).into_iter().flatten() {
            held[i] |= is.same(&diff.added[i]);
        }
        out.push(item);
    }
    if let Some(i) = taken.iter().position(|t| !t) {
        let r = &diff.removed[i];
        return Err(format!(
            "serial {} → {}: removes {} {} that our copy does not hold",
            diff.from, diff.to, r.owner, r.rtype
        ));
    }
    for (i, w) in diff.added.iter().enumerate() {
        // The first of identical additions only.
        let first = added[&added_ids[i]].iter().find(|&&j| same_wire(&diff.added[j], w));
        if !held[i] && first == Some(&i) {
            out.push(Item::Added(w));
        }
    }
    Ok(out)
}

/// An item's record, to compare with a difference's.
enum Is<'a> {
    Record(&'a Record),
    Wire(&'a WireRecord),
}

impl Is<'_> {
    fn same(&self, w: &WireRecord) -> bool {
        match self {
            Is::Record(r) => same(r, w),
            Is::Wire(a) => same_wire(a, w),
        }
    }
}

fn same_wire(a: &WireRecord, b: &WireRecord) -> bool {
    a.rtype == b.rtype && a.class == b.class && a.owner == b.owner && a.rdata == b.rdata
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::transfer::inbound::stream::tests::{a, soa};

    fn records(wire: &[WireRecord]) -> Vec<Record> {
        wire.iter().map(record).collect()
    }

    fn wire(records: &[Record]) -> Vec<WireRecord> {
        super::super::zone_text::from_zone(records)
    }

    #[test]
    fn differences_apply_in_order() {
        let current = records(&[soa(1), a("a.example.test.", 1), a("b.example.test.", 1)]);
        let diffs = [
            Diff {
                from: 1,
                to: 2,
                removed: vec![soa(1), a("a.example.test.", 1)],
                added: vec![soa(2), a("a.example.test.", 2)],
            },
            Diff { from: 2, to: 3, removed: vec![soa(2)], added: vec![soa(3), a("c.example.test.", 3)] },
        ];
        let got = apply(&current, &diffs, "t.zone").unwrap().records;
        assert_eq!(wire(&got), [soa(3), a("b.example.test.", 1), a("a.example.test.", 2), a("c.example.test.", 3)]);
    }

    #[test]
    fn additions_already_held_or_repeated_change_nothing_and_owners_match_without_case() {
        let current = records(&[soa(1), a("a.example.test.", 1), a("b.example.test.", 1)]);
        let mut upper = a("A.EXAMPLE.TEST.", 1);
        upper.ttl = 7;
        let diffs = [Diff {
            from: 1,
            to: 2,
            // A TTL is no part of a record's identity: this removes a.example.test.
            removed: vec![soa(1), upper],
            added: vec![soa(2), a("b.example.test.", 1), a("c.example.test.", 1), a("C.example.test.", 1)],
        }];
        let got = apply(&current, &diffs, "t.zone").unwrap().records;
        assert_eq!(wire(&got), [soa(2), a("b.example.test.", 1), a("c.example.test.", 1)]);
        // Removed and added back: it moves behind the others, as it would in
        // the primary's next AXFR.
        let back = [Diff {
            from: 1,
            to: 2,
            removed: vec![soa(1), a("a.example.test.", 1)],
            added: vec![soa(2), a("a.example.test.", 1)],
        }];
        let got = apply(&current, &back, "t.zone").unwrap().records;
        assert_eq!(wire(&got), [soa(2), a("b.example.test.", 1), a("a.example.test.", 1)]);
    }

    #[test]
    fn a_difference_that_does_not_fit_is_an_error() {
        let current = records(&[soa(1), a("a.example.test.", 1)]);
        let wrong_serial = [Diff { from: 5, to: 6, removed: vec![soa(5)], added: vec![soa(6)] }];
        assert!(apply(&current, &wrong_serial, "t.zone").unwrap_err().contains("serial 5"));
        let missing = [Diff { from: 1, to: 2, removed: vec![soa(1), a("x.example.test.", 9)], added: vec![soa(2)] }];
        assert!(apply(&current, &missing, "t.zone").unwrap_err().contains("x.example.test."));
        // One held record cannot be removed twice.
        let twice = [Diff {
            from: 1,
            to: 2,
            removed: vec![soa(1), a("a.example.test.", 1), a("a.example.test.", 1)],
            added: vec![soa(2)],
        }];
        assert!(apply(&current, &twice, "t.zone").unwrap_err().contains("a.example.test."));
    }

    /// The differences applied to every record of the copy in turn, as
    /// RFC 1995 reads them, comparing each pair of records: what `apply`
    /// must give, however it finds them.
    fn reference(current: &[Record], diffs: &[Diff], file: &str) -> Result<Vec<Record>, String> {
        let soa_serial = |r: &Record| super::super::timers::Soa::serial_of(r.rtype, &r.rdata);
        let mut serial = current.iter().find_map(soa_serial).ok_or("our copy has no SOA")?;
        let mut records = current.to_vec();
        for diff in diffs {
            if diff.from != serial {
                return Err(format!("a difference from serial {} does not apply to our serial {serial}", diff.from));
            }
            let mut taken = vec![false; diff.removed.len()];
            let mut out = Vec::new();
            for r in records {
                match (0..diff.removed.len()).find(|&i| !taken[i] && same(&r, &diff.removed[i])) {
                    Some(i) => taken[i] = true,
                    None => out.push(r),
                }
            }
            if let Some(i) = taken.iter().position(|t| !t) {
                let r = &diff.removed[i];
                return Err(format!(
                    "serial {} → {}: removes {} {} that our copy does not hold",
                    diff.from, diff.to, r.owner, r.rtype
                ));
            }
            let kept = out.len();
            for (i, w) in diff.added.iter().enumerate() {
                let held = out[..kept].iter().any(|r| same(r, w));
                if !held && !diff.added[..i].iter().any(|x| same_wire(x, w)) {
                    out.push(record(w));
                }
            }
            records = out;
            serial = diff.to;
        }
        if let Some(at) = records.iter().position(|r| r.rtype == RType::SOA) {
            records[..=at].rotate_right(1);
        }
        locate(&mut records, file);
        Ok(records)
    }

    fn owner() -> impl Strategy<Value = String> {
        select(&["example.test.", "a.example.test.", "A.example.test.", "b.example.test.", "c.a.example.test."][..])
            .prop_map(str::to_string)
    }

    /// A record of a few owners, types and values (so that removals and
    /// additions meet held records), now and then an SOA.
    fn wire_record() -> impl Strategy<Value = WireRecord> {
        prop_oneof![
            8 => (owner(), 1u8..4).prop_map(|(o, n)| { let mut r = a(&o, n); r.ttl = u32::from(n) * 60; r }),
            1 => (1u32..4).prop_map(soa),
        ]
    }

    #[derive(Debug, Clone)]
    struct Step {
        remove: Vec<proptest::sample::Index>,
        stray: Vec<WireRecord>,
        add: Vec<WireRecord>,
        from: Option<u32>,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
            proptest::collection::vec(wire_record(), 0..2).prop_map(|v| if v.len() > 1 { v } else { Vec::new() }),
            proptest::collection::vec(wire_record(), 0..5),
            proptest::option::weighted(0.05, 0u32..4),
        )
            .prop_map(|(remove, stray, add, from)| Step { remove, stray, add, from })
    }

    proptest! {
        #[test]
        fn applied_at_the_names_touched_as_to_every_record(
            held in proptest::collection::vec(wire_record(), 0..12),
            steps in proptest::collection::vec(step(), 0..3),
        ) {
            let mut copy = vec![soa(1)];
            copy.extend(held);
            let mut current = records(&copy);
            locate(&mut current, "held.zone");
            let mut diffs = Vec::new();
            let mut mirror = copy.clone();
            for (serial, s) in (1..).zip(steps) {
                let mut removed: Vec<WireRecord> = Vec::new();
                if let Some(soa_at) = mirror.iter().position(|r| r.rtype == RType::SOA) {
                    removed.push(mirror[soa_at].clone());
                }
                for i in &s.remove {
                    if !mirror.is_empty() {
                        removed.push(mirror[i.index(mirror.len())].clone());
                    }
                }
                removed.extend(s.stray);
                let mut added = vec![soa(serial + 1)];
                added.extend(s.add);
                mirror.retain(|r| !removed.contains(r));
                mirror.extend(added.iter().cloned());
                diffs.push(Diff { from: s.from.unwrap_or(serial), to: serial + 1, removed, added });
            }
            let want = reference(&current, &diffs, "t.zone");
            let got = apply(&current, &diffs, "t.zone");
            match (&got, &want) {
                (Ok(got), Ok(want)) => {
                    prop_assert_eq!(&got.records, want);
                    let names: Vec<Name> = diffs.iter().flat_map(|d| d.removed.iter().chain(&d.added)).map(|w| w.owner.clone()).collect();
                    prop_assert_eq!(&got.names, &names);
                    let after: Vec<usize> = (0..want.len()).filter(|&i| names.contains(&want[i].owner)).collect();
                    prop_assert_eq!(&got.at.after, &after);
                    let before: Vec<Record> = current.iter().filter(|r| names.contains(&r.owner)).cloned().collect();
                    prop_assert_eq!(&got.at.before, &before);
                }
                (Err(got), Err(want)) => prop_assert_eq!(got, want),
                _ => prop_assert!(false, "got {:?}, want {:?}", got.as_ref().err(), want.as_ref().err()),
            }
        }
    }

    #[test]
    fn a_glance_ignores_case_alone() {
        let name = |s: &str| Name::parse(s, None).unwrap().unwrap();
        let names = [name("Www.Example.TEST."), name("a-long-label-of-some-length.example.test.")];
        let touched = Touched::new(&names);
        assert!(touched.has(&name("www.example.test.")));
        assert!(touched.has(&name("A-LONG-label-of-some-length.EXAMPLE.test.")));
        assert!(!touched.has(&name("wwx.example.test.")));
        assert!(!touched.has(&name("example.test.")));
    }
}
