//! A signed differential against Knot: one zone with every kind of name
//! (existing, missing, wildcard, empty non-terminal, delegated securely and
//! insecurely, below a DNAME), signed at test time with NSEC (Knot's
//! `kzonesign`) and with NSEC3 (`ldns-signzone`, salt, 0 iterations), each
//! served by responder and by knotd. 450 deterministic queries per zone,
//! many types, DO=0 and DO=1, CD set or not, EDNS sizes from none to 4096,
//! one in four in mixed case, are asked of both over UDP (and again over
//! TCP when truncated); the answers must agree record for record after
//! normalisation.
//!
//! Accepted differences, each for a stated reason: the case of names below
//! a DNAME (see `knot_compare`'s `dname-case`) and of the owners of DO=1
//! denial proofs (written as the zone spells them, where Knot points their
//! suffix at the question), compared case-insensitively (RFC 4343 §3);
//! CD, which we copy into the answer (RFC 4035 §3.1.6) and Knot 3.2 does
//! not; what a truncated UDP answer still holds (Knot keeps what fits, we
//! send no records), the TCP answers being compared instead; and, for at
//! most one query in twenty, an answer near the size limit that one server
//! truncates and the other does not (they compress differently), whose TCP
//! answers must then agree.
//!
//! Loopback only, no root needed. Needs knotd, keymgr, kzonesign,
//! ldns-keygen and ldns-signzone: under `CI=true` their absence is a failure.

use std::fmt::Write;
use std::time::Duration;

use responder_tests::daemon::installed;
use responder_tests::dns::{self, Edns, Question, Reply, Transport};
use responder_tests::knot::Knot;
use responder_tests::rdata::type_name;
use responder_tests::responder::{run, Server};
use responder_tests::signer;
use responder_tests::testbed::required_tools;

const ORIGIN: &str = "signed.test";

const ZONE: &str = r#"$ORIGIN signed.test.
$TTL 3600
@        SOA   ns1 hostmaster 2026120601 7200 900 1209600 300
@        NS    ns1
@        MX    10 mail
@        A     198.18.0.1
@        TXT   "v=spf1 -all"
@        CAA   0 issue "ca.example.net"
ns1      A     198.18.0.53
ns1      AAAA  fd00::53
mail     A     198.18.0.25
www      A     198.18.0.80
www      AAAA  fd00::80
www      TXT   "www"
alias    CNAME www
chain    CNAME alias
dangling CNAME nothere
ext      CNAME www.example.net.
deep.ent A     198.18.0.90
*.wild   A     198.18.1.1
*.wild   TXT   "wild"
sub.ent.wild A 198.18.1.2
*.cw     CNAME www
_sip._udp SRV  10 5 5060 www
sec      NS    ns.sec
sec      DS    12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sec   A     198.18.2.53
ins      NS    ns.ins
ns.ins   A     198.18.3.53
old      DNAME new
hop      DNAME old
w2       DNAME wild
dd       DNAME ins
toext    DNAME example.net.
www.new  A     198.18.0.81
alias.new CNAME www
big      TXT   "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT   "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT   "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT   "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"#;

const EXISTING: &[&str] = &[
    "signed.test.",
    "ns1.signed.test.",
    "mail.signed.test.",
    "www.signed.test.",
    "alias.signed.test.",
    "chain.signed.test.",
    "dangling.signed.test.",
    "ext.signed.test.",
    "deep.ent.signed.test.",
    "sub.ent.wild.signed.test.",
    "_sip._udp.signed.test.",
    "big.signed.test.",
    "www.new.signed.test.",
];
const MISSING: &[&str] = &[
    "nothere.signed.test.",
    "a.b.c.signed.test.",
    "x.www.signed.test.",
    "zzz.signed.test.",
    "aaa.signed.test.",
    "x.deep.ent.signed.test.",
    "x.sub.ent.wild.signed.test.",
];
const WILDCARD: &[&str] = &["x.wild.signed.test.", "a.b.wild.signed.test.", "q.cw.signed.test."];
const EMPTY_NON_TERMINALS: &[&str] =
    &["ent.signed.test.", "wild.signed.test.", "ent.wild.signed.test.", "_udp.signed.test.", "new.signed.test."];
const DELEGATED: &[&str] =
    &["sec.signed.test.", "www.sec.signed.test.", "ins.signed.test.", "www.ins.signed.test.", "ns.ins.signed.test."];
