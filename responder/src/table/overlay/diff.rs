//! A change set from two versions of a zone (a reloaded file): what an
//! IXFR would carry, with one more rule so that the overlay's RRsets keep
//! the new file's record order (which decides RDATA order and an RRset's
//! TTL in answers): a name whose kept records come in another order, or
//! that gains records before its kept ones, is replaced whole. A version
//! that says which names it changed from the other (a secondary's IXFR
//! applied, `Zone::derived`) is compared at those names only: at the
//! records it says both versions have there when it knows them, else in
//! one pass over the records that hashes no other owner into a map.

use super::index::{key, Key};
use super::Change;
use crate::table::fasthash::{FastMap, FastSet};
use crate::zone::{Name, Record, Zone};

/// Everything that tells two records apart in an answer.
fn same(a: &Record, b: &Record) -> bool {
    a.rtype == b.rtype && a.class == b.class && a.ttl == b.ttl && a.rdata == b.rdata
}

/// A name's records in the old version, then in the new.
type Versions<'z> = (Vec<&'z Record>, Vec<&'z Record>);

impl Change {
    /// The change from `old` to `new`, two versions of the zone at `zone`
    /// in the compiled slice.
    pub fn diff(zone: usize, old: &Zone, new: &Zone) -> Change {
        match &new.derived {
            Some(d) if std::ptr::eq(d.from.as_ptr(), old) => match &d.at {
                // Where the records at those names are, in both: nothing else read.
                Some(at) if at.after.iter().all(|&i| i < new.records.len()) => {
                    Change::diff_of(zone, at.before.iter(), at.after.iter().map(|&i| &new.records[i]))
                }
                _ => {
                    // `Name` hashes and compares without case.
                    let names: FastSet<&Name> = d.names.iter().collect();
                    let wanted = |r: &&Record| names.contains(&r.owner);
                    Change::diff_of(zone, old.records.iter().filter(wanted), new.records.iter().filter(wanted))
                }
            },
            _ => Change::diff_of(zone, old.records.iter(), new.records.iter()),
        }
    }

    /// [`Change::diff`] of the records `old` and `new` hold at the names
    /// that may have changed (each version's, in its order): every other
    /// name must have the same records, in the same order, in both.
    fn diff_of<'z>(
        zone: usize,
        old: impl Iterator<Item = &'z Record>,
        new: impl Iterator<Item = &'z Record>,
    ) -> Change {
        let mut by_name: FastMap<Key, Versions<'_>> = FastMap::default();
        for r in old {
            by_name.entry(key(&r.owner)).or_default().0.push(r);
        }
        for r in new {
            by_name.entry(key(&r.owner)).or_default().1.push(r);
        }
        let mut change = Change { zone, ..Change::default() };
        // In the new file's order, so that additions land as it has them.
        let mut names: Vec<(&Key, &Versions<'_>)> = by_name.iter().collect();
        names.sort_by_key(|(_, (o, n))| (n.first().map(|r| r.location.line), o.first().map(|r| r.location.line)));
        for (_, (o, n)) in names {
            let kept: Vec<&Record> = o.iter().copied().filter(|r| n.iter().any(|x| same(r, x))).collect();
            let in_order = n.len() >= kept.len() && kept.iter().zip(n.iter()).all(|(a, b)| same(a, b));
            if in_order {
                change.deletes.extend(o.iter().filter(|r| !kept.iter().any(|k| same(r, k))).map(|r| (*r).clone()));
                change.adds.extend(n[kept.len()..].iter().map(|r| (*r).clone()));
            } else {
                change.deletes.extend(o.iter().map(|r| (*r).clone()));
                change.adds.extend(n.iter().map(|r| (*r).clone()));
            }
        }
        change
    }
}
