//! An overlay over its base answers every query exactly as a table compiled
//! from scratch from the changed zones: random zones, random change sets
//! (adds, deletes, wildcards, CNAME chains in and across zones, MX targets,
//! empty non-terminals appearing and going, apex data), every name of
//! either version plus names that exist in neither, byte for byte. Change
//! sets the overlay does not take (SOA, delegations, glue) must fall back,
//! and the full compile from the index must then answer as the fresh one.

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::select;

use super::*;
use crate::engine::proptests::QuerySpec;
use crate::engine::{answer_message, Engine, Options, Transport};
use crate::transfer::inbound::apply as ixfr;
use crate::transfer::inbound::message::WireRecord;
use crate::transfer::inbound::stream::Diff;
use crate::transfer::inbound::zone_text;
use crate::zone::{parse_str, Record, Zone};

const HEAD_COM: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nsub NS ns.sub\nns.sub A 192.0.2.54\nother NS ns1.example.net.\n";
const HEAD_NET: &str =
    "$ORIGIN example.net.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 60\n@ NS ns1\nns1 A 198.51.100.53\n";

/// A zone's head at SOA version `v`: version 0 is the one above; each
/// later one has serial 1 + v, and every third a lower MINIMUM (which
/// changes the TTL of the SOA in negative answers).
fn head(zone: usize, v: u32) -> String {
    let text = if zone == 0 { HEAD_COM } else { HEAD_NET };
    if v == 0 {
        return text.to_string();
    }
    let minimum = if zone == 0 { 300 } else { 60 };
    let minimum = if v.is_multiple_of(3) { minimum / 2 } else { minimum };
    let old = format!("1 7200 3600 1209600 {}", if zone == 0 { 300 } else { 60 });
    text.replace(&old, &format!("{} 7200 3600 1209600 {minimum}", 1 + v))
}

/// Owners of data records (relative to the zone), wildcards included.
const DATA: &[&str] = &["@", "a", "b.a", "c", "x.c", "*.w", "d.w", "*", "m", "deep.e.f", "g.deep.e.f", "*.x.c"];
/// Owners of CNAMEs only (a CNAME has no other data beside it).
const CNAMES: &[&str] = &["c1", "c2", "c3.a", "*.cw", "k.e.f"];
/// CNAME and MX targets: names with data, CNAMEs, wildcard matches,
/// missing names, names below the cut, the other zone, outside both.
const TARGETS: &[&str] = &[
    "a.example.com.",
    "b.a.example.com.",
    "c1.example.com.",
    "c2.example.com.",
    "c3.a.example.com.",
    "q.w.example.com.",
    "d.w.example.com.",
    "y.x.c.example.com.",
    "z.cw.example.com.",
    "nope.example.com.",
    "e.f.example.com.",
    "deep.e.f.example.com.",
    "z.sub.example.com.",
    "m.example.com.",
    "www.example.net.",
    "nope.example.net.",
    "mail.example.net.",
    "elsewhere.test.",
];
/// Names of the other zone.
const NET: &[&str] = &["www", "mail", "*.wild", "alias"];

#[derive(Debug, Clone)]
struct Line {
    zone: usize,
    text: String,
}

fn data_line() -> impl Strategy<Value = Line> {
    let rdata = prop_oneof![
        (1u8..4).prop_map(|n| format!("A 192.0.2.{n}")),
        (1u8..3).prop_map(|n| format!("AAAA 2001:db8::{n}")),
        (1u8..3).prop_map(|n| format!("TXT \"t{n}\"")),
        select(TARGETS).prop_map(|t| format!("MX 10 {t}")),
    ];
    (select(DATA), rdata).prop_map(|(o, r)| Line { zone: 0, text: format!("{o} {r}") })
}

fn cname_line() -> impl Strategy<Value = Line> {
    (select(CNAMES), select(TARGETS)).prop_map(|(o, t)| Line { zone: 0, text: format!("{o} CNAME {t}") })
}

fn net_line() -> impl Strategy<Value = Line> {
    let rdata = prop_oneof![
        (1u8..3).prop_map(|n| format!("A 198.51.100.{n}")),
        select(TARGETS).prop_map(|t| format!("CNAME {t}")),
    ];
    (select(NET), rdata).prop_map(|(o, r)| Line { zone: 1, text: format!("{o} {r}") })
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![5 => data_line(), 2 => cname_line(), 1 => net_line()]
}

