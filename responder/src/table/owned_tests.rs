//! `compile_owned` (the records dropped before the table is written, the
//! compiler reading a copy of their RDATA), writing into a file as
//! `responder compile` does (`TableBuf::in_file`), writes the bytes and
//! gives the warnings, `file:line` included, that the compile of kept
//! zones into memory does; so it does with the records handed over a few
//! at a time, each run dropped before the next is read; and it leaves no
//! file when it fails.

use std::fmt::Write;

use super::compile::{compile, compile_owned, compile_owned_in_runs, in_runs, CompileError};
use super::parallel_tests::signed_zone;
use super::{Table, TableBuf, TableError};
use crate::zone::{parse_str, Record, Zone};

/// A table and the warnings its compile gave.
type Compiled = (Vec<u8>, Vec<String>);

/// The zones compiled kept (into memory), then owned (into a file).
fn both(zones: Vec<Zone>) -> (Compiled, Compiled) {
    let mut kept_warnings = Vec::new();
    let kept = compile(&zones, &mut kept_warnings).unwrap();
    let mut owned_warnings = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let out = TableBuf::in_file(&dir.path().join("t.tmp")).unwrap();
    let owned = compile_owned(zones, out, &mut owned_warnings).unwrap().into_file().unwrap();
    let owned = std::fs::read(owned).unwrap();
    ((kept.to_vec(), kept_warnings), (owned, owned_warnings))
}

/// Hosting-provider zones (`testkit::workload`) of `names` names each,
/// under origins of their own.
fn workload_zones(names: &[usize]) -> Vec<Zone> {
    let text = |i: usize, n| {
        testkit::workload::zone_text(n).replace("$ORIGIN bench.test.", &format!("$ORIGIN bench{i}.test."))
    };
    names.iter().enumerate().map(|(i, &n)| parse_str(&text(i, n), "w.zone", None).unwrap()).collect()
}

#[test]
fn zones_of_megabytes_compile_into_a_file_as_into_memory() {
    // Several megabytes of table: the file grows many times and what is
    // written is released behind the writing, read and written back.
    let zones = workload_zones(&[40_000, 300, 7_000]);
    assert_eq!(zones.len(), 3);
    let ((kept, kw), (owned, ow)) = both(zones);
    assert!(kept.len() > 3 << 20, "{} bytes", kept.len());
    assert!(kept == owned, "the tables differ");
    assert_eq!(kw, ow);
}

#[test]
fn a_compile_into_a_full_disk_or_a_missing_directory_fails_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("t.tmp");
    let out = TableBuf::in_file_full_at(&tmp, 1 << 20).unwrap();
    let e = compile_owned(workload_zones(&[40_000]), out, &mut Vec::new()).unwrap_err();
    let CompileError::Write(e) = &e else { panic!("not a write error: {e}") };
    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
    assert!(e.to_string().contains("t.tmp"), "the error names the file: {e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "a file is left");

    let path = dir.path().join("missing").join("zones.tbl");
    let e = Table::compile_file(workload_zones(&[100]), &path).err().unwrap();
    assert!(matches!(&e, TableError::Io { path, .. } if path.ends_with("missing/zones.tmp")), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "a file is left");

    // And where it can be written: the table file, and nothing else.
    let path = dir.path().join("zones.tbl");
    let t = Table::compile_file(workload_zones(&[100]), &path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), t.as_bytes());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn signed_zones_compile_to_the_same_bytes() {
    for nsec3 in [true, false] {
        let zone = parse_str(&signed_zone(600, nsec3), "t.zone", None).unwrap();
        let ((kept, kw), (owned, ow)) = both(vec![zone]);
        assert!(kept == owned, "nsec3 {nsec3}: the tables differ");
        assert_eq!(kw, ow);
        assert!(super::Table::from_bytes(owned).is_ok());
    }
}

#[test]
fn a_parent_and_child_with_a_warning_compile_to_the_same_bytes_and_warnings() {
    let parent = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n\
                  ns1 A 198.18.0.53\nsub NS ns.sub\nns.sub A 198.18.0.54\nsub DS 1 13 2 abcd\n\
                  www CNAME big.sub\nmail MX 10 ns1\n";
    let mut child = String::from(
        "$ORIGIN sub.example.com.\n$TTL 60\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\n\
         ns A 198.18.0.54\nns AAAA fd00::54\n",
    );
    // 5,000 addresses: no message carries them (a warning naming this file and line).
    for i in 0..5000 {
        let _ = writeln!(child, "big A 198.18.{}.{}", i / 250, i % 250 + 1);
    }
    let zones = vec![parse_str(parent, "parent.zone", None).unwrap(), parse_str(&child, "child.zone", None).unwrap()];
    let ((kept, kw), (owned, ow)) = both(zones);
    assert!(kept == owned, "the tables differ");
    assert_eq!(kw, ow);
    assert!(kw.iter().any(|w| w.starts_with("child.zone:7: ")), "{kw:?}");
}