const BELOW_DNAME: &[&str] = &[
    "www.old.signed.test.",
    "alias.old.signed.test.",
    "nothere.old.signed.test.",
    "a.b.old.signed.test.",
    "www.hop.signed.test.",
    "x.w2.signed.test.",
    "sub.ent.w2.signed.test.",
    "www.dd.signed.test.",
    "www.toext.signed.test.",
    "old.signed.test.",
    "hop.signed.test.",
];
const DNAME_OWNERS: &[&str] =
    &["old.signed.test.", "hop.signed.test.", "w2.signed.test.", "dd.signed.test.", "toext.signed.test."];

const TYPES: &[u16] = &[1, 28, 15, 16, 2, 6, 5, 33, 43, 255, 257, 48, 47, 51, 39, 12];

const QUERIES: usize = 450;
const CD: u8 = 0x10;
const AD: u8 = 0x20;

/// Knuth's MMIX LCG, as in `knot_compare`: the same queries on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// A query and whether it sets CD.
fn queries() -> Vec<(Question, bool)> {
    let mut rng = Lcg(0xd0_5eed_0000_0012);
    let groups: [&[&str]; 6] = [EXISTING, MISSING, WILDCARD, EMPTY_NON_TERMINALS, DELEGATED, BELOW_DNAME];
    (0..QUERIES)
        .map(|i| {
            let group = groups[rng.next(groups.len())];
            let name = group[rng.next(group.len())];
            let qtype = TYPES[rng.next(TYPES.len())];
            let name: String = if rng.next(4) == 0 {
                name.chars().map(|c| if rng.next(2) == 0 { c.to_ascii_uppercase() } else { c }).collect()
            } else {
                name.to_string()
            };
            let mut q = Question::new(&name, qtype);
            q.id = i as u16;
            q.edns = match rng.next(8) {
                0 => None,
                1 => Some(Edns::with_payload(512)),
                2 | 3 => Some(Edns::with_payload(1232)),
                4 => Some(Edns { payload: 512, dnssec_ok: true, version: 0 }),
                5 => Some(Edns { payload: 4096, dnssec_ok: true, version: 0 }),
                _ => Some(Edns { payload: 1232, dnssec_ok: true, version: 0 }),
            };
            (q, rng.next(3) == 0)
        })
        .collect()
}

/// The answer and its header's CD and AD bits.
fn ask(server: std::net::SocketAddr, transport: Transport, q: &Question, cd: bool) -> Result<(Reply, u8), String> {
    let mut wire = q.to_wire()?;
    if cd {
        wire[3] |= CD;
    }
    let timeout = Duration::from_secs(3);
    let answer = match transport {
        Transport::Udp => dns::udp_exchange(server, &wire, timeout),
        Transport::Tcp => dns::tcp_exchange(server, &wire, timeout),
    }
    .map_err(|e| format!("{q:?} to {server}: {e}"))?;
    let bits = answer.get(3).map_or(0, |b| b & (CD | AD));
    Ok((Reply::decode(&answer)?.normalised(), bits))
}

