//! RRsets of thousands of records through the command line and a server
//! on loopback: `check`, `compile` and `serve` accept the same zones and
//! warn alike, an RRset that one message carries is answered in full over
//! TCP (TC over UDP), and one that no message can carry is answered as
//! Knot answers it (TC over UDP, SERVFAIL over TCP).
//!
//! Loopback only, no root needed. The comparison with Knot needs knotd:
//! under `CI=true` its absence is a failure, elsewhere that test skips.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Edns, Question, Reply, Transport, NOERROR};
use responder_tests::knot::{self, Knot};
use responder_tests::responder::{self, Server};
use responder_tests::testbed::required_tools;

const SERVFAIL: u16 = 2;
const HEAD: &str =
    "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 198.18.0.1\n";
/// The first record after [`HEAD`] is on this line.
const FIRST_LINE: usize = 6;
/// 4,000 A records take 64,000 bytes: one TCP message carries them.
const MANY: usize = 4000;
/// 5,000 TXT records take at least 75,000 bytes: no message can.
const HUGE: usize = 5000;

fn a_records(out: &mut String, owner: &str, count: usize) {
    for i in 0..count {
        let _ = writeln!(out, "{owner} A 198.{}.{}.{}", 18 + i / 64_000, i / 250 % 256, i % 250 + 1);
    }
}

fn txt_records(out: &mut String, owner: &str, count: usize) {
    for i in 0..count {
        let _ = writeln!(out, "{owner} TXT \"t{i}\"");
    }
}

/// `many` with [`MANY`] A records, then `huge` with [`HUGE`] TXT records.
fn big_zone(dir: &Path) -> PathBuf {
    let mut text = HEAD.to_string();
    a_records(&mut text, "many", MANY);
    txt_records(&mut text, "huge", HUGE);
    let path = dir.join("big.test.zone");
    std::fs::write(&path, text).unwrap();
    path
}

/// Where `huge`'s first record is in [`big_zone`].
fn huge_line() -> usize {
    FIRST_LINE + MANY
}

/// Runs `responder ARGS`; the exit status and the `file:line:` warnings.
fn run(args: &[&str]) -> (bool, Vec<String>, String) {
    let out = responder::run(args).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // Logged as `… WARN …/FILE:LINE: message`: kept from the path on.
    let warnings = stderr
        .lines()
        .filter_map(|l| l.find("WARN").map(|w| &l[w..]))
        .map(|l| l[l.find('/').unwrap_or(0)..].to_string())
        .collect();
    (out.status.success(), warnings, stderr)
}

fn ask(server: std::net::SocketAddr, transport: Transport, name: &str, qtype: u16) -> Reply {
    let q = Question::new(name, qtype).edns(Edns::with_payload(1232));
    dns::ask(server, transport, &q).unwrap_or_else(|e| panic!("{name} {qtype} over {transport:?}: {e}"))
}

/// What these tests compare: rcode, AA, TC and how many records came.
type Shape = (u16, bool, bool, usize);

fn shape(r: &Reply) -> Shape {
    (r.rcode, r.aa, r.tc, r.answer.len())
}

/// The queries, with what each must get over UDP and over TCP.
fn expected() -> Vec<(&'static str, u16, Shape, Shape)> {
    vec![
        ("many.big.test.", A, (NOERROR, true, true, 0), (NOERROR, true, false, MANY)),
        ("huge.big.test.", TXT, (NOERROR, true, true, 0), (SERVFAIL, false, false, 0)),
        ("ns1.big.test.", A, (NOERROR, true, false, 1), (NOERROR, true, false, 1)),
    ]
}

