//! Semantic checks on a parsed zone, after Knot's `semantic-checks`.
//!
//! Errors make the zone unservable (no SOA, CNAME beside data, data outside
//! the zone...). Warnings are kept for the operator: missing glue, names
//! occluded by a DNAME, RRsets whose TTLs disagree (fixed to the first TTL,
//! as Knot does, since an RRset has one TTL on the wire — RFC 2181 §5.2).

use std::collections::{HashMap, HashSet};

use super::name::Name;
use super::record::{Location, Record};
use super::rtype::{class, RType};
use super::ZoneError;

/// A checked zone: its apex and its records, duplicates removed.
pub struct Checked {
    pub apex: Name,
    pub records: Vec<Record>,
}

/// Checks `records` read from `file`. `origin` is the zone name the caller
/// expects, if any; otherwise the SOA owner is the apex.
pub fn check(
    records: Vec<Record>,
    origin: Option<&Name>,
    file: &str,
    warnings: &mut Vec<String>,
) -> Result<Checked, ZoneError> {
    check_classes(&records)?;
    let apex = find_apex(&records, origin, file)?;
    check_in_zone(&records, &apex)?;
    // TTLs first, so that a record repeated with another TTL is reported
    // before it is dropped as a duplicate.
    let ttl_fixes = check_rrset_ttls(&records, warnings);
    let keep = unique(&records);
    let nodes = check_nodes(&records, &keep, &apex)?;
    check_glue(&records, &keep, &apex, &nodes, warnings);
    check_dname_occlusion(&records, &keep, &nodes, warnings);
    drop(nodes);

    let mut records = records;
    for (index, ttl) in ttl_fixes {
        records[index].ttl = ttl;
    }
    let mut keep = keep.into_iter();
    records.retain(|_| keep.next().unwrap_or(false));
    Ok(Checked { apex, records })
}

fn error_at(record: &Record, message: String) -> ZoneError {
    ZoneError {
        location: Some(record.location.clone()),
        message,
    }
}

fn warn(warnings: &mut Vec<String>, location: &Location, message: String) {
    warnings.push(format!("{location}: {message}"));
}

fn check_classes(records: &[Record]) -> Result<(), ZoneError> {
    match records.iter().find(|r| r.class != class::IN) {
        Some(r) => {
            let message = format!(
                "class {} is not supported: only IN data can be served",
                class::to_text(r.class)
            );
            Err(error_at(r, message))
        }
        None => Ok(()),
    }
}

fn find_apex(records: &[Record], origin: Option<&Name>, file: &str) -> Result<Name, ZoneError> {
    let mut soas = records.iter().filter(|r| r.rtype == RType::SOA);
    let Some(soa) = soas.next() else {
        return Err(ZoneError {
            location: None,
            message: format!("{file}: no SOA record"),
        });
    };
    if let Some(second) = soas.next() {
        let message = format!(
            "a second SOA record (the first is at {}); a zone has exactly one",
            soa.location
        );
        return Err(error_at(second, message));
    }
    match origin {
        Some(origin) if soa.owner != *origin => Err(error_at(
            soa,
            format!("SOA owner {} is not the zone apex {origin}", soa.owner),
        )),
        _ => Ok(soa.owner.clone()),
    }
}

fn check_in_zone(records: &[Record], apex: &Name) -> Result<(), ZoneError> {
    match records.iter().find(|r| !r.owner.is_subdomain_of(apex)) {
        Some(r) => Err(error_at(
            r,
            format!("{} is outside the zone {apex}", r.owner),
        )),
        None => Ok(()),
    }
}

/// Which records to keep: the first of each set of exact duplicates
/// (same owner, type and RDATA octets; TTLs are already made equal).
fn unique(records: &[Record]) -> Vec<bool> {
    let mut seen: HashSet<(&Name, RType, &[u8])> = HashSet::with_capacity(records.len());
    records
        .iter()
        .map(|r| seen.insert((&r.owner, r.rtype, &r.rdata)))
        .collect()
}

