//! Knot DNS (knotd) as a reference server, serving the same zone files on
//! loopback from a throw-away configuration, killed on drop.

use std::fmt::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::daemon::Daemon;
use crate::responder::free_port;

pub fn available() -> bool {
    Command::new("knotd").arg("--version").output().is_ok_and(|o| o.status.success())
}

pub struct Knot {
    pub daemon: Daemon,
    pub addr: SocketAddr,
    /// Configuration, rundir, database and log.
    _dir: tempfile::TempDir,
}

impl Knot {
    /// Serves `zones` (origin, zone file) on 127.0.0.1 and waits until knotd
    /// answers.
    pub fn start(zones: &[(&str, PathBuf)]) -> Result<Knot, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let mut last_error = String::new();
        for attempt in 0..5 {
            let port = free_port()?;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let conf = dir.path().join("knot.conf");
            std::fs::write(&conf, config(dir.path(), port, zones)).map_err(|e| format!("{}: {e}", conf.display()))?;
            let mut cmd = Command::new("knotd");
            cmd.arg("-c").arg(&conf);
            let log = dir.path().join(format!("knotd-{attempt}.log"));
            let mut daemon = Daemon::spawn(cmd, "knotd", &log).map_err(|e| e.to_string())?;
            match daemon.wait_until_answering(addr, Duration::from_secs(20)) {
                Ok(()) => {
                    // knotd answers REFUSED until every zone is loaded.
                    wait_for_zones(&daemon, zones.len())?;
                    return Ok(Knot { daemon, addr, _dir: dir });
                }
                Err(e) if daemon.log().contains("in use") => last_error = e,
                Err(e) => return Err(e),
            }
        }
        Err(format!("knotd could not find a free port in 5 attempts; last: {last_error}"))
    }
}

fn wait_for_zones(daemon: &Daemon, count: usize) -> Result<(), String> {
    for _ in 0..500 {
        let log = daemon.log();
        if log.matches("] loaded, serial").count() >= count {
            return Ok(());
        }
        if log.contains("error:") {
            return Err(format!("knotd failed to load the zones:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("knotd did not load {count} zone(s) within 10 s:\n{}", daemon.log()))
}

/// A minimal configuration: one UDP and TCP worker (CPU is shared), no
/// DNSSEC, and nothing ever written back to the zone files or the journal.
fn config(dir: &Path, port: u16, zones: &[(&str, PathBuf)]) -> String {
    let d = dir.display();
    let mut conf = format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    udp-workers: 1\n    tcp-workers: 1\n    \
         background-workers: 1\n\
         log:\n  - target: stderr\n    any: info\n\
         database:\n    storage: {d}\n\
         template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
         zone:\n"
    );
    for (origin, file) in zones {
        let _ = writeln!(conf, "  - domain: {origin}\n    file: {}", file.display());
    }
    conf
}
