//! Semantic checks on a parsed zone, after Knot's `semantic-checks`.
//!
//! Errors make the zone unservable (no SOA, CNAME beside data, data outside
//! the zone...). Warnings are kept for the operator: missing glue, names
//! occluded by a DNAME, RRsets whose TTLs disagree (fixed to the first TTL,
//! as Knot does, since an RRset has one TTL on the wire — RFC 2181 §5.2).
//!
//! Big zones make this a grouping problem, so names are hashed once: a map
//! numbers the owners, then sorting small integer keys brings each RRset
//! and each node together. (Three maps keyed by names took most of the
//! load time of a million-name zone.)

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::table::fasthash::FxHasher;

use super::error::ZoneError;
use super::name::Name;
use super::record::Record;
use super::rtype::{class, RType};

/// A checked zone: its apex and its records, duplicates removed.
pub struct Checked {
    pub apex: Name,
    pub records: Vec<Record>,
}

/// Checks `records` read from `file`. `origin` is the zone name the caller
/// expects, if any; otherwise the SOA owner is the apex. Warnings are
/// appended in file order, each prefixed with `file:line:`.
pub fn check(
    records: Vec<Record>,
    origin: Option<&Name>,
    file: &str,
    warnings: &mut Vec<String>,
) -> Result<Checked, ZoneError> {
    check_classes(&records)?;
    let apex = find_apex(&records, origin, file)?;
    check_in_zone(&records, &apex)?;

    let index = Index::build(&records);
    let mut notes = Notes::new();
    let rrsets = check_rrsets(&records, &index, &mut notes);
    let nodes = check_nodes(&records, &index, &rrsets.keep)?;
    let apex_has_ns = index.node(&records, &apex).is_some_and(|id| nodes[id].has_ns);
    if !apex_has_ns {
        let soa = records.iter().find(|r| r.rtype == RType::SOA).expect("find_apex found one");
        return Err(error_at(soa, format!("no NS records at the zone apex {apex}")));
    }
    check_glue(&records, &index, &nodes, &rrsets.keep, &apex, &mut notes);
    check_dname_occlusion(&records, &nodes, &mut notes);

    notes.sort_by_key(|&(record, _)| record);
    warnings.extend(notes.into_iter().map(|(record, message)| format!("{}: {message}", records[record].location)));
    drop(index);
    let mut records = records;
    for (record, ttl) in rrsets.ttl_fixes {
        records[record].ttl = ttl;
    }
    let mut keep = rrsets.keep.into_iter();
    records.retain(|_| keep.next().unwrap_or(false));
    Ok(Checked { apex, records })
}

/// Warnings as (record index, message), sorted into file order at the end.
pub(super) type Notes = Vec<(usize, String)>;

pub(super) fn error_at(record: &Record, message: String) -> ZoneError {
    ZoneError { location: Some(record.location.clone()), message }
}

fn check_classes(records: &[Record]) -> Result<(), ZoneError> {
    match records.iter().find(|r| r.class != class::IN) {
        Some(r) => {
            let message = format!("class {} is not supported: only IN data can be served", class::to_text(r.class));
            Err(error_at(r, message))
        }
        None => Ok(()),
    }
}

fn find_apex(records: &[Record], origin: Option<&Name>, file: &str) -> Result<Name, ZoneError> {
    let mut soas = records.iter().filter(|r| r.rtype == RType::SOA);
    let Some(soa) = soas.next() else {
        return Err(ZoneError { location: None, message: format!("{file}: no SOA record") });
    };
    if let Some(second) = soas.next() {
        let message = format!("a second SOA record (the first is at {}); a zone has exactly one", soa.location);
        return Err(error_at(second, message));
    }
    match origin {
        Some(origin) if soa.owner != *origin => {
            Err(error_at(soa, format!("SOA owner {} is not the zone apex {origin}", soa.owner)))
        }
        _ => Ok(soa.owner.clone()),
    }
}

fn check_in_zone(records: &[Record], apex: &Name) -> Result<(), ZoneError> {
    match records.iter().find(|r| !r.owner.is_subdomain_of(apex)) {
        Some(r) => Err(error_at(r, format!("{} is outside the zone {apex}", r.owner))),
        None => Ok(()),
    }
}

