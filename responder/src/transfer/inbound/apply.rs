//! IXFR differences applied to the copy we hold (RFC 1995 §4). A difference
//! that does not fit our copy (it starts from another serial, or removes a
//! record we do not have) is an error, and the caller falls back to AXFR.
//!
//! The copy is the zone as served, so a difference costs one pass over its
//! records (each hashed once, nothing allocated per record) and work in
//! proportion to the difference: no text, no second copy of the zone.

use std::hash::{Hash, Hasher};

use super::message::WireRecord;
use super::stream::Diff;
use crate::table::fasthash::{FastMap, FxHasher};
use crate::wire::dns::RType;
use crate::zone::{FileName, Location, Name, Record};

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

/// `current` (its SOA among the records) with `diffs` applied in order:
/// removed records leave their place, added ones (those not held already)
/// follow the rest, and the SOA comes first, as a zone file and an AXFR
/// have it. Records are not [`locate`]d. Also the owners of the records
/// removed and added: no other name's records change (`zone::Derived`).
pub fn apply(current: &[Record], diffs: &[Diff]) -> Result<(Vec<Record>, Vec<Name>), String> {
    let soa_serial = |r: &Record| super::timers::Soa::serial_of(r.rtype, &r.rdata);
    let mut serial = current.iter().find_map(soa_serial).ok_or("our copy has no SOA")?;
    let mut records: Vec<Record> = Vec::new();
    for (k, diff) in diffs.iter().enumerate() {
        if diff.from != serial {
            return Err(format!("a difference from serial {} does not apply to our serial {serial}", diff.from));
        }
        let from: &[Record] = if k == 0 { current } else { &records };
        records = apply_one(from, diff)?;
        serial = diff.to;
    }
    if diffs.is_empty() {
        records = current.to_vec();
    }
    if let Some(at) = records.iter().position(|r| r.rtype == RType::SOA) {
        records[..=at].rotate_right(1);
    }
    let owners = diffs.iter().flat_map(|d| d.removed.iter().chain(&d.added)).map(|w| w.owner.clone()).collect();
    Ok((records, owners))
}

fn apply_one(current: &[Record], diff: &Diff) -> Result<Vec<Record>, String> {
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
    // Each removal takes one held record; an addition already held (and
    // not removed) changes nothing.
    let mut taken = vec![false; diff.removed.len()];
    let mut held = vec![false; diff.added.len()];
    let mut out = Vec::with_capacity(current.len() + diff.added.len());
    for r in current {
        let id = record_identity(r);
        let gone = removed.get(&id).and_then(|ix| ix.iter().find(|&&i| !taken[i] && same(r, &diff.removed[i])));
        if let Some(&i) = gone {
            taken[i] = true;
            continue;
        }
        for &i in added.get(&id).into_iter().flatten() {
            held[i] |= same(r, &diff.added[i]);
        }
        out.push(r.clone());
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
            out.push(record(w));
        }
    }
    Ok(out)
}

fn same_wire(a: &WireRecord, b: &WireRecord) -> bool {
    a.rtype == b.rtype && a.class == b.class && a.owner == b.owner && a.rdata == b.rdata
}

#[cfg(test)]
mod tests {
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
        let (got, _) = apply(&current, &diffs).unwrap();
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
        let (got, _) = apply(&current, &diffs).unwrap();
        assert_eq!(wire(&got), [soa(2), a("b.example.test.", 1), a("c.example.test.", 1)]);
        // Removed and added back: it moves behind the others, as it would in
        // the primary's next AXFR.
        let back = [Diff {
            from: 1,
            to: 2,
            removed: vec![soa(1), a("a.example.test.", 1)],
            added: vec![soa(2), a("a.example.test.", 1)],
        }];
        let (got, _) = apply(&current, &back).unwrap();
        assert_eq!(wire(&got), [soa(2), a("b.example.test.", 1), a("a.example.test.", 1)]);
    }

    #[test]
    fn a_difference_that_does_not_fit_is_an_error() {
        let current = records(&[soa(1), a("a.example.test.", 1)]);
        let wrong_serial = [Diff { from: 5, to: 6, removed: vec![soa(5)], added: vec![soa(6)] }];
        assert!(apply(&current, &wrong_serial).unwrap_err().contains("serial 5"));
        let missing = [Diff { from: 1, to: 2, removed: vec![soa(1), a("x.example.test.", 9)], added: vec![soa(2)] }];
        assert!(apply(&current, &missing).unwrap_err().contains("x.example.test."));
        // One held record cannot be removed twice.
        let twice = [Diff {
            from: 1,
            to: 2,
            removed: vec![soa(1), a("a.example.test.", 1), a("a.example.test.", 1)],
            added: vec![soa(2)],
        }];
        assert!(apply(&current, &twice).unwrap_err().contains("a.example.test."));
    }
}
