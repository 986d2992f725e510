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
use crate::table::fasthash::{FastSet, FxHasher};
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
    placed(w, Location { file: FileName::from(""), line: 0 })
}

fn placed(w: &WireRecord, location: Location) -> Record {
    Record {
        owner: w.owner.clone(),
        rtype: w.rtype,
        class: w.class,
        ttl: w.ttl,
        rdata: w.rdata.as_slice().into(),
        location,
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
/// The differences reach only the records at their owners, told from the
/// others at a glance ([`Touched`]): one pass copies each record into its
/// place, and only those at the touched names are hashed and go through
/// the differences. Every difference's input is the records kept before
/// it, in order, then the additions of those before it: a held record
/// goes through them all in turn where the pass meets it, the additions
/// after the pass.
pub fn apply(current: &[Record], diffs: &[Diff], file: &str) -> Result<Applied, String> {
    let soa_serial = |r: &Record| super::timers::Soa::serial_of(r.rtype, &r.rdata);
    let mut serial = current.iter().find_map(soa_serial).ok_or("our copy has no SOA")?;
    let names: Vec<Name> =
        diffs.iter().flat_map(|d| d.removed.iter().chain(&d.added)).map(|w| w.owner.clone()).collect();
    let touched = Touched::new(&names);
    let mut steps: Vec<Step<'_>> = diffs.iter().map(Step::new).collect();
    let file = FileName::from(file);
    let location = |at: usize| Location { file: file.clone(), line: super::zone_text::HEADER_LINES + 1 + at };
    let added: usize = diffs.iter().map(|d| d.added.len()).sum();
    let mut out = Vec::with_capacity(current.len() + added + 1);
    // Slot 0 is kept for the first SOA in the records' order, however late
    // it comes: the held one is usually replaced by one added at the end.
    let mut out_soa = Placed::default();
    out.push(copied(&current[0], location(0)));
    let mut before = Vec::new();
    let spare = super::prefault::Spare::of(&mut out);
    std::thread::scope(|s| {
        if let Some(spare) = &spare {
            s.spawn(|| spare.populate());
        }
        for r in current {
            let at_touched = touched.has(&r.owner);
            if at_touched {
                before.push(r.clone());
                let (id, is) = (record_identity(r), Is::Record(r));
                if !steps.iter_mut().all(|step| step.keeps(id, &is)) {
                    continue;
                }
            }
            let at = out_soa.place(r.rtype, out.len(), at_touched);
            let record = copied(r, location(at));
            match out.get_mut(at) {
                Some(slot) => *slot = record,
                None => out.push(record),
            }
        }
    });
    let mut pending: Vec<&WireRecord> = Vec::new();
    for step in &mut steps {
        pending.retain(|w| step.keeps(wire_identity(w), &Is::Wire(w)));
        pending.extend(step.additions());
    }
    for (diff, step) in diffs.iter().zip(&steps) {
        if diff.from != serial {
            return Err(format!("a difference from serial {} does not apply to our serial {serial}", diff.from));
        }
        step.all_taken()?;
        serial = diff.to;
    }
    for w in pending {
        let at = out_soa.place(w.rtype, out.len(), true);
        let record = placed(w, location(at));
        match out.get_mut(at) {
            Some(slot) => *slot = record,
            None => out.push(record),
        }
    }
    let mut after = out_soa.after;
    if !out_soa.done {
        // No SOA: nothing goes first (the zone checks refuse it).
        out.remove(0);
        locate(&mut out, &file);
        after.iter_mut().for_each(|i| *i -= 1);
    }
    Ok(Applied { records: out, names, at: At { before, after } })
}

/// Where the records go: the first SOA at 0, the others after those
/// placed; and where those at the touched names went (ascending).
#[derive(Default)]
struct Placed {
    done: bool,
    after: Vec<usize>,
}

impl Placed {
    fn place(&mut self, rtype: RType, next: usize, at_touched: bool) -> usize {
        let at = if !self.done && rtype == RType::SOA {
            self.done = true;
            0
        } else {
            next
        };
        if at_touched {
            if at == 0 {
                self.after.insert(0, 0);
            } else {
                self.after.push(at);
            }
        }
        at
    }
}

/// One difference as the records go through it: its removals and
/// additions by identity, which removals took a record, which additions
/// a record kept holds already.
struct Step<'d> {
    diff: &'d Diff,
    /// (identity, index) sorted: a record's candidates are one run, in order.
    removed: Vec<(u64, usize)>,
    added: Vec<(u64, usize)>,
    taken: Vec<bool>,
    held: Vec<bool>,
}

fn run(ids: &[(u64, usize)], id: u64) -> impl Iterator<Item = usize> + '_ {
    let at = ids.partition_point(|&(x, _)| x < id);
    ids[at..].iter().take_while(move |&&(x, _)| x == id).map(|&(_, i)| i)
}

impl<'d> Step<'d> {
    fn new(diff: &'d Diff) -> Step<'d> {
        let index = |records: &[WireRecord]| {
            let mut ids: Vec<(u64, usize)> = records.iter().map(wire_identity).zip(0..).collect();
            ids.sort_unstable();
            ids
        };
        Step {
            diff,
            removed: index(&diff.removed),
            added: index(&diff.added),
            taken: vec![false; diff.removed.len()],
            held: vec![false; diff.added.len()],
        }
    }

    /// Whether the record `is` (identity `id`), next in this difference's
    /// input, stays: each removal takes one record, the first it meets.
    fn keeps(&mut self, id: u64, is: &Is<'_>) -> bool {
        let gone = run(&self.removed, id).find(|&i| !self.taken[i] && is.same(&self.diff.removed[i]));
        if let Some(i) = gone {
            self.taken[i] = true;
            return false;
        }
        for i in run(&self.added, id) {
            self.held[i] |= is.same(&self.diff.added[i]);
        }
        true
    }

    /// The additions that follow the records kept, once all went through:
    /// those not held already, the first of identical ones.
    fn additions(&self) -> impl Iterator<Item = &'d WireRecord> + '_ {
        let diff: &'d Diff = self.diff;
        diff.added.iter().enumerate().filter_map(move |(i, w)| {
            let first = run(&self.added, wire_identity(w)).find(|&j| same_wire(&diff.added[j], w));
            (!self.held[i] && first == Some(i)).then_some(w)
        })
    }

    fn all_taken(&self) -> Result<(), String> {
        match self.taken.iter().position(|t| !t) {
            Some(i) => {
                let (d, r) = (self.diff, &self.diff.removed[i]);
                Err(format!(
                    "serial {} → {}: removes {} {} that our copy does not hold",
                    d.from, d.to, r.owner, r.rtype
                ))
            }
            None => Ok(()),
        }
    }
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
