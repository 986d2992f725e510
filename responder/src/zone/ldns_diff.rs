//! Differential test against ldns for the types Knot's parser lacks (see
//! `knot_diff.rs` for the others): `ldns-read-zone -U SOA` prints every
//! record but the SOA in RFC 3597 generic form, which we compare with our
//! wire RDATA, byte for byte, names in their written case (ldns keeps it
//! too). Needs ldns-read-zone (Debian: ldnsutils): skipped without it unless
//! `CI=true`.

use std::collections::BTreeSet;
use std::process::Command;

use super::test_support::zones_dir;
use super::{load_file, Name, RType};

/// (owner in lower case, type number, RDATA in lower-case hex)
type Rows = BTreeSet<(String, u16, String)>;

const FILE: &str = "tests/ldns-types.zone";

#[test]
fn ldns_reads_the_types_knot_lacks_to_the_same_wire_bytes() {
    let present = Command::new("ldns-read-zone").arg("-v").output().is_ok_and(|o| o.status.success());
    if !present {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but ldns-read-zone is missing (ldnsutils)");
        eprintln!("skipping: ldns-read-zone is needed (apt-get install ldnsutils)");
        return;
    }
    let path = zones_dir().join(FILE);
    let output = Command::new("ldns-read-zone").arg("-U").arg("SOA").arg(&path).output().expect("run ldns-read-zone");
    assert!(output.status.success(), "ldns-read-zone: {}", String::from_utf8_lossy(&output.stderr));
    let theirs = parse_generic(&String::from_utf8_lossy(&output.stdout));
    let origin = Name::parse("ldns.example.", None).unwrap().unwrap();
    let zone = load_file(&path, Some(&origin)).unwrap_or_else(|e| panic!("{e}"));
    let ours: Rows = zone
        .records
        .iter()
        .filter(|r| r.rtype != RType::SOA)
        .map(|r| (r.owner.to_lowercase().to_string(), r.rtype.0, r.rdata.iter().map(|b| format!("{b:02x}")).collect()))
        .collect();
    assert_eq!(ours.len(), 16, "every record of the fixture but the SOA");
    assert_eq!(ours, theirs);
}

/// Lines like `mb.ldns.example. 300 IN TYPE7 \# 23 084d61...` (tab-separated).
fn parse_generic(text: &str) -> Rows {
    let mut rows = Rows::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(owner), Some(rtype)) = (fields.first(), fields.get(3)) else { continue };
        let Some(rtype) = rtype.strip_prefix("TYPE").and_then(|n| n.parse().ok()) else { continue };
        let rdata = fields.get(6..).unwrap_or_default().concat().to_lowercase();
        rows.insert((owner.to_lowercase(), rtype, rdata));
    }
    rows
}
