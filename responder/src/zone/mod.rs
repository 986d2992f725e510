//! Zone loading: RFC 1035 master files → records with wire-format RDATA,
//! followed by the semantic checks Knot and NSD apply before serving a zone.
//!
//! Entry points: [`load_file`] (with `$INCLUDE` relative to the file, read
//! under the default [`ReadLimits`]), [`load_file_with`] for other limits,
//! and [`parse_str`] for text already in memory.

mod check;
mod dnssec;
mod embedded;
mod encoding;
mod error;
mod fields;
mod keys;
#[cfg(test)]
mod knot_diff;
#[cfg(test)]
mod ldns_diff;
mod lexer;
mod loc;
mod locators;
pub mod name;
mod parser;
mod rdata;
mod reader;
mod recheck;
#[cfg(test)]
mod recheck_tests;
pub mod record;
pub mod rtype;
mod small_bytes;
mod svcb;
#[cfg(test)]
mod test_support;
mod ttl;
#[cfg(test)]
mod type_loading;

use std::path::Path;

pub use embedded::{embedded_names, embedded_names_into, NameSpan};
pub use error::ZoneError;
pub use name::Name;
pub use reader::{parse_size, require_regular_file, ReadLimits, DEFAULT_MAX_BYTES};
pub use record::{FileName, Location, Record};
pub use rtype::{class, RType};
pub use small_bytes::SmallBytes;

/// A zone as read from its master file and checked.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The apex: the owner of the SOA record.
    pub origin: Name,
    /// Every record, duplicates removed, in file order.
    pub records: Vec<Record>,
    /// Problems worth reporting that do not stop the zone from loading
    /// (for example missing glue), each prefixed with `file:line:`.
    pub warnings: Vec<String>,
    /// A secondary's copy past its SOA EXPIRE (RFC 1035 §3.3.13): compiled
    /// to answer SERVFAIL for every name in it, as Knot and NSD do. Zone
    /// files always load with `false`.
    pub expired: bool,
    /// What this version changed from the one it was made from, when that
    /// is known (a secondary's IXFR applied to its copy): the reloader then
    /// compares the two at those names only (`table::overlay::Change::diff`).
    pub derived: Option<Derived>,
}

/// A version of a zone as another one changed at a few names.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The version it was made from: only compared by address, so the
    /// reference is weak (the old records are not kept for it).
    pub from: std::sync::Weak<Zone>,
    /// The owners of every record removed or added: no other name's records
    /// changed, nor their order.
    pub names: Vec<Name>,
    /// The records at `names` in both versions, when known: then neither
    /// the checks nor the comparison read another name's records.
    pub at: Option<At>,
}

/// Where a change to a zone is: the records at the names it touched.
#[derive(Debug, Clone, Default)]
pub struct At {
    /// Those of the version it was made from, in its order.
    pub before: Vec<Record>,
    /// Where this version's are among its records: ascending indices.
    pub after: Vec<usize>,
}

/// Reads, parses and checks the master file at `path`. `origin` is the zone
/// name when the caller knows it: the initial `$ORIGIN`, and where the SOA
/// must be. `$INCLUDE` paths are relative to the file's directory.
pub fn load_file(path: &Path, origin: Option<&Name>) -> Result<Zone, ZoneError> {
    load_file_with(path, origin, &ReadLimits::default())
}

/// [`load_file`] reading no more, and from no other places, than `limits`
/// allow (see `reader`).
pub fn load_file_with(path: &Path, origin: Option<&Name>, limits: &ReadLimits) -> Result<Zone, ZoneError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut reader = reader::Reader::new(limits, dir);
    let file = path.display().to_string();
    // The text goes before the parsed parts are joined and checked: the
    // records own what they took of it (a 31 MB file at a million names).
    let parser = {
        let text = reader.read_zone(path).map_err(|message| ZoneError { location: None, message })?;
        parse(&text, &file, dir, origin, reader)?
    };
    let (records, warnings) = parser.finish();
    checked(records, warnings, origin, &file)
}

/// Parses and checks zone text already in memory; `file` names it in
/// messages, and `$INCLUDE` paths are relative to `file`'s directory (and
/// confined to it, under the default [`ReadLimits`]).
pub fn parse_str(text: &str, file: &str, origin: Option<&Name>) -> Result<Zone, ZoneError> {
    let dir = Path::new(file).parent().unwrap_or(Path::new("."));
    let reader = reader::Reader::new(&ReadLimits::default(), dir);
    load(text.as_bytes(), file, dir, origin, reader)
}

