//! A signed differential against Knot: one zone with every kind of name
//! (existing, missing, wildcard, empty non-terminal, delegated securely and
//! insecurely, below a DNAME, below a DNAME into a served child), signed at test time with NSEC (Knot's
//! `kzonesign`) and with NSEC3 (`ldns-signzone`, salt, 0 iterations), each
//! served by responder and by knotd. 450 deterministic queries per zone,
//! many types, DO=0 and DO=1, CD set or not, EDNS sizes from none to 4096,
//! one in four in mixed case, are asked of both over UDP (and again over
//! TCP when truncated); the answers must agree record for record after
//! normalisation, names case for case, with no allow-list. Every answer
//! must be as long as Knot's (proof owners point at the question's suffix
//! as Knot's do), so both truncate the same answers; only through a DNAME
//! may ours be shorter (Knot writes the substituted name's owners again,
//! ours point at it), and an answer that then fits only ours must be
//! Knot's whole answer as it gives it over TCP.
//!
//! Two things are asserted rather than compared, because the RFCs decide
//! them: CD, which RFC 4035 §3.1.6 says to copy into the answer, must be
//! copied (Knot 3.2 does not copy it), and AD is set by neither. A
//! truncated UDP answer must have the same header as Knot's (rcode, AA,
//! TC, EDNS), and the full answers are then compared over TCP: what a TC=1
//! answer holds besides is not used (RFC 2181 §9: the client retries over
//! TCP; RFC 4035 §3.1.1 leaves a signed RRset without its RRSIGs unusable).
//! Knot keeps the whole RRsets that fit; we send the question alone, so
//! that an answer pushed over the limit is never larger than its query
//! (DESIGN.md, "Amplification").
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
kid      NS    ns.kid
kid      DS    23456 13 2 abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789
ns.kid   A     198.18.4.53
kin      NS    ns.kin
ns.kin   A     198.18.5.53
tokid    DNAME kid
tokin    DNAME kin
www.new  A     198.18.0.81
alias.new CNAME www
big      TXT   "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT   "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT   "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big      TXT   "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"#;

/// Children served alongside (unsigned), delegated to securely (`kid`) and
/// insecurely (`kin`): a DNAME pointing into one gets the parent's
/// referral, with the DS or the proof of none, as Knot answers.
const CHILDREN: [(&str, &str); 2] = [
    ("kid.signed.test", "$ORIGIN kid.signed.test.\n$TTL 600\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 198.18.4.53\nwww A 198.18.4.80\n"),
    ("kin.signed.test", "$ORIGIN kin.signed.test.\n$TTL 600\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 198.18.5.53\nwww A 198.18.5.80\n"),
];

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

/// Through a DNAME into a served child (the parent's referral: DS, or the
/// proof of none), each asked with DO=0 and DO=1 after the random mix,
/// which they leave as it was.
const INTO_CHILDREN: &[(&str, u16)] =
    &[("www.tokid.signed.test.", 1), ("nothere.tokid.signed.test.", 16), ("a.b.tokin.signed.test.", 28)];

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
        .chain(INTO_CHILDREN.iter().flat_map(|&(name, qtype)| {
            [None, Some(Edns { payload: 1232, dnssec_ok: true, version: 0 })].map(|edns| {
                let mut q = Question::new(name, qtype);
                q.edns = edns;
                (q, false)
            })
        }))
        .collect()
}

/// An answer as asked of one server.
struct Answer {
    reply: Reply,
    /// Its header's CD and AD bits.
    bits: u8,
    /// Its length on the wire.
    len: usize,
}

