//! responder as a primary on loopback (issue 13): AXFR and IXFR out to the
//! clients a zone's `acl` allows, checked by kdig (which verifies every
//! TSIG of the stream), strangers and wrong keys refused, and knotd as a
//! secondary of responder following a reload by NOTIFY and IXFR.
//!
//! Loopback only, no root needed. Needs kdig, knotd and knotc: under
//! `CI=true` their absence is a failure, elsewhere the tests skip with a
//! message. Every wait is bounded (seconds).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use responder_tests::daemon::{run_bounded, wait_for, Daemon};
use responder_tests::dns::rtype::SOA;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::responder::{binary, free_port, serve_config};
use responder_tests::testbed::required_tools;
use responder_tests::{kdig, knot};

const ZONE: &str = "example.test.";
const SECRET: &str = "b3V0Ym91bmQtdHJhbnNmZXJzLWFyZS1zaWduZWQ=";
const OTHER_SECRET: &str = "c29tZWJvZHktZWxzZXMta2V5LXNlY3JldC12YWx1ZQ==";

/// Enough TXT records that an AXFR takes several messages.
const FILLER: usize = 600;

fn zone_text(serial: u32, extra: &str) -> String {
    let mut text =
        format!("$ORIGIN {ZONE}\n$TTL 60\n@ SOA ns hostmaster {serial} 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\n");
    for i in 0..FILLER {
        text.push_str(&format!("t{i} TXT \"filler record {i} to make the zone span several messages\"\n"));
    }
    text.push_str(extra);
    text
}

/// responder serving `ZONE` from a file, sent out to the `xfr` key from
/// loopback, with NOTIFY to `notify` (a port on 127.0.0.1) if given.
struct Primary {
    daemon: Option<Daemon>,
    addr: SocketAddr,
    dir: PathBuf,
    /// `--metrics`, when started with one.
    metrics: Option<SocketAddr>,
}

