//! The zone every server serves and the queries every server is asked.
//!
//! The zone is `cargo bench`'s (`testkit/src/workload.rs`): the engine-only figures of `cargo bench` and the
//! end-to-end figures here then describe the same data. The queries are the
//! bench's own, as text for kxdpgun and dnsperf, each with the answer shape
//! an authoritative server must give it, which the correctness gate checks.

use std::fmt::Write as _;
use std::path::Path;

use testkit::workload::{self as zone_source, kind_of, Kind, Lcg};

/// The zone's origin, as the generator writes it.
pub const ORIGIN: &str = "bench.test.";

/// The zone file text for `names` generated names.
pub fn zone_text(names: usize) -> String {
    zone_source::zone_text(names)
}

/// What any correct authoritative server answers to a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub rcode: &'static str,
    pub answers: u16,
    pub authoritative: bool,
}

const fn answer(answers: u16) -> Expected {
    Expected { rcode: "NOERROR", answers, authoritative: true }
}
const NXDOMAIN: Expected = Expected { rcode: "NXDOMAIN", answers: 0, authoritative: true };
/// Below a zone cut: the delegation's NS in the authority section, not authoritative.
const REFERRAL: Expected = Expected { rcode: "NOERROR", answers: 0, authoritative: false };

/// One query of the mix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Fully qualified, in random letter case.
    pub name: String,
    pub rtype: &'static str,
    pub edns: bool,
    /// DNSSEC OK (implies EDNS).
    pub dnssec_ok: bool,
    pub expected: Expected,
}

/// `count` queries over a zone of `names` names: about 20% NXDOMAIN, a few
/// wildcard matches, the rest spread over what each generated name holds
/// (addresses, aliases, mail, TXT, delegations), asking sometimes for a type
/// the name lacks (NODATA); half with EDNS, a tenth of those with DO.
pub fn queries(names: usize, count: usize, seed: u64) -> Vec<Query> {
    let mut rng = Lcg::new(seed);
    let names = names.max(1);
    (0..count)
        .map(|_| {
            let i = rng.below(names as u64) as usize;
            let roll = rng.below(100);
            let (label, rtype, expected) = if roll < 20 {
                (format!("nx{i}"), if rng.below(2) == 0 { "A" } else { "AAAA" }, NXDOMAIN)
            } else if roll < 23 {
                (format!("w{i}.wild"), "A", answer(1))
            } else {
                let (rtype, expected) = for_existing(kind_of(i), rng.below(4));
                (format!("h{i}"), rtype, expected)
            };
            let edns = rng.below(2) == 0;
            let dnssec_ok = edns && rng.below(10) == 0;
            let name = random_case(&format!("{label}.{ORIGIN}"), &mut rng);
            Query { name, rtype, edns, dnssec_ok, expected }
        })
        .collect()
}

/// The type to ask a generated name for (`pick` in 0..4; 3 asks for a type
/// the name usually lacks) and the answer it must get.
fn for_existing(kind: Kind, pick: u64) -> (&'static str, Expected) {
    match (kind, pick) {
        (Kind::A, 3) => ("AAAA", answer(0)),
        (Kind::A, _) => ("A", answer(1)),
        (Kind::Dual, 0 | 1) => ("AAAA", answer(1)),
        (Kind::Dual, _) => ("A", answer(1)),
        // The alias and its target (an A-only name, see `zone_text`).
        (Kind::Cname, 3) => ("AAAA", answer(1)),
        (Kind::Cname, _) => ("A", answer(2)),
        (Kind::Mail, 0 | 1) => ("MX", answer(1)),
        (Kind::Mail, 2) => ("A", answer(1)),
        (Kind::Mail, _) => ("TXT", answer(0)),
        (Kind::Txt, 3) => ("A", answer(0)),
        (Kind::Txt, _) => ("TXT", answer(1)),
        (Kind::Delegation, _) => ("A", REFERRAL),
    }
}

fn random_case(name: &str, rng: &mut Lcg) -> String {
    name.chars().map(|c| if rng.below(2) == 0 { c.to_ascii_uppercase() } else { c }).collect()
}

/// kxdpgun's query file: `name type [E|D]` a line (E: EDNS, D: EDNS + DO).
pub fn kxdpgun_file(queries: &[Query]) -> String {
    let mut text = String::with_capacity(queries.len() * 32);
    for q in queries {
        let flag = if q.dnssec_ok {
            " D"
        } else if q.edns {
            " E"
        } else {
            ""
        };
        let _ = writeln!(text, "{} {}{flag}", q.name, q.rtype);
    }
    text
}