/// What the checks need to know about one owner name: indices of the
/// first record of each interesting kind.
#[derive(Default)]
struct Node {
    cname: Option<usize>,
    dname: Option<usize>,
    /// First record other than CNAME and the DNSSEC types allowed beside it.
    other_data: Option<usize>,
    has_address: bool,
    has_ns: bool,
}

fn check_nodes<'r>(
    records: &'r [Record],
    keep: &[bool],
    apex: &Name,
) -> Result<HashMap<&'r Name, Node>, ZoneError> {
    let mut nodes: HashMap<&Name, Node> = HashMap::new();
    for (index, r) in records.iter().enumerate().filter(|&(i, _)| keep[i]) {
        let node = nodes.entry(&r.owner).or_default();
        let conflict = |other: usize, what: &str| {
            let other = &records[other];
            let message = format!(
                "{what} at {} ({} at {}, {} at {})",
                r.owner, other.rtype, other.location, r.rtype, r.location
            );
            Err(error_at(r, message))
        };
        match r.rtype {
            RType::CNAME => {
                if let Some(first) = node.cname {
                    return conflict(first, "more than one CNAME");
                }
                if let Some(first) = node.other_data {
                    return conflict(first, "CNAME and other data; a CNAME must stand alone");
                }
                node.cname = Some(index);
            }
            // RFC 4035 §2.5 and RFC 5155: signatures and denial records sit beside a CNAME.
            RType::RRSIG | RType::NSEC | RType::NSEC3 => {}
            _ => {
                if let Some(first) = node.cname {
                    let what = if r.rtype == RType::DNAME {
                        "DNAME beside a CNAME"
                    } else {
                        "CNAME and other data; a CNAME must stand alone"
                    };
                    return conflict(first, what);
                }
                if r.rtype == RType::DNAME {
                    // RFC 6672 §2.4: one redirection per name.
                    if let Some(first) = node.dname {
                        return conflict(first, "more than one DNAME");
                    }
                    node.dname = Some(index);
                }
                node.other_data.get_or_insert(index);
                node.has_address |= matches!(r.rtype, RType::A | RType::AAAA);
                node.has_ns |= r.rtype == RType::NS;
            }
        }
    }
    if !nodes.get(apex).is_some_and(|n| n.has_ns) {
        let soa = records
            .iter()
            .find(|r| r.rtype == RType::SOA)
            .expect("find_apex found one");
        return Err(error_at(
            soa,
            format!("no NS records at the zone apex {apex}"),
        ));
    }
    Ok(nodes)
}

/// An RRset has one TTL: later records that disagree take the first one's.
/// Returns the (record index, TTL) corrections to apply.
fn check_rrset_ttls(records: &[Record], warnings: &mut Vec<String>) -> Vec<(usize, u32)> {
    // RRSIGs form one RRset per covered type, each with that type's TTL (RFC 4035 §2.2).
    let covered = |r: &Record| match (r.rtype, r.rdata.get(..2)) {
        (RType::RRSIG, Some(&[high, low])) => u16::from_be_bytes([high, low]),
        _ => 0,
    };
    let mut first_ttl: HashMap<(&Name, RType, u16), usize> = HashMap::with_capacity(records.len());
    let mut fixes = Vec::new();
    for (index, r) in records.iter().enumerate() {
        let first = *first_ttl
            .entry((&r.owner, r.rtype, covered(r)))
            .or_insert(index);
        let first = &records[first];
        if first.ttl != r.ttl {
            let message = format!(
                "TTL {} of this {} record at {} differs from TTL {} of its RRset at {}; using {}",
                r.ttl, r.rtype, r.owner, first.ttl, first.location, first.ttl
            );
            warn(warnings, &r.location, message);
            fixes.push((index, first.ttl));
        }
    }
    fixes
}

