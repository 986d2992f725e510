//! The checks at the names an IXFR touched (`from_change`) against the
//! checks of every record (`from_records`): random copies and random
//! differences (data, delegations and glue, CNAMEs, DNAMEs and the names
//! below them, wildcards, the apex, DNSSEC types, TTLs that disagree,
//! records that break the checks) give the same zone, the same warnings
//! in the same order, and the same error; and the reloader's comparison at
//! those records finds the change that comparing every record finds.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::select;

use super::{from_change, from_records, parse_str, parser, reader, recheck, Derived, Name, RType, Record};
use crate::table::overlay::Change;
use crate::transfer::inbound::apply;
use crate::transfer::inbound::message::WireRecord;
use crate::transfer::inbound::stream::Diff;
use crate::transfer::inbound::zone_text;

const ORIGIN: &str = "example.com.";
const HEAD: &str =
    "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n";

const OWNERS: &[&str] = &[
    "@", "a", "A", "b.a", "ns1", "sub", "ns.sub", "x.sub", "d", "x.d", "y.x.d", "*.w", "q.w", "c", "C", "n", "deep.e.f",
];

fn rdata() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u8..4).prop_map(|n| format!("A 192.0.2.{n}")),
        2 => (1u8..3).prop_map(|n| format!("AAAA 2001:db8::{n}")),
        2 => (1u8..3).prop_map(|n| format!("TXT \"t{n}\"")),
        1 => select(&["ns1", "ns.sub", "ns.elsewhere.net.", "a", "nope", "x.d"][..]).prop_map(|t| format!("NS {t}")),
        1 => select(&["a", "c", "elsewhere.test.", "q.w"][..]).prop_map(|t| format!("CNAME {t}")),
        1 => select(&["example.net.", "b.a"][..]).prop_map(|t| format!("DNAME {t}")),
        1 => Just("MX 10 a".to_string()),
        1 => Just("RRSIG A 13 3 300 1 0 1 example.com. AQID".to_string()),
        1 => Just("NSEC b.example.com. A RRSIG NSEC".to_string()),
        1 => Just("DS 1 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_string()),
    ]
}

/// A zone file line; now and then one the checks refuse.
fn line() -> impl Strategy<Value = String> {
    let ttl = select(&["", "300 ", "600 "][..]);
    prop_oneof![
        30 => (select(OWNERS), ttl, rdata()).prop_map(|(o, t, r)| format!("{o} {t}{r}")),
        1 => Just("@ SOA ns1 hostmaster 9 7200 3600 1209600 300".to_string()),
        1 => Just("www.example.org. A 192.0.2.9".to_string()),
        1 => Just("a CH TXT \"chaos\"".to_string()),
    ]
}

/// Records as a zone file has them, not checked.
fn records(lines: &[String]) -> Option<Vec<Record>> {
    let origin = Name::parse(ORIGIN, None).ok()??;
    let text = format!("$ORIGIN {ORIGIN}\n$TTL 300\n{}\n", lines.join("\n"));
    let reader = reader::Reader::new(&reader::ReadLimits::default(), Path::new("."));
    let mut p = parser::Parser::new(Some(&origin), reader);
    p.parse(text.as_bytes(), "add.zone", Path::new(".")).ok()?;
    Some(p.finish().0)
}

fn wire(records: &[Record]) -> Vec<WireRecord> {
    zone_text::from_zone(records)
}

fn soa(serial: u32) -> WireRecord {
    let head = HEAD.replace("hostmaster 1 ", &format!("hostmaster {serial} "));
    let zone = parse_str(&head, "soa.zone", None).expect("the head loads");
    wire(&zone.records[..1]).remove(0)
}

#[derive(Debug, Clone)]
struct Step {
    remove: Vec<proptest::sample::Index>,
    add: Vec<String>,
    /// Also remove a record the copy does not hold (the IXFR is refused).
    stray: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
        proptest::collection::vec(line(), 0..5),
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(remove, add, stray)| Step { remove, add, stray })
}

/// How the cases went, so that the run is known to reach each way.
#[derive(Default, Debug)]
struct Reached {
    short: usize,
    full: usize,
    errors: usize,
    warnings: usize,
}

