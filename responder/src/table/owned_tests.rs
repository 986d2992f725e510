//! `compile_owned` (the records dropped before the table is written, the
//! compiler reading a copy of their RDATA) writes the bytes and gives the
//! warnings, `file:line` included, that the compile of kept zones does.

use std::fmt::Write;

use super::compile::{compile, compile_owned};
use super::parallel_tests::signed_zone;
use crate::zone::{parse_str, Zone};

/// A table and the warnings its compile gave.
type Compiled = (Vec<u8>, Vec<String>);

/// The zones compiled kept, then owned.
fn both(zones: Vec<Zone>) -> (Compiled, Compiled) {
    let mut kept_warnings = Vec::new();
    let kept = compile(&zones, &mut kept_warnings).unwrap();
    let mut owned_warnings = Vec::new();
    let owned = compile_owned(zones, &mut owned_warnings).unwrap();
    ((kept.to_vec(), kept_warnings), (owned.to_vec(), owned_warnings))
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
