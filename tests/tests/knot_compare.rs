//! Differential test against Knot DNS: the same zones served by `responder`
//! and by `knotd`, a few hundred deterministic queries sent to both over
//! UDP, and the answers compared after normalisation (rcode, AA, TC, EDNS,
//! and each section as a set of records with TTLs).
//!
//! Every difference must be matched by an entry of [`ALLOWED`], a short,
//! justified list keyed by the kind of query. An entry that no longer
//! matches anything fails the test too, so the list cannot go stale.
//!
//! `answers_match_knot` runs on loopback, no root needed. Needs knotd:
//! under `CI=true` its absence is a failure, elsewhere the test skips with
//! a message. `answers_match_knot_through_xdp_with_tier0` asks the same
//! queries of a responder on the veth testbed answering over XDP with tier
//! 0 on, so the XDP program's own answers meet the same comparison (root).

use std::collections::BTreeMap;
use std::fmt::Write;

use responder_tests::client_pass;
use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Edns, Question, Reply, Transport};
use responder_tests::knot::{self, Knot};
use responder_tests::netns::in_netns;
use responder_tests::rdata::type_name;
use responder_tests::responder::{workspace_root, Server};
use responder_tests::testbed::{privileged, required_tools, Testbed};
use responder_tests::xdp_server::{server_v4, XdpServer};

const TYPES: &[u16] = &[A, AAAA, MX, TXT, NS, SOA, CNAME, SRV, DS, ANY, CAA, HTTPS];

/// Names in the compare zones, by what the engine does with them. CHAOS is
/// left out on purpose: Knot answers id.server by default, we refuse unless
/// configured, and neither is about zone data.
const EXISTING: &[&str] = &[
    "example.com.",
    "ns1.example.com.",
    "mail.example.com.",
    "www.example.com.",
    "alias.example.com.",
    "chain.example.com.",
    "ext.example.com.",
    "dangling.example.com.",
    "sub.ent.wild.example.com.",
    "_sip._udp.example.com.",
    "_ldap._tcp.example.com.",
    "big.example.com.",
    "child.example.com.",
    "ns.child.example.com.",
    "www.child.example.com.",
    "mx.child.example.com.",
];
/// Names that exist only because something is below them.
const EMPTY_NON_TERMINALS: &[&str] =
    &["ent.wild.example.com.", "wild.example.com.", "cw.example.com.", "_udp.example.com.", "w.child.example.com."];
const NONEXISTENT: &[&str] = &[
    "nosuch.example.com.",
    "nothere.example.com.",
    "a.nosuch.example.com.",
    "x.ent.wild.example.com.",
    "nope.child.example.com.",
    "a.b.mx.child.example.com.",
];
const WILDCARD: &[&str] =
    &["foo.wild.example.com.", "a.b.wild.example.com.", "q.cw.example.com.", "z.w.child.example.com."];
/// At and below the cut to the zone we do not serve.
const DELEGATED: &[&str] =
    &["deleg.example.com.", "host.deleg.example.com.", "a.b.deleg.example.com.", "ns.deleg.example.com."];

/// Below a DNAME: the substituted name leads to data, a CNAME chain,
/// NXDOMAIN, NODATA at an empty non-terminal, a wildcard, a referral,
/// another DNAME, or out of the zone; and the DNAME owners themselves.
const DNAME: &[&str] = &[
    "www.old.example.com.",
    "alias.old.example.com.",
    "dangling.old.example.com.",
    "nothere.old.example.com.",
    "a.b.old.example.com.",
    "www.hop.example.com.",
    "x.hop.example.com.",
    "host.dd.example.com.",
    "ns.dd.example.com.",
    "foo.w2.example.com.",
    "sub.ent.w2.example.com.",
    "ent.w2.example.com.",
    "www.toext.example.com.",
    "old.example.com.",
    "hop.example.com.",
];

/// Through a DNAME into another zone we serve, each asked with DO=0 and
/// DO=1 after the random mix (which they leave as it was). `dc` leads into
/// the served child: the DNAME's zone delegates there, so the answer ends
/// with its referral (Knot follows a DNAME in its own zone only). `up`
/// leads from the child into the served parent: data, NXDOMAIN, NODATA, a
/// CNAME, a wildcard and a referral there, all left to the client after
/// the CNAME.
const CROSS_ZONE_DNAME: &[(&str, u16)] = &[
    ("www.dc.example.com.", A),
    ("nope.dc.example.com.", MX),
    ("z.w.dc.example.com.", TXT),
    ("www.up.child.example.com.", A),
    ("nosuch.up.child.example.com.", A),
    ("wild.up.child.example.com.", A),
    ("alias.up.child.example.com.", AAAA),
    ("foo.wild.up.child.example.com.", TXT),
    ("host.deleg.up.child.example.com.", A),
];

const QUERIES: usize = 400;

/// Deterministic pseudo-random numbers (Knuth's MMIX LCG): the same queries
/// on every run, so a difference is reproducible by its index.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // The high bits of an LCG are the random ones.
        ((self.0 >> 33) % below as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next(items.len())]
    }
}

