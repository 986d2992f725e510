//! Catalog zones (RFC 9432), responder as the consumer of a catalog that a
//! real knotd serves on loopback (issue 13): the members it lists are
//! transferred and served; a member added on knotd (`knotc zone-set` in the
//! catalog) appears by NOTIFY and IXFR; a member removed answers REFUSED
//! within 5 s while another member, asked in a loop throughout, never
//! misses; a secondary zone added to the config comes on reload; a restart
//! with knotd stopped serves every zone from its copy; the catalog taken
//! out of the config takes its members with it on reload.
//!
//! Loopback only, no root needed. Needs knotd and knotc: under `CI=true`
//! their absence is a failure, elsewhere the test skips with a message.
//! Every wait is bounded (seconds).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use responder_tests::daemon::{run_bounded, wait_for, Daemon};
use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::knot;
use responder_tests::responder::{free_port, serve_config};
use responder_tests::testbed::required_tools;

const CATALOG: &str = "catalog.test.";
const MEMBERS: [&str; 3] = ["m1.test.", "m2.test.", "m3.test."];
const NOERROR: u16 = 0;
const REFUSED: u16 = 5;

fn member_text(zone: &str) -> String {
    format!("$ORIGIN {zone}\n$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\nwww A 198.18.0.80\n")
}