/// An NS target inside the zone must have addresses here, or resolvers
/// cannot reach the name server: below a delegation that is glue, at or
/// below the apex it is the only place the address can come from.
fn check_glue(
    records: &[Record],
    keep: &[bool],
    apex: &Name,
    nodes: &HashMap<&Name, Node>,
    warnings: &mut Vec<String>,
) {
    for (_, r) in records
        .iter()
        .enumerate()
        .filter(|&(i, r)| keep[i] && r.rtype == RType::NS)
    {
        let Ok(target) = Name::from_wire(&r.rdata) else {
            continue;
        };
        if !target.is_subdomain_of(apex) {
            continue;
        }
        if !nodes.get(&target).is_some_and(|n| n.has_address) {
            let message = format!(
                "missing glue: NS target {target} of {} has no A or AAAA record in the zone",
                r.owner
            );
            warn(warnings, &r.location, message);
        }
    }
}

/// Names below a DNAME are never reached: the DNAME rewrites every query
/// for them (RFC 6672 §2.3). Reported once per name.
fn check_dname_occlusion(
    records: &[Record],
    keep: &[bool],
    nodes: &HashMap<&Name, Node>,
    warnings: &mut Vec<String>,
) {
    let dnames: HashMap<Vec<u8>, usize> = nodes
        .iter()
        .filter_map(|(name, node)| node.dname.map(|i| (name.to_lowercase().wire().to_vec(), i)))
        .collect();
    if dnames.is_empty() {
        return;
    }
    let mut reported: HashSet<&Name> = HashSet::new();
    for (_, r) in records.iter().enumerate().filter(|&(i, _)| keep[i]) {
        let lower = r.owner.to_lowercase();
        let wire = lower.wire();
        // Proper ancestors are the suffixes that start after the first label.
        let mut at = 0;
        while wire[at] != 0 {
            at += 1 + wire[at] as usize;
            let Some(&dname) = dnames.get(&wire[at..]) else {
                continue;
            };
            if reported.insert(&r.owner) {
                let dname = &records[dname];
                let message = format!(
                    "{} is below the DNAME at {} ({}) and is occluded",
                    r.owner, dname.owner, dname.location
                );
                warn(warnings, &r.location, message);
            }
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::zone::{parse_str, Name, RType, Zone, ZoneError};

    const HEAD: &str = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n";

    fn load(body: &str) -> Result<Zone, ZoneError> {
        parse_str(&format!("{HEAD}{body}"), "t.zone", None)
    }

    fn error(text: &str, origin: Option<&str>) -> String {
        let origin = origin.map(|o| Name::parse(o, None).unwrap().unwrap());
        parse_str(text, "t.zone", origin.as_ref())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_clean_zone_has_no_warnings() {
        let zone = load("www A 198.18.0.1\n").unwrap();
        assert_eq!(
            zone.origin,
            Name::parse("example.com.", None).unwrap().unwrap()
        );
        assert_eq!(zone.records.len(), 4);
        assert!(zone.warnings.is_empty(), "{:?}", zone.warnings);
    }

    #[test]
    fn soa_must_exist_once_at_the_apex() {
        assert_eq!(
            error("$ORIGIN example.com.\n$TTL 1\n@ NS ns1\n", None),
            "t.zone: no SOA record"
        );
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
        let text =
            "$ORIGIN example.com.\n$TTL 1\n@ SOA ns1 h 1 1 1 1 1\nwww NS ns1\nns1 A 198.18.0.1\n";
        assert_eq!(
            error(text, None),
            "t.zone:3: no NS records at the zone apex example.com."
        );
    }

    #[test]
    fn data_outside_the_zone_is_an_error() {
        let text = format!("{HEAD}www.example.org. A 198.18.0.1\n");
        assert_eq!(
            error(&text, None),
            "t.zone:6: www.example.org. is outside the zone example.com."
        );
        let text = format!("{HEAD}badexample.com. A 198.18.0.1\n");
        assert_eq!(
            error(&text, None),
            "t.zone:6: badexample.com. is outside the zone example.com."
        );
    }

    #[test]
    fn cname_must_stand_alone() {
        let err = load("www A 198.18.0.1\nwww CNAME other\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "t.zone:7: CNAME and other data; a CNAME must stand alone at www.example.com. (A at t.zone:6, CNAME at t.zone:7)"
        );
        let err = load("www CNAME other\nwww TXT x\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.zone:7: CNAME and other data"), "{err}");
        let err = load("www CNAME a\nwww CNAME b\n").unwrap_err().to_string();
        assert!(
            err.starts_with("t.zone:7: more than one CNAME at www.example.com."),
            "{err}"
        );
        let err = load("@ CNAME www\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:6: CNAME and other data"), "{err}");
        // The same CNAME twice is a duplicate, not a second CNAME.
        assert_eq!(load("www CNAME a\nwww CNAME a\n").unwrap().records.len(), 4);
    }

    #[test]
    fn dnssec_records_may_sit_beside_a_cname() {
        let zone = load("www CNAME a\nwww RRSIG CNAME 13 3 3600 1 0 1 example.com. AQID\nwww NSEC z CNAME RRSIG NSEC\n").unwrap();
        assert_eq!(zone.records.len(), 6);
    }

    #[test]
    fn dname_and_cname_conflict() {
        let err = load("x CNAME a\nx DNAME b\n").unwrap_err().to_string();
        assert!(
            err.starts_with("t.zone:7: DNAME beside a CNAME at x.example.com."),
            "{err}"
        );
        let err = load("x DNAME b\nx CNAME a\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:7: CNAME and other data"), "{err}");
        let err = load("x DNAME a\nx DNAME b\n").unwrap_err().to_string();
        assert!(err.starts_with("t.zone:7: more than one DNAME"), "{err}");
    }

    #[test]
    fn class_other_than_in_is_an_error() {
        let err = load("txt CH TXT x\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "t.zone:6: class CH is not supported: only IN data can be served"
        );
    }

    #[test]
    fn check_rejects_non_in_records_it_is_given() {
        let mut zone = load("").unwrap();
        zone.records[2].class = crate::zone::class::CH;
        let mut warnings = Vec::new();
        let result = super::check(zone.records, None, "t.zone", &mut warnings);
        let err = result
            .err()
            .expect("a CH record must be refused")
            .to_string();
        assert_eq!(
            err,
            "t.zone:5: class CH is not supported: only IN data can be served"
        );
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
        let zone = load("old DNAME new.example.net.\nwww.old A 198.18.0.1\nwww.old TXT x\na.b.old TXT y\nold TXT ok\n").unwrap();
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
        assert_eq!(
            ttls,
            vec![(RType::A, 300), (RType::A, 300), (RType::TXT, 900)]
        );
        // RRSIGs covering different types are different RRsets.
        let signed = load("www 300 RRSIG A 13 3 300 1 0 1 example.com. AQID\nwww 900 RRSIG TXT 13 3 900 1 0 1 example.com. AQID\n").unwrap();
        assert!(signed.warnings.is_empty(), "{:?}", signed.warnings);
    }

    #[test]
    fn exact_duplicates_are_removed_silently() {
        let zone = load("www A 198.18.0.1\nWWW A 198.18.0.1\nwww A 198.18.0.2\nwww A 198.18.0.1\n")
            .unwrap();
        assert!(zone.warnings.is_empty(), "{:?}", zone.warnings);
        let lines: Vec<usize> = zone.records.iter().map(|r| r.location.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 8]);
        // The same record with another TTL is reported, then dropped.
        let zone = load("www A 198.18.0.1\nwww 60 A 198.18.0.1\n").unwrap();
        assert_eq!(zone.records.len(), 4);
        assert_eq!(zone.warnings.len(), 1, "{:?}", zone.warnings);
    }
}