/// Lines that make the overlay fall back, now and then.
fn rare_line() -> impl Strategy<Value = Line> {
    prop_oneof![
        Just(Line { zone: 0, text: "@ SOA ns1 hostmaster 2 7200 3600 1209600 300".into() }),
        Just(Line { zone: 0, text: "a NS ns1".into() }),
        Just(Line { zone: 0, text: "ns.sub A 192.0.2.99".into() }),
        Just(Line { zone: 0, text: "x.sub A 192.0.2.98".into() }),
    ]
}

/// One change set: which of the current lines go, lines to add, and
/// which zones' SOA numbers change (as every IXFR and most reloads do).
#[derive(Debug, Clone)]
struct Step {
    delete: Vec<proptest::sample::Index>,
    add: Vec<Line>,
    bump: [bool; 2],
}

fn step() -> impl Strategy<Value = Step> {
    let add = prop_oneof![20 => line(), 1 => rare_line()];
    (
        proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
        proptest::collection::vec(add, 0..5),
        [proptest::bool::weighted(0.6), proptest::bool::weighted(0.3)],
    )
        .prop_map(|(delete, add, bump)| Step { delete, add, bump })
}

/// The zones the lines make at SOA versions `soa`, `None` when the zone
/// checks refuse them (a CNAME beside other data, say).
fn zones(lines: &[Line], soa: [u32; 2]) -> Option<Vec<Zone>> {
    let mut out = Vec::new();
    for (zi, &serial) in soa.iter().enumerate() {
        let mut text = head(zi, serial);
        for l in lines.iter().filter(|l| l.zone == zi) {
            text.push_str(&l.text);
            text.push('\n');
        }
        out.push(parse_str(&text, "t.zone", None).ok()?);
    }
    Some(out)
}

/// Every name either version holds, their ancestors, and names in neither.
fn query_names(a: &[Zone], b: &[Zone]) -> Vec<String> {
    let mut names: HashSet<String> = HashSet::new();
    for z in a.iter().chain(b) {
        for r in &z.records {
            let mut n = Some(r.owner.clone());
            while let Some(x) = n {
                names.insert(x.to_string());
                n = x.parent();
            }
        }
    }
    for t in TARGETS {
        names.insert(t.to_string());
    }
    for n in [
        "zz.y.x.c.example.com.",
        "p.q.w.example.com.",
        "a.b.a.example.com.",
        "nope.wild.example.net.",
        "r.e.f.example.com.",
    ] {
        names.insert(n.to_string());
    }
    let mut v: Vec<String> = names.into_iter().collect();
    v.sort();
    v
}

fn answers_agree(overlaid: &Engine, fresh: &Engine, names: &[String]) -> Result<(), TestCaseError> {
    let mut a = vec![0u8; 65535];
    let mut b = vec![0u8; 65535];
    for name in names {
        for qtype in [1u16, 28, 16, 15, 5, 2, 6, 43, 255, 10] {
            for edns in [None, Some((1232, false))] {
                let q = QuerySpec { edns, ..QuerySpec::new(name, qtype) }.encode();
                for transport in [Transport::Udp, Transport::Tcp] {
                    a[..q.len()].copy_from_slice(&q);
                    b[..q.len()].copy_from_slice(&q);
                    let x = answer_message(overlaid, &mut a, q.len(), transport).map(|n| a[..n].to_vec());
                    let y = answer_message(fresh, &mut b, q.len(), transport).map(|n| b[..n].to_vec());
                    prop_assert_eq!(x, y, "{} type {} {:?} {:?}", name, qtype, edns, transport);
                }
            }
        }
    }
    Ok(())
}

/// The change from `old` to `new`, zone by zone (one change set each).
fn changes(old: &[Zone], new: &[Zone]) -> Vec<Change> {
    old.iter().zip(new).enumerate().map(|(zi, (o, n))| Change::diff(zi, o, n)).collect()
}

