//! A catalog zone's records as its member set (RFC 9432 §4).
//!
//! What counts: `version.CATALOG TXT "2"` (anything else and the catalog is
//! not interpreted at all, §4.2: the members served so far stay), and
//! `UNIQUE.zones.CATALOG PTR MEMBER.` with, optionally,
//! `group.UNIQUE.zones.CATALOG TXT "GROUP"` (§4.4.2), which picks the
//! template a member takes its settings from. Everything else (other
//! properties, `coo`, records outside `zones`) is ignored. A broken member
//! entry costs that entry only, with a line saying why.

use std::collections::BTreeMap;

use crate::wire::dns::RType;
use crate::zone::{Name, Record};

/// The only schema version this consumer understands (RFC 9432 §4.2.1).
pub const VERSION: &str = "2";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub zone: Name,
    /// The member's unique id: the label under `zones`.
    pub unique: Vec<u8>,
    /// Its `group` property, if it has exactly one.
    pub group: Option<String>,
}

/// The members of a catalog, and what was wrong with the entries left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberSet {
    /// In canonical order of the member zone names, each zone once.
    pub members: Vec<Member>,
    pub problems: Vec<String>,
}

/// Reads the member set of `catalog` out of its `records`. An error means
/// the catalog as a whole cannot be interpreted (its version).
pub fn members(catalog: &Name, records: &[Record]) -> Result<MemberSet, String> {
    check_version(catalog, records)?;
    let zones = catalog.prepend(b"zones").map_err(|e| format!("catalog {catalog}: {e}"))?;
    let mut problems = Vec::new();
    // Per unique id: its PTR targets and its group strings.
    let mut entries: BTreeMap<Vec<u8>, (Vec<Name>, Vec<String>)> = BTreeMap::new();
    for r in records {
        if !r.owner.is_subdomain_of(&zones) || r.owner == zones {
            continue;
        }
        let depth = r.owner.label_count() - zones.label_count();
        let labels: Vec<&[u8]> = r.owner.labels().collect();
        match (depth, r.rtype) {
            (1, RType::PTR) => {
                let unique = labels[0].to_ascii_lowercase();
                match Name::from_wire(&r.rdata) {
                    Ok(member) => entries.entry(unique).or_default().0.push(member),
                    Err(e) => problems.push(format!("{}: PTR with a bad name ({e}): ignored", r.owner)),
                }
            }
            (2, RType::TXT) if labels[0].eq_ignore_ascii_case(b"group") => {
                let unique = labels[1].to_ascii_lowercase();
                match first_string(&r.rdata) {
                    Some(group) => entries.entry(unique).or_default().1.push(group),
                    None => problems.push(format!("{}: TXT with no string: ignored", r.owner)),
                }
            }
            _ => {}
        }
    }
    let mut by_zone: BTreeMap<Name, Member> = BTreeMap::new();
    for (unique, (mut targets, groups)) in entries {
        let shown = String::from_utf8_lossy(&unique).into_owned();
        targets.dedup();
        let member = match targets.as_slice() {
            [] => continue, // properties of nothing
            [one] => one.clone(),
            _ => {
                // §4.1: exactly one PTR per member node; which one was meant
                // cannot be known, so neither is taken.
                problems.push(format!("member {shown}: {} PTR records, not one: ignored", targets.len()));
                continue;
            }
        };
        if member == *catalog || member.is_root() {
            problems.push(format!("member {shown}: {member} cannot be a member of catalog {catalog}: ignored"));
            continue;
        }
        let group = match groups.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            _ => {
                problems
                    .push(format!("member {shown} ({member}): {} group properties, not one: no group", groups.len()));
                None
            }
        };
        // The same zone under two ids (a move in progress, or a mistake):
        // the first id in canonical order wins, so every consumer agrees.
        if let Some(first) = by_zone.get(&member) {
            problems.push(format!(
                "member {shown}: zone {member} is already listed as {}: ignored",
                String::from_utf8_lossy(&first.unique)
            ));
            continue;
        }
        by_zone.insert(member.clone(), Member { zone: member, unique, group });
    }
    Ok(MemberSet { members: by_zone.into_values().collect(), problems })
}

