//! The checks of a zone made from a checked one by changing the records at
//! a few names (a secondary's IXFR applied to its copy), run where the
//! change can alter their outcome: the same result as checking every record
//! (`check::check`), in time that follows the change, not the zone.
//!
//! What each check depends on, and why the rest of the zone needs no look:
//! - a record's own checks (TTL, RDATA, class, in the zone) and the
//!   RRset and node rules (TTLs, duplicates, CNAME and DNAME) depend only
//!   on the records at its name: they are run at the names changed;
//! - the apex's SOA and NS, missing glue and DNAME occlusion depend on
//!   other names too. The held copy passed every check without a warning;
//!   when the change adds or removes no NS or DNAME record, the apex keeps
//!   its NS, a name below no DNAME before is below none now, and an NS
//!   target that had an address keeps it unless its name was changed.
//!   Only then is the short way taken (`None` otherwise: the caller checks
//!   every record, which also words any error).

use crate::table::fasthash::{FastMap, FastSet};

use super::check::{self, Notes};
use super::{class, embedded, ttl, At, Name, RType, Record, Zone};

/// What the full check would have found: the apex, the warnings in file
/// order, and the TTLs it would have fixed.
pub(super) struct Rechecked {
    pub apex: Name,
    pub warnings: Vec<String>,
    pub ttl_fixes: Vec<(usize, u32)>,
}

/// `records`, made from `held` by changing the records at a few names only
/// (`at`: their records before, and where `records` has them now), checked
/// as `check::check` would with `origin`; `None` when only the full check
/// can tell (an error, a warning the held copy had, an NS or DNAME change).
pub(super) fn recheck(held: &Zone, records: &[Record], at: &At, origin: &Name) -> Option<Rechecked> {
    if held.expired || !held.warnings.is_empty() || held.origin != *origin {
        return None;
    }
    let in_order = at.after.windows(2).all(|w| w[0] < w[1]);
    if !in_order || at.after.last().is_some_and(|&i| i >= records.len()) {
        return None;
    }
    let after = || at.after.iter().map(|&i| &records[i]);
    // The held copy had one SOA, at the apex: one must go for each that comes.
    let soas = |rs: &mut dyn Iterator<Item = &Record>| rs.filter(|r| r.rtype == RType::SOA).count();
    if soas(&mut at.before.iter()) != soas(&mut after()) {
        return None;
    }
    let apex = records.iter().find(|r| r.rtype == RType::SOA)?.owner.clone();
    for r in after() {
        let fits = r.ttl <= ttl::MAX_TTL
            && r.rdata.len() <= usize::from(u16::MAX)
            && embedded::check_wire(r.rtype, &r.rdata).is_ok()
            && r.class == class::IN
            && r.owner.is_subdomain_of(&apex)
            && (r.rtype != RType::SOA || r.owner == *origin);
        if !fits {
            return None;
        }
    }
    if redirections(at.before.iter()) != redirections(after()) {
        return None;
    }

    let mut notes = Notes::new();
    let mut ttl_fixes = Vec::new();
    let index = check::Index::of(records, at.after.iter().copied());
    let mut with_address: FastSet<&Name> = FastSet::default();
    let mut new_nodes: Vec<usize> = Vec::new();
    let before: FastSet<&Name> = at.before.iter().map(|r| &r.owner).collect();
    for node in index.nodes() {
        let (facts, violation) = check::check_node(records, node.iter().map(|&(_, record)| record));
        if violation.is_some() {
            return None;
        }
        let owner = &records[facts.first as usize].owner;
        if facts.has_address {
            with_address.insert(owner);
        }
        if !before.contains(owner) {
            new_nodes.push(facts.first as usize);
        }
    }
    let mut rrset: Vec<usize> = Vec::new();
    let mut dropped = Vec::new();
    for set in index.rrsets() {
        rrset.clear();
        rrset.extend(set.iter().map(|&(_, record)| record));
        check::check_rrset(records, &mut rrset, &mut notes, &mut ttl_fixes, &mut dropped);
    }
    // The applied difference leaves no duplicate in a checked copy; should
    // one come, the full check drops it (and moves every later record).
    if !dropped.is_empty() {
        return None;
    }

    // Names that had an address and have none now: an NS record that
    // names one lacks glue. No other NS target changed.
    let lost: FastSet<&Name> = at
        .before
        .iter()
        .filter(|r| matches!(r.rtype, RType::A | RType::AAAA) && !with_address.contains(&r.owner))
        .map(|r| &r.owner)
        .collect();
    if !lost.is_empty() || !new_nodes.is_empty() {
        let mut glue = Notes::new();
        // Lowered owner → its (first) DNAME record, as the check keys them.
        let mut dnames: FastMap<Vec<u8>, usize> = FastMap::default();
        for (i, r) in records.iter().enumerate() {
            match r.rtype {
                RType::NS if !lost.is_empty() => {
                    let Ok(target) = Name::from_wire(&r.rdata) else { continue };
                    if target.is_subdomain_of(&apex) && lost.contains(&target) {
                        glue.push((i, check::missing_glue(&target, r)));
                    }
                }
                RType::DNAME => {
                    dnames.entry(r.owner.to_lowercase().wire().to_vec()).or_insert(i);
                }
                _ => {}
            }
        }
        notes.extend(glue);
        if !dnames.is_empty() {
            new_nodes.sort_unstable();
            for &first in &new_nodes {
                let r = &records[first];
                if let Some(dname) = check::dname_above(&r.owner, |owner| dnames.get(owner).copied()) {
                    notes.push((first, check::occluded(r, &records[dname])));
                }
            }
        }
    }
    notes.sort_by_key(|&(record, _)| record);
    let warnings =
        notes.into_iter().map(|(record, message)| format!("{}: {message}", records[record].location)).collect();
    Some(Rechecked { apex, warnings, ttl_fixes })
}

/// The NS and DNAME records among `records`, in one order: the records
/// whose change reaches other names than their own.
fn redirections<'r>(records: impl Iterator<Item = &'r Record>) -> Vec<(&'r [u8], u16, &'r [u8])> {
    let mut v: Vec<_> = records
        .filter(|r| matches!(r.rtype, RType::NS | RType::DNAME))
        .map(|r| (r.owner.wire(), r.rtype.0, &*r.rdata))
        .collect();
    v.sort_unstable();
    v
}