impl Primary {
    fn start(dir: &Path, notify: Option<u16>) -> Primary {
        std::fs::write(dir.join("example.test.zone"), zone_text(1, "old A 198.18.0.1\n")).unwrap();
        let port = free_port().unwrap();
        let (remote, notify_list) = match notify {
            Some(p) => (
                format!("[[remote]]\nid = \"sec\"\naddress = \"127.0.0.1@{p}\"\nkey = \"xfr\"\n\n"),
                "notify = [\"sec\"]\n",
            ),
            None => (String::new(), ""),
        };
        let metrics = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port().unwrap()));
        let conf = format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\nudp-workers = 1\nuser = \"root\"\n\n\
             [control]\nlisten = \"ctl.sock\"\nmetrics = \"{metrics}\"\n\n\
             [[key]]\nid = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\n\
             [[acl]]\nid = \"to-secondaries\"\naddress = \"127.0.0.0/8\"\nkey = \"xfr\"\naction = \"transfer\"\n\n\
             {remote}\
             [[zone]]\nname = \"{ZONE}\"\nfile = \"example.test.zone\"\nacl = [\"to-secondaries\"]\n{notify_list}",
        );
        std::fs::write(dir.join("responder.toml"), &conf).unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let daemon = serve_config(&dir.join("responder.toml"), addr, &dir.join("responder.log"));
        Primary { daemon: Some(daemon), addr, dir: dir.into(), metrics: Some(metrics) }
    }

    fn ctl(&self, request: &str) -> Value {
        responder_tests::responder::ctl(&self.dir, request, Duration::from_secs(10))
    }

    /// `ctl stats`' transfers out of `ZONE`: `{kind: {result: count}}`.
    fn transfers_out(&self) -> Value {
        self.ctl("stats")["transfers"]["out"][ZONE].clone()
    }

    /// Waits (bounded) until `what` of `ctl stats`' transfers is `expected`:
    /// a stream is counted as it ends, a moment after the client has it all.
    fn wait_for_counts(&self, what: &str, expected: Value) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let transfers = self.ctl("stats")["transfers"].clone();
            let got = &transfers[what][ZONE];
            if *got == expected {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: {got} is not {expected}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /metrics`, the body.
    fn metrics(&self) -> String {
        use std::io::Read;
        let mut stream = std::net::TcpStream::connect(self.metrics.expect("started with --metrics")).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    }

    fn log(&self) -> String {
        self.daemon.as_ref().map(|d| d.log()).unwrap_or_default()
    }

    /// A new zone file, then `ctl reload`.
    fn change(&self, text: &str) {
        std::fs::write(self.dir.join("example.test.zone"), text).unwrap();
        let reply = responder_tests::responder::ctl(&self.dir, "reload", Duration::from_secs(20));
        assert_eq!(reply["ok"], true, "reload: {reply}");
    }

    fn kdig(&self, key: Option<(&str, &str)>, args: &[&str]) -> String {
        let mut cmd = Command::new("kdig");
        cmd.arg(format!("@{}", self.addr.ip())).arg("-p").arg(self.addr.port().to_string());
        if let Some((name, secret)) = key {
            cmd.arg("-y").arg(format!("hmac-sha256:{name}:{secret}"));
        }
        cmd.args(["+retry=0", "+timeout=5"]).args(args);
        let out = run_bounded(&mut cmd, Duration::from_secs(20)).unwrap();
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }
}

impl Drop for Primary {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- responder log ---\n{}", self.log());
        }
    }
}

/// kdig's `;; Received N B (M messages, K records)` line: (M, K).
fn received(output: &str) -> Option<(usize, usize)> {
    let line = output.lines().find(|l| l.starts_with(";; Received") && l.contains("messages"))?;
    let inside = line.split('(').nth(1)?.trim_end_matches(')');
    let mut numbers = inside.split(", ").map(|part| part.split(' ').next().and_then(|n| n.parse().ok()));
    Some((numbers.next()??, numbers.next()??))
}

/// The records kdig printed (lines not starting with `;`), TSIGs left out.
fn records(output: &str) -> Vec<&str> {
    output.lines().filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("\tTSIG\t")).collect()
}

/// The TSIG records kdig printed: one per signed message it checked.
fn tsigs(output: &str) -> usize {
    output.lines().filter(|l| l.contains("\tTSIG\t")).count()
}

#[test]
fn kdig_pulls_signed_axfr_and_ixfr_and_strangers_are_refused() {
    if !required_tools(
        "kdig_pulls_signed_axfr_and_ixfr_and_strangers_are_refused",
        if kdig::available() { &[] } else { &["kdig"] },
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let primary = Primary::start(dir.path(), None);
    let key = Some(("xfr", SECRET));

    // AXFR, signed: every record, over several messages, each TSIG checked.
    let axfr = primary.kdig(key, &["AXFR", ZONE]);
    let (messages, count) = received(&axfr).unwrap_or_else(|| panic!("no transfer:\n{axfr}"));
    // SOA, NS, ns A, old A and the filler, then the SOA again.
    assert_eq!(count, FILLER + 5, "{axfr}");
    assert!(messages > 1, "{axfr}");
    assert!(tsigs(&axfr) == messages && !axfr.contains(";; ERROR"), "every message signed:\n{axfr}");
    assert!(
        primary.log().contains("AXFR out: zone example.test. serial 1 to 127.0.0.1 (key xfr)"),
        "{}",
        primary.log()
    );

    // Unsigned: REFUSED; another secret: NOTAUTH (BADSIG); an unknown key:
    // NOTAUTH (BADKEY). None of them gets a record.
    let unsigned = primary.kdig(None, &["AXFR", ZONE]);
    assert!(unsigned.contains("REFUSED") && records(&unsigned).is_empty(), "{unsigned}");
    let wrong = primary.kdig(Some(("xfr", OTHER_SECRET)), &["AXFR", ZONE]);
    assert!(wrong.contains("BADSIG") && records(&wrong).is_empty(), "{wrong}");
    let unknown = primary.kdig(Some(("stranger", SECRET)), &["AXFR", ZONE]);
    assert!(unknown.contains("BADKEY") && records(&unknown).is_empty(), "{unknown}");
    let unsigned_ixfr = primary.kdig(None, &["IXFR=1", ZONE]);
    assert!(unsigned_ixfr.contains("REFUSED"), "{unsigned_ixfr}");
    // Refusals are counted before they are sent; the AXFR as its stream ends.
    primary.wait_for_counts("out", json!({"axfr": {"served": 1, "refused": 1, "notauth": 2}, "ixfr": {"refused": 1}}));
    let metrics = primary.metrics();
    for line in [
        "responder_transfers_out_total{zone=\"example.test.\",kind=\"axfr\",result=\"refused\"} 1\n",
        "responder_transfers_out_total{zone=\"example.test.\",kind=\"axfr\",result=\"notauth\"} 2\n",
        "responder_transfers_out_total{zone=\"example.test.\",kind=\"axfr\",result=\"served\"} 1\n",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }

    // Serial 2: `old` goes, `new` comes.
    primary.change(&zone_text(2, "new A 198.18.0.2\n"));
    wait_for("serial 2", Duration::from_secs(10), || {
        dns::ask(primary.addr, Transport::Udp, &Question::new(ZONE, SOA))
            .is_ok_and(|r| r.answer.first().is_some_and(|rr| rr.to_string().contains(" 2 3600 ")))
    });

    // IXFR from 1: the condensed difference, signed.
    let ixfr = primary.kdig(key, &["IXFR=1", ZONE]);
    let lines = records(&ixfr);
    assert_eq!(lines.len(), 6, "SOA 2, SOA 1, -old, SOA 2, +new, SOA 2:\n{ixfr}");
    assert!(lines[1].contains(" 1 3600 ") && lines[2].starts_with("old.") && lines[4].starts_with("new."), "{ixfr}");
    assert!(
        primary.log().contains("IXFR out: zone example.test. serial 2 to 127.0.0.1 (key xfr): 6 records"),
        "{}",
        primary.log()
    );

    // From the current serial: the SOA alone. From one never served: the
    // whole zone, as AXFR would send it.
    let current = primary.kdig(key, &["IXFR=2", ZONE]);
    assert_eq!(records(&current).len(), 1, "{current}");
    let unknown_serial = primary.kdig(key, &["IXFR=7777", ZONE]);
    assert_eq!(records(&unknown_serial).len(), 1, "a serial ahead of ours is told it is current:\n{unknown_serial}");
    let gone = primary.kdig(key, &["IXFR=0", ZONE]);
    assert_eq!(received(&gone).map(|(_, n)| n), Some(FILLER + 5), "{gone}");

    // Over UDP the SOA alone, signed.
    let udp = primary.kdig(key, &["+notcp", "IXFR=1", ZONE]);
    assert!(udp.contains("NOERROR") && records(&udp).len() == 1, "{udp}");
    assert!(records(&udp)[0].contains(" 2 3600 "), "{udp}");

    primary.wait_for_counts(
        "out",
        json!({
            "axfr": {"served": 1, "refused": 1, "notauth": 2},
            "ixfr": {"served": 1, "refused": 1},
            "ixfr_up_to_date": {"served": 2},
            "ixfr_as_axfr": {"served": 1},
            "ixfr_udp": {"served": 1},
        }),
    );
    assert_eq!(primary.transfers_out()["axfr"]["aborted"], Value::Null, "nothing cut short");
}

/// knotd as a secondary of `primary`, with the `xfr` key, taking NOTIFY
/// from it.
struct KnotSecondary {
    daemon: Option<Daemon>,
    addr: SocketAddr,
}

impl KnotSecondary {
    fn start(dir: &Path, port: u16, primary: SocketAddr) -> KnotSecondary {
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let conf = format!(
            "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    udp-workers: 1\n    tcp-workers: 1\n    \
             background-workers: 1\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n    storage: {d}/db\n\
             key:\n  - id: xfr\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
             remote:\n  - id: responder\n    address: {ip}@{pport}\n    key: xfr\n\
             acl:\n  - id: notify-from-responder\n    address: 127.0.0.1\n    key: xfr\n    action: notify\n\
             template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    journal-content: changes\n\
             zone:\n  - domain: {ZONE}\n    file: secondary.zone\n    master: responder\n    \
             acl: notify-from-responder\n",
            d = dir.display(),
            ip = primary.ip(),
            pport = primary.port(),
        );
        std::fs::write(dir.join("knot.conf"), conf).unwrap();
        let mut cmd = Command::new("knotd");
        cmd.arg("-c").arg(dir.join("knot.conf"));
        let mut daemon = Daemon::spawn(cmd, "knotd", &dir.join("knotd.log")).unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        daemon.wait_until_answering(addr, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
        KnotSecondary { daemon: Some(daemon), addr }
    }

    fn serial(&self) -> Option<u32> {
        let reply = dns::ask(self.addr, Transport::Udp, &Question::new(ZONE, SOA)).ok()?;
        let soa = reply.answer.first()?.to_string();
        // `example.test. 60 SOA ns. hostmaster. SERIAL ...`
        soa.split_whitespace().nth(5)?.parse().ok()
    }

    fn log(&self) -> String {
        self.daemon.as_ref().map(|d| d.log()).unwrap_or_default()
    }
}

impl Drop for KnotSecondary {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- knotd log ---\n{}", self.log());
        }
        if let Some(daemon) = self.daemon.take() {
            let _ = daemon.terminate(Duration::from_secs(10));
        }
    }
}

#[test]
fn knotd_as_a_secondary_follows_a_reload_by_notify_and_ixfr() {
    let missing: &[&str] = if knot::available() { &[] } else { &["knotd", "knotc"] };
    if !required_tools("knotd_as_a_secondary_follows_a_reload_by_notify_and_ixfr", missing) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (primary_dir, secondary_dir) = (dir.path().join("primary"), dir.path().join("secondary"));
    std::fs::create_dir_all(&primary_dir).unwrap();
    std::fs::create_dir_all(&secondary_dir).unwrap();
    let knot_port = free_port().unwrap();
    let primary = Primary::start(&primary_dir, Some(knot_port));
    let secondary = KnotSecondary::start(&secondary_dir, knot_port, primary.addr);

    wait_for("knotd's first transfer", Duration::from_secs(20), || secondary.serial() == Some(1));
    assert!(secondary.log().contains("AXFR, incoming"), "{}", secondary.log());

    primary.change(&zone_text(2, "new A 198.18.0.2\n"));
    // NOTIFY, then knotd's SOA query and IXFR: well within the SOA's
    // refresh (an hour), so only NOTIFY can have brought it.
    wait_for("serial 2 on knotd", Duration::from_secs(15), || secondary.serial() == Some(2));
    let log = secondary.log();
    assert!(log.contains("IXFR, incoming") && log.contains("finished"), "{log}");
    let answer = dns::ask(secondary.addr, Transport::Udp, &Question::new(&format!("new.{ZONE}"), 1)).unwrap();
    assert_eq!(answer.answer.len(), 1, "the added record is served by knotd");
    let gone = dns::ask(secondary.addr, Transport::Udp, &Question::new(&format!("old.{ZONE}"), 1)).unwrap();
    assert!(gone.answer.is_empty(), "the removed record is gone from knotd");
    wait_for("the NOTIFY acknowledged", Duration::from_secs(5), || {
        primary.log().contains("NOTIFY of serial 2 to sec (127.0.0.1:") && primary.log().contains("acknowledged")
    });
    assert!(primary.log().contains("IXFR out: zone example.test. serial 2"), "{}", primary.log());
    primary.wait_for_counts("notifies_out", json!({"sec": {"acked": 1}}));
    primary.wait_for_counts("out", json!({"axfr": {"served": 1}, "ixfr": {"served": 1}}));
    let metrics = primary.metrics();
    let acked = "responder_notifies_out_total{zone=\"example.test.\",remote=\"sec\",result=\"acked\"} 1\n";
    assert!(metrics.contains(acked), "{metrics}");
}

/// responder in the middle of a tree: a secondary of knotd that sends the
/// zone on. A change on knotd reaches responder by NOTIFY and IXFR, and
/// responder's journal then serves the difference to the next secondary.
#[test]
fn a_secondary_of_knotd_sends_the_zone_on_with_the_difference_it_received() {
    let missing: &[&str] = if knot::available() && kdig::available() { &[] } else { &["knotd", "knotc", "kdig"] };
    if !required_tools("a_secondary_of_knotd_sends_the_zone_on_with_the_difference_it_received", missing) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (knot_dir, relay_dir) = (dir.path().join("knot"), dir.path().join("relay"));
    std::fs::create_dir_all(knot_dir.join("db")).unwrap();
    std::fs::create_dir_all(&relay_dir).unwrap();
    let (knot_port, relay_port) = (free_port().unwrap(), free_port().unwrap());

    std::fs::write(knot_dir.join("example.test.zone"), zone_text(1, "")).unwrap();
    let conf = format!(
        "server:\n    listen: 127.0.0.1@{knot_port}\n    rundir: {d}\n    udp-workers: 1\n    tcp-workers: 1\n    \
         background-workers: 1\n\
         log:\n  - target: stderr\n    any: info\n\
         database:\n    storage: {d}/db\n\
         key:\n  - id: xfr\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
         remote:\n  - id: relay\n    address: 127.0.0.1@{relay_port}\n    key: xfr\n\
         acl:\n  - id: xfr\n    address: 127.0.0.1\n    key: xfr\n    action: transfer\n\
         template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    zonefile-load: whole\n    \
         journal-content: changes\n\
         zone:\n  - domain: {ZONE}\n    file: example.test.zone\n    notify: relay\n    acl: xfr\n",
        d = knot_dir.display(),
    );
    std::fs::write(knot_dir.join("knot.conf"), conf).unwrap();
    let mut cmd = Command::new("knotd");
    cmd.arg("-c").arg(knot_dir.join("knot.conf"));
    let mut knotd = Daemon::spawn(cmd, "knotd", &knot_dir.join("knotd.log")).unwrap();
    let knot_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, knot_port));
    knotd.wait_until_answering(knot_addr, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    let knotd = KnotSecondary { daemon: Some(knotd), addr: knot_addr };
    wait_for("knotd to load the zone", Duration::from_secs(10), || knotd.serial() == Some(1));

    let relay_conf = format!(
        "[server]\nlisten = [\"127.0.0.1:{relay_port}\"]\nudp-workers = 1\nuser = \"root\"\nstorage = \"copies\"\n\n\
         [[key]]\nid = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{SECRET}\"\n\n\
         [[remote]]\nid = \"hidden\"\naddress = \"127.0.0.1@{knot_port}\"\nkey = \"xfr\"\n\n\
         [[acl]]\nid = \"downstream\"\naddress = \"127.0.0.1\"\nkey = \"xfr\"\naction = \"transfer\"\n\n\
         [[zone]]\nname = \"{ZONE}\"\nmaster = [\"hidden\"]\nacl = [\"downstream\"]\n",
    );
    std::fs::write(relay_dir.join("responder.toml"), relay_conf).unwrap();
    let mut cmd = Command::new(binary().unwrap());
    cmd.arg("serve").arg("--config").arg(relay_dir.join("responder.toml"));
    let mut daemon = Daemon::spawn(cmd, "responder serve", &relay_dir.join("responder.log")).unwrap();
    let relay_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, relay_port));
    daemon.wait_until_answering(relay_addr, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    let relay = Primary { daemon: Some(daemon), addr: relay_addr, dir: relay_dir.clone(), metrics: None };
    let relay_serial = || {
        dns::ask(relay.addr, Transport::Udp, &Question::new(ZONE, SOA))
            .ok()
            .and_then(|r| r.answer.first().and_then(|rr| rr.to_string().split_whitespace().nth(5)?.parse::<u32>().ok()))
    };
    wait_for("the relay's first copy", Duration::from_secs(20), || relay_serial() == Some(1));
    let axfr = relay.kdig(Some(("xfr", SECRET)), &["AXFR", ZONE]);
    assert_eq!(received(&axfr).map(|(_, n)| n), Some(FILLER + 4), "{axfr}");

    // A change on knotd: NOTIFY to the relay, IXFR in, kept as a difference.
    let socket = knot_dir.join("knot.sock");
    for args in [
        vec!["zone-begin", ZONE],
        vec!["zone-set", ZONE, &format!("added.{ZONE}"), "60", "A", "198.18.0.99"],
        vec!["zone-commit", ZONE],
    ] {
        let out =
            run_bounded(Command::new("knotc").arg("-s").arg(&socket).args(&args), Duration::from_secs(10)).unwrap();
        assert!(out.status.success(), "knotc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    wait_for("serial 2 on the relay", Duration::from_secs(15), || relay_serial() == Some(2));
    let ixfr = relay.kdig(Some(("xfr", SECRET)), &["IXFR=1", ZONE]);
    let lines = records(&ixfr);
    assert_eq!(lines.len(), 5, "SOA 2, SOA 1, SOA 2, +added, SOA 2:\n{ixfr}");
    assert!(lines[3].starts_with("added."), "{ixfr}");
    assert!(!ixfr.contains(";; ERROR"), "{ixfr}");
}