#[test]
fn signed_answers_match_knot_for_450_queries() {
    let tools = ["knotd", "keymgr", "kzonesign", "ldns-keygen", "ldns-signzone"];
    let missing: Vec<&str> = tools.into_iter().filter(|t| !installed(t)).collect();
    if !required_tools("signed_answers_match_knot_for_450_queries", &missing) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let zones = [
        ("kzonesign NSEC", signer::with_knot(dir.path(), ORIGIN, ZONE)),
        ("ldns-signzone NSEC3", signer::with_ldns(dir.path(), "nsec3", ORIGIN, ZONE, false)),
    ];
    for (signer, file) in &zones {
        let zone_arg = format!("{ORIGIN}={}", file.display());
        let table = dir.path().join(format!("{}.table", signer.replace(' ', "_")));
        let compiled = run(&["compile", "-o", table.to_str().unwrap(), &zone_arg]).unwrap();
        assert!(compiled.status.success(), "{signer}: {}", String::from_utf8_lossy(&compiled.stderr));
        let knot = Knot::start(&[(ORIGIN, file.clone())]).unwrap_or_else(|e| panic!("{signer}: {e}"));
        let ours = Server::start(&["--table", table.to_str().unwrap()]).unwrap_or_else(|e| panic!("{signer}: {e}"));
        let mut differences = String::new();
        let (mut signed, mut truncated, mut sizes, mut rcodes) = (0, 0, 0, [0usize; 4]);
        for (i, (q, cd)) in queries().iter().enumerate() {
            let name = q.name.to_ascii_lowercase();
            let below_dname = DNAME_OWNERS.iter().any(|o| name.ends_with(&format!(".{o}")));
            let any_case = below_dname || q.edns.is_some_and(|e| e.dnssec_ok);
            let mut differ = |transport, what: &str, mine: &Reply, theirs: &Reply| {
                let _ = write!(
                    differences,
                    "\n#{i}: {} {} edns={:?} cd={cd} over {transport:?}: {what}\n  responder: {mine}\n  knotd:     {theirs}",
                    q.name,
                    type_name(q.qtype),
                    q.edns
                );
            };
            let (mine, my_bits) =
                ask(ours.v4, Transport::Udp, q, *cd).unwrap_or_else(|e| panic!("#{i} responder: {e}"));
            let (theirs, their_bits) =
                ask(knot.addr, Transport::Udp, q, *cd).unwrap_or_else(|e| panic!("#{i} knotd: {e}"));
            // CD is copied (RFC 4035 §3.1.6), which Knot 3.2 does not do; AD is never set by either.
            if my_bits != if *cd { CD } else { 0 } || their_bits & AD != 0 {
                differ(Transport::Udp, "CD not copied or AD set", &mine, &theirs);
            }
            signed += theirs.answer.iter().chain(&theirs.authority).any(|r| r.rtype == 46) as usize;
            rcodes[match theirs.rcode {
                0 if theirs.answer.is_empty() => 1,
                0 => 0,
                3 => 2,
                _ => 3,
            }] += 1;
            let header = |r: &Reply| (r.rcode, r.aa, r.tc, r.edns);
            match (mine.tc, theirs.tc) {
                (false, false) => {
                    if !same(&mine, &theirs, any_case) {
                        differ(Transport::Udp, "answers", &mine, &theirs);
                    }
                    continue;
                }
                // Knot keeps what fits of a truncated answer, we send none:
                // either way the client must retry over TCP (RFC 2181 §9).
                (true, true) if header(&mine) != header(&theirs) => differ(Transport::Udp, "headers", &mine, &theirs),
                (true, true) => truncated += 1,
                // Near the limit the two compress differently: one fits.
                _ => sizes += 1,
            }
            let (mine, _) = ask(ours.v4, Transport::Tcp, q, *cd).unwrap_or_else(|e| panic!("#{i} responder: {e}"));
            let (theirs, _) = ask(knot.addr, Transport::Tcp, q, *cd).unwrap_or_else(|e| panic!("#{i} knotd: {e}"));
            if !same(&mine, &theirs, any_case) {
                differ(Transport::Tcp, "answers", &mine, &theirs);
            }
        }
        assert!(differences.is_empty(), "{signer}: answers differ from knotd's:{differences}");
        eprintln!(
            "{signer}: {signed} signed answers, {truncated} truncated by both, {sizes} by one only, \
             (data, nodata, nxdomain, other) {rcodes:?}"
        );
        assert!(sizes <= QUERIES / 20, "{signer}: {sizes} answers truncated by one server only");
        // The mix is only worth something if it covered each kind of answer.
        assert!(signed >= 100 && truncated >= 3, "{signer}: {signed} signed, {truncated} truncated");
        assert!(rcodes[..3].iter().all(|&n| n >= 20), "{signer}: too few of some answer kind: {rcodes:?}");
    }
}

/// Equal record for record; with `any_case`, whatever the case of names.
fn same(mine: &Reply, theirs: &Reply, any_case: bool) -> bool {
    if any_case {
        mine.to_string().eq_ignore_ascii_case(&theirs.to_string())
    } else {
        mine == theirs
    }
}

#[test]
fn queries_cover_every_group_and_flag() {
    let q = queries();
    assert_eq!(q.len(), QUERIES);
    for group in [EXISTING, MISSING, WILDCARD, EMPTY_NON_TERMINALS, DELEGATED, BELOW_DNAME] {
        assert!(q.iter().any(|(q, _)| group.iter().any(|n| n.eq_ignore_ascii_case(&q.name))), "{group:?} never asked");
    }
    for t in TYPES {
        assert!(q.iter().any(|(q, _)| q.qtype == *t), "type {} never asked", type_name(*t));
    }
    assert!(q.iter().any(|(_, cd)| *cd) && q.iter().any(|(_, cd)| !*cd));
    assert!(q.iter().any(|(q, _)| q.edns.is_some_and(|e| e.dnssec_ok)) && q.iter().any(|(q, _)| q.edns.is_none()));
    assert!(q.iter().any(|(q, _)| q.name.bytes().any(|c| c.is_ascii_uppercase())));
}