/// Applies taken by the overlay and fallen back, over a whole run, and of
/// the overlaid ones those that changed the SOA.
#[derive(Default)]
struct Paths {
    overlaid: usize,
    fell_back: usize,
    soa_overlaid: usize,
}

/// How each version of the zones reaches the server.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    /// Edited files, read again.
    Reload,
    /// A secondary's copies: the first by AXFR, each next one as an IXFR
    /// of the difference applied to the copy held
    /// (`transfer::inbound::apply`), each checked as the zone's thread
    /// checks it (`zone::from_records`), which must give what writing it
    /// out as the copy's text and parsing that back gives.
    Transfer,
}

/// `records` of `zone` as a secondary takes them in (an AXFR's, or an
/// IXFR applied): checked as the zone's thread checks them, and the same
/// zone, warnings and error as their text written out and read back.
fn as_transferred(zone: &Zone, records: Vec<Record>) -> Option<Zone> {
    let text = zone_text::render(&zone.origin, &records, "test copy");
    let parsed = parse_str(&text, "copy.zone", Some(&zone.origin));
    let mut records = records;
    ixfr::locate(&mut records, "copy.zone");
    let direct = crate::zone::from_records(records, &zone.origin, "copy.zone");
    match (&parsed, &direct) {
        (Ok(p), Ok(d)) => {
            assert_eq!((&p.origin, &p.records, &p.warnings), (&d.origin, &d.records, &d.warnings), "{text}");
        }
        (Err(p), Err(d)) => assert_eq!(p.location, d.location, "{p} / {d}\n{text}"),
        _ => panic!("text: {:?}, records: {:?}\n{text}", parsed.err(), direct.err()),
    }
    direct.ok()
}

/// `next` as the IXFR from `held` (the copy held now) brings it: the
/// records one has and the other has not, removed and added, applied to
/// the copy (an SOA serial change is in every version here).
fn by_ixfr(held: &Zone, next: &Zone) -> Option<Zone> {
    let ours = zone_text::from_zone(&held.records);
    let theirs = zone_text::from_zone(&next.records);
    let serial = |z: &[WireRecord]| z.iter().find_map(|r| r.soa_serial());
    let missing = |from: &[WireRecord], other: &[WireRecord]| -> Vec<WireRecord> {
        let mut left: Vec<&WireRecord> = other.iter().collect();
        let mut out = Vec::new();
        for r in from {
            match left.iter().position(|o| *o == r) {
                Some(at) => {
                    left.swap_remove(at);
                }
                None => out.push(r.clone()),
            }
        }
        out
    };
    let diff = Diff {
        from: serial(&ours)?,
        to: serial(&theirs)?,
        removed: missing(&ours, &theirs),
        added: missing(&theirs, &ours),
    };
    let applied = ixfr::apply(&held.records, &[diff], "copy.zone").ok()?;
    let mut copy = as_transferred(next, applied.records)?;
    // Told which names the IXFR touched, or where their records are, the
    // reloader's comparison finds the same change as comparing every record.
    let held = Arc::new(held.clone());
    let full = Change::diff(0, &held, &copy);
    let names = applied.names;
    copy.derived = Some(crate::zone::Derived { from: Arc::downgrade(&held), names: names.clone(), at: None });
    let told = Change::diff(0, &held, &copy);
    assert_eq!((&told.deletes, &told.adds), (&full.deletes, &full.adds));
    copy.derived = Some(crate::zone::Derived { from: Arc::downgrade(&held), names, at: Some(applied.at) });
    let at = Change::diff(0, &held, &copy);
    assert_eq!((&at.deletes, &at.adds), (&full.deletes, &full.adds));
    copy.derived = None;
    Some(copy)
}