/// Records grouped by node (owner name) and by RRset.
pub(super) struct Index {
    /// Node numbers, numbered in order of first appearance, found by
    /// their owner's hash (the compiler's hasher: the names are the
    /// zone's, hashed once each, and SipHash was a fifth of the check).
    /// A slot is a number, not a name reference and a number: 5 bytes a
    /// slot rather than 17, 21 MB less at a million names.
    nodes: hashbrown::HashTable<u32>,
    /// Per node, its first record: where its owner name is.
    owners: Vec<u32>,
    /// (RRset key, record index), sorted: each node's RRsets are adjacent,
    /// and within an RRset records keep file order.
    sorted: Vec<(u64, usize)>,
}

fn hash(name: &Name) -> u64 {
    std::hash::BuildHasherDefault::<FxHasher>::default().hash_one(name)
}

impl Index {
    fn build(records: &[Record]) -> Index {
        Index::of(records, 0..records.len())
    }

    /// The index of some of `records` only (`members`, ascending).
    pub(super) fn of(records: &[Record], members: impl ExactSizeIterator<Item = usize>) -> Index {
        let mut nodes = hashbrown::HashTable::with_capacity(members.len());
        let mut owners: Vec<u32> = Vec::new();
        let mut sorted = Vec::with_capacity(members.len());
        for index in members {
            let r = &records[index];
            let at = |&n: &u32| records[owners[n as usize] as usize].owner == r.owner;
            let rehash = |&n: &u32| hash(&records[owners[n as usize] as usize].owner);
            let node = match nodes.entry(hash(&r.owner), at, rehash) {
                hashbrown::hash_table::Entry::Occupied(e) => *e.get(),
                hashbrown::hash_table::Entry::Vacant(e) => {
                    let next = owners.len() as u32;
                    e.insert(next);
                    owners.push(index as u32);
                    next
                }
            };
            sorted.push((rrset_key(node as usize, r), index));
        }
        sorted.sort_unstable();
        Index { nodes, owners, sorted }
    }

    /// The node of `name`, whose records this index was built from.
    fn node(&self, records: &[Record], name: &Name) -> Option<usize> {
        let at = |&n: &u32| records[self.owners[n as usize] as usize].owner == *name;
        self.nodes.find(hash(name), at).map(|&n| n as usize)
    }

    fn node_count(&self) -> usize {
        self.owners.len()
    }

    pub(super) fn rrsets(&self) -> impl Iterator<Item = &[(u64, usize)]> {
        self.sorted.chunk_by(|a, b| a.0 == b.0)
    }

    /// Node groups, in node-number order.
    pub(super) fn nodes(&self) -> impl Iterator<Item = &[(u64, usize)]> {
        self.sorted.chunk_by(|a, b| a.0 >> 32 == b.0 >> 32)
    }
}

/// node (32 bits) | type (16) | covered type (16, RRSIG only: RFC 4035 §2.2
/// gives each covered type its own RRSIG RRset and TTL).
fn rrset_key(node: usize, r: &Record) -> u64 {
    let covered = match (r.rtype, r.rdata.get(..2)) {
        (RType::RRSIG, Some(&[high, low])) => u16::from_be_bytes([high, low]),
        _ => 0,
    };
    (node as u64) << 32 | u64::from(r.rtype.0) << 16 | u64::from(covered)
}

struct RRsetFindings {
    /// Which records survive: the first of each set of exact duplicates
    /// (same owner, type and RDATA octets) in file order.
    keep: Vec<bool>,
    /// (record, TTL) for records whose TTL disagreed with their RRset's first.
    ttl_fixes: Vec<(usize, u32)>,
}

fn check_rrsets(records: &[Record], index: &Index, notes: &mut Notes) -> RRsetFindings {
    let mut keep = vec![true; records.len()];
    let mut ttl_fixes = Vec::new();
    let mut members: Vec<usize> = Vec::new();
    let mut dropped = Vec::new();
    for rrset in index.rrsets() {
        members.clear();
        members.extend(rrset.iter().map(|&(_, member)| member));
        check_rrset(records, &mut members, notes, &mut ttl_fixes, &mut dropped);
    }
    for record in dropped {
        keep[record] = false;
    }
    RRsetFindings { keep, ttl_fixes }
}