/// knotd serving the catalog (a plain zone to it) and every member zone;
/// transfers allowed from loopback, NOTIFY of the catalog to `consumer`.
struct Primary {
    daemon: Option<Daemon>,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Primary {
    fn start(dir: &Path, consumer: u16, listed: &[&str]) -> Primary {
        std::fs::create_dir_all(dir.join("db")).unwrap();
        let mut catalog = format!(
            "$ORIGIN {CATALOG}\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 86400 0\n@ NS invalid.\nversion TXT \"2\"\n"
        );
        for (i, m) in listed.iter().enumerate() {
            catalog.push_str(&format!("id{i}.zones PTR {m}\n"));
        }
        std::fs::write(dir.join("catalog.test.zone"), catalog).unwrap();
        let mut zones =
            format!("  - domain: {CATALOG}\n    file: catalog.test.zone\n    notify: consumer\n    acl: xfr\n");
        for m in MEMBERS {
            std::fs::write(dir.join(format!("{m}zone")), member_text(m)).unwrap();
            zones.push_str(&format!("  - domain: {m}\n    file: {m}zone\n    acl: xfr\n"));
        }
        let port = free_port().unwrap();
        let conf = format!(
            "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    udp-workers: 1\n    tcp-workers: 1\n    \
             background-workers: 1\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n    storage: {d}/db\n\
             remote:\n  - id: consumer\n    address: 127.0.0.1@{consumer}\n\
             acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\n\
             template:\n  - id: default\n    storage: {d}\n    zonefile-sync: -1\n    zonefile-load: whole\n    \
             journal-content: changes\n\
             zone:\n{zones}",
            d = dir.display(),
        );
        std::fs::write(dir.join("knot.conf"), conf).unwrap();
        let mut cmd = Command::new("knotd");
        cmd.arg("-c").arg(dir.join("knot.conf"));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut daemon = Daemon::spawn(cmd, "knotd", &dir.join("knotd.log")).unwrap();
        daemon.wait_until_answering(addr, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
        wait_for("knotd to load the catalog", Duration::from_secs(10), || {
            dns::ask(addr, Transport::Udp, &Question::new(CATALOG, SOA)).is_ok_and(|r| r.rcode == 0)
        });
        Primary { daemon: Some(daemon), addr, dir: dir.into() }
    }

    /// One change to the catalog, committed: knotd bumps the serial and
    /// sends NOTIFY.
    fn change(&self, verb: &str, owner: &str, member: &str) {
        let socket = self.dir.join("knot.sock");
        let set: Vec<&str> = match verb {
            "zone-set" => vec!["zone-set", CATALOG, owner, "0", "PTR", member],
            _ => vec!["zone-unset", CATALOG, owner, "PTR", member],
        };
        for args in [vec!["zone-begin", CATALOG], set, vec!["zone-commit", CATALOG]] {
            let out =
                run_bounded(Command::new("knotc").arg("-s").arg(&socket).args(&args), Duration::from_secs(10)).unwrap();
            assert!(out.status.success(), "knotc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }

    fn stop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.terminate(Duration::from_secs(10)).unwrap();
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

/// responder consuming the catalog; members' copies under `members/`
/// through a `[[template]]`.
struct Consumer {
    daemon: Option<Daemon>,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Consumer {
    fn start(dir: &Path, port: u16, primary: SocketAddr) -> Consumer {
        Consumer::configure(dir, port, primary, true, &[]);
        let mut consumer =
            Consumer { daemon: None, addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)), dir: dir.into() };
        consumer.run();
        consumer
    }

    /// The config: the catalog if `catalog`, and `secondaries` as plain
    /// secondary zones of the same primary.
    fn configure(dir: &Path, port: u16, primary: SocketAddr, catalog: bool, secondaries: &[&str]) {
        let mut conf = format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\nudp-workers = 1\nstorage = \"copies\"\nuser = \"root\"\n\n\
             [control]\nlisten = \"ctl.sock\"\n\n\
             [[remote]]\nid = \"primary\"\naddress = \"{}@{}\"\n\n\
             [[template]]\nid = \"members\"\nstorage = \"members\"\n\n",
            primary.ip(),
            primary.port()
        );
        if catalog {
            conf.push_str(&format!(
                "[[zone]]\nname = \"{CATALOG}\"\nmaster = [\"primary\"]\ncatalog-role = \"interpret\"\n\
                 catalog-template = [\"members\"]\n\n"
            ));
        }
        for zone in secondaries {
            conf.push_str(&format!("[[zone]]\nname = \"{zone}\"\nmaster = [\"primary\"]\n\n"));
        }
        std::fs::write(dir.join("responder.toml"), conf).unwrap();
    }

    fn run(&mut self) {
        let log = self.dir.join(format!("responder-{}.log", Instant::now().elapsed().as_nanos()));
        self.daemon = Some(serve_config(&self.dir.join("responder.toml"), self.addr, &log));
    }

    fn stop(&mut self) -> String {
        self.daemon.take().expect("running").terminate(Duration::from_secs(20)).unwrap().1
    }

    fn rcode(&self, name: &str) -> u16 {
        dns::ask(self.addr, Transport::Udp, &Question::new(name, SOA)).unwrap_or_else(|e| panic!("{e}")).rcode
    }

    fn serves(&self, zone: &str) -> bool {
        let reply = dns::ask(self.addr, Transport::Udp, &Question::new(&format!("www.{zone}"), A));
        reply.is_ok_and(|r| r.rcode == NOERROR && r.answer.len() == 1)
    }

    fn ctl(&self, request: &str) -> Value {
        responder_tests::responder::ctl(&self.dir, request, Duration::from_secs(10))
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- responder log ---\n{}", self.daemon.as_ref().map(|d| d.log()).unwrap_or_default());
        }
    }
}

#[test]
fn catalog_members_come_and_go_live_and_a_restart_serves_them_from_copies() {
    let needs: &[&str] = if knot::available() { &[] } else { &["knotd", "knotc"] };
    if !required_tools("catalog_members_come_and_go_live_and_a_restart_serves_them_from_copies", needs) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let mut primary = Primary::start(&dir.path().join("primary"), port, &MEMBERS[..2]);
    let mut consumer = Consumer::start(dir.path(), port, primary.addr);
    let [m1, m2, m3] = MEMBERS;

    wait_for("both members", Duration::from_secs(15), || consumer.serves(m1) && consumer.serves(m2));
    assert_eq!(consumer.rcode(m3), REFUSED, "not listed yet");
    let status = consumer.ctl(&format!("zone-status {m1}"));
    assert_eq!(status["zones"][0]["catalog"], CATALOG, "{status}");

    // Added on knotd: NOTIFY, IXFR of the catalog, then the member's AXFR.
    primary.change("zone-set", "id2.zones", m3);
    wait_for("the added member", Duration::from_secs(10), || consumer.serves(m3));

    // Removed on knotd: REFUSED within 5 s, m1 answering throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let asker = {
        let (stop, addr) = (Arc::clone(&stop), consumer.addr);
        std::thread::spawn(move || {
            dns::ask_until_stopped(addr, &Question::new("www.m1.test.", A), &stop, Duration::from_secs(30))
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    primary.change("zone-unset", "id1.zones", m2);
    let took = wait_for("the removed member refused", Duration::from_secs(5), || consumer.rcode(m2) == REFUSED);
    eprintln!("a removed member was refused after {took:?}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let (asked, misses) = asker.join().unwrap();
    assert!(asked > 10, "only {asked} queries");
    assert!(
        misses.is_empty(),
        "{} of {asked} queries for m1 missed: {:?}",
        misses.len(),
        &misses[..misses.len().min(5)]
    );
    assert!(consumer.serves(m3));
    let copies = dir.path().join("members");
    wait_for("the removed member's copy to go", Duration::from_secs(5), || !copies.join("m2.test.zone").exists());
    assert!(copies.join("m1.test.zone").exists() && copies.join("m3.test.zone").exists());

    // The config's zone list is live too: m2, no longer a member, comes
    // back as a configured secondary zone on reload.
    Consumer::configure(dir.path(), port, primary.addr, true, &[m2]);
    assert_eq!(consumer.ctl("reload")["ok"], true);
    wait_for("m2 as a configured secondary", Duration::from_secs(10), || consumer.serves(m2));

    // knotd gone, responder restarted: every zone served from its copy.
    primary.stop();
    consumer.stop();
    consumer.run();
    assert!(consumer.serves(m1) && consumer.serves(m2) && consumer.serves(m3), "zones from their copies");

    // The catalog taken out of the config: its members go with it, at once.
    Consumer::configure(dir.path(), port, primary.addr, false, &[m2]);
    assert_eq!(consumer.ctl("reload")["ok"], true);
    assert_eq!((consumer.rcode(m1), consumer.rcode(m3), consumer.rcode(CATALOG)), (REFUSED, REFUSED, REFUSED));
    assert!(consumer.serves(m2));
    let log = consumer.stop();
    assert!(log.contains("catalog catalog.test.: member m1.test. added"), "{log}");
    assert!(log.contains("catalog member m3.test. removed with its catalog"), "{log}");
}