fn run_case(start: Vec<Line>, steps: Vec<Step>, paths: &mut Paths, via: Via) -> Result<(), TestCaseError> {
    let mut soa = [0u32; 2];
    let Some(mut base_zones) = zones(&start, soa) else { return Ok(()) };
    if via == Via::Transfer {
        let copies: Option<Vec<Zone>> = base_zones.iter().map(|z| as_transferred(z, z.records.clone())).collect();
        let Some(copies) = copies else { return Ok(()) };
        base_zones = copies;
    }
    let mut index = ZoneIndex::build(&base_zones);
    let mut engine = Engine::new(Table::compile(&base_zones).unwrap(), Options::default());
    let mut lines = start;
    let mut current = base_zones;
    for s in steps {
        let mut next_lines = lines.clone();
        let mut gone: Vec<usize> = s.delete.iter().map(|i| i.index(next_lines.len().max(1))).collect();
        gone.sort_unstable();
        gone.dedup();
        for i in gone.into_iter().rev() {
            if i < next_lines.len() {
                next_lines.remove(i);
            }
        }
        next_lines.extend(s.add);
        // A primary bumps the serial of every version it sends.
        let next_soa = [0, 1].map(|zi| soa[zi] + (s.bump[zi] || via == Via::Transfer) as u32);
        let Some(mut next) = zones(&next_lines, next_soa) else { continue };
        if via == Via::Transfer {
            let copies: Option<Vec<Zone>> = current.iter().zip(&next).map(|(held, n)| by_ixfr(held, n)).collect();
            let Some(copies) = copies else { continue };
            next = copies;
        }
        let fresh = Engine::new(Table::compile(&next).unwrap(), Options::default());
        let mut fell_back = false;
        for change in changes(&current, &next) {
            match apply(&mut index, engine.table(), engine.overlay(), &change) {
                Ok((overlay, _)) => {
                    paths.overlaid += 1;
                    if change.adds.iter().any(|r| r.rtype == RType::SOA) {
                        prop_assert!(!overlay.soa_patches().is_empty(), "an SOA change overlaid without a patch");
                        paths.soa_overlaid += 1;
                    }
                    engine = engine.with_overlay(Some(Arc::new(overlay)))
                }
                Err(Fallback::Compile(e)) => prop_assert!(false, "partial compile failed: {}", e),
                Err(_) => {
                    paths.fell_back += 1;
                    fell_back = true
                }
            }
        }
        if fell_back {
            // As the reload path does: the whole zone set, from the index.
            engine = Engine::new(Table::compile(&index.zones()).unwrap(), Options::default());
            index = ZoneIndex::build(&index.zones());
        }
        answers_agree(&engine, &fresh, &query_names(&current, &next))?;
        lines = next_lines;
        current = next;
        soa = next_soa;
    }
    Ok(())
}

#[test]
fn an_overlay_answers_as_a_fresh_compile() {
    overlays_answer_as_fresh_compiles(Via::Reload);
}

/// The same for a secondary's zones, each version an IXFR applied to the
/// copy held, as `Reloader::swap_secondaries` diffs and applies them.
#[test]
fn an_ixfr_applied_as_an_overlay_answers_as_a_fresh_compile() {
    overlays_answer_as_fresh_compiles(Via::Transfer);
}

fn overlays_answer_as_fresh_compiles(via: Via) {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(96);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
    let paths = std::cell::RefCell::new(Paths::default());
    let strategy = (proptest::collection::vec(line(), 0..24), proptest::collection::vec(step(), 1..4));
    let result = runner.run(&strategy, |(start, steps)| run_case(start, steps, &mut paths.borrow_mut(), via));
    if let Err(e) = result {
        panic!("{e}");
    }
    // Most change sets are ones the overlay takes: otherwise this checks
    // only the fallback.
    let paths = paths.into_inner();
    assert!(paths.overlaid > 4 * paths.fell_back, "{} overlaid, {} fell back", paths.overlaid, paths.fell_back);
    // And SOA changes are among them, not all fallen back.
    assert!(
        paths.soa_overlaid * 4 > paths.overlaid,
        "{} of {} overlaid with an SOA change",
        paths.soa_overlaid,
        paths.overlaid
    );
}

fn zone(text: &str) -> Zone {
    parse_str(text, "t.zone", None).unwrap()
}