fn run(start: &[String], steps: &[Step], reached: &mut Reached) -> Result<(), TestCaseError> {
    let origin = Name::parse(ORIGIN, None).unwrap().unwrap();
    let Ok(zone) = parse_str(&format!("{HEAD}{}\n", start.join("\n")), "copy.zone", Some(&origin)) else {
        return Ok(());
    };
    let held = Arc::new(zone);
    let mut diffs = Vec::new();
    let mut current = wire(&held.records);
    for (serial, s) in (1..).zip(steps) {
        let Some(old_soa) = current.iter().find(|r| r.rtype == RType::SOA) else { return Ok(()) };
        let mut removed = vec![old_soa.clone()];
        for i in &s.remove {
            let r = &current[i.index(current.len())];
            if !removed.contains(r) {
                removed.push(r.clone());
            }
        }
        if s.stray {
            removed.extend(wire(&records(&["stray TXT \"not held\"".to_string()]).unwrap_or_default()));
        }
        let mut added = vec![soa(serial + 1)];
        added.extend(wire(&records(&s.add).unwrap_or_default()));
        current.retain(|r| !removed.contains(r));
        current.extend(added.iter().cloned());
        diffs.push(Diff { from: serial, to: serial + 1, removed, added });
    }
    let Ok(applied) = apply::apply(&held.records, &diffs, "ixfr.zone") else {
        return Ok(());
    };
    let touched: Vec<usize> =
        (0..applied.records.len()).filter(|&i| applied.names.contains(&applied.records[i].owner)).collect();
    prop_assert_eq!(&applied.at.after, &touched, "where the records at the names touched are");
    let before: Vec<&Record> = held.records.iter().filter(|r| applied.names.contains(&r.owner)).collect();
    prop_assert_eq!(applied.at.before.iter().collect::<Vec<_>>(), before);

    let short = recheck::recheck(&held, &applied.records, &applied.at, &origin).is_some();
    let derived = Derived { from: Arc::downgrade(&held), names: applied.names, at: Some(applied.at) };
    let told = from_change(&held, applied.records.clone(), derived, &origin, "ixfr.zone");
    let every = from_records(applied.records, &origin, "ixfr.zone");
    match (&told, &every) {
        (Ok(t), Ok(e)) => {
            prop_assert_eq!((&t.origin, &t.records, &t.warnings), (&e.origin, &e.records, &e.warnings));
            reached.warnings += usize::from(!t.warnings.is_empty());
        }
        (Err(t), Err(e)) => {
            prop_assert!(!short, "the short way took a zone the checks refuse: {}", e);
            prop_assert_eq!(t.to_string(), e.to_string());
            reached.errors += 1;
        }
        _ => prop_assert!(false, "told: {:?}, every record: {:?}", told.as_ref().err(), every.as_ref().err()),
    }
    if short {
        reached.short += 1;
    } else {
        reached.full += 1;
    }
    if let (Ok(told), Ok(every)) = (told, every) {
        // The reloader's comparison at the records it was told of.
        let by_records = Change::diff(0, &held, &told);
        let compared = Change::diff(0, &held, &every);
        prop_assert_eq!((&by_records.deletes, &by_records.adds), (&compared.deletes, &compared.adds));
    }
    Ok(())
}

#[test]
fn checks_at_the_names_touched_agree_with_checks_of_every_record() {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    let reached = std::cell::RefCell::new(Reached::default());
    // Often a DNAME and a glued delegation to start from: what the short
    // way must see at names it did not touch.
    let strategy = (
        proptest::collection::vec(line(), 0..16),
        proptest::bool::ANY,
        proptest::bool::ANY,
        proptest::collection::vec(step(), 1..3),
    );
    runner
        .run(&strategy, |(mut start, dname, glue, steps)| {
            if dname {
                start.push("d DNAME example.net.".to_string());
            }
            if glue {
                start.extend(["sub NS ns.sub".to_string(), "ns.sub A 192.0.2.54".to_string()]);
            }
            run(&start, &steps, &mut reached.borrow_mut())
        })
        .unwrap();
    let reached = reached.into_inner();
    // Each way is taken, often: the short way, the full check, errors, warnings.
    let share = cases as usize / 20;
    assert!(reached.short >= share && reached.full >= share, "{reached:?}");
    assert!(reached.errors >= share / 4 && reached.warnings >= share / 4, "{reached:?}");
}
