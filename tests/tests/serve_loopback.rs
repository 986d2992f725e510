//! `responder serve` as a process on loopback: exact answers over UDP and
//! TCP, IPv4 and IPv6, checked with two independent clients (hickory-proto
//! and kdig), and the command line's error paths.
//!
//! Loopback only, no root needed. kdig is required under `CI=true`;
//! elsewhere its checks are skipped with a message when it is missing.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Edns, Question, Transport, BADVERS, CLASS_CH, FORMERR, NOERROR, NXDOMAIN, REFUSED};

/// SERVFAIL (RFC 1035 §4.1.1).
const SERVFAIL: u16 = 2;
use responder_tests::expect::{expect, Expect};
use responder_tests::kdig;
use responder_tests::responder::{self, workspace_root, Server};

const SOA_NEGATIVE: &str =
    "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300";

fn zone_dir() -> PathBuf {
    workspace_root().join("zones/tests/compare")
}

fn zone_args() -> Vec<String> {
    ["example.com.zone", "child.example.com.zone"]
        .iter()
        .flat_map(|f| ["--zone".to_string(), zone_dir().join(f).display().to_string()])
        .collect()
}

fn start(args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&args).unwrap_or_else(|e| panic!("cannot start responder: {e}"))
}

/// kdig is part of the test environment; without it (outside CI) only the
/// hickory half of the checks runs.
fn kdig_available(test: &str) -> bool {
    if kdig::available() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: CI=true but kdig is not installed");
    }
    eprintln!("{test}: kdig not installed: checking with hickory-proto only");
    false
}

/// Answers that every transport and both clients must see identically.
fn cases() -> Vec<Expect> {
    vec![
        expect("www.example.com.", A).answer(&["www.example.com. 3600 A 198.18.0.80"]),
        // The query's case is kept in the answer (RFC 4343).
        expect("WwW.ExAmple.COM.", AAAA).answer(&["WwW.ExAmple.COM. 3600 AAAA fd00::80"]),
        expect("example.com.", MX)
            .answer(&["example.com. 3600 MX 10 mail.example.com."])
            .additional(&["mail.example.com. 3600 A 198.18.0.25", "mail.example.com. 3600 AAAA fd00::25"]),
        expect("example.com.", NS)
            .answer(&["example.com. 3600 NS ns1.example.com.", "example.com. 3600 NS ns2.example.net."])
            .additional(&["ns1.example.com. 3600 A 198.18.0.53", "ns1.example.com. 3600 AAAA fd00::53"]),
        expect("_sip._udp.example.com.", SRV)
            .answer(&["_sip._udp.example.com. 3600 SRV 10 5 5060 www.example.com."])
            .additional(&["www.example.com. 3600 A 198.18.0.80", "www.example.com. 3600 AAAA fd00::80"]),
        expect("chain.example.com.", A).answer(&[
            "chain.example.com. 3600 CNAME alias.example.com.",
            "alias.example.com. 3600 CNAME www.example.com.",
            "www.example.com. 3600 A 198.18.0.80",
        ]),
        // RFC 6604: the rcode is the one of the chain's last name.
        expect("dangling.example.com.", A)
            .rcode(NXDOMAIN, true)
            .answer(&["dangling.example.com. 3600 CNAME nothere.example.com."])
            .authority(&[SOA_NEGATIVE]),
        expect("nosuch.example.com.", A).rcode(NXDOMAIN, true).authority(&[SOA_NEGATIVE]),
        expect("www.example.com.", TXT).authority(&[SOA_NEGATIVE]),
        expect("Foo.wild.example.com.", A).answer(&["Foo.wild.example.com. 3600 A 198.18.1.1"]),
        expect("a.b.wild.example.com.", TXT).answer(&["a.b.wild.example.com. 3600 TXT \"wild\""]),
        // An empty non-terminal blocks the wildcard.
        expect("ent.wild.example.com.", A).authority(&[SOA_NEGATIVE]),
        expect("x.cw.example.com.", AAAA)
            .answer(&["x.cw.example.com. 3600 CNAME www.example.com.", "www.example.com. 3600 AAAA fd00::80"]),
        // A referral: not authoritative, NS in authority, glue in additional.
        expect("host.deleg.example.com.", A)
            .rcode(NOERROR, false)
            .authority(&[
                "deleg.example.com. 3600 NS ns.deleg.example.com.",
                "deleg.example.com. 3600 NS ns.other.example.net.",
            ])
            .additional(&["ns.deleg.example.com. 3600 A 198.18.3.53", "ns.deleg.example.com. 3600 AAAA fd00::3:53"]),
        // DS belongs to the parent side of the cut.
        expect("deleg.example.com.", DS).answer(&[
            "deleg.example.com. 3600 DS 54321 13 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
        ]),
        // The child zone is served too: its own data, authoritatively.
        expect("www.child.example.com.", A).answer(&["www.child.example.com. 600 A 198.18.2.80"]),
        expect("nope.child.example.com.", A).rcode(NXDOMAIN, true).authority(&[
            "child.example.com. 60 SOA ns.child.example.com. hostmaster.child.example.com. 7 3600 600 86400 60",
        ]),
        // RFC 8482: ANY gets one RRset, not everything at the name.
        expect("mail.example.com.", ANY).answer(&["mail.example.com. 3600 A 198.18.0.25"]),
        expect("www.example.com.", A)
            .edns(Edns { payload: 4096, dnssec_ok: true, version: 0 })
            .answer(&["www.example.com. 3600 A 198.18.0.80"]),
        expect("www.example.com.", A).edns(Edns::with_payload(512)).answer(&["www.example.com. 3600 A 198.18.0.80"]),
        expect("example.net.", A).rcode(REFUSED, false),
        expect("id.server.", TXT).class(CLASS_CH).rcode(REFUSED, false),
        expect("version.bind.", TXT).class(CLASS_CH).rcode(REFUSED, false),
    ]
}

