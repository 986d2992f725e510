//! responder as a secondary of a real knotd primary on loopback (issue 13):
//! the first AXFR, a change on the primary reaching us by NOTIFY and IXFR,
//! a NOTIFY from a stranger refused, a restart with the primary down served
//! from the persisted copy, a silent primary → expire → SERVFAIL → recovery
//! when it is back, and a transfer over the size limit keeping the old zone.
//!
//! Loopback only, no root needed. Needs knotd and knotc: under `CI=true`
//! their absence is a failure, elsewhere the tests skip with a message.
//! Every wait is bounded (seconds).

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use responder_tests::daemon::{run_bounded, wait_for, Daemon};
use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Question, Reply, Transport};
use responder_tests::knot;
use responder_tests::responder::{free_port, serve_config};
use responder_tests::testbed::{privileged, required_tools};

const ZONE: &str = "example.test.";
const RCODE_SERVFAIL: u16 = 2;
const RCODE_REFUSED: u16 = 5;

fn tools(test: &str) -> bool {
    required_tools(test, if knot::available() { &[] } else { &["knotd", "knotc"] })
}

/// knotd as a hidden primary: serves `ZONE` with IXFR from its journal,
/// allows transfers from loopback and sends NOTIFY to `secondary`.
struct Primary {
    daemon: Option<Daemon>,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Primary {
    fn start(dir: &Path, zone_text: &str, secondary: u16) -> Primary {
        Primary::start_keyed(dir, zone_text, secondary, None)
    }

    /// With `key` (a base64 hmac-sha256 secret), transfers must be signed
    /// with it and NOTIFY is.
    fn start_keyed(dir: &Path, zone_text: &str, secondary: u16, key: Option<&str>) -> Primary {
        std::fs::create_dir_all(dir.join("db")).unwrap();
        std::fs::write(dir.join("example.test.zone"), zone_text).unwrap();
        let port = free_port().unwrap();
        let conf = format!(
            "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    udp-workers: 1\n    tcp-workers: 1\n    \
             background-workers: 1\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n    storage: {d}/db\n\
             {keys}\
             remote:\n  - id: sec\n    address: 127.0.0.1@{secondary}\n{remote_key}\
             acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\n{remote_key}\
             template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    zonefile-load: whole\n    \
             journal-content: changes\n\
             zone:\n  - domain: {ZONE}\n    file: example.test.zone\n    notify: sec\n    acl: xfr\n",
            d = dir.display(),
            keys = key
                .map_or(String::new(), |k| format!("key:\n  - id: xfr\n    algorithm: hmac-sha256\n    secret: {k}\n")),
            remote_key = if key.is_some() { "    key: xfr\n" } else { "" },
        );
        std::fs::write(dir.join("knot.conf"), conf).unwrap();
        let mut primary =
            Primary { daemon: None, addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)), dir: dir.into() };
        primary.run();
        primary
    }

    /// (Re)starts knotd on the same port and waits for the zone.
    fn run(&mut self) {
        // A restart may find the port not yet released: a few tries, bounded.
        let mut attempt = 0;
        let daemon = loop {
            attempt += 1;
            let mut cmd = Command::new("knotd");
            cmd.arg("-c").arg(self.dir.join("knot.conf"));
            let log = self.dir.join(format!("knotd-{}-{attempt}.log", std::process::id()));
            let mut daemon = Daemon::spawn(cmd, "knotd", &log).unwrap();
            match daemon.wait_until_answering(self.addr, Duration::from_secs(20)) {
                Ok(()) => break daemon,
                Err(e) if attempt < 5 && daemon.exited().is_some() => {
                    eprintln!("knotd start {attempt} failed, retrying: {e}");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => panic!("{e}"),
            }
        };
        wait_for("knotd to load the zone", Duration::from_secs(10), || {
            dns::ask(self.addr, Transport::Udp, &Question::new(ZONE, SOA)).is_ok_and(|r| r.rcode == 0)
        });
        self.daemon = Some(daemon);
    }

    fn stop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.terminate(Duration::from_secs(10)).unwrap();
        }
    }

    /// `knotc zone-begin; zone-set OWNER TTL TYPE RDATA; zone-commit`: the
    /// serial goes up by one and knotd sends NOTIFY.
    fn add(&self, owner: &str, rtype: &str, rdata: &str) {
        let socket = self.dir.join("knot.sock");
        for args in
            [vec!["zone-begin", ZONE], vec!["zone-set", ZONE, owner, "60", rtype, rdata], vec!["zone-commit", ZONE]]
        {
            let out =
                run_bounded(Command::new("knotc").arg("-s").arg(&socket).args(&args), Duration::from_secs(10)).unwrap();
            assert!(out.status.success(), "knotc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn zone_text(serial: u32, refresh: u32, retry: u32, expire: u32, extra: &str) -> String {
    format!(
        "$ORIGIN {ZONE}\n$TTL 60\n@ SOA ns hostmaster {serial} {refresh} {retry} {expire} 60\n@ NS ns\n\
         ns A 198.18.0.53\nwww A 198.18.0.80\nmail MX 10 www\n{extra}"
    )
}

/// responder with `ZONE` as a secondary of `primary`.
struct Secondary {
    daemon: Option<Daemon>,
    v4: SocketAddr,
    v6: SocketAddr,
    dir: PathBuf,
}

impl Secondary {
    fn start(dir: &Path, port: u16, primary: SocketAddr, extra_server: &str) -> Secondary {
        Secondary::start_keyed(dir, port, primary, extra_server, None)
    }

    fn start_keyed(dir: &Path, port: u16, primary: SocketAddr, extra_server: &str, key: Option<&str>) -> Secondary {
        Secondary::write_config(dir, port, primary, extra_server, key);
        let mut secondary = Secondary {
            daemon: None,
            v4: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            v6: SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            dir: dir.into(),
        };
        secondary.run();
        secondary
    }

    fn write_config(dir: &Path, port: u16, primary: SocketAddr, extra_server: &str, key: Option<&str>) {
        let keys = key.map_or(String::new(), |k| {
            format!("[[key]]\nid = \"xfr\"\nalgorithm = \"hmac-sha256\"\nsecret = \"{k}\"\n\n")
        });
        let remote_key = if key.is_some() { "key = \"xfr\"\n" } else { "" };
        // Root is kept only when asked for; a test that drops names its user.
        let user = if extra_server.contains("user =") { "" } else { "user = \"root\"\n" };
        let metrics = free_port().unwrap();
        std::fs::write(dir.join("metrics.port"), metrics.to_string()).unwrap();
        let conf = format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\", \"[::1]:{port}\"]\nudp-workers = 1\nstorage = \"copies\"\n{user}{extra_server}\n\
             [control]\nlisten = \"ctl.sock\"\nmetrics = \"127.0.0.1:{metrics}\"\n\n\
             {keys}[[remote]]\nid = \"primary\"\naddress = \"{}@{}\"\n{remote_key}\n\
             [[zone]]\nname = \"{ZONE}\"\nmaster = [\"primary\"]\n",
            primary.ip(),
            primary.port()
        );
        std::fs::write(dir.join("responder.toml"), conf).unwrap();
    }

    fn run(&mut self) {
        let log = self.dir.join(format!("responder-{}.log", Instant::now().elapsed().as_nanos()));
        self.daemon = Some(serve_config(&self.dir.join("responder.toml"), self.v4, &log));
    }

    fn stop(&mut self) -> String {
        let daemon = self.daemon.take().expect("running");
        daemon.terminate(Duration::from_secs(20)).unwrap().1
    }

    fn log(&self) -> String {
        self.daemon.as_ref().map(|d| d.log()).unwrap_or_default()
    }

    fn ask(&self, name: &str, qtype: u16) -> Reply {
        dns::ask(self.v4, Transport::Udp, &Question::new(name, qtype)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ctl(&self, request: &str) -> Value {
        responder_tests::responder::ctl(&self.dir, request, Duration::from_secs(10))
    }

    fn status(&self) -> Value {
        let reply = self.ctl(&format!("zone-status {ZONE}"));
        assert_eq!(reply["ok"], true, "{reply}");
        reply["zones"][0].clone()
    }

    /// `GET /metrics`, the body.
    fn metrics(&self) -> String {
        use std::io::Read;
        let port: u16 = std::fs::read_to_string(self.dir.join("metrics.port")).unwrap().parse().unwrap();
        let mut stream = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    }

    /// The value of `series` (name and labels, as the exposition writes
    /// them) in a scrape; 0 for a counter that has no sample yet.
    fn sample(&self, series: &str) -> Option<f64> {
        sample(&self.metrics(), series)
    }

    fn count(&self, series: &str) -> f64 {
        self.sample(series).unwrap_or(0.0)
    }

    fn address_of(&self, name: &str) -> Option<String> {
        let reply = self.ask(name, A);
        (reply.rcode == 0).then(|| reply.answer.first().map(|rr| rr.to_string())).flatten()
    }
}

/// A failed test shows what both servers said.
impl Drop for Secondary {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- responder log ---\n{}", self.log());
        }
    }
}

impl Drop for Primary {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- knotd log ---\n{}", self.daemon.as_ref().map(|d| d.log()).unwrap_or_default());
        }
    }
}

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// A series of `family` for `ZONE` with `labels` after the zone.
fn series(family: &str, labels: &str) -> String {
    if labels.is_empty() {
        format!("{family}{{zone=\"{ZONE}\"}}")
    } else {
        format!("{family}{{zone=\"{ZONE}\",{labels}}}")
    }
}

