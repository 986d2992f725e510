//! DO=1 answers from a zone signed at test time by Knot (`keymgr` +
//! `kzonesign`, NSEC) and by ldns (`ldns-signzone`, NSEC3 with salt and 0
//! iterations, with and without opt-out): responder serving the compiled table and knotd
//! serving the same signed file get the same DO=1 questions, and the
//! answers must agree section by section after normalisation, over UDP and
//! TCP. Then `delv` (BIND's validating lookup tool) validates responder's
//! answers with the zone's KSK as its trust anchor: a copied signature that
//! does not verify, or a missing one, fails it.
//!
//! Covered so far: data at existing names with their RRSIGs (SOA, NS with
//! signed additional addresses, MX, A/AAAA, DNSKEY), CNAME chains, NODATA
//! and NODATA at an empty non-terminal, DS at signed and insecure
//! delegations, referrals to signed and unsigned children, NXDOMAIN (the
//! covering NSEC and the wildcard's), wildcard answers with the proof that
//! no closer name exists, wildcard NODATA; with NSEC3 the closest encloser
//! proofs of each; below a DNAME, the signed DNAME, the unsigned
//! synthesised CNAME and the substituted name's answer or proofs.
//!
//! The second test serves the NSEC and the NSEC3 opt-out zone through the
//! XDP data plane on a veth testbed (root): its UDP answers must equal the
//! kernel-socket server's, and `delv` in the client namespace validates
//! them.
//!
//! The first test is loopback only, no root needed. Needs knotd, keymgr,
//! kzonesign (Debian knot, knot-dnssecutils), ldns-keygen, ldns-signzone
//! (ldnsutils) and delv (bind9-dnsutils): under `CI=true` their absence (or
//! root's, for the second) is a failure.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use responder_tests::daemon::{installed, run_bounded};
use responder_tests::dns::{self, Edns, Question, Transport};
use responder_tests::knot::Knot;
use responder_tests::netns::in_netns;
use responder_tests::responder::{run, Server};
use responder_tests::signer;
use responder_tests::testbed::{privileged, required_tools, Testbed};
use responder_tests::xdp_server::{server_v4, XdpServer};

const ORIGIN: &str = "dnssec.test";

const ZONE: &str = r#"$ORIGIN dnssec.test.
$TTL 3600
@        SOA   ns1 hostmaster 2026120601 7200 900 1209600 300
@        NS    ns1
@        MX    10 mail
@        A     198.18.0.1
ns1      A     198.18.0.53
ns1      AAAA  fd00::53
mail     A     198.18.0.25
www      A     198.18.0.80
www      AAAA  fd00::80
alias    CNAME www
deep.ent A     198.18.0.90
*.wild   A     198.18.1.1
*.wild   TXT   "wild"
sub.ent.wild A 198.18.1.2
sec      NS    ns.sec
sec      DS    12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sec   A     198.18.2.53
ins      NS    ns.ins
ns.ins   A     198.18.3.53
old      DNAME new
w2       DNAME wild
www.new  A     198.18.0.81
alias.new CNAME www
"#;

const A: u16 = 1;
const NS: u16 = 2;
const SOA: u16 = 6;
const MX: u16 = 15;
const TXT: u16 = 16;
const AAAA: u16 = 28;
const DS: u16 = 43;
const DNSKEY: u16 = 48;
const DNAME: u16 = 39;