/// One RRset's records (`members`, in file order; left reordered): a TTL
/// that differs from the first's is noted and fixed, and each exact
/// duplicate of an earlier record is `dropped`.
pub(super) fn check_rrset(
    records: &[Record],
    members: &mut [usize],
    notes: &mut Notes,
    ttl_fixes: &mut Vec<(usize, u32)>,
    dropped: &mut Vec<usize>,
) {
    let first = &records[members[0]];
    for &member in &members[1..] {
        let r = &records[member];
        if r.ttl != first.ttl {
            let message = format!(
                "TTL {} of this {} record at {} differs from TTL {} of its RRset at {}; using {}",
                r.ttl, r.rtype, r.owner, first.ttl, first.location, first.ttl
            );
            notes.push((member, message));
            ttl_fixes.push((member, first.ttl));
        }
    }
    if members.len() > 1 {
        members.sort_unstable_by(|&a, &b| records[a].rdata.cmp(&records[b].rdata).then(a.cmp(&b)));
        for pair in members.windows(2) {
            if records[pair[0]].rdata == records[pair[1]].rdata {
                dropped.push(pair[1]);
            }
        }
    }
}

/// What later checks need to know about one owner name. Record numbers
/// as u32 (the index's keys hold node numbers in 32 bits already): one
/// per node of a big zone, 16 bytes rather than 32.
pub(super) struct NodeFacts {
    /// Its first record in file order.
    pub first: u32,
    pub has_address: bool,
    pub has_ns: bool,
    pub dname: Option<u32>,
}

/// The two earliest records of a kind at one node.
#[derive(Default)]
struct FirstTwo(Option<usize>, Option<usize>);

impl FirstTwo {
    fn add(&mut self, record: usize) {
        match (self.0, self.1) {
            (None, _) => self.0 = Some(record),
            (Some(first), _) if record < first => *self = FirstTwo(Some(record), self.0),
            (Some(_), None) => self.1 = Some(record),
            (Some(_), Some(second)) if record < second => self.1 = Some(record),
            _ => {}
        }
    }
}