/// A NOTIFY for `ZONE` sent from `from` to `to`; the answer's rcode and AA.
fn notify_from(from: SocketAddr, to: SocketAddr) -> (u16, bool) {
    let socket = UdpSocket::bind(from).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut query = vec![0x4e, 0x01, 4 << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ZONE.trim_end_matches('.').split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, SOA as u8, 0, 1]);
    socket.send_to(&query, to).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    assert!(n >= 12 && buf[..2] == query[..2], "an answer to our NOTIFY");
    (u16::from(buf[3] & 0x0f), buf[2] & 0x04 != 0)
}

#[test]
fn axfr_then_notify_and_ixfr_then_a_restart_serves_the_persisted_copy() {
    if !tools("axfr_then_notify_and_ixfr_then_a_restart_serves_the_persisted_copy") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sec_port = free_port().unwrap();
    std::fs::create_dir_all(dir.path().join("primary")).unwrap();
    let mut primary = Primary::start(&dir.path().join("primary"), &zone_text(1, 3600, 600, 86400, ""), sec_port);
    let started = unix_now();
    let mut secondary = Secondary::start(dir.path(), sec_port, primary.addr, "");

    // The first transfer: AXFR, as we hold no copy.
    wait_for("the first AXFR", Duration::from_secs(10), || secondary.address_of("www.example.test.").is_some());
    wait_for("the AXFR in the status", Duration::from_secs(2), || secondary.status()["serial"] == 1);
    let status = secondary.status();
    assert_eq!((status["serial"].as_u64(), status["last_transfer"].as_str()), (Some(1), Some("AXFR")), "{status}");
    assert_eq!(secondary.ask("mail.example.test.", MX).answer.len(), 1);
    // Counted as the transfer returns, a moment after the swap.
    let axfr_ok = series("responder_transfers_in_total", "kind=\"axfr\",result=\"success\"");
    let ixfr_ok = series("responder_transfers_in_total", "kind=\"ixfr\",result=\"success\"");
    wait_for("the AXFR counted", Duration::from_secs(2), || secondary.count(&axfr_ok) == 1.0);
    let transferred_at = secondary.sample(&series("responder_last_transfer_in_timestamp_seconds", "")).unwrap();
    assert!((started..=unix_now()).contains(&transferred_at), "{transferred_at} not after {started}");
    let refreshed_at = secondary.sample(&series("responder_last_refresh_timestamp_seconds", "result=\"ok\"")).unwrap();
    assert!((transferred_at..=unix_now()).contains(&refreshed_at), "{refreshed_at} not after {transferred_at}");
    assert_eq!(secondary.count(&ixfr_ok), 0.0);

    // A change on the primary: NOTIFY, then IXFR, within 2 s.
    primary.add("new", "A", "198.18.0.81");
    let took = wait_for("the change by NOTIFY and IXFR", Duration::from_secs(5), || {
        secondary.address_of("new.example.test.").is_some()
    });
    assert!(took < Duration::from_secs(2), "the change took {took:?}");
    // The status and the log line follow the swap by a moment.
    wait_for("the IXFR to be logged", Duration::from_secs(2), || {
        secondary.log().contains("IXFR from primary (127.0.0.1:")
    });
    let status = secondary.status();
    assert_eq!((status["serial"].as_u64(), status["last_transfer"].as_str()), (Some(2), Some("IXFR")), "{status}");
    assert!(secondary.log().contains("NOTIFY from 127.0.0.1"), "{}", secondary.log());
    assert!(secondary.address_of("www.example.test.").is_some(), "the rest of the zone stays");
    wait_for("the IXFR counted", Duration::from_secs(2), || secondary.count(&ixfr_ok) == 1.0);
    assert_eq!(secondary.count(&axfr_ok), 1.0);
    let ixfr_at = secondary.sample(&series("responder_last_transfer_in_timestamp_seconds", "")).unwrap();
    assert!((transferred_at..=unix_now()).contains(&ixfr_at), "{ixfr_at} not after {transferred_at}");

    // A NOTIFY from anybody but the primary is refused; from it, accepted with AA.
    let accepted = series("responder_notifies_in_total", "result=\"accepted\"");
    let refused = series("responder_notifies_in_total", "result=\"refused\"");
    let (accepted_before, refused_before) = (secondary.count(&accepted), secondary.count(&refused));
    assert!(accepted_before >= 1.0, "knotd's NOTIFY of serial 2 was accepted");
    assert_eq!(notify_from("[::1]:0".parse().unwrap(), secondary.v6), (RCODE_REFUSED, false));
    assert_eq!(notify_from("127.0.0.1:0".parse().unwrap(), secondary.v4), (0, true));
    // A burst of NOTIFYs is one check, not one connection to the primary each.
    let checks = |log: &str| log.matches("NOTIFY from 127.0.0.1, checking").count();
    let before = checks(&secondary.log());
    for _ in 0..20 {
        assert_eq!(notify_from("127.0.0.1:0".parse().unwrap(), secondary.v4), (0, true));
    }
    let burst = checks(&secondary.log()) - before;
    assert!(burst <= 1, "{burst} checks scheduled for a burst of 20 NOTIFYs");
    // Counted as they are answered: all of them by now.
    assert_eq!(secondary.count(&refused), refused_before + 1.0);
    assert_eq!(secondary.count(&accepted), accepted_before + 21.0);

    // Asked by hand: an SOA check (nothing newer), then a full AXFR.
    assert_eq!(secondary.ctl("zone-refresh example.test")["ok"], true);
    wait_for("the requested refresh", Duration::from_secs(5), || secondary.log().contains("refresh requested"));
    assert_eq!(secondary.ctl("zone-retransfer example.test")["ok"], true);
    wait_for("the requested AXFR", Duration::from_secs(5), || secondary.status()["last_transfer"] == "AXFR");
    assert_eq!(secondary.status()["serial"].as_u64(), Some(2));
    wait_for("the second AXFR counted", Duration::from_secs(2), || secondary.count(&axfr_ok) == 2.0);
    assert_eq!(secondary.count(&ixfr_ok), 1.0, "one IXFR in all");
    let stats = secondary.ctl("stats");
    assert_eq!(stats["transfers"]["in"][ZONE]["axfr"]["success"], 2, "{stats}");
    assert_eq!(stats["transfers"]["secondaries"][0]["last_transfer"], "AXFR", "{stats}");
    let unknown = secondary.ctl("zone-refresh other.test");
    assert_eq!(
        (unknown["ok"].as_bool(), unknown["error"].as_str()),
        (Some(false), Some("other.test is not a secondary zone here"))
    );

    // The copy on disk is a plain zone file with the change.
    let copy = std::fs::read_to_string(dir.path().join("copies/example.test.zone")).unwrap();
    assert!(copy.contains("new.example.test. 60 IN A 198.18.0.81"), "{copy}");

    // Primary gone, responder restarted: it serves the copy at once.
    primary.stop();
    secondary.stop();
    secondary.run();
    assert_eq!(secondary.address_of("new.example.test.").as_deref(), Some("new.example.test. 60 A 198.18.0.81"));
    assert_eq!(secondary.status()["serial"].as_u64(), Some(2));
    wait_for("the failed refresh to be logged", Duration::from_secs(5), || {
        secondary.log().contains("refresh failed, still serving serial 2")
    });
    // Counted from this start: one failed check, no transfer tried (the
    // SOA query failed), and the copy's expiry known without a good check.
    let restarted = unix_now();
    let metrics = secondary.metrics();
    assert_eq!(sample(&metrics, &series("responder_zone_refreshes_total", "result=\"error\"")), Some(1.0), "{metrics}");
    assert!(!metrics.contains("\nresponder_transfers_in_total{"), "{metrics}");
    let failed_at = sample(&metrics, &series("responder_last_refresh_timestamp_seconds", "result=\"error\"")).unwrap();
    assert!((ixfr_at..=restarted).contains(&failed_at), "{failed_at}");
    let expires = sample(&metrics, &series("responder_zone_expiry_timestamp_seconds", "")).unwrap();
    assert!((restarted + 86_000.0..=restarted + 86_400.0).contains(&expires), "EXPIRE is a day: {expires}");
    secondary.stop();
}