fn queries() -> Vec<Question> {
    let mut rng = Lcg(0x5eed_d15c_0ba1_1002);
    let groups: [&[&str]; 6] = [EXISTING, EMPTY_NON_TERMINALS, NONEXISTENT, WILDCARD, DELEGATED, DNAME];
    // Existing names are asked most, as they have the most types to differ in.
    let weights = [5, 1, 2, 2, 2, 2];
    let total: usize = weights.iter().sum();
    (0..QUERIES)
        .map(|i| {
            let mut roll = rng.next(total);
            let mut group = 0;
            while roll >= weights[group] {
                roll -= weights[group];
                group += 1;
            }
            let name = rng.pick(groups[group]);
            let qtype = *rng.pick(TYPES);
            // One query in four in mixed case (RFC 4343): both must keep it.
            let name = if rng.next(4) == 0 { mixed_case(name, &mut rng) } else { name.to_string() };
            let mut q = Question::new(&name, qtype);
            q.id = i as u16;
            q.edns = match rng.next(6) {
                0 | 1 => None,
                2 => Some(Edns::with_payload(512)),
                3 => Some(Edns { payload: 4096, dnssec_ok: true, version: 0 }),
                _ => Some(Edns::with_payload(1232)),
            };
            q
        })
        .chain(CROSS_ZONE_DNAME.iter().flat_map(|&(name, qtype)| {
            [None, Some(Edns { payload: 4096, dnssec_ok: true, version: 0 })].map(|edns| {
                let mut q = Question::new(name, qtype);
                q.edns = edns;
                q
            })
        }))
        .collect()
}

fn mixed_case(name: &str, rng: &mut Lcg) -> String {
    name.chars().map(|c| if rng.next(2) == 0 { c.to_ascii_uppercase() } else { c }).collect()
}

/// An accepted difference: which queries it covers, why, and a check that
/// the two answers differ only in the way described.
struct Allowed {
    id: &'static str,
    /// Which answer is right, and why (RFC and section).
    why: &'static str,
    applies: fn(q: &Question, ours: &Reply, knot: &Reply) -> bool,
}

/// An entry needs an RFC argument that both answers are right, or that
/// Knot's is wrong; every other difference found so far was ours to fix.
const ALLOWED: &[Allowed] = &[Allowed {
    id: "dname-rdata-case",
    why: "`hop DNAME Old.example.com.`: Knot lowercases the DNAME's RDATA when it loads the zone (its \
          canonical form, RFC 4034 §6.2), we keep it as the zone file spells it (RFC 4343 §4.1); the \
          names the substitution writes then differ in case only, and names compare case-insensitively \
          (RFC 4343 §3). Below a DNAME whose RDATA is lowercase, names match case for case",
    applies: |q, ours, knot| {
        let name = q.name.to_ascii_lowercase();
        let at = name == "hop.example.com." || name.ends_with(".hop.example.com.");
        at && ours.to_string().eq_ignore_ascii_case(&knot.to_string())
    },
}];