#[test]
fn what_the_overlay_does_not_take_falls_back() {
    let base = zone(&format!("{HEAD_COM}a A 192.0.2.1\n"));
    let cases = [
        ("@ SOA ns2 hostmaster 2 7200 3600 1209600 300", Fallback::Soa),
        ("@ 600 SOA ns1 hostmaster 2 7200 3600 1209600 300", Fallback::Soa),
        ("a NS ns1", Fallback::Structure),
        ("ns.sub A 192.0.2.9", Fallback::BelowCut),
        ("x.sub A 192.0.2.7", Fallback::BelowCut),
    ];
    for (line, why) in cases {
        let mut text = format!("{HEAD_COM}a A 192.0.2.1\n{line}\n");
        if line.contains("SOA") {
            text = text.replace("@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n", "");
        }
        let new = zone(&text);
        let table = Table::compile(std::slice::from_ref(&base)).unwrap();
        let mut index = ZoneIndex::build(std::slice::from_ref(&base));
        let change = Change::diff(0, &base, &new);
        assert_eq!(apply(&mut index, &table, None, &change).err(), Some(why), "{line}");
    }
}

#[test]
fn a_signed_zone_falls_back() {
    let text = format!("{HEAD_COM}a A 192.0.2.1\na NSEC b A NSEC\n");
    let base = zone(&text);
    let new = zone(&format!("{text}b A 192.0.2.2\n"));
    let table = Table::compile(std::slice::from_ref(&base)).unwrap();
    let mut index = ZoneIndex::build(std::slice::from_ref(&base));
    assert_eq!(apply(&mut index, &table, None, &Change::diff(0, &base, &new)).err(), Some(Fallback::Signed));
}

#[test]
fn an_overlay_holds_only_what_the_change_reaches() {
    let mut text = HEAD_COM.to_string();
    for i in 0..500 {
        text.push_str(&format!("h{i} A 192.0.2.1\n"));
    }
    let base = zone(&text);
    let new = zone(&format!("{text}n.new A 192.0.2.2\nc1 CNAME h7\n"));
    let table = Table::compile(std::slice::from_ref(&base)).unwrap();
    let mut index = ZoneIndex::build(std::slice::from_ref(&base));
    let (overlay, applied) = apply(&mut index, &table, None, &Change::diff(0, &base, &new)).unwrap();
    // n.new, its empty non-terminal new, and c1.
    assert_eq!((applied.compiled, applied.removed), (3, 0));
    assert_eq!(overlay.len(), (3, 0));
}

/// Readers answering while change sets are applied and swapped in see
/// one change set or the next, never part of one: each set moves two
/// names (and a CNAME to one of them) to the same new address, and a
/// reader asks all three from the engine it holds.
#[test]
fn readers_never_see_half_a_change() {
    use crate::engine::live::SharedEngine;
    let head = format!("{HEAD_COM}a A 10.0.0.0\nb A 10.0.0.0\nc1 CNAME b\n");
    let base = zone(&head);
    let table = Table::compile(std::slice::from_ref(&base)).unwrap();
    let mut index = ZoneIndex::build(std::slice::from_ref(&base));
    let shared = SharedEngine::new(Engine::new(table, Options::default()));
    let done = std::sync::atomic::AtomicBool::new(false);
    let address = |engine: &Engine, name: &str| -> Vec<u8> {
        let mut buf = vec![0u8; 512];
        let q = QuerySpec::new(name, 1).encode();
        buf[..q.len()].copy_from_slice(&q);
        let n = answer_message(engine, &mut buf, q.len(), Transport::Udp).unwrap();
        buf[n - 4..n].to_vec()
    };
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut local = shared.local();
            let mut seen = std::collections::BTreeSet::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let engine = local.current();
                let a = address(engine, "a.example.com.");
                let b = address(engine, "b.example.com.");
                let c = address(engine, "c1.example.com.");
                assert!(a == b && b == c, "a mixed state: {a:?} {b:?} {c:?}");
                seen.insert(a);
            }
            seen.len()
        });
        let mut old = 0u8;
        for step in 1..=100u8 {
            let rec = |name: &str, x: u8| {
                let text = format!("{HEAD_COM}{name} A 10.0.0.{x}\n");
                zone(&text).records.into_iter().find(|r| r.rtype == RType::A && r.rdata[0] == 10).unwrap()
            };
            let change = Change {
                zone: 0,
                deletes: vec![rec("a", old), rec("b", old)],
                adds: vec![rec("a", step), rec("b", step)],
            };
            let current = shared.load();
            let (overlay, _) = apply(&mut index, current.table(), current.overlay(), &change).unwrap();
            shared.replace(current.with_overlay(Some(Arc::new(overlay))));
            old = step;
            std::thread::yield_now();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = reader.join().unwrap();
        assert!(seen >= 1);
    });
    let last = shared.load();
    assert_eq!(address(&last, "c1.example.com."), vec![10, 0, 0, 100]);
}