#[test]
fn a_silent_primary_expires_the_zone_to_servfail_and_its_return_recovers_it() {
    if !tools("a_silent_primary_expires_the_zone_to_servfail_and_its_return_recovers_it") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sec_port = free_port().unwrap();
    std::fs::create_dir_all(dir.path().join("primary")).unwrap();
    // REFRESH 1, RETRY 1, EXPIRE 4: the whole cycle in seconds.
    let mut primary = Primary::start(&dir.path().join("primary"), &zone_text(7, 1, 1, 4, ""), sec_port);
    let mut secondary = Secondary::start(dir.path(), sec_port, primary.addr, "");
    wait_for("the first AXFR", Duration::from_secs(10), || secondary.address_of("www.example.test.").is_some());

    primary.stop();
    let stopped = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(secondary.address_of("www.example.test.").is_some(), "served while the primary is away");
    wait_for("expiry", Duration::from_secs(8), || secondary.ask("www.example.test.", A).rcode == RCODE_SERVFAIL);
    assert!(stopped.elapsed() >= Duration::from_secs(3), "expired after {:?}, before EXPIRE", stopped.elapsed());
    assert_eq!(secondary.ask("nothing.example.test.", A).rcode, RCODE_SERVFAIL);
    assert_eq!(secondary.ask(ZONE, SOA).rcode, RCODE_SERVFAIL);
    assert_eq!(secondary.ask("other.test.", A).rcode, RCODE_REFUSED, "other names are not ours");
    let status = secondary.status();
    assert_eq!(status["expired"], true, "{status}");
    assert!(status["last_error"].as_str().is_some_and(|e| e.contains("cannot connect")), "{status}");
    assert!(secondary.log().contains("zone example.test.: expired"), "{}", secondary.log());
    let metrics = secondary.metrics();
    assert!(metrics.contains("responder_zone_expired{zone=\"example.test.\"} 1"), "{metrics}");

    primary.run();
    wait_for("recovery", Duration::from_secs(8), || secondary.address_of("www.example.test.").is_some());
    assert_eq!(secondary.status()["expired"], false);
    assert!(secondary.metrics().contains("responder_zone_expired{zone=\"example.test.\"} 0"));
    secondary.stop();
}