fn ask(server: std::net::SocketAddr, transport: Transport, q: &Question, cd: bool) -> Result<Answer, String> {
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
    Ok(Answer { reply: Reply::decode(&answer)?.normalised(), bits, len: answer.len() })
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
    let children: Vec<(&str, std::path::PathBuf)> = CHILDREN
        .iter()
        .map(|(origin, text)| {
            let file = dir.path().join(format!("{origin}.zone"));
            std::fs::write(&file, text).expect("child zone written");
            (*origin, file)
        })
        .collect();
    for (signer, file) in &zones {
        let served: Vec<(&str, std::path::PathBuf)> =
            std::iter::once((ORIGIN, file.clone())).chain(children.iter().cloned()).collect();
        let zone_args: Vec<String> = served.iter().map(|(o, f)| format!("{o}={}", f.display())).collect();
        let table = dir.path().join(format!("{}.table", signer.replace(' ', "_")));
        let mut args = vec!["compile", "-o", table.to_str().unwrap()];
        args.extend(zone_args.iter().map(String::as_str));
        let compiled = run(&args).unwrap();
        assert!(compiled.status.success(), "{signer}: {}", String::from_utf8_lossy(&compiled.stderr));
        let knot = Knot::start(&served).unwrap_or_else(|e| panic!("{signer}: {e}"));
        let ours = Server::start(&["--table", table.to_str().unwrap()]).unwrap_or_else(|e| panic!("{signer}: {e}"));
        let mut differences = String::new();
        let (mut signed, mut truncated, mut fitted, mut rcodes) = (0, 0, 0, [0usize; 4]);
        for (i, (q, cd)) in queries().iter().enumerate() {
            let mut differ = |transport, what: &str, mine: &Answer, theirs: &Answer| {
                let _ = write!(
                    differences,
                    "\n#{i}: {} {} edns={:?} cd={cd} over {transport:?}: {what}\n  responder ({} bytes): {}\n  knotd     ({} bytes): {}",
                    q.name,
                    type_name(q.qtype),
                    q.edns,
                    mine.len,
                    mine.reply,
                    theirs.len,
                    theirs.reply,
                );
            };
            let mine = ask(ours.v4, Transport::Udp, q, *cd).unwrap_or_else(|e| panic!("#{i} responder: {e}"));
            let theirs = ask(knot.addr, Transport::Udp, q, *cd).unwrap_or_else(|e| panic!("#{i} knotd: {e}"));
            // Not a comparison: RFC 4035 §3.1.6 has CD copied, which Knot 3.2
            // does not do, and AD must be set by neither.
            if mine.bits != if *cd { CD } else { 0 } || theirs.bits & AD != 0 {
                differ(Transport::Udp, "CD not copied or AD set", &mine, &theirs);
            }
            let (m, t) = (&mine.reply, &theirs.reply);
            signed += t.answer.iter().chain(&t.authority).any(|r| r.rtype == 46) as usize;
            rcodes[match t.rcode {
                0 if t.answer.is_empty() => 1,
                0 => 0,
                3 => 2,
                _ => 3,
            }] += 1;
            let header = |r: &Reply| (r.rcode, r.aa, r.tc, r.edns);
            if !m.tc && !t.tc {
                if m != t {
                    differ(Transport::Udp, "answers", &mine, &theirs);
                } else if !same_size(&mine, &theirs) {
                    differ(Transport::Udp, "sizes", &mine, &theirs);
                }
                continue;
            }
            if !m.tc {
                // Knot's longer answer did not fit: ours must be Knot's
                // whole answer, as it gives it over TCP, only shorter.
                let full = ask(knot.addr, Transport::Tcp, q, *cd).unwrap_or_else(|e| panic!("#{i} knotd: {e}"));
                if mine.reply != full.reply || !same_size(&mine, &full) {
                    differ(Transport::Udp, "one truncated", &mine, &theirs);
                }
                fitted += 1;
                continue;
            }
            // What a TC=1 answer holds besides its header is not used: the
            // full answers are compared over TCP.
            if header(m) != header(t) {
                differ(Transport::Udp, "headers", &mine, &theirs);
            }
            truncated += 1;
            let mine = ask(ours.v4, Transport::Tcp, q, *cd).unwrap_or_else(|e| panic!("#{i} responder: {e}"));
            let theirs = ask(knot.addr, Transport::Tcp, q, *cd).unwrap_or_else(|e| panic!("#{i} knotd: {e}"));
            if mine.reply != theirs.reply {
                differ(Transport::Tcp, "answers", &mine, &theirs);
            } else if !same_size(&mine, &theirs) {
                differ(Transport::Tcp, "sizes", &mine, &theirs);
            }
        }
        assert!(differences.is_empty(), "{signer}: answers differ from knotd's:{differences}");
        eprintln!(
            "{signer}: {signed} signed answers, {truncated} truncated, {fitted} fitting only ours, \
             (data, nodata, nxdomain, other) {rcodes:?}"
        );
        // The mix is only worth something if it covered each kind of answer.
        assert!(signed >= 100 && truncated >= 3, "{signer}: {signed} signed, {truncated} truncated");
        assert!(rcodes[..3].iter().all(|&n| n >= 20), "{signer}: too few of some answer kind: {rcodes:?}");
    }
}

/// As long as Knot's answer. Through a DNAME ours may be shorter, never
/// longer: Knot writes the owners of the substituted name's records again
/// against the question, where ours point at that name where the CNAME
/// wrote it (the same names, case for case, in fewer bytes).
fn same_size(mine: &Answer, theirs: &Answer) -> bool {
    let dname = mine.reply.answer.iter().any(|r| r.rtype == 39);
    mine.len == theirs.len || dname && mine.len < theirs.len
}

#[test]
fn queries_cover_every_group_and_flag() {
    let q = queries();
    assert_eq!(q.len(), QUERIES + 2 * INTO_CHILDREN.len());
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