/// Records that never were text (a zone transfer's), checked as a zone
/// file's records are: each against what the parser would have refused
/// (a TTL over RFC 2181's limit, RDATA that does not fit its type's
/// layout), then the same semantic checks. Each record's `location` names
/// it in messages. The same zone as writing the records out as a master
/// file and reading it back, without the text (a tenth of the time).
pub fn from_records(records: Vec<Record>, origin: &Name, file: &str) -> Result<Zone, ZoneError> {
    for r in &records {
        let fail = |message: String| ZoneError { location: Some(r.location.clone()), message };
        if r.ttl > ttl::MAX_TTL {
            return Err(fail(format!("TTL {} exceeds {} (RFC 2181 §8)", r.ttl, ttl::MAX_TTL)));
        }
        if r.rdata.len() > usize::from(u16::MAX) {
            return Err(fail(format!("{}: RDATA is {} octets, more than {}", r.rtype, r.rdata.len(), u16::MAX)));
        }
        embedded::check_wire(r.rtype, &r.rdata).map_err(|e| fail(format!("{}: RDATA: {e}", r.rtype)))?;
    }
    let mut warnings = Vec::new();
    let checked = check::check(records, Some(origin), file, &mut warnings)?;
    Ok(Zone { origin: checked.apex, records: checked.records, warnings, expired: false, derived: None })
}

/// [`from_records`] for `records` made from `held` by changing the records
/// at `derived`'s names (a secondary's IXFR applied to its copy): the same
/// zone, warnings and error, checked at those names only when `derived`
/// says where they are (`recheck`), every record otherwise. The zone
/// keeps `derived` for the reloader.
pub fn from_change(
    held: &Zone,
    mut records: Vec<Record>,
    mut derived: Derived,
    origin: &Name,
    file: &str,
) -> Result<Zone, ZoneError> {
    let rechecked = derived.at.as_ref().and_then(|at| recheck::recheck(held, &records, at, origin));
    let Some(rechecked) = rechecked else {
        let count = records.len();
        let mut zone = from_records(records, origin, file)?;
        if zone.records.len() != count {
            // Duplicates dropped: the indices no longer hold.
            derived.at = None;
        }
        zone.derived = Some(derived);
        return Ok(zone);
    };
    for (record, ttl) in rechecked.ttl_fixes {
        records[record].ttl = ttl;
    }
    let warnings = rechecked.warnings;
    Ok(Zone { origin: rechecked.apex, records, warnings, expired: false, derived: Some(derived) })
}

fn load(text: &[u8], file: &str, dir: &Path, origin: Option<&Name>, reader: reader::Reader) -> Result<Zone, ZoneError> {
    let (records, warnings) = parse(text, file, dir, origin, reader)?.finish();
    checked(records, warnings, origin, file)
}

/// `text` parsed: the parser, to be finished once the text has gone.
fn parse(
    text: &[u8],
    file: &str,
    dir: &Path,
    origin: Option<&Name>,
    reader: reader::Reader,
) -> Result<parser::Parser, ZoneError> {
    let mut parser = parser::Parser::new(origin, reader);
    parser.parse(text, file, dir)?;
    Ok(parser)
}

