//! The zone every server serves and the queries every server is asked.
//!
//! The zone is `cargo bench`'s (`testkit/src/workload.rs`): the engine-only figures of `cargo bench` and the
//! end-to-end figures here then describe the same data. The queries are the
//! bench's own, as text for kxdpgun and dnsperf, each with the answer shape
//! an authoritative server must give it, which the correctness gate checks.
//! A [`Mix`] changes them for every server of a run alike: DO=1 on all
//! (a signed zone) and a share of tier-0 keys (`super::modes::tier0`).

use std::fmt::Write as _;
use std::path::Path;

use super::modes::tier0;
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

pub const fn answer(answers: u16) -> Expected {
    Expected { rcode: "NOERROR", answers, authoritative: true }
}
const NXDOMAIN: Expected = Expected { rcode: "NXDOMAIN", answers: 0, authoritative: true };
/// Below a zone cut: the delegation's NS in the authority section, not authoritative.
pub const REFERRAL: Expected = Expected { rcode: "NOERROR", answers: 0, authoritative: false };

impl Expected {
    /// The same answer from the signed zone to a DO=1 query: each of the
    /// answer's `rrsets` comes with its one RRSIG (one ZSK signs them).
    pub const fn signed(self, rrsets: u16) -> Expected {
        Expected { answers: self.answers + rrsets, ..self }
    }
}

/// How a run's queries differ from the usual mix, for every server alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mix {
    /// The zone is signed: every query has EDNS with DO=1, and positive
    /// answers carry their RRSIGs.
    pub signed: bool,
    /// Percent of the queries that are tier-0 keys.
    pub t0_hits: Option<u32>,
}

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
#[cfg(test)]
pub fn queries(names: usize, count: usize, seed: u64) -> Vec<Query> {
    mixed(names, count, seed, Mix::default())
}

/// [`queries`] changed by `mix`. Each query draws the same numbers as in
/// the usual mix, so a signed run asks the same names and types as an
/// unsigned one; the tier-0 keys take the places a separate draw picks.
pub fn mixed(names: usize, count: usize, seed: u64, mix: Mix) -> Vec<Query> {
    let mut rng = Lcg::new(seed);
    let names = names.max(1);
    let hits = mix.t0_hits.map(|pct| tier0::positions(count, pct, seed));
    (0..count)
        .map(|k| {
            let hit = hits.as_ref().is_some_and(|h| h[k]);
            let (label, rtype, expected) = if hit {
                let key = tier0::key(names, &mut rng);
                (key.label, key.rtype, key.expected)
            } else {
                usual(names, &mut rng)
            };
            let (expected, rrsets) = expected;
            let mut edns = rng.below(2) == 0;
            let mut dnssec_ok = edns && rng.below(10) == 0;
            let name = random_case(&format!("{label}{ORIGIN}"), &mut rng);
            let expected = if mix.signed {
                edns = true;
                dnssec_ok = true;
                expected.signed(rrsets)
            } else {
                expected
            };
            Query { name, rtype, edns, dnssec_ok, expected }
        })
        .collect()
}