/// The first case the property test found: a CNAME added towards a name
/// that exists only as an empty non-terminal (its witness must make it
/// exist in the partial compile, or the CNAME's answer says NXDOMAIN).
#[test]
fn a_cname_to_an_empty_non_terminal() {
    let text = format!("{HEAD_COM}g.deep.e.f A 192.0.2.1\n");
    let base = zone(&text);
    let new = zone(&format!("{text}c1 CNAME e.f.example.com.\n"));
    let engine = Engine::new(Table::compile(std::slice::from_ref(&base)).unwrap(), Options::default());
    let mut index = ZoneIndex::build(std::slice::from_ref(&base));
    let (overlay, _) = apply(&mut index, engine.table(), None, &Change::diff(0, &base, &new)).unwrap();
    let overlaid = engine.with_overlay(Some(Arc::new(overlay)));
    let fresh = Engine::new(Table::compile(std::slice::from_ref(&new)).unwrap(), Options::default());
    let names: Vec<String> = ["c1.example.com.", "e.f.example.com."].map(String::from).to_vec();
    answers_agree(&overlaid, &fresh, &names).unwrap();
}

/// A serial bump with a lower MINIMUM, overlaid: the SOA query, a NODATA
/// and an NXDOMAIN (base templates, old numbers) answer with the new SOA
/// and negative TTL, as a fresh compile does, and through the frame path
/// with a UDP checksum that still verifies after the rewrite.
#[test]
fn an_soa_bump_is_patched_into_base_answers_with_their_checksums() {
    use testkit::frames::{udp_checksum_verifies, FrameSpec, Network};
    let body = "a A 192.0.2.1\nb A 192.0.2.2\n";
    let base = zone(&format!("{}{body}", head(0, 0)));
    let new = zone(&format!("{}{body}b A 192.0.2.3\n", head(0, 3)));
    let engine = Engine::new(Table::compile(std::slice::from_ref(&base)).unwrap(), Options::default());
    let mut index = ZoneIndex::build(std::slice::from_ref(&base));
    let (overlay, _) = apply(&mut index, engine.table(), None, &Change::diff(0, &base, &new)).unwrap();
    assert_eq!(overlay.soa_patches().len(), 1);
    assert_eq!(overlay.soa_patches()[0].negative_ttl, 150);
    let overlaid = engine.with_overlay(Some(Arc::new(overlay)));
    let fresh = Engine::new(Table::compile(std::slice::from_ref(&new)).unwrap(), Options::default());
    let names: Vec<String> =
        ["example.com.", "a.example.com.", "nope.example.com.", "x.b.example.com."].map(String::from).to_vec();
    answers_agree(&overlaid, &fresh, &names).unwrap();
    let (src, dst) = ([198, 18, 0, 2], [198, 18, 0, 53]);
    for (name, qtype) in [("a.example.com.", 28), ("nope.example.com.", 1), ("example.com.", 6)] {
        let query = QuerySpec::new(name, qtype).encode();
        let network = Network::V4 { src, dst, options: vec![], no_udp_checksum: false };
        let frame = FrameSpec::simple(network, vec![]).build(&query);
        let mut buf = vec![0u8; 2048];
        buf[..frame.len()].copy_from_slice(&frame);
        let capacity = buf.len();
        let crate::engine::Verdict::Transmit(n) =
            crate::engine::answer_in_place(&overlaid, &mut buf, frame.len(), capacity)
        else {
            panic!("{name} not answered")
        };
        let udp = &buf[14 + 20..n];
        assert!(udp_checksum_verifies(&dst, &src, udp), "{name} type {qtype}: UDP checksum");
        let mut expected = vec![0u8; 512];
        expected[..query.len()].copy_from_slice(&query);
        let len = answer_message(&fresh, &mut expected, query.len(), Transport::Udp).unwrap();
        assert_eq!(&udp[8..], &expected[..len], "{name} type {qtype}");
    }
}