/// Parsed records checked into a zone; `warnings` so far come first.
fn checked(
    records: Vec<Record>,
    mut warnings: Vec<String>,
    origin: Option<&Name>,
    file: &str,
) -> Result<Zone, ZoneError> {
    let checked = check::check(records, origin, file, &mut warnings)?;
    Ok(Zone { origin: checked.apex, records: checked.records, warnings, expired: false, derived: None })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::test_support::zones_dir;
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text, None).unwrap().unwrap()
    }

    #[test]
    fn bundled_example_zone_loads_cleanly() {
        let path = zones_dir().join("example.com.zone");
        let origin = name("example.com.");
        let zone = load_file(&path, Some(&origin)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(zone.origin, origin);
        assert!(zone.warnings.is_empty(), "{:#?}", zone.warnings);
        // Without the caller's origin the file's own $ORIGIN and SOA agree.
        assert_eq!(load_file(&path, None).unwrap().records, zone.records);

        let types: HashSet<RType> = zone.records.iter().map(|r| r.rtype).collect();
        let wanted = [
            RType::SOA,
            RType::NS,
            RType::A,
            RType::AAAA,
            RType::MX,
            RType::TXT,
            RType::CAA,
            RType::CNAME,
            RType::DS,
            RType::SRV,
            RType::NAPTR,
            RType::HTTPS,
            RType::SVCB,
            RType::SSHFP,
            RType::TLSA,
            RType::HINFO,
            RType::DNAME,
            RType(65534),
        ];
        for rtype in wanted {
            assert!(types.contains(&rtype), "the example zone should exercise {rtype}");
        }
        let soa = zone.records.iter().find(|r| r.rtype == RType::SOA).unwrap();
        assert_eq!(soa.rdata[soa.rdata.len() - 4..], 300u32.to_be_bytes(), "negative TTL");
        assert!(zone.records.iter().any(|r| r.owner == name("*.wild.example.com.")));
        assert!(zone.records.iter().all(|r| r.owner != name("ent.wild.example.com.")), "ent.wild must stay empty");
    }

    #[test]
    fn include_fixture_resolves_paths_and_origins() {
        let zone = load_file(&zones_dir().join("tests/include/parent.zone"), None).unwrap();
        let got: Vec<(String, String)> = zone
            .records
            .iter()
            .map(|r| {
                let file = Path::new(&*r.location.file).file_name().unwrap().to_string_lossy().into_owned();
                (r.owner.to_string(), format!("{file}:{}", r.location.line))
            })
            .collect();
        let want = [
            ("example.org.", "parent.zone:5"),
            ("example.org.", "parent.zone:6"),
            ("ns.example.org.", "hosts.zone:2"),
            ("www.example.org.", "more.zone:1"),
            ("lab.example.org.", "lab.zone:2"),
            ("box.lab.example.org.", "lab.zone:3"),
            ("x.deep.example.org.", "lab.zone:5"),
            ("after.example.org.", "parent.zone:9"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(o, l)| (o.to_string(), l.to_string())).collect();
        assert_eq!(got, want);
    }

    /// The performance budget: a million names (about 40 MB) in well under
    /// ten seconds. Run it in release mode:
    /// `cargo test -p responder --release --lib zone::tests::million_names -- --ignored --nocapture`
    #[test]
    #[ignore = "slow in debug builds; run in release"]
    fn million_names_load_quickly() {
        use std::fmt::Write;
        const NAMES: u32 = 1_000_000;
        let mut text = String::with_capacity(48 * NAMES as usize);
        text.push_str("$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 198.18.0.53\n");
        for i in 0..NAMES {
            let [_, _, hi, lo] = i.to_be_bytes();
            let _ = match i % 4 {
                0 => writeln!(text, "host-{i:07} A 198.18.{hi}.{lo}"),
                1 => writeln!(text, "host-{i:07} 300 IN AAAA fd00::{hi:x}:{lo:x}"),
                2 => writeln!(text, "host-{i:07} MX 10 mail-{lo}.example.com."),
                _ => writeln!(text, "host-{i:07} TXT \"record number {i}\""),
            };
        }
        let started = std::time::Instant::now();
        let zone = parse_str(&text, "million.zone", None).unwrap();
        let elapsed = started.elapsed();
        eprintln!("{} MB, {} records: parsed and checked in {elapsed:?}", text.len() >> 20, zone.records.len());
        assert_eq!(zone.records.len(), NAMES as usize + 3);
        if !cfg!(debug_assertions) {
            assert!(elapsed.as_secs_f64() < 5.0, "{elapsed:?} is too slow");
        }
    }

    #[test]
    fn unreadable_file_is_an_error_not_a_panic() {
        let err = load_file(Path::new("/nonexistent/zone/file"), None).unwrap_err();
        assert_eq!(err.location, None);
        assert!(err.message.starts_with("cannot read /nonexistent/zone/file"), "{err}");
    }

    #[test]
    fn records_that_never_were_text_pass_the_checks_a_file_does() {
        let text = "$ORIGIN example.test.\n@ 300 IN SOA ns hostmaster 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A 198.18.0.1\nwww 300 IN A 198.18.0.2\nwww 600 IN A 198.18.0.3\n";
        let parsed = parse_str(text, "t.zone", Some(&name("example.test."))).unwrap();
        // As the file has them: the check changes the second TTL of the RRset.
        let mut records = parsed.records.clone();
        records[4].ttl = 600;
        let direct = from_records(records, &name("example.test."), "t.zone").unwrap();
        assert_eq!(direct.warnings.len(), 1);
        assert_eq!((direct.records, direct.warnings), (parsed.records.clone(), parsed.warnings));

        let broken = |edit: &dyn Fn(&mut Record)| {
            let mut records = parsed.records.clone();
            edit(&mut records[3]);
            from_records(records, &name("example.test."), "t.zone").unwrap_err().to_string()
        };
        assert_eq!(
            broken(&|r| r.rdata = [1u8, 2, 3][..].into()),
            "t.zone:5: A: RDATA: A RDATA must be 4 octets, not 3"
        );
        assert_eq!(broken(&|r| r.ttl = 1 << 31), "t.zone:5: TTL 2147483648 exceeds 2147483647 (RFC 2181 §8)");
        assert_eq!(
            broken(&|r| r.owner = name("www.elsewhere.test.")),
            load_err_of(text.replace("www 300 IN A 198.18.0.2", "www.elsewhere.test. 300 IN A 198.18.0.2"))
        );
        assert_eq!(broken(&|r| r.class = class::CH), "t.zone:5: class CH is not supported: only IN data can be served");
    }

    fn load_err_of(text: String) -> String {
        parse_str(&text, "t.zone", Some(&name("example.test."))).unwrap_err().to_string()
    }
}
