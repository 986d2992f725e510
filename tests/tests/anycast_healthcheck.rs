//! `scripts/anycast-healthcheck` against a live responder on loopback: the
//! anycast route is withdrawn at start, announced once `/readyz` passes,
//! withdrawn when the server goes away; the same for BIRD through a stand-in
//! `birdc` that records what it was asked. Needs `curl` (in `cargo xtask deps`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use responder_tests::responder::{workspace_root, Server};

/// Each step needs RISE or FALL checks of INTERVAL: a few seconds at most.
const STEP: Duration = Duration::from_secs(10);

fn serve() -> (Server, SocketAddr) {
    let zone = workspace_root().join("zones/example.com.zone").display().to_string();
    let server = Server::start(&["--zone", &zone, "--metrics", "127.0.0.1:0"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.daemon.log();
        if let Some(rest) = log.split("metrics http://").nth(1) {
            return (server, rest.split('/').next().unwrap().parse().unwrap());
        }
        assert!(Instant::now() < deadline, "no metrics address in the ready line:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The script, killed (by its own PID) when dropped.
struct Check(Child);

impl Drop for Check {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(addr: SocketAddr, args: &[&str], birdc: Option<&str>) -> (Check, Receiver<String>) {
    let mut cmd = Command::new(workspace_root().join("scripts/anycast-healthcheck"));
    cmd.args(args)
        .env("URL", format!("http://{addr}/readyz"))
        .env("INTERVAL", "0.2")
        .env("RISE", "2")
        .env("FALL", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(birdc) = birdc {
        cmd.env("BIRDC", birdc);
    }
    let mut child = cmd.spawn().expect("scripts/anycast-healthcheck runs");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (Check(child), received)
}

fn next(lines: &Receiver<String>) -> String {
    lines.recv_timeout(STEP).expect("the script said nothing in time")
}

#[test]
fn exabgp_routes_are_announced_while_ready_and_withdrawn_when_the_server_stops() {
    let (server, addr) = serve();
    let (_check, lines) = start(addr, &["exabgp", "198.18.53.0/24", "fd00:53::/48"], None);
    assert_eq!(next(&lines), "withdraw route 198.18.53.0/24 next-hop self");
    assert_eq!(next(&lines), "withdraw route fd00:53::/48 next-hop self");
    assert_eq!(next(&lines), "announce route 198.18.53.0/24 next-hop self");
    assert_eq!(next(&lines), "announce route fd00:53::/48 next-hop self");
    server.daemon.terminate(Duration::from_secs(10)).unwrap();
    assert_eq!(next(&lines), "withdraw route 198.18.53.0/24 next-hop self");
    assert_eq!(next(&lines), "withdraw route fd00:53::/48 next-hop self");
}

#[test]
fn bird_protocol_is_disabled_then_enabled_while_ready() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("birdc.log");
    let birdc = dir.path().join("birdc");
    // Stands in for birdc: records its arguments, one call a line, and echoes them.
    let script = format!("#!/bin/sh\necho \"$*\" >> '{}'\necho \"birdc $*\"\n", record.display());
    std::fs::write(&birdc, script).unwrap();
    std::fs::set_permissions(&birdc, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (server, addr) = serve();
    let (_check, _lines) = start(addr, &["bird", "anycast_dns"], Some(&birdc.display().to_string()));
    let deadline = Instant::now() + STEP;
    let calls = loop {
        let calls = std::fs::read_to_string(&record).unwrap_or_default();
        if calls.lines().count() >= 2 || Instant::now() > deadline {
            break calls;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(calls, "disable anycast_dns\nenable anycast_dns\n");
    drop(server);
}