fn endpoints(server: &Server) -> [(SocketAddr, Transport); 4] {
    [(server.v4, Transport::Udp), (server.v6, Transport::Udp), (server.v4, Transport::Tcp), (server.v6, Transport::Tcp)]
}

#[test]
fn exact_answers_over_udp_and_tcp_v4_and_v6_with_two_clients() {
    let with_kdig = kdig_available("exact_answers_over_udp_and_tcp_v4_and_v6_with_two_clients");
    let server = start(&zone_args());
    for (addr, transport) in endpoints(&server) {
        for c in cases() {
            let via = format!("hickory {transport:?} {addr}");
            c.check(&dns::ask(addr, transport, &c.question).unwrap_or_else(|e| panic!("{e}")), &via);
            // kdig lowercases the names it asks for: it cannot ask a mixed-case question.
            let lowercase = !c.question.name.bytes().any(|b| b.is_ascii_uppercase());
            if with_kdig && lowercase {
                let via = format!("kdig {transport:?} {addr}");
                c.check(&kdig::ask(addr, transport, &c.question).unwrap_or_else(|e| panic!("{e}")), &via);
            }
        }
    }
}

#[test]
fn truncated_over_udp_then_complete_over_tcp() {
    let with_kdig = kdig_available("truncated_over_udp_then_complete_over_tcp");
    let server = start(&zone_args());
    let q = Question::new("big.example.com.", TXT);
    for addr in [server.v4, server.v6] {
        let mut replies = vec![(dns::ask(addr, Transport::Udp, &q), dns::ask(addr, Transport::Tcp, &q))];
        if with_kdig {
            replies.push((kdig::ask(addr, Transport::Udp, &q), kdig::ask(addr, Transport::Tcp, &q)));
        }
        for (udp, tcp) in replies {
            let (udp, tcp) = (udp.unwrap(), tcp.unwrap());
            // The five 100-byte strings do not fit in 512 bytes: TC, nothing
            // partial, and AA kept: it is about the question's name (RFC 1035 §4.1.1).
            assert!(udp.tc && udp.aa && udp.rcode == NOERROR, "{addr}: {udp}");
            assert!(udp.answer.is_empty() && udp.authority.is_empty() && udp.additional.is_empty(), "{udp}");
            assert!(!tcp.tc && tcp.aa, "{addr}: {tcp}");
            let answer = tcp.normalised().answer_text();
            assert_eq!(answer.len(), 5, "{answer:?}");
            for (i, rr) in answer.iter().enumerate() {
                assert!(rr.starts_with(&format!("big.example.com. 3600 TXT \"{i}123456789")), "{rr}");
            }
        }
        // With EDNS the same answer fits over UDP.
        let edns = dns::ask(addr, Transport::Udp, &q.clone().edns(Edns::with_payload(1232))).unwrap();
        assert!(!edns.tc && edns.answer.len() == 5, "{edns}");
    }
}