/// dnsperf's query file: `name type` a line. dnsperf sets EDNS for all
/// queries or none, so latency is measured without it.
pub fn dnsperf_file(queries: &[Query]) -> String {
    let mut text = String::with_capacity(queries.len() * 32);
    for q in queries {
        let _ = writeln!(text, "{} {}", q.name, q.rtype);
    }
    text
}

/// Writes the zone and both query files into `dir`.
pub struct Files {
    pub zone: std::path::PathBuf,
    pub kxdpgun: std::path::PathBuf,
    pub dnsperf: std::path::PathBuf,
}

pub fn write_files(dir: &Path, names: usize, queries: &[Query]) -> Result<Files, String> {
    let files = Files {
        zone: dir.join("bench.test.zone"),
        kxdpgun: dir.join("queries.kxdpgun"),
        dnsperf: dir.join("queries.dnsperf"),
    };
    for (path, text) in [
        (&files.zone, zone_text(names)),
        (&files.kxdpgun, kxdpgun_file(queries)),
        (&files.dnsperf, dnsperf_file(queries)),
    ] {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_queries() {
        assert_eq!(queries(1000, 500, 7), queries(1000, 500, 7));
        assert_ne!(queries(1000, 500, 7), queries(1000, 500, 8));
        assert_eq!(zone_text(100), zone_text(100));
    }

    #[test]
    fn about_a_fifth_are_nxdomain_and_every_kind_is_asked() {
        let qs = queries(100_000, 20_000, 1);
        let share = |f: &dyn Fn(&Query) -> bool| qs.iter().filter(|q| f(q)).count() as f64 / qs.len() as f64;
        let nx = share(&|q| q.expected.rcode == "NXDOMAIN");
        assert!((0.18..0.22).contains(&nx), "NXDOMAIN share {nx}");
        let edns = share(&|q| q.edns);
        assert!((0.45..0.55).contains(&edns), "EDNS share {edns}");
        let dnssec_ok = share(&|q| q.dnssec_ok);
        assert!((0.03..0.07).contains(&dnssec_ok), "DO share {dnssec_ok}");
        assert!(qs.iter().all(|q| !q.dnssec_ok || q.edns));
        for rtype in ["A", "AAAA", "MX", "TXT"] {
            assert!(qs.iter().any(|q| q.rtype == rtype), "no {rtype} query");
        }
        assert!(qs.iter().any(|q| q.expected == REFERRAL), "no referral");
        assert!(qs.iter().any(|q| q.expected == answer(2)), "no CNAME chase");
        assert!(qs.iter().any(|q| q.expected == answer(0)), "no NODATA");
        assert!(qs.iter().any(|q| q.name.to_ascii_lowercase().contains(".wild.")), "no wildcard");
        let mixed_case = qs.iter().filter(|q| q.name.chars().any(|c| c.is_ascii_uppercase())).count();
        assert!(mixed_case > qs.len() * 9 / 10, "random case");
    }

    #[test]
    fn queries_ask_about_names_the_zone_has() {
        let zone = zone_text(200).to_ascii_lowercase();
        for q in queries(200, 300, 3).iter().filter(|q| q.expected.rcode == "NOERROR") {
            let label = q.name.to_ascii_lowercase();
            let label = label.trim_end_matches(ORIGIN).trim_end_matches('.');
            if let Some(rest) = label.strip_suffix(".wild") {
                assert!(!rest.contains('.'), "{label}");
                assert!(zone.contains("\n*.wild "), "the wildcard exists");
            } else {
                assert!(zone.contains(&format!("\n{label} ")), "{label} is not in the zone");
            }
        }
        for q in queries(200, 300, 3).iter().filter(|q| q.expected.rcode == "NXDOMAIN") {
            let label = q.name.to_ascii_lowercase();
            assert!(!zone.contains(&format!("\n{} ", label.trim_end_matches(ORIGIN).trim_end_matches('.'))));
        }
    }

    #[test]
    fn query_files_carry_the_edns_flags() {
        let q =
            |edns, dnssec_ok| Query { name: "H1.bench.test.".into(), rtype: "A", edns, dnssec_ok, expected: answer(1) };
        let text = kxdpgun_file(&[q(false, false), q(true, false), q(true, true)]);
        assert_eq!(text, "H1.bench.test. A\nH1.bench.test. A E\nH1.bench.test. A D\n");
        assert_eq!(dnsperf_file(&[q(true, true)]), "H1.bench.test. A\n");
    }
}
