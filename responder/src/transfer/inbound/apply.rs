//! IXFR differences applied to the copy we hold (RFC 1995 §4). A difference
//! that does not fit our copy (it starts from another serial, or removes a
//! record we do not have) is an error, and the caller falls back to AXFR.

use std::collections::HashMap;

use super::message::WireRecord;
use super::stream::Diff;
use crate::wire::dns::RType;

/// A record's identity: owner compared without case, type, class, RDATA.
type Key = (Vec<u8>, u16, u16, Vec<u8>);

fn key(r: &WireRecord) -> Key {
    (r.owner.to_lowercase().wire().to_vec(), r.rtype.0, r.class, r.rdata.clone())
}

/// `current` (its SOA among the records) with `diffs` applied in order.
pub fn apply(current: Vec<WireRecord>, diffs: &[Diff]) -> Result<Vec<WireRecord>, String> {
    let mut serial = current.iter().find_map(|r| r.soa_serial()).ok_or("our copy has no SOA")?;
    let mut slots: Vec<Option<WireRecord>> = Vec::with_capacity(current.len());
    let mut index: HashMap<Key, usize> = HashMap::with_capacity(current.len());
    for r in current {
        if let std::collections::hash_map::Entry::Vacant(v) = index.entry(key(&r)) {
            v.insert(slots.len());
            slots.push(Some(r));
        }
    }
    for diff in diffs {
        if diff.from != serial {
            return Err(format!("a difference from serial {} does not apply to our serial {serial}", diff.from));
        }
        for r in &diff.removed {
            let slot = index.remove(&key(r)).ok_or_else(|| {
                format!(
                    "serial {} → {}: removes {} {} that our copy does not hold",
                    diff.from, diff.to, r.owner, r.rtype
                )
            })?;
            slots[slot] = None;
        }
        for r in &diff.added {
            if let std::collections::hash_map::Entry::Vacant(v) = index.entry(key(r)) {
                v.insert(slots.len());
                slots.push(Some(r.clone()));
            }
        }
        serial = diff.to;
    }
    let mut records: Vec<WireRecord> = slots.into_iter().flatten().collect();
    // The SOA first, as a zone file and an AXFR have it.
    if let Some(at) = records.iter().position(|r| r.rtype == RType::SOA) {
        let soa = records.remove(at);
        records.insert(0, soa);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::inbound::stream::tests::{a, soa};

    #[test]
    fn differences_apply_in_order() {
        let current = vec![soa(1), a("a.example.test.", 1), a("b.example.test.", 1)];
        let diffs = [
            Diff {
                from: 1,
                to: 2,
                removed: vec![soa(1), a("a.example.test.", 1)],
                added: vec![soa(2), a("a.example.test.", 2)],
            },
            Diff { from: 2, to: 3, removed: vec![soa(2)], added: vec![soa(3), a("c.example.test.", 3)] },
        ];
        let got = apply(current, &diffs).unwrap();
        assert_eq!(got, [soa(3), a("b.example.test.", 1), a("a.example.test.", 2), a("c.example.test.", 3)]);
    }

    #[test]
    fn a_difference_that_does_not_fit_is_an_error() {
        let current = vec![soa(1), a("a.example.test.", 1)];
        let wrong_serial = [Diff { from: 5, to: 6, removed: vec![soa(5)], added: vec![soa(6)] }];
        assert!(apply(current.clone(), &wrong_serial).unwrap_err().contains("serial 5"));
        let missing = [Diff { from: 1, to: 2, removed: vec![soa(1), a("x.example.test.", 9)], added: vec![soa(2)] }];
        assert!(apply(current, &missing).unwrap_err().contains("x.example.test."));
    }
}
