//! `compile_owned` (the records dropped before the table is written, the
//! compiler reading a copy of their RDATA), writing into a file as
//! `responder compile` does (`TableBuf::in_file`), writes the bytes and
//! gives the warnings, `file:line` included, that the compile of kept
//! zones into memory does; and leaves no file when it fails.

use std::fmt::Write;

use super::compile::{compile, compile_owned, CompileError};
use super::parallel_tests::signed_zone;
use super::{Table, TableBuf, TableError};
use crate::zone::{parse_str, Zone};

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