/// A node's facts, and the rule it breaks whose offending record comes
/// first: (offending record, earlier record it clashes with, what is wrong).
pub(super) type Violation = (usize, usize, &'static str);

/// CNAME and DNAME rules at one node, its kept records `members`.
pub(super) fn check_node(records: &[Record], members: impl Iterator<Item = usize>) -> (NodeFacts, Option<Violation>) {
    let mut cnames = FirstTwo::default();
    let mut dnames = FirstTwo::default();
    let mut other: Option<usize> = None;
    let mut node_facts = NodeFacts { first: u32::MAX, has_address: false, has_ns: false, dname: None };
    for record in members {
        node_facts.first = node_facts.first.min(record as u32);
        match records[record].rtype {
            RType::CNAME => cnames.add(record),
            RType::DNAME => dnames.add(record),
            // RFC 4035 §2.5 and RFC 5155: signatures and denial records sit beside a CNAME.
            RType::RRSIG | RType::NSEC | RType::NSEC3 => {}
            rtype => {
                other = Some(other.map_or(record, |o| o.min(record)));
                node_facts.has_address |= matches!(rtype, RType::A | RType::AAAA);
                node_facts.has_ns |= rtype == RType::NS;
            }
        }
    }
    node_facts.dname = dnames.0.map(|d| d as u32);
    let clash = |a: usize, b: usize, what| (a.max(b), a.min(b), what);
    let violations = [
        cnames.0.zip(cnames.1).map(|(a, b)| clash(a, b, "more than one CNAME")),
        cnames.0.zip(dnames.0).map(|(a, b)| clash(a, b, "CNAME beside a DNAME")),
        cnames.0.zip(other).map(|(a, b)| clash(a, b, "CNAME and other data; a CNAME must stand alone")),
        // RFC 6672 §2.4: one redirection per name.
        dnames.0.zip(dnames.1).map(|(a, b)| clash(a, b, "more than one DNAME")),
    ];
    let worst = violations.into_iter().flatten().min_by_key(|v| v.0);
    (node_facts, worst)
}

/// CNAME and DNAME rules per node. On several violations the one whose
/// offending record comes first in the file is reported.
fn check_nodes(records: &[Record], index: &Index, keep: &[bool]) -> Result<Vec<NodeFacts>, ZoneError> {
    let mut facts = Vec::with_capacity(index.node_count());
    let mut worst: Option<Violation> = None;
    for node in index.nodes() {
        let members = node.iter().map(|&(_, record)| record).filter(|&record| keep[record]);
        let (node_facts, violation) = check_node(records, members);
        if let Some(violation) = violation {
            if worst.is_none_or(|(offender, _, _)| violation.0 < offender) {
                worst = Some(violation);
            }
        }
        facts.push(node_facts);
    }
    if let Some((offender, earlier, what)) = worst {
        let (r, other) = (&records[offender], &records[earlier]);
        let message =
            format!("{what} at {} ({} at {}, {} at {})", r.owner, other.rtype, other.location, r.rtype, r.location);
        return Err(error_at(r, message));
    }
    Ok(facts)
}

/// An NS target inside the zone must have addresses here, or resolvers
/// cannot reach the name server: below a delegation that is glue, at or
/// below the apex it is the only place the address can come from.
fn check_glue(records: &[Record], index: &Index, nodes: &[NodeFacts], keep: &[bool], apex: &Name, notes: &mut Notes) {
    for (record, r) in records.iter().enumerate().filter(|&(i, r)| keep[i] && r.rtype == RType::NS) {
        let Ok(target) = Name::from_wire(&r.rdata) else {
            continue;
        };
        if !target.is_subdomain_of(apex) {
            continue;
        }
        if !index.node(records, &target).is_some_and(|node| nodes[node].has_address) {
            notes.push((record, missing_glue(&target, r)));
        }
    }
}

pub(super) fn missing_glue(target: &Name, ns: &Record) -> String {
    format!("missing glue: NS target {target} of {} has no A or AAAA record in the zone", ns.owner)
}

pub(super) fn occluded(r: &Record, dname: &Record) -> String {
    format!("{} is below the DNAME at {} ({}) and is occluded", r.owner, dname.owner, dname.location)
}

/// Names below a DNAME are never reached: the DNAME rewrites every query
/// for them (RFC 6672 §2.3). Reported once per name, at its first record.
fn check_dname_occlusion(records: &[Record], nodes: &[NodeFacts], notes: &mut Notes) {
    let dnames: HashMap<Vec<u8>, usize> = nodes
        .iter()
        .filter_map(|node| node.dname)
        .map(|record| (records[record as usize].owner.to_lowercase().wire().to_vec(), record as usize))
        .collect();
    if dnames.is_empty() {
        return;
    }
    for node in nodes.iter().filter(|node| node.first != u32::MAX) {
        let r = &records[node.first as usize];
        if let Some(dname) = dname_above(&r.owner, |owner| dnames.get(owner).copied()) {
            notes.push((node.first as usize, occluded(r, &records[dname])));
        }
    }
}

/// The DNAME record above `owner`, found by `dnames` (a lowered owner's
/// wire form → its DNAME record): the nearest proper ancestor that has one.
pub(super) fn dname_above(owner: &Name, dnames: impl Fn(&[u8]) -> Option<usize>) -> Option<usize> {
    let lower = owner.to_lowercase();
    let wire = lower.wire();
    // Proper ancestors are the suffixes that start after the first label.
    let mut at = 0;
    while wire[at] != 0 {
        at += 1 + wire[at] as usize;
        if let Some(dname) = dnames(&wire[at..]) {
            return Some(dname);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::zone::{parse_str, Name, RType, Zone, ZoneError};

    const HEAD: &str =
        "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n";

    fn load(body: &str) -> Result<Zone, ZoneError> {
        parse_str(&format!("{HEAD}{body}"), "t.zone", None)
    }

    fn error(text: &str, origin: Option<&str>) -> String {
        let origin = origin.map(|o| Name::parse(o, None).unwrap().unwrap());
        parse_str(text, "t.zone", origin.as_ref()).unwrap_err().to_string()
    }

    #[test]
    fn a_clean_zone_has_no_warnings() {
        let zone = load("www A 198.18.0.1\n").unwrap();
        assert_eq!(zone.origin, Name::parse("example.com.", None).unwrap().unwrap());
        assert_eq!(zone.records.len(), 4);
        assert!(zone.warnings.is_empty(), "{:?}", zone.warnings);
    }

    #[test]
    fn soa_must_exist_once_at_the_apex() {
        assert_eq!(error("$ORIGIN example.com.\n$TTL 1\n@ NS ns1\n", None), "t.zone: no SOA record");
        let two = format!("{HEAD}@ SOA ns2 hostmaster 2 1 1 1 1\n");
        assert_eq!(
            error(&two, None),
            "t.zone:6: a second SOA record (the first is at t.zone:3); a zone has exactly one"
        );
        assert_eq!(
            error(HEAD, Some("example.org.")),
            "t.zone:3: SOA owner example.com. is not the zone apex example.org."
        );
        let below = "$ORIGIN example.com.\n$TTL 1\nsub SOA ns1 h 1 1 1 1 1\nsub NS ns1\n";
        assert_eq!(
            error(below, Some("example.com.")),
            "t.zone:3: SOA owner sub.example.com. is not the zone apex example.com."
        );
    }

    #[test]
    fn apex_needs_ns() {
        let text = "$ORIGIN example.com.\n$TTL 1\n@ SOA ns1 h 1 1 1 1 1\nwww NS ns1\nns1 A 198.18.0.1\n";
        assert_eq!(error(text, None), "t.zone:3: no NS records at the zone apex example.com.");
    }

    #[test]
    fn data_outside_the_zone_is_an_error() {
        let text = format!("{HEAD}www.example.org. A 198.18.0.1\n");
        assert_eq!(error(&text, None), "t.zone:6: www.example.org. is outside the zone example.com.");
        let text = format!("{HEAD}badexample.com. A 198.18.0.1\n");
        assert_eq!(error(&text, None), "t.zone:6: badexample.com. is outside the zone example.com.");
    }

    #[test]
    fn cname_must_stand_alone() {
        let err = load("www A 198.18.0.1\nwww CNAME other\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "t.zone:7: CNAME and other data; a CNAME must stand alone at www.example.com. (A at t.zone:6, CNAME at t.zone:7)"
        );
        let err = load("www CNAME other\nwww TXT x\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:7: CNAME and other data"), "{err}");
        let err = load("www CNAME a\nwww CNAME b\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:7: more than one CNAME at www.example.com."), "{err}");
        let err = load("@ CNAME www\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:6: CNAME and other data"), "{err}");
        // The same CNAME twice is a duplicate, not a second CNAME.
        assert_eq!(load("www CNAME a\nwww CNAME a\n").unwrap().records.len(), 4);
    }

    #[test]
    fn the_earliest_offending_record_is_reported() {
        let err = load("b A 198.18.0.1\na CNAME x\na TXT y\nb CNAME z\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:8: CNAME and other data; a CNAME must stand alone at a.example.com."), "{err}");
    }

    #[test]
    fn a_signed_zone_loads_without_a_warning() {
        // Its answers carry the RRSIGs and denial proofs (table/denial.rs),
        // so there is nothing to warn of: the warning that they did not is gone.
        let zone = load("@ DNSKEY 257 3 13 AQID\n@ DNSKEY 256 3 13 AQID\nwww A 198.18.0.1\n").unwrap();
        assert!(zone.warnings.is_empty(), "{:?}", zone.warnings);
        assert_eq!(zone.records.iter().filter(|r| r.rtype == RType::DNSKEY).count(), 2);
    }

    #[test]
    fn dnssec_records_may_sit_beside_a_cname() {
        let zone =
            load("www CNAME a\nwww RRSIG CNAME 13 3 3600 1 0 1 example.com. AQID\nwww NSEC z CNAME RRSIG NSEC\n")
                .unwrap();
        assert_eq!(zone.records.len(), 6);
    }

    #[test]
    fn dname_and_cname_conflict() {
        let err = load("x CNAME a\nx DNAME b\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:7: CNAME beside a DNAME at x.example.com."), "{err}");
        let err = load("x DNAME b\nx CNAME a\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:7: CNAME beside a DNAME at x.example.com."), "{err}");
        let err = load("x DNAME a\nx DNAME b\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:7: more than one DNAME"), "{err}");
    }

    #[test]
    fn class_other_than_in_is_an_error() {
        let err = load("txt CH TXT x\n").unwrap_err().to_string();
        assert_eq!(err, "t.zone:6: class CH is not supported: only IN data can be served");
    }

    #[test]
    fn check_rejects_non_in_records_it_is_given() {
        let mut zone = load("").unwrap();
        zone.records[2].class = crate::zone::class::CH;
        let mut warnings = Vec::new();
        let result = super::check(zone.records, None, "t.zone", &mut warnings);
        let err = result.err().expect("a CH record must be refused").to_string();
        assert_eq!(err, "t.zone:5: class CH is not supported: only IN data can be served");
    }

    #[test]
    fn missing_glue_is_a_warning() {
        let zone = load("child NS ns.child\nchild NS ns.elsewhere.net.\n@ NS ns2\n").unwrap();
        assert_eq!(
            zone.warnings,
            vec![
                "t.zone:6: missing glue: NS target ns.child.example.com. of child.example.com. has no A or AAAA record in the zone",
                "t.zone:8: missing glue: NS target ns2.example.com. of example.com. has no A or AAAA record in the zone",
            ]
        );
        let glued = load("child NS ns.child\nns.child AAAA fd00::53\n").unwrap();
        assert!(glued.warnings.is_empty(), "{:?}", glued.warnings);
    }

    #[test]
    fn names_below_a_dname_are_occluded() {
        let zone = load("old DNAME new.example.net.\nwww.old A 198.18.0.1\nwww.old TXT x\na.b.old TXT y\nold TXT ok\n")
            .unwrap();
        assert_eq!(
            zone.warnings,
            vec![
                "t.zone:7: www.old.example.com. is below the DNAME at old.example.com. (t.zone:6) and is occluded",
                "t.zone:9: a.b.old.example.com. is below the DNAME at old.example.com. (t.zone:6) and is occluded",
            ]
        );
    }

    #[test]
    fn rrset_ttl_mismatch_takes_the_first_ttl() {
        let zone = load("www 300 A 198.18.0.1\nwww 600 A 198.18.0.2\nwww 900 TXT x\n").unwrap();
        assert_eq!(
            zone.warnings,
            vec!["t.zone:7: TTL 600 of this A record at www.example.com. differs from TTL 300 of its RRset at t.zone:6; using 300"]
        );
        let ttls: Vec<(RType, u32)> = zone.records[3..].iter().map(|r| (r.rtype, r.ttl)).collect();
        assert_eq!(ttls, vec![(RType::A, 300), (RType::A, 300), (RType::TXT, 900)]);
        // RRSIGs covering different types are different RRsets.
        let signed = load(
            "www 300 RRSIG A 13 3 300 1 0 1 example.com. AQID\nwww 900 RRSIG TXT 13 3 900 1 0 1 example.com. AQID\n",
        )
        .unwrap();
        assert!(signed.warnings.is_empty(), "{:?}", signed.warnings);
    }

    #[test]
    fn exact_duplicates_are_removed_silently() {
        let zone = load("www A 198.18.0.1\nWWW A 198.18.0.1\nwww A 198.18.0.2\nwww A 198.18.0.1\n").unwrap();
        assert!(zone.warnings.is_empty(), "{:?}", zone.warnings);
        let lines: Vec<usize> = zone.records.iter().map(|r| r.location.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 8]);
        // The same record with another TTL is reported, then dropped.
        let zone = load("www A 198.18.0.1\nwww 60 A 198.18.0.1\n").unwrap();
        assert_eq!(zone.records.len(), 4);
        assert_eq!(zone.warnings.len(), 1, "{:?}", zone.warnings);
    }
}