fn check_version(catalog: &Name, records: &[Record]) -> Result<(), String> {
    let version = catalog.prepend(b"version").map_err(|e| format!("catalog {catalog}: {e}"))?;
    let found: Vec<Option<String>> = records
        .iter()
        .filter(|r| r.owner == version && r.rtype == RType::TXT)
        .map(|r| first_string(&r.rdata))
        .collect();
    match found.as_slice() {
        [Some(v)] if v == VERSION => Ok(()),
        [] => Err(format!("catalog {catalog} has no version TXT record: not interpreted")),
        [Some(v)] => Err(format!(
            "catalog {catalog} has schema version {v:?}, only \"{VERSION}\" is understood: not interpreted"
        )),
        [None] => Err(format!("catalog {catalog}: its version TXT record is empty: not interpreted")),
        _ => Err(format!("catalog {catalog} has {} version TXT records, not one: not interpreted", found.len())),
    }
}

/// The first character-string of TXT RDATA, as text.
fn first_string(rdata: &[u8]) -> Option<String> {
    let len = usize::from(*rdata.first()?);
    let bytes = rdata.get(1..1 + len)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parse_str;

    fn catalog(body: &str) -> Result<MemberSet, String> {
        let text = format!("$ORIGIN cat.test.\n$TTL 0\n@ SOA invalid. invalid. 1 60 60 600 0\n@ NS invalid.\n{body}");
        let zone = parse_str(&text, "cat.zone", Name::parse("cat.test.", None).unwrap().as_ref()).unwrap();
        members(&zone.origin, &zone.records)
    }

    fn zones(set: &MemberSet) -> Vec<String> {
        set.members.iter().map(|m| m.zone.to_string()).collect()
    }

    #[test]
    fn members_and_their_groups_are_read() {
        let set = catalog(
            "version TXT \"2\"\nm1.zones PTR one.test.\nm2.zones PTR Two.TEST.\ngroup.m2.zones TXT \"blue\"\n\
             coo.m1.zones PTR other.cat.\nwhatever TXT \"x\"\n",
        )
        .unwrap();
        assert_eq!(zones(&set), ["one.test.", "Two.TEST."]);
        assert_eq!(set.members[1].group.as_deref(), Some("blue"));
        assert_eq!(set.members[0].group, None);
        assert!(set.problems.is_empty(), "{:?}", set.problems);
    }

    #[test]
    fn a_wrong_missing_or_doubled_version_is_not_interpreted() {
        assert!(catalog("version TXT \"1\"\nm1.zones PTR one.test.\n").unwrap_err().contains("schema version \"1\""));
        assert!(catalog("m1.zones PTR one.test.\n").unwrap_err().contains("no version"));
        assert!(catalog("version TXT \"2\"\nversion TXT \"3\"\n").unwrap_err().contains("2 version TXT records"));
        assert_eq!(catalog("version TXT \"2\"\n").unwrap(), MemberSet::default(), "an empty catalog is fine");
    }

    #[test]
    fn broken_entries_cost_only_themselves() {
        let set = catalog(
            "version TXT \"2\"\n\
             a.zones PTR dup.test.\nb.zones PTR dup.test.\n\
             two.zones PTR x.test.\ntwo.zones PTR y.test.\n\
             self.zones PTR cat.test.\n\
             ok.zones PTR ok.test.\ngroup.ok.zones TXT \"g1\"\ngroup.ok.zones TXT \"g2\"\n\
             deep.er.zones PTR deep.test.\n",
        )
        .unwrap();
        assert_eq!(zones(&set), ["dup.test.", "ok.test."]);
        assert_eq!(set.members[0].unique, b"a", "the first id in canonical order wins");
        assert_eq!(set.members[1].group, None, "two groups: none");
        assert_eq!(set.problems.len(), 4, "{:?}", set.problems);
        assert!(set.problems.iter().any(|p| p.contains("already listed as a")));
        assert!(set.problems.iter().any(|p| p.contains("2 PTR records")));
        assert!(set.problems.iter().any(|p| p.contains("cannot be a member")));
    }
}