/// A query of the usual mix: the name's first labels (with their dot),
/// the type, and the answer with the number of RRsets in it.
fn usual(names: usize, rng: &mut Lcg) -> (String, &'static str, (Expected, u16)) {
    let i = rng.below(names as u64) as usize;
    let roll = rng.below(100);
    // Every answer of the usual mix is one record per RRset.
    let rrsets = |e: Expected| (e, e.answers);
    if roll < 20 {
        (format!("nx{i}."), if rng.below(2) == 0 { "A" } else { "AAAA" }, rrsets(NXDOMAIN))
    } else if roll < 23 {
        (format!("w{i}.wild."), "A", rrsets(answer(1)))
    } else {
        let (rtype, expected) = for_existing(kind_of(i), rng.below(4));
        (format!("h{i}."), rtype, rrsets(expected))
    }
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
/// queries or none, so latency is measured without it, or in a signed run
/// with DO=1 on all (`-D`, [`super::latency`]).
pub fn dnsperf_file(queries: &[Query]) -> String {
    let mut text = String::with_capacity(queries.len() * 32);
    for q in queries {
        let _ = writeln!(text, "{} {}", q.name, q.rtype);
    }
    text
}

/// The unsigned zone's file name in the scratch directory.
pub const ZONE_FILE: &str = "bench.test.zone";

/// Writes the zone and both query files into `dir`.
pub struct Files {
    pub zone: std::path::PathBuf,
    pub kxdpgun: std::path::PathBuf,
    pub dnsperf: std::path::PathBuf,
}

pub fn write_files(dir: &Path, names: usize, queries: &[Query]) -> Result<Files, String> {
    let files =
        Files { zone: dir.join(ZONE_FILE), kxdpgun: dir.join("queries.kxdpgun"), dnsperf: dir.join("queries.dnsperf") };
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
    fn the_usual_mix_is_the_default_mix() {
        assert_eq!(queries(1000, 500, 7), mixed(1000, 500, 7, Mix::default()));
    }

    #[test]
    fn a_signed_run_asks_the_same_questions_all_with_do() {
        let plain = queries(100_000, 5_000, 1);
        let signed = mixed(100_000, 5_000, 1, Mix { signed: true, t0_hits: None });
        assert!(signed.iter().all(|q| q.edns && q.dnssec_ok), "DO=1 on every query");
        assert!(kxdpgun_file(&signed).lines().all(|l| l.ends_with(" D")));
        for (p, s) in plain.iter().zip(&signed) {
            assert_eq!((&p.name, p.rtype), (&s.name, s.rtype), "the same names and types as unsigned");
            assert_eq!((p.expected.rcode, p.expected.authoritative), (s.expected.rcode, s.expected.authoritative));
            // One record per RRset in the usual mix, each with its RRSIG.
            assert_eq!(s.expected.answers, 2 * p.expected.answers, "{} {}", p.name, p.rtype);
        }
        assert!(signed.iter().any(|q| q.expected == answer(4)), "a CNAME chase: two RRsets, two RRSIGs");
        assert!(signed.iter().any(|q| q.expected == REFERRAL), "a referral stays without answers");
    }

    #[test]
    fn the_tier0_share_is_what_was_asked_and_the_rest_is_the_usual_mix() {
        let is_key = |q: &Query| {
            let name = q.name.to_ascii_lowercase();
            let label = name.trim_end_matches(ORIGIN);
            let i = label.strip_prefix('h').and_then(|l| l.trim_end_matches('.').parse::<usize>().ok());
            (label.is_empty() && ["SOA", "NS"].contains(&q.rtype))
                || (i.is_some_and(|i| i % 20 == 19) && ["NS", "DS", "A", "AAAA"].contains(&q.rtype))
        };
        let usual = queries(100_000, 20_000, 1);
        let usual_keys = usual.iter().filter(|q| is_key(q)).count();
        for pct in [0, 50, 80, 95] {
            let qs = mixed(100_000, 20_000, 1, Mix { signed: false, t0_hits: Some(pct) });
            let keys = qs.iter().filter(|q| is_key(q)).count();
            // The usual mix asks delegations' A sometimes: those are keys too.
            let hits = 20_000 * pct as usize / 100;
            assert!(keys >= hits && keys <= hits + usual_keys, "{pct}%: {keys} keys");
            assert!(qs.iter().filter(|q| q.name.to_ascii_lowercase() == ORIGIN).count() > 0 || pct == 0);
            let edns = qs.iter().filter(|q| q.edns).count() as f64 / qs.len() as f64;
            assert!((0.45..0.55).contains(&edns), "every EDNS shape, as in the usual mix: {edns}");
        }
        let apex_ns = mixed(100_000, 2_000, 1, Mix { signed: true, t0_hits: Some(100) })
            .into_iter()
            .find(|q| q.name.to_ascii_lowercase() == ORIGIN && q.rtype == "NS")
            .expect("an apex NS query");
        assert_eq!(apex_ns.expected, answer(3), "two NS records and one RRSIG");
        assert!(apex_ns.dnssec_ok);
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