#[test]
fn a_transfer_over_the_size_limit_keeps_the_old_zone() {
    if !tools("a_transfer_over_the_size_limit_keeps_the_old_zone") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sec_port = free_port().unwrap();
    std::fs::create_dir_all(dir.path().join("primary")).unwrap();
    let mut primary = Primary::start(&dir.path().join("primary"), &zone_text(1, 3600, 1, 86400, ""), sec_port);
    let mut secondary = Secondary::start(dir.path(), sec_port, primary.addr, "zone-max-size = 1200");
    wait_for("the first AXFR", Duration::from_secs(10), || secondary.address_of("www.example.test.").is_some());

    // A change that makes the zone larger than the secondary accepts.
    let strings: Vec<String> = ["x", "y", "z", "w"].iter().map(|c| format!("\"{}\"", c.repeat(200))).collect();
    primary.add("big", "TXT", &strings.join(" "));
    wait_for("the failure to be logged", Duration::from_secs(10), || {
        secondary.log().contains("refresh failed, still serving serial")
    });
    let status = secondary.status();
    assert!(status["last_error"].as_str().is_some_and(|e| e.contains("size limit")), "{status}");
    // IXFR, then AXFR, each too large (and again at each RETRY).
    for kind in ["ixfr", "axfr"] {
        let too_large = series("responder_transfers_in_total", &format!("kind=\"{kind}\",result=\"too_large\""));
        assert!(secondary.count(&too_large) >= 1.0, "{kind}: {}", secondary.metrics());
    }
    let axfr_ok = series("responder_transfers_in_total", "kind=\"axfr\",result=\"success\"");
    assert_eq!(secondary.count(&axfr_ok), 1.0, "the first AXFR only");
    assert!(secondary.address_of("www.example.test.").is_some(), "the old zone keeps serving");
    assert_eq!(secondary.ask("big.example.test.", TXT).rcode, 3, "NXDOMAIN: the new data is not served");
    assert_eq!(status["serial"].as_u64(), Some(1), "{status}");
    assert_eq!(std::fs::read_to_string(dir.path().join("copies/example.test.zone")).unwrap().matches("big").count(), 0);
    primary.stop();
    secondary.stop();
}

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eA==";
const WRONG_SECRET: &str = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI=";