/// (name, type, what delv must say: positive or negative).
const CASES: &[(&str, u16, Validation)] = &[
    ("dnssec.test.", SOA, Validation::Positive),
    ("dnssec.test.", NS, Validation::Positive),
    ("dnssec.test.", MX, Validation::Positive),
    ("dnssec.test.", A, Validation::Positive),
    ("dnssec.test.", DNSKEY, Validation::Positive),
    ("www.dnssec.test.", A, Validation::Positive),
    ("WwW.DnsSec.test.", AAAA, Validation::Positive),
    ("ns1.dnssec.test.", AAAA, Validation::Positive),
    ("alias.dnssec.test.", A, Validation::Positive),
    ("deep.ent.dnssec.test.", A, Validation::Positive),
    ("sec.dnssec.test.", DS, Validation::Positive),
    ("www.dnssec.test.", TXT, Validation::Negative),
    ("dnssec.test.", TXT, Validation::Negative),
    ("ent.dnssec.test.", A, Validation::Negative),
    ("ins.dnssec.test.", DS, Validation::Negative),
    ("nothere.dnssec.test.", A, Validation::Negative),
    ("zzz.dnssec.test.", AAAA, Validation::Negative),
    ("a.b.c.dnssec.test.", A, Validation::Negative),
    ("x.www.dnssec.test.", A, Validation::Negative),
    ("x.wild.dnssec.test.", A, Validation::Wildcard),
    ("a.b.wild.dnssec.test.", TXT, Validation::Wildcard),
    ("x.wild.dnssec.test.", MX, Validation::Negative),
    ("ent.wild.dnssec.test.", A, Validation::Negative),
    ("x.sub.ent.wild.dnssec.test.", A, Validation::Negative),
    // Below a DNAME: the DNAME signed, the CNAME synthesised unsigned, then
    // the substituted name's answer with its signatures or denial proofs.
    ("www.old.dnssec.test.", A, Validation::Positive),
    ("alias.old.dnssec.test.", AAAA, Validation::Positive),
    ("www.old.dnssec.test.", TXT, Validation::NegativeAfterDname),
    ("nothere.old.dnssec.test.", A, Validation::NegativeAfterDname),
    ("a.b.old.dnssec.test.", AAAA, Validation::NegativeAfterDname),
    ("x.w2.dnssec.test.", A, Validation::Wildcard),
    ("x.w2.dnssec.test.", MX, Validation::NegativeAfterDname),
    ("old.dnssec.test.", DNAME, Validation::Positive),
    // Referrals: not validated by delv (it would follow them), compared only.
    ("www.sec.dnssec.test.", A, Validation::None),
    ("www.ins.dnssec.test.", A, Validation::None),
    ("ins.dnssec.test.", NS, Validation::None),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Validation {
    Positive,
    /// Synthesised from a wildcard: fully validated, except that under
    /// opt-out the NSEC3 covering the next closer name may leave it
    /// insecure (RFC 5155 §9.2), which delv says as "unsigned answer".
    Wildcard,
    Negative,
    /// Below a DNAME, a name or type that does not exist: delv validates
    /// the DNAME ("fully validated"), then reports the validated denial
    /// as its resolution's failure ("ncache nxdomain" or "ncache nxrrset").
    NegativeAfterDname,
    None,
}

/// Whether delv's output `out` says what `expected` wants.
fn validated(expected: Validation, signer: &str, out: &str) -> bool {
    let said: &[&str] = match expected {
        Validation::None => return true,
        Validation::Positive | Validation::NegativeAfterDname => &["; fully validated"],
        Validation::Wildcard if signer.contains("opt-out") => &["; fully validated", "; unsigned answer"],
        Validation::Wildcard => &["; fully validated"],
        Validation::Negative => &["; negative response, fully validated"],
    };
    let denied = ["ncache nxdomain", "ncache nxrrset"].iter().any(|d| out.contains(d));
    out.lines().any(|l| said.contains(&l.trim())) && (expected != Validation::NegativeAfterDname || denied)
}

#[test]
fn signed_answers_match_knot_and_validate() {
    let tools = ["knotd", "keymgr", "kzonesign", "ldns-keygen", "ldns-signzone", "delv"];
    let missing: Vec<&str> = tools.into_iter().filter(|t| !installed(t)).collect();
    if !required_tools("signed_answers_match_knot_and_validate", &missing) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let signed = [
        ("kzonesign NSEC", sign_with_knot(dir.path())),
        ("ldns-signzone NSEC3", sign_with_ldns(dir.path(), "nsec3", false)),
        ("ldns-signzone NSEC3 opt-out", sign_with_ldns(dir.path(), "optout", true)),
    ];
    for (signer, file) in &signed {
        compare_and_validate(signer, file, dir.path());
    }
}

/// The same zones served through the XDP data plane on a veth testbed: every
/// DO=1 answer over UDP equals the kernel-socket server's (which equals
/// knotd's, above), `delv` in the client namespace validates them, and the
/// answers really went through AF_XDP (the workers' counters).
#[test]
fn signed_answers_through_xdp_match_and_validate() {
    let test = "signed_answers_through_xdp_match_and_validate";
    let tools = ["keymgr", "kzonesign", "ldns-keygen", "ldns-signzone", "delv"];
    let missing: Vec<&str> = tools.into_iter().filter(|t| !installed(t)).collect();
    if !privileged(test) || !required_tools(test, &missing) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let signed = [
        ("kzonesign NSEC", sign_with_knot(dir.path())),
        ("ldns-signzone NSEC3 opt-out", sign_with_ldns(dir.path(), "optout", true)),
    ];
    let bed = Testbed::create("dnssec-xdp", 1).expect("testbed");
    for (signer, file) in &signed {
        let zone_arg = format!("{ORIGIN}={}", file.display());
        let kernel = Server::start(&["--zone", &zone_arg]).unwrap_or_else(|e| panic!("{signer}: {e}"));
        let xdp = XdpServer::start(&bed, Path::new(&zone_arg), &["--xdp-mode", "native"])
            .unwrap_or_else(|e| panic!("{signer}: {e}"));
        let mut differences = String::new();
        let mut asked = 0u64;
        for &(name, qtype, _) in CASES {
            let q = Question::new(name, qtype).edns(Edns { payload: 1232, dnssec_ok: true, version: 0 });
            let reference = dns::ask(kernel.v4, Transport::Udp, &q).unwrap_or_else(|e| panic!("{signer}: {e}"));
            let through_xdp = in_netns(&bed.client_ns, || dns::ask(server_v4(), Transport::Udp, &q))
                .and_then(|reply| reply)
                .unwrap_or_else(|e| panic!("{signer}: {e}"));
            asked += 1;
            let (reference, through_xdp) = (reference.normalised(), through_xdp.normalised());
            if reference != through_xdp {
                let _ = write!(differences, "\n{name} TYPE{qtype}\n  kernel: {reference}\n  xdp:    {through_xdp}");
            }
        }
        assert!(differences.is_empty(), "{signer}: XDP answers differ from the kernel path's:{differences}");
        let anchor = trust_anchor(file, dir.path());
        for &(name, qtype, expected) in CASES {
            if expected == Validation::None {
                continue;
            }
            let out = in_netns(&bed.client_ns, || delv(&anchor, server_v4(), name, qtype, false))
                .unwrap_or_else(|e| panic!("{signer}: {e}"));
            assert!(validated(expected, signer, &out), "{signer}: delv over XDP on {name} TYPE{qtype}: {out}");
        }
        let report = xdp.stop().unwrap_or_else(|e| panic!("{signer}: {e}"));
        assert!(
            report.tx() >= asked,
            "{signer}: fewer answers through AF_XDP than questions:\n{}",
            report.counters_text()
        );
    }
}

fn compare_and_validate(signer: &str, signed: &Path, dir: &Path) {
    let zone_arg = format!("{ORIGIN}={}", signed.display());
    let table = dir.join(format!("{}.table", signer.replace(' ', "_")));
    let compiled = run(&["compile", "-o", table.to_str().unwrap(), &zone_arg]).unwrap();
    assert!(compiled.status.success(), "{signer}: compile failed: {}", String::from_utf8_lossy(&compiled.stderr));

    let knot = Knot::start(&[(ORIGIN, signed.to_path_buf())]).unwrap_or_else(|e| panic!("{signer}: {e}"));
    let ours = Server::start(&["--table", table.to_str().unwrap()]).unwrap_or_else(|e| panic!("{signer}: {e}"));

    let mut differences = String::new();
    for &(name, qtype, _) in CASES {
        for transport in [Transport::Udp, Transport::Tcp] {
            let q = Question::new(name, qtype).edns(Edns { payload: 1232, dnssec_ok: true, version: 0 });
            let ask = |server, who| {
                dns::ask(server, transport, &q).unwrap_or_else(|e| panic!("{signer} {who}: {e}")).normalised()
            };
            let (mine, theirs) = (ask(ours.v4, "responder"), ask(knot.addr, "knotd"));
            let signatures = |r: &dns::Reply| r.answer.iter().chain(&r.authority).filter(|rr| rr.rtype == 46).count();
            let referral = !theirs.aa;
            assert!(
                signatures(&theirs) > 0 || referral,
                "{signer}: knotd signed nothing for {name} TYPE{qtype}: {theirs}"
            );
            if mine != theirs {
                let _ = write!(
                    differences,
                    "\n{name} TYPE{qtype} over {transport:?}\n  responder: {mine}\n  knotd:     {theirs}"
                );
            }
        }
    }
    assert!(differences.is_empty(), "{signer}: DO=1 answers differ from knotd's:{differences}");

    let anchor = trust_anchor(signed, dir);
    for &(name, qtype, expected) in CASES {
        if expected == Validation::None {
            continue;
        }
        for tcp in [false, true] {
            let out = delv(&anchor, ours.v4, name, qtype, tcp);
            assert!(validated(expected, signer, &out), "{signer}: delv on {name} TYPE{qtype} (tcp {tcp}): {out}");
        }
    }
    // The validator really validates: a DNSKEY it does not trust as anchor
    // makes the same positive answer fail.
    let wrong = dir.join("wrong.anchor");
    let text = std::fs::read_to_string(&anchor).unwrap();
    let key_at = text.rfind('"').and_then(|end| text[..end].rfind('"')).unwrap() + 11;
    let mut broken = text.into_bytes();
    broken[key_at] = if broken[key_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&wrong, broken).unwrap();
    let out = delv(&wrong, ours.v4, "www.dnssec.test.", A, false);
    assert!(!out.contains("; fully validated"), "{signer}: delv validated with a wrong anchor: {out}");
}

fn sign_with_ldns(dir: &Path, sub: &str, opt_out: bool) -> PathBuf {
    signer::with_ldns(dir, sub, ORIGIN, ZONE, opt_out)
}

fn sign_with_knot(dir: &Path) -> PathBuf {
    signer::with_knot(dir, ORIGIN, ZONE)
}

/// delv's trust anchor file: the zone's KSK (flags 257) as a static key.
fn trust_anchor(signed: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(signed).expect("signed zone");
    let ksk = text
        .lines()
        .map(|l| l.split(';').next().unwrap_or_default().split_whitespace().collect::<Vec<_>>())
        .find_map(|f| {
            let at = f.iter().position(|w| *w == "DNSKEY")?;
            (f.get(at + 1) == Some(&"257"))
                .then(|| (f[at + 2].to_string(), f[at + 3].to_string(), f[at + 4..].concat()))
        })
        .expect("a KSK in the signed zone");
    let anchor = dir.join("ta.conf");
    let body = format!("trust-anchors {{ \"{ORIGIN}.\" static-key 257 {} {} \"{}\"; }};\n", ksk.0, ksk.1, ksk.2);
    std::fs::write(&anchor, body).expect("write anchor");
    anchor
}

fn delv(anchor: &Path, server: std::net::SocketAddr, name: &str, qtype: u16, tcp: bool) -> String {
    let mut cmd = Command::new("delv");
    cmd.arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string()])
        .arg("-a")
        .arg(anchor)
        .arg(format!("+root={ORIGIN}"))
        .arg(if tcp { "+tcp" } else { "+notcp" })
        .args([name, &format!("TYPE{qtype}")]);
    let shown = format!("{cmd:?}");
    let out = run_bounded(&mut cmd, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{shown}: {e}"));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}