/// The compare zones, as `knotd` and `--zone` take them.
fn compare_zones() -> [(&'static str, std::path::PathBuf); 2] {
    let dir = workspace_root().join("zones/tests/compare");
    [("example.com", dir.join("example.com.zone")), ("child.example.com", dir.join("child.example.com.zone"))]
}

#[test]
fn answers_match_knot() {
    if !required_tools("answers_match_knot", if knot::available() { &[] } else { &["knotd"] }) {
        return;
    }
    let zones = compare_zones();
    let knot = Knot::start(&zones).unwrap_or_else(|e| panic!("{e}"));
    let zone_args: Vec<String> =
        zones.iter().flat_map(|(_, f)| ["--zone".to_string(), f.display().to_string()]).collect();
    let ours =
        Server::start(&zone_args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_or_else(|e| panic!("{e}"));
    compare(&knot, |transport, q| dns::ask(ours.v4, transport, q));
}

/// The same comparison through the veth testbed: the responder answers
/// over XDP, and the apexes and delegations of both zones from the XDP
/// program itself (tier 0, issue 17), whose answers must meet Knot's as
/// the workers' do. Knot stays on loopback.
#[test]
fn answers_match_knot_through_xdp_with_tier0() {
    let test = "answers_match_knot_through_xdp_with_tier0";
    if !privileged(test) || !required_tools(test, if knot::available() { &[] } else { &["knotd"] }) {
        return;
    }
    let zones = compare_zones();
    let knot = Knot::start(&zones).unwrap_or_else(|e| panic!("{e}"));
    let bed = Testbed::create("kct0", 1).expect("testbed");
    // veth delivers an XDP_TX frame only to a peer with an XDP program.
    let dir = tempfile::tempdir().unwrap();
    client_pass::attach(&bed, dir.path());
    let child = zones[1].1.display().to_string();
    let extra = ["--zone", &child, "--xdp-mode", "native", "--xdp-answers", "apex+delegations"];
    let server = XdpServer::start(&bed, &zones[0].1, &extra).unwrap_or_else(|e| panic!("{e}"));
    assert!(server.log().contains("XDP answers apex+delegations: "), "tier 0 on:\n{}", server.log());
    compare(&knot, |transport, q| {
        in_netns(&bed.client_ns, || dns::ask(server_v4(), transport, q)).unwrap_or_else(|e| panic!("{e}"))
    });
    let report = server.stop().unwrap_or_else(|e| panic!("{e}"));
    let counters = report.counters_text();
    let tier0 = report.answered_tier0();
    eprintln!("answered by the XDP program itself: {tier0}");
    // 13 of the mix's UDP queries are tier 0's today (the apexes' and the
    // delegations' types without ANY, plain or no OPT): a tier 0 answering
    // fewer than 10 has stopped answering what it should.
    assert!(tier0 >= 10, "tier 0 answered {tier0} of the compare queries:\n{counters}");
}

/// Every query asked of `ours` and of `knot`, compared (see the module
/// comment and [`ALLOWED`]).
fn compare(knot: &Knot, ours: impl Fn(Transport, &Question) -> Result<Reply, String>) {
    let mut unexplained = String::new();
    let mut used: BTreeMap<&str, usize> = ALLOWED.iter().map(|a| (a.id, 0)).collect();
    let mut kinds_seen = [0usize; 4]; // NOERROR with data, NODATA, NXDOMAIN, referral
    let mut over_tcp = 0;
    for (i, q) in queries().iter().enumerate() {
        // Over UDP first; a truncated answer is asked again over TCP, as a
        // resolver would, so that the full answers get compared too.
        for transport in [Transport::Udp, Transport::Tcp] {
            let mine = match ours(transport, q) {
                Ok(reply) => reply.normalised(),
                Err(e) => {
                    let _ = write!(unexplained, "\n#{i}: no answer from responder: {e}");
                    break;
                }
            };
            let theirs = dns::ask(knot.addr, transport, q).unwrap_or_else(|e| panic!("#{i} knotd: {e}")).normalised();
            if transport == Transport::Udp {
                tally(&mut kinds_seen, &theirs);
            } else {
                over_tcp += 1;
            }
            if mine != theirs {
                match ALLOWED.iter().find(|a| (a.applies)(q, &mine, &theirs)) {
                    Some(a) => *used.entry(a.id).or_default() += 1,
                    None => {
                        let _ = write!(
                            unexplained,
                            "\n#{i}: {} {} edns={:?} over {transport:?}\n  responder: {mine}\n  knotd:     {theirs}",
                            q.name,
                            type_name(q.qtype),
                            q.edns
                        );
                    }
                }
            }
            if !mine.tc && !theirs.tc {
                break;
            }
        }
    }
    assert!(over_tcp > 0, "no truncated answer: the TCP comparison never ran");
    eprintln!("answers (data, nodata, nxdomain, referral): {kinds_seen:?}");
    for a in ALLOWED {
        eprintln!("allowed difference {} seen {} time(s): {}", a.id, used[a.id], a.why);
    }
    assert!(unexplained.is_empty(), "answers differ from Knot's:{unexplained}");
    let stale: Vec<_> = used.iter().filter(|(_, &n)| n == 0).map(|(id, _)| *id).collect();
    assert!(stale.is_empty(), "allow-list entries that match nothing any more (remove them): {stale:?}");
    // The comparison is only worth something if it covered every kind of answer.
    assert!(kinds_seen.iter().all(|&n| n >= 10), "too few of some answer kind: {kinds_seen:?}");
}

fn tally(kinds: &mut [usize; 4], r: &Reply) {
    let kind = match (r.rcode, r.aa, r.answer.is_empty()) {
        (3, _, _) => 2,
        (0, true, false) => 0,
        (0, true, true) => 1,
        (0, false, true) => 3,
        _ => return,
    };
    kinds[kind] += 1;
}

#[test]
fn queries_are_deterministic_and_varied() {
    let (a, b) = (queries(), queries());
    assert_eq!(a.len(), QUERIES + 2 * CROSS_ZONE_DNAME.len());
    assert!(a.iter().zip(&b).all(|(x, y)| x.name == y.name && x.qtype == y.qtype && x.edns == y.edns));
    for t in TYPES {
        assert!(a.iter().any(|q| q.qtype == *t), "type {} never asked", type_name(*t));
    }
    for group in [EXISTING, EMPTY_NON_TERMINALS, NONEXISTENT, WILDCARD, DELEGATED, DNAME] {
        assert!(a.iter().any(|q| group.iter().any(|n| n.eq_ignore_ascii_case(&q.name))), "{group:?} never asked");
    }
    assert!(a.iter().any(|q| q.name.bytes().any(|c| c.is_ascii_uppercase())), "no mixed case");
    // Something must be truncated over UDP, so that TCP gets compared too.
    let small = |q: &Question| q.edns.is_none_or(|e| e.payload <= 512);
    let big = |q: &Question| q.name.eq_ignore_ascii_case("big.example.com.") && [TXT, ANY].contains(&q.qtype);
    assert!(a.iter().any(|q| big(q) && small(q)), "nothing truncated over UDP");
    assert!(a.iter().any(|q| q.edns.is_none()) && a.iter().any(|q| q.edns.is_some_and(|e| e.dnssec_ok)));
}