#[test]
fn unsupported_edns_version_gets_badvers() {
    let with_kdig = kdig_available("unsupported_edns_version_gets_badvers");
    let server = start(&zone_args());
    let q = Question::new("www.example.com.", A).edns(Edns { payload: 1232, dnssec_ok: false, version: 1 });
    let mut replies = vec![dns::ask(server.v4, Transport::Udp, &q).unwrap()];
    if with_kdig {
        replies.push(kdig::ask(server.v6, Transport::Tcp, &q).unwrap());
    }
    for r in replies {
        assert_eq!(r.rcode, BADVERS, "{r}");
        assert!(r.answer.is_empty(), "{r}");
        assert_eq!(r.edns.map(|e| (e.version, e.payload)), Some((0, 1232)), "{r}");
    }
}

#[test]
fn malformed_datagrams_get_formerr_or_nothing_and_the_server_keeps_answering() {
    let server = start(&zone_args());
    let good = Question::new("www.example.com.", A).to_wire().unwrap();
    let short_wait = Duration::from_millis(300);
    // Too short for a header, and a response (QR set): never answered.
    let mut response = good.clone();
    response[2] |= 0x80;
    for silent in [&good[..5], &response[..]] {
        let sent = dns::udp_exchange(server.v4, silent, short_wait);
        assert!(sent.is_err(), "answered {silent:02x?}: {sent:02x?}");
    }
    // A name running past the end, a label longer than 63, trailing garbage:
    // FORMERR if anything.
    let mut long_label = good.clone();
    long_label[12] = 64;
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0xde, 0xad]);
    for bad in [&good[..20], &long_label[..], &trailing[..]] {
        if let Ok(answer) = dns::udp_exchange(server.v4, bad, short_wait) {
            assert!(answer.len() >= 12, "{answer:02x?}");
            assert_eq!(answer[2] & 0x80, 0x80, "QR set");
            assert_eq!(answer[3] & 0x0f, FORMERR as u8, "FORMERR for {bad:02x?}: {answer:02x?}");
        }
    }
    // Still serving, on both transports.
    for t in [Transport::Udp, Transport::Tcp] {
        let r = dns::ask(server.v4, t, &Question::new("www.example.com.", A)).unwrap();
        assert_eq!(r.answer_text(), ["www.example.com. 3600 A 198.18.0.80"]);
    }
    assert!(server.daemon.log().lines().all(|l| !l.contains("panicked")), "{}", server.daemon.log());
}

#[test]
fn compiled_table_answers_like_the_zone_files() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("compare.tbl");
    let mut args = vec!["compile".to_string()];
    args.extend(zone_args().into_iter().filter(|a| a != "--zone"));
    args.extend(["-o".to_string(), table.display().to_string()]);
    let out = responder::run(&args.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    assert!(out.status.success(), "compile: {}", String::from_utf8_lossy(&out.stderr));

    let from_zones = start(&zone_args());
    let from_table = start(&["--table".to_string(), table.display().to_string()]);
    for c in cases() {
        for t in [Transport::Udp, Transport::Tcp] {
            let expected = dns::ask(from_zones.v4, t, &c.question).unwrap();
            let got = dns::ask(from_table.v6, t, &c.question).unwrap();
            assert_eq!(got, expected, "{:?} over {t:?}", c.question);
            c.check(&got, "table");
        }
    }
}

#[test]
fn stops_cleanly_on_sigterm() {
    let server = start(&zone_args());
    let (status, log) = server.daemon.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "exit {status}:\n{log}");
    assert!(log.contains("stopping"), "{log}");
}

// --- command-line error paths ---

fn stderr_of_failure(args: &[&str]) -> String {
    let out = responder::run(args).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} should fail; stderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(1), "{args:?}: an error exit, not a crash:\n{stderr}");
    stderr
}

#[test]
fn zone_file_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("broken.zone");
    std::fs::write(&zone, "$ORIGIN t.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 198.18.0.400\n").unwrap();
    let zone = zone.display().to_string();
    for cmd in [
        &["serve", "--user", "root", "--zone", &zone, "--listen", "127.0.0.1:0"][..],
        &["check", &zone],
        &["compile", &zone, "-o", "/dev/null"],
    ] {
        let stderr = stderr_of_failure(cmd);
        assert!(stderr.contains(&format!("{zone}:5")), "{cmd:?}: no file:line in:\n{stderr}");
    }
}

#[test]
fn nothing_to_listen_on_is_an_error() {
    let zone = zone_dir().join("child.example.com.zone").display().to_string();
    let stderr = stderr_of_failure(&["serve", "--user", "root", "--zone", &zone]);
    assert!(stderr.contains("nothing to serve on") && stderr.contains("--listen"), "{stderr}");
}