#[test]
fn rrsets_of_thousands_load_with_check_compile_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let zone = big_zone(dir.path()).display().to_string();
    let zone_dir = dir.path().display().to_string();
    let table = dir.path().join("big.tbl").display().to_string();
    let warning = format!("big.test.zone:{}: the {HUGE} TXT records of huge.big.test. ", huge_line());
    for args in [&["check", &zone][..], &["compile", &zone, "-o", &table]] {
        let (ok, warnings, stderr) = run(args);
        assert!(ok, "{args:?} failed:\n{stderr}");
        assert!(
            warnings.len() == 1 && warnings[0].starts_with(&format!("{zone_dir}/{warning}")),
            "{args:?}: {warnings:?}"
        );
    }
    for source in [["--zone", &zone], ["--table", &table]] {
        let server = Server::start(&source).unwrap_or_else(|e| panic!("cannot start responder {source:?}: {e}"));
        for (name, qtype, udp, tcp) in expected() {
            assert_eq!(shape(&ask(server.v4, Transport::Udp, name, qtype)), udp, "{source:?} {name} over UDP");
            assert_eq!(shape(&ask(server.v4, Transport::Tcp, name, qtype)), tcp, "{source:?} {name} over TCP");
        }
        let full = ask(server.v6, Transport::Tcp, "many.big.test.", A);
        let last = full.answer.last().unwrap();
        assert_eq!(last.rdata, [198, 18, 15, 250], "the last of the {MANY} records, in file order");
    }
}

#[test]
fn check_and_compile_agree_on_big_rrsets() {
    let dir = tempfile::tempdir().unwrap();
    // Around the old 255-record limit, a referral of 1,000 NS with their
    // glue, past what one message carries, and past the 16-bit counts.
    type Fill = fn(&mut String);
    let cases: [(&str, Fill); 5] = [
        ("255", |z| a_records(z, "a", 255)),
        ("256", |z| a_records(z, "a", 256)),
        ("1000-ns", |z| {
            for i in 0..1000 {
                let _ = writeln!(z, "d NS ns{i}.d");
                let _ = writeln!(z, "ns{i}.d A 198.18.1.1");
            }
        }),
        ("5000-txt", |z| txt_records(z, "t", 5000)),
        ("70000-a", |z| a_records(z, "a", 70_000)),
    ];
    for (name, fill) in cases {
        let mut text = HEAD.to_string();
        fill(&mut text);
        let zone = dir.path().join(format!("{name}.zone"));
        std::fs::write(&zone, text).unwrap();
        let zone = zone.display().to_string();
        let table = dir.path().join(format!("{name}.tbl")).display().to_string();
        let check = run(&["check", &zone]);
        let compile = run(&["compile", &zone, "-o", &table]);
        assert!(check.0 && compile.0, "{name}: check {}, compile {}:\n{}\n{}", check.0, compile.0, check.2, compile.2);
        assert_eq!(check.1, compile.1, "{name}: the same warnings");
        let too_big = name.ends_with("txt") || name.ends_with("70000-a");
        assert_eq!(check.1.len(), usize::from(too_big), "{name}: {:?}", check.1);
    }
}

#[test]
fn big_rrsets_are_answered_as_knot_answers_them() {
    if !required_tools("big_rrsets_are_answered_as_knot_answers_them", if knot::available() { &[] } else { &["knotd"] })
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zone = big_zone(dir.path());
    let knot = Knot::start(&[("big.test.", zone.clone())]).unwrap_or_else(|e| panic!("cannot start knotd: {e}"));
    let zone = zone.display().to_string();
    let ours = Server::start(&["--zone", &zone]).unwrap_or_else(|e| panic!("cannot start responder: {e}"));
    for (name, qtype, _, _) in expected() {
        for transport in [Transport::Udp, Transport::Tcp] {
            let theirs = ask(knot.addr, transport, name, qtype).normalised();
            let mine = ask(ours.v4, transport, name, qtype).normalised();
            assert_eq!(shape(&mine), shape(&theirs), "{name} over {transport:?}");
            assert_eq!(mine.answer, theirs.answer, "{name} over {transport:?}");
        }
    }
}