/// The zones compiled kept, then owned with their records handed over
/// `run` at a time, for each `run`: the same bytes and warnings.
fn same_in_runs(zones: &[Zone], runs: &[usize]) {
    let mut kept_warnings = Vec::new();
    let kept = compile(zones, &mut kept_warnings).unwrap().to_vec();
    for &run in runs {
        let mut warnings = Vec::new();
        let owned = compile_owned_in_runs(zones.to_vec(), run, TableBuf::new().unwrap(), &mut warnings).unwrap();
        assert!(kept == owned.to_vec(), "runs of {run}: the tables differ");
        assert_eq!(kept_warnings, warnings, "runs of {run}");
    }
}

#[test]
fn signed_zones_handed_over_in_runs_compile_to_the_same_bytes() {
    for nsec3 in [true, false] {
        let zone = parse_str(&signed_zone(300, nsec3), "t.zone", None).unwrap();
        // An owner's records and their signatures split between runs
        // (1, 2, 3, 7), and runs of many owners.
        same_in_runs(&[zone], &[1, 2, 3, 7, 64, 1000]);
    }
}

#[test]
fn several_zones_with_a_served_child_handed_over_in_runs_compile_to_the_same_bytes() {
    let parent = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n\
                  ns1 A 198.18.0.53\nsub NS ns.sub\nns.sub A 198.18.0.54\nns.sub AAAA fd00::54\n\
                  sub DS 1 13 2 abcd\nsub DS 1 13 2 abce\ndeep.sub A 198.18.0.99\n\
                  www CNAME big.sub\nmail MX 10 ns1\n* TXT \"a wildcard with a long text, kept in a heap block\"\n";
    let mut child = String::from(
        "$ORIGIN sub.example.com.\n$TTL 60\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\n\
         ns A 198.18.0.54\nns AAAA fd00::54\n",
    );
    // An RRset too large for a message (a warning naming the file and
    // line), and names long enough for heap blocks.
    for i in 0..3000 {
        let _ = writeln!(child, "big A 198.18.{}.{}", i / 250, i % 250 + 1);
        let _ =
            writeln!(child, "a-name-longer-than-twenty-two-octets-{i} TXT \"text {i} of more than twenty-two octets\"");
    }
    let other = "$ORIGIN example.net.\n$TTL 300\n@ SOA ns1.example.com. hostmaster 1 7200 3600 1209600 300\n\
                 @ NS ns1.example.com.\nwww A 198.18.1.1\nwww AAAA fd00::1:1\n";
    let zone = |text: &str, file: &str| parse_str(text, file, None).unwrap();
    // The child first: zones are filled parents first, in another order
    // than given, each reading its own part of the RDATA copy.
    let zones = [zone(&child, "child.zone"), zone(other, "other.zone"), zone(parent, "parent.zone")];
    same_in_runs(&zones, &[1, 2, 5, 64, 1 << 16]);
}

#[test]
fn in_runs_hands_over_every_record_once_in_order() {
    let mut text = String::from(
        "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n",
    );
    for i in 0..4000 {
        let _ = writeln!(text, "name-{i} TXT \"record {i}, long enough for a heap block\"");
    }
    let records = parse_str(&text, "t.zone", None).unwrap().records;
    // 4,000 records: pages given back run after run, all read before.
    for run in [1, 3, 100, 4000, 5000] {
        let expected: Vec<Record> = records.clone();
        let mut seen: Vec<Record> = Vec::new();
        let mut sizes = Vec::new();
        in_runs(records.clone(), run, |part| {
            sizes.push(part.len());
            seen.extend_from_slice(part);
        });
        assert!(seen == expected, "runs of {run}");
        assert!(sizes.iter().all(|&n| n > 0 && n <= run), "runs of {run}: {sizes:?}");
        assert_eq!(sizes.len(), expected.len().div_ceil(run), "runs of {run}");
    }
}