#[test]
fn listening_on_a_port_in_use_is_a_clear_error() {
    let zone = zone_dir().join("child.example.com.zone").display().to_string();
    // Held by this test, for UDP and TCP, for the whole run of the server.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr);
    let stderr = stderr_of_failure(&["serve", "--user", "root", "--zone", &zone, "--listen", &addr.to_string()]);
    assert!(stderr.contains(&addr.to_string()) && stderr.contains("in use"), "{stderr}");
    drop((udp, tcp));
}

#[test]
fn corrupt_or_foreign_tables_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("good.tbl");
    let zone = zone_dir().join("example.com.zone").display().to_string();
    let out = responder::run(&["compile", &zone, "-o", &table.display().to_string()]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let good = std::fs::read(&table).unwrap();
    assert!(good.len() > 200);

    // A table whose bytes are wrong past its structure is served, then
    // withdrawn (`a_corrupt_table_is_served_then_withdrawn`); one that is
    // not a table, or not all there, is refused at start.
    let mut version = good.clone();
    version[8] ^= 0x55;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("version.tbl", version, "format version"),
        ("short.tbl", good[..good.len() - 7].to_vec(), "truncated"),
        ("zone.tbl", std::fs::read(&zone).unwrap(), "not a responder table"),
        ("empty.tbl", Vec::new(), "not a responder table"),
    ];
    for (name, bytes, reason) in cases {
        let path = dir.path().join(name).display().to_string();
        std::fs::write(&path, bytes).unwrap();
        let stderr = stderr_of_failure(&["serve", "--user", "root", "--table", &path, "--listen", "127.0.0.1:0"]);
        assert!(stderr.contains(&path) && stderr.contains(reason), "{name}: {stderr}");
    }
    let missing = dir.path().join("missing.tbl").display().to_string();
    let stderr = stderr_of_failure(&["serve", "--user", "root", "--table", &missing, "--listen", "127.0.0.1:0"]);
    assert!(stderr.contains(&missing) && stderr.contains("No such file"), "{stderr}");
}

/// Fast restart (issue 14): a table file is served after its structural
/// checks alone, and its full check runs once it answers. A table whose
/// checksum is wrong (here the stored checksum itself: every answer in it
/// is still right) answers its first query from its data, then is
/// withdrawn: its zone answers SERVFAIL, as Knot answers a zone it could
/// not load, other names REFUSED, and the server keeps running.
#[test]
fn a_corrupt_table_is_served_then_withdrawn() {
    use responder_tests::daemon::{self, Daemon};
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("checksum.tbl");
    let zone = zone_dir().join("example.com.zone").display().to_string();
    let out = responder::run(&["compile", &zone, "-o", &table.display().to_string()]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[24] ^= 0x01;
    std::fs::write(&table, bytes).unwrap();

    let addr = SocketAddr::from(([127, 0, 0, 1], responder::free_port().unwrap()));
    let mut cmd = std::process::Command::new(responder::binary().unwrap());
    let listen = addr.to_string();
    let args = ["serve", "--table", table.to_str().unwrap(), "--listen", &listen, "--udp-workers", "1"];
    cmd.args(args).args(responder::as_root(&args));
    let mut server = Daemon::spawn(cmd, "responder serve", &dir.path().join("serve.log")).unwrap();
    let www = Question::new("www.example.com.", A);
    // The first answer the engine gives: no other client asks this server.
    let started = std::time::Instant::now();
    let first = loop {
        assert!(server.exited().is_none(), "the server exited:\n{}", server.log());
        assert!(started.elapsed() < Duration::from_secs(30), "no answer:\n{}", server.log());
        match dns::ask(addr, Transport::Udp, &www) {
            Ok(reply) => break reply,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert_eq!((first.rcode, first.answer.len()), (NOERROR, 1), "first answer: {first}\n{}", server.log());
    daemon::wait_for("the table withdrawn", Duration::from_secs(30), || {
        dns::ask(addr, Transport::Udp, &www).is_ok_and(|r| r.rcode == SERVFAIL && !r.aa)
    });
    let other = dns::ask(addr, Transport::Udp, &Question::new("example.net.", A)).unwrap();
    assert_eq!(other.rcode, REFUSED);
    assert!(server.exited().is_none(), "the server keeps running:\n{}", server.log());
    let log = server.log();
    assert!(log.contains("checksum mismatch") && log.contains("withdrawn"), "{log}");
}