#[test]
fn tsig_signed_transfers_and_a_wrong_key_is_refused_while_the_zone_serves() {
    if !tools("tsig_signed_transfers_and_a_wrong_key_is_refused_while_the_zone_serves") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sec_port = free_port().unwrap();
    std::fs::create_dir_all(dir.path().join("primary")).unwrap();
    let primary =
        Primary::start_keyed(&dir.path().join("primary"), &zone_text(1, 3600, 1, 86400, ""), sec_port, Some(SECRET));
    let mut secondary = Secondary::start_keyed(dir.path(), sec_port, primary.addr, "", Some(SECRET));
    wait_for("the first signed AXFR", Duration::from_secs(10), || secondary.address_of("www.example.test.").is_some());

    // A signed NOTIFY (Knot signs it with the remote's key), then a signed IXFR.
    primary.add("new", "A", "198.18.0.81");
    wait_for("the signed IXFR", Duration::from_secs(5), || secondary.status()["last_transfer"] == "IXFR");
    assert!(secondary.address_of("new.example.test.").is_some());
    // Knot took our signed answer to its signed NOTIFY.
    let notified = format!("notify, outgoing, remote 127.0.0.1@{sec_port}, serial 2");
    wait_for("knotd to log the NOTIFY", Duration::from_secs(5), || {
        primary.daemon.as_ref().unwrap().log().contains(&notified)
    });
    let knot_log = primary.daemon.as_ref().unwrap().log();
    assert!(!knot_log.contains("TSIG"), "{knot_log}");
    // From the primary's address but unsigned: refused, as the primary has a key.
    assert_eq!(notify_from("127.0.0.1:0".parse().unwrap(), secondary.v4), (RCODE_REFUSED, false));

    // The same secondary with the wrong secret: refused and logged, and the
    // copy it holds keeps being served.
    secondary.stop();
    Secondary::write_config(dir.path(), sec_port, primary.addr, "", Some(WRONG_SECRET));
    secondary.run();
    wait_for("the refusal to be logged", Duration::from_secs(5), || secondary.log().contains("TSIG"));
    let status = secondary.status();
    assert!(status["last_error"].as_str().is_some_and(|e| e.contains("TSIG")), "{status}");
    assert!(secondary.address_of("new.example.test.").is_some(), "the copy keeps being served");
    assert!(secondary.log().contains("TSIG error BADSIG (the primary answered NOTAUTH)"), "{}", secondary.log());
    secondary.stop();
}

