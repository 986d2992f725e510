//! The live zone set (issue 13), on loopback with kernel sockets: zones
//! added to and removed from the config's `[[zone]]` list are served, or
//! answer REFUSED, after `ctl reload`, while a zone that stays never misses
//! a query; `ctl zone-reload ZONE` reads that zone's file only, and a broken
//! file is an error naming file and line with the old zone still served.
//!
//! Loopback only, no root needed. Every wait is bounded.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use responder_tests::dns::rtype::*;
use responder_tests::dns::{self, Question, Transport};
use responder_tests::responder::{free_port, serve_config};

const NOERROR: u16 = 0;
const REFUSED: u16 = 5;

fn zone(dir: &Path, name: &str, serial: u32, extra: &str) {
    let text = format!(
        "$ORIGIN {name}.\n$TTL 60\n@ SOA ns hostmaster {serial} 3600 600 86400 60\n@ NS ns\nns A 198.18.0.53\n\
         www A 198.18.0.80\n{extra}"
    );
    let path = dir.join(format!("{name}.zone"));
    std::fs::write(path.with_extension("tmp"), text).unwrap();
    std::fs::rename(path.with_extension("tmp"), path).unwrap();
}

fn config(dir: &Path, port: u16, zones: &[&str]) {
    let mut text = format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\nudp-workers = 1\nuser = \"root\"\n\n[control]\nlisten = \"ctl.sock\"\n"
    );
    for z in zones {
        text.push_str(&format!("\n[[zone]]\nname = \"{z}\"\nfile = \"{z}.zone\"\n"));
    }
    std::fs::write(dir.join("responder.toml"), text).unwrap();
}

fn ctl(dir: &Path, request: &str) -> Value {
    responder_tests::responder::ctl(dir, request, Duration::from_secs(30))
}

fn rcode(addr: SocketAddr, name: &str) -> u16 {
    dns::ask(addr, Transport::Udp, &Question::new(name, SOA)).unwrap_or_else(|e| panic!("{name}: {e}")).rcode
}

fn serial(addr: SocketAddr, name: &str) -> u32 {
    let reply = dns::ask(addr, Transport::Udp, &Question::new(name, SOA)).unwrap();
    let soa = reply.answer.first().unwrap_or_else(|| panic!("no SOA in {reply}"));
    soa.soa_serial().unwrap_or_else(|| panic!("no serial in {soa}"))
}

/// Asks `name` until told to stop; every answer that is not NOERROR with an
/// answer (or no answer at all) is a miss. Returns (asked, misses).
fn ask_in_a_loop(
    addr: SocketAddr,
    name: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(u32, Vec<String>)> {
    std::thread::spawn(move || {
        let (mut asked, mut misses) = (0u32, Vec::new());
        let started = Instant::now();
        while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
            asked += 1;
            match dns::ask(addr, Transport::Udp, &Question::new(name, A)) {
                Ok(r) if r.rcode == NOERROR && r.answer.len() == 1 => {}
                Ok(r) => misses.push(format!("{r}")),
                Err(e) => misses.push(e),
            }
        }
        (asked, misses)
    })
}

#[test]
fn zones_come_and_go_with_the_config_on_reload_and_zone_reload_reads_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port().unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for name in ["a.test", "b.test", "c.test"] {
        zone(d, name, 1, "");
    }
    config(d, port, &["a.test", "b.test"]);
    let daemon = serve_config(&d.join("responder.toml"), addr, &d.join("responder.log"));
    assert_eq!((rcode(addr, "b.test."), rcode(addr, "c.test.")), (NOERROR, REFUSED));

    // b goes, c comes, a stays and is asked throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let asker = ask_in_a_loop(addr, "www.a.test.", Arc::clone(&stop));
    std::thread::sleep(Duration::from_millis(200));
    config(d, port, &["a.test", "c.test"]);
    let reply = ctl(d, "reload");
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(rcode(addr, "b.test."), REFUSED, "a removed zone is refused right after the swap");
    assert_eq!(rcode(addr, "c.test."), NOERROR, "an added zone is served right after the swap");

    // zone-reload: a broken file is an error naming file and line, and the
    // zone is served as it was.
    zone(d, "a.test", 2, "this line has no type\n");
    zone(d, "c.test", 7, "");
    let reply = ctl(d, "zone-reload a.test");
    assert_eq!(reply["ok"], false, "{reply}");
    let error = reply["error"].as_str().unwrap();
    assert!(error.contains("a.test.zone:7"), "the error names file and line: {error}");
    assert_eq!(serial(addr, "a.test."), 1);
    // Fixed: only a.test's file is read again; c.test's newer file waits for a reload.
    zone(d, "a.test", 2, "");
    let reply = ctl(d, "zone-reload a.test.");
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!((serial(addr, "a.test."), serial(addr, "c.test.")), (2, 1));
    let unknown = ctl(d, "zone-reload b.test");
    assert_eq!(unknown["ok"], false, "{unknown}");

    // A broken config keeps the zone set.
    std::fs::write(d.join("responder.toml"), "[[zone]]\nname = 3\n").unwrap();
    assert_eq!(ctl(d, "reload")["ok"], false);
    assert_eq!(rcode(addr, "c.test."), NOERROR);

    stop.store(true, Ordering::Relaxed);
    let (asked, misses) = asker.join().unwrap();
    assert!(asked > 10, "only {asked} queries asked");
    assert!(
        misses.is_empty(),
        "{} of {asked} queries missed during the changes: {:?}",
        misses.len(),
        &misses[..misses.len().min(5)]
    );
    let (_, log) = daemon.terminate(Duration::from_secs(20)).unwrap();
    assert!(log.contains("zone-reload a.test. failed"), "{log}");
}