#[test]
fn copies_are_written_after_the_drop_to_an_unprivileged_user() {
    let test = "copies_are_written_after_the_drop_to_an_unprivileged_user";
    if !privileged(test) || !tools(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The user must reach the config's directory to write below it.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let sec_port = free_port().unwrap();
    std::fs::create_dir_all(dir.path().join("primary")).unwrap();
    let mut primary = Primary::start(&dir.path().join("primary"), &zone_text(1, 3600, 1, 86400, ""), sec_port);
    let mut secondary = Secondary::start(dir.path(), sec_port, primary.addr, "user = \"nobody\"");
    wait_for("the first AXFR", Duration::from_secs(10), || secondary.address_of("www.example.test.").is_some());
    let copy = dir.path().join("copies/example.test.zone");
    wait_for("the copy on disk", Duration::from_secs(5), || copy.exists());
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&copy).unwrap());
    assert_ne!(owner, 0, "written by the unprivileged user, not root");
    primary.stop();
    secondary.stop();
}

/// An IXFR of a few records is applied as an overlay over the table
/// serving (issue 14), as a small reload is: counted in `ctl stats` with
/// what it did, served at once, negative answers carrying the new serial.
/// An AXFR that changes nothing is one too; once the records changed since
/// the last full compile pass 1/8 of the zone's, the next IXFR compiles whole.
#[test]
fn an_ixfr_is_applied_as_an_overlay_until_the_changes_pass_an_eighth() {
    if !tools("an_ixfr_is_applied_as_an_overlay_until_the_changes_pass_an_eighth") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sec_port = free_port().unwrap();
    std::fs::create_dir_all(dir.path().join("primary")).unwrap();
    // 105 records: the five of `zone_text` and 100 addresses.
    let hosts: String = (0..100).map(|i| format!("h{i} A 198.18.1.{i}\n")).collect();
    let mut primary = Primary::start(&dir.path().join("primary"), &zone_text(1, 3600, 600, 86400, &hosts), sec_port);
    let mut secondary = Secondary::start(dir.path(), sec_port, primary.addr, "");
    wait_for("the first AXFR", Duration::from_secs(10), || secondary.address_of("h99.example.test.").is_some());
    let reloads = || secondary.ctl("stats")["reloads"].clone();
    // The first copy adds a zone to the set: compiled whole.
    assert_eq!((reloads()["last_path"].as_str(), reloads()["overlaid"].as_u64()), (Some("full"), Some(0)));

    // One name added: the IXFR's 3 records (the SOA replaced, the
    // address), counted as 5 (the apex's NS now follows a new SOA, so the
    // apex is replaced whole: `Change::diff` keeps each name's record
    // order); the apex and the new name compiled.
    primary.add("new", "A", "198.18.0.81");
    wait_for("the IXFR", Duration::from_secs(5), || secondary.address_of("new.example.test.").is_some());
    wait_for("the IXFR in the status", Duration::from_secs(2), || secondary.status()["last_transfer"] == "IXFR");
    let r = reloads();
    assert_eq!((r["last_path"].as_str(), r["overlaid"].as_u64()), (Some("overlay"), Some(1)), "{r}");
    assert_eq!(r["last_overlay"], serde_json::json!({"by": "transfer", "zones": 1, "records": 5, "names_compiled": 2}));
    assert!(secondary.log().contains("transfer: 5 records of 1 zones applied as an overlay (2 names compiled)"));
    assert_eq!(secondary.address_of("h7.example.test.").as_deref(), Some("h7.example.test. 60 A 198.18.1.7"));
    let negative = secondary.ask("nothing.example.test.", A);
    assert_eq!((negative.rcode, negative.authority.len()), (3, 1));
    assert!(negative.authority[0].to_string().contains(" 2 3600 600 86400 60"), "{}", negative.authority[0]);

    // The same zone again by AXFR: nothing differs, nothing compiled.
    assert_eq!(secondary.ctl("zone-retransfer example.test")["ok"], true);
    wait_for("the AXFR", Duration::from_secs(5), || secondary.status()["last_transfer"] == "AXFR");
    wait_for("the AXFR served", Duration::from_secs(2), || reloads()["overlaid"] == 2);
    let r = reloads();
    assert_eq!(r["last_overlay"], serde_json::json!({"by": "transfer", "zones": 0, "records": 0, "names_compiled": 0}));

    // A second name: 10 of 105 records changed since the full compile,
    // still an overlay; a third makes 15, past 105 / 8: compiled whole.
    primary.add("new2", "A", "198.18.0.82");
    wait_for("the second IXFR", Duration::from_secs(5), || secondary.address_of("new2.example.test.").is_some());
    wait_for("the second IXFR served", Duration::from_secs(2), || reloads()["overlaid"] == 3);
    assert_eq!(reloads()["last_overlay"]["records"], 5);
    primary.add("new3", "A", "198.18.0.83");
    wait_for("the third IXFR", Duration::from_secs(5), || secondary.address_of("new3.example.test.").is_some());
    wait_for("the third IXFR served", Duration::from_secs(2), || reloads()["last_path"] == "full");
    let r = reloads();
    assert_eq!(r["overlaid"], 3, "{r}");
    assert_eq!(r["last_fallback"], "15 records changed since the last full compile, more than 1/8 of 105", "{r}");
    for name in ["new.example.test.", "new2.example.test.", "h0.example.test."] {
        assert!(secondary.address_of(name).is_some(), "{name} still answered after the full compile");
    }
    primary.stop();
    secondary.stop();
}
